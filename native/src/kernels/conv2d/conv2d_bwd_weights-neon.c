/*
 * conv2d backward-weights, AArch64 NEON.
 *
 * Per group, diff_weights is a GEMM in dot-product form (the formulation of the x86
 * template conv2d_bwd_weights-simd.h, without its special paths):
 *     dW[o][t] = sum over n, p of dY[n][o][p] * col[n][t][p]
 * with p = y*ow + x over the output plane and t = (ci, ky, kx) over the group's taps;
 * col[n][t][p] is the input under tap t for output pixel p, zero where the tap is in the
 * padding. Lanes run along p. One task owns a block of TB = 5 taps of one group: for each
 * image and each chunk of PCH output pixels it packs the 5 col rows once (L1-resident, zero
 * padded to whole vectors), then runs every block of RO = 4 output channels over the chunk
 * with a 4 x 5 register tile of vector partial sums (20 accumulators, 4 dY loads + 5 col
 * loads per 20 fused multiply-adds). The partial sums live in a per-task buffer between
 * chunks; at the end each is reduced horizontally (vaddvq_f32).
 *
 * Determinism: each task owns a disjoint slice of dW and walks n, the chunks and the
 * pixels in a fixed order, so the result does not depend on the thread count. The float
 * summation order differs from the scalar kernel (4 lanes, then a pairwise sum), which the
 * tests allow for with their error bound (integer-valued data stays exact).
 *
 * diff_bias is summed exactly in the scalar kernel's order (n, y, x), one task per output
 * channel. Padding: padded taps multiply a packed zero here where the scalar kernel skips
 * them; the two agree unless dY holds an Inf or a NaN (0 * Inf = NaN). As in the x86 kernels,
 * when the shape has padded taps the dY sums are checked first (a sum is non-finite iff it
 * met a non-finite value or overflowed) and the call is declined (PCNN_STATUS_UNSUPPORTED:
 * the scalar kernel defines the result) when one is not finite.
 */
#include <arm_neon.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"

#define RO 4      /* output channels per register tile */
#define TB 5      /* taps per task (and per register tile) */
#define PCH 1024  /* output pixels per chunk: 5 packed col rows = 20 KiB */

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src;
    const float *diff_dst;
    float *diff_weights;
    float *bias_sums;
    int64_t cg, ocg, khw, taps, ohw, tblocks;
    int oom; /* set with __atomic_store_n by a task that could not get its scratch */
} bw_ctx;

