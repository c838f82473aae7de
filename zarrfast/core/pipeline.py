"""The chunk pipeline: selection -> projections -> batch fetch -> decode -> scatter.

This is the single place that decides parallelism (``zarrfast.config.num_threads``) and
how a batch of chunks is decoded or encoded.  It has two engines:

* :class:`PythonEngine` (here): batches ``store.get_many`` / ``store.set_many`` and runs
  the codec chain per chunk on a thread pool (the C codecs release the GIL).
* a native engine (``zarrfast._native``, the native-pipeline work) that takes a whole
  batch into C when every codec in the chain has a ``native_spec()``.

:func:`select_engine` picks one per array; both expose ``read(projections, out)`` and
``write(projections, value)`` with identical semantics, so the Array layer never knows.

Read semantics: every projection's chunk is fetched in batches of
``config.batch_size``; a missing chunk is the fill value; each decoded chunk is written
straight into its own disjoint slice of ``out``.  Write semantics: chunks fully covered by
the selection are built from the input alone; partially covered chunks are read, merged
and re-encoded (under a per-key lock, so concurrent in-process writers to one chunk are
serialised); chunks equal to the fill value everywhere are deleted instead of stored
unless ``write_empty_chunks``.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zarrfast.abc.codec import ChunkSpec
from zarrfast.abc.store import KeyLocks, Store
from zarrfast.config import config
from zarrfast.errors import CodecError, DecodeError, ZarrfastError

if TYPE_CHECKING:
    from zarrfast.core.indexing import ChunkProjection
    from zarrfast.core.metadata.common import ArrayMetadata

__all__ = [
    "EngineChoice",
    "PythonEngine",
    "aligned_empty",
    "choose_engine",
    "is_all_fill",
    "map_threaded",
    "select_engine",
    "thread_pool",
]

# --------------------------------------------------------------------------- thread pool
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def thread_pool() -> ThreadPoolExecutor:
    """The shared pool, sized from ``config.num_threads``; rebuilt after fork."""
    global _pool, _pool_size
    n = max(1, int(config.num_threads))
    with _pool_lock:
        if _pool is None or _pool_size != n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="zarrfast")
            _pool_size = n
        return _pool


def _after_fork_in_child() -> None:
    # The parent's worker threads do not exist in the child: drop the pool object
    # without joining it and let the next call build a fresh one.
    global _pool, _pool_size, _pool_lock
    _pool = None
    _pool_size = 0
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def map_threaded(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[fn(x) for x in items]`` on the shared pool when worthwhile; exceptions propagate."""
    if len(items) <= 1 or config.num_threads <= 1:
        return [fn(x) for x in items]
    return list(thread_pool().map(fn, items))


# --------------------------------------------------------------------------- helpers
_LINE = 64  # cache line size in bytes

try:  # the output arena lives in the native extension (absent: never used)
    from zarrfast._native import _pipeline as _arena
