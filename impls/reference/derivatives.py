"""The derivative table: for each op, the vector-Jacobian product for each input.

This is the reference engine's ``derivatives.yaml``. An entry names the node
class PyTorch would create and gives, per differentiable input, a formula for
the gradient that input receives. A formula's parameter names say what it
reads, exactly as in derivatives.yaml:

- ``grad``: the gradient of the op's output;
- an input's name (``self``, ``other``, ``exponent``, ...): that input, saved
  when the op ran (freed after backward, checked against its version counter);
- ``result``: the op's output, saved the same way;
- any other name: a non-tensor argument of the op (``dim``, ``self_shape``, ...),
  kept for as long as the node lives.

Formulas are written with the engine's own ops, so they run without recording
when ``create_graph`` is False and record the graph of the backward pass when it
is True, which gives second and higher derivatives for free. The engine sums a
formula's result back to its input's shape (:func:`sum_to_shape`) when the op
broadcast, so formulas never deal with broadcasting.

A mutant engine changes one rule by replacing one entry, e.g. inside
``with patched("mul", self=lambda grad, other: grad):`` (see :func:`patched`).

Speed: entries marked ``arrays=True`` are written only with what numpy arrays
and tensors share (operators, ``@``, ``.reshape``, comparisons), so when the
backward pass records nothing (``create_graph=False``) the engine applies them
to the raw arrays and skips the tensor wrappers of each intermediate step. The
formulas are the same either way; a patched or replaced entry is not marked and
always gets tensors.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import ops
from .core import GRAD_MODE, Tensor, _wrap, node_class
from .quiet import quiet

Formula = Callable[..., Any]


class Derivative:
    """One table entry: the node's name and one formula per differentiable input.

    ``inputs`` lists the op's tensor arguments in order; it defaults to the
    formulas' keyword order. An input without a formula is not differentiable
    (its gradient is never computed). ``variadic`` entries (cat, stack) have one
    formula, called for each of a list of inputs with its position as ``i``.
    ``arrays`` says the formulas also work on numpy arrays (see the module notes).
    """

    def __init__(
        self,
        node: str,
        /,
        inputs: tuple[str, ...] | None = None,
        variadic: bool = False,
        arrays: bool = False,
        **formulas: Formula,
    ) -> None:
        self.node = node
        self.arrays = arrays
        self.node_cls = node_class(node)
        self.inputs = tuple(formulas) if inputs is None else inputs
        self.formulas = formulas
        self.variadic = variadic
        args: dict[str, None] = {}
        for f in formulas.values():
            for a in inspect.signature(f).parameters:
                if a not in ("grad", "i"):
                    args[a] = None
        self.saves = tuple(a for a in args if a in self.inputs or a == "result")
        # PyTorch's codegen guards saving an input tensor with should_compute_output when
        # exactly one formula reads it (and the op has several differentiable inputs): it
        # is then saved only if that input requires grad. The result, and inputs read by
        # several formulas, are always saved. save_guard[k] is that input's position, or -1.
        guards = []
        for a in self.saves:
            users = [
                k
                for k, name in enumerate(self.inputs)
                if name in formulas and a in inspect.signature(formulas[name]).parameters
            ]
            single = a != "result" and len(users) == 1 and len(formulas) > 1 and not variadic
            guards.append(users[0] if single else -1)
        self.save_guard = tuple(guards)
        self.params = tuple(a for a in args if a not in self.saves)
        # Where each saved value comes from: an input position, or -1 for the result.
        self.save_src = tuple(-1 if a == "result" else self.inputs.index(a) for a in self.saves)
        self.save_plan = tuple(zip(self.save_src, self.save_guard, strict=True))  # what record() walks
        self.result_pos = self.saves.index("result") if "result" in self.saves else -1
        layout = self.saves + self.params
        if variadic:
            (f,) = formulas.values()
            self.callers: Any = _VariadicCallers(f, layout)
        else:
            self.callers = tuple(
                _caller(formulas[name], layout) if name in formulas else None for name in self.inputs
            )

    def __repr__(self) -> str:
        return f"Derivative({self.node!r}, inputs={self.inputs!r})"


def _caller(f: Formula, layout: tuple[str, ...]) -> Callable[[Tensor, tuple[Any, ...]], Any]:
    """A function (grad, values) -> f(grad, named values...), specialised for speed."""
    idx = tuple(layout.index(a) for a in list(inspect.signature(f).parameters)[1:])
    if not idx:
        return lambda g, v: f(g)
    if len(idx) == 1:
        (a,) = idx
        return lambda g, v: f(g, v[a])
    if len(idx) == 2:
        a, b = idx
        return lambda g, v: f(g, v[a], v[b])
    return lambda g, v: f(g, *[v[k] for k in idx])


class _VariadicCallers:
    """callers[i] for a variadic entry: the one formula with ``i`` bound."""

    def __init__(self, f: Formula, layout: tuple[str, ...]) -> None:
        names = list(inspect.signature(f).parameters)[1:]
        self.f = f
        self.idx = tuple(-1 if a == "i" else layout.index(a) for a in names)

    def __getitem__(self, i: int) -> Callable[[Tensor, tuple[Any, ...]], Any]:
        f, idx = self.f, self.idx
        if idx == (-1, 0):  # (grad, i, one value): stack
            return lambda g, v: f(g, i, v[0])
        if idx == (-1, 0, 1):  # (grad, i, two values): cat
            return lambda g, v: f(g, i, v[0], v[1])
        return lambda g, v: f(g, *[i if k < 0 else v[k] for k in idx])

    def __iter__(self) -> Iterator[Callable[[Tensor, tuple[Any, ...]], Any]]:
        i = 0
        while True:
            yield self[i]
            i += 1


# -- helpers the formulas share ------------------------------------------------------


def sum_to_shape(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum a broadcast gradient back to an input's shape (the reverse of broadcasting)."""
    gshape = grad._data.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
    )
    if not GRAD_MODE.enabled:
        out = np.add.reduce(grad._data, axis=dims)  # np.sum without its Python wrapper
        return _wrap(out if out.shape == shape else out.reshape(shape))
    out = ops.sum(grad, dims, keepdim=True) if dims else grad
    return ops.reshape(out, shape) if out._data.shape != shape else out


