"""LocalStore: the shared StoreTests suite plus filesystem-specific behaviour."""

from __future__ import annotations

import errno
import mmap
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zarrfast.abc.store import RangeByteRequest, SuffixByteRequest
from zarrfast.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    InvalidKeyError,
    StoreError,
)
from zarrfast.storage import local as local_module
from zarrfast.storage.local import TEMP_PREFIX, LocalStore, map_os_error
from zarrfast.testing import StoreTests

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class TestLocalStore(StoreTests):
    persistent = True

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LocalStore]:
        with LocalStore(tmp_path / "root") as s:
            yield s


class TestLocalStoreFsync(StoreTests):
    """The suite again with ``fsync=True``, on the tests that write the most."""

    persistent = True
    keys_per_thread = 10

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LocalStore]:
        with LocalStore(tmp_path / "root", fsync=True) as s:
            yield s


def _temp_files(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob(f"{TEMP_PREFIX}*")]


# --------------------------------------------------------------------------- layout
def test_backend_name_and_root(tmp_path: Path) -> None:
    s = LocalStore(str(tmp_path))
    assert LocalStore.backend_name == "filesystem"
    assert isinstance(s.root, Path) and s.root == tmp_path.absolute()


def test_keys_map_to_files(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    s.set("c/0/1", b"chunk")
    s.set(".zarray", b"{}")
    s.set("arr/0.1", b"v2")
    assert (tmp_path / "c" / "0" / "1").read_bytes() == b"chunk"
    assert (tmp_path / ".zarray").read_bytes() == b"{}"
    assert (tmp_path / "arr" / "0.1").read_bytes() == b"v2"


def test_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = LocalStore("data")
    assert s.root == tmp_path / "data"
    assert s == LocalStore(tmp_path / "data")
    assert s != LocalStore(tmp_path / "data", fsync=True)


def test_repr_and_pickle_config(tmp_path: Path) -> None:
    s = LocalStore(tmp_path, read_only=True)
    assert repr(s) == f"LocalStore(root={str(tmp_path)!r}, read_only=True)"
    assert s._pickle_config() == {
        "root": str(tmp_path),
        "read_only": True,
        "mkdir": True,
        "fsync": False,
    }
    clone = pickle.loads(pickle.dumps(s))
    assert clone == s and clone.read_only


# --------------------------------------------------------------------------- root handling
def test_missing_root_read_only_raises_container_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ContainerNotFoundError, match="nope") as info:
        LocalStore(missing, read_only=True)
    assert isinstance(info.value, FileNotFoundError)
    assert not missing.exists()


def test_missing_root_without_mkdir_raises(tmp_path: Path) -> None:
    with pytest.raises(ContainerNotFoundError, match="nope"):
        LocalStore(tmp_path / "nope", mkdir=False)


