"""Hypothesis settings profiles for the property-based claims.

Chosen with ``HYPOTHESIS_PROFILE=<name>`` or hypothesis's own
``--hypothesis-profile <name>``; ``dev`` is the default. Numbers live here and
nowhere else, so "how hard does the suite search" is one decision.

- ``dev``: quick feedback while writing an engine.
- ``ci``: derandomized (the same examples every run, so a red CI is
  reproducible), no deadline (shared machines are noisy), sized to keep the
  whole suite on reference plus torch-cpu within about a minute on 2 cores.
- ``thorough``: about ten times the search of ``ci``, for release checks.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.differing_executors],
}

settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=25, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=250, **_COMMON)

PROFILES = ("dev", "ci", "thorough")


def load_profile_from_env() -> str:
    """Load the profile HYPOTHESIS_PROFILE names (default ``dev``) and return its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    settings.load_profile(name)
    return name
