"""Site benchmarks: `xsite build` cold and incremental, and the site in Chromium.

    python bench/bench_site.py            # the sizes from the issue (about 20 minutes)
    python bench/bench_site.py --quick    # small sizes, to check the script works

Stores are generated through the public API (two processes in parallel). Every timing runs
in a fresh child process, so peak memory is its own; the Markdown table printed at the end
goes into bench/RESULTS.md. "Raw read" is pyarrow.dataset reading every Parquet part of the
store (runs, params, artifacts, metrics) into Arrow tables; "write bytes" is writing the
built site's files from memory to a fresh folder — together the floor a build can't beat.
"""

from __future__ import annotations

import functools
import glob
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from harness import measure, parse_args

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.chromium import launch


def generate(store: str, first: int, count: int, keys: int, steps: int) -> None:
    import xsite

    names = [f"metric/{k}" for k in range(keys)]
    for index in range(first, first + count):
        with xsite.init(
            project=f"project-{index % 3}",
            name=f"run-{index}",
            params={"lr": 10 ** -(index % 5), "seed": index, "model": {"depth": index % 7}},
            tags=["bench", f"group-{index % 4}"],
            capture=False,
            dir=store,
            flush_interval=3600,
        ) as run:
            for step in range(steps):
                run.log({n: (step + k) * 0.001 + index for k, n in enumerate(names)}, step=step)


def make_store(store: str, runs: int, keys: int, steps: int) -> float:
    started = time.perf_counter()
    half = runs // 2
    with ProcessPoolExecutor(2) as pool:
        jobs = [
            pool.submit(generate, store, 0, half, keys, steps),
            pool.submit(generate, store, half, runs - half, keys, steps),
        ]
        for job in jobs:
            job.result()
    return time.perf_counter() - started


# -- measurements, each in its own process ------------------------------------------------------


def raw_read(store: str) -> dict[str, float]:
    import pyarrow.dataset as ds

    started = time.perf_counter()
    rows = 0
    for kind in ("run", "params", "artifacts", "metrics"):
        files = sorted(glob.glob(f"{store}/runs/*/{kind}-*.parquet"))
        if files:
            rows += ds.dataset(files, format="parquet").to_table().num_rows
    return {"seconds": time.perf_counter() - started, "rows": rows}


def write_bytes(site: str, target: str) -> dict[str, float]:
    files = {p: p.read_bytes() for p in Path(site).rglob("*") if p.is_file()}
    started = time.perf_counter()
    for path, data in files.items():
        out = Path(target) / path.relative_to(site)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return {"seconds": time.perf_counter() - started, "files": len(files)}


def build(store: str, out: str) -> dict[str, float]:
    import xsite

    started = time.perf_counter()
    report = xsite.build(xsite.SiteConfig(store=store, out=out))
    return {
        "seconds": time.perf_counter() - started,
        "pages_rendered": report.pages_rendered,
        "files_written": report.files_written,
        "runs_read": report.runs_read,
        "bytes": report.bytes,
    }


