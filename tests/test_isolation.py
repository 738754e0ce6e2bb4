"""Worker isolation: a crashing or hanging engine costs one outcome, not the run."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from gradspec.conformance.isolation import EngineRun, Supervisor, WorkerError, describe_exit
from gradspec.conformance.outcomes import Verdict
from gradspec.conformance.results import ResultStream, RunResults, read_results
from gradspec.spec.claims import all_claims

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def run_gradspec(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
    done = subprocess.run(
        [sys.executable, "-m", "gradspec.conformance.cli", "run", "--report-dir", "out", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        errors="backslashreplace",  # pytest's report echoes an engine's undecodable bytes
        timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HYPOTHESIS_PROFILE": "ci"},
    )
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return done, {f"{r['case']}[{r['engine']}]": r for r in records if r["type"] == "outcome"}


def test_describe_exit() -> None:
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(3) == "exit status 3"


@pytest.mark.slow
def test_a_segfaulting_case_is_a_crash_and_every_other_case_still_runs(tmp_path: Path) -> None:
    engine = "tests.engines_for_tests:segfault_pow"
    cases = ("graph.value", "grad.first-derivative", "grad.second-derivative", "grad.multiple-inputs")
    done, got = run_gradspec(
        tmp_path, "--engine", engine, "--engine", "torch", *(a for c in cases for a in ("--case", c))
    )
    assert set(got) == {f"{case}[{name}]" for case in cases for name in (engine, "torch")}
    crashed = {k: r for k, r in got.items() if r["verdict"] == "crash"}
    # torch.pow appears in the first and second derivative claims only.
    assert set(crashed) == {f"grad.first-derivative[{engine}]", f"grad.second-derivative[{engine}]"}
    for record in crashed.values():
        assert "SIGSEGV" in record["message"]
        assert record["reproduce"].startswith(f"gradspec run --engine {engine} --case grad.")
    others = {k: r["verdict"] for k, r in got.items() if k not in crashed}
    assert set(others.values()) == {"pass"}
    assert done.returncode == 1
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert junit.count("<error") == len(crashed)


@pytest.mark.slow
def test_a_hanging_case_times_out_and_the_run_continues(tmp_path: Path) -> None:
    engine = "tests.engines_for_tests:hanging_cat"
    done, got = run_gradspec(
        tmp_path,
        "--engine",
        engine,
        "--case",
        "backward.retain-graph",
        "--case",
        "backward.grad-tensors-ones",
        "--case",
        "backward.no-saved-tensors",
        "--timeout",
        "3",
    )
    timed_out = sorted(k for k, r in got.items() if r["verdict"] == "timeout")
    assert timed_out == [f"backward.grad-tensors-ones[{engine}]"]
    assert len(got) == 3
    assert {r["verdict"] for k, r in got.items() if k not in timed_out} == {"pass"}
    assert "per-case limit of 3 s" in got[timed_out[0]]["message"]
    assert done.returncode == 1


@pytest.mark.slow
def test_in_process_and_isolated_runs_agree(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _, isolated = run_gradspec(a, "--engine", "tests.engines_for_tests:wrong_mul", "--case", "graph.*")
    _, in_process = run_gradspec(
        b, "--engine", "tests.engines_for_tests:wrong_mul", "--case", "graph.*", "--in-process"
    )
    assert {k: r["verdict"] for k, r in isolated.items()} == {k: r["verdict"] for k, r in in_process.items()}


@pytest.mark.slow
def test_distributed_run_gives_the_same_verdicts_as_a_serial_one(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    # Every example claim and one property (the properties are most of the spec's time and
    # distribute like any other case): passes and wrong_mul's failures, over two workers.
    cases = [c.id for c in all_claims() if not c.id.startswith("prop.")] + ["prop.grad-sums-outputs"]
    selection = [arg for case in cases for arg in ("--case", case)]
    args = ("--engine", "tests.engines_for_tests:wrong_mul", "--engine", "torch", "--in-process", *selection)
    _, serial = run_gradspec(a, *args)
    _, distributed = run_gradspec(b, *args, "--", "-n", "2")
    assert len(serial) == 2 * len(cases)
    verdicts = {k: r["verdict"] for k, r in serial.items()}
    assert {"pass", "fail"} <= set(verdicts.values())
    assert verdicts == {k: r["verdict"] for k, r in distributed.items()}


# -- the supervisor against scripted workers (no engine, no torch: fast) ------------------

FAKE_WORKER = r"""
import json, os, sys, time
cases = open(sys.argv[1]).read().split()
channel = open(sys.argv[2], "a")
plan = json.loads(sys.argv[3])
def send(record):
    channel.write((record if isinstance(record, str) else json.dumps(record)) + "\n")
    channel.flush()
