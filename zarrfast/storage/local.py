"""A store keeping one file per key under a root directory."""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import secrets
import shutil
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from zarrfast.abc.store import (
    Buffer,
    ByteRequest,
    Store,
    byte_range_bounds,
    validate_key,
    validate_prefix,
)
from zarrfast.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    InvalidKeyError,
    NodeNotFoundError,
    StoreError,
)
from zarrfast.storage._util import as_write_buffer as _as_write_buffer

__all__ = ["TEMP_PREFIX", "LocalStore"]

#: File names starting with this are in-flight writes (or their crashed remains) and
#: directories being deleted.  They are never listed, and keys may not use them.
TEMP_PREFIX = ".zftmp-"

_T = TypeVar("_T")

#: Files at least this large are memory-mapped by :meth:`LocalStore.borrow_many`.
_MMAP_THRESHOLD = 1 << 20
#: Batches at least this long are read/written on a small thread pool.
_POOL_THRESHOLD = 16
_POOL_WORKERS = min(8, (os.cpu_count() or 1) * 2)
#: Attempts at a write whose parent directory is pruned by a concurrent delete.
_WRITE_ATTEMPTS = 32
_MISSING_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR})
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def map_os_error(exc: OSError, operation: str, path: str | os.PathLike[str]) -> StoreError:
    """Translate an ``OSError`` from the filesystem into the zarrfast hierarchy.

    Parameters
    ----------
    exc : OSError
        The error raised by the operating system.
    operation : str
        What was being done, as a gerund: ``"reading"``, ``"writing"``...
    path : str or os.PathLike
        The file or directory involved.

    Returns
    -------
    StoreError
        :class:`~zarrfast.errors.AccessDeniedError` for ``EACCES``/``EPERM``/``EROFS``
        (message ``"permission denied writing '/data/x/c/0/0'"``), otherwise a
        :class:`~zarrfast.errors.StoreError` naming the path and the OS reason.  The
        original ``errno`` is kept; raise it ``from exc``.
    """
    path = os.fspath(path)
    reason = exc.strerror or str(exc)
    err: StoreError
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        detail = "" if isinstance(exc, PermissionError) else f" ({reason})"
        err = AccessDeniedError(f"permission denied {operation} '{path}'{detail}")
    else:
        err = StoreError(f"error {operation} '{path}': {reason}")
    err.errno = exc.errno
    return err


