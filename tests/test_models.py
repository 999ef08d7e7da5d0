"""The model registry in a real store: ``Run.log_model`` versions with their lineage,
numbered right by processes racing each other, read back by ``load_models``/``get_model``."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import xsite
from tests.test_capture import git, isolated_git, make_repo
from tests.test_records import FRAME

__all__ = ["isolated_git"]  # autouse: no git config of the machine leaks into these tests


def model_folder(tmp_path: Path, weights: bytes = b"\x00\x01weights") -> Path:
    folder = tmp_path / "model"
    (folder / "config").mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(weights)
    (folder / "config" / "arch.json").write_text('{"layers": 3}')
    return folder


def test_versions_keep_the_lineage_of_the_moment_they_were_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    store = tmp_path / "store"
    folder = model_folder(tmp_path)
    with xsite.init(project="digits", name="cnn", params={"lr": 0.1}, dir=store) as run:
        run.log_dataset(FRAME, name="digits", split="train")
        run.log({"val/acc": 0.5}, step=0)
        first = run.log_model(folder, "digits-cnn", metadata={"framework": "numpy", "dims": [8]})
        run.log({"val/acc": 0.9}, step=5)
        run.log_params({"lr": 0.01})
        (folder / "weights.bin").write_bytes(b"better weights")
        second = run.log_model(folder, "digits-cnn")
        again = run.log_model(folder / "weights.bin", "digits-cnn")
    assert [first.version, second.version, again.version] == [1, 2, 3]
    assert first.metrics == {"val/acc": {"value": 0.5, "step": 0}}
    assert second.metrics == {"val/acc": {"value": 0.9, "step": 5}}
    assert (first.params, second.params) == ({"lr": 0.1}, {"lr": 0.01})
    assert first.git["commit"] == git(repo, "rev-parse", "HEAD") and first.git["dirty"] is False
    [dataset] = first.datasets
    assert dataset["label"] == "digits/train" and dataset["fingerprint"].startswith("sha256:")
    assert first.metadata == {"framework": "numpy", "dims": [8]}
    assert [f.file_name for f in first.files] == ["config/arch.json", "weights.bin"]
    assert first.digest != second.digest
    assert first.files[0].sha256 == second.files[0].sha256  # the unchanged file

    read = xsite.get_model("digits-cnn", 1, dir=store)
    assert read == first  # as logged, from the registry
    assert xsite.get_model("digits-cnn", dir=store).version == 3  # the latest
    out = read.download(tmp_path / "out")
    assert (out / "weights.bin").read_bytes() == b"\x00\x01weights"
    assert (out / "config" / "arch.json").read_text() == '{"layers": 3}'
    # The files are the run's artifacts too, under the model's name.
    artifacts = xsite.StoreReader(store).read("artifacts", [run.id]).column("name").to_pylist()
    assert {f.name for v in (first, second, again) for f in v.files} <= set(artifacts)

    frame = xsite.load_models(store)
    assert frame[["name", "version", "run_id", "metrics.val/acc"]].values.tolist() == [
        ["digits-cnn", 1, run.id, 0.5],
        ["digits-cnn", 2, run.id, 0.9],
        ["digits-cnn", 3, run.id, 0.9],
    ]
    assert frame.loc[0, "metadata.framework"] == "numpy"
    assert frame.loc[0, "git_commit"] == first.git["commit"]
    assert frame.loc[0, "datasets"] == [dataset["fingerprint"]]
    best = xsite.sql(
        'SELECT version FROM models ORDER BY "metrics.val/acc" DESC, version LIMIT 1', store
    )
    assert best["version"].tolist() == [2]


def test_projects_number_their_models_apart_and_names_stay_in_their_folder(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    for project in ("a", "b", "b"):
        with xsite.init(project=project, capture=False, dir=store) as run:
            version = run.log_model(weights, "../../escape/..")
    assert version.version == 2
    claimed = sorted((store / "models").rglob("*.json"))
    assert [path.relative_to(store).as_posix() for path in claimed] == [
        "models/a/%2E.%2F..%2Fescape%2F../v1.json",
        "models/b/%2E.%2F..%2Fescape%2F../v1.json",
        "models/b/%2E.%2F..%2Fescape%2F../v2.json",
    ]
    with pytest.raises(xsite.ModelNotFoundError, match="pass project="):
        xsite.get_model("../../escape/..", dir=store)
    assert xsite.get_model("../../escape/..", project="a", dir=store).version == 1
    with pytest.raises(xsite.ModelNotFoundError, match=r"has no version 7 \(it has 1, 2\)"):
        xsite.get_model("../../escape/..", 7, project="b", dir=store)
    with pytest.raises(xsite.ModelNotFoundError, match="no model named 'nope'"):
        xsite.get_model("nope", dir=store)


def test_bad_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    (tmp_path / "empty").mkdir()
    with xsite.init(project="p", capture=False, dir=store) as run:
        with pytest.raises(ValueError, match="metadata of model 'm' must be JSON"):
            run.log_model(weights, "m", metadata={"when": object()})
        with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
            run.log_model(tmp_path / "missing.pt", "m")
        with pytest.raises(ValueError, match="holds no files"):
            run.log_model(tmp_path / "empty", "m")
        with pytest.raises(ValueError, match="model name must be a non-empty string"):
            run.log_model(weights, " ")
        hidden = model_folder(tmp_path)
        (hidden / "sub").mkdir()
        (hidden / "sub" / ".tmp-cache").write_bytes(b"x")
        with pytest.raises(ValueError, match=r"no part starting with '\.tmp-'"):
            run.log_model(hidden, "m")
    assert not (store / "models").exists()
    assert not (store / "runs" / run.id / "artifacts").exists()  # nothing copied first
    with pytest.raises(xsite.RunFinishedError):
        run.log_model(weights, "m")


def test_a_resumed_run_logs_its_lineage_from_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    with xsite.init(project="p", params={"depth": 4}, capture=False, dir=store) as run:
        run.log({"loss": 0.3})
    with xsite.resume(run.id, dir=store) as resumed:
        version = resumed.log_model(weights, "m")
    assert version.params == {"depth": 4}
    assert version.metrics == {"loss": {"value": 0.3, "step": 0}}


RACER = """
import sys, xsite
store, index = sys.argv[1], int(sys.argv[2])
with xsite.init(project="race", name=f"writer-{index}", capture=False, dir=store) as run:
    for n in range(VERSIONS):
        run.log({"n": n})
        v = run.log_model(sys.argv[3], "shared", metadata={"writer": index, "n": n})
        print(v.version, flush=True)
