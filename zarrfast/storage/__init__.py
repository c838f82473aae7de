"""Storage backends, one module and one ``XxxStore`` class each, and the backend registry.

Optional SDKs are imported lazily: ``import zarrfast`` never needs boto3 or pymongo.
``make_store("filesystem", path=...)`` builds a backend by its registry name; users add
their own with :func:`register`.
"""

from __future__ import annotations

import importlib
from typing import Any

from zarrfast.abc.store import Store
from zarrfast.errors import BackendNotAvailableError, RegistryError

__all__ = [
    "register", "get_backend", "make_store", "available", "MemoryStore", "LocalStore",
    "ZipStore", "LMDBStore", "SharedMemoryStore", "S3Store", "GCSStore", "AzureBlobStore",
    "MongoGridFSStore", "MockStore",
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
    "local": "filesystem", "file": "filesystem", "fs": "filesystem", "ets": "shared_memory",
    "azure": "azure_blob", "gridfs": "mongo_gridfs", "mongodb": "mongo_gridfs", "gs": "gcs",
}
_REGISTERED: dict[str, type[Store]] = {}

_REQUIRED_METHODS = ("get", "set", "delete", "exists", "list_prefix", "list_dir")


def register(cls: type[Store], name: str | None = None, *, replace: bool = False) -> type[Store]:
    """Make ``cls`` usable as ``storage=name`` (default: ``cls.backend_name``)."""
    if not isinstance(cls, type) or not issubclass(cls, Store):
        raise RegistryError(f"expected a zarrfast.abc.store.Store subclass, got {cls!r}")
    missing = [m for m in _REQUIRED_METHODS if getattr(cls, m, None) in (None, getattr(Store, m))]
    if missing:
        raise RegistryError(f"store class {cls.__name__} lacks required methods {missing}")
    key = name or cls.backend_name
    if not key:
        raise RegistryError(f"store class {cls.__name__} has no backend_name; pass name=")
    if not replace and (key in _REGISTERED or key in _BUILTIN or key in _ALIASES):
        raise RegistryError(f"a storage backend named {key!r} is already registered")
    _REGISTERED[key] = cls
    return cls


def get_backend(name: str) -> tuple[type[Store], str | None]:
    """The store class for a registry name and the keyword that receives ``path``."""
    name = _ALIASES.get(name, name)
    if name in _REGISTERED:
        return _REGISTERED[name], getattr(_REGISTERED[name], "path_argument", "path")
    if name not in _BUILTIN:
        known = sorted({*_BUILTIN, *_REGISTERED})
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


def make_store(name: str, **options: Any) -> Store:
    """Build a store by registry name; ``path=`` goes to the backend's location keyword."""
    cls, path_arg = get_backend(name)
    if "path" in options and path_arg is not None and path_arg != "path":
        options[path_arg] = options.pop("path")
    return cls(**options)


def available() -> dict[str, str]:
    """Every backend name and whether it can be used here (``"ok"`` or what is missing)."""
    out: dict[str, str] = {}
    for name in sorted({*_BUILTIN, *_REGISTERED}):
        try:
            get_backend(name)
            out[name] = "ok"
        except BackendNotAvailableError as exc:
            out[name] = str(exc)
    return out


def __getattr__(name: str) -> Any:
    lazy = {
        "MemoryStore": "memory", "LocalStore": "filesystem", "ZipStore": "zip",
        "LMDBStore": "lmdb", "SharedMemoryStore": "shared_memory", "S3Store": "s3",
        "GCSStore": "gcs", "AzureBlobStore": "azure_blob", "MongoGridFSStore": "mongo_gridfs",
        "MockStore": "mock",
    }
    if name in lazy:
        return get_backend(lazy[name])[0]
    raise AttributeError(name)
