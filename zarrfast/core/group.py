"""The :class:`Group`: a node holding arrays and other groups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from zarrfast.abc.store import Store
from zarrfast.core.array import Array
from zarrfast.core.creation import build_metadata, write_new_array, write_new_group
from zarrfast.core.metadata.common import ArrayMetadata, dump_json
from zarrfast.core.node import Node
from zarrfast.core.nodes import (
    GroupMetadata,
    metadata_from_consolidated,
    node_exists,
    read_node,
    write_documents,
)
from zarrfast.errors import ContainsGroupError, NodeNotFoundError

__all__ = ["Group"]


class Group(Node):
    """A Zarr group (v2 or v3).  Members are reached with ``g["a/b"]``."""

    def __init__(
        self, store: Store, path: str, metadata: GroupMetadata, *, read_only: bool = False
    ) -> None:
        super().__init__(store, path, metadata, read_only=read_only)

    _kind = "group"

    # ------------------------------------------------------------------ properties
    @property
    def metadata(self) -> GroupMetadata:
        return self._metadata  # type: ignore[no-any-return]

    def _set_attributes(self, attrs: dict[str, Any]) -> None:
        self._check_writable()
        self._metadata = self._metadata.evolve(attributes=attrs)
        write_documents(self._store, self._path, self._metadata.to_documents())

    def _child(self, name: str) -> str:
        name = name.strip("/")
        if not name:
            raise NodeNotFoundError("expected a non-empty member name")
        return f"{self._path}/{name}" if self._path else name

    # ------------------------------------------------------------------ members
    def __getitem__(self, name: str) -> Array | Group:
        path = self._child(name)
        meta: Any = None
        if self._metadata.consolidated is not None:
            meta = metadata_from_consolidated(
                self.zarr_format, self._metadata.consolidated, name.strip("/")
            )
        if meta is None:
            meta = read_node(self._store, path)
        if isinstance(meta, GroupMetadata):
            cons = None
            if self._metadata.consolidated is not None:
                cons = self._consolidated_below(name.strip("/"))
            if cons:
                meta = meta.evolve(consolidated=cons)
            return Group(self._store, path, meta, read_only=self._read_only)
        return Array(self._store, path, meta, read_only=self._read_only)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except NodeNotFoundError:
            return default

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._metadata.consolidated is not None and self._consolidated_names(name):
            return True
        return node_exists(self._store, self._child(name))

    def _consolidated_children(self) -> dict[str, dict[str, Any]]:
        """The consolidated entries partitioned by first path component, built once.

        ``{"a": {".zarray": ..., "b/zarr.json": ...}}``-shaped: what each direct member
        sees as its own consolidated dict.  One pass over the entries, so walking a tree
        of N consolidated members costs O(N x depth), not O(N x groups).
        """
        cons = self._metadata.consolidated or {}
        cached = self.__dict__.get("_cons_parts")
        # keyed on the dict itself: any reassignment of the metadata (refresh, a
        # dropped or re-consolidated listing) makes a fresh partition
        if cached is not None and cached[0] is cons:
            hit: dict[str, dict[str, Any]] = cached[1]
            return hit
        parts: dict[str, dict[str, Any]] = {}
        for k, v in cons.items():
            first, sep, rest = k.partition("/")
            if sep:
                parts.setdefault(first, {})[rest] = v
        self.__dict__["_cons_parts"] = (cons, parts)
        return parts

    def _consolidated_below(self, name: str) -> dict[str, dict[str, Any]]:
        """Consolidated entries under member ``name`` (relative to it)."""
        if "/" not in name:
            return self._consolidated_children().get(name, {})
        prefix = name + "/"
        return {
            k[len(prefix) :]: v
            for k, v in (self._metadata.consolidated or {}).items()
            if k.startswith(prefix)
        }

    def _consolidated_names(self, name: str) -> bool:
        cons = self._metadata.consolidated or {}
        name = name.strip("/")
        if self.zarr_format == 3:
            return name in cons
        return any(f"{name}/{k}" in cons for k in (".zarray", ".zgroup"))

    def keys(self) -> Iterator[str]:
        """Names of the direct members (sorted)."""
        names = set()
        if self._metadata.consolidated is not None:
            for k in self._metadata.consolidated:
                first = k.partition("/")[0]
                if first not in (".zgroup", ".zattrs", ".zarray"):
                    names.add(first)
            return iter(sorted(names))
        prefix = f"{self._path}/" if self._path else ""
        for child in self._store.list_dir(prefix):
            if child in ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"):
                continue
            if node_exists(self._store, prefix + child):
                names.add(child)
        return iter(sorted(names))

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def __len__(self) -> int:
        return sum(1 for _ in self.keys())

    def members(self, max_depth: int | None = 0) -> list[tuple[str, Array | Group]]:
        """``(name, node)`` pairs; ``max_depth=None`` recurses without limit."""
        out: list[tuple[str, Array | Group]] = []
        for name in self.keys():
            node = self[name]
            out.append((name, node))
            if isinstance(node, Group) and (max_depth is None or max_depth > 0):
                sub = node.members(None if max_depth is None else max_depth - 1)
                out.extend((f"{name}/{n}", m) for n, m in sub)
        return out

    def arrays(self) -> list[tuple[str, Array]]:
        return [(n, m) for n, m in self.members() if isinstance(m, Array)]

    def groups(self) -> list[tuple[str, Group]]:
        return [(n, m) for n, m in self.members() if isinstance(m, Group)]

    def array_keys(self) -> list[str]:
        return [n for n, _ in self.arrays()]

    def group_keys(self) -> list[str]:
        return [n for n, _ in self.groups()]

    # ------------------------------------------------------------------ creation
    def _ensure_parents(self, name: str) -> None:
        parts = name.strip("/").split("/")[:-1]
        cur = self._path
        for p in parts:
            cur = f"{cur}/{p}" if cur else p
            if not node_exists(self._store, cur):
                write_documents(self._store, cur, GroupMetadata(self.zarr_format).to_documents())

    def create_group(
        self, name: str, *, overwrite: bool = False, attributes: dict[str, Any] | None = None
    ) -> Group:
        self._check_writable()
        self._ensure_parents(name)
        self._drop_consolidated()
        path = self._child(name)
        meta = write_new_group(
            self._store, path, self.zarr_format, overwrite=overwrite, attributes=attributes
        )
        return Group(self._store, path, meta)

    def require_group(self, name: str) -> Group:
        if name in self:
            node = self[name]
            if not isinstance(node, Group):
                raise ContainsGroupError(f"expected a group at {name!r}, found an array")
            return node
        return self.create_group(name)

    def create_array(
        self,
        name: str,
        shape: Any = None,
        *,
        data: Any = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> Array:
        """Create an array member (``zarr_format`` follows the group's)."""
        self._check_writable()
        if data is not None:
            import numpy as np

            data = np.asarray(data)
            shape = data.shape if shape is None else shape
            kwargs.setdefault("dtype", data.dtype if data.dtype.kind != "T" else str)
        if shape is None:
            raise TypeError("create_array needs shape= or data=")
        kwargs.setdefault("zarr_format", self.zarr_format)
        wec = kwargs.pop("write_empty_chunks", None)
        meta: ArrayMetadata = build_metadata(shape=shape, **kwargs)
        self._ensure_parents(name)
        self._drop_consolidated()
        path = self._child(name)
        write_new_array(self._store, path, meta, overwrite=overwrite)
        arr = Array(self._store, path, meta, write_empty_chunks=wec)
        if data is not None and data.size:
            arr[...] = data
        return arr

    def require_array(self, name: str, shape: Any, **kwargs: Any) -> Array:
        if name in self:
            node = self[name]
            if isinstance(node, Array):
                return node
        return self.create_array(name, shape, **kwargs)

    def zeros(self, name: str, shape: Any, **kwargs: Any) -> Array:
        return self.create_array(name, shape, fill_value=0, **kwargs)

    def ones(self, name: str, shape: Any, **kwargs: Any) -> Array:
        return self.create_array(name, shape, fill_value=1, **kwargs)

    def full(self, name: str, shape: Any, fill_value: Any, **kwargs: Any) -> Array:
        return self.create_array(name, shape, fill_value=fill_value, **kwargs)

    def empty(self, name: str, shape: Any, **kwargs: Any) -> Array:
        return self.create_array(name, shape, **kwargs)

    def __delitem__(self, name: str) -> None:
        self._check_writable()
        path = self._child(name)
        if not node_exists(self._store, path):
            raise NodeNotFoundError(f"no member {name!r} in group {self.name!r}")
        self._store.delete_prefix(path + "/")
        self._prune_consolidated(name.strip("/"))
        self._drop_consolidated()

    def _prune_consolidated(self, name: str) -> None:
        """Remove a deleted member from the stored consolidated metadata (as zarr-python
        does), so that reopening the group does not resurrect it."""
        stored = read_node(self._store, self._path, self.zarr_format)
        cons = getattr(stored, "consolidated", None)
        if not cons:
            return
        kept = {k: v for k, v in cons.items() if k != name and not k.startswith(name + "/")}
        if self.zarr_format == 3:
            assert isinstance(stored, GroupMetadata)
            docs = stored.evolve(consolidated=kept).to_documents()
            write_documents(self._store, self._path, docs)
        else:
            key = f"{self._path}/.zmetadata" if self._path else ".zmetadata"
            self._store.set(key, dump_json({"metadata": kept, "zarr_consolidated_format": 1}))

    def _drop_consolidated(self) -> None:
        # Consolidated metadata would go stale after a structural change: refresh the view.
        if self._metadata.consolidated is not None:
            self._metadata = self._metadata.evolve(consolidated=None)

    # ------------------------------------------------------------------ consolidation
    def consolidate_metadata(self) -> Group:
        """Record every descendant's metadata in this group's metadata document(s)."""
        self._check_writable()
        fresh = Group(self._store, self._path, self._metadata.evolve(consolidated=None))
        entries: dict[str, Any] = {}
        for name, node in fresh.members(max_depth=None):
            if self.zarr_format == 3:
                entries[name] = json.loads(node.metadata.to_documents()["zarr.json"])
            else:
                for k, v in node.metadata.to_documents().items():
                    entries[f"{name}/{k}"] = json.loads(v)
        if self.zarr_format == 3:
            meta = self._metadata.evolve(consolidated=entries)
            write_documents(self._store, self._path, meta.to_documents())
        else:
            own = {k: json.loads(v) for k, v in self._metadata.to_documents().items()}
            doc = {"metadata": {**own, **entries}, "zarr_consolidated_format": 1}
            key = f"{self._path}/.zmetadata" if self._path else ".zmetadata"
            self._store.set(key, dump_json(doc))
            meta = self._metadata.evolve(consolidated={**own, **entries})
        self._metadata = meta
        return self

    # ------------------------------------------------------------------ display
    def tree(self) -> str:
        lines = [self.name if self._path else "/"]

        def walk(g: Group, indent: str) -> None:
            names = list(g.keys())
            for i, n in enumerate(names):
                last = i == len(names) - 1
                node = g[n]
                branch = "└── " if last else "├── "
                if isinstance(node, Array):
                    lines.append(f"{indent}{branch}{n} {node.shape} {node.dtype}")
                else:
                    lines.append(f"{indent}{branch}{n}")
                    walk(node, indent + ("    " if last else "│   "))

        walk(self, "")
        return "\n".join(lines)

    @property
    def info(self) -> str:
        return (
            f"Type       : zarrfast.Group\nZarr format: {self.zarr_format}\n"
            f"Path       : {self.name}\nStore      : {self._store!r}\n"
            f"Members    : {len(self)}"
        )

    def __repr__(self) -> str:
        return f"<zarrfast.Group {self.name!r} zarr_format={self.zarr_format}>"
