"""Run-query benchmark: query.js compiling and filtering 10,000 runs in Chromium.

    python bench/bench_query.py            # 10,000 rows, median of 9
    python bench/bench_query.py --quick    # 1,000 rows, to check the script works

The rows are generated in the page, shaped like the site's rows (12 metrics, 10 params, two
tags). "cold" is the first filter over fresh row objects, which builds each row's free-text
haystack; "warm" filters the same rows again, as the runs table does while someone types.
The goal is well under 50 ms for 10,000 rows.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

from harness import parse_args

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.chromium import launch

ROOT = Path(__file__).resolve().parent.parent
QUERY_JS = ROOT / "themes" / "default" / "static" / "query.js"
QUERIES = {
    "conditions": 'metrics.val/acc > 0.9 and params.optimizer.name = "adam" '
    'and tags contains "cnn" and status = "finished"',
    "free text": "cnn group-3",
    "mixed": "(metrics.`val acc (%)` >= 50 or params.lr in (0.1, 0.001)) and not failed "
    'and started_at > "2026-11-20" and name contains "run-1"',
}

# One measurement: fresh rows (untimed), then compile, a cold filter and a warm filter.
MEASURE = """([text, n]) => {
  const q = window.xsite.query;
  const statuses = ["finished", "failed", "running", "killed"];
  const optimizers = ["adam", "sgd", "adamw", "Adam"];
  const rows = [];
  for (let i = 0; i < n; i++) {
    const metrics = {};
    for (let k = 0; k < 10; k++) metrics["metric/" + k] = (i * 7 + k) % 100 / 100;
    metrics["val/acc"] = i % 13 === 0 ? "NaN" : (i % 100) / 100;
    metrics["val acc (%)"] = i % 100;
    const params = {lr: [0.1, 0.01, 0.001][i % 3], "optimizer.name": optimizers[i % 4],
      seed: i, "model.depth": i % 7, layers: [64, 32], augment: i % 2 === 0};
    for (let k = 0; k < 4; k++) params["extra." + k] = "value-" + ((i + k) % 50);
    rows.push({id: i.toString(16).padStart(12, "0"), name: "run-" + i, project: "p",
      status: statuses[i % 4], tags: [i % 3 ? "cnn" : "mlp", "group-" + (i % 4)], notes: null,
      started_at: new Date(Date.UTC(2026, 10, 1 + (i % 30), i % 24)).toISOString(),
      ended_at: null, duration_s: i % 3600, params, metrics});
  }
  const t0 = performance.now();
  const keep = q.compile(text);
  const t1 = performance.now();
  const cold = rows.filter(keep).length;
  const t2 = performance.now();
  const warm = rows.filter(keep).length;
  const t3 = performance.now();
  if (cold !== warm) throw new Error("filters disagree");
  return {compile: t1 - t0, cold: t2 - t1, warm: t3 - t2, matched: cold};
}"""


def main() -> None:
    args = parse_args({}, default_repeat=9)
    if args is None:
        return
    n = 1_000 if args.quick else 10_000
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.set_content("<!doctype html><title>bench</title>")
        page.add_script_tag(path=str(QUERY_JS))
        for label, text in QUERIES.items():
            page.evaluate(MEASURE, [text, n])  # warm up the JIT
            runs = [page.evaluate(MEASURE, [text, n]) for _ in range(args.repeat)]
            median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            rows.append(
                (
                    f"query.js, {label}: compile + filter {n:,} rows in Chromium",
                    f"{median['compile'] + median['cold']:.1f}",
                    f"{median['compile'] + median['warm']:.1f}",
                    f"{median['matched']:,.0f} match; `` {text} ``",
                )
            )
        browser.close()
    print(
        f"\n`python bench/bench_query.py{' --quick' if args.quick else ''}` — median of "
        f"{args.repeat}, {os.cpu_count()} cores\n"
    )
    print("| what | cold ms | warm ms | note |")
    print("| --- | ---: | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
