"""The ``sharding_indexed`` codec: layout, corruption, partial reads, zarr-python interop.

zarr-python 3 is the oracle: shards it writes must decode with ours, and shards we encode,
written under the same key, must read back through zarr-python.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zarrfast.abc.codec import ChunkSpec
from zarrfast.abc.store import RangeByteRequest, SuffixByteRequest
from zarrfast.codecs import registry
from zarrfast.codecs.bytes import BytesCodec
from zarrfast.codecs.sharding import MAX_UINT64, ShardingCodec
from zarrfast.codecs.transpose import TransposeCodec
from zarrfast.config import set_config
from zarrfast.errors import (
    ChecksumError,
    CodecError,
    DecodeError,
    SelectionError,
)

ZstdCodec = registry.get_codec_class("zstd", 3)
Crc32cCodec = registry.get_codec_class("crc32c", 3)

BYTES_LE = {"name": "bytes", "configuration": {"endian": "little"}}
CRC = {"name": "crc32c"}
U64MAX = np.uint64(MAX_UINT64)


# --------------------------------------------------------------------------- helpers
def _spec(shape, dtype="<f8", fill=0) -> ChunkSpec:
    dt = np.dtype(dtype)
    return ChunkSpec(shape=tuple(shape), dtype=dt, fill_value=np.full((), fill, dtype=dt)[()])


def _data(shape, dtype, fill, rng, fill_fraction=0.4, chunk_shape=None) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind == "b":
        arr = rng.integers(0, 2, size=shape).astype(dt)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        arr = rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape).astype(dt)
    elif dt.kind == "c":
        arr = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dt)
    else:
        arr = rng.normal(0, 100, size=shape).astype(dt)
    if chunk_shape is not None:
        # blank out whole inner chunks so that some are absent from the shard
        grid = [s // c for s, c in zip(shape, chunk_shape)]
        for coord in np.ndindex(*grid):
            if rng.random() < fill_fraction:
                sl = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coord, chunk_shape))
                arr[sl] = fill
    return arr


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert a.dtype == b.dtype
    if a.dtype.kind == "f" or a.dtype.kind == "c":
        # bit-exact, except that NaN payloads may differ (the fill value's NaN)
        np.testing.assert_array_equal(a, b)
        both_nan = np.isnan(a) & np.isnan(b)
        assert np.array_equal(
            np.ascontiguousarray(np.where(both_nan, 0, a)).view(np.uint8),
            np.ascontiguousarray(np.where(both_nan, 0, b)).view(np.uint8),
        )
    else:
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def _raw_index(codec: ShardingCodec, data: bytes, spec: ChunkSpec) -> np.ndarray:
    """Parse the index by hand (bytes little + optional 4-byte crc32c)."""
    cps = codec.chunks_per_shard(spec)
    n = int(np.prod(cps)) * 16
    if codec.index_location == "start":
        raw = data[:n]
    else:
        k = codec.index_nbytes(spec)
        raw = data[len(data) - k : len(data) - k + n]
    return np.frombuffer(raw, dtype="<u8").reshape(*cps, 2)


class _Fetcher:
    """A ``fetch`` callable over one shard's bytes that records every call."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self.calls: list[list[Any]] = []

    def __call__(self, requests):  # type: ignore[no-untyped-def]
        self.calls.append(list(requests))
        if self.data is None:
            return [None] * len(requests)
        out = []
        n = len(self.data)
        for r in requests:
            if isinstance(r, RangeByteRequest):
                out.append(self.data[min(r.start, n) : min(r.end, n)])
            elif isinstance(r, SuffixByteRequest):
                out.append(self.data[max(n - r.suffix, 0) :])
            else:
                out.append(self.data[r.offset :])
        return out


# --------------------------------------------------------------------------- configuration
ZARR_PYTHON_JSON = {
    "name": "sharding_indexed",
    "configuration": {
        "chunk_shape": [2, 2],
        "codecs": [BYTES_LE, {"name": "zstd", "configuration": {"level": 0, "checksum": False}}],
        "index_codecs": [BYTES_LE, CRC],
        "index_location": "end",
    },
}


def test_config_round_trips_zarr_python_json() -> None:
    codec = ShardingCodec.from_config(ZARR_PYTHON_JSON["configuration"])
    assert codec.to_config() == ZARR_PYTHON_JSON
    assert json.dumps(codec.to_config()) == json.dumps(ZARR_PYTHON_JSON)
    assert registry.codec_from_json(ZARR_PYTHON_JSON, 3) == codec
    assert registry.codec_to_json(codec, 3) == ZARR_PYTHON_JSON
    assert (
        ShardingCodec.from_config(json.loads(json.dumps(codec.to_config()))["configuration"])
        == codec
    )


