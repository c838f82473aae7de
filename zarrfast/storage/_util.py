"""Helpers shared by the storage backends."""

from __future__ import annotations

from zarrfast.abc.store import Buffer


def as_write_buffer(key: str, value: Buffer) -> memoryview:
    """``value`` as a flat, C-contiguous byte view (copied only when not contiguous)."""
    try:
        mv = memoryview(value)
    except TypeError:
        raise TypeError(
            f"expected a bytes-like value for key {key!r}, got {type(value).__name__}"
        ) from None
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    return mv.cast("B") if (mv.format != "B" or mv.ndim != 1) else mv
