"""JUnit XML from the outcome stream, so CI systems show each (case, engine) natively.

pytest's own ``--junitxml`` writes its file when the session ends, so a worker
process that an engine crashes leaves none; built from the stream instead, the
file also covers crashed and timed-out cases and runs merged from several
machines. It follows the xunit2 layout pytest writes: one <testsuite> per engine,
one <testcase> per claim, with failures, errors and skips where CI tools expect
them, and the verdict, level and section as properties.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from gradspec.conformance.outcomes import Outcome, Verdict

_FAILED = {Verdict.FAIL, Verdict.UNEXPECTED_PASS}
_ERRORED = {Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT}
_SKIPPED = {Verdict.UNSUPPORTED, Verdict.EXPECTED_FAILURE}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REASON_CHARS = 300
"""How much of the reason goes into a failure's ``message`` attribute, the line CI views show."""


def xml_text(value: str) -> str:
    """``value`` with the characters XML 1.0 cannot hold (NUL, most control codes) written as escapes."""
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", value
    )


def reason(outcome: Outcome) -> str:
    """``"fail: y: expected [6.0], got [7.0]"``: the verdict and the first line of why."""
    first = next((line.strip() for line in outcome.message.splitlines() if line.strip()), "")
    if len(first) > REASON_CHARS:
        first = first[: REASON_CHARS - 1] + "…"
    return xml_text(f"{outcome.verdict.value}: {first}" if first else outcome.verdict.value)


def junit_tree(outcomes: list[Outcome]) -> ET.ElementTree:
    """The JUnit document for ``outcomes``, one suite per engine in first-seen order."""
    root = ET.Element("testsuites", name="gradspec")
    suites: dict[str, ET.Element] = {}
    for outcome in outcomes:
        suite = suites.get(outcome.engine)
        if suite is None:
            suite = suites[outcome.engine] = ET.SubElement(
                root, "testsuite", name=xml_text(f"gradspec[{outcome.engine}]")
            )
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_text(outcome.section),
            name=xml_text(outcome.nodeid),
            time=f"{outcome.duration:.3f}",
        )
        props = ET.SubElement(case, "properties")
        for name, value in (("verdict", outcome.verdict.value), ("level", outcome.level)):
            ET.SubElement(props, "property", name=name, value=value)
        detail = outcome.message
        if outcome.counterexample:
            detail = f"{detail}\ncounterexample:\n{outcome.counterexample}"
        if outcome.reproduce:
            detail = f"{detail}\nreproduce: {outcome.reproduce}"
        if outcome.verdict in _FAILED:
            ET.SubElement(case, "failure", message=reason(outcome)).text = xml_text(detail)
        elif outcome.verdict in _ERRORED:
            ET.SubElement(case, "error", message=reason(outcome)).text = xml_text(detail)
        elif outcome.verdict in _SKIPPED:
            ET.SubElement(case, "skipped", message=xml_text(f"{outcome.verdict.value}: {outcome.message}"))
    for suite in suites.values():
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            suite.set(attr, str(sum(1 for c in cases if c.find(tag) is not None)))
        suite.set("time", f"{sum(float(c.get('time', 0)) for c in cases):.3f}")
    return ET.ElementTree(root)


def write_junit(outcomes: list[Outcome], path: Path) -> Path:
    """Write the JUnit XML for ``outcomes`` to ``path``."""
    tree = junit_tree(outcomes)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
