"""Search and filter benchmark at 10,000 runs: the search index the build makes (time and
size), and in Chromium the runs table's query filter and the search box.

    python bench/bench_search.py            # 10,000 runs in one project (about 10 minutes)
    python bench/bench_search.py --quick    # 1,000 runs, to check the script works

The store is written through the public API (two processes). Build timings run in fresh
child processes; "without search" is the same build with the search plugin unregistered,
so the difference is what indexing costs. Browser timings are taken inside the page.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from harness import measure, parse_args

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench_site
from bench_site import serve
from tests.browser.chromium import launch

OPTIMIZERS = ["adam", "sgd", "adamw", "rmsprop", "lion"]
FILTERS = {
    "condition": 'metrics.val/acc > 0.9 and params.optimizer.name = "adam" and tags contains "cnn"',
    "free text": "transformer group-3",
    "syntax error (table kept)": "metrics.val/acc >",
}
SEARCHES = {
    "selective (one run's name)": "transformer-4243",
    "common (a tag on every run)": "bench",
}


def generate(store: str, first: int, count: int) -> None:
    import xsite

    for index in range(first, first + count):
        kind = "transformer" if index % 2 else "cnn"
        with xsite.init(
            project="sweep",
            name=f"{kind}-{index}",
            params={
                "lr": 10 ** -(index % 5),
                "seed": index,
                "optimizer": {"name": OPTIMIZERS[index % 5], "momentum": 0.9},
            },
            tags=["bench", kind, f"group-{index % 4}"],
            notes=f"Run {index} of the sweep: {kind} with {OPTIMIZERS[index % 5]}.",
            capture=False,
            dir=store,
            flush_interval=3600,
        ) as run:
            for step in range(5):
                run.log(
                    {"val/acc": (index % 100) / 100 + step * 0.001, "train/loss": 1 / (step + 1)}
                )


def make_store(store: str, runs: int) -> float:
    started = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        half = runs // 2
        for job in [
            pool.submit(generate, store, 0, half),
            pool.submit(generate, store, half, runs - half),
        ]:
            job.result()
    return time.perf_counter() - started


def build(store: str, out: str, search: bool) -> dict[str, float]:
    import xsite

    plugins = xsite.plugin_manager()
    if not search:
        plugins.unregister(name="xsite.search")
    started = time.perf_counter()
    report = xsite.build(xsite.SiteConfig(store=store, out=out), plugins=plugins)
    return {"seconds": time.perf_counter() - started, "files_written": report.files_written}


CASES = {"build": build}

FILTER = """async (text) => {
  const box = document.querySelector('.xs-runs-filter-input');
  box.value = '';
  box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
  await new Promise(requestAnimationFrame);
  const started = performance.now();
  box.value = text;
  box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));  // filters and renders now
  const filtered = performance.now();
  await new Promise(requestAnimationFrame);
  return [filtered - started, performance.now() - started,
          document.querySelector('.xs-runs-count').textContent];
}"""

SEARCH = """async (text) => {
  const box = document.getElementById('xs-search-input');
  const panel = document.getElementById('xs-search-results');
  const started = performance.now();
  box.value = text;
  box.dispatchEvent(new Event('input'));
  while (panel.dataset.query !== text) await new Promise((r) => setTimeout(r, 5));
  return [performance.now() - started, panel.querySelectorAll('.xs-search-result').length];
}"""


def browser_rows(url: str, runs: int, repeat: int) -> list[tuple[str, str, str, str]]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}projects/sweep/")
        page.wait_for_selector(".xs-runs-table[data-ready=true]", timeout=120_000)
        for label, text in FILTERS.items():
            results = [page.evaluate(FILTER, text) for _ in range(repeat)]
            rows.append(
                (
                    f"runs-table filter in Chromium, {label} ({runs:,} runs)",
                    f"{statistics.median(r[0] for r in results):.0f} ms",
                    f"{statistics.median(r[1] for r in results):.0f} ms to next frame",
                    f"`{text}` → {results[0][2]}",
                )
            )
        for label, text in SEARCHES.items():
            timings = []
            for _ in range(repeat):
                fresh = browser.new_page()
                fresh.goto(url)
                first = fresh.evaluate(SEARCH, text)
                fresh.evaluate(SEARCH, "")
                second = fresh.evaluate(SEARCH, text.upper())  # a new query, bundles loaded
                timings.append((first[0], second[0], first[1]))
                fresh.close()
            rows.append(
                (
                    f"search box, {label} ({runs:,} runs)",
                    f"{statistics.median(t[0] for t in timings):.0f} ms",
                    f"{statistics.median(t[1] for t in timings):.0f} ms once loaded",
                    f"`{text}`: first query loads the index; {timings[0][2]} results shown",
                )
            )
        browser.close()
    return rows


def main() -> None:
    args = parse_args(CASES, default_repeat=3)
    if args is None:
        return
    runs = 1_000 if args.quick else 10_000
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-search-"))
    rows: list[tuple[str, str, str, str]] = []
    try:
        store = str(work / "store")
        made = make_store(store, runs)
        rows.append((f"write the store via the API ({runs:,} runs)", f"{made:.0f} s", "–", ""))
        raw, _ = measure(bench_site.__file__, "raw_read", store, repeat=args.repeat)
        rows.append(
            (f"raw pyarrow read of every part ({runs:,} runs)", f"{raw['seconds']:.1f} s", "–", "")
        )
        cold = {}
        for search in (False, True):
            site = work / f"site-{search}" / "site"

            def wipe(site: Path = site) -> None:
                shutil.rmtree(site.parent, ignore_errors=True)

            cold[search], peak = measure(
                __file__, "build", store, str(site), search, repeat=args.repeat, before=wipe
            )
            rows.append(
                (
                    f"cold `build()` {'with' if search else 'without'} search ({runs:,} runs)",
                    f"{cold[search]['seconds']:.1f} s",
                    f"{peak:.0f} MB peak",
                    "",
                )
            )
        bundle = [p for p in site.glob("pagefind-*/**/*") if p.is_file()]
        size = sum(p.stat().st_size for p in bundle)
        words = (site / "search/words.json").stat().st_size
        rows.append(
            (
                f"search index ({runs:,} run pages + 1 project page)",
                f"{cold[True]['seconds'] - cold[False]['seconds']:.1f} s",
                f"{size / 1e6:.1f} MB in {len(bundle):,} files",
                f"cold build with search − without; words.json {words / 1e3:.0f} kB",
            )
        )
        generate(store, runs + 1, 1)
        for search in (False, True):
            site = work / f"site-{search}" / "site"
            again, _ = measure(__file__, "build", store, str(site), search)
            rows.append(
                (
                    f"rebuild after one new run, {'with' if search else 'without'} search "
                    f"({runs:,} runs)",
                    f"{again['seconds']:.1f} s",
                    "–",
                    f"{again['files_written']:.0f} files written"
                    + (" (the run pages' index is made again)" if search else ""),
                )
            )
        server, url = serve(site.parent)
        rows += browser_rows(f"{url}site/", runs, args.repeat)
        server.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = f"python bench/bench_search.py{' --quick' if args.quick else ''}"
    print(f"\n`{command}` — {os.cpu_count()} cores\n")
    print("| what | median | more | note |")
    print("| --- | ---: | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
