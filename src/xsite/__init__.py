"""xsite: publish machine-learning experiments as Parquet files and a static site.

>>> import xsite
>>> with xsite.init(project="mnist", params={"lr": 1e-3}) as run:   # doctest: +SKIP
...     run.log({"train/loss": 0.3})
>>> xsite.load_runs()                                                # doctest: +SKIP
"""

from xsite.config import ProjectSettings, SiteConfig, load_config
from xsite.errors import (
    BuildError,
    ConfigError,
    ModelNotFoundError,
    RunFinishedError,
    StoreError,
    XsiteError,
)
from xsite.hooks import hookimpl
from xsite.plugins import plugin_manager
from xsite.site.build import BuildReport, build
from xsite.store import (
    STORE_VERSION,
    CompactReport,
    LeakageWarning,
    ModelVersion,
    Run,
    SkippedFile,
    SkippedFileWarning,
    StoreReader,
    compact,
    get_model,
    init,
    load_metrics,
    load_models,
    load_runs,
    resume,
    set_model_alias,
)
from xsite.store.sql import sql
from xsite.version import __version__

__all__ = [
    "STORE_VERSION",
    "BuildError",
    "BuildReport",
    "CompactReport",
    "ConfigError",
    "LeakageWarning",
    "ModelNotFoundError",
    "ModelVersion",
    "ProjectSettings",
    "Run",
    "RunFinishedError",
    "SiteConfig",
    "SkippedFile",
    "SkippedFileWarning",
    "StoreError",
    "StoreReader",
    "XsiteError",
    "__version__",
    "build",
    "compact",
    "get_model",
    "hookimpl",
    "init",
    "load_config",
    "load_metrics",
    "load_models",
    "load_runs",
    "plugin_manager",
    "resume",
    "set_model_alias",
    "sql",
]
