"""What v2 and v3 array metadata have in common, and strict JSON handling."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from zarrfast.abc.codec import ChunkSpec, Codec
from zarrfast.codecs.chain import CodecChain
from zarrfast.core.chunk_grid import RegularChunkGrid
from zarrfast.core.chunk_key import ChunkKeyEncoding
from zarrfast.core.metadata.dtypes import DataType
from zarrfast.errors import CodecError, MetadataError

__all__ = ["ArrayMetadata", "dump_json", "load_json"]

#: Largest decoded chunk zarrfast will allocate (hostile metadata guard): 8 GiB.
MAX_CHUNK_BYTES = 8 * 1024**3


def load_json(data: Any, key: str) -> dict[str, Any]:
    """Parse a metadata document; anything but a JSON object raises MetadataError."""
    try:
        raw = bytes(memoryview(data))
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MetadataError(f"invalid JSON in metadata document {key!r}: {exc}") from None
    if not isinstance(obj, dict):
        raise MetadataError(
            f"expected a JSON object in metadata document {key!r}, got {type(obj).__name__}"
        )
    return obj


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (bytes, bytearray)):
        raise TypeError("bytes are not JSON serialisable; encode them first (e.g. base64)")
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def dump_json(obj: Any) -> bytes:
    """Serialise metadata as zarr-python does (indent 2), refusing bare NaN/Infinity."""
    try:
        return json.dumps(obj, indent=2, allow_nan=False, default=_json_default).encode("utf-8")
    except ValueError as exc:
        raise MetadataError(
            f"metadata contains a non-finite float that JSON cannot hold: {exc}; use the "
            "strings 'NaN', 'Infinity', '-Infinity'"
        ) from None


@dataclass(frozen=True)
class ArrayMetadata:
    """Format-independent view of an array's metadata (see v2.py / v3.py)."""

    shape: tuple[int, ...]
    chunk_grid: RegularChunkGrid
    data_type: DataType
    fill_value: Any
    codecs: tuple[Codec, ...]
    chunk_key_encoding: ChunkKeyEncoding
    attributes: dict[str, Any] = field(default_factory=dict)
    dimension_names: tuple[str | None, ...] | None = None

    zarr_format = 0

    def __post_init__(self) -> None:
        spec = self.chunk_spec
        nbytes = spec.size * max(spec.dtype.itemsize, 1)
        if nbytes > MAX_CHUNK_BYTES:
            raise MetadataError(
                f"chunk shape {list(self.chunk_grid.chunk_shape)} of {spec.dtype} makes "
                f"{nbytes} bytes per chunk; at most {MAX_CHUNK_BYTES} are supported"
            )
        try:
            object.__setattr__(self, "_chain", CodecChain(self.codecs, spec))
        except CodecError as exc:
            raise MetadataError(f"invalid codecs for this array: {exc}") from exc

    # ------------------------------------------------------------------ derived
    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of decoded chunks (``object`` for variable-length types)."""
        return self.data_type.dtype

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        """Shape of the stored objects (shards for sharded arrays)."""
        return self.chunk_grid.chunk_shape

    @property
    def chunk_spec(self) -> ChunkSpec:
        """Shape, dtype and fill value of one stored chunk (or shard), for the codecs."""
        fv = self.fill_value
        if fv is None:
            fv = np.zeros((), self.data_type.dtype)[()] if self.data_type.vlen is None else None
        return ChunkSpec(self.chunk_grid.chunk_shape, self.data_type.dtype, fv, self.data_type.vlen)

    @property
    def codec_chain(self) -> CodecChain:
        """The codecs as a validated chain, evolved for :attr:`chunk_spec`."""
        return self._chain  # type: ignore[attr-defined, no-any-return]

    @property
    def sharding(self) -> Any:
        """The ShardingCodec if the codecs are exactly ``[sharding_indexed]``, else ``None``.

        Only then do inner chunks tile the array's own index space (no transpose before)
        and can be read from a shard by byte ranges (no compressor after); zarr-python's
        ``chunks``/``shards`` follow the same rule.
        """
        from zarrfast.codecs.sharding import ShardingCodec

        chain = self.codec_chain
        ab = chain.ab
        if chain.aa or chain.bb:
            return None
        return ab if isinstance(ab, ShardingCodec) else None

    @property
    def inner_chunk_shape(self) -> tuple[int, ...]:
        """The read/write chunk shape: inner chunks when sharded, else :attr:`chunk_shape`."""
        sh = self.sharding
        return tuple(sh.chunk_shape) if sh is not None else self.chunk_shape

    @property
    def nchunks(self) -> int:
        """Number of stored objects in the chunk grid."""
        return self.chunk_grid.nchunks

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The store key of the chunk at grid position ``coords`` (relative to the array)."""
        return self.chunk_key_encoding.encode(coords)

    def evolve(self, **changes: Any) -> ArrayMetadata:
        """A copy with ``changes`` applied (a new ``shape`` also resizes the chunk grid)."""
        if "shape" in changes:
            changes["chunk_grid"] = RegularChunkGrid(
                tuple(changes["shape"]), self.chunk_grid.chunk_shape
            )
        return replace(self, **changes)

    def to_documents(self) -> dict[str, bytes]:
        """Metadata documents by key suffix (``zarr.json``, or ``.zarray`` + ``.zattrs``)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The metadata as JSON-serialisable dict, in the array's Zarr format."""
        raise NotImplementedError
