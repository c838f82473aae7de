"""The native engine on sharded arrays: inner-chunk tasks, whole and partial shard reads,
whole-shard writes, against numpy, the Python engine and zarr-python's layout rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zarrfast as zf
from tests.test_native._helpers import sharded_array
from zarrfast.config import set_config
from zarrfast.core.indexing import make_indexer
from zarrfast.core.pipeline import PythonEngine
from zarrfast.errors import ChecksumError, DecodeError
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")
from zarrfast._native import _pipeline


def _native(a: zf.Array) -> bool:
    return isinstance(a._engine, _pipeline.NativeEngine)


@st.composite
def _slices(draw: st.DrawFn, n: int) -> slice | int:
    if n > 0 and draw(st.integers(0, 4)) == 0:
        return draw(st.integers(-n, n - 1))
    start = draw(st.none() | st.integers(-n - 2, n + 2))
    stop = draw(st.none() | st.integers(-n - 2, n + 2))
    step = draw(st.none() | st.sampled_from([1, 2, 3, -1, -3]))
    return slice(start, stop, step)


def _sharded(shape, inner, mult, *, store, dtype="int32", fill=7, **kw) -> zf.Array:
    shards = tuple(i * m for i, m in zip(inner, mult))
    return sharded_array(store, shape, inner, shards, dtype=dtype, fill=fill, **kw)


@st.composite
def _case(draw: st.DrawFn) -> dict:
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 12)) for _ in range(ndim))
    inner = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    mult = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    return dict(
        shape=shape,
        inner=inner,
        mult=mult,
        crc=draw(st.booleans()),
        start=draw(st.booleans()),
        comp=draw(st.sampled_from(["zstd", None])),
        dtype=draw(st.sampled_from(["uint8", "int32", "float64"])),
        sels=[tuple(draw(_slices(n)) for n in shape) for _ in range(3)],
        threads=draw(st.sampled_from([1, 2])),
        seed=draw(st.integers(0, 99)),
        local=draw(st.booleans()),
    )


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(c=_case())
def test_sharded_matches_numpy_and_python_engine(c: dict, tmp_path_factory) -> None:
    store = LocalStore(tmp_path_factory.mktemp("s")) if c["local"] else MemoryStore()
    a = _sharded(
        c["shape"],
        c["inner"],
        c["mult"],
        store=store,
        dtype=c["dtype"],
        crc=c["crc"],
        start=c["start"],
        comp=c["comp"],
    )
    assert _native(a)
    rng = np.random.default_rng(c["seed"])
    ref = np.full(c["shape"], 7, dtype=a.dtype)
    with set_config(num_threads=c["threads"], batch_size=3):
        np.testing.assert_array_equal(a[...], ref)
        full = rng.integers(0, 4, size=c["shape"]).astype(a.dtype)  # many fill (7-free)
        full[full == 3] = 7
        a[...] = full  # whole shards: native encode + assemble
        ref[...] = full
        np.testing.assert_array_equal(a[...], ref)
        for sel in c["sels"]:
            np.testing.assert_array_equal(a[sel], ref[sel])  # partial shard reads
            val = rng.integers(0, 9, size=np.shape(ref[sel])).astype(a.dtype)
            a[sel] = val  # partial shards: Python read-modify-write
            ref[sel] = val
            np.testing.assert_array_equal(a[sel], ref[sel])
        np.testing.assert_array_equal(a[...], ref)
        py = PythonEngine(a.metadata, a.store, a.path)
        out = np.empty(ref.shape, dtype=a.dtype)
        py.read(make_indexer(..., a.shape, a.metadata.chunk_shape, "basic"), out, False)
        np.testing.assert_array_equal(out, ref)


def test_sharded_all_fill_shard_is_deleted_and_missing_reads_fill() -> None:
    a = _sharded((8, 8), (2, 2), (2, 2), store=MemoryStore())
    a[...] = 7
    assert a.nchunks_initialized == 0
    a[0:4, 0:4] = 1
    assert a.nchunks_initialized == 1
    exp = np.full((8, 8), 7, dtype="int32")
    exp[0:4, 0:4] = 1
    np.testing.assert_array_equal(a[...], exp)
    np.testing.assert_array_equal(a[1:7, 3:5], exp[1:7, 3:5])


def test_sharded_corrupt_index_and_inner_chunk_raise() -> None:
    store = MemoryStore()
    a = _sharded((8,), (2,), (4,), store=store)
    a[...] = np.arange(8)
    key = "c/0"
    raw = bytearray(store.get(key))
    raw[-1] ^= 0xFF  # index crc
    store.set(key, bytes(raw))
    with pytest.raises(ChecksumError, match="c/0"):
        a[...]
    with pytest.raises(ChecksumError, match="c/0"):
        a[1:3]
    a[...] = np.arange(8)
    raw = bytearray(store.get(key))
    raw[0] ^= 0xFF  # first inner chunk's zstd frame
    store.set(key, bytes(raw))
    with pytest.raises(DecodeError, match="c/0"):
        a[...]
    store.set(key, b"short")
    with pytest.raises(DecodeError, match="c/0"):
        a[...]


def test_sharded_interop_with_zarr_python(tmp_path) -> None:
    zarr = pytest.importorskip("zarr")
    a = _sharded((20, 18), (4, 3), (2, 3), store=LocalStore(tmp_path / "a"))
    data = np.arange(20 * 18, dtype="int32").reshape(20, 18)
    a[...] = data
    z = zarr.open_array(str(tmp_path / "a"), mode="r")
    np.testing.assert_array_equal(z[...], data)
    z2 = zarr.create_array(
        str(tmp_path / "b"),
        shape=(20, 18),
        chunks=(4, 3),
        shards=(8, 9),
        dtype="int32",
        fill_value=7,
    )
    z2[...] = data
    b = zf.open(str(tmp_path / "b"), mode="r")
    assert _native(b)
    np.testing.assert_array_equal(b[...], data)
    np.testing.assert_array_equal(b[3:17:2, 1:11], data[3:17:2, 1:11])
