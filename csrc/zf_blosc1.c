/* zf_blosc1.c - classic Blosc1 chunk encoder (format version 2) + libblosc2 decoding.
 *
 * The encoder follows the c-blosc 1.x chunk format rules so that c-blosc1 (numcodecs,
 * zarr-python, tensorstore, zarrs) and libblosc2 decode our output identically:
 *  - a block is split into `typesize` streams only for blosclz when typesize <= 16 and
 *    blocksize / typesize >= 128 and the block is not the leftover block; otherwise the
 *    "don't split" flag (0x10) is set and every block is one stream;
 *  - byte shuffle only when typesize > 1, trailing (blocksize % typesize) bytes copied;
 *  - bitshuffle (format 2 rules) only when the block holds a multiple of 8 elements;
 *  - a stream whose compressed size would reach its raw size is stored raw (csize == size);
 *  - if the result would not fit in nbytes + 16 bytes, or nbytes < 128, or clevel == 0,
 *    the chunk is written "memcpyed": header + raw data.
 */
#include "zf_blosc1.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <blosc2.h>
#include <lz4.h>
#include <lz4hc.h>
#include <zlib.h>
#include <zstd.h>

#include "zf_status.h"

/* Exported by libblosc2.a but not declared in its public headers.  The last parameter is
 * a blosc2_context* that the 2.x/3.x implementation does not read (checked against the
 * linked object and by interop tests), so NULL is passed. */
extern int blosclz_compress(const int clevel, const void *input, int length, void *output,
                            int maxout, void *ctx);
extern int blosclz_decompress(const void *input, int length, void *output, int maxout);

#define ZF_MIN_BUFFERSIZE 128
#define ZF_MAX_SPLITS 16
#define ZF_MAX_TYPESIZE 255
#define ZF_KB 1024

#define ZF_FLAG_SHUFFLE 0x01
#define ZF_FLAG_MEMCPYED 0x02
#define ZF_FLAG_BITSHUFFLE 0x04
#define ZF_FLAG_DONT_SPLIT 0x10

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

size_t zf_blosc1_encode_bound(size_t srclen) { return srclen + ZF_BLOSC1_HEADER; }

/* ------------------------------------------------------------------ shuffles */
void zf_blosc_shuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    size_t n = blocksize / ts;
    for (size_t j = 0; j < ts; j++) {
        uint8_t *out = dst + j * n;
        const uint8_t *in = src + j;
        for (size_t i = 0; i < n; i++) out[i] = in[i * ts];
    }
    memcpy(dst + n * ts, src + n * ts, blocksize - n * ts);
}

void zf_blosc_unshuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    size_t n = blocksize / ts;
    for (size_t j = 0; j < ts; j++) {
        const uint8_t *in = src + j * n;
        uint8_t *out = dst + j;
        for (size_t i = 0; i < n; i++) out[i * ts] = in[i];
    }
    memcpy(dst + n * ts, src + n * ts, blocksize - n * ts);
}

/* 8x8 bit-matrix transpose of the bytes of x (byte m, bit k) -> (byte k, bit m). */
static uint64_t zf_trans_bit_8x8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x = x ^ t ^ (t << 28);
    return x;
}

/* Output layout (as bitshuffle/blosc): row (j * 8 + k) of n/8 bytes holds bit k of byte j
 * of every element, element i at bit (i % 8) of byte i / 8 of the row. */
void zf_blosc_bitshuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    size_t n = blocksize / ts;
    if (n % 8 != 0) {
        memcpy(dst, src, blocksize);
        return;
    }
    size_t rowlen = n / 8;
    for (size_t j = 0; j < ts; j++) {
        for (size_t g = 0; g < rowlen; g++) {
            uint64_t x = 0;
            const uint8_t *in = src + g * 8 * ts + j;
            for (int m = 0; m < 8; m++) x |= (uint64_t)in[(size_t)m * ts] << (8 * m);
            x = zf_trans_bit_8x8(x);
            uint8_t *out = dst + j * 8 * rowlen + g;
            for (int k = 0; k < 8; k++) out[(size_t)k * rowlen] = (uint8_t)(x >> (8 * k));
        }
    }
    memcpy(dst + n * ts, src + n * ts, blocksize - n * ts);
}