def test_defaults_and_missing_index_location() -> None:
    codec = ShardingCodec([4, 4])
    conf = codec.to_config()["configuration"]
    assert conf == {
        "chunk_shape": [4, 4],
        "codecs": [BYTES_LE],
        "index_codecs": [BYTES_LE, CRC],
        "index_location": "end",
    }
    old = {"chunk_shape": [4, 4], "codecs": [BYTES_LE], "index_codecs": [BYTES_LE, CRC]}
    assert ShardingCodec.from_config(old) == codec
    assert ShardingCodec.from_config(old).index_location == "end"


def test_codec_objects_and_dicts_are_equivalent() -> None:
    a = ShardingCodec((3,), codecs=[BytesCodec("big")], index_codecs=[BytesCodec("little")])
    big = {"name": "bytes", "configuration": {"endian": "big"}}
    b = ShardingCodec([3], codecs=[big], index_codecs=[BYTES_LE])
    assert a == b and hash(a) == hash(b)
    assert "ShardingCodec" in repr(a)


def test_nested_sharding_config_round_trip() -> None:
    inner = ShardingCodec([2, 2], codecs=[TransposeCodec([1, 0]), BytesCodec()])
    outer = ShardingCodec([4, 4], codecs=[inner], index_location="start")
    conf = outer.to_config()
    assert conf["configuration"]["codecs"][0]["name"] == "sharding_indexed"
    assert conf["configuration"]["codecs"][0]["configuration"]["codecs"][0] == {
        "name": "transpose",
        "configuration": {"order": [1, 0]},
    }
    again = registry.codec_from_json(json.loads(json.dumps(conf)), 3)
    assert again == outer
    assert isinstance(again.codecs[0], ShardingCodec)


@pytest.mark.parametrize(
    "conf",
    [
        {"chunk_shape": [2], "bogus": 1},
        {"codecs": [BYTES_LE]},
        {"chunk_shape": [0]},
        {"chunk_shape": [2.5]},
        {"chunk_shape": "22"},
        {"chunk_shape": [2], "index_location": "middle"},
        {"chunk_shape": [2], "codecs": BYTES_LE},
        {"chunk_shape": [2], "codecs": [{"name": "crc32c"}]},  # no array->bytes codec
        {"chunk_shape": [2], "codecs": [{"name": "no-such-codec"}]},
    ],
)
def test_bad_configs(conf: dict[str, Any]) -> None:
    with pytest.raises(CodecError):
        ShardingCodec.from_config(conf)


# --------------------------------------------------------------------------- spec checks
def test_validate_shapes() -> None:
    codec = ShardingCodec([3, 4])
    with pytest.raises(CodecError, match=r"\[8, 8\].*\[3, 4\]"):
        codec.validate(_spec((8, 8)))
    with pytest.raises(CodecError, match="dimensions"):
        codec.validate(_spec((12,)))
    with pytest.raises(CodecError):
        codec.evolve_from_spec(_spec((8, 8)))
    codec.validate(_spec((6, 8)))


def test_index_codecs_must_be_fixed_size() -> None:
    codec = ShardingCodec([2], index_codecs=[BYTES_LE, ZstdCodec()])
    with pytest.raises(CodecError, match="fixed"):
        codec.validate(_spec((4,)))


@pytest.mark.parametrize(
    ("index_codecs", "extra"), [([BYTES_LE, CRC], 4), ([BYTES_LE], 0), ([BYTES_LE, CRC, CRC], 8)]
)
def test_index_size_follows_the_index_chain(index_codecs, extra) -> None:  # type: ignore[no-untyped-def]
    codec = ShardingCodec([2, 3], index_codecs=index_codecs)
    spec = _spec((4, 9))
    assert codec.index_nbytes(spec) == 16 * 6 + extra
    empty = codec.encode(np.zeros((4, 9)), spec)
    assert len(empty) == 16 * 6 + extra


def test_evolve_fills_inner_defaults() -> None:
    codec = ShardingCodec([2], codecs=[BytesCodec(endian=None)], index_codecs=[BytesCodec(None)])
    evolved = codec.evolve_from_spec(_spec((4,), "<i4"))
    assert evolved.codecs[0].endian == sys.byteorder
    assert evolved.index_codecs[0].endian == sys.byteorder
    one_byte = codec.evolve_from_spec(_spec((4,), "u1"))
    assert one_byte.codecs[0].endian is None
    assert one_byte.to_config()["configuration"]["codecs"] == [{"name": "bytes"}]


# --------------------------------------------------------------------------- round trips
ROUND_TRIP_CASES = [
    ((12,), (3,), "<f8", 0.0),
    ((12,), (4,), "u1", 7),
    ((6, 8), (3, 2), "<f4", float("nan")),
    ((6, 8), (2, 4), "<i2", -1),
    ((4, 6, 4), (2, 3, 2), "<f8", float("nan")),
    ((4, 6, 4), (4, 6, 4), "<u4", 0),
    ((4, 4), (1, 1), "<c16", 1 + 2j),
    ((4, 4), (2, 2), "|b1", False),
    ((4, 4), (2, 2), ">f8", 0.0),
    ((4, 4), (2, 2), "<M8[s]", np.datetime64("NaT")),
]


