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

/* ------------------------------------------------------------------ shuffles
 *
 * Byte shuffle is a transpose of the block seen as an n x ts byte matrix (n elements of
 * ts bytes) into ts streams of n bytes.  For ts = 2, 4, 8 and 16 it runs on SIMD tiles of
 * 16 elements (SSE2, always present on x86-64) or 32 elements (AVX2, chosen at run time);
 * other typesizes, the elements after the last whole tile and other architectures use the
 * scalar loops.  All paths produce identical bytes.
 *
 * The SIMD transpose: with nv vectors v[0..nv) of 16 bytes, one "round" replaces them by
 * unpacklo/unpackhi_epi8(v[k], v[k + nv/2]) for k < nv/2, which rotates the bit index of
 * every byte (vector bits : byte bits) left by one.  Transposing an R x C byte matrix held
 * in the vectors is a left rotation by log2(R), so unshuffle (ts x 16 -> 16 x ts) takes
 * log2(ts) rounds and shuffle (16 x ts -> ts x 16) takes 4 rounds.  AVX2 unpacks work on
 * each 128-bit lane separately, so each lane carries its own 16-element tile. */

/* Scalar shuffle/unshuffle of elements [i0, n) of a block of n elements. */
static void zf_shuffle_scalar(size_t ts, size_t n, size_t i0, const uint8_t *src,
                              uint8_t *dst) {
    for (size_t j = 0; j < ts; j++) {
        uint8_t *out = dst + j * n;
        const uint8_t *in = src + j;
        for (size_t i = i0; i < n; i++) out[i] = in[i * ts];
    }
}

static void zf_unshuffle_scalar(size_t ts, size_t n, size_t i0, const uint8_t *src,
                                uint8_t *dst) {
    for (size_t j = 0; j < ts; j++) {
        const uint8_t *in = src + j * n;
        uint8_t *out = dst + j;
        for (size_t i = i0; i < n; i++) out[i * ts] = in[i];
    }
}

/* -DZF_NO_SIMD builds the portable paths only (to test them on x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(ZF_NO_SIMD)
#define ZF_HAVE_X86_SIMD 1
#include <immintrin.h>

#define ZF_INLINE static inline __attribute__((always_inline))
#define ZF_AVX2 __attribute__((target("avx2")))

/* Runtime check, not cached: reading libgcc's cpu model is cheaper than a block.
 * -DZF_NO_AVX2 keeps the SSE2 paths (to test them on AVX2 machines). */
static int zf_have_avx2(void) {
#ifdef ZF_NO_AVX2
    return 0;
#else
    return __builtin_cpu_supports("avx2") != 0;
#endif
}

ZF_INLINE void zf_round_sse2(__m128i *v, size_t nv) {
    __m128i t[16];
    for (size_t k = 0; k < nv / 2; k++) {
        t[2 * k] = _mm_unpacklo_epi8(v[k], v[k + nv / 2]);
        t[2 * k + 1] = _mm_unpackhi_epi8(v[k], v[k + nv / 2]);
    }
    for (size_t k = 0; k < nv; k++) v[k] = t[k];
}

/* ts in {2, 4, 8, 16} (a constant after inlining); returns the elements done. */
ZF_INLINE size_t zf_unshuffle_sse2_ts(size_t ts, size_t n, const uint8_t *src,
                                      uint8_t *dst) {
    size_t end = n / 16 * 16;
    for (size_t i = 0; i < end; i += 16) {
        __m128i v[16];
        /* i + 16 <= n: each load reads bytes [i, i+16) of stream j, inside the block. */
        for (size_t j = 0; j < ts; j++)
            v[j] = _mm_loadu_si128((const __m128i *)(src + j * n + i));
        for (size_t r = 1; r < ts; r *= 2) zf_round_sse2(v, ts);
        /* 16 * ts bytes at element i: [i*ts, (i+16)*ts) <= n*ts, inside the block. */
        for (size_t k = 0; k < ts; k++)
            _mm_storeu_si128((__m128i *)(dst + i * ts + 16 * k), v[k]);
    }
    return end;
}