for line in plan.get("first", []):
    send(line)
for case in cases:
    action = plan.get(case, "pass")
    send({"type": "start", "case": case, "engine": "e"})
    if action.startswith("exit"):
        os._exit(int(action[4:]))
    if action == "hang":
        time.sleep(60)
    facts = {"type": "facts", "case": case, "engine": "e", "duration": 0.01, "observations": {}}
    facts["error"] = None
    if action == "fail":
        facts["error"] = {"type": "gradspec.spec.expect.ClaimViolation", "name": "ClaimViolation",
                          "role": "violation", "message": "y: expected 6, got 7", "notes": [],
                          "expected": 6, "actual": 7}
    send(facts)
    if action == "dup":
        send(facts)
    plan.pop(case, None)
for line in plan.get("last", []):
    send(line)
"""


def scripted(plan: dict) -> Callable[[Path, Path], subprocess.Popen[bytes]]:
    """A launcher whose worker follows ``plan``: per case pass/fail/dup/hang/exitN, plus raw lines."""

    def launch(cases: Path, channel: Path) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-c", FAKE_WORKER, str(cases), str(channel), json.dumps(plan)]
        return subprocess.Popen(argv, start_new_session=True)

    return launch


CASES = [c for c in all_claims()][:4]
IDS = [c.id for c in CASES]


def supervise(tmp_path: Path, plan: dict, timeout: float = 30) -> tuple[EngineRun, RunResults]:
    stream = ResultStream(tmp_path / "results.jsonl", [{"name": "e"}])
    run = Supervisor("spec-of-e", "e", CASES, stream, scripted(plan), timeout, tmp_path).supervise()
    stream.close()
    return run, read_results(tmp_path / "results.jsonl")


def test_a_clean_worker_gives_one_outcome_per_case(tmp_path: Path) -> None:
    run, _ = supervise(tmp_path, {IDS[1]: "fail"})
    assert [run.outcomes[c].verdict for c in IDS] == [Verdict.PASS, Verdict.FAIL, Verdict.PASS, Verdict.PASS]
    assert run.outcomes[IDS[1]].expected == 6 and run.outcomes[IDS[1]].reproduce.endswith(f"--case {IDS[1]}")
    assert not run.problems


@pytest.mark.parametrize("status", [0, 1, 5, 3])
def test_a_worker_exiting_mid_case_is_a_crash_whatever_its_status_and_the_rest_resume(
    tmp_path: Path, status: int
) -> None:
    run, _ = supervise(tmp_path, {IDS[1]: f"exit{status}"})
    verdicts = [run.outcomes[c].verdict for c in IDS]
    assert verdicts == [Verdict.PASS, Verdict.CRASH, Verdict.PASS, Verdict.PASS]
    assert f"exit status {status}" in run.outcomes[IDS[1]].message


def test_a_worker_that_reports_nothing_leaves_every_case_a_crash(tmp_path: Path) -> None:
    launch = lambda cases, channel: subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: E731
    stream = ResultStream(tmp_path / "r.jsonl", [{"name": "e"}])
    run = Supervisor("e", "e", CASES, stream, launch, 30, tmp_path).supervise()
    assert {o.verdict for o in run.outcomes.values()} == {Verdict.CRASH}
    assert len(run.outcomes) == len(IDS)
    assert "without running this case" in run.outcomes[IDS[0]].message


def test_a_case_reported_twice_is_an_integrity_error_not_a_verdict(tmp_path: Path) -> None:
    run, read = supervise(tmp_path, {IDS[0]: "dup"})
    assert run.outcomes[IDS[0]].verdict is Verdict.ERROR
    assert "integrity error" in run.outcomes[IDS[0]].message
    assert [p.case for p in run.problems] == [IDS[0]]
    assert [p.case for p in read.problems] == [IDS[0]]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("not json", "not JSON"),
        ('{"type": "outcome", "case": "graph.value", "engine": "e", "verdict": "pass"}', "not a well-formed"),
        ('{"type": "start", "case": "no.such.case", "engine": "e"}', "not selected"),
        ('{"type": "start", "case": "graph.value", "engine": "other"}', "another engine"),
        (
            '{"type": "facts", "case": "graph.value", "engine": "e", "duration": 0, "observations": {}, '
            '"error": null}',
            "without starting it",
        ),
        ('{"type": "start", "case": "graph.value", "engine": "e"}', "started 'graph.value' twice"),
    ],
)
def test_lines_the_supervisor_did_not_expect_are_refused(tmp_path: Path, line: str, complaint: str) -> None:
    assert IDS[0] == "graph.value"
    run, _ = supervise(tmp_path, {"first": [line]})
    assert len(run.outcomes) == len(IDS)
    assert any(complaint in p.message for p in run.problems), run.problems


def test_a_forged_pass_for_a_later_case_makes_that_case_an_integrity_error(tmp_path: Path) -> None:
    forged = [
        json.dumps({"type": "start", "case": IDS[2], "engine": "e"}),
        json.dumps(
            {
                "type": "facts",
                "case": IDS[2],
                "engine": "e",
                "duration": 0.0,
                "observations": {},
                "error": None,
            }
        ),
    ]
    run, _ = supervise(tmp_path, {"first": forged, IDS[2]: "fail"})
    assert run.outcomes[IDS[2]].verdict is Verdict.ERROR
    assert [o.verdict for c, o in run.outcomes.items() if c != IDS[2]] == [Verdict.PASS] * 3


def test_a_hang_times_out_by_the_supervisors_clock(tmp_path: Path) -> None:
    run, _ = supervise(tmp_path, {IDS[1]: "hang"}, timeout=1)
    assert [run.outcomes[c].verdict for c in IDS] == [
        Verdict.PASS,
        Verdict.TIMEOUT,
        Verdict.PASS,
        Verdict.PASS,
    ]


def test_a_failure_of_gradspec_in_the_worker_is_a_harness_error(tmp_path: Path) -> None:
    internal = json.dumps({"type": "internal-error", "message": "INTERNALERROR> KeyError"})
    with pytest.raises(WorkerError, match="gradspec failed inside the worker"):
        supervise(tmp_path, {"first": [internal]})


# -- hostile engines, each a real `gradspec run` ------------------------------------------
# Each attack must leave: every selected case exactly one outcome, exit 1, the reports written.

POW_CASES = ("graph.value", "grad.first-derivative", "grad.second-derivative", "grad.multiple-inputs")
POW_CRASHES = {"grad.first-derivative", "grad.second-derivative"}
MUL_CASES = ("graph.value", "graph.dy-dw", "graph.is-leaf")
E = "tests.engines_for_tests"


def attack(tmp_path: Path, engines: list[str], cases: tuple[str, ...], *extra: str):
    """Run the engines over ``cases``; check the invariants every attack must keep; return the outcomes."""
    args = [a for engine in engines for a in ("--engine", engine)]
    done, got = run_gradspec(tmp_path, *args, *(a for c in cases for a in ("--case", c)), *extra)
    lines = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    keys = [(r["case"], r["engine"]) for r in lines if r["type"] == "outcome"]
    names = [e["name"] for e in lines[0]["engines"]]
    assert sorted(keys) == sorted((c, n) for c in cases for n in names), "one outcome per selected case"
    assert done.returncode == 1, done.stdout + done.stderr
    for name in ("report.json", "report.html", "summary.md", "junit.xml"):
        assert (tmp_path / "out" / name).is_file(), name
    ET.parse(tmp_path / "out" / "junit.xml")
    return done, {(r["case"], r["engine"]): r for r in lines if r["type"] == "outcome"}, lines


@pytest.mark.slow
def test_os_exit_in_a_case_is_a_crash_whatever_the_status(tmp_path: Path) -> None:
    engines = [f"{E}:exits_0", f"{E}:exits_1", f"{E}:exits_5"]
    _, got, _ = attack(tmp_path, engines, POW_CASES)
    for (case, engine), record in got.items():
        assert record["verdict"] == ("crash" if case in POW_CRASHES else "pass"), (case, engine)


@pytest.mark.slow
def test_abort_and_a_sigkill_like_the_oom_killers_are_crashes(tmp_path: Path) -> None:
    _, got, _ = attack(tmp_path, [f"{E}:aborts_pow", f"{E}:killed_pow"], POW_CASES[:2])
    assert {k[1]: r["message"] for k, r in got.items() if r["verdict"] == "crash"} == {
        f"{E}:aborts_pow": ANY_CONTAINING("SIGABRT"),
        f"{E}:killed_pow": ANY_CONTAINING("SIGKILL"),
    }


@pytest.mark.slow
def test_a_busy_loop_and_a_hang_ignoring_sigterm_time_out(tmp_path: Path) -> None:
    cases = ("graph.value", "backward.grad-tensors-ones")
    _, got, _ = attack(tmp_path, [f"{E}:busy_cat", f"{E}:stubborn_cat"], cases, "--timeout", "2")
    assert {k: r["verdict"] for k, r in got.items()} == {
        (c, e): ("timeout" if c == cases[1] else "pass")
        for c in cases
        for e in (f"{E}:busy_cat", f"{E}:stubborn_cat")
    }


@pytest.mark.slow
def test_system_exit_in_a_case_is_an_error(tmp_path: Path) -> None:
    _, got, _ = attack(tmp_path, [f"{E}:system_exit_pow"], POW_CASES[:2])
    assert got[("grad.first-derivative", f"{E}:system_exit_pow")]["verdict"] == "error"
    assert "SystemExit" in got[("grad.first-derivative", f"{E}:system_exit_pow")]["message"]


@pytest.mark.slow
def test_huge_control_and_surrogate_messages_are_inert(tmp_path: Path) -> None:
    engines = [f"{E}:huge_message_pow", f"{E}:control_message_pow", f"{E}:surrogate_message_pow"]
    done, got, _ = attack(tmp_path, engines, POW_CASES[:2])
    messages = {k[1]: r["message"] for k, r in got.items() if r["verdict"] == "error"}
    assert set(messages) == set(engines)
    assert len(messages[engines[0]]) < 2_000_000  # kept readable and bounded, not 20 MB in every report
    assert "\\udc80" in messages[engines[2]]  # escaped: every file stays UTF-8
    # gradspec's own lines (the summary, the gate) never pass the engine's escapes to the terminal;
    # pytest's failure report above them shows the message as the engine wrote it.
    own = (
        done.stdout[done.stdout.index("gradspec conformance") :] + done.stderr.split("Extension modules")[-1]
    )
    assert "\x1b" not in own and "\x00" not in own
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    control = next(c for c in report["cases"] if c["engine"] == engines[1] and c["outcome"] == "error")
    assert "nul\x00 bell\x07 \x1b[31mred" in control["message"]  # kept verbatim, as JSON escapes
    assert "\x00" not in (tmp_path / "out" / "junit.xml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_patching_gradspec_from_the_engine_changes_no_verdict(tmp_path: Path) -> None:
    """The engines patch gradspec when loaded (classification, gate); neither runs where it counts."""
    _, got, _ = attack(tmp_path, [f"{E}:patches_classify", f"{E}:patches_gate"], MUL_CASES)
    for engine in ("patches-classify", "patches-gate"):
        assert got[("graph.value", engine)]["verdict"] == "fail"
        assert got[("graph.dy-dw", engine)]["verdict"] == "pass"


@pytest.mark.slow
def test_lines_forged_into_the_streams_are_refused_and_fail_the_run(tmp_path: Path) -> None:
    done, got, lines = attack(tmp_path, [f"{E}:forges_lines", f"{E}:forges_facts"], MUL_CASES)
    problems = [r for r in lines if r["type"] == "integrity"]
    assert {p["engine"] for p in problems} == {f"{E}:forges_lines", f"{E}:forges_facts"}
    # The forger of well-formed reports gets every case it forged refused, never a pass.
    assert {r["verdict"] for k, r in got.items() if k[1] == f"{E}:forges_facts"} == {"error"}
    assert got[("graph.value", f"{E}:forges_lines")]["verdict"] == "fail"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["integrity"] and report["summary"]["conforming"] is False
    assert "Integrity errors" in (tmp_path / "out" / "summary.md").read_text()
    assert "integrity" in done.stderr


@pytest.mark.slow
def test_an_engine_deleting_the_report_folder_still_gets_its_reports(tmp_path: Path) -> None:
    _, got, _ = attack(tmp_path, [f"{E}:deletes_reports"], MUL_CASES)
    assert got[("graph.value", f"{E}:deletes_reports")]["verdict"] == "fail"


@pytest.mark.slow
def test_an_unpicklable_leaf_grad_fn_fails_only_the_claim_that_reads_it(tmp_path: Path) -> None:
    engine = f"{E}:unpicklable_leaf_grad_fn"
    _, got, _ = attack(tmp_path, [engine], ("graph.value", "graph.grad-fn", "graph.is-leaf"))
    assert {k[0]: r["verdict"] for k, r in got.items()} == {
        "graph.value": "pass",
        "graph.grad-fn": "fail",
        "graph.is-leaf": "pass",
    }
    assert got[("graph.grad-fn", engine)]["actual"] == "<LeafNode object>"


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["bracket_named", "newline_named"])
def test_an_engine_name_that_would_break_reports_is_refused_before_any_case(
    tmp_path: Path, engine: str
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.jsonl").write_text("the last run's results\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradspec.conformance.cli",
            "run",
            "--report-dir",
            "out",
            "--engine",
            f"{E}:{engine}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HYPOTHESIS_PROFILE": "ci"},
    )
    assert done.returncode == 2
    assert "is named" in done.stderr and "may not contain" in done.stderr
    assert (tmp_path / "out" / "results.jsonl").read_text() == "the last run's results\n"


class ANY_CONTAINING(str):  # noqa: N801 - reads as a matcher in an assertion
    """Equal to any string containing it."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and str(self) in other

    __hash__ = str.__hash__


