"""The conformance report's pictures and errata, on hand-made result streams.

What a reader misreads is what these check: two engines whose curves coincide
look like one engine unless the caption says so; a threshold line drawn on the
plot's frame is invisible; a loss axis without 0 exaggerates small differences;
a legend must show points as points; and an erratum shared by four claims is
one paragraph, not four copies of it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gradspec.conformance.html_report import coinciding, training_figures
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.reports import write_reports
from gradspec.conformance.results import ResultStream, read_results
from gradspec.spec.claims import all_claims
from gradspec.spec.training import REQUIRED_CORRECT

NS = {"s": "http://www.w3.org/2000/svg"}
CASE = "training.reaches-accuracy"


def training(losses: list[float], correct: list[int], weight: list[float], bias: float) -> dict[str, Any]:
    return {
        "losses": losses,
        "checks": [[20 * i, c] for i, c in enumerate(correct)],
        "weight": weight,
        "bias": bias,
        "points": 200,
        "iterations": len(losses),
        "passed_at": 20 * (len(correct) - 1),
    }


LOSSES = [0.9 * 0.99**i + 0.05 for i in range(100)]
SAME = training(LOSSES, [150, 190, 199], [-1.48, -1.7], 2.22)
OTHER = training([v * 1.4 for v in LOSSES], [120, 170, 199], [-1.0, -2.2], 1.5)


def document(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "engines": [{"name": name} for name in runs],
        "cases": [
            {"id": CASE, "engine": name, "observations": {"training": run}} for name, run in runs.items()
        ],
    }


def chart(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def test_curves_that_coincide_are_found_and_distinct_ones_are_not() -> None:
    found = coinciding({"a": [1.0, 2.0], "b": [1.0, 2.0 + 1e-7], "c": [1.5, 2.5]}, span=2.0)
    assert [p["engines"] for p in found] == [["a", "b"]]
    assert found[0]["gap"] == pytest.approx(1e-7)
    assert coinciding({"a": [1.0, 2.0], "b": [1.0]}, span=2.0) == []  # different lengths never coincide


def test_the_caption_says_when_two_engines_curves_coincide(tmp_path: Path) -> None:
    figures = training_figures(document({"reference": SAME, "torch-cpu": dict(SAME)}))
    assert figures is not None
    assert [p["engines"] for p in figures["coincide"]["loss"]] == [["reference", "torch-cpu"]]
    assert figures["coincide"]["accuracy"] and figures["coincide"]["boundary"]
    apart = training_figures(document({"reference": SAME, "torch-cpu": OTHER}))
    assert apart is not None and not any(apart["coincide"].values())


def test_the_loss_axis_starts_at_zero() -> None:
    figures = training_figures(document({"reference": SAME}))
    assert figures is not None
    root = chart(figures["loss"])
    labels = [t.text for t in root.iterfind(".//s:text", NS)]
    assert "0" in labels
    (line,) = root.iterfind(".//s:polyline", NS)
    lowest_px = max(float(p.split(",")[1]) for p in line.get("points", "").split())
    frame = [r for r in root.iterfind("s:rect", NS) if r.get("fill") == "none"][0]
    bottom = float(frame.get("y")) + float(frame.get("height"))
    assert bottom - lowest_px > 5  # the lowest loss (0.05+) sits visibly above the 0 line


def test_the_required_accuracy_line_is_clear_of_the_frame() -> None:
    figures = training_figures(document({"reference": SAME}))
    assert figures is not None
    root = chart(figures["accuracy"])
    frame = [r for r in root.iterfind("s:rect", NS) if r.get("fill") == "none"][0]
    top = float(frame.get("y"))
    required = next(
        p for p in root.iterfind(".//s:polyline", NS) if p.get("data-label", "").startswith("required")
    )
    ys = {float(p.split(",")[1]) for p in required.get("points", "").split()}
    assert len(ys) == 1 and next(iter(ys)) - top >= 10  # at least 10 px under the frame's top edge
    assert required.get("data-label") == f"required {REQUIRED_CORRECT}/200"


def test_the_class_legend_shows_points_as_points() -> None:
    figures = training_figures(document({"reference": SAME}))
    assert figures is not None
    markup = str(figures["boundary"])
    # two classes of points: two round swatches; the boundary line keeps a line swatch
    assert markup.count('class="swatch-point"') == 2
    legend_lines = re.findall(
        r'<line x1="[\d.]+" y1="30" x2="[\d.]+" y2="30" stroke="[^"]+" stroke-width="3"', markup
    )
    assert len(legend_lines) == 1


def stream(path: Path, outcomes: list[Outcome]) -> Path:
    writer = ResultStream(path, [{"name": "e", "version": "1", "device": "cpu"}], [])
    for outcome in outcomes:
        writer.write(outcome)
    writer.close()
    return path


def test_errata_are_grouped_by_erratum_with_every_claim_listed(tmp_path: Path) -> None:
    claims = [c for c in all_claims() if c.erratum]
    outcomes = [Outcome.of_claim(c, "e", Verdict.PASS) for c in claims]
    _, html, _ = write_reports(read_results(stream(tmp_path / "r.jsonl", outcomes)), tmp_path)
    page = html.read_text()
    shared = Counter(c.erratum for c in claims)
    rows = re.findall(r'<tr class="erratum">(.*?)</tr>', page, flags=re.S)
    assert len(rows) == len(shared)  # one row per distinct erratum
    biggest, count = shared.most_common(1)[0]
    row = next(r for r in rows if all(f'id="erratum-{c.id}"' in r for c in claims if c.erratum == biggest))
    assert row.count('id="erratum-') == count
    for c in claims:  # the matrix links every claim's erratum mark to an anchor that exists
        assert page.count(f'id="erratum-{c.id}"') == 1
