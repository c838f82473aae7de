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
import stat

import numpy as np

from cpython.buffer cimport (
    PyBUF_SIMPLE,
    PyBUF_STRIDES,
    PyBUF_WRITABLE,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
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


# The engine, one unit per job (each file opens with what it owns), in dependency order:
include "_pool.pxi"
include "_tasks.pxi"
include "_engine_base.pxi"
include "_shard_tables.pxi"
include "_read.pxi"
include "_shard_write.pxi"
include "_write.pxi"
include "_arena.pxi"
