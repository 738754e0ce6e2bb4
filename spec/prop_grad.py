"""Properties of autograd.grad: outputs are summed, and .grad is left alone.

The note shows autograd.grad of [y1, y2] as the sum of the separate derivatives
on one example. On random graphs: autograd.grad of several outputs (weighted by
grad_outputs) equals the sum of autograd.grad of each, and no call to it
changes any leaf's .grad.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given

from gradspec.spec.catalogue import GraphCoverage
from gradspec.spec.expect import ClaimViolation
from gradspec.spec.prop_support import assume, counterexample, expect_close, grads_of, property_claim, read
from gradspec.spec.strategies import Graph, GraphSpace, dtypes, graphs
from gradspec.spec.tolerances import tolerance

SECTION = "Auto Gradient › grad() › Multiple x(s) and y(s)"
NEEDS = ("graph", "autograd.grad")
BOTH = GraphSpace(dtypes=("float64", "float32"))


def _differentiable_outputs(graph: Graph) -> list[str]:
    return [o for o in graph.outputs if graph.requires_grad[o]]


@property_claim(
    "prop.grad-sums-outputs",
    statement="autograd.grad(outputs, inputs, grad_outputs) equals the sum over the outputs of autograd.grad of each one alone, input by input.",
    section=SECTION,
    needs=NEEDS,
    tolerances=(("float64", "engines"), ("float32", "engines")),
    coverage=GraphCoverage(BOTH, dtype_arg="dtype"),
)
@given(graph=graphs(BOTH), dtype=dtypes(BOTH.dtypes))
def grad_sums_outputs(T: Any, graph: Graph, dtype: str) -> None:
    outputs = _differentiable_outputs(graph)
    leaves = graph.reached_leaves(outputs)
    assume(outputs and leaves)
    weights = {o: graph.weights[graph.outputs.index(o)] for o in outputs}
    tol = tolerance(dtype, "engines")
    tail = [
        *(f"g_{o} = torch.tensor({weights[o]!r}, dtype=torch.{dtype})" for o in outputs),
        f"together = torch.autograd.grad([{', '.join(outputs)}], [{', '.join(leaves)}], "
        f"grad_outputs=[{', '.join(f'g_{o}' for o in outputs)}], retain_graph=True)",
        *(
            f"alone_{o} = torch.autograd.grad({o}, [{', '.join(graph.reached_leaves([o]))}], grad_outputs=g_{o}, retain_graph=True)"
            for o in outputs
        ),
        "print(together)  # the sum of the alone_* tuples, input by input",
    ]
    with counterexample(lambda: graph.program(dtype, loss=None, tail=tail), cover=graph.coverage(dtype)):
        env = graph.build(T, dtype, loss=None)
        weight = {o: T.tensor(weights[o], dtype=getattr(T, dtype)) for o in outputs}
        together = T.autograd.grad(
            [env[o] for o in outputs],
            [env[n] for n in leaves],
            grad_outputs=[weight[o] for o in outputs],
            retain_graph=True,
        )
        if len(together) != len(leaves):
            raise ClaimViolation("number of gradients autograd.grad returned", len(leaves), len(together))
        total = {n: np.zeros(np.shape(env[n].tolist())) for n in leaves}
        for o in outputs:
            mine = graph.reached_leaves([o])
            alone = T.autograd.grad(env[o], [env[n] for n in mine], grad_outputs=weight[o], retain_graph=True)
            for n, g in zip(mine, alone, strict=True):
                total[n] = total[n] + read(g)
        for n, g in zip(leaves, together, strict=True):
            expect_close(
                g, total[n], f"autograd.grad of all outputs w.r.t. {n} (vs the sum of each alone)", tol
            )


@property_claim(
    "prop.grad-leaves-grad-untouched",
    statement="autograd.grad returns gradients without touching any leaf's .grad: None stays None, and a .grad filled by an earlier backward keeps its values.",
    section=SECTION,
    needs=NEEDS,
    tolerances=(("float64", "exact-arithmetic"), ("float32", "exact-arithmetic")),
    coverage=GraphCoverage(BOTH, dtype_arg="dtype"),
)
@given(graph=graphs(BOTH), dtype=dtypes(BOTH.dtypes))
def grad_leaves_grad_untouched(T: Any, graph: Graph, dtype: str) -> None:
    assume(graph.loss_requires_grad)
    leaves = graph.reached_leaves()
    tol = tolerance(dtype, "exact-arithmetic")
    tail = [
        f"torch.autograd.grad(loss, [{', '.join(leaves)}], retain_graph=True)",
        *(f"print({n}.grad)  # None" for n in graph.grad_leaves),
        "loss.backward(retain_graph=True)",
        f"torch.autograd.grad(loss, [{', '.join(leaves)}])",
        *(f"print({n}.grad)  # what the backward left" for n in graph.grad_leaves),
    ]
    with counterexample(lambda: graph.program(dtype, tail=tail), cover=graph.coverage(dtype)):
        env = graph.build(T, dtype)
        T.autograd.grad(env["loss"], [env[n] for n in leaves], retain_graph=True)
        for n in graph.grad_leaves:
            if env[n].grad is not None:
                raise ClaimViolation(f"{n}.grad after autograd.grad", None, read(env[n].grad).tolist())
        env["loss"].backward(retain_graph=True)
        before = grads_of(env, graph.grad_leaves)
        T.autograd.grad(env["loss"], [env[n] for n in leaves])
        for n, want in before.items():
            got = env[n].grad
            if want is None:
                if got is not None:
                    raise ClaimViolation(f"{n}.grad after autograd.grad", None, read(got).tolist())
                continue
            expect_close(got, want, f"{n}.grad after autograd.grad (as backward left it)", tol)
