"""Per-worker scratch kept by the pool between batch calls (zf_pool spare).

A batch call takes the pool's parked scratch set (buffers + codec contexts), and parks it
again afterwards; concurrent callers that find it taken allocate their own.  These tests
interleave calls with different codecs and chunk sizes (buffers grow, big ones are
dropped before parking) and run calls from several Python threads at once.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")


def _array(shape: tuple[int, ...], chunks: tuple[int, ...], comp: str | None, seed: int):
    rng = np.random.default_rng(seed)
    data = (rng.integers(0, 50, size=shape) + np.arange(shape[-1])).astype("int32")
    a = zf.create(shape=shape, chunks=chunks, dtype="int32", store=MemoryStore(), compressor=comp)
    a[...] = data
    return a, data


def test_calls_with_changing_codecs_and_sizes_stay_correct() -> None:
    cases = [
        _array((64, 64), (8, 8), "zstd", 1),
        _array((4, 1100, 1100), (1, 1100, 1100), "zstd", 2),  # 4.6 MiB chunks: not parked
        _array((300, 300), (100, 100), "blosc", 3),
        _array((50, 70), (7, 9), "gzip", 4),
        _array((64, 64), (64, 64), None, 5),
    ]
    with set_config(num_threads=2):
        for _ in range(3):
            for a, data in cases:
                np.testing.assert_array_equal(a[...], data)
                idx = tuple(s // 3 for s in data.shape)
                assert a[idx] == data[idx]
                half = tuple(slice(s // 4, s // 2 + 1) for s in data.shape)
                np.testing.assert_array_equal(a[half], data[half])
                a[half] = data[half] + 1  # encode path shares the scratch too
                np.testing.assert_array_equal(a[half], data[half] + 1)
                a[half] = data[half]


def test_concurrent_callers_share_the_pool() -> None:
    arrays = [_array((96, 96), (16, 16), c, i) for i, c in enumerate(["zstd", "lz4", "zstd", None])]
    errors: list[BaseException] = []

    def work(a: zf.Array, data: np.ndarray) -> None:
        try:
            for k in range(40):
                sel = (slice(k % 7, 90), slice(None, None, 1 + k % 3))
                np.testing.assert_array_equal(a[sel], data[sel])
                assert a[k % 96, (5 * k) % 96] == data[k % 96, (5 * k) % 96]
        except BaseException as exc:  # reported below
            errors.append(exc)

    with set_config(num_threads=2):
        threads = [threading.Thread(target=work, args=ad) for ad in arrays]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
