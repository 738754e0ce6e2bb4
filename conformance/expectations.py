"""Expectations files: the cases an engine is known not to pass, each with the reason.

An engine that diverges from PyTorch on purpose (or has not caught up yet) can
still gate its CI: it lists the divergences once, and the gate then fails only on
what is *new*. The file is TOML, one table per engine and kind of entry::

    # impls/expectations/mygrad.toml
    [mygrad.fail]
    "rules.accumulate" = "each backward() replaces .grad instead of adding to it"
    "backward.*-message" = "mygrad raises no error at all, so there is no message to match"

    [mygrad.unsupported]
    "logreg.module-converges" = { kind = "missing-feature", reason = "no nn.Module in mygrad" }

- ``fail``: the engine runs the case and answers differently. A fail, error,
  crash or timeout becomes *expected-failure* (the original message is kept, the
  reason added); a pass becomes *unexpected-pass*, so a fixed divergence is noticed
  and its entry removed. An entry that declares its kind accepts only that kind
  (:func:`_accepts`): a ``wrong-value`` entry that meets an error, a crash or a
  timeout keeps that verdict, with a note, because the divergence it lists was not
  what the run saw.
- ``unsupported``: the engine cannot do this at all, for an engine that does not
  declare the capability. An error (it raised, e.g. AttributeError) becomes
  *unsupported*; a pass becomes *unexpected-pass*. A wrong answer (fail) stays a
  fail: something that computes and answers wrongly is a divergence, not a missing
  capability, and belongs under ``fail``.

An entry is a reason string, or an inline table ``{ kind = "...", reason = "..." }``
saying what kind of divergence it is (:class:`Kind`): ``wrong-value`` (a wrong
gradient, value or flag), ``wrong-error-type`` (raises where PyTorch does not, or
not what PyTorch raises), ``message-text`` (the right error with other words: only
``pytorch``-level claims check texts) and ``missing-feature`` (the engine cannot be
asked at all). A wrong gradient and an error text are different things to accept
in a gate, so reports count expected failures per kind. An entry without a kind is
``unspecified`` in the file and its kind is inferred from the outcome it covers.

Case ids are exact ids or ``fnmatch`` globs (``backward.*-message``), the same
form ``--case`` accepts. An exact id takes precedence over a glob; between globs
the first in the file wins. Every entry must name at least one case of the spec,
so a typo or a case renamed away is an input error rather than a silent no-op.
Entries for engines not in the run are ignored, so one file can serve several.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from gradspec.conformance.inputs import read_input_text
from gradspec.conformance.outcomes import Outcome, Verdict

GLOB_CHARACTERS = frozenset("*?[")

NOT_PASSING = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT})
"""Outcomes that an entry under ``fail`` turns into expected-failure."""


class ExpectationsError(ValueError):
    """An expectations file that cannot be used; the message names the file and line."""


class Listed(StrEnum):
    """Which table of the file an entry is in."""

    FAIL = "fail"
    UNSUPPORTED = "unsupported"


class Kind(StrEnum):
    """What kind of divergence an entry accepts."""

    WRONG_VALUE = "wrong-value"
    WRONG_ERROR_TYPE = "wrong-error-type"
    MESSAGE_TEXT = "message-text"
    MISSING_FEATURE = "missing-feature"
    UNSPECIFIED = "unspecified"


KINDS_UNDER: dict[Listed, frozenset[Kind]] = {
    Listed.FAIL: frozenset(Kind),
    # An unsupported entry turns errors into *unsupported*; only a missing feature is that.
    Listed.UNSUPPORTED: frozenset({Kind.MISSING_FEATURE, Kind.UNSPECIFIED}),
}


def _accepts(kind: Kind, outcome: Outcome) -> bool:
    """Whether a ``fail`` entry of ``kind`` turns ``outcome`` into an expected failure.

    An entry without a kind accepts any way of not passing. One with a kind accepts
    the outcomes that show it (:func:`infer_kind`), an error being a wrong error
    type or a missing feature alike (the engine raised where PyTorch did not); a
    crash or a timeout shows no kind, so only an entry without one accepts it.
    """
    if kind is Kind.UNSPECIFIED:
        return outcome.verdict in NOT_PASSING
    if outcome.verdict is Verdict.ERROR:
        return kind in {Kind.WRONG_ERROR_TYPE, Kind.MISSING_FEATURE}
    if outcome.verdict is Verdict.FAIL:
        shown = infer_kind(outcome)
        return shown is kind or (kind is Kind.MISSING_FEATURE and shown is Kind.WRONG_ERROR_TYPE)
    return False


MISSING_FEATURE_ERRORS = ("NotImplementedError", "AttributeError")
"""Errors an engine (or its adapter) raises for a feature it does not have."""

_ERROR_EXPECTED = re.compile(r"^(\w+(?:Error|Exception|Warning)(?: or \w+)*)(?: matching .*)?$", re.S)


def infer_kind(outcome: Outcome, verdict: Verdict | None = None) -> Kind:
    """The kind of divergence ``outcome`` shows, read from what the run recorded.

    ``verdict`` is the raw verdict when ``outcome`` was already gated. A fail whose
    expected value names an exception is about errors: the right type with another
    text is ``message-text``, anything else ``wrong-error-type``; any other fail is
    ``wrong-value``. An error is ``missing-feature`` when it is NotImplementedError
    or AttributeError (the engine lacks what was called), else ``wrong-error-type``.
    """
    verdict = verdict or outcome.verdict
    if verdict is Verdict.UNSUPPORTED:
        return Kind.MISSING_FEATURE
    if verdict is Verdict.ERROR:
        raised = (outcome.message or "").split(":", 1)[0].strip()
        return Kind.MISSING_FEATURE if raised in MISSING_FEATURE_ERRORS else Kind.WRONG_ERROR_TYPE
    if verdict is Verdict.FAIL:
        expected = outcome.expected
        found = _ERROR_EXPECTED.match(expected) if isinstance(expected, str) else None
        if found is None:
            return Kind.WRONG_VALUE
        wanted = found[1].split(" or ")
        actual = outcome.actual if isinstance(outcome.actual, str) else ""
        same_type = actual.split(":", 1)[0].strip() in wanted
        return Kind.MESSAGE_TEXT if same_type and " matching " in expected else Kind.WRONG_ERROR_TYPE
    return Kind.UNSPECIFIED


@dataclass(frozen=True)
class Entry:
    """One line of an expectations file: an engine, a case id or glob, and why."""

    engine: str
    pattern: str
    listed: Listed
    reason: str
    source: str  # "file:line", for messages that point back at the entry
    kind: Kind = Kind.UNSPECIFIED

    @property
    def is_glob(self) -> bool:
        return bool(GLOB_CHARACTERS & set(self.pattern))

    def matches(self, case: str) -> bool:
        return fnmatch.fnmatchcase(case, self.pattern) if self.is_glob else case == self.pattern


@dataclass(frozen=True)
class Expectations:
    """The entries of one file, and the rule that turns a raw outcome into the gate's verdict."""

    path: Path
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def engines(self) -> set[str]:
        return {entry.engine for entry in self.entries}

    def lookup(self, engine: str, case: str) -> Entry | None:
        """The entry that covers ``case`` on ``engine``: an exact id first, then the first glob."""
        candidates = [e for e in self.entries if e.engine == engine and e.matches(case)]
        exact = [e for e in candidates if not e.is_glob]
        return (exact or candidates or [None])[0]

    def apply(self, outcome: Outcome) -> Outcome:
        """The outcome as the gate sees it; unchanged when no entry covers it.

        Returns a new Outcome; the original verdict is kept in
        ``observations["expectation"]`` so a later ``gradspec expect --write`` can
        re-draft the file from a gated run.
        """
        entry = self.lookup(outcome.engine, outcome.case)
        if entry is None:
            return outcome
        verdict = _gated_verdict(entry.listed, outcome.verdict)
        if verdict is Verdict.UNSUPPORTED and entry.listed is Listed.FAIL:
            return outcome  # the engine declares the capability missing; the entry is moot here
        if verdict is Verdict.EXPECTED_FAILURE and not _accepts(entry.kind, outcome):
            shown = infer_kind(outcome)
            what = f"a {outcome.verdict.value}" + (
                f" ({shown.value})" if shown is not Kind.UNSPECIFIED else ""
            )
            note = (
                f"listed under fail in {entry.source} as {entry.kind.value}, but it is {what}: "
                "not the divergence the entry accepts (fix the engine, or the entry's kind)"
            )
            return replace(outcome, message=_join(outcome.message, note))
        if verdict is outcome.verdict and verdict is not Verdict.UNSUPPORTED:
            note = f"listed under {entry.listed.value} in {entry.source}, but it is a {outcome.verdict.value}"
            if outcome.verdict is Verdict.FAIL:
                note += " (a wrong answer is a divergence: list it under fail)"
            return replace(outcome, message=_join(outcome.message, note))
        if verdict is Verdict.UNEXPECTED_PASS:
            note = f"listed under {entry.listed.value} in {entry.source} ({entry.reason}), but it passed"
        else:
            note = f"expected ({entry.source}): {entry.reason}"
        observations = {
            **outcome.observations,
            "expectation": {
                "listed": entry.listed.value,
                "reason": entry.reason,
                "source": entry.source,
                "was": outcome.verdict.value,
                # The file's kind, or the one the outcome shows when the file gives none.
                "kind": _kind_of(entry, outcome).value,
                "kind_declared": entry.kind is not Kind.UNSPECIFIED,
            },
        }
        return replace(
            outcome, verdict=verdict, message=_join(outcome.message, note), observations=observations
        )

    def apply_all(self, outcomes: Iterable[Outcome]) -> list[Outcome]:
        return [self.apply(o) for o in outcomes]

    def unused(self, outcomes: Iterable[Outcome]) -> list[Entry]:
        """Entries for engines in the run that covered none of its outcomes (stale, or deselected)."""
        ran = list(outcomes)
        engines = {o.engine for o in ran}
        return [
            e
            for e in self.entries
            if e.engine in engines and not any(o.engine == e.engine and e.matches(o.case) for o in ran)
        ]


