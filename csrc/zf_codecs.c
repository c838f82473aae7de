/* zf_codecs.c - zstd, lz4 (numcodecs framing), zlib/gzip and the uniform dispatcher.
 *
 * zlib/gzip: encoded by zlib's deflate (byte-identical to numcodecs / Python's zlib at the
 * same level), decoded by libdeflate (whole-buffer, 2-3x zlib's inflate) with zlib's
 * inflate kept as the reference decoder that classifies libdeflate's rejections. */
#include "zf_codecs.h"

#include <limits.h>
#include <string.h>

#include <libdeflate.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "zf_blosc1.h"
#include "zf_crc32c.h"

/* Largest decoded/encoded ratios the formats allow; a header claiming more is hostile.
 * zstd: a 4-byte RLE block yields at most 128 KiB.  LZ4: 255 bytes per extra input byte.
 * deflate: 258 bytes per 2 bits, i.e. < 1032:1. */
#define ZF_ZSTD_MAX_RATIO 32768u
#define ZF_LZ4_MAX_RATIO 256u

/* Non-NULL pointer for zero-length inputs (libraries reject NULL even with length 0). */
static const uint8_t zf_empty_input = 0;

static void zf_put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t zf_get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

const char *zf_status_message(int status) {
    switch (status) {
    case ZF_OK: return "ok";
    case ZF_ERR_CORRUPT: return "corrupt encoded data";
    case ZF_ERR_TRUNCATED: return "truncated encoded data";
    case ZF_ERR_DST_FULL: return "decoded data larger than the allowed size";
    case ZF_ERR_SIZE_MISMATCH: return "decoded size differs from the declared size";
    case ZF_ERR_NOMEM: return "out of memory";
    case ZF_ERR_PARAM: return "invalid codec parameter";
    case ZF_ERR_UNSUPPORTED: return "unsupported codec or feature";
    case ZF_ERR_CHECKSUM: return "checksum mismatch";
    case ZF_ERR_TOO_LARGE: return "size exceeds the format's limit";
    case ZF_ERR_SIZE_UNKNOWN: return "decoded size not declared";
    case ZF_ERR_TRAILING: return "unexpected trailing bytes";
    case ZF_ERR_INTERNAL: return "internal library error";
    default: return "unknown error";
    }
}

unsigned zf_zstd_version(void) { return ZSTD_versionNumber(); }
int zf_lz4_version(void) { return LZ4_versionNumber(); }
const char *zf_zlib_version(void) { return zlibVersion(); }
const char *zf_libdeflate_version(void) { return LIBDEFLATE_VERSION_STRING; }

/* ------------------------------------------------------------------ zstd */
size_t zf_zstd_encode_bound(size_t srclen) { return ZSTD_compressBound(srclen); }

/* Compress with *slot's context (created on first use and kept for the caller to free
 * with zf_codec_ctx_free), or a fresh one when slot is NULL. */
static int zf_zstd_encode_with(ZSTD_CCtx **slot, int level, int checksum, const uint8_t *src,
                               size_t srclen, uint8_t *dst, size_t dstcap, size_t *dstlen) {
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) return ZF_ERR_PARAM;
    ZSTD_CCtx *cctx = slot ? *slot : NULL;
    if (!cctx) {
        cctx = ZSTD_createCCtx();
        if (!cctx) return ZF_ERR_NOMEM;
        if (slot) *slot = cctx;
    }
    int status = ZF_OK;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0))) {
        status = ZF_ERR_PARAM;
    } else {
        /* compress2 starts a new frame (resets the session, keeps the parameters) */
        size_t r = ZSTD_compress2(cctx, dst, dstcap, srclen ? src : &zf_empty_input, srclen);
        if (ZSTD_isError(r)) {
            status = ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? ZF_ERR_DST_FULL
                                                                         : ZF_ERR_INTERNAL;
        } else {
            *dstlen = r;
        }
    }
    if (!slot) ZSTD_freeCCtx(cctx);
    return status;
}

