"""The opt-in output arena (config.output_arena_bytes): large read outputs reuse the
memory of freed ones; a block is reused only once every view of its output is gone."""

from __future__ import annotations

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.core.pipeline import aligned_empty, release_output_arena
from zarrfast.storage.memory import MemoryStore

_pipeline = pytest.importorskip("zarrfast._native._pipeline")


@pytest.fixture(autouse=True)
def _empty_arena():
    release_output_arena()
    yield
    release_output_arena()


def _array() -> tuple[zf.Array, np.ndarray]:
    data = (np.arange(256 * 256 * 16) % 65521).astype("u2").reshape(256, 256, 16)
    a = zf.create(shape=data.shape, chunks=(64, 64, 16), dtype="u2", store=MemoryStore())
    a[...] = data
    return a, data


def test_off_by_default() -> None:
    a, _data = _array()
    x = a[...]
    del x
    assert _pipeline.arena_held() == 0


def test_outputs_reuse_freed_blocks_and_views_keep_them() -> None:
    a, data = _array()
    with zf.set_config(output_arena_bytes=64 << 20):
        x = a[...]
        np.testing.assert_array_equal(x, data)
        assert x.flags.writeable and x.flags.c_contiguous
        assert x.ctypes.data % 64 == 0
        view = x[10:20]
        addr = x.ctypes.data
        del x
        assert _pipeline.arena_held() == 0  # the view still uses the block
        y = a[...]
        assert y.ctypes.data != addr
        np.testing.assert_array_equal(view, data[10:20])  # not overwritten by y
        del view, y
        held = _pipeline.arena_held()
        assert held >= 2 * data.nbytes
        z = a[...]  # reuses a parked block
        np.testing.assert_array_equal(z, data)
        assert _pipeline.arena_held() < held
        z[...] = 0  # the output is the caller's to write
        np.testing.assert_array_equal(a[...], data)
        del z
    assert release_output_arena() > 0
    assert _pipeline.arena_held() == 0


def test_budget_bounds_what_is_parked() -> None:
    with zf.set_config(output_arena_bytes=3 << 20):  # one 2 MiB block fits, two do not
        xs = [aligned_empty((1 << 20,), "u2") for _ in range(3)]
        del xs
        assert _pipeline.arena_held() == 2 << 20
    with zf.set_config(output_arena_bytes=64 << 20):
        # small outputs never come from (or go to) the arena
        small = aligned_empty((100,), "f8")
        del small
        assert _pipeline.arena_held() == 2 << 20
        # a parked block serves an output of up to its size (and at least half of it)
        a = aligned_empty((1 << 18,), "f8")  # 2 MiB: takes the parked block
        assert _pipeline.arena_held() == 0
        del a
        b = aligned_empty((3 << 17,), "f8")  # 3 MiB: the 2 MiB block is too small
        assert _pipeline.arena_held() == 2 << 20
        del b  # parked as a new 4 MiB block
        assert _pipeline.arena_held() == 6 << 20


def test_pickle_and_dtypes() -> None:
    import pickle

    with zf.set_config(output_arena_bytes=64 << 20):
        for dt in ("f8", "M8[ns]", [("a", "<i4"), ("b", "<f4")], "U4"):
            x = aligned_empty((1 << 16, 4), dt)
            x[...] = np.zeros((), dtype=x.dtype)
            y = pickle.loads(pickle.dumps(x))
            assert y.dtype == x.dtype and y.shape == x.shape
            np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize(("raw", "ok"), [("0", 0), ("1048576", 1048576), ("-1", None), ("x", None)])
def test_environment_setting(raw: str, ok: int | None) -> None:
    import os
    import subprocess
    import sys

    code = "from zarrfast.config import config; print(config.output_arena_bytes)"
    env = {**os.environ, "ZARRFAST_OUTPUT_ARENA_BYTES": raw}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if ok is None:
        assert proc.returncode != 0 and "ZARRFAST_OUTPUT_ARENA_BYTES" in proc.stderr
    else:
        assert proc.returncode == 0 and int(proc.stdout) == ok
