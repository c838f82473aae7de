"""Whole-shard writes to in-memory stores (zf_shard_encode_mem): every shard encoded by
the C workers straight into the bytes object that is stored, compared byte for byte with
what the Python engine writes and value for value with numpy."""

from __future__ import annotations

import numpy as np
import pytest

import zarrfast as zf
from tests.test_native._helpers import sharded_array
from zarrfast.config import set_config
from zarrfast.errors import EncodeError
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")
from zarrfast._native import _codecs, _pipeline
from zarrfast._native.engine import build_plan

ABSENT = 0xFFFFFFFFFFFFFFFF


def _sharded(shape, inner, mult, *, store=None, dtype="uint16", fill=7, **kw) -> zf.Array:
    shards = tuple(i * m for i, m in zip(inner, mult))
    store = store if store is not None else MemoryStore()
    return sharded_array(store, shape, inner, shards, dtype=dtype, fill=fill, **kw)


def _pair(shape, inner, mult, **kw) -> tuple[zf.Array, zf.Array]:
    """The same array twice: on the native engine, and forced onto the Python engine."""
    a = _sharded(shape, inner, mult, **kw)
    b = _sharded(shape, inner, mult, **kw)
    assert isinstance(a._engine, _pipeline.NativeEngine)
    b._engine = b._engine.fallback  # the PythonEngine the native one wraps
    return a, b


def _contents(a: zf.Array) -> dict[str, bytes]:
    s = a.store
    return {k: bytes(s.get(k)) for k in s.list_prefix("c")}


def _index(raw: bytes, ninner: int, start: bool, crc: bool) -> np.ndarray:
    n = 16 * ninner + (4 if crc else 0)
    idx = raw[:n] if start else raw[len(raw) - n :]
    return np.frombuffer(idx[: 16 * ninner], dtype="<u8").reshape(ninner, 2)


def _value(shape, dtype, seed, fill=7, fill_share=0.3) -> np.ndarray:
    """Values with runs of the fill value long enough to leave whole inner chunks empty."""
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 50, size=shape).astype(dtype)
    v[v == fill] = fill + 1
    flat = v.reshape(-1)
    cut = int(flat.size * fill_share)
    flat[:cut] = fill  # the leading inner chunks: all fill
    return v


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "shape,inner,mult",
    [
        ((37, 23), (4, 5), (3, 2)),  # edge shards with partial and absent inner chunks
        ((64, 64), (8, 8), (8, 8)),  # one shard of 64 inner chunks (split across workers)
        ((48, 16, 9), (4, 4, 3), (4, 2, 3)),  # 3 shards, 3-d
        ((40,), (3,), (5,)),  # 1-d, an edge shard whose last inner chunks are outside
    ],
)
@pytest.mark.parametrize(
    "start,crc,comp",
    [(False, True, "zstd"), (True, False, None), (True, True, "crc"), (False, False, "zstd")],
)
def test_whole_shards_match_python_engine_bytes(
    threads, shape, inner, mult, start, crc, comp
) -> None:
    a, b = _pair(shape, inner, mult, start=start, crc=crc, comp=comp)
    v = _value(shape, a.dtype, seed=sum(shape) + threads)
    with set_config(num_threads=threads):
        a[...] = v
        b[...] = v
        np.testing.assert_array_equal(a[...], v)
    assert _contents(a) == _contents(b)


@pytest.mark.parametrize("write_empty", [False, True])
def test_all_fill_inner_chunks_absent_and_empty_shards(write_empty) -> None:
    shape, inner, mult = (32, 16), (4, 4), (4, 2)  # shards 16x8: 2x2 shards of 4x2 chunks
    a, b = _pair(shape, inner, mult, write_empty=write_empty, start=False, crc=True)
    v = np.full(shape, 7, dtype="uint16")
    v[0:4, 4:8] = 1  # shard (0, 0): only inner chunk (0, 1)
    v[20:22, 9] = 2  # shard (1, 1): only inner chunk (1, 0), flat index 2
    with set_config(num_threads=2):
        a[...] = v
        b[...] = v
    got = _contents(a)
    assert got == _contents(b)
    if write_empty:
        assert sorted(got) == ["c/0/0", "c/0/1", "c/1/0", "c/1/1"]
        for k in ("c/0/1", "c/1/0"):  # nothing but the index, every entry absent
            assert len(got[k]) == 16 * 8 + 4
            assert (_index(got[k], 8, False, True) == ABSENT).all()
    else:
        assert sorted(got) == ["c/0/0", "c/1/1"]
    idx = _index(got["c/0/0"], 8, False, True)
    present = [i for i in range(8) if idx[i, 0] != ABSENT]
    assert present == [1]
    assert idx[1, 0] == 0  # the first (and only) chunk starts the shard
    assert idx[1, 1] == len(got["c/0/0"]) - (16 * 8 + 4)
    assert [i for i in range(8) if _index(got["c/1/1"], 8, False, True)[i, 0] != ABSENT] == [2]
    np.testing.assert_array_equal(a[...], v)
    # overwrite with all fill: every shard deleted (or kept empty with write_empty)
    with set_config(num_threads=2):
        a[...] = 7
    assert len(_contents(a)) == (4 if write_empty else 0)
    np.testing.assert_array_equal(a[...], np.full(shape, 7, dtype="uint16"))


