/*
 * Exported entry points of the network operations (linear, ReLU, softmax cross-entropy):
 * validate -> dispatch -> kernel. Sizes must be >= 1 and every element count must fit in int64;
 * outputs must not overlap inputs (ReLU allows exact in-place use).
 */
#include "core/pcnn_internal.h"

/* Do [a, a + an floats) and [b, b + bn floats) share a byte? */
static int overlaps(const void *a, int64_t an, const void *b, int64_t bn) {
    const uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a0 < b0 + (uintptr_t)bn * sizeof(float) && b0 < a0 + (uintptr_t)an * sizeof(float);
}

/* Byte size of `count` floats fits in int64 (and so in the address space arithmetic above). */
static int32_t check_count(int64_t count) {
    int64_t bytes;
    if (count < 1) return PCNN_STATUS_INVALID_ARGUMENT;
    if (pcnn_mul_i64(count, (int64_t)sizeof(float), &bytes)) return PCNN_STATUS_OUT_OF_RANGE;
    return PCNN_STATUS_OK;
}

static int32_t linear_check(int64_t n, int64_t in, int64_t out, int64_t *src_count,
                            int64_t *w_count, int64_t *dst_count) {
    if (n < 1 || in < 1 || out < 1) return PCNN_STATUS_INVALID_ARGUMENT;
    if (pcnn_mul_i64(n, in, src_count) || pcnn_mul_i64(out, in, w_count) ||
        pcnn_mul_i64(n, out, dst_count)) {
        return PCNN_STATUS_OUT_OF_RANGE;
    }
    int32_t st = check_count(*src_count);
    if (st == PCNN_STATUS_OK) st = check_count(*w_count);
    if (st == PCNN_STATUS_OK) st = check_count(*dst_count);
    return st;
}

PCNN_API int32_t pcnn_linear_fwd(int64_t n, int64_t in, int64_t out, const float *src,
                                 const float *weights, const float *bias, float *dst) {
    int64_t sc, wc, dc;
    const int32_t st = linear_check(n, in, out, &sc, &wc, &dc);
    if (st != PCNN_STATUS_OK) return st;
    if (src == NULL || weights == NULL || dst == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    if (overlaps(dst, dc, src, sc) || overlaps(dst, dc, weights, wc) ||
        (bias != NULL && overlaps(dst, dc, bias, out))) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return pcnn_dispatch_linear_fwd(n, in, out, src, weights, bias, dst);
}

PCNN_API int32_t pcnn_linear_bwd_data(int64_t n, int64_t in, int64_t out, const float *diff_dst,
                                      const float *weights, float *diff_src) {
    int64_t sc, wc, dc;
    const int32_t st = linear_check(n, in, out, &sc, &wc, &dc);
    if (st != PCNN_STATUS_OK) return st;
    if (diff_dst == NULL || weights == NULL || diff_src == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    if (overlaps(diff_src, sc, diff_dst, dc) || overlaps(diff_src, sc, weights, wc)) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return pcnn_dispatch_linear_bwd_data(n, in, out, diff_dst, weights, diff_src);
}

PCNN_API int32_t pcnn_linear_bwd_weights(int64_t n, int64_t in, int64_t out, const float *src,
                                         const float *diff_dst, float *diff_weights,
                                         float *diff_bias) {
    int64_t sc, wc, dc;
    const int32_t st = linear_check(n, in, out, &sc, &wc, &dc);
    if (st != PCNN_STATUS_OK) return st;
    if (src == NULL || diff_dst == NULL || diff_weights == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    if (overlaps(diff_weights, wc, src, sc) || overlaps(diff_weights, wc, diff_dst, dc)) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    if (diff_bias != NULL &&
        (overlaps(diff_bias, out, src, sc) || overlaps(diff_bias, out, diff_dst, dc) ||
         overlaps(diff_bias, out, diff_weights, wc))) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return pcnn_dispatch_linear_bwd_weights(n, in, out, src, diff_dst, diff_weights, diff_bias);
}

PCNN_API int32_t pcnn_relu_fwd(int64_t count, const float *src, float *dst) {
    const int32_t st = check_count(count);
    if (st != PCNN_STATUS_OK) return st;
    if (src == NULL || dst == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    if (dst != src && overlaps(dst, count, src, count)) return PCNN_STATUS_INVALID_ARGUMENT;
    return pcnn_dispatch_relu_fwd(count, src, dst);
}

PCNN_API int32_t pcnn_relu_bwd(int64_t count, const float *dst, const float *diff_dst,
                               float *diff_src) {
    const int32_t st = check_count(count);
    if (st != PCNN_STATUS_OK) return st;
    if (dst == NULL || diff_dst == NULL || diff_src == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    if ((diff_src != diff_dst && overlaps(diff_src, count, diff_dst, count)) ||
        overlaps(diff_src, count, dst, count)) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return pcnn_dispatch_relu_bwd(count, dst, diff_dst, diff_src);
}

static int32_t xent_check(int64_t n, int64_t classes, const float *logits, const int32_t *labels) {
    int64_t count;
    if (n < 1 || classes < 1) return PCNN_STATUS_INVALID_ARGUMENT;
    if (pcnn_mul_i64(n, classes, &count)) return PCNN_STATUS_OUT_OF_RANGE;
    const int32_t st = check_count(count);
    if (st != PCNN_STATUS_OK) return st;
    if (logits == NULL || labels == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    for (int64_t i = 0; i < n; ++i) {
        if (labels[i] < 0 || (int64_t)labels[i] >= classes) return PCNN_STATUS_OUT_OF_RANGE;
    }
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_softmax_xent_fwd(int64_t n, int64_t classes, const float *logits,
                                       const int32_t *labels, float *loss) {
    const int32_t st = xent_check(n, classes, logits, labels);
    if (st != PCNN_STATUS_OK) return st;
    if (loss == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    return pcnn_softmax_xent__scalar(n, classes, logits, labels, loss, NULL);
}

PCNN_API int32_t pcnn_softmax_xent_bwd(int64_t n, int64_t classes, const float *logits,
                                       const int32_t *labels, float *diff_logits) {
    const int32_t st = xent_check(n, classes, logits, labels);
    if (st != PCNN_STATUS_OK) return st;
    if (diff_logits == NULL) return PCNN_STATUS_INVALID_ARGUMENT;
    if (overlaps(diff_logits, n * classes, logits, n * classes) ||
        overlaps(diff_logits, n * classes, labels, n)) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    return pcnn_softmax_xent__scalar(n, classes, logits, labels, NULL, diff_logits);
}
