"""Data types and fill values for Zarr v2 and v3.

Fill values follow the specifications exactly (see ../shared/reference/zarr-spec-pitfalls):
NaN/Infinity/-Infinity as strings, v3 ``"0x..."`` raw-bit floats (the only way to keep a
NaN payload), complex as ``[re, im]``, -0.0 kept, 64-bit integers never through float.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrfast.errors import MetadataError, UnknownDataTypeError

__all__ = [
    "DataType",
    "data_type_from_user",
    "default_fill_value",
    "fill_value_to_json",
    "parse_fill_value",
    "parse_v2_dtype",
    "parse_v3_data_type",
]

_V3_NUMERIC: dict[str, str] = {
    "bool": "|b1",
    "int8": "|i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
    "uint8": "|u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
    "float16": "<f2",
    "float32": "<f4",
    "float64": "<f8",
    "complex64": "<c8",
    "complex128": "<c16",
}
_V3_VLEN = {"string": "string", "variable_length_bytes": "bytes", "bytes": "bytes"}


@dataclass(frozen=True)
class DataType:
    """An array's element type.

    Attributes
    ----------
    dtype
        The numpy dtype of chunks in memory.  For Zarr v2 this keeps the declared byte
        order (``>i4`` stays big-endian, as zarr-python does); for v3 it is native.
        ``object`` for variable-length types.
    vlen
        ``"string"`` or ``"bytes"`` for variable-length types, else ``None``.
    """

    dtype: np.dtype[Any]
    vlen: str | None = None

    @property
    def v3_name(self) -> str:
        """The Zarr v3 ``data_type`` name (``"int32"``, ``"string"``...).

        Raises
        ------
        UnknownDataTypeError
            If the dtype has no Zarr v3 name.
        """
        if self.vlen == "string":
            return "string"
        if self.vlen == "bytes":
            return "variable_length_bytes"
        key = self.dtype.newbyteorder("<").str if self.dtype.itemsize > 1 else self.dtype.str
        for name, s in _V3_NUMERIC.items():
            if s == key:
                return name
        raise UnknownDataTypeError(f"data type {self.dtype.str!r} has no Zarr v3 name")

    @property
    def v2_str(self) -> str:
        """The Zarr v2 ``dtype`` string (``"<f8"``, ``"|O"`` for variable-length types)."""
        if self.vlen is not None:
            return "|O"
        return str(self.dtype.str)

    @property
    def itemsize(self) -> int:
        """Bytes per element in memory (the pointer size for variable-length types)."""
        return self.dtype.itemsize


def parse_v3_data_type(obj: Any) -> DataType:
    """Parse the ``data_type`` field of v3 array metadata.

    Parameters
    ----------
    obj
        The decoded JSON value of ``data_type``.

    Returns
    -------
    DataType
        The data type, with a native-byte-order numpy dtype.

    Raises
    ------
    UnknownDataTypeError
        For an unknown name or a data type extension object.
    MetadataError
        If ``obj`` is neither a string nor an extension object.
    """
    if isinstance(obj, str):
        if obj in _V3_NUMERIC:
            return DataType(np.dtype(_V3_NUMERIC[obj]).newbyteorder("="))
        if obj in _V3_VLEN:
            return DataType(np.dtype(object), _V3_VLEN[obj])
        raise UnknownDataTypeError(
            f"unknown Zarr v3 data_type {obj!r}; expected one of "
            f"{sorted([*_V3_NUMERIC, 'string', 'variable_length_bytes'])}"
        )
    if isinstance(obj, dict) and isinstance(obj.get("name"), str):
        raise UnknownDataTypeError(f"unsupported Zarr v3 data_type extension {obj['name']!r}")
    raise MetadataError(f"expected data_type to be a string, got {obj!r}")


def parse_v2_dtype(obj: Any, filters: list[dict[str, Any]] | None = None) -> DataType:
    """Parse the ``dtype`` field of v2 array metadata (``"<f8"``, ``"|O"``...).

    Parameters
    ----------
    obj
        The decoded JSON value of ``dtype``.
    filters
        The array's ``filters``; an object dtype needs a ``vlen-utf8`` or ``vlen-bytes``
        filter to say what its elements are.

    Returns
    -------
    DataType
        The data type; the declared byte order is kept.

    Raises
    ------
    UnknownDataTypeError
        For a structured, unsupported or unparseable dtype.
    """
    if not isinstance(obj, str):
        raise UnknownDataTypeError(
            f"expected .zarray dtype to be a string such as '<f8', got {obj!r} "
            "(structured dtypes are not supported)"
        )
    if obj in ("|O", "O", "<O", ">O"):
        ids = [f.get("id") for f in (filters or []) if isinstance(f, dict)]
        if "vlen-utf8" in ids:
            return DataType(np.dtype(object), "string")
        if "vlen-bytes" in ids:
            return DataType(np.dtype(object), "bytes")
        raise UnknownDataTypeError(
            f"dtype {obj!r} needs a 'vlen-utf8' or 'vlen-bytes' filter, got filters {ids}"
        )
    try:
        dt = np.dtype(obj)
    except TypeError as exc:
        raise UnknownDataTypeError(f"unknown Zarr v2 dtype {obj!r}") from exc
    if dt.kind not in "biufc" or dt.str.lstrip("<>|=") not in {
        s.lstrip("<>|") for s in _V3_NUMERIC.values()
    }:
        raise UnknownDataTypeError(
            f"unsupported Zarr v2 dtype {obj!r}; supported: bool, int8..int64, "
            "uint8..uint64, float16/32/64, complex64/128 in either byte order, |O strings"
        )
    return DataType(dt)


def data_type_from_user(dtype: Any, zarr_format: int) -> DataType:
    """Interpret a user's ``dtype=`` (numpy dtype, string, ``str``/``bytes`` types).

    Parameters
    ----------
    dtype
        A :class:`DataType`, numpy dtype or anything ``np.dtype`` accepts, a Zarr v3
        data type name, or ``str``/``bytes`` (and their spellings) for variable length.
    zarr_format
        2 or 3; for 3 the numpy dtype is made native byte order.

    Returns
    -------
    DataType
        The data type.

    Raises
    ------
    UnknownDataTypeError
        If the dtype is unknown or not supported by Zarr.
    """
    if isinstance(dtype, DataType):
        return dtype
    if (
        dtype in (str, "str", "string", "U", "|O", "O", object)
        or (isinstance(dtype, np.dtype) and dtype.kind in "UOT")
        or (isinstance(dtype, str) and dtype in ("<U", ">U", "T"))
    ):
        return DataType(np.dtype(object), "string")
    if dtype in (bytes, "bytes", "variable_length_bytes"):
        return DataType(np.dtype(object), "bytes")
    if isinstance(dtype, str) and dtype in _V3_NUMERIC:
        dt = np.dtype(_V3_NUMERIC[dtype])
    else:
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise UnknownDataTypeError(f"unknown dtype {dtype!r}") from exc
    if dt.kind == "U" or dt.kind == "O":
        return DataType(np.dtype(object), "string")
    if dt.kind not in "biufc":
        raise UnknownDataTypeError(
            f"unsupported dtype {dt!r}; supported: bool, int8..int64, uint8..uint64, "
            "float16/32/64, complex64/128, str and bytes"
        )
    if zarr_format == 3:
        dt = dt.newbyteorder("=")
    return DataType(dt)


# --------------------------------------------------------------------------- fill values
_UINT_FOR_FLOAT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def default_fill_value(dtype: DataType) -> Any:
    """The fill value used when none is given.

    Parameters
    ----------
    dtype
        The array's data type.

    Returns
    -------
    Any
        ``""`` for strings, ``b""`` for bytes, else zero of the numpy scalar type.
    """
    if dtype.vlen == "string":
        return ""
    if dtype.vlen == "bytes":
        return b""
    return dtype.dtype.type(0)


def _parse_float(obj: Any, dt: np.dtype[Any], zarr_format: int) -> Any:
    if isinstance(obj, bool):
        raise MetadataError(f"expected a number for a {dt} fill_value, got {obj!r}")
    if isinstance(obj, (int, float)):
        # A finite number the type cannot hold is an error, not a silent infinity.
        try:
            with np.errstate(over="raise"):
                return dt.type(obj)
        except (OverflowError, FloatingPointError):
            raise MetadataError(f"fill_value {obj!r} is out of range for {dt}") from None
    if isinstance(obj, str):
        if obj == "NaN":
            return dt.type(np.nan)
        if obj == "Infinity":
            return dt.type(np.inf)
        if obj == "-Infinity":
            return dt.type(-np.inf)
        if zarr_format == 3 and obj.startswith("0x"):
            try:
                bits = int(obj, 16)
            except ValueError:
                raise MetadataError(f"invalid hex fill_value {obj!r}") from None
            width = dt.itemsize
            if bits >= 1 << (8 * width):
                raise MetadataError(f"hex fill_value {obj!r} does not fit a {8 * width}-bit float")
            return np.array(bits, dtype=_UINT_FOR_FLOAT[width]).view(dt.newbyteorder("="))[()]
    raise MetadataError(
        f"expected a number, 'NaN', 'Infinity', '-Infinity'"
        f"{' or a 0x hex string' if zarr_format == 3 else ''} for a {dt} fill_value, got {obj!r}"
    )


def parse_fill_value(obj: Any, dtype: DataType, zarr_format: int) -> Any:
    """Parse a fill value from metadata JSON into a numpy scalar (or str/bytes).

    For Zarr v2, ``None`` (JSON null) means "no fill value" and is returned as ``None``.

    Parameters
    ----------
    obj
        The decoded JSON value of ``fill_value``.
    dtype
        The array's data type.
    zarr_format
        2 or 3: the two formats spell special values differently.

    Returns
    -------
    Any
        A numpy scalar of ``dtype``, ``str``/``bytes`` for variable-length types, or
        ``None`` (v2 only).

    Raises
    ------
    MetadataError
        If ``obj`` is not a valid fill value for ``dtype``.
    """
    if obj is None:
        if zarr_format == 2:
            return None
        raise MetadataError("expected a fill_value in Zarr v3 array metadata, got null")
    if dtype.vlen == "string":
        if not isinstance(obj, str):
            raise MetadataError(f"expected a string fill_value for a string array, got {obj!r}")
        return obj
    if dtype.vlen == "bytes":
        if isinstance(obj, str):
            try:
                return base64.standard_b64decode(obj.encode("ascii"))
            except (ValueError, UnicodeEncodeError) as exc:
                raise MetadataError(f"expected base64 for a bytes fill_value, got {obj!r}") from exc
        if isinstance(obj, list) and all(isinstance(b, int) and 0 <= b < 256 for b in obj):
            return bytes(obj)
        raise MetadataError(f"expected a base64 string fill_value for bytes, got {obj!r}")
    dt = dtype.dtype
    if dt.kind == "b":
        if isinstance(obj, bool):
            return np.bool_(obj)
        if zarr_format == 2 and isinstance(obj, int) and obj in (0, 1):
            return np.bool_(obj)
        raise MetadataError(f"expected true or false as a bool fill_value, got {obj!r}")
    if dt.kind in "iu":
        if isinstance(obj, bool) or not isinstance(obj, (int, float)):
            raise MetadataError(f"expected an integer fill_value for {dt}, got {obj!r}")
        if isinstance(obj, float):
            if not obj.is_integer():
                raise MetadataError(f"expected an integer fill_value for {dt}, got {obj!r}")
            obj = int(obj)
        info = np.iinfo(dt)
        if not info.min <= obj <= info.max:
            raise MetadataError(
                f"fill_value {obj} is out of range for {dt} ([{info.min}, {info.max}])"
            )
        return dt.type(obj)
    if dt.kind == "f":
        return _parse_float(obj, dt, zarr_format)
    if dt.kind == "c":
        if not (isinstance(obj, (list, tuple)) and len(obj) == 2):
            if zarr_format == 2 and isinstance(obj, (int, float)) and not isinstance(obj, bool):
                return dt.type(obj)
            raise MetadataError(f"expected [real, imag] as a {dt} fill_value, got {obj!r}")
        part = np.dtype(f"f{dt.itemsize // 2}")
        re = _parse_float(obj[0], part, zarr_format)
        im = _parse_float(obj[1], part, zarr_format)
        out = np.zeros((), dtype=dt)
        out.real = re
        out.imag = im
        return out[()]
    raise UnknownDataTypeError(f"cannot parse a fill_value for dtype {dt}")


def _float_to_json(value: Any, zarr_format: int) -> Any:
    v = np.asarray(value)
    f = float(v)
    if math.isnan(f):
        if zarr_format == 3:
            width = v.dtype.itemsize
            bits = int(v.astype(v.dtype.newbyteorder("=")).view(_UINT_FOR_FLOAT[width]))
            canonical = int(
                np.array(np.nan, dtype=v.dtype.newbyteorder("=")).view(_UINT_FOR_FLOAT[width])
            )
            if bits != canonical:
                return f"0x{bits:0{2 * width}x}"
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


def fill_value_to_json(value: Any, dtype: DataType, zarr_format: int) -> Any:
    """Serialise a parsed fill value back to metadata JSON (exact round trip).

    Parameters
    ----------
    value
        A fill value as returned by :func:`parse_fill_value` or
        :func:`fill_value_from_user`.
    dtype
        The array's data type.
    zarr_format
        2 or 3.

    Returns
    -------
    Any
        A JSON-serialisable value.

    Raises
    ------
    MetadataError
        If ``value`` is ``None`` for Zarr v3.
    """
    if value is None:
        if zarr_format == 2:
            return None
        raise MetadataError("Zarr v3 arrays must have a fill_value")
    if dtype.vlen == "string":
        return str(value)
    if dtype.vlen == "bytes":
        return base64.standard_b64encode(bytes(value)).decode("ascii")
    dt = dtype.dtype
    if dt.kind == "b":
        return bool(value)
    if dt.kind in "iu":
        return int(value)
    if dt.kind == "f":
        return _float_to_json(dt.type(value), zarr_format)
    if dt.kind == "c":
        c = dt.type(value)
        return [_float_to_json(c.real, zarr_format), _float_to_json(c.imag, zarr_format)]
    raise UnknownDataTypeError(f"cannot serialise a fill_value for dtype {dt}")


def fill_value_from_user(value: Any, dtype: DataType) -> Any:
    """Coerce a user's ``fill_value=`` to the array's type (None -> the default).

    Parameters
    ----------
    value
        A Python or numpy scalar, ``[re, im]`` for complex types, or one of the metadata
        spellings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, ``"0x..."`` for floats.
    dtype
        The array's data type.

    Returns
    -------
    Any
        A numpy scalar of ``dtype``, or ``str``/``bytes`` for variable-length types.

    Raises
    ------
    MetadataError
        If ``value`` cannot represent a fill value of ``dtype`` exactly.
    """
    if value is None:
        return default_fill_value(dtype)
    if dtype.vlen == "string":
        if not isinstance(value, str):
            raise MetadataError(f"expected a str fill_value for a string array, got {value!r}")
        return value
    if dtype.vlen == "bytes":
        if not isinstance(value, (bytes, bytearray)):
            raise MetadataError(f"expected a bytes fill_value for a bytes array, got {value!r}")
        return bytes(value)
    dt = dtype.dtype
    if dt.kind in "iu":
        if isinstance(value, float) and not value.is_integer():
            raise MetadataError(f"fill_value {value!r} is not an integer for dtype {dt}")
        try:
            iv = int(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise MetadataError(f"fill_value {value!r} is not an integer for dtype {dt}") from exc
        info = np.iinfo(dt)
        if not info.min <= iv <= info.max:
            raise MetadataError(f"fill_value {iv} is out of range for {dt}")
        return dt.type(iv)
    if dt.kind == "c" and isinstance(value, (list, tuple)) and len(value) == 2:
        part = DataType(np.dtype(f"f{dt.itemsize // 2}"))
        out = np.zeros((), dtype=dt)
        out.real = fill_value_from_user(value[0], part)
        out.imag = fill_value_from_user(value[1], part)
        return out[()]
    if (
        dt.kind in "fc"
        and isinstance(value, str)
        and (value in ("NaN", "Infinity", "-Infinity") or value.startswith("0x"))
    ):  # the metadata spellings, hex keeping a NaN payload
        return parse_fill_value([value, 0.0] if dt.kind == "c" else value, dtype, 3)
    if np.iscomplexobj(value) and dt.kind != "c":
        raise MetadataError(f"cannot use complex fill_value {value!r} for dtype {dt}")
    try:
        with np.errstate(over="raise"):
            out = np.asarray(value).astype(dt)
    except (TypeError, ValueError, OverflowError, FloatingPointError) as exc:
        raise MetadataError(f"cannot use fill_value {value!r} for dtype {dt}: {exc}") from exc
    if out.ndim != 0:
        raise MetadataError(f"expected a scalar fill_value for dtype {dt}, got {value!r}")
    return out[()]
