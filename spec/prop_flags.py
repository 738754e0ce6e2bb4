"""Properties of the graph's flags: requires_grad, is_leaf and grad_fn.

The note states them for y = (x + w)(w + 1). The rule on any graph: a result
requires grad exactly when at least one input does and grad mode is on;
detach() and no_grad() cut; every tensor that does not require grad is a leaf,
as is every tensor the user created; grad_fn is None exactly on leaves.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from gradspec.spec.expect import expect_equal
from gradspec.spec.prop_support import counterexample, property_claim
from gradspec.spec.strategies import Graph, graphs

SECTION = "Auto Gradient › Important matters › requires_grad"
GRAD_FN = "Computation Graph › Properties › grad_fn"


def _flags_program(graph: Graph, attrs: str) -> str:
    names = [*(lf.name for lf in graph.leaves), *(s.name for s in graph.steps)]
    return graph.program(loss=None, tail=[f"print({n}.{attrs})" for n in names])


@property_claim(
    "prop.requires-grad-follows-inputs",
    statement="On random graphs a result requires grad iff some input does and grad mode is on (detach and no_grad cut); results that do not are leaves, results that do are not, and created tensors are leaves.",
    section=SECTION,
    needs=("graph", "no_grad"),
)
@given(graph=graphs(max_steps=8))
def requires_grad_follows_inputs(T: Any, graph: Graph) -> None:
    with counterexample(lambda: _flags_program(graph, "requires_grad, ...is_leaf")):
        env = graph.build(T, loss=None)
        for leaf in graph.leaves:
            t = env[leaf.name]
            expect_equal(
                (t.requires_grad, t.is_leaf),
                (leaf.requires_grad, True),
                f"(requires_grad, is_leaf) of leaf {leaf.name}",
            )
        for step in graph.steps:
            t = env[step.name]
            rule = graph.requires_grad[step.name]
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
    needs=("graph", "no_grad", "grad_fn"),
)
@given(graph=graphs(max_steps=8))
def grad_fn_marks_non_leaves(T: Any, graph: Graph) -> None:
    with counterexample(lambda: _flags_program(graph, "grad_fn")):
        env = graph.build(T, loss=None)
        for name in [*(lf.name for lf in graph.leaves), *(s.name for s in graph.steps)]:
            leaf = name.startswith("x") or not graph.requires_grad[name]
            expect_equal(env[name].grad_fn is None, leaf, f"{name}.grad_fn is None")
