"""``gradspec bench``: time the workloads on engines, write the JSON and the page, and gate.

Exit codes:
  0  the run finished (and, with --compare, every compared ratio was stable, none worse than --fail-over)
  1  a ratio to the reference worsened by more than --fail-over (an unstable one: by its whole
     interval), a workload failed on an engine, or the run was interrupted (bench.json keeps
     the passes it finished)
  2  usage or input error: unknown engine, bad option, unreadable or malformed baseline
  3  the harness itself failed (no JSON was written)
  4  --compare undecided: nothing worsened for sure, but some ratio was unstable (its 95% interval
     too wide, in this run or the baseline) and its interval straddles --fail-over, so the gate
     neither passes nor fails it; rerun on a calmer machine
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gradspec.conformance.bench import FULL, QUICK, THREAD_VARIABLES, run_benchmarks
from gradspec.conformance.bench_report import busy, format_seconds, write_bench_page
from gradspec.conformance.bench_results import (
    REFERENCE,
    BenchResultsError,
    BenchRun,
    Comparison,
    compare,
    ratio_estimates,
    read_bench,
)
from gradspec.conformance.bench_stats import UNSTABLE_SPREAD
from gradspec.conformance.loader import EngineLoadError, load_engines

EXIT_OK, EXIT_SLOWER, EXIT_USAGE, EXIT_HARNESS, EXIT_UNDECIDED = 0, 1, 2, 3, 4
EXIT_CODES_HELP = __doc__.split("Exit codes:\n", 1)[1]


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"gradspec bench: error: {message}", file=sys.stderr)
    return code


def ratio_table(run: BenchRun, reference: str) -> str:
    """Medians and ratios (with 95% intervals) to the reference engine, one line per (workload, engine)."""
    found = ratio_estimates(run, reference)
    lines = [f"{'workload':20s} {'engine':20s} {'median':>10s}  ratio to {reference} [95% interval]"]
    for name in run.workloads():
        for t in (t for t in run.timings if t.workload == name):
            ratio = found.get((t.workload, t.engine))
            if ratio is None:
                shown = "-"
            elif t.engine == reference:
                shown = "1 (reference)"
            else:
                shown = ratio.text() + (f" ({ratio.why_unstable})" if ratio.unstable else "")
            lines.append(f"{t.workload:20s} {t.engine:20s} {format_seconds(t.median):>10s}  {shown}")
    return "\n".join(lines)


def gate_table(comparisons: list[Comparison]) -> str:
    lines = [f"{'workload':20s} {'engine':20s} {'baseline':>20s} {'now':>20s} {'change':>8s}  verdict"]
    for c in comparisons:
        verdict = {"ok": "ok", "slower": "SLOWER", "unstable": f"UNSTABLE, not judged: {c.why_unstable}"}
        shown = verdict[c.verdict]
        if c.unstable and c.verdict != "unstable":
            extremes = c.change_interval or (0.0, 0.0)
            shown += (
                f" (unstable, but the whole interval of the change, {extremes[0]:+.0f}% to "
                f"{extremes[1]:+.0f}%, agrees)"
            )
        lines.append(
            f"{c.workload:20s} {c.engine:20s} {c.baseline.text():>20s} {c.current.text():>20s} "
            f"{c.change_pct:+7.1f}%  {shown}"
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
    for workload, engine in sorted(set(ratio_estimates(baseline, reference)) - compared):
        if engine != reference:
            print(f"gate: not compared, absent from this run: {workload} on {engine}")
    slower = [c for c in comparisons if c.verdict == "slower"]
    unstable = [c for c in comparisons if c.verdict == "unstable"]
    if slower:
        print(f"gradspec bench: {len(slower)} ratio(s) worsened by more than {fail_over:g}%", file=sys.stderr)
        if unstable:
            print(f"gradspec bench: {len(unstable)} more ratio(s) unstable, not judged", file=sys.stderr)
        return EXIT_SLOWER
    if unstable:
        print(
            f"gradspec bench: gate undecided: {len(unstable)} ratio(s) unstable (95% interval wider than a "
            f"factor {UNSTABLE_SPREAD:g}, or no per-round data) with an interval reaching both sides of "
            f"+{fail_over:g}%, so neither passed nor failed; rerun on a calmer machine",
            file=sys.stderr,
        )
        return EXIT_UNDECIDED
    return EXIT_OK


PINNED = "GRADSPEC_BENCH_THREADS"
"""Set in the processes that time, so they know their thread variables were fixed before NumPy loaded."""


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The ``gradspec bench`` arguments that time what ``args`` asks (for the pass processes).

    The gate's options stay with the parent, which reports and gates once the passes are done.
    """
    argv = [
        "bench",
        "--report-dir",
        args.report_dir,
        "--reference",
        args.reference,
        "--threads",
        str(args.threads),
    ]
    for engine in args.engine:
        argv += ["--engine", engine]
    for pattern in args.workload:
        argv += ["--workload", pattern]
    argv += [
        flag
        for flag, on in (("--quick", args.quick), ("--large", args.large), ("--no-memory", args.no_memory))
        if on
    ]
    return argv


