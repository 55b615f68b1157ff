/*
 * Strided 1x1 convolution ("pointwise" algorithm): geometry, AUTO rule and the driver that
 * gathers the strided input pixels into a dense tensor (or scatters a dense gradient back)
 * around a stride-1 1x1 kernel. Why and what: pointwise.h. The per-ISA entry points
 * (pointwise-avx2.c, pointwise-avx512.c, and the scalar one at the bottom of this file) pass
 * their level's direct kernels in.
 *
 * Memory: forward and backward-data work on chunks of whole images whose gathered tensor is
 * at most PW_CHUNK_BYTES (at least one image), so the scratch stays bounded whatever the
 * batch. Backward-weights sums over the whole batch inside the stride-1 kernel, so it gathers
 * every image at once; above PW_MAX_GATHER_BYTES it declines at run time (the dispatcher then
 * runs the direct kernel on the strided problem).
 *
 * Threads: the gather / scatter runs one task per (image, channel) plane, each writing its
 * own plane; the stride-1 kernel is deterministic across thread counts, so the whole is.
 */
#include <string.h>

#include "core/scratch.h"
#include "kernels/conv2d/pointwise.h"

#define PW_CHUNK_BYTES ((int64_t)16 << 20) /* large: each chunk repacks the weights */
#define PW_MAX_GATHER_BYTES ((int64_t)512 << 20)

static int64_t g_chunk_bytes = PW_CHUNK_BYTES; /* only the test hook below changes it */

PCNN_INTERNAL int64_t pcnn_pointwise_set_chunk_bytes(int64_t bytes) {
    const int64_t old = g_chunk_bytes;
    g_chunk_bytes = bytes > 0 ? bytes : PW_CHUNK_BYTES;
    return old;
}

/* 1x1, no padding, a stride above 1 on some axis (stride 1 is the direct engine's own GEMM). */
PCNN_INTERNAL int pcnn_pointwise_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)pass;
    return d->kh == 1 && d->kw == 1 && d->pad_top == 0 && d->pad_bottom == 0 &&
           d->pad_left == 0 && d->pad_right == 0 && (d->stride_h > 1 || d->stride_w > 1);
}

/*
 * AUTO rule, measured (pcnn-bench --algorithm direct vs pointwise, AVX-512, 1 thread, busy
 * machine, 2026-12-04; stride 2 on 28x28..57x55 planes, 1..1024 input channels): forward and
 * backward-data were 1.2-3x faster than direct on every shape (8x256x28x28 -> 512: ~3x), so
 * AUTO takes them all. Backward-weights was level with direct (within the noise) up to 12
 * input channels and 1.1-4x faster from 16 on, so AUTO takes it from 16 channels per group.
 */
PCNN_INTERNAL int pcnn_pointwise_auto_pick(const pcnn_conv2d_desc *d, int32_t pass) {
    return pass != PCNN_PASS_BWD_WEIGHTS || d->c / d->groups >= 16;
}

/* The dense stride-1 problem of nb images that the gathered tensor X_s poses. */
static pcnn_conv2d_desc dense_desc(const pcnn_conv2d_desc *d, int64_t nb) {
    pcnn_conv2d_desc g = *d;
    g.n = nb;
    g.ih = d->oh;
    g.iw = d->ow;
    g.stride_h = 1;
    g.stride_w = 1;
    g.dilation_h = 1; /* irrelevant for 1x1; the dense desc is a plain one */
    g.dilation_w = 1;
    return g;
}

/* Images per chunk: as many as fit the chunk bytes of gathered planes, at least one. */
static int64_t chunk_images(const pcnn_conv2d_desc *d, int64_t channels) {
    const int64_t per_image = channels * d->oh * d->ow * (int64_t)sizeof(float);
    int64_t nb = g_chunk_bytes / (per_image > 0 ? per_image : 1);
    nb = nb < 1 ? 1 : nb;
    return nb < d->n ? nb : d->n;
}

typedef struct {
    const pcnn_pointwise_inner *k;
    const pcnn_conv2d_desc *d;
    const float *strided; /* planes of ih x iw */
    float *dense;         /* planes of oh x ow */
    int64_t planes;
} plane_ctx;

/* How many planes ahead gather_task asks for the rows it will read. */
#define PW_PREFETCH_AHEAD 4

/*
 * The rows of strided plane t that the gather reads (every stride_h-th row, ow pixels of it).
 * The gather itself is a few instructions per row, so out of cache it waits for memory row
 * after row (the skipped rows break the hardware prefetcher's stream): measured on pw1x1_s2
 * (28x28 -> 14x14 planes), one thread, the gather took ~15-20 % of the forward pass; asking
 * 4 planes ahead made forward and backward-weights 5-8 % faster (thread CPU time, 3 runs
 * each; 2 and 8 ahead about the same).
 */
static void prefetch_plane_rows(const plane_ctx *x, int64_t t) {
    const pcnn_conv2d_desc *d = x->d;
    const uintptr_t plane = (uintptr_t)x->strided + (uintptr_t)(t * d->ih * d->iw) * sizeof(float);
    const uintptr_t row_bytes = (uintptr_t)((d->ow - 1) * d->stride_w + 1) * sizeof(float);
    for (int64_t y = 0; y < d->oh; ++y) {
        const uintptr_t row = plane + (uintptr_t)(y * d->stride_h * d->iw) * sizeof(float);
        for (uintptr_t o = 0; o < row_bytes; o += 64) {
            __builtin_prefetch((const void *)(row + o), 0, 3);
        }
        __builtin_prefetch((const void *)(row + row_bytes - 1), 0, 3); /* a row's last line */
    }
}

