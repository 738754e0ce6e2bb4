"""Properties of the gradients themselves, on random computation graphs.

The note checks dy/dw = 5 on one graph. These claims generalise it: on any graph
the engine's gradients are the derivatives of the engine's own forward (central
finite differences in float64), second derivatives through ``create_graph`` are
the derivatives of the first, and forward values and gradients agree with the
reference engine's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradspec.spec.catalogue import GraphCoverage
from gradspec.spec.prop_support import (
    assume,
    counterexample,
    expect_close,
    expect_grad,
    property_claim,
    read,
    reference_engine,
)
from gradspec.spec.strategies import Graph, GraphSpace, dtypes, graphs, seeded_array
from gradspec.spec.tolerances import FINITE_DIFFERENCE_STEP, SECOND_ORDER_STEP, tolerance

SECTION = "Computation Graph › From an example"
HIGHER_ORDER = "Auto Gradient › grad() › Basics"
GRAPH_NEEDS = ("graph",)
FLOAT64 = GraphSpace()
BOTH = GraphSpace(dtypes=("float64", "float32"))
# No exact 0 in a tensor exponent that base and exponent both differentiate: there
# PyTorch masks d(x**y)/dx to 0 and the mask has no derivative, so d/dy of it is 0,
# not the 1/x of mathematics and of finite differences (docs/findings.md). A point
# of measure zero, pinned on its own by grad.pow-mixed-second-derivative-at-zero-exponent.
SECOND_ORDER = GraphSpace(zero_exponents=False)


def _print_grads(graph: Graph) -> list[str]:
    return ["loss.backward()", *(f"print({name}.grad)" for name in graph.grad_leaves)]


def frozen_cuts(graph: Graph, env: dict[str, Any]) -> dict[str, Any]:
    """The values of the steps detach and no_grad cut, to hold them fixed."""
    return {name: read(env[name]).tolist() for name in graph.cuts()}


def finite_difference(
    T: Any, graph: Graph, leaf: str, frozen: dict[str, Any], dtype: str = "float64"
) -> np.ndarray:
    """d loss / d leaf by central differences of the engine's own forward."""
    base = np.array(next(lf.values for lf in graph.leaves if lf.name == leaf), dtype=np.float64)
    grad = np.zeros_like(base)
    h = FINITE_DIFFERENCE_STEP
    for index in np.ndindex(base.shape):
        sides = []
        for sign in (1.0, -1.0):
            moved = base.copy()
            moved[index] += sign * h
            env = graph.build(T, dtype, leaf_values={leaf: moved.tolist()}, frozen=frozen)
            sides.append(float(env["loss"].item()))
        grad[index] = (sides[0] - sides[1]) / (2 * h)
    return grad


@property_claim(
    "prop.grad-matches-finite-differences",
    statement="On random graphs, every leaf's .grad after loss.backward() equals the central finite difference of the engine's own float64 forward, and leaves the backward does not reach keep .grad None.",
    section=SECTION,
    needs=GRAPH_NEEDS,
    tolerances=(("float64", "finite-differences"),),
    coverage=GraphCoverage(FLOAT64),
)
@given(graph=graphs(FLOAT64))
def grad_matches_finite_differences(T: Any, graph: Graph) -> None:
    assume(graph.loss_requires_grad)
    tol = tolerance("float64", "finite-differences")
    reached = set(graph.reached_leaves())
    with counterexample(lambda: graph.program(tail=_print_grads(graph)), cover=graph.coverage("float64")):
        env = graph.build(T)
        env["loss"].backward()
        frozen = frozen_cuts(graph, env)
        for leaf in graph.grad_leaves:
            expected = finite_difference(T, graph, leaf, frozen) if leaf in reached else None
            expect_grad(env[leaf].grad, expected, f"{leaf}.grad", tol)


