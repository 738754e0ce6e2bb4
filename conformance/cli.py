"""The ``gradspec`` command: run the spec, list the claims, and the later stages.

Exit codes (also in README and ``gradspec --help``):
  0  conforming: every applicable case passed (or was expected not to)
  1  not conforming: a failure, an error, or an engine with nothing applicable
  2  usage or input error: unknown engine, bad option, no case selected
  3  the harness itself failed
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import pytest

import gradspec.spec
from gradspec.conformance.loader import EngineLoadError, load_engine, load_engines, registered_engines
from gradspec.conformance.outcomes import UNEXPECTED
from gradspec.conformance.results import ResultsError, read_results
from gradspec.conformance.score import scores_by
from gradspec.spec.claims import all_claims

# Later stages each bring their own subcommand: a module with
# ``add_parser(commands)`` that registers it (and sets ``handler``). One line each.
COMMAND_MODULES: tuple[str, ...] = ()

EXIT_OK, EXIT_NONCONFORMING, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3
EXIT_CODES_HELP = """exit codes:
  0  conforming: every applicable case passed
  1  not conforming: a failure or error, or an engine with no applicable case
  2  usage or input error (unknown engine, bad option, no case selected)
  3  the harness itself failed
"""

SPEC_DIR = Path(gradspec.spec.__file__).parent
PYTEST_INI = Path(__file__).with_name("pytest.ini")


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"gradspec: error: {message}", file=sys.stderr)
    return code


def pytest_args(args: argparse.Namespace, results: Path) -> list[str]:
    """The pytest command line that runs the spec for ``gradspec run``."""
    # The spec folder, not its files: pytest imports a .py named on the command line as
    # a test module, which would execute the section a second time under another name.
    argv = [
        str(SPEC_DIR),
        "-c",
        str(PYTEST_INI),
        "--rootdir",
        str(SPEC_DIR),
        "-p",
        "no:cacheprovider",
        "--gradspec-results",
        str(results),
    ]
    for engine in args.engine:
        argv += ["--gradspec-engine", engine]
    if args.level:
        argv += ["--gradspec-level", args.level]
    for case in args.case:
        argv += ["--gradspec-case", case]
    argv += ["--junitxml", str(Path(args.report_dir) / "junit.xml")]
    return argv + list(args.pytest_args)


def verdict_exit_code(results_path: Path) -> int:
    """0, 1 or 2 from what the run recorded (not from pytest's own status)."""
    results = read_results(results_path)
    if not results.outcomes:
        return _fail("no cases ran; an empty run verifies nothing")
    code = EXIT_OK
    for engine, score in scores_by(results.outcomes, lambda o: o.engine).items():
        if not score.applicable:
            print(f"gradspec: {engine}: no applicable case, nothing verified", file=sys.stderr)
            code = EXIT_NONCONFORMING
    if any(o.verdict in UNEXPECTED for o in results.outcomes):
        code = EXIT_NONCONFORMING
    return code


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


def cmd_run(args: argparse.Namespace) -> int:
    if args.all_engines:
        args.engine = [*(args.engine or []), *available_engines()]
    if not args.engine:
        return _fail("no engine given: use --engine ENGINE (repeatable) or --all-engines")
    try:
        load_engines(args.engine)  # fail before any case, with the one-line reason
    except EngineLoadError as exc:
        return _fail(str(exc))
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    results = report_dir / "results.jsonl"
    status = pytest.main(pytest_args(args, results))
    if status == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    if status == pytest.ExitCode.INTERNAL_ERROR:
        return _fail("pytest reported an internal error", EXIT_HARNESS)
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        return _fail("no case selected (check --case and --level)")
    if not results.exists():
        return _fail(f"the run wrote no results to {results}", EXIT_HARNESS)
    try:
        finished = read_results(results).outcomes
        code = verdict_exit_code(results)
    except ResultsError as exc:
        return _fail(str(exc), EXIT_HARNESS)
    if status == pytest.ExitCode.INTERRUPTED and not finished:
        return _fail("the run stopped before any case finished (see the errors above)", EXIT_HARNESS)
    print(f"gradspec: results in {results}")
    if status == pytest.ExitCode.INTERRUPTED:
        print("gradspec: run interrupted; the results above are those that finished", file=sys.stderr)
        return EXIT_NONCONFORMING if code == EXIT_OK else code
    return code


def cmd_list(args: argparse.Namespace) -> int:
    claims = [c for c in all_claims() if not args.level or c.level.value == args.level]
    if args.json:
        print(json.dumps([c.describe() for c in claims], indent=2))
        return EXIT_OK
    section = None
    for c in claims:
        if c.section != section:
            section = c.section
            print(f"\n{section}")
        marker = " [erratum]" if c.erratum else ""
        print(f"  {c.id:38s} {c.level.value:8s} {c.statement}{marker}")
    print(f"\n{len(claims)} claims")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradspec",
        description="Check an autograd engine against the executable spec of PyTorch's autograd semantics.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the spec against engines and write the results",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--all-engines",
        action="store_true",
        help="every registered engine that loads and can run on this machine",
    )
    run.add_argument(
        "--engine",
        action="append",
        metavar="ENGINE",
        help="registered name (reference, torch-cpu, torch-cuda), module:attr, or "
        "a torch-like module such as torch; repeatable",
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
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="extra arguments passed to pytest after --"
    )
    run.set_defaults(handler=cmd_run)

    listing = commands.add_parser("list", help="print the claims of the spec")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--level", choices=["core", "pytorch"])
    listing.set_defaults(handler=cmd_list)

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_NONCONFORMING)


if __name__ == "__main__":
    sys.exit(main())
