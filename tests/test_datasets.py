"""``Run.log_dataset``: fingerprints of every byte, profiles, and leakage between splits counted
exactly, through a real store and ``load_runs``."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import xsite
from xsite.store import load as load_module
from xsite.store.datasets import describe
from xsite.store.writer import LeakageWarning

FRAME = pd.DataFrame(
    {
        "x": np.arange(100, dtype=float),
        "label": [i % 3 for i in range(100)],
        "text": [f"row {i}" for i in range(100)],
    }
)


def fingerprint(data: object, **kwargs: object) -> str:
    return describe(data, kwargs.get("name"), None)[0].fingerprint  # type: ignore[arg-type]


def test_fingerprints_cover_every_byte_and_nothing_else(tmp_path: Path) -> None:
    # A table: the same values, however chunked, in any process; one value changed, another.
    table = pa.Table.from_pandas(FRAME, preserve_index=False)
    chunked = pa.concat_tables([table.slice(0, 30), table.slice(30)])
    assert fingerprint(FRAME) == fingerprint(table) == fingerprint(chunked)
    code = (
        "import numpy as np, pandas as pd; from xsite.store.datasets import describe; "
        "f = pd.DataFrame({'x': np.arange(100, dtype=float), 'label': [i % 3 for i in range(100)],"
        " 'text': [f'row {i}' for i in range(100)]}); print(describe(f, None, None)[0].fingerprint)"
    )
    other_process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other_process.stdout.strip() == fingerprint(FRAME)
    changed = FRAME.copy()
    changed.loc[57, "x"] = 57.000001
    assert fingerprint(changed) != fingerprint(FRAME)

    # A file: one byte flipped.
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 100)
    before = fingerprint(data)
    raw = bytearray(data.read_bytes())
    raw[12_345] ^= 1
    data.write_bytes(bytes(raw))
    assert fingerprint(data) != before

    # A folder: the same files elsewhere, the same; a file renamed, another.
    for folder in ("a", "b"):
        (tmp_path / folder / "img").mkdir(parents=True)
        (tmp_path / folder / "img" / "1.png").write_bytes(b"one")
        (tmp_path / folder / "2.png").write_bytes(b"two")
    assert fingerprint(tmp_path / "a") == fingerprint(tmp_path / "b")
    (tmp_path / "b" / "2.png").rename(tmp_path / "b" / "3.png")
    assert fingerprint(tmp_path / "a") != fingerprint(tmp_path / "b")


def test_profiles_of_mixed_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "score": [1.0, np.nan, 3.0, None, 5.0],
            "mixed": [1, "two", 3.0, "two", None],
            "when": pd.to_datetime(["2026-01-01", "2026-03-01", None, "2026-02-01", "2026-01-15"]),
            "flag": [True, False, True, True, None],
        }
    )
    dataset, hashes = describe(frame, "mixed", None)
    columns = {column["name"]: column for column in dataset.columns}
    assert columns["score"] | {} == {
        "name": "score", "type": "double", "nulls": 2, "min": 1.0, "max": 5.0, "mean": 3.0
    }  # fmt: skip
    assert columns["mixed"]["top"][0] == ["two", 2] and columns["mixed"]["distinct"] == 3
    assert columns["when"]["min"].startswith("2026-01-01") and columns["when"]["nulls"] == 1
    assert columns["flag"]["top"] == [["True", 3], ["False", 1]] and columns["flag"]["nulls"] == 1
    assert dataset.rows == 5 and hashes is not None and hashes.size == 5

    csv = tmp_path / "table.csv"
    FRAME.to_csv(csv, index=False)
    from_file, file_hashes = describe(csv, None, "train")
    assert (from_file.name, from_file.kind, from_file.rows) == ("table", "file", 100)
    assert [c["name"] for c in from_file.columns] == ["x", "label", "text"]
    assert file_hashes is not None and file_hashes.size == 100
    (tmp_path / "weights.bin").write_bytes(b"\0" * 10)
    opaque, none = describe(tmp_path / "weights.bin", None, None)
    assert opaque.rows is None and opaque.columns == [] and none is None


def test_leakage_is_counted_exactly(tmp_path: Path) -> None:
    store = tmp_path / "store"
    train, test = FRAME.iloc[:80], pd.concat([FRAME.iloc[70:], FRAME.iloc[[75, 75]]])
    with xsite.init(project="p", name="leaky", capture=False, dir=store) as leaky:
        leaky.log_dataset(train, name="digits", split="train")
        with pytest.warns(LeakageWarning, match="10 rows of digits/test are also in digits/train"):
            found = leaky.log_dataset(test, name="digits", split="test")
        assert found.overlaps == {"digits/train": 10}  # rows 70–79; a repeated row counts once
    with xsite.init(project="p", name="clean", capture=False, dir=store) as clean:
        clean.log_dataset(FRAME.iloc[:50], name="digits", split="train")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clean.log_dataset(FRAME.iloc[50:], name="digits", split="test")
    images = tmp_path / "images"
    for split, files in (("train", ["a", "b", "c"]), ("test", ["c", "d"])):
        (images / split).mkdir(parents=True)
        for name in files:
            (images / split / f"{name}.png").write_bytes(name.encode() * 10)
    with xsite.init(project="p", name="images", capture=False, dir=store) as pictures:
        pictures.log_dataset(images / "train", split="train")
        with pytest.warns(LeakageWarning):
            shared = pictures.log_dataset(images / "test", split="test")
    assert shared.overlaps == {"train/train": 1} and shared.rows == 2  # c.png, by content

    # Resumed later: the test split is checked against the train split of the first session.
    with xsite.init(project="p", name="resumed", capture=False, dir=store) as first:
        first.log_dataset(train, name="digits", split="train")
    with xsite.resume(first.id, dir=store) as again, pytest.warns(LeakageWarning):
        again.log_dataset(test, name="digits", split="test")

    frame = xsite.load_runs(store).set_index("name")
    assert frame.loc["leaky", "leakage"] == 10 and frame.loc["clean", "leakage"] == 0
    assert frame.loc["images", "leakage"] == 1 and frame.loc["resumed", "leakage"] == 10
    assert list(frame.loc["leaky", "datasets"]) == ["digits/train", "digits/test"]
    # Row hashes are kept once per fingerprint: "resumed" logged the same data as "leaky".
    assert len(list((store / "datasets").glob("*.rows.parquet"))) == 6


def test_load_runs_gives_the_same_datasets_from_parts_summaries_and_the_index(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    with xsite.init(project="p", capture=False, dir=store) as run:
        run.log_dataset(FRAME.iloc[:60], name="d", split="train")
        with pytest.warns(LeakageWarning):
            run.log_dataset(FRAME.iloc[55:], name="d", split="test")
    with xsite.init(project="p", name="no-data", capture=False, dir=store) as bare:
        bare.log({"loss": 1.0})
    load_module._ENDED.clear()
    from_summaries = xsite.load_runs(store)
    for summary in store.glob("runs/*/summary-*.json"):
        summary.unlink()
    load_module._ENDED.clear()
    from_parts = xsite.load_runs(store)
    assert xsite.compact(store).runs_indexed == 2
    load_module._ENDED.clear()
    from_index = xsite.load_runs(store)
    for frame in (from_summaries, from_parts, from_index):
        by_name = frame.set_index("name")
        assert by_name.loc[run.name, "leakage"] == 5 and pd.isna(by_name.loc["no-data", "leakage"])
        assert list(by_name.loc[run.name, "datasets"]) == ["d/train", "d/test"]
    pd.testing.assert_frame_equal(from_summaries, from_index)


def test_an_index_written_before_datasets_existed_still_serves(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    store = tmp_path / "store"
    with xsite.init(project="p", capture=False, dir=store) as run:
        run.log({"loss": 0.5})
    xsite.compact(store)
    [index] = store.glob("index/runs-*.parquet")
    table = pq.read_table(index)
    pq.write_table(table.drop_columns(["datasets"]), index)  # as an older xsite wrote it
    load_module._ENDED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", xsite.SkippedFileWarning)  # the index is read, not skipped
        frame = xsite.load_runs(store)
    assert frame["run_id"].tolist() == [run.id] and "leakage" not in frame.columns
