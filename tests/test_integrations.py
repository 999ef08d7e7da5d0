"""Framework adapters, each driven by its real framework on a tiny model, on the CPU.

The frameworks are the ``frameworks`` extra (``.ci/run`` installs them with PyTorch's CPU
build); a test whose framework is not installed is skipped and says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import xsite

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 needs a backend; PyTorch is the one here


def points_of(store: Path, run_id: str, key: str) -> list[tuple[int, float]]:
    points = xsite.load_metrics([run_id], [key], dir=store)
    return list(zip(points["step"], points["value"], strict=True))


def test_lightning_logger(tmp_path: Path) -> None:
    lightning = pytest.importorskip("lightning")
    torch = pytest.importorskip("torch")
    from xsite.integrations.lightning import XsiteLogger

    class Tiny(lightning.LightningModule):
        def __init__(self, lr: float = 0.1, hidden: int = 4) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch: tuple, index: int) -> torch.Tensor:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train/loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(32, 2), torch.randn(32, 1))
    logger = XsiteLogger(project="lit", name="tiny", tags=["cpu"], dir=tmp_path / "store")
    trainer = lightning.Trainer(
        max_epochs=2, logger=logger, log_every_n_steps=1, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
        default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(Tiny(lr=0.05), torch.utils.data.DataLoader(data, batch_size=8))
    [run] = xsite.load_runs(tmp_path / "store").to_dict("records")
    assert (run["project"], run["name"], run["status"]) == ("lit", "tiny", "finished")
    assert run["params.lr"] == 0.05 and run["params.hidden"] == 4 and list(run["tags"]) == ["cpu"]
    steps = [step for step, _ in points_of(tmp_path / "store", run["run_id"], "train/loss")]
    assert steps == list(range(8))  # 4 batches × 2 epochs, at the global step


def test_lightning_logger_logs_the_best_checkpoint_as_a_model_version(tmp_path: Path) -> None:
    lightning = pytest.importorskip("lightning")
    torch = pytest.importorskip("torch")
    from lightning.pytorch.callbacks import ModelCheckpoint

    from xsite.integrations.lightning import XsiteLogger

    class Tiny(lightning.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch: tuple, index: int) -> torch.Tensor:
            loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
            self.log("train/loss", loss, on_epoch=True, on_step=False)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.05)

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(32, 2), torch.randn(32, 1))
    best = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="train/loss", mode="min")
    logger = XsiteLogger(project="lit", log_model="tiny", dir=tmp_path / "store")
    trainer = lightning.Trainer(
        max_epochs=3, logger=logger, callbacks=[best], enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=8))
    version = xsite.get_model("tiny", dir=tmp_path / "store")
    assert version.version == 1 and version.run_id == logger.version
    assert [f.file_name for f in version.files] == [Path(best.best_model_path).name]
    assert version.metadata["monitor"] == "train/loss"
    assert version.metadata["score"] == pytest.approx(float(best.best_model_score))
    checkpoint = version.download(tmp_path / "got") / version.files[0].file_name
    state = torch.load(checkpoint, weights_only=False)["state_dict"]
    assert set(state) == {"layer.weight", "layer.bias"}


def test_keras_callback(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    from xsite.integrations.keras import XsiteCallback

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse", metrics=["mae"])
    x, y = np.random.rand(40, 3), np.random.rand(40, 1)
    callback = XsiteCallback("keras", params={"data": "random"}, dir=tmp_path / "store",
                             log_model="regression",
                             log_every_n_batches=2)  # fmt: skip
    history = model.fit(x, y, epochs=3, batch_size=10, validation_split=0.25, verbose=0,
                        callbacks=[callback])  # fmt: skip
    [run] = xsite.load_runs(tmp_path / "store").to_dict("records")
    assert run["status"] == "finished" and run["params.data"] == "random"
    assert run["params.fit.epochs"] == 3
    assert run["params.optimizer.learning_rate"] == pytest.approx(0.01)  # a float32 in Keras
    loss = points_of(tmp_path / "store", run["run_id"], "val_loss")
    assert loss == [(e, pytest.approx(v)) for e, v in enumerate(history.history["val_loss"])]
    batches = points_of(tmp_path / "store", run["run_id"], "batch/loss")
    assert [step for step, _ in batches] == [2, 4, 6, 8]  # 9 batches in all, every second one
    version = xsite.get_model("regression", dir=tmp_path / "store")
    [saved] = version.files
    assert saved.file_name.endswith(".keras")
    reloaded = keras.models.load_model(version.download(tmp_path / "got") / saved.file_name)
    assert np.allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_hugging_face_trainer_callback(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    pytest.importorskip("accelerate")
    from xsite.integrations.huggingface import XsiteCallback

    config = transformers.BertConfig(
        vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=8, num_labels=2,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    rows = [{"input_ids": torch.randint(0, 20, (6,)), "labels": i % 2} for i in range(16)]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), num_train_epochs=2, per_device_train_batch_size=4,
        logging_steps=2, report_to="none", save_strategy="no", use_cpu=True, run_name="bert-tiny",
        disable_tqdm=True,
    )  # fmt: skip
    callback = XsiteCallback("hf", dir=tmp_path / "store", log_model="bert-tiny")
    transformers.Trainer(model=model, args=args, train_dataset=rows, callbacks=[callback]).train()
    version = xsite.get_model("bert-tiny", dir=tmp_path / "store")
    assert version.metadata["global_step"] == 8
    folder = version.download(tmp_path / "got")
    reloaded = transformers.BertForSequenceClassification.from_pretrained(folder).state_dict()
    trained = model.state_dict()
    assert set(reloaded) == set(trained)
    assert all(torch.equal(reloaded[key], trained[key]) for key in trained)
    [run] = xsite.load_runs(tmp_path / "store").to_dict("records")
    assert (run["name"], run["status"]) == ("bert-tiny", "finished")
    assert run["params.args.per_device_train_batch_size"] == 4
    assert run["params.model.hidden_size"] == 8
    steps = [step for step, _ in points_of(tmp_path / "store", run["run_id"], "loss")]
    assert steps == [2, 4, 6, 8]  # 8 steps, a log every 2


def test_optuna_callback(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    from xsite.integrations.optuna import XsiteCallback

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10, 10)
        for step in range(3):
            trial.report((x - 2) ** 2 + step, step)
        if trial.number == 2:
            raise optuna.TrialPruned()
        return (x - 2) ** 2

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="quad", sampler=optuna.samplers.RandomSampler(seed=0))
    callback = XsiteCallback("tuning", dir=tmp_path / "store")
    study.optimize(objective, n_trials=4, callbacks=[callback])
    runs = xsite.load_runs(tmp_path / "store").set_index("name")
    assert sorted(runs.index) == ["quad-0", "quad-1", "quad-2", "quad-3"]
    assert runs.loc["quad-2", "status"] == "killed" and runs.loc["quad-1", "status"] == "finished"
    for trial in study.trials:
        row = runs.loc[f"quad-{trial.number}"]
        assert row["params.x"] == trial.params["x"]
        if trial.value is not None:
            assert row["metrics.value"] == trial.value
        reported = points_of(tmp_path / "store", row["run_id"], "intermediate")
        assert reported == sorted(trial.intermediate_values.items())
    callback(study, study.trials[0])  # the same trial again: nothing new
    assert len(xsite.load_runs(tmp_path / "store")) == 4


def test_scikit_learn_search(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    from xsite.integrations.sklearn import log_search

    x, y = load_iris(return_X_y=True)
    search = GridSearchCV(LogisticRegression(max_iter=200), {"C": [0.1, 1.0, 10.0]}, cv=3)
    search.fit(x, y)
    ids = log_search(search, project="iris", dir=tmp_path / "store")
    runs = xsite.load_runs(tmp_path / "store").set_index("run_id").loc[ids]
    assert runs["params.C"].tolist() == [0.1, 1.0, 10.0]
    assert set(runs["params.estimator"]) == {"LogisticRegression"}
    assert runs["metrics.mean_test_score"].tolist() == pytest.approx(
        list(search.cv_results_["mean_test_score"])
    )
    folds = points_of(tmp_path / "store", ids[1], "test_score")
    assert folds == [
        (k, pytest.approx(search.cv_results_[f"split{k}_test_score"][1])) for k in range(3)
    ]
    assert log_search(search, project="iris", dir=tmp_path / "store") == ids
    assert len(xsite.load_runs(tmp_path / "store")) == 3
