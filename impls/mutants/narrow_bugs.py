"""Narrow mutants: one binary op wrong under one condition, every other op and case right.

The mutants in ``rule_bugs`` are wrong wherever their op runs; the ones here
are the bugs that hide. Each touches one entry of the derivative table (add,
sub, mul, div, pow, matmul) and is wrong only when one condition holds: the
operand was broadcast, it is the second operand, it is negative, the dtype is
float64, the tensor is 0-d, or it is a transposed view. A suite that kills
them has to reach that op under that condition, which is what
"the suite exercised every op" claims and rarely proves.

Every patched formula reads the same inputs as the rule it replaces (checked
when the bug is planted), so a mutant never also changes which tensors its op
saves (and with that which in-place programs are legal).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from gradspec.impls.mutants.zoo import mutant, replaced

Condition = Callable[[tuple[int, ...]], bool]

_MARK = "_mutant_broadcast_bug"  # attribute a formula sets on a gradient whose reduction is broken


def _reading_as(original: Any, body: Any) -> Any:
    """A formula with ``original``'s signature whose value is ``body(**those values)``.

    The table decides what an op saves from its formulas' parameter names, so a
    buggy formula must read exactly what the right one reads: then the mutant
    changes a gradient's value and nothing else (not what is saved, nor which
    in-place programs are legal). ``body`` takes the values it needs by name and
    ignores the rest (``**_``).
    """
    signature = inspect.signature(original)
    names = list(signature.parameters)

    def formula(*values: Any) -> Any:
        return body(**dict(zip(names, values, strict=True)))

    formula.__signature__ = signature  # type: ignore[attr-defined]
    return formula


def _saving(rule: Any) -> tuple[Any, ...]:
    return (set(rule.saves), getattr(rule, "save_users", None))


@contextmanager
def _rules(ref: ModuleType, ops: tuple[str, ...], **bodies: Any) -> Iterator[None]:
    """Give each entry of ``ops`` the formulas ``bodies`` (by input name), reading what it read."""
    table = ref.derivatives.DERIVATIVES
    with ExitStack() as stack:
        for op in ops:
            old = table[op]
            formulas = {name: _reading_as(old.formulas[name], body) for name, body in bodies.items()}
            new = stack.enter_context(ref.derivatives.patched(op, **formulas))
            if _saving(new) != _saving(old):
                raise AssertionError(
                    f"mutant of {op!r} would change what it saves: {old.saves} -> {new.saves}"
                )
        yield


def _zeros(ref: ModuleType, grad: Any) -> Any:
    """A zero gradient as the reference makes one (no NaN from inf · 0)."""
    zeros_of = getattr(ref.derivatives, "zeros_of", None)
    return zeros_of(grad) if zeros_of is not None else grad * 0


def _is_f64(t: Any) -> bool:
    return np.asarray(t._data).dtype == np.float64


def _memory_order(ref: ModuleType, t: Any) -> Any:
    """``t``'s elements read in memory order, as a kernel that ignores strides reads them."""
    data = t._data
    if type(data) is not np.ndarray or data.flags.c_contiguous:
        return t
    return ref.core._wrap(np.ravel(data, order="K").reshape(data.shape))


# -- broadcast reductions confined to one op --------------------------------------------


