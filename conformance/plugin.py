"""The pytest plugin: every claim x every selected engine, one outcome record each.

Installed through the ``pytest11`` entry point, it stays inert unless
``--gradspec-engine`` is given, so it never changes an unrelated pytest run in the
same environment. Active, it collects the spec's section modules as test files,
makes one item ``<claim id>[<engine>]`` per (claim, engine), classifies each
result into a :class:`~gradspec.conformance.outcomes.Verdict`, streams the outcome
and prints scores per engine.
"""

from __future__ import annotations

import fnmatch
import json
import time
from pathlib import Path
from typing import Any

import pytest

import gradspec.spec
import gradspec.spec.profiles  # noqa: F401 - registers profiles before hypothesis reads --hypothesis-profile
from gradspec.conformance import lifeline
from gradspec.conformance.engine import Engine
from gradspec.conformance.expectations import Expectations, ExpectationsError, load_expectations
from gradspec.conformance.facts import case_facts, error_facts, outcome_of, text, without_namespace
from gradspec.conformance.loader import EngineLoadError, load_engines
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultStream
from gradspec.conformance.score import summary_lines
from gradspec.spec.claims import SECTIONS, Claim, Unsupported, all_claims, claims_in, observing, offering
from gradspec.spec.expect import ClaimViolation, show

SPEC_DIR = Path(gradspec.spec.__file__).parent
OUTCOME_PROPERTY = "gradspec_outcome"
FACTS_PROPERTY = "gradspec_facts"


def _outcome_record(report: pytest.TestReport) -> dict[str, Any] | None:
    for name, value in report.user_properties:
        if name == OUTCOME_PROPERTY:
            return value
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradspec", "gradspec conformance")
    group.addoption(
        "--gradspec-engine",
        action="append",
        default=[],
        metavar="ENGINE",
        help="run the spec against ENGINE (registered name, module:attr, or module); repeatable",
    )
    group.addoption(
        "--gradspec-results",
        metavar="PATH",
        help="stream one JSON line per outcome to PATH as the run goes",
    )
    group.addoption(
        "--gradspec-channel",
        metavar="PATH",
        help="report to the isolating supervisor: append each case's start and facts to PATH",
    )
    group.addoption(
        "--gradspec-supervisor",
        metavar="PID",
        type=int,
        help="the supervising gradspec run's pid: this worker ends its process group when that run dies",
    )
    group.addoption(
        "--gradspec-cases",
        metavar="PATH",
        help="run exactly the claim ids listed in PATH, one a line (the supervisor's selection)",
    )
    group.addoption(
        "--gradspec-expect",
        metavar="FILE",
        help="expectations file (TOML): listed cases report expected-failure / unexpected-pass",
    )
    group.addoption(
        "--gradspec-level",
        choices=["core", "pytorch"],
        help="run only the claims of this level",
    )
    group.addoption(
        "--gradspec-case",
        action="append",
        default=[],
        metavar="ID",
        help="run only claims whose id matches ID (exact or glob); repeatable",
    )


def pytest_configure(config: pytest.Config) -> None:
    specs: list[str] = config.getoption("gradspec_engine")
    if not specs:
        return
    try:
        engines = load_engines(specs)
        expect = config.getoption("gradspec_expect")
        expectations = load_expectations(Path(expect)) if expect else None
    except (EngineLoadError, ExpectationsError) as exc:
        raise pytest.UsageError(str(exc)) from exc
    config.pluginmanager.register(ConformanceRun(config, engines, specs, expectations), "gradspec-run")


def unsupported_reason(claim: Claim, engine: Engine) -> str | None:
    """Why ``claim`` does not apply to ``engine``, or None when it does."""
    if engine.unavailable:
        return engine.unavailable
    missing = sorted(claim.needs - engine.capabilities)
    if missing:
        return f"{engine.name} lacks {', '.join(missing)}"
    return None


class ClaimItem(pytest.Item):
    """One claim checked on one engine."""

    def __init__(self, *, claim: Claim, engine: Engine, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.engine = engine
        self.observations: dict[str, Any] = {}

    def runtest(self) -> None:
        reason = unsupported_reason(self.claim, self.engine)
        if reason:
            pytest.skip(f"unsupported: {reason}")
        with self.engine.session(), observing() as seen, offering(self.engine.capabilities):
            self.observations = seen
            self.claim.check(self.engine.namespace)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ClaimViolation):
            return f"{self.name}: {excinfo.value}\n  claim: {self.claim.statement}"
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.claim.id} on {self.engine.name}"


