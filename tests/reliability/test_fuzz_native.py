"""Hostile input to every native decoder and to the shard index parser.

Contract (HOUSE.md, native rule 5): truncated, bit-flipped, oversized or random input
ends in an exception from the zarrfast hierarchy - never a crash, hang, wrong-sized
output or large allocation.  Budget: ``ZARRFAST_FUZZ_EXAMPLES`` (see __init__.py for the
long run and the atheris/ASan variants).
"""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import zarrfast as zf
from tests.reliability._budget import fuzz_settings
from zarrfast._native import _codecs as nc
from zarrfast.abc.codec import ChunkSpec
from zarrfast.codecs.sharding import ShardingCodec
from zarrfast.errors import ChecksumError, DecodeError, ZarrfastError
from zarrfast.storage.memory import MemoryStore
from zarrfast.testing.faults import assert_raises_cleanly, corruptions, flip_bits

PARAMS = {
    "zstd": (3, 1),
    "zstd-nochecksum": (3, 0),
    "lz4": (1,),
    "zlib": (6,),
    "gzip": (5,),
    "crc32c": (),
    "blosc-zstd": (nc.BLOSC_COMPRESSORS["zstd"], 5, 1, 4, 0),
    "blosc-lz4-bit": (nc.BLOSC_COMPRESSORS["lz4"], 5, 2, 8, 256),
    "blosc-blosclz": (nc.BLOSC_COMPRESSORS["blosclz"], 9, 0, 1, 0),
}
CASES = sorted(PARAMS)


def _kind(case: str) -> str:
    return case.split("-")[0]


