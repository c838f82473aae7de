"""A store wrapper that retries transient failures with capped, jittered backoff."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar

from zarrfast.abc.store import Buffer, ByteRequest, Store, validate_key
from zarrfast.errors import TransientStoreError

__all__ = ["RetryingStore"]

_T = TypeVar("_T")
_FLAGS = (
    "supports_writes",
    "supports_deletes",
    "supports_listing",
    "supports_partial_reads",
    "supports_transactions",
)


class RetryingStore(Store):
    """Retry every operation of ``inner`` that fails with one of ``retry_on``.

    Parameters
    ----------
    inner : Store
        The store to wrap (closed with this one).
    retries : int, default 5
        Extra attempts after the first (``0``: no retries, a thin pass-through).
    backoff : (float, float), default (0.05, 2.0)
        ``(base, max)`` seconds: before retry *n* it sleeps a uniformly random time in
        ``[0, min(max, base * 2**n)]`` ("full jitter").
    total_timeout : float, optional
        Give up (re-raising the last error) rather than sleep past this many seconds
        since the operation started.
    retry_on : exception class or tuple of exception classes, default (TransientStoreError,)
        What counts as transient.  Anything else propagates at once.
    seed : int, optional
        Seeds the jitter (for reproducible tests).

    Notes
    -----
    Every store operation is idempotent (``set`` replaces the whole value), so a retried
    call cannot duplicate anything.  ``set_many``, ``delete_many`` and ``get_many`` retry
    only the keys listed in the exception's ``failed_keys`` attribute when the inner store
    provides one (``MockStore`` does), else the whole batch.  Listing results are
    materialised inside the retry so a failure half-way through iteration is retried
    too.  Transactions are not retried (the caller owns their scope).  When retries are
    exhausted the last exception is raised unchanged, with a note saying how many
    attempts were made.
    """

    backend_name: ClassVar[str] = "retrying"

    def __init__(
        self,
        inner: Store,
        *,
        retries: int = 5,
        backoff: tuple[float, float] = (0.05, 2.0),
        total_timeout: float | None = None,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = (TransientStoreError,),
        seed: int | None = None,
        read_only: bool = False,
    ) -> None:
        if not isinstance(inner, Store):
            raise TypeError(f"expected inner to be a zarrfast Store, got {type(inner).__name__}")
        if int(retries) < 0:
            raise ValueError(f"expected retries >= 0, got {retries}")
        base, cap = (float(b) for b in backoff)
        if base < 0 or cap < 0:
            raise ValueError(f"expected non-negative backoff (base, max), got {backoff!r}")
        if isinstance(retry_on, type):
            retry_on = (retry_on,)
        super().__init__(read_only=read_only or inner.read_only)
        self.inner = inner
        self.retries = int(retries)
        self.backoff = (base, cap)
        self.total_timeout = total_timeout
        self.retry_on = tuple(retry_on)
        self.seed = seed
        self._rng = random.Random(seed)
        #: Number of retries performed so far (for tests and monitoring).
        self.retry_count = 0
        for flag in _FLAGS:
            setattr(self, flag, bool(getattr(inner, flag)))

    # ------------------------------------------------------------------ engine
    def _delay(self, attempt: int) -> float:
        base, cap = self.backoff
        return self._rng.uniform(0.0, min(cap, base * (2.0**attempt)))

    def _call(self, fn: Callable[[], _T], what: str) -> _T:
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                return fn()
            except self.retry_on as exc:
                if not self._may_retry(exc, attempt, start, what):
                    raise
                attempt += 1

    def _may_retry(self, exc: BaseException, attempt: int, start: float, what: str) -> bool:
        """Sleep before the next attempt and return True, or annotate ``exc`` and return False."""
        if attempt >= self.retries:
            _note(exc, f"RetryingStore: {what} gave up after {attempt + 1} attempts")
            return False
        delay = self._delay(attempt)
        if self.total_timeout is not None and time.monotonic() - start + delay > self.total_timeout:
            _note(
                exc,
                f"RetryingStore: {what} gave up after {attempt + 1} attempts "
                f"(total_timeout={self.total_timeout}s)",
            )
            return False
        self.retry_count += 1
        if delay > 0:
            time.sleep(delay)
        return True

    # ------------------------------------------------------------------ required
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        self._check_open()
        return self._call(lambda: self.inner.get(key, byte_range), f"get {key!r}")

    def set(self, key: str, value: Buffer) -> None:
        self._check_writable()
        self._call(lambda: self.inner.set(key, value), f"set {key!r}")

    def delete(self, key: str) -> None:
        self._check_writable()
        self._call(lambda: self.inner.delete(key), f"delete {key!r}")

    def exists(self, key: str) -> bool:
        self._check_open()
        return self._call(lambda: self.inner.exists(key), f"exists {key!r}")

    def list_prefix(self, prefix: str) -> Iterator[str]:
        self._check_open()
        return iter(self._call(lambda: list(self.inner.list_prefix(prefix)), f"list {prefix!r}"))

    def list_dir(self, prefix: str) -> Iterator[str]:
        self._check_open()
        return iter(self._call(lambda: list(self.inner.list_dir(prefix)), f"list {prefix!r}"))

    def getsize(self, key: str) -> int:
        self._check_open()
        return self._call(lambda: self.inner.getsize(key), f"getsize {key!r}")

    def getsize_prefix(self, prefix: str) -> int:
        self._check_open()
        return self._call(lambda: self.inner.getsize_prefix(prefix), f"getsize {prefix!r}")

    # ------------------------------------------------------------------ batch
    def _batch_read(
        self,
        requests: list[tuple[str, ByteRequest | None]],
        read: Callable[[list[tuple[str, ByteRequest | None]]], list[Buffer | None]],
        what: str,
    ) -> list[Buffer | None]:
        """Read a batch; after a partial failure re-read only the failed entries."""
        start = time.monotonic()
        attempt = 0
        out: list[Buffer | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        while True:
            try:
                values = read([requests[i] for i in pending])
            except self.retry_on as exc:
                if not self._may_retry(exc, attempt, start, f"{what} of {len(pending)} keys"):
                    raise
                attempt += 1
                failed = getattr(exc, "failed_indices", None)
                partial = getattr(exc, "partial_values", None)
                if failed is not None and partial is not None and len(partial) == len(pending):
                    bad = set(failed)
                    for j, i in enumerate(pending):
                        if j not in bad:
                            out[i] = partial[j]
                    pending = [i for j, i in enumerate(pending) if j in bad]
                continue
            for i, v in zip(pending, values):
                out[i] = v
            return out

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        self._check_open()
        return self._batch_read(
            [(k, None) for k in keys],
            lambda reqs: self.inner.get_many([k for k, _ in reqs]),
            "get_many",
        )

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        self._check_open()
        return self._batch_read(list(requests), self.inner.get_ranges, "get_ranges")

    @contextlib.contextmanager
    def borrow_many(self, keys: Sequence[str]) -> Iterator[list[Buffer | None]]:
        """Zero-copy borrow from ``inner``; after a transient failure, retried copies."""
        self._check_open()
        keys = list(keys)
        with contextlib.ExitStack() as stack:
            try:
                values = stack.enter_context(self.inner.borrow_many(keys))
            except self.retry_on:
                self.retry_count += 1
                values = self.get_many(keys)
            yield values

    def _batch(
        self,
        op: Callable[[list[Any]], None],
        items: list[Any],
        key_of: Callable[[Any], str],
        what: str,
    ) -> None:
        """Run ``op(items)``; on a transient failure retry the failed keys (or all)."""
        start = time.monotonic()
        attempt = 0
        pending = items
        while pending:
            try:
                op(pending)
                return
            except self.retry_on as exc:
                if not self._may_retry(exc, attempt, start, f"{what} of {len(pending)} keys"):
                    raise
                attempt += 1
                failed = getattr(exc, "failed_keys", None)
                if failed is not None and not self.inner.supports_transactions:
                    wanted = set(failed)
                    pending = [it for it in pending if key_of(it) in wanted]

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        self._check_writable()
        staged = [(validate_key(k), v) for k, v in items]
        self._batch(self.inner.set_many, staged, lambda it: it[0], "set_many")

    def delete_many(self, keys: Iterable[str]) -> None:
        self._check_writable()
        staged = [validate_key(k) for k in keys]
        self._batch(self.inner.delete_many, staged, lambda k: k, "delete_many")

    def delete_prefix(self, prefix: str) -> int:
        self._check_writable()
        keys = list(self.list_prefix(prefix))
        self.delete_many(keys)
        return len(keys)

    def transaction(self) -> contextlib.AbstractContextManager[Any]:
        """The inner store's transaction; not retried (a failure rolls it back)."""
        self._check_writable()
        return self.inner.transaction()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        if not self._closed:
            self.inner.close()
        super().close()

    def _pickle_config(self) -> dict[str, Any]:
        return {
            "inner": self.inner,
            "retries": self.retries,
            "backoff": self.backoff,
            "total_timeout": self.total_timeout,
            "retry_on": self.retry_on,
            "seed": self.seed,
            "read_only": self._read_only,
        }

    def _repr_fields(self) -> dict[str, Any]:
        return {"inner": self.inner, "retries": self.retries}

    def __hash__(self) -> int:
        return hash((type(self), self._read_only))


def _note(exc: BaseException, text: str) -> None:
    add = getattr(exc, "add_note", None)
    if add is not None:
        add(text)