def test_a_worker_hanging_outside_any_case_is_killed_and_its_cases_are_crashes(tmp_path: Path) -> None:
    def launch(cases: Path, channel: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)

    stream = ResultStream(tmp_path / "r.jsonl", [{"name": "e"}])
    run = Supervisor("e", "e", CASES, stream, launch, 1, tmp_path, idle_timeout=1).supervise()
    assert {o.verdict for o in run.outcomes.values()} == {Verdict.CRASH} and len(run.outcomes) == len(IDS)
    assert "did nothing for 1 s outside any case" in run.outcomes[IDS[0]].message


# -- who killed the worker: gradspec's own kills are never the engine's crash -------------

RACING_WORKER = r"""
import json, os, signal, sys, time
cases = open(sys.argv[1]).read().split()
channel = open(sys.argv[2], "a")
plan = json.loads(sys.argv[3])
marker = sys.argv[4]
def send(record):
    channel.write(json.dumps(record) + "\n")
    channel.flush()
if plan.get("idle_first") and not os.path.exists(marker):
    open(marker, "w").close()
    time.sleep(plan["idle_first"])  # quiet past the idle limit, once: the supervisor decides to kill
for case in cases:
    send({"type": "start", "case": case, "engine": "e"})
    action = plan.get(case, "pass")
    if action == "hang":
        time.sleep(60)
    if action == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action.startswith("sleep"):
        time.sleep(float(action[5:]))
    send({"type": "facts", "case": case, "engine": "e", "duration": 0.01, "observations": {},
          "error": None})
"""


