"""Orthogonal integer-array / boolean reads run natively (index-list dims) and match numpy
and the Python engine, whatever the layout: C and F order, byte-swapped v2, transposes,
missing chunks, ints, slices with steps, duplicates and unsorted indices (issue 12)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")


def _make(kind: str, store: Any = None) -> tuple[Any, np.ndarray]:
    shape, chunks = (23, 17, 9), (5, 4, 3)
    data = np.arange(np.prod(shape), dtype="int32").reshape(shape) * 7 - 1000
    kw: dict[str, Any] = {"shape": shape, "chunks": chunks, "store": store or MemoryStore()}
    if kind == "c":
        a = zf.create(dtype="i4", **kw)
    elif kind == "f-order-v2":
        a = zf.create(dtype="<i4", zarr_format=2, order="F", **kw)
    elif kind == "big-endian-v2":
        a = zf.create(dtype=">i4", zarr_format=2, **kw)
        data = data.astype(">i4")
    elif kind == "transpose-v3":
        codecs = [
            {"name": "transpose", "configuration": {"order": [2, 0, 1]}},
            {"name": "bytes", "configuration": {"endian": "big"}},
            {"name": "zstd", "configuration": {"level": 1}},
        ]
        a = zf.create(dtype="i4", codecs=codecs, **kw)
    else:
        raise AssertionError(kind)
    a[...] = data
    # leave some chunks missing: they read as the fill value
    a[:5, :4, :3] = 0
    data[:5, :4, :3] = 0
    return a, data


SELECTIONS = [
    (np.array([0, 22, 3, 3, 11]), slice(None), slice(None)),
    (np.array([4, 1, 0]), np.array([16, 0, 5, 5]), np.array([8, 0])),
    (slice(2, 20, 3), np.array([3, 2, 1, 0]), 4),
    (7, np.arange(17) % 3 == 0, slice(None, None, -2)),
    (np.arange(23) % 2 == 1, slice(1, 16), np.array([2])),
    (np.array([-1, -23]), slice(None), np.array([-1, 0, 4])),
]


@pytest.mark.parametrize("kind", ["c", "f-order-v2", "big-endian-v2", "transpose-v3"])
def test_orthogonal_reads_match_numpy_and_run_natively(kind: str) -> None:
    a, data = _make(kind)
    assert a.engine.native
    for sel in SELECTIONS:
        want = data[np.ix_(*[_as_index(s, n) for s, n in zip(sel, data.shape)])]
        want = want.reshape(
            [len(_as_index(s, n)) for s, n in zip(sel, data.shape) if not np.isscalar(s)]
        )
        got = a.oindex[sel]
        assert got.dtype == a.dtype
        np.testing.assert_array_equal(got, want, err_msg=str(sel))
    assert a.engine.request_fallbacks == {}


def _random_orthogonal(rng: Any, shape: tuple[int, ...], maxlen: int) -> tuple[Any, ...]:
    """Per dim: an int array (negative indices and duplicates included; 70%) or a strided
    slice."""
    return tuple(
        rng.integers(-n, n, size=int(rng.integers(1, maxlen)))
        if rng.random() < 0.7
        else slice(int(rng.integers(0, n)), None, int(rng.integers(1, 4)))
        for n in shape
    )


def test_random_selections_against_the_python_engine(tmp_path: Any) -> None:
    rng = np.random.default_rng(7)
    for store in (MemoryStore(), LocalStore(str(tmp_path / "a"))):  # store batch and file reads
        a, data = _make("c", store)
        assert a.engine.native
        with set_config(engine="python"):
            ref = zf.open(store, mode="r")
        for _ in range(40):
            sel = _random_orthogonal(rng, data.shape, 12)
            np.testing.assert_array_equal(a.oindex[sel], ref.oindex[sel], err_msg=str(sel))
        assert a.engine.request_fallbacks == {}
        assert not ref.engine.native


def test_out_of_order_output_and_an_out_argument() -> None:
    a, data = _make("c")
    rows = np.array([20, 2, 13, 2])
    out = np.full((4, 17, 9), -1, dtype="i4")
    a.get_orthogonal_selection((rows, slice(None), slice(None)), out=out)
    np.testing.assert_array_equal(out, data[rows])


@pytest.mark.parametrize("kind", ["c", "f-order-v2", "big-endian-v2", "transpose-v3"])
def test_coordinate_and_mask_reads_run_natively(kind: str) -> None:
    a, data = _make(kind)
    rng = np.random.default_rng(11)
    pts = tuple(rng.integers(0, n, size=500) for n in data.shape)
    np.testing.assert_array_equal(a.vindex[pts], data[pts])
    grid = tuple(rng.integers(-n, n, size=(6, 7)) for n in data.shape)  # broadcast, negatives
    np.testing.assert_array_equal(a.vindex[grid], data[grid])
    mask = (np.arange(data.size).reshape(data.shape) % 11) == 3
    np.testing.assert_array_equal(a.vindex[mask], data[mask])
    np.testing.assert_array_equal(a[mask], data[mask])
    np.testing.assert_array_equal(a.vindex[[0, 0], [1, 1], [2, 2]], data[[0, 0], [1, 1], [2, 2]])
    assert a.engine.request_fallbacks == {}


@pytest.mark.parametrize("index_location", ["end", "start"])
def test_coordinate_and_mask_reads_of_sharded_arrays(index_location: str, tmp_path: Any) -> None:
    from zarrfast.storage.local import LocalStore

    shape = (30, 21, 10)
    data = (np.arange(np.prod(shape)) % 65521).astype("u2").reshape(shape)
    for store in (MemoryStore(), LocalStore(str(tmp_path / index_location))):
        s = _sharded(shape, store, index_location)
        assert s.engine.native
        s[...] = data
        s[8:16, :9, :] = 0  # a shard all fill: not stored
        ref = data.copy()
        ref[8:16, :9, :] = 0
        rng = np.random.default_rng(9)
        pts = tuple(rng.integers(0, n, size=700) for n in shape)
        np.testing.assert_array_equal(s.vindex[pts], ref[pts])
        np.testing.assert_array_equal(
            s.vindex[[3, 3, 29], [0, 0, 20], [9, 9, 0]], ref[[3, 3, 29], [0, 0, 20], [9, 9, 0]]
        )
        mask = (np.arange(ref.size).reshape(shape) % 13) == 5
        np.testing.assert_array_equal(s[mask], ref[mask])
        assert s.engine.request_fallbacks == {}


@pytest.mark.parametrize("index_location", ["end", "start"])
def test_orthogonal_writes_of_sharded_arrays(index_location: str, tmp_path: Any) -> None:
    from zarrfast.storage.local import LocalStore

    shape = (30, 21, 10)
    rng = np.random.default_rng(17)
    for store in (MemoryStore(), LocalStore(str(tmp_path / index_location))):
        ref = (np.arange(np.prod(shape)) % 65521).astype("u2").reshape(shape)
        s = _sharded(shape, store, index_location)
        s[...] = ref
        s[8:16, :9, :] = 0  # one shard all fill: not stored
        ref[8:16, :9, :] = 0
        for _ in range(20):
            sel = tuple(
                rng.integers(-n, n, size=int(rng.integers(1, 12)))
                if rng.random() < 0.75
                else slice(int(rng.integers(0, n)), None, int(rng.integers(1, 3)))
                for n in shape
            )
            idx = [_as_index(x, n) for x, n in zip(sel, shape)]
            value = rng.integers(0, 60000, size=ref[np.ix_(*idx)].shape).astype("u2")
            s.oindex[sel] = value
            ref[np.ix_(*idx)] = value
        # whole inner chunks and whole shards through index lists (shuffled, duplicated)
        rows = np.concatenate([rng.permutation(8), [3, 3]])
        s.oindex[rows, :, :] = 7
        ref[np.ix_(rows, np.arange(21), np.arange(10))] = 7
        s.oindex[rng.permutation(30), rng.permutation(21), :] = 1
        ref[...] = 1
        s.oindex[[0, 29], [1, 2], :] = 5
        ref[np.ix_([0, 29], [1, 2], np.arange(10))] = 5
        np.testing.assert_array_equal(s[...], ref)
        with set_config(engine="python"):
            np.testing.assert_array_equal(zf.open(store, mode="r")[...], ref)
        assert s.engine.request_fallbacks == {}


@pytest.mark.parametrize("index_location", ["end", "start"])
@pytest.mark.parametrize("where", ["memory", "local"])
def test_coordinate_and_mask_writes_of_sharded_arrays(
    index_location: str, where: str, tmp_path: Any
) -> None:
    """vindex and mask writes of sharded arrays run natively (one read-modify-write per
    touched shard) and agree with numpy, the Python engine and zarr-python: unsorted and
    duplicate points (the last one wins), a whole inner chunk covered by points (its old
    bytes not needed), empty inner chunks and shards, a missing shard, write_empty."""
    shape = (30, 21, 10)
    data = (np.arange(np.prod(shape)) % 65521).astype("u2").reshape(shape)
    store = MemoryStore() if where == "memory" else LocalStore(tmp_path / "s")
    s = _sharded(shape, store, index_location)
    s[...] = data
    s[16:24, 9:18, :] = 0  # shard (2, 1) holds only fill: deleted
    data[16:24, 9:18, :] = 0
    rng = np.random.default_rng(5)
    for _ in range(4):
        pts = tuple(rng.integers(0, n, 300) for n in shape)
        vals = rng.integers(0, 65535, 300).astype("u2")
        s.vindex[pts] = vals
        data[pts] = vals  # numpy: the last of duplicate points wins
    # every element of one inner chunk (4 x 3 x 5 at (8, 3, 5)), in shuffled order
    g = np.stack(np.meshgrid(np.arange(8, 12), np.arange(3, 6), np.arange(5, 10), indexing="ij"))
    g = g.reshape(3, -1)[:, rng.permutation(60)]
    s.vindex[tuple(g)] = 7
    data[tuple(g)] = 7
    mask = (np.arange(np.prod(shape)).reshape(shape) % 7) == 3
    s[mask] = 11
    data[mask] = 11
    s.vindex[[0], [0], [0]] = np.array([5], dtype="u2")
    data[0, 0, 0] = 5
    # shard (2, 1) back to fill, then points written there as fill: nothing is stored
    s[16:24, 9:18, :] = 0
    data[16:24, 9:18, :] = 0
    s.vindex[[17, 18], [10, 11], [0, 1]] = 0
    np.testing.assert_array_equal(s[...], data)
    assert s.engine.request_fallbacks == {}
    with set_config(engine="python"):
        np.testing.assert_array_equal(zf.open(store, mode="r")[...], data)
    if where == "local":
        import zarr

        np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "s"), mode="r")[...], data)
        assert not (tmp_path / "s" / "c" / "2" / "1" / "0").exists()
        assert (tmp_path / "s" / "c" / "2" / "0" / "0").exists()
    else:
        assert store.get("c/2/1/0") is None


def test_coordinate_writes_of_sharded_arrays_match_the_python_engine_bytes() -> None:
    """Byte-identical shards from both engines for the same coordinate writes."""
    shape = (30, 21, 10)
    rng = np.random.default_rng(9)
    stores = []
    for engine in ("auto", "python"):
        with set_config(engine=engine):
            st = MemoryStore()
            s = _sharded(shape, st, "end")
            s[...] = 3
            for _ in range(3):
                pts = tuple(rng.integers(0, n, 200) for n in shape)
                s.vindex[pts] = rng.integers(0, 9, 200).astype("u2")
            stores.append(st)
        rng = np.random.default_rng(9)
    a, b = stores
    assert sorted(a.list()) == sorted(b.list())
    for k in a.list():
        assert bytes(a.get(k)) == bytes(b.get(k)), k


def _sharded(shape: tuple[int, ...], store: Any, index_location: str) -> Any:
    inner = [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 1}},
    ]
    index = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]
    conf = {"chunk_shape": [4, 3, 5], "codecs": inner, "index_codecs": index}
    conf["index_location"] = index_location
    codecs = [{"name": "sharding_indexed", "configuration": conf}]
    return zf.create(shape=shape, chunks=(8, 9, 10), dtype="u2", store=store, codecs=codecs)


@pytest.mark.parametrize("index_location", ["end", "start"])
def test_orthogonal_reads_of_sharded_arrays_run_natively(index_location: str) -> None:
    shape = (30, 21, 10)
    data = np.arange(np.prod(shape), dtype="u2").reshape(shape)
    s = (
        zf.create(
            shape=shape,
            chunks=(8, 9, 10),  # the shard shape; the codecs below carry the inner chunks
            dtype="u2",
            store=MemoryStore(),
            codecs=[
                {
                    "name": "sharding_indexed",
                    "configuration": {
                        "chunk_shape": [4, 3, 5],
                        "codecs": [
                            {"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "zstd", "configuration": {"level": 1}},
                        ],
                        "index_codecs": [
                            {"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "crc32c"},
                        ],
                        "index_location": index_location,
                    },
                }
            ],
        )
        if index_location == "start"
        else zf.create(
            shape=shape, chunks=(4, 3, 5), shards=(8, 9, 10), dtype="u2", store=MemoryStore()
        )
    )
    assert s.engine.native and s.shards == (8, 9, 10)
    s[...] = data
    s[:8, :9, :] = 0  # one shard all fill: not stored
    data[:8, :9, :] = 0
    rng = np.random.default_rng(5)
    for _ in range(30):
        sel = tuple(rng.integers(0, n, size=int(rng.integers(1, 9))) for n in shape)
        np.testing.assert_array_equal(s.oindex[sel], data[np.ix_(*sel)], err_msg=str(sel))
    sel = (np.array([29, 0, 7, 8, 8]), slice(2, 20, 4), 3)
    np.testing.assert_array_equal(s.oindex[sel], data[sel[0]][:, 2:20:4, 3])
    assert s.engine.request_fallbacks == {}


@pytest.mark.parametrize("kind", ["c", "f-order-v2", "big-endian-v2", "transpose-v3"])
def test_orthogonal_and_coordinate_writes_run_natively(kind: str, tmp_path: Any) -> None:
    rng = np.random.default_rng(13)
    for store in (MemoryStore(), LocalStore(str(tmp_path / kind))):
        a, ref = _make(kind, store)
        assert a.engine.native
        for i in range(25):
            sel = _random_orthogonal(rng, ref.shape, 9)
            shape = ref[np.ix_(*[_as_index(s, n) for s, n in zip(sel, ref.shape)])].shape
            value = rng.integers(-500, 500, size=shape).astype(ref.dtype)
            a.oindex[sel] = value
            # numpy: duplicates keep the last value, as in a C-order assignment
            ref[np.ix_(*[_as_index(s, n) for s, n in zip(sel, ref.shape)])] = value
            pts = tuple(rng.integers(0, n, size=40) for n in ref.shape)
            a.vindex[pts] = i
            ref[pts] = i
        a.oindex[np.array([3, 1]), :, 2] = 77  # a scalar broadcast through an int dim
        ref[np.ix_([3, 1], np.arange(17), [2])] = 77
        mask = (np.arange(ref.size).reshape(ref.shape) % 17) == 1
        a[mask] = -5
        ref[mask] = -5
        np.testing.assert_array_equal(a[...], ref)
        with set_config(engine="python"):
            np.testing.assert_array_equal(zf.open(store, mode="r")[...], ref)
        assert a.engine.request_fallbacks == {}


def _as_index(s: Any, n: int) -> np.ndarray:
    if isinstance(s, slice):
        return np.arange(n)[s]
    if np.isscalar(s):
        return np.array([s])
    s = np.asarray(s)
    return np.flatnonzero(s) if s.dtype == bool else s % n


def test_a_duplicated_index_list_as_long_as_a_chunk_keeps_the_rest_of_it() -> None:
    # inner chunks are 4 long on axis 0: [0, 0, 1, 2] has 4 entries but leaves row 3 as is
    shape = (30, 21, 10)
    data = (np.arange(np.prod(shape)) % 65521).astype("u2").reshape(shape)
    for arr in (
        _sharded(shape, MemoryStore(), "end"),
        zf.create(shape=shape, chunks=(4, 3, 5), dtype="u2", store=MemoryStore()),
    ):
        arr[...] = data
        arr.oindex[[0, 0, 1, 2], :, :] = 9
        ref = data.copy()
        ref[[0, 1, 2]] = 9
        np.testing.assert_array_equal(arr[...], ref)
        assert arr.engine.request_fallbacks == {}
