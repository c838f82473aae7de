# The opt-in output arena (config.output_arena_bytes): large read outputs carved from
# memory that earlier outputs already faulted in, instead of fresh pages the kernel must
# fault and zero on first touch (about a quarter of a W1 read on the bench machine).
# (Included by _pipeline.pyx.)

cdef extern from "stdlib.h" nogil:
    int posix_memalign(void **memptr, size_t alignment, size_t size)

cdef extern from "sys/mman.h" nogil:
    int madvise(void *addr, size_t length, int advice)
    int MADV_HUGEPAGE

from cpython.buffer cimport PyBuffer_FillInfo

cdef size_t _ARENA_ALIGN = 2 << 20  # a huge page: the kernel may back blocks with THP
cdef list _ARENA_FREE = []          # [(capacity, address)] of parked blocks
cdef Py_ssize_t _ARENA_HELD = 0     # bytes parked in _ARENA_FREE


cdef class _ArenaBlock:
    """Owner of one arena block, exported as a writable byte buffer.  numpy views of an
    output keep it alive; when the last one goes, the block is parked for the next
    output (up to ``config.output_arena_bytes``) or freed."""

    cdef char *p
    cdef Py_ssize_t n

    def __getbuffer__(self, Py_buffer *view, int flags):
        PyBuffer_FillInfo(view, self, self.p, self.n, 0, flags)

    def __releasebuffer__(self, Py_buffer *view):
        pass

    def __dealloc__(self):
        global _ARENA_HELD
        if self.p == NULL:
            return
        try:
            limit = int(config.output_arena_bytes)
        except Exception:  # interpreter shutdown: just free
            limit = 0
        if _ARENA_FREE is not None and _ARENA_HELD + self.n <= limit:
            _ARENA_FREE.append((self.n, <size_t>self.p))
            _ARENA_HELD += self.n
        else:
            free(self.p)
        self.p = NULL


def arena_trim(Py_ssize_t keep=0):
    """Free parked blocks until at most ``keep`` bytes stay parked; returns bytes freed."""
    global _ARENA_HELD
    cdef Py_ssize_t freed = 0
    _ARENA_FREE.sort()
    while _ARENA_FREE and _ARENA_HELD > keep:
        cap, addr = _ARENA_FREE.pop()  # the biggest first
        free(<void *><size_t>addr)
        _ARENA_HELD -= cap
        freed += cap
    return freed


def arena_held():
    """Bytes parked in the arena now."""
    return _ARENA_HELD


def arena_empty(shape, dtype):
    """An uninitialised C-ordered array of ``shape`` and ``dtype`` in an arena block: a
    parked block of at least its size (at most twice, else a new one), 2 MiB aligned."""
    global _ARENA_HELD
    dt = np.dtype(dtype)
    cdef Py_ssize_t n = dt.itemsize
    for s in shape:
        n *= s
    cdef Py_ssize_t best = -1, i, cap
    cdef void *p = NULL
    for i in range(len(_ARENA_FREE)):
        cap = _ARENA_FREE[i][0]
        if n <= cap <= 2 * n and (best < 0 or cap < _ARENA_FREE[best][0]):
            best = i
    cdef _ArenaBlock blk = _ArenaBlock.__new__(_ArenaBlock)
    if best >= 0:
        cap, addr = _ARENA_FREE.pop(best)
        _ARENA_HELD -= cap
        blk.p = <char *><size_t>addr
        blk.n = cap
    else:
        cap = (max(n, 1) + _ARENA_ALIGN - 1) // _ARENA_ALIGN * _ARENA_ALIGN
        if posix_memalign(&p, _ARENA_ALIGN, <size_t>cap) != 0:
            raise MemoryError(f"cannot allocate a {cap}-byte output block")
        madvise(p, <size_t>cap, MADV_HUGEPAGE)  # advice only: failure is harmless
        blk.p = <char *>p
        blk.n = cap
        # park at most the configured budget: what is not reused is freed
        arena_trim(max(0, int(config.output_arena_bytes) - cap))
    raw = np.frombuffer(blk, dtype=np.uint8, count=n)
    return raw.view(dt).reshape(shape)
