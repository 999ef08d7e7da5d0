"""The store's layout: file names, Arrow schemas and the format version.

This module and ``docs/store-format.md`` describe the same thing; change them together and
bump :data:`STORE_VERSION` when a reader of the old version could misread the new files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final, Literal

import pyarrow as pa

STORE_VERSION: Final = 1
MARKER_FILE: Final = "xsite-store.json"
RUNS_DIR: Final = "runs"
ARTIFACTS_DIR: Final = "artifacts"
DATASETS_DIR: Final = "datasets"  # at the root: datasets/<fingerprint>.rows.parquet
TMP_PREFIX: Final = ".tmp-"

TIMESTAMP = pa.timestamp("us", tz="UTC")

RUN_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("started_at", TIMESTAMP, nullable=False),
        pa.field("ended_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP, nullable=False),
        pa.field("tags", pa.list_(pa.string()), nullable=False),
        pa.field("notes", pa.string()),
        pa.field("system", pa.string()),  # JSON object: git, command, environment, hardware
    ]
)

PARAM_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=False),  # JSON text, keeps the Python type
        pa.field("logged_at", TIMESTAMP, nullable=False),
    ]
)

METRIC_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("step", pa.int64(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),  # NaN and ±inf are kept
        pa.field("time", TIMESTAMP, nullable=False),
    ]
)

ARTIFACT_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),  # path inside the run's artifacts/
        pa.field("size", pa.int64(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("logged_at", TIMESTAMP, nullable=False),
    ]
)

DATASET_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("split", pa.string()),
        pa.field("fingerprint", pa.string(), nullable=False),  # sha256:<64 hex digits>
        pa.field("kind", pa.string(), nullable=False),  # table, file or folder
        pa.field("rows", pa.int64()),
        pa.field("size", pa.int64(), nullable=False),  # bytes hashed
        pa.field("columns", pa.string()),  # JSON: the profile, a list of columns
        pa.field("source", pa.string()),  # the path given, if one was
        pa.field("overlaps", pa.string(), nullable=False),  # JSON: {"name/split": shared rows}
        pa.field("logged_at", TIMESTAMP, nullable=False),
    ]
)

PartKind = Literal["run", "params", "metrics", "artifacts", "datasets"]

SCHEMAS: Final[dict[PartKind, pa.Schema]] = {
    "run": RUN_SCHEMA,
    "params": PARAM_SCHEMA,
    "metrics": METRIC_SCHEMA,
    "artifacts": ARTIFACT_SCHEMA,
    "datasets": DATASET_SCHEMA,
}

# Parquet key-value metadata of a compacted part: the JSON list of part names it replaces.
REPLACES_KEY: Final = b"xsite.replaces"

RUN_ID_PATTERN: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")
_PART_NAME = re.compile(
    r"(?P<kind>run|params|metrics|artifacts|datasets)-(?P<time_ns>\d{20})-(?P<writer>[0-9a-z]{1,32})"
    r"-(?P<seq>\d{6,})\.parquet"
)
_HEARTBEAT_NAME = re.compile(r"heartbeat-(?P<writer>[0-9a-z]{1,32})\.json")


@dataclass(frozen=True, order=True)
class PartName:
    """A part file's name, parsed. Ordering is creation order: time, then writer, then seq."""

    time_ns: int
    writer: str
    seq: int
    kind: PartKind

    @property
    def filename(self) -> str:
        return f"{self.kind}-{self.time_ns:020d}-{self.writer}-{self.seq:06d}.parquet"

    @classmethod
    def parse(cls, filename: str) -> PartName | None:
        match = _PART_NAME.fullmatch(filename)
        if match is None:
            return None
        return cls(
            time_ns=int(match["time_ns"]),
            writer=match["writer"],
            seq=int(match["seq"]),
            kind=match["kind"],  # type: ignore[arg-type]
        )


def heartbeat_filename(writer: str) -> str:
    return f"heartbeat-{writer}.json"


def is_heartbeat(filename: str) -> bool:
    return _HEARTBEAT_NAME.fullmatch(filename) is not None


def is_valid_run_id(run_id: str) -> bool:
    return RUN_ID_PATTERN.fullmatch(run_id) is not None


def artifact_parts(run_id: str, name: str) -> tuple[str, ...]:
    """Path parts, from the store root, of artifact ``name`` of a run."""
    return (RUNS_DIR, run_id, ARTIFACTS_DIR, *name.split("/"))


def safe_artifact_name(name: str) -> str:
    """An artifact name as a clean relative POSIX path, or ``ValueError``.

    Names become paths in the store and in the site, so nothing may climb out of the run's
    artifacts folder or hide as a temporary file.
    """
    path = PurePosixPath(name)
    parts = path.parts
    if (
        not parts
        or path.is_absolute()
        or "\\" in name
        or "\x00" in name
        or any(part in {"..", "."} or part.startswith(TMP_PREFIX) for part in parts)
    ):
        raise ValueError(
            f"invalid artifact name {name!r}: use a relative path without '.' or '..' parts "
            f"and no part starting with {TMP_PREFIX!r}"
        )
    return "/".join(parts)
