"""Reading a benchmark run back: timings, ratios to the reference engine, and the gate.

pytest-benchmark's JSON is the one record a bench run leaves; the report and the
gate both start from it, so neither re-runs nor re-derives what the run measured.
A ratio is an engine's median over the reference engine's median *in the same
run*: both ran on the same machine, round for round, so comparing ratios across
runs asks whether an engine got slower relative to the reference, which a slower
machine alone does not change. A busier machine can still move a ratio, so every
ratio carries a bootstrap interval (:mod:`bench_stats`) and the gate judges only
stable ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradspec.conformance.bench_stats import Ratio, ratio_of_medians
from gradspec.conformance.inputs import read_input_text

REFERENCE = "reference"


class BenchResultsError(Exception):
    """A benchmark JSON that cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class Timing:
    """One row of the run: a workload on an engine (or a baseline program), in seconds."""

    workload: str
    engine: str
    median: float
    minimum: float
    iqr: float
    rounds: int
    kind: str = "engine"  # or "baseline"
    q1: float | None = None
    q3: float | None = None
    nodes: int | None = None
    series: str | None = None
    description: str = ""
    peak_memory: dict[str, Any] | None = None
    samples: tuple[float, ...] = ()  # seconds per call, one per round, in round order
    pass_ends: tuple[int, ...] = ()  # the round count after each pass (a full run has three)


@dataclass(frozen=True)
class BenchRun:
    """A whole run: its timings, and what gradspec recorded beside them (engines, skips, errors)."""

    timings: tuple[Timing, ...]
    gradspec: dict[str, Any]
    machine: dict[str, Any]
    when: str

    def timing(self, workload: str, engine: str) -> Timing | None:
        for t in self.timings:
            if t.workload == workload and t.engine == engine:
                return t
        return None

    def median(self, workload: str, engine: str) -> float | None:
        found = self.timing(workload, engine)
        return found.median if found is not None else None

    @property
    def interleaved(self) -> bool:
        """Whether the engines' rounds alternated, so round i of each can be paired."""
        return bool(self.gradspec.get("interleaved"))

    def workloads(self) -> list[str]:
        """Workload names in the order the run met them."""
        return list(dict.fromkeys(t.workload for t in self.timings))


def _timing(entry: dict[str, Any]) -> Timing:
    info = entry.get("extra_info") or {}
    params = entry.get("params") or {}
    workload = info.get("workload") or params.get("workload") or entry.get("group")
    engine = info.get("engine") or params.get("engine")
    if not workload or not engine:
        raise ValueError(f"benchmark {entry.get('name')!r} names no workload and engine")
    stats = entry["stats"]
    median = float(stats["median"])
    if not math.isfinite(median) or median <= 0:
        raise ValueError(f"benchmark {entry.get('name')!r} has median {median!r}")
    return Timing(
        workload=str(workload),
        engine=str(engine),
        median=median,
        minimum=float(stats.get("min", median)),
        iqr=float(stats.get("iqr", 0.0)),
        rounds=int(stats.get("rounds", 0)),
        q1=float(stats["q1"]) if "q1" in stats else None,
        q3=float(stats["q3"]) if "q3" in stats else None,
        kind=str(info.get("kind", "engine")),
        nodes=info.get("nodes"),
        series=info.get("series"),
        description=str(info.get("description", "")),
        peak_memory=info.get("peak_memory"),
        samples=tuple(float(v) for v in stats.get("data") or ()),
        pass_ends=tuple(int(v) for v in info.get("pass_ends") or ()),
    )


