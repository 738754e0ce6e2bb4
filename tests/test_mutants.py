"""The zoo: at least 50 documented mutants (15 of them narrow), each loadable, each caught under ci.

Narrow mutants are also shown to be as narrow as they say: each is wrong on its
witness program and right on its control (impls/mutants/witnesses.py). The
measurement side (examples-to-kill, seeds, the kill-rate table) is checked on
a single property, so these tests stay fast; the whole zoo under the whole
suite is the slow test at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradspec.conformance.mutants_command import (
    Catch,
    KillRate,
    examples_to_kill,
    kill_rate_line,
    markdown_rates,
    measure,
    measuring_profile,
    run_zoo,
    slowest_first,
)
from gradspec.impls.mutants.witnesses import WITNESSES, same
from gradspec.impls.mutants.zoo import zoo

MUTANTS = zoo()
NARROW = sorted(n for n, m in MUTANTS.items() if m.narrow)


def test_zoo_size_and_documentation() -> None:
    assert len(MUTANTS) >= 50
    assert len(NARROW) >= 15
    for m in MUTANTS.values():
        assert m.bug and m.where, m.name


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_loads_and_differs_from_reference(name: str) -> None:
    """Loading plants the bug (or fails loudly) and leaves the real reference untouched."""
    from gradspec.conformance.loader import load_engine

    engine = load_engine(MUTANTS[name].spec)
    assert engine.name == f"mutant-{name}"
    reference = load_engine("reference")
    assert engine.namespace is not reference.namespace
    T = reference.namespace
    w = T.tensor([1.0], requires_grad=True)
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0]


def test_every_narrow_mutant_has_a_witness() -> None:
    assert sorted(WITNESSES) == NARROW


@pytest.mark.parametrize("name", NARROW)
def test_narrow_mutant_is_wrong_on_its_witness_and_right_on_its_control(name: str) -> None:
    from gradspec.conformance.loader import load_engine

    reference = load_engine("reference").namespace
    engine = MUTANTS[name].engine()
    witness = WITNESSES[name]

    def on_mutant(which: str) -> list[object]:
        try:
            with engine.session():
                return witness.run(engine.namespace, which)
        except Exception as exc:  # an error is a disagreement too
            return [f"raised {type(exc).__name__}"]

    assert not same(witness.run(reference, "witness"), on_mutant("witness")), "the witness does not expose it"
    assert same(witness.run(reference, "control"), on_mutant("control")), "wrong on the control: not narrow"


def test_witness_comparison_tolerates_rounding_only() -> None:
    assert same([[1.0, 2.0]], [[1.0 + 1e-9, 2.0]])
    assert not same([[1.0, 2.0]], [[1.0, 2.5]])
    assert not same([True], [False])
    assert not same(["torch.float32"], ["torch.float64"])


# -- measuring ------------------------------------------------------------------------------


def test_examples_to_kill_counts_the_examples_of_the_catching_property(tmp_path: Path) -> None:
    """A property catching a mutant is charged the examples it ran up to its first failure."""
    (catch,) = run_zoo(["sub-other-sign"], "ci", tmp_path / "r.jsonl", cases=["prop.agrees-with-reference"])
    assert catch.properties == ["prop.agrees-with-reference"]
    kill = catch.examples_to_kill["prop.agrees-with-reference"]
    assert kill >= 1
    assert not catch.examples  # only the property was selected


def test_measuring_profiles_apply_budget_and_seed_without_shrinking_or_database() -> None:
    from hypothesis import Phase, settings

    fixed = settings.get_profile(measuring_profile("ci", randomized=False, budget=None))
    assert fixed.derandomize and fixed.max_examples == settings.get_profile("ci").max_examples
    seeded = settings.get_profile(measuring_profile("ci", randomized=True, budget=7))
    assert not seeded.derandomize and seeded.max_examples == 7
    for profile in (fixed, seeded):
        assert Phase.shrink not in profile.phases and profile.database is None


def test_examples_to_kill_locates_hypothesis_failures_and_counts_top_ups_after_them() -> None:
    assert examples_to_kill((3, 2), 40) == 3  # the third example failed
    assert examples_to_kill((None, 50), 53) == 53  # three top-up examples after 50 passing ones
    assert examples_to_kill((None, 50), None) == 51


def test_seeded_runs_replay_properties_only_for_mutants_no_example_caught(tmp_path: Path) -> None:
    (rate,) = measure(["grad-overwrites"], "ci", 1, tmp_path, first_catch=True)
    assert rate.kills == {"ci": 1, "seed 0": 1}  # an example claim (gradients accumulate) catches it
    assert rate.catchers
    assert not (tmp_path / "seed-0.jsonl").exists()


def _rate(name: str, kills: dict[str, int | None], narrow: bool = False) -> KillRate:
    return KillRate(name, "bug", narrow, ["case"], kills)


def test_table_orders_survivors_then_slowest_kills() -> None:
    rates = [
        _rate("quick", {"ci": 1, "seed 0": 1}),
        _rate("slow", {"ci": 12, "seed 0": 40}),
        _rate("hole", {"ci": None, "seed 0": 3}),
    ]
    assert [r.mutant for r in slowest_first(rates)] == ["hole", "slow", "quick"]
    assert rates[1].median == 26 and rates[1].worst == 40
    assert rates[2].worst is None and rates[2].survived_in == ["ci"]
    line = kill_rate_line(rates)
    assert "<=1: 1/3" in line and "<=50: 2/3" in line
    table = markdown_rates(rates)
    assert table.index("| hole |") < table.index("| slow |") < table.index("| quick |")
    assert "**survived**" in table


def test_catch_kill_is_the_quickest_catcher() -> None:
    c = Catch("m", "bug", "where", properties=["p", "q"], examples_to_kill={"p": 7, "q": 3})
    assert c.caught and c.kill == 3
    assert Catch("m", "bug", "where").kill is None
    assert json.loads(json.dumps(c.as_json()))["kill"] == 3


ZOO_SHARDS = 2  # the zoo's ci run is the slow tier's longest test; halves spread over xdist workers


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(ZOO_SHARDS))
def test_every_mutant_caught_under_ci(tmp_path: Path, shard: int) -> None:
    names = sorted(zoo())[shard::ZOO_SHARDS]
    catches = run_zoo(names, "ci", tmp_path / "mutants.jsonl", first_catch=True)
    assert [c.mutant for c in catches] == names
    survivors = [c.mutant for c in catches if not c.caught]
    assert not survivors, f"mutants nothing caught: {survivors}"
