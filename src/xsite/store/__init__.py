"""The run store: the only code that knows the Parquet layout (see docs/store-format.md)."""

from xsite.store.compact import CompactReport, compact
from xsite.store.load import load_metrics, load_runs
from xsite.store.reader import SkippedFile, SkippedFileWarning, StoreReader
from xsite.store.registry import ModelVersion, get_model, load_models, set_model_alias
from xsite.store.schema import STORE_VERSION
from xsite.store.writer import LeakageWarning, Run, init, resume

__all__ = [
    "STORE_VERSION",
    "CompactReport",
    "LeakageWarning",
    "ModelVersion",
    "Run",
    "SkippedFile",
    "SkippedFileWarning",
    "StoreReader",
    "compact",
    "get_model",
    "init",
    "load_metrics",
    "load_models",
    "load_runs",
    "resume",
    "set_model_alias",
]
