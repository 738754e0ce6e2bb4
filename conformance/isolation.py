"""Isolated runs: each engine in its own worker process; the supervisor owns every verdict.

An engine under test may segfault, abort, call ``os._exit``, loop forever, or
tamper with gradspec inside its own process. The supervisor (this module, in the
``gradspec run`` process, which never imports an engine) gives each worker an
explicit list of cases and a private channel file; the worker reports each
case's start and its *facts* (:mod:`gradspec.conformance.facts`). The supervisor
parses the channel strictly (:mod:`gradspec.conformance.integrity`), classifies
the facts itself, applies the expectations, and keeps every outcome in memory:
the stream on disk is its copy, rewritten from memory when the run ends.

- A worker that exits, whatever its status, while a case is running gets that
  case recorded as *crash*; one that spends longer than the per-case limit on a
  case (timed by the supervisor's clock) is killed and the case recorded as
  *timeout*. A fresh worker resumes with the cases not yet recorded.
- Only a worker that died on its own is a crash. A case the worker started just
  as the supervisor killed it (for another case's timeout, or for idling) is
  given to the fresh worker again, once; the kill was gradspec's, not the
  engine's. A SIGKILL gradspec did not send says so (the OOM killer, another
  process).
- A worker that exits without starting any of its cases, or does nothing for
  the per-case limit outside any case (an engine hanging while it loads), gets
  each left as *crash*, so every selected case has exactly one outcome.
- Lines the supervisor refuses are integrity problems of that engine's run; a
  case concerned by one is recorded as *error* saying so, whatever the
  expectations say.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradspec.conformance.expectations import Expectations
from gradspec.conformance.facts import FACTS, outcome_of
from gradspec.conformance.integrity import ChannelCheck, IntegrityProblem
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultStream
from gradspec.spec.claims import Claim

POLL_SECONDS = 0.05
STARTUP_SECONDS = 300.0
"""The least a worker is given to start and load its engine before it counts as hung."""
USAGE_EXIT = 4  # pytest: the command line was wrong (say, a bad argument after --)

Launch = Callable[[Path, Path], "subprocess.Popen[bytes]"]
"""Starts a worker given its case-list file and its channel file."""


def describe_exit(returncode: int) -> str:
    """'killed by SIGSEGV' or 'exit status 3', for a worker's return code."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def describe_death(returncode: int) -> str:
    """:func:`describe_exit` for a worker that died on its own, naming who else sends SIGKILL."""
    said = describe_exit(returncode)
    if returncode == -signal.SIGKILL:
        said += (
            ", which gradspec did not send (it kills a worker only past the per-case limit or when "
            "idle, and says so): the kernel's OOM killer or another process"
        )
    return said


class WorkerError(RuntimeError):
    """gradspec itself failed in a worker (it said so on its channel), or no worker could start."""


class WorkerUsageError(WorkerError):
    """pytest in the worker rejected its command line: a usage error, not a harness failure."""


@dataclass
class _Tail:
    """New complete lines of a file a worker appends to, from where we left off.

    Reading only what was appended keeps each poll small however long the run
    gets. A file that shrinks was rewritten by someone other than the plugin.
    """

    path: Path
    offset: int = 0
    shrank: bool = False

    def new_lines(self) -> list[str]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() < self.offset:
                    self.shrank = True
                    self.offset = handle.tell()
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        complete, _, _ = chunk.rpartition(b"\n")  # a line still being written waits
        if not complete:
            return []
        self.offset += len(complete) + 1
        return complete.decode("utf-8", "backslashreplace").split("\n")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill a worker and anything it started in its process group (an engine's helpers)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def pytest_launcher(engine_spec: str, base_argv: list[str]) -> Launch:
    """The real worker: pytest with gradspec's plugin on one engine, in its own process group."""

    def launch(cases: Path, channel: Path) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "pytest",
            *base_argv,
            "--gradspec-engine",
            engine_spec,
            "--gradspec-channel",
            str(channel),
            "--gradspec-cases",
            str(cases),
            "--gradspec-supervisor",  # so the worker ends when this run is killed
            str(os.getpid()),
        ]
        return subprocess.Popen(argv, start_new_session=True)

    return launch


