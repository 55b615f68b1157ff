/*
 * maxpool2d: what the kernel files share beyond core/pcnn_internal.h. Not a public header.
 */
#ifndef PCNN_MAXPOOL2D_H
#define PCNN_MAXPOOL2D_H

#include "core/pcnn_internal.h"

/* The scalar backward of one (image, channel) plane (maxpool2d-scalar.c): zero ds, then
 * ds[ind[i]] += dd[i] in output order. Returns 0, ds not written, when an index lies
 * outside [0, ih * iw). The SIMD kernels use it for planes that fit in L1. */
PCNN_INTERNAL int pcnn_maxpool2d_bwd_plane(const pcnn_maxpool2d_desc *d, const float *dd,
                                           const int32_t *ind, float *ds);
/* Its zeroing and scatter alone, for indices already checked (the SIMD kernels check them
 * PM_V at a time): one compiled loop for every ISA, so the sums (NaN payloads included) are
 * the scalar kernel's whatever the compiler's operand order. */
PCNN_INTERNAL void pcnn_maxpool2d_bwd_plane_scatter(const pcnn_maxpool2d_desc *d,
                                                    const float *dd, const int32_t *ind,
                                                    float *ds);

/* Backward from the compact mask, output rows [y0, oh) of one plane added into ds (not zeroed
 * here), in row-major output order (maxpool2d-scalar.c). Returns 0 at the first tap >= kh * kw
 * or naming a position outside the input (ds partly written). */
PCNN_INTERNAL int pcnn_maxpool2d_bwd_taps_rows(const pcnn_maxpool2d_desc *d, const float *dd,
                                               const uint8_t *tap, float *ds, int64_t y0);

#endif /* PCNN_MAXPOOL2D_H */
