"""The model registry under contention, and read back: 4 processes logging versions of the
same 10 models at once, then ``load_models`` and a site build.

    python bench/bench_registry.py            # 4 writers × 250 versions (1,000 versions)
    python bench/bench_registry.py --quick    # 4 writers × 20 versions

Each writer's run logs a 64 KB model file as a version of one of 10 models in turn, so all
four race for the same numbers. "raw read" is reading every version file's bytes and
parsing its JSON in one process: the floor of reading the registry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import measure, parse_args, print_table

MODELS = 10
WRITER = """
import sys, xsite
store, weights, versions, index = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with xsite.init(project="bench", name=f"writer-{index}", capture=False, dir=store) as run:
    for n in range(versions):
        run.log({"n": n}, step=n)
        run.log_model(weights, f"model-{n % MODELS}", metadata={"writer": index, "n": n})
"""


def write(store: str, writers: int, versions: int) -> tuple[float, int]:
    """Seconds for ``writers`` processes to log ``versions`` versions each; the versions."""
    weights = Path(store).parent / "weights.bin"
    weights.write_bytes(bytes(range(256)) * 256)
    script = WRITER.replace("MODELS", str(MODELS))
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, store, str(weights), str(versions), str(i)]
        )
        for i in range(writers)
    ]
    for process in processes:
        if process.wait() != 0:
            raise SystemExit("a writer failed")
    return time.perf_counter() - started, writers * versions


def raw_read(store: str) -> dict[str, float]:
    started = time.perf_counter()
    count = 0
    for path in Path(store, "models").rglob("v*.json"):
        json.loads(path.read_bytes())
        count += 1
    return {"seconds": time.perf_counter() - started, "versions": count}


def load_models(store: str) -> dict[str, float]:
    import pandas  # noqa: F401 - imported before timing, as a notebook has it

    import xsite

    started = time.perf_counter()
    frame = xsite.load_models(store)
    return {"seconds": time.perf_counter() - started, "versions": len(frame)}


def build(store: str, out: str) -> dict[str, float]:
    import xsite

    started = time.perf_counter()
    report = xsite.build(xsite.SiteConfig(store=store, out=out))
    return {"seconds": time.perf_counter() - started, "pages": report.pages}


CASES = {"raw": raw_read, "load_models": load_models, "build": build}


def main() -> None:
    args = parse_args(CASES, default_repeat=3)
    if args is None:
        return
    writers, versions = (4, 20) if args.quick else (4, 250)  # multiples of MODELS
    work = Path(tempfile.mkdtemp(prefix="xsite-bench-registry-"))
    try:
        store = str(work / "store")
        seconds, logged = write(store, writers, versions)
        numbers = sorted(
            (path.parent.name, int(path.stem[1:]))
            for path in Path(store, "models").rglob("v*.json")
        )
        per_model = logged // MODELS
        expected = sorted((f"model-{m}", v) for m in range(MODELS) for v in range(1, per_model + 1))
        assert numbers == expected, "versions numbered wrong"
        rows = [
            (
                f"log {logged:,} versions of {MODELS} models ({writers} processes at once)",
                seconds,
                None,
                f"{logged / seconds:.0f} versions/s; numbers checked: 1…{per_model} each",
            )
        ]
        raw, raw_peak = measure(__file__, "raw", store, repeat=args.repeat)
        rows.append((f"raw read of {logged:,} version files", raw["seconds"], raw_peak, "json"))
        loaded, peak = measure(__file__, "load_models", store, repeat=args.repeat)
        ratio = loaded["seconds"] / raw["seconds"]
        rows.append(("`load_models()`", loaded["seconds"], peak, f"{ratio:.1f}× the raw read"))
        out = str(work / "site")
        cold, peak = measure(__file__, "build", store, out, repeat=1)
        rows.append(("cold `xsite build`", cold["seconds"], peak, f"{cold['pages']:.0f} pages"))
        again, peak = measure(__file__, "build", store, out, repeat=args.repeat)
        rows.append(("rebuild, nothing new", again["seconds"], peak, "version files cached"))
        print_table(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
