"""The MkDocs plugin under real ``mkdocs build`` (and ``mkdocs serve``): the experiments
site inside the docs site, blocks in pages with links that resolve under every URL style,
and errors that name the page and block."""

from __future__ import annotations

import posixpath
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

import xsite

MATERIAL = {
    "name": "material",
    "font": False,  # no Google Fonts: offline
    "palette": [
        {"scheme": "default", "toggle": {"icon": "material/brightness-7", "name": "Dark mode"}},
        {"scheme": "slate", "toggle": {"icon": "material/brightness-4", "name": "Light mode"}},
    ],
}
PAGE = """\
# Results

```xsite-table
runs: tags contains "cnn"
columns: [name, params.lr, metrics.val/acc]
sort: -metrics.val/acc
```

```xsite-chart
metric: val/acc
runs: tags contains "cnn"
```

```xsite-compare
runs: [cnn-a, cnn-b]
```
"""


def make_runs(store: Path) -> dict[str, str]:
    ids = {}
    for name, lr, acc in [("cnn-a", 0.1, 0.9), ("cnn-b", 0.01, 0.95)]:
        with xsite.init(
            project="mnist", name=name, params={"lr": lr}, tags=["cnn"], capture=False, dir=store
        ) as run:
            for step in range(10):
                run.log({"val/acc": acc * (step + 1) / 10}, step=step)
        ids[name] = run.id
    return ids


def make_project(tmp_path: Path, **plugin: object) -> Path:
    """A docs project: a home page and a nested page with blocks."""
    project = tmp_path / "docs-project"
    (project / "docs/guide").mkdir(parents=True)
    (project / "docs/index.md").write_text("# Home\n\nSee the [experiments](experiments/).\n")
    (project / "docs/guide/results.md").write_text(PAGE)
    settings = {"store": "../store", "path": "experiments/", "nav_title": "Experiments", **plugin}
    config = {
        "site_name": "Docs",
        "nav": [{"Home": "index.md"}, {"Results": "guide/results.md"}],
        "plugins": ["search", {"xsite": settings}],
    }
    (project / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return project


def mkdocs(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", *args, "-f", str(project / "mkdocs.yml")],
        capture_output=True,
        text=True,
        timeout=300,
    )


def configure(project: Path, **settings: object) -> None:
    config = yaml.safe_load((project / "mkdocs.yml").read_text())
    config.update(settings)
    (project / "mkdocs.yml").write_text(yaml.safe_dump(config))


def page_file(site: Path, page_url_path: str) -> Path:
    path = site / page_url_path
    return path / "index.html" if page_url_path.endswith("/") or path.is_dir() else path


def resolve(site: Path, page: Path, href: str) -> Path:
    """The file a relative link of ``page`` leads to (a folder's index.html)."""
    target = posixpath.normpath(
        posixpath.join(page.parent.relative_to(site).as_posix(), unquote(urlsplit(href).path))
    )
    found = site / target
    return found / "index.html" if found.is_dir() or href.split("#")[0].endswith("/") else found


@pytest.mark.parametrize("directory_urls", [True, False])
def test_the_experiments_site_and_blocks_with_links_that_resolve(
    tmp_path: Path, directory_urls: bool
) -> None:
    ids = make_runs(tmp_path / "store")
    project = make_project(tmp_path)
    configure(project, use_directory_urls=directory_urls, site_url="https://me.github.io/docs/")
    result = mkdocs(project, "build", "--strict")
    assert result.returncode == 0, result.stderr
    site = project / "site"
    assert (site / "experiments/index.html").is_file()
    assert (site / f"experiments/runs/{ids['cnn-a']}/index.html").is_file()
    sitemap = (site / "experiments/sitemap.xml").read_text()
    assert f"https://me.github.io/docs/experiments/runs/{ids['cnn-a']}/" in sitemap

    page = site / ("guide/results/index.html" if directory_urls else "guide/results.html")
    html = BeautifulSoup(page.read_text(), "html.parser")
    embeds = html.select(".xsite-embed")
    assert len(embeds) == 3
    rows = [[td.get_text() for td in tr("td")] for tr in embeds[0].select("tbody tr")]
    assert rows == [["cnn-b", "0.01", "0.95"], ["cnn-a", "0.1", "0.9"]]
    for link in html.select(".xsite-embed a[href]"):
        assert resolve(site, page, link["href"]).is_file(), link["href"]
    chart = embeds[1].select_one("section.xs-charts")
    assert resolve(site, page, chart["data-spec"]).is_file()
    assert chart["data-sources"].count("metrics.json") == 2
    # The theme assets: once in the site, linked from every page.
    assert (site / "assets/xsite/xsite-mkdocs.js").is_file()
    home = BeautifulSoup(page_file(site, "index.html").read_text(), "html.parser")
    assert home.find("script", src=re.compile(r"assets/xsite/xsite-mkdocs\.js$"))
    nav = [a for a in home.find_all("a") if a.get_text(strip=True) == "Experiments"]
    assert nav and resolve(site, page_file(site, "index.html"), nav[0]["href"]).is_file()


def test_material_with_its_palette_toggle_builds(tmp_path: Path) -> None:
    make_runs(tmp_path / "store")
    project = make_project(tmp_path)
    configure(
        project,
        theme=MATERIAL,
    )
    result = mkdocs(project, "build", "--strict")
    assert result.returncode == 0, result.stderr
    page = (project / "site/guide/results/index.html").read_text()
    assert page.count('class="xsite-embed"') == 3 and "data-md-color-scheme" in page


def test_a_bad_block_fails_strict_and_names_page_and_block(tmp_path: Path) -> None:
    make_runs(tmp_path / "store")
    project = make_project(tmp_path)
    (project / "docs/guide/results.md").write_text("# R\n\n```xsite-table\ncolumns: [nope]\n```\n")
    strict = mkdocs(project, "build", "--strict")
    assert strict.returncode != 0
    assert "guide/results.md, line 3: xsite-table block: unknown column 'nope'" in strict.stderr
    relaxed = mkdocs(project, "build")
    assert relaxed.returncode == 0 and "WARNING" in relaxed.stderr
    page = (project / "site/guide/results/index.html").read_text()
    assert "unknown column" in page


def test_a_missing_store_fails_strict_with_a_clear_message(tmp_path: Path) -> None:
    project = make_project(tmp_path, store="../no-store")
    result = mkdocs(project, "build", "--strict")
    assert result.returncode != 0
    assert "the experiments site was not built: no store at" in result.stderr
    assert "guide/results.md, line 3: xsite-table block" in result.stderr


def test_mkdocs_serve_shows_a_new_run_on_reload(tmp_path: Path) -> None:
    make_runs(tmp_path / "store")
    project = make_project(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-f", str(project / "mkdocs.yml"),
         "-a", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/experiments/"
        assert "cnn-a" in fetch(url, lambda body: "cnn-a" in body)
        with xsite.init(
            project="mnist", name="late-run", capture=False, dir=tmp_path / "store"
        ) as run:
            run.log({"val/acc": 0.5})
        assert "late-run" in fetch(url, lambda body: "late-run" in body)
    finally:
        server.terminate()
        server.wait(timeout=20)


def fetch(url: str, ready, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read().decode()
            if ready(body):
                return body
        except OSError:
            pass
        time.sleep(0.5)
    return body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
