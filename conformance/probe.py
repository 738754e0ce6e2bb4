"""Metadata probing for engines that do not describe themselves.

The plain ``torch`` module has no gradspec metadata, and an engine author should
not need to write any to get started. The probe reads the name and version the
namespace exposes, creates one tensor to learn its device, and checks which
attribute paths of :data:`~gradspec.spec.capabilities.CAPABILITIES` exist. An
engine can skip probing by setting ``__gradspec_capabilities__`` (an iterable of
capability names) and ``__gradspec_name__`` on its namespace.
"""

from __future__ import annotations

from typing import Any

from gradspec.conformance.engine import Engine
from gradspec.spec.capabilities import CAPABILITIES


def _has_path(root: Any, path: str) -> bool:
    obj = root
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 - a property that raises means "not offered"
            return False
    return True


def probe_capabilities(namespace: Any) -> frozenset[str]:
    """The capabilities whose attribute paths all exist on ``namespace`` and its tensors."""
    try:
        sample = namespace.tensor([1.0], requires_grad=True)
    except Exception:  # noqa: BLE001 - without tensors only namespace paths can count
        sample = None
    found = set()
    for capability, paths in CAPABILITIES.items():
        ok = True
        for path in paths:
            if path.startswith("Tensor."):
                ok = sample is not None and _has_path(sample, path.removeprefix("Tensor."))
            else:
                ok = _has_path(namespace, path)
            if not ok:
                break
        if ok:
            found.add(capability)
    return frozenset(found)


def probe_device(namespace: Any) -> str:
    """The device a freshly created tensor lands on, or "cpu" when the engine has no devices."""
    try:
        return str(namespace.tensor([0.0]).device)
    except Exception:  # noqa: BLE001
        return "cpu"


def probe_engine(namespace: Any, label: str) -> Engine:
    """An Engine for a bare namespace, its metadata read or probed."""
    declared = getattr(namespace, "__gradspec_capabilities__", None)
    capabilities = frozenset(declared) if declared is not None else probe_capabilities(namespace)
    name = getattr(namespace, "__gradspec_name__", None) or label
    return Engine(
        name=name,
        namespace=namespace,
        device=probe_device(namespace),
        version=str(getattr(namespace, "__version__", "unknown")),
        capabilities=capabilities,
        description=f"{label} (metadata probed)",
    )
