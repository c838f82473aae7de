"""Fixed-size non-numeric dtypes read and write as fast as int64 of the same bytes (issue 11).

Every array holds the same 32 MiB of bytes (int64 data viewed as each dtype), in 1 MiB
chunks, raw and zstd-1, on a memory store: so compression and chunk counts are identical
and any gap is per-dtype overhead (a Python fallback, a per-element conversion).  Compare
each row with its int64 row; the ratio is the point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.storage.memory import MemoryStore

SHAPE = (4096, 1024)  # 4 Mi elements x 8 bytes = 32 MiB
CHUNKS = (128, 1024)  # 1 MiB chunks
DTYPES = {
    "int64": np.dtype("int64"),
    "datetime64[ns]": np.dtype("M8[ns]"),
    "timedelta64[s]": np.dtype("m8[s]"),
    "struct(i4,f4)": np.dtype([("a", "<i4"), ("b", "<f4")]),
    "U2": np.dtype("<U2"),
    "S8": np.dtype("S8"),
    "V8": np.dtype("V8"),
}


def _payload() -> np.ndarray:
    rng = np.random.default_rng(0)
    # compressible like real data: small increments plus noise in the low bytes
    base = np.cumsum(rng.integers(0, 1000, size=SHAPE[0] * SHAPE[1]), dtype=np.int64)
    out: np.ndarray = base.reshape(SHAPE)
    return out


@pytest.fixture(scope="module")
def payload() -> np.ndarray:
    return _payload()


def _array(payload: np.ndarray, dtype: np.dtype[Any], compressor: str | None) -> Any:
    a = zf.create(
        shape=SHAPE,
        chunks=CHUNKS,
        dtype=dtype,
        compressor=compressor,
        store=MemoryStore(),
        zarr_format=3,
        fill_value=None,
    )
    a[...] = payload.view(dtype)
    return a


@pytest.mark.parametrize("compressor", [None, "zstd"], ids=["raw", "zstd1"])
@pytest.mark.parametrize("name", list(DTYPES))
def test_read(throughput: Any, payload: np.ndarray, name: str, compressor: str | None) -> None:
    dtype = DTYPES[name]
    a = _array(payload, dtype, compressor)
    assert type(a._engine).__name__ == "NativeEngine"
    out = np.empty(SHAPE, dtype=dtype)
    throughput(lambda: a.get_basic_selection(out=out), payload.nbytes)
    assert out.view(np.int64)[5, 7] == payload[5, 7]


@pytest.mark.parametrize("compressor", [None, "zstd"], ids=["raw", "zstd1"])
@pytest.mark.parametrize("name", list(DTYPES))
def test_write(throughput: Any, payload: np.ndarray, name: str, compressor: str | None) -> None:
    dtype = DTYPES[name]
    a = _array(payload, dtype, compressor)
    data = payload.view(dtype)

    def write() -> None:
        a[...] = data

    throughput(write, payload.nbytes)
