"""numcodecs codecs added for issue 11: crc32, crc32c, adler32, fletcher32, lzma, packbits,
quantize, bitround, categorize.

numcodecs is the oracle for the bytes and the configs; zarr-python 3 for whole arrays,
both ways, in Zarr v2 (as filters / compressor) and v3 (``numcodecs.<id>``).
"""

from __future__ import annotations

import json
import lzma
import os
import warnings
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr

import zarrfast as zf
from zarrfast.abc.codec import ChunkSpec
from zarrfast.codecs import (
    Adler32Codec,
    BitRoundCodec,
    CategorizeCodec,
    CRC32Codec,
    Fletcher32Codec,
    LZMACodec,
    NumcodecsCRC32CCodec,
    PackBitsCodec,
    QuantizeCodec,
)
from zarrfast.codecs.registry import codec_from_json, codec_to_json
from zarrfast.errors import ChecksumError, CodecError, DecodeError

pytestmark = [
    pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:zarr.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

BYTES_CODECS = [
    (CRC32Codec(), numcodecs.CRC32()),
    (CRC32Codec(location="end"), numcodecs.CRC32(location="end")),
    (NumcodecsCRC32CCodec(), numcodecs.CRC32C()),
    (NumcodecsCRC32CCodec(location="start"), numcodecs.CRC32C(location="start")),
    (Adler32Codec(), numcodecs.Adler32()),
    (Fletcher32Codec(), numcodecs.Fletcher32()),
    (LZMACodec(), numcodecs.LZMA()),
    (LZMACodec(preset=1), numcodecs.LZMA(preset=1)),
    (LZMACodec(format=2, preset=0), numcodecs.LZMA(format=2, preset=0)),
    (
        LZMACodec(format=3, filters=[{"id": lzma.FILTER_LZMA2, "preset": 1}]),
        numcodecs.LZMA(format=3, filters=[{"id": lzma.FILTER_LZMA2, "preset": 1}]),
    ),
]
IDS = [json.dumps(t.get_config()) for _, t in BYTES_CODECS]


def _check_configs(ours: Any, theirs: Any) -> None:
    cfg = theirs.get_config()
    assert ours.to_v2_config() == cfg
    assert json.dumps(ours.to_v2_config()) == json.dumps(cfg)
    assert codec_from_json(json.loads(json.dumps(cfg)), 2) == ours
    v3 = codec_to_json(ours, 3)
    assert v3 == {
        "name": f"numcodecs.{cfg['id']}",
        "configuration": {k: v for k, v in cfg.items() if k != "id"},
    }
    assert codec_from_json(v3, 3) == ours


@pytest.mark.parametrize(("ours", "theirs"), BYTES_CODECS, ids=IDS)
@pytest.mark.parametrize("n", [1, 2, 3, 719, 720, 721, 4096, 100_001])
def test_bytes_codecs_match_numcodecs(ours: Any, theirs: Any, n: int) -> None:
    data = os.urandom(n)
    enc = bytes(ours.encode(data))
    assert enc == bytes(theirs.encode(data))
    assert bytes(ours.decode(enc, n)) == data
    assert bytes(theirs.decode(enc)) == data
    _check_configs(ours, theirs)


@pytest.mark.parametrize(("ours", "theirs"), BYTES_CODECS[:6], ids=IDS[:6])
def test_checksums_catch_corruption(ours: Any, theirs: Any) -> None:
    enc = bytearray(ours.encode(b"payload bytes" * 10))
    enc[7] ^= 0x10
    with pytest.raises(ChecksumError, match="does not match"):
        ours.decode(bytes(enc))
    with pytest.raises(DecodeError):
        ours.decode(b"abc")
    with pytest.raises(DecodeError, match="expected 5 bytes"):
        ours.decode(ours.encode(b"123456"), 5)


def test_lzma_refuses_bombs_and_garbage() -> None:
    bomb = lzma.compress(bytes(64 << 20), preset=1)
    with pytest.raises(DecodeError, match="decodes to more"):
        LZMACodec().decode(bomb, 1000)
    with pytest.raises(DecodeError):
        LZMACodec().decode(b"not lzma at all", 10)
    with pytest.raises(DecodeError, match="truncated"):
        LZMACodec().decode(lzma.compress(os.urandom(1000))[:-20], 1000)
    with pytest.raises(CodecError):
        LZMACodec(format=7)
    with pytest.raises(CodecError):
        LZMACodec(format=3)


def _spec(shape: tuple[int, ...], dtype: Any) -> ChunkSpec:
    return ChunkSpec(shape=shape, dtype=np.dtype(dtype), fill_value=np.zeros((), dtype)[()])


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64, 1001])
def test_packbits_matches_numcodecs(n: int) -> None:
    data = np.random.default_rng(n).integers(0, 2, n).astype(bool)
    ours, theirs = PackBitsCodec(), numcodecs.PackBits()
    spec = _spec((n,), bool)
    ours.validate(spec)
    enc = ours.encode(data, spec)
    assert enc.tobytes() == theirs.encode(data).tobytes()
    assert ours.resolve_spec(spec).shape == enc.shape
    np.testing.assert_array_equal(ours.decode(enc, spec), data)
    _check_configs(ours, theirs)
    with pytest.raises(DecodeError):
        ours.decode(enc[:-1] if n else np.array([3], "u1"), spec)


