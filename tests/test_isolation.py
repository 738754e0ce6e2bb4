"""Worker isolation: a crashing or hanging engine costs one outcome, not the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradspec.conformance.isolation import describe_exit
from gradspec.spec.claims import all_claims

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def run_gradspec(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
    done = subprocess.run(
        [sys.executable, "-m", "gradspec.conformance.cli", "run", "--report-dir", "out", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HYPOTHESIS_PROFILE": "ci"},
    )
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return done, {f"{r['case']}[{r['engine']}]": r for r in records if r["type"] == "outcome"}


def test_describe_exit() -> None:
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(3) == "exit status 3"


def test_a_segfaulting_case_is_a_crash_and_every_other_case_still_runs(tmp_path: Path) -> None:
    engine = "tests.engines_for_tests:segfault_pow"
    done, got = run_gradspec(
        tmp_path, "--engine", engine, "--engine", "torch", "--case", "graph.value", "--case", "grad.*"
    )
    selected = [c.id for c in all_claims() if c.id.startswith("grad.") or c.id == "graph.value"]
    assert set(got) == {f"{case}[{name}]" for case in selected for name in (engine, "torch")}
    crashed = {k: r for k, r in got.items() if r["verdict"] == "crash"}
    pow_cases = {
        f"{c}[{engine}]"
        for c in selected
        if c.startswith("grad.")
        and c != "grad.multiple-inputs"
        and c != "grad.multiple-outputs-summed"
        and c != "grad.leaves-grad-untouched"
    }
    assert set(crashed) == pow_cases
    for record in crashed.values():
        assert "SIGSEGV" in record["message"]
        assert record["reproduce"].startswith(f"gradspec run --engine {engine} --case grad.")
    others = {k: r["verdict"] for k, r in got.items() if k not in crashed}
    assert set(others.values()) == {"pass"}
    assert done.returncode == 1
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert junit.count("<error") == len(crashed)


def test_a_hanging_case_times_out_and_the_run_continues(tmp_path: Path) -> None:
    engine = "tests.engines_for_tests:hanging_cat"
    done, got = run_gradspec(
        tmp_path,
        "--engine",
        engine,
        "--case",
        "backward.retain-graph",
        "--case",
        "backward.grad-tensors-ones",
        "--case",
        "backward.no-saved-tensors",
        "--timeout",
        "3",
    )
    timed_out = sorted(k for k, r in got.items() if r["verdict"] == "timeout")
    assert timed_out == [f"backward.grad-tensors-ones[{engine}]"]
    assert len(got) == 3
    assert {r["verdict"] for k, r in got.items() if k not in timed_out} == {"pass"}
    assert "per-case limit of 3 s" in got[timed_out[0]]["message"]
    assert done.returncode == 1


def test_in_process_and_isolated_runs_agree(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _, isolated = run_gradspec(a, "--engine", "tests.engines_for_tests:wrong_mul", "--case", "graph.*")
    _, in_process = run_gradspec(
        b, "--engine", "tests.engines_for_tests:wrong_mul", "--case", "graph.*", "--in-process"
    )
    assert {k: r["verdict"] for k, r in isolated.items()} == {k: r["verdict"] for k, r in in_process.items()}


def test_distributed_run_gives_the_same_verdicts_as_a_serial_one(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    args = ("--engine", "tests.engines_for_tests:wrong_mul", "--engine", "torch", "--in-process")
    _, serial = run_gradspec(a, *args)
    _, distributed = run_gradspec(b, *args, "--", "-n", "2")
    assert len(serial) == 2 * len(all_claims())
    assert {k: r["verdict"] for k, r in serial.items()} == {k: r["verdict"] for k, r in distributed.items()}
