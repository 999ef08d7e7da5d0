"""Notes benchmarks: what 100 notes with run links and blocks add to `xsite build`.

    python bench/bench_notes.py            # 1,000 runs × 10 metrics × 100 steps, 100 notes
    python bench/bench_notes.py --quick    # 100 runs, 10 notes, to check the script works

The store is generated through the public API (bench_site.py's generator). Each note links
five runs with ``[[run-N]]``, picks runs with a query in its front matter (so it also makes a
comparison page) and embeds one ``xsite-table``, one ``xsite-chart`` and one ``xsite-compare``
block. Every timing runs in a fresh child process (its peak memory is its own): the raw
pyarrow read of the store, a cold build without notes and with them, and a rebuild after
one note is edited. The Markdown rows printed at the end go into bench/RESULTS.md.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench_site import make_store, raw_read
from harness import measure, parse_args, print_table

KEYS, STEPS = 10, 100

NOTE = """\
---
title: Note {index} on group {group}
date: 2026-11-{day:02d}
tags: [bench, group-{group}]
runs: ["tags contains 'group-{group}' and params.lr >= 0.01"]
status: {status}
---
Runs {links} were compared; see the table.

```xsite-table
runs: tags contains "group-{group}"
columns: [name, params.lr, metrics.metric/0]
sort: -metrics.metric/0
limit: 20
```

```xsite-chart
metric: metric/0
runs: tags contains "group-{group}" and params.model.depth = {depth}
```

```xsite-compare
runs: [{first}, {second}]
```
"""


def write_notes(folder: Path, count: int, runs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        picks = [(index * 7 + k * 13) % runs for k in range(5)]
        (folder / f"note-{index:03d}.md").write_text(
            NOTE.format(
                index=index,
                group=index % 4,
                day=1 + index % 28,
                status=("open", "decided", "abandoned")[index % 3],
                links=", ".join(f"[[run-{n}]]" for n in picks),
                depth=index % 7,
                first=f"run-{picks[0]}",
                second=f"run-{picks[1]}",
            )
        )


def build(store: str, out: str, notes: str | None) -> dict[str, float]:
    import xsite

    config = xsite.SiteConfig(store=store, out=out, notes=notes)
    started = time.perf_counter()
    report = xsite.build(config)
    seconds = time.perf_counter() - started
    assert not report.warnings, report.warnings[:3]
    return {"seconds": seconds, "pages": report.pages, "rendered": report.pages_rendered}


CASES = {"raw": raw_read, "build": build}


def main() -> None:
    args = parse_args(CASES, default_repeat=3)
    if args is None:
        return
    runs, notes = (100, 10) if args.quick else (1000, 100)
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-notes-"))
    try:
        store, folder = str(work / "store"), work / "notes"
        make_store(store, runs, KEYS, STEPS)
        write_notes(folder, notes, runs)
        size = f"{runs:,} runs × {KEYS} keys × {STEPS} steps"
        rows = []

        def fresh(out: str) -> None:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(Path(out).parent / f".{Path(out).name}-cache", ignore_errors=True)

        raw, raw_peak = measure(__file__, "raw", store, repeat=args.repeat)
        rows.append((f"raw pyarrow read of every part ({size})", raw["seconds"], raw_peak, ""))
        plain_out, notes_out = str(work / "plain"), str(work / "with-notes")
        plain, plain_peak = measure(
            __file__, "build", store, plain_out, None,
            repeat=args.repeat, before=lambda: fresh(plain_out),
        )  # fmt: skip
        rows.append((f"cold `build()` without notes ({size})", plain["seconds"], plain_peak,
                     f"{plain['pages']:.0f} pages"))  # fmt: skip
        cold, cold_peak = measure(
            __file__, "build", store, notes_out, str(folder),
            repeat=args.repeat, before=lambda: fresh(notes_out),
        )  # fmt: skip
        extra = cold["seconds"] - plain["seconds"]
        rows.append((
            f"cold `build()` with {notes} notes ({size})", cold["seconds"], cold_peak,
            f"{cold['pages']:.0f} pages; notes add {extra:.2f} s "
            f"({extra / notes * 1000:.1f} ms a note, comparison pages and search index included)",
        ))  # fmt: skip
        edited = folder / "note-000.md"
        original = edited.read_text()

        def edit() -> None:
            edited.write_text(original + f"\nEdited at {time.time()} [[run-{runs - 1}]].\n")

        again, again_peak = measure(
            __file__, "build", store, notes_out, str(folder), repeat=args.repeat, before=edit
        )
        rows.append((
            f"rebuild after editing one note ({size}, {notes} notes)", again["seconds"],
            again_peak, f"{again['rendered']:.0f} of {again['pages']:.0f} pages rendered",
        ))  # fmt: skip
        print_table(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
