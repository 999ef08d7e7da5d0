"""Hugging Face Transformers → xsite: ``Trainer(..., callbacks=[XsiteCallback("glue")])``.

The run starts with training: params are the ``TrainingArguments`` and the model's config
(under ``model.``); every ``Trainer`` log (loss, learning rate, eval metrics) is logged at
the global step, and the run ends ``finished`` with training. Only the main process logs.
Set ``report_to="none"`` in ``TrainingArguments`` to keep the Trainer from also starting
the integrations it finds installed. With ``log_model="<name>"``, the trained model
(``save_pretrained``: the best one with ``load_best_model_at_end``) becomes the next version
of that model when training ends, with the global step and best metric as metadata.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any, Unpack

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

import xsite
from xsite.integrations import plain_params
from xsite.store.writer import InitOptions, Run


class XsiteCallback(TrainerCallback):
    """Logs each ``Trainer.train()`` as an xsite run (``xsite.init``'s arguments: ``name``,
    ``params``, ``tags``, ``notes``, ``dir``…)."""

    def __init__(
        self,
        project: str = "default",
        *,
        log_model: str | None = None,
        **init: Unpack[InitOptions],
    ) -> None:
        self._model_name = log_model
        self._project = project
        self._init = init
        self.run: Run | None = None
        """The run of the current (or last) training."""

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero:
            return
        params: dict[str, Any] = {"args": plain_params(args.to_dict())}
        model = kwargs.get("model")
        if model is not None and getattr(model, "config", None) is not None:
            params["model"] = plain_params(model.config.to_dict())
        options: InitOptions = {
            **self._init,
            "params": {**params, **(self._init.get("params") or {})},
        }
        options["name"] = options.get("name") or args.run_name
        self.run = xsite.init(self._project, **options)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.run is None or not state.is_world_process_zero:
            return
        numbers = {
            key: float(value)
            for key, value in (logs or {}).items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        if numbers:
            self.run.log(numbers, step=state.global_step)

    def on_train_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if self.run is None:
            return
        model = kwargs.get("model")
        try:
            if self._model_name and model is not None and hasattr(model, "save_pretrained"):
                with tempfile.TemporaryDirectory() as folder:
                    model.save_pretrained(folder)
                    self.run.log_model(
                        folder,
                        self._model_name,
                        metadata={
                            "global_step": state.global_step,
                            "best_metric": state.best_metric,
                        },
                    )
        finally:
            self.run.finish("finished")
