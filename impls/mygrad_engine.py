"""mygrad as an engine: the torch-compatible subset mapped onto mygrad's NumPy-style API.

mygrad (https://github.com/rsokl/MyGrad) is a teaching autograd engine that
extends NumPy. Its vocabulary differs from PyTorch's (``constant`` for
``requires_grad``, ``creator`` for ``grad_fn``, ``no_autodiff`` for ``no_grad``,
``.grad`` as a NumPy array), so the cases reach it through a thin wrapper that
renames and never re-implements: every value, gradient and graph decision below
is mygrad's own. Where mygrad behaves differently from PyTorch the wrapper lets the
difference through, so the spec sees it and ``impls/expectations/mygrad.toml``
lists it.

What mygrad lacks altogether is declared missing rather than faked:
``autograd.grad`` (mygrad has no functional gradient API, so no higher-order
derivatives either) and ``nn``/``optim`` (no Module, Linear, BCELoss or
optimisers). The cases that need them report *unsupported*.
"""

from __future__ import annotations

from contextlib import nullcontext
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

import numpy as np

from gradspec.conformance.engine import Engine
from gradspec.impls.adapter_support import WrappedTensor, adapter_namespace, shape_arg
from gradspec.spec.capabilities import OP_CAPABILITIES

CAPABILITIES = frozenset({"graph", "retain_grad", "grad_fn", "no_grad", "in-place"}) | frozenset(
    name for name in OP_CAPABILITIES if name.startswith(("op.", "dtype.", "tensor.")) and name != "op.mul_"
)
"""Everything but autograd.grad, create_graph, nn and optim (and so their losses and SGD
options), and ``Tensor.mul_``, which mygrad does not have: declaring it made the
properties draw ``mul_`` steps, and each such graph an AttributeError where the honest
verdict is *unsupported*. Every other op family the adapter maps is declared."""


def _mg() -> Any:
    import mygrad

    return mygrad


def _float32_default(data: Any, dtype: Any) -> Any:
    """PyTorch makes Python floats float32; mygrad, like NumPy, makes them float64."""
    if dtype is not None:
        return dtype
    array = np.asarray(_unwrap(data).data if hasattr(_unwrap(data), "data") else data)
    return np.float32 if array.dtype.kind == "f" else None


class Tensor(WrappedTensor):
    """A mygrad tensor seen through PyTorch's names.

    ``_grad_of`` is set on the tensors that ``.grad`` hands out: mygrad stores a
    gradient as a plain NumPy array, so zeroing it in place must write into that
    array, as ``w.grad.zero_()`` does in PyTorch.
    """

    __slots__ = ("_grad_of",)

    def __init__(self, inner: Any, grad_of: Any = None) -> None:
        self._t = inner
        self._grad_of = grad_of

    # -- graph flags ----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return not self._t.constant

    @property
    def is_leaf(self) -> bool:
        # mygrad has no is_leaf; a tensor with no creator (operation) is where the graph starts.
        return self._t.creator is None

    @property
    def grad_fn(self) -> Any:
        return self._t.creator

    @property
    def grad(self) -> Tensor | None:
        grad = self._t.grad
        if grad is None:
            return None
        return Tensor(_mg().Tensor(grad, constant=True, copy=False), grad_of=grad)

    @grad.setter
    def grad(self, value: Any) -> None:
        # mygrad's public way to drop a gradient is null_grad(); it has no way to set one.
        if value is not None:
            raise NotImplementedError("mygrad cannot assign a gradient; only clear it (null_grad)")
        self._t.null_grad()

    def retain_grad(self) -> None:
        """A no-op: mygrad keeps the gradient of every tensor in the graph already."""

    def backward(self, gradient: Any = None, retain_graph: Any = None, create_graph: bool = False) -> None:
        # mygrad has no retain_graph: it always clears the graph after backward.
        if create_graph:
            raise NotImplementedError("mygrad computes first-order gradients only")
        self._t.backward(None if gradient is None else np.asarray(_unwrap(gradient)))

    # -- reading values ---------------------------------------------------------
    def tolist(self) -> Any:
        return self._t.data.tolist()

    def numpy(self) -> np.ndarray:
        return np.array(self._t.data)

    def detach(self) -> Tensor:
        return Tensor(_mg().Tensor(self._t.data, constant=True, copy=False))

    def float(self) -> Tensor:
        return Tensor(self._t.astype(np.float32))

    def sum(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._t.sum(axis=dim, keepdims=keepdim))

    def mean(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._t.mean(axis=dim, keepdims=keepdim))

    def ge(self, other: Any) -> Tensor:
        return Tensor(_mg().greater_equal(self._t, _unwrap(other)))

    # -- shape and elementwise methods the property-based cases draw -------------
    def unsqueeze(self, dim: int) -> Tensor:
        return Tensor(_mg().expand_dims(self._t, dim))

    def expand(self, *sizes: Any) -> Tensor:
        target = shape_arg(sizes)
        # torch's -1 keeps a dim's size; mygrad's broadcast_to wants every size spelled out.
        current = (1,) * (len(target) - self._t.ndim) + tuple(self._t.shape)
        shape = tuple(c if s == -1 else s for s, c in zip(target, current, strict=True))
        return Tensor(_mg().broadcast_to(self._t, shape))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return Tensor(_mg().swapaxes(self._t, dim0, dim1))

    def __matmul__(self, other: Any) -> Tensor:
        return Tensor(_mg().matmul(self._t, _unwrap(other)))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
        return clamp(self, min, max)

    def __len__(self) -> int:
        return len(self._t)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self._t.data, dtype=dtype)

    @staticmethod
    def _equal(a: Any, b: Any) -> Any:
        return _mg().equal(a, b)

    # -- in place: mygrad's own in-place machinery (augmented ops and setitem) ----
    def add_(self, other: Any) -> Tensor:
        self._t += _unwrap(other)
        return self

    def zero_(self) -> Tensor:
        if self._grad_of is not None:
            self._grad_of[...] = 0  # the NumPy array mygrad stores as the gradient
        else:
            self._t[...] = 0
        return self

    def copy_(self, source: Any) -> Tensor:
        self._t[...] = _unwrap(source)
        return self


