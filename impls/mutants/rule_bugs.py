"""Mutants with one wrong derivative rule (one entry of the reference's derivative table).

Each is a slip that looks plausible in a table of formulas and that only a
gradient check on the right inputs reveals: some are wrong everywhere, some
only on part of the domain (negative bases) or for some shapes (non-square,
unequal sizes, reductions along a dim).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from gradspec.impls.mutants.zoo import mutant, replaced


def _rule(ref: ModuleType, op: str, **formulas: Any) -> Any:
    return ref.derivatives.patched(op, **formulas)


@mutant(
    "pow-derivative-abs-base",
    bug=(
        "d(x^k)/dx is taken as k·|x|^(k-1) (written to dodge NaN for fractional k), wrong for "
        "negative x with even k - 1, e.g. x**2 at x < 0."
    ),
    where="derivatives.DERIVATIVES['pow']",
)
def pow_derivative_abs_base(ref: ModuleType) -> Any:
    ops = ref.ops
    return _rule(
        ref, "pow", self=lambda grad, self, exponent: grad * (exponent * ops.pow(ops.abs(self), exponent - 1))
    )


@mutant(
    "broadcast-grad-averaged",
    bug="A broadcast input's gradient is averaged over the broadcast dims instead of summed.",
    where="derivatives.sum_to_shape",
)
def broadcast_grad_averaged(ref: ModuleType) -> Any:
    ops = ref.ops

    def sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
        gshape = grad._data.shape
        if gshape == shape:
            return grad
        lead = len(gshape) - len(shape)
        dims = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
        )
        out = ops.mean(grad, dims, keepdim=True) if dims else grad
        return ops.reshape(out, shape) if out._data.shape != shape else out

    return replaced(ref.derivatives, "sum_to_shape", sum_to_shape)


@mutant(
    "mean-dim-wrong-count",
    bug=(
        "mean along a dim divides its gradient by the total number of elements instead of the size "
        "of that dim."
    ),
    where="derivatives.DERIVATIVES['mean_dim']",
)
def mean_dim_wrong_count(ref: ModuleType) -> Any:
    d = ref.derivatives
    return _rule(
        ref,
        "mean_dim",
        self=lambda grad, self_shape, dim, keepdim: (
            d.expand_reduced(grad, self_shape, dim, keepdim) / d._count(self_shape)
        ),
    )


@mutant(
    "matmul-grad-untransposed",
    bug=(
        "matmul's gradient for its first input is grad @ other instead of grad @ otherᵀ: right only"
        " when other is symmetric, a shape error when it is not square."
    ),
    where="derivatives.DERIVATIVES['matmul'] and ['mm']",
)
def matmul_grad_untransposed(ref: ModuleType) -> Any:
    from contextlib import ExitStack

    ops = ref.ops
    stack = ExitStack()
    for op in ("matmul", "mm"):
        stack.enter_context(_rule(ref, op, self=lambda grad, other: ops.matmul(grad, other)))
    return stack


@mutant(
    "sigmoid-derivative-of-input",
    bug="sigmoid's derivative is computed as x(1 - x) from the input instead of s(1 - s) from the output.",
    where="derivatives.DERIVATIVES['sigmoid']",
)
def sigmoid_derivative_of_input(ref: ModuleType) -> Any:
    return _rule(ref, "sigmoid", self=lambda grad, self: grad * (self * (1 - self)))


@mutant(
    "tanh-derivative-unsquared",
    bug="tanh's derivative is taken as 1 - tanh(x) instead of 1 - tanh(x)².",
    where="derivatives.DERIVATIVES['tanh']",
)
def tanh_derivative_unsquared(ref: ModuleType) -> Any:
    return _rule(ref, "tanh", self=lambda grad, result: grad * (1 - result))


@mutant(
    "div-denominator-unsquared",
    bug="The gradient of a / b for b is -a/b instead of -a/b².",
    where="derivatives.DERIVATIVES['div']",
)
def div_denominator_unsquared(ref: ModuleType) -> Any:
    return _rule(ref, "div", other=lambda grad, self, other: -grad * self / other)


@mutant(
    "sub-other-sign",
    bug="The gradient of a - b for b has the wrong sign (+grad).",
    where="derivatives.DERIVATIVES['sub']",
)
def sub_other_sign(ref: ModuleType) -> Any:
    return _rule(ref, "sub", other=lambda grad: grad)


@mutant(
    "exp-derivative-of-input",
    bug="exp's derivative multiplies by the input x instead of the output exp(x).",
    where="derivatives.DERIVATIVES['exp']",
)
def exp_derivative_of_input(ref: ModuleType) -> Any:
    return _rule(ref, "exp", self=lambda grad, self: grad * self)


@mutant(
    "cat-grad-equal-split",
    bug=(
        "cat's backward slices its gradient as if every input had the first input's size along dim:"
        " wrong for cat of unequal sizes."
    ),
    where="derivatives.DERIVATIVES['cat']",
)
def cat_grad_equal_split(ref: ModuleType) -> Any:
    ops = ref.ops
    return _rule(
        ref, "cat", tensors=lambda grad, i, dim, sizes: ops.narrow(grad, dim, i * int(sizes[0]), sizes[i])
    )


@mutant(
    "stack-grad-first-slice",
    bug="stack's backward hands every input the gradient of the first slice.",
    where="derivatives.DERIVATIVES['stack']",
)
def stack_grad_first_slice(ref: ModuleType) -> Any:
    ops = ref.ops
    return _rule(ref, "stack", tensors=lambda grad, i, dim: ops.select(grad, dim, 0))


@mutant(
    "clamp-grad-passes-through",
    bug=(
        "clamp passes the gradient through everywhere, also where the input was clamped (derivative 0 there)."
    ),
    where="derivatives.DERIVATIVES['clamp']",
)
def clamp_grad_passes_through(ref: ModuleType) -> Any:
    return _rule(ref, "clamp", self=lambda grad: grad)
