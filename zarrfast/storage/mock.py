"""A fault-injecting store for testing code that must survive a misbehaving backend.

:class:`MockStore` wraps any store (a fresh :class:`~zarrfast.storage.memory.MemoryStore`
by default) and, per operation, injects errors, latency and torn writes, while recording
every call it saw.  Everything is seeded: the fault decision for the *k*-th attempt of an
operation on a key depends only on ``(seed, op, key, k)``, so a failing run replays
exactly, even when threads interleave differently (``error_mode="nth"`` is the one mode
that counts calls globally and therefore depends on call order).

Use it as ``storage="mock"``::

    arr = zarrfast.create((100, 100), chunks=(10, 10), storage="mock",
                          error_rate=0.2, fail_on=("set",), seed=7, retries=5)

or wrap a store of your own::

    mock = MockStore(LocalStore(tmp), error_mode="nth", fail_nth=3, fail_on=("set",))
    arr = zarrfast.create((100,), chunks=(10,), store=RetryingStore(mock))
    assert mock.counts["set"] == ...
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from zarrfast.abc.store import Buffer, ByteRequest, Store, validate_key, validate_prefix
from zarrfast.errors import TransientStoreError

__all__ = ["ERROR_MODES", "OPS", "Call", "MockStore"]

#: Operation names accepted by ``fail_on``.  Batch methods count per key under the
#: single-key name (``get_many``/``get_ranges``/``borrow_many`` -> ``"get"``,
#: ``set_many`` -> ``"set"``, ``delete_many``/``delete_prefix`` -> ``"delete"``);
#: ``list_prefix``/``list_dir`` are ``"list"``.
OPS: tuple[str, ...] = ("get", "set", "delete", "exists", "list", "getsize")
ERROR_MODES: tuple[str, ...] = ("never", "always", "probability", "nth")
_FLAGS = (
    "supports_writes",
    "supports_deletes",
    "supports_listing",
    "supports_partial_reads",
    "supports_transactions",
)


@dataclass(frozen=True)
class Call:
    """One operation seen by a :class:`MockStore` (one per key for batch methods).

    ``outcome`` is ``"ok"``, ``"error"`` (nothing happened) or ``"torn"`` (a prefix of
    the value was stored, then the call failed).  ``nbytes`` is the size of the value
    written, or read (0 for a missing key), or ``None`` where no value is involved.
    """

    op: str
    key: str
    nbytes: int | None
    outcome: str
    batch: bool = False


def _nbytes(value: Any) -> int | None:
    try:
        return memoryview(value).nbytes
    except TypeError:
        return None


class MockStore(Store):
    """Wrap ``inner`` and inject faults per operation.

    Parameters
    ----------
    inner : Store, optional
        The store that really holds the data (default: a new MemoryStore).  It is closed
        with the mock.
    error_mode : {"never", "always", "probability", "nth"}, optional
        When to fail an operation listed in ``fail_on``.  Default: ``"probability"`` if
        ``error_rate > 0``, ``"nth"`` if ``fail_nth`` is given, else ``"never"``.
    fail_on : collection of str
        Operations that may fail (see :data:`OPS`); default all of them.
    error_rate : float
        Failure probability per operation and key in ``"probability"`` mode.
    fail_nth : int or collection of int, optional
        In ``"nth"`` mode, the 1-based numbers of the faultable calls that fail,
        counted over every operation in ``fail_on`` (each key of a batch counts once).
    error : exception class or callable, default TransientStoreError
        Called with a message to build each injected exception.  Keep it inside the
        zarrfast hierarchy (what real backends raise) unless you are testing SDK leaks.
    latency : float, tuple or callable, default 0
        Seconds slept before each call: a number, ``("uniform", lo, hi)``,
        ``("exponential", mean)``, ``("normal", mean, sd)`` (clamped at 0), or
        ``f(rng) -> seconds``.
    torn_writes : float
        Probability that a ``set`` (per key) stores only a random prefix of the value and
        then raises.  Not applied when the inner store is transactional (its batches
        are all-or-nothing).
    seed : int
        Seeds every random choice (see the module docstring).
    record : bool
        Keep the :attr:`calls` log (the :attr:`counts` are always kept).
    read_only : bool
        Refuse writes (also true when ``inner`` is read-only).
    retries, backoff, total_timeout
        If ``retries`` is given, the constructor returns
        ``RetryingStore(MockStore(...), retries=..., backoff=..., total_timeout=...)``
        so that ``storage="mock", retries=5`` works from ``create``/``open``.

    Notes
    -----
    An injected failure in a batch call (``get_many``, ``set_many``, ``delete_many``)
    raises one exception after the healthy keys were processed; it carries
    ``failed_keys`` (list of keys that failed or were torn) so that
    :class:`~zarrfast.storage.retrying.RetryingStore` retries only those.  With a
    transactional inner store a failing ``set_many`` writes nothing.
    """

    backend_name: ClassVar[str] = "mock"

    def __new__(
        cls,
        *args: Any,
        retries: int | None = None,
        backoff: Any = None,
        total_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        if retries is None:
            return super().__new__(cls)
        from zarrfast.storage.retrying import RetryingStore

        mock = cls(*args, **kwargs)
        opts: dict[str, Any] = {"retries": retries, "total_timeout": total_timeout}
        if backoff is not None:
            opts["backoff"] = backoff
        return RetryingStore(mock, **opts)

    def __init__(
        self,
        inner: Store | None = None,
        *,
        error_mode: str | None = None,
        fail_on: Collection[str] = OPS,
        error_rate: float = 0.0,
        fail_nth: int | Collection[int] | None = None,
        error: type[BaseException] | Callable[[str], BaseException] = TransientStoreError,
        latency: Any = 0,
        torn_writes: float = 0.0,
        seed: int = 0,
        record: bool = True,
        read_only: bool = False,
        retries: int | None = None,  # consumed by __new__
        backoff: Any = None,  # consumed by __new__
        total_timeout: float | None = None,  # consumed by __new__
    ) -> None:
        if inner is None:
            from zarrfast.storage.memory import MemoryStore

            inner = MemoryStore()
        if not isinstance(inner, Store):
            raise TypeError(f"expected inner to be a zarrfast Store, got {type(inner).__name__}")
        super().__init__(read_only=read_only or inner.read_only)
        if isinstance(fail_on, str):
            fail_on = (fail_on,)
        unknown = sorted(set(fail_on) - set(OPS))
        if unknown:
            raise ValueError(f"expected fail_on operations from {list(OPS)}, got {unknown}")
        if not 0.0 <= float(error_rate) <= 1.0 or not 0.0 <= float(torn_writes) <= 1.0:
            raise ValueError(
                f"expected error_rate and torn_writes in [0, 1], got {error_rate}, {torn_writes}"
            )
        if error_mode is None:
            error_mode = (
                "probability" if error_rate else ("nth" if fail_nth is not None else "never")
            )
        if error_mode not in ERROR_MODES:
            raise ValueError(f"expected error_mode in {list(ERROR_MODES)}, got {error_mode!r}")
        if error_mode == "nth" and fail_nth is None:
            raise ValueError("error_mode='nth' needs fail_nth=")
        if not callable(error):
            raise TypeError(f"expected an exception class or factory for error=, got {error!r}")
        self.inner = inner
        self.error_mode = error_mode
        self.fail_on = frozenset(fail_on)
        self.error_rate = float(error_rate)
        self.fail_nth: frozenset[int] = frozenset(
            ()
            if fail_nth is None
            else (fail_nth,)
            if isinstance(fail_nth, int)
            else (int(n) for n in fail_nth)
        )
        self.error = error
        self.latency = latency
        self._latency_fn = _latency_function(latency)
        self.torn_writes = float(torn_writes)
        self.seed = int(seed)
        self.record = bool(record)
        for flag in _FLAGS:
            # Instance attributes shadow the class defaults: the mock claims exactly what
            # the store it wraps can do.
            setattr(self, flag, bool(getattr(inner, flag)))
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        #: Calls per operation (each key of a batch counts once).
        self.counts: Counter[str] = Counter()
        #: Calls per outcome: ``"ok"``, ``"error"``, ``"torn"``.
        self.outcomes: Counter[str] = Counter()
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._faultable = 0
        self._latency_rng = random.Random(f"{self.seed}:latency")

    # ------------------------------------------------------------------ bookkeeping
    def reset(self) -> None:
        """Forget every recorded call, count and attempt number (the data stays)."""
        with self._lock:
            self.calls.clear()
            self.counts.clear()
            self.outcomes.clear()
            self._attempts.clear()
            self._faultable = 0
            self._latency_rng = random.Random(f"{self.seed}:latency")

    def replay(self, inner: Store | None = None) -> MockStore:
        """A new mock with the same faults and seed (over ``inner``, default a new memory store)."""
        return type(self)(inner, **self._fault_config())

    def keys(self, op: str, outcome: str | None = None) -> list[str]:
        """Keys of the recorded calls of ``op`` (optionally only with ``outcome``)."""
        with self._lock:
            return [
                c.key
                for c in self.calls
                if c.op == op and (outcome is None or c.outcome == outcome)
            ]

    @property
    def failures(self) -> int:
        """How many injected failures (errors and torn writes) so far."""
        return self.outcomes["error"] + self.outcomes["torn"]

    def nbytes(self, op: str) -> int:
        """Total bytes moved by successful ``op`` calls (``"get"`` or ``"set"``)."""
        with self._lock:
            return sum(c.nbytes or 0 for c in self.calls if c.op == op and c.outcome == "ok")

    def _log(
        self, op: str, key: str, nbytes: int | None, outcome: str, batch: bool = False
    ) -> None:
        with self._lock:
            self.counts[op] += 1
            self.outcomes[outcome] += 1
            if self.record:
                self.calls.append(Call(op, key, nbytes, outcome, batch))

    def _decide(self, op: str, key: str) -> tuple[bool, random.Random | None]:
        """(fail?, rng for this attempt) for one operation on one key."""
        with self._lock:
            attempt = self._attempts[(op, key)]
            self._attempts[(op, key)] = attempt + 1
            if op in self.fail_on:
                self._faultable += 1
                nth = self._faultable
            else:
                nth = 0
        if self.error_mode == "never" and not self.torn_writes:
            return False, None
        rng = random.Random(f"{self.seed}:{op}:{key}:{attempt}")
        if op not in self.fail_on:
            return False, rng
        mode = self.error_mode
        if mode == "always":
            return True, rng
        if mode == "probability":
            return rng.random() < self.error_rate, rng
        if mode == "nth":
            return nth in self.fail_nth, rng
        return False, rng

    def _make_error(self, message: str) -> BaseException:
        exc = self.error(message)
        if not isinstance(exc, BaseException):
            raise TypeError(f"error= factory returned {exc!r}, not an exception")
        return exc

    def _sleep(self) -> None:
        if self._latency_fn is not None:
            with self._lock:
                delay = self._latency_fn(self._latency_rng)
            if delay > 0:
                time.sleep(delay)

    def _gate(self, op: str, key: str) -> None:
        """Latency, then maybe fail, for a single-key call that moves no value."""
        self._sleep()
        fail, _ = self._decide(op, key)
        if fail:
            self._log(op, key, None, "error")
            raise self._make_error(
                f"injected {op} failure for key {key!r} (MockStore seed={self.seed})"
            )

    # ------------------------------------------------------------------ required
    def get(self, key: str, byte_range: ByteRequest | None = None) -> Buffer | None:
        validate_key(key)
        self._check_open()
        self._gate("get", key)
        value = self.inner.get(key, byte_range)
        self._log("get", key, 0 if value is None else _nbytes(value), "ok")
        return value

    def set(self, key: str, value: Buffer) -> None:
        validate_key(key)
        self._check_writable()
        n = _nbytes(value)
        if n is None:
            raise TypeError(
                f"expected a bytes-like value for key {key!r}, got {type(value).__name__}"
            )
        self._sleep()
        outcome = self._write_outcome(key)
        if outcome == "error":
            self._log("set", key, n, "error")
            raise self._make_error(
                f"injected set failure for key {key!r} (MockStore seed={self.seed})"
            )
        if outcome[0] == "torn":
            cut = int(outcome[1] * n)
            self.inner.set(key, memoryview(value).cast("B")[:cut].tobytes())
            self._log("set", key, cut, "torn")
            raise self._make_error(
                f"injected torn write for key {key!r}: stored {cut} of {n} bytes "
                f"(MockStore seed={self.seed})"
            )
        self.inner.set(key, value)
        self._log("set", key, n, "ok")

    def _write_outcome(self, key: str) -> Any:
        """``"ok"``, ``"error"`` or ``("torn", fraction of the value kept)`` for one write."""
        fail, rng = self._decide("set", key)
        if fail:
            return "error"
        if (
            rng is not None
            and self.torn_writes
            and "set" in self.fail_on
            and not self.supports_transactions
            and rng.random() < self.torn_writes
        ):
            return ("torn", rng.random())
        return "ok"

    def delete(self, key: str) -> None:
        validate_key(key)
        self._check_writable()
        self._gate("delete", key)
        self.inner.delete(key)
        self._log("delete", key, None, "ok")

    def exists(self, key: str) -> bool:
        validate_key(key)
        self._check_open()
        self._gate("exists", key)
        out = self.inner.exists(key)
        self._log("exists", key, None, "ok")
        return out

    def list_prefix(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        self._check_open()
        self._gate("list", prefix)
        out = list(self.inner.list_prefix(prefix))
        self._log("list", prefix, None, "ok")
        return iter(out)

    def list_dir(self, prefix: str) -> Iterator[str]:
        validate_prefix(prefix)
        self._check_open()
        self._gate("list", prefix)
        out = list(self.inner.list_dir(prefix))
        self._log("list", prefix, None, "ok")
        return iter(out)

    def getsize(self, key: str) -> int:
        validate_key(key)
        self._check_open()
        self._gate("getsize", key)
        n = self.inner.getsize(key)
        self._log("getsize", key, n, "ok")
        return n

    # ------------------------------------------------------------------ batch
    def _read_faults(self, keys: Sequence[str]) -> list[int]:
        """Indices of the keys whose read fails this time (latency slept once per batch)."""
        self._check_open()
        self._sleep()
        return [i for i, k in enumerate(keys) if self._decide("get", k)[0]]

    def _batch_error(
        self, op: str, failed: list[str], total: int, detail: str = ""
    ) -> BaseException:
        shown = ", ".join(repr(k) for k in failed[:5]) + (" ..." if len(failed) > 5 else "")
        exc = self._make_error(
            f"injected {op} failure for {len(failed)} of {total} keys ({shown}){detail} "
            f"(MockStore seed={self.seed})"
        )
        with contextlib.suppress(AttributeError, TypeError):
            exc.failed_keys = list(failed)  # type: ignore[attr-defined]
        return exc

    def _batch_read(
        self,
        requests: list[tuple[str, ByteRequest | None]],
        read: Callable[[list[tuple[str, ByteRequest | None]]], list[Buffer | None]],
    ) -> list[Buffer | None]:
        keys = [k for k, _ in requests]
        failed = self._read_faults(keys)
        if not failed:
            values = read(requests)
            for k, v in zip(keys, values):
                self._log("get", k, 0 if v is None else _nbytes(v), "ok", batch=True)
            return values
        # The healthy part of the batch is read (as a real backend would have) and handed
        # back on the exception, so a retrying caller re-asks only for the failed keys.
        bad = set(failed)
        ok_idx = [i for i in range(len(requests)) if i not in bad]
        ok_vals = read([requests[i] for i in ok_idx]) if ok_idx else []
        partial: list[Buffer | None] = [None] * len(requests)
        for i, v in zip(ok_idx, ok_vals):
            partial[i] = v
        for i, k in enumerate(keys):
            v = partial[i]
            if i in bad:
                self._log("get", k, None, "error", batch=True)
            else:
                self._log("get", k, 0 if v is None else _nbytes(v), "ok", batch=True)
        exc = self._batch_error("get", [keys[i] for i in failed], len(keys))
        with contextlib.suppress(AttributeError, TypeError):
            exc.failed_indices = list(failed)  # type: ignore[attr-defined]
            exc.partial_values = partial  # type: ignore[attr-defined]
        raise exc

    def get_many(self, keys: Sequence[str]) -> list[Buffer | None]:
        keys = list(keys)
        for k in keys:
            validate_key(k)
        return self._batch_read(
            [(k, None) for k in keys], lambda reqs: self.inner.get_many([k for k, _ in reqs])
        )

    def get_ranges(self, requests: Sequence[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        requests = list(requests)
        for k, _ in requests:
            validate_key(k)
        return self._batch_read(requests, self.inner.get_ranges)

    @contextlib.contextmanager
    def borrow_many(self, keys: Sequence[str]) -> Iterator[list[Buffer | None]]:
        keys = list(keys)
        for k in keys:
            validate_key(k)
        failed = self._read_faults(keys)
        if failed:
            for i in failed:
                self._log("get", keys[i], None, "error", batch=True)
            raise self._batch_error("get", [keys[i] for i in failed], len(keys))
        with self.inner.borrow_many(keys) as values:
            for k, v in zip(keys, values):
                self._log("get", k, 0 if v is None else _nbytes(v), "ok", batch=True)
            yield values

    def set_many(self, items: Iterable[tuple[str, Buffer]]) -> None:
        self._check_writable()
        staged: list[tuple[str, Buffer, int]] = []
        for k, v in items:
            validate_key(k)
            n = _nbytes(v)
            if n is None:
                raise TypeError(
                    f"expected a bytes-like value for key {k!r}, got {type(v).__name__}"
                )
            staged.append((k, v, n))
        self._sleep()
        ok: list[tuple[str, Buffer]] = []
        failed: list[str] = []
        torn: list[tuple[str, bytes]] = []
        for k, v, n in staged:
            outcome = self._write_outcome(k)
            if outcome == "ok":
                ok.append((k, v))
            elif outcome == "error":
                failed.append(k)
            else:
                torn.append((k, memoryview(v).cast("B")[: int(outcome[1] * n)].tobytes()))
        if failed and self.supports_transactions:
            # All-or-nothing, as the wrapped store would be: nothing reaches it.
            for k, _, n in staged:
                self._log("set", k, n, "error" if k in failed else "ok", batch=True)
            raise self._batch_error("set", failed, len(staged), "; nothing was written")
        if ok or torn:
            self.inner.set_many([*ok, *torn])
        sizes = {k: n for k, _, n in staged}
        for k, _ in ok:
            self._log("set", k, sizes[k], "ok", batch=True)
        for k in failed:
            self._log("set", k, sizes[k], "error", batch=True)
        for k, part in torn:
            self._log("set", k, len(part), "torn", batch=True)
        if failed or torn:
            detail = f" ({len(torn)} torn)" if torn else ""
            raise self._batch_error("set", failed + [k for k, _ in torn], len(staged), detail)

    def delete_many(self, keys: Iterable[str]) -> None:
        self._check_writable()
        keys = [validate_key(k) for k in keys]
        self._sleep()
        failed = [k for k in keys if self._decide("delete", k)[0]]
        doomed = [k for k in keys if k not in set(failed)]
        if doomed:
            self.inner.delete_many(doomed)
        for k in keys:
            self._log("delete", k, None, "error" if k in failed else "ok", batch=True)
        if failed:
            raise self._batch_error("delete", failed, len(keys))

    def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix)
        self._check_writable()
        keys = list(self.inner.list_prefix(prefix))
        self.delete_many(keys)
        return len(keys)

    def getsize_prefix(self, prefix: str) -> int:
        validate_prefix(prefix)
        self._check_open()
        self._gate("getsize", prefix)
        return self.inner.getsize_prefix(prefix)

    def transaction(self) -> contextlib.AbstractContextManager[Any]:
        """The inner store's transaction (writes inside still pass through the mock)."""
        self._check_writable()
        return self.inner.transaction()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        if not self._closed:
            self.inner.close()
        super().close()

    def _fault_config(self) -> dict[str, Any]:
        return {
            "error_mode": self.error_mode,
            "fail_on": tuple(sorted(self.fail_on)),
            "error_rate": self.error_rate,
            "fail_nth": tuple(sorted(self.fail_nth)) if self.fail_nth else None,
            "error": self.error,
            "latency": self.latency,
            "torn_writes": self.torn_writes,
            "seed": self.seed,
            "record": self.record,
        }

    def _pickle_config(self) -> dict[str, Any]:
        return {"inner": self.inner, **self._fault_config(), "read_only": self._read_only}

    def _repr_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"inner": self.inner, "error_mode": self.error_mode}
        if self.error_mode == "probability":
            fields["error_rate"] = self.error_rate
        if self.error_mode == "nth":
            fields["fail_nth"] = sorted(self.fail_nth)
        if self.torn_writes:
            fields["torn_writes"] = self.torn_writes
        if self.latency:
            fields["latency"] = self.latency
        fields["seed"] = self.seed
        return fields

    def __hash__(self) -> int:
        return hash((type(self), self._read_only))


def _latency_function(latency: Any) -> Callable[[random.Random], float] | None:
    """Turn the ``latency=`` argument into ``f(rng) -> seconds`` (``None``: no latency)."""
    if callable(latency):
        return latency  # type: ignore[no-any-return]
    if isinstance(latency, (int, float)):
        if latency < 0 or math.isnan(latency):
            raise ValueError(f"expected latency >= 0 seconds, got {latency}")
        if latency == 0:
            return None
        value = float(latency)
        return lambda rng: value
    if isinstance(latency, (tuple, list)) and latency and isinstance(latency[0], str):
        dist, *params = latency
        try:
            if dist == "uniform":
                lo, hi = map(float, params)
                return lambda rng: rng.uniform(lo, hi)
            if dist == "exponential":
                (mean,) = map(float, params)
                return lambda rng: rng.expovariate(1.0 / mean) if mean > 0 else 0.0
            if dist == "normal":
                mu, sd = map(float, params)
                return lambda rng: max(0.0, rng.gauss(mu, sd))
        except ValueError:
            pass
    raise ValueError(
        "expected latency as seconds, ('uniform', lo, hi), ('exponential', mean), "
        f"('normal', mean, sd) or a callable, got {latency!r}"
    )
