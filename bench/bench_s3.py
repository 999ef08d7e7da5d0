"""``xsite build s3://…``: requests and bytes of a cold build and of a rebuild after one new
run, counted at a local S3 server (moto's, with a counting layer in front of it).

    python bench/bench_s3.py            # 1,000 runs × 10 metrics × 100 steps
    python bench/bench_s3.py --quick    # 100 runs, to check the script works

The store is written through the public API by 2 processes into the bucket. The counts are
of HTTP requests by method and of response bytes, as a bill for object storage counts them.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

BUCKET = "xsite-bench"


class Counter:
    """WSGI middleware: counts requests by method and the bytes of responses."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.methods: collections.Counter[str] = collections.Counter()
        self.bytes = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        with self.lock:
            self.methods[environ["REQUEST_METHOD"]] += 1
        for chunk in self.app(environ, start_response):
            with self.lock:
                self.bytes += len(chunk)
            yield chunk

    def snapshot(self) -> tuple[dict[str, int], int]:
        with self.lock:
            return dict(self.methods), self.bytes


def generate(uri: str, first: int, count: int) -> None:
    import xsite

    for index in range(first, first + count):
        with xsite.init(
            project=f"project-{index % 3}",
            name=f"run-{index}",
            params={"lr": 10 ** -(index % 5), "seed": index},
            tags=["bench"],
            capture=False,
            dir=uri,
            flush_interval=3600,
        ) as run:
            for step in range(100):
                run.log({f"metric/{k}": step * 0.001 + k for k in range(10)}, step=step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 100 if args.quick else 1000
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

    import boto3
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    import xsite

    counter = Counter(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, counter, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"127.0.0.1:{server.server_port}"
    boto3.client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1").create_bucket(
        Bucket=BUCKET
    )
    uri = f"s3://{BUCKET}/store?region=us-east-1&scheme=http&endpoint_override={endpoint}"
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-s3-"))
    rows = []
    try:
        started = time.perf_counter()
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(generate, [uri, uri], [0, runs // 2], [runs // 2, runs - runs // 2]))
        methods, sent = counter.snapshot()
        rows.append(("write the store via the API", time.perf_counter() - started, methods, sent))
        config = xsite.SiteConfig(store=uri, out=str(work / "site"))
        for what, before in (
            ("cold `xsite build`", None),
            ("rebuild, nothing new", None),
            ("rebuild after one new run", lambda: generate(uri, runs, 1)),
        ):
            if before is not None:
                before()
            counter.reset()
            started = time.perf_counter()
            report = xsite.build(config)
            seconds = time.perf_counter() - started
            methods, sent = counter.snapshot()
            rows.append(
                (f"{what} ({report.runs} runs, {report.runs_read} read)", seconds, methods, sent)
            )
        print(f"| what ({runs:,} runs × 10 keys × 100 steps) | s | requests | response bytes |")
        print("| --- | ---: | --- | ---: |")
        for what, seconds, methods, sent in rows:
            shown = ", ".join(f"{count:,} {method}" for method, count in sorted(methods.items()))
            print(f"| {what} | {seconds:.1f} | {shown} | {sent / 1e6:.1f} MB |")
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
