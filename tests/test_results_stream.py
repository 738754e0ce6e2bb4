"""Reading and merging result streams: truncated, malformed and mismatched inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultsError, ResultStream, merge_results, read_results
from gradspec.spec.claims import SPEC_VERSION


def engine_meta(name: str, device: str = "cpu") -> dict:
    return {"name": name, "version": "1.0", "device": device, "python": "3.11", "platform": "test"}


def write_stream(path: Path, engine: str, verdicts: dict[str, Verdict], device: str = "cpu") -> Path:
    """A result stream written by the real writer: one outcome per (case, verdict)."""
    stream = ResultStream(path, [engine_meta(engine, device)], ["test"])
    for case, verdict in verdicts.items():
        stream.write(
            Outcome(case=case, engine=engine, verdict=verdict, statement=f"{case} holds", section="S")
        )
    stream.close()
    return path


def test_a_stream_reads_back_in_order_and_remembers_its_file(tmp_path: Path) -> None:
    path = write_stream(tmp_path / "a.jsonl", "e", {"c1": Verdict.PASS, "c2": Verdict.FAIL})
    results = read_results(path)
    assert [(o.case, o.verdict) for o in results.outcomes] == [("c1", Verdict.PASS), ("c2", Verdict.FAIL)]
    assert results.spec_version == SPEC_VERSION
    assert results.runs[0]["source"] == str(path)
    assert results.engines() == [engine_meta("e")]


def test_a_line_cut_by_a_kill_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path = write_stream(
        tmp_path / "a.jsonl", "e", {"c1": Verdict.PASS, "c2": Verdict.PASS, "c3": Verdict.FAIL}
    )
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # mid-way through the last record, no newline
    results = read_results(path)
    assert [o.case for o in results.outcomes] == ["c1", "c2"]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("{not json", "not a JSON line"),
        ('{"type": "outcome", "case": "c", "engine": "e", "verdict": "sort-of"}', "malformed outcome record"),
        ('{"type": "outcome", "engine": "e", "verdict": "pass"}', "malformed outcome record"),
        ('{"type": "telemetry"}', "unknown record type 'telemetry'"),
        ("[1, 2, 3]", "unknown record type None"),
    ],
)
def test_a_malformed_line_is_refused_with_file_and_line(tmp_path: Path, line: str, complaint: str) -> None:
    path = write_stream(tmp_path / "bad.jsonl", "e", {"c1": Verdict.PASS})
    lines = path.read_text().splitlines()
    lines.insert(1, line)  # not the last line, so it cannot be a killed run's partial write
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ResultsError, match=complaint) as raised:
        read_results(path)
    assert str(raised.value).startswith(f"{path}:2:")


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"", "no run header"),
        (b"\n\n", "no run header"),
        (b'{"type": "run", "schema": "gradspec-results/1", "spec_ver', "no run header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a text file"),
        (b'{"type": "run", "schema": "other/9", "spec_version": "1", "engines": []}\n', "stream format"),
        (b'{"type": "run", "schema": "gradspec-results/1", "engines": []}\n', "without a spec_version"),
        (
            b'{"type": "outcome", "case": "c", "engine": "e", "verdict": "pass"}\n{}\n',
            "before the run header",
        ),
    ],
)
def test_files_that_are_no_result_stream_are_refused_by_name(
    tmp_path: Path, content: bytes, complaint: str
) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(content)
    with pytest.raises(ResultsError, match=complaint) as raised:
        read_results(path)
    assert str(raised.value).startswith(str(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no such result stream") as raised:
        read_results(tmp_path / "nowhere.jsonl")
    assert "nowhere.jsonl" in str(raised.value)


def test_merging_keeps_every_engine_and_every_run(tmp_path: Path) -> None:
    cpu = write_stream(tmp_path / "cpu.jsonl", "torch-cpu", {"c1": Verdict.PASS, "c2": Verdict.PASS})
    cuda = write_stream(
        tmp_path / "cuda.jsonl", "torch-cuda", {"c1": Verdict.PASS, "c2": Verdict.FAIL}, "cuda"
    )
    merged = merge_results([cpu, cuda])
    assert [e["name"] for e in merged.engines()] == ["torch-cpu", "torch-cuda"]
    assert [r["source"] for r in merged.runs] == [str(cpu), str(cuda)]
    assert [(o.case, o.engine, o.verdict.value) for o in merged.outcomes] == [
        ("c1", "torch-cpu", "pass"),
        ("c2", "torch-cpu", "pass"),
        ("c1", "torch-cuda", "pass"),
        ("c2", "torch-cuda", "fail"),
    ]


def test_a_later_stream_replaces_the_same_case_on_the_same_engine(tmp_path: Path) -> None:
    first = write_stream(tmp_path / "first.jsonl", "e", {"c1": Verdict.FAIL, "c2": Verdict.PASS})
    rerun = write_stream(tmp_path / "rerun.jsonl", "e", {"c1": Verdict.PASS})
    merged = merge_results([first, rerun])
    assert [(o.case, o.verdict) for o in merged.outcomes] == [("c1", Verdict.PASS), ("c2", Verdict.PASS)]


def test_streams_of_different_spec_versions_are_not_merged(tmp_path: Path) -> None:
    current = write_stream(tmp_path / "current.jsonl", "e", {"c1": Verdict.PASS})
    old = tmp_path / "old.jsonl"
    lines = current.read_text().splitlines()
    header = json.loads(lines[0]) | {"spec_version": "0-old"}
    old.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(ResultsError, match="spec version '0-old' differs") as raised:
        merge_results([current, old])
    assert str(raised.value).startswith(str(old))
    assert str(current) in str(raised.value)


def test_merging_refuses_a_malformed_file_by_name(tmp_path: Path) -> None:
    good = write_stream(tmp_path / "good.jsonl", "e", {"c1": Verdict.PASS})
    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not a result stream\n{}\n")
    with pytest.raises(ResultsError) as raised:
        merge_results([good, bad])
    assert str(raised.value).startswith(f"{bad}:1:")


def test_merging_nothing_is_an_error() -> None:
    with pytest.raises(ResultsError, match="no result stream"):
        merge_results([])


def test_integrity_problems_round_trip_and_a_rewrite_replaces_what_others_appended(tmp_path: Path) -> None:
    from gradspec.conformance.integrity import IntegrityProblem
    from gradspec.conformance.results import write_results

    path = write_stream(tmp_path / "r.jsonl", "e", {"graph.value": Verdict.PASS})
    held = read_results(path)
    held.problems.append(IntegrityProblem("e", "the worker reported 'graph.value' twice", "graph.value"))
    with path.open("a") as handle:
        handle.write('{"type": "outcome", "case": "graph.dy-dw", "engine": "e", "verdict": "pass"}\n')
    (tmp_path / "gone").mkdir()
    write_results(held, path)
    again = read_results(path)
    assert [o.case for o in again.outcomes] == ["graph.value"]
    assert again.problems == held.problems
    recreated = write_results(held, tmp_path / "deleted" / "results.jsonl")
    assert read_results(recreated).problems == held.problems
