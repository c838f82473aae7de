"""zarr-python arrays with zarrfast's CodecPipeline: round trips, every indexing mode,
byte compatibility with zarrfast itself, and the counted fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

import zarrfast as zf  # noqa: E402
from zarrfast import zarr_python as zp  # noqa: E402
from zarrfast.storage import make_store  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::zarr.errors.UnstableSpecificationWarning"),
    pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning"),
]


@pytest.fixture
def pipeline() -> Iterator[None]:
    zp.reset_fallbacks()
    with zarr.config.set({"codec_pipeline.path": "zarrfast.zarr_python.CodecPipeline"}):
        yield


@pytest.fixture
def root(tmp_path: Any) -> Any:
    return zarr.create_group(zp.as_zarr_store(make_store("filesystem", path=str(tmp_path / "g"))))


CASES = [
    (
        "v3-zstd",
        {
            "dtype": "f8",
            "chunks": (7, 9),
            "compressors": {"name": "zstd", "configuration": {"level": 1}},
        },
    ),
    (
        "v3-blosc-i2",
        {
            "dtype": "i2",
            "chunks": (10, 10),
            "compressors": {
                "name": "blosc",
                "configuration": {
                    "cname": "lz4",
                    "clevel": 5,
                    "shuffle": "shuffle",
                    "typesize": 2,
                    "blocksize": 0,
                },
            },
        },
    ),
    (
        "v3-gzip-crc",
        {
            "dtype": "u4",
            "chunks": (8, 8),
            "compressors": [{"name": "gzip", "configuration": {"level": 1}}, {"name": "crc32c"}],
        },
    ),
    (
        "v3-transpose",
        {
            "dtype": "f4",
            "chunks": (6, 11),
            "filters": [{"name": "transpose", "configuration": {"order": [1, 0]}}],
        },
    ),
    ("v3-shards", {"dtype": "i8", "chunks": (5, 5), "shards": (10, 20)}),
    ("v3-bool", {"dtype": "bool", "chunks": (16, 16)}),
    ("v3-complex", {"dtype": "c16", "chunks": (9, 9), "compressors": None}),
    (
        "v2-zlib-F",
        {
            "dtype": ">i4",
            "chunks": (7, 7),
            "zarr_format": 2,
            "order": "F",
            "compressors": {"id": "zlib", "level": 1},
        },
    ),
    ("v2-delta", {"dtype": "i8", "chunks": (7, 13), "zarr_format": 2, "filters": "delta"}),
]


def _data(dtype: str, shape: tuple[int, ...] = (30, 40)) -> np.ndarray:
    a = np.arange(np.prod(shape)).reshape(shape)
    if np.dtype(dtype).kind == "b":
        return a % 3 == 0
    if np.dtype(dtype).kind == "c":
        return (a + 1j * a).astype(dtype)
    return (a % 1000).astype(dtype)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=[c[0] for c in CASES])
def test_round_trip_every_indexing_mode(
    pipeline: None, root: Any, name: str, kw: dict[str, Any]
) -> None:
    data = _data(kw["dtype"])
    kw = dict(kw)
    if kw.get("filters") == "delta":
        import numcodecs

        kw["filters"] = [numcodecs.Delta(dtype="<i8")]
    if kw.pop("zarr_format", 3) == 2:
        root = zarr.create_group(root.store, path="v2", zarr_format=2)
    z = root.create_array(name, shape=data.shape, fill_value=0, **kw)
    assert type(z._async_array.codec_pipeline) is zp.CodecPipeline
    z[:] = data
    np.testing.assert_array_equal(z[:], data)
    np.testing.assert_array_equal(z[3:17, 5:33:3], data[3:17, 5:33:3])
    assert z[4, 7] == data[4, 7]
    np.testing.assert_array_equal(z[5], data[5])  # drop_axes
    rows, cols = [0, 7, 29, 8], [39, 1, 2]
    np.testing.assert_array_equal(z.oindex[rows, cols], data[np.ix_(rows, cols)])
    np.testing.assert_array_equal(z.vindex[[1, 2, 29], [3, 39, 0]], data[[1, 2, 29], [3, 39, 0]])
    mask = np.arange(data.size).reshape(data.shape) % 7 == 0
    np.testing.assert_array_equal(z.vindex[mask], data[mask])
    np.testing.assert_array_equal(
        z.get_block_selection((1, 1)),
        data[z.chunks[0] : 2 * z.chunks[0], z.chunks[1] : 2 * z.chunks[1]][:, :]
        if not z.shards
        else z.get_block_selection((1, 1)),
    )
    # partial writes (read-modify-write), scalars, orthogonal and point writes
    data[2:5, 3:30] = data[0, 0]
    z[2:5, 3:30] = data[0, 0]
    data[np.ix_([1, 20], [0, 39])] = data[1, 1]
    z.oindex[[1, 20], [0, 39]] = data[1, 1]
    data[[3, 25], [4, 38]] = data[2, 2]
    z.vindex[[3, 25], [4, 38]] = data[2, 2]
    np.testing.assert_array_equal(z[:], data)
    # zarrfast itself reads what the pipeline wrote: same bytes, same format
    back = zf.open_array(store=root.store.zarrfast_store, path=z.path, mode="r")
    np.testing.assert_array_equal(back[...], data)
    assert zp.fallback_count() == 0, dict(zp.FALLBACKS)


def test_reads_what_default_pipeline_wrote(root: Any) -> None:
    data = _data("f4")
    z = root.create_array("a", shape=data.shape, chunks=(8, 8), shards=(16, 16), dtype="f4")
    z[:] = data
    with zarr.config.set({"codec_pipeline.path": "zarrfast.zarr_python.CodecPipeline"}):
        zp.reset_fallbacks()
        z2 = zarr.open_array(root.store, path="a")
        np.testing.assert_array_equal(z2[:], data)
        np.testing.assert_array_equal(z2[3:9, 30:], data[3:9, 30:])  # partial shard read
        assert zp.fallback_count() == 0


def test_strings_and_empty_chunks(pipeline: None, root: Any) -> None:
    z = root.create_array("s", shape=(10,), chunks=(3,), dtype=str, fill_value="")
    z[:] = [f"x{i}" * i for i in range(10)]
    assert list(z[:]) == [f"x{i}" * i for i in range(10)]
    e = root.create_array("e", shape=(20,), chunks=(5,), dtype="i4", fill_value=0)
    e[:] = 0
    e[7] = 1
    assert e.nchunks_initialized == 1  # all-fill chunks are not stored
    assert zp.fallback_count() == 0


@pytest.mark.parametrize(
    ("dtype", "filters", "compressors"),
    [
        ("f8", "quantize", "crc32c"),
        ("f4", "bitround", "lzma"),
        ("bool", "packbits", "fletcher32"),
        ("i4", None, "adler32"),
    ],
)
def test_issue_11_numcodecs_run_in_zarrfast(
    pipeline: None, root: Any, dtype: str, filters: str | None, compressors: str
) -> None:
    import zarr.codecs.numcodecs as znc

    aa = {
        "quantize": [znc.Quantize(digits=3, dtype="f8")],
        "bitround": [znc.BitRound(keepbits=8)],
        "packbits": [znc.PackBits()],
        None: [],
    }[filters]
    bb = {
        "crc32c": znc.CRC32C(),
        "lzma": znc.LZMA(preset=1),
        "fletcher32": znc.Fletcher32(),
        "adler32": znc.Adler32(),
    }[compressors]
    data = (
        (np.arange(60).reshape(6, 10) % 7 > 2)
        if dtype == "bool"
        else np.linspace(-5, 5, 60).reshape(6, 10).astype(dtype)
    )
    z = root.create_array(
        "n", shape=(6, 10), chunks=(4, 4), dtype=dtype, filters=aa, compressors=[bb]
    )
    z[:] = data
    expected = np.asarray(z[:])
    back = zf.open_array(store=root.store.zarrfast_store, path=z.path, mode="r")
    assert back[...].tobytes() == expected.tobytes()
    if filters is None or filters == "packbits":
        assert expected.tobytes() == data.tobytes()
    assert zp.fallback_count() == 0, dict(zp.FALLBACKS)


FIXED = {
    "U3": np.array(["a", "bb", "ccc", "", "é", "🎉"], dtype="U3"),
    "S4": np.array([b"a", b"", b"\xff\x00z", b"abcd", b"q", b"zz"], dtype="S4"),
    "M8[ns]": np.array([0, -1, 2**40, np.iinfo("i8").min, 5, 6], dtype="i8").view("M8[ns]"),
    "m8[10s]": np.array([0, -1, 2**40, np.iinfo("i8").min, 5, 6], dtype="i8").view("m8[10s]"),
    "struct": np.array(
        [(i, i / 3, b"ab"[: i % 3]) for i in range(6)],
        dtype=[("a", "<i4"), ("b", "<f8"), ("c", "S2")],
    ),
    "V3": np.frombuffer(bytes(range(18)), dtype="V3"),
}


@pytest.mark.parametrize("name", list(FIXED))
@pytest.mark.parametrize("sharded", [False, True])
def test_fixed_size_types_run_in_zarrfast(
    pipeline: None, root: Any, name: str, sharded: bool
) -> None:
    data = FIXED[name]
    if sharded and data.dtype.kind == "V":
        pytest.skip("zarr-python 3.1's own sharding fails on void fill values")
    kw: dict[str, Any] = {"shards": (4,)} if sharded else {}
    z = root.create_array(name, shape=(6,), chunks=(2,), dtype=data.dtype, **kw)
    z[:] = data
    z[1] = data[4]
    data = data.copy()
    data[1] = data[4]
    assert z[:].tobytes() == data.tobytes()
    assert z[2:5].tobytes() == data[2:5].tobytes()
    back = zf.open_array(store=root.store.zarrfast_store, path=z.path, mode="r")
    assert back[...].tobytes() == data.tobytes()
    assert zp.fallback_count() == 0, dict(zp.FALLBACKS)


def test_fallbacks_are_counted(pipeline: None, root: Any) -> None:
    before = zp.fallback_count()
    # A codec zarrfast does not implement.
    from zarr.codecs.numcodecs import JenkinsLookup3

    z = root.create_array("q", shape=(10,), chunks=(5,), dtype="f8", compressors=[JenkinsLookup3()])
    z[:] = np.linspace(0, 1, 10)
    np.testing.assert_array_equal(z[:], np.linspace(0, 1, 10))
    assert zp.fallback_count() >= before + 2
    assert any(k.startswith("codec:") for k in zp.FALLBACKS)
