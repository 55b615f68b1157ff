/*
 * Depthwise conv2d (groups == c == oc), AVX-512: the plane engine and the entry points
 * (depthwise-plane-simd.h over the shared core depthwise-simd.h); the vector primitives are in
 * depthwise-vec-avx512.h, the other engines in depthwise-{plane-bww,lanes,s2,wsum3}-avx512.c. Geometry and AUTO
 * rule: depthwise-scalar.c.
 */
#include "kernels/conv2d/depthwise-vec-avx512.h"

#define DW_FWD pcnn_conv2d_fwd_depthwise__avx512
#define DW_BWD_DATA pcnn_conv2d_bwd_data_depthwise__avx512
#define DW_BWD_WEIGHTS pcnn_conv2d_bwd_weights_depthwise__avx512

PCNN_INTERNAL int32_t DW_FWD(const pcnn_conv2d_desc *d, const float *src, const float *weights,
                             const float *bias, float *dst);
PCNN_INTERNAL int32_t DW_BWD_DATA(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights,
                                  float *diff_src);
PCNN_INTERNAL int32_t DW_BWD_WEIGHTS(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                                     float *diff_weights, float *diff_bias);

PCNN_INTERNAL __thread int64_t DW_SHIFT_PLANES = 0;

#include "kernels/conv2d/depthwise-simd.h"
#include "kernels/conv2d/depthwise-plane-simd.h"
