"""The ``transpose`` array->array codec (also how Zarr v2 ``order: "F"`` is modelled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayArrayCodec, ChunkSpec
from zarrfast.errors import CodecError

__all__ = ["TransposeCodec"]


class TransposeCodec(ArrayArrayCodec):
    """Permute the chunk's axes: encoded axis ``i`` is decoded axis ``order[i]``.

    Parameters
    ----------
    order
        A permutation of ``range(ndim)``.  The strings ``"C"``/``"F"`` are not valid in
        Zarr v3 metadata and are refused.
    """

    name: ClassVar[str] = "transpose"

    def __init__(self, order: Sequence[int]) -> None:
        raw: object = order  # validated at runtime: order comes from untrusted metadata
        if isinstance(raw, str) or not isinstance(raw, Sequence):
            raise CodecError(
                f"transpose codec: expected order as a list of axis indices, got {order!r}"
            )
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in order):
            raise CodecError(f"transpose codec: expected integer axes in order, got {order!r}")
        if sorted(order) != list(range(len(order))):
            raise CodecError(
                f"transpose codec: expected a permutation of 0..{len(order) - 1}, got {list(order)}"
            )
        self.order = tuple(order)

    @property
    def inverse(self) -> tuple[int, ...]:
        return tuple(int(i) for i in np.argsort(self.order))

    def to_config(self) -> dict[str, Any]:
        return {"name": "transpose", "configuration": {"order": list(self.order)}}

    def validate(self, spec: ChunkSpec) -> None:
        if len(self.order) != len(spec.shape):
            raise CodecError(
                f"transpose codec: order {list(self.order)} has {len(self.order)} axes, "
                f"expected {len(spec.shape)} for chunks of shape {spec.shape}"
            )

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        return spec.with_shape(tuple(spec.shape[i] for i in self.order))

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        return np.transpose(chunk, self.order)

    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        return np.transpose(chunk, self.inverse)
