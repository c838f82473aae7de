"""Helpers for the zarr-python interop tests: one case description, two writers, two readers.

A :class:`Case` describes an array in terms both libraries accept: v3 codecs as their JSON
documents (``zarr.create(codecs=...)`` and ``zf.create(codecs=...)`` both take them), v2
compressor and filters as numcodecs configs (numcodecs objects on the zarr side, the JSON
dicts on ours).  Values are compared bit for bit (NaN payloads, -0.0) after bringing both
sides to native byte order.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.storage import LocalStore

import zarrfast as zf

#: zarr-python warns about codecs and data types outside the stable v3 spec (vlen-utf8,
#: numcodecs.*, consolidated metadata); those are the very features under test here.
ZARR_WARNINGS = [
    pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:zarr.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:numcodecs.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:zarr.*"),
]


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


#: "let each library use its own default" (compressor, fill value).
DEFAULT: Any = _Default()

STRINGS = ["", "a", "héllo", "Привет", "こんにちは", "🎉", "x" * 40, "nul\x00inside", "tab\t"]
BYTES = [b"", b"a", b"\x00", b"\xff\xfe", b"\x00" * 3, bytes(range(40)), b"y" * 50]


def float_with_bits(dtype: Any, bits: int) -> Any:
    dt = np.dtype(dtype).newbyteorder("=")
    return np.array(bits, dtype=f"u{dt.itemsize}").view(dt)[()]


#: NaN with a payload, negative NaN; per float width.
PAYLOAD_NAN = {2: 0x7E01, 4: 0x7FC00001, 8: 0x7FF8000000000001}
NEGATIVE_NAN = {2: 0xFE00, 4: 0xFFC00000, 8: 0xFFF8000000000000}


# --------------------------------------------------------------------------- data
def sample(dtype: Any, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Deterministic data covering the type's edge values (extremes, NaN payloads, -0.0)."""
    rng = np.random.default_rng(seed)
    n = math.prod(shape)
    if dtype in ("str", str):
        return np.array(
            [STRINGS[(i * 7 + seed) % len(STRINGS)] for i in range(n)], dtype=object
        ).reshape(shape)
    if dtype in ("bytes", bytes):
        out = np.empty(n, dtype=object)
        out[:] = [BYTES[(i * 5 + seed) % len(BYTES)] for i in range(n)]
        return out.reshape(shape)
    dt = np.dtype(dtype)
    native = dt.newbyteorder("=")
    if dt.kind == "b":
        flat = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(native)
        flat = rng.integers(info.min, info.max, n, endpoint=True, dtype=native)
        flat[: min(n, 3)] = [info.min, info.max, 0][: min(n, 3)]
    elif dt.kind == "f":
        flat = (rng.standard_normal(n) * 1000).astype(native)
        specials = [
            np.nan,
            -0.0,
            np.inf,
            -np.inf,
            float_with_bits(native, PAYLOAD_NAN[native.itemsize]),
            float_with_bits(native, NEGATIVE_NAN[native.itemsize]),
            np.finfo(native).max,
            np.finfo(native).smallest_subnormal,
        ]
        for i, v in enumerate(specials[:n]):
            flat[(i * 11) % n] = v
    elif dt.kind == "c":
        part = np.dtype(f"f{native.itemsize // 2}")
        flat = np.empty(n, dtype=native)
        flat.real = sample(part, (n,), seed)
        flat.imag = sample(part, (n,), seed + 1)[::-1]
    else:  # pragma: no cover - test bug
        raise AssertionError(f"no sample data for {dtype!r}")
    return flat.astype(dt).reshape(shape)


def fill_scalar(case: Case) -> Any:
    """The fill value missing chunks read as."""
    fv = case.fill_value
    if case.dtype == "str":
        return "" if fv is DEFAULT or fv is None else fv
    if case.dtype == "bytes":
        return b"" if fv is DEFAULT or fv is None else fv
    dt = np.dtype(case.dtype)
    if fv is DEFAULT or fv is None:
        return np.zeros((), dtype=dt)[()]
    return np.array(fv, dtype=dt)[()] if not isinstance(fv, np.generic) else fv.astype(dt)


def expected_array(case: Case, data: np.ndarray) -> np.ndarray:
    if case.region is None:
        return data
    out = np.empty(case.shape, dtype=data.dtype)
    out[...] = fill_scalar(case)
    out[case.region] = data[case.region]
    return out


