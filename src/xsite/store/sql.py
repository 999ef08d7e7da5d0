"""SQL over a store, read-only, with DuckDB: ``xsite query`` and :func:`sql`.

Three views are there to query:

- ``runs``: one row per run, as :func:`~xsite.store.load.load_runs` gives it (status with
  crashed runs resolved, latest params as ``"params.<key>"``, last metric values as
  ``"metrics.<key>"``), read through summaries and the store index;
- ``metrics``: every metric point (``run_id, key, step, value, time``), read by DuckDB from
  the Parquet parts where they are, so a query over millions of points holds in memory only
  what it keeps;
- ``models``: one row per model version, as :func:`~xsite.store.registry.load_models`
  gives it (lineage as ``"params.<key>"``, ``"metrics.<key>"``, ``"metadata.<key>"``).

Only a query is run: one ``SELECT`` (``WITH``, ``DESCRIBE`` and ``SUMMARIZE`` are queries
too). Anything that writes, attaches, installs or sets is refused before it runs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from xsite.errors import XsiteError
from xsite.store.fs import StoreFS
from xsite.store.load import load_runs
from xsite.store.registry import load_models
from xsite.store.schema import RUNS_DIR

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


_NO_POINTS: Final = (
    "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS key, NULL::BIGINT AS step, "
    "NULL::DOUBLE AS value, NULL::TIMESTAMPTZ AS time WHERE false"
)


class SQLError(XsiteError):
    """A statement that is not one read-only query, or a query DuckDB cannot run."""


def sql(query: str, dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The result of a read-only SQL ``query`` over the store at ``dir``, as a DataFrame.

    ``runs``, ``metrics`` and ``models`` are views (module docs); e.g.
    ``sql('SELECT name, "metrics.val/acc" FROM runs ORDER BY 2 DESC LIMIT 5')``.
    """
    import duckdb  # a second to import: only `xsite query` needs it

    connection = duckdb.connect()
    try:
        statements = connection.extract_statements(query)
    except duckdb.Error as error:
        raise SQLError(f"not SQL DuckDB understands: {error}") from error
    if len(statements) != 1:
        raise SQLError(f"one query at a time, please (got {len(statements)} statements)")
    if statements[0].type != duckdb.StatementType.SELECT:
        kind = statements[0].type.name
        raise SQLError(f"only queries (SELECT) are run; this is {kind}, which could change things")
    connection.register("runs", load_runs(dir))
    connection.register("models", load_models(dir))
    try:
        connection.execute(f"CREATE VIEW metrics AS {_metrics_source(connection, dir)}")
    except duckdb.IOException as error:
        if "No files found" not in str(error):
            raise SQLError(str(error)) from error
        connection.execute(f"CREATE VIEW metrics AS {_NO_POINTS}")  # no run has logged any
    try:
        return connection.execute(query).df()
    except duckdb.Error as error:
        hint = "the views are runs, metrics and models; DESCRIBE runs lists its columns"
        raise SQLError(f"{error}\n({hint})") from error


def _metrics_source(
    connection: duckdb.DuckDBPyConnection, dir: str | os.PathLike[str] | None
) -> str:
    store = StoreFS.open(dir)
    pattern = store.path(RUNS_DIR, "*", "metrics-*.parquet")
    if not store.is_local:
        connection.register_filesystem(store.objects)  # DuckDB reads s3:// through s3fs
        pattern = store.display(pattern)
    quoted = pattern.replace("'", "''")
    return f"SELECT run_id, key, step, value, time FROM read_parquet('{quoted}')"