def _broadcast_dims(gshape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    lead = len(gshape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
    )


def _averaged(ref: ModuleType, grad: Any, shape: tuple[int, ...]) -> Any:
    ops = ref.ops
    out = ops.mean(grad, _broadcast_dims(grad._data.shape, shape), keepdim=True)
    return ops.reshape(out, shape) if out._data.shape != shape else out


def _first_slice(ref: ModuleType, grad: Any, shape: tuple[int, ...]) -> Any:
    ops = ref.ops
    dims = set(_broadcast_dims(grad._data.shape, shape))
    key = tuple(slice(0, 1) if d in dims else slice(None) for d in range(grad._data.ndim))
    out = ops.getitem(grad, key)
    return ops.reshape(out, shape) if out._data.shape != shape else out


@contextmanager
def _broadcast_bug(
    ref: ModuleType,
    op: str,
    operands: tuple[str, ...],
    reduce: Callable[[ModuleType, Any, tuple[int, ...]], Any],
    condition: Condition = lambda shape: True,
) -> Iterator[None]:
    """``op``'s gradients for ``operands`` are reduced to a broadcast input's shape by ``reduce``.

    The table's formulas never see broadcasting: the backward pass sums each
    gradient to its input's shape afterwards (``derivatives.sum_to_shape``). To
    break that reduction for one op only, the op's formulas mark the gradients
    they return, and the reduction treats marked gradients differently when
    ``condition`` holds for the input's shape. Same-shape operands never reach
    the reduction, so they stay right.
    """
    ops = ref.ops
    rule = ref.derivatives.DERIVATIVES[op]
    original_sum = ref.derivatives.sum_to_shape

    def marking(formula: Any) -> Any:
        names = list(inspect.signature(formula).parameters)

        def marked(**values: Any) -> Any:
            out = ops.mul(formula(*[values[n] for n in names]), 1)  # a fresh tensor, to carry the mark
            setattr(out, _MARK, True)
            return out

        return marked

    def sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
        if getattr(grad, _MARK, False) and grad._data.shape != shape and condition(shape):
            return reduce(ref, grad, shape)
        return original_sum(grad, shape)

    with (
        _rules(ref, (op,), **{name: marking(rule.formulas[name]) for name in operands}),
        replaced(ref.derivatives, "sum_to_shape", sum_to_shape),
    ):
        yield


@mutant(
    "add-broadcast-grad-averaged",
    bug=(
        "add only: an operand that was broadcast gets its gradient averaged over the broadcast "
        "dims instead of summed; same-shape add and every other op stay right."
    ),
    where="derivatives.DERIVATIVES['add'] (the reduction of its gradients to a broadcast input)",
    narrow=True,
)
def add_broadcast_grad_averaged(ref: ModuleType) -> Any:
    return _broadcast_bug(ref, "add", ("self", "other"), _averaged)


@mutant(
    "sub-broadcast-grad-first-slice",
    bug=(
        "sub only: an operand that was broadcast receives the gradient of the first slice along "
        "each broadcast dim instead of the sum over them."
    ),
    where="derivatives.DERIVATIVES['sub'] (the reduction of its gradients to a broadcast input)",
    narrow=True,
)
def sub_broadcast_grad_first_slice(ref: ModuleType) -> Any:
    return _broadcast_bug(ref, "sub", ("self", "other"), _first_slice)


@mutant(
    "mul-broadcast-grad-averaged",
    bug="mul only: an operand that was broadcast gets its gradient averaged instead of summed.",
    where="derivatives.DERIVATIVES['mul'] (the reduction of its gradients to a broadcast input)",
    narrow=True,
)
def mul_broadcast_grad_averaged(ref: ModuleType) -> Any:
    return _broadcast_bug(ref, "mul", ("self", "other"), _averaged)


@mutant(
    "div-broadcast-denominator-grad-averaged",
    bug=(
        "div only: a broadcast denominator gets its gradient averaged instead of summed "
        "(the numerator is right)."
    ),
    where="derivatives.DERIVATIVES['div'] (the reduction of the denominator's gradient)",
    narrow=True,
)
def div_broadcast_denominator_grad_averaged(ref: ModuleType) -> Any:
    return _broadcast_bug(ref, "div", ("other",), _averaged)


@mutant(
    "mul-0d-operand-grad-first-element",
    bug=(
        "mul only: a 0-d operand multiplied with a larger tensor receives the first element of "
        "its gradient instead of the sum over all elements."
    ),
    where="derivatives.DERIVATIVES['mul'] (the reduction of its gradients to a 0-d input)",
    narrow=True,
)
def mul_0d_operand_grad_first_element(ref: ModuleType) -> Any:
    return _broadcast_bug(ref, "mul", ("self", "other"), _first_slice, condition=lambda shape: shape == ())


# -- the second operand only -------------------------------------------------------------


@mutant(
    "mul-other-grad-drops-first-operand",
    bug=(
        "d(a·b)/db is taken as grad instead of grad·a (as if b were added); the first operand's "
        "gradient is right."
    ),
    where="derivatives.DERIVATIVES['mul'] (other)",
    narrow=True,
)
def mul_other_grad_drops_first_operand(ref: ModuleType) -> Any:
    return _rules(ref, ("mul",), other=lambda grad, **_: grad)


@mutant(
    "matmul-other-grad-untransposed",
    bug=(
        "matmul's gradient for its second input is a @ grad instead of aᵀ @ grad: a shape error "
        "unless a is square, and wrong unless it is symmetric."
    ),
    where="derivatives.DERIVATIVES['mm'] and ['matmul'] (other)",
    narrow=True,
)
def matmul_other_grad_untransposed(ref: ModuleType) -> Any:
    ops = ref.ops
    return _rules(ref, ("mm", "matmul"), other=lambda grad, self, **_: ops.matmul(self, grad))


@mutant(
    "pow-exponent-grad-missing-log",
    bug=(
        "d(a^b)/db is taken as grad·a^b, without the factor log a: wrong for a tensor exponent "
        "(x ** y, 2 ** y) unless the base is e; scalar exponents never see it."
    ),
    where="derivatives.DERIVATIVES['pow_tensor'] and ['rpow'] (exponent)",
    narrow=True,
)
def pow_exponent_grad_missing_log(ref: ModuleType) -> Any:
    stack = ExitStack()
    stack.enter_context(_rules(ref, ("pow_tensor", "rpow"), exponent=lambda grad, result, **_: grad * result))
    return stack


# -- negative operands only --------------------------------------------------------------


@mutant(
    "mul-grad-abs-of-negative-operand",
    bug=(
        "mul's gradients use |b| and |a| in place of b and a: wrong only where the other operand is negative."
    ),
    where="derivatives.DERIVATIVES['mul']",
    narrow=True,
)
def mul_grad_abs_of_negative_operand(ref: ModuleType) -> Any:
    ops = ref.ops
    return _rules(
        ref,
        ("mul",),
        self=lambda grad, other, **_: grad * ops.abs(other),
        other=lambda grad, self, **_: grad * ops.abs(self),
    )


@mutant(
    "div-grad-abs-of-negative-denominator",
    bug="d(a/b)/da is taken as grad/|b|: wrong only where the denominator is negative.",
    where="derivatives.DERIVATIVES['div'] (self)",
    narrow=True,
)
def div_grad_abs_of_negative_denominator(ref: ModuleType) -> Any:
    ops = ref.ops
    return _rules(ref, ("div",), self=lambda grad, other, **_: grad / ops.abs(other))


# -- float64 only --------------------------------------------------------------------------


@mutant(
    "add-float64-other-grad-zero",
    bug=(
        "add's float64 kernel gives its second operand a zero gradient; float32 and the "
        "first operand are right."
    ),
    where="derivatives.DERIVATIVES['add'] (other)",
    narrow=True,
)
def add_float64_other_grad_zero(ref: ModuleType) -> Any:
    return _rules(ref, ("add",), other=lambda grad, **_: grad * 0 if _is_f64(grad) else grad)


@mutant(
    "div-float64-denominator-grad-sign",
    bug="div's float64 kernel gives the denominator +a/b² instead of -a/b²; float32 is right.",
    where="derivatives.DERIVATIVES['div'] (other)",
    narrow=True,
)
def div_float64_denominator_grad_sign(ref: ModuleType) -> Any:
    return _rules(
        ref,
        ("div",),
        other=lambda grad, self, other, **_: (grad if _is_f64(grad) else -grad) * ((self / other) / other),
    )


@mutant(
    "pow-float64-exponent-not-decremented",
    bug="pow's float64 kernel takes d(x^k)/dx as k·x^k instead of k·x^(k-1); float32 is right.",
    where="derivatives.DERIVATIVES['pow'] (self)",
    narrow=True,
)
def pow_float64_exponent_not_decremented(ref: ModuleType) -> Any:
    ops = ref.ops

    def self_rule(grad: Any, self: Any, exponent: Any, **_: Any) -> Any:
        if exponent == 0:
            return _zeros(ref, grad)
        return grad * (exponent * ops.pow(self, exponent if _is_f64(self) else exponent - 1))

    return _rules(ref, ("pow",), self=self_rule)


# -- 0-d tensors only ------------------------------------------------------------------------


@mutant(
    "sub-0d-other-grad-unnegated",
    bug=(
        "sub's 0-d fast path gives the second operand +grad instead of -grad; sub of larger tensors is right."
    ),
    where="derivatives.DERIVATIVES['sub'] (other)",
    narrow=True,
)
def sub_0d_other_grad_unnegated(ref: ModuleType) -> Any:
    return _rules(ref, ("sub",), other=lambda grad, **_: grad if np.ndim(grad._data) == 0 else -grad)


@mutant(
    "pow-0d-grad-zero",
    bug="pow's derivative is 0 for a 0-d base (a scalar fast path that forgets the derivative).",
    where="derivatives.DERIVATIVES['pow'] (self)",
    narrow=True,
)
def pow_0d_grad_zero(ref: ModuleType) -> Any:
    ops = ref.ops

    def self_rule(grad: Any, self: Any, exponent: Any, **_: Any) -> Any:
        if exponent == 0 or np.ndim(self._data) == 0:
            return _zeros(ref, grad)
        return grad * (exponent * ops.pow(self, exponent - 1))

    return _rules(ref, ("pow",), self=self_rule)


# -- through a view only ------------------------------------------------------------------------


@mutant(
    "mul-grad-reads-transposed-view-in-memory-order",
    bug=(
        "mul's backward reads a transposed (non-contiguous) operand in memory order, ignoring its "
        "strides: wrong only when an operand of mul is a transposed view."
    ),
    where="derivatives.DERIVATIVES['mul']",
    narrow=True,
)
def mul_grad_reads_transposed_view_in_memory_order(ref: ModuleType) -> Any:
    return _rules(
        ref,
        ("mul",),
        self=lambda grad, other, **_: grad * _memory_order(ref, other),
        other=lambda grad, self, **_: grad * _memory_order(ref, self),
    )


@mutant(
    "matmul-grad-reads-transposed-view-in-memory-order",
    bug=(
        "matmul's gradient for its first input reads a transposed second input (x @ w.T) in "
        "memory order, ignoring its strides: wrong only when that operand is a transposed view."
    ),
    where="derivatives.DERIVATIVES['mm'] and ['matmul'] (self)",
    narrow=True,
)
def matmul_grad_reads_transposed_view_in_memory_order(ref: ModuleType) -> Any:
    ops = ref.ops
    return _rules(
        ref,
        ("mm", "matmul"),
        self=lambda grad, other, **_: ops.matmul(grad, ops.transpose(_memory_order(ref, other), -1, -2)),
    )
