"""``gradspec bench``: time the workloads on engines, write the JSON and the page, and gate.

Exit codes:
  0  the run finished (and, with --compare, no ratio worsened past --fail-over)
  1  a ratio to the reference worsened by more than --fail-over, or a workload failed on an engine
  2  usage or input error: unknown engine, bad option, unreadable or malformed baseline
  3  the harness itself failed (pytest could not run, no JSON was written)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

from gradspec.conformance.bench import run_benchmarks
from gradspec.conformance.bench_report import busy, format_seconds, write_bench_page
from gradspec.conformance.bench_results import (
    REFERENCE,
    BenchResultsError,
    BenchRun,
    Comparison,
    compare,
    ratios,
    read_bench,
)
from gradspec.conformance.loader import EngineLoadError, load_engines

EXIT_OK, EXIT_SLOWER, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3
EXIT_CODES_HELP = __doc__.split("Exit codes:\n", 1)[1]


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"gradspec bench: error: {message}", file=sys.stderr)
    return code


def ratio_table(run: BenchRun, reference: str) -> str:
    """Medians and ratios to the reference engine, one line per (workload, engine)."""
    found = ratios(run, reference)
    lines = [f"{'workload':22s} {'engine':22s} {'median':>10s}  ratio to {reference}"]
    for name in run.workloads():
        for t in (t for t in run.timings if t.workload == name):
            ratio = found.get((t.workload, t.engine))
            shown = f"{ratio:.2f}x" if ratio is not None else "-"
            lines.append(f"{t.workload:22s} {t.engine:22s} {format_seconds(t.median):>10s}  {shown}")
    return "\n".join(lines)


def gate_table(comparisons: list[Comparison]) -> str:
    lines = [f"{'workload':22s} {'engine':22s} {'baseline':>9s} {'now':>9s} {'change':>8s}"]
    for c in comparisons:
        flag = "  SLOWER" if c.regressed else ""
        lines.append(
            f"{c.workload:22s} {c.engine:22s} {c.baseline_ratio:8.2f}x {c.current_ratio:8.2f}x "
            f"{c.change_pct:+7.1f}%{flag}"
        )
    return "\n".join(lines)


def _gate(run: BenchRun, baseline: BenchRun, source: str, fail_over: float, reference: str) -> int:
    comparisons = compare(run, baseline, fail_over, reference)
    if not comparisons:
        return _fail(
            f"{source}: shares no (workload, engine) ratio to {reference!r} with this run; nothing to compare"
        )
    print(f"\ngate: ratio to {reference} against {source}, failing over +{fail_over:g}%")
    print(gate_table(comparisons))
    compared = {(c.workload, c.engine) for c in comparisons}
    for workload, engine in sorted(set(ratios(baseline, reference)) - compared):
        if engine != reference:
            print(f"gate: not compared, absent from this run: {workload} on {engine}")
    slower = [c for c in comparisons if c.regressed]
    if slower:
        print(f"gradspec bench: {len(slower)} ratio(s) worsened by more than {fail_over:g}%", file=sys.stderr)
        return EXIT_SLOWER
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    if args.compare and args.fail_over is None:
        return _fail("--compare needs --fail-over PCT")
    if args.fail_over is not None and (not args.compare or args.fail_over < 0):
        return _fail("--fail-over takes a percentage >= 0 and goes with --compare")
    if not args.engine and not args.from_json:
        return _fail("give at least one --engine (or --from-json to report an earlier run)")
    baseline = None
    if args.compare:
        try:
            baseline = read_bench(args.compare)
        except BenchResultsError as exc:
            return _fail(f"baseline {exc}")

    report_dir = Path(args.report_dir)
    if args.from_json:
        json_path = Path(args.from_json)
    else:
        try:
            load_engines(args.engine)  # fail before any timing, with the one-line reason
        except EngineLoadError as exc:
            return _fail(str(exc))
        json_path = report_dir / "bench.json"
        json_path.unlink(missing_ok=True)
        status = run_benchmarks(
            args.engine,
            json_path,
            workloads=args.workload,
            quick=args.quick,
            memory=not args.no_memory,
            extra=args.pytest_args,
        )
        if status == pytest.ExitCode.USAGE_ERROR:
            return EXIT_USAGE
        if status == pytest.ExitCode.NO_TESTS_COLLECTED:
            return _fail("no workload selected (check --workload)")
        if not json_path.exists():
            return _fail(f"the run wrote no benchmark JSON to {json_path}", EXIT_HARNESS)
    try:
        run = read_bench(json_path)
    except BenchResultsError as exc:
        return _fail(str(exc), EXIT_USAGE if args.from_json else EXIT_HARNESS)

    print(ratio_table(run, args.reference))
    load = run.gradspec.get("load_average") or {}
    if busy(load):
        print(
            f"gradspec bench: note: load average {load.get('before')}/{load.get('after')} on "
            f"{load.get('cpus')} CPUs; other processes shared the machine, the timings are noisy",
            file=sys.stderr,
        )
    page = write_bench_page(run, report_dir / "bench.html", reference=args.reference)
    print(f"gradspec bench: results in {json_path}, page in {page}")
    code = EXIT_OK
    failed: list[dict[str, Any]] = run.gradspec.get("failed", [])
    for item in failed:
        print(f"gradspec bench: failed: {item['item']}: {item['error']}", file=sys.stderr)
    if failed:
        code = EXIT_SLOWER
    if baseline is not None:
        code = max(code, _gate(run, baseline, args.compare, args.fail_over, args.reference))
    return code


def add_parser(commands: Any) -> None:
    """Register ``gradspec bench`` on the CLI's subcommands."""
    bench = commands.add_parser(
        "bench",
        help="time the workloads on engines; write bench.json and bench.html; optionally gate",
        description="Time the same workloads on every engine with pytest-benchmark. Ratios are to "
        "the reference engine in the same run, so the gate compares engines, not machines.",
        epilog="exit codes:\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="ENGINE",
        help="registered name (reference, torch-cpu, torch-cuda), module:attr, or torch; repeatable",
    )
    bench.add_argument(
        "--report-dir", default="reports", metavar="DIR", help="where bench.json and bench.html go"
    )
    bench.add_argument(
        "--workload",
        action="append",
        default=[],
        metavar="GLOB",
        help="only workloads matching GLOB; repeatable",
    )
    bench.add_argument(
        "--quick", action="store_true", help="a smoke run: few rounds, chains up to 10^4 nodes"
    )
    bench.add_argument(
        "--no-memory", action="store_true", help="skip the deep chain's peak-memory subprocesses"
    )
    bench.add_argument(
        "--reference",
        default=REFERENCE,
        metavar="ENGINE",
        help="engine the ratios divide by (default: reference)",
    )
    bench.add_argument("--compare", metavar="BASELINE.json", help="an earlier bench.json to gate against")
    bench.add_argument(
        "--fail-over", type=float, metavar="PCT", help="fail when a ratio grew by more than PCT percent"
    )
    bench.add_argument(
        "--from-json", metavar="BENCH.json", help="report (and gate) an earlier run instead of running"
    )
    bench.add_argument(
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="extra arguments passed to pytest after --"
    )
    bench.set_defaults(handler=cmd_bench)
