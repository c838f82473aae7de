"""MockStore (fault injection) and RetryingStore: conformance with faults off, then each fault."""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.errors import (
    AccessDeniedError,
    DecodeError,
    InvalidKeyError,
    ReadOnlyStoreError,
    StoreError,
    TransientStoreError,
    ZarrfastError,
)
from zarrfast.storage import get_backend, make_store
from zarrfast.storage.lmdb import LMDBStore
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore
from zarrfast.storage.mock import MockStore
from zarrfast.storage.retrying import RetryingStore
from zarrfast.testing import StoreTests


class TestMockStoreNoFaults(StoreTests):
    persistent = False

    @pytest.fixture
    def store(self) -> Iterator[MockStore]:
        with MockStore() as s:
            yield s


class TestMockStoreOverLocal(StoreTests):
    persistent = True

    @pytest.fixture
    def store(self, tmp_path) -> Iterator[MockStore]:  # type: ignore[no-untyped-def]
        with MockStore(LocalStore(tmp_path / "root"), record=False) as s:
            yield s


class TestRetryingStoreNoFaults(StoreTests):
    persistent = False

    @pytest.fixture
    def store(self) -> Iterator[RetryingStore]:
        with RetryingStore(MockStore(), retries=3, backoff=(0, 0)) as s:
            yield s


class TestRetryingOverFaultyMock(StoreTests):
    """The whole conformance suite passes through a 20% read/write failure rate."""

    persistent = False
    large_value_nbytes = 200_000

    @pytest.fixture
    def store(self) -> Iterator[RetryingStore]:
        inner = MockStore(
            error_rate=0.2,
            fail_on=("get", "set", "delete", "exists", "list"),
            seed=11,
            record=False,
        )
        with RetryingStore(inner, retries=12, backoff=(0, 0)) as s:
            yield s


# ------------------------------------------------------------------ registry & flags
def test_registered_as_mock() -> None:
    cls, path_arg = get_backend("mock")
    assert cls is MockStore and path_arg is None
    assert isinstance(make_store("mock"), MockStore)


def test_forwards_capability_flags(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lm = LMDBStore(str(tmp_path / "db"))
    m = MockStore(lm)
    assert m.supports_transactions is True
    assert MockStore().supports_transactions is False
    ro = MockStore(MemoryStore(read_only=True))
    assert ro.read_only
    with pytest.raises(ReadOnlyStoreError):
        ro.set("a", b"x")
    m.close()
    assert lm.closed


def test_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="fail_on"):
        MockStore(fail_on=("gett",))
    with pytest.raises(ValueError, match="error_rate"):
        MockStore(error_rate=1.5)
    with pytest.raises(ValueError, match="error_mode"):
        MockStore(error_mode="sometimes")
    with pytest.raises(ValueError, match="fail_nth"):
        MockStore(error_mode="nth")
    with pytest.raises(ValueError, match="latency"):
        MockStore(latency=("gamma", 1))
    with pytest.raises(TypeError):
        MockStore(inner={"a": b"1"})  # type: ignore[arg-type]


# ------------------------------------------------------------------ error modes
def test_always_fails_only_listed_ops() -> None:
    m = MockStore(error_mode="always", fail_on=("set",))
    with pytest.raises(TransientStoreError, match="injected set failure for key 'k'"):
        m.set("k", b"v")
    assert m.get("k") is None
    assert not m.exists("k")
    assert m.counts["set"] == 1 and m.outcomes["error"] == 1
    assert m.calls[0].op == "set" and m.calls[0].outcome == "error" and m.calls[0].nbytes == 1


def test_errors_are_in_the_hierarchy_by_default() -> None:
    m = MockStore(error_mode="always")
    with pytest.raises(ZarrfastError):
        m.get("x")
    with pytest.raises(StoreError):
        m.list_prefix("")


def test_custom_error_class_and_factory() -> None:
    m = MockStore(error_mode="always", error=AccessDeniedError)
    with pytest.raises(AccessDeniedError):
        m.get("x")
    m = MockStore(error_mode="always", error=lambda msg: TransientStoreError("throttled: " + msg))
    with pytest.raises(TransientStoreError, match="throttled"):
        m.delete("x")


