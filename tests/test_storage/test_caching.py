"""CachingStore: StoreTests over memory and S3, LRU budget, disk level, invalidate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_storage.servers import CountingStore, S3Server, unique
from zarrfast.storage.caching import CachingStore
from zarrfast.storage.memory import MemoryStore
from zarrfast.storage.s3 import S3Store
from zarrfast.testing import StoreTests


class TestCachingMemory(StoreTests):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[CachingStore]:
        with CachingStore(MemoryStore(), max_bytes=1 << 20, cache_dir=tmp_path / "c") as s:
            yield s


class TestCachingS3(StoreTests):
    persistent = True
    secret_fields = ()

    @pytest.fixture
    def store(self, s3_server: S3Server) -> Iterator[CachingStore]:
        bucket = getattr(type(self), "_bucket", None) or s3_server.make_bucket()
        type(self)._bucket = bucket
        inner = S3Store(bucket, prefix=unique("p"), endpoint_url=s3_server.endpoint_url)
        with CachingStore(inner, max_bytes=8 << 20) as s:
            yield s


def test_lru_budget_and_hits() -> None:
    backing = MemoryStore()
    counting = CountingStore(backing).store
    cache = CachingStore(counting, max_bytes=250)
    for i in range(5):
        cache.set(f"c/{i}", bytes([i]) * 100)
    assert cache.cached_bytes <= 250
    counting.requests.clear()
    assert cache.get("c/4") == bytes([4]) * 100 and counting.requests == []
    assert cache.get("c/0") == bytes([0]) * 100 and len(counting.requests) == 1


def test_metadata_cached_with_explicit_invalidate() -> None:
    backing = MemoryStore()
    counting = CountingStore(backing).store
    cache = CachingStore(counting, cache_chunks=False)
    assert cache.get("a/zarr.json") is None  # absence of metadata is cached too
    backing.set("a/zarr.json", b"{}")  # written behind the cache's back
    assert cache.get("a/zarr.json") is None
    cache.invalidate("a/zarr.json")
    assert cache.get("a/zarr.json") == b"{}"
    backing.set("a/zarr.json", b"{1}")
    cache.invalidate(prefix="a/")
    assert cache.get("a/zarr.json") == b"{1}"
    n = len(counting.requests)
    cache.get("a/zarr.json")
    assert len(counting.requests) == n


def test_disk_level_survives_a_new_wrapper(tmp_path: Path) -> None:
    backing = MemoryStore({"c/0": b"chunk"})
    CachingStore(backing, cache_dir=tmp_path).get("c/0")
    backing._data["c/0"] = b"changed"  # remote changed; a fresh wrapper still has a copy
    assert CachingStore(backing, cache_dir=tmp_path).get("c/0") == b"chunk"
    fresh = CachingStore(backing, cache_dir=tmp_path)
    fresh.invalidate()
    assert fresh.get("c/0") == b"changed"