int zf_zstd_encode(int level, int checksum, const uint8_t *src, size_t srclen, uint8_t *dst,
                   size_t dstcap, size_t *dstlen) {
    return zf_zstd_encode_with(NULL, level, checksum, src, srclen, dst, dstcap, dstlen);
}

int zf_zstd_decoded_size(const uint8_t *src, size_t srclen, size_t *size) {
    size_t pos = 0, total = 0;
    int unknown = 0;
    if (srclen == 0) return ZF_ERR_TRUNCATED;
    while (pos < srclen) {
        size_t fsz = ZSTD_findFrameCompressedSize(src + pos, srclen - pos);
        if (ZSTD_isError(fsz)) {
            return ZSTD_getErrorCode(fsz) == ZSTD_error_srcSize_wrong ? ZF_ERR_TRUNCATED
                                                                      : ZF_ERR_CORRUPT;
        }
        unsigned long long c = ZSTD_getFrameContentSize(src + pos, srclen - pos);
        if (c == ZSTD_CONTENTSIZE_ERROR) return ZF_ERR_CORRUPT;
        if (c == ZSTD_CONTENTSIZE_UNKNOWN) {
            unknown = 1;
        } else {
            if (c > (unsigned long long)fsz * ZF_ZSTD_MAX_RATIO) return ZF_ERR_CORRUPT;
            if (c > (unsigned long long)(SIZE_MAX - total)) return ZF_ERR_TOO_LARGE;
            total += (size_t)c;
        }
        pos += fsz;
    }
    if (unknown) return ZF_ERR_SIZE_UNKNOWN;
    *size = total;
    return ZF_OK;
}

static int zf_zstd_decode_with(ZSTD_DCtx **slot, const uint8_t *src, size_t srclen,
                               uint8_t *dst, size_t dstcap, size_t *dstlen) {
    size_t declared = 0;
    int rc = zf_zstd_decoded_size(src, srclen, &declared);
    if (rc == ZF_OK && declared > dstcap) return ZF_ERR_DST_FULL;
    if (rc != ZF_OK && rc != ZF_ERR_SIZE_UNKNOWN) return rc;
    ZSTD_DCtx *dctx = slot ? *slot : NULL;
    if (!dctx) {
        dctx = ZSTD_createDCtx();
        if (!dctx) return ZF_ERR_NOMEM;
        if (slot) *slot = dctx;
    } else {
        /* a reused context may have stopped mid-frame on the previous (bad) input */
        ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
    }
    ZSTD_inBuffer in = {src, srclen, 0};
    uint8_t sink; /* never written: zstd writes nothing with out.size == 0 */
    ZSTD_outBuffer out = {dstcap ? dst : &sink, dstcap, 0};
    size_t ret = 1;
    int status = ZF_OK;
    /* Frames are decoded back to back; the loop ends when all input is consumed at a frame
     * boundary, or when no progress is possible (full output or truncated input). */
    while (in.pos < in.size || ret != 0) {
        size_t ipos = in.pos, opos = out.pos;
        ret = ZSTD_decompressStream(dctx, &out, &in);
        if (ZSTD_isError(ret)) {
            status = ZF_ERR_CORRUPT;
            break;
        }
        if (in.pos == ipos && out.pos == opos) {
            status = out.pos == out.size ? ZF_ERR_DST_FULL : ZF_ERR_TRUNCATED;
            break;
        }
    }
    if (!slot) ZSTD_freeDCtx(dctx);
    if (status != ZF_OK) return status;
    if (rc == ZF_OK && out.pos != declared) return ZF_ERR_SIZE_MISMATCH;
    *dstlen = out.pos;
    return ZF_OK;
}

int zf_zstd_decode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                   size_t *dstlen) {
    return zf_zstd_decode_with(NULL, src, srclen, dst, dstcap, dstlen);
}

