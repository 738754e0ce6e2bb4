"""The result stream: one JSON line per outcome, written and flushed as it happens.

A run that is interrupted (Ctrl-C, kill -9, a crashed engine) leaves every
finished outcome readable, because each line reaches the operating system before
the next case starts. The first line describes the run; reports are built by
reading the stream back with :func:`read_results`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from gradspec.conformance.inputs import read_input_text
from gradspec.conformance.integrity import INTEGRITY, IntegrityProblem
from gradspec.conformance.outcomes import Outcome
from gradspec.spec.claims import SPEC_VERSION

STREAM_SCHEMA = "gradspec-results/1"


class ResultsError(ValueError):
    """A result stream that cannot be read: malformed, or from another spec version."""


@dataclass
class RunResults:
    """A result stream read back: the run header(s) and the outcomes in order."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[IntegrityProblem] = field(default_factory=list)
    """What the supervisor refused from an engine's workers: each fails the run's gate."""

    @property
    def spec_version(self) -> str | None:
        return self.runs[0]["spec_version"] if self.runs else None

    def engines(self) -> list[dict[str, Any]]:
        """Engine metadata across all runs, first occurrence of each name kept."""
        seen: dict[str, dict[str, Any]] = {}
        for run in self.runs:
            for engine in run.get("engines", []):
                seen.setdefault(engine["name"], engine)
        return list(seen.values())


def run_header(engines: list[dict[str, Any]], argv: list[str] | None = None) -> dict[str, Any]:
    """The first record of a stream: the format, the spec version, the engines and the command."""
    return {
        "type": "run",
        "schema": STREAM_SCHEMA,
        "spec_version": SPEC_VERSION,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "engines": engines,
        "argv": argv or [],
    }


def _line(record: dict[str, Any]) -> str:
    # ASCII JSON: an engine's lone surrogate or control character is an escape, never a broken file.
    return json.dumps(record, default=repr) + "\n"


class ResultStream:
    """Appends outcomes to a JSONL file, flushing each line as soon as it is written."""

    def __init__(self, path: Path, engines: list[dict[str, Any]], argv: list[str] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.header = run_header(engines, argv)
        self._file: IO[str] = self.path.open("w", encoding="utf-8")
        self._write(self.header)

    def _write(self, record: dict[str, Any]) -> None:
        self._file.write(_line(record))
        self._file.flush()

    def write(self, outcome: Outcome) -> None:
        self._write({"type": "outcome", **outcome.to_json()})

    def write_problem(self, problem: IntegrityProblem) -> None:
        self._write(problem.to_json())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def write_results(results: RunResults, path: Path) -> Path:
    """Write ``results`` as a whole stream, replacing ``path`` atomically (its folder recreated if gone).

    The supervisor ends a run with this, from the outcomes it holds in memory, so
    whatever an engine appended to or deleted from the file during the run is gone.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [_line(run) for run in results.runs]
    lines += [_line({"type": "outcome", **o.to_json()}) for o in results.outcomes]
    lines += [_line(p.to_json()) for p in results.problems]
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text("".join(lines), encoding="utf-8")
    partial.replace(path)
    return path


def read_results(path: Path) -> RunResults:
    """Read a result stream back; a truncated last line (a killed run) is dropped.

    Raises :class:`ResultsError`, naming the file (and line where there is one),
    for a file that cannot be read and for anything that is not a well-formed
    record of this stream format.
    """
    path = Path(path)
    lines = read_input_text(path, "result stream", ResultsError).splitlines()
    results = RunResults()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):  # the run was killed mid-write
                break
            raise ResultsError(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "run":
            results.runs.append(_run_header(record, path, number))
        elif kind == "outcome":
            if not results.runs:
                raise ResultsError(f"{path}:{number}: an outcome before the run header")
            try:
                results.outcomes.append(Outcome.from_json(record))
            except (KeyError, TypeError, ValueError) as exc:
                raise ResultsError(f"{path}:{number}: malformed outcome record ({exc})") from exc
        elif kind == INTEGRITY:
            try:
                results.problems.append(IntegrityProblem.from_json(record))
            except (KeyError, TypeError) as exc:
                raise ResultsError(f"{path}:{number}: malformed integrity record ({exc})") from exc
        else:
            raise ResultsError(f"{path}:{number}: unknown record type {kind!r}")
    if not results.runs:
        raise ResultsError(f"{path}: no run header; not a gradspec result stream")
    return results


def _run_header(record: dict[str, Any], path: Path, number: int) -> dict[str, Any]:
    """A run header checked for what merging and reports rely on, tagged with its file."""
    if record.get("schema") != STREAM_SCHEMA:
        raise ResultsError(
            f"{path}:{number}: result stream format {record.get('schema')!r}, expected {STREAM_SCHEMA!r}"
        )
    if not isinstance(record.get("spec_version"), str):
        raise ResultsError(f"{path}:{number}: run header without a spec_version")
    engines = record.get("engines", [])
    if not isinstance(engines, list) or not all(isinstance(e, dict) and "name" in e for e in engines):
        raise ResultsError(f"{path}:{number}: run header's engines are not a list of named engines")
    return {**record, "source": str(path)}


def merge_results(paths: Sequence[Path]) -> RunResults:
    """Several result streams (runs, machines, devices) read as one.

    Every stream must come from the same spec version: a claim's id can mean
    something else in another version, so one matrix of both would mislead.
    Where two streams hold the same (case, engine), the later stream's outcome
    replaces the earlier one, so a re-run of some cases can be merged over the
    first run. Raises :class:`ResultsError` naming the offending file.
    """
    if not paths:
        raise ResultsError("no result stream given")
    merged = RunResults()
    position: dict[tuple[str, str], int] = {}
    first: Path | None = None
    for path in paths:
        results = read_results(Path(path))
        for run in results.runs:
            if merged.runs and run["spec_version"] != merged.spec_version:
                raise ResultsError(
                    f"{path}: spec version {run['spec_version']!r} differs from "
                    f"{merged.spec_version!r} in {first}; results from different spec "
                    "versions cannot be merged"
                )
            merged.runs.append(run)
            first = first or Path(path)
        merged.problems.extend(results.problems)
        for outcome in results.outcomes:
            key = (outcome.case, outcome.engine)
            if key in position:
                merged.outcomes[position[key]] = outcome
            else:
                position[key] = len(merged.outcomes)
                merged.outcomes.append(outcome)
    return merged
