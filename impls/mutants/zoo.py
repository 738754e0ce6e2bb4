"""The zoo's machinery: a mutant is the reference engine with one realistic bug.

Each mutant runs on its own private import of the reference package (the same
source files, loaded under another module name), and its ``session`` patches
one rule or one small function of that copy around every case and restores it
afterwards. The copy is what keeps the differential properties honest: they
compare the engine under test with ``reference``, and if a mutant patched the
real reference package, the oracle would carry the same bug.

A mutant is declared with :func:`mutant` in one of the flat modules beside this
one (``backward_bugs``, ``rule_bugs``, ``narrow_bugs``, ``graph_bugs``, ``training_bugs``); its
docstring-like ``bug`` text says what is wrong and ``where`` the one place the
bug lives. It loads as an engine through ``gradspec.impls.mutants.zoo:<name>``
(dashes as underscores), so ``gradspec run --engine`` takes it like any other.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from gradspec.conformance.engine import Engine
from gradspec.spec.capabilities import ALL_CAPABILITIES

REFERENCE = "gradspec.impls.reference"
MODULES = ("backward_bugs", "rule_bugs", "narrow_bugs", "graph_bugs", "training_bugs")

Patch = Callable[[ModuleType], AbstractContextManager[Any]]


@dataclass(frozen=True)
class Mutant:
    """One deliberately broken engine: a name, the bug, where it lives, and its patch."""

    name: str
    bug: str
    where: str
    patch: Patch
    narrow: bool = False  # wrong for one op under one condition only (see narrow_bugs)

    @property
    def engine_name(self) -> str:
        return f"mutant-{self.name}"

    @property
    def spec(self) -> str:
        """What ``gradspec run --engine`` takes to load this mutant."""
        return f"{__name__}:{self.name.replace('-', '_')}"

    def engine(self) -> Engine:
        copy = private_reference(self.name)
        with self.patch(copy):  # fail at load time, not in every case, if the bug cannot be planted
            pass
        return Engine(
            name=self.engine_name,
            namespace=copy,
            version=getattr(copy, "__version__", "unknown"),
            capabilities=ALL_CAPABILITIES,
            session=lambda: self.patch(copy),
            description=f"reference engine with one bug in {self.where}: {self.bug}",
        )


_ZOO: dict[str, Mutant] = {}


def mutant(name: str, *, bug: str, where: str, narrow: bool = False) -> Callable[[Patch], Patch]:
    """Register the decorated patch (reference copy -> context manager) as a mutant.

    ``narrow`` marks a bug confined to one op under one condition (or one
    situation of one feature), the kind a suite misses when its strategies
    never reach that combination.
    """

    def register(patch: Patch) -> Patch:
        if name in _ZOO:
            raise ValueError(f"mutant {name!r} is registered twice")
        _ZOO[name] = Mutant(name, bug, where, patch, narrow)
        return patch

    return register


def zoo() -> dict[str, Mutant]:
    """Every mutant, by name, grouped by module in :data:`MODULES` order."""
    for module in MODULES:
        importlib.import_module(f"{__package__}.{module}")
    rank = {f"{__package__}.{m}": i for i, m in enumerate(MODULES)}
    ordered = sorted(_ZOO.values(), key=lambda m: rank.get(m.patch.__module__, len(rank)))
    return {m.name: m for m in ordered}


CONTROL = "unmutated"


def unmutated() -> Engine:
    """The control: a private copy of the reference exactly as every mutant gets it, with no bug.

    A case that fails on it fails on every mutant for a reason that is no
    mutant's bug (a reference engine being fixed, or the zoo machinery itself),
    so ``gradspec mutants`` runs it first and does not count those cases as kills.
    """
    copy = private_reference(CONTROL)
    return Engine(
        name=f"mutant-{CONTROL}",
        namespace=copy,
        version=getattr(copy, "__version__", "unknown"),
        capabilities=ALL_CAPABILITIES,
        description="a private copy of the reference engine with no bug planted (the zoo's control)",
    )


def __getattr__(attr: str) -> Callable[[], Engine]:
    # ``zoo:grad_overwrites`` names the factory of the mutant "grad-overwrites".
    mutants = zoo()
    name = attr.replace("_", "-")
    if name not in mutants:
        raise AttributeError(f"no mutant {name!r}; the zoo has {', '.join(mutants)}")
    return mutants[name].engine


@cache
def private_reference(label: str) -> ModuleType:
    """A fresh import of the reference package under its own name, shared with nothing."""
    origin = importlib.util.find_spec(REFERENCE)
    assert origin is not None and origin.origin is not None
    alias = f"_gradspec_mutant_{label.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(
        alias, origin.origin, submodule_search_locations=origin.submodule_search_locations
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module  # relative imports inside the copy resolve to the copy
    spec.loader.exec_module(module)
    return module


# -- patching helpers ----------------------------------------------------------------


@contextmanager
def replaced(owner: Any, attr: str, new: Any) -> Iterator[None]:
    """Set ``owner.attr = new`` for the block, then put the original back."""
    old = getattr(owner, attr)
    setattr(owner, attr, new)
    try:
        yield
    finally:
        setattr(owner, attr, old)


@cache
def edited(function: Callable[..., Any], old: str, new: str) -> Callable[..., Any]:
    """``function`` recompiled from its source with the line fragment ``old`` replaced by ``new``.

    For a bug inside a longer function (the backward loop) that has no mutation
    point of its own. Fails loudly when the fragment is gone, so a change to the
    reference cannot silently turn a mutant into a copy of the reference.
    Cached, so every case sees the same edited function.
    """
    source = textwrap.dedent(inspect.getsource(function))
    if source.count(old) != 1:
        raise LookupError(f"{function.__qualname__}: expected {old!r} exactly once in its source")
    namespace: dict[str, Any] = {}
    module = sys.modules[function.__module__]
    exec(
        compile(source.replace(old, new), inspect.getsourcefile(function) or "<mutant>", "exec"),
        module.__dict__,
        namespace,
    )  # noqa: S102
    return namespace[function.__name__]
