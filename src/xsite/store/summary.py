"""Run summaries: all that ``load_runs`` needs of an ended run, in one small JSON file.

A run's parts are many small Parquet files, and decoding a Parquet file costs about a
millisecond whatever its size: at 10,000 runs, reading every part to find the runs table
takes tens of seconds. So when a run ends, its writer reads the run back once and writes
``summary-<time>-<writer>-<seq>.json`` beside its parts: the latest record, the latest
params, and per metric key the last, min and max values, the step of the last, and the
point count. The summary names the parts it was made from (``covers``); a reader uses it
only while the run folder holds exactly those parts, so a part written later (a resumed
run, a second writer) or a compaction makes the reader read the parts again. The parts
stay the truth: a summary can be deleted at any time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa

from xsite.store.datasets import brief
from xsite.store.values import decode_param, encode_param

if TYPE_CHECKING:
    from xsite.store.reader import RunFiles, StoreReader

SUMMARY_FORMAT: Final = 1
SUMMARY_NAME: Final = re.compile(
    r"summary-(?P<time_ns>\d{20})-(?P<writer>[0-9a-z]{1,32})-(?P<seq>\d{6,})\.json"
)
RECORD_FIELDS: Final = (
    "project", "name", "status", "started_at", "ended_at", "updated_at", "tags", "notes", "system"
)  # fmt: skip
_TIMES: Final = ("started_at", "ended_at", "updated_at")


def summary_filename(time_ns: int, writer: str, seq: int) -> str:
    return f"summary-{time_ns:020d}-{writer}-{seq:06d}.json"


@dataclass(frozen=True)
class MetricSummary:
    last: float
    min: float
    max: float
    last_step: int
    count: int


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    covers: frozenset[str]
    """The names of the parts it was made from."""
    record: dict[str, Any]
    """The run's latest record (the ``run`` part's columns but ``run_id``)."""
    params: dict[str, Any]
    """The latest value of each param, decoded."""
    metrics: dict[str, MetricSummary]
    datasets: list[dict[str, Any]] = field(default_factory=list)
    """Its datasets in brief (:func:`xsite.store.datasets.brief`), as logged."""

    def to_json(self) -> bytes:
        record = {
            key: value.isoformat() if key in _TIMES and value is not None else value
            for key, value in self.record.items()
        }
        body = {
            "format": SUMMARY_FORMAT,
            "run_id": self.run_id,
            "covers": sorted(self.covers),
            "record": record,
            "params": {key: encode_param(value) for key, value in self.params.items()},
            "metrics": encode_metrics(self.metrics),
            "datasets": self.datasets,
        }
        return json.dumps(body, sort_keys=True, allow_nan=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> RunSummary:
        """Raises ``ValueError`` (or ``KeyError``, ``TypeError``) for what is not a summary."""
        body = json.loads(data)
        if body.get("format") != SUMMARY_FORMAT:
            raise ValueError(f"summary format {body.get('format')!r} is not {SUMMARY_FORMAT}")
        record = {key: body["record"][key] for key in RECORD_FIELDS}
        for key in _TIMES:
            if record[key] is not None:
                record[key] = datetime.fromisoformat(record[key])
        return cls(
            run_id=body["run_id"],
            covers=frozenset(body["covers"]),
            record=record,
            params={key: decode_param(value) for key, value in body["params"].items()},
            metrics=decode_metrics(body["metrics"]),
            datasets=body.get("datasets", []),  # summaries from before datasets have none
        )


def encode_metrics(metrics: dict[str, MetricSummary]) -> dict[str, list[Any]]:
    """As JSON holds them: ``[last, min, max, last step, count]`` per key."""
    return {
        key: [_number(m.last), _number(m.min), _number(m.max), m.last_step, m.count]
        for key, m in metrics.items()
    }


def decode_metrics(data: dict[str, list[Any]]) -> dict[str, MetricSummary]:
    return {
        key: MetricSummary(float(v[0]), float(v[1]), float(v[2]), int(v[3]), int(v[4]))
        for key, v in data.items()
    }


def summarize(reader: StoreReader, files: RunFiles) -> RunSummary | None:
    """The summary of an ended run as its listed parts say; None if it has not ended."""
    record = reader.snapshot(files)
    if record is None or record["ended_at"] is None:
        return None
    return RunSummary(
        run_id=files.run_id,
        covers=files.part_names(),
        record={key: record[key] for key in RECORD_FIELDS},
        **run_contents(reader, files),
    )


def run_contents(reader: StoreReader, files: RunFiles) -> dict[str, Any]:
    """A run's ``params``, ``metrics`` (summaries) and ``datasets`` (in brief) as its
    listed parts have them, ended or not."""
    params: dict[str, Any] = {}
    for row in reader.read_run(files, "params").to_pylist():
        params[row["key"]] = decode_param(row["value"])
    return {
        "params": params,
        "metrics": metric_summaries(reader.read_run(files, "metrics")),
        "datasets": [brief(row) for row in reader.read_run(files, "datasets").to_pylist()],
    }


def metric_summaries(table: pa.Table) -> dict[str, MetricSummary]:
    """Per key, in write order: last value and its step, min, max (NaN-aware) and count."""
    if table.num_rows == 0:
        return {}
    encoded = table["key"].combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy()
    names = encoded.dictionary.to_pylist()
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    steps = table["step"].to_numpy()[order]
    values = table["value"].to_numpy()[order]
    found = {}
    for group in np.split(np.arange(len(order)), bounds):
        key_values = values[group]
        finite = key_values[~np.isnan(key_values)]
        found[names[codes[order[group[0]]]]] = MetricSummary(
            last=float(key_values[-1]),
            min=float(finite.min()) if finite.size else math.nan,
            max=float(finite.max()) if finite.size else math.nan,
            last_step=int(steps[group][-1]),
            count=len(group),
        )
    return dict(sorted(found.items()))


def merge_metrics(
    earlier: dict[str, MetricSummary], later: dict[str, MetricSummary]
) -> dict[str, MetricSummary]:
    """The summaries of two stretches of points, ``later`` logged after ``earlier``."""
    merged = dict(earlier)
    for key, new in later.items():
        old = merged.get(key)
        merged[key] = (
            new
            if old is None
            else MetricSummary(
                last=new.last,
                min=_nan_aware(min, old.min, new.min),
                max=_nan_aware(max, old.max, new.max),
                last_step=new.last_step,
                count=old.count + new.count,
            )
        )
    return dict(sorted(merged.items()))


def _nan_aware(pick: Callable[[float, float], float], a: float, b: float) -> float:
    """``pick`` of two values, where NaN means "no value"."""
    return b if math.isnan(a) else a if math.isnan(b) else pick(a, b)


def _number(value: float) -> float | str:
    """JSON has no NaN or infinity: those are strings ("nan", "inf", "-inf")."""
    return value if math.isfinite(value) else str(value)
