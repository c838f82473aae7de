"""The fixed-size non-numeric dtypes through the whole API: every indexing mode, ``out=``,
fill values, resize, append, big-endian v3 bytes, the CLI and dask (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.__main__ import main
from zarrfast.storage.memory import MemoryStore

STRUCT = np.dtype([("a", "<i4"), ("b", "<f8"), ("c", "S3")])


def _data(dtype: np.dtype[Any], shape: tuple[int, ...] = (13, 11)) -> np.ndarray:
    n = int(np.prod(shape))
    rng = np.random.default_rng(3)
    if dtype.kind == "U":
        out = np.array(["", "a", "héllo", "🎉🎉", "zz"])[rng.integers(0, 5, n)].astype(dtype)
    elif dtype.kind == "S":
        out = np.array([b"", b"a", b"\xff\x01", b"abcd"])[rng.integers(0, 4, n)].astype(dtype)
    elif dtype.kind in "Mm":
        ints = rng.integers(-(10**12), 10**12, n)
        ints[::5] = np.iinfo("i8").min
        out = ints.view(dtype.newbyteorder("=")).astype(dtype)
    elif dtype.fields is not None:
        out = np.zeros(n, dtype)
        out["a"] = rng.integers(-100, 100, n)
        out["b"] = rng.standard_normal(n)
        out["c"] = np.array([b"x", b"yy", b""])[rng.integers(0, 3, n)]
    else:
        out = np.frombuffer(rng.bytes(n * dtype.itemsize), dtype=dtype).copy()
    return out.reshape(shape)


DTYPES = [np.dtype(d) for d in ("<U5", "S4", "V3", "M8[us]", "m8[h]")] + [STRUCT]
IDS = ["U5", "S4", "V3", "M8us", "m8h", "struct"]


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.tobytes() == np.ascontiguousarray(b, a.dtype).tobytes()


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("sharded", [False, True])
def test_every_indexing_mode(dtype: np.dtype[Any], fmt: int, sharded: bool) -> None:
    if sharded and fmt == 2:
        pytest.skip("no sharding in v2")
    data = _data(dtype)
    a = zf.create(
        shape=data.shape,
        chunks=(4, 3),
        shards=(8, 6) if sharded else None,
        dtype=dtype,
        zarr_format=fmt,
        store=MemoryStore(),
    )
    a[...] = data
    assert _same(a[...], data)
    assert _same(a[2:11:3, ::-2], data[2:11:3, ::-2])
    assert _same(a[5], data[5])
    assert _same(a.oindex[[0, 7, 12], [1, 10]], data[np.ix_([0, 7, 12], [1, 10])])
    assert _same(a.vindex[[0, 7, 12], [1, 10, 3]], data[[0, 7, 12], [1, 10, 3]])
    mask = np.arange(data.size).reshape(data.shape) % 3 == 0
    assert _same(a.vindex[mask], data[mask])
    out = np.empty((4, 5), dtype=a.dtype)
    a.get_basic_selection((slice(3, 7), slice(2, 7)), out=out)
    assert _same(out, data[3:7, 2:7])
    # writes: a region, orthogonal points, a scalar broadcast
    data[1:3, 4:9] = data[0, 0]
    a[1:3, 4:9] = data[0, 0]
    data[np.ix_([4, 9], [0, 10])] = data[12, 10]
    a.oindex[[4, 9], [0, 10]] = data[12, 10]
    assert _same(a[...], data)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_fill_values_resize_and_append(dtype: np.dtype[Any]) -> None:
    data = _data(dtype, (6, 4))
    fill = data[0, 1]
    store = MemoryStore()
    a = zf.create(shape=(6, 4), chunks=(4, 4), dtype=dtype, fill_value=fill, store=store)
    a[:2] = data[:2]
    assert _same(a[5, 3], fill)
    assert a.nchunks_initialized == 1
    a[4:] = np.array([fill] * 8, dtype=dtype).reshape(2, 4)  # all-fill chunk: not stored
    assert a.nchunks_initialized == 1
    reopened = zf.open(store, mode="r")
    assert _same(np.asarray(reopened.fill_value, dtype=dtype), np.asarray(fill, dtype=dtype))
    a.resize(9, 4)
    assert _same(a[6:], np.array([fill] * 12, dtype=dtype).reshape(3, 4))
    a.append(data[2:4])
    assert a.shape == (11, 4)
    assert _same(a[9:], data[2:4])
    assert _same(a[:2], data[:2])


@pytest.mark.parametrize("dtype", ["<U3", "M8[ns]", "m8[s]"])
def test_big_endian_v3_bytes_both_ways(tmp_path: Path, dtype: str) -> None:
    import zarr

    data = _data(np.dtype(dtype), (5, 4))
    path = str(tmp_path / "be")
    a = zf.create(
        shape=(5, 4),
        chunks=(2, 4),
        dtype=dtype,
        codecs=[{"name": "bytes", "configuration": {"endian": "big"}}],
        compressor=None,
        path=path,
    )
    a[...] = data
    raw = (tmp_path / "be" / "c" / "0" / "0").read_bytes()
    assert raw == data[:2].astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    assert _same(zf.open(path=path, mode="r")[...], data)
    assert zarr.open_array(path, mode="r")[...].tobytes() == data.tobytes()


def test_cli_info_copy_verify(tmp_path: Path, capsys: Any) -> None:
    src = str(tmp_path / "src.zarr")
    data = _data(STRUCT, (20, 9))
    a = zf.create(shape=(20, 9), chunks=(6, 4), dtype=STRUCT, zarr_format=2, path=src)
    a[...] = data
    times = zf.create(shape=(30,), chunks=(7,), dtype="M8[s]", zarr_format=2, path=src + "_t")
    times[...] = _data(np.dtype("M8[s]"), (30,))
    assert main(["info", src]) == 0
    assert "('a', '<i4'), ('b', '<f8'), ('c', 'S3')" in capsys.readouterr().out
    dst = str(tmp_path / "dst.zarr")
    assert main(["copy", src, dst, "--zarr-format", "3", "--chunks", "5,5", "-q"]) == 0
    assert main(["verify", dst]) == 0
    out = zf.open(path=dst, mode="r")
    assert out.dtype == STRUCT and _same(out[...], data)
    doc = json.loads((tmp_path / "dst.zarr" / "zarr.json").read_text())
    assert doc["data_type"]["name"] == "structured"
    dst_t = str(tmp_path / "dst_t.zarr")
    assert main(["copy", src + "_t", dst_t, "--zarr-format", "3", "-q"]) == 0
    assert _same(zf.open(path=dst_t, mode="r")[...], times[...])


def test_dask_round_trip_of_datetimes(tmp_path: Path) -> None:
    pytest.importorskip("dask.array")
    from zarrfast.dask import from_dask, to_dask

    data = _data(np.dtype("M8[ms]"), (40, 30))
    a = zf.create(shape=data.shape, chunks=(10, 10), dtype=data.dtype, path=str(tmp_path / "d"))
    a[...] = data
    d = to_dask(a)
    assert d.dtype == data.dtype
    assert _same(d.compute(scheduler="threads"), data)
    b = zf.create(shape=data.shape, chunks=(10, 10), dtype=data.dtype, path=str(tmp_path / "e"))
    from_dask(d[::-1], b, compute=True)
    assert _same(b[...], data[::-1])
