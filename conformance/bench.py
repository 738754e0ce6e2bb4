"""Timing the workloads on engines with pytest-benchmark.

This module is the pytest plugin of a bench run (loaded with ``-p``) and the
function ``gradspec bench`` calls; ``bench_suite.py`` is the test module it runs,
one item per (workload, engine) plus the baseline rows, grouped by workload. Its
options are its own (``--bench-engine``...), not the conformance plugin's, so a
bench run never starts the conformance run and the reverse.

Every workload runs inside ``engine.session()``, and on a CUDA engine each timed
call ends with a synchronize, so the time is the work and not its launch.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gradspec.conformance.bench_memory import measure_peak_memory
from gradspec.conformance.engine import Engine
from gradspec.conformance.loader import EngineLoadError, load_engines
from gradspec.spec.workloads import BASELINES, WORKLOADS, Baseline, Trial, Workload

BENCH_SUITE = Path(__file__).with_name("bench_suite.py")
PYTEST_INI = Path(__file__).with_name("pytest.ini")
QUICK_MAX_NODES = 10**4
QUICK_ROUNDS = 3


@dataclass(frozen=True)
class BenchCase:
    """One timed item: a workload on an engine, or a baseline row of a workload's group."""

    workload: Workload
    engine: Engine | None = None
    engine_spec: str = ""
    baseline: Baseline | None = None

    @property
    def engine_name(self) -> str:
        if self.baseline is not None:
            return self.baseline.name
        assert self.engine is not None
        return self.engine.name

    @property
    def id(self) -> str:
        return f"{self.workload.name}-{self.engine_name}"

    def extra_info(self) -> dict[str, Any]:
        """What the JSON row says beyond the timings, so the report needs nothing else."""
        return {
            "workload": self.workload.name,
            "engine": self.engine_name,
            "kind": "baseline" if self.baseline else "engine",
            "description": self.baseline.description if self.baseline else self.workload.description,
            "nodes": self.workload.nodes,
            "series": self.workload.series,
        }


@dataclass(frozen=True)
class BenchPlan:
    """What a bench session runs, decided once at configure time from the options."""

    cases: tuple[BenchCase, ...]
    engines: tuple[Engine, ...]
    quick: bool
    memory: bool


_PLAN = pytest.StashKey[BenchPlan]()


def select_workloads(patterns: Sequence[str], quick: bool) -> list[Workload]:
    """Workloads whose name matches one of ``patterns`` (all when none), trimmed in quick mode."""
    chosen = [w for w in WORKLOADS if not patterns or any(fnmatch.fnmatchcase(w.name, p) for p in patterns)]
    if quick:
        chosen = [w for w in chosen if w.series is None or (w.nodes or 0) <= QUICK_MAX_NODES]
    return chosen


def plan_cases(engines: Sequence[tuple[str, Engine]], workloads: Sequence[Workload]) -> list[BenchCase]:
    """Each workload on each engine, followed by that workload's baseline rows."""
    cases: list[BenchCase] = []
    for w in workloads:
        cases += [BenchCase(w, engine, spec) for spec, engine in engines]
        cases += [BenchCase(w, baseline=b) for b in BASELINES if b.workload == w.name]
    return cases


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradspec-bench", "gradspec benchmarks")
    group.addoption("--bench-engine", action="append", default=[], metavar="ENGINE", help="time ENGINE")
    group.addoption(
        "--bench-workload", action="append", default=[], metavar="GLOB", help="only workloads matching GLOB"
    )
    group.addoption("--bench-quick", action="store_true", help="chains up to 10^4 nodes, fewer rounds")
    group.addoption(
        "--bench-memory",
        action="store_true",
        help="measure the deep chain's peak memory, each in a fresh subprocess",
    )


def pytest_configure(config: pytest.Config) -> None:
    specs: list[str] = config.getoption("bench_engine")
    if not specs:
        return
    try:
        engines = load_engines(specs)
    except EngineLoadError as exc:
        raise pytest.UsageError(str(exc)) from exc
    quick = bool(config.getoption("bench_quick"))
    workloads = select_workloads(config.getoption("bench_workload"), quick)
    cases = plan_cases(list(zip(specs, engines, strict=True)), workloads)
    plan = BenchPlan(tuple(cases), tuple(engines), quick, bool(config.getoption("bench_memory")))
    config.stash[_PLAN] = plan
    config.pluginmanager.register(_Recorder(plan), "gradspec-bench-recorder")


def plan_of(config: pytest.Config) -> BenchPlan:
    """The session's plan (a UsageError if the suite was run without --bench-engine)."""
    plan = config.stash.get(_PLAN, None)
    if plan is None:
        raise pytest.UsageError("the bench suite needs --bench-engine (use `gradspec bench`)")
    return plan


def case_named(config: pytest.Config, workload: str, engine: str) -> BenchCase:
    return next(c for c in plan_of(config).cases if c.workload.name == workload and c.engine_name == engine)


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


