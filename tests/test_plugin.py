"""The pytest plugin: collection, verdicts, streaming, summaries."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from gradspec.spec.claims import all_claims

pytest.importorskip("torch")

KNOWN_TORCH_BUGS = {
    case
    for listed in tomllib.loads(
        (Path(__file__).parent.parent / "impls" / "expectations" / "torch.toml").read_text()
    )["torch-cpu"].values()
    for case in listed
}
"""The cases impls/expectations/torch.toml lists as PyTorch's own bugs."""


def run(
    pytester: pytest.Pytester, *args: str, subprocess: bool = False
) -> tuple[pytest.RunResult, list[dict]]:
    """Run the spec under pytest and read back the streamed outcomes.

    ``subprocess=True`` for runs that train with torch: see the note in
    test_missing_capability_makes_cases_unsupported.
    """
    results = pytester.path / "results.jsonl"
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    outcome = runner(
        "--pyargs", "gradspec.spec", "-p", "no:cacheprovider", "--gradspec-results", str(results), *args
    )
    records = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    return outcome, records


def outcomes(records: list[dict]) -> dict[str, dict]:
    return {f"{r['case']}[{r['engine']}]": r for r in records if r["type"] == "outcome"}


def test_plugin_is_inert_without_engines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "gradspec conformance" not in result.stdout.str()


def test_every_claim_on_every_engine_with_case_engine_ids(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--pyargs",
        "gradspec.spec",
        "--collect-only",
        "-q",
        "--gradspec-engine",
        "torch-cpu",
        "--gradspec-engine",
        "torch",
    )
    text = result.stdout.str()
    for claim in all_claims():
        assert f"{claim.id}[torch-cpu]" in text
        assert f"{claim.id}[torch]" in text
    assert f"{2 * len(all_claims())} tests collected" in text


def test_items_follow_the_notes_order(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--pyargs", "gradspec.spec", "--collect-only", "-q", "--gradspec-engine", "torch"
    )
    ids = [line.split("::")[-1] for line in result.stdout.lines if "[torch]" in line]
    assert ids[0] == "graph.value[torch]"
    examples = [i for i in ids if not i.startswith("prop.")]
    # The note's sections in its order, the property-based claims after them.
    assert examples[-1].startswith("logreg.")
    assert ids.index(examples[-1]) < min(ids.index(i) for i in ids if i.startswith("prop."))


def test_torch_cpu_passes_everything_and_streams_each_outcome(pytester: pytest.Pytester) -> None:
    expectations = Path(__file__).parent.parent / "impls" / "expectations" / "torch.toml"
    result, records = run(
        pytester, "--gradspec-engine", "torch-cpu", "--gradspec-expect", str(expectations), subprocess=True
    )
    assert records[0]["type"] == "run"
    assert records[0]["engines"][0]["name"] == "torch-cpu"
    got = outcomes(records)
    assert len(got) == len(all_claims())
    # Everything passes but PyTorch's own listed bugs, which are expected failures (the
    # properties reaching it only sometimes: then they pass, an unexpected pass).
    assert {r["verdict"] for k, r in got.items() if r["case"] not in KNOWN_TORCH_BUGS} == {"pass"}
    assert got["grad.stacked-0d-leaves-accumulate-separately[torch-cpu]"]["verdict"] == "expected-failure"
    training = got["logreg.sequential-converges[torch-cpu]"]["observations"]["training"]
    assert training["passed_at"] is not None and len(training["losses"]) == training["iterations"]


def test_wrong_answers_are_failures_with_expected_and_actual(pytester: pytest.Pytester) -> None:
    result, records = run(
        pytester, "--gradspec-engine", "tests.engines_for_tests:wrong_mul", "--gradspec-case", "graph.*"
    )
    value = outcomes(records)["graph.value[tests.engines_for_tests:wrong_mul]"]
    assert value["verdict"] == "fail"
    assert value["expected"] == [6.0] and value["actual"] == [7.0]
    assert value["reproduce"] == "gradspec run --engine tests.engines_for_tests:wrong_mul --case graph.value"
    # Claims about graph flags still pass: the engine is wrong in its values only.
    assert outcomes(records)["graph.is-leaf[tests.engines_for_tests:wrong_mul]"]["verdict"] == "pass"
    assert (
        "graph.value[tests.engines_for_tests:wrong_mul]: y: expected [6.0], got [7.0]" in result.stdout.str()
    )


def test_engine_exceptions_are_errors_not_failures(pytester: pytest.Pytester) -> None:
    result, records = run(
        pytester, "--gradspec-engine", "tests.engines_for_tests:raising_cat", "--gradspec-case", "backward.*"
    )
    got = outcomes(records)
    cat_cases = [r for r in got.values() if "NotImplementedError" in r["message"]]
    assert cat_cases and {r["verdict"] for r in cat_cases} == {"error"}
    assert got["backward.retain-graph[tests.engines_for_tests:raising_cat]"]["verdict"] == "pass"
    assert "ERROR" in result.stdout.str()


