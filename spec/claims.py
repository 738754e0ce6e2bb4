"""Claims: the note's statements as executable cases, with the metadata reports show.

A claim is registered with :func:`claim` next to the function that checks it. The
function takes the engine's torch-like namespace, conventionally named ``T``, and
raises :class:`~gradspec.spec.expect.ClaimViolation` when the engine answers
wrongly. The registry is filled by importing the section modules listed in
:data:`SECTIONS`, so the order of claims follows the note.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SPEC_VERSION = "3"
"""Bumped whenever a claim is added, removed or changes meaning; results from
different spec versions are never merged into one report."""

# Section modules in the order of the note (array-api-tests style: one module per
# section). Property-based modules are appended after the example sections.
SECTIONS: tuple[str, ...] = (
    "gradspec.spec.computation_graph",
    "gradspec.spec.backward",
    "gradspec.spec.grad",
    "gradspec.spec.autograd_rules",
    "gradspec.spec.gradient_rules",
    "gradspec.spec.logistic_regression",
    "gradspec.spec.prop_gradients",
    "gradspec.spec.prop_backward",
    "gradspec.spec.prop_grad",
    "gradspec.spec.prop_flags",
    "gradspec.spec.lifecycle",
    "gradspec.spec.prop_training",
)


class Level(StrEnum):
    """How far a claim reaches.

    ``core``: any engine that offers PyTorch's API must do this. ``pytorch``:
    PyTorch's own surface (grad_fn class names, error texts), which a faithful
    clone matches but a conforming engine need not.
    """

    CORE = "core"
    PYTORCH = "pytorch"


@dataclass(frozen=True)
class Claim:
    """One documented claim and the case that checks it."""

    id: str
    statement: str
    section: str
    level: Level
    needs: frozenset[str]
    check: Callable[[Any], None]
    module: str
    erratum: str | None = None
    kind: str = "example"

    def describe(self) -> dict[str, Any]:
        """The claim's metadata as plain data (for ``gradspec list --json`` and reports)."""
        return {
            "id": self.id,
            "statement": self.statement,
            "section": self.section,
            "level": self.level.value,
            "needs": sorted(self.needs),
            "erratum": self.erratum,
            "kind": self.kind,
            "module": self.module,
        }


_REGISTRY: dict[str, Claim] = {}


def claim(
    id: str,
    *,
    statement: str,
    section: str,
    level: Level = Level.CORE,
    needs: tuple[str, ...] = ("graph",),
    erratum: str | None = None,
    kind: str = "example",
) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Register the decorated function as the case for a claim.

    ``needs`` lists capabilities from :mod:`gradspec.spec.capabilities`; an engine
    without one of them reports the case as unsupported rather than failed.
    """

    def register(check: Callable[[Any], None]) -> Callable[[Any], None]:
        previous = _REGISTRY.get(id)
        # A module imported afresh (pytester, importlib.reload) re-registers its own
        # claims; only a second definition elsewhere is a real clash.
        if previous and (previous.module, previous.check.__qualname__) != (
            check.__module__,
            check.__qualname__,
        ):
            raise ValueError(f"claim id {id!r} is registered twice")
        _REGISTRY[id] = Claim(
            id=id,
            statement=statement,
            section=section,
            level=Level(level),
            needs=frozenset(needs),
            check=check,
            module=check.__module__,
            erratum=erratum,
            kind=kind,
        )
        return check

    return register


def all_claims() -> list[Claim]:
    """Every registered claim, grouped by the note's section in the note's order.

    Property claims cite the section whose claim they generalise, so they are
    listed (and reported) right after that section's example claims.
    """
    for module in SECTIONS:
        importlib.import_module(module)
    order = {module: i for i, module in enumerate(SECTIONS)}
    by_module = sorted(_REGISTRY.values(), key=lambda c: order.get(c.module, len(order)))
    first_seen: dict[str, float] = {}
    for c in by_module:
        first_seen.setdefault(c.section, len(first_seen))
    for section in list(first_seen):
        # A claim citing a whole section ("Important matters") follows its subsections.
        inside = [rank for other, rank in first_seen.items() if other.startswith(section + " ›")]
        if inside:
            first_seen[section] = max(inside) + 0.5
    return sorted(by_module, key=lambda c: first_seen[c.section])


def claims_in(module: str) -> list[Claim]:
    """The claims one section module defines, in definition order."""
    importlib.import_module(module)
    return [c for c in _REGISTRY.values() if c.module == module]


# Observations: values a case wants shown in reports (a training curve, the
# iteration at which accuracy passed) without making them part of the verdict.
_observations: ContextVar[dict[str, Any] | None] = ContextVar("observations", default=None)


def observe(key: str, value: Any) -> None:
    """Record ``value`` under ``key`` for the running case's outcome record."""
    sink = _observations.get()
    if sink is not None:
        sink[key] = value


@contextmanager
def observing() -> Iterator[dict[str, Any]]:
    """Collect what the case passes to :func:`observe` while the block runs."""
    sink: dict[str, Any] = {}
    token = _observations.set(sink)
    try:
        yield sink
    finally:
        _observations.reset(token)


# The running engine's capabilities, for property claims whose strategies draw only
# what the engine declares, and for a feature an example reaches that the engine
# does not offer (which is *unsupported*, never an error of the whole claim).
_capabilities: ContextVar[frozenset[str] | None] = ContextVar("capabilities", default=None)


class Unsupported(Exception):
    """The engine lacks a feature this case (or this example) needs.

    The plugin records the case as *unsupported* with this message, never as
    failed or errored: the engine was not asked anything it claims to offer.
    """


def engine_capabilities() -> frozenset[str] | None:
    """The capabilities of the engine the running case checks; None outside a run."""
    return _capabilities.get()


def offers(capability: str) -> bool:
    """Whether the running engine offers ``capability`` (True outside a run)."""
    declared = _capabilities.get()
    return declared is None or capability in declared


@contextmanager
def offering(capabilities: frozenset[str]) -> Iterator[None]:
    """Make ``capabilities`` the running engine's for the block (the plugin's job)."""
    token = _capabilities.set(frozenset(capabilities))
    try:
        yield
    finally:
        _capabilities.reset(token)