ZF_INLINE size_t zf_shuffle_sse2_ts(size_t ts, size_t n, const uint8_t *src, uint8_t *dst) {
    size_t end = n / 16 * 16;
    for (size_t i = 0; i < end; i += 16) {
        __m128i v[16];
        /* Bytes [i*ts, (i+16)*ts) of the source block, (i+16)*ts <= n*ts. */
        for (size_t k = 0; k < ts; k++)
            v[k] = _mm_loadu_si128((const __m128i *)(src + i * ts + 16 * k));
        for (int r = 0; r < 4; r++) zf_round_sse2(v, ts);
        /* Bytes [i, i+16) of stream j, inside the block. */
        for (size_t j = 0; j < ts; j++)
            _mm_storeu_si128((__m128i *)(dst + j * n + i), v[j]);
    }
    return end;
}

static size_t zf_unshuffle_sse2(size_t ts, size_t n, const uint8_t *src, uint8_t *dst) {
    switch (ts) {
    case 2: return zf_unshuffle_sse2_ts(2, n, src, dst);
    case 4: return zf_unshuffle_sse2_ts(4, n, src, dst);
    case 8: return zf_unshuffle_sse2_ts(8, n, src, dst);
    case 16: return zf_unshuffle_sse2_ts(16, n, src, dst);
    default: return 0;
    }
}

static size_t zf_shuffle_sse2(size_t ts, size_t n, const uint8_t *src, uint8_t *dst) {
    switch (ts) {
    case 2: return zf_shuffle_sse2_ts(2, n, src, dst);
    case 4: return zf_shuffle_sse2_ts(4, n, src, dst);
    case 8: return zf_shuffle_sse2_ts(8, n, src, dst);
    case 16: return zf_shuffle_sse2_ts(16, n, src, dst);
    default: return 0;
    }
}

ZF_AVX2 ZF_INLINE void zf_round_avx2(__m256i *v, size_t nv) {
    __m256i t[16];
    for (size_t k = 0; k < nv / 2; k++) {
        t[2 * k] = _mm256_unpacklo_epi8(v[k], v[k + nv / 2]);
        t[2 * k + 1] = _mm256_unpackhi_epi8(v[k], v[k + nv / 2]);
    }
    for (size_t k = 0; k < nv; k++) v[k] = t[k];
}

/* 32-element tiles: lane 0 of every vector holds elements [i, i+16), lane 1 [i+16, i+32). */
ZF_AVX2 ZF_INLINE size_t zf_unshuffle_avx2_ts(size_t ts, size_t n, const uint8_t *src,
                                              uint8_t *dst) {
    size_t end = n / 32 * 32;
    for (size_t i = 0; i < end; i += 32) {
        __m256i v[16];
        /* i + 32 <= n: bytes [i, i+32) of stream j, inside the block. */
        for (size_t j = 0; j < ts; j++)
            v[j] = _mm256_loadu_si256((const __m256i *)(src + j * n + i));
        for (size_t r = 1; r < ts; r *= 2) zf_round_avx2(v, ts);
        /* Lane 0s are the output of elements [i, i+16), lane 1s of [i+16, i+32): 32 * ts
         * bytes at i*ts, (i+32)*ts <= n*ts. */
        for (size_t k = 0; k < ts; k += 2) {
            __m256i a = _mm256_permute2x128_si256(v[k], v[k + 1], 0x20);
            __m256i b = _mm256_permute2x128_si256(v[k], v[k + 1], 0x31);
            _mm256_storeu_si256((__m256i *)(dst + i * ts + 16 * k), a);
            _mm256_storeu_si256((__m256i *)(dst + (i + 16) * ts + 16 * k), b);
        }
    }
    return end;
}