def test_missing_capability_makes_cases_unsupported(pytester: pytest.Pytester) -> None:
    # Training claims are left out: in-process pytester runs drop torch's lazily imported
    # submodules between runs, and torch refuses to register them twice.
    result, records = run(
        pytester,
        "--gradspec-engine",
        "tests.engines_for_tests:no_autograd",
        "--gradspec-case",
        "graph.*",
        "--gradspec-case",
        "backward.*",
        "--gradspec-case",
        "grad.*",
    )
    got = outcomes(records)
    selected = {c.id for c in all_claims() if c.id.split(".")[0] in ("graph", "backward", "grad")}
    needing = {c.id for c in all_claims() if "autograd.grad" in c.needs} & selected
    assert needing
    for case in needing:
        record = got[f"{case}[tests.engines_for_tests:no_autograd]"]
        assert record["verdict"] == "unsupported"
        assert "lacks autograd.grad" in record["message"]
    others = [r for r in got.values() if r["case"] not in needing and r["case"] not in KNOWN_TORCH_BUGS]
    assert {r["verdict"] for r in others} == {"pass"}
    assert f"({len(needing)} unsupported" not in result.stdout.str()  # listed, not hidden
    assert "unsupported (" in result.stdout.str()


def test_unavailable_engine_is_unsupported_everywhere_never_passed(pytester: pytest.Pytester) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result, records = run(pytester, "--gradspec-engine", "torch-cuda")
    got = outcomes(records)
    assert len(got) == len(all_claims())
    assert {r["verdict"] for r in got.values()} == {"unsupported"}
    assert "torch-cuda: n/a (0 applicable)" in result.stdout.str()


def test_case_and_level_selection(pytester: pytest.Pytester) -> None:
    _, records = run(pytester, "--gradspec-engine", "torch", "--gradspec-level", "pytorch")
    got = outcomes(records)
    expected = {c.id for c in all_claims() if c.level.value == "pytorch"}
    assert {r["case"] for r in got.values()} == expected


def test_unknown_engine_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--pyargs", "gradspec.spec", "--gradspec-engine", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown engine 'nope'" in result.stderr.str()


def test_verdicts_reach_junit_xml(pytester: pytest.Pytester) -> None:
    xml: Path = pytester.path / "junit.xml"
    run(pytester, "--gradspec-engine", "torch", "--gradspec-case", "graph.value", f"--junitxml={xml}")
    text = xml.read_text()
    assert 'name="graph.value[torch]"' in text
    assert '<property name="verdict" value="pass"' in text


# -- classification from facts (what the supervisor runs on a worker's report) -------------


def _claim(claim_id: str):
    return next(c for c in all_claims() if c.id == claim_id)


def _violation(message: str, program: str | None = None) -> dict:
    error = {
        "type": "gradspec.spec.expect.ClaimViolation",
        "name": "ClaimViolation",
        "role": "violation",
        "message": message,
        "notes": [],
        "expected": [1.0],
        "actual": [2.0],
    }
    if program:
        error["counterexample"] = program
    return error


def test_several_distinct_hypothesis_failures_are_each_reported_with_their_program() -> None:
    from gradspec.conformance.facts import case_facts, outcome_of

    raised = {
        "type": "builtins.ValueError",
        "name": "ValueError",
        "role": "other",
        "message": "bad shape",
        "notes": ["Falsifying example: test(T=<engine e>, graph=...)"],
        "counterexample": "y = T.cat([x])\n",
    }
    group = {
        "type": "builtins.ExceptionGroup",
        "name": "ExceptionGroup",
        "role": "other",
        "message": "Hypothesis found 2 distinct failures. (2 sub-exceptions)",
        "notes": [],
        "leaves": [_violation("grad: expected [1.0], got [2.0]", "x = T.tensor([1.])\n"), raised],
    }
    claim = _claim("prop.agrees-with-reference")
    outcome = outcome_of(claim, case_facts(claim.id, "e", duration=1.0, observations={}, error=group))
    assert outcome.verdict.value == "error"  # one distinct failure is an exception, not a wrong answer
    assert outcome.message.splitlines()[0] == "2 distinct failures:"
    assert "[1] grad: expected [1.0], got [2.0]" in outcome.message
    assert "[2] ValueError: bad shape" in outcome.message
    assert "x = T.tensor([1.])" in outcome.counterexample and "y = T.cat([x])" in outcome.counterexample
    assert outcome.expected == [1.0] and outcome.actual == [2.0]
    group["leaves"][1] = _violation("other: expected 1, got 2", "z = 1\n")
    both = outcome_of(claim, case_facts(claim.id, "e", duration=1.0, observations={}, error=group))
    assert both.verdict.value == "fail"


def test_the_engine_namespace_is_shown_by_name_in_hypothesis_notes() -> None:
    from gradspec.conformance.facts import without_namespace

    note = 'Falsifying example: test(\n    T=namespace(t=<function t at 0x1>, x="a, b)"),\n    graph=G(1),\n)'
    assert (
        without_namespace(note, "mine")
        == "Falsifying example: test(\n    T=<engine mine>,\n    graph=G(1),\n)"
    )


def test_values_json_cannot_hold_are_recorded_by_their_repr() -> None:
    from gradspec.conformance.facts import jsonable

    class Node:
        def __repr__(self) -> str:
            return "<Node>"

        def __reduce__(self):
            raise TypeError("no pickling")

    assert jsonable({"grad_fn": Node(), "v": [1.0, float("nan")], 2: "\udc80"}) == {
        "grad_fn": "<Node>",
        "v": [1.0, "nan"],
        "2": "\\udc80",
    }
