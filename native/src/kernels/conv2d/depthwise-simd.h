/*
 * Depthwise conv2d (groups == c == oc), AVX-512 / AVX2 template: the shared core of every
 * depthwise translation unit, after the ISA's vector primitives (depthwise-vec-avx512.h /
 * depthwise-vec-avx2.h: dw_* below). Geometry and AUTO rule: depthwise-scalar.c.
 *
 * Files: this core (grid, column masks, gather / row-reuse / weight-sum templates, dw_job); the
 * plane engine's tasks and the entry points (depthwise-plane-simd.h, in depthwise-<isa>.c); one
 * translation unit per other engine (depthwise-plane-bww-<isa>.c, -lanes-, -s2-, -wsum3-), declared at the
 * end of this file.
 *
 * Two engines. The channels-in-lanes engine (depthwise-lanes-simd.h, included below) is tried
 * first: it takes backward-weights, and forward / backward-data with a stride of 2, when its
 * scratch fits (rule and measurements: pcnn_depthwise_lanes_frame in depthwise-scalar.c); it
 * hands channel blocks with non-finite weights (or sums) back to the plane engine here.
 *
 * The stride-2 row engine (depthwise-s2-simd.h: rows split into even / odd columns once, no
 * transposes) is tried before both for stride-2 forward / backward-data, and after the lanes
 * engine for stride-2 backward-weights; its geometry: depthwise-s2.h.
 *
 * The plane engine works on one (image, channel) plane at a time, which for MobileNet-sized
 * planes sits in L1: one pass over the input and the output, vectors along the row.
 *
 * One engine, the "gather" over a grid of taps (ky, kx):
 *   out[y][x] = sum over ky, kx of w[ky][kx] * plane[kx][y*ry + dy[ky]][x + dx[kx]],
 * every tap reading a plane with unit column stride:
 *   - forward, stride-1 columns: plane = the src plane, dy = ky*dil - pad_top, dx = kx*dil - pad_left;
 *   - forward, stride-2 columns: the src plane is first split into its even and odd columns
 *     (scratch planes), so input column 2x + dx is column x + floor(dx/2) of one of them;
 *   - backward-data: diff_src row sy*j + py, column sx*i + px (one "parity class" per (py, px))
 *     is a gather from diff_dst over the taps whose offsets divide by the stride (a sub-grid);
 *     with stride-2 columns the classes go to scratch planes, then are interleaved into diff_src.
 * Backward-weights reuses the forward grid: per tap, the sum over the plane of diff_dst * input,
 * one vector accumulator per tap (and one for the bias), reduced once per channel.
 * 3x3 grids and the sub-grids of 3x3 stride 2 are compiled with constant sizes (the taps'
 * weights and the accumulators stay in registers); other kernel sizes take the same code with
 * run-time sizes.
 *
 * Edges: output rows whose taps all read inside the input take the unchecked path (several
 * rows at once: independent FMA chains); the few border rows check each tap row. Columns: each
 * (kx, column block) has a lane mask of the lanes that read inside the row; loads are masked
 * (never touching memory outside the plane) and the padded lanes' products are skipped, not
 * multiplied as zeros, so Inf/NaN behave as in the scalar kernel. AVX-512 masks the FMA for
 * free. AVX2 has to blend, so it multiplies the (zero-loaded) padded lanes instead when that
 * cannot differ: forward / backward-data when the channel's weights are finite (w * 0 = +-0
 * leaves a sum unchanged: a sum that starts at +0 is never -0), backward-weights when the
 * channel's sums come out finite (else the channel is summed again with blends).
 *
 * Determinism: a forward / backward-data task writes one plane; a backward-weights task owns
 * one channel and sums over images, rows and column blocks in a fixed order. Nothing depends
 * on the thread count.
 */
#ifndef PCNN_DEPTHWISE_SIMD_H
#define PCNN_DEPTHWISE_SIMD_H

#include <math.h>
#include <stdint.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"

#if !defined(PCNN_DW_AVX512) && !defined(PCNN_DW_AVX2)
#error "include depthwise-vec-avx512.h or depthwise-vec-avx2.h before depthwise-simd.h"
#endif

#define NB_MAX 4     /* column blocks of VL per chunk */
#define DW_MAX_K PCNN_DW_MAX_TAPS /* kh or kw alone can be up to the tap limit (1x49) */
/* Forced inlining turns the constant sizes into one fully unrolled body per shape class: fast,
 * but a large amount of code. Instrumented builds (sanitizers, fuzzing) define
 * PCNN_INSTRUMENTED_BUILD: the same source with the compiler choosing what to inline, which clang
 * with ASan/UBSan compiles in seconds instead of many minutes (same results: nothing here depends
 * on inlining but speed). */
#if defined(PCNN_INSTRUMENTED_BUILD)
#define DW_AI static inline
#else
#define DW_AI static inline __attribute__((always_inline))
#endif

typedef struct {
    int64_t nky, nkx;                 /* taps: nky x nkx */
    int64_t ry, rs, rows;             /* input row = y * ry + dy[ky]; row stride; rows */
    int64_t sx;                       /* 2: strided loads, input column = 2x + dx (3x3 only) */
    int64_t dy[DW_MAX_K];             /* per ky */
    const float *plane[DW_MAX_K];     /* per kx: user plane or deinterleaved scratch */
    int64_t cols[DW_MAX_K], dx[DW_MAX_K]; /* per kx: columns in range; input column = x + dx */
    float w[PCNN_DW_MAX_TAPS];        /* [ky * nkx + kx] */
    float *out;                       /* output plane (backward-weights: diff_dst, read only) */
    int64_t ors, oh, ow;              /* its row stride, rows, columns */
    float bias;
    int has_bias;
} dw_grid;

