"""Datasets a run used (``Run.log_dataset``): what identifies them, what they hold, and which
rows two splits share.

- **Fingerprint**: SHA-256 of every byte: of a file; of a folder (each file's relative path
  and SHA-256, in path order); of a table (a DataFrame or Arrow table) in a canonical Arrow
  encoding (one record batch, no schema metadata), so the same values give the same
  fingerprint in any process. Not a sample: one changed byte changes it.
- **Rows**: a table's rows, a tabular file's rows (``.csv``, ``.parquet``, ``.jsonl``), or a
  folder's files (each file is a row: a folder of images is a dataset of images).
- **Profile**: per column of tabular data, its type and null count, and min, max and mean
  of numbers or the most frequent values of anything else.
- **Row hashes**: a 64-bit hash of each row (of each file's bytes, for a folder), kept once
  per fingerprint in ``datasets/<fingerprint>.rows.parquet`` at the store's root, so that the
  rows two splits share can be counted exactly: that is leakage when one of them is a test
  split.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xsite.store.fs import StoreFS, sha256_file
from xsite.store.schema import DATASETS_DIR

if TYPE_CHECKING:
    import pandas as pd

TABULAR_SUFFIXES: Final = (".csv", ".parquet", ".jsonl", ".ndjson")
_TOP: Final = 5


@dataclass(frozen=True)
class Dataset:
    """A dataset as a run logged it."""

    name: str
    split: str | None
    fingerprint: str
    kind: str
    rows: int | None
    size: int
    columns: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None
    overlaps: dict[str, int] = field(default_factory=dict)
    """Rows shared with each other dataset of the run, by ``name/split``: leakage when one
    of the two is held out."""

    @property
    def label(self) -> str:
        return f"{self.name}/{self.split}" if self.split else self.name

    def row(self, run_id: str, logged_at: Any) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "name": self.name,
            "split": self.split,
            "fingerprint": self.fingerprint,
            "kind": self.kind,
            "rows": self.rows,
            "size": self.size,
            "columns": json.dumps(self.columns, allow_nan=False) if self.columns else None,
            "source": self.source,
            "overlaps": json.dumps(self.overlaps, sort_keys=True),
            "logged_at": logged_at,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Dataset:
        return cls(
            name=row["name"],
            split=row["split"],
            fingerprint=row["fingerprint"],
            kind=row["kind"],
            rows=row["rows"],
            size=row["size"],
            columns=json.loads(row["columns"]) if row["columns"] else [],
            source=row["source"],
            overlaps=json.loads(row["overlaps"]),
        )


def brief(row: dict[str, Any]) -> dict[str, Any]:
    """What ``load_runs`` shows of a dataset row: its label, fingerprint, rows and the rows
    it shares with other datasets of the run (kept in summaries and the store index)."""
    dataset = Dataset.from_row(row)
    return {
        "label": dataset.label,
        "fingerprint": dataset.fingerprint,
        "rows": dataset.rows,
        "overlaps": dataset.overlaps,
    }


def describe(
    data: str | os.PathLike[str] | pd.DataFrame | pa.Table, name: str | None, split: str | None
) -> tuple[Dataset, np.ndarray | None]:
    """The dataset ``data`` is, and its sorted distinct row hashes (None for a single file
    that is not tabular)."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.is_dir():
            return _folder(path, name, split)
        if not path.is_file():
            raise FileNotFoundError(f"dataset {path} does not exist")
        return _file(path, name, split)
    table = _as_table(data)
    digest = hashlib.sha256(_canonical(table))
    dataset = Dataset(
        name=name or "dataset",
        split=split,
        fingerprint=f"sha256:{digest.hexdigest()}",
        kind="table",
        rows=table.num_rows,
        size=table.nbytes,
        columns=profile(table),
    )
    return dataset, row_hashes(table)


def row_hashes(table: pa.Table) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the table's rows (pandas' stable row hash)."""
    import pandas as pd

    frame = table.to_pandas()
    return np.unique(pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64))


def shared_rows(a: np.ndarray, b: np.ndarray) -> int:
    """How many distinct rows two datasets have in common, from their row hashes."""
    return int(np.intersect1d(a, b, assume_unique=True).size)


def write_row_hashes(store: StoreFS, fingerprint: str, hashes: np.ndarray) -> None:
    """Keep a dataset's row hashes once per fingerprint (the same data, the same file)."""
    path = store.path(DATASETS_DIR, rows_filename(fingerprint))
    if store.exists(path):
        return
    store.make_dirs(store.path(DATASETS_DIR))
    table = pa.table({"row_hash": pa.array(hashes, pa.uint64())})
    store.write_table(path, table, durable=False)


