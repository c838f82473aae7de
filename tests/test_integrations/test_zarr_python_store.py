"""zarr-python's own StoreTests against every zarrfast store through the adapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("zarr")
pytest.importorskip("pytest_asyncio")

import pytest_asyncio
from zarr.core.buffer import Buffer, cpu, default_buffer_prototype
from zarr.testing.store import StoreTests

from tests.test_integrations.conftest import asyncio_auto
from tests.test_storage.servers import S3Server, unique
from zarrfast.abc.store import Store
from zarrfast.storage import make_store
from zarrfast.zarr_python import ZarrfastStore, as_zarr_store

BACKENDS = ["memory", "filesystem", "zip", "lmdb", "shared_memory", "s3"]


def _make(kind: str, tmp_path: Any, request: pytest.FixtureRequest) -> Store:
    if kind == "memory":
        return make_store("memory")
    if kind == "filesystem":
        return make_store("filesystem", path=str(tmp_path / "fs"))
    if kind == "zip":
        return make_store("zip", path=str(tmp_path / "s.zip"), mode="a")
    if kind == "lmdb":
        return make_store("lmdb", path=str(tmp_path / "s.lmdb"))
    if kind == "shared_memory":
        return make_store("shared_memory", name=unique("shm"))
    server: S3Server = request.getfixturevalue("s3_server")
    return make_store(
        "s3",
        bucket=server.make_bucket(),
        prefix=unique("p"),
        endpoint_url=server.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region="us-east-1",
    )


@asyncio_auto
class TestZarrfastStoreAdapter(StoreTests[ZarrfastStore, cpu.Buffer]):
    store_cls = ZarrfastStore
    buffer_cls = cpu.Buffer

    @pytest.fixture(params=BACKENDS)
    def zf_store(self, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
        st = _make(request.param, tmp_path, request)
        try:
            yield st
        finally:
            st.close()

    @pytest.fixture
    def store_kwargs(self, zf_store: Store) -> dict[str, Any]:
        return {"store": zf_store}

    @pytest_asyncio.fixture
    async def store(self, open_kwargs: dict[str, Any]) -> ZarrfastStore:
        return await self.store_cls.open(**open_kwargs)

    @pytest_asyncio.fixture
    async def store_not_open(self, store_kwargs: dict[str, Any]) -> ZarrfastStore:
        return self.store_cls(**store_kwargs)

    async def set(self, store: ZarrfastStore, key: str, value: Buffer) -> None:
        store.zarrfast_store.set(key, value.to_bytes())

    async def get(self, store: ZarrfastStore, key: str) -> Buffer:
        raw = store.zarrfast_store.get(key)
        assert raw is not None, key
        return default_buffer_prototype().buffer.from_bytes(raw)

    def test_store_repr(self, store: ZarrfastStore) -> None:
        assert repr(store).startswith("ZarrfastStore(")
        assert "secret" not in repr(store).lower()

    def test_store_supports_writes(self, store: ZarrfastStore) -> None:
        assert store.supports_writes

    def test_store_supports_listing(self, store: ZarrfastStore) -> None:
        assert store.supports_listing

    async def test_clear(self, store: ZarrfastStore) -> None:
        if not store.supports_deletes:
            # The zip backend is append-only (members cannot be removed in place), so
            # zarr-python's clear() refuses, as it does for any store without deletes.
            with pytest.raises(NotImplementedError):
                await store.clear()
            return
        await super().test_clear(store)

    async def test_with_read_only_store(self, open_kwargs: dict[str, Any]) -> None:
        if open_kwargs["store"].supports_deletes:
            await super().test_with_read_only_store(open_kwargs)
            return
        # zarr-python's version deletes through the writer; zip cannot delete members,
        # so check the same read-only contract with writes only.
        reader = await self.store_cls.open(**{**open_kwargs, "read_only": True})
        msg = "store was opened in read-only mode and does not support writing"
        with pytest.raises(ValueError, match=msg):
            await reader.set("foo", self.buffer_cls.from_bytes(b"bar"))
        writer = reader.with_read_only(read_only=False)
        assert not writer._is_open and not writer.read_only
        await writer.set("foo", self.buffer_cls.from_bytes(b"bar"))
        with pytest.raises(ValueError, match=msg):
            await reader.with_read_only(read_only=True).delete("foo")


def test_as_zarr_store_is_idempotent() -> None:
    inner = make_store("memory")
    a = as_zarr_store(inner)
    assert as_zarr_store(a) is a
    assert as_zarr_store(a, read_only=True).read_only
    with pytest.raises(TypeError, match="zarrfast Store"):
        ZarrfastStore({})  # type: ignore[arg-type]
