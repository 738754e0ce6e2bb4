"""micrograd as an engine: a scalar-only autograd seen through PyTorch's names.

micrograd 0.1.0 (https://github.com/karpathy/micrograd) is the smallest autograd
engine there is: one ``Value`` class holding one Python number, its gradient and
the values it was made from, with ``+ * ** relu`` and the operators derived from
them (``- / neg``), and a ``backward()`` that walks the graph in reverse. The
adapter renames and never re-implements: every value, gradient and graph decision
is micrograd's, and where micrograd behaves differently from PyTorch the
difference goes through to the spec and is listed in
``impls/expectations/micrograd.toml``.

What micrograd is, and how that maps:

- A tensor is one ``Value``. Data of one element (``1.0``, ``[1.0]``, ``[[1.0]]``)
  is accepted and keeps its shape for reading back, since a one-element tensor
  holds exactly one number; data of more elements raises NotImplementedError
  (micrograd is scalar-only), and ``tensor.nd`` is not declared.
- ``requires_grad`` is always True: micrograd computes a gradient for every value.
  ``is_leaf`` is "made by no operation" (``_prev`` is empty); ``retain_grad()``
  does nothing, since every value keeps its ``grad`` already.
- ``.grad`` is micrograd's number, 0 before any backward (PyTorch: None);
  ``x.grad = None`` is micrograd's way to clear it, ``grad = 0``.
- ``backward()`` is micrograd's and takes no gradient argument: passing one
  raises NotImplementedError. micrograd never frees a graph, so ``retain_graph``
  changes nothing.
- ``detach()`` is a new ``Value`` of the same number.
- ``sum`` is Python's ``sum()`` over the values, as micrograd's own demos sum a
  loss (``0 + v``: a new node), and ``mean`` is that sum times ``1 / n``, as the
  demos average; with one element, n is 1.
- Values are Python floats: ``float64`` is the one dtype (``T.float64 is float``);
  micrograd has no float32.

What micrograd lacks is declared missing rather than faked: every elementwise
function but relu, reductions and shape ops, ``grad_fn``, ``autograd.grad``,
``no_grad``, in-place ops, ``nn`` layers in PyTorch's form and optimisers. The cases
needing them report *unsupported*.
"""

from __future__ import annotations

import builtins
from contextlib import nullcontext
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

from gradspec.conformance.engine import Engine
from gradspec.impls.adapter_support import WrappedTensor

CAPABILITIES = frozenset(
    {
        "graph",
        "retain_grad",
        "tensor.0d",
        "dtype.float64",
        "op.sub",
        "op.div",
        "op.neg",
        "op.relu",
    }
)
"""Scalars, + - * / ** neg relu and backward.

The adapter also offers ``sum``/``mean`` (the way micrograd's demos sum a loss) but
does not declare ``op.sum``/``op.mean`` yet: every property's loss is a sum over
tensors the strategies draw with several elements, which micrograd cannot hold, so
declaring them would turn scalar-only into timeouts and health-check errors rather
than *unsupported*. Declare them once the strategies draw 0-d leaves only for an
engine without ``tensor.nd``."""


def _value_class() -> Any:
    from micrograd.engine import Value

    return Value


