# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Native batch pipeline: whole batches of chunks decoded/encoded in C on one thread pool.

:class:`NativeEngine` has the interface of :class:`zarrfast.core.pipeline.PythonEngine`
(``read(projections, out, flat_out)`` / ``write(projections, value, flat_value,
write_empty_chunks)``).  For product selections (basic, blocks, orthogonal with only
ints/slices) it reads the indexer's per-dimension tables instead of one Python object per
chunk: the selection becomes four int64 tables per dimension and each chunk is one row
of ``ndim`` int32 entry numbers, so the per-chunk Python work is only building the key
and taking the store's buffer.  Everything else goes to the Python engine it wraps.

The thread budget is ``zarrfast.config.config.num_threads`` read at every call: chunks
are the unit of parallelism (codecs run single-threaded inside), with
``min(num_threads, chunks in the batch)`` workers on one native pool per size.
"""

import os
import threading

import numpy as np

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.object cimport PyObject
from cpython.ref cimport Py_XDECREF
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from zarrfast._native.libzf cimport *

from zarrfast.config import config
from zarrfast.errors import ChecksumError, DecodeError, EncodeError

cdef extern from "Python.h":
    PyObject *zf_bytes_new "PyBytes_FromStringAndSize"(const char *v, Py_ssize_t n) except NULL
    char *zf_bytes_data "PyBytes_AS_STRING"(PyObject *o)
    int _PyBytes_Resize(PyObject **o, Py_ssize_t n) except -1

__all__ = ["NativeEngine", "pool_size", "chunk_threads"]

cdef enum:
    MAXDIM = 32

cdef uint8_t _EMPTY[1]

# ----------------------------------------------------------------------------- thread pool
cdef class _PoolHandle:
    """Owns one zf_pool.  Pools are never destroyed while the process lives: a call on
    another Python thread may still be inside one with the GIL released."""

    cdef zf_pool *ptr


_pools = {}
_pool_lock = threading.Lock()


def _after_fork_in_child():
    # The parent's pool threads do not exist in the child: forget (leak) the pools
    # without joining them; the next call builds fresh ones.
    global _pool_lock
    _pools.clear()
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


cdef zf_pool *_get_pool(int n) except NULL:
    h = _pools.get(n)
    if h is None:
        with _pool_lock:
            h = _pools.get(n)
            if h is None:
                h = _PoolHandle.__new__(_PoolHandle)
                (<_PoolHandle>h).ptr = zf_pool_create(n)
                if (<_PoolHandle>h).ptr == NULL:
                    raise MemoryError(f"could not start a native thread pool of {n} threads")
                _pools[n] = h
    return (<_PoolHandle>h).ptr


def pool_size():
    """Workers of the pool the next call will use (``config.num_threads``)."""
    return zf_pool_size(_get_pool(max(1, int(config.num_threads))))


cpdef int chunk_threads(Py_ssize_t nchunks):
    """The one place that splits the thread budget: chunk-level workers for a batch.

    Codecs always run single-threaded inside a worker (blosc and zstd get their own
    contexts per call), so all ``config.num_threads`` go to chunks.
    """
    cdef int n = max(1, int(config.num_threads))
    return <int>min(<Py_ssize_t>n, max(nchunks, 1))


# ----------------------------------------------------------------------------- errors
def _error(int status, str key, bint encoding):
    msg = zf_status_message(status).decode()
    if status == ZF_ERR_CHECKSUM:
        return ChecksumError(f"checksum mismatch: {msg} (chunk key {key!r})")
    if encoding and status not in (ZF_ERR_CORRUPT, ZF_ERR_TRUNCATED, ZF_ERR_SIZE_MISMATCH,
                                   ZF_ERR_TRAILING):
        return EncodeError(f"could not encode chunk {key!r}: {msg}")
    return DecodeError(f"could not decode chunk {key!r}: {msg}")


cdef inline size_t _array_address(object arr) except? 0:
    return <size_t>arr.__array_interface__["data"][0]


cdef class _Tables:
    """Per-dimension selection tables of one product indexer against one big array."""

    cdef list arrays     # per dim: int64 (4, n) rows cstart, cstep, count, aoff
    cdef list keyparts   # per dim: key text per entry (dim 0 carries the prefix)
    cdef list complete   # per dim: bytes of 0/1
    cdef int64_t nentries[MAXDIM]
    cdef zf_dim dims[MAXDIM]
    cdef ptrdiff_t strides[MAXDIM]
    cdef Py_ssize_t ntasks


# ----------------------------------------------------------------------------- engine
cdef class NativeEngine:
    """Batch decode/encode in C for arrays whose whole codec chain is native.

    Built by :func:`zarrfast._native.engine.maybe_engine`; ``plan`` is the dict it
    derives from the metadata (layout, codecs, fill patterns, key format).
    """

    cdef public object metadata
    cdef public object store
    cdef public object fallback
    cdef public str prefix
    cdef object dtype
    cdef str head
    cdef str sep
    cdef str zero_key
    cdef bytes fill_out
    cdef bytes fill_stored
    cdef int ndim
    cdef int64_t chunk_shape[MAXDIM]
    cdef ptrdiff_t chunk_strides[MAXDIM]
    cdef zf_batch_layout base
    cdef size_t bound

    def __init__(self, metadata, store, str path, fallback, dict plan):
        cdef int d, i, j
        cdef size_t b
        self.metadata = metadata
        self.store = store
        self.fallback = fallback
        self.prefix = f"{path}/" if path else ""
        self.dtype = plan["dtype"]
        self.head = plan["key_head"]
        self.sep = plan["key_sep"]
        self.zero_key = plan["zero_key"]
        self.fill_out = plan["fill_out"]
        self.fill_stored = plan["fill_stored"]
        shape = plan["chunk_shape"]
        strides = plan["chunk_strides"]
        codecs = plan["codecs"]
        if len(shape) > MAXDIM or len(codecs) > ZF_BATCH_MAXCODECS:
            raise ValueError("too many dimensions or codecs for the native pipeline")
        self.ndim = len(shape)
        for d in range(self.ndim):
            self.chunk_shape[d] = shape[d]
            self.chunk_strides[d] = strides[d]
        self.base.ndim = self.ndim
        self.base.itemsize = plan["itemsize"]
        self.base.swap_unit = plan["swap_unit"]
        self.base.chunk_shape = self.chunk_shape
        self.base.chunk_strides = self.chunk_strides
        self.base.chunk_is_c = plan["chunk_is_c"]
        self.base.chunk_nbytes = plan["chunk_nbytes"]
        self.base.ncodecs = len(codecs)
        b = self.base.chunk_nbytes
        for i, (kind, params) in enumerate(codecs):
            if len(params) > ZF_BATCH_MAXPARAMS:
                raise ValueError("too many codec parameters for the native pipeline")
            self.base.codecs[i].kind = kind
            self.base.codecs[i].nparams = len(params)
            for j, p in enumerate(params):
                self.base.codecs[i].params[j] = p
            if zf_codec_encode_bound(kind, self.base.codecs[i].params,
                                     self.base.codecs[i].nparams, b, &b) != ZF_OK:
                raise ValueError(f"codec kind {kind} has no encode bound for {b} bytes")
        self.bound = b

    def key(self, coords):
        return self.prefix + self.metadata.chunk_key(tuple(coords))

    # ------------------------------------------------------------------ tables
    cdef _Tables _tables(self, object indexer, object arr):
        """Tables for a product indexer against ``arr``, or None if not a pure
        int/slice product (orthogonal arrays, open meshes...)."""
        cdef _Tables T = _Tables.__new__(_Tables)
        cdef int d, a
        cdef Py_ssize_t j, n, ln
        cdef int64_t C, start, step, m, o0, last, st
        cdef int64_t[:, ::1] tv
        dims = getattr(indexer, "_dims", None)
        out_axes = getattr(indexer, "_out_axes", None)
        if dims is None or out_axes is None or len(dims) != self.ndim:
            return None
        axis_of = {}
        for a, dd in enumerate(out_axes):
            if dd is not None:
                axis_of[dd] = a
        shape = arr.shape
        strides = arr.strides
        T.arrays = []
        T.keyparts = []
        T.complete = []
        T.ntasks = 1
        for d in range(self.ndim):
            C = self.chunk_shape[d]
            entries = dims[d]
            n = len(entries)
            a = axis_of.get(d, -1)
            if a >= 0:
                st = strides[a]
                ln = shape[a]
            else:
                st = 0
                ln = 1
            tab = np.empty((4, n), dtype=np.int64)
            tv = tab
            parts = []
            comp = bytearray(n)
            lead = self.prefix + self.head if d == 0 else self.sep
            for j in range(n):
                k, cs, os_, complete = entries[j]
                if type(cs) is slice:
                    if a < 0 or type(os_) is not slice or os_.step not in (None, 1):
                        return None
                    start = cs.start
                    step = 1 if cs.step is None else cs.step
                    o0 = os_.start
                    m = os_.stop - o0
                elif isinstance(cs, (int, np.integer)) and os_ is None and a < 0:
                    start = cs
                    step = 1
                    m = 1
                    o0 = 0
                else:
                    return None
                last = start + (m - 1) * step
                if m < 1 or start < 0 or start >= C or last < 0 or last >= C or o0 < 0 or o0 + m > ln:
                    raise ValueError(
                        f"internal error: projection {entries[j]!r} does not fit chunk length "
                        f"{C} / output length {ln} on axis {d}"
                    )
                tv[0, j] = start
                tv[1, j] = step
                tv[2, j] = m
                tv[3, j] = o0 * st
                parts.append(lead + str(k))
                comp[j] = 1 if complete else 0
            T.arrays.append(tab)
            T.keyparts.append(parts)
            T.complete.append(bytes(comp))
            T.nentries[d] = n
            T.ntasks *= n
            T.dims[d].cstart = &tv[0, 0] if n else NULL
            T.dims[d].cstep = &tv[1, 0] if n else NULL
            T.dims[d].count = &tv[2, 0] if n else NULL
            T.dims[d].aoff = &tv[3, 0] if n else NULL
            T.strides[d] = st
        return T

    cdef list _batch(self, _Tables T, Py_ssize_t t0, Py_ssize_t nt, int32_t *entries,
                     uint8_t *complete):
        """Keys, entry rows and completeness of tasks [t0, t0 + nt) in C order."""
        cdef int nd = self.ndim, d
        cdef Py_ssize_t t, rem
        cdef int32_t idx[MAXDIM]
        cdef uint8_t c
        keys = []
        if nd == 0:
            complete[0] = 1
            return [self.prefix + self.zero_key]
        rem = t0
        for d in range(nd - 1, -1, -1):
            idx[d] = <int32_t>(rem % T.nentries[d])
            rem //= T.nentries[d]
        parts = T.keyparts
        comps = T.complete
        for t in range(nt):
            c = 1
            key = None
            for d in range(nd):
                entries[t * nd + d] = idx[d]
                p = (<list>parts[d])[idx[d]]
                key = p if key is None else key + p
                if not (<bytes>comps[d])[idx[d]]:
                    c = 0
            complete[t] = c
            keys.append(key)
            for d in range(nd - 1, -1, -1):
                idx[d] += 1
                if idx[d] < T.nentries[d]:
                    break
                idx[d] = 0
        return keys

    cdef void _layout(self, _Tables T, zf_batch_layout *L, bint decode):
        L[0] = self.base
        L.dims = T.dims
        L.array_strides = T.strides
        L.fill = <const uint8_t *>(<char *>(self.fill_out if decode else self.fill_stored))

    # ------------------------------------------------------------------ read
    def read(self, projections, out, bint flat_out):
        """Decode every chunk of ``projections`` into ``out`` (see PythonEngine.read)."""
        cdef _Tables T
        if flat_out or out.dtype != self.dtype:
            return self.fallback.read(projections, out, flat_out)
        T = self._tables(projections, out)
        if T is None:
            return self.fallback.read(projections, out, flat_out)
        if not out.flags.writeable:
            raise ValueError("output array is read-only")
        cdef zf_batch_layout L
        self._layout(T, &L, True)
        cdef uint8_t *base = <uint8_t *>_array_address(out)
        cdef Py_ssize_t size = max(1, int(config.batch_size))
        # keep the encoded bytes held by one batch near 32 MiB (peak <= N + 64 MiB)
        size = min(size, max(4 * chunk_threads(size),
                             (32 << 20) // max(<Py_ssize_t>self.base.chunk_nbytes, 1)))
        cdef Py_ssize_t t0 = 0, nt
        while t0 < T.ntasks:
            nt = min(size, T.ntasks - t0)
            self._read_batch(T, &L, base, t0, nt)
            t0 += nt

    cdef _read_batch(self, _Tables T, zf_batch_layout *L, uint8_t *base, Py_ssize_t t0,
                     Py_ssize_t nt):
        cdef int32_t *entries = <int32_t *>calloc(max(1, nt * max(self.ndim, 1)), sizeof(int32_t))
        cdef uint8_t *complete = <uint8_t *>calloc(max(1, nt), 1)
        cdef Py_buffer *views = <Py_buffer *>calloc(max(1, nt), sizeof(Py_buffer))
        cdef uint8_t *held = <uint8_t *>calloc(max(1, nt), 1)
        cdef const uint8_t **src = <const uint8_t **>calloc(max(1, nt), sizeof(uint8_t *))
        cdef size_t *lens = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef int *status = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i
        cdef zf_pool *pool
        cdef int workers
        try:
            if not (entries and complete and views and held and src and lens and status):
                raise MemoryError()
            keys = self._batch(T, t0, nt, entries, complete)
            with self.store.borrow_many(keys) as bufs:
                if len(bufs) != nt:
                    raise DecodeError(f"store returned {len(bufs)} values for {nt} keys")
                for i in range(nt):
                    b = bufs[i]
                    if b is None:
                        continue
                    PyObject_GetBuffer(b, &views[i], PyBUF_SIMPLE)
                    held[i] = 1
                    # a present empty value must not look missing (NULL = fill)
                    src[i] = <const uint8_t *>views[i].buf if views[i].buf != NULL else _EMPTY
                    lens[i] = <size_t>views[i].len
                pool = _get_pool(max(1, int(config.num_threads)))
                workers = chunk_threads(nt)
                # Buffers are held (views) until after the join; `base` is the caller's
                # array, each task writes only its own disjoint region of it.
                with nogil:
                    zf_batch_decode(pool, workers, L, base, <size_t>nt, entries, src, lens,
                                    status)
                for i in range(nt):
                    if held[i]:
                        PyBuffer_Release(&views[i])
                        held[i] = 0
            for i in range(nt):
                if status[i] != ZF_OK:
                    raise _error(status[i], keys[i], False)
        finally:
            if held != NULL and views != NULL:
                for i in range(nt):
                    if held[i]:
                        PyBuffer_Release(&views[i])
            free(entries)
            free(complete)
            free(views)
            free(held)
            free(src)
            free(lens)
            free(status)

    # ------------------------------------------------------------------ write
    def write(self, projections, value, bint flat_value, bint write_empty_chunks):
        """Encode and store every chunk of ``projections`` (see PythonEngine.write)."""
        cdef _Tables T
        if flat_value or value.dtype != self.dtype:
            return self.fallback.write(projections, value, flat_value, write_empty_chunks)
        T = self._tables(projections, value)
        if T is None:
            return self.fallback.write(projections, value, flat_value, write_empty_chunks)
        cdef zf_batch_layout L
        self._layout(T, &L, False)
        cdef const uint8_t *base = <const uint8_t *>_array_address(value)
        cdef Py_ssize_t size = max(1, int(config.batch_size))
        # bound the encoded bytes a batch holds (outputs are allocated at the encode bound)
        size = max(1, min(size, int(config.batch_bytes) // max(<Py_ssize_t>self.bound, 1)))
        cdef Py_ssize_t t0 = 0, nt
        while t0 < T.ntasks:
            nt = min(size, T.ntasks - t0)
            self._write_batch(T, &L, base, t0, nt, write_empty_chunks)
            t0 += nt

    cdef _write_batch(self, _Tables T, zf_batch_layout *L, const uint8_t *base, Py_ssize_t t0,
                      Py_ssize_t nt, bint write_empty):
        cdef int32_t *entries = <int32_t *>calloc(max(1, nt * max(self.ndim, 1)), sizeof(int32_t))
        cdef uint8_t *complete = <uint8_t *>calloc(max(1, nt), 1)
        cdef Py_buffer *views = <Py_buffer *>calloc(max(1, nt), sizeof(Py_buffer))
        cdef uint8_t *held = <uint8_t *>calloc(max(1, nt), 1)
        cdef const uint8_t **old = <const uint8_t **>calloc(max(1, nt), sizeof(uint8_t *))
        cdef size_t *oldlen = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef PyObject **outs = <PyObject **>calloc(max(1, nt), sizeof(PyObject *))
        cdef uint8_t **dst = <uint8_t **>calloc(max(1, nt), sizeof(uint8_t *))
        cdef size_t *dstcap = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef size_t *dstlen = <size_t *>calloc(max(1, nt), sizeof(size_t))
        cdef int *status = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i, j
        cdef zf_pool *pool
        cdef int workers
        cdef PyObject *owned
        locks = []
        try:
            if not (entries and complete and views and held and old and oldlen and outs and dst
                    and dstcap and dstlen and status):
                raise MemoryError()
            keys = self._batch(T, t0, nt, entries, complete)
            partial = [i for i in range(nt) if not complete[i]]
            lockf = self.fallback._locks
            # fixed order so two writers never deadlock on each other's stripes
            locks = sorted({id(lk): lk for lk in (lockf(keys[i]) for i in partial)}.values(),
                           key=id)
            for lk in locks:
                lk.acquire()
            if partial:
                values = self.store.get_many([keys[i] for i in partial])
                for j, i in enumerate(partial):
                    b = values[j]
                    if b is None:
                        continue
                    PyObject_GetBuffer(b, &views[i], PyBUF_SIMPLE)
                    held[i] = 1
                    old[i] = <const uint8_t *>views[i].buf if views[i].buf != NULL else _EMPTY
                    oldlen[i] = <size_t>views[i].len
            for i in range(nt):
                outs[i] = zf_bytes_new(NULL, <Py_ssize_t>self.bound)
                dst[i] = <uint8_t *>zf_bytes_data(outs[i])
                dstcap[i] = self.bound
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(nt)
            # `base` is the caller's (read-only) value array, old chunks are held views,
            # each task writes only its own fresh, unshared bytes object dst[i].
            with nogil:
                zf_batch_encode(pool, workers, L, base, <size_t>nt, entries, complete, old,
                                oldlen, 1 if write_empty else 0, dst, dstcap, dstlen, status)
            for i in range(nt):
                if held[i]:
                    PyBuffer_Release(&views[i])
                    held[i] = 0
            for i in range(nt):
                if status[i] != ZF_OK and status[i] != ZF_BATCH_DELETE:
                    raise _error(status[i], keys[i], complete[i] or old[i] == NULL)
            to_set = []
            to_delete = []
            for i in range(nt):
                if status[i] == ZF_BATCH_DELETE:
                    to_delete.append(keys[i])
                    continue
                owned = outs[i]
                outs[i] = NULL
                if dstlen[i] != self.bound:
                    if _PyBytes_Resize(&owned, <Py_ssize_t>dstlen[i]) < 0:  # pragma: no cover
                        raise MemoryError()
                to_set.append((keys[i], <object>owned))
                Py_XDECREF(owned)
            if to_set:
                self.store.set_many(to_set)
            if to_delete:
                self.store.delete_many(to_delete)
        finally:
            for lk in reversed(locks):
                lk.release()
            if held != NULL and views != NULL:
                for i in range(nt):
                    if held[i]:
                        PyBuffer_Release(&views[i])
            if outs != NULL:
                for i in range(nt):
                    Py_XDECREF(outs[i])
            free(entries)
            free(complete)
            free(views)
            free(held)
            free(old)
            free(oldlen)
            free(outs)
            free(dst)
            free(dstcap)
            free(dstlen)
            free(status)
