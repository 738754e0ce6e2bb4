"""The machinery every property claim shares (not a section: it registers no claim).

- :func:`property_claim` registers a hypothesis test ``f(T, ...)`` as a claim of
  kind ``property``, and records in the outcome how many examples hypothesis ran,
  which tolerances applied and what the examples covered.
- Coverage: each example reports the (op, condition) pairs it exercised
  (``counterexample(..., cover=...)``); the counts travel in the outcome as
  ``observations["coverage"]``. A property given a ``coverage`` object (its
  catalogue of pairs, see :mod:`gradspec.spec.catalogue`) then runs seeded top-up
  examples aimed at the pairs the random examples missed, so every run reaches
  every pair the property can express; the outcome says which pairs needed them.
- Degrading: a property whose coverage object says the engine offers nothing it
  can draw is *unsupported* with that reason; an example on which the engine
  raises NotImplementedError, or AttributeError for a name of a capability it
  does not declare, is skipped as unsupported for that example, and the property
  is unsupported only if every example was.
- :func:`counterexample` wraps one example's body: whatever it raises carries the
  example as a runnable program (``exception.counterexample``), which the plugin
  copies into the outcome record. Hypothesis re-raises the exception of the
  shrunk example last, so the program reported is the minimal one.
- :func:`expect_close` and :func:`grads_of` compare tensors through the
  tolerance table, treating a missing gradient (None) precisely.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from hypothesis import event, reject, settings
from hypothesis.control import currently_in_test_context
from hypothesis.errors import UnsatisfiedAssumption

from gradspec.spec.capabilities import CAPABILITIES
from gradspec.spec.claims import Level, Unsupported, claim, engine_capabilities, observe
from gradspec.spec.expect import ClaimViolation, values
from gradspec.spec.tolerances import Tolerance, describe

_examples: ContextVar[list[int] | None] = ContextVar("examples", default=None)


class Coverage(Protocol):
    """What a property can exercise, and how to reach what its random examples missed."""

    def unsupported(self) -> str | None: ...

    def catalogue(self) -> set[str]: ...

    def top_up(self, missing: set[str]) -> Iterator[tuple[dict[str, Any], set[str]]]: ...


@dataclass
class _Tally:
    """One property run's coverage counts and the examples the engine could not run."""

    counts: Counter[str] = field(default_factory=Counter)
    topped_up: Counter[str] = field(default_factory=Counter)
    unsupported: Counter[str] = field(default_factory=Counter)
    topping: bool = False


_tally: ContextVar[_Tally | None] = ContextVar("coverage", default=None)


def assume(condition: object) -> None:
    """hypothesis's ``assume``, also for top-up examples run outside hypothesis."""
    if not condition:
        if currently_in_test_context():
            reject()
        raise UnsatisfiedAssumption()


def record_coverage(pairs: Iterable[str]) -> None:
    """The running example exercised ``pairs`` (each counted once per example)."""
    tally = _tally.get()
    unique = set(pairs)
    if tally is not None:
        (tally.topped_up if tally.topping else tally.counts).update(unique)
    if currently_in_test_context():
        for pair in sorted(unique):
            event(pair)


def property_claim(
    id: str,
    *,
    statement: str,
    section: str,
    needs: tuple[str, ...] = ("graph",),
    level: Level = Level.CORE,
    erratum: str | None = None,
    tolerances: tuple[tuple[str, str], ...] = (),
    coverage: Coverage | None = None,
) -> Callable[[Callable[..., None]], Callable[[Any], None]]:
    """Register a hypothesis test taking ``T`` first as a property claim.

    ``tolerances`` names the (dtype, kind) rows of the tolerance table the
    property compares with; they are recorded in the outcome. ``coverage`` is the
    property's catalogue of (op, condition) pairs: the pairs random examples miss
    are reached by top-up examples, and the outcome records the counts.
    """

    def register(test: Callable[..., None]) -> Callable[[Any], None]:
        @functools.wraps(test)
        def check(T: Any) -> None:
            reason = coverage.unsupported() if coverage is not None else None
            if reason:
                raise Unsupported(reason)
            # @given fixes a test's settings to the profile loaded when the module was
            # imported; gradspec chooses the profile later (HYPOTHESIS_PROFILE,
            # --hypothesis-profile, `gradspec mutants --profile`), so every call runs
            # under the profile loaded now. Without this, derandomize and
            # max_examples would depend on import order.
            test._hypothesis_internal_use_settings = settings.default  # type: ignore[attr-defined]
            count = [0]
            tally = _Tally()
            token = _tally.set(tally)
            with counting(count):
                try:
                    test(T)
                    if coverage is not None:
                        _top_up(test, T, coverage, tally)
                    if tally.unsupported and count[0] == sum(tally.unsupported.values()):
                        raise Unsupported("; ".join(sorted(tally.unsupported)))
                finally:
                    _tally.reset(token)
                    observe("examples", count[0])
                    if tolerances:
                        observe("tolerances", [describe(d, k) for d, k in tolerances])
                    if coverage is not None or tally.counts:
                        observe("coverage", _coverage_record(coverage, tally))
                    if tally.unsupported:
                        observe("unsupported_examples", dict(tally.unsupported))

        check.__module__ = test.__module__
        check.coverage = coverage  # type: ignore[attr-defined]
        claim(
            id,
            statement=statement,
            section=section,
            level=level,
            needs=needs,
            erratum=erratum,
            kind="property",
        )(check)
        return check

    return register