def parse_bench(data: Any, source: str) -> BenchRun:
    """A :class:`BenchRun` from pytest-benchmark's JSON object; ``source`` names it in errors."""
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise BenchResultsError(f"{source}: not a pytest-benchmark JSON (no 'benchmarks' list)")
    try:
        timings = tuple(_timing(entry) for entry in data["benchmarks"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BenchResultsError(f"{source}: malformed benchmark entry: {exc}") from exc
    return BenchRun(
        timings=timings,
        gradspec=data.get("gradspec") or {},
        machine=data.get("machine_info") or {},
        when=str(data.get("datetime", "")),
    )


def read_bench(path: str | Path) -> BenchRun:
    """Read a run from ``path``; :class:`BenchResultsError` names the file when it cannot."""
    text = read_input_text(path, "benchmark JSON file", BenchResultsError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchResultsError(f"{path}: not JSON: {exc}") from exc
    return parse_bench(data, str(path))


def ratio_estimates(run: BenchRun, reference: str = REFERENCE) -> dict[tuple[str, str], Ratio]:
    """(workload, engine) -> its :class:`Ratio` to the reference engine's median for that workload.

    Above 1 means slower than the reference. Workloads the reference did not
    complete have no ratios: there is nothing in the run to divide by.
    """
    out: dict[tuple[str, str], Ratio] = {}
    for t in run.timings:
        base = run.timing(t.workload, reference)
        if base is None:
            continue
        if t.samples and base.samples:
            ends = t.pass_ends if t.pass_ends == base.pass_ends else ()
            estimate = ratio_of_medians(t.samples, base.samples, paired=run.interleaved, pass_ends=ends)
            # The table's ratio is the one of its medians, whatever the rounds held.
            value = t.median / base.median
            low, high = min(estimate.low or value, value), max(estimate.high or value, value)
            out[(t.workload, t.engine)] = Ratio(
                value, low, high, estimate.rounds, estimate.pass_ratios, estimate.widened
            )
        else:
            out[(t.workload, t.engine)] = Ratio(t.median / base.median)
    return out


def ratios(run: BenchRun, reference: str = REFERENCE) -> dict[tuple[str, str], float]:
    """(workload, engine) -> median / the reference engine's median (the point values only)."""
    return {key: r.value for key, r in ratio_estimates(run, reference).items()}


@dataclass(frozen=True)
class Comparison:
    """One (workload, engine) ratio in the baseline and in this run, and the gate's verdict on it."""

    workload: str
    engine: str
    baseline: Ratio
    current: Ratio
    fail_over: float

    @property
    def baseline_ratio(self) -> float:
        return self.baseline.value

    @property
    def current_ratio(self) -> float:
        return self.current.value

    @property
    def change_pct(self) -> float:
        """How much the ratio grew, in percent (negative: the engine gained on the reference)."""
        return (self.current_ratio / self.baseline_ratio - 1.0) * 100.0

    @property
    def unstable(self) -> bool:
        """Either side's ratio is unstable, so its median alone cannot decide the verdict."""
        return self.baseline.unstable or self.current.unstable

    @property
    def change_interval(self) -> tuple[float, float] | None:
        """The change in percent from the intervals' extremes: (now's low / baseline's high, the reverse)."""
        b, c = self.baseline, self.current
        if None in (b.low, b.high, c.low, c.high) or not b.low or not b.high:
            return None
        return ((c.low / b.high - 1.0) * 100.0, (c.high / b.low - 1.0) * 100.0)  # type: ignore[operator]

    @property
    def why_unstable(self) -> str:
        parts = [
            f"{side}: {r.why_unstable}" for side, r in (("baseline", self.baseline), ("now", self.current))
        ]
        return "; ".join(p for p in parts if not p.endswith(": "))

    @property
    def regressed(self) -> bool:
        return self.verdict == "slower"

    @property
    def verdict(self) -> str:
        """``slower`` (past --fail-over), ``ok``, or ``unstable``: too noisy to tell, not judged.

        Stable ratios are judged by their medians. An unstable one never is: it
        fails only when even the most favourable ends of the two intervals show
        a change past --fail-over, passes only when even the least favourable
        ends stay within it, and otherwise the gate refuses to judge it.
        """
        if not self.unstable:
            return "slower" if self.change_pct > self.fail_over else "ok"
        extremes = self.change_interval
        if extremes is not None and extremes[0] > self.fail_over:
            return "slower"
        if extremes is not None and extremes[1] <= self.fail_over:
            return "ok"
        return "unstable"


def compare(
    current: BenchRun, baseline: BenchRun, fail_over: float, reference: str = REFERENCE
) -> list[Comparison]:
    """Every (workload, engine) that both runs have a ratio for, the reference itself excepted."""
    before = ratio_estimates(baseline, reference)
    now = ratio_estimates(current, reference)
    return [
        Comparison(workload, engine, before[(workload, engine)], ratio, fail_over)
        for (workload, engine), ratio in now.items()
        if engine != reference and (workload, engine) in before
    ]
