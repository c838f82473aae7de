"""numcodecs ``fletcher32`` (Zarr v2 id; ``numcodecs.fletcher32`` in v3): HDF5's Fletcher-32
checksum of the payload, appended as 4 little-endian bytes; decoding verifies and strips it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import Buffer, BytesBytesCodec
from zarrfast.errors import ChecksumError, DecodeError, EncodeError

__all__ = ["Fletcher32Codec", "fletcher32"]

#: HDF5 folds the sums every 360 16-bit words: the most that cannot overflow 32 bits.
_BLOCK = 360


def fletcher32(data: Buffer) -> int:
    """HDF5's Fletcher-32 of ``data`` (big-endian 16-bit words, an odd last byte as the
    high byte of a last word), as numcodecs and HDF5 compute it."""
    raw = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    words = raw[: raw.size - raw.size % 2].view(">u2").astype(np.uint64)
    sum1 = sum2 = 0
    n = words.size
    full = n - n % _BLOCK
    if full:
        blocks = words[:full].reshape(-1, _BLOCK)
        # per block: sum of the words, and sum of the running sums of the words
        bsum = blocks.sum(axis=1)
        weights = np.arange(_BLOCK, 0, -1, dtype=np.uint64)
        bweighted = blocks @ weights
        for s, w in zip(bsum.tolist(), bweighted.tolist()):
            sum2 += _BLOCK * sum1 + w
            sum1 += s
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    tail = words[full:]
    if tail.size:
        t = tail.size
        w = int(tail @ np.arange(t, 0, -1, dtype=np.uint64))
        sum2 += t * sum1 + w
        sum1 += int(tail.sum())
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    if raw.size % 2:
        sum1 += int(raw[-1]) << 8
        sum2 += sum1
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
    sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    return ((sum2 << 16) | sum1) & 0xFFFFFFFF


class Fletcher32Codec(BytesBytesCodec):
    """Append / verify HDF5's Fletcher-32 checksum, byte-identical to numcodecs."""

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "fletcher32"

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "fletcher32"}

    def encoded_size(self, input_nbytes: int) -> int:
        return input_nbytes + 4

    def encode(self, data: Buffer) -> bytes:
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise EncodeError("fletcher32: expected a contiguous bytes-like object") from exc
        return bytes(view) + fletcher32(view).to_bytes(4, "little")

    def decode(self, data: Buffer, expected_size: int | None = None) -> Buffer:
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise DecodeError("fletcher32: expected a contiguous bytes-like object") from exc
        if len(view) < 4:
            raise DecodeError(f"fletcher32: expected at least 4 bytes, got {len(view)}")
        if expected_size is not None and len(view) - 4 != expected_size:
            raise DecodeError(
                f"fletcher32: expected {expected_size} bytes plus a 4-byte checksum, "
                f"got {len(view)}"
            )
        payload = view[:-4]
        stored = int.from_bytes(view[-4:], "little")
        computed = fletcher32(payload)
        if stored != computed:
            raise ChecksumError(
                f"fletcher32: stored checksum 0x{stored:08x} does not match computed "
                f"0x{computed:08x} over {len(payload)} bytes"
            )
        return payload
