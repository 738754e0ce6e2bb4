"""Peak memory of the deep-chain workload, measured in a fresh process per (engine, size).

A process's peak resident memory only ever grows, and memory freed by one workload
stays mapped for the next, so measuring in the bench process would credit one
engine with another's peak. Each measurement therefore runs in a subprocess that
loads the engine, builds the chain and runs backward once. It reports:

- ``rss_bytes``: growth of the peak resident set (VmHWM, reset through
  /proc/self/clear_refs where Linux allows; else ru_maxrss) over the resident set
  before the chain was built. It counts every allocator, torch's C++ one included.
- ``python_heap_bytes``: tracemalloc's peak, for engines that allocate through
  Python and NumPy (NumPy reports its buffers to tracemalloc); not measured for
  torch, whose tensors and graph live outside Python's allocator.
- ``cuda_bytes``: torch.cuda.max_memory_allocated on CUDA engines.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

TIMEOUT_S = 600


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_kib(reset: bool) -> int:
    hwm = _status_kib("VmHWM") if reset else None
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _is_torch(namespace: Any) -> bool:
    name = getattr(namespace, "__name__", type(namespace).__module__)
    return str(name).split(".")[0] == "torch"


def measure_here(engine_spec: str, workload_name: str) -> dict[str, Any]:
    """Build the chain and run backward once in this process, recording its peak memory."""
    from gradspec.conformance.loader import load_engine
    from gradspec.spec.workloads import workload

    engine = load_engine(engine_spec)
    chain = workload(workload_name)
    result: dict[str, Any] = {"nodes": chain.nodes}
    with engine.session():
        trial = chain.prepare(engine.namespace)
        assert trial.setup is not None and trial.teardown is not None
        cuda = engine.device.startswith("cuda")
        if cuda:
            engine.namespace.cuda.reset_peak_memory_stats()
        reset = _reset_peak()
        before_kib = _status_kib("VmRSS")
        state = trial.setup()
        trial.run(state)
        if cuda:
            engine.namespace.cuda.synchronize()
            result["cuda_bytes"] = int(engine.namespace.cuda.max_memory_allocated())
        peak_kib = _peak_kib(reset)
        trial.teardown(state)
        if before_kib is not None and peak_kib > before_kib:
            result["rss_bytes"] = (peak_kib - before_kib) * 1024
        result["rss_method"] = "VmHWM after clear_refs" if reset else "ru_maxrss"
        if not _is_torch(engine.namespace):
            tracemalloc.start()
            state = trial.setup()
            trial.run(state)
            result["python_heap_bytes"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            trial.teardown(state)
    return result


def measure_peak_memory(engine_spec: str, workload_name: str, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """:func:`measure_here` in a fresh interpreter; ``{"error": ...}`` on failure or past ``timeout_s``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, engine_spec, workload_name],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout_s:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


if __name__ == "__main__":
    print(json.dumps(measure_here(sys.argv[1], sys.argv[2])))
