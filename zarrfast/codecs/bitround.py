"""numcodecs ``bitround`` (``numcodecs.bitround`` in Zarr v3): floats rounded to ``keepbits``
mantissa bits (round half to even on the bit pattern), so the compressor that follows sees
long runs of zero bits.  Lossy; decoding is the identity."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, ChunkSpec
from zarrfast.codecs.astype import _check_decoded_size
from zarrfast.errors import CodecError

__all__ = ["BitRoundCodec"]

_MANTISSA_BITS = {2: 10, 4: 23, 8: 52}


class BitRoundCodec(ArrayArrayCodec):
    """Keep ``keepbits`` mantissa bits, byte-identical to numcodecs ``BitRound``."""

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "bitround"

    def __init__(self, keepbits: int) -> None:
        if isinstance(keepbits, bool) or not isinstance(keepbits, int) or keepbits < 0:
            raise CodecError(f"bitround codec: expected keepbits >= 0, got {keepbits!r}")
        self.keepbits = keepbits

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "bitround", "keepbits": self.keepbits}

    def validate(self, spec: ChunkSpec) -> None:
        if spec.vlen is not None or spec.dtype.kind != "f" or spec.dtype.itemsize not in (2, 4, 8):
            raise CodecError(
                f"bitround codec: expected a float16/32/64 chunk dtype, got {spec.dtype}"
            )
        if self.keepbits > _MANTISSA_BITS[spec.dtype.itemsize]:
            raise CodecError(
                f"bitround codec: keepbits {self.keepbits} is more than the "
                f"{_MANTISSA_BITS[spec.dtype.itemsize]} mantissa bits of {spec.dtype}"
            )

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        a = np.asarray(chunk)
        bits = _MANTISSA_BITS[a.dtype.itemsize]
        if self.keepbits == bits:
            return a
        idt = np.dtype(a.dtype.str.replace("f", "i"))  # same width and byte order
        b = np.array(a, copy=True).view(idt)
        maskbits = bits - self.keepbits
        mask = (np.array(-1, dtype=idt) >> maskbits) << maskbits
        half_quantum1 = (1 << (maskbits - 1)) - 1
        b += ((b >> maskbits) & 1) + half_quantum1
        b &= mask
        out: np.ndarray = b.view(a.dtype)
        return out

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        _check_decoded_size(chunk, spec, "bitround")
        return np.asarray(chunk).reshape(spec.shape)
