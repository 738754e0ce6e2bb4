"""Outcomes: the one record that crosses from the pytest run to the reports.

One :class:`Outcome` per (case, engine). It carries everything a report shows, so
report builders never re-run or re-derive what the run recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradspec.spec.claims import Claim


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"  # the engine answered wrongly
    ERROR = "error"  # the engine raised where it should not
    UNSUPPORTED = "unsupported"  # the engine lacks a capability the case needs
    EXPECTED_FAILURE = "expected-failure"  # listed in the engine's expectations file
    UNEXPECTED_PASS = "unexpected-pass"  # listed as expected to fail, but passed
    CRASH = "crash"  # the worker process died
    TIMEOUT = "timeout"  # the case ran past its time limit


APPLICABLE = frozenset(
    {
        Verdict.PASS,
        Verdict.FAIL,
        Verdict.ERROR,
        Verdict.CRASH,
        Verdict.TIMEOUT,
        Verdict.EXPECTED_FAILURE,
        Verdict.UNEXPECTED_PASS,
    }
)
"""Verdicts that count in a score's denominator; unsupported cases never do."""

UNEXPECTED = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT})
"""Verdicts that make a run non-conforming unless an expectations file lists them."""


@dataclass
class Outcome:
    """The result of one case on one engine."""

    case: str
    engine: str
    verdict: Verdict
    statement: str = ""
    section: str = ""
    level: str = "core"
    kind: str = "example"
    duration: float = 0.0
    message: str = ""
    expected: Any = None
    actual: Any = None
    counterexample: str | None = None
    reproduce: str | None = None
    observations: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_claim(cls, claim: Claim, engine: str, verdict: Verdict, **fields: Any) -> Outcome:
        """An outcome carrying the claim's metadata, as every report row needs."""
        return cls(
            case=claim.id,
            engine=engine,
            verdict=verdict,
            statement=claim.statement,
            section=claim.section,
            level=claim.level.value,
            kind=claim.kind,
            **fields,
        )

    @property
    def nodeid(self) -> str:
        return f"{self.case}[{self.engine}]"

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["verdict"] = self.verdict.value
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Outcome:
        known = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        known["verdict"] = Verdict(known["verdict"])
        return cls(**known)