ZF_AVX2 ZF_INLINE size_t zf_shuffle_avx2_ts(size_t ts, size_t n, const uint8_t *src,
                                            uint8_t *dst) {
    size_t end = n / 32 * 32;
    for (size_t i = 0; i < end; i += 32) {
        __m256i u[16], v[16];
        /* Bytes [i*ts, (i+32)*ts) of the source block, (i+32)*ts <= n*ts. */
        for (size_t m = 0; m < ts; m++)
            u[m] = _mm256_loadu_si256((const __m256i *)(src + i * ts + 32 * m));
        /* 16-byte piece p of the tile is lane p%2 of u[p/2]; v[k] gets piece k (elements
         * [i, i+16)) in lane 0 and piece ts+k (elements [i+16, i+32)) in lane 1. */
        for (size_t k = 0; k < ts; k += 2) {
            v[k] = _mm256_permute2x128_si256(u[k / 2], u[ts / 2 + k / 2], 0x20);
            v[k + 1] = _mm256_permute2x128_si256(u[k / 2], u[ts / 2 + k / 2], 0x31);
        }
        for (int r = 0; r < 4; r++) zf_round_avx2(v, ts);
        /* Bytes [i, i+32) of stream j, inside the block. */
        for (size_t j = 0; j < ts; j++)
            _mm256_storeu_si256((__m256i *)(dst + j * n + i), v[j]);
    }
    return end;
}

ZF_AVX2 static size_t zf_unshuffle_avx2(size_t ts, size_t n, const uint8_t *src,
                                        uint8_t *dst) {
    switch (ts) {
    case 2: return zf_unshuffle_avx2_ts(2, n, src, dst);
    case 4: return zf_unshuffle_avx2_ts(4, n, src, dst);
    case 8: return zf_unshuffle_avx2_ts(8, n, src, dst);
    case 16: return zf_unshuffle_avx2_ts(16, n, src, dst);
    default: return 0;
    }
}

ZF_AVX2 static size_t zf_shuffle_avx2(size_t ts, size_t n, const uint8_t *src,
                                      uint8_t *dst) {
    switch (ts) {
    case 2: return zf_shuffle_avx2_ts(2, n, src, dst);
    case 4: return zf_shuffle_avx2_ts(4, n, src, dst);
    case 8: return zf_shuffle_avx2_ts(8, n, src, dst);
    case 16: return zf_shuffle_avx2_ts(16, n, src, dst);
    default: return 0;
    }
}
#endif /* x86-64 SIMD */

/* Elements [0, returned) done by the fastest available SIMD kernel (0: none applies). */
static size_t zf_shuffle_fast(int inverse, size_t ts, size_t n, const uint8_t *src,
                              uint8_t *dst) {
#ifdef ZF_HAVE_X86_SIMD
    if (ts == 2 || ts == 4 || ts == 8 || ts == 16) {
        if (zf_have_avx2())
            return inverse ? zf_unshuffle_avx2(ts, n, src, dst)
                           : zf_shuffle_avx2(ts, n, src, dst);
        return inverse ? zf_unshuffle_sse2(ts, n, src, dst) : zf_shuffle_sse2(ts, n, src, dst);
    }
#else
    (void)inverse;
    (void)ts;
    (void)n;
    (void)src;
    (void)dst;
#endif
    return 0;
}

void zf_blosc_shuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    size_t n = blocksize / ts;
    size_t done = zf_shuffle_fast(0, ts, n, src, dst);
    zf_shuffle_scalar(ts, n, done, src, dst);
    memcpy(dst + n * ts, src + n * ts, blocksize - n * ts);
}

void zf_blosc_unshuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    size_t n = blocksize / ts;
    size_t done = zf_shuffle_fast(1, ts, n, src, dst);
    zf_unshuffle_scalar(ts, n, done, src, dst);
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

/* Reference bitshuffle, straight from the layout definition (used when no scratch buffer
 * can be had).  Output layout (as bitshuffle/blosc): row (j * 8 + k) of n/8 bytes holds
 * bit k of byte j of every element, element i at bit (i % 8) of byte i / 8 of the row. */
static void zf_bitshuffle_scalar(size_t ts, size_t n, const uint8_t *src, uint8_t *dst) {
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
}

static void zf_bitunshuffle_scalar(size_t ts, size_t n, const uint8_t *src, uint8_t *dst) {
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
}

/* zf_trans_bit_8x8 on each 8-byte group of src[0, len) into dst (len % 8 == 0; dst == src
 * allowed). */
static void zf_trans_bit_groups_scalar(const uint8_t *src, uint8_t *dst, size_t len) {
    for (size_t g = 0; g < len; g += 8) {
        uint64_t x = 0;
        for (int m = 0; m < 8; m++) x |= (uint64_t)src[g + (size_t)m] << (8 * m);
        x = zf_trans_bit_8x8(x);
        for (int m = 0; m < 8; m++) dst[g + (size_t)m] = (uint8_t)(x >> (8 * m));
    }
}

