"""The functional API: create, open, open_array, open_group, group, zeros, ones, full,
empty, from_array, consolidate_metadata."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, BytesBytesCodec, Codec
from zarrfast.abc.store import Store
from zarrfast.codecs.bytes import BytesCodec, has_endianness
from zarrfast.codecs.registry import codec_from_user
from zarrfast.core.array import Array
from zarrfast.core.chunk_grid import RegularChunkGrid, validate_shape
from zarrfast.core.chunk_key import ChunkKeyEncoding, parse_chunk_key_encoding
from zarrfast.core.metadata.common import ArrayMetadata
from zarrfast.core.metadata.dtypes import (
    data_type_from_user,
    fill_value_from_user,
    fill_value_to_json,
    parse_fill_value,
)
from zarrfast.core.metadata.v2 import ArrayMetadataV2
from zarrfast.core.metadata.v3 import ArrayMetadataV3
from zarrfast.core.nodes import GroupMetadata, delete_node, node_exists, read_node, write_documents
from zarrfast.errors import (
    CodecError,
    ContainerNotFoundError,
    ContainsArrayError,
    ContainsGroupError,
    MetadataError,
    NodeNotFoundError,
    ReadOnlyStoreError,
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

_DEFAULT = object()
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


# --------------------------------------------------------------------------- metadata
def _normalize_chunks(chunks: Any, shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    if chunks is None or chunks is True:
        return _guess_chunks(shape, itemsize)
    if isinstance(chunks, (int, np.integer)):
        chunks = (int(chunks),) * len(shape)
    chunks = list(chunks)
    if len(chunks) != len(shape):
        raise MetadataError(
            f"expected chunks with {len(shape)} entries to match shape {list(shape)}, got {chunks}"
        )
    out = []
    for c, s in zip(chunks, shape):
        if c is None or c == -1:
            c = max(s, 1)
        out.append(c)
    return validate_shape(out, "chunks", positive=True)


def _guess_chunks(shape: tuple[int, ...], itemsize: int, target: int = 1 << 20) -> tuple[int, ...]:
    """A chunk shape of roughly ``target`` bytes, halving the largest dimension first."""
    if not shape:
        return ()
    chunks = [max(s, 1) for s in shape]
    while math.prod(chunks) * max(itemsize, 1) > target:
        i = int(np.argmax(chunks))
        if chunks[i] == 1:
            break
        chunks[i] = math.ceil(chunks[i] / 2)
    return tuple(chunks)


def _as_codec_list(obj: Any, zarr_format: int) -> list[Codec]:
    if obj is None:
        return []
    if isinstance(obj, (Codec, str, dict)) or hasattr(obj, "get_config"):  # one codec
        obj = [obj]
    out = []
    for c in obj:
        codec = codec_from_user(c, zarr_format)
        if codec is not None:
            out.append(codec)
    return out


def build_metadata(
    *,
    shape: Any,
    chunks: Any = None,
    dtype: Any = "float64",
    compressor: Any = _DEFAULT,
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
) -> ArrayMetadata:
    """Validated array metadata from ``create()``'s keyword arguments."""
    if zarr_format not in (2, 3):
        raise MetadataError(f"expected zarr_format 2 or 3, got {zarr_format!r}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape_t = validate_shape(shape, "shape")
    data_type = data_type_from_user(dtype, zarr_format)
    chunk_t = _normalize_chunks(chunks, shape_t, data_type.itemsize)
    # v2 ``fill_value=None`` means JSON null ("no fill value"), as zarr-python writes it;
    # left out, it is the type's default (0, "", b"") in both formats.
    v2_null_fill = fill_value is None and zarr_format == 2 and data_type.vlen is None
    fill = fill_value_from_user(None if fill_value is _DEFAULT else fill_value, data_type)
    if compressor is _DEFAULT:
        compressor = "zstd"
    if order not in ("C", "F"):
        raise MetadataError(f"expected order 'C' or 'F', got {order!r}")

    if zarr_format == 2:
        if codecs is not None or shards is not None:
            raise MetadataError("codecs= and shards= are Zarr v3 features; use zarr_format=3")
        comp = codec_from_user(compressor, 2)
        if comp is not None and not isinstance(comp, BytesBytesCodec):
            raise CodecError(f"expected a bytes-to-bytes compressor, got {comp!r}")
        flt = _as_codec_list(filters, 2)
        if data_type.vlen is not None and not any(f.kind == "array_to_bytes" for f in flt):
            from zarrfast.codecs.vlen import VLenBytesCodec, VLenUTF8Codec

            flt.insert(0, VLenUTF8Codec() if data_type.vlen == "string" else VLenBytesCodec())
        if v2_null_fill:
            fill = None
        elif data_type.vlen is None:
            # What .zarray can hold (a NaN payload becomes "NaN"), so this Array and a
            # reopened one agree on the fill value.
            fill = parse_fill_value(fill_value_to_json(fill, data_type, 2), data_type, 2)
        return ArrayMetadataV2.create(
            shape=shape_t,
            chunks=chunk_t,
            data_type=data_type,
            fill_value=fill,
            order=order,
            filters=tuple(flt),
            compressor=comp,
            dimension_separator=dimension_separator or ".",
            attributes=attributes,
        )

    if dimension_names is not None:
        dimension_names = tuple(dimension_names)
        if len(dimension_names) != len(shape_t):
            raise MetadataError(
                f"expected {len(shape_t)} dimension_names, got {len(dimension_names)}"
            )
    if chunk_key_encoding is None:
        cke = ChunkKeyEncoding("default", dimension_separator or "/")
    else:
        cke = parse_chunk_key_encoding(chunk_key_encoding)
    if codecs is not None:
        codec_list = _as_codec_list(list(codecs), 3)
    else:
        aa = [c for c in _as_codec_list(filters, 3)]
        for c in aa:
            if not isinstance(c, ArrayArrayCodec):
                raise CodecError(f"expected array->array codecs in filters= for Zarr v3, got {c!r}")
        if data_type.vlen is not None:
            from zarrfast.codecs.vlen import VLenBytesCodec, VLenUTF8Codec

            ab: Codec = VLenUTF8Codec() if data_type.vlen == "string" else VLenBytesCodec()
        else:
            ab = BytesCodec(endian="little" if has_endianness(data_type.dtype) else None)
        bb = _as_codec_list(compressor, 3)
        codec_list = [*aa, ab, *bb]
    grid_chunks = chunk_t
    if shards is not None:
        from zarrfast.codecs.crc32c import Crc32cCodec
        from zarrfast.codecs.sharding import ShardingCodec

        shard_t = _normalize_chunks(shards, shape_t, data_type.itemsize)
        for shard_len, chunk_len in zip(shard_t, chunk_t):
            if shard_len % chunk_len:
                raise MetadataError(
                    f"expected shard shape {list(shard_t)} to be a multiple of the chunk "
                    f"shape {list(chunk_t)}"
                )
        codec_list = [
            ShardingCodec(
                chunk_shape=chunk_t,
                codecs=codec_list,
                index_codecs=[BytesCodec(endian="little"), Crc32cCodec()],
                index_location="end",
            )
        ]
        grid_chunks = shard_t
    return ArrayMetadataV3(
        shape=shape_t,
        chunk_grid=RegularChunkGrid(shape_t, grid_chunks),
        data_type=data_type,
        fill_value=fill,
        codecs=tuple(codec_list),
        chunk_key_encoding=cke,
        attributes=dict(attributes or {}),
        dimension_names=dimension_names,
    )


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
    return _create_node_array(
        st, node, meta, overwrite=overwrite, write_empty_chunks=write_empty_chunks
    )


def _create_node_array(
    st: Store, node: str, meta: ArrayMetadata, *, overwrite: bool, write_empty_chunks: bool | None
) -> Array:
    if st.read_only:
        raise ReadOnlyStoreError(f"cannot create an array in read-only {st!r}")
    if node_exists(st, node):
        if not overwrite:
            existing = read_node(st, node)
            cls = ContainsGroupError if isinstance(existing, GroupMetadata) else ContainsArrayError
            raise cls(
                f"a node already exists at path {node or '/'!r} in {st!r}; pass overwrite=True"
            )
        delete_node(st, node)
    elif overwrite and node:
        delete_node(st, node)
    write_documents(st, node, meta.to_documents())
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
    from zarrfast.core.group import Group

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
            return _create_group(
                st,
                node,
                zarr_format or 3,
                overwrite=(mode == "w"),
                attributes=array_kw.get("attributes"),
            )
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
    from zarrfast.core.group import Group

    if mode not in _MODES:
        raise ValueError(f"expected mode in {_MODES}, got {mode!r}")
    attributes = kwargs.pop("attributes", None)
    st, node = _resolve_existing(store, storage, path, mode, kwargs)
    exists = node_exists(st, node)
    if mode in ("w", "w-") or (mode == "a" and not exists):
        return _create_group(
            st, node, zarr_format or 3, overwrite=(mode == "w"), attributes=attributes
        )
    meta = read_node(st, node, zarr_format)
    if not isinstance(meta, GroupMetadata):
        raise ContainsArrayError(f"expected a group at {node or '/'!r}, found an array")
    if use_consolidated is False:
        meta = meta.evolve(consolidated=None)
    elif use_consolidated is True and meta.consolidated is None:
        raise MetadataError(f"group {node or '/'!r} has no consolidated metadata")
    return Group(st, node, meta, read_only=(mode == "r"))


def _create_group(
    st: Store, node: str, zarr_format: int, *, overwrite: bool, attributes: dict[str, Any] | None
) -> Group:
    from zarrfast.core.group import Group

    if st.read_only:
        raise ReadOnlyStoreError(f"cannot create a group in read-only {st!r}")
    if node_exists(st, node):
        if not overwrite:
            existing = read_node(st, node)
            cls = ContainsGroupError if isinstance(existing, GroupMetadata) else ContainsArrayError
            raise cls(f"a node already exists at path {node or '/'!r} in {st!r}")
        delete_node(st, node)
    meta = GroupMetadata(zarr_format, attributes)
    write_documents(st, node, meta.to_documents())
    return Group(st, node, meta)


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
        if src.dtype.kind in "UT":
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
    from zarrfast.core.group import Group

    g = open_group(
        store, mode="r+", storage=storage, path=path, use_consolidated=False, **storage_options
    )
    assert isinstance(g, Group)
    return g.consolidate_metadata()


from zarrfast.core.group import Group  # noqa: E402  (circular: group uses create)
