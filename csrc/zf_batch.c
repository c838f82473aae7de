/* zf_batch.c - see zf_batch.h. */
/* madvise (zf_populate) is not in POSIX.1-2008, which the build otherwise targets */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif
#include "zf_batch.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#endif

#include "zf_codecs.h"
#include "zf_crc32c.h"
#include "zf_ndcopy.h"
#include "zf_partial.h"
#include "zf_shard_index.h"

#define ZF_SCRATCH_BUFS 5 /* 0/1: codec ping-pong, 2: encode staging, 3: file contents,
                           * 4: an assembled shard */

typedef struct {
    uint8_t *buf[ZF_SCRATCH_BUFS];
    size_t cap[ZF_SCRATCH_BUFS];
    zf_codec_ctx codec; /* this worker's library contexts, reused across its chunks */
} zf_scratch;

typedef struct {
    const zf_batch_layout *L;
    zf_scratch *scratch; /* [maxworkers], indexed by worker id */
    int lowest;          /* lowest codec index that is not crc32c, or -1 */
    /* decode */
    uint8_t *out;
    const uint8_t *const *src;
    const size_t *srclen;
    const char *const *paths; /* decode from files instead of src (zf_batch_decode_files) */
    int *errnos;
    const int *fds;           /* decode_ranges: read [offs[t], +srclen[t]) of fds[t] >= 0 */
    const uint64_t *offs;
    /* encode */
    const uint8_t *in;
    const uint8_t *complete;
    const uint8_t *const *old;
    const size_t *oldlen;
    int write_empty;
    uint8_t *const *dst;
    const size_t *dstcap;
    size_t *dstlen;
    int fsync;        /* encode_files: fsync each file and its directory */
    const char *tag;  /* encode_files: per-call part of the temp names */
    /* encode_shards_files */
    const zf_shard_layout *S;
    const size_t *first;  /* [nshards + 1]: shard s owns tasks [first[s], first[s + 1]) */
    const int64_t *flat;  /* [ntasks]: inner chunk number of each task in its shard */
    int64_t *failed;      /* [nshards]: the task whose error is status[s] */
    uint8_t *complete_mark; /* [ntasks]: the inner chunk is present in its shard */
    int keep_empty_shards;  /* write a shard whose inner chunks are all absent */
    size_t *runlen;         /* encode_runs: [nruns] bytes written into dst[r] */
    /* both */
    const int32_t *entries;
    int *status;
} zf_batch_ctx;

static uint8_t *zf_scratch_get(zf_scratch *s, int k, size_t size) {
    if (size == 0) size = 1;
    if (s->cap[k] < size) {
        uint8_t *p = (uint8_t *)realloc(s->buf[k], size);
        if (!p) return NULL;
        s->buf[k] = p;
        s->cap[k] = size;
    }
    return s->buf[k];
}

static uint32_t zf_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Undo the bytes->bytes codecs of one chunk.  On success data and len hold the decoded
 * bytes (exactly chunk_nbytes): `final` if given and the lowest codec decoded there,
 * else the source itself (no codec but crc32c) or a scratch buffer.  need <
 * chunk_nbytes (with final == NULL) asks only for the decoded prefix [0, need): when the
 * last codec to undo is zstd it stops early (zf_zstd_decode_prefix) and len is then
 * anything from need to chunk_nbytes; the codecs before it still decode in full. */
static int zf_decode_chain(const zf_batch_ctx *B, zf_scratch *s, const uint8_t *src,
                           size_t srclen, uint8_t *final, size_t need, const uint8_t **data,
                           size_t *len) {
    const zf_batch_layout *L = B->L;
    const uint8_t *cur = src;
    size_t n = srclen, cap, got;
    int cur_buf = -1, i, rc, prefix = 0;
    for (i = L->ncodecs - 1; i >= 0; i--) {
        const zf_codec_step *c = &L->codecs[i];
        uint8_t *out;
        int ob = cur_buf == 0 ? 1 : 0;
        if (c->kind == ZF_KIND_CRC32C) {
            /* verify in place: the payload is the prefix, no copy needed */
            if (n < 4) return ZF_ERR_TRUNCATED;
            if (zf_crc32c_update(0, cur, n - 4) != zf_le32(cur + n - 4)) return ZF_ERR_CHECKSUM;
            n -= 4;
            continue;
        }
        if (i == B->lowest) {
            cap = L->chunk_nbytes + 4 * (size_t)i; /* only crc32c codecs below */
            out = (final && i == 0) ? final : zf_scratch_get(s, ob, cap);
            if (!out) return ZF_ERR_NOMEM;
            got = 0;
            rc = ZF_PARTIAL_FALLBACK;
            if (i == 0 && c->kind == ZF_KIND_ZSTD && need < cap && out != final) {
                rc = zf_zstd_decode_prefix(&s->codec.zstd_d, cur, n, out, cap, need, &got);
                if (rc == ZF_OK) prefix = 1;
                else if (rc != ZF_PARTIAL_FALLBACK) return rc;
            }
            if (!prefix) {
                rc = zf_codec_decode_ctx(&s->codec, c->kind, c->params, c->nparams, cur, n, out, cap, &got);
                if (rc != ZF_OK) return rc;
                if (got != cap) return ZF_ERR_SIZE_MISMATCH;
            }
        } else {
            rc = zf_codec_decoded_size(c->kind, c->params, c->nparams, cur, n, &cap);
            if (rc == ZF_OK) {
                out = zf_scratch_get(s, ob, cap);
                if (!out) return ZF_ERR_NOMEM;
                rc = zf_codec_decode_ctx(&s->codec, c->kind, c->params, c->nparams, cur, n, out, cap, &got);
                if (rc == ZF_OK && got != cap) rc = ZF_ERR_SIZE_MISMATCH;
            } else if (rc == ZF_ERR_SIZE_UNKNOWN) {
                /* grow up to the largest ratio any supported codec can reach */
                size_t limit = n * 32768 + 65536;
                cap = n * 4 > 65536 ? n * 4 : 65536;
                for (;;) {
                    out = zf_scratch_get(s, ob, cap);
                    if (!out) return ZF_ERR_NOMEM;
                    rc = zf_codec_decode_ctx(&s->codec, c->kind, c->params, c->nparams, cur, n, out, cap, &got);
                    if (rc != ZF_ERR_DST_FULL || cap >= limit) break;
                    cap *= 2;
                }
            }
            if (rc != ZF_OK) return rc;
        }
        cur = out;
        n = got;
        cur_buf = (out == final) ? -1 : ob;
    }
    if (prefix ? (n < need || n > L->chunk_nbytes) : n != L->chunk_nbytes)
        return ZF_ERR_SIZE_MISMATCH;
    *data = cur;
    *len = n;
    return ZF_OK;
}

