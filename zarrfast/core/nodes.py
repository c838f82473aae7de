"""Reading and writing node metadata (arrays and groups, v2 and v3) in a store."""

from __future__ import annotations

from typing import Any

from zarrfast.abc.store import Store
from zarrfast.core.metadata.common import ArrayMetadata, dump_json, load_json
from zarrfast.core.metadata.v2 import parse_zarray
from zarrfast.core.metadata.v3 import GroupMetadataV3, parse_v3
from zarrfast.errors import MetadataError, NodeNotFoundError

__all__ = ["GroupMetadata", "join", "node_exists", "read_node"]


class GroupMetadata:
    """Group metadata for either format (v2 ``.zgroup``/``.zattrs``/``.zmetadata``)."""

    def __init__(
        self,
        zarr_format: int,
        attributes: dict[str, Any] | None = None,
        consolidated: dict[str, Any] | None = None,
    ) -> None:
        self.zarr_format = zarr_format
        self.attributes = dict(attributes or {})
        #: v3: relative path -> zarr.json dict; v2: relative key -> document dict.
        self.consolidated = consolidated

    def to_documents(self) -> dict[str, bytes]:
        if self.zarr_format == 3:
            return GroupMetadataV3(self.attributes, self.consolidated).to_documents()
        docs = {".zgroup": dump_json({"zarr_format": 2}), ".zattrs": dump_json(self.attributes)}
        return docs

    def evolve(self, **changes: Any) -> GroupMetadata:
        d = {"attributes": self.attributes, "consolidated": self.consolidated, **changes}
        return GroupMetadata(self.zarr_format, d["attributes"], d["consolidated"])


def join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def _k(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def read_node(
    store: Store, path: str, zarr_format: int | None = None
) -> ArrayMetadata | GroupMetadata:
    """Metadata of the node at ``path`` (format auto-detected unless given)."""
    if zarr_format in (None, 3):
        raw = store.get(_k(path, "zarr.json"))
        if raw is not None:
            meta = parse_v3(load_json(raw, _k(path, "zarr.json")), _k(path, "zarr.json"))
            if isinstance(meta, GroupMetadataV3):
                return GroupMetadata(3, meta.attributes, meta.consolidated)
            return meta
    if zarr_format in (None, 2):
        keys = [_k(path, ".zarray"), _k(path, ".zgroup"), _k(path, ".zattrs")]
        zarray, zgroup, zattrs = store.get_many(keys)
        attrs = load_json(zattrs, keys[2]) if zattrs is not None else {}
        if zarray is not None:
            return parse_zarray(load_json(zarray, keys[0]), attrs, keys[0])
        if zgroup is not None:
            doc = load_json(zgroup, keys[1])
            if doc.get("zarr_format") != 2:
                raise MetadataError(
                    f"expected zarr_format 2 in {keys[1]!r}, got {doc.get('zarr_format')!r}"
                )
            consolidated = None
            zmeta = store.get(_k(path, ".zmetadata"))
            if zmeta is not None:
                cdoc = load_json(zmeta, _k(path, ".zmetadata"))
                m = cdoc.get("metadata")
                if isinstance(m, dict):
                    consolidated = m
            return GroupMetadata(2, attrs, consolidated)
    fmt = "" if zarr_format is None else f" (zarr_format={zarr_format})"
    raise NodeNotFoundError(f"no array or group at path {path or '/'!r}{fmt} in {store!r}")


def node_exists(store: Store, path: str) -> bool:
    keys = [_k(path, n) for n in ("zarr.json", ".zarray", ".zgroup")]
    return any(v is not None for v in store.get_many(keys))


def write_documents(store: Store, path: str, docs: dict[str, bytes]) -> None:
    store.set_many([(_k(path, k), v) for k, v in docs.items()])


def delete_node(store: Store, path: str) -> None:
    """Remove a node and everything below it."""
    if path:
        store.delete_prefix(path + "/")
    else:
        store.delete_prefix("")


def metadata_from_consolidated(
    zarr_format: int, entries: dict[str, Any], rel: str
) -> ArrayMetadata | GroupMetadata | None:
    """Metadata of member ``rel`` from a group's consolidated metadata, if recorded there."""
    if zarr_format == 3:
        doc = entries.get(rel)
        if doc is None:
            return None
        meta = parse_v3(doc, rel + "/zarr.json")
        if isinstance(meta, GroupMetadataV3):
            return GroupMetadata(3, meta.attributes, None)
        return meta
    za = entries.get(_k(rel, ".zarray"))
    attrs = entries.get(_k(rel, ".zattrs")) or {}
    if za is not None:
        return parse_zarray(za, attrs, _k(rel, ".zarray"))
    if _k(rel, ".zgroup") in entries:
        return GroupMetadata(2, attrs)
    return None
