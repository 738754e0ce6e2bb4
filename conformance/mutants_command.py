"""``gradspec mutants``: run the suite against the zoo of broken engines; measure how fast each dies.

A suite that passes on every correct engine proves little until it is seen to
fail on wrong ones. The zoo (``gradspec.impls.mutants``) holds engines that are
the reference engine with one realistic bug each; this command runs the whole
specification on them (under a hypothesis profile, ``ci`` by default, without
shrinking: only *whether* and *how soon* a case catches the bug matters here)
and prints, per mutant, the cases that caught it and its examples-to-kill: the
number of examples the quickest catching case ran up to and including the
first one that failed (1 for an example claim). With ``--seeds N`` the
properties are also run under N random seeds (the profile with derandomize
off), so the table shows the median and the worst examples-to-kill over runs:
a mutant that dies at example 45 of a budget of 50 in one seed is a mutant the
next seed may miss. A mutant nothing caught in some run is a hole in the
suite, listed as a survivor, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import gradspec.spec
from gradspec.conformance.outcomes import Verdict
from gradspec.conformance.results import read_results

SPEC_DIR = Path(gradspec.spec.__file__).parent
PYTEST_INI = Path(__file__).with_name("pytest.ini")
CAUGHT = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT})
BUDGETS = (1, 2, 5, 10, 20, 50, 100)  # example budgets the kill-rate line reports


@dataclass
class Catch:
    """What caught one mutant in one run, and after how many examples each catcher failed."""

    mutant: str
    bug: str
    where: str
    narrow: bool = False
    examples: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    examples_to_kill: dict[str, int] = field(default_factory=dict)
    control_failures: list[str] = field(default_factory=list)  # not run: they fail without any bug

    @property
    def caught(self) -> bool:
        return bool(self.examples or self.properties)

    @property
    def kill(self) -> int | None:
        """Examples the quickest catching case needed; None when nothing caught the mutant."""
        return min(self.examples_to_kill.values()) if self.examples_to_kill else None

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "caught": self.caught, "kill": self.kill}


class ExampleCounter:
    """A pytest plugin counting the hypothesis examples each case ran before its first failure.

    It listens to hypothesis's observability stream, which reports every test
    case a property runs with its status; ``gave_up`` ones (filtered by
    ``assume``) are not examples, as they do not count towards max_examples
    either. Per case it keeps (index of the first failing example or None,
    examples that passed); see :func:`examples_to_kill` for failures after them.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], tuple[int | None, int]] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        from hypothesis.internal.observability import with_observability_callback

        claim, engine = getattr(item, "claim", None), getattr(item, "engine", None)
        if claim is None or engine is None:
            return (yield)
        valid = 0
        first_failure: int | None = None

        def see(observation: Any) -> None:
            nonlocal valid, first_failure
            if observation.type != "test_case" or first_failure is not None:
                return
            if observation.status in ("passed", "failed"):
                valid += 1
            if observation.status == "failed":
                first_failure = valid

        with with_observability_callback(see), _without_coverage():
            try:
                return (yield)
            finally:
                self.counts[(claim.id, engine.name)] = (first_failure, valid)


def examples_to_kill(counted: tuple[int | None, int], observed: Any) -> int:
    """Examples a catching property ran up to and including its first failure.

    A failure among hypothesis's examples is located exactly. One after all of
    them passed happened in the property's own seeded top-up examples (aimed at
    the coverage pairs random examples missed), which hypothesis does not see:
    the property's ``examples`` observation counts those too.
    """
    first, passed = counted
    if first is not None:
        return first
    return max(passed + 1, observed if isinstance(observed, int) else 0)


@contextmanager
def _without_coverage() -> Iterator[None]:
    """Observability without its line coverage, which traces every line and slows a run tenfold."""
    from hypothesis.internal import observability

    before = observability.OBSERVABILITY_COLLECT_COVERAGE
    observability.OBSERVABILITY_COLLECT_COVERAGE = False
    try:
        yield
    finally:
        observability.OBSERVABILITY_COLLECT_COVERAGE = before


