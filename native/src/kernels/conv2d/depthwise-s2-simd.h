/*
 * Depthwise conv2d, stride-2 row engine (included by depthwise-simd.h after the lanes engine,
 * before the entry points; geometry: depthwise-s2.h). Forward and backward-data try it first;
 * backward-weights only after the lanes engine (measured: on dw3x3_s2 the lanes engine's
 * backward-weights is ~1.1-1.2x faster than this one, thread CPU time, 1 thread), so here it
 * serves the stride-2 shapes beyond the lanes engine's frame (tall planes) instead of the plane
 * engine.
 *
 * Why: at stride 2 the plane engine loads two vectors per tap row and keeps half of each, and
 * the lanes engine spends most of its time transposing planes (perf, dw3x3_s2 forward: 42%
 * input transpose, 17% FMAs, 11% output transpose). Here one (image, channel) plane at a time,
 * row by row, nothing transposed:
 *   - a plane row (<= 2 * DW2_LANES_MAX floats) is loaded once (masked: never past the row) and
 *     split into its even and odd columns, E[j] = row[2j], O[j] = row[2j + 1]. Tap column
 *     2x + kx - pad_left = 2(x + s) + p is lane x of E (p = 0) or O (p = 1) shifted by s lanes,
 *     s in [-1, 1] (one valignd on AVX-512, a lane-crossing pair of shuffles on AVX2; a lane
 *     shifted in from outside the row is 0). The KW tap vectors of a row are kept in a small
 *     ring (DW2_RING rows) while the output rows that read it are computed: every input row
 *     is split once although each odd row feeds two output rows of a 3x3.
 *   - forward: out row y = sum over ky, kx of w * tap vector kx of input row 2y + ky - pad_top
 *     (rows outside the input skipped); bias added at the end; stores masked to ow.
 *   - backward-data: diff_src row iy, even columns 2j and odd columns 2j + 1 separately: the
 *     taps with kx - pad_left = 2s + p add w * dY[y][j - s] to the parity-p half, y = (iy +
 *     pad_top - ky) / 2 where that divides; dY rows are kept shifted by -1, 0, +1 lane in the
 *     ring; the two halves are interleaved back (two permutes) and stored, every element
 *     written.
 *   - backward-weights (one task per channel, images and rows in order): per tap one vector
 *     accumulator, acc[ky][kx] += tap vector kx of row 2y + ky - pad_top * dY row y; one
 *     horizontal sum per tap at the end, and one per channel for the bias.
 *
 * Zeros: lanes outside a row are zero-loaded and multiplied (cheaper than masks on AVX2 and
 * the same code on both ISAs), where the scalar kernel skips the tap. That gives the scalar
 * result when the weights are finite (forward / backward-data: w * 0 = +-0, and a sum that
 * starts at +0 is never -0), so a forward / backward-data call with a non-finite weight is
 * declined before anything is computed (the lanes / plane engines take it), and for
 * backward-weights when a channel's sums come out finite (each extra product has a zero
 * factor; a non-finite one leaves a non-finite sum): a channel with a non-finite sum is summed
 * again by the plane engine (dw_bwd_weights_task), which skips padded taps.
 * Determinism: a forward / backward-data task writes one plane, a backward-weights task owns
 * one channel with a fixed order inside; nothing depends on the thread count.
 * Speed: 3x3 with pad_left 0 / 1 and 1..4 column blocks is compiled with constant sizes (the
 * tap weights in registers, loops unrolled); other shapes run the same code with run-time sizes.
 */
#ifndef PCNN_DEPTHWISE_S2_SIMD_H
#define PCNN_DEPTHWISE_S2_SIMD_H

#include "kernels/conv2d/depthwise-s2.h"

