"""Downsampling for charts keeps the shape: extremes, ends and broken (non-finite) points."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xsite.site.series import json_number, keep_indices, summarize


def test_short_series_are_kept_whole() -> None:
    assert keep_indices(np.arange(10.0), limit=10).tolist() == list(range(10))


@given(
    arrays(np.float64, st.integers(1, 5000), elements=st.floats(allow_nan=True)),
    st.integers(4, 400),
)
def test_downsampling_keeps_extremes_ends_and_non_finite(values: np.ndarray, limit: int) -> None:
    kept = keep_indices(values, limit)
    assert np.all(np.diff(kept) > 0)
    assert kept[0] == 0 and kept[-1] == len(values) - 1
    assert set(np.flatnonzero(~np.isfinite(values))) <= set(kept.tolist())
    finite = values[np.isfinite(values)]
    if finite.size:
        assert finite.min() in values[kept] and finite.max() in values[kept]
    if len(values) > limit:
        non_finite = int((~np.isfinite(values)).sum())
        assert len(kept) <= limit + 4 + non_finite


def test_a_spike_in_a_long_series_survives() -> None:
    values = np.sin(np.linspace(0, 20, 100_000))
    values[77_777] = 50.0
    kept = keep_indices(values, 1000)
    assert 77_777 in kept and len(kept) <= 1000


def test_summary_finds_min_max_and_last_in_logging_order() -> None:
    steps = np.array([0, 1, 2, 3])
    summary = summarize(steps, np.array([0.5, math.nan, 0.1, 0.9]))
    assert (summary.min, summary.min_step, summary.max, summary.max_step) == (0.1, 2, 0.9, 3)
    assert (summary.last, summary.last_step, summary.count) == (0.9, 3, 4)
    broken = summarize(np.array([0]), np.array([math.inf]))
    assert broken.min is None and broken.last == math.inf


def test_non_finite_numbers_become_json_strings() -> None:
    assert [json_number(v) for v in (1.5, math.nan, math.inf, -math.inf)] == [
        1.5,
        "NaN",
        "Infinity",
        "-Infinity",
    ]