def run_zoo(
    names: list[str] | None,
    profile: str,
    results: Path,
    *,
    first_catch: bool = False,
    quiet: bool = True,
    seed: int | None = None,
    budget: int | None = None,
    cases: list[str] | None = None,
    control: bool = True,
) -> list[Catch]:
    """Run the suite on the chosen mutants (all by default); return what caught each, and how soon.

    ``seed`` runs the properties under that random seed with the profile's
    derandomize switched off; ``budget`` overrides its max_examples; ``cases``
    restricts the run to those claim ids; ``first_catch`` stops each mutant's run
    at the first case that catches it. With ``control`` the same run is made
    first on the unmutated copy of the reference, and the cases that fail there
    are not run on the mutants (each Catch lists them): a case every engine of
    the zoo fails kills no mutant.
    """
    from gradspec.impls.mutants.zoo import CONTROL, zoo
    from gradspec.spec.claims import all_claims

    mutants = zoo()
    chosen = names or list(mutants)
    unknown = sorted(set(chosen) - set(mutants))
    if unknown:
        raise KeyError(f"no mutant {', '.join(unknown)}; the zoo has {', '.join(mutants)}")
    run = _SuiteRun(profile, results, quiet=quiet, seed=seed, budget=budget)
    selected = [c.id for c in all_claims()] if cases is None else list(cases)
    failing_control: list[str] = []
    if control:
        outcomes = run.pytest([_spec(CONTROL)], selected, "control")
        failing_control = sorted({o.case for o in outcomes if o.verdict in CAUGHT})
        selected = [c for c in selected if c not in failing_control]
    catches = {
        n: Catch(n, mutants[n].bug, mutants[n].where, mutants[n].narrow, control_failures=failing_control)
        for n in chosen
    }
    batches = [[n] for n in chosen] if first_catch else [chosen]
    for i, batch in enumerate(batches):
        label = str(i) if first_catch else "all"
        outcomes = run.pytest([mutants[n].spec for n in batch], selected, label, stop_first=first_catch)
        by_engine = {mutants[n].engine_name: catches[n] for n in batch}
        for outcome in outcomes:
            catch = by_engine.get(outcome.engine)
            if catch is None or outcome.verdict not in CAUGHT:
                continue
            if outcome.kind == "property":
                catch.properties.append(outcome.case)
                counted = run.counter.counts.get((outcome.case, outcome.engine), (None, 0))
                catch.examples_to_kill[outcome.case] = examples_to_kill(
                    counted, outcome.observations.get("examples")
                )
            else:
                catch.examples.append(outcome.case)
                catch.examples_to_kill[outcome.case] = 1
    return list(catches.values())


def _spec(name: str) -> str:
    return f"gradspec.impls.mutants.zoo:{name.replace('-', '_')}"


class _SuiteRun:
    """The spec run in this process under one measuring profile (and seed), engine by engine."""

    def __init__(
        self, profile: str, results: Path, *, quiet: bool, seed: int | None, budget: int | None
    ) -> None:
        self.results = results
        self.profile = measuring_profile(profile, randomized=seed is not None, budget=budget)
        self.counter = ExampleCounter()
        self.base = [
            str(SPEC_DIR),
            "-c",
            str(PYTEST_INI),
            "--rootdir",
            str(SPEC_DIR),
            "-p",
            "no:cacheprovider",
            "--tb=no",
        ]
        if quiet:
            self.base += ["-qq", "--no-summary"]
        if seed is not None:
            self.base.append(f"--hypothesis-seed={seed}")

    def pytest(
        self, engines: list[str], cases: list[str], label: str, *, stop_first: bool = False
    ) -> list[Any]:
        """Run ``cases`` on ``engines``; the outcomes recorded (none when no case is left)."""
        from gradspec.spec.profiles import using_profile

        if not cases:
            return []
        stem = f"{self.results.stem}-{label}"
        path = self.results.with_name(f"{stem}{self.results.suffix}")
        selection = self.results.with_name(f"{stem}-cases.txt")
        selection.write_text("\n".join(cases) + "\n", encoding="utf-8")
        argv = [*self.base, "--gradspec-results", str(path), "--gradspec-cases", str(selection)]
        for spec in engines:
            argv += ["--gradspec-engine", spec]
        if stop_first:
            argv.append("-x")
        # pytest's own lines go to stderr: stdout is the command's table (or JSON).
        with using_profile(self.profile), redirect_stdout(sys.stderr):
            pytest.main(argv, plugins=[self.counter])
        return list(read_results(path).outcomes)


