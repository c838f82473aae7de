"""vlen-utf8 / vlen-bytes: numcodecs and zarr-python are the oracles for the byte format."""

from __future__ import annotations

import json
import struct
import warnings

import numcodecs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrfast.abc.codec import ChunkSpec
from zarrfast.codecs.vlen import VLenBytesCodec, VLenUTF8Codec
from zarrfast.errors import CodecError, DecodeError, EncodeError

STRINGS = [
    "",
    "a",
    "foo",
    "héllo",
    "Привет",
    "こんにちは",
    "🎉🚀",
    "x" * 1000,
    "nul\x00inside",
    "ü" * 3,
]
BYTES = [b"", b"a", b"\x00", b"\xff\xfe", b"\x00" * 5, bytes(range(256)), b"y" * 1000]
SHAPES = [(0,), (1,), (7,), (3, 4), (2, 0, 3), (), (2, 3, 2)]


def _spec(shape, vlen="string", dtype=object) -> ChunkSpec:
    fill = "" if vlen == "string" else b""
    return ChunkSpec(shape=tuple(shape), dtype=np.dtype(dtype), fill_value=fill, vlen=vlen)


def _fill(pool, shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    out = np.empty(n, dtype=object)
    out[:] = [pool[i] for i in rng.integers(0, len(pool), n)]
    return out.reshape(shape)


def _assert_items(dec: np.ndarray, expected: np.ndarray, item_type: type) -> None:
    assert dec.dtype == np.dtype(object)
    assert dec.shape == expected.shape
    assert all(type(x) is item_type for x in dec.flat)
    assert dec.tolist() == expected.tolist()


# ============================================================================ round trips
@pytest.mark.parametrize("shape", SHAPES)
def test_utf8_matches_numcodecs(shape):
    arr = _fill(STRINGS, shape)
    codec, spec = VLenUTF8Codec(), _spec(shape)
    codec.validate(spec)
    enc = codec.encode(arr, spec)
    assert isinstance(enc, bytes)
    assert enc == bytes(numcodecs.VLenUTF8().encode(arr))
    _assert_items(codec.decode(enc, spec), arr, str)
    _assert_items(numcodecs.VLenUTF8().decode(enc).reshape(shape), arr, str)


@pytest.mark.parametrize("shape", SHAPES)
def test_bytes_matches_numcodecs(shape):
    arr = _fill(BYTES, shape)
    codec, spec = VLenBytesCodec(), _spec(shape, "bytes")
    codec.validate(spec)
    enc = codec.encode(arr, spec)
    assert enc == bytes(numcodecs.VLenBytes().encode(arr))
    _assert_items(codec.decode(enc, spec), arr, bytes)
    _assert_items(numcodecs.VLenBytes().decode(enc).reshape(shape), arr, bytes)


def test_format_by_hand():
    arr = np.array(["a", "bé", ""], dtype=object)
    enc = VLenUTF8Codec().encode(arr, _spec((3,)))
    assert enc == b"\x03\0\0\0" + b"\x01\0\0\0a" + b"\x03\0\0\0b\xc3\xa9" + b"\0\0\0\0"
    assert VLenUTF8Codec().encode(np.empty((0,), object), _spec((0,))) == b"\0\0\0\0"


def test_string_dtype_input():
    values = ["a", "bé", "", "🎉" * 3, "z"]
    sd = np.array(values, dtype=np.dtypes.StringDType()).reshape(5, 1)
    codec, spec = VLenUTF8Codec(), _spec((5, 1))
    codec.validate(_spec((5, 1), dtype=np.dtypes.StringDType()))
    enc = codec.encode(sd, spec)
    assert enc == bytes(numcodecs.VLenUTF8().encode(sd))
    assert enc == codec.encode(np.array(values, dtype=object).reshape(5, 1), spec)
    _assert_items(codec.decode(enc, spec), np.array(values, dtype=object).reshape(5, 1), str)
    # fixed-width numpy strings work too
    assert codec.encode(np.array(values).reshape(5, 1), spec) == enc


def test_none_encodes_as_empty_like_numcodecs():
    arr = np.array(["foo", None, "bar"], dtype=object)
    enc = VLenUTF8Codec().encode(arr, _spec((3,)))
    assert enc == bytes(numcodecs.VLenUTF8().encode(arr))
    assert VLenUTF8Codec().decode(enc, _spec((3,))).tolist() == ["foo", "", "bar"]
    barr = np.array([b"x", None], dtype=object)
    enc = VLenBytesCodec().encode(barr, _spec((2,), "bytes"))
    assert enc == bytes(numcodecs.VLenBytes().encode(barr))
    assert VLenBytesCodec().decode(enc, _spec((2,), "bytes")).tolist() == [b"x", b""]


def test_subclasses_and_bytes_likes_accepted():
    arr = np.array([np.str_("ab"), "c"], dtype=object)
    assert VLenUTF8Codec().encode(arr, _spec((2,))) == VLenUTF8Codec().encode(
        np.array(["ab", "c"], dtype=object), _spec((2,))
    )
    barr = np.array([np.bytes_(b"ab"), bytearray(b"c"), memoryview(b"de")], dtype=object)
    enc = VLenBytesCodec().encode(barr, _spec((3,), "bytes"))
    assert VLenBytesCodec().decode(enc, _spec((3,), "bytes")).tolist() == [b"ab", b"c", b"de"]


def test_fortran_order_is_written_in_c_order():
    arr = np.asfortranarray(_fill(STRINGS, (3, 4)))
    c_arr = np.ascontiguousarray(arr)
    enc = VLenUTF8Codec().encode(arr, _spec((3, 4)))
    assert enc == bytes(numcodecs.VLenUTF8().encode(c_arr))
    _assert_items(VLenUTF8Codec().decode(enc, _spec((3, 4))), c_arr, str)


def test_accepts_buffer_types():
    arr = _fill(STRINGS, (6,))
    enc = VLenUTF8Codec().encode(arr, _spec((6,)))
    for buf in (bytearray(enc), memoryview(enc), np.frombuffer(enc, dtype="u1")):
        _assert_items(VLenUTF8Codec().decode(buf, _spec((6,))), arr, str)


# ============================================================================ encode errors
@pytest.mark.parametrize("bad", [3, 1.5, b"bytes", float("nan"), ["list"]])
def test_utf8_refuses_non_str(bad):
    arr = np.empty(3, dtype=object)
    arr[:] = ["ok", bad, "ok"]
    with pytest.raises(TypeError):
        numcodecs.VLenUTF8().encode(arr)
    with pytest.raises(EncodeError, match=r"expected str \(or None\) items, element 1 is"):
        VLenUTF8Codec().encode(arr, _spec((3,)))


@pytest.mark.parametrize("bad", [3, "text", 2.0])
def test_bytes_refuses_non_bytes(bad):
    arr = np.array([b"ok", bad], dtype=object)
    with pytest.raises(EncodeError, match=r"expected bytes \(or None\) items, element 1 is"):
        VLenBytesCodec().encode(arr, _spec((2,), "bytes"))


def test_utf8_refuses_unencodable_surrogate():
    arr = np.array(["ok", "bad\ud800"], dtype=object)
    with pytest.raises(EncodeError, match="element 1 is not encodable as UTF-8"):
        VLenUTF8Codec().encode(arr, _spec((2,)))


def test_encode_refuses_wrong_size():
    with pytest.raises(EncodeError, match="expected 4 elements"):
        VLenUTF8Codec().encode(np.array(["a", "b"], dtype=object), _spec((2, 2)))


# ============================================================================ decode errors
def _small_encoding() -> bytes:
    return VLenUTF8Codec().encode(np.array(["ab", "", "cde"], dtype=object), _spec((3,)))


@pytest.mark.parametrize("codec", [VLenUTF8Codec(), VLenBytesCodec()])
def test_truncated_at_every_position(codec):
    enc = _small_encoding()
    spec = _spec((3,), codec._vlen)
    assert len(codec.decode(enc, spec)) == 3
    for cut in range(len(enc)):
        with pytest.raises(DecodeError, match=r"expected|remain|need"):
            codec.decode(enc[:cut], spec)


def test_trailing_bytes_refused():
    enc = _small_encoding()
    with pytest.raises(DecodeError, match="1 trailing bytes"):
        VLenUTF8Codec().decode(enc + b"\0", _spec((3,)))


def test_count_must_match_chunk():
    enc = _small_encoding()
    with pytest.raises(DecodeError, match=r"expected an element count of 4 .* found 3"):
        VLenUTF8Codec().decode(enc, _spec((4,)))
    with pytest.raises(DecodeError, match=r"expected an element count of 2 .* found 3"):
        VLenUTF8Codec().decode(enc, _spec((2,)))
    too_big = struct.pack("<I", 4) + enc[4:]
    with pytest.raises(DecodeError, match="found 4"):
        VLenUTF8Codec().decode(too_big, _spec((3,)))


def test_huge_count_refused_before_allocating():
    # The chunk *could* hold 2**32-1 elements, but 12 bytes cannot: refused up front.
    data = struct.pack("<I", 0xFFFFFFFF) + b"\0" * 8
    with pytest.raises(DecodeError, match="need at least 17179869184 bytes, got 12"):
        VLenUTF8Codec().decode(data, _spec((0xFFFFFFFF,)))
    with pytest.raises(DecodeError, match="expected an element count of 1"):
        VLenUTF8Codec().decode(data, _spec((1,)))


@pytest.mark.parametrize("length", [4, 1000, 0xFFFFFFFF])
def test_element_length_too_big(length):
    data = struct.pack("<I", 2) + struct.pack("<I", 1) + b"a" + struct.pack("<I", length) + b"bcd"
    pattern = f"element 1 of 2 claims {length} bytes .* only 3 bytes remain"
    with pytest.raises(DecodeError, match=pattern):
        VLenBytesCodec().decode(data, _spec((2,), "bytes"))


def test_invalid_utf8_refused():
    data = struct.pack("<I", 2) + struct.pack("<I", 1) + b"a" + struct.pack("<I", 2) + b"\xff\xfe"
    with pytest.raises(DecodeError, match="expected UTF-8 text in element 1"):
        VLenUTF8Codec().decode(data, _spec((2,)))
    assert VLenBytesCodec().decode(data, _spec((2,), "bytes")).tolist() == [b"a", b"\xff\xfe"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 6))
