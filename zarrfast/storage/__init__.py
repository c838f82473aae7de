"""Storage backends, one module and one ``XxxStore`` class each, and the backend registry.

Optional SDKs are imported lazily: ``import zarrfast`` never needs boto3 or pymongo.
``make_store("filesystem", path=...)`` builds a backend by its registry name; users add
their own with :func:`register`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import threading
from typing import Any

from zarrfast.abc.store import Store
from zarrfast.errors import BackendNotAvailableError, RegistryError

__all__ = [
    "ENTRY_POINT_GROUP",
    "AzureBlobStore",
    "GCSStore",
    "LMDBStore",
    "LocalStore",
    "MemoryStore",
    "MockStore",
    "MongoGridFSStore",
    "RetryingStore",
    "S3Store",
    "SharedMemoryStore",
    "ZipStore",
    "available",
    "get_backend",
    "make_store",
    "register",
    "unregister",
]

#: name -> (module, class name, constructor keyword that receives ``path=``, pip extra)
_BUILTIN: dict[str, tuple[str, str, str | None, str | None]] = {
    "memory": ("zarrfast.storage.memory", "MemoryStore", None, None),
    "filesystem": ("zarrfast.storage.local", "LocalStore", "root", None),
    "zip": ("zarrfast.storage.zip", "ZipStore", "path", None),
    "lmdb": ("zarrfast.storage.lmdb", "LMDBStore", "path", "lmdb"),
    "shared_memory": ("zarrfast.storage.shared_memory", "SharedMemoryStore", None, "lmdb"),
    "s3": ("zarrfast.storage.s3", "S3Store", None, "s3"),
    "gcs": ("zarrfast.storage.gcs", "GCSStore", None, "gcs"),
    "azure_blob": ("zarrfast.storage.azure_blob", "AzureBlobStore", None, "azure"),
    "mongo_gridfs": ("zarrfast.storage.mongo_gridfs", "MongoGridFSStore", None, "mongo"),
    "mock": ("zarrfast.storage.mock", "MockStore", None, None),
}
_ALIASES = {
    "local": "filesystem",
    "file": "filesystem",
    "fs": "filesystem",
    "ets": "shared_memory",
    "azure": "azure_blob",
    "gridfs": "mongo_gridfs",
    "mongodb": "mongo_gridfs",
    "gs": "gcs",
}
_REGISTERED: dict[str, type[Store]] = {}

_REQUIRED_METHODS = ("get", "set", "delete", "exists", "list_prefix", "list_dir")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

#: Entry-point group through which installed packages add backends: in pyproject.toml,
#: ``[project.entry-points."zarrfast.stores"] myname = "mypkg.store:MyStore"``.
ENTRY_POINT_GROUP = "zarrfast.stores"
_ENTRY_POINTS: dict[str, Any] | None = None
_ENTRY_POINTS_LOCK = threading.Lock()


def _discover_entry_points() -> dict[str, Any]:
    """Installed ``zarrfast.stores`` entry points by name (found once, loaded lazily)."""
    global _ENTRY_POINTS
    with _ENTRY_POINTS_LOCK:
        if _ENTRY_POINTS is None:
            found: dict[str, Any] = {}
            try:
                eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
            except Exception:
                eps = ()  # type: ignore[assignment]
            for ep in eps:
                # Built-in names and aliases always win; the first of two packages wins.
                if ep.name not in _BUILTIN and ep.name not in _ALIASES:
                    found.setdefault(ep.name, ep)
            _ENTRY_POINTS = found
        return _ENTRY_POINTS


def _load_entry_point(name: str) -> type[Store]:
    ep = _discover_entry_points()[name]
    try:
        cls = ep.load()
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"storage backend {name!r} (entry point {ep.value!r} in group "
            f"{ENTRY_POINT_GROUP!r}) could not be imported: {exc}"
        ) from exc
    if name not in _REGISTERED:
        register(cls, name)
    return _REGISTERED[name]


def _registered_names() -> set[str]:
    """Every name usable as ``storage=`` (built-in, registered, entry points, aliases)."""
    return {*_BUILTIN, *_REGISTERED, *_discover_entry_points(), *_ALIASES}


def register(cls: type[Store], name: str | None = None, *, replace: bool = False) -> type[Store]:
    """Make ``cls`` usable as ``storage=name`` (default: ``cls.backend_name``).

    Usable as a decorator.  Raises :class:`~zarrfast.errors.RegistryError` if ``cls`` is
    not a concrete :class:`~zarrfast.abc.store.Store` subclass implementing every
    required method, if the name is not lower-case ``[a-z][a-z0-9_]*``, or if the name
    is taken (a built-in, an alias or an earlier registration) and ``replace`` is false.
    """
    if not isinstance(cls, type) or not issubclass(cls, Store):
        raise RegistryError(
            f"expected a zarrfast.abc.store.Store subclass, got {cls!r}; subclass "
            "zarrfast.abc.store.Store and implement "
            f"{', '.join(_REQUIRED_METHODS)}"
        )
    missing = [
        m
        for m in _REQUIRED_METHODS
        if not callable(getattr(cls, m, None))
        or getattr(cls, m) is getattr(Store, m)
        or getattr(getattr(cls, m), "__isabstractmethod__", False)
    ]
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing or abstract:
        raise RegistryError(
            f"store class {cls.__name__} lacks required methods "
            f"{sorted(set(missing) | set(abstract))}; every backend implements "
            f"{', '.join(_REQUIRED_METHODS)}"
        )
    key = name if name is not None else cls.backend_name
    if not key:
        raise RegistryError(f"store class {cls.__name__} has no backend_name; pass name=")
    if not isinstance(key, str) or not _NAME_RE.match(key):
        raise RegistryError(
            f"expected a backend name matching [a-z][a-z0-9_]* for {cls.__name__}, got {key!r}"
        )
    if not replace:
        if key in _BUILTIN or key in _ALIASES:
            raise RegistryError(
                f"{key!r} is a built-in storage backend name; choose another name for "
                f"{cls.__name__}"
            )
        if key in _REGISTERED:
            raise RegistryError(
                f"a storage backend named {key!r} is already registered "
                f"({_REGISTERED[key].__module__}.{_REGISTERED[key].__qualname__}); "
                "pass replace=True to override it"
            )
    _REGISTERED[key] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a backend added with :func:`register` (built-in backends stay)."""
    if name not in _REGISTERED:
        raise RegistryError(f"no registered storage backend named {name!r}")
    del _REGISTERED[name]


