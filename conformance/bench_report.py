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

from gradspec.conformance.bench_results import REFERENCE, BenchRun, Timing, ratio_estimates
from gradspec.conformance.bench_stats import CONFIDENCE, UNSTABLE_SPREAD, Ratio
from gradspec.conformance.svg import Bar, Series, bar_chart, engine_colours, line_chart

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
    interval: str = ""
    unstable: str = ""  # why the ratio cannot be trusted; empty when it can


@dataclass(frozen=True)
class Group:
    workload: str
    description: str
    rows: list[Row]
    chart: Markup


def run_colours(run: BenchRun) -> dict[str, str]:
    """Each engine's colour for every chart of the page (baselines grey), fixed for gradspec's engines."""
    names = [e.get("name", "") for e in run.gradspec.get("engines", [])]
    names += [t.engine for t in run.timings if t.kind != "baseline"]
    return engine_colours(dict.fromkeys(names), [t.engine for t in run.timings if t.kind == "baseline"])


def _ratio_text(ratio: Ratio | None, reference: str, engine: str) -> str:
    if ratio is None:
        return "-"
    if engine == reference:
        return "1 (reference)"
    if ratio.value >= 1:
        return f"{ratio.value:.2f}x the time ({ratio.value:.2f}x slower)"
    return f"{ratio.value:.2f}x the time ({1 / ratio.value:.2f}x faster)"


def _interval_text(ratio: Ratio | None, engine: str, reference: str) -> str:
    if ratio is None or engine == reference:
        return ""
    if ratio.low is None or ratio.high is None:
        return "no interval"
    return f"{ratio.low:.3g}x to {ratio.high:.3g}x"


def _spread(values: list[float]) -> bool:
    positive = [v for v in values if v > 0]
    return len(positive) > 1 and max(positive) / min(positive) > 50


def _quartiles(t: Timing) -> tuple[float, float]:
    if t.q1 is not None and t.q3 is not None:
        return t.q1, t.q3
    return max(t.minimum, t.median - t.iqr / 2), t.median + t.iqr / 2


def groups(run: BenchRun, reference: str) -> list[Group]:
    """One table and bar chart of medians per workload, engines and baselines side by side."""
    found = ratio_estimates(run, reference)
    colours = run_colours(run)
    out = []
    for name in run.workloads():
        timings = [t for t in run.timings if t.workload == name]
        unit, scale = time_unit(max(t.median for t in timings))
        chart = bar_chart(
            [
                Bar(
                    t.engine,
                    t.median / scale,
                    colours[t.engine],
                    low=_quartiles(t)[0] / scale,
                    high=_quartiles(t)[1] / scale,
                    text=format_seconds(t.median),
                )
                for t in timings
            ],
            title=f"{name}: median time per call",
            value_label=f"{unit} per call (bar: median of the rounds; whisker: their quartiles)",
            log=_spread([t.median for t in timings]),
        )
        rows = []
        for t in timings:
            ratio = found.get((t.workload, t.engine))
            shaky = ratio is not None and t.engine != reference and ratio.unstable
            rows.append(
                Row(
                    t.engine,
                    t.kind,
                    format_seconds(t.median),
                    format_seconds(t.minimum),
                    format_seconds(t.iqr),
                    t.rounds,
                    _ratio_text(ratio, reference, t.engine),
                    _interval_text(ratio, t.engine, reference),
                    ratio.why_unstable if shaky and ratio is not None else "",
                )
            )
        out.append(
            Group(name, run.gradspec.get("workloads", {}).get(name, timings[0].description), rows, chart)
        )
    return out


def ratio_chart(run: BenchRun, reference: str) -> Markup | None:
    """Every engine's ratio on every workload, in the engine's colour, with its interval (log: 1 is parity).

    An unstable ratio is drawn pale and labelled so: the data do not pin it down.
    """
    found = ratio_estimates(run, reference)
    colours = run_colours(run)
    bars: list[Bar] = []
    shown: list[str] = []
    for workload in run.workloads():
        first = True
        for t in (t for t in run.timings if t.workload == workload and t.engine != reference):
            ratio = found.get((workload, t.engine))
            if ratio is None:
                continue
            text = f"{ratio.value:.2f}x" + (" unstable" if ratio.unstable else "")
            bars.append(
                Bar(
                    workload if first else "",
                    ratio.value,
                    colours[t.engine],
                    low=ratio.low,
                    high=ratio.high,
                    text=text,
                    unstable=ratio.unstable,
                )
            )
            first = False
            if t.engine not in shown:
                shown.append(t.engine)
    if not bars:
        return None
    values = [v for b in bars for v in (b.value, b.low, b.high) if v is not None and v > 0]
    lo = 10.0 ** math.floor(math.log10(min([*values, 1.0])))
    hi = 10.0 ** math.ceil(math.log10(max([*values, 1.0]) * 1.0001))
    return bar_chart(
        bars,
        title=f"time relative to {reference}, per workload",
        value_label=f"median / {reference}'s median (log; right of the dashed line is slower); "
        f"whisker: {CONFIDENCE:.0%} interval",
        log=True,
        value_range=(lo, hi if hi > lo else lo * 10),
        legend=[(name, colours[name], "bar") for name in shown],
        guide=1.0,
        width=640,
    )


def _series_timings(run: BenchRun) -> dict[str, list[Timing]]:
    by_engine: dict[str, list[Timing]] = defaultdict(list)
    for t in run.timings:
        if t.series == SCALING_SERIES and t.nodes:
            by_engine[t.engine].append(t)
    return {e: sorted(ts, key=lambda t: t.nodes or 0) for e, ts in by_engine.items()}


def scaling_chart(run: BenchRun) -> Markup | None:
    """Backward time per node against chain length, log-log: flat means linear time."""
    colours = run_colours(run)
    series = [
        Series(
            engine,
            [(t.nodes, t.median / t.nodes * 1e9) for t in ts if t.nodes],
            colours[engine],
            markers=True,
        )
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
    colours = run_colours(run)
    series = []
    for engine, ts in _series_timings(run).items():
        rss = [(t.nodes, t.peak_memory["rss_bytes"]) for t in ts if (t.peak_memory or {}).get("rss_bytes")]
        heap = [
            (t.nodes, t.peak_memory["python_heap_bytes"])
            for t in ts
            if (t.peak_memory or {}).get("python_heap_bytes")
        ]
        if rss:
            series.append(Series(f"{engine} (resident)", rss, colours[engine], markers=True))
        if heap:
            series.append(Series(f"{engine} (tracemalloc)", heap, colours[engine], dashed=True, markers=True))
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
        ratio_chart=ratio_chart(run, reference),
        unstable_spread=UNSTABLE_SPREAD,
        confidence=CONFIDENCE,
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
