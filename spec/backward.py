"""Claims of the note's section "Auto Gradient › backward()": retain_graph and grad_tensors."""

from __future__ import annotations

from typing import Any

from gradspec.spec.claims import Level, claim
from gradspec.spec.examples import note_graph, two_output_loss
from gradspec.spec.expect import expect_raises, expect_values

RETAIN_GRAPH = "Auto Gradient › backward() › retain_graph"
GRAD_TENSORS = "Auto Gradient › backward() › grad_tensors"

FREED_GRAPH_ERRATUM = (
    "The note says the whole computation graph is released after backward. What "
    "PyTorch frees are the tensors the nodes saved for the backward pass; a second "
    "backward fails only when it needs one of them (y = a * b saves a and b), while "
    "a graph that saved nothing (y = a + b) can be backpropagated again."
)


@claim(
    "backward.second-call-raises",
    statement="A second backward through a graph whose saved tensors were freed by the first raises RuntimeError.",
    section=RETAIN_GRAPH,
    erratum=FREED_GRAPH_ERRATUM,
)
def second_call_raises(T: Any) -> None:
    g = note_graph(T)
    g.y.backward()
    expect_values(g.w.grad, [5.0], "w.grad after the first backward")
    expect_raises(g.y.backward, "second backward without retain_graph")


@claim(
    "backward.second-call-message",
    statement="PyTorch's error for the second backward says it is 'Trying to backward through the graph a second time'.",
    section=RETAIN_GRAPH,
    level=Level.PYTORCH,
)
def second_call_message(T: Any) -> None:
    g = note_graph(T)
    g.y.backward()
    expect_raises(
        g.y.backward,
        "second backward's message",
        match="Trying to backward through the graph a second time",
    )


@claim(
    "backward.retain-graph",
    statement="With retain_graph=True the graph survives, a second backward works, and w.grad accumulates from 5 to 10.",
    section=RETAIN_GRAPH,
)
def retain_graph(T: Any) -> None:
    g = note_graph(T)
    g.y.backward(retain_graph=True)
    expect_values(g.w.grad, [5.0], "w.grad after the first backward")
    g.y.backward()
    expect_values(g.w.grad, [10.0], "w.grad after the second backward")


@claim(
    "backward.no-saved-tensors",
    statement="A graph that saved no tensors (y = a + b) can be backpropagated twice without retain_graph; w.grad goes 2, then 4.",
    section=RETAIN_GRAPH,
    level=Level.PYTORCH,
    erratum=FREED_GRAPH_ERRATUM,
)
def no_saved_tensors(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    y = T.add(T.add(w, x), T.add(w, 1))
    y.backward()
    expect_values(w.grad, [2.0], "w.grad after the first backward")
    y.backward()
    expect_values(w.grad, [4.0], "w.grad after the second backward")


@claim(
    "backward.non-scalar-needs-gradient",
    statement="backward() on a non-scalar output without a gradient argument raises RuntimeError.",
    section=GRAD_TENSORS,
    needs=("graph", "op.cat"),
)
def non_scalar_needs_gradient(T: Any) -> None:
    _, _, loss = two_output_loss(T)
    expect_raises(loss.backward, "backward() on a 2-element output")


@claim(
    "backward.non-scalar-message",
    statement="PyTorch's error says the gradient 'can be implicitly created only for scalar outputs'.",
    section=GRAD_TENSORS,
    level=Level.PYTORCH,
    erratum="The note quotes the message as '... only for scalar inputs'; PyTorch says 'scalar outputs'.",
    needs=("graph", "op.cat"),
)
def non_scalar_message(T: Any) -> None:
    _, _, loss = two_output_loss(T)
    expect_raises(
        loss.backward,
        "non-scalar backward's message",
        match="grad can be implicitly created only for scalar outputs",
    )


@claim(
    "backward.grad-tensors-ones",
    statement="Weighting the two outputs with [1, 1] gives w.grad = 5 + 1 = 6 and x.grad = 2 + 1 = 3.",
    section=GRAD_TENSORS,
    needs=("graph", "op.cat"),
)
def grad_tensors_ones(T: Any) -> None:
    w, x, loss = two_output_loss(T)
    loss.backward(gradient=T.tensor([1.0, 1.0]))
    expect_values(w.grad, [6.0], "w.grad")
    expect_values(x.grad, [3.0], "x.grad")


GRAD_TENSORS_ERRATUM = (
    "The note applies the weights [1, 1] and then [1, 2] to the same graph and prints "
    "6, then 7. On one graph the second backward raises (its saved tensors were freed); "
    "with retain_graph=True it runs but w.grad accumulates to 6 + 7 = 13. The value 7 "
    "holds for the weights [1, 2] on a fresh graph."
)


@claim(
    "backward.grad-tensors-weights",
    statement="On a fresh graph the weights [1, 2] give w.grad = 5 + 2·1 = 7 and x.grad = 2 + 2·1 = 4.",
    section=GRAD_TENSORS,
    erratum=GRAD_TENSORS_ERRATUM,
    needs=("graph", "op.cat"),
)
def grad_tensors_weights(T: Any) -> None:
    w, x, loss = two_output_loss(T)
    loss.backward(gradient=T.tensor([1.0, 2.0]))
    expect_values(w.grad, [7.0], "w.grad")
    expect_values(x.grad, [4.0], "x.grad")


@claim(
    "backward.grad-tensors-same-graph",
    statement="Applying the second weighting to the same graph raises unless the first backward retained it, and then w.grad accumulates to 13.",
    section=GRAD_TENSORS,
    erratum=GRAD_TENSORS_ERRATUM,
    needs=("graph", "op.cat"),
)
def grad_tensors_same_graph(T: Any) -> None:
    w, _, loss = two_output_loss(T)
    loss.backward(gradient=T.tensor([1.0, 1.0]))
    expect_raises(
        lambda: loss.backward(gradient=T.tensor([1.0, 2.0])),
        "second weighted backward on a freed graph",
    )
    w, _, loss = two_output_loss(T)
    loss.backward(gradient=T.tensor([1.0, 1.0]), retain_graph=True)
    loss.backward(gradient=T.tensor([1.0, 2.0]))
    expect_values(w.grad, [13.0], "w.grad after [1, 1] then [1, 2] on a retained graph")


@claim(
    "backward.functional-form",
    statement="autograd.backward(tensors, grad_tensors) is the functional form of Tensor.backward and gives the same w.grad = 7 for the weights [1, 2].",
    section=GRAD_TENSORS,
    needs=("graph", "autograd.grad", "op.cat"),
)
def functional_form(T: Any) -> None:
    w, x, loss = two_output_loss(T)
    T.autograd.backward(loss, grad_tensors=T.tensor([1.0, 2.0]))
    expect_values(w.grad, [7.0], "w.grad")
    expect_values(x.grad, [4.0], "x.grad")
