"""A worker never outlives the run that started it.

Workers run in their own session (so a timeout can kill a worker and whatever the
engine started, without touching the supervisor), which also means a signal to
the supervisor's process group does not reach them: a ``gradspec run`` killed by
SIGKILL, a CI job's timeout or an OOM kill would leave its worker running the
remaining cases, holding memory and CPU, for as long as they take. The
supervisor passes its pid; the worker watches it and, once its parent is no
longer that process (it was re-parented to init or a subreaper), kills its own
process group: itself, pytest-xdist's workers and any helper the engine started.
"""

from __future__ import annotations

import os
import signal
import threading

POLL_SECONDS = 0.5


def _end_group() -> None:
    if hasattr(os, "killpg"):
        os.killpg(os.getpgid(0), signal.SIGKILL)
    os._exit(1)  # where there are no process groups (and should killpg return)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch(supervisor: int, poll: float = POLL_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process group once the supervisor is gone.

    Gone means this process's parent changed (re-parenting is what the death of a
    parent looks like from the child). The parent is read at the start rather
    than assumed to be ``supervisor``, so an interpreter launcher between the two
    is no false alarm; ``supervisor`` only settles a death before this point.
    """
    parent = os.getppid()
    if parent != supervisor and not _alive(supervisor):
        _end_group()

    def run() -> None:
        tick = threading.Event()
        while not tick.wait(poll):
            if os.getppid() != parent:
                _end_group()

    thread = threading.Thread(target=run, name="gradspec-lifeline", daemon=True)
    thread.start()
    return thread