/* p + off floats without forming an out-of-object pointer in C (masked lanes are never touched) */
static inline const float *dw_at(const float *p, int64_t off) {
    return (const float *)((uintptr_t)p + (uintptr_t)(off * (int64_t)sizeof(float)));
}

/* Output rows [*ya, *yb) read every tap row inside the input. */
static inline void dw_interior_rows(const dw_grid *g, int64_t *ya, int64_t *yb) {
    int64_t lo = 0, hi = g->oh;
    for (int64_t ky = 0; ky < g->nky; ky++) {
        /* y*ry + dy >= 0  and  y*ry + dy <= rows - 1 */
        const int64_t dy = g->dy[ky];
        const int64_t a = dy >= 0 ? 0 : (-dy + g->ry - 1) / g->ry;
        const int64_t last = g->rows - 1 - dy;
        const int64_t b = last < 0 ? 0 : last / g->ry + 1;
        lo = a > lo ? a : lo;
        hi = b < hi ? b : hi;
    }
    *ya = lo < g->oh ? lo : g->oh;
    *yb = hi > *ya ? hi : *ya;
}

/* One chunk of up to NB_MAX column blocks from x0: lane masks and the taps' column bases. */
typedef struct {
    dw_mask m[DW_MAX_K][NB_MAX]; /* [kx][b]: lanes < nl reading inside the row */
    dw_mask lo[3][NB_MAX], hi[3][NB_MAX]; /* sx == 2: the two loads' masks (in-row floats) */
    dw_mask tail[NB_MAX];        /* lanes < nl */
    int64_t nl[NB_MAX];
    const float *base[DW_MAX_K]; /* [kx]: plane + x0 + dx */
    int nb;
} dw_cols;

static inline void dw_plan_cols(const dw_grid *g, int64_t x0, dw_cols *c) {
    c->nb = 0;
    for (int b = 0; b < NB_MAX && x0 + b * VL < g->ow; b++) {
        const int64_t nl = g->ow - x0 - b * VL < VL ? g->ow - x0 - b * VL : VL;
        c->nl[b] = nl;
        c->tail[b] = dw_lanes(0, nl);
        c->nb = b + 1;
        for (int64_t kx = 0; kx < g->nkx; kx++) {
            if (g->sx == 1) {
                const int64_t c0 = x0 + b * VL + g->dx[kx];
                c->m[kx][b] = dw_lanes(-c0, g->cols[kx] - c0 < nl ? g->cols[kx] - c0 : nl);
            } else {
                /* lane l reads column c0 + 2l of the 2*VL floats from c0 */
                const int64_t c0 = 2 * (x0 + b * VL) + g->dx[kx], end = g->cols[kx] - c0;
                const int64_t lo = c0 >= 0 ? 0 : (-c0 + 1) / 2, hi = end > 0 ? (end + 1) / 2 : 0;
                c->m[kx][b] = dw_lanes(lo, hi < nl ? hi : nl);
                c->lo[kx][b] = dw_lanes(-c0, end);
                c->hi[kx][b] = dw_lanes(-c0 - VL, end - VL);
            }
        }
    }
    for (int64_t kx = 0; kx < g->nkx; kx++) {
        c->base[kx] = dw_at(g->plane[kx], g->sx * x0 + g->dx[kx]);
    }
}

/* Block b of a tap row (sx == 2: the even floats of 2*VL, picked from two masked loads). */
DW_AI dw_vec dw_tap_load(const float *base, int64_t off, int b, dw_mask m, dw_mask lo, dw_mask hi, const int SX) {
    if (SX == 1) {
        return dw_load_m(dw_at(base, off + b * VL), m);
    }
    return dw_even(dw_load_m(dw_at(base, off + 2 * b * VL), lo), dw_load_m(dw_at(base, off + 2 * b * VL + VL), hi));
}

/* acc + v * w over the lanes of m; EXACT = 0 may multiply the zero-loaded other lanes too */
DW_AI dw_vec dw_tap_fma(dw_vec v, dw_vec w, dw_vec acc, dw_mask m, const int EXACT) {
    return EXACT ? dw_fma_m(v, w, acc, m) : dw_fma(v, w, acc);
}

/* ---- forward / backward-data: the gather ---- */

/* R output rows from y of one chunk; R, NB, CHECKED, EXACT (and KY, KX for 3x3 and its
 * stride-2 sub-grids) are constants at every call, so the R*NB accumulators stay in registers. */
DW_AI void dw_gather_rows(const dw_grid *g, const dw_cols *c, int64_t x0, int64_t y, const int R,
                          const int NB, const int64_t KY, const int64_t KX, const int CHECKED,
                          const int EXACT) {
    dw_vec acc[8][NB_MAX];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            acc[r][b] = dw_zero();
        }
    }
#pragma GCC unroll 3
    for (int64_t ky = 0; ky < KY; ky++) {
        int64_t off[8];
        int ok[8];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const int64_t iy = (y + r) * g->ry + g->dy[ky];
            ok[r] = !CHECKED || (iy >= 0 && iy < g->rows);
            off[r] = iy * g->rs;
        }
#pragma GCC unroll 3
        for (int64_t kx = 0; kx < KX; kx++) {
            const dw_vec wv = dw_set1(g->w[ky * KX + kx]);
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) {
                const dw_mask m = c->m[kx][b];
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    if (ok[r]) {
                        const dw_vec v = dw_load_m(dw_at(c->base[kx], off[r] + b * VL), m);
                        acc[r][b] = dw_tap_fma(v, wv, acc[r][b], m, EXACT);
                    }
                }
            }
        }
    }
    const dw_vec bias = dw_set1(g->bias);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float *orow = g->out + (y + r) * g->ors + x0;
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            const dw_vec v = g->has_bias ? dw_add(acc[r][b], bias) : acc[r][b];
            if (c->nl[b] == VL) {
                dw_storeu(orow + b * VL, v);
            } else {
                dw_store_m(orow + b * VL, v, c->tail[b]);
            }
        }
    }
}

