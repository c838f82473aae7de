"""Variable-length strings and bytes: the ``vlen-utf8`` and ``vlen-bytes`` array->bytes codecs.

Format (Zarr v3 codecs and numcodecs ``VLenUTF8``/``VLenBytes`` alike)::

    u32le element count, then for every element in C order: u32le byte length, bytes

In Zarr v2 these are the numcodecs *filters* ``{"id": "vlen-utf8"}`` / ``{"id":
"vlen-bytes"}`` of a ``|O`` array; in our codec model that filter is the array->bytes step.

Differences from numcodecs, on purpose:

* Elements are always written in C order of the chunk; numcodecs walks memory order, so
  it writes a Fortran-ordered array transposed.  Chunks from the pipeline are C order, so
  the bytes agree.
* ``str`` subclasses (``np.str_``) and ``bytes``-like items (``bytearray``,
  ``memoryview``) are accepted; numcodecs refuses them.  ``None`` encodes as an empty
  element, as in numcodecs.  Anything else raises EncodeError naming the element.
* Decoding refuses trailing bytes after the last element and invalid UTF-8 (DecodeError
  rather than numcodecs' UnicodeDecodeError).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from zarrfast.abc.codec import ArrayBytesCodec, Buffer, ChunkSpec
from zarrfast.errors import CodecError, DecodeError, EncodeError

if TYPE_CHECKING:
    # typing.Self is 3.11+; the package supports 3.10 and has no runtime dependency
    # on typing_extensions, so import it for the type checker only.
    from typing_extensions import Self

__all__ = ["VLenBytesCodec", "VLenUTF8Codec"]

_U32 = struct.Struct("<I")
_U32_MAX = 0xFFFFFFFF


def _frame(encoded: list[bytes], name: str) -> bytes:
    """Lay out ``count, (length, bytes)*`` with numpy: no per-element packing."""
    n = len(encoded)
    if n > _U32_MAX:
        raise EncodeError(f"{name} codec: expected at most {_U32_MAX} elements, got {n}")
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    if n and int(lengths.max()) > _U32_MAX:
        i = int(lengths.argmax())
        raise EncodeError(
            f"{name} codec: expected elements of at most {_U32_MAX} bytes, element {i} has "
            f"{int(lengths[i])}"
        )
    blob = b"".join(encoded)
    headers = np.empty(n + 1, dtype="<u4")
    headers[0] = n
    headers[1:] = lengths
    if not n:
        return headers.tobytes()
    # Byte runs alternate header/data: [count+len0][data0][len1][data1]...; mark the data
    # runs with one np.repeat, then fill both kinds with two boolean-mask assignments.
    runs = np.empty(2 * n, dtype=np.int64)
    runs[0::2] = 4
    runs[0] = 8
    runs[1::2] = lengths
    is_data = np.repeat(np.tile(np.array([False, True]), n), runs)
    out = np.empty(is_data.size, dtype=np.uint8)
    out[is_data] = np.frombuffer(blob, dtype=np.uint8)
    out[~is_data] = headers.view(np.uint8)
    return out.tobytes()


def _items(chunk: np.ndarray, spec: ChunkSpec, name: str) -> list[Any]:
    arr = np.asarray(chunk)
    if arr.size != spec.size:
        raise EncodeError(
            f"{name} codec: expected {spec.size} elements for a chunk of shape {spec.shape}, "
            f"got {arr.size} (shape {arr.shape})"
        )
    # tolist() of a StringDType/U/S array yields str/bytes; of an object array the items.
    items: list[Any] = arr.ravel(order="C").tolist()
    return items


def _split(data: Buffer, spec: ChunkSpec, name: str) -> list[bytes]:
    """Validate the frame and cut it into element byte strings (C order)."""
    buf = bytes(data)
    total = len(buf)
    if total < 4:
        raise DecodeError(
            f"{name} codec: expected at least 4 bytes for the element count, got {total}"
        )
    (count,) = _U32.unpack_from(buf, 0)
    if count != spec.size:
        raise DecodeError(
            f"{name} codec: expected an element count of {spec.size} for a chunk of shape "
            f"{spec.shape}, found {count}"
        )
    if 4 + 4 * count > total:
        raise DecodeError(
            f"{name} codec: {count} elements need at least {4 + 4 * count} bytes, got {total}"
        )
    unpack = _U32.unpack_from
    parts: list[bytes] = [b""] * count
    pos = 4
    for i in range(count):
        if pos + 4 > total:
            raise DecodeError(
                f"{name} codec: expected a 4-byte length for element {i} of {count} at "
                f"offset {pos}, but only {total - pos} bytes remain"
            )
        (length,) = unpack(buf, pos)
        pos += 4
        end = pos + length
        if end > total:
            raise DecodeError(
                f"{name} codec: element {i} of {count} claims {length} bytes at offset {pos}, "
                f"but only {total - pos} bytes remain"
            )
        parts[i] = buf[pos:end]
        pos = end
    if pos != total:
        raise DecodeError(
            f"{name} codec: expected {pos} bytes for {count} elements, got {total} "
            f"({total - pos} trailing bytes)"
        )
    return parts


def _to_object_array(items: list[Any], spec: ChunkSpec) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(spec.shape)


class _VLenCodec(ArrayBytesCodec):
    """Shared configuration and spec checks; subclasses set the names and item type."""

    _vlen: ClassVar[str]

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": {}}

    def to_v2_config(self) -> dict[str, Any]:
        return {"id": self.v2_id}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any]) -> Self:
        if configuration:
            raise CodecError(
                f"codec {cls.name!r}: expected an empty configuration, got {dict(configuration)}"
            )
        return cls()

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> Self:
        extra = {k: v for k, v in config.items() if k != "id"}
        if extra:
            raise CodecError(f"codec {cls.v2_id!r}: expected no parameters, got {extra}")
        return cls()

    def _dtype_ok(self, dtype: np.dtype[Any]) -> bool:
        return dtype == np.dtype(object)

    def validate(self, spec: ChunkSpec) -> None:
        # vlen None with an object dtype is let through: the metadata layer may not have
        # tagged a v2 ``|O`` array, and the filter itself says what the items are.
        if spec.vlen not in (self._vlen, None) or not self._dtype_ok(spec.dtype):
            raise CodecError(
                f"{self.name} codec: expected a variable-length {self._vlen} chunk (dtype "
                f"object, vlen={self._vlen!r}), got dtype {spec.dtype} with vlen={spec.vlen!r}"
            )


class VLenUTF8Codec(_VLenCodec):
    """UTF-8 strings, one ``u32le`` length prefix each.

    Encodes object arrays holding ``str`` (``None`` is written as ``""``, as numcodecs
    does) and numpy ``StringDType``/``U`` arrays; decodes to an object array of ``str``.
    """

    name: ClassVar[str] = "vlen-utf8"
    v2_id: ClassVar[str] = "vlen-utf8"
    _vlen: ClassVar[str] = "string"

    def _dtype_ok(self, dtype: np.dtype[Any]) -> bool:
        return dtype == np.dtype(object) or isinstance(dtype, np.dtypes.StringDType)

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> bytes:
        items = _items(chunk, spec, "vlen-utf8")
        if set(map(type, items)) <= {str}:
            try:
                return _frame(list(map(str.encode, items)), "vlen-utf8")
            except UnicodeEncodeError:
                pass  # the slow path names the element
        encoded: list[bytes] = []
        for i, item in enumerate(items):
            if item is None:
                encoded.append(b"")
                continue
            if not isinstance(item, str):
                raise EncodeError(
                    f"vlen-utf8 codec: expected str (or None) items, element {i} is "
                    f"{type(item).__name__}: {item!r:.80}"
                )
            try:
                encoded.append(str.encode(item, "utf-8"))
            except UnicodeEncodeError as exc:
                raise EncodeError(
                    f"vlen-utf8 codec: element {i} is not encodable as UTF-8: {exc}"
                ) from exc
        return _frame(encoded, "vlen-utf8")

    def decode(self, data: Buffer, spec: ChunkSpec) -> np.ndarray:
        parts = _split(data, spec, "vlen-utf8")
        try:
            strings = list(map(bytes.decode, parts))
        except UnicodeDecodeError:
            for i, part in enumerate(parts):
                try:
                    part.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DecodeError(
                        f"vlen-utf8 codec: expected UTF-8 text in element {i}, found invalid "
                        f"bytes: {exc}"
                    ) from exc
            raise  # unreachable: some element failed above
        return _to_object_array(strings, spec)


class VLenBytesCodec(_VLenCodec):
    """Byte strings, one ``u32le`` length prefix each.

    Encodes object arrays holding ``bytes`` (``None`` is written as ``b""``, as numcodecs
    does; ``bytearray``/``memoryview`` are accepted too); decodes to an object array of
    ``bytes``.
    """

    name: ClassVar[str] = "vlen-bytes"
    v2_id: ClassVar[str] = "vlen-bytes"
    _vlen: ClassVar[str] = "bytes"

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> bytes:
        items = _items(chunk, spec, "vlen-bytes")
        if set(map(type, items)) <= {bytes}:
            return _frame(items, "vlen-bytes")
        encoded: list[bytes] = []
        for i, item in enumerate(items):
            if item is None:
                encoded.append(b"")
            elif isinstance(item, (bytes, bytearray, memoryview)):
                encoded.append(bytes(item))
            else:
                raise EncodeError(
                    f"vlen-bytes codec: expected bytes (or None) items, element {i} is "
                    f"{type(item).__name__}: {item!r:.80}"
                )
        return _frame(encoded, "vlen-bytes")

    def decode(self, data: Buffer, spec: ChunkSpec) -> np.ndarray:
        return _to_object_array(_split(data, spec, "vlen-bytes"), spec)
