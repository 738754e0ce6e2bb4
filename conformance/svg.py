"""Small inline-SVG charts for reports that must open with no network.

A report is one self-contained HTML file, so its pictures cannot come from a
plotting library's JavaScript or from image files beside it: each chart here is a
string of SVG markup to paste into the page. The charts are deliberately plain
(axes, ticks, grid, legend, data) and take plain data, so the conformance report
and the benchmark page draw with the same primitives:

- :func:`line_chart`: one polyline per :class:`Series`, linear or log axes
  (``log_x=True, log_y=True`` gives a log-log plot);
- :func:`scatter_chart`: points per group, with optional lines drawn over them
  (for example decision boundaries, clipped to the plot with :func:`clip_line`);
- :func:`bar_chart`: horizontal bars with optional error bars, linear or log.

Every label is escaped here, so text that came from an engine (its name, say) is
safe to embed; each function returns :class:`markupsafe.Markup`, which Jinja2
inserts as is and which is also a plain ``str``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE: tuple[str, ...] = (
    "#0072b2",  # blue
    "#d55e00",  # vermilion
    "#009e73",  # green
    "#cc79a7",  # purple
    "#e69f00",  # orange
    "#56b4e9",  # sky blue
    "#000000",  # black
    "#f0e442",  # yellow
)
"""Okabe-Ito colours: distinguishable with the common colour-vision deficiencies."""

FIXED_ENGINE_COLOURS: dict[str, str] = {
    "reference": PALETTE[0],
    "torch-cpu": PALETTE[1],
    "torch-cuda": PALETTE[2],
}
"""gradspec's own engines keep one colour in every chart of every page."""
BASELINE_COLOUR = "#8c8c8c"
"""Rows that are not engines (a hand-written NumPy floor) are grey wherever they appear."""


def engine_colours(names: Iterable[str], baselines: Iterable[str] = ()) -> dict[str, str]:
    """One colour per engine name, the same in every chart: gradspec's engines have fixed ones,
    other engines take the remaining palette colours in the order given, baselines are grey."""
    out = {name: BASELINE_COLOUR for name in baselines}
    free = [c for c in PALETTE if c not in FIXED_ENGINE_COLOURS.values()]
    extra = 0
    for name in names:
        if name in out:
            continue
        if name in FIXED_ENGINE_COLOURS:
            out[name] = FIXED_ENGINE_COLOURS[name]
        else:
            out[name] = free[extra % len(free)]
            extra += 1
    return out


Point = tuple[float, float]

_FONT = "font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\""
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    """A named sequence of ``(x, y)`` points.

    ``colour`` defaults to the next colour of :data:`PALETTE` by position.
    ``dashed`` and ``markers`` change how a line is drawn; in a scatter chart the
    points of a group are always drawn as markers.
    """

    label: str
    points: Sequence[Point]
    colour: str | None = None
    dashed: bool = False
    markers: bool = False


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value and optionally an interval ``[low, high]`` drawn as an error bar.

    ``text`` is the value label written after the bar (and after its whisker),
    with its unit; it defaults to the bare number. An ``unstable`` bar is drawn
    pale with a dashed outline, for a value the data cannot pin down.
    """

    label: str
    value: float
    colour: str | None = None
    low: float | None = None
    high: float | None = None
    text: str | None = None
    unstable: bool = False


class Scale:
    """Maps data values in ``domain`` to pixels in ``pixels``, linearly or logarithmically."""

    def __init__(self, domain: tuple[float, float], pixels: tuple[float, float], log: bool = False) -> None:
        lo, hi = domain
        if log and (lo <= 0 or hi <= 0):
            raise ValueError(f"a log scale needs a positive domain, got {domain}")
        if hi == lo:
            raise ValueError(f"an empty domain {domain}")
        self.domain = (lo, hi)
        self.pixels = pixels
        self.log = log

    def _t(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def __call__(self, value: float) -> float:
        lo, hi = (self._t(v) for v in self.domain)
        a, b = self.pixels
        return a + (self._t(value) - lo) / (hi - lo) * (b - a)

    def ticks(self, count: int = 5) -> list[float]:
        """Round values inside the domain: powers of ten on a log scale, 1-2-5 steps otherwise."""
        lo, hi = self.domain
        if self.log:
            first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
            powers = [10.0**k for k in range(first, last + 1)]
            if len(powers) >= 2:
                step = max(1, math.ceil(len(powers) / max(count, 2)))
                return powers[::step]
            extra = [m * 10.0**k for k in range(first - 1, last + 1) for m in (1, 2, 5)]
            return sorted(v for v in extra if lo <= v <= hi)
        step = _nice_step((hi - lo) / max(count, 1))
        start = math.ceil(lo / step - 1e-9)
        return [round(k * step, 12) for k in range(start, int(math.floor(hi / step + 1e-9)) + 1)]


def _nice_step(raw: float) -> float:
    power = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def format_number(value: float) -> str:
    """A short axis label: ``0.5``, ``200``, ``1e-05``, ``1.5k``, ``2M``."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6 and magnitude < 1e10:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e4 and magnitude < 1e6:
        return f"{value / 1e3:g}k"
    return f"{value:.4g}"


