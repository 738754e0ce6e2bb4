"""The Markdown summary: a short report for a pull-request comment or a CI job summary.

It renders the same report document as the HTML page, but only what fits a
comment: the verdict, the scores with their denominators, and each failure with
the command that reproduces it. Engine text is escaped for Markdown, since
GitHub and GitLab render inline HTML and table pipes from a comment's body.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from gradspec.conformance.html_report import DETAILED

MAX_LISTED = 25
"""Failures listed by name; beyond this the summary points at the HTML report."""

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^([#+\-!>=])")


def md_text(value: Any, limit: int = 300) -> str:
    """Text safe inside a Markdown paragraph or table cell: one line, specials escaped, shortened."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _LINE_START.sub(r"\\\1", _SPECIAL.sub(r"\\\1", text))


def md_code(value: Any, limit: int = 300) -> str:
    """An inline code span that holds any text, backticks included."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gradspec.conformance", "templates"),
        autoescape=False,  # Markdown: escaping is done by the md/code filters, per context
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_text
    env.filters["code"] = md_code
    env.filters["value"] = lambda v: v if isinstance(v, str) else json.dumps(v, default=repr)
    return env


def _extra_sections(document: dict[str, Any]) -> str:
    """Integrity problems and expected failures by kind: what a gate reviewer must see."""
    lines: list[str] = []
    problems = document.get("integrity") or []
    if problems:
        lines += ["", "### Integrity errors: the run cannot be trusted", ""]
        for problem in problems[:MAX_LISTED]:
            case = f" {md_code(problem['case'])}" if problem.get("case") else ""
            lines.append(f"- {md_text(problem['engine'])}{case}: {md_text(problem['message'], 200)}")
        if len(problems) > MAX_LISTED:
            lines.append(f"- … and {len(problems) - MAX_LISTED} more in report.json.")
    kinds = document.get("summary", {}).get("expected_failures_by_kind") or {}
    if kinds:
        listed = ", ".join(f"{n} {md_text(kind)}" for kind, n in kinds.items())
        lines += ["", f"Expected failures by kind: {listed}."]
    return "\n".join(lines) + "\n" if lines else ""


def render_markdown(document: dict[str, Any], html_name: str | None = "report.html") -> str:
    """The summary for ``document``; ``html_name`` is the full report it points readers to."""
    body = _render_template(document, html_name)
    extra = _extra_sections(document)
    if not extra:
        return body
    pointer = body.rfind("\n\nThe full report")
    if pointer < 0:
        return body + extra
    return body[:pointer] + "\n" + extra.rstrip("\n") + body[pointer:]


def _render_template(document: dict[str, Any], html_name: str | None) -> str:
    problems = [c for c in document["cases"] if c["outcome"] in DETAILED]
    return (
        _environment()
        .get_template("summary.md.j2")
        .render(
            doc=document,
            problems=problems[:MAX_LISTED],
            more=max(0, len(problems) - MAX_LISTED),
            levels=list(dict.fromkeys(c["level"] for c in document["claims"])),
            html_name=html_name,
        )
    )
