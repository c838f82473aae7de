"""Tests of zarrfast._native._codecs: the C kernels and the uniform encode/decode entry."""

from __future__ import annotations

import os

import crc32c as crc32c_ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrfast._native import _codecs as nc
from zarrfast.errors import ChecksumError, CodecError, DecodeError

PARAMS = {
    "zstd": (3, 1),
    "lz4": (1,),
    "zlib": (6,),
    "gzip": (5,),
    "crc32c": (),
    "blosc": (nc.BLOSC_COMPRESSORS["zstd"], 5, 1, 4, 0),
}


def test_library_versions() -> None:
    v = nc.library_versions()
    assert set(v) == {"zstd", "lz4", "zlib", "blosc2", "crc32c_hw"}
    assert v["blosc2"].startswith(("2.", "3."))


def test_status_messages() -> None:
    assert nc.status_message(0) == "ok"
    assert "truncated" in nc.status_message(-2)
    assert nc.status_message(-999) == "unknown error"


# ------------------------------------------------------------------ crc32c
@pytest.mark.parametrize("n", [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099])
def test_crc32c_matches_reference(n: int) -> None:
    data = os.urandom(n)
    expected = crc32c_ref.crc32c(data)
    assert nc.crc32c(data) == expected
    assert nc.crc32c(data, portable=True) == expected


def test_crc32c_known_vector() -> None:
    assert nc.crc32c(b"123456789") == 0xE3069283
    assert nc.crc32c(b"123456789", portable=True) == 0xE3069283


@given(st.binary(max_size=300), st.binary(max_size=300))
@settings(max_examples=100, deadline=None)
def test_crc32c_incremental(a: bytes, b: bytes) -> None:
    assert nc.crc32c(b, nc.crc32c(a)) == crc32c_ref.crc32c(a + b)
    assert nc.crc32c(b, nc.crc32c(a, portable=True), portable=True) == crc32c_ref.crc32c(a + b)


def test_crc32c_accepts_numpy_and_unaligned() -> None:
    arr = np.arange(1001, dtype="<i4")
    assert nc.crc32c(arr) == crc32c_ref.crc32c(arr.tobytes())
    buf = bytearray(os.urandom(100))
    assert nc.crc32c(memoryview(buf)[3:77]) == crc32c_ref.crc32c(bytes(buf[3:77]))


# ------------------------------------------------------------------ shuffle kernels
def _shuffle_ref(data: bytes, ts: int) -> bytes:
    n = len(data) // ts
    body = np.frombuffer(data[: n * ts], dtype=np.uint8).reshape(n, ts).T.tobytes()
    return body + data[n * ts :]


def _bitshuffle_ref(data: bytes, ts: int) -> bytes:
    n = len(data) // ts
    if n % 8:
        return data
    elems = np.frombuffer(data[: n * ts], dtype=np.uint8).reshape(n, ts)
    bits = np.unpackbits(elems, axis=1, bitorder="little").reshape(n, ts, 8)
    # row (j * 8 + k) holds bit k of byte j of each element, element i at bit i % 8
    rows = bits.transpose(1, 2, 0).reshape(ts * 8, n)
    packed = np.packbits(rows, axis=1, bitorder="little")
    return packed.tobytes() + data[n * ts :]


@given(st.integers(1, 20), st.binary(max_size=700))
@settings(max_examples=150, deadline=None)
def test_shuffle_kernels_match_numpy(ts: int, data: bytes) -> None:
    s = nc.blosc_shuffle(data, ts)
    assert s == _shuffle_ref(data, ts)
    assert nc.blosc_unshuffle(s, ts) == data
    b = nc.blosc_bitshuffle(data, ts)
    assert b == _bitshuffle_ref(data, ts)
    assert nc.blosc_bitunshuffle(b, ts) == data


def test_shuffle_kernel_bad_typesize() -> None:
    with pytest.raises(CodecError):
        nc.blosc_shuffle(b"abcd", 0)


