/* zf_shard_index.h - the index of a sharded array's shard, shared by the file shard writer
 * (zf_batch.c) and the in-memory one (zf_shard.c).
 *
 * The lowest of the shard units: it knows the index layout and nothing of batches or
 * codecs, so zf_batch and zf_shard both use it and neither calls the other's index code.
 */
#ifndef ZF_SHARD_INDEX_H
#define ZF_SHARD_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* The index layout of a sharded array (sharding_indexed with a `bytes` index codec and at
 * most one crc32c): ninner (offset, nbytes) uint64 pairs, in C order of the inner chunks,
 * then the le32 CRC32C of those 16 * ninner bytes when index_crc. */
typedef struct {
    size_t ninner;
    size_t index_nbytes; /* 16 * ninner + (index_crc ? 4 : 0) */
    int index_start;     /* the index precedes the inner chunks */
    int index_big;       /* big-endian uint64 entries */
    int index_crc;
} zf_shard_layout;

/* Write the index of one shard, S->index_nbytes bytes at ip: every entry absent
 * (UINT64_MAX, UINT64_MAX), then (spans[2t], spans[2t + 1]) = (offset, nbytes) at entry
 * flat[t] for each present task t in [t0, t1), then, when S->index_crc, the le32 crc32c
 * of the entries.  Task t is present when present[t] != 0, or, for present == NULL, when
 * spans[2t] != SIZE_MAX (the two ways the memory and file shard writers keep track).
 * Returns ZF_OK, or ZF_ERR_PARAM with *bad_task = t for a flat[t] outside the shard. */
int zf_shard_write_index(uint8_t *ip, const zf_shard_layout *S, size_t t0, size_t t1,
                         const int64_t *flat, const size_t *spans, const uint8_t *present,
                         int64_t *bad_task);

#endif /* ZF_SHARD_INDEX_H */
