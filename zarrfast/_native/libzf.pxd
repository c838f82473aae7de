# Extern declarations for zarrfast's own C sources (csrc/zf_*.h).  Declarations only.
from libc.stdint cimport int64_t, uint8_t, uint32_t


cdef extern from "zf_status.h" nogil:
    enum:
        ZF_OK
        ZF_ERR_CORRUPT
        ZF_ERR_TRUNCATED
        ZF_ERR_DST_FULL
        ZF_ERR_SIZE_MISMATCH
        ZF_ERR_NOMEM
        ZF_ERR_PARAM
        ZF_ERR_UNSUPPORTED
        ZF_ERR_CHECKSUM
        ZF_ERR_TOO_LARGE
        ZF_ERR_SIZE_UNKNOWN
        ZF_ERR_TRAILING
        ZF_ERR_INTERNAL
    const char *zf_status_message(int status)


cdef extern from "zf_crc32c.h" nogil:
    uint32_t zf_crc32c_update(uint32_t crc, const uint8_t *data, size_t len)
    uint32_t zf_crc32c_update_portable(uint32_t crc, const uint8_t *data, size_t len)
    int zf_crc32c_hw_available()


cdef extern from "zf_blosc1.h" nogil:
    enum:
        ZF_BLOSC_BLOSCLZ
        ZF_BLOSC_LZ4
        ZF_BLOSC_LZ4HC
        ZF_BLOSC_ZLIB
        ZF_BLOSC_ZSTD
        ZF_BLOSC_NOSHUFFLE
        ZF_BLOSC_SHUFFLE
        ZF_BLOSC_BITSHUFFLE
    void zf_blosc_shuffle(size_t typesize, size_t blocksize, const uint8_t *src, uint8_t *dst)
    void zf_blosc_unshuffle(size_t typesize, size_t blocksize, const uint8_t *src, uint8_t *dst)
    void zf_blosc_bitshuffle(size_t typesize, size_t blocksize, const uint8_t *src, uint8_t *dst)
    void zf_blosc_bitunshuffle(size_t typesize, size_t blocksize, const uint8_t *src,
                               uint8_t *dst)


cdef extern from "zf_codecs.h" nogil:
    enum:
        ZF_KIND_ZSTD
        ZF_KIND_LZ4
        ZF_KIND_ZLIB
        ZF_KIND_GZIP
        ZF_KIND_BLOSC
        ZF_KIND_CRC32C
    int zf_codec_encode_bound(int kind, const int64_t *params, size_t nparams, size_t srclen,
                              size_t *bound)
    int zf_codec_encode(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                        size_t srclen, uint8_t *dst, size_t dstcap, size_t *dstlen)
    int zf_codec_decoded_size(int kind, const int64_t *params, size_t nparams,
                              const uint8_t *src, size_t srclen, size_t *size)
    int zf_codec_decode(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                        size_t srclen, uint8_t *dst, size_t dstcap, size_t *dstlen)
    unsigned zf_zstd_version()
    int zf_lz4_version()
    const char *zf_zlib_version()
