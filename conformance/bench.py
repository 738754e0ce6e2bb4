"""Timing the workloads on engines, round by round with the engines interleaved.

A ratio between two engines is only as good as the conditions both were timed
under. Timing all rounds of engine A and then all of engine B lets a burst of
load on the machine land on one of them and move the ratio by a factor; here
every round times each engine once, in an order that rotates from round to round,
so a slow minute slows both sides of a ratio. Rounds continue until every ratio's
bootstrap interval (:mod:`bench_stats`) is tight or the workload's time budget is
spent, and a ``quick`` run caps the whole run's time. A full run's rounds come in
passes, each in a fresh process that continues the rounds the earlier ones wrote
(``gradspec bench`` starts them), because processes differ more than rounds do.

With every thread pool pinned to one thread (``gradspec bench``'s default) a
round is timed by the process's CPU time, which the other processes of a shared
machine do not inflate; otherwise, and on CUDA, by the wall clock.

Each timed round runs inside ``engine.session()``, with Python's garbage collector
paused during the timed calls (as :mod:`timeit` does; collection pauses are the
largest source of noise in a microsecond workload), and on a CUDA engine each
call ends with a synchronize, so the time is the work and not its launch.

The JSON written keeps the shape of pytest-benchmark's (``benchmarks`` rows with
``stats``, ``machine_info``, ``datetime``) so earlier runs stay readable, and adds
every round's time (``stats.data``) from which the intervals are computed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import gc
import json
import math
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pytest_benchmark.stats import Stats

from gradspec.conformance.bench_memory import measure_peak_memory
from gradspec.conformance.bench_stats import MIN_ROUNDS, ratio_of_medians
from gradspec.conformance.engine import Engine
from gradspec.conformance.loader import load_engines
from gradspec.spec.workloads import BASELINES, LARGE_CHAIN, WORKLOADS, Baseline, Trial, Workload

QUICK_MAX_NODES = 10**4
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
Clock = Callable[[], float]


@dataclass(frozen=True)
class Settings:
    """How long and how often to time: one set for a full run, one for ``--quick``."""

    round_s: float  # a round of one engine lasts at least this long (calls are repeated to get there)
    min_rounds: int
    max_rounds: int
    workload_s: float  # past min_rounds, stop a workload after this long even if not converged
    target_spread: float  # ... or as soon as every ratio's interval is this tight (high / low)
    min_s: float = 0.0  # before stopping on a tight interval, rounds span at least this long
    budget_rounds: int = MIN_ROUNDS  # past workload_s, stop once this many rounds are in
    passes: int = 1  # each workload's rounds come in this many passes spread over the whole run
    total_s: float | None = None  # quick: the whole run, memory included, ends within this
    timing_s: float | None = None  # quick: the timing of all workloads ends within this, memory follows
    warmup: bool = True


FULL = Settings(
    round_s=0.02, min_rounds=15, max_rounds=120, workload_s=15.0, target_spread=1.08, min_s=5.0, passes=3
)
"""A full run: a workload's rounds come in three passes, each in a fresh process, and span at least
5 s, so an interval reflects how processes and the machine differ over minutes, not only the
second a tight one takes."""
QUICK = Settings(
    round_s=0.004,
    min_rounds=7,
    max_rounds=30,
    workload_s=3.0,
    target_spread=1.12,
    total_s=35.0,
    timing_s=25.0,
    warmup=False,
)


def pass_settings(settings: Settings, last: bool) -> Settings:
    """One of ``settings.passes`` passes: its share of the rounds and time; only the last may stop early.

    A pass before the last takes its share of rounds and seconds and stops; the
    last one continues until the intervals (over every pass's rounds) are tight,
    or the budget is spent.
    """
    n = settings.passes
    if n == 1:
        return settings
    return replace(
        settings,
        min_rounds=math.ceil(settings.min_rounds / n),
        max_rounds=math.ceil(settings.max_rounds / n),
        workload_s=settings.workload_s / n,
        min_s=settings.min_s / n,
        budget_rounds=math.ceil(settings.budget_rounds / n),
        target_spread=settings.target_spread if last else math.inf,
        passes=1,
    )


@dataclass
class Subject:
    """One timed program of a workload: an engine running it, or a baseline row of its group."""

    name: str
    kind: str  # "engine" or "baseline"
    trial: Trial
    session: Callable[[], AbstractContextManager[Any]] = nullcontext
    engine_spec: str = ""
    iterations: int = 1
    samples: list[float] = field(default_factory=list)  # seconds per call, one per round
    pass_ends: list[int] = field(default_factory=list)  # len(samples) after each pass
    error: str = ""  # set when a round raised: the subject leaves the workload, its rounds dropped


@dataclass
class Outcome:
    """What the run recorded beside the timings: items that failed or could not run."""

    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def select_workloads(patterns: Sequence[str], quick: bool, large: bool = False) -> list[Workload]:
    """Workloads whose name matches one of ``patterns`` (all when none), trimmed in quick mode.

    The chain of :data:`LARGE_CHAIN` nodes (seconds a round, gigabytes of memory)
    runs only with ``large``; quick mode keeps chains up to 10^4 nodes.
    """
    chosen = [w for w in WORKLOADS if not patterns or any(fnmatch.fnmatchcase(w.name, p) for p in patterns)]
    if not large:
        chosen = [w for w in chosen if (w.nodes or 0) < LARGE_CHAIN or w.series is None]
    if quick:
        chosen = [w for w in chosen if w.series is None or (w.nodes or 0) <= QUICK_MAX_NODES]
    return chosen


def baselines_of(workload: Workload) -> list[Baseline]:
    return [b for b in BASELINES if b.workload == workload.name]


# --- timing -----------------------------------------------------------------------


@contextmanager
def _no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


def time_round(subject: Subject, clock: Clock = time.perf_counter) -> float:
    """One round of ``subject``: seconds per call over its ``iterations`` calls (setup untimed)."""
    trial = subject.trial
    with subject.session():
        if trial.setup is not None:
            state = trial.setup()
            with _no_gc():
                start = clock()
                trial.run(state)
                elapsed = clock() - start
            if trial.teardown is not None:
                trial.teardown(state)
            return elapsed
        run, n = trial.run, subject.iterations
        with _no_gc():
            start = clock()
            for _ in range(n):
                run()
            elapsed = clock() - start
        return elapsed / n


def calibrate(subject: Subject, round_s: float, clock: Clock = time.perf_counter) -> None:
    """Choose how many calls make one round last about ``round_s`` (one for fresh-state trials).

    The first call also warms the engine (imports, caches, allocator); an
    exception here is the workload failing on that engine.
    """
    trial = subject.trial
    if trial.setup is not None:
        subject.iterations = 1
        return
    with subject.session():
        trial.run()
    subject.iterations = 1
    spent = time_round(subject, clock)
    while spent * subject.iterations < round_s / 4 and subject.iterations < 10**6:
        subject.iterations *= 4
        spent = time_round(subject, clock)
    subject.iterations = max(1, min(10**6, math.ceil(round_s / max(spent, 1e-9))))


def _converged(subjects: Sequence[Subject], reference: Subject, target: float) -> bool:
    for s in subjects:
        if s is reference:
            continue
        found = ratio_of_medians(s.samples, reference.samples, paired=True, resamples=400)
        if found.spread is None or found.spread > target:
            return False
    return True


def measure(
    subjects: Sequence[Subject],
    settings: Settings,
    *,
    deadline: float | None = None,
    reference: str = "reference",
    clock: Clock = time.perf_counter,
    timer: Clock | None = None,
) -> float:
    """Time ``subjects`` in interleaved rounds until their ratios settle; returns the seconds spent.

    Round ``r`` times every subject once, starting from subject ``r mod n``, so
    no engine always runs first (warm caches) or last. The rounds stop at
    ``max_rounds``; past ``min_rounds`` and ``min_s``, once every ratio to
    ``reference`` (the first subject when no subject has that name) is tighter
    than ``target_spread``; past ``workload_s``, once it has the few rounds an
    interval needs (:data:`~gradspec.conformance.bench_stats.MIN_ROUNDS`); and
    at ``deadline`` (the quick run's cap), even before those. ``clock`` (wall time) keeps the
    budgets; ``timer`` times the rounds (``clock`` unless given).
    """
    timer = timer or clock
    start = clock()
    running = list(subjects)
    base = next((s for s in running if s.name == reference), running[0])
    rounds = 0
    while rounds < settings.max_rounds and running:
        k = rounds % len(running)
        for s in [*running[k:], *running[:k]]:
            try:
                s.samples.append(time_round(s, timer))
            except Exception as exc:  # noqa: BLE001 - the engine failing the workload is a result
                s.error, s.samples = _error_text(exc), []
                running.remove(s)
        if base not in running and running:
            base = next((s for s in running if s.name == reference), running[0])
        rounds += 1
        now = clock()
        if deadline is not None and now >= deadline:
            break
        if (
            rounds >= settings.min_rounds
            and now - start >= settings.min_s
            and _converged(running, base, settings.target_spread)
        ):
            break
        # Past its budget a workload stops at the fewest rounds an interval needs: a round of the
        # 10^5-node chain costs seconds of untimed building, and its rounds vary little.
        if now - start >= settings.workload_s and rounds >= settings.budget_rounds:
            break
    return clock() - start


# --- a whole run ------------------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:300]


def subjects_for(
    workload: Workload, engines: Sequence[tuple[str, Engine]], outcome: Outcome
) -> list[Subject]:
    """The engines that can run ``workload`` (prepared), then its baselines; the rest are recorded."""
    out: list[Subject] = []
    for spec, engine in engines:
        item = f"{workload.name}[{engine.name}]"
        if engine.unavailable:
            outcome.skipped.append({"item": item, "reason": engine.unavailable})
            continue
        missing = sorted(workload.needs - engine.capabilities)
        if missing:
            outcome.skipped.append({"item": item, "reason": f"{engine.name} lacks {', '.join(missing)}"})
            continue
        try:
            with engine.session():
                trial = workload.prepare(engine.namespace)
        except Exception as exc:  # noqa: BLE001 - the engine's failure is a result to report
            outcome.failed.append({"item": item, "error": _error_text(exc)})
            continue
        trial = Trial(_synchronized(trial.run, engine), trial.setup, trial.teardown)
        out.append(Subject(engine.name, "engine", trial, engine.session, spec))
    for baseline in baselines_of(workload):
        out.append(Subject(baseline.name, "baseline", baseline.prepare()))
    return out


def _warmed(
    subjects: list[Subject], settings: Settings, workload: Workload, outcome: Outcome, timer: Clock
) -> list[Subject]:
    """Calibrate each subject (and warm it with one untimed round); drop those that raise."""
    kept = []
    for s in subjects:
        try:
            calibrate(s, settings.round_s, timer)
            if settings.warmup and s.trial.setup is not None:
                time_round(s, timer)
        except Exception as exc:  # noqa: BLE001
            outcome.failed.append({"item": f"{workload.name}[{s.name}]", "error": _error_text(exc)})
            continue
        kept.append(s)
    return kept


def _stats(samples: Sequence[float], iterations: int) -> dict[str, Any]:
    """pytest-benchmark's statistics of one subject's rounds, plus the rounds themselves.

    The row is computed by pytest-benchmark's own ``Stats`` (median, quartiles,
    outliers, ops), so bench.json reads like the JSON its ``--benchmark-json``
    writes; the timing loop is gradspec's because pytest-benchmark times one test
    at a time and cannot interleave engines round by round.
    """
    stats = Stats()
    for seconds in samples:
        stats.update(float(seconds))
    row: dict[str, Any] = dict(stats.as_dict())
    row["iterations"] = iterations
    row["data"] = [float(v) for v in samples]
    return row


def _row(workload: Workload, subject: Subject) -> dict[str, Any]:
    description = workload.description
    if subject.kind == "baseline":
        description = next(b.description for b in baselines_of(workload) if b.name == subject.name)
    return {
        "group": workload.name,
        "name": f"{workload.name}[{subject.name}]",
        "params": {"workload": workload.name, "engine": subject.name},
        "extra_info": {
            "workload": workload.name,
            "engine": subject.name,
            "kind": subject.kind,
            "description": description,
            "nodes": workload.nodes,
            "series": workload.series,
            "pass_ends": subject.pass_ends,
        },
        "stats": _stats(subject.samples, subject.iterations),
    }


def _cpu_brand() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_info() -> dict[str, Any]:
    """The machine, in the keys pytest-benchmark used (the page reads these)."""
    return {
        "node": platform.node(),
        "cpu": {"brand_raw": _cpu_brand(), "count": os.cpu_count()},
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "system": platform.system(),
        "release": platform.release(),
    }


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def progress_line(workload: Workload, subjects: Sequence[Subject], reference: str, seconds: float) -> str:
    """``note_graph  reference 21.4 µs | torch-cpu 9.8 µs 0.46x [0.45-0.47] | 18 rounds, 1.4 s``."""
    from gradspec.conformance.bench_report import format_seconds

    base = next((s for s in subjects if s.name == reference), None)
    parts = []
    for s in subjects:
        text = f"{s.name} {format_seconds(float(np.median(s.samples)))}"
        if base is not None and s is not base:
            text += " " + ratio_of_medians(s.samples, base.samples, paired=True, pass_ends=s.pass_ends).text()
        parts.append(text)
    rounds = len(subjects[0].samples) if subjects else 0
    return f"  {workload.name:20s} {' | '.join(parts)} | {rounds} rounds, {seconds:.1f} s"


def _earlier_passes(json_path: Path, pass_no: int | None) -> dict[str, Any]:
    """What the earlier passes of this run wrote to ``json_path`` (nothing for the first pass).

    A later pass without that file would start afresh under a later pass's number:
    FileNotFoundError instead.
    """
    if not pass_no or pass_no == 1:
        return {}
    if not json_path.exists():
        raise FileNotFoundError(f"pass {pass_no} continues the earlier passes' {json_path}, which is gone")
    document: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
    return document


def _once_each(failed: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each failed item once, as first recorded (every pass prepares the workloads again)."""
    first: dict[str, dict[str, str]] = {}
    for item in failed:
        first.setdefault(item["item"], item)
    return list(first.values())


def _resume(subjects: list[Subject], workload: Workload, earlier: dict[str, Any]) -> list[Subject]:
    """Give each subject the rounds of the earlier passes; drop those an earlier pass saw fail.

    A subject must carry on from every earlier pass or not at all: its rounds are
    paired with the other engines' by index.
    """
    if not earlier:
        return subjects
    rows = {row["name"]: row for row in earlier.get("benchmarks", [])}
    failed = {item["item"] for item in earlier.get("gradspec", {}).get("failed", [])}
    kept = []
    for s in subjects:
        item = f"{workload.name}[{s.name}]"
        row = rows.get(item)
        if item in failed or row is None:
            continue
        s.samples = [float(v) for v in row["stats"]["data"]]
        s.pass_ends = [int(n) for n in row["extra_info"].get("pass_ends", [])]
        kept.append(s)
    return kept


def run_benchmarks(
    specs: Sequence[str],
    json_path: Path,
    *,
    workloads: Sequence[str] = (),
    quick: bool = False,
    memory: bool = True,
    large: bool = False,
    reference: str = "reference",
    engines: Sequence[Engine] | None = None,
    cpu_time: bool = False,
    pass_no: int | None = None,
    say: Callable[[str], None] = print,
    clock: Clock = time.perf_counter,
) -> int:
    """Time the selected workloads on the engines ``specs`` names and write ``json_path``.

    Returns the number of workloads timed (0: nothing selected). ``engines`` are
    the loaded ``specs`` when the caller has them; loading errors raise
    :class:`~gradspec.conformance.loader.EngineLoadError` before any timing.

    ``pass_no`` (1-based) runs only that pass of the run's passes, continuing the
    rounds the earlier passes wrote to ``json_path``; ``gradspec bench`` starts a
    fresh process for each pass, so that the passes' ratios show how much a
    ratio differs between processes (:mod:`bench_stats`). Without it, every
    pass runs here. Each pass rewrites ``json_path`` whole, so a run stopped
    after a pass keeps the passes it finished.

    ``cpu_time`` times rounds by the process's CPU time instead of the wall
    clock, when no engine runs on CUDA (whose work the CPU clock would not see).
    With every thread pool pinned to one thread the CPU time is the work itself,
    and time spent waiting for a core that other processes hold is not counted:
    on a shared machine a wall-clock round is either the work or the work plus a
    scheduler slice of someone else's, and the ratios swing with that mix.
    """
    if engines is None:
        engines = load_engines(list(specs))
    cpu_time = cpu_time and not any(e.device.startswith("cuda") for e in engines if not e.unavailable)
    timer: Clock = time.process_time if cpu_time else clock
    chosen = select_workloads(workloads, quick, large)
    if not chosen:
        return 0
    settings = QUICK if quick else FULL
    if pass_no is not None and not 1 <= pass_no <= settings.passes:
        raise ValueError(f"pass {pass_no} of a run of {settings.passes}")
    passes = range(settings.passes) if pass_no is None else range(pass_no - 1, pass_no)
    earlier = _earlier_passes(json_path, pass_no)
    before: dict[str, Any] = earlier.get("gradspec", {})
    started = clock()
    deadline = started + settings.timing_s if settings.timing_s is not None else None
    end = started + settings.total_s if settings.total_s is not None else None
    load_before = before.get("load_average", {}).get("before", _load_average())
    outcome = Outcome(failed=list(before.get("failed", [])))
    mode = f"quick (capped at {settings.total_s:g} s)" if quick else "full"
    if passes[0] == 0:
        say(
            f"gradspec bench: {len(chosen)} workloads on {', '.join(e.name for e in engines)}; "
            f"{mode} run, engines interleaved round by round, timed by {'CPU' if cpu_time else 'wall'} clock"
            + (f", {settings.passes} passes in fresh processes" if pass_no and settings.passes > 1 else "")
        )
    pairs = list(zip(specs, engines, strict=True))
    prepared: list[tuple[Workload, list[Subject]]] = []
    for workload in chosen:
        subjects = _resume(subjects_for(workload, pairs, outcome), workload, earlier)
        subjects = _warmed(subjects, settings, workload, outcome, timer)
        if subjects:
            prepared.append((workload, subjects))
        elif passes[0] == 0:
            say(f"  {workload.name:20s} no engine could run it")
    spent: dict[str, float] = defaultdict(float, before.get("spent_s", {}))
    finishing = passes[-1] == settings.passes - 1
    for p in passes:
        last = p == settings.passes - 1
        step = pass_settings(settings, last)
        if settings.passes > 1:
            say(f"  pass {p + 1} of {settings.passes}" + (": until the intervals are tight" if last else ""))
        for i, (workload, subjects) in enumerate(prepared):
            live = [s for s in subjects if not s.error]
            if not live:
                continue
            share = None
            if deadline is not None:
                share = clock() + max(0.0, deadline - clock()) / (len(prepared) - i)
            spent[workload.name] += measure(
                live, step, deadline=share, reference=reference, clock=clock, timer=timer
            )
            for s in live:
                s.pass_ends.append(len(s.samples))
            for s in subjects:
                if s.error:  # recorded once; the subject stays out of the later passes
                    outcome.failed.append({"item": f"{workload.name}[{s.name}]", "error": s.error})
            kept = [s for s in subjects if not s.error]
            prepared[i] = (workload, kept)
            if not kept:
                say(f"  {workload.name:20s} failed on every engine")
            elif last:
                say(progress_line(workload, kept, reference, spent[workload.name]))
    rows: list[dict[str, Any]] = []
    chains: list[tuple[dict[str, Any], str, str]] = []  # (row, engine spec, workload): memory to measure
    for workload, subjects in prepared:
        for s in subjects:
            rows.append(_row(workload, s))
            if memory and finishing and workload.series == "deep_chain" and s.kind == "engine":
                chains.append((rows[-1], s.engine_spec, workload.name))
    if chains:
        say(f"  peak memory of the deep chain: {len(chains)} fresh processes")
    for row, spec, name in chains:
        left = end - clock() if end is not None else None
        if left is not None and left < 1.0:
            found: dict[str, Any] = {"error": "not measured: the quick run's time was spent"}
        elif left is not None:
            found = measure_peak_memory(spec, name, left)
        else:
            found = measure_peak_memory(spec, name)
        row["extra_info"]["peak_memory"] = found
    document = {
        "machine_info": machine_info(),
        "datetime": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "benchmarks": rows,
        "gradspec": {
            "engines": [e.metadata() for e in engines],
            "quick": quick,
            "interleaved": True,
            "clock": "process CPU time" if cpu_time else "wall clock",
            "settings": {k: v for k, v in vars(settings).items()},
            "elapsed_s": round(before.get("elapsed_s", 0.0) + clock() - started, 1),
            # Each pass's process: fresh processes are what the between-pass interval assumes.
            "passes": {
                "done": passes[-1] + 1,
                "of": settings.passes,
                "pids": [*before.get("passes", {}).get("pids", []), os.getpid()],
            },
            "spent_s": {name: round(seconds, 3) for name, seconds in spent.items()},
            "failed": _once_each(outcome.failed),
            "skipped": outcome.skipped,
            # Timings from a busy machine are noise; the page warns when the load exceeded the CPUs.
            "load_average": {"before": load_before, "after": _load_average(), "cpus": os.cpu_count()},
            "threads": {var: os.environ.get(var) for var in THREAD_VARIABLES},
            "workloads": {w.name: w.description for w in chosen},
        },
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: an interrupt while writing must not cost the earlier passes.
    partial = json_path.with_name(json_path.name + ".partial")
    partial.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.replace(partial, json_path)
    return len(chosen)
