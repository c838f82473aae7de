"""A zarr-python codec pipeline that decodes and encodes chunks with zarrfast's codecs.

Enable it with::

    import zarr, zarrfast.zarr_python
    zarr.config.set({"codec_pipeline.path": "zarrfast.zarr_python.CodecPipeline"})

zarr-python keeps doing what it is good at (metadata, indexing, the async store API);
this pipeline takes each batch of ``(byte_getter, chunk_spec, chunk_selection,
out_selection, is_complete_chunk)`` and

1. fetches the encoded chunks concurrently through zarr-python's byte getters,
2. decodes the whole batch in one call, :func:`decode_chunks` (zarrfast's C codecs on
   zarrfast's thread pool, with the GIL released; this is the single function to swap for
   the native batch engine when ``zarrfast._native`` exposes one),
3. scatters each chunk into ``out[out_selection]`` with numpy, exactly as zarr-python's
   ``BatchedCodecPipeline`` does, so every indexing mode (basic, orthogonal, coordinate,
   mask, block, fields, ``drop_axes``) behaves identically.

Writes mirror it: read-modify-write of partial chunks, merge, empty-chunk elision with
zarr-python's own ``all_equal`` rule, :func:`encode_chunks`, concurrent stores.

Sharded arrays: a partial read of a shard fetches only the inner chunks it touches
(zarrfast's ``ShardingCodec.decode_partial`` through the byte getter's range reads).

Where zarrfast cannot reproduce zarr-python's behaviour the pipeline hands the call to
``BatchedCodecPipeline`` and counts it in :data:`FALLBACKS` (reason -> count):

* ``"codec:<name>"``: a codec zarrfast does not implement (e.g. ``numcodecs.bitround``),
  or one whose configuration it rejects;
* ``"dtype:<kind>"``: a data type zarrfast does not decode (object dtypes other than
  zarr-python's variable-length strings and bytes);
* ``"buffer"``: a non-CPU buffer prototype (GPU buffers stay with zarr-python).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from zarr.abc.codec import Codec as ZCodec
from zarr.abc.codec import CodecPipeline as ZCodecPipeline
from zarr.abc.store import OffsetByteRequest as ZOffset
from zarr.abc.store import RangeByteRequest as ZRange
from zarr.abc.store import SuffixByteRequest as ZSuffix
from zarr.core.buffer import Buffer, NDBuffer, default_buffer_prototype
from zarr.core.buffer import cpu as zcpu
from zarr.core.codec_pipeline import BatchedCodecPipeline, fill_value_or_default
from zarr.core.common import concurrent_map
from zarr.core.config import config as zconfig
from zarr.core.indexing import is_scalar
from zarr.registry import register_pipeline

from zarrfast.abc.codec import ChunkSpec
from zarrfast.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarrfast.codecs.chain import CodecChain
from zarrfast.core.pipeline import map_threaded
from zarrfast.errors import ZarrfastError

__all__ = [
    "FALLBACKS",
    "CodecPipeline",
    "decode_chunks",
    "encode_chunks",
    "fallback_count",
    "reset_fallbacks",
]

#: Calls handed to zarr-python's BatchedCodecPipeline, by reason.  Read it in tests.
FALLBACKS: Counter[str] = Counter()
_FALLBACK_LOCK = threading.Lock()


def fallback_count() -> int:
    """How many pipeline calls fell back to zarr-python's ``BatchedCodecPipeline``."""
    return sum(FALLBACKS.values())


def reset_fallbacks() -> None:
    """Zero :data:`FALLBACKS`."""
    with _FALLBACK_LOCK:
        FALLBACKS.clear()


def _count(reason: str) -> None:
    with _FALLBACK_LOCK:
        FALLBACKS[reason] += 1


class _Unsupported(Exception):
    """This chain or spec cannot go through zarrfast; the message is the fallback reason."""


# --------------------------------------------------------------------------- batch kernels
def decode_chunks(chain: CodecChain, spec: ChunkSpec, buffers: Sequence[Any]) -> list[Any]:
    """Decode a batch of encoded chunks (``None`` stays ``None``) with one chain and spec.

    The one place the read path decodes: swap in a native batch decoder here.
    """
    return map_threaded(lambda b: None if b is None else chain.decode(b, spec), list(buffers))


def encode_chunks(chain: CodecChain, spec: ChunkSpec, chunks: Sequence[Any]) -> list[Any]:
    """Encode a batch of chunk arrays (``None`` stays ``None``) with one chain and spec."""
    return map_threaded(lambda c: None if c is None else chain.encode(c, spec), list(chunks))


