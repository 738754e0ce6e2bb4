"""Engine loading and metadata probing."""

from __future__ import annotations

import sys
import textwrap

import pytest

from gradspec.conformance.engine import Engine
from gradspec.conformance.loader import EngineLoadError, load_engine, load_engines, registered_engines
from gradspec.conformance.probe import probe_capabilities
from gradspec.spec.capabilities import ALL_CAPABILITIES

torch = pytest.importorskip("torch")


def test_registered_names_include_the_builtin_engines() -> None:
    assert {"reference", "torch-cpu", "torch-cuda", "mygrad", "tinygrad"} <= set(registered_engines())


def test_torch_cpu_engine_metadata() -> None:
    engine = load_engine("torch-cpu")
    assert engine.name == "torch-cpu"
    assert engine.namespace is torch
    assert engine.device == "cpu"
    assert engine.version == torch.__version__
    assert engine.unavailable is None
    assert engine.capabilities == ALL_CAPABILITIES


def test_plain_torch_module_loads_unchanged_and_is_probed() -> None:
    engine = load_engine("torch")
    assert engine.namespace is torch
    assert engine.name == "torch"
    assert engine.version == torch.__version__
    assert engine.device == "cpu"
    assert engine.capabilities == ALL_CAPABILITIES
    assert "probed" in engine.description


def test_torch_cuda_without_cuda_is_unavailable_with_a_reason() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    engine = load_engine("torch-cuda")
    assert engine.unavailable is not None
    assert "no CUDA device here" in engine.unavailable


def test_module_attr_namespace_is_probed() -> None:
    engine = load_engine("tests.engines_for_tests:no_autograd")
    assert "autograd.grad" not in engine.capabilities
    assert "graph" in engine.capabilities


def test_declared_metadata_skips_probing() -> None:
    engine = load_engine("tests.engines_for_tests:declared")
    assert engine.name == "declared-graph-only"
    assert engine.capabilities == frozenset({"graph"})
    assert engine.version == "9.9"


def test_factory_is_called() -> None:
    engine = load_engine("tests.engines_for_tests:engine_factory")
    assert isinstance(engine, Engine)
    assert engine.name == "factory-made"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "no-such-engine",
            "unknown engine 'no-such-engine'; available: ",
        ),
        ("no_such_module_xyz", "unknown engine 'no_such_module_xyz'"),
        ("no_such_module_xyz:thing", "failed to import"),
        ("tests.engines_for_tests:missing", "has no attribute 'missing'"),
        ("tests.engines_for_tests:broken_import", "failed to start: RuntimeError: this engine cannot start"),
    ],
)
def test_unloadable_engines_give_one_line_reasons(spec: str, expected: str) -> None:
    with pytest.raises(EngineLoadError) as raised:
        load_engine(spec)
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_same_engine_twice_is_refused() -> None:
    with pytest.raises(EngineLoadError, match="given twice: torch-cpu"):
        load_engines(["torch-cpu", "torch-cpu"])


def test_probe_reports_nothing_for_an_empty_namespace() -> None:
    assert probe_capabilities(object()) == frozenset()


def test_entry_point_group_registers_third_party_engines(tmp_path, monkeypatch) -> None:
    """A package's entry point in gradspec.engines makes its engine loadable by name."""
    dist = tmp_path / "thirdparty_engine-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-engine\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gradspec.engines]\nthirdparty = thirdparty_engine_mod:make\n")
    (tmp_path / "thirdparty_engine_mod.py").write_text(
        textwrap.dedent(
            """
            import torch
            from gradspec.conformance.engine import Engine

            def make():
                return Engine(name="thirdparty", namespace=torch, version="1.0")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registered_engines()["thirdparty"] == "thirdparty_engine_mod:make"
    engine = load_engine("thirdparty")
    assert engine.name == "thirdparty"
    sys.modules.pop("thirdparty_engine_mod", None)


@pytest.mark.slow
def test_an_engine_hanging_while_it_loads_is_refused_not_waited_for() -> None:
    from gradspec.conformance.loader import describe_engines

    with pytest.raises(EngineLoadError, match="took longer than 1 s"):
        describe_engines(["tests.engines_for_tests:hangs_when_probed"], timeout=1)


@pytest.mark.slow
def test_engines_are_described_by_a_child_process_and_names_rechecked() -> None:
    from gradspec.conformance.loader import describe_engines

    specs, engines = describe_engines(["reference", "tests.engines_for_tests:declared"])
    assert specs == ["reference", "tests.engines_for_tests:declared"]
    assert [e["name"] for e in engines] == ["reference", "declared-graph-only"]
    with pytest.raises(EngineLoadError, match="may not contain"):
        describe_engines(["tests.engines_for_tests:bracket_named"])


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("torch-cpu", False),
        ("broken<mul>", False),
        ("a b", False),
        ("eng[1]", True),
        ("a\nb", True),
        ("", True),
        (" x", True),
        ("a\u200bb", True),
        ("x" * 101, True),
    ],
)
def test_engine_names_that_would_break_reports_are_refused(name: str, refused: bool) -> None:
    from gradspec.conformance.loader import name_problem

    assert (name_problem(name) is not None) is refused
