"""Crash safety and multi-process concurrency of the LMDB and filesystem stores.

* A writer process SIGKILLed at random points during many batch writes leaves every
  chunk entirely in one generation, and the store opens and reads cleanly afterwards;
  for LMDB every chunk of a ``set_many`` batch is from the same generation.
* Several processes writing disjoint chunk-aligned regions of one array lose nothing.
* A transaction that raises (or whose process is killed) leaves no trace.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.storage.local import LocalStore

lmdb = pytest.importorskip("lmdb")

from zarrfast.storage.lmdb import LMDBStore  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
N_CHUNKS = 64
CHUNK_BYTES = 16 * 1024

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    kind, path, n, size = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if kind == "lmdb":
        from zarrfast.storage.lmdb import LMDBStore
        store = LMDBStore(path, sync=False)
    else:
        from zarrfast.storage.local import LocalStore
        store = LocalStore(path)

    def value(i, g):
        head = i.to_bytes(4, "little") + g.to_bytes(4, "little")
        return head + bytes([(i * 7 + g) % 251]) * size

    g = 0
    while True:
        g += 1
        store.set_many([(f"c/{i}", value(i, g)) for i in range(n)])
        if g == 1:
            print("ready", flush=True)
    """
)


def _generation(key: str, value: bytes | None) -> int:
    """The generation a chunk value is from; fails on any torn or foreign value."""
    assert value is not None, f"chunk {key!r} vanished"
    i = int(key.rsplit("/", 1)[1])
    assert len(value) == 8 + CHUNK_BYTES, f"torn chunk {key!r}: {len(value)} bytes"
    assert int.from_bytes(value[:4], "little") == i, f"chunk {key!r} holds another key's value"
    g = int.from_bytes(value[4:8], "little")
    assert value[8:] == bytes([(i * 7 + g) % 251]) * CHUNK_BYTES, f"torn chunk {key!r}"
    return g


def _open(kind: str, path: Path) -> LMDBStore | LocalStore:
    return LMDBStore(path, read_only=True) if kind == "lmdb" else LocalStore(path, read_only=True)


@pytest.mark.parametrize("kind", ["lmdb", "filesystem"])
def test_sigkilled_batch_writer_leaves_whole_chunks(tmp_path: Path, kind: str) -> None:
    rng = random.Random(f"crash-{kind}")
    path = tmp_path / "store"
    deadline = time.monotonic() + 10.0
    last_gen = 0
    for iteration in range(6):
        if time.monotonic() > deadline:
            break
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WRITER,
                str(REPO),
                kind,
                str(path),
                str(N_CHUNKS),
                str(CHUNK_BYTES),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        store = _open(kind, path)
        keys = [f"c/{i}" for i in range(N_CHUNKS)]
        gens = [_generation(k, v) for k, v in zip(keys, store.get_many(keys))]
        assert sorted(store.list()) == sorted(keys), f"iteration {iteration}: stray keys"
        if kind == "lmdb":
            assert len(set(gens)) == 1, f"a set_many batch was torn: generations {set(gens)}"
        else:
            # Each file is replaced atomically; a batch is not a transaction, so the
            # killed batch may be half applied, but never older than the previous one.
            assert max(gens) - min(gens) <= 1, gens
        assert min(gens) >= 1
        last_gen = max(last_gen, max(gens))
        store.close()
    # The store is still writable after all those kills.
    final = LMDBStore(path) if kind == "lmdb" else LocalStore(path)
    final.set("after", b"ok")
    assert final.get("after") == b"ok"
    final.close()


# --------------------------------------------------------------------------- concurrency
ROWS, COLS, CH = 64, 48, 8


def _write_rows(storage: str, path: str, start: int, stop: int) -> None:
    arr = zf.open(storage=storage, path=path, mode="r+")
    for r in range(start, stop, CH):  # one chunk row per write: many interleaved batches
        arr[r : r + CH, :] = np.arange(r * COLS, (r + CH) * COLS, dtype="i8").reshape(CH, COLS)


@pytest.mark.parametrize("storage", ["lmdb", "filesystem"])
def test_processes_writing_disjoint_regions_lose_nothing(tmp_path: Path, storage: str) -> None:
    path = str(tmp_path / "arr")
    zf.create((ROWS, COLS), chunks=(CH, CH), dtype="i8", storage=storage, path=path, fill_value=-1)
    ctx = multiprocessing.get_context("spawn")
    n_procs = 4
    per = ROWS // n_procs
    procs = [
        ctx.Process(target=_write_rows, args=(storage, path, p * per, (p + 1) * per))
        for p in range(n_procs)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    got = zf.open(storage=storage, path=path, mode="r")[:]
    np.testing.assert_array_equal(got, np.arange(ROWS * COLS, dtype="i8").reshape(ROWS, COLS))


# --------------------------------------------------------------------------- transactions
def test_raising_transaction_leaves_no_trace(tmp_path: Path) -> None:
    path = str(tmp_path / "arr")
    a = zf.create((40,), chunks=(4,), dtype="i4", storage="lmdb", path=path, fill_value=0)
    a[:] = 5
    before = sorted(LMDBStore(path, read_only=True).list())
    with pytest.raises(RuntimeError), a.transaction():
        a[:20] = 1
        a[30:] = 0  # fill value: staged deletes
        a.attrs["x"] = 1 if hasattr(a, "attrs") else None
        raise RuntimeError("abort")
    fresh = LMDBStore(path, read_only=True)
    assert sorted(fresh.list()) == before
    np.testing.assert_array_equal(zf.open(storage="lmdb", path=path, mode="r")[:], [5] * 40)


_TXN_THEN_DIE = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    from zarrfast.storage.lmdb import LMDBStore
    s = LMDBStore(sys.argv[2])
    with s.transaction():
        s.set_many([(f"t/{i}", b"x" * 1000) for i in range(100)])
        s.delete("keep")
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_killed_inside_transaction_leaves_no_trace(tmp_path: Path) -> None:
    s = LMDBStore(tmp_path / "db")
    s.set("keep", b"k")
    proc = subprocess.run([sys.executable, "-c", _TXN_THEN_DIE, str(REPO), str(tmp_path / "db")])
    assert proc.returncode == -signal.SIGKILL
    assert list(s.list()) == ["keep"]
