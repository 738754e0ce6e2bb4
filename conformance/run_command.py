"""``gradspec run``: the spec against engines, results streamed, reports written.

By default every engine runs in its own supervised worker process
(:mod:`gradspec.conformance.isolation`), so a crash or a hang costs one outcome.
``--in-process`` runs pytest in this process instead, which is what a debugger
wants. Both write the same result stream, and the exit code comes from what the
stream recorded, never from pytest's own status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

import gradspec.spec
from gradspec.conformance import exitcodes
from gradspec.conformance.baseline import BaselineError, compare, load_baseline
from gradspec.conformance.exitcodes import fail
from gradspec.conformance.expectations import ExpectationsError, load_expectations
from gradspec.conformance.isolation import WorkerError, WorkerUsageError, run_isolated
from gradspec.conformance.junit_report import write_junit
from gradspec.conformance.loader import EngineLoadError, load_engine, load_engines, registered_engines
from gradspec.conformance.outcomes import UNEXPECTED, Outcome, Verdict
from gradspec.conformance.reports import write_reports
from gradspec.conformance.results import ResultsError, ResultStream, RunResults, read_results
from gradspec.conformance.score import scores_by, summary_lines

SPEC_DIR = Path(gradspec.spec.__file__).parent
PYTEST_INI = Path(__file__).with_name("pytest.ini")
DEFAULT_TIMEOUT = 300.0


def add_parser(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run the spec against engines and write the results and reports",
        epilog=exitcodes.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--engine",
        action="append",
        metavar="ENGINE",
        help="registered name (reference, torch-cpu, torch-cuda), module:attr, or a torch-like "
        "module such as torch; repeatable",
    )
    run.add_argument(
        "--all-engines",
        action="store_true",
        help="every registered engine that loads and can run on this machine",
    )
    run.add_argument(
        "--report-dir",
        default="reports",
        metavar="DIR",
        help="where results and reports are written (default: reports)",
    )
    run.add_argument("--level", choices=["core", "pytorch"], help="only claims of this level")
    run.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="ID",
        help="only claims whose id matches ID (exact or glob); repeatable",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per-case limit before a case is recorded as timeout (default {DEFAULT_TIMEOUT:g})",
    )
    gate = run.add_argument_group("gate")
    gate.add_argument(
        "--expect",
        metavar="FILE",
        help="expectations file (TOML): cases each engine is expected to fail, with reasons",
    )
    gate.add_argument(
        "--strict",
        action="store_true",
        help="an expected failure that now passes (unexpected-pass) fails the gate",
    )
    gate.add_argument(
        "--baseline",
        metavar="RESULTS",
        help="an earlier results.jsonl or report.json: a case that passed there and fails now fails the gate",
    )
    gate.add_argument(
        "--fail-under",
        type=float,
        metavar="PCT",
        help="fail the gate when an engine's score is under PCT percent",
    )
    run.add_argument(
        "--in-process",
        action="store_true",
        help="run pytest in this process: no crash or hang isolation (for debugging)",
    )
    run.add_argument(
        "pytest_args",
        nargs="*",
        metavar="-- PYTEST_ARGS",
        help="extra arguments passed to pytest after --, e.g. -- -n 2 -x",
    )
    run.set_defaults(handler=cmd_run)


def selection_args(args: argparse.Namespace) -> list[str]:
    """The pytest arguments every worker shares: the spec folder, config, selection."""
    # The spec folder, not its files: pytest imports a .py named on the command line as
    # a test module, which would execute the section a second time under another name.
    argv = [str(SPEC_DIR), "-c", str(PYTEST_INI), "--rootdir", str(SPEC_DIR), "-p", "no:cacheprovider"]
    if args.level:
        argv += ["--gradspec-level", args.level]
    if args.expect:
        argv += ["--gradspec-expect", str(Path(args.expect).resolve())]
    for case in args.case:
        argv += ["--gradspec-case", case]
    return argv + list(args.pytest_args)


def available_engines() -> list[str]:
    """Registered engines that load and can run on this machine (for ``--all-engines``)."""
    usable = []
    for name in registered_engines():
        try:
            engine = load_engine(name)
        except EngineLoadError as exc:
            print(f"gradspec: skipping {name}: {exc}", file=sys.stderr)
            continue
        if engine.unavailable:
            print(f"gradspec: skipping {name}: {engine.unavailable}", file=sys.stderr)
            continue
        usable.append(name)
    return usable


def verdict_exit_code(
    outcomes: list[Outcome],
    *,
    strict: bool = False,
    fail_under: float | None = None,
    baseline: RunResults | None = None,
) -> int:
    """The gate: 0 or 1 from what the run recorded; 2 when nothing ran."""
    if not outcomes:
        return fail("no case selected or run (check --case and --level); an empty run verifies nothing")
    code = exitcodes.OK
    for engine, score in scores_by(outcomes, lambda o: o.engine).items():
        if not score.applicable:
            print(f"gradspec: {engine}: no applicable case, nothing verified", file=sys.stderr)
            code = exitcodes.NONCONFORMING
        elif fail_under is not None and 100 * score.passed / score.applicable < fail_under:
            print(
                f"gradspec: {engine}: score {score.text()} is under --fail-under {fail_under:g}%",
                file=sys.stderr,
            )
            code = exitcodes.NONCONFORMING
    unexpected = UNEXPECTED | ({Verdict.UNEXPECTED_PASS} if strict else set())
    surprises = [o for o in outcomes if o.verdict in unexpected]
    if surprises:
        print(
            f"gradspec: {len(surprises)} unexpected outcome(s): "
            + ", ".join(f"{o.nodeid} {o.verdict.value}" for o in surprises[:10])
            + (" ..." if len(surprises) > 10 else ""),
            file=sys.stderr,
        )
        code = exitcodes.NONCONFORMING
    if baseline is not None:
        diff = compare(baseline, outcomes)
        print(diff.text())
        if not diff.ok:
            code = exitcodes.NONCONFORMING
    return code


def _in_process(args: argparse.Namespace, results: Path) -> int | None:
    """Run pytest here; return an exit code if pytest's status already decides it."""
    argv = [*selection_args(args), "--gradspec-results", str(results)]
    for engine in args.engine:
        argv += ["--gradspec-engine", engine]
    status = pytest.main(argv)
    if status == pytest.ExitCode.USAGE_ERROR:
        return exitcodes.USAGE
    if status == pytest.ExitCode.INTERNAL_ERROR:
        return fail("pytest reported an internal error", exitcodes.HARNESS)
    if status == pytest.ExitCode.INTERRUPTED and results.exists() and not read_results(results).outcomes:
        return fail("the run stopped before any case finished (see the errors above)", exitcodes.HARNESS)
    return None