def _kind_of(entry: Entry, outcome: Outcome) -> Kind:
    """The entry's kind; when the file gives none, what the table or the outcome says."""
    if entry.kind is not Kind.UNSPECIFIED:
        return entry.kind
    if entry.listed is Listed.UNSUPPORTED:
        return Kind.MISSING_FEATURE
    return infer_kind(outcome)


def _gated_verdict(listed: Listed, verdict: Verdict) -> Verdict:
    if verdict is Verdict.PASS:
        return Verdict.UNEXPECTED_PASS
    if listed is Listed.FAIL and verdict in NOT_PASSING:
        return Verdict.EXPECTED_FAILURE
    if listed is Listed.UNSUPPORTED and verdict is Verdict.ERROR:
        return Verdict.UNSUPPORTED
    return verdict


def _join(message: str, note: str) -> str:
    return f"{message}\n{note}" if message else note


# -- loading ----------------------------------------------------------------------


def load_expectations(path: Path, known_case_ids: Iterable[str] | None = None) -> Expectations:
    """Read and check an expectations file against the spec's case ids.

    ``known_case_ids`` defaults to every claim of the installed spec. Raises
    :class:`ExpectationsError` naming the file (and line where there is one) for
    an unreadable file, a TOML syntax error, an unknown key, an entry without a
    reason and an entry that names no known case.
    """
    path = Path(path)
    if known_case_ids is None:
        from gradspec.spec.claims import all_claims

        known_case_ids = [c.id for c in all_claims()]
    known = sorted(set(known_case_ids))
    text = read_input_text(path, "expectations file", ExpectationsError)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationsError(_syntax_error(path, exc)) from exc
    lines = _KeyLines(text)
    entries: list[Entry] = []
    for engine, tables in document.items():
        where = f"{path}:{lines.table(engine)}"
        if not isinstance(tables, dict):
            raise ExpectationsError(
                f"{where}: {engine!r} must be a table of entries per engine, e.g. [{engine}.fail]"
            )
        for kind, cases in tables.items():
            where = f"{path}:{lines.table(engine, kind)}"
            if kind not in {k.value for k in Listed}:
                raise ExpectationsError(
                    f"{where}: unknown key {kind!r} under [{engine}]; expected 'fail' or 'unsupported'"
                )
            if not isinstance(cases, dict):
                raise ExpectationsError(f"{where}: [{engine}.{kind}] must be a table of case id = reason")
            for pattern, value in cases.items():
                source = f"{path}:{lines.key(engine, kind, pattern)}"
                reason, divergence = _reason_and_kind(pattern, value, Listed(kind), source)
                entries.append(_entry(engine, Listed(kind), pattern, reason, source, known, divergence))
    _check_duplicates(entries)
    return Expectations(path=path, entries=tuple(entries))


