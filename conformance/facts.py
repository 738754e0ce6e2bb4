"""What a case did, as plain data, and the outcome those facts make.

The worker process that runs an engine's cases also runs the engine's code, so
anything decided there can be changed by the engine (it can patch gradspec's
modules in its own process). The worker therefore sends *facts*: whether the
check returned, and if not which exception it raised, with its text, notes,
the expected and actual values a :class:`ClaimViolation` carried and the
counterexample program a property attached. The supervisor turns the facts into
an :class:`Outcome` with its own copy of :func:`outcome_of`, where the engine
cannot reach; the in-process run uses the same function, so both agree.

Facts are JSON from the start: a value JSON cannot hold (an engine's object
where a tensor or None was expected) is recorded by its ``repr``, never deep-
copied or pickled, so an odd value can make a claim fail but never the harness.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.spec.claims import Claim

FACTS = "facts"
"""The record type a worker sends for each finished case."""

ROLES = ("violation", "unsupported", "skip", "other")
"""What an exception means to gradspec: a wrong answer, a missing feature, pytest's skip, anything else."""

MAX_TEXT = 1_000_000
"""Characters kept of any one text an engine produced (a message, a repr): enough to read, bounded."""


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """``str(value)``, shortened to ``limit`` and with lone surrogates escaped, so it encodes as UTF-8."""
    try:
        string = value if isinstance(value, str) else str(value)
    except Exception as exc:  # noqa: BLE001 - an engine's __str__ may raise anything
        string = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    if len(string) > limit:
        string = string[:limit] + f"… [{len(string) - limit} more characters]"
    return string.encode("utf-8", "backslashreplace").decode("utf-8")


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data: containers walked, anything else JSON cannot hold as its repr."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return text(value)
    if depth < 20 and isinstance(value, dict):
        return {text(k): jsonable(v, depth + 1) for k, v in value.items()}
    if depth < 20 and isinstance(value, list | tuple):
        return [jsonable(v, depth + 1) for v in value]
    try:
        return text(repr(value))
    except Exception as exc:  # noqa: BLE001 - an engine's __repr__ may raise anything
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"


def without_namespace(note: str, name: str) -> str:
    """A hypothesis note with the ``T=...`` argument (the engine namespace's repr) shown as the engine's name.

    Hypothesis prints every argument of a falsifying example; for ``T`` that is the
    repr of a whole module or namespace (kilobytes of noise for a SimpleNamespace),
    when the reader only needs to know which engine it was.
    """
    out, start = [], 0
    while (at := note.find("T=", start)) >= 0:
        if at and (note[at - 1].isalnum() or note[at - 1] == "_"):
            out.append(note[start : at + 2])
            start = at + 2
            continue
        end, depth, quote = at + 2, 0, ""
        while end < len(note):
            char = note[end]
            if quote:
                if char == "\\":
                    end += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "([{<":
                depth += 1
            elif char in ")]}>":
                if depth == 0:
                    break
                depth -= 1
            elif char in ",\n" and depth == 0:
                break
            end += 1
        out.append(f"{note[start:at]}T=<engine {name}>")
        start = end
    out.append(note[start:])
    return "".join(out)


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    leaves: list[BaseException] = []
    for inner in group.exceptions:
        leaves.extend(_leaves(inner) if isinstance(inner, BaseExceptionGroup) else [inner])
    return leaves


