"""Type stubs for zarrfast._native._pipeline (see _pipeline.pyx)."""

from typing import Any

import numpy as np

__all__ = ["NativeEngine", "chunk_threads", "pool_size"]

def pool_size() -> int: ...
def decode_raw_into(
    kind: int | None, params: Any, payloads: list[Any], out: Any, size: int
) -> None: ...
def chunk_threads(nchunks: int) -> int: ...
def _set_stream_min_bytes(n: int) -> int: ...

class NativeEngine:
    metadata: Any
    store: Any
    fallback: Any
    prefix: str
    range_request: Any
    coalesce_gap: int
    def __init__(
        self, metadata: Any, store: Any, path: str, fallback: Any, plan: dict[str, Any]
    ) -> None: ...
    def key(self, coords: tuple[int, ...]) -> str: ...
    def read(self, projections: Any, out: np.ndarray, flat_out: bool) -> None: ...
    def write(
        self, projections: Any, value: np.ndarray, flat_value: bool, write_empty_chunks: bool
    ) -> None: ...
