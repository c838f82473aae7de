"""numcodecs v2 filters: delta, fixedscaleoffset, astype, shuffle.

numcodecs is the oracle: encoded bytes must match it bit for bit, its decoder must read
ours, and our configs must equal its ``get_config()`` (also as JSON text).
"""

from __future__ import annotations

import json
import warnings

import numcodecs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrfast.abc.codec import ChunkSpec
from zarrfast.codecs.astype import AsTypeCodec
from zarrfast.codecs.delta import DeltaCodec
from zarrfast.codecs.fixedscaleoffset import FixedScaleOffsetCodec
from zarrfast.codecs.shuffle import ShuffleCodec
from zarrfast.errors import CodecError, DecodeError, EncodeError

SHAPES = [(0,), (1,), (17,), (4, 5), (2, 3, 4), (), (3, 0)]


def _spec(shape: tuple[int, ...], dtype: str | np.dtype) -> ChunkSpec:
    return ChunkSpec(shape=shape, dtype=np.dtype(dtype), fill_value=0)


def _random(dtype: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        native = dt.newbyteorder("=")
        arr = rng.integers(info.min, info.max, size=shape, dtype=native, endpoint=True)
    else:
        arr = rng.normal(0, 1000, size=shape)
    return arr.astype(dt)


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    assert a.dtype == b.dtype
    assert a.size == b.size
    assert a.tobytes() == b.tobytes()


def _check_configs(ours, theirs) -> None:
    cfg = theirs.get_config()
    assert ours.to_v2_config() == cfg
    assert json.dumps(ours.to_v2_config()) == json.dumps(cfg)
    assert type(ours).from_v2_config(cfg) == ours
    assert type(ours).from_v2_config(json.loads(json.dumps(cfg))) == ours
    v3 = ours.to_config()
    conf = {k: v for k, v in cfg.items() if k != "id"}
    assert v3 == {"name": f"numcodecs.{cfg['id']}", "configuration": conf}
    assert type(ours).from_config(v3["configuration"]) == ours


def _zarr_v3_form(ours) -> dict:
    """What zarr-python 3 writes for the same numcodecs config."""
    import zarr.codecs.numcodecs as znc

    cls = {
        "delta": znc.Delta,
        "fixedscaleoffset": znc.FixedScaleOffset,
        "astype": znc.AsType,
        "shuffle": znc.Shuffle,
    }[ours.v2_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "numcodecs codecs are not in the v3 spec"
        return cls(**ours.to_v2_config()).to_dict()


# ============================================================================ delta
DELTA_TYPES = [
    ("i1", None),
    ("i2", None),
    ("<i4", None),
    (">i4", None),
    ("<i8", None),
    ("u1", None),
    ("<u2", None),
    ("<u8", None),
    ("<f4", None),
    ("<f8", None),
    (">f8", None),
    ("<i2", "i1"),
    ("<i8", "<i4"),
    ("<u4", "<u2"),
    ("<f8", "<f4"),
    ("<i4", "<f8"),
]


@pytest.mark.parametrize(("dtype", "astype"), DELTA_TYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_delta_matches_numcodecs(dtype, astype, shape):
    rng = np.random.default_rng(1)
    arr = _random(dtype, shape, rng)
    ours = DeltaCodec(dtype, astype)
    theirs = numcodecs.Delta(dtype, astype)
    if arr.size and theirs.astype.itemsize < theirs.dtype.itemsize:
        arr.flat[0] = 0  # the first element is stored as is and must fit astype
    if astype and np.dtype(astype).kind == "f" and arr.dtype.kind in "iu":
        arr = (arr // 2**16).astype(dtype)  # keep the float cumsum inside the int range
    spec = _spec(shape, dtype)
    ours.validate(spec)
    enc = ours.encode(arr, spec)
    assert enc.shape == arr.shape
    assert ours.resolve_spec(spec) == spec.with_dtype(theirs.astype)
    assert enc.dtype == theirs.astype
    if arr.size:  # numcodecs cannot encode an empty chunk (IndexError)
        _same_bits(enc, theirs.encode(arr))
        dec = ours.decode(enc, spec)
        assert dec.shape == shape and dec.dtype == np.dtype(dtype)
        _same_bits(dec, theirs.decode(enc.tobytes()))
    else:
        assert ours.decode(enc, spec).shape == shape
    if astype is None and np.dtype(dtype).kind in "iu":
        # integer deltas wrap and the cumsum wraps back: exact even at the extremes
        _same_bits(ours.decode(enc, spec), arr)


def test_delta_wraparound_extremes():
    arr = np.array([127, -128, 127, 0, -128, -1], dtype="i1")
    ours, theirs = DeltaCodec("i1"), numcodecs.Delta("i1")
    enc = ours.encode(arr, _spec(arr.shape, "i1"))
    _same_bits(enc, theirs.encode(arr))
    _same_bits(ours.decode(enc, _spec(arr.shape, "i1")), arr)
    # too-narrow astype wraps silently, exactly like numcodecs
    arr16 = np.array([10, -1000, 30000], dtype="<i2")
    ours, theirs = DeltaCodec("<i2", "i1"), numcodecs.Delta("<i2", "i1")
    enc = ours.encode(arr16, _spec(arr16.shape, "<i2"))
    _same_bits(enc, theirs.encode(arr16))
    _same_bits(ours.decode(enc, _spec(arr16.shape, "<i2")), theirs.decode(enc))


def test_delta_first_element_must_fit_astype():
    arr = np.array([1000, 1001], dtype="<i2")
    with pytest.raises(OverflowError):
        numcodecs.Delta("<i2", "i1").encode(arr)
    with pytest.raises(EncodeError, match="first element"):
        DeltaCodec("<i2", "i1").encode(arr, _spec(arr.shape, "<i2"))


def test_delta_docstring_example():
    x = np.arange(100, 120, 2, dtype="i2")
    codec = DeltaCodec("i2", "i1")
    y = codec.encode(x, _spec(x.shape, "i2"))
    assert y.tolist() == [100] + [2] * 9 and y.dtype == np.int8
    assert codec.decode(y, _spec(x.shape, "i2")).tolist() == x.tolist()


def test_delta_views_same_itemsize_like_numcodecs():
    # An array stored big-endian with a little-endian filter: numcodecs reinterprets.
    arr = (np.arange(10) * 1000).astype(">i4")
    ours, theirs = DeltaCodec("<i4"), numcodecs.Delta("<i4")
    spec = _spec(arr.shape, ">i4")
    ours.validate(spec)
    enc = ours.encode(arr, spec)
    _same_bits(enc, theirs.encode(arr))
    dec = ours.decode(enc, spec)
    assert dec.dtype == np.dtype(">i4")
    _same_bits(dec, arr)


def test_delta_f_order_input_is_flattened_in_c_order():
    arr = np.asfortranarray(np.arange(12, dtype="<i4").reshape(3, 4) ** 2)
    ours = DeltaCodec("<i4")
    enc = ours.encode(arr, _spec(arr.shape, "<i4"))
    _same_bits(enc, numcodecs.Delta("<i4").encode(np.ascontiguousarray(arr)))


@pytest.mark.parametrize(("dtype", "astype"), [("<i4", None), ("i1", "<i2"), (">f8", "<f4")])
def test_delta_config(dtype, astype):
    ours = DeltaCodec(dtype, astype)
    _check_configs(ours, numcodecs.Delta(dtype, astype))
    assert ours.to_config() == _zarr_v3_form(ours)
    assert DeltaCodec.from_v2_config({"id": "delta", "dtype": dtype}) == DeltaCodec(dtype)


def test_delta_refusals():
    with pytest.raises(CodecError, match="object"):
        DeltaCodec("O")
    with pytest.raises(CodecError, match="dtype"):
        DeltaCodec("not-a-dtype")
    with pytest.raises(CodecError, match="unexpected keyword"):
        DeltaCodec.from_v2_config({"id": "delta", "dtype": "<i4", "bogus": 1})
    with pytest.raises(CodecError, match="itemsize 2"):
        DeltaCodec("<i2").validate(_spec((4,), "<i4"))
    with pytest.raises(CodecError, match="vlen"):
        DeltaCodec("<i2").validate(ChunkSpec((4,), np.dtype("O"), "", "string"))
    with pytest.raises(DecodeError, match="expected 4 elements"):
        DeltaCodec("<i4").decode(np.zeros(3, "<i4"), _spec((4,), "<i4"))
    with pytest.raises(EncodeError, match="itemsize 4"):
        DeltaCodec("<i4").encode(np.zeros(3, "<i2"), _spec((3,), "<i2"))


# ============================================================================ fixedscaleoffset
FSO_CASES = [
    (1000, 10, "<f8", "u1", lambda rng, s: np.linspace(1000, 1001, int(np.prod(s))).reshape(s)),
    (0, 100, "<f4", "<i2", lambda rng, s: rng.uniform(-300, 300, s).astype("<f4")),
    (1.5, 2.5, "<f8", "<i4", lambda rng, s: rng.normal(0, 1e5, s)),
    (0, 1, "<i4", "<i2", lambda rng, s: rng.integers(-30000, 30000, s, dtype="<i4")),
    (-3, 0.5, ">f8", "<f8", lambda rng, s: rng.normal(0, 10, s).astype(">f8")),
    (2, 4, "<f8", None, lambda rng, s: rng.normal(0, 10, s)),
]


@pytest.mark.parametrize(("offset", "scale", "dtype", "astype", "make"), FSO_CASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_fixedscaleoffset_matches_numcodecs(offset, scale, dtype, astype, make, shape):
    arr = make(np.random.default_rng(2), shape).astype(dtype)
    ours = FixedScaleOffsetCodec(offset, scale, dtype, astype)
    theirs = numcodecs.FixedScaleOffset(offset, scale, dtype, astype)
    spec = _spec(shape, dtype)
    ours.validate(spec)
    assert ours.resolve_spec(spec) == spec.with_dtype(theirs.astype)
    enc = ours.encode(arr, spec)
    assert enc.shape == shape and enc.dtype == theirs.astype
    _same_bits(enc, theirs.encode(arr))
    dec = ours.decode(enc, spec)
    assert dec.shape == shape and dec.dtype == np.dtype(dtype)
    _same_bits(dec, theirs.decode(enc.tobytes()))


def test_fixedscaleoffset_docstring_example():
    x = np.linspace(1000, 1001, 10, dtype="f8")
    codec = FixedScaleOffsetCodec(offset=1000, scale=10, dtype="f8", astype="u1")
    y = codec.encode(x, _spec(x.shape, "f8"))
    assert y.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    np.testing.assert_allclose(codec.decode(y, _spec(x.shape, "f8")), np.round(x, 1))


@pytest.mark.parametrize(
    ("offset", "scale", "dtype", "astype"),
    [
        (1000, 10, "<f8", "u1"),
        (1.5, 2.5, "<f4", "<i2"),
        (0, 1, "<i4", None),
        (-7, 1e-3, ">f8", ">i8"),
    ],
)
def test_fixedscaleoffset_config(offset, scale, dtype, astype):
    ours = FixedScaleOffsetCodec(offset, scale, dtype, astype)
    _check_configs(ours, numcodecs.FixedScaleOffset(offset, scale, dtype, astype))
    assert ours.to_config() == _zarr_v3_form(ours)
    # an int offset stays an int in the JSON (numcodecs writes what it was given)
    assert json.dumps(FixedScaleOffsetCodec(1, 2, "<f8").to_v2_config()) == json.dumps(
        numcodecs.FixedScaleOffset(1, 2, "<f8").get_config()
    )


def test_fixedscaleoffset_refusals():
    for bad in ("1", None, True, float("nan"), float("inf")):
        with pytest.raises(CodecError, match="offset"):
            FixedScaleOffsetCodec(bad, 1, "<f8")
    with pytest.raises(CodecError, match="non-zero"):
        FixedScaleOffsetCodec(0, 0, "<f8")
    with pytest.raises(CodecError, match="object"):
        FixedScaleOffsetCodec(0, 1, "<f8", "O")
    with pytest.raises(CodecError, match="missing"):
        FixedScaleOffsetCodec.from_v2_config({"id": "fixedscaleoffset", "scale": 1, "dtype": "<f8"})
    with pytest.raises(CodecError, match="itemsize 8"):
        FixedScaleOffsetCodec(0, 1, "<f8").validate(_spec((2,), "<f4"))
    with pytest.raises(EncodeError, match="offset"):
        FixedScaleOffsetCodec(1000, 1, "i1").encode(np.zeros(3, "i1"), _spec((3,), "i1"))
    assert FixedScaleOffsetCodec(np.float64(0.5), np.int32(3), "<f8").to_v2_config()["scale"] == 3


# ============================================================================ astype
ASTYPE_CASES = [
    ("<i2", "<f8"),
    ("i1", "<i2"),
    ("<f4", "<f8"),
    ("<f8", "<f4"),
    ("<u4", "<i4"),
    (">i4", "<i4"),
]


@pytest.mark.parametrize(("encode_dtype", "decode_dtype"), ASTYPE_CASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_astype_matches_numcodecs(encode_dtype, decode_dtype, shape):
    rng = np.random.default_rng(3)
    arr = rng.integers(-100, 100, size=shape).astype(decode_dtype)
    ours = AsTypeCodec(encode_dtype, decode_dtype)
    theirs = numcodecs.AsType(encode_dtype, decode_dtype)
    spec = _spec(shape, decode_dtype)
    ours.validate(spec)
    assert ours.resolve_spec(spec) == spec.with_dtype(encode_dtype)
    enc = ours.encode(arr, spec)
    assert enc.shape == shape and enc.dtype == np.dtype(encode_dtype)
    _same_bits(enc, theirs.encode(arr))
    dec = ours.decode(enc, spec)
    _same_bits(dec, theirs.decode(enc.tobytes()))
    _same_bits(dec, arr)


@pytest.mark.parametrize(("encode_dtype", "decode_dtype"), ASTYPE_CASES)
def test_astype_config(encode_dtype, decode_dtype):
    ours = AsTypeCodec(encode_dtype, decode_dtype)
    _check_configs(ours, numcodecs.AsType(encode_dtype, decode_dtype))
    assert ours.to_config() == _zarr_v3_form(ours)


def test_astype_refusals():
    with pytest.raises(CodecError, match="missing"):
        AsTypeCodec.from_v2_config({"id": "astype", "encode_dtype": "<i2"})
    with pytest.raises(CodecError, match="itemsize 8"):
        AsTypeCodec("<i2", "<f8").validate(_spec((2,), "<i4"))
    with pytest.raises(DecodeError, match="expected 2 elements"):
        AsTypeCodec("<i2", "<f8").decode(np.zeros(3, "<i2"), _spec((2,), "<f8"))


# ============================================================================ shuffle
ELEMENTSIZES = [0, 1, 2, 3, 4, 8, 16]


@pytest.mark.parametrize("elementsize", ELEMENTSIZES)
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_shuffle_matches_numcodecs(elementsize, n):
    data = np.random.default_rng(4).integers(0, 256, n * max(elementsize, 1), dtype="u1").tobytes()
    ours, theirs = ShuffleCodec(elementsize), numcodecs.Shuffle(elementsize)
    enc = ours.encode(data)
    assert enc == bytes(theirs.encode(data))
    assert ours.decode(enc) == data
    assert ours.decode(enc, expected_size=len(data)) == data
    assert bytes(theirs.decode(enc)) == data


def test_shuffle_layout():
    data = np.arange(3, dtype="<u4").view("u1").tobytes()  # 00 00 00 00 | 01 00 00 00 | 02 ...
    assert ShuffleCodec(4).encode(data) == bytes([0, 1, 2] + [0] * 9)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ELEMENTSIZES[1:]), st.binary(max_size=300))
def test_shuffle_hypothesis(elementsize, data):
    ours, theirs = ShuffleCodec(elementsize), numcodecs.Shuffle(elementsize)
    if elementsize > 1 and len(data) % elementsize:
        # numcodecs refuses leftover bytes; so do we, with the codec's own errors
        with pytest.raises(ValueError):
            theirs.encode(data)
        with pytest.raises(EncodeError, match="left over"):
            ours.encode(data)
        with pytest.raises(DecodeError, match="left over"):
            ours.decode(data)
        return
    enc = ours.encode(data)
    assert enc == bytes(theirs.encode(data))
    assert ours.decode(enc) == data
    assert bytes(theirs.decode(enc)) == data


def test_shuffle_accepts_buffers():
    arr = np.arange(6, dtype="<f8")
    ours = ShuffleCodec(8)
    expected = bytes(numcodecs.Shuffle(8).encode(arr))
    assert ours.encode(memoryview(arr)) == ours.encode(arr.tobytes()) == expected
    assert ours.decode(bytearray(ours.encode(arr.tobytes()))) == arr.tobytes()


def test_shuffle_expected_size_refused():
    with pytest.raises(DecodeError, match="expected 12 bytes, got 8"):
        ShuffleCodec(4).decode(b"\0" * 8, expected_size=12)


@pytest.mark.parametrize("elementsize", [0, 1, 4, 8])
def test_shuffle_config(elementsize):
    ours = ShuffleCodec(elementsize)
    _check_configs(ours, numcodecs.Shuffle(elementsize))
    assert ours.to_config() == _zarr_v3_form(ours)
    assert ShuffleCodec.from_v2_config({"id": "shuffle"}) == ShuffleCodec(4)
    assert ShuffleCodec() == ShuffleCodec.from_v2_config(numcodecs.Shuffle().get_config())
    assert ours.native_spec() is None
    assert ours.encoded_size(64) == 64


def test_shuffle_refusals():
    for bad in (-1, 2.0, "4", True, None):
        with pytest.raises(CodecError, match="elementsize"):
            ShuffleCodec(bad)
    with pytest.raises(CodecError, match="unexpected keyword"):
        ShuffleCodec.from_config({"elementsize": 4, "typesize": 4})


# ============================================================================ common
@pytest.mark.parametrize(
    "codec",
    [
        DeltaCodec("<i4"),
        FixedScaleOffsetCodec(0, 1, "<f8"),
        AsTypeCodec("<i2", "<i4"),
        ShuffleCodec(),
    ],
)
def test_common_properties(codec):
    assert codec.native_spec() is None
    assert codec.name is None  # the registry maps "numcodecs.<id>" for v2-only codecs
    assert hash(codec) == hash(type(codec).from_v2_config(codec.to_v2_config()))
    assert repr(codec).startswith(type(codec).__name__ + "(")


def test_zarr_v2_delta_chunk_interop(tmp_path):
    """A zarr v2 array with a delta filter: our encoding is the stored chunk."""
    import zarr

    arr = (np.arange(24, dtype="<i4") ** 2).reshape(4, 6)
    z = zarr.create_array(
        str(tmp_path / "d"),
        shape=(4, 6),
        chunks=(4, 6),
        dtype="<i4",
        zarr_format=2,
        filters=[numcodecs.Delta(dtype="<i4", astype="<i2")],
        compressors=None,
    )
    z[:] = arr
    meta = json.loads((tmp_path / "d" / ".zarray").read_text())
    codec = DeltaCodec.from_v2_config(meta["filters"][0])
    spec = _spec((4, 6), "<i4")
    raw = (tmp_path / "d" / "0.0").read_bytes()
    assert codec.encode(arr, spec).tobytes() == raw
    enc = np.frombuffer(raw, dtype=codec.resolve_spec(spec).dtype).reshape(4, 6)
    _same_bits(codec.decode(enc, spec), arr)