#ifdef ZF_HAVE_X86_SIMD
/* The same transpose on every 64-bit lane (x86 is little endian: byte m at bits 8m). */
#define ZF_TRANS_BIT_STEP(P, W, x, t, s, mask)                                               \
    do {                                                                                     \
        t = P##_and_si##W(P##_xor_si##W(x, P##_srli_epi64(x, s)), mask);                     \
        x = P##_xor_si##W(P##_xor_si##W(x, t), P##_slli_epi64(t, s));                        \
    } while (0)

static size_t zf_trans_bit_groups_sse2(const uint8_t *src, uint8_t *dst, size_t len) {
    const __m128i m1 = _mm_set1_epi64x(0x00AA00AA00AA00AALL);
    const __m128i m2 = _mm_set1_epi64x(0x0000CCCC0000CCCCLL);
    const __m128i m3 = _mm_set1_epi64x(0x00000000F0F0F0F0LL);
    size_t end = len / 16 * 16;
    for (size_t g = 0; g < end; g += 16) {
        /* g + 16 <= len: bytes [g, g+16) of src and dst. */
        __m128i x = _mm_loadu_si128((const __m128i *)(src + g)), t;
        ZF_TRANS_BIT_STEP(_mm, 128, x, t, 7, m1);
        ZF_TRANS_BIT_STEP(_mm, 128, x, t, 14, m2);
        ZF_TRANS_BIT_STEP(_mm, 128, x, t, 28, m3);
        _mm_storeu_si128((__m128i *)(dst + g), x);
    }
    return end;
}

ZF_AVX2 static size_t zf_trans_bit_groups_avx2(const uint8_t *src, uint8_t *dst,
                                               size_t len) {
    const __m256i m1 = _mm256_set1_epi64x(0x00AA00AA00AA00AALL);
    const __m256i m2 = _mm256_set1_epi64x(0x0000CCCC0000CCCCLL);
    const __m256i m3 = _mm256_set1_epi64x(0x00000000F0F0F0F0LL);
    size_t end = len / 32 * 32;
    for (size_t g = 0; g < end; g += 32) {
        /* g + 32 <= len: bytes [g, g+32) of src and dst. */
        __m256i x = _mm256_loadu_si256((const __m256i *)(src + g)), t;
        ZF_TRANS_BIT_STEP(_mm256, 256, x, t, 7, m1);
        ZF_TRANS_BIT_STEP(_mm256, 256, x, t, 14, m2);
        ZF_TRANS_BIT_STEP(_mm256, 256, x, t, 28, m3);
        _mm256_storeu_si256((__m256i *)(dst + g), x);
    }
    return end;
}
#endif

static void zf_trans_bit_groups(const uint8_t *src, uint8_t *dst, size_t len) {
    size_t done = 0;
#ifdef ZF_HAVE_X86_SIMD
    done = zf_have_avx2() ? zf_trans_bit_groups_avx2(src, dst, len)
                          : zf_trans_bit_groups_sse2(src, dst, len);
#endif
    zf_trans_bit_groups_scalar(src + done, dst + done, len - done);
}

/* Bitshuffle as three passes that all have SIMD paths: byte shuffle into ts streams of n
 * bytes, a bit transpose of each 8-byte group (8 elements x 8 bits), then a byte shuffle
 * (typesize 8) of each stream's n/8 groups into its 8 rows.  scratch: n * ts bytes. */
static void zf_bitshuffle_fast(size_t ts, size_t n, const uint8_t *src, uint8_t *dst,
                               uint8_t *scratch) {
    size_t len = n * ts;
    if (ts > 1) {
        zf_blosc_shuffle(ts, len, src, dst);
        zf_trans_bit_groups(dst, scratch, len);
    } else {
        zf_trans_bit_groups(src, scratch, len);
    }
    for (size_t j = 0; j < ts; j++) zf_blosc_shuffle(8, n, scratch + j * n, dst + j * n);
}

