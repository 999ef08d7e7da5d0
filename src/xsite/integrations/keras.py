"""Keras 3 → xsite: ``model.fit(..., callbacks=[XsiteCallback(project="mnist")])``.

The run starts with training: params are the model's optimizer settings, the fit's
``epochs`` and ``batch_size``, and your ``params``; what Keras reports at the end of each
epoch (``loss``, ``val_accuracy``…) is logged at that epoch, and, with
``log_every_n_batches``, the batch logs every n batches (as ``batch/<name>``, at the count
of batches seen). The run ends ``finished`` when training ends, early stopping included;
when ``fit`` raises, it ends ``failed`` as the process exits. With ``log_model="<name>"``,
the trained model (``model.save``, a ``.keras`` file) becomes the next version of that
model when training ends.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Unpack

import keras

import xsite
from xsite.integrations import plain_params
from xsite.store.writer import InitOptions, Run


class XsiteCallback(keras.callbacks.Callback):
    """Logs each ``fit`` as an xsite run (``xsite.init``'s arguments: ``name``, ``params``,
    ``tags``, ``notes``, ``dir``…)."""

    def __init__(
        self,
        project: str = "default",
        *,
        log_every_n_batches: int | None = None,
        log_model: str | None = None,
        **init: Unpack[InitOptions],
    ) -> None:
        super().__init__()
        self._model_name = log_model
        self._project = project
        self._init = init
        self._every = log_every_n_batches
        self._batches = 0
        self.run: Run | None = None
        """The run of the current (or last) fit."""

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        fit = {key: self.params.get(key) for key in ("epochs", "steps", "batch_size")}
        optimizer = getattr(self.model, "optimizer", None)
        found: dict[str, Any] = {"fit": {k: v for k, v in fit.items() if v is not None}}
        if optimizer is not None:
            found["optimizer"] = plain_params(optimizer.get_config())
        self._batches = 0
        options: InitOptions = {
            **self._init,
            "params": {**found, **plain_params(self._init.get("params") or {})},
        }
        self.run = xsite.init(self._project, **options)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._batches += 1
        if self.run is not None and self._every and self._batches % self._every == 0:
            self.run.log(_numbers(logs, prefix="batch/"), step=self._batches)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self.run is not None:
            self.run.log(_numbers(logs), step=epoch)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self.run is None:
            return
        try:
            if self._model_name:
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / f"{self.model.name}.keras"
                    self.model.save(path)
                    self.run.log_model(path, self._model_name, metadata={"format": "keras"})
        finally:
            self.run.finish("finished")


def _numbers(logs: Mapping[str, Any] | None, prefix: str = "") -> dict[str, float]:
    found = {}
    for key, value in (logs or {}).items():
        try:
            found[prefix + key] = float(value)
        except (TypeError, ValueError):
            continue  # a value Keras reports that is no number (a list, a string)
    return found
