"""What the embedded LMDB store costs next to the filesystem (and memory) store.

Same arrays, same codecs, three stores: whole-array write, whole-array read, and 200
random small reads (one element each, so the cost is per-chunk fetch + decode).
``pytest bench --benchmark-disable`` runs each once as a smoke test; numbers come from
``pytest bench --benchmark-only``.  No timing is asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import zarrfast as zf

pytest.importorskip("pytest_benchmark")

SHAPE = (1024, 1024)
CHUNKS = (64, 64)
STORES = ["memory", "filesystem", "lmdb"]


def _data() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 1000, size=SHAPE, dtype="i4")


def _create(storage: str, root: Path, name: str) -> zf.Array:
    kwargs: dict[str, object] = {"storage": storage}
    if storage != "memory":
        kwargs["path"] = str(root / f"{name}.{storage}")
    if storage == "lmdb":
        kwargs["sync"] = False  # measure the store, not the disk's flush latency
    return zf.create(SHAPE, chunks=CHUNKS, dtype="i4", overwrite=True, **kwargs)  # type: ignore[arg-type]


def _pedantic(
    benchmark: object, fn: Callable[[], object], setup: Callable[[], object] | None = None
) -> None:
    if setup is None:
        benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)  # type: ignore[attr-defined]
    else:
        benchmark.pedantic(fn, setup=setup, rounds=3, iterations=1)  # type: ignore[attr-defined]


@pytest.mark.parametrize("storage", STORES)
def test_write_whole_array(benchmark: object, tmp_path: Path, storage: str) -> None:
    data = _data()
    counter = iter(range(10**6))
    arrays: list[zf.Array] = []

    def setup() -> None:
        arrays.append(_create(storage, tmp_path, f"w{next(counter)}"))

    def run() -> None:
        arrays[-1][:] = data

    _pedantic(benchmark, run, setup)


@pytest.mark.parametrize("storage", STORES)
def test_read_whole_array(benchmark: object, tmp_path: Path, storage: str) -> None:
    data = _data()
    arr = _create(storage, tmp_path, "r")
    arr[:] = data
    _pedantic(benchmark, lambda: arr[:])
    np.testing.assert_array_equal(arr[:], data)  # correctness, not timing


@pytest.mark.parametrize("storage", STORES)
def test_random_small_reads(benchmark: object, tmp_path: Path, storage: str) -> None:
    data = _data()
    arr = _create(storage, tmp_path, "s")
    arr[:] = data
    rng = np.random.default_rng(1)
    points = [tuple(int(x) for x in p) for p in rng.integers(0, SHAPE[0], size=(200, 2))]

    def run() -> None:
        for i, j in points:
            arr[i, j]

    _pedantic(benchmark, run)
