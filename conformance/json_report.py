"""The JSON report: one document per run (or merge), and the model every other report reads.

The document is built once from the result stream. The HTML page and the Markdown
summary render this same document, so the three never disagree about a score,
and a tool reading ``report.json`` sees exactly what a person sees. Its shape is
pinned by ``report_schema.json`` (shipped beside this module); bump
:data:`REPORT_SCHEMA` when a field changes meaning or goes away.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from gradspec.conformance.outcomes import APPLICABLE, UNEXPECTED, Outcome, Verdict
from gradspec.conformance.results import RunResults
from gradspec.conformance.score import Score, scores_by
from gradspec.spec.claims import SPEC_VERSION, Claim, all_claims

REPORT_SCHEMA = "gradspec-report/1"

PROBLEMS = frozenset(UNEXPECTED | {Verdict.UNEXPECTED_PASS})
"""Verdicts whose details a report spells out: what went wrong and how to reproduce it."""


def report_schema() -> dict[str, Any]:
    """The JSON Schema that every ``report.json`` satisfies (shipped as package data)."""
    text = resources.files("gradspec.conformance").joinpath("report_schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def score_json(score: Score) -> dict[str, Any]:
    """A score as data: passes, the denominator, what was left out, and the same words a person reads."""
    return {
        "passed": score.passed,
        "applicable": score.applicable,
        "unsupported": score.unsupported,
        "ratio": score.ratio,
        "text": score.text(),
        "counts": {verdict.value: n for verdict in Verdict if (n := score.counts[verdict])},
    }


def _claims_of_this_spec(spec_version: str | None) -> dict[str, Claim]:
    """The installed spec's claims, but only if the results come from the same spec version.

    Errata and claim order come from the installed spec; from another version they
    could describe different claims, so then the report goes without them.
    """
    if spec_version != SPEC_VERSION:
        return {}
    return {claim.id: claim for claim in all_claims()}


def _case(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.case,
        "engine": outcome.engine,
        "outcome": outcome.verdict.value,
        "statement": outcome.statement,
        "section": outcome.section,
        "level": outcome.level,
        "kind": outcome.kind,
        "duration": outcome.duration,
        "message": outcome.message,
        "expected": outcome.expected,
        "actual": outcome.actual,
        "counterexample": outcome.counterexample,
        "reproduce": outcome.reproduce,
        "observations": outcome.observations,
    }


def _claim_rows(outcomes: list[Outcome], known: dict[str, Claim]) -> list[dict[str, Any]]:
    """One row per claim that ran, in the note's order where the spec knows it."""
    first: dict[str, Outcome] = {}
    for outcome in outcomes:
        first.setdefault(outcome.case, outcome)
    order = {claim_id: i for i, claim_id in enumerate(known)}
    ids = sorted(first, key=lambda c: (order.get(c, len(order)), list(first).index(c)))
    rows = []
    for claim_id in ids:
        outcome, claim = first[claim_id], known.get(claim_id)
        rows.append(
            {
                "id": claim_id,
                "statement": outcome.statement,
                "section": outcome.section,
                "level": outcome.level,
                "kind": outcome.kind,
                "erratum": claim.erratum if claim else None,
            }
        )
    return rows


def _engine_rows(results: RunResults, outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Engine metadata from the run headers, plus any engine only the outcomes name."""
    engines = [dict(e) for e in results.engines()]
    named = {e["name"] for e in engines}
    for outcome in outcomes:
        if outcome.engine not in named:
            named.add(outcome.engine)
            engines.append({"name": outcome.engine})
    return engines


def _scores(outcomes: list[Outcome], engines: Iterable[str]) -> list[dict[str, Any]]:
    rows = []
    for engine in engines:
        mine = [o for o in outcomes if o.engine == engine]
        overall = scores_by(mine, lambda o: "all").get("all", Score())
        rows.append(
            {
                "engine": engine,
                "overall": score_json(overall),
                "levels": {k: score_json(s) for k, s in scores_by(mine, lambda o: o.level).items()},
                "sections": {k: score_json(s) for k, s in scores_by(mine, lambda o: o.section).items()},
            }
        )
    return rows


def expected_failures_by_kind(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Expected failures counted by their expectations entry's kind (a wrong value is not a message text).

    An entry without a kind (files written before kinds existed) counts as ``unspecified``.
    """
    counts: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.verdict is Verdict.EXPECTED_FAILURE:
            entry = outcome.observations.get("expectation")
            kind = entry.get("kind") if isinstance(entry, dict) else None
            kind = kind if isinstance(kind, str) and kind else "unspecified"
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def build_document(results: RunResults, generated: datetime | None = None) -> dict[str, Any]:
    """The report document for ``results``: the data behind report.json, report.html and summary.md."""
    outcomes = results.outcomes
    known = _claims_of_this_spec(results.spec_version)
    claims = _claim_rows(outcomes, known)
    engines = _engine_rows(results, outcomes)
    engine_names = [e["name"] for e in engines]
    verdicts: dict[str, int] = {}
    for outcome in outcomes:
        verdicts[outcome.verdict.value] = verdicts.get(outcome.verdict.value, 0) + 1
    return {
        "schema": REPORT_SCHEMA,
        "spec_version": results.spec_version,
        "generated": (generated or datetime.now(UTC)).isoformat(timespec="seconds"),
        "runs": [
            {
                "source": run.get("source"),
                "started": run.get("started"),
                "engines": [e["name"] for e in run.get("engines", [])],
                "argv": run.get("argv", []),
            }
            for run in results.runs
        ],
        "engines": engines,
        "summary": {
            "cases": len(outcomes),
            "claims": len(claims),
            "verdicts": verdicts,
            "conforming": bool(outcomes)
            and not results.problems
            and not any(o.verdict in UNEXPECTED for o in outcomes)
            and all(any(o.engine == e and o.verdict in APPLICABLE for o in outcomes) for e in engine_names),
            "expected_failures_by_kind": expected_failures_by_kind(outcomes),
        },
        "integrity": [{"engine": p.engine, "case": p.case, "message": p.message} for p in results.problems],
        "scores": _scores(outcomes, engine_names),
        "claims": claims,
        "errata": [
            {"claim": c.id, "statement": c.statement, "section": c.section, "erratum": c.erratum}
            for c in known.values()
            if c.erratum
        ],
        "cases": [_case(o) for o in outcomes],
    }


def strict_json(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings ``"nan"``, ``"inf"``, ``"-inf"``.

    An engine's wrong answer is often NaN, and the result stream keeps it, but
    standard JSON has no NaN: browsers' and most tools' parsers reject the file.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_json(document: dict[str, Any], path: Path) -> Path:
    """Write the document as standard JSON; values JSON cannot hold are written as their repr."""
    text = json.dumps(strict_json(document), indent=2, default=repr, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
