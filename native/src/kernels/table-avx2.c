#include "../core/pcnn_internal.h"
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights__avx2(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias);
PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd__avx2(const pcnn_maxpool2d_desc *d, const float *src, float *dst, int32_t *indices);
PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd__avx2(const pcnn_maxpool2d_desc *d, const float *diff_dst, const int32_t *indices, float *diff_src);
PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd_taps__avx2(const pcnn_maxpool2d_desc *d, const float *src, float *dst, uint8_t *taps);
PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd_taps__avx2(const pcnn_maxpool2d_desc *d, const float *diff_dst, const uint8_t *taps, float *diff_src);
PCNN_INTERNAL int32_t pcnn_linear_fwd__avx2(int64_t n, int64_t in, int64_t out, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_linear_bwd_data__avx2(int64_t n, int64_t in, int64_t out, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_linear_bwd_weights__avx2(int64_t n, int64_t in, int64_t out, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias);
PCNN_INTERNAL int32_t pcnn_relu_fwd__avx2(int64_t count, const float *src, float *dst);
PCNN_INTERNAL int32_t pcnn_relu_bwd__avx2(int64_t count, const float *dst, const float *diff_dst, float *diff_src);

/* avx2 variants; a NULL entry falls back to the next lower ISA level. */
const pcnn_kernel_table pcnn_kernels_avx2 = {
    .conv2d_fwd = pcnn_conv2d_fwd__avx2,
    .conv2d_bwd_data = pcnn_conv2d_bwd_data__avx2,
    .conv2d_bwd_weights = pcnn_conv2d_bwd_weights__avx2,
    .maxpool2d_fwd = pcnn_maxpool2d_fwd__avx2,
    .maxpool2d_bwd = pcnn_maxpool2d_bwd__avx2,
    .maxpool2d_fwd_taps = pcnn_maxpool2d_fwd_taps__avx2,
    .maxpool2d_bwd_taps = pcnn_maxpool2d_bwd_taps__avx2,
    .linear_fwd = pcnn_linear_fwd__avx2,
    .linear_bwd_data = pcnn_linear_bwd_data__avx2,
    .linear_bwd_weights = pcnn_linear_bwd_weights__avx2,
    .relu_fwd = pcnn_relu_fwd__avx2,
    .relu_bwd = pcnn_relu_bwd__avx2,
};

/* ---- conv2d algorithms at this level, in the order the dispatcher tries them ---- */
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_winograd__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_winograd__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_winograd__avx2(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias);

/* Strided 1x1 (pointwise-avx2.c): the gathered input through this level's direct kernels. */
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_pointwise__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_pointwise__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_pointwise__avx2(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias);

/* Depthwise (depthwise-avx2.c): one (image, channel) plane per task. */
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_depthwise__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_depthwise__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_depthwise__avx2(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias);

/* Dilated stride-1 (dilated-avx2.c): a dense phase frame through this level's direct kernels. */
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated_winograd__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated_winograd__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);

/* Depthwise and Winograd first where their AUTO rules say they pay; direct takes every shape. */
const pcnn_conv2d_algo pcnn_conv2d_algos_avx2[] = {
    {PCNN_ALGO_DEPTHWISE, pcnn_depthwise_supports, pcnn_depthwise_auto_pick,
     pcnn_conv2d_fwd_depthwise__avx2, pcnn_conv2d_bwd_data_depthwise__avx2,
     pcnn_conv2d_bwd_weights_depthwise__avx2},
    {PCNN_ALGO_WINOGRAD, pcnn_winograd_supports, pcnn_winograd_auto_pick_avx2,
     pcnn_conv2d_fwd_winograd__avx2, pcnn_conv2d_bwd_data_winograd__avx2,
     pcnn_conv2d_bwd_weights_winograd__avx2},
    {PCNN_ALGO_POINTWISE, pcnn_pointwise_supports, pcnn_pointwise_auto_pick,
     pcnn_conv2d_fwd_pointwise__avx2, pcnn_conv2d_bwd_data_pointwise__avx2,
     pcnn_conv2d_bwd_weights_pointwise__avx2},
    {PCNN_ALGO_WINOGRAD, pcnn_dilated_winograd_supports, pcnn_dilated_winograd_auto_pick,
     pcnn_conv2d_fwd_dilated_winograd__avx2, pcnn_conv2d_bwd_data_dilated_winograd__avx2, NULL},
    {PCNN_ALGO_DIRECT, pcnn_dilated_supports, NULL, pcnn_conv2d_fwd_dilated__avx2,
     pcnn_conv2d_bwd_data_dilated__avx2, NULL},
    {PCNN_ALGO_DIRECT, NULL, NULL, pcnn_conv2d_fwd__avx2, pcnn_conv2d_bwd_data__avx2,
     pcnn_conv2d_bwd_weights__avx2},
    {0, NULL, NULL, NULL, NULL, NULL},
};
