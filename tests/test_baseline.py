"""Baselines: regressions and newly passing cases against an earlier run, and bad files named."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gradspec.conformance.baseline import BaselineError, compare, load_baseline
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultStream


def outcome(case: str, verdict: Verdict, engine: str = "mine") -> Outcome:
    return Outcome(case=case, engine=engine, verdict=verdict, message=f"{case} said {verdict.value}")


BEFORE = [
    outcome("graph.value", Verdict.PASS),
    outcome("graph.dy-dw", Verdict.PASS),
    outcome("rules.accumulate", Verdict.FAIL),
    outcome("graph.repr", Verdict.EXPECTED_FAILURE),
    outcome("grad.first-derivative", Verdict.UNSUPPORTED),
    outcome("graph.is-leaf", Verdict.PASS),
]


def stream(tmp_path: Path, outcomes: list[Outcome]) -> Path:
    path = tmp_path / "results.jsonl"
    writer = ResultStream(path, [{"name": "mine"}])
    for o in outcomes:
        writer.write(o)
    writer.close()
    return path


def test_regressions_and_newly_passing(tmp_path: Path) -> None:
    baseline = load_baseline(stream(tmp_path, BEFORE))
    now = [
        outcome("graph.value", Verdict.FAIL),  # regressed
        outcome("graph.dy-dw", Verdict.EXPECTED_FAILURE),  # still a regression: it fails now
        outcome("rules.accumulate", Verdict.PASS),  # newly passing
        outcome("graph.repr", Verdict.UNEXPECTED_PASS),  # newly passing
        outcome("grad.first-derivative", Verdict.UNSUPPORTED),
        outcome("graph.new-case", Verdict.FAIL),  # not in the baseline: not a regression
    ]
    diff = compare(baseline, now)
    assert [(c.case, c.before, c.after) for c in diff.regressions] == [
        ("graph.value", Verdict.PASS, Verdict.FAIL),
        ("graph.dy-dw", Verdict.PASS, Verdict.EXPECTED_FAILURE),
    ]
    assert [c.case for c in diff.newly_passing] == ["rules.accumulate", "graph.repr"]
    assert diff.missing == [("mine", "graph.is-leaf")]
    assert diff.new_cases == [("mine", "graph.new-case")]
    assert not diff.ok
    text = diff.text()
    assert "2 regression(s), 2 newly passing" in text
    assert "graph.value[mine]: pass -> fail  (graph.value said fail)" in text


def test_same_run_has_no_regression(tmp_path: Path) -> None:
    diff = compare(load_baseline(stream(tmp_path, BEFORE)), BEFORE)
    assert diff.ok and not diff.newly_passing


def test_engines_are_compared_separately(tmp_path: Path) -> None:
    baseline = load_baseline(stream(tmp_path, BEFORE))
    now = [outcome("graph.value", Verdict.PASS), outcome("graph.value", Verdict.FAIL, engine="new")]
    diff = compare(baseline, now)
    assert diff.ok
    assert diff.new_cases == []  # an engine the baseline never saw has nothing to compare


def test_baseline_without_any_current_engine_is_an_error(tmp_path: Path) -> None:
    path = stream(tmp_path, BEFORE)
    with pytest.raises(BaselineError, match=f"{path}: the baseline has results for mine, none of"):
        compare(load_baseline(path), [outcome("graph.value", Verdict.PASS, engine="other")])


def test_malformed_stream_names_file_and_line(tmp_path: Path) -> None:
    path = stream(tmp_path, BEFORE)
    lines = path.read_text().splitlines()
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BaselineError, match=rf"{path}:3: not a JSON line"):
        load_baseline(path)
    with pytest.raises(BaselineError, match="no such result stream"):
        load_baseline(tmp_path / "absent.jsonl")


def test_report_json_is_accepted(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    cases = [
        {"id": o.case, "engine": o.engine, "outcome": o.verdict.value, "message": o.message} for o in BEFORE
    ]
    report.write_text(json.dumps({"schema": "gradspec-report/1", "spec_version": "1", "cases": cases}))
    baseline = load_baseline(report)
    assert [(o.case, o.verdict) for o in baseline.outcomes] == [(o.case, o.verdict) for o in BEFORE]
    now = [replace(o, verdict=Verdict.FAIL) if o.case == "graph.value" else o for o in BEFORE]
    assert [c.case for c in compare(baseline, now).regressions] == ["graph.value"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{", r"report\.json:1:2: not valid JSON"),
        ('{"schema": "other/1"}', "not a gradspec report"),
        ('{"schema": "gradspec-report/1", "cases": [{"id": "x"}]}', "case 1 of 'cases' is malformed"),
    ],
)
def test_malformed_report_json_names_the_file(tmp_path: Path, content: str, words: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(content)
    with pytest.raises(BaselineError, match=words):
        load_baseline(report)