except ImportError:  # pragma: no cover - a build without the extension
    _arena = None  # type: ignore[assignment]


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.empty(shape, dtype)`` whose data starts on a 64-byte cache line.

    numpy's large allocations start 16 bytes past a line, so every row a decoder scatters
    into a read's output (64/128-byte rows for 32^3/64^3 uint16 chunks) straddles two
    lines and each store is a partial-line write (read-for-ownership of both lines):
    W2's full read into an aligned output is ~25% faster, W1's ~10%.  Meant for the
    output of a read (``Array._empty_out``).
    """
    dt = np.dtype(dtype)
    n = math.prod(shape) * dt.itemsize  # not np.prod: ~10 us, a point read's budget
    if n < (1 << 20) or dt.hasobject:
        return np.empty(shape, dtype=dt)
    if config.output_arena_bytes > 0 and _arena is not None:
        return _arena.arena_empty(shape, dt)
    raw = np.empty(n + _LINE, dtype=np.uint8)
    start = (-raw.__array_interface__["data"][0]) % _LINE
    out: np.ndarray = raw[start : start + n].view(dt).reshape(shape)
    return out


def release_output_arena() -> int:
    """Free the memory the output arena (``config.output_arena_bytes``) keeps for reuse;
    returns the bytes freed.  Outputs still in use are not affected."""
    return int(_arena.arena_trim(0)) if _arena is not None else 0


def fill_chunk(spec: ChunkSpec) -> np.ndarray:
    """A new chunk-shaped array holding the fill value."""
    if spec.vlen is not None:
        out = np.empty(spec.shape, dtype=object)
        out.fill(
            spec.fill_value
            if spec.fill_value is not None
            else ("" if spec.vlen == "string" else b"")
        )
        return out
    return np.full(spec.shape, spec.fill_value, dtype=spec.dtype)


def _fill_bits_equal(chunk: np.ndarray, fill_value: Any) -> bool:
    c = np.ascontiguousarray(chunk).reshape(-1)
    fv = np.asarray(fill_value, dtype=chunk.dtype).reshape(1)
    width = chunk.dtype.itemsize
    if width in (1, 2, 4, 8):
        u = np.dtype(f"u{width}")
        return bool(np.all(c.view(u) == fv.view(u)[0]))
    # complex128 (16 bytes): compare as two uint64 lanes
    u8 = c.view(np.uint64).reshape(-1, width // 8)
    return bool(np.all(u8 == fv.view(np.uint64).reshape(1, -1)))


def is_all_fill(chunk: np.ndarray, fill_value: Any) -> bool:
    """Whether every element equals the fill value bit for bit (NaN payloads, -0.0 kept)."""
    if chunk.dtype.kind == "O":
        return bool(np.all(chunk == fill_value))
    if chunk.size == 0:
        return True
    if chunk.dtype.kind in "fc":
        return _fill_bits_equal(chunk, fill_value)
    if chunk.dtype.kind in "biuSU":
        return bool(np.all(chunk == np.asarray(fill_value, dtype=chunk.dtype)))
    # datetimes (NaT != NaT), structured records, raw bytes, bfloat16/float8: bit patterns
    width = chunk.dtype.itemsize
    raw = np.ascontiguousarray(chunk).reshape(-1).view(np.uint8).reshape(-1, width)
    fv = np.asarray(fill_value, dtype=chunk.dtype).reshape(1).view(np.uint8)
    return bool(np.all(raw == fv))


# --------------------------------------------------------------------------- engine
class PythonEngine:
    """Batch fetch + per-chunk codec chain on the shared thread pool."""

    def __init__(self, metadata: ArrayMetadata, store: Store, path: str) -> None:
        self.metadata = metadata
        self.store = store
        self.prefix = f"{path}/" if path else ""
        self.spec = metadata.chunk_spec
        self.chain = metadata.codec_chain
        self._locks = _KEY_LOCKS

    def key(self, coords: tuple[int, ...]) -> str:
        return self.prefix + self.metadata.chunk_key(coords)

    # ------------------------------------------------------------------ read
    def read(self, projections: Iterable[ChunkProjection], out: np.ndarray, flat_out: bool) -> None:
        """Decode every projection's chunk into ``out``.

        ``flat_out``: ``out_selection`` indexes ``out.reshape(-1)`` (vindex) instead of ``out``.
        """
        target = out.reshape(-1) if flat_out else out
        batch: list[ChunkProjection] = []
        size = max(1, config.batch_size)
        for p in projections:
            batch.append(p)
            if len(batch) >= size:
                self._read_batch(batch, target)
                batch = []
        if batch:
            self._read_batch(batch, target)

    def _read_batch(self, batch: list[ChunkProjection], out: np.ndarray) -> None:
        sharding = self.metadata.sharding
        if sharding is not None and self.store.supports_partial_reads:
            partial = [p for p in batch if not p.is_complete_chunk]
            if partial:
                map_threaded(lambda p: self._read_partial_shard(sharding, p, out), partial)
                batch = [p for p in batch if p.is_complete_chunk]
                if not batch:
                    return
        keys = [self.key(p.chunk_coords) for p in batch]

        def work(i: int) -> None:
            p, buf = batch[i], values[i]
            if buf is None:
                out[p.out_selection] = self.spec.fill_value
                return
            chunk = self._decode(buf, keys[i])
            out[p.out_selection] = chunk[p.chunk_selection]

        # Zero-copy where the store allows (LMDB, mmap): buffers live until the block ends,
        # and every decode copies into `out` inside it.
        with self.store.borrow_many(keys) as values:
            map_threaded(work, range(len(batch)))

    def _decode(self, buf: Any, key: str) -> np.ndarray:
        try:
            return self.chain.decode(buf, self.spec)
        except ZarrfastError as exc:
            if isinstance(exc, CodecError):
                raise type(exc)(f"{exc} (chunk key {key!r})") from exc
            raise
        except (ValueError, TypeError, OverflowError, MemoryError) as exc:
            raise DecodeError(f"could not decode chunk {key!r}: {exc}") from exc

    def _read_partial_shard(self, sharding: Any, p: ChunkProjection, out: np.ndarray) -> None:
        key = self.key(p.chunk_coords)

        def fetch(requests: Sequence[Any]) -> list[Any]:
            return self.store.get_ranges([(key, r) for r in requests])

        try:
            sub = sharding.decode_partial(fetch, self.spec, p.chunk_selection)
        except CodecError as exc:
            raise type(exc)(f"{exc} (shard key {key!r})") from exc
        if sub is None:
            out[p.out_selection] = self.spec.fill_value
        else:
            out[p.out_selection] = sub

    # ------------------------------------------------------------------ write
    def write(
        self,
        projections: Iterable[ChunkProjection],
        value: np.ndarray,
        flat_value: bool,
        write_empty_chunks: bool,
    ) -> None:
        src = value.reshape(-1) if flat_value else value
        batch: list[ChunkProjection] = []
        size = max(1, config.batch_size)
        for p in projections:
            batch.append(p)
            if len(batch) >= size:
                self._write_batch(batch, src, write_empty_chunks)
                batch = []
        if batch:
            self._write_batch(batch, src, write_empty_chunks)

    def _write_batch(
        self, batch: list[ChunkProjection], src: np.ndarray, write_empty: bool
    ) -> None:
        keys = [self.key(p.chunk_coords) for p in batch]
        partial_idx = [i for i, p in enumerate(batch) if not p.is_complete_chunk]
        locks = [self._locks(keys[i]) for i in partial_idx]
        # Lock in a fixed order so two writers never deadlock on each other's stripes.
        ordered = sorted(set(locks), key=id)
        for lk in ordered:
            lk.acquire()
        try:
            existing: dict[int, Any] = {}
            if partial_idx:
                vals = self.store.get_many([keys[i] for i in partial_idx])
                existing = dict(zip(partial_idx, vals))

            def build(i: int) -> tuple[str, Any]:
                p = batch[i]
                if i in existing and existing[i] is not None:
                    chunk = np.array(self._decode(existing[i], keys[i]), copy=True)
                    if not chunk.flags.writeable:
                        chunk = chunk.copy()
                else:
                    chunk = fill_chunk(self.spec)
                chunk[p.chunk_selection] = src[p.out_selection]
                if not write_empty and is_all_fill(chunk, self.spec.fill_value):
                    return keys[i], None
                try:
                    return keys[i], self.chain.encode(chunk, self.spec)
                except ZarrfastError:
                    raise
                except (ValueError, TypeError, OverflowError) as exc:
                    from zarrfast.errors import EncodeError

                    raise EncodeError(f"could not encode chunk {keys[i]!r}: {exc}") from exc

            results = map_threaded(build, range(len(batch)))
            to_set = [(k, v) for k, v in results if v is not None]
            to_delete = [k for k, v in results if v is None]
            if to_set:
                self.store.set_many(to_set)
            if to_delete:
                self.store.delete_many(to_delete)
        finally:
            for lk in reversed(ordered):
                lk.release()


_KEY_LOCKS = KeyLocks(256)


@dataclass(frozen=True)
class EngineChoice:
    """The one decision of which engine runs an array's chunk I/O.

    Attributes
    ----------
    engine
        The engine: a ``NativeEngine`` (which hands single requests it does not cover to
        its Python engine and counts them in ``engine.fallbacks`` by reason) or a
        :class:`PythonEngine`.
    native
        Whether the native engine was chosen.
    reason
        Why the whole array runs in Python (``None`` when native).
    """

    engine: Any
    native: bool
    reason: str | None

    @property
    def request_fallbacks(self) -> dict[str, int]:
        """Requests of a native array handed to the Python engine, by reason."""
        return dict(getattr(self.engine, "fallbacks", None) or {})

    def describe(self) -> str:
        """One line for ``zarrfast info``: ``native`` or ``python (reason)``."""
        if not self.native:
            return f"python ({self.reason})"
        per_request = "; ".join(f"{k}: {v}" for k, v in sorted(self.request_fallbacks.items()))
        return "native" + (f" (python for {per_request})" if per_request else "")


def choose_engine(metadata: ArrayMetadata, store: Store, path: str) -> EngineChoice:
    """Pick the engine for an array: native when its whole chain is native, else Python."""
    native_engine: Any
    try:
        from zarrfast._native import engine as native_engine
    except ImportError as exc:
        native_engine = None
        why = f"the native extension does not import ({exc})"
    python_engine = PythonEngine(metadata, store, path)
    if config.engine == "python":
        return EngineChoice(python_engine, False, "config.engine is 'python'")
    if config.engine != "auto":
        raise ValueError(f"expected config.engine 'auto' or 'python', got {config.engine!r}")
    if native_engine is None:
        return EngineChoice(python_engine, False, why)
    # The native engine hands what it does not cover (vindex/mask, orthogonal arrays)
    # to this Python engine, sharing its key locks.
    from zarrfast.abc.store import RangeByteRequest
    from zarrfast.codecs.sharding import DEFAULT_COALESCE_GAP

    eng, reason = native_engine.choose(
        metadata,
        store,
        path,
        fallback=python_engine,
        range_request=RangeByteRequest,
        coalesce_gap=DEFAULT_COALESCE_GAP,
    )
    if eng is None:
        return EngineChoice(python_engine, False, reason)
    return EngineChoice(eng, True, None)


def select_engine(metadata: ArrayMetadata, store: Store, path: str) -> Any:
    """The engine :func:`choose_engine` picks (for callers that need only the engine)."""
    return choose_engine(metadata, store, path).engine
