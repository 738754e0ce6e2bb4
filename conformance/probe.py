"""Metadata probing for engines that do not describe themselves.

The plain ``torch`` module has no gradspec metadata, and an engine author should
not need to write any to get started. The probe reads the name and version the
namespace exposes, creates one tensor to learn its device, and decides which
capabilities of :data:`~gradspec.spec.capabilities.CAPABILITIES` the engine has:
every attribute path listed for a capability must exist, and where names cannot
tell (an SGD option, float64, 0-d tensors, higher-order gradients, an op that is
present but raises ``NotImplementedError``) a tiny call from :data:`TRIALS` must
run without raising. Whether the calls answer *correctly* is what the cases check;
the probe only asks whether the engine can be asked at all.

An engine can skip probing by setting ``__gradspec_capabilities__`` (an iterable of
capability names) and ``__gradspec_name__`` on its namespace, or by passing
``capabilities=`` to :class:`~gradspec.conformance.engine.Engine`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from gradspec.conformance.engine import Engine
from gradspec.spec.capabilities import CAPABILITIES


class ProbeMismatch(Exception):
    """A trial ran but gave something that shows the feature is not there (e.g. no 0-d shape)."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ProbeMismatch(what)


def _vector(T: Any) -> Any:
    return T.tensor([1.0, 2.0], requires_grad=True)


def _matrix(T: Any) -> Any:
    return T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)


def _sgd_step(**options: Any) -> Callable[[Any], Any]:
    """One SGD step with ``options`` on a one-parameter problem, twice (momentum needs a buffer)."""

    def trial(T: Any) -> Any:
        p = T.tensor([1.0, 2.0], requires_grad=True)
        opt = T.optim.SGD([p], lr=0.1, **options)
        for _ in range(2):
            opt.zero_grad()
            T.mul(p, p).sum().backward()
            opt.step()
        return p

    return trial


def _zero_d(T: Any) -> Any:
    t = T.tensor(1.0, requires_grad=True)
    _require(tuple(t.shape) == (), f"tensor(1.0) has shape {tuple(t.shape)}, not ()")
    _require(float(t.item()) == 1.0, "tensor(1.0).item() is not 1.0")
    return t


def _many_elements(T: Any) -> Any:
    t = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    _require(tuple(t.shape) == (2, 2), f"a 2x2 tensor has shape {tuple(t.shape)}")
    return t


def _dtype_round_trip(name: str) -> Callable[[Any], Any]:
    """``tensor([1.0], dtype=T.<name>)`` has that dtype and reads back its value."""

    def trial(T: Any) -> Any:
        dtype = getattr(T, name)
        t = T.tensor([1.0], dtype=dtype)
        _require(t.dtype == dtype, f"dtype={dtype} made a {t.dtype} tensor")
        _require(t.tolist() == [1.0], f"a {name} tensor does not read back its value")
        return t

    return trial


def _create_graph(T: Any) -> Any:
    x = T.tensor([2.0], requires_grad=True)
    (g,) = T.autograd.grad(T.mul(T.mul(x, x), x).sum(), [x], create_graph=True)
    return T.autograd.grad(g.sum(), [x])


def _no_grad(T: Any) -> Any:
    x = _vector(T)
    with T.no_grad():
        return T.mul(x, 2.0)


def _mul_(T: Any) -> Any:
    return T.tensor([1.0, 2.0]).mul_(2.0)


def _cross_entropy(T: Any) -> Any:
    return T.nn.CrossEntropyLoss()(_matrix(T), T.tensor([0, 1]))


