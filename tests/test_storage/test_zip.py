"""ZipStore: the shared StoreTests suite, write-once rules and zarr-python interop."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.abc.store import RangeByteRequest, SuffixByteRequest
from zarrfast.errors import (
    ContainerNotFoundError,
    ContainsNodeError,
    ReadOnlyStoreError,
    UnsupportedOperationError,
)
from zarrfast.storage import make_store
from zarrfast.storage.zip import ZipStore
from zarrfast.testing import StoreTests


class TestZipStore(StoreTests):
    # Zip members cannot be rewritten or removed: overwrite tests expect the clear error
    # instead (supports_overwrite=False) and delete tests skip (supports_deletes=False).
    supports_overwrite = False
    persistent = True
    skip_tests = {
        "test_concurrent_writes_and_deletes_in_shared_directories": "write-once store",
    }

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[ZipStore]:
        with ZipStore(tmp_path / "s.zip", mode="w") as s:
            yield s

    def test_get_result_owns_its_memory(self, store: ZipStore) -> None:  # type: ignore[override]
        # The base test overwrites and deletes the key; a zip cannot.
        store.set("k", b"abc")
        out = store.get("k")
        assert out is not None and memoryview(out).tobytes() == b"abc"

    def test_set_rejects_non_buffer_value(self, store: ZipStore) -> None:  # type: ignore[override]
        with pytest.raises(TypeError):
            store.set("k", "a str is not bytes")  # type: ignore[arg-type]
        assert store.get("k") is None

    def test_get_missing_under_existing_key_returns_none(self, store: ZipStore) -> None:  # type: ignore[override]
        store.set("a", b"x")
        assert store.get("a/b") is None and store.exists("a/b") is False


# --------------------------------------------------------------------------- write once
def test_write_once_errors_are_clear(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    s = ZipStore(path, mode="w")
    s.set("c/0/0", b"1")
    with pytest.raises(UnsupportedOperationError) as info:
        s.set("c/0/0", b"2")
    assert str(info.value) == f"zip stores are write-once: key 'c/0/0' already exists in '{path}'"
    with pytest.raises(UnsupportedOperationError, match="cannot delete key 'c/0/0'"):
        s.delete("c/0/0")
    with pytest.raises(UnsupportedOperationError, match="write-once"):
        s.delete_prefix("c/")
    with pytest.raises(UnsupportedOperationError):
        s.set_many([("new", b"1"), ("new", b"2")])
    s.delete("missing")  # nothing to delete: not an error
    assert s.get("new") is None and s.get("c/0/0") == b"1"
    s.close()
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["c/0/0"]


def test_modes(tmp_path: Path) -> None:
    path = tmp_path / "m.zip"
    with pytest.raises(ContainerNotFoundError):
        ZipStore(path, mode="r")
    with ZipStore(path, mode="x") as s:
        s.set("a", b"1")
    with pytest.raises(ContainsNodeError):
        ZipStore(path, mode="x")
    with ZipStore(path) as s:  # "a"
        s.set("b", b"2")
    with ZipStore(path, mode="r") as s:
        assert s.read_only and sorted(s.list()) == ["a", "b"]
        with pytest.raises(ReadOnlyStoreError):
            s.set("c", b"3")
    with ZipStore(path, mode="w") as s:
        assert list(s.list()) == []
    mtime = os.stat(path).st_mtime_ns
    with ZipStore(path) as s:  # append mode, but nothing written: file untouched
        assert list(s.list()) == []
    assert os.stat(path).st_mtime_ns == mtime


def test_byte_ranges_use_pread_without_extracting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.zip"
    with ZipStore(path, mode="w") as s:
        s.set("big", bytes(range(256)) * 4096)
    s = ZipStore(path, mode="r")
    calls = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: (calls.append(n), real(fd, n, off))[1])
    assert s.get("big", RangeByteRequest(1000, 1010)) == (bytes(range(256)) * 4)[1000:1010]
    assert s.get("big", SuffixByteRequest(3)) == bytes([253, 254, 255])
    assert max(calls) <= 30  # the local header and the ranges, never the whole member
    s.close()


def test_deflated_members_and_hostile_names(tmp_path: Path) -> None:
    path = tmp_path / "h.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zarr.json", b"{}" * 1000)
        z.writestr("../evil", b"x")
        z.writestr("/abs", b"y")
        z.writestr("a/../../b", b"z")
    s = ZipStore(path, mode="r")
    assert list(s.list()) == ["zarr.json"]
    assert s.get("zarr.json") == b"{}" * 1000
    assert s.get("zarr.json", RangeByteRequest(1, 3)) == b"}{"
    assert sorted(s.refused_members) == ["../evil", "/abs", "a/../../b"]
    assert not (tmp_path.parent / "evil").exists()


def test_same_process_readers_share_the_writer(tmp_path: Path) -> None:
    path = str(tmp_path / "a.zip")
    a = zf.create((10, 10), chunks=(5, 5), dtype="i4", storage="zip", path=path)
    a[:] = np.arange(100, dtype="i4").reshape(10, 10)
    b = zf.open(storage="zip", path=path, mode="r")
    np.testing.assert_array_equal(b[:], np.arange(100).reshape(10, 10))
    with pytest.raises(UnsupportedOperationError, match="write-once"):
        a[0, 0] = 7  # rewriting a written chunk
    del a, b  # stores collected: the central directory is written
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["c/0/0", "c/0/1", "c/1/0", "c/1/1", "zarr.json"]
    c = zf.open(storage="zip", path=path)
    np.testing.assert_array_equal(c[:], np.arange(100).reshape(10, 10))


def test_pickle_never_truncates(tmp_path: Path) -> None:
    s = ZipStore(tmp_path / "p.zip", mode="w")
    s.set("a", b"1")
    clone = pickle.loads(pickle.dumps(s))
    assert clone.get("a") == b"1" and clone == s
    assert make_store("zip", path=str(tmp_path / "p.zip")).get("a") == b"1"


# --------------------------------------------------------------------------- interop
zarr = pytest.importorskip("zarr")


def test_zarr_python_reads_our_zip(tmp_path: Path) -> None:
    path = str(tmp_path / "ours.zip")
    data = np.arange(24 * 30, dtype="f8").reshape(24, 30)
    a = zf.create(data.shape, chunks=(10, 7), dtype="f8", storage="zip", path=path)
    a[:] = data
    a.store.close() if hasattr(a, "store") else a._store.close()
    store = zarr.storage.ZipStore(path, mode="r")
    np.testing.assert_array_equal(zarr.open_array(store, mode="r")[:], data)
    store.close()


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_we_read_zarr_python_zip(tmp_path: Path, zarr_format: int) -> None:
    path = str(tmp_path / "theirs.zip")
    data = np.arange(50 * 40, dtype="i2").reshape(50, 40)
    store = zarr.storage.ZipStore(path, mode="w")
    arr = zarr.create_array(
        store, shape=data.shape, chunks=(16, 16), dtype="i2", zarr_format=zarr_format
    )
    arr[:] = data
    store.close()
    b = zf.open(storage="zip", path=path, mode="r")
    np.testing.assert_array_equal(b[:], data)
    np.testing.assert_array_equal(b[5:20, 3:33], data[5:20, 3:33])


def _zarr_dir(tmp_path: Path) -> tuple[Path, np.ndarray]:
    root = tmp_path / "data.zarr"
    data = np.arange(30 * 30, dtype="u4").reshape(30, 30)
    g = zarr.open_group(str(root), mode="w")
    g.create_array("x", shape=data.shape, chunks=(8, 8), dtype="u4")[:] = data
    return root, data


def _zip_like_zip_r(src: Path, dest: Path) -> None:
    """What ``cd src && zip -r dest .`` does: directory entries, then files."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            rel = os.path.relpath(dirpath, src)
            if rel != ".":
                z.write(dirpath, rel + "/")
            for f in sorted(filenames):
                z.write(os.path.join(dirpath, f), os.path.normpath(os.path.join(rel, f)))


