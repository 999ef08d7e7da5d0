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
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

import xsite
from tests.test_build import make_store, tree
from xsite import SiteConfig

BUCKET = "xsite-runs"


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty bucket on a local S3 server: the endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    # moto keeps its buckets per process, not per server: empty them for the next test.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    server.stop()


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
