/*
 * Fully connected layer, scalar kernels: the plain loops every vector variant is tested against.
 * Float accumulation, each sum in ascending index order (no FMA: built with -ffp-contract=off).
 * Rows are spread over the thread pool; every output element is computed by exactly one task in
 * the same order, so results do not depend on the thread count.
 */
#include "core/pcnn_internal.h"

typedef struct {
    int64_t n, in, out;
    const float *a, *b, *bias;
    float *c, *extra;
} ln_ctx;

/* Forward, one batch row per task: dst[i][o] = sum_k src[i][k] * w[o][k] + bias[o]. */
static void fwd_row(void *vctx, int64_t i) {
    const ln_ctx *x = vctx;
    const float *src = x->a + i * x->in;
    for (int64_t o = 0; o < x->out; ++o) {
        const float *w = x->b + o * x->in;
        float acc = 0.0f;
        for (int64_t k = 0; k < x->in; ++k) {
            acc += src[k] * w[k];
        }
        x->c[i * x->out + o] = x->bias != NULL ? acc + x->bias[o] : acc;
    }
}

PCNN_INTERNAL int32_t pcnn_linear_fwd__scalar(int64_t n, int64_t in, int64_t out, const float *src,
                                              const float *weights, const float *bias, float *dst) {
    ln_ctx ctx = {n, in, out, src, weights, bias, dst, NULL};
    pcnn_parallel_for_work(n, n * in * out, fwd_row, &ctx);
    return PCNN_STATUS_OK;
}

/* Backward data, one batch row per task: diff_src[i][k] = sum_o diff_dst[i][o] * w[o][k]. */
static void bwd_data_row(void *vctx, int64_t i) {
    const ln_ctx *x = vctx;
    const float *dy = x->a + i * x->out;
    float *dx = x->c + i * x->in;
    for (int64_t k = 0; k < x->in; ++k) {
        dx[k] = 0.0f;
    }
    for (int64_t o = 0; o < x->out; ++o) {
        const float *w = x->b + o * x->in;
        const float g = dy[o];
        for (int64_t k = 0; k < x->in; ++k) {
            dx[k] += g * w[k];
        }
    }
}

PCNN_INTERNAL int32_t pcnn_linear_bwd_data__scalar(int64_t n, int64_t in, int64_t out,
                                                   const float *diff_dst, const float *weights,
                                                   float *diff_src) {
    ln_ctx ctx = {n, in, out, diff_dst, weights, NULL, diff_src, NULL};
    pcnn_parallel_for_work(n, n * in * out, bwd_data_row, &ctx);
    return PCNN_STATUS_OK;
}

/* Backward weights, one output feature per task: diff_w[o][k] = sum_i diff_dst[i][o] * src[i][k],
 * diff_bias[o] = sum_i diff_dst[i][o]. */
static void bwd_weights_row(void *vctx, int64_t o) {
    const ln_ctx *x = vctx;
    float *dw = x->c + o * x->in;
    for (int64_t k = 0; k < x->in; ++k) {
        dw[k] = 0.0f;
    }
    float db = 0.0f;
    for (int64_t i = 0; i < x->n; ++i) {
        const float g = x->b[i * x->out + o];
        const float *src = x->a + i * x->in;
        for (int64_t k = 0; k < x->in; ++k) {
            dw[k] += g * src[k];
        }
        db += g;
    }
    if (x->extra != NULL) {
        x->extra[o] = db;
    }
}

PCNN_INTERNAL int32_t pcnn_linear_bwd_weights__scalar(int64_t n, int64_t in, int64_t out,
                                                      const float *src, const float *diff_dst,
                                                      float *diff_weights, float *diff_bias) {
    ln_ctx ctx = {n, in, out, src, diff_dst, NULL, diff_weights, diff_bias};
    pcnn_parallel_for_work(out, n * in * out, bwd_weights_row, &ctx);
    return PCNN_STATUS_OK;
}
