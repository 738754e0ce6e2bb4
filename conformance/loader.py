"""Engine loading: from the text a user types after --engine to an :class:`Engine`.

An engine spec is one of
- a registered name (gradspec's own ``reference``, ``torch-cpu``, ``torch-cuda``,
  or any name a package registers in the ``gradspec.engines`` entry-point group);
- ``module:attr`` naming an :class:`Engine`, a zero-argument factory returning
  one, or a torch-like namespace;
- an importable module name that is itself a torch-like namespace (``torch``).

Anything that is not already an Engine is probed for its metadata, so the
``torch`` module loads unchanged.
"""

from __future__ import annotations

import importlib
import traceback
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from gradspec.conformance.engine import Engine
from gradspec.conformance.probe import probe_engine

ENTRY_POINT_GROUP = "gradspec.engines"

# gradspec's own engines, also registered as entry points; listed here too so a
# source checkout that was never installed still finds them.
BUILTIN_ENGINES: dict[str, str] = {
    "reference": "gradspec.impls.reference:engine",
    "torch-cpu": "gradspec.impls.torch_engine:cpu_engine",
    "torch-cuda": "gradspec.impls.torch_engine:cuda_engine",
    "mygrad": "gradspec.impls.mygrad_engine:engine",
    "tinygrad": "gradspec.impls.tinygrad_engine:engine",
}


class EngineLoadError(Exception):
    """An engine spec that names nothing loadable; the message is one line for the user."""


def registered_engines() -> dict[str, str]:
    """Every registered engine name and the ``module:attr`` it points at."""
    names = dict(BUILTIN_ENGINES)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, ep.value)
    return dict(sorted(names.items()))


def _available() -> str:
    return ", ".join(registered_engines()) + ", torch, or module:attr"


def _import_target(target: str) -> Any:
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr_path.split(".")):
        obj = getattr(obj, part)
    return obj


def as_engine(obj: Any, label: str) -> Engine:
    """Turn whatever a spec resolved to into an Engine (calling factories, probing namespaces)."""
    if isinstance(obj, Engine):
        return obj
    if callable(obj) and not isinstance(obj, (ModuleType, type)):
        made = obj()
        if isinstance(made, Engine):
            return made
        return probe_engine(made, label)
    return probe_engine(obj, label)


def load_engine(spec: str) -> Engine:
    """Load one engine; raise :class:`EngineLoadError` with a one-line reason if impossible."""
    registry = registered_engines()
    target = registry.get(spec, spec)
    explicit = spec in registry or ":" in spec
    try:
        obj = _import_target(target)
    except ModuleNotFoundError as exc:
        if not explicit and exc.name == spec.split(".")[0]:
            raise EngineLoadError(f"unknown engine {spec!r}; available: {_available()}") from exc
        raise EngineLoadError(f"engine {spec!r} failed to import: {exc}; available: {_available()}") from exc
    except AttributeError as exc:
        raise EngineLoadError(f"engine {spec!r}: {exc}; available: {_available()}") from exc
    except Exception as exc:  # noqa: BLE001 - any import-time failure is reported, not raised
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise EngineLoadError(f"engine {spec!r} failed to import: {last}") from exc
    try:
        engine = as_engine(obj, spec)
    except Exception as exc:  # noqa: BLE001
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise EngineLoadError(f"engine {spec!r} failed to start: {last}") from exc
    return engine


def load_engines(specs: list[str]) -> list[Engine]:
    """Load several engines, refusing two that report the same name."""
    engines = [load_engine(spec) for spec in specs]
    names = [e.name for e in engines]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EngineLoadError(f"engine name given twice: {', '.join(duplicates)}")
    return engines