@pytest.mark.parametrize("how", ["python", "zip-cli"])
def test_zip_r_of_a_zarr_directory(tmp_path: Path, how: str) -> None:
    root, data = _zarr_dir(tmp_path)
    out = tmp_path / "archive.zip"
    if how == "zip-cli":
        if shutil.which("zip") is None:
            pytest.skip("the zip command-line tool is not installed")
        subprocess.run(["zip", "-r", "-q", str(out), "."], cwd=root, check=True)
    else:
        _zip_like_zip_r(root, out)
    arr = zf.open(storage="zip", path=str(out), mode="r")
    assert isinstance(arr, zf.Group)
    np.testing.assert_array_equal(
        zf.open(store=ZipStore(out, mode="r"), path="x", mode="r")[:], data
    )
    # From the parent directory the hierarchy sits under "data.zarr/".
    if how == "zip-cli":
        out2 = tmp_path / "archive2.zip"
        subprocess.run(["zip", "-r", "-q", str(out2), "data.zarr"], cwd=tmp_path, check=True)
        a2 = zf.open(store=ZipStore(out2, mode="r"), path="data.zarr/x", mode="r")
        np.testing.assert_array_equal(a2[:], data)


def test_other_process_reads_after_flush(tmp_path: Path) -> None:
    path = tmp_path / "f.zip"
    s = ZipStore(path, mode="w")
    s.set("a", b"1")
    s.flush()
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from zarrfast.storage.zip import ZipStore;"
        "s = ZipStore(sys.argv[2], mode='r'); print(sorted(s.list()))"
    )
    repo = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code, repo, str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['a']"
    s.set("b", b"2")
    s.close()
    out = subprocess.run(
        [sys.executable, "-c", code, repo, str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['a', 'b']"
