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
