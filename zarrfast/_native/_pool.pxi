# The native thread pools (one per size, rebuilt after fork) and decode_raw_into,
# the one-call decode of independent payloads into one buffer.
# (Included by _pipeline.pyx; the engine's layers are one class each, lowest first.)

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
