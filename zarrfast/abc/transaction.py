"""Staged transactions for any store with an atomic batch-commit primitive.

:class:`StagedTransactionMixin` gives a store ``with store.transaction(): ...``: every
write and delete made through that store object while the block is active is recorded
in an in-memory *overlay* instead of reaching the backend; reads through the same store
object consult the overlay first, so code inside the block reads its own writes; on a
normal exit the whole overlay is applied by **one** call to the backend's
:meth:`StagedTransactionMixin._commit_staged` (for LMDB: one write transaction), and on
an exception it is dropped, leaving no trace.

Scope
-----
* The transaction belongs to the *store object*, not to a thread: while it is active,
  writes from every thread of this process that go through this store object are
  staged (the chunk pipeline writes from worker threads, and those writes must join).
  Other store objects - in this process or in others - keep seeing the committed
  state until the commit, which is atomic for them.
* **Nesting** joins the outer transaction: nothing is committed until the outermost
  block exits.  An inner block that raises rolls back to a savepoint taken when it
  began (discarding what was staged since then, by any thread) and re-raises; if the
  caller catches that exception, the outer transaction carries on and commits the rest.
* ``delete_prefix`` inside a transaction stages a delete for every key under the prefix
  that exists at that moment (plus staged keys); keys that *another* process adds under
  the prefix before the commit are not deleted.
* Staged values are copied to ``bytes`` when written, so callers may reuse buffers.
  They live in memory until the commit: a transaction is meant for a bounded amount of
  data (a few hundred MiB at most), not for a whole dataset.

How to use it
-------------
Put the mixin *before* the concrete backend class and implement ``_commit_staged``::

    class _RawLMDBStore(Store):
        ...  # get/set/delete/... straight to the backend

        def _commit_staged(self, puts, deletes):
            ...  # apply both lists in one atomic backend operation

    class LMDBStore(StagedTransactionMixin, _RawLMDBStore):
        pass

The mixin's methods check for an active transaction and otherwise call ``super()``,
so the backend's own fast paths are untouched when no transaction is active.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

from zarrfast.abc.store import (
    Buffer,
    ByteRequest,
    apply_byte_range,
    validate_key,
    validate_prefix,
)
from zarrfast.errors import NodeNotFoundError

__all__ = ["DELETED", "StagedTransactionMixin", "Transaction"]


class _Deleted:
    """Marker for a key deleted inside a transaction."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DELETED"


#: Overlay value meaning "deleted in this transaction".
DELETED: Any = _Deleted()


def staged_copy(key: str, value: Buffer) -> bytes:
    """An immutable ``bytes`` copy of ``value``; ``TypeError`` names the key otherwise."""
    if type(value) is bytes:
        return value
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(
            f"expected a bytes-like value for key {key!r}, got {type(value).__name__}"
        ) from None


