"""Properties of backward(): its gradient argument, accumulation, and freed graphs.

The note shows grad_tensors weighting two outputs, w.grad growing 5, 10, 15, 20,
and a second backward failing. On random graphs: backward is linear in its
gradient argument, k retained backward calls accumulate k times the gradient,
zeroing restarts the count, and a second backward raises exactly when the first
freed tensors the graph saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from gradspec.spec.claims import Level
from gradspec.spec.expect import ClaimViolation, expect_raises
from gradspec.spec.prop_support import counterexample, expect_grad, grads_of, property_claim
from gradspec.spec.strategies import LINEAR_MAKERS, PLAIN, SCALAR, TENSOR, Graph, arrays_like, graphs
from gradspec.spec.tolerances import tolerance

SECTION = "Auto Gradient › backward() › retain_graph"
GRAD_TENSORS = "Auto Gradient › backward() › grad_tensors"
ACCUMULATION = "Auto Gradient › Important matters › gradient accumulation"
GRAPH_NEEDS = ("graph", "no_grad")
TOL = (("float64", "engines"),)


def _tensor(T: Any, array: np.ndarray) -> Any:
    return T.tensor(array.tolist(), dtype=T.float64)


def _scaled(grads: dict[str, np.ndarray | None], c: float) -> dict[str, np.ndarray | None]:
    return {n: None if g is None else c * g for n, g in grads.items()}


def _expect_grads(env: dict[str, Any], expected: dict[str, np.ndarray | None], what: str) -> None:
    tol = tolerance("float64", "engines")
    for name, want in expected.items():
        expect_grad(env[name].grad, want, f"{name}.grad {what}", tol)


def _one_backward(T: Any, graph: Graph, leaves: list[str]) -> dict[str, Any]:
    """The leaves' gradients after one backward through a fresh build of ``graph``."""
    once = graph.build(T)
    once["loss"].backward()
    return grads_of(once, leaves)


@property_claim(
    "prop.backward-linear-in-gradient",
    statement="backward is linear in its gradient argument: out.backward(g1, retain_graph=True) then out.backward(g2) accumulates what out.backward(g1 + g2) gives, and out.backward(c·g1) gives c times out.backward(g1).",
    section=GRAD_TENSORS,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
)
@given(graph=graphs(), data=st.data())
def backward_linear(T: Any, graph: Graph, data: st.DataObject) -> None:
    out = graph.last
    assume(graph.requires_grad[out])
    shape = np.shape(graph.weights[graph.outputs.index(out)]) if out in graph.outputs else None
    env = graph.build(T, loss=None)
    shape = tuple(env[out].shape) if shape is None else shape
    g1 = data.draw(arrays_like(shape), label="g1")
    g2 = data.draw(arrays_like(shape), label="g2")
    c = data.draw(st.sampled_from([2.0, -0.5, 3.0]), label="c")
    leaves = graph.grad_leaves
    tail = [
        f"g1 = torch.tensor({g1.tolist()!r}, dtype=torch.float64)",
        f"g2 = torch.tensor({g2.tolist()!r}, dtype=torch.float64)",
        f"{out}.backward(g1, retain_graph=True)",
        f"{out}.backward(g2)",
        *(f"print({n}.grad)  # the same as after {out}.backward(g1 + g2) on a fresh graph" for n in leaves),
    ]
    with counterexample(lambda: graph.program(loss=None, tail=tail)):
        env[out].backward(_tensor(T, g1), retain_graph=True)
        env[out].backward(_tensor(T, g2))
        twice = grads_of(env, leaves)
        fresh = graph.build(T, loss=None)
        fresh[out].backward(_tensor(T, g1 + g2))
        _expect_grads(fresh, twice, "for g1 + g2 (vs g1 then g2)")
        single = graph.build(T, loss=None)
        single[out].backward(_tensor(T, g1))
        scaled = graph.build(T, loss=None)
        scaled[out].backward(_tensor(T, c * g1))
        _expect_grads(scaled, _scaled(grads_of(single, leaves), c), f"for {c}·g1 (vs {c} × the grad for g1)")


