"""PyTorch Lightning → xsite: ``Trainer(logger=XsiteLogger(project="mnist"))``.

Hyperparameters (``self.save_hyperparameters()``) become params, everything ``self.log``
logs becomes metrics at the trainer's global step, and the run ends with the fit:
``finished``, or ``failed`` when training raised. Only the main process logs.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from typing import Any, Unpack

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

import xsite
from xsite.integrations import plain_params
from xsite.store.writer import InitOptions, Run

_STATUS = {"success": "finished", "finished": "finished", "failed": "failed"}


class XsiteLogger(Logger):
    """Logs a Lightning fit as an xsite run (``xsite.init``'s arguments: ``name``, ``tags``,
    ``notes``, ``dir``…)."""

    def __init__(self, project: str = "default", **init: Unpack[InitOptions]) -> None:
        super().__init__()
        self._project = project
        self._init = init
        self._run: Run | None = None

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

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is not None:
            self._run.finish(_STATUS.get(status, "killed"))  # type: ignore[arg-type]
