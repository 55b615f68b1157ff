/*
 * conv2d, scalar reference kernels. Plain loops, fixed float summation order (see README.md),
 * padded taps skipped. Parallel over output planes / input planes / output channels, each
 * task writing a disjoint part of its output, so results do not depend on the thread count.
 */
#include <string.h>

#include "core/pcnn_internal.h"

/* ---- forward: one task per (n, o) output plane ---- */

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src;
    const float *weights;
    const float *bias;
    float *dst;
} fwd_ctx;

static void fwd_task(void *p, int64_t t) {
    const fwd_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    const int64_t n = t / d->oc;
    const int64_t o = t % d->oc;
    const int64_t cg = d->c / d->groups;
    const int64_t g = o / (d->oc / d->groups);
    const float *src = x->src + (n * d->c + g * cg) * d->ih * d->iw;
    const float *w = x->weights + o * cg * d->kh * d->kw;
    float *dst = x->dst + t * d->oh * d->ow;
    for (int64_t y = 0; y < d->oh; ++y) {
        for (int64_t xo = 0; xo < d->ow; ++xo) {
            float acc = 0.0f;
            for (int64_t ci = 0; ci < cg; ++ci) {
                for (int64_t ky = 0; ky < d->kh; ++ky) {
                    const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                    if (iy < 0 || iy >= d->ih) {
                        continue;
                    }
                    for (int64_t kx = 0; kx < d->kw; ++kx) {
                        const int64_t ix = xo * d->stride_w - d->pad_left + kx * d->dilation_w;
                        if (ix < 0 || ix >= d->iw) {
                            continue;
                        }
                        acc += src[(ci * d->ih + iy) * d->iw + ix] *
                               w[(ci * d->kh + ky) * d->kw + kx];
                    }
                }
            }
            if (x->bias != NULL) {
                acc += x->bias[o];
            }
            dst[y * d->ow + xo] = acc;
        }
    }
}

PCNN_INTERNAL int32_t pcnn_conv2d_fwd__scalar(const pcnn_conv2d_desc *d, const float *src,
                                              const float *weights, const float *bias,
                                              float *dst) {
    fwd_ctx ctx = {d, src, weights, bias, dst};
    pcnn_parallel_for(d->n * d->oc, fwd_task, &ctx);
    return PCNN_STATUS_OK;
}

/* ---- backward data: one task per (n, c) input plane, scatter form ----
 * diff_src[n][c][iy][ix] = sum over o in c's group, then y ascending, then x ascending, of
 * diff_dst[n][o][y][x] * weights[o][c - g*cg][ky][kx], where iy = y*sh - pt + ky*dh and
 * ix = x*sw - pl + kx*dw, summed in float from +0. The task zeroes its plane and adds
 * "for o, y, x, ky, kx (the taps inside the input only): diff_src[iy][ix] += dd * w"; for a
 * fixed element and (o, y, x) the tap is unique, so each element sees its terms in exactly
 * that (o, y, x) order.
 * Why scatter, not gather: a gather visits every input element and, per element, every tap to
 * find the outputs that reach it, which costs ih * iw * kh * kw even where almost nothing
 * reaches the input (strides far above the kernel's extent, or a kernel far taller than its
 * few outputs: 46340 rows x 3810 taps took 0.3 s for one output). The scatter's work is the
 * zeroing plus the multiply-adds of the in-bounds taps, like the forward's. */

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *diff_dst;
    const float *weights;
    float *diff_src;
} bwd_data_ctx;

/* The taps k in [*k0, *k1) of a window starting at `start` (stride `dil`, kn taps) that land
 * in [0, in). The desc's validation bounds every term (start and in plus the padding fit in
 * int64); the divisions avoid forming start + kn * dil, which may not. */
static void taps_inside(int64_t start, int64_t in, int64_t kn, int64_t dil, int64_t *k0,
                        int64_t *k1) {
    int64_t lo = 0;
    if (start < 0) {
        lo = -start / dil + (-start % dil != 0);
    }
    int64_t hi = 0;
    if (start < in) {
        hi = (in - 1 - start) / dil + 1;
    }
    *k0 = lo < kn ? lo : kn;
    *k1 = hi < kn ? hi : kn;
}

