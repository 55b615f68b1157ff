/*
 * Depthwise backward-weights, stride 2 (3x3 and 5x5, dilation 1): "split-row" sums, in
 * registers. Part of the depthwise-simd.h template (included after it by
 * depthwise-wsum2-<isa>.c; uses its dw_* vector layer and dw_job); geometry shared with the
 * stride-2 row engine (depthwise-s2.h).
 *
 * Why: dw3x3_s2 (8x256x28x28) backward-weights went to the lanes engine, whose register
 * transposes of src and dY took most of its time (perf: dw_lanes_frame_in ~70%), 0.34-0.40x
 * oneDNN's best; the stride-2 row engine's sums (depthwise-s2-simd.h) keep split rows in a
 * ring on the stack and were slower still. Here, per (image, channel) plane:
 *   - an input row is loaded once (masked to the row) and split into its even and odd columns,
 *     E[j] = row[2j], O[j] = row[2j + 1] (two permutes per 2 * VL floats), and kept in
 *     registers for the dY rows that meet it (rows 2y - pt + ky: each row serves up to two);
 *   - tap column 2x + kx - pl = 2(x + s) + p is lane x + s of E (p = 0) or O (p = 1), s in
 *     [-1, 1]; instead of shifting the input, the dY row is shifted the other way (lane j of
 *     Y_s = dY[j - s], zero outside the row): dW[ky][kx] += sum_j P_p[j] * Y_s[j], so each
 *     dY row is loaded once and shifted at most twice (one valignd each), every FMA takes
 *     register operands only, one accumulator per tap.
 * Per dY row of a 3x3 with one block: 1 dY load + 1 shift, 2 input rows (4 loads, 4 permutes),
 * 9 FMAs.
 *
 * Arithmetic: a lane of Y_s outside the dY row, and a lane of E / O outside the input row (or
 * a row outside the plane) is +0; such a lane meets a tap the reference skips, and adds an
 * exact zero when the other factor is finite. When a channel's sums come out non-finite (a
 * non-finite src or dY, or overflow), the channel is summed again by the plane engine's exact
 * path (dw_bwd_weights_sums with exact = 1), so Inf/NaN results follow that engine.
 * Order per channel: images in order, then dY rows, then column blocks; a task owns a block of
 * channels (dw2w_task): results do not depend on the thread count.
 */
#ifndef PCNN_DEPTHWISE_WSUM2_SIMD_H
#define PCNN_DEPTHWISE_WSUM2_SIMD_H

#include "kernels/conv2d/depthwise-s2.h"

/* calls served (tests check that their shapes reach it) */
#define DW_WSUM2_RUNS DW_ENGINE(pcnn_conv2d_depthwise_wsum2_runs)
PCNN_INTERNAL int64_t DW_WSUM2_RUNS;
PCNN_INTERNAL int64_t DW_WSUM2_RUNS = 0;

#define DW2W_NB 2 /* column blocks of VL lanes (outputs / column pairs) at most */
#define DW2W_K 5
#ifndef DW2W_PF
#define DW2W_PF 1
#endif

/* Compiled shape classes: 3x3 with pad_left 0 / 1, 5x5 with pad_left 1 / 2 (every tap column
 * within one lane of the split rows: pcnn_dw_s2_geometry), rows of at most DW2W_NB blocks. */
static int dw2w_geometry(const pcnn_conv2d_desc *d) {
    if (!pcnn_dw_s2_geometry(d, PCNN_PASS_BWD_WEIGHTS, VL) || pcnn_dw_s2_blocks(d, VL) > DW2W_NB ||
        d->kh != d->kw) {
        return 0;
    }
    return (d->kh == 3 && d->pad_left <= 1) || (d->kh == 5 && d->pad_left >= 1 && d->pad_left <= 2);
}

