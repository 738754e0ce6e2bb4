"""Isolated runs: each engine in its own worker process, restarted past crashes and hangs.

An engine under test may segfault, abort, call ``os._exit`` or loop forever. The
supervisor runs one pytest worker per engine, watches which case each worker
has started (the plugin's progress file) and what it has finished (its result
stream). A worker that dies mid-case gets that case recorded as *crash*; one
that spends longer than the per-case limit on a case is killed and the case
recorded as *timeout*. Either way a fresh worker resumes with the cases not yet
recorded, so one bad case costs one outcome, never the run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultStream
from gradspec.spec.claims import Claim, all_claims

POLL_SECONDS = 0.05
NORMAL_EXITS = (0, 1, 5)  # pytest: all passed, some failed, nothing collected
USAGE_EXIT = 4  # pytest: the command line was wrong (say, a bad argument after --)


def describe_exit(returncode: int) -> str:
    """'killed by SIGSEGV' or 'exit status 3', for a worker's return code."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


@dataclass
class _Tail:
    """New complete lines of a file another process is appending to, from where we left off.

    The supervisor polls twenty times a second; reading only what was appended
    keeps each poll small however long the run gets.
    """

    path: Path
    offset: int = 0

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete, _, _ = chunk.rpartition(b"\n")  # a line still being written waits
        if not complete:
            return []
        self.offset += len(complete) + 1
        return complete.decode("utf-8").split("\n")


@dataclass
class Worker:
    """One pytest process running the spec for one engine."""

    engine_spec: str
    argv: list[str]
    results: Path
    progress: Path
    process: subprocess.Popen[bytes]
    started: dict[str, tuple[str, float]] = field(default_factory=dict)  # case -> (engine, t0)

    def __post_init__(self) -> None:
        self._results = _Tail(self.results)
        self._progress = _Tail(self.progress)

    def new_outcomes(self) -> list[Outcome]:
        """Outcomes the worker finished since the last call (whole lines only)."""
        records = map(json.loads, self._results.new_lines())
        return [Outcome.from_json(record) for record in records if record.get("type") == "outcome"]

    def read_progress(self, finished: set[str]) -> None:
        """Update which cases are running now from the progress file."""
        for line in self._progress.new_lines():
            kind, stamp, nodeid = line.split("\t", 2)
            name = nodeid.rsplit("::", 1)[-1]
            case, _, engine = name.rstrip("]").partition("[")
            if kind == "start":
                self.started[case] = (engine, float(stamp))
        for case in finished & self.started.keys():
            del self.started[case]


def _launch(engine_spec: str, base_argv: list[str], workdir: Path, attempt: int, done: set[str]) -> Worker:
    tag = f"{''.join(c if c.isalnum() else '_' for c in engine_spec)}-{attempt}"
    results, progress, skip = (workdir / f"{tag}.{ext}" for ext in ("jsonl", "progress", "skip"))
    skip.write_text("\n".join(sorted(done)))
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *base_argv,
        "--gradspec-engine",
        engine_spec,
        "--gradspec-results",
        str(results),
        "--gradspec-progress",
        str(progress),
        "--gradspec-skip-cases",
        str(skip),
    ]
    return Worker(engine_spec, argv, results, progress, subprocess.Popen(argv))


def supervise_engine(
    engine_spec: str,
    base_argv: list[str],
    stream: ResultStream,
    *,
    timeout: float,
    workdir: Path,
    claims: dict[str, Claim],
    clock: Callable[[], float] = time.time,
) -> None:
    """Run every selected case on one engine, restarting the worker past crashes and hangs."""
    done: set[str] = set()
    attempt = 0
    while True:
        worker = _launch(engine_spec, base_argv, workdir, attempt, done)
        lost: Outcome | None = None
        while True:
            returncode = worker.process.poll()
            for outcome in worker.new_outcomes():
                done.add(outcome.case)
                stream.write(outcome)
            worker.read_progress(done)
            if returncode is not None:
                break
            for case, (engine, t0) in worker.started.items():
                if clock() - t0 > timeout:
                    worker.process.kill()
                    worker.process.wait()
                    lost = Outcome.of_claim(
                        claims[case],
                        engine,
                        Verdict.TIMEOUT,
                        duration=clock() - t0,
                        message=f"still running after the per-case limit of {timeout:g} s; "
                        "the worker was killed and restarted",
                    )
                    break
            if lost:
                break
            time.sleep(POLL_SECONDS)
        if lost is None and returncode not in NORMAL_EXITS and worker.started:
            case, (engine, t0) = next(iter(worker.started.items()))
            lost = Outcome.of_claim(
                claims[case],
                engine,
                Verdict.CRASH,
                duration=clock() - t0,
                message=f"the worker process died running this case ({describe_exit(returncode)}); "
                "it was restarted for the remaining cases",
            )
        if lost is None:
            if returncode == USAGE_EXIT:
                raise WorkerUsageError(f"pytest refused the arguments given to the worker for {engine_spec}")
            if returncode not in NORMAL_EXITS:
                raise WorkerError(
                    f"worker for {engine_spec} failed outside any case ({describe_exit(returncode)})"
                )
            return
        lost.reproduce = f"gradspec run --engine {engine_spec} --case {lost.case}"
        done.add(lost.case)
        stream.write(lost)
        attempt += 1


class WorkerError(RuntimeError):
    """A worker died before or after its cases: the harness, not a case, failed."""


class WorkerUsageError(WorkerError):
    """pytest in the worker rejected its command line: a usage error, not a harness failure."""


def run_isolated(
    engine_specs: list[str], base_argv: list[str], stream: ResultStream, *, timeout: float
) -> None:
    """Run each engine in its own supervised worker, streaming every outcome to ``stream``."""
    claims = {claim.id: claim for claim in all_claims()}
    with tempfile.TemporaryDirectory(prefix="gradspec-workers-") as tmp:
        for spec in engine_specs:
            supervise_engine(spec, base_argv, stream, timeout=timeout, workdir=Path(tmp), claims=claims)
