"""Store URLs: ``zarrfast.open("s3://bucket/prefix")`` and friends.

==================================  =============================================================
URL                                 backend and options
==================================  =============================================================
``/data/a.zarr``, ``a.zarr``        ``filesystem``, ``root=<path>`` (a ``.zip`` file: ``zip``)
``file:///data/a.zarr``             ``filesystem``, ``root=/data/a.zarr``
``zip:///data/a.zip!/grp/arr``      ``zip``, ``path=/data/a.zip``; node path ``grp/arr``
``lmdb:///data/a.lmdb``             ``lmdb``, ``path=/data/a.lmdb``
``memory://name``                   one process-wide :class:`MemoryStore` per name
``s3://bucket/prefix``              ``s3``, ``bucket=``, ``prefix=``
``gs://bucket/prefix``              ``gcs``, ``bucket=``, ``prefix=``
``az://container/prefix``           ``azure_blob``, ``container=``, ``prefix=``, ``account_name``
                                    from the keyword, ``az://container@account/...`` or
                                    ``$AZURE_STORAGE_ACCOUNT``
``mongodb://host:port/db/bucket/id``  ``mongo_gridfs``, ``url="mongodb://host:port"``,
                                    ``database=db``, ``bucket=bucket``, ``array_id=id``
``mock://name``                     ``MockStore`` over ``memory://name``
==================================  =============================================================

Relative forms ``file://rel/path`` and ``lmdb://rel/path`` are relative to the working
directory (``//`` followed by a path rather than a host).  Query parameters become
options (``s3://b/p?region=eu-west-1&anon=true``); keyword options win over them.
Credentials are never taken from the URL's query string: pass them as keywords or let
the backend find them in the environment.  A user backend registered under a name
whose class defines ``from_url(url, read_only=..., **options)`` answers to that scheme.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from zarrfast.abc.store import Store
from zarrfast.errors import InvalidKeyError, RegistryError

__all__ = ["SCHEMES", "memory_store", "open_url", "parse_url"]

#: URL scheme -> registry backend name.
SCHEMES: dict[str, str] = {
    "file": "filesystem",
    "zip": "zip",
    "lmdb": "lmdb",
    "memory": "memory",
    "mem": "memory",
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure_blob",
    "abfs": "azure_blob",
    "azure": "azure_blob",
    "mongodb": "mongo_gridfs",
    "mock": "mock",
}

#: Option names that may come from a query string (never credentials).
_QUERY_SAFE = {
    "region",
    "endpoint_url",
    "profile",
    "anon",
    "project",
    "account_name",
    "account_url",
    "endpoint",
    "map_size",
    "mode",
    "compression",
    "fsync",
    "max_concurrency",
    "sync",
    "readahead",
    "subdir",
    "lock",
    "create",
}
_SECRET_HINTS = ("key", "secret", "token", "password", "credential", "sas", "connection")

_MEMORY_STORES: dict[str, Any] = {}
_MEMORY_LOCK = threading.Lock()


def memory_store(name: str) -> Store:
    """The process-wide :class:`~zarrfast.storage.memory.MemoryStore` called ``name``.

    ``memory://x`` opened twice gives the same store (and so the same data) until the
    store is closed; a closed one is replaced by a fresh, empty store on the next open.
    """
    from zarrfast.storage.memory import MemoryStore

    with _MEMORY_LOCK:
        st = _MEMORY_STORES.get(name)
        if st is None or st.closed:
            st = _MEMORY_STORES[name] = MemoryStore()
        return st


def _coerce(value: str) -> Any:
    low = value.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    try:
        return int(value)
    except ValueError:
        return value


def _query_options(query: str, url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        if any(h in k.lower() for h in _SECRET_HINTS) or k not in _QUERY_SAFE:
            raise RegistryError(
                f"option {k!r} cannot be given in the URL query string ({_redact(url)}); "
                f"allowed there: {sorted(_QUERY_SAFE)}; pass credentials as keywords or "
                "through the environment"
            )
        out[k] = _coerce(v)
    return out


def _redact(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc and parts.scheme == "mongodb":
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else url


def _join(*parts: str | None) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def _local_path(parts: SplitResult) -> str:
    """Filesystem path of ``scheme://[localhost]/abs`` or ``scheme://rel/path``."""
    host = parts.netloc
    path = unquote(parts.path)
    if host in ("", "localhost"):
        return path
    return host + path  # "lmdb://data/x.lmdb": relative to the working directory


def _is_plain_path(url: str) -> bool:
    if "://" not in url:
        return True
    scheme = url.split("://", 1)[0]
    # "C://x" is a Windows drive, not a scheme.
    return len(scheme) == 1 and scheme.isalpha()


