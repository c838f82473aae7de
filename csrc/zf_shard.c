/* zf_shard.c - encode whole shards into one buffer each (see zf_shard.h). */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE (the build asks for plain POSIX otherwise) */
#endif
#include "zf_shard.h"

#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "zf_codecs.h"
#include "zf_crc32c.h"

/* Ask for transparent huge pages on the page-aligned interior of a large fresh buffer:
 * its first write then faults in 2 MiB at a time instead of 4 KiB (numpy does the same
 * for its large arrays).  Only advice: ignored where unsupported or disabled. */
static void zf_shard_advise_huge(uint8_t *buf, size_t cap) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a, b;
    if (page <= 0 || cap < ((size_t)4 << 20)) return;
    /* addresses as integers to round inward to whole pages of buf[0:cap] */
    a = ((uintptr_t)buf + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    b = ((uintptr_t)buf + cap) & ~((uintptr_t)page - 1);
    /* [a, b) lies inside the caller's buffer: only advice, no data is touched */
    if (b > a) (void)madvise((void *)a, (size_t)(b - a), MADV_HUGEPAGE);
#else
    (void)buf;
    (void)cap;
#endif
}

size_t zf_shard_chunk_bound(const zf_batch_layout *L) {
    size_t b = L->chunk_nbytes;
    int i;
    for (i = 0; i < L->ncodecs; i++) {
        const zf_codec_step *c = &L->codecs[i];
        size_t next = 0;
        if (zf_codec_encode_bound(c->kind, c->params, c->nparams, b, &next) != ZF_OK ||
            next < b)
            return 0;
        b = next;
    }
    return b ? b : 1;
}

/* Shard s (dst[s], runs r0..r1 - 1 done): join its runs, write the index. */
static void zf_shard_assemble(const zf_shard_layout *S, size_t s, uint8_t *shard,
                              size_t r0, size_t r1, uint8_t *const *rdst,
                              const size_t *run_first, const size_t *runlen,
                              const int *rstatus, const int64_t *rfailed, size_t *spans,
                              const size_t *first, const int64_t *flat, int write_empty,
                              size_t *dstlen, int *status, int64_t *failed) {
    size_t data0 = S->index_start ? S->index_nbytes : 0, pos = data0, r, t;
    uint8_t *ip;
    int any = 0, rc;
    for (r = r0; r < r1; r++) {
        if (rstatus[r] != ZF_OK) {
            status[s] = rstatus[r];
            failed[s] = rfailed[r];
            return;
        }
    }
    for (r = r0; r < r1; r++) {
        /* run r sits at its slot of shard (at or after pos: runs are laid out at the
         * bound of every earlier task); move it down next to the previous one */
        if (rdst[r] != shard + pos && runlen[r]) memmove(shard + pos, rdst[r], runlen[r]);
        for (t = run_first[r]; t < run_first[r + 1]; t++) {
            if (spans[2 * t] == SIZE_MAX) continue;
            spans[2 * t] += pos;
            any = 1;
        }
        pos += runlen[r];
    }
    if (!any && !write_empty) {
        status[s] = ZF_BATCH_DELETE;
        return;
    }
    ip = S->index_start ? shard : shard + pos;
    rc = zf_shard_write_index(ip, S, first[s], first[s + 1], flat, spans, NULL, &failed[s]);
    if (rc != ZF_OK) {
        status[s] = rc;
        return;
    }
    dstlen[s] = S->index_start ? pos : pos + S->index_nbytes; /* pos counts a leading index */
    status[s] = ZF_OK;
}

