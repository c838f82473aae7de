"""Native whole-shard file writes (C workers assemble each shard and write it temp +
rename) and the native shard-index parser, against numpy, the Python engine, zarr-python's
layout rules and a SIGKILLed writer."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import zarrfast as zf
from tests.test_native._helpers import read_only_dir, sharded_array, sigkill_when_ready
from zarrfast.config import set_config
from zarrfast.core.pipeline import PythonEngine
from zarrfast.errors import ChecksumError, DecodeError
from zarrfast.storage.local import TEMP_PREFIX, LocalStore
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")
from zarrfast._native import _pipeline

REPO = Path(__file__).resolve().parents[2]


def _temps(root: Path) -> list[str]:
    return [f for _d, _s, files in os.walk(root) for f in files if f.startswith(TEMP_PREFIX)]


def _sharded(
    store, shape=(24, 20), inner=(4, 5), shards=(8, 10), *, dtype="int32", fill=0, **kw
) -> zf.Array:
    return sharded_array(store, shape, inner, shards, dtype=dtype, fill=fill, **kw)


def _python_copy(a: zf.Array) -> zf.Array:
    """The same array read through the Python engine only."""
    b = zf.open(store=a.store, mode="r")
    b._engine = PythonEngine(b.metadata, b.store, b.path)
    return b


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for d, _s, files in os.walk(root):
        for f in files:
            p = Path(d) / f
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


@pytest.mark.parametrize("crc", [False, True])
@pytest.mark.parametrize("start", [False, True])
@pytest.mark.parametrize("comp", [None, "zstd", "gzip+crc"])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_shard_file_writes_match_python_engine(tmp_path: Path, crc, start, comp, threads) -> None:
    rng = np.random.default_rng(threads)
    v = rng.integers(0, 3, size=(24, 20)).astype("i4")
    v[:8, :10] = 0  # one whole shard of fill: deleted
    v[8:12, 0:5] = 0  # one inner chunk of fill: absent in its shard
    a = _sharded(LocalStore(tmp_path / "n"), crc=crc, start=start, comp=comp)
    assert isinstance(a._engine, _pipeline.NativeEngine)
    with set_config(num_threads=threads):
        a[...] = v
        np.testing.assert_array_equal(a[...], v)
    np.testing.assert_array_equal(_python_copy(a)[...], v)
    # byte for byte what the Python sharding codec writes
    ref = _sharded(LocalStore(tmp_path / "p"), crc=crc, start=start, comp=comp)
    ref._engine = PythonEngine(ref.metadata, ref.store, ref.path)
    ref[...] = v
    assert _files(tmp_path / "n") == _files(tmp_path / "p")
    assert not (tmp_path / "n" / "c" / "0" / "0").exists()
    assert _temps(tmp_path) == []


def test_shard_file_writes_big_endian_and_write_empty(tmp_path: Path) -> None:
    codecs = [
        {
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": [4, 4],
                "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "big"}}],
                "index_location": "start",
            },
        }
    ]
    for write_empty in (False, True):
        root = tmp_path / str(write_empty)
        a = zf.create(
            shape=(16, 16),
            chunks=(8, 8),
            dtype=">u2",
            codecs=codecs,
            store=LocalStore(root),
            fill_value=5,
            write_empty_chunks=write_empty,
        )
        with set_config(num_threads=2):
            a[...] = np.full((16, 16), 5, ">u2")
            np.testing.assert_array_equal(a[...], np.full((16, 16), 5, ">u2"))
            # all-fill shards: kept (all inner chunks absent) only with write_empty_chunks
            assert (root / "c" / "0" / "0").exists() == write_empty
            v = np.arange(256, dtype=">u2").reshape(16, 16)
            a[...] = v
            np.testing.assert_array_equal(a[...], v)
            np.testing.assert_array_equal(_python_copy(a)[...], v)


def test_shard_file_writes_recreate_pruned_directories(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    a = _sharded(store)
    v = np.arange(24 * 20, dtype="i4").reshape(24, 20) + 1
    with set_config(num_threads=2):
        a[...] = v
        store.delete_prefix("c/")  # directories the store remembers vanish
        a[...] = v
        np.testing.assert_array_equal(a[...], v)
    assert _temps(tmp_path) == []


def test_shard_file_write_error_names_key(tmp_path: Path) -> None:
    a = _sharded(LocalStore(tmp_path / "s"))
    with set_config(num_threads=2):
        a[...] = 1
        with read_only_dir(tmp_path / "s" / "c" / "0"), pytest.raises(OSError, match="c/0/"):
            a[...] = 2
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("start", [False, True])
def test_native_index_parser_rejects_corrupt_indexes(tmp_path: Path, local, start) -> None:
    store = LocalStore(tmp_path / "s") if local else MemoryStore()
    a = _sharded(store, start=start)
    a[...] = np.arange(24 * 20, dtype="i4").reshape(24, 20)
    key = "c/1/1"
    good = bytes(store.get(key))
    k = 16 * 4 + 4  # 2 x 2 inner chunks per shard
    ipos = 0 if start else len(good) - k
    # a flipped index byte: checksum mismatch (whole-shard and partial reads)
    bad = bytearray(good)
    bad[ipos + 3] ^= 0xFF
    store.set(key, bytes(bad))
    with pytest.raises(ChecksumError, match=key):
        a[...]
    with pytest.raises(ChecksumError, match=key):
        a[8:10, 10:12]
    # an entry pointing past the shard with a valid checksum: DecodeError
    a2 = _sharded(
        MemoryStore() if not local else LocalStore(tmp_path / "t"), start=start, crc=False
    )
    a2[...] = 1
    st2 = a2.store
    raw = bytearray(bytes(st2.get(key)))
    ipos = 0 if start else len(raw) - 16 * 4
    raw[ipos : ipos + 8] = (len(raw) * 4).to_bytes(8, "little")
    st2.set(key, bytes(raw))
    with pytest.raises(DecodeError, match=key):
        a2[...]
    with pytest.raises(DecodeError, match=key):
        a2[8:10, 10:12]
    # truncated shard: shorter than its index
    st2.set(key, b"\x00" * 7)
    with pytest.raises(DecodeError, match=key):
        a2[...]


_WRITER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.storage.local import LocalStore
a = zf.open(store=LocalStore(sys.argv[2]), mode="r+")
print("ready", flush=True)
g = int(sys.argv[3])
part = sys.argv[4] == "partial"
with set_config(num_threads=2):
    while True:
        g += 1
        if part:  # every shard read-modify-written (one inner chunk row/col kept)
            a[2:, 2:] = np.full((a.shape[0] - 2, a.shape[1] - 2), g, dtype="i4")
        else:
            a[...] = np.full(a.shape, g, dtype="i4")
"""


