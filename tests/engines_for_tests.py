"""Small torch-like engines used by the harness tests, loaded through ``module:attr``.

Each is the ``torch`` module seen through a thin proxy with one behaviour changed,
so a test can show how the harness reports that behaviour.
"""

from __future__ import annotations

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
    """Multiplies, then adds one: every product in the note's graph comes out wrong."""
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
    import time

    time.sleep(3600)


# torch.pow appears only in the autograd.grad claims; torch.cat only with grad_tensors.
segfault_pow = TorchWith(pow=_segfault)
hanging_cat = TorchWith(cat=_hang)