def expand_reduced(grad: Tensor, self_shape: tuple[int, ...], dim: tuple[int, ...], keepdim: bool) -> Tensor:
    """Spread a reduction's gradient back over the reduced dimensions."""
    if not keepdim:
        kept = tuple(1 if d in dim else s for d, s in enumerate(self_shape))
        grad = ops.reshape(grad, kept)
    return ops.expand(grad, self_shape)


def _count(self_shape: tuple[int, ...], dim: tuple[int, ...] | None = None) -> int:
    n = 1
    for d, s in enumerate(self_shape):
        if dim is None or d in dim:
            n *= s
    return n


def _onehot(self_shape: tuple[int, ...], dim: int, indices: np.ndarray, keepdim: bool, dtype: Any) -> Tensor:
    """A constant mask with 1 where a max/min along ``dim`` was taken."""
    idx = indices if keepdim else np.expand_dims(indices, dim)
    pos = np.arange(self_shape[dim]).reshape((-1,) + (1,) * (len(self_shape) - dim - 1))
    return _wrap((pos == idx).astype(dtype))


def _extreme_backward(grad: Tensor, self: Tensor, result: Tensor) -> Tensor:
    # torch splits the gradient evenly between tied extremes; a NaN extreme is tied with
    # every NaN of the input (evenly_distribute_backward).
    mask = ops.eq(self, result)
    if np.isnan(result._data).any():
        mask = _wrap(mask._data | np.isnan(self._data))
    return ops.where(mask, grad / int(mask._data.sum()), 0.0)


