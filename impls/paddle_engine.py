"""PaddlePaddle as an engine: the torch-compatible subset mapped onto Paddle's dygraph API.

PaddlePaddle 3.x (https://github.com/PaddlePaddle/Paddle) runs eagerly by default
and already spells most of PyTorch's surface (``paddle.tensor``, ``cat``,
``Tensor.is_leaf``, ``grad_fn``, ``paddle.grad``, ``no_grad``). The cases reach it
through a thin wrapper that renames and never re-implements: every value,
gradient and graph decision is Paddle's own, and where Paddle behaves differently
from PyTorch the difference goes through to the spec and is listed in
``impls/expectations/paddle.toml``.

The mappings that are a choice, each the closest thing Paddle has:

- ``requires_grad`` is ``not stop_gradient``; ``retain_grad()`` is
  ``retain_grads()``; ``backward(gradient=...)`` is ``backward(grad_tensor=...)``.
- Python numbers given to ``add_``, ``mul_``, ``ge`` and the namespace's binary
  functions become tensors of the other operand's dtype: Paddle's in-place and
  comparison methods take tensors only.
- ``x.grad = None`` is ``clear_gradient(set_to_zero=False)``, and
  ``optimizer.zero_grad()`` is ``clear_grad(set_to_zero=False)``, as PyTorch
  sets gradients to None by default.
- ``nn.Linear(in, out)`` keeps its weight in PyTorch's (out, in) layout (a Paddle
  parameter of that shape, applied with ``paddle.nn.functional.linear`` on its
  transpose), since the cases load initial weights with ``weight.copy_(...)``;
  Paddle's own Linear stores (in, out).
- ``optim.SGD`` is ``paddle.optimizer.SGD``, or ``paddle.optimizer.Momentum``
  (``use_nesterov``) when a momentum is given; ``weight_decay`` is Paddle's L2
  decay coefficient. Paddle's optimisers have no dampening, so ``dampening`` other
  than 0 raises NotImplementedError and ``optim.sgd.dampening`` is not declared.
- ``autograd.grad`` is ``paddle.grad`` and returns a tuple, as PyTorch does.

Paddle computes on the CPU here (``paddle.device.get_device()``); a GPU build would
put tensors on its default device, which the engine reports.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any, Self

from gradspec.conformance.engine import Engine
from gradspec.impls.adapter_support import WrappedTensor, adapter_namespace, shape_arg
from gradspec.spec.capabilities import ALL_CAPABILITIES

CAPABILITIES = ALL_CAPABILITIES - {"optim.sgd.dampening"}
"""Everything but SGD's dampening, which no Paddle optimiser has."""


def _pd() -> Any:
    with warnings.catch_warnings():
        # Paddle warns at import about ccache (for compiling custom ops), irrelevant here.
        warnings.simplefilter("ignore")
        import paddle

    return paddle


class Tensor(WrappedTensor):
    """A Paddle tensor seen through PyTorch's names."""

    __slots__ = ()

    def __init__(self, inner: Any) -> None:
        self._t = inner

    def _lift(self, other: Any) -> Any:
        """``other`` as a Paddle tensor of this tensor's dtype (Paddle's methods take no Python numbers)."""
        other = _unwrap(other)
        if isinstance(other, (int, float, bool)):
            return _pd().full([], other, dtype=self._t.dtype)
        return other

    # -- graph flags ----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return not self._t.stop_gradient

    @property
    def is_leaf(self) -> bool:
        return self._t.is_leaf

    @property
    def grad_fn(self) -> Any:
        # Paddle hands every tensor a GradNodeBase, leaves included; passed on as it is.
        return self._t.grad_fn

    @property
    def grad(self) -> Tensor | None:
        grad = self._t.grad
        return None if grad is None else Tensor(grad)

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            raise NotImplementedError("Paddle has no public way to assign a gradient; only to clear it")
        self._t.clear_gradient(False)

    def retain_grad(self) -> None:
        self._t.retain_grads()

    def backward(self, gradient: Any = None, retain_graph: Any = None, create_graph: bool = False) -> None:
        if create_graph:
            raise NotImplementedError("Paddle's Tensor.backward has no create_graph; use autograd.grad")
        self._t.backward(grad_tensor=_unwrap(gradient), retain_graph=bool(retain_graph))

    # -- reading values ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._t.shape)

    def tolist(self) -> Any:
        return self._t.tolist()

    def numpy(self) -> Any:
        return self._t.numpy()

    def detach(self) -> Tensor:
        return Tensor(self._t.detach())

    def float(self) -> Tensor:
        return Tensor(self._t.astype("float32"))

    def sum(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._t.sum(axis=dim, keepdim=keepdim))

    def mean(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._t.mean(axis=dim, keepdim=keepdim))

    def ge(self, other: Any) -> Tensor:
        return Tensor(self._t.greater_equal(self._lift(other)))

    def __ge__(self, other: Any) -> Tensor:
        return self.ge(other)

    # -- shape and elementwise methods the property-based cases draw -------------
    def unsqueeze(self, dim: int) -> Tensor:
        return Tensor(self._t.unsqueeze(dim))

    def squeeze(self, dim: int | None = None) -> Self:
        return self._wrap(self._t.squeeze(dim))

    def expand(self, *sizes: Any) -> Tensor:
        return Tensor(self._t.expand(list(shape_arg(sizes))))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        perm = list(range(self._t.ndim))
        perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
        return Tensor(self._t.transpose(perm))

    def __matmul__(self, other: Any) -> Tensor:
        return Tensor(self._t.matmul(_unwrap(other)))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
        return clamp(self, min, max)

    def __len__(self) -> int:
        return len(self._t)

    # -- in place: Paddle's own in-place methods, with its leaf check ----------------
    def add_(self, other: Any) -> Tensor:
        self._t.add_(self._lift(other))
        return self

    def mul_(self, other: Any) -> Tensor:
        self._t.multiply_(self._lift(other))
        return self

    def zero_(self) -> Tensor:
        self._t.zero_()
        return self

    def copy_(self, source: Any) -> Tensor:
        self._t.copy_(self._lift(source))
        return self


