# Small shared state of every engine call: the error table, the per-dimension
# selection tables (_Tables), buffer views, per-task C arrays and the background store writer.
# (Included by _pipeline.pyx; the engine's layers are one class each, lowest first.)

# ----------------------------------------------------------------------------- errors
def _error(int status, str key, bint encoding):
    msg = zf_status_message(status).decode()
    if status == ZF_ERR_CHECKSUM:
        return ChecksumError(f"checksum mismatch: {msg} (chunk key {key!r})")
    if encoding and status not in (ZF_ERR_CORRUPT, ZF_ERR_TRUNCATED, ZF_ERR_SIZE_MISMATCH,
                                   ZF_ERR_TRAILING):
        return EncodeError(f"could not encode chunk {key!r}: {msg}")
    return DecodeError(f"could not decode chunk {key!r}: {msg}")


def _short_index(Py_ssize_t need, Py_ssize_t got, str key):
    """The DecodeError of a shard shorter than its index."""
    return DecodeError(f"sharding codec: expected at least {need} bytes for the shard index, "
                       f"got {got} (shard key {key!r})")


cdef inline size_t _array_address(object arr) except? 0:
    """The data pointer of a numpy array (any strides, any dtype, read-only too)."""
    cdef Py_buffer view
    cdef size_t addr
    # the buffer protocol without a format is ~20x cheaper than __array_interface__
    # (which builds a dict and the typestr); a point read's budget is ~70 us
    try:
        PyObject_GetBuffer(arr, &view, PyBUF_STRIDES)
    except (BufferError, ValueError, TypeError):  # a dtype numpy will not export
        return <size_t>arr.__array_interface__["data"][0]
    addr = <size_t>view.buf
    PyBuffer_Release(&view)
    return addr


cdef class _Tables:
    """Per-dimension selection tables of one product indexer against one big array."""

    cdef list arrays     # per dim: int64 (4, n) rows cstart, cstep, count, aoff
    cdef list keyparts   # per dim: key text per entry (dim 0 carries the prefix)
    cdef list complete   # per dim: bytes of 0/1
    cdef list kvals      # per dim: chunk (shard) index per entry
    cdef list allkeys    # every task's key in C order (None: built per batch)
    cdef dict lists      # dim -> (cidx, oidx, ioff) int64 arrays of index-list dims, kept alive
    # inner-chunk tables of a sharded array (built from the shard-level ones)
    cdef _Tables outer   # the shard-level tables
    cdef list lo         # per dim: int64[n outer entries], first inner entry of each
    cdef list hi         # per dim: one past its last inner entry
    cdef list jin        # per dim: int64[n inner entries], inner chunk index in the shard
    cdef int64_t nentries[MAXDIM]
    cdef zf_dim dims[MAXDIM]
    # inner tables of a sharded array, index-list dims only: per inner entry, 1 when its
    # indices cover every position of the inner chunk along that dim (else NULL)
    cdef const uint8_t *full[MAXDIM]
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
    cdef int64_t *flat  # inner chunk numbers (sharded reads)
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t n, int ndim):
        self.n = n
        self.flat = <int64_t *>calloc(max(1, n), sizeof(int64_t))
        self.entries = <int32_t *>calloc(max(1, n * max(ndim, 1)), sizeof(int32_t))
        self.complete = <uint8_t *>calloc(max(1, n), 1)
        self.src = <const uint8_t **>calloc(max(1, n), sizeof(uint8_t *))
        self.lens = <size_t *>calloc(max(1, n), sizeof(size_t))
        self.status = <int *>calloc(max(1, n), sizeof(int))
        if not (self.entries and self.complete and self.src and self.lens and self.status
                and self.flat):
            raise MemoryError()

    def __dealloc__(self):
        free(self.flat)
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


cdef class _U64:
    """n uint64 scratch values (a shard index being parsed), freed with the object."""

    cdef uint64_t *p

    def __cinit__(self, Py_ssize_t n):
        self.p = <uint64_t *>malloc(max(1, n) * sizeof(uint64_t))
        if self.p == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.p)


cdef class _NoBorrow:
    """``with`` target standing in for ``store.borrow_many([])`` (nothing to fetch)."""

    def __enter__(self):
        return []

    def __exit__(self, *exc):
        return False


cdef _NoBorrow _NO_BORROW = _NoBorrow()


cdef class _FdTasks:
    """Per task of a sharded batch: the open shard file to pread its inner chunk from
    (-1: not from a file) and the offset; the files are closed by close() (or
    collection)."""

    cdef int *fds
    cdef uint64_t *offs
    cdef int *errnos
    cdef list opened
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t n):
        cdef Py_ssize_t i
        self.n = n
        self.fds = <int *>malloc(max(1, n) * sizeof(int))
        self.offs = <uint64_t *>calloc(max(1, n), sizeof(uint64_t))
        self.errnos = <int *>calloc(max(1, n), sizeof(int))
        if self.fds == NULL or self.offs == NULL or self.errnos == NULL:
            raise MemoryError()
        for i in range(n):
            self.fds[i] = -1
        self.opened = []

    def close(self):
        opened, self.opened = self.opened or [], []
        for fd in opened:
            try:
                os.close(fd)
            except OSError:  # pragma: no cover - a close error loses nothing on a read
                pass

    def __dealloc__(self):
        self.close()
        free(self.fds)
        free(self.offs)
        free(self.errnos)
