"""GCSStore against gcp-storage-emulator (a real subprocess on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from tests.test_storage.servers import (
    FlakyProxy,
    GCSServer,
    RemoteArrayTests,
    unique,
)
from zarrfast.errors import AccessDeniedError, AuthenticationError, StoreError
from zarrfast.storage._remote import ErrorKind
from zarrfast.storage.gcs import GCSStore
from zarrfast.testing import StoreTests


@pytest.fixture(scope="module")
def gcs_bucket(gcs_server: GCSServer) -> str:
    return gcs_server.make_bucket()


class TestGCSStore(StoreTests, RemoteArrayTests):
    persistent = True
    storage_name = "gcs"
    list_keys = 1200  # the emulator is single-threaded; 1200 still spans pages of 1000

    @pytest.fixture
    def store(self, gcs_server: GCSServer, gcs_bucket: str) -> Iterator[GCSStore]:
        with GCSStore(gcs_bucket, prefix=unique("p"), endpoint_url=gcs_server.endpoint) as s:
            yield s

    @pytest.fixture
    def make_store(self, store: GCSStore) -> Callable[..., GCSStore]:
        return lambda **kw: store

    def storage_options(self, store: GCSStore) -> dict[str, Any]:
        return {"bucket": store.bucket, "prefix": store.prefix, "endpoint_url": store._endpoint_url}


def test_storage_emulator_host_is_honoured(
    gcs_server: GCSServer,
    gcs_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.endpoint)
    store = GCSStore(f"gs://{gcs_bucket}", prefix=unique("env"))
    data = np.arange(10.0)
    zf.create(shape=(10,), chunks=(4,), store=store, path="a")[...] = data
    np.testing.assert_array_equal(zf.open_array(store, path="a", mode="r")[...], data)
    names = {b.name for b in gcs_server.client().list_blobs(gcs_bucket, prefix=store.prefix)}
    assert f"{store.prefix}/a/zarr.json" in names and f"{store.prefix}/a/c/2" in names


def test_throttled_writes_all_land(gcs_server: GCSServer, gcs_bucket: str) -> None:
    with FlakyProxy(gcs_server.port, fail_rate=0.3, seed=11) as proxy:
        store = GCSStore(
            gcs_bucket,
            prefix=unique("throttle"),
            endpoint_url=proxy.endpoint_url,
            retries={"base_delay": 0.005, "max_delay": 0.05, "max_attempts": 20},
        )
        items = [(f"c/{i}", f"value {i}".encode()) for i in range(100)]
        store.set_many(items)
        assert proxy.failed > 10
    direct = GCSStore(gcs_bucket, prefix=store.prefix, endpoint_url=gcs_server.endpoint)
    assert [bytes(v) for v in direct.get_many([k for k, _ in items])] == [v for _, v in items]


def test_denied_credentials_mapping() -> None:
    """The emulator accepts any credentials, so the mapping is checked with real SDK
    exception objects (what google-cloud-storage raises for 401/403) instead."""
    from google.api_core import exceptions as g
    from google.auth import exceptions as ga

    store = GCSStore("b", endpoint_url="http://127.0.0.1:9")
    assert (
        store._classify(g.Forbidden("caller does not have storage.objects.get")) is ErrorKind.DENIED
    )
    assert store._classify(g.Unauthorized("Invalid Credentials")) is ErrorKind.AUTH
    assert store._classify(ga.RefreshError("invalid_grant: account not found")) is ErrorKind.AUTH
    assert store._classify(g.TooManyRequests("slow down")) is ErrorKind.TRANSIENT
    assert store._classify(g.ServiceUnavailable("busy")) is ErrorKind.TRANSIENT
    err = store._mapped_error(g.Forbidden("no"), ErrorKind.DENIED, "get", "c/0")
    assert isinstance(err, AccessDeniedError) and "'c/0'" in str(err)


def test_bad_service_account_file_is_an_authentication_error(tmp_path: Any) -> None:
    key = tmp_path / "sa.json"
    key.write_text('{"type": "service_account", "private_key": "not a key"}')
    store = GCSStore("b", credentials=str(key), endpoint_url="http://127.0.0.1:9")
    with pytest.raises((AuthenticationError, StoreError)) as info:
        store.get("k")
    assert "not a key" not in str(info.value)
    assert str(key) in repr(store)
