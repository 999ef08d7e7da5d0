"""``load_runs`` at 10,000 runs: from the parts as training leaves them, after
``xsite compact``, and on a repeat call.

    python bench/bench_load.py            # 10,000 runs × 10 metrics × 100 steps
    python bench/bench_load.py --quick    # 1,000 runs, to check the script works

The store is written through the public API by two processes (bench_site.py's generator),
so every ended run has its summary. Each figure is the median of fresh processes (pandas
imported first, as in a notebook); "raw read" is pyarrow.dataset reading every part of the
store, the floor of reading it without summaries.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench_site import make_store, raw_read
from harness import measure, parse_args, print_table


def load_runs(store: str, repeat: bool) -> dict[str, float]:
    import pandas  # noqa: F401 - imported before timing, as a notebook has it

    import xsite

    started = time.perf_counter()
    frame = xsite.load_runs(store)
    seconds = time.perf_counter() - started
    if repeat:
        started = time.perf_counter()
        xsite.load_runs(store)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "runs": len(frame)}


def compact(store: str) -> dict[str, float]:
    import xsite

    started = time.perf_counter()
    xsite.compact(store)
    return {"seconds": time.perf_counter() - started}


CASES = {"raw": raw_read, "load_runs": load_runs, "compact": compact}


def main() -> None:
    args = parse_args(CASES, default_repeat=3)
    if args is None:
        return
    runs = 1000 if args.quick else 10_000
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-load-"))
    try:
        store = str(work / "store")
        written = make_store(store, runs, 10, 100)
        size = f"{runs:,} runs × 10 keys × 100 steps"
        rows = [(f"write the store via the API ({size})", written, None, "2 processes")]
        raw, raw_peak = measure(__file__, "raw", store, repeat=args.repeat)
        rows.append((f"raw pyarrow read of every part ({size})", raw["seconds"], raw_peak, ""))
        for label, repeat in (("first call", False), ("repeat call in the same process", True)):
            result, peak = measure(__file__, "load_runs", store, repeat, repeat=args.repeat)
            note = f"{raw['seconds'] / result['seconds']:.0f}× faster than the raw read"
            rows.append(
                (
                    f"`load_runs()` from the parts and summaries, {label}",
                    result["seconds"],
                    peak,
                    note,
                )
            )
        done, _ = measure(__file__, "compact", store)
        rows.append(
            ("`xsite compact` (merges parts, writes the store index)", done["seconds"], None, "")
        )
        result, peak = measure(__file__, "load_runs", store, False, repeat=args.repeat)
        note = f"{raw['seconds'] / result['seconds']:.0f}× faster than the raw read"
        rows.append(
            ("`load_runs()` after `xsite compact`, first call", result["seconds"], peak, note)
        )
        print_table(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
