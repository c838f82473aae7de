"""Hierarchies and consolidated metadata, zarr-python as the oracle, both directions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore

import zarrfast as zf
from tests.test_interop._support import ZARR_WARNINGS, assert_bits_equal, metadata_documents

pytestmark = [pytest.mark.interop, *ZARR_WARNINGS]

ROOT_ATTRS = {"big": 2**53 + 1, "nested": {"list": [1, "two", None], "obj": {"k": -(2**63)}}}
SUB_ATTRS = {"x": 1, "s": "é"}
A = np.arange(12, dtype="<i4").reshape(3, 4)
B = np.array(["", "b", "héllo"], dtype=object)
C = np.array([[0.5, np.nan], [-0.0, np.inf]])
MEMBERS = {"a", "sub", "sub/b", "sub/deeper", "sub/deeper/c"}


def _raw(fmt: int) -> dict[str, Any]:
    """Explicit 'no compressor' so both libraries' metadata documents are comparable."""
    return {"compressors": None}


def build_with_zarr(path: str, fmt: int, consolidate: bool) -> None:
    store = LocalStore(path)
    g = zarr.create_group(store, zarr_format=fmt, attributes=ROOT_ATTRS)
    g.create_array("a", shape=A.shape, chunks=(2, 3), dtype=A.dtype, **_raw(fmt))[...] = A
    sub = g.create_group("sub", attributes=SUB_ATTRS)
    sub.create_array("b", shape=B.shape, chunks=(2,), dtype=str, **_raw(fmt))[...] = B
    sub.create_group("deeper").create_array(
        "c", shape=C.shape, chunks=(1, 2), dtype="f8", fill_value=float("nan"), **_raw(fmt)
    )[...] = C
    if consolidate:
        zarr.consolidate_metadata(store)


def build_with_zarrfast(path: str, fmt: int, consolidate: bool) -> None:
    g = zf.group(path=path, zarr_format=fmt, attributes=ROOT_ATTRS)
    g.create_array("a", shape=A.shape, chunks=(2, 3), dtype=A.dtype, compressor=None)[...] = A
    sub = g.create_group("sub", attributes=SUB_ATTRS)
    sub.create_array("b", shape=B.shape, chunks=(2,), dtype=str, compressor=None)[...] = B
    sub.create_group("deeper").create_array(
        "c", shape=C.shape, chunks=(1, 2), dtype="f8", fill_value=float("nan"), compressor=None
    )[...] = C
    if consolidate:
        zf.consolidate_metadata(path=path)


def check_with_zarrfast(path: str, fmt: int, *, consolidated: bool) -> None:
    g = zf.open_group(path=path, mode="r")
    assert g.zarr_format == fmt
    assert (g.metadata.consolidated is not None) == consolidated
    assert dict(g.attrs) == ROOT_ATTRS
    assert sorted(g.keys()) == ["a", "sub"]
    names = {name for name, _ in g.members(max_depth=None)}
    assert names == MEMBERS
    assert dict(g["sub"].attrs) == SUB_ATTRS
    assert_bits_equal(g["a"][...], A)
    assert g["sub/b"][...].tolist() == B.tolist()
    assert_bits_equal(g["sub"]["deeper"]["c"][...], C)
    assert "sub/deeper" in g and "nope" not in g


def check_with_zarr(path: str, fmt: int, *, consolidated: bool) -> None:
    store = LocalStore(path, read_only=True)
    g = zarr.open_group(store, mode="r", zarr_format=fmt, use_consolidated=consolidated or None)
    assert (g.metadata.consolidated_metadata is not None) == consolidated
    assert g.attrs.asdict() == ROOT_ATTRS
    assert sorted(g.keys()) == ["a", "sub"]
    names = {name for name, _ in g.members(max_depth=None)}
    assert names == MEMBERS
    assert g["sub"].attrs.asdict() == SUB_ATTRS
    assert_bits_equal(g["a"][...], A)
    assert [str(s) for s in g["sub/b"][...]] == B.tolist()
    assert_bits_equal(g["sub/deeper/c"][...], C)


