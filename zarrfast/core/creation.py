"""Creating nodes, the one way down: array metadata from the user's keyword arguments, and
writing a new array's or group's documents (refusing, or replacing, what is there).

The public API (:mod:`zarrfast.core.api`), :class:`~zarrfast.core.group.Group` and the CLI
all create nodes through these functions; the node classes then wrap what was written.
This module imports no node class, so nothing here reaches up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, BytesBytesCodec, Codec
from zarrfast.abc.store import Store
from zarrfast.codecs.bytes import BytesCodec, has_endianness
from zarrfast.codecs.registry import codec_from_user
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
    ContainsArrayError,
    ContainsGroupError,
    MetadataError,
    ReadOnlyStoreError,
)

__all__ = ["DEFAULT", "build_metadata", "write_new_array", "write_new_group"]

#: "not given": lets ``fill_value=None`` and ``compressor=None`` mean what they say.
DEFAULT: Any = object()


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
    compressor: Any = DEFAULT,
    codecs: Sequence[Any] | None = None,
    filters: Any = None,
    shards: Any = None,
    fill_value: Any = DEFAULT,
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
    fill = fill_value_from_user(None if fill_value is DEFAULT else fill_value, data_type)
    if compressor is DEFAULT:
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


def _make_room(store: Store, path: str, what: str, *, overwrite: bool) -> None:
    if store.read_only:
        raise ReadOnlyStoreError(f"cannot create {what} in read-only {store!r}")
    if node_exists(store, path):
        if not overwrite:
            existing = read_node(store, path)
            cls = ContainsGroupError if isinstance(existing, GroupMetadata) else ContainsArrayError
            raise cls(
                f"a node already exists at path {path or '/'!r} in {store!r}; pass overwrite=True"
            )
        delete_node(store, path)
    elif overwrite and path:
        delete_node(store, path)


def write_new_array(store: Store, path: str, metadata: ArrayMetadata, *, overwrite: bool) -> None:
    """Write a new array's metadata at ``path``.

    Raises
    ------
    ContainsArrayError, ContainsGroupError
        If a node is there and ``overwrite`` is false (else it is deleted first).
    ReadOnlyStoreError
        If the store is read-only.
    """
    _make_room(store, path, "an array", overwrite=overwrite)
    write_documents(store, path, metadata.to_documents())


def write_new_group(
    store: Store,
    path: str,
    zarr_format: int,
    *,
    overwrite: bool,
    attributes: dict[str, Any] | None = None,
) -> GroupMetadata:
    """Write a new group's metadata at ``path`` and return it (errors as
    :func:`write_new_array`)."""
    _make_room(store, path, "a group", overwrite=overwrite)
    meta = GroupMetadata(zarr_format, attributes)
    write_documents(store, path, meta.to_documents())
    return meta
