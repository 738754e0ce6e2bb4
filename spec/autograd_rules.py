"""Claims of the note's "important matters": accumulation, requires_grad, in-place rules."""

from __future__ import annotations

from typing import Any

from gradspec.spec.claims import Level, claim
from gradspec.spec.examples import note_graph, note_graph_on
from gradspec.spec.expect import (
    expect_equal,
    expect_is,
    expect_raises,
    expect_values,
)

ACCUMULATION = "Auto Gradient › Important matters › gradient accumulation"
REQUIRES_GRAD = "Auto Gradient › Important matters › requires_grad"
IN_PLACE = "Auto Gradient › Important matters › in-place operations"


@claim(
    "rules.accumulate",
    statement="Each backward adds into a leaf's .grad: rebuilding and backpropagating the example four times gives w.grad 5, 10, 15, 20.",
    section=ACCUMULATION,
    erratum=(
        "The note heads this 'Gradient will not be released once retain_graph = True', "
        "but its example never passes retain_graph: it rebuilds the graph each time. "
        "Leaf gradients accumulate whether or not the graph is retained."
    ),
)
def accumulate(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    seen = []
    for _ in range(4):
        note_graph_on(T, w, x).backward()
        seen.append(w.grad.item())
    expect_equal(seen, [5.0, 10.0, 15.0, 20.0], "w.grad after each of four backward calls")


@claim(
    "rules.zero-grad",
    statement="Zeroing w.grad in place after each backward makes every iteration report the fresh gradient 5.",
    section=ACCUMULATION,
    needs=("graph", "in-place"),
)
def zero_grad(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    seen = []
    for _ in range(4):
        note_graph_on(T, w, x).backward()
        seen.append(w.grad.item())
        w.grad.zero_()
    expect_equal(seen, [5.0, 5.0, 5.0, 5.0], "w.grad after each backward, zeroed between")


REQUIRES_GRAD_ERRATUM = (
    "The note says nodes depending on leaves require grad 'by default'. The rule is "
    "that a result requires grad exactly when at least one input does and grad mode "
    "is on; leaves created without requires_grad=True do not make results require grad."
)


@claim(
    "rules.requires-grad-propagates",
    statement="Results computed from a leaf that requires grad require grad too: a, b and y all report requires_grad=True.",
    section=REQUIRES_GRAD,
    erratum=REQUIRES_GRAD_ERRATUM,
)
def requires_grad_propagates(T: Any) -> None:
    g = note_graph(T)
    got = [g.w.requires_grad, g.a.requires_grad, g.b.requires_grad, g.y.requires_grad]
    expect_equal(got, [True, True, True, True], "requires_grad of w, a, b, y")


@claim(
    "rules.requires-grad-needs-an-input",
    statement="A result of tensors none of which requires grad does not require grad; one input that does is enough.",
    section=REQUIRES_GRAD,
    erratum=REQUIRES_GRAD_ERRATUM,
)
def requires_grad_needs_an_input(T: Any) -> None:
    c = T.tensor([1.0])
    d = T.tensor([2.0])
    expect_equal(T.mul(c, d).requires_grad, False, "requires_grad of c * d, neither requiring grad")
    w = T.tensor([1.0], requires_grad=True)
    expect_equal(T.mul(c, w).requires_grad, True, "requires_grad of c * w, w requiring grad")


@claim(
    "rules.no-grad-records-nothing",
    statement="Inside no_grad() results of tensors that require grad do not require grad and are leaves.",
    section=REQUIRES_GRAD,
    needs=("graph", "no_grad"),
)
def no_grad_records_nothing(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    with T.no_grad():
        z = T.mul(w, 2)
    expect_equal([z.requires_grad, z.is_leaf], [False, True], "requires_grad, is_leaf of w * 2 under no_grad")
    expect_equal(T.mul(w, 2).requires_grad, True, "requires_grad of w * 2 after no_grad exits")


INPLACE_ERRATUM = (
    "The note says in-place operations are prohibited in the computation graph. "
    "PyTorch forbids them on leaves that require grad (outside no_grad) and refuses "
    "to backpropagate through a tensor that was modified after a node saved it; "
    "in-place operations elsewhere in the graph are allowed."
)


@claim(
    "inplace.rebinding-makes-new-tensor",
    statement="a = a + 1 binds the name to a new tensor object holding 2, leaving the old one unchanged.",
    section=IN_PLACE,
)
def rebinding_makes_new_tensor(T: Any) -> None:
    a = T.ones(1)
    old = a
    a = a + T.ones(1)
    expect_equal(a is old, False, "a + 1 is the same object as a")
    expect_values(a, [2.0], "a after a = a + 1")
    expect_values(old, [1.0], "the original tensor")


@claim(
    "inplace.augmented-keeps-object",
    statement="a += 1 updates the tensor in place: the name still refers to the same object, now holding 2.",
    section=IN_PLACE,
    needs=("graph", "in-place"),
)
def augmented_keeps_object(T: Any) -> None:
    a = T.ones(1)
    old = a
    a += T.ones(1)
    expect_is(a, old, "a after a += 1")
    expect_values(a, [2.0], "a after a += 1")


@claim(
    "inplace.leaf-raises",
    statement="An in-place operation on a leaf that requires grad raises RuntimeError instead of corrupting the graph.",
    section=IN_PLACE,
    needs=("graph", "in-place"),
    erratum=INPLACE_ERRATUM,
)
def leaf_raises(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    expect_raises(lambda: w.add_(1), "w.add_(1) on a leaf requiring grad")
    expect_values(w, [1.0], "w after the refused in-place op")


@claim(
    "inplace.leaf-message",
    statement="PyTorch's error says 'a leaf Variable that requires grad is being used in an in-place operation'.",
    section=IN_PLACE,
    level=Level.PYTORCH,
    needs=("graph", "in-place"),
)
def leaf_message(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    expect_raises(
        lambda: w.add_(1),
        "in-place leaf error's message",
        match="a leaf Variable that requires grad is being used in an in-place operation",
    )


@claim(
    "inplace.leaf-allowed-under-no-grad",
    statement="Under no_grad() an in-place update of a leaf is allowed (it is how optimisers step), and w stays a leaf requiring grad.",
    section=IN_PLACE,
    needs=("graph", "in-place", "no_grad"),
    erratum=INPLACE_ERRATUM,
)
def leaf_allowed_under_no_grad(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    with T.no_grad():
        w.add_(1)
    expect_values(w, [2.0], "w after w.add_(1) under no_grad")
    expect_equal([w.is_leaf, w.requires_grad], [True, True], "is_leaf, requires_grad of w")


@claim(
    "inplace.saved-tensor-modified",
    statement="Modifying in place a tensor that a node saved for backward makes that backward raise rather than return a wrong gradient.",
    section=IN_PLACE,
    needs=("graph", "in-place"),
    erratum=INPLACE_ERRATUM,
)
def saved_tensor_modified(T: Any) -> None:
    g = note_graph(T)
    g.a.add_(1)  # y = a * b saved a; a is not a leaf, so the op itself is allowed
    expect_raises(g.y.backward, "backward after a saved tensor was modified")


@claim(
    "inplace.non-leaf-allowed",
    statement="An in-place operation on a non-leaf that no node saved is allowed and differentiates correctly.",
    section=IN_PLACE,
    needs=("graph", "in-place"),
    erratum=INPLACE_ERRATUM,
)
def non_leaf_allowed(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    a = T.add(w, x)
    a.add_(1)
    y = T.mul(a, 3)
    y.backward()
    expect_values(y, [12.0], "y = 3 (w + x + 1)")
    expect_values(w.grad, [3.0], "w.grad")