# --------------------------------------------------------------------------- codec mapping
def _zarrfast_codecs(codecs: Sequence[ZCodec]) -> tuple[list[Any], dict[str, Any] | None]:
    """zarrfast codec objects for zarr-python's, via their JSON.

    Returns ``(codecs, v2)``: for a v2 array (zarr-python's ``V2Codec``) the list holds the
    v2 filters and ``v2`` the compressor, since the bytes step depends on the dtype.
    """
    from zarrfast.codecs.registry import codec_from_json

    out: list[Any] = []
    for c in codecs:
        if type(c).__name__ == "V2Codec":  # zarr-python's private zarr.codecs._v2.V2Codec
            v2codec: Any = c
            filters = []
            for f in v2codec.filters or ():
                filters.append(_from_json(codec_from_json, f.get_config(), 2))
            comp = v2codec.compressor
            compressor = None if comp is None else _from_json(codec_from_json, comp.get_config(), 2)
            return filters, {"compressor": compressor}
        try:
            doc = c.to_dict()
        except Exception as exc:  # a codec that cannot describe itself
            raise _Unsupported(f"codec:{type(c).__name__}") from exc
        out.append(_from_json(codec_from_json, doc, 3))
    return out, None


def _from_json(fn: Any, doc: Any, zarr_format: int) -> Any:
    try:
        return fn(doc, zarr_format)
    except (ZarrfastError, TypeError, ValueError, KeyError) as exc:
        name = doc.get("name") or doc.get("id") if isinstance(doc, dict) else doc
        raise _Unsupported(f"codec:{name}") from exc


def _chunk_spec(spec: Any) -> tuple[ChunkSpec, np.dtype[Any]]:
    """zarrfast's ChunkSpec for a zarr-python ArraySpec, and the native dtype."""
    native = spec.dtype.to_native_dtype()
    kind = native.kind
    fill = fill_value_or_default(spec)
    if kind in "biufc":
        return ChunkSpec(tuple(spec.shape), native, native.type(fill)), native
    name = type(spec.dtype).__name__
    if kind in "OT" and name == "VariableLengthUTF8":
        return ChunkSpec(tuple(spec.shape), np.dtype(object), str(fill), "string"), native
    if kind == "O" and name == "VariableLengthBytes":
        return ChunkSpec(tuple(spec.shape), np.dtype(object), bytes(fill), "bytes"), native
    if kind in "USVMm" and native.itemsize > 0 and not native.hasobject:
        # fixed-length text/bytes, raw bytes, structured records, datetimes, bfloat16/float8
        try:
            value = np.asarray(fill, dtype=native)[()]
        except (TypeError, ValueError) as exc:
            raise _Unsupported(f"dtype:{native.str}") from exc
        return ChunkSpec(tuple(spec.shape), native, value), native
    raise _Unsupported(f"dtype:{native.str}")


def _to_zarr_range(r: Any) -> Any:
    if r is None:
        return None
    if isinstance(r, RangeByteRequest):
        return ZRange(r.start, r.end)
    if isinstance(r, OffsetByteRequest):
        return ZOffset(r.offset)
    if isinstance(r, SuffixByteRequest):
        return ZSuffix(r.suffix)
    raise TypeError(f"unexpected byte range {r!r}")


def _cpu(prototype: Any) -> bool:
    return prototype.buffer is zcpu.Buffer and prototype.nd_buffer is zcpu.NDBuffer


