/*
 * Winograd F(4x4,3x3) backward-weights: shared definitions of the scalar oracle
 * (winograd-bwd-weights-scalar.c) and the AVX2 / AVX-512 kernels (winograd-bwd-weights-simd.h).
 * Not a public header. Formulation and error bound: docs/winograd.md, "Backward-weights".
 */
#ifndef PCNN_WINOGRAD_BWD_WEIGHTS_H
#define PCNN_WINOGRAD_BWD_WEIGHTS_H

#include "kernels/conv2d/winograd.h"

/*
 * dw9[3][3] = G^T M G for one (o, c) from the accumulated products m[36] (6x6, row major),
 * in double with every product taken (so a non-finite m entry makes every output non-finite),
 * rounded once. Returns 1 when an output is not finite (the caller declines: direct serves).
 */
PCNN_INTERNAL int pcnn_wino_bww_finish(const float m[WINO_TT], float *dw9);

/* AUTO rule of the vector kernels (the same for AVX2 and AVX-512). */
PCNN_INTERNAL int pcnn_winograd_bwd_weights_auto_pick(const pcnn_conv2d_desc *d);

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_winograd__scalar(const pcnn_conv2d_desc *d, const float *src,
                                                               const float *diff_dst, float *diff_weights,
                                                               float *diff_bias);

#endif /* PCNN_WINOGRAD_BWD_WEIGHTS_H */