@pytest.mark.parametrize(
    ("digits", "dtype", "astype"),
    [(1, "f8", None), (3, "f8", "f4"), (2, "<f4", None), (0, ">f8", None), (-1, "f8", None)],
)
def test_quantize_matches_numcodecs(digits: int, dtype: str, astype: str | None) -> None:
    data = (np.random.default_rng(1).standard_normal(1000) * 100).astype(dtype)
    ours = QuantizeCodec(digits, dtype, astype)
    theirs = numcodecs.Quantize(digits, dtype, astype)
    spec = _spec((1000,), dtype)
    enc = ours.encode(data, spec)
    assert enc.tobytes() == theirs.encode(data).tobytes()
    assert enc.dtype == ours.resolve_spec(spec).dtype
    assert ours.decode(enc, spec).tobytes() == theirs.decode(theirs.encode(data)).tobytes()
    _check_configs(ours, theirs)


@pytest.mark.parametrize("dtype", ["f2", "f4", "<f8"])  # numcodecs fails on ">f4"
@pytest.mark.parametrize("keepbits", [0, 1, 5, 10])
def test_bitround_matches_numcodecs(dtype: str, keepbits: int) -> None:
    data = np.random.default_rng(2).standard_normal(999).astype(dtype)
    data[:4] = [np.inf, -np.inf, np.nan, -0.0]
    ours, theirs = BitRoundCodec(keepbits), numcodecs.BitRound(keepbits)
    spec = _spec((999,), dtype)
    ours.validate(spec)
    enc = ours.encode(data, spec)
    assert enc.tobytes() == np.asarray(theirs.encode(data)).tobytes()
    assert ours.decode(enc, spec).tobytes() == enc.tobytes()
    _check_configs(ours, theirs)
    with pytest.raises(CodecError):
        BitRoundCodec(60).validate(spec)
    with pytest.raises(CodecError):
        BitRoundCodec(-1)


def test_categorize_matches_numcodecs() -> None:
    data = np.array(["male", "female", "", "male", "unexpected", "fem"], dtype="<U10")
    ours = CategorizeCodec(["female", "male"], "<U10")
    theirs = numcodecs.Categorize(["female", "male"], dtype="<U10")
    spec = _spec((6,), "<U10")
    enc = ours.encode(data, spec)
    assert enc.tobytes() == theirs.encode(data).tobytes()
    assert ours.decode(enc, spec).tolist() == ["male", "female", "", "male", "", ""]
    _check_configs(ours, theirs)
    with pytest.raises(CodecError):
        CategorizeCodec(["a"] * 300, "<U2")
    with pytest.raises(CodecError):
        CategorizeCodec(["a"], "|O")


# --------------------------------------------------------------------------- whole arrays
SHAPE, CHUNKS = (20, 30), (8, 7)