@pytest.mark.parametrize("mode", ["whole", "partial"])
def test_sigkilled_native_shard_writer_leaves_whole_shards(tmp_path: Path, mode) -> None:
    path = tmp_path / "s"
    a = _sharded(LocalStore(path), shape=(64, 64), inner=(4, 4), shards=(16, 16))
    with set_config(num_threads=2):
        a[...] = 1
    last = 1
    for _ in range(4):
        sigkill_when_ready([_WRITER, str(REPO), str(path), str(last), mode])
        b = zf.open(store=LocalStore(path, read_only=True))
        keys = [f"c/{i}/{j}" for i in range(4) for j in range(4)]
        assert sorted(b.store.list_prefix("c/")) == sorted(keys)
        gens = set()
        o = 2 if mode == "partial" else 0
        for i in range(4):
            for j in range(4):
                lo0, lo1 = max(16 * i, o), max(16 * j, o)
                block = b[lo0 : 16 * i + 16, lo1 : 16 * j + 16]  # a torn shard fails
                assert len(np.unique(block)) == 1, (i, j)
                gens.add(int(block[0, 0]))
        assert max(gens) - min(gens) <= 1 and min(gens) >= last
        last = max(gens)


@pytest.mark.parametrize("start", [False, True])
@pytest.mark.parametrize("comp", [None, "zstd"])
@pytest.mark.parametrize("threads", [1, 2])
def test_memory_shards_match_python_engine_bytes(start, comp, threads) -> None:
    """Memory stores keep the parallel inner-chunk encode + parallel compaction path; the
    stored shards are byte for byte the Python sharding codec's (exact size)."""
    rng = np.random.default_rng(7)
    v = rng.integers(0, 3, size=(24, 20)).astype("i4")
    v[:8, :10] = 0
    v[8:12, 0:5] = 0
    a = _sharded(MemoryStore(), crc=True, start=start, comp=comp)
    ref = _sharded(MemoryStore(), crc=True, start=start, comp=comp)
    ref._engine = PythonEngine(ref.metadata, ref.store, ref.path)
    with set_config(num_threads=threads):
        a[...] = v
        ref[...] = v
        np.testing.assert_array_equal(a[...], v)
    keys = sorted(a.store.list_prefix("c/"))
    assert keys == sorted(ref.store.list_prefix("c/"))
    assert "c/0/0" not in keys
    for k in keys:
        assert bytes(a.store.get(k)) == bytes(ref.store.get(k)), k