# --------------------------------------------------------------------------- comparisons
def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a).reshape(-1)
    if a.dtype.byteorder == ">":
        a = a.byteswap().view(a.dtype.newbyteorder("<"))
    if a.dtype.kind == "c":
        return a.view(f"u{a.dtype.itemsize // 2}")
    return a.view(f"u{a.dtype.itemsize}")


def assert_bits_equal(got: Any, expected: Any) -> None:
    """Same shape and the same values bit for bit (strings/bytes: same Python objects)."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    if expected.dtype.kind in "OTU" or got.dtype.kind in "OTU":
        g, e = got.reshape(-1).tolist(), expected.reshape(-1).tolist()
        assert [type(x) for x in g] == [type(x) for x in e]
        assert g == e
        return
    assert (
        got.dtype.kind == expected.dtype.kind and got.dtype.itemsize == expected.dtype.itemsize
    ), f"dtype {got.dtype} != {expected.dtype}"
    np.testing.assert_array_equal(_bits(got), _bits(expected))


def assert_same_scalar(got: Any, expected: Any, dtype: Any) -> None:
    if expected is None or isinstance(expected, (str, bytes)):
        assert got == expected and type(got) is type(expected)
        return
    assert got is not None
    dt = np.dtype(dtype)
    np.testing.assert_array_equal(
        _bits(np.array(got, dtype=dt)), _bits(np.array(expected, dtype=dt))
    )


# --------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One array both libraries can create; ``id`` names it in the test report."""

    id: str
    zarr_format: int
    dtype: str  # numpy dtype string, "str" or "bytes"
    shape: tuple[int, ...] = (13, 17)
    chunks: tuple[int, ...] = (5, 6)  # the grid's chunk shape (the shard shape if sharded)
    fill_value: Any = DEFAULT
    codecs: list[dict[str, Any]] | None = None  # v3: the full codec list (JSON)
    compressor: Any = DEFAULT  # v2: numcodecs config dict, None, or DEFAULT
    filters: list[dict[str, Any]] | None = None  # v2: numcodecs configs
    order: str = "C"  # v2
    separator: str | None = None  # v2 dimension_separator / v3 default-encoding separator
    chunk_key_encoding: dict[str, Any] | None = None  # v3
    dimension_names: list[str | None] | None = None
    attributes: dict[str, Any] | None = None
    region: tuple[slice, ...] | None = None  # only this part is written; None = all
    byte_identical: bool = False  # chunk files must equal zarr-python's byte for byte
    lossy: bool = False  # filters change values: compare with zarr-python's reading
    seed: int = 0
    values: str = "sample"  # "sample" (edge values), "tenths" (k/10, for lossy filters)
    marks: list[Any] = field(default_factory=list)

    def param(self) -> Any:
        return pytest.param(self, id=self.id, marks=self.marks)

    # ------------------------------------------------------------------ derived
    @property
    def sharding(self) -> dict[str, Any] | None:
        """The sharding configuration when ``chunks``/``shards`` report it: as in
        zarr-python, only for a codec list of exactly ``[sharding_indexed]``."""
        if self.codecs and len(self.codecs) == 1 and self.codecs[0]["name"] == "sharding_indexed":
            return self.codecs[0]["configuration"]  # type: ignore[no-any-return]
        return None

    @property
    def read_chunks(self) -> tuple[int, ...]:
        sh = self.sharding
        return tuple(sh["chunk_shape"]) if sh else self.chunks

    @property
    def shards(self) -> tuple[int, ...] | None:
        return self.chunks if self.sharding else None

    @property
    def np_dtype(self) -> np.dtype[Any]:
        if self.dtype in ("str", "bytes"):
            return np.dtype(object)
        dt = np.dtype(self.dtype)
        return dt if self.zarr_format == 2 else dt.newbyteorder("=")

    def data(self) -> np.ndarray:
        if self.values == "tenths":
            n = math.prod(self.shape)
            return (np.arange(n, dtype="f8").reshape(self.shape) / 10 - 5).astype(self.dtype)
        return sample(self.dtype, self.shape, self.seed)

    def expected(self) -> np.ndarray:
        return expected_array(self, self.data())


def _zarr_dtype(case: Case) -> Any:
    if case.dtype == "str":
        return str
    if case.dtype == "bytes":
        import zarr.dtype

        return zarr.dtype.VariableLengthBytes()
    return case.dtype