def _isolated(args: argparse.Namespace, engines: list[Any], results: Path) -> int | None:
    stream = ResultStream(results, [e.metadata() for e in engines], sys.argv[1:])
    try:
        run_isolated(args.engine, selection_args(args), stream, timeout=args.timeout)
    except WorkerUsageError as exc:
        return fail(f"{exc} (see pytest's message above)")
    except WorkerError as exc:
        return fail(str(exc), exitcodes.HARNESS)
    finally:
        stream.close()
    return None


def cmd_run(args: argparse.Namespace) -> int:
    if args.all_engines:
        args.engine = [*(args.engine or []), *available_engines()]
    if not args.engine:
        return fail("no engine given: use --engine ENGINE (repeatable) or --all-engines")
    try:
        # Every input is checked before any case runs, each failure in one line.
        engines = load_engines(args.engine)
        if args.expect:
            load_expectations(Path(args.expect))
        baseline = load_baseline(Path(args.baseline)) if args.baseline else None
    except (EngineLoadError, ExpectationsError, BaselineError) as exc:
        return fail(str(exc))
    report_dir = Path(args.report_dir)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return fail(f"cannot write reports to {report_dir}: {exc.strerror or exc}")
    results = report_dir / "results.jsonl"
    try:
        decided = _in_process(args, results) if args.in_process else _isolated(args, engines, results)
        if decided is not None:
            return decided
    except KeyboardInterrupt:
        print("gradspec: interrupted; reporting the cases that finished", file=sys.stderr)
    try:
        recorded = read_results(results)
    except (ResultsError, OSError) as exc:
        return fail(str(exc), exitcodes.HARNESS)
    outcomes = recorded.outcomes
    if not args.in_process:
        print("\n".join(["", "gradspec conformance", *summary_lines(outcomes)]))
    written = [
        results,
        *write_reports(recorded, report_dir),
        write_junit(outcomes, report_dir / "junit.xml"),
    ]
    print("gradspec: wrote " + ", ".join(str(p) for p in written))
    try:
        return verdict_exit_code(outcomes, strict=args.strict, fail_under=args.fail_under, baseline=baseline)
    except BaselineError as exc:
        return fail(str(exc))