def test_nth_call_fails() -> None:
    m = MockStore(fail_nth=[3, 5], fail_on=("set",))
    outcomes = []
    for i in range(6):
        try:
            m.set(f"k{i}", b"v")
            outcomes.append("ok")
        except TransientStoreError:
            outcomes.append("err")
    assert outcomes == ["ok", "ok", "err", "ok", "err", "ok"]
    assert m.keys("set", "error") == ["k2", "k4"]
    m.reset()
    with pytest.raises(TransientStoreError):
        for i in range(3):
            m.set(f"again{i}", b"v")
    assert m.keys("set", "error") == ["again2"]


def test_probability_is_seeded_and_replays() -> None:
    def run(m: MockStore) -> list[str]:
        failed = []
        for i in range(300):
            try:
                m.set(f"c/{i}", b"x" * i)
            except TransientStoreError:
                failed.append(f"c/{i}")
        return failed

    a = run(MockStore(error_rate=0.3, seed=42))
    b = run(MockStore(error_rate=0.3, seed=42))
    c = run(MockStore(error_rate=0.3, seed=43))
    assert a == b and a != c
    assert 50 < len(a) < 130
    replayed = MockStore(error_rate=0.3, seed=42)
    assert run(replayed.replay()) == a


def test_decisions_do_not_depend_on_call_order() -> None:
    keys = [f"k{i}" for i in range(100)]

    def failing(order: list[str]) -> set[str]:
        m = MockStore(error_rate=0.5, fail_on=("get",), seed=5)
        out = set()
        for k in order:
            try:
                m.get(k)
            except TransientStoreError:
                out.add(k)
        return out

    assert failing(keys) == failing(list(reversed(keys)))


def test_batch_ops_inject_per_key() -> None:
    inner = MemoryStore()
    m = MockStore(inner, error_rate=0.5, fail_on=("set",), seed=1)
    items = [(f"k{i}", bytes([i])) for i in range(40)]
    with pytest.raises(TransientStoreError) as info:
        m.set_many(items)
    failed = info.value.failed_keys  # type: ignore[attr-defined]
    assert 5 < len(failed) < 35
    for k, v in items:
        assert inner.get(k) == (None if k in failed else v)
    assert m.counts["set"] == 40
    assert sum(c.batch for c in m.calls) == 40


def test_get_many_failure_hands_back_healthy_values() -> None:
    inner = MemoryStore({f"k{i}": bytes([i]) for i in range(20)})
    m = MockStore(inner, error_rate=0.5, fail_on=("get",), seed=2)
    with pytest.raises(TransientStoreError) as info:
        m.get_many([f"k{i}" for i in range(20)])
    exc = info.value
    for i, v in enumerate(exc.partial_values):  # type: ignore[attr-defined]
        if i not in exc.failed_indices:  # type: ignore[attr-defined]
            assert v == bytes([i])


def test_transactional_inner_set_many_is_all_or_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    inner = LMDBStore(str(tmp_path / "db"))
    m = MockStore(inner, fail_nth=2, fail_on=("set",))
    with pytest.raises(TransientStoreError, match="nothing was written"):
        m.set_many([("a", b"1"), ("b", b"2"), ("c", b"3")])
    assert list(inner.list()) == []
    m.close()


# ------------------------------------------------------------------ torn writes & latency
def test_torn_write_stores_a_prefix_then_raises() -> None:
    inner = MemoryStore()
    m = MockStore(inner, torn_writes=1.0, seed=3)
    value = bytes(range(256)) * 4
    with pytest.raises(TransientStoreError, match="torn write"):
        m.set("k", value)
    stored = inner.get("k")
    assert stored is not None and len(stored) < len(value)
    assert value.startswith(stored)
    assert m.outcomes["torn"] == 1 and m.failures == 1


def test_torn_chunk_fails_to_decode_never_garbage() -> None:
    inner = MemoryStore()
    arr = zf.create((64,), chunks=(64,), dtype="i8", store=inner, compressor="zstd")
    m = MockStore(inner, torn_writes=1.0, fail_on=("set",), seed=4)
    arr2 = zf.open_array(store=m)
    with pytest.raises(TransientStoreError):
        arr2[:] = np.arange(64)
    with pytest.raises(DecodeError):
        arr[:]


