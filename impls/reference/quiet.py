"""Floating-point errors as values, never warnings: ``log(-1)`` is NaN and ``1 / 0`` is inf,
silently, as in torch.

``np.errstate(all="ignore")`` does this but costs microseconds per use, more than the
ops it guards on small tensors. NumPy 2 keeps the error state in a context variable;
setting it to a prebuilt "ignore" state is the same thing for a fraction of the cost.
If that private hook is missing (another NumPy), ``np.errstate`` is used instead.

Two forms: ``with quiet():`` for code that runs once per call, and the pair
``token = hush()`` ... ``unhush(token)`` (in a ``try``/``finally``) for the ops' hot
paths, where ``hush`` and ``unhush`` are the context variable's own C methods, so
entering and leaving costs no Python frame at all.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

try:
    from numpy._core.umath import _extobj_contextvar, _make_extobj

    _IGNORE = _make_extobj(all="ignore")

    hush = partial(_extobj_contextvar.set, _IGNORE)
    """Ignore floating-point errors from now on; returns the token that ``unhush`` takes."""
    unhush = _extobj_contextvar.reset
    """Restore the error state ``hush`` replaced."""

    class _Quiet:
        __slots__ = ("_token",)

        def __enter__(self) -> None:
            self._token = _extobj_contextvar.set(_IGNORE)

        def __exit__(self, *exc: object) -> None:
            _extobj_contextvar.reset(self._token)

    def quiet() -> Any:
        """A context manager in which NumPy ignores floating-point errors."""
        return _Quiet()

except ImportError:  # pragma: no cover - depends on the NumPy build

    def quiet() -> Any:
        """A context manager in which NumPy ignores floating-point errors."""
        return np.errstate(all="ignore")

    def hush() -> Any:
        """Ignore floating-point errors from now on; returns the token that ``unhush`` takes."""
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def unhush(token: Any) -> None:
        """Restore the error state ``hush`` replaced."""
        token.__exit__(None, None, None)