_ENTRY_KEYS = frozenset({"reason", "kind"})


def _reason_and_kind(pattern: str, value: Any, listed: Listed, source: str) -> tuple[Any, Kind]:
    """An entry's reason and kind, from ``"reason"`` or ``{ kind = "...", reason = "..." }``."""
    if not isinstance(value, dict):
        return value, Kind.UNSPECIFIED
    if "reason" not in value or not set(value) <= _ENTRY_KEYS:
        # An unquoted dotted id (rules.accumulate = "...") parses as nested tables.
        raise ExpectationsError(
            f"{source}: {pattern!r} reads as a dotted key; quote the whole case id "
            "(an inline table takes only kind = and reason =)"
        )
    known = ", ".join(k.value for k in KINDS_UNDER[listed])
    try:
        kind = Kind(value.get("kind", Kind.UNSPECIFIED.value))
    except ValueError:
        raise ExpectationsError(
            f"{source}: unknown kind {value.get('kind')!r} for {pattern!r}; under {listed.value}: {known}"
        ) from None
    if kind not in KINDS_UNDER[listed]:
        raise ExpectationsError(
            f"{source}: kind {kind.value!r} cannot be listed under {listed.value} "
            f"(an unsupported entry is a missing feature); under {listed.value}: {known}"
        )
    return value["reason"], kind


