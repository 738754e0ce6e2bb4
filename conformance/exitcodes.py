"""The exit codes of every gradspec command, in one place (README and --help quote them)."""

from __future__ import annotations

import sys

OK = 0  # conforming: no unexpected outcome
NONCONFORMING = 1  # a failure or error, a regression, a score under --fail-under, nothing applicable
USAGE = 2  # usage or input error: unknown engine, unreadable or malformed input file
HARNESS = 3  # the harness itself failed

HELP = """exit codes:
  0  conforming: every applicable case passed (or was expected not to)
  1  not conforming: a failure or error, or an engine with no applicable case
  2  usage or input error (unknown engine, malformed input file, no case selected)
  3  the harness itself failed
"""


def fail(message: str, code: int = USAGE) -> int:
    """Print ``gradspec: error: message`` on stderr and return ``code``."""
    print(f"gradspec: error: {message}", file=sys.stderr)
    return code
