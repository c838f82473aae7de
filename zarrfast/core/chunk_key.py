"""Chunk key encodings: v3 ``default`` and ``v2``, and the v2 ``dimension_separator``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zarrfast.errors import MetadataError

__all__ = ["ChunkKeyEncoding", "parse_chunk_key_encoding"]


@dataclass(frozen=True)
class ChunkKeyEncoding:
    """How grid coordinates become store keys.

    ``default``: ``"c" + sep + sep.join(coords)``; the 0-d key is ``"c"``.
    ``v2``: ``sep.join(coords)``; the 0-d key is ``"0"``.
    """

    name: str = "default"
    separator: str = "/"

    def __post_init__(self) -> None:
        if self.name not in ("default", "v2"):
            raise MetadataError(
                f"unknown chunk_key_encoding {self.name!r}; expected 'default' or 'v2'"
            )
        if self.separator not in ("/", "."):
            raise MetadataError(f"expected chunk key separator '/' or '.', got {self.separator!r}")

    def encode(self, coords: tuple[int, ...]) -> str:
        if self.name == "default":
            if not coords:
                return "c"
            return "c" + self.separator + self.separator.join(map(str, coords))
        if not coords:
            return "0"
        return self.separator.join(map(str, coords))

    def decode(self, key: str, ndim: int) -> tuple[int, ...] | None:
        """Grid coordinates of chunk key ``key`` of an ``ndim``-d array, or ``None``."""
        if ndim == 0:
            return () if key == ("c" if self.name == "default" else "0") else None
        if self.name == "default":
            if not key.startswith("c" + self.separator):
                return None
            key = key[2:]
        parts = key.split(self.separator)
        if len(parts) != ndim or not all(p.isdigit() for p in parts):
            return None
        return tuple(int(p) for p in parts)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": {"separator": self.separator}}


def parse_chunk_key_encoding(obj: Any) -> ChunkKeyEncoding:
    if isinstance(obj, str):
        obj = {"name": obj}
    if not isinstance(obj, Mapping):
        raise MetadataError(f"expected a chunk_key_encoding object, got {obj!r}")
    name = obj.get("name")
    conf = obj.get("configuration") or {}
    if not isinstance(conf, Mapping):
        raise MetadataError(f"expected chunk_key_encoding configuration object, got {conf!r}")
    if name not in ("default", "v2"):
        raise MetadataError(f"unknown chunk_key_encoding {name!r}; expected 'default' or 'v2'")
    sep = conf.get("separator", "/" if name == "default" else ".")
    return ChunkKeyEncoding(name, sep)