def parse_url(
    url: str,
    *,
    path: str | None = None,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> tuple[str, dict[str, Any], str]:
    """Map a store URL to ``(backend name, constructor options, node path)``.

    Pure: nothing is opened or imported, so it works for backends whose SDK is missing.

    Parameters
    ----------
    url
        The URL or plain filesystem path.
    path
        A node path inside the store, appended to any node path the URL names.
    environ
        Environment used for defaults (``AZURE_STORAGE_ACCOUNT``); default ``os.environ``.
    **options
        Backend keywords; they override query-string options.

    Raises
    ------
    RegistryError
        Unknown scheme (the message lists the known ones) or a malformed URL.
    """
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url:
        raise RegistryError(f"expected a non-empty store URL or path, got {url!r}")
    if "\x00" in url:
        raise InvalidKeyError(f"store URL {url!r} contains a NUL byte")
    env = os.environ if environ is None else environ
    if _is_plain_path(url):
        if url.lower().endswith(".zip") and not os.path.isdir(url):
            return "zip", {"path": url, **options}, _join(path)
        return "filesystem", {"root": url, **options}, _join(path)

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    opts = {**_query_options(parts.query, url), **options}
    if scheme not in SCHEMES:
        from zarrfast.storage import _registered_names

        if scheme in _registered_names():
            return scheme, {"url": url, **opts}, _join(path)
        known = sorted({*SCHEMES, *_registered_names()})
        raise RegistryError(
            f"unknown store URL scheme {scheme!r} in {_redact(url)}; known schemes: {known}"
        )
    backend = SCHEMES[scheme]
    key_path = unquote(parts.path).strip("/")

    if backend == "filesystem":
        return backend, {"root": _local_path(parts), **opts}, _join(path)
    if backend == "zip":
        target = _local_path(parts)
        inner = ""
        if "!" in target:
            target, inner = target.split("!", 1)
        return backend, {"path": target, **opts}, _join(inner, path)
    if backend == "lmdb":
        return backend, {"path": _local_path(parts), **opts}, _join(path)
    if backend in ("memory", "mock"):
        name = parts.netloc
        if not name:
            raise RegistryError(f"expected {scheme}://<name>[/node/path], got {_redact(url)}")
        return backend, {"name": name, **opts}, _join(key_path, path)
    if backend in ("s3", "gcs"):
        if not parts.netloc:
            raise RegistryError(f"expected {scheme}://<bucket>[/prefix], got {_redact(url)}")
        return backend, {"bucket": parts.netloc, "prefix": key_path, **opts}, _join(path)
    if backend == "azure_blob":
        container, _, account = parts.netloc.partition("@")
        if not container:
            raise RegistryError(f"expected {scheme}://<container>[/prefix], got {_redact(url)}")
        if account:
            account = account.split(".", 1)[0]  # container@account.dfs.core.windows.net
        opts.setdefault("account_name", account or env.get("AZURE_STORAGE_ACCOUNT"))
        if opts["account_name"] is None:
            del opts["account_name"]
        return backend, {"container": container, "prefix": key_path, **opts}, _join(path)
    # mongodb://[user:pass@]host[:port]/db/bucket/array_id
    segments = [s for s in key_path.split("/") if s]
    if len(segments) < 2:
        raise RegistryError(
            f"expected mongodb://host[:port]/<database>/<bucket>[/prefix], got {_redact(url)}"
        )
    conn = f"mongodb://{parts.netloc}"
    return (
        backend,
        {
            "url": conn,
            "database": segments[0],
            "bucket": segments[1],
            "array_id": "/".join(segments[2:]),
            **opts,
        },
        _join(path),
    )


def open_url(
    url: str, path: str | None = None, read_only: bool = False, **options: Any
) -> tuple[Store, str]:
    """Open the store a URL names; returns ``(store, node_path)``.

    See the module docstring for the URL forms and :func:`parse_url` for the mapping.
    """
    from zarrfast.storage import get_backend, make_store

    backend, opts, node = parse_url(url, path=path, **options)
    if read_only:
        opts["read_only"] = True
    if backend == "memory":
        st = memory_store(opts.pop("name"))
        extra = set(opts) - {"read_only"}
        if extra:
            raise TypeError(f"memory:// takes no options, got {sorted(extra)}")
        if opts.get("read_only") and hasattr(st, "with_read_only"):
            st = st.with_read_only(True)
        return st, node
    if backend == "mock":
        from zarrfast.storage.mock import MockStore

        name = opts.pop("name")
        ro = opts.pop("read_only", False)
        return MockStore(memory_store(name), read_only=ro, **opts), node
    if backend not in SCHEMES.values():
        cls, _ = get_backend(backend)
        from_url = getattr(cls, "from_url", None)
        if from_url is None:
            raise RegistryError(
                f"storage backend {backend!r} ({cls.__name__}) has no from_url() classmethod, "
                "so it cannot be opened from a URL; use storage=..."
            )
        opts.pop("url")
        return from_url(url, **opts), node
    return make_store(backend, **opts), node
