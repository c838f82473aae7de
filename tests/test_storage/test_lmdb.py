"""LMDBStore: the shared StoreTests suite plus LMDB-specific behaviour."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

lmdb = pytest.importorskip("lmdb")

import zarrfast as zf  # noqa: E402
from zarrfast.abc.store import RangeByteRequest, SuffixByteRequest  # noqa: E402
from zarrfast.errors import (  # noqa: E402
    ContainerNotFoundError,
    InvalidKeyError,
    ReadOnlyStoreError,
    StoreClosedError,
)
from zarrfast.storage import make_store  # noqa: E402
from zarrfast.storage.lmdb import LMDBStore  # noqa: E402
from zarrfast.testing import StoreTests  # noqa: E402


class TestLMDBStore(StoreTests):
    persistent = True

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LMDBStore]:
        with LMDBStore(tmp_path / "db", sync=False) as s:
            yield s


class TestLMDBStoreSmallMap(StoreTests):
    """Same suite with a 64 KiB initial map: every big write goes through map growth."""

    persistent = True
    skip_tests = {
        "test_concurrent_writers_lose_nothing": "covered by TestLMDBStore",
        "test_concurrent_readers_see_whole_values": "covered by TestLMDBStore",
    }

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LMDBStore]:
        with LMDBStore(tmp_path / "db", map_size=1 << 16, sync=False) as s:
            yield s


# --------------------------------------------------------------------------- registry
def test_registry_name_and_flags(tmp_path: Path) -> None:
    s = make_store("lmdb", path=str(tmp_path / "db"))
    assert type(s) is LMDBStore and s.supports_transactions
    assert repr(s) == f"LMDBStore(path={str(tmp_path / 'db')!r})"
    s.close()


def test_one_environment_per_path_per_process(tmp_path: Path) -> None:
    a = LMDBStore(tmp_path / "db")
    b = LMDBStore(str(tmp_path / "db") + "/")
    c = LMDBStore(tmp_path / "db", read_only=True)
    assert a._handle is b._handle is c._handle
    a.set("k", b"v")
    assert c.get("k") == b"v"
    env = a._handle.env  # type: ignore[union-attr]
    a.close()
    b.close()
    assert c.get("k") == b"v"  # still open: c holds a reference
    c.close()
    with pytest.raises(lmdb.Error):
        env.info()  # closed with the last reference
    d = LMDBStore(tmp_path / "db")
    assert d.get("k") == b"v"
    d.close()


def test_read_only_missing_environment(tmp_path: Path) -> None:
    with pytest.raises(ContainerNotFoundError):
        LMDBStore(tmp_path / "nope", read_only=True)
    with pytest.raises(ContainerNotFoundError):
        LMDBStore(tmp_path / "nope", create=False)
    assert not (tmp_path / "nope").exists()


def test_data_layout_is_plain_zarr_keys(tmp_path: Path) -> None:
    a = zf.create((10, 10), chunks=(5, 5), dtype="i4", storage="lmdb", path=str(tmp_path / "db"))
    a[:] = np.arange(100, dtype="i4").reshape(10, 10)
    a.store.close() if hasattr(a, "store") else None
    env = lmdb.open(str(tmp_path / "db"), readonly=True, lock=False)
    with env.begin() as txn:
        keys = sorted(bytes(k).decode() for k, _ in txn.cursor())
        items = {bytes(k).decode(): bytes(v) for k, v in txn.cursor()}
    env.close()
    assert keys == ["c/0/0", "c/0/1", "c/1/0", "c/1/1", "zarr.json"]
    # Copy to a directory: zarr-python reads it as a standard store.
    zarr = pytest.importorskip("zarr")
    out = tmp_path / "dir"
    for k, v in items.items():
        (out / k).parent.mkdir(parents=True, exist_ok=True)
        (out / k).write_bytes(v)
    np.testing.assert_array_equal(
        zarr.open_array(str(out), mode="r")[:], np.arange(100).reshape(10, 10)
    )


def test_key_too_long_is_invalid(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db")
    with pytest.raises(InvalidKeyError, match="limited to 511 bytes"):
        s.set("k" * 600, b"v")
    s.close()


# --------------------------------------------------------------------------- batches
def test_set_many_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    s.set("c/0", b"old")
    calls = []
    real = s._write

    def spy(fn, nbytes=0):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(fn, nbytes)

    monkeypatch.setattr(s, "_write", spy)
    s.set_many((f"c/{i}", bytes([i]) * 100) for i in range(50))
    assert calls == [1]
    assert s.get("c/0") == bytes(100)


def test_set_many_failure_writes_nothing(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    s.set("a", b"old")

    class Boom:
        def __buffer__(self, flags):  # pragma: no cover - py3.12+
            raise RuntimeError

    with pytest.raises(TypeError):
        s.set_many([("a", b"new"), ("b", b"x"), ("c", "not bytes")])  # type: ignore[list-item]
    assert s.get("a") == b"old" and s.get("b") is None


def test_map_grows_automatically(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", map_size=1 << 16, sync=False)
    start = s.map_size
    payload = os.urandom(1 << 20)
    s.set_many([(f"c/{i}", payload) for i in range(8)])  # 8 MiB in one transaction
    assert s.map_size > start
    assert all(v == payload for v in s.get_many([f"c/{i}" for i in range(8)]))
    s.close()


def test_map_growth_waits_for_readers_in_other_threads(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", map_size=1 << 16, sync=False)
    s.set("small", b"x")
    entered, release = threading.Event(), threading.Event()

    def reader() -> None:
        with s.borrow_many(["small"]) as views:
            entered.set()
            release.wait(5)
            assert bytes(views[0]) == b"x"  # type: ignore[arg-type]

    t = threading.Thread(target=reader)
    t.start()
    entered.wait(5)
    threading.Timer(0.2, release.set).start()
    s.set("big", b"y" * (1 << 20))  # needs growth: waits for the reader to finish
    t.join()
    assert s.getsize("big") == 1 << 20


def test_growth_inside_own_borrow_raises_clearly(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", map_size=1 << 16, sync=False)
    s.set("small", b"x")
    with s.borrow_many(["small"]), pytest.raises(Exception, match="borrow_many"):
        s.set("big", b"y" * (1 << 20))
    s.set("big", b"y" * (1 << 20))
    assert s.getsize("big") == 1 << 20


def test_other_process_sees_grown_map(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", map_size=1 << 16, sync=False)
    s.set("a", b"1")
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_grow_in_child, args=(str(tmp_path / "db"),))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert s.getsize("big") == 4 << 20  # MDB_MAP_RESIZED handled
    s.set("after", b"ok")
    assert s.get("after") == b"ok"


def _grow_in_child(path: str) -> None:
    s = LMDBStore(path, map_size=1 << 16, sync=False)
    s.set("big", b"z" * (4 << 20))
    s.close()


# --------------------------------------------------------------------------- reads
def test_borrow_many_is_zero_copy_and_released(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db")
    s.set("big", b"q" * 100_000)
    with s.borrow_many(["big", "missing"]) as (view, missing):
        assert isinstance(view, memoryview) and view.readonly and missing is None
        assert view.nbytes == 100_000 and view[:3] == b"qqq"
        np.frombuffer(view, dtype="u1")  # usable by decoders as-is
    with pytest.raises(ValueError):
        view[0]


def test_get_returns_owned_bytes_and_ranges(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db")
    s.set("k", b"0123456789")
    assert type(s.get("k")) is bytes
    assert s.get("k", RangeByteRequest(2, 4)) == b"23"
    assert s.get("k", SuffixByteRequest(3)) == b"789"


def test_list_dir_skips_subdirectories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    s.set_many(
        [(f"a/c/{i}/{j}", b"") for i in range(20) for j in range(200)] + [("a/zarr.json", b"")]
    )
    moves: list[object] = []

    class CountingCursor:
        def __init__(self, cur: lmdb.Cursor) -> None:
            self._cur = cur

        def __enter__(self) -> CountingCursor:
            return self

        def __exit__(self, *exc: object) -> None:
            self._cur.close()

        def set_range(self, k: bytes) -> bool:
            moves.append(k)
            return self._cur.set_range(k)

        def next(self) -> bool:
            moves.append(None)
            return self._cur.next()

        def key(self) -> bytes:
            return self._cur.key()

    class CountingTxn:
        def __init__(self, txn: lmdb.Transaction) -> None:
            self._txn = txn

        def cursor(self) -> CountingCursor:
            return CountingCursor(self._txn.cursor())

    real = s._read_txn

    @contextlib.contextmanager
    def counting(buffers: bool) -> Iterator[CountingTxn]:
        with real(buffers) as txn:
            yield CountingTxn(txn)

    monkeypatch.setattr(s, "_read_txn", counting)
    assert sorted(s.list_dir("a/c/")) == sorted(str(i) for i in range(20))
    assert len(moves) == 21  # one seek per child (+ the first), not 4000 steps
    moves.clear()
    assert sorted(s.list_dir("a/")) == ["c", "zarr.json"]
    assert len(moves) <= 3
    assert list(s.list_dir("")) == ["a"]


# --------------------------------------------------------------------------- transactions
def test_transaction_commits_atomically(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    other = LMDBStore(tmp_path / "db", sync=False)
    s.set("a", b"old")
    with s.transaction():
        s.set("a", b"new")
        s.set_many([("b", b"1"), ("c", b"2")])
        s.delete("a")
        s.set("a", b"newer")
        assert s.get("a") == b"newer" and s.exists("b")
        assert sorted(s.list()) == ["a", "b", "c"]
        assert other.get("a") == b"old" and other.get("b") is None
    assert other.get("a") == b"newer" and other.get("c") == b"2"


def test_transaction_is_one_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    calls = []
    real = s._write
    monkeypatch.setattr(s, "_write", lambda fn, nbytes=0: (calls.append(1), real(fn, nbytes))[1])
    with s.transaction():
        for i in range(10):
            s.set(f"k{i}", b"v")
        s.delete_many(["k1", "k2"])
        assert s.delete_prefix("k") == 8
        s.set("k3", b"again")
    assert calls == [1]
    assert list(s.list()) == ["k3"]


def test_transaction_exception_leaves_no_trace(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    s.set("a", b"old")
    with pytest.raises(RuntimeError, match="boom"), s.transaction():
        s.set("a", b"new")
        s.set("b", b"x")
        s.delete_prefix("")
        raise RuntimeError("boom")
    assert s.get("a") == b"old" and s.get("b") is None and list(s.list()) == ["a"]
    assert not s.in_transaction


def test_nested_transaction_joins_outer_with_savepoint(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    peer = LMDBStore(tmp_path / "db", sync=False)
    with s.transaction():
        s.set("outer", b"1")
        with s.transaction():
            s.set("inner", b"2")
        assert peer.get("inner") is None  # joined: nothing committed yet
        with pytest.raises(KeyError), s.transaction():
            s.set("rolled-back", b"3")
            raise KeyError("x")
        assert s.get("rolled-back") is None and s.get("inner") == b"2"
    assert sorted(peer.list()) == ["inner", "outer"]


def test_transaction_visible_to_worker_threads(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    with s.transaction():
        ts = [threading.Thread(target=s.set, args=(f"t{i}", b"v")) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert LMDBStore(tmp_path / "db").get("t0") is None
        assert s.get_many([f"t{i}" for i in range(8)]) == [b"v"] * 8
    assert len(list(s.list())) == 8


def test_array_transaction(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    a = zf.create((20,), chunks=(5,), dtype="i8", storage="lmdb", path=path, fill_value=0)
    a[:] = 1
    reader = zf.open(storage="lmdb", path=path, mode="r")
    with a.transaction():
        a[:10] = 2
        a[10:] = 3
        np.testing.assert_array_equal(a[:], [2] * 10 + [3] * 10)
        np.testing.assert_array_equal(reader[:], [1] * 20)
    np.testing.assert_array_equal(reader[:], [2] * 10 + [3] * 10)
    with pytest.raises(ZeroDivisionError), a.transaction():
        a[:] = 9
        raise ZeroDivisionError("abort the transaction")
    np.testing.assert_array_equal(reader[:], [2] * 10 + [3] * 10)


def test_transaction_on_read_only_store(tmp_path: Path) -> None:
    LMDBStore(tmp_path / "db").set("a", b"1")
    ro = LMDBStore(tmp_path / "db", read_only=True)
    with pytest.raises(ReadOnlyStoreError), ro.transaction():
        pass


# --------------------------------------------------------------------------- processes
def _child_write(path: str, start: int) -> None:
    s = LMDBStore(path, sync=False)
    s.set_many([(f"p/{start + i}", str(start + i).encode()) for i in range(100)])
    s.close()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pickled_store_in_other_processes(tmp_path: Path, method: str) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    s.set("before", b"x")  # the parent's environment is open before the fork
    ctx = multiprocessing.get_context(method)
    procs = [
        ctx.Process(target=_child_write, args=(str(tmp_path / "db"), 100 * i)) for i in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(list(s.list_prefix("p/"))) == 300
    assert s.get("p/250") == b"250"
    assert pickle.loads(pickle.dumps(s)) == s


def _forked_uses_inherited(store: LMDBStore, q: object) -> None:
    store.set("child", str(os.getpid()).encode())
    q.put(store.get("before"))  # type: ignore[attr-defined]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_inherited_store_reopens_after_fork(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db", sync=False)
    s.set("before", b"b")
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_forked_uses_inherited, args=(s, q))
    p.start()
    assert q.get(timeout=30) == b"b"
    p.join(30)
    assert p.exitcode == 0
    assert s.get("child") == str(p.pid).encode()
    s.set("after", b"a")  # the parent's environment still works
    assert s.get("after") == b"a"


def test_closed_store(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db")
    s.close()
    with pytest.raises(StoreClosedError):
        s.get("a")
