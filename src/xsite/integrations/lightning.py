"""PyTorch Lightning → xsite: ``Trainer(logger=XsiteLogger(project="mnist"))``.

Hyperparameters (``self.save_hyperparameters()``) become params, everything ``self.log``
logs becomes metrics at the trainer's global step, and the run ends with the fit:
``finished``, or ``failed`` when training raised. Only the main process logs.

With ``log_model="<name>"``, the best checkpoint of the fit (its ``ModelCheckpoint``'s
``best_model_path``, else its last) becomes the next version of that model when the fit
succeeds, with the monitored metric and its score as metadata.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Unpack

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

import xsite
from xsite.integrations import plain_params
from xsite.store.writer import InitOptions, Run

_STATUS = {"success": "finished", "finished": "finished", "failed": "failed"}


class XsiteLogger(Logger):
    """Logs a Lightning fit as an xsite run (``xsite.init``'s arguments: ``name``, ``tags``,
    ``notes``, ``dir``…)."""

    def __init__(
        self,
        project: str = "default",
        *,
        log_model: str | None = None,
        **init: Unpack[InitOptions],
    ) -> None:
        super().__init__()
        self._project = project
        self._init = init
        self._run: Run | None = None
        self._model_name = log_model
        self._checkpoints: ModelCheckpoint | None = None

    @property
    def experiment(self) -> Run:
        """The xsite run, started on first use."""
        if self._run is None:
            self._run = xsite.init(self._project, **self._init)
        return self._run

    @property
    def name(self) -> str:
        return self._project

    @property
    def version(self) -> str:
        return self.experiment.id

    @rank_zero_only
    def log_hyperparams(
        self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        self.experiment.log_params(plain_params(values))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.experiment.log({key: float(value) for key, value in metrics.items()}, step=step)

    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        self._checkpoints = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is None:
            return
        saved = self._checkpoints
        best = saved and (saved.best_model_path or saved.last_model_path)
        try:
            if self._model_name and status == "success" and saved is not None and best:
                score = saved.best_model_score
                self._run.log_model(
                    best,
                    self._model_name,
                    metadata={
                        "checkpoint": Path(best).name,
                        "monitor": saved.monitor,
                        "score": float(score) if score is not None else None,
                    },
                )
        finally:
            self._run.finish(_STATUS.get(status, "killed"))  # type: ignore[arg-type]
