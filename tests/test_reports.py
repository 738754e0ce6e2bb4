"""Reports built from real runs: a correct engine, a broken one, and the reference engine.

The runs are real ``gradspec run`` subprocesses, with the engines of
``tests.engines_for_tests`` loaded by ``module:attr``; the reports are then built
with ``gradspec report``, so these tests go through the same path as a user.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from gradspec.conformance.json_report import report_schema
from gradspec.conformance.loader import EngineLoadError, load_engine
from gradspec.spec.claims import SPEC_VERSION, all_claims

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("torch")

ROOT = Path(__file__).parent.parent
GRADSPEC = [sys.executable, "-m", "gradspec.conformance.cli"]
BROKEN = "tests.engines_for_tests:broken_engine"
BROKEN_NAME = "broken<mul>"
PROPERTY = "prop.grad-matches-finite-differences"
"""One property-based claim, so the run has a shrunk counterexample program to report."""

from tests.engines_for_tests import SCRIPT_MESSAGE  # noqa: E402 - needs torch, checked above


def gradspec(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [*GRADSPEC, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def selection() -> list[str]:
    """``--case`` arguments for the note's example claims and one property: enough for every
    part of the report, in seconds rather than the minutes the whole property suite takes."""
    prefixes = sorted({c.id.split(".")[0] for c in all_claims() if c.kind == "example"})
    return [a for p in [*(f"{p}.*" for p in prefixes), PROPERTY] for a in ("--case", p)]


def selected_ids() -> list[str]:
    chosen = selection()[1::2]
    return [c.id for c in all_claims() if any(fnmatch.fnmatchcase(c.id, p) for p in chosen)]


def reference_loads() -> bool:
    try:
        load_engine("reference")
    except EngineLoadError:
        return False
    return True


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of torch-cpu, the broken engine and (when it loads) the reference engine, then its reports."""
    out = tmp_path_factory.mktemp("run")
    engines = ["torch-cpu", BROKEN, *(["reference"] if reference_loads() else [])]
    ran = gradspec(
        "run", *[a for e in engines for a in ("--engine", e)], *selection(), "--report-dir", str(out)
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr  # the broken engine does not conform
    assert "Traceback" not in ran.stderr and (out / "results.jsonl").exists(), ran.stderr
    built = gradspec("report", str(out / "results.jsonl"), "--report-dir", str(out))
    assert built.returncode == 0, built.stderr
    for name in ("report.json", "report.html", "summary.md", "junit.xml"):
        assert str(out / name) in built.stdout
    return out


@pytest.fixture(scope="module")
def document(run_dir: Path) -> dict:
    return json.loads((run_dir / "report.json").read_text())


@pytest.fixture(scope="module")
def html(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text()


def cases_of(document: dict, engine: str) -> dict[str, dict]:
    return {c["id"]: c for c in document["cases"] if c["engine"] == engine}


# -- outcomes, failure details and scores --------------------------------------------


def test_every_claim_has_an_outcome_on_every_engine(document: dict) -> None:
    claim_ids = selected_ids()
    assert PROPERTY in claim_ids and "graph.value" in claim_ids
    assert [c["id"] for c in document["claims"]] == claim_ids  # the note's order
    for engine in document["engines"]:
        assert sorted(cases_of(document, engine["name"])) == sorted(claim_ids)


def test_a_wrong_answer_is_a_failure_with_expected_actual_and_a_reproduce_command(document: dict) -> None:
    value = cases_of(document, BROKEN_NAME)["graph.value"]
    assert value["outcome"] == "fail"
    assert (value["expected"], value["actual"]) == ([6.0], [7.0])  # (x + w)(w + 1) + 1
    assert value["reproduce"] == f"gradspec run --engine {BROKEN} --case graph.value"
    assert "expected [6.0], got [7.0]" in value["message"]


def test_an_engine_that_raises_gives_errors_with_its_message(document: dict) -> None:
    errors = [c for c in cases_of(document, BROKEN_NAME).values() if c["outcome"] == "error"]
    assert {c["id"] for c in errors} >= {"grad.first-derivative", "grad.second-derivative"}
    for case in errors:
        assert case["message"].startswith(f"RuntimeError: {SCRIPT_MESSAGE}")
        assert case["reproduce"].endswith(f"--case {case['id']}")


def test_a_property_failure_carries_its_shrunk_counterexample_program(document: dict, html: str) -> None:
    case = cases_of(document, BROKEN_NAME)[PROPERTY]
    assert case["outcome"] == "error"
    program = case["counterexample"]
    assert program.startswith("import torch") and "backward()" in program and "torch.pow(" in program
    compile(program, "counterexample", "exec")  # a program a person can run as it stands
    shown = html[html.index('<pre class="counterexample">') :]
    assert shown.startswith('<pre class="counterexample">import torch\n')


def _known_torch_bugs() -> set[str]:
    """The cases impls/expectations/torch.toml lists as PyTorch's own bugs."""
    path = Path(__file__).parent.parent / "impls" / "expectations" / "torch.toml"
    listed = tomllib.loads(path.read_text())["torch-cpu"]
    return {case for kind in listed.values() for case in kind}


def test_every_non_pass_of_the_broken_engine_passes_on_torch(document: dict) -> None:
    broken, torch_cpu = cases_of(document, BROKEN_NAME), cases_of(document, "torch-cpu")
    wrong = [i for i, c in broken.items() if c["outcome"] != "pass" and i not in _known_torch_bugs()]
    assert wrong, "the broken engine must fail something"
    assert all(torch_cpu[i]["outcome"] == "pass" for i in wrong)
    for case_id in wrong:
        if broken[case_id]["outcome"] == "fail":
            assert broken[case_id]["expected"] != broken[case_id]["actual"]


def test_scores_are_recounted_from_the_cases_with_denominators(document: dict) -> None:
    for row in document["scores"]:
        mine = [c for c in document["cases"] if c["engine"] == row["engine"]]
        applicable = [c for c in mine if c["outcome"] != "unsupported"]
        passed = sum(c["outcome"] == "pass" for c in mine)
        assert (row["overall"]["passed"], row["overall"]["applicable"]) == (passed, len(applicable))
        assert row["overall"]["text"].startswith(f"{passed}/{len(applicable)} ")
        assert row["overall"]["counts"] == dict(Counter(c["outcome"] for c in mine))
        for level, score in row["levels"].items():
            at_level = [c for c in applicable if c["level"] == level]
            assert score["applicable"] == len(at_level)
            assert score["passed"] == sum(c["outcome"] == "pass" for c in at_level)
        assert sum(s["applicable"] for s in row["sections"].values()) == len(applicable)
    broken = next(r for r in document["scores"] if r["engine"] == BROKEN_NAME)
    assert 0 < broken["overall"]["ratio"] < 1
    assert document["summary"]["conforming"] is False


def test_the_reference_engine_is_reported_when_it_loads(document: dict) -> None:
    if not any(e["name"] == "reference" for e in document["engines"]):
        pytest.skip("the reference engine does not load in this checkout")
    reference = cases_of(document, "reference")
    assert reference and all(
        c["outcome"] in {"pass", "fail", "error", "unsupported"} for c in reference.values()
    )


def test_training_is_recorded_for_the_plots(document: dict) -> None:
    training = cases_of(document, "torch-cpu")["logreg.sequential-converges"]["observations"]["training"]
    assert training["points"] == 200 and len(training["weight"]) == 2
    assert len(training["losses"]) == training["iterations"]


# -- the JSON report against its schema ----------------------------------------------


def test_report_json_validates_against_the_shipped_schema(document: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(report_schema())
    jsonschema.validate(document, report_schema(), cls=jsonschema.Draft202012Validator)
    assert document["schema"] == "gradspec-report/1"
    assert document["spec_version"] == SPEC_VERSION
    torch_meta = next(e for e in document["engines"] if e["name"] == "torch-cpu")
    assert {"version", "device", "python", "platform"} <= set(torch_meta)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d.pop("spec_version"),
        lambda d: d["cases"][0].update(outcome="mostly-fine"),
        lambda d: d["cases"][0].pop("reproduce"),
        lambda d: d["scores"][0]["overall"].update(applicable=-1),
        lambda d: d.update(schema="gradspec-report/0"),
    ],
)
def test_the_schema_rejects_documents_that_are_not_reports(document: dict, spoil) -> None:
    spoiled = json.loads(json.dumps(document))
    spoil(spoiled)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spoiled, report_schema(), cls=jsonschema.Draft202012Validator)


