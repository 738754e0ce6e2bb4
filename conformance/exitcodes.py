"""The exit codes of every gradspec command, in one place (README and --help quote them)."""

from __future__ import annotations

import sys

OK = 0  # conforming: no unexpected outcome
NONCONFORMING = 1  # a failure, error, crash, timeout, regression, integrity error, gate limit
USAGE = 2  # usage or input error: unknown engine, refused engine name, bad input file, empty selection
HARNESS = 3  # the harness itself failed

HELP = """exit codes:
  0  conforming: every applicable case passed (or was expected not to)
  1  not conforming: a failure, error, crash or timeout, an integrity error (a worker's
     report refused), an engine with no applicable case, or a --fail-under,
     --max-unsupported or --baseline limit
  2  usage or input error (unknown engine or refused engine name, malformed input
     file, a --case or --level that selects no claim)
  3  the harness itself failed (an internal error of gradspec, never the engine's)
"""


def fail(message: str, code: int = USAGE) -> int:
    """Print ``gradspec: error: message`` on stderr and return ``code``."""
    print(f"gradspec: error: {message}", file=sys.stderr)
    return code