def measuring_profile(name: str, *, randomized: bool, budget: int | None) -> str:
    """Register (once) and return profile ``name`` without shrinking, database or blob.

    ``randomized`` switches derandomize off, so the seed given to pytest
    decides the examples; ``budget`` replaces max_examples. Without a database
    no run replays the failures an earlier run found, so every seed is a fresh
    search.
    """
    from hypothesis import Phase, settings

    base = settings.get_profile(name)
    derived = f"{name}-mutants-{'random' if randomized else 'fixed'}-{budget or base.max_examples}"
    phases = tuple(p for p in base.phases if p not in (Phase.shrink, Phase.explain))
    settings.register_profile(
        derived,
        base,
        phases=phases,
        print_blob=False,
        database=None,
        derandomize=base.derandomize and not randomized,
        max_examples=budget or base.max_examples,
    )
    return derived


# -- kill rates over several runs ----------------------------------------------------------


@dataclass
class KillRate:
    """One mutant over all runs: the ci run first, then one per random seed."""

    mutant: str
    bug: str
    narrow: bool
    catchers: list[str]  # cases that caught it in any run, quickest first
    kills: dict[str, int | None]  # run label -> examples-to-kill (None: survived that run)
    control_failures: dict[str, list[str]] = field(default_factory=dict)  # run label -> cases not counted

    @property
    def survived_in(self) -> list[str]:
        return [run for run, k in self.kills.items() if k is None]

    @property
    def median(self) -> float | None:
        done = [k for k in self.kills.values() if k is not None]
        return statistics.median(done) if done else None

    @property
    def worst(self) -> int | None:
        """The most examples any run needed; None when some run never killed it."""
        if self.survived_in or not self.kills:
            return None
        return max(k for k in self.kills.values() if k is not None)

    def as_json(self) -> dict[str, Any]:
        return {
            "mutant": self.mutant,
            "bug": self.bug,
            "narrow": self.narrow,
            "caught_by": self.catchers,
            "examples_to_kill": self.kills,
            "median": self.median,
            "max": self.worst,
            "survived_in": self.survived_in,
            "control_failures": self.control_failures,
        }


def measure(
    names: list[str] | None,
    profile: str,
    seeds: int,
    report_dir: Path,
    *,
    budget: int | None = None,
    first_catch: bool = False,
    cases: list[str] | None = None,
    resume: bool = False,
) -> list[KillRate]:
    """Run the zoo under ``profile`` and then under ``seeds`` random seeds; one KillRate per mutant.

    An example claim is the same program in every run, so a mutant one of them
    catches is caught at one example under every seed; the seeded runs replay
    only the properties, and only on the mutants no example claim caught. With
    ``resume``, runs already saved in ``report_dir`` (runs.json) are read back
    instead of run again, so a long measurement can be finished in parts.
    """
    from gradspec.spec.claims import all_claims

    saved = _load_runs(report_dir) if resume else {}
    runs: dict[str, dict[str, Catch]] = {}

    def run(label: str, **how: Any) -> dict[str, Catch]:
        wanted = how.pop("names")
        if label in saved and all(n in saved[label] for n in wanted or ()):
            return {n: c for n, c in saved[label].items() if wanted is None or n in wanted}
        caught = (
            run_zoo(wanted, profile, report_dir / f"{label.replace(' ', '-')}.jsonl", **how)
            if (wanted is None or wanted)
            else []
        )
        return {c.mutant: c for c in caught}

    runs[profile] = run(profile, names=names, first_catch=first_catch, budget=budget, cases=cases)
    _save_runs(runs, report_dir)
    first = list(runs[profile].values())
    properties = [c.id for c in all_claims() if c.kind == "property" and (cases is None or c.id in cases)]
    needing = [c.mutant for c in first if not c.examples]
    for s in range(seeds):
        label = f"seed {s}"
        runs[label] = run(
            label, names=needing, first_catch=first_catch, seed=s, budget=budget, cases=properties
        )
        _save_runs(runs, report_dir)
    excluded = {
        label: next(iter(catches.values())).control_failures for label, catches in runs.items() if catches
    }
    rates = []
    for c in first:
        kills: dict[str, int | None] = {}
        per_case: dict[str, int] = {}
        for label, catches in runs.items():
            this = catches.get(c.mutant)
            kills[label] = 1 if this is None else this.kill  # None here: killed by an example claim
            for case, k in (this.examples_to_kill if this else c.examples_to_kill).items():
                per_case[case] = min(k, per_case.get(case, k))
        catchers = sorted(per_case, key=lambda case: (per_case[case], case))
        rates.append(KillRate(c.mutant, c.bug, c.narrow, catchers, kills, excluded))
    return rates


