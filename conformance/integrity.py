"""The supervisor's strict reading of what a worker reports, and the problems it finds.

A worker runs the engine's code, so everything it writes may be forged: extra
lines, lines for cases it was not given, a case reported twice, text that is not
JSON. :class:`ChannelCheck` accepts a line only if it is one of the record types
the plugin sends, well formed, for this worker's engine and for a case the
supervisor selected and this worker is running, exactly once. Anything else is an
:class:`IntegrityProblem` of that engine's run: recorded in the result stream and
the reports, and the gate fails the run (never a pass).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from gradspec.conformance.facts import FACTS, ROLES

INTEGRITY = "integrity"
"""The record type of a problem in the result stream."""

MAX_PROBLEMS = 50
"""Problems kept per engine; a worker flooding its channel costs memory no more than this."""

_FACT_KEYS = {"type", "case", "engine", "duration", "observations", "error"}
_ERROR_KEYS = {"type", "name", "role", "message", "notes"}
_ERROR_OPTIONAL = {"expected", "actual", "counterexample", "leaves"}


@dataclass(frozen=True)
class IntegrityProblem:
    """Something a worker reported that the supervisor refused; ``case`` when one is concerned."""

    engine: str
    message: str
    case: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": INTEGRITY, "engine": self.engine, "case": self.case, "message": self.message}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> IntegrityProblem:
        engine, message, case = record["engine"], record["message"], record.get("case")
        if not isinstance(engine, str) or not isinstance(message, str) or not isinstance(case, str | None):
            raise TypeError("an integrity record needs engine and message strings")
        return cls(engine, message, case)


def _error_ok(error: Any, depth: int = 0) -> bool:
    if error is None and depth == 0:
        return True
    if not isinstance(error, dict) or not _ERROR_KEYS <= error.keys() <= _ERROR_KEYS | _ERROR_OPTIONAL:
        return False
    if error["role"] not in ROLES or not all(isinstance(error[k], str) for k in ("type", "name", "message")):
        return False
    if not isinstance(error["notes"], list) or not all(isinstance(n, str) for n in error["notes"]):
        return False
    if not isinstance(error.get("counterexample", ""), str):
        return False
    if "leaves" not in error:
        return True
    # Only a group's facts list leaves, and the leaves of a group are never groups.
    leaves = error["leaves"]
    return isinstance(leaves, list) and depth < 1 and all(_error_ok(e, depth + 1) for e in leaves)


def _facts_ok(record: dict[str, Any]) -> bool:
    duration = record.get("duration")
    return (
        record.keys() == _FACT_KEYS
        and isinstance(duration, int | float)
        and math.isfinite(duration)
        and duration >= 0
        and isinstance(record["observations"], dict)
        and _error_ok(record["error"])
    )


@dataclass
class ChannelCheck:
    """Validates the lines of one engine's workers against the cases the supervisor selected.

    ``given`` is what the current worker was asked to run; ``running`` the cases it
    said it started and has not finished; ``reported`` every case with an outcome.
    """

    engine: str
    selected: frozenset[str]
    given: set[str] = field(default_factory=set)
    running: dict[str, float] = field(default_factory=dict)  # case -> the supervisor's clock at start
    reported: set[str] = field(default_factory=set)
    problems: list[IntegrityProblem] = field(default_factory=list)

    refused: int = 0

    def refuse(self, message: str, case: str | None = None) -> None:
        """Record a problem; past :data:`MAX_PROBLEMS` only those naming a case are kept (a flood is one)."""
        self.refused += 1
        if len(self.problems) < MAX_PROBLEMS or (case is not None and case not in self._cases_named()):
            self.problems.append(IntegrityProblem(self.engine, message, case))
        elif self.refused == MAX_PROBLEMS + 1:
            self.problems.append(IntegrityProblem(self.engine, "more lines were refused; not listed"))

    def _cases_named(self) -> set[str | None]:
        return {p.case for p in self.problems}

    def accept(self, line: str, now: float) -> dict[str, Any] | None:
        """The record ``line`` holds if it is acceptable now; None (and a problem recorded) if not.

        A ``start`` record is absorbed here (it updates :attr:`running`); ``facts``,
        ``crash`` and ``internal-error`` records are returned for the supervisor.
        """
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            self.refuse(f"a line from the worker is not JSON: {line[:80]!r}")
            return None
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "internal-error":
            return record if isinstance(record.get("message"), str) else self._malformed(line)
        if kind not in ("start", FACTS, "crash"):
            return self._malformed(line)
        case, engine = record.get("case"), record.get("engine")
        if not isinstance(case, str) or not isinstance(engine, str):
            return self._malformed(line)
        if engine != self.engine:
            self.refuse(f"the worker reported {case!r} for another engine, {engine!r}", None)
            return None
        if case not in self.selected:
            self.refuse(f"the worker reported a case that was not selected: {case!r}")
            return None
        if case in self.reported:
            self.refuse(f"the worker reported {case!r} again after its outcome was recorded", case)
            return None
        if case not in self.given:
            self.refuse(f"the worker reported {case!r}, which it was not asked to run", case)
            return None
        if kind == "start":
            if case in self.running:
                self.refuse(f"the worker started {case!r} twice", case)
                return None
            self.running[case] = now
            return None
        if case not in self.running:
            self.refuse(f"the worker reported an outcome for {case!r} without starting it", case)
            return None
        if kind == FACTS and not _facts_ok(record):
            return self._malformed(line, case)
        if kind == "crash" and not isinstance(record.get("message"), str):
            return self._malformed(line, case)
        del self.running[case]
        self.reported.add(case)
        return record

    def _malformed(self, line: str, case: str | None = None) -> None:
        self.refuse(f"a line from the worker is not a well-formed record: {line[:80]!r}", case)
        return None
