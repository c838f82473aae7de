"""numcodecs ``fletcher32`` (Zarr v2 id; ``numcodecs.fletcher32`` in v3): HDF5's Fletcher-32
checksum of the payload, appended as 4 little-endian bytes; decoding verifies and strips it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import Buffer
from zarrfast.codecs.checksum32 import Checksum32Codec

__all__ = ["Fletcher32Codec", "fletcher32"]

#: HDF5 folds the sums every 360 16-bit words: the most that cannot overflow 32 bits.
_BLOCK = 360


def _fold(x: int) -> int:
    return (x & 0xFFFF) + (x >> 16)


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
        # per block: the sum of its words, and the sum of the running sums within it
        bsum = blocks.sum(axis=1)
        bweighted = blocks @ np.arange(_BLOCK, 0, -1, dtype=np.uint64)
        for s, w in zip(bsum.tolist(), bweighted.tolist()):
            sum2 = _fold(sum2 + _BLOCK * sum1 + w)
            sum1 = _fold(sum1 + s)
    tail = words[full:]
    if tail.size:
        t = tail.size
        sum2 = _fold(sum2 + t * sum1 + int(tail @ np.arange(t, 0, -1, dtype=np.uint64)))
        sum1 = _fold(sum1 + int(tail.sum()))
    if raw.size % 2:
        sum1 = sum1 + (int(raw[-1]) << 8)
        sum2 = _fold(sum2 + sum1)
        sum1 = _fold(sum1)
    return ((_fold(sum2) << 16) | _fold(sum1)) & 0xFFFFFFFF


class Fletcher32Codec(Checksum32Codec):
    """Append / verify HDF5's Fletcher-32 checksum, byte-identical to numcodecs."""

    v2_id: ClassVar[str] = "fletcher32"
    default_location: ClassVar[str] = "end"

    def __init__(self) -> None:
        super().__init__(None)

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "fletcher32"}

    def checksum(self, data: memoryview) -> int:
        return fletcher32(data)
