"""The HTML report in a real browser: what a person sees, checked in headless Chromium.

Chromium is driven through its command line only (``--dump-dom`` for the page
as the browser built it, ``--screenshot`` for a picture), so no Python browser
driver is needed. CI installs it (``apt-get install -y chromium``); where it is
absent the test is skipped, saying so. The screenshot is saved to
``$GRADSPEC_SCREENSHOT_DIR`` when that is set (CI keeps it as an artifact), else
to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).parent.parent
BROKEN = "tests.engines_for_tests:broken_engine"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on PATH (install it with: apt-get install -y chromium)")


def browse(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in a fresh headless Chromium with no network features and no profile."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


class Page(HTMLParser):
    """The rendered DOM, reduced to what the checks need: elements by class, text by element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []  # tag, attrs, enclosing classes
        self.texts: list[tuple[str, list[str], str]] = []  # text, enclosing classes, enclosing ids
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.elements.append((tag, attributes, self.classes()))
        if tag not in {"br", "meta", "input", "img", "hr", "link"}:
            self.stack.append((tag, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.elements.append((tag, {k: v or "" for k, v in attrs}, self.classes()))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if data.strip():
            ids = [a["id"] for _, a in self.stack if "id" in a]
            self.texts.append((data.strip(), self.classes(), ids))

    def classes(self) -> list[str]:
        return [c for _, a in self.stack for c in a.get("class", "").split()]

    def text_in(self, element_id: str) -> str:
        return " ".join(t for t, _, ids in self.texts if element_id in ids)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    gradspec = [sys.executable, "-m", "gradspec.conformance.cli"]
    # Sections enough for a pass, a failure, an error and the training plots, in seconds.
    cases = ["--case", "graph.*", "--case", "grad.*", "--case", "logreg.*"]
    run = [*gradspec, "run", "--engine", "torch-cpu", "--engine", BROKEN, *cases, "--report-dir", str(out)]
    ran = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert (out / "results.jsonl").exists(), ran.stderr
    built = subprocess.run(
        [*gradspec, "report", str(out / "results.jsonl"), "--report-dir", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out / "report.html"


def test_a_person_sees_the_matrix_a_failure_and_the_plots(report: Path) -> None:
    shown = browse(report, "--dump-dom")
    assert shown.returncode == 0, shown.stderr
    page = Page()
    page.feed(shown.stdout)

    # No script survived into the page, not even the one the engine's error carries...
    assert "script" not in page.tags
    # ...which the reader sees as text instead.
    assert any("<script>alert('pwned')</script>" in t for t, classes, _ in page.texts if "message" in classes)

    # The matrix: a header per engine and a word in every cell, not only a colour.
    headers = [t for t, classes, _ in page.texts if "engine" in classes]
    assert headers[:2] == ["torch-cpu", "broken<mul>"]
    cells = [t for t, classes, _ in page.texts if "cell" in classes]
    assert cells and set(cells) <= {"pass", "fail", "error", "unsupported"}
    assert {"pass", "fail", "error"} <= set(cells)

    # A failing case: the matrix links to its details, which show expected, actual and the command.
    links = [a["href"] for tag, a, classes in page.elements if tag == "a" and "v-fail" in a.get("class", "")]
    assert links and all(h.startswith("#case-") for h in links)
    details = page.text_in(links[0][1:])
    assert "graph.value" in details and "broken<mul>" in details
    assert "[6.0]" in details and "[7.0]" in details
    assert f"gradspec run --engine {BROKEN} --case graph.value" in details

    # The plots are in the DOM as SVG: three charts, 200 points, one boundary per engine.
    charts = [a for tag, a, _ in page.elements if tag == "svg" and "chart" in a.get("class", "")]
    assert len(charts) == 3
    points = [1 for tag, _, classes in page.elements if tag == "circle" and "points" in classes]
    assert len(points) == 200
    boundaries = [a["data-label"] for tag, a, _ in page.elements if tag == "polyline" and "data-label" in a]
    assert (
        boundaries.count("torch-cpu") == 3 and boundaries.count("broken<mul>") == 3
    )  # boundary, loss, accuracy


def test_the_page_renders_to_a_screenshot(report: Path, tmp_path: Path) -> None:
    folder = Path(os.environ.get("GRADSPEC_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    picture = folder / "report.png"
    shot = browse(report, f"--screenshot={picture}", "--window-size=1300,2400", "--hide-scrollbars")
    assert shot.returncode == 0, shot.stderr
    header = picture.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert (width, height) == (1300, 2400)
    # A blank page compresses to a few kilobytes; the report's text and colours do not.
    assert picture.stat().st_size > 100_000, f"suspiciously small screenshot at {picture}"


def test_the_benchmark_page_shows_ratios_with_intervals_and_units(tmp_path: Path) -> None:
    """The bench page from a recorded run (nothing timed): as the browser builds it, not as written."""
    from gradspec.conformance.bench_report import write_bench_page
    from gradspec.conformance.bench_results import parse_bench
    from tests.test_bench import bench_json, noisy

    data = bench_json(samples={("note_graph", "torch-cpu"): noisy(100e-6)})
    page_path = write_bench_page(parse_bench(data, "synthetic"), tmp_path / "bench.html")
    shown = browse(page_path, "--dump-dom")
    assert shown.returncode == 0, shown.stderr
    page = Page()
    page.feed(shown.stdout)
    assert "script" not in page.tags
    values = [t for t, classes, _ in page.texts if "value" in classes]
    assert "5.00x unstable" in values and "100 µs" in values  # a ratio marked, a time with its unit
    unstable_bars = [a for tag, a, _ in page.elements if tag == "rect" and "unstable" in a.get("class", "")]
    assert len(unstable_bars) == 1
    rows = [a for tag, a, _ in page.elements if tag == "tr" and "unstable" in a.get("class", "")]
    assert len(rows) == 1
