"""Fault-injection helpers for testing code built on zarrfast.

* :class:`~zarrfast.storage.mock.MockStore` / :func:`faulty` - a store that fails, stalls
  and tears writes on demand (seeded, replayable);
* :func:`corruptions` - deterministic hostile variants of an encoded chunk (truncated,
  bit-flipped, extended, zeroed, random) for decoder robustness tests;
* :func:`corrupt_key` - damage one stored value in place;
* :func:`assert_raises_cleanly` - the "no crash, only our exceptions" contract.

Example::

    from zarrfast.testing.faults import faulty, corruptions, assert_raises_cleanly

    store = faulty(error_rate=0.1, fail_on=("set",), seed=3, retries=8)
    arr = zarrfast.create((1000,), chunks=(10,), store=store)
    arr[:] = data                      # lands despite the injected failures

    for name, blob in corruptions(encoded_chunk, seed=0):
        assert_raises_cleanly(codec.decode, blob, spec)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from zarrfast.abc.store import Store
from zarrfast.errors import ZarrfastError
from zarrfast.storage.mock import Call, MockStore

__all__ = [
    "Call",
    "MockStore",
    "assert_raises_cleanly",
    "corrupt_key",
    "corruptions",
    "faulty",
    "flip_bits",
]


def faulty(inner: Store | None = None, *, retries: int | None = None, **faults: Any) -> Store:
    """``MockStore(inner, **faults)``, wrapped in a RetryingStore if ``retries`` is given.

    With ``retries`` the default backoff is zero (tests should not sleep); pass
    ``backoff=(base, max)`` for realistic timing.
    """
    if retries is not None:
        faults.setdefault("backoff", (0.0, 0.0))
    return MockStore(inner, retries=retries, **faults)


def flip_bits(data: bytes, positions: list[int]) -> bytes:
    """``data`` with the bits at ``positions`` (bit indices, modulo the length) inverted."""
    buf = bytearray(data)
    if not buf:
        return bytes(buf)
    nbits = len(buf) * 8
    for p in positions:
        p %= nbits
        buf[p // 8] ^= 1 << (p % 8)
    return bytes(buf)


def corruptions(data: bytes, *, seed: int = 0, count: int = 8) -> Iterator[tuple[str, bytes]]:
    """Hostile variants of ``data``: ``(description, blob)`` pairs, deterministic per seed.

    Truncations (every length for short inputs, a sample otherwise), single and multiple
    bit flips, trailing garbage, an all-zero and an all-0xFF body of the same length, a
    header-only blob and random bytes of the same length.
    """
    rng = random.Random(seed)
    n = len(data)
    cuts = (
        range(n)
        if n <= 64
        else sorted(
            {0, 1, 2, 3, 4, n // 2, n - 4, n - 1, *(rng.randrange(n) for _ in range(count))}
        )
    )
    for c in cuts:
        yield f"truncated to {c} of {n} bytes", data[:c]
    for _ in range(count if n else 0):
        p = rng.randrange(n * 8)
        yield f"bit {p} flipped", flip_bits(data, [p])
    for _ in range(count // 2 if n else 0):
        ps = [rng.randrange(n * 8) for _ in range(rng.randint(2, 16))]
        yield f"{len(ps)} bits flipped", flip_bits(data, ps)
    yield "trailing garbage", data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    yield "all zero", bytes(n)
    yield "all 0xff", b"\xff" * n
    yield "header only", data[:16]
    yield "random bytes", bytes(rng.randrange(256) for _ in range(n))


def corrupt_key(store: Store, key: str, *, how: str = "flip", seed: int = 0) -> bytes:
    """Damage the value at ``key`` in place and return the new bytes.

    ``how``: ``"flip"`` (one random bit), ``"truncate"`` (keep a random prefix),
    ``"zero"`` (same length, all zero) or ``"garbage"`` (append random bytes).
    """
    old = store.get(key)
    if old is None:
        raise KeyError(f"no value at key {key!r} to corrupt")
    data = memoryview(old).tobytes()
    rng = random.Random(seed)
    if how == "flip":
        new = flip_bits(data, [rng.randrange(max(1, len(data)) * 8)])
    elif how == "truncate":
        new = data[: rng.randrange(max(1, len(data)))]
    elif how == "zero":
        new = bytes(len(data))
    elif how == "garbage":
        new = data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:
        raise ValueError(f"expected how in flip/truncate/zero/garbage, got {how!r}")
    store.set(key, new)
    return new


def assert_raises_cleanly(
    fn: Callable[..., Any],
    *args: Any,
    allowed: tuple[type[BaseException], ...] = (ZarrfastError,),
    **kwargs: Any,
) -> Any:
    """Call ``fn``; pass if it returns or raises one of ``allowed`` (default: any zarrfast
    error).  Anything else (``IndexError`` from a parser, ``struct.error``, ``MemoryError``,
    a bare ``ValueError``) fails with an ``AssertionError`` naming it.  Returns ``fn``'s
    result, or the exception it raised.
    """
    try:
        return fn(*args, **kwargs)
    except allowed as exc:
        return exc
    except Exception as exc:
        raise AssertionError(
            f"{getattr(fn, '__qualname__', fn)} raised {type(exc).__module__}."
            f"{type(exc).__qualname__}: {exc}; expected success or one of "
            f"{[a.__name__ for a in allowed]}"
        ) from exc
