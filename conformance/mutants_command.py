"""``gradspec mutants``: run the suite against the zoo of broken engines and show what caught each.

A suite that passes on every correct engine proves little until it is seen to
fail on wrong ones. The zoo (``gradspec.impls.mutants``) holds engines that are
the reference engine with one realistic bug each; this command runs the whole
specification on them (under a hypothesis profile, ``ci`` by default, without
shrinking: only *whether* a case catches the bug matters here) and prints, per
mutant, the example cases and the properties that failed or errored on it. A
mutant nothing caught is a hole in the suite, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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


@dataclass
class Catch:
    """What caught one mutant."""

    mutant: str
    bug: str
    where: str
    examples: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return bool(self.examples or self.properties)

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "caught": self.caught}


def run_zoo(
    names: list[str] | None, profile: str, results: Path, *, first_catch: bool = False, quiet: bool = True
) -> list[Catch]:
    """Run the suite on the chosen mutants (all by default); return what caught each."""

    from gradspec.impls.mutants.zoo import zoo
    from gradspec.spec.profiles import using_profile, without_shrinking

    mutants = zoo()
    chosen = names or list(mutants)
    unknown = sorted(set(chosen) - set(mutants))
    if unknown:
        raise KeyError(f"no mutant {', '.join(unknown)}; the zoo has {', '.join(mutants)}")
    base = [
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
        base += ["-qq", "--no-summary"]
    batches = [[n] for n in chosen] if first_catch else [chosen]
    catches = {n: Catch(n, mutants[n].bug, mutants[n].where) for n in chosen}
    for i, batch in enumerate(batches):
        path = results.with_name(f"{results.stem}-{i}{results.suffix}") if first_catch else results
        argv = [*base, "--gradspec-results", str(path)]
        for n in batch:
            argv += ["--gradspec-engine", mutants[n].spec]
        if first_catch:
            argv.append("-x")
        with using_profile(without_shrinking(profile)):
            pytest.main(argv)
        by_engine = {mutants[n].engine_name: catches[n] for n in batch}
        for outcome in read_results(path).outcomes:
            catch = by_engine.get(outcome.engine)
            if catch is not None and outcome.verdict in CAUGHT:
                (catch.properties if outcome.kind == "property" else catch.examples).append(outcome.case)
    return list(catches.values())


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
    report_dir = (
        Path(args.report_dir) if args.report_dir else Path(tempfile.mkdtemp(prefix="gradspec-mutants-"))
    )
    report_dir.mkdir(parents=True, exist_ok=True)
    try:
        catches = run_zoo(
            args.mutant or None, args.profile, report_dir / "mutants.jsonl", first_catch=args.first_catch
        )
    except KeyError as exc:
        print(f"gradspec: error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([c.as_json() for c in catches], indent=2))
    else:
        print_table(catches)
    return 0 if all(c.caught for c in catches) else 1


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "mutants",
        help="run the suite against the zoo of broken engines and show what caught each",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("--profile", default="ci", help="hypothesis profile (dev, ci, thorough; default ci)")
    parser.add_argument(
        "--mutant", action="append", default=[], metavar="NAME", help="only this mutant; repeatable"
    )
    parser.add_argument(
        "--first-catch",
        action="store_true",
        help="stop each mutant's run at the first case that catches it (faster)",
    )
    parser.add_argument(
        "--report-dir", metavar="DIR", help="where the result streams go (default: a temporary folder)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=cmd_mutants)
