"""A real, small sweep: softmax regression on scikit-learn's bundled digits (8×8 images).

Twelve runs (4 learning rates × 3 weight decays), each logging loss and accuracy per epoch,
with notes on why the sweep exists. Each run that beats the best validation accuracy so far
logs its weights as the next version of the model ``digits-softmax``; the alias
``production`` then points at the last of them.

    python examples/quickstart.py --dir demo-runs
    xsite ls demo-runs
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import xsite
from xsite import plots

SWEEP_NOTES = """\
**Why:** find a learning rate and weight decay for the linear baseline before we try a
CNN. Anything a CNN does must beat the best of these runs on `val/acc`.
"""


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def evaluate(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    probs = softmax(x @ weights)
    loss = float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())
    accuracy = float((probs.argmax(axis=1) == y).mean())
    return loss, accuracy


def train(
    run: xsite.Run, lr: float, weight_decay: float, epochs: int, seed: int
) -> tuple[np.ndarray, float]:
    digits = load_digits()
    x = np.hstack([digits.data / 16.0, np.ones((len(digits.data), 1))])  # bias column
    x_train, x_val, y_train, y_val = train_test_split(
        x, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    # Which rows each split held: fingerprints, profiles, and a check that no validation
    # image is also a training image (the datasets page of the site shows it).
    pixels = [f"pixel_{i}" for i in range(64)]
    for split, images, labels in (("train", x_train, y_train), ("val", x_val, y_val)):
        table = pd.DataFrame(images[:, :-1] * 16.0, columns=pixels).assign(label=labels)
        run.log_dataset(table, name="digits", split=split)
    rng = np.random.default_rng(seed)
    weights = rng.normal(scale=0.01, size=(x.shape[1], 10))
    one_hot = np.eye(10)[y_train]
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for batch in np.array_split(order, len(order) // 64):
            probs = softmax(x_train[batch] @ weights)
            grad = x_train[batch].T @ (probs - one_hot[batch]) / len(batch)
            weights -= lr * (grad + weight_decay * weights)
        train_loss, train_acc = evaluate(weights, x_train, y_train)
        val_loss, val_acc = evaluate(weights, x_val, y_val)
        run.log(
            {
                "train/loss": train_loss,
                "train/acc": train_acc,
                "val/loss": val_loss,
                "val/acc": val_acc,
                "weights/norm": float(np.linalg.norm(weights)),
            },
            step=epoch,
        )
    # What the model gets wrong, and how sure it is: a confusion matrix and the
    # precision-recall curve of one digit against the rest.
    probabilities = softmax(x_val @ weights)
    confusion = plots.confusion_matrix(y_val, probabilities.argmax(axis=1), labels=range(10))
    run.log_table("confusion", confusion.table)
    run.log_chart("confusion", confusion.chart)
    eights = plots.pr_curve(y_val == 8, probabilities[:, 8], positive=True)
    run.log_chart("pr-curve-8", eights.chart)
    run.log({"val/ap-8": eights.value}, step=epochs - 1)
    return weights, val_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="store folder (default: $XSITE_DIR)")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()

    grid = itertools.product([0.01, 0.05, 0.2, 1.0], [0.0, 1e-3, 1e-2])
    best, version = 0.0, None
    for lr, weight_decay in grid:
        with xsite.init(
            project="digits",
            name=f"softmax-lr{lr}-wd{weight_decay}",
            params={
                "model": "softmax-regression",
                "optimizer": {"name": "sgd", "lr": lr, "weight_decay": weight_decay},
                "batch_size": 64,
                "epochs": args.epochs,
                "seed": 0,
            },
            tags=["baseline", "linear", "sweep-1"],
            notes=SWEEP_NOTES,
            dir=args.dir,
        ) as run:
            weights, val_acc = train(run, lr, weight_decay, args.epochs, seed=0)
            if val_acc > best:  # a new best: the next version of the model
                best = val_acc
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "weights.npy"
                    np.save(path, weights)
                    version = run.log_model(
                        path, "digits-softmax", metadata={"format": "npy", "shape": weights.shape}
                    )
                print(f"{run.id}  {run.name}  -> digits-softmax v{version.version}")
            else:
                print(f"{run.id}  {run.name}")
    if version is not None:
        xsite.set_model_alias(
            "digits-softmax",
            "production",
            version.version,
            project="digits",
            note=f"best val/acc of the sweep: {best:.4f}",
            dir=args.dir,
        )


if __name__ == "__main__":
    main()
