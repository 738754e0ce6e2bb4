"""tinygrad as an engine: the torch-compatible subset mapped onto tinygrad's API.

tinygrad (https://github.com/tinygrad/tinygrad) is a lazy tensor library with its
own autograd. Its model differs from PyTorch's at the root: there is no
``requires_grad`` flag, no grad mode and no recorded tape. A gradient is derived
on demand from the lazy graph, for every floating-point tensor still alive that
the output depends on. The cases reach tinygrad through a thin wrapper that
renames and never re-implements: values, gradients and graph decisions are
tinygrad's own, and where it behaves differently from PyTorch the difference goes
through to the spec and is listed in ``impls/expectations/tinygrad.toml``.

The mappings that are a choice, each the closest thing tinygrad has:

- ``requires_grad`` is "tinygrad will compute a gradient for it": true for every
  floating-point tensor, whatever was passed to ``tensor(..., requires_grad=)``.
- ``is_leaf``: tinygrad has no such notion; a tensor the user created (a factory,
  ``detach``, a layer's parameter) is a leaf, a result of an operation is not,
  which is the note's definition.
- ``grad_fn`` is the lazy graph node (a tinygrad ``UOp``) that produces a result.
- ``backward()`` on a one-element tensor passes a gradient of ones: PyTorch treats
  one-element outputs as scalars, tinygrad insists on shape ``()``.
- ``tensor(1.0)`` is stored (``Tensor([1.0]).reshape(())``): tinygrad's
  ``Tensor(1.0)`` is an unstored constant that never receives a gradient.
- ``no_grad()`` does nothing, because there is no recording to switch off.
- ``nn.Module`` finds parameters with ``tinygrad.nn.state.get_parameters``,
  ``nn.Sequential`` is ``Tensor.sequential``, ``nn.BCELoss`` is
  ``Tensor.binary_crossentropy`` and ``optim.SGD`` is ``tinygrad.nn.optim.SGD``
  stepped under ``Context(TRAINING=1)``.

tinygrad's CPU device compiles kernels with clang (Debian: ``apt-get install clang``);
without a compiler tinygrad finds no usable device and the engine is unavailable.
"""

from __future__ import annotations

from contextlib import nullcontext
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

from gradspec.conformance.engine import Engine
from gradspec.impls.adapter_support import WrappedTensor, adapter_namespace, shape_arg
from gradspec.spec.capabilities import ALL_CAPABILITIES

CAPABILITIES = ALL_CAPABILITIES - {"optim.sgd.dampening", "op.mul_"}
"""Everything but SGD's dampening, which tinygrad's SGD rejects (TypeError), and
``Tensor.mul_``, which tinygrad's tensors do not have: declaring it made the properties
draw ``mul_`` steps and end in AttributeErrors where the honest verdict is *unsupported*."""


def _tg() -> Any:
    import tinygrad

    return tinygrad


class Tensor(WrappedTensor):
    """A tinygrad tensor seen through PyTorch's names; ``_leaf`` records how it was made."""

    __slots__ = ("_leaf",)

    def __init__(self, inner: Any, leaf: bool = False) -> None:
        self._t = inner
        self._leaf = leaf

    # -- graph flags ----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return bool(self._t.is_floating_point())

    @property
    def is_leaf(self) -> bool:
        return self._leaf

    @property
    def grad_fn(self) -> Any:
        return None if self._leaf else self._t.uop

    @property
    def grad(self) -> Tensor | None:
        grad = self._t.grad
        return None if grad is None else Tensor(grad, leaf=True)

    @grad.setter
    def grad(self, value: Any) -> None:
        self._t.grad = _unwrap(value)

    def retain_grad(self) -> None:
        """A no-op: tinygrad's backward fills .grad on every live tensor of the graph."""

    def backward(self, gradient: Any = None, retain_graph: Any = None, create_graph: bool = False) -> None:
        # tinygrad never frees the graph (retain_graph is moot) and its gradients are
        # lazy tensors that can be differentiated again (create_graph is moot).
        gradient = _unwrap(gradient)
        if gradient is None and self._t.shape != () and self._t.numel() == 1:
            gradient = _tg().Tensor.ones(*self._t.shape, dtype=self._t.dtype)
        self._t.backward(gradient)

    # -- reading values ---------------------------------------------------------
    def tolist(self) -> Any:
        return self._t.tolist()

    def numpy(self) -> Any:
        return self._t.numpy()

    def detach(self) -> Tensor:
        return Tensor(self._t.detach(), leaf=True)

    def float(self) -> Tensor:
        return Tensor(self._t.float())

    def sum(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._t.sum(dim, keepdim=keepdim))

    def mean(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._t.mean(dim, keepdim=keepdim))

    def ge(self, other: Any) -> Tensor:
        return Tensor(self._t >= _unwrap(other))

    # -- shape and elementwise methods the property-based cases draw -------------
    def unsqueeze(self, dim: int) -> Tensor:
        return Tensor(self._t.unsqueeze(dim))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return Tensor(self._t.transpose(dim0, dim1))

    def __matmul__(self, other: Any) -> Tensor:
        return Tensor(self._t.matmul(_unwrap(other)))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
        return Tensor(self._t.clamp(min, max))

    def __len__(self) -> int:
        return self.shape[0]

    # -- in place: tinygrad's assign ----------------------------------------------
    def add_(self, other: Any) -> Tensor:
        self._t.assign(self._t + _unwrap(other))
        return self

    def zero_(self) -> Tensor:
        self._t.assign(self._t.zeros_like())
        return self

    def copy_(self, source: Any) -> Tensor:
        source = _unwrap(source)
        if not isinstance(source, _tg().Tensor):
            source = _tg().Tensor(source, dtype=self._t.dtype)
        self._t.assign(source.reshape(self._t.shape).cast(self._t.dtype))
        return self