def test_garbage_never_crashes(data, n):
    for codec, vlen in ((VLenUTF8Codec(), "string"), (VLenBytesCodec(), "bytes")):
        try:
            out = codec.decode(data, _spec((n,), vlen))
        except DecodeError:
            continue
        assert out.shape == (n,) and out.dtype == np.dtype(object)
        assert codec.encode(out, _spec((n,), vlen)) == data  # a valid frame re-encodes exactly


# ============================================================================ hypothesis
@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=30))
def test_utf8_hypothesis(values):
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    try:
        expected = bytes(numcodecs.VLenUTF8().encode(arr))
    except UnicodeEncodeError:  # lone surrogates: numcodecs refuses too
        with pytest.raises(EncodeError):
            VLenUTF8Codec().encode(arr, _spec(arr.shape))
        return
    enc = VLenUTF8Codec().encode(arr, _spec(arr.shape))
    assert enc == expected
    assert VLenUTF8Codec().decode(enc, _spec(arr.shape)).tolist() == values


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=20), max_size=30))
def test_bytes_hypothesis(values):
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    enc = VLenBytesCodec().encode(arr, _spec(arr.shape, "bytes"))
    assert enc == bytes(numcodecs.VLenBytes().encode(arr))
    assert VLenBytesCodec().decode(enc, _spec(arr.shape, "bytes")).tolist() == values