@pytest.mark.parametrize(("shape", "chunks", "dtype", "fill"), ROUND_TRIP_CASES)
@pytest.mark.parametrize("location", ["end", "start"])
@pytest.mark.parametrize("index_codecs", [[BYTES_LE, CRC], [BYTES_LE]], ids=["crc", "nocrc"])
def test_round_trip(shape, chunks, dtype, fill, location, index_codecs) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(abs(hash((shape, dtype, location))) % 2**32)
    endian = "big" if np.dtype(dtype).byteorder == ">" else "little"
    codec = ShardingCodec(
        chunks,
        codecs=[{"name": "bytes", "configuration": {"endian": endian}}],
        index_codecs=index_codecs,
        index_location=location,
    )
    spec = _spec(shape, dtype, fill)
    if np.dtype(dtype).kind == "M":
        arr = rng.integers(0, 10**9, size=shape).astype(dtype)
        arr.reshape(-1)[: arr.size // 3] = np.datetime64("NaT")
    else:
        arr = _data(shape, dtype, spec.fill_value, rng, chunk_shape=chunks)
    encoded = codec.encode(arr, spec)
    _same(codec.decode(encoded, spec), arr)
    _same(codec.evolve_from_spec(spec).decode(bytes(encoded), spec), arr)

    # the index says exactly which inner chunks are all fill, in C order, with absolute
    # offsets laid out back to back after (or before) the index
    index = _raw_index(codec, bytes(encoded), spec)
    grid = codec.chunks_per_shard(spec)
    k = codec.index_nbytes(spec)
    pos = k if location == "start" else 0
    for coord in np.ndindex(*grid):
        sl = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coord, chunks))
        off, nb = index[coord]
        if codec.all_fill(arr[sl], spec):
            assert off == U64MAX and nb == U64MAX
        else:
            assert off == pos
            pos += int(nb)
    assert pos + (0 if location == "start" else k) == len(encoded)


def test_nan_fill_skips_any_nan_and_keeps_negative_zero() -> None:
    codec = ShardingCodec([2], index_codecs=[BYTES_LE])
    spec = _spec((6,), "<f8", float("nan"))
    neg_nan = -np.float64("nan")  # sign bit set: another bit pattern than the fill
    arr = np.array([neg_nan, np.nan, 1.0, np.nan, -0.0, 0.0])
    index = _raw_index(codec, bytes(codec.encode(arr, spec)), spec)
    assert index[0, 0] == U64MAX and index[1, 0] == 0 and index[2, 0] == 16
    assert codec.all_fill(np.array([neg_nan, np.nan]), spec)

    # with fill 0.0, -0.0 is not the fill value and comes back with its sign
    zspec = _spec((4,), "<f8", 0.0)
    arr = np.array([-0.0, 0.0, 0.0, 0.0])
    out = codec.decode(codec.encode(arr, zspec), zspec)
    assert np.signbit(out[0]) and not np.signbit(out[1])
    assert _raw_index(codec, bytes(codec.encode(arr, zspec)), zspec)[1, 0] == U64MAX


def test_all_fill_shard_is_a_valid_empty_shard() -> None:
    codec = ShardingCodec([2, 2])
    spec = _spec((4, 4), "<f4", float("nan"))
    arr = np.full((4, 4), np.nan, dtype="<f4")
    assert codec.all_fill(arr, spec)
    assert not codec.all_fill(np.zeros((4, 4), "<f4"), spec)
    encoded = codec.encode(arr, spec)
    assert len(encoded) == codec.index_nbytes(spec) == 4 * 16 + 4
    assert np.isnan(codec.decode(encoded, spec)).all()


def test_zero_dimensional_and_zero_size_shards() -> None:
    spec = _spec((), "<f8", 0.0)
    codec = ShardingCodec([])
    for value in (0.0, 3.5):
        encoded = bytes(codec.encode(np.array(value), spec))
        assert len(encoded) == 20 + (8 if value else 0)
        _same(codec.decode(encoded, spec), np.array(value))
        _same(codec.decode_partial(_Fetcher(encoded), spec, ()), np.array(value))
    spec = _spec((0, 4), "<f8", 0.0)
    codec = ShardingCodec([2, 2])
    encoded = codec.encode(np.zeros((0, 4)), spec)
    assert len(encoded) == 4  # an empty index and its checksum
    assert codec.decode(encoded, spec).shape == (0, 4)


def test_variable_length_strings_inside() -> None:
    from zarrfast.codecs.vlen import VLenUTF8Codec

    spec = ChunkSpec((4,), np.dtype("O"), "", "string")
    codec = ShardingCodec([2], codecs=[VLenUTF8Codec()])
    arr = np.array(["", "", "x", "yz"], dtype=object)
    encoded = bytes(codec.encode(arr, spec))
    assert _raw_index(codec, encoded, spec)[0, 0] == U64MAX
    assert list(codec.decode(encoded, spec)) == ["", "", "x", "yz"]
    assert list(codec.decode_partial(_Fetcher(encoded), spec, (slice(1, 4),))) == ["", "x", "yz"]


