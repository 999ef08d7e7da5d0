"""A store in object storage, read from a local S3 server (moto's) through pyarrow.

Writing is not covered: moto 5.2 answers pyarrow's CompleteMultipartUpload with a misnamed
XML root (getmoto/moto#10055), so these tests upload a store made on disk with boto3, as
`aws s3 sync` would, and read it back with xsite.
"""

from __future__ import annotations

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
def s3_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """The URI of a store in a local S3 bucket, and the folder it was uploaded from."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    local = tmp_path / "store"
    make_store(local, tmp_path)
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(local.rglob("*")):
        if path.is_file():
            key = f"experiments/{path.relative_to(local).as_posix()}"
            client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    query = f"region=us-east-1&scheme=http&endpoint_override={host}:{port}"
    yield f"s3://{BUCKET}/experiments?{query}", local
    # moto keeps its buckets per process, not per server: empty them for the next test.
    urllib.request.urlopen(
        urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")
    )
    server.stop()


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