#define DW2_NB (DW2_LANES_MAX / VL) /* column blocks of a row at most */
#define DW2_RING 32                 /* rows kept split (a power of two > 2 * (DW2_R_MAX - 1) + DW2_K_MAX) */
#define DW2_R_MAX 8                 /* rows computed together */
/* Rows computed together (independent FMA chains: one sum alone waits for each FMA's latency):
 * about 8 accumulators (forward: R * NB, backward-data: 2 * R * NB). */
#define DW2_R_FWD(NB) ((NB) == 1 ? 8 : (NB) == 2 ? 4 : (NB) <= 4 ? 2 : 1)
#define DW2_R_BWD(NB) ((NB) == 1 ? 4 : (NB) == 2 ? 2 : 1)

/* Forward / backward-data tasks prefetch the plane this far ahead (a plane's work is short:
 * one ahead left the loads waiting; measured, thread CPU time, dw3x3_s2 forward at 1 thread:
 * 1 ahead ~220-300 us, 2 ahead 209-244, 4 ahead 233, 8 ahead 249, none 356). */
#define DW2_AHEAD 2
/* Calls the stride-2 row engine took (the tests check it served). */
#ifndef DW2_TEMPLATES_ONLY /* depthwise-s2k5-simd.h takes the templates only */
PCNN_INTERNAL int64_t DW_S2_RUNS;
PCNN_INTERNAL int64_t DW_S2_RUNS = 0;
#endif

/* Split rows: row r at slot r % DW2_RING, KW * NB vectors [kx or shift + 1][block]. */
typedef struct {
    dw_vec v[DW2_RING * DW2_K_MAX * DW2_NB];
} dw2_ring;

/* Lane masks of a plane's rows, computed once per plane. */
typedef struct {
    dw_mask in_lo[DW2_NB], in_hi[DW2_NB]; /* a row of iw floats from 2*VL*b, 2*VL*b + VL */
    dw_mask next_e, next_o;               /* floats 2*VL*NB, 2*VL*NB + 1 of it (lane 0) */
    dw_mask out[DW2_NB];                  /* a row of ow floats from VL*b */
} dw2_masks;

static inline void dw2_plan_masks(const pcnn_conv2d_desc *d, int64_t nb, dw2_masks *mk) {
    for (int64_t b = 0; b < DW2_NB; b++) {
        mk->in_lo[b] = dw_lanes(0, d->iw - 2 * VL * b);
        mk->in_hi[b] = dw_lanes(0, d->iw - 2 * VL * b - VL);
        mk->out[b] = dw_lanes(0, d->ow - VL * b);
    }
    const int64_t c0 = 2 * VL * nb;
    mk->next_e = dw_lanes(0, d->iw - c0 < 1 ? d->iw - c0 : 1);
    mk->next_o = dw_lanes(0, d->iw - c0 - 1 < 1 ? d->iw - c0 - 1 : 1);
}

DW_AI dw_vec *dw2_slot(dw2_ring *ring, int64_t row, const int K, const int NB) {
    return ring->v + (row & (DW2_RING - 1)) * K * NB;
}

/* t[kx * NB + b] lane j = row[2(VL*b + j) + kx - PL], 0 outside the row (iw floats). */
DW_AI void dw2_split_row(const float *row, const dw2_masks *mk, dw_vec *t, const int KW, const int NB, const int PL) {
    dw_vec E[DW2_NB + 1], O[DW2_NB + 1];
#pragma GCC unroll 8
    for (int b = 0; b <= DW2_NB; b++) { /* all of them: the run-time-size body reads only NB + 1 */
        E[b] = dw_zero(), O[b] = dw_zero();
    }
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) {
        const int64_t c0 = 2 * VL * (int64_t)b;
        const dw_vec lo = dw_load_m(dw_at(row, c0), mk->in_lo[b]);
        const dw_vec hi = dw_load_m(dw_at(row, c0 + VL), mk->in_hi[b]);
        E[b] = dw_even(lo, hi);
        O[b] = dw_odd(lo, hi);
    }
    if (KW - 1 - PL >= 2) { /* a shift of +1: lane 0 of the next block */
        const int64_t c0 = 2 * VL * (int64_t)NB;
        E[NB] = dw_load_m(dw_at(row, c0), mk->next_e);
        O[NB] = dw_load_m(dw_at(row, c0 + 1), mk->next_o);
    }