def error_facts(
    error: BaseException,
    role_of: Callable[[BaseException], str],
    clean: Callable[[str], str] = text,
    shown: Callable[[Any], Any] = lambda value: value,
) -> dict[str, Any]:
    """The facts of one exception; ``role_of(error)`` says which of :data:`ROLES` it plays.

    ``clean`` is applied to every text the engine could have shaped (message,
    notes), e.g. to replace the engine namespace's long repr by its name;
    ``shown`` renders a violation's expected and actual values (tensors as lists).
    """
    record: dict[str, Any] = {
        "type": text(f"{type(error).__module__}.{type(error).__qualname__}"),
        "name": text(type(error).__name__),
        "role": role_of(error),
        "message": clean(text(getattr(error, "msg", error) if role_of(error) == "skip" else error)),
        "notes": [clean(text(n)) for n in getattr(error, "__notes__", None) or [] if isinstance(n, str)],
    }
    if record["role"] == "violation":
        for side in ("expected", "actual"):
            value = getattr(error, side, None)
            try:
                value = shown(value)
            except Exception:  # noqa: BLE001 - an engine object whose tolist() raises: keep its repr
                pass
            record[side] = jsonable(value)
    program = getattr(error, "counterexample", None)
    if program is not None:
        record["counterexample"] = text(program)
    if isinstance(error, BaseExceptionGroup):
        record["leaves"] = [error_facts(e, role_of, clean, shown) for e in _leaves(error)]
    return record


def case_facts(
    case: str, engine: str, *, duration: float, observations: Any, error: dict[str, Any] | None
) -> dict[str, Any]:
    """The record a worker sends when a case finished: ``error`` is None when the check returned."""
    return {
        "type": FACTS,
        "case": case,
        "engine": engine,
        "duration": float(duration) if isinstance(duration, int | float) else 0.0,
        "observations": jsonable(observations if isinstance(observations, dict) else {}),
        "error": error,
    }


# -- classification: facts -> outcome (run by whoever owns the verdict) -----------------


def _with_notes(error: dict[str, Any]) -> str:
    return "\n".join([str(error.get("message", "")), *map(str, error.get("notes", []))])


def _described(error: dict[str, Any]) -> str:
    if error.get("role") == "violation":
        return _with_notes(error)
    return "\n".join(
        [f"{error.get('name', 'Exception')}: {error.get('message', '')}", *error.get("notes", [])]
    )


def _distinct_failures(outcome: Outcome, error: dict[str, Any], leaves: list[dict[str, Any]]) -> Outcome:
    """Hypothesis found several distinct failures: each with its own shrunk program."""
    violations = [e for e in leaves if e.get("role") == "violation"]
    outcome.verdict = Verdict.FAIL if len(violations) == len(leaves) else Verdict.ERROR
    first = violations[0] if violations else leaves[0]
    if violations:
        outcome.expected, outcome.actual = first.get("expected"), first.get("actual")
    parts = [f"{len(leaves)} distinct failures:"]
    programs = []
    for number, leaf in enumerate(leaves, 1):
        parts.append(f"[{number}] {_described(leaf)}")
        if leaf.get("counterexample"):
            programs.append(f"# [{number}] {leaf.get('name', '')}\n{leaf['counterexample'].rstrip()}\n")
    outcome.message = "\n".join(parts)
    outcome.counterexample = "\n".join(programs) or error.get("counterexample")
    return outcome


def outcome_of(claim: Claim, facts: dict[str, Any]) -> Outcome:
    """The outcome that a finished case's facts make (before expectations are applied)."""
    error = facts.get("error")
    outcome = Outcome.of_claim(
        claim,
        facts["engine"],
        Verdict.PASS,
        duration=facts.get("duration", 0.0),
        observations=facts.get("observations") or {},
    )
    if error is None:
        return outcome
    leaves = error.get("leaves") or []
    role = error.get("role")
    if role == "skip":
        outcome.verdict = Verdict.UNSUPPORTED
        outcome.message = str(error.get("message", "")).removeprefix("unsupported: ")
        return outcome
    if role == "unsupported" or (leaves and all(e.get("role") == "unsupported" for e in leaves)):
        outcome.verdict = Verdict.UNSUPPORTED
        outcome.message = str((leaves[0] if role != "unsupported" else error).get("message", ""))
        return outcome
    if leaves:
        return _distinct_failures(outcome, error, leaves)
    if role == "violation":
        outcome.verdict = Verdict.FAIL
        outcome.expected, outcome.actual = error.get("expected"), error.get("actual")
    else:
        outcome.verdict = Verdict.ERROR
    outcome.message = _described(error)
    outcome.counterexample = error.get("counterexample")
    return outcome
