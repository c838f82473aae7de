"""Dask integration: zarrfast arrays as dask arrays, and dask arrays written into zarrfast.

``to_dask(arr)`` gives a dask array chunked on the array's write units (its shards when
sharded, else its chunks), so every task reads whole stored objects.  ``from_dask(x, ...)``
writes a dask array into a (new or existing) zarrfast array with tasks aligned to the
target's write units: no two tasks touch one stored object, so no lock is needed, on one
machine or on a ``dask.distributed`` cluster.

Arrays and stores pickle as configuration (store options + node path), never data or
open handles, and reopen on the worker; a process-local ``memory`` store therefore
cannot be shared with process workers (use ``shared_memory``, ``lmdb`` or a directory).

``dask.array.from_array(arr)`` and ``x.store(arr, lock=False)`` also work directly:
zarrfast arrays expose ``shape``, ``dtype``, ``chunks``, ``ndim`` and numpy indexing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zarrfast.core.array import Array
from zarrfast.errors import ShapeMismatchError

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["aligned_chunks", "from_dask", "to_dask", "write_units"]


def _import_dask() -> Any:
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from zarrfast.errors import BackendNotAvailableError

        raise BackendNotAvailableError(
            "zarrfast.dask needs dask: pip install 'zarrfast[dask]'"
        ) from exc
    return da


def write_units(arr: Array) -> tuple[int, ...]:
    """The shape of one stored object: the shard shape if sharded, else the chunk shape."""
    return arr.shards or arr.chunks


def aligned_chunks(
    shape: Sequence[int], units: Sequence[int], target: Sequence[int] | None = None
) -> tuple[int, ...]:
    """Per-axis block sizes that are whole multiples of ``units`` (closest to ``target``)."""
    out = []
    for i, (s, u) in enumerate(zip(shape, units)):
        t = u if target is None else max(int(target[i]), 1)
        k = max(1, round(t / u))
        out.append(max(1, min(k * u, s)) if s else 1)
    return tuple(out)


def to_dask(
    arr: Array, chunks: Any = None, *, name: str | None = None, inline_array: bool = False
) -> da.Array:
    """A lazy dask array reading ``arr``.

    Parameters
    ----------
    arr
        A zarrfast array (``zarrfast.open(...)``).
    chunks
        Dask chunking; default: the array's shards (sharded arrays) or chunks.  Any
        dask chunk spec works; aligned blocks read each stored object once.
    name
        The dask key prefix; default: a fresh unique name.
    inline_array
        Embed the (small, pickled-as-configuration) array object in every task.
    """
    dask_array = _import_dask()
    if chunks is None:
        chunks = write_units(arr)
    result: da.Array = dask_array.from_array(
        arr,
        chunks=chunks,
        name=name if name is not None else False,
        lock=False,
        asarray=False,
        fancy=False,
        inline_array=inline_array,
        meta=np.empty((0,) * arr.ndim, dtype=arr.dtype),
    )
    return result


def _check_aligned(
    x: Any, units: Sequence[int], region: Sequence[slice], shape: Sequence[int]
) -> None:
    for axis, (bounds, u, r, s) in enumerate(zip(x.chunks, units, region, shape)):
        pos = r.start
        for b in bounds:
            end = pos + b
            if pos % u or (end % u and end != s):
                raise ShapeMismatchError(
                    f"dask block [{pos}, {end}) on axis {axis} is not aligned to the target's "
                    f"write unit {u}; rechunk or pass region= on unit boundaries"
                )
            pos = end


def from_dask(
    x: Any,
    target: Array | str | None = None,
    *,
    region: Sequence[slice] | None = None,
    compute: bool = True,
    rechunk: bool = True,
    **create_kwargs: Any,
) -> Any:
    """Write the dask array ``x`` into a zarrfast array, one lock-free task per block.

    Parameters
    ----------
    x
        A dask array.
    target
        An existing zarrfast :class:`~zarrfast.Array`, a URL or path to create the
        array at, or ``None`` with ``store=``/``storage=``/``path=`` in ``create_kwargs``.
    region
        Where ``x`` goes in an existing ``target`` (slices on write-unit boundaries);
        default: the whole array.
    compute
        Write now (default) and return the array; ``False`` returns
        ``(array, delayed)`` so the caller can compute several writes together.
    rechunk
        Rechunk ``x`` onto the target's write units when it is not aligned (default);
        ``False`` raises instead.
    **create_kwargs
        Passed to :func:`zarrfast.create` when the array is created (``chunks`` defaults
        to ``x``'s block shape, ``dtype`` to ``x.dtype``).
    """
    da = _import_dask()
    import zarrfast as zf

    if not isinstance(x, da.Array):
        x = da.asarray(x)
    if isinstance(target, Array):
        arr = target
        if create_kwargs:
            raise TypeError(
                f"unexpected create arguments {sorted(create_kwargs)} for an existing array"
            )
    else:
        kwargs = dict(create_kwargs)
        if isinstance(target, str):
            kwargs.setdefault("store", target)
        kwargs.setdefault("chunks", tuple(int(c[0]) if c else 1 for c in x.chunks))
        kwargs.setdefault("dtype", x.dtype)
        arr = zf.create(shape=x.shape, **kwargs)
    if region is None:
        region = tuple(slice(0, s) for s in arr.shape)
    region = tuple(slice(*r.indices(s)[:2]) for r, s in zip(region, arr.shape))
    want = tuple(r.stop - r.start for r in region)
    if tuple(x.shape) != want:
        raise ShapeMismatchError(
            f"expected a dask array of shape {want} for the region, got {x.shape}"
        )
    units = write_units(arr)
    for axis, (r, u) in enumerate(zip(region, units)):
        if r.start % u:
            raise ShapeMismatchError(
                f"region start {r.start} on axis {axis} is not a multiple of the write unit {u}"
            )
    try:
        _check_aligned(x, units, region, arr.shape)
    except ShapeMismatchError:
        if not rechunk:
            raise
        target_blocks = tuple(max(c) if c else 1 for c in x.chunks)
        x = x.rechunk(aligned_chunks(x.shape, units, target_blocks))
    if math.prod(x.shape) == 0:
        return arr if compute else (arr, None)
    stored = da.store(x, arr, regions=tuple(region), lock=False, compute=compute)
    return arr if compute else (arr, stored)
