"""The machinery every property claim shares (not a section: it registers no claim).

- :func:`property_claim` registers a hypothesis test ``f(T, ...)`` as a claim of
  kind ``property``, and records in the outcome how many examples hypothesis ran
  and which tolerances applied.
- :func:`counterexample` wraps one example's body: whatever it raises carries the
  example as a runnable program (``exception.counterexample``), which the plugin
  copies into the outcome record. Hypothesis re-raises the exception of the
  shrunk example last, so the program reported is the minimal one.
- :func:`expect_close` and :func:`grads_of` compare tensors through the
  tolerance table, treating a missing gradient (None) precisely.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
from hypothesis import settings

from gradspec.spec.claims import Level, claim, observe
from gradspec.spec.expect import ClaimViolation, values
from gradspec.spec.tolerances import Tolerance, describe

_examples: ContextVar[list[int] | None] = ContextVar("examples", default=None)


def property_claim(
    id: str,
    *,
    statement: str,
    section: str,
    needs: tuple[str, ...] = ("graph",),
    level: Level = Level.CORE,
    erratum: str | None = None,
    tolerances: tuple[tuple[str, str], ...] = (),
) -> Callable[[Callable[..., None]], Callable[[Any], None]]:
    """Register a hypothesis test taking ``T`` first as a property claim.

    ``tolerances`` names the (dtype, kind) rows of the tolerance table the
    property compares with; they are recorded in the outcome.
    """

    def register(test: Callable[..., None]) -> Callable[[Any], None]:
        @functools.wraps(test)
        def check(T: Any) -> None:
            # @given fixes a test's settings to the profile loaded when the module was
            # imported; gradspec chooses the profile later (HYPOTHESIS_PROFILE,
            # --hypothesis-profile, `gradspec mutants --profile`), so every call runs
            # under the profile loaded now. Without this, derandomize and
            # max_examples would depend on import order.
            test._hypothesis_internal_use_settings = settings.default  # type: ignore[attr-defined]
            count = [0]
            with counting(count):
                try:
                    test(T)
                finally:
                    observe("examples", count[0])
                    if tolerances:
                        observe("tolerances", [describe(d, k) for d, k in tolerances])

        check.__module__ = test.__module__
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
def counterexample(program: str | Callable[[], str]) -> Iterator[None]:
    """Count one example; attach ``program`` to whatever the body raises."""
    count_example()
    try:
        yield
    except Exception as exc:
        text = program() if callable(program) else program
        try:
            exc.counterexample = text  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without __dict__
            pass
        raise


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
