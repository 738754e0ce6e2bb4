"""Benchmark results, ratios and their intervals, the gate, the timing loop and the page,
on synthetic runs and a fake clock (nothing here is timed).

The gate's promise is about ratios: an engine that slowed relative to the
reference trips it, a machine that slowed everything evenly does not, and a
ratio too noisy to tell is neither passed nor failed. Synthetic runs state that
exactly, with no timing noise.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradspec.conformance import svg
from gradspec.conformance.bench import (
    FULL,
    QUICK,
    Outcome,
    Settings,
    Subject,
    measure,
    pass_settings,
    run_benchmarks,
    select_workloads,
    subjects_for,
)
from gradspec.conformance.bench_report import render_bench_page, run_colours
from gradspec.conformance.bench_results import (
    BenchResultsError,
    compare,
    parse_bench,
    ratio_estimates,
    ratios,
    read_bench,
)
from gradspec.conformance.bench_stats import (
    MIN_ROUNDS,
    UNSTABLE_SPREAD,
    between_pass_interval,
    ratio_of_medians,
)
from gradspec.conformance.cli import main
from gradspec.conformance.engine import Engine
from gradspec.conformance.loader import load_engine
from gradspec.spec.workloads import BASELINES, CHAIN_SIZES, LARGE_CHAIN, Trial, workload

MEDIANS: dict[tuple[str, str], float] = {
    ("note_graph", "reference"): 20e-6,
    ("note_graph", "torch-cpu"): 100e-6,
    ("logistic_step", "reference"): 80e-6,
    ("logistic_step", "torch-cpu"): 400e-6,
    ("logistic_step", "numpy-hand-derived"): 40e-6,
    **{(f"deep_chain_{n}", "reference"): n * 2e-6 for n in CHAIN_SIZES},
    **{(f"deep_chain_{n}", "torch-cpu"): n * 3e-6 for n in CHAIN_SIZES},
}


def rounds_around(median: float, spread: float = 0.02, count: int = 20) -> list[float]:
    """``count`` round times centred on ``median``, evenly within +-``spread`` of it (deterministic)."""
    return [median * (1 + spread * (2 * i / (count - 1) - 1)) for i in range(count)]


def entry(
    workload_name: str, engine: str, median: float, samples: list[float] | None = None
) -> dict[str, Any]:
    """One row as ``gradspec bench`` writes it (pytest-benchmark's shape, every round in ``data``)."""
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
    data = samples if samples is not None else rounds_around(median)
    return {
        "group": workload_name,
        "name": f"{workload_name}[{engine}]",
        "params": {"workload": workload_name, "engine": engine},
        "extra_info": info,
        "stats": {
            "median": float(np.median(data)),
            "min": min(data),
            "q1": float(np.quantile(data, 0.25)),
            "q3": float(np.quantile(data, 0.75)),
            "iqr": float(np.quantile(data, 0.75) - np.quantile(data, 0.25)),
            "rounds": len(data),
            "data": data,
        },
    }


def bench_json(
    medians: dict[tuple[str, str], float] = MEDIANS,
    scale: float = 1.0,
    samples: dict[tuple[str, str], list[float]] | None = None,
) -> dict[str, Any]:
    samples = samples or {}
    return {
        "machine_info": {"python_version": "3.11", "cpu": {"brand_raw": "test cpu", "count": 2}},
        "datetime": "2025-01-01T00:00:00",
        "benchmarks": [
            entry(w, e, m * scale, [v * scale for v in samples[(w, e)]] if (w, e) in samples else None)
            for (w, e), m in medians.items()
        ],
        "gradspec": {
            "engines": [{"name": "reference", "version": "0", "device": "cpu", "description": ""}],
            "interleaved": True,
        },
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


def test_gate_option_errors_exit_2(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    good = str(write(tmp_path / "now.json", bench_json()))
    assert bench("--from-json", good, "--compare", good) == 2
    assert "--fail-over" in capfd.readouterr().err
    assert bench("--from-json", good, "--fail-over", "10") == 2
    assert bench() == 2
    # the timing runs in a child process with pinned thread pools; its error and exit code come back
    assert bench("--engine", "no-such-engine") == 2
    assert "unknown engine 'no-such-engine'" in capfd.readouterr().err
    assert bench("--engine", "no-such-engine", "--threads", "0") == 2
    assert "unknown engine 'no-such-engine'" in capfd.readouterr().err


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


def test_page_says_how_the_passes_made_the_interval_and_when_a_run_stopped_early() -> None:
    data = bench_json()
    data.setdefault("gradspec", {})["passes"] = {"done": 3, "of": 3, "pids": [1, 2, 3]}
    page = render_bench_page(parse_bench(data, "x"))
    assert "its 3 passes, each timed in a fresh process" in page and "stopped after pass" not in page
    data["gradspec"]["passes"] = {"done": 2, "of": 3, "pids": [1, 2]}
    page = render_bench_page(parse_bench(data, "x"))
    assert "This run stopped after pass 2 of 3" in page
    assert "passes, each timed" not in render_bench_page(parse_bench(bench_json(), "x"))  # none recorded


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


# --- unstable ratios --------------------------------------------------------------


def noisy(median: float) -> list[float]:
    """Rounds that disagree by a factor of three: no interval can be tight."""
    return [median * f for f in itertools.islice(itertools.cycle([0.5, 1.0, 1.5]), 21)]


def test_every_ratio_carries_an_interval_and_tight_rounds_are_stable() -> None:
    found = ratio_estimates(parse_bench(bench_json(), "synthetic"))
    ratio = found[("note_graph", "torch-cpu")]
    assert ratio.low is not None and ratio.high is not None
    assert ratio.low <= ratio.value <= ratio.high and ratio.value == pytest.approx(5.0)
    assert not ratio.unstable


def test_noisy_rounds_make_the_ratio_unstable() -> None:
    data = bench_json(samples={("note_graph", "torch-cpu"): noisy(100e-6)})
    ratio = ratio_estimates(parse_bench(data, "x"))[("note_graph", "torch-cpu")]
    assert ratio.spread is not None and ratio.spread > UNSTABLE_SPREAD
    assert ratio.unstable and "interval spans a factor" in ratio.why_unstable


def test_a_ratio_without_round_data_is_unstable() -> None:
    data = bench_json()
    for row in data["benchmarks"]:
        del row["stats"]["data"]
    ratio = ratio_estimates(parse_bench(data, "x"))[("note_graph", "torch-cpu")]
    assert ratio.low is None and ratio.unstable and "no per-round data" in ratio.why_unstable


def test_paired_rounds_cancel_a_slowdown_both_engines_saw() -> None:
    """Rounds 10-19 ran on a machine twice as busy; interleaved, both engines felt it."""
    load = [1.0] * 10 + [2.0] * 10
    engine = [3e-6 * f * (1 + 0.01 * (i % 3)) for i, f in enumerate(load)]
    reference = [1e-6 * f for f in load]
    paired = ratio_of_medians(engine, reference, paired=True)
    unpaired = ratio_of_medians(engine, reference, paired=False)
    assert paired.spread is not None and unpaired.spread is not None
    assert paired.spread < 1.05 < unpaired.spread


def drifting_rounds() -> tuple[list[float], list[float]]:
    """Three passes of 20 steady rounds; in the last, the engine (not the reference) runs 30% slower."""
    reference = [1e-6 * (1 + 0.01 * (i % 3)) for i in range(60)]
    engine = [r * (2.6 if i >= 40 else 2.0) for i, r in enumerate(reference)]
    return engine, reference


def test_a_ratio_that_moved_between_passes_covers_every_pass_and_says_so() -> None:
    engine, reference = drifting_rounds()
    pooled = ratio_of_medians(engine, reference, paired=True)
    passes = ratio_of_medians(engine, reference, paired=True, pass_ends=[20, 40, 60])
    assert pooled.high is not None and pooled.high < 2.6  # resampled rounds alone hide the drift
    assert passes.pass_ratios == pytest.approx((2.0, 2.0, 2.6)) and passes.widened
    # Student's t over the three passes' log ratios: mean +- t(0.975, 2 df) * s / sqrt(3)
    logs = np.log([2.0, 2.0, 2.6])
    half = 4.303 * np.std(logs, ddof=1) / math.sqrt(3)
    assert passes.low == pytest.approx(math.exp(logs.mean() - half))
    assert passes.high == pytest.approx(math.exp(logs.mean() + half))
    assert passes.low < 2.0 and passes.high > 2.6
    assert passes.unstable and "spread between its passes' ratios (2x, 2x, 2.6x)" in passes.why_unstable


@pytest.mark.parametrize("seed", range(20))
def test_the_between_pass_interval_holds_every_pass_and_narrows_with_agreement(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    ratios = tuple(float(r) for r in 2.0 * np.exp(rng.normal(0.0, 0.05, size=k)))
    low, high = between_pass_interval(ratios)
    assert low <= min(ratios) and max(ratios) <= high
    closer = tuple(2.0 * (r / 2.0) ** 0.1 for r in ratios)  # the same passes, ten times closer together
    low_c, high_c = between_pass_interval(closer)
    assert high_c / low_c < high / low


def test_two_runs_whose_processes_disagree_get_overlapping_intervals() -> None:
    """Each run's rounds are tight, but its three processes differ by a few percent (as measured):
    the rounds alone give intervals that miss each other; with the passes' spread they overlap."""
    rng = np.random.default_rng(1)

    def run(process_ratios: list[float]) -> tuple[list[float], list[float]]:
        reference = list(1e-6 * np.exp(rng.normal(0, 0.01, size=60)))
        engine = [
            r * process_ratios[i // 20] * float(np.exp(rng.normal(0, 0.01))) for i, r in enumerate(reference)
        ]
        return engine, reference

    first, second = run([2.10, 2.13, 2.12]), run([2.22, 2.17, 2.20])
    assert not ratio_of_medians(*first, paired=True).overlaps(ratio_of_medians(*second, paired=True))
    with_passes = [ratio_of_medians(*r, paired=True, pass_ends=[20, 40, 60]) for r in (first, second)]
    assert with_passes[0].overlaps(with_passes[1])


def test_passes_that_agree_leave_the_interval_as_the_rounds_give_it() -> None:
    reference = [1e-6 * (1 + 0.01 * (i % 3)) for i in range(60)]
    engine = [2 * r for r in reference]
    pooled = ratio_of_medians(engine, reference, paired=True)
    passes = ratio_of_medians(engine, reference, paired=True, pass_ends=[20, 40, 60])
    assert not passes.widened and (passes.low, passes.high) == (pooled.low, pooled.high)
    assert not passes.unstable and len(passes.pass_ratios) == 3


def test_pass_ends_travel_through_bench_json_into_the_ratio() -> None:
    engine, reference = drifting_rounds()
    data = bench_json(samples={("note_graph", "torch-cpu"): engine, ("note_graph", "reference"): reference})
    for row in data["benchmarks"]:
        row["extra_info"]["pass_ends"] = [20, 40, 60]
    ratio = ratio_estimates(parse_bench(data, "x"))[("note_graph", "torch-cpu")]
    assert ratio.widened and ratio.unstable and ratio.low < 2.0 < 2.6 < ratio.high


def test_pass_ends_that_do_not_fit_the_rounds_are_ignored() -> None:
    engine, reference = drifting_rounds()
    assert ratio_of_medians(engine, reference, paired=True, pass_ends=[20, 40]).pass_ratios == ()
    assert ratio_of_medians(engine, reference, paired=True, pass_ends=[60]).pass_ratios == ()


def shaky_comparison(factor: float, fail_over: float = 10.0) -> Any:
    """note_graph on torch-cpu ``factor`` times slower now, its rounds disagreeing by a factor of three."""
    slowed = dict(MEDIANS)
    slowed[("note_graph", "torch-cpu")] *= factor
    median = slowed[("note_graph", "torch-cpu")]
    now = parse_bench(bench_json(slowed, samples={("note_graph", "torch-cpu"): noisy(median)}), "now")
    found = {(c.workload, c.engine): c for c in compare(now, parse_bench(bench_json(), "base"), fail_over)}
    assert found[("logistic_step", "torch-cpu")].verdict == "ok"
    return found[("note_graph", "torch-cpu")]


def test_compare_refuses_to_judge_an_unstable_ratio() -> None:
    """Past --fail-over by its median, but its interval reaches below: neither slower nor ok."""
    shaky = shaky_comparison(1.2)
    assert shaky.change_pct > 10.0 and shaky.unstable
    low, high = shaky.change_interval
    assert low < 10.0 < high
    assert shaky.verdict == "unstable" and not shaky.regressed


def test_an_unstable_ratio_is_judged_only_when_its_whole_interval_agrees() -> None:
    slower = shaky_comparison(3.0)  # even the fastest end of now's interval is past +10%
    assert slower.unstable and slower.change_interval[0] > 10.0 and slower.verdict == "slower"
    same = shaky_comparison(1.0, fail_over=500.0)  # even the slowest end stays within +500%
    assert same.unstable and same.change_interval[1] <= 500.0 and same.verdict == "ok"


def test_gate_exits_4_on_an_unstable_ratio_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path / "base.json", bench_json())
    slowed = dict(MEDIANS)
    slowed[("note_graph", "torch-cpu")] *= 1.2
    noisy_now = bench_json(slowed, samples={("note_graph", "torch-cpu"): noisy(120e-6)})
    now = write(tmp_path / "now.json", noisy_now)
    out = str(tmp_path / "out")
    code = bench("--from-json", str(now), "--compare", str(base), "--fail-over", "10", "--report-dir", out)
    captured = capsys.readouterr()
    assert code == 4
    assert "UNSTABLE, not judged" in captured.out
    assert "gate undecided" in captured.err and "neither passed nor failed" in captured.err
    # A stable regression beside it still fails the gate: noise elsewhere hides nothing.
    slowed[("logistic_step", "torch-cpu")] *= 2
    both = write(
        tmp_path / "both.json", bench_json(slowed, samples={("note_graph", "torch-cpu"): noisy(120e-6)})
    )
    assert (
        bench("--from-json", str(both), "--compare", str(base), "--fail-over", "10", "--report-dir", out) == 1
    )
    captured = capsys.readouterr()
    assert "SLOWER" in captured.out and "unstable, not judged" in captured.err


def test_page_marks_unstable_ratios_in_table_and_chart() -> None:
    data = bench_json(samples={("note_graph", "torch-cpu"): noisy(100e-6)})
    page = render_bench_page(parse_bench(data, "x"))
    assert '<tr class="engine unstable">' in page and "unstable: 95% interval spans a factor" in page
    assert 'class="bar unstable"' in page and "5.00x unstable" in page


# --- colours ----------------------------------------------------------------------


def fills_by_label(chart: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for label, fill in re.findall(r'class="bar[^"]*" data-label="([^"]*)"[^>]*? fill="([^"]+)"', chart):
        found.setdefault(label, set()).add(fill)
    return found


def test_one_colour_per_engine_on_every_chart_of_the_page() -> None:
    run = parse_bench(bench_json(), "x")
    colours = run_colours(run)
    assert colours["reference"] == svg.FIXED_ENGINE_COLOURS["reference"]
    assert colours["torch-cpu"] == svg.FIXED_ENGINE_COLOURS["torch-cpu"]
    assert colours["numpy-hand-derived"] == svg.BASELINE_COLOUR
    page = render_bench_page(run)
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    ratio_chart = next(c for c in charts if "time relative to reference" in c)
    for chart in (c for c in charts if c is not ratio_chart):
        for engine, fills in fills_by_label(chart).items():  # the bars of the per-workload charts
            assert fills == {colours[engine]}, (engine, fills)
        for label, stroke in re.findall(
            r'<polyline class="series" data-label="([^"]*)"[^>]*stroke="([^"]+)"', chart
        ):
            assert stroke == colours[label.split(" (")[0]], label  # scaling and memory curves
    # the ratio chart: one bar per (workload, engine), each in its engine's colour, no rainbow
    bar_fills = re.findall(r'class="bar[^"]*"[^>]*? fill="([^"]+)"', ratio_chart)
    assert set(bar_fills) == {colours["torch-cpu"], colours["numpy-hand-derived"]}


def test_engine_colours_are_the_same_whatever_the_order() -> None:
    one = svg.engine_colours(["torch-cpu", "reference", "mine"])
    two = svg.engine_colours(["reference", "mine", "torch-cpu"])
    assert one == two and len(set(one.values())) == 3


# --- the timing loop, on a fake clock ---------------------------------------------


class FakeClock:
    """A clock that moves only when a timed call runs: each call of a subject costs what it says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_subject(name: str, cost: float, clock: FakeClock, log: list[str]) -> Subject:
    def run() -> None:
        log.append(name)
        clock.now += cost

    return Subject(name, "engine", Trial(run))


def test_rounds_interleave_the_engines_and_rotate_who_goes_first() -> None:
    clock, log = FakeClock(), []
    subjects = [fake_subject(n, 1e-3, clock, log) for n in ("reference", "a", "b")]
    settings = Settings(round_s=0, min_rounds=4, max_rounds=4, workload_s=1e9, target_spread=1.0)
    measure(subjects, settings, clock=clock)
    assert log == ["reference", "a", "b", "a", "b", "reference", "b", "reference", "a", "reference", "a", "b"]
    assert all(len(s.samples) == 4 for s in subjects)


def test_rounds_stop_once_every_ratio_is_tight() -> None:
    clock, log = FakeClock(), []
    subjects = [fake_subject("reference", 1e-3, clock, log), fake_subject("a", 2e-3, clock, log)]
    settings = Settings(round_s=0, min_rounds=6, max_rounds=500, workload_s=1e9, target_spread=1.05)
    measure(subjects, settings, clock=clock)
    assert len(subjects[0].samples) == 6  # constant costs: tight from the first check on
    # ...unless the rounds must span some seconds first: 3 ms a round, 0.3 s is a hundred rounds
    for s in subjects:
        s.samples.clear()
    spanning = Settings(
        round_s=0, min_rounds=6, max_rounds=500, workload_s=1e9, target_spread=1.05, min_s=0.3
    )
    measure(subjects, spanning, clock=clock)
    assert len(subjects[0].samples) == 100


def test_past_its_budget_a_workload_stops_at_the_fewest_rounds_an_interval_needs() -> None:
    clock, log = FakeClock(), []
    costs = itertools.cycle([1.0, 3.0])  # a ratio that never settles

    def uneven() -> None:
        clock.now += next(costs)

    subjects = [fake_subject("reference", 1.0, clock, log), Subject("a", "engine", Trial(uneven))]
    settings = Settings(round_s=0, min_rounds=15, max_rounds=80, workload_s=10.0, target_spread=1.01)
    measure(subjects, settings, clock=clock)
    assert len(subjects[0].samples) == MIN_ROUNDS  # 10 s spent after the fourth round, but 5 are needed


def test_the_quick_run_deadline_stops_rounds_even_before_the_minimum() -> None:
    clock, log = FakeClock(), []
    subjects = [fake_subject("reference", 1.0, clock, log), fake_subject("a", 1.0, clock, log)]
    spent = measure(subjects, QUICK, deadline=5.0, clock=clock)
    assert len(subjects[0].samples) == 3 < QUICK.min_rounds  # 2 s a round: past 5 s after the third
    assert spent == pytest.approx(6.0)


def test_a_round_that_raises_drops_that_engine_and_keeps_the_others() -> None:
    clock, log = FakeClock(), []
    calls = itertools.count()

    def flaky() -> None:
        clock.now += 1e-3
        if next(calls) == 2:
            raise RuntimeError("engine fell over")

    subjects = [fake_subject("reference", 1e-3, clock, log), Subject("flaky", "engine", Trial(flaky))]
    settings = Settings(round_s=0, min_rounds=5, max_rounds=5, workload_s=1e9, target_spread=1.0)
    measure(subjects, settings, clock=clock)
    assert subjects[1].error == "RuntimeError: engine fell over" and subjects[1].samples == []
    assert len(subjects[0].samples) == 5


def test_quick_mode_keeps_chains_up_to_ten_thousand_nodes_and_large_adds_the_longest() -> None:
    names = [w.name for w in select_workloads([], quick=True)]
    assert "deep_chain_10000" in names and "deep_chain_100000" not in names
    full = [w.name for w in select_workloads([], quick=False)]
    assert "deep_chain_100000" in full and f"deep_chain_{LARGE_CHAIN}" not in full
    assert f"deep_chain_{LARGE_CHAIN}" in [w.name for w in select_workloads([], quick=False, large=True)]
    assert [w.name for w in select_workloads(["note_*", "mlp_small"], quick=False)] == [
        "note_graph",
        "mlp_small",
    ]


def test_baseline_rows_join_their_workload_and_missing_capabilities_are_skipped() -> None:
    engine = Engine(name="e", namespace=object(), capabilities=frozenset({"graph"}))
    outcome = Outcome()
    assert [s.name for s in subjects_for(workload("logistic_step"), [("e", engine)], outcome)] == [
        "numpy-hand-derived"
    ]
    assert outcome.skipped == [{"item": "logistic_step[e]", "reason": "e lacks in-place, nn, no_grad, optim"}]


def test_hand_derived_step_follows_the_engines_step() -> None:
    """The baseline row is only a floor if it computes the same step: same losses, step after step."""
    torch = pytest.importorskip("torch")
    engine_step = workload("logistic_step").prepare(torch).run
    numpy_step = BASELINES[0].prepare().run
    engine_losses = [engine_step().item() for _ in range(8)]
    numpy_losses = [numpy_step() for _ in range(8)]
    assert numpy_losses == pytest.approx(engine_losses, rel=1e-5)


def test_a_full_run_spreads_each_workloads_rounds_over_passes() -> None:
    first, last = pass_settings(FULL, last=False), pass_settings(FULL, last=True)
    assert FULL.passes == 3 and first.passes == last.passes == 1
    assert first.min_rounds == last.min_rounds == 5 and first.min_s == pytest.approx(FULL.min_s / 3)
    assert first.target_spread == math.inf  # an early pass never stops on a tight interval...
    assert last.target_spread == FULL.target_spread  # ...the last one judges every pass's rounds
    assert pass_settings(QUICK, last=True) is QUICK  # one pass: the quick run's cap stays simple


def test_each_pass_continues_the_rounds_of_the_earlier_ones(tmp_path: Path) -> None:
    """gradspec bench runs each pass in a fresh process: a pass reads the rounds so far from
    bench.json and writes them back with its own, and a subject that failed stays out, once."""
    from tests.test_bench_gate import broken_candidate

    path = tmp_path / "bench.json"
    specs = ["reference", "tests.test_bench_gate:broken_candidate"]
    engines = [load_engine("reference"), broken_candidate()]
    seen: list[dict[str, Any]] = []
    for k in (1, 2):
        run_benchmarks(
            specs,
            path,
            workloads=["fan_out_1000"],
            memory=False,
            engines=engines,
            pass_no=k,
            say=lambda _: None,
        )
        seen.append(json.loads(path.read_text()))
    first, second = ({r["params"]["engine"]: r for r in d["benchmarks"]} for d in seen)
    assert set(first) == set(second) == {"reference"}  # the broken engine's cat raised in pass 1
    n = len(first["reference"]["stats"]["data"])
    assert first["reference"]["extra_info"]["pass_ends"] == [n]
    assert second["reference"]["stats"]["data"][:n] == first["reference"]["stats"]["data"]
    ends = second["reference"]["extra_info"]["pass_ends"]
    assert len(ends) == 2 and n < ends[1] == len(second["reference"]["stats"]["data"])
    assert [d["gradspec"]["passes"]["done"] for d in seen] == [1, 2]
    assert len(seen[1]["gradspec"]["passes"]["pids"]) == 2
    failed = seen[1]["gradspec"]["failed"]
    assert [f["item"] for f in failed] == ["fan_out_1000[candidate]"] and "cat" in failed[0]["error"]


def test_a_pass_outside_the_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pass 4 of a run of 3"):
        run_benchmarks(["reference"], tmp_path / "b.json", workloads=["note_graph"], pass_no=4)


def test_a_later_pass_without_the_earlier_passes_file_is_a_harness_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench("--engine", "reference", "--pass", "2", "--report-dir", str(tmp_path)) == 3
    assert "continues the earlier passes'" in capsys.readouterr().err
