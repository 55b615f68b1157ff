/*
 * Depthwise forward, stride 2, 3x3 (pad_left 0 / 1) and 5x5 (pad_left 1 / 2), dilation 1, rows
 * within two vectors: the
 * stride-2 row engine's split rows (depthwise-s2-simd.h) kept in registers instead of a ring on
 * the stack. Part of the depthwise-simd.h template (included after it by
 * depthwise-s2fwd-<isa>.c); geometry shared with that engine (depthwise-s2.h).
 *
 * Why: with the planes in L2 (1x256x28x28) the row engine took ~350 cycles per plane against
 * oneDNN's ~155 (which is near its FMA count): the split rows went through a ring on the stack
 * (three stores and nine reloads per input row pair) and a per-plane set-up for four blocks.
 * Here an input row is loaded once (masked to the row), split into even / odd columns and
 * its three tap vectors (column 2x + kx - pl = lane x of E or O shifted by at most one lane)
 * stay in registers for the output rows that read it: R output rows per step read 2R + 1
 * input rows, the last of which is the first of the next step.
 *
 * Arithmetic as the row engine's: lanes outside a row (and rows outside the plane) are zeros
 * multiplied by a finite weight (calls with a non-finite weight are declined: the other engines
 * take them); per output element the taps are summed ky-major from +0, then the bias added.
 * A task takes DW2F_TASK_PLANES consecutive planes, each computed alone: nothing depends on the
 * thread count.
 */
#ifndef PCNN_DEPTHWISE_S2FWD_SIMD_H
#define PCNN_DEPTHWISE_S2FWD_SIMD_H

#include "kernels/conv2d/depthwise-s2.h"

/* calls served (tests check that their shapes reach it) */
#define DW_S2FWD_RUNS DW_ENGINE(pcnn_conv2d_depthwise_s2fwd_runs)
PCNN_INTERNAL int64_t DW_S2FWD_RUNS;
PCNN_INTERNAL int64_t DW_S2FWD_RUNS = 0;

#define DW2F_NB 2 /* column blocks of VL lanes at most */
/* Consecutive planes per task: the masks and the shape switch once per task, one call per 16
 * planes (dw3x3_s2: 0.96x the time of one plane per task with the planes in cache, 1.00x at
 * 8x256x28x28; results do not depend on it: a plane is computed the same way in any task). */
#define DW2F_TASK_PLANES 16

static int dw2f_geometry(const pcnn_conv2d_desc *d) {
    if (!pcnn_dw_s2_geometry(d, PCNN_PASS_FWD, VL) || pcnn_dw_s2_blocks(d, VL) > DW2F_NB || d->kh != d->kw) {
        return 0;
    }
    return (d->kh == 3 && d->pad_left <= 1) || (d->kh == 5 && d->pad_left >= 1 && d->pad_left <= 2);
}

/* The three tap vectors of an input row inside the plane (t[kx][b] lane j =
 * row[2(VL*b + j) + kx - PL], 0 outside the row). */
DW_AI void dw2f_split_row(const float *row, const dw_mask *mlo, const dw_mask *mhi, dw_vec (*t)[DW2F_NB],
                          const int NB, const int PL) {
    dw_vec E[DW2F_NB + 1], O[DW2F_NB + 1];
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        const dw_vec lo = dw_load_m(dw_at(row, 2 * VL * (int64_t)b), mlo[b]);
        const dw_vec hi = dw_load_m(dw_at(row, 2 * VL * (int64_t)b + VL), mhi[b]);
        E[b] = dw_even(lo, hi), O[b] = dw_odd(lo, hi);
    }
    if (PL == 0) { /* kx = 2: E shifted by +1, lane 0 of the next block (column 2 * VL * NB) */
        E[NB] = dw_load_m(dw_at(row, 2 * VL * (int64_t)NB), mlo[NB]);
    }
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        if (PL == 1) { /* kx - 1 = -1, 0, 1: O shifted by -1, E, O */
            t[0][b] = dw2_prev(O[b], b > 0 ? O[b - 1] : dw_zero());
            t[1][b] = E[b];
            t[2][b] = O[b];
        } else { /* kx = 0, 1, 2: E, O, E shifted by +1 */
            t[0][b] = E[b];
            t[1][b] = O[b];
            t[2][b] = dw2_next(E[b], E[b + 1]);
        }
    }
}

