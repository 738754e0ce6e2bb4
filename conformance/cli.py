"""The ``gradspec`` command: one subcommand per stage (run, list, report, bench, ...).

Exit codes live in :mod:`gradspec.conformance.exitcodes`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback

from gradspec.conformance import exitcodes
from gradspec.spec.claims import all_claims

# Each stage brings its own subcommand: a module with ``add_parser(commands)``
# that registers it (and sets ``handler``). One line each.
COMMAND_MODULES: tuple[str, ...] = (
    "gradspec.conformance.run_command",
    "gradspec.conformance.report_command",
    "gradspec.conformance.bench_command",
    "gradspec.conformance.expect_command",
    "gradspec.conformance.mutants_command",
    "gradspec.conformance.scoreboard",
)


def cmd_list(args: argparse.Namespace) -> int:
    claims = [c for c in all_claims() if not args.level or c.level.value == args.level]
    if args.json:
        print(json.dumps([c.describe() for c in claims], indent=2))
        return exitcodes.OK
    section = None
    for c in claims:
        if c.section != section:
            section = c.section
            print(f"\n{section}")
        marker = " [erratum]" if c.erratum else ""
        print(f"  {c.id:38s} {c.level.value:8s} {c.statement}{marker}")
    print(f"\n{len(claims)} claims")
    return exitcodes.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradspec",
        description="Check an autograd engine against the executable spec of PyTorch's autograd semantics.",
        epilog=exitcodes.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    except BrokenPipeError:  # output piped into head, less, ...
        sys.stderr.close()
        return exitcodes.OK
    except KeyboardInterrupt:
        return exitcodes.fail("interrupted", exitcodes.NONCONFORMING)
    except Exception:  # noqa: BLE001 - a bug in gradspec, not in the engine: say so, exit 3
        traceback.print_exc()
        return exitcodes.fail("internal error in gradspec (traceback above)", exitcodes.HARNESS)


if __name__ == "__main__":
    sys.exit(main())
