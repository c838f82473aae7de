"""LMDBStore: a Zarr hierarchy in one LMDB environment (``storage="lmdb"``).

Data layout
-----------
One LMDB environment (``<path>/data.mdb`` + ``<path>/lock.mdb``, or ``<path>`` and
``<path>-lock`` with ``subdir=False``) whose *main, unnamed* database maps each Zarr
key, UTF-8 encoded (``b"zarr.json"``, ``b"a/c/0/1"``, ``b"b/.zarray"``), to the exact
bytes a filesystem store would hold in the file of that name.  There is nothing else:
no named sub-databases, no headers, no extra keys.  Copying every key/value pair to a
directory (``zarrfast copy``) therefore gives a standard Zarr v2/v3 store.  LMDB sorts
keys bytewise, which :meth:`LMDBStore.list_prefix` and :meth:`LMDBStore.list_dir` use
(cursor ``set_range`` seeks, no full scans).  LMDB limits keys to 511 bytes of UTF-8.

Environments, threads and processes
-----------------------------------
LMDB forbids opening one environment twice in a process, so every ``LMDBStore`` on the
same path (by ``realpath``) in a process shares one ``lmdb.Environment`` from a
process-wide, reference-counted registry; ``close()`` releases a reference and the
environment is closed with the last one.  Environment-level options (``map_size``,
``readahead``, ``max_readers``, ``lock``, ``subdir``) come from the store that opened it
first.  Many threads may use one store; several processes may use one path at once
(``lock=True``): readers never block writers and never see a partial transaction.

An environment must not be used across ``fork()``: a child process detects that it
is no longer the opener (pid check) and opens its own environment on the same path;
the parent's handle is deliberately leaked in the child, never closed there (closing it
would release locks and reader slots that belong to the parent).  Stale reader slots
left by killed processes are reclaimed (``reader_check``) whenever an environment opens.

Transactions and atomicity
--------------------------
* ``set_many``, ``delete_many`` and ``delete_prefix`` each run in ONE write transaction:
  a batch of N chunks is all-or-nothing, even if the process is killed mid-way.
* ``with store.transaction():`` (or ``with arr.transaction():``) stages every write
  made through the store inside the block and commits them in one write transaction
  on exit; an exception rolls everything back.  See :mod:`zarrfast.abc.transaction`.
* ``get_many``/``get_ranges``/``borrow_many`` read a whole batch in one read
  transaction, so a batch sees one consistent snapshot.
* :meth:`LMDBStore.borrow_many` hands out zero-copy ``memoryview``\\ s of the memory
  map, valid only inside its ``with`` block (the read transaction ends on exit and its
  pages may then be reused).  ``get`` returns owned ``bytes``.

Map size
--------
The map starts at ``map_size`` (a reservation of address space, not of disk) and
grows automatically: a write that hits ``MDB_MAP_FULL`` is retried after the map is
doubled (or grown to fit the batch).  Resizing requires that no transaction of this
process is active, so it waits for in-flight reads; a write issued from *inside* a
``borrow_many`` block of the same thread that needs the map to grow raises a clear
:class:`~zarrfast.errors.StoreError` instead of deadlocking.  Other processes pick up
the new size automatically (``MDB_MAP_RESIZED`` is handled).

Durability (``sync``)
---------------------
``sync=True`` (default) flushes to disk at every commit: a committed write survives
power loss.  ``sync=False`` skips the flushes (much faster for many small writes):
a killed *process* still never loses or tears a committed transaction, but after an
operating-system crash or power loss the most recent transactions may be lost and,
per the LMDB documentation, the database may be damaged.  Use ``sync=False`` for
scratch data or data you can regenerate.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Literal, TypeVar, overload

import lmdb

from zarrfast.abc.store import (
    Buffer,
    ByteRequest,
    Store,
    byte_range_bounds,
    validate_key,
    validate_prefix,
)
from zarrfast.abc.transaction import StagedTransactionMixin
from zarrfast.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    InvalidKeyError,
    NodeNotFoundError,
    StoreClosedError,
    StoreError,
)
from zarrfast.storage._util import as_write_buffer as _as_write_buffer

__all__ = ["DEFAULT_MAP_SIZE", "LMDBStore"]

_T = TypeVar("_T")

#: Initial map size: 1 GiB of address space (the file only grows as data is written).
DEFAULT_MAP_SIZE = 1 << 30
#: How long a map resize or an environment close waits for this process's reads.
_GATE_TIMEOUT = 120.0
#: Retries of a write transaction after growing the map.
_MAX_GROW_ATTEMPTS = 48


# --------------------------------------------------------------------------- helpers
class _Gate:
    """Counts this process's open LMDB transactions; ``exclusive()`` waits for none.

    ``mdb_env_set_mapsize`` and ``mdb_env_close`` are only safe with no transaction
    active in the process.  Shared entries are re-entrant per thread (a thread inside
    ``borrow_many`` may still read), and a waiting exclusive holder blocks new threads.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        self._exclusive = False
        self._local = threading.local()

    def idle(self) -> bool:
        """No transaction open in any thread (racy; used after fork, single-threaded)."""
        return self._active == 0

    def held_by_current_thread(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        local = self._local
        depth = getattr(local, "depth", 0)
        with self._cond:
            if depth == 0:
                while self._exclusive:
                    self._cond.wait()
            self._active += 1
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth = depth
            with self._cond:
                self._active -= 1
                if self._active == 0:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self, what: str, timeout: float = _GATE_TIMEOUT) -> Iterator[None]:
        if self.held_by_current_thread():
            raise StoreError(
                f"cannot {what} while this thread holds an LMDB read (inside a "
                "borrow_many block); finish the block first"
            )
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._exclusive:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            self._exclusive = True
            try:
                while self._active:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StoreError(
                            f"cannot {what}: other threads kept LMDB reads open for "
                            f"{timeout:.0f} s (borrow_many blocks?)"
                        )
                    self._cond.wait(left)
            except BaseException:
                self._exclusive = False
                self._cond.notify_all()
                raise
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class _EnvHandle:
    """One open ``lmdb.Environment`` shared by every store on a path in this process."""

    def __init__(self, realpath: str, env: lmdb.Environment, synced: bool) -> None:
        self.realpath = realpath
        self.env = env
        self.synced = synced  # the environment itself syncs at every commit
        self.refs = 0
        self.pid = os.getpid()
        self.closed = False
        self.gate = _Gate()
        self.write_lock = threading.Lock()  # one write transaction at a time, and resizes
        self.max_key_size = env.max_key_size()

    @property
    def map_size(self) -> int:
        return int(self.env.info()["map_size"])

    def grow(self, needed: int) -> None:
        """Grow the map (call with ``write_lock`` held and no own transaction open)."""
        with self.gate.exclusive("grow the LMDB map"):
            current = self.map_size
            self.env.set_mapsize(max(current * 2, current + 2 * needed))

    def adopt_size(self) -> None:
        """Adopt a map size grown by another process (``MDB_MAP_RESIZED``)."""
        with self.gate.exclusive("adopt the LMDB map size grown by another process"):
            self.env.set_mapsize(0)


