"""xarray open_zarr / to_zarr through the zarrfast store adapters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

from zarrfast.storage import make_store  # noqa: E402
from zarrfast.zarr_python import as_zarr_store  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning"),
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]


@pytest.mark.parametrize("kind", ["lmdb", "filesystem"])
def test_to_zarr_open_zarr(kind: str, tmp_path: Any) -> None:
    path = str(tmp_path / ("d.lmdb" if kind == "lmdb" else "d"))
    store = as_zarr_store(make_store(kind, path=path))
    ds = xr.Dataset(
        {"t": (("y", "x"), np.arange(200, dtype="f4").reshape(10, 20))},
        coords={"y": np.arange(10), "x": np.linspace(0, 1, 20)},
        attrs={"title": "demo"},
    )
    ds.to_zarr(store, mode="w", consolidated=False)
    back = xr.open_zarr(store, consolidated=False)
    xr.testing.assert_identical(back.load(), ds)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_datetime_and_fixed_string_coordinates_written_by_xarray_open_in_zarrfast(
    zarr_format: int, tmp_path: Any
) -> None:
    import zarr

    import zarrfast as zf
    import zarrfast.zarr_python as zp

    path = str(tmp_path / "ds.zarr")
    time = np.array(["2021-01-01T00", "2021-01-01T06", "NaT", "2021-01-02T00"], dtype="M8[ns]")
    station = np.array(["oslo", "köln", "", "tromsø"], dtype="<U6")
    ds = xr.Dataset(
        {
            "temp": (("time", "station"), np.arange(16, dtype="f4").reshape(4, 4)),
            "lag": (("time",), np.array([1, -2, 3, 4], dtype="m8[s]")),
        },
        coords={"time": time, "station": station},
    )
    # xarray's default encoding: datetimes as integer offsets with units in attributes
    # (a datetime64-typed encoding does not round trip through xarray itself), strings as
    # fixed-length unicode.
    ds.to_zarr(path, mode="w", consolidated=False, zarr_format=zarr_format)
    for name in ("time", "station", "lag"):
        arr = zf.open(path=f"{path}/{name}", mode="r")
        raw = zarr.open_array(path, path=name, mode="r")
        assert arr.dtype == raw.dtype
        assert arr[...].tobytes() == raw[...].tobytes()
        assert arr[...].tobytes() == raw[...].tobytes()
    assert zf.open(path=f"{path}/station", mode="r").dtype.kind in "UO"
    assert zf.open(path=f"{path}/station", mode="r")[...].tolist() == station.tolist()
    # the whole dataset through zarrfast's store and codec pipeline, with no fallback
    zp.reset_fallbacks()
    with zarr.config.set({"codec_pipeline.path": "zarrfast.zarr_python.CodecPipeline"}):
        store = as_zarr_store(make_store("filesystem", path=path))
        back = xr.open_zarr(store, consolidated=False).load()
    xr.testing.assert_identical(back, xr.open_zarr(path, consolidated=False).load())
    xr.testing.assert_identical(back, ds)
    assert back["station"].values.tolist() == station.tolist()
    assert zp.fallback_count() == 0, dict(zp.FALLBACKS)
