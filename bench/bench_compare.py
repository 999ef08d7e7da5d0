"""Comparison page benchmarks: a named comparison of 100 and of 1,000 runs in Chromium.

    python bench/bench_compare.py            # 100 and 1,000 runs × 10 metrics × 200 steps
    python bench/bench_compare.py --quick    # 20 and 100 runs, to check the script works

Stores are generated through the public API (two processes, as in bench_site.py), built with
one named comparison of every run (``compare/all/``), and served over HTTP. Each page load is
in a fresh browser context, timed inside the page from navigation start: the first metric
chart drawn (charts.js), the comparison's tables ready (every run.json read, compare.js), and
the parallel-coordinates chart drawn. For scale on a noisy machine, the first row of each
size is the same overlay on the bare page bench_site.py times (charts.js alone, no
comparison around it). The Markdown rows printed at the end go into bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_site import browser_timings, comparison_page, make_store, serve
from harness import parse_args

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.chromium import launch

KEYS, STEPS = 10, 200
MOMENTS = {
    "first chart": "figure.xs-chart[data-rendered=true]",
    "tables ready": ".xs-compare[data-ready=true]",
    "parallel coordinates": "#compare-parallel .xs-compare-chart[data-rendered=true]",
}
# Each moment is taken inside the page by a MutationObserver: a poll from outside would wait
# for the main thread, which may be busy drawing the next chart. Every moment is an attribute
# being set, so only those changes are looked at (a querySelector per change of a page this
# big would cost the page itself measurable time).
WATCH = """
window.__xsiteMoments = {};
const moments = %s;
new MutationObserver((records, observer) => {
  for (const record of records) {
    for (const [name, selector] of Object.entries(moments)) {
      if (!(name in window.__xsiteMoments) && record.target.matches(selector)) {
        window.__xsiteMoments[name] = performance.now();
      }
    }
  }
  if (Object.keys(window.__xsiteMoments).length === Object.keys(moments).length) {
    observer.disconnect();
  }
}).observe(document, {subtree: true, attributes: true,
  attributeFilter: ["data-rendered", "data-ready"]});
"""


def build(store: str, out: Path) -> float:
    import xsite
    from xsite.config import ComparisonSettings

    started = time.perf_counter()
    report = xsite.build(
        xsite.SiteConfig(
            store=store,
            out=str(out),
            comparisons=(ComparisonSettings(title="All", runs=("params.seed >= 0",)),),
        )
    )
    assert report.broken_links == [], report.broken_links[:3]
    return time.perf_counter() - started


def page_timings(url: str, repeat: int) -> tuple[dict[str, list[float]], list[str]]:
    """Seconds from navigation start to each of MOMENTS, per load, and any console errors."""
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {name: [] for name in MOMENTS}
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.add_init_script(WATCH % json.dumps(MOMENTS))
            page.goto(url, wait_until="commit")
            for selector in MOMENTS.values():
                page.wait_for_selector(selector, timeout=300_000, state="attached")
            page.wait_for_function(
                f"Object.keys(window.__xsiteMoments).length === {len(MOMENTS)}", timeout=60_000
            )
            moments = page.evaluate("window.__xsiteMoments")
            for name in MOMENTS:
                timings[name].append(moments[name] / 1000)
            context.close()
        browser.close()
    return timings, problems


def case(
    work: Path, runs: int, repeat: int, rows: list[tuple[str, str, str]], with_reference: bool
) -> None:
    store, site = str(work / f"store-{runs}"), work / f"out-{runs}" / "site"
    made = make_store(store, runs, KEYS, STEPS)
    size = f"{runs:,} runs × {KEYS} metrics × {STEPS} steps"
    built = build(store, site)
    data = sum(p.stat().st_size for p in site.glob("runs/*/*.json"))
    rows.append(
        (
            f"write the store via the API and build ({size})",
            f"{made:.1f} + {built:.1f}",
            f"2 processes write; one build; run.json + metrics.json {data / 1e6:.1f} MB",
        )
    )
    all_runs = json.loads((site / "runs.json").read_text())["runs"]
    bare = comparison_page(site, [r["id"] for r in all_runs], sorted(all_runs[0]["metrics"]))
    server, url = serve(site.parent)
    try:
        # The bare page draws every chart at once (they all fit its screen): only for scale
        # at the smaller size.
        reference = (
            browser_timings(f"{url}site/{bare}", "figure[data-rendered=true]", repeat)
            if with_reference
            else []
        )
        timings, problems = page_timings(f"{url}site/compare/all/", repeat)
    finally:
        server.shutdown()
    if reference:
        rows.append(
            (
                f"reference: first chart of the same {runs:,} runs on a bare overlay page",
                f"{statistics.median(reference):.2f}",
                f"bench_site.py's page (charts.js alone); median of {len(reference)} loads",
            )
        )
    for name, values in timings.items():
        spread = f"{min(values):.2f}–{max(values):.2f}" if len(values) > 1 else ""
        rows.append(
            (
                f"comparison of {runs:,} runs in Chromium: {name}",
                f"{statistics.median(values):.2f}",
                f"navigation start → {name}; median of {len(values)} loads"
                + (f" (range {spread} s)" if spread else "")
                + ("" if not problems else f"; console: {problems[0][:80]}"),
            )
        )
    shutil.rmtree(work / f"out-{runs}")
    shutil.rmtree(store)


def main() -> None:
    args = parse_args({}, default_repeat=5)
    if args is None:
        return
    small, large = (20, 100) if args.quick else (100, 1000)
    rows: list[tuple[str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-compare-"))
    try:
        case(work, small, args.repeat, rows, with_reference=True)
        case(work, large, max(1, min(3, args.repeat)), rows, with_reference=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\n`python bench/bench_compare.py{' --quick' if args.quick else ''}` — "
        f"{os.cpu_count()} cores, Debian's headless Chromium\n"
    )
    print("| what | median s | note |")
    print("| --- | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
