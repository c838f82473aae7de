"""Groups: creation, members, nested paths, attributes, tree, consolidation (v2 and v3)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.errors import (
    ContainsArrayError,
    ContainsGroupError,
    MetadataError,
    NodeNotFoundError,
    ReadOnlyStoreError,
)
from zarrfast.storage.memory import MemoryStore

FORMATS = pytest.mark.parametrize("fmt", [2, 3])


def build(store: Any, fmt: int, path: str = "") -> zf.Group:
    """root{a, sub{b, deep{c}}, empty}"""
    g = zf.group(store=store, path=path, zarr_format=fmt, attributes={"root": True})
    g.create_array("a", shape=(4,), chunks=(2,), dtype="i4", data=np.arange(4, dtype="i4"))
    g.create_array("sub/b", data=np.array(["x", "yz"]))
    g.create_group("sub/deep", attributes={"level": 2})
    g["sub/deep"].create_array("c", shape=(2, 2), dtype="f8", fill_value=np.nan)
    g.create_group("empty")
    return g


MEMBERS = ["a", "empty", "sub", "sub/b", "sub/deep", "sub/deep/c"]


@FORMATS
def test_hierarchy_and_members(fmt: int) -> None:
    store = MemoryStore()
    g = build(store, fmt)
    assert g.zarr_format == fmt and g.path == "" and g.name == "/"
    assert list(g.keys()) == ["a", "empty", "sub"] == list(g)
    assert len(g) == 3
    assert [n for n, _ in g.members()] == ["a", "empty", "sub"]
    assert [n for n, _ in g.members(max_depth=None)] == MEMBERS
    assert [n for n, _ in g.members(max_depth=1)] == ["a", "empty", "sub", "sub/b", "sub/deep"]
    assert g.array_keys() == ["a"] and g.group_keys() == ["empty", "sub"]
    assert [n for n, _ in g.arrays()] == ["a"] and [n for n, _ in g.groups()] == ["empty", "sub"]
    for name in MEMBERS:
        assert name in g
        assert g[name].zarr_format == fmt
    assert "nope" not in g and "sub/nope" not in g and 3 not in g
    assert isinstance(g["sub"], zf.Group) and isinstance(g["sub/deep/c"], zf.Array)
    assert g["sub"]["deep"]["c"].path == "sub/deep/c" and g["sub/deep"].basename == "deep"
    assert g["a"][...].tolist() == [0, 1, 2, 3]
    assert g["sub/b"][...].tolist() == ["x", "yz"]
    assert np.isnan(g["sub/deep/c"][...]).all()
    with pytest.raises(NodeNotFoundError):
        g["nope"]
    with pytest.raises(KeyError):  # the builtin the error also is
        g["sub/nope"]
    assert g.get("nope") is None and g.get("a").shape == (4,)


@FORMATS
def test_documents_on_disk(fmt: int) -> None:
    store = MemoryStore()
    build(store, fmt)
    keys = set(store.list_prefix(""))
    if fmt == 3:
        for node in ("", "sub/", "sub/deep/", "empty/"):
            doc = json.loads(bytes(store.get(node + "zarr.json")))
            assert doc["node_type"] == "group" and doc["zarr_format"] == 3
        assert json.loads(bytes(store.get("sub/deep/zarr.json")))["attributes"] == {"level": 2}
        assert "a/c/0" in keys and "a/c/1" in keys
    else:
        for node in ("", "sub/", "sub/deep/", "empty/"):
            assert json.loads(bytes(store.get(node + ".zgroup"))) == {"zarr_format": 2}
        assert json.loads(bytes(store.get(".zattrs"))) == {"root": True}
        assert "a/0" in keys and "a/.zarray" in keys


@FORMATS
def test_nested_paths_create_parents(fmt: int) -> None:
    store = MemoryStore()
    g = zf.group(store=store, zarr_format=fmt)
    arr = g.create_array("x/y/z/arr", shape=(2,), dtype="u1")
    assert arr.path == "x/y/z/arr"
    for parent in ("x", "x/y", "x/y/z"):
        assert isinstance(g[parent], zf.Group) and g[parent].zarr_format == fmt
    sub = g.create_group("p/q")
    assert sub.path == "p/q" and isinstance(g["p"], zf.Group)
    assert isinstance(zf.open(store=store, path="x/y"), zf.Group)
    assert isinstance(zf.open(store=store, path="x/y/z/arr"), zf.Array)


@FORMATS
def test_group_attributes(fmt: int) -> None:
    store = MemoryStore()
    g = zf.group(store=store, path="g", zarr_format=fmt, attributes={"a": 1})
    g.attrs["big"] = 2**53 + 1
    g.attrs.update({"nested": {"x": [None, 1.5]}})
    want = {"a": 1, "big": 2**53 + 1, "nested": {"x": [None, 1.5]}}
    assert dict(zf.open_group(store=store, path="g", mode="r").attrs) == want
    sub = g.create_group("s", attributes={"s": "é"})
    assert dict(zf.open(store=store, path="g/s").attrs) == {"s": "é"}
    del sub.attrs["s"]
    assert dict(zf.open(store=store, path="g/s").attrs) == {}


@FORMATS
def test_existing_members_and_overwrite(fmt: int) -> None:
    g = build(MemoryStore(), fmt)
    with pytest.raises(ContainsGroupError):
        g.create_group("sub")
    with pytest.raises(ContainsArrayError):
        g.create_array("a", shape=(1,))
    with pytest.raises(ContainsArrayError):
        g.create_group("a")
    again = g.create_array("a", shape=(9,), dtype="u1", overwrite=True)
    assert again.shape == (9,) and g["a"].shape == (9,)
    assert g.create_group("sub", overwrite=True).path == "sub"
    assert "sub/b" not in g and list(g["sub"].keys()) == []
    assert g.require_group("sub").path == "sub"
    assert g.require_group("fresh").path == "fresh"
    with pytest.raises(ContainsGroupError):
        g.require_group("a")
    assert g.require_array("a", shape=(9,)).shape == (9,)
    assert g.require_array("new", shape=(2,)).shape == (2,)


@FORMATS
def test_group_array_shorthands(fmt: int) -> None:
    g = zf.group(store=MemoryStore(), zarr_format=fmt)
    assert g.zeros("z", (2,), dtype="i1")[...].tolist() == [0, 0]
    assert g.ones("o", (2,), dtype="f4")[...].tolist() == [1, 1]
    assert g.full("f", (2,), 7, dtype="u2")[...].tolist() == [7, 7]
    assert g.empty("e", (2,), dtype="u2").nchunks_initialized == 0
    assert all(g[n].zarr_format == fmt for n in "zofe")


@FORMATS
def test_delete_members(fmt: int) -> None:
    store = MemoryStore()
    g = build(store, fmt)
    del g["sub/deep"]
    assert "sub/deep" not in g and "sub/deep/c" not in g
    assert not any(k.startswith("sub/deep/") for k in store.list_prefix(""))
    del g["a"]
    assert list(g.keys()) == ["empty", "sub"]
    with pytest.raises(NodeNotFoundError):
        del g["a"]


@FORMATS
def test_tree_and_info(fmt: int) -> None:
    g = build(MemoryStore(), fmt)
    tree = g.tree()
    assert tree.splitlines() == [
        "/",
        "├── a (4,) int32",
        "├── empty",
        "└── sub",
        "    ├── b (2,) <U2",  # numpy str data keeps its fixed length, as in zarr-python
        "    └── deep",
        "        └── c (2, 2) float64",
    ]
    assert g["sub"].tree().splitlines()[0] == "/sub"
    assert f"Zarr format: {fmt}" in g.info and "Members    : 3" in g.info
    assert repr(g) == f"<zarrfast.Group '/' zarr_format={fmt}>"


@FORMATS
def test_read_only_group(fmt: int) -> None:
    store = MemoryStore()
    build(store, fmt)
    g = zf.open_group(store=store, mode="r")
    assert g.read_only and g["sub"].read_only and g["a"].read_only
    for attempt in (
        lambda: g.create_group("x"),
        lambda: g.create_array("x", shape=(1,)),
        lambda: g.attrs.update(x=1),
        lambda: g.__delitem__("a"),
        lambda: g["a"].__setitem__(0, 1),
        lambda: g.consolidate_metadata(),
    ):
        with pytest.raises(ReadOnlyStoreError):
            attempt()


def test_group_modes(store_path: str) -> None:
    g = zf.open_group(path=store_path, mode="w-", zarr_format=2)
    g.create_group("x")
    with pytest.raises(ContainsGroupError):
        zf.open_group(path=store_path, mode="w-")
    assert list(zf.open_group(path=store_path, mode="a").keys()) == ["x"]
    assert list(zf.open_group(path=store_path, mode="w").keys()) == []
    with pytest.raises(NodeNotFoundError):
        zf.open_group(path=store_path + "_missing", mode="r")
    with pytest.raises(NodeNotFoundError):
        zf.open_group(path=store_path + "_missing", mode="r+")
    assert isinstance(zf.open(path=store_path), zf.Group)
    assert zf.group(path=store_path, overwrite=True, zarr_format=3).zarr_format == 3


# --------------------------------------------------------------------------- consolidation
@FORMATS
def test_consolidate_and_reopen(fmt: int) -> None:
    store = MemoryStore()
    build(store, fmt)
    cg = zf.consolidate_metadata(store=store)
    assert cg.metadata.consolidated is not None
    if fmt == 3:
        doc = json.loads(bytes(store.get("zarr.json")))["consolidated_metadata"]
        assert doc["kind"] == "inline" and doc["must_understand"] is False
        assert sorted(doc["metadata"]) == MEMBERS
    else:
        doc = json.loads(bytes(store.get(".zmetadata")))
        assert doc["zarr_consolidated_format"] == 1
        assert {".zgroup", ".zattrs", "a/.zarray", "sub/deep/c/.zarray", "sub/deep/.zattrs"} <= set(
            doc["metadata"]
        )
    g = zf.open_group(store=store, mode="r", use_consolidated=True)
    assert g.metadata.consolidated is not None
    assert [n for n, _ in g.members(max_depth=None)] == MEMBERS
    assert g["a"][...].tolist() == [0, 1, 2, 3]
    assert dict(g["sub/deep"].attrs) == {"level": 2}
    plain = zf.open_group(store=store, mode="r", use_consolidated=False)
    assert plain.metadata.consolidated is None
    assert [n for n, _ in plain.members(max_depth=None)] == MEMBERS


@FORMATS
def test_consolidated_metadata_is_what_is_read(fmt: int) -> None:
    """With the member documents gone, only the consolidated copy can describe them."""
    store = MemoryStore()
    build(store, fmt)
    zf.consolidate_metadata(store=store)
    for key in list(store.list_prefix("sub/deep/c/")):
        if key.rsplit("/", 1)[-1] in ("zarr.json", ".zarray", ".zattrs"):
            store.delete(key)
    g = zf.open_group(store=store, mode="r")
    assert g["sub/deep/c"].shape == (2, 2)
    assert g["sub"]["deep"]["c"].shape == (2, 2)  # sub-groups get their slice of it
    assert "sub/deep/c" in g
    with pytest.raises(NodeNotFoundError):
        zf.open_group(store=store, mode="r", use_consolidated=False)["sub/deep/c"]


@FORMATS
def test_use_consolidated_true_requires_it(fmt: int) -> None:
    store = MemoryStore()
    build(store, fmt)
    with pytest.raises(MetadataError):
        zf.open_group(store=store, mode="r", use_consolidated=True)


@FORMATS
def test_consolidation_of_a_sub_group(fmt: int) -> None:
    store = MemoryStore()
    build(store, fmt, path="root/here")
    zf.consolidate_metadata(store=store, path="root/here/sub")
    g = zf.open_group(store=store, path="root/here/sub", mode="r", use_consolidated=True)
    assert [n for n, _ in g.members(max_depth=None)] == ["b", "deep", "deep/c"]


@FORMATS
def test_delete_updates_consolidated_metadata(fmt: int) -> None:
    """As zarr-python does: a deleted member does not come back from the consolidated copy."""
    store = MemoryStore()
    build(store, fmt)
    zf.consolidate_metadata(store=store)
    g = zf.open_group(store=store, mode="r+")
    del g["sub"]
    again = zf.open_group(store=store, mode="r", use_consolidated=True)
    assert [n for n, _ in again.members(max_depth=None)] == ["a", "empty"]
    assert "sub/b" not in again


@FORMATS
def test_structural_changes_after_consolidation(fmt: int) -> None:
    """Creating through an open group shows the new member on that group at once; the
    stored consolidated copy is a snapshot until consolidated again (as in zarr-python)."""
    store = MemoryStore()
    build(store, fmt)
    zf.consolidate_metadata(store=store)
    g = zf.open_group(store=store, mode="r+")
    g.create_array("late", shape=(1,))
    assert "late" in list(g.keys())
    assert "late" not in list(zf.open_group(store=store, mode="r").keys())
    zf.consolidate_metadata(store=store)
    assert "late" in list(zf.open_group(store=store, mode="r").keys())


@FORMATS
def test_consolidated_attributes_update_keeps_consolidation(fmt: int) -> None:
    store = MemoryStore()
    build(store, fmt)
    zf.consolidate_metadata(store=store)
    g = zf.open_group(store=store, mode="r+")
    g.attrs["after"] = 1
    again = zf.open_group(store=store, mode="r", use_consolidated=True)
    assert again["a"][...].tolist() == [0, 1, 2, 3]
    assert zf.open_group(store=store, mode="r", use_consolidated=False).attrs["after"] == 1