void zf_shard_encode_mem(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                         const zf_shard_layout *S, const uint8_t *in, size_t nshards,
                         const size_t *first, const int32_t *entries, const int64_t *flat,
                         size_t nseg, int write_empty, int advise_huge, uint8_t *const *dst,
                         const size_t *dstcap, size_t *dstlen, int *status, int64_t *failed) {
    size_t s, r, j, nruns = 0, ntasks, bound, data0, n, k;
    size_t *run_first = NULL, *spans = NULL, *runlen = NULL, *rcap = NULL;
    uint8_t **rdst = NULL;
    int *rstatus = NULL;
    int64_t *rfailed = NULL;
    int rc = ZF_OK;
    if (nseg < 1) nseg = 1;
    for (s = 0; s < nshards; s++) {
        status[s] = ZF_OK;
        failed[s] = -1;
        dstlen[s] = 0;
    }
    if (nshards == 0) return;
    ntasks = first[nshards];
    bound = zf_shard_chunk_bound(L);
    data0 = S->index_start ? S->index_nbytes : 0;
    if (bound == 0 || S->ninner == 0 || S->ninner > SIZE_MAX / 16 - 1 ||
        S->index_nbytes != 16 * S->ninner + (S->index_crc ? 4 : 0))
        rc = ZF_ERR_PARAM;
    for (s = 0; rc == ZF_OK && s < nshards; s++) {
        if (first[s + 1] < first[s]) {
            rc = ZF_ERR_PARAM;
            break;
        }
        n = first[s + 1] - first[s];
        /* every task at its bound, plus the index, must fit (no overflow either) */
        if (n > S->ninner || n > (SIZE_MAX - S->index_nbytes) / bound ||
            dstcap[s] < n * bound + S->index_nbytes || dst[s] == NULL) {
            rc = ZF_ERR_PARAM;
            break;
        }
        nruns += n ? (n < nseg ? n : nseg) : 1;
    }
    if (rc == ZF_OK) {
        /* plain arrays of the element type each is sized for (nruns >= nshards >= 1) */
        run_first = (size_t *)malloc((nruns + 1) * sizeof(size_t));
        spans = (size_t *)malloc(2 * (ntasks ? ntasks : 1) * sizeof(size_t));
        runlen = (size_t *)calloc(nruns, sizeof(size_t));
        rcap = (size_t *)malloc(nruns * sizeof(size_t));
        rdst = (uint8_t **)malloc(nruns * sizeof(uint8_t *));
        rstatus = (int *)malloc(nruns * sizeof(int));
        rfailed = (int64_t *)malloc(nruns * sizeof(int64_t));
        if (!run_first || !spans || !runlen || !rcap || !rdst || !rstatus || !rfailed)
            rc = ZF_ERR_NOMEM;
    }
    if (rc != ZF_OK) {
        for (s = 0; s < nshards; s++) status[s] = rc;
        goto done;
    }
    /* runs in shard order: shard s's k runs split its tasks evenly; run r is laid out at
     * its first task's slot (every earlier task of the shard at its bound) */
    r = 0;
    for (s = 0; s < nshards; s++) {
        n = first[s + 1] - first[s];
        k = n ? (n < nseg ? n : nseg) : 1;
        for (j = 0; j < k; j++) {
            size_t t0 = first[s] + (n * j) / k, t1 = first[s] + (n * (j + 1)) / k;
            run_first[r] = t0;
            rdst[r] = dst[s] + data0 + (t0 - first[s]) * bound;
            rcap[r] = (t1 - t0) * bound;
            r++;
        }
    }
    run_first[nruns] = ntasks;
    if (advise_huge)
        for (s = 0; s < nshards; s++) zf_shard_advise_huge(dst[s], dstcap[s]);
    zf_batch_encode_runs(pool, maxworkers, L, in, nruns, run_first, entries, rdst, rcap, spans,
                         runlen, rstatus, rfailed);
    r = 0;
    for (s = 0; s < nshards; s++) {
        n = first[s + 1] - first[s];
        k = n ? (n < nseg ? n : nseg) : 1;
        zf_shard_assemble(S, s, dst[s], r, r + k, rdst, run_first, runlen, rstatus, rfailed,
                          spans, first, flat, write_empty, dstlen, status, failed);
        r += k;
    }
done:
    free(run_first);
    free(spans);
    free(runlen);
    free(rcap);
    free(rdst);
    free(rstatus);
    free(rfailed);
}