@property_claim(
    "prop.retained-backward-accumulates",
    statement="k backward calls with retain_graph=True leave k times the gradient of one call in every leaf's .grad.",
    section=ACCUMULATION,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
)
@given(graph=graphs(), k=st.integers(2, 4))
def retained_backward_accumulates(T: Any, graph: Graph, k: int) -> None:
    assume(graph.loss_requires_grad)
    leaves = graph.grad_leaves
    tail = [
        f"for _ in range({k}):",
        "    loss.backward(retain_graph=True)",
        *(f"print({n}.grad)" for n in leaves),
    ]
    with counterexample(lambda: graph.program(tail=tail)):
        single = _one_backward(T, graph, leaves)
        env = graph.build(T)
        for _ in range(k):
            env["loss"].backward(retain_graph=True)
        _expect_grads(env, _scaled(single, float(k)), f"after {k} retained backward calls ({k} × one call)")


@property_claim(
    "prop.zeroed-grad-restarts",
    statement="After backward, zeroing every leaf's .grad in place and backpropagating the retained graph again leaves exactly one call's gradient.",
    section=ACCUMULATION,
    needs=(*GRAPH_NEEDS, "in-place"),
    tolerances=TOL,
)
@given(graph=graphs(), k=st.integers(1, 3))
def zeroed_grad_restarts(T: Any, graph: Graph, k: int) -> None:
    assume(graph.loss_requires_grad)
    leaves = graph.grad_leaves
    tail = [
        f"for _ in range({k}):",
        "    loss.backward(retain_graph=True)",
        *(f"{n}.grad.zero_()" for n in graph.reached_leaves()),
        "loss.backward()",
        *(f"print({n}.grad)" for n in leaves),
    ]
    with counterexample(lambda: graph.program(tail=tail)):
        single = _one_backward(T, graph, leaves)
        env = graph.build(T)
        for _ in range(k):
            env["loss"].backward(retain_graph=True)
        for n in graph.reached_leaves():
            env[n].grad.zero_()
        _expect_grads(env, _scaled(single, 0.0), "after zero_()")
        env["loss"].backward()
        _expect_grads(env, single, "after zero_() and one more backward")


@property_claim(
    "prop.second-backward-raises-when-saved",
    statement="When the backward passes a node that saved a tensor (x·y, exp, pow, matmul ...), a second backward without retain_graph raises RuntimeError; with retain_graph=True on the first it runs and doubles every gradient.",
    section=SECTION,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
)
@given(graph=graphs())
def second_backward_raises_when_saved(T: Any, graph: Graph) -> None:
    assume(graph.loss_requires_grad and TENSOR in graph.saved_by_backward())
    tail = ["loss.backward()", "loss.backward()  # raises: the first backward freed the saved tensors"]
    with counterexample(lambda: graph.program(loss=PLAIN, tail=tail)):
        env = graph.build(T, loss=PLAIN)
        env["loss"].backward()
        expect_raises(env["loss"].backward, "second backward through a graph that saved tensors")
        kept = graph.build(T, loss=PLAIN)
        kept["loss"].backward(retain_graph=True)
        once = grads_of(kept, graph.grad_leaves)
        kept["loss"].backward()
        _expect_grads(kept, _scaled(once, 2.0), "after a retained and a second backward")


@property_claim(
    "prop.second-backward-raises-exactly-when-saved",
    statement="In PyTorch a second backward without retain_graph raises exactly when the backward passes a node that saved a tensor (a Python scalar in x·2 or x/2 is saved as one); graphs of add, sub, sum, mean, cat, stack and views can be backpropagated again, accumulating.",
    section=SECTION,
    level=Level.PYTORCH,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
)
@given(graph=st.one_of(graphs(), graphs(families=LINEAR_MAKERS)))
def second_backward_exactly(T: Any, graph: Graph) -> None:
    assume(graph.loss_requires_grad)
    saves = bool(graph.saved_by_backward() & {TENSOR, SCALAR})
    note = "raises: a node saved a tensor" if saves else "runs: no node saved a tensor"
    tail = ["loss.backward()", f"loss.backward()  # {note}"]
    with counterexample(lambda: graph.program(loss=PLAIN, tail=tail)):
        env = graph.build(T, loss=PLAIN)
        env["loss"].backward()
        if saves:
            expect_raises(env["loss"].backward, "second backward through a graph that saved tensors")
            return
        once = grads_of(env, graph.grad_leaves)
        try:
            env["loss"].backward()
        except RuntimeError as exc:
            raise ClaimViolation(
                "second backward through a graph that saved no tensor", "no exception", f"RuntimeError: {exc}"
            ) from exc
        _expect_grads(env, _scaled(once, 2.0), "after a second backward")
