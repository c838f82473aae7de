# Extern declarations for zlib (zlib.h).  Declarations only.


cdef extern from "zlib.h" nogil:
    const char *zlibVersion()
