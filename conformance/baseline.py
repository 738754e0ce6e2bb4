"""Baselines: compare a run with an earlier one, so the gate fails on regressions only.

An engine's CI keeps the results of its last good run (``results.jsonl``, or the
``report.json`` built from it). ``gradspec run --baseline FILE`` then fails when a
case that passed there fails now, and lists the cases that pass now but did not,
which is the moment to tighten the expectations file.

Cases are matched by (engine, case id). A case that passed in the baseline and is
now an expected-failure still counts as a regression: the expectations file says
why a case fails, the baseline says it used to pass, and both facts stand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradspec.conformance.inputs import read_input_text
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultsError, RunResults, read_results
from gradspec.spec.claims import SPEC_VERSION

PASSED = frozenset({Verdict.PASS, Verdict.UNEXPECTED_PASS})
FAILED = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT, Verdict.EXPECTED_FAILURE})
REPORT_SCHEMA = "gradspec-report/1"


class BaselineError(ValueError):
    """A baseline that cannot be used; the message names the file (and line where there is one)."""


@dataclass(frozen=True)
class Change:
    """One case whose verdict differs between the baseline and this run."""

    engine: str
    case: str
    before: Verdict
    after: Verdict
    message: str = ""

    def text(self) -> str:
        line = f"{self.case}[{self.engine}]: {self.before.value} -> {self.after.value}"
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{line}  ({first})" if first else line


@dataclass
class BaselineDiff:
    """What changed since the baseline; ``regressions`` is what fails the gate."""

    source: Path
    regressions: list[Change] = field(default_factory=list)
    newly_passing: list[Change] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (engine, case) in baseline, not run now
    new_cases: list[tuple[str, str]] = field(default_factory=list)  # run now, absent from the baseline
    baseline_spec_version: str | None = None

    @property
    def ok(self) -> bool:
        return not self.regressions

    def text(self) -> str:
        """A short rendering for the terminal and the CI log."""
        lines = [
            f"baseline {self.source}: {len(self.regressions)} regression(s), "
            f"{len(self.newly_passing)} newly passing"
        ]
        if self.baseline_spec_version not in (None, SPEC_VERSION):
            lines.append(
                f"  note: the baseline is from spec version {self.baseline_spec_version}, "
                f"this run from {SPEC_VERSION}; case ids may have changed meaning"
            )
        for title, changes in (("regressed", self.regressions), ("newly passing", self.newly_passing)):
            if changes:
                lines.append(f"  {title}:")
                lines += [f"    {change.text()}" for change in changes]
        if self.missing:
            lines.append(f"  {len(self.missing)} case(s) of the baseline did not run now")
        if self.new_cases:
            lines.append(f"  {len(self.new_cases)} case(s) are new since the baseline")
        return "\n".join(lines)


def load_baseline(path: Path) -> RunResults:
    """A baseline read from a ``results.jsonl`` stream or a ``report.json``.

    Raises :class:`BaselineError` naming the file for anything unreadable or malformed.
    """
    path = Path(path)
    if path.suffix == ".json":
        return _from_report(path)
    try:
        return read_results(path)
    except ResultsError as exc:
        raise BaselineError(str(exc)) from exc


def _from_report(path: Path) -> RunResults:
    """The outcomes a ``report.json`` lists; only the fields a comparison needs."""
    text = read_input_text(path, "baseline file", BaselineError)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(document, dict) or document.get("schema") != REPORT_SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise BaselineError(f"{path}: not a gradspec report (schema {found!r}, expected {REPORT_SCHEMA!r})")
    outcomes = []
    for number, case in enumerate(document.get("cases", []), 1):
        try:
            outcomes.append(
                Outcome(
                    case=case["id"],
                    engine=case["engine"],
                    verdict=Verdict(case["outcome"]),
                    message=case.get("message") or "",
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BaselineError(f"{path}: case {number} of 'cases' is malformed ({exc!r})") from exc
    run: dict[str, Any] = {"spec_version": document.get("spec_version"), "source": str(path)}
    return RunResults(runs=[run], outcomes=outcomes)


def compare(baseline: RunResults, current: Iterable[Outcome]) -> BaselineDiff:
    """Regressions and newly passing cases of ``current`` against ``baseline``.

    Raises :class:`BaselineError` when the baseline holds none of the engines that
    ran now: nothing could be compared, which is a mistake (the wrong file, or an
    engine renamed), never a pass.
    """
    source_path = Path(_source_of(baseline) or "baseline")
    before = {(o.engine, o.case): o for o in baseline.outcomes}
    now = list(current)
    engines_now = {o.engine for o in now}
    engines_before = {engine for engine, _ in before}
    if now and not engines_now & engines_before:
        had = ", ".join(sorted(engines_before)) or "no engine"
        raise BaselineError(
            f"{source_path}: the baseline has results for {had}, "
            f"none of the engines run now ({', '.join(sorted(engines_now))})"
        )
    diff = BaselineDiff(source=source_path, baseline_spec_version=baseline.spec_version)
    seen = set()
    for outcome in now:
        key = (outcome.engine, outcome.case)
        seen.add(key)
        old = before.get(key)
        if old is None:
            if outcome.engine in engines_before:
                diff.new_cases.append(key)
            continue
        change = Change(outcome.engine, outcome.case, old.verdict, outcome.verdict, outcome.message)
        if old.verdict in PASSED and outcome.verdict in FAILED:
            diff.regressions.append(change)
        elif old.verdict not in PASSED and outcome.verdict in PASSED:
            diff.newly_passing.append(change)
    diff.missing = [key for key in before if key not in seen and key[0] in engines_now]
    return diff


def _source_of(results: RunResults) -> str | None:
    return results.runs[0].get("source") if results.runs else None
