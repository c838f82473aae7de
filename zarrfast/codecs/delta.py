"""The numcodecs ``delta`` filter (Zarr v2 id ``"delta"``; zarr-python 3 ``numcodecs.delta``).

Encoding flattens the chunk in C order, keeps the first element and stores the
differences between neighbours, all as ``astype``.  Decoding is a cumulative sum written
into ``dtype``.  Both use the same numpy operations as numcodecs, so encoded bytes match
bit for bit, integer overflow wraps around exactly as it does there, and a too-narrow
``astype`` corrupts data silently exactly as it does there (numcodecs checks nothing).
"""

from __future__ import annotations

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

__all__ = ["DeltaCodec"]


class DeltaCodec(ArrayArrayCodec):
    """Store the first element, then differences between adjacent elements.

    Parameters
    ----------
    dtype
        dtype of the decoded data.  Chunks are *viewed* as this dtype (numcodecs does the
        same), so ``validate`` requires the chunk dtype to have the same itemsize.
    astype
        dtype of the encoded data (default: ``dtype``).

    Notes
    -----
    numcodecs fails on an empty chunk (``IndexError``); here an empty chunk encodes to an
    empty array.  The first element is stored as is, so it must fit ``astype`` (numpy
    raises OverflowError in numcodecs; EncodeError here); later differences wrap.
    Encoded output keeps the chunk's shape (numcodecs returns it flat); the bytes in C
    order are identical.
    """

    v2_id: ClassVar[str] = "delta"

    def __init__(self, dtype: Any, astype: Any = None) -> None:
        self.dtype = _parse_dtype(dtype, "delta", "dtype")
        self.astype = self.dtype if astype is None else _parse_dtype(astype, "delta", "astype")

    # ------------------------------------------------------------------ configuration
    def _config(self) -> dict[str, Any]:
        return {"dtype": self.dtype.str, "astype": self.astype.str}

    def to_v2_config(self) -> dict[str, Any]:
        """numcodecs ``Delta.get_config()``."""
        return {"id": "delta", **self._config()}

    def to_config(self) -> dict[str, Any]:
        """zarr-python 3's form: ``{"name": "numcodecs.delta", "configuration": {...}}``."""
        return {"name": "numcodecs.delta", "configuration": self._config()}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any]) -> DeltaCodec:
        return cls._from_mapping(configuration)

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> DeltaCodec:
        return cls._from_mapping({k: v for k, v in config.items() if k != "id"})

    @classmethod
    def _from_mapping(cls, conf: Mapping[str, Any]) -> DeltaCodec:
        try:
            return cls(**dict(conf))
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'delta': {exc}") from exc

    # ------------------------------------------------------------------ spec handling
    def validate(self, spec: ChunkSpec) -> None:
        _check_itemsize(spec, self.dtype, "delta", "dtype")

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return spec.with_dtype(self.astype)

    # ------------------------------------------------------------------ coding
    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        flat = _view_as(chunk, self.dtype, "delta", EncodeError).reshape(-1)
        enc = np.empty(flat.shape, dtype=self.astype)
        if flat.size:
            # Same two assignments as numcodecs: the diff is computed in ``dtype`` (so
            # integers wrap there) and then cast to ``astype`` with unsafe casting.
            try:
                enc[0] = flat[0]
            except OverflowError as exc:  # numcodecs raises the same OverflowError here
                raise EncodeError(
                    f"delta codec: expected a first element that fits astype "
                    f"{self.astype.str!r}, got {flat[0]!r}"
                ) from exc
            enc[1:] = np.diff(flat)
        return enc.reshape(np.shape(chunk))

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        _check_decoded_size(chunk, spec, "delta")
        enc = _view_as(chunk, self.astype, "delta", DecodeError).reshape(-1)
        dec = np.empty(enc.shape, dtype=self.dtype)
        # Accumulate straight into ``dtype`` as numcodecs does (``out=`` fixes the
        # accumulator type, hence its wraparound).
        np.cumsum(enc, out=dec)
        return _to_spec_dtype(dec.reshape(spec.shape), spec)
