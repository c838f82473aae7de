"""Transient failures under MockStore: with retries every write lands; without, every
failure surfaces and nothing reported written is missing; torn writes never read back
as garbage."""

from __future__ import annotations

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.errors import DecodeError, TransientStoreError, ZarrfastError
from zarrfast.storage.memory import MemoryStore
from zarrfast.storage.mock import MockStore
from zarrfast.storage.retrying import RetryingStore

N = 1000  # chunk writes


def _data() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 1 << 30, size=(N, 4), dtype="i4")


@pytest.mark.parametrize("torn", [0.0, 0.1])
def test_retries_on_every_chunk_lands(torn: float) -> None:
    inner = MemoryStore()
    mock = MockStore(inner, error_rate=0.2, torn_writes=torn, seed=2024)
    store = RetryingStore(mock, retries=12, backoff=(0, 0))
    arr = zf.create((N, 4), chunks=(1, 4), dtype="i4", store=store, compressor="zstd")
    data = _data()
    arr[:] = data
    assert mock.failures > 100  # the faults really happened
    # Read back through the faulty path and through the clean inner store.
    np.testing.assert_array_equal(arr[:], data)
    np.testing.assert_array_equal(zf.open_array(store=inner, mode="r")[:], data)
    assert sum(1 for k in inner.list_prefix("c/")) == N


def test_retries_per_chunk_writes_land() -> None:
    inner = MemoryStore()
    mock = MockStore(inner, error_rate=0.2, fail_on=("get", "set"), seed=7, record=False)
    arr = zf.create(
        (N,), chunks=(1,), dtype="i8", store=RetryingStore(mock, retries=12, backoff=(0, 0))
    )
    for i in range(N):
        arr[i] = i * 3 + 1
    np.testing.assert_array_equal(arr[:], np.arange(N) * 3 + 1)
    assert mock.failures > 100


def test_without_retries_failures_surface_and_nothing_reported_is_lost() -> None:
    inner = MemoryStore()
    arr0 = zf.create((N,), chunks=(1,), dtype="i8", store=inner, compressor="zstd")
    mock = MockStore(inner, error_rate=0.2, torn_writes=0.1, fail_on=("set",), seed=99)
    arr = zf.open_array(store=mock)
    reported: dict[int, int] = {}
    failures = 0
    for i in range(N):
        try:
            arr[i] = i + 1
        except TransientStoreError:
            failures += 1
        else:
            reported[i] = i + 1
    assert failures == mock.failures > 100
    for i, v in reported.items():
        assert arr0[i] == v
    # Every torn chunk is an error on read, never silently wrong data.
    for key in mock.keys("set", "torn"):
        i = int(key.rsplit("/", 1)[1])
        with pytest.raises(DecodeError):
            arr0[i]


def test_without_retries_a_batch_write_raises() -> None:
    mock = MockStore(error_rate=0.2, fail_on=("set",), seed=5)
    arr = zf.create((N,), chunks=(10,), dtype="i4", store=MockStore(mock.inner))
    arr = zf.open_array(store=mock)
    with pytest.raises(TransientStoreError) as info:
        arr[:] = np.arange(N)
    assert len(info.value.failed_keys) > 0  # type: ignore[attr-defined]
    # Keys not reported failed were written whole.
    clean = zf.open_array(store=mock.inner, mode="r")
    failed = set(info.value.failed_keys)  # type: ignore[attr-defined]
    for k in mock.keys("set", "ok"):
        if k.startswith("c/") and k not in failed:
            j = int(k.rsplit("/", 1)[1])
            np.testing.assert_array_equal(
                clean[j * 10 : (j + 1) * 10], np.arange(j * 10, j * 10 + 10)
            )


@pytest.mark.parametrize("compressor", ["zstd", "gzip", "lz4", "blosc", {"name": "crc32c"}])
def test_torn_chunk_is_a_decode_error(compressor: object) -> None:
    inner = MemoryStore()
    kw = (
        {"codecs": ["bytes", compressor]}
        if isinstance(compressor, dict)
        else {"compressor": compressor}
    )
    arr = zf.create((256,), chunks=(256,), dtype="f8", store=inner, **kw)
    mock = MockStore(inner, torn_writes=1.0, fail_on=("set",), seed=1)
    faulty = zf.open_array(store=mock)
    for attempt in range(20):
        mock.reset()
        with pytest.raises(TransientStoreError):
            faulty[:] = np.random.default_rng(attempt).random(256)
        with pytest.raises(ZarrfastError):
            arr[:]


def test_torn_writes_with_retries_end_complete() -> None:
    inner = MemoryStore()
    mock = MockStore(inner, torn_writes=0.5, seed=3)
    arr = zf.create(
        (100, 10), chunks=(1, 10), dtype="f4", store=RetryingStore(mock, retries=20, backoff=(0, 0))
    )
    data = np.random.default_rng(1).random((100, 10), dtype="f4")
    arr[:] = data
    assert mock.outcomes["torn"] > 20
    np.testing.assert_array_equal(zf.open_array(store=inner, mode="r")[:], data)