def _drop_member_documents(path: str, fmt: int) -> None:
    """Delete a member's own metadata: only the consolidated copy can describe it now."""
    names = ["zarr.json"] if fmt == 3 else [".zarray", ".zattrs"]
    for n in names:
        os.remove(os.path.join(path, "sub", "deeper", "c", n))


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("consolidate", [False, True], ids=["plain", "consolidated"])
def test_zarr_hierarchy_read_by_zarrfast(fmt: int, consolidate: bool, tmp_path: Path) -> None:
    path = str(tmp_path / "h")
    build_with_zarr(path, fmt, consolidate)
    check_with_zarrfast(path, fmt, consolidated=consolidate)
    if consolidate:
        _drop_member_documents(path, fmt)
        g = zf.open_group(path=path, mode="r", use_consolidated=True)
        assert_bits_equal(g["sub/deeper/c"][...], C)
        with pytest.raises(zf.errors.NodeNotFoundError):
            zf.open_group(path=path, mode="r", use_consolidated=False)["sub/deeper/c"]


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("consolidate", [False, True], ids=["plain", "consolidated"])
def test_zarrfast_hierarchy_read_by_zarr(fmt: int, consolidate: bool, tmp_path: Path) -> None:
    path = str(tmp_path / "h")
    build_with_zarrfast(path, fmt, consolidate)
    check_with_zarr(path, fmt, consolidated=consolidate)
    if consolidate:
        _drop_member_documents(path, fmt)
        g = zarr.open_group(LocalStore(path, read_only=True), mode="r", use_consolidated=True)
        assert_bits_equal(g["sub/deeper/c"][...], C)


def _normalize_consolidated(doc: Any) -> Any:
    """zarr-python 3.1 quirks that carry no information, removed before comparing:

    * v3: every nested *group* entry gets an empty ``consolidated_metadata`` object;
    * v2: ``.zgroup`` entries in ``.zmetadata`` get the same v3-style object.
    """
    doc = json.loads(json.dumps(doc))
    if "consolidated_metadata" in doc:  # v3 root zarr.json
        for entry in doc["consolidated_metadata"]["metadata"].values():
            if entry.get("node_type") == "group":
                cm = entry.get("consolidated_metadata")
                if cm is not None and cm.get("metadata") == {}:
                    del entry["consolidated_metadata"]
    if "metadata" in doc and "zarr_consolidated_format" in doc:  # v2 .zmetadata
        for key, entry in doc["metadata"].items():
            if key.endswith(".zgroup"):
                entry.pop("consolidated_metadata", None)
    return doc


@pytest.mark.parametrize("fmt", [2, 3])
def test_consolidated_documents_match(fmt: int, tmp_path: Path) -> None:
    ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
    build_with_zarrfast(ours, fmt, True)
    build_with_zarr(theirs, fmt, True)
    name = "zarr.json" if fmt == 3 else ".zmetadata"
    got = _normalize_consolidated(metadata_documents(ours)[name])
    want = _normalize_consolidated(metadata_documents(theirs)[name])
    assert got == want
    # and every member's own documents
    for member in sorted(MEMBERS):
        assert metadata_documents(os.path.join(ours, member)) == metadata_documents(
            os.path.join(theirs, member)
        ), member


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarrfast_consolidates_zarr_hierarchy(fmt: int, tmp_path: Path) -> None:
    """zarr-python builds, zarrfast consolidates, zarr-python opens consolidated."""
    path = str(tmp_path / "h")
    build_with_zarr(path, fmt, False)
    zf.consolidate_metadata(path=path)
    check_with_zarr(path, fmt, consolidated=True)


