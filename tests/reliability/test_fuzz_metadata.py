"""Malformed and hostile metadata JSON given to ``zarrfast.open``.

Wrong types, huge shapes, negative or zero chunks, overflowing products, unknown codecs,
NaN/Infinity, deep nesting: opening (and reading one element of) whatever is stored must
either work or raise a zarrfast error - never a bare ``TypeError``/``KeyError``/
``OverflowError``, a crash, a hang or a large allocation.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import zarrfast as zf
from tests.reliability._budget import fuzz_settings
from zarrfast.storage.memory import MemoryStore
from zarrfast.testing.faults import assert_raises_cleanly

V3 = {
    "zarr_format": 3,
    "node_type": "array",
    "shape": [10, 20],
    "data_type": "int32",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 5]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 0,
    "codecs": [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 1, "checksum": False}},
    ],
    "attributes": {},
}
V2 = {
    "zarr_format": 2,
    "shape": [10, 20],
    "chunks": [5, 5],
    "dtype": "<i4",
    "compressor": {"id": "zstd", "level": 1},
    "fill_value": 0,
    "order": "C",
    "filters": None,
}

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    1,
    2**31,
    2**63 - 1,
    2**63,
    2**64,
    10**40,
    -(2**63),
    1.5,
    float("nan"),
    float("inf"),
    -float("inf"),
    "",
    "x",
    "10",
    [],
    [None],
    [-1],
    [0],
    [2**63],
    [10**30, 10**30],
    [float("nan")],
    [1.5],
    ["5"],
    [[5]],
    {},
    {"name": "nope"},
    [2**62, 2**62],
    [1] * 64,
    list(range(1, 40)),
]
SHAPE_KEYS_V3 = [("shape",), ("chunk_grid", "configuration", "chunk_shape")]
SHAPE_KEYS_V2 = [("shape",), ("chunks",)]


def _json(value: Any) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=12),
        lambda kids: (
            st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=8), kids, max_size=5)
        ),
        max_leaves=12,
    )


def _set_path(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = doc
    for p in path[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[path[-1]] = value


def _all_paths(doc: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out.extend(_all_paths(v, (*prefix, k)))
    return out


def _open_and_touch(doc: Any, v2: bool) -> None:
    store = MemoryStore()
    text = doc if isinstance(doc, (str, bytes)) else json.dumps(doc, allow_nan=True)
    store.set(".zarray" if v2 else "zarr.json", text.encode() if isinstance(text, str) else text)
    node = assert_raises_cleanly(zf.open, store, mode="r")
    # Touch one element: chunk-grid arithmetic on hostile sizes must not overflow.
    if isinstance(node, zf.Array) and node.ndim and all(s > 0 for s in node.shape):
        assert_raises_cleanly(lambda: node[(0,) * node.ndim])
        assert_raises_cleanly(lambda: node[tuple(s - 1 for s in node.shape)])


@pytest.mark.parametrize("v2", [False, True])
def test_known_hostile_values_in_shape_fields(v2: bool) -> None:
    base = V2 if v2 else V3
    for path in SHAPE_KEYS_V2 if v2 else SHAPE_KEYS_V3:
        for value in HOSTILE_VALUES:
            doc = json.loads(json.dumps(base))
            _set_path(doc, path, value)
            _open_and_touch(doc, v2)


@pytest.mark.parametrize(
    "doc",
    [
        "",
        "{",
        "null",
        "[]",
        "42",
        '"zarr"',
        '{"zarr_format": 3}',
        "\xff\xfe",
        "NaN",
        "{" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**V3, "codecs": [{"name": "no-such-codec"}]}),
        json.dumps({**V3, "codecs": [{"name": "zstd", "configuration": {"level": "max"}}]}),
        json.dumps({**V3, "codecs": []}),
        json.dumps({**V3, "codecs": "zstd"}),
        json.dumps({**V3, "data_type": "float1024"}),
        json.dumps({**V3, "data_type": {"name": "r8", "configuration": "x"}}),
        json.dumps({**V3, "fill_value": "not-a-number"}),
        json.dumps({**V3, "fill_value": [1, 2]}),
        json.dumps({**V3, "chunk_grid": {"name": "rectilinear"}}),
        json.dumps(
            {**V3, "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "\\"}}}
        ),
        json.dumps({**V3, "node_type": "blob"}),
        json.dumps({**V3, "zarr_format": 4}),
        json.dumps({**V3, "dimension_names": [1, 2, 3]}),
        json.dumps(
            {
                **V3,
                "shape": [2**40, 2**40],
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 1]}},
            }
        ),
        json.dumps(
            {
                **V3,
                "codecs": [
                    {
                        "name": "sharding_indexed",
                        "configuration": {
                            "chunk_shape": [0, 5],
                            "codecs": [{"name": "bytes"}],
                            "index_codecs": [{"name": "bytes"}],
                        },
                    }
                ],
            }
        ),
        json.dumps(
            {
                **V3,
                "codecs": [
                    {
                        "name": "sharding_indexed",
                        "configuration": {
                            "chunk_shape": [1, 1],
                            "codecs": [{"name": "bytes"}],
                            "index_codecs": [{"name": "bytes"}, {"name": "crc32c"}],
                        },
                    }
                ],
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2**31, 2**31]}},
            }
        ),
    ],
)
def test_known_malformed_v3_documents(doc: str) -> None:
    _open_and_touch(doc, v2=False)


@pytest.mark.parametrize(
    "doc",
    [
        {**V2, "compressor": {"id": "no-such"}},
        {**V2, "compressor": "zstd"},
        {**V2, "filters": [{"id": "delta"}]},
        {**V2, "filters": {"id": "delta"}},
        {**V2, "dtype": "|O"},
        {**V2, "dtype": "<i999"},
        {**V2, "dtype": [["a", "<i4"], ["b", "<f8", [2**40]]]},
        {**V2, "order": "Z"},
        {**V2, "dimension_separator": "\x00"},
        {**V2, "fill_value": float("nan"), "dtype": "<i4"},
        {**V2, "shape": [2**40, 2**40], "chunks": [1, 1]},
    ],
)
def test_known_malformed_v2_documents(doc: dict[str, Any]) -> None:
    _open_and_touch(doc, v2=True)


@pytest.mark.parametrize("v2", [False, True])
@fuzz_settings
@given(data=st.data())
def test_fuzz_metadata_field_replacement(v2: bool, data: st.DataObject) -> None:
    doc = json.loads(json.dumps(V2 if v2 else V3))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_all_paths(doc) or [("shape",)]))
        value = data.draw(st.sampled_from(HOSTILE_VALUES) | _json(None))
        if data.draw(st.booleans()) and len(path) == 1 and path[0] in doc:
            del doc[path[0]]
        else:
            _set_path(doc, path, value)
    _open_and_touch(doc, v2)


@fuzz_settings
@given(
    shape=st.lists(st.integers(-2, 2**64), min_size=0, max_size=6),
    chunks=st.lists(st.one_of(st.integers(-2, 2**64), st.floats()), min_size=0, max_size=6),
)
def test_fuzz_shapes_and_chunks(shape: list[int], chunks: list[Any]) -> None:
    doc = json.loads(json.dumps(V3))
    doc["shape"] = shape
    doc["chunk_grid"]["configuration"]["chunk_shape"] = [
        c if not (isinstance(c, float) and math.isnan(c)) else float("nan") for c in chunks
    ]
    _open_and_touch(doc, v2=False)


def test_valid_documents_still_open() -> None:
    for doc, v2 in ((V3, False), (V2, True)):
        store = MemoryStore()
        store.set(".zarray" if v2 else "zarr.json", json.dumps(doc).encode())
        arr = zf.open(store, mode="r")
        assert isinstance(arr, zf.Array) and arr.shape == (10, 20)
        np.testing.assert_array_equal(arr[:2, :2], 0)