def read_row_hashes(store: StoreFS, fingerprint: str) -> np.ndarray | None:
    """A dataset's row hashes, or None when they were not kept (or cannot be read)."""
    path = store.path(DATASETS_DIR, rows_filename(fingerprint))
    try:
        with store.open_input_file(path) as source:
            return pq.read_table(source)["row_hash"].to_numpy()
    except (OSError, pa.ArrowException, KeyError):
        return None


def rows_filename(fingerprint: str) -> str:
    return f"{fingerprint.removeprefix('sha256:')}.rows.parquet"


def profile(table: pa.Table) -> list[dict[str, Any]]:
    """Per column: name, type and nulls; min, max and mean of numbers (NaN left out);
    the earliest and latest of times; the distinct count and most frequent values of the
    rest."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        entry: dict[str, Any] = {"name": name, "type": str(kind), "nulls": column.null_count}
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            values = column.to_numpy(zero_copy_only=False).astype(float)
            values = values[~np.isnan(values)]
            if values.size:
                entry |= {"min": _plain(values.min()), "max": _plain(values.max()),
                          "mean": _plain(values.mean())}  # fmt: skip
        elif pa.types.is_temporal(kind):
            bounds = pc.min_max(column)
            entry |= {"min": str(bounds["min"]), "max": str(bounds["max"])}
        else:
            text = column if pa.types.is_string(kind) else column.cast(pa.string())
            counts = pc.value_counts(text)
            found = zip(counts.field(0).to_pylist(), counts.field(1).to_pylist(), strict=True)
            pairs = sorted(
                ((value, count) for value, count in found if value is not None),
                key=lambda pair: (-pair[1], pair[0]),
            )
            entry |= {"distinct": len(pairs), "top": [[v, c] for v, c in pairs[:_TOP]]}
        columns.append(entry)
    return columns


def _file(path: Path, name: str | None, split: str | None) -> tuple[Dataset, np.ndarray | None]:
    digest, size = sha256_file(path)
    table = _read_tabular(path)
    dataset = Dataset(
        name=name or path.stem,
        split=split,
        fingerprint=f"sha256:{digest}",
        kind="file",
        rows=table.num_rows if table is not None else None,
        size=size,
        columns=profile(table) if table is not None else [],
        source=str(path),
    )
    return dataset, row_hashes(table) if table is not None else None


def _folder(path: Path, name: str | None, split: str | None) -> tuple[Dataset, np.ndarray]:
    whole = hashlib.sha256()
    size = 0
    hashes = []
    for file in _files(path):
        digest, file_size = sha256_file(file)
        whole.update(f"{file.relative_to(path).as_posix()}\0{digest}\n".encode())
        size += file_size
        hashes.append(int(digest[:16], 16))
    dataset = Dataset(
        name=name or path.name,
        split=split,
        fingerprint=f"sha256:{whole.hexdigest()}",
        kind="folder",
        rows=len(hashes),
        size=size,
        source=str(path),
    )
    return dataset, np.unique(np.array(hashes, dtype=np.uint64))


def _files(folder: Path) -> Iterator[Path]:
    return iter(sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.as_posix()))


def _read_tabular(path: Path) -> pa.Table | None:
    suffix = path.suffix.lower()
    if suffix not in TABULAR_SUFFIXES:
        return None
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix == ".csv":
        import pyarrow.csv

        return pyarrow.csv.read_csv(path)
    import pyarrow.json

    return pyarrow.json.read_json(path)


def _as_table(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    frame = data
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A column of mixed types (numbers and text): kept as its text, so it can be hashed.
        mixed = [c for c in frame.columns if frame[c].dtype == object]
        return pa.Table.from_pandas(frame.astype({c: str for c in mixed}), preserve_index=False)


def _canonical(table: pa.Table) -> bytes:
    """One record batch, no metadata: equal values, equal bytes, however they were chunked."""
    table = table.replace_schema_metadata(None).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _plain(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
