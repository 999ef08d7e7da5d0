"""Tables, charts and images a run logs (``Run.log_table``, ``log_chart``, ``log_image``):
kept as artifacts under names the site recognises, so any reader of the store finds them as
plain files.

- ``tables/<name>.parquet``, or ``tables/<name>/step-<n>.parquet`` when logged at a step;
- ``charts/<name>.vl.json``: a Vega-Lite spec with its data inline;
- ``images/<name>.png`` (or the suffix of the file given), or ``images/<name>/step-<n>.png``.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xsite.store.schema import safe_artifact_name

IMAGE_SUFFIXES: Final = (".png", ".jpg", ".jpeg", ".gif", ".webp")
RECORD_NAME: Final = re.compile(
    r"(?P<kind>tables|charts|images)/(?P<name>.+?)(?:/step-(?P<step>\d+))?"
    r"(?P<suffix>\.parquet|\.vl\.json|\.png|\.jpe?g|\.gif|\.webp)"
)
"""An artifact name that is a logged record: its kind, name and step."""


def record_name(kind: str, name: str, step: int | None, suffix: str) -> str:
    """The artifact name of a record (checked like any artifact name)."""
    where = f"{kind}/{name}" if step is None else f"{kind}/{name}/step-{int(step)}"
    return safe_artifact_name(where + suffix)


def table_bytes(data: Any) -> bytes:
    """A DataFrame, an Arrow table or a dict of columns as Parquet."""
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, dict):
        table = pa.table(data)
    else:
        table = pa.Table.from_pandas(data, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(None), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def chart_bytes(chart: Any) -> bytes:
    """A Vega-Lite spec (a dict, or an Altair chart) as JSON, its data inline."""
    spec = chart.to_dict() if hasattr(chart, "to_dict") else chart
    if not isinstance(spec, dict) or not ({"mark", "layer", "hconcat", "vconcat", "concat",
                                           "facet", "repeat"} & spec.keys()):  # fmt: skip
        raise ValueError(
            "a chart is a Vega-Lite spec (a dict with a mark or a layer) or an Altair chart"
        )
    return json.dumps(spec, sort_keys=True, allow_nan=False, default=str).encode()


def png_bytes(image: np.ndarray) -> bytes:
    """An image array as PNG: height × width (grey), × 3 (RGB) or × 4 (RGBA); integers
    0–255, or floats 0–1. Written with zlib alone: no imaging library needed."""
    array = np.asarray(image)
    if array.dtype.kind == "f":
        array = np.round(np.clip(array, 0.0, 1.0) * 255)
    array = array.astype(np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or 0 in array.shape:
        raise ValueError(f"an image is H×W, H×W×3 or H×W×4; this one is {np.shape(image)}")
    height, width, channels = array.shape
    colour = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), array.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
