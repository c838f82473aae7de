"""Native file writes (LocalStore.native_write_paths), trusted MemoryStore batches and the
raw-decode ceiling helper, against numpy and the stores' own semantics."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import zarrfast as zf
from tests.test_native._helpers import read_only_dir, sigkill_when_ready
from zarrfast.config import set_config
from zarrfast.errors import DecodeError, InvalidKeyError
from zarrfast.storage.local import TEMP_PREFIX, LocalStore
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")
from zarrfast._native import _codecs, _pipeline

REPO = Path(__file__).resolve().parents[2]
CODECS = {
    None: [{"name": "bytes", "configuration": {"endian": "little"}}],
    "zstd": [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 1}},
    ],
    "crc": [
        {"name": "bytes", "configuration": {"endian": "big"}},
        {"name": "gzip", "configuration": {"level": 1}},
        {"name": "crc32c"},
    ],
}


def _temps(root: Path) -> list[str]:
    return [f for _d, _s, files in os.walk(root) for f in files if f.startswith(TEMP_PREFIX)]


def _arr(store, shape=(37, 29), chunks=(8, 5), comp=None, fmt=3):
    if fmt == 2:
        return zf.create(
            shape,
            chunks=chunks,
            dtype="i4",
            zarr_format=2,
            store=store,
            fill_value=0,
            compressor=None,
        )
    return zf.create(
        shape, chunks=chunks, dtype="i4", codecs=CODECS[comp], store=store, fill_value=0
    )


def _native(a) -> bool:
    return isinstance(a._engine, _pipeline.NativeEngine)


@pytest.mark.parametrize("comp", list(CODECS))
@pytest.mark.parametrize("fsync", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_native_file_writes_match_numpy(tmp_path: Path, comp, fsync, threads) -> None:
    store = LocalStore(tmp_path / "s", fsync=fsync)
    a = _arr(store, comp=comp)
    assert _native(a)
    ref = np.zeros(a.shape, "i4")
    rng = np.random.default_rng(3)
    sels = [
        (slice(None), slice(None)),
        (slice(3, 30), slice(2, 19)),
        (slice(5, 6), 4),
        (slice(None, None, 3), slice(1, None, 2)),
        (slice(0, 16), slice(0, 10)),
    ]
    with set_config(num_threads=threads):
        for i, sel in enumerate(sels):
            v = rng.integers(1, 100, size=ref[sel].shape).astype("i4")
            if i == 4:
                v[...] = 0  # all fill: whole chunks are deleted
            a[sel] = v
            ref[sel] = v
            np.testing.assert_array_equal(a[...], ref)
    assert _temps(tmp_path) == []
    # all-fill chunks are deleted, not stored
    assert not store.exists("c/0/0") and not store.exists("c/1/1")
    # a fresh reader through the store sees the same
    b = zf.open(store=LocalStore(tmp_path / "s", read_only=True))
    np.testing.assert_array_equal(b[...], ref)


def test_native_write_paths_declines(tmp_path: Path) -> None:
    class Custom(LocalStore):
        def _write(self, path, data):  # type: ignore[no-untyped-def]
            return super()._write(path, data)

    LocalStore(tmp_path / "s").set("x", b"1")
    assert LocalStore(tmp_path / "s", read_only=True).native_write_paths(["c/0"]) is None
    assert Custom(tmp_path / "s").native_write_paths(["c/0"]) is None
    s = LocalStore(tmp_path / "s")
    paths = s.native_write_paths(["a/b/c", "d"])
    root = tmp_path / "s"
    assert paths == [os.fsencode(root / "a" / "b" / "c"), os.fsencode(root / "d")]
    assert (tmp_path / "s" / "a" / "b").is_dir()
    with pytest.raises(InvalidKeyError):
        s.native_write_paths(["../x"])
    # a subclass that writes differently still gets correct results via the store
    a = _arr(Custom(tmp_path / "t"))
    a[...] = np.arange(37 * 29, dtype="i4").reshape(37, 29)
    np.testing.assert_array_equal(a[...], np.arange(37 * 29, dtype="i4").reshape(37, 29))


def test_native_write_recreates_pruned_directories(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    a = _arr(store, fmt=3)
    v = np.arange(37 * 29, dtype="i4").reshape(37, 29) + 1
    a[...] = v
    # directories the store remembers vanish behind its back (a concurrent delete)
    store.delete_prefix("c/")
    a[...] = v
    np.testing.assert_array_equal(a[...], v)
    store.delete_prefix("c/")
    a[5:30, 3:20] = v[5:30, 3:20]  # partial chunks: read-modify-write
    ref = np.zeros_like(v)
    ref[5:30, 3:20] = v[5:30, 3:20]
    np.testing.assert_array_equal(a[...], ref)
    assert _temps(tmp_path) == []


def test_native_write_error_names_key(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    a = _arr(store)
    a[...] = 1
    with read_only_dir(tmp_path / "s" / "c" / "0"), pytest.raises(OSError, match="c/0/"):
        a[...] = 2
    assert _temps(tmp_path) == []


_WRITER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import zarrfast as zf
from zarrfast.storage.local import LocalStore
a = zf.open(store=LocalStore(sys.argv[2]), mode="r+")
print("ready", flush=True)
g = int(sys.argv[3])
while True:
    g += 1
    a[...] = np.full(a.shape, g, dtype="i4")
"""


