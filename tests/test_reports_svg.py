"""The inline-SVG chart primitives: scales, ticks, clipping, escaping, dropped points."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from gradspec.conformance import svg

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(markup: str) -> ET.Element:
    """Charts are well-formed XML (a browser's SVG parser is as strict)."""
    return ET.fromstring(markup)


def polyline_points(element: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in element.get("points", "").split()]


def test_linear_ticks_are_round_and_inside_the_domain() -> None:
    scale = svg.Scale((0.0, 1000.0), (0, 100))
    assert scale.ticks() == [0, 200, 400, 600, 800, 1000]
    assert svg.Scale((0.37, 0.99), (0, 100)).ticks() == [0.4, 0.6, 0.8]


def test_log_scale_maps_decades_evenly_and_ticks_at_powers_of_ten() -> None:
    scale = svg.Scale((1e-6, 1e-2), (0, 400), log=True)
    assert [round(scale(v)) for v in (1e-6, 1e-5, 1e-4, 1e-2)] == [0, 100, 200, 400]
    assert scale.ticks() == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
    narrow = svg.Scale((2.0, 9.0), (0, 100), log=True)
    assert narrow.ticks() == [2.0, 5.0]
    with pytest.raises(ValueError, match="positive"):
        svg.Scale((0.0, 1.0), (0, 1), log=True)


def test_auto_range_spans_whole_decades_on_log_axes_and_pads_linear_ones() -> None:
    assert svg.auto_range([3e-5, 0.2], log=True) == (1e-5, 1.0)
    lo, hi = svg.auto_range([0.0, 10.0])
    assert lo < 0 and hi > 10
    assert svg.auto_range([5.0, 5.0]) == (4.5, 5.5)
    assert svg.auto_range([math.nan, -1.0], log=True) == (1.0, 10.0)


def test_clip_line_gives_the_segment_inside_the_box() -> None:
    # x + y - 1 = 0 crosses the unit box from (0, 1) to (1, 0).
    segment = svg.clip_line(1, 1, -1, (0, 1), (0, 1))
    assert segment is not None and sorted(segment) == [(0, 1), (1, 0)]
    assert svg.clip_line(0, 1, -0.5, (0, 2), (0, 1)) == ((0, 0.5), (2, 0.5))  # horizontal
    assert svg.clip_line(1, 1, -10, (0, 1), (0, 1)) is None  # misses the box
    assert svg.clip_line(0, 0, 1, (0, 1), (0, 1)) is None  # not a line


def test_a_log_log_line_chart_drops_what_its_axes_cannot_show() -> None:
    chart = svg.line_chart(
        [svg.Series("engine", [(10, 1e-3), (100, 1e-2), (0, 1.0), (1000, math.nan), (1000, 1e-1)])],
        title="time per size",
        log_x=True,
        log_y=True,
    )
    root = parse(chart)
    (line,) = root.iterfind(".//s:polyline", NS)
    points = polyline_points(line)
    assert len(points) == 3  # x = 0 and the NaN are left out
    xs, ys = zip(*points, strict=True)
    assert xs == tuple(sorted(xs)) and ys == tuple(sorted(ys, reverse=True))  # up and to the right
    assert abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.2  # decades are evenly spaced
    labels = [t.text for t in root.iterfind(".//s:text", NS)]
    assert {"10", "100", "1000", "0.001", "0.1"} <= set(labels)


def test_every_label_is_escaped_and_the_result_is_markup() -> None:
    nasty = '<script>x</script> & "q"'
    for chart in (
        svg.line_chart([svg.Series(nasty, [(0, 0), (1, 1)])], title=nasty, x_label=nasty, y_label=nasty),
        svg.scatter_chart(
            [svg.Series(nasty, [(0, 0), (1, 1)])], lines=[svg.Series(nasty, [(0, 1), (1, 0)])], title=nasty
        ),
        svg.bar_chart([svg.Bar(nasty, 3.0)], title=nasty, value_label=nasty),
    ):
        assert isinstance(chart, Markup)
        assert "<script" not in chart
        root = parse(chart)  # escaping keeps it well-formed
        assert root.find("s:title", NS).text == nasty


def test_scatter_draws_every_point_and_lines_over_them() -> None:
    groups = [svg.Series("a", [(0, 0), (1, 1), (2, 2)]), svg.Series("b", [(0, 2)])]
    chart = svg.scatter_chart(groups, lines=[svg.Series("boundary", [(0, 2), (2, 0)])], title="t")
    root = parse(chart)
    assert len(list(root.iterfind(".//s:g[@class='points']/s:circle", NS))) == 4
    (line,) = root.iterfind(".//s:polyline", NS)
    assert line.get("stroke") == svg.PALETTE[2]  # after the two groups' colours
    # data is clipped to the plot area, so a wild line cannot draw over the axes
    assert root.find(".//s:g[@clip-path]", NS) is not None


def test_bars_are_proportional_with_error_bars() -> None:
    chart = svg.bar_chart(
        [svg.Bar("fast", 1.0, low=0.9, high=1.1), svg.Bar("slow", 4.0)], title="t", value_range=(0.0, 4.0)
    )
    root = parse(chart)
    widths = [float(r.get("width")) for r in root.iterfind(".//s:rect[@class='bar']", NS)]
    assert widths[1] == pytest.approx(4 * widths[0], rel=0.01)
    assert len(list(root.iterfind(".//s:path", NS))) == 1


def test_clip_ids_are_unique_so_charts_can_share_a_page() -> None:
    charts = [svg.line_chart([svg.Series("a", [(0, 0), (1, 1)])], title="t") for _ in range(3)]
    ids = [re.search(r'clipPath id="([^"]+)"', c).group(1) for c in charts]
    assert len(set(ids)) == 3


def test_value_labels_sit_past_the_whisker_with_their_unit() -> None:
    chart = svg.bar_chart(
        [svg.Bar("a", 1.0, low=0.5, high=3.5, text="1.00 ms"), svg.Bar("b", 4.0, low=3.9, high=4.1)],
        title="t",
    )
    root = parse(chart)
    values = list(root.iterfind(".//s:text[@class='value']", NS))
    assert [v.text for v in values] == ["1.00 ms", "4"]
    whiskers = list(root.iterfind(".//s:path[@class='whisker']", NS))
    for value, whisker in zip(values, whiskers, strict=True):
        right_end = max(float(x) for x in re.findall(r"[MH]([\d.]+)", whisker.get("d", "")))
        assert float(value.get("x")) > right_end  # no whisker runs through its label
    width = float(root.get("width"))
    assert all(float(v.get("x")) + 7 * len(v.text) <= width for v in values)  # and the label fits


def test_unstable_bars_are_drawn_pale_and_dashed() -> None:
    root = parse(svg.bar_chart([svg.Bar("x", 2.0, unstable=True), svg.Bar("y", 2.0)], title="t"))
    shaky, steady = root.iterfind(".//s:rect", NS)
    assert "unstable" in shaky.get("class") and shaky.get("stroke-dasharray")
    assert steady.get("class") == "bar" and steady.get("fill-opacity") is None


def test_legend_swatches_look_like_their_data() -> None:
    chart = svg.scatter_chart(
        [svg.Series("class 0", [(0, 0)]), svg.Series("class 1", [(1, 1)])],
        lines=[svg.Series("boundary", [(0, 1), (1, 0)], dashed=True)],
        title="t",
    )
    root = parse(chart)
    assert len(list(root.iterfind(".//s:circle[@class='swatch-point']", NS))) == 2
    (legend_line,) = [e for e in root.iterfind("s:line", NS) if e.get("stroke-width") == "3"]
    assert legend_line.get("stroke-dasharray")


def test_engine_colours_are_fixed_for_gradspecs_engines_and_distinct() -> None:
    colours = svg.engine_colours(["torch-cpu", "mine", "reference", "theirs"], baselines=["numpy"])
    assert colours["reference"] == svg.FIXED_ENGINE_COLOURS["reference"]
    assert colours["torch-cpu"] == svg.FIXED_ENGINE_COLOURS["torch-cpu"]
    assert colours["numpy"] == svg.BASELINE_COLOUR
    assert len({colours[n] for n in ("torch-cpu", "mine", "reference", "theirs")}) == 4
