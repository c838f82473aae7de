/* zf_codecs.h - single-chunk bytes->bytes codecs with one uniform C entry point.
 *
 * The batch pipeline (csrc thread pool, zarrfast._native._pipeline) calls
 *
 *     zf_codec_decode(kind, params, nparams, src, srclen, dst, dstcap, &dstlen)
 *
 * from worker threads over many chunks: plain C, no Python, no globals, re-entrant, and
 * every call owns its library contexts (or borrows the caller's per-thread zf_codec_ctx).
 * The Python layer passes the same (kind, params) that NativeCodecSpec carries
 * (zarrfast.abc.codec.NativeCodecSpec):
 *
 *   kind            params (int64)
 *   ZF_KIND_ZSTD    level, checksum(0/1)
 *   ZF_KIND_LZ4     acceleration             (numcodecs LZ4: le32 size + LZ4 block)
 *   ZF_KIND_ZLIB    level                    (RFC 1950 stream)
 *   ZF_KIND_GZIP    level                    (RFC 1952, decoding accepts multi-member)
 *   ZF_KIND_BLOSC   compressor, clevel, shuffle, typesize, blocksize  (see zf_blosc1.h)
 *   ZF_KIND_CRC32C  (none)                   (data + le32 CRC32C)
 *
 * zlib/gzip are encoded with zlib's deflate (output byte-identical to numcodecs and
 * Python's zlib/gzip at the same level, which the golden fixtures rely on) and decoded
 * with libdeflate, falling back to zlib's inflate to classify input libdeflate rejects.
 *
 * Decoding contract: at most dstcap bytes are ever written.  Output that would not fit
 * gives ZF_ERR_DST_FULL; for an exact expected size the caller passes dstcap = expected and
 * compares *dstlen (ZF_ERR_SIZE_MISMATCH when it differs).  Sizes declared inside the
 * encoded data are checked against dstcap before anything is decoded.
 */
#ifndef ZF_CODECS_H
#define ZF_CODECS_H

#include <stddef.h>
#include <stdint.h>

#include "zf_status.h"

enum {
    ZF_KIND_ZSTD = 1,
    ZF_KIND_LZ4 = 2,
    ZF_KIND_ZLIB = 3,
    ZF_KIND_GZIP = 4,
    ZF_KIND_BLOSC = 5,
    ZF_KIND_CRC32C = 6
};

/* Kind number for a NativeCodecSpec.kind name, or -1. */
int zf_codec_kind_from_name(const char *name);

/* Upper bound of the encoded size of srclen bytes. */
int zf_codec_encode_bound(int kind, const int64_t *params, size_t nparams, size_t srclen,
                          size_t *bound);

/* Encode src into dst (dstcap >= zf_codec_encode_bound).  *dstlen receives the size. */
int zf_codec_encode(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                    size_t srclen, uint8_t *dst, size_t dstcap, size_t *dstlen);

/* Decoded size declared by the encoded data, validated against srclen (and against the
 * largest size that srclen bytes can decode to).  ZF_ERR_SIZE_UNKNOWN for zlib/gzip and
 * zstd frames without a content size: decode into a growing buffer then. */
int zf_codec_decoded_size(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                          size_t srclen, size_t *size);

/* Decode src into dst (see the contract above). */
int zf_codec_decode(int kind, const int64_t *params, size_t nparams, const uint8_t *src,
                    size_t srclen, uint8_t *dst, size_t dstcap, size_t *dstlen);

/* Library contexts a caller may keep across calls (one per thread, never shared): the
 * *_ctx variants create them on first use and reuse them; zf_codec_ctx_free releases
 * them.  Zero-initialise before first use.  ctx == NULL: a fresh context per call. */
typedef struct {
    void *zstd_c;    /* ZSTD_CCtx */
    void *zstd_d;    /* ZSTD_DCtx */
    void *deflate_d; /* struct libdeflate_decompressor (zlib/gzip decoding) */
} zf_codec_ctx;
void zf_codec_ctx_free(zf_codec_ctx *ctx);
int zf_codec_encode_ctx(zf_codec_ctx *ctx, int kind, const int64_t *params, size_t nparams,
                        const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                        size_t *dstlen);
int zf_codec_decode_ctx(zf_codec_ctx *ctx, int kind, const int64_t *params, size_t nparams,
                        const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                        size_t *dstlen);

/* Per-codec entry points (what zf_codec_* dispatches to). */
size_t zf_zstd_encode_bound(size_t srclen);
int zf_zstd_encode(int level, int checksum, const uint8_t *src, size_t srclen, uint8_t *dst,
                   size_t dstcap, size_t *dstlen);
int zf_zstd_decoded_size(const uint8_t *src, size_t srclen, size_t *size);
int zf_zstd_decode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                   size_t *dstlen);

size_t zf_lz4_encode_bound(size_t srclen);
int zf_lz4_encode(int acceleration, const uint8_t *src, size_t srclen, uint8_t *dst,
                  size_t dstcap, size_t *dstlen);
int zf_lz4_decoded_size(const uint8_t *src, size_t srclen, size_t *size);
int zf_lz4_decode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                  size_t *dstlen);

/* gzip = 0: zlib stream, 1: gzip member(s).
 *
 * Decoding: a zlib stream must end exactly at srclen (ZF_ERR_TRAILING otherwise); gzip
 * members are decoded back to back while the next bytes start one (1f 8b), after the last
 * only zero padding may follow (ZF_ERR_TRAILING otherwise).  Truncated input gives
 * ZF_ERR_TRUNCATED, invalid input (bad header, code, checksum or length) ZF_ERR_CORRUPT,
 * output beyond dstcap ZF_ERR_DST_FULL.  zf_inflate_decode uses libdeflate (a fresh
 * decompressor per call; zf_codec_decode_ctx keeps one in the ctx) and hands any input it
 * fails on (bad, or too large for dstcap) to zf_inflate_decode_zlib, zlib's streamed
 * inflate, whose status is returned; bad input and ZF_ERR_DST_FULL cost that extra pass.
 * The two agree on every input except one: libdeflate (<= 1.14 at least) decodes the
 * reserved fixed-Huffman length symbols 286/287 as length 258 where zlib stops with
 * "invalid literal/length code", so such a stream whose Adler-32/CRC-32 still matches is
 * accepted (when it fits dstcap).  The checksums still guard the output. */
size_t zf_deflate_encode_bound(size_t srclen);
int zf_deflate_encode(int gzip, int level, const uint8_t *src, size_t srclen, uint8_t *dst,
                      size_t dstcap, size_t *dstlen);
int zf_inflate_decode(int gzip, const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                      size_t *dstlen);
int zf_inflate_decode_zlib(int gzip, const uint8_t *src, size_t srclen, uint8_t *dst,
                           size_t dstcap, size_t *dstlen);

/* Version numbers of the linked libraries (for diagnostics). */
unsigned zf_zstd_version(void);
int zf_lz4_version(void);
const char *zf_zlib_version(void);
const char *zf_libdeflate_version(void); /* the libdeflate.h built against */

#endif /* ZF_CODECS_H */
