"""Property claims.

Registered as claims, pass on torch and reference, and show a runnable counterexample when broken.
"""

from __future__ import annotations

import pytest

from gradspec.spec.claims import all_claims
from gradspec.spec.profiles import using_profile

pytest.importorskip("torch")

PROPERTIES = [c for c in all_claims() if c.kind == "property"]


def test_every_issue_property_is_a_claim() -> None:
    ids = {c.id for c in PROPERTIES}
    for expected in (
        "prop.grad-matches-finite-differences",
        "prop.agrees-with-reference",
        "prop.backward-linear-in-gradient",
        "prop.retained-backward-accumulates",
        "prop.zeroed-grad-restarts",
        "prop.grad-sums-outputs",
        "prop.grad-leaves-grad-untouched",
        "prop.second-derivative-matches-finite-differences",
        "prop.requires-grad-follows-inputs",
        "prop.second-backward-raises-when-saved",
        "prop.lifecycle",
        "prop.sgd-trajectory-matches-reference",
    ):
        assert expected in ids


@pytest.mark.parametrize("engine_name", ["torch-cpu", "reference"])
@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda c: c.id)
def test_property_passes(engine_name: str, prop) -> None:  # noqa: ANN001
    from hypothesis import settings

    from gradspec.conformance.loader import load_engine

    engine = load_engine(engine_name)
    settings.register_profile(
        "gradspec-tests", settings.get_profile("dev"), max_examples=10, derandomize=True
    )
    with using_profile("gradspec-tests"), engine.session():
        prop.check(engine.namespace)


def test_failure_carries_a_runnable_counterexample() -> None:
    """A broken engine's failure names the program, and the program runs on torch."""
    from gradspec.impls.mutants.zoo import zoo
    from gradspec.spec.expect import ClaimViolation
    from gradspec.spec.profiles import without_shrinking

    prop = next(c for c in PROPERTIES if c.id == "prop.grad-matches-finite-differences")
    engine = zoo()["exp-derivative-of-input"].engine()
    with using_profile(without_shrinking("ci")), engine.session(), pytest.raises(ClaimViolation) as caught:
        prop.check(engine.namespace)
    program = caught.value.counterexample
    assert program.startswith("import torch")
    exec(program, {})  # noqa: S102 - runs on real torch