def test_nested_inner_codecs_transpose_zstd() -> None:
    rng = np.random.default_rng(1)
    codec = ShardingCodec(
        [2, 3, 4],
        codecs=[TransposeCodec([2, 0, 1]), BYTES_LE, ZstdCodec(level=3)],
        index_location="start",
    )
    spec = _spec((4, 6, 8), "<i4", 0)
    arr = _data((4, 6, 8), "<i4", 0, rng, chunk_shape=(2, 3, 4))
    encoded = codec.encode(arr, spec)
    _same(codec.decode(encoded, spec), arr)


@pytest.mark.parametrize("location", ["start", "end"])
def test_nested_sharding(location: str) -> None:
    rng = np.random.default_rng(2)
    inner = ShardingCodec([2, 2], codecs=[BYTES_LE, ZstdCodec()], index_location="end")
    outer = ShardingCodec([4, 4], codecs=[inner], index_location=location)
    spec = _spec((8, 12), "<f4", float("nan"))
    arr = _data((8, 12), "<f4", np.nan, rng, chunk_shape=(2, 2))
    outer.validate(spec)
    encoded = outer.encode(arr, spec)
    _same(outer.decode(encoded, spec), arr)
    fetch = _Fetcher(bytes(encoded))
    sel = (slice(1, 7), np.array([0, 5, 11]))
    _same(outer.decode_partial(fetch, spec, sel), arr[sel])
    with pytest.raises(CodecError, match=r"\[4, 4\].*\[3, 3\]"):
        ShardingCodec([4, 4], codecs=[ShardingCodec([3, 3])]).validate(spec)


def _nested_config(depth: int) -> dict[str, Any]:
    """``depth`` levels of sharding with [1, 1] inner chunks down to ``bytes``."""
    codecs: list[dict[str, Any]] = [BYTES_LE]
    for _ in range(depth):
        conf = {"chunk_shape": [1, 1], "codecs": codecs, "index_codecs": [BYTES_LE]}
        codecs = [{"name": "sharding_indexed", "configuration": conf}]
    return codecs[0]


