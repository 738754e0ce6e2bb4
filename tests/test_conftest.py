"""The test suite's own machinery in conftest.py: the central slow list and the per-file progress."""

from __future__ import annotations

import re

import pytest

from tests.conftest import SLOW_MODULES, SLOW_TESTS

CONFTEST = "from tests.conftest import pytest_addoption, pytest_configure, pytest_collection_modifyitems\n"


def test_every_slow_module_exists_and_says_why() -> None:
    from pathlib import Path

    here = Path(__file__).parent
    for module, reason in SLOW_MODULES.items():
        assert (here / module).exists(), f"{module} is listed as slow but does not exist"
        assert len(reason) > 20
    for node, reason in SLOW_TESTS.items():
        path, name = node.split("::")
        source = (here.parent / path).read_text()
        assert f"def {name}(" in source, f"{node} is listed as slow but does not exist"
        assert len(reason) > 10


class FakeItem:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.markers: list[str] = []

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.name)


def test_listed_modules_and_tests_are_marked_slow_and_others_are_not() -> None:
    from tests.conftest import pytest_collection_modifyitems

    slow_node = next(iter(SLOW_TESTS))
    items = [
        FakeItem("tests/test_browser.py::test_anything"),
        FakeItem(f"{slow_node}[some-parameter]"),
        FakeItem("tests/test_bench.py::test_ratios_divide_by_the_reference_in_the_same_run"),
    ]
    pytest_collection_modifyitems(None, items)  # type: ignore[arg-type]
    assert [item.markers for item in items] == [["slow"], ["slow"], []]


def test_the_marker_selects_the_tiers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_tiers="import pytest\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n\n"
        "def test_fast():\n    pass\n"
    )
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n")
    pytester.runpytest("-m", "not slow", "-q", "-p", "no:cacheprovider").assert_outcomes(
        passed=1, deselected=1
    )
    pytester.runpytest("-m", "slow", "-q", "-p", "no:cacheprovider").assert_outcomes(passed=1, deselected=1)


def test_file_progress_prints_one_line_per_file_and_no_dots(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_one="import pytest\n\ndef test_a():\n    pass\n\n"
        "@pytest.mark.skip(reason='no')\ndef test_b():\n    pass\n",
        test_two="def test_c():\n    assert False\n\ndef test_d():\n    pass\n",
    )
    result = pytester.runpytest("-q", "--file-progress", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, skipped=1, failed=1)
    lines = result.outlines
    assert any(line.startswith("FAILED test_two.py::test_c") for line in lines)  # pytest's summary intact
    one = [line for line in lines if " files, " in line and "test_one.py:" in line]
    two = [line for line in lines if " files, " in line and "test_two.py:" in line]
    assert len(one) == 1 and re.search(r"^ok +\[ ?\d/2 files.*1 passed, 1 skipped", one[0]), one
    assert len(two) == 1 and two[0].startswith("FAIL") and "1 passed, 1 failed" in two[0], two
    assert not any(re.fullmatch(r"[.sF]+( +\[.*\])?", line.strip()) for line in lines if line.strip())
