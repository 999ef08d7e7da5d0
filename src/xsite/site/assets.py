"""Static files of the site: the theme's ``static/`` folder, the Vega JavaScript that
vl-convert ships (so the site needs no CDN) and the metric chart's Vega-Lite spec."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
from collections.abc import Callable
from pathlib import Path

import orjson
import vl_convert

from xsite.site import charts
from xsite.site.pages import DataFile
from xsite.site.theme import Theme
from xsite.site.write import replace_atomically

VEGA_BUNDLE = "assets/vega.js"
CHART_SPEC = "assets/metric-chart.vl.json"


def asset_files(theme: Theme) -> list[DataFile]:
    files = [
        DataFile(f"assets/{name}", path.read_bytes()) for name, path in theme.static_files().items()
    ]
    files.append(DataFile(CHART_SPEC, _chart_spec()))
    files.append(DataFile(VEGA_BUNDLE, _vega_bundle()))
    return files


def _vega_bundle() -> bytes:
    """The Vega, Vega-Lite and vega-embed JavaScript that vl-convert ships."""
    return _user_cached(
        f"vega-{vl_convert.__version__}.js",  # type: ignore[attr-defined]  # not in its stubs
        lambda: vl_convert.javascript_bundle().encode("utf-8"),  # type: ignore[call-arg]
    )


def _chart_spec() -> bytes:
    """The metric chart's Vega-Lite spec, made with Altair, for this charts.py and Altair."""
    made_from = Path(charts.__file__).read_bytes() + importlib.metadata.version("altair").encode()
    return _user_cached(
        f"metric-chart-{hashlib.sha256(made_from).hexdigest()[:16]}.vl.json",
        lambda: orjson.dumps(charts.metric_chart_spec(), option=orjson.OPT_SORT_KEYS),
    )


def _user_cached(name: str, make: Callable[[], bytes]) -> bytes:
    """``make()``'s bytes, kept in the user's cache folder: the Vega bundle takes seconds to
    make, and importing Altair for the chart spec most of a second, on every build."""
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cached = cache_home / "xsite" / name
    try:
        return cached.read_bytes()
    except OSError:
        pass
    content = make()
    with contextlib.suppress(OSError):  # a read-only home: build without the cache
        replace_atomically(cached, lambda out: out.write(content))
    return content
