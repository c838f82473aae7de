/* zf_ndcopy.h - n-d strided copy and fill kernels for the batch pipeline.
 *
 * Arrays are described by a base pointer, per-dimension element counts and signed byte
 * strides (numpy's model), so slices with steps, negative steps, transposes (permuted
 * strides) and dropped axes are all the same call.  Contiguous dimensions are collapsed
 * and contiguous innermost runs use memcpy.  Plain C, no globals, re-entrant.
 */
#ifndef ZF_NDCOPY_H
#define ZF_NDCOPY_H

#include <stddef.h>
#include <stdint.h>

#define ZF_NDCOPY_MAXDIM 32

/* dst[idx] = src[idx] for every idx < counts.  swap_unit: 0 = plain copy, else reverse the
 * bytes of every swap_unit-byte group of each item (2/4/8; complex uses itemsize/2). */
void zf_ndcopy(int ndim, const size_t *counts, uint8_t *dst, const ptrdiff_t *dst_strides,
               const uint8_t *src, const ptrdiff_t *src_strides, size_t itemsize,
               size_t swap_unit);

/* As zf_ndcopy, but contiguous rows of at least 64 bytes are written with non-temporal
 * (streaming) stores that skip reading the destination lines into the cache first: for
 * scattering chunks into an output much larger than the cache.  Ends with a store fence,
 * so the data is visible to other threads once the pool joins. */
void zf_ndcopy_stream(int ndim, const size_t *counts, uint8_t *dst,
                      const ptrdiff_t *dst_strides, const uint8_t *src,
                      const ptrdiff_t *src_strides, size_t itemsize, size_t swap_unit);

/* As zf_ndcopy, but any dimension may be given by an index list: along dimension d, item i
 * sits at byte offset (dst_idx[d] ? dst_idx[d][i] : i) * dst_strides[d] in dst, and
 * likewise in src (a list of byte offsets has stride 1).  Gathers orthogonal and
 * coordinate selections from a decoded chunk, and scatters them into a chunk on write;
 * src_strides all 0 with no src lists fills with one item. */
void zf_ndcopy_lists(int ndim, const size_t *counts, uint8_t *dst, const ptrdiff_t *dst_strides,
                     const int64_t *const *dst_idx, const uint8_t *src,
                     const ptrdiff_t *src_strides, const int64_t *const *src_idx,
                     size_t itemsize, size_t swap_unit);

/* Order earlier streaming stores before later stores (sfence; no-op without SSE2). */
void zf_stream_fence(void);

/* dst[idx] = pattern (itemsize bytes) for every idx < counts. */
void zf_ndfill(int ndim, const size_t *counts, uint8_t *dst, const ptrdiff_t *dst_strides,
               const uint8_t *pattern, size_t itemsize);

/* Fill a contiguous buffer of n items with the pattern. */
void zf_fill_items(uint8_t *dst, size_t n, const uint8_t *pattern, size_t itemsize);

/* 1 if every itemsize-byte item of buf[0:nbytes] equals pattern, else 0. */
int zf_all_equal(const uint8_t *buf, size_t nbytes, const uint8_t *pattern, size_t itemsize);

#endif /* ZF_NDCOPY_H */
