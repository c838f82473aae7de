"""Zstandard (v3 ``zstd``, v2 numcodecs ``zstd``), native via libzstd.

Decoding accepts what numcodecs and zarr-python write, including several concatenated
frames and frames without a content size (decoded into a bounded growing buffer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast._native import _codecs as _native
from zarrfast.abc.codec import Buffer, BytesBytesCodec, NativeCodecSpec
from zarrfast.errors import CodecError

__all__ = ["ZstdCodec"]

#: zstd's level range (ZSTD_minCLevel() .. ZSTD_maxCLevel()); 0 means "default" (3).
MIN_LEVEL = -(1 << 17)
MAX_LEVEL = 22


def _check_int(codec: str, key: str, value: Any, lo: int, hi: int) -> int:
    """Validate an integer parameter (numpy integers accepted, bools and floats refused)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise CodecError(f"{codec} codec: expected an integer {key}, got {value!r}")
    number = int(value.__index__())
    if not lo <= number <= hi:
        raise CodecError(f"{codec} codec: expected {key} in [{lo}, {hi}], got {number}")
    return number


class ZstdCodec(BytesBytesCodec):
    """Zstandard compression.

    Parameters
    ----------
    level
        Compression level, ``-131072`` to ``22``; 0 selects zstd's default (3).
    checksum
        Store a 32-bit checksum of the content in each frame (verified when decoding).
    """

    name: ClassVar[str] = "zstd"
    v2_id: ClassVar[str] = "zstd"

    def __init__(self, level: int = 0, checksum: bool = False) -> None:
        self.level = _check_int("zstd", "level", level, MIN_LEVEL, MAX_LEVEL)
        if not isinstance(checksum, bool):
            raise CodecError(f"zstd codec: expected a boolean checksum, got {checksum!r}")
        self.checksum = checksum

    # ------------------------------------------------------------------ configuration
    def to_config(self) -> dict[str, Any]:
        """The v3 form zarr-python writes: ``{"name": "zstd", "configuration": {...}}``."""
        return {"name": "zstd", "configuration": {"level": self.level, "checksum": self.checksum}}

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> ZstdCodec:
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'zstd': {exc}") from exc

    def to_v2_config(self) -> dict[str, Any]:
        """The numcodecs form as zarr-python writes it (``checksum`` only when true)."""
        config: dict[str, Any] = {"id": "zstd", "level": self.level}
        if self.checksum:
            config["checksum"] = True
        return config

    def native_spec(self) -> NativeCodecSpec:
        return NativeCodecSpec("zstd", (self.level, int(self.checksum)))

    # ------------------------------------------------------------------ coding
    def encode(self, data: Buffer) -> bytes:
        return _native.encode("zstd", (self.level, int(self.checksum)), data)

    def decode(self, data: Buffer, expected_size: int | None = None) -> bytes:
        return _native.decode("zstd", (), data, expected_size)
