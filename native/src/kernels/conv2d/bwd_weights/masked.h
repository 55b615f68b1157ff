/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the masked path
 * (only when the vector layer defines CW_MASKED: cw_loadm / cw_loadmb, masked loads that do
 * not access masked-off lanes, with the masks of cw_row_mask / a lane-bit mask).
 *
 * Why: grouped3x3 (8 x 256 x 28x28, 32 groups of 8 -> 8 channels, 3x3 pad 1) took the
 * stride-1 path (cw_run_wide), whose once-per-call dY repack (rows widened to ow + 2 with
 * junk columns) was ~21% of the pass in a profile and whose tiles spend 2 of every 30 lanes
 * on junk columns.
 * What: where input and output rows are equally wide (stride 1, "same" horizontal padding,
 * rows wider than a vector), dW[o][ci][k] = sum over n and output pixels p of
 * dY[n][o][p] * src[n][ci][p + oy[k] * w + ox[k]] reads both planes in place: lanes run
 * along the flat plane p (28x28 = 49 vectors), and the src lanes whose tap leaves the image
 * are masked off (../flat-masks.h; they load as zero, the padding's value). A register tile
 * of CW_MRO output channels x CW_MRT taps of vector partial sums runs over all images and
 * vectors of its group, then each sum is reduced horizontally (cw_hsum) into dW: no packing,
 * no scratch.
 * Determinism: a task owns (group, channel block, tap block) and walks n, then the vectors,
 * in order: the bits do not depend on the thread count. The summation order differs from
 * the scalar kernel (lanes, then a tree), as on the other paths.
 * Padding and non-finite values: masked lanes contribute 0 * dY; the scalar kernel skips
 * those taps. They differ only for a non-finite dY, which the entry point's bias-gradient
 * pass finds first (padded shapes) and hands to the scalar kernel, as for the other paths.
 */

#ifdef CW_MASKED

#include "kernels/conv2d/flat-masks.h"

#ifndef CW_MRO /* the vector layer may set a smaller tile (AVX2: 16 registers) */
#define CW_MRO 4 /* output channels per tile (at most 4) */
#define CW_MRT 6 /* taps per tile: 24 accumulators, 4 dY + 6 src vectors per 24 FMAs */
#endif
#define CW_MKT_MAX 49 /* kh * kw served (7x7) */
#define CW_MASKS_MAX 4096 /* mask table entries (on the entry's stack) */

PCNN_INTERNAL int64_t CW_MASKED_RUNS;

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src, *dy;
    float *dw;
    int64_t cg, ocg, khw, taps, plane, vecs;
    int64_t iplane;      /* ih * iw (src); plane = oh * ow (dY, the lanes) */
    int64_t ob_blocks, tb_blocks;
    const int64_t *off;  /* per k: oy * w + ox */
    const uint16_t *mk;  /* [k][vecs], then one row of zeros (tap-tail slots) */
} cw_mctx;

/* The shapes this path can take (AVX-512, AVX2): stride 1, rows equally wide in src and dY, at most
 * 16 output channels per group (wider groups keep the tuned paths), planes of at most
 * CW_MASKS_MAX / (kh * kw + 1) vectors. The entry takes it for every such shape with rows
 * wider than a vector, and for narrower rows only where neither the phase-plane nor the flat
 * path is taken (those measured faster there: 1.04-1.07x the time on 3x3 same-padding 12x12
 * and 14x14 planes with 16 channels per group). */
static int cw_masked_fits(const pcnn_conv2d_desc *d) {
    const int64_t khw = d->kh * d->kw, vecs = (d->oh * d->ow + CW_V - 1) / CW_V;
    return d->stride_h == 1 && d->stride_w == 1 && d->iw == d->ow &&
           d->oc / d->groups <= 16 && khw <= CW_MKT_MAX &&
           (khw + 1) * vecs <= CW_MASKS_MAX;
}

/* One tile: channels o0 .. o0 + ro - 1 x taps t0 .. t0 + CW_MRT - 1 of group g (slots past
 * the group's taps read with the zero mask row; channel slots past ro repeat channel o0). */