# ============================================================================ config / spec
def test_configs():
    from zarr.codecs import VLenBytesCodec as ZBytes
    from zarr.codecs import VLenUTF8Codec as ZUTF8

    assert VLenUTF8Codec().to_config() == {"name": "vlen-utf8", "configuration": {}}
    assert VLenUTF8Codec().to_config() == ZUTF8().to_dict()
    assert VLenBytesCodec().to_config() == {"name": "vlen-bytes", "configuration": {}}
    assert VLenBytesCodec().to_config() == ZBytes().to_dict()
    assert VLenUTF8Codec().to_v2_config() == numcodecs.VLenUTF8().get_config()
    assert VLenBytesCodec().to_v2_config() == numcodecs.VLenBytes().get_config()
    assert VLenUTF8Codec().to_v2_config() == {"id": "vlen-utf8"}
    assert VLenUTF8Codec.from_config({}) == VLenUTF8Codec()
    assert VLenBytesCodec.from_v2_config({"id": "vlen-bytes"}) == VLenBytesCodec()
    assert VLenUTF8Codec() != VLenBytesCodec()
    assert VLenUTF8Codec().native_spec() is None and VLenBytesCodec().native_spec() is None
    assert (VLenUTF8Codec.name, VLenUTF8Codec.v2_id) == ("vlen-utf8", "vlen-utf8")
    assert (VLenBytesCodec.name, VLenBytesCodec.v2_id) == ("vlen-bytes", "vlen-bytes")
    with pytest.raises(CodecError, match="expected an empty configuration"):
        VLenUTF8Codec.from_config({"x": 1})
    with pytest.raises(CodecError, match="expected no parameters"):
        VLenBytesCodec.from_v2_config({"id": "vlen-bytes", "x": 1})
    with pytest.raises(CodecError, match="does not have a fixed encoded size"):
        VLenUTF8Codec().encoded_size(10)


