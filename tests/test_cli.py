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
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_conforming_run_exits_0_and_writes_results(tmp_path: Path) -> None:
    done = gradspec("run", "--engine", "torch", "--case", "graph.*", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    results = tmp_path / "out" / "results.jsonl"
    assert f"results in {Path('out') / 'results.jsonl'}" in done.stdout
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
    done = gradspec("run", "--engine", "torch-cpu", "--engine", "nope", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gradspec: error: unknown engine 'nope'; available: reference, torch-cpu, torch-cuda, "
        "torch, or module:attr"
    ]
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_no_case_selected_exits_2(tmp_path: Path) -> None:
    done = gradspec("run", "--engine", "torch", "--case", "no.such.case", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert "no case selected" in done.stderr


def test_engine_with_nothing_applicable_is_not_conforming(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = gradspec("run", "--engine", "torch-cuda", "--case", "graph.*", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert "torch-cuda: no applicable case, nothing verified" in done.stderr


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
