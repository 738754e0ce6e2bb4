"""Claims of the note's section "Auto Gradient › grad()": derivatives returned, not accumulated."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradspec.spec.claims import Level, claim
from gradspec.spec.expect import expect_equal, expect_none, expect_values

BASICS = "Auto Gradient › grad() › Basics"
MULTIPLE = "Auto Gradient › grad() › Multiple x(s) and y(s)"

SIGNATURE_ERRATUM = (
    "The note lists the keyword as 'retain-graph', which is not valid Python; the "
    "parameter is retain_graph (and the signature also has allow_unused)."
)


@claim(
    "grad.first-derivative",
    statement="autograd.grad of y = x² at x = 3 returns a one-element tuple holding dy/dx = 2x = 6.",
    section=BASICS,
    needs=("graph", "autograd.grad"),
    erratum=SIGNATURE_ERRATUM,
)
def first_derivative(T: Any) -> None:
    x = T.tensor([3.0], requires_grad=True)
    grads = T.autograd.grad(T.pow(x, 2), x)
    expect_equal(len(grads), 1, "number of gradients returned for one input")
    expect_values(grads[0], [6.0], "dy/dx")


@claim(
    "grad.second-derivative",
    statement="With create_graph=True the first derivative 2x carries a graph, and differentiating it again gives d²y/dx² = 2.",
    section=BASICS,
    needs=("graph", "autograd.grad", "create_graph"),
)
def second_derivative(T: Any) -> None:
    x = T.tensor([3.0], requires_grad=True)
    (dy_dx,) = T.autograd.grad(T.pow(x, 2), x, create_graph=True)
    expect_equal(dy_dx.requires_grad, True, "dy/dx.requires_grad with create_graph=True")
    (d2y_dx2,) = T.autograd.grad(dy_dx, x)
    expect_values(d2y_dx2, [2.0], "d²y/dx²")


@claim(
    "grad.first-derivative-node",
    statement="In PyTorch the first derivative of x² built with create_graph=True is produced by a MulBackward0 node.",
    section=BASICS,
    level=Level.PYTORCH,
    needs=("graph", "autograd.grad", "create_graph", "grad_fn"),
)
def first_derivative_node(T: Any) -> None:
    x = T.tensor([3.0], requires_grad=True)
    (dy_dx,) = T.autograd.grad(T.pow(x, 2), x, create_graph=True)
    expect_equal(type(dy_dx.grad_fn).__name__, "MulBackward0", "grad_fn class of dy/dx")


POW_ZERO_EXPONENT_ERRATUM = (
    "Differentiating a derivative gives the mathematical second derivative only where "
    "PyTorch's derivative formula is itself smooth. pow_backward masks d(x**y)/dx to 0 "
    "wherever the tensor exponent y is exactly 0, and the mask has no derivative, so at "
    "y = 0 d/dy of dz/dx is 0 where mathematics (and finite differences) give "
    "x**(y-1) · (1 + y·log x) = 1/x; the other order, d/dx of dz/dy = x**y · log x, is the "
    "mathematical 1/x. docs/findings.md has the details."
)


@claim(
    "grad.pow-mixed-second-derivative-at-zero-exponent",
    statement="In PyTorch, for z = x ** y with a tensor exponent at x = 2, y = 0, autograd.grad with create_graph=True gives dz/dx = 0 and dz/dy = log 2; differentiating dz/dx with respect to y then gives 0 (the exponent-0 mask of pow_backward has no derivative), while differentiating dz/dy with respect to x gives 1/x = 0.5.",
    section=BASICS,
    level=Level.PYTORCH,
    needs=("graph", "autograd.grad", "create_graph"),
    erratum=POW_ZERO_EXPONENT_ERRATUM,
)
def pow_mixed_second_derivative_at_zero_exponent(T: Any) -> None:
    """PyTorch's mixed second derivative of x ** y at y = 0 depends on the order.

    Mathematics gives 1/x = 0.5 for both orders (mixed partials of a smooth function
    agree); PyTorch gives 0 for d/dy (dz/dx), because its pow_backward computes
    where(y == 0, 0, grad · y · x**(y-1)). The spec records what PyTorch does, and the
    second-derivative property does not draw this point (spec/prop_gradients.py).
    """
    x = T.tensor([2.0], requires_grad=True)
    y = T.tensor([0.0], requires_grad=True)
    (dz_dx,) = T.autograd.grad(x**y, x, create_graph=True)
    expect_values(dz_dx, [0.0], "dz/dx = y · x**(y-1) at y = 0")
    (d2z_dydx,) = T.autograd.grad(dz_dx, y)
    expect_values(d2z_dydx, [0.0], "d/dy of dz/dx at y = 0 (mathematics: 1/x = 0.5)")
    x = T.tensor([2.0], requires_grad=True)
    y = T.tensor([0.0], requires_grad=True)
    (dz_dy,) = T.autograd.grad(x**y, y, create_graph=True)
    expect_values(dz_dy, [float(np.log(2.0))], "dz/dy = x**y · log x at y = 0")
    (d2z_dxdy,) = T.autograd.grad(dz_dy, x)
    expect_values(d2z_dxdy, [0.5], "d/dx of dz/dy at y = 0 (1/x, as in mathematics)")


@claim(
    "grad.multiple-inputs",
    statement="Asking for several inputs returns one gradient per input: for y1 = x1·x2 at (1, 2), (dy1/dx1, dy1/dx2) = (2, 1).",
    section=MULTIPLE,
    needs=("graph", "autograd.grad", "tensor.0d"),
)
def multiple_inputs(T: Any) -> None:
    x1 = T.tensor(1.0, requires_grad=True)
    x2 = T.tensor(2.0, requires_grad=True)
    d1, d2 = T.autograd.grad(outputs=x1 * x2, inputs=[x1, x2])
    expect_values(d1, 2.0, "dy1/dx1")
    expect_values(d2, 1.0, "dy1/dx2")


@claim(
    "grad.multiple-outputs-summed",
    statement="Several outputs are summed: for y1 = x1·x2 and y2 = x1 + x2 at (1, 2) the gradients are (2 + 1, 1 + 1) = (3, 2).",
    section=MULTIPLE,
    needs=("graph", "autograd.grad", "tensor.0d"),
)
def multiple_outputs_summed(T: Any) -> None:
    x1 = T.tensor(1.0, requires_grad=True)
    x2 = T.tensor(2.0, requires_grad=True)
    y1 = x1 * x2
    y2 = x1 + x2
    d1, d2 = T.autograd.grad(outputs=[y1, y2], inputs=[x1, x2])
    expect_values(d1, 3.0, "d(y1 + y2)/dx1")
    expect_values(d2, 2.0, "d(y1 + y2)/dx2")


@claim(
    "grad.leaves-grad-untouched",
    statement="autograd.grad returns gradients without accumulating them into the inputs' .grad, which stays None.",
    section=MULTIPLE,
    needs=("graph", "autograd.grad", "tensor.0d"),
)
def leaves_grad_untouched(T: Any) -> None:
    x1 = T.tensor(1.0, requires_grad=True)
    x2 = T.tensor(2.0, requires_grad=True)
    y1 = x1 * x2
    T.autograd.grad(outputs=y1, inputs=[x1, x2], retain_graph=True)
    expect_none(x1.grad, "x1.grad after autograd.grad")
    expect_none(x2.grad, "x2.grad after autograd.grad")
    # The retained graph still backpropagates normally afterwards.
    y1.backward()
    expect_values(x1.grad, 2.0, "x1.grad after a later backward")
