"""The supervisor's check of worker reports accepts every shape of facts a real worker sends."""

from __future__ import annotations

import pytest

from gradspec.conformance.facts import error_facts
from gradspec.conformance.integrity import _error_ok
from gradspec.conformance.plugin import _role  # the worker's own mapping of exceptions to roles
from gradspec.spec.expect import ClaimViolation


@pytest.mark.parametrize(
    "error",
    [
        ValueError("one"),
        ClaimViolation("x.grad", [2.0], [3.0]),
        # hypothesis raises a group when it finds several distinct failures
        ExceptionGroup("2 distinct failures", [ClaimViolation("y", 1, 2), ValueError("b")]),
        ExceptionGroup("nested", [ExceptionGroup("inner", [KeyError("k")]), TypeError("t")]),
    ],
)
def test_facts_of_real_errors_are_well_formed(error: BaseException) -> None:
    assert _error_ok(error_facts(error, _role))


def test_a_leaf_that_claims_leaves_of_its_own_is_refused() -> None:
    facts = error_facts(ExceptionGroup("g", [ValueError("a")]), _role)
    facts["leaves"][0]["leaves"] = [dict(facts["leaves"][0])]
    assert not _error_ok(facts)
