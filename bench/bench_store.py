"""Store benchmarks: logging throughput and load times, next to a raw pyarrow scan.

    python bench/bench_store.py                # full sizes from the issue (about 3 minutes)
    python bench/bench_store.py --quick        # small sizes, to check the script works

Each measurement runs in a fresh child process (so peak memory is its own) and is repeated;
the table printed at the end (Markdown) goes into bench/RESULTS.md.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from pathlib import Path

from harness import Case, measure, parse_args, print_table

CASES: dict[str, Case] = {}


def case(function):  # type: ignore[no-untyped-def]
    CASES[function.__name__] = function
    return function


@case
def log_throughput(store: str, calls: int) -> dict[str, float]:
    """run.log with a dict of 10 metrics per call, pinned to one core with its flusher."""
    import xsite

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    keys = [f"train/metric{k}" for k in range(10)]
    values = [0.1 * k for k in range(10)]
    run = xsite.init(project="bench", capture=False, dir=store)
    start = time.perf_counter()
    for step in range(calls):
        run.log(dict(zip(keys, values, strict=True)), step=step)
    logged = time.perf_counter() - start
    run.finish()
    total = time.perf_counter() - start
    return {"seconds": logged, "points_per_s": calls * 10 / logged, "with_finish_s": total}


@case
def raw_scan(store: str) -> dict[str, float]:
    import pyarrow.dataset as ds

    start = time.perf_counter()
    files = sorted(glob.glob(f"{store}/runs/*/metrics-*.parquet"))
    table = ds.dataset(files, format="parquet").to_table()
    arrow = time.perf_counter() - start
    table.to_pandas()
    return {"seconds": arrow, "with_pandas_s": time.perf_counter() - start, "rows": table.num_rows}


@case
def load_metrics(store: str) -> dict[str, float]:
    import xsite

    start = time.perf_counter()
    frame = xsite.load_metrics(dir=store)
    return {"seconds": time.perf_counter() - start, "rows": len(frame)}


@case
def load_metrics_arrow(store: str) -> dict[str, float]:
    import xsite

    start = time.perf_counter()
    table = xsite.StoreReader(store).read("metrics")
    return {"seconds": time.perf_counter() - start, "rows": table.num_rows}


@case
def load_runs(store: str) -> dict[str, float]:
    import xsite

    start = time.perf_counter()
    frame = xsite.load_runs(store)
    return {"seconds": time.perf_counter() - start, "rows": len(frame)}


def make_store(store: str, runs: int, keys: int, steps: int, parts: int) -> None:
    """Runs written through the public API; ``parts`` flushes per run (1 = compacted)."""
    import xsite

    names = [f"metric/{k}" for k in range(keys)]
    flush_every = max(1, steps // parts)
    for index in range(runs):
        with xsite.init(
            project=f"p{index % 3}",
            params={"lr": 10 ** -(index % 5), "seed": index},
            capture=False,
            dir=store,
            flush_interval=3600,
        ) as run:
            for step in range(steps):
                run.log({name: (step + k) * 0.001 for k, name in enumerate(names)}, step=step)
                if (step + 1) % flush_every == 0:
                    run.flush()


def main() -> None:
    args = parse_args(CASES, default_repeat=5)
    if args is None:
        return
    runs, keys, steps = (50, 10, 100) if args.quick else (1000, 10, 1000)
    calls = 20_000 if args.quick else 500_000
    rows = []
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-"))
    try:
        result, peak = measure(
            __file__, "log_throughput", str(work / "log"), calls, repeat=args.repeat
        )
        rows.append(
            (
                f"run.log, {calls:,} calls × 10 metrics, 1 core",
                result["seconds"],
                peak,
                f"{result['points_per_s'] / 1e6:.2f} M points/s (finish incl.: "
                f"{calls * 10 / result['with_finish_s'] / 1e6:.2f} M/s)",
            )
        )
        for parts in (1, 10):
            store = str(work / f"store-{parts}")
            started = time.perf_counter()
            make_store(store, runs, keys, steps, parts)
            made = time.perf_counter() - started
            size = sum(f.stat().st_size for f in Path(store).rglob("*") if f.is_file())
            label = f"{runs:,} runs × {keys} metrics × {steps:,} steps, {parts} part(s)/run"
            rows.append(
                (
                    f"write store via API: {label}",
                    made,
                    float("nan"),
                    f"{size / 1e6:.0f} MB on disk",
                )
            )
            raw, raw_peak = measure(__file__, "raw_scan", store, repeat=args.repeat)
            rows.append(
                (
                    f"raw pyarrow.dataset scan ({label})",
                    raw["seconds"],
                    raw_peak,
                    f"{raw['rows']:,.0f} rows; + to_pandas {raw['with_pandas_s']:.2f} s",
                )
            )
            for name in ("load_metrics_arrow", "load_metrics", "load_runs"):
                result, peak = measure(__file__, name, store, repeat=args.repeat)
                baseline = raw["with_pandas_s"] if name == "load_metrics" else raw["seconds"]
                compared = "raw scan + to_pandas" if name == "load_metrics" else "raw scan"
                rows.append(
                    (
                        f"{name} ({label})",
                        result["seconds"],
                        peak,
                        f"{result['seconds'] / baseline:.2f}× {compared}",
                    )
                )
            shutil.rmtree(store)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\n`python bench/bench_store.py{' --quick' if args.quick else ''}` — median of "
        f"{args.repeat}, {os.cpu_count()} cores\n"
    )
    print_table(rows, digits=3)


if __name__ == "__main__":
    main()
