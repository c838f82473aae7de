"""Hostile keys and paths never escape a store's root (filesystem, zip, LMDB, wrappers).

``..`` segments, absolute paths, NUL bytes and backslashes are refused by
:func:`zarrfast.abc.store.validate_key` in every backend; these tests check the effect
(nothing appears outside the root) rather than the rule, including zip-slip members in
a zip file written by someone else and node paths given to ``create``/``open``.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import zarrfast as zf
from zarrfast.abc.store import Store
from zarrfast.errors import InvalidKeyError, ZarrfastError
from zarrfast.storage.lmdb import LMDBStore
from zarrfast.storage.local import LocalStore
from zarrfast.storage.memory import MemoryStore
from zarrfast.storage.mock import MockStore
from zarrfast.storage.retrying import RetryingStore
from zarrfast.storage.zip import ZipStore
from zarrfast.testing import INVALID_KEYS

HOSTILE = (
    *INVALID_KEYS,
    "../../../../../../tmp/zf-escape",
    "a/../../../escape",
    "..%2f..%2fescape/..",
    "c/../../escape",
    "c/0/../../../escape",
    "/etc/passwd",
    "//server/share",
    "C:\\windows\\escape",
    "c:/escape/..",
    "a\\..\\..\\escape",
    "ok/\x00/../escape",
    "\x00",
    "a/\\",
    "./escape",
    "escape/.",
)

BACKENDS: dict[str, Callable[[Path], Store]] = {
    "filesystem": lambda d: LocalStore(d / "root"),
    "zip": lambda d: ZipStore(str(d / "root" / "a.zip"), mode="w"),
    "lmdb": lambda d: LMDBStore(str(d / "root" / "db")),
    "memory": lambda d: MemoryStore(),
    "mock-over-filesystem": lambda d: MockStore(LocalStore(d / "root")),
    "retrying-over-filesystem": lambda d: RetryingStore(LocalStore(d / "root"), backoff=(0, 0)),
}


def _snapshot(top: Path) -> set[str]:
    return {str(p.relative_to(top)) for p in top.rglob("*")}


@pytest.fixture(params=sorted(BACKENDS))
def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    top = tmp_path / "sandbox"
    (top / "root").mkdir(parents=True)
    store = BACKENDS[request.param](top)
    yield top, store
    store.close()


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_keys_refused_and_nothing_escapes(sandbox: Any, key: str) -> None:
    top, store = sandbox
    outside_before = _snapshot(top) - {p for p in _snapshot(top) if p.startswith("root")}
    ops: list[Callable[[], Any]] = [
        lambda: store.set(key, b"pwned"),
        lambda: store.set_many([("fine", b"1"), (key, b"pwned")]),
        lambda: store.get(key),
        lambda: store.get_many([key]),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.delete_many([key]),
    ]
    for op in ops:
        with pytest.raises((InvalidKeyError, ZarrfastError)):
            op()
    # Prefixes: "" and "a/" are legal prefixes; whatever is legal must list only keys.
    for op in (
        lambda: list(store.list_prefix(key + "/")),
        lambda: list(store.list_dir(key)),
        lambda: store.delete_prefix(key + "/"),
    ):
        with contextlib.suppress(ZarrfastError):
            op()
    after = _snapshot(top)
    assert {p for p in after if not p.startswith("root")} == outside_before
    assert not any("pwned" in p or "escape" in p for p in after)
    assert store.get("fine") is None  # the batch with a bad key wrote nothing
    assert not (Path("/tmp") / "zf-escape").exists()


@pytest.mark.parametrize("path", ["../x", "/abs/../../x", "a/../../x", "a\\..\\x", "a/\x00"])
def test_node_paths_cannot_escape(tmp_path: Path, path: str) -> None:
    root = tmp_path / "root"
    with pytest.raises(ZarrfastError):
        zf.create((4,), chunks=(2,), store=LocalStore(root), path=path)
    with pytest.raises(ZarrfastError):
        zf.open_group(str(root), path=path, mode="w")
    assert {p.name for p in tmp_path.iterdir()} <= {"root"}


def test_zip_slip_members_are_never_served_or_extracted(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("zarr.json", b'{"zarr_format": 3, "node_type": "group", "attributes": {}}')
        for name in (
            "../escape",
            "../../etc/passwd",
            "/abs/escape",
            "a/../../escape",
            "back\\..\\..\\escape",
            "c/./0",
            "c//0",
        ):
            # (A NUL in a member name is cut there by zipfile itself when reading.)
            info = zipfile.ZipInfo(name)
            info.filename = name  # bypass zipfile's own normalisation on write
            z.writestr(info, b"pwned")
    st = ZipStore(str(evil), mode="r")
    keys = list(st.list_prefix(""))
    assert keys == ["zarr.json"]
    for k in keys:
        assert ".." not in k.split("/") and not k.startswith("/")
    assert st.refused_members
    g = zf.open_group(store=st, mode="r")
    assert list(g.keys()) == []
    st.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]


def test_url_paths_cannot_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(ZarrfastError):
        zf.open(f"file://{root}", path="../../outside", mode="w", shape=(2,))
    with pytest.raises(ZarrfastError):
        zf.open(f"zip://{tmp_path}/a.zip!/../../outside", mode="w", shape=(2,))
    assert not (tmp_path / "outside").exists()
