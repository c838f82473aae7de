"""The numcodecs ``fixedscaleoffset`` filter (Zarr v2 id ``"fixedscaleoffset"``).

Encode: ``round((x - offset) * scale)`` stored as ``astype``; decode: ``x / scale +
offset`` cast to ``dtype``.  The arithmetic is the same numpy expression numcodecs
evaluates (``np.around`` then ``astype``), so encoded bytes match bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, ChunkSpec
from zarrfast.codecs.astype import (
    _check_decoded_size,
    _check_itemsize,
    _parse_dtype,
    _to_spec_dtype,
    _view_as,
)
from zarrfast.errors import CodecError, DecodeError, EncodeError

__all__ = ["FixedScaleOffsetCodec"]


def _parse_number(value: Any, key: str) -> int | float:
    """A finite JSON number, kept as int or float so the config round-trips unchanged."""
    if isinstance(value, np.generic) and isinstance(value.item(), (int, float)):
        value = value.item()  # numpy scalars are not JSON serialisable
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CodecError(f"fixedscaleoffset codec: expected a number for {key!r}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CodecError(f"fixedscaleoffset codec: expected a finite {key!r}, got {value!r}")
    return value


class FixedScaleOffsetCodec(ArrayArrayCodec):
    """Lossy fixed-point packing: ``round((x - offset) * scale)``.

    Parameters
    ----------
    offset
        Value subtracted before scaling (int or float, kept as given for the config).
    scale
        Multiplier applied after subtracting ``offset``; must be finite and non-zero.
    dtype
        dtype of the decoded data (chunks are viewed as it, as numcodecs does).
    astype
        dtype of the encoded data (default: ``dtype``).

    Notes
    -----
    Out-of-range values wrap or saturate per numpy's unsafe cast, unchecked, exactly as in
    numcodecs.  Output keeps the chunk's shape (numcodecs returns it flat).
    """

    v2_id: ClassVar[str] = "fixedscaleoffset"

    def __init__(
        self, offset: int | float, scale: int | float, dtype: Any, astype: Any = None
    ) -> None:
        self.offset = _parse_number(offset, "offset")
        self.scale = _parse_number(scale, "scale")
        if self.scale == 0:
            raise CodecError("fixedscaleoffset codec: expected a non-zero 'scale', got 0")
        self.dtype = _parse_dtype(dtype, "fixedscaleoffset", "dtype")
        self.astype = (
            self.dtype if astype is None else _parse_dtype(astype, "fixedscaleoffset", "astype")
        )

    # ------------------------------------------------------------------ configuration
    def _config(self) -> dict[str, Any]:
        # Key order of numcodecs' get_config(), so the JSON text matches too.
        return {
            "scale": self.scale,
            "offset": self.offset,
            "dtype": self.dtype.str,
            "astype": self.astype.str,
        }

    def to_v2_config(self) -> dict[str, Any]:
        """numcodecs ``FixedScaleOffset.get_config()``."""
        return {"id": "fixedscaleoffset", **self._config()}

    def to_config(self) -> dict[str, Any]:
        """zarr-python 3's ``numcodecs.fixedscaleoffset`` form."""
        return {"name": "numcodecs.fixedscaleoffset", "configuration": self._config()}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any]) -> FixedScaleOffsetCodec:
        return cls._from_mapping(configuration)

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> FixedScaleOffsetCodec:
        return cls._from_mapping({k: v for k, v in config.items() if k != "id"})

    @classmethod
    def _from_mapping(cls, conf: Mapping[str, Any]) -> FixedScaleOffsetCodec:
        try:
            return cls(**dict(conf))
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'fixedscaleoffset': {exc}") from exc

    # ------------------------------------------------------------------ spec handling
    def validate(self, spec: ChunkSpec) -> None:
        _check_itemsize(spec, self.dtype, "fixedscaleoffset", "dtype")

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return spec.with_dtype(self.astype)

    # ------------------------------------------------------------------ coding
    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        arr = _view_as(chunk, self.dtype, "fixedscaleoffset", EncodeError)
        try:
            # asarray: arithmetic on a 0-d array yields a numpy scalar
            enc = np.asarray(np.around((arr - self.offset) * self.scale))
        except (TypeError, OverflowError) as exc:  # e.g. an offset outside an int dtype
            raise EncodeError(
                f"fixedscaleoffset codec: cannot apply offset={self.offset!r}, "
                f"scale={self.scale!r} to a chunk of dtype {arr.dtype}: {exc}"
            ) from exc
        return enc.astype(self.astype, copy=False)

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        _check_decoded_size(chunk, spec, "fixedscaleoffset")
        enc = _view_as(chunk, self.astype, "fixedscaleoffset", DecodeError)
        dec = np.asarray((enc / self.scale) + self.offset)
        return _to_spec_dtype(dec.astype(self.dtype, copy=False).reshape(spec.shape), spec)
