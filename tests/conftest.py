"""Shared fixtures for gradspec's own tests, the ``slow`` tier, and a one-line-per-file progress.

The default ``tox`` env runs ``-m "not slow"`` and must stay within a few minutes
on a 2-core machine; ``tox -e slow`` runs the rest (CI runs both). A test is slow
when it starts gradspec or Chromium in a subprocess, runs the whole spec, or
loads a third-party engine. Test authors mark their own with
``@pytest.mark.slow``; the modules and tests below are marked here, in one
place, each with the reason, because they were slow before the marker existed
(their durations are in the commit that added this list).

``--file-progress`` replaces pytest's dots (thousands of them, and the file
being run is named only after them) with one line per test file as soon as its
last test finishes: its counts and the test time it took.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import pytest

pytest_plugins = ["pytester"]


def _import_torch_lazy_modules() -> None:
    """Import the torch submodules an SGD step loads lazily, once, before any test runs.

    An in-process pytester run (tests/test_conftest.py, tests/test_plugin.py) removes
    from ``sys.modules`` what was imported during it; torch's operator registrations
    stay behind in C++, so a later import of the same submodule fails with "Only a
    single TORCH_LIBRARY can be used". Modules imported before the run are kept.
    """
    try:
        import torch
    except ImportError:
        return
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1, momentum=0.5)
    (weight * 2).sum().backward()
    optimizer.step()


_import_torch_lazy_modules()

SLOW_MODULES: dict[str, str] = {
    "test_bench_gate.py": "runs `gradspec bench` end to end in subprocesses, timing real rounds",
    "test_browser.py": "renders the report in headless Chromium",
    "test_third_party.py": "imports and runs third-party engines (mygrad, tinygrad, paddle, micrograd)",
    "test_reports.py": "its fixture runs `gradspec run` on three engines in a subprocess",
}
"""Modules whose every test is slow, with the reason."""

SLOW_TESTS: dict[str, str] = {
    # the mutant zoo: the whole spec against every mutant, and seeded property runs
    "tests/test_mutants.py::test_every_mutant_caught_under_ci": "the whole spec on 56 mutants",
    "tests/test_mutants.py::test_examples_to_kill_counts_the_examples_of_the_catching_property": (
        "property runs on mutants"
    ),
    "tests/test_mutants.py::test_seeded_runs_replay_properties_only_for_mutants_no_example_caught": (
        "seeded property runs on mutants"
    ),
    # the whole spec on torch-cpu in one pytest run: about two thirds of the suite's time (694 s of 1968 s)
    "tests/test_plugin.py::test_torch_cpu_passes_everything_and_streams_each_outcome": "the whole spec",
    "tests/test_plugin.py::test_case_and_level_selection": "several pytest runs of spec sections (52 s)",
    "tests/test_plugin.py::test_engine_exceptions_are_errors_not_failures": "a pytest run per engine (13 s)",
    # `gradspec run` subprocesses, each importing torch and running spec sections (7-30 s each)
    "tests/test_cli.py::test_fail_under": "gradspec run subprocesses (30 s)",
    "tests/test_cli.py::test_baseline_regression_fails_the_gate": "gradspec run subprocesses (30 s)",
    "tests/test_cli.py::test_unexpected_pass_fails_only_under_strict": "gradspec run subprocesses (29 s)",
    "tests/test_cli.py::test_expectations_turn_listed_failures_into_a_passing_gate": "subprocesses (19 s)",
    "tests/test_cli.py::test_a_selection_of_nothing_is_refused_before_the_run_and_keeps_the_last_reports": (
        "gradspec run subprocesses (16 s, as test_no_case_selected_exits_2)"
    ),
    "tests/test_cli.py::test_engine_with_nothing_applicable_is_not_conforming": "a subprocess (9 s)",
    "tests/test_cli.py::test_wrong_engine_exits_1": "a gradspec run subprocess (9 s)",
    "tests/test_cli.py::test_unreadable_baseline_exits_2": "a gradspec run subprocess (7 s)",
    "tests/test_cli.py::test_malformed_expectations_exit_2_naming_file_and_line": "a subprocess (7 s)",
    # property runs and generator statistics with many hypothesis examples
    "tests/test_properties.py::test_property_passes": "every property on two engines (about 100 s in all)",
    "tests/test_strategies.py::test_coverage_of_the_generator": "thousands of generated programs (39 s)",
    "tests/test_reference_graph.py::test_deep_chain_backprops_without_recursion_in_linear_time": (
        "a 10^5-node chain, built and backpropagated (33 s)"
    ),
}
"""Single tests (node id without parameters, relative to the repository) that are slow, with the reason.

