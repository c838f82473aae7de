"""One decision per array (native or Python, with the reason) and per request (issue 13)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import zarrfast as zf
from zarrfast.__main__ import main
from zarrfast.storage.memory import MemoryStore

pytest.importorskip("zarrfast._native._pipeline")


def _arr(**kw: Any) -> Any:
    kw.setdefault("shape", (20, 30))
    kw.setdefault("chunks", (8, 8))
    return zf.create(store=MemoryStore(), **kw)


def test_a_native_array_says_so() -> None:
    a = _arr(dtype="f8")
    assert a.engine.native and a.engine.reason is None
    assert a.engine.describe() == "native"
    assert "Engine" in a.info and "native" in a.info


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"dtype": str}, "variable-length data type"),
        ({"dtype": "f8", "compressor": "bz2"}, "bytes->bytes codec numcodecs.bz2"),
        (
            {"dtype": "f8", "zarr_format": 2, "filters": [{"id": "delta", "dtype": "<f8"}]},
            "array->array codec numcodecs.delta",
        ),
    ],
)
def test_a_python_array_says_why(kw: dict[str, Any], reason: str) -> None:
    a = _arr(**kw)
    assert not a.engine.native
    assert reason in (a.engine.reason or "")
    assert a.engine.describe().startswith("python (")


def test_requests_handed_to_python_are_counted_by_reason() -> None:
    a = _arr(dtype="i4")
    data = np.arange(600, dtype="i4").reshape(20, 30)
    a[...] = data
    assert a.engine.request_fallbacks == {}
    # integer-array reads and writes of an unsharded array run natively
    np.testing.assert_array_equal(a.vindex[[1, 2], [3, 4]], data[[1, 2], [3, 4]])
    np.testing.assert_array_equal(a.oindex[[1, 5], :], data[[1, 5], :])
    a.oindex[[0, 19], [0, 29]] = 7
    a.vindex[[1, 2], [3, 4]] = 8
    assert a.engine.request_fallbacks == {}
    # a buffer of another dtype does not (coordinate writes of sharded arrays do)
    out = np.empty((20, 30), dtype="i8")
    a._engine.read(
        zf.core.indexing.make_indexer(..., a.shape, a.chunks_for_io, "basic"), out, False
    )
    np.testing.assert_array_equal(out, a[...])  # the Python engine converts
    s = zf.create(shape=(20, 30), chunks=(4, 4), shards=(8, 8), dtype="i4", store=MemoryStore())
    s.oindex[[0, 19], [0, 29]] = 7
    s.vindex[[1, 2], [3, 4]] = 8
    assert a.engine.request_fallbacks == {"buffer dtype differs from the array dtype": 1}
    assert s.engine.request_fallbacks == {}  # both writes ran natively
    np.testing.assert_array_equal(s.vindex[[1, 2, 0], [3, 4, 29]], [8, 8, 7])
    s._engine.read(
        zf.core.indexing.make_indexer(..., s.shape, s.chunks_for_io, "basic"), out, False
    )
    assert s.engine.request_fallbacks == {"buffer dtype differs from the array dtype": 1}
    assert "python for" in s.engine.describe()


def test_cli_info_names_the_engine(tmp_path: Any, capsys: Any) -> None:
    path = str(tmp_path / "a")
    zf.create(shape=(4,), dtype="f8", compressor="bz2", path=path)
    assert main(["info", path]) == 0
    assert "Engine" in capsys.readouterr().out
    assert main(["info", path, "--json"]) == 0
    out = capsys.readouterr().out
    assert '"engine": "python"' in out and "numcodecs.bz2" in out


def test_config_engine_python_forces_the_python_engine() -> None:
    from zarrfast.config import set_config
    from zarrfast.core.pipeline import PythonEngine

    with set_config(engine="python"):
        a = _arr(dtype="f8")
    assert not a.engine.native and type(a._engine) is PythonEngine
    assert a.engine.reason == "config.engine is 'python'"
    with set_config(engine="turbo"), pytest.raises(ValueError, match="engine"):
        _arr(dtype="f8")
