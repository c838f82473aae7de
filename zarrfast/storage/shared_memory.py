"""SharedMemoryStore: a named, in-memory store shared by every process on the node.

The analogue of an ETS table (``storage="shared_memory", name="..."``): an LMDB
environment in a RAM-backed ``tmpfs`` directory (``/dev/shm`` on Linux).  Every
process on the machine that opens the same ``name`` sees the same data; a write by one
process is visible to the others as soon as its transaction commits (LMDB's own
inter-process locking; readers never block writers).  Everything
:class:`~zarrfast.storage.lmdb.LMDBStore` offers applies: atomic ``set_many`` batches,
``transaction()``, zero-copy ``borrow_many``, automatic growth.

Lifetime
--------
The data lives in RAM (tmpfs pages), not on disk, and is **not persistent across
reboots**.  It is *not* tied to the process that created it: it survives that
process's exit (or crash) and stays until someone calls :meth:`SharedMemoryStore.destroy`
(or :meth:`SharedMemoryStore.destroy_named`), or the machine restarts.  ``close()`` only
releases this process's handle.  Destroying a store that other processes still have
open removes the name at once; those processes keep a private, detached copy until
they close it, so destroy it when everyone is done.  It counts against the tmpfs size
limit (``df /dev/shm``); writing past it raises a :class:`~zarrfast.errors.StoreError`.

Location: ``$ZARRFAST_SHM_DIR`` if set, else ``/dev/shm`` when it exists, else the
temporary directory (which may then be disk-backed, e.g. on macOS).  The store of name
``N`` is the directory ``<location>/zarrfast-shm-N``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Any, ClassVar

from zarrfast.errors import InvalidKeyError, StoreError
from zarrfast.storage import lmdb as _lmdb
from zarrfast.storage.lmdb import DEFAULT_MAP_SIZE, LMDBStore

__all__ = ["SharedMemoryStore", "shared_memory_dir"]

_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")
_DIR_PREFIX = "zarrfast-shm-"


def shared_memory_dir() -> str:
    """The directory holding every named shared-memory store on this machine."""
    override = os.environ.get("ZARRFAST_SHM_DIR")
    if override:
        return override
    if os.path.isdir("/dev/shm"):
        return "/dev/shm"
    return tempfile.gettempdir()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidKeyError(
            "expected a shared-memory store name of 1-200 characters from "
            f"[A-Za-z0-9_.-], not starting with '.' or '-', got {name!r}"
        )
    return name


def _path_for(name: str) -> str:
    return os.path.join(shared_memory_dir(), _DIR_PREFIX + _check_name(name))


class SharedMemoryStore(LMDBStore):
    """A named in-memory store shared across processes (see the module docstring).

    Parameters
    ----------
    name : str
        The store's name on this machine: 1-200 characters from ``[A-Za-z0-9_.-]``
        (no slashes), not starting with ``.`` or ``-``.
    create : bool, default True
        Create the store if no store of that name exists; with ``False`` a missing
        name raises :class:`~zarrfast.errors.ContainerNotFoundError`.
    read_only : bool, default False
        Reject every write; the store must exist.
    map_size : int, default 1 GiB
        Initial address-space reservation; grows automatically.
    max_readers : int, default 126
        Concurrent read transactions across all processes.
    """

    backend_name: ClassVar[str] = "shared_memory"
    path_argument: ClassVar[str | None] = None

    def __init__(
        self,
        name: str,
        *,
        create: bool = True,
        read_only: bool = False,
        map_size: int = DEFAULT_MAP_SIZE,
        max_readers: int = 126,
    ) -> None:
        self._name = _check_name(name)
        # RAM has nothing to flush: sync would only cost system calls.
        super().__init__(
            _path_for(name),
            read_only=read_only,
            map_size=map_size,
            sync=False,
            readahead=False,
            max_readers=max_readers,
            lock=True,
            subdir=True,
            create=create,
        )

    @property
    def name(self) -> str:
        """The store's machine-wide name."""
        return self._name

    @classmethod
    def exists_named(cls, name: str) -> bool:
        """Whether a shared-memory store called ``name`` exists on this machine."""
        return os.path.exists(os.path.join(_path_for(name), "data.mdb"))

    @classmethod
    def destroy_named(cls, name: str) -> bool:
        """Remove the store called ``name``; return whether there was one."""
        path = _path_for(name)
        real = os.path.realpath(path)
        with _lmdb._REGISTRY_LOCK:
            handle = _lmdb._REGISTRY.pop(real, None)
            if handle is not None:
                handle.closed = True  # other stores on it in this process now raise
        if handle is not None:
            try:
                with handle.gate.exclusive("destroy the shared-memory store", timeout=5.0):
                    handle.env.close()
            except StoreError:
                pass  # reads in flight: the environment is closed when collected
        if not os.path.isdir(path):
            return False
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(
                f"could not destroy shared-memory store {name!r} at '{path}': {exc}"
            ) from exc
        return True

    def destroy(self) -> None:
        """Close this store and remove its data for every process.  Idempotent."""
        self.close()
        type(self).destroy_named(self._name)

    def _pickle_config(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "read_only": self._read_only,
            "map_size": self._options["map_size"],
            "max_readers": self._options["max_readers"],
        }

    def _repr_fields(self) -> dict[str, Any]:
        return {"name": self._name}

    def __hash__(self) -> int:
        return hash((type(self), self._name, self._read_only))
