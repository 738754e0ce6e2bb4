"""Properties of backward(): its gradient argument, accumulation, and freed graphs.

The note shows grad_tensors weighting two outputs, w.grad growing 5, 10, 15, 20,
and a second backward failing. On random graphs: backward is linear in its
gradient argument, k retained backward calls accumulate k times the gradient,
zeroing restarts the count, and a second backward raises exactly when the first
freed tensors the graph saved.

Each of them backpropagates a graph more than once, so none draws a graph where two
leaves may receive different views of the same gradient elements (``stack([x0, x1]).sum()``
of 0-d leaves, ``x0.sum() + x1.sum()``): PyTorch 2.13's aliasing bug would fail them at
random (``Graph.leaf_grads_may_alias``). The bug has its own deterministic claim,
grad.stacked-0d-leaves-accumulate-separately, which impls/expectations/torch.toml lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradspec.spec.catalogue import GraphCoverage
from gradspec.spec.claims import Level
from gradspec.spec.expect import ClaimViolation, expect_raises
from gradspec.spec.prop_support import assume, counterexample, expect_grad, grads_of, property_claim
from gradspec.spec.strategies import (
    LINEAR_MAKERS,
    PLAIN,
    SCALAR,
    TENSOR,
    VIEW_INPLACE,
    WEIGHTED,
    Graph,
    GraphSpace,
    dtypes,
    graphs,
    seeded_array,
)
from gradspec.spec.tolerances import tolerance

SECTION = "Auto Gradient › backward() › retain_graph"
GRAD_TENSORS = "Auto Gradient › backward() › grad_tensors"
ACCUMULATION = "Auto Gradient › Important matters › gradient accumulation"
GRAPH_NEEDS = ("graph",)
TOL = (("float64", "engines"), ("float32", "engines"))
BOTH = GraphSpace(dtypes=("float64", "float32"))
LINEAR = GraphSpace(families=LINEAR_MAKERS, dtypes=BOTH.dtypes)
EITHER = GraphSpace(dtypes=BOTH.dtypes, also=(LINEAR,))


def _tensor(T: Any, array: np.ndarray, dtype: str) -> Any:
    return T.tensor(array.tolist(), dtype=getattr(T, dtype))


def _scaled(grads: dict[str, np.ndarray | None], c: float) -> dict[str, np.ndarray | None]:
    return {n: None if g is None else c * g for n, g in grads.items()}


def _expect_grads(
    env: dict[str, Any], expected: dict[str, np.ndarray | None], what: str, dtype: str = "float64"
) -> None:
    tol = tolerance(dtype, "engines")
    for name, want in expected.items():
        expect_grad(env[name].grad, want, f"{name}.grad {what}", tol)


def _one_backward(T: Any, graph: Graph, leaves: list[str], dtype: str) -> dict[str, Any]:
    """The leaves' gradients after one backward through a fresh build of ``graph``."""
    once = graph.build(T, dtype)
    once["loss"].backward()
    return grads_of(once, leaves)


