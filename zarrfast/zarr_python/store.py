"""Any zarrfast :class:`~zarrfast.abc.store.Store` as a ``zarr.abc.store.Store``.

zarr-python 3 talks to storage through an async ``Store`` ABC; zarrfast stores are
synchronous.  :class:`ZarrfastStore` adapts one to the other: each call runs the zarrfast
store in a worker thread (``asyncio.to_thread``) so the event loop never blocks on disk
or network I/O, and batch calls (``_get_many``, ``get_partial_values``, ``_set_many``) go
to the zarrfast batch methods (``get_ranges``, ``set_many``) in one hop.

This is what gives zarr-python and xarray users the backends zarr-python lacks (LMDB,
zip with fast appends, shared memory, GridFS, GCS and Azure without fsspec)::

    import zarr
    from zarrfast.storage import make_store
    from zarrfast.zarr_python import as_zarr_store

    zs = as_zarr_store(make_store("lmdb", path="/data/db.lmdb"))
    z = zarr.create_array(zs, shape=(100, 100), chunks=(10, 10), dtype="f4")

The adapter pickles as its wrapped store does (configuration, never data or handles).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import ByteRequest as ZByteRequest
from zarr.abc.store import OffsetByteRequest as ZOffset
from zarr.abc.store import RangeByteRequest as ZRange
from zarr.abc.store import Store as ZarrStore
from zarr.abc.store import SuffixByteRequest as ZSuffix
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from zarrfast.abc.store import ByteRequest as FByteRequest
from zarrfast.abc.store import (
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)

__all__ = ["ZarrfastStore", "as_zarr_store", "to_zarrfast_byte_range"]


def to_zarrfast_byte_range(byte_range: ZByteRequest | None) -> FByteRequest | None:
    """zarr-python's byte request as zarrfast's (same three kinds, same semantics)."""
    if byte_range is None:
        return None
    if isinstance(byte_range, ZRange):
        return RangeByteRequest(byte_range.start, byte_range.end)
    if isinstance(byte_range, ZOffset):
        return OffsetByteRequest(byte_range.offset)
    if isinstance(byte_range, ZSuffix):
        return SuffixByteRequest(byte_range.suffix)
    # The message is the one zarr-python's own stores raise (its StoreTests match it).
    raise TypeError(f"Unexpected byte_range, got {byte_range}.")


def _dir_prefix(prefix: str) -> str:
    return prefix if prefix == "" or prefix.endswith("/") else prefix + "/"


class ZarrfastStore(ZarrStore):
    """A zarr-python store backed by a zarrfast store.

    Parameters
    ----------
    store
        The zarrfast store to wrap.
    read_only
        Refuse writes through this adapter (the wrapped store is reopened read-only
        where it supports ``with_read_only``).
    """

    def __init__(self, store: Store, *, read_only: bool = False) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"expected a zarrfast Store, got {type(store).__name__}")
        # The wrapped store is shared, not reopened: a read-only adapter and a writable
        # one on the same store see the same data (a memory store cannot be reopened).
        super().__init__(read_only=bool(read_only or store.read_only))
        self._zf = store

    # ------------------------------------------------------------------ identity
    @property
    def zarrfast_store(self) -> Store:
        """The wrapped zarrfast store."""
        return self._zf

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ZarrfastStore)
            and self._read_only == other._read_only
            and self._zf == other._zf
        )

    def __hash__(self) -> int:
        return hash((type(self), self._read_only, hash(self._zf)))

    def __repr__(self) -> str:
        return f"ZarrfastStore({self._zf!r})"

    __str__ = __repr__

    def with_read_only(self, read_only: bool = False) -> ZarrfastStore:
        inner = self._zf
        if not read_only and inner.read_only and hasattr(inner, "with_read_only"):
            inner = inner.with_read_only(False)
        return type(self)(inner, read_only=read_only)

    def __getstate__(self) -> dict[str, Any]:
        # An unpickled adapter starts closed, like a freshly constructed one.
        return {"_zf": self._zf, "_read_only": self._read_only, "_is_open": False}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # ------------------------------------------------------------------ capabilities
    @property
    def supports_writes(self) -> bool:
        return bool(self._zf.supports_writes)

    @property
    def supports_deletes(self) -> bool:
        return bool(self._zf.supports_deletes)

    @property
    def supports_listing(self) -> bool:
        return bool(self._zf.supports_listing)

    @property
    def supports_consolidated_metadata(self) -> bool:
        return True

    # ------------------------------------------------------------------ reads
    def get_sync(
        self,
        key: str,
        *,
        prototype: BufferPrototype | None = None,
        byte_range: ZByteRequest | None = None,
    ) -> Buffer | None:
        prototype = prototype or default_buffer_prototype()
        value = self._zf.get(key, to_zarrfast_byte_range(byte_range))
        return None if value is None else prototype.buffer.from_bytes(value)

    async def get(
        self,
        key: str,
        prototype: BufferPrototype | None = None,
        byte_range: ZByteRequest | None = None,
    ) -> Buffer | None:
        prototype = prototype or default_buffer_prototype()
        fbr = to_zarrfast_byte_range(byte_range)
        await self._ensure_open()
        value = await asyncio.to_thread(self._zf.get, key, fbr)
        return None if value is None else prototype.buffer.from_bytes(value)

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ZByteRequest | None]],
    ) -> list[Buffer | None]:
        requests = [(k, to_zarrfast_byte_range(r)) for k, r in key_ranges]
        if not requests:
            return []
        await self._ensure_open()
        values = await asyncio.to_thread(self._zf.get_ranges, requests)
        return [None if v is None else prototype.buffer.from_bytes(v) for v in values]

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ZByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        reqs = list(requests)
        values = await self.get_partial_values(
            default_buffer_prototype(), [(k, r) for k, _, r in reqs]
        )
        for (key, proto, _), value in zip(reqs, values):
            if value is not None and proto is not default_buffer_prototype():
                value = proto.buffer.from_bytes(value.to_bytes())
            yield key, value

    async def exists(self, key: str) -> bool:
        await self._ensure_open()
        return bool(await asyncio.to_thread(self._zf.exists, key))

    async def getsize(self, key: str) -> int:
        await self._ensure_open()
        return int(await asyncio.to_thread(self._zf.getsize, key))

    async def getsize_prefix(self, prefix: str) -> int:
        await self._ensure_open()
        return int(await asyncio.to_thread(self._zf.getsize_prefix, _dir_prefix(prefix)))

    # ------------------------------------------------------------------ writes
    @staticmethod
    def _as_bytes(value: Buffer) -> Any:
        if not isinstance(value, Buffer):
            raise TypeError(
                "ZarrfastStore.set(): `value` must be a Buffer instance, "
                f"got {type(value).__name__}"
            )
        return value.as_numpy_array()  # zero-copy view for CPU buffers

    def set_sync(self, key: str, value: Buffer) -> None:
        self._check_writable()
        self._zf.set(key, self._as_bytes(value))

    def delete_sync(self, key: str) -> None:
        self._check_writable()
        self._zf.delete(key)

    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()
        data = self._as_bytes(value)
        await self._ensure_open()
        await asyncio.to_thread(self._zf.set, key, data)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        self._check_writable()
        data = self._as_bytes(value)
        await self._ensure_open()

        def work() -> None:
            if not self._zf.exists(key):
                self._zf.set(key, data)

        await asyncio.to_thread(work)

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        self._check_writable()
        items = [(k, self._as_bytes(v)) for k, v in values]
        await self._ensure_open()
        await asyncio.to_thread(self._zf.set_many, items)

    async def delete(self, key: str) -> None:
        self._check_writable()
        await self._ensure_open()
        await asyncio.to_thread(self._zf.delete, key)

    async def delete_dir(self, prefix: str) -> None:
        self._check_writable()
        await self._ensure_open()
        await asyncio.to_thread(self._zf.delete_prefix, _dir_prefix(prefix))

    # ------------------------------------------------------------------ listing
    async def _listed(self, fn: Any, prefix: str) -> AsyncIterator[str]:
        await self._ensure_open()
        keys = await asyncio.to_thread(lambda: list(fn(prefix)))
        for k in keys:
            yield k

    def list(self) -> AsyncIterator[str]:
        return self._listed(self._zf.list_prefix, "")

    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        return self._listed(self._zf.list_prefix, prefix)

    def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return self._listed(self._zf.list_dir, _dir_prefix(prefix))

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        super().close()


def as_zarr_store(store: Store | ZarrfastStore, *, read_only: bool | None = None) -> ZarrfastStore:
    """Wrap a zarrfast store as a ``zarr.abc.store.Store`` (idempotent).

    Parameters
    ----------
    store
        Any zarrfast store (``zarrfast.storage.make_store(...)``, ``arr.store``...).
    read_only
        Force read-only (``True``) or read-write (``False``); default: as the store is.
    """
    if isinstance(store, ZarrfastStore):
        return store if read_only is None else store.with_read_only(read_only)
    return ZarrfastStore(store, read_only=bool(read_only) if read_only is not None else False)
