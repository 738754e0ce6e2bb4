"""Partial engines: torch with one feature missing, as a new engine author's engine often is.

Each hides or breaks exactly one thing and declares nothing, so gradspec must probe
it (conformance/probe.py) and must then give the right verdicts: unsupported for the
examples that need the missing feature, and everything else still run. Loaded by
tests/test_partial_engines.py as ``tests.engines_partial:<name>``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch

from gradspec.conformance.engine import Engine
from gradspec.spec.capabilities import ALL_CAPABILITIES


class TorchWithout:
    """``torch`` with some attributes hidden (AttributeError) and some replaced."""

    def __init__(self, hidden: tuple[str, ...] = (), **replaced: Any) -> None:
        self._hidden = frozenset(hidden)
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            raise AttributeError(f"this engine has no {name}")
        if name in self._replaced:
            return self._replaced[name]
        return getattr(torch, name)


def _sgd_refusing(option: str) -> Any:
    """torch's SGD, raising NotImplementedError when ``option`` is given a non-default value."""

    def SGD(params: Any, lr: float, **options: Any) -> Any:  # noqa: N802 - torch's name
        if options.get(option):
            raise NotImplementedError(f"this engine's SGD has no {option}")
        return torch.optim.SGD(params, lr=lr, **options)

    return SimpleNamespace(SGD=SGD)


def without_cat() -> Engine:
    """torch without ``cat``; its capabilities probed."""
    return Engine(name="no-cat", namespace=TorchWithout(hidden=("cat",)), version=torch.__version__)


def without_no_grad() -> Engine:
    """torch without ``no_grad``; its capabilities probed."""
    return Engine(name="no-no_grad", namespace=TorchWithout(hidden=("no_grad",)), version=torch.__version__)


def sgd_without_nesterov() -> Engine:
    """torch whose SGD raises NotImplementedError for nesterov=True; its capabilities probed."""
    namespace = TorchWithout(optim=_sgd_refusing("nesterov"))
    return Engine(name="no-nesterov", namespace=namespace, version=torch.__version__)


def sgd_without_momentum_declared() -> Engine:
    """torch whose SGD raises NotImplementedError for momentum, declaring everything else:
    what the cases reach beyond the declaration must be *unsupported*, not an error."""
    namespace = TorchWithout(optim=_sgd_refusing("momentum"))
    return Engine(
        name="no-momentum",
        namespace=namespace,
        version=torch.__version__,
        capabilities=ALL_CAPABILITIES - {"optim.sgd.momentum", "optim.sgd.dampening", "optim.sgd.nesterov"},
    )
