/*
 * Depthwise backward-data, stride 2, 5x5 "same" (pad_left 2), rows within two vectors: the
 * stride-2 row engine's plane body (depthwise-s2-simd.h, dw2_bwd_plane) compiled with constant
 * sizes. Included after depthwise-simd.h by depthwise-s2k5-<isa>.c, with DW2_TEMPLATES_ONLY so
 * that only the row engine's templates come along (its tasks, hooks and counter stay in
 * depthwise-s2-<isa>.c).
 *
 * Why: the row engine compiles constant sizes only for 3x3; every 5x5 plane went through its
 * run-time-size body (dw2_bwd_plane_rt: run-time tap and block loops, the ring slots and the
 * weights not in registers), 0.27x oneDNN's best on 8x256x28x28 (1 thread). The same template
 * with K = 5, PL = 2, NB = 1 / 2 as constants: 0.31x the time (same process, interleaved).
 * Its own translation unit so that the row engine's file does not grow (CI compile time).
 *
 * Arithmetic, order and declines: those of dw2_bwd_plane (one plane per task, the same FMA
 * sequence per element as the run-time body; weights must be finite: lanes outside a row are
 * multiplied as zeros, so a call with a non-finite weight goes on to the row engine's check and
 * then the lanes / plane engines). Results do not depend on the thread count.
 */
#ifndef PCNN_DEPTHWISE_S2K5_SIMD_H
#define PCNN_DEPTHWISE_S2K5_SIMD_H

#define DW2_TEMPLATES_ONLY
#include "kernels/conv2d/depthwise-s2-simd.h"

/* calls served (tests check that their shapes reach it) */
#define DW_S2K5_RUNS DW_ENGINE(pcnn_conv2d_depthwise_s2k5_runs)
PCNN_INTERNAL int64_t DW_S2K5_RUNS;
PCNN_INTERNAL int64_t DW_S2K5_RUNS = 0;

/* the row engine's backward-data geometry, 5x5 with pad_left 2, rows of at most two blocks */
static int dw2k5_geometry(const pcnn_conv2d_desc *d) {
    return pcnn_dw_s2_geometry(d, PCNN_PASS_BWD_DATA, VL) && d->kh == 5 && d->kw == 5 && d->pad_left == 2 &&
           pcnn_dw_s2_blocks(d, VL) <= 2;
}

static void dw2k5_task(void *ctx, int64_t plane) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ch = plane % d->c;
    dw2_prefetch_ahead(j->in, d->oh * d->ow, j->out, d->ih * d->iw, plane, d->n * d->c);
    const float *dy = j->in + plane * d->oh * d->ow, *w = j->w + ch * 25;
    float *ds = j->out + plane * d->ih * d->iw;
    if (pcnn_dw_s2_blocks(d, VL) == 1) {
        dw2_bwd_plane(d, dy, w, ds, 5, 5, 1, 2, NULL);
    } else {
        dw2_bwd_plane(d, dy, w, ds, 5, 5, 2, 2, NULL);
    }
}

/* Serves the call (1) or declines (0); tried before the row engine. */
PCNN_INTERNAL int dw2k5_bwd_data(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!dw2k5_geometry(d) || !dw2_weights_finite(d, j->w)) {
        return 0;
    }
    __atomic_fetch_add(&DW_S2K5_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow * 25), dw2k5_task, j);
    return 1;
}

#endif /* PCNN_DEPTHWISE_S2K5_SIMD_H */
