"""Micro benchmarks: native codec encode/decode per thread count, and the copy kernels.

Codecs run through the single-buffer functions of ``zarrfast._native._codecs`` (they
release the GIL) on the chunks of the W1 data, spread over 1 and all threads.  The copy
kernels run through the array API on an uncompressed memory array, so a read is fetch +
scatter into the output and a write is gather + store: 1-3 d, chunks that are contiguous
in the array ("rows": full trailing extent) or blocky ("blocks"), and whole-array,
unaligned-box and strided selections.  Throughput is reported in bytes/s (GB/s in the
terminal summary and the JSON's ``extra_info``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import workloads as W

from zarrfast._native import _codecs as native
from zarrfast.codecs import BloscCodec, GzipCodec, LZ4Codec, ZlibCodec, ZstdCodec

CODECS = {
    "zstd1": ZstdCodec(level=1),
    "zstd3": ZstdCodec(level=3),
    "blosc-lz4-shuffle": BloscCodec("lz4", 5, "shuffle", typesize=2),
    "blosc-zstd-shuffle": BloscCodec("zstd", 5, "shuffle", typesize=2),
    "lz4": LZ4Codec(),
    "zlib1": ZlibCodec(level=1),
    "gzip5": GzipCodec(level=5),
}


@pytest.fixture(scope="module")
def raw_chunks(bench_scale: str) -> list[bytes]:
    """The W1 array cut into its chunks, each as contiguous bytes."""
    wl = W.select("W1", bench_scale)[0]
    data = W.make_data(wl)
    c = wl.chunks
    return [
        data[i : i + c[0], j : j + c[1], k : k + c[2]].tobytes()
        for i in range(0, wl.shape[0], c[0])
        for j in range(0, wl.shape[1], c[1])
        for k in range(0, wl.shape[2], c[2])
    ]


@pytest.fixture(scope="module")
def pools(threads_all: int) -> Iterator[dict[int, ThreadPoolExecutor]]:
    made = {n: ThreadPoolExecutor(max_workers=n) for n in sorted({1, threads_all})}
    yield made
    for p in made.values():
        p.shutdown()


def _thread_counts() -> list[int]:
    return sorted({1, W.default_threads()})


def _spread(pool: ThreadPoolExecutor, nthreads: int, fn: Any, items: list[Any]) -> None:
    groups = [items[i::nthreads] for i in range(nthreads)]
    list(pool.map(lambda g: [fn(x) for x in g], groups))


@pytest.mark.parametrize("threads", _thread_counts(), ids=lambda n: f"t{n}")
@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("direction", ["encode", "decode"])
def test_codec(
    throughput: Any,
    raw_chunks: list[bytes],
    pools: dict[int, ThreadPoolExecutor],
    codec: str,
    direction: str,
    threads: int,
) -> None:
    spec = CODECS[codec].native_spec()
    assert spec is not None
    kind, params = spec.kind, spec.params
    size = len(raw_chunks[0])
    encoded = [native.encode(kind, params, c) for c in raw_chunks]
    pool = pools[threads]
    if direction == "encode":
        throughput(
            lambda: _spread(pool, threads, lambda c: native.encode(kind, params, c), raw_chunks),
            sum(map(len, raw_chunks)),
        )
    else:
        throughput(
            lambda: _spread(pool, threads, lambda c: native.decode(kind, (), c, size), encoded),
            sum(map(len, raw_chunks)),
        )
    # correctness outside the timing
    assert native.decode(kind, (), encoded[0], size) == raw_chunks[0]


# --------------------------------------------------------------------------- copy kernels
#: ndim -> elements per axis at the "small"/"full" scales (float32: 4 MiB) and "tiny" (256 KiB).
_SHAPES = {1: (1 << 20,), 2: (1024, 1024), 3: (128, 128, 64)}
_SHAPES_TINY = {1: (1 << 16,), 2: (256, 256), 3: (64, 64, 16)}


def _chunks(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """rows: chunks span the full trailing extent (contiguous in the array); blocks: cubes."""
    n = len(shape)
    if n == 1:
        return (shape[0] // 64,) if layout == "rows" else (shape[0] // 256,)
    if layout == "rows":
        return (max(1, shape[0] // 32), *shape[1:])
    side = max(4, round((math.prod(shape) / 256) ** (1 / n)))
    return tuple(min(side, s) for s in shape)


def _selection(shape: tuple[int, ...], chunks: tuple[int, ...], kind: str) -> tuple[slice, ...]:
    if kind == "all":
        return tuple(slice(None) for _ in shape)
    if kind == "box":  # unaligned: starts mid-chunk, ends mid-chunk
        return tuple(slice(c // 2, s - c // 2) for s, c in zip(shape, chunks))
    return tuple(slice(None, None, 2) for _ in shape)  # "step2"


@pytest.fixture(scope="module")
def copy_arrays(bench_scale: str) -> dict[tuple[int, str], Any]:
    import zarrfast as zf

    shapes = _SHAPES_TINY if bench_scale == "tiny" else _SHAPES
    out = {}
    for ndim, shape in shapes.items():
        data = np.random.default_rng(ndim).random(shape, dtype=np.float32)
        for layout in ("rows", "blocks"):
            arr = zf.create(
                shape,
                chunks=_chunks(shape, layout),
                dtype="float32",
                codecs=[W.BYTES_LE],
                storage="memory",
                fill_value=0,
            )
            arr[...] = data
            out[(ndim, layout)] = (arr, data)
    return out


@pytest.mark.parametrize("selection", ["all", "box", "step2"])
@pytest.mark.parametrize("layout", ["rows", "blocks"])
@pytest.mark.parametrize("ndim", [1, 2, 3], ids=lambda n: f"{n}d")
@pytest.mark.parametrize("direction", ["scatter-read", "gather-write"])
def test_copy_kernel(
    throughput: Any,
    copy_arrays: dict[tuple[int, str], Any],
    threads_all: int,
    direction: str,
    ndim: int,
    layout: str,
    selection: str,
) -> None:
    import zarrfast as zf

    arr, data = copy_arrays[(ndim, layout)]
    sel = _selection(arr.shape, arr.chunks, selection)
    expected = data[sel]
    with zf.set_config(num_threads=threads_all):
        if direction == "scatter-read":
            throughput(lambda: arr[sel], expected.nbytes)
            np.testing.assert_array_equal(arr[sel], expected)
        else:
            throughput(lambda: arr.__setitem__(sel, expected), expected.nbytes)
            np.testing.assert_array_equal(arr[...], data)
