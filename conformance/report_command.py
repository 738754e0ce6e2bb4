"""``gradspec report RESULTS... [--report-dir DIR]``: reports from streams already written.

This is how results from several runs or machines (torch-cpu on one, torch-cuda
on another) become one report, and how a report is rebuilt from the stream of an
interrupted run. It writes report.json, report.html, summary.md and junit.xml.
Exit codes: 0 when the reports were written, 1 when they were but no case had
run, 2 when a stream is missing, malformed or from another spec version (the
message names the file). It does not judge conformance; ``gradspec run`` does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gradspec.conformance import exitcodes
from gradspec.conformance.junit_report import write_junit
from gradspec.conformance.reports import write_reports
from gradspec.conformance.results import ResultsError, merge_results

EPILOG = """exit codes:
  0  reports written
  1  reports written, but no case had run (an empty run verifies nothing)
  2  a stream is missing, malformed, or from another spec version
"""


def cmd_report(args: argparse.Namespace) -> int:
    try:
        results = merge_results([Path(p) for p in args.results])
    except ResultsError as exc:
        return exitcodes.fail(str(exc), exitcodes.USAGE)
    report_dir = Path(args.report_dir)
    written = write_reports(results, report_dir)
    written.append(write_junit(results.outcomes, report_dir / "junit.xml"))
    print("gradspec: wrote " + ", ".join(str(p) for p in written))
    if not results.outcomes:
        return exitcodes.fail(
            "no cases in the given results; an empty run verifies nothing", exitcodes.NONCONFORMING
        )
    return exitcodes.OK


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``gradspec report`` on the CLI's subparsers."""
    parser = commands.add_parser(
        "report",
        help="build reports from result streams, merging several runs into one",
        description="Build report.json, report.html, summary.md and junit.xml from one or more "
        "results.jsonl streams. Streams from several runs or machines are merged into one matrix; "
        "where two hold the same case on the same engine, the one given later wins.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "results", nargs="+", metavar="RESULTS", help="results.jsonl files written by gradspec run"
    )
    parser.add_argument(
        "--report-dir", default="reports", metavar="DIR", help="where reports are written (default: reports)"
    )
    parser.set_defaults(handler=cmd_report)
    return parser
