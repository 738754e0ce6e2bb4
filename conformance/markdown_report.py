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


def render_markdown(document: dict[str, Any], html_name: str | None = "report.html") -> str:
    """The summary for ``document``; ``html_name`` is the full report it points readers to."""
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
