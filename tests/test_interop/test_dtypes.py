"""Fixed-size non-numeric data types against zarr-python 3 (and tensorstore for bfloat16/float8).

Fixed-length unicode and bytes, raw bytes, datetime64/timedelta64 in several units with NaT,
and structured records, in Zarr v2 and v3 (sharded and not): what zarr-python writes zarrfast
reads bit for bit, what zarrfast writes zarr-python reads bit for bit, and both libraries
write the same ``data_type``/``dtype``, ``fill_value`` and array->bytes codec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import zarrfast as zf
from tests.test_interop._support import ZARR_WARNINGS
from zarrfast.errors import EncodeError, MetadataError, UnknownDataTypeError

pytestmark = [pytest.mark.interop, *ZARR_WARNINGS]

SHAPE = (7, 5)
CHUNKS = (3, 2)
STRUCT = [("a", "<i4"), ("b", "<f8"), ("c", "|S3")]


def sample(dtype: Any, seed: int = 0) -> np.ndarray:
    dt = np.dtype(dtype)
    n = int(np.prod(SHAPE))
    rng = np.random.default_rng(seed)
    if dt.kind == "U":
        words = ["", "a", "héllo", "Привет", "🎉x", "tab\t", "zzzzzzzz"]
        width = dt.itemsize // 4
        flat = np.array([words[(i + seed) % len(words)][:width] for i in range(n)], dtype=dt)
    elif dt.kind == "S":
        words = [b"", b"a", b"\xff\xfe", b"ab\x00c", b"xyzxyz", b"q"]
        flat = np.array([words[(i + seed) % len(words)][: dt.itemsize] for i in range(n)], dtype=dt)
    elif dt.kind in "Mm":
        ints = rng.integers(-(10**9), 10**9, n)
        ints[::4] = np.iinfo("i8").min  # NaT
        flat = ints.astype("i8").view(dt.newbyteorder("=")).astype(dt)
    elif dt.kind == "V" and dt.fields is None:
        flat = np.frombuffer(rng.bytes(n * dt.itemsize), dtype=dt).copy()
    else:  # structured
        flat = np.zeros(n, dtype=dt)
        info = np.iinfo(dt["a"])
        flat["a"] = rng.integers(info.min, info.max, n)
        if dt["b"].kind == "f":
            flat["b"] = rng.standard_normal(n)
            flat["b"][1] = np.nan
        else:
            flat["b"] = rng.integers(0, 2**63, n)
        if "c" in dt.names:
            flat["c"] = [b"abc", b"", b"z"] * (n // 3) + [b"q"] * (n % 3)
    return flat.reshape(SHAPE)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.itemsize != b.dtype.itemsize:
        return False
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b.astype(a.dtype)).tobytes()


# (dtype, formats, explicit fill value as each library is given it)
CASES: list[tuple[str, Any, tuple[int, ...], Any]] = [
    ("U8", "<U8", (2, 3), "héllo"),
    ("U3-big", ">U3", (2,), "ab"),
    ("S6", "|S6", (2, 3), b"ab"),
    ("M8ns", "<M8[ns]", (2, 3), np.datetime64("2020-01-01T00:00:00.000000001")),
    ("M8-10s", "<M8[10s]", (2, 3), np.datetime64("NaT")),
    ("M8D-big", ">M8[D]", (2,), np.datetime64("1999-12-31")),
    ("m8us", "<m8[us]", (2, 3), np.timedelta64(-5, "us")),
    ("m8D", "<m8[D]", (2, 3), np.timedelta64("NaT")),
    ("struct", STRUCT, (2, 3), (1, 2.5, b"xy")),
    ("struct-big", [("a", ">i2"), ("b", "<u8")], (2,), (-3, 7)),
    ("V7", "|V7", (2, 3), b"\x01\x02\x03\x04\x05\x06\x07"),
]
PARAMS = [
    pytest.param(dtype, fmt, fill, id=f"{name}-v{fmt}")
    for name, dtype, fmts, fill in CASES
    for fmt in fmts
]


def _zarr_create(path: Path, dtype: Any, fmt: int, fill: Any, shards: bool = False) -> Any:
    kw: dict[str, Any] = {}
    if fill is not None:
        kw["fill_value"] = fill
    if shards:
        kw["shards"] = (6, 4)
    return zarr.create_array(
        str(path), shape=SHAPE, chunks=CHUNKS, dtype=dtype, zarr_format=fmt, compressors=None, **kw
    )


def _zf_create(path: Path, dtype: Any, fmt: int, fill: Any, shards: bool = False) -> Any:
    kw: dict[str, Any] = {}
    if fill is not None:
        kw["fill_value"] = fill
    if shards:
        kw["shards"] = (6, 4)
    return zf.create(
        shape=SHAPE,
        chunks=CHUNKS,
        dtype=dtype,
        zarr_format=fmt,
        compressor=None,
        path=str(path),
        **kw,
    )


def _doc(path: Path, fmt: int) -> dict[str, Any]:
    return json.loads((path / ("zarr.json" if fmt == 3 else ".zarray")).read_text())


@pytest.mark.parametrize(("dtype", "fmt", "fill"), PARAMS)
@pytest.mark.parametrize("fill_kind", ["default", "explicit"])
def test_zarr_python_writes_zarrfast_reads(
    tmp_path: Path, dtype: Any, fmt: int, fill: Any, fill_kind: str
) -> None:
    data = sample(dtype)
    z = _zarr_create(tmp_path / "a", dtype, fmt, fill if fill_kind == "explicit" else None)
    z[:5, :3] = data[:5, :3]  # leaves chunks missing: they read as the fill value
    a = zf.open(path=str(tmp_path / "a"), mode="r")
    expected = z[...]
    assert a.dtype.itemsize == expected.dtype.itemsize
    assert same_bits(a[...], expected)
    assert same_bits(a[1:6, 1:4], expected[1:6, 1:4])
    assert same_bits(
        np.asarray(a.fill_value, dtype=a.dtype), np.asarray(z.fill_value, dtype=a.dtype)
    )
    if fmt == 2:
        assert a.dtype == np.dtype(dtype)


@pytest.mark.parametrize(("dtype", "fmt", "fill"), PARAMS)
@pytest.mark.parametrize("fill_kind", ["default", "explicit"])
def test_zarrfast_writes_zarr_python_reads_and_the_metadata_matches(
    tmp_path: Path, dtype: Any, fmt: int, fill: Any, fill_kind: str
) -> None:
    data = sample(dtype, seed=1)
    value = fill if fill_kind == "explicit" else None
    a = _zf_create(tmp_path / "ours", dtype, fmt, value)
    a[:5, :3] = data[:5, :3]
    a[6, 4] = data[6, 4]
    z = zarr.open_array(str(tmp_path / "ours"), mode="r")
    assert same_bits(z[...], a[...])
    assert same_bits(z[:5, :3], data[:5, :3])
    assert same_bits(a[:5, :3], data[:5, :3])
    if fmt == 2:
        assert z.dtype == np.dtype(dtype)
    theirs = _zarr_create(tmp_path / "theirs", dtype, fmt, value)
    ours_doc, their_doc = _doc(tmp_path / "ours", fmt), _doc(tmp_path / "theirs", fmt)
    keys = ["data_type", "fill_value", "codecs"] if fmt == 3 else ["dtype", "fill_value"]
    if fill_kind == "default" and np.dtype(dtype).fields is not None:
        keys.remove("fill_value")  # zarr-python's default struct fill puts b"0" in S fields
    for key in keys:
        assert ours_doc[key] == their_doc[key], key
    del theirs


@pytest.mark.parametrize(
    ("dtype", "fill"),
    [(d, f) for _, d, fmts, f in CASES if 3 in fmts and not str(d).startswith(">")],
)
@pytest.mark.parametrize("writer", ["zarr", "zarrfast"])
def test_sharded_both_ways(tmp_path: Path, dtype: Any, fill: Any, writer: str) -> None:
    data = sample(dtype, seed=2)
    path = tmp_path / "s"
    if np.dtype(dtype).kind == "V":
        # zarr-python 3.1's sharding codec fails on void fill values ("unhashable type:
        # 'writeable void-scalar'") either way; zarrfast writes and reads them itself.
        w = _zf_create(path, dtype, 3, fill, shards=True)
        w[1:7, :] = data[1:7, :]
        r = zf.open(path=str(path), mode="r")
        assert same_bits(r[1:7, :], data[1:7, :])
        assert same_bits(r[0, :], np.array([fill] * 5, dtype=np.dtype(dtype)))
        return
    if writer == "zarr":
        w = _zarr_create(path, dtype, 3, fill, shards=True)
    else:
        w = _zf_create(path, dtype, 3, fill, shards=True)
    w[1:7, :] = data[1:7, :]
    w[0, 2] = data[0, 2]
    if writer == "zarr":
        r = zf.open(path=str(path), mode="r")
        assert r.shards == (6, 4)
    else:
        r = zarr.open_array(str(path), mode="r")
    assert same_bits(r[1:7, :], data[1:7, :])
    assert same_bits(r[...], w[...])


@pytest.mark.parametrize("dtype", ["<U4", "|S4", "<M8[ms]", STRUCT, "|V3"])
def test_native_engine_runs_fixed_size_types(tmp_path: Path, dtype: Any) -> None:
    from zarrfast._native import _codecs
    from zarrfast._native.engine import build_plan

    a = _zf_create(tmp_path / "n", dtype, 3, None)
    assert build_plan(a.metadata, dict(_codecs.KINDS)) is not None
    assert type(a._engine).__name__ == "NativeEngine"


def test_a_string_longer_than_its_fixed_length_is_refused(tmp_path: Path) -> None:
    a = _zf_create(tmp_path / "t", "<U3", 3, None)
    # numpy truncates silently on assignment; zarrfast refuses rather than lose data.
    with pytest.raises(EncodeError, match="longer"):
        a[0, 0] = "abcdef"
    a[0, 0] = "abc"
    assert a[0, 0] == "abc"
    with pytest.raises(MetadataError):
        _zf_create(tmp_path / "u", "<U3", 3, "abcd")


@pytest.mark.parametrize(
    "data_type",
    [
        {"name": "numpy.datetime64", "configuration": {"unit": "fortnight", "scale_factor": 1}},
        {"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 0}},
        {"name": "structured", "configuration": {"fields": [["a", "int32"], ["a", "int8"]]}},
        {"name": "structured", "configuration": {"fields": [["a"]]}},
        {"name": "structured", "configuration": {"fields": []}},
        {"name": "structured", "configuration": {"fields": [["s", "string"]]}},
        {"name": "fixed_length_utf32", "configuration": {"length_bytes": 6}},
        {"name": "null_terminated_bytes", "configuration": {"length_bytes": 2**40}},
        {"name": "raw_bytes", "configuration": {}},
    ],
)
def test_malformed_v3_data_types_get_a_clear_error(tmp_path: Path, data_type: Any) -> None:
    doc = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [2],
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "bytes"}],
    }
    (tmp_path / "zarr.json").write_text(json.dumps(doc))
    with pytest.raises((MetadataError, UnknownDataTypeError)) as info:
        zf.open(path=str(tmp_path), mode="r")
    assert str(data_type["name"]) in str(info.value) or "field" in str(info.value)


@pytest.mark.parametrize(
    "dtype",
    [[["a", "<i4"], ["a", "<i4"]], [["a"]], [], [["a", "<i4", [0]]], "<M8[fortnight]", "|O8"],
)
def test_malformed_v2_dtypes_get_a_clear_error(tmp_path: Path, dtype: Any) -> None:
    doc = {
        "zarr_format": 2,
        "shape": [2],
        "chunks": [2],
        "dtype": dtype,
        "compressor": None,
        "fill_value": None,
        "order": "C",
        "filters": None,
    }
    (tmp_path / ".zarray").write_text(json.dumps(doc))
    with pytest.raises((MetadataError, UnknownDataTypeError)):
        zf.open(path=str(tmp_path), mode="r")


# --------------------------------------------------------------------------- ml_dtypes
ML = ["bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"]


@pytest.mark.parametrize("name", ML)
@pytest.mark.parametrize("writer", ["tensorstore", "zarrfast"])
def test_bfloat16_and_float8_match_tensorstore(tmp_path: Path, name: str, writer: str) -> None:
    ts = pytest.importorskip("tensorstore")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    dt = np.dtype(getattr(ml_dtypes, name))
    data = (np.arange(35, dtype="float32").reshape(SHAPE) / 4 - 3).astype(dt)
    path = tmp_path / name
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}
    if writer == "tensorstore":
        t = ts.open(
            spec,
            create=True,
            dtype=name,
            shape=SHAPE,
            chunk_layout=ts.ChunkLayout(chunk_shape=CHUNKS),
        ).result()
        t[:5, :].write(data[:5, :]).result()
        a = zf.open(path=str(path), mode="r")
        assert a.dtype == dt
        assert same_bits(a[...], t.read().result())
    else:
        a = _zf_create(path, dt, 3, None)
        a[:5, :] = data[:5, :]
        assert _doc(path, 3)["data_type"] == name
        t = ts.open(spec).result()
        assert t.dtype.name == name
        assert same_bits(np.asarray(t.read().result()), a[...])
        assert same_bits(a[:5], data[:5])
