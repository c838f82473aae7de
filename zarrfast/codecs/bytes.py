"""The ``bytes`` array->bytes codec: the chunk's elements in C order with a byte order."""

from __future__ import annotations

import sys
from typing import Any, ClassVar, Literal

import numpy as np

from zarrfast.abc.codec import ArrayBytesCodec, Buffer, ChunkSpec, NativeCodecSpec
from zarrfast.errors import CodecError, DecodeError

__all__ = ["BytesCodec", "has_endianness"]

_ENDIAN_CHAR: dict[str, Literal["<", ">"]] = {"little": "<", "big": ">"}


def has_endianness(dtype: np.dtype[Any]) -> bool:
    """Whether elements of ``dtype`` have a byte order: numbers wider than one byte,
    UTF-32 text and datetimes do; bytes, raw bytes and structured records (whose fields
    are stored in the record's own layout, as zarr-python writes them) do not."""
    return dtype.itemsize > 1 and dtype.byteorder != "|"


class BytesCodec(ArrayBytesCodec):
    """Serialise a fixed-size chunk as raw bytes.

    Parameters
    ----------
    endian
        ``"little"`` or ``"big"``; required (and filled in by :meth:`evolve_from_spec`)
        for data types wider than one byte, ``None`` for single-byte types.
    """

    name: ClassVar[str] = "bytes"
    v2_id: ClassVar[None] = None

    def __init__(self, endian: str | None = "little") -> None:
        if endian not in ("little", "big", None):
            raise CodecError(f"bytes codec: expected endian 'little' or 'big', got {endian!r}")
        self.endian = endian

    def to_config(self) -> dict[str, Any]:
        if self.endian is None:
            return {"name": "bytes"}
        return {"name": "bytes", "configuration": {"endian": self.endian}}

    def evolve_from_spec(self, spec: ChunkSpec) -> BytesCodec:
        if not has_endianness(spec.dtype):
            return self if self.endian is None else BytesCodec(endian=None)
        if self.endian is None:
            return BytesCodec(endian=sys.byteorder)
        return self

    def validate(self, spec: ChunkSpec) -> None:
        if spec.vlen is not None or spec.dtype.kind == "O":
            raise CodecError(
                "bytes codec: expected a fixed-size data type, got a variable-length one "
                "(use the vlen-utf8 / vlen-bytes codec)"
            )
        if has_endianness(spec.dtype) and self.endian is None:
            raise CodecError(
                f"bytes codec: endian is required for {spec.dtype.itemsize}-byte data type "
                f"{spec.dtype.str}"
            )

    def stored_dtype(self, dtype: np.dtype[Any]) -> np.dtype[Any]:
        """The dtype of the bytes as stored (``dtype`` with this codec's byte order)."""
        if self.endian is None or not has_endianness(dtype):
            return dtype
        stored: np.dtype[Any] = dtype.newbyteorder(_ENDIAN_CHAR[self.endian])
        return stored

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> Buffer:
        target = self.stored_dtype(spec.dtype)
        arr = np.ascontiguousarray(chunk, dtype=target)
        return arr.reshape(-1).view(np.uint8).data

    def decode(self, data: Buffer, spec: ChunkSpec) -> np.ndarray:
        mv = memoryview(data).cast("B")
        if mv.nbytes != spec.nbytes:
            raise DecodeError(
                f"bytes codec: expected {spec.nbytes} bytes for a chunk of shape "
                f"{spec.shape} and dtype {spec.dtype.str}, got {mv.nbytes}"
            )
        arr = np.frombuffer(mv, dtype=self.stored_dtype(spec.dtype)).reshape(spec.shape)
        if arr.dtype != spec.dtype:
            arr = arr.astype(spec.dtype)
        return arr

    def native_spec(self) -> NativeCodecSpec | None:
        big = self.endian == "big"
        return NativeCodecSpec("bytes", (1 if big else 0,))