_unwrap = Tensor.unwrap


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    inner = _pd().to_tensor(_unwrap(data), dtype=dtype, stop_gradient=not requires_grad)
    return Tensor(inner)


def _filled(fill: str, shape: tuple[Any, ...], requires_grad: bool, dtype: Any) -> Tensor:
    inner = getattr(_pd(), fill)(list(shape_arg(shape)), dtype=dtype or "float32")
    inner.stop_gradient = not requires_grad
    return Tensor(inner)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _filled("ones", shape, requires_grad, dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _filled("zeros", shape, requires_grad, dtype)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return ones(*t.shape, requires_grad=requires_grad, dtype=t.dtype)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return zeros(*t.shape, requires_grad=requires_grad, dtype=t.dtype)


# Binary functions use Paddle's operators, which take a Python number on either side
# (paddle.add and friends take tensors only).
def add(a: Any, b: Any) -> Tensor:
    return Tensor(_unwrap(a) + _unwrap(b))


def sub(a: Any, b: Any) -> Tensor:
    return Tensor(_unwrap(a) - _unwrap(b))


def mul(a: Any, b: Any) -> Tensor:
    return Tensor(_unwrap(a) * _unwrap(b))


def div(a: Any, b: Any) -> Tensor:
    return Tensor(_unwrap(a) / _unwrap(b))


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - torch's name
    return Tensor(_unwrap(a) ** _unwrap(b))


def cat(tensors: Any, dim: int = 0) -> Tensor:
    return Tensor(_pd().concat([_unwrap(t) for t in tensors], axis=dim))


def stack(tensors: Any, dim: int = 0) -> Tensor:
    return Tensor(_pd().stack([_unwrap(t) for t in tensors], axis=dim))


def matmul(a: Any, b: Any) -> Tensor:
    return Tensor(_pd().matmul(_unwrap(a), _unwrap(b)))


def clamp(a: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - torch's names
    return Tensor(_pd().clip(_unwrap(a), min=min, max=max))


def sum(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - torch's name
    return Tensor(_pd().sum(_unwrap(a), axis=dim, keepdim=keepdim))


def mean(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return Tensor(_pd().mean(_unwrap(a), axis=dim, keepdim=keepdim))


UNARY = {
    "neg": "neg",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "abs": "abs",
    "tanh": "tanh",
    "sigmoid": "nn.functional.sigmoid",
    "relu": "nn.functional.relu",
}


def _unary(name: str) -> Any:
    """torch's elementwise function ``name`` as Paddle's (functions and Tensor methods)."""

    def op(a: Any) -> Tensor:
        function: Any = _pd()
        for part in UNARY[name].split("."):
            function = getattr(function, part)
        return Tensor(function(_unwrap(a)))

    op.__name__ = name
    return op


for _name in UNARY:
    setattr(Tensor, _name, _unary(_name))


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: Any = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    weights = None if grad_outputs is None else [_unwrap(g) for g in _listed(grad_outputs)]
    grads = _pd().grad(
        [_unwrap(o) for o in _listed(outputs)],
        [_unwrap(i) for i in _listed(inputs)],
        grad_outputs=weights,
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=allow_unused,
    )
    return tuple(None if g is None else Tensor(g) for g in grads)


def _backward(
    tensors: Any, grad_tensors: Any = None, retain_graph: Any = None, create_graph: bool = False
) -> None:
    if create_graph:
        raise NotImplementedError("paddle.autograd.backward has no create_graph; use autograd.grad")
    weights = None if grad_tensors is None else [_unwrap(g) for g in _listed(grad_tensors)]
    _pd().autograd.backward(
        [_unwrap(t) for t in _listed(tensors)], grad_tensors=weights, retain_graph=bool(retain_graph)
    )


# -- nn and optim: Paddle's layers, losses and optimisers under PyTorch's names -------


def _module_base() -> type:
    """A ``paddle.nn.Layer`` that takes and returns wrapped tensors (made on first use)."""
    global _Module
    if _Module is None:
        layer = _pd().nn.Layer

        class Module(layer):  # type: ignore[misc, valid-type]
            """``paddle.nn.Layer``: sublayers and parameters register on attribute assignment."""

            def parameters(self) -> list[Tensor]:  # type: ignore[override]
                return [Tensor(p) for p in super().parameters()]

        _Module = Module
    return _Module


_Module: type | None = None


def _make_linear(in_features: int, out_features: int, bias: bool = True) -> Any:
    class Linear(_module_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            bound = 1.0 / in_features**0.5
            uniform = _pd().nn.initializer.Uniform(-bound, bound)  # PyTorch's default range
            self._weight = self.create_parameter([out_features, in_features], default_initializer=uniform)
            self._bias = (
                self.create_parameter([out_features], default_initializer=uniform, is_bias=True)
                if bias
                else None
            )

        @property
        def weight(self) -> Tensor:
            return Tensor(self._weight)

        @property
        def bias(self) -> Tensor | None:
            return None if self._bias is None else Tensor(self._bias)

        def forward(self, x: Any) -> Tensor:
            return Tensor(_pd().nn.functional.linear(_unwrap(x), self._weight.T, self._bias))

    return Linear()


def _wrapping_layer(make: Any) -> Any:
    """A Module whose forward applies Paddle's layer or loss ``make()`` to unwrapped tensors."""

    def construct(*args: Any, **kwargs: Any) -> Any:
        class Wrapped(_module_base()):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self._inner = make()(*args, **kwargs)

            def forward(self, *inputs: Any) -> Tensor:
                return Tensor(self._inner(*(_unwrap(x) for x in inputs)))

        return Wrapped()

    return construct


def _make_sequential(*modules: Any) -> Any:
    class Sequential(_module_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._steps = _pd().nn.LayerList(list(modules))

        def __getitem__(self, index: int) -> Any:
            return self._steps[index]

        def forward(self, x: Any) -> Any:
            for step in self._steps:
                x = step(x)
            return x

    return Sequential()


class _Namespace(SimpleNamespace):
    """``T.nn``: ``Module`` is resolved when a case first subclasses it, so importing is lazy."""

    @property
    def Module(self) -> type:  # noqa: N802 - torch's name
        return _module_base()


class SGD:
    """PyTorch's SGD options on Paddle's SGD / Momentum optimisers."""

    def __init__(
        self,
        params: Any,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        if dampening:
            raise NotImplementedError("Paddle's optimisers have no dampening")
        optimizer = _pd().optimizer
        parameters = [_unwrap(p) for p in params]
        decay = weight_decay or None
        if momentum or nesterov:
            self._optimizer = optimizer.Momentum(
                learning_rate=lr,
                momentum=momentum,
                parameters=parameters,
                use_nesterov=nesterov,
                weight_decay=decay,
            )
        else:
            self._optimizer = optimizer.SGD(learning_rate=lr, parameters=parameters, weight_decay=decay)

    def step(self) -> None:
        self._optimizer.step()

    def zero_grad(self) -> None:
        self._optimizer.clear_grad(set_to_zero=False)


def namespace() -> SimpleNamespace:
    """The torch-like module the cases call ``T``."""
    paddle = _pd()
    return adapter_namespace(
        globals(),
        float32=paddle.float32,
        float64=paddle.float64,
        no_grad=paddle.no_grad,
        **{name: _unary(name) for name in UNARY},
        autograd=SimpleNamespace(grad=_grad, backward=_backward),
        nn=_Namespace(
            Linear=_make_linear,
            Sigmoid=_wrapping_layer(lambda: paddle.nn.Sigmoid),
            ReLU=_wrapping_layer(lambda: paddle.nn.ReLU),
            Sequential=_make_sequential,
            BCELoss=_wrapping_layer(lambda: paddle.nn.BCELoss),
            MSELoss=_wrapping_layer(lambda: paddle.nn.MSELoss),
            CrossEntropyLoss=_wrapping_layer(lambda: paddle.nn.CrossEntropyLoss),
        ),
        optim=SimpleNamespace(SGD=SGD),
    )


def engine() -> Engine:
    """PaddlePaddle in dygraph mode on its default device."""
    paddle = _pd()  # fail at load time, with ImportError, when paddle is not installed
    return Engine(
        name="paddle",
        namespace=namespace(),
        device=str(paddle.device.get_device()),
        version=version("paddlepaddle"),
        capabilities=CAPABILITIES,
        session=nullcontext,
        description="PaddlePaddle (dygraph) through gradspec's name-mapping adapter",
    )
