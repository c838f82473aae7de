"""A validated codec chain ``AA* -> AB -> BB*`` that is itself an array->bytes codec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar, cast

import numpy as np

from zarrfast.abc.codec import (
    ArrayArrayCodec,
    ArrayBytesCodec,
    Buffer,
    BytesBytesCodec,
    ChunkSpec,
    Codec,
)
from zarrfast.errors import CodecError, DecodeError

__all__ = ["CodecChain"]

_C = TypeVar("_C", bound=Codec)


def _evolved(codec: _C, spec: ChunkSpec) -> _C:
    """``codec.evolve_from_spec(spec)``; evolving never changes a codec's kind."""
    return cast(_C, codec.evolve_from_spec(spec))


class CodecChain(ArrayBytesCodec):
    """An ordered chain of codecs, checked at construction.

    Parameters
    ----------
    codecs
        Codec objects in encode order: any number of array->array codecs, exactly one
        array->bytes codec, then any number of bytes->bytes codecs.
    spec
        The decoded chunk spec.  When given, every codec is evolved for it (defaults
        such as blosc's ``typesize`` and bytes' ``endian`` are filled in) and validated.
    """

    name: ClassVar[None] = None

    def __init__(self, codecs: Sequence[Codec], spec: ChunkSpec | None = None) -> None:
        aa: list[ArrayArrayCodec] = []
        ab: ArrayBytesCodec | None = None
        bb: list[BytesBytesCodec] = []
        for c in codecs:
            if isinstance(c, ArrayArrayCodec):
                if ab is not None:
                    raise CodecError(
                        f"codec chain: array->array codec {_label(c)} must come before the "
                        f"array->bytes codec {_label(ab)}"
                    )
                aa.append(c)
            elif isinstance(c, ArrayBytesCodec):
                if ab is not None:
                    raise CodecError(
                        f"codec chain: expected exactly one array->bytes codec, got "
                        f"{_label(ab)} and {_label(c)}"
                    )
                ab = c
            elif isinstance(c, BytesBytesCodec):
                if ab is None:
                    raise CodecError(
                        f"codec chain: bytes->bytes codec {_label(c)} must come after an "
                        "array->bytes codec"
                    )
                bb.append(c)
            else:
                raise CodecError(f"codec chain: expected Codec objects, got {c!r}")
        if ab is None:
            raise CodecError(
                "codec chain: expected exactly one array->bytes codec (e.g. 'bytes'), got none"
            )
        self.specs: list[ChunkSpec] | None = None
        if spec is not None:
            specs = [spec]
            evolved_aa = []
            for c in aa:
                c = _evolved(c, specs[-1])
                c.validate(specs[-1])
                evolved_aa.append(c)
                specs.append(c.resolve_spec(specs[-1]))
            ab = _evolved(ab, specs[-1])
            ab.validate(specs[-1])
            bb = [_evolved(c, specs[-1]) for c in bb]
            for c in bb:
                c.validate(specs[-1])
            aa = evolved_aa
            self.specs = specs
        self.aa: tuple[ArrayArrayCodec, ...] = tuple(aa)
        self.ab: ArrayBytesCodec = ab
        self.bb: tuple[BytesBytesCodec, ...] = tuple(bb)

    @property
    def codecs(self) -> tuple[Codec, ...]:
        return (*self.aa, self.ab, *self.bb)

    def evolve_from_spec(self, spec: ChunkSpec) -> CodecChain:
        return CodecChain(self.codecs, spec)

    def _specs(self, spec: ChunkSpec) -> list[ChunkSpec]:
        if self.specs is not None and self.specs[0] == spec:
            return self.specs
        specs = [spec]
        for c in self.aa:
            specs.append(c.resolve_spec(specs[-1]))
        return specs

    def encoded_size(self, input_nbytes: int) -> int:
        from zarrfast.codecs.bytes import BytesCodec

        if self.aa or not isinstance(self.ab, BytesCodec):
            raise CodecError("codec chain: only bytes + fixed-size bytes codecs have a fixed size")
        n = input_nbytes
        for c in self.bb:
            n = c.encoded_size(n)
        return n

    def encode(self, chunk: np.ndarray, spec: ChunkSpec) -> Buffer:
        specs = self._specs(spec)
        for c, s in zip(self.aa, specs):
            chunk = c.encode(chunk, s)
        data = self.ab.encode(chunk, specs[-1])
        for b in self.bb:
            data = b.encode(data)
        return data

    def decode(self, data: Buffer, spec: ChunkSpec) -> np.ndarray:
        specs = self._specs(spec)
        inner = specs[-1]
        expected: int | None = None
        if self.ab.kind == "array_to_bytes" and inner.vlen is None and _is_plain_bytes(self.ab):
            expected = inner.nbytes
        # Only the codec next to the array->bytes step knows its exact output size;
        # the checksum codec's size is derivable from it too.
        sizes: list[int | None] = [None] * len(self.bb)
        if self.bb and expected is not None:
            sizes[0] = expected
            for i in range(1, len(self.bb)):
                prev = sizes[i - 1]
                try:
                    sizes[i] = self.bb[i - 1].encoded_size(prev) if prev is not None else None
                except CodecError:
                    break
        for b, size in zip(reversed(self.bb), reversed(sizes)):
            data = b.decode(data, size)
        arr = self.ab.decode(data, inner)
        for c, s in zip(reversed(self.aa), reversed(specs[:-1])):
            arr = c.decode(arr, s)
        if arr.shape != spec.shape:
            raise DecodeError(
                f"codec chain: expected a decoded chunk of shape {spec.shape}, got {arr.shape}"
            )
        return arr

    def to_config(self) -> dict[str, Any]:
        raise CodecError("a codec chain is serialised as a list; use to_json()")

    def native_spec(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"CodecChain({list(self.codecs)!r})"


def _is_plain_bytes(codec: ArrayBytesCodec) -> bool:
    from zarrfast.codecs.bytes import BytesCodec

    return isinstance(codec, BytesCodec)


def _label(c: Codec) -> str:
    return repr(c.name or c.v2_id or type(c).__name__)
