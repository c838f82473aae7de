"""bzip2 (Zarr v2 numcodecs ``bz2`` only), via the standard library's C module (which
releases the GIL while it works)."""

from __future__ import annotations

import bz2 as _bz2
from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast.abc.codec import Buffer, BytesBytesCodec
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
        srclen = len(view)
        if srclen == 0:
            raise DecodeError("bz2: expected a bzip2 stream, got 0 bytes")
        # Like numcodecs (bz2.decompress) concatenated streams are accepted; the output is
        # bounded by expected_size + 1 so an oversized stream is caught without inflating it.
        limit = -1 if expected_size is None else expected_size + 1
        parts: list[bytes] = []
        total = 0
        rest: Buffer = view
        try:
            while True:
                dec = _bz2.BZ2Decompressor()
                parts.append(dec.decompress(rest, max_length=limit - total if limit >= 0 else -1))
                total += len(parts[-1])
                if limit >= 0 and total >= limit:
                    raise DecodeError(
                        f"bz2: expected {expected_size} decoded bytes, but the {srclen}-byte "
                        "input decodes to more"
                    )
                if not dec.eof:
                    raise DecodeError(f"bz2: truncated stream ({srclen} bytes of input)")
                rest = dec.unused_data
                if not rest:
                    break
        except (OSError, EOFError, ValueError) as exc:
            if isinstance(exc, DecodeError):
                raise
            raise DecodeError(f"bz2: cannot decode {srclen} bytes of input: {exc}") from exc
        out = b"".join(parts)
        if expected_size is not None and len(out) != expected_size:
            raise DecodeError(
                f"bz2: expected {expected_size} decoded bytes, got {len(out)} from {srclen} "
                "bytes of input"
            )
        return out
