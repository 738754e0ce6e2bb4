"""One table of numerical tolerances, per dtype and per kind of comparison.

Every property that compares numbers takes its tolerance from here and records
the row it used in the outcome (``observe("tolerance", ...)``), so a report says
how close "agrees" had to be. Comparisons are scale-aware: ``atol`` is multiplied
by the largest magnitude in the expected array (at least 1), because an error of
1e-6 is noise next to 1e3 and a bug next to 1e-3 only when values are that small.

Why these numbers:

- ``engines``: two engines computing the same float64 graph differ only by
  summation order, a few ulps per op; float32 carries about 7 digits and the
  graphs chain up to a dozen ops.
- ``finite-differences``: central differences with step 1e-6 in float64 have
  truncation error ~h² and rounding error ~1e-16/h ≈ 1e-10 relative to the
  function's size; gradients are compared to 1e-5.
- ``second-order``: a Hessian-vector product against a central difference of
  gradients (step 1e-5) loses about three more digits.
- ``training``: a few SGD steps in float32 compound per-step rounding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """|actual - expected| <= atol * max(1, max|expected|) + rtol * |expected|."""

    rtol: float
    atol: float

    def mismatch(self, actual: Any, expected: Any) -> np.ndarray:
        """A boolean mask of the elements outside the tolerance (shape-checked by the caller)."""
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
        scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
        bound = self.atol * scale + self.rtol * np.abs(e)
        return ~(np.abs(a - e) <= bound)

    def close(self, actual: Any, expected: Any) -> bool:
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
        return a.shape == e.shape and not bool(np.any(self.mismatch(a, e)))


FINITE_DIFFERENCE_STEP = 1e-6
SECOND_ORDER_STEP = 1e-5

TOLERANCES: dict[str, dict[str, Tolerance]] = {
    "float64": {
        "engines": Tolerance(rtol=1e-9, atol=1e-10),
        "finite-differences": Tolerance(rtol=1e-5, atol=1e-6),
        "second-order": Tolerance(rtol=1e-3, atol=1e-4),
        "exact-arithmetic": Tolerance(rtol=1e-12, atol=1e-12),
        "training": Tolerance(rtol=1e-8, atol=1e-9),
    },
    "float32": {
        "engines": Tolerance(rtol=1e-4, atol=1e-5),
        "exact-arithmetic": Tolerance(rtol=1e-5, atol=1e-6),
        "training": Tolerance(rtol=1e-3, atol=1e-4),
    },
}


def tolerance(dtype: str, kind: str) -> Tolerance:
    """The tolerance for comparing ``kind`` values computed in ``dtype``."""
    return TOLERANCES[dtype][kind]


def describe(dtype: str, kind: str) -> dict[str, Any]:
    """The row as plain data for an outcome record."""
    return {"dtype": dtype, "kind": kind, **asdict(TOLERANCES[dtype][kind])}


def table() -> dict[str, dict[str, dict[str, float]]]:
    """The whole table as plain data (for reports and ``gradspec list``)."""
    return {d: {k: asdict(t) for k, t in row.items()} for d, row in TOLERANCES.items()}
