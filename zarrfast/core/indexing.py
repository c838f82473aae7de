"""Selections to chunk projections on a regular chunk grid.

An *indexer* turns a user selection (``arr[...]``, ``arr.oindex[...]``, ``arr.vindex[...]``,
``arr.blocks[...]``) into a sequence of :class:`ChunkProjection`: for every chunk the
selection touches, which elements of that chunk are wanted and where they go in the output.
The read path and the write path use the same projections::

    out = np.empty(indexer.shape, dtype)
    for p in indexer:                                 # chunks in C order of chunk_coords
        chunk = read_chunk(p.chunk_coords)            # full chunk_shape array (edge chunks too)
        out[p.out_selection] = chunk[p.chunk_selection]          # basic / orthogonal / blocks
        out.reshape(-1)[p.out_selection] = chunk[p.chunk_selection]   # vindex / mask

    value = np.broadcast_to(value, indexer.shape)     # see broadcast_value()
    for p in indexer:
        chunk = (empty chunk) if p.is_complete_chunk else read_chunk(p.chunk_coords)
        chunk[p.chunk_selection] = value[p.out_selection]              # basic / orthogonal
        chunk[p.chunk_selection] = value.reshape(-1)[p.out_selection]  # vindex / mask

Writes with duplicate indices: within one chunk the indices keep their original relative
order (stable sort), so the last occurrence wins, exactly as numpy's ``ref[sel] = value``
does in practice.

The data model is deliberately flat (ints, slices, 1-d ``intp`` arrays) so that a later
Cython pass can take over the per-chunk loop without changing it. All per-element work is
vectorised with numpy; Python loops run once per touched chunk (per dimension), never per
element.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from zarrfast.errors import BoundsCheckError, MetadataError, SelectionError, ShapeMismatchError

__all__ = [
    "BasicIndexer",
    "BlockIndexer",
    "ChunkProjection",
    "CoordinateIndexer",
    "Indexer",
    "MaskIndexer",
    "OrthogonalIndexer",
    "broadcast_value",
    "check_fields",
    "classify_selection",
    "make_indexer",
    "normalize_integer_selection",
    "pop_fields",
    "replace_ellipsis",
]

IndexingMode: TypeAlias = Literal["basic", "orthogonal", "vindex", "blocks"]
_IntArray: TypeAlias = npt.NDArray[np.intp]
# One dimension's share of a projection: (chunk index along the dim, chunk-local selection,
# output selection or None when the dim is dropped, whether the dim is fully covered).
_DimProjection: TypeAlias = tuple[int, Any, Any, bool]


@dataclass(frozen=True, slots=True)
class ChunkProjection:
    """How one chunk takes part in a selection.

    Attributes
    ----------
    chunk_coords : tuple of int
        Grid coordinates of the chunk (``()`` for a 0-d array).
    chunk_selection : tuple
        Index for the *full* chunk-shaped array (edge chunks are addressed as if padded to
        ``chunk_shape``): ``chunk[chunk_selection]``. Entries are ints (axis dropped),
        slices (possibly with a negative step) or ``intp`` arrays. For orthogonal selections
        whose chunk side holds two or more arrays, or an array together with an int, every
        non-int entry is an ``intp`` array in open-mesh (``np.ix_``) form; for vindex/mask it
        is one 1-d ``intp`` array per dimension (points).
    out_selection : tuple or numpy.ndarray
        Where the values go. basic/orthogonal/blocks: a tuple with
        ``out[out_selection]`` having exactly the shape of ``chunk[chunk_selection]``
        (slices, ``intp`` arrays in ``np.ix_`` form when there are two or more, and ``0``
        for axes added by ``None``/``np.newaxis``). vindex/mask: a 1-d ``intp`` array of
        positions into the flattened (C order) output, used as
        ``out.reshape(-1)[out_selection]``.
    is_complete_chunk : bool
        The selection covers every element of the chunk that lies inside the array (for an
        edge chunk: its in-bounds part), so a write may skip reading the old chunk.
    """

    chunk_coords: tuple[int, ...]
    chunk_selection: tuple[Any, ...]
    out_selection: tuple[Any, ...] | _IntArray
    is_complete_chunk: bool


class Indexer(Protocol):
    """What every indexer offers: the result shape and the projections, in C chunk order."""

    shape: tuple[int, ...]
    drop_axes: tuple[int, ...]

    # True when out_selection indexes out.reshape(-1) (vindex / mask), False when it
    # indexes the output array itself.  A read-only property so the indexers may provide
    # it as a class-level constant.
    @property
    def flat_out(self) -> bool: ...

    def __iter__(self) -> Iterator[ChunkProjection]: ...

    @property
    def nchunks(self) -> int: ...


# --------------------------------------------------------------------------- helpers
def _check_grid(
    shape: Sequence[int], chunk_shape: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shape_t = tuple(int(s) for s in shape)
    chunks_t = tuple(int(c) for c in chunk_shape)
    if len(shape_t) != len(chunks_t):
        raise MetadataError(
            f"expected chunk_shape with {len(shape_t)} dimensions to match shape {shape_t}, "
            f"got {chunks_t}"
        )
    if any(s < 0 for s in shape_t):
        raise MetadataError(f"expected non-negative array shape, got {shape_t}")
    if any(c <= 0 for c in chunks_t):
        raise MetadataError(f"expected positive chunk sizes, got chunk_shape {chunks_t}")
    return shape_t, chunks_t


def _is_integer(x: Any) -> bool:
    """An int-like scalar: Python/numpy integer or a 0-d integer array; never a bool."""
    if isinstance(x, bool | np.bool_):
        return False
    if isinstance(x, numbers.Integral):
        return True
    return isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iu"


def _is_array_like(x: Any) -> bool:
    """A list or an array of dimension >= 1 (integer or bool content checked later)."""
    return isinstance(x, list) or (isinstance(x, np.ndarray) and x.ndim >= 1)


def _as_index_array(x: Any, axis: int | None = None) -> np.ndarray:
    """Convert a list/array to an integer (intp) or bool array; anything else is an error."""
    arr = np.asarray(x)
    if arr.size == 0 and arr.dtype.kind not in "iub":
        # `[]` comes out as float64; an empty selection is still a valid int selection.
        return arr.astype(np.intp)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind in "iu":
        return arr.astype(np.intp, copy=False)
    where = "" if axis is None else f" for axis {axis}"
    raise SelectionError(
        f"expected an integer or boolean array{where}, got an array of dtype {arr.dtype}"
    )


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.ndim}-d array of dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def normalize_integer_selection(i: Any, dim_len: int, axis: int = 0) -> int:
    """Check an integer index against a dimension and make it non-negative.

    Parameters
    ----------
    i : int-like
        Python or numpy integer, or a 0-d integer array. Negative values count from the end.
    dim_len : int
        Length of the dimension.
    axis : int, optional
        Which axis this is, for the error message.

    Returns
    -------
    int
        The index in ``[0, dim_len)``.

    Raises
    ------
    SelectionError
        If ``i`` is not an integer (floats and bools are refused).
    BoundsCheckError
        If ``i`` is outside ``[-dim_len, dim_len)``.
    """
    if not _is_integer(i):
        raise SelectionError(f"expected an integer index for axis {axis}, got {_describe(i)}")
    value = int(i)
    if value < -dim_len or value >= dim_len:
        raise BoundsCheckError(
            f"index {value} is out of bounds for axis {axis} with size {dim_len}"
        )
    return value + dim_len if value < 0 else value


def _check_slice(s: slice, axis: int) -> slice:
    for name in ("start", "stop", "step"):
        v = getattr(s, name)
        if v is not None and not _is_integer(v):
            raise SelectionError(
                f"expected integer or None for slice {name} on axis {axis}, got {_describe(v)}"
            )
    if s.step is not None and int(s.step) == 0:
        raise SelectionError(f"slice step cannot be zero (axis {axis})")
    return s


def replace_ellipsis(selection: Any, ndim: int, allow_newaxis: bool = True) -> tuple[Any, ...]:
    """Return ``selection`` as a tuple with Ellipsis expanded and trailing full slices added.

    ``None`` entries (``np.newaxis``) are kept and do not count against ``ndim``.

    Raises
    ------
    SelectionError
        More than one Ellipsis, newaxis where it is not allowed, or more indices than
        dimensions.
    """
    sel = selection if isinstance(selection, tuple) else (selection,)
    n_ellipsis = sum(1 for s in sel if s is Ellipsis)
    if n_ellipsis > 1:
        raise SelectionError(f"expected at most one Ellipsis in a selection, got {n_ellipsis}")
    if not allow_newaxis and any(s is None for s in sel):
        raise SelectionError("np.newaxis / None is not supported in this indexing mode")
    n_real = sum(1 for s in sel if s is not None and s is not Ellipsis)
    if n_real > ndim:
        raise SelectionError(
            f"too many indices for array: array is {ndim}-dimensional, but {n_real} were indexed"
        )
    fill = (slice(None),) * (ndim - n_real)
    if n_ellipsis:
        pos = next(k for k, s in enumerate(sel) if s is Ellipsis)
        return sel[:pos] + fill + sel[pos + 1 :]
    return sel + fill


def pop_fields(selection: Any) -> tuple[str | list[str] | None, Any]:
    """Split structured-dtype field names (strings) off a selection.

    Returns ``(fields, selection)``: ``fields`` is None, one name, or a list of names.
    """
    if isinstance(selection, str):
        return selection, ()
    if not isinstance(selection, tuple):
        return None, selection
    names = [s for s in selection if isinstance(s, str)]
    rest = tuple(s for s in selection if not isinstance(s, str))
    fields: str | list[str] | None = names[0] if len(names) == 1 else (names or None)
    return fields, rest[0] if len(rest) == 1 else rest


def check_fields(fields: str | Sequence[str] | None, dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Return the output dtype of a field selection on ``dtype`` (``dtype`` itself if none).

    Raises
    ------
    SelectionError
        ``fields`` is not a string or list of strings, the dtype has no fields, or a name is
        not one of them.
    """
    if fields is None or (not isinstance(fields, str) and len(fields) == 0):
        return dtype
    if not isinstance(fields, str | list | tuple) or not all(
        isinstance(f, str) for f in ([fields] if isinstance(fields, str) else fields)
    ):
        raise SelectionError(f"expected a field name or a list of field names, got {fields!r}")
    if dtype.names is None:
        raise SelectionError(f"expected a structured dtype for field selection, got {dtype}")
    wanted = [fields] if isinstance(fields, str) else list(fields)
    missing = [f for f in wanted if f not in dtype.names]
    if missing:
        raise SelectionError(f"field {missing[0]!r} not found; expected one of {dtype.names}")
    if isinstance(fields, str):
        return dtype[fields]
    return np.dtype([(f, dtype[f]) for f in wanted])


