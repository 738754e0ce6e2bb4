"""PyTorch's rules for result dtypes, dimension arguments and broadcast shapes.

NumPy and PyTorch disagree on all three: NumPy lets a float64 NumPy scalar or a
0-d float64 array make a float32 array float64, wraps out-of-range axes in some
functions, and reports shape mismatches as ValueError. The reference engine
follows PyTorch (``c10/core/ScalarType.h`` and ``ATen/native/TypeProperties.cpp``
for dtypes, ``maybe_wrap_dim`` for dims), so every op takes these three answers
from here.

Dtype promotion, as torch's ``result_type``: operands fall in three groups --
tensors with dimensions, 0-d tensors, and Python numbers (NumPy scalars count as
Python numbers, since torch reads them as Scalars) -- and a lower group only
changes the result when it brings a higher *category* (bool < integer <
floating). A Python float counts as the default dtype, float32.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .core import Tensor

BOOL = np.dtype(np.bool_)
INT64 = np.dtype(np.int64)
FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)
DEFAULT_FLOAT = FLOAT32

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def category(d: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point."""
    return _CATEGORY[d.kind]


def promote(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    """torch.promote_types for the dtypes the engine uses (None is torch's Undefined)."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:  # torch: int64 with float32 is float32 (NumPy says float64)
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """torch's combine_categories: a lower-priority group only lifts the category."""
    if higher is not None and higher.kind == "f":
        return higher
    if higher == BOOL or (lower is not None and lower.kind == "f"):
        return promote(higher, lower)
    return higher if higher is not None else lower


def scalar_dtype(value: Any) -> np.dtype:
    """The dtype a Python (or NumPy) number stands for in promotion."""
    if isinstance(value, (builtins.bool, np.bool_)):
        return BOOL
    if isinstance(value, (builtins.int, np.integer)):
        return INT64
    return DEFAULT_FLOAT


def is_scalar(value: Any) -> bool:
    """True for Python and NumPy numbers (not arrays, not tensors)."""
    return isinstance(value, (builtins.bool, builtins.int, builtins.float, np.generic))


def result_type(*operands: Any) -> np.dtype:
    """The dtype torch computes an op on ``operands`` in (tensors and numbers; None skipped)."""
    dim = zero = wrapped = None
    for x in operands:
        if x is None:
            continue
        if isinstance(x, Tensor):
            d = x._data.dtype
            if x._data.ndim:
                dim = promote(dim, d)
            else:
                zero = promote(zero, d)
        else:
            wrapped = promote(wrapped, scalar_dtype(x))
    out = _combine(dim, _combine(zero, wrapped))
    assert out is not None, "result_type needs an operand"
    return out


def as_python(value: Any) -> Any:
    """A NumPy scalar as the Python number torch reads it as."""
    return value.item() if isinstance(value, np.generic) else value


def can_cast(src: np.dtype, dst: np.dtype) -> bool:
    """torch.can_cast: an in-place result may not lower the category of its output."""
    return category(src) <= category(dst)


def check_cast(src: np.dtype, dst: np.dtype) -> None:
    """In-place ops refuse a result type that their output cannot hold, as torch does."""
    if not can_cast(src, dst):
        raise RuntimeError(
            f"result type {_torch_name(src)} can't be cast to the desired output type {_torch_name(dst)}"
        )


_TORCH_NAMES = {"bool": "Bool", "int64": "Long", "float32": "Float", "float64": "Double"}


def _torch_name(d: np.dtype) -> str:
    return _TORCH_NAMES.get(d.name, d.name)


def wrap_dim(dim: Any, ndim: int) -> int:
    """A dim argument in [0, ndim): negative dims count from the end; a 0-d tensor has dims 0 and -1.

    Out-of-range dims raise IndexError with torch's message (NumPy would wrap some).
    """
    if (
        isinstance(dim, Tensor)
        or not isinstance(dim, (builtins.int, np.integer))
        or isinstance(dim, builtins.bool)
    ):
        raise TypeError(f"a dim must be an int, got {type(dim).__name__}")
    dim = builtins.int(dim)
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim


def wrap_dims(dims: Any, ndim: int) -> tuple[int, ...]:
    """A dim or a sequence of dims, wrapped; a repeated dim is a RuntimeError as in torch."""
    if isinstance(dims, (builtins.int, np.integer)):
        dims = (dims,)
    out = tuple(wrap_dim(d, ndim) for d in dims)
    for k, d in enumerate(out):
        if d in out[:k]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    if ndim == 0:
        return ()
    return tuple(sorted(out))


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of two shapes; a mismatch is a RuntimeError with torch's message."""
    if a == b:
        return a
    n = builtins.max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for k, (x, y) in enumerate(zip(pa, pb, strict=True)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                f"at non-singleton dimension {k}"
            )
        out.append(y if x == 1 else x)
    return tuple(out)
