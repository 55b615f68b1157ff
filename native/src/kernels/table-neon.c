#include "../core/pcnn_internal.h"
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__neon(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__neon(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights__neon(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst, float *diff_weights, float *diff_bias);
PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd__neon(const pcnn_maxpool2d_desc *d, const float *src, float *dst, int32_t *indices);
PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd_taps__neon(const pcnn_maxpool2d_desc *d, const float *src, float *dst, uint8_t *taps);
PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd__neon(const pcnn_maxpool2d_desc *d, const float *diff_dst, const int32_t *indices, float *diff_src);

/* AArch64 NEON variants (PCNN_ISA_NEON); a NULL entry or PCNN_STATUS_UNSUPPORTED falls back
 * to the next lower level that has a table, i.e. scalar. */
const pcnn_kernel_table pcnn_kernels_neon = {
    .conv2d_fwd = pcnn_conv2d_fwd__neon,
    .conv2d_bwd_data = pcnn_conv2d_bwd_data__neon,
    .conv2d_bwd_weights = pcnn_conv2d_bwd_weights__neon,
    .maxpool2d_fwd = pcnn_maxpool2d_fwd__neon,
    .maxpool2d_bwd = pcnn_maxpool2d_bwd__neon,
    .maxpool2d_fwd_taps = pcnn_maxpool2d_fwd_taps__neon, /* bwd_taps: scalar */
};