# --------------------------------------------------------------------------- the pipeline
@dataclass(frozen=True)
class CodecPipeline(ZCodecPipeline):
    """zarr-python ``CodecPipeline`` running zarrfast's codecs.  See the module docstring."""

    codecs: tuple[ZCodec, ...]
    fallback: BatchedCodecPipeline
    unsupported: str | None = None
    _zf_codecs: tuple[Any, ...] = ()
    _v2: dict[str, Any] | None = None
    _chains: dict[Any, CodecChain] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_codecs(
        cls, codecs: Iterable[ZCodec], *, batch_size: int | None = None
    ) -> CodecPipeline:
        codecs = tuple(codecs)
        fallback = BatchedCodecPipeline.from_codecs(codecs, batch_size=batch_size)
        try:
            zf, v2 = _zarrfast_codecs(codecs)
            if v2 is None:
                CodecChain(zf)  # order check now, not at the first read
        except _Unsupported as exc:
            return cls(codecs, fallback, unsupported=str(exc))
        except ZarrfastError as exc:
            return cls(codecs, fallback, unsupported=f"codec:chain ({exc})")
        return cls(codecs, fallback, None, tuple(zf), v2)

    def evolve_from_array_spec(self, array_spec: Any) -> CodecPipeline:
        return type(self).from_codecs(
            (c.evolve_from_array_spec(array_spec=array_spec) for c in self.codecs),
            batch_size=self.fallback.batch_size,
        )

    def __iter__(self) -> Iterator[ZCodec]:
        return iter(self.codecs)

    @property
    def supports_partial_decode(self) -> bool:
        return self.fallback.supports_partial_decode

    @property
    def supports_partial_encode(self) -> bool:
        return self.fallback.supports_partial_encode

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        self.fallback.validate(shape=shape, dtype=dtype, chunk_grid=chunk_grid)

    def compute_encoded_size(self, byte_length: int, array_spec: Any) -> int:
        return self.fallback.compute_encoded_size(byte_length, array_spec)

    # ------------------------------------------------------------------ per-spec chains
    def _resolve(self, spec: Any) -> tuple[CodecChain, ChunkSpec, np.dtype[Any]]:
        """The evolved zarrfast chain for one zarr-python chunk spec (cached)."""
        if self.unsupported is not None:
            raise _Unsupported(self.unsupported)
        if not _cpu(spec.prototype):
            raise _Unsupported("buffer")
        zspec, native = _chunk_spec(spec)
        fill_key = (
            zspec.fill_value
            if zspec.vlen is not None
            else np.asarray(zspec.fill_value, dtype=native).tobytes()
        )  # np.void / datetime fills are not hashable (or NaT != NaT): key on the bits
        key = (zspec.shape, native, zspec.vlen, fill_key, spec.config.order)
        chain = self._chains.get(key)
        if chain is None:
            if self._v2 is not None:
                from zarrfast.core.metadata.dtypes import DataType
                from zarrfast.core.metadata.v2 import v2_codecs

                dt = DataType(zspec.dtype, zspec.vlen)
                chain_codecs = v2_codecs(
                    dt,
                    len(zspec.shape),
                    spec.config.order,
                    tuple(self._zf_codecs),
                    self._v2["compressor"],
                )
            else:
                chain_codecs = self._zf_codecs
            try:
                chain = CodecChain(chain_codecs, zspec)
            except ZarrfastError as exc:
                raise _Unsupported(f"codec:chain ({exc})") from exc
            self._chains[key] = chain
        return chain, zspec, native

    def _plan(
        self, specs: Sequence[Any]
    ) -> list[tuple[CodecChain, ChunkSpec, np.dtype[Any]]] | str:
        try:
            return [self._resolve(s) for s in specs]
        except _Unsupported as exc:
            return str(exc)

    # ------------------------------------------------------------------ decode / encode
    async def decode(
        self, chunk_bytes_and_specs: Iterable[tuple[Buffer | None, Any]]
    ) -> list[NDBuffer | None]:
        items = list(chunk_bytes_and_specs)
        plan = self._plan([s for _, s in items])
        if isinstance(plan, str):
            _count(plan)
            return list(await self.fallback.decode(items))
        arrays = await asyncio.to_thread(self._decode_grouped, [b for b, _ in items], plan)
        return [
            None if a is None else s.prototype.nd_buffer.from_ndarray_like(self._native(a, n))
            for a, (_, s), (_, _, n) in zip(arrays, items, plan)
        ]

    async def encode(
        self, chunk_arrays_and_specs: Iterable[tuple[NDBuffer | None, Any]]
    ) -> list[Buffer | None]:
        items = list(chunk_arrays_and_specs)
        plan = self._plan([s for _, s in items])
        if isinstance(plan, str):
            _count(plan)
            return list(await self.fallback.encode(items))
        chunks = [
            None if a is None else self._for_encode(a.as_ndarray_like(), p[1])
            for (a, _), p in zip(items, plan)
        ]
        encoded = await asyncio.to_thread(self._encode_grouped, chunks, plan)
        return [
            None if e is None else s.prototype.buffer.from_bytes(e)
            for e, (_, s) in zip(encoded, items)
        ]

    @staticmethod
    def _group(plan: Sequence[tuple[CodecChain, ChunkSpec, Any]]) -> dict[int, list[int]]:
        groups: dict[int, list[int]] = {}
        for i, (chain, _, _) in enumerate(plan):
            groups.setdefault(id(chain), []).append(i)
        return groups

    def _decode_grouped(self, bufs: Sequence[Any], plan: Sequence[Any]) -> list[Any]:
        out: list[Any] = [None] * len(bufs)
        for idx in self._group(plan).values():
            chain, zspec, _ = plan[idx[0]]
            raw = [None if bufs[i] is None else _as_bytes_like(bufs[i]) for i in idx]
            for i, a in zip(idx, decode_chunks(chain, zspec, raw)):
                out[i] = a
        return out

    def _encode_grouped(self, chunks: Sequence[Any], plan: Sequence[Any]) -> list[Any]:
        out: list[Any] = [None] * len(chunks)
        for idx in self._group(plan).values():
            chain, zspec, _ = plan[idx[0]]
            for i, e in zip(idx, encode_chunks(chain, zspec, [chunks[i] for i in idx])):
                out[i] = e
        return out

    @staticmethod
    def _native(a: np.ndarray, native: np.dtype[Any]) -> np.ndarray:
        if a.dtype != native and native.kind == "T":
            return a.astype(native)
        return a

    @staticmethod
    def _for_encode(a: Any, zspec: ChunkSpec) -> np.ndarray:
        arr = np.asarray(a)
        if zspec.vlen is not None and arr.dtype.kind != "O":
            arr = arr.astype(object)
        elif zspec.vlen is None and arr.dtype != zspec.dtype:
            arr = arr.astype(zspec.dtype)
        return arr

    # ------------------------------------------------------------------ read
    async def _batched(
        self,
        batch_info: Iterable[tuple[Any, Any, Any, Any, bool]],
        buf: NDBuffer,
        drop_axes: tuple[int, ...],
        fallback: Callable[..., Awaitable[None]],
        one_batch: Callable[..., Awaitable[None]],
    ) -> None:
        """Plan the batch; hand it whole to ``fallback`` when the plan says so, else run
        ``one_batch`` over slices of ``codec_pipeline.batch_size`` items."""
        batch = list(batch_info)
        if not batch:
            return
        plan = self._plan([b[1] for b in batch])
        if isinstance(plan, str):
            _count(plan)
            await fallback(batch, buf, drop_axes)
            return
        size = max(int(zconfig.get("codec_pipeline.batch_size")), 64)
        for start in range(0, len(batch), size):
            await one_batch(batch[start : start + size], plan[start : start + size], buf, drop_axes)

    async def read(
        self,
        batch_info: Iterable[tuple[Any, Any, Any, Any, bool]],
        out: NDBuffer,
        drop_axes: tuple[int, ...] = (),
    ) -> None:
        await self._batched(batch_info, out, drop_axes, self.fallback.read, self._read_batch)

    async def _read_batch(
        self, batch: list[Any], plan: list[Any], out: NDBuffer, drop_axes: tuple[int, ...]
    ) -> None:
        target = out.as_ndarray_like()
        whole = [i for i, b in enumerate(batch) if not self._partial_shard(b, plan[i])]
        partial = [i for i in range(len(batch)) if i not in set(whole)]
        bufs = await concurrent_map(
            [(batch[i][0], batch[i][1].prototype) for i in whole],
            lambda getter, proto: getter.get(proto),
            zconfig.get("async.concurrency"),
        )
        arrays = await asyncio.to_thread(self._decode_grouped, bufs, [plan[i] for i in whole])
        for i, chunk in zip(whole, arrays):
            _, spec, chunk_sel, out_sel, _ = batch[i]
            if chunk is None:
                target[out_sel] = fill_value_or_default(spec)
                continue
            tmp = chunk[chunk_sel]
            if drop_axes:
                tmp = tmp.squeeze(axis=drop_axes)
            target[out_sel] = tmp
        if partial:
            loop = asyncio.get_running_loop()
            # Not the loop's default executor: the byte getters' store reads run there,
            # and these threads block waiting for them.
            pool = _shard_pool()
            results = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, self._read_shard_part, batch[i], plan[i], loop)
                    for i in partial
                )
            )
            for i, sub in zip(partial, results):
                _, spec, _, out_sel, _ = batch[i]
                if sub is None:
                    target[out_sel] = fill_value_or_default(spec)
                else:
                    target[out_sel] = sub.squeeze(axis=drop_axes) if drop_axes else sub

    @staticmethod
    def _partial_shard(item: Any, plan: Any) -> bool:
        chain = plan[0]
        return (
            not item[4]
            and not chain.aa
            and not chain.bb
            and type(chain.ab).__name__ == "ShardingCodec"
            and hasattr(chain.ab, "decode_partial")
        )

    @staticmethod
    def _read_shard_part(item: Any, plan: Any, loop: asyncio.AbstractEventLoop) -> Any:
        getter, _spec, chunk_sel, _, _ = item
        chain, zspec, _ = plan
        proto = default_buffer_prototype()

        async def get_all(requests: Sequence[Any]) -> list[Any]:
            return list(
                await asyncio.gather(
                    *(getter.get(proto, byte_range=_to_zarr_range(r)) for r in requests)
                )
            )

        def fetch(requests: Sequence[Any]) -> list[Any]:
            # Runs in a worker thread while the event loop awaits us: hand the range
            # reads back to the loop and wait for them.
            bufs = asyncio.run_coroutine_threadsafe(get_all(requests), loop).result()
            return [None if b is None else _as_bytes_like(b) for b in bufs]

        return chain.ab.decode_partial(fetch, zspec, chunk_sel)

    # ------------------------------------------------------------------ write
    async def write(
        self,
        batch_info: Iterable[tuple[Any, Any, Any, Any, bool]],
        value: NDBuffer,
        drop_axes: tuple[int, ...] = (),
    ) -> None:
        await self._batched(batch_info, value, drop_axes, self.fallback.write, self._write_batch)

    async def _write_batch(
        self, batch: list[Any], plan: list[Any], value: NDBuffer, drop_axes: tuple[int, ...]
    ) -> None:
        async def read_existing(setter: Any, proto: Any) -> Any:
            return None if setter is None else await setter.get(prototype=proto)

        existing = await concurrent_map(
            [
                (None if complete else setter, spec.prototype)
                for setter, spec, _, _, complete in batch
            ],
            read_existing,
            zconfig.get("async.concurrency"),
        )
        decoded = await asyncio.to_thread(self._decode_grouped, existing, plan)
        val = value.as_numpy_array()  # the very same array for CPU buffers: no copy
        merged: list[Any] = []
        for (_, spec, chunk_sel, out_sel, complete), old, (_, zspec, native) in zip(
            batch, decoded, plan
        ):
            chunk = _merge(old, val, value, spec, native, chunk_sel, out_sel, complete, drop_axes)
            if not spec.config.write_empty_chunks and spec.prototype.nd_buffer.from_ndarray_like(
                chunk
            ).all_equal(fill_value_or_default(spec)):
                merged.append(None)
            else:
                merged.append(self._for_encode(chunk, zspec))
        encoded = await asyncio.to_thread(self._encode_grouped, merged, plan)

        async def put(setter: Any, data: Any, proto: Any) -> None:
            if data is None:
                await setter.delete()
            else:
                await setter.set(proto.buffer.from_bytes(data))

        await concurrent_map(
            [(b[0], e, b[1].prototype) for b, e in zip(batch, encoded)],
            put,
            zconfig.get("async.concurrency"),
        )


