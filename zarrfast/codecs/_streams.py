"""Bounded decoding of compressed streams through the standard library's decompressor
objects (bz2, lzma): concatenated streams accepted, as their one-shot ``decompress``
functions accept them, and at most ``expected_size + 1`` bytes ever inflated, so a
decompression bomb is refused without being expanded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zarrfast.abc.codec import Buffer
from zarrfast.errors import DecodeError

__all__ = ["decode_streams"]


def decode_streams(
    name: str,
    view: memoryview,
    expected_size: int | None,
    make_decompressor: Callable[[], Any],
    errors: tuple[type[BaseException], ...],
    *,
    needs_end: bool = True,
) -> bytes:
    """Decode every stream in ``view`` with fresh ``make_decompressor()`` objects.

    ``needs_end=False`` for formats without an end marker (raw LZMA): input that ends
    without one is not truncation there.
    """
    srclen = len(view)
    limit = -1 if expected_size is None else expected_size + 1
    parts: list[bytes] = []
    total = 0
    rest: Buffer = view
    try:
        while True:
            dec = make_decompressor()
            parts.append(dec.decompress(rest, max_length=limit - total if limit >= 0 else -1))
            total += len(parts[-1])
            if limit >= 0 and total >= limit:
                raise DecodeError(
                    f"{name}: expected {expected_size} decoded bytes, but the {srclen}-byte "
                    "input decodes to more"
                )
            if not dec.eof:
                if not needs_end:
                    break
                raise DecodeError(f"{name}: truncated stream ({srclen} bytes of input)")
            rest = dec.unused_data
            if not rest:
                break
    except DecodeError:
        raise
    except errors as exc:
        raise DecodeError(f"{name}: cannot decode {srclen} bytes of input: {exc}") from exc
    out = b"".join(parts)
    if expected_size is not None and len(out) != expected_size:
        raise DecodeError(
            f"{name}: expected {expected_size} decoded bytes, got {len(out)} from {srclen} "
            "bytes of input"
        )
    return out
