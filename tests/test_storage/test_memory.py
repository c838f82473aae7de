"""MemoryStore: the shared StoreTests suite plus memory-specific behaviour."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from zarrfast.abc.store import RangeByteRequest, SuffixByteRequest
from zarrfast.errors import InvalidKeyError
from zarrfast.storage.memory import MemoryStore
from zarrfast.testing import StoreTests


class TestMemoryStore(StoreTests):
    persistent = False

    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        with MemoryStore() as s:
            yield s


def test_backend_name_and_flags() -> None:
    assert MemoryStore.backend_name == "memory"
    assert MemoryStore.supports_transactions is False


def test_get_returns_stored_bytes_without_copy() -> None:
    s = MemoryStore()
    s.set("k", b"abc")
    first = s.get("k")
    assert type(first) is bytes
    assert s.get("k") is first


def test_set_bytes_keeps_object_and_copies_mutables() -> None:
    s = MemoryStore()
    value = b"immutable"
    s.set("b", value)
    assert s.get("b") is value
    buf = bytearray(b"mutable")
    s.set("m", buf)
    stored = s.get("m")
    assert type(stored) is bytes and stored == b"mutable"


def test_byte_range_is_zero_copy_view() -> None:
    s = MemoryStore()
    s.set("k", b"0123456789")
    out = s.get("k", RangeByteRequest(2, 4))
    assert isinstance(out, memoryview)
    assert out.obj is s.get("k")
    assert bytes(out) == b"23"
    assert bytes(s.get("k", SuffixByteRequest(2))) == b"89"  # type: ignore[arg-type]


def test_init_data_is_validated_copied_and_normalised() -> None:
    src = {"a": bytearray(b"1"), "b/c": np.arange(3, dtype="u1")}
    s = MemoryStore(src)
    src["a"][:] = b"X"
    assert s.get("a") == b"1"
    assert s.get("b/c") == b"\x00\x01\x02"
    s.set("new", b"n")
    assert "new" not in src
    with pytest.raises(InvalidKeyError):
        MemoryStore({"../x": b"1"})


def test_pickle_carries_data_and_is_independent() -> None:
    s = MemoryStore({"a": b"1"}, read_only=False)
    clone = pickle.loads(pickle.dumps(s))
    assert clone == s
    clone.set("b", b"2")
    assert s.get("b") is None
    assert clone != s
    ro = pickle.loads(pickle.dumps(MemoryStore({"a": b"1"}, read_only=True)))
    assert ro.read_only and ro.get("a") == b"1"


def test_set_many_is_all_or_nothing_on_invalid_input() -> None:
    s = MemoryStore()
    with pytest.raises(InvalidKeyError):
        s.set_many([("ok", b"1"), ("../bad", b"2")])
    with pytest.raises(TypeError):
        s.set_many([("ok", b"1"), ("bad-value", "str")])  # type: ignore[list-item]
    assert list(s.list()) == []


def test_list_dir_scales_linearly() -> None:
    # 100k keys: one pass per call; a quadratic implementation would not finish.
    s = MemoryStore({f"c/{i // 1000}/{i % 1000}": b"" for i in range(100_000)})
    assert len(list(s.list_dir("c/"))) == 100
    assert len(list(s.list_dir("c/7/"))) == 1000
    assert list(s.list_dir("")) == ["c"]


def test_listing_while_writing_does_not_raise() -> None:
    s = MemoryStore({f"k{i}": b"" for i in range(1000)})
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            s.set(f"w{i}", b"")
            s.delete(f"w{i - 5}")
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(50):
            list(s.list_dir(""))
            list(s.list_prefix("k"))
            s.getsize_prefix("")
    finally:
        stop.set()
        t.join()


def test_repr() -> None:
    s = MemoryStore({"a": b"secret-value"}, read_only=True)
    assert repr(s) == "MemoryStore(nkeys=1, read_only=True)"


# --------------------------------------------------------------------------- the harness itself
class _TokenMemoryStore(MemoryStore):
    """A MemoryStore with a credential in its config, to exercise ``secret_fields``."""

    def __init__(self, data=None, *, read_only=False, token="tok-s3cr3t", leak=False):  # type: ignore[no-untyped-def]
        super().__init__(data, read_only=read_only)
        self._token, self._leak = token, leak

    def _pickle_config(self):  # type: ignore[no-untyped-def]
        return {**super()._pickle_config(), "token": self._token, "leak": self._leak}

    def _repr_fields(self):  # type: ignore[no-untyped-def]
        return {"token": self._token} if self._leak else {}


class TestMemoryStoreWithSecret(StoreTests):
    secret_fields = ("token",)
    skip_tests = {"test_concurrent_writers_lose_nothing": "covered by TestMemoryStore"}

    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        with _TokenMemoryStore() as s:
            yield s


def test_harness_catches_leaked_secret() -> None:
    suite = TestMemoryStoreWithSecret()
    suite.test_repr_hides_secrets(_TokenMemoryStore())
    with pytest.raises(AssertionError, match="secret field 'token' leaked"):
        suite.test_repr_hides_secrets(_TokenMemoryStore(leak=True))


def test_harness_catches_aliasing_store() -> None:
    class AliasingStore(MemoryStore):
        def set(self, key, value):  # type: ignore[no-untyped-def]
            self._data[key] = value  # keeps the caller's mutable buffer

    with pytest.raises(AssertionError):
        TestMemoryStore().test_set_does_not_alias_caller_buffer(AliasingStore())