def _top_up(test: Any, T: Any, coverage: Coverage, tally: _Tally) -> None:
    """Run seeded examples aimed at the catalogue pairs the random examples did not reach."""
    inner = test.hypothesis.inner_test
    missing = coverage.catalogue() - set(tally.counts)
    tally.topping = True
    try:
        for kwargs, reaches in coverage.top_up(missing):
            unreached = coverage.catalogue() - set(tally.counts) - set(tally.topped_up)
            if not unreached:
                break
            if not reaches & unreached:
                continue
            try:
                inner(T, **kwargs)
            except UnsatisfiedAssumption:
                continue
    finally:
        tally.topping = False


def _coverage_record(coverage: Coverage | None, tally: _Tally) -> dict[str, Any]:
    """The coverage observation: the catalogue, and per pair how many examples reached it."""
    catalogue = sorted(coverage.catalogue()) if coverage is not None else sorted(tally.counts)
    return {
        "catalogue": catalogue,
        "examples": dict(sorted(tally.counts.items())),
        "topped_up": dict(sorted(tally.topped_up.items())),
    }


_MISSING_NAME = re.compile(r"has no attribute '(\w+)'")


def undeclared_feature(exc: BaseException) -> str | None:
    """Why ``exc`` means the engine lacks a feature it does not declare (None: a real error).

    NotImplementedError counts when the engine declares less than every capability;
    AttributeError when the missing name belongs to a capability it does not declare.
    """
    declared = engine_capabilities()
    if declared is None:
        return None
    if isinstance(exc, NotImplementedError) and set(CAPABILITIES) - declared:
        return f"NotImplementedError: {exc}"
    if isinstance(exc, AttributeError):
        match = _MISSING_NAME.search(str(exc))
        name = match.group(1) if match else None
        owners = {cap for cap, paths in CAPABILITIES.items() if any(p.split(".")[-1] == name for p in paths)}
        if name and owners and not owners <= declared:
            return f"AttributeError: {exc}"
    return None


@contextmanager
def counting(count: list[int]) -> Iterator[None]:
    """Count the examples run inside the block into ``count[0]``."""
    token = _examples.set(count)
    try:
        yield
    finally:
        _examples.reset(token)


def count_example() -> None:
    """One more example ran (for the outcome's ``examples`` observation)."""
    count = _examples.get()
    if count is not None:
        count[0] += 1


@contextmanager
def counterexample(program: str | Callable[[], str], *, cover: Iterable[str] | None = None) -> Iterator[None]:
    """Count one example covering ``cover``; attach ``program`` to whatever the body raises.

    An exception that shows the engine lacks an undeclared feature (see
    :func:`undeclared_feature`) skips the example as unsupported instead.
    """
    count_example()
    try:
        yield
    except (NotImplementedError, AttributeError) as exc:
        why = undeclared_feature(exc)
        tally = _tally.get()
        if why is None or tally is None:
            _attach(exc, program)
            raise
        tally.unsupported[why] += 1
        if currently_in_test_context():
            reject()
        raise UnsatisfiedAssumption() from exc
    except Exception as exc:
        _attach(exc, program)
        raise
    else:
        if cover is not None:
            record_coverage(cover)


def _attach(exc: BaseException, program: str | Callable[[], str]) -> None:
    text = program() if callable(program) else program
    try:
        exc.counterexample = text  # type: ignore[attr-defined]
    except AttributeError:  # an exception type without __dict__
        pass


def expect_close(actual: Any, expected: Any, what: str, tol: Tolerance) -> None:
    """``actual`` (a tensor, or None) holds ``expected`` (an array) within ``tol``."""
    if actual is None:
        raise ClaimViolation(what, np.asarray(expected).tolist(), None)
    got = read(actual)
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        raise ClaimViolation(f"{what} (shape)", list(want.shape), list(got.shape))
    bad = tol.mismatch(got, want)
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        detail = f"first difference at index {where}: {got[where]!r} vs {want[where]!r} ({tol})"
        raise ClaimViolation(what, want.tolist(), got.tolist(), detail)


def expect_grad(actual: Any, expected: Any | None, what: str, tol: Tolerance) -> None:
    """A gradient slot: None where ``expected`` is None, else close to it."""
    if expected is None:
        if actual is not None:
            raise ClaimViolation(what, None, read(actual).tolist())
        return
    expect_close(actual, expected, what, tol)


def grads_of(env: dict[str, Any], names: list[str]) -> dict[str, np.ndarray | None]:
    """The ``.grad`` of each named tensor as a float64 array (None stays None)."""
    out: dict[str, np.ndarray | None] = {}
    for name in names:
        grad = env[name].grad
        out[name] = None if grad is None else read(grad)
    return out


def read(tensor: Any) -> np.ndarray:
    """A tensor's values as float64, also for PyTorch's storage-less gradients.

    PyTorch 2.x can hand back, as a leaf's .grad, one of its internal "efficient
    zero tensors" (the second derivative of abs through create_graph is one):
    ``tolist()`` refuses it though its values are defined, and ``tensor * 1``
    stays one, so such a tensor is read through ``tensor + 0``, which allocates.
    """
    try:
        return values(tensor)
    except RuntimeError:
        return values(tensor + 0)


def reference_engine() -> Any:
    """The reference engine, loaded once (the differential oracle)."""
    return _reference()


@functools.lru_cache(maxsize=1)
def _reference() -> Any:
    from gradspec.conformance.loader import load_engine

    return load_engine("reference")
