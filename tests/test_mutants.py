"""The zoo: at least 20 documented mutants, each loadable, each caught by the suite under ci."""

from __future__ import annotations

import pytest

from gradspec.impls.mutants.zoo import zoo

MUTANTS = zoo()


def test_zoo_size_and_documentation() -> None:
    assert len(MUTANTS) >= 20
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


def test_every_mutant_caught_under_ci(tmp_path) -> None:  # noqa: ANN001
    from gradspec.conformance.mutants_command import run_zoo

    catches = run_zoo(None, "ci", tmp_path / "mutants.jsonl", first_catch=True)
    survivors = [c.mutant for c in catches if not c.caught]
    assert not survivors, f"mutants nothing caught: {survivors}"
