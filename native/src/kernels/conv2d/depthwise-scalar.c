/*
 * Depthwise conv2d (groups == c == oc): the geometry predicate and the AUTO rule, shared by
 * the vector kernels (template depthwise-simd.h, built by depthwise-avx512.c and
 * depthwise-avx2.c). There is no separate scalar depthwise kernel: the scalar direct kernel
 * (conv2d-scalar.c) is the reference and serves every other level.
 */
#include "core/pcnn_internal.h"
#include "kernels/conv2d/depthwise-lanes.h"

/*
 * One input and one output channel per group, stride 1 or 2, a kernel of at most
 * PCNN_DW_MAX_TAPS taps (the backward-weights kernel keeps one accumulator per tap), plane
 * rows that fit int32 lane arithmetic. Every pass, stride 1 or 2 on each axis.
 */
PCNN_INTERNAL int pcnn_depthwise_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)pass;
    if (d->groups != d->c || d->oc != d->c) {
        return 0;
    }
    if (d->stride_h < 1 || d->stride_h > 2 || d->stride_w < 1 || d->stride_w > 2) {
        return 0;
    }
    if (d->kh * d->kw > PCNN_DW_MAX_TAPS || d->iw > INT32_MAX / 4 || d->ow > INT32_MAX / 4) {
        return 0;
    }
    return 1;
}

/*
 * AUTO rule, measured (pcnn-bench --algorithm depthwise vs direct, 2026-12-04, 1 thread, Zen 5,
 * busy machine, minimum times): the depthwise kernels beat direct on every pass of every
 * depthwise shape tried, AVX-512: dw3x3 2.5-3.8x, dw3x3_s2 3.8-8.5x, 8x128x28x28 5x5 1.2-1.6x,
 * 4x64x56x56 7x7 stride 2 1.5-5.4x, 2x32x112x112 3x3 stride 1 / 2 1.5-2.9x; AVX2: dw3x3
 * 1.5-5.8x, dw3x3_s2 2.9-4.9x. So AUTO takes every depthwise call the vector kernels support.
 */
PCNN_INTERNAL int pcnn_depthwise_auto_pick(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)d, (void)pass;
    return 1;
}

/* The scalar level's DEPTHWISE entry (the scalar direct kernel, the reference) takes every
 * depthwise shape, so an explicit DEPTHWISE request never fails on one. */
PCNN_INTERNAL int pcnn_depthwise_reference_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)pass;
    return d->groups == d->c && d->oc == d->c;
}

/* floor(a / b) for b > 0 */
static int64_t dw_floor_div(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/*
 * The lanes engine's frame (see depthwise-lanes.h). Every size is bounded first (2^20 per
 * dimension, padding and kernel extent) so the products below cannot overflow int64; the
 * scratch cap then keeps every offset far inside int32 as well.
 */
PCNN_INTERNAL int pcnn_depthwise_lanes_frame(const pcnn_conv2d_desc *d, int32_t pass, int64_t vl,
                                             pcnn_dw_frame *f) {
    const int64_t lim = (int64_t)1 << 20;
    if (!pcnn_depthwise_supports(d, pass) || vl < 1 || vl > 64) {
        return 0;
    }
    const int64_t dims[] = {d->ih, d->iw, d->oh, d->ow, d->pad_top, d->pad_left, d->pad_bottom, d->pad_right,
                            (d->kh - 1) * (d->dilation_h < lim ? d->dilation_h : lim),
                            (d->kw - 1) * (d->dilation_w < lim ? d->dilation_w : lim)};
    for (int i = 0; i < (int)(sizeof dims / sizeof dims[0]); i++) {
        if (dims[i] < 0 || dims[i] > lim) {
            return 0;
        }
    }
    const int64_t ext_h = (d->kh - 1) * d->dilation_h, ext_w = (d->kw - 1) * d->dilation_w;
    if (pass == PCNN_PASS_BWD_DATA) {
        /* diff_src (iy, ix) reads diff_dst row (iy + pad_top - ky*dil) / stride */
        const int64_t lo_y = dw_floor_div(d->pad_top - ext_h, d->stride_h);
        const int64_t lo_x = dw_floor_div(d->pad_left - ext_w, d->stride_w);
        const int64_t hi_y = (d->ih - 1 + d->pad_top) / d->stride_h;
        const int64_t hi_x = (d->iw - 1 + d->pad_left) / d->stride_w;
        f->top = lo_y < 0 ? -lo_y : 0;
        f->left = lo_x < 0 ? -lo_x : 0;
        f->hp = f->top + (hi_y + 1 > d->oh ? hi_y + 1 : d->oh);
        f->wp = f->left + (hi_x + 1 > d->ow ? hi_x + 1 : d->ow);
        f->staging = d->ih * d->iw;
    } else {
        /* output (y, x) reads input row y*stride + ky*dil - pad_top; every input pixel has a place */
        const int64_t need_h = (d->oh - 1) * d->stride_h + ext_h + 1;
        const int64_t need_w = (d->ow - 1) * d->stride_w + ext_w + 1;
        f->top = d->pad_top, f->left = d->pad_left;
        f->hp = need_h > d->pad_top + d->ih ? need_h : d->pad_top + d->ih;
        f->wp = need_w > d->pad_left + d->iw ? need_w : d->pad_left + d->iw;
        f->staging = d->oh * d->ow;
    }
    f->floats = (f->hp * f->wp + f->staging) * vl;
    if (f->floats * (int64_t)sizeof(float) > PCNN_DW_LANES_SCRATCH_MAX) {
        return 0;
    }
    /* Measured (pcnn-bench, same run as oneDNN, 1 thread, AVX-512, busy machine, medians of 2-3):
     * lanes vs plane engine, dw3x3 forward 893 vs 519 us, backward-data 739 vs 549, backward-weights
     * 646 vs 797; dw3x3_s2 forward 336 vs 413, backward-data 356 vs 745, backward-weights 268 vs
     * 522. So: backward-weights always, forward and backward-data when a stride is 2 (stride 1: the
     * plane engine reads each plane once, in order, and its rows of 28 leave few lanes idle, while
     * the lanes engine pays two transposes). */
    return pass == PCNN_PASS_BWD_WEIGHTS || d->stride_h == 2 || d->stride_w == 2;
}
