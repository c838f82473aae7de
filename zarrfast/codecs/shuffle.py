"""The numcodecs ``shuffle`` filter (Zarr v2 id ``"shuffle"``; zarr-python 3
``numcodecs.shuffle``): a byte shuffle as a bytes->bytes codec.

Byte ``j`` of element ``i`` moves to ``j * n + i`` (``n`` elements), i.e. all first bytes,
then all second bytes, ... -- the same layout numcodecs' ``_doShuffle`` writes, done here
as one numpy transpose.  Like numcodecs, an ``elementsize`` of 0 or 1 copies the bytes
unchanged and, for larger sizes, a buffer that is not a whole number of elements is
refused (numcodecs raises ``ValueError``; here EncodeError/DecodeError).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from zarrfast.abc.codec import Buffer, BytesBytesCodec
from zarrfast.errors import CodecError, DecodeError, EncodeError

__all__ = ["ShuffleCodec"]


class ShuffleCodec(BytesBytesCodec):
    """Group bytes by their position within each element.

    Parameters
    ----------
    elementsize
        Element size in bytes (numcodecs' default 4).  0 and 1 mean "no shuffling".
    """

    v2_id: ClassVar[str] = "shuffle"

    def __init__(self, elementsize: int = 4) -> None:
        size: object = elementsize  # validated at runtime: it comes from stored metadata
        if isinstance(size, np.integer):
            size = int(size)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise CodecError(
                f"shuffle codec: expected a non-negative integer elementsize, got {size!r}"
            )
        self.elementsize: int = size

    # ------------------------------------------------------------------ configuration
    def to_v2_config(self) -> dict[str, Any]:
        """numcodecs ``Shuffle.get_config()``."""
        return {"id": "shuffle", "elementsize": self.elementsize}

    def to_config(self) -> dict[str, Any]:
        """zarr-python 3's ``numcodecs.shuffle`` form."""
        return {"name": "numcodecs.shuffle", "configuration": {"elementsize": self.elementsize}}

    @classmethod
    def from_config(cls, configuration: Mapping[str, Any]) -> ShuffleCodec:
        return cls._from_mapping(configuration)

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> ShuffleCodec:
        return cls._from_mapping({k: v for k, v in config.items() if k != "id"})

    @classmethod
    def _from_mapping(cls, conf: Mapping[str, Any]) -> ShuffleCodec:
        try:
            return cls(**dict(conf))
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'shuffle': {exc}") from exc

    def encoded_size(self, input_nbytes: int) -> int:
        return input_nbytes

    # ------------------------------------------------------------------ coding
    def _elements(self, data: Buffer, error: type[Exception]) -> tuple[np.ndarray, int]:
        raw = np.frombuffer(data, dtype=np.uint8)
        if raw.size % self.elementsize:
            raise error(
                f"shuffle codec: expected a multiple of elementsize {self.elementsize} bytes, "
                f"got {raw.size} ({raw.size % self.elementsize} left over)"
            )
        return raw, raw.size // self.elementsize

    def encode(self, data: Buffer) -> Buffer:
        if self.elementsize <= 1:
            return bytes(data)
        raw, n = self._elements(data, EncodeError)
        # (n, es) element rows -> (es, n) byte planes
        planes: bytes = raw.reshape(n, self.elementsize).T.tobytes()
        return planes

    def decode(self, data: Buffer, expected_size: int | None = None) -> Buffer:
        nbytes = memoryview(data).nbytes
        if expected_size is not None and nbytes != expected_size:
            raise DecodeError(f"shuffle codec: expected {expected_size} bytes, got {nbytes}")
        if self.elementsize <= 1:
            return bytes(data)
        raw, n = self._elements(data, DecodeError)
        rows: bytes = raw.reshape(self.elementsize, n).T.tobytes()
        return rows