def _is_temp(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def _temp_name(kind: str = "") -> str:
    # pid + thread id + randomness: unique across threads, processes and hosts sharing
    # a network filesystem; short enough to stay under NAME_MAX.
    return f"{TEMP_PREFIX}{kind}{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(6)}"


class LocalStore(Store):
    """A store on the local filesystem: key ``"c/0/1"`` is the file ``root/c/0/1``.

    Parameters
    ----------
    root : str or os.PathLike
        Directory holding the hierarchy.  Made absolute (not resolved) at open.
    read_only : bool, default False
        Reject every write.  The root must then exist, else
        :class:`~zarrfast.errors.ContainerNotFoundError`.
    mkdir : bool, default True
        Create the root (and parents) on the first write.  Opening never creates it.
        With ``mkdir=False`` a missing root raises ``ContainerNotFoundError`` at open.
    fsync : bool, default False
        Also ``fsync`` each written file and its directory before returning.  Without
        it every write is still *atomic* (readers and a crashed writer see the whole old
        or the whole new value), but after a power loss or kernel crash the most recent
        writes may be lost.  With it they are durable, at the cost of one or two
        synchronous disk flushes per write (often milliseconds each, far slower than
        the write itself on small chunks).

    Notes
    -----
    * **Atomic writes**: a value is written to a hidden temporary file
      (``.zftmp-<pid>-<thread>-<random>``) in the destination directory, then moved
      over the target with ``os.replace``.  A killed writer can leave such a file
      behind, never a torn value; listings ignore them and keys may not use the
      ``.zftmp-`` prefix.  Readers holding the old file (or an mmap of it) keep seeing
      the old value.
    * **Missing keys**: ``ENOENT`` and ``ENOTDIR`` (a path through a file) and a
      directory where a value was expected all read as missing.
    * **Deletes** remove now-empty parent directories up to, not including, the root.
      ``os.rmdir`` only removes empty directories, and writers re-create a directory
      pruned under them, so concurrent writes are never lost.  ``delete_prefix`` moves
      a whole directory aside (an atomic rename) before ``shutil.rmtree``-ing it.
    * **Path safety**: keys are validated (:func:`~zarrfast.abc.store.validate_key`)
      and every path is checked, lexically, to lie under the root, which also guards
      against platform quirks such as drive-relative names on Windows.  Symlinks
      *inside* the root are followed when reading and writing (so a chunk directory
      may live on another disk); listings do not descend into symlinked directories,
      which rules out cycles.  Do not point symlinks at data you do not want written.
    * **Errors**: permission problems raise
      :class:`~zarrfast.errors.AccessDeniedError` (a ``PermissionError``) naming the
      operation and path; other OS errors raise :class:`~zarrfast.errors.StoreError`.
    * Large ``get_many``/``get_ranges``/``set_many`` batches run on a small thread pool
      (rebuilt after ``fork``).  ``borrow_many`` memory-maps files of 1 MiB or more.
    """

    backend_name: ClassVar[str] = "filesystem"
    supports_transactions: ClassVar[bool] = False

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        read_only: bool = False,
        mkdir: bool = True,
        fsync: bool = False,
    ) -> None:
        super().__init__(read_only=read_only)
        self._root = Path(os.path.abspath(os.fspath(root)))
        self._root_str = str(self._root)
        # "/data/x/" - what every path inside the root starts with (the root may be "/").
        self._root_prefix = os.path.join(self._root_str, "")
        self._mkdir = bool(mkdir)
        self._fsync = bool(fsync)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()
        # directories known to exist, for native_write_paths (a stale entry only costs
        # the native writer one retry after ENOENT)
        self._known_dirs: set[str] = set()
        try:
            st = os.stat(self._root_str)
        except (FileNotFoundError, NotADirectoryError):
            if read_only or not mkdir:
                why = "read-only" if read_only else "mkdir=False"
                raise ContainerNotFoundError(
                    f"root directory '{self._root_str}' does not exist "
                    f"(opened {why}, so it is not created)"
                ) from None
        except OSError as exc:
            raise map_os_error(exc, "opening root", self._root_str) from exc
        else:
            if not stat.S_ISDIR(st.st_mode):
                raise StoreError(f"expected a directory at root '{self._root_str}', found a file")

    @property
    def root(self) -> Path:
        """The absolute root directory."""
        return self._root

    @property
    def fsync(self) -> bool:
        """Whether writes are flushed to disk before returning."""
        return self._fsync

    # ------------------------------------------------------------------ paths
    def _path(self, key: str) -> str:
        validate_key(key)
        parts = key.split("/")
        for part in parts:
            if _is_temp(part):
                raise InvalidKeyError(
                    f"key {key!r} uses the reserved temporary-file prefix {TEMP_PREFIX!r}"
                )
        path = os.path.join(self._root_str, *parts)
        self._check_inside(key, path)
        return path

    def _dir_path(self, prefix: str) -> str:
        """Directory for a validated listing prefix ending in "/" (or "")."""
        if not prefix:
            return self._root_str
        return self._path(prefix.rstrip("/"))

    def _check_inside(self, key: str, path: str) -> None:
        norm = os.path.normpath(path)
        if not norm.startswith(self._root_prefix) or norm == self._root_str:
            raise InvalidKeyError(f"key {key!r} resolves to '{norm}', outside '{self._root_str}'")

    # ------------------------------------------------------------------ reads
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        """Read the value at ``key`` (or part of it with ``os.pread``); ``None`` if missing."""
        path = self._path(key)
        self._check_open()
        return self._read(path, byte_range)

    def _read(self, path: str, byte_range: ByteRequest | None) -> bytes | None:
        try:
            fd = os.open(path, os.O_RDONLY | _O_BINARY | _O_CLOEXEC)
        except OSError as exc:
            if exc.errno in _MISSING_ERRNOS or isinstance(exc, IsADirectoryError):
                return None
            raise map_os_error(exc, "reading", path) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            if byte_range is None:
                start, stop = 0, st.st_size
            else:
                start, stop = byte_range_bounds(byte_range, st.st_size)
            return _pread_exact(fd, start, stop - start)
        except IsADirectoryError:
            return None
        except OSError as exc:
            raise map_os_error(exc, "reading", path) from exc
        finally:
            os.close(fd)

    def exists(self, key: str) -> bool:
        """Whether a regular file holds ``key``."""
        path = self._path(key)
        self._check_open()
        st = self._stat(path, "checking")
        return st is not None and stat.S_ISREG(st.st_mode)

    def _stat(self, path: str, operation: str) -> os.stat_result | None:
        try:
            return os.stat(path)
        except OSError as exc:
            if exc.errno in _MISSING_ERRNOS:
                return None
            raise map_os_error(exc, operation, path) from exc

    def getsize(self, key: str) -> int:
        """Size of the file at ``key`` (one ``stat``); ``NodeNotFoundError`` if missing."""
        path = self._path(key)
        self._check_open()
        st = self._stat(path, "checking the size of")
        if st is None or not stat.S_ISREG(st.st_mode):
            raise NodeNotFoundError(f"no value at key {key!r} in {self!r}")
        return st.st_size

    def getsize_prefix(self, prefix: str) -> int:
        """Total size of every file whose key starts with ``prefix``."""
        total = 0
        for _key, entry in self._walk_prefix(prefix):
            with contextlib.suppress(FileNotFoundError):  # deleted while we walked
                total += entry.stat().st_size
        return total

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        """Values for ``keys`` in order; large batches are read on a thread pool."""
        return self.get_ranges([(k, None) for k in keys])

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        """Values or byte ranges for ``(key, range)`` pairs, in order."""
        jobs = [(self._path(k), r) for k, r in requests]
        self._check_open()
        return self._map(lambda job: self._read(*job), jobs)

    @contextlib.contextmanager
    def borrow_many(self, keys: Sequence[str]) -> Iterator[list[Buffer | None]]:
        """Values valid only inside the ``with`` block; large files are memory-mapped.

        Files of 1 MiB or more are handed out as read-only ``memoryview``\\ s of an
        ``mmap`` (no copy); smaller files are simply read.  The maps are closed when
        the block exits.  A concurrent ``set`` replaces the file rather than rewriting
        it, so a map keeps showing the value as it was when borrowed.  If a caller
        still holds a buffer exported from a view after the block, that map is left
        to the garbage collector instead of being closed under it.
        """
        paths = [self._path(k) for k in keys]
        self._check_open()
        maps: list[tuple[memoryview, mmap.mmap]] = []
        try:
            # small files are read (pread releases the GIL) on the pool, like get_many
            out: list[Buffer | None] = self._map(lambda path: self._borrow_one(path, maps), paths)
            yield out
        finally:
            for view, mm in maps:
                try:
                    view.release()
                    mm.close()
                except BufferError:
                    pass  # still exported by the caller; the GC closes it later

    def native_read_paths(self, keys: Sequence[str]) -> list[bytes] | None:
        """Encoded file paths of ``keys`` for a native reader, or ``None``.

        The native pipeline opens and reads these files itself, on its own worker
        threads, with this store's read semantics: a missing file, a path through a
        file, a directory or any non-regular file is a missing key.  On any other error
        it calls :meth:`get` so the error is raised (and mapped) here.  Subclasses that
        change how values are read get ``None`` (they are read through the store).
        """
        cls = type(self)
        if cls is not LocalStore and (
            cls._read is not LocalStore._read
            or cls.borrow_many is not LocalStore.borrow_many
            or cls.get is not LocalStore.get
            or cls._path is not LocalStore._path
        ):
            return None
        paths = [os.fsencode(self._path(k)) for k in keys]
        self._check_open()
        return paths

    def native_write_paths(
        self, keys: Sequence[str], *, recheck: bool = False
    ) -> list[bytes] | None:
        """Encoded file paths of ``keys`` for a native writer, or ``None``.

        The native pipeline writes these files itself, on its own worker threads, with
        this store's write semantics: a temporary file in the destination directory
        (``.zftmp-...``), written (and ``fsync``\\ ed when :attr:`fsync`), then renamed
        over the target, so a killed writer never leaves a torn value.  The parent
        directory of every path exists when this returns (directories already seen are
        remembered; ``recheck=True`` forgets them for these keys first, for a writer that
        found one pruned by a concurrent delete).  Read-only stores and subclasses that
        change how values are written get ``None`` (they are written through the store).
        """
        cls = type(self)
        if self._read_only or (
            cls is not LocalStore
            and (
                cls._write is not LocalStore._write
                or cls._write_once is not LocalStore._write_once
                or cls.set is not LocalStore.set
                or cls.set_many is not LocalStore.set_many
                or cls._path is not LocalStore._path
                or cls._makedirs is not LocalStore._makedirs
            )
        ):
            return None
        paths = [self._path(k) for k in keys]
        self._check_writable()
        known = self._known_dirs
        if recheck or len(known) > 65536:
            if len(known) > 65536:
                known.clear()
            for path in paths:
                known.discard(os.path.dirname(path))
        for path in paths:
            parent = os.path.dirname(path)
            if parent not in known:
                if recheck or not os.path.isdir(parent):
                    self._makedirs(parent, path)
                known.add(parent)
        return [os.fsencode(p) for p in paths]

    def _borrow_one(self, path: str, maps: list[tuple[memoryview, mmap.mmap]]) -> Buffer | None:
        try:
            fd = os.open(path, os.O_RDONLY | _O_BINARY | _O_CLOEXEC)
        except OSError as exc:
            if exc.errno in _MISSING_ERRNOS or isinstance(exc, IsADirectoryError):
                return None
            raise map_os_error(exc, "reading", path) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            if st.st_size < _MMAP_THRESHOLD:
                return _pread_exact(fd, 0, st.st_size)
            mm = mmap.mmap(fd, st.st_size, access=mmap.ACCESS_READ)
            view = memoryview(mm)
            maps.append((view, mm))
            return view
        except OSError as exc:
            raise map_os_error(exc, "reading", path) from exc
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ writes
    def set(self, key: str, value: Buffer) -> None:
        """Atomically replace the file at ``key`` with ``value``."""
        path = self._path(key)
        self._check_writable()
        self._write(path, _as_write_buffer(key, value))

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        """Write several values (each atomically; the batch is not a transaction)."""
        self._check_writable()
        jobs = [(self._path(k), _as_write_buffer(k, v)) for k, v in items]
        self._map(lambda job: self._write(*job), jobs)

    def _write(self, path: str, data: memoryview) -> None:
        parent = os.path.dirname(path)
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                self._write_once(parent, path, data)
                return
            except FileNotFoundError as exc:
                # The directory vanished under us: not made yet, or pruned by a
                # concurrent delete between our makedirs and our create/replace.
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise map_os_error(exc, "writing", path) from exc
                self._makedirs(parent, path)
            except OSError as exc:
                raise map_os_error(exc, "writing", path) from exc

    def _write_once(self, parent: str, path: str, data: memoryview) -> None:
        tmp = os.path.join(parent, _temp_name())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_CLOEXEC, 0o666)
        try:
            try:
                view = data
                while view.nbytes:
                    view = view[os.write(fd, view) :]
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self._fsync:
            _fsync_dir(parent)

    def _makedirs(self, parent: str, path: str) -> None:
        if not self._mkdir and not os.path.isdir(self._root_str):
            raise ContainerNotFoundError(
                f"root directory '{self._root_str}' does not exist (mkdir=False)"
            )
        try:
            os.makedirs(parent, exist_ok=True)
        except FileExistsError as exc:
            # Either a component of the key is a value (a file), or a concurrent delete
            # pruned the directory between makedirs' mkdir and its isdir check; the
            # caller retries the write in the second case.
            if os.path.lexists(parent) and not os.path.isdir(parent):
                raise StoreError(
                    f"error writing '{path}': a parent of it is a file, not a directory"
                ) from exc
        except NotADirectoryError as exc:
            raise StoreError(
                f"error writing '{path}': a parent of it is a file, not a directory"
            ) from exc
        except OSError as exc:
            raise map_os_error(exc, "creating the directory for", path) from exc

    # ------------------------------------------------------------------ deletes
    def delete(self, key: str) -> None:
        """Remove the file at ``key`` and any parent directories left empty."""
        path = self._path(key)
        self._check_writable()
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno in _MISSING_ERRNOS or os.path.isdir(path):
                return  # missing, or a directory (not a value): nothing to delete
            raise map_os_error(exc, "deleting", path) from exc
        self._prune(os.path.dirname(path))

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete several keys; missing keys are ignored."""
        self._check_writable()
        paths = [self._path(k) for k in keys]
        for path in paths:
            try:
                os.unlink(path)
            except OSError as exc:
                if exc.errno in _MISSING_ERRNOS or os.path.isdir(path):
                    continue
                raise map_os_error(exc, "deleting", path) from exc
            self._prune(os.path.dirname(path))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix``; return how many were deleted.

        A prefix ending in ``"/"`` (or ``""``) names a directory, which is renamed
        aside and removed with ``shutil.rmtree``; otherwise every entry of the parent
        directory whose name starts with the last segment is removed.
        """
        validate_prefix(prefix)
        self._check_writable()
        dirpart, _, namepart = prefix.rpartition("/")
        parent = self._dir_path(dirpart + "/" if dirpart else "")
        if prefix.endswith("/"):
            if not os.path.isdir(parent):
                return 0
            count = self._remove_tree(parent)
            self._prune(os.path.dirname(parent))
            return count
        count = 0
        for entry in self._scandir(parent):
            if _is_temp(entry.name) or not entry.name.startswith(namepart):
                continue
            if entry.is_dir(follow_symlinks=False):
                count += self._remove_tree(entry.path)
            else:
                try:
                    os.unlink(entry.path)
                    count += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise map_os_error(exc, "deleting", entry.path) from exc
        if parent != self._root_str:
            self._prune(parent)
        return count

    def _remove_tree(self, directory: str) -> int:
        """Remove ``directory`` (or empty the root); return how many values it held."""
        if directory == self._root_str:
            count = 0
            for entry in self._scandir(directory):
                if _is_temp(entry.name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    count += self._remove_tree(entry.path)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        count += 1
            return count
        # Move the tree aside first: readers then see it vanish at once, and writers
        # racing with us re-create a fresh directory instead of failing rmtree.
        doomed = os.path.join(os.path.dirname(directory), _temp_name("del-"))
        try:
            os.rename(directory, doomed)
        except FileNotFoundError:
            return 0
        except OSError:
            doomed = directory  # e.g. a busy directory on Windows: remove it in place
        count = sum(
            1 for _dirpath, _dirs, files in os.walk(doomed) for f in files if not _is_temp(f)
        )

        def onexc(func: Any, path: str, exc: BaseException) -> None:
            if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                raise map_os_error(exc, "deleting", path) from exc

        if sys.version_info >= (3, 12):
            shutil.rmtree(doomed, onexc=onexc)
        else:
            shutil.rmtree(doomed, onerror=lambda f, p, info: onexc(f, p, info[1]))
        return count

    def _prune(self, directory: str) -> None:
        """Remove empty directories from ``directory`` up to, not including, the root."""
        root = self._root_str
        while directory != root and directory.startswith(self._root_prefix):
            try:
                os.rmdir(directory)  # atomic, and only ever succeeds on an empty dir
            except OSError:
                return  # not empty (or already gone, or busy): stop climbing
            directory = os.path.dirname(directory)

    # ------------------------------------------------------------------ listing
    def _scandir(self, directory: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(directory) as it:
                return list(it)
        except OSError as exc:
            if exc.errno in _MISSING_ERRNOS:
                return []
            raise map_os_error(exc, "listing", directory) from exc

    def _walk_dir(self, directory: str, key_prefix: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        stack = [(directory, key_prefix)]
        while stack:
            d, kp = stack.pop()
            for entry in self._scandir(d):
                if _is_temp(entry.name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, kp + entry.name + "/"))
                elif entry.is_file():
                    yield kp + entry.name, entry

    def _walk_prefix(self, prefix: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        validate_prefix(prefix)
        self._check_open()
        dirpart, _, namepart = prefix.rpartition("/")
        key_prefix = dirpart + "/" if dirpart else ""
        directory = self._dir_path(key_prefix)
        if not namepart:
            return self._walk_dir(directory, key_prefix)
        return self._walk_matching(directory, key_prefix, namepart)

    def _walk_matching(
        self, directory: str, key_prefix: str, namepart: str
    ) -> Iterator[tuple[str, os.DirEntry[str]]]:
        for entry in self._scandir(directory):
            if _is_temp(entry.name) or not entry.name.startswith(namepart):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk_dir(entry.path, key_prefix + entry.name + "/")
            elif entry.is_file():
                yield key_prefix + entry.name, entry

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix`` (a plain string prefix), any order."""
        return (key for key, _entry in self._walk_prefix(prefix))

    def list_dir(self, prefix: str) -> Iterator[str]:
        """Files and sub-directories directly inside the directory ``prefix``."""
        validate_prefix(prefix)
        self._check_open()
        directory = self._dir_path(prefix.rstrip("/") + "/" if prefix else "")
        return (
            e.name
            for e in self._scandir(directory)
            if not _is_temp(e.name) and (e.is_dir(follow_symlinks=False) or e.is_file())
        )

    # ------------------------------------------------------------------ thread pool
    def _map(self, fn: Callable[[Any], _T], jobs: Sequence[Any]) -> list[_T]:
        if len(jobs) < _POOL_THRESHOLD:
            return [fn(job) for job in jobs]
        return list(self._get_pool().map(fn, jobs))

    def _get_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                # A pool inherited through fork() has no threads: build a new one.
                self._pool = ThreadPoolExecutor(_POOL_WORKERS, thread_name_prefix="zf-local")
                self._pool_pid = os.getpid()
            return self._pool

    def close(self) -> None:
        """Mark the store closed and stop its thread pool.  Idempotent."""
        super().close()
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.shutdown(wait=True)

    # ------------------------------------------------------------------ identity
    def _pickle_config(self) -> dict[str, Any]:
        return {
            "root": self._root_str,
            "read_only": self._read_only,
            "mkdir": self._mkdir,
            "fsync": self._fsync,
        }

    def _repr_fields(self) -> dict[str, Any]:
        return {"root": self._root_str}

    def __hash__(self) -> int:
        return hash((type(self), *self._pickle_config().items()))


def _pread_exact(fd: int, offset: int, length: int) -> bytes:
    """Read ``length`` bytes at ``offset`` (fewer only if the file is shorter)."""
    if length <= 0:
        return b""
    pread = getattr(os, "pread", None)
    if pread is not None:
        first: bytes = pread(fd, length, offset)
        if len(first) == length or not first:
            return first
        chunks = [first]
        got = len(first)
        while got < length:
            more = pread(fd, length - got, offset + got)
            if not more:
                break
            chunks.append(more)
            got += len(more)
        return b"".join(chunks)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    chunks, got = [], 0  # pragma: no cover
    while got < length:  # pragma: no cover
        more = os.read(fd, length - got)
        if not more:
            break
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)  # pragma: no cover


def _fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable (no-op where directories can't be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY | _O_CLOEXEC)
    except OSError:
        return  # Windows: directories cannot be opened; NTFS journals renames
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory
    finally:
        os.close(fd)
