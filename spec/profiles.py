"""Hypothesis settings profiles for the property-based claims.

Chosen with ``HYPOTHESIS_PROFILE=<name>`` or hypothesis's own
``--hypothesis-profile <name>``; ``dev`` is the default. Numbers live here and
nowhere else, so "how hard does the suite search" is one decision.

- ``dev``: quick feedback while writing an engine.
- ``ci``: derandomized (the same examples every run, so a red CI is
  reproducible), no deadline (shared machines are noisy), sized to keep the
  whole suite on reference plus torch-cpu within about a minute on 2 cores.
  30 random examples a property: each property then runs seeded top-up examples
  for the (op, condition) pairs they missed (spec/catalogue.py), which is what
  guarantees coverage; more random examples would mostly repeat reached pairs.
- ``thorough``: about ten times the search of ``ci``, for release checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, Phase, settings

_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.differing_executors],
}

settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=30, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=500, **_COMMON)

PROFILES = ("dev", "ci", "thorough")


hypothesis_source_constants = None
"""Hypothesis's own lookup of source literals, kept so a test can show what the patch prevents."""


def draw_without_source_constants() -> bool:
    """Make what a property draws depend on its profile and seed only; True if a patch was needed.

    Since 6.131 hypothesis mixes number and string literals from the source of every
    local (not site-packages) module already imported into what it draws. In a
    gradspec worker that pool grows with whatever is loaded: the engine's adapter or
    module, the cases that ran before. So a derandomized ``ci`` example changed with
    ``--case`` and with the engine under test (Paddle's full run and a one-case run of
    the same property drew different graphs), and two engines were not tested on the
    same inputs. Hypothesis has no setting for it; its private lookup is replaced by
    an empty pool where it exists (tests/test_determinism.py fails if that stops
    working).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - hypothesis moved it: the test says so
        return False
    global hypothesis_source_constants
    if not hasattr(providers, "_get_local_constants"):
        return False
    if hypothesis_source_constants is None:
        hypothesis_source_constants = providers._get_local_constants
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None:
        cache.cache.clear()
    return True


draw_without_source_constants()


def without_shrinking(name: str) -> str:
    """Register (once) and return ``<name>-noshrink``: profile ``name`` minus the shrink phase.

    ``gradspec mutants`` only needs to know *whether* a property catches a broken
    engine; shrinking each counterexample would multiply its running time.
    """
    derived = f"{name}-noshrink"
    base = settings.get_profile(name)
    phases = tuple(p for p in base.phases if p is not Phase.shrink)
    settings.register_profile(derived, base, phases=phases, print_blob=False)
    return derived


def load_profile_from_env() -> str:
    """Load the profile HYPOTHESIS_PROFILE names (default ``dev``) and return its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    settings.load_profile(name)
    return name


# Loaded on import (the plugin imports this module first), so HYPOTHESIS_PROFILE
# works for `gradspec run`; hypothesis's own --hypothesis-profile, applied later
# in pytest_configure, still wins.
load_profile_from_env()


@contextmanager
def using_profile(name: str) -> Iterator[None]:
    """Load profile ``name`` for the block, then restore whichever profile was loaded before.

    Tests and ``gradspec mutants`` switch profiles inside one process; restoring a
    fixed name instead would silently change the search of every later run there.
    """
    previous = settings.get_current_profile_name()
    settings.load_profile(name)
    try:
        yield
    finally:
        settings.load_profile(previous)