/* The same for input row iy; zeros when the row is outside the plane. */
DW_AI void dw2f_load_row(const float *in, int64_t iw, int64_t ih, int64_t iy, const dw_mask *mlo, const dw_mask *mhi,
                         dw_vec (*t)[DW2F_NB], const int NB, const int PL) {
    if (iy < 0 || iy >= ih) {
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
#pragma GCC unroll 2
            for (int b = 0; b < NB; b++) {
                t[kx][b] = dw_zero();
            }
        }
        return;
    }
    dw2f_split_row(in + iy * iw, mlo, mhi, t, NB, PL);
}

/* The input is asked for as a stream running DW2F_PF_LINES lines ahead of the rows being read:
 * each row step asks for the lines from where the last step stopped up to that distance past
 * its last row (pf->next: the first line not yet asked for; never past the call's input). The
 * task's planes are consecutive, so the stream crosses planes without a burst. Against the
 * whole next plane asked for at its start (49 lines for 28x28, 196 for 56x56), 1 thread, both
 * orders, dw3x3_s2: 4 / 8 / 12 / 16 / 24 / 32 lines 0.94 / 0.93-0.97 / 0.95 / 0.95-0.975 / 0.99 /
 * 1.01, 8x128x56x56 0.79 / 0.77-0.82 / 0.81 / 0.73-0.77 / 0.80 / 0.75; no software prefetch at all
 * 0.97-0.985; a distance of a fraction of a plane (spread the same way) 1/2: 0.99, 1: 1.03, 2: 1.03;
 * 8 against 16 lines: dw3x3_s2 0.98-0.99, 56x56 1.02 (README-depthwise.md, session 23). */
#define DW2F_PF_LINES 16

/* The stream of a task starting at plane p0 (its first lines asked for now). */
DW_AI dw2_stream dw2f_pf_start(const dw_job *j, int64_t p0) {
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ip = d->ih * d->iw;
    const float *in0 = j->in + p0 * ip;
    dw2_stream pf = dw2_stream_at(in0, j->in + d->n * d->c * ip);
    dw2_stream_to(&pf, in0, DW2F_PF_LINES, 0);
    return pf;
}

/* The plane's sizes, read once per task into locals (the stores through `out` could alias the
 * descriptor as far as the compiler knows, so d->ow was loaded again for every store). */
typedef struct {
    int64_t ih, iw, oh, ow, pt;
} dw2f_dims;

/* Steps with INSIDE rows skip the row checks at AVX2 only: against the checked steps (1 thread,
 * both orders, README-depthwise.md session 26) AVX2 dw3x3_s2 0.93x the time, AVX-512 1.02x
 * (dw3x3_s2, 8x128x56x56 and 1x64x28x28 alike). */
#define DW2F_UNCHECKED_STEPS (VL == 8)

/* R output rows from y, reading input rows 2y - pt + 0 .. 2R (row 0 already in rows[0]).
 * INSIDE: rows 1 .. 2R all lie in the plane (no row checks; every step but the first / last
 * of most planes). */
DW_AI void dw2f_rows(const dw2f_dims *g, const float *in, const dw_mask *mlo, const dw_mask *mhi,
                     const dw_mask *mout, const dw_vec *wv, dw_vec bv, int has_bias, float *out, int64_t y,
                     dw_vec (*rows)[3][DW2F_NB], const int R, const int NB, const int PL, const int INSIDE,
                     dw2_stream *pf) {
    const int64_t top = 2 * y - g->pt, iw = g->iw, ow = g->ow;
    dw2_stream_to(pf, pcnn_float_at(in, (top + 2 * R + 1) * iw), DW2F_PF_LINES, 0);
    if (INSIDE) {
        const float *row = in + (top + 1) * iw;
#pragma GCC unroll 4
        for (int r = 1; r <= 2 * R; r++) {
            dw2f_split_row(row, mlo, mhi, rows[r], NB, PL);
            row += iw;
        }
    } else {
#pragma GCC unroll 4
        for (int r = 1; r <= 2 * R; r++) {
            dw2f_load_row(in, iw, g->ih, top + r, mlo, mhi, rows[r], NB, PL);
        }
    }
    float *orow = out + y * ow;
#pragma GCC unroll 2
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 2
        for (int b = 0; b < NB; b++) {
            dw_vec acc = dw_zero();
#pragma GCC unroll 3
            for (int ky = 0; ky < 3; ky++) {
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++) {
                    acc = dw_fma(rows[2 * r + ky][kx][b], wv[ky * 3 + kx], acc);
                }
            }
            if (has_bias) {
                acc = dw_add(acc, bv);
            }
            dw_store_m(orow + VL * (int64_t)b, acc, mout[b]);
        }
        orow += ow;
    }