@pytest.mark.parametrize("fmt", [2, 3])
def test_attribute_updates_both_ways(fmt: int, tmp_path: Path) -> None:
    path = str(tmp_path / "h")
    build_with_zarr(path, fmt, False)
    g = zf.open_group(path=path, mode="r+")
    g.attrs["added"] = 2**64 - 1
    g["a"].attrs.update({"units": "m", "scale": [1.5, -0.0]})
    zg = zarr.open_group(LocalStore(path), mode="r+", zarr_format=fmt)
    assert zg.attrs.asdict() == {**ROOT_ATTRS, "added": 2**64 - 1}
    assert zg["a"].attrs.asdict() == {"units": "m", "scale": [1.5, -0.0]}
    zg["a"].attrs["from_zarr"] = {"deep": [2**53 + 1]}
    assert dict(zf.open(path=path + "/a", mode="r").attrs) == {
        "units": "m",
        "scale": [1.5, -0.0],
        "from_zarr": {"deep": [2**53 + 1]},
    }


@pytest.mark.parametrize("fmt", [2, 3])
def test_resize_and_append_read_by_zarr(fmt: int, tmp_path: Path) -> None:
    """Shrinking deletes chunks outside the new shape; zarr-python sees the same array."""
    path = str(tmp_path / "r")
    a = zf.create(
        shape=(10, 7), chunks=(3, 3), dtype="i2", zarr_format=fmt, path=path, compressor=None
    )
    data = np.arange(70, dtype="i2").reshape(10, 7) + 1
    a[...] = data
    a.resize((4, 5))
    a.append(np.full((2, 5), -1, dtype="i2"))
    z = zarr.open_array(LocalStore(path, read_only=True), mode="r")
    want = np.concatenate([data[:4, :5], np.full((2, 5), -1, dtype="i2")])
    assert z.shape == (6, 5)
    assert_bits_equal(z[...], want)
    # no chunk beyond the grid of the smallest shape (4, 5) -> (2, 2) chunks was kept
    # except those rewritten by append (rows 4..5 -> chunk row 1)
    assert z.nchunks_initialized == a.nchunks_initialized == 4


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarr_resized_array_read_by_zarrfast(fmt: int, tmp_path: Path) -> None:
    path = str(tmp_path / "r")
    z = zarr.create_array(
        LocalStore(path),
        shape=(10, 7),
        chunks=(3, 3),
        dtype="f4",
        zarr_format=fmt,
        fill_value=float("nan"),
    )
    z[...] = np.arange(70, dtype="f4").reshape(10, 7)
    z.resize((5, 9))
    a = zf.open(path=path, mode="r")
    want = np.full((5, 9), np.nan, dtype="f4")
    want[:5, :7] = np.arange(70, dtype="f4").reshape(10, 7)[:5]
    # zarr-python leaves the stale values of chunks cut by the shrink in place: the
    # reappearing columns of chunk column 2 hold whatever zarr-python stored there.
    got = a[...]
    assert_bits_equal(got, np.asarray(z[...]))
    assert_bits_equal(got[:, :7], want[:, :7])


@pytest.mark.parametrize("fmt", [2, 3])
def test_write_empty_chunks_true(fmt: int, tmp_path: Path) -> None:
    """Chunks equal to the fill value stored by one are read by the other."""
    p1, p2 = str(tmp_path / "z"), str(tmp_path / "f")
    z = zarr.create_array(
        LocalStore(p1),
        shape=(4, 4),
        chunks=(2, 2),
        dtype="i4",
        zarr_format=fmt,
        fill_value=3,
        config={"write_empty_chunks": True},
    )
    z[...] = 3
    assert zf.open(path=p1, mode="r").nchunks_initialized == 4
    assert_bits_equal(zf.open(path=p1, mode="r")[...], np.full((4, 4), 3, dtype="i4"))
    a = zf.create(
        shape=(4, 4),
        chunks=(2, 2),
        dtype="i4",
        zarr_format=fmt,
        fill_value=3,
        path=p2,
        write_empty_chunks=True,
    )
    a[...] = 3
    zr = zarr.open_array(LocalStore(p2, read_only=True), mode="r")
    assert zr.nchunks_initialized == 4
    assert_bits_equal(zr[...], np.full((4, 4), 3, dtype="i4"))
