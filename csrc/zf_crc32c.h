/* zf_crc32c.h - CRC32C (Castagnoli), as used by the Zarr v3 "crc32c" codec. */
#ifndef ZF_CRC32C_H
#define ZF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C: pass crc = 0 to start; the result of one call feeds the next.
 * Uses SSE4.2 when the CPU has it, else a slicing-by-8 table.  Re-entrant. */
uint32_t zf_crc32c_update(uint32_t crc, const uint8_t *data, size_t len);

/* The portable (table) implementation, exposed so tests can compare both paths. */
uint32_t zf_crc32c_update_portable(uint32_t crc, const uint8_t *data, size_t len);

/* 1 if the hardware path is used on this CPU, else 0. */
int zf_crc32c_hw_available(void);

#endif /* ZF_CRC32C_H */
