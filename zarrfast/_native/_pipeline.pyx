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

import contextlib
import os
import threading

import numpy as np

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.object cimport PyObject
from cpython.ref cimport Py_XDECREF
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memmove

from zarrfast._native.libzf cimport *

from zarrfast.config import config
from zarrfast.errors import ChecksumError, DecodeError, EncodeError, StoreError

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    PyObject *zf_bytes_new "PyBytes_FromStringAndSize"(const char *v, Py_ssize_t n) except NULL
    char *zf_bytes_data "PyBytes_AS_STRING"(PyObject *o)
    int _PyBytes_Resize(PyObject **o, Py_ssize_t n) except -1

__all__ = ["NativeEngine", "pool_size", "chunk_threads"]

cdef enum:
    MAXDIM = 32

cdef uint8_t _EMPTY[1]
# reads whose output is at least this large scatter with streaming stores (zf_ndcopy_stream)
cdef Py_ssize_t _STREAM_MIN_BYTES = 8 << 20
# ... and whose (inner) chunks decode to at least this many bytes
cdef size_t _STREAM_MIN_CHUNK = 32 << 10


def _set_stream_min_bytes(Py_ssize_t n):
    """Set the streaming-scatter threshold (bytes of read output); returns the old one.
    For tests: 0 makes every read scatter with streaming stores (whatever the chunk size)."""
    global _STREAM_MIN_BYTES, _STREAM_MIN_CHUNK
    old = _STREAM_MIN_BYTES
    _STREAM_MIN_BYTES = max(0, n)
    _STREAM_MIN_CHUNK = 0 if n == 0 else 32 << 10
    return old

cdef extern from "errno.h":
    enum:
        ENOENT_ "ENOENT"

# (declared here rather than in libzf.pxd: only this module uses it)
cdef extern from "zf_shard.h" nogil:
    size_t zf_shard_chunk_bound(const zf_batch_layout *L)
    void zf_shard_encode_mem(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                             const zf_shard_layout *S, const uint8_t *inp, size_t nshards,
                             const size_t *first, const int32_t *entries, const int64_t *flat,
                             size_t nseg, int write_empty, int advise_huge,
                             uint8_t *const *dst, const size_t *dstcap, size_t *dstlen,
                             int *status, int64_t *failed)


def _numpy_hugepage():
    """Whether numpy asks for transparent huge pages on its large arrays (on by default
    on Linux >= 4.6; ``numpy._core.multiarray._set_madvise_hugepage(False)`` turns it
    off): large shard buffers follow the same choice."""
    try:
        from numpy._core.multiarray import _get_madvise_hugepage
    except ImportError:  # pragma: no cover - numpy < 2
        try:
            from numpy.core.multiarray import _get_madvise_hugepage
        except ImportError:
            return False
    return bool(_get_madvise_hugepage())

_tag_lock = threading.Lock()
_tag_count = 0


def _next_tag():
    """A per-call part of native temp-file names (the C side adds pid, worker, task)."""
    global _tag_count
    with _tag_lock:
        _tag_count += 1
        return f"{os.urandom(3).hex()}{_tag_count:x}".encode()

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


def decode_raw_into(kind, params, payloads, out, Py_ssize_t size):
    """Decode every buffer of ``payloads`` with one native codec (``kind`` a
    ``_codecs.KINDS`` code, or None for a plain copy) into ``out[t * size:(t + 1) * size]``
    on the native pool at ``config.num_threads`` workers: the codec-only work of a read,
    used as the benchmark ceiling.  Raises DecodeError on any failure."""
    cdef Py_ssize_t n = len(payloads), t
    cdef zf_codec_step step
    cdef _TaskArrays A = _TaskArrays(n, 1)
    cdef _Views V = _Views(n)
    cdef Py_buffer ob
    cdef zf_pool *pool
    cdef int workers
    cdef const zf_codec_step *sp = NULL
    if kind is not None:
        if len(params) > ZF_BATCH_MAXPARAMS:
            raise ValueError("too many codec parameters")
        step.kind = kind
        step.nparams = len(params)
        for t, p in enumerate(params):
            step.params[t] = p
        sp = &step
    for t in range(n):
        A.src[t] = V.take(t, payloads[t], &A.lens[t])
    PyObject_GetBuffer(out, &ob, PyBUF_WRITABLE)
    try:
        if ob.len < n * size:
            raise ValueError(f"output holds {ob.len} bytes, need {n * size}")
        pool = _get_pool(max(1, int(config.num_threads)))
        workers = chunk_threads(n)
        # sources are held by V, `ob` is a writable view of at least n * size bytes;
        # task t writes only out[t * size:(t + 1) * size]
        with nogil:
            zf_batch_decode_raw(pool, workers, sp, <size_t>n, A.src, A.lens,
                                <uint8_t *>ob.buf, <size_t>size, A.status)
    finally:
        PyBuffer_Release(&ob)
        V.release()
    for t in range(n):
        if A.status[t] != ZF_OK:
            raise _error(A.status[t], f"payload {t}", False)


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
    cdef list kvals      # per dim: chunk (shard) index per entry
    cdef list allkeys    # every task's key in C order (None: built per batch)
    # inner-chunk tables of a sharded array (built from the shard-level ones)
    cdef _Tables outer   # the shard-level tables
    cdef list lo         # per dim: int64[n outer entries], first inner entry of each
    cdef list hi         # per dim: one past its last inner entry
    cdef list jin        # per dim: int64[n inner entries], inner chunk index in the shard
    cdef int64_t nentries[MAXDIM]
    cdef zf_dim dims[MAXDIM]
    cdef ptrdiff_t strides[MAXDIM]
    cdef Py_ssize_t ntasks


# ----------------------------------------------------------------------------- engine
_io_executor = None
_io_pid = 0


def _store_batch(store, to_set, to_delete):
    if to_set:
        store.set_many(to_set)
    if to_delete:
        store.delete_many(to_delete)


cdef class _Writer:
    """At most one store batch in flight on a helper thread (errors surface at the next
    submit/wait); the executor is per process (rebuilt after fork)."""

    cdef object future

    cdef _executor(self):
        global _io_executor, _io_pid
        if _io_executor is None or _io_pid != os.getpid():
            from concurrent.futures import ThreadPoolExecutor
            _io_executor = ThreadPoolExecutor(1, thread_name_prefix="zarrfast-native-io")
            _io_pid = os.getpid()
        return _io_executor

    cdef wait(self):
        f, self.future = self.future, None
        if f is not None:
            f.result()

    cdef submit(self, store, list to_set, list to_delete):
        self.wait()
        if to_set or to_delete:
            self.future = self._executor().submit(_store_batch, store, to_set, to_delete)

    def finish(self):
        self.wait()


cdef class _Views:
    """n Py_buffer views held until release() (or collection)."""

    cdef Py_buffer *views
    cdef uint8_t *held
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t n):
        self.n = n
        self.views = <Py_buffer *>calloc(max(1, n), sizeof(Py_buffer))
        self.held = <uint8_t *>calloc(max(1, n), 1)
        if self.views == NULL or self.held == NULL:
            raise MemoryError()

    cdef const uint8_t *take(self, Py_ssize_t i, object obj, size_t *length) except NULL:
        PyObject_GetBuffer(obj, &self.views[i], PyBUF_SIMPLE)
        self.held[i] = 1
        length[0] = <size_t>self.views[i].len
        # a present empty value must not look missing (NULL = fill)
        return <const uint8_t *>self.views[i].buf if self.views[i].buf != NULL else _EMPTY

    cdef void release_one(self, Py_ssize_t i):
        if self.held != NULL and self.held[i]:
            PyBuffer_Release(&self.views[i])
            self.held[i] = 0

    cdef void release(self):
        cdef Py_ssize_t i
        if self.held == NULL:
            return
        for i in range(self.n):
            if self.held[i]:
                PyBuffer_Release(&self.views[i])
                self.held[i] = 0

    def __dealloc__(self):
        self.release()
        free(self.views)
        free(self.held)


