"""bzip2 (Zarr v2 numcodecs ``bz2`` only), via the standard library's C module (which
releases the GIL while it works)."""

from __future__ import annotations

import bz2 as _bz2
from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast.abc.codec import Buffer, BytesBytesCodec
from zarrfast.codecs._streams import decode_streams
from zarrfast.codecs.zstd import _check_int
from zarrfast.errors import CodecError, DecodeError, EncodeError

__all__ = ["BZ2Codec"]


class BZ2Codec(BytesBytesCodec):
    """bzip2 compression, byte-identical to numcodecs ``BZ2``.

    Parameters
    ----------
    level
        Compression level 1 to 9.
    """

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "bz2"

    def __init__(self, level: int = 1) -> None:
        self.level = _check_int("bz2", "level", level, 1, 9)

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> BZ2Codec:
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'bz2': {exc}") from exc

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "bz2", "level": self.level}

    def encode(self, data: Buffer) -> bytes:
        try:
            return _bz2.compress(memoryview(data).cast("B"), self.level)
        except (TypeError, ValueError) as exc:
            raise EncodeError(f"bz2: cannot encode {type(data).__name__}: {exc}") from exc

    def decode(self, data: Buffer, expected_size: int | None = None) -> bytes:
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"bz2: expected a contiguous bytes-like object: {exc}") from exc
        if len(view) == 0:
            raise DecodeError("bz2: expected a bzip2 stream, got 0 bytes")
        return decode_streams(
            "bz2", view, expected_size, _bz2.BZ2Decompressor, (OSError, EOFError, ValueError)
        )