_unwrap = Tensor.unwrap


def _dtype(dtype: Any) -> Any:
    return dtype if dtype is not None else _tg().dtypes.float32


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    data = _unwrap(data)
    TG = _tg().Tensor
    if isinstance(data, TG):
        return Tensor(data.detach(), leaf=True)
    if isinstance(data, (int, float, bool)):
        if dtype is None and isinstance(data, (int, bool)):
            return Tensor(TG([data]).reshape(()), leaf=True)
        return Tensor(TG([data], dtype=_dtype(dtype)).reshape(()), leaf=True)
    if dtype is None and not _has_float(data):
        return Tensor(TG(data), leaf=True)
    return Tensor(TG(data, dtype=_dtype(dtype)), leaf=True)


def _has_float(data: Any) -> bool:
    if isinstance(data, (list, tuple)):
        return any(_has_float(d) for d in data)
    return isinstance(data, float)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return Tensor(_tg().Tensor.ones(*shape_arg(shape), dtype=_dtype(dtype)).contiguous(), leaf=True)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return Tensor(_tg().Tensor.zeros(*shape_arg(shape), dtype=_dtype(dtype)).contiguous(), leaf=True)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return ones(*t.shape, dtype=t.dtype)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return zeros(*t.shape, dtype=t.dtype)


def add(a: Any, b: Any) -> Tensor:
    return Tensor(_tg().Tensor.add(_lift(a), _unwrap(b)))


def sub(a: Any, b: Any) -> Tensor:
    return Tensor(_tg().Tensor.sub(_lift(a), _unwrap(b)))


def mul(a: Any, b: Any) -> Tensor:
    return Tensor(_tg().Tensor.mul(_lift(a), _unwrap(b)))


def div(a: Any, b: Any) -> Tensor:
    return Tensor(_tg().Tensor.div(_lift(a), _unwrap(b)))


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - torch's name
    return Tensor(_tg().Tensor.pow(_lift(a), _unwrap(b)))


def _lift(value: Any) -> Any:
    """A scalar on the left of a namespace op becomes a tensor, as torch.add(1, t) allows."""
    value = _unwrap(value)
    return value if isinstance(value, _tg().Tensor) else _tg().Tensor(value)


def cat(tensors: Any, dim: int = 0) -> Tensor:
    first, *rest = [_unwrap(t) for t in tensors]
    return Tensor(first.cat(*rest, dim=dim))


def stack(tensors: Any, dim: int = 0) -> Tensor:
    first, *rest = [_unwrap(t) for t in tensors]
    return Tensor(first.stack(*rest, dim=dim))


def matmul(a: Any, b: Any) -> Tensor:
    return Tensor(_unwrap(a).matmul(_unwrap(b)))


