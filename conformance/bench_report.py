"""The benchmark page: medians, ratios to the reference engine, scaling and memory, as one HTML file.

Everything is computed from the :class:`BenchRun` read back from pytest-benchmark's
JSON, and drawn with the inline-SVG primitives of :mod:`gradspec.conformance.svg`,
so the page opens offline and says nothing the JSON does not hold.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from gradspec.conformance.bench_results import REFERENCE, BenchRun, Timing, ratios
from gradspec.conformance.svg import Bar, Series, bar_chart, line_chart

TEMPLATES = Path(__file__).with_name("templates")
SCALING_SERIES = "deep_chain"


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit that reads best for ``seconds`` (s, ms, µs or ns) and its size in seconds."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return unit, scale
    return "ns", 1e-9


def format_seconds(seconds: float) -> str:
    """A duration in the unit that reads best, to three figures."""
    unit, scale = time_unit(seconds)
    return f"{seconds / scale:.3g} {unit}"


def format_bytes(count: float | None) -> str:
    if count is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count:.0f} B"


@dataclass(frozen=True)
class Row:
    engine: str
    kind: str
    median: str
    minimum: str
    iqr: str
    rounds: int
    ratio: str


@dataclass(frozen=True)
class Group:
    workload: str
    description: str
    rows: list[Row]
    chart: Markup


def _ratio_text(ratio: float | None, reference: str, engine: str) -> str:
    if ratio is None:
        return "-"
    if engine == reference:
        return "1 (reference)"
    if ratio >= 1:
        return f"{ratio:.2f}x the time ({ratio:.2f}x slower)"
    return f"{ratio:.2f}x the time ({1 / ratio:.2f}x faster)"


def _spread(values: list[float]) -> bool:
    positive = [v for v in values if v > 0]
    return len(positive) > 1 and max(positive) / min(positive) > 50


def groups(run: BenchRun, reference: str) -> list[Group]:
    """One table and bar chart of medians per workload, engines and baselines side by side."""
    found = ratios(run, reference)
    out = []
    for name in run.workloads():
        timings = [t for t in run.timings if t.workload == name]
        unit, scale = time_unit(max(t.median for t in timings))
        chart = bar_chart(
            [
                Bar(t.engine, t.median / scale, low=t.minimum / scale, high=(t.median + t.iqr) / scale)
                for t in timings
            ],
            title=f"{name}: median time",
            value_label=f"{unit} per run (bar: median; whisker: min to median+IQR)",
            log=_spread([t.median for t in timings]),
        )
        rows = [
            Row(
                t.engine,
                t.kind,
                format_seconds(t.median),
                format_seconds(t.minimum),
                format_seconds(t.iqr),
                t.rounds,
                _ratio_text(found.get((t.workload, t.engine)), reference, t.engine),
            )
            for t in timings
        ]
        out.append(
            Group(name, run.gradspec.get("workloads", {}).get(name, timings[0].description), rows, chart)
        )
    return out


def ratio_charts(run: BenchRun, reference: str) -> list[Markup]:
    """Per engine other than the reference, its ratio on every workload (log scale: 1 is parity)."""
    found = ratios(run, reference)
    by_engine: dict[str, list[Bar]] = defaultdict(list)
    for (workload, engine), ratio in found.items():
        if engine != reference:
            by_engine[engine].append(Bar(workload, ratio))
    charts = []
    for engine, bars in by_engine.items():
        values = [b.value for b in bars]
        lo = 10.0 ** math.floor(math.log10(min([*values, 1.0])))
        hi = 10.0 ** math.ceil(math.log10(max([*values, 1.0]) * 1.0001))
        charts.append(
            bar_chart(
                bars,
                title=f"{engine}: time relative to {reference}",
                value_label=f"median / {reference}'s median (log; above 1 is slower)",
                log=True,
                value_range=(lo, hi if hi > lo else lo * 10),
            )
        )
    return charts


def _series_timings(run: BenchRun) -> dict[str, list[Timing]]:
    by_engine: dict[str, list[Timing]] = defaultdict(list)
    for t in run.timings:
        if t.series == SCALING_SERIES and t.nodes:
            by_engine[t.engine].append(t)
    return {e: sorted(ts, key=lambda t: t.nodes or 0) for e, ts in by_engine.items()}


def scaling_chart(run: BenchRun) -> Markup | None:
    """Backward time per node against chain length, log-log: flat means linear time."""
    series = [
        Series(engine, [(t.nodes, t.median / t.nodes * 1e9) for t in ts if t.nodes], markers=True)
        for engine, ts in _series_timings(run).items()
    ]
    if not series:
        return None
    return line_chart(
        series,
        title="deep chain: backward time per node",
        x_label="nodes in the chain",
        y_label="ns per node (median)",
        log_x=True,
        log_y=True,
    )


def memory_rows(run: BenchRun) -> list[dict[str, Any]]:
    rows = []
    for engine, ts in _series_timings(run).items():
        for t in ts:
            memory = t.peak_memory or {}
            rss, heap = memory.get("rss_bytes"), memory.get("python_heap_bytes")
            cuda = memory.get("cuda_bytes")
            rows.append(
                {
                    "engine": engine,
                    "nodes": f"{t.nodes:,}",
                    "time_per_node": format_seconds(t.median / (t.nodes or 1)),
                    "rss": format_bytes(rss),
                    "rss_per_node": format_bytes(rss / t.nodes) if rss and t.nodes else "-",
                    "heap": format_bytes(heap),
                    "heap_per_node": format_bytes(heap / t.nodes) if heap and t.nodes else "-",
                    "cuda": format_bytes(cuda),
                    "method": memory.get("rss_method", ""),
                    "error": memory.get("error", ""),
                }
            )
    return rows


def memory_chart(run: BenchRun) -> Markup | None:
    """Peak resident growth (and the Python heap where measured) against chain length, log-log."""
    series = []
    for engine, ts in _series_timings(run).items():
        rss = [(t.nodes, t.peak_memory["rss_bytes"]) for t in ts if (t.peak_memory or {}).get("rss_bytes")]
        heap = [
            (t.nodes, t.peak_memory["python_heap_bytes"])
            for t in ts
            if (t.peak_memory or {}).get("python_heap_bytes")
        ]
        if rss:
            series.append(Series(f"{engine} (resident)", rss, markers=True))
        if heap:
            series.append(Series(f"{engine} (tracemalloc)", heap, dashed=True, markers=True))
    if not series:
        return None
    return line_chart(
        series,
        title="deep chain: peak memory of build + backward",
        x_label="nodes in the chain",
        y_label="bytes",
        log_x=True,
        log_y=True,
    )


def busy(load: dict[str, Any]) -> bool:
    """Whether the load average reached the CPU count at either end of the run."""
    cpus = load.get("cpus") or 0
    return bool(cpus) and any((load.get(k) or 0) >= cpus for k in ("before", "after"))


def render_bench_page(run: BenchRun, reference: str = REFERENCE) -> str:
    """The whole page as a string (autoescaped; the charts are pre-escaped SVG)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    engines = run.gradspec.get("engines", [])
    has_reference = any(t.engine == reference for t in run.timings)
    return env.get_template("bench.html.j2").render(
        run=run,
        reference=reference,
        has_reference=has_reference,
        engines=engines,
        machine=run.machine,
        groups=groups(run, reference),
        ratio_charts=ratio_charts(run, reference),
        scaling=scaling_chart(run),
        memory=memory_rows(run),
        memory_chart=memory_chart(run),
        failed=run.gradspec.get("failed", []),
        skipped=run.gradspec.get("skipped", []),
        busy=busy(run.gradspec.get("load_average") or {}),
        quick=run.gradspec.get("quick", False),
    )


def write_bench_page(run: BenchRun, path: Path, reference: str = REFERENCE) -> Path:
    """Write the page to ``path`` (creating its folder) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_bench_page(run, reference), encoding="utf-8")
    return path