void zf_blosc_bitunshuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    size_t n = blocksize / ts;
    if (n % 8 != 0) {
        memcpy(dst, src, blocksize);
        return;
    }
    size_t rowlen = n / 8;
    for (size_t j = 0; j < ts; j++) {
        for (size_t g = 0; g < rowlen; g++) {
            uint64_t x = 0;
            const uint8_t *in = src + j * 8 * rowlen + g;
            for (int k = 0; k < 8; k++) x |= (uint64_t)in[(size_t)k * rowlen] << (8 * k);
            x = zf_trans_bit_8x8(x);
            uint8_t *out = dst + g * 8 * ts + j;
            for (int m = 0; m < 8; m++) out[(size_t)m * ts] = (uint8_t)(x >> (8 * m));
        }
    }
    memcpy(dst + n * ts, src + n * ts, blocksize - n * ts);
}

/* ------------------------------------------------------------------ encoder */
static int zf_is_hcr(int compressor) {
    return compressor == ZF_BLOSC_LZ4HC || compressor == ZF_BLOSC_ZLIB ||
           compressor == ZF_BLOSC_ZSTD;
}

/* Our block size policy: L1-sized blocks for fast codecs, larger for high-ratio codecs,
 * growing with clevel (any size is valid for readers; this only trades speed/ratio). */
static size_t zf_compute_blocksize(int compressor, int clevel, size_t ts, size_t nbytes,
                                   size_t forced) {
    size_t bs;
    if (nbytes < ts) return 1;
    if (forced) {
        bs = forced < ZF_MIN_BUFFERSIZE ? ZF_MIN_BUFFERSIZE : forced;
    } else {
        static const int fast_kb[10] = {32, 32, 32, 32, 64, 64, 128, 256, 256, 512};
        static const int hcr_kb[10] = {64, 64, 64, 64, 256, 256, 256, 512, 512, 1024};
        bs = (size_t)(zf_is_hcr(compressor) ? hcr_kb[clevel] : fast_kb[clevel]) * ZF_KB;
    }
    if (bs > nbytes) bs = nbytes;
    if (bs > ts) bs = bs / ts * ts;
    return bs;
}

typedef struct {
    int compressor;
    int clevel;
    ZSTD_CCtx *zcctx;
    z_stream zs;
    int zs_ready;
} zf_blosc_cstate;

/* Compress one stream into at most maxout bytes; returns the size, or 0 when it does not
 * compress into fewer than n bytes (caller stores it raw), or a negative status. */
static int zf_compress_stream(zf_blosc_cstate *st, const uint8_t *src, size_t n, uint8_t *dst,
                              size_t maxout) {
    long long cbytes = 0;
    if (maxout > n) maxout = n;
    if (maxout == 0 || n == 0) return 0;
    switch (st->compressor) {
    case ZF_BLOSC_BLOSCLZ:
        cbytes = blosclz_compress(st->clevel, src, (int)n, dst, (int)maxout, NULL);
        break;
    case ZF_BLOSC_LZ4:
        cbytes = LZ4_compress_fast((const char *)src, (char *)dst, (int)n, (int)maxout,
                                   10 - st->clevel);
        break;
    case ZF_BLOSC_LZ4HC:
        cbytes = LZ4_compress_HC((const char *)src, (char *)dst, (int)n, (int)maxout,
                                 st->clevel);
        break;
    case ZF_BLOSC_ZLIB: {
        if (!st->zs_ready) {
            memset(&st->zs, 0, sizeof(st->zs));
            if (deflateInit(&st->zs, st->clevel) != Z_OK) return ZF_ERR_NOMEM;
            st->zs_ready = 1;
        } else if (deflateReset(&st->zs) != Z_OK) {
            return ZF_ERR_INTERNAL;
        }
        /* zlib's API takes non-const input; it never writes through next_in. */
        st->zs.next_in = (Bytef *)src;
        st->zs.avail_in = (uInt)n;
        st->zs.next_out = dst;
        st->zs.avail_out = (uInt)maxout;
        int rc = deflate(&st->zs, Z_FINISH);
        cbytes = rc == Z_STREAM_END ? (long long)st->zs.total_out : 0;
        break;
    }
    case ZF_BLOSC_ZSTD: {
        if (!st->zcctx) {
            st->zcctx = ZSTD_createCCtx();
            if (!st->zcctx) return ZF_ERR_NOMEM;
        }
        int level = st->clevel < 9 ? st->clevel * 2 - 1 : ZSTD_maxCLevel();
        size_t r = ZSTD_compressCCtx(st->zcctx, dst, maxout, src, n, level);
        cbytes = ZSTD_isError(r) ? 0 : (long long)r;
        break;
    }
    default:
        return ZF_ERR_PARAM;
    }
    if (cbytes < 0 || (size_t)cbytes >= n || (size_t)cbytes > maxout) return 0;
    return (int)cbytes;
}