def broadcast_value(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast a write's value to the selection shape (read-only view, no copy).

    Raises
    ------
    ShapeMismatchError
        The value cannot be broadcast to ``shape``.
    """
    arr = np.asarray(value)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError as exc:
        raise ShapeMismatchError(
            f"expected a value that broadcasts to the selection shape {shape}, "
            f"got shape {arr.shape}"
        ) from exc


def _chunk_extents(ks: _IntArray, chunk_len: int, dim_len: int) -> _IntArray:
    """In-bounds length of chunks ``ks`` along one dimension."""
    return np.minimum(chunk_len, dim_len - ks * chunk_len)


# --------------------------------------------------------------------------- per dimension
def _int_dim(i: Any, dim_len: int, chunk_len: int, axis: int) -> list[_DimProjection]:
    idx = normalize_integer_selection(i, dim_len, axis)
    k = idx // chunk_len
    return [(k, idx - k * chunk_len, None, min(chunk_len, dim_len - k * chunk_len) == 1)]


#: Slices spanning fewer chunks than this are projected by a plain loop: numpy's ~15
#: vector operations cost ~40 us per dimension, a box read's whole budget on small boxes.
_SCALAR_SPAN = 64

_Columns = tuple[list[int], list[int], list[int], list[int], list[bool]]


def _slice_columns_scalar(lo: int, hi: int, stride: int, dim_len: int, chunk_len: int) -> _Columns:
    """:func:`_slice_columns` for a span of few chunks (``stride < chunk_len``)."""
    ks: list[int] = []
    local: list[int] = []
    count: list[int] = []
    pos: list[int] = []
    complete: list[bool] = []
    for k in range(lo // chunk_len, hi // chunk_len + 1):
        begin = k * chunk_len
        end = min(begin + chunk_len, dim_len)
        first = lo + (-((lo - begin) // stride)) * stride if begin > lo else lo
        last = min(end - 1, hi)
        if first > last:
            continue  # a step can jump over a chunk's last few elements
        m = (last - first) // stride + 1
        ks.append(k)
        local.append(first - begin)
        count.append(m)
        pos.append((first - lo) // stride)
        complete.append(m == end - begin)
    return ks, local, count, pos, complete


def _slice_columns(lo: int, hi: int, n: int, stride: int, dim_len: int, chunk_len: int) -> _Columns:
    """Per touched chunk of the ascending selection ``lo, lo + stride, ..., hi`` (``n``
    elements): chunk index, local start, element count, output position, completeness."""
    if stride >= chunk_len:
        # every selected element lies in its own chunk: enumerate elements, not the span
        # (a[::10**16] on 10**18 elements must not walk 10**17 chunks)
        ks = (lo + np.arange(n, dtype=np.intp) * stride) // chunk_len
    else:
        # the span holds at most n + 1 chunks
        ks = np.arange(lo // chunk_len, hi // chunk_len + 1, dtype=np.intp)
    begin = ks * chunk_len
    end = np.minimum(begin + chunk_len, dim_len)
    # first selected element at or after the chunk's beginning
    first = np.where(begin > lo, lo + (-((lo - begin) // stride)) * stride, lo)
    last = np.minimum(end - 1, hi)
    count = np.where(first <= last, (last - first) // stride + 1, 0)
    keep = count > 0  # a large step can jump over whole chunks
    ks, begin, end, first, count = ks[keep], begin[keep], end[keep], first[keep], count[keep]
    pos = (first - lo) // stride  # position of `first` in the ascending selection
    complete = count == end - begin  # m distinct elements in an extent of m: all of it
    local = first - begin
    return ks.tolist(), local.tolist(), count.tolist(), pos.tolist(), complete.tolist()


def _slice_dim(
    s: slice, dim_len: int, chunk_len: int, axis: int
) -> tuple[list[_DimProjection], int]:
    start, stop, step = _check_slice(s, axis).indices(dim_len)
    n = len(range(start, stop, step))
    if n == 0:
        return [], 0
    # Work on the ascending form of the selected set; map back for negative steps.
    stride = abs(step)
    lo = start if step > 0 else start + (n - 1) * step
    hi = lo + (n - 1) * stride
    if stride < chunk_len and hi // chunk_len - lo // chunk_len < _SCALAR_SPAN:
        columns = _slice_columns_scalar(lo, hi, stride, dim_len, chunk_len)
    else:
        columns = _slice_columns(lo, hi, n, stride, dim_len, chunk_len)
    out: list[_DimProjection] = []
    if step > 0:
        for k, a, m, p, c in zip(*columns, strict=True):
            out.append((k, slice(a, a + (m - 1) * stride + 1, stride), slice(p, p + m), c))
    else:
        # walk the chunk downwards; output positions stay an ascending slice
        for k, a, m, p, c in zip(*columns, strict=True):
            top = a + (m - 1) * stride
            bottom = top - m * stride
            chunk_sel = slice(top, bottom if bottom >= 0 else None, -stride)
            out.append((k, chunk_sel, slice(n - p - m, n - p), c))
    return out, n


def _normalize_int_array(arr: np.ndarray, dim_len: int, axis: int) -> _IntArray:
    """Make a (any-d) intp array non-negative, raising BoundsCheckError on the first bad entry."""
    bad = (arr < -dim_len) | (arr >= dim_len)
    if bad.any():
        first_bad = int(arr.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
        raise BoundsCheckError(
            f"index {first_bad} is out of bounds for axis {axis} with size {dim_len}"
        )
    return np.where(arr < 0, arr + dim_len, arr).astype(np.intp, copy=False)


def _array_dim(
    sel: Any, dim_len: int, chunk_len: int, axis: int
) -> tuple[list[_DimProjection], int, bool]:
    """Orthogonal int array or bool mask on one dim -> (projections, length, out is array)."""
    arr = _as_index_array(sel, axis)
    if arr.ndim != 1:
        raise SelectionError(
            f"expected a 1-d integer or boolean array for axis {axis} in orthogonal "
            f"indexing, got a {arr.ndim}-d array of shape {arr.shape}"
        )
    if arr.dtype == np.bool_:
        if arr.shape[0] != dim_len:
            raise SelectionError(
                f"expected a boolean mask of length {dim_len} for axis {axis}, "
                f"got length {arr.shape[0]}"
            )
        idx = np.flatnonzero(arr).astype(np.intp, copy=False)
    else:
        idx = _normalize_int_array(arr, dim_len, axis)
    n = idx.shape[0]
    if n == 0:
        return [], 0, False
    cid = idx // chunk_len
    is_sorted = bool(np.all(cid[1:] >= cid[:-1]))
    if is_sorted:
        order = None
        sidx, scid = idx, cid
    else:
        order = np.argsort(cid, kind="stable")  # stable: duplicates keep their order
        sidx, scid = idx[order], cid[order]
    breaks = np.flatnonzero(scid[1:] != scid[:-1]) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [n]))
    ks = scid[starts]
    # distinct indices per chunk vs the chunk's in-bounds extent
    distinct_per_chunk = np.bincount(np.unique(idx) // chunk_len, minlength=int(ks[-1]) + 1)
    complete = distinct_per_chunk[ks] == _chunk_extents(ks, chunk_len, dim_len)
    out: list[_DimProjection] = []
    columns = (ks.tolist(), starts.tolist(), stops.tolist(), complete.tolist())
    for k, a, b, c in zip(*columns, strict=True):
        local = sidx[a:b] - k * chunk_len
        out_sel = slice(a, b) if order is None else order[a:b]
        out.append((k, local, out_sel, c))
    return out, n, order is not None


def _slice_to_array(s: Any) -> Any:
    """Expand a concrete slice made by _slice_dim (stop None only for a negative step)."""
    if not isinstance(s, slice):
        return s
    return np.arange(s.start, -1 if s.stop is None else s.stop, s.step or 1, dtype=np.intp)


# --------------------------------------------------------------------------- product indexers
class _ProductIndexer:
    """Cartesian product of per-dimension projections (basic, orthogonal, blocks)."""

    __slots__ = ("_dims", "_out_axes", "drop_axes", "shape")

    flat_out: ClassVar[bool] = False
    shape: tuple[int, ...]
    drop_axes: tuple[int, ...]

    def __init__(
        self,
        dims: list[list[_DimProjection]],
        out_axes: list[int | None],
        shape: tuple[int, ...],
        drop_axes: tuple[int, ...],
    ) -> None:
        # out_axes: for each output axis, the array dim feeding it, or None for a newaxis.
        self._dims = dims
        self._out_axes = out_axes
        self.shape = shape
        self.drop_axes = drop_axes

    def _to_open_mesh(self, chunk_side: bool, out_side: bool) -> None:
        """Rewrite stored selections into np.ix_ form (precomputed once, not per chunk)."""
        nout = len(self._out_axes)
        axis_of = {d: a for a, d in enumerate(self._out_axes) if d is not None}
        new_dims: list[list[_DimProjection]] = []
        for d, projections in enumerate(self._dims):
            if d not in axis_of:  # int dim: scalar, broadcasts as is
                new_dims.append(projections)
                continue
            mesh = [1] * nout
            mesh[axis_of[d]] = -1
            converted: list[_DimProjection] = []
            for k, csel, osel, complete in projections:
                if chunk_side:
                    csel = _slice_to_array(csel).reshape(mesh)
                if out_side:
                    osel = _slice_to_array(osel).reshape(mesh)
                converted.append((k, csel, osel, complete))
            new_dims.append(converted)
        self._dims = new_dims

    @property
    def nchunks(self) -> int:
        return math.prod(len(d) for d in self._dims)

    def __iter__(self) -> Iterator[ChunkProjection]:
        out_axes = self._out_axes
        for combo in itertools.product(*self._dims):
            out_sel = tuple(0 if d is None else combo[d][2] for d in out_axes)
            yield ChunkProjection(
                chunk_coords=tuple(c[0] for c in combo),
                chunk_selection=tuple(c[1] for c in combo),
                out_selection=out_sel,
                is_complete_chunk=all(c[3] for c in combo),
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, nchunks={self.nchunks})"


class BasicIndexer(_ProductIndexer):
    """``arr[selection]`` with basic indexing only.

    Accepts ints (negative count from the end; 0-d integer arrays count as ints), slices
    with any non-zero step (clipped like numpy), one Ellipsis, and ``None``/``np.newaxis``.
    The result shape is numpy's: int axes dropped, newaxis axes of length 1 added.

    Parameters
    ----------
    selection : Any
        The selection (a tuple or a single entry).
    shape, chunk_shape : tuple of int
        Array shape and (regular) chunk shape.

    Raises
    ------
    SelectionError
        Arrays/lists, floats, bools, step 0, several Ellipsis, or too many indices.
    BoundsCheckError
        An int outside its dimension.
    """

    __slots__ = ()

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        shape_t, chunks_t = _check_grid(shape, chunk_shape)
        sel = replace_ellipsis(selection, len(shape_t))
        dims: list[list[_DimProjection]] = []
        out_axes: list[int | None] = []
        out_shape: list[int] = []
        drop: list[int] = []
        d = 0
        for s in sel:
            if s is None:
                out_axes.append(None)
                out_shape.append(1)
                continue
            if _is_integer(s):
                dims.append(_int_dim(s, shape_t[d], chunks_t[d], d))
                drop.append(d)
            elif isinstance(s, slice):
                projections, n = _slice_dim(s, shape_t[d], chunks_t[d], d)
                dims.append(projections)
                out_axes.append(d)
                out_shape.append(n)
            elif _is_array_like(s):
                raise SelectionError(
                    f"expected an int, slice, Ellipsis or None for axis {d} in basic "
                    f"indexing, got {_describe(s)}; use orthogonal (oindex) or vindex"
                )
            else:
                raise SelectionError(
                    f"expected an int, slice, Ellipsis or None for axis {d}, got {_describe(s)}"
                )
            d += 1
        super().__init__(dims, out_axes, tuple(out_shape), tuple(drop))


class OrthogonalIndexer(_ProductIndexer):
    """``arr.oindex[selection]``: each dimension indexed independently (outer indexing).

    Per dimension: an int (axis dropped), a slice, a 1-d integer array or list (unsorted,
    duplicates and negative values allowed), or a 1-d boolean mask of the dimension's
    length. One Ellipsis is allowed; newaxis is not. The result shape is the product of the
    per-dimension lengths, e.g. ``ref[np.ix_(a, b)]`` for two arrays.

    Projections: see :class:`ChunkProjection`. With exactly one array dimension and no int
    dimension, selections hold plain slices and one array. When the chunk side holds two or
    more arrays, or an array and an int, its non-int entries are ``np.ix_``-shaped ``intp``
    arrays (slices expanded); the output side is in ``np.ix_`` form when it holds two or
    more arrays (a sorted array dimension maps to a contiguous output slice, so the output
    side of a sorted selection often needs no array at all).
    """

    __slots__ = ()

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        shape_t, chunks_t = _check_grid(shape, chunk_shape)
        sel = replace_ellipsis(selection, len(shape_t), allow_newaxis=False)
        dims: list[list[_DimProjection]] = []
        out_axes: list[int | None] = []
        out_shape: list[int] = []
        drop: list[int] = []
        array_dims: list[int] = []
        out_array_dims: set[int] = set()
        for d, s in enumerate(sel):
            if _is_integer(s):
                dims.append(_int_dim(s, shape_t[d], chunks_t[d], d))
                drop.append(d)
                continue
            if isinstance(s, slice):
                projections, n = _slice_dim(s, shape_t[d], chunks_t[d], d)
            elif _is_array_like(s):
                projections, n, out_is_array = _array_dim(s, shape_t[d], chunks_t[d], d)
                array_dims.append(d)
                if out_is_array:
                    out_array_dims.add(d)
            else:
                raise SelectionError(
                    f"expected an int, slice, 1-d integer array or boolean mask for axis {d} "
                    f"in orthogonal indexing, got {_describe(s)}"
                )
            dims.append(projections)
            out_axes.append(d)
            out_shape.append(n)
        super().__init__(dims, out_axes, tuple(out_shape), tuple(drop))
        # numpy moves broadcast advanced-index axes to the front when advanced indices (ints
        # count) are not adjacent; the open-mesh form sidesteps that for every layout.
        chunk_side = len(array_dims) >= 2 or (len(array_dims) == 1 and bool(drop))
        out_side = len(out_array_dims) >= 2
        if chunk_side or out_side:
            self._to_open_mesh(chunk_side, out_side)


class BlockIndexer(BasicIndexer):
    """``arr.blocks[selection]``: selection in units of chunks.

    Per dimension an int (one block; the axis is kept, as in zarr-python) or a slice with
    step 1 or None, plus one Ellipsis. Translated to the equivalent element slices and
    handled by :class:`BasicIndexer`.

    Raises
    ------
    SelectionError
        Other entry types, or a slice step other than 1.
    BoundsCheckError
        A block index outside ``[-nblocks, nblocks)``.
    """

    __slots__ = ()

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        shape_t, chunks_t = _check_grid(shape, chunk_shape)
        sel = replace_ellipsis(selection, len(shape_t), allow_newaxis=False)
        element_sel: list[slice] = []
        for d, (s, dim_len, c) in enumerate(zip(sel, shape_t, chunks_t, strict=True)):
            nblocks = -(-dim_len // c)
            if _is_integer(s):
                k = int(s)
                if k < -nblocks or k >= nblocks:
                    raise BoundsCheckError(
                        f"block index {k} is out of bounds for axis {d} with {nblocks} blocks"
                    )
                k = k + nblocks if k < 0 else k
                element_sel.append(slice(k * c, min((k + 1) * c, dim_len)))
            elif isinstance(s, slice):
                _check_slice(s, d)
                if s.step is not None and int(s.step) != 1:
                    raise SelectionError(
                        f"expected slice step 1 for block indexing on axis {d}, got {s.step}"
                    )
                start, stop, _ = s.indices(nblocks)
                stop = max(stop, start)
                element_sel.append(slice(start * c, min(stop * c, dim_len)))
            else:
                raise SelectionError(
                    f"expected an int or slice for axis {d} in block indexing, got {_describe(s)}"
                )
        super().__init__(tuple(element_sel), shape_t, chunks_t)


# --------------------------------------------------------------------------- point indexers
class CoordinateIndexer:
    """``arr.vindex[arrays]``: points given by integer arrays, one per dimension.

    The arrays (lists and ints allowed) broadcast together like numpy advanced indexing;
    the result shape is the broadcast shape. Points are grouped by chunk with one stable
    argsort of their flat chunk ids (skipped when already grouped), so chunks come out in C
    order and duplicate points keep their order (last write wins).

    Projections: ``chunk_selection`` is a tuple of 1-d ``intp`` arrays (chunk-local
    coordinates, one per dimension; ``(None,)`` for a 0-d array) and ``out_selection`` a
    1-d ``intp`` array of positions in the flattened output; ``chunk[p.chunk_selection]`` is
    1-d with ``len(p.out_selection)`` entries:
    ``out.reshape(-1)[p.out_selection] = chunk[p.chunk_selection]`` and
    ``chunk[p.chunk_selection] = value.reshape(-1)[p.out_selection]``.

    Raises
    ------
    SelectionError
        Not exactly one entry per dimension, slices/Ellipsis/newaxis, non-integer arrays,
        or arrays that do not broadcast together.
    BoundsCheckError
        A coordinate outside its dimension.
    """

    __slots__ = ("_groups", "drop_axes", "shape")

    flat_out: ClassVar[bool] = True
    shape: tuple[int, ...]
    drop_axes: tuple[int, ...]

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        shape_t, chunks_t = _check_grid(shape, chunk_shape)
        sel = selection if isinstance(selection, tuple) else (selection,)
        if len(sel) != len(shape_t):
            raise SelectionError(
                f"expected one integer array per dimension ({len(shape_t)}) for vindex, "
                f"got {len(sel)} entries"
            )
        arrays: list[np.ndarray] = []
        for d, s in enumerate(sel):
            if _is_integer(s):
                arrays.append(np.asarray(int(s), dtype=np.intp))
            elif _is_array_like(s):
                arr = _as_index_array(s, d)
                if arr.dtype == np.bool_:
                    raise SelectionError(
                        f"expected an integer array for axis {d} in vindex, got a boolean "
                        f"array; use a single boolean mask of the array's shape {shape_t}"
                    )
                arrays.append(arr)
            else:
                raise SelectionError(
                    f"expected an integer array for axis {d} in vindex, got {_describe(s)}"
                )
        try:
            bshape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError as exc:
            raise SelectionError(
                "expected vindex arrays that broadcast together, got shapes "
                + ", ".join(str(a.shape) for a in arrays)
            ) from exc
        coords = [
            _normalize_int_array(np.broadcast_to(a, bshape).reshape(-1), n, d)
            for d, (a, n) in enumerate(zip(arrays, shape_t, strict=True))
        ]
        self._init_points(coords, int(math.prod(bshape)), tuple(bshape), shape_t, chunks_t, False)

    def _init_points(
        self,
        coords: list[_IntArray],
        npoints: int,
        out_shape: tuple[int, ...],
        shape: tuple[int, ...],
        chunk_shape: tuple[int, ...],
        points_unique: bool,
    ) -> None:
        self.shape = out_shape
        self.drop_axes = ()
        grid = tuple(-(-s // c) for s, c in zip(shape, chunk_shape, strict=True))
        self._groups: list[ChunkProjection] = []
        if npoints == 0:
            return
        # flat chunk id (C order) and flat element id of each point
        chunk_id = np.zeros(npoints, dtype=np.intp)
        elem_id = np.zeros(npoints, dtype=np.intp)
        for c, n_chunks, n, co in zip(chunk_shape, grid, shape, coords, strict=True):
            chunk_id = chunk_id * n_chunks + co // c
            elem_id = elem_id * n + co
        order: _IntArray
        if not bool(np.all(chunk_id[1:] >= chunk_id[:-1])):
            order = np.argsort(chunk_id, kind="stable")
        else:
            order = np.arange(npoints, dtype=np.intp)
        sorted_ids = chunk_id[order]
        breaks = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
        starts = np.concatenate(([0], breaks)).astype(np.intp)
        stops = np.concatenate((breaks, [npoints])).astype(np.intp)
        ids = sorted_ids[starts]
        # completeness: distinct points per chunk vs the chunk's in-bounds size. The chunk ids
        # of the distinct points form the same sorted set as `ids`, so counts line up.
        if points_unique:
            distinct_count = stops - starts
        else:
            first_of_each = np.unique(elem_id, return_index=True)[1]
            distinct_count = np.unique(chunk_id[first_of_each], return_counts=True)[1]
        chunk_coords = np.unravel_index(ids, grid) if grid else ()
        sizes = np.ones(ids.shape[0], dtype=np.intp)
        for d, (c, n) in enumerate(zip(chunk_shape, shape, strict=True)):
            sizes = sizes * _chunk_extents(chunk_coords[d], c, n)
        sorted_coords = [co[order] for co in coords]
        offsets = [
            np.asarray(cc, dtype=np.intp) * c
            for cc, c in zip(chunk_coords, chunk_shape, strict=True)
        ]
        complete = (distinct_count == sizes).tolist()
        for g, (a, b) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
            self._groups.append(
                ChunkProjection(
                    chunk_coords=tuple(int(cc[g]) for cc in chunk_coords),
                    # 0-d: (None,) views the single element as shape (1,), keeping
                    # chunk[chunk_selection] 1-d like out_selection.
                    chunk_selection=tuple(
                        sc[a:b] - int(off[g])
                        for sc, off in zip(sorted_coords, offsets, strict=True)
                    )
                    or (None,),
                    out_selection=order[a:b],
                    is_complete_chunk=complete[g],
                )
            )

    @property
    def nchunks(self) -> int:
        return len(self._groups)

    def __iter__(self) -> Iterator[ChunkProjection]:
        return iter(self._groups)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, nchunks={self.nchunks})"


class MaskIndexer(CoordinateIndexer):
    """``arr.vindex[mask]`` / ``arr[mask]``: one boolean array of the array's full shape.

    The result is 1-d with one entry per True element, in C order (as ``ref[mask]``).
    Projections as for :class:`CoordinateIndexer`.

    Raises
    ------
    SelectionError
        Not a boolean array, or its shape differs from the array's.
    """

    __slots__ = ()

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        shape_t, chunks_t = _check_grid(shape, chunk_shape)
        if isinstance(selection, tuple) and len(selection) == 1:
            selection = selection[0]
        mask = np.asarray(selection) if isinstance(selection, list | np.ndarray) else None
        if mask is None or mask.dtype != np.bool_:
            raise SelectionError(
                f"expected a boolean mask of shape {shape_t}, got {_describe(selection)}"
            )
        if mask.shape != shape_t:
            raise SelectionError(
                f"expected a boolean mask of shape {shape_t}, got shape {mask.shape}"
            )
        coords = [c.astype(np.intp, copy=False) for c in np.nonzero(mask)] if mask.ndim else []
        npoints = int(np.count_nonzero(mask))
        # A mask names each element at most once, so no duplicate check is needed.
        self._init_points(coords, npoints, (npoints,), shape_t, chunks_t, True)


# --------------------------------------------------------------------------- dispatch
def classify_selection(selection: Any, ndim: int) -> Literal["basic", "orthogonal", "vindex"]:
    """Decide how ``arr[selection]`` is served (zarr-python 3's ``Array.__getitem__`` rules).

    - no list/array entries (ints, 0-d int arrays, slices, Ellipsis, None): ``"basic"``;
    - a single boolean array with ``ndim`` dimensions (the full-shape mask, ``ref[mask]``):
      ``"vindex"``;
    - exactly ``ndim`` entries, all ints or integer arrays/lists, at least one array (pure
      fancy indexing; numpy broadcasts them into points): ``"vindex"``;
    - any other selection holding lists/arrays: ``"orthogonal"`` (outer indexing). With one
      array entry this equals numpy's result; with several arrays mixed with slices or
      fewer entries than dimensions numpy would broadcast while zarr-python refuses; zarrfast
      indexes orthogonally.

    Field names (strings) are ignored here; see :func:`pop_fields`.
    """
    _, sel = pop_fields(selection)
    entries = sel if isinstance(sel, tuple) else (sel,)
    arrays = [e for e in entries if _is_array_like(e)]
    if not arrays:
        return "basic"
    if len(entries) == 1:
        only = np.asarray(entries[0])
        if only.dtype == np.bool_ and only.ndim == ndim:
            return "vindex"
    if len(entries) == ndim and all(
        _is_integer(e) or (_is_array_like(e) and np.asarray(e).dtype != np.bool_) for e in entries
    ):
        return "vindex"
    return "orthogonal"


def make_indexer(
    selection: Any,
    shape: Sequence[int],
    chunk_shape: Sequence[int],
    mode: IndexingMode,
) -> Indexer:
    """Build the indexer for ``selection`` in the given mode.

    ``"vindex"`` with a single boolean array gives a :class:`MaskIndexer`, otherwise a
    :class:`CoordinateIndexer`. Use :func:`classify_selection` to pick the mode for
    ``arr[selection]``.
    """
    if mode == "basic":
        return BasicIndexer(selection, shape, chunk_shape)
    if mode == "orthogonal":
        return OrthogonalIndexer(selection, shape, chunk_shape)
    if mode == "blocks":
        return BlockIndexer(selection, shape, chunk_shape)
    if mode == "vindex":
        entries = selection if isinstance(selection, tuple) else (selection,)
        only = entries[0] if len(entries) == 1 else None
        if isinstance(only, list | np.ndarray) and np.asarray(only).dtype == np.bool_:
            return MaskIndexer(only, shape, chunk_shape)
        return CoordinateIndexer(selection, shape, chunk_shape)
    raise SelectionError(
        f"expected indexing mode 'basic', 'orthogonal', 'vindex' or 'blocks', got {mode!r}"
    )