@pytest.mark.parametrize("depth", [1, 4, 8, 16])
def test_nested_layouts_are_built_once_per_level(
    depth: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue #14: validate() rebuilt the layout that evolve_from_spec() had just built,
    # and each build evolves the level below, so a chain of d levels built 2**d layouts.
    from zarrfast.codecs.chain import CodecChain

    calls = []
    build = ShardingCodec._build_layout

    def counting(self: ShardingCodec, spec: ChunkSpec) -> Any:
        calls.append(self)
        return build(self, spec)

    monkeypatch.setattr(ShardingCodec, "_build_layout", counting)
    codec = registry.codec_from_json(_nested_config(depth), 3)
    assert codec.nesting_depth == depth
    chain = CodecChain([codec], _spec((4, 4), "<i4", 0))
    assert len(calls) == depth
    arr = np.arange(16, dtype="<i4").reshape(4, 4)
    _same(chain.decode(chain.encode(arr, _spec((4, 4), "<i4", 0)), _spec((4, 4), "<i4", 0)), arr)


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    from zarrfast.codecs.sharding import MAX_NESTING_DEPTH

    assert MAX_NESTING_DEPTH == 16
    registry.codec_from_json(_nested_config(MAX_NESTING_DEPTH), 3)
    for depth in (MAX_NESTING_DEPTH + 1, 40, 500):
        with pytest.raises(CodecError, match=rf"nested {depth} levels deep; at most 16"):
            registry.codec_from_json(_nested_config(depth), 3)
    # built from objects: the same limit, also when the nesting goes through index_codecs
    codec = ShardingCodec([1], codecs=[BYTES_LE])
    for _ in range(MAX_NESTING_DEPTH - 1):
        codec = ShardingCodec([1], codecs=[codec])
    with pytest.raises(CodecError, match="nested 17 levels deep"):
        ShardingCodec([1], codecs=[codec])
    with pytest.raises(CodecError, match="nested 17 levels deep"):
        ShardingCodec([1], index_codecs=[codec])
    # a cyclic config (only Python can build one) is refused too, and ends
    conf: dict[str, Any] = {"chunk_shape": [1], "index_codecs": [BYTES_LE]}
    conf["codecs"] = [{"name": "sharding_indexed", "configuration": conf}]
    with pytest.raises(CodecError, match="levels deep; at most 16"):
        ShardingCodec.from_config(conf)
    # a refused parse leaves nothing behind: the next document starts at depth 0 again
    registry.codec_from_json(_nested_config(MAX_NESTING_DEPTH), 3)


def test_threads_give_the_same_bytes() -> None:
    rng = np.random.default_rng(3)
    codec = ShardingCodec([4, 4], codecs=[BYTES_LE, ZstdCodec()])
    spec = _spec((32, 32), "<f8", 0.0)
    arr = _data((32, 32), "<f8", 0.0, rng, chunk_shape=(4, 4))
    with set_config(num_threads=1):
        one = bytes(codec.encode(arr, spec))
    with set_config(num_threads=4):
        four = bytes(codec.encode(arr, spec))
        _same(codec.decode(four, spec), arr)
        fetch = _Fetcher(four)
        _same(
            codec.decode_partial(fetch, spec, (slice(3, 29), slice(None, None, 3))), arr[3:29, ::3]
        )
    assert one == four


# --------------------------------------------------------------------------- corruption
@pytest.fixture
def shard() -> tuple[ShardingCodec, ChunkSpec, bytes, np.ndarray]:
    codec = ShardingCodec([2, 2])
    spec = _spec((4, 4), "<i4", 0)
    arr = np.arange(16, dtype="<i4").reshape(4, 4)
    return codec, spec, bytes(codec.encode(arr, spec)), arr


def test_truncated_below_index_size(shard) -> None:  # type: ignore[no-untyped-def]
    codec, spec, data, _ = shard
    with pytest.raises(DecodeError, match="expected at least 68 bytes for the shard index, got 10"):
        codec.decode(data[:10], spec)
    with pytest.raises(DecodeError, match="at least 68"):
        codec.decode(b"", spec)


def test_truncated_data_region(shard) -> None:  # type: ignore[no-untyped-def]
    codec, spec, data, _ = shard
    k = codec.index_nbytes(spec)
    cut = data[: len(data) - k - 1] + data[len(data) - k :]  # one data byte short
    with pytest.raises(DecodeError, match=r"inner chunk \(1, 1\)"):
        codec.decode(cut, spec)
    # a partial read does not know the shard's length: it notices a truncation when a
    # range comes back short (with the index at the end, the index bytes would be read)
    start = ShardingCodec([2, 2], index_location="start")
    data = bytes(start.encode(np.arange(16, dtype="<i4").reshape(4, 4), spec))
    with pytest.raises(
        DecodeError, match=r"expected 16 bytes at \[116, 132\) of the shard, got 15"
    ):
        start.decode_partial(_Fetcher(data[:-1]), spec, (3, 3), max_gap=0)
    with pytest.raises(DecodeError, match=r"inner chunk \(1, 1\)"):
        start.decode(data[:-1], spec)


def test_flipped_bit_in_index_is_a_checksum_error(shard) -> None:  # type: ignore[no-untyped-def]
    codec, spec, data, _ = shard
    broken = bytearray(data)
    broken[-20] ^= 0x04
    with pytest.raises(ChecksumError):
        codec.decode(bytes(broken), spec)
    with pytest.raises(ChecksumError):
        codec.decode_partial(_Fetcher(bytes(broken)), spec, (0, 0))


def _with_index(codec, spec, data, index) -> bytes:  # type: ignore[no-untyped-def]
    k = codec.index_nbytes(spec)
    return data[: len(data) - k] + index.astype("<u8").tobytes()


@pytest.mark.parametrize(
    "entry",
    [(60, 16), (0, 65), (2**63, 2**63), (MAX_UINT64, 16), (16, MAX_UINT64), (MAX_UINT64 - 1, 2)],
)
def test_index_entry_out_of_range(entry) -> None:  # type: ignore[no-untyped-def]
    codec = ShardingCodec([2, 2], index_codecs=[BYTES_LE])
    spec = _spec((4, 4), "<i4", 0)
    data = bytes(codec.encode(np.arange(16, dtype="<i4").reshape(4, 4), spec))
    index = _raw_index(codec, data, spec).copy()
    index[1, 0] = entry
    bad = _with_index(codec, spec, data, index)
    with pytest.raises(
        DecodeError, match=rf"inner chunk \(1, 0\) is \(offset={entry[0]}, nbytes={entry[1]}\)"
    ):
        codec.decode(bad, spec)
    if entry == (60, 16):
        # inside the object but overlapping the trailing index: a partial read, which
        # never learns the shard's length, cannot tell; the whole-shard decode does
        return
    with pytest.raises(DecodeError):
        codec.decode_partial(_Fetcher(bad), spec, (slice(2, 4), slice(0, 2)), max_gap=0)


def test_index_at_start_must_not_point_into_the_index() -> None:
    codec = ShardingCodec([2], index_codecs=[BYTES_LE], index_location="start")
    spec = _spec((4,), "<i4", 0)
    data = bytearray(codec.encode(np.arange(4, dtype="<i4"), spec))
    data[0:8] = (0).to_bytes(8, "little")  # chunk 0 at offset 0: inside the index
    with pytest.raises(DecodeError, match=r"inner chunk \(0,\)"):
        codec.decode(bytes(data), spec)


def test_corrupt_inner_chunk_names_it() -> None:
    codec = ShardingCodec([2, 2], codecs=[BYTES_LE, ZstdCodec()])
    spec = _spec((4, 4), "<i4", 0)
    data = bytearray(codec.encode(np.arange(16, dtype="<i4").reshape(4, 4) + 1, spec))
    index = _raw_index(codec, bytes(data), spec)
    off = int(index[0, 1, 0])
    data[off : off + 4] = b"\0\0\0\0"  # break the zstd magic of inner chunk (0, 1)
    with pytest.raises(DecodeError, match=r"inner chunk \(0, 1\)"):
        codec.decode(bytes(data), spec)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["start", "end"]))