def _data(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(5)
    if dtype == "bool":
        return rng.integers(0, 2, SHAPE).astype(bool)
    if dtype.startswith("<U"):
        return np.array(["a", "bb", "zz", ""])[rng.integers(0, 4, SHAPE)].astype(dtype)
    return (rng.standard_normal(SHAPE) * 100).astype(dtype)


ARRAY_CASES = [
    ("crc32c-filter", "f8", [numcodecs.CRC32C()], None),
    ("crc32-filter", "i4", [numcodecs.CRC32()], numcodecs.Zstd(level=1)),
    ("adler32-compressor", "f4", None, numcodecs.Adler32()),
    ("fletcher32-filter", "u2", [numcodecs.Fletcher32()], numcodecs.Zlib(level=1)),
    ("lzma-compressor", "f8", None, numcodecs.LZMA(preset=1)),
    ("packbits", "bool", [numcodecs.PackBits()], numcodecs.Zstd(level=1)),
    ("quantize", "f8", [numcodecs.Quantize(digits=2, dtype="f8")], numcodecs.Zstd(level=1)),
    ("bitround", "f4", [numcodecs.BitRound(keepbits=7)], numcodecs.Zstd(level=1)),
    ("categorize", "<U2", [numcodecs.Categorize(["a", "bb"], dtype="<U2")], None),
]


def _zarr_v2(path: Path, dtype: str, filters: Any, compressor: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.create_array(
            str(path),
            shape=SHAPE,
            chunks=CHUNKS,
            dtype=dtype,
            zarr_format=2,
            filters=filters,
            compressors=compressor,
            fill_value=None if dtype != "<U2" else "",
        )


@pytest.mark.parametrize(
    ("name", "dtype", "filters", "compressor"), ARRAY_CASES, ids=[c[0] for c in ARRAY_CASES]
)
def test_v2_arrays_both_ways(
    tmp_path: Path, name: str, dtype: str, filters: Any, compressor: Any
) -> None:
    data = _data(dtype)
    z = _zarr_v2(tmp_path / "theirs", dtype, filters, compressor)
    z[:15, :] = data[:15, :]
    a = zf.open(path=str(tmp_path / "theirs"), mode="r")
    assert a[...].tobytes() == z[...].tobytes()
    assert a[3:17, 2:9].tobytes() == z[3:17, 2:9].tobytes()
    # zarrfast writes the same configs; zarr-python reads what it wrote
    b = zf.create(
        shape=SHAPE,
        chunks=CHUNKS,
        dtype=dtype,
        zarr_format=2,
        path=str(tmp_path / "ours"),
        filters=[f.get_config() for f in filters or []] or None,
        compressor=compressor.get_config() if compressor else None,
        fill_value=None if dtype != "<U2" else "",
    )
    b[:15, :] = data[:15, :]
    theirs_doc = json.loads((tmp_path / "theirs" / ".zarray").read_text())
    ours_doc = json.loads((tmp_path / "ours" / ".zarray").read_text())
    for key in ("filters", "compressor", "dtype"):
        assert ours_doc[key] == theirs_doc[key], key
    back = zarr.open_array(str(tmp_path / "ours"), mode="r")
    assert back[...].tobytes() == a[...].tobytes()
    for key in sorted(os.listdir(tmp_path / "theirs")):
        if not key.startswith("."):
            assert (tmp_path / "ours" / key).read_bytes() == (
                tmp_path / "theirs" / key
            ).read_bytes(), key


V3_CASES = [c for c in ARRAY_CASES if c[0] not in ("categorize",)]


@pytest.mark.parametrize(
    ("name", "dtype", "filters", "compressor"), V3_CASES, ids=[c[0] for c in V3_CASES]
)
def test_v3_numcodecs_names_both_ways(
    tmp_path: Path, name: str, dtype: str, filters: Any, compressor: Any
) -> None:
    import zarr.codecs.numcodecs as znc

    def wrap(c: Any) -> Any:
        cfg = c.get_config()
        cls = {k.lower(): v for k, v in vars(znc).items() if isinstance(v, type)}[
            cfg.pop("id").replace("_", "")
        ]
        return cls(**cfg)

    aa = [wrap(f) for f in filters or [] if f.codec_id in ("packbits", "quantize", "bitround")]
    bb = [wrap(f) for f in filters or [] if f.codec_id not in ("packbits", "quantize", "bitround")]
    if compressor is not None and compressor.codec_id == "zstd":
        bb.append(zarr.codecs.ZstdCodec(level=1))  # the core v3 codec, as zarrfast writes it
    elif compressor is not None:
        bb.append(wrap(compressor))
    data = _data(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(
            str(tmp_path / "theirs"),
            shape=SHAPE,
            chunks=CHUNKS,
            dtype=dtype,
            zarr_format=3,
            filters=aa,
            compressors=bb,
            fill_value=0,
        )
    z[:15, :] = data[:15, :]
    a = zf.open(path=str(tmp_path / "theirs"), mode="r")
    assert a[...].tobytes() == z[...].tobytes()
    doc = json.loads((tmp_path / "theirs" / "zarr.json").read_text())
    b = zf.create(
        shape=SHAPE,
        chunks=CHUNKS,
        dtype=dtype,
        zarr_format=3,
        path=str(tmp_path / "ours"),
        codecs=doc["codecs"],
        fill_value=0,
    )
    b[:15, :] = data[:15, :]
    assert json.loads((tmp_path / "ours" / "zarr.json").read_text())["codecs"] == doc["codecs"]
    back = zarr.open_array(str(tmp_path / "ours"), mode="r")
    assert back[...].tobytes() == a[...].tobytes()