def test_sigkilled_native_writer_leaves_whole_chunks(tmp_path: Path) -> None:
    path = tmp_path / "s"
    a = _arr(LocalStore(path), shape=(64, 64), chunks=(4, 4), comp="zstd")
    a[...] = 1
    assert _native(a)
    last = 1
    for _ in range(4):
        sigkill_when_ready([_WRITER, str(REPO), str(path), str(last)])
        b = zf.open(store=LocalStore(path, read_only=True))
        store = b.store
        keys = [f"c/{i}/{j}" for i in range(16) for j in range(16)]
        assert sorted(k for k in store.list_prefix("c/")) == sorted(keys)
        gens = set()
        for k in keys:
            i, j = map(int, k.split("/")[1:])
            block = b[4 * i : 4 * i + 4, 4 * j : 4 * j + 4]  # decodes: a torn file would fail
            assert len(np.unique(block)) == 1, k
            gens.add(int(block[0, 0]))
        assert max(gens) - min(gens) <= 1 and min(gens) >= last
        last = max(gens)


@pytest.mark.parametrize("fmt", [2, 3])
def test_trusted_memory_batches(fmt) -> None:
    store = MemoryStore()
    a = _arr(store, shape=(40, 33), chunks=(4, 4), fmt=fmt)
    assert _native(a)
    v = np.arange(40 * 33, dtype="i4").reshape(40, 33)
    for _ in range(2):  # second round uses the cached key list
        a[...] = v
        np.testing.assert_array_equal(a[...], v)
        np.testing.assert_array_equal(a[3:17, 5:30], v[3:17, 5:30])
    a[...] = 0
    meta = (".json", ".zarray", ".zattrs")
    assert [k for k in store.list_prefix("") if not k.endswith(meta)] == []
    # the public API still validates
    with pytest.raises(InvalidKeyError):
        store.get_many(["../x"])
    with pytest.raises(InvalidKeyError):
        store.set_many([("a//b", b"1")])


@pytest.mark.parametrize("kind", ["zstd", "gzip", None])
def test_decode_raw_into(kind) -> None:
    rng = np.random.default_rng(0)
    chunks = [rng.integers(0, 4, 1000).astype("u2").tobytes() for _ in range(9)]
    enc = chunks if kind is None else [_codecs.encode(kind, (1,), c) for c in chunks]
    out = np.zeros(9 * 2000, "u1")
    code = None if kind is None else _codecs.KINDS[kind]
    with set_config(num_threads=2):
        _pipeline.decode_raw_into(code, (), enc, out, 2000)
    assert out.tobytes() == b"".join(chunks)
    with pytest.raises(ValueError):
        _pipeline.decode_raw_into(code, (), enc, out[:100], 2000)
    if kind is not None:
        with pytest.raises(DecodeError):
            _pipeline.decode_raw_into(code, (), [b"junk" * 10], out, 2000)
