"""The HTML report: one self-contained page a person opens in any browser, offline.

It renders the report document (see :mod:`gradspec.conformance.json_report`) with
the Jinja2 template ``templates/report.html.j2``: styles inline, pictures as inline
SVG, no script at all. Autoescaping is on for the whole template, so anything an
engine returned (exception texts, reprs of wrong values, even its name) shows as
text; the only markup inserted unescaped is the SVG that :mod:`svg` builds, which
escapes its own labels.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
import textwrap
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gradspec.conformance import svg
from gradspec.conformance.json_report import PROBLEMS
from gradspec.conformance.outcomes import Verdict
from gradspec.spec.claims import SPEC_VERSION, all_claims
from gradspec.spec.training import REQUIRED_CORRECT, note_data

DETAILED = frozenset(v.value for v in PROBLEMS | {Verdict.EXPECTED_FAILURE})
"""Outcomes that get a details card: everything but pass and unsupported."""

VERDICT_HELP = {
    "pass": "the engine did what the claim says",
    "fail": "the engine answered wrongly",
    "error": "the engine raised where it should not",
    "unsupported": "the engine lacks a capability the case needs; not counted",
    "expected-failure": "failed, as the engine's expectations file says it will",
    "unexpected-pass": "passed, although the expectations file says it fails",
    "crash": "the process running the case died",
    "timeout": "the case ran past its time limit",
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gradspec.conformance", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["anchor"] = anchor
    env.filters["shown"] = shown
    env.filters["percent"] = percent
    env.filters["rounded"] = rounded
    return env


def anchor(*parts: str) -> str:
    """A stable HTML id for a case on an engine, whatever characters their names hold."""
    text = "\x1f".join(parts)
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
    return f"case-{slug}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def shown(value: Any) -> str:
    """An expected or actual value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    text = json.dumps(value, default=repr)
    return text if len(text) <= 100 else json.dumps(value, default=repr, indent=2)


def rounded(value: Any, digits: int = 4) -> str:
    """Numbers (alone or in lists) to ``digits`` significant digits, for captions."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(rounded(v, digits) for v in value) + "]"
    return str(value)


def percent(score: dict[str, Any]) -> str:
    return "n/a" if score["ratio"] is None else f"{100 * score['ratio']:.1f}%"


def _case_sources(spec_version: str | None) -> dict[str, str]:
    """Each claim's case, as source text, to show as the program when no counterexample was recorded."""
    if spec_version != SPEC_VERSION:
        return {}
    sources = {}
    for claim in all_claims():
        try:
            sources[claim.id] = textwrap.dedent(inspect.getsource(claim.check))
        except (OSError, TypeError):
            continue
    return sources


