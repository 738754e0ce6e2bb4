"""Engines for the report tests, loaded by ``gradspec run`` through ``module:attr``.

Not tests themselves: the report tests start ``gradspec run`` in a subprocess
with this folder on ``PYTHONPATH`` and name these engines, so the reports are
built from real runs of wrong, raising and slow engines.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from gradspec.conformance.engine import Engine

SCRIPT_MESSAGE = "<script>alert('pwned')</script> & friends"
"""What the broken engine's pow raises: a report must show it as text, never run it."""


class _TorchWith:
    """``torch`` with some attributes replaced."""

    def __init__(self, **replaced: Any) -> None:
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        if name in self._replaced:
            return self._replaced[name]
        return getattr(torch, name)


def _wrong_mul(a: Any, b: Any) -> Any:
    """Multiplies, then adds one: y = (x + w)(w + 1) comes out 7, not 6."""
    return torch.mul(a, b) + 1


def _raising_pow(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(SCRIPT_MESSAGE)


def broken_engine() -> Engine:
    """torch with a wrong ``mul`` (failures) and a ``pow`` that raises markup (errors)."""
    return Engine(
        name="broken<mul>",
        namespace=_TorchWith(mul=_wrong_mul, pow=_raising_pow),
        version="0.0-broken",
        description="torch whose mul adds one and whose pow raises",
    )


def _slow_tensor(*args: Any, **kwargs: Any) -> Any:
    time.sleep(0.15)
    return torch.tensor(*args, **kwargs)


def slow_engine() -> Engine:
    """torch whose ``tensor`` takes 0.15 s, so a run can be killed part-way."""
    return Engine(name="slow", namespace=_TorchWith(tensor=_slow_tensor), version=torch.__version__)