class SpecSection(pytest.File):
    """A spec section module, collected as if it were a test file."""

    def __init__(self, *, module: str, run: ConformanceRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.module_name = module
        self.run = run

    def collect(self):  # type: ignore[override]
        for claim in claims_in(self.module_name):
            if not self.run.selects(claim):
                continue
            for engine in self.run.engines:
                yield ClaimItem.from_parent(
                    self, name=f"{claim.id}[{engine.name}]", claim=claim, engine=engine
                )


def _role(error: BaseException) -> str:
    """Which of :data:`~gradspec.conformance.facts.ROLES` an exception plays."""
    if isinstance(error, pytest.skip.Exception):
        return "skip"
    if isinstance(error, Unsupported):
        return "unsupported"
    if isinstance(error, ClaimViolation):
        return "violation"
    return "other"


def gather_facts(item: ClaimItem, call: pytest.CallInfo[None]) -> dict[str, Any]:
    """The facts of a finished (case, engine) call, as JSON data (see :mod:`~gradspec.conformance.facts`)."""
    error = None
    if call.excinfo is not None:
        name = item.engine.name
        error = error_facts(call.excinfo.value, _role, lambda note: without_namespace(note, name), show)
    return case_facts(
        item.claim.id, item.engine.name, duration=call.duration, observations=item.observations, error=error
    )


def classify(item: ClaimItem, call: pytest.CallInfo[None]) -> Outcome:
    """The outcome of a finished (case, engine) call; under the supervisor only what the worker shows."""
    return outcome_of(item.claim, gather_facts(item, call))


def _show_expectation(report: pytest.TestReport, outcome: Outcome) -> None:
    """Let pytest show an expected failure as xfail and a listed pass as xpass."""
    if outcome.verdict is Verdict.EXPECTED_FAILURE:
        report.outcome = "skipped"
        report.wasxfail = outcome.observations.get("expectation", {}).get("reason", "expected")  # type: ignore[attr-defined]
    elif outcome.verdict is Verdict.UNEXPECTED_PASS:
        report.outcome = "passed"
        report.wasxfail = outcome.observations.get("expectation", {}).get("reason", "expected")  # type: ignore[attr-defined]


def selects(claim: Claim, level: str | None, patterns: list[str]) -> bool:
    """Whether ``--level`` and ``--case`` select ``claim`` (the supervisor and the plugin agree on this)."""
    if level and claim.level.value != level:
        return False
    if patterns:
        return any(fnmatch.fnmatchcase(claim.id, p) for p in patterns)
    return True


class Channel:
    """The worker's side of its report to the supervisor: one JSON line per event, flushed.

    The supervisor parses these lines strictly and decides every verdict itself
    (conformance/isolation.py); lone surrogates in an engine's text are escaped
    so that every line is UTF-8.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115

    def send(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, default=repr) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class ConformanceRun:
    """The active part of the plugin, registered only when engines are selected."""

    def __init__(
        self,
        config: pytest.Config,
        engines: list[Engine],
        specs: list[str],
        expectations: Expectations | None = None,
    ) -> None:
        self.config = config
        self.expectations = expectations
        self.engines = engines
        self.spec_of = {engine.name: spec for engine, spec in zip(engines, specs, strict=True)}
        self.level = config.getoption("gradspec_level")
        self.case_patterns: list[str] = config.getoption("gradspec_case")
        only = config.getoption("gradspec_cases")
        self.only_cases = set(Path(only).read_text(encoding="utf-8").split()) if only else None
        self.claims = {claim.id: claim for claim in all_claims()}
        self.outcomes: list[Outcome] = []
        self.items: dict[str, tuple[str, str]] = {}  # nodeid -> (case, engine)
        # Under pytest-xdist only the controller writes files; workers send reports.
        controller = not hasattr(config, "workerinput")
        path = config.getoption("gradspec_results") if controller else None
        channel = config.getoption("gradspec_channel") if controller else None
        self.channel = Channel(Path(channel)) if channel else None
        supervisor = config.getoption("gradspec_supervisor") if controller else None
        if supervisor is not None:
            lifeline.watch(supervisor)
        self.stream = (
            ResultStream(Path(path), [e.metadata() for e in engines], list(config.invocation_params.args))
            if path
            else None
        )
        self.started = time.monotonic()

    def selects(self, claim: Claim) -> bool:
        if self.only_cases is not None:
            return claim.id in self.only_cases
        return selects(claim, self.level, self.case_patterns)

    def reproduce(self, outcome: Outcome) -> str:
        return (
            f"gradspec run --engine {self.spec_of.get(outcome.engine, outcome.engine)} --case {outcome.case}"
        )

    # -- collection -------------------------------------------------------------
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        module = f"gradspec.spec.{file_path.stem}"
        if file_path.parent == SPEC_DIR and module in SECTIONS:
            return SpecSection.from_parent(parent, path=file_path, module=module, run=self)
        return None

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Directory order is alphabetical; the note's order reads better.
        order = {module: i for i, module in enumerate(SECTIONS)}
        items.sort(key=lambda it: order.get(it.claim.module, len(order)) if isinstance(it, ClaimItem) else -1)
        self.items = {it.nodeid: (it.claim.id, it.engine.name) for it in items if isinstance(it, ClaimItem)}

    # -- results ----------------------------------------------------------------
    # The facts are gathered where the case ran (a pytest-xdist worker, or this
    # process) and travel inside the report's user_properties, which xdist
    # serialises; they are recorded where reports are logged (the controller), so a
    # distributed run still writes one stream. Under the supervisor the facts go
    # to it and it classifies them; the outcome attached here is only for display.
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):
        report = yield
        if isinstance(item, ClaimItem) and (call.when == "call" or (call.when == "setup" and report.failed)):
            facts = gather_facts(item, call)
            outcome = outcome_of(item.claim, facts)
            if outcome.verdict is not Verdict.PASS:
                outcome.reproduce = self.reproduce(outcome)
            if self.expectations:
                outcome = self.expectations.apply(outcome)
                _show_expectation(report, outcome)
            report.user_properties.append((FACTS_PROPERTY, facts))
            report.user_properties.append((OUTCOME_PROPERTY, outcome.to_json()))
            # Teardown's report carries these into JUnit XML as <property> elements.
            item.user_properties.extend(
                [("verdict", outcome.verdict.value), ("level", outcome.level), ("section", outcome.section)]
            )
        return report

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        if self.channel and nodeid in self.items:
            case, engine = self.items[nodeid]
            self.channel.send({"type": "start", "case": case, "engine": engine})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = _outcome_record(report)
        if record is None:
            outcome = self._crashed(report)
            if outcome is None:
                return
            if self.channel:
                self.channel.send(
                    {
                        "type": "crash",
                        "case": outcome.case,
                        "engine": outcome.engine,
                        "message": outcome.message,
                    }
                )
        else:
            outcome = Outcome.from_json(record)
            if self.channel:
                self.channel.send(dict(report.user_properties)[FACTS_PROPERTY])
        self.outcomes.append(outcome)
        if self.stream:
            self.stream.write(outcome)

    def _crashed(self, report: pytest.TestReport) -> Outcome | None:
        """A failed report with no outcome attached: the process running it died.

        pytest-xdist reports a worker that died mid-case this way; the case's
        own hooks never ran, so the controller records the crash itself.
        """
        if not (report.failed and report.when == "call") or report.nodeid not in self.items:
            return None
        case, engine = self.items[report.nodeid]
        return Outcome.of_claim(
            self.claims[case],
            engine,
            Verdict.CRASH,
            duration=report.duration,
            message=f"the worker process died running this case: {report.longreprtext[-500:]}",
        )

    def pytest_internalerror(self, excrepr: Any, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # gradspec (or pytest) failed outside any case: the supervisor says so as a
        # harness failure (exit 3), never as the engine's crash.
        if self.channel:
            self.channel.send({"type": "internal-error", "message": text(str(excrepr))[-4000:]})

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        record = _outcome_record(report)
        verdict = record["verdict"] if record else None
        if verdict == Verdict.ERROR.value:
            return "failed", "E", "ERROR"
        if verdict == Verdict.UNSUPPORTED.value:
            return "unsupported", "u", "UNSUPPORTED"
        return None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        # Under the supervisor (which passes a channel) it prints the summary, once.
        if self.channel:
            return
        terminalreporter.section("gradspec conformance")
        for line in summary_lines(self.outcomes):
            terminalreporter.write_line(line)
        if self.stream:
            terminalreporter.write_line(f"results streamed to {self.stream.path}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.stream:
            self.stream.close()
        if self.channel:
            self.channel.close()
