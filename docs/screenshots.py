"""Make the screenshots in docs/images/ from the quickstart demo, light and dark.

    python docs/screenshots.py

Needs Debian's Chromium (/usr/bin/chromium) and Playwright, as the browser tests do.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

import xsite

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.browser.chromium import launch  # noqa: E402  (the repository root, not installed)

IMAGES = ROOT / "docs" / "images"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="xsite-shots-"))
    subprocess.run(
        [sys.executable, str(ROOT / "examples/quickstart.py"), "--dir", str(work / "runs")],
        check=True,
        capture_output=True,
    )
    config = xsite.load_config(
        ROOT / "examples/xsite.toml", store=str(work / "runs"), out=str(work / "www" / "demo")
    )
    xsite.build(config)
    runs = xsite.load_runs(work / "runs").sort_values("metrics.val/acc")
    best = runs.iloc[-1]["run_id"]
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(work / "www"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/demo/"
    shots = {
        "home": (base, "main"),
        "runs-table": (f"{base}projects/digits/", ".xs-runs-table[data-ready=true]"),
        "run": (f"{base}runs/{best}/", "figure[data-rendered=true]"),
        "model": (f"{base}models/digits/digits-softmax/", ".xs-model-diff table"),
        "datasets": (f"{base}datasets/", "main"),
    }
    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for scheme in ("light", "dark"):
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                color_scheme=scheme,
                device_scale_factor=1,
            )
            page = context.new_page()
            for name, (url, ready) in shots.items():
                page.goto(url)
                page.wait_for_selector(ready)
                page.wait_for_timeout(300)  # let charts finish their transition
                page.screenshot(path=str(IMAGES / f"{name}-{scheme}.png"))
            context.close()
        browser.close()
    server.shutdown()
    print(f"wrote {len(shots) * 2} screenshots to {IMAGES}")


if __name__ == "__main__":
    main()
