"""For each narrow mutant, a program that exposes it and one that must not.

A *witness* is a short program, in the torch-compatible API, on which the
mutant and the reference engine disagree: the smallest input that reaches the
mutant's condition. A *control* runs the same op with the condition off (same
shapes instead of broadcasting, float32 instead of float64, a positive operand,
a contiguous one ...), where the mutant must still agree with the reference.
Together they prove a mutant is as narrow as its description says, and the
witness is what a suite's strategies have to be able to draw to kill it (the
zoo's survivors report prints it).

Each program binds ``out``: a list of plain values (gradients as lists, dtype
names, flags), compared for equality up to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Witness:
    """The program that kills a mutant and the control it must pass."""

    witness: str
    control: str

    def run(self, T: Any, which: str = "witness") -> list[Any]:
        env: dict[str, Any] = {"T": T}
        exec(getattr(self, which), env)  # noqa: S102 - the programs are this module's constants
        return env["out"]


def same(a: list[Any], b: list[Any]) -> bool:
    """Equal outcomes: numbers within float rounding, everything else exactly."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, str) or isinstance(y, str) or isinstance(x, bool) or x is None or y is None:
            if x != y:
                return False
        elif not np.allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float), rtol=1e-5, atol=1e-6):
            return False
    return True


_A = "a = T.tensor([[1., 2., 3.], [-4., 5., 0.5]], dtype=T.float64, requires_grad=True)\n"
_C = "c = T.tensor([[1., -1., 2.], [3., 0.5, -2.]], dtype=T.float64)\n"
_ROW = "b = T.tensor([[0.5, -2., 3.]], dtype=T.float64, requires_grad=True)\n"
_FULL = "b = T.tensor([[0.5, -2., 3.], [1.5, 2., -1.]], dtype=T.float64, requires_grad=True)\n"
_POS = "b = T.tensor([[0.5, 2., 3.], [1.5, 2., 1.]], dtype=T.float64, requires_grad=True)\n"
_CUBE = "loss = ((a ** 3) * c).sum()\nloss.backward()\nout = [a.grad.tolist()]\n"
_GRADS = "loss.backward()\nout = [a.grad.tolist(), b.grad.tolist()]\n"


def _pair(setup_witness: str, setup_control: str, expr: str) -> Witness:
    """Witness and control that differ only in how ``a`` and ``b`` are made."""
    loss = f"loss = (({expr}) * c).sum()\n"
    return Witness(setup_witness + _C + loss + _GRADS, setup_control + _C + loss + _GRADS)


def _in_float32(w: Witness) -> Witness:
    """The witness as is, and as control the same program in float32."""
    return Witness(w.witness, w.control.replace("float64", "float32"))