def _fill_for_zarr(case: Case) -> Any:
    fv = case.fill_value
    if (
        case.dtype not in ("str", "bytes")
        and np.dtype(case.dtype).kind == "c"
        and isinstance(fv, list)
    ):
        return complex(fv[0], fv[1])
    return fv


def _write_region(arr: Any, case: Case, data: np.ndarray) -> None:
    if math.prod(case.shape) == 0:
        return
    region = case.region if case.region is not None else (Ellipsis,)
    if case.shape == ():
        region = ()
    arr[region] = data[region]


def _key_encoding(case: Case) -> tuple[str, str] | None:
    """The v3 chunk key encoding as zarr.create's ``(name, separator)`` tuple."""
    cke = case.chunk_key_encoding
    if cke is None:
        return None if case.separator is None else ("default", case.separator)
    default_sep = "/" if cke["name"] == "default" else "."
    return cke["name"], (cke.get("configuration") or {}).get("separator", default_sep)


def write_with_zarr(case: Case, path: str, data: np.ndarray | None = None) -> Any:
    """Create ``case`` with zarr-python at ``path`` and write its data."""
    data = case.data() if data is None else data
    store = LocalStore(path)
    common: dict[str, Any] = {"shape": case.shape, "dtype": _zarr_dtype(case)}
    if case.fill_value is not DEFAULT:
        common["fill_value"] = _fill_for_zarr(case)
    if case.attributes is not None:
        common["attributes"] = case.attributes
    if case.zarr_format == 3:
        if case.dimension_names is not None:
            common["dimension_names"] = case.dimension_names
        cke = _key_encoding(case)
        if case.codecs is not None:
            z = zarr.create(
                store=store,
                chunks=case.chunks,
                zarr_format=3,
                codecs=case.codecs,
                chunk_key_encoding=cke,
                **common,
            )
        else:
            z = zarr.create_array(
                store,
                chunks=case.chunks,
                zarr_format=3,
                chunk_key_encoding=None if cke is None else {"name": cke[0], "separator": cke[1]},
                **common,
            )
    else:
        kw: dict[str, Any] = {}
        if case.compressor is not DEFAULT:
            kw["compressors"] = (
                None if case.compressor is None else numcodecs.get_codec(dict(case.compressor))
            )
        if case.filters is not None:
            kw["filters"] = [numcodecs.get_codec(dict(f)) for f in case.filters]
        sep = case.separator or "."
        z = zarr.create_array(
            store,
            chunks=case.chunks,
            zarr_format=2,
            order=case.order,
            chunk_key_encoding={"name": "v2", "separator": sep},
            **kw,
            **common,
        )
    _write_region(z, case, data)
    return z


def zarrfast_kwargs(case: Case) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "shape": case.shape,
        "chunks": case.chunks,
        "dtype": case.dtype,
        "zarr_format": case.zarr_format,
    }
    if case.dtype == "str":
        kw["dtype"] = str
    elif case.dtype == "bytes":
        kw["dtype"] = bytes
    if case.fill_value is not DEFAULT:
        kw["fill_value"] = case.fill_value
    if case.attributes is not None:
        kw["attributes"] = case.attributes
    if case.zarr_format == 3:
        if case.dimension_names is not None:
            kw["dimension_names"] = case.dimension_names
        if case.codecs is not None:
            kw["codecs"] = case.codecs
        if case.chunk_key_encoding is not None:
            kw["chunk_key_encoding"] = case.chunk_key_encoding
        elif case.separator is not None:
            kw["chunk_key_encoding"] = {
                "name": "default",
                "configuration": {"separator": case.separator},
            }
    else:
        if case.compressor is not DEFAULT:
            kw["compressor"] = case.compressor
        if case.filters is not None:
            kw["filters"] = case.filters
        kw["order"] = case.order
        if case.separator is not None:
            kw["dimension_separator"] = case.separator
    return kw


def write_with_zarrfast(case: Case, path: str, data: np.ndarray | None = None) -> zf.Array:
    data = case.data() if data is None else data
    arr = zf.create(storage="filesystem", path=path, **zarrfast_kwargs(case))
    _write_region(arr, case, data)
    return arr


