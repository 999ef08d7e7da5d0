"""``xsite.plots``: the numbers are scikit-learn's, and the charts draw in Vega-Lite's shape."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from xsite import plots


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(0)
    truth = generator.integers(0, 2, 300)
    scores = np.round(truth * 0.3 + generator.random(300) * 0.7, 2)  # ties, as real scores have
    return truth, scores


def test_roc_curve_is_scikit_learns(scored: tuple[np.ndarray, np.ndarray]) -> None:
    truth, scores = scored
    plot = plots.roc_curve(truth, scores)
    fpr, tpr, thresholds = metrics.roc_curve(truth, scores, drop_intermediate=False)
    np.testing.assert_allclose(plot.table["fpr"], fpr)
    np.testing.assert_allclose(plot.table["tpr"], tpr)
    np.testing.assert_allclose(plot.table["threshold"][1:], thresholds[1:])
    assert plot.value == pytest.approx(metrics.roc_auc_score(truth, scores))
    assert plot.chart["encoding"]["x"]["field"] == "fpr" and len(
        plot.chart["data"]["values"]
    ) == len(fpr)


def test_pr_curve_is_scikit_learns(scored: tuple[np.ndarray, np.ndarray]) -> None:
    truth, scores = scored
    plot = plots.pr_curve(truth, scores)
    precision, recall, thresholds = metrics.precision_recall_curve(truth, scores)
    np.testing.assert_allclose(plot.table["precision"], precision)
    np.testing.assert_allclose(plot.table["recall"], recall)
    np.testing.assert_allclose(plot.table["threshold"][:-1], thresholds)
    assert plot.value == pytest.approx(metrics.average_precision_score(truth, scores))


def test_confusion_matrix_is_scikit_learns() -> None:
    truth = ["cat", "dog", "dog", "bird", "cat", "dog"]
    predicted = ["cat", "cat", "dog", "dog", "cat", "bird"]
    plot = plots.confusion_matrix(truth, predicted)
    labels = ["bird", "cat", "dog"]
    expected = metrics.confusion_matrix(truth, predicted, labels=labels)
    matrix = plot.table.pivot(index="true", columns="predicted", values="count").loc[labels, labels]
    np.testing.assert_array_equal(matrix.to_numpy(), expected)
    assert [layer["mark"] for layer in plot.chart["layer"]] == ["rect", "text"]
    assert len(plot.chart["data"]["values"]) == 9


def test_mistakes_are_refused() -> None:
    with pytest.raises(ValueError, match="both positive and negative"):
        plots.roc_curve([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="labels but y_score"):
        plots.pr_curve([0, 1], [0.5])


def test_the_charts_are_valid_vega_lite(scored: tuple[np.ndarray, np.ndarray]) -> None:
    import vl_convert

    truth, scores = scored
    for plot in (
        plots.roc_curve(truth, scores),
        plots.pr_curve(truth, scores),
        plots.confusion_matrix(truth, scores > 0.5),
    ):
        svg = vl_convert.vegalite_to_svg(plot.chart)  # Vega's own compiler, as the site uses
        assert svg.startswith("<svg") and ("<path" in svg or "<text" in svg)