@property_claim(
    "prop.second-derivative-matches-finite-differences",
    statement="A Hessian-vector product taken through autograd.grad(create_graph=True) and a second backward equals the central finite difference of the first derivative along the same vector.",
    section=HIGHER_ORDER,
    needs=("graph", "autograd.grad", "create_graph"),
    tolerances=(("float64", "second-order"),),
    coverage=GraphCoverage(SECOND_ORDER, extras={"seed": 0}),
)
@given(graph=graphs(SECOND_ORDER), seed=st.integers(0, 2**16))
def second_derivative_matches(T: Any, graph: Graph, seed: int) -> None:
    leaves = graph.reached_leaves()
    assume(leaves)
    shapes = {lf.name: np.shape(lf.values) for lf in graph.leaves}
    direction = {name: seeded_array(seed + i, shapes[name]) for i, name in enumerate(leaves)}
    tol = tolerance("float64", "second-order")
    tail = [
        f"grads = torch.autograd.grad(loss, [{', '.join(leaves)}], create_graph=True)",
        *(f"v_{n} = torch.tensor({direction[n].tolist()!r}, dtype=torch.float64)" for n in leaves),
        "s = " + " + ".join(f"(grads[{i}] * v_{n}).sum()" for i, n in enumerate(leaves)),
        "s.backward()  # if s requires grad; each leaf's .grad is then H·v",
        *(f"print({n}.grad)" for n in leaves),
    ]
    with counterexample(lambda: graph.program(tail=tail), cover=graph.coverage("float64")):
        env = graph.build(T)
        grads = T.autograd.grad(env["loss"], [env[n] for n in leaves], create_graph=True)
        s = None
        for n, g in zip(leaves, grads, strict=True):
            term = (g * T.tensor(direction[n].tolist(), dtype=T.float64)).sum()
            s = term if s is None else s + term
        hv = {n: np.zeros(shapes[n]) for n in leaves}
        if s is not None and s.requires_grad:
            s.backward()
            hv = {n: (np.zeros(shapes[n]) if env[n].grad is None else read(env[n].grad)) for n in leaves}
        expected = _hessian_vector_fd(T, graph, env, leaves, direction)
        for n in leaves:
            expect_close(hv[n], expected[n], f"(H·v) for {n}", tol)


def _hessian_vector_fd(
    T: Any, graph: Graph, env: dict[str, Any], leaves: list[str], direction: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """(∇f(x + h·v) − ∇f(x − h·v)) / 2h, each gradient from the engine's first-order backward."""
    frozen = frozen_cuts(graph, env)
    base = {lf.name: np.array(lf.values, dtype=np.float64) for lf in graph.leaves}
    h = SECOND_ORDER_STEP
    sides = []
    for sign in (1.0, -1.0):
        moved = {n: (base[n] + sign * h * direction[n]).tolist() for n in leaves}
        side = graph.build(T, leaf_values=moved, frozen=frozen)
        side["loss"].backward()
        sides.append(
            {n: read(side[n].grad) if side[n].grad is not None else np.zeros(base[n].shape) for n in leaves}
        )
    return {n: (sides[0][n] - sides[1][n]) / (2 * h) for n in leaves}


@property_claim(
    "prop.agrees-with-reference",
    statement="On random graphs in float32 and float64, every intermediate value, the loss and every leaf's gradient agree with the reference engine's on the same program.",
    section=SECTION,
    needs=GRAPH_NEEDS,
    tolerances=(("float64", "engines"), ("float32", "engines")),
    coverage=GraphCoverage(BOTH, dtype_arg="dtype"),
)
@given(graph=graphs(BOTH), dtype=dtypes(BOTH.dtypes))
def agrees_with_reference(T: Any, graph: Graph, dtype: str) -> None:
    reference = reference_engine()
    if reference.namespace is T:
        with counterexample(graph.program(), cover=graph.coverage(dtype)):
            return  # the reference agrees with itself
    tol = tolerance(dtype, "engines")
    with counterexample(lambda: graph.program(dtype, tail=_print_grads(graph)), cover=graph.coverage(dtype)):
        env = graph.build(T, dtype)
        with reference.session():
            ref = graph.build(reference.namespace, dtype)
            expected = {s.name: read(ref[s.name]) for s in graph.steps}
            expected["loss"] = read(ref["loss"])
            if graph.loss_requires_grad:
                ref["loss"].backward()
            want = {n: (None if ref[n].grad is None else read(ref[n].grad)) for n in graph.grad_leaves}
        for name, value in expected.items():
            expect_close(env[name], value, f"value of {name} (reference engine's in {dtype})", tol)
        if graph.loss_requires_grad:
            env["loss"].backward()
            for n in graph.grad_leaves:
                expect_grad(env[n].grad, want[n], f"{n}.grad (reference engine's in {dtype})", tol)
