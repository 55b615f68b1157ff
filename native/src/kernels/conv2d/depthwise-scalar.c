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
 * AUTO rule, measured (pcnn-bench --algorithm depthwise vs direct, 2026-12-04, AVX-512,
 * 1 thread, busy machine; bench/results/2026-12-04T1413Z-*-dw-algo-*): on dw3x3 (8x256x28x28,
 * 3x3, pad 1) and dw3x3_s2 the depthwise kernels were 1.1x / 1.25x direct forward, 0.85x
 * backward-data (stride 1), and backward-weights 0.8-1.05x at stride 1 but 2.5-5x at stride 2
 * (direct's backward-weights has no good strided path). Only that last win is clear beyond
 * the noise, so AUTO takes backward-weights with a stride-2 axis; explicit DEPTHWISE requests
 * take every pass.
 */
PCNN_INTERNAL int pcnn_depthwise_auto_pick(const pcnn_conv2d_desc *d, int32_t pass) {
    return pass == PCNN_PASS_BWD_WEIGHTS && (d->stride_h == 2 || d->stride_w == 2);
}

/* The scalar level's DEPTHWISE entry (the scalar direct kernel, the reference) takes every
 * depthwise shape, so an explicit DEPTHWISE request never fails on one. */
PCNN_INTERNAL int pcnn_depthwise_reference_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)pass;
    return d->groups == d->c && d->oc == d->c;
}
