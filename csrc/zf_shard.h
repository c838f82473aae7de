/* zf_shard.h - encode whole shards into one buffer each. */
#ifndef ZF_SHARD_H
#define ZF_SHARD_H
#endif /* ZF_SHARD_H */
