"""JUnit XML from the outcome stream, so CI systems show each (case, engine) natively.

pytest's own ``--junitxml`` writes its file when the session ends, so a worker
process that an engine crashes leaves none; built from the stream instead, the
file also covers crashed and timed-out cases and runs merged from several
machines. It follows the xunit2 layout pytest writes: one <testsuite> per engine,
one <testcase> per claim, with failures, errors and skips where CI tools expect
them, and the verdict, level and section as properties.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from gradspec.conformance.outcomes import Outcome, Verdict

_FAILED = {Verdict.FAIL, Verdict.UNEXPECTED_PASS}
_ERRORED = {Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT}
_SKIPPED = {Verdict.UNSUPPORTED, Verdict.EXPECTED_FAILURE}


def junit_tree(outcomes: list[Outcome]) -> ET.ElementTree:
    """The JUnit document for ``outcomes``, one suite per engine in first-seen order."""
    root = ET.Element("testsuites", name="gradspec")
    suites: dict[str, ET.Element] = {}
    for outcome in outcomes:
        suite = suites.get(outcome.engine)
        if suite is None:
            suite = suites[outcome.engine] = ET.SubElement(
                root, "testsuite", name=f"gradspec[{outcome.engine}]"
            )
        case = ET.SubElement(
            suite, "testcase", classname=outcome.section, name=outcome.nodeid, time=f"{outcome.duration:.3f}"
        )
        props = ET.SubElement(case, "properties")
        for name, value in (("verdict", outcome.verdict.value), ("level", outcome.level)):
            ET.SubElement(props, "property", name=name, value=value)
        detail = outcome.message
        if outcome.reproduce:
            detail = f"{detail}\nreproduce: {outcome.reproduce}"
        if outcome.verdict in _FAILED:
            ET.SubElement(case, "failure", message=outcome.verdict.value).text = detail
        elif outcome.verdict in _ERRORED:
            ET.SubElement(case, "error", message=outcome.verdict.value).text = detail
        elif outcome.verdict in _SKIPPED:
            ET.SubElement(case, "skipped", message=f"{outcome.verdict.value}: {outcome.message}")
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
