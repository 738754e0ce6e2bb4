"""``gradspec scoreboard``: every engine side by side, like a conformance dashboard.

A report (``gradspec report``) tells one run's story in full; the scoreboard answers
the question an engine's user asks first: *which engines conform, how far, and
where do they differ?* It reads the result streams of several runs (one per
engine, or a few engines each, from any machine), and writes ``scoreboard.html``
(self-contained, autoescaped) and ``scoreboard.md``: per engine its version and
device, its score with the denominator, core and pytorch levels apart, how many
cases were unsupported (so a gate that verifies little shows as such), and its
expected failures by kind (a wrong gradient is not an error text); then the
claims x engines matrix.

Register it in the CLI by adding this module to ``COMMAND_MODULES`` in
conformance/cli.py.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gradspec.conformance import exitcodes
from gradspec.conformance.expectations import Kind
from gradspec.conformance.outcomes import Outcome, Verdict
from gradspec.conformance.results import ResultsError, RunResults, merge_results
from gradspec.conformance.score import Score

SHORT = {
    Verdict.PASS: "pass",
    Verdict.FAIL: "FAIL",
    Verdict.ERROR: "ERROR",
    Verdict.UNSUPPORTED: "n/a",
    Verdict.EXPECTED_FAILURE: "xfail",
    Verdict.UNEXPECTED_PASS: "XPASS",
    Verdict.CRASH: "CRASH",
    Verdict.TIMEOUT: "TIMEOUT",
}
"""How a matrix cell spells each verdict (loud where the gate fails)."""

KIND_ORDER = [k.value for k in Kind]


def expectation_kind(outcome: Outcome) -> str | None:
    """The kind an expected failure was listed with (None for any other outcome)."""
    if outcome.verdict is not Verdict.EXPECTED_FAILURE:
        return None
    expectation = (outcome.observations or {}).get("expectation") or {}
    kind = expectation.get("kind") if isinstance(expectation, dict) else None
    return kind if kind in KIND_ORDER else Kind.UNSPECIFIED.value


@dataclass
class Column:
    """One engine on the scoreboard."""

    name: str
    version: str
    device: str
    description: str
    score: Score = field(default_factory=Score)
    levels: dict[str, Score] = field(default_factory=dict)
    expected_by_kind: Counter[str] = field(default_factory=Counter)
    cells: dict[str, Outcome] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.score.add(outcome)
        self.levels.setdefault(outcome.level, Score()).add(outcome)
        kind = expectation_kind(outcome)
        if kind:
            self.expected_by_kind[kind] += 1
        self.cells[outcome.case] = outcome

    @property
    def total(self) -> int:
        return sum(self.score.counts.values())

    @property
    def gate_passes(self) -> bool:
        """Whether a plain gate (no --fail-under) passes: nothing unexpected, something applicable."""
        bad = {Verdict.FAIL, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT, Verdict.UNEXPECTED_PASS}
        return self.score.applicable > 0 and not any(self.score.counts[v] for v in bad)

    def expected_text(self) -> str:
        parts = [f"{self.expected_by_kind[k]} {k}" for k in KIND_ORDER if self.expected_by_kind[k]]
        return ", ".join(parts) or "none"


@dataclass
class Row:
    case: str
    statement: str
    section: str
    level: str


@dataclass
class Scoreboard:
    columns: list[Column]
    rows: list[Row]
    spec_version: str | None


def build_scoreboard(results: RunResults) -> Scoreboard:
    """The scoreboard of merged streams: engines in first-seen order, cases in the spec's order."""
    metadata = {engine["name"]: engine for engine in results.engines()}
    columns: dict[str, Column] = {}
    rows: dict[str, Row] = {}
    for outcome in results.outcomes:
        meta = metadata.get(outcome.engine, {})
        column = columns.get(outcome.engine)
        if column is None:
            column = columns[outcome.engine] = Column(
                name=outcome.engine,
                version=str(meta.get("version", "unknown")),
                device=str(meta.get("device", "")),
                description=str(meta.get("description", "")),
            )
        column.add(outcome)
        rows.setdefault(outcome.case, Row(outcome.case, outcome.statement, outcome.section, outcome.level))
    return Scoreboard(list(columns.values()), _in_spec_order(list(rows.values())), results.spec_version)


