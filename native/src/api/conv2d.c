/*
 * Exported convolution entry points: validate -> dispatch -> kernel.
 * The desc is re-validated on a local copy (its recomputed oh / ow must match the ones the
 * caller passes), so a tampered or uninitialised desc never reaches a kernel.
 */
#include "core/pcnn_internal.h"
#include "core/scratch.h"

static int32_t conv2d_check_desc(const pcnn_conv2d_desc *desc) {
    if (desc == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    pcnn_conv2d_desc copy = *desc;
    const int32_t st = pcnn_conv2d_desc_init(&copy);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    if (copy.oh != desc->oh || copy.ow != desc->ow) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_conv2d_fwd(const pcnn_conv2d_desc *desc, const float *src,
                                 const float *weights, const float *bias, float *dst) {
    if (src == NULL || weights == NULL || dst == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const int32_t st = conv2d_check_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    const int32_t result = pcnn_dispatch_conv2d_fwd(desc, src, weights, bias, dst);
    pcnn_scratch_trim(); /* end of the call: give large scratch back (core/scratch.h) */
    return result;
}

PCNN_API int32_t pcnn_conv2d_bwd_data(const pcnn_conv2d_desc *desc, const float *diff_dst,
                                      const float *weights, float *diff_src) {
    if (diff_dst == NULL || weights == NULL || diff_src == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const int32_t st = conv2d_check_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    const int32_t result = pcnn_dispatch_conv2d_bwd_data(desc, diff_dst, weights, diff_src);
    pcnn_scratch_trim(); /* end of the call: give large scratch back (core/scratch.h) */
    return result;
}

PCNN_API int32_t pcnn_conv2d_bwd_weights(const pcnn_conv2d_desc *desc, const float *src,
                                         const float *diff_dst, float *diff_weights,
                                         float *diff_bias) {
    if (src == NULL || diff_dst == NULL || diff_weights == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const int32_t st = conv2d_check_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    const int32_t result =
        pcnn_dispatch_conv2d_bwd_weights(desc, src, diff_dst, diff_weights, diff_bias);
    pcnn_scratch_trim(); /* end of the call: give large scratch back (core/scratch.h) */
    return result;
}
