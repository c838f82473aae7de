"""The bridge to zarr-python 3 (and through it xarray).

* :func:`as_zarr_store` / :class:`ZarrfastStore`: any zarrfast store as a
  ``zarr.abc.store.Store``.
* :class:`CodecPipeline`: zarr-python's chunk decode/encode and scatter/gather through
  zarrfast's codecs, enabled with
  ``zarr.config.set({"codec_pipeline.path": "zarrfast.zarr_python.CodecPipeline"})``.
  :data:`FALLBACKS` counts the calls handed back to zarr-python's default pipeline.

Needs ``zarr>=3.1`` (``pip install 'zarrfast[zarr]'``).
"""

from __future__ import annotations

try:
    import zarr  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from zarrfast.errors import BackendNotAvailableError

    raise BackendNotAvailableError(
        "zarrfast.zarr_python needs zarr-python 3: pip install 'zarrfast[zarr]'"
    ) from exc

from zarrfast.zarr_python.pipeline import (
    FALLBACKS,
    CodecPipeline,
    decode_chunks,
    encode_chunks,
    fallback_count,
    reset_fallbacks,
)
from zarrfast.zarr_python.store import ZarrfastStore, as_zarr_store, to_zarrfast_byte_range

__all__ = [
    "FALLBACKS",
    "CodecPipeline",
    "ZarrfastStore",
    "as_zarr_store",
    "decode_chunks",
    "encode_chunks",
    "fallback_count",
    "reset_fallbacks",
    "to_zarrfast_byte_range",
]
