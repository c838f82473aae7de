"""Opening what does not exist raises NodeNotFoundError and writes nothing (issue 11)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import zarrfast as zf
from zarrfast.errors import NodeNotFoundError
from zarrfast.storage.memory import MemoryStore


@pytest.mark.parametrize("mode", [None, "a", "r", "r+"])
def test_open_of_a_missing_directory_raises_and_creates_nothing(tmp_path: Path, mode: str) -> None:
    missing = tmp_path / "nope" / "deeper.zarr"
    kw = {} if mode is None else {"mode": mode}
    with pytest.raises(NodeNotFoundError) as info:
        zf.open(path=str(missing), **kw)
    assert isinstance(info.value, FileNotFoundError)
    assert "nope" in str(info.value)
    assert not (tmp_path / "nope").exists()
    assert os.listdir(tmp_path) == []


def test_open_of_an_empty_directory_raises_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(NodeNotFoundError, match="open_group"):
        zf.open(path=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_open_of_a_missing_node_in_a_store_raises() -> None:
    store = MemoryStore()
    zf.create(shape=(2,), dtype="i4", store=store, path="x")
    with pytest.raises(NodeNotFoundError):
        zf.open(store, path="y")
    assert not any(k.startswith("y") for k in store.list())


def test_shape_creates_and_open_group_creates_when_asked(tmp_path: Path) -> None:
    a = zf.open(path=str(tmp_path / "arr"), mode="a", shape=(3,), dtype="i2")
    assert isinstance(a, zf.Array) and a.shape == (3,)
    g = zf.open_group(path=str(tmp_path / "grp"), mode="a")
    assert isinstance(g, zf.Group)
    assert isinstance(zf.open(path=str(tmp_path / "grp")), zf.Group)