#pragma GCC unroll 3
    for (int kx = 0; kx < 3; kx++) {
#pragma GCC unroll 2
        for (int b = 0; b < NB; b++) {
            rows[0][kx][b] = rows[2 * R][kx][b];
        }
    }
}

/* The masks of a row: iw floats from 2*VL*b (lo), 2*VL*b + VL (hi), ow floats from VL*b (out). */
typedef struct {
    dw_mask lo[DW2F_NB + 1], hi[DW2F_NB + 1], out[DW2F_NB];
} dw2f_masks;

DW_AI void dw2f_masks_init(const pcnn_conv2d_desc *d, dw2f_masks *m, const int NB, const int PL) {
#pragma GCC unroll 3
    for (int b = 0; b <= NB; b++) {
        m->lo[b] = dw_lanes(0, d->iw - 2 * VL * b);
        m->hi[b] = dw_lanes(0, d->iw - 2 * VL * b - VL);
        if (b < NB) {
            m->out[b] = dw_lanes(0, d->ow - VL * b);
        }
    }
    if (PL == 0) { /* the next block's lane 0 only */
        m->lo[NB] = dw_lanes(0, d->iw - 2 * VL * NB < 1 ? d->iw - 2 * VL * NB : 1);
    }
}

DW_AI void dw2f_plane(const dw2f_dims *g, const dw2f_masks *m, const float *in, const float *w, float bias,
                      int has_bias, float *out, const int NB, const int PL, dw2_stream *pf) {
    const int R = NB == 1 ? 2 : 1; /* registers: (2R + 1) * 3 * NB tap vectors, 9 weights */
    const dw_mask *mlo = m->lo, *mhi = m->hi, *mout = m->out;
    dw_vec wv[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        wv[t] = dw_set1(w[t]);
    }
    const dw_vec bv = dw_set1(bias);
    dw_vec rows[5][3][DW2F_NB];
    dw2f_load_row(in, g->iw, g->ih, -g->pt, mlo, mhi, rows[0], NB, PL);
    int64_t y = 0;
    for (; y + R <= g->oh; y += R) {
        const int64_t top = 2 * y - g->pt;
        if (DW2F_UNCHECKED_STEPS && top + 1 >= 0 && top + 2 * R < g->ih) {
            dw2f_rows(g, in, mlo, mhi, mout, wv, bv, has_bias, out, y, rows, R, NB, PL, 1, pf);
        } else {
            dw2f_rows(g, in, mlo, mhi, mout, wv, bv, has_bias, out, y, rows, R, NB, PL, 0, pf);
        }
    }
    if (R == 2 && y < g->oh) {
        dw2f_rows(g, in, mlo, mhi, mout, wv, bv, has_bias, out, y, rows, 1, NB, PL, 0, pf);
    }
}

/* Planes [p0, p1) of a 3x3 call: the masks and the shape class once per task, not per plane. */
DW_AI void dw2f_planes(const dw_job *j, int64_t p0, int64_t p1, const int NB, const int PL) {
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ip = d->ih * d->iw, op = d->oh * d->ow;
    dw2f_masks m;
    dw2f_masks_init(d, &m, NB, PL);
    const dw2f_dims g = {d->ih, d->iw, d->oh, d->ow, d->pad_top};
    const int has_bias = j->bias != NULL;
    int64_t ch = p0 % d->c;
    dw2_stream pf = dw2f_pf_start(j, p0);
    for (int64_t plane = p0; plane < p1; plane++) {
        dw2f_plane(&g, &m, j->in + plane * ip, j->w + ch * 9, has_bias ? j->bias[ch] : 0.0f, has_bias,
                   j->out + plane * op, NB, PL, &pf);
        if (++ch == d->c) {
            ch = 0;
        }
    }
}

/* ---- 5x5 (pad_left 1 / 2): the same with K tap vectors per row, one output row per step. Kept
 * apart from the 3x3 code above: one generic body for both, with arrays sized for 5x5, measured
 * the 3x3 rows 25% slower (dw3x3_s2 118-128 vs 155-170 us). ---- */

#define DW2F5_K 5