def test_validate():
    VLenUTF8Codec().validate(_spec((2,)))
    VLenUTF8Codec().validate(_spec((2,), vlen=None))  # a v2 "|O" array not tagged upstream
    VLenBytesCodec().validate(_spec((2,), "bytes"))
    with pytest.raises(CodecError, match="expected a variable-length string chunk"):
        VLenUTF8Codec().validate(_spec((2,), "bytes"))
    with pytest.raises(CodecError, match="expected a variable-length bytes chunk"):
        VLenBytesCodec().validate(_spec((2,), "string"))
    with pytest.raises(CodecError, match="got dtype int32"):
        VLenUTF8Codec().validate(_spec((2,), vlen=None, dtype="i4"))
    with pytest.raises(CodecError):
        VLenBytesCodec().validate(_spec((2,), "bytes", dtype=np.dtypes.StringDType()))


# ============================================================================ zarr-python interop
def _zarr_array(path, values, zarr_format, dtype, chunks):
    import zarr
    from zarr.errors import UnstableSpecificationWarning

    with warnings.catch_warnings():
        # variable_length_bytes has no finished v3 spec; zarr-python says so
        warnings.simplefilter("ignore", UnstableSpecificationWarning)
        z = zarr.create_array(
            str(path),
            shape=values.shape,
            chunks=chunks,
            dtype=dtype,
            compressors=None,
            zarr_format=zarr_format,
        )
        z[...] = values
    return z


def _chunk_file(path, zarr_format, idx):
    if zarr_format == 3:
        return path.joinpath("c", *map(str, idx))
    return path / ".".join(map(str, idx))


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("kind", ["string", "bytes"])
def test_zarr_python_chunks(tmp_path, zarr_format, kind):
    import zarr
    from zarr.dtype import VariableLengthBytes

    pool = STRINGS if kind == "string" else BYTES
    codec = VLenUTF8Codec() if kind == "string" else VLenBytesCodec()
    dtype = str if kind == "string" else VariableLengthBytes()
    values = _fill(pool, (5, 7), seed=5)
    path = tmp_path / "a"
    _zarr_array(path, values, zarr_format, dtype, (2, 3))

    if zarr_format == 3:
        meta = json.loads((path / "zarr.json").read_text())
        assert meta["codecs"] == [codec.to_config()]
    else:
        meta = json.loads((path / ".zarray").read_text())
        assert meta["dtype"] == "|O" and meta["compressor"] is None
        assert meta["filters"] == [codec.to_v2_config()]

    spec = _spec((2, 3), kind)
    fill = "" if kind == "string" else b""
    for i in range(3):
        for j in range(3):
            raw = _chunk_file(path, zarr_format, (i, j)).read_bytes()
            dec = codec.decode(raw, spec)
            inside = values[2 * i : 2 * i + 2, 3 * j : 3 * j + 3]
            assert dec[: inside.shape[0], : inside.shape[1]].tolist() == inside.tolist()
            # edge chunks are stored at full size; we write them back byte for byte
            assert all(x == fill for x in dec[inside.shape[0] :, :].flat)
            assert all(x == fill for x in dec[:, inside.shape[1] :].flat)
            assert codec.encode(dec, spec) == raw

    # chunks we write are read by zarr-python
    new = _fill(pool, (2, 3), seed=9)
    _chunk_file(path, zarr_format, (0, 0)).write_bytes(codec.encode(new, spec))
    got = zarr.open_array(str(path), mode="r")[0:2, 0:3]
    assert np.asarray(got, dtype=object).tolist() == new.tolist()
