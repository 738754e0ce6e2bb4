"""Reading a benchmark run back: timings, ratios to the reference engine, and the gate.

pytest-benchmark's JSON is the one record a bench run leaves; the report and the
gate both start from it, so neither re-runs nor re-derives what the run measured.
A ratio is an engine's median over the reference engine's median *in the same
run*: both ran on the same machine minutes apart, so comparing ratios across runs
asks whether an engine got slower relative to the reference, which a slower (or
busier) machine alone does not change.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    nodes: int | None = None
    series: str | None = None
    description: str = ""
    peak_memory: dict[str, Any] | None = None


@dataclass(frozen=True)
class BenchRun:
    """A whole run: its timings, and what gradspec recorded beside them (engines, skips, errors)."""

    timings: tuple[Timing, ...]
    gradspec: dict[str, Any]
    machine: dict[str, Any]
    when: str

    def median(self, workload: str, engine: str) -> float | None:
        for t in self.timings:
            if t.workload == workload and t.engine == engine:
                return t.median
        return None

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
        kind=str(info.get("kind", "engine")),
        nodes=info.get("nodes"),
        series=info.get("series"),
        description=str(info.get("description", "")),
        peak_memory=info.get("peak_memory"),
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


def ratios(run: BenchRun, reference: str = REFERENCE) -> dict[tuple[str, str], float]:
    """(workload, engine) -> median / the reference engine's median for that workload.

    Above 1 means slower than the reference. Workloads the reference did not
    complete have no ratios: there is nothing in the run to divide by.
    """
    out: dict[tuple[str, str], float] = {}
    for t in run.timings:
        base = run.median(t.workload, reference)
        if base is not None:
            out[(t.workload, t.engine)] = t.median / base
    return out


@dataclass(frozen=True)
class Comparison:
    """One (workload, engine) ratio in the baseline and in this run."""

    workload: str
    engine: str
    baseline_ratio: float
    current_ratio: float
    fail_over: float

    @property
    def change_pct(self) -> float:
        """How much the ratio grew, in percent (negative: the engine gained on the reference)."""
        return (self.current_ratio / self.baseline_ratio - 1.0) * 100.0

    @property
    def regressed(self) -> bool:
        return self.change_pct > self.fail_over


def compare(
    current: BenchRun, baseline: BenchRun, fail_over: float, reference: str = REFERENCE
) -> list[Comparison]:
    """Every (workload, engine) that both runs have a ratio for, the reference itself excepted."""
    before = ratios(baseline, reference)
    now = ratios(current, reference)
    return [
        Comparison(workload, engine, before[(workload, engine)], ratio, fail_over)
        for (workload, engine), ratio in now.items()
        if engine != reference and (workload, engine) in before
    ]