/* ------------------------------------------------------------------ lz4 (numcodecs) */
size_t zf_lz4_encode_bound(size_t srclen) {
    if (srclen > (size_t)LZ4_MAX_INPUT_SIZE) return 0;
    return 4 + (size_t)LZ4_compressBound((int)srclen);
}

int zf_lz4_encode(int acceleration, const uint8_t *src, size_t srclen, uint8_t *dst,
                  size_t dstcap, size_t *dstlen) {
    if (srclen > (size_t)LZ4_MAX_INPUT_SIZE) return ZF_ERR_TOO_LARGE;
    if (dstcap < 4) return ZF_ERR_DST_FULL;
    size_t room = dstcap - 4;
    if (room > (size_t)INT_MAX) room = (size_t)INT_MAX;
    zf_put_le32(dst, (uint32_t)srclen);
    int c = LZ4_compress_fast((const char *)(srclen ? src : &zf_empty_input), (char *)dst + 4,
                              (int)srclen, (int)room, acceleration < 1 ? 1 : acceleration);
    if (c <= 0) return ZF_ERR_DST_FULL;
    *dstlen = 4 + (size_t)c;
    return ZF_OK;
}

int zf_lz4_decoded_size(const uint8_t *src, size_t srclen, size_t *size) {
    if (srclen < 5) return ZF_ERR_TRUNCATED;
    uint32_t n = zf_get_le32(src);
    if (n > (uint32_t)LZ4_MAX_INPUT_SIZE) return ZF_ERR_CORRUPT;
    if ((uint64_t)n > (uint64_t)(srclen - 4) * ZF_LZ4_MAX_RATIO) return ZF_ERR_CORRUPT;
    *size = n;
    return ZF_OK;
}

int zf_lz4_decode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                  size_t *dstlen) {
    size_t n = 0;
    int rc = zf_lz4_decoded_size(src, srclen, &n);
    if (rc != ZF_OK) return rc;
    if (n > dstcap) return ZF_ERR_DST_FULL;
    if (srclen - 4 > (size_t)INT_MAX) return ZF_ERR_TOO_LARGE;
    char sink; /* never written: the decoded size is 0 */
    int r = LZ4_decompress_safe((const char *)src + 4, n ? (char *)dst : &sink,
                                (int)(srclen - 4), (int)n);
    if (r < 0) return ZF_ERR_CORRUPT;
    if ((size_t)r != n) return ZF_ERR_SIZE_MISMATCH;
    *dstlen = n;
    return ZF_OK;
}

/* ------------------------------------------------------------------ zlib / gzip */
size_t zf_deflate_encode_bound(size_t srclen) {
    /* compressBound covers the zlib wrapper; gzip's header+trailer add at most 12 more. */
    return (size_t)compressBound((uLong)srclen) + 32;
}

int zf_deflate_encode(int gzip, int level, const uint8_t *src, size_t srclen, uint8_t *dst,
                      size_t dstcap, size_t *dstlen) {
    if (level < -1 || level > 9) return ZF_ERR_PARAM;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, gzip ? 16 + 15 : 15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return ZF_ERR_NOMEM;
    size_t inpos = 0, outpos = 0;
    uint8_t sink; /* zlib needs a non-NULL next_out; with avail_out == 0 it writes nothing */
    int status = ZF_OK;
    for (;;) {
        size_t ai = srclen - inpos, ao = dstcap - outpos;
        if (ai > UINT_MAX) ai = UINT_MAX;
        if (ao > UINT_MAX) ao = UINT_MAX;
        /* zlib's API takes non-const input; it never writes through next_in. */
        zs.next_in = (Bytef *)(ai ? src + inpos : &zf_empty_input);
        zs.avail_in = (uInt)ai;
        zs.next_out = ao ? dst + outpos : &sink;
        zs.avail_out = (uInt)ao;
        int flush = inpos + ai == srclen ? Z_FINISH : Z_NO_FLUSH;
        int rc = deflate(&zs, flush);
        inpos += ai - zs.avail_in;
        outpos += ao - zs.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc == Z_OK) continue;
        status = (rc == Z_BUF_ERROR) ? ZF_ERR_DST_FULL : ZF_ERR_INTERNAL;
        break;
    }
    deflateEnd(&zs);
    if (status == ZF_OK) *dstlen = outpos;
    return status;
}

