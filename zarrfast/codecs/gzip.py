"""gzip (v3 ``gzip``, v2 numcodecs ``gzip``), native via zlib.

Decoding accepts what numcodecs ``GZip`` and zarr-python's ``gzip`` codec write, including
multi-member files and zero padding after the last member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast._native import _codecs as _native
from zarrfast.abc.codec import Buffer, BytesBytesCodec, NativeCodecSpec
from zarrfast.codecs.zstd import _check_int
from zarrfast.errors import CodecError

__all__ = ["GzipCodec"]


class GzipCodec(BytesBytesCodec):
    """gzip (RFC 1952) compression.

    Parameters
    ----------
    level
        Compression level 0 (store) to 9 (best).
    """

    name: ClassVar[str] = "gzip"
    v2_id: ClassVar[str] = "gzip"

    def __init__(self, level: int = 5) -> None:
        self.level = _check_int("gzip", "level", level, 0, 9)

    def to_config(self) -> dict[str, Any]:
        return {"name": "gzip", "configuration": {"level": self.level}}

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> GzipCodec:
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'gzip': {exc}") from exc

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "gzip", "level": self.level}

    def native_spec(self) -> NativeCodecSpec:
        return NativeCodecSpec("gzip", (self.level,))

    def encode(self, data: Buffer) -> bytes:
        return _native.encode("gzip", (self.level,), data)

    def decode(self, data: Buffer, expected_size: int | None = None) -> bytes:
        return _native.decode("gzip", (), data, expected_size)
