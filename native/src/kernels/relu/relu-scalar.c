/*
 * ReLU, scalar kernels. Forward: (x > 0 || isnan(x)) ? x : +0.0f. Backward from the forward's
 * output y: (y > 0 || isnan(y)) ? dy : +0.0f. Exact selects, so every variant is bit-identical.
 * Large arrays are split into fixed chunks over the thread pool (memory-bound work).
 */
#include "core/pcnn_internal.h"
#include "relu-common.h"

static inline float relu_fwd1(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }
static inline float relu_bwd1(float y, float dy) { return (y > 0.0f || y != y) ? dy : 0.0f; }

static void fwd_chunk(void *vctx, int64_t t) {
    const pcnn_relu_ctx *c = vctx;
    const int64_t end = pcnn_relu_chunk_end(c, t);
    for (int64_t i = t * PCNN_RELU_CHUNK; i < end; ++i) c->out[i] = relu_fwd1(c->a[i]);
}

static void bwd_chunk(void *vctx, int64_t t) {
    const pcnn_relu_ctx *c = vctx;
    const int64_t end = pcnn_relu_chunk_end(c, t);
    for (int64_t i = t * PCNN_RELU_CHUNK; i < end; ++i) c->out[i] = relu_bwd1(c->a[i], c->b[i]);
}

PCNN_INTERNAL int32_t pcnn_relu_fwd__scalar(int64_t count, const float *src, float *dst) {
    pcnn_relu_ctx ctx = {count, src, NULL, dst};
    pcnn_parallel_for_work(pcnn_relu_chunks(count), count, fwd_chunk, &ctx);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_relu_bwd__scalar(int64_t count, const float *dst,
                                            const float *diff_dst, float *diff_src) {
    pcnn_relu_ctx ctx = {count, dst, diff_dst, diff_src};
    pcnn_parallel_for_work(pcnn_relu_chunks(count), count, bwd_chunk, &ctx);
    return PCNN_STATUS_OK;
}
