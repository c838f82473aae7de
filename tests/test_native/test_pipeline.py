"""The native batch engine against numpy and the Python engine."""

from __future__ import annotations

import multiprocessing
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.core.indexing import make_indexer
from zarrfast.core.pipeline import PythonEngine
from zarrfast.errors import ChecksumError, DecodeError
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")
from zarrfast._native import _pipeline
from zarrfast._native.engine import maybe_engine

DTYPES = [
    "bool",
    "int8",
    "uint16",
    "int32",
    "uint64",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
COMPRESSORS = [None, "zstd", "blosc", "gzip", "lz4"]


def _native(a: zf.Array) -> bool:
    return isinstance(a._engine, _pipeline.NativeEngine)


def _values(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, size=shape)
    if np.dtype(dtype).kind == "c":
        return (x + 1j * rng.integers(0, 3, size=shape)).astype(dtype)
    return x.astype(dtype)


@st.composite
def _slices(draw: st.DrawFn, n: int) -> slice | int:
    if draw(st.booleans()) and n > 0 and draw(st.integers(0, 3)) == 0:
        return draw(st.integers(-n, n - 1))
    start = draw(st.none() | st.integers(-n - 2, n + 2))
    stop = draw(st.none() | st.integers(-n - 2, n + 2))
    step = draw(st.none() | st.sampled_from([1, 2, 3, -1, -2, 5]))
    return slice(start, stop, step)


@st.composite
def _case(draw: st.DrawFn) -> dict:
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    fmt = draw(st.sampled_from([2, 3]))
    dtype = draw(st.sampled_from(DTYPES))
    if fmt == 2 and np.dtype(dtype).itemsize > 1 and draw(st.booleans()):
        dtype = np.dtype(dtype).newbyteorder(">").str
    order = draw(st.sampled_from("CF")) if fmt == 2 else "C"
    transpose = fmt == 3 and ndim > 1 and draw(st.booleans())
    comp = draw(st.sampled_from(COMPRESSORS))
    crc = fmt == 3 and draw(st.booleans())
    sels = [tuple(draw(_slices(n)) for n in shape) for _ in range(2)]
    return dict(
        shape=shape,
        chunks=chunks,
        fmt=fmt,
        dtype=dtype,
        order=order,
        transpose=transpose,
        comp=comp,
        crc=crc,
        sels=sels,
        threads=draw(st.sampled_from([1, 2])),
        seed=draw(st.integers(0, 99)),
    )


def _make(c: dict) -> zf.Array:
    kw: dict = dict(
        shape=c["shape"],
        chunks=c["chunks"],
        dtype=c["dtype"],
        zarr_format=c["fmt"],
        store=MemoryStore(),
        fill_value=1,
    )
    if c["fmt"] == 3 and (c["transpose"] or c["crc"]):
        codecs: list = []
        if c["transpose"]:
            codecs.append(
                {
                    "name": "transpose",
                    "configuration": {"order": list(range(len(c["shape"])))[::-1]},
                }
            )
        codecs.append({"name": "bytes", "configuration": {"endian": "little"}})
        if c["comp"] == "zstd":
            codecs.append({"name": "zstd", "configuration": {"level": 1}})
        if c["crc"]:
            codecs.append({"name": "crc32c"})
        kw["codecs"] = codecs
    else:
        kw["compressor"] = c["comp"]
        kw["order"] = c["order"]
    return zf.create(**kw)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_matches_numpy_and_python_engine(c: dict) -> None:
    a = _make(c)
    assert _native(a)
    ref = np.full(c["shape"], 1, dtype=a.dtype)
    with set_config(num_threads=c["threads"], batch_size=3):
        for i, sel in enumerate(c["sels"]):
            target = ref[sel]
            val = _values(np.shape(target), a.dtype.str, c["seed"] + i)
            a[sel] = val
            ref[sel] = val
            np.testing.assert_array_equal(a[...], ref)
            np.testing.assert_array_equal(a[sel], ref[sel])
        # the Python engine reads what the native one wrote, and vice versa
        py = PythonEngine(a.metadata, a.store, a.path)
        out = np.empty(ref.shape, dtype=a.dtype)
        py.read(make_indexer(..., a.shape, a.metadata.chunk_shape, "basic"), out, False)
        np.testing.assert_array_equal(out, ref)
        for sel in c["sels"]:
            np.testing.assert_array_equal(a[sel], ref[sel])


def test_missing_chunks_fill_and_fill_chunks_are_deleted() -> None:
    a = zf.create(
        shape=(10, 10), chunks=(4, 4), dtype="float64", fill_value=-0.5, store=MemoryStore()
    )
    assert _native(a)
    np.testing.assert_array_equal(a[...], np.full((10, 10), -0.5))
    a[...] = -0.5
    assert a.nchunks_initialized == 0
    a[0:4, 0:4] = 3.0
    assert a.nchunks_initialized == 1
    a[0:4, 0:4] = -0.5
    assert a.nchunks_initialized == 0
    b = zf.create(
        shape=(10, 10),
        chunks=(4, 4),
        dtype="float64",
        fill_value=-0.5,
        store=MemoryStore(),
        write_empty_chunks=True,
    )
    b[...] = -0.5
    assert b.nchunks_initialized == 9


def test_orthogonal_and_vindex_fall_back_correctly() -> None:
    a = zf.create(shape=(20, 30), chunks=(7, 8), dtype="int32", store=MemoryStore())
    ref = np.arange(600, dtype="int32").reshape(20, 30)
    a[...] = ref
    np.testing.assert_array_equal(a.oindex[[1, 5, 19], ::4], ref[[1, 5, 19]][:, ::4])
    np.testing.assert_array_equal(a.vindex[[1, 5, 19], [0, 29, 3]], ref[[1, 5, 19], [0, 29, 3]])
    a.vindex[[2, 3], [4, 5]] = [-1, -2]
    ref[[2, 3], [4, 5]] = [-1, -2]
    np.testing.assert_array_equal(a[...], ref)


@pytest.mark.parametrize(
    "codecs,exc",
    [
        ([{"name": "bytes"}, {"name": "zstd"}], DecodeError),
        ([{"name": "bytes"}, {"name": "crc32c"}], ChecksumError),
        ([{"name": "bytes"}], DecodeError),
        ([{"name": "bytes"}, {"name": "blosc", "configuration": {"cname": "lz4"}}], DecodeError),
    ],
)
def test_corrupt_chunk_names_the_key(codecs: list, exc: type) -> None:
    store = MemoryStore()
    a = zf.create(shape=(8, 8), chunks=(4, 4), dtype="uint16", codecs=codecs, store=store)
    a[...] = np.arange(64, dtype="uint16").reshape(8, 8)
    raw = bytearray(store.get("c/1/0"))
    raw[len(raw) // 2] ^= 0xFF
    for bad in (bytes(raw), bytes(raw[:-3]), b"", bytes(raw) + b"xx"):
        store.set("c/1/0", bad)
        if bad == bytes(raw) and exc is not ChecksumError:
            continue  # without a checksum a flipped byte may still decode
        expected = exc if bad == bytes(raw) else (DecodeError, ChecksumError)
        with pytest.raises(expected, match="c/1/0"):
            a[...]
        with pytest.raises((DecodeError, ChecksumError), match="c/1/0"):
            a[5, 0:2] = 7  # partial write reads the old chunk


def _child_read(q: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    arr = zf.create(shape=(64, 64), chunks=(8, 8), dtype="int64", store=MemoryStore())
    arr[...] = 3
    q.put(int(arr[...].sum()))


def test_fork_child_reads_without_deadlock() -> None:
    a = zf.create(shape=(64, 64), chunks=(8, 8), dtype="int64", store=MemoryStore())
    with set_config(num_threads=2):
        a[...] = 1
        assert a[...].sum() == 64 * 64
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_child_read, args=(q,))
        p.start()
        p.join(30)
        assert p.exitcode == 0
        assert q.get(timeout=5) == 3 * 64 * 64


class _CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.max_live = 0

    def get_many(self, keys):  # type: ignore[no-untyped-def]
        self.batches += 1
        return super().get_many(keys)

    def set_many(self, items):  # type: ignore[no-untyped-def]
        items = list(items)
        self.max_live = max(self.max_live, len(items))
        self.batches += 1
        return super().set_many(items)


def test_batches_not_per_chunk_calls() -> None:
    store = _CountingStore()
    a = zf.create(shape=(256, 256), chunks=(8, 8), dtype="float32", compressor=None, store=store)
    store.batches = 0
    with set_config(batch_size=256):
        a[...] = 1.5
        assert store.batches == 1024 // 256
        assert store.max_live <= 256
        store.batches = 0
        a[...]
        assert store.batches == 1024 // 256


def test_whole_array_write_memory_is_bounded() -> None:
    data = np.ones((512, 512), dtype="float64")
    a = zf.create(
        shape=data.shape, chunks=(16, 16), dtype="float64", compressor="zstd", store=MemoryStore()
    )
    with set_config(batch_size=64):
        tracemalloc.start()
        a[...] = data
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # 64 pre-sized outputs of one chunk bound each, far below a second copy (2 MiB)
    assert peak < data.nbytes // 2


def test_maybe_engine_declines_without_fallback_or_native_chain() -> None:
    a = zf.create(shape=(4,), chunks=(2,), dtype="int32", store=MemoryStore())
    assert maybe_engine(a.metadata, a.store, a.path) is None
    s = zf.create(shape=(8,), chunks=(2,), shards=(4,), dtype="int32", store=MemoryStore())
    assert _native(s)  # sharded arrays with a native inner chain run natively too
    s[...] = np.arange(8)
    np.testing.assert_array_equal(s[...], np.arange(8))