def _matrix(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Sections, each with its claims, each with one cell per engine (None where the claim did not run)."""
    cells = {(c["id"], c["engine"]): c for c in document["cases"]}
    engines = [e["name"] for e in document["engines"]]
    sections: list[dict[str, Any]] = []
    for claim in document["claims"]:
        if not sections or sections[-1]["name"] != claim["section"]:
            sections.append({"name": claim["section"], "rows": []})
        sections[-1]["rows"].append(
            {"claim": claim, "cells": [cells.get((claim["id"], engine)) for engine in engines]}
        )
    return sections


def _unsupported(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Per engine, each reason a case did not apply and the cases it covers."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for case in document["cases"]:
        if case["outcome"] == "unsupported":
            grouped.setdefault(case["engine"], {}).setdefault(case["message"], []).append(case["id"])
    return [
        {"engine": engine, "reasons": [{"reason": r, "cases": ids} for r, ids in reasons.items()]}
        for engine, reasons in grouped.items()
    ]


def engine_colours(names: list[str]) -> dict[str, str]:
    """One colour per engine, the same in every picture of the report and of the benchmark page."""
    return svg.engine_colours(names)


COINCIDE_FRACTION = 0.005
"""Curves closer than this fraction of the axis span everywhere are drawn on top of each other."""


def coinciding(curves: dict[str, list[float]], span: float) -> list[dict[str, Any]]:
    """Pairs of engines whose curves no reader could tell apart, with their largest difference.

    A chart where one engine's line hides another's looks like a missing engine;
    the caption says so instead. Curves of different lengths never coincide.
    """
    names = [n for n, values in curves.items() if values]
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if len(curves[a]) != len(curves[b]):
                continue
            gap = max(abs(x - y) for x, y in zip(curves[a], curves[b], strict=True))
            if gap <= COINCIDE_FRACTION * span:
                found.append({"engines": [a, b], "gap": gap})
    return found


def _errata_groups(errata: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errata table's rows: one per erratum text, listing every claim it applies to."""
    groups: dict[str, dict[str, Any]] = {}
    for item in errata:
        group = groups.setdefault(item["erratum"], {"erratum": item["erratum"], "claims": []})
        group["claims"].append(item)
    return list(groups.values())


def training_figures(document: dict[str, Any]) -> dict[str, Any] | None:
    """The logistic regression's pictures, from the first claim that recorded training.

    Returns None when no engine recorded a training run (for example a run of
    other sections only), so the report leaves the pictures out rather than
    drawing empty axes.
    """
    by_case: dict[str, dict[str, dict[str, Any]]] = {}
    for case in document["cases"]:
        training = case["observations"].get("training") if isinstance(case["observations"], dict) else None
        if isinstance(training, dict):
            by_case.setdefault(case["id"], {})[case["engine"]] = training
    if not by_case:
        return None
    case_id, runs = next(iter(by_case.items()))
    names = [e["name"] for e in document["engines"]]
    colours = engine_colours(names)
    engines = [n for n in names if n in runs]

    data = note_data()
    xs, labels = data["x"], data["y"]
    groups = [
        svg.Series(
            f"label {label:g}", [tuple(p) for p, y in zip(xs, labels, strict=True) if y == label], colour
        )
        for label, colour in ((0.0, "#9e9e9e"), (1.0, "#424242"))
    ]
    x_range = svg.auto_range(p[0] for p in xs)
    y_range = svg.auto_range(p[1] for p in xs)
    boundaries, missing = [], []
    for i, name in enumerate(engines):
        weight, bias = runs[name].get("weight") or [], runs[name].get("bias")
        segment = (
            svg.clip_line(weight[0], weight[1], bias, x_range, y_range)
            if len(weight) == 2 and isinstance(bias, (int, float))
            else None
        )
        if segment is None:
            missing.append(name)
            continue
        boundaries.append(svg.Series(name, list(segment), colours[name], dashed=i > 0))
    boundary = svg.scatter_chart(
        groups,
        lines=boundaries,
        title="Decision boundary w0·x0 + w1·x1 + b = 0 after training",
        x_label="x0",
        y_label="x1",
        x_range=x_range,
        y_range=y_range,
        width=560,
        height=460,
    )
    losses = [
        svg.Series(n, list(enumerate(runs[n].get("losses") or [], 1)), colours[n], dashed=i > 0)
        for i, n in enumerate(engines)
    ]
    highest = max((y for s in losses for _, y in s.points if math.isfinite(y)), default=1.0)
    loss_top = svg.auto_range([0.0, highest])[1]
    loss = svg.line_chart(
        losses,
        title="BCE loss per iteration",
        x_label="iteration",
        y_label="loss",
        y_range=(0.0, loss_top),  # from 0: a loss's distance from zero is what the eye compares
        width=540,
        height=250,
    )
    points = max((int(runs[n].get("points") or 0) for n in engines), default=0) or len(labels)
    accuracy_lines = [
        svg.Series(
            n,
            [(it, correct / points) for it, correct in runs[n].get("checks") or []],
            colours[n],
            dashed=i > 0,
            markers=True,
        )
        for i, n in enumerate(engines)
    ]
    most = max((len(r.get("losses") or []) for r in runs.values()), default=1)
    threshold = REQUIRED_CORRECT / points
    required = svg.Series(
        f"required {REQUIRED_CORRECT}/{points}", [(0, threshold), (most, threshold)], "#888", dashed=True
    )
    lowest = min((p[1] for s in accuracy_lines for p in s.points), default=0.5)
    bottom = min(lowest, 0.9) - 0.02
    # Room above 1.0, so the required line (199/200 sits just under 1) is clear of the frame.
    top = 1.0 + 0.12 * (1.0 - bottom)
    accuracy = svg.line_chart(
        [*accuracy_lines, required],
        title="Training accuracy (checked every 20 iterations)",
        x_label="iteration",
        y_label="fraction correct",
        y_range=(bottom, top),
        width=540,
        height=280,
    )
    loss_curves = {n: [float(v) for v in runs[n].get("losses") or []] for n in engines}
    accuracy_curves = {n: [p[1] for p in s.points] for n, s in zip(engines, accuracy_lines, strict=True)}
    boundary_curves = {s.label: [v for point in sorted(s.points) for v in point] for s in boundaries}
    box = max(x_range[1] - x_range[0], y_range[1] - y_range[0])
    return {
        "case": case_id,
        "others": [c for c in by_case if c != case_id],
        "boundary": boundary,
        "loss": loss,
        "accuracy": accuracy,
        "missing": missing,
        "runs": [{"engine": n, **runs[n]} for n in engines],
        "coincide": {
            "loss": coinciding(loss_curves, loss_top),
            "accuracy": coinciding(accuracy_curves, top - bottom),
            "boundary": coinciding(boundary_curves, box),
        },
    }


def render_html(document: dict[str, Any], bench_href: str | None = None) -> str:
    """The report page for ``document``; ``bench_href`` links the benchmark page when one exists."""
    colours = engine_colours([e["name"] for e in document["engines"]])
    problems = [c for c in document["cases"] if c["outcome"] in DETAILED]
    context = {
        "doc": document,
        "matrix": _matrix(document),
        "problems": problems,
        "sources": _case_sources(document["spec_version"]) if problems else {},
        "unsupported": _unsupported(document),
        "figures": training_figures(document),
        "colours": colours,
        "verdicts": [(v.value, VERDICT_HELP[v.value]) for v in Verdict],
        "detailed": DETAILED,
        "bench_href": bench_href,
        "errata": _errata_groups(document.get("errata") or []),
    }
    return _environment().get_template("report.html.j2").render(**context)
