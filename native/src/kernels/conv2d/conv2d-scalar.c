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

/* ---- backward data: one task per (n, c) input plane, gather form ----
 * diff_src[n][c][iy][ix] = sum over o in c's group, then y ascending, then x ascending, of
 * diff_dst[n][o][y][x] * weights[o][c - g*cg][ky][kx], where iy = y*sh - pt + ky*dh and
 * ix = x*sw - pl + kx*dw. This is the same per-element order as the naive scatter loop
 * "for n, o, y, x (, ci), ky, kx: diff_src[...] += diff_dst * w" starting from zero
 * (for a fixed (iy, y) the tap ky is unique, and y ascending means ky descending). */

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *diff_dst;
    const float *weights;
    float *diff_src;
} bwd_data_ctx;

/* Whether some tap k < kn of the input coordinate i (padding added: i + pad) lands on an
 * output: i + pad - k * dil >= 0, divisible by the stride, quotient below out. */
static int tap_reaches_output(int64_t i, int64_t kn, int64_t dil, int64_t stride, int64_t out) {
    for (int64_t k = kn - 1; k >= 0; --k) {
        const int64_t t = i - k * dil;
        if (t >= 0 && t % stride == 0 && t / stride < out) {
            return 1;
        }
    }
    return 0;
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
    for (int64_t iy = 0; iy < d->ih; ++iy) {
        const int row_live = tap_reaches_output(iy + d->pad_top, d->kh, d->dilation_h,
                                                d->stride_h, d->oh);
        for (int64_t ix = 0; ix < d->iw; ++ix) {
            float acc = 0.0f;
            /* An element no tap maps to an output is +0 whatever o: skip the channel loop
             * (with strides far above the kernel's extent that is almost every element) */
            if (!row_live || !tap_reaches_output(ix + d->pad_left, d->kw, d->dilation_w,
                                                 d->stride_w, d->ow)) {
                diff_src[iy * d->iw + ix] = acc;
                continue;
            }
            for (int64_t o = g * ocg; o < (g + 1) * ocg; ++o) {
                const float *dd = x->diff_dst + (n * d->oc + o) * d->oh * d->ow;
                const float *w = x->weights + (o * cg + ci) * d->kh * d->kw;
                for (int64_t ky = d->kh - 1; ky >= 0; --ky) {
                    const int64_t ty = iy + d->pad_top - ky * d->dilation_h;
                    if (ty < 0 || ty % d->stride_h != 0) {
                        continue;
                    }
                    const int64_t y = ty / d->stride_h;
                    if (y >= d->oh) {
                        continue;
                    }
                    for (int64_t kx = d->kw - 1; kx >= 0; --kx) {
                        const int64_t tx = ix + d->pad_left - kx * d->dilation_w;
                        if (tx < 0 || tx % d->stride_w != 0) {
                            continue;
                        }
                        const int64_t xo = tx / d->stride_w;
                        if (xo >= d->ow) {
                            continue;
                        }
                        acc += dd[y * d->ow + xo] * w[ky * d->kw + kx];
                    }
                }
            }
            diff_src[iy * d->iw + ix] = acc;
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
