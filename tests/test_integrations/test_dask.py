"""zarrfast + dask.distributed: process workers write and read one array."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.dask import aligned_chunks, from_dask, to_dask
from zarrfast.errors import ShapeMismatchError

da = pytest.importorskip("dask.array")

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:distributed.*"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning"),
]

SHAPE = (60, 50)


def _expected() -> np.ndarray:
    return np.arange(np.prod(SHAPE), dtype="f8").reshape(SHAPE) * 1.5


def _store_kwargs(kind: str, tmp_path: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    if kind == "filesystem":
        return {"storage": "filesystem", "path": str(tmp_path / "a.zarr")}
    if kind == "lmdb":
        return {"storage": "lmdb", "path": str(tmp_path / "a.lmdb")}
    server = request.getfixturevalue("s3_server")
    from tests.test_storage.servers import unique

    return {
        "storage": "s3",
        "bucket": server.make_bucket(),
        "prefix": unique("dask"),
        "endpoint_url": server.endpoint_url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "region": "us-east-1",
    }


@pytest.mark.parametrize("kind", ["filesystem", "lmdb", "s3"])
@pytest.mark.parametrize("sharded", [False, True], ids=["chunks", "shards"])
def test_cluster_write_then_read(
    kind: str, sharded: bool, tmp_path: Any, request: pytest.FixtureRequest, dask_client: Any
) -> None:
    kw = _store_kwargs(kind, tmp_path, request)
    extra = {"shards": (20, 20)} if sharded else {}
    arr = zf.create(shape=SHAPE, chunks=(10, 10), dtype="f8", compressor="zstd", **extra, **kw)
    # Blocks that do not line up with the write units: from_dask must realign them.
    x = da.from_array(_expected(), chunks=(17, 23))
    from_dask(x, arr)
    # Every element, read back in this process...
    np.testing.assert_array_equal(zf.open_array(**kw, mode="r")[...], _expected())
    # ...and by the workers, through a graph of pickled arrays.
    y = to_dask(zf.open_array(**kw, mode="r"))
    assert y.chunks[0][0] == (20 if sharded else 10)
    np.testing.assert_array_equal(y.compute(), _expected())
    assert float((y * 2).sum().compute()) == float(_expected().sum() * 2)
    # Each worker reopened its own store: the workers really did the writing.
    workers = dask_client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2


def test_store_method_and_from_array(tmp_path: Any, dask_client: Any) -> None:
    arr = zf.create(shape=SHAPE, chunks=(15, 25), dtype="i4", path=str(tmp_path / "b.zarr"))
    x = da.from_array(_expected().astype("i4"), chunks=(15, 25))
    x.store(arr, lock=False)
    np.testing.assert_array_equal(da.from_array(arr, chunks=arr.chunks).compute(), x.compute())


def test_pickle_is_configuration(tmp_path: Any) -> None:
    arr = zf.create(
        shape=(1000, 1000), chunks=(100, 100), dtype="f8", path=str(tmp_path / "c.zarr")
    )
    arr[...] = 1.0
    blob = pickle.dumps(arr)
    assert len(blob) < 2000  # configuration, not 8 MB of data
    assert pickle.loads(blob)[999, 999] == 1.0


def test_region_and_alignment(tmp_path: Any) -> None:
    arr = zf.zeros((40, 40), chunks=(10, 10), dtype="i2", path=str(tmp_path / "d.zarr"))
    x = da.ones((20, 40), chunks=(10, 40), dtype="i2")
    from_dask(x, arr, region=(slice(20, 40), slice(None)))
    assert arr[...].sum() == 800 and arr[:20].sum() == 0
    with pytest.raises(ShapeMismatchError, match="not a multiple"):
        from_dask(da.ones((10, 40), chunks=10, dtype="i2"), arr, region=(slice(5, 15), slice(None)))
    with pytest.raises(ShapeMismatchError, match="not aligned"):
        from_dask(
            da.ones((20, 40), chunks=(7, 40), dtype="i2"),
            arr,
            region=(slice(0, 20), slice(None)),
            rechunk=False,
        )
    assert aligned_chunks((100, 7), (10, 5), (33, 100)) == (30, 7)


def test_compute_false_returns_delayed(tmp_path: Any) -> None:
    x = da.arange(100, chunks=30)
    arr, delayed = from_dask(x, str(tmp_path / "e.zarr"), chunks=10, compute=False)
    assert arr.nchunks_initialized == 0
    delayed.compute()
    np.testing.assert_array_equal(arr[...], np.arange(100))
