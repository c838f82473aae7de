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

#: Floating-point types numpy lacks, as tensorstore and zarrs store them (through the
#: ``ml_dtypes`` package); the same names in v2 ``dtype`` and v3 ``data_type``.
ML_DTYPE_NAMES = (
    "bfloat16",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e4m3b11fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
)
#: numpy datetime64/timedelta64 units that zarr-python writes (``numpy.datetime64``).
DATETIME_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "generic")
#: Largest fixed-length element (bytes) accepted from metadata: bounds what one element
#: of a hostile ``<U...`` / ``|S...`` / ``raw_bytes`` declaration can cost.
MAX_ITEMSIZE = 1 << 24
#: Deepest nesting of structured types accepted from metadata.
MAX_STRUCT_DEPTH = 8
#: The NaT bit pattern of datetime64/timedelta64 (what zarr-python writes as fill_value).
NAT = -(2**63)


def _ml_dtype(name: str) -> np.dtype[Any]:
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - ml_dtypes comes with the test extra
        raise UnknownDataTypeError(
            f"data type {name!r} needs the ml_dtypes package: pip install ml_dtypes"
        ) from None
    out: np.dtype[Any] = np.dtype(getattr(ml_dtypes, name))
    return out


def ml_dtype_name(dt: np.dtype[Any]) -> str | None:
    """The ``ml_dtypes`` name of ``dt`` (``"bfloat16"``...), or None for other dtypes."""
    name = str(dt.name)
    if name in ML_DTYPE_NAMES and dt.fields is None and dt == _ml_dtype(name):
        return name
    return None


def _category(dt: np.dtype[Any]) -> str:
    """``"ml"``, ``"struct"``, ``"raw"`` (void), ``"U"``, ``"S"``, ``"M"``, ``"m"`` or the
    numeric kind ``"b"``/``"i"``/``"u"``/``"f"``/``"c"``; ``"?"`` for anything else."""
    if dt.fields is not None:
        return "struct"
    if ml_dtype_name(dt) is not None:
        return "ml"
    if dt.kind == "V":
        return "raw"
    if dt.kind in "biufcUSMm":
        return dt.kind
    return "?"


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
        """The Zarr v3 ``data_type`` name (``"int32"``, ``"string"``, ``"structured"``...).

        Raises
        ------
        UnknownDataTypeError
            If the dtype has no Zarr v3 name.
        """
        j = self.v3_json
        return j if isinstance(j, str) else str(j["name"])

    @property
    def v3_json(self) -> str | dict[str, Any]:
        """The Zarr v3 ``data_type`` value: a name, or ``{"name", "configuration"}`` for
        the parameterised types, exactly as zarr-python 3 writes it."""
        if self.vlen == "string":
            return "string"
        if self.vlen == "bytes":
            return "variable_length_bytes"
        return _v3_json(self.dtype)

    @property
    def v2_str(self) -> str:
        """The Zarr v2 ``dtype`` as a string (``"<f8"``, ``"|O"`` for variable-length
        types, numpy's ``descr`` text for structured types; see :attr:`v2_json`)."""
        j = self.v2_json
        return j if isinstance(j, str) else str(j)

    @property
    def v2_json(self) -> str | list[Any]:
        """The Zarr v2 ``dtype`` value: ``"<f8"``, ``"|O"``, ``"<U8"``, ``"<M8[ns]"``,
        ``"bfloat16"``, or the list form ``[["a", "<i4"], ...]`` of a structured type."""
        if self.vlen is not None:
            return "|O"
        return _v2_json(self.dtype)

    @property
    def category(self) -> str:
        """What kind of element this is: a numeric kind (``"b" "i" "u" "f" "c"``),
        ``"U"``/``"S"`` fixed-length text/bytes, ``"M"``/``"m"`` datetime/timedelta,
        ``"struct"``, ``"raw"`` (void bytes), ``"ml"`` (bfloat16/float8) or ``"vlen"``."""
        return "vlen" if self.vlen is not None else _category(self.dtype)

    @property
    def itemsize(self) -> int:
        """Bytes per element in memory (the pointer size for variable-length types)."""
        return self.dtype.itemsize


