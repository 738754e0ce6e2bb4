"""Coverage: under the ci profile every property reaches every (op, condition) pair it can express.

The catalogue of a property is read from its strategy's own tables
(spec/catalogue.py: the families its GraphSpace draws, the conditions each step kind
can meet, the dtypes it runs in), never from what a run happened to reach. Where
the random examples miss a pair, the strategy's seeded top-up examples must reach
it; a pair neither reaches fails here, and the fix belongs in the strategies.
"""

from __future__ import annotations

import json

import pytest

from gradspec.conformance.coverage import coverage_table, format_coverage, read_outcomes, write_coverage
from gradspec.spec.catalogue import CONDITIONS, graph_catalogue
from gradspec.spec.claims import all_claims, observing, offering
from gradspec.spec.profiles import using_profile
from gradspec.spec.strategies import FAMILY_KINDS, GraphSpace, seeded_graph

torch = pytest.importorskip("torch")

COVERED = [c for c in all_claims() if getattr(c.check, "coverage", None) is not None]


def test_every_graph_property_declares_its_coverage() -> None:
    ids = {c.id for c in COVERED}
    graph_properties = {c.id for c in all_claims() if c.kind == "property"} - {"prop.lifecycle"}
    assert graph_properties <= ids


def test_the_catalogue_is_the_strategy_tables() -> None:
    """Every kind a space's families draw appears with each of its conditions and dtypes."""
    space = GraphSpace(dtypes=("float64", "float32"))
    pairs = graph_catalogue(space)
    for family in space.families:
        for kind in FAMILY_KINDS[family]:
            assert {f"{kind}|{c}" for c in CONDITIONS[kind]} <= pairs, kind
            assert {f"{kind}|float64", f"{kind}|float32"} <= pairs, kind
    linear = graph_catalogue(GraphSpace(families=("binary-linear", "shape")))
    assert "add|in-place" not in linear and "mul|any" not in linear and "add|view" in linear


def test_an_engine_without_a_feature_gets_no_pair_of_it() -> None:
    caps = frozenset({"graph", "op.sum", "op.reshape", "dtype.float64"})
    with offering(caps):
        pairs = graph_catalogue(GraphSpace())
    kinds = {p.split("|")[0] for p in pairs}
    assert kinds <= {"add", "mul", "pow", "pow-tensor", "detach", "sum", "reshape", "expand"} | {"sum-dim"}
    assert not any(p.endswith("|0-d") or p.endswith("|in-place") for p in pairs)


@pytest.mark.parametrize("pair", sorted(graph_catalogue(GraphSpace(dtypes=("float64", "float32")))))
def test_each_pair_can_be_built(pair: str) -> None:
    kind, condition = pair.split("|")
    focus = f"{kind}|any" if condition in ("float64", "float32") else pair
    dtype = condition if condition in ("float64", "float32") else "float64"
    graphs = (seeded_graph(GraphSpace(dtypes=("float64", "float32")), [focus], seed) for seed in range(24))
    assert any(pair in g.coverage(dtype) for g in graphs)


@pytest.fixture(scope="module")
def ci_outcomes() -> list[dict]:
    """Every covered property run once on the reference engine under ci, as outcome records.

    What a property's examples reach is decided by the strategies and the engine's
    capabilities, not by its answers; the reference engine offers every capability
    and, unlike torch-cpu, never trips PyTorch's 0-d gradient aliasing bug, which
    depends on reference counts and so can fail a property at random.
    """
    from gradspec.conformance.loader import load_engine

    engine = load_engine("reference")
    outcomes = []
    with using_profile("ci"):
        for c in COVERED:
            with engine.session(), observing() as seen, offering(engine.capabilities):
                c.check(engine.namespace)
            outcomes.append({"case": c.id, "engine": engine.name, "observations": dict(seen)})
    return outcomes


def test_ci_reaches_every_pair_of_every_property(ci_outcomes: list[dict]) -> None:
    rows = coverage_table(ci_outcomes)
    assert {r["case"] for r in rows} == {c.id for c in COVERED}
    unreached = {r["case"]: r["unreached"] for r in rows if r["unreached"]}
    assert not unreached, format_coverage(rows)


def test_coverage_reports_are_written_and_read_back(ci_outcomes: list[dict], tmp_path) -> None:  # noqa: ANN001
    stream = tmp_path / "results.jsonl"
    stream.write_text("\n".join(json.dumps({"type": "outcome", **o}) for o in ci_outcomes) + "\n")
    json_path, md_path = write_coverage(read_outcomes(stream), tmp_path)
    rows = json.loads(json_path.read_text())["coverage"]
    assert len(rows) == len(COVERED)
    text = md_path.read_text()
    assert "| engine | property | reachable | reached |" in text and "prop.agrees-with-reference" in text


def test_a_record_without_coverage_is_left_out() -> None:
    rows = coverage_table([{"case": "graph.value", "engine": "e", "observations": {}}])
    assert rows == []
    row = coverage_table(
        [
            {
                "case": "p",
                "engine": "e",
                "observations": {"coverage": {"catalogue": ["a|x", "b|y"], "examples": {"a|x": 2}}},
            }
        ]
    )[0]
    assert row["unreached"] == ["b|y"] and row["reached"] == {"a|x": 2}
