"""A ci example depends on the profile and seed, never on which modules happen to be loaded."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradspec.spec import profiles

providers = pytest.importorskip("hypothesis.internal.conjecture.providers")


def _module_source(base: float) -> str:
    """An engine module with 200 unusual float and integer literals of its own."""
    items = "".join(f"    {base + k}, {int(base) + 7 * k},\n" for k in range(200))
    return f"UNUSUAL = (\n{items})\n"


def _ci_draws() -> list[object]:
    seen: list[object] = []

    @settings(settings.get_profile("ci"), max_examples=200)
    @given(st.lists(st.floats(allow_nan=False) | st.integers(), min_size=20, max_size=20))
    def collect(value: object) -> None:
        seen.append(value)

    collect()
    return seen


def _import_local_module(folder: Path, name: str, base: float) -> None:
    (folder / f"{name}.py").write_text(_module_source(base))
    sys.path.insert(0, str(folder))
    try:
        importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def test_loading_a_module_with_new_literals_changes_no_ci_example(tmp_path: Path) -> None:
    before = _ci_draws()
    _import_local_module(tmp_path, "engine_with_literals", 987654.321)
    assert _ci_draws() == before
    assert providers._get_local_constants().floats == set()


def test_without_the_patch_hypothesis_would_draw_the_loaded_literals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the patch is what keeps the examples fixed (fails if hypothesis drops the feature)."""
    assert profiles.hypothesis_source_constants is not None
    monkeypatch.setattr(providers, "_get_local_constants", profiles.hypothesis_source_constants)
    providers.CONSTANTS_CACHE.cache.clear()
    before = _ci_draws()
    _import_local_module(tmp_path, "engine_with_other_literals", 123456.789)
    after = _ci_draws()
    assert 123456.789 in providers._get_local_constants().floats, "hypothesis no longer reads local literals"
    assert after != before  # the pool grew, so the same seed drew other examples
    monkeypatch.undo()
    assert profiles.draw_without_source_constants()
