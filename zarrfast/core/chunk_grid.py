"""The regular chunk grid."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from zarrfast.errors import MetadataError

__all__ = ["RegularChunkGrid", "validate_shape"]

#: numpy's own limit on dimensions.
MAX_NDIM = 64


def validate_shape(obj: Any, what: str, *, positive: bool = False) -> tuple[int, ...]:
    """Check a JSON/user shape: a list of non-negative (or positive) Python ints."""
    if isinstance(obj, (str, bytes)) or not hasattr(obj, "__iter__"):
        raise MetadataError(f"expected {what} to be a list of integers, got {obj!r}")
    out = []
    for v in obj:
        if isinstance(v, bool) or not isinstance(v, int):
            try:
                import numpy as np

                if isinstance(v, np.integer):
                    v = int(v)
                else:
                    raise TypeError
            except TypeError:
                raise MetadataError(
                    f"expected {what} to contain integers, got {v!r} in {list(obj)!r}"
                ) from None
        if v < 0 or (positive and v == 0):
            bound = "positive" if positive else "non-negative"
            raise MetadataError(f"expected {bound} integers in {what}, got {v} in {list(obj)!r}")
        if v > 2**62:
            raise MetadataError(f"{what} entry {v} exceeds the supported maximum 2**62")
        out.append(v)
    if len(out) > MAX_NDIM:
        raise MetadataError(f"{what} has {len(out)} dimensions; at most {MAX_NDIM} are supported")
    return tuple(out)


@dataclass(frozen=True)
class RegularChunkGrid:
    """Chunks of ``chunk_shape`` tiling an array of ``shape`` (edge chunks overhang)."""

    shape: tuple[int, ...]
    chunk_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.shape) != len(self.chunk_shape):
            raise MetadataError(
                f"chunk shape {list(self.chunk_shape)} has {len(self.chunk_shape)} dimensions, "
                f"expected {len(self.shape)} to match shape {list(self.shape)}"
            )
        if any(c <= 0 for c in self.chunk_shape):
            raise MetadataError(f"expected positive chunk sizes, got {list(self.chunk_shape)}")

    @property
    def grid_shape(self) -> tuple[int, ...]:
        return tuple(math.ceil(s / c) for s, c in zip(self.shape, self.chunk_shape))

    @property
    def nchunks(self) -> int:
        return math.prod(self.grid_shape)

    def all_chunk_coords(self) -> Iterator[tuple[int, ...]]:
        return itertools.product(*(range(g) for g in self.grid_shape))

    def chunk_region(self, coords: tuple[int, ...]) -> tuple[slice, ...]:
        """The array region a chunk covers, clipped to the array's shape."""
        return tuple(
            slice(i * c, min((i + 1) * c, s))
            for i, c, s in zip(coords, self.chunk_shape, self.shape)
        )

    def is_edge_chunk(self, coords: tuple[int, ...]) -> bool:
        return any((i + 1) * c > s for i, c, s in zip(coords, self.chunk_shape, self.shape))

    def to_json(self) -> dict[str, Any]:
        return {"name": "regular", "configuration": {"chunk_shape": list(self.chunk_shape)}}
