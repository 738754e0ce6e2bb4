"""The gate: the exit code of ``gradspec run``, decided from what the supervisor recorded.

It runs in the ``gradspec run`` process, which never imports an engine, over the
outcomes the supervisor classified itself, and it re-checks what the supervisor
promised rather than trusting it: every selected (case, engine) has exactly one
outcome, nothing else has one, and no integrity problem was found. Then each
engine must have something applicable, score at least ``--fail-under``, leave at
most ``--max-unsupported`` cases unsupported, show no unexpected outcome, and not
regress against ``--baseline``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from gradspec.conformance import exitcodes
from gradspec.conformance.baseline import compare
from gradspec.conformance.outcomes import UNEXPECTED, Outcome, Verdict
from gradspec.conformance.results import RunResults
from gradspec.conformance.score import scores_by


@dataclass(frozen=True)
class UnsupportedLimit:
    """``--max-unsupported``: at most ``count`` cases, or at most ``percent`` % of an engine's cases."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str) -> UnsupportedLimit:
        """``"5"`` (cases) or ``"10%"`` (of each engine's selected cases); ValueError otherwise."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
        if not match:
            raise ValueError(f"--max-unsupported takes a count (5) or a percentage (10%), not {text!r}")
        number, percent = float(match.group(1)), bool(match.group(2))
        if percent:
            if number > 100:
                raise ValueError(f"--max-unsupported {text}: a percentage is at most 100%")
            return cls(percent=number)
        if not number.is_integer():
            raise ValueError(f"--max-unsupported {text}: a count of cases is a whole number")
        return cls(count=int(number))

    def exceeded(self, unsupported: int, total: int) -> bool:
        if self.count is not None:
            return unsupported > self.count
        return total > 0 and 100 * unsupported / total > (self.percent or 0.0)

    def text(self) -> str:
        return f"{self.count}" if self.count is not None else f"{self.percent:g}%"


def _say(message: str) -> None:
    print(f"gradspec: {message}", file=sys.stderr)


def completeness(outcomes: Iterable[Outcome], expected: set[tuple[str, str]]) -> list[str]:
    """What is wrong with the set of outcomes: a (case, engine) missing, unexpected or recorded twice."""
    counts = Counter((o.case, o.engine) for o in outcomes)
    wrong = [f"{c}[{e}] recorded {n} times" for (c, e), n in counts.items() if n > 1]
    wrong += [f"{c}[{e}] has no outcome" for c, e in sorted(expected - counts.keys())]
    wrong += [f"{c}[{e}] was not selected" for c, e in sorted(counts.keys() - expected)]
    return wrong


def gate_exit_code(
    results: RunResults,
    *,
    expected: set[tuple[str, str]] | None = None,
    strict: bool = False,
    fail_under: float | None = None,
    max_unsupported: UnsupportedLimit | None = None,
    baseline: RunResults | None = None,
) -> int:
    """0 (conforming) or 1 from the recorded outcomes; 2 when nothing ran.

    ``expected`` is every (case, engine) the run selected; given, any outcome
    missing, extra or duplicated fails the gate as an integrity problem.
    """
    outcomes = results.outcomes
    if not outcomes:
        return exitcodes.fail(
            "no case selected or run (check --case and --level); an empty run verifies nothing"
        )
    code = exitcodes.OK
    for problem in results.problems[:10]:
        where = f" ({problem.case})" if problem.case else ""
        _say(f"{problem.engine}: integrity error{where}: {problem.message}")
    if results.problems:
        more = len(results.problems) - 10
        _say(
            f"integrity: {len(results.problems)} problem(s) in what workers reported"
            + (f" ({more} more in report.json)" if more > 0 else "")
            + "; the run cannot be trusted"
        )
        code = exitcodes.NONCONFORMING
    wrong = completeness(outcomes, expected) if expected is not None else []
    if wrong:
        _say(f"integrity error: {len(wrong)} outcome(s) do not match the selection: " + "; ".join(wrong[:10]))
        code = exitcodes.NONCONFORMING
    for engine, score in scores_by(outcomes, lambda o: o.engine).items():
        total = sum(score.counts.values())
        if not score.applicable:
            _say(f"{engine}: no applicable case, nothing verified")
            code = exitcodes.NONCONFORMING
        elif fail_under is not None and 100 * score.passed / score.applicable < fail_under:
            _say(f"{engine}: score {score.text()} is under --fail-under {fail_under:g}%")
            code = exitcodes.NONCONFORMING
        if max_unsupported is not None and max_unsupported.exceeded(score.unsupported, total):
            _say(
                f"{engine}: {score.unsupported} of {total} cases unsupported, more than "
                f"--max-unsupported {max_unsupported.text()}"
            )
            code = exitcodes.NONCONFORMING
    unexpected = UNEXPECTED | ({Verdict.UNEXPECTED_PASS} if strict else set())
    surprises = [o for o in outcomes if o.verdict in unexpected]
    if surprises:
        _say(
            f"{len(surprises)} unexpected outcome(s): "
            + ", ".join(f"{o.nodeid} {o.verdict.value}" for o in surprises[:10])
            + (" ..." if len(surprises) > 10 else "")
        )
        code = exitcodes.NONCONFORMING
    if baseline is not None:
        diff = compare(baseline, outcomes)
        print(diff.text())
        if not diff.ok:
            code = exitcodes.NONCONFORMING
    return code