def _no_fallback_writes(a: zf.Array) -> None:
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the native engine handed a write to the Python engine")

    a._engine.fallback.write = refuse


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("start", [False, True])
@pytest.mark.parametrize("comp", [None, "zstd", "gzip+crc"])
@pytest.mark.parametrize("threads", [1, 2])
def test_partial_shard_writes_native(tmp_path: Path, local, start, comp, threads) -> None:
    """Read-modify-write of partly covered shards in the native engine: values match
    numpy, and the stored shards are byte for byte what the Python engine writes."""

    def make(sub: str) -> zf.Array:
        store = LocalStore(tmp_path / sub) if local else MemoryStore()
        return _sharded(
            store, shape=(26, 23), inner=(4, 5), shards=(8, 10), start=start, comp=comp, fill=3
        )

    a = make("n")
    ref = make("p")
    ref._engine = PythonEngine(ref.metadata, ref.store, ref.path)
    _no_fallback_writes(a)
    expect = np.full((26, 23), 3, dtype="i4")
    rng = np.random.default_rng(threads)
    sels = [
        (slice(1, 25), slice(2, 21)),
        (slice(None), slice(None)),
        (slice(3, 4), 7),
        (slice(0, 9), slice(0, 11)),
        (slice(25, 2, -3), slice(None, None, 2)),
        (5, slice(None)),
        (slice(8, 16), slice(10, 20)),
        (slice(0, 26), slice(4, 6)),
    ]
    with set_config(num_threads=threads):
        for sel in sels:
            v = rng.integers(0, 5, size=expect[sel].shape).astype("i4")
            a[sel] = v
            ref[sel] = v
            expect[sel] = v
            np.testing.assert_array_equal(a[...], expect)
        a[0:8, 0:10] = 3  # one whole shard back to fill (deleted), via a partial write
        ref[0:8, 0:10] = 3
        a[8:11, 0:4] = 3  # one inner chunk back to fill inside a kept shard
        ref[8:11, 0:4] = 3
        expect[0:8, 0:10] = 3
        expect[8:11, 0:4] = 3
        np.testing.assert_array_equal(a[...], expect)
    np.testing.assert_array_equal(_python_copy(a)[...], expect)
    keys = sorted(a.store.list_prefix("c/"))
    assert keys == sorted(ref.store.list_prefix("c/"))
    assert "c/0/0" not in keys
    for k in keys:
        assert bytes(a.store.get(k)) == bytes(ref.store.get(k)), k
    if local:
        assert _temps(tmp_path) == []


def test_partial_shard_write_rejects_corrupt_old_shard() -> None:
    a = _sharded(MemoryStore())
    a[...] = 1
    raw = bytearray(bytes(a.store.get("c/1/1")))
    raw[-3] ^= 0xFF  # the index checksum
    a.store.set("c/1/1", bytes(raw))
    _no_fallback_writes(a)
    with pytest.raises(ChecksumError, match="c/1/1"):
        a[9:10, 11:12] = 5
    a.store.set("c/1/1", b"\x00" * 5)
    with pytest.raises(DecodeError, match="c/1/1"):
        a[9:10, 11:12] = 5


