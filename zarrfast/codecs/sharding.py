"""The ``sharding_indexed`` array->bytes codec (Zarr v3 sharding).

A shard is one stored object holding a grid of *inner chunks*, each encoded with the
inner codec chain and laid out back to back, plus an *index*: a ``uint64`` array of
shape ``(*chunks_per_shard, 2)`` holding ``(offset, nbytes)`` per inner chunk in C order
over the inner grid, encoded with the index codecs (which must have a fixed encoded
size) and placed at the start or the end of the shard.  An inner chunk that is absent
(it was entirely the fill value) has ``2**64 - 1`` for both numbers and reads as the fill
value.  Offsets are absolute positions in the shard object, so with the index at the
start they include the index's size.

Besides whole-shard :meth:`ShardingCodec.encode` / :meth:`ShardingCodec.decode`, the
codec answers partial reads without ever seeing a store: the array layer passes a
``fetch`` callable that reads byte ranges of one shard object
(:meth:`ShardingCodec.decode_partial`).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from zarrfast.abc.codec import ArrayBytesCodec, Buffer, ChunkSpec, Codec
from zarrfast.abc.store import ByteRequest, RangeByteRequest, SuffixByteRequest
from zarrfast.codecs.chain import CodecChain
from zarrfast.codecs.registry import codec_from_json, codec_to_json
from zarrfast.errors import (
    ChecksumError,
    CodecError,
    DecodeError,
    EncodeError,
    SelectionError,
)

__all__ = ["DEFAULT_COALESCE_GAP", "MAX_NESTING_DEPTH", "MAX_UINT64", "ShardingCodec"]

#: The index entry of an absent inner chunk (both offset and nbytes).
MAX_UINT64 = 2**64 - 1
#: Ranges of one shard closer than this many bytes are read with one request.
DEFAULT_COALESCE_GAP = 64 * 1024
#: Deepest nesting of ``sharding_indexed`` codecs accepted (1 = a shard of plain chunks).
#: The spec sets no bound.  Writers produce one level, nested sharding as discussed for
#: the spec (zarr-specs#327) two; 16 leaves room for any layout with a purpose while a
#: hostile document is refused before its codecs are built.  Every level costs a few
#: Python frames when building, evolving, encoding and decoding, so the limit also keeps
#: that far from the interpreter's recursion limit.  (For reference, zarr-python 3.1
#: fails with an uncaught RecursionError between 100 and 300 levels; tensorstore reads
#: 300.)
MAX_NESTING_DEPTH = 16

_U64_MAX = np.uint64(MAX_UINT64)
_DEFAULT_CODECS: tuple[dict[str, Any], ...] = (
    {"name": "bytes", "configuration": {"endian": "little"}},
)
_DEFAULT_INDEX_CODECS: tuple[dict[str, Any], ...] = (
    {"name": "bytes", "configuration": {"endian": "little"}},
    {"name": "crc32c"},
)
_INDEX_LOCATIONS = ("start", "end")

Fetch = Callable[[list[ByteRequest]], list[Buffer | None]]


@dataclass(frozen=True)
class _Layout:
    """Everything derived from (codec, shard spec); built once per spec."""

    spec: ChunkSpec
    chunks_per_shard: tuple[int, ...]
    inner_spec: ChunkSpec
    inner_chain: CodecChain
    index_spec: ChunkSpec
    index_chain: CodecChain
    index_nbytes: int


class ShardingCodec(ArrayBytesCodec):
    """Zarr v3 ``sharding_indexed``: many inner chunks and an index in one stored object.

    Parameters
    ----------
    chunk_shape
        Shape of the inner chunks; it must divide the shard shape elementwise.
    codecs
        Inner codec chain (codec objects or v3 JSON dicts), encode order.  May itself
        contain a ``ShardingCodec`` (nested sharding).
    index_codecs
        Codecs of the index (codec objects or v3 JSON dicts).  They must have a fixed
        encoded size; the default ``bytes(little) + crc32c`` gives ``16 * n + 4`` bytes.
    index_location
        ``"end"`` (default, also when older writers omit it) or ``"start"``.

    Raises
    ------
    CodecError
        Malformed configuration, an invalid inner or index chain, or sharding codecs
        nested more than :data:`MAX_NESTING_DEPTH` levels deep.

    Notes
    -----
    :meth:`encode` always returns a valid shard, also when every inner chunk is the fill
    value (then every index entry is absent); the array layer asks :meth:`all_fill`
    first and deletes the shard key instead of storing such a shard.
    """

    name: ClassVar[str] = "sharding_indexed"
    v2_id: ClassVar[None] = None

    def __init__(
        self,
        chunk_shape: Sequence[int],
        codecs: Iterable[Codec | Mapping[str, Any]] = _DEFAULT_CODECS,
        index_codecs: Iterable[Codec | Mapping[str, Any]] = _DEFAULT_INDEX_CODECS,
        index_location: str = "end",
    ) -> None:
        if isinstance(chunk_shape, (str, bytes)) or not isinstance(chunk_shape, Sequence):
            raise CodecError(
                f"sharding codec: expected chunk_shape as a list of positive integers, "
                f"got {chunk_shape!r}"
            )
        if not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
            for s in chunk_shape
        ):
            raise CodecError(
                f"sharding codec: expected chunk_shape as a list of positive integers, "
                f"got {list(chunk_shape)!r}"
            )
        if index_location not in _INDEX_LOCATIONS:
            raise CodecError(
                f"sharding codec: expected index_location 'start' or 'end', got {index_location!r}"
            )
        self.chunk_shape: tuple[int, ...] = tuple(int(s) for s in chunk_shape)
        self.codecs: tuple[Codec, ...] = _parse_codecs(codecs, "codecs")
        self.index_codecs: tuple[Codec, ...] = _parse_codecs(index_codecs, "index_codecs")
        self.index_location: str = index_location
        #: 1 for a shard of plain chunks, 1 + the deepest nested sharding codec otherwise.
        self.nesting_depth: int = 1 + max(
            (
                c.nesting_depth
                for c in (*self.codecs, *self.index_codecs)
                if isinstance(c, ShardingCodec)
            ),
            default=0,
        )
        if self.nesting_depth > MAX_NESTING_DEPTH:
            raise CodecError(_too_deep(self.nesting_depth))
        # Chains are checked when built: fail at construction on a malformed chain
        # rather than at the first read.
        CodecChain(self.codecs)
        CodecChain(self.index_codecs)
        # Single-entry cache of the layout for the last spec seen.  Replaced atomically.
        self._layout_cache: _Layout | None = None

    # ------------------------------------------------------------------ configuration
    @classmethod
    def from_config(cls, configuration: Mapping[str, Any]) -> ShardingCodec:
        conf = dict(configuration)
        unknown = set(conf) - {"chunk_shape", "codecs", "index_codecs", "index_location"}
        if unknown:
            raise CodecError(
                f"sharding codec: unexpected configuration keys {sorted(unknown)}; expected "
                "chunk_shape, codecs, index_codecs, index_location"
            )
        if "chunk_shape" not in conf:
            raise CodecError("sharding codec: the configuration has no 'chunk_shape'")
        for key in ("codecs", "index_codecs"):
            if key in conf and (
                isinstance(conf[key], (str, bytes, Mapping)) or not isinstance(conf[key], Sequence)
            ):
                raise CodecError(
                    f"sharding codec: expected {key!r} as a list of codecs, got {conf[key]!r}"
                )
        # Count the levels while parsing JSON so that a document nested too deep is
        # refused at level MAX_NESTING_DEPTH + 1, before recursing any further.
        depth = getattr(_parsing, "depth", 0) + 1
        if depth > MAX_NESTING_DEPTH:
            raise CodecError(_too_deep(depth - 1 + _json_nesting_depth(conf)))
        _parsing.depth = depth
        try:
            return cls(**conf)
        finally:
            _parsing.depth = depth - 1

    def to_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "configuration": {
                "chunk_shape": list(self.chunk_shape),
                "codecs": [codec_to_json(c, 3) for c in self.codecs],
                "index_codecs": [codec_to_json(c, 3) for c in self.index_codecs],
                "index_location": self.index_location,
            },
        }

    # ------------------------------------------------------------------ spec handling
    def evolve_from_spec(self, spec: ChunkSpec) -> ShardingCodec:
        """A copy whose inner and index codecs are evolved for ``spec`` (checked too)."""
        layout = self._build_layout(spec)
        evolved = ShardingCodec(
            self.chunk_shape,
            layout.inner_chain.codecs,
            layout.index_chain.codecs,
            self.index_location,
        )
        evolved._layout_cache = layout
        return evolved

    def validate(self, spec: ChunkSpec) -> None:
        """Raise :class:`CodecError` unless shards like ``spec`` can use this codec."""
        # Through the cache: a chain validates each codec right after evolving it, and
        # the evolved codec already holds this layout.  Rebuilding it here rebuilt every
        # nested level twice, so opening d levels of nesting cost 2**d.
        self._layout(spec)

    def chunks_per_shard(self, spec: ChunkSpec) -> tuple[int, ...]:
        """Inner-chunk grid shape of a shard of ``spec.shape``."""
        self._check_shapes(spec)
        return tuple(s // c for s, c in zip(spec.shape, self.chunk_shape))

    def index_nbytes(self, spec: ChunkSpec) -> int:
        """Encoded size in bytes of the shard index."""
        return self._layout(spec).index_nbytes

    def native_spec(self) -> None:
        return None

    # ------------------------------------------------------------------ whole shards
    def all_fill(self, shard: np.ndarray, spec: ChunkSpec) -> bool:
        """Whether every element of ``shard`` is the fill value (NaN matches a NaN fill)."""
        return bool(_fill_mask(np.asarray(shard), spec.dtype, spec.fill_value).all())

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> Buffer:
        """Encode one full-size shard; inner chunks equal to the fill value are omitted."""
        layout = self._layout(spec)
        shard = np.asarray(chunk)
        if shard.shape != spec.shape:
            raise EncodeError(
                f"sharding codec: expected a shard of shape {spec.shape}, got {shard.shape}"
            )
        present = ~self._fill_grid(shard, layout)
        coords = [tuple(int(i) for i in c) for c in np.argwhere(present)]

        def encode_one(coord: tuple[int, ...]) -> Buffer:
            sel = _chunk_slices(coord, self.chunk_shape)
            return layout.inner_chain.encode(shard[sel], layout.inner_spec)

        parts = _parallel_map(encode_one, coords)
        index = np.full((*layout.chunks_per_shard, 2), _U64_MAX, dtype=np.uint64)
        offset = layout.index_nbytes if self.index_location == "start" else 0
        for coord, part in zip(coords, parts):
            nbytes = memoryview(part).nbytes
            index[coord] = (offset, nbytes)
            offset += nbytes
        index_bytes = layout.index_chain.encode(index, layout.index_spec)
        if memoryview(index_bytes).nbytes != layout.index_nbytes:
            raise EncodeError(
                f"sharding codec: the index codecs produced {memoryview(index_bytes).nbytes} "
                f"bytes, expected {layout.index_nbytes}"
            )
        if self.index_location == "start":
            return b"".join([index_bytes, *parts])
        return b"".join([*parts, index_bytes])

    def decode(self, data: Buffer, spec: ChunkSpec) -> np.ndarray:
        """Decode a whole shard; absent inner chunks read as the fill value."""
        layout = self._layout(spec)
        mv = _as_bytes_view(data)
        total = mv.nbytes
        k = layout.index_nbytes
        if total < k:
            raise DecodeError(
                f"sharding codec: expected at least {k} bytes for the shard index, got {total}"
            )
        index_bytes = mv[:k] if self.index_location == "start" else mv[total - k :]
        # every entry is checked against the shard's length here, before any slicing
        index = self._decode_index(index_bytes, layout, total)
        out = _full(spec.shape, spec.dtype, spec.fill_value)
        coords = _present_coords(index)

        def decode_one(coord: tuple[int, ...]) -> None:
            off, nb = (int(v) for v in index[coord])
            arr = self._decode_inner(mv[off : off + nb], layout, coord)
            out[_chunk_slices(coord, self.chunk_shape)] = arr

        _parallel_map(decode_one, coords)
        return out

    # ------------------------------------------------------------------ partial reads
    def index_request(self, spec: ChunkSpec) -> ByteRequest:
        """The byte range of a shard object holding its index."""
        k = self._layout(spec).index_nbytes
        if self.index_location == "start":
            return RangeByteRequest(0, k)
        return SuffixByteRequest(k)

    def decode_index(
        self, data: Buffer, spec: ChunkSpec, shard_nbytes: int | None = None
    ) -> np.ndarray:
        """Decode and check the index bytes fetched with :meth:`index_request`.

        Parameters
        ----------
        data
            Exactly the index bytes.
        spec
            The shard spec.
        shard_nbytes
            Length of the whole shard object if known: then every entry is checked to lie
            inside the data region.  Without it only what the index alone allows is
            checked (sentinels, overflow, not overlapping a leading index); reads must
            then check that each range came back whole.

        Returns
        -------
        numpy.ndarray
            ``uint64`` array of shape ``(*chunks_per_shard, 2)``: ``(offset, nbytes)``.

        Raises
        ------
        DecodeError
            Short index or an entry out of range.
        ChecksumError
            The index checksum (if any index codec checks one) does not match.
        """
        layout = self._layout(spec)
        mv = _as_bytes_view(data)
        if mv.nbytes < layout.index_nbytes:
            raise DecodeError(
                f"sharding codec: expected at least {layout.index_nbytes} bytes for the shard "
                f"index, got {mv.nbytes}"
            )
        if mv.nbytes > layout.index_nbytes:
            raise DecodeError(
                f"sharding codec: expected exactly {layout.index_nbytes} bytes of shard index, "
                f"got {mv.nbytes}"
            )
        return self._decode_index(mv, layout, shard_nbytes)

    def decode_partial(
        self,
        fetch: Fetch,
        spec: ChunkSpec,
        selection: tuple[Any, ...],
        *,
        max_gap: int | None = None,
    ) -> np.ndarray | None:
        """Read ``shard_array[selection]`` fetching only the inner chunks it touches.

        Parameters
        ----------
        fetch
            ``fetch(requests) -> buffers`` reads byte ranges of this shard object; a
            ``None`` buffer means the shard does not exist.
        spec
            The shard spec.
        selection
            Ints, slices, integer arrays (1-d, ``np.ix_`` form or point arrays that
            broadcast together) and 1-d boolean arrays, as numpy would take them.
        max_gap
            Ranges closer than this many bytes are merged into one request
            (default :data:`DEFAULT_COALESCE_GAP`).

        Returns
        -------
        numpy.ndarray or None
            What ``shard_array[selection]`` gives (a 0-d array when every entry is an
            int), or ``None`` when the shard is missing (the caller fills).  ``fetch`` is
            called at most twice: once for the index, once for all needed ranges.
        """
        layout = self._layout(spec)
        gap = DEFAULT_COALESCE_GAP if max_gap is None else int(max_gap)
        plan = _SelectionPlan(selection, spec.shape, self.chunk_shape)
        if plan.empty:
            return np.asarray(_full(plan.compact_shape, spec.dtype, spec.fill_value)[plan.mapped])

        (index_buf,) = _fetch_checked(fetch, [self.index_request(spec)])
        if index_buf is None:
            return None
        index = self.decode_index(index_buf, spec)
        compact = _full(plan.compact_shape, spec.dtype, spec.fill_value)

        wanted: list[tuple[tuple[int, ...], tuple[int, ...], int, int]] = []
        for coord, pos in plan.chunks():
            off, nb = index[coord]
            if off == _U64_MAX and nb == _U64_MAX:
                continue
            wanted.append((coord, pos, int(off), int(nb)))
        if wanted:
            wanted.sort(key=lambda w: w[2])
            groups = _coalesce([(w[2], w[2] + w[3]) for w in wanted], gap)
            requests: list[ByteRequest] = [RangeByteRequest(a, b) for a, b, _ in groups]
            buffers = _fetch_checked(fetch, requests)
            views: list[memoryview] = []
            for (a, b, _), buf in zip(groups, buffers):
                if buf is None:  # the shard vanished between the two reads
                    return None
                view = _as_bytes_view(buf)
                if view.nbytes != b - a:
                    raise DecodeError(
                        f"sharding codec: expected {b - a} bytes at [{a}, {b}) of the shard, "
                        f"got {view.nbytes} (truncated shard, or an index entry pointing "
                        "past its end)"
                    )
                views.append(view)
            tasks = []
            for (a, _, members), view in zip(groups, views):
                for i in members:
                    coord, pos, off, nb = wanted[i]
                    tasks.append((coord, pos, view[off - a : off - a + nb]))

            def decode_one(task: tuple[tuple[int, ...], tuple[int, ...], memoryview]) -> None:
                coord, pos, raw = task
                arr = self._decode_inner(raw, layout, coord)
                compact[tuple(slice(p, p + c) for p, c in zip(pos, self.chunk_shape))] = arr

            _parallel_map(decode_one, tasks)
        return np.asarray(compact[plan.mapped])

    # ------------------------------------------------------------------ value object
    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.to_config())))

    def __repr__(self) -> str:
        return (
            f"ShardingCodec(chunk_shape={list(self.chunk_shape)}, codecs={list(self.codecs)!r}, "
            f"index_codecs={list(self.index_codecs)!r}, index_location={self.index_location!r})"
        )

    # ------------------------------------------------------------------ internals
    def _check_shapes(self, spec: ChunkSpec) -> None:
        if len(spec.shape) != len(self.chunk_shape):
            raise CodecError(
                f"sharding codec: inner chunk_shape {list(self.chunk_shape)} has "
                f"{len(self.chunk_shape)} dimensions, expected {len(spec.shape)} for shards "
                f"of shape {list(spec.shape)}"
            )
        if any(s % c for s, c in zip(spec.shape, self.chunk_shape)):
            raise CodecError(
                f"sharding codec: expected the shard shape {list(spec.shape)} to be divisible "
                f"by the inner chunk_shape {list(self.chunk_shape)} in every dimension"
            )

    def _build_layout(self, spec: ChunkSpec) -> _Layout:
        self._check_shapes(spec)
        cps = tuple(s // c for s, c in zip(spec.shape, self.chunk_shape))
        inner_spec = spec.with_shape(self.chunk_shape)
        inner_chain = CodecChain(self.codecs, inner_spec)
        index_spec = ChunkSpec(
            shape=(*cps, 2), dtype=np.dtype(np.uint64), fill_value=np.uint64(MAX_UINT64)
        )
        index_chain = CodecChain(self.index_codecs, index_spec)
        try:
            index_nbytes = index_chain.encoded_size(index_spec.nbytes)
        except CodecError as exc:
            raise CodecError(
                f"sharding codec: the index codecs must have a fixed encoded size "
                f"(e.g. bytes + crc32c), got {[codec_to_json(c, 3) for c in self.index_codecs]}"
            ) from exc
        return _Layout(
            spec, cps, inner_spec, inner_chain, index_spec, index_chain, int(index_nbytes)
        )

    def _layout(self, spec: ChunkSpec) -> _Layout:
        cached = self._layout_cache
        if cached is not None and (cached.spec is spec or _same_spec(cached.spec, spec)):
            return cached
        layout = self._build_layout(spec)
        self._layout_cache = layout
        return layout

    def _fill_grid(self, shard: np.ndarray, layout: _Layout) -> np.ndarray:
        """Boolean array over the inner grid: True where the inner chunk is all fill."""
        mask = _fill_mask(shard, layout.spec.dtype, layout.spec.fill_value)
        split: list[int] = []
        for g, c in zip(layout.chunks_per_shard, self.chunk_shape):
            split += [g, c]
        axes = tuple(range(1, 2 * len(self.chunk_shape), 2))
        return np.asarray(mask.reshape(split).all(axis=axes) if axes else mask.reshape(()))

    def _decode_index(
        self, data: memoryview, layout: _Layout, shard_nbytes: int | None
    ) -> np.ndarray:
        index = layout.index_chain.decode(data, layout.index_spec)
        index = np.asarray(index, dtype=np.uint64)
        if index.shape != (*layout.chunks_per_shard, 2):
            raise DecodeError(
                f"sharding codec: expected a shard index of shape "
                f"{(*layout.chunks_per_shard, 2)}, got {index.shape}"
            )
        k = layout.index_nbytes
        if self.index_location == "start":
            lo, hi = k, shard_nbytes
        else:
            lo, hi = 0, None if shard_nbytes is None else shard_nbytes - k
        _check_index(index, lo, hi)
        return index

    def _decode_inner(self, raw: memoryview, layout: _Layout, coord: tuple[int, ...]) -> np.ndarray:
        try:
            return layout.inner_chain.decode(raw, layout.inner_spec)
        except (ChecksumError, DecodeError, CodecError) as exc:
            raise type(exc)(f"sharding codec: inner chunk {coord} of the shard: {exc}") from exc


# --------------------------------------------------------------------------- helpers
#: Nesting depth of the ``from_config`` calls under way in this thread.
_parsing = threading.local()


def _too_deep(depth: int) -> str:
    return (
        f"sharding codec: sharding_indexed codecs are nested {depth} levels deep; at most "
        f"{MAX_NESTING_DEPTH} are supported (zarrfast.codecs.sharding.MAX_NESTING_DEPTH)"
    )


def _json_nesting_depth(configuration: Mapping[str, Any]) -> int:
    """Sharding levels in a ``sharding_indexed`` configuration (JSON), itself included.

    Iterative and linear in the document, so that it can measure what is too deep to
    parse; malformed parts are skipped (they are reported when parsed).  Each object is
    visited once, so a cyclic Python dict ends too (with a lower bound).
    """
    deepest = 0
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(configuration, 1)]
    while stack:
        conf, depth = stack.pop()
        if id(conf) in seen:
            continue
        seen.add(id(conf))
        deepest = max(deepest, depth)
        for key in ("codecs", "index_codecs"):
            codecs = conf.get(key)
            if not isinstance(codecs, list):
                continue
            for c in codecs:
                if (
                    isinstance(c, Mapping)
                    and c.get("name") == ShardingCodec.name
                    and isinstance(c.get("configuration"), Mapping)
                ):
                    stack.append((c["configuration"], depth + 1))
    return deepest


def _parse_codecs(codecs: Any, what: str) -> tuple[Codec, ...]:
    if isinstance(codecs, (Codec, Mapping, str)):
        codecs = [codecs]
    out: list[Codec] = []
    for c in codecs:
        if isinstance(c, CodecChain):
            out.extend(c.codecs)
        elif isinstance(c, Codec):
            out.append(c)
        elif isinstance(c, (Mapping, str)):
            out.append(codec_from_json(c, 3))
        else:
            raise CodecError(
                f"sharding codec: expected codec objects or JSON dicts in {what}, got {c!r}"
            )
    return tuple(out)


def _same_spec(a: ChunkSpec, b: ChunkSpec) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype or a.vlen != b.vlen:
        return False
    fa, fb = a.fill_value, b.fill_value
    if fa is None or fb is None or isinstance(fa, (str, bytes)) or isinstance(fb, (str, bytes)):
        return bool(fa == fb)
    try:
        ea = np.asarray(fa, dtype=a.dtype)
        eb = np.asarray(fb, dtype=b.dtype)
        return ea.tobytes() == eb.tobytes()
    except (TypeError, ValueError):
        return bool(fa == fb)


def _full(shape: tuple[int, ...], dtype: np.dtype[Any], fill: Any) -> np.ndarray:
    if fill is None:
        return np.zeros(shape, dtype=dtype)
    return np.full(shape, fill, dtype=dtype)


def _as_bytes_view(data: Any) -> memoryview:
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    mv = memoryview(data)
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


def _fill_mask(arr: np.ndarray, dtype: np.dtype[Any], fill: Any) -> np.ndarray:
    """Elementwise "equals the fill value".

    Fixed-size types compare bit patterns, so ``-0.0`` is not ``0.0`` and survives a
    round trip; for floats (and each part of a complex) any NaN matches a NaN fill.
    """
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if dtype.kind == "O" or dtype.itemsize == 0:
        if fill is None:
            return np.zeros(arr.shape, dtype=bool)
        return np.asarray(arr == fill, dtype=bool).reshape(arr.shape)
    fill_arr = _full((), dtype, fill).reshape(1)
    if dtype.kind in "fc":
        part = dtype.itemsize if dtype.kind == "f" else dtype.itemsize // 2
        if part in (2, 4, 8):
            order = dtype.byteorder if dtype.byteorder in "<>" else "="
            uint, flt = np.dtype(f"{order}u{part}"), np.dtype(f"{order}f{part}")
            nparts = dtype.itemsize // part
            match = arr.view(uint).reshape(*arr.shape, nparts) == fill_arr.view(uint)
            nan_fill = np.isnan(fill_arr.view(flt))
            if nan_fill.any():
                match |= np.isnan(arr.view(flt).reshape(*arr.shape, nparts)) & nan_fill
            parts_match: np.ndarray = match.all(axis=-1)
            return parts_match
    raw = arr.view(np.uint8).reshape(*arr.shape, dtype.itemsize)
    bytes_match: np.ndarray = (raw == fill_arr.view(np.uint8)).all(axis=-1)
    return bytes_match


def _chunk_slices(coord: tuple[int, ...], chunk_shape: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(i * c, (i + 1) * c) for i, c in zip(coord, chunk_shape))


def _present_coords(index: np.ndarray) -> list[tuple[int, ...]]:
    absent = (index[..., 0] == _U64_MAX) & (index[..., 1] == _U64_MAX)
    return [tuple(int(i) for i in c) for c in np.argwhere(~absent)]


def _check_index(index: np.ndarray, lo: int, hi: int | None) -> None:
    """Every entry is absent (both sentinels) or a range inside ``[lo, hi)``."""
    off = index[..., 0]
    nb = index[..., 1]
    present = ~((off == _U64_MAX) & (nb == _U64_MAX))
    bad = (off < np.uint64(lo)) | (off > _U64_MAX - nb)  # second: off + nb overflows
    if hi is not None:
        h = np.uint64(max(hi, 0))
        bad |= (off > h) | (nb > h - np.minimum(off, h))
    bad &= present
    if bad.any():
        coord = tuple(int(i) for i in np.argwhere(bad)[0])
        o, n = int(off[coord]), int(nb[coord])
        where = f"[{lo}, {hi})" if hi is not None else f"[{lo}, ...)"
        raise DecodeError(
            f"sharding codec: shard index entry for inner chunk {coord} is (offset={o}, "
            f"nbytes={n}); expected both {MAX_UINT64} (absent) or a byte range inside the "
            f"data region {where} of the shard"
        )


def _coalesce(ranges: list[tuple[int, int]], gap: int) -> list[tuple[int, int, list[int]]]:
    """Merge sorted ``[start, end)`` ranges closer than ``gap`` bytes; keep member ids."""
    groups: list[tuple[int, int, list[int]]] = []
    for i, (a, b) in enumerate(ranges):
        if groups and a <= groups[-1][1] + gap:
            s, e, members = groups[-1]
            members.append(i)
            groups[-1] = (s, max(e, b), members)
        else:
            groups.append((a, b, [i]))
    return groups


def _fetch_checked(fetch: Fetch, requests: list[ByteRequest]) -> list[Buffer | None]:
    result = list(fetch(requests))
    if len(result) != len(requests):
        raise CodecError(
            f"sharding codec: fetch returned {len(result)} buffers for {len(requests)} requests"
        )
    return result


# --------------------------------------------------------------------------- selections
def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


class _SelectionPlan:
    """Map a shard selection onto a compact array holding only the touched inner chunks.

    Per dimension the compact array keeps: for an int, its one inner chunk; for a slice,
    the contiguous run of inner chunks from its first to its last element; for index
    arrays, the sorted distinct inner chunks they hit, side by side.  ``mapped`` is the
    selection rewritten for the compact array with the same kinds and shapes, so numpy's
    outer (``np.ix_``) or point semantics are unchanged.
    """

    def __init__(
        self, selection: Any, shape: tuple[int, ...], chunk_shape: tuple[int, ...]
    ) -> None:
        sel = selection if isinstance(selection, tuple) else (selection,)
        if len(sel) > len(shape):
            raise SelectionError(
                f"sharding codec: selection has {len(sel)} entries, expected at most "
                f"{len(shape)} for shards of shape {shape}"
            )
        sel = (*sel, *(slice(None),) * (len(shape) - len(sel)))
        self.chunk_shape = chunk_shape
        mapped: list[Any] = []
        #: per dim: touched inner chunk ids (sorted) and their origin in the compact array
        self.dim_chunks: list[np.ndarray] = []
        self.dim_origins: list[np.ndarray] = []
        self.array_dims: list[int] = []
        compact: list[int] = []
        self.empty = False
        for d, (s, n, c) in enumerate(zip(sel, shape, chunk_shape)):
            if _is_int(s):
                i = int(s)
                if not -n <= i < n:
                    raise SelectionError(
                        f"sharding codec: index {i} is out of bounds for axis {d} of size {n}"
                    )
                i %= n
                k = i // c
                ks = np.array([k], dtype=np.intp)
                origins = np.zeros(1, dtype=np.intp)
                mapped.append(i - k * c)
                compact.append(c)
            elif isinstance(s, slice):
                start, stop, step = s.indices(n)
                count = len(range(start, stop, step))
                if count == 0:
                    self.empty = True
                    ks = origins = np.zeros(0, dtype=np.intp)
                    mapped.append(slice(0, 0))
                    compact.append(0)
                else:
                    last = start + step * (count - 1)
                    k0, k1 = min(start, last) // c, max(start, last) // c
                    if abs(step) > c:  # some chunks in between are skipped
                        ks = np.unique(np.arange(start, stop, step, dtype=np.intp) // c)
                    else:
                        ks = np.arange(k0, k1 + 1, dtype=np.intp)
                    origins = (ks - k0) * c
                    base = k0 * c
                    new_stop = last - base + (1 if step > 0 else -1)
                    mapped.append(slice(start - base, None if new_stop < 0 else new_stop, step))
                    compact.append((k1 - k0 + 1) * c)
            else:
                arr = np.asarray(s)
                if arr.dtype == np.bool_:
                    if arr.ndim != 1 or arr.shape[0] != n:
                        raise SelectionError(
                            f"sharding codec: expected a boolean array of length {n} for axis "
                            f"{d}, got shape {arr.shape}"
                        )
                    arr = np.flatnonzero(arr)
                if arr.dtype.kind not in "iu":
                    raise SelectionError(
                        f"sharding codec: expected an int, slice or integer array for axis "
                        f"{d}, got {s!r}"
                    )
                arr = arr.astype(np.intp)
                if arr.size and (arr.min() < -n or arr.max() >= n):
                    raise SelectionError(
                        f"sharding codec: index out of bounds for axis {d} of size {n}"
                    )
                arr[arr < 0] += n
                ks = np.unique(arr // c)
                origins = np.arange(len(ks), dtype=np.intp) * c
                if arr.size == 0:
                    self.empty = True
                mapped.append(np.searchsorted(ks, arr // c) * c + arr % c)
                compact.append(len(ks) * c)
                self.array_dims.append(d)
            self.dim_chunks.append(ks)
            self.dim_origins.append(origins)
        self.mapped = tuple(mapped)
        self.compact_shape = tuple(compact)

    def _point_chunks(self) -> np.ndarray | None:
        """The exact touched chunk-id rows over the array dims if they are point arrays.

        ``None`` when the product over dims is already exact (at most one array, or
        arrays in ``np.ix_`` form, each varying along its own axis).
        """
        if len(self.array_dims) < 2:
            return None
        arrays = [np.asarray(self.mapped[d]) for d in self.array_dims]
        varying = [tuple(i for i, s in enumerate(a.shape) if s != 1) for a in arrays]
        axes = [a for v in varying for a in v]
        if all(len(v) <= 1 for v in varying) and len(axes) == len(set(axes)):
            return None
        try:
            b = np.broadcast_arrays(*arrays)
        except ValueError as exc:
            raise SelectionError(
                f"sharding codec: the index arrays do not broadcast together: {exc}"
            ) from exc
        # compact positions // chunk -> position in dim_chunks; map back to chunk ids
        cols = [
            self.dim_chunks[d][x.reshape(-1) // self.chunk_shape[d]]
            for x, d in zip(b, self.array_dims)
        ]
        return np.unique(np.stack(cols, axis=1), axis=0)

    def chunks(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Touched inner chunks: (coords in the shard's inner grid, origin in compact)."""
        if self.empty:
            return []
        ndim = len(self.chunk_shape)
        points = self._point_chunks()
        if points is None:
            per_dim = [
                list(zip(ks.tolist(), org.tolist()))
                for ks, org in zip(self.dim_chunks, self.dim_origins)
            ]
            out = []
            for combo in itertools.product(*per_dim):
                out.append((tuple(k for k, _ in combo), tuple(o for _, o in combo)))
            return out
        other = [d for d in range(ndim) if d not in self.array_dims]
        origin_of = [
            dict(zip(ks.tolist(), org.tolist()))
            for ks, org in zip(self.dim_chunks, self.dim_origins)
        ]
        out = []
        for other_ks in itertools.product(*(self.dim_chunks[d].tolist() for d in other)):
            for row in points.tolist():
                coord = [0] * ndim
                for d, k in zip(other, other_ks):
                    coord[d] = k
                for d, k in zip(self.array_dims, row):
                    coord[d] = k
                out.append((tuple(coord), tuple(origin_of[d][coord[d]] for d in range(ndim))))
        return out


_T = TypeVar("_T")
_R = TypeVar("_R")
# One pool per thread count, created on first use and kept: a pool that other threads
# may still be submitting to must never be shut down under them.
_pools: dict[int, ThreadPoolExecutor] = {}
_pool_lock = threading.Lock()
_worker = threading.local()


def _mark_worker() -> None:
    _worker.active = True


def _reset_pools_after_fork() -> None:
    global _pool_lock
    _pools.clear()  # the parent's worker threads do not exist in the child
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools_after_fork)


def _get_pool(n: int) -> ThreadPoolExecutor:
    with _pool_lock:
        pool = _pools.get(n)
        if pool is None:
            pool = _pools[n] = ThreadPoolExecutor(
                max_workers=n, thread_name_prefix="zarrfast-shard", initializer=_mark_worker
            )
        return pool


def _parallel_map(fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``[fn(x) for x in items]``, on the shared pool when that can help.

    Runs inline inside a pool worker (nested sharding) so that nested calls can never
    wait on a pool their own callers occupy.
    """
    from zarrfast.config import config

    n = min(int(config.num_threads), len(items))
    if n <= 1 or getattr(_worker, "active", False):
        return [fn(x) for x in items]
    return list(_get_pool(int(config.num_threads)).map(fn, items))
