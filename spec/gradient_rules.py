"""Claims the note implies but does not spell out: in-place ops inside the graph, the
gradient slot itself, dtypes under Python scalars, and shared retained subgraphs.

The note forbids in-place operations "in the computation graph" and shows .grad
only as numbers. What an engine must really do follows from its rules: an in-place
op on a non-leaf (or on a view of one) is part of the graph and its derivative
counts; the version-counter error fires exactly when a node saved the changed
tensor; .grad is a plain tensor of the leaf's dtype and shape, one per leaf; a
Python number does not change a float32 result's dtype; and a second backward
through a retained subgraph shared by two outputs carries only its own gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradspec.spec.claims import Level, claim
from gradspec.spec.expect import ClaimViolation, expect_equal, expect_raises, expect_values, values

IN_PLACE = "Auto Gradient › Important matters › in-place operations"
ACCUMULATION = "Auto Gradient › Important matters › gradient accumulation"
RETAIN_GRAPH = "Auto Gradient › backward() › retain_graph"
EXAMPLE = "Computation Graph › From an example"

INPLACE_ERRATUM = (
    "The note says in-place operations are prohibited in the computation graph. Only "
    "leaves that require grad refuse them; on a non-leaf, or a view of one, the in-place "
    "op is recorded like any other and its derivative reaches the leaves."
)


@claim(
    "inplace.non-leaf-derivative-counts",
    statement="Scaling a non-leaf in place is differentiated: b = w * 1; b.mul_(2); y = b * 3 gives w.grad 6, not the 3 an engine that ignores mul_ would give.",
    section=IN_PLACE,
    needs=("graph", "in-place", "op.mul_"),
    erratum=INPLACE_ERRATUM,
)
def non_leaf_derivative_counts(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    b = w * 1
    b.mul_(2)
    y = b * 3
    y.backward()
    expect_values(y, [6.0], "y = 3 · (2 · w)")
    expect_values(w.grad, [6.0], "w.grad through b.mul_(2)")


@claim(
    "inplace.view-of-non-leaf",
    statement="Scaling a slice of a non-leaf in place changes the base and its gradient: a = 2w; a[:2].mul_(10); (a·a).sum() gives w.grad [800, 1600, 24] at w = [1, 2, 3].",
    section=IN_PLACE,
    needs=("graph", "in-place", "op.mul_", "op.index", "op.sum"),
    erratum=INPLACE_ERRATUM,
)
def view_of_non_leaf(T: Any) -> None:
    w = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = w * 2
    a[:2].mul_(10)
    expect_values(a, [20.0, 40.0, 6.0], "a after a[:2].mul_(10)")
    (a * a).sum().backward()
    expect_values(w.grad, [800.0, 1600.0, 24.0], "w.grad through the in-place change of a's view")


@claim(
    "inplace.saved-tensor-error-exactly-when-saved",
    statement="Changing a non-leaf in place makes a later backward raise when a node saved it (c = a · a) and not when none did (c = a + 1, which then gives w.grad 1).",
    section=IN_PLACE,
    needs=("graph", "in-place", "op.mul_"),
    erratum=INPLACE_ERRATUM,
)
def saved_tensor_error_exactly_when_saved(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    a = w + 1
    c = a * a
    a.mul_(2)
    expect_raises(c.backward, "backward of c = a · a after a.mul_(2) (the node saved a)")
    v = T.tensor([1.0], requires_grad=True)
    b = v + 1
    d = b + 1
    b.mul_(2)
    try:
        d.backward()
    except RuntimeError as exc:
        raise ClaimViolation(
            "backward of d = b + 1 after b.mul_(2)", "no exception", f"RuntimeError: {exc}"
        ) from exc
    expect_values(v.grad, [1.0], "v.grad through d = b + 1")


@claim(
    "inplace.scalar-product-saves-no-tensor",
    statement="In PyTorch c = a * 2 saves only the number 2, so changing a in place afterwards leaves c.backward() legal, giving w.grad 2.",
    section=IN_PLACE,
    level=Level.PYTORCH,
    needs=("graph", "in-place", "op.mul_"),
)
def scalar_product_saves_no_tensor(T: Any) -> None:
    w = T.tensor([1.0], requires_grad=True)
    a = w + 1
    c = a * 2
    a.mul_(2)
    try:
        c.backward()
    except RuntimeError as exc:
        raise ClaimViolation(
            "backward of c = a * 2 after a.mul_(2)", "no exception", f"RuntimeError: {exc}"
        ) from exc
    expect_values(w.grad, [2.0], "w.grad through c = a * 2")


@claim(
    "grad.slot-keeps-dtype-and-shape",
    statement="A leaf's .grad has the leaf's dtype and shape (float32 and float64, a 2×3 matrix).",
    section=ACCUMULATION,
    needs=("graph", "dtype.float64", "dtype.float32", "op.sum"),
)
def slot_keeps_dtype_and_shape(T: Any) -> None:
    for dtype in ("float32", "float64"):
        w = T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=getattr(T, dtype), requires_grad=True)
        (w * w).sum().backward()
        expect_equal(str(w.grad.dtype).split(".")[-1], dtype, f"dtype of a {dtype} leaf's .grad")
        expect_equal(tuple(w.grad.shape), (2, 3), f"shape of a {dtype} leaf's .grad")
        expect_values(w.grad, 2 * values(w), f".grad of (w · w).sum() in {dtype}")


@claim(
    "grad.slot-does-not-require-grad",
    statement="After a plain backward a leaf's .grad is a constant: it does not require grad and is a leaf.",
    section=ACCUMULATION,
    needs=("graph", "op.sum"),
)
def slot_does_not_require_grad(T: Any) -> None:
    w = T.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    expect_equal((w.grad.requires_grad, w.grad.is_leaf), (False, True), "(requires_grad, is_leaf) of w.grad")


@claim(
    "grad.slot-per-leaf",
    statement="Two leaves receiving equal gradients get two distinct .grad tensors: x.grad is not w.grad, and zeroing one leaves the other as it was.",
    section=ACCUMULATION,
    needs=("graph", "in-place", "op.sum"),
)
def slot_per_leaf(T: Any) -> None:
    x = T.tensor([1.0, 2.0], requires_grad=True)
    w = T.tensor([3.0, 4.0], requires_grad=True)
    (x + w).sum().backward()
    expect_equal(x.grad is w.grad, False, "x.grad is w.grad")
    x.grad.zero_()
    expect_values(w.grad, [1.0, 1.0], "w.grad after x.grad.zero_()")
    expect_values(x.grad, [0.0, 0.0], "x.grad after x.grad.zero_()")


ZERO_DIM_ERRATUM = (
    "PyTorch 2.13 breaks this: the first backward hands the leaves views of one "
    "expanded gradient tensor and AccumulateGrad keeps them, so x0.grad and x1.grad share "
    "one element and the second backward adds into it twice (3 and 3). It is a PyTorch "
    "bug, not a rule; docs/findings.md has the details."
)


@claim(
    "grad.stacked-0d-leaves-accumulate-separately",
    statement="Two 0-d leaves stacked into one sum get separate gradients: two retained backward calls leave each .grad at 2, and the two .grad tensors do not share storage.",
    section=ACCUMULATION,
    needs=("graph", "op.stack", "tensor.0d", "op.sum"),
    erratum=ZERO_DIM_ERRATUM,
)
def stacked_0d_leaves_accumulate_separately(T: Any) -> None:
    x0 = T.tensor(0.0, requires_grad=True)
    x1 = T.tensor(0.0, requires_grad=True)
    loss = T.stack([x0, x1]).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    expect_equal(
        (float(x0.grad.item()), float(x1.grad.item())),
        (2.0, 2.0),
        "(x0.grad, x1.grad) after two backward calls",
    )


@claim(
    "graph.float32-kept-under-python-scalars",
    statement="A float32 tensor combined with Python numbers stays float32 (x + 1.5, 2 * x, x / 3, x ** 2), and so does its leaf's .grad.",
    section=EXAMPLE,
    needs=("graph", "op.div", "op.sum"),
)
def float32_kept_under_python_scalars(T: Any) -> None:
    x = T.tensor([1.0, 2.0], requires_grad=True)
    for text, result in (("x + 1.5", x + 1.5), ("2 * x", 2 * x), ("x / 3", x / 3), ("x ** 2", x**2)):
        expect_equal(str(result.dtype).split(".")[-1], "float32", f"dtype of {text} for float32 x")
    (x * 2.5).sum().backward()
    expect_equal(str(x.grad.dtype).split(".")[-1], "float32", "dtype of x.grad")


@claim(
    "graph.float32-kept-under-numpy-scalars",
    statement="In PyTorch a NumPy float64 scalar does not promote a float32 tensor: x * np.float64(2) and np.float64(2) * x stay float32.",
    section=EXAMPLE,
    level=Level.PYTORCH,
)
def float32_kept_under_numpy_scalars(T: Any) -> None:
    x = T.tensor([1.0, 2.0])
    for text, result in (
        ("x * np.float64(2)", x * np.float64(2.0)),
        ("x + np.float64(1)", x + np.float64(1.0)),
    ):
        expect_equal(str(result.dtype).split(".")[-1], "float32", f"dtype of {text} for float32 x")
    expect_values(x * np.float64(2.0), [2.0, 4.0], "x * np.float64(2)")


@claim(
    "backward.shared-subgraph-no-stale-gradient",
    statement="Two outputs sharing a retained subgraph a = x·x (y1 = 3a, y2 = a + 1) backpropagated one after the other leave x.grad = 12 + 4 = 16: the second pass carries only y2's gradient through a, none left over from the first.",
    section=RETAIN_GRAPH,
    needs=("graph", "op.sum"),
)
def shared_subgraph_no_stale_gradient(T: Any) -> None:
    x = T.tensor([2.0], requires_grad=True)
    a = x * x
    y1 = (a * 3).sum()
    y2 = (a + 1).sum()
    y1.backward(retain_graph=True)
    expect_values(x.grad, [12.0], "x.grad after y1.backward()")
    y2.backward()
    expect_values(x.grad, [16.0], "x.grad after y1 and then y2 backward (12 + 4)")


@claim(
    "graph.matmul-through-transposed-view",
    statement="A matrix product reads a transposed view by its strides, forward and backward: for loss = ((a @ w.transpose(0, 1)) * c).sum(), a.grad = c @ w and w.grad = c.T @ a, as for the same product with the transpose written out.",
    section=EXAMPLE,
    needs=("graph", "op.matmul", "op.transpose", "op.sum"),
)
def matmul_through_transposed_view(T: Any) -> None:
    a_values = [[1.0, 2.0, 3.0], [-4.0, 5.0, 0.5]]
    w_values = [[1.0, 2.0, 3.0], [-4.0, 0.5, 6.0]]
    c_values = [[1.0, -1.0], [2.0, 3.0]]
    a = T.tensor(a_values, requires_grad=True)
    w = T.tensor(w_values, requires_grad=True)
    product = a @ w.transpose(0, 1)
    expect_values(product, np.asarray(a_values) @ np.asarray(w_values).T, "a @ w.transpose(0, 1)")
    (product * T.tensor(c_values)).sum().backward()
    # d loss / d a = c @ w and d loss / d w = c^T @ a: the view's strides, not its memory order
    expect_values(a.grad, np.asarray(c_values) @ np.asarray(w_values), "a.grad")
    expect_values(w.grad, np.asarray(c_values).T @ np.asarray(a_values), "w.grad")
