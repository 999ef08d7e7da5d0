"""Where a store lives, and the few file operations the store needs.

Every byte goes through pyarrow's filesystem layer, so a store on object storage
(``s3://bucket/prefix``) is a location string away. Writes are atomic: on a disk a part is
written under a temporary name and moved into place; on object storage one PUT is atomic
by itself. Either way a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from xsite.errors import StoreError
from xsite.store.schema import TMP_PREFIX

CONFLICT_RETRIES = 6
"""Tries of a conditional write that S3 answers 409 (another one in flight)."""

DEFAULT_STORE_DIR = "./xsite-runs"
STORE_ENV_VAR = "XSITE_DIR"


def resolve_location(location: str | os.PathLike[str] | None = None) -> str:
    """The store location: the argument, else ``$XSITE_DIR``, else ``./xsite-runs``."""
    if location is None:
        location = os.environ.get(STORE_ENV_VAR) or DEFAULT_STORE_DIR
    text = os.fspath(location)
    if "://" in text:
        return text
    return str(Path(text).expanduser().resolve())


@dataclass(frozen=True)
class StoreFS:
    """A filesystem plus the root path of the store inside it."""

    fs: pafs.FileSystem
    root: str
    location: str
    objects: Any = None
    """The fsspec filesystem of an object store (None on a disk). pyarrow's wrapper around
    it asks before it acts (a HEAD before each read, a folder check before each write); the
    calls that matter at scale go to it directly: one PUT a write, one GET a read, one
    LIST a thousand keys."""

    @classmethod
    def open(cls, location: str | os.PathLike[str] | None = None) -> StoreFS:
        resolved = resolve_location(location)
        objects = None
        try:
            if resolved.startswith("s3://"):
                objects, root = _s3(resolved)
                fs: pafs.FileSystem = pafs.PyFileSystem(pafs.FSSpecHandler(objects))
            else:
                fs, root = pafs.FileSystem.from_uri(resolved)
        except (pa.ArrowInvalid, ValueError, OSError) as exc:
            raise StoreError(f"Cannot open store {resolved!r}: {exc}") from exc
        return cls(fs=fs, root=root.rstrip("/") or "/", location=resolved, objects=objects)

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def display(self, path: str) -> str:
        """A path as the user should read it in a message: with the store's scheme."""
        if self.is_local:
            return path
        scheme = self.location.split("://", 1)[0]
        return f"{scheme}://{path}"

    def make_dirs(self, path: str) -> None:
        if self.is_local:  # object stores have no folders: a key's prefix is its folder
            self.fs.create_dir(path, recursive=True)

    def write_bytes(self, path: str, data: bytes | pa.Buffer, *, durable: bool = True) -> None:
        """Write ``data`` to ``path`` atomically: readers see the old state or the new file.

        ``durable=False`` skips the fsyncs, for files derived from others (summaries, the
        index) that a reader does without when a power cut leaves them empty or absent.
        """
        if not self.is_local:
            # Object storage has no rename, but one PUT is atomic: readers see the whole
            # object or none, so it goes straight to its name.
            self.objects.pipe_file(path, data if isinstance(data, bytes) else data.to_pybytes())
            return
        directory, _, name = path.rpartition("/")
        tmp = f"{directory}/{TMP_PREFIX}{secrets.token_hex(6)}-{name}"
        with self.fs.open_output_stream(tmp) as stream:
            stream.write(data)
        sync = durable and self.is_local
        if sync:
            # A rename only orders metadata; without fsync a power cut can leave the new
            # name pointing at an empty file. Any descriptor's fsync flushes the inode.
            _fsync_path(tmp)
        self.fs.move(tmp, path)
        if sync:
            _fsync_path(directory, directory=True)

    def create_bytes(self, path: str, data: bytes) -> bool:
        """Write ``data`` to ``path`` only if nothing is there: True if this call made the
        file, False if it existed. Of writers that race for one name, exactly one wins, and
        readers never see a half-written file.

        On a disk the file is written under a temporary name and hard-linked to ``path``
        (a link never replaces a file); on object storage it is one conditional PUT
        (``If-None-Match: *``, which S3 and MinIO honour), tried again while S3 answers
        that another is in flight (409). A refused PUT is still this call's when the object
        holds exactly ``data``: a retry of a PUT that had landed, its answer lost.
        """
        if not self.is_local:
            for attempt in range(CONFLICT_RETRIES):
                try:
                    self.objects.pipe_file(path, data, mode="create")
                    return True
                except FileExistsError:
                    break
                except OSError as exc:
                    if _refused(exc, "PreconditionFailed", "412"):
                        break
                    if not _refused(exc, "ConditionalRequestConflict", "409"):
                        raise
                    time.sleep(0.05 * 2**attempt)  # another conditional write in flight
            else:
                raise StoreError(f"{self.display(path)}: conditional writes kept conflicting")
            # Refused: the object exists. It is ours when a retry of a PUT that succeeded
            # (its answer lost) was what the server refused.
            return self._get(path) == data
        directory, _, name = path.rpartition("/")
        tmp = f"{directory}/{TMP_PREFIX}{secrets.token_hex(6)}-{name}"
        with self.fs.open_output_stream(tmp) as stream:
            stream.write(data)
        _fsync_path(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as exc:  # no hard links here (some network and FUSE filesystems)
            raise StoreError(
                f"cannot create {path} only if it is absent: {exc}. Model versions are "
                "numbered that way; keep the store on a local disk or on S3"
            ) from exc
        finally:
            os.unlink(tmp)
        _fsync_path(directory, directory=True)
        return True

    def write_table(self, path: str, table: pa.Table, *, durable: bool = True) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(
            table,
            sink,
            compression="zstd",
            write_page_checksum=True,
            use_dictionary=True,
        )
        self.write_bytes(path, sink.getvalue(), durable=durable)

    def read_bytes(self, path: str) -> bytes:
        if not self.is_local:
            return self._get(path)
        with self.fs.open_input_stream(path) as stream:
            return stream.read()

    def open_input_file(self, path: str) -> pa.NativeFile:
        """A seekable file, as Parquet reading wants. An object is fetched whole in one
        GET: parts are small, and reading a footer, then columns, would cost several."""
        if not self.is_local:
            return pa.BufferReader(self._get(path))
        return self.fs.open_input_file(path)

    def _get(self, path: str) -> bytes:
        # One GET; with concurrency s3fs would first ask the size (a HEAD) to split it.
        return self.objects.cat_file(path, max_concurrency=1)

    def list_files(self, path: str, *, recursive: bool) -> list[pafs.FileInfo]:
        """The files in ``path`` (and its subfolders, when ``recursive``) with their sizes
        and modification times. On object storage a recursive listing is one LIST request
        a thousand keys, whatever the number of folders."""
        if not self.is_local:
            return self._list_objects(path, recursive=recursive)
        selector = pafs.FileSelector(path, recursive=recursive, allow_not_found=True)
        return [info for info in self.fs.get_file_info(selector) if info.type == pafs.FileType.File]

    def _list_objects(self, path: str, *, recursive: bool) -> list[pafs.FileInfo]:
        try:
            if recursive:
                # As a prefix of the parent: s3fs would follow an empty listing of the path
                # itself with a HEAD and another LIST to tell "empty" from "missing".
                parent, _, name = path.rstrip("/").rpartition("/")
                found = self.objects.find(parent, detail=True, prefix=f"{name}/").values()
            else:
                found = self.objects.ls(path, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        return [
            pafs.FileInfo(
                info["name"],
                pafs.FileType.File,
                size=info["size"],
                mtime_ns=_mtime_ns(info),
            )
            for info in found
            if info["type"] == "file"
        ]

    def list_dirs(self, path: str) -> dict[str, int]:
        """The folders in ``path`` of a store on disk, each with its modification time in ns
        (object stores have no folders: list their files instead)."""
        selector = pafs.FileSelector(path, recursive=False, allow_not_found=True)
        infos = self.fs.get_file_info(selector)
        return {
            info.base_name: info.mtime_ns
            for info in infos
            if info.type == pafs.FileType.Directory and info.mtime_ns is not None
        }

    def folder_stamp(self, path: str) -> int:
        """A folder's modification time in ns, on a disk."""
        return self.fs.get_file_info(path).mtime_ns or 0

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_file(path)

    def copy_in(self, local_source: Path, path: str) -> None:
        """Copy a file from the local disk into the store, atomically (on object storage,
        one upload is: it goes straight to its name)."""
        directory, _, name = path.rpartition("/")
        target = f"{directory}/{TMP_PREFIX}{secrets.token_hex(6)}-{name}" if self.is_local else path
        pafs.copy_files(
            str(local_source),
            target,
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.fs,
        )
        if self.is_local:
            _fsync_path(target)
            self.fs.move(target, path)


def sha256_file(path: Path) -> tuple[str, int]:
    """A local file's SHA-256 (hex) and size, read in chunks (artifacts can be large)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _refused(error: OSError, *codes: str) -> bool:
    """Whether an object store answered a write with one of these error codes (s3fs says
    FileExistsError for a refused conditional write only when the server names the
    condition)."""
    response = getattr(error.__cause__, "response", None) or {}
    return response.get("Error", {}).get("Code") in codes


def _fsync_path(path: str, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime_ns(info: dict[str, Any]) -> int:
    """An object's last-modified time in ns; 0 where an S3-compatible server gives none
    (its name and size still tell a changed object, as every part has a unique name)."""
    modified = info.get("LastModified")
    return int(modified.timestamp() * 1e9) if modified is not None else 0


def with_endpoint(location: str, endpoint: str | None) -> str:
    """``location`` with an S3 endpoint (``http://host:port``) in its query, for an
    ``s3://`` store whose URI names none; any other location is returned as it is."""
    parts = urlsplit(location)
    options = parse_qs(parts.query)
    if not endpoint or parts.scheme != "s3" or {"endpoint", "endpoint_override"} & set(options):
        return location
    query = urlencode({**{k: v[-1] for k, v in options.items()}, "endpoint": endpoint})
    return urlunsplit(parts._replace(query=query))


def _s3(location: str) -> tuple[Any, str]:
    """An S3 filesystem for ``s3://bucket/prefix[?region=…&endpoint=…]``, and the root.

    Through s3fs (fsspec), which sends a small object as one PUT: pyarrow's own S3 client
    uploads every object in parts, which some S3-compatible servers get wrong. The endpoint
    comes from the URI (``endpoint=http://host:port``, or pyarrow's ``endpoint_override=``
    and ``scheme=``), else ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``, else AWS.
    """
    try:
        import s3fs  # only stores in object storage need it
    except ImportError as exc:
        raise StoreError("an s3:// store needs s3fs: pip install 'xsite[s3]'") from exc

    parts = urlsplit(location)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    endpoint = options.get("endpoint")
    if not endpoint and (override := options.get("endpoint_override")):
        endpoint = f"{options.get('scheme', 'https')}://{override}"
    for variable in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        endpoint = endpoint or os.environ.get(variable)
    client = {"region_name": options["region"]} if "region" in options else {}
    s3 = s3fs.S3FileSystem(
        endpoint_url=endpoint,
        client_kwargs=client,
        use_listings_cache=False,  # other processes write: always list afresh
        skip_instance_cache=True,
    )
    return s3, f"{parts.netloc}{parts.path}"
