"""spec/api.py documents every name the specification reaches for on ``T``.

Every claim (examples and properties) and every benchmark workload runs on the
reference engine seen through a proxy that records each attribute taken from the
namespace (``T.tensor``, and below it ``T.nn.Linear``, ``T.optim.SGD``,
``T.autograd.grad``). Each recorded name must be one that
:func:`gradspec.spec.api.documented_names` lists, so the subset written down in
``spec/api.py`` cannot fall behind what the cases use. Tensor methods and
operators are not recorded (that would mean proxying every tensor); what the
random programs of :mod:`gradspec.spec.strategies` may draw, which a few examples
need not reach, is read from the spellings and tables there instead.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest

from gradspec.conformance.loader import load_engine
from gradspec.spec import strategies
from gradspec.spec.api import SUBSET, documented_names
from gradspec.spec.capabilities import CAPABILITIES
from gradspec.spec.claims import all_claims
from gradspec.spec.profiles import using_profile
from gradspec.spec.workloads import WORKLOADS

SUBMODULES = ("nn", "optim", "autograd")
"""Namespaces under ``T`` whose own attributes are recorded as ``T.<sub>.<name>``."""

LARGEST_GRAPH = 1000
"""Workloads over bigger graphs use no other names, only more time."""


class Recording:
    """``target`` with every attribute taken from it added to ``seen`` as ``T.<path>``;
    ``T.nn`` and the other :data:`SUBMODULES` are recorded through what is taken from them."""

    def __init__(self, target: Any, path: str, seen: set[str]) -> None:
        self._target = target
        self._path = path
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        # Only names the engine has are recorded: hypothesis looks for hooks such as
        # ``execute_example`` on a test's first argument, and a miss is no use.
        value = getattr(self._target, name)
        path = f"{self._path}.{name}"
        if self._path == "T" and name in SUBMODULES:
            return Recording(value, path, self._seen)
        self._seen.add(path)
        return value


@pytest.fixture(scope="module")
def reference() -> Any:
    return load_engine("reference")


@pytest.fixture
def few_examples() -> Iterator[None]:
    """Three derandomized examples a property: the names used do not depend on how many."""
    from hypothesis import settings

    settings.register_profile(
        "gradspec-api-subset", settings.get_profile("dev"), max_examples=3, derandomize=True
    )
    with using_profile("gradspec-api-subset"):
        yield


def used_by_claims(engine: Any) -> set[str]:
    seen: set[str] = set()
    T = Recording(engine.namespace, "T", seen)
    for claim in all_claims():
        with engine.session():
            claim.check(T)  # the reference engine passes them all; a failure here is a bug to see
    return seen


def used_by_workloads(engine: Any) -> set[str]:
    seen: set[str] = set()
    T = Recording(engine.namespace, "T", seen)
    for workload in WORKLOADS:
        if (workload.nodes or 0) > LARGEST_GRAPH:
            continue
        with engine.session():
            trial = workload.prepare(T)
            if trial.setup is None:
                trial.run()
            else:
                state = trial.setup()
                trial.run(state)
                if trial.teardown is not None:
                    trial.teardown(state)
    return seen


def undocumented(used: set[str]) -> list[str]:
    return sorted(used - documented_names())


@pytest.mark.usefixtures("few_examples")
def test_every_name_the_claims_use_is_documented(reference: Any) -> None:
    used = used_by_claims(reference)
    assert {"T.tensor", "T.autograd.grad", "T.nn.Linear", "T.optim.SGD"} <= used  # the proxy records
    assert not undocumented(used), f"used by claims but missing from spec/api.py: {undocumented(used)}"


def test_every_name_the_workloads_use_is_documented(reference: Any) -> None:
    used = used_by_workloads(reference)
    assert "T.tensor" in used
    assert not undocumented(used), f"used by workloads but missing from spec/api.py: {undocumented(used)}"


def test_every_spelling_the_random_programs_may_draw_is_documented() -> None:
    source = inspect.getsource(strategies)
    functions = {f"T.{name}" for name in re.findall(r"\{ns\}\.(\w+)\(", source)}
    methods = set(re.findall(r"\{a\}\.(\w+)\(", source))
    losses = {f"T.nn.{loss}" for loss in strategies.LOSSES}
    assert functions and methods and losses
    documented = documented_names()
    # A method form (x.exp()) is documented as a Tensor method or as the namespace function.
    missing = sorted(
        (functions | losses) - documented
        | {f"Tensor.{m}" for m in methods if not {f"Tensor.{m}", f"T.{m}"} & documented}
    )
    assert not missing, f"drawn by spec/strategies.py but missing from spec/api.py: {missing}"


def test_every_sgd_option_the_training_properties_draw_is_documented() -> None:
    (sgd,) = [f for f in SUBSET if "T.optim.SGD(" in f.name]
    options = {option for variant in strategies.SGD_VARIANTS.values() for option in variant}
    assert options and all(f"{option}=" in sgd.name for option in options), sgd.name


def test_documented_names_are_read_from_the_subset() -> None:
    names = documented_names()
    assert {"T.tensor", "T.nn.MSELoss", "T.optim.SGD", "T.autograd.grad"} <= names
    assert {"Tensor.backward", "Tensor.detach"} <= names
    assert {"Linear.weight", "Module.parameters", "SGD.step"} <= names
    owners = ("T", "Tensor", "Module", "Linear", "Sequential", "SGD")
    assert all(name.split(".")[0] in owners and "(" not in name for name in names)


def test_every_feature_belongs_to_a_known_capability() -> None:
    assert {f.capability for f in SUBSET} <= set(CAPABILITIES)