_unwrap = Tensor.unwrap


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    data = _unwrap(data)
    return Tensor(_mg().tensor(data, dtype=_float32_default(data, dtype), constant=not requires_grad))


def _filled(fill: str, shape: tuple[Any, ...], requires_grad: bool, dtype: Any) -> Tensor:
    make = getattr(_mg(), fill)
    return Tensor(make(shape_arg(shape), dtype=dtype or np.float32, constant=not requires_grad))


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _filled("ones", shape, requires_grad, dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _filled("zeros", shape, requires_grad, dtype)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return ones(*t.shape, requires_grad=requires_grad, dtype=t.dtype)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return zeros(*t.shape, requires_grad=requires_grad, dtype=t.dtype)


def add(a: Any, b: Any) -> Tensor:
    return Tensor(_mg().add(_unwrap(a), _unwrap(b)))


def sub(a: Any, b: Any) -> Tensor:
    return Tensor(_mg().subtract(_unwrap(a), _unwrap(b)))


def mul(a: Any, b: Any) -> Tensor:
    return Tensor(_mg().multiply(_unwrap(a), _unwrap(b)))


def div(a: Any, b: Any) -> Tensor:
    return Tensor(_mg().divide(_unwrap(a), _unwrap(b)))


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - torch's name
    return Tensor(_mg().power(_unwrap(a), _unwrap(b)))


def cat(tensors: Any, dim: int = 0) -> Tensor:
    return Tensor(_mg().concatenate([_unwrap(t) for t in tensors], axis=dim))


def stack(tensors: Any, dim: int = 0) -> Tensor:
    return Tensor(_mg().stack([_unwrap(t) for t in tensors], axis=dim))


def matmul(a: Any, b: Any) -> Tensor:
    return Tensor(_mg().matmul(_unwrap(a), _unwrap(b)))


def clamp(a: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
    return Tensor(_mg().clip(_unwrap(a), min, max))


def sum(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - torch's name
    return Tensor(_mg().sum(_unwrap(a), axis=dim, keepdims=keepdim))


def mean(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return Tensor(_mg().mean(_unwrap(a), axis=dim, keepdims=keepdim))


def _unary(name: str) -> Any:
    """torch's elementwise function ``name`` as mygrad's (functions and Tensor methods)."""

    def op(a: Any) -> Tensor:
        mg = _mg()
        function = getattr(mg.nnet, name) if name in {"sigmoid", "relu"} else getattr(mg, UNARY[name])
        return Tensor(function(_unwrap(a)))

    op.__name__ = name
    return op


UNARY = {
    "neg": "negative",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "abs": "abs",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "relu": "relu",
}
for _name in UNARY:
    setattr(Tensor, _name, _unary(_name))


def no_grad() -> Any:
    return _mg().no_autodiff


def namespace() -> SimpleNamespace:
    """The torch-like module the cases call ``T``."""
    return adapter_namespace(
        globals(),
        float32=np.float32,
        float64=np.float64,
        no_grad=no_grad,
        **{name: _unary(name) for name in UNARY},
    )


def engine() -> Engine:
    """mygrad on the CPU (it computes with NumPy)."""
    _mg()  # fail at load time, with ImportError, when mygrad is not installed
    return Engine(
        name="mygrad",
        namespace=namespace(),
        device="cpu",
        version=version("mygrad"),
        capabilities=CAPABILITIES,
        session=nullcontext,
        description="mygrad (NumPy autograd) through gradspec's name-mapping adapter",
    )
