"""``gradspec expect``: draft an expectations file from a run, or check one.

Adopting the gate on an engine that does not conform yet starts here: run the
spec once, draft the file from the results (``--write``), edit each reason into
one line on what the engine does instead, and commit it; from then on
``gradspec run --expect FILE`` fails only on what is new. ``--check`` validates a
file against the installed spec without running anything (a cheap CI lint).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gradspec.conformance import exitcodes
from gradspec.conformance.expectations import ExpectationsError, draft_expectations, load_expectations
from gradspec.conformance.results import ResultsError, merge_results

EPILOG = """exit codes:
  0  file drafted (or checked and valid)
  1  nothing to draft: every case in the results passed
  2  a results stream or the expectations file is missing or malformed, or FILE exists without --force
"""


def cmd_expect(args: argparse.Namespace) -> int:
    if args.check:
        try:
            expectations = load_expectations(Path(args.check))
        except ExpectationsError as exc:
            return exitcodes.fail(str(exc))
        engines = ", ".join(sorted(expectations.engines())) or "no engine"
        print(f"gradspec: {args.check}: {len(expectations.entries)} entries for {engines}, all valid")
        return exitcodes.OK
    try:
        results = merge_results([Path(p) for p in args.results])
    except ResultsError as exc:
        return exitcodes.fail(str(exc))
    outcomes = [o for o in results.outcomes if not args.engine or o.engine in args.engine]
    if not outcomes:
        return exitcodes.fail(
            "no outcomes in the given results" + (" for that engine" if args.engine else "")
        )
    text = draft_expectations(outcomes, source=", ".join(args.results))
    if "]\n" not in text:  # no table was written: nothing failed
        print("gradspec: every case passed; there is nothing to expect", file=sys.stderr)
        return exitcodes.NONCONFORMING
    if args.write == "-":
        sys.stdout.write(text)
        return exitcodes.OK
    target = Path(args.write)
    if target.exists() and not args.force:
        return exitcodes.fail(f"{target} exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"gradspec: wrote {target}; edit each reason into what the engine does instead")
    return exitcodes.OK


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``gradspec expect`` on the CLI's subparsers."""
    parser = commands.add_parser(
        "expect",
        help="draft an expectations file from a run's results, or check one",
        description="Draft a TOML expectations file listing every case that did not pass in the "
        "given results (--write), or validate an existing file against the spec (--check).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="FILE", help="write the drafted file to FILE ('-' for stdout)")
    action.add_argument("--check", metavar="FILE", help="validate FILE; run nothing")
    parser.add_argument(
        "results",
        nargs="*",
        default=["reports/results.jsonl"],
        metavar="RESULTS",
        help="results.jsonl streams from gradspec run (default: reports/results.jsonl)",
    )
    parser.add_argument(
        "--engine", action="append", default=[], metavar="NAME", help="only this engine; repeatable"
    )
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    parser.set_defaults(handler=cmd_expect)
    return parser
