"""Coverage tables: which (op, condition) pairs each property's examples reached.

Property claims record ``observations["coverage"]`` in their outcome: the catalogue
of pairs the property can express on that engine, how many random examples reached
each pair, and how many seeded top-up examples reached the pairs the random ones
missed (spec/prop_support.py). This module only reads those records (as they stand
in results.jsonl or report.json) and never re-runs anything: it builds one table
per (engine, property), renders it as Markdown, and writes coverage.json and
coverage.md next to the other reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def _case(outcome: dict[str, Any]) -> str:
    return str(outcome.get("case") or outcome.get("id") or "?")


def coverage_table(outcomes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (engine, property) whose outcome carries coverage.

    Each row: ``engine``, ``case``, ``catalogue`` (pairs it can express), ``reached``
    (pair -> examples, random and top-up together), ``random`` and ``topped_up``
    (pair -> examples of each kind) and ``unreached`` (catalogue pairs no example hit).
    """
    rows = []
    for outcome in outcomes:
        record = (outcome.get("observations") or {}).get("coverage")
        if not isinstance(record, dict):
            continue
        random = {str(k): int(v) for k, v in (record.get("examples") or {}).items()}
        topped = {str(k): int(v) for k, v in (record.get("topped_up") or {}).items()}
        catalogue = sorted(str(p) for p in record.get("catalogue") or sorted(random))
        reached = {p: random.get(p, 0) + topped.get(p, 0) for p in sorted({*random, *topped})}
        rows.append(
            {
                "engine": str(outcome.get("engine", "?")),
                "case": _case(outcome),
                "catalogue": catalogue,
                "reached": reached,
                "random": random,
                "topped_up": topped,
                "unreached": [p for p in catalogue if not reached.get(p)],
            }
        )
    return rows


def _op_rows(row: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """Per op kind: pairs expressible, reached by random examples, reached at all."""
    ops: dict[str, list[int]] = {}
    for pair in row["catalogue"]:
        kind = pair.split("|")[0]
        counts = ops.setdefault(kind, [0, 0, 0])
        counts[0] += 1
        counts[1] += bool(row["random"].get(pair))
        counts[2] += bool(row["reached"].get(pair))
    return [(kind, *counts) for kind, counts in sorted(ops.items())]


def format_coverage(rows: list[dict[str, Any]], *, per_op: bool = False) -> str:
    """The table as Markdown: per property, pairs reachable / reached (by random examples)."""
    lines = [
        "| engine | property | reachable | reached | by random examples | unreached |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        reached = sum(1 for p in row["catalogue"] if row["reached"].get(p))
        random = sum(1 for p in row["catalogue"] if row["random"].get(p))
        missing = ", ".join(row["unreached"][:6]) + (" …" if len(row["unreached"]) > 6 else "")
        size = len(row["catalogue"])
        lines.append(f"| {row['engine']} | {row['case']} | {size} | {reached} | {random} | {missing} |")
    if per_op:
        for row in rows:
            lines += ["", f"### {row['engine']} · {row['case']}", "", "| op | pairs | random | reached |"]
            lines.append("| --- | ---: | ---: | ---: |")
            lines += [f"| {k} | {n} | {r} | {a} |" for k, n, r, a in _op_rows(row)]
    return "\n".join(lines) + "\n"


def write_coverage(outcomes: Iterable[dict[str, Any]], report_dir: str | Path) -> tuple[Path, Path]:
    """Write coverage.json (every row, every pair) and coverage.md into ``report_dir``."""
    rows = coverage_table(outcomes)
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "coverage.json", folder / "coverage.md"
    json_path.write_text(json.dumps({"coverage": rows}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    md_path.write_text("# Property coverage\n\n" + format_coverage(rows, per_op=True), encoding="utf-8")
    return json_path, md_path


def read_outcomes(path: str | Path) -> list[dict[str, Any]]:
    """The outcome records of a results.jsonl stream or a report.json document."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".jsonl"):
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [r for r in records if r.get("type") != "run"]
    document = json.loads(text)
    return list(document.get("outcomes") or document.get("cases") or [])
