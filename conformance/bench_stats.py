"""How sure a benchmark ratio is: a bootstrap interval for the ratio of two medians.

A ratio drawn from one noisy run is not a fact: on a busy machine one engine's
median can move by a factor while the other's does not. Every ratio gradspec shows
therefore carries a 95% interval, from resampling the run's rounds, and a ratio
whose interval is too wide is *unstable*: the page marks it and the gate refuses
to judge it.

When the engines ran interleaved (round 1 of every engine, then round 2, ...),
round *i* of one engine and round *i* of the reference saw the same state of the
machine, so the rounds are resampled in pairs and a slow minute moves both sides
of the ratio together instead of widening the interval. The resampling is seeded:
the same JSON always gives the same interval.

Resampling rounds assumes every round came from one state of the machine and of
the process. Neither holds from run to run: two runs in a row on a calm machine
gave ratios 4-7% apart while each run's rounds agreed to 1-2% (a process's memory
layout, its allocator's and its libraries' state are fixed when it starts). A
full run therefore times each workload in passes, each pass in a fresh process,
and the interval also takes in the spread between the passes' ratios: a Student-t
interval over their logarithms, with the passes (not the rounds) as the samples.
That interval always covers every pass's ratio, and two runs' intervals overlap
unless the ratio moved more than processes differ; when it is wider than the
rounds' own, the ratio is *widened* and says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
MIN_ROUNDS = 5
"""Fewer rounds than this on either side and the interval means little: the ratio is unstable."""
UNSTABLE_SPREAD = 1.25
"""A ratio is unstable when the top of its interval exceeds the bottom by more than this factor."""
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
"""Student's t quantile at 0.975 for 1..10 degrees of freedom (two-sided 95%)."""


@dataclass(frozen=True)
class Ratio:
    """A ratio of medians with its bootstrap interval; ``low``/``high`` are None without round data."""

    value: float
    low: float | None = None
    high: float | None = None
    rounds: int = 0
    pass_ratios: tuple[float, ...] = ()
    """The ratio of each pass's medians, when the rounds came in several passes."""
    widened: bool = False
    """Whether the between-pass interval reaches past the rounds' bootstrap one (and so widened it)."""

    @property
    def spread(self) -> float | None:
        """``high / low``: 1 is a point; :data:`UNSTABLE_SPREAD` and above is unstable."""
        if self.low is None or self.high is None or self.low <= 0:
            return None
        return self.high / self.low

    @property
    def unstable(self) -> bool:
        spread = self.spread
        return spread is None or self.rounds < MIN_ROUNDS or spread > UNSTABLE_SPREAD

    @property
    def why_unstable(self) -> str:
        """Why the ratio cannot be trusted, in a few words ('' when it can)."""
        if self.spread is None:
            return "no per-round data to estimate its spread"
        if self.rounds < MIN_ROUNDS:
            return f"only {self.rounds} rounds"
        if self.spread > UNSTABLE_SPREAD:
            why = f"95% interval spans a factor {self.spread:.2f} (over {UNSTABLE_SPREAD:g})"
            if self.widened:
                shown = ", ".join(f"{r:.3g}x" for r in self.pass_ratios)
                why += (
                    f", widened by the spread between its passes' ratios ({shown}): separate processes "
                    "disagreed more than one process's rounds"
                )
            return why
        return ""

    def text(self) -> str:
        """``2.31x [2.20-2.45]``, with ``unstable`` appended when it is."""
        if self.low is None or self.high is None:
            return f"{self.value:.3g}x [no interval]"
        shown = f"{self.value:.3g}x [{self.low:.3g}-{self.high:.3g}]"
        return shown + (" unstable" if self.unstable else "")

    def overlaps(self, other: Ratio) -> bool:
        """Whether the two intervals share a point (False when either has none)."""
        if None in (self.low, self.high, other.low, other.high):
            return False
        return self.low <= other.high and other.low <= self.high  # type: ignore[operator]


def pass_ratios(
    numerator: Sequence[float], denominator: Sequence[float], pass_ends: Sequence[int]
) -> tuple[float, ...]:
    """The ratio of medians within each pass; ``pass_ends[k]`` is the round count after pass k.

    Both sides ran the same rounds (interleaved), so one list of ends serves both.
    Passes with no rounds (or ends that do not fit the samples) give no ratios.
    """
    if len(pass_ends) < 2 or pass_ends[-1] != len(numerator) or len(numerator) != len(denominator):
        return ()
    out = []
    start = 0
    for end in pass_ends:
        if end > start:
            out.append(float(np.median(numerator[start:end]) / np.median(denominator[start:end])))
        start = end
    return tuple(out) if len(out) > 1 else ()


def ratio_of_medians(
    numerator: Sequence[float],
    denominator: Sequence[float],
    *,
    paired: bool,
    resamples: int = RESAMPLES,
    seed: int = 0,
    pass_ends: Sequence[int] = (),
) -> Ratio:
    """median(numerator) / median(denominator) with a percentile-bootstrap interval.

    ``paired`` resamples the same round indices on both sides (the rounds were
    interleaved, so round *i* of each shared the machine's state); it needs equal
    lengths. ``pass_ends`` (round counts at the end of each pass) widens the
    interval to cover every pass's own ratio. Empty samples give a ratio of NaN
    and no interval.
    """
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    if a.size == 0 or b.size == 0:
        return Ratio(math.nan)
    value = float(np.median(a) / np.median(b))
    rounds = int(min(a.size, b.size))
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.size, size=(resamples, a.size))
    if paired and a.size == b.size:
        ib = ia
    else:
        ib = rng.integers(0, b.size, size=(resamples, b.size))
    boot = np.median(a[ia], axis=1) / np.median(b[ib], axis=1)
    tail = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(boot, [tail, 1.0 - tail])
    low, high = float(min(low, value)), float(max(high, value))
    per_pass = pass_ratios(a, b, pass_ends) if paired else ()
    widened = False
    if per_pass:
        pass_low, pass_high = between_pass_interval(per_pass)
        widened = pass_low < low or pass_high > high
        low, high = min(low, pass_low), max(high, pass_high)
    return Ratio(value, low, high, rounds, per_pass, widened)


def between_pass_interval(per_pass: Sequence[float]) -> tuple[float, float]:
    """A 95% interval for the ratio from the passes' ratios alone, each pass one sample.

    Student's t over the logarithms (a ratio's noise multiplies): mean ± t·s/√k
    for k passes. With k ≤ 3 it always contains every pass's ratio (no point lies
    more than s·(k-1)/√k from the mean); with more passes it still contains
    their range, which is added so that no pass's own ratio is ever outside.
    """
    logs = np.log(np.asarray(per_pass, dtype=float))
    k = logs.size
    if k < 2:
        value = float(math.exp(logs[0])) if k else math.nan
        return value, value
    half = T_975[min(k - 1, len(T_975)) - 1] * float(np.std(logs, ddof=1)) / math.sqrt(k)
    mean = float(np.mean(logs))
    return (
        float(min(math.exp(mean - half), *per_pass)),
        float(max(math.exp(mean + half), *per_pass)),
    )