/* Per-task geometry from the dim tables. */
typedef struct {
    size_t counts[ZF_NDCOPY_MAXDIM];
    ptrdiff_t cstr[ZF_NDCOPY_MAXDIM];
    ptrdiff_t aoff;
    ptrdiff_t coff;
    int whole;
    int contiguous; /* the region of the big array is one C-ordered run */
    int lists;      /* some dim is an index list: clist/olist below */
    const int64_t *clist[ZF_NDCOPY_MAXDIM];
    const int64_t *olist[ZF_NDCOPY_MAXDIM];
    ptrdiff_t ostr[ZF_NDCOPY_MAXDIM]; /* big-array stride per dim (1: olist holds bytes) */
} zf_geom;

static void zf_task_geom(const zf_batch_layout *L, const int32_t *e, zf_geom *g) {
    int d;
    ptrdiff_t expect = (ptrdiff_t)L->itemsize;
    g->aoff = 0;
    g->coff = 0;
    g->whole = 1;
    g->lists = 0;
    for (d = 0; d < L->ndim; d++) {
        const zf_dim *D = &L->dims[d];
        int32_t k = e[d];
        g->counts[d] = (size_t)D->count[k];
        g->aoff += (ptrdiff_t)D->aoff[k];
        g->ostr[d] = D->cidx != NULL ? 1 : L->array_strides[d];
        if (D->cidx != NULL) {
            /* an index list: offsets come from the lists, the strides scale them */
            g->clist[d] = D->cidx + D->ioff[k];
            g->olist[d] = D->oidx + D->ioff[k];
            g->cstr[d] = D->cidx_bytes ? 1 : L->chunk_strides[d];
            g->whole = 0;
            g->lists = 1;
            continue;
        }
        g->clist[d] = NULL;
        g->olist[d] = NULL;
        g->coff += (ptrdiff_t)D->cstart[k] * L->chunk_strides[d];
        g->cstr[d] = (ptrdiff_t)D->cstep[k] * L->chunk_strides[d];
        if (D->cstart[k] != 0 || D->cstep[k] != 1 || D->count[k] != L->chunk_shape[d]) g->whole = 0;
    }
    if (g->lists) {
        g->contiguous = 0;
        return;
    }
    g->contiguous = 1;
    for (d = L->ndim - 1; d >= 0; d--) {
        if (g->counts[d] <= 1) continue;
        if (L->array_strides[d] != expect) {
            g->contiguous = 0;
            break;
        }
        expect *= (ptrdiff_t)g->counts[d];
    }
}

/* The decoded bytes of the chunk a partial read of it needs lie in [0, need): need is one
 * past the last byte of the element with the largest stored offset (strides >= 0, so
 * that is the last index along every dim).  chunk_nbytes when the whole chunk is read
 * or the stored layout has a negative stride. */
static size_t zf_task_need(const zf_batch_layout *L, const int32_t *e, const zf_geom *g) {
    size_t need = L->itemsize;
    int d;
    if (g->whole || g->lists) return L->chunk_nbytes;
    for (d = 0; d < L->ndim; d++) {
        const zf_dim *D = &L->dims[d];
        int32_t k = e[d];
        int64_t last;
        if (D->count[k] <= 0) return 0; /* nothing read from this chunk */
        last = D->cstep[k] > 0 ? D->cstart[k] + (D->count[k] - 1) * D->cstep[k] : D->cstart[k];
        if (L->chunk_strides[d] < 0 || last < 0 || last >= L->chunk_shape[d])
            return L->chunk_nbytes;
        need += (size_t)last * (size_t)L->chunk_strides[d];
    }
    return need < L->chunk_nbytes ? need : L->chunk_nbytes;
}