class Transaction:
    """The state of one active (possibly nested) transaction on one store object.

    Attributes
    ----------
    overlay : dict
        ``key -> bytes`` (staged write) or ``key -> DELETED`` (staged delete).
    depth : int
        How many nested ``with store.transaction()`` blocks are open.
    """

    __slots__ = ("depth", "overlay")

    def __init__(self) -> None:
        self.overlay: dict[str, Any] = {}
        self.depth = 0

    def split(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        """``(puts, deletes)`` to hand to the backend's atomic commit."""
        puts = [(k, v) for k, v in self.overlay.items() if v is not DELETED]
        deletes = [k for k, v in self.overlay.items() if v is DELETED]
        return puts, deletes


class StagedTransactionMixin:
    """Adds staged, atomically committed transactions to a store.  See the module docs.

    The class it is mixed into must provide the usual Store methods and
    ``_commit_staged(puts, deletes)``, which applies ``puts`` (a list of
    ``(key, bytes)``) and ``deletes`` (a list of keys; missing ones ignored) in one
    all-or-nothing backend operation.
    """

    supports_transactions: ClassVar[bool] = True

    # Set lazily so the mixin needs no cooperation from the backend's __init__.
    _txn: Transaction | None = None
    _txn_lock_obj: threading.RLock | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def _txn_lock(self) -> threading.RLock:
        lock = self._txn_lock_obj
        if lock is None:
            # dict.setdefault is atomic under the GIL: every thread gets the same lock.
            lock = self.__dict__.setdefault("_txn_lock_obj", threading.RLock())
        return lock

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is active on this store object."""
        return self._txn is not None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """Stage every write made inside the block; commit them atomically on exit.

        An exception inside the block rolls back everything staged in it (see the
        module docstring for nesting and threads).  Yields the store itself.
        """
        self._check_writable()  # type: ignore[attr-defined]
        with self._txn_lock:
            txn = self._txn
            if txn is None:
                txn = self._txn = Transaction()
            txn.depth += 1
            savepoint = dict(txn.overlay) if txn.depth > 1 else None
        try:
            yield self
        except BaseException:
            with self._txn_lock:
                txn.depth -= 1
                if txn.depth == 0:
                    self._txn = None  # drop everything: no trace
                else:
                    assert savepoint is not None
                    txn.overlay = savepoint
            raise
        with self._txn_lock:
            txn.depth -= 1
            if txn.depth > 0:
                return
            try:
                # Writers wait on the lock while we commit, so nothing slips between
                # "overlay taken" and "transaction gone".
                self._check_writable()  # type: ignore[attr-defined]
                puts, deletes = txn.split()
                if puts or deletes:
                    # Provided by the backend class that follows the mixin in the MRO.
                    self._commit_staged(puts, deletes)  # type: ignore[attr-defined]
            finally:
                self._txn = None

    # ------------------------------------------------------------------ writes
    def set(self, key: str, value: Buffer) -> None:
        if self.in_transaction:  # unlocked fast path; _txn is re-read under the lock
            validate_key(key)
            self._check_writable()  # type: ignore[attr-defined]
            data = staged_copy(key, value)
            with self._txn_lock:
                txn = self._txn
                if txn is not None:
                    txn.overlay[key] = data
                    return
        super().set(key, value)  # type: ignore[misc]

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        if self.in_transaction:
            self._check_writable()  # type: ignore[attr-defined]
            staged = [(validate_key(k), staged_copy(k, v)) for k, v in items]
            with self._txn_lock:
                txn = self._txn
                if txn is not None:
                    txn.overlay.update(staged)
                    return
            items = staged
        super().set_many(items)  # type: ignore[misc]

    def delete(self, key: str) -> None:
        if self.in_transaction:
            validate_key(key)
            self._check_writable()  # type: ignore[attr-defined]
            with self._txn_lock:
                txn = self._txn
                if txn is not None:
                    txn.overlay[key] = DELETED
                    return
        super().delete(key)  # type: ignore[misc]

    def delete_many(self, keys: Iterable[str]) -> None:
        if self.in_transaction:
            self._check_writable()  # type: ignore[attr-defined]
            staged = [validate_key(k) for k in keys]
            with self._txn_lock:
                txn = self._txn
                if txn is not None:
                    txn.overlay.update(dict.fromkeys(staged, DELETED))
                    return
            keys = staged
        super().delete_many(keys)  # type: ignore[misc]

    def delete_prefix(self, prefix: str) -> int:
        if self.in_transaction:
            validate_prefix(prefix)
            self._check_writable()  # type: ignore[attr-defined]
            with self._txn_lock:
                txn = self._txn
                if txn is not None:
                    doomed = list(self.list_prefix(prefix))  # overlay-aware
                    txn.overlay.update(dict.fromkeys(doomed, DELETED))
                    return len(doomed)
        return super().delete_prefix(prefix)  # type: ignore[misc,no-any-return]

    # ------------------------------------------------------------------ reads
    def _staged(self, key: str) -> Any:
        """The staged value for ``key``, ``DELETED``, or ``None`` if not staged."""
        with self._txn_lock:
            txn = self._txn
            return None if txn is None else txn.overlay.get(key)

    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        if self._txn is not None:
            validate_key(key)
            self._check_open()  # type: ignore[attr-defined]
            staged = self._staged(key)
            if staged is DELETED:
                return None
            if staged is not None:
                return apply_byte_range(staged, byte_range)
        return super().get(key, byte_range)  # type: ignore[misc,no-any-return]

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        if self._txn is None:
            return super().get_ranges(requests)  # type: ignore[misc,no-any-return]
        for k, _r in requests:
            validate_key(k)
        self._check_open()  # type: ignore[attr-defined]
        out: list[Buffer | None] = [None] * len(requests)
        rest: list[int] = []
        with self._txn_lock:
            overlay = self._txn.overlay if self._txn is not None else {}
            for i, (k, r) in enumerate(requests):
                staged = overlay.get(k)
                if staged is None:
                    rest.append(i)
                elif staged is not DELETED:
                    out[i] = apply_byte_range(staged, r)
        if rest:
            got = super().get_ranges([requests[i] for i in rest])  # type: ignore[misc]
            for i, v in zip(rest, got):
                out[i] = v
        return out

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        if self._txn is None:
            return super().get_many(keys)  # type: ignore[misc,no-any-return]
        return self.get_ranges([(k, None) for k in keys])

    @contextlib.contextmanager
    def borrow_many(self, keys: Sequence[str]) -> Iterator[list[Buffer | None]]:
        if self._txn is None:
            with super().borrow_many(keys) as views:  # type: ignore[misc]
                yield views
            return
        for k in keys:
            validate_key(k)
        self._check_open()  # type: ignore[attr-defined]
        out: list[Buffer | None] = [None] * len(keys)
        rest: list[int] = []
        with self._txn_lock:
            overlay = self._txn.overlay if self._txn is not None else {}
            for i, k in enumerate(keys):
                staged = overlay.get(k)
                if staged is None:
                    rest.append(i)
                elif staged is not DELETED:
                    out[i] = staged
        with super().borrow_many([keys[i] for i in rest]) as views:  # type: ignore[misc]
            for i, v in zip(rest, views):
                out[i] = v
            yield out

    def exists(self, key: str) -> bool:
        if self._txn is not None:
            validate_key(key)
            self._check_open()  # type: ignore[attr-defined]
            staged = self._staged(key)
            if staged is not None:
                return staged is not DELETED
        return super().exists(key)  # type: ignore[misc,no-any-return]

    def getsize(self, key: str) -> int:
        if self._txn is not None:
            validate_key(key)
            self._check_open()  # type: ignore[attr-defined]
            staged = self._staged(key)
            if staged is DELETED:
                raise NodeNotFoundError(f"no value at key {key!r} in {self!r}")
            if staged is not None:
                return len(staged)
        return super().getsize(key)  # type: ignore[misc,no-any-return]

    def getsize_prefix(self, prefix: str) -> int:
        if self._txn is None:
            return super().getsize_prefix(prefix)  # type: ignore[misc,no-any-return]
        total = 0
        for k in self.list_prefix(prefix):
            with contextlib.suppress(FileNotFoundError):
                total += self.getsize(k)
        return total

    def list_prefix(self, prefix: str) -> Iterator[str]:
        if self._txn is None:
            return super().list_prefix(prefix)  # type: ignore[misc,no-any-return]
        validate_prefix(prefix)
        committed = list(super().list_prefix(prefix))  # type: ignore[misc]
        with self._txn_lock:
            overlay = dict(self._txn.overlay) if self._txn is not None else {}
        keys = dict.fromkeys(k for k in committed if overlay.get(k) is not DELETED)
        keys.update(
            (k, None) for k, v in overlay.items() if v is not DELETED and k.startswith(prefix)
        )
        return iter(list(keys))

    def list_dir(self, prefix: str) -> Iterator[str]:
        if self._txn is None:
            return super().list_dir(prefix)  # type: ignore[misc,no-any-return]
        validate_prefix(prefix)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        n = len(prefix)
        children: dict[str, None] = {}
        for k in self.list_prefix(prefix):
            children[k[n:].partition("/")[0]] = None
        return iter(list(children))
