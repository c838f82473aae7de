"""Interop points that do not fit the case matrix: NaN payload fills, metadata written by
older implementations, read-modify-write of the other library's chunks, fancy selections."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore

import zarrfast as zf
from tests.test_interop._support import (
    PAYLOAD_NAN,
    ZARR_WARNINGS,
    assert_bits_equal,
    assert_same_scalar,
    float_with_bits,
    sample,
)

pytestmark = [pytest.mark.interop, *ZARR_WARNINGS]


def _patch(path: str, name: str, fn: Any) -> None:
    p = os.path.join(path, name)
    with open(p) as f:
        doc = json.load(f)
    fn(doc)
    with open(p, "w") as f:
        json.dump(doc, f)


def _open_zarr(path: str, mode: str = "r") -> Any:
    return zarr.open_array(LocalStore(path, read_only=mode == "r"), mode=mode)


# --------------------------------------------------------------------------- NaN payloads
PAYLOADS = [
    ("float16", "0x7e01"),
    ("float32", "0x7fc00001"),
    ("float64", "0x7ff8000000000001"),
    ("float32", "0xffc00000"),
    ("float64", "0x7ff0000000000001"),
]  # last: signalling


@pytest.mark.parametrize(("dtype", "hexbits"), PAYLOADS)
def test_nan_payload_fill_zarr_to_zarrfast(dtype: str, hexbits: str, tmp_path: Path) -> None:
    """A v3 hex fill keeps its payload: in the fill value and in every missing chunk."""
    path = str(tmp_path / "a")
    zarr.create_array(
        LocalStore(path),
        shape=(7,),
        chunks=(3,),
        dtype=dtype,
        compressors=None,
        fill_value=float("nan"),
    )
    _patch(path, "zarr.json", lambda d: d.update(fill_value=hexbits))
    z = _open_zarr(path, "r+")
    z[:2] = np.array([1, 2], dtype=dtype)  # chunk 0 partly written: overhang is the fill
    fill = float_with_bits(dtype, int(hexbits, 16))
    want = np.full(7, fill, dtype=dtype)
    want[:2] = [1, 2]
    a = zf.open(path=path, mode="r")
    assert_same_scalar(a.fill_value, fill, dtype)
    if dtype == "float16":
        # zarr-python 3.1.6 drops float16 payloads when it parses the hex fill (0x7e01 ->
        # 0x7e00), so the overhang it wrote into chunk 0 is canonical; chunks 1, 2 are
        # missing and must carry the payload.
        assert_bits_equal(a[3:], want[3:])
        return
    assert_bits_equal(z[...], want)  # the oracle agrees with itself
    assert_bits_equal(a[...], want)


@pytest.mark.parametrize(("dtype", "hexbits"), PAYLOADS)
def test_nan_payload_fill_zarrfast_to_zarr(dtype: str, hexbits: str, tmp_path: Path) -> None:
    path = str(tmp_path / "a")
    fill = float_with_bits(dtype, int(hexbits, 16))
    a = zf.create(shape=(7,), chunks=(3,), dtype=dtype, compressor=None, fill_value=fill, path=path)
    a[:2] = np.array([1, 2], dtype=dtype)
    with open(os.path.join(path, "zarr.json")) as f:
        assert json.load(f)["fill_value"] == hexbits
    want = np.full(7, fill, dtype=dtype)
    want[:2] = [1, 2]
    # the written chunk's overhang carries the payload too
    with open(os.path.join(path, "c", "0"), "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.dtype(dtype).newbyteorder("<"))
    assert_bits_equal(raw[2:], np.full(1, fill, dtype=dtype))
    assert_bits_equal(zf.open(path=path, mode="r")[...], want)
    if dtype == "float16":
        return  # zarr-python 3.1.6 parses float16 hex fills without the payload
    z = _open_zarr(path)
    assert_same_scalar(z.fill_value, fill, dtype)
    assert_bits_equal(z[...], want)


def test_complex_fill_with_payload_parts(tmp_path: Path) -> None:
    path = str(tmp_path / "a")
    zarr.create_array(
        LocalStore(path), shape=(3,), chunks=(2,), dtype="complex64", compressors=None, fill_value=0
    )
    _patch(path, "zarr.json", lambda d: d.update(fill_value=["0x7fc00001", "-Infinity"]))
    a = zf.open(path=path, mode="r")
    fv = np.complex64(a.fill_value)
    assert int(np.float32(fv.real).view(np.uint32)) == PAYLOAD_NAN[4]
    assert fv.imag == -np.inf
    got = a[...]
    assert_bits_equal(got, _open_zarr(path)[...])
    # and back: zarrfast serialises each part on its own
    b = zf.create(
        shape=(3,),
        chunks=(2,),
        dtype="complex64",
        fill_value=fv,
        compressor=None,
        path=str(tmp_path / "b"),
    )
    with open(os.path.join(str(tmp_path / "b"), "zarr.json")) as f:
        assert json.load(f)["fill_value"] == ["0x7fc00001", "-Infinity"]
    assert_bits_equal(_open_zarr(str(tmp_path / "b"))[...], got)
    del b


def test_canonical_nan_is_written_as_string(tmp_path: Path) -> None:
    zf.create(shape=(2,), dtype="float32", fill_value=float("nan"), path=str(tmp_path / "a"))
    with open(tmp_path / "a" / "zarr.json") as f:
        assert json.load(f)["fill_value"] == "NaN"


# --------------------------------------------------------------------------- older writers
def test_v2_without_dimension_separator(tmp_path: Path) -> None:
    """Older v2 writers omit dimension_separator; it means '.'."""
    path = str(tmp_path / "a")
    data = sample("int32", (5, 6))
    z = zarr.create_array(
        LocalStore(path),
        shape=(5, 6),
        chunks=(2, 4),
        dtype="i4",
        zarr_format=2,
        compressors=numcodecs.Zlib(level=1),
    )
    z[...] = data
    _patch(path, ".zarray", lambda d: d.pop("dimension_separator"))
    assert os.path.exists(os.path.join(path, "1.1"))
    assert_bits_equal(zf.open(path=path, mode="r")[...], data)
    a = zf.open(path=path, mode="r+")
    a[4, 5] = 7  # writes key "2.1", not "2/1"
    assert os.path.exists(os.path.join(path, "2.1"))
    data[4, 5] = 7
    assert_bits_equal(_open_zarr(path)[...], data)


def test_sharding_without_index_location(tmp_path: Path) -> None:
    """Older writers omit index_location; it means 'end'."""
    path = str(tmp_path / "a")
    data = sample("uint16", (13, 17))
    z = zarr.create_array(
        LocalStore(path), shape=data.shape, chunks=(3, 4), shards=(6, 8), dtype="u2"
    )
    z[...] = data
    _patch(path, "zarr.json", lambda d: d["codecs"][0]["configuration"].pop("index_location"))
    a = zf.open(path=path, mode="r")
    assert_bits_equal(a[...], data)
    assert_bits_equal(a[2:9, 5:16], data[2:9, 5:16])  # partial shard reads


def test_v2_blosc_with_typesize_key(tmp_path: Path) -> None:
    """numcodecs >= 0.16 may write typesize into a Blosc config."""
    path = str(tmp_path / "a")
    data = sample("float64", (6, 5))
    z = zarr.create_array(
        LocalStore(path),
        shape=data.shape,
        chunks=(4, 4),
        dtype="f8",
        zarr_format=2,
        compressors=numcodecs.Blosc(cname="zstd", clevel=3, shuffle=1),
    )
    z[...] = data
    _patch(path, ".zarray", lambda d: d["compressor"].update(typesize=8))
    assert_bits_equal(zf.open(path=path, mode="r")[...], data)


# --------------------------------------------------------------------------- r+ on the other's data
RMW_SETUPS: list[tuple[str, dict[str, Any]]] = [
    ("v3-zstd", {"zarr_format": 3, "compressors": zarr.codecs.ZstdCodec(level=3, checksum=True)}),
    ("v3-blosc", {"zarr_format": 3, "compressors": zarr.codecs.BloscCodec(cname="lz4")}),
    ("v3-shards", {"zarr_format": 3, "shards": (4, 6)}),
    (
        "v3-shards-gzip",
        {"zarr_format": 3, "shards": (4, 6), "compressors": zarr.codecs.GzipCodec(level=1)},
    ),
    (
        "v2-blosc-F",
        {"zarr_format": 2, "order": "F", "compressors": numcodecs.Blosc(cname="zstd", shuffle=2)},
    ),
    (
        "v2-delta-zlib",
        {
            "zarr_format": 2,
            "filters": [numcodecs.Delta(dtype="<i8")],
            "compressors": numcodecs.Zlib(level=1),
        },
    ),
]


RMW_PARAMS = [
    pytest.param(kw, dtype, id=f"{name}-{dtype}")
    for name, kw in RMW_SETUPS
    for dtype in ("int64", "str")
    if not (dtype == "str" and "filters" in kw)  # delta is numeric
]


@pytest.mark.parametrize(("kw", "dtype"), RMW_PARAMS)
def test_read_modify_write_of_zarr_chunks(kw: dict[str, Any], dtype: str, tmp_path: Path) -> None:
    """zarrfast updates part of chunks zarr-python wrote; zarr-python reads the result."""
    path = str(tmp_path / "a")
    data = sample(dtype, (9, 13), seed=3)
    z = zarr.create_array(
        LocalStore(path),
        shape=data.shape,
        chunks=(2, 3),
        dtype=str if dtype == "str" else dtype,
        **kw,
    )
    z[:6] = data[:6]  # rows 6.. left missing
    want = np.array(
        _open_zarr(path)[...].tolist() if dtype == "str" else _open_zarr(path)[...],
        dtype=object if dtype == "str" else dtype,
    )
    a = zf.open(path=path, mode="r+")
    patch = sample(dtype, (5, 7), seed=9)
    a[3:8, 2:9] = patch
    want[3:8, 2:9] = patch
    a.oindex[[0, 8], [12]] = patch[:2, :1]
    want[[0, 8], 12] = patch[:2, 0]
    got = _open_zarr(path)[...]
    if dtype == "str":
        got = np.asarray(got.tolist(), dtype=object)
    assert_bits_equal(got, want)
    assert_bits_equal(zf.open(path=path, mode="r")[...], want)


@pytest.mark.parametrize("fmt", [2, 3])
def test_selections_agree_with_zarr(fmt: int, tmp_path: Path) -> None:
    path = str(tmp_path / "a")
    data = sample("float32", (11, 9, 4), seed=5)
    kw: dict[str, Any] = {"shards": (4, 6, 4)} if fmt == 3 else {}
    z = zarr.create_array(
        LocalStore(path), shape=data.shape, chunks=(2, 3, 2), dtype="f4", zarr_format=fmt, **kw
    )
    z[...] = data
    a = zf.open(path=path, mode="r")
    z = _open_zarr(path)
    selections = [
        (slice(1, 10, 3), slice(None), 2),
        (Ellipsis, 1),
        (5,),
        (slice(2, 3), slice(8, 9), slice(None)),
    ]
    for sel in selections:
        assert_bits_equal(a[sel], z[sel])
    for sel in [([1, 5, 10], slice(None, None, 2), [0, 3]), ([0], [8, 2, 2], slice(1, 3))]:
        assert_bits_equal(a.oindex[sel], z.oindex[sel])
    for sel in [([1, 5, 10], [0, 8, 3], [3, 3, 0]), (np.array([[0, 10], [3, 3]]), 2, 1)]:
        assert_bits_equal(a.vindex[sel], z.vindex[sel])
    mask = data > 0
    assert_bits_equal(a.vindex[mask], z.vindex[mask])
    # blocks count stored objects: shards when sharded, as in zarr-python
    assert_bits_equal(a.blocks[1, 1, 0], z.blocks[1, 1, 0])
    assert_bits_equal(a.blocks[-1:], z.blocks[-1:])
    assert_bits_equal(a.blocks[1:2, 0], z.blocks[1:2, 0])


def test_default_codecs_are_documented(tmp_path: Path) -> None:
    """Each library's defaults (the only codec-config difference the matrix tolerates)."""
    zf.create(shape=(4,), dtype="f8", path=str(tmp_path / "ours"))
    zarr.create_array(LocalStore(str(tmp_path / "theirs")), shape=(4,), dtype="f8")
    with open(tmp_path / "ours" / "zarr.json") as f:
        ours = json.load(f)["codecs"]
    with open(tmp_path / "theirs" / "zarr.json") as f:
        theirs = json.load(f)["codecs"]
    assert ours == [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 1, "checksum": False}},
    ]
    assert theirs == [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 0, "checksum": False}},
    ]
