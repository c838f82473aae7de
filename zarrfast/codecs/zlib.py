"""zlib (Zarr v2 numcodecs ``zlib`` only), native via zlib."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast._native import _codecs as _native
from zarrfast.abc.codec import Buffer, BytesBytesCodec, NativeCodecSpec
from zarrfast.codecs.zstd import _check_int
from zarrfast.errors import CodecError

__all__ = ["ZlibCodec"]


class ZlibCodec(BytesBytesCodec):
    """zlib (RFC 1950) compression, byte-identical to numcodecs ``Zlib``/``zlib.compress``.

    Parameters
    ----------
    level
        Compression level -1 (zlib default) or 0 (store) to 9 (best).
    """

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "zlib"

    def __init__(self, level: int = 1) -> None:
        self.level = _check_int("zlib", "level", level, -1, 9)

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> ZlibCodec:
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'zlib': {exc}") from exc

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "zlib", "level": self.level}

    def native_spec(self) -> NativeCodecSpec:
        return NativeCodecSpec("zlib", (self.level,))

    def encode(self, data: Buffer) -> bytes:
        return _native.encode("zlib", (self.level,), data)

    def decode(self, data: Buffer, expected_size: int | None = None) -> bytes:
        return _native.decode("zlib", (), data, expected_size)
