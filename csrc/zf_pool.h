/* zf_pool.h - a small pthread pool with one operation: a parallel for-loop.
 *
 * No globals: the caller owns the pool object.  zf_pool_for runs fn(ctx, i, worker) for
 * every i in [0, ntasks) on up to `maxworkers` threads, the calling thread included
 * (worker 0; pool threads are 1..size-1), handing out tasks with an atomic counter.  It
 * returns when every task has finished.  One loop runs at a time per pool: a second
 * caller that finds the pool busy runs its loop inline on its own thread (so nested or
 * concurrent use can never deadlock).
 *
 * Fork: a pool's threads do not exist in a forked child.  The owner must drop the
 * pointer in the child without calling zf_pool_destroy (leak it) and build a new pool.
 */
#ifndef ZF_POOL_H
#define ZF_POOL_H

#include <stddef.h>

typedef struct zf_pool zf_pool;
typedef void (*zf_task_fn)(void *ctx, size_t task, int worker);

/* A pool of `size` workers (size - 1 threads plus the caller); NULL on failure. */
zf_pool *zf_pool_create(int size);
/* Total workers, the calling thread included. */
int zf_pool_size(const zf_pool *pool);
/* Run the loop; pool may be NULL (then everything runs inline as worker 0). */
void zf_pool_for(zf_pool *pool, size_t ntasks, int maxworkers, zf_task_fn fn, void *ctx);
/* One spare object the pool keeps for its users between loops (the batch code keeps its
 * per-worker scratch buffers and codec contexts there, so a small read does not allocate
 * and page-fault fresh ones each call).  take: the spare, or NULL when there is none or
 * another caller holds it; the slot is then empty.  give: store `spare` (freed later with
 * free_fn, at the latest by zf_pool_destroy) if the slot is empty and return 1; else
 * return 0 and the caller keeps (frees) it.  Both are lock-free and thread-safe. */
void *zf_pool_take_spare(zf_pool *pool);
int zf_pool_give_spare(zf_pool *pool, void *spare, void (*free_fn)(void *));

/* Stop and join the threads, free the pool.  Never call this in a forked child. */
void zf_pool_destroy(zf_pool *pool);

#endif /* ZF_POOL_H */