def get_backend(name: str) -> tuple[type[Store], str | None]:
    """The store class for a registry name and the keyword that receives ``path``."""
    name = _ALIASES.get(name, name)
    if name in _REGISTERED:
        return _REGISTERED[name], getattr(_REGISTERED[name], "path_argument", "path")
    if name not in _BUILTIN:
        if isinstance(name, str) and name in _discover_entry_points():
            cls = _load_entry_point(name)
            return cls, getattr(cls, "path_argument", "path")
        known = sorted({*_BUILTIN, *_REGISTERED, *_discover_entry_points()})
        raise RegistryError(f"unknown storage backend {name!r}; available: {known}")
    module, cls_name, path_arg, extra = _BUILTIN[name]
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        hint = f"pip install 'zarrfast[{extra}]'" if extra else "reinstall zarrfast"
        raise BackendNotAvailableError(
            f"storage backend {name!r} needs a package that is not installed ({exc.name}); {hint}"
        ) from exc
    return getattr(mod, cls_name), path_arg


def make_store(name: str, /, **options: Any) -> Store:
    """Build a store by registry name; ``path=`` goes to the backend's location keyword."""
    cls, path_arg = get_backend(name)
    if "path" in options and path_arg is not None and path_arg != "path":
        options[path_arg] = options.pop("path")
    return cls(**options)


def available() -> dict[str, str]:
    """Every backend name and whether it can be used here.

    Returns ``{name: "ok"}`` for usable backends and, for the others, what is missing and
    how to get it (``"storage backend 's3' needs a package that is not installed
    (boto3); pip install 'zarrfast[s3]'"``).  Includes registered backends and installed
    ``zarrfast.stores`` entry points (which this imports).
    """
    out: dict[str, str] = {}
    for name in sorted({*_BUILTIN, *_REGISTERED, *_discover_entry_points()}):
        try:
            get_backend(name)
            out[name] = "ok"
        except (BackendNotAvailableError, RegistryError) as exc:
            out[name] = str(exc)
    return out


#: ``zarrfast.storage.list()``: the same as :func:`available` (not in ``__all__`` so
#: that ``from zarrfast.storage import *`` never shadows the builtin).
list = available


def __getattr__(name: str) -> Any:
    lazy = {
        "MemoryStore": "memory",
        "LocalStore": "filesystem",
        "ZipStore": "zip",
        "LMDBStore": "lmdb",
        "SharedMemoryStore": "shared_memory",
        "S3Store": "s3",
        "GCSStore": "gcs",
        "AzureBlobStore": "azure_blob",
        "MongoGridFSStore": "mongo_gridfs",
        "MockStore": "mock",
    }
    if name == "RetryingStore":
        from zarrfast.storage.retrying import RetryingStore

        return RetryingStore
    if name in lazy:
        return get_backend(lazy[name])[0]
    raise AttributeError(name)