@dataclass
class EngineRun:
    """Everything the supervisor decided about one engine: its outcomes and integrity problems."""

    engine: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    problems: list[IntegrityProblem] = field(default_factory=list)


@dataclass
class Supervisor:
    """Runs one engine's selected cases in workers and records exactly one outcome per case."""

    engine_spec: str
    engine: str
    cases: list[Claim]
    stream: ResultStream
    launch: Launch
    timeout: float
    workdir: Path
    expectations: Expectations | None = None
    clock: Callable[[], float] = time.monotonic
    idle_timeout: float | None = None
    """Seconds a worker may report nothing outside any case (starting, loading torch, probing);
    by default the per-case limit, but never under :data:`STARTUP_SECONDS`."""

    def __post_init__(self) -> None:
        self.hung = False
        self.requeued: set[str] = set()
        """Cases once given back to a fresh worker because gradspec killed theirs as they started."""
        self.idle_limit = self.idle_timeout or max(self.timeout, STARTUP_SECONDS)
        self.claims = {claim.id: claim for claim in self.cases}
        self.check = ChannelCheck(self.engine, frozenset(self.claims))
        self.run = EngineRun(self.engine)

    # -- recording ----------------------------------------------------------------
    def _record(self, outcome: Outcome) -> None:
        if outcome.verdict is not Verdict.PASS:
            outcome.reproduce = f"gradspec run --engine {self.engine_spec} --case {outcome.case}"
        if self.expectations is not None:
            outcome = self.expectations.apply(outcome)
        self.run.outcomes[outcome.case] = outcome
        self.stream.write(outcome)

    def _lost(self, case: str, verdict: Verdict, message: str, since: float | None) -> None:
        duration = self.clock() - since if since is not None else 0.0
        self.check.running.pop(case, None)
        self.check.reported.add(case)
        self._record(
            Outcome.of_claim(self.claims[case], self.engine, verdict, duration=duration, message=message)
        )

    def _take(self, record: dict[str, Any]) -> None:
        kind = record["type"]
        if kind == "internal-error":
            raise WorkerError(
                f"gradspec failed inside the worker for {self.engine_spec}:\n{record['message']}"
            )
        claim = self.claims[record["case"]]
        if kind == FACTS:
            self._record(outcome_of(claim, record))
        else:  # crash, as pytest-xdist saw it inside the worker
            self._record(Outcome.of_claim(claim, self.engine, Verdict.CRASH, message=record["message"]))

    def _poll(self, tail: _Tail) -> None:
        for line in tail.new_lines():
            record = self.check.accept(line, self.clock())
            if record is not None:
                self._take(record)
        if tail.shrank:
            self.check.refuse("the worker's channel file shrank: something rewrote it")
            tail.shrank = False

    # -- running ----------------------------------------------------------------
    def _attempt(self, number: int) -> tuple[int, bool]:
        """One worker over the cases not yet recorded; its exit status and whether it made progress."""
        remaining = [c for c in self.claims if c not in self.check.reported]
        private = Path(tempfile.mkdtemp(prefix=f"w{number}-", dir=self.workdir))
        cases, channel = private / "cases", private / "channel.jsonl"
        cases.write_text("\n".join(remaining) + "\n", encoding="utf-8")
        channel.touch()
        self.check.given = set(remaining)
        before = len(self.check.reported)
        tail = _Tail(channel)
        process = self.launch(cases, channel)
        timed_out = False
        killed: str | None = None  # why gradspec killed this worker, if it did
        quiet_since, seen = self.clock(), tail.offset
        try:
            while True:
                returncode = process.poll()
                self._poll(tail)
                if returncode is not None:
                    break
                if tail.offset != seen or self.check.running:
                    quiet_since, seen = self.clock(), tail.offset
                elif self.clock() - quiet_since > self.idle_limit:
                    # Hung outside any case (loading or probing the engine, between cases).
                    killed = f"it did nothing for {self.idle_limit:g} s outside any case"
                    _stop(process)
                    returncode = process.returncode
                    self.hung = True
                    break
                late = [c for c, t0 in self.check.running.items() if self.clock() - t0 > self.timeout]
                if late:
                    killed = f"a case ran past the per-case limit of {self.timeout:g} s"
                    _stop(process)
                    returncode = process.returncode
                    self._poll(tail)
                    for case in late:
                        if case in self.check.running:
                            self._lost(
                                case,
                                Verdict.TIMEOUT,
                                f"still running after the per-case limit of {self.timeout:g} s; "
                                "the worker was killed and restarted",
                                self.check.running[case],
                            )
                    timed_out = True
                    break
                time.sleep(POLL_SECONDS)
        finally:
            _stop(process)
        self._poll(tail)
        started = bool(self.check.running)
        for case, t0 in list(self.check.running.items()):
            if killed is not None and case not in self.requeued:
                # Started in the moment gradspec killed the worker for something else
                # (the late case finished meanwhile, or the idle worker woke up): the
                # kill was gradspec's, so the case runs again in the fresh worker.
                self.requeued.add(case)
                del self.check.running[case]
                continue
            if killed is not None:
                message = (
                    f"gradspec killed the worker ({killed}) just as it started this case, "
                    "a second time; it was restarted for the remaining cases"
                )
            else:
                message = (
                    f"the worker process exited running this case ({describe_death(returncode)}); "
                    "it was restarted for the remaining cases"
                )
            self._lost(case, Verdict.CRASH, message, t0)
        return returncode, timed_out or started or len(self.check.reported) > before

    def supervise(self) -> EngineRun:
        """Run every selected case; return the outcomes and the problems found."""
        number = 0
        while len(self.check.reported) < len(self.claims):
            returncode, progress = self._attempt(number)
            number += 1
            if progress:
                continue
            if returncode == USAGE_EXIT and not self.check.reported:
                raise WorkerUsageError(
                    f"pytest refused the arguments given to the worker for {self.engine_spec}"
                )
            why = (
                f"the worker did nothing for {self.idle_limit:g} s outside any case and was killed"
                if self.hung
                else f"the worker exited ({describe_death(returncode)})"
            )
            for case in [c for c in self.claims if c not in self.check.reported]:
                self._lost(case, Verdict.CRASH, f"{why} without running this case", None)
        self._settle()
        return self.run

    def _settle(self) -> None:
        """Cases an integrity problem concerns are errors, whatever was reported for them."""
        self.run.problems = list(self.check.problems)
        for problem in self.run.problems:
            self.stream.write_problem(problem)
        for case in dict.fromkeys(p.case for p in self.run.problems if p.case in self.claims):
            claim = self.claims[case]
            reasons = "; ".join(p.message for p in self.run.problems if p.case == case)
            outcome = Outcome.of_claim(
                claim,
                self.engine,
                Verdict.ERROR,
                message=f"integrity error: {reasons}; gradspec trusts no report the worker made for it",
                reproduce=f"gradspec run --engine {self.engine_spec} --case {case}",
                observations={"integrity": True},
            )
            self.run.outcomes[case] = outcome
            self.stream.write(outcome)


def run_isolated(
    engines: list[tuple[str, str]],
    cases: list[Claim],
    base_argv: list[str],
    stream: ResultStream,
    *,
    timeout: float,
    expectations: Expectations | None = None,
    on_engine: Callable[[str], None] | None = None,
) -> list[EngineRun]:
    """Run each (spec, name) engine in its own supervised workers over ``cases``."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="gradspec-workers-") as tmp:
        for spec, name in engines:
            if on_engine:
                on_engine(name)
            supervisor = Supervisor(
                spec,
                name,
                cases,
                stream,
                pytest_launcher(spec, base_argv),
                timeout,
                Path(tmp),
                expectations,
            )
            runs.append(supervisor.supervise())
    return runs
