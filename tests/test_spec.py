"""The specification itself: every claim is complete, unique and cites the note."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradspec.spec.capabilities import ALL_CAPABILITIES
from gradspec.spec.claims import Level, all_claims
from gradspec.spec.training import note_data

NOTE_SECTIONS = ("Computation Graph", "Auto Gradient", "Logistic Regression")


def test_claims_have_stable_unique_ids_and_complete_metadata() -> None:
    claims = all_claims()
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids))
    for c in claims:
        assert re.fullmatch(r"[a-z]+(\.[a-z0-9-]+)+", c.id), c.id
        assert c.statement.endswith("."), c.id
        assert c.section.startswith(NOTE_SECTIONS), c.section
        assert c.needs <= ALL_CAPABILITIES, c.id
        assert isinstance(c.level, Level)


def test_the_documented_numbers_each_have_a_claim() -> None:
    """The product card's list: dy/dw = 5, leaf grads, double backward, grad_tensors,
    accumulation, the in-place leaf error, logistic regression above 99%."""
    ids = {c.id for c in all_claims()}
    for required in (
        "graph.dy-dw",
        "graph.leaf-grads-only",
        "backward.second-call-raises",
        "backward.grad-tensors-ones",
        "backward.grad-tensors-weights",
        "rules.accumulate",
        "inplace.leaf-raises",
        "logreg.sequential-converges",
        "logreg.module-converges",
    ):
        assert required in ids


def test_errata_are_recorded_where_the_note_is_imprecise() -> None:
    errata = {c.id for c in all_claims() if c.erratum}
    assert {
        "backward.grad-tensors-weights",
        "backward.second-call-raises",
        "rules.accumulate",
        "inplace.leaf-raises",
        "backward.non-scalar-message",
    } <= errata


def test_shipped_training_data_matches_the_notes_recipe() -> None:
    data = note_data()
    assert len(data["x"]) == 200 and all(len(p) == 2 for p in data["x"])
    assert data["y"] == [0.0] * 100 + [1.0] * 100
    # Class means are +-1.7 shifted by the bias 1: about (2.7, 2.7) and (-0.7, -0.7).
    mean0 = [sum(p[i] for p in data["x"][:100]) / 100 for i in range(2)]
    mean1 = [sum(p[i] for p in data["x"][100:]) / 100 for i in range(2)]
    assert all(2.3 < m < 3.1 for m in mean0) and all(-1.1 < m < -0.3 for m in mean1)
    assert len(data["initial_weight"]) == 1 and len(data["initial_weight"][0]) == 2


def test_the_note_is_not_copied_into_the_project() -> None:
    """Claims restate the note in our own words; no sentence of it is pasted in."""
    note = Path("/work/shared/seed/pytorch-study-note-2.txt")
    if not note.exists():
        pytest.skip("the note is not beside this checkout")
    sentences = {s.strip() for s in re.split(r"[.\n]", note.read_text()) if len(s.strip()) > 40}
    for c in all_claims():
        for text in (c.statement, c.erratum or ""):
            assert not any(s in text for s in sentences), c.id


def test_claims_are_grouped_by_section_in_the_notes_order() -> None:
    """Reports draw one block per section: each section's claims must be contiguous."""
    sections = [c.section for c in all_claims()]
    blocks = [s for i, s in enumerate(sections) if i == 0 or s != sections[i - 1]]
    assert len(blocks) == len(set(blocks)), blocks
    assert blocks[0] == "Computation Graph › From an example"
    assert blocks[-1].startswith("Logistic Regression")
    assert blocks.index("Auto Gradient › Important matters") > blocks.index(
        "Auto Gradient › Important matters › in-place operations"
    )


def test_the_claims_issue_11_adds_are_in_the_spec() -> None:
    by_id = {c.id: c for c in all_claims()}
    for required in (
        "inplace.non-leaf-derivative-counts",
        "inplace.view-of-non-leaf",
        "inplace.saved-tensor-error-exactly-when-saved",
        "inplace.scalar-product-saves-no-tensor",
        "grad.slot-keeps-dtype-and-shape",
        "grad.slot-does-not-require-grad",
        "grad.slot-per-leaf",
        "grad.stacked-0d-leaves-accumulate-separately",
        "graph.float32-kept-under-python-scalars",
        "graph.float32-kept-under-numpy-scalars",
        "backward.shared-subgraph-no-stale-gradient",
    ):
        assert required in by_id, required
    assert "PyTorch" in (by_id["grad.stacked-0d-leaves-accumulate-separately"].erratum or "")
    assert by_id["inplace.view-of-non-leaf"].erratum


def test_no_property_needs_no_grad_it_does_not_draw() -> None:
    """Graph properties draw no_grad points only where offered, so they do not need it."""
    for c in all_claims():
        if c.kind == "property" and c.id != "prop.sgd-trajectory-matches-reference":
            assert "no_grad" not in c.needs, c.id


def test_pytorchs_mixed_pow_derivative_at_a_zero_exponent_is_a_pytorch_level_claim() -> None:
    """PyTorch at y = 0 is pinned (the property skips the point), saying where mathematics differs."""
    from gradspec.spec.prop_gradients import SECOND_ORDER

    pinned = next(c for c in all_claims() if c.id == "grad.pow-mixed-second-derivative-at-zero-exponent")
    assert pinned.level is Level.PYTORCH
    assert "mathematics" in (pinned.erratum or "")
    assert not SECOND_ORDER.zero_exponents