static void bwd_data_task(void *p, int64_t t) {
    const bwd_data_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    const int64_t n = t / d->c;
    const int64_t c = t % d->c;
    const int64_t cg = d->c / d->groups;
    const int64_t ocg = d->oc / d->groups;
    const int64_t g = c / cg;
    const int64_t ci = c - g * cg;
    float *diff_src = x->diff_src + t * d->ih * d->iw;
    memset(diff_src, 0, (size_t)(d->ih * d->iw) * sizeof(float));
    for (int64_t o = g * ocg; o < (g + 1) * ocg; ++o) {
        const float *dd = x->diff_dst + (n * d->oc + o) * d->oh * d->ow;
        const float *w = x->weights + (o * cg + ci) * d->kh * d->kw;
        for (int64_t y = 0; y < d->oh; ++y) {
            const int64_t sy = y * d->stride_h - d->pad_top;
            int64_t ky0, ky1;
            taps_inside(sy, d->ih, d->kh, d->dilation_h, &ky0, &ky1);
            if (ky0 >= ky1) {
                continue;
            }
            for (int64_t xo = 0; xo < d->ow; ++xo) {
                const int64_t sx = xo * d->stride_w - d->pad_left;
                int64_t kx0, kx1;
                taps_inside(sx, d->iw, d->kw, d->dilation_w, &kx0, &kx1);
                const float g_out = dd[y * d->ow + xo];
                for (int64_t ky = ky0; ky < ky1; ++ky) {
                    /* indices, not a row pointer: sx may be negative (a padded column) */
                    const int64_t at = (sy + ky * d->dilation_h) * d->iw + sx;
                    for (int64_t kx = kx0; kx < kx1; ++kx) {
                        diff_src[at + kx * d->dilation_w] += g_out * w[ky * d->kw + kx];
                    }
                }
            }
        }
    }
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__scalar(const pcnn_conv2d_desc *d,
                                                   const float *diff_dst, const float *weights,
                                                   float *diff_src) {
    bwd_data_ctx ctx = {d, diff_dst, weights, diff_src};
    pcnn_parallel_for(d->n * d->c, bwd_data_task, &ctx);
    return PCNN_STATUS_OK;
}

/* ---- backward weights: one task per output channel o ----
 * Each diff_weights[o][ci][ky][kx] (and diff_bias[o]) is summed in float from zero over
 * n, then y, then x, in that order; padded taps are skipped. */

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src;
    const float *diff_dst;
    float *diff_weights;
    float *diff_bias;
} bwd_weights_ctx;

static void bwd_weights_task(void *p, int64_t o) {
    const bwd_weights_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    const int64_t cg = d->c / d->groups;
    const int64_t g = o / (d->oc / d->groups);
    const int64_t wsize = cg * d->kh * d->kw;
    float *dw = x->diff_weights + o * wsize;
    memset(dw, 0, (size_t)wsize * sizeof(float));
    float bias_acc = 0.0f;
    for (int64_t n = 0; n < d->n; ++n) {
        const float *src = x->src + (n * d->c + g * cg) * d->ih * d->iw;
        const float *dd = x->diff_dst + (n * d->oc + o) * d->oh * d->ow;
        for (int64_t y = 0; y < d->oh; ++y) {
            for (int64_t xo = 0; xo < d->ow; ++xo) {
                const float g_out = dd[y * d->ow + xo];
                bias_acc += g_out;
                for (int64_t ci = 0; ci < cg; ++ci) {
                    for (int64_t ky = 0; ky < d->kh; ++ky) {
                        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                        if (iy < 0 || iy >= d->ih) {
                            continue;
                        }
                        for (int64_t kx = 0; kx < d->kw; ++kx) {
                            const int64_t ix =
                                xo * d->stride_w - d->pad_left + kx * d->dilation_w;
                            if (ix < 0 || ix >= d->iw) {
                                continue;
                            }
                            dw[(ci * d->kh + ky) * d->kw + kx] +=
                                src[(ci * d->ih + iy) * d->iw + ix] * g_out;
                        }
                    }
                }
            }
        }
    }
    if (x->diff_bias != NULL) {
        x->diff_bias[o] = bias_acc;
    }
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights__scalar(const pcnn_conv2d_desc *d,
                                                      const float *src, const float *diff_dst,
                                                      float *diff_weights, float *diff_bias) {
    bwd_weights_ctx ctx = {d, src, diff_dst, diff_weights, diff_bias};
    pcnn_parallel_for(d->oc, bwd_weights_task, &ctx);
    return PCNN_STATUS_OK;
}