def _v3_json(dt: np.dtype[Any]) -> str | dict[str, Any]:
    cat = _category(dt)
    if cat == "ml":
        return str(ml_dtype_name(dt))
    if cat == "U":
        return {"name": "fixed_length_utf32", "configuration": {"length_bytes": dt.itemsize}}
    if cat == "S":
        return {"name": "null_terminated_bytes", "configuration": {"length_bytes": dt.itemsize}}
    if cat == "raw":
        return {"name": "raw_bytes", "configuration": {"length_bytes": dt.itemsize}}
    if cat in ("M", "m"):
        unit, scale = np.datetime_data(dt)
        name = "numpy.datetime64" if cat == "M" else "numpy.timedelta64"
        return {"name": name, "configuration": {"unit": unit, "scale_factor": int(scale)}}
    if cat == "struct":
        fields = []
        for fname in dt.names or ():
            fdt = dt.fields[fname][0]  # type: ignore[index]
            if fdt.subdtype is not None:
                raise UnknownDataTypeError(
                    f"structured field {fname!r} of shape {fdt.shape} has no Zarr v3 form"
                )
            fields.append([fname, _v3_json(fdt)])
        return {"name": "structured", "configuration": {"fields": fields}}
    key = dt.newbyteorder("<").str if dt.itemsize > 1 else dt.str
    for name, s in _V3_NUMERIC.items():
        if s == key:
            return name
    raise UnknownDataTypeError(f"data type {dt.str!r} has no Zarr v3 name")


def _v2_json(dt: np.dtype[Any]) -> str | list[Any]:
    cat = _category(dt)
    if cat == "ml":
        return str(ml_dtype_name(dt))
    if cat == "struct":
        out: list[Any] = []
        for fname in dt.names or ():
            fdt = dt.fields[fname][0]  # type: ignore[index]
            if fdt.subdtype is not None:
                base, shape = fdt.subdtype
                out.append([fname, _v2_json(base), list(shape)])
            else:
                out.append([fname, _v2_json(fdt)])
        return out
    return str(dt.str)


def _length_bytes(obj: Any, name: str, unit: int = 1) -> int:
    conf = obj.get("configuration")
    if not isinstance(conf, dict) or set(conf) != {"length_bytes"}:
        raise MetadataError(
            f"expected data_type {name!r} with configuration {{'length_bytes': n}}, got {obj!r}"
        )
    n = conf["length_bytes"]
    if isinstance(n, bool) or not isinstance(n, int) or n < unit or n % unit or n > MAX_ITEMSIZE:
        raise MetadataError(
            f"expected {name!r} length_bytes to be a positive multiple of {unit} up to "
            f"{MAX_ITEMSIZE}, got {n!r}"
        )
    return n


def _datetime_dtype(kind: str, unit: Any, scale: Any) -> np.dtype[Any]:
    name = "numpy.datetime64" if kind == "M8" else "numpy.timedelta64"
    if not isinstance(unit, str) or unit not in DATETIME_UNITS:
        raise UnknownDataTypeError(
            f"unknown {name} unit {str(unit)[:100]!r}; expected one of {list(DATETIME_UNITS)}"
        )
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale < 2**31:
        raise MetadataError(f"expected a {name} scale_factor in [1, 2**31), got {scale!r}")
    if unit == "generic":
        return np.dtype(kind)
    return np.dtype(f"{kind}[{scale}{unit}]")


def _v3_field_dtype(obj: Any, depth: int) -> np.dtype[Any]:
    dt = _parse_v3(obj, depth)
    if dt.vlen is not None:
        raise UnknownDataTypeError(
            f"structured fields must have a fixed size, got a {dt.vlen} field ({obj!r})"
        )
    return dt.dtype


