"""An in-process store backed by a ``dict`` of immutable ``bytes``."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from zarrfast.abc.store import (
    Buffer,
    ByteRequest,
    Store,
    apply_byte_range,
    validate_key,
    validate_prefix,
)
from zarrfast.errors import NodeNotFoundError

__all__ = ["MemoryStore"]


def _to_bytes(key: str, value: Buffer) -> bytes:
    """An immutable copy of ``value`` (``bytes`` themselves are already immutable)."""
    if type(value) is bytes:
        return value
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(
            f"expected a bytes-like value for key {key!r}, got {type(value).__name__}"
        ) from None


class MemoryStore(Store):
    """A thread-safe store holding every value in memory.

    Parameters
    ----------
    data : Mapping[str, bytes-like], optional
        Initial contents.  Keys are validated and values copied into immutable
        ``bytes``; the mapping itself is copied, so later writes to the store are not
        visible in ``data`` (and vice versa).
    read_only : bool, default False
        Reject every write with :class:`~zarrfast.errors.ReadOnlyStoreError`.

    Notes
    -----
    * ``set`` stores an immutable ``bytes`` copy of the value, so a caller may reuse
      its buffer; ``get`` returns that very ``bytes`` object (no copy), and byte
      ranges are zero-copy ``memoryview`` slices of it.
    * Writes and batch operations take one lock; single-key reads rely on ``dict``
      lookups being atomic.  ``get_many``/``set_many``/``delete_many`` take the lock
      once for the whole batch.
    * ``list_dir`` and ``list_prefix`` are one O(n) scan over a snapshot of the keys.
    * Pickling copies the data; the clone is an independent store.  Two stores are
      equal when their contents and ``read_only`` flags are equal.
    """

    backend_name: ClassVar[str] = "memory"
    supports_transactions: ClassVar[bool] = False
    borrow_is_free: ClassVar[bool] = True

    def __init__(
        self, data: Mapping[str, Buffer] | None = None, *, read_only: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        self._lock = threading.Lock()
        self._data: dict[str, bytes] = {}
        if data:
            for key, value in data.items():
                self._data[validate_key(key)] = _to_bytes(key, value)

    # ------------------------------------------------------------------ required
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        """Return the stored ``bytes`` (or a memoryview slice), or ``None`` if missing."""
        validate_key(key)
        self._check_open()
        value = self._data.get(key)
        if value is None or byte_range is None:
            return value
        return apply_byte_range(value, byte_range)

    def set(self, key: str, value: Buffer) -> None:
        """Store an immutable copy of ``value`` at ``key``."""
        validate_key(key)
        self._check_writable()
        data = _to_bytes(key, value)
        with self._lock:
            self._data[key] = data

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        validate_key(key)
        self._check_writable()
        with self._lock:
            self._data.pop(key, None)

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value."""
        validate_key(key)
        self._check_open()
        return key in self._data

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix`` (a plain string prefix)."""
        validate_prefix(prefix)
        self._check_open()
        keys = self._snapshot_keys()
        if not prefix:
            return iter(keys)
        return (k for k in keys if k.startswith(prefix))

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Immediate children (keys and sub-directories) of the directory ``prefix``."""
        validate_prefix(prefix)
        self._check_open()
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        n = len(prefix)
        seen: dict[str, None] = {}
        for k in self._snapshot_keys():
            if k.startswith(prefix):
                child, _, _ = k[n:].partition("/")
                seen[child] = None
        return iter(seen)

    # ------------------------------------------------------------------ batch
    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        """Values for ``keys`` in order, read under one lock acquisition."""
        for k in keys:
            validate_key(k)
        self._check_open()
        with self._lock:
            get = self._data.get
            return [get(k) for k in keys]

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        """Store several values; nothing is written if any key or value is invalid."""
        self._check_writable()
        staged = [(validate_key(k), _to_bytes(k, v)) for k, v in items]
        with self._lock:
            self._data.update(staged)

    def _trusted_batch_ops(self) -> tuple[Any, Any] | None:
        """``(_get_many_trusted, _set_many_trusted)`` for the native engine, or ``None``
        for subclasses that change how batches are read or written (they keep being
        called through the public API)."""
        cls = type(self)
        if cls is not MemoryStore and any(
            getattr(cls, name) is not getattr(MemoryStore, name)
            for name in ("get", "set", "get_many", "set_many", "borrow_many", "get_ranges")
        ):
            return None
        return self._get_many_trusted, self._set_many_trusted

    def _get_many_trusted(self, keys: Sequence[str]) -> list[bytes | None]:
        """:meth:`get_many` without key validation, for the native engine only.

        The caller guarantees every key is valid (it built them from chunk
        coordinates and the array's validated path); the public API keeps validating.
        """
        self._check_open()
        with self._lock:
            return list(map(self._data.get, keys))

    def _set_many_trusted(self, keys: Sequence[str], values: Sequence[bytes]) -> None:
        """:meth:`set_many` for keys the caller built itself and fresh ``bytes`` it owns
        (stored as they are: ``bytes`` are immutable).  For the native engine only."""
        self._check_writable()
        with self._lock:
            self._data.update(zip(keys, values))

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete several keys under one lock; missing keys are ignored."""
        self._check_writable()
        staged = [validate_key(k) for k in keys]
        with self._lock:
            pop = self._data.pop
            for k in staged:
                pop(k, None)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix``; return how many were deleted."""
        validate_prefix(prefix)
        self._check_writable()
        with self._lock:
            if not prefix:
                n = len(self._data)
                self._data.clear()
                return n
            doomed = [k for k in self._data if k.startswith(prefix)]
            for k in doomed:
                del self._data[k]
            return len(doomed)

    def getsize(self, key: str) -> int:
        """Size in bytes of the value at ``key``; ``NodeNotFoundError`` if missing."""
        value = self.get(key)
        if value is None:
            raise NodeNotFoundError(f"no value at key {key!r} in {self!r}")
        return len(value)

    def getsize_prefix(self, prefix: str) -> int:
        """Total size in bytes of every value whose key starts with ``prefix``."""
        validate_prefix(prefix)
        self._check_open()
        with self._lock:
            return sum(len(v) for k, v in self._data.items() if k.startswith(prefix))

    # ------------------------------------------------------------------ identity
    def _snapshot_keys(self) -> list[str]:
        # Iterating the live dict while another thread writes raises RuntimeError.
        with self._lock:
            return list(self._data)

    def _pickle_config(self) -> dict[str, Any]:
        with self._lock:
            data = dict(self._data)
        return {"data": data, "read_only": self._read_only}

    def _repr_fields(self) -> dict[str, Any]:
        return {"nkeys": len(self._data)}

    def __hash__(self) -> int:
        # Equality compares (mutable) contents, so only immutable state may be hashed.
        return hash((type(self), self._read_only))