def test_garbage_never_crashes(garbage: bytes, location: str) -> None:
    codec = ShardingCodec(
        [2, 2], codecs=[BYTES_LE, ZstdCodec()], index_codecs=[BYTES_LE], index_location=location
    )
    spec = _spec((4, 4), "<i4", 0)
    try:
        out = codec.decode(garbage, spec)
    except DecodeError:
        return
    assert out.shape == (4, 4)


# --------------------------------------------------------------------------- partial reads
SHARD_SHAPE = (12, 10, 6)
INNER = (3, 2, 3)


def _dim_selection(n: int) -> st.SearchStrategy[Any]:
    ints = st.integers(-n, n - 1)
    slices = st.builds(
        slice,
        st.none() | st.integers(-n - 2, n + 2),
        st.none() | st.integers(-n - 2, n + 2),
        st.none() | st.integers(1, n + 1) | st.integers(-n - 1, -1),
    )
    arrays = st.lists(st.integers(-n, n - 1), min_size=0, max_size=6).map(
        lambda v: np.array(v, dtype=np.intp)
    )
    masks = st.lists(st.booleans(), min_size=n, max_size=n).map(np.array)
    return st.one_of(ints, slices, arrays, masks)


@st.composite
def _selections(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(["mixed", "ix", "points"]))
    if kind == "mixed":
        sel = [draw(_dim_selection(n)) for n in SHARD_SHAPE]
        # numpy treats two or more arrays as points; keep mixed selections to <= 1 array
        seen = False
        for i, s in enumerate(sel):
            if isinstance(s, np.ndarray):
                if seen:
                    sel[i] = slice(None)
                seen = True
        ndims = draw(st.integers(1, 3))
        return tuple(sel[:ndims])
    if kind == "ix":
        arrays = [
            np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)), dtype=np.intp)
            for n in SHARD_SHAPE
        ]
        return np.ix_(*arrays)
    npts = draw(st.integers(1, 8))
    return tuple(
        np.array(draw(st.lists(st.integers(0, n - 1), min_size=npts, max_size=npts)), dtype=np.intp)
        for n in SHARD_SHAPE
    )


