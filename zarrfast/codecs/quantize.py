"""numcodecs ``quantize`` (``numcodecs.quantize`` in Zarr v3): floats rounded to a number of
decimal digits on a power-of-two grid (lossy), optionally stored as another float type."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, ChunkSpec
from zarrfast.codecs.astype import _check_decoded_size, _check_itemsize, _parse_dtype, _view_as
from zarrfast.errors import CodecError, DecodeError, EncodeError

__all__ = ["QuantizeCodec"]


class QuantizeCodec(ArrayArrayCodec):
    """Keep ``digits`` decimal digits, byte-identical to numcodecs ``Quantize``.

    Parameters
    ----------
    digits
        Decimal digits to keep after the point.
    dtype
        Float dtype of the data.
    astype
        Float dtype of the stored data (default ``dtype``).
    """

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "quantize"

    def __init__(self, digits: int, dtype: Any, astype: Any = None) -> None:
        if isinstance(digits, bool) or not isinstance(digits, int) or not -300 < digits < 300:
            raise CodecError(f"quantize codec: expected an integer digits, got {digits!r}")
        self.digits = digits
        self.dtype = _parse_dtype(dtype, "quantize", "dtype")
        self.astype = self.dtype if astype is None else _parse_dtype(astype, "quantize", "astype")
        if self.dtype.kind != "f" or self.astype.kind != "f":
            raise CodecError(
                f"quantize codec: expected float dtypes, got dtype {self.dtype.str!r} and "
                f"astype {self.astype.str!r}"
            )

    def _config(self) -> dict[str, Any]:
        return {"digits": self.digits, "dtype": self.dtype.str, "astype": self.astype.str}

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "quantize", **self._config()}

    def validate(self, spec: ChunkSpec) -> None:
        _check_itemsize(spec, self.dtype, "quantize", "dtype")

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return spec.with_dtype(self.astype)

    def _scale(self) -> float:
        # numcodecs' arithmetic, step by step, so the grid is the same to the last bit
        exp = math.log10(10.0**-self.digits)
        exp = math.floor(exp) if exp < 0 else math.ceil(exp)
        bits = math.ceil(math.log2(10.0**-exp))
        return float(2.0**bits)

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        arr = _view_as(chunk, self.dtype, "quantize", EncodeError)
        scale = self._scale()
        enc = np.around(scale * arr) / scale
        return np.asarray(enc.astype(self.astype, copy=False)).reshape(np.shape(chunk))

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        _check_decoded_size(chunk, spec, "quantize")
        dec = _view_as(chunk, self.astype, "quantize", DecodeError).astype(self.dtype)
        out = dec.reshape(spec.shape)
        return out.view(spec.dtype) if out.dtype != spec.dtype else out