def _save_runs(runs: dict[str, dict[str, Catch]], report_dir: Path) -> None:
    """What each run so far caught, as JSON (runs.json), so a long measurement can be read midway."""
    document = {label: [c.as_json() for c in catches.values()] for label, catches in runs.items()}
    (report_dir / "runs.json").write_text(json.dumps(document, indent=1), encoding="utf-8")


def _load_runs(report_dir: Path) -> dict[str, dict[str, Catch]]:
    path = report_dir / "runs.json"
    if not path.exists():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    fields = set(Catch.__dataclass_fields__)
    return {
        label: {c["mutant"]: Catch(**{k: v for k, v in c.items() if k in fields}) for c in catches}
        for label, catches in document.items()
    }


def slowest_first(rates: list[KillRate]) -> list[KillRate]:
    """Survivors first, then by worst and median examples-to-kill, descending."""
    return sorted(
        rates,
        key=lambda r: (
            not r.survived_in,
            -(r.worst or 0),
            -(r.median or 0),
            r.mutant,
        ),
    )


def kill_rate_line(rates: list[KillRate]) -> str:
    """The share of mutants every run killed within each example budget."""
    parts = []
    for b in BUDGETS:
        n = sum(1 for r in rates if r.worst is not None and r.worst <= b)
        parts.append(f"<={b}: {n}/{len(rates)}")
    return "killed in every run within a budget of " + ", ".join(parts)


def _catchers_text(r: KillRate, limit: int = 3) -> str:
    shown = r.catchers[:limit]
    more = len(r.catchers) - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


def print_rates(rates: list[KillRate], out: Any = None) -> None:
    out = out or sys.stdout
    ordered = slowest_first(rates)
    width = max(len(r.mutant) for r in ordered)
    runs = list(ordered[0].kills) if ordered else []
    print(f"{'mutant':{width}s}  narrow  median  max   runs ({', '.join(runs)})   caught by", file=out)
    for r in ordered:
        med = "-" if r.median is None else f"{r.median:g}"
        worst = "SURV" if r.worst is None else str(r.worst)
        per_run = " ".join("-" if k is None else str(k) for k in r.kills.values())
        flag = "yes" if r.narrow else ""
        print(
            f"{r.mutant:{width}s}  {flag:6s}  {med:>6s}  {worst:>4s}  {per_run:{len(runs) * 3}s}  "
            f"{_catchers_text(r)}",
            file=out,
        )
    survivors = [r for r in ordered if r.survived_in]
    for label, cases in (ordered[0].control_failures if ordered else {}).items():
        if cases:
            print(
                f"\nnot counted in {label} (they fail on the unmutated reference): {', '.join(cases)}",
                file=out,
            )
    print(f"\n{kill_rate_line(rates)}", file=out)
    narrow = sum(r.narrow for r in rates)
    print(
        f"{len(rates) - len(survivors)}/{len(rates)} mutants killed in every run ({narrow} narrow)", file=out
    )
    if survivors:
        print("\nsurvivors:", file=out)
        for r in survivors:
            print(f"  {r.mutant} (survived {', '.join(r.survived_in)}): {r.bug}", file=out)