/* Input row iy split into E / O, NB blocks; zeros when the row is outside the plane. */
DW_AI void dw2w_load_row(const float *in, int64_t iw, int64_t ih, int64_t iy, const dw_mask *mlo, const dw_mask *mhi,
                         dw_vec *E, dw_vec *O, const int NB) {
    if (iy < 0 || iy >= ih) {
#pragma GCC unroll 2
        for (int b = 0; b < NB; b++) {
            E[b] = dw_zero(), O[b] = dw_zero();
        }
        return;
    }
    const float *row = in + iy * iw;
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        const dw_vec lo = dw_load_m(dw_at(row, 2 * VL * (int64_t)b), mlo[b]);
        const dw_vec hi = dw_load_m(dw_at(row, 2 * VL * (int64_t)b + VL), mhi[b]);
        E[b] = dw_even(lo, hi), O[b] = dw_odd(lo, hi);
    }
}

/* Input row iy (inside the plane) split into E / O, NB blocks. */
DW_AI void dw2w_load_in(const float *in, int64_t iw, int64_t iy, const dw_mask *mlo, const dw_mask *mhi, dw_vec *E,
                        dw_vec *O, const int NB) {
    const float *row = in + iy * iw;
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        const dw_vec lo = dw_load_m(dw_at(row, 2 * VL * (int64_t)b), mlo[b]);
        const dw_vec hi = dw_load_m(dw_at(row, 2 * VL * (int64_t)b + VL), mhi[b]);
        E[b] = dw_even(lo, hi), O[b] = dw_odd(lo, hi);
    }
}

/* dY row y: its taps into acc / *accb, then the window E / O (input rows 2y - pt + ky) moves down
 * two rows. FAST: the two rows loaded are inside the plane and there is a next row (no checks). */
DW_AI void dw2w_row(const pcnn_conv2d_desc *d, const float *in, const float *dy, const dw_mask *mlo,
                    const dw_mask *mhi, const dw_mask *mout, const float *nsrc, const float *ndy, int64_t y,
                    dw_vec *acc, dw_vec *accb, dw_vec (*E)[DW2W_NB], dw_vec (*O)[DW2W_NB], const int K,
                    const int NB, const int PL, const int FAST) {
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow, pt = d->pad_top;
    const int NEG = PL >= 1, POS = K - 1 - PL >= 2; /* some tap has s = -1 / s = +1 */
    if (DW2W_PF) {
        /* input rows 2y, 2y + 1 and dY row y of the next plane (at most 4 * NB and NB lines,
         * from anywhere in a line): a fixed count, no loop or branch (prefetches never fault) */
#pragma GCC unroll 9
        for (int l = 0; l <= 4 * NB; l++) { /* may pass the plane: addresses as integers */
            PCNN_PREFETCH_AT(nsrc, 2 * y * iw + 16 * l);
        }
#pragma GCC unroll 3
        for (int l = 0; l <= NB; l++) {
            PCNN_PREFETCH_AT(ndy, y * ow + 16 * l);
        }
    }
    dw_vec Y[DW2W_NB + 1], Ys[3][DW2W_NB]; /* Ys[s + 1][b] lane j: dY[VL*b + j - s] */
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        Y[b] = dw_load_m(dw_at(dy, y * ow + VL * (int64_t)b), mout[b]);
        *accb = dw_add(*accb, Y[b]);
    }
    Y[NB] = dw_zero();
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        Ys[1][b] = Y[b];
        Ys[0][b] = NEG ? dw2_next(Y[b], Y[b + 1]) : dw_zero();
        Ys[2][b] = POS ? dw2_prev(Y[b], b > 0 ? Y[b - 1] : dw_zero()) : dw_zero();
    }
#pragma GCC unroll 5
    for (int ky = 0; ky < K; ky++) {
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) {
            const int dd = kx - PL, p = dd & 1, s = (dd - p) / 2;
#pragma GCC unroll 2
            for (int b = 0; b < NB; b++) {
                acc[ky * K + kx] = dw_fma(p ? O[ky][b] : E[ky][b], Ys[s + 1][b], acc[ky * K + kx]);
            }
        }
    }
    /* the window moves down two input rows: keep the K - 2 shared ones, load two */
