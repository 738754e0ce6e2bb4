"""The gradspec command: exit codes, messages and what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradspec.spec.claims import all_claims

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def gradspec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradspec.conformance.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HYPOTHESIS_PROFILE": "ci"},
    )


def test_conforming_run_exits_0_and_writes_results(tmp_path: Path) -> None:
    done = gradspec("run", "--engine", "torch", "--case", "graph.*", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    results = tmp_path / "out" / "results.jsonl"
    assert f"wrote {Path('out') / 'results.jsonl'}" in done.stdout
    lines = [json.loads(x) for x in results.read_text().splitlines()]
    assert lines[0]["type"] == "run" and all(x["verdict"] == "pass" for x in lines[1:])
    assert (tmp_path / "out" / "junit.xml").exists()


def test_wrong_engine_exits_1(tmp_path: Path) -> None:
    done = gradspec(
        "run",
        "--engine",
        "tests.engines_for_tests:wrong_mul",
        "--case",
        "graph.value",
        "--report-dir",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "expected [6.0], got [7.0]" in done.stdout


def test_unknown_engine_exits_2_before_any_case(tmp_path: Path) -> None:
    from gradspec.conformance.loader import registered_engines

    done = gradspec("run", "--engine", "torch-cpu", "--engine", "nope", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gradspec: error: unknown engine 'nope'; available: "
        + ", ".join(registered_engines())
        + ", torch, or module:attr"
    ]
    assert not (tmp_path / "out" / "results.jsonl").exists()


@pytest.mark.parametrize(
    ("selection", "complaint"),
    [
        (("--case", "no.such.case"), "--case 'no.such.case' selects no claim"),
        (("--case", "graph.value", "--case", "graph.valeu"), "--case 'graph.valeu' selects no claim"),
        (("--level", "pytorch", "--case", "graph.value"), "selects no claim at level pytorch"),
    ],
)
def test_a_selection_of_nothing_is_refused_before_the_run_and_keeps_the_last_reports(
    tmp_path: Path, selection: tuple[str, ...], complaint: str
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.jsonl").write_text("the last run\n")
    done = gradspec("run", "--engine", "torch", *selection, "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert complaint in done.stderr
    assert "gradspec list" in done.stderr
    assert (tmp_path / "out" / "results.jsonl").read_text() == "the last run\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["results.jsonl"]


def test_run_output_names_each_engine_before_its_dots_prints_one_summary_and_ends_with_the_page(
    tmp_path: Path,
) -> None:
    done = gradspec(
        "run",
        "--engine",
        "torch",
        "--engine",
        "reference",
        "--case",
        "graph.value",
        "--report-dir",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("gradspec conformance") == 1
    assert out.count("torch: 1/1") == 1 and out.count("reference: 1/1") == 1
    assert out.index("running 1 case(s) on torch") < out.index("running 1 case(s) on reference")
    assert out.strip().splitlines()[-1] == f"gradspec: open {Path('out') / 'report.html'} for the full report"


def test_engine_with_nothing_applicable_is_not_conforming(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = gradspec("run", "--engine", "torch-cuda", "--case", "graph.*", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert "torch-cuda: no applicable case, nothing verified" in done.stderr
    assert "torch-cuda: no CUDA device here, every case unsupported" in done.stdout
    assert "n/a (0 applicable)" not in done.stdout


def test_max_unsupported_refuses_a_gate_that_verifies_too_little(tmp_path: Path) -> None:
    # declared offers only "graph": the autograd.grad claims are unsupported on it.
    args = (
        "run",
        "--engine",
        "tests.engines_for_tests:declared",
        "--case",
        "graph.value",
        "--case",
        "grad.first-derivative",
        "--case",
        "grad.second-derivative",
        "--report-dir",
        "out",
    )
    assert gradspec(*args, cwd=tmp_path).returncode == 0
    assert gradspec(*args, "--max-unsupported", "2", cwd=tmp_path).returncode == 0
    by_count = gradspec(*args, "--max-unsupported", "1", cwd=tmp_path)
    assert by_count.returncode == 1
    assert "2 of 3 cases unsupported, more than --max-unsupported 1" in by_count.stderr
    assert gradspec(*args, "--max-unsupported", "50%", cwd=tmp_path).returncode == 1
    assert gradspec(*args, "--max-unsupported", "70%", cwd=tmp_path).returncode == 0
    bad = gradspec(*args, "--max-unsupported", "lots", cwd=tmp_path)
    assert bad.returncode == 2 and "a count (5) or a percentage (10%)" in bad.stderr


def test_an_engine_that_fails_to_import_hints_at_the_path(tmp_path: Path) -> None:
    done = gradspec("run", "--engine", "mine.engine:engine", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert f"importable from {tmp_path}" in done.stderr and "PYTHONPATH" in done.stderr


def test_list_json_describes_every_claim(tmp_path: Path) -> None:
    done = gradspec("list", "--json", cwd=tmp_path)
    assert done.returncode == 0
    listed = json.loads(done.stdout)
    assert [c["id"] for c in listed] == [c.id for c in all_claims()]
    for entry in listed:
        assert entry["statement"] and entry["section"] and entry["level"] in ("core", "pytorch")
    assert any(entry["erratum"] for entry in listed)


def test_help_documents_exit_codes(tmp_path: Path) -> None:
    done = gradspec("run", "--help", cwd=tmp_path)
    assert "exit codes:" in done.stdout and "3  the harness itself failed" in done.stdout


def test_expectations_turn_listed_failures_into_a_passing_gate(tmp_path: Path) -> None:
    engine = "tests.engines_for_tests:wrong_mul"
    expect = tmp_path / "expect.toml"
    expect.write_text(f'["{engine}".fail]\n"graph.value" = "mul adds one"\n"graph.dy-dw" = "mul adds one"\n')
    done = gradspec(
        "run",
        "--engine",
        engine,
        "--case",
        "graph.value",
        "--case",
        "graph.dy-dw",
        "--case",
        "graph.is-leaf",
        "--expect",
        str(expect),
        "--report-dir",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [
        json.loads(x).get("verdict") for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    ]
    # mul's extra constant leaves derivatives alone, so graph.dy-dw passes against its listing.
    assert verdicts[1:] == ["expected-failure", "unexpected-pass", "pass"]


def test_unexpected_pass_fails_only_under_strict(tmp_path: Path) -> None:
    expect = tmp_path / "expect.toml"
    expect.write_text('[torch.fail]\n"graph.value" = "thought to be broken"\n')
    base = (
        "run",
        "--engine",
        "torch",
        "--case",
        "graph.value",
        "--expect",
        str(expect),
        "--report-dir",
        "out",
    )
    assert gradspec(*base, cwd=tmp_path).returncode == 0
    strict = gradspec(*base, "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert "graph.value[torch] unexpected-pass" in strict.stderr


def test_malformed_expectations_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    expect = tmp_path / "expect.toml"
    expect.write_text('[torch.fail]\n"no.such.case" = "x"\n')
    done = gradspec("run", "--engine", "torch", "--expect", str(expect), "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert f"{expect}:2" in done.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_baseline_regression_fails_the_gate(tmp_path: Path) -> None:
    good = gradspec("run", "--engine", "torch", "--case", "graph.value", "--report-dir", "base", cwd=tmp_path)
    assert good.returncode == 0
    # The same engine name, now wrong: graph.value regressed against the baseline.
    results = tmp_path / "base" / "results.jsonl"
    text = results.read_text().replace('"engine": "torch"', '"engine": "tests.engines_for_tests:wrong_mul"')
    text = text.replace('"name": "torch"', '"name": "tests.engines_for_tests:wrong_mul"')
    results.write_text(text)
    expect = tmp_path / "expect.toml"
    expect.write_text('["tests.engines_for_tests:wrong_mul".fail]\n"graph.value" = "known"\n')
    done = gradspec(
        "run",
        "--engine",
        "tests.engines_for_tests:wrong_mul",
        "--case",
        "graph.value",
        "--expect",
        str(expect),
        "--baseline",
        str(results),
        "--report-dir",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "graph.value" in done.stdout


def test_unreadable_baseline_exits_2(tmp_path: Path) -> None:
    done = gradspec(
        "run", "--engine", "torch", "--baseline", "missing.jsonl", "--report-dir", "out", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "missing.jsonl" in done.stderr


def test_fail_under(tmp_path: Path) -> None:
    args = (
        "run",
        "--engine",
        "tests.engines_for_tests:wrong_mul",
        "--case",
        "graph.*",
        "--report-dir",
        "out",
    )
    expect = tmp_path / "expect.toml"
    expect.write_text('["tests.engines_for_tests:wrong_mul".fail]\n"graph.*" = "values are off"\n')
    assert gradspec(*args, "--expect", str(expect), cwd=tmp_path).returncode == 0
    low = gradspec(*args, "--expect", str(expect), "--fail-under", "90", cwd=tmp_path)
    assert low.returncode == 1
    assert "under --fail-under 90%" in low.stderr


def test_a_bad_pytest_argument_is_a_usage_error(tmp_path: Path) -> None:
    done = gradspec("run", "--engine", "torch", "--report-dir", "out", "--", "--no-such-option", cwd=tmp_path)
    assert done.returncode == 2
    assert "pytest refused the arguments" in done.stderr


def test_unwritable_report_dir_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    done = gradspec("run", "--engine", "torch", "--report-dir", "taken", cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot write reports to taken" in done.stderr


def test_a_failure_of_the_harness_itself_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from gradspec.conformance import cli, run_command

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug in the supervisor")

    monkeypatch.setattr(run_command, "run_isolated", broken)
    code = cli.main(["run", "--engine", "torch", "--report-dir", str(tmp_path / "out")])
    assert code == 3
    err = capsys.readouterr().err
    assert "ZeroDivisionError: a bug in the supervisor" in err
    assert "internal error in gradspec" in err


def test_gradspec_failing_inside_a_worker_is_named_an_internal_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from gradspec.conformance import cli, run_command
    from gradspec.conformance.isolation import WorkerError

    def failing(*args: object, **kwargs: object) -> None:
        raise WorkerError("gradspec failed inside the worker for torch:\nINTERNALERROR> KeyError")

    monkeypatch.setattr(run_command, "run_isolated", failing)
    code = cli.main(
        ["run", "--engine", "torch", "--case", "graph.value", "--report-dir", str(tmp_path / "out")]
    )
    assert code == 3
    captured = capsys.readouterr()
    assert "gradspec failed inside the worker for torch" in captured.err
    assert "crash" not in captured.out + captured.err


@pytest.mark.slow
def test_coverage_is_saved_with_the_reports_and_printed_on_request(tmp_path: Path) -> None:
    case = "prop.grad-matches-finite-differences"
    ran = gradspec(
        "run", "--engine", "reference", "--case", case, "--coverage", "--report-dir", "out", cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    saved = json.loads((tmp_path / "out" / "coverage.json").read_text())["coverage"]
    (row,) = [r for r in saved if r["case"] == case]
    assert row["catalogue"] and not row["unreached"]
    assert f"| reference | {case} | {len(row['catalogue'])} | {len(row['catalogue'])} |" in ran.stdout
    assert (tmp_path / "out" / "coverage.md").read_text().startswith("# Property coverage")