def auto_range(values: Iterable[float], log: bool = False, pad: float = 0.05) -> tuple[float, float]:
    """A domain that holds ``values``: whole decades on a log scale, padded by ``pad`` otherwise."""
    finite = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not finite:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if log:
        lo_k, hi_k = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return 10.0**lo_k, 10.0 ** max(hi_k, lo_k + 1)
    if lo == hi:
        spread = abs(lo) * 0.1 or 1.0
        return lo - spread, hi + spread
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def clip_line(a: float, b: float, c: float, x_range: Point, y_range: Point) -> tuple[Point, Point] | None:
    """The part of the line ``a*x + b*y + c = 0`` inside a box, or None if it misses the box.

    A linear classifier's decision boundary is such a line (``w0*x0 + w1*x1 + b = 0``);
    drawn clipped, a badly wrong boundary stays inside its plot.
    """
    (x0, x1), (y0, y1) = x_range, y_range
    found: list[Point] = []
    if b != 0:
        for x in (x0, x1):
            y = -(a * x + c) / b
            if y0 - 1e-12 <= y <= y1 + 1e-12:
                found.append((x, y))
    if a != 0:
        for y in (y0, y1):
            x = -(b * y + c) / a
            if x0 - 1e-12 <= x <= x1 + 1e-12:
                found.append((x, y))
    distinct: list[Point] = []
    for point in found:
        if all(math.dist(point, seen) > 1e-9 for seen in distinct):
            distinct.append(point)
    if len(distinct) < 2:
        return None
    return max(itertools.combinations(distinct, 2), key=lambda pair: math.dist(*pair))


def _usable(points: Iterable[Point], log_x: bool, log_y: bool) -> list[Point]:
    """Finite points that the axes can show (positive ones on a log axis)."""
    return [
        (float(x), float(y))
        for x, y in points
        if math.isfinite(x) and math.isfinite(y) and (x > 0 or not log_x) and (y > 0 or not log_y)
    ]


def _colour(series: Series | Bar, index: int) -> str:
    return series.colour or PALETTE[index % len(PALETTE)]


