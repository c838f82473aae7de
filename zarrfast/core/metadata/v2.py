"""Zarr v2 metadata: ``.zarray``, ``.zgroup``, ``.zattrs`` and consolidated ``.zmetadata``.

A v2 array's ``order``, ``filters`` and ``compressor`` become one codec chain:
``[transpose (order F)] + array->array filters + (bytes | vlen filter) + bytes->bytes
filters + compressor``.  ``order: "F"`` is column-major inside each chunk only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zarrfast.abc.codec import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec, Codec
from zarrfast.codecs.bytes import BytesCodec
from zarrfast.codecs.registry import codec_from_json
from zarrfast.codecs.transpose import TransposeCodec
from zarrfast.core.chunk_grid import RegularChunkGrid, validate_shape
from zarrfast.core.chunk_key import ChunkKeyEncoding
from zarrfast.core.metadata.common import ArrayMetadata, dump_json
from zarrfast.core.metadata.dtypes import (
    DataType,
    fill_value_to_json,
    parse_fill_value,
    parse_v2_dtype,
)
from zarrfast.errors import CodecError, MetadataError, UnknownCodecError

__all__ = ["ArrayMetadataV2", "parse_zarray", "v2_codecs"]


def v2_codecs(
    data_type: DataType,
    ndim: int,
    order: str,
    filters: tuple[Codec, ...],
    compressor: BytesBytesCodec | None,
) -> tuple[Codec, ...]:
    """The codec chain equivalent to a v2 array's order/filters/compressor."""
    aa: list[Codec] = []
    if order == "F" and ndim > 1:
        aa.append(TransposeCodec(tuple(reversed(range(ndim)))))
    ab: Codec | None = None
    bb: list[Codec] = []
    for f in filters:
        if isinstance(f, ArrayArrayCodec):
            if ab is not None or bb:
                raise MetadataError(
                    f"unsupported v2 filter order: array filter {f.v2_id!r} after a bytes filter"
                )
            aa.append(f)
        elif isinstance(f, ArrayBytesCodec):
            if ab is not None or bb:
                raise MetadataError(f"v2 filter {f.v2_id!r} must come before bytes filters")
            ab = f
        elif isinstance(f, BytesBytesCodec):
            bb.append(f)
        else:
            raise MetadataError(f"unsupported v2 filter {f!r}")
    if data_type.vlen is not None and ab is None:
        raise MetadataError("a v2 object array needs a vlen-utf8 or vlen-bytes filter")
    if ab is None:
        endian = None
        if data_type.dtype.itemsize > 1:
            endian = (
                "big"
                if data_type.dtype.byteorder == ">"
                or (data_type.dtype.byteorder == "=" and __import__("sys").byteorder == "big")
                else "little"
            )
        ab = BytesCodec(endian=endian)
    if compressor is not None:
        bb.append(compressor)
    return (*aa, ab, *bb)


