"""Run summaries and the store index: ``load_runs`` reads one small file per ended run (or
one file for the store after ``xsite compact``) and gives the same DataFrame as reading
every part, and never a stale one."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

import xsite
from xsite.store import load as load_module
from xsite.store.summary import summarize


def from_parts(store: Path) -> pd.DataFrame:
    """``load_runs`` with every summary and index hidden: the parts alone."""
    hidden = []
    for path in [*store.glob("runs/*/summary-*.json"), *store.glob("index/*.parquet")]:
        hidden.append((path, path.read_bytes()))
        path.unlink()
    load_module._ENDED.clear()
    try:
        return xsite.load_runs(store)
    finally:
        for path, content in hidden:
            path.write_bytes(content)
        load_module._ENDED.clear()


def fresh_process_frame(store: Path) -> pd.DataFrame:
    """``load_runs`` in a new process (no earlier call to remember), as a pickle."""
    out = store.parent / "frame.pkl"
    code = f"import xsite; xsite.load_runs({str(store)!r}).to_pickle({str(out)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return pd.read_pickle(out)


def corrupt_parts_in_place(store: Path) -> None:
    """Overwrite every part's bytes without adding, removing or renaming a file (the run
    folders keep their times): a reader that opened a part would fail on it."""
    for part in store.glob("runs/*/*.parquet"):
        with part.open("r+b") as file:
            file.write(b"\0" * 64)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    params = {"lr": 0.1, "epochs": 3, "nan": math.nan, "layers": [64, 32], "opt": "adam", "x": None}
    for index in range(3):
        with xsite.init(
            project="p", name=f"run-{index}", params=params, tags=["t"], capture=False, dir=store
        ) as run:
            for step in range(5):
                run.log({"loss": 1 / (step + 1), "odd": math.nan if step == 4 else step})
    with (
        pytest.raises(RuntimeError),
        xsite.init(project="p", name="failed", capture=False, dir=store) as run,
    ):
        run.log({"loss": 9.0})
        raise RuntimeError
    running = xsite.init(project="q", name="running", params={"lr": 1}, capture=False, dir=store)
    running.log({"loss": 0.5})
    running.flush()
    yield store
    running.finish()


def test_ended_runs_have_summaries_that_give_the_same_frame(store: Path) -> None:
    summaries = list(store.glob("runs/*/summary-*.json"))
    assert len(summaries) == 4  # finished and failed runs; none for the running one
    body = json.loads(summaries[0].read_bytes())
    assert body["format"] == 1 and body["covers"] and set(body["record"]) >= {"status", "ended_at"}
    load_module._ENDED.clear()
    frame = xsite.load_runs(store)
    pdt.assert_frame_equal(frame, from_parts(store))
    assert frame.loc[frame["name"] == "run-0", "params.epochs"].item() == 3  # an int stays int
    assert math.isnan(frame.loc[frame["name"] == "run-0", "metrics.odd"].item())
    assert set(frame["status"]) == {"finished", "failed", "running"}


def test_a_writer_summarises_what_it_wrote_as_a_reader_would(tmp_path: Path) -> None:
    """The summary made from what the writer wrote (no reading back) is the one a reader
    makes from the parts; a resumed run's is made by reading back, and covers both sessions."""
    store = tmp_path / "store"
    with xsite.init(project="p", params={"lr": 0.1}, capture=False, dir=store) as run:
        for step in range(30):
            run.log({"loss": math.nan if step % 7 == 0 else 1 / (step + 1), "big": 10**20})
            if step % 10 == 9:
                run.flush()  # several metrics parts: their summaries are merged
        run.log_params({"lr": 0.2, "opt": {"name": "adam"}})
        run.add_tags("done")
    reader = xsite.StoreReader(store)

    def written_and_read() -> tuple[dict, dict]:
        [path] = sorted((store / "runs" / run.id).glob("summary-*.json"))[-1:]
        from_memory = json.loads(path.read_bytes())
        from_parts = summarize(reader, reader.list_run(run.id, again=True))
        assert from_parts is not None
        return from_memory, json.loads(from_parts.to_json())

    written, read = written_and_read()
    assert written == read and written["metrics"]["loss"][4] == 30
    assert written["params"] == {"lr": "0.2", "opt.name": '"adam"'}
    with xsite.resume(run.id, dir=store) as again:
        again.log({"loss": 0.001})
    written, read = written_and_read()
    assert written == read and written["metrics"]["loss"][0] == 0.001
    assert written["metrics"]["loss"][4] == 31  # both sessions' points


