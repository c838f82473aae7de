# Extern declarations for the zstd library (zstd.h).  Declarations only.


cdef extern from "zstd.h" nogil:
    unsigned ZSTD_versionNumber()
    int ZSTD_minCLevel()
    int ZSTD_maxCLevel()
    size_t ZSTD_compressBound(size_t srcSize)
