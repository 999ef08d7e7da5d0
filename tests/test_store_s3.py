"""A store in object storage, on a local S3 server (moto's): read back after an upload of
a store made on disk (as `aws s3 sync` would), and written through the API, by one process
and by eight at once.

xsite reaches S3 through s3fs, which sends each part as one PUT: pyarrow's own S3 client
uploads every object in parts, and moto 5.2 answers its CompleteMultipartUpload with a
misnamed XML root (getmoto/moto#10055).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

import xsite
import xsite.importers
from tests.test_build import make_store, tree
from tests.test_store_interop import DOCS, documented_sql
from xsite import SiteConfig

BUCKET = "xsite-runs"
Request = tuple[str, str]
"""(method, path) of a request the S3 server answered."""


class RequestLog:
    """WSGI middleware that keeps the method and path of every request, as a bill would
    count them."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.requests: list[Request] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return self.app(environ, start_response)

    def take(self) -> list[Request]:
        """The requests since the last call."""
        taken, self.requests = self.requests, []
        return taken


@pytest.fixture
def s3_log() -> RequestLog:
    return RequestLog(DomainDispatcherApplication(create_backend_app))


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch, s3_log: RequestLog) -> Iterator[str]:
    """An empty bucket on a local S3 server (moto's, behind ``s3_log``): the endpoint URL."""
    server = make_server("127.0.0.1", 0, s3_log, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    endpoint = f"http://127.0.0.1:{server.server_port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    # moto keeps its buckets per process, not per server: empty them for the next test.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    server.shutdown()


def uri_of(endpoint: str, prefix: str) -> str:
    host = endpoint.removeprefix("http://")
    return f"s3://{BUCKET}/{prefix}?region=us-east-1&scheme=http&endpoint_override={host}"


@pytest.fixture
def s3_store(s3_server: str, tmp_path: Path) -> tuple[str, Path]:
    """The URI of a store in a local S3 bucket, and the folder it was uploaded from."""
    local = tmp_path / "store"
    make_store(local, tmp_path)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    for path in sorted(local.rglob("*")):
        if path.is_file():
            key = f"experiments/{path.relative_to(local).as_posix()}"
            client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return uri_of(s3_server, "experiments"), local


def test_a_site_built_from_object_storage_matches_one_built_from_disk(
    s3_store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, local = s3_store
    from_disk = xsite.build(SiteConfig(store=str(local), out=str(tmp_path / "disk/site")))
    from_s3 = xsite.build(SiteConfig(store=uri, out=str(tmp_path / "s3/site")))
    assert from_s3.skipped == [] and from_s3.broken_links == []
    assert from_s3.runs == from_disk.runs == 4
    assert tree(tmp_path / "s3/site") == tree(tmp_path / "disk/site")

    # Object stores keep no folder times: unchanged runs are recognised by their listings.
    again = xsite.build(SiteConfig(store=uri, out=str(tmp_path / "s3/site")))
    assert again.runs_read == 0 and again.files_written == 0


def test_load_runs_and_load_metrics_read_object_storage(s3_store: tuple[str, Path]) -> None:
    uri, local = s3_store
    pd.testing.assert_frame_equal(xsite.load_runs(uri), xsite.load_runs(local))
    pd.testing.assert_frame_equal(xsite.load_metrics(dir=uri), xsite.load_metrics(dir=local))


WRITER = """
import sys, xsite
uri, index = sys.argv[1], int(sys.argv[2])
with xsite.init(project="sweep", name=f"writer-{index}", params={"index": index},
                capture=False, dir=uri, flush_interval=0.2) as run:
    for step in range(STEPS):
        run.log({"loss": index + step / 1000}, step=step)
        if step % 50 == 49:
            run.flush()
"""
STEPS = 200


def test_eight_processes_write_to_object_storage_at_once(s3_server: str, tmp_path: Path) -> None:
    uri = uri_of(s3_server, "shared")
    script = tmp_path / "writer.py"
    script.write_text(WRITER.replace("STEPS", str(STEPS)))
    writers = [
        subprocess.Popen([sys.executable, str(script), uri, str(index)], stderr=subprocess.PIPE)
        for index in range(8)
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=180)
        assert writer.returncode == 0, stderr.decode()[-2000:]
    runs = xsite.load_runs(uri)
    assert sorted(runs["params.index"]) == list(range(8))
    assert set(runs["status"]) == {"finished"}
    points = xsite.load_metrics(dir=uri)
    assert len(points) == 8 * STEPS  # nothing lost
    assert points.groupby("run_id")["step"].apply(lambda s: list(s) == list(range(STEPS))).all()
    # A build reads the store written there, as it reads one on disk.
    report = xsite.build(SiteConfig(store=uri, out=str(tmp_path / "site")))
    assert report.runs == 8 and report.skipped == []


def test_endpoint_from_the_environment(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow ignores AWS_ENDPOINT_URL; xsite honours it (and AWS_ENDPOINT_URL_S3)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with xsite.init(project="p", name="env", capture=False, dir=f"s3://{BUCKET}/env") as run:
        run.log({"loss": 0.5})
    assert xsite.load_runs(f"s3://{BUCKET}/env")["run_id"].tolist() == [run.id]


KILLED = """
import sys, time, xsite
run = xsite.init(project="p", name="killed", capture=False, dir=sys.argv[1], flush_interval=3600)
for step in range(100):
    run.log({"loss": step}, step=step)
run.flush()
print(run.id, flush=True)
for step in range(100, 200):
    run.log({"loss": step}, step=step)  # never flushed
time.sleep(60)
"""


def test_a_killed_writer_loses_only_its_unflushed_points(s3_server: str, tmp_path: Path) -> None:
    uri = uri_of(s3_server, "killed")
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    writer = subprocess.Popen([sys.executable, str(script), uri], stdout=subprocess.PIPE, text=True)
    run_id = writer.stdout.readline().strip()
    writer.kill()  # SIGKILL: no handler runs
    writer.wait(timeout=30)
    reader = xsite.StoreReader(uri)
    points = reader.read("metrics").to_pandas()
    assert points["step"].tolist() == list(range(100)) and reader.skipped == []
    assert xsite.load_runs(uri)["run_id"].tolist() == [run_id]


def test_compaction_in_object_storage_never_shows_a_point_twice_or_misses_one(
    s3_server: str,
) -> None:
    uri = uri_of(s3_server, "compact")
    for index in range(3):
        with xsite.init(project="p", name=f"r{index}", capture=False, dir=uri) as run:
            for step in range(20):
                run.log({"loss": step}, step=step)
                run.flush()  # one part per step
    expected = 3 * 20
    reads: list[int] = []
    compaction = threading.Thread(target=xsite.compact, args=(uri,))
    compaction.start()
    while compaction.is_alive() or not reads:
        reads.append(len(xsite.load_metrics(dir=uri)))
    compaction.join()
    reads.append(len(xsite.load_metrics(dir=uri)))
    assert set(reads) == {expected}
    parts = [key for key in _keys(s3_server, "compact/runs/") if "/metrics-" in key]
    assert len(parts) == 3  # one merged part per run: compaction needed no rename


def _keys(endpoint: str, prefix: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _part_reads(requests: list[Request]) -> set[str]:
    """The run folders whose files were fetched."""
    return {path.split("/runs/")[1].split("/")[0] for method, path in requests if "/runs/" in path}


def test_a_rebuild_lists_the_store_once_and_reads_only_the_new_run(
    s3_server: str, s3_log: RequestLog, tmp_path: Path
) -> None:
    uri = uri_of(s3_server, "rebuild")
    (tmp_path / "weights.bin").write_bytes(b"w")
    for index in range(5):
        with xsite.init(project="p", name=f"r{index}", capture=False, dir=uri) as run:
            run.log({"loss": 1.0 / (index + 1)})
            run.log_model(tmp_path / "weights.bin", "m")
    config = SiteConfig(store=uri, out=str(tmp_path / "site"))
    assert xsite.build(config).runs_read == 5
    s3_log.take()
    # An empty folder costs one LIST too (s3fs would follow it with a HEAD and a LIST).
    store = xsite.StoreReader(uri).store
    assert store.list_files(store.path("none"), recursive=True) == []
    assert [method for method, _ in s3_log.take()] == ["GET", "GET"]  # the marker, the LIST

    again = xsite.build(config)
    requests = s3_log.take()
    assert again.runs_read == 0 and again.files_written == 0
    # The marker, one LIST of every run's files (a LIST returns up to 1,000 keys) and one
    # of the model registry, whose version files, never changed, are not read again.
    assert [method for method, _ in requests] == ["GET", "GET", "GET"]
    assert _part_reads(requests) == set()

    with xsite.init(project="p", name="new", capture=False, dir=uri) as new:
        new.log({"loss": 0.01})
    s3_log.take()
    after = xsite.build(config)
    requests = s3_log.take()
    assert after.runs == 6 and after.runs_read == 1
    assert _part_reads(requests) == {new.id}
    assert {method for method, _ in requests} == {"GET"}  # no HEAD before each read


def test_a_writer_sends_one_put_per_file_and_no_heads(s3_server: str, s3_log: RequestLog) -> None:
    uri = uri_of(s3_server, "writes")
    xsite.init(project="p", name="first", capture=False, dir=uri).finish()  # makes the store
    s3_log.take()
    with xsite.init(project="p", name="r", capture=False, dir=uri) as run:
        run.log({"loss": 0.5}, step=0)
        run.flush()
        run.log({"loss": 0.25}, step=1)
    requests = s3_log.take()
    run_keys = [key for key in _keys(s3_server, "writes/runs/") if f"/{run.id}/" in key]
    puts = [path for method, path in requests if method == "PUT"]
    assert len(puts) == len(set(puts)) == len(run_keys)  # heartbeats aside, none is rewritten
    assert not [request for request in requests if request[0] == "HEAD"]
    assert not [request for request in requests if request[0] == "POST"]  # no multipart
    # Its summary is made from what it wrote: no part is read back.
    assert not [path for method, path in requests if method == "GET" and ".parquet" in path]


def test_load_runs_after_compaction_reads_the_index_not_the_runs(
    s3_store: tuple[str, Path], s3_log: RequestLog
) -> None:
    uri, local = s3_store
    report = xsite.compact(uri)
    assert report.runs_indexed == report.runs == 4
    s3_log.take()
    runs = xsite.load_runs(uri)
    requests = s3_log.take()
    pd.testing.assert_frame_equal(runs, xsite.load_runs(local))
    assert _part_reads(requests) == set()
    assert len(requests) == 4  # the marker, a LIST of runs/, a LIST of index/, the index


def test_the_endpoint_can_be_set_in_config(s3_server: str, tmp_path: Path) -> None:
    store = f"s3://{BUCKET}/configured"
    with xsite.init(
        project="p", name="cfg", capture=False, dir=f"{store}?endpoint={s3_server}"
    ) as run:
        run.log({"loss": 0.5})
    (tmp_path / "xsite.toml").write_text(
        f'store = "{store}"\nendpoint = "{s3_server}"\nout = "site"\n'
    )
    config = xsite.load_config(tmp_path / "xsite.toml")
    assert xsite.build(config).runs == 1
    assert (Path(config.out) / "runs" / run.id / "index.html").is_file()


def test_the_documented_duckdb_query_runs_in_place_on_object_storage(
    s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb
    import s3fs

    uri = uri_of(s3_server, "experiments")
    for lr in (0.1, 0.01, 0.001):
        with xsite.init(project="p", params={"lr": lr}, capture=False, dir=uri) as run:
            for step in range(10):
                run.log({"val/acc": lr * step, "train/loss": 1 - lr}, step=step)
    sql = documented_sql("s3-best-runs", DOCS.parent / "scale.md")
    connection = duckdb.connect()
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)  # as the docs' S3FileSystem() finds it
    connection.register_filesystem(s3fs.S3FileSystem())
    best = connection.sql(sql.replace("s3://bucket/", f"s3://{BUCKET}/")).df()
    runs = xsite.load_runs(uri).set_index("run_id")
    assert best["run_id"].tolist() == runs.sort_values("params.lr", ascending=False).index.tolist()
    assert best["best_acc"].tolist() == pytest.approx([0.9, 0.09, 0.009])
    assert best["points"].tolist() == [10, 10, 10]


def test_an_artifact_larger_than_one_upload_part_arrives_whole(
    s3_server: str, s3_log: RequestLog, tmp_path: Path
) -> None:
    """s3fs uploads a file over its 50 MiB block size in parts (a multipart upload), which
    moto's server completes correctly for s3fs (its bug is with pyarrow's own client)."""
    uri = uri_of(s3_server, "big")
    data = bytes(range(256)) * (60 * 4096)  # 60 MiB
    (tmp_path / "weights.bin").write_bytes(data)
    with xsite.init(project="p", capture=False, dir=uri) as run:
        run.log_artifact(tmp_path / "weights.bin")
    assert ("POST", f"/{BUCKET}/big/runs/{run.id}/artifacts/weights.bin") in s3_log.take()
    with xsite.StoreReader(uri).open_artifact(run.id, "weights.bin") as stream:
        assert stream.read() == data


def test_sql_and_imports_work_on_object_storage(s3_store: tuple[str, Path], tmp_path: Path) -> None:
    uri, local = s3_store
    query = "SELECT run_id, key, count(*) AS points FROM metrics GROUP BY ALL ORDER BY ALL"
    pd.testing.assert_frame_equal(xsite.sql(query, uri), xsite.sql(query, local))
    (tmp_path / "table.csv").write_text("step,loss\n0,1.0\n1,0.5\n")
    report = xsite.importers.import_runs("csv", tmp_path / "table.csv", dir=uri, project="csv")
    assert report.imported == ["csv/table"]
    again = xsite.importers.import_runs("csv", tmp_path / "table.csv", dir=uri, project="csv")
    assert again.unchanged == ["csv/table"]
    runs = xsite.load_runs(uri)
    assert runs.loc[runs["name"] == "table", "metrics.loss"].item() == 0.5


def test_model_versions_are_numbered_right_when_processes_race_on_object_storage(
    s3_server: str, s3_log: RequestLog, tmp_path: Path
) -> None:
    """A version is claimed with a conditional PUT (If-None-Match: *), as S3 and MinIO
    offer: the one writer whose PUT lands first gets the number."""
    from tests.test_models import check_race, race

    uri = uri_of(s3_server, "registry")
    got = race(uri, tmp_path)
    check_race(got, xsite.load_models(uri))
    claims = [path for method, path in s3_log.take() if method == "PUT" and "/models/" in path]
    assert len(claims) >= 30  # and more when two writers raced for one number
    # The server refuses the second PUT of a name: that is what numbers the versions.
    store = xsite.StoreReader(uri).store
    assert store.create_bytes(store.path("models/race/shared/v1.json"), b"{}") is False
    assert store.create_bytes(store.path("models/race/shared/v31.json"), b"{}") is True
    # A retried PUT that had succeeded (its answer lost) is refused, and is still ours.
    assert store.create_bytes(store.path("models/race/shared/v31.json"), b"{}") is True
