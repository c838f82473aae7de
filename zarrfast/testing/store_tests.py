"""The shared conformance suite for :class:`zarrfast.abc.store.Store` backends.

Every store in zarrfast runs this suite, and so can yours.  Subclass
:class:`StoreTests` in a module pytest collects (the class name must start with
``Test``) and provide a ``store`` fixture returning a fresh, empty, writable store::

    import pytest
    from zarrfast.testing import StoreTests
    from mypackage import MyStore

    class TestMyStore(StoreTests):
        persistent = True
        secret_fields = ("password",)

        @pytest.fixture
        def store(self, tmp_path):
            with MyStore(tmp_path / "data", password="hunter2") as s:
                yield s

Capability differences are declared with class attributes (see :class:`StoreTests`).
Each check is its own ``test_*`` method, so a backend can override one, or skip it
with a reason, either by redefining it with ``@pytest.mark.skip(reason=...)`` or by
listing it in :attr:`StoreTests.skip_tests`.

The suite relies only on the public Store interface plus ``_pickle_config`` (to open a
second handle on the same data, see :meth:`StoreTests.reopen`).
"""

from __future__ import annotations

import pickle
import string
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest

from zarrfast.abc.store import (
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarrfast.errors import (
    InvalidKeyError,
    ReadOnlyStoreError,
    StoreClosedError,
    UnsupportedOperationError,
)

__all__ = ["INVALID_KEYS", "NON_STR_KEYS", "StoreTests"]

#: Keys every store must reject with :class:`~zarrfast.errors.InvalidKeyError`.
INVALID_KEYS: tuple[str, ...] = (
    "",
    "..",
    ".",
    "../escape",
    "a/../../escape",
    "a/./b",
    "/abs",
    "/",
    "a//b",
    "a/",
    "nul\x00byte",
    "back\\slash",
    "..\\escape",
)

#: Non-string keys, also rejected with :class:`~zarrfast.errors.InvalidKeyError`.
NON_STR_KEYS: tuple[Any, ...] = (b"bytes", 1, None, ("a", "b"))


def _as_bytes(value: Any) -> bytes | None:
    """Normalise whatever a store returned to ``bytes`` (``None`` passes through)."""
    if value is None:
        return None
    return memoryview(value).tobytes()


def _pattern(nbytes: int, seed: int = 0) -> bytes:
    """A deterministic, non-repeating-looking value of ``nbytes`` bytes."""
    block = bytes((i * 31 + seed * 7 + (i >> 8)) & 0xFF for i in range(4096))
    reps, rest = divmod(nbytes, len(block))
    return block * reps + block[:rest]


class StoreTests:
    """Conformance tests for a :class:`~zarrfast.abc.store.Store` implementation.

    Subclasses must provide a ``store`` pytest fixture yielding a fresh, empty, open,
    writable store; the suite closes nothing it did not open itself, so the fixture
    should close the store on teardown.

    Attributes
    ----------
    supports_overwrite : bool
        ``False`` for write-once stores (zip): setting an existing key must raise
        :class:`~zarrfast.errors.UnsupportedOperationError`.
    persistent : bool
        ``True`` when data outlives the store object, so a second handle opened from
        the same configuration (:meth:`reopen`, pickling) sees the same data and
        writes made through one handle are visible through the other.
    secret_fields : tuple of str
        Names of ``_pickle_config()`` entries (passwords, tokens, connection strings)
        whose values must never appear in ``repr``/``str``.
    large_value_nbytes : int
        Size of the value used by :meth:`test_set_get_large_value`.
    concurrency_threads : int
        Thread count for the concurrency tests.
    keys_per_thread : int
        Keys written by each thread in :meth:`test_concurrent_writers_lose_nothing`.
    skip_tests : Mapping[str, str]
        ``{"test_name": "reason"}``; each listed test is skipped with its reason.

    Notes
    -----
    Hooks a subclass may override: :meth:`reopen` (a second handle on the same data)
    and :meth:`open_read_only` (a read-only handle on the same data).  Tests that
    depend on a capability flag (``supports_partial_reads``, ``supports_deletes``,
    ``supports_listing``) skip themselves when the store does not claim it.
    """

    supports_overwrite: ClassVar[bool] = True
    persistent: ClassVar[bool] = False
    secret_fields: ClassVar[tuple[str, ...]] = ()
    large_value_nbytes: ClassVar[int] = 4 * 1024 * 1024 + 17
    concurrency_threads: ClassVar[int] = 8
    keys_per_thread: ClassVar[int] = 50
    skip_tests: ClassVar[Mapping[str, str]] = {}

    # ------------------------------------------------------------------ fixtures & hooks
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """A fresh, empty, open, writable store.  Subclasses must override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a 'store' fixture yielding a fresh, "
            "empty, writable store"
        )

    @pytest.fixture(autouse=True)
    def _apply_skip_tests(self, request: pytest.FixtureRequest) -> None:
        name = getattr(request.node, "originalname", None) or request.node.name
        reason = self.skip_tests.get(name)
        if reason is not None:
            pytest.skip(reason)

    def reopen(self, store: Store) -> Store:
        """Open another handle on the same data as ``store``.

        Parameters
        ----------
        store : Store
            An open store.

        Returns
        -------
        Store
            A new store built from ``store._pickle_config()``.  For non-persistent
            stores this is only expected to hold a *snapshot* of the data.
        """
        return type(store)(**store._pickle_config())

    def open_read_only(self, store: Store) -> Store:
        """Open a read-only handle on (a snapshot of) the data in ``store``.

        Parameters
        ----------
        store : Store
            An open, writable store, already populated by the test.

        Returns
        -------
        Store
            The default builds ``type(store)(**{**store._pickle_config(),
            "read_only": True})``; override when the constructor differs.
        """
        return type(store)(**{**store._pickle_config(), "read_only": True})

    # small helpers ---------------------------------------------------------
    def _require(self, store: Store, flag: str) -> None:
        if not getattr(store, flag):
            pytest.skip(f"{type(store).__name__}.{flag} is False")

    def _fill(self, store: Store, items: Mapping[str, bytes]) -> None:
        for k, v in items.items():
            store.set(k, v)

    def _get(self, store: Store, key: str, byte_range: Any = None) -> bytes | None:
        return _as_bytes(store.get(key, byte_range))

    # ------------------------------------------------------------------ basics
    def test_capability_flags_are_bool(self, store: Store) -> None:
        for flag in (
            "supports_writes",
            "supports_deletes",
            "supports_listing",
            "supports_partial_reads",
            "supports_transactions",
        ):
            assert isinstance(getattr(store, flag), bool), flag
        assert isinstance(type(store).backend_name, str) and type(store).backend_name

    def test_new_store_is_empty(self, store: Store) -> None:
        assert store.read_only is False
        assert store.closed is False
        self._require(store, "supports_listing")
        assert list(store.list()) == []
        assert store.is_empty()

    def test_get_missing_returns_none(self, store: Store) -> None:
        assert store.get("missing") is None
        assert store.get("missing/deeper/key") is None
        assert store.get(".zarray") is None

    def test_get_missing_under_existing_key_returns_none(self, store: Store) -> None:
        # On a filesystem "a/b" under a *file* "a" fails with ENOTDIR: still just missing.
        store.set("a", b"x")
        assert store.get("a/b") is None
        assert store.exists("a/b") is False

    # ------------------------------------------------------------------ set / get
    def test_set_get_bytes(self, store: Store) -> None:
        store.set("k", b"hello world")
        assert self._get(store, "k") == b"hello world"

    def test_set_get_bytearray(self, store: Store) -> None:
        store.set("k", bytearray(b"\x00\x01\x02"))
        assert self._get(store, "k") == b"\x00\x01\x02"

    def test_set_get_memoryview(self, store: Store) -> None:
        backing = b"0123456789"
        store.set("k", memoryview(backing)[2:7])
        assert self._get(store, "k") == b"23456"

    def test_set_get_numpy_array(self, store: Store) -> None:
        np = pytest.importorskip("numpy")
        arr = np.arange(24, dtype="<f8").reshape(2, 3, 4)
        store.set("c/0/0", arr)
        assert self._get(store, "c/0/0") == arr.tobytes()
        ints = np.arange(10, dtype="<u2")
        store.set("c/0/1", ints)
        out = store.get("c/0/1")
        assert out is not None
        np.testing.assert_array_equal(np.frombuffer(out, dtype="<u2"), ints)

    def test_set_get_empty_value(self, store: Store) -> None:
        store.set("empty", b"")
        assert self._get(store, "empty") == b""
        assert store.exists("empty")
        assert store.getsize("empty") == 0

    def test_set_get_large_value(self, store: Store) -> None:
        value = _pattern(self.large_value_nbytes)
        store.set("big", value)
        assert self._get(store, "big") == value
        assert store.getsize("big") == len(value)

    def test_all_byte_values_round_trip(self, store: Store) -> None:
        value = bytes(range(256)) * 3
        store.set("k", value)
        assert self._get(store, "k") == value

    def test_set_does_not_alias_caller_buffer(self, store: Store) -> None:
        buf = bytearray(b"before")
        store.set("k", buf)
        buf[:] = b"AFTER!"
        assert self._get(store, "k") == b"before"

    def test_get_result_owns_its_memory(self, store: Store) -> None:
        store.set("k", b"abc")
        out = store.get("k")
        assert out is not None
        store.set("k", b"xyz")
        store.delete("k")
        assert memoryview(out).tobytes() == b"abc"

    def test_set_rejects_non_buffer_value(self, store: Store) -> None:
        with pytest.raises(TypeError):
            store.set("k", "a str is not bytes")  # type: ignore[arg-type]
        assert store.get("k") is None

    def test_overwrite(self, store: Store) -> None:
        if not self.supports_overwrite:
            pytest.skip("store is write-once (supports_overwrite = False)")
        store.set("k", b"first value, longer")
        store.set("k", b"second")
        assert self._get(store, "k") == b"second"
        store.set("k", b"third value is the longest of them all")
        assert self._get(store, "k") == b"third value is the longest of them all"

    def test_overwrite_unsupported_raises(self, store: Store) -> None:
        if self.supports_overwrite:
            pytest.skip("store supports overwrite")
        store.set("k", b"first")
        with pytest.raises(UnsupportedOperationError):
            store.set("k", b"second")
        assert self._get(store, "k") == b"first"

    # ------------------------------------------------------------------ delete / exists
    def test_exists(self, store: Store) -> None:
        assert store.exists("k") is False
        store.set("k", b"v")
        assert store.exists("k") is True

    def test_exists_is_false_for_directories(self, store: Store) -> None:
        store.set("dir/child", b"v")
        assert store.exists("dir") is False
        assert store.get("dir") is None

    def test_delete(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        store.set("k", b"v")
        store.set("other", b"w")
        store.delete("k")
        assert store.get("k") is None
        assert store.exists("k") is False
        assert self._get(store, "other") == b"w"

    def test_delete_missing_is_not_an_error(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        store.delete("missing")
        store.delete("missing/deep/key")
        store.set("a", b"x")
        store.delete("a/b")  # parent is a value, not a directory
        assert self._get(store, "a") == b"x"

    def test_delete_directory_name_is_not_an_error(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        store.set("dir/child", b"v")
        store.delete("dir")
        assert self._get(store, "dir/child") == b"v"

    def test_set_after_delete(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        store.set("a/b/c", b"1")
        store.delete("a/b/c")
        store.set("a/b/c", b"2")
        assert self._get(store, "a/b/c") == b"2"

    # ------------------------------------------------------------------ byte ranges
    @pytest.fixture
    def ranged(self, store: Store) -> Store:
        """``store`` holding ``"r" -> b"0123456789"``, for the byte-range tests."""
        self._require(store, "supports_partial_reads")
        store.set("r", b"0123456789")
        return store

    def test_range_request(self, ranged: Store) -> None:
        assert self._get(ranged, "r", RangeByteRequest(2, 5)) == b"234"
        assert self._get(ranged, "r", RangeByteRequest(0, 10)) == b"0123456789"
        assert self._get(ranged, "r", RangeByteRequest(9, 10)) == b"9"

    def test_range_request_past_end(self, ranged: Store) -> None:
        assert self._get(ranged, "r", RangeByteRequest(8, 100)) == b"89"
        assert self._get(ranged, "r", RangeByteRequest(10, 20)) == b""
        assert self._get(ranged, "r", RangeByteRequest(50, 60)) == b""

    def test_range_request_empty(self, ranged: Store) -> None:
        assert self._get(ranged, "r", RangeByteRequest(3, 3)) == b""
        assert self._get(ranged, "r", RangeByteRequest(0, 0)) == b""

    def test_offset_request(self, ranged: Store) -> None:
        assert self._get(ranged, "r", OffsetByteRequest(7)) == b"789"
        assert self._get(ranged, "r", OffsetByteRequest(0)) == b"0123456789"

    def test_offset_request_past_end(self, ranged: Store) -> None:
        assert self._get(ranged, "r", OffsetByteRequest(10)) == b""
        assert self._get(ranged, "r", OffsetByteRequest(1000)) == b""

    def test_suffix_request(self, ranged: Store) -> None:
        assert self._get(ranged, "r", SuffixByteRequest(3)) == b"789"
        assert self._get(ranged, "r", SuffixByteRequest(10)) == b"0123456789"

    def test_suffix_request_longer_than_value(self, ranged: Store) -> None:
        assert self._get(ranged, "r", SuffixByteRequest(1000)) == b"0123456789"

    def test_suffix_request_empty(self, ranged: Store) -> None:
        assert self._get(ranged, "r", SuffixByteRequest(0)) == b""

    def test_byte_ranges_of_empty_value(self, ranged: Store) -> None:
        ranged.set("e", b"")
        for req in (RangeByteRequest(0, 5), OffsetByteRequest(0), SuffixByteRequest(4)):
            assert self._get(ranged, "e", req) == b"", req

    def test_byte_ranges_of_large_value(self, ranged: Store) -> None:
        value = _pattern(3 * 1024 * 1024 + 5, seed=3)
        ranged.set("big", value)
        n = len(value)
        assert (
            self._get(ranged, "big", RangeByteRequest(n // 2, n // 2 + 4096))
            == (value[n // 2 : n // 2 + 4096])
        )
        assert self._get(ranged, "big", OffsetByteRequest(n - 10)) == value[-10:]
        assert self._get(ranged, "big", SuffixByteRequest(70000)) == value[-70000:]

    def test_byte_range_on_missing_key_returns_none(self, ranged: Store) -> None:
        for req in (RangeByteRequest(0, 5), OffsetByteRequest(3), SuffixByteRequest(2)):
            assert ranged.get("missing", req) is None
            assert ranged.get("missing/deep", req) is None

    # ------------------------------------------------------------------ batches
    def test_get_many_order_and_missing(self, store: Store) -> None:
        self._fill(store, {"a": b"A", "b/c": b"BC", "d": b""})
        got = store.get_many(["d", "missing", "b/c", "a", "b"])
        assert [_as_bytes(v) for v in got] == [b"", None, b"BC", b"A", None]

    def test_get_many_repeated_keys(self, store: Store) -> None:
        store.set("a", b"A")
        assert [_as_bytes(v) for v in store.get_many(["a", "a", "x", "a"])] == [
            b"A",
            b"A",
            None,
            b"A",
        ]

    def test_get_many_empty(self, store: Store) -> None:
        assert list(store.get_many([])) == []

    def test_get_many_large_batch(self, store: Store) -> None:
        items = {f"c/{i // 10}/{i % 10}": str(i).encode() * (i % 7) for i in range(200)}
        store.set_many(items.items())
        keys = [*list(items)[::-1], "c/missing"]
        got = store.get_many(keys)
        assert [_as_bytes(v) for v in got] == [items[k] for k in keys[:-1]] + [None]

    def test_get_ranges_order_and_missing(self, store: Store) -> None:
        self._require(store, "supports_partial_reads")
        self._fill(store, {"x": b"0123456789", "y": b"abcdef"})
        got = store.get_ranges(
            [
                ("y", SuffixByteRequest(2)),
                ("missing", RangeByteRequest(0, 1)),
                ("x", RangeByteRequest(1, 4)),
                ("x", None),
                ("y", OffsetByteRequest(4)),
                ("x", RangeByteRequest(20, 30)),
            ]
        )
        assert [_as_bytes(v) for v in got] == [b"ef", None, b"123", b"0123456789", b"ef", b""]

    def test_borrow_many(self, store: Store) -> None:
        big = _pattern(2 * 1024 * 1024 + 3, seed=5)
        self._fill(store, {"small": b"s", "big": big, "empty": b""})
        with store.borrow_many(["big", "missing", "small", "empty"]) as views:
            assert len(views) == 4
            assert views[1] is None
            assert _as_bytes(views[0]) == big
            assert _as_bytes(views[2]) == b"s"
            assert _as_bytes(views[3]) == b""
            copied = bytes(memoryview(views[0])[:100])  # type: ignore[arg-type]
        assert copied == big[:100]
        # the store is still fully usable after the block
        assert self._get(store, "big") == big

    def test_set_many(self, store: Store) -> None:
        store.set_many([("a", b"1"), ("b/c", bytearray(b"2")), ("b/d", memoryview(b"3"))])
        assert [_as_bytes(v) for v in store.get_many(["a", "b/c", "b/d"])] == [b"1", b"2", b"3"]

    def test_set_many_accepts_generator(self, store: Store) -> None:
        store.set_many((f"g/{i}", bytes([i])) for i in range(5))
        assert [_as_bytes(store.get(f"g/{i}")) for i in range(5)] == [bytes([i]) for i in range(5)]

    def test_delete_many_ignores_missing(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        self._fill(store, {"a": b"1", "b": b"2", "c": b"3"})
        store.delete_many(["a", "missing", "c", "a"])
        assert store.get("a") is None and store.get("c") is None
        assert self._get(store, "b") == b"2"

    def test_delete_prefix_returns_count(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        self._fill(
            store,
            {"g/a/zarr.json": b"1", "g/a/c/0": b"2", "g/a/c/1": b"3", "g/b/zarr.json": b"4"},
        )
        assert store.delete_prefix("g/a/") == 3
        assert store.get("g/a/zarr.json") is None
        assert store.get("g/a/c/0") is None
        assert self._get(store, "g/b/zarr.json") == b"4"

    def test_delete_prefix_keeps_string_siblings(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        self._fill(store, {"a/b/x": b"1", "a/b/y/z": b"2", "a/bc": b"3", "a/bc2/q": b"4"})
        assert store.delete_prefix("a/b/") == 2
        assert self._get(store, "a/bc") == b"3"
        assert self._get(store, "a/bc2/q") == b"4"
        if store.supports_listing:
            assert sorted(store.list()) == ["a/bc", "a/bc2/q"]

    def test_delete_prefix_string_semantics(self, store: Store) -> None:
        # Without a trailing "/", a prefix is a plain string prefix (like list_prefix).
        self._require(store, "supports_deletes")
        self._fill(store, {"a/b/x": b"1", "a/bc": b"2", "a/bd/e": b"3", "a/c": b"4"})
        assert store.delete_prefix("a/b") == 3
        assert self._get(store, "a/c") == b"4"
        assert store.get("a/bc") is None and store.get("a/bd/e") is None

    def test_delete_prefix_missing_returns_zero(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        assert store.delete_prefix("nothing/here/") == 0
        assert store.delete_prefix("") == 0
        store.set("x", b"1")
        assert store.delete_prefix("x/") == 0
        assert self._get(store, "x") == b"1"

    def test_delete_prefix_root_deletes_everything(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        self._fill(store, {"a": b"1", "b/c": b"2", "b/d/e": b"3"})
        assert store.delete_prefix("") == 3
        assert store.get("a") is None and store.get("b/d/e") is None
        if store.supports_listing:
            assert list(store.list()) == []
        store.set("after", b"ok")
        assert self._get(store, "after") == b"ok"

    def test_clear(self, store: Store) -> None:
        self._require(store, "supports_deletes")
        self._fill(store, {"a": b"1", "b/c": b"2"})
        store.clear()
        assert store.get("a") is None and store.get("b/c") is None

    # ------------------------------------------------------------------ listing
    @pytest.fixture
    def tree(self, store: Store) -> Store:
        """``store`` populated with a small nested hierarchy, for the listing tests."""
        self._require(store, "supports_listing")
        self._fill(
            store,
            {
                "zarr.json": b"{}",
                "a/zarr.json": b"{}",
                "a/c/0/0": b"00",
                "a/c/0/1": b"01",
                "a/c/1/0": b"10",
                "a/bc": b"x",
                "a/b/x": b"y",
                "b/.zarray": b"{}",
                "b/0.0": b"v2",
            },
        )
        return store

    def test_list_all_keys(self, tree: Store) -> None:
        keys = list(tree.list())
        assert len(keys) == len(set(keys))
        assert sorted(keys) == sorted(
            [
                "zarr.json",
                "a/zarr.json",
                "a/c/0/0",
                "a/c/0/1",
                "a/c/1/0",
                "a/bc",
                "a/b/x",
                "b/.zarray",
                "b/0.0",
            ]
        )

    def test_list_prefix(self, tree: Store) -> None:
        assert sorted(tree.list_prefix("a/c/")) == ["a/c/0/0", "a/c/0/1", "a/c/1/0"]
        assert sorted(tree.list_prefix("a/c/0/")) == ["a/c/0/0", "a/c/0/1"]
        assert sorted(tree.list_prefix("b/")) == ["b/.zarray", "b/0.0"]
        assert sorted(tree.list_prefix("")) == sorted(tree.list())

    def test_list_prefix_directory_excludes_string_siblings(self, tree: Store) -> None:
        assert sorted(tree.list_prefix("a/b/")) == ["a/b/x"]

    def test_list_prefix_string_semantics(self, tree: Store) -> None:
        assert sorted(tree.list_prefix("a/b")) == ["a/b/x", "a/bc"]
        assert sorted(tree.list_prefix("a/c/0/0")) == ["a/c/0/0"]
        assert sorted(tree.list_prefix("zarr")) == ["zarr.json"]

    def test_list_prefix_missing_is_empty(self, tree: Store) -> None:
        assert list(tree.list_prefix("nope/")) == []
        assert list(tree.list_prefix("zarr.json/")) == []

    def test_list_dir_root(self, tree: Store) -> None:
        children = list(tree.list_dir(""))
        assert len(children) == len(set(children)), "each child must be listed once"
        assert sorted(children) == ["a", "b", "zarr.json"]

    def test_list_dir_nested(self, tree: Store) -> None:
        assert sorted(tree.list_dir("a/")) == ["b", "bc", "c", "zarr.json"]
        assert sorted(tree.list_dir("a/c/")) == ["0", "1"]
        assert sorted(tree.list_dir("a/c/0/")) == ["0", "1"]
        assert sorted(tree.list_dir("b/")) == [".zarray", "0.0"]

    def test_list_dir_accepts_prefix_without_slash(self, tree: Store) -> None:
        assert sorted(tree.list_dir("a")) == sorted(tree.list_dir("a/"))
        assert sorted(tree.list_dir("a/c")) == ["0", "1"]

    def test_list_dir_has_no_slashes(self, tree: Store) -> None:
        for prefix in ("", "a/", "a/c/", "b/"):
            for child in tree.list_dir(prefix):
                assert child and "/" not in child, (prefix, child)

    def test_list_dir_missing_or_value_is_empty(self, tree: Store) -> None:
        assert list(tree.list_dir("nope/")) == []
        assert list(tree.list_dir("zarr.json/")) == []
        assert list(tree.list_dir("a/b/x")) == []

    def test_list_after_delete(self, tree: Store) -> None:
        self._require(tree, "supports_deletes")
        tree.delete("a/c/1/0")
        assert sorted(tree.list_dir("a/c/")) == ["0"]
        assert "a/c/1/0" not in set(tree.list())

    def test_list_empty_store(self, store: Store) -> None:
        self._require(store, "supports_listing")
        assert list(store.list()) == []
        assert list(store.list_prefix("a/")) == []
        assert list(store.list_dir("")) == []

    def test_is_empty(self, tree: Store) -> None:
        assert not tree.is_empty()
        assert not tree.is_empty("a/c/")
        assert tree.is_empty("nope/")

    # ------------------------------------------------------------------ sizes
    def test_getsize(self, store: Store) -> None:
        self._fill(store, {"a": b"12345", "b/c": b"", "d": _pattern(70000)})
        assert store.getsize("a") == 5
        assert store.getsize("b/c") == 0
        assert store.getsize("d") == 70000

    def test_getsize_missing_raises_file_not_found(self, store: Store) -> None:
        with pytest.raises(FileNotFoundError):
            store.getsize("missing")
        store.set("dir/x", b"1")
        with pytest.raises(FileNotFoundError):
            store.getsize("dir")

    def test_getsize_prefix(self, store: Store) -> None:
        self._require(store, "supports_listing")
        self._fill(store, {"a/x": b"123", "a/y/z": b"45", "ab": b"6789", "b": b"0"})
        assert store.getsize_prefix("a/") == 5
        assert store.getsize_prefix("a") == 9
        assert store.getsize_prefix("") == 10
        assert store.getsize_prefix("nope/") == 0

    # ------------------------------------------------------------------ keys
    @pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
    def test_invalid_key_rejected(self, store: Store, key: str) -> None:
        with pytest.raises(InvalidKeyError):
            store.get(key)
        with pytest.raises(InvalidKeyError):
            store.set(key, b"v")
        with pytest.raises(InvalidKeyError):
            store.delete(key)
        with pytest.raises(InvalidKeyError):
            store.exists(key)
        with pytest.raises(InvalidKeyError):
            store.get_many(["ok", key])

    @pytest.mark.parametrize("key", NON_STR_KEYS, ids=repr)
    def test_non_str_key_rejected(self, store: Store, key: Any) -> None:
        for op in (
            lambda: store.get(key),
            lambda: store.set(key, b"v"),
            lambda: store.delete(key),
            lambda: store.exists(key),
        ):
            with pytest.raises(InvalidKeyError):
                op()

    @pytest.mark.parametrize("prefix", ["/a", "../", "a//", "..", "a/../b/", "\\"], ids=repr)
    def test_invalid_prefix_rejected(self, store: Store, prefix: str) -> None:
        if store.supports_listing:
            with pytest.raises(InvalidKeyError):
                list(store.list_prefix(prefix))
            with pytest.raises(InvalidKeyError):
                list(store.list_dir(prefix))
        if store.supports_deletes:
            with pytest.raises(InvalidKeyError):
                store.delete_prefix(prefix)

    def test_invalid_key_writes_nothing(self, store: Store) -> None:
        with pytest.raises(InvalidKeyError):
            store.set("../escape", b"v")
        if store.supports_listing:
            assert list(store.list()) == []

    def test_unicode_keys(self, store: Store) -> None:
        keys = ["ünïcödé", "日本/語", "emoji/🦀/x", "ø/å/æ.json"]
        for i, k in enumerate(keys):
            store.set(k, bytes([i]) * 3)
        for i, k in enumerate(keys):
            assert self._get(store, k) == bytes([i]) * 3
        if store.supports_listing:
            assert sorted(store.list()) == sorted(keys)
            assert sorted(store.list_dir("emoji/")) == ["🦀"]

    def test_dotted_keys(self, store: Store) -> None:
        items = {
            ".zarray": b"1",
            ".zattrs": b"2",
            ".zgroup": b"3",
            "c/0.1": b"4",
            "0.0.0": b"5",
            "a/.zmetadata": b"6",
            "..hidden": b"7",
            "...": b"8",
        }
        self._fill(store, items)
        for k, v in items.items():
            assert self._get(store, k) == v, k
        if store.supports_listing:
            assert sorted(store.list()) == sorted(items)

    def test_punctuation_keys(self, store: Store) -> None:
        keys = [f"p/{c}x" for c in string.punctuation if c not in "/\\."] + ["p/sp ace"]
        for k in keys:
            store.set(k, k.encode())
        for k in keys:
            assert self._get(store, k) == k.encode()

    def test_deep_nesting(self, store: Store) -> None:
        key = "/".join(f"d{i}" for i in range(40))
        store.set(key, b"deep")
        assert self._get(store, key) == b"deep"
        if store.supports_listing:
            assert list(store.list_prefix("d0/d1/")) == [key]
            assert list(store.list_dir("d0/d1/")) == ["d2"]
        if store.supports_deletes:
            store.delete(key)
            assert store.get(key) is None
            if store.supports_listing:
                assert list(store.list()) == []

    # ------------------------------------------------------------------ read-only
    @pytest.fixture
    def read_only(self, store: Store) -> Iterator[Store]:
        """A read-only handle on ``store`` after it was given two keys."""
        self._fill(store, {"a": b"A", "b/c": b"BC"})
        ro = self.open_read_only(store)
        try:
            yield ro
        finally:
            ro.close()

    def test_read_only_flag(self, read_only: Store) -> None:
        assert read_only.read_only is True

    def test_read_only_reads_work(self, read_only: Store) -> None:
        assert self._get(read_only, "a") == b"A"
        assert [_as_bytes(v) for v in read_only.get_many(["b/c", "x"])] == [b"BC", None]
        assert read_only.exists("b/c")
        assert read_only.getsize("a") == 1
        if read_only.supports_partial_reads:
            assert self._get(read_only, "b/c", SuffixByteRequest(1)) == b"C"
        if read_only.supports_listing:
            assert sorted(read_only.list()) == ["a", "b/c"]
            assert sorted(read_only.list_dir("")) == ["a", "b"]
        with read_only.borrow_many(["a"]) as views:
            assert _as_bytes(views[0]) == b"A"

    def test_read_only_rejects_writes(self, read_only: Store) -> None:
        writes: list[Callable[[], object]] = [
            lambda: read_only.set("a", b"new"),
            lambda: read_only.set("fresh", b"new"),
            lambda: read_only.set_many([("fresh", b"new")]),
            lambda: read_only.delete("a"),
            lambda: read_only.delete("missing"),
            lambda: read_only.delete_many(["a"]),
            lambda: read_only.delete_prefix("b/"),
            lambda: read_only.delete_prefix(""),
            lambda: read_only.clear(),
        ]
        for write in writes:
            with pytest.raises(ReadOnlyStoreError):
                write()
        assert self._get(read_only, "a") == b"A"
        assert self._get(read_only, "b/c") == b"BC"
        assert read_only.get("fresh") is None

    # ------------------------------------------------------------------ lifecycle
    def test_closed_store_raises(self, store: Store) -> None:
        store.set("a", b"A")
        store.close()
        assert store.closed
        ops: list[Callable[[], object]] = [
            lambda: store.get("a"),
            lambda: store.set("a", b"x"),
            lambda: store.delete("a"),
            lambda: store.exists("a"),
            lambda: store.get_many(["a"]),
            lambda: store.set_many([("a", b"x")]),
            lambda: store.delete_prefix(""),
            lambda: store.getsize("a"),
        ]
        if store.supports_partial_reads:
            ops.append(lambda: store.get("a", RangeByteRequest(0, 1)))
        if store.supports_listing:
            ops.append(lambda: list(store.list()))
            ops.append(lambda: list(store.list_dir("")))
        for op in ops:
            with pytest.raises(StoreClosedError):
                op()

    def test_close_is_idempotent(self, store: Store) -> None:
        store.close()
        store.close()
        assert store.closed

    def test_context_manager_closes(self, store: Store) -> None:
        with store as entered:
            assert entered is store
            store.set("a", b"A")
        assert store.closed
        with pytest.raises(StoreClosedError):
            store.get("a")

    def test_context_manager_closes_on_error(self, store: Store) -> None:
        with pytest.raises(RuntimeError, match="boom"), store:
            raise RuntimeError("boom")
        assert store.closed

    def test_pickle_round_trip(self, store: Store) -> None:
        self._fill(store, {"a": b"A", "b/c": _pattern(1000)})
        clone = pickle.loads(pickle.dumps(store))
        try:
            assert type(clone) is type(store)
            assert clone.read_only == store.read_only
            assert self._get(clone, "a") == b"A"
            assert self._get(clone, "b/c") == _pattern(1000)
        finally:
            clone.close()

    def test_pickle_shares_persistent_data(self, store: Store) -> None:
        if not self.persistent:
            pytest.skip("store is not persistent (pickles a snapshot)")
        store.set("a", b"A")
        clone = pickle.loads(pickle.dumps(store))
        try:
            clone.set("from-clone", b"C")
            store.set("from-original", b"O")
            assert self._get(store, "from-clone") == b"C"
            assert self._get(clone, "from-original") == b"O"
        finally:
            clone.close()

    def test_reopen_sees_data(self, store: Store) -> None:
        if not self.persistent:
            pytest.skip("store is not persistent")
        self._fill(store, {"a": b"A", "x/y/z": b"XYZ"})
        again = self.reopen(store)
        try:
            assert self._get(again, "a") == b"A"
            assert self._get(again, "x/y/z") == b"XYZ"
        finally:
            again.close()

    def test_eq_same_config(self, store: Store) -> None:
        store.set("a", b"A")
        other = self.reopen(store)
        try:
            assert store == other
            unequal = store != other  # exercises __ne__ itself, not just __eq__
            assert not unequal
            assert hash(store) == hash(other), "equal stores must hash equal"
        finally:
            other.close()

    def test_eq_other_type_or_read_only(self, store: Store) -> None:
        assert store != object()
        assert store != "store"
        store.set("a", b"A")  # some backends need data before a read-only open
        ro = self.open_read_only(store)
        try:
            assert store != ro, "read_only is part of a store's identity"
        finally:
            ro.close()

    def test_repr_names_class(self, store: Store) -> None:
        assert type(store).__name__ in repr(store)
        assert type(store).__name__ in str(store)

    def test_repr_hides_secrets(self, store: Store) -> None:
        if not self.secret_fields:
            pytest.skip("no secret_fields declared")
        config = store._pickle_config()
        for field in self.secret_fields:
            secret = config.get(field)
            if secret in (None, ""):
                continue
            for text in (repr(store), str(store)):
                assert str(secret) not in text, f"secret field {field!r} leaked into repr"

    def test_repr_shows_no_values(self, store: Store) -> None:
        store.set("k", b"SENTINEL-VALUE-123")
        assert "SENTINEL-VALUE-123" not in repr(store)

    # ------------------------------------------------------------------ concurrency
    def test_concurrent_writers_lose_nothing(self, store: Store) -> None:
        n, per = self.concurrency_threads, self.keys_per_thread
        barrier = threading.Barrier(n)

        def work(t: int) -> list[str]:
            barrier.wait()
            problems = []
            for i in range(per):
                key = f"t{t}/c/{i % 5}/{i}"
                value = f"{t}:{i}:".encode() * (1 + i % 13)
                store.set(key, value)
                got = _as_bytes(store.get(key))
                if got != value:
                    problems.append(f"{key}: read back {got!r}")
            return problems

        with ThreadPoolExecutor(n) as pool:
            problems = [p for ps in pool.map(work, range(n)) for p in ps]
        assert problems == []
        for t in range(n):
            for i in range(per):
                key = f"t{t}/c/{i % 5}/{i}"
                assert self._get(store, key) == f"{t}:{i}:".encode() * (1 + i % 13), key
        if store.supports_listing:
            assert len(list(store.list())) == n * per

    def test_concurrent_writes_and_deletes_in_shared_directories(self, store: Store) -> None:
        # Deleting can prune now-empty directories; writers into the same directory
        # must never lose a value to that.
        self._require(store, "supports_deletes")
        n, per = self.concurrency_threads, self.keys_per_thread
        barrier = threading.Barrier(n)

        def work(t: int) -> None:
            barrier.wait()
            for i in range(per):
                store.set(f"shared/{i % 3}/t{t}-{i}", b"x")
                if i % 2:
                    store.delete(f"shared/{i % 3}/t{t}-{i}")

        with ThreadPoolExecutor(n) as pool:
            list(pool.map(work, range(n)))
        for t in range(n):
            for i in range(per):
                expected = None if i % 2 else b"x"
                assert self._get(store, f"shared/{i % 3}/t{t}-{i}") == expected

    def test_concurrent_readers_see_whole_values(self, store: Store) -> None:
        if not self.supports_overwrite:
            pytest.skip("store is write-once")
        values = [bytes([i]) * (1000 + 997 * i) for i in range(1, 5)]
        store.set("hot", values[0])
        stop = threading.Event()
        seen_bad: list[int] = []

        def reader() -> None:
            while not stop.is_set():
                got = _as_bytes(store.get("hot"))
                if got not in values:
                    seen_bad.append(len(got) if got is not None else -1)

        n_readers = max(1, self.concurrency_threads // 2)
        readers = [threading.Thread(target=reader) for _ in range(n_readers)]
        for r in readers:
            r.start()
        try:
            for i in range(100):
                store.set("hot", values[i % len(values)])
        finally:
            stop.set()
            for r in readers:
                r.join()
        assert seen_bad == []
