"""CRC32C checksum (Zarr v3 ``crc32c``): appends the little-endian CRC32C (Castagnoli) of
the preceding bytes; decoding verifies and strips it.  Native (SSE4.2 when available)."""

from __future__ import annotations

from typing import Any, ClassVar

from zarrfast._native import _codecs as _native
from zarrfast.abc.codec import Buffer, BytesBytesCodec, NativeCodecSpec
from zarrfast.errors import ChecksumError, DecodeError

__all__ = ["Crc32cCodec"]


class Crc32cCodec(BytesBytesCodec):
    """Append / verify a 4-byte CRC32C checksum.  Fixed size: ``encoded_size(n) == n + 4``."""

    name: ClassVar[str] = "crc32c"
    v2_id: ClassVar[str | None] = None

    def to_config(self) -> dict[str, Any]:
        """Exactly what zarr-python writes (no ``configuration`` key)."""
        return {"name": "crc32c"}

    def encoded_size(self, input_nbytes: int) -> int:
        return input_nbytes + 4

    def native_spec(self) -> NativeCodecSpec:
        return NativeCodecSpec("crc32c", ())

    def encode(self, data: Buffer) -> bytes:
        return _native.encode("crc32c", (), data)

    def decode(self, data: Buffer, expected_size: int | None = None) -> Buffer:
        """Verify the trailing checksum; returns a zero-copy view of the payload."""
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"crc32c: expected a contiguous bytes-like object: {exc}") from exc
        n = len(view) - 4
        if n < 0:
            raise DecodeError(f"crc32c: expected at least 4 bytes (the checksum), got {len(view)}")
        if expected_size is not None and n != expected_size:
            raise DecodeError(
                f"crc32c: expected {expected_size} bytes plus a 4-byte checksum, got {len(view)}"
            )
        payload = view[:n]
        stored = int.from_bytes(view[n:], "little")
        computed = _native.crc32c(payload)
        if stored != computed:
            raise ChecksumError(
                f"crc32c: stored checksum 0x{stored:08x} does not match computed 0x{computed:08x}"
                f" over {n} bytes"
            )
        return payload
