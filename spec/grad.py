"""Claims of the note's section "Auto Gradient › grad()": derivatives returned, not accumulated."""

from __future__ import annotations

from typing import Any

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
