"""A worker, and whatever its engine started, ends when the supervising run is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")

# The worker: its own session, as isolation.pytest_launcher starts it, watching the
# supervisor; it starts a helper in its group (an engine's subprocess) and sleeps.
WORKER = """
import subprocess, sys, time
from gradspec.conformance import lifeline
lifeline.watch(int(sys.argv[1]), poll=0.05)
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(helper.pid, flush=True)
time.sleep(120)
"""

# The supervisor: starts the worker in a new session and reports both pids.
SUPERVISOR = """
import os, subprocess, sys, time
worker = subprocess.Popen(
    [sys.executable, "-c", sys.argv[1], str(os.getpid())], start_new_session=True, stdout=subprocess.PIPE
)
helper = worker.stdout.readline().decode().strip()
print(worker.pid, helper, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    if status.exists():  # a zombie (exited, not yet reaped by its new parent) is not running
        return "\nState:\tZ" not in status.read_text()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if _running(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if _running(p)]


def test_a_worker_and_its_helpers_end_when_the_supervisor_is_sigkilled() -> None:
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, WORKER], stdout=subprocess.PIPE)
    worker = helper = None
    try:
        worker, helper = map(int, supervisor.stdout.readline().split())  # type: ignore[union-attr]
        time.sleep(0.5)  # ten polls with the supervisor alive: no false alarm
        assert _running(worker) and _running(helper)
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(timeout=10)
        assert _wait_gone([worker, helper], seconds=10) == []
    finally:
        for pid in (worker, helper):
            if pid is not None and _running(pid):
                os.kill(pid, signal.SIGKILL)
        if supervisor.poll() is None:
            supervisor.kill()


def test_a_worker_whose_supervisor_is_already_gone_ends_at_once() -> None:
    # A pid that cannot be running: the worker's parent is this test, not that pid.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    worker = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from gradspec.conformance import lifeline; lifeline.watch({dead.pid}); print('ran on')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert worker.returncode == -signal.SIGKILL
    assert "ran on" not in worker.stdout