static int zf_format_code(int compressor, uint8_t *versionlz) {
    switch (compressor) {
    case ZF_BLOSC_BLOSCLZ: *versionlz = 1; return 0;
    case ZF_BLOSC_LZ4:
    case ZF_BLOSC_LZ4HC: *versionlz = 1; return 1;
    case ZF_BLOSC_ZLIB: *versionlz = 1; return 3;
    case ZF_BLOSC_ZSTD: *versionlz = 1; return 4;
    default: return -1;
    }
}

static void zf_write_memcpyed(uint8_t *dst, const uint8_t *src, size_t srclen) {
    dst[2] |= ZF_FLAG_MEMCPYED;
    zf_put_le32(dst + 12, (uint32_t)(srclen + ZF_BLOSC1_HEADER));
    if (srclen) memcpy(dst + ZF_BLOSC1_HEADER, src, srclen);
}

int zf_blosc1_encode(int compressor, int clevel, int shuffle, size_t typesize, size_t blocksize,
                     const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                     size_t *dstlen) {
    uint8_t versionlz = 1;
    int fmt = zf_format_code(compressor, &versionlz);
    if (fmt < 0 || clevel < 0 || clevel > 9 || shuffle < 0 || shuffle > 2)
        return ZF_ERR_PARAM;
    if (srclen > ZF_BLOSC1_MAX_NBYTES || blocksize > ZF_BLOSC1_MAX_NBYTES)
        return ZF_ERR_TOO_LARGE;
    size_t limit = zf_blosc1_encode_bound(srclen);
    if (dstcap < limit) return ZF_ERR_DST_FULL;
    if (typesize < 1 || typesize > ZF_MAX_TYPESIZE) typesize = 1;

    size_t bs = zf_compute_blocksize(compressor, clevel, typesize, srclen, blocksize);
    uint8_t flags = (uint8_t)(fmt << 5);
    if (shuffle == ZF_BLOSC_SHUFFLE) flags |= ZF_FLAG_SHUFFLE;
    if (shuffle == ZF_BLOSC_BITSHUFFLE) flags |= ZF_FLAG_BITSHUFFLE;
    int split = compressor == ZF_BLOSC_BLOSCLZ && typesize <= ZF_MAX_SPLITS &&
                bs / typesize >= ZF_MIN_BUFFERSIZE;
    if (!split) flags |= ZF_FLAG_DONT_SPLIT;

    dst[0] = 2;
    dst[1] = versionlz;
    dst[2] = flags;
    dst[3] = (uint8_t)typesize;
    zf_put_le32(dst + 4, (uint32_t)srclen);
    zf_put_le32(dst + 8, (uint32_t)bs);
    if (clevel == 0 || srclen < ZF_MIN_BUFFERSIZE) {
        zf_write_memcpyed(dst, src, srclen);
        *dstlen = srclen + ZF_BLOSC1_HEADER;
        return ZF_OK;
    }

    size_t nblocks = srclen / bs;
    size_t leftover = srclen % bs;
    if (leftover) nblocks++;
    size_t pos = ZF_BLOSC1_HEADER + 4 * nblocks;
    int fits = pos <= limit;
    int status = ZF_OK;
    zf_blosc_cstate st;
    memset(&st, 0, sizeof(st));
    st.compressor = compressor;
    st.clevel = clevel;
    uint8_t *tmp = NULL;
    if (fits && shuffle != ZF_BLOSC_NOSHUFFLE) {
        tmp = (uint8_t *)malloc(bs);
        if (!tmp) return ZF_ERR_NOMEM;
    }
    for (size_t b = 0; fits && b < nblocks; b++) {
        size_t bsize = (b == nblocks - 1 && leftover) ? leftover : bs;
        int leftoverblock = bsize != bs;
        const uint8_t *blk = src + b * bs;
        zf_put_le32(dst + ZF_BLOSC1_HEADER + 4 * b, (uint32_t)pos);
        if (shuffle == ZF_BLOSC_SHUFFLE && typesize > 1) {
            zf_blosc_shuffle(typesize, bsize, blk, tmp);
            blk = tmp;
        } else if (shuffle == ZF_BLOSC_BITSHUFFLE) {
            zf_blosc_bitshuffle(typesize, bsize, blk, tmp);
            blk = tmp;
        }
        size_t nstreams = (split && !leftoverblock) ? typesize : 1;
        size_t neblock = bsize / nstreams;
        for (size_t s = 0; s < nstreams; s++) {
            if (pos + 4 > limit) { fits = 0; break; }
            size_t room = limit - pos - 4;
            int c = zf_compress_stream(&st, blk + s * neblock, neblock, dst + pos + 4, room);
            if (c < 0) { status = c; fits = 0; break; }
            if (c == 0) {
                if (neblock > room) { fits = 0; break; }
                memcpy(dst + pos + 4, blk + s * neblock, neblock);
                c = (int)neblock;
            }
            zf_put_le32(dst + pos, (uint32_t)c);
            pos += 4 + (size_t)c;
        }
    }
    free(tmp);
    if (st.zcctx) ZSTD_freeCCtx(st.zcctx);
    if (st.zs_ready) deflateEnd(&st.zs);
    if (status != ZF_OK) return status;
    if (!fits) {
        zf_write_memcpyed(dst, src, srclen);
        *dstlen = srclen + ZF_BLOSC1_HEADER;
        return ZF_OK;
    }
    zf_put_le32(dst + 12, (uint32_t)pos);
    *dstlen = pos;
    return ZF_OK;
}