@pytest.mark.parametrize("threads", [1, 2])
def test_partial_then_whole_shard_writes(threads) -> None:
    shape, inner, mult = (30, 26), (4, 4), (2, 3)
    a, b = _pair(shape, inner, mult, crc=True)
    ref = np.full(shape, 7, dtype="uint16")
    rng = np.random.default_rng(3)
    with set_config(num_threads=threads):
        for sel in [
            (slice(3, 17), slice(5, 25)),
            (slice(None), slice(0, 12)),
            (slice(8, 24), slice(None)),
            (slice(0, 16), slice(0, 24)),
        ]:
            val = rng.integers(0, 9, size=ref[sel].shape).astype("uint16")
            a[sel] = val
            b[sel] = val
            ref[sel] = val
            np.testing.assert_array_equal(a[...], ref)
            np.testing.assert_array_equal(b[...], ref)
        whole = _value(shape, "uint16", seed=4)
        a[...] = whole
        b[...] = whole
    np.testing.assert_array_equal(a[...], whole)
    assert _contents(a) == _contents(b)


@pytest.mark.parametrize("batch_bytes", [1, 20_000])
def test_groups_and_split_shards(batch_bytes) -> None:
    """Tiny batch budgets: one shard per group, each split into runs for the workers."""
    shape, inner, mult = (40, 40), (4, 4), (5, 5)
    a, b = _pair(shape, inner, mult)
    v = _value(shape, "uint16", seed=5)
    with set_config(num_threads=2, batch_bytes=batch_bytes):
        a[...] = v
    with set_config(num_threads=1):
        b[...] = v
    assert _contents(a) == _contents(b)
    np.testing.assert_array_equal(a[...], v)


class _PlainStore(MemoryStore):
    """A MemoryStore subclass with its own set_many: no trusted fast path."""

    def set_many(self, items):
        super().set_many(list(items))


def test_untrusted_store_goes_through_set_many() -> None:
    shape, inner, mult = (32, 32), (4, 4), (2, 2)
    a = _sharded(shape, inner, mult, store=_PlainStore())
    b = _sharded(shape, inner, mult)
    v = _value(shape, "uint16", seed=6)
    with set_config(num_threads=2, batch_bytes=1):
        a[...] = v
        b[...] = v
    assert _contents(a) == _contents(b)
    np.testing.assert_array_equal(a[...], v)


def test_large_shard_matches_python_engine() -> None:
    """A shard buffer above the huge-page advice threshold (4 MiB of capacity)."""
    shape, inner, mult = (512, 2048), (128, 256), (4, 8)
    a, b = _pair(shape, inner, mult, dtype="uint32", fill=0)
    rng = np.random.default_rng(7)
    v = np.arange(shape[0] * shape[1], dtype="uint32").reshape(shape) // 3 + rng.integers(
        0, 4, size=shape, dtype="uint32"
    )
    v[:128, :256] = 0  # inner chunk 0 is all fill: absent
    with set_config(num_threads=2):
        a[...] = v
        b[...] = v
    assert _contents(a) == _contents(b)
    np.testing.assert_array_equal(a[...], v)


def test_codec_error_is_an_encode_error_naming_the_inner_chunk() -> None:
    store = MemoryStore()
    a = _sharded((16, 16), (4, 4), (2, 2), store=store, comp="zstd")
    plan = build_plan(a.metadata, dict(_codecs.KINDS))
    kind, params = plan["codecs"][-1]
    plan["codecs"][-1] = (kind, (99, *params[1:]))  # zstd level 99: refused by the encoder
    eng = a._engine
    a._engine = _pipeline.NativeEngine(
        a.metadata, store, eng.prefix.rstrip("/"), eng.fallback, plan
    )
    v = _value((16, 16), "uint16", seed=8, fill_share=0.0)
    for threads in (1, 2):
        with (
            set_config(num_threads=threads),
            pytest.raises(EncodeError, match=r"c/0/0, inner chunk 0.*invalid codec parameter"),
        ):
            a[...] = v
    assert list(store.list_prefix("c")) == []  # nothing of a failed group is stored
