"""Engine loading: from the text a user types after --engine to an :class:`Engine`.

An engine spec is one of
- a registered name (gradspec's own ``reference``, ``torch-cpu``, ``torch-cuda``,
  or any name a package registers in the ``gradspec.engines`` entry-point group);
- ``module:attr`` naming an :class:`Engine`, a zero-argument factory returning
  one, or a torch-like namespace;
- an importable module name that is itself a torch-like namespace (``torch``).

Anything that is not already an Engine is probed for its metadata, so the
``torch`` module loads unchanged.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import traceback
import unicodedata
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from gradspec.conformance.engine import Engine
from gradspec.conformance.probe import probe_engine

ENTRY_POINT_GROUP = "gradspec.engines"

# gradspec's own engines, also registered as entry points; listed here too so a
# source checkout that was never installed still finds them.
BUILTIN_ENGINES: dict[str, str] = {
    "reference": "gradspec.impls.reference:engine",
    "torch-cpu": "gradspec.impls.torch_engine:cpu_engine",
    "torch-cuda": "gradspec.impls.torch_engine:cuda_engine",
    "mygrad": "gradspec.impls.mygrad_engine:engine",
    "tinygrad": "gradspec.impls.tinygrad_engine:engine",
}


class EngineLoadError(Exception):
    """An engine spec that names nothing loadable; the message is one line for the user."""


MAX_NAME = 100
"""Longest engine name accepted: names head report columns and JUnit suites."""


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name an engine in outcomes and reports, or None when it can.

    Reports key outcomes by ``case[engine]`` and terminals print names raw, so a
    name may hold no brackets, no control or invisible characters (a newline could
    forge a line of output), and no surrounding blanks. Markup such as ``<b>`` is
    fine: every report escapes it.
    """
    if not isinstance(name, str) or not name.strip():
        return "an engine name must be a non-empty string"
    if len(name) > MAX_NAME:
        return f"an engine name is at most {MAX_NAME} characters"
    if name != name.strip():
        return "an engine name may not start or end with blanks"
    for char in name:
        if char in "[]":
            return "an engine name may not contain '[' or ']' (reports write outcomes as case[engine])"
        if unicodedata.category(char).startswith(("C", "Z")) and char != " ":
            return f"an engine name may not contain control or invisible characters ({char!r})"
    return None


def registered_engines() -> dict[str, str]:
    """Every registered engine name and the ``module:attr`` it points at."""
    names = dict(BUILTIN_ENGINES)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, ep.value)
    return dict(sorted(names.items()))


def _available() -> str:
    return ", ".join(registered_engines()) + ", torch, or module:attr"


def _import_target(target: str) -> Any:
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr_path.split(".")):
        obj = getattr(obj, part)
    return obj


def as_engine(obj: Any, label: str) -> Engine:
    """Turn whatever a spec resolved to into an Engine (calling factories, probing namespaces)."""
    if isinstance(obj, Engine):
        return obj
    if callable(obj) and not isinstance(obj, (ModuleType, type)):
        made = obj()
        if isinstance(made, Engine):
            return made
        return probe_engine(made, label)
    return probe_engine(obj, label)


def load_engine(spec: str) -> Engine:
    """Load one engine; raise :class:`EngineLoadError` with a one-line reason if impossible."""
    registry = registered_engines()
    target = registry.get(spec, spec)
    explicit = spec in registry or ":" in spec
    try:
        obj = _import_target(target)
    except ModuleNotFoundError as exc:
        if not explicit and exc.name == spec.split(".")[0]:
            raise EngineLoadError(f"unknown engine {spec!r}; available: {_available()}") from exc
        hint = ""
        if ":" in spec and exc.name and target.startswith(exc.name):
            hint = (
                f" (module:attr is imported like any module: is {exc.name.split('.')[0]!r} importable "
                f"from {os.getcwd()}? add its folder to PYTHONPATH or pip install it)"
            )
        raise EngineLoadError(
            f"engine {spec!r} failed to import: {exc}{hint}; available: {_available()}"
        ) from exc
    except AttributeError as exc:
        raise EngineLoadError(f"engine {spec!r}: {exc}; available: {_available()}") from exc
    except Exception as exc:  # noqa: BLE001 - any import-time failure is reported, not raised
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise EngineLoadError(f"engine {spec!r} failed to import: {last}") from exc
    try:
        engine = as_engine(obj, spec)
    except Exception as exc:  # noqa: BLE001
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise EngineLoadError(f"engine {spec!r} failed to start: {last}") from exc
    problem = name_problem(engine.name)
    if problem:
        raise EngineLoadError(f"engine {spec!r} is named {engine.name!r}: {problem}")
    return engine


