"""scikit-learn → xsite: ``log_search(search, project="digits")`` after ``search.fit(X, y)``.

Each candidate of a fitted ``GridSearchCV``, ``RandomizedSearchCV`` (or any search with
``cv_results_``) becomes a run named ``<estimator>-<index>``: its params, the estimator's
class, and per score the mean over folds (``mean_test_score``…), its spread, its rank, the
mean fit and score times, and each fold's score (``test_score`` at step = fold). Logging the
same search again changes nothing; a new fit with other results replaces the runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np

from xsite.integrations import plain_params
from xsite.store.imported import ImportedRun, points_table, write_imported_run

_FOLD = re.compile(r"split(?P<fold>\d+)_(?P<name>.+)")


def log_search(
    search: Any,
    project: str = "default",
    *,
    name: str | None = None,
    dir: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Write every candidate of a fitted search as a run; returns their run ids."""
    results: dict[str, Any] = search.cv_results_
    estimator = type(getattr(search, "estimator", search)).__name__
    base = name or estimator
    now = datetime.now(UTC)
    ids = []
    for index, params in enumerate(results["params"]):
        rows = []
        for column, values in results.items():
            value = values[index]
            if column == "params" or column.startswith("param_"):
                continue
            if not isinstance(value, int | float | np.number) or isinstance(value, bool):
                continue
            fold = _FOLD.fullmatch(column)
            key, step = (fold["name"], int(fold["fold"])) if fold else (column, 0)
            rows.append({"key": key, "step": step, "value": float(value), "time": now})
        metrics = points_table(rows)
        state = {"params": plain_params(params), "scores": [(r["key"], r["step"], r["value"])
                                                           for r in rows]}  # fmt: skip
        run = ImportedRun(
            source=f"sklearn:{project}:{base}:{index}",
            fingerprint=hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest(),
            project=project,
            name=f"{base}-{index}",
            status="finished",
            started_at=now,
            ended_at=now,
            params={"estimator": estimator, **plain_params(params)},
            metrics=metrics,
            tags=[f"search={base}"],
            system={"sklearn": {"search": type(search).__name__, "candidate": index}},
        )
        write_imported_run(dir, run)
        ids.append(run.run_id)
    return ids