def _merge(
    old: Any,
    val: np.ndarray,
    value: NDBuffer,
    spec: Any,
    native: np.dtype[Any],
    chunk_sel: Any,
    out_sel: Any,
    complete: bool,
    drop_axes: tuple[int, ...],
) -> np.ndarray:
    """The chunk to store: zarr-python's ``_merge_chunk_array`` on numpy arrays."""
    if complete and val.shape == tuple(spec.shape) and val[out_sel].shape == tuple(spec.shape):
        return val
    if old is None:
        chunk = np.full(
            spec.shape, fill_value_or_default(spec), dtype=native, order=spec.config.order
        )
    else:
        chunk = np.array(old, dtype=native if native.kind != "T" else old.dtype, copy=True)
    if chunk_sel == () or is_scalar(val, native):
        chunk_value = val
    else:
        chunk_value = val[out_sel]
        if drop_axes:
            item = tuple(None if i in drop_axes else slice(None) for i in range(len(spec.shape)))
            chunk_value = chunk_value[item]
    chunk[chunk_sel] = chunk_value
    return chunk


_SHARD_POOL: ThreadPoolExecutor | None = None
_SHARD_POOL_LOCK = threading.Lock()


def _shard_pool() -> ThreadPoolExecutor:
    """Threads that run partial shard decodes (and wait on the loop for byte ranges)."""
    global _SHARD_POOL
    with _SHARD_POOL_LOCK:
        if _SHARD_POOL is None:
            _SHARD_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="zarrfast-shard")
        return _SHARD_POOL


def _drop_shard_pool_in_child() -> None:
    global _SHARD_POOL, _SHARD_POOL_LOCK
    _SHARD_POOL = None
    _SHARD_POOL_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_shard_pool_in_child)


def _as_bytes_like(buf: Any) -> Any:
    """The bytes of a zarr-python Buffer without copying (CPU buffers are numpy views)."""
    if isinstance(buf, Buffer):
        return np.ascontiguousarray(buf.as_numpy_array()).data
    return buf


# Registered under the public dotted path users put in zarr.config.
CodecPipeline.__module__ = "zarrfast.zarr_python"
register_pipeline(CodecPipeline)