DW_AI void dw_gather_chunk(const dw_grid *g, const dw_cols *c, int64_t x0, int64_t ya, int64_t yb,
                           const int NB, const int R, const int64_t KY, const int64_t KX, const int EXACT) {
    int64_t y = 0;
    for (; y < ya; y++) {
        dw_gather_rows(g, c, x0, y, 1, NB, KY, KX, 1, EXACT);
    }
    for (; y + R <= yb; y += R) {
        dw_gather_rows(g, c, x0, y, R, NB, KY, KX, 0, EXACT);
    }
    for (; y < yb; y++) {
        dw_gather_rows(g, c, x0, y, 1, NB, KY, KX, 0, EXACT);
    }
    for (; y < g->oh; y++) {
        dw_gather_rows(g, c, x0, y, 1, NB, KY, KX, 1, EXACT);
    }
}

/*
 * Row reuse (tap rows at consecutive offsets dy[0] + ky, row step RY = 1 or 2): R output rows
 * read the (R-1)*RY + KY input rows from y*RY + dy[0]; each input row vector is loaded once
 * per (kx, block) and feeds every output row whose tap grid covers it.
 */
DW_AI void dw_reuse_rows(const dw_grid *g, const dw_cols *c, const dw_vec *wv, const dw_mask (*mk)[NB_MAX],
                         const dw_mask (*mlo)[NB_MAX], const dw_mask (*mhi)[NB_MAX],
                         const float *const *base, const dw_mask *mc, int64_t x0, int64_t y, const int R,
                         const int NB, const int KY, const int KX, const int RY, const int SX, const int SH,
                         const int CHECKED, const int EXACT) {
    dw_vec acc[8][NB_MAX];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            acc[r][b] = dw_zero();
        }
    }
#pragma GCC unroll 24
    for (int i = 0; i < (R - 1) * RY + KY; i++) {
        const int64_t iy = y * RY + g->dy[0] + i;
        if (CHECKED && (iy < 0 || iy >= g->rows)) {
            continue;
        }
        const int64_t off = iy * g->rs;
#if DW_SHIFT
        /* SH: the centre column's vectors (and a neighbour each side) loaded once, the side
         * columns shifted out of them (their lanes outside the row load as zeros: mc) */
        dw_vec cv[NB_MAX + 2];
        if (SH) {
#pragma GCC unroll 6
            for (int b = -1; b <= NB; b++) {
                cv[b + 1] = dw_load_m(dw_at(base[1], off + b * VL), mc[b + 1]);
            }
        }
#endif
#pragma GCC unroll 3
        for (int kx = 0; kx < KX; kx++) {
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) {
#if DW_SHIFT
                const dw_vec v = SH ? dw_shift(cv[b], cv[b + 1], cv[b + 2], SH * (kx - 1))
                                    : dw_tap_load(base[kx], off, b, mk[kx][b], mlo[kx][b], mhi[kx][b], SX);
#else
                (void)mc, (void)SH;
                const dw_vec v = dw_tap_load(base[kx], off, b, mk[kx][b], mlo[kx][b], mhi[kx][b], SX);
#endif
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    const int ky = i - r * RY;
                    if (ky >= 0 && ky < KY) {
                        acc[r][b] = dw_tap_fma(v, wv[ky * KX + kx], acc[r][b], mk[kx][b], EXACT);
                    }
                }
            }
        }
    }
    const dw_vec bias = dw_set1(g->bias);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float *orow = g->out + (y + r) * g->ors + x0;
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            const dw_vec v = g->has_bias ? dw_add(acc[r][b], bias) : acc[r][b];
            if (c->nl[b] == VL) {
                dw_storeu(orow + b * VL, v);
            } else {
                dw_store_m(orow + b * VL, v, c->tail[b]);
            }
        }
    }
}

DW_AI void dw_reuse_chunk(const dw_grid *g, const dw_cols *c, int64_t x0, int64_t ya, int64_t yb,
                          const int NB, const int R, const int KY, const int KX, const int RY,
                          const int SX, const int SH, const int EXACT) {
    /* locals, not loads through g: the compiler cannot tell that stores to out leave them alone */
    dw_vec wv[9];
    dw_mask mk[3][NB_MAX], mlo[3][NB_MAX], mhi[3][NB_MAX];
    const float *base[3];
#pragma GCC unroll 9
    for (int t = 0; t < KY * KX; t++) {
        wv[t] = dw_set1(g->w[t]);
    }
#pragma GCC unroll 3
    for (int kx = 0; kx < KX; kx++) {
        base[kx] = c->base[kx];
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            mk[kx][b] = c->m[kx][b];
            mlo[kx][b] = SX == 2 ? c->lo[kx][b] : mk[kx][b];
            mhi[kx][b] = SX == 2 ? c->hi[kx][b] : mk[kx][b];
        }
    }
    /* SH: the centre column's lanes inside the row, blocks -1..NB (no limit at the output's tail:
     * a side column of an output lane may read a centre lane past it) */
    dw_mask mc[NB_MAX + 2];
    if (SH) {
#pragma GCC unroll 6
        for (int b = -1; b <= NB; b++) {
            const int64_t c0 = x0 + b * VL + g->dx[1];
            mc[b + 1] = dw_lanes(-c0, g->cols[1] - c0);
        }
    }
    int64_t y = 0;
    for (; y < ya; y++) {
        dw_reuse_rows(g, c, wv, mk, mlo, mhi, base, mc, x0, y, 1, NB, KY, KX, RY, SX, SH, 1, EXACT);
    }
    for (; y + R <= yb; y += R) {
        dw_reuse_rows(g, c, wv, mk, mlo, mhi, base, mc, x0, y, R, NB, KY, KX, RY, SX, SH, 0, EXACT);
    }
    for (; y < yb; y++) {
        dw_reuse_rows(g, c, wv, mk, mlo, mhi, base, mc, x0, y, 1, NB, KY, KX, RY, SX, SH, 0, EXACT);
    }
    for (; y < g->oh; y++) {
        dw_reuse_rows(g, c, wv, mk, mlo, mhi, base, mc, x0, y, 1, NB, KY, KX, RY, SX, SH, 1, EXACT);
    }
}

