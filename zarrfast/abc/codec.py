"""The Codec interface.

Zarr v3 orders codecs by what they consume and produce:

* :class:`ArrayArrayCodec` (array -> array): ``transpose``, v2 filters such as ``delta``.
* :class:`ArrayBytesCodec` (array -> bytes): ``bytes``, ``sharding_indexed``, ``vlen-*``.
* :class:`BytesBytesCodec` (bytes -> bytes): ``zstd``, ``blosc``, ``gzip``, ``crc32c``...

A chain ``AA* -> AB -> BB*`` is validated when built (``zarrfast.codecs.chain``) and is
itself an :class:`ArrayBytesCodec`, so sharding can nest one.

Every codec round-trips its configuration: :meth:`Codec.from_config` /
:meth:`Codec.to_config` for v3 metadata (``{"name": ..., "configuration": {...}}``) and,
where the codec exists in numcodecs, :meth:`Codec.from_v2_config` /
:meth:`Codec.to_v2_config` (``{"id": ..., ...}``).

A codec with a native implementation returns a :class:`NativeCodecSpec` from
:meth:`Codec.native_spec`; the pipeline then hands whole batches of chunks to C.
Codecs never see a store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

import numpy as np

from zarrfast.errors import CodecError

__all__ = [
    "ArrayArrayCodec",
    "ArrayBytesCodec",
    "BytesBytesCodec",
    "ChunkSpec",
    "Codec",
    "CodecKind",
    "NativeCodecSpec",
]

CodecKind = Literal["array_to_array", "array_to_bytes", "bytes_to_bytes"]
Buffer = bytes | bytearray | memoryview


@dataclass(frozen=True)
class ChunkSpec:
    """What a codec needs to know about the chunk it is given.

    Parameters
    ----------
    shape
        Chunk shape (always the full chunk shape, also for edge chunks).
    dtype
        In-memory numpy dtype of the chunk.  Variable-length strings and bytes use
        ``dtype('O')`` with :attr:`vlen` set.
    fill_value
        The array's fill value as a numpy scalar (or ``str``/``bytes`` for vlen types).
    vlen
        ``"string"`` or ``"bytes"`` for variable-length types, else ``None``.
    """

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: Any = None
    vlen: str | None = None

    @property
    def nbytes(self) -> int:
        """Decoded size in bytes of a fixed-size chunk."""
        n = self.dtype.itemsize
        for s in self.shape:
            n *= s
        return n

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def with_shape(self, shape: tuple[int, ...]) -> ChunkSpec:
        return replace(self, shape=tuple(shape))

    def with_dtype(self, dtype: np.dtype[Any]) -> ChunkSpec:
        return replace(self, dtype=np.dtype(dtype))


@dataclass(frozen=True)
class NativeCodecSpec:
    """How the native batch pipeline runs a codec: a kind name and integer parameters.

    ``kind`` is one of the names the C dispatcher understands (``"zstd"``, ``"blosc"``,
    ``"gzip"``, ``"zlib"``, ``"lz4"``, ``"crc32c"``); ``params`` are codec specific.
    """

    kind: str
    params: tuple[int, ...] = field(default_factory=tuple)


class Codec(ABC):
    """Base of every codec.  Subclasses are immutable value objects."""

    #: Zarr v3 codec name (``None`` for v2-only codecs such as ``lz4``).
    name: ClassVar[str | None] = None
    #: numcodecs id used in Zarr v2 metadata (``None`` for v3-only codecs).
    v2_id: ClassVar[str | None] = None
    kind: ClassVar[CodecKind]

    # ------------------------------------------------------------------ configuration
    @classmethod
    def from_config(cls, configuration: Mapping[str, Any]) -> Codec:
        """Build from the v3 ``configuration`` object (unknown keys raise CodecError)."""
        try:
            return cls(**dict(configuration))
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec {cls.name!r}: {exc}") from exc

    def to_config(self) -> dict[str, Any]:
        """The v3 JSON form: ``{"name": ..., "configuration": {...}}``."""
        raise CodecError(f"codec {type(self).__name__} has no Zarr v3 form")

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> Codec:
        """Build from a numcodecs config ``{"id": ..., ...}``."""
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec {cls.v2_id!r}: {exc}") from exc

    def to_v2_config(self) -> dict[str, Any]:
        """The numcodecs JSON form ``{"id": ..., ...}``."""
        raise CodecError(f"codec {type(self).__name__} has no Zarr v2 form")

    # ------------------------------------------------------------------ spec handling
    def evolve_from_spec(self, spec: ChunkSpec) -> Codec:
        """Fill in defaults that depend on the chunk (e.g. blosc ``typesize``)."""
        return self

    def validate(self, spec: ChunkSpec) -> None:
        """Raise :class:`CodecError` if this codec cannot handle chunks like ``spec``."""

    def resolve_spec(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of this codec's *encoded* output (array->array codecs change it)."""
        return spec

    def encoded_size(self, input_nbytes: int) -> int:
        """Encoded size for a fixed-size codec (shard index codecs must be fixed-size)."""
        raise CodecError(f"codec {self.name or self.v2_id!r} does not have a fixed encoded size")

    def native_spec(self) -> NativeCodecSpec | None:
        """The native batch form of this codec, or ``None`` if it runs in Python."""
        return None

    # ------------------------------------------------------------------ value object
    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.__dict__.items()))))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class ArrayArrayCodec(Codec):
    """array -> array.  ``spec`` is always the *decoded* (input) side's spec."""

    kind: ClassVar[CodecKind] = "array_to_array"

    @abstractmethod
    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray: ...

    @abstractmethod
    def decode(self, chunk: np.ndarray, spec: ChunkSpec) -> np.ndarray: ...


class ArrayBytesCodec(Codec):
    """array -> bytes.  ``spec`` describes the array side."""

    kind: ClassVar[CodecKind] = "array_to_bytes"

    @abstractmethod
    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> Buffer: ...

    @abstractmethod
    def decode(self, data: Buffer, spec: ChunkSpec) -> np.ndarray:
        """Decode to an array of exactly ``spec.shape``/``spec.dtype`` or raise DecodeError."""


class BytesBytesCodec(Codec):
    """bytes -> bytes."""

    kind: ClassVar[CodecKind] = "bytes_to_bytes"

    @abstractmethod
    def encode(self, data: Buffer) -> Buffer: ...

    @abstractmethod
    def decode(self, data: Buffer, expected_size: int | None = None) -> Buffer:
        """Decode ``data``.

        ``expected_size``, when given, is the exact decoded size: implementations must
        refuse (DecodeError) a frame claiming another size *before* allocating for it,
        and must never produce more than ``expected_size`` bytes.
        """