# -- the HTML report -------------------------------------------------------------------


def test_html_is_self_contained(html: str) -> None:
    assert not re.search(r"<script|<link|<iframe|<img|@import|url\((?!#)", html, re.IGNORECASE)
    assert not re.search(r"\b(src|srcset)=", html)
    # The only absolute URL is the SVG namespace, which is a name, never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}


def test_engine_text_is_escaped_in_html(html: str) -> None:
    assert "RuntimeError: &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; friends" in html
    assert "<script" not in html.lower()
    assert "broken&lt;mul&gt;" in html and "broken<mul>" not in html


def test_html_has_matrix_scores_details_errata_and_plots(html: str, document: dict) -> None:
    for claim in document["claims"]:
        assert f'data-claim="{claim["id"]}"' in html
    row = html[html.index('data-claim="graph.value"') :]
    row = row[: row.index("</tr>")]
    assert re.findall(r'class="v v-(\w+)"[^>]*>(\w+)<', row)[:2] == [("pass", "pass"), ("fail", "fail")]
    broken = next(r for r in document["scores"] if r["engine"] == BROKEN_NAME)["overall"]
    assert f"<strong>{broken['passed']}/{broken['applicable']}</strong> applicable cases pass" in html
    assert '<pre class="expected">[6.0]</pre>' in html and '<pre class="actual">[7.0]</pre>' in html
    assert f"gradspec run --engine {BROKEN} --case graph.value" in html
    assert 'class="program"' in html  # the case's source, where no counterexample was recorded
    assert 'id="errata"' in html and all(e["erratum"].split("'")[0] in html for e in document["errata"][:1])
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert "Decision boundary" in html and html.count("<circle") >= 200