/* ------------------------------------------------------------------ Blosc1 decoder
 *
 * Chunks in format version <= 2 (everything c-blosc1 writes) are decoded here rather than
 * by libblosc2: libblosc2 3.3.5 mis-decodes some valid c-blosc1 bitshuffle chunks (blocks
 * whose element count is not a multiple of 8, or with trailing bytes), returning success
 * with uninitialised bytes in the output - see tests/test_codecs/test_compressors.py
 * (test_blosc_bitshuffle_odd_blocks).  Every offset is checked against srclen. */
static int zf_decompress_stream(int fmt, ZSTD_DCtx **zdctx, const uint8_t *src, size_t clen,
                                uint8_t *dst, size_t n) {
    switch (fmt) {
    case 0: {
        int r = blosclz_decompress(src, (int)clen, dst, (int)n);
        return r == (int)n ? ZF_OK : ZF_ERR_CORRUPT;
    }
    case 1: {
        int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)clen, (int)n);
        return r == (int)n ? ZF_OK : ZF_ERR_CORRUPT;
    }
    case 3: {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        if (inflateInit(&zs) != Z_OK) return ZF_ERR_NOMEM;
        /* zlib's API takes non-const input; it never writes through next_in. */
        zs.next_in = (Bytef *)src;
        zs.avail_in = (uInt)clen;
        zs.next_out = dst;
        zs.avail_out = (uInt)n;
        int rc = inflate(&zs, Z_FINISH);
        size_t made = (size_t)zs.total_out;
        inflateEnd(&zs);
        return (rc == Z_STREAM_END && made == n) ? ZF_OK : ZF_ERR_CORRUPT;
    }
    case 4: {
        if (!*zdctx) {
            *zdctx = ZSTD_createDCtx();
            if (!*zdctx) return ZF_ERR_NOMEM;
        }
        size_t r = ZSTD_decompressDCtx(*zdctx, dst, n, src, clen);
        return (!ZSTD_isError(r) && r == n) ? ZF_OK : ZF_ERR_CORRUPT;
    }
    default:
        return ZF_ERR_UNSUPPORTED; /* snappy (2) or unknown */
    }
}