@pytest.mark.parametrize(
    "shape,dtype",
    [((3, 5), "i4"), ((256, 1024), "<u2"), ((64, 64, 64), ">f8"), ((600, 600), "c16")],
)
def test_aligned_empty(shape, dtype) -> None:
    from zarrfast.core.pipeline import aligned_empty

    out = aligned_empty(shape, dtype)
    assert out.shape == shape and out.dtype == np.dtype(dtype) and out.flags.c_contiguous
    assert out.flags.writeable
    if out.nbytes >= 1 << 20:
        assert out.__array_interface__["data"][0] % 64 == 0
    out[...] = 1
    assert (out == 1).all()


# ------------------------------------------------------------------ partial shard reads
@pytest.mark.parametrize("start", [False, True])
@pytest.mark.parametrize("comp", [None, "zstd", "gzip+crc"])
@pytest.mark.parametrize("threads", [1, 2])
def test_partial_shard_file_reads_match_python_engine(
    tmp_path: Path, start, comp, threads, monkeypatch
) -> None:
    """Boxes, points, strided and oindex reads that need part of a shard: the workers
    pread the inner chunks from the open shard files (zf_batch_decode_ranges)."""
    a = _sharded(LocalStore(tmp_path / "s"), start=start, comp=comp)
    data = np.arange(24 * 20, dtype="i4").reshape(24, 20) * 7 - 100
    a[...] = data
    a.store.delete("c/2/0")  # a missing shard: fill
    a[0:4, 0:5] = 0  # an all-fill inner chunk: absent in its shard
    want = data.copy()
    want[16:24, 0:10] = 0
    want[0:4, 0:5] = 0
    ref = _python_copy(a)
    for sel in [(slice(1, 7), slice(3, 18)), (5, 13), (slice(15, 23), slice(0, 12))]:
        np.testing.assert_array_equal(ref[sel], want[sel])  # the Python engine agrees

    def no_ranged_reads(self, requests):  # the workers pread; the store is not asked
        raise AssertionError(f"ranged read through the store: {requests[:2]}")

    monkeypatch.setattr(LocalStore, "get_ranges", no_ranged_reads)
    sels = [
        (slice(1, 7), slice(3, 18)),
        (5, 13),
        (slice(None, None, 3), slice(2, 19, 5)),
        (slice(15, 23), slice(0, 12)),
        (23, 19),
    ]
    with set_config(num_threads=threads):
        for sel in sels:
            np.testing.assert_array_equal(a[sel], want[sel])
        rows, cols = np.array([0, 9, 17, 3]), np.array([19, 1, 11])
        np.testing.assert_array_equal(a.oindex[rows, cols], want[np.ix_(rows, cols)])
    assert a.engine.request_fallbacks == {}


def test_partial_shard_file_reads_of_odd_files(tmp_path: Path) -> None:
    """A shard that is a directory reads as missing (as LocalStore.get has it); a shard
    cut inside an inner chunk its index names, or shorter than its index, is a
    DecodeError naming the key; the files are closed either way."""
    a = _sharded(LocalStore(tmp_path / "s"), crc=False)
    a[...] = np.arange(24 * 20, dtype="i4").reshape(24, 20)
    root = tmp_path / "s"
    shard = root / "c" / "1" / "1"
    good = shard.read_bytes()
    shard.unlink()
    shard.mkdir()
    np.testing.assert_array_equal(a[8:10, 10:12], np.zeros((2, 2), "i4"))
    shard.rmdir()
    # keep the index (at the end), cut the payload: the last inner chunk runs past the end
    k = 16 * 4
    shard.write_bytes(good[: len(good) - k - 9] + good[len(good) - k :])
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(DecodeError, match="c/1/1"):
        a[15:16, 19:20]
    shard.write_bytes(good[:5])
    with pytest.raises(DecodeError, match="c/1/1"):
        a[8:10, 10:12]
    assert len(os.listdir("/proc/self/fd")) == before


def test_partial_shard_file_reads_map_permission_errors(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    a = _sharded(LocalStore(tmp_path / "s"))
    a[...] = 1
    shard = tmp_path / "s" / "c" / "0" / "0"
    shard.chmod(0)
    try:
        with pytest.raises(PermissionError):
            a[1:3, 1:3]
    finally:
        shard.chmod(0o644)
