/* zf_shard.c - encode whole shards into one buffer each. */
#include "zf_shard.h"
