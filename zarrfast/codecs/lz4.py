"""LZ4 (Zarr v2 numcodecs ``lz4`` only): a 4-byte little-endian decoded size followed by
one LZ4 block, native via liblz4."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast._native import _codecs as _native
from zarrfast.abc.codec import Buffer, BytesBytesCodec, NativeCodecSpec
from zarrfast.codecs.zstd import _check_int
from zarrfast.errors import CodecError

__all__ = ["LZ4Codec"]


class LZ4Codec(BytesBytesCodec):
    """LZ4 block compression in numcodecs' framing.

    Parameters
    ----------
    acceleration
        LZ4 acceleration factor (1 = best ratio; larger is faster; < 1 behaves as 1).
    """

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "lz4"

    def __init__(self, acceleration: int = 1) -> None:
        self.acceleration = _check_int("lz4", "acceleration", acceleration, -(2**31), 2**31 - 1)

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> LZ4Codec:
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'lz4': {exc}") from exc

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "lz4", "acceleration": self.acceleration}

    def native_spec(self) -> NativeCodecSpec:
        return NativeCodecSpec("lz4", (self.acceleration,))

    def encode(self, data: Buffer) -> bytes:
        return _native.encode("lz4", (self.acceleration,), data)

    def decode(self, data: Buffer, expected_size: int | None = None) -> bytes:
        return _native.decode("lz4", (), data, expected_size)
