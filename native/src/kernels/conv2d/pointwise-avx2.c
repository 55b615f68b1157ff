/*
 * Strided 1x1 convolution ("pointwise" algorithm), avx2 entry points: the gather / scatter
 * driver of pointwise-scalar.c around this level's direct kernels, which run the gathered
 * stride-1 1x1 problem as a GEMM (conv2d-direct.h's pointwise tiles). See pointwise.h.
 */
#include "kernels/conv2d/pointwise.h"

PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx2(const pcnn_conv2d_desc *d, const float *src,
                                              const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__avx2(const pcnn_conv2d_desc *d, const float *diff_dst,
                                                   const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights__avx2(const pcnn_conv2d_desc *d, const float *src,
                                                      const float *diff_dst, float *diff_weights,
                                                      float *diff_bias);

/* The plane copies, compiled with this level's flags (vectorised by the compiler). */
static void gather_plane(const pcnn_conv2d_desc *d, const float *in, float *out) {
    pcnn_pointwise_gather_plane(d, in, out);
}

static void scatter_plane(const pcnn_conv2d_desc *d, float *out, const float *in) {
    pcnn_pointwise_scatter_plane(d, out, in);
}

static const pcnn_pointwise_inner inner = {pcnn_conv2d_fwd__avx2, pcnn_conv2d_bwd_data__avx2,
                                           pcnn_conv2d_bwd_weights__avx2, gather_plane,
                                           scatter_plane};

PCNN_INTERNAL int32_t pcnn_conv2d_fwd_pointwise__avx2(const pcnn_conv2d_desc *d, const float *src,
                                                        const float *weights, const float *bias,
                                                        float *dst) {
    return pcnn_pointwise_fwd(&inner, d, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_pointwise__avx2(const pcnn_conv2d_desc *d,
                                                             const float *diff_dst,
                                                             const float *weights,
                                                             float *diff_src) {
    return pcnn_pointwise_bwd_data(&inner, d, diff_dst, weights, diff_src);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_pointwise__avx2(const pcnn_conv2d_desc *d,
                                                                const float *src,
                                                                const float *diff_dst,
                                                                float *diff_weights,
                                                                float *diff_bias) {
    return pcnn_pointwise_bwd_weights(&inner, d, src, diff_dst, diff_weights, diff_bias);
}