def _sample(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    # Compressible but not trivial: a random walk of small ints.
    return np.cumsum(rng.integers(-3, 4, size=max(n // 4, 0)), dtype=np.int32).tobytes()


ENCODED = {case: nc.encode(_kind(case), PARAMS[case], _sample(4096, 1)) for case in CASES}
DECODED_SIZE = len(_sample(4096, 1))


def _decode_all_ways(case: str, blob: bytes, expected: int) -> None:
    """Every native entry point on ``blob``: only zarrfast errors, never a wrong size."""
    kind, params = _kind(case), PARAMS[case]
    for exp in (expected, None, 0, 1):
        out = assert_raises_cleanly(nc.decode, kind, params, blob, expected_size=exp)
        if isinstance(out, bytes) and exp is not None:
            assert len(out) == exp
    size = assert_raises_cleanly(nc.decoded_size, kind, params, blob)
    if isinstance(size, int):
        # A declared size can only be as large as the input allows (ratio bound).
        assert size <= max(len(blob), 1) * 40_000


@pytest.mark.parametrize("case", CASES)
def test_round_trip_sanity(case: str) -> None:
    data = _sample(4096, 1)
    assert nc.decode(_kind(case), PARAMS[case], ENCODED[case], expected_size=len(data)) == data


@pytest.mark.parametrize("case", CASES)
def test_systematic_corruptions(case: str) -> None:
    for _desc, blob in corruptions(ENCODED[case], seed=7, count=24):
        _decode_all_ways(case, blob, DECODED_SIZE)


@pytest.mark.parametrize("case", CASES)
@fuzz_settings
@given(data=st.data())
def test_fuzz_mutated_chunks(case: str, data: st.DataObject) -> None:
    enc = ENCODED[case]
    how = data.draw(st.sampled_from(["truncate", "flip", "extend", "splice", "overwrite"]))
    if how == "truncate":
        blob = enc[: data.draw(st.integers(0, len(enc)))]
    elif how == "flip":
        bits = data.draw(st.lists(st.integers(0, len(enc) * 8 - 1), min_size=1, max_size=8))
        blob = flip_bits(enc, bits)
    elif how == "extend":
        blob = enc + data.draw(st.binary(min_size=1, max_size=256))
    elif how == "splice":
        i = data.draw(st.integers(0, len(enc)))
        blob = enc[:i] + data.draw(st.binary(max_size=64)) + enc[i:]
    else:
        # Overwrite a header-sized window (where sizes and flags live) with chosen bytes.
        i = data.draw(st.integers(0, min(len(enc), 32)))
        patch = data.draw(st.binary(min_size=1, max_size=16))
        blob = enc[:i] + patch + enc[i + len(patch) :]
    _decode_all_ways(case, blob, DECODED_SIZE)


@pytest.mark.parametrize("case", CASES)
@fuzz_settings
@given(blob=st.binary(max_size=2048), expected=st.integers(0, 1 << 16))
def test_fuzz_random_bytes(case: str, blob: bytes, expected: int) -> None:
    _decode_all_ways(case, blob, expected)


@pytest.mark.parametrize("which", ["shuffle", "unshuffle", "bitshuffle", "bitunshuffle"])
@fuzz_settings
@given(blob=st.binary(max_size=4096), typesize=st.integers(-2, 300))
def test_fuzz_blosc_kernels(which: str, blob: bytes, typesize: int) -> None:
    out = assert_raises_cleanly(getattr(nc, f"blosc_{which}"), blob, typesize)
    if isinstance(out, bytes):
        assert len(out) == len(blob)


# ------------------------------------------------------------------ oversize claims
def _zstd_frame_claiming(size: int) -> bytes:
    # Magic, frame header descriptor (FCS field 8 bytes, single segment), content size,
    # then one raw block of 3 bytes marked last.
    fhd = 0b11100000
    block = (1 | (0 << 1) | (3 << 3)).to_bytes(3, "little") + b"abc"
    return struct.pack("<IB", 0xFD2FB528, fhd) + struct.pack("<Q", size) + block


@pytest.mark.parametrize(
    ("case", "blob"),
    [
        ("lz4", struct.pack("<I", 0x7E000000) + b"\x00" * 16),
        ("zstd", _zstd_frame_claiming(1 << 40)),
        ("zstd", _zstd_frame_claiming(1 << 62)),
        ("crc32c", b"\x00" * 64),
    ],
)
def test_oversized_claim_refused_before_allocating(case: str, blob: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError):
            nc.decode(case, PARAMS[case], blob, expected_size=16)
        with pytest.raises(ZarrfastError):
            nc.decode(case, PARAMS[case], blob)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"decoding {len(blob)} hostile bytes allocated {peak} bytes"


def test_blosc_header_claiming_huge_size() -> None:
    enc = bytearray(ENCODED["blosc-zstd"])
    enc[4:8] = struct.pack("<I", 0x7FFFFFF0)  # nbytes field of the blosc1 header
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError):
            nc.decode("blosc", PARAMS["blosc-zstd"], bytes(enc), expected_size=DECODED_SIZE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_torn_checksummed_chunks_fail() -> None:
    for case in ("zstd", "crc32c", "gzip", "zlib", "lz4", "blosc-zstd"):
        enc = ENCODED[case]
        for cut in (0, 1, len(enc) // 2, len(enc) - 1):
            with pytest.raises(DecodeError):
                nc.decode(_kind(case), PARAMS[case], enc[:cut], expected_size=DECODED_SIZE)
    with pytest.raises(ChecksumError):
        nc.decode("crc32c", (), flip_bits(ENCODED["crc32c"], [5]))


# ------------------------------------------------------------------ shard index
SHARD = ShardingCodec(chunk_shape=(4, 4))
SHARD_SPEC = ChunkSpec(shape=(16, 16), dtype=np.dtype("i4"), fill_value=np.int32(0))


def _shard_bytes() -> bytes:
    data = np.arange(256, dtype="i4").reshape(16, 16)
    data[4:8, 4:8] = 0  # one empty inner chunk
    return bytes(memoryview(SHARD.encode(data, SHARD_SPEC)))


SHARD_BYTES = _shard_bytes()
INDEX_NBYTES = 16 * 16 + 4


@fuzz_settings
@given(
    blob=st.binary(min_size=INDEX_NBYTES - 8, max_size=INDEX_NBYTES + 8),
    shard_nbytes=st.one_of(st.none(), st.integers(0, 1 << 64)),
)
def test_fuzz_shard_index_random(blob: bytes, shard_nbytes: int | None) -> None:
    assert_raises_cleanly(SHARD.decode_index, blob, SHARD_SPEC, shard_nbytes)


@fuzz_settings
@given(data=st.data())
def test_fuzz_shard_index_entries(data: st.DataObject) -> None:
    """Valid checksum, hostile entries: offsets/lengths near 2**64, overlaps, sentinels."""
    big = st.sampled_from([0, 1, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1, INDEX_NBYTES, 1 << 32])
    entries = data.draw(
        st.lists(
            st.tuples(
                st.one_of(big, st.integers(0, 2**64 - 1)), st.one_of(big, st.integers(0, 4096))
            ),
            min_size=16,
            max_size=16,
        )
    )
    raw = np.array(entries, dtype="<u8").tobytes()
    blob = raw + struct.pack("<I", nc.crc32c(raw))
    idx = assert_raises_cleanly(
        SHARD.decode_index,
        blob,
        SHARD_SPEC,
        data.draw(st.one_of(st.none(), st.integers(0, 1 << 20))),
    )
    if isinstance(idx, np.ndarray):
        assert idx.shape == (4, 4, 2)


@fuzz_settings
@given(data=st.data())
def test_fuzz_whole_shards(data: st.DataObject) -> None:
    how = data.draw(st.sampled_from(["truncate", "flip", "extend"]))
    if how == "truncate":
        blob = SHARD_BYTES[: data.draw(st.integers(0, len(SHARD_BYTES)))]
    elif how == "flip":
        blob = flip_bits(
            SHARD_BYTES,
            data.draw(st.lists(st.integers(0, len(SHARD_BYTES) * 8 - 1), min_size=1, max_size=4)),
        )
    else:
        blob = SHARD_BYTES + data.draw(st.binary(min_size=1, max_size=64))
    out = assert_raises_cleanly(SHARD.decode, blob, SHARD_SPEC)
    if isinstance(out, np.ndarray):
        assert out.shape == (16, 16)


# ------------------------------------------------------------------ through the array
@pytest.mark.parametrize("compressor", ["zstd", "blosc", "lz4", "gzip", "zlib", None])
@pytest.mark.parametrize("shards", [None, (8, 8)])
def test_corrupt_stored_chunks_read_as_errors(
    compressor: str | None, shards: tuple[int, int] | None
) -> None:
    store = MemoryStore()
    arr = zf.create(
        (8, 8), chunks=(4, 4), shards=shards, dtype="f8", store=store, compressor=compressor
    )
    arr[:] = np.random.default_rng(0).random((8, 8))
    key = "c/0/0"
    good = bytes(store.get(key))  # type: ignore[arg-type]
    for desc, blob in corruptions(good, seed=3, count=6):
        store.set(key, blob)
        result = assert_raises_cleanly(lambda: arr[:])
        if isinstance(result, np.ndarray):
            assert result.shape == (8, 8), desc
        # Partial reads of a sharded array take the index path.
        assert_raises_cleanly(lambda: arr[1:3, 5])
