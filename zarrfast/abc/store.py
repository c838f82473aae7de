"""The Store interface every zarrfast storage backend implements.

A store is a flat mapping from string keys (Zarr keys such as ``"zarr.json"``,
``"c/0/1"``, ``"group/array/.zarray"``) to immutable byte blobs.  It is synchronous;
network backends may use threads or asyncio *inside* to issue batches concurrently.

Required methods (abstract): :meth:`Store.get`, :meth:`Store.set`,
:meth:`Store.delete`, :meth:`Store.exists`, :meth:`Store.list_prefix`,
:meth:`Store.list_dir`.

Batch methods have naive defaults that backends override when they can do better:
:meth:`Store.get_many`, :meth:`Store.get_ranges`, :meth:`Store.set_many`,
:meth:`Store.delete_many`, :meth:`Store.delete_prefix`, :meth:`Store.getsize`,
:meth:`Store.borrow_many` (zero-copy reads valid inside a ``with`` block).

Capability flags (class attributes) tell the array layer what it may rely on:
``supports_writes``, ``supports_deletes``, ``supports_listing``,
``supports_partial_reads``, ``supports_transactions``, ``borrow_is_free``.

Contract
--------
* ``get`` of a missing key returns ``None``; it never raises for a missing key.
* ``delete`` of a missing key is not an error.
* Keys are validated by :func:`validate_key`: no leading ``/``, no empty, ``.`` or ``..``
  segments, no backslash, no NUL.  A store must never touch anything outside its root.
* Prefixes: a prefix ending in ``/`` names a "directory" (``"a/b/"`` never matches
  ``"a/bc"``); a prefix without a trailing ``/`` is a plain string prefix.  The array
  layer always passes ``"path/"``.  A key cannot be both a value and a directory
  (``"a"`` and ``"a/b"``), because filesystems cannot hold that.
* Values are bytes-like (anything exposing the buffer protocol).  ``get`` returns an
  object that owns its memory (``bytes``, ``bytearray`` or a ``memoryview`` that keeps
  its owner alive) unless it comes from :meth:`Store.borrow_many`.
* ``set_many`` is atomic (all-or-nothing) when ``supports_transactions`` is true.
* ``repr`` and ``str`` never show a secret.  Stores pickle as configuration
  (:meth:`Store._pickle_config`) and reopen their connection on the other side.
"""

from __future__ import annotations

import contextlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from zarrfast.errors import (
    InvalidByteRangeError,
    InvalidKeyError,
    ReadOnlyStoreError,
    StoreClosedError,
    UnsupportedOperationError,
)

__all__ = [
    "Buffer",
    "ByteRequest",
    "KeyLocks",
    "OffsetByteRequest",
    "RangeByteRequest",
    "Store",
    "SuffixByteRequest",
    "apply_byte_range",
    "byte_range_bounds",
    "validate_key",
    "validate_prefix",
]

#: Anything supporting the buffer protocol.
Buffer = bytes | bytearray | memoryview


