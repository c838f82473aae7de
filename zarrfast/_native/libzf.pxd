# Extern declarations for zarrfast's own C sources (csrc/zf_*.h).  Declarations only.
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t


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


cdef extern from "zf_pool.h" nogil:
    ctypedef struct zf_pool:
        pass
    zf_pool *zf_pool_create(int size)
    int zf_pool_size(const zf_pool *pool)
    void zf_pool_destroy(zf_pool *pool)


cdef extern from "zf_ndcopy.h" nogil:
    void zf_ndcopy(int ndim, const size_t *counts, uint8_t *dst, const ptrdiff_t *dst_strides,
                   const uint8_t *src, const ptrdiff_t *src_strides, size_t itemsize,
                   size_t swap_unit)
    void zf_ndfill(int ndim, const size_t *counts, uint8_t *dst, const ptrdiff_t *dst_strides,
                   const uint8_t *pattern, size_t itemsize)


cdef extern from "zf_batch.h" nogil:
    enum:
        ZF_BATCH_MAXCODECS
        ZF_BATCH_MAXPARAMS
        ZF_BATCH_DELETE
        ZF_BATCH_IO_ERROR
    ctypedef struct zf_codec_step:
        int kind
        size_t nparams
        int64_t params[8]
    ctypedef struct zf_dim:
        const int64_t *cstart
        const int64_t *cstep
        const int64_t *count
        const int64_t *aoff
        const int64_t *cidx
        const int64_t *oidx
        const int64_t *ioff
        int cidx_bytes
    ctypedef struct zf_batch_layout:
        int ndim
        size_t itemsize
        size_t swap_unit
        const int64_t *chunk_shape
        const ptrdiff_t *chunk_strides
        int chunk_is_c
        size_t chunk_nbytes
        int ncodecs
        zf_codec_step codecs[8]
        const uint8_t *fill
        const zf_dim *dims
        const ptrdiff_t *array_strides
        int stream_out
    void zf_batch_decode(zf_pool *pool, int maxworkers, const zf_batch_layout *L, uint8_t *out,
                         size_t ntasks, const int32_t *entries, const uint8_t *const *src,
                         const size_t *srclen, int *status)
    void zf_batch_decode_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                               uint8_t *out, size_t ntasks, const int32_t *entries,
                               const char *const *paths, int *status, int *errnos)
    void zf_batch_decode_ranges(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                                uint8_t *out, size_t ntasks, const int32_t *entries,
                                const uint8_t *const *src, const size_t *srclen,
                                const int *fds, const uint64_t *offs, int *status,
                                int *errnos)
    void zf_batch_encode(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                         const uint8_t *inp, size_t ntasks, const int32_t *entries,
                         const uint8_t *complete, const uint8_t *const *old,
                         const size_t *oldlen, int write_empty, uint8_t *const *dst,
                         const size_t *dstcap, size_t *dstlen, int *status)
    void zf_batch_encode_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                               const uint8_t *inp, size_t ntasks, const int32_t *entries,
                               const uint8_t *complete, const uint8_t *const *old,
                               const size_t *oldlen, int write_empty,
                               const char *const *paths, int fsync_, const char *tag,
                               int *status, int *errnos)
    ctypedef struct zf_shard_layout:
        size_t ninner
        size_t index_nbytes
        int index_start
        int index_big
        int index_crc
    void zf_batch_encode_shards_files(zf_pool *pool, int maxworkers,
                                      const zf_batch_layout *L, const zf_shard_layout *S,
                                      const uint8_t *inp, size_t nshards, const size_t *first,
                                      const int32_t *entries, const int64_t *flat,
                                      int write_empty, const char *const *paths, int fsync_,
                                      const char *tag, int *status, int *errnos,
                                      int64_t *failed)
    void zf_batch_copy_segments(zf_pool *pool, int maxworkers, size_t n,
                                const uint8_t *const *src, const size_t *len, uint8_t *dst,
                                const size_t *dst_off)
    void zf_batch_decode_raw(zf_pool *pool, int maxworkers, const zf_codec_step *codec,
                             size_t ntasks, const uint8_t *const *src, const size_t *srclen,
                             uint8_t *out, size_t size, int *status)