def _single(data: Any) -> tuple[float, tuple[int, ...]]:
    """The one number in ``data`` and the shape its nesting gives; more numbers are refused."""
    shape: list[int] = []
    while isinstance(data, (list, tuple)):
        shape.append(len(data))
        if len(data) != 1:
            raise NotImplementedError(
                f"micrograd is scalar-only: a tensor of shape {tuple(shape)}... has more than one element"
            )
        data = data[0]
    return float(data), tuple(shape)


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a result of two one-element operands: ones, as many as the longer has."""
    return (1,) * max(len(a), len(b))


class Tensor(WrappedTensor):
    """One micrograd ``Value`` with the shape the case gave it (all sizes 1)."""

    __slots__ = ("_shape",)

    def __init__(self, inner: Any, shape: tuple[int, ...] = ()) -> None:
        self._t = inner
        self._shape = shape

    def _wrap(self, inner: Any) -> Tensor:
        return Tensor(inner, self._shape)

    def _binary(self, other: Any, result: Any) -> Tensor:
        other_shape = other._shape if isinstance(other, Tensor) else ()
        return Tensor(result, _broadcast(self._shape, other_shape))

    # -- operators: micrograd's own on the wrapped values, shapes kept -------------
    def __add__(self, other: Any) -> Tensor:
        return self._binary(other, self._t + _unwrap(other))

    def __radd__(self, other: Any) -> Tensor:
        return self._binary(other, _unwrap(other) + self._t)

    def __sub__(self, other: Any) -> Tensor:
        return self._binary(other, self._t - _unwrap(other))

    def __rsub__(self, other: Any) -> Tensor:
        return self._binary(other, _unwrap(other) - self._t)

    def __mul__(self, other: Any) -> Tensor:
        return self._binary(other, self._t * _unwrap(other))

    def __rmul__(self, other: Any) -> Tensor:
        return self._binary(other, _unwrap(other) * self._t)

    def __truediv__(self, other: Any) -> Tensor:
        return self._binary(other, self._t / _unwrap(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._binary(other, _unwrap(other) / self._t)

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            raise NotImplementedError("micrograd raises only to int/float powers, not to a Value")
        return self._wrap(self._t**other)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return Tensor(_value_class()(float(self._t.data == _data(other))), self._shape)

    __hash__ = object.__hash__

    def ge(self, other: Any) -> Tensor:
        return Tensor(_value_class()(float(self._t.data >= _data(other))), self._shape)

    def relu(self) -> Tensor:
        return self._wrap(self._t.relu())

    def sum(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(builtins.sum([self._t]), _reduced(self._shape, dim, keepdim))

    def mean(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        count = 1  # every micrograd tensor holds one element
        return Tensor(builtins.sum([self._t]) * (1.0 / count), _reduced(self._shape, dim, keepdim))

    def neg(self) -> Tensor:
        return self._wrap(-self._t)

    # -- graph flags ----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return True  # micrograd computes a gradient for every value

    @property
    def is_leaf(self) -> bool:
        return not self._t._prev

    @property
    def grad(self) -> Tensor:
        return Tensor(_value_class()(self._t.grad), self._shape)

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            raise NotImplementedError("micrograd's way to reset a gradient is grad = 0; it sets no others")
        self._t.grad = 0

    def retain_grad(self) -> None:
        """A no-op: micrograd keeps the gradient of every value in the graph already."""

    def backward(self, gradient: Any = None, retain_graph: Any = None, create_graph: bool = False) -> None:
        if gradient is not None:
            raise NotImplementedError("micrograd's backward() takes no gradient; it always seeds 1")
        if create_graph:
            raise NotImplementedError("micrograd computes first-order gradients only")
        self._t.backward()

    # -- reading values ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> Any:
        return float

    def item(self) -> float:
        return float(self._t.data)

    def tolist(self) -> Any:
        value: Any = float(self._t.data)
        for _ in self._shape:
            value = [value]
        return value

    def detach(self) -> Tensor:
        return Tensor(_value_class()(self._t.data), self._shape)

    def float(self) -> Tensor:
        return self


_unwrap = Tensor.unwrap


def _reduced(shape: tuple[int, ...], dim: int | None, keepdim: bool) -> tuple[int, ...]:
    """The shape a reduction over ``dim`` (every dim when None) leaves, as torch's sum gives."""
    if dim is None:
        return tuple(1 for _ in shape) if keepdim else ()
    axis = dim % len(shape) if shape else 0
    if not shape:
        return ()
    return tuple(1 if i == axis else s for i, s in enumerate(shape) if keepdim or i != axis)


def _data(value: Any) -> float:
    return float(value._t.data) if isinstance(value, Tensor) else float(value)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    if isinstance(data, Tensor):
        return data.detach()
    if dtype not in (None, float):
        raise NotImplementedError(f"micrograd computes in Python floats; it has no dtype {dtype!r}")
    number, shape = _single(data)
    return Tensor(_value_class()(number), shape)


def add(a: Any, b: Any) -> Tensor:
    return a + b if isinstance(a, Tensor) else b.__radd__(a)


def sub(a: Any, b: Any) -> Tensor:
    return a - b if isinstance(a, Tensor) else b.__rsub__(a)


def mul(a: Any, b: Any) -> Tensor:
    return a * b if isinstance(a, Tensor) else b.__rmul__(a)


def div(a: Any, b: Any) -> Tensor:
    return a / b if isinstance(a, Tensor) else b.__rtruediv__(a)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - torch's name
    return a**b


def neg(a: Tensor) -> Tensor:
    return a.neg()


def relu(a: Tensor) -> Tensor:
    return a.relu()


def sum(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - torch's name
    return a.sum(dim, keepdim)


def mean(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return a.mean(dim, keepdim)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _filled(1.0, shape, dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _filled(0.0, shape, dtype)


def _filled(fill: float, shape: tuple[Any, ...], dtype: Any) -> Tensor:
    sizes = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    data: Any = fill
    for size in reversed(sizes):
        data = [data] * size
    return tensor(data, dtype=dtype)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return ones(*t.shape)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return zeros(*t.shape)


def namespace() -> SimpleNamespace:
    """The torch-like module the cases call ``T``: only what micrograd has."""
    return SimpleNamespace(
        Tensor=Tensor,
        tensor=tensor,
        ones=ones,
        zeros=zeros,
        ones_like=ones_like,
        zeros_like=zeros_like,
        add=add,
        sub=sub,
        mul=mul,
        div=div,
        pow=pow,
        neg=neg,
        relu=relu,
        sum=sum,
        mean=mean,
        float64=float,
    )


def engine() -> Engine:
    """micrograd's scalar ``Value`` engine (pure Python)."""
    _value_class()  # fail at load time, with ImportError, when micrograd is not installed
    return Engine(
        name="micrograd",
        namespace=namespace(),
        device="cpu",
        version=version("micrograd"),
        capabilities=CAPABILITIES,
        session=nullcontext,
        description="micrograd (scalar Values) through gradspec's name-mapping adapter",
    )
