"""Benchmark results, ratios, gate and page, on synthetic runs (nothing here is timed).

The gate's promise is about ratios: an engine that slowed relative to the
reference trips it, a machine that slowed everything evenly does not. Synthetic
runs state that exactly, with no timing noise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradspec.conformance.bench import plan_cases, select_workloads
from gradspec.conformance.bench_report import render_bench_page
from gradspec.conformance.bench_results import (
    BenchResultsError,
    compare,
    parse_bench,
    ratios,
    read_bench,
)
from gradspec.conformance.cli import main
from gradspec.conformance.engine import Engine
from gradspec.spec.workloads import BASELINES, CHAIN_SIZES, workload

MEDIANS: dict[tuple[str, str], float] = {
    ("note_graph", "reference"): 20e-6,
    ("note_graph", "torch-cpu"): 100e-6,
    ("logistic_step", "reference"): 80e-6,
    ("logistic_step", "torch-cpu"): 400e-6,
    ("logistic_step", "numpy-hand-derived"): 40e-6,
    **{(f"deep_chain_{n}", "reference"): n * 2e-6 for n in CHAIN_SIZES},
    **{(f"deep_chain_{n}", "torch-cpu"): n * 3e-6 for n in CHAIN_SIZES},
}


def entry(workload_name: str, engine: str, median: float) -> dict[str, Any]:
    """One row as pytest-benchmark and gradspec's bench plugin write it."""
    nodes = int(workload_name.rsplit("_", 1)[1]) if workload_name.startswith("deep_chain") else None
    info: dict[str, Any] = {
        "workload": workload_name,
        "engine": engine,
        "kind": "baseline" if engine == "numpy-hand-derived" else "engine",
        "description": f"the {workload_name} workload",
        "nodes": nodes,
        "series": "deep_chain" if nodes else None,
    }
    if nodes:
        info["peak_memory"] = {
            "nodes": nodes,
            "rss_bytes": nodes * 700,
            "rss_method": "VmHWM after clear_refs",
        }
        if engine == "reference":
            info["peak_memory"]["python_heap_bytes"] = nodes * 600
    return {
        "group": workload_name,
        "name": f"test_bench[{workload_name}-{engine}]",
        "params": {"workload": workload_name, "engine": engine},
        "extra_info": info,
        "stats": {"median": median, "min": median * 0.9, "iqr": median * 0.1, "rounds": 10},
    }


def bench_json(medians: dict[tuple[str, str], float] = MEDIANS, scale: float = 1.0) -> dict[str, Any]:
    return {
        "machine_info": {"python_version": "3.11", "cpu": {"brand_raw": "test cpu", "count": 2}},
        "datetime": "2025-01-01T00:00:00",
        "benchmarks": [entry(w, e, m * scale) for (w, e), m in medians.items()],
        "gradspec": {"engines": [{"name": "reference", "version": "0", "device": "cpu", "description": ""}]},
    }


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


# --- ratios and the gate ----------------------------------------------------------


def test_ratios_divide_by_the_reference_in_the_same_run() -> None:
    found = ratios(parse_bench(bench_json(), "synthetic"))
    assert found[("note_graph", "torch-cpu")] == pytest.approx(5.0)
    assert found[("note_graph", "reference")] == pytest.approx(1.0)
    assert found[("logistic_step", "numpy-hand-derived")] == pytest.approx(0.5)


def test_workload_without_the_reference_has_no_ratio() -> None:
    medians = {("note_graph", "torch-cpu"): 1e-4, ("logistic_step", "reference"): 1e-4}
    assert ("note_graph", "torch-cpu") not in ratios(parse_bench(bench_json(medians), "x"))


def test_a_uniformly_slower_machine_does_not_trip_the_gate() -> None:
    before = parse_bench(bench_json(), "before")
    after = parse_bench(bench_json(scale=3.0), "after")
    comparisons = compare(after, before, fail_over=1.0)
    assert comparisons and not any(c.regressed for c in comparisons)


def test_an_engine_slower_relative_to_the_reference_trips_the_gate() -> None:
    slowed = dict(MEDIANS)
    slowed[("note_graph", "torch-cpu")] *= 1.6
    comparisons = compare(parse_bench(bench_json(slowed), "now"), parse_bench(bench_json(), "base"), 50.0)
    tripped = [(c.workload, c.engine) for c in comparisons if c.regressed]
    assert tripped == [("note_graph", "torch-cpu")]
    assert next(c for c in comparisons if c.regressed).change_pct == pytest.approx(60.0)


def test_the_reference_itself_is_never_compared() -> None:
    comparisons = compare(parse_bench(bench_json(), "a"), parse_bench(bench_json(), "b"), 0.0)
    assert all(c.engine != "reference" for c in comparisons)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not JSON"),
        ('{"benchmarks": 3}', "no 'benchmarks' list"),
        ('{"benchmarks": [{"name": "x", "stats": {}}]}', "malformed benchmark entry"),
        ('{"benchmarks": [{"group": "g", "params": {"engine": "e"}, "stats": {"median": -1}}]}', "median"),
    ],
)
def test_malformed_json_is_an_error_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    path = write(tmp_path / "base.json", content)
    with pytest.raises(BenchResultsError, match=reason) as caught:
        read_bench(path)
    assert str(path) in str(caught.value)


