"""What the benchmarks share: each measurement in a fresh child process, so that its peak
memory is its own, repeated, with the median kept."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

Case = Callable[..., dict[str, float]]


def measure(
    script: str,
    name: str,
    *args: object,
    repeat: int = 1,
    before: Callable[[], None] | None = None,
) -> tuple[dict[str, float], float]:
    """Run case ``name`` of ``script`` ``repeat`` times (``before`` each time, untimed).

    Returns the median of each result field and the largest peak RSS in MB.
    """
    results, peaks = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        output = subprocess.run(
            [sys.executable, script, "--child", name, json.dumps(args)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        record = json.loads(output.strip().splitlines()[-1])
        peaks.append(record.pop("peak_rss_mb"))
        results.append(record)
    return {k: statistics.median(r[k] for r in results) for k in results[0]}, max(peaks)


def run_child(cases: dict[str, Case], name: str, args_json: str) -> None:
    """The child side of :func:`measure`: run one case and print its result as JSON."""
    result: dict[str, Any] = cases[name](*json.loads(args_json))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def parse_args(cases: dict[str, Case], default_repeat: int) -> argparse.Namespace | None:
    """The benchmarks' shared command line; None when this process is a measurement child
    (which has then already run its case)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--repeat", type=int, default=default_repeat)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(cases, *args.child)
        return None
    return args


Row = tuple[str, float, float | None, str]
"""(what, seconds, peak RSS in MB or None, note): a line of a results table."""


def print_table(rows: list[Row], seconds: str = "median s", digits: int = 2) -> None:
    """The Markdown table that goes into bench/RESULTS.md."""
    print(f"| what | {seconds} | peak RSS MB | note |")
    print("| --- | ---: | ---: | --- |")
    for what, time_s, peak, note in rows:
        shown = "–" if peak is None else f"{peak:.0f}"
        print(f"| {what} | {time_s:.{digits}f} | {shown} | {note} |", flush=True)