def load_engines(specs: list[str]) -> list[Engine]:
    """Load several engines, refusing two that report the same name."""
    engines = [load_engine(spec) for spec in specs]
    names = [e.name for e in engines]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EngineLoadError(f"engine name given twice: {', '.join(duplicates)}")
    return engines


# -- loading in a separate process -------------------------------------------------
# ``gradspec run`` never imports an engine itself: an engine's import-time code
# could patch the supervisor's gate. It asks a short-lived process to load the
# engines and print their metadata as JSON instead.

DESCRIBE = "gradspec-engines/1"


def available_engines() -> list[str]:
    """Registered engines that load and can run on this machine (for ``--all-engines``)."""
    usable = []
    for name in registered_engines():
        try:
            engine = load_engine(name)
        except EngineLoadError as exc:
            print(f"gradspec: skipping {name}: {exc}", file=sys.stderr)
            continue
        if engine.unavailable:
            print(f"gradspec: skipping {name}: {engine.unavailable}", file=sys.stderr)
            continue
        usable.append(name)
    return usable


def _describe(specs: list[str], usable: bool) -> dict[str, Any]:
    if usable:
        specs = [*specs, *available_engines()]
    try:
        engines = load_engines(specs)
    except EngineLoadError as exc:
        return {"schema": DESCRIBE, "error": str(exc)}
    return {"schema": DESCRIBE, "specs": specs, "engines": [e.metadata() for e in engines]}


def describe_main(argv: list[str] | None = None) -> None:
    """Entry of the describing process: ``[--usable] SPEC...`` -> one JSON line on stdout."""
    args = list(sys.argv[1:] if argv is None else argv)
    options, specs = (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else ([], args)
    usable = "--usable" in options
    record = _describe(specs, usable)
    # Whatever the engines printed while loading went to stdout first; the record is the last line.
    print("\n" + json.dumps(record), flush=True)


LOAD_TIMEOUT = 300.0
"""Seconds the loading process may take (probing an engine runs its ops) before the run is refused."""


def describe_engines(
    specs: list[str], *, usable: bool = False, timeout: float = LOAD_TIMEOUT
) -> tuple[list[str], list[dict[str, Any]]]:
    """Load ``specs`` (and with ``usable`` every registered engine that runs here) in a child process.

    Returns the specs and the engines' metadata; raises :class:`EngineLoadError` with
    the child's one-line reason. The metadata is the engine's word: names are
    checked again here, where the engine's code does not run.
    """
    # Its own session (a hang is killed with its group), so it watches this process:
    # killed here, it must not go on loading or probing engines unattended.
    code = (
        f"from gradspec.conformance import lifeline; lifeline.watch({os.getpid()}); "
        "from gradspec.conformance.loader import describe_main; describe_main()"
    )
    argv = [sys.executable, "-c", code, *(["--usable"] if usable else []), "--", *specs]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, text=True, errors="backslashreplace", start_new_session=True
    ) as child:
        try:
            out, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, 9)
            child.communicate()
            raise EngineLoadError(
                f"loading the engines {' '.join(specs)} took longer than {timeout:g} s (an engine "
                "hangs while it is imported or probed)"
            ) from None
    lines = out.strip().splitlines()
    try:
        record = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        record = None
    if not isinstance(record, dict) or record.get("schema") != DESCRIBE:
        raise EngineLoadError(
            f"loading the engines {' '.join(specs)} did not finish (the loading process ended with "
            f"exit status {child.returncode} and no description)"
        )
    if "error" in record:
        raise EngineLoadError(str(record["error"]))
    engines = record.get("engines")
    found = record.get("specs")
    if not isinstance(engines, list) or not isinstance(found, list) or len(engines) != len(found):
        raise EngineLoadError("loading the engines gave a malformed description")
    for spec, meta in zip(found, engines, strict=True):
        problem = name_problem(meta.get("name") if isinstance(meta, dict) else None)
        if problem:
            raise EngineLoadError(f"engine {spec!r} is named {meta.get('name')!r}: {problem}")
    names = [meta["name"] for meta in engines]
    if len(set(names)) != len(names):
        raise EngineLoadError(
            f"engine name given twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}"
        )
    return found, engines