def _struct_from_fields(fields: Any, parse: Any, what: str) -> np.dtype[Any]:
    if not isinstance(fields, list) or not fields:
        raise MetadataError(f"expected {what} fields as a non-empty list, got {fields!r}")
    spec: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    for entry in fields:
        shape: Any = None
        if isinstance(entry, dict) and set(entry) <= {"name", "data_type"}:
            fname, fdt = entry.get("name"), entry.get("data_type")
        elif isinstance(entry, list) and len(entry) in (2, 3):
            fname, fdt = entry[0], entry[1]
            shape = entry[2] if len(entry) == 3 else None
        else:
            raise MetadataError(f"expected a {what} field as [name, dtype], got {entry!r}")
        if not isinstance(fname, str) or not fname or fname in seen:
            raise MetadataError(
                f"expected {what} field names to be distinct non-empty strings, got {fname!r}"
            )
        seen.add(fname)
        dt = parse(fdt)
        if shape is not None:
            if (
                not isinstance(shape, list)
                or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
                or math.prod(shape) * dt.itemsize > MAX_ITEMSIZE
            ):
                raise MetadataError(f"invalid shape {shape!r} of {what} field {fname!r}")
            spec.append((fname, dt, tuple(shape)))
        else:
            spec.append((fname, dt))
    try:
        out = np.dtype(spec)
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"invalid {what} fields {fields!r}: {exc}") from exc
    if out.itemsize > MAX_ITEMSIZE or out.itemsize == 0:
        raise MetadataError(f"{what} type of {out.itemsize} bytes per element is not supported")
    return out


def _parse_v3(obj: Any, depth: int = 0) -> DataType:
    if isinstance(obj, str):
        if obj in _V3_NUMERIC:
            return DataType(np.dtype(_V3_NUMERIC[obj]).newbyteorder("="))
        if obj in _V3_VLEN:
            return DataType(np.dtype(object), _V3_VLEN[obj])
        if obj in ML_DTYPE_NAMES:
            return DataType(_ml_dtype(obj))
        if len(obj) < 12 and obj[:1] == "r" and obj[1:].isdigit():  # core spec raw bits
            bits = int(obj[1:])
            if bits % 8 or not 0 < bits <= 8 * MAX_ITEMSIZE:
                raise MetadataError(f"expected a raw data type r<8k> with k > 0, got {obj!r}")
            return DataType(np.dtype(f"V{bits // 8}"))
        raise UnknownDataTypeError(
            f"unknown Zarr v3 data_type {obj[:100]!r}; expected one of "
            f"{sorted([*_V3_NUMERIC, 'string', 'variable_length_bytes', *ML_DTYPE_NAMES])} "
            "or a parameterised type (fixed_length_utf32, null_terminated_bytes, raw_bytes, "
            "numpy.datetime64, numpy.timedelta64, structured)"
        )
    if isinstance(obj, dict) and isinstance(obj.get("name"), str):
        name = obj["name"]
        extra = set(obj) - {"name", "configuration", "must_understand"}
        if extra:
            raise MetadataError(f"unexpected keys {sorted(extra)} in data_type {obj!r}")
        if name == "fixed_length_utf32":
            return DataType(np.dtype(f"U{_length_bytes(obj, name, 4) // 4}").newbyteorder("="))
        if name == "null_terminated_bytes":
            return DataType(np.dtype(f"S{_length_bytes(obj, name)}"))
        if name in ("raw_bytes", "fixed_length_bytes"):
            return DataType(np.dtype(f"V{_length_bytes(obj, name)}"))
        if name in ("numpy.datetime64", "numpy.timedelta64"):
            conf = obj.get("configuration")
            if not isinstance(conf, dict) or not set(conf) <= {"unit", "scale_factor"}:
                raise MetadataError(
                    f"expected {name} configuration {{'unit', 'scale_factor'}}, got {conf!r}"
                )
            kind = "M8" if name == "numpy.datetime64" else "m8"
            return DataType(_datetime_dtype(kind, conf.get("unit"), conf.get("scale_factor", 1)))
        if name in ("structured", "struct"):
            if depth >= MAX_STRUCT_DEPTH:
                raise MetadataError(
                    f"structured data types nested deeper than {MAX_STRUCT_DEPTH} levels "
                    "are not supported"
                )
            conf = obj.get("configuration")
            if not isinstance(conf, dict) or set(conf) != {"fields"}:
                raise MetadataError(f"expected {name} configuration {{'fields': [...]}}")
            return DataType(
                _struct_from_fields(
                    conf["fields"], lambda f: _v3_field_dtype(f, depth + 1), "structured"
                )
            )
        raise UnknownDataTypeError(f"unsupported Zarr v3 data_type extension {name[:100]!r}")
    raise MetadataError(f"expected data_type to be a string or an object, got {obj!r}")


