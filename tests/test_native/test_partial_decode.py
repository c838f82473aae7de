"""Partial reads of zstd chunks decode only the prefix they need (csrc/zf_partial.c).

A read touching part of a chunk stored in C order needs the decoded bytes up to its last
element only; zstd frames are then decoded block by block and stop there.  These tests
check the values against numpy for many selections (multi-block chunks, steps, edge
chunks, with and without a frame checksum, a transposed layout, crc32c after zstd,
several frames per chunk, frames without a content size) and that broken frames still
raise under a partial read.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zarrfast as zf
from zarrfast.config import set_config
from zarrfast.errors import DecodeError
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")
from zarrfast._native import _pipeline

zstandard = pytest.importorskip("zstandard")

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

# (shape, chunks, dtype): decoded chunks of 200 KB, 180 KB and 512 KB, i.e. several zstd
# blocks of at most 128 KiB each, and edge chunks along every dimension.
GEOMETRIES = {
    1: ((250_000,), (100_000,), "uint16"),
    2: ((700, 650), (300, 300), "uint16"),
    3: ((90, 85, 100), (40, 40, 40), "float64"),
}
# name -> v3 codecs after "bytes" (None: a v2 array, compressor zstd, order F)
VARIANTS = {
    "zstd": [{"name": "zstd", "configuration": {"level": 1, "checksum": False}}],
    "zstd-checksum": [{"name": "zstd", "configuration": {"level": 1, "checksum": True}}],
    "zstd-crc32c": [{"name": "zstd", "configuration": {"level": 1}}, {"name": "crc32c"}],
    "transpose": [{"name": "zstd", "configuration": {"level": 1}}],
    "v2-F": None,
}

_ARRAYS: dict[tuple[int, str], tuple[zf.Array, np.ndarray]] = {}


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Compressible but not trivial: a ramp plus small noise (zstd uses compressed blocks)."""
    rng = np.random.default_rng(sum(shape))
    ramp = np.arange(int(np.prod(shape))).reshape(shape) % 1000
    return (ramp + rng.integers(0, 8, size=shape)).astype(dtype)


def _create(ndim: int, variant: str, store: object) -> zf.Array:
    shape, chunks, dtype = GEOMETRIES[ndim]
    codecs = VARIANTS[variant]
    if codecs is None:
        return zf.create(
            shape=shape,
            chunks=chunks,
            dtype=dtype,
            zarr_format=2,
            compressor="zstd",
            order="F",
            store=store,
            fill_value=0,
        )
    aa: list = []
    if variant == "transpose":
        aa = [{"name": "transpose", "configuration": {"order": list(range(ndim))[::-1]}}]
    return zf.create(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        store=store,
        fill_value=0,
        codecs=[*aa, {"name": "bytes", "configuration": {"endian": "little"}}, *codecs],
    )


def _array(ndim: int, variant: str) -> tuple[zf.Array, np.ndarray]:
    key = (ndim, variant)
    if key not in _ARRAYS:
        a = _create(ndim, variant, MemoryStore())
        assert isinstance(a._engine, _pipeline.NativeEngine)
        ref = _data(a.shape, a.dtype.str)
        a[...] = ref
        _ARRAYS[key] = (a, ref)
    return _ARRAYS[key]


