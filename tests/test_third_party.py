"""The mygrad and tinygrad adapters: they load, pass what the engines do right, and the
divergences their expectations files document really occur.

Skipped cleanly when the engine is not installed (``pip install gradspec[mygrad]`` /
``gradspec[tinygrad]``; tinygrad's CPU device also needs clang).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gradspec.conformance.expectations import Listed, load_expectations
from gradspec.spec.claims import all_claims
from gradspec.spec.expect import ClaimViolation

EXPECTATIONS = Path(__file__).parents[1] / "impls" / "expectations"
CLAIMS = {c.id: c for c in all_claims()}


def run_claim(engine: Any, case: str) -> BaseException | None:
    """What checking one claim on the engine raised (None when it passed)."""
    with engine.session():
        try:
            CLAIMS[case].check(engine.namespace)
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever it was
            return exc
    return None


@pytest.fixture(scope="module")
def mygrad_engine() -> Any:
    pytest.importorskip("mygrad")
    from gradspec.impls.mygrad_engine import engine

    return engine()


@pytest.fixture(scope="module")
def tinygrad_engine() -> Any:
    pytest.importorskip("tinygrad")
    from gradspec.impls.tinygrad_engine import engine

    loaded = engine()
    if loaded.unavailable:
        pytest.skip(loaded.unavailable)
    return loaded


# -- mygrad -----------------------------------------------------------------------


def test_mygrad_declares_what_it_lacks(mygrad_engine: Any) -> None:
    assert {"autograd.grad", "create_graph", "nn", "optim", "op.mul_"}.isdisjoint(mygrad_engine.capabilities)
    assert mygrad_engine.name == "mygrad"
    assert not hasattr(mygrad_engine.namespace.tensor([1.0]), "mul_")  # so no property draws it


def test_mygrad_in_place_add_into_a_constant_drops_the_operands_gradient(mygrad_engine: Any) -> None:
    """What prop.grad-matches-finite-differences and prop.agrees-with-reference list."""
    T = mygrad_engine.namespace
    c = T.tensor([1.0, 2.0])  # requires_grad=False: a constant
    x = T.tensor([3.0, 4.0], requires_grad=True)
    c.add_(x)  # PyTorch: c now requires grad and the sum's gradient reaches x
    T.mul(c, 2.0).sum().backward()
    assert c.tolist() == [4.0, 6.0] and x.grad is None


def test_mygrad_example_claims_fail_exactly_as_its_file_lists(mygrad_engine: Any) -> None:
    """Every example claim mygrad can run either passes or is a listed divergence, and vice versa."""
    check_examples_against_file(mygrad_engine, "mygrad.toml")


def test_mygrad_replaces_gradients_instead_of_accumulating(mygrad_engine: Any) -> None:
    T = mygrad_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    seen = []
    for _ in range(3):
        T.mul(T.add(w, x), T.add(w, 1)).backward()
        seen.append(w.grad.item())
    assert seen == [5.0, 5.0, 5.0]


def test_mygrad_second_backward_is_silent_and_changes_nothing(mygrad_engine: Any) -> None:
    T = mygrad_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    y = T.mul(T.add(w, 2.0), T.add(w, 1))
    y.backward()
    y.backward()  # PyTorch raises here
    assert w.grad.tolist() == [5.0]
    assert y.is_leaf  # the graph is gone: y lost its creator


def test_mygrad_keeps_non_leaf_grads_and_allows_in_place_on_leaves(mygrad_engine: Any) -> None:
    T = mygrad_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    a = T.add(w, 2.0)
    T.mul(a, 3.0).backward()
    assert a.grad.tolist() == [3.0]
    w.add_(1)  # PyTorch raises: a leaf that requires grad
    assert w.tolist() == [2.0] and not w.is_leaf


def test_mygrad_zeroing_grad_writes_into_its_gradient(mygrad_engine: Any) -> None:
    T = mygrad_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    T.mul(w, 4.0).backward()
    w.grad.zero_()
    assert w.grad.tolist() == [0.0]


# -- tinygrad ---------------------------------------------------------------------

TINYGRAD_FAST = [
    "graph.value",
    "graph.dy-dw",
    "graph.leaf-grads-only",
    "backward.retain-graph",
    "backward.second-call-raises",
    "backward.non-scalar-needs-gradient",
    "grad.second-derivative",
    "rules.accumulate",
    "rules.requires-grad-needs-an-input",
    "inplace.leaf-raises",
]


def test_tinygrad_does_not_declare_the_mul_it_lacks(tinygrad_engine: Any) -> None:
    assert "op.mul_" not in tinygrad_engine.capabilities
    assert not hasattr(tinygrad_engine.namespace.tensor([1.0]), "mul_")  # so no property draws it


def test_tinygrad_fast_claims_match_its_file(tinygrad_engine: Any) -> None:
    expectations = load_expectations(EXPECTATIONS / "tinygrad.toml")
    for case in TINYGRAD_FAST:
        raised = run_claim(tinygrad_engine, case)
        entry = expectations.lookup("tinygrad", case)
        if entry is None:
            assert raised is None, f"{case} is not listed but raised {raised!r}"
        else:
            assert isinstance(raised, ClaimViolation), (
                f"{case} is listed ({entry.reason}) but gave {raised!r}"
            )


def test_tinygrad_keeps_grad_on_non_leaves_and_never_frees_the_graph(tinygrad_engine: Any) -> None:
    T = tinygrad_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    a = T.add(w, 2.0)
    y = T.mul(a, 3.0)
    y.backward()
    y.backward()  # PyTorch raises: the graph was freed
    assert a.grad.tolist() == [6.0]
    assert w.grad.tolist() == [6.0]


def test_tinygrad_differentiates_every_float_tensor(tinygrad_engine: Any) -> None:
    T = tinygrad_engine.namespace
    c = T.tensor([2.0])  # requires_grad=False in PyTorch's terms
    w = T.tensor([1.0], requires_grad=True)
    assert c.requires_grad
    T.mul(c, w).backward()
    assert c.grad.tolist() == [1.0]


def test_tinygrad_lets_in_place_ops_on_leaves_through(tinygrad_engine: Any) -> None:
    T = tinygrad_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    w.add_(1)
    assert w.tolist() == [2.0]


# -- PaddlePaddle -------------------------------------------------------------------


@pytest.fixture(scope="module")
def paddle_engine() -> Any:
    pytest.importorskip("paddle")
    from gradspec.impls.paddle_engine import engine

    return engine()


def listed_examples(engine: Any, file: str) -> dict[str, Any]:
    """The example cases an expectations file lists for ``engine``, with their entries."""
    expectations = load_expectations(EXPECTATIONS / file)
    return {
        claim.id: entry
        for claim in CLAIMS.values()
        if claim.kind == "example" and (entry := expectations.lookup(engine.name, claim.id)) is not None
    }


def check_examples_against_file(engine: Any, file: str) -> None:
    """Every example claim the engine can run passes or is listed, with the right kind of failure.

    A ``fail`` entry of kind wrong-value or message-text is a ClaimViolation, one of
    kind wrong-error-type a ClaimViolation or an exception, and an ``unsupported``
    entry a NotImplementedError or AttributeError: what the engine lacks.
    """
    listed = listed_examples(engine, file)
    for claim in CLAIMS.values():
        if claim.kind != "example" or not claim.needs <= engine.capabilities:
            continue
        raised = run_claim(engine, claim.id)
        entry = listed.get(claim.id)
        if entry is None:
            assert raised is None, f"{claim.id} is not listed in {file} but raised {raised!r}"
            continue
        assert raised is not None, f"{claim.id} is listed in {file} ({entry.reason}) but passed"
        if entry.listed is Listed.UNSUPPORTED:
            assert isinstance(raised, (NotImplementedError, AttributeError)), f"{claim.id}: {raised!r}"
        elif entry.kind.value in ("wrong-value", "message-text"):
            assert isinstance(raised, ClaimViolation), f"{claim.id}: {raised!r}"


def test_paddle_declares_everything_but_dampening(paddle_engine: Any) -> None:
    from gradspec.spec.capabilities import ALL_CAPABILITIES

    assert ALL_CAPABILITIES - paddle_engine.capabilities == {"optim.sgd.dampening"}
    assert paddle_engine.name == "paddle" and paddle_engine.version.startswith("3.")


@pytest.mark.parametrize(
    "case",
    ["graph.value", "graph.dy-dw", "rules.accumulate", "grad.second-derivative", "backward.retain-graph"],
)
def test_paddle_runs_the_note_s_gradients(paddle_engine: Any, case: str) -> None:
    assert run_claim(paddle_engine, case) is None


def test_paddle_example_claims_fail_exactly_as_its_file_lists(paddle_engine: Any) -> None:
    check_examples_against_file(paddle_engine, "paddle.toml")


def test_paddle_gives_leaves_a_grad_node_and_raises_system_error_on_a_second_backward(
    paddle_engine: Any,
) -> None:
    T = paddle_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    assert w.grad_fn is not None  # PyTorch: None on every leaf
    y = T.mul(T.add(w, 2.0), T.add(w, 1.0))
    y.backward()
    with pytest.raises(SystemError, match="retain_graph"):  # PyTorch: RuntimeError
        y.backward()


def test_paddle_seeds_a_non_scalar_backward_with_ones(paddle_engine: Any) -> None:
    T = paddle_engine.namespace
    x = T.tensor([1.0, 2.0], requires_grad=True)
    T.mul(x, 3.0).backward()  # PyTorch raises: grad can be implicitly created only for scalar outputs
    assert x.grad.tolist() == [3.0, 3.0]


def test_paddle_refuses_in_place_on_a_leaf_and_on_its_gradients(paddle_engine: Any) -> None:
    T = paddle_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="inplace"):  # PyTorch: RuntimeError
        w.add_(1.0)
    T.mul(w, 4.0).backward()
    assert w.grad.requires_grad  # Paddle's gradient does not stop_gradient ...
    with pytest.raises(ValueError, match="inplace"):  # ... so zeroing it in place is refused
        w.grad.zero_()


def test_paddle_leaves_an_in_place_change_through_a_reshape_view_out_of_the_base_s_gradient(
    paddle_engine: Any,
) -> None:
    """A counterexample prop.grad-matches-finite-differences once drew: the view divergence on a reshape."""
    T = paddle_engine.namespace
    x1 = T.tensor([[0.0, 0.0], [0.0, 0.0]], requires_grad=True, dtype=T.float64)
    x2 = T.tensor([0.0], requires_grad=True, dtype=T.float64)
    n1 = T.add(x1, 2.0)
    n3 = n1.reshape(-1).mul_(x2)
    n4 = n1.reshape(-1)
    assert n4.tolist() == [0.0, 0.0, 0.0, 0.0]  # the values did change through the view ...
    c0 = T.tensor([0.0, 0.0, 0.0, 0.0], dtype=T.float64)
    c1 = T.tensor([0.0, 0.0, 0.0, 0.01], dtype=T.float64)
    T.add(T.mul(n3, c0).sum(), T.mul(n4, c1).sum()).backward()
    assert x1.grad.tolist() == [[0.0, 0.0], [0.0, 0.01]]  # ... the graph did not (PyTorch: all 0)
    assert x2.grad.tolist() == [0.0]  # PyTorch: 0.02


def test_paddle_sgd_has_no_dampening(paddle_engine: Any) -> None:
    T = paddle_engine.namespace
    p = T.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="dampening"):
        T.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)


# -- micrograd ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def micrograd_engine() -> Any:
    pytest.importorskip("micrograd")
    from gradspec.impls.micrograd_engine import engine

    return engine()


def test_micrograd_declares_a_scalar_engine(micrograd_engine: Any) -> None:
    lacks = {
        "autograd.grad",
        "no_grad",
        "in-place",
        "nn",
        "optim",
        "grad_fn",
        "tensor.nd",
        "op.exp",
        "op.cat",
    }
    assert lacks.isdisjoint(micrograd_engine.capabilities)
    assert {"graph", "tensor.0d", "op.relu"} <= micrograd_engine.capabilities


@pytest.mark.parametrize("case", ["graph.value", "graph.dy-dw", "rules.accumulate", "graph.dynamic"])
def test_micrograd_runs_the_note_s_gradients(micrograd_engine: Any, case: str) -> None:
    assert run_claim(micrograd_engine, case) is None


def test_micrograd_example_claims_fail_exactly_as_its_file_lists(micrograd_engine: Any) -> None:
    check_examples_against_file(micrograd_engine, "micrograd.toml")


def test_micrograd_is_scalar_only(micrograd_engine: Any) -> None:
    T = micrograd_engine.namespace
    assert T.tensor([[2.0]]).tolist() == [[2.0]]
    with pytest.raises(NotImplementedError, match="scalar-only"):
        T.tensor([1.0, 2.0])


def test_micrograd_second_backward_counts_intermediate_gradients_again(micrograd_engine: Any) -> None:
    T = micrograd_engine.namespace
    w = T.tensor([1.0], requires_grad=True)
    x = T.tensor([2.0], requires_grad=True)
    y = T.mul(T.add(w, x), T.add(w, 1.0))
    assert w.grad.tolist() == [0.0]  # PyTorch: None before any backward
    y.backward()
    assert w.grad.tolist() == [5.0]
    y.backward()  # intermediate nodes kept their first gradients, so they flow again
    assert w.grad.tolist() == [15.0]  # PyTorch (retain_graph=True): 10


# -- each adapter through the gate as a user runs it: supervised workers, its expectations --

GATE_CASES = {
    # what passes, a listed divergence (graph.grad-fn: Paddle's leaf grad node, which once
    # crashed the worker: it could not be pickled) and, for micrograd, an undeclared capability
    "paddle": {
        "graph.value": "pass",
        "graph.dy-dw": "pass",
        "rules.accumulate": "pass",
        "graph.grad-fn": "expected-failure",
        "backward.second-call-raises": "expected-failure",
    },
    "micrograd": {
        "graph.value": "pass",
        "graph.dy-dw": "pass",
        "rules.accumulate": "pass",
        "backward.retain-graph": "expected-failure",
        "grad.first-derivative": "unsupported",
    },
}


@pytest.mark.parametrize("engine", sorted(GATE_CASES))
def test_the_adapter_passes_its_gate_in_worker_mode_on_a_few_cases(tmp_path: Path, engine: str) -> None:
    pytest.importorskip(engine)
    cases = GATE_CASES[engine]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradspec.conformance.cli",
            "run",
            "--engine",
            engine,
            "--expect",
            str(EXPECTATIONS / f"{engine}.toml"),
            "--strict",
            "--report-dir",
            str(tmp_path / "out"),
            *(a for case in cases for a in ("--case", case)),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HYPOTHESIS_PROFILE": "ci"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert {r["case"]: r["verdict"] for r in records if r["type"] == "outcome"} == cases
    assert not [r for r in records if r["type"] == "integrity"]


# -- every adapter declares only what its engine can be asked --------------------------


@pytest.mark.parametrize("adapter", ["mygrad_engine", "tinygrad_engine", "paddle_engine"])
def test_an_adapter_declares_no_capability_the_probe_finds_missing(adapter: str) -> None:
    """A declared capability the engine lacks makes the properties draw its steps, and each
    such program ends in an AttributeError: an *error* where the honest verdict is
    *unsupported* (mygrad and tinygrad declared ``op.mul_`` until issue 13). The probe
    (conformance/probe.py) is what gradspec uses for engines that declare nothing; an
    adapter's declaration must not claim more. (micrograd is left out: the probe's trials
    use vectors, which a scalar-only engine cannot make, so it finds less than is there.)"""
    from importlib import import_module

    from gradspec.conformance.probe import probe_capabilities

    module = {"mygrad_engine": "mygrad", "tinygrad_engine": "tinygrad", "paddle_engine": "paddle"}[adapter]
    pytest.importorskip(module)
    engine = import_module(f"gradspec.impls.{adapter}").engine()
    if engine.unavailable:
        pytest.skip(engine.unavailable)
    assert set(engine.capabilities) - probe_capabilities(engine.namespace, engine.session) == set()