/* Bytes after the last gzip member are acceptable only as zero padding (what gzip(1) and
 * Python's gzip module ignore). */
static int zf_gzip_padding_ok(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) return 0;
    }
    return 1;
}

/* zlib's inflate, streamed: the reference decoder (see zf_codecs.h). */
int zf_inflate_decode_zlib(int gzip, const uint8_t *src, size_t srclen, uint8_t *dst,
                           size_t dstcap, size_t *dstlen) {
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, gzip ? 16 + 15 : 15) != Z_OK) return ZF_ERR_NOMEM;
    size_t inpos = 0, outpos = 0;
    uint8_t sink; /* zlib needs a non-NULL next_out; with avail_out == 0 it writes nothing */
    int status = ZF_OK;
    for (;;) {
        size_t ai = srclen - inpos, ao = dstcap - outpos;
        if (ai > UINT_MAX) ai = UINT_MAX;
        if (ao > UINT_MAX) ao = UINT_MAX;
        /* zlib's API takes non-const input; it never writes through next_in. */
        zs.next_in = (Bytef *)(ai ? src + inpos : &zf_empty_input);
        zs.avail_in = (uInt)ai;
        /* With avail_out == 0 zlib writes nothing, so the placeholder is never written. */
        zs.next_out = ao ? dst + outpos : &sink;
        zs.avail_out = (uInt)ao;
        int rc = inflate(&zs, Z_NO_FLUSH);
        size_t used = ai - zs.avail_in, made = ao - zs.avail_out;
        inpos += used;
        outpos += made;
        if (rc == Z_STREAM_END) {
            if (inpos == srclen) break;
            if (!gzip) {
                status = ZF_ERR_TRAILING;
                break;
            }
            if (srclen - inpos >= 2 && src[inpos] == 0x1f && src[inpos + 1] == 0x8b) {
                if (inflateReset(&zs) != Z_OK) {
                    status = ZF_ERR_INTERNAL;
                    break;
                }
                continue; /* another gzip member */
            }
            /* gzip readers ignore zero padding after the last member. */
            if (!zf_gzip_padding_ok(src + inpos, srclen - inpos)) status = ZF_ERR_TRAILING;
            break;
        }
        if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
            status = ZF_ERR_CORRUPT;
            break;
        }
        if (rc == Z_MEM_ERROR) {
            status = ZF_ERR_NOMEM;
            break;
        }
        if (used == 0 && made == 0) {
            status = outpos == dstcap ? ZF_ERR_DST_FULL : ZF_ERR_TRUNCATED;
            break;
        }
    }
    inflateEnd(&zs);
    if (status == ZF_OK) *dstlen = outpos;
    return status;
}

/* A gzip member's optional header CRC (FHCRC: low 16 bits of the CRC-32 of the header
 * before it), which zlib verifies and libdeflate skips.  The member starts at p and was
 * accepted by libdeflate in n bytes, so its header lies within p[0:n]. */
static int zf_gzip_header_crc_ok(const uint8_t *p, size_t n) {
    if (n < 10 || !(p[3] & 0x02)) return 1;
    size_t pos = 10;
    if (p[3] & 0x04) { /* FEXTRA: le16 length + data */
        if (n - pos < 2) return 0;
        pos += 2 + ((size_t)p[pos] | ((size_t)p[pos + 1] << 8));
    }
    for (int flag = 0x08; flag <= 0x10; flag <<= 1) { /* FNAME, FCOMMENT: zero-terminated */
        if (!(p[3] & flag)) continue;
        while (pos < n && p[pos] != 0) pos++;
        pos++;
    }
    if (pos > n || n - pos < 2) return 0;
    uLong crc = crc32_z(0L, p, pos); /* crc32_z: size_t length (names may be long) */
    return (crc & 0xFFFFu) == ((uLong)p[pos] | ((uLong)p[pos + 1] << 8));
}