def _extreme_dim_backward(
    grad: Tensor, self_shape: tuple[int, ...], dim: int, keepdim: bool, indices: np.ndarray
) -> Tensor:
    g = grad if keepdim else ops.unsqueeze(grad, dim)
    return g * _onehot(self_shape, dim, indices, keepdim, grad._data.dtype)


def _matmul_self(grad: Tensor, other: Tensor) -> Tensor:
    return ops.matmul(grad, ops.transpose(other, -1, -2))


def _matmul_other(grad: Tensor, self: Tensor) -> Tensor:
    return ops.matmul(ops.transpose(self, -1, -2), grad)


def _linear_weight(grad: Tensor, input: Tensor) -> Tensor:
    g, x = grad, input
    if g.ndim != 2:
        g = g.reshape(-1, g.shape[-1])
        x = x.reshape(-1, x.shape[-1])
    return g.T @ x


def _bce_self(grad: Tensor, self: Tensor, target: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    eps = 1e-12
    if not GRAD_MODE.enabled:
        # Same formula in numpy: the loss sits on every training step's hot path.
        x = self._data
        g = (x - target._data) / np.maximum((1 - x) * x, eps)
        g *= grad._data
        if weight is not None:
            g *= weight._data
        if reduction == "mean":
            g /= x.size
        return _wrap(g)
    g = grad * (self - target) / ops.clamp_min((1 - self) * self, eps)
    if weight is not None:
        g = g * weight
    return g / self._data.size if reduction == "mean" else g


def _bce_target(grad: Tensor, self: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    g = grad * (ops.clamp_min(ops.log1p(-self), -100) - ops.clamp_min(ops.log(self), -100))
    if weight is not None:
        g = g * weight
    return g / self._data.size if reduction == "mean" else g


def _mse(grad: Tensor, self: Tensor, target: Tensor, reduction: str) -> Tensor:
    g = 2 * grad * (self - target)
    return g / _count(self.shape) if reduction == "mean" else g


def _nll_self(grad: Tensor, self: Tensor, target: np.ndarray, weights: np.ndarray, reduction: str) -> Tensor:
    x = self._data
    n, c = (x.shape[0], x.shape[1]) if x.ndim > 1 else (1, x.shape[0])
    coef = np.zeros((n, c), dtype=x.dtype)
    coef[np.arange(n), target] = -weights
    if reduction == "mean":
        coef /= weights.sum()
    if reduction == "none" and x.ndim > 1:
        grad = ops.unsqueeze(grad, 1)
    return grad * _wrap(coef.reshape(x.shape))


def _threshold_backward(result: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """result <= 0 ? +0.0 : grad, exactly (signed zeros, inf and NaN gradients kept as they are)."""
    if grad.size < ops.LARGE or grad.dtype.kind != "f" or grad.shape != result.shape:
        return np.where(result <= 0, grad.dtype.type(0), grad)
    # The lean path, bit for bit the same: an all-ones mask where the gradient passes, ANDed
    # into the gradient's bits, in one buffer (where() is 10x slower, and grad * mask turns an
    # infinite gradient into NaN and a negative one into -0.0).
    bits = np.dtype(f"u{grad.dtype.itemsize}")
    mask = np.less_equal(result, 0).view(np.uint8).astype(bits)  # 1 where the gradient stops
    np.subtract(mask, 1, out=mask)  # ...now 0 there, and all ones where it passes
    np.bitwise_and(grad.view(bits), mask, out=mask)
    return mask.view(grad.dtype)


def _where_positive(result: Any, grad: Any) -> Any:
    # torch's threshold_backward: exactly 0 where the output is <= 0, else the gradient (not
    # grad * mask, which turns an infinite gradient into NaN; and a NaN output, which is not
    # <= 0, passes its gradient on, as in torch).
    # With create_graph it is one node reading both, as torch's threshold_backward is, so
    # the gradient requires grad through ``result`` as well.
    if isinstance(grad, np.ndarray):
        return _threshold_backward(result, grad)
    g, r = grad._data, result._data
    out = _threshold_backward(r, g)
    if GRAD_MODE.enabled and (grad._rg or result._rg):
        return ops.record("threshold_backward", out, (grad, result))
    return _wrap(out)


def zeros_of(grad: Any) -> Any:
    """A constant zero gradient shaped like ``grad`` (torch's zeros_like: no NaN from inf * 0)."""
    if isinstance(grad, np.ndarray):
        return np.zeros_like(grad)
    return _wrap(np.zeros_like(grad._data))


def _pow_self(grad: Tensor, self: Tensor, exponent: Any) -> Tensor:
    # torch's pow_backward: zero for a zero exponent, else k * x^(k-1).
    if exponent == 0:
        return zeros_of(grad)
    return grad * (exponent * ops.pow(self, exponent - 1))


def _pow_tensor_self(grad: Tensor, self: Tensor, exponent: Tensor) -> Tensor:
    # torch's pow_backward_self: where(exponent == 0, 0, grad * y * x^(y-1)).
    return ops.where(ops.eq(exponent, 0), 0.0, grad * (exponent * ops.pow(self, exponent - 1)))


def _pow_tensor_exponent(grad: Tensor, self: Tensor, exponent: Tensor, result: Tensor) -> Tensor:
    # d(x^y)/dy = x^y log x, taken as 0 where x == 0 and y >= 0 (torch's pow_backward_exponent).
    mask = ops.logical_and(ops.eq(self, 0), ops.ge(exponent, 0))
    return grad * ops.where(mask, 0.0, result * ops.log(self))


def _rpow_exponent(grad: Tensor, exponent: Tensor, result: Tensor, base: Any) -> Tensor:
    # d(b^y)/dy = b^y log b; for b == 0 taken as 0 where y >= 0, as torch does.
    with quiet():
        log_base = float(np.log(np.float64(base)))
    if base == 0:
        return grad * ops.where(ops.ge(exponent, 0), 0.0, result * log_base)
    return grad * (result * log_base)


_cat_offsets_of: list[Any] = [None, ()]  # the last cat's sizes, and their start offsets


def _cat_offsets(sizes: tuple[Any, ...]) -> tuple[int, ...]:
    """Where each part starts along the cat's dim; computed once per node, not once per part
    (which made the backward of a cat of n tensors quadratic in n)."""
    memo = _cat_offsets_of
    if memo[0] is not sizes:
        offsets = []
        start = 0
        for s in sizes:
            offsets.append(start)
            if s is not None:
                start += int(s)
        memo[1] = tuple(offsets)
        memo[0] = sizes
    return memo[1]


def _cat_part(grad: Any, i: int, dim: int, sizes: tuple[Any, ...]) -> Any:
    # An ``arrays`` entry: on a raw array (nothing recorded) the part is a plain NumPy
    # slice; on a tensor (create_graph) it is a recorded narrow.
    raw = type(grad) is np.ndarray
    size = sizes[i]
    if size is None:  # a skipped legacy empty 1-d tensor: an empty gradient
        empty = np.zeros((0,), dtype=grad.dtype if raw else grad._data.dtype)
        return empty if raw else _wrap(empty)
    memo = _cat_offsets_of
    offsets = memo[1] if memo[0] is sizes else _cat_offsets(sizes)
    start = offsets[i]
    if raw:
        return grad[(slice(None),) * dim + (slice(start, start + size),)]
    return ops.narrow(grad, dim, start, size)


def _copy_slices_self(grad: Tensor, keep: np.ndarray, index: np.ndarray) -> Tensor:
    # The base's old value survives outside the view: its gradient there, zero inside.
    return ops.where(_wrap(keep), grad, 0.0)


def _copy_slices_src(grad: Tensor, keep: np.ndarray, index: np.ndarray) -> Tensor:
    # The view's new value: the base gradient at the view's elements.
    return ops.getitem(ops.reshape(grad, -1), index)


# -- the table ---------------------------------------------------------------------------

DERIVATIVES: dict[str, Derivative] = {
    # arithmetic
    "add": Derivative("AddBackward0", arrays=True, self=lambda grad: grad, other=lambda grad: grad),
    "sub": Derivative("SubBackward0", arrays=True, self=lambda grad: grad, other=lambda grad: -grad),
    "rsub": Derivative("RsubBackward1", inputs=("self", "other"), arrays=True, self=lambda grad: -grad),
    "mul": Derivative(
        "MulBackward0",
        arrays=True,
        self=lambda grad, other: grad * other,
        other=lambda grad, self: grad * self,
    ),
    "div": Derivative(
        "DivBackward0",
        arrays=True,
        self=lambda grad, other: grad / other,
        # torch's div_tensor_other_backward: -grad * ((self / other) / other). Not
        # self / (other * other): that rounds differently, overflows sooner, and under
        # create_graph gives other derivatives where other is 0.
        other=lambda grad, self, other: -grad * ((self / other) / other),
    ),
    "rdiv": Derivative(
        "DivBackward0",
        inputs=("self", "other"),
        arrays=True,
        self=lambda grad, self, other: -grad * other / (self * self),
    ),
    "neg": Derivative("NegBackward0", arrays=True, self=lambda grad: -grad),
    "pow": Derivative("PowBackward0", self=_pow_self),
    "pow_tensor": Derivative("PowBackward1", self=_pow_tensor_self, exponent=_pow_tensor_exponent),
    "rpow": Derivative("PowBackward2", inputs=("exponent",), exponent=_rpow_exponent),
    # torch: where(self == other, grad / 2, grad) with the losing side zeroed, so where
    # either is NaN (neither wins) both sides get the whole gradient.
    "maximum": Derivative(
        "MaximumBackward0",
        self=lambda grad, self, other: ops.where(
            ops.eq(self, other), grad / 2, ops.where(ops.lt(self, other), 0.0, grad)
        ),
        other=lambda grad, self, other: ops.where(
            ops.eq(self, other), grad / 2, ops.where(ops.gt(self, other), 0.0, grad)
        ),
    ),
    "minimum": Derivative(
        "MinimumBackward0",
        self=lambda grad, self, other: ops.where(
            ops.eq(self, other), grad / 2, ops.where(ops.gt(self, other), 0.0, grad)
        ),
        other=lambda grad, self, other: ops.where(
            ops.eq(self, other), grad / 2, ops.where(ops.lt(self, other), 0.0, grad)
        ),
    ),
    # elementwise functions
    "exp": Derivative("ExpBackward0", arrays=True, self=lambda grad, result: grad * result),
    "log": Derivative("LogBackward0", arrays=True, self=lambda grad, self: grad / self),
    "log1p": Derivative("Log1PBackward0", arrays=True, self=lambda grad, self: grad / (self + 1)),
    "sqrt": Derivative("SqrtBackward0", arrays=True, self=lambda grad, result: grad / (2 * result)),
    "abs": Derivative("AbsBackward0", self=lambda grad, self: grad * ops.sign(self)),
    "sign": Derivative("SignBackward0", arrays=True, self=zeros_of),
    "reciprocal": Derivative(
        "ReciprocalBackward0", arrays=True, self=lambda grad, result: -grad * result * result
    ),
    "square": Derivative("PowBackward0", arrays=True, self=lambda grad, self: grad * (2 * self)),
    "sigmoid": Derivative(
        "SigmoidBackward0", arrays=True, self=lambda grad, result: grad * (result * (1 - result))
    ),
    "tanh": Derivative("TanhBackward0", arrays=True, self=lambda grad, result: grad * (1 - result * result)),
    "threshold_backward": Derivative(
        "ThresholdBackwardBackward0",
        inputs=("grad_output", "self"),
        grad_output=lambda grad, self: _where_positive(self, grad),
        self=zeros_of,
    ),
    "relu": Derivative("ReluBackward0", arrays=True, self=lambda grad, result: _where_positive(result, grad)),
    "sin": Derivative("SinBackward0", self=lambda grad, self: grad * ops.cos(self)),
    "cos": Derivative("CosBackward0", self=lambda grad, self: -grad * ops.sin(self)),
    "clone": Derivative("CloneBackward0", arrays=True, self=lambda grad: grad),
    "alias": Derivative("AliasBackward0", arrays=True, self=lambda grad: grad),
    "grad_copy": Derivative("CopyBackwards", inputs=("src",), arrays=True, src=lambda grad: grad),
    "to": Derivative("ToCopyBackward0", self=lambda grad, self_dtype: ops.to(grad, self_dtype)),
    "clamp": Derivative(
        "ClampBackward1",
        self=lambda grad, self, min, max: ops.where(
            ops.logical_and(
                ops.ge(self, -np.inf if min is None else min), ops.le(self, np.inf if max is None else max)
            ),
            grad,
            0.0,
        ),
    ),
    "where": Derivative(
        "WhereBackward0",
        inputs=("condition", "self", "other"),
        self=lambda grad, condition: ops.where(condition, grad, 0.0),
        other=lambda grad, condition: ops.where(condition, 0.0, grad),
    ),
    # reductions
    "sum": Derivative("SumBackward0", self=lambda grad, self_shape: ops.expand(grad, self_shape)),
    "sum_dim": Derivative(
        "SumBackward1",
        self=lambda grad, self_shape, dim, keepdim: expand_reduced(grad, self_shape, dim, keepdim),
    ),
    "mean": Derivative(
        "MeanBackward0", self=lambda grad, self_shape: ops.expand(grad, self_shape) / _count(self_shape)
    ),
    "mean_dim": Derivative(
        "MeanBackward1",
        self=lambda grad, self_shape, dim, keepdim: (
            expand_reduced(grad, self_shape, dim, keepdim) / _count(self_shape, dim)
        ),
    ),
    "max": Derivative("MaxBackward1", self=_extreme_backward),
    "min": Derivative("MinBackward1", self=_extreme_backward),
    "max_dim": Derivative("MaxBackward0", self=_extreme_dim_backward),
    "min_dim": Derivative("MinBackward0", self=_extreme_dim_backward),
    # linear algebra
    "mm": Derivative("MmBackward0", self=_matmul_self, other=_matmul_other),
    "matmul": Derivative("MatmulBackward0", self=_matmul_self, other=_matmul_other),
    "dot": Derivative(
        "DotBackward0",
        arrays=True,
        self=lambda grad, other: grad * other,
        other=lambda grad, self: grad * self,
    ),
    "mv": Derivative(
        "MvBackward0",
        self=lambda grad, other: ops.unsqueeze(grad, -1) * other,
        other=lambda grad, self: ops.matmul(ops.t(self), grad),
    ),
    "vm": Derivative(
        "MmBackward0",
        self=lambda grad, other: ops.matmul(other, grad),
        other=lambda grad, self: ops.unsqueeze(self, -1) * grad,
    ),
    "linear": Derivative(
        "AddmmBackward0",
        arrays=True,
        input=lambda grad, weight: grad @ weight,
        weight=_linear_weight,
        bias=lambda grad: grad,
    ),
    # shape
    "reshape": Derivative(
        "ViewBackward0", arrays=True, self=lambda grad, self_shape: grad.reshape(self_shape)
    ),
    "reshape_alias": Derivative(
        "ReshapeAliasBackward0", arrays=True, self=lambda grad, self_shape: grad.reshape(self_shape)
    ),
    "reshape_copy": Derivative(
        "UnsafeViewBackward0", arrays=True, self=lambda grad, self_shape: grad.reshape(self_shape)
    ),
    "transpose": Derivative(
        "TransposeBackward0", self=lambda grad, dim0, dim1: ops.transpose(grad, dim0, dim1)
    ),
    "t": Derivative("TBackward0", self=lambda grad: ops.t(grad)),
    "permute": Derivative(
        "PermuteBackward0", self=lambda grad, dims: ops.permute(grad, tuple(np.argsort(dims)))
    ),
    "squeeze": Derivative(
        "SqueezeBackward0", arrays=True, self=lambda grad, self_shape: grad.reshape(self_shape)
    ),
    "squeeze_dim": Derivative(
        "SqueezeBackward1", arrays=True, self=lambda grad, self_shape: grad.reshape(self_shape)
    ),
    "unsqueeze": Derivative("UnsqueezeBackward0", self=lambda grad, dim: ops.squeeze(grad, dim)),
    "expand": Derivative("ExpandBackward0", self=lambda grad, self_shape: sum_to_shape(grad, self_shape)),
    "cat": Derivative(
        "CatBackward0",
        variadic=True,
        arrays=True,
        tensors=_cat_part,
    ),
    "stack": Derivative(
        "StackBackward0", variadic=True, tensors=lambda grad, i, dim: ops.select(grad, dim, i)
    ),
    # indexing
    "select": Derivative(
        "SelectBackward0", self=lambda grad, self_shape, key: ops.index_backward(grad, self_shape, key)
    ),
    "slice": Derivative(
        "SliceBackward0", self=lambda grad, self_shape, key: ops.index_backward(grad, self_shape, key)
    ),
    "index": Derivative(
        "IndexBackward0", self=lambda grad, self_shape, key: ops.index_backward(grad, self_shape, key)
    ),
    "index_backward": Derivative("IndexBackwardBackward0", input=lambda grad, key: ops.getitem(grad, key)),
    "index_put": Derivative(
        "IndexPutBackward0",
        self=lambda grad, key: _index_put_self(grad, key),
        values=lambda grad, key: ops.getitem(grad, key),
    ),
    "copy": Derivative("CopyBackwards", arrays=True, self=zeros_of, src=lambda grad: grad),
    "zero": Derivative("ZeroBackward0", arrays=True, self=zeros_of),
    "fill": Derivative("FillBackward0", arrays=True, self=zeros_of),
    "copy_slices": Derivative(
        "CopySlices", inputs=("self", "src"), self=_copy_slices_self, src=_copy_slices_src
    ),
    # softmax family and losses
    "softmax": Derivative(
        "SoftmaxBackward0",
        self=lambda grad, result, dim: result * (grad - ops.sum(grad * result, dim, keepdim=True)),
    ),
    "log_softmax": Derivative(
        "LogSoftmaxBackward0",
        self=lambda grad, result, dim: grad - ops.exp(result) * ops.sum(grad, dim, keepdim=True),
    ),
    "binary_cross_entropy": Derivative(
        "BinaryCrossEntropyBackward0", inputs=("self", "target", "weight"), self=_bce_self, target=_bce_target
    ),
    "mse_loss": Derivative(
        "MseLossBackward0",
        arrays=True,
        self=_mse,
        target=lambda grad, self, target, reduction: -_mse(grad, self, target, reduction),
    ),
    "nll_loss": Derivative("NllLossBackward0", self=_nll_self),
}


def _index_put_self(grad: Tensor, key: Any) -> Tensor:
    """The overwritten positions get no gradient."""
    mask = np.ones(grad._data.shape, dtype=grad._data.dtype)
    mask[key] = 0
    return grad * _wrap(mask)


@contextmanager
def patched(op: str, node: str | None = None, **formulas: Formula) -> Iterator[Derivative]:
    """Temporarily replace formulas of one entry (for mutant engines and tests).

    Formulas not given keep their current definition; the entry is restored on exit.
    """
    old = DERIVATIVES[op]
    merged = dict(old.formulas)
    merged.update(formulas)
    new = Derivative(node or old.node, inputs=old.inputs, variadic=old.variadic, **merged)
    DERIVATIVES[op] = new
    try:
        yield new
    finally:
        DERIVATIVES[op] = old
