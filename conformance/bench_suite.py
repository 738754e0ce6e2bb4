"""The benchmark items: one per (workload, engine), grouped by workload.

Collected only by ``gradspec bench`` (through :mod:`gradspec.conformance.bench`,
which plans the cases from ``--bench-engine``). The parameters are plain names so
that pytest-benchmark's JSON carries ``{"workload": ..., "engine": ...}`` as is.
"""

from __future__ import annotations

from typing import Any

import pytest

from gradspec.conformance.bench import plan_of, run_case


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"workload", "engine"} <= set(metafunc.fixturenames):
        cases = plan_of(metafunc.config).cases
        metafunc.parametrize(
            ("workload", "engine"),
            [(c.workload.name, c.engine_name) for c in cases],
            ids=[c.id for c in cases],
        )


def test_bench(benchmark: Any, request: pytest.FixtureRequest, workload: str, engine: str) -> None:
    run_case(benchmark, request.config, workload, engine)