/* Decode with *slot's libdeflate decompressor (allocated on first use and kept for the
 * caller to free with zf_codec_ctx_free), or a fresh one when slot is NULL.
 *
 * Same contract as zf_inflate_decode_zlib, member by member: a zlib stream must end
 * exactly at srclen (ZF_ERR_TRAILING otherwise); gzip members are decoded back to back,
 * each into what is left of dst, while the next bytes start a new member (1f 8b), and only
 * zero padding may follow the last one.
 *
 * Whenever libdeflate fails, zlib decodes the whole input again and its answer is returned,
 * so statuses are exactly zlib's: libdeflate says BAD_DATA for truncated and corrupt input
 * alike, and reads missing input as zero bits, so a truncated or corrupt stream can also
 * run out of space (INSUFFICIENT_SPACE) before libdeflate notices, where zlib reports
 * TRUNCATED / CORRUPT.  Exact-size callers pay the second pass on bad input only; callers
 * that grow their buffer on ZF_ERR_DST_FULL pay it once per too-small try. */
static int zf_inflate_decode_with(struct libdeflate_decompressor **slot, int gzip,
                                  const uint8_t *src, size_t srclen, uint8_t *dst,
                                  size_t dstcap, size_t *dstlen) {
    struct libdeflate_decompressor *d = slot ? *slot : NULL;
    if (!d) {
        d = libdeflate_alloc_decompressor();
        if (!d) return ZF_ERR_NOMEM;
        if (slot) *slot = d;
    }
    /* libdeflate keeps no state between calls: a decompressor that failed is reusable. */
    size_t inpos = 0, outpos = 0;
    uint8_t sink; /* never written: libdeflate writes at most out_nbytes_avail (0) bytes */
    int status = ZF_OK;
    for (;;) {
        size_t in_left = srclen - inpos, out_left = dstcap - outpos, used = 0, made = 0;
        const uint8_t *in = in_left ? src + inpos : &zf_empty_input;
        uint8_t *out = out_left ? dst + outpos : &sink;
        enum libdeflate_result r =
            gzip ? libdeflate_gzip_decompress_ex(d, in, in_left, out, out_left, &used, &made)
                 : libdeflate_zlib_decompress_ex(d, in, in_left, out, out_left, &used, &made);
        if (r != LIBDEFLATE_SUCCESS || used == 0 || used > in_left || made > out_left ||
            (gzip && !zf_gzip_header_crc_ok(in, used))) {
            status = ZF_ERR_CORRUPT; /* zlib gives the exact status below */
            break;
        }
        inpos += used;
        outpos += made;
        if (inpos == srclen) break;
        if (!gzip) {
            status = ZF_ERR_TRAILING;
            break;
        }
        if (srclen - inpos >= 2 && src[inpos] == 0x1f && src[inpos + 1] == 0x8b)
            continue; /* another gzip member */
        if (!zf_gzip_padding_ok(src + inpos, srclen - inpos)) status = ZF_ERR_TRAILING;
        break;
    }
    if (!slot) libdeflate_free_decompressor(d);
    if (status == ZF_ERR_CORRUPT) return zf_inflate_decode_zlib(gzip, src, srclen, dst, dstcap,
                                                                dstlen);
    if (status == ZF_OK) *dstlen = outpos;
    return status;
}

int zf_inflate_decode(int gzip, const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                      size_t *dstlen) {
    return zf_inflate_decode_with(NULL, gzip, src, srclen, dst, dstcap, dstlen);
}