@dataclass(frozen=True)
class ArrayMetadataV2(ArrayMetadata):
    """Zarr v2 array metadata (``.zarray`` + ``.zattrs``).

    ``order``, ``filters`` and ``compressor`` are kept as declared; ``codecs`` holds the
    equivalent v3-style chain that the pipeline runs.
    """

    zarr_format = 2
    order: str = "C"
    filters: tuple[Codec, ...] = field(default=())
    compressor: BytesBytesCodec | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``.zarray`` document as a dict."""
        return {
            "shape": list(self.shape),
            "chunks": list(self.chunk_grid.chunk_shape),
            "dtype": self.data_type.v2_json,
            "fill_value": fill_value_to_json(self.fill_value, self.data_type, 2),
            "order": self.order,
            "filters": [f.to_v2_config() for f in self.filters] or None,
            "dimension_separator": self.chunk_key_encoding.separator,
            "compressor": self.compressor.to_v2_config() if self.compressor else None,
            "zarr_format": 2,
        }

    def to_documents(self) -> dict[str, bytes]:
        """``.zarray`` and ``.zattrs``, encoded."""
        return {".zarray": dump_json(self.to_dict()), ".zattrs": dump_json(self.attributes)}

    @classmethod
    def create(
        cls,
        *,
        shape: tuple[int, ...],
        chunks: tuple[int, ...],
        data_type: DataType,
        fill_value: Any,
        order: str = "C",
        filters: tuple[Codec, ...] = (),
        compressor: BytesBytesCodec | None = None,
        dimension_separator: str = ".",
        attributes: dict[str, Any] | None = None,
    ) -> ArrayMetadataV2:
        """Build v2 metadata from its ``.zarray`` fields, deriving the codec chain.

        Raises
        ------
        MetadataError
            If ``order`` is not ``"C"`` or ``"F"`` or the codecs do not fit the array.
        """
        if order not in ("C", "F"):
            raise MetadataError(f"expected order 'C' or 'F', got {order!r}")
        return cls(
            shape=shape,
            chunk_grid=RegularChunkGrid(shape, chunks),
            data_type=data_type,
            fill_value=fill_value,
            codecs=v2_codecs(data_type, len(shape), order, filters, compressor),
            chunk_key_encoding=ChunkKeyEncoding("v2", dimension_separator),
            attributes=dict(attributes or {}),
            order=order,
            filters=filters,
            compressor=compressor,
        )

    def evolve(self, **changes: Any) -> ArrayMetadataV2:
        """A copy with ``changes`` applied (see :meth:`ArrayMetadata.evolve`)."""
        return super().evolve(**changes)  # type: ignore[return-value]


def parse_zarray(
    doc: Mapping[str, Any], attrs: Mapping[str, Any] | None = None, key: str = ".zarray"
) -> ArrayMetadataV2:
    """Parse a loaded ``.zarray`` document (and its ``.zattrs``)."""
    if doc.get("zarr_format") != 2:
        raise MetadataError(f"expected zarr_format 2 in {key!r}, got {doc.get('zarr_format')!r}")
    for required in ("shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters"):
        if required not in doc:
            raise MetadataError(f"missing required field {required!r} in {key!r}")
    shape = validate_shape(doc["shape"], "shape")
    chunks = validate_shape(doc["chunks"], "chunks", positive=True)
    raw_filters = doc["filters"]
    if raw_filters is not None and not isinstance(raw_filters, list):
        raise MetadataError(
            f"expected filters to be null or a list in {key!r}, got {raw_filters!r}"
        )
    data_type = parse_v2_dtype(doc["dtype"], raw_filters)
    raw_comp = doc["compressor"]
    comp: Codec | None = None
    try:
        filters = tuple(codec_from_json(f, 2) for f in raw_filters or [])
        if raw_comp is not None:
            comp = codec_from_json(raw_comp, 2)
    except UnknownCodecError:
        raise
    except CodecError as exc:  # a known codec with a bad configuration
        raise MetadataError(f"invalid filters or compressor in {key!r}: {exc}") from exc
    if comp is not None and not isinstance(comp, BytesBytesCodec):
        raise MetadataError(f"v2 compressor {raw_comp!r} is not a bytes-to-bytes codec")
    compressor = comp
    order = doc["order"]
    sep = doc.get("dimension_separator", ".")
    if sep is None:
        sep = "."
    if sep not in (".", "/"):
        raise MetadataError(f"expected dimension_separator '.' or '/' in {key!r}, got {sep!r}")
    if attrs is not None and not isinstance(attrs, Mapping):
        raise MetadataError(f"expected .zattrs to be an object, got {attrs!r}")
    return ArrayMetadataV2.create(
        shape=shape,
        chunks=chunks,
        data_type=data_type,
        fill_value=parse_fill_value(doc["fill_value"], data_type, 2),
        order=order,
        filters=filters,
        compressor=compressor,
        dimension_separator=sep,
        attributes=dict(attrs or {}),
    )


def group_documents(attributes: Mapping[str, Any]) -> dict[str, bytes]:
    """The encoded ``.zgroup`` and ``.zattrs`` documents of a v2 group.

    Parameters
    ----------
    attributes
        The group's user attributes.

    Returns
    -------
    dict of str to bytes
        Document bytes by key suffix.
    """
    return {".zgroup": dump_json({"zarr_format": 2}), ".zattrs": dump_json(dict(attributes))}
