/* zf_shard_index.c - the shard index layout and its writer (see zf_shard_index.h). */
#include "zf_shard_index.h"

#include "zf_crc32c.h"
#include "zf_status.h"

static void zf_shard_put64(uint8_t *p, uint64_t v, int big) {
    int i;
    for (i = 0; i < 8; i++) {
        p[big ? 7 - i : i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
}

int zf_shard_write_index(uint8_t *ip, const zf_shard_layout *S, size_t t0, size_t t1,
                         const int64_t *flat, const size_t *spans, const uint8_t *present,
                         int64_t *bad_task) {
    size_t ient = 16 * S->ninner, i, t;
    for (i = 0; i < S->ninner; i++) {
        zf_shard_put64(ip + 16 * i, UINT64_MAX, S->index_big);
        zf_shard_put64(ip + 16 * i + 8, UINT64_MAX, S->index_big);
    }
    for (t = t0; t < t1; t++) {
        int64_t f = flat[t];
        if (present ? !present[t] : spans[2 * t] == SIZE_MAX) continue;
        if (f < 0 || (uint64_t)f >= (uint64_t)S->ninner) {
            *bad_task = (int64_t)t;
            return ZF_ERR_PARAM;
        }
        zf_shard_put64(ip + 16 * (size_t)f, (uint64_t)spans[2 * t], S->index_big);
        zf_shard_put64(ip + 16 * (size_t)f + 8, (uint64_t)spans[2 * t + 1], S->index_big);
    }
    if (S->index_crc) {
        uint32_t c = zf_crc32c_update(0, ip, ient);
        ip[ient] = (uint8_t)(c & 0xFF);
        ip[ient + 1] = (uint8_t)((c >> 8) & 0xFF);
        ip[ient + 2] = (uint8_t)((c >> 16) & 0xFF);
        ip[ient + 3] = (uint8_t)((c >> 24) & 0xFF);
    }
    return ZF_OK;
}
