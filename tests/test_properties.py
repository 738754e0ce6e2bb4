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
    # No excuse for torch: the properties that backpropagate twice do not draw graphs
    # reaching PyTorch's leaf gradient aliasing bug (Graph.leaf_grads_may_alias), and the
    # second-derivative property draws no exponent of exactly 0 (docs/findings.md).
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


def _prop(claim_id: str):  # noqa: ANN202
    return next(c for c in PROPERTIES if c.id == claim_id)


def _run(claim_id: str, namespace, caps):  # noqa: ANN001, ANN202
    from gradspec.spec.claims import observing, offering

    with using_profile("ci"), observing() as seen, offering(frozenset(caps)):
        _prop(claim_id).check(namespace)
    return seen


def test_graph_properties_need_no_grad_only_where_they_use_it() -> None:
    """An engine without no_grad still gets the graph properties, and they draw no no_grad point."""
    import torch

    from gradspec.spec.capabilities import ALL_CAPABILITIES

    class NoNoGrad:
        def __getattr__(self, name: str):  # noqa: ANN204
            if name == "no_grad":
                raise AttributeError("module 'engine' has no attribute 'no_grad'")
            return getattr(torch, name)

    for claim_id in ("prop.requires-grad-follows-inputs", "prop.retained-backward-accumulates"):
        assert "no_grad" not in _prop(claim_id).needs
        seen = _run(claim_id, NoNoGrad(), ALL_CAPABILITIES - {"no_grad"})
        assert seen["examples"] > 0 and not seen.get("unsupported_examples")


def test_a_property_with_nothing_to_draw_is_unsupported_with_a_reason() -> None:
    import torch

    from gradspec.spec.claims import Unsupported

    with pytest.raises(Unsupported, match="op.sum"):
        _run("prop.grad-matches-finite-differences", torch, {"graph", "no_grad"})
    with pytest.raises(Unsupported, match="float64"):
        _run("prop.grad-matches-finite-differences", torch, {"graph", "op.sum"})
    seen = _run("prop.agrees-with-reference", torch, {"graph", "op.sum"})  # float32 only
    assert all(not p.endswith("float64") for p in seen["coverage"]["catalogue"])


def test_not_implemented_on_a_partial_engine_is_unsupported_for_those_examples_only() -> None:
    import torch

    from gradspec.spec.capabilities import ALL_CAPABILITIES
    from gradspec.spec.claims import Unsupported

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise NotImplementedError("exp is not implemented")

    class NoExp:
        def __getattr__(self, name: str):  # noqa: ANN204
            return refuse if name == "exp" else getattr(torch, name)

    partial = ALL_CAPABILITIES - {"op.cat"}
    seen = _run("prop.requires-grad-follows-inputs", NoExp(), partial)
    assert seen["unsupported_examples"] and seen["examples"] > sum(seen["unsupported_examples"].values())
    # The same exception from an engine declaring everything is an error of the engine.
    with pytest.raises(Exception) as raised:  # noqa: PT011
        _run("prop.requires-grad-follows-inputs", NoExp(), ALL_CAPABILITIES)
    assert not isinstance(raised.value, Unsupported)