static int64_t floor_div(int64_t a, int64_t b) { /* b > 0 */
    const int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* col row of tap t (image n, group g) for output pixels [p0, p0 + len), zero padded to
 * lenv (a multiple of 4) */
static void pack_col(const bw_ctx *x, int64_t n, int64_t g, int64_t t, int64_t p0, int64_t len,
                     int64_t lenv, float *col) {
    const pcnn_conv2d_desc *d = x->d;
    if (t >= x->taps) {
        memset(col, 0, (size_t)lenv * sizeof(float));
        return;
    }
    const int64_t ci = t / x->khw, ky = (t % x->khw) / d->kw, kx = t % d->kw;
    const float *plane = x->src + (n * d->c + g * x->cg + ci) * d->ih * d->iw;
    const int64_t off = kx * d->dilation_w - d->pad_left;
    /* output columns whose input column is in range: [xa, xb) */
    int64_t xa = -floor_div(off, d->stride_w);
    int64_t xb = floor_div(d->iw - 1 - off, d->stride_w) + 1;
    if (xa < 0) xa = 0;
    if (xb > d->ow) xb = d->ow;
    int64_t p = p0;
    while (p < p0 + len) {
        const int64_t y = p / d->ow, x0 = p % d->ow;
        const int64_t x1 = x0 + (p0 + len - p) < d->ow ? x0 + (p0 + len - p) : d->ow;
        float *dst = col + (p - p0) - x0; /* dst[x] for x in [x0, x1) */
        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
        if (iy < 0 || iy >= d->ih || xa >= xb) {
            memset(dst + x0, 0, (size_t)(x1 - x0) * sizeof(float));
        } else {
            const float *row = plane + iy * d->iw;
            const int64_t a = xa > x0 ? xa : x0, b = xb < x1 ? xb : x1;
            for (int64_t xx = x0; xx < a && xx < x1; ++xx) dst[xx] = 0.0f;
            if (a < b) {
                if (d->stride_w == 1) {
                    memcpy(dst + a, row + a + off, (size_t)(b - a) * sizeof(float));
                } else {
                    for (int64_t xx = a; xx < b; ++xx) dst[xx] = row[xx * d->stride_w + off];
                }
            }
            for (int64_t xx = b > x0 ? b : x0; xx < x1; ++xx) dst[xx] = 0.0f;
        }
        p += x1 - x0;
    }
    for (int64_t i = len; i < lenv; ++i) col[i] = 0.0f;
}

/* 4 x 5 tile over one chunk: accumulator (i, j) += dY row i * col row j, lane-wise. Named
 * accumulators (an array would be kept in memory by the compiler): 20 of them + 4 dY
 * vectors + 5 col vectors = 29 of the 32 vector registers, even when the compiler hoists
 * every col load of a step (it does: a 4 x 6 tile measured 3 accumulator spills per step in
 * the generated code). */
#define ACC_ROW(i)                                                                        \
    float32x4_t a##i##0 = acc_mem[(i) * TB + 0], a##i##1 = acc_mem[(i) * TB + 1],         \
                a##i##2 = acc_mem[(i) * TB + 2], a##i##3 = acc_mem[(i) * TB + 3],         \
                a##i##4 = acc_mem[(i) * TB + 4]
#define SAVE_ROW(i)                                                                       \
    acc_mem[(i) * TB + 0] = a##i##0, acc_mem[(i) * TB + 1] = a##i##1,                     \
    acc_mem[(i) * TB + 2] = a##i##2, acc_mem[(i) * TB + 3] = a##i##3,                     \
    acc_mem[(i) * TB + 4] = a##i##4
#define COL(j, p)                                                                         \
    do {                                                                                  \
        const float32x4_t c = vld1q_f32(col + (j) * PCH + (p));                           \
        a0##j = vfmaq_f32(a0##j, g0, c);                                                  \
        a1##j = vfmaq_f32(a1##j, g1, c);                                                  \
        a2##j = vfmaq_f32(a2##j, g2, c);                                                  \
        a3##j = vfmaq_f32(a3##j, g3, c);                                                  \
    } while (0)
#define STEP(p) COL(0, p); COL(1, p); COL(2, p); COL(3, p); COL(4, p)

static void tile(const float *const dy[RO], const float *col, int64_t len, float32x4_t *acc_mem) {
    ACC_ROW(0);
    ACC_ROW(1);
    ACC_ROW(2);
    ACC_ROW(3);
    const int64_t full = len / 4 * 4;
    int64_t p = 0;
    for (; p < full; p += 4) {
        const float32x4_t g0 = vld1q_f32(dy[0] + p), g1 = vld1q_f32(dy[1] + p);
        const float32x4_t g2 = vld1q_f32(dy[2] + p), g3 = vld1q_f32(dy[3] + p);
        STEP(p);
    }
    if (p < len) { /* tail: dY copied lane by lane (never read past the row), zero lanes */
        float t[RO][4] = {{0.0f}};
        for (int i = 0; i < RO; ++i) memcpy(t[i], dy[i] + p, (size_t)(len - p) * sizeof(float));
        const float32x4_t g0 = vld1q_f32(t[0]), g1 = vld1q_f32(t[1]);
        const float32x4_t g2 = vld1q_f32(t[2]), g3 = vld1q_f32(t[3]);
        STEP(p);
    }
    SAVE_ROW(0);
    SAVE_ROW(1);
    SAVE_ROW(2);
    SAVE_ROW(3);
}

static void bw_task(void *p, int64_t task) {
    bw_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    const int64_t g = task / x->tblocks, t0 = (task % x->tblocks) * TB;
    const int64_t oblocks = (x->ocg + RO - 1) / RO;
    /* the task's packed col rows, then its accumulators: the thread's scratch (core/scratch.h) */
    const size_t col_bytes = (size_t)(TB * PCH) * sizeof(float);
    char *scratch = pcnn_scratch_get(PCNN_SCRATCH_CONV_BWD_WEIGHTS,
                                     col_bytes + (size_t)(oblocks * RO * TB) * sizeof(float32x4_t));
    if (scratch == NULL) {
        __atomic_store_n(&x->oom, 1, __ATOMIC_RELAXED);
        return;
    }
    float *col = (float *)scratch;
    float32x4_t *acc = (float32x4_t *)(scratch + col_bytes); /* 64-byte aligned + 20 KiB */
    for (int64_t i = 0; i < oblocks * RO * TB; ++i) acc[i] = vdupq_n_f32(0.0f);
    for (int64_t n = 0; n < d->n; ++n) {
        for (int64_t p0 = 0; p0 < x->ohw; p0 += PCH) {
            const int64_t len = x->ohw - p0 < PCH ? x->ohw - p0 : PCH;
            const int64_t lenv = (len + 3) / 4 * 4;
            for (int j = 0; j < TB; ++j) pack_col(x, n, g, t0 + j, p0, len, lenv, col + j * PCH);
            for (int64_t ob = 0; ob < oblocks; ++ob) {
                const float *dy[RO];
                for (int i = 0; i < RO; ++i) {
                    /* a block's missing channels re-read its first one; not stored */
                    const int64_t o = ob * RO + i < x->ocg ? ob * RO + i : ob * RO;
                    dy[i] = x->diff_dst + (n * d->oc + g * x->ocg + o) * x->ohw + p0;
                }
                tile(dy, col, len, acc + ob * RO * TB);
            }
        }
    }
    for (int64_t o = 0; o < x->ocg; ++o) {
        float *dw = x->diff_weights + (g * x->ocg + o) * x->taps;
        for (int j = 0; j < TB && t0 + j < x->taps; ++j) {
            dw[t0 + j] = vaddvq_f32(acc[(o / RO) * RO * TB + (o % RO) * TB + j]);
        }
    }
}

/* diff_bias[o] = sum over n, y, x of dY, in the scalar kernel's order */
static void bias_task(void *p, int64_t o) {
    bw_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    float s = 0.0f;
    for (int64_t n = 0; n < d->n; ++n) {
        const float *dy = x->diff_dst + (n * d->oc + o) * x->ohw;
        for (int64_t i = 0; i < x->ohw; ++i) s += dy[i];
    }
    x->bias_sums[o] = s;
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights__neon(const pcnn_conv2d_desc *d, const float *src,
                                                    const float *diff_dst, float *diff_weights,
                                                    float *diff_bias) {
    bw_ctx x;
    memset(&x, 0, sizeof x);
    x.d = d;
    x.src = src;
    x.diff_dst = diff_dst;
    x.diff_weights = diff_weights;
    x.cg = d->c / d->groups;
    x.ocg = d->oc / d->groups;
    x.khw = d->kh * d->kw;
    x.taps = x.cg * x.khw;
    x.ohw = d->oh * d->ow;
    x.tblocks = (x.taps + TB - 1) / TB;
    const int64_t last_iy = (d->oh - 1) * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h;
    const int64_t last_ix = (d->ow - 1) * d->stride_w - d->pad_left + (d->kw - 1) * d->dilation_w;
    const int padded = d->pad_top > 0 || d->pad_left > 0 || last_iy >= d->ih || last_ix >= d->iw;

    if (diff_bias != NULL || padded) {
        float *sums = diff_bias;
        if (sums == NULL) {
            sums = malloc((size_t)d->oc * sizeof(float));
            if (sums == NULL) {
                return PCNN_STATUS_OUT_OF_MEMORY;
            }
        }
        x.bias_sums = sums;
        pcnn_parallel_for_work(d->oc, d->n * d->oc * x.ohw, bias_task, &x);
        int finite = 1;
        for (int64_t o = 0; o < d->oc; ++o) {
            finite &= isfinite(sums[o]) != 0;
        }
        if (sums != diff_bias) {
            free(sums);
        }
        if (padded && !finite) {
            return PCNN_STATUS_UNSUPPORTED; /* see the header comment: the scalar kernel */
        }
    }
    int64_t ntasks, macs;
    if (pcnn_mul_i64(d->groups, x.tblocks, &ntasks)) {
        return PCNN_STATUS_UNSUPPORTED; /* cannot happen for a valid desc (taps <= weights) */
    }
    if (pcnn_mul_i64(d->n * d->oc, x.ohw, &macs) || pcnn_mul_i64(macs, x.taps, &macs)) {
        macs = INT64_MAX; /* only a thread-count hint */
    }
    pcnn_parallel_for_work(ntasks, macs, bw_task, &x);
    return __atomic_load_n(&x.oom, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_MEMORY : PCNN_STATUS_OK;
}
