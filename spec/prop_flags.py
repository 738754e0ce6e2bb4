"""Properties of the graph's flags: requires_grad, is_leaf and grad_fn.

The note states them for y = (x + w)(w + 1). The rule on any graph: a result
requires grad exactly when at least one input does and grad mode is on;
detach() and no_grad() cut; every tensor that does not require grad is a leaf,
as is every tensor the user created; grad_fn is None exactly on leaves.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from gradspec.spec.catalogue import GraphCoverage
from gradspec.spec.expect import expect_equal
from gradspec.spec.prop_support import counterexample, property_claim
from gradspec.spec.strategies import Graph, GraphSpace, dtypes, graphs

SECTION = "Auto Gradient › Important matters › requires_grad"
GRAD_FN = "Computation Graph › Properties › grad_fn"
SPACE = GraphSpace(max_steps=8, dtypes=("float64", "float32"))


def _flags_program(graph: Graph, attrs: str, dtype: str) -> str:
    names = [*(lf.name for lf in graph.leaves), *(s.name for s in graph.steps)]
    return graph.program(dtype, loss=None, tail=[f"print({n}.{attrs})" for n in names])


@property_claim(
    "prop.requires-grad-follows-inputs",
    statement="On random graphs a result requires grad iff some input does and grad mode is on (detach and no_grad cut); results that do not are leaves, results that do are not, and created tensors are leaves until an in-place op with an input requiring grad records them.",
    section=SECTION,
    needs=("graph",),
    coverage=GraphCoverage(SPACE, dtype_arg="dtype"),
)
@given(graph=graphs(SPACE), dtype=dtypes(SPACE.dtypes))
def requires_grad_follows_inputs(T: Any, graph: Graph, dtype: str) -> None:
    with counterexample(
        lambda: _flags_program(graph, "requires_grad, ...is_leaf", dtype), cover=graph.coverage(dtype)
    ):
        env = graph.build(T, dtype, loss=None)
        for leaf in graph.leaves:
            t = env[leaf.name]
            end = graph.final(leaf.name)
            want = (graph.requires_grad[end], graph.is_leaf_at_end(leaf.name))
            changed = f" (after {end} = {leaf.name}.<in-place>)" if end != leaf.name else ""
            expect_equal(
                (t.requires_grad, t.is_leaf), want, f"(requires_grad, is_leaf) of leaf {leaf.name}{changed}"
            )
        for step in graph.steps:
            t = env[step.name]
            rule = graph.requires_grad[graph.final(step.name)]
            why = (
                "detach()"
                if step.detach
                else "computed under no_grad()"
                if step.no_grad
                else step.expr.format(ns="torch")
            )
            expect_equal(
                (t.requires_grad, t.is_leaf),
                (rule, not rule),
                f"(requires_grad, is_leaf) of {step.name} = {why}",
            )


@property_claim(
    "prop.grad-fn-marks-non-leaves",
    statement="On random graphs grad_fn is None exactly on the tensors that are leaves: created tensors, detached ones, those computed under no_grad, and results of tensors that do not require grad.",
    section=GRAD_FN,
    needs=("graph", "grad_fn"),
    coverage=GraphCoverage(SPACE, dtype_arg="dtype"),
)
@given(graph=graphs(SPACE), dtype=dtypes(SPACE.dtypes))
def grad_fn_marks_non_leaves(T: Any, graph: Graph, dtype: str) -> None:
    with counterexample(lambda: _flags_program(graph, "grad_fn", dtype), cover=graph.coverage(dtype)):
        env = graph.build(T, dtype, loss=None)
        for name in [*(lf.name for lf in graph.leaves), *(s.name for s in graph.steps)]:
            expect_equal(env[name].grad_fn is None, graph.is_leaf_at_end(name), f"{name}.grad_fn is None")
