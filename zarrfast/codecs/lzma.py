"""LZMA / XZ (numcodecs ``lzma``; ``numcodecs.lzma`` in Zarr v3), through the standard
library's liblzma binding, byte-identical to numcodecs for the same parameters."""

from __future__ import annotations

import lzma as _lzma
from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast.abc.codec import Buffer, BytesBytesCodec
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

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> LZMACodec:
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'lzma': {exc}") from exc

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
        srclen = len(view)
        # Bounded: at most expected_size + 1 bytes are inflated, so a bomb is caught early.
        limit = -1 if expected_size is None else expected_size + 1
        parts: list[bytes] = []
        total = 0
        rest: Buffer = view
        try:
            while True:  # concatenated streams, as lzma.decompress accepts them
                dec = _lzma.LZMADecompressor(
                    format=self.format, filters=self.filters if self.format == 3 else None
                )
                parts.append(dec.decompress(rest, max_length=limit - total if limit >= 0 else -1))
                total += len(parts[-1])
                if limit >= 0 and total >= limit:
                    raise DecodeError(
                        f"lzma: expected {expected_size} decoded bytes, but the {srclen}-byte "
                        "input decodes to more"
                    )
                if not dec.eof:
                    if self.format == 3:
                        break  # raw streams have no end marker
                    raise DecodeError(f"lzma: truncated stream ({srclen} bytes of input)")
                rest = dec.unused_data
                if not rest:
                    break
        except (_lzma.LZMAError, EOFError, ValueError) as exc:
            if isinstance(exc, DecodeError):
                raise
            raise DecodeError(f"lzma: cannot decode {srclen} bytes of input: {exc}") from exc
        out = b"".join(parts)
        if expected_size is not None and len(out) != expected_size:
            raise DecodeError(
                f"lzma: expected {expected_size} decoded bytes, got {len(out)} from {srclen} "
                "bytes of input"
            )
        return out