@dataclass(frozen=True)
class RangeByteRequest:
    """Bytes ``[start, end)`` of a value (``end`` exclusive, as in zarr-python)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise InvalidByteRangeError(
                f"expected a byte range with 0 <= start <= end, got [{self.start}, {self.end})"
            )


@dataclass(frozen=True)
class OffsetByteRequest:
    """Every byte from ``offset`` to the end of the value."""

    offset: int

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise InvalidByteRangeError(f"expected a non-negative offset, got {self.offset}")


@dataclass(frozen=True)
class SuffixByteRequest:
    """The last ``suffix`` bytes of the value (all of it if it is shorter)."""

    suffix: int

    def __post_init__(self) -> None:
        if self.suffix < 0:
            raise InvalidByteRangeError(f"expected a non-negative suffix length, got {self.suffix}")


ByteRequest = RangeByteRequest | OffsetByteRequest | SuffixByteRequest


def byte_range_bounds(byte_range: ByteRequest, size: int) -> tuple[int, int]:
    """Resolve ``byte_range`` against a value of ``size`` bytes to ``(start, stop)``."""
    if isinstance(byte_range, RangeByteRequest):
        return min(byte_range.start, size), min(byte_range.end, size)
    if isinstance(byte_range, OffsetByteRequest):
        return min(byte_range.offset, size), size
    if isinstance(byte_range, SuffixByteRequest):
        return max(size - byte_range.suffix, 0), size
    raise InvalidByteRangeError(
        f"expected RangeByteRequest, OffsetByteRequest or SuffixByteRequest, "
        f"got {type(byte_range).__name__}"
    )


def apply_byte_range(value: Buffer, byte_range: ByteRequest | None) -> Buffer:
    """Slice an in-memory value by a byte request (zero-copy for memoryviews)."""
    if byte_range is None:
        return value
    mv = memoryview(value)
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    mv = mv.cast("B")
    start, stop = byte_range_bounds(byte_range, mv.nbytes)
    return mv[start:stop]


_plain_key = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*").fullmatch


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe store key, else raise :class:`InvalidKeyError`.

    A key is a ``/``-separated relative path: no leading or trailing ``/``, no empty,
    ``.`` or ``..`` segments, no backslash and no NUL.  These rules are what keeps every
    backend (filesystem, zip, object stores) inside its root.
    """
    # fast path (chunk keys): segments of [A-Za-z0-9._-] not starting with "." can never
    # be empty, "." or "..", and hold no NUL or backslash
    if type(key) is str and _plain_key(key) is not None:
        return key
    if not isinstance(key, str):
        raise InvalidKeyError(f"expected a str key, got {type(key).__name__}: {key!r}")
    if not key:
        raise InvalidKeyError("expected a non-empty key, got ''")
    if "\x00" in key or "\\" in key:
        raise InvalidKeyError(f"key {key!r} contains a NUL byte or a backslash")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKeyError(f"key {key!r} must not start or end with '/'")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise InvalidKeyError(f"key {key!r} has an empty, '.' or '..' segment")
    return key