/* src == dst allowed: src is read completely (first pass) before dst is written. */
static void zf_bitunshuffle_fast(size_t ts, size_t n, const uint8_t *src, uint8_t *dst,
                                 uint8_t *scratch) {
    size_t len = n * ts;
    for (size_t j = 0; j < ts; j++) zf_blosc_unshuffle(8, n, src + j * n, scratch + j * n);
    if (ts > 1) {
        zf_trans_bit_groups(scratch, scratch, len);
        zf_blosc_unshuffle(ts, len, scratch, dst);
    } else {
        zf_trans_bit_groups(scratch, dst, len);
    }
}

/* One block; scratch (>= blocksize bytes) or NULL (then allocated, or the reference loop
 * if that fails).  The inverse with a scratch buffer may run in place (src == dst). */
static void zf_bitshuffle_block(int inverse, size_t ts, size_t blocksize, const uint8_t *src,
                                uint8_t *dst, uint8_t *scratch) {
    size_t n = blocksize / ts;
    if (n % 8 != 0) {
        if (dst != src) memcpy(dst, src, blocksize);
        return;
    }
    uint8_t *own = NULL;
    /* A fresh n * ts byte buffer, freed below; NULL selects the reference loops. */
    if (!scratch && n > 0) scratch = own = (uint8_t *)malloc(n * ts);
    if (scratch) {
        if (inverse) zf_bitunshuffle_fast(ts, n, src, dst, scratch);
        else zf_bitshuffle_fast(ts, n, src, dst, scratch);
    } else if (inverse) {
        zf_bitunshuffle_scalar(ts, n, src, dst);
    } else {
        zf_bitshuffle_scalar(ts, n, src, dst);
    }
    free(own);
    if (dst != src) memcpy(dst + n * ts, src + n * ts, blocksize - n * ts);
}

void zf_blosc_bitshuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    zf_bitshuffle_block(0, ts, blocksize, src, dst, NULL);
}

void zf_blosc_bitunshuffle(size_t ts, size_t blocksize, const uint8_t *src, uint8_t *dst) {
    zf_bitshuffle_block(1, ts, blocksize, src, dst, NULL);
}

/* ------------------------------------------------------------------ encoder */
static int zf_is_hcr(int compressor) {
    return compressor == ZF_BLOSC_LZ4HC || compressor == ZF_BLOSC_ZLIB ||
           compressor == ZF_BLOSC_ZSTD;
}

/* Our block size policy: small blocks for fast codecs, larger for high-ratio codecs,
 * growing with clevel (any size is valid for readers; this only trades speed/ratio).
 * Fast codecs at clevel 4-5 use 128 KiB, as c-blosc1 does before its typesize scaling:
 * against 64 KiB it decoded lz4+shuffle chunks 1.0-1.3x faster (up to 4x on data that
 * ends up stored raw) with equal or better ratio on every data set we tried. */
static size_t zf_compute_blocksize(int compressor, int clevel, size_t ts, size_t nbytes,
                                   size_t forced) {
    size_t bs;
    if (nbytes < ts) return 1;
    if (forced) {
        bs = forced < ZF_MIN_BUFFERSIZE ? ZF_MIN_BUFFERSIZE : forced;
    } else {
        static const int fast_kb[10] = {32, 32, 32, 32, 128, 128, 128, 256, 256, 512};
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
    /* tmp: the shuffled block; bitshuffle also needs a second block of scratch. */
    uint8_t *tmp = NULL;
    if (fits && shuffle != ZF_BLOSC_NOSHUFFLE) {
        tmp = (uint8_t *)malloc(shuffle == ZF_BLOSC_BITSHUFFLE ? 2 * bs : bs);
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
            zf_bitshuffle_block(0, typesize, bsize, blk, tmp, tmp + bs);
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
    /* tmp: one block.  Byte-shuffled blocks are decompressed into it and unshuffled
     * into dst (one write of dst); bitshuffled blocks are decompressed into dst and tmp is
     * the scratch of the in-place bitunshuffle.  bs <= n <= INT32_MAX. */
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
        uint8_t *out = doshuffle ? tmp : dst + b * bs;
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
        else if (dobitshuffle) zf_bitshuffle_block(1, ts, bsize, out, out, tmp);
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
