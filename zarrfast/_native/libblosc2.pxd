# Extern declarations for C-Blosc2 (blosc2.h, from the blosc2 wheel).  Declarations only.


cdef extern from "blosc2.h" nogil:
    const char *BLOSC2_VERSION_STRING
    enum:
        BLOSC_MIN_HEADER_LENGTH
        BLOSC_EXTENDED_HEADER_LENGTH
