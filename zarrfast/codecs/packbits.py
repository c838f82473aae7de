"""numcodecs ``packbits`` (``numcodecs.packbits`` in Zarr v3): a boolean chunk packed 8
elements per byte after one byte that says how many bits of the last byte are padding."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, ChunkSpec
from zarrfast.errors import CodecError, DecodeError

__all__ = ["PackBitsCodec"]


class PackBitsCodec(ArrayArrayCodec):
    """Pack booleans into bits, byte-identical to numcodecs ``PackBits``."""

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "packbits"

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "packbits"}

    def validate(self, spec: ChunkSpec) -> None:
        if spec.vlen is not None or spec.dtype.kind != "b":
            raise CodecError(f"packbits codec: expected a bool chunk dtype, got {spec.dtype}")

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return ChunkSpec(((spec.size + 7) // 8 + 1,), np.dtype("u1"), 0)

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        flat = np.ascontiguousarray(chunk).reshape(-1).view(bool)
        enc = np.empty((flat.size + 7) // 8 + 1, dtype="u1")
        enc[0] = (8 - flat.size % 8) % 8
        enc[1:] = np.packbits(flat)
        return enc

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        enc = np.ascontiguousarray(chunk).reshape(-1).view("u1")
        if enc.size != (spec.size + 7) // 8 + 1:
            raise DecodeError(
                f"packbits codec: expected {(spec.size + 7) // 8 + 1} bytes for {spec.size} "
                f"booleans, got {enc.size}"
            )
        padded = int(enc[0])
        if padded != (8 - spec.size % 8) % 8:
            raise DecodeError(
                f"packbits codec: expected {(8 - spec.size % 8) % 8} padding bits for "
                f"{spec.size} booleans, the header says {padded}"
            )
        bits = np.unpackbits(enc[1:])[: spec.size]
        return bits.view(bool).reshape(spec.shape)