class _Canvas:
    """The frame shared by the x-y charts: margins, axes, grid, ticks, title, legend."""

    def __init__(
        self,
        *,
        title: str,
        width: int,
        height: int,
        x: Scale,
        y: Scale,
        x_label: str,
        y_label: str,
        legend: Sequence[LegendEntry],
    ) -> None:
        self.title, self.width, self.height = title, width, height
        self.x, self.y = x, y
        self.x_label, self.y_label = x_label, y_label
        self.legend = legend
        self.clip_id = f"gs-clip-{next(_ids)}"
        self.body: list[str] = []

    def render(self) -> Markup:
        left, top = self.x.pixels[0], self.y.pixels[1]
        right, bottom = self.x.pixels[1], self.y.pixels[0]
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}" '
            f'aria-label="{escape(self.title)}" {_FONT} font-size="12">',
            f"<title>{escape(self.title)}</title>",
            f'<text x="{left}" y="18" font-size="14" font-weight="600" fill="#222">'
            f"{escape(self.title)}</text>",
            f'<clipPath id="{self.clip_id}"><rect x="{left}" y="{top}" '
            f'width="{right - left}" height="{bottom - top}"/></clipPath>',
            f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
            'fill="#fff" stroke="#bbb"/>',
        ]
        for value in self.x.ticks():
            px = self.x(value)
            parts.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{bottom}" stroke="#eee"/>')
            parts.append(
                f'<text x="{px:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#444">'
                f"{escape(format_number(value))}</text>"
            )
        for value in self.y.ticks():
            py = self.y(value)
            parts.append(f'<line x1="{left}" y1="{py:.1f}" x2="{right}" y2="{py:.1f}" stroke="#eee"/>')
            parts.append(
                f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end" fill="#444">'
                f"{escape(format_number(value))}</text>"
            )
        parts.append(
            f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
            'fill="none" stroke="#999"/>'
        )
        parts.append(f'<g clip-path="url(#{self.clip_id})">{"".join(self.body)}</g>')
        if self.x_label:
            parts.append(
                f'<text x="{(left + right) / 2:.1f}" y="{bottom + 34}" text-anchor="middle" fill="#222">'
                f"{escape(self.x_label)}</text>"
            )
        if self.y_label:
            cy = (top + bottom) / 2
            parts.append(
                f'<text x="14" y="{cy:.1f}" text-anchor="middle" fill="#222" '
                f'transform="rotate(-90 14 {cy:.1f})">{escape(self.y_label)}</text>'
            )
        parts.extend(_legend(self.legend, left, 30, self.width - left - 10))
        parts.append("</svg>")
        return Markup("".join(parts))


LegendEntry = tuple[str, str, str]
"""(label, colour, swatch): swatch ``line``, ``dashed``, ``point`` or ``bar``, drawn as the data is."""


