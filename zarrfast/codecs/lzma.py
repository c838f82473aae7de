"""LZMA / XZ (numcodecs ``lzma``; ``numcodecs.lzma`` in Zarr v3), through the standard
library's liblzma binding, byte-identical to numcodecs for the same parameters."""

from __future__ import annotations

import lzma as _lzma
from typing import Any, ClassVar

from zarrfast.abc.codec import Buffer, BytesBytesCodec
from zarrfast.codecs._streams import decode_streams
from zarrfast.errors import CodecError, DecodeError, EncodeError

__all__ = ["LZMACodec"]

_FORMATS = {_lzma.FORMAT_XZ, _lzma.FORMAT_ALONE, _lzma.FORMAT_RAW}
_CHECKS = {-1, _lzma.CHECK_NONE, _lzma.CHECK_CRC32, _lzma.CHECK_CRC64, _lzma.CHECK_SHA256}


class LZMACodec(BytesBytesCodec):
    """LZMA compression with numcodecs' parameters.

    Parameters
    ----------
    format
        ``lzma.FORMAT_XZ`` (1, default), ``FORMAT_ALONE`` (2) or ``FORMAT_RAW`` (3).
    check
        Integrity check of the XZ container (-1: liblzma's default).
    preset
        Compression preset 0-9 (optionally ``| lzma.PRESET_EXTREME``), or None.
    filters
        A custom filter chain (a list of dicts, as the ``lzma`` module takes), or None.
    """

    name: ClassVar[str | None] = None
    v2_id: ClassVar[str] = "lzma"

    def __init__(
        self,
        format: int = 1,
        check: int = -1,
        preset: int | None = None,
        filters: list[dict[str, Any]] | None = None,
    ) -> None:
        if format not in _FORMATS:
            raise CodecError(f"lzma codec: expected format 1, 2 or 3, got {format!r}")
        if check not in _CHECKS:
            raise CodecError(f"lzma codec: expected check in {sorted(_CHECKS)}, got {check!r}")
        if preset is not None and (
            isinstance(preset, bool)
            or not isinstance(preset, int)
            or not 0 <= (preset & ~_lzma.PRESET_EXTREME) <= 9
        ):
            raise CodecError(f"lzma codec: expected preset 0-9 or None, got {preset!r}")
        if filters is not None and (
            not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters)
        ):
            raise CodecError(f"lzma codec: expected filters as a list of dicts, got {filters!r}")
        if format == _lzma.FORMAT_RAW and filters is None:
            raise CodecError("lzma codec: format 3 (raw) needs a filters chain")
        self.format = format
        self.check = check
        self.preset = preset
        self.filters = filters

    def to_v2_config(self) -> dict[str, Any]:
        return {
            "id": "lzma",
            "format": self.format,
            "check": self.check,
            "preset": self.preset,
            "filters": self.filters,
        }

    def encode(self, data: Buffer) -> bytes:
        try:
            return _lzma.compress(
                memoryview(data).cast("B"),
                format=self.format,
                check=self.check,
                preset=self.preset,
                filters=self.filters,
            )
        except (TypeError, ValueError, _lzma.LZMAError) as exc:
            raise EncodeError(f"lzma: cannot encode: {exc}") from exc

    def decode(self, data: Buffer, expected_size: int | None = None) -> bytes:
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"lzma: expected a contiguous bytes-like object: {exc}") from exc
        raw = self.format == _lzma.FORMAT_RAW
        return decode_streams(
            "lzma",
            view,
            expected_size,
            lambda: _lzma.LZMADecompressor(
                format=self.format, filters=self.filters if raw else None
            ),
            (_lzma.LZMAError, EOFError, ValueError),
            needs_end=not raw,
        )
