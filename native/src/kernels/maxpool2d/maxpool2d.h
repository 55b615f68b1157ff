/*
 * maxpool2d: what the kernel files share beyond core/pcnn_internal.h. Not a public header.
 */
#ifndef PCNN_MAXPOOL2D_H
#define PCNN_MAXPOOL2D_H

#include "core/pcnn_internal.h"

/* The scalar backward of one (image, channel) plane (maxpool2d-scalar.c): zero ds, then
 * ds[ind[i]] += dd[i] in output order. Returns 0, ds partly written, at the first index
 * outside [0, ih * iw). The SIMD kernels use it for planes that fit in L1. */
PCNN_INTERNAL int pcnn_maxpool2d_bwd_plane(const pcnn_maxpool2d_desc *d, const float *dd,
                                           const int32_t *ind, float *ds);

#endif /* PCNN_MAXPOOL2D_H */
