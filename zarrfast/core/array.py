"""The :class:`Array`: a chunked N-d array on a store, indexed like numpy."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from zarrfast.abc.store import Store
from zarrfast.config import config
from zarrfast.core import indexing
from zarrfast.core.indexing import IndexingMode
from zarrfast.core.metadata.common import ArrayMetadata
from zarrfast.core.node import Attributes, Node
from zarrfast.core.nodes import read_node
from zarrfast.core.pipeline import EngineChoice, aligned_empty, choose_engine
from zarrfast.errors import (
    EncodeError,
    NodeNotFoundError,
    SelectionError,
    ShapeMismatchError,
)

__all__ = ["Array", "Attributes"]


class _Indexed:
    """``arr.oindex`` / ``arr.vindex`` / ``arr.blocks`` helpers."""

    def __init__(self, array: Array, mode: IndexingMode) -> None:
        self._array = array
        self._mode = mode

    def __getitem__(self, selection: Any) -> Any:
        return self._array._get(selection, self._mode)

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._array._set(selection, value, self._mode)


class Array(Node):
    """A Zarr array (v2 or v3) on a :class:`~zarrfast.abc.store.Store`.

    Create one with :func:`zarrfast.create` or :func:`zarrfast.open`.  Reads and writes go
    through numpy-style indexing (``a[10:20, ::3]``, ``a.oindex[...]``, ``a.vindex[...]``,
    ``a.blocks[...]``) or :meth:`get_slice` / :meth:`set_slice`.
    """

    _metadata: ArrayMetadata

    def __init__(
        self,
        store: Store,
        path: str,
        metadata: ArrayMetadata,
        *,
        read_only: bool = False,
        write_empty_chunks: bool | None = None,
    ) -> None:
        super().__init__(store, path, metadata, read_only=read_only)
        self._write_empty_chunks = write_empty_chunks
        self._choice = choose_engine(metadata, store, self._path)
        self._engine = self._choice.engine

    _kind = "array"

    # ------------------------------------------------------------------ properties
    @property
    def metadata(self) -> ArrayMetadata:
        return self._metadata

    @property
    def shape(self) -> tuple[int, ...]:
        return self._metadata.shape

    @property
    def chunks(self) -> tuple[int, ...]:
        """The read/write chunk shape (inner chunks for a sharded array)."""
        return self._metadata.inner_chunk_shape

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape, or ``None`` if the array is not sharded."""
        return self._metadata.chunk_shape if self._metadata.sharding is not None else None

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._metadata.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Decoded size in bytes (for variable-length types: size x pointer size)."""
        return self.size * self.dtype.itemsize

    @property
    def nchunks(self) -> int:
        """Number of stored objects in the grid (shards for a sharded array)."""
        return self._metadata.nchunks

    @property
    def cdata_shape(self) -> tuple[int, ...]:
        return self._metadata.chunk_grid.grid_shape

    @property
    def nchunks_initialized(self) -> int:
        """How many chunk (or shard) objects actually exist in the store."""
        return sum(1 for _ in self.stored_chunk_coords())

    def stored_chunk_coords(self) -> Iterator[tuple[int, ...]]:
        """Grid coordinates of the chunk (or shard) objects that exist in the store.

        One listing of the array's prefix; the work is bounded by what is stored, never
        by the size of the grid (10**12 chunks of which three are stored yields three).
        Order follows the store's listing.
        """
        enc = self._metadata.chunk_key_encoding
        prefix = f"{self._path}/" if self._path else ""
        ndim = self.ndim
        grid = self.cdata_shape
        for key in self._store.list_prefix(prefix):
            coords = enc.decode(key[len(prefix) :], ndim)
            if coords is not None and all(c < g for c, g in zip(coords, grid)):
                yield tuple(coords)

    @property
    def fill_value(self) -> Any:
        return self._metadata.fill_value

    @property
    def order(self) -> str:
        return getattr(self._metadata, "order", "C")

    @property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        return self._metadata.dimension_names

    @property
    def compressors(self) -> tuple[Any, ...]:
        return self._metadata.codec_chain.bb

    @property
    def codecs(self) -> tuple[Any, ...]:
        return self._metadata.codec_chain.codecs

    @property
    def oindex(self) -> _Indexed:
        return _Indexed(self, "orthogonal")

    @property
    def vindex(self) -> _Indexed:
        return _Indexed(self, "vindex")

    @property
    def blocks(self) -> _Indexed:
        return _Indexed(self, "blocks")

    # ------------------------------------------------------------------ metadata I/O
    def _set_attributes(self, attrs: dict[str, Any]) -> None:
        self._check_writable()
        self._write_metadata(self._metadata.evolve(attributes=attrs))

    def _write_metadata(self, metadata: ArrayMetadata) -> None:
        prefix = f"{self._path}/" if self._path else ""
        self._store.set_many([(prefix + k, v) for k, v in metadata.to_documents().items()])
        self._metadata = metadata
        self._choice = choose_engine(metadata, self._store, self._path)
        self._engine = self._choice.engine

    # ------------------------------------------------------------------ reading
    def _empty_out(self, shape: tuple[int, ...]) -> np.ndarray:
        # Cache-line aligned so decoders scattering rows never split a line with a neighbour.
        return aligned_empty(shape, self.dtype)

    def _get(self, selection: Any, mode: IndexingMode, out: np.ndarray | None = None) -> Any:
        idx = indexing.make_indexer(selection, self.shape, self.chunks_for_io, mode)
        result = self._empty_out(idx.shape) if out is None else self._check_out(out, idx.shape)
        if result.size:
            flat_out = getattr(idx, "flat_out", False)
            if flat_out and not result.flags.c_contiguous:
                # flat (vindex) outputs are addressed through a reshape(-1) view
                tmp = self._empty_out(idx.shape)
                self._engine.read(idx, tmp, flat_out=True)
                result[...] = tmp
            else:
                self._engine.read(idx, result, flat_out=flat_out)
        if out is None and result.ndim == 0:
            return result[()]
        return result

    def _check_out(self, out: Any, shape: tuple[int, ...]) -> np.ndarray:
        """Validate a caller's ``out=`` array: a writeable numpy array of exactly the
        selection's shape and the array's dtype (any strides: the engine writes through
        them, so a reused or pre-faulted buffer saves the allocation of every read)."""
        if not isinstance(out, np.ndarray):
            raise TypeError(f"expected out= to be a numpy.ndarray, got {type(out).__name__}")
        if out.shape != tuple(shape):
            raise ShapeMismatchError(
                f"expected out= of shape {tuple(shape)} for this selection, got {out.shape}"
            )
        if out.dtype != self.dtype:
            raise ShapeMismatchError(f"expected out= of dtype {self.dtype}, got {out.dtype}")
        if not out.flags.writeable:
            raise ValueError("out= is read-only")
        return out

    @property
    def chunks_for_io(self) -> tuple[int, ...]:
        # The engine addresses stored objects: shards when sharded.
        return self._metadata.chunk_shape

    def __getitem__(self, selection: Any) -> Any:
        return self._get(selection, indexing.classify_selection(selection, self.ndim))

    def get_basic_selection(
        self, selection: Any = Ellipsis, *, out: np.ndarray | None = None
    ) -> Any:
        return self._get(selection, "basic", out)

    def get_orthogonal_selection(self, selection: Any, *, out: np.ndarray | None = None) -> Any:
        return self._get(selection, "orthogonal", out)

    def get_coordinate_selection(self, selection: Any, *, out: np.ndarray | None = None) -> Any:
        return self._get(selection, "vindex", out)

    def get_mask_selection(self, mask: Any, *, out: np.ndarray | None = None) -> Any:
        return self._get(mask, "vindex", out)

    def get_block_selection(self, selection: Any, *, out: np.ndarray | None = None) -> Any:
        return self._get(selection, "blocks", out)

    def get_slice(
        self,
        start: Sequence[int] | int | None = None,
        stop: Sequence[int] | int | None = None,
        step: Sequence[int] | int | None = None,
        *,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Read the box ``[start, stop)`` (per dimension; ``None`` = whole extent).

        ``out``: an existing array of the box's shape and the array's dtype to read into
        (returned); reusing one across reads skips allocating (and page-faulting) a new
        output each time.
        """
        return self._get(self._box(start, stop, step), "basic", out)  # type: ignore[no-any-return]

    def _box(self, start: Any, stop: Any, step: Any) -> tuple[slice, ...]:
        nd = self.ndim

        def norm(v: Any, what: str) -> list[int | None]:
            if v is None:
                return [None] * nd
            if isinstance(v, (int, np.integer)):
                v = (int(v),)
            entries: list[int | None] = list(v)
            if len(entries) != nd:
                raise SelectionError(
                    f"expected {what} with {nd} entries for a {nd}-d array, "
                    f"got {len(entries)}: {entries}"
                )
            return entries

        a, b, c = norm(start, "start"), norm(stop, "stop"), norm(step, "step")
        for i, (s0, s1) in enumerate(zip(a, b)):
            for v, what in ((s0, "start"), (s1, "stop")):
                if v is not None and not 0 <= v <= self.shape[i]:
                    from zarrfast.errors import BoundsCheckError

                    raise BoundsCheckError(
                        f"{what} {v} is out of bounds for axis {i} with size {self.shape[i]}"
                    )
            if s0 is not None and s1 is not None and s1 < s0:
                raise SelectionError(f"stop {s1} is before start {s0} on axis {i}")
        return tuple(slice(x, y, z) for x, y, z in zip(a, b, c))

    # ------------------------------------------------------------------ writing
    def _set(self, selection: Any, value: Any, mode: IndexingMode) -> None:
        self._check_writable()
        idx = indexing.make_indexer(selection, self.shape, self.chunks_for_io, mode)
        if self.dtype.kind == "O":
            arr = (
                np.asarray(value, dtype=object)
                if not isinstance(value, np.ndarray) or value.dtype.kind != "O"
                else value
            )
            if arr.dtype.kind in "UST":
                arr = arr.astype(object)
        else:
            kind = self.dtype.kind
            if not isinstance(value, np.ndarray) and kind in "VMm":
                # tuples for records, strings / datetime objects for datetimes
                try:
                    arr = np.asarray(value, dtype=self.dtype)
                except (TypeError, ValueError) as exc:
                    raise ShapeMismatchError(
                        f"cannot write {value!r} into an array of dtype {self.dtype}: {exc}"
                    ) from exc
            else:
                arr = np.asarray(value)
            if arr.dtype != self.dtype:
                if kind in "US" and arr.dtype.kind == kind:
                    _check_fits(arr, self.dtype)
                unsafe = arr.dtype.kind in "biuf" or (arr.dtype.kind in "US" and kind in "Mm")
                try:
                    arr = arr.astype(self.dtype, casting="unsafe" if unsafe else "same_kind")
                except (TypeError, ValueError) as exc:
                    raise ShapeMismatchError(
                        f"cannot write values of dtype {arr.dtype} into an array of dtype "
                        f"{self.dtype}: {exc}"
                    ) from exc
        target_shape = idx.shape
        if arr.shape != target_shape:
            try:
                arr = np.broadcast_to(arr, target_shape)
            except ValueError:
                raise ShapeMismatchError(
                    f"expected data of shape {target_shape} (or broadcastable to it) for the "
                    f"selection, got {arr.shape}"
                ) from None
        if math.prod(target_shape) == 0:
            return
        flat = getattr(idx, "flat_out", False)
        if flat:
            arr = np.ascontiguousarray(arr)
        wec = (
            config.write_empty_chunks
            if self._write_empty_chunks is None
            else self._write_empty_chunks
        )
        self._engine.write(idx, arr, flat_value=flat, write_empty_chunks=wec)

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._set(selection, value, indexing.classify_selection(selection, self.ndim))

    def set_basic_selection(self, selection: Any, value: Any) -> None:
        self._set(selection, value, "basic")

    def set_orthogonal_selection(self, selection: Any, value: Any) -> None:
        self._set(selection, value, "orthogonal")

    def set_coordinate_selection(self, selection: Any, value: Any) -> None:
        self._set(selection, value, "vindex")

    def set_mask_selection(self, mask: Any, value: Any) -> None:
        self._set(mask, value, "vindex")

    def set_block_selection(self, selection: Any, value: Any) -> None:
        self._set(selection, value, "blocks")

    def set_slice(
        self,
        data: Any,
        start: Sequence[int] | int | None = None,
        stop: Sequence[int] | int | None = None,
    ) -> None:
        """Write ``data`` into the box ``[start, stop)`` (``stop`` defaults to start + shape)."""
        arr = np.asarray(data) if self.dtype.kind != "O" else np.asarray(data, dtype=object)
        if stop is None and start is not None:
            st = [start] if isinstance(start, (int, np.integer)) else list(start)
            if arr.ndim != self.ndim:
                raise ShapeMismatchError(
                    f"expected {self.ndim}-d data when stop is omitted, got shape {arr.shape}"
                )
            stop = [int(s) + n for s, n in zip(st, arr.shape)]
        box = self._box(start, stop, None)
        self._set(box, arr, "basic")

    # ------------------------------------------------------------------ shape changes
    def resize(self, *shape: Any) -> None:
        """Change the shape; chunks wholly outside the new shape are deleted."""
        self._check_writable()
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        from zarrfast.core.chunk_grid import validate_shape

        new_shape = validate_shape(shape, "new shape")
        if len(new_shape) != self.ndim:
            raise ShapeMismatchError(
                f"expected a new shape with {self.ndim} dimensions, got {list(new_shape)}"
            )
        old_grid = self._metadata.chunk_grid
        new_meta = self._metadata.evolve(shape=new_shape)
        new_grid = new_meta.chunk_grid.grid_shape
        doomed = [
            f"{self._path}/{self._metadata.chunk_key(c)}"
            if self._path
            else self._metadata.chunk_key(c)
            for c in self._existing_chunk_coords()
            if any(ci >= g for ci, g in zip(c, new_grid))
        ]
        del old_grid
        self._write_metadata(new_meta)
        if doomed:
            self._store.delete_many(doomed)

    def _existing_chunk_coords(self) -> Iterator[tuple[int, ...]]:
        enc = self._metadata.chunk_key_encoding
        prefix = f"{self._path}/" if self._path else ""
        for key in self._store.list_prefix(prefix):
            c = enc.decode(key[len(prefix) :], self.ndim)
            if c is not None:
                yield c

    def append(self, data: Any, axis: int = 0) -> tuple[int, ...]:
        """Grow along ``axis`` and write ``data`` at the end; returns the new shape."""
        arr = np.asarray(data) if self.dtype.kind != "O" else np.asarray(data, dtype=object)
        if arr.ndim != self.ndim:
            raise ShapeMismatchError(
                f"expected {self.ndim}-d data to append, got shape {arr.shape}"
            )
        if not -self.ndim <= axis < self.ndim:
            raise SelectionError(f"axis {axis} is out of range for a {self.ndim}-d array")
        axis %= self.ndim
        for i, (a, b) in enumerate(zip(arr.shape, self.shape)):
            if i != axis and a != b:
                raise ShapeMismatchError(
                    f"expected data of size {b} on axis {i} to append along axis {axis}, got {a}"
                )
        old = self.shape
        new = tuple(s + (arr.shape[i] if i == axis else 0) for i, s in enumerate(old))
        self.resize(new)
        sel = tuple(slice(old[i], new[i]) if i == axis else slice(None) for i in range(self.ndim))
        self._set(sel, arr, "basic")
        return new

    # ------------------------------------------------------------------ conversions
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self[...]
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        return a

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the first axis, reading each row of chunks once."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        step = self.chunks[0]
        for start in range(0, self.shape[0], step):
            block = self[start : min(start + step, self.shape[0])]
            yield from block

    def islice(self, start: int | None = None, end: int | None = None) -> Iterator[Any]:
        s, e, _ = slice(start, end).indices(self.shape[0] if self.ndim else 0)
        step = self.chunks[0]
        pos = s
        while pos < e:
            stop = min((pos // step + 1) * step, e)
            yield from self[pos:stop]
            pos = stop

    def transaction(self) -> Any:
        """A store transaction (``with arr.transaction(): ...``) where the store has them."""
        return self._store.transaction()

    # ------------------------------------------------------------------ info
    @property
    def engine(self) -> EngineChoice:
        """Which engine runs this array's chunk I/O and why: ``.native``, ``.reason``
        (why the whole array runs in Python), ``.request_fallbacks`` (requests of a
        native array handed to Python, by reason) and ``.describe()``."""
        return self._choice

    @property
    def nbytes_stored(self) -> int:
        prefix = f"{self._path}/" if self._path else ""
        return (
            self._store.getsize_prefix(prefix)
            if prefix
            else sum(self._store.getsize(k) for k in self._store.list_prefix(""))
        )

    @property
    def info(self) -> str:
        codecs = ", ".join(repr(c) for c in self.codecs)
        stored = self.nbytes_stored
        ratio = f"{self.nbytes / stored:.1f}" if stored else "-"
        lines = [
            ("Type", "zarrfast.Array"),
            ("Zarr format", str(self.zarr_format)),
            (
                "Data type",
                str(self.dtype) if self.dtype.kind != "O" else str(self._metadata.data_type.vlen),
            ),
            ("Shape", str(self.shape)),
            ("Chunk shape", str(self.chunks)),
            ("Shard shape", str(self.shards)),
            ("Order", self.order),
            ("Read-only", str(self.read_only)),
            ("Store", repr(self._store)),
            ("Codecs", codecs),
            ("Engine", self._choice.describe()),
            ("No. bytes", f"{self.nbytes}"),
            ("No. bytes stored", f"{stored}"),
            ("Storage ratio", ratio),
            ("Chunks initialized", f"{self.nchunks_initialized}/{self.nchunks}"),
        ]
        w = max(len(k) for k, _ in lines)
        return "\n".join(f"{k:<{w}} : {v}" for k, v in lines)

    def __repr__(self) -> str:
        return (
            f"<zarrfast.Array {self.name!r} shape={self.shape} dtype={self.dtype} "
            f"zarr_format={self.zarr_format}>"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen_array, (self._store, self._path, self._read_only))


def _reopen_array(store: Store, path: str, read_only: bool) -> Array:
    meta = read_node(store, path)
    if not isinstance(meta, ArrayMetadata):
        raise NodeNotFoundError(f"no array at path {path or '/'!r} in {store!r} (a group is there)")
    return Array(store, path, meta, read_only=read_only)


def _check_fits(arr: np.ndarray, dtype: np.dtype[Any]) -> None:
    """Refuse strings longer than a fixed-length dtype holds (numpy would truncate them
    silently, losing data)."""
    width = dtype.itemsize // (4 if dtype.kind == "U" else 1)
    if arr.dtype.itemsize // (4 if arr.dtype.kind == "U" else 1) <= width or arr.size == 0:
        return
    longest = int(np.char.str_len(arr).max())
    if longest > width:
        what = "characters" if dtype.kind == "U" else "bytes"
        raise EncodeError(
            f"a value of {longest} {what} is longer than the fixed length {width} of dtype "
            f"{dtype.str} (numpy would truncate it silently; zarrfast refuses)"
        )