def cli_build(store: str, out: str) -> dict[str, float]:
    """The whole command a user types, Python start-up and imports included."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "xsite.cli", "build", store, "--out", out],
        check=True,
        capture_output=True,
    )
    return {"seconds": time.perf_counter() - started}


CASES = {f.__name__: f for f in (raw_read, write_bytes, build, cli_build)}


# -- the browser -------------------------------------------------------------------------------


def serve(www: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(www))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def browser_timings(url: str, selector: str, repeat: int) -> list[float]:
    """Seconds from navigation start until ``selector`` first matches, in fresh contexts.

    The moment is taken inside the page by a MutationObserver: a poll from outside would
    wait for the main thread, which may already be drawing the next chart.
    """
    from playwright.sync_api import sync_playwright

    watch = (
        "window.__xsiteFirst = null; new MutationObserver((_, observer) => {"
        f" if (document.querySelector({json.dumps(selector)})) {{"
        " window.__xsiteFirst = performance.now(); observer.disconnect(); } })"
        ".observe(document, {subtree: true, childList: true, attributes: true});"
    )
    timings = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.add_init_script(watch)
            page.goto(url, wait_until="commit")
            page.wait_for_selector(selector, timeout=60_000)
            page.wait_for_function("window.__xsiteFirst !== null")
            timings.append(page.evaluate("window.__xsiteFirst") / 1000)
            context.close()
        browser.close()
    return timings


def comparison_page(site: Path, run_ids: list[str], keys: list[str]) -> str:
    """A page overlaying ``run_ids`` on one chart per key, through the site's own charts.js
    and its per-run data files (the layout comparison pages use)."""
    sources = [{"run": r, "label": r, "src": f"../runs/{r}/metrics.json"} for r in run_ids]
    figures = "".join(
        f'<figure class="xs-chart" data-key="{k}"><figcaption>{k}</figcaption>'
        '<div class="xs-chart-plot"></div></figure>'
        for k in keys
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="../assets/xsite.css">'
        '<link rel="stylesheet" href="../assets/charts.css"><title>compare</title></head><body>'
        '<main class="xs-main"><section class="xs-charts" '
        'data-spec="../assets/metric-chart.vl.json" '
        f"data-sources='{json.dumps(sources)}'><div class=\"xs-chart-controls\"></div>"
        f'{figures}</section></main><script src="../assets/vega.js"></script>'
        '<script src="../assets/charts.js" defer></script></body></html>'
    )
    (site / "bench-compare").mkdir(exist_ok=True)
    (site / "bench-compare" / "index.html").write_text(html)
    return "bench-compare/"


# -- the report --------------------------------------------------------------------------------


def site_case(
    work: Path,
    label: str,
    runs: int,
    keys: int,
    steps: int,
    repeat: int,
    rows: list[tuple[str, str, str, str]],
) -> Path:
    store, site = str(work / f"{label}-store"), work / f"{label}-out" / "site"
    made = make_store(store, runs, keys, steps)
    size = f"{runs:,} runs × {keys} keys × {steps:,} steps"
    rows.append((f"write the store via the API ({size})", f"{made:.1f}", "–", "2 processes"))
    raw, raw_peak = measure(__file__, "raw_read", store, repeat=repeat)
    rows.append(
        (
            f"raw pyarrow read of every part ({size})",
            f"{raw['seconds']:.2f}",
            f"{raw_peak:.0f}",
            f"{raw['rows']:,.0f} rows",
        )
    )

    def wipe() -> None:
        shutil.rmtree(site.parent, ignore_errors=True)

    cold, cold_peak = measure(__file__, "build", store, str(site), repeat=repeat, before=wipe)
    site_bytes = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    files = sum(1 for p in site.rglob("*") if p.is_file())
    copy_to = work / f"{label}-copy"
    written, _ = measure(__file__, "write_bytes", str(site), str(copy_to))
    shutil.rmtree(copy_to)
    limit = 5 * raw["seconds"] + written["seconds"]
    rows.append(
        (
            f"cold `build()` ({size})",
            f"{cold['seconds']:.2f}",
            f"{cold_peak:.0f}",
            f"{cold['seconds'] / raw['seconds']:.1f}× raw read; limit 5× raw + write "
            f"bytes ({written['seconds']:.2f} s) = {limit:.1f} s; site "
            f"{site_bytes / 1e6:.0f} MB in {files:,} files",
        )
    )
    from_cli, _ = measure(__file__, "cli_build", store, str(site))
    rows.append(
        (
            f"no-change rebuild, `xsite build` command ({size})",
            f"{from_cli['seconds']:.2f}",
            "–",
            "Python start-up and imports included",
        )
    )

    def add_run() -> None:
        generate(store, runs + int(time.time() * 1000) % 1_000_000, 1, keys, steps)

    incremental, inc_peak = measure(
        __file__, "build", store, str(site), repeat=repeat, before=add_run
    )
    rows.append(
        (
            f"rebuild after one new run, `build()` ({size})",
            f"{incremental['seconds']:.2f}",
            f"{inc_peak:.0f}",
            f"{incremental['runs_read']:.0f} run read, "
            f"{incremental['pages_rendered']:.0f} pages rendered, "
            f"{incremental['files_written']:.0f} files written",
        )
    )
    inc_cli, _ = measure(__file__, "cli_build", store, str(site), repeat=repeat, before=add_run)
    rows.append(
        (
            f"rebuild after one new run, `xsite build` command ({size})",
            f"{inc_cli['seconds']:.2f}",
            "–",
            "Python start-up and imports included",
        )
    )
    shutil.rmtree(store)
    return site


def main() -> None:
    args = parse_args(CASES, default_repeat=3)
    if args is None:
        return
    big, many, overlay = ((50, 20, 1000), (500, 10, 100), (100, 10, 200))
    if not args.quick:
        big, many = (1000, 20, 1000), (10_000, 10, 100)
    rows: list[tuple[str, str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-site-"))
    try:
        site_case(work, "big", *big, args.repeat, rows)
        shutil.rmtree(work / "big-out")
        many_site = site_case(work, "many", *many, args.repeat, rows)
        server, url = serve(many_site.parent)
        project = json.loads((many_site / "runs.json").read_text())["runs"][0]["project"]
        slug = project.lower()
        times = browser_timings(f"{url}site/projects/{slug}/", ".xs-runs-table[data-ready=true]", 5)
        rows.append(
            (
                f"runs table interactive in Chromium ({many[0]:,} runs, "
                f"{many[0] // 3:,} in the project)",
                f"{statistics.median(times):.2f}",
                "–",
                "navigation start → table rendered and sortable; median of 5",
            )
        )
        server.shutdown()
        shutil.rmtree(work / "many-out")

        store, site = str(work / "overlay-store"), work / "overlay-out" / "site"
        make_store(store, *overlay)
        measure(__file__, "build", store, str(site))
        all_runs = json.loads((site / "runs.json").read_text())["runs"]
        keys = sorted(all_runs[0]["metrics"])
        page = comparison_page(site, [r["id"] for r in all_runs][:100], keys)
        server, url = serve(site.parent)
        times = browser_timings(f"{url}site/{page}", "figure[data-rendered=true]", 5)
        rows.append(
            (
                f"first chart of 100 overlaid runs in Chromium ({overlay[1]} keys × "
                f"{overlay[2]} steps)",
                f"{statistics.median(times):.2f}",
                "–",
                "navigation start → first chart drawn; median of 5 (Trackio: 20–30 s)",
            )
        )
        server.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\n`python bench/bench_site.py{' --quick' if args.quick else ''}` — median of "
        f"{args.repeat} builds, {os.cpu_count()} cores\n"
    )
    print("| what | median s | peak RSS MB | note |")
    print("| --- | ---: | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