cdef class _TaskArrays:
    """The per-task C arrays of one batch."""

    cdef int32_t *entries
    cdef uint8_t *complete
    cdef const uint8_t **src
    cdef size_t *lens
    cdef int *status
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t n, int ndim):
        self.n = n
        self.entries = <int32_t *>calloc(max(1, n * max(ndim, 1)), sizeof(int32_t))
        self.complete = <uint8_t *>calloc(max(1, n), 1)
        self.src = <const uint8_t **>calloc(max(1, n), sizeof(uint8_t *))
        self.lens = <size_t *>calloc(max(1, n), sizeof(size_t))
        self.status = <int *>calloc(max(1, n), sizeof(int))
        if not (self.entries and self.complete and self.src and self.lens and self.status):
            raise MemoryError()

    def __dealloc__(self):
        free(self.entries)
        free(self.complete)
        free(self.src)
        free(self.lens)
        free(self.status)


cdef inline uint64_t _rd64(const uint8_t *p, bint big) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    if big:
        for i in range(8):
            v = (v << 8) | p[i]
    else:
        for i in range(7, -1, -1):
            v = (v << 8) | p[i]
    return v


cdef inline void _wr64(uint8_t *p, uint64_t v, bint big) noexcept nogil:
    cdef int i
    for i in range(8):
        if big:
            p[7 - i] = <uint8_t>(v & 0xFF)
        else:
            p[i] = <uint8_t>(v & 0xFF)
        v >>= 8


cdef uint64_t _ABSENT = 0xFFFFFFFFFFFFFFFF