def racing(tmp_path: Path, plan: dict) -> Callable[[Path, Path], subprocess.Popen[bytes]]:
    marker = tmp_path / "slept-once"

    def launch(cases: Path, channel: Path) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-c", RACING_WORKER, str(cases), str(channel), json.dumps(plan), str(marker)]
        return subprocess.Popen(argv, start_new_session=True)

    return launch


@pytest.fixture
def slow_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    """gradspec's kill lands a moment after it decides to kill, as it may on a loaded machine."""
    import time

    from gradspec.conformance import isolation

    real = isolation._stop

    def stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            time.sleep(2.0)
        real(process)

    monkeypatch.setattr(isolation, "_stop", stop)


def test_a_case_started_as_gradspec_kills_a_late_worker_is_run_again_not_a_crash(
    tmp_path: Path, slow_kill: None
) -> None:
    # IDS[1] is late by the supervisor's clock at 0.5 s but finishes at 1.5 s, before the kill
    # lands; the worker has started IDS[2] (which hangs) when SIGKILL arrives. IDS[2] must not
    # be a crash "killed by SIGKILL": gradspec sent it. Run again, it times out on its own.
    stream = ResultStream(tmp_path / "r.jsonl", [{"name": "e"}])
    plan = {IDS[1]: "sleep1.5", IDS[2]: "hang"}
    run = Supervisor("e", "e", CASES, stream, racing(tmp_path, plan), 0.5, tmp_path).supervise()
    verdicts = [run.outcomes[c].verdict for c in IDS]
    assert verdicts == [Verdict.PASS, Verdict.PASS, Verdict.TIMEOUT, Verdict.PASS], [
        run.outcomes[c].message for c in IDS
    ]
    assert "per-case limit of 0.5 s" in run.outcomes[IDS[2]].message


