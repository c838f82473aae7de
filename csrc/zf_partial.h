/* zf_partial.h - decode only the part of a chunk a read needs.
 *
 * A read that touches part of a chunk stored in C order (no transpose) needs only the
 * decoded bytes [lo, hi), hi = (linear index of the last needed element + 1) * itemsize.
 * LZ codecs cannot skip the start (back-references), but they can stop early: these
 * routines decode the prefix [0, need) of a chunk and leave the rest undecoded.
 */
#ifndef ZF_PARTIAL_H
#define ZF_PARTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "zf_status.h"

/* Returned (positive, not an error) when a prefix decode does not apply to this input:
 * a frame with a content checksum (which can only be verified by decoding everything),
 * or without a declared content size.  The caller decodes the whole chunk instead. */
#define ZF_PARTIAL_FALLBACK 1

/* Decode the prefix of the zstd data src[0:srclen] (one or more frames, as zf_zstd_decode
 * accepts) into dst until at least `need` bytes are produced.  The frames must declare a
 * total content size of exactly dstcap bytes (else ZF_ERR_SIZE_MISMATCH, as a full decode
 * would give) and their block structure must be intact up to the end of the input (else
 * ZF_ERR_TRUNCATED / ZF_ERR_CORRUPT); the blocks are decoded one by one straight into dst
 * (zstd's buffer-less API: no window copy), stopping after the block that reaches `need`.
 * On ZF_OK, dst[0:*produced] is decoded, need <= *produced <= dstcap; never more than
 * dstcap bytes are written.  *dctx_slot holds a ZSTD_DCtx reused across calls (created
 * when NULL, the caller frees it; zf_codec_ctx.zstd_d is such a slot).  Returns
 * ZF_PARTIAL_FALLBACK (see above) without writing dst. */
int zf_zstd_decode_prefix(void **dctx_slot, const uint8_t *src, size_t srclen, uint8_t *dst,
                          size_t dstcap, size_t need, size_t *produced);

#endif /* ZF_PARTIAL_H */
