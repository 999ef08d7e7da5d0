"""Where a store lives, and the few file operations the store needs.

Every byte goes through pyarrow's filesystem layer, so a store on object storage
(``s3://bucket/prefix``) is a location string away. Writes are atomic: on a disk a part is
written under a temporary name and moved into place; on object storage one PUT is atomic
by itself. Either way a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from xsite.errors import StoreError
from xsite.store.schema import TMP_PREFIX

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

    @classmethod
    def open(cls, location: str | os.PathLike[str] | None = None) -> StoreFS:
        resolved = resolve_location(location)
        try:
            if resolved.startswith("s3://"):
                fs, root = _s3(resolved)
            else:
                fs, root = pafs.FileSystem.from_uri(resolved)
        except (pa.ArrowInvalid, ValueError, OSError) as exc:
            raise StoreError(f"Cannot open store {resolved!r}: {exc}") from exc
        return cls(fs=fs, root=root.rstrip("/") or "/", location=resolved)

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
        self.fs.create_dir(path, recursive=True)

    def write_bytes(self, path: str, data: bytes | pa.Buffer, *, durable: bool = True) -> None:
        """Write ``data`` to ``path`` atomically: readers see the old state or the new file.

        ``durable=False`` skips the fsyncs, for files derived from others (summaries, the
        index) that a reader does without when a power cut leaves them empty or absent.
        """
        if not self.is_local:
            # Object storage has no rename, but one PUT is atomic: readers see the whole
            # object or none, so it goes straight to its name.
            with self.fs.open_output_stream(path) as stream:
                stream.write(data)
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
        with self.fs.open_input_stream(path) as stream:
            return stream.read()

    def list_files(self, path: str, *, recursive: bool) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(path, recursive=recursive, allow_not_found=True)
        return [info for info in self.fs.get_file_info(selector) if info.type == pafs.FileType.File]

    def list_dirs(self, path: str) -> dict[str, int | None]:
        """The folders in ``path``, each with its modification time in ns where the
        filesystem keeps one for folders (local disks do, object stores do not)."""
        selector = pafs.FileSelector(path, recursive=False, allow_not_found=True)
        infos = self.fs.get_file_info(selector)
        return {
            info.base_name: info.mtime_ns if self.is_local else None
            for info in infos
            if info.type == pafs.FileType.Directory
        }

    def folder_stamp(self, path: str) -> int | None:
        """A folder's modification time in ns (None on object stores, which keep none)."""
        return self.fs.get_file_info(path).mtime_ns if self.is_local else None

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


def _fsync_path(path: str, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _s3(location: str) -> tuple[pafs.FileSystem, str]:
    """An S3 filesystem for ``s3://bucket/prefix[?region=…&endpoint_override=…&scheme=…]``.

    Through s3fs (fsspec), which sends a small object as one PUT: pyarrow's own S3 client
    uploads every object in parts, which some S3-compatible servers get wrong. The endpoint
    comes from the URI, else ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``.
    """
    try:
        import s3fs  # only stores in object storage need it
    except ImportError as exc:
        raise StoreError("an s3:// store needs s3fs: pip install 'xsite[s3]'") from exc

    parts = urlsplit(location)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    endpoint = options.get("endpoint_override")
    if endpoint:
        endpoint = f"{options.get('scheme', 'https')}://{endpoint}"
    for variable in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        endpoint = endpoint or os.environ.get(variable)
    client = {"region_name": options["region"]} if "region" in options else {}
    s3 = s3fs.S3FileSystem(
        endpoint_url=endpoint,
        client_kwargs=client,
        use_listings_cache=False,  # other processes write: always list afresh
        skip_instance_cache=True,
    )
    return pafs.PyFileSystem(pafs.FSSpecHandler(s3)), f"{parts.netloc}{parts.path}"