_REGISTRY: dict[str, _EnvHandle] = {}
# Re-entrant: a store collected (``__del__``) while this thread holds it must not hang.
_REGISTRY_LOCK = threading.RLock()
#: Environments inherited through fork(): never closed in the child (see module docs).
_INHERITED: list[_EnvHandle] = []


def _after_fork_in_child() -> None:
    # The child may not use the parent's environments.  One with no transaction open
    # at fork time is closed here, which only touches the child's own mapping, file
    # descriptors and reader slots, so the child can open the path afresh.  One with
    # a transaction open (another thread was reading) must not be closed: aborting
    # the inherited transaction would clear the *parent's* reader slot.  It is kept
    # alive, unused, for the child's lifetime (py-lmdb never closes it after a fork).
    global _REGISTRY_LOCK
    for handle in _REGISTRY.values():
        if handle.gate.idle():
            with contextlib.suppress(Exception):
                handle.env.close()
        else:
            _INHERITED.append(handle)
    _REGISTRY.clear()
    _REGISTRY_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _env_files(path: str, subdir: bool) -> str:
    """The file whose presence means "an environment exists at ``path``"."""
    return os.path.join(path, "data.mdb") if subdir else path


def _acquire_env(
    path: str,
    *,
    read_only: bool,
    create: bool,
    map_size: int,
    sync: bool,
    readahead: bool,
    max_readers: int,
    lock: bool,
    subdir: bool,
) -> _EnvHandle:
    if not os.path.exists(_env_files(path, subdir)):
        if read_only or not create:
            why = "opened read-only" if read_only else "create=False"
            raise ContainerNotFoundError(
                f"no LMDB environment at '{path}' ({why}, so none is created)"
            )
        try:
            os.makedirs(path if subdir else (os.path.dirname(path) or "."), exist_ok=True)
        except OSError as exc:
            raise StoreError(f"could not create LMDB directory for '{path}': {exc}") from exc
    real = os.path.realpath(path)
    with _REGISTRY_LOCK:
        handle = _REGISTRY.get(real)
        if handle is None or handle.closed:
            # A read-only *store* still opens a writable environment when it can, so
            # a writer opened later in this process can share it.
            env_ro = read_only and not os.access(path if subdir else os.path.dirname(real), os.W_OK)
            try:
                env = lmdb.open(
                    path,
                    map_size=map_size,
                    subdir=subdir,
                    readonly=env_ro,
                    lock=lock,
                    sync=sync,
                    metasync=sync,
                    readahead=readahead,
                    max_readers=max_readers,
                    max_dbs=0,
                    # Spare (reset) read transactions would keep reader slots that a
                    # forked child's close could clear under the parent.
                    max_spare_txns=0,
                    create=not env_ro,
                )
            except lmdb.Error as exc:
                if "already open in this process" in str(exc):
                    raise StoreError(
                        f"cannot open LMDB environment '{path}' in this forked process: "
                        "the parent had a transaction open on it in another thread at "
                        "fork time; open stores after forking, or use the 'spawn' "
                        "start method"
                    ) from exc
                raise _map_lmdb_error(exc, "opening", path) from exc
            if lock and not env_ro:
                with contextlib.suppress(lmdb.Error):
                    env.reader_check()  # reclaim slots of killed processes
            handle = _EnvHandle(real, env, synced=sync)
            _REGISTRY[real] = handle
        handle.refs += 1
        return handle


