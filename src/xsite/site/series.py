"""Metric series for display: downsampled so that charts stay fast, extremes kept.

A chart is at most a few thousand pixels wide, so drawing 100,000 points per run only costs
time. Each series is cut into buckets and keeps, per bucket, its first, last, lowest and
highest point (the M4 aggregation): the drawn line looks the same, spikes included, and
non-finite values (NaN, ±inf), which usually mark where training broke, are always kept.
"""

from __future__ import annotations

import math
from math import isfinite
from typing import NamedTuple

import numpy as np

DEFAULT_POINTS = 1000


class Summary(NamedTuple):
    """What a run page says about one metric without drawing it.

    A named tuple rather than a dataclass: the build cache holds one per run and metric, and
    tuples pickle several times faster.
    """

    last: float
    last_step: int
    min: float | None
    min_step: int | None
    max: float | None
    max_step: int | None
    count: int  # type: ignore[assignment]  # a field, where tuple has a method


def keep_indices(values: np.ndarray, limit: int = DEFAULT_POINTS) -> np.ndarray:
    """Sorted indices of the points to draw: all of them when there are at most ``limit``."""
    n = len(values)
    if n <= limit:
        return np.arange(n)
    buckets = max(1, limit // 4)
    size = math.ceil(n / buckets)
    finite = np.isfinite(values)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = np.where(finite, values, np.nan)
    grid = padded.reshape(buckets, size)
    starts = np.arange(buckets) * size
    has_finite = ~np.all(np.isnan(grid), axis=1)
    filled_low = np.where(np.isnan(grid), np.inf, grid)
    filled_high = np.where(np.isnan(grid), -np.inf, grid)
    lows = starts + np.argmin(filled_low, axis=1)
    highs = starts + np.argmax(filled_high, axis=1)
    firsts = starts[starts < n]
    lasts = np.minimum(starts + size, n) - 1
    chosen = np.concatenate(
        [firsts, lasts[: len(firsts)], lows[has_finite], highs[has_finite], np.flatnonzero(~finite)]
    )
    return np.unique(chosen)


def summarize(steps: np.ndarray, values: np.ndarray) -> Summary:
    """Last value (in logging order), and the finite min and max with their steps."""
    finite = np.isfinite(values)
    low = high = None
    if finite.any():
        candidates = np.flatnonzero(finite)
        low = int(candidates[np.argmin(values[finite])])
        high = int(candidates[np.argmax(values[finite])])
    return Summary(
        last=float(values[-1]),
        last_step=int(steps[-1]),
        min=None if low is None else float(values[low]),
        min_step=None if low is None else int(steps[low]),
        max=None if high is None else float(values[high]),
        max_step=None if high is None else int(steps[high]),
        count=len(values),
    )


def json_number(value: float | None) -> float | str | None:
    """JSON has no NaN or infinity (``JSON.parse`` rejects them): spell those as strings."""
    if value is None or isfinite(value):
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
