"""gradspec scoreboard: engines side by side from several streams, in HTML and Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gradspec.conformance import scoreboard
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultStream, merge_results


def engine(name: str, version: str) -> dict[str, str]:
    return {"name": name, "version": version, "device": "cpu", "description": f"{name} <b>engine</b>"}


def outcome(case: str, engine_name: str, verdict: Verdict, kind: str | None = None, **fields) -> Outcome:
    observations = {"expectation": {"listed": "fail", "reason": "r", "kind": kind}} if kind else {}
    return Outcome(
        case=case,
        engine=engine_name,
        verdict=verdict,
        level=fields.pop("level", "core"),
        observations=observations,
        **fields,
    )


def stream(path: Path, meta: dict[str, str], outcomes: list[Outcome]) -> Path:
    writer = ResultStream(path, [meta])
    for o in outcomes:
        writer.write(o)
    writer.close()
    return path


@pytest.fixture
def streams(tmp_path: Path) -> list[Path]:
    first = stream(
        tmp_path / "a.jsonl",
        engine("alpha", "1.2"),
        [
            outcome("graph.value", "alpha", Verdict.PASS),
            outcome("rules.accumulate", "alpha", Verdict.EXPECTED_FAILURE, kind="wrong-value"),
            outcome(
                "backward.second-call-message",
                "alpha",
                Verdict.EXPECTED_FAILURE,
                kind="message-text",
                level="pytorch",
            ),
            outcome("logreg.module-converges", "alpha", Verdict.UNSUPPORTED, message="alpha lacks nn"),
        ],
    )
    second = stream(
        tmp_path / "b.jsonl",
        engine("beta<script>", "0.1"),
        [
            outcome("graph.value", "beta<script>", Verdict.FAIL, message="<script>alert(1)</script>"),
            outcome("rules.accumulate", "beta<script>", Verdict.PASS),
        ],
    )
    return [first, second]


def test_columns_carry_versions_scores_unsupported_and_kinds(streams: list[Path]) -> None:
    board = scoreboard.build_scoreboard(merge_results(streams))
    alpha, beta = board.columns
    assert (alpha.name, alpha.version, beta.name, beta.version) == ("alpha", "1.2", "beta<script>", "0.1")
    assert alpha.score.text() == "1/3 (33.3%)" and alpha.score.unsupported == 1 and alpha.total == 4
    assert alpha.expected_text() == "1 wrong-value, 1 message-text"
    assert alpha.gate_passes and not beta.gate_passes
    assert [row.case for row in board.rows][:2] == ["graph.value", "backward.second-call-message"]


def test_markdown_lists_every_engine_with_denominators(streams: list[Path]) -> None:
    text = scoreboard.render_markdown(scoreboard.build_scoreboard(merge_results(streams)))
    assert "| alpha | 1.2 | cpu | 1/3 (33.3%) | 1/2 (50.0%) | 0/1 (0.0%) | 1 of 4 |" in text
    assert "1 wrong-value, 1 message-text | passes |" in text
    assert "| `rules.accumulate` | xfail (wrong-value) | pass |" in text
    assert "| `logreg.module-converges` | n/a | — |" in text


def test_html_is_self_contained_and_escapes_what_engines_report(streams: list[Path]) -> None:
    html = scoreboard.render_html(scoreboard.build_scoreboard(merge_results(streams)))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "xfail (message-text)" in html and "1 of 4" in html


def test_command_writes_both_files_and_refuses_bad_input(streams: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "board"
    args = argparse.Namespace(results=[str(p) for p in streams], out_dir=str(out))
    assert scoreboard.cmd_scoreboard(args) == 0
    assert (out / "scoreboard.html").is_file() and (out / "scoreboard.md").is_file()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    for results in ([str(bad)], [str(tmp_path / "missing.jsonl")]):
        assert scoreboard.cmd_scoreboard(argparse.Namespace(results=results, out_dir=str(out))) == 2


def test_command_registers_on_a_cli(streams: list[Path], tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    scoreboard.add_parser(parser.add_subparsers())
    args = parser.parse_args(["scoreboard", str(streams[0]), "--out-dir", str(tmp_path / "x")])
    assert args.handler(args) == 0
