"""Small torch-like engines used by the harness tests, loaded through ``module:attr``.

Each is the ``torch`` module seen through a thin proxy with one behaviour changed,
so a test can show how the harness reports that behaviour. Tests that start
``gradspec run`` in a subprocess put the repository root on ``PYTHONPATH`` and
name these as ``tests.engines_for_tests:<name>``; the report tests build their
reports from real runs of the wrong, raising and slow engines here.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from gradspec.conformance.engine import Engine
from gradspec.spec.capabilities import ALL_CAPABILITIES

_TORCH_CAPS = ALL_CAPABILITIES


class TorchWith:
    """``torch`` with some attributes replaced (and optionally some hidden)."""

    def __init__(self, hidden: tuple[str, ...] = (), *, declared: bool = False, **replaced: Any) -> None:
        self._hidden = set(hidden)
        self._replaced = replaced
        if declared:
            # Declared like torch, so loading never probes (calls) the replaced op: a hostile
            # op then strikes inside a case, where the harness must contain it.
            self.__gradspec_capabilities__ = _TORCH_CAPS

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            raise AttributeError(name)
        if name in self._replaced:
            return self._replaced[name]
        return getattr(torch, name)


def _wrong_mul(a: Any, b: Any) -> Any:
    """Multiplies, then adds one: every product in the note's graph comes out wrong
    (y = (x + w)(w + 1) comes out 7, not 6)."""
    return torch.mul(a, b) + 1


def _raising_cat(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("cat is not implemented in this engine")


wrong_mul = TorchWith(mul=_wrong_mul)
# Declared: an engine that claims cat and then raises inside a case errs (one that does
# not claim it is probed, and the cases needing cat are unsupported: tests/test_partial_engines.py).
raising_cat = TorchWith(cat=_raising_cat, declared=True)
no_autograd = TorchWith(hidden=("autograd",))
declared = SimpleNamespace(
    **{k: getattr(torch, k) for k in ("tensor", "add", "mul", "cat", "pow", "ones")},
    __gradspec_capabilities__=("graph",),
    __gradspec_name__="declared-graph-only",
    __version__="9.9",
)


def engine_factory() -> Engine:
    """A factory, as an entry point or module:attr may name."""
    return Engine(name="factory-made", namespace=torch, version=torch.__version__)


def broken_import() -> Any:
    raise RuntimeError("this engine cannot start")


def _segfault(*args: Any, **kwargs: Any) -> Any:
    """Dereferences NULL, as a buggy native extension would: the process dies with SIGSEGV."""
    import ctypes

    return ctypes.string_at(0)


def _hang(*args: Any, **kwargs: Any) -> Any:
    time.sleep(3600)


# torch.pow appears only in the autograd.grad claims; torch.cat only with grad_tensors.
segfault_pow = TorchWith(pow=_segfault, declared=True)
hanging_cat = TorchWith(cat=_hang, declared=True)


# -- engines the report tests build their reports from ---------------------------------

SCRIPT_MESSAGE = "<script>alert('pwned')</script> & friends"
"""What the broken engine's pow raises: a report must show it as text, never run it."""