def _release_env(handle: _EnvHandle) -> None:
    if handle.pid != os.getpid():
        return  # inherited through fork: never touch it here
    with _REGISTRY_LOCK:
        handle.refs -= 1
        if handle.refs > 0 or handle.closed:
            return
        if _REGISTRY.get(handle.realpath) is handle:
            del _REGISTRY[handle.realpath]
        handle.closed = True
    try:
        with handle.gate.exclusive("close the LMDB environment", timeout=5.0):
            handle.env.close()
    except StoreError:
        pass  # reads still in flight (a borrow_many block): the GC closes it later


def _map_lmdb_error(
    exc: BaseException, operation: str, path: str, key: str | None = None
) -> StoreError:
    where = f"key {key!r} in '{path}'" if key is not None else f"'{path}'"
    text = str(exc)
    if isinstance(exc, lmdb.ReadonlyError) or "Permission denied" in text:
        return AccessDeniedError(f"permission denied {operation} {where}: {text}")
    return StoreError(f"LMDB error {operation} {where}: {text}")


# --------------------------------------------------------------------------- the store
class _LMDBBackend(Store):
    """Every Store method straight to LMDB; :class:`LMDBStore` adds transactions."""

    backend_name: ClassVar[str] = "lmdb"
    supports_transactions: ClassVar[bool] = True
    borrow_is_free: ClassVar[bool] = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        map_size: int = DEFAULT_MAP_SIZE,
        sync: bool = True,
        readahead: bool = False,
        max_readers: int = 126,
        lock: bool = True,
        subdir: bool = True,
        create: bool = True,
    ) -> None:
        super().__init__(read_only=read_only)
        if int(map_size) <= 0:
            raise ValueError(f"expected a positive map_size, got {map_size}")
        if int(max_readers) <= 0:
            raise ValueError(f"expected a positive max_readers, got {max_readers}")
        self._path = os.path.abspath(os.fspath(path))
        self._options: dict[str, Any] = {
            "map_size": int(map_size),
            "sync": bool(sync),
            "readahead": bool(readahead),
            "max_readers": int(max_readers),
            "lock": bool(lock),
            "subdir": bool(subdir),
        }
        self._create = bool(create)
        self._sync = bool(sync)
        self._handle_lock = threading.Lock()
        self._handle: _EnvHandle | None = self._open_handle()

    def _open_handle(self) -> _EnvHandle:
        return _acquire_env(
            self._path, read_only=self._read_only, create=self._create, **self._options
        )

    # ------------------------------------------------------------------ environment
    @property
    def path(self) -> str:
        """The absolute path of the environment (directory, or file with subdir=False)."""
        return self._path

    @property
    def map_size(self) -> int:
        """The current map size in bytes (grows automatically)."""
        return self._h().map_size

    def _h(self) -> _EnvHandle:
        handle = self._handle
        if self._closed or handle is None:
            raise StoreClosedError(f"{self!r} is closed")
        if handle.pid != os.getpid() or handle.closed:
            # Forked child (or an environment destroyed under us): open our own.
            with self._handle_lock:
                handle = self._handle
                if handle is None:
                    raise StoreClosedError(f"{self!r} is closed")
                if handle.pid != os.getpid() or handle.closed:
                    if handle.closed and handle.pid == os.getpid():
                        raise StoreClosedError(f"{self!r}: its environment was closed")
                    handle = self._handle = self._open_handle()
        return handle

    def _k(self, key: str, handle: _EnvHandle | None = None) -> bytes:
        validate_key(key)
        try:
            kb = key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidKeyError(f"key {key!r} cannot be encoded as UTF-8: {exc}") from None
        limit = handle.max_key_size if handle is not None else 511
        if len(kb) > limit:
            raise InvalidKeyError(
                f"key {key[:60]!r}... is {len(kb)} bytes in UTF-8; LMDB keys are limited "
                f"to {limit} bytes"
            )
        return kb

    @overload
    def _read_txn(
        self, buffers: Literal[False]
    ) -> contextlib.AbstractContextManager[lmdb.Transaction[bytes]]: ...

    @overload
    def _read_txn(
        self, buffers: Literal[True]
    ) -> contextlib.AbstractContextManager[lmdb.Transaction[memoryview]]: ...

    @contextlib.contextmanager
    def _read_txn(self, buffers: bool) -> Iterator[lmdb.Transaction[Any]]:
        handle = self._h()
        while True:
            with handle.gate.shared():
                txn: lmdb.Transaction[Any] | None
                try:
                    txn = handle.env.begin(buffers=True) if buffers else handle.env.begin()
                except lmdb.MapResizedError:
                    txn = None
                except lmdb.Error as exc:
                    raise _map_lmdb_error(exc, "reading", self._path) from exc
                if txn is not None:
                    try:
                        yield txn
                    except lmdb.Error as exc:
                        raise _map_lmdb_error(exc, "reading", self._path) from exc
                    finally:
                        txn.abort()
                    return
            handle.adopt_size()

    def _write(self, fn: Callable[[lmdb.Transaction[bytes]], _T], nbytes: int = 0) -> _T:
        """Run ``fn`` in one write transaction, growing the map and retrying if full."""
        self._check_writable()
        handle = self._h()
        with handle.write_lock:
            for _attempt in range(_MAX_GROW_ATTEMPTS):
                outcome = "ok"
                with handle.gate.shared():
                    try:
                        with handle.env.begin(write=True) as txn:
                            result = fn(txn)
                    except lmdb.MapFullError:
                        outcome = "full"
                    except lmdb.MapResizedError:
                        outcome = "resized"
                    except lmdb.Error as exc:
                        raise _map_lmdb_error(exc, "writing", self._path) from exc
                if outcome == "full":
                    handle.grow(nbytes)
                elif outcome == "resized":
                    handle.adopt_size()
                else:
                    if self._sync and not handle.synced:
                        handle.env.sync(True)  # this store wants durability per commit
                    return result
        raise StoreError(f"LMDB map of '{self._path}' could not grow enough for a write")

    # ------------------------------------------------------------------ reads
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        """The value at ``key`` as ``bytes`` (only the requested range is copied)."""
        k = self._k(key)
        if byte_range is None:
            with self._read_txn(buffers=False) as txn:
                return txn.get(k)
        with self._read_txn(buffers=True) as txn:
            view = txn.get(k)
            if view is None:
                return None
            start, stop = byte_range_bounds(byte_range, len(view))
            return bytes(view[start:stop])

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        """Owned values for ``keys``, all read in one read transaction."""
        ks = [self._k(k) for k in keys]
        if not ks:
            self._h()
            return []
        with self._read_txn(buffers=False) as txn:
            get = txn.get
            return [get(k) for k in ks]

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        """Values or byte ranges, one read transaction; only requested bytes are copied."""
        ks = [(self._k(k), r) for k, r in requests]
        if not ks:
            self._h()
            return []
        out: list[Buffer | None] = []
        with self._read_txn(buffers=True) as txn:
            for k, r in ks:
                view = txn.get(k)
                if view is None:
                    out.append(None)
                elif r is None:
                    out.append(bytes(view))
                else:
                    start, stop = byte_range_bounds(r, len(view))
                    out.append(bytes(view[start:stop]))
        return out

    @contextlib.contextmanager
    def borrow_many(self, keys: Sequence[str]) -> Iterator[list[Buffer | None]]:
        """Zero-copy views of the memory map, valid only inside the ``with`` block.

        One read transaction stays open for the block; the views are released when it
        exits (using one afterwards raises ``ValueError``).  Do not write through this
        store from inside the block if the write could need the map to grow.
        """
        ks = [self._k(k) for k in keys]
        with self._read_txn(buffers=True) as txn:
            views: list[memoryview | None] = []
            for k in ks:
                raw = txn.get(k)
                views.append(None if raw is None else memoryview(raw))
            try:
                yield list(views)
            finally:
                for v in views:
                    if v is not None:
                        with contextlib.suppress(BufferError):
                            v.release()

    def exists(self, key: str) -> bool:
        k = self._k(key)
        with self._read_txn(buffers=True) as txn:
            return txn.get(k) is not None

    def getsize(self, key: str) -> int:
        """Size of the value at ``key`` without copying it."""
        k = self._k(key)
        with self._read_txn(buffers=True) as txn:
            view = txn.get(k)
            if view is None:
                raise NodeNotFoundError(f"no value at key {key!r} in {self!r}")
            return len(view)

    def getsize_prefix(self, prefix: str) -> int:
        p = validate_prefix(prefix).encode("utf-8")
        total = 0
        with self._read_txn(buffers=True) as txn, txn.cursor() as cur:
            if not cur.set_range(p):
                return 0
            for k, v in cur:
                if not bytes(k).startswith(p):
                    break
                total += len(v)
        return total

    # ------------------------------------------------------------------ listing
    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix``, in bytewise order (one cursor range scan)."""
        p = validate_prefix(prefix).encode("utf-8")
        out: list[str] = []
        with self._read_txn(buffers=True) as txn, txn.cursor() as cur:
            if cur.set_range(p):
                for k in cur.iternext(keys=True, values=False):
                    kb = bytes(k)
                    if not kb.startswith(p):
                        break
                    out.append(kb.decode("utf-8"))
        return iter(out)

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Immediate children of ``prefix``: skips over each sub-directory with one seek."""
        validate_prefix(prefix)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        p = prefix.encode("utf-8")
        n = len(p)
        seen: dict[bytes, None] = {}
        with self._read_txn(buffers=False) as txn, txn.cursor() as cur:
            found = cur.set_range(p)
            while found:
                k = cur.key()
                if not k.startswith(p):
                    break
                child, slash, _rest = k[n:].partition(b"/")
                seen[child] = None
                # Every key under p + child + "/" sorts before p + child + "0"
                # ("0" is the byte after "/"): jump past the whole sub-directory.
                found = cur.set_range(p + child + b"0") if slash else cur.next()
        return iter([c.decode("utf-8") for c in seen])

    # ------------------------------------------------------------------ writes
    def set(self, key: str, value: Buffer) -> None:
        k = self._k(key)
        data = _as_write_buffer(key, value)
        self._check_writable()
        self._write(lambda txn: txn.put(k, data), data.nbytes)

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        """Store every value in ONE write transaction: all of them, or none."""
        self._check_writable()
        staged = [(self._k(k), _as_write_buffer(k, v)) for k, v in items]
        if not staged:
            return
        nbytes = sum(v.nbytes + len(k) for k, v in staged)

        def apply(txn: lmdb.Transaction[bytes]) -> None:
            put = txn.put
            for k, v in staged:
                put(k, v)

        self._write(apply, nbytes)

    def delete(self, key: str) -> None:
        k = self._k(key)
        self._check_writable()
        self._write(lambda txn: txn.delete(k))

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete several keys in one write transaction; missing keys are ignored."""
        self._check_writable()
        ks = [self._k(k) for k in keys]
        if not ks:
            return

        def apply(txn: lmdb.Transaction[bytes]) -> None:
            for k in ks:
                txn.delete(k)

        self._write(apply)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix`` in one write transaction."""
        p = validate_prefix(prefix).encode("utf-8")
        self._check_writable()

        def apply(txn: lmdb.Transaction[bytes]) -> int:
            count = 0
            with txn.cursor() as cur:
                if not cur.set_range(p):
                    return 0
                while True:
                    k = cur.key()
                    if not k or not k.startswith(p):
                        return count
                    cur.delete()  # moves to the next record
                    count += 1

        return self._write(apply)

    def _commit_staged(self, puts: list[tuple[str, bytes]], deletes: list[str]) -> None:
        """Apply a transaction's overlay in ONE write transaction."""
        kp = [(self._k(k), v) for k, v in puts]
        kd = [self._k(k) for k in deletes]

        def apply(txn: lmdb.Transaction[bytes]) -> None:
            for k in kd:
                txn.delete(k)
            for k, v in kp:
                txn.put(k, v)

        self._write(apply, sum(len(v) + len(k) for k, v in kp))

    # ------------------------------------------------------------------ lifecycle
    def sync(self) -> None:
        """Flush everything committed so far to disk (useful with ``sync=False``)."""
        self._h().env.sync(True)

    def with_read_only(self, read_only: bool = True) -> _LMDBBackend:
        """Another store on the same environment with a different ``read_only`` flag."""
        return type(self)(**{**self._pickle_config(), "read_only": read_only})

    def close(self) -> None:
        """Release this store's reference to the shared environment.  Idempotent."""
        with self._handle_lock:
            handle, self._handle = self._handle, None
        super().close()
        if handle is not None:
            _release_env(handle)

    def __del__(self) -> None:
        # Arrays never close their store: give the reference back when collected.
        # Closing the environment here could wait on a lock, so an environment whose
        # last store was collected stays open in the registry for the next store.
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.pid == os.getpid():
            with contextlib.suppress(Exception), _REGISTRY_LOCK:
                handle.refs -= 1

    def _pickle_config(self) -> dict[str, Any]:
        return {"path": self._path, "read_only": self._read_only, **self._options}

    def _repr_fields(self) -> dict[str, Any]:
        return {"path": self._path}

    def __hash__(self) -> int:
        return hash((type(self), self._path, self._read_only))