# ------------------------------------------------------------------ uniform entry points
@pytest.mark.parametrize("kind", sorted(PARAMS))
@pytest.mark.parametrize("n", [0, 1, 127, 128, 129, 5000, 70001])
def test_roundtrip_every_kind(kind: str, n: int) -> None:
    data = (np.arange(n, dtype=np.uint32) % 251).astype(np.uint8).tobytes()
    enc = nc.encode(kind, PARAMS[kind], data)
    assert isinstance(enc, bytes)
    assert nc.decode(kind, PARAMS[kind], enc) == data
    assert nc.decode(kind, PARAMS[kind], enc, expected_size=n) == data
    size = nc.decoded_size(kind, PARAMS[kind], enc)
    assert size in (n, None)


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_expected_size_mismatch(kind: str) -> None:
    enc = nc.encode(kind, PARAMS[kind], b"x" * 1000)
    for wrong in (0, 999, 1001, 10**9):
        with pytest.raises(DecodeError, match="expected"):
            nc.decode(kind, PARAMS[kind], enc, expected_size=wrong)


def test_unknown_kind_and_bad_params() -> None:
    with pytest.raises(CodecError, match="unknown native codec kind"):
        nc.encode("snappy", (), b"")
    with pytest.raises(CodecError):
        nc.encode("zstd", tuple(range(20)), b"")
    with pytest.raises(CodecError):
        nc.decode("zstd", (), b"abc", expected_size=-1)
    with pytest.raises(CodecError):
        nc.encode("zstd", (99, 0), b"abc")  # level out of range
    with pytest.raises(CodecError):
        nc.encode("blosc", (42, 5, 1, 4, 0), b"abc")  # unknown compressor


def test_non_contiguous_input_refused() -> None:
    arr = np.arange(100, dtype="u1")[::2]
    with pytest.raises(CodecError, match="contiguous"):
        nc.encode("zstd", (), arr)


def test_crc32c_kind_checksum_error() -> None:
    enc = bytearray(nc.encode("crc32c", (), b"hello world"))
    enc[0] ^= 1
    with pytest.raises(ChecksumError):
        nc.decode("crc32c", (), enc)


def test_zstd_unknown_content_size_and_concatenated_frames() -> None:
    zstandard = pytest.importorskip("zstandard")
    data = os.urandom(1000) * 50
    cctx = zstandard.ZstdCompressor(write_content_size=False)
    stream = cctx.compress(data)
    assert nc.decoded_size("zstd", (), stream) is None
    assert nc.decode("zstd", (), stream) == data
    assert nc.decode("zstd", (), stream, expected_size=len(data)) == data
    with pytest.raises(DecodeError):
        nc.decode("zstd", (), stream, expected_size=len(data) - 1)
    two = nc.encode("zstd", (1, 0), data[:700]) + nc.encode("zstd", (1, 0), data[700:])
    assert nc.decoded_size("zstd", (), two) == len(data)
    assert nc.decode("zstd", (), two) == data
    mixed = nc.encode("zstd", (1, 0), b"abc") + stream
    assert nc.decode("zstd", (), mixed) == b"abc" + data


def test_hostile_size_claims_are_refused_before_allocation() -> None:
    # lz4: a 5-byte input claiming 2 GB
    with pytest.raises(DecodeError):
        nc.decode("lz4", (), b"\xff\xff\xff\x7f\x00")
    # zstd frame header claiming 2**40 bytes of content from a dozen bytes
    frame = bytearray(nc.encode("zstd", (1, 0), b"a" * 300))
    fake = bytes([0x28, 0xB5, 0x2F, 0xFD, 0xC0]) + (2**40).to_bytes(8, "little") + b"\x01\x00\x00"
    for data in (fake, bytes(frame[:4]) + b"\xff" * 20):
        with pytest.raises(DecodeError):
            nc.decode("zstd", (), data)
    # blosc header claiming 2 GB in a 16-byte memcpyed chunk
    hdr = bytes([2, 1, 0x02 | 0x10, 1]) + (2**31 - 17).to_bytes(4, "little")
    hdr += (2**31 - 17).to_bytes(4, "little") + (16).to_bytes(4, "little")
    with pytest.raises(DecodeError):
        nc.decode("blosc", (), hdr)
    # deflate bombs are bounded even without an expected size
    bomb = nc.encode("zlib", (9,), bytes(50_000_000))
    with pytest.raises(DecodeError, match="expected 1000"):
        nc.decode("zlib", (), bomb, expected_size=1000)
