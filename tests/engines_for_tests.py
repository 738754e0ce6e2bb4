"""Small torch-like engines used by the harness tests, loaded through ``module:attr``.

Each is the ``torch`` module seen through a thin proxy with one behaviour changed,
so a test can show how the harness reports that behaviour. Tests that start
``gradspec run`` in a subprocess put the repository root on ``PYTHONPATH`` and
name these as ``tests.engines_for_tests:<name>``; the report tests build their
reports from real runs of the wrong, raising and slow engines here.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import torch

from gradspec.conformance.engine import Engine


class TorchWith:
    """``torch`` with some attributes replaced (and optionally some hidden)."""

    def __init__(self, hidden: tuple[str, ...] = (), **replaced: Any) -> None:
        self._hidden = set(hidden)
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            raise AttributeError(name)
        if name in self._replaced:
            return self._replaced[name]
        return getattr(torch, name)


def _wrong_mul(a: Any, b: Any) -> Any:
    """Multiplies, then adds one: every product in the note's graph comes out wrong
    (y = (x + w)(w + 1) comes out 7, not 6)."""
    return torch.mul(a, b) + 1


def _raising_cat(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("cat is not implemented in this engine")


wrong_mul = TorchWith(mul=_wrong_mul)
raising_cat = TorchWith(cat=_raising_cat)
no_autograd = TorchWith(hidden=("autograd",))
declared = SimpleNamespace(
    **{k: getattr(torch, k) for k in ("tensor", "add", "mul", "cat", "pow", "ones")},
    __gradspec_capabilities__=("graph",),
    __gradspec_name__="declared-graph-only",
    __version__="9.9",
)


def engine_factory() -> Engine:
    """A factory, as an entry point or module:attr may name."""
    return Engine(name="factory-made", namespace=torch, version=torch.__version__)


def broken_import() -> Any:
    raise RuntimeError("this engine cannot start")


def _segfault(*args: Any, **kwargs: Any) -> Any:
    """Dereferences NULL, as a buggy native extension would: the process dies with SIGSEGV."""
    import ctypes

    return ctypes.string_at(0)


def _hang(*args: Any, **kwargs: Any) -> Any:
    time.sleep(3600)


# torch.pow appears only in the autograd.grad claims; torch.cat only with grad_tensors.
segfault_pow = TorchWith(pow=_segfault)
hanging_cat = TorchWith(cat=_hang)


# -- engines the report tests build their reports from ---------------------------------

SCRIPT_MESSAGE = "<script>alert('pwned')</script> & friends"
"""What the broken engine's pow raises: a report must show it as text, never run it."""


def _raising_pow(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(SCRIPT_MESSAGE)


def broken_engine() -> Engine:
    """torch with a wrong ``mul`` (failures) and a ``pow`` that raises markup (errors)."""
    return Engine(
        name="broken<mul>",
        namespace=TorchWith(mul=_wrong_mul, pow=_raising_pow),
        version="0.0-broken",
        description="torch whose mul adds one and whose pow raises",
    )


def _slow_tensor(*args: Any, **kwargs: Any) -> Any:
    time.sleep(0.15)
    return torch.tensor(*args, **kwargs)


def slow_engine() -> Engine:
    """torch whose ``tensor`` takes 0.15 s, so a run can be killed part-way."""
    return Engine(name="slow", namespace=TorchWith(tensor=_slow_tensor), version=torch.__version__)