/* Header already validated by zf_blosc_decoded_size; n = nbytes, n <= dstcap, n > 0. */
static int zf_blosc1_decode_v2(const uint8_t *src, size_t srclen, uint8_t *dst, size_t n) {
    uint8_t flags = src[2];
    size_t ts = src[3];
    size_t bs = zf_get_le32(src + 8);
    if (flags & ZF_FLAG_MEMCPYED) {
        memcpy(dst, src + ZF_BLOSC1_HEADER, n);
        return ZF_OK;
    }
    if (ts == 0) return ZF_ERR_CORRUPT;
    int fmt = (flags >> 5) & 0x07;
    int doshuffle = (flags & ZF_FLAG_SHUFFLE) && ts > 1;
    int dobitshuffle = (flags & ZF_FLAG_BITSHUFFLE) != 0;
    int dont_split = (flags & ZF_FLAG_DONT_SPLIT) != 0;
    size_t nblocks = n / bs + (n % bs ? 1 : 0);
    size_t leftover = n % bs;
    size_t data_start = ZF_BLOSC1_HEADER + 4 * nblocks;
    uint8_t *tmp = NULL;
    if (doshuffle || dobitshuffle) {
        tmp = (uint8_t *)malloc(bs);
        if (!tmp) return ZF_ERR_NOMEM;
    }
    ZSTD_DCtx *zdctx = NULL;
    int status = ZF_OK;
    for (size_t b = 0; b < nblocks && status == ZF_OK; b++) {
        int leftoverblock = (b == nblocks - 1) && leftover;
        size_t bsize = leftoverblock ? leftover : bs;
        size_t pos = zf_get_le32(src + ZF_BLOSC1_HEADER + 4 * b);
        if (pos < data_start || pos > srclen) {
            status = ZF_ERR_CORRUPT;
            break;
        }
        size_t nstreams = (!dont_split && ts <= ZF_MAX_SPLITS && bsize / ts >= ZF_MIN_BUFFERSIZE &&
                           !leftoverblock)
                              ? ts
                              : 1;
        size_t neblock = bsize / nstreams;
        if (neblock * nstreams != bsize) {
            status = ZF_ERR_CORRUPT;
            break;
        }
        uint8_t *out = (doshuffle || dobitshuffle) ? tmp : dst + b * bs;
        for (size_t s = 0; s < nstreams; s++) {
            if (srclen - pos < 4) {
                status = ZF_ERR_TRUNCATED;
                break;
            }
            uint32_t cbytes = zf_get_le32(src + pos);
            pos += 4;
            if (cbytes > srclen - pos || cbytes > (uint32_t)INT32_MAX) {
                status = ZF_ERR_TRUNCATED;
                break;
            }
            if (cbytes == neblock) {
                memcpy(out + s * neblock, src + pos, neblock);
            } else {
                status = zf_decompress_stream(fmt, &zdctx, src + pos, cbytes,
                                              out + s * neblock, neblock);
                if (status != ZF_OK) break;
            }
            pos += cbytes;
        }
        if (status != ZF_OK) break;
        if (doshuffle) zf_blosc_unshuffle(ts, bsize, tmp, dst + b * bs);
        else if (dobitshuffle) zf_blosc_bitunshuffle(ts, bsize, tmp, dst + b * bs);
    }
    free(tmp);
    if (zdctx) ZSTD_freeDCtx(zdctx);
    return status;
}

/* ------------------------------------------------------------------ decoder */
static pthread_once_t zf_blosc2_once = PTHREAD_ONCE_INIT;
static void zf_blosc2_init_once(void) { blosc2_init(); }

