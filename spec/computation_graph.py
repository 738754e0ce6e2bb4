"""Claims of the note's section "Computation Graph": the example, is_leaf, grad_fn, dynamic graphs."""

from __future__ import annotations

import warnings
from typing import Any

from gradspec.spec.claims import Level, claim
from gradspec.spec.examples import note_graph
from gradspec.spec.expect import expect_equal, expect_none, expect_values

EXAMPLE = "Computation Graph › From an example"
IS_LEAF = "Computation Graph › Properties › is_leaf"
GRAD_FN = "Computation Graph › Properties › grad_fn"
DYNAMIC = "Computation Graph › Dynamic v.s. Static"


@claim(
    "graph.value",
    statement="y = (x + w)(w + 1) at w = 1, x = 2 is 6, readable as soon as the expression is written, with no separate build-then-run step.",
    section=EXAMPLE,
)
def graph_value(T: Any) -> None:
    g = note_graph(T)
    expect_values(g.y, [6.0], "y")


@claim(
    "graph.dy-dw",
    statement="Backpropagating y = (x + w)(w + 1) at w = 1, x = 2 gives dy/dw = 2w + x + 1 = 5 and dy/dx = w + 1 = 2.",
    section=EXAMPLE,
)
def graph_dy_dw(T: Any) -> None:
    g = note_graph(T)
    g.y.backward()
    expect_values(g.w.grad, [5.0], "w.grad")
    expect_values(g.x.grad, [2.0], "x.grad")


@claim(
    "graph.is-leaf",
    statement="Tensors the user creates (w, x) are leaves; results of operations on them (a, b, y) are not.",
    section=IS_LEAF,
)
def graph_is_leaf(T: Any) -> None:
    g = note_graph(T)
    got = [g.w.is_leaf, g.x.is_leaf, g.a.is_leaf, g.b.is_leaf, g.y.is_leaf]
    expect_equal(got, [True, True, False, False, False], "is_leaf of w, x, a, b, y")


@claim(
    "graph.is-leaf-without-grad",
    statement="A result computed only from tensors that do not require grad is itself a leaf with no grad_fn.",
    section=IS_LEAF,
    needs=("graph", "grad_fn"),
    erratum=(
        "The note calls leaves 'the nodes created by the user'. PyTorch's rule is wider: "
        "every tensor with requires_grad=False is a leaf, including results of operations "
        "on such tensors; only results that require grad are non-leaves."
    ),
)
def graph_is_leaf_without_grad(T: Any) -> None:
    c = T.tensor([1.0])
    d = T.mul(T.add(c, 1), 3)
    expect_equal(d.is_leaf, True, "is_leaf of a result of tensors that do not require grad")
    expect_none(d.grad_fn, "grad_fn of that result")


@claim(
    "graph.leaf-grads-only",
    statement="After backward only the leaves keep a gradient: w.grad = 5 and x.grad = 2, while a.grad, b.grad and y.grad stay None.",
    section=IS_LEAF,
)
def graph_leaf_grads_only(T: Any) -> None:
    g = note_graph(T)
    g.y.backward()
    expect_values(g.w.grad, [5.0], "w.grad")
    expect_values(g.x.grad, [2.0], "x.grad")
    with warnings.catch_warnings():
        # PyTorch warns when a non-leaf's .grad is read; reading it is the point here.
        warnings.simplefilter("ignore")
        expect_none(g.a.grad, "a.grad")
        expect_none(g.b.grad, "b.grad")
        expect_none(g.y.grad, "y.grad")


@claim(
    "graph.retain-grad",
    statement="retain_grad() on a non-leaf keeps its gradient after backward: a.grad = dy/da = w + 1 = 2, while b.grad and y.grad stay None.",
    section=IS_LEAF,
    needs=("graph", "retain_grad"),
)
def graph_retain_grad(T: Any) -> None:
    g = note_graph(T, retain_a=True)
    g.y.backward()
    expect_values(g.a.grad, [2.0], "a.grad")
    expect_values(g.w.grad, [5.0], "w.grad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expect_none(g.b.grad, "b.grad")
        expect_none(g.y.grad, "y.grad")


@claim(
    "graph.grad-fn",
    statement="grad_fn is None for the leaves w and x and records the producing operation for a, b and y.",
    section=GRAD_FN,
    needs=("graph", "grad_fn"),
)
def graph_grad_fn(T: Any) -> None:
    g = note_graph(T)
    expect_none(g.w.grad_fn, "w.grad_fn")
    expect_none(g.x.grad_fn, "x.grad_fn")
    for name, t in (("a", g.a), ("b", g.b), ("y", g.y)):
        expect_equal(t.grad_fn is not None, True, f"{name}.grad_fn is set")


@claim(
    "graph.grad-fn-names",
    statement="PyTorch names the nodes after the operation: AddBackward0 for a and b, MulBackward0 for y.",
    section=GRAD_FN,
    level=Level.PYTORCH,
    needs=("graph", "grad_fn"),
)
def graph_grad_fn_names(T: Any) -> None:
    g = note_graph(T)
    got = [type(t.grad_fn).__name__ for t in (g.a, g.b, g.y)]
    expect_equal(got, ["AddBackward0", "AddBackward0", "MulBackward0"], "grad_fn class of a, b, y")


@claim(
    "graph.repr",
    statement="Printing y shows its value and node, tensor([6.], grad_fn=<MulBackward0>), as soon as the expression is written.",
    section=DYNAMIC,
    level=Level.PYTORCH,
    needs=("graph", "grad_fn"),
)
def graph_repr(T: Any) -> None:
    g = note_graph(T)
    expect_equal(repr(g.y), "tensor([6.], grad_fn=<MulBackward0>)", "repr(y)")


@claim(
    "graph.dynamic",
    statement="The graph is built while the code runs, so Python control flow decides its shape and backward differentiates the path actually taken.",
    section=DYNAMIC,
)
def graph_dynamic(T: Any) -> None:
    w = T.tensor([1.5], requires_grad=True)
    y = w
    # A data-dependent loop: y = w^k with k chosen from a value read mid-computation.
    k = 0
    while y.item() < 5.0:
        y = T.mul(y, w)
        k += 1
    expect_equal(k, 3, "multiplications taken by the loop (1.5^4 > 5)")
    y.backward()
    expect_values(w.grad, [4 * 1.5**3], "w.grad of w^4")