@property_claim(
    "prop.backward-linear-in-gradient",
    statement="backward is linear in its gradient argument: out.backward(g1, retain_graph=True) then out.backward(g2) accumulates what out.backward(g1 + g2) gives, and out.backward(c·g1) gives c times out.backward(g1).",
    section=GRAD_TENSORS,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
    coverage=GraphCoverage(BOTH, dtype_arg="dtype", extras={"seed": 0, "c": 2.0}),
)
@given(
    graph=graphs(BOTH),
    dtype=dtypes(BOTH.dtypes),
    seed=st.integers(0, 2**16),
    c=st.sampled_from([2.0, -0.5, 3.0]),
)
def backward_linear(T: Any, graph: Graph, dtype: str, seed: int, c: float) -> None:
    out = graph.last
    assume(graph.requires_grad[out] and not graph.leaf_grads_may_alias(loss=None))
    env = graph.build(T, dtype, loss=None)
    shape = tuple(env[out].shape)
    g1, g2 = seeded_array(seed, shape), seeded_array(seed + 1, shape)
    leaves = graph.grad_leaves
    tail = [
        f"g1 = torch.tensor({g1.tolist()!r}, dtype=torch.{dtype})",
        f"g2 = torch.tensor({g2.tolist()!r}, dtype=torch.{dtype})",
        f"{out}.backward(g1, retain_graph=True)",
        f"{out}.backward(g2)",
        *(f"print({n}.grad)  # the same as after {out}.backward(g1 + g2) on a fresh graph" for n in leaves),
    ]
    with counterexample(lambda: graph.program(dtype, loss=None, tail=tail), cover=graph.coverage(dtype)):
        env[out].backward(_tensor(T, g1, dtype), retain_graph=True)
        env[out].backward(_tensor(T, g2, dtype))
        twice = grads_of(env, leaves)
        fresh = graph.build(T, dtype, loss=None)
        fresh[out].backward(_tensor(T, g1 + g2, dtype))
        _expect_grads(fresh, twice, "for g1 + g2 (vs g1 then g2)", dtype)
        single = graph.build(T, dtype, loss=None)
        single[out].backward(_tensor(T, g1, dtype))
        scaled = graph.build(T, dtype, loss=None)
        scaled[out].backward(_tensor(T, c * g1, dtype))
        _expect_grads(
            scaled, _scaled(grads_of(single, leaves), c), f"for {c}·g1 (vs {c} × the grad for g1)", dtype
        )


@property_claim(
    "prop.retained-backward-accumulates",
    statement="k backward calls with retain_graph=True leave k times the gradient of one call in every leaf's .grad.",
    section=ACCUMULATION,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
    coverage=GraphCoverage(BOTH, dtype_arg="dtype", extras={"k": 2}),
)
@given(graph=graphs(BOTH), dtype=dtypes(BOTH.dtypes), k=st.integers(2, 4))
def retained_backward_accumulates(T: Any, graph: Graph, dtype: str, k: int) -> None:
    assume(graph.loss_requires_grad and not graph.leaf_grads_may_alias(loss=WEIGHTED))
    leaves = graph.grad_leaves
    tail = [
        f"for _ in range({k}):",
        "    loss.backward(retain_graph=True)",
        *(f"print({n}.grad)" for n in leaves),
    ]
    with counterexample(lambda: graph.program(dtype, tail=tail), cover=graph.coverage(dtype)):
        single = _one_backward(T, graph, leaves, dtype)
        env = graph.build(T, dtype)
        for _ in range(k):
            env["loss"].backward(retain_graph=True)
        _expect_grads(
            env, _scaled(single, float(k)), f"after {k} retained backward calls ({k} × one call)", dtype
        )


@property_claim(
    "prop.zeroed-grad-restarts",
    statement="After backward, zeroing every leaf's .grad in place and backpropagating the retained graph again leaves exactly one call's gradient.",
    section=ACCUMULATION,
    needs=(*GRAPH_NEEDS, "in-place"),
    tolerances=TOL,
    coverage=GraphCoverage(BOTH, dtype_arg="dtype", extras={"k": 1}),
)
@given(graph=graphs(BOTH), dtype=dtypes(BOTH.dtypes), k=st.integers(1, 3))
def zeroed_grad_restarts(T: Any, graph: Graph, dtype: str, k: int) -> None:
    assume(graph.loss_requires_grad and not graph.leaf_grads_may_alias(loss=WEIGHTED))
    leaves = graph.grad_leaves
    tail = [
        f"for _ in range({k}):",
        "    loss.backward(retain_graph=True)",
        *(f"{n}.grad.zero_()" for n in graph.reached_leaves()),
        "loss.backward()",
        *(f"print({n}.grad)" for n in leaves),
    ]
    with counterexample(lambda: graph.program(dtype, tail=tail), cover=graph.coverage(dtype)):
        single = _one_backward(T, graph, leaves, dtype)
        env = graph.build(T, dtype)
        for _ in range(k):
            env["loss"].backward(retain_graph=True)
        for n in graph.reached_leaves():
            env[n].grad.zero_()
        _expect_grads(env, _scaled(single, 0.0), "after zero_()", dtype)
        env["loss"].backward()
        _expect_grads(env, single, "after zero_() and one more backward", dtype)