/* One (image, channel) plane per task, through the level's plane functions. */
static void gather_task(void *p, int64_t t) {
    const plane_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    if (t + PW_PREFETCH_AHEAD < x->planes) {
        prefetch_plane_rows(x, t + PW_PREFETCH_AHEAD);
    }
    x->k->gather_plane(d, x->strided + t * d->ih * d->iw, x->dense + t * d->oh * d->ow);
}

static void scatter_task(void *p, int64_t t) {
    const plane_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    x->k->scatter_plane(d, (float *)x->strided + t * d->ih * d->iw, x->dense + t * d->oh * d->ow);
}

/* Runs task over the nb*channels planes of a chunk (work ~ one element copy each). */
static void run_planes(const pcnn_pointwise_inner *k, const pcnn_conv2d_desc *d, int64_t nb,
                       int64_t channels, pcnn_task_fn task, const float *strided, float *dense) {
    const int64_t planes = nb * channels;
    plane_ctx ctx = {k, d, strided, dense, planes};
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow), task, &ctx);
}

PCNN_INTERNAL int32_t pcnn_pointwise_fwd(const pcnn_pointwise_inner *k, const pcnn_conv2d_desc *d,
                                         const float *src, const float *weights,
                                         const float *bias, float *dst) {
    const int64_t nb_max = chunk_images(d, d->c);
    float *xs = pcnn_scratch_get(PCNN_SCRATCH_POINTWISE,
                                 (size_t)(nb_max * d->c * d->oh * d->ow) * sizeof(float));
    if (xs == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    for (int64_t n0 = 0; n0 < d->n; n0 += nb_max) {
        const int64_t nb = d->n - n0 < nb_max ? d->n - n0 : nb_max;
        run_planes(k, d, nb, d->c, gather_task, src + n0 * d->c * d->ih * d->iw, xs);
        const pcnn_conv2d_desc g = dense_desc(d, nb);
        const int32_t st = k->fwd(&g, xs, weights, bias, dst + n0 * d->oc * d->oh * d->ow);
        if (st != PCNN_STATUS_OK) {
            return st;
        }
    }
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_pointwise_bwd_data(const pcnn_pointwise_inner *k,
                                              const pcnn_conv2d_desc *d, const float *diff_dst,
                                              const float *weights, float *diff_src) {
    const int64_t nb_max = chunk_images(d, d->c);
    float *dxs = pcnn_scratch_get(PCNN_SCRATCH_POINTWISE,
                                  (size_t)(nb_max * d->c * d->oh * d->ow) * sizeof(float));
    if (dxs == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    for (int64_t n0 = 0; n0 < d->n; n0 += nb_max) {
        const int64_t nb = d->n - n0 < nb_max ? d->n - n0 : nb_max;
        const pcnn_conv2d_desc g = dense_desc(d, nb);
        const int32_t st = k->bwd_data(&g, diff_dst + n0 * d->oc * d->oh * d->ow, weights, dxs);
        if (st != PCNN_STATUS_OK) {
            return st; /* a decline before the first scatter leaves diff_src untouched */
        }
        run_planes(k, d, nb, d->c, scatter_task, diff_src + n0 * d->c * d->ih * d->iw, dxs);
    }
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_pointwise_bwd_weights(const pcnn_pointwise_inner *k,
                                                 const pcnn_conv2d_desc *d, const float *src,
                                                 const float *diff_dst, float *diff_weights,
                                                 float *diff_bias) {
    const int64_t elems = d->n * d->c * d->oh * d->ow;
    if (elems > PW_MAX_GATHER_BYTES / (int64_t)sizeof(float)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    float *xs = pcnn_scratch_get(PCNN_SCRATCH_POINTWISE, (size_t)elems * sizeof(float));
    if (xs == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    run_planes(k, d, d->n, d->c, gather_task, src, xs);
    const pcnn_conv2d_desc g = dense_desc(d, d->n);
    return k->bwd_weights(&g, xs, diff_dst, diff_weights, diff_bias);
}

/* ---- the scalar level's entry: the reference kernels on the dense problem (bit-identical
 * to the reference on the strided one; serves explicit POINTWISE requests, AUTO never). ---- */

static void gather_plane(const pcnn_conv2d_desc *d, const float *in, float *out) {
    pcnn_pointwise_gather_plane(d, in, out);
}

static void scatter_plane(const pcnn_conv2d_desc *d, float *out, const float *in) {
    pcnn_pointwise_scatter_plane(d, out, in);
}

static const pcnn_pointwise_inner scalar_inner = {
    pcnn_conv2d_fwd__scalar, pcnn_conv2d_bwd_data__scalar, pcnn_conv2d_bwd_weights__scalar,
    gather_plane, scatter_plane};

PCNN_INTERNAL int32_t pcnn_conv2d_fwd_pointwise__scalar(const pcnn_conv2d_desc *d,
                                                        const float *src, const float *weights,
                                                        const float *bias, float *dst) {
    return pcnn_pointwise_fwd(&scalar_inner, d, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_pointwise__scalar(const pcnn_conv2d_desc *d,
                                                             const float *diff_dst,
                                                             const float *weights,
                                                             float *diff_src) {
    return pcnn_pointwise_bwd_data(&scalar_inner, d, diff_dst, weights, diff_src);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_pointwise__scalar(const pcnn_conv2d_desc *d,
                                                                const float *src,
                                                                const float *diff_dst,
                                                                float *diff_weights,
                                                                float *diff_bias) {
    return pcnn_pointwise_bwd_weights(&scalar_inner, d, src, diff_dst, diff_weights, diff_bias);
}
