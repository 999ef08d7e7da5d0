"""xsite: publish machine-learning experiments as Parquet files and a static site.

>>> import xsite
>>> with xsite.init(project="mnist", params={"lr": 1e-3}) as run:   # doctest: +SKIP
...     run.log({"train/loss": 0.3})
>>> xsite.load_runs()                                                # doctest: +SKIP
"""

from xsite.errors import BuildError, ConfigError, RunFinishedError, StoreError, XsiteError
from xsite.store import (
    STORE_VERSION,
    CompactReport,
    Run,
    SkippedFile,
    SkippedFileWarning,
    StoreReader,
    compact,
    init,
    load_metrics,
    load_runs,
    resume,
)

__version__ = "0.1.0"

__all__ = [
    "STORE_VERSION",
    "BuildError",
    "CompactReport",
    "ConfigError",
    "Run",
    "RunFinishedError",
    "SkippedFile",
    "SkippedFileWarning",
    "StoreError",
    "StoreReader",
    "XsiteError",
    "__version__",
    "compact",
    "init",
    "load_metrics",
    "load_runs",
    "resume",
]