#pragma GCC unroll 5
    for (int ky = 0; ky + 2 < K; ky++) {
#pragma GCC unroll 2
        for (int b = 0; b < NB; b++) {
            E[ky][b] = E[ky + 2][b], O[ky][b] = O[ky + 2][b];
        }
    }
    const int64_t iy = 2 * (y + 1) - pt + K - 2;
    if (FAST) {
        dw2w_load_in(in, iw, iy, mlo, mhi, E[K - 2], O[K - 2], NB);
        dw2w_load_in(in, iw, iy + 1, mlo, mhi, E[K - 1], O[K - 1], NB);
    } else if (y + 1 < oh) {
        dw2w_load_row(in, iw, ih, iy, mlo, mhi, E[K - 2], O[K - 2], NB);
        dw2w_load_row(in, iw, ih, iy + 1, mlo, mhi, E[K - 1], O[K - 1], NB);
    }
}

/* One image's plane into acc[KH * KW] (taps) and *accb (bias); register-resident copies. Rows
 * go in pairs (one loop branch per two rows) while both rows' loads stay inside the plane. */
DW_AI void dw2w_plane(const pcnn_conv2d_desc *d, const float *in, const float *dy, const dw_mask *mlo,
                      const dw_mask *mhi, const dw_mask *mout, const float *nsrc, const float *ndy,
                      dw_vec *acc_io, dw_vec *accb_io, const int K,
                      const int NB, const int PL) {
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, pt = d->pad_top;
    dw_vec acc[DW2W_K * DW2W_K], accb = *accb_io;
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++) {
        acc[t] = acc_io[t];
    }
    dw_vec E[DW2W_K][DW2W_NB], O[DW2W_K][DW2W_NB]; /* input rows 2y - pt + ky */
#pragma GCC unroll 5
    for (int ky = 0; ky < K; ky++) {
        dw2w_load_row(in, iw, ih, ky - pt, mlo, mhi, E[ky], O[ky], NB);
    }
    /* FAST for rows y, y + 1: y + 2 < oh, loads from row K - pt (>= 0: pt <= pad limit < K)
     * up to row 2y + 3 - pt + K < ih */
    int64_t y = 0;
    if (K - pt >= 0) {
        for (; y + 2 < oh && 2 * y + 3 - pt + K < ih; y += 2) {
            dw2w_row(d, in, dy, mlo, mhi, mout, nsrc, ndy, y, acc, &accb, E, O, K, NB, PL, 1);
            dw2w_row(d, in, dy, mlo, mhi, mout, nsrc, ndy, y + 1, acc, &accb, E, O, K, NB, PL, 1);
        }
    }
    for (; y < oh; y++) {
        dw2w_row(d, in, dy, mlo, mhi, mout, nsrc, ndy, y, acc, &accb, E, O, K, NB, PL, 0);
    }
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++) {
        acc_io[t] = acc[t];
    }
    *accb_io = accb;
}

/* Channels per task: DW2W_CB(K). A task sums its block image by image, so for each image it
 * reads the block's planes as one run of memory (src and dY); per-channel tasks read a plane per
 * image, C planes apart, which the hardware prefetchers do not follow. The accumulators of the
 * block stay on the stack between planes (K * K + 1 vectors per channel). */
#define DW2W_CB(K) ((K) == 3 ? 16 : 8)
#define DW2W_ACC_MAX 208 /* max over K of DW2W_CB(K) * (K * K + 1) */

/* channels per task: DW2W_CB, fewer when that leaves under 8 tasks (both threads busy) */
static int64_t dw2w_cb(const pcnn_conv2d_desc *d) {
    const int64_t q = (d->c + 7) / 8;
    return q < DW2W_CB(d->kh) ? q : DW2W_CB(d->kh);
}

