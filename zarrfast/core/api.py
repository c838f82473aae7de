"""The functional API: create, open, open_array, open_group, group, zeros, ones, full,
empty, from_array, consolidate_metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zarrfast.abc.store import Store
from zarrfast.core.array import Array
from zarrfast.core.creation import DEFAULT as _DEFAULT
from zarrfast.core.creation import build_metadata, write_new_array, write_new_group
from zarrfast.core.group import Group
from zarrfast.core.nodes import GroupMetadata, node_exists, read_node
from zarrfast.errors import (
    ContainerNotFoundError,
    ContainsArrayError,
    MetadataError,
    NodeNotFoundError,
)

__all__ = [
    "consolidate_metadata",
    "create",
    "empty",
    "from_array",
    "full",
    "group",
    "ones",
    "open",
    "open_array",
    "open_group",
    "resolve_store",
    "zeros",
]

_MODES = ("r", "r+", "a", "w", "w-")


# --------------------------------------------------------------------------- stores
def resolve_store(
    store: Any = None,
    storage: str | None = None,
    path: str | None = None,
    *,
    read_only: bool = False,
    **options: Any,
) -> tuple[Store, str]:
    """Turn the user's ``store=`` / ``storage=`` / ``path=`` into ``(store, node_path)``.

    * ``store=`` a Store: ``path`` is the node's path inside it.
    * ``storage="name"``: the backend is built from ``path`` and ``options``; for
      backends that have no location (memory), ``path`` is the node path.
    * neither: a ``path`` means the filesystem; nothing at all means a new memory store.
    * ``store=`` a string: a filesystem path (URLs are resolved by the registry).
    """
    from zarrfast.storage import get_backend, make_store

    if isinstance(store, Store):
        if options:
            raise TypeError(f"unexpected storage options {sorted(options)} with store=")
        if read_only and not store.read_only and hasattr(store, "with_read_only"):
            store = store.with_read_only(True)
        return store, (path or "").strip("/")
    if isinstance(store, str):
        opener = _url_opener()
        if opener is not None:
            return opener(store, path=path, read_only=read_only, **options)  # type: ignore[no-any-return]
        storage, path = "filesystem", store if path is None else f"{store.rstrip('/')}/{path}"
    elif store is not None:
        raise TypeError(
            f"expected store= to be a zarrfast Store or a path, got {type(store).__name__}"
        )
    if storage is None:
        storage = "filesystem" if path else "memory"
    _, path_arg = get_backend(storage)
    if path_arg is None:
        node = (path or "").strip("/")
        opts = dict(options)
    else:
        if path is None and path_arg == "root":
            raise TypeError(f"storage={storage!r} needs path=")
        node = ""
        opts = dict(options)
        if path is not None:
            opts["path"] = path
    if read_only:
        opts["read_only"] = True
    return make_store(storage, **opts), node


def _resolve_existing(
    store: Any, storage: str | None, path: str | None, mode: str, options: dict[str, Any]
) -> tuple[Store, str]:
    """resolve_store for open(): in mode "r", a missing location is a missing node."""
    try:
        return resolve_store(store, storage, path, read_only=(mode == "r"), **options)
    except ContainerNotFoundError as exc:
        if mode != "r":
            raise
        raise NodeNotFoundError(f"no array or group at {path or store!r}: {exc}") from exc


def _where(store: Any, path: str | None, node: str) -> str:
    """The location a user asked for, for messages."""
    if isinstance(store, str):
        return repr(store if path is None else f"{store.rstrip('/')}/{path}")
    if path is not None and store is None:
        return repr(path)
    return f"path {('/' + node)!r} of {store!r}"


def _url_opener() -> Any:
    try:
        from zarrfast.storage.urls import open_url
    except ImportError:
        return None
    return open_url


# --------------------------------------------------------------------------- create/open
def create(
    shape: Any,
    chunks: Any = None,
    dtype: Any = "float64",
    compressor: Any = _DEFAULT,
    *,
    codecs: Sequence[Any] | None = None,
    filters: Any = None,
    shards: Any = None,
    fill_value: Any = _DEFAULT,
    order: str = "C",
    zarr_format: int = 3,
    dimension_names: Sequence[str | None] | None = None,
    attributes: dict[str, Any] | None = None,
    chunk_key_encoding: Any = None,
    dimension_separator: str | None = None,
    storage: str | None = None,
    store: Any = None,
    path: str | None = None,
    overwrite: bool = False,
    write_empty_chunks: bool | None = None,
    **storage_options: Any,
) -> Array:
    """Create a new array.

    Parameters
    ----------
    shape, chunks, dtype
        Array shape, chunk shape (``None``: about 1 MiB chunks) and element type
        (numpy dtypes, ``"float64"``-style names, ``str`` or ``bytes``).
    compressor
        ``"zstd"`` (default), ``"blosc"``, ``"zlib"``, ``"gzip"``, ``"lz4"``, ``"bz2"``,
        ``None``, a codec object, or its JSON config (v2 ``{"id": ...}`` or v3
        ``{"name": ..., "configuration": ...}``).
    codecs
        A full Zarr v3 codec list (overrides ``compressor``/``filters``).
    filters
        Zarr v2 filters (or v3 array->array codecs).
    shards
        Shard shape (v3): chunks are grouped into shards of this shape.
    fill_value
        Value of never-written elements; default 0 (``""``/``b""`` for str/bytes).  With
        ``zarr_format=2``, ``None`` writes ``null`` ("no fill value", read as 0), as
        zarr-python does.
    order, zarr_format, dimension_names, attributes, chunk_key_encoding, dimension_separator
        As in the Zarr specifications; ``zarr_format`` defaults to 3.
    storage, store, path, **storage_options
        Where the array lives: ``storage="filesystem", path="/data/a"``,
        ``storage="memory"``, or ``store=`` a Store object (``path`` then names the node).
    overwrite
        Replace an existing node at that path (default: raise ContainsArrayError).
    write_empty_chunks
        Store chunks equal to the fill value everywhere (default: no, and delete them).
    """
    st, node = resolve_store(store, storage, path, **storage_options)
    meta = build_metadata(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        codecs=codecs,
        filters=filters,
        shards=shards,
        fill_value=fill_value,
        order=order,
        zarr_format=zarr_format,
        dimension_names=dimension_names,
        attributes=attributes,
        chunk_key_encoding=chunk_key_encoding,
        dimension_separator=dimension_separator,
    )
    write_new_array(st, node, meta, overwrite=overwrite)
    return Array(st, node, meta, write_empty_chunks=write_empty_chunks)


def open(
    store: Any = None,
    *,
    mode: str = "a",
    storage: str | None = None,
    path: str | None = None,
    zarr_format: int | None = None,
    **kwargs: Any,
) -> Array | Group:
    """Open an existing array or group (format detected from what is stored).

    ``mode``: ``"r"`` read-only, ``"r+"`` read/write (must exist), ``"a"`` read/write
    (an array is created if missing when ``shape=`` is given), ``"w"`` create
    (overwrite), ``"w-"`` create (fail if it exists).

    Raises
    ------
    NodeNotFoundError
        In modes ``"r"``, ``"r+"`` and ``"a"`` without ``shape=``, when nothing Zarr is
        stored at the location; nothing is written then (use :func:`open_group` with
        ``mode="a"`` to create a group when missing).
    """
    if mode not in _MODES:
        raise ValueError(f"expected mode in {_MODES}, got {mode!r}")
    array_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _ARRAY_KEYWORDS}
    st, node = _resolve_existing(store, storage, path, mode, kwargs)
    if mode in ("w", "w-") or (mode == "a" and not node_exists(st, node)):
        if "shape" in array_kw:
            return create(
                store=st,
                path=node,
                overwrite=(mode == "w"),
                zarr_format=zarr_format or 3,
                **array_kw,
            )
        if mode == "a":
            raise NodeNotFoundError(
                f"no array or group at {_where(store, path, node)}: expected zarr.json, "
                ".zarray or .zgroup there, found none (pass shape= to create an array, or "
                "use zarrfast.open_group(..., mode='a') to create a group)"
            )
        if mode in ("w", "w-"):
            attrs = array_kw.get("attributes")
            gmeta = write_new_group(
                st, node, zarr_format or 3, overwrite=(mode == "w"), attributes=attrs
            )
            return Group(st, node, gmeta)
    meta = read_node(st, node, zarr_format)
    if isinstance(meta, GroupMetadata):
        return Group(st, node, meta, read_only=(mode == "r"))
    return Array(
        st,
        node,
        meta,
        read_only=(mode == "r"),
        write_empty_chunks=array_kw.get("write_empty_chunks"),
    )


_ARRAY_KEYWORDS = {
    "shape",
    "chunks",
    "dtype",
    "compressor",
    "codecs",
    "filters",
    "shards",
    "fill_value",
    "order",
    "dimension_names",
    "attributes",
    "chunk_key_encoding",
    "dimension_separator",
    "write_empty_chunks",
}


def open_array(
    store: Any = None,
    *,
    mode: str = "r+",
    storage: str | None = None,
    path: str | None = None,
    zarr_format: int | None = None,
    **kwargs: Any,
) -> Array:
    """Open an array; raises NodeNotFoundError if there is none (or it is a group)."""
    node = open(store, mode=mode, storage=storage, path=path, zarr_format=zarr_format, **kwargs)
    if not isinstance(node, Array):
        raise NodeNotFoundError(f"expected an array at {node.path or '/'!r}, found a group")
    return node


def open_group(
    store: Any = None,
    *,
    mode: str = "a",
    storage: str | None = None,
    path: str | None = None,
    zarr_format: int | None = None,
    use_consolidated: bool | None = None,
    **kwargs: Any,
) -> Group:
    """Open (or with mode a/w/w- create) a group."""
    if mode not in _MODES:
        raise ValueError(f"expected mode in {_MODES}, got {mode!r}")
    attributes = kwargs.pop("attributes", None)
    st, node = _resolve_existing(store, storage, path, mode, kwargs)
    exists = node_exists(st, node)
    if mode in ("w", "w-") or (mode == "a" and not exists):
        gmeta = write_new_group(
            st, node, zarr_format or 3, overwrite=(mode == "w"), attributes=attributes
        )
        return Group(st, node, gmeta)
    meta = read_node(st, node, zarr_format)
    if not isinstance(meta, GroupMetadata):
        raise ContainsArrayError(f"expected a group at {node or '/'!r}, found an array")
    if use_consolidated is False:
        meta = meta.evolve(consolidated=None)
    elif use_consolidated is True and meta.consolidated is None:
        raise MetadataError(f"group {node or '/'!r} has no consolidated metadata")
    return Group(st, node, meta, read_only=(mode == "r"))


def group(
    store: Any = None,
    *,
    path: str | None = None,
    storage: str | None = None,
    zarr_format: int = 3,
    overwrite: bool = False,
    attributes: dict[str, Any] | None = None,
    **storage_options: Any,
) -> Group:
    """Create a group (or open it if it exists and ``overwrite`` is false)."""
    mode = "w" if overwrite else "a"
    return open_group(
        store,
        mode=mode,
        storage=storage,
        path=path,
        zarr_format=zarr_format,
        attributes=attributes,
        **storage_options,
    )


# --------------------------------------------------------------------------- shorthands
def empty(shape: Any, **kwargs: Any) -> Array:
    """A new array with nothing stored (reads give the fill value)."""
    return create(shape, **kwargs)


def zeros(shape: Any, **kwargs: Any) -> Array:
    kwargs["fill_value"] = 0
    return create(shape, **kwargs)


def ones(shape: Any, **kwargs: Any) -> Array:
    kwargs["fill_value"] = 1
    return create(shape, **kwargs)


def full(shape: Any, fill_value: Any, **kwargs: Any) -> Array:
    return create(shape, fill_value=fill_value, **kwargs)


def from_array(data: Any, **kwargs: Any) -> Array:
    """A new array holding a copy of ``data`` (a numpy array or anything array-like)."""
    if isinstance(data, Array):
        src: Any = data
        kwargs.setdefault("chunks", data.chunks)
        kwargs.setdefault(
            "dtype", data.dtype if data.dtype.kind != "O" else data.metadata.data_type
        )
        shape = data.shape
    else:
        src = np.asarray(data)
        if src.dtype.kind == "T":  # numpy StringDType: variable length
            kwargs.setdefault("dtype", str)
        else:
            kwargs.setdefault("dtype", src.dtype)
        shape = src.shape
    arr = create(shape, **kwargs)
    if isinstance(src, Array):
        for block_start in range(0, shape[0] if shape else 1, arr.chunks[0] if shape else 1):
            if not shape:
                arr[...] = src[...]
                break
            sl = slice(block_start, min(block_start + arr.chunks[0], shape[0]))
            arr[sl] = src[sl]
    elif src.size:
        arr[...] = src
    return arr


def consolidate_metadata(
    store: Any = None,
    *,
    path: str | None = None,
    storage: str | None = None,
    **storage_options: Any,
) -> Group:
    """Gather every member's metadata into the group's metadata (v3 inline / v2 .zmetadata)."""
    g = open_group(
        store, mode="r+", storage=storage, path=path, use_consolidated=False, **storage_options
    )
    assert isinstance(g, Group)
    return g.consolidate_metadata()