def test_latency_fixed_and_distributions(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    MockStore(latency=0.25).get("a")
    assert slept == [0.25]
    slept.clear()
    m = MockStore(latency=("uniform", 0.01, 0.02), seed=9)
    for _ in range(20):
        m.get("a")
    assert len(slept) == 20 and all(0.01 <= s <= 0.02 for s in slept)
    first = list(slept)
    slept.clear()
    m2 = MockStore(latency=("uniform", 0.01, 0.02), seed=9)
    for _ in range(20):
        m2.get("a")
    assert slept == first
    slept.clear()
    m3 = MockStore(latency=("exponential", 0.001))
    m3.set_many([("a", b"1"), ("b", b"2")])  # one round trip per batch
    assert len(slept) == 1
    MockStore(latency=lambda rng: 0.5).exists("a")
    assert slept[-1] == 0.5


def test_latency_really_sleeps() -> None:
    m = MockStore(latency=0.02)
    t = time.monotonic()
    m.get("a")
    assert time.monotonic() - t >= 0.015


# ------------------------------------------------------------------ recording
def test_records_calls_counts_and_bytes() -> None:
    m = MockStore()
    m.set("a", b"12345")
    m.get("a")
    m.get("missing")
    m.get_many(["a", "missing"])
    list(m.list_dir(""))
    m.delete("a")
    assert m.counts == {"set": 1, "get": 4, "list": 1, "delete": 1}
    assert m.nbytes("set") == 5 and m.nbytes("get") == 10
    assert [c.key for c in m.calls if c.op == "get"] == ["a", "missing", "a", "missing"]
    m.reset()
    assert m.calls == [] and not m.counts
    off = MockStore(record=False)
    off.set("a", b"1")
    assert off.calls == [] and off.counts["set"] == 1


def test_invalid_keys_rejected_before_injection() -> None:
    m = MockStore(error_mode="always")
    with pytest.raises(InvalidKeyError):
        m.get("../x")
    assert m.counts == {}


def test_pickle_and_repr() -> None:
    m = MockStore(error_rate=0.1, seed=3)
    clone = pickle.loads(pickle.dumps(m))
    assert isinstance(clone, MockStore) and clone.seed == 3 and clone.error_rate == 0.1
    assert "error_rate=0.1" in repr(m) and "MemoryStore" in repr(m)


# ------------------------------------------------------------------ RetryingStore
def test_retries_until_success_and_gives_up() -> None:
    m = MockStore(fail_nth=[1, 2], fail_on=("set",))
    r = RetryingStore(m, retries=2, backoff=(0, 0))
    r.set("a", b"1")
    assert m.get("a") == b"1" and r.retry_count == 2
    always = RetryingStore(
        MockStore(error_mode="always", fail_on=("get",)), retries=3, backoff=(0, 0)
    )
    with pytest.raises(TransientStoreError) as info:
        always.get("a")
    assert "gave up after 4 attempts" in "".join(getattr(info.value, "__notes__", []))


def test_retry_does_not_retry_permanent_errors() -> None:
    m = MockStore(error_mode="always", error=AccessDeniedError)
    r = RetryingStore(m, retries=5, backoff=(0, 0))
    with pytest.raises(AccessDeniedError):
        r.get("a")
    assert m.counts["get"] == 1


def test_retry_set_many_only_failed_keys() -> None:
    m = MockStore(error_rate=0.3, fail_on=("set",), seed=8)
    r = RetryingStore(m, retries=20, backoff=(0, 0))
    items = [(f"k{i}", bytes([i])) for i in range(100)]
    r.set_many(items)
    assert all(m.inner.get(k) == v for k, v in items)
    assert m.counts["set"] < 200  # only failed keys were sent again


def test_total_timeout(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A fake clock that only advances when RetryingStore sleeps: the retries must stop
    # before the sleeps would overrun total_timeout, whatever the jittered delays are.
    import zarrfast.storage.retrying as retrying_mod

    clock = [0.0]

    def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(retrying_mod.time, "sleep", fake_sleep)
    monkeypatch.setattr(retrying_mod.time, "monotonic", lambda: clock[0])
    for seed in range(20):
        clock[0] = 0.0
        r = RetryingStore(
            MockStore(error_mode="always"),
            retries=100,
            backoff=(0.5, 10),
            total_timeout=1.0,
            seed=seed,
        )
        with pytest.raises(TransientStoreError, match="total_timeout"):
            r.get("a")
        assert clock[0] <= 1.0
        assert r.retry_count < 100


def test_storage_mock_with_retries_through_create() -> None:
    data = np.arange(400, dtype="i4").reshape(20, 20)
    arr = zf.create(
        (20, 20),
        chunks=(5, 5),
        dtype="i4",
        storage="mock",
        error_rate=0.2,
        seed=1,
        retries=10,
        backoff=(0, 0),
    )
    arr[:] = data
    np.testing.assert_array_equal(arr[:], data)
    assert isinstance(arr.store, RetryingStore) and arr.store.retry_count > 0
