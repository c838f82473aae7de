# Extern declarations for the LZ4 library (lz4.h).  Declarations only.


cdef extern from "lz4.h" nogil:
    enum:
        LZ4_MAX_INPUT_SIZE
    int LZ4_versionNumber()
    int LZ4_compressBound(int inputSize)