/* Decode one chunk (src == NULL: missing, fill) into its region of the output. */
static void zf_decode_one(zf_batch_ctx *B, size_t t, int w, const uint8_t *src, size_t srclen) {
    const zf_batch_layout *L = B->L;
    zf_geom g;
    uint8_t *dst;
    const uint8_t *data = NULL;
    size_t len = 0;
    int inplace, rc;
    zf_task_geom(L, B->entries + t * (size_t)L->ndim, &g);
    dst = B->out + g.aoff;
    if (src == NULL && g.lists) {
        ptrdiff_t zero[ZF_NDCOPY_MAXDIM] = {0};
        const int64_t *none[ZF_NDCOPY_MAXDIM] = {NULL};
        zf_ndcopy_lists(L->ndim, g.counts, dst, g.ostr, g.olist, L->fill, zero, none,
                        L->itemsize, 0);
        B->status[t] = ZF_OK;
        return;
    }
    if (src == NULL) {
        zf_ndfill(L->ndim, g.counts, dst, L->array_strides, L->fill, L->itemsize);
        B->status[t] = ZF_OK;
        return;
    }
    inplace = g.whole && g.contiguous && L->chunk_is_c && L->swap_unit == 0;
    rc = zf_decode_chain(B, &B->scratch[w], src, srclen,
                         (inplace && B->lowest == 0) ? dst : NULL,
                         zf_task_need(L, B->entries + t * (size_t)L->ndim, &g), &data, &len);
    if (rc != ZF_OK) {
        B->status[t] = rc;
        return;
    }
    if (g.lists) {
        zf_ndcopy_lists(L->ndim, g.counts, dst, g.ostr, g.olist, data + g.coff, g.cstr, g.clist,
                        L->itemsize, L->swap_unit);
    } else if (data != dst) {
        if (inplace)
            memcpy(dst, data, len);
        else if (L->stream_out)
            zf_ndcopy_stream(L->ndim, g.counts, dst, L->array_strides, data + g.coff, g.cstr,
                             L->itemsize, L->swap_unit);
        else
            zf_ndcopy(L->ndim, g.counts, dst, L->array_strides, data + g.coff, g.cstr,
                      L->itemsize, L->swap_unit);
    }
    B->status[t] = ZF_OK;
}

static void zf_decode_task(void *ctx, size_t t, int w) {
    zf_batch_ctx *B = (zf_batch_ctx *)ctx; /* the zf_batch_ctx of zf_batch_decode */
    zf_decode_one(B, t, w, B->src[t], B->srclen[t]);
}

#ifndef _WIN32
/* Read the whole regular file at `path` into scratch buffer 3.  0: data and len hold it;
 * 1: missing (no such file, a path through a file, a directory, not a regular file);
 * -1: an I/O error, errno in *err. */
static int zf_read_file(zf_scratch *s, const char *path, const uint8_t **data, size_t *len,
                        int *err) {
    struct stat st;
    uint8_t *buf;
    size_t size, got = 0;
    int fd;
#ifdef O_CLOEXEC
    fd = open(path, O_RDONLY | O_CLOEXEC);
#else
    fd = open(path, O_RDONLY);
#endif
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return 1;
        *err = errno;
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return 1;
    }
    size = (size_t)st.st_size;
    buf = zf_scratch_get(s, 3, size);
    if (!buf) {
        close(fd);
        *err = ENOMEM;
        return -1;
    }
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n < 0) {
            if (errno == EINTR) continue;
            *err = errno;
            close(fd);
            return -1;
        }
        if (n == 0) break; /* truncated since fstat: decode what is there (size checks) */
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = got;
    return 0;
}

static void zf_decode_file_task(void *ctx, size_t t, int w) {
    zf_batch_ctx *B = (zf_batch_ctx *)ctx; /* the zf_batch_ctx of zf_batch_decode_files */
    const uint8_t *data = NULL;
    size_t len = 0;
    int err = 0, rc;
    rc = zf_read_file(&B->scratch[w], B->paths[t], &data, &len, &err);
    if (rc < 0) {
        B->errnos[t] = err;
        B->status[t] = ZF_BATCH_IO_ERROR;
        return;
    }
    /* a present empty file must not look missing: point at a valid (unread) byte */
    zf_decode_one(B, t, w, rc == 1 ? NULL : (len ? data : (const uint8_t *)B), rc == 1 ? 0 : len);
}

