"""The wheel (built from the sdist, as PyPI users get it) carries the theme and builds a site."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import xsite

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_wheel_from_sdist_holds_the_theme_and_builds_a_site(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # Without --sdist/--wheel, `build` makes the sdist and then the wheel from that sdist.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("xsite-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in ("base.html", "home.html", "project.html", "run.html", "404.html"):
        assert f"xsite/themes/default/templates/{template}" in names
    for static in ("xsite.css", "runs-table.js", "charts.js"):
        assert f"xsite/themes/default/static/{static}" in names

    installed = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(installed),
            str(wheel),
        ],
        check=True,
    )
    with xsite.init(project="p", capture=False, dir=tmp_path / "store") as run:
        run.log({"loss": 1.0})
    env = {"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"}
    code = (
        "import sys, xsite; from xsite.cli import app; "
        f"assert xsite.__file__.startswith({str(installed)!r}), xsite.__file__; "
        "sys.argv = ['xsite', 'build', sys.argv[1], '--out', sys.argv[2], '--strict']; app()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "store"), str(tmp_path / "site")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert (tmp_path / "site" / "runs" / run.id / "index.html").is_file()
    assert (tmp_path / "site" / "assets" / "charts.js").is_file()