# --- the command on recorded runs -------------------------------------------------


def bench(*args: str) -> int:
    return main(["bench", *args])


def test_gate_exit_codes_from_recorded_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write(tmp_path / "base.json", bench_json())
    slowed = dict(MEDIANS)
    slowed[("logistic_step", "torch-cpu")] *= 2
    now = write(tmp_path / "now.json", bench_json(slowed))
    out = str(tmp_path / "out")
    assert (
        bench("--from-json", str(base), "--compare", str(base), "--fail-over", "0", "--report-dir", out) == 0
    )
    assert (
        bench("--from-json", str(now), "--compare", str(base), "--fail-over", "50", "--report-dir", out) == 1
    )
    assert "SLOWER" in capsys.readouterr().out
    assert (
        bench("--from-json", str(now), "--compare", str(base), "--fail-over", "150", "--report-dir", out) == 0
    )


def test_malformed_or_missing_baseline_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path / "now.json", bench_json())
    for baseline in (write(tmp_path / "bad.json", "[1, 2"), tmp_path / "absent.json"):
        code = bench("--from-json", str(good), "--compare", str(baseline), "--fail-over", "10")
        assert code == 2
        assert str(baseline) in capsys.readouterr().err


def test_gate_option_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = str(write(tmp_path / "now.json", bench_json()))
    assert bench("--from-json", good, "--compare", good) == 2
    assert "--fail-over" in capsys.readouterr().err
    assert bench("--from-json", good, "--fail-over", "10") == 2
    assert bench() == 2
    assert bench("--engine", "no-such-engine") == 2
    assert "unknown engine 'no-such-engine'" in capsys.readouterr().err


def test_a_baseline_sharing_nothing_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = write(tmp_path / "now.json", bench_json())
    other = write(tmp_path / "other.json", bench_json({("fan_out_1000", "reference"): 1e-3}))
    assert bench("--from-json", str(now), "--compare", str(other), "--fail-over", "10") == 2
    assert "nothing to compare" in capsys.readouterr().err


# --- the page ---------------------------------------------------------------------


def test_page_has_ratios_bars_scaling_and_memory() -> None:
    page = render_bench_page(parse_bench(bench_json(), "synthetic"))
    # a bar chart per group, then the ratios, the scaling curve and the memory curve
    assert page.count("<svg") >= len({w for w, _ in MEDIANS}) + 3
    assert "deep chain: backward time per node" in page
    assert "deep chain: peak memory of build + backward" in page
    assert 'data-label="torch-cpu"' in page  # the scaling curve of each engine
    assert "5.00x the time (5.00x slower)" in page
    assert "0.50x the time (2.00x faster)" in page  # the NumPy baseline row
    assert "numpy-hand-derived (baseline)" in page
    assert "<script" not in page  # self-contained and static


def test_page_escapes_engine_names() -> None:
    hostile = {("note_graph", "reference"): 1e-5, ("note_graph", "<script>alert(1)</script>"): 2e-5}
    page = render_bench_page(parse_bench(bench_json(hostile), "x"))
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_page_warns_when_the_machine_was_busy() -> None:
    data = bench_json()
    data["gradspec"]["load_average"] = {"before": 5.0, "after": 4.0, "cpus": 2}
    assert "the machine was busy" in render_bench_page(parse_bench(data, "x"))
    data["gradspec"]["load_average"] = {"before": 0.1, "after": 0.2, "cpus": 2}
    assert "the machine was busy" not in render_bench_page(parse_bench(data, "x"))


def test_page_without_the_reference_says_so() -> None:
    page = render_bench_page(parse_bench(bench_json({("note_graph", "torch-cpu"): 1e-4}), "x"))
    assert "reference is not in this run: no ratios." in page


# --- planning the run -------------------------------------------------------------


def test_quick_mode_keeps_chains_up_to_ten_thousand_nodes() -> None:
    names = [w.name for w in select_workloads([], quick=True)]
    assert "deep_chain_10000" in names and "deep_chain_100000" not in names
    assert "deep_chain_1000000" in [w.name for w in select_workloads([], quick=False)]
    assert [w.name for w in select_workloads(["note_*", "mlp_small"], quick=False)] == [
        "note_graph",
        "mlp_small",
    ]


def test_baseline_rows_join_their_workload_group() -> None:
    engine = Engine(name="e", namespace=object())
    cases = plan_cases([("e", engine)], [workload("note_graph"), workload("logistic_step")])
    assert [c.id for c in cases] == ["note_graph-e", "logistic_step-e", "logistic_step-numpy-hand-derived"]
    assert cases[2].extra_info()["kind"] == "baseline"


def test_hand_derived_step_follows_the_engines_step() -> None:
    """The baseline row is only a floor if it computes the same step: same losses, step after step."""
    torch = pytest.importorskip("torch")
    engine_step = workload("logistic_step").prepare(torch).run
    numpy_step = BASELINES[0].prepare().run
    engine_losses = [engine_step().item() for _ in range(8)]
    numpy_losses = [numpy_step() for _ in range(8)]
    assert numpy_losses == pytest.approx(engine_losses, rel=1e-5)