@st.composite
def _selection(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple:
    sel: list = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "step"]))
        if kind == "int":
            sel.append(draw(st.integers(-n, n - 1)))
            continue
        start = draw(st.integers(0, n - 1))
        stop = draw(st.integers(start + 1, min(n, start + n // 3 + 1)))
        step = draw(st.sampled_from([2, 3, 7, 50])) if kind == "step" else 1
        sel.append(slice(start, stop, step))
    return tuple(sel)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_partial_reads_match_numpy(variant: str, data: st.DataObject) -> None:
    ndim = data.draw(st.integers(1, 3))
    a, ref = _array(ndim, variant)
    sels = data.draw(st.lists(_selection(a.shape), min_size=1, max_size=3))
    with set_config(num_threads=data.draw(st.sampled_from([1, 2]))):
        for sel in sels:
            np.testing.assert_array_equal(a[sel], ref[sel])


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_boxes_points_and_edges(ndim: int) -> None:
    a, ref = _array(ndim, "zstd")
    shape, chunks = a.shape, a.metadata.chunk_shape
    sels = [
        tuple(0 for _ in shape),  # first element: first block only
        tuple(n - 1 for n in shape),  # last element of the last (edge) chunk
        tuple(c - 1 for c in chunks),  # last element of the first chunk: needs it all
        tuple(slice(1, c // 2) for c in chunks),  # a box in the first half of a chunk
        tuple(slice(c - 3, c + 3) for c in chunks),  # a box across chunk corners
        tuple(slice(None, None, 11) for _ in shape),  # strided through every chunk
        tuple(slice(n - 5, None) for n in shape),  # the tail of the edge chunks
    ]
    for sel in sels:
        np.testing.assert_array_equal(a[sel], ref[sel])
    out = np.empty_like(ref)
    out[...] = a[...]  # whole reads are untouched
    np.testing.assert_array_equal(out, ref)


def test_files_store_partial_reads(tmp_path: Path) -> None:
    a = _create(3, "zstd", LocalStore(tmp_path / "s"))
    ref = _data(a.shape, a.dtype.str)
    a[...] = ref
    b = zf.open(store=LocalStore(tmp_path / "s"), mode="r")
    for sel in [(0, 0, 0), (5, slice(3, 9), slice(0, 20, 3)), (slice(38, 45), 39, slice(None))]:
        np.testing.assert_array_equal(b[sel], ref[sel])


# --------------------------------------------------------------- hand-made chunks


def _raw_frame(payload: bytes, declared: int | None = None) -> bytes:
    """A zstd frame holding `payload` as one raw block, declaring `declared` bytes."""
    declared = len(payload) if declared is None else declared
    # FHD 0xA0: 4-byte content size field, single segment, no checksum, no dictionary
    header = ZSTD_MAGIC + b"\xa0" + struct.pack("<I", declared)
    block = struct.pack("<I", len(payload) << 3 | 1)[:3]  # raw, last block
    return header + block + payload


def _small(store: MemoryStore) -> tuple[zf.Array, np.ndarray]:
    a = zf.create(
        shape=(4000,),
        chunks=(4000,),
        dtype="uint16",
        store=store,
        fill_value=0,
        codecs=[{"name": "bytes"}, {"name": "zstd", "configuration": {"level": 1}}],
    )
    ref = _data((4000,), "uint16")
    a[...] = ref
    return a, ref


def test_multi_frame_and_unknown_size_chunks() -> None:
    store = MemoryStore()
    a, ref = _small(store)
    raw = ref.tobytes()
    cz = zstandard.ZstdCompressor(level=1)
    chunks = {
        "frames": cz.compress(raw[:3000]) + cz.compress(raw[3000:6000]) + _raw_frame(raw[6000:]),
        "skippable": b"\x50\x2a\x4d\x18" + struct.pack("<I", 3) + b"abc" + cz.compress(raw),
        "no-size": zstandard.ZstdCompressor(level=1, write_content_size=False).compress(raw),
        "checksum": zstandard.ZstdCompressor(level=1, write_checksum=True).compress(raw),
    }
    for name, blob in chunks.items():
        store.set("c/0", blob)
        for sel in [0, slice(10, 20), slice(1400, 1600, 3), slice(2990, 3010), 3999]:
            np.testing.assert_array_equal(a[sel], ref[sel], err_msg=name)


def test_prefix_read_stops_before_the_tail() -> None:
    """The documented trade-off: bytes past the needed prefix are structure-checked (frame
    and block headers, sizes) but not decoded, so a partial read does not see a second
    frame whose content is inconsistent; a whole read does."""
    store = MemoryStore()
    a, ref = _small(store)
    raw = ref.tobytes()
    head = zstandard.ZstdCompressor(level=1).compress(raw[:4000])
    # a frame declaring 3998 bytes but holding 4000, then one declaring (and holding) 2:
    # the declared total is still the chunk's 8000 bytes
    tail = _raw_frame(raw[4000:], declared=3998) + _raw_frame(raw[7998:])
    store.set("c/0", head + tail)
    np.testing.assert_array_equal(a[0:100], ref[0:100])
    with pytest.raises(DecodeError, match="c/0"):
        a[...]
    with pytest.raises(DecodeError, match="c/0"):
        a[3000:3500]  # bytes 6000..7000: inside the bad frame


def test_broken_chunks_raise_under_partial_reads() -> None:
    store = MemoryStore()
    a, ref = _small(store)
    good = store.get("c/0")
    raw = ref.tobytes()
    bad = {
        "truncated": good[:-3],
        "header only": good[:6],
        "empty": b"",
        "trailing": good + b"xx",
        "bad magic": b"\x00" + good[1:],
        "short": zstandard.ZstdCompressor(level=1).compress(raw[:-2]),
        "long": zstandard.ZstdCompressor(level=1).compress(raw + b"\x00\x00"),
        # the frame ends (last block) before the element read, short of its declared size
        "ends early": _raw_frame(raw[:100], declared=len(raw)),
    }
    # a frame checksum is verified (the whole frame is decoded then): flip its last byte
    checked = zstandard.ZstdCompressor(level=1, write_checksum=True).compress(raw)
    bad["bad checksum"] = checked[:-1] + bytes([checked[-1] ^ 0xFF])
    # a reserved block type (3) in the block header of a raw frame (after magic, FHD, size)
    rf = bytearray(_raw_frame(raw))
    rf[4 + 1 + 4] |= 0b110
    bad["bad block type"] = bytes(rf)
    for name, blob in bad.items():
        store.set("c/0", blob)
        for sel in [slice(0, 1), slice(200, 300)]:
            with pytest.raises(DecodeError, match="c/0"):
                a[sel]
                pytest.fail(f"{name}: no error for {sel}")
    store.set("c/0", good)
    np.testing.assert_array_equal(a[5:50], ref[5:50])
