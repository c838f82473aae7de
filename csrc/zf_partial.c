/* zf_partial.c - decode only the part of a chunk a read needs.  See zf_partial.h. */
#include "zf_partial.h"

/* The buffer-less block-by-block API (ZSTD_decompressBegin, ZSTD_nextSrcSizeToDecompress,
 * ZSTD_decompressContinue) is in zstd's static section; it is stable since 1.3 and the
 * library linked here is the full static zstd bundled in libblosc2.a. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

/* As zf_codecs.c: the largest decoded/encoded ratio of a valid zstd frame (a 4-byte RLE
 * block yields at most 128 KiB), used to reject absurd declared sizes before decoding. */
#define ZF_PARTIAL_ZSTD_MAX_RATIO 32768u

#define ZF_ZSTD_FRAME_MAGIC 0xFD2FB528u

static uint32_t zf_partial_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walk the frame headers (and, inside ZSTD_findFrameCompressedSize, the block headers) of
 * the whole input: the same size validation a full decode does up front, without decoding.
 * ZF_OK: *total is the declared decoded size; ZF_PARTIAL_FALLBACK: a frame has a content
 * checksum or no declared size. */
static int zf_zstd_scan(const uint8_t *src, size_t srclen, unsigned long long *total) {
    size_t pos = 0;
    unsigned long long sum = 0;
    int fallback = 0;
    while (pos < srclen) {
        size_t fsz = ZSTD_findFrameCompressedSize(src + pos, srclen - pos);
        unsigned long long c;
        if (ZSTD_isError(fsz))
            return ZSTD_getErrorCode(fsz) == ZSTD_error_srcSize_wrong ? ZF_ERR_TRUNCATED
                                                                      : ZF_ERR_CORRUPT;
        c = ZSTD_getFrameContentSize(src + pos, srclen - pos);
        if (c == ZSTD_CONTENTSIZE_ERROR) return ZF_ERR_CORRUPT;
        if (c == ZSTD_CONTENTSIZE_UNKNOWN) {
            fallback = 1;
        } else {
            if (c > (unsigned long long)fsz * ZF_PARTIAL_ZSTD_MAX_RATIO) return ZF_ERR_CORRUPT;
            sum += c; /* <= srclen * 32768: cannot overflow */
        }
        /* a zstd frame (fsz >= 6 then): byte 4 is the frame header descriptor, bit 2 the
         * content checksum flag.  Skippable frames have another magic and no checksum. */
        if (fsz >= 5 && zf_partial_le32(src + pos) == ZF_ZSTD_FRAME_MAGIC && (src[pos + 4] & 4))
            fallback = 1;
        pos += fsz;
    }
    *total = sum;
    return fallback ? ZF_PARTIAL_FALLBACK : ZF_OK;
}

int zf_zstd_decode_prefix(void **dctx_slot, const uint8_t *src, size_t srclen, uint8_t *dst,
                          size_t dstcap, size_t need, size_t *produced) {
    /* *dctx_slot only ever holds a ZSTD_DCtx (or NULL), as zf_codec_ctx.zstd_d does */
    ZSTD_DCtx *dctx = (ZSTD_DCtx *)*dctx_slot;
    unsigned long long total = 0;
    size_t ipos = 0, opos = 0;
    int rc = zf_zstd_scan(src, srclen, &total);
    if (rc != ZF_OK) return rc;
    /* the codes a full decode into exactly dstcap bytes would give */
    if (total > (unsigned long long)dstcap) return ZF_ERR_DST_FULL;
    if (total != (unsigned long long)dstcap) return ZF_ERR_SIZE_MISMATCH;
    if (need > dstcap) return ZF_ERR_PARAM;
    if (!dctx) {
        dctx = ZSTD_createDCtx();
        if (!dctx) return ZF_ERR_NOMEM;
        *dctx_slot = dctx;
    }
    /* Frames back to back, each block straight into dst after the previous one (the
     * buffer-less decoder requires exactly that contiguity for its back-references). */
    while (opos < need) {
        if (ipos >= srclen) return ZF_ERR_TRUNCATED; /* frames ended short of `need` */
        if (ZSTD_isError(ZSTD_decompressBegin(dctx))) return ZF_ERR_INTERNAL;
        for (;;) {
            size_t want = ZSTD_nextSrcSizeToDecompress(dctx), got;
            if (want == 0) break; /* the frame is complete (and its size verified by zstd) */
            if (want > srclen - ipos) return ZF_ERR_TRUNCATED;
            got = ZSTD_decompressContinue(dctx, dst + opos, dstcap - opos, src + ipos, want);
            if (ZSTD_isError(got))
                return ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall ? ZF_ERR_DST_FULL
                                                                             : ZF_ERR_CORRUPT;
            ipos += want;
            opos += got; /* got <= dstcap - opos: zstd never writes past its capacity */
            if (opos >= need) break;
        }
    }
    *produced = opos;
    return ZF_OK;
}
