"""The report builder: from a run's results to every report file, in one call.

``gradspec run`` calls :func:`write_reports` right after the run, with the
outcomes it streamed; ``gradspec report`` calls it with several streams merged.
The JSON document is built once and the HTML page and Markdown summary render
it, so the three files always agree. Text that cannot be UTF-8 (an engine's lone
surrogate in an old stream) is written as a backslash escape, never an error.
"""

from __future__ import annotations

from pathlib import Path

from gradspec.conformance.html_report import render_html
from gradspec.conformance.json_report import build_document, write_json
from gradspec.conformance.markdown_report import render_markdown
from gradspec.conformance.results import RunResults

JSON_NAME, HTML_NAME, MARKDOWN_NAME = "report.json", "report.html", "summary.md"
BENCH_NAME = "bench.html"
"""The benchmark page, written beside the reports by ``gradspec bench``; linked when present."""


def write_reports(results: RunResults, report_dir: Path) -> list[Path]:
    """Write report.json, report.html and summary.md for ``results`` into ``report_dir``.

    Returns the paths written, in that order. An empty run still gets reports,
    which say that nothing was verified.
    """
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    document = build_document(results)
    bench = BENCH_NAME if (report_dir / BENCH_NAME).exists() else None
    html_path = report_dir / HTML_NAME
    html_path.write_text(render_html(document, bench_href=bench), encoding="utf-8", errors="backslashreplace")
    markdown_path = report_dir / MARKDOWN_NAME
    markdown_path.write_text(
        render_markdown(document, html_name=HTML_NAME), encoding="utf-8", errors="backslashreplace"
    )
    return [write_json(document, report_dir / JSON_NAME), html_path, markdown_path]