DW_AI void dw_reuse_plane_sh(const dw_grid *g, const int KY, const int KX, const int RY, const int SX,
                             const int SH, const int EXACT) {
    int64_t ya, yb;
    dw_interior_rows(g, &ya, &yb);
    dw_cols c;
    for (int64_t x0 = 0; x0 < g->ow; x0 += NB_MAX * VL) {
        dw_plan_cols(g, x0, &c);
        switch (c.nb) {
        case 1:
            dw_reuse_chunk(g, &c, x0, ya, yb, 1, DW_ROWS_1, KY, KX, RY, SX, SH, EXACT);
            break;
        case 2:
            dw_reuse_chunk(g, &c, x0, ya, yb, 2, DW_ROWS_2, KY, KX, RY, SX, SH, EXACT);
            break;
        case 3:
            dw_reuse_chunk(g, &c, x0, ya, yb, 3, DW_ROWS_3, KY, KX, RY, SX, SH, EXACT);
            break;
        default:
            dw_reuse_chunk(g, &c, x0, ya, yb, 4, DW_ROWS_4, KY, KX, RY, SX, SH, EXACT);
            break;
        }
    }
}

/*
 * Shifted columns (DW_SHIFT, measured): with unit column stride, three columns dx, dx + 1, dx + 2
 * of one plane (ascending: forward; descending: backward-data's gather) are one load of the
 * centre column per vector and two register shifts, instead of three unaligned masked loads
 * (28-wide rows: every one of them crosses a cache line). Same products, same order.
 */
DW_AI void dw_reuse_plane(const dw_grid *g, const int KY, const int KX, const int RY, const int SX,
                          const int EXACT) {
#if DW_SHIFT
    const int same_plane = KX == 3 && g->plane[0] == g->plane[1] && g->plane[1] == g->plane[2];
    if (SX == 1 && same_plane && g->dx[1] == g->dx[0] + 1 && g->dx[2] == g->dx[1] + 1) {
        dw_reuse_plane_sh(g, KY, KX, RY, SX, 1, EXACT);
        DW_SHIFT_PLANES++;
        return;
    }
    if (SX == 1 && same_plane && g->dx[1] == g->dx[0] - 1 && g->dx[2] == g->dx[1] - 1) {
        dw_reuse_plane_sh(g, KY, KX, RY, SX, -1, EXACT);
        DW_SHIFT_PLANES++;
        return;
    }
#endif
    dw_reuse_plane_sh(g, KY, KX, RY, SX, 0, EXACT);
}

/* Tap rows at dy[0], dy[0] + 1, ... (dilation 1): the row-reuse shapes */
static inline int dw_consecutive_rows(const dw_grid *g) {
    for (int64_t ky = 1; ky < g->nky; ky++) {
        if (g->dy[ky] != g->dy[0] + ky) {
            return 0;
        }
    }
    return g->ry <= 2;
}

DW_AI void dw_gather_plane_k(const dw_grid *g, const int64_t KY, const int64_t KX, const int EXACT) {
    int64_t ya, yb;
    dw_interior_rows(g, &ya, &yb);
    dw_cols c;
    for (int64_t x0 = 0; x0 < g->ow; x0 += NB_MAX * VL) {
        dw_plan_cols(g, x0, &c);
        switch (c.nb) {
        case 1:
            dw_gather_chunk(g, &c, x0, ya, yb, 1, DW_ROWS_1, KY, KX, EXACT);
            break;
        case 2:
            dw_gather_chunk(g, &c, x0, ya, yb, 2, DW_ROWS_2, KY, KX, EXACT);
            break;
        case 3:
            dw_gather_chunk(g, &c, x0, ya, yb, 3, DW_ROWS_3, KY, KX, EXACT);
            break;
        default:
            dw_gather_chunk(g, &c, x0, ya, yb, 4, DW_ROWS_4, KY, KX, EXACT);
            break;
        }
    }
}

