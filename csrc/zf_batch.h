/* zf_batch.h - decode/encode a batch of chunks on a zf_pool, straight into/out of the
 * caller's n-d array.
 *
 * The caller (zarrfast._native._pipeline) describes the selection as a product of
 * per-dimension tables (zf_dim: for each touched chunk along the dim, the chunk-local
 * start/step/count and the byte offset in the big array) and each task as one entry
 * index per dimension, plus the encoded chunk bytes.  Workers never touch Python: every
 * task records a status code (ZF_OK, a negative ZF_ERR_*, or ZF_BATCH_DELETE on encode)
 * that the caller turns into exceptions after the join.
 *
 * The chunk's decoded bytes (after the bytes->bytes codecs) are `chunk_nbytes` bytes in
 * the stored layout: element (i0..in-1) of the logical chunk is at
 * sum(i_d * chunk_strides[d]) (a transpose is just permuted strides) in the stored byte
 * order (swap_unit != 0 when it differs from the array's).
 */
#ifndef ZF_BATCH_H
#define ZF_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "zf_pool.h"
#include "zf_shard_index.h"
#include "zf_status.h"

#define ZF_BATCH_MAXCODECS 8
#define ZF_BATCH_MAXPARAMS 8
#define ZF_BATCH_DELETE 1 /* encode: the chunk is all fill value; delete instead of storing */
#define ZF_BATCH_IO_ERROR 2 /* decode_files: reading the file failed; errnos[t] says why */

typedef struct {
    int kind; /* ZF_KIND_* */
    size_t nparams;
    int64_t params[ZF_BATCH_MAXPARAMS];
} zf_codec_step;

typedef struct {
    const int64_t *cstart; /* chunk-local first index */
    const int64_t *cstep;  /* chunk-local step (may be negative) */
    const int64_t *count;  /* elements */
    const int64_t *aoff;   /* byte offset of the first element in the big array */
    /* NULL, or the dim is an index list (orthogonal / coordinate selections).  Entry k's count[k]
     * chunk-local indices are cidx[ioff[k]..], their byte offsets in the big array
     * oidx[ioff[k]..] (cstart/cstep unused, aoff[k] 0). */
    const int64_t *cidx;
    const int64_t *oidx;
    const int64_t *ioff;
    int cidx_bytes; /* cidx holds byte offsets in the decoded chunk (coordinate reads:
                     * each point's offset over every dim, the other dims count 1) */
} zf_dim;

typedef struct {
    int ndim;
    size_t itemsize;
    size_t swap_unit;             /* 0 or the byte-group size to reverse */
    const int64_t *chunk_shape;   /* [ndim] logical chunk shape */
    const ptrdiff_t *chunk_strides; /* [ndim] byte strides of logical dims in the stored layout */
    int chunk_is_c;               /* stored layout is plain C order of the logical chunk */
    size_t chunk_nbytes;
    int ncodecs;                  /* bytes->bytes codecs, encode order */
    zf_codec_step codecs[ZF_BATCH_MAXCODECS];
    const uint8_t *fill;          /* itemsize bytes: array byte order (decode) / stored (encode) */
    const zf_dim *dims;           /* [ndim] */
    const ptrdiff_t *array_strides; /* [ndim] byte strides in the big array (0: dropped dim) */
    int stream_out;               /* decode: scatter with streaming stores (large outputs) */
} zf_batch_layout;

/* Decode ntasks chunks into the array at `out`.  entries[t * ndim + d] is task t's entry
 * in dims[d]; src[t] == NULL means missing (fill).  status[t] receives the result.
 * A chunk read only in part whose last codec to undo is zstd (without a frame checksum)
 * is decoded only up to the last byte the read needs (zf_partial.h): the rest of its
 * frames is size- and structure-checked but not decoded. */
void zf_batch_decode(zf_pool *pool, int maxworkers, const zf_batch_layout *L, uint8_t *out,
                     size_t ntasks, const int32_t *entries, const uint8_t *const *src,
                     const size_t *srclen, int *status);

/* As zf_batch_decode, but each worker reads task t's source itself from the regular file
 * at paths[t] (whole file, pread, into its own scratch buffer): fetching runs in parallel
 * and overlaps decoding, and a batch never holds more than one encoded chunk per worker.
 * A missing file (ENOENT, ENOTDIR, a directory or any non-regular file) is the fill
 * value; another failure sets status[t] = ZF_BATCH_IO_ERROR and errnos[t].  POSIX only
 * (ZF_ERR_UNSUPPORTED elsewhere). */
void zf_batch_decode_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                           uint8_t *out, size_t ntasks, const int32_t *entries,
                           const char *const *paths, int *status, int *errnos);

/* As zf_batch_decode, but a task with fds[t] >= 0 has its source read by the worker
 * itself: srclen[t] bytes at offset offs[t] of the open file fds[t] (pread, into its own
 * scratch buffer), so fetching the byte ranges of sharded inner chunks runs in parallel
 * and overlaps decoding; tasks with fds[t] < 0 decode src[t] as zf_batch_decode does.  A
 * file ending inside its range is ZF_ERR_TRUNCATED; a failed read sets status[t] =
 * ZF_BATCH_IO_ERROR and errnos[t].  POSIX only (ZF_ERR_UNSUPPORTED elsewhere). */
