"""Shared assertion helpers: every failed claim has the same clear shape.

A failure names what was checked, what the note (or PyTorch) says it should be and
what the engine gave, so a report can show expected and actual side by side.
Values are read through ``tolist()``, which every engine offers and which works
for tensors on any device.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np


class ClaimViolation(AssertionError):
    """The engine answered, but not what the claim says."""

    def __init__(self, what: str, expected: Any, actual: Any, detail: str = "") -> None:
        self.what = what
        self.expected = expected
        self.actual = actual
        self.detail = detail
        message = f"{what}: expected {expected!r}, got {actual!r}"
        super().__init__(f"{message}. {detail}" if detail else message)


def values(tensor: Any) -> np.ndarray:
    """A tensor's values as a float64 NumPy array, whatever engine or device made it."""
    if hasattr(tensor, "tolist"):
        return np.asarray(tensor.tolist(), dtype=np.float64)
    return np.asarray(tensor, dtype=np.float64)


def show(tensor: Any) -> Any:
    """A short, engine-independent rendering of a value for failure messages."""
    if tensor is None:
        return None
    if hasattr(tensor, "tolist"):
        return tensor.tolist()
    return tensor


def expect_values(actual: Any, expected: Any, what: str, *, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """``actual`` is a tensor holding ``expected`` (same shape, close values)."""
    if actual is None:
        raise ClaimViolation(what, expected, None)
    got = values(actual)
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        raise ClaimViolation(what, want.tolist(), got.tolist())


def expect_equal(actual: Any, expected: Any, what: str) -> None:
    """``actual == expected`` for plain Python values (bools, names, counts)."""
    if actual != expected:
        raise ClaimViolation(what, expected, actual)


def expect_none(actual: Any, what: str) -> None:
    """``actual`` is ``None`` (for example a gradient that must not be kept)."""
    if actual is not None:
        raise ClaimViolation(what, None, show(actual))


def expect_is(actual: Any, expected: Any, what: str) -> None:
    """``actual`` is the very object ``expected`` (identity, not equality)."""
    if actual is not expected:
        raise ClaimViolation(what, f"the same object (id {id(expected)})", f"id {id(actual)}")


def expect_raises(
    action: Callable[[], Any],
    what: str,
    *,
    error: type[BaseException] | tuple[type[BaseException], ...] = RuntimeError,
    match: str | None = None,
) -> BaseException:
    """``action()`` raises ``error`` (whose message matches ``match``, if given)."""
    expected = error.__name__ if isinstance(error, type) else " or ".join(e.__name__ for e in error)
    if match:
        expected = f"{expected} matching {match!r}"
    try:
        result = action()
    except error as raised:
        if match and not re.search(match, str(raised)):
            raise ClaimViolation(what, expected, f"{type(raised).__name__}: {raised}") from raised
        return raised
    except Exception as raised:  # noqa: BLE001 - the wrong exception is a violation too
        raise ClaimViolation(what, expected, f"{type(raised).__name__}: {raised}") from raised
    raise ClaimViolation(what, expected, f"no exception (returned {show(result)!r})")