def test_markdown_summary_has_scores_and_failures(run_dir: Path, document: dict) -> None:
    summary = (run_dir / "summary.md").read_text()
    assert summary.startswith("## gradspec conformance: ❌ not conforming")
    torch_cpu = next(r for r in document["scores"] if r["engine"] == "torch-cpu")["overall"]
    assert f"| torch-cpu | **{torch_cpu['text']}** |" in summary
    assert "| broken\\<mul\\> |" in summary  # escaped: GitHub would render <mul> as a tag
    assert f"`gradspec run --engine {BROKEN} --case graph.value`" in summary
    assert "<script>" not in summary


# -- interrupted runs -----------------------------------------------------------------


def _workers_left(supervisor: int, seconds: float) -> list[str]:
    """Command lines of live workers started by ``supervisor`` (Linux's /proc; elsewhere none)."""
    mark = f"--gradspec-supervisor\0{supervisor}\0".encode()
    deadline = time.monotonic() + seconds
    while True:
        left = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if (
                    mark in (proc / "cmdline").read_bytes()
                    and "\nState:\tZ" not in (proc / "status").read_text()
                ):
                    left.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def test_a_run_killed_part_way_still_gives_a_report_of_its_finished_cases(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    results = tmp_path / "results.jsonl"
    process = subprocess.Popen(
        [*GRADSPEC, "run", "--engine", "tests.engines_for_tests:slow_engine", "--report-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so the kill reaches its workers too
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if results.exists() and results.read_text().count('"type": "outcome"') >= 3:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the slow run finished before it could be killed"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert _workers_left(process.pid, seconds=10) == [], "the killed run's worker outlived it"
    finished = [json.loads(line) for line in results.read_text().splitlines()[1:] if line.endswith("}")]
    assert 3 <= len(finished) < len(all_claims())

    built = gradspec("report", str(results), "--report-dir", str(tmp_path / "out"))
    assert built.returncode == 0, built.stderr
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    reported = [(c["id"], c["outcome"]) for c in document["cases"]]
    assert reported[: len(finished)] == [(r["case"], r["verdict"]) for r in finished]
    assert len(reported) in (len(finished), len(finished) + 1)  # a line may land between the two reads
    assert "slow" in (tmp_path / "out" / "report.html").read_text()


def test_a_stream_cut_mid_line_gives_a_report_of_the_whole_lines(run_dir: Path, tmp_path: Path) -> None:
    text = (run_dir / "results.jsonl").read_text()
    cut = text.index('"case": "graph.grad-fn"')  # mid-way through that record
    partial = tmp_path / "partial.jsonl"
    partial.write_text(text[:cut])
    built = gradspec("report", str(partial), "--report-dir", str(tmp_path))
    assert built.returncode == 0, built.stderr
    document = json.loads((tmp_path / "report.json").read_text())
    whole = text[:cut].count("\n") - 1  # lines after the header that ended before the cut
    assert len(document["cases"]) == whole > 0
    assert "graph.grad-fn" not in {c["id"] for c in document["cases"]}


# -- merging and input errors on the command line -------------------------------------


def as_cuda(stream: Path, out: Path) -> Path:
    """The torch-cpu outcomes of ``stream`` as if a CUDA machine had written them."""
    lines = [json.loads(line) for line in stream.read_text().splitlines()]
    header = lines[0]
    header["engines"] = [
        {**e, "name": "torch-cuda", "device": "cuda (NVIDIA H200)"}
        for e in header["engines"]
        if e["name"] == "torch-cpu"
    ]
    records = [header] + [{**r, "engine": "torch-cuda"} for r in lines[1:] if r["engine"] == "torch-cpu"]
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    return out


def test_cpu_and_cuda_runs_merge_into_one_matrix(run_dir: Path, tmp_path: Path) -> None:
    cuda = as_cuda(run_dir / "results.jsonl", tmp_path / "cuda.jsonl")
    built = gradspec(
        "report", str(run_dir / "results.jsonl"), str(cuda), "--report-dir", str(tmp_path / "out")
    )
    assert built.returncode == 0, built.stderr
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    names = [e["name"] for e in document["engines"]]
    assert names[0] == "torch-cpu" and names[-1] == "torch-cuda"
    assert next(e for e in document["engines"] if e["name"] == "torch-cuda")["device"] == "cuda (NVIDIA H200)"
    assert len(document["runs"]) == 2
    assert [c["id"] for c in document["claims"]] == selected_ids()  # one row per claim, not per run
    cpu, cuda = cases_of(document, "torch-cpu"), cases_of(document, "torch-cuda")
    assert {i: c["outcome"] for i, c in cuda.items()} == {i: c["outcome"] for i, c in cpu.items()}
    jsonschema.validate(document, report_schema(), cls=jsonschema.Draft202012Validator)
    html = (tmp_path / "out" / "report.html").read_text()
    header = html[html.index('<table class="matrix">') :]
    header = header[: header.index("</thead>")]
    assert re.findall(r'<th class="engine">([^<]+)</th>', header) == [
        "torch-cpu",
        "broken&lt;mul&gt;",
        *names[2:-1],
        "torch-cuda",
    ]
    assert "merged from 2 runs" in html


def test_report_refuses_mismatched_and_malformed_streams_naming_the_file(
    run_dir: Path, tmp_path: Path
) -> None:
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    other = tmp_path / "other-spec.jsonl"
    other.write_text(
        "\n".join([json.dumps(json.loads(lines[0]) | {"spec_version": "99"}), *lines[1:]]) + "\n"
    )
    refused = gradspec("report", str(run_dir / "results.jsonl"), str(other), "--report-dir", str(tmp_path))
    assert refused.returncode == 2
    assert f"{other}: spec version '99' differs" in refused.stderr

    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([lines[0], lines[1][:30], *lines[2:]]) + "\n")
    refused = gradspec("report", str(broken), "--report-dir", str(tmp_path))
    assert refused.returncode == 2
    assert f"{broken}:2: not a JSON line" in refused.stderr
    assert not (tmp_path / "report.html").exists()

    refused = gradspec("report", str(tmp_path / "absent.jsonl"), "--report-dir", str(tmp_path))
    assert refused.returncode == 2 and "absent.jsonl: no such result stream" in refused.stderr


def test_a_run_with_no_cases_reports_that_nothing_was_verified(run_dir: Path, tmp_path: Path) -> None:
    header_only = tmp_path / "empty.jsonl"
    header_only.write_text((run_dir / "results.jsonl").read_text().splitlines()[0] + "\n")
    built = gradspec("report", str(header_only), "--report-dir", str(tmp_path))
    assert built.returncode == 1
    assert "empty run verifies nothing" in built.stderr
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["summary"] == {
        "cases": 0,
        "claims": 0,
        "verdicts": {},
        "conforming": False,
        "expected_failures_by_kind": {},
    }
    assert all(row["overall"]["text"] == "n/a (0 applicable)" for row in document["scores"])
    assert "No cases ran: an empty run verifies nothing." in (tmp_path / "report.html").read_text()
    assert "no cases ran" in (tmp_path / "summary.md").read_text()