def _needed_chunks(sel: tuple[Any, ...]) -> set[tuple[int, ...]]:
    """Reference: the inner chunks holding a selected element (via an id array)."""
    ids = np.arange(int(np.prod(SHARD_SHAPE))).reshape(SHARD_SHAPE)
    picked = np.asarray(ids[sel]).reshape(-1)
    coords = np.unravel_index(picked, SHARD_SHAPE)
    return {tuple(int(c[i]) // k for c, k in zip(coords, INNER)) for i in range(picked.size)}


@pytest.fixture(scope="module")
def partial_case() -> dict[str, Any]:
    rng = np.random.default_rng(4)
    spec = _spec(SHARD_SHAPE, "<f4", float("nan"))
    arr = _data(SHARD_SHAPE, "<f4", np.nan, rng, chunk_shape=INNER)
    out: dict[str, Any] = {"spec": spec, "arr": arr}
    for location in ("start", "end"):
        codec = ShardingCodec(INNER, codecs=[BYTES_LE, ZstdCodec()], index_location=location)
        data = bytes(codec.encode(arr, spec))
        out[location] = (codec, data, _raw_index(codec, data, spec))
    return out


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sel=_selections(), location=st.sampled_from(["start", "end"]))
def test_partial_read_matches_full_decode(partial_case, sel, location) -> None:  # type: ignore[no-untyped-def]
    codec, data, index = partial_case[location]
    spec, arr = partial_case["spec"], partial_case["arr"]
    expected = arr[sel]
    fetch = _Fetcher(data)
    got = codec.decode_partial(fetch, spec, sel, max_gap=0)
    assert got is not None
    _same(got, np.asarray(expected))

    needed = _needed_chunks(sel)
    present = {c for c in needed if index[c][0] != U64MAX}
    if not needed:
        assert fetch.calls == []
        return
    assert fetch.calls[0] == [codec.index_request(spec)]
    assert len(fetch.calls) == (2 if present else 1)
    if present:
        # with max_gap=0 the requested bytes are exactly the needed chunks' bytes
        requested: set[int] = set()
        for r in fetch.calls[1]:
            assert isinstance(r, RangeByteRequest)
            requested.update(range(r.start, r.end))
        wanted: set[int] = set()
        for c in present:
            off, nb = (int(v) for v in index[c])
            wanted.update(range(off, off + nb))
        assert requested == wanted
        starts = [r.start for r in fetch.calls[1]]
        assert starts == sorted(starts)
        ends = [r.end for r in fetch.calls[1]]
        assert all(e < s for e, s in zip(ends, starts[1:]))  # adjacent ranges were merged


def test_partial_read_coalesces_within_gap(partial_case) -> None:  # type: ignore[no-untyped-def]
    codec, data, _index = partial_case["end"]
    spec, arr = partial_case["spec"], partial_case["arr"]
    fetch = _Fetcher(data)
    sel = (slice(0, 12, 6), 1, slice(None))  # scattered chunks, all within 64 KiB
    _same(codec.decode_partial(fetch, spec, sel), arr[sel])
    assert len(fetch.calls) == 2 and len(fetch.calls[1]) == 1
    fetch = _Fetcher(data)
    _same(codec.decode_partial(fetch, spec, sel, max_gap=0), arr[sel])
    assert len(fetch.calls) == 2 and len(fetch.calls[1]) > 1


def test_partial_read_of_missing_shard_returns_none(partial_case) -> None:  # type: ignore[no-untyped-def]
    codec, _, _ = partial_case["start"]
    fetch = _Fetcher(None)
    assert codec.decode_partial(fetch, partial_case["spec"], (0, slice(None))) is None
    assert len(fetch.calls) == 1


def test_partial_read_index_requests() -> None:
    spec = _spec((4, 4), "<i4", 0)
    assert ShardingCodec([2, 2]).index_request(spec) == SuffixByteRequest(68)
    assert ShardingCodec([2, 2], index_location="start").index_request(spec) == RangeByteRequest(
        0, 68
    )
    assert ShardingCodec([2, 2], index_codecs=[BYTES_LE]).index_request(spec) == SuffixByteRequest(
        64
    )


def test_decode_index_checks(shard) -> None:  # type: ignore[no-untyped-def]
    codec, spec, data, _ = shard
    k = codec.index_nbytes(spec)
    index = codec.decode_index(data[-k:], spec)
    assert index.dtype == np.uint64 and index.shape == (2, 2, 2)
    codec.decode_index(data[-k:], spec, shard_nbytes=len(data))
    with pytest.raises(DecodeError, match="inner chunk"):
        codec.decode_index(data[-k:], spec, shard_nbytes=len(data) - 1)
    with pytest.raises(DecodeError, match="expected at least 68 bytes"):
        codec.decode_index(data[-10:], spec)


def test_partial_read_bad_selection(partial_case) -> None:  # type: ignore[no-untyped-def]
    codec, data, _ = partial_case["end"]
    with pytest.raises(SelectionError):
        codec.decode_partial(_Fetcher(data), partial_case["spec"], (12,))
    with pytest.raises(SelectionError):
        codec.decode_partial(_Fetcher(data), partial_case["spec"], (np.array([0.5]),))


# --------------------------------------------------------------------------- zarr-python
zarr = pytest.importorskip("zarr")


def _zarr_shard_codec(root: Path) -> tuple[ShardingCodec, dict[str, Any]]:
    meta = json.loads((root / "zarr.json").read_text())
    (conf,) = [c for c in meta["codecs"] if c["name"] == "sharding_indexed"]
    return registry.codec_from_json(conf, 3), meta


def _fill_from_meta(meta: dict[str, Any], dtype: np.dtype[Any]) -> Any:
    fv = meta["fill_value"]
    return {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}.get(fv, fv)


ZARR_CASES = [
    # shape, inner chunks, shard, dtype, fill, compressors
    ((20, 18), (2, 3), (4, 6), "float32", float("nan"), "auto"),
    ((16,), (4,), (8,), "int16", 0, None),
    ((6, 8, 10), (3, 2, 5), (6, 4, 10), "float64", 0.0, "auto"),
    ((9, 7), (3, 1), (9, 7), "uint8", 3, None),
]


@pytest.mark.parametrize("case", ZARR_CASES)
def test_zarr_python_shards_decode_with_ours(tmp_path: Path, case: tuple[Any, ...]) -> None:
    shape, inner, shard_shape, dtype, fill, compressors = case
    rng = np.random.default_rng(5)
    store = zarr.storage.LocalStore(tmp_path)
    z = zarr.create_array(
        store=store,
        shape=shape,
        chunks=inner,
        shards=shard_shape,
        dtype=dtype,
        fill_value=fill,
        compressors=compressors,
    )
    padded = tuple(-(-s // c) * c for s, c in zip(shape, shard_shape))
    full = _data(padded, dtype, fill, rng, fill_fraction=0.3, chunk_shape=inner)
    if len(shape) == 2 and shape != shard_shape:  # one all-fill shard: zarr-python skips it
        full[: shard_shape[0], : shard_shape[1]] = fill
    data = full[tuple(slice(0, s) for s in shape)]
    z[...] = data

    codec, meta = _zarr_shard_codec(tmp_path)
    dt = np.dtype(dtype)
    spec = _spec(shard_shape, dt, _fill_from_meta(meta, dt))
    codec.validate(spec)
    grid = [-(-s // c) for s, c in zip(shape, shard_shape)]
    seen = 0
    for coord in np.ndindex(*grid):
        path = tmp_path / "c" / "/".join(str(i) for i in coord)
        region = tuple(
            slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(coord, shard_shape, shape)
        )
        if not path.exists():
            assert codec.all_fill(data[region], spec) if data[region].size else True
            continue
        seen += 1
        raw = path.read_bytes()
        decoded = codec.decode(raw, spec)
        inb = tuple(slice(0, r.stop - r.start) for r in region)
        _same(decoded[inb], data[region])
        # and through the partial path
        fetch = _Fetcher(raw)
        got = codec.decode_partial(fetch, spec, inb)
        assert got is not None
        _same(got, data[region])
    assert seen > 0


@pytest.mark.parametrize("case", ZARR_CASES)
@pytest.mark.parametrize("variant", ["default", "start_nocrc"])
def test_our_shards_read_by_zarr_python(
    tmp_path: Path, case: tuple[Any, ...], variant: str
) -> None:
    shape, inner, shard_shape, dtype, fill, compressors = case
    rng = np.random.default_rng(6)
    store = zarr.storage.LocalStore(tmp_path)
    if variant == "default":
        z = zarr.create_array(
            store=store,
            shape=shape,
            chunks=inner,
            shards=shard_shape,
            dtype=dtype,
            fill_value=fill,
            compressors=compressors,
        )
    else:
        from zarr.codecs import BytesCodec as ZBytes
        from zarr.codecs import ShardingCodec as ZSharding

        z = zarr.create_array(
            store=store,
            shape=shape,
            chunks=shard_shape,
            dtype=dtype,
            fill_value=fill,
            compressors=None,
            filters=None,
            serializer=ZSharding(
                chunk_shape=inner,
                codecs=[ZBytes()],
                index_codecs=[ZBytes()],
                index_location="start",
            ),
        )
    codec, meta = _zarr_shard_codec(tmp_path)
    if variant != "default":
        assert codec.index_location == "start" and len(codec.index_codecs) == 1
    dt = np.dtype(dtype)
    spec = _spec(shard_shape, dt, _fill_from_meta(meta, dt))
    padded = tuple(-(-s // c) * c for s, c in zip(shape, shard_shape))
    full = _data(padded, dtype, spec.fill_value, rng, fill_fraction=0.3, chunk_shape=inner)
    # the overhang of edge shards is the fill value
    outside = np.ones(padded, dtype=bool)
    outside[tuple(slice(0, s) for s in shape)] = False
    full[outside] = spec.fill_value
    grid = [p // c for p, c in zip(padded, shard_shape)]
    for coord in np.ndindex(*grid):
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coord, shard_shape))
        key = "c/" + "/".join(str(i) for i in coord)
        if codec.all_fill(full[region], spec):
            continue
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(codec.encode(full[region], spec)))
    back = zarr.open_array(store=zarr.storage.LocalStore(tmp_path), mode="r")
    _same(back[...], full[tuple(slice(0, s) for s in shape)])
    del z


def test_memory_store_interop_nested_sharding() -> None:
    from zarr.codecs import BytesCodec as ZBytes
    from zarr.codecs import ShardingCodec as ZSharding
    from zarr.core.buffer import default_buffer_prototype

    rng = np.random.default_rng(7)
    backing: dict[str, Any] = {}
    store = zarr.storage.MemoryStore(store_dict=backing)
    serializer = ZSharding(
        chunk_shape=(4, 4),
        codecs=[ZSharding(chunk_shape=(2, 2), codecs=[ZBytes()])],
        index_location="start",
    )
    z = zarr.create_array(
        store=store,
        shape=(8, 8),
        chunks=(8, 8),
        dtype="int32",
        fill_value=0,
        compressors=None,
        filters=None,
        serializer=serializer,
    )
    data = _data((8, 8), "<i4", 0, rng, fill_fraction=0.3, chunk_shape=(2, 2))
    z[...] = data
    meta = json.loads(backing["zarr.json"].to_bytes())
    codec = registry.codec_from_json(meta["codecs"][0], 3)
    assert isinstance(codec.codecs[0], ShardingCodec)
    spec = _spec((8, 8), "<i4", 0)
    raw = backing["c/0/0"].to_bytes()
    _same(codec.decode(raw, spec), data)

    # ours -> zarr-python
    other = _data((8, 8), "<i4", 0, rng, fill_fraction=0.3, chunk_shape=(2, 2))
    encoded = bytes(codec.encode(other, spec))
    backing["c/0/0"] = default_buffer_prototype().buffer.from_bytes(encoded)
    _same(zarr.open_array(store=store, mode="r")[...], other)
