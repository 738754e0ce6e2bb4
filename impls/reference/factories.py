"""Tensor factories and the engine's random generator.

Random tensors come from one numpy Generator that ``manual_seed`` resets: runs
are reproducible within the engine, though not the same stream as torch's.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .core import Tensor, _new, _wrap, to_np_dtype

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_rng = np.random.default_rng()


def generator() -> np.random.Generator:
    """The generator every random factory draws from."""
    return _rng


class Generator:
    """What manual_seed returns (torch returns its generator)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed

    def initial_seed(self) -> int:
        return self._seed


def manual_seed(seed: int) -> Generator:
    """Reset the engine's generator to a fixed seed."""
    global _rng
    _rng = np.random.default_rng(builtins.int(seed))
    return Generator(builtins.int(seed))


def seed() -> int:
    """Reseed from the operating system and return the seed."""
    s = builtins.int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(arr)
    if requires_grad:
        if arr.dtype.kind == "f":
            t._rg = True  # the setter's checks, without the property call
        else:
            t.requires_grad = True  # raises for integer dtypes, with torch's message
    return t


def _size(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and not isinstance(size[0], (builtins.int, np.integer)):
        size = tuple(size[0])
    return tuple(builtins.int(s) for s in size)


def _dt(dtype: Any) -> Any:
    return _F32 if dtype is None else to_np_dtype(dtype)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf from data: Python floats give float32, Python ints int64 (as in torch)."""
    if dtype is None and type(data) is list and len(data) == 1 and type(data[0]) is builtins.float:
        # T.tensor([1.0]): what the general path gives, in one conversion instead of two.
        arr = np.array(data, dtype=_F32)
        t = _new(Tensor)
        t._data = arr
        t._rg = bool(requires_grad)
        t.grad_fn = None
        return t
    if isinstance(data, Tensor):
        data = data._data
    if dtype is None:
        arr = np.array(data)
        if arr.dtype == _F64 and not isinstance(data, (np.ndarray, np.generic)):
            arr = arr.astype(_F32)  # Python floats; NumPy float64 data stays float64, as in torch
    else:
        arr = np.array(data, dtype=to_np_dtype(dtype))
    return _finish(arr, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like tensor(), sharing the array when it already has the dtype."""
    if isinstance(data, Tensor) and dtype is None:
        return data
    if isinstance(data, np.ndarray):
        return _wrap(np.asarray(data, dtype=to_np_dtype(dtype)))
    return tensor(data, dtype)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing the numpy array."""
    return _wrap(arr)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of the given size (float32 unless dtype says)."""
    return _finish(np.zeros(_size(size), dtype=_dt(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of the given size (float32 unless dtype says)."""
    return _finish(np.ones(_size(size), dtype=_dt(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised (here: zero) tensor."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(
    size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """``fill_value`` everywhere; the dtype follows the value when not given."""
    if dtype is None:
        dt = _F32 if isinstance(fill_value, builtins.float) else np.asarray(fill_value).dtype
    else:
        dt = to_np_dtype(dtype)
    return _finish(np.full(_size((size,)), fill_value, dtype=dt), requires_grad)


def _like(fn: Any, name: str) -> Any:
    def like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        dt = input._data.dtype if dtype is None else to_np_dtype(dtype)
        return _finish(fn(input._data.shape, dt), requires_grad)

    like.__name__ = name
    like.__doc__ = f"{name.split('_')[0]} with input's shape and dtype."
    return like


zeros_like = _like(np.zeros, "zeros_like")
ones_like = _like(np.ones, "ones_like")
empty_like = _like(np.zeros, "empty_like")
rand_like = _like(lambda s, d: _rng.random(s).astype(d), "rand_like")
randn_like = _like(lambda s, d: _rng.standard_normal(s).astype(d), "randn_like")


def full_like(input: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """fill_value with input's shape and dtype."""
    dt = input._data.dtype if dtype is None else to_np_dtype(dtype)
    return _finish(np.full(input._data.shape, fill_value, dtype=dt), requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """[start, end) in steps: int64 for integer arguments, else float32 (as in torch)."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
        dt = np.dtype(np.int64) if ints else _F32
    else:
        dt = to_np_dtype(dtype)
    return _finish(np.arange(start, end, step).astype(dt), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end."""
    return _finish(np.linspace(start, end, steps).astype(_dt(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Identity matrix."""
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    """U[0, 1) samples."""
    return _finish(_rng.random(_size(size)).astype(_dt(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    """Standard normal samples."""
    return _finish(_rng.standard_normal(_size(size)).astype(_dt(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None) -> Tensor:
    """Integers in [low, high)."""
    if high is None:
        low, high = 0, low
    dt = np.dtype(np.int64) if dtype is None else to_np_dtype(dtype)
    return _wrap(_rng.integers(low, high, _size((size,))).astype(dt))


def randperm(n: int, dtype: Any = None) -> Tensor:
    """A random permutation of 0..n-1."""
    return _wrap(_rng.permutation(n).astype(np.int64 if dtype is None else to_np_dtype(dtype)))


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples; mean and std may be tensors (their broadcast shape is used)."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if size is not None:
        shape = _size((size,))
    else:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    dt = _dt(dtype)
    if isinstance(mean, Tensor) and mean._data.dtype.kind == "f" and dtype is None:
        dt = mean._data.dtype
    out = (m + s * _rng.standard_normal(shape)).astype(dt)
    return _finish(out, requires_grad)
