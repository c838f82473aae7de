"""Interfaces: :mod:`zarrfast.abc.store` and :mod:`zarrfast.abc.codec`."""

from zarrfast.abc.codec import (
    ArrayArrayCodec,
    ArrayBytesCodec,
    BytesBytesCodec,
    ChunkSpec,
    Codec,
    NativeCodecSpec,
)
from zarrfast.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)

__all__ = [
    "ArrayArrayCodec",
    "ArrayBytesCodec",
    "ByteRequest",
    "BytesBytesCodec",
    "ChunkSpec",
    "Codec",
    "NativeCodecSpec",
    "OffsetByteRequest",
    "RangeByteRequest",
    "Store",
    "SuffixByteRequest",
]