void zf_batch_decode_ranges(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                            uint8_t *out, size_t ntasks, const int32_t *entries,
                            const uint8_t *const *src, const size_t *srclen, const int *fds,
                            const uint64_t *offs, int *status, int *errnos);

/* Build and encode ntasks chunks from the array at `in`.  Partial chunks (complete[t] ==
 * 0) start from the decoded old[t] (or the fill value when old[t] == NULL); complete ones
 * from the fill value.  The encoded chunk goes to dst[t] (capacity dstcap[t], which must
 * be at least the chained encode bound), its size to dstlen[t]; status[t] is ZF_OK,
 * ZF_BATCH_DELETE (all fill and !write_empty) or an error. */
void zf_batch_encode(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                     const uint8_t *in, size_t ntasks, const int32_t *entries,
                     const uint8_t *complete, const uint8_t *const *old, const size_t *oldlen,
                     int write_empty, uint8_t *const *dst, const size_t *dstcap,
                     size_t *dstlen, int *status);

/* As zf_batch_encode, but each worker writes task t's encoded chunk itself to the file
 * paths[t], atomically: a new temp file ".zftmp-<pid>-<tag>-<worker>-<task>-<n>" in the
 * same directory (which must exist), written, fsync'd when fsync_ != 0, renamed over
 * paths[t] (then the directory is fsync'd too).  A killed writer leaves at most a temp
 * file, never a torn chunk.  All-fill chunks (when !write_empty) are not written and get
 * ZF_BATCH_DELETE (the caller deletes them); a failed write gets ZF_BATCH_IO_ERROR with
 * errnos[t] (ENOENT: the directory is missing) and leaves no temp file.  POSIX only. */
void zf_batch_encode_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                           const uint8_t *in, size_t ntasks, const int32_t *entries,
                           const uint8_t *complete, const uint8_t *const *old,
                           const size_t *oldlen, int write_empty, const char *const *paths,
                           int fsync_, const char *tag, int *status, int *errnos);

/* Encode runs of whole chunks, each run compacted into its own buffer (the building block
 * of in-memory shard writes, zf_shard.h): run r, one pool task, builds tasks
 * run_first[r]..run_first[r + 1] - 1 from `in` (complete chunks: the fill value outside
 * the array), leaves all-fill chunks out and encodes the others back to back, in task
 * order, straight into dst[r] (capacity dstcap[r]: at least the chained encode bound
 * times the run's task count).  spans[2 * t] and spans[2 * t + 1] receive task t's
 * offset in dst[r] and its size (SIZE_MAX and 0 when left out), runlen[r] the bytes
 * written.  status[r]: ZF_OK or the error of task failed[r] (-1: none in particular). */
void zf_batch_encode_runs(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                          const uint8_t *in, size_t nruns, const size_t *run_first,
                          const int32_t *entries, uint8_t *const *dst, const size_t *dstcap,
                          size_t *spans, size_t *runlen, int *status, int64_t *failed);

/* Encode whole shards and write each atomically (as zf_batch_encode_files) to paths[s]:
 * one task per shard, run by one worker, which encodes the shard's inner chunks (tasks
 * first[s]..first[s + 1] - 1 of entries, inner chunk number flat[t]) in task order into
 * one buffer, leaves all-fill inner chunks out (absent in the index), adds the index and
 * writes temp + rename.  status[s]: ZF_OK, ZF_BATCH_DELETE (every inner chunk absent and
 * !write_empty: not written, the caller deletes it), ZF_BATCH_IO_ERROR with errnos[s], or
 * an encode error of task failed[s].  POSIX only. */
void zf_batch_encode_shards_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                                  const zf_shard_layout *S, const uint8_t *in, size_t nshards,
                                  const size_t *first, const int32_t *entries,
                                  const int64_t *flat, int write_empty,
                                  const char *const *paths, int fsync_, const char *tag,
                                  int *status, int *errnos, int64_t *failed);

/* dst[dst_off[i]:dst_off[i] + len[i]] = src[i][0:len[i]] for every i (len[i] == 0:
 * nothing), on the pool: the compaction of encoded pieces into one object (a shard).
 * The destination ranges must be disjoint and not overlap any source. */
void zf_batch_copy_segments(zf_pool *pool, int maxworkers, size_t n,
                            const uint8_t *const *src, const size_t *len, uint8_t *dst,
                            const size_t *dst_off);

/* The codec-only bound of a read (the benchmark "ceiling"): decode src[t] with `codec`
 * (NULL: memcpy) into out + t * size (exactly size bytes expected), one reused library
 * context per worker, no layout work. */
void zf_batch_decode_raw(zf_pool *pool, int maxworkers, const zf_codec_step *codec,
                         size_t ntasks, const uint8_t *const *src, const size_t *srclen,
                         uint8_t *out, size_t size, int *status);

#endif /* ZF_BATCH_H */