def test_a_summary_is_used_only_while_it_covers_the_parts(store: Path) -> None:
    load_module._ENDED.clear()
    run_id = xsite.load_runs(store).query("name == 'run-0'")["run_id"].item()
    with xsite.resume(run_id, dir=store) as run:
        run.log({"loss": 0.01})
        run.flush()
        # Resumed: the old summary no longer covers the run's parts.
        frame = xsite.load_runs(store)
        row = frame[frame["run_id"] == run_id]
        assert row["metrics.loss"].item() == 0.01 and row["status"].item() == "running"
    frame = xsite.load_runs(store)
    assert frame.loc[frame["run_id"] == run_id, "status"].item() == "finished"
    pdt.assert_frame_equal(frame, from_parts(store))


def test_summaries_spare_the_reader_every_part(store: Path) -> None:
    expected = from_parts(store)
    ended = expected[expected["status"] != "running"]
    # Parts overwritten in place: their names are the same, the summaries still cover them.
    for folder in store.glob("runs/*"):
        if list(folder.glob("summary-*.json")):
            for part in folder.glob("*.parquet"):
                with part.open("r+b") as file:
                    file.write(b"\0" * 64)
    load_module._ENDED.clear()
    frame = xsite.load_runs(store)
    pdt.assert_frame_equal(
        frame[frame["status"] != "running"].reset_index(drop=True),
        ended.reset_index(drop=True),
        check_like=True,
    )


def test_a_broken_summary_is_reported_and_the_parts_read(store: Path) -> None:
    expected = from_parts(store)
    broken = next(store.glob("runs/*/summary-*.json"))
    broken.write_text("{not json")
    load_module._ENDED.clear()
    with pytest.warns(xsite.SkippedFileWarning, match=broken.name):
        frame = xsite.load_runs(store)
    pdt.assert_frame_equal(frame, expected)


def test_compact_writes_an_index_that_a_fresh_process_reads_alone(store: Path) -> None:
    expected = from_parts(store)  # before: hiding files changes the folders' times
    report = xsite.compact(store)
    assert report.runs_indexed == 4 and len(list(store.glob("index/runs-*.parquet"))) == 1
    # Every part and summary of the ended runs unreadable in place: the index alone serves.
    for folder in store.glob("runs/*"):
        if list(folder.glob("summary-*.json")):
            for path in [*folder.glob("*.parquet"), *folder.glob("summary-*.json")]:
                with path.open("r+b") as file:
                    file.write(b"\0" * 16)
    frame = fresh_process_frame(store)
    pdt.assert_frame_equal(
        frame[frame["status"] != "running"].reset_index(drop=True),
        expected[expected["status"] != "running"].reset_index(drop=True),
    )


def test_compaction_carries_each_summary_over_to_the_merged_parts(store: Path) -> None:
    def summaries() -> dict[str, dict]:
        return {
            path.parent.name: json.loads(path.read_bytes())
            for path in store.glob("runs/*/summary-*.json")
        }

    before = summaries()
    report = xsite.compact(store)
    assert report.parts_after < report.parts_before
    after = summaries()
    assert after.keys() == before.keys()  # one summary a run, the old ones gone
    for run_id, summary in after.items():
        parts = {path.name for path in (store / "runs" / run_id).glob("*.parquet")}
        assert set(summary.pop("covers")) == parts  # the merged parts, by their new names
        assert summary == {k: v for k, v in before[run_id].items() if k != "covers"}
    pdt.assert_frame_equal(fresh_process_frame(store), from_parts(store))


def test_the_index_is_never_stale(store: Path) -> None:
    xsite.compact(store)
    load_module._ENDED.clear()
    run_id = xsite.load_runs(store).query("name == 'run-1'")["run_id"].item()
    with xsite.resume(run_id, dir=store) as run:
        run.log({"loss": 0.001})
    with xsite.init(project="p", name="after-compact", capture=False, dir=store) as late:
        late.log({"loss": 0.2})
    frame = fresh_process_frame(store)
    assert frame.loc[frame["run_id"] == run_id, "metrics.loss"].item() == 0.001
    assert late.id in set(frame["run_id"])
    pdt.assert_frame_equal(frame, from_parts(store))


def test_a_repeat_call_sees_new_and_changed_runs(store: Path) -> None:
    load_module._ENDED.clear()
    first = xsite.load_runs(store)
    with xsite.init(project="p", name="new", capture=False, dir=store) as run:
        run.log({"loss": 0.3})
    second = xsite.load_runs(store)
    assert len(second) == len(first) + 1 and run.id in set(second["run_id"])
    pdt.assert_frame_equal(second, from_parts(store))
