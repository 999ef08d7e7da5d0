"""The store at 100,000 runs: what it holds on disk, and what reading, querying, compacting
and building it cost.

    python bench/bench_scale.py            # 100,000 runs × 10 metrics × 100 steps (about 1 h)
    python bench/bench_scale.py --site     # and the site: cold build, rebuild (about 1 h more)
    python bench/bench_scale.py --quick    # 5,000 runs, to check the script works

The store is written through the public API by two processes (bench_site.py's generator).
Each figure is one fresh process (``--repeat`` for the quick reads); "raw read" is
pyarrow.dataset reading every part of the store, the cost the other figures are set
against. The DuckDB query is the one docs/scale.md shows, run in place on the folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_load import compact, load_runs
from bench_site import build, generate, make_store, raw_read
from harness import Row, measure, parse_args, print_table

BEST_RUNS = """
SELECT run_id, max(value) AS best
FROM read_parquet('{store}/runs/*/metrics-*.parquet')
WHERE key = 'metric/0'
GROUP BY run_id
ORDER BY best DESC
LIMIT 10
"""


def duckdb_query(store: str) -> dict[str, float]:
    import duckdb

    started = time.perf_counter()
    rows = duckdb.sql(BEST_RUNS.format(store=store)).fetchall()
    return {"seconds": time.perf_counter() - started, "rows": len(rows)}


CASES = {
    "raw": raw_read,
    "load_runs": load_runs,
    "compact": compact,
    "duckdb": duckdb_query,
    "build": build,
}


def footprint(folder: str) -> tuple[int, int]:
    """Files and bytes under ``folder``."""
    files = size = 0
    for root, _, names in os.walk(folder):
        files += len(names)
        size += sum(os.path.getsize(os.path.join(root, name)) for name in names)
    return files, size


def main() -> None:
    site = "--site" in sys.argv
    if site:
        sys.argv.remove("--site")
    args = parse_args(CASES, default_repeat=3)
    if args is None:
        return
    runs = 5000 if args.quick else 100_000
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-scale-"))
    size = f"{runs:,} runs × 10 keys × 100 steps"
    rows: list[Row] = []

    def row(what: str, case: str, *case_args: object, repeat: int = 1, vs_raw: bool = True) -> None:
        result, peak = measure(__file__, case, *case_args, repeat=repeat)
        note = f"{result['seconds'] / raw['seconds']:.2f}× the raw read" if vs_raw else ""
        rows.append((what, result["seconds"], peak, note))
        print(rows[-1], file=sys.stderr, flush=True)  # figures so far, if the run is cut short

    try:
        store, out = str(work / "store"), str(work / "site")
        written = make_store(store, runs, 10, 100)
        files, stored = footprint(store)
        rows.append(
            (
                f"write the store via the API ({size})",
                written,
                None,
                f"2 processes; {files:,} files, {stored / 1e9:.2f} GB",
            )
        )
        raw, raw_peak = measure(__file__, "raw", store)
        rows.append((f"raw pyarrow read of every part ({size})", raw["seconds"], raw_peak, ""))
        row("`load_runs()` from the parts and summaries, first call", "load_runs", store, False)
        row("`load_runs()`, repeat call in the same process", "load_runs", store, True)
        row("DuckDB: best value of one metric per run, in place", "duckdb", store)
        row("`xsite compact` (merges parts, writes the store index)", "compact", store)
        files, stored = footprint(store)
        rows[-1] = (*rows[-1][:3], f"{files:,} files, {stored / 1e9:.2f} GB after")
        row(
            "`load_runs()` after `xsite compact`, first call",
            "load_runs",
            store,
            False,
            repeat=args.repeat,
        )
        row("DuckDB query after `xsite compact`", "duckdb", store)
        if not site:
            return print_table(rows, seconds="s")
        row("cold `build()`", "build", store, out)
        files, site_bytes = footprint(out)
        rows[-1] = (
            *rows[-1][:3],
            f"{rows[-1][3]}; site {site_bytes / 1e9:.2f} GB, {files:,} files",
        )
        generate(store, runs, 1, 10, 100)
        row("rebuild after one new run, `build()`", "build", store, out, vs_raw=False)
        print_table(rows, seconds="s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