def parse_v3_data_type(obj: Any) -> DataType:
    """Parse the ``data_type`` field of v3 array metadata.

    Parameters
    ----------
    obj
        The decoded JSON value of ``data_type``: a name (``"int32"``, ``"bfloat16"``...)
        or an object for the parameterised types zarr-python 3 writes
        (``fixed_length_utf32``, ``null_terminated_bytes``, ``raw_bytes``,
        ``numpy.datetime64``, ``numpy.timedelta64``, ``structured``).

    Returns
    -------
    DataType
        The data type, with a native-byte-order numpy dtype.

    Raises
    ------
    UnknownDataTypeError
        For an unknown name, unit or extension.
    MetadataError
        If ``obj`` is malformed.
    """
    return _parse_v3(obj)


def _v2_dtype(obj: Any, depth: int = 0) -> np.dtype[Any]:
    if isinstance(obj, list):
        if depth >= MAX_STRUCT_DEPTH:
            raise MetadataError(
                f"structured dtypes nested deeper than {MAX_STRUCT_DEPTH} levels are not supported"
            )
        return _struct_from_fields(obj, lambda f: _v2_dtype(f, depth + 1), "structured dtype")
    if not isinstance(obj, str) or len(obj) > 64:
        raise UnknownDataTypeError(
            f"expected .zarray dtype to be a string such as '<f8' or a list of fields, "
            f"got {str(obj)[:100]!r}"
        )
    if obj in ML_DTYPE_NAMES:
        return _ml_dtype(obj)
    try:
        dt = np.dtype(obj)
    except (TypeError, ValueError, OverflowError) as exc:
        raise UnknownDataTypeError(f"unknown Zarr v2 dtype {obj!r}") from exc
    cat = _category(dt)
    if cat in ("b", "i", "u", "f", "c") and dt.str.lstrip("<>|=") not in {
        s.lstrip("<>|") for s in _V3_NUMERIC.values()
    }:
        cat = "?"
    if cat == "?" or dt.fields is not None or dt.subdtype is not None:
        raise UnknownDataTypeError(
            f"unsupported Zarr v2 dtype {obj!r}; supported: bool, int8..int64, "
            "uint8..uint64, float16/32/64, complex64/128 in either byte order, <U n, |S n, "
            "|V n, <M8[unit], <m8[unit], structured lists, bfloat16/float8, |O strings"
        )
    if dt.itemsize == 0 or dt.itemsize > MAX_ITEMSIZE:
        raise UnknownDataTypeError(
            f"Zarr v2 dtype {obj!r}: expected 1 to {MAX_ITEMSIZE} bytes per element, "
            f"got {dt.itemsize}"
        )
    if cat in ("M", "m") and np.datetime_data(dt)[0] not in DATETIME_UNITS:
        raise UnknownDataTypeError(f"unknown unit in Zarr v2 dtype {obj!r}")
    return dt


def parse_v2_dtype(obj: Any, filters: list[dict[str, Any]] | None = None) -> DataType:
    """Parse the ``dtype`` field of v2 array metadata (``"<f8"``, ``"|O"``...).

    Parameters
    ----------
    obj
        The decoded JSON value of ``dtype``: a numpy dtype string (``"<f8"``, ``"<U8"``,
        ``"|S6"``, ``"<M8[ns]"``, ``"|V7"``), ``"bfloat16"``/float8 names, or the list
        form of a structured dtype (``[["a", "<i4"], ["b", "<f8", [2]]]``).
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
        For an unsupported or unparseable dtype.
    """
    if obj in ("|O", "O", "<O", ">O"):
        ids = [f.get("id") for f in (filters or []) if isinstance(f, dict)]
        if "vlen-utf8" in ids:
            return DataType(np.dtype(object), "string")
        if "vlen-bytes" in ids:
            return DataType(np.dtype(object), "bytes")
        raise UnknownDataTypeError(
            f"dtype {obj!r} needs a 'vlen-utf8' or 'vlen-bytes' filter, got filters {ids}"
        )
    return DataType(_v2_dtype(obj))


