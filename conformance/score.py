"""Scores: passes over applicable cases, always with the denominator.

Unsupported cases are listed beside a score and never counted in it, and a score
with nothing applicable is "n/a", never 100%.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gradspec.conformance.outcomes import APPLICABLE, Outcome, Verdict


@dataclass
class Score:
    counts: Counter[Verdict] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.verdict] += 1

    @property
    def passed(self) -> int:
        return self.counts[Verdict.PASS]

    @property
    def applicable(self) -> int:
        return sum(n for verdict, n in self.counts.items() if verdict in APPLICABLE)

    @property
    def unsupported(self) -> int:
        return self.counts[Verdict.UNSUPPORTED]

    @property
    def ratio(self) -> float | None:
        return self.passed / self.applicable if self.applicable else None

    def text(self) -> str:
        """``"38/41 (92.7%)"``, or ``"n/a (0 applicable)"``."""
        if not self.applicable:
            return "n/a (0 applicable)"
        return f"{self.passed}/{self.applicable} ({100 * self.passed / self.applicable:.1f}%)"

    def breakdown(self) -> str:
        """The non-zero verdict counts, e.g. ``"38 pass, 2 fail, 1 error, 3 unsupported"``."""
        return ", ".join(f"{n} {v.value}" for v in Verdict if (n := self.counts[v]))


def scores_by(outcomes: Iterable[Outcome], key: Callable[[Outcome], str]) -> dict[str, Score]:
    """One score per distinct ``key(outcome)``, in first-seen order."""
    scores: dict[str, Score] = {}
    for outcome in outcomes:
        scores.setdefault(key(outcome), Score()).add(outcome)
    return scores


def summary_lines(outcomes: list[Outcome], engines: list[dict[str, Any]] | None = None) -> list[str]:
    """The terminal summary: per engine its score, per level, and why cases were unsupported.

    ``engines`` is the run's engine metadata: an engine that cannot run here at all
    (torch-cuda without a GPU) gets one line saying so instead of an empty score.
    """
    if not outcomes:
        return ["no cases ran: an empty run verifies nothing"]
    unavailable = {e["name"]: e.get("unavailable") for e in engines or [] if e.get("unavailable")}
    lines = []
    for engine, score in scores_by(outcomes, lambda o: o.engine).items():
        mine = [o for o in outcomes if o.engine == engine]
        if engine in unavailable and score.unsupported == len(mine):
            lines.append(f"{engine}: {_why_unavailable(unavailable[engine])}, every case unsupported")
            continue
        lines.append(f"{engine}: {score.text()} applicable cases pass  [{score.breakdown()}]")
        levels = scores_by(mine, lambda o: o.level)
        lines.append("    " + "; ".join(f"{level}: {s.text()}" for level, s in levels.items()))
        reasons: dict[str, list[str]] = {}
        for outcome in mine:
            if outcome.verdict is Verdict.UNSUPPORTED:
                reasons.setdefault(outcome.message, []).append(outcome.case)
        for reason, cases in reasons.items():
            listed = ", ".join(cases) if len(cases) <= 5 else f"{len(cases)} cases"
            lines.append(f"    unsupported ({listed}): {reason}")
    return lines


def _why_unavailable(reason: str) -> str:
    """The short form of an engine's ``unavailable`` reason (torch-cuda's: no CUDA device here)."""
    return reason.split(" (", 1)[0]