class LMDBStore(StagedTransactionMixin, _LMDBBackend):
    """A store in one LMDB environment, with atomic batches and transactions.

    Parameters
    ----------
    path : str or os.PathLike
        The environment's directory (created if missing unless ``read_only``), or its
        data file with ``subdir=False``.
    read_only : bool, default False
        Reject every write; the environment must exist.
    map_size : int, default 1 GiB
        Initial map size in bytes; grows automatically when full.
    sync : bool, default True
        Flush to disk at every commit (see "Durability" in the module docstring).
    readahead : bool, default False
        OS readahead on the memory map.  Random chunk reads are faster without it (it
        would pull in neighbouring pages nobody asked for); turn it on for sequential
        scans of a database larger than RAM.
    max_readers : int, default 126
        Concurrent read transactions across every process using the environment.
    lock : bool, default True
        LMDB's inter-process locking.  ``False`` only for read-only media or when a
        single process ever opens the path.
    subdir : bool, default True
        ``path`` is a directory holding ``data.mdb``/``lock.mdb``; with ``False`` it is
        the data file itself (lock file ``<path>-lock``).
    create : bool, default True
        Create the environment if it does not exist.

    Notes
    -----
    See the module docstring for the data layout, sharing, fork safety and map growth.
    ``repr`` shows the path; pickling carries the path and options and reopens (or
    shares) the environment on the other side.
    """