/* ------------------------------------------------------------------ crc32c */
static int zf_crc32c_encode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                            size_t *dstlen) {
    if (srclen > SIZE_MAX - 4 || dstcap < srclen + 4) return ZF_ERR_DST_FULL;
    if (srclen) memmove(dst, src, srclen);
    zf_put_le32(dst + srclen, zf_crc32c_update(0, src == dst ? dst : src, srclen));
    *dstlen = srclen + 4;
    return ZF_OK;
}

static int zf_crc32c_decode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                            size_t *dstlen) {
    if (srclen < 4) return ZF_ERR_TRUNCATED;
    size_t n = srclen - 4;
    if (n > dstcap) return ZF_ERR_DST_FULL;
    if (zf_crc32c_update(0, src, n) != zf_get_le32(src + n)) return ZF_ERR_CHECKSUM;
    if (n) memmove(dst, src, n);
    *dstlen = n;
    return ZF_OK;
}

/* ------------------------------------------------------------------ dispatcher */
int zf_codec_kind_from_name(const char *name) {
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {{"zstd", ZF_KIND_ZSTD},   {"lz4", ZF_KIND_LZ4},     {"zlib", ZF_KIND_ZLIB},
                 {"gzip", ZF_KIND_GZIP},   {"blosc", ZF_KIND_BLOSC}, {"crc32c", ZF_KIND_CRC32C}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(name, kinds[i].name) == 0) return kinds[i].kind;
    }
    return -1;
}

static int64_t zf_param(const int64_t *params, size_t nparams, size_t i, int64_t dflt) {
    return (params && i < nparams) ? params[i] : dflt;
}

int zf_codec_encode_bound(int kind, const int64_t *params, size_t nparams, size_t srclen,
                          size_t *bound) {
    (void)params;
    (void)nparams;
    size_t b;
    switch (kind) {
    case ZF_KIND_ZSTD: b = zf_zstd_encode_bound(srclen); break;
    case ZF_KIND_LZ4: b = zf_lz4_encode_bound(srclen); break;
    case ZF_KIND_ZLIB:
    case ZF_KIND_GZIP: b = zf_deflate_encode_bound(srclen); break;
    case ZF_KIND_BLOSC: b = zf_blosc1_encode_bound(srclen); break;
    case ZF_KIND_CRC32C: b = srclen + 4; break;
    default: return ZF_ERR_PARAM;
    }
    if (b == 0 || b < srclen) return ZF_ERR_TOO_LARGE;
    *bound = b;
    return ZF_OK;
}

void zf_codec_ctx_free(zf_codec_ctx *ctx) {
    if (!ctx) return;
    ZSTD_freeCCtx((ZSTD_CCtx *)ctx->zstd_c); /* the ZSTD_CCtx stored by zf_zstd_encode_with */
    ZSTD_freeDCtx((ZSTD_DCtx *)ctx->zstd_d); /* the ZSTD_DCtx stored by zf_zstd_decode_with */
    /* the decompressor stored by zf_inflate_decode_with */
    libdeflate_free_decompressor((struct libdeflate_decompressor *)ctx->deflate_d);
    ctx->zstd_c = NULL;
    ctx->zstd_d = NULL;
    ctx->deflate_d = NULL;
}

int zf_codec_encode(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                    size_t srclen, uint8_t *dst, size_t dstcap, size_t *dstlen) {
    return zf_codec_encode_ctx(NULL, kind, params, nparams, src, srclen, dst, dstcap, dstlen);
}