def test_a_case_started_as_gradspec_kills_an_idle_worker_is_run_again_not_a_crash(
    tmp_path: Path, slow_kill: None
) -> None:
    # Quiet for 2 s against an idle limit of 1 s, the worker starts IDS[0] before the kill lands.
    stream = ResultStream(tmp_path / "r.jsonl", [{"name": "e"}])
    plan = {"idle_first": 2.0, IDS[0]: "sleep3"}
    launch = racing(tmp_path, plan)
    run = Supervisor("e", "e", CASES, stream, launch, 30, tmp_path, idle_timeout=1).supervise()
    assert [run.outcomes[c].verdict for c in IDS] == [Verdict.PASS] * 4, [
        run.outcomes[c].message for c in IDS
    ]


def test_a_sigkill_gradspec_did_not_send_is_a_crash_that_says_so(tmp_path: Path) -> None:
    stream = ResultStream(tmp_path / "r.jsonl", [{"name": "e"}])
    run = Supervisor("e", "e", CASES, stream, racing(tmp_path, {IDS[1]: "sigkill"}), 30, tmp_path).supervise()
    assert [run.outcomes[c].verdict for c in IDS] == [Verdict.PASS, Verdict.CRASH, Verdict.PASS, Verdict.PASS]
    message = run.outcomes[IDS[1]].message
    assert "killed by SIGKILL" in message and "gradspec did not send" in message and "OOM" in message
