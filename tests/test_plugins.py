"""The extension points: a third-party plugin uses every hook on a real build, and the
layout's import rules hold."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment

import xsite
from xsite import hooks
from xsite.config import SiteConfig
from xsite.errors import BuildError
from xsite.plugins import plugin_manager
from xsite.site.model import SiteModel
from xsite.site.pages import DataFile, Page
from xsite.site.write import WrittenSite

SRC = Path(xsite.__file__).parent


class ShoutPlugin:
    """Adds a page listing runs in upper case, a data file, a nav link, a context variable
    on every page, a Jinja filter, a key input of run pages and a file made after the build."""

    def __init__(self) -> None:
        self.key_input = "v1"
        self.post_build_files = [DataFile("shout/after.txt", b"made from the written site")]
        self.seen_site_dir: Path | None = None

    @hooks.hookimpl
    def xsite_model(self, model: SiteModel) -> None:
        model.extensions["shout"] = [run.name.upper() for run in model.runs]

    @hooks.hookimpl
    def xsite_pages(self, model: SiteModel) -> list[Page | DataFile]:
        names = model.extensions["shout"]
        return [
            Page("shout/index.html", "shout.html", lambda: {"names": names}),
            DataFile("shout/names.txt", "\n".join(names).encode()),
        ]

    @hooks.hookimpl
    def xsite_nav(self) -> list[tuple[str, str]]:
        return [("Shout", "shout/")]

    @hooks.hookimpl
    def xsite_page_key(self, page: Page) -> object | None:
        return self.key_input if page.template == "run.html" else None

    @hooks.hookimpl
    def xsite_page_context(self, context: dict[str, Any]) -> None:
        context["shout_count"] = 2

    @hooks.hookimpl
    def xsite_jinja_env(self, env: Environment) -> None:
        env.filters["shout"] = str.upper
        env.loader = ChoiceLoader(
            [env.loader, DictLoader({"shout.html": "{{ names | join(',') }} {{ shout_count }}"})]
        )

    @hooks.hookimpl
    def xsite_post_build(self, site: WrittenSite) -> list[DataFile]:
        self.seen_site_dir = site.folder
        assert (site.folder / "shout/index.html").is_file()  # called once everything is written
        self.rendered = site.rendered
        return self.post_build_files


def make_runs(store: Path) -> None:
    for name in ("alpha", "beta"):
        with xsite.init(project="p", name=name, capture=False, dir=store) as run:
            run.log({"loss": 0.5})


def test_a_plugin_uses_every_hook_on_a_real_build(tmp_path: Path) -> None:
    make_runs(tmp_path / "store")
    config = SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "site"))
    plugin = ShoutPlugin()
    report = xsite.build(config, plugins=plugin_manager(plugin))
    site = tmp_path / "site"
    assert (site / "shout/index.html").read_text() == "BETA,ALPHA 2"
    assert (site / "shout/names.txt").read_text() == "BETA\nALPHA"
    assert (site / "shout/after.txt").read_text() == "made from the written site"
    assert plugin.seen_site_dir == site.resolve()
    assert "shout/index.html" in plugin.rendered
    assert report.pages_rendered == report.pages
    run_page = next(site.glob("runs/*/index.html")).read_text()
    assert 'href="./../../shout/">Shout</a>' in run_page  # the nav link, on every page

    # Nothing changed: run pages are kept. A changed key input renders them again.
    again = xsite.build(config, plugins=plugin_manager(plugin))
    assert again.pages_rendered == again.pages - 2
    plugin.key_input = "v2"
    assert xsite.build(config, plugins=plugin_manager(plugin)).pages_rendered == again.pages

    # A file a plugin stops making is removed like any other stale file.
    plugin.post_build_files = []
    xsite.build(config, plugins=plugin_manager(plugin))
    assert not (site / "shout/after.txt").exists()


def test_two_files_for_one_path_fail_the_build_naming_the_path(tmp_path: Path) -> None:
    class Clash:
        @hooks.hookimpl
        def xsite_pages(self) -> list[DataFile]:
            return [DataFile("runs.json", b"{}")]

    make_runs(tmp_path / "store")
    config = SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "site"))
    with pytest.raises(BuildError, match=r"'runs\.json'"):
        xsite.build(config, plugins=plugin_manager(Clash()))


HOOKS = [
    name for name, _ in inspect.getmembers(hooks, inspect.isfunction) if name.startswith("xsite_")
]


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_and_used_by_the_test_plugin(name: str) -> None:
    assert inspect.getdoc(getattr(hooks, name))
    assert callable(getattr(ShoutPlugin, name, None)), f"{name} has no test"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xsite"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("xsite"))
    return found


LAYERS = {
    # package: what it may import from xsite (besides itself); cli.py and __init__.py, on
    # top, may import anything
    "store": {"xsite.errors", "xsite.version", "xsite.query"},
    "query": {"xsite.errors"},
    "site": {
        "xsite.errors",
        "xsite.version",
        "xsite.config",
        "xsite.store",
        "xsite.query",
        "xsite.plugins",
        "xsite.hooks",
    },
    "compare": {"xsite.config", "xsite.errors", "xsite.hooks", "xsite.query", "xsite.site",
                "xsite.store"},
    "notes": {"xsite.compare", "xsite.config", "xsite.errors", "xsite.hooks", "xsite.query",
              "xsite.site", "xsite.store"},
    "search": {"xsite.config", "xsite.errors", "xsite.hooks", "xsite.site"},
    "records": {"xsite.hooks", "xsite.site", "xsite.store"},
    "registry": {"xsite.config", "xsite.hooks", "xsite.site", "xsite.store"},
    "serve": {"xsite.config", "xsite.errors", "xsite.site", "xsite.store"},
    "publish": {"xsite.config", "xsite.errors", "xsite.query", "xsite.site", "xsite.store"},
    # Bringing runs in needs the store only.
    "importers": {"xsite.errors", "xsite.store"},
    "runner": {"xsite.errors", "xsite.store"},
    # Framework adapters use the public API.
    "integrations": {"xsite", "xsite.errors", "xsite.store"},
}  # fmt: skip


def test_every_package_has_its_layer() -> None:
    packages = {path.parent.name for path in SRC.glob("*/__init__.py")}
    assert packages == set(LAYERS)


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_imports_go_one_way(package: str) -> None:
    """store ← site ← feature plugins ← front ends: nothing imports a later stage."""
    allowed = LAYERS[package] | {f"xsite.{package}"}
    for path in (SRC / package).rglob("*.py"):
        for module in _imports(path):
            # "xsite" allows `import xsite` (the public API), not every part of it.
            within = any(module.startswith(a + ".") for a in allowed if a != "xsite")
            assert module in allowed or within, f"{path.relative_to(SRC)} imports {module}"
