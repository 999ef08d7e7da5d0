"""Themes: folders of Jinja templates and static files, overridable file by file.

Lookup order is the user's theme folder, then the default theme (as MkDocs' ``custom_dir``).
An override can extend the template it replaces with ``{% extends "default:run.html" %}``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PrefixLoader,
    pass_context,
)
from jinja2.runtime import Context
from markupsafe import Markup

from xsite.errors import ConfigError
from xsite.site import urls


def default_theme_dir() -> Path:
    """The default theme: inside the installed package, or in a source checkout."""
    packaged = Path(__file__).parents[1] / "themes" / "default"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "themes" / "default"


class Theme:
    def __init__(
        self, user_dir: str | Path | None = None, *, cache_dir: Path | None = None
    ) -> None:
        """The default theme, overridden file by file from ``user_dir``. Compiled templates
        are kept in ``cache_dir`` (compiling costs more than rendering a few pages)."""
        default = default_theme_dir()
        self.dirs = [default]
        if user_dir is not None:
            custom = Path(user_dir)
            if not custom.is_dir():
                raise ConfigError(f"theme folder {custom} does not exist")
            self.dirs.insert(0, custom)
        self.env = Environment(
            loader=ChoiceLoader(
                [
                    FileSystemLoader([str(d / "templates") for d in self.dirs]),
                    PrefixLoader(
                        {"default": FileSystemLoader(str(default / "templates"))}, delimiter=":"
                    ),
                ]
            ),
            autoescape=True,
            undefined=ChainableUndefined,  # optional data (git, gpus…) may be absent
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=FileSystemBytecodeCache(str(cache_dir)) if cache_dir else None,
        )
        self.env.filters.update(
            url=relative_url,
            number=format_number,
            duration=format_duration,
            datetime=format_datetime,
            filesize=format_filesize,
            json_attr=json_attribute,
        )

    def static_files(self) -> dict[str, Path]:
        """Static files by path under ``assets/``; the user's theme wins over the default."""
        files: dict[str, Path] = {}
        for directory in reversed(self.dirs):
            static = directory / "static"
            for path in sorted(static.rglob("*")) if static.is_dir() else []:
                if path.is_file():
                    files[path.relative_to(static).as_posix()] = path
        return dict(sorted(files.items()))

    def fingerprint(self) -> str:
        """Changes whenever any template or static file of the theme chain changes."""
        digest = hashlib.sha256()
        for path in self._all_files():
            digest.update(path.as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def _all_files(self) -> Iterator[Path]:
        for directory in self.dirs:
            yield from sorted(p for p in directory.rglob("*") if p.is_file())


@pass_context
def relative_url(context: Context, target: str) -> str:
    """``target`` (a path from the site root) as a link from the page being rendered."""
    return urls.relative(context["root"], target)


def format_number(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return str(value)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_datetime(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def format_filesize(size: int) -> str:
    exponent = 0 if size < 1024 else min(3, int(math.log(size, 1024)))
    if exponent == 0:
        return f"{size} B"
    return f"{size / 1024**exponent:.1f} {('KB', 'MB', 'GB')[exponent - 1]}"


def json_attribute(value: Any) -> Markup:
    """JSON for a quoted HTML attribute (autoescape would double-escape a plain string)."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, which orjson refuses
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return Markup(
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
