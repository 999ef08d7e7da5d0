"""What the store promises under stress: many writers, killed writers, bad files, compaction.

Every test here uses real child processes or threads against a real store on disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import xsite
from tests.conftest import run_child, start_child

pytestmark = pytest.mark.slow


def test_sixteen_concurrent_writers_lose_no_point(store: Path) -> None:
    with xsite.init(project="sweep", name="shared", capture=False) as shared:
        pass
    code = f"""
        import os, xsite
        index = int(os.environ["INDEX"])
        own = xsite.init(project="sweep", name=f"w{{index}}", capture=False, flush_interval=0.05)
        both = xsite.resume("{shared.id}", flush_interval=0.05)
        for step in range(1000):
            # 10 metrics per call: 10,000 points per process into its own run
            own.log({{f"m{{k}}": index * 1e6 + step * 10 + k for k in range(10)}}, step=step)
            both.log({{f"w{{index}}": float(step)}}, step=step)
        own.finish()
        both.finish()
    """
    processes = [start_child(code, store, INDEX=str(index)) for index in range(16)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err

    reader = xsite.StoreReader(store)
    metrics = reader.read("metrics").to_pandas()
    assert not reader.skipped
    runs = xsite.load_runs().set_index("name")
    assert len(runs) == 17 and set(runs["status"]) == {"finished"}
    for index in range(16):
        own = metrics[metrics["run_id"] == runs.loc[f"w{index}", "run_id"]]
        assert len(own) == 10_000
        expected = {index * 1e6 + step * 10 + k for step in range(1000) for k in range(10)}
        assert set(own["value"]) == expected
    in_shared = metrics[metrics["run_id"] == shared.id]
    assert len(in_shared) == 16 * 1000
    assert in_shared.groupby("key")["step"].nunique().to_dict() == {
        f"w{i}": 1000 for i in range(16)
    }


def test_sigkill_keeps_every_flushed_point_and_the_run_turns_crashed(store: Path) -> None:
    child = start_child(
        """
        import xsite
        run = xsite.init(project="p", name="victim", capture=False, flush_interval=0.01)
        print(run.id, flush=True)
        step = 0
        while True:
            run.log({"loss": float(step), "acc": -float(step)}, step=step)
            step += 1
            if step % 500 == 0:
                run.flush()
                print(step, flush=True)
        """,
        store,
    )
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    flushed = 0
    while flushed < 5000:
        flushed = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    reader = xsite.StoreReader(store)
    metrics = reader.read("metrics", [run_id]).to_pandas()
    assert reader.skipped == []
    losses = metrics[metrics["key"] == "loss"]
    # Everything flushed before the kill is there, each point exactly once and intact.
    assert set(range(flushed)) <= set(losses["step"])
    assert losses["step"].is_unique
    assert (losses["value"] == losses["step"].astype(float)).all()
    assert xsite.load_runs(heartbeat_timeout=3600).loc[0, "status"] == "running"
    assert xsite.load_runs(heartbeat_timeout=0).loc[0, "status"] == "crashed"


def test_repeated_sigkill_during_writes_never_leaves_a_corrupt_file(store: Path) -> None:
    code = """
        import xsite
        run = xsite.init(project="p", capture=False, flush_interval=0.001)
        print("go", flush=True)
        step = 0
        while True:
            run.log({f"k{i}": float(step) for i in range(50)}, step=step)
            step += 1
    """
    for delay in (0.05, 0.1, 0.2, 0.3, 0.45, 0.6):
        child = start_child(code, store)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "go"
        time.sleep(delay)  # the kill must land at an arbitrary moment of a write
        child.kill()
        child.wait(timeout=30)
    reader = xsite.StoreReader(store)
    metrics = reader.read("metrics")
    assert reader.skipped == []
    assert metrics.num_rows > 0
    assert len(xsite.load_runs()) == 6


def test_sigterm_flushes_everything_logged_and_marks_killed(store: Path) -> None:
    child = start_child(
        """
        import xsite
        run = xsite.init(project="p", capture=False, flush_interval=3600)
        step = 0
        while True:
            run.log({"loss": float(step)}, step=step)
            print(step, flush=True)
            step += 1
        """,
        store,
    )
    assert child.stdout is not None
    last_printed = -1
    while last_printed < 2000:
        last_printed = int(child.stdout.readline())
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    # The process still ends as a SIGTERM would end it, for the shell, Slurm or Kubernetes.
    assert child.returncode == -signal.SIGTERM
    steps = xsite.load_metrics()["step"]
    assert set(range(last_printed + 1)) <= set(steps)
    assert xsite.load_runs().loc[0, "status"] == "killed"


def test_sigterm_chains_the_handler_the_program_installed(store: Path) -> None:
    result = run_child(
        """
        import os, signal, sys, xsite
        def handler(signum, frame):
            print("own handler ran", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, handler)
        run = xsite.init(project="p", capture=False, flush_interval=3600)
        run.log({"a": 1.0})
        os.kill(os.getpid(), signal.SIGTERM)
        """,
        store,
    )
    assert "own handler ran" in result.stdout and result.returncode == 3
    assert xsite.load_runs().loc[0, "status"] == "killed"
    assert xsite.load_metrics()["value"].tolist() == [1.0]


def test_atexit_finishes_an_unfinished_run(store: Path) -> None:
    result = run_child(
        """
        import xsite
        run = xsite.init(project="p", name="ok", capture=False, flush_interval=3600)
        run.log({"a": 1.0})
        """,
        store,
    )
    assert result.returncode == 0, result.stderr
    failing = run_child(
        """
        import xsite
        run = xsite.init(project="p", name="boom", capture=False, flush_interval=3600)
        run.log({"a": 2.0})
        raise RuntimeError("diverged")
        """,
        store,
    )
    assert "diverged" in failing.stderr
    runs = xsite.load_runs().set_index("name")
    assert runs.loc["ok", "status"] == "finished"
    assert runs.loc["boom", "status"] == "failed"
    assert sorted(xsite.load_metrics()["value"]) == [1.0, 2.0]


def test_corrupt_truncated_empty_and_foreign_files_are_skipped_by_name(store: Path) -> None:
    with xsite.init(project="p", name="good", capture=False) as good:
        for step in range(10):
            good.log({"loss": float(step)})
    with xsite.init(project="p", name="damaged", capture=False) as damaged:
        damaged.log({"loss": 1.0})
    run_dir = Path(damaged.dir)
    part = next(run_dir.glob("metrics-*.parquet"))
    data = part.read_bytes()
    bad = {
        "zero": run_dir / "metrics-00000000000000000001-aaaa-000001.parquet",
        "truncated": run_dir / "metrics-00000000000000000002-aaaa-000002.parquet",
        "garbage": run_dir / "params-00000000000000000003-aaaa-000003.parquet",
        "foreign": run_dir / "metrics-00000000000000000004-aaaa-000004.parquet",
        "stranger": run_dir / "notes.txt",
    }
    bad["zero"].write_bytes(b"")
    bad["truncated"].write_bytes(data[: len(data) // 2])
    bad["garbage"].write_bytes(os.urandom(300))
    pq.write_table(pa.table({"run_id": ["x"], "key": ["k"], "step": ["one"]}), bad["foreign"])
    bad["stranger"].write_text("hello")
    (store / "runs" / "..weird").mkdir()

    with pytest.warns(xsite.SkippedFileWarning) as caught:
        runs = xsite.load_runs()
    assert sorted(runs["name"]) == ["damaged", "good"]
    assert runs.set_index("name").loc["good", "metrics.loss"] == 9.0
    messages = "\n".join(str(w.message) for w in caught)
    for path in bad.values():
        assert str(path) in messages
    assert "..weird" in messages
    reader = xsite.StoreReader(store)
    with pytest.warns(xsite.SkippedFileWarning):
        reader.read("metrics")
    reasons = {Path(s.path).name: s.reason for s in reader.skipped}
    assert "unknown name" in reasons["notes.txt"]
    assert "column 'step' is string" in reasons[bad["foreign"].name]
    assert "Parquet" in reasons[bad["zero"].name]
    # The good parts of the damaged run are still read.
    with pytest.warns(xsite.SkippedFileWarning):
        assert xsite.load_metrics([damaged.id])["value"].tolist() == [1.0]


def test_leftover_temporary_files_are_ignored(store: Path) -> None:
    with xsite.init(capture=False) as run:
        run.log({"a": 1.0})
    (Path(run.dir) / ".tmp-abc-metrics-1.parquet").write_bytes(b"half a file")
    reader = xsite.StoreReader(store)
    assert reader.read("metrics").num_rows == 1 and reader.skipped == []


def test_compaction_while_readers_read_never_shows_duplicates_or_gaps(store: Path) -> None:
    finished_ids = []
    for index in range(4):
        with xsite.init(project="p", name=f"r{index}", capture=False) as run:
            for step in range(300):
                run.log({"loss": float(step), "acc": float(index)}, step=step)
                if step % 10 == 9:
                    run.flush()  # many small parts, as a long, slowly logging job leaves
            run.log_params({f"late{step}": step for step in range(3)})
        finished_ids.append(run.id)
    live = xsite.init(project="p", name="live", capture=False, flush_interval=0.01)

    stop = threading.Event()
    failures: list[str] = []
    live_counts: list[int] = []

    def read_continuously() -> None:
        try:
            read_until_stopped()
        except Exception as exc:  # a reader that dies is a failure, not a quiet thread
            failures.append(f"reader raised {exc!r}")

    def read_until_stopped() -> None:
        while not stop.is_set():
            table = xsite.StoreReader(store).read("metrics")
            frame = table.to_pandas()
            done = frame[frame["run_id"].isin(finished_ids)]
            if len(done) != 4 * 600:
                failures.append(f"finished runs read {len(done)} rows, not 2400")
            if done.duplicated(["run_id", "key", "step"]).any():
                failures.append("duplicate rows")
            live_counts.append(int((frame["run_id"] == live.id).sum()))

    readers = [threading.Thread(target=read_continuously) for _ in range(2)]
    for thread in readers:
        thread.start()
    step = 0
    reports = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        for _ in range(50):
            live.log({"x": float(step)}, step=step)
            step += 1
        live.flush()
        reports.append(xsite.compact(store))
    live.finish()
    stop.set()
    for thread in readers:
        thread.join()

    assert not failures, failures[:5]
    assert len(reports) >= 3 and sum(r.parts_before - r.parts_after for r in reports) > 0
    # What a reader saw of the live run only grew (within one reader thread's sequence).
    assert live_counts and max(live_counts) <= step
    final = xsite.load_metrics()
    assert len(final) == 4 * 600 + step
    assert not final.duplicated(["run_id", "key", "step"]).any()
    xsite.compact(store)
    assert len(list(Path(live.dir).glob("metrics-*.parquet"))) == 1
    runs = xsite.load_runs().set_index("name")
    assert runs.loc["r2", "params.late2"] == 2
    assert runs.loc["live", "metrics.x"] == step - 1


def test_compaction_recovers_from_a_crash_between_write_and_delete(store: Path) -> None:
    with xsite.init(capture=False) as run:
        for step in range(5):
            run.log({"a": float(step)})
            run.flush()
    before = sorted(Path(run.dir).glob("metrics-*.parquet"))
    saved = {p: p.read_bytes() for p in before}
    xsite.compact(store)
    for path, data in saved.items():  # as if the compactor died before deleting sources
        path.write_bytes(data)
    assert xsite.load_metrics()["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    xsite.compact(store)  # a later compaction cleans up
    assert len(list(Path(run.dir).glob("metrics-*.parquet"))) == 1
    assert xsite.load_metrics()["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_store_copied_elsewhere_still_reads(store: Path, tmp_path: Path) -> None:
    with xsite.init(capture=False) as run:
        run.log({"a": 1.0})
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    assert xsite.load_runs(copy)["run_id"].tolist() == [run.id]
