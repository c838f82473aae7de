"""numcodecs' 32-bit checksum filters ``crc32``, ``crc32c`` and ``adler32`` (Zarr v2 ids;
zarr-python 3 writes them as ``numcodecs.<id>``).

Each adds a little-endian 4-byte checksum of the payload, at the start (``crc32``,
``adler32``) or the end (``crc32c``) unless ``location`` says otherwise, exactly as
numcodecs does; decoding verifies and strips it.  This numcodecs ``crc32c`` is not the
Zarr v3 core ``crc32c`` codec (:class:`~zarrfast.codecs.crc32c.Crc32cCodec`), although
with ``location="end"`` both produce the same bytes.
"""

from __future__ import annotations

import zlib
from typing import Any, ClassVar

from zarrfast._native import _codecs as _native
from zarrfast.abc.codec import Buffer, BytesBytesCodec
from zarrfast.errors import ChecksumError, CodecError, DecodeError, EncodeError

__all__ = ["Adler32Codec", "CRC32Codec", "Checksum32Codec", "NumcodecsCRC32CCodec"]


class Checksum32Codec(BytesBytesCodec):
    """Base of the 32-bit checksum codecs: ``location`` is ``"start"`` or ``"end"`` (None:
    the codec's default, and then left out of the config, as numcodecs leaves it out)."""

    name: ClassVar[str | None] = None
    default_location: ClassVar[str] = "start"

    def __init__(self, location: str | None = None) -> None:
        if location not in (None, "start", "end"):
            raise CodecError(
                f"{self.v2_id} codec: expected location 'start' or 'end', got {location!r}"
            )
        self.location = location

    def to_v2_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"id": self.v2_id}
        if self.location is not None:
            cfg["location"] = self.location
        return cfg

    @property
    def _at_end(self) -> bool:
        return (self.location or self.default_location) == "end"

    def checksum(self, data: memoryview) -> int:
        raise NotImplementedError

    def encoded_size(self, input_nbytes: int) -> int:
        return input_nbytes + 4

    def encode(self, data: Buffer) -> bytes:
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise EncodeError(f"{self.v2_id}: expected a contiguous bytes-like object") from exc
        tag = (self.checksum(view) & 0xFFFFFFFF).to_bytes(4, "little")
        return bytes(view) + tag if self._at_end else tag + bytes(view)

    def decode(self, data: Buffer, expected_size: int | None = None) -> Buffer:
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"{self.v2_id}: expected a contiguous bytes-like object") from exc
        if len(view) < 4:
            raise DecodeError(
                f"{self.v2_id}: expected at least 4 bytes (the checksum), got {len(view)}"
            )
        if expected_size is not None and len(view) - 4 != expected_size:
            raise DecodeError(
                f"{self.v2_id}: expected {expected_size} bytes plus a 4-byte checksum, "
                f"got {len(view)}"
            )
        payload, tag = (view[:-4], view[-4:]) if self._at_end else (view[4:], view[:4])
        stored = int.from_bytes(tag, "little")
        computed = self.checksum(payload) & 0xFFFFFFFF
        if stored != computed:
            raise ChecksumError(
                f"{self.v2_id}: stored checksum 0x{stored:08x} does not match computed "
                f"0x{computed:08x} over {len(payload)} bytes"
            )
        return payload


class CRC32Codec(Checksum32Codec):
    """numcodecs ``CRC32`` (zlib's CRC-32), checksum at the start by default."""

    v2_id: ClassVar[str] = "crc32"

    def checksum(self, data: memoryview) -> int:
        return zlib.crc32(data)


class Adler32Codec(Checksum32Codec):
    """numcodecs ``Adler32`` (zlib's Adler-32), checksum at the start by default."""

    v2_id: ClassVar[str] = "adler32"

    def checksum(self, data: memoryview) -> int:
        return zlib.adler32(data)


class NumcodecsCRC32CCodec(Checksum32Codec):
    """numcodecs ``CRC32C`` (Castagnoli, native), checksum at the end by default."""

    v2_id: ClassVar[str] = "crc32c"
    default_location: ClassVar[str] = "end"

    def checksum(self, data: memoryview) -> int:
        return int(_native.crc32c(data))