"""
WRITERS, VERSIONS = 6, 5


def race(store: str, tmp_path: Path) -> list[list[int]]:
    """WRITERS processes logging VERSIONS versions of one model at once: what each got."""
    script = tmp_path / "racer.py"
    script.write_text(RACER.replace("VERSIONS", str(VERSIONS)))
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w" * 1000)
    racers = [
        subprocess.Popen(
            [sys.executable, str(script), store, str(i), str(weights)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    got = []
    for racer in racers:
        out, err = racer.communicate(timeout=180)
        assert racer.returncode == 0, err[-2000:]
        got.append([int(line) for line in out.split()])
    return got


def check_race(got: list[list[int]], frame: pd.DataFrame) -> None:
    # Every version number once, none skipped; each writer's own in increasing order.
    assert sorted(v for versions in got for v in versions) == list(range(1, WRITERS * VERSIONS + 1))
    assert all(versions == sorted(versions) for versions in got)
    # The registry says which writer made each version, as each writer was told.
    assert frame["version"].tolist() == list(range(1, WRITERS * VERSIONS + 1))
    told = {v: i for i, versions in enumerate(got) for v in versions}
    assert {row.version: row["metadata.writer"] for _, row in frame.iterrows()} == told


def test_versions_are_numbered_right_when_processes_race(tmp_path: Path) -> None:
    store = tmp_path / "store"
    got = race(str(store), tmp_path)
    check_race(got, xsite.load_models(store))
    assert not [p for p in (store / "models").rglob("*") if p.name.startswith(".tmp-")]


def test_a_broken_version_file_is_named_and_the_rest_still_read(tmp_path: Path) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    with xsite.init(project="p", capture=False, dir=store) as run:
        run.log_model(weights, "m")
        run.log_model(weights, "m")
    broken = store / "models" / "p" / "m" / "v1.json"
    broken.write_text("{not json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = xsite.load_models(store)
    assert frame["version"].tolist() == [2]
    assert any(str(broken) in str(w.message) for w in caught)
    with xsite.init(project="p", capture=False, dir=store) as run:
        assert run.log_model(weights, "m").version == 3  # a broken file still holds its number


def registry_store(tmp_path: Path) -> dict[str, str]:
    """Two runs of project ``p`` logging three versions of ``m`` (trained on a logged
    dataset), a run of project ``q`` with a model ``m`` of its own: the run ids by name."""
    store = tmp_path / "store"
    folder = model_folder(tmp_path)
    ids = {}
    with xsite.init(project="p", name="first", capture=False, dir=store, params={"lr": 0.1}) as run:
        run.log_dataset(FRAME, name="digits", split="train")
        run.log({"acc": 0.5})
        run.log_model(folder, "m", metadata={"note": "<b>bold</b>"})
    ids["first"] = run.id
    with xsite.init(
        project="p", name="second", capture=False, dir=store, params={"lr": 0.2}
    ) as run:
        run.log({"acc": 0.8})
        run.log_model(folder, "m")
        (folder / "weights.bin").write_bytes(b"retrained")
        run.log_model(folder, "m")
    ids["second"] = run.id
    with xsite.init(project="q", name="other", capture=False, dir=store) as run:
        run.log_model(folder / "weights.bin", "m")
    ids["other"] = run.id
    return ids


def test_the_models_pages_show_each_version_with_its_lineage_linked(tmp_path: Path) -> None:
    from tests.test_build import soup, tree

    ids = registry_store(tmp_path)
    site = tmp_path / "site"
    report = xsite.build(xsite.SiteConfig(store=str(tmp_path / "store"), out=str(site)))
    assert report.broken_links == [] and report.skipped == [] and report.warnings == []

    index = soup(site / "models/index.html")
    rows = [row.get_text(" ", strip=True) for row in index.select(".xs-models tbody tr")]
    assert [row.split(" ")[:3] for row in rows] == [["m", "3", "v3"], ["m", "1", "v1"]]
    assert rows[0].endswith("second")
    links = [a["href"] for a in index.select(".xs-models tbody th a")]
    assert links == ["./../models/p/m/", "./../models/q/m/"]

    page = soup(site / "models/p/m/index.html")
    versions = page.select(".xs-model-versions tbody tr")
    assert [row.th.get_text() for row in versions] == ["v3", "v2", "v1"]
    assert [row.select("td")[3].get_text() for row in versions] == ["0.8", "0.8", "0.5"]  # acc
    # The runs that made the versions, side by side on the ad-hoc comparison page.
    compare = page.find("a", string=lambda text: text and text.startswith("Compare the 2 runs"))
    target, runs = compare["href"].split("#")
    assert (site / "models/p/m" / target / "index.html").is_file()
    assert runs == f"runs={ids['first']},{ids['second']}"
    first = page.select_one("#v1")
    # The run, the data and the files each link to what the site has of them.
    run_link = first.select_one("dd a")["href"]
    assert (site / "models/p/m" / run_link).resolve() == (site / "runs" / ids["first"]).resolve()
    data_link = first.select_one("dd a[href*='datasets']")["href"]
    target, anchor = data_link.split("#")
    assert soup(site / "models/p/m" / target / "index.html").select_one(f"#{anchor}")
    files = {a.get_text(): a["href"] for a in first.select(".xs-model-files a")}
    assert sorted(files) == ["config/arch.json", "weights.bin"]
    assert (site / "models/p/m" / files["weights.bin"]).read_bytes() == b"\x00\x01weights"
    assert "<b>" not in str(first) and "&lt;b&gt;bold&lt;/b&gt;" in str(first)  # escaped
    # The diff's data: every version, newest first, each part of its lineage.
    diff = json.loads(page.select_one(".xs-model-diff")["data-versions"])
    assert [entry["version"] for entry in diff] == [3, 2, 1]
    assert diff[2]["params"] == {"lr": 0.1} and diff[1]["params"] == {"lr": 0.2}
    assert diff[0]["files"]["weights.bin"] != diff[1]["files"]["weights.bin"]
    assert list(diff[2]["data"]) == ["digits/train"]

    published = json.loads((site / "models/models.json").read_text())["versions"]
    assert [(v["project"], v["name"], v["version"]) for v in published] == [
        ("p", "m", 1), ("p", "m", 2), ("p", "m", 3), ("q", "m", 1)
    ]  # fmt: skip
    assert published[0]["url"] == "models/p/m/#v1"
    assert published[0]["run_url"] == f"runs/{ids['first']}/"

    run_page = soup(site / "runs" / ids["second"] / "index.html")
    listed = [a.get_text(" ", strip=True) for a in run_page.select("#models a")]
    assert listed == ["m v2", "m v3"]
    href = run_page.select_one("#models a")["href"]
    assert href.endswith("models/p/m/#v2")
    assert "Models" in [a.get_text() for a in run_page.select("nav.xs-nav-links a")]

    # Rebuilt from the same input, the site is the same to the byte.
    again = tmp_path / "again"
    xsite.build(xsite.SiteConfig(store=str(tmp_path / "store"), out=str(again)))
    assert tree(again) == tree(site)


def test_a_new_version_updates_the_model_page_and_its_run_page(tmp_path: Path) -> None:
    from tests.test_build import soup

    ids = registry_store(tmp_path)
    config = xsite.SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "site"))
    xsite.build(config)
    with xsite.resume(ids["first"], dir=tmp_path / "store") as run:
        run.log_model(tmp_path / "model", "m")
    report = xsite.build(config)
    assert "models/p/m/index.html" in report.changed
    assert f"runs/{ids['first']}/index.html" in report.changed
    page = soup(tmp_path / "site/models/p/m/index.html")
    assert page.select_one(".xs-model-versions tbody th").get_text() == "v4"


def test_a_broken_version_file_is_reported_and_the_site_still_builds(tmp_path: Path) -> None:
    registry_store(tmp_path)
    (tmp_path / "store/models/p/m/v2.json").write_text('{"format": 1}')
    with pytest.warns(xsite.SkippedFileWarning, match="v2.json"):
        report = xsite.build(
            xsite.SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "site"))
        )
    [skipped] = report.skipped
    assert skipped.path.endswith("models/p/m/v2.json") and "not a model version" in skipped.reason
    assert report.broken_links == []
    html = (tmp_path / "site/models/p/m/index.html").read_text()
    assert 'id="v3"' in html and 'id="v2"' not in html


def test_the_command_line_lists_versions_and_downloads_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from xsite.cli import app

    registry_store(tmp_path)
    store = str(tmp_path / "store")
    listed = CliRunner().invoke(app, ["models", store, "--project", "p", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(v["name"], v["version"]) for v in json.loads(listed.output)] == [
        ("m", 1), ("m", 2), ("m", 3)
    ]  # fmt: skip
    got = CliRunner().invoke(
        app, ["models", store, "-n", "m", "--project", "p", "--version", "1", "--download",
              str(tmp_path / "deploy")]
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert "m v1 (2 files" in got.output
    assert (tmp_path / "deploy/weights.bin").read_bytes() == b"\x00\x01weights"
    ambiguous = CliRunner().invoke(app, ["models", store, "-n", "m", "--download", "x"])
    assert ambiguous.exit_code == 1 and "pass project=" in ambiguous.output


def test_a_site_of_some_runs_shows_only_their_models_and_redacts_them(tmp_path: Path) -> None:
    from tests.test_build import soup

    registry_store(tmp_path)
    with xsite.init(project="q", name="private", capture=False, dir=tmp_path / "store") as run:
        run.log_params({"data": str(Path.home() / "secret" / "data.csv")})
        run.log_model(tmp_path / "model", "m")
    site = tmp_path / "site"
    config = xsite.SiteConfig(
        store=str(tmp_path / "store"), out=str(site), select='project = "q"', redact=True
    )
    assert xsite.build(config).broken_links == []
    index = soup(site / "models/index.html")
    assert [h2.get_text() for h2 in index.select("h2")] == ["q"]
    assert not (site / "models/p").exists()
    page = (site / "models/q/m/index.html").read_text()
    assert "secret" not in page and str(Path.home()) not in page and "[redacted-path]" in page


def test_aliases_move_keep_their_history_and_pick_a_version(tmp_path: Path) -> None:
    from tests.test_build import soup

    ids = registry_store(tmp_path)
    store = tmp_path / "store"
    first = xsite.set_model_alias(
        "m", "production", 1, project="p", note="<i>passed</i>", dir=store
    )
    assert (first.alias, first.version) == ("production", 1)
    xsite.set_model_alias("m", "candidate", 3, project="p", dir=store)
    xsite.set_model_alias("m", "production", 2, project="p", note="better acc", dir=store)
    xsite.set_model_alias("m", "candidate", None, project="p", dir=store)  # removed
    assert xsite.get_model("m", alias="production", project="p", dir=store).version == 2
    with pytest.raises(
        xsite.ModelNotFoundError, match=r"no alias 'candidate' \(it has production\)"
    ):
        xsite.get_model("m", alias="candidate", project="p", dir=store)
    with pytest.raises(xsite.ModelNotFoundError, match="has no version 9"):
        xsite.set_model_alias("m", "production", 9, project="p", dir=store)
    for bad in ("latest", "v2", "two words", "../up", ""):
        with pytest.raises(ValueError, match="alias"):
            xsite.set_model_alias("m", bad, 1, project="p", dir=store)
    frame = xsite.load_models(store, project="p")
    assert frame["aliases"].tolist() == [[], ["production"], []]

    site = tmp_path / "site"
    assert xsite.build(xsite.SiteConfig(store=str(store), out=str(site))).broken_links == []
    page = soup(site / "models/p/m/index.html")
    rows = {
        row.th.a.get_text(): row.th.get_text(" ", strip=True)
        for row in page.select(".xs-model-versions tbody tr")
    }
    assert rows == {"v3": "v3", "v2": "v2 production", "v1": "v1"}
    history = [
        [cell.get_text(" ", strip=True) for cell in row.find_all("td")][1:]
        for row in page.select(".xs-alias-history tbody tr")
    ]
    assert history == [
        ["candidate", "removed", ""],
        ["production", "v2", "better acc"],
        ["candidate", "v3", ""],
        ["production", "v1", "<i>passed</i>"],  # as text: escaped
    ]
    assert page.select_one("#aliases p").get_text(" ", strip=True) == "production → v2"
    assert page.select_one("#v2 h3 .xs-alias").get_text() == "production"
    index = soup(site / "models/index.html")
    assert index.select(".xs-models tbody tr")[0].find_all("td")[-1].get_text(" ", strip=True) == (
        "production → v2"
    )
    # A site without the run of v2: the alias points at a version it does not show.
    partial = tmp_path / "partial"
    config = xsite.SiteConfig(store=str(store), out=str(partial), select=f'id = "{ids["first"]}"')
    assert xsite.build(config).broken_links == []
    text = (
        soup(partial / "models/p/m/index.html").select_one("#aliases p").get_text(" ", strip=True)
    )
    assert text == "production → v2 (not on this site)"
    # The run page of v2 says where the alias points, and follows it when it moves.
    listed = soup(site / "runs" / ids["second"] / "index.html").select("#models li")
    assert [li.get_text(" ", strip=True).split(" ·")[0] for li in listed] == [
        "m v2 production", "m v3"
    ]  # fmt: skip
    xsite.set_model_alias("m", "production", 3, project="p", dir=store)
    assert xsite.build(xsite.SiteConfig(store=str(store), out=str(site))).broken_links == []
    listed = soup(site / "runs" / ids["second"] / "index.html").select("#models li")
    assert [li.get_text(" ", strip=True).split(" ·")[0] for li in listed] == [
        "m v2", "m v3 production"
    ]  # fmt: skip

    from typer.testing import CliRunner

    from xsite.cli import app

    cli = CliRunner()
    moved = cli.invoke(app, ["models", str(store), "-n", "m", "--project", "p", "--set-alias",
                             "production", "--note", "rollback", "--version", "1"])  # fmt: skip
    assert moved.exit_code == 0 and "production → v1" in moved.output
    got = cli.invoke(app, ["models", str(store), "-n", "m", "--project", "p", "--alias",
                           "production", "--download", str(tmp_path / "prod")])  # fmt: skip
    assert got.exit_code == 0 and "m v1" in got.output
    bad = cli.invoke(app, ["models", str(store), "-n", "m", "--project", "p", "--set-alias", "v3"])
    assert bad.exit_code == 1 and "alias 'v3'" in bad.output


def test_a_rebuild_links_the_models_page_from_pages_made_before_it_existed(
    tmp_path: Path,
) -> None:
    from tests.test_build import tree

    store = tmp_path / "store"
    with xsite.init(project="p", name="plain", capture=False, dir=store) as run:
        run.log({"loss": 1.0})
    config = xsite.SiteConfig(store=str(store), out=str(tmp_path / "site"))
    xsite.build(config)
    (tmp_path / "w.bin").write_bytes(b"w")
    with xsite.init(project="p", name="with-model", capture=False, dir=store) as later:
        later.log_model(tmp_path / "w.bin", "m")
        later.log_dataset(FRAME, name="digits")
    xsite.build(config)
    clean = tmp_path / "clean"
    xsite.build(xsite.SiteConfig(store=str(store), out=str(clean)))
    assert tree(tmp_path / "site") == tree(clean)  # the first run's page links both pages
    assert 'href="./../../models/"' in (clean / "runs" / run.id / "index.html").read_text()


def test_the_code_of_a_version_links_its_uncommitted_changes_only_when_there_are_some(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_build import soup

    repo = make_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    store = tmp_path / "store"
    (repo / "notes.txt").write_text("untracked only")  # dirty, but no diff to keep
    with xsite.init(project="p", name="untracked", dir=store) as run:
        run.log_model(repo / "notes.txt", "m")
    (repo / "train.py").write_text("lr = 0.2\n")  # a change to a tracked file: a git.diff
    with xsite.init(project="p", name="changed", dir=store) as run:
        run.log_model(repo / "notes.txt", "m")
    site = tmp_path / "site"
    assert xsite.build(xsite.SiteConfig(store=str(store), out=str(site))).broken_links == []
    page = soup(site / "models/p/m/index.html")
    code = {n: page.select_one(f"#v{n} .xs-facts div:nth-of-type(2) dd") for n in (1, 2)}
    assert "uncommitted changes" in code[1].get_text() and code[1].a is None
    href = code[2].a["href"]
    assert (site / "models/p/m" / href).read_text().startswith("diff --git")


def test_integers_beyond_64_bits_are_shown_not_fatal(tmp_path: Path) -> None:
    store = tmp_path / "store"
    big = 2**70
    (tmp_path / "w.bin").write_bytes(b"w")
    with xsite.init(project="p", params={"seed": big}, capture=False, dir=store) as run:
        run.log_model(tmp_path / "w.bin", "m", metadata={"seed": big})
    site = tmp_path / "site"
    assert xsite.build(xsite.SiteConfig(store=str(store), out=str(site))).broken_links == []
    assert str(big) in (site / "models/p/m/index.html").read_text()
    [entry] = json.loads((site / "runs.json").read_text())["runs"]
    assert entry["params"]["seed"] == str(big)  # its digits, which no JSON reader rounds
    assert xsite.get_model("m", dir=store).metadata == {"seed": big}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("datasets", [{}]),
        ("metrics", {"acc": {}}),
        ("git", {"commit": 1234567}),
        ("files", [{"name": "models/m/abc//etc/passwd", "size": 1, "sha256": "0"}]),
        ("files", [{"name": "models/other/abc/w.bin", "size": 1, "sha256": "0"}]),
        ("files", [{"name": "w.bin", "size": 1, "sha256": "0"}]),
        ("run_id", "../../home"),
    ],
)
def test_a_version_file_of_the_wrong_shape_is_skipped_not_fatal(
    tmp_path: Path, field: str, value: object
) -> None:
    store = tmp_path / "store"
    (tmp_path / "w.bin").write_bytes(b"w")
    with xsite.init(project="p", capture=False, dir=store) as run:
        run.log_model(tmp_path / "w.bin", "m")
        run.log_model(tmp_path / "w.bin", "m")
    path = store / "models/p/m/v1.json"
    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, field: value}))
    with pytest.warns(xsite.SkippedFileWarning, match="not a model version"):
        report = xsite.build(xsite.SiteConfig(store=str(store), out=str(tmp_path / "site")))
    assert [s.path for s in report.skipped] == [str(path)]
    with pytest.warns(xsite.SkippedFileWarning):
        assert xsite.load_models(store)["version"].tolist() == [2]
        assert xsite.sql("SELECT count(*) AS n FROM runs", store)["n"].tolist() == [1]


def test_download_refuses_a_file_that_is_not_what_the_version_recorded(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "w.bin").write_bytes(b"weights")
    with xsite.init(project="p", capture=False, dir=store) as run:
        version = run.log_model(tmp_path / "w.bin", "m")
    [file] = version.files
    (store / "runs" / run.id / "artifacts" / file.name).write_bytes(b"tampered")
    with pytest.raises(ValueError, match="does not have the SHA-256 its version recorded"):
        xsite.get_model("m", dir=store).download(tmp_path / "out")


def test_names_apart_only_by_case_or_very_long_keep_their_own_versions(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "w.bin").write_bytes(b"w")
    long = "résumé-" * 40  # 280 characters, over 1,000 once percent-encoded
    with xsite.init(project="p", capture=False, dir=store) as run:
        for name in ("Net", "net", "Net", long, long):
            run.log_model(tmp_path / "w.bin", name)
    frame = xsite.load_models(store)
    assert sorted(zip(frame["name"], frame["version"], strict=True)) == sorted(
        [("Net", 1), ("Net", 2), ("net", 1), (long, 1), (long, 2)]
    )
    folders = sorted(p.name for p in (store / "models/p").iterdir())
    assert "%4Eet" in folders and "net" in folders  # apart on any filesystem
    assert all(len(name) <= 120 for name in folders)
