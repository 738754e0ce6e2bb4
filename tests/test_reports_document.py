"""The report builder on hand-made result streams: edge cases a real run rarely produces."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gradspec.conformance.json_report import build_document, report_schema
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.reports import write_reports
from gradspec.conformance.results import ResultStream, read_results
from gradspec.spec.claims import all_claims

jsonschema = pytest.importorskip("jsonschema")


def stream(path: Path, engines: list[str], outcomes: list[Outcome]) -> Path:
    writer = ResultStream(path, [{"name": e, "version": "1", "device": "cpu"} for e in engines], [])
    for outcome in outcomes:
        writer.write(outcome)
    writer.close()
    return path


def outcome(case: str, engine: str, verdict: Verdict, **fields) -> Outcome:
    return Outcome(
        case=case, engine=engine, verdict=verdict, statement=f"{case} holds", section="S", **fields
    )


def test_nan_from_an_engine_becomes_standard_json(tmp_path: Path) -> None:
    path = stream(
        tmp_path / "r.jsonl",
        ["e"],
        [outcome("c", "e", Verdict.FAIL, expected=[1.0], actual=[math.nan, math.inf], message="got nan")],
    )
    report, _, _ = write_reports(read_results(path), tmp_path)
    text = report.read_text()
    assert "NaN" not in text and "Infinity" not in text
    case = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))["cases"][
        0
    ]
    assert case["actual"] == ["nan", "inf"]
    jsonschema.validate(json.loads(text), report_schema(), cls=jsonschema.Draft202012Validator)


def test_unsupported_cases_are_listed_with_reasons_and_never_scored(tmp_path: Path) -> None:
    reason = "CUDA is not available"
    path = stream(
        tmp_path / "r.jsonl",
        ["torch-cuda"],
        [outcome(c, "torch-cuda", Verdict.UNSUPPORTED, message=reason) for c in ("a", "b", "c")],
    )
    _, html, markdown = write_reports(read_results(path), tmp_path)
    document = json.loads((tmp_path / "report.json").read_text())
    score = document["scores"][0]["overall"]
    assert (score["passed"], score["applicable"], score["unsupported"], score["ratio"]) == (0, 0, 3, None)
    assert score["text"] == "n/a (0 applicable)"
    assert document["summary"]["conforming"] is False  # nothing verified is not conformance
    page = html.read_text()
    assert 'id="unsupported"' in page and f"{reason} — 3 cases" in page
    assert "| torch-cuda | **n/a (0 applicable)** |" in markdown.read_text()


def test_the_benchmark_page_is_linked_only_when_it_exists(tmp_path: Path) -> None:
    results = read_results(stream(tmp_path / "r.jsonl", ["e"], [outcome("c", "e", Verdict.PASS)]))
    write_reports(results, tmp_path)
    assert 'href="bench.html"' not in (tmp_path / "report.html").read_text()
    (tmp_path / "bench.html").write_text("<html></html>")
    write_reports(results, tmp_path)
    assert 'href="bench.html"' in (tmp_path / "report.html").read_text()


def test_errata_come_from_the_spec_only_for_its_own_version(tmp_path: Path) -> None:
    path = stream(tmp_path / "r.jsonl", ["e"], [outcome("c", "e", Verdict.PASS)])
    results = read_results(path)
    with_errata = [c for c in all_claims() if c.erratum]
    assert [e["claim"] for e in build_document(results)["errata"]] == [c.id for c in with_errata]
    results.runs[0]["spec_version"] = "0-other"
    assert build_document(results)["errata"] == []


def test_a_cell_for_a_claim_an_engine_did_not_run_says_so(tmp_path: Path) -> None:
    path = stream(
        tmp_path / "r.jsonl",
        ["a", "b"],
        [
            outcome("c1", "a", Verdict.PASS),
            outcome("c1", "b", Verdict.PASS),
            outcome("c2", "a", Verdict.TIMEOUT),
        ],
    )
    _, html, _ = write_reports(read_results(path), tmp_path)
    row = html.read_text().split('data-claim="c2"')[1].split("</tr>")[0]
    assert ">timeout</a>" in row and "not run" in row


def test_integrity_problems_and_expected_failures_by_kind_reach_every_report(tmp_path: Path) -> None:
    from gradspec.conformance.integrity import IntegrityProblem

    def listed(kind: str | None) -> dict:
        entry = {"listed": "fail", "reason": "known", "source": "e.toml", "was": "fail"}
        return {"expectation": {**entry, "kind": kind} if kind else entry}

    path = stream(
        tmp_path / "r.jsonl",
        ["e"],
        [
            outcome("a", "e", Verdict.EXPECTED_FAILURE, observations=listed("wrong-value")),
            outcome("b", "e", Verdict.EXPECTED_FAILURE, observations=listed("message-text")),
            outcome("c", "e", Verdict.EXPECTED_FAILURE, observations=listed("wrong-value")),
            outcome("d", "e", Verdict.EXPECTED_FAILURE, observations=listed(None)),
            outcome("f", "e", Verdict.PASS),
        ],
    )
    results = read_results(path)
    results.problems.append(IntegrityProblem("e", "a line from the worker is not JSON: 'x'"))
    document = build_document(results)
    jsonschema.validate(document, report_schema(), cls=jsonschema.Draft202012Validator)
    assert document["summary"]["expected_failures_by_kind"] == {
        "message-text": 1,
        "unspecified": 1,
        "wrong-value": 2,
    }
    assert document["integrity"] == [
        {"engine": "e", "case": None, "message": "a line from the worker is not JSON: 'x'"}
    ]
    assert document["summary"]["conforming"] is False
    _, _, summary = write_reports(results, tmp_path)
    text = summary.read_text()
    assert "Integrity errors" in text and "not JSON" in text
    assert "Expected failures by kind: 1 message-text, 1 unspecified, 2 wrong-value." in text
    assert text.rstrip().endswith("is `report.html`.")


def test_junit_failures_carry_the_reason_and_no_character_xml_cannot_hold(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from gradspec.conformance.junit_report import write_junit

    cases = [
        outcome(
            "a", "e", Verdict.FAIL, message="y: expected [6.0], got [7.0]\nmore", counterexample="x = 1\n"
        ),
        outcome("b", "e", Verdict.ERROR, message="RuntimeError: nul\x00 esc\x1b[31m"),
    ]
    tree = ET.parse(write_junit(cases, tmp_path / "junit.xml"))
    failure = tree.find(".//failure")
    assert failure.get("message") == "fail: y: expected [6.0], got [7.0]"
    assert "counterexample:\nx = 1" in failure.text
    error = tree.find(".//error")
    assert error.get("message") == "error: RuntimeError: nul\\x00 esc\\x1b[31m"