/* 3x3 (row step 1 or 2) and the sub-grids of 3x3 stride-2 backward-data: constant sizes */
#define DW_GATHER_SIZES(EXACT)                                                   \
    if (g->sx == 2 && g->ry == 1) {                                              \
        dw_reuse_plane(g, 3, 3, 1, 2, EXACT);                                    \
    } else if (g->sx == 2) {                                                     \
        dw_reuse_plane(g, 3, 3, 2, 2, EXACT);                                    \
    } else if (!dw_consecutive_rows(g)) {                                        \
        dw_gather_plane_k(g, g->nky, g->nkx, EXACT);                             \
    } else if (g->nky == 3 && g->nkx == 3 && g->ry == 1) {                       \
        dw_reuse_plane(g, 3, 3, 1, 1, EXACT);                                    \
    } else if (g->nky == 3 && g->nkx == 3 && g->ry == 2) {                       \
        dw_reuse_plane(g, 3, 3, 2, 1, EXACT);                                    \
    } else if (g->nky == 2 && g->nkx == 2 && g->ry == 1) {                       \
        dw_reuse_plane(g, 2, 2, 1, 1, EXACT);                                    \
    } else if (g->nky == 2 && g->nkx == 1 && g->ry == 1) {                       \
        dw_reuse_plane(g, 2, 1, 1, 1, EXACT);                                    \
    } else if (g->nky == 1 && g->nkx == 2 && g->ry == 1) {                       \
        dw_reuse_plane(g, 1, 2, 1, 1, EXACT);                                    \
    } else if (g->nky == 1 && g->nkx == 1 && g->ry == 1) {                       \
        dw_reuse_plane(g, 1, 1, 1, 1, EXACT);                                    \
    } else {                                                                     \
        dw_gather_plane_k(g, g->nky, g->nkx, EXACT);                             \
    }

static inline int dw_weights_finite(const dw_grid *g) {
    for (int64_t t = 0; t < g->nky * g->nkx; t++) {
        if (!isfinite(g->w[t])) {
            return 0;
        }
    }
    return 1;
}

/* One output plane. */
static inline void dw_gather_plane(const dw_grid *g) {
    if (DW_FREE_MASKED_FMA || !dw_weights_finite(g)) {
        DW_GATHER_SIZES(1)
    } else {
        DW_GATHER_SIZES(0)
    }
}

/* ---- backward-weights: per tap, sum of diff_dst * input ---- */

/* One chunk of NB column blocks over the whole plane, into acc[0..KY*KX) and accb. */
DW_AI void dw_wsum_chunk(const dw_grid *g, const dw_cols *c, int64_t x0, int64_t ya, int64_t yb,
                         const int NB, const int64_t KY, const int64_t KX, const int EXACT,
                         dw_vec *acc_io, dw_vec *accb_io) {
    dw_vec acc[PCNN_DW_MAX_TAPS];
#pragma GCC unroll 9
    for (int64_t t = 0; t < KY * KX; t++) {
        acc[t] = acc_io[t];
    }
    dw_vec accb = *accb_io;
    for (int64_t y = 0; y < g->oh; y++) {
        const int checked = y < ya || y >= yb;
        const float *drow = g->out + y * g->ors + x0;
        dw_vec dv[NB_MAX];
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            dv[b] = c->nl[b] == VL ? dw_loadu(drow + b * VL) : dw_load_m(drow + b * VL, c->tail[b]);
            accb = dw_add(accb, dv[b]);
        }
#pragma GCC unroll 3
        for (int64_t ky = 0; ky < KY; ky++) {
            const int64_t iy = y * g->ry + g->dy[ky];
            if (checked && (iy < 0 || iy >= g->rows)) {
                continue;
            }
            const int64_t off = iy * g->rs;
#pragma GCC unroll 3
            for (int64_t kx = 0; kx < KX; kx++) {
#pragma GCC unroll 4
                for (int b = 0; b < NB; b++) {
                    const dw_mask m = c->m[kx][b];
                    const dw_vec v = dw_load_m(dw_at(c->base[kx], off + b * VL), m);
                    acc[ky * KX + kx] = dw_tap_fma(v, dv[b], acc[ky * KX + kx], m, EXACT);
                }
            }
        }
    }
#pragma GCC unroll 9
    for (int64_t t = 0; t < KY * KX; t++) {
        acc_io[t] = acc[t];
    }
    *accb_io = accb;
}

DW_AI void dw_wsum_plane_k(const dw_grid *g, dw_vec *acc, dw_vec *accb, const int64_t KY,
                           const int64_t KX, const int EXACT) {
    int64_t ya, yb;
    dw_interior_rows(g, &ya, &yb);
    dw_cols c;
    for (int64_t x0 = 0; x0 < g->ow; x0 += NB_MAX * VL) {
        dw_plan_cols(g, x0, &c);
        switch (c.nb) {
        case 1:
            dw_wsum_chunk(g, &c, x0, ya, yb, 1, KY, KX, EXACT, acc, accb);
            break;
        case 2:
            dw_wsum_chunk(g, &c, x0, ya, yb, 2, KY, KX, EXACT, acc, accb);
            break;
        case 3:
            dw_wsum_chunk(g, &c, x0, ya, yb, 3, KY, KX, EXACT, acc, accb);
            break;
        default:
            dw_wsum_chunk(g, &c, x0, ya, yb, 4, KY, KX, EXACT, acc, accb);
            break;
        }
    }
}

/* Row reuse for the sums (as dw_reuse_rows): R diff_dst rows from y, each input row vector
 * loaded once per (kx, block) and multiplied by every diff_dst row whose taps cover it. */
DW_AI void dw_wsum_reuse_rows(const dw_grid *g, const dw_cols *c, const dw_mask (*mk)[NB_MAX],
                              const dw_mask (*mlo)[NB_MAX], const dw_mask (*mhi)[NB_MAX],
                              const float *const *base, int64_t x0, int64_t y, dw_vec (*acc)[DW_WSPLIT],
                              dw_vec *accb, const int R, const int NB, const int KY, const int KX,
                              const int RY, const int SX, const int CHECKED, const int EXACT) {
    dw_vec dv[8][NB_MAX];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        const float *drow = g->out + (y + r) * g->ors + x0;
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            dv[r][b] = c->nl[b] == VL ? dw_loadu(drow + b * VL) : dw_load_m(drow + b * VL, c->tail[b]);
            *accb = dw_add(*accb, dv[r][b]);
        }
    }
