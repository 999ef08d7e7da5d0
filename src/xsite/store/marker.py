"""The marker file at the root of a store: what it is, and which format version it has."""

from __future__ import annotations

import json

from xsite.errors import StoreError
from xsite.store import schema
from xsite.store.fs import StoreFS


def ensure_store(store: StoreFS) -> None:
    """Create the store's marker file on first use; refuse a store of a newer format."""
    if check_marker(store):
        return
    store.make_dirs(store.path(schema.RUNS_DIR))
    body = {"format": "xsite-store", "version": schema.STORE_VERSION}
    store.write_bytes(store.path(schema.MARKER_FILE), json.dumps(body, indent=2).encode() + b"\n")


def check_marker(store: StoreFS) -> bool:
    """Whether the store has a marker (one read, no existence check first: on object
    storage each is a request). Raises :class:`StoreError` for a marker that is not ours
    or is of a newer format."""
    marker = store.path(schema.MARKER_FILE)
    try:
        body = json.loads(store.read_bytes(marker))
        version = int(body["version"])
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{store.display(marker)} is not an xsite store marker: {exc}") from exc
    if version > schema.STORE_VERSION:
        raise StoreError(
            f"store {store.location} has format version {version}, but this xsite reads up to "
            f"{schema.STORE_VERSION}; upgrade xsite (pip install -U xsite)"
        )
    return True