typedef struct {
    dw_mask lo[DW2F_NB], hi[DW2F_NB]; /* a row of iw floats from 2*VL*b, 2*VL*b + VL */
    dw_mask next_e, next_o;           /* floats 2*VL*NB, 2*VL*NB + 1 of it (lane 0) */
    dw_mask out[DW2F_NB];             /* a row of ow floats from VL*b */
} dw2f5_masks;

/* The K tap vectors of input row iy (t[kx][b] lane j = row[2(VL*b + j) + kx - PL], 0 outside
 * the row); zeros when the row is outside the plane. */
DW_AI void dw2f5_load_row(const float *in, int64_t iw, int64_t ih, int64_t iy, const dw2f5_masks *mk,
                         dw_vec (*t)[DW2F_NB], const int K, const int NB, const int PL) {
    if (iy < 0 || iy >= ih) {
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) {
#pragma GCC unroll 2
            for (int b = 0; b < NB; b++) {
                t[kx][b] = dw_zero();
            }
        }
        return;
    }
    const float *row = in + iy * iw;
    dw_vec E[DW2F_NB + 1], O[DW2F_NB + 1];
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        const dw_vec lo = dw_load_m(dw_at(row, 2 * VL * (int64_t)b), mk->lo[b]);
        const dw_vec hi = dw_load_m(dw_at(row, 2 * VL * (int64_t)b + VL), mk->hi[b]);
        E[b] = dw_even(lo, hi), O[b] = dw_odd(lo, hi);
    }
    if (K - 1 - PL >= 2) { /* a shift of +1: lane 0 of the next block (columns 2 * VL * NB, + 1) */
        E[NB] = dw_load_m(dw_at(row, 2 * VL * (int64_t)NB), mk->next_e);
        O[NB] = dw_load_m(dw_at(row, 2 * VL * (int64_t)NB + 1), mk->next_o);
    }
#pragma GCC unroll 5
    for (int kx = 0; kx < K; kx++) {
        const int dd = kx - PL, p = dd & 1, s = (dd - p) / 2;
        const dw_vec *P = p ? O : E;
#pragma GCC unroll 2
        for (int b = 0; b < NB; b++) {
            t[kx][b] = s == 0  ? P[b]
                       : s < 0 ? dw2_prev(P[b], b > 0 ? P[b - 1] : dw_zero())
                               : dw2_next(P[b], P[b + 1]);
        }
    }
}

/* R output rows from y, reading input rows 2y - pt + 0 .. 2R + K - 3 (rows 0 .. K - 3 already in
 * rows[]). */
DW_AI void dw2f5_rows(const pcnn_conv2d_desc *d, const float *in, const dw2f5_masks *mk,
                     const dw_vec *wv, dw_vec bv, int has_bias, float *out, int64_t y,
                     dw_vec (*rows)[DW2F5_K][DW2F_NB], const int R, const int K, const int NB, const int PL,
                     dw2_stream *pf) {
    const int64_t top = 2 * y - d->pad_top, ih = d->ih, iw = d->iw;
    dw2_stream_to(pf, in + (top + 2 * R + K - 2) * iw, DW2F_PF_LINES, 0);
#pragma GCC unroll 5
    for (int r = K - 2; r < 2 * R + K - 2; r++) {
        dw2f5_load_row(in, iw, ih, top + r, mk, rows[r], K, NB, PL);
    }
#pragma GCC unroll 2
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 2
        for (int b = 0; b < NB; b++) {
            dw_vec acc = dw_zero();
#pragma GCC unroll 5
            for (int ky = 0; ky < K; ky++) {
#pragma GCC unroll 5
                for (int kx = 0; kx < K; kx++) {
                    acc = dw_fma(rows[2 * r + ky][kx][b], wv[ky * K + kx], acc);
                }
            }
            if (has_bias) {
                acc = dw_add(acc, bv);
            }
            dw_store_m(out + (y + r) * d->ow + VL * (int64_t)b, acc, mk->out[b]);
        }
    }
    /* the window moves down 2R rows: keep the K - 2 shared ones */
#pragma GCC unroll 3
    for (int r = 0; r < K - 2; r++) {
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) {
#pragma GCC unroll 2
            for (int b = 0; b < NB; b++) {
                rows[r][kx][b] = rows[2 * R + r][kx][b];
            }
        }
    }
}

