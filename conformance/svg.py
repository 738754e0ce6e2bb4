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
    """One bar: a label, a value and optionally an interval ``[low, high]`` drawn as an error bar."""

    label: str
    value: float
    colour: str | None = None
    low: float | None = None
    high: float | None = None


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
        legend: Sequence[tuple[str, str, bool]],
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


def _legend(entries: Sequence[tuple[str, str, bool]], left: float, top: float, room: float) -> list[str]:
    """Legend items (label, colour, dashed) in rows under the title, wrapping at ``room`` pixels."""
    parts: list[str] = []
    x, y = left, top
    for label, colour, dashed in entries:
        item = 30 + 7 * len(label)
        if x > left and x + item > left + room:
            x, y = left, y + 16
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        parts.append(
            f'<line x1="{x}" y1="{y}" x2="{x + 20}" y2="{y}" stroke="{escape(colour)}" '
            f'stroke-width="3"{dash}/>'
        )
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
        legend=[(s.label, _colour(s, i), s.dashed) for i, s in enumerate(series)],
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
        legend=[(s.label, _colour(s, i), s.dashed) for i, s in enumerate(all_series)],
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
) -> Markup:
    """Horizontal bars, one per :class:`Bar`, labelled on the left (names read best that way).

    With ``log=True`` the value axis is logarithmic and bars start at the lower
    end of its range; bars with a value the axis cannot show are drawn empty and
    labelled with the value.
    """
    label_room = min(220, 16 + 7 * max((len(b.label) for b in bars), default=4))
    ends = [v for b in bars for v in (b.value, b.low, b.high) if v is not None]
    domain = value_range or (auto_range(ends, log) if log else (0.0, auto_range([0.0, *ends])[1]))
    top = 30
    height = top + len(bars) * (bar_height + 8) + 44
    scale = Scale(domain, (label_room, width - 60), log)
    base = scale(domain[0])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{escape(title)}" {_FONT} font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="18" font-size="14" font-weight="600" fill="#222">{escape(title)}</text>',
    ]
    bottom = height - 44
    for value in scale.ticks():
        px = scale(value)
        parts.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{bottom}" stroke="#eee"/>')
        parts.append(
            f'<text x="{px:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#444">'
            f"{escape(format_number(value))}</text>"
        )
    for i, bar in enumerate(bars):
        y = top + 4 + i * (bar_height + 8)
        colour = escape(_colour(bar, i))
        shown = math.isfinite(bar.value) and (bar.value > 0 or not log)
        end = min(max(scale(bar.value), base), scale(domain[1])) if shown else base
        parts.append(
            f'<text x="{label_room - 8}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end" fill="#222">'
            f"{escape(bar.label)}</text>"
        )
        parts.append(
            f'<rect class="bar" data-label="{escape(bar.label)}" x="{base:.1f}" y="{y}" '
            f'width="{max(end - base, 0):.1f}" height="{bar_height}" fill="{colour}"/>'
        )
        if bar.low is not None and bar.high is not None and shown:
            lo, hi = (min(max(scale(v), base), scale(domain[1])) for v in (bar.low, bar.high))
            mid = y + bar_height / 2
            parts.append(
                f'<path d="M{lo:.1f},{mid - 5:.1f}V{mid + 5:.1f}M{lo:.1f},{mid:.1f}H{hi:.1f}'
                f'M{hi:.1f},{mid - 5:.1f}V{mid + 5:.1f}" stroke="#222" fill="none"/>'
            )
        parts.append(
            f'<text x="{end + 6:.1f}" y="{y + bar_height / 2 + 4:.1f}" fill="#222">'
            f"{escape(format_number(bar.value))}</text>"
        )
    parts.append(
        f'<line x1="{base:.1f}" y1="{top}" x2="{base:.1f}" y2="{bottom}" stroke="#999"/>'
        f'<line x1="{base:.1f}" y1="{bottom}" x2="{scale(domain[1]):.1f}" y2="{bottom}" stroke="#999"/>'
    )
    if value_label:
        parts.append(
            f'<text x="{(base + scale(domain[1])) / 2:.1f}" y="{bottom + 34}" text-anchor="middle" '
            f'fill="#222">{escape(value_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