def validate_prefix(prefix: str) -> str:
    """Validate a listing prefix: ``""`` or a key prefix, optionally ending in ``/``."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


class Store(ABC):
    """Abstract key/value store holding a Zarr hierarchy.  See the module docstring."""

    #: Name used with ``storage="..."`` and in the backend registry.
    backend_name: ClassVar[str] = ""
    supports_writes: ClassVar[bool] = True
    supports_deletes: ClassVar[bool] = True
    supports_listing: ClassVar[bool] = True
    supports_partial_reads: ClassVar[bool] = True
    supports_transactions: ClassVar[bool] = False
    #: ``borrow_many`` hands out memory the store already holds (no I/O, no copy), so a
    #: whole value costs no more than a range of it: sharded reads then parse the index
    #: in place instead of issuing ranged reads.  Memory and LMDB stores set it.
    borrow_is_free: ClassVar[bool] = False

    def __init__(self, *, read_only: bool = False) -> None:
        self._read_only = bool(read_only)
        self._closed = False

    # ------------------------------------------------------------------ required
    @abstractmethod
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        """Return the value at ``key`` (or part of it), or ``None`` if it is missing."""

    @abstractmethod
    def set(self, key: str, value: Buffer) -> None:
        """Store ``value`` at ``key``, replacing any previous value atomically."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value."""

    @abstractmethod
    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix`` (full keys, any depth, any order)."""

    @abstractmethod
    def list_dir(self, prefix: str) -> Iterator[str]:
        """Immediate children of the "directory" ``prefix`` (``""`` is the root).

        Yields child names without the prefix and without a trailing ``/``: both keys
        (``"zarr.json"``) and sub-directories (``"c"``), each once.
        """

    # ------------------------------------------------------------------ batch defaults
    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        """Values for ``keys`` in order (``None`` where missing)."""
        return [self.get(k) for k in keys]

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        """Values (or byte ranges of them) for ``(key, byte_range)`` pairs, in order."""
        return [self.get(k, r) for k, r in requests]

    @contextlib.contextmanager
    def borrow_many(self, keys: Sequence[str]) -> Iterator[list[Buffer | None]]:
        """Values for ``keys`` that are only valid inside the ``with`` block.

        Backends with zero-copy reads (LMDB, mmap) override this to hand out views of
        their own memory without copying; the default just calls :meth:`get_many`.
        """
        yield self.get_many(keys)

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        """Store several values; atomic (all-or-nothing) if ``supports_transactions``."""
        for k, v in items:
            self.set(k, v)

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete several keys; missing keys are ignored."""
        for k in keys:
            self.delete(k)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under ``prefix``; return how many were deleted."""
        self._check_writable()
        keys = list(self.list_prefix(validate_prefix(prefix)))
        self.delete_many(keys)
        return len(keys)

    def getsize(self, key: str) -> int:
        """Size in bytes of the value at ``key``; ``FileNotFoundError`` if missing."""
        value = self.get(key)
        if value is None:
            from zarrfast.errors import NodeNotFoundError

            raise NodeNotFoundError(f"no value at key {key!r} in {self!r}")
        return memoryview(value).nbytes

    def getsize_prefix(self, prefix: str) -> int:
        """Total size in bytes of every value under ``prefix`` (keys deleted meanwhile count 0)."""
        self._check_open()
        total = 0
        for k in self.list_prefix(validate_prefix(prefix)):
            value = self.get(k)
            if value is not None:
                total += memoryview(value).nbytes
        return total

    def list(self) -> Iterator[str]:
        """Every key in the store."""
        return self.list_prefix("")

    def is_empty(self, prefix: str = "") -> bool:
        """Whether no key starts with ``prefix``."""
        for _ in self.list_prefix(prefix):
            return False
        return True

    def clear(self) -> None:
        """Delete every key."""
        self.delete_prefix("")

    # ------------------------------------------------------------------ transactions
    def transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A context manager staging every write made inside and committing on exit.

        An exception inside rolls everything back.  Stores without transactions raise
        :class:`UnsupportedOperationError`.
        """
        raise UnsupportedOperationError(
            f"{type(self).__name__} does not support transactions; "
            "use a transactional store such as LMDBStore"
        )

    # ------------------------------------------------------------------ lifecycle
    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release handles and connections.  Idempotent."""
        self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{self!r} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self._read_only or not self.supports_writes:
            raise ReadOnlyStoreError(f"{self!r} is read-only")

    # ------------------------------------------------------------------ identity
    def _pickle_config(self) -> dict[str, Any]:
        """Keyword arguments that reopen an equivalent store (may include secrets).

        Used by pickling and ``__eq__``; never shown by ``repr``.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")

    def _repr_fields(self) -> dict[str, Any]:
        """Non-secret fields shown in ``repr``."""
        return {}

    def __repr__(self) -> str:
        fields = {**self._repr_fields()}
        if self._read_only:
            fields["read_only"] = True
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{type(self).__name__}({inner})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Store)
        try:
            return self._pickle_config() == other._pickle_config()
        except NotImplementedError:
            return self is other

    def __hash__(self) -> int:
        # Consistent with __eq__ (equal configs => equal hashes) without hashing secrets.
        return hash((type(self), self._read_only))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen_store, (type(self), self._pickle_config()))


def _reopen_store(cls: type[Store], config: dict[str, Any]) -> Store:
    return cls(**config)


class KeyLocks:
    """Per-key locks so concurrent read-modify-write of one chunk is serialised in-process."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    def __call__(self, key: str) -> threading.Lock:
        return self._locks[hash(key) % len(self._locks)]