int zf_codec_encode_ctx(zf_codec_ctx *ctx, int kind, const int64_t *params, size_t nparams,
                        const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                        size_t *dstlen) {
    switch (kind) {
    case ZF_KIND_ZSTD:
        /* ctx->zstd_c only ever holds a ZSTD_CCtx (or NULL) */
        return zf_zstd_encode_with(ctx ? (ZSTD_CCtx **)&ctx->zstd_c : NULL,
                                   (int)zf_param(params, nparams, 0, 0),
                                   (int)zf_param(params, nparams, 1, 0), src, srclen, dst,
                                   dstcap, dstlen);
    case ZF_KIND_LZ4:
        return zf_lz4_encode((int)zf_param(params, nparams, 0, 1), src, srclen, dst, dstcap,
                             dstlen);
    case ZF_KIND_ZLIB:
    case ZF_KIND_GZIP:
        return zf_deflate_encode(kind == ZF_KIND_GZIP, (int)zf_param(params, nparams, 0, 1), src,
                                 srclen, dst, dstcap, dstlen);
    case ZF_KIND_BLOSC: {
        int64_t ts = zf_param(params, nparams, 3, 1), bs = zf_param(params, nparams, 4, 0);
        if (ts < 0 || bs < 0) return ZF_ERR_PARAM;
        return zf_blosc1_encode((int)zf_param(params, nparams, 0, ZF_BLOSC_ZSTD),
                                (int)zf_param(params, nparams, 1, 5),
                                (int)zf_param(params, nparams, 2, ZF_BLOSC_SHUFFLE), (size_t)ts,
                                (size_t)bs, src, srclen, dst, dstcap, dstlen);
    }
    case ZF_KIND_CRC32C: return zf_crc32c_encode(src, srclen, dst, dstcap, dstlen);
    default: return ZF_ERR_PARAM;
    }
}

int zf_codec_decoded_size(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                          size_t srclen, size_t *size) {
    (void)params;
    (void)nparams;
    switch (kind) {
    case ZF_KIND_ZSTD: return zf_zstd_decoded_size(src, srclen, size);
    case ZF_KIND_LZ4: return zf_lz4_decoded_size(src, srclen, size);
    case ZF_KIND_ZLIB:
    case ZF_KIND_GZIP: return srclen ? ZF_ERR_SIZE_UNKNOWN : ZF_ERR_TRUNCATED;
    case ZF_KIND_BLOSC: return zf_blosc_decoded_size(src, srclen, size);
    case ZF_KIND_CRC32C:
        if (srclen < 4) return ZF_ERR_TRUNCATED;
        *size = srclen - 4;
        return ZF_OK;
    default: return ZF_ERR_PARAM;
    }
}

int zf_codec_decode(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                    size_t srclen, uint8_t *dst, size_t dstcap, size_t *dstlen) {
    return zf_codec_decode_ctx(NULL, kind, params, nparams, src, srclen, dst, dstcap, dstlen);
}

int zf_codec_decode_ctx(zf_codec_ctx *ctx, int kind, const int64_t *params, size_t nparams,
                        const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                        size_t *dstlen) {
    (void)params;
    (void)nparams;
    switch (kind) {
    case ZF_KIND_ZSTD:
        /* ctx->zstd_d only ever holds a ZSTD_DCtx (or NULL) */
        return zf_zstd_decode_with(ctx ? (ZSTD_DCtx **)&ctx->zstd_d : NULL, src, srclen, dst,
                                   dstcap, dstlen);
    case ZF_KIND_LZ4: return zf_lz4_decode(src, srclen, dst, dstcap, dstlen);
    case ZF_KIND_ZLIB:
    case ZF_KIND_GZIP:
        /* ctx->deflate_d only ever holds a struct libdeflate_decompressor (or NULL) */
        return zf_inflate_decode_with(
            ctx ? (struct libdeflate_decompressor **)&ctx->deflate_d : NULL,
            kind == ZF_KIND_GZIP, src, srclen, dst, dstcap, dstlen);
    case ZF_KIND_BLOSC: return zf_blosc_decode(src, srclen, dst, dstcap, dstlen);
    case ZF_KIND_CRC32C: return zf_crc32c_decode(src, srclen, dst, dstcap, dstlen);
    default: return ZF_ERR_PARAM;
    }
}
