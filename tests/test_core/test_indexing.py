"""Indexers against numpy: a tiny dict-of-chunks array read and written via projections."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zarrfast.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    ChunkProjection,
    CoordinateIndexer,
    MaskIndexer,
    OrthogonalIndexer,
    broadcast_value,
    check_fields,
    classify_selection,
    make_indexer,
    normalize_integer_selection,
    pop_fields,
    replace_ellipsis,
)
from zarrfast.errors import BoundsCheckError, SelectionError, ShapeMismatchError

FILL = -1  # padding of edge chunks; must never reach an output
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- reference array
class ChunkedRef:
    """A dict of full-size chunk arrays built from a numpy array."""

    def __init__(self, ref: np.ndarray, chunk_shape: tuple[int, ...]) -> None:
        self.shape = ref.shape
        self.chunk_shape = chunk_shape
        self.grid = tuple(-(-s // c) for s, c in zip(ref.shape, chunk_shape))
        self.chunks: dict[tuple[int, ...], np.ndarray] = {}
        for coords in itertools.product(*(range(g) for g in self.grid)):
            chunk = np.full(chunk_shape, FILL, dtype=ref.dtype)
            region = self.region(coords)
            chunk[tuple(slice(0, r.stop - r.start) for r in region)] = ref[region]
            self.chunks[coords] = chunk

    def region(self, coords: tuple[int, ...]) -> tuple[slice, ...]:
        return tuple(
            slice(k * c, min((k + 1) * c, s))
            for k, c, s in zip(coords, self.chunk_shape, self.shape)
        )

    def inbounds(self, coords: tuple[int, ...]) -> tuple[slice, ...]:
        return tuple(slice(0, r.stop - r.start) for r in self.region(coords))

    def assemble(self) -> np.ndarray:
        out = np.empty(self.shape, dtype=np.int64)
        for coords, chunk in self.chunks.items():
            out[self.region(coords)] = chunk[self.inbounds(coords)]
        return out


def check_projections(indexer: Any, cref: ChunkedRef, points: bool) -> list[ChunkProjection]:
    projections = list(indexer)
    assert indexer.nchunks == len(projections)
    assert indexer.flat_out is points
    coords = [p.chunk_coords for p in projections]
    assert coords == sorted(coords), "chunks must come in C order"
    assert len(set(coords)) == len(coords)
    for p in projections:
        chunk = cref.chunks[p.chunk_coords]
        # completeness flag against a brute-force touched map
        touched = np.zeros(cref.chunk_shape, dtype=bool)
        touched[p.chunk_selection] = True
        assert p.is_complete_chunk == bool(touched[cref.inbounds(p.chunk_coords)].all())
        if not points:
            dummy = np.empty(indexer.shape, dtype=np.int8)
            assert chunk[p.chunk_selection].shape == dummy[p.out_selection].shape
        else:
            assert isinstance(p.out_selection, np.ndarray) and p.out_selection.ndim == 1
    return projections


def get(indexer: Any, cref: ChunkedRef, points: bool = False) -> np.ndarray:
    out = np.full(indexer.shape, -7, dtype=np.int64)
    for p in check_projections(indexer, cref, points):
        values = cref.chunks[p.chunk_coords][p.chunk_selection]
        assert not np.any(values == FILL), "read padding of an edge chunk"
        if points:
            out.reshape(-1)[p.out_selection] = values
        else:
            out[p.out_selection] = values
    return out


def put(indexer: Any, cref: ChunkedRef, value: np.ndarray, points: bool = False) -> np.ndarray:
    value = broadcast_value(value, indexer.shape)
    for p in indexer:
        chunk = cref.chunks[p.chunk_coords]
        if points:
            chunk[p.chunk_selection] = value.reshape(-1)[p.out_selection]
        else:
            chunk[p.chunk_selection] = value[p.out_selection]
    return cref.assemble()


# --------------------------------------------------------------------------- strategies
@st.composite
def arrays_and_chunks(
    draw: Any, min_ndim: int = 0, max_ndim: int = 4
) -> tuple[np.ndarray, tuple[int, ...]]:
    ndim = draw(st.integers(min_ndim, max_ndim))
    max_len = 8 if ndim <= 2 else 5
    shape = tuple(draw(st.lists(st.integers(0, max_len), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.integers(1, max(1, s + 1))) for s in shape)
    ref = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return ref, chunks


def slices(n: int) -> st.SearchStrategy[slice]:
    bound = st.one_of(st.none(), st.integers(-n - 3, n + 3))
    step = st.one_of(st.none(), st.integers(-4, 4).filter(lambda x: x != 0))
    return st.builds(slice, bound, bound, step)


def ints(n: int) -> st.SearchStrategy[Any]:
    return st.integers(-n, n - 1).flatmap(
        lambda i: st.sampled_from([i, np.int32(i), np.array(i, dtype=np.int64)])
    )


def int_arrays(n: int) -> st.SearchStrategy[Any]:
    """Unsorted, with duplicates and negatives; as list or array."""
    if n == 0:
        return st.just(np.array([], dtype=np.intp)) | st.just([])
    lst = st.lists(st.integers(-n, n - 1), min_size=0, max_size=8)
    return lst.flatmap(lambda v: st.sampled_from([v, np.array(v, dtype=np.int64)]))


def masks(n: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.array(v, dtype=bool))


@st.composite
def basic_selections(draw: Any, shape: tuple[int, ...]) -> Any:
    entries: list[Any] = []
    for n in shape:
        options = [slices(n)] + ([ints(n)] if n > 0 else [])
        entries.append(draw(st.one_of(*options)))
    # drop some trailing entries, insert newaxis, maybe replace a run with Ellipsis
    keep = draw(st.integers(0, len(entries)))
    if keep < len(entries) and draw(st.booleans()):
        a = draw(st.integers(0, keep))
        entries = [*entries[:a], Ellipsis, *entries[keep:]]
    elif draw(st.booleans()):
        entries = entries[:keep]
    for _ in range(draw(st.integers(0, 2))):
        entries.insert(draw(st.integers(0, len(entries))), None)
    if len(entries) == 1 and draw(st.booleans()):
        return entries[0]
    return tuple(entries)


@st.composite
def orthogonal_selections(draw: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    entries: list[Any] = []
    for n in shape:
        options = [slices(n), int_arrays(n), masks(n)] + ([ints(n)] if n > 0 else [])
        entries.append(draw(st.one_of(*options)))
    return tuple(entries)


# --------------------------------------------------------------------------- orthogonal reference
def ortho_ref(a: np.ndarray, sel: tuple[Any, ...]) -> np.ndarray:
    """Outer indexing one axis at a time (independent of the code under test)."""
    axis = 0
    for s in sel:
        if isinstance(s, slice):
            a = a[(slice(None),) * axis + (s,)]
            axis += 1
        elif np.ndim(s) == 0:
            a = np.take(a, int(s), axis=axis)
        else:
            arr = np.asarray(s)
            arr = arr.astype(np.intp) if arr.size == 0 and arr.dtype != bool else arr
            a = a[(slice(None),) * axis + (arr,)]
            axis += 1
    return a


def ortho_set_ref(ref: np.ndarray, sel: tuple[Any, ...], value: np.ndarray) -> np.ndarray:
    flat_ids = ortho_ref(np.arange(ref.size).reshape(ref.shape), sel)
    out = ref.copy()
    out.reshape(-1)[flat_ids.reshape(-1)] = np.broadcast_to(value, flat_ids.shape).reshape(-1)
    return out


# --------------------------------------------------------------------------- property tests
@SETTINGS
@given(data=st.data(), rc=arrays_and_chunks())
def test_basic_matches_numpy(data: Any, rc: Any) -> None:
    ref, chunks = rc
    sel = data.draw(basic_selections(ref.shape))
    expected = ref[sel]
    indexer = make_indexer(sel, ref.shape, chunks, "basic")
    assert indexer.shape == expected.shape
    np.testing.assert_array_equal(get(indexer, ChunkedRef(ref, chunks)), expected)

    value = -(np.arange(expected.size, dtype=np.int64).reshape(expected.shape) + 10)
    ref2 = ref.copy()
    ref2[sel] = value
    np.testing.assert_array_equal(put(indexer, ChunkedRef(ref, chunks), value), ref2)
    if expected.size == 0:
        assert all(not touched_any(p, chunks) for p in indexer)


def touched_any(p: ChunkProjection, chunks: tuple[int, ...]) -> bool:
    t = np.zeros(chunks, dtype=bool)
    t[p.chunk_selection] = True
    return bool(t.any())


@SETTINGS
@given(data=st.data(), rc=arrays_and_chunks(min_ndim=1))
def test_orthogonal_matches_numpy(data: Any, rc: Any) -> None:
    ref, chunks = rc
    sel = data.draw(orthogonal_selections(ref.shape))
    expected = ortho_ref(ref, sel)
    indexer = make_indexer(sel, ref.shape, chunks, "orthogonal")
    assert indexer.shape == expected.shape
    np.testing.assert_array_equal(get(indexer, ChunkedRef(ref, chunks)), expected)

    value = -(np.arange(expected.size, dtype=np.int64).reshape(expected.shape) + 10)
    expected_set = ortho_set_ref(ref, sel, value)
    np.testing.assert_array_equal(put(indexer, ChunkedRef(ref, chunks), value), expected_set)


@SETTINGS
@given(data=st.data(), rc=arrays_and_chunks(min_ndim=1))
def test_orthogonal_all_arrays_matches_np_ix(data: Any, rc: Any) -> None:
    ref, chunks = rc
    sel = tuple(data.draw(st.one_of(int_arrays(n), masks(n))) for n in ref.shape)
    np_sel = tuple(np.asarray(s) if len(s) else np.array([], dtype=np.intp) for s in sel)
    expected = ref[np.ix_(*np_sel)]
    indexer = OrthogonalIndexer(sel, ref.shape, chunks)
    np.testing.assert_array_equal(get(indexer, ChunkedRef(ref, chunks)), expected)
    value = -(np.arange(expected.size, dtype=np.int64).reshape(expected.shape) + 10)
    ref2 = ref.copy()
    ref2[np.ix_(*np_sel)] = value
    np.testing.assert_array_equal(put(indexer, ChunkedRef(ref, chunks), value), ref2)


@st.composite
def coordinate_selections(draw: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    bshape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    entries: list[Any] = []
    if 0 in shape:  # only an empty broadcast can index a zero-length dim
        bshape = (*bshape[:-1], 0) if bshape else (0,)
    for n in shape:
        kind = draw(st.sampled_from(["full", "row", "scalar", "list"]))
        if n == 0:
            kind = "full"
        hi = max(n, 1)
        if kind == "full":
            size = int(np.prod(bshape))
            values = draw(st.lists(st.integers(-hi, hi - 1), min_size=size, max_size=size))
            entries.append(np.asarray(values, dtype=np.int64).reshape(bshape))
        elif kind == "row":
            last = bshape[-1] if bshape else 1
            values = draw(st.lists(st.integers(-n, n - 1), min_size=last, max_size=last))
            entries.append(np.array(values, dtype=np.int64))
        elif kind == "scalar":
            entries.append(draw(st.integers(-n, n - 1)))
        else:
            entries.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=1)))
    return tuple(entries)


@SETTINGS
@given(data=st.data(), rc=arrays_and_chunks(min_ndim=1))
def test_vindex_matches_numpy(data: Any, rc: Any) -> None:
    ref, chunks = rc
    sel = data.draw(coordinate_selections(ref.shape))
    expected = ref[sel]
    indexer = make_indexer(sel, ref.shape, chunks, "vindex")
    assert isinstance(indexer, CoordinateIndexer)
    assert indexer.shape == expected.shape
    np.testing.assert_array_equal(get(indexer, ChunkedRef(ref, chunks), points=True), expected)

    value = -(np.arange(expected.size, dtype=np.int64).reshape(expected.shape) + 10)
    ref2 = ref.copy()
    ref2[sel] = value  # duplicates: last wins in numpy and in the projections
    np.testing.assert_array_equal(put(indexer, ChunkedRef(ref, chunks), value, points=True), ref2)


@SETTINGS
@given(data=st.data(), rc=arrays_and_chunks())
def test_mask_matches_numpy(data: Any, rc: Any) -> None:
    ref, chunks = rc
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=ref.size, max_size=ref.size)), dtype=bool
    ).reshape(ref.shape)
    expected = ref[mask]
    indexer = make_indexer(mask, ref.shape, chunks, "vindex")
    assert isinstance(indexer, MaskIndexer)
    assert indexer.shape == expected.shape
    np.testing.assert_array_equal(get(indexer, ChunkedRef(ref, chunks), points=True), expected)
    value = -(np.arange(expected.size, dtype=np.int64) + 10)
    ref2 = ref.copy()
    ref2[mask] = value
    np.testing.assert_array_equal(put(indexer, ChunkedRef(ref, chunks), value, points=True), ref2)


@SETTINGS
@given(data=st.data(), rc=arrays_and_chunks(min_ndim=1))
def test_blocks_matches_reference(data: Any, rc: Any) -> None:
    ref, chunks = rc
    grid = tuple(-(-s // c) for s, c in zip(ref.shape, chunks))
    sel = []
    for g in grid:
        opts = [
            st.builds(
                slice,
                st.none() | st.integers(-g - 2, g + 2),
                st.none() | st.integers(-g - 2, g + 2),
            )
        ]
        if g:
            opts.append(st.integers(-g, g - 1))
        sel.append(data.draw(st.one_of(*opts)))
    # reference: keep the elements whose chunk index is among the selected blocks
    ortho = []
    for s, g, n, c in zip(sel, grid, ref.shape, chunks):
        chosen = np.arange(g)[s] if isinstance(s, slice) else np.array([s % g])
        ortho.append(np.isin(np.arange(n) // c, chosen))
    expected = ortho_ref(ref, tuple(ortho))
    indexer = make_indexer(tuple(sel), ref.shape, chunks, "blocks")
    assert isinstance(indexer, BlockIndexer)
    np.testing.assert_array_equal(get(indexer, ChunkedRef(ref, chunks)), expected)


@SETTINGS
@given(data=st.data(), rc=arrays_and_chunks(min_ndim=1, max_ndim=3))
def test_classify_matches_numpy_for_vindex_and_basic(data: Any, rc: Any) -> None:
    ref, chunks = rc
    sel = data.draw(basic_selections(ref.shape))
    assert classify_selection(sel, ref.ndim) == "basic"
    if ref.size:
        sel2 = data.draw(coordinate_selections(ref.shape))
        if any(isinstance(s, list) or np.ndim(s) >= 1 for s in sel2):
            assert classify_selection(sel2, ref.ndim) == "vindex"
            got = get(
                make_indexer(sel2, ref.shape, chunks, "vindex"), ChunkedRef(ref, chunks), True
            )
            np.testing.assert_array_equal(got, ref[sel2])


# --------------------------------------------------------------------------- explicit cases
def test_zero_d_array() -> None:
    ref = np.array(5, dtype=np.int64)
    cref = ChunkedRef(ref, ())
    for sel in [(), Ellipsis]:
        indexer = BasicIndexer(sel, (), ())
        (p,) = list(indexer)
        assert p.chunk_coords == () and p.is_complete_chunk and indexer.shape == ()
        assert get(indexer, cref) == 5
    indexer = BasicIndexer((None, ...), (), ())
    assert indexer.shape == (1,)
    np.testing.assert_array_equal(get(indexer, cref), ref[None, ...])
    assert make_indexer((), (), (), "vindex").shape == ()
    assert make_indexer(np.array(True), (), (), "vindex").shape == (1,)


def test_zero_length_dims_have_no_projections() -> None:
    assert BasicIndexer(slice(None), (0, 3), (2, 2)).shape == (0, 3)
    assert BasicIndexer(slice(None), (0, 3), (2, 2)).nchunks == 0
    assert list(BasicIndexer((slice(None), slice(2, 2)), (4, 3), (2, 2))) == []
    assert OrthogonalIndexer(([], slice(None)), (4, 3), (2, 2)).shape == (0, 3)
    assert CoordinateIndexer((np.zeros((2, 0), int), 1), (4, 3), (2, 2)).shape == (2, 0)
    assert CoordinateIndexer((np.zeros((2, 0), int), 1), (4, 3), (2, 2)).nchunks == 0


def test_negative_step_projection_layout() -> None:
    (p0, p1, p2) = list(BasicIndexer(slice(None, None, -3), (10,), (4,)))
    assert [p.chunk_coords for p in (p0, p1, p2)] == [(0,), (1,), (2,)]
    # elements 9, 6, 3, 0: chunk 0 holds 3 and 0 -> output positions 2, 3
    assert p0.chunk_selection == (slice(3, None, -3),) and p0.out_selection == (slice(2, 4),)


def test_orthogonal_ix_form_and_drops() -> None:
    indexer = OrthogonalIndexer(([3, 0], 1, slice(None), [2, 0]), (4, 3, 5, 3), (2, 2, 2, 2))
    assert indexer.shape == (2, 5, 2) and indexer.drop_axes == (1,)
    for p in indexer:
        arrays = [s for s in p.chunk_selection if isinstance(s, np.ndarray)]
        assert len(arrays) == 3 and all(a.ndim == 3 for a in arrays)
    # one array, no ints: plain slices and one array
    (p,) = list(OrthogonalIndexer((slice(None), [1, 0]), (2, 2), (2, 2)))
    assert p.chunk_selection[0] == slice(0, 2, 1) and p.chunk_selection[1].ndim == 1
    # int separated from the array (numpy would move the advanced axis to the front)
    ref = np.arange(60).reshape(3, 4, 5)
    sel = (1, slice(None), [4, 0, 2])
    np.testing.assert_array_equal(
        get(OrthogonalIndexer(sel, ref.shape, (2, 3, 2)), ChunkedRef(ref, (2, 3, 2))),
        ref[1][:, [4, 0, 2]],
    )


def test_duplicates_last_write_wins() -> None:
    ref = np.zeros(6, dtype=np.int64)
    indexer = OrthogonalIndexer(([4, 1, 4, 1],), (6,), (2,))
    got = put(indexer, ChunkedRef(ref, (2,)), np.array([10, 20, 30, 40]))
    np.testing.assert_array_equal(got, [0, 40, 0, 0, 30, 0])
    indexer2 = CoordinateIndexer((np.array([5, 0, 5]),), (6,), (2,))
    got = put(indexer2, ChunkedRef(ref, (2,)), np.array([1, 2, 3]), points=True)
    np.testing.assert_array_equal(got, [2, 0, 0, 0, 0, 3])


def test_is_complete_chunk_edges() -> None:
    flags = {p.chunk_coords: p.is_complete_chunk for p in BasicIndexer(slice(1, None), (5,), (2,))}
    assert flags == {(0,): False, (1,): True, (2,): True}
    flags = {
        p.chunk_coords: p.is_complete_chunk for p in OrthogonalIndexer(([4, 3, 2, 3],), (5,), (2,))
    }
    assert flags == {(1,): True, (2,): True}
    flags = {p.chunk_coords: p.is_complete_chunk for p in CoordinateIndexer(([4, 0],), (5,), (2,))}
    assert flags == {(0,): False, (2,): True}


@pytest.mark.parametrize(
    ("selection", "ndim", "mode"),
    [
        ((1, slice(None)), 2, "basic"),
        ((Ellipsis, None), 2, "basic"),
        ((np.array(1), 2), 2, "basic"),
        ([1, 2], 1, "vindex"),
        (np.array([True, False]), 1, "vindex"),
        (np.ones((2, 2), bool), 2, "vindex"),
        (([1, 2], [0, 1]), 2, "vindex"),
        ((1, np.array([[0, 1]])), 2, "vindex"),
        ([1, 2], 2, "orthogonal"),
        (([1, 2], slice(None)), 2, "orthogonal"),
        ((Ellipsis, [1, 2]), 2, "orthogonal"),
        ((np.array([True, False]), slice(None)), 2, "orthogonal"),
        (np.array([True, False]), 2, "orthogonal"),
        (("f0", [1, 2], [0, 1]), 2, "vindex"),
    ],
)
def test_classify_selection(selection: Any, ndim: int, mode: str) -> None:
    assert classify_selection(selection, ndim) == mode


def test_classify_agrees_with_numpy_for_single_array() -> None:
    ref = np.arange(30).reshape(5, 6)
    for sel in ([3, 1, 3], (slice(1, 4), [5, 0]), (Ellipsis, [2, 2]), (np.arange(5) % 2 == 0)):
        mode = classify_selection(sel, 2)
        indexer = make_indexer(sel, ref.shape, (2, 4), mode)
        np.testing.assert_array_equal(get(indexer, ChunkedRef(ref, (2, 4))), ref[sel])


# --------------------------------------------------------------------------- errors
def test_out_of_bounds_int_message() -> None:
    with pytest.raises(
        BoundsCheckError, match=r"index 12 is out of bounds for axis 0 with size 10"
    ):
        BasicIndexer(12, (10,), (3,))
    with pytest.raises(
        BoundsCheckError, match=r"index -11 is out of bounds for axis 1 with size 10"
    ):
        BasicIndexer((0, -11), (2, 10), (1, 3))
    with pytest.raises(IndexError):  # also a builtin IndexError
        normalize_integer_selection(10, 10)
    assert normalize_integer_selection(-1, 10) == 9
    assert normalize_integer_selection(np.int16(3), 10) == 3


def test_out_of_bounds_arrays() -> None:
    with pytest.raises(BoundsCheckError, match=r"index 7 is out of bounds for axis 1 with size 5"):
        OrthogonalIndexer((slice(None), [0, 7, 9]), (3, 5), (2, 2))
    with pytest.raises(BoundsCheckError, match=r"index -4 is out of bounds for axis 0 with size 3"):
        CoordinateIndexer(([0, -4], [1, 1]), (3, 5), (2, 2))
    with pytest.raises(
        BoundsCheckError, match=r"block index 3 is out of bounds for axis 0 with 3 blocks"
    ):
        BlockIndexer(3, (5,), (2,))


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (
            lambda: BasicIndexer((0, 0, 0), (2, 2), (1, 1)),
            r"too many indices.*2-dimensional, but 3",
        ),
        (
            lambda: BasicIndexer((..., 0, ...), (2, 2), (1, 1)),
            r"at most one Ellipsis in a selection, got 2",
        ),
        (lambda: BasicIndexer(1.5, (4,), (2,)), r"axis 0.*float 1.5"),
        (lambda: BasicIndexer(True, (4,), (2,)), r"axis 0.*bool True"),
        (lambda: BasicIndexer(slice(0, 3, 0), (4,), (2,)), r"slice step cannot be zero \(axis 0\)"),
        (lambda: BasicIndexer(slice(0.5, 3), (4,), (2,)), r"slice start on axis 0.*float 0.5"),
        (lambda: BasicIndexer([0, 1], (4,), (2,)), r"basic indexing.*use orthogonal"),
        (
            lambda: OrthogonalIndexer(np.ones(3, bool), (4,), (2,)),
            r"mask of length 4 for axis 0, got length 3",
        ),
        (
            lambda: OrthogonalIndexer(np.ones((2, 2), int), (4, 4), (2, 2)),
            r"1-d integer or boolean array for axis 0.*2-d",
        ),
        (
            lambda: OrthogonalIndexer(np.array([0.5]), (4,), (2,)),
            r"integer or boolean array for axis 0, got.*float64",
        ),
        (lambda: OrthogonalIndexer((None, 0), (4,), (2,)), r"newaxis"),
        (lambda: OrthogonalIndexer((0, 0), (4,), (2,)), r"too many indices"),
        (lambda: OrthogonalIndexer(slice(None, None, 0), (4,), (2,)), r"step cannot be zero"),
        (
            lambda: CoordinateIndexer(([0, 1],), (4, 4), (2, 2)),
            r"one integer array per dimension \(2\).*got 1",
        ),
        (
            lambda: CoordinateIndexer(([0, 1], slice(None)), (4, 4), (2, 2)),
            r"integer array for axis 1 in vindex, got slice",
        ),
        (
            lambda: CoordinateIndexer(([0, 1], [0, 1, 2]), (4, 4), (2, 2)),
            r"broadcast together, got shapes \(2,\), \(3,\)",
        ),
        (lambda: CoordinateIndexer(([True, False],), (2,), (2,)), r"got a boolean array"),
        (lambda: CoordinateIndexer((np.array([1.0]),), (2,), (2,)), r"float64"),
        (
            lambda: MaskIndexer(np.ones((2, 3), bool), (2, 2), (1, 1)),
            r"mask of shape \(2, 2\), got shape \(2, 3\)",
        ),
        (lambda: MaskIndexer(np.ones((2, 2), int), (2, 2), (1, 1)), r"boolean mask"),
        (
            lambda: BlockIndexer(slice(0, 2, 2), (4,), (2,)),
            r"step 1 for block indexing on axis 0, got 2",
        ),
        (lambda: BlockIndexer([0], (4,), (2,)), r"int or slice for axis 0 in block indexing"),
        (lambda: make_indexer(0, (4,), (2,), "fancy"), r"indexing mode.*got 'fancy'"),  # type: ignore[arg-type]
    ],
)
def test_selection_errors(factory: Any, match: str) -> None:
    with pytest.raises(SelectionError, match=match):
        factory()


def test_grid_errors_and_value_broadcast() -> None:
    with pytest.raises(ValueError, match=r"chunk_shape with 2 dimensions"):
        BasicIndexer((), (2, 2), (1,))
    with pytest.raises(ValueError, match=r"positive chunk sizes"):
        BasicIndexer((), (2,), (0,))
    with pytest.raises(ShapeMismatchError, match=r"selection shape \(2, 3\), got shape \(2,\)"):
        broadcast_value(np.ones(2), (2, 3))
    assert broadcast_value(1, (2, 3)).shape == (2, 3)


def test_fields_helpers() -> None:
    dt = np.dtype([("a", "i4"), ("b", "f8")])
    assert pop_fields(("a", 1)) == ("a", 1)
    assert pop_fields("a") == ("a", ())
    assert pop_fields(("a", "b", 1, 2)) == (["a", "b"], (1, 2))
    assert check_fields(None, dt) == dt
    assert check_fields("a", dt) == np.dtype("i4")
    assert check_fields(["b"], dt).names == ("b",)
    with pytest.raises(SelectionError, match=r"field 'c' not found"):
        check_fields("c", dt)
    with pytest.raises(SelectionError, match=r"structured dtype"):
        check_fields("a", np.dtype("i4"))


def test_replace_ellipsis() -> None:
    assert replace_ellipsis((0, ...), 3) == (0, slice(None), slice(None))
    assert replace_ellipsis((None, ..., 1), 2) == (None, slice(None), 1)
    assert replace_ellipsis(0, 2) == (0, slice(None))


@given(
    lo=st.integers(0, 5000),
    n=st.integers(1, 300),
    stride=st.integers(1, 40),
    chunk_len=st.integers(1, 97),
)
@settings(max_examples=300, deadline=None)
def test_slice_projection_loop_equals_vector_form(
    lo: int, n: int, stride: int, chunk_len: int
) -> None:
    """The plain-loop projection of short spans is the numpy form, column for column."""
    from zarrfast.core.indexing import _slice_columns, _slice_columns_scalar

    hi = lo + (n - 1) * stride
    dim_len = hi + 1 + lo % 7
    assume(stride < chunk_len)  # the loop form is only used below one element per chunk
    got = _slice_columns_scalar(lo, hi, stride, dim_len, chunk_len)
    assert got == _slice_columns(lo, hi, n, stride, dim_len, chunk_len)
    assert all(type(v) is int for v in got[0] + got[1] + got[2] + got[3])