def markdown_rates(rates: list[KillRate]) -> str:
    """The kill-rate table as Markdown, slowest kills first, for closing notes."""
    ordered = slowest_first(rates)
    runs = list(ordered[0].kills) if ordered else []
    lines = [
        "| mutant | narrow | examples-to-kill median | max | per run (" + ", ".join(runs) + ") | caught by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in ordered:
        med = "-" if r.median is None else f"{r.median:g}"
        worst = "**survived**" if r.worst is None else str(r.worst)
        per_run = " / ".join("-" if k is None else str(k) for k in r.kills.values())
        narrow = "yes" if r.narrow else ""
        lines.append(f"| {r.mutant} | {narrow} | {med} | {worst} | {per_run} | {_catchers_text(r)} |")
    lines += ["", kill_rate_line(rates)]
    survivors = [r for r in ordered if r.survived_in]
    if survivors:
        lines += ["", "## Survivors", ""]
        for r in survivors:
            lines += [f"### {r.mutant} (survived {', '.join(r.survived_in)})", "", r.bug, ""]
            witness = _witness(r.mutant)
            if witness:
                lines += ["A program that kills it (the mutant disagrees with the reference here):", ""]
                lines += ["```python", witness.rstrip("\n"), "```", ""]
    return "\n".join(lines) + "\n"


def _witness(mutant: str) -> str | None:
    from gradspec.impls.mutants.witnesses import WITNESSES

    w = WITNESSES.get(mutant)
    return "import torch\n\n" + w.witness.replace("T.", "torch.") if w else None


def print_table(catches: list[Catch]) -> None:
    width = max(len(c.mutant) for c in catches)
    for c in catches:
        status = "caught" if c.caught else "SURVIVED"
        counts = f"{len(c.examples):2d} cases, {len(c.properties):2d} properties"
        print(f"{c.mutant:{width}s}  {status:8s}  {counts}   [{c.where}]")
        if c.examples:
            print(f"{'':{width}s}    cases:      {', '.join(c.examples)}")
        if c.properties:
            print(f"{'':{width}s}    properties: {', '.join(c.properties)}")
    caught = sum(c.caught for c in catches)
    print(f"\n{caught}/{len(catches)} mutants caught")


def cmd_mutants(args: argparse.Namespace) -> int:
    from gradspec.impls.mutants.zoo import zoo

    report_dir = (
        Path(args.report_dir) if args.report_dir else Path(tempfile.mkdtemp(prefix="gradspec-mutants-"))
    )
    report_dir.mkdir(parents=True, exist_ok=True)
    names = list(args.mutant) or None
    if args.narrow:
        names = [n for n, m in zoo().items() if m.narrow and (names is None or n in names)]
    try:
        rates = measure(
            names,
            args.profile,
            args.seeds,
            report_dir,
            budget=args.budget,
            first_catch=args.first_catch,
            cases=_matching_cases(args.case),
            resume=args.resume,
        )
    except KeyError as exc:
        print(f"gradspec: error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.as_json() for r in slowest_first(rates)], indent=2))
    else:
        print_rates(rates)
    if args.markdown:
        Path(args.markdown).write_text(markdown_rates(rates), encoding="utf-8")
    return 0 if all(not r.survived_in for r in rates) else 1


def _matching_cases(patterns: list[str]) -> list[str] | None:
    """The claim ids matching any of ``patterns`` (exact or glob); None when none were given."""
    if not patterns:
        return None
    from fnmatch import fnmatchcase

    from gradspec.spec.claims import all_claims

    return [c.id for c in all_claims() if any(fnmatchcase(c.id, p) for p in patterns)]


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "mutants",
        help="run the suite against the zoo of broken engines; show what caught each and how soon",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("--profile", default="ci", help="hypothesis profile (dev, ci, thorough; default ci)")
    parser.add_argument(
        "--seeds",
        type=_positive,
        default=0,
        metavar="N",
        help="also run the properties under N random seeds (the profile, not derandomized); default 0",
    )
    parser.add_argument(
        "--budget",
        type=_positive,
        default=None,
        metavar="N",
        help="max examples per property (default: the profile's)",
    )
    parser.add_argument(
        "--mutant", action="append", default=[], metavar="NAME", help="only this mutant; repeatable"
    )
    parser.add_argument(
        "--case", action="append", default=[], metavar="ID", help="only claims matching ID (glob); repeatable"
    )
    parser.add_argument(
        "--narrow", action="store_true", help="only the narrow mutants (one op x one condition)"
    )
    parser.add_argument(
        "--first-catch",
        action="store_true",
        help="stop each mutant's run at the first case that catches it (faster; lists one catcher)",
    )
    parser.add_argument(
        "--report-dir", metavar="DIR", help="where the result streams go (default: a temporary folder)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the runs already saved in --report-dir (runs.json) instead of running them again",
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the kill-rate table as Markdown")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=cmd_mutants)