#define CW_MTILE(RO)                                                                        \
    static void cw_mtile_##RO(const cw_mctx *x, int64_t g, int64_t o0, int64_t t0) {        \
        const pcnn_conv2d_desc *d = x->d;                                                   \
        const int64_t vecs = x->vecs, plane = x->plane;                                     \
        int64_t xo[CW_MRT];                                                                 \
        const uint16_t *mr[CW_MRT];                                                         \
        for (int s = 0; s < CW_MRT; ++s) {                                                  \
            const int64_t t = t0 + s < x->taps ? t0 + s : -1;                               \
            xo[s] = t < 0 ? 0 : (t / x->khw) * x->iplane + x->off[t % x->khw];              \
            mr[s] = x->mk + (t < 0 ? x->khw : t % x->khw) * vecs;                           \
        }                                                                                   \
        const cw_rmask tail = cw_row_mask(0, plane - (vecs - 1) * CW_V);                     \
        cw_vf acc[RO][CW_MRT];                                                              \
        _Pragma("GCC unroll 4") for (int r = 0; r < RO; ++r) {                              \
            _Pragma("GCC unroll 6") for (int s = 0; s < CW_MRT; ++s) acc[r][s] = cw_zero(); \
        }                                                                                   \
        for (int64_t n = 0; n < d->n; ++n) {                                                \
            const float *xs = x->src + (n * d->c + g * x->cg) * x->iplane;                  \
            const float *ys = x->dy + (n * d->oc + g * x->ocg + o0) * plane;                \
            for (int64_t v = 0; v < vecs; ++v) {                                            \
                cw_vf y[RO];                                                                \
                _Pragma("GCC unroll 4") for (int r = 0; r < RO; ++r) {                      \
                    y[r] = v + 1 < vecs ? cw_load(ys + r * plane + v * CW_V)                \
                                        : cw_loadm(ys, r * plane + v * CW_V, tail);         \
                }                                                                           \
                _Pragma("GCC unroll 6") for (int s = 0; s < CW_MRT; ++s) {                  \
                    const cw_vf xv = cw_loadmb(xs, xo[s] + v * CW_V, mr[s][v]);             \
                    _Pragma("GCC unroll 4") for (int r = 0; r < RO; ++r) {                  \
                        acc[r][s] = cw_fma(y[r], xv, acc[r][s]);                            \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        /* unrolled, as every loop over acc: an indexed acc would live on the stack */      \
        _Pragma("GCC unroll 4") for (int r = 0; r < RO; ++r) {                              \
            float *out = x->dw + (g * x->ocg + o0 + r) * x->taps;                           \
            _Pragma("GCC unroll 6") for (int s = 0; s < CW_MRT; ++s) {                      \
                if (t0 + s < x->taps) {                                                     \
                    out[t0 + s] = cw_hsum(acc[r][s]);                                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }
CW_MTILE(1)
CW_MTILE(2)
#if CW_MRO >= 3
CW_MTILE(3)
#endif
#if CW_MRO >= 4
CW_MTILE(4)
#endif

static void cw_mtask(void *p, int64_t t) {
    const cw_mctx *x = p;
    const int64_t tb = t % x->tb_blocks, ob = (t / x->tb_blocks) % x->ob_blocks;
    const int64_t g = t / (x->tb_blocks * x->ob_blocks);
    /* blocks of balanced sizes (4 channels per group at CW_MRO 3: 2 + 2, not 3 + 1, whose
     * one-channel tile has too few accumulators to hide the FMA latency); a sum's bits do not
     * depend on its tile */
    const int64_t o0 = ob * x->ocg / x->ob_blocks, ro = (ob + 1) * x->ocg / x->ob_blocks - o0;
    switch (ro) {
    case 1: cw_mtile_1(x, g, o0, tb * CW_MRT); break;
    case 2: cw_mtile_2(x, g, o0, tb * CW_MRT); break;
#if CW_MRO >= 3
    case 3: cw_mtile_3(x, g, o0, tb * CW_MRT); break;
#endif
#if CW_MRO >= 4
    case 4: cw_mtile_4(x, g, o0, tb * CW_MRT); break;
#endif
    default: break; /* ro <= CW_MRO */
    }
}

/* dW of a shape cw_masked_fits took (the bias gradient and dY's finiteness are the entry's). */
static int32_t cw_run_masked(const pcnn_conv2d_desc *d, const float *src, const float *dy,
                             float *dw) {
    cw_mctx x;
    x.d = d;
    x.src = src;
    x.dy = dy;
    x.dw = dw;
    x.cg = d->c / d->groups;
    x.ocg = d->oc / d->groups;
    x.khw = d->kh * d->kw;
    x.taps = x.cg * x.khw;
    x.plane = d->oh * d->ow;
    x.iplane = d->ih * d->iw;
    x.vecs = (x.plane + CW_V - 1) / CW_V;
    int64_t oy[CW_MKT_MAX], ox[CW_MKT_MAX], off[CW_MKT_MAX];
    flat_tap_offsets(d, 0, oy, ox);
    for (int64_t k = 0; k < x.khw; ++k) {
        off[k] = oy[k] * d->iw + ox[k];
    }
    uint16_t mk[CW_MASKS_MAX];
    flat_build_masks(mk, x.vecs, oy, ox, x.khw, d->ow, d->ih, d->oh, CW_V);
    memset(mk + x.khw * x.vecs, 0, (size_t)x.vecs * sizeof(uint16_t));
    x.off = off;
    x.mk = mk;
    x.ob_blocks = (x.ocg + CW_MRO - 1) / CW_MRO;
    x.tb_blocks = (x.taps + CW_MRT - 1) / CW_MRT;
    int64_t ntasks, macs;
    if (pcnn_mul_i64(d->groups, x.ob_blocks * x.tb_blocks, &ntasks)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    if (pcnn_mul_i64(d->n * d->oc, x.plane, &macs) || pcnn_mul_i64(macs, x.taps, &macs)) {
        macs = INT64_MAX;
    }
    pcnn_parallel_for_work(ntasks, macs, cw_mtask, &x);
    __atomic_fetch_add(&CW_MASKED_RUNS, 1, __ATOMIC_RELAXED);
    return PCNN_STATUS_OK;
}

#endif /* CW_MASKED */