WITNESSES: dict[str, Witness] = {
    # broadcasting, one op at a time: a (2, 3) against a (1, 3) row; control: (2, 3) against (2, 3)
    "add-broadcast-grad-averaged": _pair(_A + _ROW, _A + _FULL, "a + b"),
    "sub-broadcast-grad-first-slice": _pair(_A + _ROW, _A + _FULL, "a - b"),
    "mul-broadcast-grad-averaged": _pair(_A + _ROW, _A + _FULL, "a * b"),
    "div-broadcast-denominator-grad-averaged": _pair(_A + _ROW, _A + _FULL, "a / b"),
    "mul-0d-operand-grad-first-element": _pair(
        _A + "b = T.tensor(1.5, dtype=T.float64, requires_grad=True)\n",
        _A + "b = T.tensor([[1.5]], dtype=T.float64, requires_grad=True)\n",
        "a * b",
    ),
    # the second operand: control differentiates the first operand only
    "mul-other-grad-drops-first-operand": Witness(
        _A + _FULL + _C + "loss = ((a * b) * c).sum()\n" + _GRADS,
        _A
        + _FULL.replace(", requires_grad=True", "")
        + _C
        + "loss = ((a * b) * c).sum()\nloss.backward()\nout = [a.grad.tolist()]\n",
    ),
    "matmul-other-grad-untransposed": Witness(
        "a = T.tensor([[1., 2.], [3., 4.]], dtype=T.float64, requires_grad=True)\n"
        "b = T.tensor([[0.5, -1.], [2., 1.5]], dtype=T.float64, requires_grad=True)\n"
        "loss = ((a @ b) * T.tensor([[1., -1.], [2., 3.]], dtype=T.float64)).sum()\n" + _GRADS,
        "a = T.tensor([[1., 2.], [3., 4.]], dtype=T.float64, requires_grad=True)\n"
        "b = T.tensor([[0.5, -1.], [2., 1.5]], dtype=T.float64)\n"
        "loss = ((a @ b) * T.tensor([[1., -1.], [2., 3.]], dtype=T.float64)).sum()\n"
        "loss.backward()\nout = [a.grad.tolist()]\n",
    ),
    "pow-exponent-grad-missing-log": Witness(
        "a = T.tensor([1.5, 2., 3.], dtype=T.float64, requires_grad=True)\n"
        "b = T.tensor([2., 0.5, -1.], dtype=T.float64, requires_grad=True)\n"
        "loss = (a ** b).sum()\n" + _GRADS,
        "a = T.tensor([1.5, 2., 3.], dtype=T.float64, requires_grad=True)\n"
        "b = T.tensor([2., 0.5, -1.], dtype=T.float64)\n"
        "loss = (a ** b).sum() + (a ** 2.).sum()\nloss.backward()\nout = [a.grad.tolist()]\n",
    ),
    # negative operands: control has positive ones only
    "mul-grad-abs-of-negative-operand": Witness(
        _A + _FULL + "loss = (a * b).sum()\n" + _GRADS,
        _A.replace("-4.", "4.") + _POS + "loss = (a * b).sum()\n" + _GRADS,
    ),
    "div-grad-abs-of-negative-denominator": _pair(_A + _FULL, _A + _POS, "a / b"),
    # float64: control is the same program in float32
    "add-float64-other-grad-zero": _in_float32(_pair(_A + _FULL, _A + _FULL, "a + b")),
    "div-float64-denominator-grad-sign": _in_float32(_pair(_A + _FULL, _A + _FULL, "a / b")),
    "pow-float64-exponent-not-decremented": _in_float32(Witness(_A + _C + _CUBE, _A + _C + _CUBE)),
    # 0-d tensors: control uses one-element 1-d tensors
    "sub-0d-other-grad-unnegated": Witness(
        "a = T.tensor(2., dtype=T.float64, requires_grad=True)\n"
        "b = T.tensor(0.5, dtype=T.float64, requires_grad=True)\n"
        "loss = (a - b) * 3.\n" + _GRADS,
        "a = T.tensor([2.], dtype=T.float64, requires_grad=True)\n"
        "b = T.tensor([0.5], dtype=T.float64, requires_grad=True)\n"
        "loss = ((a - b) * 3.).sum()\n" + _GRADS,
    ),
    "pow-0d-grad-zero": Witness(
        "a = T.tensor(1.5, dtype=T.float64, requires_grad=True)\n"
        "loss = a ** 3\nloss.backward()\nout = [a.grad.tolist()]\n",
        "a = T.tensor([1.5], dtype=T.float64, requires_grad=True)\n"
        "loss = (a ** 3).sum()\nloss.backward()\nout = [a.grad.tolist()]\n",
    ),
    # through a transposed view: control multiplies by a contiguous copy of the same values
    "mul-grad-reads-transposed-view-in-memory-order": Witness(
        _A
        + "w = T.tensor([[1., 2.], [3., -4.], [0.5, 6.]], dtype=T.float64, requires_grad=True)\n"
        + _C
        + "b = w.t()\nloss = ((a * b) * c).sum()\nloss.backward()\n"
        "out = [a.grad.tolist(), w.grad.tolist()]\n",
        _A
        + "w = T.tensor([[1., 3., 0.5], [2., -4., 6.]], dtype=T.float64, requires_grad=True)\n"
        + _C
        + "loss = ((a * w) * c).sum()\nloss.backward()\n"
        "out = [a.grad.tolist(), w.grad.t().tolist()]\n",
    ),
    "matmul-grad-reads-transposed-view-in-memory-order": Witness(
        _A + "w = T.tensor([[1., 2., 3.], [-4., 0.5, 6.]], dtype=T.float64, requires_grad=True)\n"
        "loss = ((a @ w.t()) * T.tensor([[1., -1.], [2., 3.]], dtype=T.float64)).sum()\n"
        "loss.backward()\nout = [a.grad.tolist(), w.grad.tolist()]\n",
        _A + "w = T.tensor([[1., -4.], [2., 0.5], [3., 6.]], dtype=T.float64, requires_grad=True)\n"
        "loss = ((a @ w) * T.tensor([[1., -1.], [2., 3.]], dtype=T.float64)).sum()\n"
        "loss.backward()\nout = [a.grad.tolist(), w.grad.t().tolist()]\n",
    ),
    # in-place: control does the same arithmetic out of place
    "inplace-mul-non-leaf-unrecorded": Witness(
        "w = T.tensor([1.], requires_grad=True)\ny = w * 3\ny.mul_(2)\ny.sum().backward()\n"
        "out = [w.grad.tolist()]\n",
        "w = T.tensor([1.], requires_grad=True)\ny = w * 3\ny.add_(2)\ny.sum().backward()\n"
        "out = [w.grad.tolist()]\n",
    ),
    "inplace-on-view-unrecorded": Witness(
        "w = T.tensor([1., 2.], requires_grad=True)\ny = w * 3\nv = y.unsqueeze(0)\nv.mul_(2)\n"
        "(v * v).sum().backward()\nout = [w.grad.tolist()]\n",
        "w = T.tensor([1., 2.], requires_grad=True)\ny = w * 3\nv = y.unsqueeze(0)\nv = v * 2\n"
        "(v * v).sum().backward()\nout = [w.grad.tolist()]\n",
    ),
    # what .grad is: control runs a program where the bug has nothing to change
    "grad-shared-between-leaves": Witness(
        "x = T.tensor([1., 2.], requires_grad=True)\nw = T.tensor([3., 4.], requires_grad=True)\n"
        "(x + w).sum().backward()\nx.grad.zero_()\nout = [x.grad is w.grad, w.grad.tolist()]\n",
        "x = T.tensor([1., 2.], requires_grad=True)\nw = T.tensor([3., 4.], requires_grad=True)\n"
        "(x * w).sum().backward()\nx.grad.zero_()\nout = [x.grad is w.grad, w.grad.tolist()]\n",
    ),
    "grad-requires-grad": Witness(
        "w = T.tensor([1., 2.], requires_grad=True)\n(w * w).sum().backward()\n"
        "out = [w.grad.requires_grad, w.grad.tolist()]\n",
        "w = T.tensor([1., 2.], requires_grad=True)\ng, = T.autograd.grad((w * w).sum(), w)\n"
        "out = [g.requires_grad, g.tolist()]\n",
    ),
    "grad-dtype-float64": Witness(
        "w = T.tensor([1., 2.], requires_grad=True)\n(w * w).sum().backward()\n"
        "out = [str(w.grad.dtype), w.grad.tolist()]\n",
        "w = T.tensor([1., 2.], dtype=T.float64, requires_grad=True)\n(w * w).sum().backward()\n"
        "out = [str(w.grad.dtype), w.grad.tolist()]\n",
    ),
    # losses: control uses inputs where the wrong count happens to be the right one
    "mse-mean-over-batch": Witness(
        "x = T.tensor([[0.1, 0.5], [0.9, -0.3], [0.2, 0.4]], requires_grad=True)\n"
        "loss = T.nn.MSELoss()(x, T.zeros(3, 2))\nloss.backward()\n"
        "out = [loss.item(), x.grad.tolist()]\n",
        "x = T.tensor([0.1, 0.5, 0.9], requires_grad=True)\n"
        "loss = T.nn.MSELoss()(x, T.zeros(3))\nloss.backward()\nout = [loss.item(), x.grad.tolist()]\n",
    ),
    "cross-entropy-mean-over-all-elements": Witness(
        "x = T.tensor([[0.1, 0.5, -1.], [0.9, -0.3, 2.]], requires_grad=True)\n"
        "loss = T.nn.CrossEntropyLoss()(x, T.tensor([2, 0]))\nloss.backward()\n"
        "out = [loss.item(), x.grad.tolist()]\n",
        "x = T.tensor([[0.1, 0.5, -1.], [0.9, -0.3, 2.]], requires_grad=True)\n"
        "loss = T.nn.CrossEntropyLoss(reduction='sum')(x, T.tensor([2, 0]))\nloss.backward()\n"
        "out = [loss.item(), x.grad.tolist()]\n",
    ),
}
