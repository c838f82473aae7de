"""MongoGridFSStore against nx-27017 (a MongoDB wire-protocol server, real subprocess)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.test_storage.servers import MongoServer, RemoteArrayTests, unique
from zarrfast.errors import AccessDeniedError, AuthenticationError
from zarrfast.storage._remote import ErrorKind
from zarrfast.storage.mongo_gridfs import MongoGridFSStore
from zarrfast.testing import StoreTests


class TestMongoGridFSStore(StoreTests, RemoteArrayTests):
    persistent = True
    large_value_nbytes = 2 * 1024 * 1024 + 17
    storage_name = "mongo_gridfs"
    list_keys = 1500

    @pytest.fixture
    def store(self, mongo_server: MongoServer) -> Iterator[MongoGridFSStore]:
        with MongoGridFSStore(
            mongo_server.url,
            database="zarrtest",
            bucket=unique("b").replace("-", "_"),
            array_id=unique("arr"),
            chunk_size=64 * 1024,
        ) as s:
            yield s

    @pytest.fixture
    def make_store(self, store: MongoGridFSStore) -> Callable[..., MongoGridFSStore]:
        return lambda **kw: store

    def storage_options(self, store: MongoGridFSStore) -> dict[str, Any]:
        cfg = store._pickle_config()
        return {k: cfg[k] for k in ("url", "database", "bucket", "array_id")}


def test_files_follow_gridfs_layout(mongo_server: MongoServer) -> None:
    """Keys are GridFS filenames ``array_id/key``; pymongo's own gridfs reads them."""
    import gridfs
    import pymongo

    bucket = unique("lay").replace("-", "_")
    store = MongoGridFSStore(
        mongo_server.url, "zarrtest", bucket, "experiment_001", chunk_size=1000
    )
    value = bytes(range(256)) * 20
    store.set("c/0/0", value)
    store.set("c/0/0", value[::-1])  # overwrite leaves exactly one file
    client = pymongo.MongoClient(mongo_server.url)
    files = list(client["zarrtest"][f"{bucket}.files"].find({"filename": "experiment_001/c/0/0"}))
    assert len(files) == 1 and files[0]["length"] == len(value)
    out = gridfs.GridFSBucket(client["zarrtest"], bucket_name=bucket)
    assert out.open_download_stream_by_name("experiment_001/c/0/0").read() == value[::-1]
    client.close()
    from zarrfast.abc.store import RangeByteRequest

    assert store.get("c/0/0", RangeByteRequest(1500, 2500)) == value[::-1][1500:2500]
    store.close()


def test_url_password_is_secret() -> None:
    store = MongoGridFSStore(
        "mongodb://zarr:hunter2-secret@127.0.0.1:9/?authSource=admin", "db", array_id="a"
    )
    assert "hunter2-secret" not in repr(store) and "***" in repr(store)
    err = store._mapped_error(
        RuntimeError("failed for mongodb://zarr:hunter2-secret@127.0.0.1:9"),
        ErrorKind.AUTH,
        "get",
        "k",
    )
    assert isinstance(err, AuthenticationError) and "hunter2-secret" not in str(err)


def test_denied_credentials_mapping() -> None:
    """nx-27017 has no users, so the mapping is checked with real pymongo errors."""
    from pymongo.errors import OperationFailure

    store = MongoGridFSStore("mongodb://127.0.0.1:9", "db", array_id="a")
    assert store._classify(OperationFailure("Authentication failed.", code=18)) is ErrorKind.AUTH
    assert (
        store._classify(OperationFailure("not authorized on db to execute command", code=13))
        is ErrorKind.DENIED
    )
    assert isinstance(
        store._mapped_error(OperationFailure("x", 13), ErrorKind.DENIED, "get", "k"),
        AccessDeniedError,
    )