#pragma GCC unroll 24
    for (int i = 0; i < (R - 1) * RY + KY; i++) {
        const int64_t iy = y * RY + g->dy[0] + i;
        if (CHECKED && (iy < 0 || iy >= g->rows)) {
            continue;
        }
        const int64_t off = iy * g->rs;
#pragma GCC unroll 3
        for (int kx = 0; kx < KX; kx++) {
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) {
                const dw_vec v = dw_tap_load(base[kx], off, b, mk[kx][b], mlo[kx][b], mhi[kx][b], SX);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    const int ky = i - r * RY;
                    if (ky >= 0 && ky < KY) {
                        dw_vec *a = &acc[ky * KX + kx][r % DW_WSPLIT];
                        *a = dw_tap_fma(v, dv[r][b], *a, mk[kx][b], EXACT);
                    }
                }
            }
        }
    }
}

DW_AI void dw_wsum_reuse_chunk(const dw_grid *g, const dw_cols *c, int64_t x0, int64_t ya, int64_t yb,
                               const int NB, const int R, const int RY, const int SX, const int EXACT,
                               dw_vec *acc_io, dw_vec *accb_io) {
    /* DW_WSPLIT accumulators per tap (alternate rows): more independent FMA chains */
    dw_vec acc[9][DW_WSPLIT], accb = *accb_io;
    dw_mask mk[3][NB_MAX], mlo[3][NB_MAX], mhi[3][NB_MAX];
    const float *base[3];
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        acc[t][0] = acc_io[t];
#pragma GCC unroll 2
        for (int h = 1; h < DW_WSPLIT; h++) {
            acc[t][h] = dw_zero();
        }
    }
#pragma GCC unroll 3
    for (int kx = 0; kx < 3; kx++) {
        base[kx] = c->base[kx];
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            mk[kx][b] = c->m[kx][b];
            mlo[kx][b] = SX == 2 ? c->lo[kx][b] : mk[kx][b];
            mhi[kx][b] = SX == 2 ? c->hi[kx][b] : mk[kx][b];
        }
    }
    int64_t y = 0;
    for (; y < ya; y++) {
        dw_wsum_reuse_rows(g, c, mk, mlo, mhi, base, x0, y, acc, &accb, 1, NB, 3, 3, RY, SX, 1, EXACT);
    }
    for (; y + R <= yb; y += R) {
        dw_wsum_reuse_rows(g, c, mk, mlo, mhi, base, x0, y, acc, &accb, R, NB, 3, 3, RY, SX, 0, EXACT);
    }
    for (; y < yb; y++) {
        dw_wsum_reuse_rows(g, c, mk, mlo, mhi, base, x0, y, acc, &accb, 1, NB, 3, 3, RY, SX, 0, EXACT);
    }
    for (; y < g->oh; y++) {
        dw_wsum_reuse_rows(g, c, mk, mlo, mhi, base, x0, y, acc, &accb, 1, NB, 3, 3, RY, SX, 1, EXACT);
    }
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        acc_io[t] = DW_WSPLIT == 2 ? dw_add(acc[t][0], acc[t][1]) : acc[t][0];
    }
    *accb_io = accb;
}

/* 3x3 with dilation 1, row step RY */
DW_AI void dw_wsum_reuse_plane(const dw_grid *g, dw_vec *acc, dw_vec *accb, const int RY, const int SX,
                               const int EXACT) {
    int64_t ya, yb;
    dw_interior_rows(g, &ya, &yb);
    dw_cols c;
    for (int64_t x0 = 0; x0 < g->ow; x0 += NB_MAX * VL) {
        dw_plan_cols(g, x0, &c);
        switch (c.nb) {
        case 1:
            dw_wsum_reuse_chunk(g, &c, x0, ya, yb, 1, DW_WROWS_1, RY, SX, EXACT, acc, accb);
            break;
        case 2:
            dw_wsum_reuse_chunk(g, &c, x0, ya, yb, 2, DW_WROWS_2, RY, SX, EXACT, acc, accb);
            break;
        case 3:
            dw_wsum_reuse_chunk(g, &c, x0, ya, yb, 3, DW_WROWS_3, RY, SX, EXACT, acc, accb);
            break;
        default:
            dw_wsum_reuse_chunk(g, &c, x0, ya, yb, 4, DW_WROWS_4, RY, SX, EXACT, acc, accb);
            break;
        }
    }
}

static inline void dw_wsum_plane(const dw_grid *g, dw_vec *acc, dw_vec *accb, int exact) {
    const int reuse = g->nky == 3 && g->nkx == 3 && dw_consecutive_rows(g);
    if (reuse && g->ry == 1) {
        if (g->sx == 2) {
            exact ? dw_wsum_reuse_plane(g, acc, accb, 1, 2, 1) : dw_wsum_reuse_plane(g, acc, accb, 1, 2, 0);
        } else {
            exact ? dw_wsum_reuse_plane(g, acc, accb, 1, 1, 1) : dw_wsum_reuse_plane(g, acc, accb, 1, 1, 0);
        }
    } else if (reuse) {
        if (g->sx == 2) {
            exact ? dw_wsum_reuse_plane(g, acc, accb, 2, 2, 1) : dw_wsum_reuse_plane(g, acc, accb, 2, 2, 0);
        } else {
            exact ? dw_wsum_reuse_plane(g, acc, accb, 2, 1, 1) : dw_wsum_reuse_plane(g, acc, accb, 2, 1, 0);
        }
    } else if (g->nky == 3 && g->nkx == 3) {
        if (exact) {
            dw_wsum_plane_k(g, acc, accb, 3, 3, 1);
        } else {
            dw_wsum_plane_k(g, acc, accb, 3, 3, 0);
        }
    } else if (exact) {
        dw_wsum_plane_k(g, acc, accb, g->nky, g->nkx, 1);
    } else {
        dw_wsum_plane_k(g, acc, accb, g->nky, g->nkx, 0);
    }
}

