/* zf_pool.c - see zf_pool.h. */
#include "zf_pool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    zf_pool *pool;
    int id;
} zf_worker_arg;

struct zf_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    pthread_mutex_t submit; /* held for the duration of one loop */
    int size;               /* workers including the caller */
    int nthreads;           /* threads actually started (size - 1 on success) */
    pthread_t *threads;
    zf_worker_arg *args;
    unsigned long generation;
    int shutdown;
    /* the current loop */
    zf_task_fn fn;
    void *ctx;
    size_t ntasks;
    size_t next; /* atomic */
    int want;    /* pool threads taking part: ids 1..want */
    int running; /* pool threads still working on the loop */
    /* the spare (zf_pool_take_spare / zf_pool_give_spare) */
    void *spare; /* atomic */
    void (*spare_free)(void *);
};

static void zf_pool_run(zf_pool *p, int id) {
    size_t i, end, left, block, n = p->ntasks, parts = 4 * ((size_t)p->want + 1);
    for (;;) {
        /* Guided schedule: runs of consecutive tasks, shrinking to one as the loop
         * drains.  Consecutive tasks are neighbours in the output (C order), so one
         * worker writes both sides of a shared cache line while it is hot, instead of
         * two cores bouncing it (outputs not aligned to a line make every chunk edge
         * such a line); the tail stays balanced.  __atomic: the counter is shared by
         * every worker of the loop; a stale `left` only changes the run length. */
        left = n - __atomic_load_n(&p->next, __ATOMIC_RELAXED);
        block = (left <= n && left / parts > 1) ? left / parts : 1;
        i = __atomic_fetch_add(&p->next, block, __ATOMIC_RELAXED);
        if (i >= n) return;
        end = i + block < n ? i + block : n;
        for (; i < end; i++) p->fn(p->ctx, i, id);
    }
}

static void *zf_pool_main(void *argp) {
    zf_worker_arg *arg = (zf_worker_arg *)argp; /* the zf_worker_arg owned by the pool */
    zf_pool *p = arg->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->shutdown && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->shutdown) break;
        seen = p->generation;
        if (arg->id > p->want) continue;
        pthread_mutex_unlock(&p->mu);
        zf_pool_run(p, arg->id);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

zf_pool *zf_pool_create(int size) {
    zf_pool *p;
    int i;
    if (size < 1) size = 1;
    p = (zf_pool *)calloc(1, sizeof(*p));
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->submit, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->threads = (pthread_t *)calloc((size_t)size, sizeof(pthread_t));
    p->args = (zf_worker_arg *)calloc((size_t)size, sizeof(zf_worker_arg));
    if (!p->threads || !p->args) {
        free(p->threads);
        free(p->args);
        free(p);
        return NULL;
    }
    for (i = 1; i < size; i++) {
        p->args[i].pool = p;
        p->args[i].id = i;
        if (pthread_create(&p->threads[p->nthreads], NULL, zf_pool_main, &p->args[i]) != 0) break;
        p->nthreads++;
    }
    p->size = p->nthreads + 1; /* fewer threads if the system refused some */
    return p;
}

int zf_pool_size(const zf_pool *pool) { return pool ? pool->size : 1; }

void zf_pool_for(zf_pool *p, size_t ntasks, int maxworkers, zf_task_fn fn, void *ctx) {
    size_t i;
    int want;
    if (ntasks == 0) return;
    want = p ? p->size - 1 : 0;
    if (maxworkers - 1 < want) want = maxworkers - 1;
    if ((size_t)want > ntasks - 1) want = (int)(ntasks - 1);
    if (want <= 0 || pthread_mutex_trylock(&p->submit) != 0) {
        for (i = 0; i < ntasks; i++) fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
    p->want = want;
    p->running = want;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    zf_pool_run(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->running > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->submit);
}

void *zf_pool_take_spare(zf_pool *p) {
    if (!p) return NULL;
    /* __atomic: the slot is shared by every thread that runs batches on this pool */
    return __atomic_exchange_n(&p->spare, NULL, __ATOMIC_ACQ_REL);
}

int zf_pool_give_spare(zf_pool *p, void *spare, void (*free_fn)(void *)) {
    void *expected = NULL;
    if (!p || !spare) return 0;
    p->spare_free = free_fn; /* every giver passes the same function */
    return __atomic_compare_exchange_n(&p->spare, &expected, spare, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

void zf_pool_destroy(zf_pool *p) {
    int i;
    void *spare;
    if (!p) return;
    spare = zf_pool_take_spare(p);
    if (spare && p->spare_free) p->spare_free(spare);
    pthread_mutex_lock(&p->mu);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->submit);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p->args);
    free(p);
}