static void zf_decode_range_task(void *ctx, size_t t, int w) {
    zf_batch_ctx *B = (zf_batch_ctx *)ctx; /* the zf_batch_ctx of zf_batch_decode_ranges */
    size_t n = B->srclen[t], got = 0;
    uint8_t *buf;
    if (B->fds[t] < 0) {
        zf_decode_one(B, t, w, B->src[t], B->srclen[t]);
        return;
    }
    buf = zf_scratch_get(&B->scratch[w], 3, n);
    if (!buf) {
        B->status[t] = ZF_ERR_NOMEM;
        return;
    }
    while (got < n) {
        ssize_t r = pread(B->fds[t], buf + got, n - got, (off_t)(B->offs[t] + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            B->errnos[t] = errno;
            B->status[t] = ZF_BATCH_IO_ERROR;
            return;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    if (got < n) {
        B->status[t] = ZF_ERR_TRUNCATED; /* the file ends inside the range its index names */
        return;
    }
    /* a present empty range must not look missing: point at a valid (unread) byte */
    zf_decode_one(B, t, w, n ? buf : (const uint8_t *)B, n);
}
#endif

static int zf_lowest_codec(const zf_batch_layout *L) {
    int i;
    for (i = 0; i < L->ncodecs; i++)
        if (L->codecs[i].kind != ZF_KIND_CRC32C) return i;
    return -1;
}

/* The per-worker scratch of one batch call: n entries indexed by worker id.  Between
 * calls the set is parked as the pool's spare (zf_pool_give_spare), so the next call
 * reuses its buffers (already faulted in) and codec contexts (a zstd context costs ~10 us
 * to create): what makes a one-chunk read cheap.  Buffers above ZF_SPARE_MAX_BUF are
 * freed before parking, which bounds what an idle pool holds. */
typedef struct {
    int n;
    zf_scratch s[]; /* C99 flexible array member */
} zf_scratch_set;

#define ZF_SPARE_MAX_BUF ((size_t)4 << 20)

static zf_scratch_set *zf_scratch_set_of(zf_scratch *s) {
    /* s is always the s[] member of a zf_scratch_set made by zf_scratch_new */
    return (zf_scratch_set *)(void *)((char *)s - offsetof(zf_scratch_set, s));
}

static void zf_scratch_set_free(void *p) {
    zf_scratch_set *set = (zf_scratch_set *)p; /* only ever a zf_scratch_set */
    int i, k;
    for (i = 0; i < set->n; i++) {
        for (k = 0; k < ZF_SCRATCH_BUFS; k++) free(set->s[i].buf[k]);
        zf_codec_ctx_free(&set->s[i].codec);
    }
    free(set);
}

static zf_scratch *zf_scratch_new(int maxworkers, zf_pool *pool) {
    int n = zf_pool_size(pool);
    zf_scratch_set *set;
    if (maxworkers > n) n = maxworkers;
    if (n < 1) n = 1;
    n += 1;
    set = (zf_scratch_set *)zf_pool_take_spare(pool); /* the pool's spare is a set */
    if (set && set->n < n) {
        zf_scratch_set_free(set);
        set = NULL;
    }
    if (!set) {
        set = (zf_scratch_set *)calloc(1, sizeof(zf_scratch_set) + (size_t)n * sizeof(zf_scratch));
        if (!set) return NULL;
        set->n = n;
    }
    return set->s;
}

static void zf_scratch_free(zf_scratch *s, int maxworkers, zf_pool *pool) {
    zf_scratch_set *set = zf_scratch_set_of(s);
    int i, k;
    (void)maxworkers;
    for (i = 0; i < set->n; i++)
        for (k = 0; k < ZF_SCRATCH_BUFS; k++)
            if (set->s[i].cap[k] > ZF_SPARE_MAX_BUF) {
                free(set->s[i].buf[k]);
                set->s[i].buf[k] = NULL;
                set->s[i].cap[k] = 0;
            }
    if (!zf_pool_give_spare(pool, set, zf_scratch_set_free)) zf_scratch_set_free(set);
}

/* Zero B and set what every batch entry point shares. */
static void zf_batch_ctx_init(zf_batch_ctx *B, const zf_batch_layout *L,
                              const int32_t *entries, int *status) {
    memset(B, 0, sizeof(*B));
    B->L = L;
    B->lowest = zf_lowest_codec(L);
    B->entries = entries;
    B->status = status;
}

/* Run fn over ntasks with per-worker scratch; with no memory or a layout of too many
 * dimensions, set every task's status to the error instead. */
static void zf_batch_run(zf_batch_ctx *B, zf_pool *pool, int maxworkers, size_t ntasks,
                         zf_task_fn fn) {
    size_t t;
    B->scratch = zf_scratch_new(maxworkers, pool);
    if (!B->scratch || B->L->ndim > ZF_NDCOPY_MAXDIM) {
        for (t = 0; t < ntasks; t++) B->status[t] = B->scratch ? ZF_ERR_PARAM : ZF_ERR_NOMEM;
        if (B->scratch) zf_scratch_free(B->scratch, maxworkers, pool);
        return;
    }
    zf_pool_for(pool, ntasks, maxworkers, fn, B);
    zf_scratch_free(B->scratch, maxworkers, pool);
}

void zf_batch_decode(zf_pool *pool, int maxworkers, const zf_batch_layout *L, uint8_t *out,
                     size_t ntasks, const int32_t *entries, const uint8_t *const *src,
                     const size_t *srclen, int *status) {
    zf_batch_ctx B;
    zf_batch_ctx_init(&B, L, entries, status);
    B.out = out;
    B.src = src;
    B.srclen = srclen;
    zf_batch_run(&B, pool, maxworkers, ntasks, zf_decode_task);
}

void zf_batch_decode_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                           uint8_t *out, size_t ntasks, const int32_t *entries,
                           const char *const *paths, int *status, int *errnos) {
    zf_batch_ctx B;
#ifdef _WIN32
    size_t t;
    for (t = 0; t < ntasks; t++) status[t] = ZF_ERR_UNSUPPORTED;
    (void)pool; (void)maxworkers; (void)L; (void)out; (void)entries; (void)paths; (void)errnos;
#else
    zf_batch_ctx_init(&B, L, entries, status);
    B.out = out;
    B.paths = paths;
    B.errnos = errnos;
    zf_batch_run(&B, pool, maxworkers, ntasks, zf_decode_file_task);
#endif
}

void zf_batch_decode_ranges(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                            uint8_t *out, size_t ntasks, const int32_t *entries,
                            const uint8_t *const *src, const size_t *srclen, const int *fds,
                            const uint64_t *offs, int *status, int *errnos) {
    zf_batch_ctx B;
#ifdef _WIN32
    size_t t;
    for (t = 0; t < ntasks; t++) status[t] = ZF_ERR_UNSUPPORTED;
    (void)pool; (void)maxworkers; (void)L; (void)out; (void)entries; (void)src;
    (void)srclen; (void)fds; (void)offs; (void)errnos;
#else
    zf_batch_ctx_init(&B, L, entries, status);
    B.out = out;
    B.src = src;
    B.srclen = srclen;
    B.fds = fds;
    B.offs = offs;
    B.errnos = errnos;
    zf_batch_run(&B, pool, maxworkers, ntasks, zf_decode_range_task);
#endif
}

/* Build and encode task t into `dst` (capacity dstcap; NULL: a worker scratch buffer big
 * enough for the chained bound).  On ZF_OK out_data/out_len hold the encoded bytes (which may
 * be a scratch buffer); ZF_BATCH_DELETE when all fill and !write_empty. */
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif
/* Fault in the whole pages inside [p, p + n) with one call (MADV_POPULATE_WRITE, Linux
 * 5.14+) instead of one trap per 4 KiB page as a copy reaches them: for an uncompressed
 * write the destination is a fresh, caller-owned buffer the copy fills completely, so
 * this only maps pages it is about to write (W3-raw in memory: 78 -> 66 ms).  Small
 * buffers (a trap or two) and failures (older kernels) just fault as usual. */
static void zf_populate(uint8_t *p, size_t n) {
#if defined(__linux__)
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    /* [a, b) is the page-aligned interior of the caller's buffer p[0:n] */
    if (n >= ((size_t)64 << 10) && b > a) (void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

static int zf_encode_one(zf_batch_ctx *B, size_t t, int w, uint8_t *dst, size_t dstcap,
                         const uint8_t **out_data, size_t *out_len) {
    const zf_batch_layout *L = B->L;
    zf_scratch *s = &B->scratch[w];
    zf_geom g;
    uint8_t *cb;
    const uint8_t *data;
    size_t len, n_items = L->chunk_nbytes / (L->itemsize ? L->itemsize : 1);
    int i, rc;
    zf_task_geom(L, B->entries + t * (size_t)L->ndim, &g);
    if (L->ncodecs == 0 && dst != NULL) {
        if (dstcap < L->chunk_nbytes) return ZF_ERR_DST_FULL;
        cb = dst;
        zf_populate(dst, L->chunk_nbytes);
    } else {
        cb = zf_scratch_get(s, 2, L->chunk_nbytes);
        if (!cb) return ZF_ERR_NOMEM;
    }
    if (!B->complete[t] && B->old[t] != NULL) {
        rc = zf_decode_chain(B, s, B->old[t], B->oldlen[t], B->lowest == 0 ? cb : NULL,
                             L->chunk_nbytes, &data, &len);
        if (rc != ZF_OK) return rc;
        if (data != cb) memcpy(cb, data, len);
    } else if (!B->complete[t] || !g.whole) {
        zf_fill_items(cb, n_items, L->fill, L->itemsize);
    }
    if (g.lists)
        zf_ndcopy_lists(L->ndim, g.counts, cb + g.coff, g.cstr, g.clist, B->in + g.aoff, g.ostr,
                        g.olist, L->itemsize, L->swap_unit);
    else
        zf_ndcopy(L->ndim, g.counts, cb + g.coff, g.cstr, B->in + g.aoff, L->array_strides,
                  L->itemsize, L->swap_unit);
    if (!B->write_empty && zf_all_equal(cb, L->chunk_nbytes, L->fill, L->itemsize))
        return ZF_BATCH_DELETE;
    data = cb;
    len = L->chunk_nbytes;
    for (i = 0; i < L->ncodecs; i++) {
        const zf_codec_step *c = &L->codecs[i];
        uint8_t *out;
        size_t cap, got = 0;
        if (i == L->ncodecs - 1 && dst != NULL) {
            out = dst;
            cap = dstcap;
        } else {
            rc = zf_codec_encode_bound(c->kind, c->params, c->nparams, len, &cap);
            if (rc != ZF_OK) return rc;
            /* ping-pong 0/1; the last step of a file write lands in buffer 3 */
            out = zf_scratch_get(s, i == L->ncodecs - 1 ? 3 : i % 2, cap);
            if (!out) return ZF_ERR_NOMEM;
        }
        rc = zf_codec_encode_ctx(&s->codec, c->kind, c->params, c->nparams, data, len, out, cap, &got);
        if (rc != ZF_OK) return rc;
        data = out;
        len = got;
    }
    *out_data = data;
    *out_len = len;
    return ZF_OK;
}

static void zf_encode_task(void *ctx, size_t t, int w) {
    zf_batch_ctx *B = (zf_batch_ctx *)ctx; /* the zf_batch_ctx of zf_batch_encode */
    const uint8_t *data = NULL;
    size_t len = 0;
    int rc = zf_encode_one(B, t, w, B->dst[t], B->dstcap[t], &data, &len);
    if (rc == ZF_OK) B->dstlen[t] = len;
    B->status[t] = rc;
}

#ifndef _WIN32
/* Write data to a fresh temp file next to `path`, then rename it over `path`.  0 or -1
 * with errno in *err (the temp file is removed on any failure). */
static int zf_write_file_atomic(const char *path, const uint8_t *data, size_t len, int fsync_,
                                const char *tag, int w, size_t t, int *err) {
    char tmp[4096];
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    size_t done = 0;
    unsigned attempt;
    int fd = -1, n;
    if (!slash || dirlen + 96 + strlen(tag) >= sizeof(tmp)) {
        *err = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, dirlen);
    for (attempt = 0; attempt < 64; attempt++) {
        /* unique per process (pid), call (tag), worker and task; O_EXCL guards the rest
         * (e.g. a crashed writer whose pid was recycled) */
        n = snprintf(tmp + dirlen, sizeof(tmp) - dirlen, "/.zftmp-%ld-%s-%d-%zu-%u",
                     (long)getpid(), tag, w, t, attempt);
        if (n < 0 || (size_t)n >= sizeof(tmp) - dirlen) {
            *err = ENAMETOOLONG;
            return -1;
        }
#ifdef O_CLOEXEC
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
#else
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
#endif
        if (fd >= 0 || errno != EEXIST) break;
    }
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    while (done < len) {
        ssize_t k = write(fd, data + done, len - done);
        if (k < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        done += (size_t)k;
    }
    if (fsync_ && fsync(fd) != 0) goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) goto fail;
    if (fsync_) {
        int dfd;
        tmp[dirlen] = '\0';
        dfd = open(dirlen ? tmp : "/", O_RDONLY);
        if (dfd >= 0) {
            (void)fsync(dfd); /* some filesystems refuse fsync on a directory */
            close(dfd);
        }
    }
    return 0;
fail:
    *err = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    return -1;
}

static void zf_encode_file_task(void *ctx, size_t t, int w) {
    zf_batch_ctx *B = (zf_batch_ctx *)ctx; /* the zf_batch_ctx of zf_batch_encode_files */
    const uint8_t *data = NULL;
    size_t len = 0;
    int err = 0;
    int rc = zf_encode_one(B, t, w, NULL, 0, &data, &len);
    if (rc != ZF_OK) {
        B->status[t] = rc;
        return;
    }
    if (zf_write_file_atomic(B->paths[t], data, len, B->fsync, B->tag, w, t, &err) != 0) {
        B->errnos[t] = err;
        B->status[t] = ZF_BATCH_IO_ERROR;
        return;
    }
    B->status[t] = ZF_OK;
}
#endif

void zf_batch_encode(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                     const uint8_t *in, size_t ntasks, const int32_t *entries,
                     const uint8_t *complete, const uint8_t *const *old, const size_t *oldlen,
                     int write_empty, uint8_t *const *dst, const size_t *dstcap,
                     size_t *dstlen, int *status) {
    zf_batch_ctx B;
    zf_batch_ctx_init(&B, L, entries, status);
    B.in = in;
    B.complete = complete;
    B.old = old;
    B.oldlen = oldlen;
    B.write_empty = write_empty;
    B.dst = dst;
    B.dstcap = dstcap;
    B.dstlen = dstlen;
    zf_batch_run(&B, pool, maxworkers, ntasks, zf_encode_task);
}

void zf_batch_encode_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                           const uint8_t *in, size_t ntasks, const int32_t *entries,
                           const uint8_t *complete, const uint8_t *const *old,
                           const size_t *oldlen, int write_empty, const char *const *paths,
                           int fsync_, const char *tag, int *status, int *errnos) {
    zf_batch_ctx B;
#ifdef _WIN32
    size_t t;
    for (t = 0; t < ntasks; t++) status[t] = ZF_ERR_UNSUPPORTED;
    (void)pool; (void)maxworkers; (void)L; (void)in; (void)entries; (void)complete;
    (void)old; (void)oldlen; (void)write_empty; (void)paths; (void)fsync_; (void)tag;
    (void)errnos;
#else
    zf_batch_ctx_init(&B, L, entries, status);
    B.in = in;
    B.complete = complete;
    B.old = old;
    B.oldlen = oldlen;
    B.write_empty = write_empty;
    B.paths = paths;
    B.fsync = fsync_;
    B.tag = tag;
    B.errnos = errnos;
    zf_batch_run(&B, pool, maxworkers, ntasks, zf_encode_file_task);
#endif
}

/* Run r of zf_batch_encode_runs: its tasks encoded back to back into dst[r]. */
static void zf_encode_run_task(void *ctx, size_t r, int w) {
    zf_batch_ctx *B = (zf_batch_ctx *)ctx; /* the zf_batch_ctx of zf_batch_encode_runs */
    uint8_t *buf = B->dst[r];
    size_t cap = B->dstcap[r], pos = 0, t;
    B->failed[r] = -1;
    for (t = B->first[r]; t < B->first[r + 1]; t++) {
        const uint8_t *data = NULL;
        size_t len = 0;
        /* the last codec (or, with none, the chunk build) writes straight at buf + pos */
        int rc = zf_encode_one(B, t, w, buf + pos, cap - pos, &data, &len);
        if (rc == ZF_BATCH_DELETE) {
            B->dstlen[2 * t] = SIZE_MAX;
            B->dstlen[2 * t + 1] = 0;
            continue;
        }
        if (rc == ZF_OK && len > cap - pos) rc = ZF_ERR_DST_FULL;
        if (rc != ZF_OK) {
            B->status[r] = rc;
            B->failed[r] = (int64_t)t;
            return;
        }
        if (data != buf + pos) memmove(buf + pos, data, len); /* not reached: defensive */
        B->dstlen[2 * t] = pos;
        B->dstlen[2 * t + 1] = len;
        pos += len;
    }
    B->runlen[r] = pos;
    B->status[r] = ZF_OK;
}

void zf_batch_encode_runs(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                          const uint8_t *in, size_t nruns, const size_t *run_first,
                          const int32_t *entries, uint8_t *const *dst, const size_t *dstcap,
                          size_t *spans, size_t *runlen, int *status, int64_t *failed) {
    zf_batch_ctx B;
    size_t ntasks = run_first[nruns], r;
    uint8_t *ones = (uint8_t *)malloc(ntasks ? ntasks : 1);
    if (!ones) {
        for (r = 0; r < nruns; r++) {
            status[r] = ZF_ERR_NOMEM;
            failed[r] = -1;
        }
        return;
    }
    /* whole chunks: every one is built from the input alone (fill outside the array) */
    memset(ones, 1, ntasks ? ntasks : 1);
    zf_batch_ctx_init(&B, L, entries, status);
    B.in = in;
    B.complete = ones;
    B.write_empty = 0; /* all-fill chunks are left out of the run */
    B.dst = dst;
    B.dstcap = dstcap;
    B.dstlen = spans;
    B.runlen = runlen;
    B.first = run_first;
    B.failed = failed;
    for (r = 0; r < nruns; r++) failed[r] = -1;
    zf_batch_run(&B, pool, maxworkers, nruns, zf_encode_run_task);
    free(ones);
}

#ifndef _WIN32
/* Assemble shard s in scratch buffer 4 (inner chunks in task order, compacted, index
 * before or after them) and write it atomically to paths[s]. */
static void zf_encode_shard_file_task(void *ctx, size_t s, int w) {
    zf_batch_ctx *B = (zf_batch_ctx *)ctx; /* the zf_batch_ctx of zf_batch_encode_shards_files */
    const zf_shard_layout *S = B->S;
    zf_scratch *sc = &B->scratch[w];
    size_t t, pos, data0 = S->index_start ? S->index_nbytes : 0, total, need;
    size_t ient = 16 * S->ninner;
    uint8_t *buf, *ip;
    int any = 0, rc, err = 0;
    B->failed[s] = -1;
    buf = zf_scratch_get(sc, 4, data0 + ient + 4);
    if (!buf) {
        B->status[s] = ZF_ERR_NOMEM;
        return;
    }
    pos = data0;
    for (t = B->first[s]; t < B->first[s + 1]; t++) {
        const uint8_t *data = NULL;
        size_t len = 0;
        /* inner chunks equal to the fill value are left out of the shard (absent) */
        rc = zf_encode_one(B, t, w, NULL, 0, &data, &len);
        if (rc == ZF_BATCH_DELETE) continue;
        if (rc != ZF_OK) {
            B->status[s] = rc;
            B->failed[s] = (int64_t)t;
            return;
        }
        need = pos + len + ient + 4;
        if (sc->cap[4] < need) {
            size_t grow = 2 * sc->cap[4];
            if (grow < need) grow = need;
            buf = zf_scratch_get(sc, 4, grow);
            if (!buf) {
                B->status[s] = ZF_ERR_NOMEM;
                return;
            }
        }
        /* `data` is scratch 2 or 3 of this worker, never buffer 4 */
        memcpy(buf + pos, data, len);
        /* remember (offset, nbytes) in the flat slot: the index is written below */
        B->dstlen[2 * t] = pos;
        B->dstlen[2 * t + 1] = len;
        B->complete_mark[t] = 1;
        pos += len;
        any = 1;
    }
    if (!any && !B->keep_empty_shards) {
        B->status[s] = ZF_BATCH_DELETE;
        return;
    }
    ip = S->index_start ? buf : buf + pos;
    /* B->dstlen holds each task's (offset, nbytes), B->complete_mark its presence */
    rc = zf_shard_write_index(ip, S, B->first[s], B->first[s + 1], B->flat, B->dstlen,
                              B->complete_mark, &B->failed[s]);
    if (rc != ZF_OK) {
        B->status[s] = rc;
        return;
    }
    total = S->index_start ? pos : pos + S->index_nbytes; /* pos counts a leading index */
    if (zf_write_file_atomic(B->paths[s], buf, total, B->fsync, B->tag, w, s, &err) != 0) {
        B->errnos[s] = err;
        B->status[s] = ZF_BATCH_IO_ERROR;
        return;
    }
    B->status[s] = ZF_OK;
}
#endif

void zf_batch_encode_shards_files(zf_pool *pool, int maxworkers, const zf_batch_layout *L,
                                  const zf_shard_layout *S, const uint8_t *in, size_t nshards,
                                  const size_t *first, const int32_t *entries,
                                  const int64_t *flat, int write_empty,
                                  const char *const *paths, int fsync_, const char *tag,
                                  int *status, int *errnos, int64_t *failed) {
    zf_batch_ctx B;
    size_t s, ntasks;
#ifdef _WIN32
    for (s = 0; s < nshards; s++) status[s] = ZF_ERR_UNSUPPORTED;
    (void)pool; (void)maxworkers; (void)L; (void)S; (void)in; (void)first; (void)entries;
    (void)flat; (void)write_empty; (void)paths; (void)fsync_; (void)tag; (void)errnos;
    (void)failed; (void)ntasks;
#else
    uint8_t *ones = NULL, *marks = NULL;
    size_t *spans = NULL;
    ntasks = first[nshards];
    zf_batch_ctx_init(&B, L, entries, status);
    B.S = S;
    B.in = in;
    B.write_empty = 0; /* per inner chunk: all-fill ones are left out of the shard */
    B.keep_empty_shards = write_empty;
    B.paths = paths;
    B.fsync = fsync_;
    B.tag = tag;
    B.errnos = errnos;
    B.first = first;
    B.flat = flat;
    B.failed = failed;
    /* whole shards: every inner chunk is built from the input alone */
    ones = (uint8_t *)malloc(ntasks ? ntasks : 1);
    marks = (uint8_t *)calloc(ntasks ? ntasks : 1, 1);
    spans = (size_t *)malloc(2 * (ntasks ? ntasks : 1) * sizeof(size_t));
    B.scratch = zf_scratch_new(maxworkers, pool);
    if (!ones || !marks || !spans || !B.scratch || L->ndim > ZF_NDCOPY_MAXDIM ||
        S->index_nbytes != 16 * S->ninner + (S->index_crc ? 4 : 0)) {
        int rc = (ones && marks && spans && B.scratch) ? ZF_ERR_PARAM : ZF_ERR_NOMEM;
        for (s = 0; s < nshards; s++) {
            status[s] = rc;
            failed[s] = -1;
        }
        if (B.scratch) zf_scratch_free(B.scratch, maxworkers, pool);
        free(ones);
        free(marks);
        free(spans);
        return;
    }
    memset(ones, 1, ntasks ? ntasks : 1);
    B.complete = ones;
    B.complete_mark = marks;
    B.dstlen = spans;
    /* inner chunks equal to the fill value are always left out (absent in the index);
     * write_empty only keeps a shard whose inner chunks are all absent */
    zf_pool_for(pool, nshards, maxworkers, zf_encode_shard_file_task, &B);
    zf_scratch_free(B.scratch, maxworkers, pool);
    free(ones);
    free(marks);
    free(spans);
#endif
}

typedef struct {
    const uint8_t *const *src;
    const size_t *len;
    uint8_t *dst;
    const size_t *off;
} zf_segments_ctx;

static void zf_copy_segment_task(void *ctx, size_t i, int w) {
    zf_segments_ctx *C = (zf_segments_ctx *)ctx; /* the zf_segments_ctx of zf_batch_copy_segments */
    (void)w;
    if (C->len[i]) memcpy(C->dst + C->off[i], C->src[i], C->len[i]);
}

void zf_batch_copy_segments(zf_pool *pool, int maxworkers, size_t n,
                            const uint8_t *const *src, const size_t *len, uint8_t *dst,
                            const size_t *dst_off) {
    zf_segments_ctx C;
    C.src = src;
    C.len = len;
    C.dst = dst;
    C.off = dst_off;
    zf_pool_for(pool, n, maxworkers, zf_copy_segment_task, &C);
}

typedef struct {
    const zf_codec_step *codec;
    const uint8_t *const *src;
    const size_t *srclen;
    uint8_t *out;
    size_t size;
    zf_scratch *scratch;
    int *status;
} zf_raw_ctx;

static void zf_decode_raw_task(void *ctx, size_t t, int w) {
    zf_raw_ctx *R = (zf_raw_ctx *)ctx; /* the zf_raw_ctx of zf_batch_decode_raw */
    size_t got = 0;
    int rc;
    if (R->codec == NULL) {
        if (R->srclen[t] != R->size) {
            R->status[t] = ZF_ERR_SIZE_MISMATCH;
            return;
        }
        memcpy(R->out + t * R->size, R->src[t], R->size);
        R->status[t] = ZF_OK;
        return;
    }
    rc = zf_codec_decode_ctx(&R->scratch[w].codec, R->codec->kind, R->codec->params,
                             R->codec->nparams, R->src[t], R->srclen[t], R->out + t * R->size,
                             R->size, &got);
    R->status[t] = (rc == ZF_OK && got != R->size) ? ZF_ERR_SIZE_MISMATCH : rc;
}

void zf_batch_decode_raw(zf_pool *pool, int maxworkers, const zf_codec_step *codec,
                         size_t ntasks, const uint8_t *const *src, const size_t *srclen,
                         uint8_t *out, size_t size, int *status) {
    zf_raw_ctx R;
    size_t t;
    R.codec = codec;
    R.src = src;
    R.srclen = srclen;
    R.out = out;
    R.size = size;
    R.status = status;
    R.scratch = zf_scratch_new(maxworkers, pool);
    if (!R.scratch) {
        for (t = 0; t < ntasks; t++) status[t] = ZF_ERR_NOMEM;
        return;
    }
    zf_pool_for(pool, ntasks, maxworkers, zf_decode_raw_task, &R);
    zf_scratch_free(R.scratch, maxworkers, pool);
}