@property_claim(
    "prop.second-backward-raises-when-saved",
    statement="When the backward passes a node that saved a tensor (x·y, exp, pow, matmul ...), a second backward without retain_graph raises RuntimeError; with retain_graph=True on the first it runs and doubles every gradient.",
    section=SECTION,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
    coverage=GraphCoverage(BOTH, dtype_arg="dtype", companion="mul|grad:both"),
)
@given(graph=graphs(BOTH), dtype=dtypes(BOTH.dtypes))
def second_backward_raises_when_saved(T: Any, graph: Graph, dtype: str) -> None:
    assume(
        graph.loss_requires_grad
        and TENSOR in graph.saved_by_backward()
        and not graph.leaf_grads_may_alias(loss=PLAIN)
    )
    tail = ["loss.backward()", "loss.backward()  # raises: the first backward freed the saved tensors"]
    with counterexample(lambda: graph.program(dtype, loss=PLAIN, tail=tail), cover=graph.coverage(dtype)):
        env = graph.build(T, dtype, loss=PLAIN)
        env["loss"].backward()
        expect_raises(env["loss"].backward, "second backward through a graph that saved tensors")
        kept = graph.build(T, dtype, loss=PLAIN)
        kept["loss"].backward(retain_graph=True)
        once = grads_of(kept, graph.grad_leaves)
        kept["loss"].backward()
        _expect_grads(kept, _scaled(once, 2.0), "after a retained and a second backward", dtype)


@property_claim(
    "prop.second-backward-raises-exactly-when-saved",
    statement="In PyTorch a second backward without retain_graph raises exactly when the backward passes a node that saved a tensor (a Python scalar in x·2 or x/2 is saved as one); graphs of add, sub, sum, mean, cat, stack, views and add_ on non-views can be backpropagated again, accumulating (after an add_ on a view PyTorch raises too; the claim leaves that case open).",
    section=SECTION,
    level=Level.PYTORCH,
    needs=GRAPH_NEEDS,
    tolerances=TOL,
    coverage=GraphCoverage(EITHER, dtype_arg="dtype"),
)
@given(graph=st.one_of(graphs(BOTH), graphs(LINEAR)), dtype=dtypes(BOTH.dtypes))
def second_backward_exactly(T: Any, graph: Graph, dtype: str) -> None:
    assume(graph.loss_requires_grad and not graph.leaf_grads_may_alias(loss=PLAIN))
    saved = graph.saved_by_backward()
    saves = bool(saved & {TENSOR, SCALAR})
    note = "raises: a node saved a tensor" if saves else "runs: no node saved a tensor"
    tail = ["loss.backward()", f"loss.backward()  # {note}"]
    with counterexample(lambda: graph.program(dtype, loss=PLAIN, tail=tail), cover=graph.coverage(dtype)):
        env = graph.build(T, dtype, loss=PLAIN)
        env["loss"].backward()
        if saves:
            expect_raises(env["loss"].backward, "second backward through a graph that saved tensors")
            return
        once = grads_of(env, graph.grad_leaves)
        try:
            env["loss"].backward()
        except RuntimeError as exc:
            if VIEW_INPLACE in saved:
                return  # PyTorch raises here (CopySlices); an engine saving nothing may not
            raise ClaimViolation(
                "second backward through a graph that saved no tensor", "no exception", f"RuntimeError: {exc}"
            ) from exc
        _expect_grads(env, _scaled(once, 2.0), "after a second backward", dtype)
