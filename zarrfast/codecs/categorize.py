"""numcodecs ``categorize`` (``numcodecs.categorize`` in Zarr v3): fixed-length strings stored
as small integers, 1 + the index of each string in ``labels`` and 0 for anything else.

Lossy for strings that are not labels (they decode to ``""``), exactly as numcodecs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, ChunkSpec
from zarrfast.codecs.astype import _check_decoded_size, _view_as
from zarrfast.errors import CodecError, DecodeError, EncodeError

__all__ = ["CategorizeCodec"]


class CategorizeCodec(ArrayArrayCodec):
    """Map strings to label numbers, byte-identical to numcodecs ``Categorize``.

    Parameters
    ----------
    labels
        The strings to encode, in order; label ``i`` is stored as ``i + 1``.
    dtype
        The fixed-length unicode dtype of the data (``"<U6"``).
    astype
        The unsigned integer dtype of the stored numbers (default ``"|u1"``).
    """

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "categorize"

    def __init__(self, labels: Any, dtype: Any, astype: Any = "|u1") -> None:
        if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
            raise CodecError(f"categorize codec: expected labels as a list of str, got {labels!r}")
        try:
            self.dtype = np.dtype(dtype)
            self.astype = np.dtype(astype)
        except (TypeError, ValueError) as exc:
            raise CodecError(f"categorize codec: invalid dtype or astype: {exc}") from exc
        if self.dtype.kind != "U":
            raise CodecError(
                f"categorize codec: expected a fixed-length unicode dtype such as '<U8', got "
                f"{self.dtype.str!r} (object arrays are not supported)"
            )
        if self.astype.kind != "u" or len(labels) >= 2 ** (8 * self.astype.itemsize):
            raise CodecError(
                f"categorize codec: expected an unsigned astype wide enough for "
                f"{len(labels)} labels, got {self.astype.str!r}"
            )
        self.labels = list(labels)

    def _config(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "dtype": self.dtype.str, "astype": self.astype.str}

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": "categorize", **self._config()}

    def validate(self, spec: ChunkSpec) -> None:
        if spec.vlen is not None or spec.dtype.kind != "U":
            raise CodecError(
                f"categorize codec: expected a fixed-length unicode chunk dtype, got {spec.dtype}"
            )

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return ChunkSpec(spec.shape, self.astype, 0)

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        arr = np.asarray(chunk)
        if arr.dtype.kind != "U":
            raise EncodeError(f"categorize codec: expected unicode data, got {arr.dtype}")
        enc = np.zeros(arr.shape, dtype=self.astype)
        for i, label in enumerate(self.labels):
            enc[arr == label] = i + 1
        return enc

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        _check_decoded_size(chunk, spec, "categorize")
        enc = _view_as(chunk, self.astype, "categorize", DecodeError).reshape(spec.shape)
        dec = np.full(spec.shape, "", dtype=spec.dtype)
        for i, label in enumerate(self.labels):
            dec[enc == i + 1] = label
        return dec