# --------------------------------------------------------------------------- readers
def check_zarrfast_reads(case: Case, path: str, expected: np.ndarray) -> zf.Array:
    arr = zf.open(path=path, mode="r")
    assert isinstance(arr, zf.Array)
    assert arr.zarr_format == case.zarr_format
    assert arr.shape == case.shape
    assert arr.chunks == case.read_chunks
    assert arr.shards == case.shards
    if case.dtype == "str":
        assert arr.metadata.data_type.vlen == "string"
    elif case.dtype == "bytes":
        assert arr.metadata.data_type.vlen == "bytes"
    else:
        assert arr.dtype == case.np_dtype
    if case.zarr_format == 2 and case.fill_value is None:
        assert arr.fill_value is None
    elif not (case.dtype == "bytes" and case.zarr_format == 2):
        assert_same_scalar(arr.fill_value, fill_scalar(case), case.np_dtype)
    assert dict(arr.attrs) == (case.attributes or {})
    if case.zarr_format == 3:
        names = tuple(case.dimension_names) if case.dimension_names is not None else None
        assert arr.dimension_names == names
    got = arr[...]
    assert_bits_equal(got, expected)
    if case.shape and min(case.shape) > 2:
        sel = (slice(1, None, 2),) + (slice(None),) * (len(case.shape) - 1)
        assert_bits_equal(arr[sel], expected[sel])
    return arr


def expected_for(case: Case, scratch: str) -> np.ndarray:
    """What reading ``case`` must give: the data, or for lossy filters zarr-python's own
    reading of what zarr-python wrote (the oracle)."""
    if not case.lossy:
        return case.expected()
    write_with_zarr(case, scratch)
    got = open_with_zarr(scratch)[...]
    return np.asarray(got)


def open_with_zarr(path: str) -> Any:
    return zarr.open_array(store=LocalStore(path, read_only=True), mode="r")


def check_zarr_reads(case: Case, path: str, expected: np.ndarray) -> Any:
    z = open_with_zarr(path)
    assert z.metadata.zarr_format == case.zarr_format
    assert z.shape == case.shape
    assert z.chunks == case.read_chunks
    assert z.shards == case.shards
    if case.dtype not in ("str", "bytes"):
        assert z.dtype == case.np_dtype or (
            case.zarr_format == 3 and z.dtype.newbyteorder("=") == case.np_dtype
        )
    if case.zarr_format == 2 and case.fill_value is None:
        assert z.fill_value is None
    elif case.dtype not in ("str", "bytes"):
        assert_same_scalar(z.fill_value, fill_scalar(case), case.np_dtype)
    assert z.attrs.asdict() == (case.attributes or {})
    if case.zarr_format == 3:
        names = tuple(case.dimension_names) if case.dimension_names is not None else None
        assert z.metadata.dimension_names == names
    got = z[...]
    if case.dtype == "str":
        got = (
            np.array(got, dtype=object)
            if isinstance(got, str)
            else np.asarray(got.tolist(), dtype=object)
        )
    assert_bits_equal(got, expected)
    return z


# --------------------------------------------------------------------------- files
def metadata_documents(path: str) -> dict[str, Any]:
    """The parsed metadata documents of the node at ``path`` (by file name)."""
    out = {}
    for name in ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"):
        p = os.path.join(path, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out[name] = json.loads(f.read())
    return out


def chunk_files(path: str) -> dict[str, bytes]:
    """Every non-metadata file under ``path`` by relative key."""
    out = {}
    for root, _dirs, files in os.walk(path):
        for name in files:
            if name in ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"):
                continue
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path).replace(os.sep, "/")] = f.read()
    return out


def shard_inner_chunks(
    blob: bytes, conf: dict[str, Any], shard_shape: tuple[int, ...]
) -> list[bytes | None]:
    """The inner chunks of one shard in C order of the inner grid (``None`` = absent)."""
    n = math.prod(s // c for s, c in zip(shard_shape, conf["chunk_shape"]))
    has_crc = any(c["name"] == "crc32c" for c in conf["index_codecs"])
    size = 16 * n + (4 if has_crc else 0)
    start = conf.get("index_location", "end") == "start"
    raw = blob[:size] if start else blob[len(blob) - size :]
    index = np.frombuffer(raw[: 16 * n], dtype="<u8").reshape(n, 2)
    out: list[bytes | None] = []
    for offset, nbytes in index.tolist():
        out.append(None if offset == 2**64 - 1 else blob[offset : offset + nbytes])
    return out
