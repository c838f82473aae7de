/* zf_crc32c.c - CRC32C: SSE4.2 crc32 instruction when present, else slicing-by-8. */
#include "zf_crc32c.h"

#include <string.h>

#include "zf_crc32c_table.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define ZF_CRC32C_X86 1
#include <nmmintrin.h>
#endif

uint32_t zf_crc32c_update_portable(uint32_t crc, const uint8_t *p, size_t len) {
    uint32_t c = ~crc;
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= c;
        c = zf_crc32c_table[7][lo & 0xff] ^ zf_crc32c_table[6][(lo >> 8) & 0xff] ^
            zf_crc32c_table[5][(lo >> 16) & 0xff] ^ zf_crc32c_table[4][lo >> 24] ^
            zf_crc32c_table[3][hi & 0xff] ^ zf_crc32c_table[2][(hi >> 8) & 0xff] ^
            zf_crc32c_table[1][(hi >> 16) & 0xff] ^ zf_crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) {
        c = zf_crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    }
    return ~c;
}

#ifdef ZF_CRC32C_X86
__attribute__((target("sse4.2"))) static uint32_t zf_crc32c_update_sse42(uint32_t crc,
                                                                         const uint8_t *p,
                                                                         size_t len) {
#if defined(__x86_64__)
    uint64_t c = (uint32_t)~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
#else
    uint32_t c32 = ~crc;
#endif
    while (len >= 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        c32 = _mm_crc32_u32(c32, v);
        p += 4;
        len -= 4;
    }
    while (len--) {
        c32 = _mm_crc32_u8(c32, *p++);
    }
    return ~c32;
}
#endif

int zf_crc32c_hw_available(void) {
#ifdef ZF_CRC32C_X86
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    return 0;
#endif
}

uint32_t zf_crc32c_update(uint32_t crc, const uint8_t *data, size_t len) {
#ifdef ZF_CRC32C_X86
    /* __builtin_cpu_supports reads libgcc's CPU model, initialised by a constructor. */
    if (__builtin_cpu_supports("sse4.2")) {
        return zf_crc32c_update_sse42(crc, data, len);
    }
#endif
    return zf_crc32c_update_portable(crc, data, len);
}
