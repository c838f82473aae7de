"""Hostile metadata and corrupt data must cost time and memory bounded by the input (issue 14).

Each case below was, or could become, a path where work grows faster than the document that
triggers it (nested sharding used to cost 2**depth to open).  Every case carries a generous
pytest-timeout budget: the work it measures takes milliseconds today, so a regression to
super-linear work fails the case instead of hanging CI.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.codecs.sharding import MAX_NESTING_DEPTH
from zarrfast.errors import CodecError, DecodeError, MetadataError
from zarrfast.storage.memory import MemoryStore

#: Per-case budget in seconds: two orders of magnitude above what each case takes today.
BUDGET = 60


def _v3(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [4, 4],
        "data_type": "int32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 4]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "attributes": {},
    }
    doc.update(over)
    return doc


def _v2(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "zarr_format": 2,
        "shape": [4, 4],
        "chunks": [4, 4],
        "dtype": "<i4",
        "compressor": None,
        "fill_value": 0,
        "order": "C",
        "filters": None,
    }
    doc.update(over)
    return doc


def _store(doc: dict[str, Any] | str, v2: bool = False) -> MemoryStore:
    store = MemoryStore()
    text = doc if isinstance(doc, str) else json.dumps(doc)
    store.set(".zarray" if v2 else "zarr.json", text.encode())
    return store


def _nested_sharding(depth: int) -> list[dict[str, Any]]:
    codecs: list[dict[str, Any]] = [{"name": "bytes", "configuration": {"endian": "little"}}]
    for _ in range(depth):
        codecs = [
            {
                "name": "sharding_indexed",
                "configuration": {
                    "chunk_shape": [1, 1],
                    "codecs": codecs,
                    "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                },
            }
        ]
    return codecs


# --------------------------------------------------------------------------- nested sharding
@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize("depth", [1, 10, MAX_NESTING_DEPTH])
def test_nested_sharding_opens_writes_and_reads_in_linear_time(depth: int) -> None:
    store = _store(_v3(codecs=_nested_sharding(depth)))
    arr = zf.open(store, mode="r+")
    assert isinstance(arr, zf.Array)
    data = np.arange(16, dtype="int32").reshape(4, 4)
    arr[...] = data
    np.testing.assert_array_equal(zf.open(store, mode="r")[...], data)


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 20, 40, 300])
def test_nesting_past_the_documented_depth_is_refused(depth: int) -> None:
    store = _store(_v3(codecs=_nested_sharding(depth)))
    with pytest.raises((CodecError, MetadataError), match=f"at most {MAX_NESTING_DEPTH}"):
        zf.open(store, mode="r")


@pytest.mark.timeout(BUDGET)
def test_nesting_deeper_than_the_json_parser_goes_is_a_metadata_error() -> None:
    level = (
        '{"name": "sharding_indexed", "configuration": {"chunk_shape": [1, 1], '
        '"index_codecs": [{"name": "bytes"}], "codecs": ['
    )
    codecs = "[" + level * 20_000 + '{"name": "bytes"}' + "]}}" * 20_000 + "]"
    text = json.dumps(_v3()).replace(
        '"codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]',
        '"codecs": ' + codecs,
    )
    assert len(text) > 2_000_000
    with pytest.raises((CodecError, MetadataError)):
        zf.open(_store(text), mode="r")


# --------------------------------------------------------------------------- codec chains
@pytest.mark.timeout(BUDGET)
def test_a_chain_of_fifty_thousand_checksums_costs_linear_time() -> None:
    codecs = [{"name": "bytes", "configuration": {"endian": "little"}}]
    codecs += [{"name": "crc32c"}] * 50_000
    store = _store(_v3(codecs=codecs))
    arr = zf.open(store, mode="r+")
    arr[...] = np.arange(16, dtype="int32").reshape(4, 4)
    assert int(zf.open(store, mode="r")[3, 3]) == 15


@pytest.mark.timeout(BUDGET)
def test_ten_thousand_transposes_cost_linear_time() -> None:
    codecs: list[dict[str, Any]] = [
        {"name": "transpose", "configuration": {"order": [1, 0]}}
    ] * 10_000
    codecs.append({"name": "bytes", "configuration": {"endian": "little"}})
    store = _store(_v3(codecs=codecs))
    arr = zf.open(store, mode="r+")
    data = np.arange(16, dtype="int32").reshape(4, 4)
    arr[...] = data
    np.testing.assert_array_equal(zf.open(store, mode="r")[...], data)


# --------------------------------------------------------------------------- fill values, dtypes
HUGE = 200_000


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize(
    ("data_type", "fill"),
    [
        ("int32", "9" * HUGE),
        ("float64", "0x" + "f" * HUGE),
        ("float64", "1" * HUGE),
        ("float64", "N" * HUGE),
        ("complex128", [0.0] * 1_000_000),
        ("bool", "t" * HUGE),
    ],
    ids=["int-string", "hex-float", "digit-string", "letters", "complex-1M-list", "bool-string"],
)
def test_huge_fill_values_are_refused_quickly(data_type: str, fill: Any) -> None:
    store = _store(_v3(data_type=data_type, fill_value=fill))
    with pytest.raises(MetadataError):
        zf.open(store, mode="r")


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize("v2", [False, True])
def test_json_integers_past_the_digit_limit_are_a_metadata_error(v2: bool) -> None:
    base = json.dumps(_v2() if v2 else _v3())
    text = base.replace('"fill_value": 0', '"fill_value": ' + "7" * 5000)
    assert text != base
    with pytest.raises(MetadataError):
        zf.open(_store(text, v2=v2), mode="r")


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize(
    "dtype",
    ["<i" + "9" * HUGE, "<f" + "8" * HUGE, "|b" + "1" * HUGE, "<" * HUGE + "i4", "x" * HUGE],
    ids=["int-width", "float-width", "bool-width", "byte-orders", "garbage"],
)
def test_huge_v2_dtype_strings_are_refused_quickly(dtype: str) -> None:
    with pytest.raises(MetadataError):
        zf.open(_store(_v2(dtype=dtype), v2=True), mode="r")


@pytest.mark.timeout(BUDGET)
def test_a_huge_v3_data_type_name_is_refused_quickly() -> None:
    with pytest.raises(MetadataError):
        zf.open(_store(_v3(data_type="int" + "3" * HUGE)), mode="r")


# --------------------------------------------------------------------------- attributes
@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize("v2", [False, True])
def test_deeply_nested_attributes_are_a_metadata_error(v2: bool) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    if v2:
        store = _store(_v2(), v2=True)
        store.set(".zattrs", ('{"a": ' + deep + "}").encode())
        with pytest.raises(MetadataError):
            zf.open(store, mode="r").attrs.asdict()
    else:
        text = json.dumps(_v3()).replace('"attributes": {}', '"attributes": {"a": ' + deep + "}")
        with pytest.raises(MetadataError):
            zf.open(_store(text), mode="r")


@pytest.mark.timeout(BUDGET)
def test_wide_attributes_open_in_linear_time() -> None:
    attrs = {f"k{i}": [i, str(i)] for i in range(200_000)}
    arr = zf.open(_store(_v3(attributes=attrs)), mode="r")
    assert arr.attrs["k199999"] == [199999, "199999"]


# --------------------------------------------------------------------------- consolidated metadata
@pytest.mark.timeout(BUDGET)
def test_walking_twenty_thousand_consolidated_members_is_linear() -> None:
    member = _v3(shape=[2], chunk_grid={"name": "regular", "configuration": {"chunk_shape": [2]}})
    metadata: dict[str, Any] = {}
    for g in range(200):
        metadata[f"g{g}"] = {"zarr_format": 3, "node_type": "group", "attributes": {}}
        for a in range(100):
            metadata[f"g{g}/a{a}"] = member
    root = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {},
        "consolidated_metadata": {"kind": "inline", "must_understand": False, "metadata": metadata},
    }
    store = MemoryStore()
    store.set("zarr.json", json.dumps(root).encode())
    group = zf.open(store, mode="r")
    members = list(group.members(max_depth=None))
    assert len(members) == 200 + 200 * 100
    assert dict(members)["g199/a99"].shape == (2,)


# --------------------------------------------------------------------------- huge grids
@pytest.fixture
def huge_array() -> zf.Array:
    # 10**18 elements in 10**12 chunks, three of them stored.
    arr = zf.create(
        shape=(10**9, 10**9),
        chunks=(1000, 1000),
        dtype="uint8",
        fill_value=7,
        store=MemoryStore(),
        zarr_format=3,
    )
    arr[0, 0] = 1
    arr[10**9 - 1, 10**9 - 1] = 2
    arr[5 * 10**8, 123] = 3
    return arr


@pytest.mark.timeout(BUDGET)
def test_a_grid_of_a_million_million_chunks_answers_in_bounded_time(huge_array: zf.Array) -> None:
    arr = huge_array
    assert arr.nchunks == 10**12
    assert arr.nchunks_initialized == 3
    assert sorted(arr.stored_chunk_coords()) == [(0, 0), (500_000, 0), (999_999, 999_999)]
    assert "1000000000000" in arr.info
    assert int(arr[5 * 10**8, 123]) == 3
    assert int(arr[12345, 67890]) == 7
    # One element per chunk along each axis: the work is the selection, not the span.
    strided = arr[:: 10**8, :: 10**8]
    assert strided.shape == (10, 10)
    assert strided[0, 0] == 1 and strided[5, 0] == 7 and (strided[1:] == 7).all()
    tail = arr[10**9 - 3 :, 10**9 - 3 :]
    assert tail.tolist() == [[7, 7, 7], [7, 7, 7], [7, 7, 2]]


@pytest.mark.timeout(BUDGET)
def test_strided_writes_on_a_huge_grid_touch_only_the_selected_chunks(huge_array: zf.Array) -> None:
    arr = huge_array
    values = np.arange(10, 20, dtype="uint8")
    arr[:: 10**8, 5] = values
    # Ten chunks of column 0 are touched; (0, 0) and (500000, 0) were already stored.
    assert arr.nchunks_initialized == 3 + 8
    np.testing.assert_array_equal(arr[:: 10**8, 5], values)
    assert int(arr[5 * 10**8, 123]) == 3


@pytest.mark.timeout(BUDGET)
def test_resizing_a_huge_grid_costs_what_is_stored(huge_array: zf.Array) -> None:
    arr = huge_array
    arr.resize(10**9 // 2, 10**9)
    assert arr.nchunks_initialized == 1  # the chunks past the new edge were deleted
    arr.resize(10**9, 10**9)
    assert int(arr[10**9 - 1, 10**9 - 1]) == 7
    assert int(arr[0, 0]) == 1


@pytest.mark.timeout(BUDGET)
def test_cli_on_a_huge_array_answers_in_bounded_time(tmp_path: Any, capsys: Any) -> None:
    from zarrfast.__main__ import main

    path = tmp_path / "huge.zarr"
    arr = zf.create(
        shape=(10**9, 10**9), chunks=(1000, 1000), dtype="uint8", path=str(path), zarr_format=3
    )
    arr[1, 1] = 1
    assert main(["info", str(path)]) == 0
    assert "1/1000000000000" in capsys.readouterr().out
    assert main(["verify", str(path)]) == 0
    assert main(["tree", str(path)]) == 0


# --------------------------------------------------------------------------- corrupt shards
def _sharded(index_codecs: list[dict[str, Any]] | None = None) -> tuple[MemoryStore, str]:
    inner = {
        "name": "sharding_indexed",
        "configuration": {
            "chunk_shape": [2, 2],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": index_codecs
            or [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
        },
    }
    store = _store(_v3(codecs=[inner]))
    arr = zf.open(store, mode="r+")
    arr[...] = np.arange(16, dtype="int32").reshape(4, 4)
    return store, "c/0/0"


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize("keep", [0, 1, 15, 40])
def test_a_truncated_shard_is_a_decode_error(keep: int) -> None:
    store, key = _sharded()
    store.set(key, store.get(key)[:keep])
    with pytest.raises(DecodeError):
        zf.open(store, mode="r")[...]


@pytest.mark.timeout(BUDGET)
def test_a_forged_shard_index_checksum_is_a_checksum_error() -> None:
    from zarrfast.errors import ChecksumError

    store, key = _sharded()
    blob = bytearray(store.get(key))
    blob[-1] ^= 0xFF
    store.set(key, bytes(blob))
    with pytest.raises(ChecksumError):
        zf.open(store, mode="r")[...]


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize(
    ("offset", "nbytes"),
    [(2**63, 16), (0, 2**63), (2**64 - 2, 1), (0, 2**62), (10**12, 10**12)],
)
def test_hostile_shard_index_offsets_are_a_decode_error(offset: int, nbytes: int) -> None:
    store, key = _sharded(index_codecs=[{"name": "bytes", "configuration": {"endian": "little"}}])
    blob = bytearray(store.get(key))
    # The index is the last 4 inner chunks x (offset, nbytes) little-endian uint64.
    blob[-32:-16] = struct.pack("<QQ", offset, nbytes)
    store.set(key, bytes(blob))
    with pytest.raises(DecodeError):
        zf.open(store, mode="r")[...]


# --------------------------------------------------------------------------- decompression bombs
def _zlib_bomb(nbytes: int, wbits: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    out = [comp.compress(block) for _ in range(nbytes >> 20)]
    out.append(comp.flush())
    return b"".join(out)


def _zstd_bomb(nbytes: int) -> bytes:
    import zstandard

    comp = zstandard.ZstdCompressor(level=19).compressobj()
    block = bytes(1 << 20)
    out = [comp.compress(block) for _ in range(nbytes >> 20)]
    out.append(comp.flush())
    return b"".join(out)


BOMB = 1 << 30  # 1 GiB of zeros, a few hundred KiB compressed


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize(
    ("codec", "make"),
    [
        ({"name": "gzip", "configuration": {"level": 1}}, lambda: _zlib_bomb(BOMB >> 2, 31)),
        ({"name": "zstd", "configuration": {"level": 1}}, lambda: _zstd_bomb(BOMB)),
    ],
    ids=["gzip", "zstd"],
)
def test_a_decompression_bomb_in_a_v3_chunk_is_a_decode_error(codec: dict, make: Any) -> None:
    store = _store(_v3(codecs=[{"name": "bytes", "configuration": {"endian": "little"}}, codec]))
    store.set("c/0/0", make())
    with pytest.raises(DecodeError):
        zf.open(store, mode="r")[...]


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize(
    ("compressor", "make"),
    [
        ({"id": "zlib", "level": 1}, lambda: _zlib_bomb(BOMB >> 2, 15)),
        ({"id": "gzip", "level": 1}, lambda: _zlib_bomb(BOMB >> 2, 31)),
        ({"id": "zstd", "level": 1}, lambda: _zstd_bomb(BOMB)),
    ],
    ids=["zlib", "gzip", "zstd"],
)
def test_a_decompression_bomb_in_a_v2_chunk_is_a_decode_error(compressor: dict, make: Any) -> None:
    store = _store(_v2(compressor=compressor), v2=True)
    store.set("0.0", make())
    with pytest.raises(DecodeError):
        zf.open(store, mode="r")[...]


@pytest.mark.timeout(BUDGET)
@pytest.mark.parametrize("claimed", [2**31 - 1, 2**32 - 1, 32, 0])
def test_a_blosc_header_claiming_a_wrong_size_is_a_decode_error(claimed: int) -> None:
    import blosc2

    good = blosc2.compress(np.arange(16, dtype="int32").tobytes(), typesize=4)
    blob = bytearray(good)
    # Blosc header: bytes 4..8 are nbytes (uncompressed size) as uint32 little endian.
    blob[4:8] = struct.pack("<I", claimed)
    store = _store(
        _v2(compressor={"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}), v2=True
    )
    store.set("0.0", bytes(blob))
    with pytest.raises(DecodeError):
        zf.open(store, mode="r")[...]
