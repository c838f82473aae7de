"""The backend registry (register, entry points, list) and store URLs."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
import zarrfast.storage as storage
from zarrfast.abc.store import Store
from zarrfast.errors import BackendNotAvailableError, RegistryError
from zarrfast.storage.lmdb import LMDBStore
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore
from zarrfast.storage.mock import MockStore
from zarrfast.storage.urls import SCHEMES, memory_store, open_url, parse_url
from zarrfast.storage.zip import ZipStore


class DictStore(MemoryStore):
    """A user backend: a MemoryStore under another name."""

    backend_name = "dictstore"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DictStore:
        return cls(**options)


class Incomplete(Store):
    backend_name = "incomplete"

    def get(self, key: str, byte_range: Any = None) -> Any:
        return None


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(storage, "_REGISTERED", {})
    monkeypatch.setattr(storage, "_ENTRY_POINTS", None)
    yield


# ------------------------------------------------------------------ register
def test_register_and_use_by_name() -> None:
    storage.register(DictStore)
    assert storage.get_backend("dictstore")[0] is DictStore
    arr = zf.create((4,), chunks=(2,), dtype="i4", storage="dictstore")
    arr[:] = [1, 2, 3, 4]
    assert isinstance(arr.store, DictStore)
    np.testing.assert_array_equal(arr[:], [1, 2, 3, 4])


def test_register_as_decorator_with_name() -> None:
    @storage.register
    class Deco(MemoryStore):
        backend_name = "deco"

    assert storage.get_backend("deco")[0] is Deco
    storage.register(Deco, "deco2")
    assert storage.get_backend("deco2")[0] is Deco


def test_register_twice_is_an_error() -> None:
    storage.register(DictStore)
    with pytest.raises(RegistryError, match=r"already registered.*replace=True"):
        storage.register(DictStore)
    storage.register(DictStore, replace=True)
    storage.unregister("dictstore")
    with pytest.raises(RegistryError):
        storage.get_backend("dictstore")


@pytest.mark.parametrize("name", ["memory", "s3", "file", "gs", "mock"])
def test_register_builtin_name_is_an_error(name: str) -> None:
    with pytest.raises(RegistryError, match="built-in"):
        storage.register(DictStore, name)


def test_register_incomplete_class_lists_missing_methods() -> None:
    with pytest.raises(RegistryError, match=r"lacks required methods \['delete', 'exists'"):
        storage.register(Incomplete)


@pytest.mark.parametrize("bad", [object, dict, "memory", None, 3])
def test_register_non_store_is_an_error(bad: Any) -> None:
    with pytest.raises(RegistryError, match="Store subclass"):
        storage.register(bad)


@pytest.mark.parametrize("name", ["My Store", "UPPER", "1abc", "a-b", ""])
def test_register_bad_names(name: str) -> None:
    with pytest.raises(RegistryError):
        storage.register(DictStore, name)


def test_unknown_backend_lists_available() -> None:
    with pytest.raises(RegistryError, match=r"available:.*memory"):
        storage.get_backend("nosuch")


# ------------------------------------------------------------------ entry points
def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, *eps: tuple[str, str]) -> None:
    objs = [
        importlib.metadata.EntryPoint(name=n, value=v, group=storage.ENTRY_POINT_GROUP)
        for n, v in eps
    ]

    def entry_points(**kw: Any) -> list[Any]:
        assert kw == {"group": storage.ENTRY_POINT_GROUP}
        return objs

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_entry_point_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(
        monkeypatch, ("viaep", f"{__name__}:DictStore"), ("memory", f"{__name__}:DictStore")
    )
    assert storage.get_backend("viaep")[0] is DictStore
    assert storage.get_backend("memory")[0] is MemoryStore  # built-ins win
    assert storage.list()["viaep"] == "ok"


def test_broken_entry_point_reported_not_raised_by_list(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(
        monkeypatch,
        ("broken", "zarrfast_no_such_pkg.mod:Store"),
        ("notastore", f"{__name__}:Incomplete"),
    )
    with pytest.raises(BackendNotAvailableError, match="broken"):
        storage.get_backend("broken")
    listing = storage.list()
    assert "could not be imported" in listing["broken"]
    assert "lacks required methods" in listing["notastore"]


def test_list_is_available_and_names_missing_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    assert storage.list is storage.available
    listing = storage.list()
    for name in (
        "memory",
        "filesystem",
        "zip",
        "lmdb",
        "mock",
        "s3",
        "gcs",
        "azure_blob",
        "mongo_gridfs",
    ):
        assert name in listing
    assert listing["memory"] == "ok"
    import builtins

    real_import = builtins.__import__

    def no_boto(name: str, *a: Any, **k: Any) -> Any:
        if name.startswith("zarrfast.storage.s3"):
            raise ImportError("No module named 'boto3'", name="boto3")
        return real_import(name, *a, **k)

    monkeypatch.delitem(__import__("sys").modules, "zarrfast.storage.s3", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_boto)
    monkeypatch.setattr(
        importlib,
        "import_module",
        lambda n: no_boto(n) if n.endswith(".s3") else real_import(n, fromlist=["x"]),
    )
    assert "pip install 'zarrfast[s3]'" in storage.list()["s3"]


# ------------------------------------------------------------------ URL mapping (pure)
@pytest.mark.parametrize(
    ("url", "backend", "options", "node"),
    [
        ("s3://bucket/a/b", "s3", {"bucket": "bucket", "prefix": "a/b"}, ""),
        ("s3://bucket", "s3", {"bucket": "bucket", "prefix": ""}, ""),
        (
            "s3://bucket/p?region=eu-west-1&anon=true",
            "s3",
            {"bucket": "bucket", "prefix": "p", "region": "eu-west-1", "anon": True},
            "",
        ),
        ("gs://bkt/x/y/", "gcs", {"bucket": "bkt", "prefix": "x/y"}, ""),
        (
            "az://cont/pre",
            "azure_blob",
            {"container": "cont", "prefix": "pre", "account_name": "envacct"},
            "",
        ),
        (
            "az://cont@acct.dfs.core.windows.net/pre",
            "azure_blob",
            {"container": "cont", "prefix": "pre", "account_name": "acct"},
            "",
        ),
        (
            "mongodb://db.example:27017/zarr/fs/exp1",
            "mongo_gridfs",
            {
                "url": "mongodb://db.example:27017",
                "database": "zarr",
                "bucket": "fs",
                "array_id": "exp1",
            },
            "",
        ),
        ("file:///data/a.zarr", "filesystem", {"root": "/data/a.zarr"}, ""),
        ("file://localhost/data/a.zarr", "filesystem", {"root": "/data/a.zarr"}, ""),
        ("/data/a.zarr", "filesystem", {"root": "/data/a.zarr"}, ""),
        ("rel/a.zarr", "filesystem", {"root": "rel/a.zarr"}, ""),
        ("C://Users/a.zarr", "filesystem", {"root": "C://Users/a.zarr"}, ""),
        ("/data/a.zip", "zip", {"path": "/data/a.zip"}, ""),
        ("zip:///data/a.zip", "zip", {"path": "/data/a.zip"}, ""),
        ("zip:///data/a.zip!/grp/arr", "zip", {"path": "/data/a.zip"}, "grp/arr"),
        ("lmdb:///data/a.lmdb", "lmdb", {"path": "/data/a.lmdb"}, ""),
        ("lmdb://rel/a.lmdb", "lmdb", {"path": "rel/a.lmdb"}, ""),
        ("memory://scratch/grp", "memory", {"name": "scratch"}, "grp"),
        ("mock://x", "mock", {"name": "x"}, ""),
    ],
)
def test_parse_url(url: str, backend: str, options: dict[str, Any], node: str) -> None:
    env = {"AZURE_STORAGE_ACCOUNT": "envacct"}
    assert parse_url(url, environ=env) == (backend, options, node)


def test_parse_url_keywords_and_path() -> None:
    b, opts, node = parse_url(
        "s3://bkt/pre?region=a", path="/grp/arr/", region="b", endpoint_url="http://localhost:9000"
    )
    assert (b, node) == ("s3", "grp/arr")
    assert opts == {
        "bucket": "bkt",
        "prefix": "pre",
        "region": "b",
        "endpoint_url": "http://localhost:9000",
    }
    assert parse_url("az://c/p", environ={}, account_name="kw")[1]["account_name"] == "kw"
    assert "account_name" not in parse_url("az://c/p", environ={})[1]


def test_parse_url_refuses_secrets_in_query() -> None:
    with pytest.raises(RegistryError, match="cannot be given in the URL query") as info:
        parse_url("s3://b/p?aws_secret_access_key=hunter2")
    assert "hunter2" not in str(info.value)


def test_unknown_scheme_lists_known_schemes() -> None:
    with pytest.raises(RegistryError, match=r"unknown store URL scheme 'ftp'.*'s3'"):
        parse_url("ftp://host/x")
    for scheme in ("s3", "gs", "az", "file", "zip", "lmdb", "memory", "mongodb"):
        assert scheme in SCHEMES


@pytest.mark.parametrize("url", ["s3://", "az://", "memory://", "mongodb://h/db"])
def test_malformed_urls(url: str) -> None:
    with pytest.raises(RegistryError):
        parse_url(url)


def test_mongodb_credentials_not_in_errors() -> None:
    with pytest.raises(RegistryError) as info:
        parse_url("mongodb://user:s3cret@host/db")
    assert "s3cret" not in str(info.value)


def test_registered_backend_answers_to_its_scheme() -> None:
    storage.register(DictStore)
    st, node = open_url("dictstore://anything", path="g")
    assert isinstance(st, DictStore) and node == "g"


# ------------------------------------------------------------------ end to end
def _roundtrip(url: str, **kw: Any) -> None:
    data = np.arange(30, dtype="i2").reshape(5, 6)
    arr = zf.open(url, mode="w", shape=(5, 6), chunks=(2, 3), dtype="i2", **kw)
    arr[:] = data
    if hasattr(arr.store, "flush"):
        arr.store.flush()
    again = zf.open(url, mode="r", **kw)
    np.testing.assert_array_equal(again[:], data)
    return arr.store, again.store  # type: ignore[return-value]


def test_open_plain_path_and_file_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w, r = _roundtrip(str(tmp_path / "a.zarr"))
    assert isinstance(w, LocalStore) and r.read_only
    w, _ = _roundtrip(f"file://{tmp_path}/b.zarr")
    assert isinstance(w, LocalStore) and w.root == tmp_path / "b.zarr"


def test_open_zip_url_with_inner_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    z = tmp_path / "a.zip"
    arr = zf.create((4,), chunks=(2,), dtype="u1", store=ZipStore(str(z), mode="w"), path="grp/arr")
    arr[:] = [1, 2, 3, 4]
    arr.store.close()
    again = zf.open(f"zip://{z}!/grp/arr", mode="r")
    assert isinstance(again.store, ZipStore)
    np.testing.assert_array_equal(again[:], [1, 2, 3, 4])
    again.store.close()
    st, node = open_url(str(z), path="grp", read_only=True)
    assert isinstance(st, ZipStore) and node == "grp"
    st.close()


def test_open_lmdb_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w, r = _roundtrip(f"lmdb://{tmp_path}/a.lmdb")
    assert isinstance(w, LMDBStore)
    w.close()
    r.close()


def test_memory_url_is_shared_by_name() -> None:
    arr = zf.create((3,), chunks=(3,), dtype="i4", store="memory://shared-test")
    arr[:] = [7, 8, 9]
    again = zf.open("memory://shared-test")
    np.testing.assert_array_equal(again[:], [7, 8, 9])
    assert again.store is memory_store("shared-test")
    assert zf.open_group("memory://other-test").store is not again.store


def test_mock_url_wraps_named_memory() -> None:
    st, _ = open_url("mock://mocked", error_rate=0.0)
    assert isinstance(st, MockStore) and st.inner is memory_store("mocked")


def test_open_remote_urls_map_to_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_make_store(name: str, **options: Any) -> Store:
        seen[name] = options
        return MemoryStore()

    monkeypatch.setattr(storage, "make_store", fake_make_store)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "acct")
    zf.open_group("s3://bkt/exp/1", mode="w", region="us-west-2")
    zf.open_group("gs://bkt/exp", mode="w")
    zf.open_group("az://cont/exp", mode="w")
    zf.open_group("mongodb://h:27017/db/fs/arr1", mode="w")
    assert seen == {
        "s3": {"bucket": "bkt", "prefix": "exp/1", "region": "us-west-2"},
        "gcs": {"bucket": "bkt", "prefix": "exp"},
        "azure_blob": {"container": "cont", "prefix": "exp", "account_name": "acct"},
        "mongo_gridfs": {
            "url": "mongodb://h:27017",
            "database": "db",
            "bucket": "fs",
            "array_id": "arr1",
        },
    }