def _entry(
    engine: str,
    listed: Listed,
    pattern: str,
    reason: Any,
    source: str,
    known: list[str],
    kind: Kind = Kind.UNSPECIFIED,
) -> Entry:
    if not isinstance(reason, str):
        raise ExpectationsError(f"{source}: the reason for {pattern!r} must be a string, not {reason!r}")
    if not reason.strip():
        raise ExpectationsError(f"{source}: {pattern!r} has no reason; say what the engine does instead")
    entry = Entry(
        engine=engine, pattern=pattern, listed=listed, reason=reason.strip(), source=source, kind=kind
    )
    if not any(entry.matches(case) for case in known):
        close = difflib.get_close_matches(pattern, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        kind = "pattern" if entry.is_glob else "case id"
        raise ExpectationsError(f"{source}: {kind} {pattern!r} names no case of the spec{hint}")
    return entry


def _check_duplicates(entries: list[Entry]) -> None:
    seen: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        first = seen.setdefault((entry.engine, entry.pattern), entry)
        if first is not entry:
            raise ExpectationsError(
                f"{entry.source}: {entry.pattern!r} for {entry.engine} is already listed "
                f"under {first.listed.value} at {first.source}"
            )


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _syntax_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    """``file:line:col: message`` from tomllib's "message (at line L, column C)"."""
    message = str(exc)
    found = _TOML_POSITION.search(message)
    if not found:
        return f"{path}: not valid TOML ({message})"
    return f"{path}:{found[1]}:{found[2]}: not valid TOML ({message[: found.start()]})"


class _KeyLines:
    """Line numbers of tables and keys, since tomllib reports positions only for syntax errors.

    Each header and key is parsed with tomllib itself, so quoting and dotted keys
    resolve exactly as they do in the document.
    """

    _HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
    _KEY = re.compile(
        r"""^\s*((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
    )

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), 1):
            if header := self._HEADER.match(line):
                table = self._path(f"[{header[1]}]")
                for depth in range(1, len(table) + 1):
                    self.lines.setdefault(table[:depth], number)
            elif key := self._KEY.match(line):
                full = table + self._path(f"{key[1]} = 0")
                for depth in range(1, len(full) + 1):
                    self.lines.setdefault(full[:depth], number)

    @staticmethod
    def _path(snippet: str) -> tuple[str, ...]:
        try:
            node: Any = tomllib.loads(snippet)
        except tomllib.TOMLDecodeError:
            return ()
        path: list[str] = []
        while isinstance(node, dict) and len(node) == 1:
            name, node = next(iter(node.items()))
            path.append(name)
        return tuple(path)

    def table(self, *path: str) -> int | str:
        return self.lines.get(path, "?")

    def key(self, *path: str) -> int | str:
        return self.lines.get(path, "?")


# -- drafting ---------------------------------------------------------------------


def draft_expectations(outcomes: Iterable[Outcome], *, source: str = "") -> str:
    """A TOML expectations file listing every case that did not pass, per engine.

    Each reason is drafted from what the run recorded (the failure's first line),
    which is a true statement of what the engine did; edit it into one line on
    what the engine does instead. Outcomes that were already gated keep the
    reason and the table they were listed under; unexpected passes are dropped,
    since those entries are exactly the ones to remove. Cases unsupported because
    the engine declares a capability missing need no entry and are only counted.

    Every entry gets a kind (:func:`infer_kind`). An error that is NotImplementedError
    or AttributeError is the engine lacking what was called, so it is drafted under
    ``unsupported`` as a missing feature, never under ``fail`` as a divergence.
    """
    per_engine: dict[str, dict[Listed, dict[str, tuple[Kind, str]]]] = {}
    unsupported: dict[str, int] = {}
    for outcome in outcomes:
        tables = per_engine.setdefault(outcome.engine, {Listed.FAIL: {}, Listed.UNSUPPORTED: {}})
        expectation = outcome.observations.get("expectation") if outcome.observations else None
        recognised = outcome.verdict in {Verdict.EXPECTED_FAILURE, Verdict.UNSUPPORTED}
        if recognised and isinstance(expectation, dict):
            listed = Listed(expectation.get("listed", Listed.FAIL.value))
            kind = _recorded_kind(expectation, outcome)
            tables[listed][outcome.case] = (kind, str(expectation.get("reason", "")))
        elif outcome.verdict in NOT_PASSING:
            kind = infer_kind(outcome)
            listed = Listed.UNSUPPORTED if kind is Kind.MISSING_FEATURE else Listed.FAIL
            tables[listed][outcome.case] = (kind, _first_line(outcome))
        elif outcome.verdict is Verdict.UNSUPPORTED:
            unsupported[outcome.engine] = unsupported.get(outcome.engine, 0) + 1
    header = [
        "# gradspec expectations: the cases each engine is known not to pass, with why.",
        "# Drafted by `gradspec expect --write`" + (f" from {source}" if source else "") + ";",
        "# replace each drafted reason with one line on what the engine does instead.",
    ]
    out = list(header)
    for engine, tables in per_engine.items():
        if unsupported.get(engine):
            out += [
                "",
                f"# {engine}: {unsupported[engine]} case(s) unsupported (a missing capability)",
            ]
        for listed in Listed:
            if tables[listed]:
                out += ["", f"[{_toml_key(engine)}.{listed.value}]"]
                out += [
                    f"{_toml_string(case)} = {{ kind = {_toml_string(kind.value)}, "
                    f"reason = {_toml_string(reason)} }}"
                    for case, (kind, reason) in tables[listed].items()
                ]
    return "\n".join(out) + "\n"


def _recorded_kind(expectation: dict[str, Any], outcome: Outcome) -> Kind:
    """The kind a gated outcome was listed with, else the one its raw verdict shows."""
    try:
        return Kind(expectation["kind"])
    except (KeyError, ValueError):
        was = expectation.get("was")
        raw = Verdict(was) if was in {v.value for v in Verdict} else None
        return infer_kind(outcome, raw)


def _first_line(outcome: Outcome) -> str:
    line = (outcome.message or outcome.verdict.value).strip().splitlines()[0] if outcome.message else ""
    line = line or f"{outcome.verdict.value} (no message recorded)"
    return line if len(line) <= 200 else line[:197] + "..."


def _toml_string(value: str) -> str:
    escaped = "".join(_ESCAPES.get(ch, ch if ch.isprintable() else f"\\u{ord(ch):04x}") for ch in value)
    return f'"{escaped}"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_\-]+", name) else _toml_string(name)
