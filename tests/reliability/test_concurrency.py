"""Concurrent writers: 8 threads and 4 processes on one array lose nothing.

Guarantees (see zarrfast/core/pipeline.py):

* Writers of *disjoint chunk-aligned* regions never interfere, in threads or processes,
  on every store whose ``set`` is atomic per key (memory, filesystem, LMDB).
* Writers of *unaligned* regions that share a chunk are serialised **in-process** by
  the per-key lock the pipeline holds around each read-modify-write of a partial chunk.
* Across processes there is no such lock: unaligned concurrent writes to one chunk
  from several processes are the user's responsibility (align writes to chunks, or
  serialise them, e.g. with a file lock).
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.storage.lmdb import LMDBStore
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore

THREADS = 8
PROCS = 4
ROWS_PER_WORKER = 16
CHUNK = (4, 8)


def _make(kind: str, tmp: Path) -> Any:
    if kind == "memory":
        return MemoryStore()
    if kind == "filesystem":
        return LocalStore(tmp / "a.zarr")
    return LMDBStore(str(tmp / "a.lmdb"))


def _expected(n: int) -> np.ndarray:
    return np.arange(n * ROWS_PER_WORKER * 32, dtype="i4").reshape(n * ROWS_PER_WORKER, 32)


@pytest.mark.parametrize("kind", ["memory", "filesystem", "lmdb"])
def test_threads_disjoint_aligned_regions(kind: str, tmp_path: Path) -> None:
    store = _make(kind, tmp_path)
    arr = zf.create((THREADS * ROWS_PER_WORKER, 32), chunks=CHUNK, dtype="i4", store=store)
    data = _expected(THREADS)
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            barrier.wait()
            for r in range(0, ROWS_PER_WORKER, CHUNK[0]):
                lo = w * ROWS_PER_WORKER + r
                arr[lo : lo + CHUNK[0]] = data[lo : lo + CHUNK[0]]
        except BaseException as exc:
            errors.append(exc)

    with set_config(num_threads=4):
        ts = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
    assert not errors
    np.testing.assert_array_equal(arr[:], data)
    store.close()


def _proc_write(kind: str, location: str, w: int) -> None:
    store = LocalStore(location) if kind == "filesystem" else LMDBStore(location)
    arr = zf.open_array(store=store)
    data = _expected(PROCS)
    lo = w * ROWS_PER_WORKER
    for r in range(0, ROWS_PER_WORKER, CHUNK[0]):
        arr[lo + r : lo + r + CHUNK[0]] = data[lo + r : lo + r + CHUNK[0]]
    store.close()


@pytest.mark.parametrize("kind", ["filesystem", "lmdb"])
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_processes_disjoint_aligned_regions(kind: str, method: str, tmp_path: Path) -> None:
    store = _make(kind, tmp_path)
    arr = zf.create((PROCS * ROWS_PER_WORKER, 32), chunks=CHUNK, dtype="i4", store=store)
    arr[:2]  # the parent has read (and built its pool) before forking
    location = str(tmp_path / ("a.zarr" if kind == "filesystem" else "a.lmdb"))
    ctx = multiprocessing.get_context(method)
    procs = [ctx.Process(target=_proc_write, args=(kind, location, w)) for w in range(PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCS
    again = zf.open_array(store=LocalStore(location) if kind == "filesystem" else store, mode="r")
    np.testing.assert_array_equal(again[:], _expected(PROCS))
    store.close()


@pytest.mark.parametrize("kind", ["memory", "filesystem", "lmdb"])
def test_unaligned_writes_to_one_chunk_are_serialised_in_process(kind: str, tmp_path: Path) -> None:
    store = _make(kind, tmp_path)
    # One 64-element chunk; each thread owns every 8th element and writes them one at a
    # time, so every write is a read-modify-write of the same chunk.
    arr = zf.create((64,), chunks=(64,), dtype="i4", store=store, fill_value=-1)
    barrier = threading.Barrier(THREADS)

    def work(w: int) -> None:
        barrier.wait()
        for i in range(w, 64, THREADS):
            arr[i] = i

    ts = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    np.testing.assert_array_equal(arr[:], np.arange(64))
    store.close()