def _raising_pow(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(SCRIPT_MESSAGE)


def broken_engine() -> Engine:
    """torch with a wrong ``mul`` (failures) and a ``pow`` that raises markup (errors)."""
    return Engine(
        name="broken<mul>",
        namespace=TorchWith(mul=_wrong_mul, pow=_raising_pow),
        version="0.0-broken",
        description="torch whose mul adds one and whose pow raises",
    )


def _slow_tensor(*args: Any, **kwargs: Any) -> Any:
    time.sleep(0.15)
    return torch.tensor(*args, **kwargs)


def slow_engine() -> Engine:
    """torch whose ``tensor`` takes 0.15 s, so a run can be killed part-way."""
    return Engine(name="slow", namespace=TorchWith(tensor=_slow_tensor), version=torch.__version__)


# -- hostile engines: each attacks the harness, and the isolation tests show it fails -----
# The attacks run inside a case (in the worker process) unless said otherwise; each
# is torch with one op replaced, so only the cases calling that op are affected.


def _exits(status: int) -> Any:
    def exit_now(*args: Any, **kwargs: Any) -> Any:
        os._exit(status)

    return exit_now


exits_0 = TorchWith(pow=_exits(0), declared=True)
exits_1 = TorchWith(pow=_exits(1), declared=True)
exits_5 = TorchWith(pow=_exits(5), declared=True)


def _aborts(*args: Any, **kwargs: Any) -> Any:
    os.abort()


def _killed(*args: Any, **kwargs: Any) -> Any:
    """What the kernel's OOM killer does: SIGKILL, no chance to clean up."""
    os.kill(os.getpid(), signal.SIGKILL)


def _busy(*args: Any, **kwargs: Any) -> Any:
    while True:
        pass


def _ignores_sigterm(*args: Any, **kwargs: Any) -> Any:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(3600)


def _system_exit(*args: Any, **kwargs: Any) -> Any:
    sys.exit(0)


aborts_pow = TorchWith(pow=_aborts, declared=True)
killed_pow = TorchWith(pow=_killed, declared=True)
busy_cat = TorchWith(cat=_busy, declared=True)
stubborn_cat = TorchWith(cat=_ignores_sigterm, declared=True)
system_exit_pow = TorchWith(pow=_system_exit, declared=True)


def _raises(message: str) -> Any:
    def raise_it(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(message)

    return raise_it


HUGE_MESSAGE_BYTES = 20 * 1024 * 1024
huge_message_pow = TorchWith(pow=_raises("x" * HUGE_MESSAGE_BYTES), declared=True)
CONTROL_MESSAGE = "nul\x00 bell\x07 \x1b[31mred\x1b[0m \x1b]0;title\x07 end"
control_message_pow = TorchWith(pow=_raises(CONTROL_MESSAGE), declared=True)
SURROGATE_MESSAGE = "lone surrogate \udc80 here"
surrogate_message_pow = TorchWith(pow=_raises(SURROGATE_MESSAGE), declared=True)


def bracket_named() -> Engine:
    """Named ``eng[1]``: a name that reads like a pytest parameter id."""
    return Engine(name="eng[1]", namespace=torch, version="1", capabilities=_TORCH_CAPS)


def newline_named() -> Engine:
    return Engine(name="eng\nfake 100% pass", namespace=torch, version="1", capabilities=_TORCH_CAPS)


_forged: dict[str, bool] = {}
"""Each forger forges once per process: enough to be caught, and the test stays quick."""


def _forge_lines(*args: Any, **kwargs: Any) -> Any:
    """Appends a 'pass' for every claim to every gradspec file this process can find.

    The files are the worker's own (named on its command line) and the run's
    results.jsonl in the working directory's report folder ``out``.
    """
    from gradspec.spec.claims import all_claims

    if _forged.setdefault("lines", False):
        return _wrong_mul(*args, **kwargs)
    _forged["lines"] = True
    engine = "tests.engines_for_tests:forges_lines"
    lines = "".join(
        json.dumps({"type": "outcome", "case": c.id, "engine": engine, "verdict": "pass"}) + "\n"
        for c in all_claims()
    )
    argv = sys.argv
    targets = [Path("out") / "results.jsonl"]
    targets += [Path(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a.startswith("--gradspec-")]
    for target in targets:
        if target.is_file():
            with target.open("a", encoding="utf-8") as handle:
                handle.write(lines + "not json at all\n")
    return _wrong_mul(*args, **kwargs)


forges_lines = TorchWith(mul=_forge_lines, declared=True)


def _deletes_reports(*args: Any, **kwargs: Any) -> Any:
    """Removes the report folder ``out`` of the working directory, then answers wrongly."""
    shutil.rmtree("out", ignore_errors=True)
    return _wrong_mul(*args, **kwargs)


deletes_reports = TorchWith(mul=_deletes_reports, declared=True)


def patches_classify() -> Engine:
    """A wrong engine that, when loaded, makes gradspec's classification call everything a pass."""
    from gradspec.conformance import plugin
    from gradspec.conformance.outcomes import Verdict

    real = plugin.classify

    def lenient(item: Any, call: Any) -> Any:
        outcome = real(item, call)
        outcome.verdict = Verdict.PASS
        return outcome

    plugin.classify = lenient
    return Engine(name="patches-classify", namespace=wrong_mul, version="1", capabilities=_TORCH_CAPS)


def patches_gate() -> Engine:
    """A wrong engine that, when loaded, replaces gradspec's gate with one that always says 0."""
    import gradspec.conformance

    for name in ("run_command", "gate"):
        try:
            module = importlib.import_module(f"gradspec.conformance.{name}")
        except ImportError:
            continue
        for attr in ("verdict_exit_code", "gate_exit_code", "decide"):
            if hasattr(module, attr):
                setattr(module, attr, lambda *a, **k: 0)
    assert gradspec.conformance
    return Engine(name="patches-gate", namespace=wrong_mul, version="1", capabilities=_TORCH_CAPS)


def _forge_facts(*args: Any, **kwargs: Any) -> Any:
    """Writes, in the plugin's own format, a start and a passing report for every case to its channel.

    This is the best a file-writing forger can do: each forged case is then
    reported twice (forged and real), or reported without being run.
    """
    from gradspec.conformance.facts import case_facts
    from gradspec.spec.claims import all_claims

    if _forged.setdefault("facts", False):
        return _wrong_mul(*args, **kwargs)
    _forged["facts"] = True
    engine = "tests.engines_for_tests:forges_facts"
    argv = sys.argv
    channel = Path(argv[argv.index("--gradspec-channel") + 1])
    with channel.open("a", encoding="utf-8") as handle:
        for claim in all_claims():
            handle.write(json.dumps({"type": "start", "case": claim.id, "engine": engine}) + "\n")
            facts = case_facts(claim.id, engine, duration=0.0, observations={}, error=None)
            handle.write(json.dumps(facts) + "\n")
    return _wrong_mul(*args, **kwargs)


forges_facts = TorchWith(mul=_forge_facts, declared=True)


class _Unpicklable:
    """What a leaf's grad_fn is in an engine that gives leaves a node object (Paddle does)."""

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle this grad_fn")

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError("cannot copy this grad_fn")

    def __repr__(self) -> str:
        return "<LeafNode object>"


class _OddLeaf(torch.Tensor):
    """A torch tensor whose leaves report an unpicklable node object as grad_fn instead of None."""

    @property
    def grad_fn(self) -> Any:  # type: ignore[override]
        real = torch.Tensor.grad_fn.__get__(self)
        return _Unpicklable() if real is None and self.requires_grad else real


def _odd_tensor(*args: Any, **kwargs: Any) -> Any:
    made = torch.tensor(*args, **kwargs)
    return torch.Tensor._make_subclass(_OddLeaf, made, made.requires_grad)


unpicklable_leaf_grad_fn = TorchWith(tensor=_odd_tensor, declared=True)


hangs_when_probed = TorchWith(cat=_hang)
"""Not declared: loading probes its cat, which never returns."""