def test_root_created_on_first_write_not_on_open(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "root"
    s = LocalStore(root)
    assert s.get("k") is None
    assert not s.exists("k")
    assert list(s.list()) == [] and list(s.list_dir("")) == []
    assert s.delete_prefix("") == 0
    assert not root.exists()
    s.set("k", b"v")
    assert (root / "k").read_bytes() == b"v"


def test_root_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_bytes(b"")
    with pytest.raises(StoreError, match="expected a directory"):
        LocalStore(f)


def test_root_deleted_after_open_without_mkdir(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    s = LocalStore(root, mkdir=False)
    root.rmdir()
    with pytest.raises(ContainerNotFoundError):
        s.set("a/b", b"v")


# --------------------------------------------------------------------------- atomic writes
def test_failed_replace_keeps_old_value_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = LocalStore(tmp_path)
    s.set("c/0", b"old value")

    def boom(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(StoreError, match="c/0"):
        s.set("c/0", b"new value that never lands")
    monkeypatch.undo()
    assert s.get("c/0") == b"old value"
    assert list(s.list()) == ["c/0"]
    assert _temp_files(tmp_path) == []


def test_failure_mid_write_keeps_old_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = LocalStore(tmp_path)
    s.set("k", b"A" * 100_000)
    real_write = os.write
    calls = []

    def half_then_fail(fd: int, data: memoryview) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_fail)
    with pytest.raises(StoreError, match="No space left"):
        s.set("k", b"B" * 100_000)
    monkeypatch.undo()
    assert len(calls) == 2
    assert s.get("k") == b"A" * 100_000
    assert _temp_files(tmp_path) == []


def test_crash_leftovers_are_ignored_and_reserved(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    s.set("a/b", b"1")
    (tmp_path / f"{TEMP_PREFIX}123-456-abc").write_bytes(b"torn")
    (tmp_path / "a" / f"{TEMP_PREFIX}999-1-ff").write_bytes(b"torn")
    (tmp_path / f"{TEMP_PREFIX}del-1-2-3").mkdir()
    (tmp_path / f"{TEMP_PREFIX}del-1-2-3" / "x").write_bytes(b"")
    assert list(s.list()) == ["a/b"]
    assert list(s.list_dir("")) == ["a"]
    assert list(s.list_dir("a")) == ["b"]
    assert s.getsize_prefix("") == 1
    with pytest.raises(InvalidKeyError, match="reserved"):
        s.set(f"{TEMP_PREFIX}x", b"")
    with pytest.raises(InvalidKeyError, match="reserved"):
        s.get(f"a/{TEMP_PREFIX}999-1-ff")
    # a directory holding a crash leftover is not pruned from under it
    s.delete("a/b")
    assert (tmp_path / "a" / f"{TEMP_PREFIX}999-1-ff").exists()


def test_fsync_flushes_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    LocalStore(tmp_path, fsync=False).set("a", b"1")
    assert synced == []
    s = LocalStore(tmp_path, fsync=True)
    assert s.fsync
    s.set("b/c", b"2")
    assert len(synced) == 2  # the temp file before the rename, the directory after


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from zarrfast.storage.local import LocalStore

    store = LocalStore(sys.argv[2])
    sizes = [3 * 2**20 + 1, 5 * 2**20 + 3, 2**20 + 7, 11]
    i = 0
    while True:
        n = sizes[i % len(sizes)]
        fill = 1 + i % 250
        store.set("hot", n.to_bytes(8, "little") + bytes([fill]) * n)
        if i == 0:
            print("ready", flush=True)
        i += 1
    """
)


def _check_self_describing(value: bytes | None) -> None:
    assert value is not None and len(value) >= 9
    n = int.from_bytes(value[:8], "little")
    assert len(value) == 8 + n, f"torn value: header says {n} bytes, found {len(value) - 8}"
    body = value[8:]
    assert body.count(body[:1]) == n, "torn value: mixed fill bytes"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkilled_writer_never_leaves_a_torn_value(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "root"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(REPO), str(root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    s = LocalStore(root, read_only=True)
    _check_self_describing(memoryview(s.get("hot")).tobytes())  # type: ignore[arg-type]
    assert list(s.list()) == ["hot"]  # any temp file the kill left behind is hidden


# --------------------------------------------------------------------------- errors
def test_map_os_error_permission() -> None:
    exc = PermissionError(errno.EACCES, "Permission denied", "/data/x/c/0/.zftmp-1")
    err = map_os_error(exc, "writing", "/data/x/c/0/0")
    assert isinstance(err, AccessDeniedError) and isinstance(err, PermissionError)
    assert str(err) == "permission denied writing '/data/x/c/0/0'"
    assert err.errno == errno.EACCES


def test_map_os_error_read_only_filesystem() -> None:
    err = map_os_error(OSError(errno.EROFS, "Read-only file system"), "deleting", "/m/k")
    assert isinstance(err, AccessDeniedError)
    assert str(err) == "permission denied deleting '/m/k' (Read-only file system)"


def test_map_os_error_other() -> None:
    err = map_os_error(OSError(errno.EIO, "Input/output error"), "reading", Path("/d/k"))
    assert type(err) is StoreError and isinstance(err, OSError)
    assert str(err) == "error reading '/d/k': Input/output error"
    assert err.errno == errno.EIO


def test_permission_error_is_mapped_on_the_write_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Works as root too: inject EACCES where the OS would raise it.
    s = LocalStore(tmp_path)
    s.set("c/0/0", b"old")
    real_open = os.open

    def deny(path: str, flags: int, *args: int) -> int:
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(local_module.os, "open", deny)
    expected = f"permission denied writing '{tmp_path / 'c' / '0' / '0'}'"
    with pytest.raises(AccessDeniedError) as info:
        s.set("c/0/0", b"new")
    assert str(info.value) == expected
    monkeypatch.undo()
    assert s.get("c/0/0") == b"old"


def test_permission_error_is_mapped_on_the_read_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = LocalStore(tmp_path)
    s.set("k", b"v")

    def deny(path: str, flags: int, *args: int) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(local_module.os, "open", deny)
    with pytest.raises(AccessDeniedError, match=r"permission denied reading '.*k'"):
        s.get("k")
    with pytest.raises(AccessDeniedError, match="permission denied reading"):
        s.get("k", RangeByteRequest(0, 1))


@pytest.mark.skipif(
    IS_ROOT,
    reason="running as root: chmod 0o500 does not deny root; "
    "test_permission_error_is_mapped_on_the_write_path covers the mapping",
)
def test_permission_denied_by_directory_mode(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    s.set("x/c/0/0", b"old")
    locked = tmp_path / "x" / "c" / "0"
    locked.chmod(0o500)
    try:
        with pytest.raises(AccessDeniedError) as info:
            s.set("x/c/0/0", b"new")
        assert str(info.value) == f"permission denied writing '{locked / '0'}'"
        with pytest.raises(AccessDeniedError, match="permission denied deleting"):
            s.delete("x/c/0/0")
    finally:
        locked.chmod(0o700)
    assert s.get("x/c/0/0") == b"old"


def test_write_under_a_value_names_the_path(tmp_path: Path) -> None:
    # A regular file where a directory is needed: ENOTDIR, reported as a StoreError.
    s = LocalStore(tmp_path)
    s.set("a", b"file")
    with pytest.raises(StoreError, match=r"error writing '.*a/b/c'"):
        s.set("a/b/c", b"v")
    assert s.get("a/b/c") is None and s.get("a") == b"file"


def test_write_over_a_directory_names_the_path(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    s.set("d/x", b"1")
    with pytest.raises(StoreError, match=r"error writing '.*d'"):
        s.set("d", b"v")
    assert s.get("d/x") == b"1"


# --------------------------------------------------------------------------- reads
def test_byte_range_uses_pread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = LocalStore(tmp_path)
    s.set("k", bytes(range(256)) * 4096)
    calls = []
    real_pread = os.pread

    def spy(fd: int, n: int, offset: int) -> bytes:
        calls.append((n, offset))
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", spy)
    assert s.get("k", RangeByteRequest(1000, 1010)) == bytes(range(256))[1000 % 256 :][:10]
    assert s.get("k", SuffixByteRequest(5)) == bytes(range(251, 256))
    assert calls == [(10, 1000), (5, 256 * 4096 - 5)]


def test_get_many_large_batch_uses_pool(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    items = {f"c/{i}": bytes([i % 256]) * i for i in range(100)}
    s.set_many(items.items())
    assert s._pool is not None  # the batch went through the pool
    assert s.get_many(list(items)) == list(items.values())
    s.close()
    assert s._pool is None


# --------------------------------------------------------------------------- borrow_many
def test_borrow_many_mmaps_large_files(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    big = bytes(range(256)) * 8192  # 2 MiB
    s.set("big", big)
    s.set("small", b"tiny")
    with s.borrow_many(["big", "small", "missing"]) as (vbig, vsmall, vmissing):
        assert isinstance(vbig, memoryview) and isinstance(vbig.obj, mmap.mmap)
        assert vbig.readonly and vbig == big
        assert vsmall == b"tiny" and vmissing is None
        # a concurrent overwrite replaces the file; the map keeps the old value
        s.set("big", b"replaced")
        assert vbig[:4] == big[:4] and len(vbig) == len(big)
    with pytest.raises(ValueError):
        vbig[0]  # released when the block exited
    assert s.get("big") == b"replaced"


def test_borrow_many_tolerates_leaked_exports(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    s.set("big", b"x" * (2 << 20))
    with s.borrow_many(["big"]) as (view,):
        leaked = memoryview(view)[:10]  # type: ignore[arg-type]
    assert bytes(leaked) == b"x" * 10  # still mapped: not closed under the caller
    leaked.release()


# --------------------------------------------------------------------------- deletes
def test_delete_removes_empty_parents_but_not_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    s = LocalStore(root)
    s.set("a/b/c/d", b"1")
    s.set("a/x", b"2")
    s.delete("a/b/c/d")
    assert not (root / "a" / "b").exists()
    assert (root / "a" / "x").exists()
    s.delete("a/x")
    assert root.is_dir() and list(root.iterdir()) == []


def test_delete_prefix_removes_directories(tmp_path: Path) -> None:
    root = tmp_path / "root"
    s = LocalStore(root)
    s.set_many([("g/a/c/0", b"1"), ("g/a/c/1", b"2"), ("g/b", b"3")])
    assert s.delete_prefix("g/a/") == 2
    assert not (root / "g" / "a").exists()
    assert sorted(os.listdir(root / "g")) == ["b"]
    assert s.delete_prefix("g/") == 1
    assert root.is_dir() and list(root.iterdir()) == []


def test_delete_prefix_through_a_file_is_zero(tmp_path: Path) -> None:
    s = LocalStore(tmp_path)
    s.set("f", b"1")
    assert s.delete_prefix("f/x/") == 0
    assert s.delete_prefix("f/x") == 0
    assert s.get("f") == b"1"


def test_key_escaping_root_is_rejected(tmp_path: Path) -> None:
    s = LocalStore(tmp_path / "root")
    for key in ("../x", "a/../../x", "/etc/passwd"):
        with pytest.raises(InvalidKeyError):
            s.set(key, b"v")
    assert not (tmp_path / "x").exists()
