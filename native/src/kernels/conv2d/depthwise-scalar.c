/*
 * Depthwise conv2d (groups == c == oc): the geometry predicate and the AUTO rule, shared by
 * the vector kernels (template depthwise-simd.h, built by depthwise-avx512.c and
 * depthwise-avx2.c). There is no separate scalar depthwise kernel: the scalar direct kernel
 * (conv2d-scalar.c) is the reference and serves every other level.
 */
#include "core/pcnn_internal.h"

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
