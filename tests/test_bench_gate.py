"""``gradspec bench`` end to end, on short real runs of the reference engine.

The engines below are loaded by the command as ``tests.test_bench_gate:...``. The
slowed one spins for a millisecond of CPU time in every ``tensor()`` call (the
bench times CPU time, which a sleep would not spend), which on the note's
graph (two leaves, tens of microseconds of work) multiplies its ratio to the
reference many times over: the gate trips on that, not on timing noise. The gate
runs time the note's graph in a full run (many short interleaved rounds) rather
than --quick, so the ratios they compare are stable. No test asserts a time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gradspec.conformance.engine import Engine
from gradspec.conformance.loader import load_engine

ROOT = Path(__file__).resolve().parents[1]
HERE = "tests.test_bench_gate"


class Wrapped:
    """The reference engine's namespace with some functions replaced."""

    def __init__(self, **replaced: Any) -> None:
        self._inner = load_engine("reference").namespace
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        if name in self._replaced:
            return self._replaced[name]
        return getattr(self._inner, name)


def _candidate(namespace: Any, description: str) -> Engine:
    reference = load_engine("reference")
    return Engine(
        name="candidate", namespace=namespace, capabilities=reference.capabilities, description=description
    )


def candidate() -> Engine:
    """The reference engine under another name: the engine a baseline run records."""
    return _candidate(Wrapped(), "the reference engine, renamed")


def slowed_candidate() -> Engine:
    """The same engine, a millisecond slower per tensor created: the regression the gate must catch."""
    inner = load_engine("reference").namespace

    def slow_tensor(*args: Any, **kwargs: Any) -> Any:
        until = time.process_time() + 1e-3
        while time.process_time() < until:
            pass
        return inner.tensor(*args, **kwargs)

    return _candidate(Wrapped(tensor=slow_tensor), "the reference engine, slowed on purpose")