/* ---- stride-2 columns: even / odd column planes ---- */

/* Scratch plane row stride: the even half rounded up to whole vectors (full loads stay in the row). */
static inline int64_t dw_half_stride(int64_t w) {
    return ((w + 1) / 2 + VL - 1) / VL * VL;
}

/* src plane (rows x w) -> E (columns 0, 2, 4, ...) and O (1, 3, ...), row stride rs. */
static inline void dw_deinterleave(const float *src, int64_t rows, int64_t w, float *E, float *O, int64_t rs) {
    for (int64_t y = 0; y < rows; y++) {
        const float *row = src + y * w;
        for (int64_t j = 0; j < (w + 1) / 2; j += VL) {
            const int64_t rem = w - 2 * j;
            const dw_vec a = rem >= VL ? dw_loadu(row + 2 * j) : dw_load_m(row + 2 * j, dw_lanes(0, rem));
            const dw_vec b = rem >= 2 * VL ? dw_loadu(row + 2 * j + VL)
                                           : dw_load_m(dw_at(row, 2 * j + VL), dw_lanes(0, rem - VL));
            dw_storeu(E + y * rs + j, dw_even(a, b));
            dw_storeu(O + y * rs + j, dw_odd(a, b));
        }
    }
}

/* The inverse: E, O (row stride rs) -> dst plane (rows x w). */
static inline void dw_interleave(const float *E, const float *O, int64_t rs, int64_t rows, int64_t w, float *dst) {
    for (int64_t y = 0; y < rows; y++) {
        float *row = dst + y * w;
        for (int64_t j = 0; j < (w + 1) / 2; j += VL) {
            const dw_vec e = dw_loadu(E + y * rs + j), o = dw_loadu(O + y * rs + j);
            const int64_t rem = w - 2 * j;
            if (rem >= 2 * VL) {
                dw_storeu(row + 2 * j, dw_interleave_lo(e, o));
                dw_storeu(row + 2 * j + VL, dw_interleave_hi(e, o));
            } else {
                dw_store_m(row + 2 * j, dw_interleave_lo(e, o), dw_lanes(0, rem));
                if (rem > VL) {
                    dw_store_m(row + 2 * j + VL, dw_interleave_hi(e, o), dw_lanes(0, rem - VL));
                }
            }
        }
    }
}

/* ---- plans ---- */

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *in, *in2, *w, *bias;
    float *out, *out2;
    int failed; /* set (atomically) when a task could not get its scratch */
} dw_job;

/* The forward grid of one src plane (stride-2 columns: split into scratch first; 0 when out
 * of memory). w may be NULL (backward-weights: no weights). */
static inline int dw_forward_grid(const pcnn_conv2d_desc *d, const float *src_plane, const float *w,
                           dw_grid *g) {
    const float *E = src_plane, *O = NULL;
    int64_t rs = d->iw;
    /* 3x3, dilation 1 rows: strided loads straight from src (row reuse); else even/odd planes */
    const int strided = d->stride_w == 2 && d->kh == 3 && d->kw == 3 && d->dilation_h == 1;
    g->sx = strided ? 2 : 1;
    if (d->stride_w == 2 && !strided) {
        rs = dw_half_stride(d->iw);
        float *s = pcnn_scratch_get(PCNN_SCRATCH_DEPTHWISE, sizeof(float) * (size_t)(2 * d->ih * rs));
        if (s == NULL) {
            return 0;
        }
        dw_deinterleave(src_plane, d->ih, d->iw, s, s + d->ih * rs, rs);
        E = s, O = s + d->ih * rs;
    }
    g->nky = d->kh, g->nkx = d->kw;
    g->ry = d->stride_h, g->rs = rs, g->rows = d->ih;
    for (int64_t ky = 0; ky < d->kh; ky++) {
        g->dy[ky] = ky * d->dilation_h - d->pad_top;
    }
    for (int64_t kx = 0; kx < d->kw; kx++) {
        const int64_t dx = kx * d->dilation_w - d->pad_left;
        if (d->stride_w == 1 || strided) {
            g->plane[kx] = E, g->cols[kx] = d->iw, g->dx[kx] = dx;
        } else {
            const int64_t odd = dx & 1; /* input column 2x + dx = 2(x + (dx - odd)/2) + odd */
            g->plane[kx] = odd ? O : E;
            g->cols[kx] = odd ? d->iw / 2 : (d->iw + 1) / 2;
            g->dx[kx] = (dx - odd) / 2;
        }
    }
    for (int64_t t = 0; t < d->kh * d->kw; t++) {
        g->w[t] = w != NULL ? w[t] : 0.0f;
    }
    return 1;
}

/* Planes are small and streamed once: ask for the next plane while this one computes (out of
 * cache, the loads otherwise wait for memory; measured 2x). */
static inline void dw_prefetch(const float *p, int64_t len, int for_write) {
    const char *a = (const char *)p;
    for (int64_t o = 0; o < len * (int64_t)sizeof(float); o += 64) {
        if (for_write) {
            __builtin_prefetch(a + o, 1, 3);
        } else {
            __builtin_prefetch(a + o, 0, 3);
        }
    }
}

/* Only the input: prefetching the next output plane for writing as well measured slower (same-
 * process A/B, 1 thread, AVX-512, 3x3: 8x256x28x28 forward / backward-data 0.91x / 0.90x the
 * time without it, 8x128x56x56 0.78x, 2x32x112x112 0.91x, 1x32x224x224 stride 2 0.96x / 0.90x,
 * 8x512x14x14 1.00-1.03x): the stores' line fills keep up, the prefetches take load slots. */