int zf_blosc_decoded_size(const uint8_t *src, size_t srclen, size_t *nbytes) {
    if (srclen < ZF_BLOSC1_HEADER) return ZF_ERR_TRUNCATED;
    uint8_t version = src[0];
    /* Formats >= 3 may carry a 32-byte extended header; make sure it is all there before
     * libblosc2 looks at it. */
    if (version == 0 || version > 6) return ZF_ERR_CORRUPT;
    if (version >= 3 && (src[2] & 0x03) == 0x03 && srclen < 32) return ZF_ERR_TRUNCATED;
    uint32_t n = zf_get_le32(src + 4);
    uint32_t bsz = zf_get_le32(src + 8);
    uint32_t cb = zf_get_le32(src + 12);
    if (cb > (uint32_t)INT32_MAX || n > (uint32_t)INT32_MAX) return ZF_ERR_CORRUPT;
    if ((size_t)cb > srclen) return ZF_ERR_TRUNCATED;
    if ((size_t)cb < srclen) return ZF_ERR_TRAILING;
    if (n > 0 && bsz == 0) return ZF_ERR_CORRUPT;
    /* c-blosc1 never writes blocksize > nbytes; refusing it bounds libblosc2's temporaries. */
    if (version <= 2 && n > 0 && bsz > n) return ZF_ERR_CORRUPT;
    pthread_once(&zf_blosc2_once, zf_blosc2_init_once);
    size_t vn = 0;
    if (blosc1_cbuffer_validate(src, srclen, &vn) < 0) return ZF_ERR_CORRUPT;
    if (vn != (size_t)n) return ZF_ERR_CORRUPT;
    if (!(src[2] & ZF_FLAG_MEMCPYED) || version >= 3) {
        /* Smallest valid non-memcpyed chunk has one 4-byte bstart per block. */
        size_t nblocks = n == 0 ? 0 : (n + bsz - 1) / bsz;
        if (!(src[2] & ZF_FLAG_MEMCPYED) && ZF_BLOSC1_HEADER + 4 * nblocks > srclen)
            return ZF_ERR_TRUNCATED;
        if (!(src[2] & ZF_FLAG_MEMCPYED) && version <= 2 && n > 0) {
            /* Bound the claim by what the payload can expand to, so a hostile header cannot
             * make a caller without an expected size allocate gigabytes: every block has at
             * least one stream (4-byte size + >= 1 byte), and no codec expands a stream by
             * more than its format allows (lz4 ~255x, zlib 1032x, zstd RLE 32768x; blosclz
             * ~256x, bounded generously). */
            size_t payload = srclen - ZF_BLOSC1_HEADER - 4 * nblocks;
            if (payload < 5 * nblocks) return ZF_ERR_TRUNCATED;
            static const uint32_t max_ratio[8] = {2048, 512, 512, 1100, 33000, 1, 1, 1};
            uint32_t ratio = max_ratio[(src[2] >> 5) & 0x7];
            if ((uint64_t)n > (uint64_t)payload * ratio) return ZF_ERR_CORRUPT;
        }
    } else if ((size_t)n + ZF_BLOSC1_HEADER != srclen) {
        return ZF_ERR_CORRUPT;
    }
    *nbytes = n;
    return ZF_OK;
}

int zf_blosc_decode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                    size_t *dstlen) {
    size_t n = 0;
    int rc = zf_blosc_decoded_size(src, srclen, &n);
    if (rc != ZF_OK) return rc;
    if (n > dstcap) return ZF_ERR_DST_FULL;
    if (n == 0) {
        *dstlen = 0;
        return ZF_OK;
    }
    if (src[0] <= 2) {
        rc = zf_blosc1_decode_v2(src, srclen, dst, n);
        if (rc == ZF_OK) *dstlen = n;
        return rc;
    }
    blosc2_dparams dparams = BLOSC2_DPARAMS_DEFAULTS;
    dparams.nthreads = 1;
    blosc2_context *dctx = blosc2_create_dctx(dparams);
    if (!dctx) return ZF_ERR_NOMEM;
    int r = blosc2_decompress_ctx(dctx, src, (int32_t)srclen, dst, (int32_t)n);
    blosc2_free_ctx(dctx);
    if (r < 0) return ZF_ERR_CORRUPT;
    if ((size_t)r != n) return ZF_ERR_SIZE_MISMATCH;
    *dstlen = n;
    return ZF_OK;
}
