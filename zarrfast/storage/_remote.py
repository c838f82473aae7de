"""Machinery shared by the network backends (S3, GCS, Azure Blob, MongoDB GridFS).

* :class:`RetryPolicy` and :func:`backoff_delays`: exponential backoff with full jitter,
  bounded both in attempts and in total time.
* :class:`RemoteStore`: the :class:`~zarrfast.abc.store.Store` plumbing every remote
  backend shares: key prefixing, validation, one SDK client per store *per process*
  (rebuilt lazily after ``fork()`` or unpickling), a bounded thread pool that issues
  ``get_many``/``get_ranges``/``set_many``/``delete_many`` concurrently, the retry loop,
  error mapping into :mod:`zarrfast.errors`, and secret redaction.
* :func:`redact` / :func:`scrub_exception`: keep secrets out of messages and logs.

A backend subclass implements a handful of ``_op_*`` hooks, each doing exactly one
request with the SDK client, plus :meth:`RemoteStore._classify` (SDK exception ->
:class:`ErrorKind`).  The hooks never retry and never map errors themselves.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from zarrfast.abc.store import (
    Buffer,
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
    validate_key,
    validate_prefix,
)
from zarrfast.errors import (
    AccessDeniedError,
    AuthenticationError,
    BackendNotAvailableError,
    ContainerNotFoundError,
    NodeNotFoundError,
    StoreError,
    TransientStoreError,
)

__all__ = [
    "ErrorKind",
    "RemoteStore",
    "RetryPolicy",
    "backoff_delays",
    "import_sdk",
    "normalize_prefix",
    "redact",
    "scrub_exception",
    "to_bytes",
]

log = logging.getLogger("zarrfast.storage")
_T = TypeVar("_T")

#: Default number of requests a store keeps in flight (cloud latency is ~10-100 ms,
#: so tens of concurrent requests are needed to fill a network link).
DEFAULT_MAX_CONCURRENCY = 32


def import_sdk(module: str, extra: str) -> Any:
    """Import an optional SDK module or raise :class:`BackendNotAvailableError`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"this storage backend needs {module!r}, which is not installed; "
            f"pip install 'zarrfast[{extra}]'"
        ) from exc


# --------------------------------------------------------------------------- secrets
def _secret_forms(secret: str) -> set[str]:
    forms = {secret}
    forms.add(urllib.parse.quote(secret, safe=""))
    forms.add(urllib.parse.quote_plus(secret))
    forms.add(urllib.parse.quote(secret))
    return {f for f in forms if f}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (and its URL-encoded forms) replaced by ``***``."""
    for secret in secrets:
        if not secret or len(secret) < 4:  # too short to be a secret; avoid mangling text
            continue
        for form in sorted(_secret_forms(secret), key=len, reverse=True):
            text = text.replace(form, "***")
    return text


def scrub_exception(exc: BaseException, secrets: Sequence[str | None]) -> BaseException:
    """Redact secrets from an SDK exception in place (its ``args`` and ``message``).

    The SDK exception stays chained (``raise ... from exc``) so tracebacks keep the
    request id and status; only secret text is removed from it.
    """
    if not any(secrets):
        return exc
    try:
        exc.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in exc.args)
        for attr in ("message", "_message", "reason", "details"):
            value = getattr(exc, attr, None)
            if isinstance(value, str):
                setattr(exc, attr, redact(value, secrets))
    except Exception:  # pragma: no cover - exotic exception types with read-only attrs
        pass
    return exc


def redact_url_password(url: str) -> str:
    """A URL with its password (``user:password@``) replaced by ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------- retries