/* Sums of channels [c0, c0 + nc) over every image into acc[(K * K + 1) * i + tap] (bias last). */
DW_AI void dw2w_block(const dw_job *j, int64_t c0, int64_t nc, dw_vec *acc, const int K, const int NB,
                      const int PL) {
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ip = d->ih * d->iw, op = d->oh * d->ow, st = K * K + 1;
    /* only the taps used: zeroing the whole array compiled to a rep stos (12% of the time on
     * 1x256x28x28) */
    for (int64_t t = 0; t < nc * st; t++) {
        acc[t] = dw_zero();
    }
    dw_mask mlo[DW2W_NB], mhi[DW2W_NB], mout[DW2W_NB];
    for (int b = 0; b < DW2W_NB; b++) {
        mlo[b] = dw_lanes(0, d->iw - 2 * VL * b);
        mhi[b] = dw_lanes(0, d->iw - 2 * VL * b - VL);
        mout[b] = dw_lanes(0, d->ow - VL * b);
    }
    for (int64_t n = 0; n < d->n; n++) {
        for (int64_t i = 0; i < nc; i++) {
            const int64_t plane = n * d->c + c0 + i;
            const float *src = j->in + plane * ip, *dy = j->in2 + plane * op;
            /* the plane read next (this image's next channel of the block, else the block's
             * first in the next image) is asked for row by row while this one is summed: the
             * whole plane asked for at once (as the other engines do) measured dw3x3_s2 126-130
             * vs 105-114 us, 56x56 planes 348-562 vs 203-224, 5x5 246-392 vs 197-220 (1 thread,
             * same run, per-channel tasks) */
            const float *nsrc = src, *ndy = dy; /* the last plane prefetches itself (harmless) */
            if (i + 1 < nc) {
                nsrc = src + ip, ndy = dy + op;
            } else if (n + 1 < d->n) {
                nsrc = j->in + ((n + 1) * d->c + c0) * ip, ndy = j->in2 + ((n + 1) * d->c + c0) * op;
            }
            dw2w_plane(d, src, dy, mlo, mhi, mout, nsrc, ndy, acc + i * st, acc + i * st + K * K, K, NB, PL);
        }
    }
}

static void dw2w_task(void *ctx, int64_t task) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t k = d->kh * d->kw, nb = pcnn_dw_s2_blocks(d, VL), st = k + 1, cb = dw2w_cb(d);
    const int64_t c0 = task * cb, nc = d->c - c0 < cb ? d->c - c0 : cb;
    dw_vec acc[DW2W_ACC_MAX]; /* set by dw2w_block */
    switch ((int)(d->kh * 100 + nb * 10 + d->pad_left)) {
    case 310: dw2w_block(j, c0, nc, acc, 3, 1, 0); break;
    case 311: dw2w_block(j, c0, nc, acc, 3, 1, 1); break;
    case 320: dw2w_block(j, c0, nc, acc, 3, 2, 0); break;
    case 321: dw2w_block(j, c0, nc, acc, 3, 2, 1); break;
    case 511: dw2w_block(j, c0, nc, acc, 5, 1, 1); break;
    case 512: dw2w_block(j, c0, nc, acc, 5, 1, 2); break;
    case 521: dw2w_block(j, c0, nc, acc, 5, 2, 1); break;
    default: dw2w_block(j, c0, nc, acc, 5, 2, 2); break; /* 522: dw2w_geometry */
    }
    for (int64_t i = 0; i < nc; i++) {
        const int64_t ch = c0 + i;
        const dw_vec *a = acc + i * st;
        int finite = 1;
        for (int64_t t = 0; t < st; t++) {
            finite &= dw_all_finite(a[t]);
        }
        if (!finite) { /* non-finite data or overflow: the plane engine's exact sums decide */
            DW_BWD_WEIGHTS_EXACT_OR_RETURN(j, ch, k);
            continue;
        }
        for (int64_t t = 0; t < k; t++) {
            j->out[ch * k + t] = dw_hsum(a[t]);
        }
        if (j->out2 != NULL) {
            j->out2[ch] = dw_hsum(a[k]);
        }
    }
}

/* Serves the call (1) or declines (0); tried before the lanes engine. */
PCNN_INTERNAL int dw_wsum2_bwd_weights(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!dw2w_geometry(d)) {
        return 0;
    }
    __atomic_fetch_add(&DW_WSUM2_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t cb = dw2w_cb(d);
    pcnn_parallel_for_work((d->c + cb - 1) / cb, d->n * d->c * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw),
                           dw2w_task, j);
    return 1;
}

#endif /* PCNN_DEPTHWISE_WSUM2_SIMD_H */
