"""A small real store of a sweep, and helpers to write notes beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import xsite
from xsite.config import ProjectSettings


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, str]:
    """Run ids by name: three CNN runs (two augmented) and an MLP, oldest first."""
    ids = {}
    for name, lr, tags, acc in [
        ("cnn-baseline", 0.1, ["cnn", "baseline"], 0.91),
        ("cnn-aug-v1", 0.1, ["cnn", "aug"], 0.92),
        ("cnn-aug-v2", 0.05, ["cnn", "aug"], 0.93),
        ("mlp", 0.5, [], 0.80),
    ]:
        with xsite.init(
            project="mnist",
            name=name,
            params={"lr": lr, "optimizer": {"name": "adam"}},
            tags=tags,
            capture=False,
            dir=tmp_path / "store",
        ) as run:
            for step in range(5):
                run.log({"val/acc": acc - 0.1 + step * 0.025, "train/loss": 1 - acc}, step=step)
        ids[name] = run.id
    return ids


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config_for(tmp_path: Path, **overrides: object) -> xsite.SiteConfig:
    settings = {
        "store": str(tmp_path / "store"),
        "out": str(tmp_path / "site"),
        "notes": str(tmp_path / "notes"),
        "projects": {"mnist": ProjectSettings(headline="val/acc")},
        **overrides,
    }
    return xsite.SiteConfig(**settings)  # type: ignore[arg-type]


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_bytes(), "html.parser")
