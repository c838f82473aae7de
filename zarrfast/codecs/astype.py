"""The numcodecs ``astype`` filter (Zarr v2 id ``"astype"``), plus the dtype helpers the
other numcodecs filters (``delta``, ``fixedscaleoffset``) share.

numcodecs filters *view* their input buffer as their configured decoded dtype rather
than converting it.  We keep that: a chunk whose dtype has the same itemsize as the
filter's decoded dtype is reinterpreted (so data written by numcodecs reads back
bit-exactly), a chunk with another itemsize is refused by ``validate`` because viewing it
would change the number of elements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, ChunkSpec
from zarrfast.errors import CodecError, DecodeError, EncodeError

__all__ = ["AsTypeCodec"]


def _parse_dtype(value: Any, codec: str, key: str) -> np.dtype[Any]:
    """``np.dtype(value)`` for a numcodecs filter parameter; object/vlen dtypes refused."""
    try:
        dtype: np.dtype[Any] = np.dtype(value)
    except (TypeError, ValueError) as exc:
        raise CodecError(
            f"{codec} codec: expected a numpy dtype for {key!r}, got {value!r}"
        ) from exc
    if dtype.hasobject or dtype.kind == "T":
        raise CodecError(
            f"{codec} codec: expected a fixed-size dtype for {key!r}, got {dtype} "
            "(object and variable-length dtypes are not supported)"
        )
    return dtype


def _check_itemsize(spec: ChunkSpec, dtype: np.dtype[Any], codec: str, key: str) -> None:
    """Refuse chunks that cannot be viewed as ``dtype`` element for element."""
    if spec.vlen is not None or spec.dtype.hasobject or spec.dtype.kind == "T":
        raise CodecError(
            f"{codec} codec: expected a fixed-size chunk dtype, got {spec.dtype} "
            f"(vlen={spec.vlen!r})"
        )
    if spec.dtype.itemsize != dtype.itemsize:
        raise CodecError(
            f"{codec} codec: chunk dtype {spec.dtype} has itemsize {spec.dtype.itemsize}, "
            f"expected itemsize {dtype.itemsize} to match {key}={dtype.str!r}"
        )


def _view_as(
    chunk: np.ndarray, dtype: np.dtype[Any], codec: str, error: type[Exception]
) -> np.ndarray:
    """C-contiguous ``chunk`` reinterpreted as ``dtype`` (numcodecs' ``.view(dtype)``)."""
    arr = np.asarray(chunk, order="C")  # not ascontiguousarray: that makes 0-d 1-d
    if arr.dtype == dtype:
        return arr
    if arr.dtype.hasobject or arr.dtype.itemsize != dtype.itemsize:
        raise error(
            f"{codec} codec: expected a chunk of dtype {dtype.str!r} (or another dtype of "
            f"itemsize {dtype.itemsize}), got {arr.dtype}"
        )
    return arr.view(dtype)


def _check_decoded_size(chunk: np.ndarray, spec: ChunkSpec, codec: str) -> None:
    if chunk.size != spec.size:
        raise DecodeError(
            f"{codec} codec: expected {spec.size} elements for a chunk of shape {spec.shape}, "
            f"got {chunk.size}"
        )


def _to_spec_dtype(decoded: np.ndarray, spec: ChunkSpec) -> np.ndarray:
    """Undo the encode-side view: hand back the chunk in the array's own dtype."""
    if decoded.dtype != spec.dtype and decoded.dtype.itemsize == spec.dtype.itemsize:
        return decoded.view(spec.dtype)
    return decoded


class AsTypeCodec(ArrayArrayCodec):
    """Convert between dtypes (numcodecs ``AsType``): stored as ``encode_dtype``.

    Parameters
    ----------
    encode_dtype
        dtype of the stored (encoded) data.
    decode_dtype
        dtype of the decoded data; chunks are viewed as this dtype, as numcodecs does.

    Notes
    -----
    Conversion uses ``ndarray.astype`` (unsafe casting), exactly like numcodecs: a
    narrower ``encode_dtype`` silently loses data.
    """

    v2_id: ClassVar[str] = "astype"

    def __init__(self, encode_dtype: Any, decode_dtype: Any) -> None:
        self.encode_dtype = _parse_dtype(encode_dtype, "astype", "encode_dtype")
        self.decode_dtype = _parse_dtype(decode_dtype, "astype", "decode_dtype")

    # ------------------------------------------------------------------ configuration
    def _config(self) -> dict[str, Any]:
        return {"encode_dtype": self.encode_dtype.str, "decode_dtype": self.decode_dtype.str}

    def to_v2_config(self) -> dict[str, Any]:
        """numcodecs ``AsType.get_config()``."""
        return {"id": "astype", **self._config()}

    def to_config(self) -> dict[str, Any]:
        """zarr-python 3's ``numcodecs.astype`` form."""
        return {"name": "numcodecs.astype", "configuration": self._config()}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any]) -> AsTypeCodec:
        return cls._from_mapping(configuration)

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> AsTypeCodec:
        return cls._from_mapping({k: v for k, v in config.items() if k != "id"})

    @classmethod
    def _from_mapping(cls, conf: Mapping[str, Any]) -> AsTypeCodec:
        try:
            return cls(**dict(conf))
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'astype': {exc}") from exc

    # ------------------------------------------------------------------ spec handling
    def validate(self, spec: ChunkSpec) -> None:
        _check_itemsize(spec, self.decode_dtype, "astype", "decode_dtype")

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return spec.with_dtype(self.encode_dtype)

    # ------------------------------------------------------------------ coding
    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        arr = _view_as(chunk, self.decode_dtype, "astype", EncodeError)
        return arr.astype(self.encode_dtype)

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        _check_decoded_size(chunk, spec, "astype")
        enc = _view_as(chunk, self.encode_dtype, "astype", DecodeError)
        return _to_spec_dtype(enc.astype(self.decode_dtype).reshape(spec.shape), spec)
