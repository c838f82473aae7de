"""The user-facing Array API: create/open/modes, selections, properties, shape changes."""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Sequence
from typing import Any

import numcodecs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import zarrfast as zf
from zarrfast.errors import (
    BoundsCheckError,
    ContainsArrayError,
    ContainsGroupError,
    MetadataError,
    NodeNotFoundError,
    ReadOnlyStoreError,
    SelectionError,
    ShapeMismatchError,
    UnknownCodecError,
)
from zarrfast.storage.memory import MemoryStore


class CountingStore(MemoryStore):
    """A MemoryStore that records every key asked for through get_many."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requested: list[str] = []

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        self.requested.extend(keys)
        return super().get_many(keys)


def chunk_keys(store: Any, prefix: str = "") -> list[str]:
    names = ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata")
    return sorted(k for k in store.list_prefix(prefix) if k.rsplit("/", 1)[-1] not in names)


def same_bits(a: Any, b: Any) -> bool:
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


REF = np.arange(1000 * 1000, dtype="float64").reshape(1000, 1000) / 7


# --------------------------------------------------------------------------- the issue's example
@pytest.mark.parametrize("fmt", [2, 3])
def test_issue_example(fmt: int, store_path: str) -> None:
    a = zf.create(
        shape=(1000, 1000),
        chunks=(100, 100),
        dtype="float64",
        compressor="zlib",
        storage="filesystem",
        path=store_path,
        zarr_format=fmt,
    )
    a.set_slice(REF[:500], start=(0, 0))
    a.set_slice(REF[500:], start=(500, 0), stop=(1000, 1000))
    assert same_bits(a.get_slice((10, 20), (30, 50)), REF[10:30, 20:50])
    assert same_bits(a.get_slice(step=(7, 3)), REF[::7, ::3])
    b = zf.open(path=store_path)
    assert isinstance(b, zf.Array) and b.zarr_format == fmt
    assert same_bits(b[10:20, ::3], REF[10:20, ::3])
    assert same_bits(b[...], REF)
    assert same_bits(b.oindex[[1, 5], :], REF[[1, 5], :])
    assert same_bits(b.vindex[[1, 2], [3, 4]], REF[[1, 2], [3, 4]])
    assert same_bits(b[-1, -3:], REF[-1, -3:])
    assert same_bits(b[999:900:-7, 5], REF[999:900:-7, 5])
    assert b[3, 4] == REF[3, 4]
    # "zlib" is numcodecs zlib in v2; in v3 it is the core gzip codec every reader knows
    expected = {"id": "zlib", "level": 1} if fmt == 2 else {"id": "gzip", "level": 1}
    assert b.compressors[0].to_v2_config() == expected
    assert b.nchunks_initialized == b.nchunks == 100


def test_open_detects_the_format(store_path: str) -> None:
    zf.create(shape=(4,), path=store_path + "/v2", zarr_format=2)
    zf.create(shape=(4,), path=store_path + "/v3", zarr_format=3)
    assert zf.open(path=store_path + "/v2").zarr_format == 2
    assert zf.open(path=store_path + "/v3").zarr_format == 3
    assert zf.open(path=store_path + "/v3", zarr_format=3).zarr_format == 3
    with pytest.raises(NodeNotFoundError):
        zf.open(path=store_path + "/v3", zarr_format=2, mode="r")


# --------------------------------------------------------------------------- modes
@pytest.fixture
def existing(store_path: str) -> str:
    a = zf.create(shape=(6, 4), chunks=(2, 2), dtype="int16", path=store_path)
    a[...] = np.arange(24, dtype="int16").reshape(6, 4)
    return store_path


def test_mode_r_refuses_every_write(existing: str) -> None:
    a = zf.open(path=existing, mode="r")
    assert a.read_only
    for attempt in (
        lambda: a.__setitem__((0, 0), 1),
        lambda: a.set_slice(np.ones((1, 1)), (0, 0)),
        lambda: a.oindex.__setitem__(([0], [0]), 1),
        lambda: a.attrs.update(x=1),
        lambda: a.resize((2, 2)),
        lambda: a.append(np.ones((1, 4), "int16")),
    ):
        with pytest.raises(ReadOnlyStoreError):
            attempt()
    assert same_bits(a[...], np.arange(24, dtype="int16").reshape(6, 4))
    with pytest.raises(PermissionError):  # the builtin the error also is
        a[0, 0] = 2


def test_mode_r_plus_writes_existing(existing: str) -> None:
    a = zf.open(path=existing, mode="r+")
    a[0, 0] = 100
    assert zf.open(path=existing, mode="r")[0, 0] == 100


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_missing_node_is_node_not_found(mode: str, store_path: str) -> None:
    with pytest.raises(NodeNotFoundError):
        zf.open(path=store_path, mode=mode)
    with pytest.raises(NodeNotFoundError):
        zf.open_array(path=store_path, mode=mode)
    with pytest.raises(NodeNotFoundError):
        zf.open(store=MemoryStore(), path="nothing/here", mode=mode)
    with pytest.raises(FileNotFoundError):
        zf.open(path=store_path, mode=mode)


def test_mode_a(existing: str, store_path: str) -> None:
    assert zf.open(path=existing, mode="a").shape == (6, 4)  # opened, not replaced
    b = zf.open(path=store_path + "_new", mode="a", shape=(3,), dtype="u1", fill_value=9)
    assert isinstance(b, zf.Array) and same_bits(b[...], np.full(3, 9, "u1"))
    # without shape=, mode "a" opens only what exists (NodeNotFoundError, nothing written)
    with pytest.raises(NodeNotFoundError):
        zf.open(path=store_path + "_group", mode="a")
    g = zf.open_group(path=store_path + "_group", mode="a")
    assert isinstance(g, zf.Group)
    assert isinstance(zf.open(path=store_path + "_group", mode="a"), zf.Group)


def test_mode_w_overwrites(existing: str) -> None:
    a = zf.open(path=existing, mode="w", shape=(3,), dtype="f4")
    assert a.shape == (3,) and a.nchunks_initialized == 0
    assert zf.open(path=existing, mode="r").dtype == np.float32


def test_mode_w_minus(existing: str, store_path: str) -> None:
    with pytest.raises(ContainsArrayError):
        zf.open(path=existing, mode="w-", shape=(3,))
    with pytest.raises(ContainsArrayError):
        zf.create(shape=(3,), path=existing)
    with pytest.raises(FileExistsError):
        zf.create(shape=(3,), path=existing)
    zf.group(path=store_path + "_g")
    with pytest.raises(ContainsGroupError):
        zf.open(path=store_path + "_g", mode="w-", shape=(3,))
    a = zf.open(path=store_path + "_fresh", mode="w-", shape=(2,))
    assert a.shape == (2,)
    assert zf.create(shape=(5,), path=existing, overwrite=True).shape == (5,)


def test_bad_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        zf.open(store=MemoryStore(), mode="x")


def test_open_array_on_a_group_and_back() -> None:
    store = MemoryStore()
    zf.group(store=store, path="g")
    zf.create(shape=(2,), store=store, path="a")
    with pytest.raises(NodeNotFoundError):
        zf.open_array(store=store, path="g")
    with pytest.raises(ContainsArrayError):
        zf.open_group(store=store, path="a", mode="r")


# --------------------------------------------------------------------------- constructors
def test_zeros_ones_full_empty() -> None:
    assert same_bits(zf.zeros((3, 2), dtype="i4")[...], np.zeros((3, 2), "i4"))
    assert same_bits(zf.ones((3,), dtype="f4", chunks=(2,))[...], np.ones(3, "f4"))
    assert same_bits(zf.full((2, 2), 7, dtype="u1")[...], np.full((2, 2), 7, "u1"))
    assert same_bits(zf.full((2,), -np.inf, dtype="f8")[...], np.full(2, -np.inf))
    e = zf.empty((4,), dtype="i8")
    assert e.nchunks_initialized == 0 and e[...].shape == (4,)
    assert zf.full((2,), "x", dtype=str)[...].tolist() == ["x", "x"]
    assert zf.ones((2,), dtype="f8", zarr_format=2).metadata.to_dict()["fill_value"] == 1.0


@pytest.mark.parametrize("fmt", [2, 3])
def test_from_array(fmt: int) -> None:
    data = np.arange(35, dtype=">i4").reshape(5, 7) if fmt == 2 else np.arange(35).reshape(5, 7)
    a = zf.from_array(data, chunks=(2, 3), zarr_format=fmt)
    assert same_bits(a[...], data) and a.chunks == (2, 3) and a.dtype == data.dtype
    b = zf.from_array(a, zarr_format=fmt)  # from another Array, chunk by chunk
    assert same_bits(b[...], data) and b.chunks == (2, 3)
    s = zf.from_array(np.array(["a", "héllo", ""]), zarr_format=fmt)
    assert s[...].tolist() == ["a", "héllo", ""]
    assert zf.from_array([[1.5, 2.5]], zarr_format=fmt)[...].tolist() == [[1.5, 2.5]]
    assert zf.from_array(np.float32(3), zarr_format=fmt)[...] == 3
    assert zf.from_array(np.zeros((0, 3)), zarr_format=fmt).shape == (0, 3)


# --------------------------------------------------------------------------- codecs
@pytest.mark.parametrize("compressor", ["zstd", "blosc", "zlib", "gzip", "lz4", "bz2", None])
@pytest.mark.parametrize("fmt", [2, 3])
def test_compressor_shorthands(compressor: str | None, fmt: int) -> None:
    store = MemoryStore()
    a = zf.create(
        shape=(20, 30),
        chunks=(8, 8),
        dtype="f8",
        compressor=compressor,
        zarr_format=fmt,
        store=store,
    )
    a[...] = REF[:20, :30]
    assert same_bits(zf.open(store=store, mode="r")[...], REF[:20, :30])
    if fmt == 2:
        comp = a.metadata.to_dict()["compressor"]
        assert (comp is None) if compressor is None else comp["id"] == compressor
    else:
        names = [c["name"] for c in a.metadata.to_dict()["codecs"]]
        want = {
            None: [],
            "zstd": ["zstd"],
            "blosc": ["blosc"],
            "gzip": ["gzip"],
            "zlib": ["gzip"],  # v3 "zlib" shorthand: the core gzip codec
            "lz4": ["numcodecs.lz4"],
            "bz2": ["numcodecs.bz2"],
        }
        assert names == ["bytes", *want[compressor]]


@pytest.mark.parametrize(
    "compressor",
    [
        {"id": "zstd", "level": 1},
        {"name": "zstd", "configuration": {"level": 1, "checksum": False}},
        numcodecs.Zstd(level=1),
    ],
)
@pytest.mark.parametrize("fmt", [2, 3])
def test_compressor_config_forms(compressor: Any, fmt: int) -> None:
    """Both JSON forms and numcodecs objects, whatever the format."""
    a = zf.create(shape=(5,), dtype="i4", compressor=compressor, zarr_format=fmt)
    a[...] = np.arange(5)
    assert a.compressors[0].to_v2_config() == {"id": "zstd", "level": 1}
    if fmt == 3:
        assert a.metadata.to_dict()["codecs"][-1] == {
            "name": "zstd",
            "configuration": {"level": 1, "checksum": False},
        }
    assert same_bits(a[...], np.arange(5, dtype="i4"))


@pytest.mark.parametrize("bad", ["snappy", {"id": "nope"}, {"name": "nope", "configuration": {}}])
def test_unknown_compressor(bad: Any) -> None:
    with pytest.raises(UnknownCodecError):
        zf.create(shape=(2,), compressor=bad)


def test_codecs_list_and_shards() -> None:
    codecs = [
        {"name": "transpose", "configuration": {"order": [1, 0]}},
        {"name": "bytes", "configuration": {"endian": "big"}},
        {"name": "gzip", "configuration": {"level": 1}},
        {"name": "crc32c"},
    ]
    a = zf.create(shape=(7, 9), chunks=(3, 4), dtype="u2", codecs=codecs)
    a[...] = np.arange(63, dtype="u2").reshape(7, 9)
    assert a.metadata.to_dict()["codecs"] == codecs
    assert same_bits(a[...], np.arange(63, dtype="u2").reshape(7, 9))
    s = zf.create(shape=(7, 9), chunks=(2, 3), shards=(4, 6), dtype="i4", compressor="zstd")
    s[...] = np.arange(63, dtype="i4").reshape(7, 9)
    assert s.chunks == (2, 3) and s.shards == (4, 6) and s.nchunks == 4
    conf = s.metadata.to_dict()["codecs"][0]
    assert conf["name"] == "sharding_indexed" and conf["configuration"]["chunk_shape"] == [2, 3]
    assert same_bits(s[1:6, 2:8], np.arange(63, dtype="i4").reshape(7, 9)[1:6, 2:8])
    with pytest.raises(MetadataError):
        zf.create(shape=(8,), chunks=(3,), shards=(4,))
    with pytest.raises(MetadataError):
        zf.create(shape=(8,), shards=(4,), zarr_format=2)


@pytest.mark.parametrize("fmt", [2, 3])
def test_filters(fmt: int) -> None:
    data = np.cumsum(np.arange(40, dtype="i8")).reshape(5, 8)
    a = zf.create(
        shape=data.shape,
        chunks=(2, 3),
        dtype="i8",
        filters=[{"id": "delta", "dtype": "<i8"}, numcodecs.Shuffle(elementsize=8)]
        if fmt == 2
        else [{"id": "delta", "dtype": "<i8"}],
        zarr_format=fmt,
    )
    a[...] = data
    assert same_bits(a[...], data)
    if fmt == 2:
        assert [f["id"] for f in a.metadata.to_dict()["filters"]] == ["delta", "shuffle"]
    else:
        assert a.metadata.to_dict()["codecs"][0]["name"] == "numcodecs.delta"


# --------------------------------------------------------------------------- properties
def test_properties() -> None:
    store = MemoryStore()
    a = zf.create(
        shape=(10, 7),
        chunks=(3, 2),
        dtype="<i4",
        store=store,
        path="p/arr",
        fill_value=-1,
        attributes={"u": "m"},
        dimension_names=["y", "x"],
    )
    a[:3, :2] = 1
    assert a.shape == (10, 7) and a.chunks == (3, 2) and a.shards is None
    assert a.dtype == np.dtype("int32") and a.ndim == 2 and a.size == 70 and a.itemsize == 4
    assert a.nbytes == 280 and a.nchunks == 16 and a.cdata_shape == (4, 4)
    assert a.nchunks_initialized == 1
    assert a.fill_value == -1 and a.order == "C" and a.zarr_format == 3
    assert dict(a.attrs) == {"u": "m"} and a.dimension_names == ("y", "x")
    assert a.path == "p/arr" and a.name == "/p/arr" and a.basename == "arr"
    assert a.metadata.to_dict()["shape"] == [10, 7]
    assert not a.read_only and a.store is store
    info = a.info
    for line in (
        "Zarr format",
        "Shape",
        "(10, 7)",
        "Chunk shape",
        "(3, 2)",
        "Chunks initialized",
        "1/16",
    ):
        assert line in info
    assert "shape=(10, 7)" in repr(a)
    assert zf.open(store=store, path="p/arr") == a and hash(a) == hash(
        zf.open(store=store, path="p/arr")
    )
    v2 = zf.create(shape=(4, 4), chunks=(2, 2), dtype=">f8", order="F", zarr_format=2)
    assert v2.order == "F" and v2.dtype == np.dtype(">f8") and v2.dimension_names is None
    sharded = zf.create(shape=(8, 8), chunks=(2, 2), shards=(4, 4), dtype="u1")
    sharded[:4, :4] = 1
    assert sharded.chunks == (2, 2) and sharded.shards == (4, 4)
    assert sharded.nchunks == 4 and sharded.nchunks_initialized == 1
    assert "Shard shape" in sharded.info and "(4, 4)" in sharded.info


def test_attrs_are_written_through() -> None:
    store = MemoryStore()
    a = zf.create(shape=(2,), store=store, path="a", zarr_format=2)
    a.attrs["x"] = [1, {"y": None}]
    a.attrs.update(z=2**53 + 1, w="é")
    del a.attrs["w"]
    want = {"x": [1, {"y": None}], "z": 2**53 + 1}
    assert json.loads(bytes(store.get("a/.zattrs"))) == want
    assert dict(zf.open(store=store, path="a").attrs) == want
    a.attrs.put({"only": True})
    assert zf.open(store=store, path="a").attrs.asdict() == {"only": True}
    assert len(a.attrs) == 1 and list(a.attrs) == ["only"]


def test_pickle_round_trip() -> None:
    a = zf.from_array(np.arange(6).reshape(2, 3), chunks=(1, 2))
    b = pickle.loads(pickle.dumps(a))
    assert same_bits(b[...], a[...])


# --------------------------------------------------------------------------- shape changes
@pytest.mark.parametrize("fmt", [2, 3])
def test_resize_shrink_deletes_chunks_outside(fmt: int) -> None:
    store = MemoryStore()
    a = zf.create(shape=(10, 7), chunks=(3, 2), dtype="i4", store=store, zarr_format=fmt)
    data = np.arange(1, 71, dtype="i4").reshape(10, 7)
    a[...] = data
    assert len(chunk_keys(store)) == 16
    a.resize(4, 3)
    assert a.shape == (4, 3)
    assert len(chunk_keys(store)) == 4  # chunk grid (2, 2): every chunk outside it is gone
    assert same_bits(a[...], data[:4, :3])
    assert zf.open(store=store).shape == (4, 3)
    a.resize((5, 9))
    got = a[...]
    assert same_bits(got[:4, :3], data[:4, :3])
    assert (got[:, 4:] == 0).all()  # chunks that were deleted read as the fill value
    with pytest.raises(ShapeMismatchError):
        a.resize((5,))


@pytest.mark.parametrize("fmt", [2, 3])
def test_append(fmt: int) -> None:
    a = zf.create(shape=(2, 3), chunks=(2, 2), dtype="f4", zarr_format=fmt)
    a[...] = 1
    assert a.append(np.full((3, 3), 2, "f4")) == (5, 3)
    assert a.append(np.full((5, 1), 3, "f4"), axis=1) == (5, 4)
    assert a.append(np.full((5, 2), 4, "f4"), axis=-1) == (5, 6)
    want = np.ones((5, 6), "f4")
    want[2:, :3] = 2
    want[:, 3] = 3
    want[:, 4:] = 4
    assert same_bits(a[...], want)
    with pytest.raises(ShapeMismatchError):
        a.append(np.ones((1, 5), "f4"))
    with pytest.raises(ShapeMismatchError):
        a.append(np.ones(6, "f4"))
    with pytest.raises(SelectionError):
        a.append(np.ones((5, 1), "f4"), axis=2)


# --------------------------------------------------------------------------- conversions
def test_array_len_iter_reads_each_chunk_once() -> None:
    store = CountingStore()
    data = np.arange(10 * 7, dtype="i2").reshape(10, 7)
    a = zf.create(shape=data.shape, chunks=(3, 2), dtype="i2", store=store, path="x")
    a[...] = data
    store.requested.clear()
    rows = list(a)
    assert len(rows) == len(a) == 10
    assert same_bits(np.stack(rows), data)
    assert sorted(store.requested) == chunk_keys(store, "x/")  # every chunk, each once
    store.requested.clear()
    assert same_bits(np.asarray(a), data)
    assert len(store.requested) == a.nchunks
    assert same_bits(np.asarray(a, dtype="f8"), data.astype("f8"))
    assert same_bits(np.array(a), data)
    assert same_bits(np.stack(list(a.islice(2, 9))), data[2:9])


def test_blocks() -> None:
    data = np.arange(10 * 7).reshape(10, 7)
    a = zf.from_array(data, chunks=(3, 2))
    assert same_bits(a.blocks[1, 2], data[3:6, 4:6])
    assert same_bits(a.blocks[-1], data[9:])
    assert same_bits(a.blocks[1:3, :], data[3:9])
    a.blocks[0, 0] = -np.ones((3, 2), dtype=data.dtype)
    assert (a[:3, :2] == -1).all() and a[3, 0] == 21
    with pytest.raises(BoundsCheckError):
        a.blocks[4]


def test_get_set_selections_match_numpy() -> None:
    data = np.arange(11 * 9 * 4, dtype="f8").reshape(11, 9, 4)
    ref = data.copy()
    a = zf.from_array(data, chunks=(3, 4, 2))
    for sel in [
        (slice(None), 2),
        (slice(1, 10, 3), slice(None, None, -2), slice(1, 3)),
        (Ellipsis, 0),
        (5, 3, 1),
        (np.newaxis, 2),
        (),
    ]:
        assert same_bits(a[sel], data[sel]), sel
    assert same_bits(a.oindex[[0, 10], [8, 1, 1], :], data[np.ix_([0, 10], [8, 1, 1], range(4))])
    mask = data > 200
    assert same_bits(a.vindex[mask], data[mask])
    assert same_bits(a.get_mask_selection(mask), data[mask])
    a.vindex[[0, 10], [0, 8], [3, 3]] = [-1, -2]
    ref[[0, 10], [0, 8], [3, 3]] = [-1, -2]
    a.oindex[[1, 2], :, [0]] = 7
    ref[np.ix_([1, 2], range(9), [0])] = 7
    a[4:6, ::4, 1] = np.arange(6).reshape(2, 3)
    ref[4:6, ::4, 1] = np.arange(6).reshape(2, 3)
    a.set_mask_selection(mask & (ref < 250), 0)
    ref[mask & (ref < 250)] = 0
    assert same_bits(a[...], ref)


def test_write_broadcast_and_casting() -> None:
    a = zf.create(shape=(4, 5), chunks=(2, 2), dtype="f4")
    a[...] = 3  # scalar broadcast
    a[1] = np.arange(5)  # int into float
    a[:, 0] = [9, 8, 7, 6]
    want = np.full((4, 5), 3, "f4")
    want[1] = np.arange(5)
    want[:, 0] = [9, 8, 7, 6]
    assert same_bits(a[...], want)


def test_shape_mismatch_and_bounds() -> None:
    a = zf.create(shape=(6, 4), chunks=(2, 2), dtype="i4")
    with pytest.raises(ShapeMismatchError):
        a[0:2, 0:2] = np.ones((3, 3))
    with pytest.raises(ShapeMismatchError):
        a.set_slice(np.ones((2, 2, 2)), (0, 0))
    with pytest.raises(ShapeMismatchError):
        a.vindex[[0, 1], [0, 1]] = [1, 2, 3]
    with pytest.raises(BoundsCheckError):
        a[6, 0]
    with pytest.raises(BoundsCheckError):
        a[0, -5] = 1
    with pytest.raises(BoundsCheckError):
        a.oindex[[0, 7], :]
    with pytest.raises(BoundsCheckError):
        a.vindex[[0, 1], [0, 4]]
    with pytest.raises(BoundsCheckError):
        a.get_slice((0, 0), (7, 4))
    with pytest.raises(BoundsCheckError):
        a.set_slice(np.ones((2, 2)), (5, 0))
    with pytest.raises(IndexError):  # the builtin the errors also are
        a[100]
    with pytest.raises(SelectionError):
        a[1.5]
    with pytest.raises(SelectionError):
        a[0, 0, 0]
    with pytest.raises(SelectionError):
        a.get_slice((0,), (1,))


# --------------------------------------------------------------------------- fill and empty chunks
@pytest.mark.parametrize("fmt", [2, 3])
def test_missing_chunks_read_as_fill(fmt: int) -> None:
    store = MemoryStore()
    nan_payload = np.uint64(0x7FF8000000000001).view(np.float64)
    a = zf.create(
        shape=(7, 5),
        chunks=(3, 2),
        dtype="f8",
        fill_value=nan_payload,
        zarr_format=fmt,
        store=store,
    )
    a[0, 0] = 1.0
    # v3 keeps the payload ("0x7ff8000000000001"); v2 has only "NaN", the canonical NaN
    fill = nan_payload if fmt == 3 else np.float64(np.nan)
    want = np.full((7, 5), fill)
    want[0, 0] = 1.0
    reopened = zf.open(store=store, mode="r")
    assert same_bits(np.asarray(reopened.fill_value), np.asarray(fill))
    assert same_bits(reopened[3:, :], want[3:, :])  # missing chunks
    assert same_bits(reopened[0, :2], want[0, :2])  # the stored chunk's untouched elements
    assert same_bits(a[3:, :], want[3:, :])  # the Array create() returned agrees


@pytest.mark.parametrize("fmt", [2, 3])
def test_all_fill_chunks_are_not_stored(fmt: int) -> None:
    store = MemoryStore()
    a = zf.create(
        shape=(4, 4), chunks=(2, 2), dtype="f4", fill_value=-0.0, store=store, zarr_format=fmt
    )
    a[...] = -0.0
    assert chunk_keys(store) == []
    a[...] = 0.0  # +0.0 is not the fill value -0.0, bit for bit
    assert len(chunk_keys(store)) == 4
    a[:2, :2] = -0.0  # overwritten with the fill: deleted
    assert len(chunk_keys(store)) == 3
    a[2:, 2:] = np.full((2, 2), -0.0, "f4")
    assert len(chunk_keys(store)) == 2
    assert a.nchunks_initialized == 2


@pytest.mark.parametrize("fmt", [2, 3])
def test_write_empty_chunks_true_stores_them(fmt: int) -> None:
    store = MemoryStore()
    a = zf.create(
        shape=(4, 4),
        chunks=(2, 2),
        dtype="i4",
        fill_value=5,
        store=store,
        zarr_format=fmt,
        write_empty_chunks=True,
    )
    a[...] = 5
    assert len(chunk_keys(store)) == 4
    b = zf.open(store=store, mode="r+")  # the option is per Array object
    b[:2, :2] = 5
    assert len(chunk_keys(store)) == 3
    with zf.set_config(write_empty_chunks=True):
        b[:2, :2] = 5
    assert len(chunk_keys(store)) == 4
    c = zf.open(store=store, mode="r+", write_empty_chunks=True)
    c[...] = 5
    assert len(chunk_keys(store)) == 4


def test_sharded_missing_and_fill_inner_chunks() -> None:
    store = MemoryStore()
    a = zf.create(shape=(8, 8), chunks=(2, 2), shards=(4, 4), dtype="i2", fill_value=3, store=store)
    a[0, 0] = 1
    assert chunk_keys(store) == ["c/0/0"]
    want = np.full((8, 8), 3, "i2")
    want[0, 0] = 1
    assert same_bits(a[...], want)
    assert same_bits(a[1:3, 1:7], want[1:3, 1:7])
    a[0, 0] = 3
    assert chunk_keys(store) == []


# --------------------------------------------------------------------------- 0-d and strings
@pytest.mark.parametrize("fmt", [2, 3])
def test_0d_arrays(fmt: int) -> None:
    store = MemoryStore()
    a = zf.create(shape=(), dtype="c16", fill_value=complex(1, -1), store=store, zarr_format=fmt)
    assert a[()] == complex(1, -1) and a.ndim == 0 and a.size == 1 and a.nchunks == 1
    a[...] = 2 + 3j
    assert a[...] == 2 + 3j and np.asarray(a).shape == ()
    assert chunk_keys(store) == (["0"] if fmt == 2 else ["c"])
    assert a.get_slice() == 2 + 3j
    with pytest.raises(TypeError):
        len(a)
    with pytest.raises(TypeError):
        iter(a).__next__()
    with pytest.raises(SelectionError):
        a[0]
    a.resize(())
    assert zf.open(store=store, mode="r")[()] == 2 + 3j


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("dtype", [str, bytes])
def test_variable_length_arrays(fmt: int, dtype: type) -> None:
    store = MemoryStore()
    items = (
        ["", "a", "héllo", "🎉", "x" * 100] if dtype is str else [b"", b"\x00", b"ab", b"\xff" * 9]
    )
    a = zf.create(shape=(len(items) + 3,), chunks=(2,), dtype=dtype, store=store, zarr_format=fmt)
    fill = "" if dtype is str else b""
    assert a.fill_value == fill
    a[: len(items)] = items
    got = zf.open(store=store, mode="r")[...]
    assert got.dtype == object and got.tolist() == [*items, fill, fill, fill]
    a.vindex[[1, len(items) + 2]] = [items[-1], items[2]]
    assert a[1] == items[-1] and a[len(items) + 2] == items[2]
    a[...] = fill
    assert chunk_keys(store) == []  # all-fill chunks are dropped for strings too
    b = zf.create(
        shape=(3,), dtype=dtype, fill_value="-" if dtype is str else b"-", zarr_format=fmt
    )
    assert b[...].tolist() == ["-"] * 3 if dtype is str else [b"-"] * 3
    if fmt == 3:
        assert a.metadata.to_dict()["data_type"] == (
            "string" if dtype is str else "variable_length_bytes"
        )


def test_string_array_2d_and_numpy_string_input() -> None:
    a = zf.create(shape=(3, 4), chunks=(2, 3), dtype=str)
    data = np.array([["a", "bb", "", "d"], ["é", "f", "g", "h"], ["i", "j", "k", "l" * 10]])
    a[...] = data
    assert a[...].tolist() == data.tolist()
    assert a.oindex[[2, 0], [3]].tolist() == [["l" * 10], ["d"]]


# --------------------------------------------------------------------------- property test
@st.composite
def _box(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[slice, ...]]:
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(0, 9)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    sel = []
    for n in shape:
        start = draw(st.integers(-n - 1, n + 1))
        stop = draw(st.integers(-n - 1, n + 1))
        step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
        sel.append(slice(start, stop, step))
    return shape, chunks, tuple(sel)


@given(_box(), st.sampled_from([2, 3]))
def test_basic_selections_behave_like_numpy(box: Any, fmt: int) -> None:
    shape, chunks, sel = box
    data = np.arange(math.prod(shape), dtype="i4").reshape(shape)
    a = zf.create(shape=shape, chunks=chunks, dtype="i4", fill_value=-1, zarr_format=fmt)
    a[...] = data
    assert same_bits(a[sel], data[sel])
    new = -np.arange(data[sel].size, dtype="i4").reshape(data[sel].shape) - 2
    a[sel] = new
    data[sel] = new
    assert same_bits(a[...], data)
