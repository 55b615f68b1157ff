/*
 * Exported max-pooling entry points: validate -> dispatch -> kernel.
 * The desc is re-validated on a local copy (its recomputed oh / ow must match).
 */
#include "core/pcnn_internal.h"

static int32_t maxpool2d_check_desc(const pcnn_maxpool2d_desc *desc) {
    if (desc == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    pcnn_maxpool2d_desc copy = *desc;
    const int32_t st = pcnn_maxpool2d_desc_init(&copy);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    if (copy.oh != desc->oh || copy.ow != desc->ow) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_maxpool2d_fwd(const pcnn_maxpool2d_desc *desc, const float *src,
                                    float *dst, int32_t *indices) {
    if (src == NULL || dst == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const int32_t st = maxpool2d_check_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    return pcnn_dispatch_maxpool2d_fwd(desc, src, dst, indices);
}

PCNN_API int32_t pcnn_maxpool2d_bwd(const pcnn_maxpool2d_desc *desc, const float *diff_dst,
                                    const int32_t *indices, float *diff_src) {
    if (diff_dst == NULL || indices == NULL || diff_src == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const int32_t st = maxpool2d_check_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    return pcnn_dispatch_maxpool2d_bwd(desc, diff_dst, indices, diff_src);
}

/* The compact mask needs every tap number to fit one byte. */
static int32_t maxpool2d_check_taps_desc(const pcnn_maxpool2d_desc *desc) {
    const int32_t st = maxpool2d_check_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    /* kh, kw >= 1 after a valid init; compare without forming a product that could overflow */
    if (desc->kh > PCNN_MAXPOOL2D_TAPS_MAX || desc->kw > PCNN_MAXPOOL2D_TAPS_MAX ||
        desc->kh * desc->kw > PCNN_MAXPOOL2D_TAPS_MAX) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_maxpool2d_fwd_taps(const pcnn_maxpool2d_desc *desc, const float *src,
                                         float *dst, uint8_t *taps) {
    if (src == NULL || dst == NULL || taps == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const int32_t st = maxpool2d_check_taps_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    return pcnn_dispatch_maxpool2d_fwd_taps(desc, src, dst, taps);
}

PCNN_API int32_t pcnn_maxpool2d_bwd_taps(const pcnn_maxpool2d_desc *desc,
                                         const float *diff_dst, const uint8_t *taps,
                                         float *diff_src) {
    if (diff_dst == NULL || taps == NULL || diff_src == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const int32_t st = maxpool2d_check_taps_desc(desc);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    return pcnn_dispatch_maxpool2d_bwd_taps(desc, diff_dst, taps, diff_src);
}