def _time_in_passes(args: argparse.Namespace) -> int:
    """Time each pass in a fresh process, its thread variables set before any library reads them.

    Fresh processes, because a ratio differs more from process to process (memory
    layout, allocator and library state, fixed at start) than between one
    process's rounds: the passes' spread is what makes two runs' intervals honest
    about each other (:mod:`bench_stats`).

    Pinned threads, because thread pools read OMP_NUM_THREADS and its kin once,
    when they load, and this process has loaded NumPy already. On a shared
    machine an engine whose pool spins on every core it finds (torch's OpenMP)
    is timed mostly waiting for the other processes, so its ratios swing by
    factors from run to run; with the same thread count for every engine the
    ratios compare the engines.
    """
    env = dict(os.environ)
    if args.threads > 0:
        env.update({var: str(args.threads) for var in (*THREAD_VARIABLES, PINNED)})
    passes = (QUICK if args.quick else FULL).passes
    json_path = Path(args.report_dir) / "bench.json"
    k, code = 1, EXIT_OK
    try:
        while k <= passes and code == EXIT_OK:
            command = [sys.executable, "-m", "gradspec.conformance.cli", *_argv_of(args), "--pass", str(k)]
            code = subprocess.run(command, env=env, check=False).returncode
            k += 1
    except KeyboardInterrupt:  # the pass (same process group) got the signal too, and stopped
        done = _passes_done(json_path)  # what the file holds, whichever pass the signal met
        kept = f"{json_path} keeps them (gradspec bench --from-json {json_path} reports them)"
        message = f"interrupted after {done} of {passes} passes" + (f"; {kept}" if done else "")
        return _fail(message, EXIT_SLOWER)
    if code in (EXIT_OK, EXIT_USAGE):
        return code  # a usage error: the pass said why (an unknown engine, no workload selected)
    return _fail(
        f"pass {k - 1} of {passes} ended with exit code {code}; {json_path} keeps "
        f"{_passes_done(json_path)} of {passes} passes",
        EXIT_HARNESS,
    )


def _passes_done(json_path: Path) -> int:
    """How many passes the bench.json a run left holds (0 when there is none to read)."""
    try:
        return int(read_bench(json_path).gradspec.get("passes", {}).get("done", 0))
    except (BenchResultsError, TypeError, ValueError):
        return 0


def _time_one_pass(args: argparse.Namespace) -> int:
    """One pass of the timing (``--pass K``, in a process of its own): rounds added to bench.json."""
    try:
        engines = load_engines(args.engine)  # fail before any timing, with the one-line reason
    except EngineLoadError as exc:
        return _fail(str(exc))
    json_path = Path(args.report_dir) / "bench.json"
    if args.pass_no == 1:
        json_path.unlink(missing_ok=True)
    try:
        timed = run_benchmarks(
            args.engine,
            json_path,
            workloads=args.workload,
            quick=args.quick,
            memory=not args.no_memory,
            large=args.large,
            reference=args.reference,
            engines=engines,
            cpu_time=args.threads == 1 and os.environ.get(PINNED) == "1",
            pass_no=args.pass_no,
        )
    except FileNotFoundError as exc:  # a later pass whose earlier passes' file is gone
        return _fail(str(exc), EXIT_HARNESS)
    if not timed:
        return _fail("no workload selected (check --workload)")
    if not json_path.exists():
        return _fail(f"the run wrote no benchmark JSON to {json_path}", EXIT_HARNESS)
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    if args.pass_no is not None:
        return _time_one_pass(args)
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
        code = _time_in_passes(args)
        if code != EXIT_OK:
            return code
        json_path = report_dir / "bench.json"
    try:
        run = read_bench(json_path)
    except BenchResultsError as exc:
        return _fail(str(exc), EXIT_USAGE if args.from_json else EXIT_HARNESS)

    print()
    print(ratio_table(run, args.reference))
    load = run.gradspec.get("load_average") or {}
    if busy(load):
        print(
            f"gradspec bench: note: load average {load.get('before')}/{load.get('after')} on "
            f"{load.get('cpus')} CPUs; other processes shared the machine, the timings are noisy",
            file=sys.stderr,
        )
    page = write_bench_page(run, report_dir / "bench.html", reference=args.reference)
    code = EXIT_OK
    failed: list[dict[str, Any]] = run.gradspec.get("failed", [])
    for item in failed:
        print(f"gradspec bench: failed: {item['item']}: {item['error']}", file=sys.stderr)
    if failed:
        code = EXIT_SLOWER
    if baseline is not None:
        gate = _gate(run, baseline, args.compare, args.fail_over, args.reference)
        code = EXIT_SLOWER if EXIT_SLOWER in (code, gate) else max(code, gate)
    print(f"gradspec bench: open {page} (the data: {json_path})")
    return code


def add_parser(commands: Any) -> None:
    """Register ``gradspec bench`` on the CLI's subcommands."""
    bench = commands.add_parser(
        "bench",
        help="time the workloads on engines; write bench.json and bench.html; optionally gate",
        description="Time the same workloads on every engine, the engines interleaved round by round. "
        "Ratios are to the reference engine in the same run, each with a 95%% bootstrap interval, so the "
        "gate compares engines, not machines, and judges only stable ratios.",
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
        "--quick",
        action="store_true",
        help="a smoke run under a minute: fewer, shorter rounds, chains up to 10^4 nodes",
    )
    bench.add_argument(
        "--large", action="store_true", help="also the 10^6-node chain (seconds a round, gigabytes of memory)"
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
    bench.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads for every engine's thread pools (OMP/OpenBLAS/MKL_NUM_THREADS); the default 1 "
        "also times by CPU time, which a shared machine's other processes do not inflate; 0 leaves "
        "the environment's settings and times by the wall clock",
    )
    bench.add_argument("--compare", metavar="BASELINE.json", help="an earlier bench.json to gate against")
    bench.add_argument(
        "--fail-over", type=float, metavar="PCT", help="fail when a ratio grew by more than PCT percent"
    )
    bench.add_argument(
        "--from-json", metavar="BENCH.json", help="report (and gate) an earlier run instead of running"
    )
    # Internal: one pass of the timing, in the fresh process gradspec bench starts for it.
    bench.add_argument("--pass", dest="pass_no", type=int, default=None, help=argparse.SUPPRESS)
    bench.set_defaults(handler=cmd_bench)
