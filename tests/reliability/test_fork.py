"""Fork safety: arrays opened and read in a parent keep working in forked children.

This is how torch's DataLoader (and multiprocessing's default start method on Linux)
uses a dataset: open in the parent, read once, fork workers, read in each.  The shared
thread pool is rebuilt in the child (``os.register_at_fork`` in core/pipeline.py); a
child inheriting a pool whose worker threads do not exist would deadlock.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.core import pipeline
from zarrfast.storage.lmdb import LMDBStore
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore
from zarrfast.storage.zip import ZipStore

DATA = np.arange(64 * 64, dtype="f8").reshape(64, 64)
_ARRAY: Any = None  # inherited by forked children


def _child_read(i: int) -> float:
    with set_config(num_threads=4):
        return float(_ARRAY[i * 8 : (i + 1) * 8].sum())


def _child_pool_state(_: int) -> tuple[bool, int]:
    inherited_none = pipeline._pool is None
    with set_config(num_threads=4):
        float(_ARRAY[:].sum())
        return inherited_none, id(pipeline.thread_pool())


def _make(kind: str, tmp: Path) -> Any:
    if kind == "memory":
        return MemoryStore()
    if kind == "filesystem":
        return LocalStore(tmp / "a.zarr")
    if kind == "lmdb":
        return LMDBStore(str(tmp / "a.lmdb"))
    return ZipStore(str(tmp / "a.zip"), mode="w")


@pytest.mark.parametrize("kind", ["memory", "filesystem", "lmdb", "zip"])
def test_read_in_parent_then_in_forked_children(kind: str, tmp_path: Path) -> None:
    global _ARRAY
    store = _make(kind, tmp_path)
    arr = zf.create((64, 64), chunks=(8, 8), dtype="f8", store=store)
    arr[:] = DATA
    if kind == "zip":
        store.close()
        store = ZipStore(str(tmp_path / "a.zip"), mode="r")
        arr = zf.open_array(store=store, mode="r")
    with set_config(num_threads=4):
        np.testing.assert_array_equal(arr[:], DATA)
        # Make sure the parent's pool exists with live worker threads at fork time (the
        # native engine may not have needed it for the read above).
        assert pipeline.thread_pool().submit(lambda: 1).result() == 1
        _ARRAY = arr
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(4) as pool:
            sums = pool.map_async(_child_read, range(8)).get(timeout=120)
        # Fresh children (one task each) to see the pool state right after fork.
        with ctx.Pool(2, maxtasksperchild=1) as pool:
            states = pool.map_async(_child_pool_state, range(4), chunksize=1).get(timeout=120)
        # The parent's pool still works after the children are gone.
        np.testing.assert_array_equal(arr[:], DATA)
    assert sums == [float(DATA[i * 8 : (i + 1) * 8].sum()) for i in range(8)]
    assert all(inherited_none for inherited_none, _ in states)
    store.close()
