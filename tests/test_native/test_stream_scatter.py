"""Reads that scatter with streaming (non-temporal) stores give the same results.

Large read outputs (``_pipeline._STREAM_MIN_BYTES``) scatter chunk rows with streaming
stores (csrc/zf_ndcopy.c ``zf_ndcopy_stream``); these tests lower the threshold to 0 so
every read takes that path, and compare with numpy over the same layouts as
test_pipeline: steps, edge chunks, transposes, byte swaps, F order, every dtype.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")
from zarrfast._native import _pipeline

from .test_pipeline import _case, _make, _native, _values


@pytest.fixture
def always_stream() -> Iterator[None]:
    old = _pipeline._set_stream_min_bytes(0)
    try:
        yield
    finally:
        _pipeline._set_stream_min_bytes(old)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_case())
def test_streaming_scatter_matches_numpy(always_stream: None, c: dict) -> None:
    a = _make(c)
    assert _native(a)
    ref = np.full(c["shape"], 1, dtype=a.dtype)
    with set_config(num_threads=c["threads"], batch_size=3):
        for i, sel in enumerate(c["sels"]):
            val = _values(np.shape(ref[sel]), a.dtype.str, c["seed"] + i)
            a[sel] = val
            ref[sel] = val
            np.testing.assert_array_equal(a[...], ref)
            np.testing.assert_array_equal(a[sel], ref[sel])


@pytest.mark.parametrize("sharded", [False, True])
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_large_read_unaligned_rows(sharded: bool, offset: int) -> None:
    """A real large output (above the default threshold) with rows that start off the
    16-byte grid (odd column offsets) and edge chunks, sharded and not."""
    shape = (40, 300, 520)
    data = (np.arange(np.prod(shape), dtype=np.uint32).reshape(shape) * 7) % 65521
    data = data.astype(np.uint16)
    a = zf.create(
        shape=shape,
        chunks=(16, 64, 96),
        shards=(32, 128, 192) if sharded else None,
        dtype="uint16",
        store=MemoryStore(),
        compressor="zstd",
    )
    a[...] = data
    assert data.nbytes >= 8 << 20  # above the default streaming threshold
    np.testing.assert_array_equal(a[...], data)
    sel = (slice(None), slice(None), slice(offset, None))
    np.testing.assert_array_equal(a[sel], data[sel])
    sel2 = (slice(1, None, 2), slice(offset, None), slice(offset, 519))
    np.testing.assert_array_equal(a[sel2], data[sel2])
