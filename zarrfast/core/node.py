"""What arrays and groups share: a store, a path in it, metadata and attributes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from zarrfast.abc.store import Store
from zarrfast.errors import ReadOnlyStoreError

__all__ = ["Attributes", "Node"]


class Attributes(MutableMapping[str, Any]):
    """User attributes of an array or group; every change is written to the store."""

    def __init__(self, node: Any) -> None:
        self._node = node

    def _get(self) -> dict[str, Any]:
        return self._node._attributes()  # type: ignore[no-any-return]

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        attrs = dict(self._get())
        attrs[key] = value
        self._node._set_attributes(attrs)

    def __delitem__(self, key: str) -> None:
        attrs = dict(self._get())
        del attrs[key]
        self._node._set_attributes(attrs)

    def update(self, *args: Any, **kwargs: Any) -> None:  # one write for many keys
        attrs = dict(self._get())
        attrs.update(*args, **kwargs)
        self._node._set_attributes(attrs)

    def put(self, attrs: Mapping[str, Any]) -> None:
        """Replace all attributes."""
        self._node._set_attributes(dict(attrs))

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def asdict(self) -> dict[str, Any]:
        return dict(self._get())

    def __repr__(self) -> str:
        return f"Attributes({self._get()!r})"


class Node:
    """Base of :class:`~zarrfast.Array` and :class:`~zarrfast.Group`."""

    _kind = "node"

    def __init__(self, store: Store, path: str, metadata: Any, *, read_only: bool = False) -> None:
        self._store = store
        self._path = path.strip("/")
        self._metadata = metadata
        self._read_only = read_only or store.read_only

    @property
    def store(self) -> Store:
        return self._store

    @property
    def path(self) -> str:
        """Path of the node inside its store (``""`` for the root)."""
        return self._path

    @property
    def name(self) -> str:
        return "/" + self._path

    @property
    def basename(self) -> str:
        return self._path.rsplit("/", 1)[-1]

    @property
    def zarr_format(self) -> int:
        return int(self._metadata.zarr_format)

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def attrs(self) -> Attributes:
        return Attributes(self)

    def _attributes(self) -> dict[str, Any]:
        return self._metadata.attributes  # type: ignore[no-any-return]

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyStoreError(f"{self._kind} {self.name!r} on {self._store!r} is read-only")

    def _key_prefix(self) -> str:
        return f"{self._path}/" if self._path else ""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Node)
        return self._store == other._store and self._path == other._path

    def __hash__(self) -> int:
        return hash((type(self).__name__, hash(self._store), self._path))