class _Recorder:
    """Keeps what the JSON should say beside the timings: the engines, and the items that failed.

    A workload that raised on an engine has no row in pytest-benchmark's JSON, so
    the report must be told why it is missing.
    """

    def __init__(self, plan: BenchPlan) -> None:
        self.plan = plan
        self.failed: list[dict[str, str]] = []
        self.skipped: list[dict[str, str]] = []
        self.load_before = _load_average()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        item = report.nodeid.split("::")[-1]
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = str(crash.message if crash is not None else report.longrepr)
            self.failed.append({"item": item, "error": message.splitlines()[0][:300]})
        elif report.skipped and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
            self.skipped.append({"item": item, "reason": reason})

    def pytest_benchmark_update_json(self, config: pytest.Config, benchmarks: Any, output_json: dict) -> None:
        output_json["gradspec"] = {
            "engines": [e.metadata() for e in self.plan.engines],
            "quick": self.plan.quick,
            "failed": self.failed,
            "skipped": self.skipped,
            # Timings from a busy machine are noise; the page warns when the load exceeded the CPUs.
            "load_average": {"before": self.load_before, "after": _load_average(), "cpus": os.cpu_count()},
            "threads": {var: os.environ.get(var) for var in THREAD_VARIABLES},
            "workloads": {c.workload.name: c.workload.description for c in self.plan.cases},
        }


# --- timing one case --------------------------------------------------------------


def _synchronized(run: Callable[..., Any], engine: Engine) -> Callable[..., Any]:
    """``run`` followed by a device synchronize on CUDA engines, so queued kernels are counted."""
    if not engine.device.startswith("cuda"):
        return run
    synchronize = engine.namespace.cuda.synchronize

    def run_and_wait(*args: Any) -> Any:
        result = run(*args)
        synchronize()
        return result

    return run_and_wait


def _time(benchmark: Any, trial: Trial, workload: Workload, quick: bool) -> None:
    """Calibrated rounds for short workloads; fixed rounds for those with ``rounds`` or fresh state."""
    rounds = workload.rounds
    if trial.setup is None and rounds is None:
        benchmark(trial.run)
        return
    rounds = min(rounds or QUICK_ROUNDS, QUICK_ROUNDS) if quick else (rounds or 5)
    warmup = 0 if quick or (workload.nodes or 0) >= 10**6 else 1
    if trial.setup is None:
        benchmark.pedantic(trial.run, rounds=rounds, warmup_rounds=warmup, iterations=1)
        return
    setup, teardown = trial.setup, trial.teardown
    benchmark.pedantic(
        trial.run,
        setup=lambda: ((setup(),), {}),
        teardown=teardown,
        rounds=rounds,
        warmup_rounds=warmup,
        iterations=1,
    )


def run_case(benchmark: Any, config: pytest.Config, workload: str, engine: str) -> None:
    """Time one (workload, engine) item of bench_suite; skip it when the engine cannot run it."""
    plan = plan_of(config)
    case = case_named(config, workload, engine)
    benchmark.group = case.workload.name
    benchmark.extra_info.update(case.extra_info())
    if case.baseline is not None:
        _time(benchmark, case.baseline.prepare(), case.workload, plan.quick)
        return
    eng = case.engine
    assert eng is not None
    if eng.unavailable:
        pytest.skip(eng.unavailable)
    missing = sorted(case.workload.needs - eng.capabilities)
    if missing:
        pytest.skip(f"{eng.name} lacks {', '.join(missing)}")
    with eng.session():
        trial = case.workload.prepare(eng.namespace)
        trial = Trial(_synchronized(trial.run, eng), trial.setup, trial.teardown)
        _time(benchmark, trial, case.workload, plan.quick)
    if plan.memory and case.workload.series == "deep_chain":
        benchmark.extra_info["peak_memory"] = measure_peak_memory(case.engine_spec, case.workload.name)


# --- the run ----------------------------------------------------------------------


def bench_argv(
    engines: Sequence[str],
    json_path: Path,
    *,
    workloads: Sequence[str] = (),
    quick: bool = False,
    memory: bool = True,
    extra: Sequence[str] = (),
) -> list[str]:
    """The pytest command line of a bench run, bounded so a full run takes minutes."""
    argv = [
        str(BENCH_SUITE),
        "-c",
        str(PYTEST_INI),
        "--rootdir",
        str(BENCH_SUITE.parent),
        "--import-mode=importlib",
        "-p",
        "no:cacheprovider",
        "-p",
        "gradspec.conformance.bench",
        "--benchmark-json",
        str(json_path),
        "--benchmark-group-by=group",
        "--benchmark-sort=name",
        "--benchmark-columns=min,median,iqr,rounds",
        "--benchmark-warmup=on",
        f"--benchmark-warmup-iterations={5 if quick else 50}",
        f"--benchmark-min-rounds={3 if quick else 5}",
        f"--benchmark-max-time={0.05 if quick else 0.5}",
    ]
    for spec in engines:
        argv += ["--bench-engine", spec]
    for pattern in workloads:
        argv += ["--bench-workload", pattern]
    if quick:
        argv.append("--bench-quick")
    if memory:
        argv.append("--bench-memory")
    return argv + list(extra)


def run_benchmarks(engines: Sequence[str], json_path: Path, **options: Any) -> pytest.ExitCode | int:
    """Run the bench suite in this process; pytest-benchmark writes its JSON to ``json_path``."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    return pytest.main(bench_argv(engines, json_path, **options))
