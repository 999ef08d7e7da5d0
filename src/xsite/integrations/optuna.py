"""Optuna → xsite: ``study.optimize(objective, callbacks=[XsiteCallback("tuning")])``.

Each finished trial becomes a run named ``<study>-<trial number>``: its params, its value
(``value``; ``value_0``, ``value_1``… for several objectives, or the names given by
``metric_names``), its intermediate values (``intermediate`` at their steps, as reported
for pruning), its times, and its state: ``finished`` (complete), ``killed`` (pruned),
``failed``. The study's name and direction are tags.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import optuna

from xsite.integrations import plain_params
from xsite.store.imported import ImportedRun, points_table, write_imported_run

_STATES = {
    optuna.trial.TrialState.COMPLETE: "finished",
    optuna.trial.TrialState.PRUNED: "killed",
    optuna.trial.TrialState.FAIL: "failed",
}


class XsiteCallback:
    """Writes each finished trial of a study as an xsite run."""

    def __init__(
        self,
        project: str = "default",
        *,
        metric_names: Sequence[str] | None = None,
        dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.project = project
        self.metric_names = list(metric_names) if metric_names else None
        self.dir = dir

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        values = trial.values or []
        names = self.metric_names or (["value"] if len(values) == 1 else
                                      [f"value_{i}" for i in range(len(values))])  # fmt: skip
        # Optuna keeps naive local times.
        started = _utc(trial.datetime_start)
        finished = _utc(trial.datetime_complete) or started
        rows: list[dict[str, Any]] = [
            {"key": "intermediate", "step": step, "value": value, "time": finished}
            for step, value in sorted(trial.intermediate_values.items())
        ]
        last_step = rows[-1]["step"] if rows else 0
        rows += [{"key": n, "step": last_step, "value": v, "time": finished}
                 for n, v in zip(names, values, strict=True)]  # fmt: skip
        metrics = points_table(rows)
        directions = ",".join(d.name.lower() for d in study.directions)
        write_imported_run(
            self.dir,
            ImportedRun(
                source=f"optuna:{study.study_name}:{trial.number}",
                fingerprint=f"{trial.state.name}:{trial.datetime_complete}",
                project=self.project,
                name=f"{study.study_name}-{trial.number}",
                status=_STATES.get(trial.state, "running"),
                started_at=started or datetime.now(UTC),
                ended_at=finished,
                params=plain_params({**trial.params, **trial.user_attrs}),
                metrics=metrics,
                tags=[f"study={study.study_name}", f"direction={directions}"],
                system={"optuna": {"study": study.study_name, "trial": trial.number}},
            ),
        )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None
