"""The metadata layer against the Zarr specifications, point by point.

Each section follows one entry of ``zarr-spec-pitfalls.md``; the last sections feed
hostile documents to ``zf.open`` and require MetadataError / UnknownDataTypeError /
UnknownCodecError and nothing else.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.core.chunk_key import ChunkKeyEncoding, parse_chunk_key_encoding
from zarrfast.core.metadata.common import MAX_CHUNK_BYTES, dump_json, load_json
from zarrfast.core.metadata.dtypes import (
    DataType,
    data_type_from_user,
    fill_value_from_user,
    fill_value_to_json,
    parse_fill_value,
    parse_v2_dtype,
    parse_v3_data_type,
)
from zarrfast.core.metadata.v2 import ArrayMetadataV2, parse_zarray
from zarrfast.core.metadata.v3 import ArrayMetadataV3, GroupMetadataV3, parse_v3
from zarrfast.errors import (
    DecodeError,
    MetadataError,
    UnknownCodecError,
    UnknownDataTypeError,
)
from zarrfast.storage.memory import MemoryStore

ALLOWED = (MetadataError, UnknownDataTypeError, UnknownCodecError)

BYTES = {"name": "bytes", "configuration": {"endian": "little"}}


def v3_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [10, 11],
        "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 5]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0,
        "codecs": [BYTES, {"name": "zstd", "configuration": {"level": 1, "checksum": False}}],
        "attributes": {},
        "dimension_names": ["y", "x"],
        "storage_transformers": [],
    }
    doc.update(changes)
    return doc


def v2_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "zarr_format": 2,
        "shape": [10, 11],
        "chunks": [4, 5],
        "dtype": "<f8",
        "compressor": {"id": "zstd", "level": 1},
        "fill_value": 0.0,
        "order": "C",
        "filters": None,
        "dimension_separator": ".",
    }
    doc.update(changes)
    return doc


def store_with(docs: dict[str, Any]) -> MemoryStore:
    store = MemoryStore()
    for key, doc in docs.items():
        store.set(key, doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    return store


def open_doc(doc: Any, key: str = "zarr.json") -> Any:
    return zf.open(store=store_with({key: doc}), mode="r")


def strict_loads(raw: bytes) -> Any:
    """json.loads that refuses the bare NaN/Infinity tokens (invalid JSON)."""

    def refuse(token: str) -> Any:
        raise AssertionError(f"bare {token} in metadata JSON")

    return json.loads(raw, parse_constant=refuse)


def bits(value: Any, dtype: Any) -> list[int]:
    a = np.array(value, dtype=np.dtype(dtype).newbyteorder("=")).reshape(-1)
    width = a.dtype.itemsize // (2 if a.dtype.kind == "c" else 1)
    return a.view(f"u{width}").tolist()  # type: ignore[no-any-return]


def v3(name: str) -> DataType:
    return parse_v3_data_type(name)


def v2(name: str) -> DataType:
    return parse_v2_dtype(name)


# --------------------------------------------------------------------------- v2 float fills
@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("NaN", math.isnan),
        ("Infinity", lambda v: v == math.inf),
        ("-Infinity", lambda v: v == -math.inf),
    ],
)
@pytest.mark.parametrize("dtype", ["<f2", "<f4", "<f8", ">f8"])
def test_v2_float_fill_strings(text: str, check: Any, dtype: str) -> None:
    fv = parse_fill_value(text, v2(dtype), 2)
    assert check(float(fv))
    assert fill_value_to_json(fv, v2(dtype), 2) == text


def test_v2_null_fill_is_no_fill_not_nan() -> None:
    meta = parse_zarray(v2_doc(fill_value=None))
    assert meta.fill_value is None
    assert meta.to_dict()["fill_value"] is None
    a = open_doc(v2_doc(fill_value=None), ".zarray")
    assert a.fill_value is None
    assert_bits(a[0:2, 0], np.zeros(2))  # missing chunks of a null-fill array read as 0


def test_v2_documents_never_hold_bare_nan() -> None:
    for fv in ("NaN", "Infinity", "-Infinity"):
        meta = parse_zarray(v2_doc(fill_value=fv, dtype="<f4"))
        doc = strict_loads(meta.to_documents()[".zarray"])
        assert doc["fill_value"] == fv
    with pytest.raises(MetadataError):
        dump_json({"x": float("nan")})


def test_v2_hex_fill_is_not_v2() -> None:
    with pytest.raises(MetadataError):
        parse_fill_value("0x7fc00001", v2("<f4"), 2)


def test_v2_complex_fill() -> None:
    fv = parse_fill_value(["NaN", 1.0], v2("<c16"), 2)
    assert math.isnan(fv.real) and fv.imag == 1.0
    assert fill_value_to_json(fv, v2("<c16"), 2) == ["NaN", 1.0]
    assert parse_fill_value(2.5, v2("<c8"), 2) == 2.5 + 0j  # zarr-python 2 wrote plain numbers


# --------------------------------------------------------------------------- v3 float fills
CANONICAL_NAN = {"float16": 0x7E00, "float32": 0x7FC00000, "float64": 0x7FF8000000000000}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_v3_nan_is_the_canonical_quiet_nan(dtype: str) -> None:
    fv = parse_fill_value("NaN", v3(dtype), 3)
    assert bits(fv, dtype) == [CANONICAL_NAN[dtype]]
    assert fill_value_to_json(fv, v3(dtype), 3) == "NaN"


@pytest.mark.parametrize(
    ("dtype", "hexbits"),
    [
        ("float16", "0x7e01"),
        ("float16", "0x3c00"),
        ("float32", "0x7fc00001"),
        ("float32", "0xffc00000"),
        ("float32", "0x7f800001"),
        ("float64", "0x7ff8000000000001"),
        ("float64", "0xfff0000000000001"),
        ("float64", "0x0000000000000001"),
    ],
)
def test_v3_hex_fill_keeps_raw_bits(dtype: str, hexbits: str) -> None:
    fv = parse_fill_value(hexbits, v3(dtype), 3)
    assert bits(fv, dtype) == [int(hexbits, 16)]
    out = fill_value_to_json(fv, v3(dtype), 3)
    if math.isnan(float(fv)):
        assert out == hexbits  # a NaN that is not the canonical one keeps its payload
    else:
        assert out == float(fv)  # ordinary numbers are written as numbers
    assert bits(parse_fill_value(out, v3(dtype), 3), dtype) == [int(hexbits, 16)]


@pytest.mark.parametrize("bad", ["0x", "0xZZ", "0x1ffff", "0x-1", "nan", "inf", "1.0", ""])
def test_v3_bad_float_fill_strings(bad: str) -> None:
    with pytest.raises(MetadataError):
        parse_fill_value(bad, v3("float16"), 3)


@pytest.mark.parametrize("fmt", [2, 3])
def test_negative_zero_stays_negative(fmt: int) -> None:
    dt = v3("float64") if fmt == 3 else v2("<f8")
    fv = parse_fill_value(-0.0, dt, fmt)
    assert math.copysign(1.0, float(fv)) == -1.0
    out = fill_value_to_json(fv, dt, fmt)
    assert b"-0.0" in dump_json({"f": out})
    a = zf.create(shape=(3,), chunks=(2,), dtype="float64", fill_value=-0.0, zarr_format=fmt)
    assert bits(a[...], "float64") == bits(np.full(3, -0.0), "float64")
    assert math.copysign(1.0, float(a.fill_value)) == -1.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["NaN", 1.0], [CANONICAL_NAN["float32"], 0x3F800000]),
        (["0x7fc00001", "-Infinity"], [0x7FC00001, 0xFF800000]),
        ([-0.0, "Infinity"], [0x80000000, 0x7F800000]),
        ([0, 0], [0, 0]),
    ],
)
def test_v3_complex_fill_each_part_encoded(value: list[Any], expected: list[int]) -> None:
    fv = parse_fill_value(value, v3("complex64"), 3)
    assert bits(fv, "complex64") == expected
    assert (
        bits(
            parse_fill_value(fill_value_to_json(fv, v3("complex64"), 3), v3("complex64"), 3),
            "complex64",
        )
        == expected
    )


@pytest.mark.parametrize("bad", [1.0, "NaN", [1.0], [1, 2, 3], [None, 1], {"re": 1}])
def test_v3_complex_fill_must_be_a_pair(bad: Any) -> None:
    with pytest.raises(MetadataError):
        parse_fill_value(bad, v3("complex128"), 3)


def test_float_fill_out_of_range_is_an_error() -> None:
    for value, dtype in [(1e300, "float32"), (70000, "float16"), (2**1100, "float64")]:
        with pytest.raises(MetadataError):
            parse_fill_value(value, v3(dtype), 3)
        with pytest.raises(MetadataError):
            fill_value_from_user(value, v3(dtype))


# --------------------------------------------------------------------------- big integers
@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        ("uint64", 2**64 - 1),
        ("int64", -(2**63)),
        ("int64", 2**63 - 1),
        ("uint64", 2**53 + 1),
        ("uint32", 2**32 - 1),
        ("int8", -128),
    ],
)
@pytest.mark.parametrize("fmt", [2, 3])
def test_big_integer_fills_are_exact(dtype: str, value: int, fmt: int) -> None:
    doc = (
        v3_doc(data_type=dtype, fill_value=value, codecs=[BYTES])
        if fmt == 3
        else v2_doc(dtype=np.dtype(dtype).str, fill_value=value, compressor=None)
    )
    a = open_doc(doc, "zarr.json" if fmt == 3 else ".zarray")
    assert int(a.fill_value) == value and a.fill_value.dtype == np.dtype(dtype)
    assert int(a[0, 0]) == value  # missing chunk
    raw = a.metadata.to_documents()["zarr.json" if fmt == 3 else ".zarray"]
    assert str(value).encode() in raw and strict_loads(raw)["fill_value"] == value


@pytest.mark.parametrize("bad", [2**64, -1, 1.5, "1", True, None, [1]])
def test_integer_fill_out_of_range_or_wrong_type(bad: Any) -> None:
    with pytest.raises(MetadataError):
        parse_fill_value(bad, v3("uint64"), 3)


def test_big_integer_attributes_survive() -> None:
    attrs = {"a": 2**53 + 1, "b": -(2**63), "c": 2**64 - 1, "nested": {"x": [2**53 + 1]}}
    store = MemoryStore()
    zf.create(shape=(2,), dtype="i1", store=store, path="x", attributes=attrs)
    raw = store.get("x/zarr.json")
    assert b"9007199254740993" in bytes(raw)
    assert dict(zf.open(store=store, path="x").attrs) == attrs
    zf.group(store=store, path="g2", zarr_format=2, attributes=attrs)
    assert dict(zf.open_group(store=store, path="g2").attrs) == attrs


# --------------------------------------------------------------------------- endianness
@pytest.mark.parametrize("dtype", ["<i4", ">i4", "|u1", "|i1", "|b1", ">f8", "<c16", ">c8", ">u2"])
def test_v2_dtype_keeps_its_byte_order(dtype: str) -> None:
    meta = parse_zarray(v2_doc(dtype=dtype, fill_value=0 if dtype[1] != "b" else False))
    assert meta.dtype == np.dtype(dtype)
    assert meta.to_dict()["dtype"] == dtype


@pytest.mark.parametrize("fmt", [2, 3])
def test_big_endian_complex_swaps_each_component(fmt: int) -> None:
    values = np.array([1 + 2j, -0.0 + np.inf * 1j, np.nan + 3j, 4 - 5j], dtype="complex128")
    stored = values.astype(">c16").tobytes()  # each 8-byte part swapped on its own
    if fmt == 3:
        doc, key, ckey = (
            v3_doc(
                shape=[4],
                chunk_grid={"name": "regular", "configuration": {"chunk_shape": [4]}},
                data_type="complex128",
                fill_value=[0, 0],
                codecs=[{"name": "bytes", "configuration": {"endian": "big"}}],
                dimension_names=None,
            ),
            "zarr.json",
            "c/0",
        )
    else:
        doc, key, ckey = (
            v2_doc(shape=[4], chunks=[4], dtype=">c16", compressor=None, fill_value=[0, 0]),
            ".zarray",
            "0",
        )
    a = zf.open(store=store_with({key: doc, ckey: stored}), mode="r+")
    assert_bits(a[...], values)
    a[...] = values
    assert bytes(a.store.get(ckey)) == stored


def test_v3_bytes_endian_written_for_multibyte_only() -> None:
    for dtype, want in [
        ("uint8", {"name": "bytes"}),
        ("bool", {"name": "bytes"}),
        ("int16", BYTES),
        ("complex64", BYTES),
    ]:
        a = zf.create(shape=(2,), dtype=dtype, compressor=None)
        assert a.metadata.to_dict()["codecs"] == [want]
    # {"name": "bytes"} without endian for a multi-byte type: accepted as zarr-python
    # does (system byte order), and written back with the endian made explicit.
    meta = parse_v3(v3_doc(codecs=[{"name": "bytes"}]))
    assert meta.to_dict()["codecs"] == [BYTES]


@pytest.mark.parametrize("endian", ["middle", 1, "", "LITTLE"])
def test_v3_bytes_bad_endian(endian: Any) -> None:
    with pytest.raises(MetadataError):
        parse_v3(v3_doc(codecs=[{"name": "bytes", "configuration": {"endian": endian}}]))


# --------------------------------------------------------------------------- order F
def test_v2_order_f_is_per_chunk_column_major() -> None:
    data = np.arange(5 * 7, dtype="<i2").reshape(5, 7)
    docs: dict[str, Any] = {
        ".zarray": v2_doc(
            shape=[5, 7], chunks=[3, 4], dtype="<i2", compressor=None, order="F", fill_value=0
        )
    }
    for i in range(2):
        for j in range(2):
            chunk = np.zeros((3, 4), dtype="<i2")
            part = data[i * 3 : (i + 1) * 3, j * 4 : (j + 1) * 4]
            chunk[: part.shape[0], : part.shape[1]] = part
            docs[f"{i}.{j}"] = chunk.tobytes(order="F")  # keys and grid as for order C
    a = zf.open(store=store_with(docs), mode="r+")
    assert a.order == "F"
    assert_bits(a[...], data)
    a[...] = data[::-1]
    chunk = np.zeros((3, 4), dtype="<i2")
    chunk[:2, :3] = data[::-1][3:, 4:]
    assert bytes(a.store.get("1.1")) == chunk.tobytes(order="F")


@pytest.mark.parametrize("order", ["X", "c", None, 1])
def test_v2_bad_order(order: Any) -> None:
    with pytest.raises(MetadataError):
        parse_zarray(v2_doc(order=order))


@pytest.mark.parametrize("order", ["C", "F", [0, 0], [1], [0, 2], [1.0, 0.0], None])
def test_v3_transpose_needs_a_permutation(order: Any) -> None:
    codecs = [{"name": "transpose", "configuration": {"order": order}}, BYTES]
    with pytest.raises(MetadataError):
        parse_v3(v3_doc(codecs=codecs))


def test_v3_transpose_permutation() -> None:
    meta = parse_v3(
        v3_doc(codecs=[{"name": "transpose", "configuration": {"order": [1, 0]}}, BYTES])
    )
    assert meta.to_dict()["codecs"][0] == {"name": "transpose", "configuration": {"order": [1, 0]}}


# --------------------------------------------------------------------------- v2 separator
def test_v2_dimension_separator_absent_or_null_means_dot() -> None:
    for doc in (
        v2_doc(),
        {k: v for k, v in v2_doc().items() if k != "dimension_separator"},
        v2_doc(dimension_separator=None),
    ):
        meta = parse_zarray(doc)
        assert meta.chunk_key((1, 2)) == "1.2"
        assert meta.to_dict()["dimension_separator"] == "."


def test_v2_dimension_separator_slash() -> None:
    assert parse_zarray(v2_doc(dimension_separator="/")).chunk_key((1, 2)) == "1/2"


@pytest.mark.parametrize("sep", ["-", "", 1, ["/"], "//"])
def test_v2_bad_dimension_separator(sep: Any) -> None:
    with pytest.raises(MetadataError):
        parse_zarray(v2_doc(dimension_separator=sep))


# --------------------------------------------------------------------------- v3 chunk keys
@pytest.mark.parametrize(
    ("encoding", "coords", "key"),
    [
        ({"name": "default"}, (1, 23), "c/1/23"),
        ({"name": "default", "configuration": {"separator": "/"}}, (0, 0, 5), "c/0/0/5"),
        ({"name": "default", "configuration": {"separator": "."}}, (1, 23), "c.1.23"),
        ({"name": "default"}, (), "c"),
        ({"name": "default", "configuration": {"separator": "."}}, (), "c"),
        ({"name": "v2"}, (1, 23), "1.23"),
        ({"name": "v2", "configuration": {"separator": "/"}}, (1, 23), "1/23"),
        ({"name": "v2"}, (), "0"),
        ({"name": "v2", "configuration": {"separator": "/"}}, (), "0"),
        ({"name": "v2"}, (7,), "7"),
    ],
)
def test_chunk_key_encodings(encoding: dict[str, Any], coords: tuple[int, ...], key: str) -> None:
    enc = parse_chunk_key_encoding(encoding)
    assert enc.encode(coords) == key
    assert enc.decode(key, len(coords)) == coords
    sep = "/" if encoding["name"] == "default" else "."
    assert enc.to_json() == {
        "name": encoding["name"],
        "configuration": {"separator": encoding.get("configuration", {}).get("separator", sep)},
    }


def test_chunk_key_decode_rejects_foreign_keys() -> None:
    enc = ChunkKeyEncoding("default", "/")
    for key in ("zarr.json", "c/1", "c/1/x", "1/2", "c.1.2", "c/-1/2", "c/1/2/3"):
        assert enc.decode(key, 2) is None
    assert ChunkKeyEncoding("v2", ".").decode("c", 0) is None


def test_0d_array_keys_on_disk() -> None:
    for cke, key in [({"name": "default"}, "c"), ({"name": "v2"}, "0")]:
        a = zf.create(shape=(), dtype="int32", chunk_key_encoding=cke, compressor=None)
        a[()] = 5
        assert sorted(a.store.list_prefix("")) == sorted(["zarr.json", key])
    b = zf.create(shape=(), dtype="int32", zarr_format=2, compressor=None)
    b[()] = 5
    assert sorted(b.store.list_prefix("")) == [".zarray", ".zattrs", "0"]


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "v3"},
        {"name": "default", "configuration": {"separator": "-"}},
        {"configuration": {}},
        "nope",
        1,
        None,
        [],
        {"name": "default", "configuration": "/"},
    ],
)
def test_bad_chunk_key_encoding(bad: Any) -> None:
    with pytest.raises(MetadataError):
        parse_v3(v3_doc(chunk_key_encoding=bad))


# --------------------------------------------------------------------------- missing / edge chunks
def test_missing_chunks_read_as_fill_everywhere() -> None:
    fill = "0x7fc00001"
    doc = v3_doc(data_type="float32", fill_value=fill, codecs=[BYTES])
    a = open_doc(doc)
    assert bits(a[...], "float32") == [0x7FC00001] * 110


def test_edge_chunks_are_stored_full_size() -> None:
    a = zf.create(
        shape=(5,), chunks=(3,), dtype="<i4", fill_value=-1, compressor=None, zarr_format=2
    )
    a[...] = np.arange(5)
    assert bytes(a.store.get("1")) == np.array([3, 4, -1], dtype="<i4").tobytes()
    # a truncated edge chunk is corrupt, not "short because it is at the edge"
    a.store.set("1", np.array([3, 4], dtype="<i4").tobytes())
    with pytest.raises(DecodeError):
        a[...]


# --------------------------------------------------------------------------- sharding config
def _shard(**conf: Any) -> list[dict[str, Any]]:
    base = {
        "chunk_shape": [2, 5],
        "codecs": [BYTES],
        "index_codecs": [BYTES, {"name": "crc32c"}],
        "index_location": "end",
    }
    base.update(conf)
    return [{"name": "sharding_indexed", "configuration": base}]


def _sharded_doc(**conf: Any) -> dict[str, Any]:
    return v3_doc(
        chunk_grid={"name": "regular", "configuration": {"chunk_shape": [4, 10]}},
        codecs=_shard(**conf),
    )


def test_sharding_index_location_defaults_to_end() -> None:
    doc = _sharded_doc()
    del doc["codecs"][0]["configuration"]["index_location"]
    meta = parse_v3(doc)
    assert meta.to_dict()["codecs"][0]["configuration"]["index_location"] == "end"


@pytest.mark.parametrize(
    "conf",
    [
        {"index_location": "middle"},
        {"chunk_shape": [3, 5]},  # does not divide the shard
        {"chunk_shape": [2]},
        {"chunk_shape": [0, 5]},
        {
            "index_codecs": [
                BYTES,
                {"name": "zstd", "configuration": {"level": 1, "checksum": False}},
            ]
        },
        {"index_codecs": []},
        {"codecs": []},
        {"codecs": "bytes"},
    ],
)
def test_bad_sharding_configuration(conf: dict[str, Any]) -> None:
    with pytest.raises(MetadataError):
        parse_v3(_sharded_doc(**conf))


def test_sharding_inner_chunks_divide_after_transpose() -> None:
    doc = v3_doc(
        chunk_grid={"name": "regular", "configuration": {"chunk_shape": [4, 10]}},
        codecs=[
            {"name": "transpose", "configuration": {"order": [1, 0]}},
            *_shard(chunk_shape=[5, 2]),
        ],
    )
    parse_v3(doc)  # (4, 10) transposed is (10, 4): (5, 2) divides it
    doc["codecs"][1]["configuration"]["chunk_shape"] = [2, 5]
    with pytest.raises(MetadataError):
        parse_v3(doc)


# --------------------------------------------------------------------------- blosc
def test_blosc_v3_typesize_written_unless_noshuffle() -> None:
    for shuffle in ("shuffle", "bitshuffle", "noshuffle"):
        conf = {"cname": "lz4", "clevel": 5, "shuffle": shuffle, "blocksize": 0}
        meta = parse_v3(v3_doc(codecs=[BYTES, {"name": "blosc", "configuration": conf}]))
        written = meta.to_dict()["codecs"][1]["configuration"]
        assert written["shuffle"] == shuffle and written["typesize"] == 8


@pytest.mark.parametrize("shuffle", [-1, 0, 1, 2])
def test_blosc_v2_numeric_shuffle_and_typesize_key(shuffle: int) -> None:
    comp = {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": shuffle, "blocksize": 0}
    assert parse_zarray(v2_doc(compressor=comp)).to_dict()["compressor"] == comp
    parse_zarray(v2_doc(compressor={**comp, "typesize": 8}))  # numcodecs >= 0.16


@pytest.mark.parametrize(
    "conf",
    [
        {"cname": "snappy"},
        {"shuffle": "sometimes"},
        {"clevel": 10},
        {"typesize": 0},
        {"cname": 1},
        {"unknown": 1},
    ],
)
def test_bad_blosc_configuration(conf: dict[str, Any]) -> None:
    full = {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "blocksize": 0, **conf}
    with pytest.raises(MetadataError):
        parse_v3(v3_doc(codecs=[BYTES, {"name": "blosc", "configuration": full}]))


# --------------------------------------------------------------------------- 0-d and empty
@pytest.mark.parametrize(
    ("shape", "chunks"), [([], []), ([0], [1]), ([0, 5], [2, 2]), ([3, 0, 2], [1, 1, 1])]
)
@pytest.mark.parametrize("fmt", [2, 3])
def test_zero_size_and_0d_arrays(shape: list[int], chunks: list[int], fmt: int) -> None:
    if fmt == 3:
        doc = v3_doc(
            shape=shape,
            chunk_grid={"name": "regular", "configuration": {"chunk_shape": chunks}},
            dimension_names=None,
            fill_value=1.5,
        )
    else:
        doc = v2_doc(shape=shape, chunks=chunks, fill_value=1.5)
    a = open_doc(doc, "zarr.json" if fmt == 3 else ".zarray")
    assert a.shape == tuple(shape)
    out = a[...]
    assert np.shape(out) == tuple(shape)
    if not shape:
        assert out == 1.5


# --------------------------------------------------------------------------- must_understand
@pytest.mark.parametrize(
    "make", [v3_doc, lambda **kw: {"zarr_format": 3, "node_type": "group", **kw}]
)
def test_must_understand(make: Any) -> None:
    parse_v3(make(extension={"must_understand": False, "anything": [1, 2]}))
    for value in (
        {"must_understand": True},
        {"foo": 1},
        1,
        "x",
        None,
        [],
        {"must_understand": "false"},
    ):
        with pytest.raises(MetadataError, match="extension"):
            parse_v3(make(extension=value))


def test_must_understand_refusal_through_open() -> None:
    with pytest.raises(MetadataError):
        open_doc(v3_doc(new_feature={"name": "x"}))
    a = open_doc(v3_doc(new_feature={"name": "x", "must_understand": False}))
    assert a.shape == (10, 11)


def test_storage_transformers() -> None:
    with pytest.raises(MetadataError):
        parse_v3(
            v3_doc(storage_transformers=[{"name": "chunk-manifest-json", "configuration": {}}])
        )
    with pytest.raises(MetadataError):
        parse_v3(v3_doc(storage_transformers={"name": "x"}))
    parse_v3(v3_doc(storage_transformers=[{"name": "x", "must_understand": False}]))
    assert parse_v3(v3_doc(storage_transformers=[])).to_dict()["storage_transformers"] == []


# --------------------------------------------------------------------------- data types
@pytest.mark.parametrize(
    ("name", "dtype"),
    [
        ("bool", "|b1"),
        ("int8", "|i1"),
        ("int16", "<i2"),
        ("int32", "<i4"),
        ("int64", "<i8"),
        ("uint8", "|u1"),
        ("uint16", "<u2"),
        ("uint32", "<u4"),
        ("uint64", "<u8"),
        ("float16", "<f2"),
        ("float32", "<f4"),
        ("float64", "<f8"),
        ("complex64", "<c8"),
        ("complex128", "<c16"),
    ],
)
def test_v3_data_types(name: str, dtype: str) -> None:
    dt = parse_v3_data_type(name)
    assert dt.dtype == np.dtype(dtype).newbyteorder("=")
    assert dt.v3_name == name
    assert data_type_from_user(name, 3).v3_name == name
    assert data_type_from_user(np.dtype(dtype).newbyteorder(">"), 3).v3_name == name


def test_strings_and_bytes() -> None:
    assert parse_v3_data_type("string").vlen == "string"
    assert parse_v3_data_type("variable_length_bytes").vlen == "bytes"
    assert parse_v2_dtype("|O", [{"id": "vlen-utf8"}]).vlen == "string"
    assert parse_v2_dtype("|O", [{"id": "vlen-bytes"}]).vlen == "bytes"
    with pytest.raises(UnknownDataTypeError):
        parse_v2_dtype("|O", None)
    with pytest.raises(UnknownDataTypeError):
        parse_v2_dtype("|O", [{"id": "json2"}])
    meta = parse_zarray(v2_doc(dtype="|O", filters=[{"id": "vlen-utf8"}], fill_value=""))
    assert meta.to_dict()["dtype"] == "|O" and meta.to_dict()["filters"] == [{"id": "vlen-utf8"}]
    meta = parse_v3(
        v3_doc(
            data_type="string", fill_value="", codecs=[{"name": "vlen-utf8", "configuration": {}}]
        )
    )
    assert meta.to_dict()["data_type"] == "string"
    b = parse_v3(
        v3_doc(
            data_type="variable_length_bytes",
            fill_value="YWI=",
            codecs=[{"name": "vlen-bytes", "configuration": {}}],
        )
    )
    assert b.fill_value == b"ab" and b.to_dict()["fill_value"] == "YWI="
    with pytest.raises(MetadataError):  # a string array cannot go through the bytes codec
        parse_v3(v3_doc(data_type="string", fill_value="", codecs=[BYTES]))


@pytest.mark.parametrize(
    "name", ["float8", "int128", "r", "string8", "STRING", "Float64", "", "bfloat17"]
)
def test_unknown_v3_data_type(name: str) -> None:
    with pytest.raises(UnknownDataTypeError, match="data_type"):
        open_doc(v3_doc(data_type=name))


@pytest.mark.parametrize(
    "name", ["x", 4, None, "<M8[fortnight]", "|S0", "<U0", "|V0", "<i4" + " " * 100, "O8"]
)
def test_unsupported_v2_dtypes(name: Any) -> None:
    """Unknown, empty and malformed dtypes are refused, not misread."""
    with pytest.raises(UnknownDataTypeError):
        open_doc(v2_doc(dtype=name), ".zarray")


def test_v3_data_type_extension_object() -> None:
    with pytest.raises(UnknownDataTypeError):
        parse_v3(v3_doc(data_type={"name": "example.float4", "configuration": {"bits": 4}}))


# --------------------------------------------------------------------------- hostile documents
@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"1",
        b'"zarr"',
        b"\xff\xfe{}",
        b"[" * 100_000,
        b'{"zarr_format": 3, "node_type": "array"',
        b"\x00" * 10,
    ],
)
@pytest.mark.parametrize("key", ["zarr.json", ".zarray", ".zgroup", ".zattrs"])
def test_invalid_json(raw: bytes, key: str) -> None:
    docs: dict[str, Any] = {key: raw}
    if key == ".zattrs":
        docs[".zarray"] = v2_doc()
    with pytest.raises(MetadataError):
        zf.open(store=store_with(docs), mode="r")


def test_load_json_requires_an_object() -> None:
    with pytest.raises(MetadataError, match="JSON object"):
        load_json(b"[1, 2]", "zarr.json")
    assert load_json(b'{"a": 1}', "k") == {"a": 1}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("shape", [-1, 5]),
        ("shape", [2**63, 1]),
        ("shape", [2**62 + 1]),
        ("shape", [1.5, 2]),
        ("shape", [True, 2]),
        ("shape", "10"),
        ("shape", None),
        ("shape", {"0": 1}),
        ("shape", [None]),
        ("shape", [float("nan"), 2]),
        ("shape", [1] * 65),
    ],
)
@pytest.mark.parametrize("fmt", [2, 3])
def test_bad_shapes(field: str, value: Any, fmt: int) -> None:
    doc = v3_doc(**{field: value}, dimension_names=None) if fmt == 3 else v2_doc(**{field: value})
    raw = json.dumps(doc).encode()  # NaN is written bare, as a hostile writer would
    with pytest.raises(MetadataError):
        open_doc(raw, "zarr.json" if fmt == 3 else ".zarray")


@pytest.mark.parametrize(
    "chunks", [[0, 5], [-1, 5], [4], [4, 5, 6], [4.0, 5], [], "4", None, [2**62 + 1, 1]]
)
@pytest.mark.parametrize("fmt", [2, 3])
def test_bad_chunks(chunks: Any, fmt: int) -> None:
    if fmt == 3:
        doc = v3_doc(chunk_grid={"name": "regular", "configuration": {"chunk_shape": chunks}})
    else:
        doc = v2_doc(chunks=chunks)
    with pytest.raises(MetadataError):
        open_doc(doc, "zarr.json" if fmt == 3 else ".zarray")


def test_huge_shape_is_metadata_not_allocation() -> None:
    """A huge but valid shape opens (nothing is allocated); reading a bit of it works."""
    a = open_doc(
        v3_doc(
            shape=[2**62, 2**40],
            chunk_grid={"name": "regular", "configuration": {"chunk_shape": [1000, 1000]}},
        )
    )
    assert a.shape == (2**62, 2**40)
    assert a.nchunks == math.ceil(2**62 / 1000) * math.ceil(2**40 / 1000)
    assert_bits(a[2**62 - 2 :, :2], np.zeros((2, 2)))


@pytest.mark.parametrize("chunk", [[2**20, 2**20], [2**31, 2**3]])
@pytest.mark.parametrize("fmt", [2, 3])
def test_chunk_byte_size_over_the_limit(chunk: list[int], fmt: int) -> None:
    assert math.prod(chunk) * 8 > MAX_CHUNK_BYTES
    shape = [2**40, 2**40]
    doc = (
        v3_doc(shape=shape, chunk_grid={"name": "regular", "configuration": {"chunk_shape": chunk}})
        if fmt == 3
        else v2_doc(shape=shape, chunks=chunk)
    )
    with pytest.raises(MetadataError, match="bytes per chunk"):
        open_doc(doc, "zarr.json" if fmt == 3 else ".zarray")
    with pytest.raises(MetadataError):
        zf.create(shape=shape, chunks=chunk, dtype="float64", zarr_format=fmt)


@pytest.mark.parametrize("name", ["zstandard", "blosc2", "gzip2", "my.codec"])
def test_unknown_v3_codec_names_it(name: str) -> None:
    with pytest.raises(UnknownCodecError, match=name.replace(".", r"\.")):
        open_doc(v3_doc(codecs=[BYTES, {"name": name, "configuration": {}}]))


@pytest.mark.parametrize("where", ["compressor", "filters"])
@pytest.mark.parametrize("codec_id", ["zfpy", "blosc2", "jpeg2k", "pcodec"])
def test_unknown_v2_codec_id_names_it(codec_id: str, where: str) -> None:
    value: Any = {"id": codec_id, "level": 1}
    doc = v2_doc(**{where: [value] if where == "filters" else value})
    with pytest.raises(UnknownCodecError, match=codec_id):
        open_doc(doc, ".zarray")


def test_unknown_codec_inside_a_shard_names_it() -> None:
    doc = _sharded_doc(codecs=[BYTES, {"name": "lzma", "configuration": {}}])
    with pytest.raises(UnknownCodecError, match="lzma"):
        open_doc(doc)


# "Wrong types everywhere": every field and every nested value of a valid document is
# replaced by hostile values, and every path is deleted.  Whatever happens, only the
# metadata errors may come out (many replacements are errors, a few are valid).
HOSTILE = [
    None,
    True,
    0,
    -1,
    1.5,
    2**70,
    "",
    "x",
    "NaN",
    [],
    [None],
    [1, "a"],
    {},
    {"a": 1},
    [-1, 5],
    [0, 0],
    [2**63, 1],
    [[1]],
    "0xZZ",
    {"name": 1},
    {"name": "x"},
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Any:
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield (*prefix, k)
        yield from _paths(v, (*prefix, k))


def _mutations(doc: dict[str, Any]) -> Any:
    for path in _paths(doc):
        for value in HOSTILE:
            d = copy.deepcopy(doc)
            target = d
            for k in path[:-1]:
                target = target[k]
            target[path[-1]] = value
            yield d
        d = copy.deepcopy(doc)
        target = d
        for k in path[:-1]:
            target = target[k]
        del target[path[-1]]
        yield d


HOSTILE_BASES = {
    "v3": ("zarr.json", v3_doc()),
    "v3-sharded": (
        "zarr.json",
        v3_doc(
            chunk_grid={"name": "regular", "configuration": {"chunk_shape": [4, 10]}},
            codecs=[
                {"name": "transpose", "configuration": {"order": [1, 0]}},
                *_shard(
                    chunk_shape=[5, 2],
                    codecs=[
                        BYTES,
                        {
                            "name": "blosc",
                            "configuration": {
                                "cname": "lz4",
                                "clevel": 5,
                                "shuffle": "shuffle",
                                "typesize": 8,
                                "blocksize": 0,
                            },
                        },
                    ],
                ),
            ],
        ),
    ),
    "v3-string": (
        "zarr.json",
        v3_doc(
            data_type="string", fill_value="", codecs=[{"name": "vlen-utf8", "configuration": {}}]
        ),
    ),
    "v2": (".zarray", v2_doc(filters=[{"id": "delta", "dtype": "<f8"}])),
    "v2-blosc": (
        ".zarray",
        v2_doc(
            compressor={"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
            filters=[
                {
                    "id": "fixedscaleoffset",
                    "offset": 1,
                    "scale": 2,
                    "dtype": "<f8",
                    "astype": "<i4",
                },
                {"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"},
            ],
        ),
    ),
    "v2-string": (".zarray", v2_doc(dtype="|O", filters=[{"id": "vlen-utf8"}], fill_value="")),
    "v3-group": (
        "zarr.json",
        {
            "zarr_format": 3,
            "node_type": "group",
            "attributes": {"a": 1},
            "consolidated_metadata": {
                "kind": "inline",
                "must_understand": False,
                "metadata": {"x": v3_doc()},
            },
        },
    ),
}


@pytest.mark.parametrize("base", sorted(HOSTILE_BASES))
def test_wrong_types_everywhere(base: str) -> None:
    key, doc = HOSTILE_BASES[base]
    n = 0
    for bad in _mutations(doc):
        n += 1
        store = store_with({key: json.dumps(bad).encode()})
        try:
            node = zf.open(store=store, mode="r")
            if isinstance(node, zf.Group):
                for _name, member in node.members(max_depth=None):
                    member.metadata  # noqa: B018
            else:
                node[:1]
        except ALLOWED:
            pass
        except zf.errors.NodeNotFoundError:
            pass  # e.g. zarr_format/node_type deleted from a group: nothing recognisable
        except Exception as exc:  # pragma: no cover - the failure report
            pytest.fail(f"{type(exc).__name__}: {exc}\nfor {json.dumps(bad)[:400]}")
    assert n > 100


def test_v2_attributes_must_be_an_object() -> None:
    with pytest.raises(MetadataError):
        zf.open(store=store_with({".zarray": v2_doc(), ".zattrs": [1, 2]}), mode="r")
    with pytest.raises(MetadataError):
        zf.open(store=store_with({"zarr.json": v3_doc(attributes=[1])}), mode="r")


@pytest.mark.parametrize(
    "doc",
    [
        {"zarr_format": 2},  # .zarray lacking everything
        v2_doc(zarr_format=3),
        v2_doc(zarr_format="2"),
        v2_doc(zarr_format=None),
    ],
)
def test_v2_wrong_format_or_missing_fields(doc: dict[str, Any]) -> None:
    with pytest.raises(MetadataError):
        open_doc(doc, ".zarray")


@pytest.mark.parametrize(
    "doc",
    [
        {"zarr_format": 3},
        {"zarr_format": 3, "node_type": "folder"},
        {"node_type": "array"},
        v3_doc(zarr_format=2),
        v3_doc(chunk_grid={"name": "rectilinear", "configuration": {}}),
        v3_doc(chunk_grid={"name": "regular"}),
        v3_doc(codecs=[]),
        v3_doc(codecs=[{"name": "zstd", "configuration": {"level": 1}}]),  # no array->bytes codec
        v3_doc(codecs=[BYTES, BYTES]),
        v3_doc(dimension_names=["a"]),
        v3_doc(dimension_names=[1, 2]),
        v3_doc(dimension_names="ab"),
    ],
)
def test_v3_wrong_format_or_structure(doc: dict[str, Any]) -> None:
    with pytest.raises(ALLOWED):
        parse_v3(doc)


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    "doc",
    [
        v3_doc(),
        v3_doc(
            fill_value="NaN",
            data_type="float32",
            dimension_names=[None, "x"],
            attributes={"a": [1]},
        ),
        v3_doc(fill_value=["0x7fc00001", -0.0], data_type="complex64"),
        v3_doc(chunk_key_encoding={"name": "v2", "configuration": {"separator": "/"}}),
        _sharded_doc(),
    ],
)
def test_v3_documents_round_trip(doc: dict[str, Any]) -> None:
    meta = parse_v3(doc)
    assert isinstance(meta, ArrayMetadataV3)
    out = strict_loads(meta.to_documents()["zarr.json"])
    assert out == doc
    assert parse_v3(out).to_dict() == out


@pytest.mark.parametrize(
    "doc",
    [
        v2_doc(),
        v2_doc(order="F", dtype=">i2", fill_value=-5, compressor=None),
        v2_doc(fill_value="NaN", filters=[{"id": "delta", "dtype": "<f8", "astype": "<f8"}]),
        v2_doc(fill_value=None, dimension_separator="/"),
    ],
)
def test_v2_documents_round_trip(doc: dict[str, Any]) -> None:
    meta = parse_zarray(doc, {"attr": 1})
    assert isinstance(meta, ArrayMetadataV2)
    docs = meta.to_documents()
    assert strict_loads(docs[".zarray"]) == {**doc, "zarr_format": 2}
    assert strict_loads(docs[".zattrs"]) == {"attr": 1}


def test_group_documents_round_trip() -> None:
    doc = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {"x": 2**53 + 1},
        "consolidated_metadata": {
            "kind": "inline",
            "must_understand": False,
            "metadata": {"a": v3_doc()},
        },
    }
    meta = parse_v3(doc)
    assert isinstance(meta, GroupMetadataV3)
    assert strict_loads(meta.to_documents()["zarr.json"]) == doc


def assert_bits(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    assert got.dtype.kind == want.dtype.kind or want.dtype.kind == "f"
    g = np.ascontiguousarray(got).astype(got.dtype.newbyteorder("="))
    w = np.ascontiguousarray(want).astype(g.dtype)
    assert g.tobytes() == w.tobytes()


# --------------------------------------------------------------------------- user fill values
@pytest.mark.parametrize(
    ("value", "dtype", "expected"),
    [
        ("NaN", "float32", [0x7FC00000]),
        ("nan", "float32", [0x7FC00000]),
        ("0x7fc00001", "float32", [0x7FC00001]),
        ("-Infinity", "float16", [0xFC00]),
        (-0.0, "float64", [0x8000000000000000]),
        ([1.0, "NaN"], "complex64", [0x3F800000, 0x7FC00000]),
        ((float("nan"), -0.0), "complex128", [0x7FF8000000000000, 0x8000000000000000]),
        (complex(0, 1), "complex64", [0, 0x3F800000]),
        (2**64 - 1, "uint64", [2**64 - 1]),
        (-(2**63), "int64", [2**63]),
        (3.0, "int8", [3]),
    ],
)
def test_fill_value_from_user(value: Any, dtype: str, expected: list[int]) -> None:
    assert bits(fill_value_from_user(value, v3(dtype)), dtype) == expected


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        ("x", "int32"),
        (1.5, "int32"),
        (float("inf"), "int64"),
        (2**64, "uint64"),
        (-1, "uint8"),
        (1e300, "float32"),
        (complex(1, 2), "float64"),
        ([1, 2], "float64"),
        ([1, 2, 3], "complex64"),
        (b"ab", "float64"),
        ("0xZZ", "float32"),
        (1, "string"),
        ("a", "variable_length_bytes"),
    ],
)
def test_bad_fill_value_from_user(value: Any, dtype: str) -> None:
    with pytest.raises(MetadataError):
        fill_value_from_user(value, v3(dtype))
    with pytest.raises(MetadataError):
        zf.create(shape=(1,), dtype=v3(dtype), fill_value=value)
