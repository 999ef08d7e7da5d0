"""Chart specs: Vega-Lite made with Altair, with no data inside.

A spec here is a template. Pages name the series to draw, and the site's ``charts.js``
loads each run's ``metrics.json`` once, computes smoothing and the chosen x axis, and
inserts the points into the spec's named dataset ``points``. One data file per run then
serves its run page and every comparison that overlays it.

Fields of a point: ``run`` (label), ``step``, ``x`` (step, seconds since start, or wall time
in ms), ``value`` (raw), ``smoothed``, and ``single`` (the series has one point, which a line
cannot show: a final evaluation, say).
"""

from __future__ import annotations

from typing import Any

POINTS_DATASET = "points"


def metric_chart_spec() -> dict[str, Any]:
    """Raw values as a faint line under the smoothed line, one colour per run, and a dot for
    a series of a single point."""
    import altair as alt  # a third of a second to import: only when the spec is not cached

    base = alt.Chart(alt.NamedData(POINTS_DATASET)).encode(
        x=alt.X("x:Q", title="step"),
        color=alt.Color("run:N", legend=alt.Legend(orient="bottom", title=None)),
        tooltip=[
            alt.Tooltip("run:N"),
            alt.Tooltip("step:Q"),
            alt.Tooltip("value:Q", format=".6g"),
            alt.Tooltip("smoothed:Q", format=".6g"),
        ],
    )
    y_scale = alt.Scale(zero=False, type="linear")
    raw = base.mark_line(opacity=0.25, strokeWidth=1).encode(
        y=alt.Y("value:Q", title=None, scale=y_scale)
    )
    smoothed = base.mark_line(strokeWidth=2).encode(
        y=alt.Y("smoothed:Q", title=None, scale=y_scale)
    )
    lone = (
        base.mark_point(filled=True, size=60)
        .encode(y=alt.Y("value:Q", title=None, scale=y_scale))
        .transform_filter("datum.single")
    )
    chart = alt.layer(raw, smoothed, lone).properties(width="container", height=220)
    spec = chart.configure_view(stroke=None).to_dict()
    spec.pop("$schema", None)  # a URL the offline site never fetches; keep the file self-contained
    return spec