def clamp(a: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
    return a.clamp(min, max)


def sum(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - torch's name
    return a.sum(dim, keepdim)


def mean(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return a.mean(dim, keepdim)


UNARY = ("neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu")
"""Elementwise functions with the same name in torch and tinygrad."""


def _unary(name: str) -> Any:
    def op(a: Any) -> Tensor:
        return Tensor(getattr(_unwrap(a), name)())

    op.__name__ = name
    return op


for _name in UNARY:
    setattr(Tensor, _name, _unary(_name))


def _grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor, ...]:
    """``autograd.grad`` on tinygrad's ``Tensor.gradient``; several outputs are summed."""
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    targets = [_unwrap(t) for t in inputs]
    totals: list[Any] = [None] * len(targets)
    for output, weight in zip(outputs, grad_outputs, strict=True):
        out = _unwrap(output)
        weight = _unwrap(weight)
        if weight is None and out.shape != () and out.numel() == 1:
            weight = _tg().Tensor.ones(*out.shape, dtype=out.dtype)
        for i, g in enumerate(out.gradient(*targets, gradient=weight)):
            totals[i] = g if totals[i] is None else totals[i] + g
    return tuple(Tensor(g) for g in totals)


def _backward(
    tensors: Any, grad_tensors: Any = None, retain_graph: Any = None, create_graph: bool = False
) -> None:
    tensors = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if grad_tensors is None or not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors] * len(tensors)
    for t, g in zip(tensors, grad_tensors, strict=True):
        t.backward(gradient=g)


# -- nn and optim: tinygrad's own layers and optimiser under PyTorch's names --------


class Module:
    """tinygrad models are plain objects; parameters are whatever tensors they hold."""

    def __call__(self, *args: Any) -> Any:
        return self.forward(*args)

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError

    def parameters(self) -> list[Tensor]:
        from tinygrad.nn.state import get_parameters

        return [Tensor(p, leaf=True) for p in get_parameters(self)]


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        from tinygrad.nn import Linear as TinyLinear

        self._layer = TinyLinear(in_features, out_features, bias=bias)

    @property
    def weight(self) -> Tensor:
        return Tensor(self._layer.weight, leaf=True)

    @property
    def bias(self) -> Tensor | None:
        bias = self._layer.bias
        return None if bias is None else Tensor(bias, leaf=True)

    def forward(self, x: Tensor) -> Tensor:
        return Tensor(self._layer(_unwrap(x)))


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return Tensor(_unwrap(x).sigmoid())


class Sequential(Module):
    def __init__(self, *modules: Any) -> None:
        self._modules = list(modules)

    def __getitem__(self, index: int) -> Any:
        return self._modules[index]

    def forward(self, x: Tensor) -> Tensor:
        return Tensor(_unwrap(x).sequential([_as_tiny_layer(m) for m in self._modules]))


def _as_tiny_layer(module: Any) -> Any:
    return lambda t: _unwrap(module(Tensor(t)))


class BCELoss(Module):
    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return Tensor(_unwrap(prediction).binary_crossentropy(_unwrap(target)))


class MSELoss(Module):
    """tinygrad has no MSE loss object; this is the mean of squared differences in its ops."""

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return Tensor((_unwrap(prediction) - _unwrap(target)).square().mean())


class CrossEntropyLoss(Module):
    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return Tensor(_unwrap(logits).cross_entropy(_unwrap(target)))


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return Tensor(_unwrap(x).relu())


class SGD:
    def __init__(self, params: Any, lr: float, **options: Any) -> None:
        from tinygrad.nn.optim import SGD as TinySGD

        # Options pass through unchanged: tinygrad's SGD has momentum, weight_decay and
        # nesterov, and rejects what it does not have (dampening) with a TypeError.
        self._optimizer = TinySGD([_unwrap(p) for p in params], lr=lr, **options)

    def step(self) -> None:
        from tinygrad.helpers import Context

        with Context(TRAINING=1):
            self._optimizer.step()

    def zero_grad(self) -> None:
        self._optimizer.zero_grad()


def namespace() -> SimpleNamespace:
    """The torch-like module the cases call ``T``."""
    dtypes = _tg().dtypes
    return adapter_namespace(
        globals(),
        float32=dtypes.float32,
        float64=dtypes.float64,
        no_grad=nullcontext,
        **{name: _unary(name) for name in UNARY},
        autograd=SimpleNamespace(grad=_grad, backward=_backward),
        nn=SimpleNamespace(
            Module=Module,
            Linear=Linear,
            Sigmoid=Sigmoid,
            ReLU=ReLU,
            Sequential=Sequential,
            BCELoss=BCELoss,
            MSELoss=MSELoss,
            CrossEntropyLoss=CrossEntropyLoss,
        ),
        optim=SimpleNamespace(SGD=SGD),
    )


def _unavailable() -> str | None:
    """Why tinygrad cannot compute here (no device: typically no clang), or None."""
    try:
        _tg().Device.DEFAULT  # noqa: B018 - selecting the default device is the check
    except RuntimeError as exc:
        return f"tinygrad found no usable device ({exc}); its CPU device needs clang on PATH"
    return None


def engine() -> Engine:
    """tinygrad on its default device (CPU here, compiling kernels with clang)."""
    tinygrad = _tg()
    unavailable = _unavailable()
    device = "unavailable" if unavailable else str(tinygrad.Device.DEFAULT)
    return Engine(
        name="tinygrad",
        namespace=namespace(),
        device=device,
        version=version("tinygrad"),
        capabilities=CAPABILITIES,
        unavailable=unavailable,
        session=nullcontext,
        description="tinygrad (lazy tensors, on-demand gradients) through gradspec's name-mapping adapter",
    )