static inline void dw_prefetch_next(const float *in, int64_t in_len, const float *out, int64_t out_len,
                             int64_t plane, int64_t planes) {
    (void)out, (void)out_len;
    if (plane + 1 < planes) {
        dw_prefetch(in + (plane + 1) * in_len, in_len, 0);
    }
}

/* ---- engines ----
 * Each engine is compiled in its own translation unit (depthwise-<engine>-<isa>.c: this header,
 * then the engine's), so that they build in parallel. The names below are the ISA's (DW_ENGINE
 * in depthwise-vec-<isa>.h); the engine headers and the entry points use the short ones.
 * Plane engine (depthwise-plane-simd.h, depthwise-plane-bww-simd.h): the tasks the other engines
 * hand non-finite blocks to. */
#define dw_fwd_task DW_ENGINE(dw_fwd_task)
#define dw_bwd_data_task DW_ENGINE(dw_bwd_data_task)
#define dw_bwd_weights_task DW_ENGINE(dw_bwd_weights_task)
#define dw_bwd_weights_sums DW_ENGINE(dw_bwd_weights_sums)
PCNN_INTERNAL void dw_fwd_task(void *ctx, int64_t plane);
PCNN_INTERNAL void dw_bwd_data_task(void *ctx, int64_t plane);
PCNN_INTERNAL void dw_bwd_weights_task(void *ctx, int64_t ch);
/* channel ch summed over every image (exact: padded lanes skipped); 0 when out of memory */
PCNN_INTERNAL int dw_bwd_weights_sums(dw_job *j, int64_t ch, int exact, dw_vec *acc, dw_vec *accb);

/* The wsum2 / wsum3 engines' hand-back of channel ch (non-finite data or overflow): its k =
 * kh * kw weight (and bias) gradients from the plane engine's exact sums; on out of memory,
 * j->failed is set and the calling task returns. A macro, not a function: as a function (out
 * of line in the plane engine's unit, inline, or always_inline with k passed in) gcc allocated
 * registers and scheduled the callers' hot loops differently (out of line, the 3x3 stride-1
 * backward-weights measured 1-4% slower in a same-process A/B on a loaded machine); as a
 * macro the wsum2 / wsum3 objects are byte for byte those of the two copies it replaced. */
#define DW_BWD_WEIGHTS_EXACT_OR_RETURN(j, ch, k)                                                  \
    do {                                                                                           \
        dw_vec eacc_[PCNN_DW_MAX_TAPS], eaccb_;                                                    \
        if (!dw_bwd_weights_sums((j), (ch), 1, eacc_, &eaccb_)) {                                 \
            __atomic_store_n(&(j)->failed, 1, __ATOMIC_RELAXED);                                   \
            return;                                                                                \
        }                                                                                          \
        for (int64_t t_ = 0; t_ < (k); t_++) {                                                     \
            (j)->out[(ch) * (k) + t_] = dw_hsum(eacc_[t_]);                                        \
        }                                                                                          \
        if ((j)->out2 != NULL) {                                                                   \
            (j)->out2[(ch)] = dw_hsum(eaccb_);                                                     \
        }                                                                                          \
    } while (0)

/* Each engine serves the call (1; failures in j->failed) or declines it (0). */
#define dw_lanes_fwd DW_ENGINE(dw_lanes_fwd)                 /* depthwise-lanes-simd.h */
#define dw_lanes_bwd_data DW_ENGINE(dw_lanes_bwd_data)
#define dw_lanes_bwd_weights DW_ENGINE(dw_lanes_bwd_weights)
#define dw2_fwd DW_ENGINE(dw2_fwd)                           /* depthwise-s2-simd.h */
#define dw2_bwd_data DW_ENGINE(dw2_bwd_data)
#define dw2_bwd_weights DW_ENGINE(dw2_bwd_weights)
#define dw_wsum3_bwd_weights DW_ENGINE(dw_wsum3_bwd_weights) /* depthwise-wsum3-simd.h */
PCNN_INTERNAL int dw_lanes_fwd(dw_job *j);
PCNN_INTERNAL int dw_lanes_bwd_data(dw_job *j);
PCNN_INTERNAL int dw_lanes_bwd_weights(dw_job *j);
PCNN_INTERNAL int dw2_fwd(dw_job *j);
PCNN_INTERNAL int dw2_bwd_data(dw_job *j);
PCNN_INTERNAL int dw2_bwd_weights(dw_job *j);
PCNN_INTERNAL int dw_wsum3_bwd_weights(dw_job *j, int any_width);
#define dw_rows_fwd DW_ENGINE(dw_rows_fwd)                   /* depthwise-rows-simd.h */
#define dw_rows_bwd_data DW_ENGINE(dw_rows_bwd_data)
PCNN_INTERNAL int dw_rows_fwd(dw_job *j);
PCNN_INTERNAL int dw_rows_bwd_data(dw_job *j);
#define dw_wsum2_bwd_weights DW_ENGINE(dw_wsum2_bwd_weights) /* depthwise-wsum2-simd.h */
PCNN_INTERNAL int dw_wsum2_bwd_weights(dw_job *j);
#define dw_s2fwd_fwd DW_ENGINE(dw_s2fwd_fwd) /* depthwise-s2fwd-simd.h */
PCNN_INTERNAL int dw_s2fwd_fwd(dw_job *j);
#define dw2k5_bwd_data DW_ENGINE(dw2k5_bwd_data) /* depthwise-s2k5-simd.h */
PCNN_INTERNAL int dw2k5_bwd_data(dw_job *j);

#endif /* PCNN_DEPTHWISE_SIMD_H */