def _in_spec_order(rows: list[Row]) -> list[Row]:
    try:
        from gradspec.spec.claims import all_claims

        order = {claim.id: i for i, claim in enumerate(all_claims())}
    except Exception:  # noqa: BLE001 - without the spec, the streams' order stands
        order = {}
    return sorted(rows, key=lambda row: order.get(row.case, len(order)))


def cell_text(outcome: Outcome | None) -> str:
    """A matrix cell: the verdict, with the kind of an expected failure."""
    if outcome is None:
        return "—"
    kind = expectation_kind(outcome)
    return f"{SHORT[outcome.verdict]} ({kind})" if kind else SHORT[outcome.verdict]


def render_html(board: Scoreboard) -> str:
    env = Environment(
        loader=PackageLoader("gradspec.conformance", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "j2"), default=True),
        undefined=StrictUndefined,
    )
    env.globals.update(cell_text=cell_text, Verdict=Verdict)
    return env.get_template("scoreboard.html.j2").render(board=board)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(board: Scoreboard) -> str:
    lines = ["# gradspec scoreboard", ""]
    if board.spec_version:
        lines += [f"Spec version {board.spec_version}.", ""]
    lines += [
        "| engine | version | device | score (pass / applicable) | core | pytorch | unsupported | "
        "expected failures by kind | gate |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in board.columns:
        core = c.levels.get("core", Score()).text()
        pytorch = c.levels.get("pytorch", Score()).text()
        lines.append(
            f"| {_md(c.name)} | {_md(c.version)} | {_md(c.device)} | {c.score.text()} | {core} | "
            f"{pytorch} | {c.score.unsupported} of {c.total} | {c.expected_text()} | "
            f"{'passes' if c.gate_passes else 'fails'} |"
        )
    lines += ["", "| case | " + " | ".join(_md(c.name) for c in board.columns) + " |"]
    lines.append("| --- |" + " --- |" * len(board.columns))
    for row in board.rows:
        cells = " | ".join(cell_text(c.cells.get(row.case)) for c in board.columns)
        lines.append(f"| `{row.case}` | {cells} |")
    return "\n".join(lines) + "\n"


def write_scoreboard(board: Scoreboard, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    html, md = out_dir / "scoreboard.html", out_dir / "scoreboard.md"
    html.write_text(render_html(board), encoding="utf-8")
    md.write_text(render_markdown(board), encoding="utf-8")
    return [html, md]


EPILOG = """exit codes:
  0  scoreboard written
  2  a results stream is missing or malformed, or the streams come from different spec versions
"""


def cmd_scoreboard(args: argparse.Namespace) -> int:
    try:
        results = merge_results([Path(p) for p in args.results])
    except ResultsError as exc:
        return exitcodes.fail(str(exc))
    if not results.outcomes:
        return exitcodes.fail("no outcomes in the given results; nothing to put on a scoreboard")
    try:
        written = write_scoreboard(build_scoreboard(results), Path(args.out_dir))
    except OSError as exc:
        return exitcodes.fail(f"cannot write the scoreboard to {args.out_dir}: {exc}")
    print("gradspec: wrote " + ", ".join(str(p) for p in written))
    return exitcodes.OK


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``gradspec scoreboard`` on the CLI's subparsers."""
    parser = commands.add_parser(
        "scoreboard",
        help="every engine side by side from several runs' results (HTML and Markdown)",
        description="Read results.jsonl streams from several gradspec runs and write scoreboard.html "
        "and scoreboard.md: each engine's version, score with its denominator, unsupported count, "
        "expected failures by kind, and the claims x engines matrix.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="results.jsonl streams")
    parser.add_argument(
        "--out-dir", default="reports", metavar="DIR", help="where to write (default: reports/)"
    )
    parser.set_defaults(handler=cmd_scoreboard)
    return parser