def broken_candidate() -> Engine:
    """An engine whose cat raises: the fan-out workload fails on it."""

    def no_cat(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("cat is not implemented in this engine")

    return _candidate(Wrapped(cat=no_cat), "the reference engine without cat")


def gradspec_bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradspec.conformance.cli", "bench", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


QUICK_NOTE_GRAPH = ("--workload", "note_graph", "--quick", "--no-memory")
NOTE_GRAPH = ("--workload", "note_graph", "--no-memory")


def assert_quiet(done: subprocess.CompletedProcess[str]) -> None:
    """No warnings, no third-party chatter; the last line says which file to open."""
    assert "Warning" not in done.stderr and "Warning" not in done.stdout, done.stderr
    assert "Wrote benchmark data" not in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("gradspec bench: open ") and "bench.html" in last, last


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded run of the reference and the (unslowed) candidate on the note's graph."""
    cwd = tmp_path_factory.mktemp("bench")
    done = gradspec_bench(
        "--engine",
        "reference",
        "--engine",
        f"{HERE}:candidate",
        *NOTE_GRAPH,
        "--report-dir",
        "base",
        cwd=cwd,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert_quiet(done)
    return cwd / "base"


def test_run_writes_benchmark_json_grouped_by_workload(baseline: Path) -> None:
    data = json.loads((baseline / "bench.json").read_text())
    rows = {(b["group"], b["params"]["engine"]) for b in data["benchmarks"]}
    assert rows == {("note_graph", "reference"), ("note_graph", "candidate")}
    assert {e["name"] for e in data["gradspec"]["engines"]} == {"reference", "candidate"}
    assert all(b["stats"]["median"] > 0 for b in data["benchmarks"])
    # every round kept, interleaved, so each ratio's interval can be computed from the file
    assert data["gradspec"]["interleaved"] is True
    rounds = [len(b["stats"]["data"]) for b in data["benchmarks"]]
    assert len(set(rounds)) == 1 and rounds[0] >= 5
    # the thread pools were pinned for the timing processes: three passes, each a fresh process
    assert set(data["gradspec"]["threads"].values()) == {"1"}
    passes = data["gradspec"]["passes"]
    assert passes["done"] == passes["of"] == 3 and len(set(passes["pids"])) == 3
    assert all(len(b["extra_info"]["pass_ends"]) == 3 for b in data["benchmarks"])


def test_run_writes_the_page(baseline: Path) -> None:
    page = (baseline / "bench.html").read_text()
    assert "<svg" in page and "note_graph" in page and "time relative to reference, per workload" in page
    assert "95% interval" in page


def test_gate_trips_on_a_deliberately_slowed_engine(baseline: Path) -> None:
    done = gradspec_bench(
        "--engine",
        "reference",
        "--engine",
        f"{HERE}:slowed_candidate",
        *NOTE_GRAPH,
        "--report-dir",
        "now",
        "--compare",
        str(baseline / "bench.json"),
        "--fail-over",
        "50",
        cwd=baseline.parent,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SLOWER" in done.stdout
    assert "worsened by more than 50%" in done.stderr
    assert_quiet(done)


def test_gate_passes_against_an_identical_baseline(baseline: Path) -> None:
    recorded = str(baseline / "bench.json")
    done = gradspec_bench(
        "--from-json",
        recorded,
        "--compare",
        recorded,
        "--fail-over",
        "50",
        "--report-dir",
        "same",
        cwd=baseline.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "+0.0%" in done.stdout


def test_malformed_baseline_exits_2_before_running(tmp_path: Path) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text('{"benchmarks": [')
    done = gradspec_bench(
        "--engine", "reference", *QUICK_NOTE_GRAPH, "--compare", str(bad), "--fail-over", "10", cwd=tmp_path
    )
    assert done.returncode == 2
    assert str(bad) in done.stderr
    assert not (tmp_path / "reports").exists()


def test_deep_chain_records_scaling_and_peak_memory(tmp_path: Path) -> None:
    done = gradspec_bench("--engine", "reference", "--workload", "deep_chain_1000", "--quick", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_quiet(done)
    (row,) = json.loads((tmp_path / "reports" / "bench.json").read_text())["benchmarks"]
    assert row["extra_info"]["nodes"] == 1000 and row["extra_info"]["series"] == "deep_chain"
    memory = row["extra_info"]["peak_memory"]
    assert "error" not in memory, memory
    assert memory["python_heap_bytes"] > 0  # tracemalloc, since the reference engine is not torch
    page = (tmp_path / "reports" / "bench.html").read_text()
    assert "deep chain: backward time per node" in page and "Peak memory" in page


def test_a_workload_failing_on_an_engine_exits_1_and_is_reported(tmp_path: Path) -> None:
    done = gradspec_bench(
        "--engine",
        "reference",
        "--engine",
        f"{HERE}:broken_candidate",
        "--workload",
        "fan_out_*",
        "--quick",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "cat is not implemented" in done.stderr
    data = json.loads((tmp_path / "reports" / "bench.json").read_text())
    assert [b["params"]["engine"] for b in data["benchmarks"]] == ["reference"]
    assert "cat is not implemented" in (tmp_path / "reports" / "bench.html").read_text()


def test_torch_and_the_numpy_baseline_share_the_logistic_group(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    done = gradspec_bench(
        "--engine",
        "reference",
        "--engine",
        "torch-cpu",
        "--workload",
        "logistic_step",
        "--quick",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "reports" / "bench.json").read_text())
    assert [b["params"]["engine"] for b in data["benchmarks"]] == [
        "reference",
        "torch-cpu",
        "numpy-hand-derived",
    ]
    assert {b["group"] for b in data["benchmarks"]} == {"logistic_step"}
    assert_quiet(done)  # no divide-by-zero warning from the NumPy step


def test_an_unavailable_engine_is_listed_as_not_run(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here, so torch-cuda runs")
    done = gradspec_bench("--engine", "reference", "--engine", "torch-cuda", *QUICK_NOTE_GRAPH, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = json.loads((tmp_path / "reports" / "bench.json").read_text())["gradspec"]["skipped"]
    assert [s["item"] for s in skipped] == ["note_graph[torch-cuda]"]
    assert "no CUDA device here" in skipped[0]["reason"]
    assert "no CUDA device here" in (tmp_path / "reports" / "bench.html").read_text()


def test_an_interrupted_run_keeps_the_passes_it_finished_and_says_so(tmp_path: Path) -> None:
    """Ctrl-C in pass 2: exit 1 (the gate cannot pass), pass 1's rounds kept, reportable."""
    report = tmp_path / "out"
    bench_process = subprocess.Popen(
        [sys.executable, "-m", "gradspec.conformance.cli", "bench", "--engine", "reference", *NOTE_GRAPH]
        + ["--report-dir", str(report)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and bench_process.poll() is None:
        try:
            if json.loads((report / "bench.json").read_text())["gradspec"]["passes"]["done"] == 1:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    os.killpg(bench_process.pid, signal.SIGINT)
    _, err = bench_process.communicate(timeout=60)
    assert bench_process.returncode == 1, err
    assert "interrupted after 1 of 3 passes" in err and "--from-json" in err, err
    data = json.loads((report / "bench.json").read_text())
    assert data["gradspec"]["passes"]["done"] == 1
    assert all(len(b["extra_info"]["pass_ends"]) == 1 for b in data["benchmarks"])
    shown = gradspec_bench(
        "--from-json", str(report / "bench.json"), "--report-dir", str(report), cwd=tmp_path
    )
    assert shown.returncode == 0 and "stopped after pass 1 of 3" in (report / "bench.html").read_text()