DW_AI void dw2f5_plane(const pcnn_conv2d_desc *d, const float *in, const float *w, float bias,
                      int has_bias, float *out, const int K, const int NB, const int PL, dw2_stream *pf) {
    const int R = 1; /* registers: K * K * NB tap vectors, K * K weights (some spilled) */
    dw2f5_masks mk;
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        mk.lo[b] = dw_lanes(0, d->iw - 2 * VL * b);
        mk.hi[b] = dw_lanes(0, d->iw - 2 * VL * b - VL);
        mk.out[b] = dw_lanes(0, d->ow - VL * b);
    }
    const int64_t c0 = 2 * VL * NB;
    mk.next_e = dw_lanes(0, d->iw - c0 < 1 ? d->iw - c0 : 1);
    mk.next_o = dw_lanes(0, d->iw - c0 - 1 < 1 ? d->iw - c0 - 1 : 1);
    dw_vec wv[DW2F5_K * DW2F5_K];
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++) {
        wv[t] = dw_set1(w[t]);
    }
    const dw_vec bv = dw_set1(bias);
    dw_vec rows[5][DW2F5_K][DW2F_NB]; /* 2R + K - 2 <= 5 */
#pragma GCC unroll 3
    for (int r = 0; r < K - 2; r++) {
        dw2f5_load_row(in, d->iw, d->ih, r - d->pad_top, &mk, rows[r], K, NB, PL);
    }
    int64_t y = 0;
    for (; y + R <= d->oh; y += R) {
        dw2f5_rows(d, in, &mk, wv, bv, has_bias, out, y, rows, R, K, NB, PL, pf);
    }
}

/* out of line: inlined into the task, the 5x5 bodies slowed its 3x3 paths (dw3x3_s2 112 -> 140-220 us) */
static __attribute__((noinline)) void dw2f5_plane_ool(const pcnn_conv2d_desc *d, const float *in, const float *w,
                                                      float bias, int has_bias, float *out, int nb, int pl,
                                                      dw2_stream *pf) {
    switch (nb * 10 + pl) {
    case 11: dw2f5_plane(d, in, w, bias, has_bias, out, 5, 1, 1, pf); break;
    case 12: dw2f5_plane(d, in, w, bias, has_bias, out, 5, 1, 2, pf); break;
    case 21: dw2f5_plane(d, in, w, bias, has_bias, out, 5, 2, 1, pf); break;
    default: dw2f5_plane(d, in, w, bias, has_bias, out, 5, 2, 2, pf); break; /* 22: dw2f_geometry */
    }
}

static void dw2f_task(void *ctx, int64_t task) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t nb = pcnn_dw_s2_blocks(d, VL), ip = d->ih * d->iw, planes = d->n * d->c;
    const int64_t p0 = task * DW2F_TASK_PLANES;
    const int64_t p1 = p0 + DW2F_TASK_PLANES < planes ? p0 + DW2F_TASK_PLANES : planes;
    switch ((int)(d->kh * 100 + nb * 10 + d->pad_left)) {
    case 310: dw2f_planes(j, p0, p1, 1, 0); return;
    case 311: dw2f_planes(j, p0, p1, 1, 1); return;
    case 320: dw2f_planes(j, p0, p1, 2, 0); return;
    case 321: dw2f_planes(j, p0, p1, 2, 1); return;
    default: break; /* 5x5 */
    }
    dw2_stream pf = dw2f_pf_start(j, p0);
    for (int64_t plane = p0; plane < p1; plane++) {
        const int64_t ch = plane % d->c;
        dw2f5_plane_ool(d, j->in + plane * ip, j->w + ch * d->kh * d->kw, j->bias != NULL ? j->bias[ch] : 0.0f,
                        j->bias != NULL, j->out + plane * d->oh * d->ow, (int)nb, (int)d->pad_left, &pf);
    }
}

/* Serves the call (1) or declines (0); tried before the stride-2 row engine. */
PCNN_INTERNAL int dw_s2fwd_fwd(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!dw2f_geometry(d)) {
        return 0;
    }
    for (int64_t i = 0; i < d->c * d->kh * d->kw; i++) {
        if (!isfinite(j->w[i])) {
            return 0;
        }
    }
    __atomic_fetch_add(&DW_S2FWD_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work((planes + DW2F_TASK_PLANES - 1) / DW2F_TASK_PLANES,
                           planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw2f_task, j);
    return 1;
}

#endif /* PCNN_DEPTHWISE_S2FWD_SIMD_H */
