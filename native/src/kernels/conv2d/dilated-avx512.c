/*
 * Dilated stride-1 convolution, avx512 entry points: the phase-frame driver of dilated-scalar.c
 * around this level's direct kernels, which run the framed problem undilated, unpadded and
 * stride 1 (their fastest, in-place path). Why and how: dilated.h.
 */
#include "kernels/conv2d/dilated.h"

PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx512(const pcnn_conv2d_desc *d, const float *src,
                                              const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__avx512(const pcnn_conv2d_desc *d, const float *diff_dst,
                                                   const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_winograd__avx512(const pcnn_conv2d_desc *d, const float *src,
                                                     const float *weights, const float *bias,
                                                     float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_winograd__avx512(const pcnn_conv2d_desc *d,
                                                          const float *diff_dst,
                                                          const float *weights, float *diff_src);

static const pcnn_dilated_inner inner_winograd = {pcnn_conv2d_fwd_winograd__avx512,
                                                  pcnn_conv2d_bwd_data_winograd__avx512};

static const pcnn_dilated_inner inner = {pcnn_conv2d_fwd__avx512, pcnn_conv2d_bwd_data__avx512};

PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated__avx512(const pcnn_conv2d_desc *d, const float *src,
                                                      const float *weights, const float *bias,
                                                      float *dst) {
    return pcnn_dilated_fwd(&inner, d, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated__avx512(const pcnn_conv2d_desc *d,
                                                           const float *diff_dst,
                                                           const float *weights, float *diff_src) {
    return pcnn_dilated_bwd_data(&inner, d, diff_dst, weights, diff_src);
}

/* The same frame through this level's Winograd kernels (AUTO only: dilated-scalar.c). */
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated_winograd__avx512(const pcnn_conv2d_desc *d,
                                                             const float *src,
                                                             const float *weights,
                                                             const float *bias, float *dst) {
    return pcnn_dilated_fwd(&inner_winograd, d, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated_winograd__avx512(const pcnn_conv2d_desc *d,
                                                                  const float *diff_dst,
                                                                  const float *weights,
                                                                  float *diff_src) {
    return pcnn_dilated_bwd_data(&inner_winograd, d, diff_dst, weights, diff_src);
}