def data_type_from_user(dtype: Any, zarr_format: int) -> DataType:
    """Interpret a user's ``dtype=`` (numpy dtype, string, ``str``/``bytes`` types).

    Parameters
    ----------
    dtype
        A :class:`DataType`, numpy dtype or anything ``np.dtype`` accepts (``"<U8"`` and
        ``"S6"`` are fixed-length, ``"M8[ns]"``, structured lists...), a Zarr v3 data
        type name (``"int32"``, ``"bfloat16"``...), or ``str``/``bytes`` (and their
        length-less spellings) for variable-length strings and bytes.
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
        or (isinstance(dtype, np.dtype) and (dtype.kind in "OT" or dtype == np.dtype("U")))
        or (isinstance(dtype, str) and dtype in ("<U", ">U", "T", "<U0", "U0"))
    ):
        return DataType(np.dtype(object), "string")
    if dtype in (bytes, "bytes", "variable_length_bytes", "S", "|S", "S0", "|S0") or (
        isinstance(dtype, np.dtype) and dtype == np.dtype("S")
    ):
        return DataType(np.dtype(object), "bytes")
    if isinstance(dtype, str) and dtype in _V3_NUMERIC:
        dt = np.dtype(_V3_NUMERIC[dtype])
    elif isinstance(dtype, str) and dtype in ML_DTYPE_NAMES:
        dt = _ml_dtype(dtype)
    elif isinstance(dtype, (str, dict)) and zarr_format == 3 and not _numpy_spelling(dtype):
        dt = _parse_v3(dtype).dtype  # a Zarr v3 data_type name or object
    else:
        try:
            dt = np.dtype(dtype)
        except (TypeError, ValueError) as exc:
            raise UnknownDataTypeError(f"unknown dtype {dtype!r}") from exc
    if dt.kind == "O":
        return DataType(np.dtype(object), "string")
    cat = _category(dt)
    if cat == "?" or dt.hasobject or dt.itemsize == 0 or dt.subdtype is not None:
        raise UnknownDataTypeError(
            f"unsupported dtype {dt!r}; supported: bool, int8..int64, uint8..uint64, "
            "float16/32/64, complex64/128, bfloat16/float8, fixed-length U/S/V, "
            "datetime64/timedelta64, structured, str and bytes"
        )
    if cat == "struct" and zarr_format == 3:
        _v3_json(dt)  # fields must have a v3 form (no subarray fields)
    if cat in ("M", "m") and np.datetime_data(dt)[0] not in DATETIME_UNITS:
        raise UnknownDataTypeError(f"unsupported datetime unit in {dt!r}")
    if zarr_format == 3:
        dt = _native_order(dt)
    return DataType(dt)


def _numpy_spelling(dtype: Any) -> bool:
    if not isinstance(dtype, str):
        return False
    try:
        np.dtype(dtype)
    except (TypeError, ValueError):
        return False
    return True


def _native_order(dt: np.dtype[Any]) -> np.dtype[Any]:
    """``dt`` in native byte order, field by field for structured types."""
    if dt.fields is not None:
        return np.dtype([(name, _native_order(dt.fields[name][0])) for name in dt.names or ()])
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return np.dtype((_native_order(base), shape))
    if ml_dtype_name(dt) is not None:
        return dt
    return dt.newbyteorder("=") if dt.byteorder in "<>" else dt


# --------------------------------------------------------------------------- fill values
_UINT_FOR_FLOAT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


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
    dt = dtype.dtype
    cat = _category(dt)
    if cat in ("M", "m"):
        return np.array(NAT, dtype="i8").view(dt.newbyteorder("="))[()].astype(dt)
    if cat in ("U", "S", "raw", "struct"):
        return np.zeros((), dtype=dt)[()]
    return dt.type(0)


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
    cat = _category(dt)
    if cat not in ("b", "i", "u", "f", "c"):
        return _parse_fixed_fill(obj, dt, cat, zarr_format)
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
    cat = _category(dt)
    if cat == "ml":
        return _float_to_json(np.asarray(value, dtype=dt), zarr_format)
    if cat == "U":
        return str(np.asarray(value, dtype=dt)[()])
    if cat in ("S", "raw", "struct"):
        raw = np.asarray(value, dtype=dt).tobytes()
        if cat == "S":
            raw = raw.rstrip(b"\x00")
        return base64.standard_b64encode(raw).decode("ascii")
    if cat in ("M", "m"):
        return int(np.asarray(value, dtype=dt).astype(dt.newbyteorder("=")).view("i8"))
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
    cat = _category(dt)
    if cat in ("U", "S", "raw", "struct", "M", "m", "ml"):
        return _user_fixed_fill(value, dt, cat)
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


# --------------------------------------------------------------------------- fixed-size types
def _decode_b64(obj: str, what: str) -> bytes:
    try:
        return base64.standard_b64decode(obj.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise MetadataError(f"expected base64 for a {what} fill_value, got {obj[:100]!r}") from exc


def _from_raw(raw: bytes, dt: np.dtype[Any], what: str, exact: bool) -> Any:
    n = dt.itemsize
    if len(raw) > n or (exact and len(raw) != n):
        raise MetadataError(
            f"expected {'exactly' if exact else 'at most'} {n} bytes for a {what} "
            f"fill_value of {dt}, got {len(raw)}"
        )
    return np.frombuffer(raw.ljust(n, b"\x00"), dtype=dt)[0]


def _parse_fixed_fill(obj: Any, dt: np.dtype[Any], cat: str, zarr_format: int) -> Any:
    """Fill values of the fixed-size non-numeric types, as zarr-python 3 writes them."""
    if cat == "ml":
        return _parse_float(obj, dt, zarr_format)
    if cat == "U":
        if not isinstance(obj, str):
            raise MetadataError(f"expected a string fill_value for {dt}, got {obj!r}")
        if len(obj) > dt.itemsize // 4:
            raise MetadataError(
                f"fill_value of {len(obj)} characters does not fit {dt} "
                f"({dt.itemsize // 4} characters)"
            )
        return np.array(obj, dtype=dt)[()]
    if cat in ("S", "raw", "struct"):
        what = {"S": "fixed-length bytes", "raw": "raw bytes", "struct": "structured"}[cat]
        if isinstance(obj, str):
            raw = _decode_b64(obj, what)
        elif (
            isinstance(obj, list)
            and len(obj) <= dt.itemsize
            and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in obj)
        ):
            raw = bytes(obj)
        elif obj == 0 and not isinstance(obj, bool) and zarr_format == 2:
            raw = bytes(dt.itemsize)  # zarr-python 2 wrote 0 for "no particular fill"
        else:
            raise MetadataError(
                f"expected a base64 string fill_value for {what} {dt}, got {str(obj)[:100]!r}"
            )
        return _from_raw(raw, dt, what, exact=cat != "S")
    if cat in ("M", "m"):
        if obj == "NaT":
            bits = NAT
        elif isinstance(obj, int) and not isinstance(obj, bool) and NAT <= obj < 2**63:
            bits = obj
        else:
            raise MetadataError(
                f"expected a 64-bit integer (or 'NaT') as a {dt} fill_value, got {obj!r}"
            )
        return np.array(bits, dtype="i8").view(dt.newbyteorder("="))[()]
    raise UnknownDataTypeError(f"cannot parse a fill_value for dtype {dt}")


def _user_fixed_fill(value: Any, dt: np.dtype[Any], cat: str) -> Any:
    if cat == "ml":
        if isinstance(value, str):
            return _parse_float(value, dt, 3)
        try:
            return np.asarray(value).astype(dt)[()]
        except (TypeError, ValueError) as exc:
            raise MetadataError(f"cannot use fill_value {value!r} for dtype {dt}: {exc}") from exc
    if cat == "U":
        if not isinstance(value, str):
            raise MetadataError(f"expected a str fill_value for {dt}, got {value!r}")
        return _parse_fixed_fill(str(value), dt, cat, 3)
    if cat == "S":
        if not isinstance(value, (bytes, bytearray)):
            raise MetadataError(f"expected a bytes fill_value for {dt}, got {value!r}")
        return _from_raw(bytes(value), dt, "fixed-length bytes", exact=False)
    if cat == "raw" and isinstance(value, (bytes, bytearray)):
        return _from_raw(bytes(value), dt, "raw bytes", exact=True)
    if (
        cat in ("M", "m")
        and isinstance(value, (int, np.integer))
        and not isinstance(value, (bool, np.timedelta64))
    ):
        return _parse_fixed_fill(int(value), dt, cat, 3)
    try:
        out = np.array(value, dtype=dt)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MetadataError(f"cannot use fill_value {value!r} for dtype {dt}: {exc}") from exc
    if out.ndim != 0:
        raise MetadataError(f"expected a scalar fill_value for dtype {dt}, got {value!r}")
    return out[()]