@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures (throttling, 5xx, timeouts, resets) are retried.

    Parameters
    ----------
    max_attempts : int
        Total tries per request, including the first.
    base_delay : float
        Seconds; the backoff cap doubles from this on each retry.
    max_delay : float
        Upper bound on one sleep, in seconds.
    max_time : float
        Upper bound on the time spent on one request including sleeps, in seconds;
        no retry is started after it.
    """

    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 5.0
    max_time: float = 120.0

    @classmethod
    def coerce(cls, value: RetryPolicy | dict[str, Any] | int | None) -> RetryPolicy:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, int):
            return cls(max_attempts=max(1, value))
        if isinstance(value, dict):
            return cls(**value)
        raise TypeError(f"expected retries= a RetryPolicy, dict or int, got {type(value).__name__}")


def backoff_delays(policy: RetryPolicy, rng: random.Random | None = None) -> Iterator[float]:
    """Sleep durations between attempts: "full jitter" exponential backoff.

    ``delay_n = uniform(0, min(max_delay, base_delay * 2**n))``: spreading retries
    uniformly keeps many clients that were throttled together from retrying together.
    """
    rand = rng.random if rng is not None else random.random
    for n in range(max(policy.max_attempts - 1, 0)):
        yield rand() * min(policy.max_delay, policy.base_delay * (2**n))


class ErrorKind(enum.Enum):
    """How an SDK exception is handled by :class:`RemoteStore`."""

    TRANSIENT = "transient"  # retry with backoff
    NOT_FOUND = "not_found"  # the object is missing (get -> None)
    RANGE = "range"  # byte range not satisfiable (HTTP 416): the object exists
    DENIED = "denied"  # AccessDeniedError
    AUTH = "auth"  # AuthenticationError
    CONTAINER = "container"  # bucket/container/database missing
    OTHER = "other"  # StoreError


def normalize_prefix(prefix: str | None) -> str:
    """``"a/b"`` for ``"/a/b/"``; validated like a key; ``""`` for the bucket root."""
    p = (prefix or "").strip("/")
    if p:
        validate_key(p)
    return p


def to_bytes(key: str, value: Buffer) -> bytes:
    """An immutable copy of a bytes-like ``value`` (``TypeError`` naming the key if not)."""
    if type(value) is bytes:
        return value
    obj: object = value  # untyped callers may pass a str, which is not bytes-like here
    if isinstance(obj, str):
        raise TypeError(f"expected a bytes-like value for key {key!r}, got str")
    try:
        return memoryview(value).cast("B").tobytes()
    except TypeError:
        raise TypeError(
            f"expected a bytes-like value for key {key!r}, got {type(value).__name__}"
        ) from None


@dataclass(frozen=True)
class HttpRange:
    """A byte request in HTTP terms; ``empty`` when no bytes can be asked for."""

    start: int | None  # None for a suffix request
    end: int | None  # inclusive; None for open-ended
    suffix: int | None = None
    empty: bool = False

    @classmethod
    def from_request(cls, req: ByteRequest) -> HttpRange:
        if isinstance(req, RangeByteRequest):
            if req.end == req.start:
                return cls(None, None, empty=True)
            return cls(req.start, req.end - 1)
        if isinstance(req, OffsetByteRequest):
            return cls(req.offset, None)
        if isinstance(req, SuffixByteRequest):
            if req.suffix == 0:
                return cls(None, None, empty=True)
            return cls(None, None, suffix=req.suffix)
        raise TypeError(f"expected a ByteRequest, got {type(req).__name__}")

    def header(self) -> str:
        """The value of an HTTP ``Range`` header (``bytes=2-4``, ``bytes=7-``, ``bytes=-3``)."""
        if self.suffix is not None:
            return f"bytes=-{self.suffix}"
        return f"bytes={self.start}-{'' if self.end is None else self.end}"


# --------------------------------------------------------------------------- base store
class RemoteStore(Store):
    """Shared implementation of a store over a remote object service.

    Subclasses set :attr:`backend_name`, :attr:`secret_options` (constructor keywords
    holding secrets) and implement the ``_connect``, ``_classify`` and ``_op_*`` hooks.

    Parameters
    ----------
    prefix : str
        Key prefix inside the bucket/container; ``""`` for its root.
    read_only : bool
        Reject writes with :class:`~zarrfast.errors.ReadOnlyStoreError`.
    max_concurrency : int
        Requests kept in flight by the batch methods (one thread each).
    retries : RetryPolicy, dict or int
        Backoff policy for transient errors (an int is the attempt count).
    """

    supports_partial_reads: ClassVar[bool] = True
    #: Constructor keywords whose values are secrets (redacted everywhere).
    secret_options: ClassVar[tuple[str, ...]] = ()
    #: Human name of the container kind, for messages ("S3 bucket").
    container_kind: ClassVar[str] = "container"
    #: Largest number of keys removed by one batch delete request.
    delete_batch_size: ClassVar[int] = 1000

    def __init__(
        self,
        *,
        prefix: str = "",
        read_only: bool = False,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retries: RetryPolicy | dict[str, Any] | int | None = None,
    ) -> None:
        super().__init__(read_only=read_only)
        if int(max_concurrency) < 1:
            raise ValueError(f"expected max_concurrency >= 1, got {max_concurrency}")
        self._prefix = normalize_prefix(prefix)
        self._max_concurrency = int(max_concurrency)
        self._retry = RetryPolicy.coerce(retries)
        self._lock = threading.Lock()
        self._client: Any = None
        self._client_pid = -1
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = -1

    # ------------------------------------------------------------------ hooks
    def _connect(self) -> Any:
        """Build the SDK client (called once per process, lazily)."""
        raise NotImplementedError

    def _disconnect(self, client: Any) -> None:
        """Release the SDK client's connections."""

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        """Map an SDK exception to an :class:`ErrorKind` (``None``: not an SDK error)."""
        raise NotImplementedError

    def _container_name(self) -> str:
        raise NotImplementedError

    def _op_get(self, client: Any, path: str, rng: HttpRange | None) -> bytes | None:
        """One read; ``None`` if missing; a 416 may raise (classified RANGE)."""
        raise NotImplementedError

    def _op_put(self, client: Any, path: str, data: bytes) -> None:
        raise NotImplementedError

    def _op_delete(self, client: Any, path: str) -> None:
        """Delete one object; missing is not an error."""
        raise NotImplementedError

    def _op_delete_batch(self, client: Any, paths: list[str]) -> None:
        """Delete up to :attr:`delete_batch_size` objects; default: one by one."""
        for p in paths:
            self._op_delete(client, p)

    def _op_size(self, client: Any, path: str) -> int | None:
        """The object's size, or ``None`` if missing."""
        raise NotImplementedError

    def _op_list(self, client: Any, path_prefix: str) -> Iterator[tuple[str, int]]:
        """``(full object name, size)`` for every object starting with ``path_prefix``."""
        raise NotImplementedError

    def _op_list_dir(self, client: Any, dir_path: str) -> Iterator[str] | None:
        """Child names under ``dir_path`` (ending in ``/`` or ``""``) using a server-side
        delimiter listing, or ``None`` to fall back to a full listing."""
        return None

    def _secrets(self) -> list[str]:
        cfg = self._pickle_config()
        return [str(cfg[k]) for k in self.secret_options if cfg.get(k)]

    # ------------------------------------------------------------------ plumbing
    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def _path(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _path_prefix(self, prefix: str) -> str:
        if not self._prefix:
            return prefix
        return f"{self._prefix}/{prefix}"

    def _strip(self, path: str) -> str:
        return path[len(self._prefix) + 1 :] if self._prefix else path

    def _get_client(self) -> Any:
        pid = os.getpid()
        client = self._client
        if client is not None and self._client_pid == pid:
            return client
        with self._lock:
            if self._client is None or self._client_pid != pid:
                # After fork the parent's client (sockets, locks) must not be reused.
                self._client = self._call_mapped(self._connect, "connect", None)
                self._client_pid = pid
            return self._client

    def _get_pool(self) -> ThreadPoolExecutor:
        pid = os.getpid()
        pool = self._pool
        if pool is not None and self._pool_pid == pid:
            return pool
        with self._lock:
            if self._pool is None or self._pool_pid != pid:
                self._pool = ThreadPoolExecutor(
                    self._max_concurrency, thread_name_prefix=f"zarrfast-{self.backend_name}"
                )
                self._pool_pid = pid
            return self._pool

    def _map(self, fn: Callable[[Any], _T], jobs: Sequence[Any]) -> list[_T]:
        """``[fn(j) for j in jobs]`` with up to ``max_concurrency`` in flight."""
        if len(jobs) <= 1 or self._max_concurrency == 1:
            return [fn(j) for j in jobs]
        return list(self._get_pool().map(fn, jobs))

    def _call_mapped(self, fn: Callable[[], _T], what: str, key: str | None) -> _T:
        try:
            return fn()
        except StoreError:
            raise
        except Exception as exc:
            kind = self._classify(exc)
            if kind is None:
                raise
            raise self._mapped_error(exc, kind, what, key) from scrub_exception(
                exc, self._secrets()
            )

    def _retrying(self, what: str, key: str | None, fn: Callable[[Any], _T]) -> _T:
        """Run ``fn(client)``; retry transient failures; map the others.

        Errors of kind NOT_FOUND/RANGE are re-raised unchanged for the caller to handle.
        """
        deadline = time.monotonic() + self._retry.max_time
        delays = backoff_delays(self._retry)
        attempt = 0
        while True:
            attempt += 1
            client = self._get_client()
            try:
                return fn(client)
            except StoreError:
                raise
            except Exception as exc:
                kind = self._classify(exc)
                if kind is None:
                    raise
                if kind in (ErrorKind.NOT_FOUND, ErrorKind.RANGE):
                    if what in ("get", "head"):
                        raise  # the caller turns these into None / b""
                    # a 404 on a write or a listing can only mean the container is missing
                    kind = ErrorKind.CONTAINER
                if kind is ErrorKind.TRANSIENT:
                    delay = next(delays, None)
                    if delay is not None and time.monotonic() + delay < deadline:
                        log.debug(
                            "%s: retrying %s of %r after %s (attempt %d, sleeping %.3fs)",
                            self,
                            what,
                            key,
                            type(exc).__name__,
                            attempt,
                            delay,
                        )
                        time.sleep(delay)
                        continue
                raise self._mapped_error(exc, kind, what, key, attempt) from scrub_exception(
                    exc, self._secrets()
                )

    def _mapped_error(
        self, exc: BaseException, kind: ErrorKind, what: str, key: str | None, attempts: int = 1
    ) -> StoreError:
        detail = redact(f"{type(exc).__name__}: {exc}", self._secrets())
        if len(detail) > 400:
            detail = detail[:400] + "..."
        where = f" key {key!r}" if key is not None else ""
        if kind is ErrorKind.TRANSIENT:
            return TransientStoreError(
                f"{what}{where} in {self!r} still failing after {attempts} attempts "
                f"(retries: {self._retry}): {detail}"
            )
        if kind is ErrorKind.DENIED:
            return AccessDeniedError(f"access denied to {what}{where} in {self!r}: {detail}")
        if kind is ErrorKind.AUTH:
            return AuthenticationError(
                f"credentials rejected for {what}{where} in {self!r} (missing, invalid or "
                f"expired): {detail}"
            )
        if kind is ErrorKind.CONTAINER:
            return ContainerNotFoundError(
                f"{self.container_kind} {self._container_name()!r} does not exist "
                f"({what}{where} in {self!r}): {detail}"
            )
        return StoreError(f"{what}{where} failed in {self!r}: {detail}")

    # ------------------------------------------------------------------ reads
    def _read(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        path = self._path(key)
        if byte_range is None:
            rng = None
        else:
            rng = HttpRange.from_request(byte_range)
            if rng.empty:
                return b"" if self._exists(key) else None

        def op(client: Any) -> bytes | None:
            return self._op_get(client, path, rng)

        try:
            return self._retrying("get", key, op)
        except Exception as exc:
            kind = self._classify(exc) if not isinstance(exc, StoreError) else None
            if kind is ErrorKind.NOT_FOUND:
                return None
            if kind is ErrorKind.RANGE:  # 416: the object exists, the range is past its end
                return b""
            raise

    def _exists(self, key: str) -> bool:
        return self._size(key) is not None

    def _size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            return self._retrying("head", key, lambda c: self._op_size(c, path))
        except StoreError:
            raise
        except Exception as exc:
            if self._classify(exc) is ErrorKind.NOT_FOUND:
                return None
            raise

    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        """The value at ``key`` (or a byte range of it, fetched with a Range request)."""
        validate_key(key)
        self._check_open()
        return self._read(key, byte_range)

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        """Values for ``keys``, fetched concurrently (``max_concurrency`` in flight)."""
        keys = list(keys)
        for k in keys:
            validate_key(k)
        self._check_open()
        return self._map(lambda k: self._read(k, None), keys)

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        """Byte ranges of several keys, fetched concurrently (one Range request each)."""
        requests = list(requests)
        for k, _ in requests:
            validate_key(k)
        self._check_open()
        return self._map(lambda kr: self._read(kr[0], kr[1]), requests)

    def exists(self, key: str) -> bool:
        validate_key(key)
        self._check_open()
        return self._exists(key)

    def getsize(self, key: str) -> int:
        validate_key(key)
        self._check_open()
        size = self._size(key)
        if size is None:
            raise NodeNotFoundError(f"no value at key {key!r} in {self!r}")
        return size

    # ------------------------------------------------------------------ writes
    def set(self, key: str, value: Buffer) -> None:
        validate_key(key)
        self._check_writable()
        data = to_bytes(key, value)
        path = self._path(key)
        self._retrying("put", key, lambda c: self._op_put(c, path, data))

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        """Upload several values concurrently; every key and value is checked first."""
        self._check_writable()
        staged = [(validate_key(k), to_bytes(k, v)) for k, v in items]

        def put(kv: tuple[str, bytes]) -> None:
            path = self._path(kv[0])
            self._retrying("put", kv[0], lambda c: self._op_put(c, path, kv[1]))

        self._map(put, staged)

    def delete(self, key: str) -> None:
        validate_key(key)
        self._check_writable()
        path = self._path(key)
        self._retrying("delete", key, lambda c: self._op_delete(c, path))

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete keys in batches of :attr:`delete_batch_size`, batches concurrently."""
        self._check_writable()
        paths = list(dict.fromkeys(self._path(validate_key(k)) for k in keys))
        self._delete_paths(paths)

    def _delete_paths(self, paths: list[str]) -> None:
        n = self.delete_batch_size
        batches = [paths[i : i + n] for i in range(0, len(paths), n)]

        def run(batch: list[str]) -> None:
            self._retrying(
                "delete",
                batch[0] if len(batch) == 1 else f"{len(batch)} keys",
                lambda c: self._op_delete_batch(c, batch),
            )

        self._map(run, batches)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix`` (listed, then removed in batches)."""
        validate_prefix(prefix)
        self._check_writable()
        paths = [p for p, _ in self._list(prefix)]
        self._delete_paths(paths)
        return len(paths)

    # ------------------------------------------------------------------ listing
    def _list(self, prefix: str) -> list[tuple[str, int]]:
        path_prefix = (
            self._path_prefix(prefix) if prefix else (f"{self._prefix}/" if self._prefix else "")
        )
        return self._retrying(
            "list", prefix or "<root>", lambda c: list(self._op_list(c, path_prefix))
        )

    def list_prefix(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        self._check_open()
        return iter([self._strip(p) for p, _ in self._list(prefix)])

    def list_dir(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        self._check_open()
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        dir_path = (
            self._path_prefix(prefix) if prefix else (f"{self._prefix}/" if self._prefix else "")
        )

        def by_delimiter(client: Any) -> list[str] | None:
            found = self._op_list_dir(client, dir_path)
            return None if found is None else list(found)

        children = self._retrying("list_dir", prefix or "<root>", by_delimiter)
        if children is None:
            n = len(dir_path)
            listed = self._retrying(
                "list_dir", prefix or "<root>", lambda c: list(self._op_list(c, dir_path))
            )
            children = [p[n:].partition("/")[0] for p, _ in listed]
        return iter([c for c in dict.fromkeys(children) if c])

    def getsize_prefix(self, prefix: str) -> int:
        """Total size under ``prefix`` from one listing (no per-key requests)."""
        validate_prefix(prefix)
        self._check_open()
        return sum(size for _, size in self._list(prefix))

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            client, self._client = self._client, None
            mine = self._client_pid == os.getpid()
        if pool is not None:
            pool.shutdown(wait=True)
        if client is not None and mine:
            with contextlib.suppress(Exception):  # closing is best effort
                self._disconnect(client)
        super().close()

    def __del__(self) -> None:
        # Stores made implicitly (``with_read_only``, ``storage=`` in the API) are never
        # closed by the user: release their threads and connections when collected.
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
        client = getattr(self, "_client", None)
        if client is not None and getattr(self, "_client_pid", -1) == os.getpid():
            self._client = None
            with contextlib.suppress(Exception):
                self._disconnect(client)

    def with_read_only(self, read_only: bool = True) -> RemoteStore:
        """The same store configuration opened read-only (or writable)."""
        return type(self)(**{**self._pickle_config(), "read_only": read_only})

    def __hash__(self) -> int:
        return hash(
            (
                type(self),
                tuple(sorted((k, repr(v)) for k, v in self._repr_fields().items())),
                self._read_only,
            )
        )
