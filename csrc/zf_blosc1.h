/* zf_blosc1.h - Blosc chunks: classic Blosc1 (format version 2) encoder, libblosc2 decoder.
 *
 * Why our own encoder: libblosc2 writes chunk format 5/6 (32-byte extended header), which
 * c-blosc1 - used by numcodecs, zarr-python, tensorstore and zarrs - cannot read.  So we
 * write the 16-byte-header format every reader understands:
 *
 *   0  u8  version (2)             8  i32 blocksize
 *   1  u8  versionlz (1)          12  i32 cbytes (total size, header included)
 *   2  u8  flags                  16  i32 bstarts[nblocks] (offset of each block)
 *   3  u8  typesize                    then per block 1 or `typesize` streams:
 *   4  i32 nbytes (decoded size)           i32 csize + data (csize == stream size: raw)
 *
 * flags: 0x01 byte-shuffle, 0x02 memcpyed (header + raw data), 0x04 bitshuffle,
 * 0x10 don't split, bits 5-7 compressor format (0 blosclz, 1 lz4/lz4hc, 3 zlib, 4 zstd).
 * All integers little endian.
 *
 * Decoding: chunks in format <= 2 (all c-blosc1 output) use our own bounds-checked decoder
 * (libblosc2 3.3.5 silently mis-decodes some valid c-blosc1 bitshuffle chunks); formats >= 3
 * (libblosc2 output) go through libblosc2 with a private single-threaded context.
 */
#ifndef ZF_BLOSC1_H
#define ZF_BLOSC1_H

#include <stddef.h>
#include <stdint.h>

/* Compressor codes (our own numbering, also used in NativeCodecSpec params). */
enum {
    ZF_BLOSC_BLOSCLZ = 0,
    ZF_BLOSC_LZ4 = 1,
    ZF_BLOSC_LZ4HC = 2,
    ZF_BLOSC_ZLIB = 4,
    ZF_BLOSC_ZSTD = 5
};

/* Shuffle modes, numbered as in numcodecs/blosc. */
enum { ZF_BLOSC_NOSHUFFLE = 0, ZF_BLOSC_SHUFFLE = 1, ZF_BLOSC_BITSHUFFLE = 2 };

#define ZF_BLOSC1_HEADER 16
/* Largest nbytes a Blosc1 chunk can hold. */
#define ZF_BLOSC1_MAX_NBYTES ((size_t)(2147483647 - ZF_BLOSC1_HEADER))

/* Destination capacity that always suffices for zf_blosc1_encode. */
size_t zf_blosc1_encode_bound(size_t srclen);

/* Encode src into dst (capacity dstcap >= zf_blosc1_encode_bound(srclen)).
 * compressor: ZF_BLOSC_*; clevel 0..9; shuffle ZF_BLOSC_*SHUFFLE; typesize >= 1 (values
 * above 255 are treated as 1, as c-blosc does); blocksize 0 = automatic.
 * Allocates one temporary block buffer (two with bitshuffle).  Re-entrant; single
 * threaded. */
int zf_blosc1_encode(int compressor, int clevel, int shuffle, size_t typesize, size_t blocksize,
                     const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                     size_t *dstlen);

/* Validate the header of a Blosc chunk (any format version) against the input length and
 * report its decoded size.  Never reads past src[srclen). */
int zf_blosc_decoded_size(const uint8_t *src, size_t srclen, size_t *nbytes);

/* Decode a Blosc chunk of any format (see above for which decoder handles which).
 * Fails with ZF_ERR_DST_FULL if the declared size exceeds dstcap; never writes past it. */
int zf_blosc_decode(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
                    size_t *dstlen);

/* Byte shuffle / unshuffle of one block as Blosc does it (leftover bytes copied as is).
 * SIMD for typesize 2, 4, 8 and 16 on x86-64 (SSE2, or AVX2 when the CPU has it). */
void zf_blosc_shuffle(size_t typesize, size_t blocksize, const uint8_t *src, uint8_t *dst);
void zf_blosc_unshuffle(size_t typesize, size_t blocksize, const uint8_t *src, uint8_t *dst);

/* Bitshuffle of one block, Blosc format version 2 rules: applied when the number of
 * elements is a multiple of 8 (leftover bytes copied), else the block is copied as is.
 * Allocates a blocksize scratch buffer for the SIMD passes (the encoder and decoder pass
 * their own); if that fails, falls back to a slower loop with the same result. */
void zf_blosc_bitshuffle(size_t typesize, size_t blocksize, const uint8_t *src, uint8_t *dst);
void zf_blosc_bitunshuffle(size_t typesize, size_t blocksize, const uint8_t *src,
                           uint8_t *dst);

#endif /* ZF_BLOSC1_H */
