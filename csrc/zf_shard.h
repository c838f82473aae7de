/* zf_shard.h - encode whole shards into one buffer each.
 *
 * The in-memory counterpart of zf_batch_encode_shards_files: the caller (the native
 * engine) allocates one buffer per shard, big enough for every inner chunk at its encode
 * bound plus the index, typically the storage of the very bytes object that becomes the
 * stored value; the workers encode the inner chunks straight into it, compacted, and the
 * index is written next to them.  The caller then shrinks the buffer to dstlen[s] (a
 * realloc that never copies), so an encoded inner chunk is written once and never moved
 * (except to join the runs of a shard split across workers, below).
 */
#ifndef ZF_SHARD_H
#define ZF_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "zf_batch.h"

/* The chained encode bound of one inner chunk of L (chunk_nbytes through every codec), or
 * 0 when a codec has none or it overflows.  Size each dst[s] of zf_shard_encode_mem as
 * bound * (first[s + 1] - first[s]) + S->index_nbytes. */
size_t zf_shard_chunk_bound(const zf_batch_layout *L);

/* Encode nshards whole shards: shard s owns tasks first[s]..first[s + 1] - 1 of entries
 * (inner chunk number flat[t] in C order of the shard's inner chunks, every one built
 * from `in` alone: the fill value outside the array).  Its present inner chunks go into
 * dst[s] in task order, compacted, all-fill ones are left out (absent in the index), and
 * the index (S: before or after the chunks, + crc32c) is written; dstlen[s] receives the
 * shard's size.  Each shard is split into min(nseg, its tasks) runs of consecutive tasks,
 * one pool task each (nseg > 1 keeps every worker busy when there are fewer shards than
 * workers); the runs of a shard are then joined with one memmove each, on the calling
 * thread.  advise_huge: ask for transparent huge pages (Linux madvise) on each dst[s] of
 * at least 4 MiB before writing it, so that its first touch faults 2 MiB at a time (about
 * 10% less CPU for a 256 MiB write of 32 MiB shards).  status[s]: ZF_OK, ZF_BATCH_DELETE
 * (no inner chunk present and !write_empty: the caller deletes the shard) or an error;
 * failed[s] is then the task that failed (-1: the error is not one task's, e.g.
 * ZF_ERR_PARAM for a dstcap[s] below the size above or an inconsistent S, ZF_ERR_NOMEM). */
void zf_shard_encode_mem(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                         const zf_shard_layout *S, const uint8_t *in, size_t nshards,
                         const size_t *first, const int32_t *entries, const int64_t *flat,
                         size_t nseg, int write_empty, int advise_huge, uint8_t *const *dst,
                         const size_t *dstcap, size_t *dstlen, int *status, int64_t *failed);

#endif /* ZF_SHARD_H */
