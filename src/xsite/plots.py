"""The common evaluation plots, from labels and scores, with NumPy alone.

Each helper returns a :class:`Plot`: the ``table`` of numbers behind it (a DataFrame to
keep with the run) and a Vega-Lite ``chart`` that draws that table (a dict, with the data
inline, that the site's Vega draws as it is). scikit-learn is not needed; the numbers are
the ones scikit-learn computes (tested against it).

>>> plot = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
>>> round(plot.value, 2)
0.75
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"
"""The schema a chart names (only as an identifier: nothing is fetched)."""


@dataclass(frozen=True)
class Plot:
    table: pd.DataFrame
    chart: dict[str, Any]
    value: float | None = None
    """The plot's one-number summary: the area under a curve (None for a matrix)."""


def confusion_matrix(
    y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any] | None = None
) -> Plot:
    """Counts of each (true, predicted) pair, every pair of ``labels`` (default: the sorted
    labels seen) included; the chart is a heatmap with the counts written in."""
    import pandas as pd

    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    if truth.shape != predicted.shape:
        raise ValueError(f"y_true has {truth.shape} labels but y_pred {predicted.shape}")
    order = (
        list(labels)
        if labels is not None
        else sorted(set(truth.tolist()) | set(predicted.tolist()))
    )
    index = {label: i for i, label in enumerate(order)}
    counts = np.zeros((len(order), len(order)), dtype=np.int64)
    for t, p in zip(truth.tolist(), predicted.tolist(), strict=True):
        if t in index and p in index:
            counts[index[t], index[p]] += 1
    table = pd.DataFrame(
        [
            {"true": str(t), "predicted": str(p), "count": int(counts[i, j])}
            for i, t in enumerate(order)
            for j, p in enumerate(order)
        ]
    )
    names = [str(label) for label in order]
    base = {
        "x": {"field": "predicted", "type": "nominal", "sort": names, "title": "predicted"},
        "y": {"field": "true", "type": "nominal", "sort": names, "title": "true"},
    }
    chart = {
        "$schema": VEGA_LITE,
        "data": {"values": table.to_dict("records")},
        "encoding": base,
        "layer": [
            {"mark": "rect", "encoding": {"color": {"field": "count", "type": "quantitative"}}},
            {"mark": "text", "encoding": {"text": {"field": "count", "type": "quantitative"}}},
        ],
    }
    return Plot(table, chart)


def roc_curve(y_true: Sequence[Any], y_score: Sequence[float], positive: Any = 1) -> Plot:
    """False and true positive rates at each threshold (the points scikit-learn's
    ``roc_curve(drop_intermediate=False)`` gives), and the area under the curve."""
    import pandas as pd

    thresholds, true_positives, false_positives = _counts(y_true, y_score, positive)
    positives, negatives = true_positives[-1], false_positives[-1]
    if positives == 0 or negatives == 0:
        raise ValueError("a ROC curve needs both positive and negative examples")
    fpr = np.concatenate([[0.0], false_positives / negatives])
    tpr = np.concatenate([[0.0], true_positives / positives])
    table = pd.DataFrame(
        {"fpr": fpr, "tpr": tpr, "threshold": np.concatenate([[np.inf], thresholds])}
    )
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # the trapezoidal rule
    return Plot(
        table, _curve(table, "fpr", "tpr", "false positive rate", "true positive rate"), area
    )


def pr_curve(y_true: Sequence[Any], y_score: Sequence[float], positive: Any = 1) -> Plot:
    """Precision and recall at each threshold (as scikit-learn's
    ``precision_recall_curve``, ending at recall 0, precision 1), and the average precision."""
    import pandas as pd

    thresholds, true_positives, false_positives = _counts(y_true, y_score, positive)
    if true_positives[-1] == 0:
        raise ValueError("a precision-recall curve needs positive examples")
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / true_positives[-1]
    # From the highest recall down, as scikit-learn orders it, with the (0, 1) end point.
    table = pd.DataFrame(
        {
            "recall": np.concatenate([recall[::-1], [0.0]]),
            "precision": np.concatenate([precision[::-1], [1.0]]),
            "threshold": np.concatenate([thresholds[::-1], [np.nan]]),
        }
    )
    average = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))
    return Plot(table, _curve(table, "recall", "precision", "recall", "precision"), average)


def _counts(
    y_true: Sequence[Any], y_score: Sequence[float], positive: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds, highest first, and the true and false positives at each."""
    truth = np.asarray(y_true) == positive
    scores = np.asarray(y_score, dtype=float)
    if truth.shape != scores.shape:
        raise ValueError(f"y_true has {truth.shape} labels but y_score {scores.shape} scores")
    order = np.argsort(-scores, kind="mergesort")
    scores, truth = scores[order], truth[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    true_positives = np.cumsum(truth)[last_of_each].astype(float)
    false_positives = (last_of_each + 1 - true_positives).astype(float)
    return scores[last_of_each], true_positives, false_positives


def _curve(table: pd.DataFrame, x: str, y: str, x_title: str, y_title: str) -> dict[str, Any]:
    values = table[[x, y]].to_dict("records")
    return {
        "$schema": VEGA_LITE,
        "data": {"values": values},
        "mark": {"type": "line", "interpolate": "step-after" if x == "recall" else "linear"},
        "encoding": {
            "x": {
                "field": x,
                "type": "quantitative",
                "title": x_title,
                "scale": {"domain": [0, 1]},
            },
            "y": {
                "field": y,
                "type": "quantitative",
                "title": y_title,
                "scale": {"domain": [0, 1]},
            },
            "order": {"field": x, "type": "quantitative"},
        },
    }