TRIALS: dict[str, Callable[[Any], Any]] = {
    "create_graph": _create_graph,
    "no_grad": _no_grad,
    "op.sub": lambda T: T.sub(_vector(T), 1.0),
    "op.div": lambda T: T.div(_vector(T), 2.0),
    "op.neg": lambda T: T.neg(_vector(T)),
    "op.exp": lambda T: T.exp(_vector(T)),
    "op.log": lambda T: T.log(_vector(T)),
    "op.sqrt": lambda T: T.sqrt(_vector(T)),
    "op.abs": lambda T: T.abs(_vector(T)),
    "op.sigmoid": lambda T: T.sigmoid(_vector(T)),
    "op.tanh": lambda T: T.tanh(_vector(T)),
    "op.relu": lambda T: T.relu(_vector(T)),
    "op.clamp": lambda T: T.clamp(_vector(T), min=0.0, max=1.5),
    "op.sum": lambda T: T.sum(_matrix(T), 0),
    "op.mean": lambda T: T.mean(_matrix(T), 0),
    "op.matmul": lambda T: T.matmul(_matrix(T), _matrix(T)),
    "op.cat": lambda T: T.cat([_vector(T), _vector(T)], dim=0),
    "op.stack": lambda T: T.stack([_vector(T), _vector(T)], dim=0),
    "op.reshape": lambda T: _vector(T).reshape(2, 1),
    "op.unsqueeze": lambda T: _vector(T).unsqueeze(0),
    "op.squeeze": lambda T: _vector(T).unsqueeze(0).squeeze(0),
    "op.transpose": lambda T: _matrix(T).transpose(0, 1),
    "op.expand": lambda T: T.tensor([[1.0], [2.0]], requires_grad=True).expand(2, 3),
    "op.index": lambda T: _vector(T)[0:1],
    "op.mul_": _mul_,
    "nn.mse": lambda T: T.nn.MSELoss()(_vector(T), T.tensor([0.0, 0.0])),
    "nn.cross_entropy": _cross_entropy,
    "optim": _sgd_step(),
    "optim.sgd.momentum": _sgd_step(momentum=0.9),
    "optim.sgd.dampening": _sgd_step(momentum=0.9, dampening=0.5),
    "optim.sgd.nesterov": _sgd_step(momentum=0.9, nesterov=True),
    "optim.sgd.weight_decay": _sgd_step(weight_decay=0.1),
    "dtype.float32": _dtype_round_trip("float32"),
    "dtype.float64": _dtype_round_trip("float64"),
    "tensor.0d": _zero_d,
    "tensor.nd": _many_elements,
}
"""Capability -> a tiny call that must run without raising for the engine to have it.

Capabilities without a trial are decided by their attribute paths alone."""


def _has_path(root: Any, path: str) -> bool:
    obj = root
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 - a property that raises means "not offered"
            return False
    return True


def _paths_exist(namespace: Any, sample: Any, paths: Iterable[str]) -> bool:
    for path in paths:
        if path.startswith("Tensor."):
            if sample is None or not _has_path(sample, path.removeprefix("Tensor.")):
                return False
        elif not _has_path(namespace, path):
            return False
    return True


def _trial_runs(namespace: Any, trial: Callable[[Any], Any]) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial(namespace)
    except Exception:  # noqa: BLE001 - any failure of the tiny call means "cannot be asked"
        return False
    return True


def probe_capabilities(
    namespace: Any,
    session: Callable[[], AbstractContextManager[Any]] = nullcontext,
    *,
    only: Iterable[str] | None = None,
) -> frozenset[str]:
    """The capabilities ``namespace`` offers: names present and, where a trial exists, the call runs.

    ``session`` is the engine's (entered around the probe, as around every case);
    ``only`` restricts probing to those capability names (an adapter that declares the
    coarse ones can probe just the fine ones).
    """
    wanted = CAPABILITIES if only is None else {name: CAPABILITIES[name] for name in only}
    found = set()
    with session():
        try:
            sample = namespace.tensor([1.0], requires_grad=True)
        except Exception:  # noqa: BLE001 - without tensors only namespace paths can count
            sample = None
        for capability, paths in wanted.items():
            if not _paths_exist(namespace, sample, paths):
                continue
            trial = TRIALS.get(capability)
            if trial is None or _trial_runs(namespace, trial):
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