def _swatch(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "point":
        return f'<circle class="swatch-point" cx="{x + 10}" cy="{y}" r="4" fill="{colour}" opacity="0.7"/>'
    if kind == "bar":
        return f'<rect class="swatch-bar" x="{x + 3}" y="{y - 6}" width="14" height="12" fill="{colour}"/>'
    dash = ' stroke-dasharray="5 3"' if kind == "dashed" else ""
    return f'<line x1="{x}" y1="{y}" x2="{x + 20}" y2="{y}" stroke="{colour}" stroke-width="3"{dash}/>'


def _legend(entries: Sequence[LegendEntry], left: float, top: float, room: float) -> list[str]:
    """Legend items in rows under the title, wrapping at ``room`` pixels; each swatch looks like its data."""
    parts: list[str] = []
    x, y = left, top
    for label, colour, kind in entries:
        item = 30 + 7 * len(label)
        if x > left and x + item > left + room:
            x, y = left, y + 16
        parts.append(_swatch(kind, x, y, str(escape(colour))))
        parts.append(f'<text x="{x + 25}" y="{y + 4}" fill="#222">{escape(label)}</text>')
        x += item + 12
    return parts


def _legend_rows(labels: Sequence[str], room: float) -> int:
    rows, used = 1, 0.0
    for label in labels:
        item = 30 + 7 * len(label) + 12
        if used and used + item > room:
            rows, used = rows + 1, 0.0
        used += item
    return rows if labels else 0


def _frame(
    width: int, height: int, labels: Sequence[str], y_label: str
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Pixel extents (x from left to right, y from bottom to top) leaving room for text."""
    left = 62 if y_label else 48
    top = 30 + 16 * _legend_rows(labels, width - left - 10)
    return (left, width - 14), (height - 44, top)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    width: int = 520,
    height: int = 320,
    log_x: bool = False,
    log_y: bool = False,
    x_range: Point | None = None,
    y_range: Point | None = None,
) -> Markup:
    """One line per series on shared axes; ``log_x`` and ``log_y`` make either axis logarithmic.

    Points that an axis cannot show (non-finite, or not positive on a log axis)
    are left out rather than failing the whole chart. Ranges default to the data.
    """
    usable = [_usable(s.points, log_x, log_y) for s in series]
    every = [p for points in usable for p in points]
    x_domain = x_range or auto_range((p[0] for p in every), log_x, pad=0.0)
    y_domain = y_range or auto_range((p[1] for p in every), log_y)
    x_px, y_px = _frame(width, height, [s.label for s in series], y_label)
    canvas = _Canvas(
        title=title,
        width=width,
        height=height,
        x=Scale(x_domain, x_px, log_x),
        y=Scale(y_domain, y_px, log_y),
        x_label=x_label,
        y_label=y_label,
        legend=[(s.label, _colour(s, i), "dashed" if s.dashed else "line") for i, s in enumerate(series)],
    )
    for i, (line, points) in enumerate(zip(series, usable, strict=True)):
        colour = escape(_colour(line, i))
        coords = " ".join(f"{canvas.x(x):.1f},{canvas.y(y):.1f}" for x, y in points)
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        canvas.body.append(
            f'<polyline class="series" data-label="{escape(line.label)}" points="{coords}" fill="none" '
            f'stroke="{colour}" stroke-width="2" stroke-linejoin="round"{dash}/>'
        )
        if line.markers or len(points) == 1:
            canvas.body.extend(
                f'<circle cx="{canvas.x(x):.1f}" cy="{canvas.y(y):.1f}" r="3" fill="{colour}"/>'
                for x, y in points
            )
    return canvas.render()


def scatter_chart(
    groups: Sequence[Series],
    *,
    lines: Sequence[Series] = (),
    title: str,
    x_label: str = "",
    y_label: str = "",
    width: int = 520,
    height: int = 420,
    x_range: Point | None = None,
    y_range: Point | None = None,
    point_radius: float = 3.0,
) -> Markup:
    """Points per group as markers, then ``lines`` drawn over them as polylines.

    Colours run through :data:`PALETTE` across groups first, then lines, so a
    line never takes a group's colour by default. The ranges default to the
    points alone, so a line far off the data does not squash the picture.
    """
    usable = [_usable(g.points, False, False) for g in groups]
    every = [p for points in usable for p in points]
    x_domain = x_range or auto_range(p[0] for p in every)
    y_domain = y_range or auto_range(p[1] for p in every)
    all_series = [*groups, *lines]
    x_px, y_px = _frame(width, height, [s.label for s in all_series], y_label)
    canvas = _Canvas(
        title=title,
        width=width,
        height=height,
        x=Scale(x_domain, x_px),
        y=Scale(y_domain, y_px),
        x_label=x_label,
        y_label=y_label,
        legend=[
            (s.label, _colour(s, i), "point" if i < len(groups) else "dashed" if s.dashed else "line")
            for i, s in enumerate(all_series)
        ],
    )
    for i, (group, points) in enumerate(zip(groups, usable, strict=True)):
        colour = escape(_colour(group, i))
        canvas.body.append(
            f'<g class="points" data-label="{escape(group.label)}" fill="{colour}" fill-opacity="0.55">'
        )
        canvas.body.extend(
            f'<circle cx="{canvas.x(x):.1f}" cy="{canvas.y(y):.1f}" r="{point_radius}"/>' for x, y in points
        )
        canvas.body.append("</g>")
    for j, line in enumerate(lines, len(groups)):
        points = _usable(line.points, False, False)
        colour = escape(_colour(line, j))
        coords = " ".join(f"{canvas.x(x):.1f},{canvas.y(y):.1f}" for x, y in points)
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        canvas.body.append(
            f'<polyline class="series" data-label="{escape(line.label)}" points="{coords}" fill="none" '
            f'stroke="{colour}" stroke-width="2.5"{dash}/>'
        )
    return canvas.render()


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    value_label: str = "",
    width: int = 520,
    bar_height: int = 22,
    log: bool = False,
    value_range: Point | None = None,
    legend: Sequence[LegendEntry] = (),
    guide: float | None = None,
) -> Markup:
    """Horizontal bars, one per :class:`Bar`, labelled on the left (names read best that way).

    With ``log=True`` the value axis is logarithmic and bars start at the lower
    end of its range; bars with a value the axis cannot show are drawn empty and
    labelled with the value. Each value label sits past the end of its bar *and*
    of its whisker, so no line crosses it; the right margin is sized to hold the
    longest. ``guide`` draws a dashed vertical line at that value (1 on a chart
    of ratios: parity).
    """
    label_room = min(220, 16 + 7 * max((len(b.label) for b in bars), default=4))
    texts = [b.text if b.text is not None else format_number(b.value) for b in bars]
    text_room = 14 + 7 * max((len(t) for t in texts), default=4)
    ends = [v for b in bars for v in (b.value, b.low, b.high) if v is not None]
    if guide is not None:
        ends.append(guide)
    domain = value_range or (auto_range(ends, log) if log else (0.0, auto_range([0.0, *ends])[1]))
    legend_rows = _legend_rows([entry[0] for entry in legend], width - 18) if legend else 0
    top = 30 + 16 * legend_rows
    height = top + len(bars) * (bar_height + 8) + 44
    scale = Scale(domain, (label_room, max(label_room + 80, width - text_room)), log)
    base = scale(domain[0])
    right = scale(domain[1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{escape(title)}" {_FONT} font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="18" font-size="14" font-weight="600" fill="#222">{escape(title)}</text>',
    ]
    if legend:
        parts.extend(_legend(legend, 8, 32, width - 18))
    bottom = height - 44
    for value in scale.ticks():
        px = scale(value)
        parts.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{bottom}" stroke="#eee"/>')
        parts.append(
            f'<text x="{px:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#444">'
            f"{escape(format_number(value))}</text>"
        )
    for i, (bar, text) in enumerate(zip(bars, texts, strict=True)):
        y = top + 4 + i * (bar_height + 8)
        colour = escape(_colour(bar, i))
        shown = math.isfinite(bar.value) and (bar.value > 0 or not log)
        end = min(max(scale(bar.value), base), right) if shown else base
        style = (
            f'fill="{colour}" fill-opacity="0.3" stroke="{colour}" stroke-dasharray="4 2"'
            if bar.unstable
            else f'fill="{colour}"'
        )
        parts.append(
            f'<text x="{label_room - 8}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end" fill="#222">'
            f"{escape(bar.label)}</text>"
        )
        parts.append(
            f'<rect class="bar{" unstable" if bar.unstable else ""}" data-label="{escape(bar.label)}" '
            f'x="{base:.1f}" y="{y}" width="{max(end - base, 0):.1f}" height="{bar_height}" {style}/>'
        )
        text_x = end
        if bar.low is not None and bar.high is not None and shown:
            lo, hi = (min(max(scale(v), base), right) for v in (bar.low, bar.high))
            mid = y + bar_height / 2
            parts.append(
                f'<path class="whisker" d="M{lo:.1f},{mid - 5:.1f}V{mid + 5:.1f}M{lo:.1f},{mid:.1f}H{hi:.1f}'
                f'M{hi:.1f},{mid - 5:.1f}V{mid + 5:.1f}" stroke="#222" fill="none"/>'
            )
            text_x = max(end, hi)
        parts.append(
            f'<text class="value" x="{text_x + 6:.1f}" y="{y + bar_height / 2 + 4:.1f}" fill="#222">'
            f"{escape(text)}</text>"
        )
    if guide is not None and domain[0] < guide < domain[1]:
        gx = scale(guide)
        parts.append(
            f'<line class="guide" x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{bottom}" stroke="#555" '
            'stroke-dasharray="4 3"/>'
        )
    parts.append(
        f'<line x1="{base:.1f}" y1="{top}" x2="{base:.1f}" y2="{bottom}" stroke="#999"/>'
        f'<line x1="{base:.1f}" y1="{bottom}" x2="{right:.1f}" y2="{bottom}" stroke="#999"/>'
    )
    if value_label:
        parts.append(
            f'<text x="{(base + right) / 2:.1f}" y="{bottom + 34}" text-anchor="middle" '
            f'fill="#222">{escape(value_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
