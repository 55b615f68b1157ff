/*
 * Conv2d goes through the algorithm-aware dispatch of conv2d_algo.c.
 * Dispatch: the active ISA level's kernel first; a NULL entry or PCNN_STATUS_UNSUPPORTED
 * falls through to the next lower level, ending at scalar (which accepts everything).
 */
#include "core/pcnn_internal.h"

#define PCNN_DISPATCH(entry, ...) PCNN_DISPATCH_FROM(pcnn_isa_active(), entry, __VA_ARGS__)

#define PCNN_DISPATCH_FROM(top, entry, ...)                                        \
    do {                                                                           \
        for (int32_t level = (top); level >= PCNN_ISA_SCALAR; --level) {           \
            const pcnn_kernel_table *table = pcnn_kernel_table_for(level);         \
            if (table == NULL || table->entry == NULL) {                           \
                continue;                                                          \
            }                                                                      \
            const int32_t status = table->entry(__VA_ARGS__);                      \
            if (status != PCNN_STATUS_UNSUPPORTED) {                               \
                if (status == PCNN_STATUS_OK) {                                    \
                    pcnn_record_served(PCNN_ALGO_DIRECT, level);                   \
                }                                                                  \
                return status;                                                     \
            }                                                                      \
        }                                                                          \
        return PCNN_STATUS_INTERNAL; /* no level, not even scalar, took it */       \
    } while (0)

PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_fwd(const pcnn_conv2d_desc *d, const float *src,
                                               const float *weights, const float *bias,
                                               float *dst) {
    return pcnn_dispatch_conv2d_algo_fwd(d, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_bwd_data(const pcnn_conv2d_desc *d,
                                                    const float *diff_dst, const float *weights,
                                                    float *diff_src) {
    return pcnn_dispatch_conv2d_algo_bwd_data(d, diff_dst, weights, diff_src);
}

PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_bwd_weights(const pcnn_conv2d_desc *d,
                                                       const float *src, const float *diff_dst,
                                                       float *diff_weights, float *diff_bias) {
    return pcnn_dispatch_conv2d_algo_bwd_weights(d, src, diff_dst, diff_weights, diff_bias);
}

/* extreme strides / dilations: scalar only (pcnn_internal.h) */
static int32_t pool_top_level(const pcnn_maxpool2d_desc *d) {
    return pcnn_vector_geometry_ok(d->stride_h, d->stride_w, d->dilation_h, d->dilation_w)
               ? pcnn_isa_active()
               : PCNN_ISA_SCALAR;
}

PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_fwd(const pcnn_maxpool2d_desc *d,
                                                  const float *src, float *dst,
                                                  int32_t *indices) {
    PCNN_DISPATCH_FROM(pool_top_level(d), maxpool2d_fwd, d, src, dst, indices);
}

PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_bwd(const pcnn_maxpool2d_desc *d,
                                                  const float *diff_dst, const int32_t *indices,
                                                  float *diff_src) {
    PCNN_DISPATCH_FROM(pool_top_level(d), maxpool2d_bwd, d, diff_dst, indices, diff_src);
}

PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_fwd_taps(const pcnn_maxpool2d_desc *d,
                                                       const float *src, float *dst,
                                                       uint8_t *taps) {
    PCNN_DISPATCH_FROM(pool_top_level(d), maxpool2d_fwd_taps, d, src, dst, taps);
}

PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_bwd_taps(const pcnn_maxpool2d_desc *d,
                                                       const float *diff_dst,
                                                       const uint8_t *taps, float *diff_src) {
    PCNN_DISPATCH_FROM(pool_top_level(d), maxpool2d_bwd_taps, d, diff_dst, taps, diff_src);
}

PCNN_INTERNAL int32_t pcnn_dispatch_linear_fwd(int64_t n, int64_t in, int64_t out,
                                               const float *src, const float *weights,
                                               const float *bias, float *dst) {
    PCNN_DISPATCH(linear_fwd, n, in, out, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_dispatch_linear_bwd_data(int64_t n, int64_t in, int64_t out,
                                                    const float *diff_dst, const float *weights,
                                                    float *diff_src) {
    PCNN_DISPATCH(linear_bwd_data, n, in, out, diff_dst, weights, diff_src);
}

PCNN_INTERNAL int32_t pcnn_dispatch_linear_bwd_weights(int64_t n, int64_t in, int64_t out,
                                                       const float *src, const float *diff_dst,
                                                       float *diff_weights, float *diff_bias) {
    PCNN_DISPATCH(linear_bwd_weights, n, in, out, src, diff_dst, diff_weights, diff_bias);
}

PCNN_INTERNAL int32_t pcnn_dispatch_relu_fwd(int64_t count, const float *src, float *dst) {
    PCNN_DISPATCH(relu_fwd, count, src, dst);
}

PCNN_INTERNAL int32_t pcnn_dispatch_relu_bwd(int64_t count, const float *dst,
                                             const float *diff_dst, float *diff_src) {
    PCNN_DISPATCH(relu_bwd, count, dst, diff_dst, diff_src);
}
