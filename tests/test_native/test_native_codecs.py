"""Tests of zarrfast._native._codecs: the C kernels and the uniform encode/decode entry."""

from __future__ import annotations

import gzip
import os
import zlib

import crc32c as crc32c_ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrfast._native import _codecs as nc
from zarrfast._native import _pipeline
from zarrfast.config import set_config
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
    assert set(v) == {"zstd", "lz4", "zlib", "libdeflate", "blosc2", "crc32c_hw"}
    assert v["blosc2"].startswith(("2.", "3."))
    assert v["libdeflate"].startswith("1.")


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


# ------------------------------------------------------------------ zlib / gzip (libdeflate)
# Decoding goes through libdeflate; zlib's streamed inflate (nc._inflate_status(...,
# reference=True)) is the reference whose status codes it must reproduce exactly.
ST_OK, ST_CORRUPT, ST_TRUNCATED, ST_DST_FULL, ST_TRAILING = 0, -1, -2, -3, -11
MiB = 1 << 20


def _deflate_payloads() -> dict[str, bytes]:
    rng = np.random.default_rng(11)
    smooth = (np.sin(np.arange(MiB // 2) / 300) * 1000).astype("<i2").tobytes()
    return {
        "empty": b"",
        "one": b"\x07",
        "text": b"zarrfast decodes zlib with libdeflate. " * 300,
        "random": rng.integers(0, 256, 5000, dtype="u1").tobytes(),
        "smooth_1MiB": smooth,
        "zeros_1MiB": bytes(MiB),
    }


DEFLATE_PAYLOADS = _deflate_payloads()


def _python_encode(kind: str, data: bytes, level: int) -> bytes:
    if kind == "zlib":
        return zlib.compress(data, level)
    return gzip.compress(data, compresslevel=max(level, 0), mtime=0)


def _both_statuses(kind: str, data: bytes, cap: int) -> tuple[tuple, tuple]:
    gz = kind == "gzip"
    return nc._inflate_status(gz, data, cap), nc._inflate_status(gz, data, cap, reference=True)


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
@pytest.mark.parametrize("level", [0, 1, 6, 9])
@pytest.mark.parametrize("name", sorted(DEFLATE_PAYLOADS))
def test_deflate_decodes_python_streams(kind: str, level: int, name: str) -> None:
    data = DEFLATE_PAYLOADS[name]
    enc = _python_encode(kind, data, level)
    assert nc.decode(kind, (), enc, expected_size=len(data)) == data
    assert nc.decode(kind, (), enc) == data  # size unknown: the growing path
    assert nc._inflate_status(kind == "gzip", enc, len(data)) == (ST_OK, data)
    assert nc._inflate_status(kind == "gzip", enc, len(data) + 100) == (ST_OK, data)


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
def test_deflate_python_default_level_and_numpy_input(kind: str) -> None:
    data = DEFLATE_PAYLOADS["text"]
    enc = zlib.compress(data) if kind == "zlib" else gzip.compress(data)
    view = np.frombuffer(enc, dtype="u1")
    assert nc.decode(kind, (), view, expected_size=len(data)) == data


def test_gzip_multi_member_and_padding() -> None:
    parts = [b"first member ", b"", b"third" * 1000, bytes(70000)]
    stream = b"".join(
        gzip.compress(p, compresslevel=lvl, mtime=0) for p, lvl in zip(parts, (1, 9, 6, 0))
    )
    whole = b"".join(parts)
    assert nc.decode("gzip", (), stream) == whole
    assert nc.decode("gzip", (), stream, expected_size=len(whole)) == whole
    assert nc.decode("gzip", (), stream + bytes(7)) == whole  # zero padding is ignored
    with pytest.raises(DecodeError, match="expected"):
        nc.decode("gzip", (), stream, expected_size=len(whole) - 1)  # last member overflows
    for trailer, status in (
        (b"x", ST_TRAILING),
        (b"\x1f", ST_TRAILING),  # half a magic number
        (b"\x00\x00\x01", ST_TRAILING),  # padding that is not all zeros
        (b"\x1f\x8b", ST_TRUNCATED),  # a member that starts and stops
        (b"\x1f\x8b\x08\x00", ST_TRUNCATED),
        (b"\x1f\x8b\x09" + bytes(20), ST_CORRUPT),  # unknown compression method
    ):
        new, ref = _both_statuses("gzip", stream + trailer, len(whole) + 10)
        assert new == ref == (status, None), trailer
        with pytest.raises(DecodeError):
            nc.decode("gzip", (), stream + trailer)


def test_zlib_trailing_bytes_are_refused() -> None:
    # zlib (RFC 1950) is one stream: anything after it, even a second stream or zeros, is
    # an error (unlike gzip's members and padding).
    data = DEFLATE_PAYLOADS["text"]
    enc = zlib.compress(data, 1)
    for extra in (b"\x00", b"junk", enc):
        new, ref = _both_statuses("zlib", enc + extra, len(data) * 3)
        assert new == ref == (ST_TRAILING, None)
        with pytest.raises(DecodeError, match="trailing"):
            nc.decode("zlib", (), enc + extra)
        with pytest.raises(DecodeError, match="trailing"):
            nc.decode("zlib", (), enc + extra, expected_size=len(data))


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
@pytest.mark.parametrize("name", ["text", "random", "smooth_1MiB"])
def test_deflate_truncated_input(kind: str, name: str) -> None:
    data = DEFLATE_PAYLOADS[name]
    for level in (0, 6):
        enc = _python_encode(kind, data, level)
        cuts = sorted({1, 2, 3, 4, 5, 8, 9, 17, len(enc) // 3, len(enc) // 2, len(enc) - 1})
        for cut in cuts:
            part = enc[: len(enc) - cut]
            # room to spare: running out of input is reported as truncation
            assert _both_statuses(kind, part, len(data) + 64)[0] == (ST_TRUNCATED, None)
            with pytest.raises(DecodeError, match="truncated"):
                nc.decode(kind, (), part)
            with pytest.raises(DecodeError):
                nc.decode(kind, (), part, expected_size=len(data))
            for cap in (len(data) - 1, len(data), len(data) + 1):
                if cap >= 0:
                    new, ref = _both_statuses(kind, part, cap)
                    assert new == ref and new[0] != ST_OK, (cut, cap)


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
def test_deflate_corrupt_input(kind: str) -> None:
    data = DEFLATE_PAYLOADS["text"]
    enc = bytearray(_python_encode(kind, data, 6))
    checksum = bytearray(enc)
    checksum[-5 if kind == "gzip" else -1] ^= 0x40  # CRC32 / Adler-32 of the data
    header = bytearray(enc)
    header[1 if kind == "zlib" else 0] ^= 0x01  # FCHECK / magic
    block = bytearray(enc)
    block[12] ^= 0xFF
    for bad in (checksum, header, block):
        new, ref = _both_statuses(kind, bytes(bad), len(data))
        assert new == ref and new[0] in (ST_CORRUPT, ST_DST_FULL)
        with pytest.raises(DecodeError):
            nc.decode(kind, (), bytes(bad), expected_size=len(data))
    with pytest.raises(DecodeError, match="corrupt"):
        nc.decode(kind, (), bytes(checksum), expected_size=len(data))
    with pytest.raises(DecodeError, match="corrupt"):
        nc.decode(kind, (), bytes(header))


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
def test_deflate_output_larger_or_smaller_than_expected(kind: str) -> None:
    data = DEFLATE_PAYLOADS["smooth_1MiB"]
    enc = _python_encode(kind, data, 1)
    for cap in (0, 1, len(data) // 2, len(data) - 1):
        assert _both_statuses(kind, enc, cap) == ((ST_DST_FULL, None), (ST_DST_FULL, None))
    with pytest.raises(DecodeError, match="decodes to more"):
        nc.decode(kind, (), enc, expected_size=len(data) - 1)
    with pytest.raises(DecodeError, match=f"expected {len(data) + 1} decoded bytes, got"):
        nc.decode(kind, (), enc, expected_size=len(data) + 1)
    assert nc._inflate_status(kind == "gzip", enc, 2 * len(data)) == (ST_OK, data)
    empty = _python_encode(kind, b"", 6)
    assert _both_statuses(kind, empty, 0) == ((ST_OK, b""), (ST_OK, b""))
    with pytest.raises(DecodeError, match="expected 5 decoded bytes, got 0"):
        nc.decode(kind, (), empty, expected_size=5)


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
def test_deflate_empty_and_tiny_inputs(kind: str) -> None:
    for junk in (b"", b"\x78", b"\x1f\x8b", b"\x78\x9c", bytes(3), b"\xff" * 10):
        for cap in (0, 1, 100):
            new, ref = _both_statuses(kind, junk, cap)
            assert new == ref and new[0] != ST_OK, (junk, cap)
        with pytest.raises(DecodeError):
            nc.decode(kind, (), junk)


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_deflate_statuses_match_zlib(kind: str, data: st.DataObject) -> None:
    payload = data.draw(
        st.one_of(
            st.binary(max_size=600),
            st.sampled_from([DEFLATE_PAYLOADS["text"], DEFLATE_PAYLOADS["random"]]),
        )
    )
    enc = bytearray(_python_encode(kind, payload, data.draw(st.sampled_from([0, 1, 6, 9]))))
    for _ in range(data.draw(st.integers(0, 3))):
        enc[data.draw(st.integers(0, len(enc) - 1))] = data.draw(st.integers(0, 255))
    enc = enc[: data.draw(st.integers(0, len(enc)))] + data.draw(st.binary(max_size=3))
    cap = data.draw(st.sampled_from([0, len(payload) - 1, len(payload), len(payload) + 7]))
    new, ref = _both_statuses(kind, bytes(enc), max(cap, 0))
    if new != ref:
        # the one documented difference (zf_codecs.h): libdeflate reads the reserved length
        # symbols 286/287 as 258, zlib refuses them; the checksum still had to match
        assert ref == (ST_CORRUPT, None)
        assert new in ((ST_OK, payload), (ST_TRAILING, None))


def test_deflate_reserved_length_symbol_is_the_only_difference() -> None:
    # a fixed-Huffman stream whose length-258 symbol (285) was flipped to reserved 287
    stream = bytes.fromhex(
        "789cab4a2c2a4a4b2c2e51c8c94c4a494dcb492c4955a81a151b171b15038b0100e99534f8"
    )
    payload = b"zarrfast libdeflate " * 40
    assert zlib.compress(payload, 6) == stream.replace(b"\x1b\x17\x1b", b"\x1b\x15\x1b")
    assert _both_statuses("zlib", stream, len(payload)) == ((ST_OK, payload), (ST_CORRUPT, None))


def test_gzip_header_crc_is_verified() -> None:
    # FHCRC: libdeflate skips the header CRC-16, zlib checks it; we check it too, so the
    # answer does not depend on which decoder ran (or on the output capacity)
    data = b"header crc " * 50
    member = gzip.compress(data, mtime=0)
    hdr = bytearray(member[:10])
    hdr[3] |= 0x02 | 0x08  # FHCRC + FNAME
    hdr += b"name.bin\x00"
    crc = zlib.crc32(bytes(hdr)) & 0xFFFF
    good = bytes(hdr) + crc.to_bytes(2, "little") + member[10:]
    bad = bytes(hdr) + (crc ^ 0x0101).to_bytes(2, "little") + member[10:]
    for cap in (len(data), len(data) + 10, 10):
        assert _both_statuses("gzip", good, cap)[0] == _both_statuses("gzip", good, cap)[1]
        new, ref = _both_statuses("gzip", bad, cap)
        assert new == ref and new[0] in (ST_CORRUPT, ST_DST_FULL)
    assert nc.decode("gzip", (), good) == data
    assert nc.decode("gzip", (), good + good, expected_size=2 * len(data)) == data * 2
    for bad_input in (bad, good + bad):
        with pytest.raises(DecodeError, match="corrupt"):
            nc.decode("gzip", (), bad_input)
        with pytest.raises(DecodeError, match="corrupt"):
            nc.decode("gzip", (), bad_input, expected_size=len(bad_input) * 10)


@pytest.mark.parametrize("kind", ["zlib", "gzip"])
def test_deflate_batch_reuses_decompressor(kind: str) -> None:
    # the batch pipeline keeps one libdeflate decompressor per worker (zf_codec_ctx):
    # many chunks, a failure in the middle and the chunks after it must not interfere
    rng = np.random.default_rng(3)
    size = 40_000
    chunks = [(np.arange(size) % (i + 2)).astype("u1").tobytes() for i in range(12)]
    chunks[5] = rng.integers(0, 256, size, dtype="u1").tobytes()
    enc = [_python_encode(kind, c, i % 10) for i, c in enumerate(chunks)]
    out = np.zeros(len(chunks) * size, "u1")
    code = nc.KINDS[kind]
    with set_config(num_threads=2):
        _pipeline.decode_raw_into(code, (), enc, out, size)
        assert out.tobytes() == b"".join(chunks)
        bad = list(enc)
        bad[7] = enc[7][:-3]
        with pytest.raises(DecodeError, match="payload 7"):
            _pipeline.decode_raw_into(code, (), bad, out, size)
        for t in (0, 6, 8, 11):
            assert out[t * size : (t + 1) * size].tobytes() == chunks[t]
