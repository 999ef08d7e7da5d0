"""Which artifacts a browser could run as a page, and how the site publishes each kind."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import xsite
from xsite.site.artifacts import content_needed, is_scriptable

SCRIPT_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>window.pwned=1</script></svg>'
SCRIPT_HTML = b"<!doctype html><script>window.pwned=1</script>"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plot.svg", SCRIPT_SVG),
        ("EVIL.SVG", SCRIPT_SVG),
        ("Evil.Svg", b"looks harmless but the type is a document"),
        ("evil.svgz", gzip.compress(SCRIPT_SVG)),
        ("evil.svg.gz", gzip.compress(SCRIPT_SVG)),
        ("page.html", SCRIPT_HTML),
        ("PAGE.HTM", SCRIPT_HTML),
        ("page.shtml", SCRIPT_HTML),
        ("page.xhtml", SCRIPT_HTML),
        ("page.xht", SCRIPT_HTML),
        ("data.xml", b"<?xml version='1.0'?><r/>"),
        ("style.xsl", b"<xsl:stylesheet/>"),
        ("archive.mht", b"MIME-Version: 1.0\r\n"),
        ("page.html.br", b"compressed"),
        ("feed.rss", b"<rss/>"),  # application/rss+xml: any +xml type renders as XML
        ("README", b"  \n<html><script>x</script>"),  # unknown type: hosts may let it be sniffed
        ("report", b"\xef\xbb\xbf<!DOCTYPE html>"),
        ("notes.unknownext", "\ufeff<svg/>".encode("utf-16")),
        ("blob.gz", gzip.compress(b"\n<html>")),
    ],
)
def test_documents_are_scriptable_by_type_or_content(name: str, content: bytes) -> None:
    assert content_needed(name) > 0 or is_scriptable(name, b"")
    assert is_scriptable(name, content[: max(content_needed(name), 1)])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("model.pt", b"PK\x03\x04 torch.save writes a zip"),
        ("archive.zip", b"<not looked at: a known binary type>"),
        ("metrics.json", b'{"a": "<html>"}'),
        ("train.txt", SCRIPT_HTML),  # served as text/plain, never rendered
        ("confusion.png", b"\x89PNG"),
        ("table.csv.gz", gzip.compress(b"<a>,b\n")),
        ("README", b"Plain words, no markup."),
        ("weights", b"\x00\x01binary"),
        ("blob.gz", gzip.compress(b"a,b\n1,2\n")),
    ],
)
def test_other_files_are_published_as_they_are(name: str, content: bytes) -> None:
    assert not is_scriptable(name, content)


def make_hostile_store(store: Path, tmp: Path) -> str:
    """A run whose artifacts try every way to run script, and whose name reorders text."""
    files = {
        "EVIL.SVG": SCRIPT_SVG,
        "evil.svgz": gzip.compress(SCRIPT_SVG),
        "evil.html": SCRIPT_HTML,
        "evil.htm": SCRIPT_HTML,
        "evil.shtml": SCRIPT_HTML,
        "evil.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>window.pwned=1</script></html>',
        "evil.xml": b'<x:script xmlns:x="http://www.w3.org/1999/xhtml">window.pwned=1</x:script>',
        "evil.mht": b"MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n" + SCRIPT_HTML,
        "evil-no-suffix": SCRIPT_HTML,
        "evil.html.gz": gzip.compress(SCRIPT_HTML),
        "plot.png": b"\x89PNG\r\n\x1a\n",
    }
    payload = b"localStorage.setItem('pwned', location.href); window.pwned = 1"
    with xsite.init(
        project="secure", name="evil\u202egnp.exe", tags=["\u2066tag"], capture=False, dir=store
    ) as run:
        run.log({"val/acc": 0.5})
        for name, content in files.items():
            path = tmp / name
            path.write_bytes(content.replace(b"window.pwned=1", payload))
            run.log_artifact(path)
    return run.id


def test_scriptable_artifacts_are_published_only_as_text(tmp_path: Path) -> None:
    run_id = make_hostile_store(tmp_path / "store", tmp_path)
    site = tmp_path / "site"
    report = xsite.build(xsite.SiteConfig(store=str(tmp_path / "store"), out=str(site)))
    assert report.broken_links == []
    run_dir = site / "runs" / run_id
    assert sorted(p.name for p in (run_dir / "artifacts").iterdir()) == ["plot.png"]
    as_text = sorted(p.name for p in (run_dir / "artifacts-as-text").iterdir())
    assert len(as_text) == 10 and all(name.endswith(".txt") for name in as_text)
    assert (run_dir / "artifacts-as-text/evil.html.txt").read_bytes().startswith(b"<!doctype")
    # No file anywhere in the site's run folders could run as a page.
    for path in (site / "runs").rglob("*"):
        if path.is_file() and path.name != "index.html":
            assert not is_scriptable(path.name, path.read_bytes()), path

    page = BeautifulSoup((run_dir / "index.html").read_bytes(), "html.parser")
    links = {a.get_text(): a for a in page.select("#artifacts table a")}
    assert links["EVIL.SVG"]["href"].endswith("/artifacts-as-text/EVIL.SVG.txt")
    assert links["EVIL.SVG"]["download"] == "EVIL.SVG"
    assert not links["plot.png"].has_attr("download")
    images = [img["src"] for img in page.select("#artifacts img")]
    assert sum(src.startswith("data:image/svg+xml;base64,") for src in images) == 2  # svg, svgz
    assert any(src.endswith("/artifacts/plot.png") for src in images)


def test_artifact_names_with_url_characters_link_to_their_files(tmp_path: Path) -> None:
    from urllib.parse import unquote

    names = ["run #2.txt", "what?.csv", "100%.txt", "a&b.txt", "héllo wörld.txt"]
    with xsite.init(project="p", capture=False, dir=tmp_path / "store") as run:
        for name in names:
            run.log_artifact_bytes(name, name.encode())
    site = tmp_path / "site"
    report = xsite.build(xsite.SiteConfig(store=str(tmp_path / "store"), out=str(site)))
    assert report.broken_links == []
    page = BeautifulSoup((site / "runs" / run.id / "index.html").read_text(), "html.parser")
    links = {a.get_text(): a["href"] for a in page.select("#artifacts a")}
    for name in names:
        href = links[name]
        assert "#" not in href and "?" not in href  # nothing read as a fragment or a query
        assert (site / "runs" / run.id / unquote(href)).read_bytes() == name.encode()