#pragma GCC unroll 5
    for (int kx = 0; kx < KW; kx++) {
        const int dd = kx - PL, odd = dd & 1, s = (dd - odd) / 2;
        const dw_vec *src = odd ? O : E;
#pragma GCC unroll 8
        for (int b = 0; b < NB; b++) {
            t[kx * NB + b] = s == 0  ? src[b]
                             : s < 0 ? dw2_prev(src[b], b > 0 ? src[b - 1] : dw_zero())
                                     : dw2_next(src[b], src[b + 1]);
        }
    }
}

/* Splits the input rows up to last (clamped to the plane) that are not yet in the ring;
 * rows below first are never read. */
DW_AI void dw2_fill(const float *in, int64_t iw, int64_t ih, int64_t first, int64_t last, int64_t *ready,
                    dw2_ring *ring, const dw2_masks *mk, const int KW, const int NB, const int PL) {
    last = last < ih - 1 ? last : ih - 1;
    if (*ready < first) {
        *ready = first;
    }
    for (; *ready <= last; (*ready)++) {
        dw2_split_row(dw_at(in, *ready * iw), mk, dw2_slot(ring, *ready, KW, NB), KW, NB, PL);
    }
}

/* ---- forward ---- */

/* R output rows from y */
DW_AI void dw2_fwd_rows(const pcnn_conv2d_desc *d, const float *in, dw2_ring *ring, int64_t *ready,
                        const dw2_masks *mk, const dw_vec *wv, dw_vec bv, int has_bias, float *out, int64_t y,
                        const int R, const int KH,
                        const int KW, const int NB, const int PL) {
    const int64_t ih = d->ih, iw = d->iw, ow = d->ow, top = 2 * y - d->pad_top;
    dw2_fill(in, iw, ih, top, top + 2 * (R - 1) + KH - 1, ready, ring, mk, KW, NB, PL);
    dw_vec acc[DW2_R_MAX][DW2_NB];
#pragma GCC unroll 8
    for (int r = 0; r < DW2_R_MAX; r++) {
#pragma GCC unroll 8
        for (int b = 0; b < DW2_NB; b++) { /* all of them: the run-time-size body reads only NB */
            acc[r][b] = dw_zero();
        }
    }
#pragma GCC unroll 5
    for (int ky = 0; ky < KH; ky++) {
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const int64_t iy = top + 2 * r + ky;
            if (iy < 0 || iy >= ih) {
                continue;
            }
            const dw_vec *t = dw2_slot(ring, iy, KW, NB);
#pragma GCC unroll 5
            for (int kx = 0; kx < KW; kx++) {
#pragma GCC unroll 8
                for (int b = 0; b < NB; b++) {
                    acc[r][b] = dw_fma(t[kx * NB + b], wv[ky * KW + kx], acc[r][b]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 8
        for (int b = 0; b < NB; b++) {
            const dw_vec v = has_bias ? dw_add(acc[r][b], bv) : acc[r][b];
            dw_store_m(out + (y + r) * ow + VL * b, v, mk->out[b]);
        }
    }
}

DW_AI void dw2_fwd_plane(const pcnn_conv2d_desc *d, const float *in, const float *w, float bias, int has_bias,
                         float *out, const int KH, const int KW, const int NB, const int PL) {
    const int R = DW2_R_FWD(NB);
    dw_vec wv[DW2_K_MAX * DW2_K_MAX];
#pragma GCC unroll 25
    for (int t = 0; t < DW2_K_MAX * DW2_K_MAX; t++) { /* all: the run-time-size body reads only KH * KW */
        wv[t] = t < KH * KW ? dw_set1(w[t]) : dw_zero();
    }
    const dw_vec bv = dw_set1(bias);
    dw2_masks mk;
    dw2_plan_masks(d, NB, &mk);
    dw2_ring ring;
    int64_t ready = 0, y = 0;
    for (; y + R <= d->oh; y += R) {
        dw2_fwd_rows(d, in, &ring, &ready, &mk, wv, bv, has_bias, out, y, R, KH, KW, NB, PL);
    }
    if (R > 4 && y + 4 <= d->oh) {
        dw2_fwd_rows(d, in, &ring, &ready, &mk, wv, bv, has_bias, out, y, 4, KH, KW, NB, PL);
        y += 4;
    }
    if (R > 2 && y + 2 <= d->oh) {
        dw2_fwd_rows(d, in, &ring, &ready, &mk, wv, bv, has_bias, out, y, 2, KH, KW, NB, PL);
        y += 2;
    }
    for (; y < d->oh; y++) {
        dw2_fwd_rows(d, in, &ring, &ready, &mk, wv, bv, has_bias, out, y, 1, KH, KW, NB, PL);
    }
}

/* ---- backward-data ---- */

/* diff_dst and diff_src are asked for as two streams (after the forward input stream,
 * depthwise-s2fwd-simd.h) in place of the whole planes DW2_AHEAD ahead at each task's start: each
 * row step asks for the diff_dst lines from where the last step stopped up to DW2B_PF_LINES past
 * its last dY row, and the diff_src lines (prefetchw) up to DW2B_PFW_LINES past the rows it
 * stores, never past the call's arrays. The lead runs into the next plane, which the next task
 * (the next plane on this thread; at 1 thread always) finds asked for; a task starts its
 * streams at its plane (those first lines again: cheap when already in L1). Measured (README-
 * depthwise.md, session 23): dw3x3_s2 0.88-0.92x, 8x128x56x56 0.46-0.52x the time; the diff_dst
 * stream alone with no diff_src prefetch ~0.99 / ~1.0, with the diff_src burst kept 1.03 / 0.90. */
#ifndef DW2B_PF_LINES
#define DW2B_PF_LINES 16
#endif
#ifndef DW2B_PFW_LINES
#define DW2B_PFW_LINES 16
#endif

/* r[(s + 1) * NB + b] lane j = dY[VL*b + j - s] for s = -1, 0, 1 (0 outside the row of ow floats) */
DW_AI void dw2_shift_dy_row(const float *row, const dw2_masks *mk, dw_vec *r, const int NB, const int NEG,
                            const int POS) {
    dw_vec Y[DW2_NB + 1];
#pragma GCC unroll 8
    for (int b = 0; b <= DW2_NB; b++) { /* from NB on: 0 (ow <= NB * VL) */
        Y[b] = b < NB ? dw_load_m(dw_at(row, VL * (int64_t)b), mk->out[b]) : dw_zero();
    }
#pragma GCC unroll 8
    for (int b = 0; b < NB; b++) {
        r[NB + b] = Y[b];
        if (NEG) {
            r[b] = dw2_next(Y[b], Y[b + 1]);
        }
        if (POS) {
            r[2 * NB + b] = dw2_prev(Y[b], b > 0 ? Y[b - 1] : dw_zero());
        }
    }
}

/* R diff_src rows from iy */
DW_AI void dw2_bwd_rows(const pcnn_conv2d_desc *d, const float *dy, dw2_ring *ring, int64_t *ready,
                        const dw2_masks *mk, const dw_vec *wv, float *ds, int64_t iy, const int R, const int KH,
                        const int KW,
                        const int NB, const int PL, dw2_stream *pf) {
    const int64_t iw = d->iw, oh = d->oh, ow = d->ow, pt = d->pad_top;
    const int NEG = PL >= 1, POS = KW - 1 - PL >= 2; /* some tap has s = -1 / s = +1 */
    /* dY rows y = (iy + r + pt - ky) / 2 over r, ky */
    const int64_t lo = iy + pt - (KH - 1), first = lo <= 0 ? 0 : (lo + 1) / 2;
    const int64_t last = (iy + R - 1 + pt) / 2 < oh - 1 ? (iy + R - 1 + pt) / 2 : oh - 1;
    if (*ready < first) {
        *ready = first;
    }
    if (pf != NULL) { /* pf[0]: diff_dst, pf[1]: diff_src */
        dw2_stream_to(&pf[0], pcnn_float_at(dy, (last + 1) * ow), DW2B_PF_LINES, 0);
        dw2_stream_to(&pf[1], pcnn_float_at(ds, (iy + R) * iw), DW2B_PFW_LINES, 1);
    }
    for (; *ready <= last; (*ready)++) {
        dw2_shift_dy_row(dy + *ready * ow, mk, dw2_slot(ring, *ready, 3, NB), NB, NEG, POS);
    }
    dw_vec E[DW2_R_MAX][DW2_NB], O[DW2_R_MAX][DW2_NB];
#pragma GCC unroll 8
    for (int r = 0; r < DW2_R_MAX; r++) {
#pragma GCC unroll 8
        for (int b = 0; b < DW2_NB; b++) { /* all of them: the run-time-size body reads only NB */
            E[r][b] = dw_zero(), O[r][b] = dw_zero();
        }
    }
#pragma GCC unroll 5
    for (int ky = 0; ky < KH; ky++) {
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const int64_t v = iy + r + pt - ky;
            if (v < 0 || (v & 1) || v / 2 >= oh) {
                continue;
            }
            const dw_vec *t = dw2_slot(ring, v / 2, 3, NB);
#pragma GCC unroll 5
            for (int kx = 0; kx < KW; kx++) {
                const int dd = kx - PL, odd = dd & 1, s = (dd - odd) / 2;
#pragma GCC unroll 8
                for (int b = 0; b < NB; b++) {
                    if (odd) {
                        O[r][b] = dw_fma(t[(s + 1) * NB + b], wv[ky * KW + kx], O[r][b]);
                    } else {
                        E[r][b] = dw_fma(t[(s + 1) * NB + b], wv[ky * KW + kx], E[r][b]);
                    }
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float *row = ds + (iy + r) * iw;
#pragma GCC unroll 8
        for (int b = 0; b < NB; b++) {
            const int64_t c0 = 2 * VL * (int64_t)b;
            if (c0 < iw) {
                dw_store_m(row + c0, dw_interleave_lo(E[r][b], O[r][b]), mk->in_lo[b]);
            }
            if (c0 + VL < iw) {
                dw_store_m(row + c0 + VL, dw_interleave_hi(E[r][b], O[r][b]), mk->in_hi[b]);
            }
        }
    }
}

DW_AI void dw2_bwd_plane(const pcnn_conv2d_desc *d, const float *dy, const float *w, float *ds, const int KH,
                         const int KW, const int NB, const int PL, dw2_stream *pf) {
    const int R = DW2_R_BWD(NB);
    dw_vec wv[DW2_K_MAX * DW2_K_MAX];
#pragma GCC unroll 25
    for (int t = 0; t < DW2_K_MAX * DW2_K_MAX; t++) { /* all: the run-time-size body reads only KH * KW */
        wv[t] = t < KH * KW ? dw_set1(w[t]) : dw_zero();
    }
    dw2_masks mk;
    dw2_plan_masks(d, NB, &mk);
    dw2_ring ring;
    int64_t ready = 0, iy = 0;
    for (; iy + R <= d->ih; iy += R) {
        dw2_bwd_rows(d, dy, &ring, &ready, &mk, wv, ds, iy, R, KH, KW, NB, PL, pf);
    }
    if (R > 2 && iy + 2 <= d->ih) {
        dw2_bwd_rows(d, dy, &ring, &ready, &mk, wv, ds, iy, 2, KH, KW, NB, PL, pf);
        iy += 2;
    }
    for (; iy < d->ih; iy++) {
        dw2_bwd_rows(d, dy, &ring, &ready, &mk, wv, ds, iy, 1, KH, KW, NB, PL, pf);
    }
}

/* ---- backward-weights ---- */

/* Sums of channel ch over every image into wout[KH*KW] (and *bout); 0 when a tap's sum is not
 * finite (then nothing is written). */
DW_AI int dw2_wsum_channel(const dw_job *j, int64_t ch, float *wout, float *bout, const int KH, const int KW,
                           const int NB, const int PL) {
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow, pt = d->pad_top;
    dw_vec acc[DW2_K_MAX * DW2_K_MAX], accb = dw_zero();
#pragma GCC unroll 25
    for (int t = 0; t < DW2_K_MAX * DW2_K_MAX; t++) { /* all: the run-time-size body reads only KH * KW */
        acc[t] = dw_zero();
    }
    dw2_masks mk;
    dw2_plan_masks(d, NB, &mk);
    dw2_ring ring;
    for (int64_t n = 0; n < d->n; n++) {
        const int64_t plane = n * d->c + ch;
        const float *in = j->in + plane * ih * iw, *dy = j->in2 + plane * oh * ow;
        if (n + 1 < d->n) {
            dw_prefetch(in + d->c * ih * iw, ih * iw, 0);
            dw_prefetch(dy + d->c * oh * ow, oh * ow, 0);
        }
        int64_t ready = 0;
        for (int64_t y = 0; y < oh; y++) {
            const int64_t top = 2 * y - pt;
            dw2_fill(in, iw, ih, top, top + KH - 1, &ready, &ring, &mk, KW, NB, PL);
            dw_vec Y[DW2_NB];
#pragma GCC unroll 8
            for (int b = 0; b < DW2_NB; b++) {
                Y[b] = dw_zero();
            }
#pragma GCC unroll 8
            for (int b = 0; b < NB; b++) {
                Y[b] = dw_load_m(dw_at(dy, y * ow + VL * (int64_t)b), mk.out[b]);
                accb = dw_add(accb, Y[b]);
            }
#pragma GCC unroll 5
            for (int ky = 0; ky < KH; ky++) {
                const int64_t iy = top + ky;
                if (iy < 0 || iy >= ih) {
                    continue;
                }
                const dw_vec *t = dw2_slot(&ring, iy, KW, NB);
#pragma GCC unroll 5
                for (int kx = 0; kx < KW; kx++) {
#pragma GCC unroll 8
                    for (int b = 0; b < NB; b++) {
                        acc[ky * KW + kx] = dw_fma(t[kx * NB + b], Y[b], acc[ky * KW + kx]);
                    }
                }
            }
        }
    }
    int finite = 1;
#pragma GCC unroll 25
    for (int t = 0; t < KH * KW; t++) {
        finite &= dw_all_finite(acc[t]);
    }
    if (!finite) {
        return 0;
    }
#pragma GCC unroll 25
    for (int t = 0; t < KH * KW; t++) {
        wout[t] = dw_hsum(acc[t]);
    }
    if (bout != NULL) {
        *bout = dw_hsum(accb);
    }
    return 1;
}

/* Planes are streamed once: ask for the plane DW2_AHEAD ahead (the first task also for the next) */
static void dw2_prefetch_ahead(const float *in, int64_t in_len, const float *out, int64_t out_len, int64_t plane,
                               int64_t planes) {
    if (plane + DW2_AHEAD < planes) {
        dw_prefetch(in + (plane + DW2_AHEAD) * in_len, in_len, 0);
        dw_prefetch(out + (plane + DW2_AHEAD) * out_len, out_len, 1);
    } else if (plane == 0) {
        dw_prefetch_next(in, in_len, out, out_len, plane, planes);
    }
}

static inline int dw2_weights_finite(const pcnn_conv2d_desc *d, const float *w) {
    int finite = 1;
    for (int64_t i = 0; i < d->c * d->kh * d->kw; i++) {
        finite &= isfinite(w[i]) != 0;
    }
    return finite;
}

#ifndef DW2_TEMPLATES_ONLY
/* ---- tasks: constant sizes for 3x3 with pad_left 0 / 1 and 1..4 blocks ---- */

/* CALL(KH, KW, NB, PL) for the constant-size shape classes, CALL_RT for the others */
#define DW2_DISPATCH(d, nb, CALL, CALL_RT)                                                                 \
    do {                                                                                                   \
        const int dw2_k3 = (d)->kh == 3 && (d)->kw == 3 && (d)->pad_left <= 1 && (nb) <= 4;                \
        const int dw2_case = dw2_k3 ? (int)(d)->pad_left * 4 + (int)(nb) : 0;                              \
        switch (dw2_case) {                                                                                \
        case 1: CALL(3, 3, 1, 0); break;                                                                   \
        case 2: CALL(3, 3, 2, 0); break;                                                                   \
        case 3: CALL(3, 3, 3, 0); break;                                                                   \
        case 4: CALL(3, 3, 4, 0); break;                                                                   \
        case 5: CALL(3, 3, 1, 1); break;                                                                   \
        case 6: CALL(3, 3, 2, 1); break;                                                                   \
        case 7: CALL(3, 3, 3, 1); break;                                                                   \
        case 8: CALL(3, 3, 4, 1); break;                                                                   \
        default: CALL_RT((int)(d)->kh, (int)(d)->kw, (int)(nb), (int)(d)->pad_left); break;                \
        }                                                                                                  \
    } while (0)

/* the run-time-size bodies, kept out of line (the bounds told to the compiler: checked by
 * pcnn_dw_s2_geometry) */
#define DW2_BOUNDS(kh, kw, nb)                                                                            \
    if ((kh) < 1 || (kh) > DW2_K_MAX || (kw) < 1 || (kw) > DW2_K_MAX || (nb) < 1 || (nb) > DW2_NB) {      \
        __builtin_unreachable();                                                                           \
    }
static __attribute__((noinline)) void dw2_fwd_plane_rt(const pcnn_conv2d_desc *d, const float *in, const float *w,
                                                      float bias, int has_bias, float *out, int kh, int kw, int nb,
                                                      int pl) {
    DW2_BOUNDS(kh, kw, nb);
    dw2_fwd_plane(d, in, w, bias, has_bias, out, kh, kw, nb, pl);
}
static __attribute__((noinline)) void dw2_bwd_plane_rt(const pcnn_conv2d_desc *d, const float *dy, const float *w,
                                                      float *ds, int kh, int kw, int nb, int pl, dw2_stream *pf) {
    DW2_BOUNDS(kh, kw, nb);
    dw2_bwd_plane(d, dy, w, ds, kh, kw, nb, pl, pf);
}
static __attribute__((noinline)) int dw2_wsum_channel_rt(const dw_job *j, int64_t ch, float *wout, float *bout,
                                                        int kh, int kw, int nb, int pl) {
    DW2_BOUNDS(kh, kw, nb);
    return dw2_wsum_channel(j, ch, wout, bout, kh, kw, nb, pl);
}

static void dw2_fwd_task(void *ctx, int64_t plane) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ch = plane % d->c, nb = pcnn_dw_s2_blocks(d, VL);
    dw2_prefetch_ahead(j->in, d->ih * d->iw, j->out, d->oh * d->ow, plane, d->n * d->c);
    const float *in = j->in + plane * d->ih * d->iw, *w = j->w + ch * d->kh * d->kw;
    float *out = j->out + plane * d->oh * d->ow;
    const int has_bias = j->bias != NULL;
    const float bias = has_bias ? j->bias[ch] : 0.0f;
#define DW2_FWD_CALL(KH, KW, NB, PL) dw2_fwd_plane(d, in, w, bias, has_bias, out, KH, KW, NB, PL)
#define DW2_FWD_RT(KH, KW, NB, PL) dw2_fwd_plane_rt(d, in, w, bias, has_bias, out, KH, KW, NB, PL)
    DW2_DISPATCH(d, nb, DW2_FWD_CALL, DW2_FWD_RT);
#undef DW2_FWD_RT
#undef DW2_FWD_CALL
}

static void dw2_bwd_data_task(void *ctx, int64_t plane) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ch = plane % d->c, nb = pcnn_dw_s2_blocks(d, VL);
    const int64_t op = d->oh * d->ow;
    const float *dy = j->in + plane * op, *w = j->w + ch * d->kh * d->kw;
    float *ds = j->out + plane * d->ih * d->iw;
    dw2_stream pf[2] = {dw2_stream_at(dy, j->in + d->n * d->c * op),
                        dw2_stream_at(ds, j->out + d->n * d->c * d->ih * d->iw)};
    dw2_stream_to(&pf[0], dy, DW2B_PF_LINES, 0);
    dw2_stream_to(&pf[1], ds, DW2B_PFW_LINES, 1);
#define DW2_BWD_CALL(KH, KW, NB, PL) dw2_bwd_plane(d, dy, w, ds, KH, KW, NB, PL, pf)
#define DW2_BWD_RT(KH, KW, NB, PL) dw2_bwd_plane_rt(d, dy, w, ds, KH, KW, NB, PL, pf)
    DW2_DISPATCH(d, nb, DW2_BWD_CALL, DW2_BWD_RT);
#undef DW2_BWD_RT
#undef DW2_BWD_CALL
}

static void dw2_bwd_weights_task(void *ctx, int64_t ch) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t nb = pcnn_dw_s2_blocks(d, VL), k = d->kh * d->kw;
    float *wout = j->out + ch * k, *bout = j->out2 != NULL ? j->out2 + ch : NULL;
    int ok = 0;
#define DW2_BWW_CALL(KH, KW, NB, PL) (ok = dw2_wsum_channel(j, ch, wout, bout, KH, KW, NB, PL))
#define DW2_BWW_RT(KH, KW, NB, PL) (ok = dw2_wsum_channel_rt(j, ch, wout, bout, KH, KW, NB, PL))
    DW2_DISPATCH(d, nb, DW2_BWW_CALL, DW2_BWW_RT);
#undef DW2_BWW_RT
#undef DW2_BWW_CALL
    if (!ok) { /* a non-finite sum: the plane engine, which skips padded taps */
        dw_bwd_weights_task(ctx, ch);
    }
}

/* ---- hooks for the entry points: 1 when the call was served (status in j->failed) ---- */

PCNN_INTERNAL int dw2_fwd(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!pcnn_dw_s2_geometry(d, PCNN_PASS_FWD, VL) || !dw2_weights_finite(d, j->w)) {
        return 0;
    }
    __atomic_fetch_add(&DW_S2_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw2_fwd_task, j);
    return 1;
}

PCNN_INTERNAL int dw2_bwd_data(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!pcnn_dw_s2_geometry(d, PCNN_PASS_BWD_DATA, VL) || !dw2_weights_finite(d, j->w)) {
        return 0;
    }
    __atomic_fetch_add(&DW_S2_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw2_bwd_data_task, j);
    return 1;
}

PCNN_INTERNAL int dw2_bwd_weights(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!pcnn_dw_s2_geometry(d, PCNN_PASS_BWD_WEIGHTS, VL)) {
        return 0;
    }
    __atomic_fetch_add(&DW_S2_RUNS, 1, __ATOMIC_RELAXED);
    pcnn_parallel_for_work(d->c, d->n * d->c * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw2_bwd_weights_task,
                           j);
    return 1;
}

#endif /* DW2_TEMPLATES_ONLY */

#endif /* PCNN_DEPTHWISE_S2_SIMD_H */