cdef inline void _wr32le(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v & 0xFF)
    p[1] = <uint8_t>((v >> 8) & 0xFF)
    p[2] = <uint8_t>((v >> 16) & 0xFF)
    p[3] = <uint8_t>((v >> 24) & 0xFF)


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
    # the stored objects' shape: shards when sharded, else == chunk_shape
    cdef int64_t outer_shape[MAXDIM]
    cdef bint sharded
    cdef object shard_codec
    cdef object shard_spec
    cdef int64_t cps[MAXDIM]        # inner chunks per shard, per dim
    cdef Py_ssize_t ninner           # inner chunks per shard
    cdef Py_ssize_t index_nbytes
    cdef bint index_start
    cdef bint index_big
    cdef bint index_crc
    cdef object index_request
    cdef public object range_request
    cdef public Py_ssize_t coalesce_gap
    cdef object key_cache      # {kvals signature: all keys}, at most a few entries
    cdef object trusted_get    # the store's _get_many_trusted (keys built here), or None
    cdef object trusted_set    # the store's _set_many_trusted, or None

    def __init__(self, metadata, store, str path, fallback, dict plan):
        cdef int d, i, j
        cdef size_t b
        self.metadata = metadata
        self.store = store
        self.fallback = fallback
        self.key_cache = {}
        # keys built here from chunk indices and the (validated) array path are valid;
        # stores offering it skip re-validating them per key
        ops = getattr(store, "_trusted_batch_ops", None)
        ops = ops() if ops is not None else None
        self.trusted_get, self.trusted_set = ops if ops is not None else (None, None)
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
        for d in range(self.ndim):
            self.outer_shape[d] = self.chunk_shape[d]
        shard = plan.get("shard")
        self.sharded = shard is not None
        self.ninner = 1
        if self.sharded:
            self.shard_codec = shard["codec"]
            self.shard_spec = shard["spec"]
            for d in range(self.ndim):
                self.outer_shape[d] = shard["shape"][d]
                self.cps[d] = shard["shape"][d] // self.chunk_shape[d]
                self.ninner *= self.cps[d]
            self.index_nbytes = shard["index_nbytes"]
            self.index_start = shard["index_start"]
            self.index_big = shard["index_big"]
            self.index_crc = shard["index_crc"]
            self.index_request = self.shard_codec.index_request(self.shard_spec)
            self.range_request = shard.get("range_request")
            self.coalesce_gap = shard.get("coalesce_gap", 64 * 1024)
            if self.index_nbytes != 16 * self.ninner + (4 if self.index_crc else 0):
                raise ValueError("unexpected shard index size")

    def key(self, coords):
        return self.prefix + self.metadata.chunk_key(tuple(coords))

    cdef Py_ssize_t _batch_tasks(self, bint cheap):
        """Chunks per native batch: ``config.batch_size``, or -- for a ``cheap`` batch,
        one that holds no more memory when it is bigger (workers reading or writing files
        themselves, or uncompressed chunks of a store that keeps the very bytes built
        here) -- enough for about 16 MiB of decoded data (at most 4096 chunks), because
        each batch pays a fixed cost (a pool wake-up and join, per-batch arrays, one
        store call) that dominates when a chunk is a few KiB.  Sizes below 64 are always
        taken literally (tests use them to exercise batch boundaries)."""
        cdef Py_ssize_t size = max(1, int(config.batch_size))
        if size < 64 or not cheap:
            return size
        return max(size, min(4096, (16 << 20) // max(<Py_ssize_t>self.base.chunk_nbytes, 1)))

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
        T.kvals = []
        T.ntasks = 1
        for d in range(self.ndim):
            C = self.outer_shape[d]
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
            kv = []
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
                kv.append(k)
                comp[j] = 1 if complete else 0
            T.arrays.append(tab)
            T.kvals.append(kv)
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
        if T.allkeys is None and T.ntasks <= (1 << 17):
            T.allkeys = self._all_keys(T)
        rem = t0
        for d in range(nd - 1, -1, -1):
            idx[d] = <int32_t>(rem % T.nentries[d])
            rem //= T.nentries[d]
        parts = T.keyparts
        comps = T.complete
        cdef const unsigned char *cp[MAXDIM]
        for d in range(nd):
            cp[d] = <const unsigned char *>(<bytes>comps[d])
        cdef bint build = T.allkeys is None
        for t in range(nt):
            c = 1
            for d in range(nd):
                entries[t * nd + d] = idx[d]
                if not cp[d][idx[d]]:
                    c = 0
            complete[t] = c
            if build:
                key = None
                for d in range(nd):
                    p = (<list>parts[d])[idx[d]]
                    key = p if key is None else key + p
                keys.append(key)
            for d in range(nd - 1, -1, -1):
                idx[d] += 1
                if idx[d] < T.nentries[d]:
                    break
                idx[d] = 0
        if not build:
            return T.allkeys[t0:t0 + nt]
        return keys

    cdef list _all_keys(self, _Tables T):
        """Every task's key in C order, cached per selection grid (a repeated full-array
        read or write builds its keys once)."""
        sig = tuple([tuple(kv) for kv in T.kvals])
        keys = self.key_cache.get(sig)
        if keys is not None:
            return keys
        keys = T.keyparts[0]
        for d in range(1, self.ndim):
            keys = [k + p for k in keys for p in T.keyparts[d]]
        keys = list(keys)
        if len(self.key_cache) >= 4:
            self.key_cache.clear()
        self.key_cache[sig] = keys
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
        cdef uint8_t *base = <uint8_t *>_array_address(out)
        # outputs beyond the caches: scatter rows with streaming stores (no read of the
        # destination lines); small outputs stay in the cache for the caller.  Small
        # chunks (W4: 8 KiB) keep plain stores: the lines a page fault just zeroed are
        # still cached when the neighbouring chunks fill the rest of the page, and
        # streaming stores would evict them (measured: W4 22 -> 30 ms, W1 151 -> 140 ms)
        cdef int stream = 1 if (out.nbytes >= _STREAM_MIN_BYTES and
                                self.base.chunk_nbytes >= _STREAM_MIN_CHUNK) else 0
        if self.sharded:
            T = self._inner_tables(T)
            self._layout(T, &L, True)
            L.stream_out = stream
            return self._read_sharded(T, &L, base)
        self._layout(T, &L, True)
        L.stream_out = stream
        cdef Py_ssize_t size
        cdef Py_ssize_t t0 = 0, nt
        paths_of = getattr(self.store, "native_read_paths", None)
        size = self._batch_tasks(paths_of is not None or (
            self.trusted_get is not None and self.base.ncodecs == 0))
        if paths_of is not None:
            # the workers read the files themselves: nothing is held between chunks, so
            # the batch size only bounds the key/path lists
            while t0 < T.ntasks:
                nt = min(size, T.ntasks - t0)
                if not self._read_files(T, &L, base, t0, nt, paths_of):
                    break
                t0 += nt
        # keep the encoded bytes held by one batch near 32 MiB (peak <= N + 64 MiB)
        size = min(size, max(4 * chunk_threads(size),
                             (32 << 20) // max(<Py_ssize_t>self.base.chunk_nbytes, 1)))
        while t0 < T.ntasks:
            nt = min(size, T.ntasks - t0)
            self._read_batch(T, &L, base, t0, nt)
            t0 += nt

    cdef bint _read_files(self, _Tables T, zf_batch_layout *L, uint8_t *base, Py_ssize_t t0,
                          Py_ssize_t nt, object paths_of) except -1:
        """Tasks [t0, t0 + nt) read from files by the C workers; False if the store
        declined (then the caller fetches through the store)."""
        cdef int32_t *entries = <int32_t *>calloc(max(1, nt * max(self.ndim, 1)), sizeof(int32_t))
        cdef uint8_t *complete = <uint8_t *>calloc(max(1, nt), 1)
        cdef const char **cpaths = <const char **>calloc(max(1, nt), sizeof(char *))
        cdef int *status = <int *>calloc(max(1, nt), sizeof(int))
        cdef int *errnos = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i
        cdef zf_pool *pool
        cdef int workers
        try:
            if not (entries and complete and cpaths and status and errnos):
                raise MemoryError()
            keys = self._batch(T, t0, nt, entries, complete)
            paths = paths_of(keys)
            if paths is None:
                return False
            if len(paths) != nt:
                raise DecodeError(f"store returned {len(paths)} paths for {nt} keys")
            for i in range(nt):
                # `paths` (a list of bytes) outlives the nogil block below
                cpaths[i] = <const char *>(<bytes>paths[i])
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(nt)
            # paths are immutable bytes kept alive by `paths`; each task writes only its
            # own disjoint region of the caller's array at `base`.
            with nogil:
                zf_batch_decode_files(pool, workers, L, base, <size_t>nt, entries, cpaths,
                                      status, errnos)
            for i in range(nt):
                if status[i] == ZF_BATCH_IO_ERROR:
                    # the store's own read raises its mapped error (permission, ...)
                    self.store.get(keys[i])
                    raise StoreError(f"reading key {keys[i]!r}: {os.strerror(errnos[i])}")
                if status[i] != ZF_OK:
                    raise _error(status[i], keys[i], False)
            return True
        finally:
            free(entries)
            free(complete)
            free(cpaths)
            free(status)
            free(errnos)

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
            cm = (contextlib.nullcontext(self.trusted_get(keys)) if self.trusted_get is not None
                  else self.store.borrow_many(keys))
            with cm as bufs:
                if len(bufs) != nt:
                    raise DecodeError(f"store returned {len(bufs)} values for {nt} keys")
                for i in range(nt):
                    b = bufs[i]
                    if b is None:
                        continue
                    if type(b) is bytes:
                        # immutable and kept alive by `bufs` until after the join
                        src[i] = <const uint8_t *>zf_bytes_data(<PyObject *>b)
                        lens[i] = <size_t>len(<bytes>b)
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

    # ------------------------------------------------------------------ sharded
    cdef _Tables _inner_tables(self, _Tables T):
        """Split every shard-level entry into inner-chunk entries (same four tables,
        chunk-local to the inner chunk) and remember which shard entry owns each."""
        cdef _Tables I = _Tables.__new__(_Tables)
        cdef int d, p
        cdef Py_ssize_t e, n, cnt
        cdef int64_t c, start, step, m, st, pos, j, i, ilast
        cdef int64_t[:, ::1] tv
        cdef int64_t[::1] lov, hiv, jv
        I.arrays = []
        I.keyparts = T.keyparts
        I.complete = T.complete
        I.kvals = T.kvals
        I.outer = T
        I.lo = []
        I.hi = []
        I.jin = []
        I.ntasks = 1
        for d in range(self.ndim):
            c = self.chunk_shape[d]
            st = T.strides[d]
            n = T.nentries[d]
            lo = np.empty(n, dtype=np.int64)
            hi = np.empty(n, dtype=np.int64)
            lov = lo
            hiv = hi
            tab = None
            jin = None
            for p in range(2):  # pass 0 counts, pass 1 fills
                cnt = 0
                for e in range(n):
                    start = T.dims[d].cstart[e]
                    step = T.dims[d].cstep[e]
                    m = T.dims[d].count[e]
                    lov[e] = cnt
                    i = 0
                    while i < m:
                        pos = start + i * step
                        j = pos // c
                        if step > 0:
                            ilast = i + ((j + 1) * c - 1 - pos) // step
                        else:
                            ilast = i + (pos - j * c) // (-step)
                        if ilast > m - 1:
                            ilast = m - 1
                        if p == 1:
                            tv[0, cnt] = pos - j * c
                            tv[1, cnt] = step
                            tv[2, cnt] = ilast - i + 1
                            tv[3, cnt] = T.dims[d].aoff[e] + i * st
                            jv[cnt] = j
                        cnt += 1
                        i = ilast + 1
                    hiv[e] = cnt
                if p == 0:
                    tab = np.empty((4, max(cnt, 1)), dtype=np.int64)
                    tv = tab
                    jin = np.empty(max(cnt, 1), dtype=np.int64)
                    jv = jin
            I.arrays.append(tab)
            I.lo.append(lo)
            I.hi.append(hi)
            I.jin.append(jin)
            I.nentries[d] = cnt
            I.ntasks *= cnt
            I.dims[d].cstart = &tv[0, 0]
            I.dims[d].cstep = &tv[1, 0]
            I.dims[d].count = &tv[2, 0]
            I.dims[d].aoff = &tv[3, 0]
            I.strides[d] = st
        return I

    cdef list _shards(self, _Tables I):
        """Every touched shard in C order: (key, first task number is implicit) as
        (key, outer entry row, inner tasks)."""
        cdef _Tables T = I.outer
        cdef int nd = self.ndim, d
        cdef Py_ssize_t s, nshards = 1, ntask
        cdef int32_t idx[MAXDIM]
        cdef int64_t[::1] lov, hiv
        out = []
        for d in range(nd):
            nshards *= T.nentries[d]
            idx[d] = 0
        if nshards == 0:
            return out
        for s in range(nshards):
            key = self.prefix + self.zero_key if nd == 0 else None
            row = []
            ntask = 1
            for d in range(nd):
                p = (<list>T.keyparts[d])[idx[d]]
                key = p if key is None else key + p
                row.append(idx[d])
                lov = I.lo[d]
                hiv = I.hi[d]
                ntask *= hiv[idx[d]] - lov[idx[d]]
            out.append((key, row, ntask))
            for d in range(nd - 1, -1, -1):
                idx[d] += 1
                if idx[d] < T.nentries[d]:
                    break
                idx[d] = 0
        return out

    cdef void _shard_tasks(self, _Tables I, list row, int32_t *entries, int64_t *flat):
        """Entry rows and inner flat indices of one shard's tasks, in C order."""
        cdef int nd = self.ndim, d
        cdef int32_t lo[MAXDIM]
        cdef int32_t hi[MAXDIM]
        cdef int32_t idx[MAXDIM]
        cdef int64_t mul[MAXDIM]
        cdef const int64_t *jp[MAXDIM]
        cdef Py_ssize_t t = 0
        cdef int64_t f, acc = 1
        cdef int64_t[::1] jv, lov, hiv
        for d in range(nd - 1, -1, -1):
            lov = I.lo[d]
            hiv = I.hi[d]
            lo[d] = <int32_t>lov[<Py_ssize_t>row[d]]
            hi[d] = <int32_t>hiv[<Py_ssize_t>row[d]]
            idx[d] = lo[d]
            mul[d] = acc
            acc *= self.cps[d]
            jv = I.jin[d]
            jp[d] = &jv[0]  # I.jin[d] is kept alive by I
        if nd == 0:
            flat[0] = 0
            return
        for d in range(nd):
            if lo[d] >= hi[d]:
                return
        while True:
            f = 0
            for d in range(nd):
                entries[t * nd + d] = idx[d]
                f += jp[d][idx[d]] * mul[d]
            flat[t] = f
            t += 1
            d = nd - 1
            while d >= 0:
                idx[d] += 1
                if idx[d] < hi[d]:
                    break
                idx[d] = lo[d]
                d -= 1
            if d < 0:
                return

    cdef int _parse_index(self, const uint8_t *p, size_t n, uint64_t *iv, str key,
                          int64_t total) except -1:
        """Check the shard index bytes p[0:n] (size, crc32c, every present entry inside
        the data region; total < 0: shard size unknown, then only what the index alone
        allows) and decode its 2 * ninner entries into iv."""
        cdef size_t k = <size_t>self.index_nbytes, i, ni = <size_t>self.ninner
        cdef uint64_t off, nb, lo, hi, h
        cdef uint32_t crc, want
        cdef bint has_hi = total >= 0
        if n != k:
            raise DecodeError(
                f"sharding codec: expected exactly {k} bytes of shard index, got {n} "
                f"(shard key {key!r})")
        if self.index_crc:
            crc = zf_crc32c_update(0, p, 16 * ni)
            want = (<uint32_t>p[16 * ni] | (<uint32_t>p[16 * ni + 1] << 8)
                    | (<uint32_t>p[16 * ni + 2] << 16) | (<uint32_t>p[16 * ni + 3] << 24))
            if crc != want:
                raise ChecksumError(
                    f"crc32c: checksum mismatch: stored {want:#010x}, computed {crc:#010x} "
                    f"(shard index; shard key {key!r})")
        lo = k if self.index_start else 0
        hi = 0
        if has_hi:
            if self.index_start:
                hi = <uint64_t>total
            else:
                hi = <uint64_t>(total - <int64_t>k) if total >= <int64_t>k else 0
        for i in range(ni):
            off = _rd64(p + 16 * i, self.index_big)
            nb = _rd64(p + 16 * i + 8, self.index_big)
            iv[2 * i] = off
            iv[2 * i + 1] = nb
            if off == _ABSENT and nb == _ABSENT:
                continue
            if off < lo or off > _ABSENT - nb or (has_hi and (off > hi or nb > hi - off)):
                where = f"[{lo}, {hi})" if has_hi else f"[{lo}, ...)"
                raise DecodeError(
                    f"sharding codec: shard index entry for inner chunk {i} is (offset={off}, "
                    f"nbytes={nb}); expected both {_ABSENT} (absent) or a byte range inside "
                    f"the data region {where} of the shard (shard key {key!r})")
        return 0

    cdef _read_sharded(self, _Tables I, zf_batch_layout *L, uint8_t *base):
        shards = self._shards(I)
        cdef Py_ssize_t per_shard_bytes = max(1, <Py_ssize_t>(self.ninner * self.base.chunk_nbytes))
        cdef Py_ssize_t limit = max(1, (32 << 20) // per_shard_bytes)
        cdef Py_ssize_t i0 = 0, i1, tasks
        while i0 < len(shards):
            # whole shards per batch, ~32 MiB decoded (at least one shard)
            i1 = i0
            tasks = 0
            while i1 < len(shards) and (i1 == i0 or i1 - i0 < limit):
                tasks += shards[i1][2]
                i1 += 1
            self._read_shard_batch(I, L, base, shards[i0:i1], tasks)
            i0 = i1

    cdef _read_shard_batch(self, _Tables I, zf_batch_layout *L, uint8_t *base, list shards,
                           Py_ssize_t nt):
        cdef _TaskArrays A = _TaskArrays(nt, self.ndim)
        cdef int nd = self.ndim
        cdef Py_ssize_t s, t, t0, n, g
        cdef int64_t[::1] flat
        cdef uint64_t[::1] iv
        cdef uint64_t *ivp
        cdef size_t ki
        cdef uint64_t off, nb, a, b
        cdef const uint8_t *ptr
        cdef size_t ln
        cdef zf_pool *pool
        cdef int workers
        iv_arr = np.empty(2 * max(self.ninner, 1), dtype=np.uint64)
        iv = iv_arr
        ivp = &iv[0]
        flat_arr = np.empty(max(nt, 1), dtype=np.int64)
        flat = flat_arr
        firsts = []
        t0 = 0
        for key, row, n in shards:
            self._shard_tasks(I, row, A.entries + t0 * nd, &flat[t0])
            firsts.append(t0)
            t0 += n
        partial_ok = self.index_request is not None and self.store.supports_partial_reads \
            and self.range_request is not None
        whole = [s for s in range(len(shards))
                 if not partial_ok or shards[s][2] == self.ninner]
        part = [s for s in range(len(shards)) if partial_ok and shards[s][2] != self.ninner]
        V = _Views(len(whole) + 1)
        RV = None
        keys = [sh[0] for sh in shards]
        try:
            with self.store.borrow_many([keys[s] for s in whole]) as bufs:
                if len(bufs) != len(whole):
                    raise DecodeError(f"store returned {len(bufs)} values for {len(whole)} keys")
                for g, s in enumerate(whole):
                    buf = bufs[g]
                    if buf is None:
                        continue  # missing shard: src stays NULL (fill)
                    ptr = V.take(g, buf, &ln)
                    k = self.index_nbytes
                    if <Py_ssize_t>ln < k:
                        raise DecodeError(
                            f"sharding codec: expected at least {k} bytes for the shard index, "
                            f"got {ln} (shard key {keys[s]!r})")
                    # the index lies inside the held buffer (ln >= k checked above)
                    ki = <size_t>self.index_nbytes
                    self._parse_index(ptr if self.index_start else ptr + (ln - ki), ki,
                                      ivp, keys[s], <int64_t>ln)
                    # _parse_index checked every present entry lies inside [0, ln)
                    for t in range(firsts[s], firsts[s] + shards[s][2]):
                        off = iv[2 * flat[t]]
                        nb = iv[2 * flat[t] + 1]
                        if off == _ABSENT and nb == _ABSENT:
                            continue
                        A.src[t] = ptr + off
                        A.lens[t] = <size_t>nb
                if part:
                    RV = self._fetch_partial(I, A, flat, shards, firsts, part, keys)
                pool = _get_pool(max(1, int(config.num_threads)))
                workers = chunk_threads(nt)
                # every src points into a buffer held by V/RV until after the join; each
                # task writes only its own disjoint region of the caller's array at `base`.
                with nogil:
                    zf_batch_decode(pool, workers, L, base, <size_t>nt, A.entries, A.src,
                                    A.lens, A.status)
                V.release()
                if RV is not None:
                    (<_Views>RV).release()
            for s in range(len(shards)):
                for t in range(firsts[s], firsts[s] + shards[s][2]):
                    if A.status[t] != ZF_OK:
                        raise _error(A.status[t], f"{keys[s]}, inner chunk {flat[t]}", False)
        finally:
            V.release()
            if RV is not None:
                (<_Views>RV).release()

    cdef _Views _fetch_partial(self, _Tables I, _TaskArrays A, int64_t[::1] flat, list shards,
                               list firsts, list part, list keys):
        """Index ranged reads for the partially needed shards, then one coalesced ranged
        read per run of their needed inner chunks; fills A.src/A.lens."""
        cdef Py_ssize_t s, t, q, ng
        cdef uint64_t[::1] iv
        cdef uint64_t off, nb
        cdef const uint8_t *ptr
        cdef size_t ln
        cdef _Views IV
        iv_arr = np.empty(2 * max(self.ninner, 1), dtype=np.uint64)
        iv = iv_arr
        ibufs = self.store.get_ranges([(keys[s], self.index_request) for s in part])
        if len(ibufs) != len(part):
            raise DecodeError(f"store returned {len(ibufs)} values for {len(part)} ranges")
        wanted = []  # (key, offset, nbytes, task)
        IV = _Views(len(part))
        for q, s in enumerate(part):
            if ibufs[q] is None:
                continue
            ptr = IV.take(q, ibufs[q], &ln)
            # ptr[0:ln] is held by IV while it is parsed
            self._parse_index(ptr, ln, &iv[0], keys[s], -1)
            IV.release_one(q)
            for t in range(firsts[s], firsts[s] + shards[s][2]):
                off = iv[2 * flat[t]]
                nb = iv[2 * flat[t] + 1]
                if off == _ABSENT and nb == _ABSENT:
                    continue
                wanted.append((s, off, nb, t))
        wanted.sort()
        groups = []  # [shard, start, end, [(task, off, nb)]]
        gap = self.coalesce_gap
        for s, off, nb, t in wanted:
            if groups and groups[len(groups) - 1][0] == s and off <= groups[len(groups) - 1][2] + gap:
                g = groups[len(groups) - 1]
                g[2] = max(g[2], off + nb)
                g[3].append((t, off, nb))
            else:
                groups.append([s, off, off + nb, [(t, off, nb)]])
        cdef _Views RV = _Views(len(groups))
        if not groups:
            return RV
        rr = self.range_request
        bufs = self.store.get_ranges([(keys[g[0]], rr(g[1], g[2])) for g in groups])
        if len(bufs) != len(groups):
            raise DecodeError(f"store returned {len(bufs)} values for {len(groups)} ranges")
        for q in range(len(groups)):
            g = groups[q]
            if bufs[q] is None:
                continue  # the shard vanished between the two reads: fill
            ptr = RV.take(q, bufs[q], &ln)
            if ln != <size_t>(g[2] - g[1]):
                raise DecodeError(
                    f"sharding codec: expected {g[2] - g[1]} bytes at [{g[1]}, {g[2]}) of the "
                    f"shard, got {ln} (truncated shard, or an index entry pointing past its "
                    f"end) (shard key {keys[g[0]]!r})")
            g1 = g[1]
            for t, off, nb in g[3]:
                off -= g1
                # inside the buffer: off - start + nb <= end - start == ln
                A.src[t] = ptr + off
                A.lens[t] = <size_t>nb
        return RV

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
        cdef const uint8_t *base = <const uint8_t *>_array_address(value)
        if self.sharded:
            whole = all(all(c) for c in T.complete)
            T = self._inner_tables(T)
            self._layout(T, &L, False)
            if not whole:
                return self._write_partial_shards(T, &L, base, write_empty_chunks)
            return self._write_sharded(T, &L, base, write_empty_chunks)
        self._layout(T, &L, False)
        cdef Py_ssize_t size
        cdef Py_ssize_t t0 = 0, nt
        paths_of = getattr(self.store, "native_write_paths", None)
        size = self._batch_tasks(paths_of is not None or (
            self.trusted_set is not None and self.base.ncodecs == 0))
        if paths_of is not None:
            # the workers encode and write the files themselves (atomically): a batch
            # holds one encoded chunk per worker, so its size only bounds the key lists
            while t0 < T.ntasks:
                nt = min(size, T.ntasks - t0)
                if not self._write_files(T, &L, base, t0, nt, write_empty_chunks, paths_of):
                    break
                t0 += nt
            if t0 >= T.ntasks:
                return
        # bound the encoded bytes a batch holds (outputs are allocated at the encode bound)
        size = max(1, min(size, int(config.batch_bytes) // max(<Py_ssize_t>self.bound, 1)))
        writer = None
        if (T.ntasks > size or T.ntasks > 8) and self.trusted_set is None:
            # store batch k on a helper thread while batch k+1 encodes: smaller batches
            # (~32 MiB of outputs) keep both sides busy and bound what is in flight
            size = max(1, min(size, max(2 * chunk_threads(size),
                                        (32 << 20) // max(<Py_ssize_t>self.bound, 1))))
            writer = _Writer()
        try:
            while t0 < T.ntasks:
                nt = min(size, T.ntasks - t0)
                self._write_batch(T, &L, base, t0, nt, write_empty_chunks, writer)
                t0 += nt
        finally:
            if writer is not None:
                writer.finish()

    cdef _write_sharded(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                        bint write_empty):
        """Encode the inner chunks of each (fully covered) shard back to back straight
        into one buffer, add the index (+ crc32c) and store the shard with one write:
        the C workers write the files themselves where the store offers paths (and there
        are enough shards), else the buffer is the bytes object stored (_encode_shards).
        Shards whose inner chunks are all fill are deleted."""
        shards = self._shards(I)
        cdef Py_ssize_t i0 = 0, i1, ns = len(shards)
        paths_of = getattr(self.store, "native_write_paths", None)
        if paths_of is not None and ns >= max(1, int(config.num_threads)):
            # one shard per worker task, assembled and written (temp + rename) in C;
            # enough shards to keep every worker busy
            while i0 < ns:
                i1 = min(ns, i0 + 256)
                if not self._write_shard_files(I, L, base, shards[i0:i1], write_empty,
                                               paths_of, 0):
                    break
                i0 = i1
            if i0 >= ns:
                return
            shards = shards[i0:]
        cdef _Writer writer = _Writer()
        try:
            self._encode_shards(I, L, base, write_empty, shards, writer)
        finally:
            writer.finish()

    cdef bint _write_shard_files(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                                 list shards, bint write_empty, object paths_of,
                                 int attempt) except -1:
        """Whole shards encoded, assembled and written atomically by the C workers (one
        shard per task); False if the store declined.  All-absent shards are deleted
        through the store; a directory pruned meanwhile is re-created and the shard
        written again."""
        cdef Py_ssize_t ns = len(shards), s
        cdef zf_shard_layout S
        cdef int64_t[::1] flat
        cdef size_t *first = <size_t *>calloc(ns + 1, sizeof(size_t))
        cdef const char **cpaths = <const char **>calloc(max(1, ns), sizeof(char *))
        cdef int *status = <int *>calloc(max(1, ns), sizeof(int))
        cdef int *errnos = <int *>calloc(max(1, ns), sizeof(int))
        cdef int64_t *failed = <int64_t *>calloc(max(1, ns), sizeof(int64_t))
        cdef zf_pool *pool
        cdef int workers, fsync_
        cdef const char *ctag
        try:
            if not (first and cpaths and status and errnos and failed):
                raise MemoryError()
            A, flat_arr = self._shard_task_tables(I, shards, first)
            flat = flat_arr
            keys = [sh[0] for sh in shards]
            paths = paths_of(keys, recheck=True) if attempt else paths_of(keys)
            if paths is None:
                return False
            if len(paths) != ns:
                raise StoreError(f"store returned {len(paths)} paths for {ns} keys")
            for s in range(ns):
                # `paths` (a list of bytes) outlives the nogil block below
                cpaths[s] = <const char *>(<bytes>paths[s])
            S.ninner = <size_t>self.ninner
            S.index_nbytes = <size_t>self.index_nbytes
            S.index_start = self.index_start
            S.index_big = self.index_big
            S.index_crc = self.index_crc
            fsync_ = 1 if getattr(self.store, "fsync", False) else 0
            tag = _next_tag()
            ctag = <const char *>(<bytes>tag)
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(ns)
            # `base` is the caller's (read-only) value array; entries/flat/first are ours
            # and sized by the shard list; paths/tag are bytes kept alive above; each task
            # writes only its own shard file (unique temp name) and status slots.
            with nogil:
                zf_batch_encode_shards_files(pool, workers, L, &S, base, <size_t>ns, first,
                                             (<_TaskArrays>A).entries, &flat[0],
                                             1 if write_empty else 0, cpaths, fsync_, ctag,
                                             status, errnos, failed)
            for s in range(ns):
                if status[s] != ZF_OK and status[s] != ZF_BATCH_DELETE \
                        and status[s] != ZF_BATCH_IO_ERROR:
                    where = keys[s]
                    if failed[s] >= 0:
                        where = f"{keys[s]}, inner chunk {flat[failed[s]]}"
                    raise _error(status[s], where, True)
            retry = [s for s in range(ns)
                     if status[s] == ZF_BATCH_IO_ERROR and errnos[s] == ENOENT_]
            if retry and attempt < 32:
                self._write_shard_files(I, L, base, [shards[s] for s in retry], write_empty,
                                        paths_of, attempt + 1)
                for s in retry:
                    status[s] = ZF_OK
            for s in range(ns):
                if status[s] == ZF_BATCH_IO_ERROR:
                    raise StoreError(f"writing key {keys[s]!r}: {os.strerror(errnos[s])}")
            to_delete = [keys[s] for s in range(ns) if status[s] == ZF_BATCH_DELETE]
            if to_delete:
                self.store.delete_many(to_delete)
            return True
        finally:
            free(first)
            free(cpaths)
            free(status)
            free(errnos)
            free(failed)

    cdef _encode_shards(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                        bint write_empty, list shards, _Writer writer):
        """Whole shards encoded by the C workers straight into the bytes objects that
        are stored (zf_shard_encode_mem), in groups of at most ``config.batch_bytes`` of
        capacity (each shard's object is allocated at every inner chunk's encode bound
        plus the index; only the pages written are ever touched), split into groups of
        equal size so that every group keeps the workers equally busy."""
        cdef Py_ssize_t ns = len(shards), per, ngroups, g0, nmax = 1
        cdef int threads = max(1, int(config.num_threads))
        cdef size_t bound = zf_shard_chunk_bound(L)
        if ns == 0:
            return
        if bound == 0:  # pragma: no cover - __init__ checked every codec has a bound
            raise ValueError("the shard's inner chunks have no encode bound")
        for sh in shards:
            nmax = max(nmax, <Py_ssize_t>sh[2])
        # (Python ints: no overflow; a shard over the address space fails its allocation)
        per = max(1, int(config.batch_bytes) // (nmax * int(bound) + self.index_nbytes))
        if per >= threads:
            per -= per % threads  # whole rounds of the workers
        ngroups = (ns + per - 1) // per
        per = (ns + ngroups - 1) // ngroups
        for g0 in range(0, ns, per):
            self._encode_shard_group(I, L, base, write_empty, shards[g0:g0 + per], writer,
                                     threads, bound)

    cdef tuple _shard_task_tables(self, _Tables I, list shards, size_t *first):
        """The tasks of whole shards back to back: (a _TaskArrays of their entry rows,
        int64 inner chunk numbers); first[s] receives shard s's first task and
        first[len(shards)] the number of tasks."""
        cdef Py_ssize_t nt = 0, s, t0 = 0
        cdef int nd = self.ndim
        cdef int64_t[::1] flat
        for sh in shards:
            nt += <Py_ssize_t>sh[2]
        A = _TaskArrays(nt, nd)
        flat_arr = np.empty(max(nt, 1), dtype=np.int64)
        flat = flat_arr
        for s in range(len(shards)):
            first[s] = <size_t>t0
            self._shard_tasks(I, shards[s][1], (<_TaskArrays>A).entries + t0 * nd, &flat[t0])
            t0 += <Py_ssize_t>shards[s][2]
        first[len(shards)] = <size_t>t0
        return A, flat_arr

    cdef _encode_shard_group(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                             bint write_empty, list shards, _Writer writer, int threads,
                             size_t bound):
        """One group of whole shards: a bytes object per shard allocated at its bound
        (``bound`` per inner chunk + the index), the inner chunks encoded into it back to
        back, all-fill ones absent, the index (+ crc32c) added, then shrunk in place to
        its size (_PyBytes_Resize: a realloc, an mremap for large blocks, never a copy of
        the shard) and stored.  A shard with no inner chunk present is deleted unless
        write_empty.  With fewer shards than workers each shard is split into runs of
        inner chunks encoded by different workers (and joined by one memmove each)."""
        cdef Py_ssize_t ns = len(shards), s
        cdef int workers, huge
        cdef size_t nseg = 1
        cdef zf_shard_layout S
        cdef int64_t[::1] flat
        cdef zf_pool *pool
        cdef size_t *first = <size_t *>calloc(ns + 1, sizeof(size_t))
        cdef PyObject **outs = <PyObject **>calloc(max(1, ns), sizeof(PyObject *))
        cdef uint8_t **dst = <uint8_t **>calloc(max(1, ns), sizeof(uint8_t *))
        cdef size_t *dstcap = <size_t *>calloc(max(1, ns), sizeof(size_t))
        cdef size_t *dstlen = <size_t *>calloc(max(1, ns), sizeof(size_t))
        cdef int *status = <int *>calloc(max(1, ns), sizeof(int))
        cdef int64_t *failed = <int64_t *>calloc(max(1, ns), sizeof(int64_t))
        try:
            if not (first and outs and dst and dstcap and dstlen and status and failed):
                raise MemoryError()
            A, flat_arr = self._shard_task_tables(I, shards, first)
            flat = flat_arr
            for s in range(ns):
                cap = shards[s][2] * int(bound) + self.index_nbytes
                if cap > PY_SSIZE_T_MAX:
                    raise MemoryError(f"shard {shards[s][0]!r} needs {cap} bytes to encode")
                dstcap[s] = <size_t>cap
                outs[s] = zf_bytes_new(NULL, <Py_ssize_t>cap)
                # the fresh bytes object is ours alone until it is stored below
                dst[s] = <uint8_t *>zf_bytes_data(outs[s])
            S.ninner = <size_t>self.ninner
            S.index_nbytes = <size_t>self.index_nbytes
            S.index_start = self.index_start
            S.index_big = self.index_big
            S.index_crc = self.index_crc
            # enough runs to give every worker an equal share (a few runs per worker at
            # most: joining a shard's runs moves all but its first)
            while (ns * <Py_ssize_t>nseg) % threads != 0 and ns * <Py_ssize_t>nseg < 4 * threads:
                nseg += 1
            pool = _get_pool(threads)
            workers = chunk_threads(ns * <Py_ssize_t>nseg)
            # `base` is the caller's (read-only) value array; entries/flat/first are ours
            # and sized by the shard list; each run writes only its own slots of its
            # shard's fresh bytes object dst[s] (capacity dstcap[s] checked in C), and
            # the join and index writes run on this thread after the workers are done.
            huge = 1 if _numpy_hugepage() else 0
            with nogil:
                zf_shard_encode_mem(pool, workers, L, &S, base, <size_t>ns, first,
                                    (<_TaskArrays>A).entries, &flat[0], nseg,
                                    1 if write_empty else 0, huge, dst, dstcap, dstlen,
                                    status, failed)
            keys = [sh[0] for sh in shards]
            for s in range(ns):
                if status[s] != ZF_OK and status[s] != ZF_BATCH_DELETE:
                    where = keys[s]
                    if failed[s] >= 0:
                        where = f"{keys[s]}, inner chunk {flat[failed[s]]}"
                    raise _error(status[s], where, True)
            set_keys = []
            values = []
            to_delete = []
            for s in range(ns):
                if status[s] == ZF_BATCH_DELETE:
                    to_delete.append(keys[s])
                    continue
                if dstlen[s] != dstcap[s]:
                    # shrinks in place (refcount 1, a realloc); on failure outs[s] is NULL
                    _PyBytes_Resize(&outs[s], <Py_ssize_t>dstlen[s])
                set_keys.append(keys[s])
                values.append(<object>outs[s])
            if self.trusted_set is not None:
                # fresh bytes under keys built here: stored as they are, in order
                writer.wait()
                if set_keys:
                    self.trusted_set(set_keys, values)
                if to_delete:
                    self.store.delete_many(to_delete)
            else:
                # stored on the helper thread while the next group encodes
                writer.submit(self.store, list(zip(set_keys, values)), to_delete)
        finally:
            if outs != NULL:
                for s in range(ns):
                    Py_XDECREF(outs[s])
            free(first)
            free(outs)
            free(dst)
            free(dstcap)
            free(dstlen)
            free(status)
            free(failed)

    cdef _write_partial_shards(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                               bint write_empty):
        """Read-modify-write of shards the selection covers only partly (any shard of it
        may also be whole): under the key locks, the old shards of a group are fetched
        with one get_many; per shard, its index is parsed here, the touched inner chunks
        are built (partly covered ones merged onto their decoded old version) and encoded
        in parallel, untouched inner chunks are kept as their raw old bytes, and the shard
        is reassembled (inner chunk order) with a parallel copy and stored once."""
        shards = self._shards(I)
        cdef Py_ssize_t i0 = 0, i1, ns = len(shards), per_group
        # a group holds its old shards and the new ones: ~64 MiB of decoded-size data
        per_group = max(1, (64 << 20) // max(1, <Py_ssize_t>(self.ninner * self.base.chunk_nbytes)))
        while i0 < ns:
            i1 = min(ns, i0 + per_group)
            self._rmw_shard_group(I, L, base, write_empty, shards[i0:i1])
            i0 = i1

    cdef _rmw_shard_group(self, _Tables I, zf_batch_layout *L, const uint8_t *base,
                          bint write_empty, list shards):
        cdef Py_ssize_t ns = len(shards), s, n, t, j, d, nmax = 1, pos, total
        cdef Py_ssize_t k = self.index_nbytes, ni = self.ninner
        cdef int nd = self.ndim
        cdef int64_t[::1] flat
        cdef int64_t[::1] tmap
        cdef uint64_t[::1] iv
        cdef size_t bound = self.bound, ln
        cdef const uint8_t *ptr
        cdef uint8_t *stage = NULL
        cdef uint8_t **dst = NULL
        cdef size_t *dstcap = NULL
        cdef const uint8_t **old = NULL
        cdef size_t *oldlen = NULL
        cdef const uint8_t **seg = NULL
        cdef size_t *seglen = NULL
        cdef size_t *segoff = NULL
        cdef uint8_t *buf
        cdef uint8_t *ip
        cdef PyObject *owned = NULL
        cdef zf_pool *pool
        cdef int workers
        cdef bint present, any_present
        cdef const int64_t *cnt
        cdef const int64_t *stp
        cdef int32_t e
        keys = [sh[0] for sh in shards]
        for sh in shards:
            nmax = max(nmax, <Py_ssize_t>sh[2])
        iv_arr = np.empty(2 * max(ni, 1), dtype=np.uint64)
        iv = iv_arr
        map_arr = np.empty(max(ni, 1), dtype=np.int64)
        tmap = map_arr
        V = _Views(ns)
        lockf = self.fallback._locks
        # fixed order so two writers never deadlock on each other's stripes
        locks = sorted({id(lk): lk for lk in (lockf(key) for key in keys)}.values(), key=id)
        for lk in locks:
            lk.acquire()
        stage = <uint8_t *>malloc(<size_t>nmax * bound)
        dst = <uint8_t **>calloc(nmax, sizeof(uint8_t *))
        dstcap = <size_t *>calloc(nmax, sizeof(size_t))
        old = <const uint8_t **>calloc(nmax, sizeof(uint8_t *))
        oldlen = <size_t *>calloc(nmax, sizeof(size_t))
        seg = <const uint8_t **>calloc(max(ni, 1), sizeof(uint8_t *))
        seglen = <size_t *>calloc(max(ni, 1), sizeof(size_t))
        segoff = <size_t *>calloc(max(ni, 1), sizeof(size_t))
        to_set = []
        to_delete = []
        try:
            if not (stage and dst and dstcap and old and oldlen and seg and seglen and segoff):
                raise MemoryError()
            olds = self.store.get_many(keys)
            if len(olds) != ns:
                raise DecodeError(f"store returned {len(olds)} values for {ns} keys")
            pool = _get_pool(max(1, int(config.num_threads)))
            for s in range(ns):
                key, row, n = shards[s]
                A = _TaskArrays(n, nd)
                flat_arr = np.empty(max(n, 1), dtype=np.int64)
                flat = flat_arr
                self._shard_tasks(I, row, (<_TaskArrays>A).entries, &flat[0])
                present = olds[s] is not None
                if present:
                    ptr = V.take(s, olds[s], &ln)
                    if <Py_ssize_t>ln < k:
                        raise DecodeError(
                            f"sharding codec: expected at least {k} bytes for the shard "
                            f"index, got {ln} (shard key {key!r})")
                    # the index lies inside the held buffer (ln >= k)
                    self._parse_index(ptr if self.index_start else ptr + (ln - <size_t>k),
                                      <size_t>k, &iv[0], key, <int64_t>ln)
                for j in range(ni):
                    tmap[j] = -1
                for t in range(n):
                    # an inner chunk is complete when every dim covers all of it
                    (<_TaskArrays>A).complete[t] = 1
                    for d in range(nd):
                        e = (<_TaskArrays>A).entries[t * nd + d]
                        if I.dims[d].count[e] != self.chunk_shape[d] or I.dims[d].cstep[e] != 1:
                            (<_TaskArrays>A).complete[t] = 0
                    j = flat[t]
                    tmap[j] = t
                    old[t] = NULL
                    oldlen[t] = 0
                    if present and not (<_TaskArrays>A).complete[t] and not (
                            iv[2 * j] == _ABSENT and iv[2 * j + 1] == _ABSENT):
                        # _parse_index checked the entry lies inside the held shard
                        old[t] = ptr + iv[2 * j]
                        oldlen[t] = <size_t>iv[2 * j + 1]
                    dst[t] = stage + t * bound
                    dstcap[t] = bound
                workers = chunk_threads(n)
                # `base` is the caller's value array, old inner chunks point into shards
                # held by V; each task writes only its own slot dst[t] of our staging buffer
                with nogil:
                    zf_batch_encode(pool, workers, L, base, <size_t>n,
                                    (<_TaskArrays>A).entries, (<_TaskArrays>A).complete, old,
                                    oldlen, 0, dst, dstcap, (<_TaskArrays>A).lens,
                                    (<_TaskArrays>A).status)
                for t in range(n):
                    st = (<_TaskArrays>A).status[t]
                    if st != ZF_OK and st != ZF_BATCH_DELETE:
                        raise _error(st, f"{key}, inner chunk {flat[t]}", old[t] == NULL)
                # the new shard: inner chunks in order, touched ones re-encoded, the
                # others their old bytes
                pos = k if self.index_start else 0
                any_present = False
                for j in range(ni):
                    t = tmap[j]
                    seglen[j] = 0
                    seg[j] = NULL
                    if t >= 0:
                        if (<_TaskArrays>A).status[t] != ZF_BATCH_DELETE:
                            seg[j] = dst[t]
                            seglen[j] = (<_TaskArrays>A).lens[t]
                    elif present and not (iv[2 * j] == _ABSENT and iv[2 * j + 1] == _ABSENT):
                        seg[j] = ptr + iv[2 * j]
                        seglen[j] = <size_t>iv[2 * j + 1]
                    if seg[j] != NULL:
                        any_present = True
                        segoff[j] = <size_t>pos
                        pos += <Py_ssize_t>seglen[j]
                if not any_present and not write_empty:
                    if present:
                        to_delete.append(key)
                    continue
                total = pos if self.index_start else pos + k  # pos counts a leading index
                owned = zf_bytes_new(NULL, total)
                buf = <uint8_t *>zf_bytes_data(owned)
                workers = chunk_threads(ni)
                # the fresh bytes are ours alone; sources are our staging slots or the
                # held old shard; every segment goes to its own disjoint range
                with nogil:
                    zf_batch_copy_segments(pool, workers, <size_t>ni,
                                           <const uint8_t *const *>seg, seglen, buf, segoff)
                    ip = buf if self.index_start else buf + pos
                    for j in range(ni):
                        _wr64(ip + 16 * j, segoff[j] if seg[j] != NULL else _ABSENT,
                              self.index_big)
                        _wr64(ip + 16 * j + 8, seglen[j] if seg[j] != NULL else _ABSENT,
                              self.index_big)
                    if self.index_crc:
                        _wr32le(ip + 16 * ni, zf_crc32c_update(0, ip, <size_t>(16 * ni)))
                to_set.append((key, <object>owned))
                Py_XDECREF(owned)
                owned = NULL
            V.release()
            if to_set:
                self.store.set_many(to_set)
            if to_delete:
                self.store.delete_many(to_delete)
        finally:
            Py_XDECREF(owned)
            V.release()
            for lk in reversed(locks):
                lk.release()
            free(stage)
            free(dst)
            free(dstcap)
            free(old)
            free(oldlen)
            free(seg)
            free(seglen)
            free(segoff)

    cdef bint _write_files(self, _Tables T, zf_batch_layout *L, const uint8_t *base,
                           Py_ssize_t t0, Py_ssize_t nt, bint write_empty,
                           object paths_of) except -1:
        """Tasks [t0, t0 + nt) encoded and written to files by the C workers (atomic temp
        file + rename each); False if the store declined (then it is written through
        the store).  All-fill chunks are deleted through the store."""
        cdef _TaskArrays A = _TaskArrays(nt, self.ndim)
        cdef _Views V = _Views(nt)
        cdef const char **cpaths = <const char **>calloc(max(1, nt), sizeof(char *))
        cdef int *errnos = <int *>calloc(max(1, nt), sizeof(int))
        cdef int *rerr = <int *>calloc(max(1, nt), sizeof(int))
        cdef Py_ssize_t i, j, nd = self.ndim, nr
        cdef zf_pool *pool
        cdef int workers, attempt
        cdef int fsync_ = 0
        cdef const char *ctag
        locks = []
        try:
            if cpaths == NULL or errnos == NULL or rerr == NULL:
                raise MemoryError()
            keys = self._batch(T, t0, nt, A.entries, A.complete)
            paths = paths_of(keys)
            if paths is None:
                return False
            if len(paths) != nt:
                raise StoreError(f"store returned {len(paths)} paths for {nt} keys")
            fsync_ = 1 if getattr(self.store, "fsync", False) else 0
            partial = [i for i in range(nt) if not A.complete[i]]
            lockf = self.fallback._locks
            # fixed order so two writers never deadlock on each other's stripes
            locks = sorted({id(lk): lk for lk in (lockf(keys[i]) for i in partial)}.values(),
                           key=id)
            for lk in locks:
                lk.acquire()
            if partial:
                values = self.store.get_many([keys[i] for i in partial])
                for j, i in enumerate(partial):
                    if values[j] is not None:
                        A.src[i] = V.take(i, values[j], &A.lens[i])
            for i in range(nt):
                # `paths` (a list of bytes) outlives the nogil block below
                cpaths[i] = <const char *>(<bytes>paths[i])
            tag = _next_tag()
            ctag = <const char *>(<bytes>tag)
            pool = _get_pool(max(1, int(config.num_threads)))
            workers = chunk_threads(nt)
            # `base` is the caller's (read-only) value array, old chunks are held views
            # (V), paths/tag are bytes kept alive above; each task writes only its own
            # file (unique temp name) and its own status/errno slot.
            with nogil:
                zf_batch_encode_files(pool, workers, L, base, <size_t>nt, A.entries,
                                      A.complete, A.src, A.lens, 1 if write_empty else 0,
                                      cpaths, fsync_, ctag, A.status, errnos)
            for i in range(nt):
                if A.status[i] != ZF_OK and A.status[i] != ZF_BATCH_DELETE \
                        and A.status[i] != ZF_BATCH_IO_ERROR:
                    raise _error(A.status[i], keys[i], A.complete[i] or A.src[i] == NULL)
            # a directory pruned by a concurrent delete: re-create it and write again
            for attempt in range(32):
                retry = [i for i in range(nt)
                         if A.status[i] == ZF_BATCH_IO_ERROR and errnos[i] == ENOENT_]
                if not retry:
                    break
                rpaths = paths_of([keys[i] for i in retry], recheck=True)
                nr = len(retry)
                R = _TaskArrays(nr, self.ndim)
                for j in range(nr):
                    i = retry[j]
                    memcpy(&R.entries[j * nd], &A.entries[i * nd], nd * sizeof(int32_t))
                    R.complete[j] = A.complete[i]
                    R.src[j] = A.src[i]
                    R.lens[j] = A.lens[i]
                    cpaths[j] = <const char *>(<bytes>rpaths[j])
                    rerr[j] = 0
                workers = chunk_threads(nr)
                # as above for the retried subset: old values still held by V, rpaths
                # kept alive by the list, each task owns its file and slots
                with nogil:
                    zf_batch_encode_files(pool, workers, L, base, <size_t>nr,
                                          R.entries, R.complete, R.src, R.lens,
                                          1 if write_empty else 0, cpaths, fsync_, ctag,
                                          R.status, rerr)
                for j in range(nr):
                    i = retry[j]
                    A.status[i] = R.status[j]
                    errnos[i] = rerr[j]
                    if R.status[j] != ZF_OK and R.status[j] != ZF_BATCH_DELETE \
                            and R.status[j] != ZF_BATCH_IO_ERROR:
                        raise _error(R.status[j], keys[i], A.complete[i] or A.src[i] == NULL)
            failed = [i for i in range(nt) if A.status[i] == ZF_BATCH_IO_ERROR]
            if failed:
                # let the store's own write raise its mapped error (or succeed)
                i = failed[0]
                raise StoreError(
                    f"writing key {keys[i]!r}: {os.strerror(errnos[i])}")
            to_delete = [keys[i] for i in range(nt) if A.status[i] == ZF_BATCH_DELETE]
            if to_delete:
                self.store.delete_many(to_delete)
            return True
        finally:
            V.release()
            for lk in reversed(locks):
                lk.release()
            free(cpaths)
            free(errnos)
            free(rerr)

    cdef _write_batch(self, _Tables T, zf_batch_layout *L, const uint8_t *base, Py_ssize_t t0,
                      Py_ssize_t nt, bint write_empty, object writer):
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
            set_keys = []
            trusted = self.trusted_set is not None
            for i in range(nt):
                if status[i] == ZF_BATCH_DELETE:
                    to_delete.append(keys[i])
                    continue
                owned = outs[i]
                outs[i] = NULL
                if dstlen[i] != self.bound:
                    if _PyBytes_Resize(&owned, <Py_ssize_t>dstlen[i]) < 0:  # pragma: no cover
                        raise MemoryError()
                if trusted:
                    set_keys.append(keys[i])
                    to_set.append(<object>owned)
                else:
                    to_set.append((keys[i], <object>owned))
                Py_XDECREF(owned)
            if trusted:
                # fresh bytes under keys built here: stored as they are, in batch order
                if writer is not None:
                    (<_Writer>writer).wait()
                if set_keys:
                    self.trusted_set(set_keys, to_set)
                if to_delete:
                    self.store.delete_many(to_delete)
            elif writer is not None and not locks:
                (<_Writer>writer).submit(self.store, to_set, to_delete)
            else:
                if writer is not None:
                    (<_Writer>writer).wait()  # keep stores in batch order
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
