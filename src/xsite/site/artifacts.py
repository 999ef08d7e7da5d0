"""Artifacts in the site: what kind each is, and whether a browser could run it as a page.

On GitHub Pages every project site of an account shares one origin and no response headers
can be set, so a file that a browser renders as a document (HTML, SVG, any XML) runs its
script with access to all of them. Such an artifact is published only as plain text
(``artifacts-as-text/<name>.txt``, served as ``text/plain``) with a link that downloads it
under its own name, and an SVG is shown through ``<img>`` from a ``data:`` URI, which never
runs script. Everything else is published as it is.

The decision looks at the name case-insensitively and through compression suffixes
(``EVIL.SVG``, ``evil.svgz``, ``page.html.gz``), and, for a type that hosts do not know
(which some serve with no type, inviting the browser to sniff), at the content.
"""

from __future__ import annotations

import base64
import mimetypes
import zlib
from pathlib import PurePosixPath

PREVIEW_BYTES = 64 * 1024
"""How much of a text artifact its run page shows."""
INLINE_SVG_BYTES = 512 * 1024
"""SVGs up to this size (uncompressed) are shown inline, from a ``data:`` URI."""
SNIFF_BYTES = 1024

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".svgz"})
SVG_SUFFIXES = frozenset({".svg", ".svgz"})
TEXT_SUFFIXES = frozenset(
    {
        ".txt",
        ".md",
        ".log",
        ".json",
        ".yaml",
        ".yml",
        ".toml",
        ".csv",
        ".tsv",
        ".py",
        ".diff",
        ".patch",
        ".cfg",
        ".ini",
        ".sh",
        ".xml",
        ".html",
    }
)

# Suffixes some host renders as a document although Python's table does not know them all.
DOCUMENT_SUFFIXES = frozenset(
    {
        ".html",
        ".htm",
        ".shtml",
        ".xhtml",
        ".xht",
        ".xml",
        ".xsl",
        ".xslt",
        ".svg",
        ".svgz",
        ".mht",
        ".mhtml",
        ".rdf",
        ".hta",
    }
)
DOCUMENT_TYPES = frozenset(
    {
        "text/html",
        "text/xml",
        "text/xsl",
        "application/xml",
        "application/xhtml+xml",
        "image/svg+xml",
        "message/rfc822",
        "multipart/related",
    }
)
COMPRESSION_SUFFIXES = frozenset({".gz", ".gzip", ".z", ".bz2", ".xz", ".br", ".zst", ".lzma"})

# Only the built-in table: the system's mime.types differs between machines, and the same
# store must give the same site everywhere.
_TYPES = mimetypes.MimeTypes()


def suffix(name: str) -> str:
    """The name's last suffix, lower case (``.svg`` for ``EVIL.SVG``)."""
    return PurePosixPath(name.lower()).suffix


def kind(name: str) -> str:
    """``image`` (shown inline), ``text`` (previewed) or ``file`` (linked)."""
    if suffix(name) in IMAGE_SUFFIXES:
        return "image"
    if suffix(name) in TEXT_SUFFIXES:
        return "text"
    return "file"


def content_needed(name: str) -> int:
    """How many leading bytes of an artifact the build reads to show and classify it."""
    if suffix(name) in SVG_SUFFIXES:
        return INLINE_SVG_BYTES
    if kind(name) == "text":
        return PREVIEW_BYTES
    return 0 if _known_type(name) else SNIFF_BYTES


def is_scriptable(name: str, head: bytes) -> bool:
    """Whether a browser could run the artifact as a document when a static host serves it
    under ``name``; ``head`` is its first bytes (at least :func:`content_needed`)."""
    inner = _uncompressed_name(name.lower())
    if PurePosixPath(inner).suffix in DOCUMENT_SUFFIXES:
        return True
    mime, _ = _TYPES.guess_type(inner)
    if mime is None:
        return _starts_like_markup(head)
    return mime in DOCUMENT_TYPES or mime.endswith("+xml")


def svg_data_uri(head: bytes, size: int) -> str | None:
    """An SVG (or gzip-compressed SVG) as a ``data:`` URI for ``<img>``, when small enough."""
    if size > len(head):
        return None  # only the head was read: too large to inline
    content = _gunzip(head, INLINE_SVG_BYTES + 1) if head[:2] == b"\x1f\x8b" else head
    if content is None or len(content) > INLINE_SVG_BYTES:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(content).decode("ascii")


def _known_type(name: str) -> bool:
    inner = _uncompressed_name(name.lower())
    return PurePosixPath(inner).suffix in DOCUMENT_SUFFIXES or bool(_TYPES.guess_type(inner)[0])


def _uncompressed_name(name: str) -> str:
    path = PurePosixPath(name)
    while path.suffix in COMPRESSION_SUFFIXES:
        path = path.with_suffix("")
    if path.suffix == ".svgz":
        path = path.with_suffix(".svg")
    return path.as_posix()


def _starts_like_markup(head: bytes) -> bool:
    """Whether a browser sniffing the content would take it for HTML or XML: browsers skip
    a byte-order mark and white space and look for ``<``; compressed content is looked into
    because some hosts serve ``.gz`` files with ``Content-Encoding: gzip``."""
    if head[:2] == b"\x1f\x8b":
        unpacked = _gunzip(head, SNIFF_BYTES)
        if unpacked is None:
            return True  # unreadable: assume the worst, it is only published as text
        head = unpacked
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head[2:].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", "ignore").encode()
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n\f\x00")
    return text.startswith(b"<")


def _gunzip(data: bytes, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of gzip ``data`` (which may be only the file's head)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(data, limit)
    except zlib.error:
        return None
