"""``gradspec run``: the spec against engines, results streamed, reports written.

By default every engine runs in its own supervised worker process
(:mod:`gradspec.conformance.isolation`), so a crash or a hang costs one outcome.
``--in-process`` runs pytest in this process instead, which is what a debugger
wants (and gives no protection against an engine that tampers with gradspec).
The exit code comes from what was recorded (:mod:`gradspec.conformance.gate`),
never from pytest's own status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

import gradspec.spec
from gradspec.conformance import exitcodes
from gradspec.conformance.baseline import BaselineError, load_baseline
from gradspec.conformance.coverage import coverage_table, format_coverage, write_coverage
from gradspec.conformance.exitcodes import fail
from gradspec.conformance.expectations import Expectations, ExpectationsError, load_expectations
from gradspec.conformance.gate import UnsupportedLimit, gate_exit_code
from gradspec.conformance.isolation import WorkerError, WorkerUsageError, run_isolated
from gradspec.conformance.junit_report import write_junit
from gradspec.conformance.loader import (
    EngineLoadError,
    available_engines,
    describe_engines,
    load_engines,
)
from gradspec.conformance.plugin import selects
from gradspec.conformance.reports import HTML_NAME, write_reports
from gradspec.conformance.results import ResultsError, ResultStream, RunResults, read_results, write_results
from gradspec.conformance.score import summary_lines
from gradspec.spec.claims import Claim, all_claims

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
    gate.add_argument(
        "--max-unsupported",
        type=_unsupported_limit,
        metavar="N|PCT%",
        help="fail the gate when more than N cases (or more than PCT%% of the selected cases) of "
        "an engine are unsupported: a gate that verifies too little is refused",
    )
    run.add_argument(
        "--coverage",
        action="store_true",
        help="print which (op, condition) pairs each property's examples reached "
        "(coverage.json and coverage.md are written either way)",
    )
    run.add_argument(
        "--in-process",
        action="store_true",
        help="run pytest in this process: no crash or hang isolation and no protection against an "
        "engine that tampers with gradspec (for debugging, not for gating)",
    )
    run.add_argument(
        "pytest_args",
        nargs="*",
        metavar="-- PYTEST_ARGS",
        help="extra arguments passed to pytest after --, e.g. -- -n 2 -x",
    )
    run.set_defaults(handler=cmd_run)


def _unsupported_limit(text: str) -> UnsupportedLimit:
    try:
        return UnsupportedLimit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


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


def selected_claims(args: argparse.Namespace) -> list[Claim]:
    """The claims ``--level`` and ``--case`` select; ValueError naming what selects nothing."""
    claims = [c for c in all_claims() if selects(c, args.level, [])]
    for pattern in args.case:
        if not any(selects(c, None, [pattern]) for c in claims):
            level = f" at level {args.level}" if args.level else ""
            raise ValueError(
                f"--case {pattern!r} selects no claim{level}; `gradspec list` prints the claim ids"
            )
    chosen = [c for c in claims if selects(c, None, args.case)]
    if not chosen:
        raise ValueError(f"--level {args.level} selects no claim")
    return chosen


def _supervised(
    args: argparse.Namespace,
    specs: list[str],
    engines: list[dict[str, Any]],
    claims: list[Claim],
    expectations: Expectations | None,
    results: Path,
) -> RunResults:
    """Run the engines in supervised workers; the results as the supervisor holds them."""
    stream = ResultStream(results, engines, sys.argv[1:])
    names = [e["name"] for e in engines]

    def announce(name: str) -> None:
        print(f"gradspec: running {len(claims)} case(s) on {name}", flush=True)

    try:
        runs = run_isolated(
            list(zip(specs, names, strict=True)),
            claims,
            selection_args(args),
            stream,
            timeout=args.timeout,
            expectations=expectations,
            on_engine=announce,
        )
    finally:
        stream.close()
    order = [c.id for c in claims]
    return RunResults(
        runs=[{**stream.header, "source": str(results)}],
        outcomes=[run.outcomes[case] for run in runs for case in order if case in run.outcomes],
        problems=[p for run in runs for p in run.problems],
    )


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


def cmd_run(args: argparse.Namespace) -> int:
    if not args.engine and not args.all_engines:
        return fail("no engine given: use --engine ENGINE (repeatable) or --all-engines")
    try:
        # Every input is checked before any case runs, each failure in one line, and
        # before the report folder is touched, so the last run's reports stay.
        claims = selected_claims(args)
        expectations = load_expectations(Path(args.expect)) if args.expect else None
        baseline = load_baseline(Path(args.baseline)) if args.baseline else None
        if args.in_process:
            if args.all_engines:
                args.engine = [*(args.engine or []), *available_engines()]
            specs = list(args.engine)
            engines = [e.metadata() for e in load_engines(specs)]
        else:
            # The supervisor never imports an engine: its import-time code could patch the gate.
            specs, engines = describe_engines(list(args.engine or []), usable=args.all_engines)
            args.engine = specs
    except ValueError as exc:
        return fail(str(exc))
    except (EngineLoadError, ExpectationsError, BaselineError) as exc:
        return fail(str(exc))
    if not specs:
        return fail("--all-engines found no engine that runs here")
    report_dir = Path(args.report_dir)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return fail(f"cannot write reports to {report_dir}: {exc.strerror or exc}")
    results = report_dir / "results.jsonl"
    harness_failure: str | None = None
    recorded: RunResults | None = None
    try:
        if args.in_process:
            decided = _in_process(args, results)
            if decided is not None:
                return decided
        else:
            recorded = _supervised(args, specs, engines, claims, expectations, results)
    except KeyboardInterrupt:
        print("gradspec: interrupted; reporting the cases that finished", file=sys.stderr)
    except WorkerUsageError as exc:
        return fail(f"{exc} (see pytest's message above)")
    except WorkerError as exc:
        harness_failure = str(exc)
    if recorded is None:
        try:
            recorded = read_results(results)
        except (ResultsError, OSError) as exc:
            return fail(str(exc), exitcodes.HARNESS)
    written = _write_everything(recorded, report_dir, results, rewrite=not args.in_process)
    if args.coverage:
        print("\n" + format_coverage(coverage_table(o.to_json() for o in recorded.outcomes)))
    if not args.in_process:  # in process, the plugin printed it in pytest's summary
        print("\n".join(["", "gradspec conformance", *summary_lines(recorded.outcomes, engines)]))
    print("gradspec: wrote " + ", ".join(str(p) for p in written), flush=True)
    if harness_failure is not None:
        code = fail(harness_failure, exitcodes.HARNESS)
    else:
        expected = {(c.id, e["name"]) for c in claims for e in engines}
        try:
            code = gate_exit_code(
                recorded,
                expected=expected if not args.in_process or not args.pytest_args else None,
                strict=args.strict,
                fail_under=args.fail_under,
                max_unsupported=args.max_unsupported,
                baseline=baseline,
            )
        except BaselineError as exc:
            code = fail(str(exc))
    print(f"gradspec: open {report_dir / HTML_NAME} for the full report")
    return code


def _write_everything(recorded: RunResults, report_dir: Path, results: Path, *, rewrite: bool) -> list[Path]:
    """Every report from ``recorded``; the folder recreated if something removed it during the run.

    With ``rewrite`` the stream itself is rewritten from ``recorded`` (what the
    supervisor holds), so lines anything else appended to it are gone.
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    if rewrite or not results.exists():
        write_results(recorded, results)
    return [
        results,
        *write_reports(recorded, report_dir),
        write_junit(recorded.outcomes, report_dir / "junit.xml"),
        *write_coverage((o.to_json() for o in recorded.outcomes), report_dir),
    ]
