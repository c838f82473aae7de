"""A read cache in front of any store: an in-memory LRU with a byte budget, optionally
backed by a local directory (the "hybrid storage" pattern: remote data, local copies).

Writes go through to the wrapped store and refresh the cache (write-through), so a
process never reads its own stale data.  Other writers are not seen until
:meth:`CachingStore.invalidate`.  Metadata documents (``zarr.json``, ``.zarray``,
``.zgroup``, ``.zattrs``, ``.zmetadata``) are cached too -- including the fact that they
are missing, which saves the v2/v3 probing round trips when an array is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

from zarrfast.abc.store import (
    Buffer,
    ByteRequest,
    Store,
    apply_byte_range,
    validate_key,
    validate_prefix,
)

__all__ = ["CachingStore"]

METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})
_MISSING = object()


def is_metadata_key(key: str) -> bool:
    return key.rpartition("/")[2] in METADATA_NAMES


class CachingStore(Store):
    """Cache reads of ``store`` in memory (LRU, ``max_bytes``) and optionally on disk.

    Parameters
    ----------
    store : Store
        The store to wrap (typically S3/GCS/Azure/GridFS).
    max_bytes : int, default 256 MiB
        Memory budget for cached values; least recently used values are evicted first.
        A value larger than the budget is not kept in memory.
    cache_dir : str or path, optional
        A local directory for a second, persistent cache level.  Each wrapped store gets
        its own sub-directory (named by a hash of its non-secret identity).
    cache_metadata : bool, default True
        Cache metadata documents and their absence.
    cache_chunks : bool, default True
        Cache chunk values (set False to cache metadata only).

    Notes
    -----
    Byte-range reads are served from a cached whole value when there is one; otherwise
    they go to the wrapped store and are not cached (a shard index read must not pull
    the whole shard).  ``invalidate()`` drops everything, ``invalidate(key)`` one key,
    ``invalidate(prefix="a/")`` a subtree -- in memory and on disk.
    """

    backend_name: ClassVar[str] = "caching"

    def __init__(
        self,
        store: Store,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_metadata: bool = True,
        cache_chunks: bool = True,
        read_only: bool | None = None,
    ) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"expected a zarrfast Store to wrap, got {type(store).__name__}")
        if max_bytes < 0:
            raise ValueError(f"expected max_bytes >= 0, got {max_bytes}")
        super().__init__(read_only=store.read_only if read_only is None else read_only)
        self.store = store
        self.max_bytes = int(max_bytes)
        self.cache_metadata = bool(cache_metadata)
        self.cache_chunks = bool(cache_chunks)
        self._cache_dir_arg = os.fspath(cache_dir) if cache_dir is not None else None
        self._dir: str | None = None
        if self._cache_dir_arg is not None:
            ident = f"{type(store).__name__}:{sorted(store._repr_fields().items())!r}"
            sub = hashlib.sha256(ident.encode()).hexdigest()[:16]
            self._dir = os.path.join(self._cache_dir_arg, sub)
            os.makedirs(self._dir, exist_ok=True)
        self._lock = threading.Lock()
        self._lru: OrderedDict[str, Any] = OrderedDict()  # key -> bytes or _MISSING
        self._nbytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def supports_partial_reads(self) -> bool:  # type: ignore[override]
        return self.store.supports_partial_reads

    @property
    def supports_listing(self) -> bool:  # type: ignore[override]
        return self.store.supports_listing

    @property
    def supports_deletes(self) -> bool:  # type: ignore[override]
        return self.store.supports_deletes

    # ------------------------------------------------------------------ cache levels
    def _cacheable(self, key: str) -> bool:
        return self.cache_metadata if is_metadata_key(key) else self.cache_chunks

    def _mem_get(self, key: str) -> Any:
        with self._lock:
            value = self._lru.get(key)
            if value is not None:
                self._lru.move_to_end(key)
            return value

    def _mem_put(self, key: str, value: Any) -> None:
        size = len(value) if isinstance(value, bytes) else 0
        with self._lock:
            old = self._lru.pop(key, None)
            if isinstance(old, bytes):
                self._nbytes -= len(old)
            if size > self.max_bytes:
                return
            self._lru[key] = value
            self._nbytes += size
            while self._nbytes > self.max_bytes and self._lru:
                _, evicted = self._lru.popitem(last=False)
                if isinstance(evicted, bytes):
                    self._nbytes -= len(evicted)

    def _disk_path(self, key: str) -> str | None:
        if self._dir is None:
            return None
        return os.path.join(self._dir, *key.split("/")) + ".cached"

    def _disk_get(self, key: str) -> bytes | None:
        path = self._disk_path(key)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def _disk_put(self, key: str, value: bytes) -> None:
        path = self._disk_path(key)
        if path is None:
            return
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(value)
            os.replace(tmp, path)  # readers see the old file or the new one, never half
        except OSError:
            pass  # the disk cache is best effort; the data is safe in the store

    def _disk_drop(self, key: str) -> None:
        path = self._disk_path(key)
        if path is not None:
            with contextlib.suppress(OSError):
                os.remove(path)

    def _cached(self, key: str) -> Any:
        """bytes, _MISSING (known absent), or None (unknown)."""
        if not self._cacheable(key):
            return None
        value = self._mem_get(key)
        if value is not None:
            return value
        disk = self._disk_get(key)
        if disk is not None:
            self._mem_put(key, disk)
            return disk
        return None

    def _remember(self, key: str, value: Buffer | None) -> bytes | None:
        data = None if value is None else memoryview(value).cast("B").tobytes()
        if self._cacheable(key):
            if data is None:
                if is_metadata_key(key):
                    self._mem_put(key, _MISSING)
            else:
                self._mem_put(key, data)
                self._disk_put(key, data)
        return data

    def invalidate(self, key: str | None = None, *, prefix: str | None = None) -> None:
        """Forget cached values: all of them, one ``key``, or every key under ``prefix``."""
        if key is not None:
            validate_key(key)
            with self._lock:
                old = self._lru.pop(key, None)
                if isinstance(old, bytes):
                    self._nbytes -= len(old)
            self._disk_drop(key)
            return
        p = validate_prefix(prefix or "")
        with self._lock:
            doomed = [k for k in self._lru if k.startswith(p)]
            for k in doomed:
                old = self._lru.pop(k)
                if isinstance(old, bytes):
                    self._nbytes -= len(old)
        if self._dir is not None:
            for root, _dirs, names in os.walk(self._dir):
                for name in names:
                    full = os.path.join(root, name)
                    rel = os.path.relpath(full, self._dir).replace(os.sep, "/")
                    if rel.endswith(".cached") and rel[: -len(".cached")].startswith(p):
                        with contextlib.suppress(OSError):
                            os.remove(full)

    @property
    def cached_bytes(self) -> int:
        return self._nbytes

    # ------------------------------------------------------------------ reads
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        validate_key(key)
        self._check_open()
        hit = self._cached(key)
        if hit is _MISSING:
            self.hits += 1
            return None
        if hit is not None:
            self.hits += 1
            return hit if byte_range is None else bytes(apply_byte_range(hit, byte_range))
        self.misses += 1
        if byte_range is not None:
            return self.store.get(key, byte_range)
        return self._remember(key, self.store.get(key))

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        keys = list(keys)
        for k in keys:
            validate_key(k)
        self._check_open()
        out: list[Any] = [self._cached(k) for k in keys]
        todo = [i for i, v in enumerate(out) if v is None]
        self.hits += len(keys) - len(todo)
        self.misses += len(todo)
        if todo:
            fetched = self.store.get_many([keys[i] for i in todo])
            for i, v in zip(todo, fetched):
                out[i] = self._remember(keys[i], v)
        return [None if v is _MISSING else v for v in out]

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        requests = list(requests)
        for k, _ in requests:
            validate_key(k)
        self._check_open()
        out: list[Any] = []
        todo = []
        for i, (k, r) in enumerate(requests):
            hit = self._cached(k)
            if hit is _MISSING:
                out.append(None)
            elif hit is not None:
                out.append(hit if r is None else bytes(apply_byte_range(hit, r)))
            else:
                out.append(None)
                todo.append(i)
        if todo:
            fetched = self.store.get_ranges([requests[i] for i in todo])
            for i, v in zip(todo, fetched):
                k, r = requests[i]
                out[i] = self._remember(k, v) if r is None else v
        return out

    def exists(self, key: str) -> bool:
        validate_key(key)
        self._check_open()
        hit = self._cached(key)
        if hit is _MISSING:
            return False
        if hit is not None:
            return True
        return self.store.exists(key)

    def getsize(self, key: str) -> int:
        validate_key(key)
        self._check_open()
        hit = self._cached(key)
        if isinstance(hit, bytes):
            return len(hit)
        return self.store.getsize(key)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        self._check_open()
        return self.store.list_prefix(prefix)

    def list_dir(self, prefix: str) -> Iterator[str]:
        self._check_open()
        return self.store.list_dir(prefix)

    def getsize_prefix(self, prefix: str) -> int:
        self._check_open()
        return self.store.getsize_prefix(prefix)

    # ------------------------------------------------------------------ writes
    def set(self, key: str, value: Buffer) -> None:
        validate_key(key)
        self._check_writable()
        self.store.set(key, value)
        self.invalidate(key)
        buf: object = value  # untyped callers may pass other buffer-protocol objects
        if isinstance(buf, (bytes, bytearray, memoryview)) or hasattr(buf, "__buffer__"):
            self._remember(key, value)

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        self._check_writable()
        staged = [(validate_key(k), v) for k, v in items]
        self.store.set_many(staged)
        for k, v in staged:
            self.invalidate(k)
            self._remember(k, v)

    def delete(self, key: str) -> None:
        validate_key(key)
        self._check_writable()
        self.store.delete(key)
        self.invalidate(key)

    def delete_many(self, keys: Iterable[str]) -> None:
        self._check_writable()
        keys = [validate_key(k) for k in keys]
        self.store.delete_many(keys)
        for k in keys:
            self.invalidate(k)

    def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix)
        self._check_writable()
        n = self.store.delete_prefix(prefix)
        self.invalidate(prefix=prefix)
        return n

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            self._lru.clear()
            self._nbytes = 0
        self.store.close()
        super().close()

    def _pickle_config(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "max_bytes": self.max_bytes,
            "cache_dir": self._cache_dir_arg,
            "cache_metadata": self.cache_metadata,
            "cache_chunks": self.cache_chunks,
            "read_only": self._read_only,
        }

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, CachingStore)
        return self.store == other.store and self._read_only == other._read_only

    def __hash__(self) -> int:
        return hash((type(self), hash(self.store), self._read_only))

    def _repr_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"store": self.store, "max_bytes": self.max_bytes}
        if self._cache_dir_arg:
            fields["cache_dir"] = self._cache_dir_arg
        return fields