The seconds are from one ``pytest -n 1 --durations=60`` of the whole suite on a
busy 2-core machine (1968 s in all); a calm one is about five times faster.
"""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow modules and tests before ``-m`` deselects by marker; the longest run first."""
    for item in items:
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        test = item.nodeid.split("[", 1)[0]
        if module in SLOW_MODULES or test in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    # A test started last on one xdist worker while the other idles is the tier's tail; started
    # first, the other worker (work stealing) shares out everything else meanwhile.
    items.sort(key=lambda item: item.nodeid.split("[", 1)[0] not in LONGEST)


LONGEST = frozenset({"tests/test_mutants.py::test_every_mutant_caught_under_ci"})
"""The slow tier's longest tests (about 125 s each of the zoo's two shards on 2 cores)."""


# --- one line per file -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--file-progress",
        action="store_true",
        help="one line per test file when its last test finishes, instead of a character per test",
    )


SEVERITY = ("passed", "skipped", "xfailed", "xpassed", "failed", "error")
WORDS = {
    "passed": "PASSED",
    "skipped": "SKIPPED",
    "xfailed": "XFAIL",
    "xpassed": "XPASS",
    "failed": "FAILED",
    "error": "ERROR",
}
"""pytest's words for each outcome, which its short summary prints."""


class FileProgress:
    """Counts outcomes per file and prints a file's line once all its tests have reported.

    Under pytest-xdist the reports reach the controller in any order from any
    worker; the expected count per file comes from the collection, so a file's
    line is printed when its last test is done, wherever it ran.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.expected: Counter[str] = Counter()
        self.outcome: dict[str, str] = {}
        self.finished: dict[str, Counter[str]] = defaultdict(Counter)
        self.seconds: Counter[str] = Counter()
        self.started = time.monotonic()
        self.done_files = 0

    def _expect(self, nodeids: list[str]) -> None:
        if not self.expected:
            self.expected.update(n.split("::", 1)[0] for n in nodeids)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._expect([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._expect(list(ids))

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        # No character per test: the file's line says it all. The category keeps pytest's summary right.
        if report.when == "call" or report.outcome != "passed":
            category = _outcome(report)
            return category, "", WORDS[category]
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        now = _outcome(report)
        before = self.outcome.get(report.nodeid, "passed")
        if SEVERITY.index(now) > SEVERITY.index(before):
            self.outcome[report.nodeid] = now
        self.seconds[report.nodeid.split("::", 1)[0]] += report.duration
        if report.when != "teardown":
            return
        path = report.nodeid.split("::", 1)[0]
        self.finished[path][self.outcome.pop(report.nodeid, "passed")] += 1
        if sum(self.finished[path].values()) == self.expected.get(path, -1):
            self._line(path)

    def _line(self, path: str) -> None:
        self.done_files += 1
        counts = ", ".join(f"{n} {what}" for what in SEVERITY if (n := self.finished[path][what]))
        elapsed = time.monotonic() - self.started
        mark = "FAIL" if self.finished[path]["failed"] or self.finished[path]["error"] else "ok  "
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"{mark} [{self.done_files:2d}/{len(self.expected)} files, {elapsed:5.0f} s] "
                f"{path}: {counts} ({self.seconds[path]:.1f} s of test time)"
            )


def _outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "skipped" if report.skipped else "passed"


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("file_progress", False) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(FileProgress(config), "gradspec-file-progress")
