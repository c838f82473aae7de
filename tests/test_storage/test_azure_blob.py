"""AzureBlobStore against Azurite (npm, a real subprocess on 127.0.0.1)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.test_storage.servers import (
    AzuriteServer,
    FlakyProxy,
    RemoteArrayTests,
    unique,
)
from zarrfast.errors import AccessDeniedError, AuthenticationError, ContainerNotFoundError
from zarrfast.storage.azure_blob import AzureBlobStore
from zarrfast.testing import StoreTests

WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleQ=="


@pytest.fixture(scope="module")
def azure_container(azurite_server: AzuriteServer) -> str:
    return azurite_server.make_container()


class TestAzureBlobStore(StoreTests, RemoteArrayTests):
    persistent = True
    secret_fields = ("account_key",)
    storage_name = "azure_blob"

    @pytest.fixture
    def store(
        self,
        azurite_server: AzuriteServer,
        azure_container: str,
    ) -> Iterator[AzureBlobStore]:
        with AzureBlobStore(
            azurite_server.account_name,
            azure_container,
            prefix=unique("p"),
            account_key=azurite_server.account_key,
            account_url=azurite_server.account_url,
        ) as s:
            yield s

    @pytest.fixture
    def make_store(self, store: AzureBlobStore) -> Callable[..., AzureBlobStore]:
        return lambda **kw: store

    def storage_options(self, store: AzureBlobStore) -> dict[str, Any]:
        cfg = store._pickle_config()
        return {
            k: cfg[k] for k in ("account_name", "container", "prefix", "account_key", "account_url")
        }


def test_connection_string_and_sas(azurite_server: AzuriteServer, azure_container: str) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    prefix = unique("auth")
    rw = AzureBlobStore(
        container=azure_container, prefix=prefix, connection_string=azurite_server.connection_string
    )
    rw.set("k", b"v")
    assert rw.account_name == azurite_server.account_name
    assert azurite_server.account_key not in repr(rw)
    sas = generate_container_sas(
        azurite_server.account_name,
        azure_container,
        account_key=azurite_server.account_key,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1),
    )
    ro = AzureBlobStore(
        azurite_server.account_name,
        azure_container,
        prefix=prefix,
        sas_token=sas,
        account_url=azurite_server.account_url,
    )
    assert ro.get("k") == b"v"
    assert list(ro.list()) == ["k"]
    # The SAS allows reading only: a write is denied (403 AuthorizationPermissionMismatch).
    with pytest.raises(AccessDeniedError) as info:
        ro.set("k2", b"v")
    sig = sas.split("sig=")[1].split("&")[0]
    for text in (str(info.value), str(info.value.__cause__), repr(ro)):
        assert sas not in text and sig not in text


def test_wrong_account_key_is_an_authentication_error(
    azurite_server: AzuriteServer,
    azure_container: str,
) -> None:
    store = AzureBlobStore(
        azurite_server.account_name,
        azure_container,
        account_key=WRONG_KEY,
        account_url=azurite_server.account_url,
    )
    with pytest.raises(AuthenticationError) as info:
        store.get("k")
    for text in (str(info.value), str(info.value.__cause__), repr(store)):
        assert WRONG_KEY not in text


def test_missing_container_is_named(azurite_server: AzuriteServer) -> None:
    store = AzureBlobStore(
        azurite_server.account_name,
        "no-such-container",
        account_key=azurite_server.account_key,
        account_url=azurite_server.account_url,
    )
    with pytest.raises(ContainerNotFoundError, match="no-such-container"):
        store.set("k", b"v")


def test_throttled_writes_all_land(azurite_server: AzuriteServer, azure_container: str) -> None:
    with FlakyProxy(azurite_server.port, fail_rate=0.3, seed=5, code="ServerBusy") as proxy:
        store = AzureBlobStore(
            azurite_server.account_name,
            azure_container,
            prefix=unique("throttle"),
            account_key=azurite_server.account_key,
            account_url=f"{proxy.endpoint_url}/{azurite_server.account_name}",
            retries={"base_delay": 0.005, "max_delay": 0.05, "max_attempts": 20},
        )
        items = [(f"c/{i}", f"value {i}".encode()) for i in range(100)]
        store.set_many(items)
        assert proxy.failed > 10
    direct = AzureBlobStore(
        azurite_server.account_name,
        azure_container,
        prefix=store.prefix,
        account_key=azurite_server.account_key,
        account_url=azurite_server.account_url,
    )
    assert [bytes(v) for v in direct.get_many([k for k, _ in items])] == [v for _, v in items]


def test_exactly_one_credential() -> None:
    with pytest.raises(ValueError, match="at most one"):
        AzureBlobStore("acct", "c", account_key="k" * 8, sas_token="s" * 8)
    store = AzureBlobStore("acct", "c", use_managed_identity=True)
    assert "managed_identity" in repr(store)
