/*
 * Depthwise conv2d (groups == c == oc): the geometry predicate and the AUTO rule, shared by
 * the vector kernels (depthwise-avx512.c). There is no separate scalar depthwise kernel: the
 * scalar direct kernel (conv2d-scalar.c) is the reference and serves every other level.
 */
#include "core/pcnn_internal.h"

/*
 * One input and one output channel per group, stride 1 or 2, a kernel of at most
 * PCNN_DW_MAX_TAPS taps (the backward-weights kernel keeps one accumulator per tap), plane
 * rows that fit int32 lane arithmetic. Backward-data is vectorised for stride 1 only (with
 * stride 2 the gather form has a different tap set per output parity); direct serves it.
 */
PCNN_INTERNAL int pcnn_depthwise_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    if (d->groups != d->c || d->oc != d->c) {
        return 0;
    }
    if (d->stride_h < 1 || d->stride_h > 2 || d->stride_w < 1 || d->stride_w > 2) {
        return 0;
    }
    if (d->kh * d->kw > PCNN_DW_MAX_TAPS || d->iw > INT32_MAX / 4 || d->ow > INT32_MAX / 4) {
        return 0;
    }
    if (pass == PCNN_PASS_BWD_DATA && (d->stride_h != 1 || d->stride_w != 1)) {
        return 0;
    }
    return 1;
}

/*
 * AUTO rule, measured (pcnn-bench, 2026-12-04, AVX-512, 1 thread, same run; dw3x3 = 8x256x28x28,
 * 3x3, pad 1, and its stride-2 twin): backward-weights 1.0x (stride 1) and 2.5x (stride 2) the
 * direct kernel's speed; forward 0.8-0.95x and backward-data 0.45x of direct (its 28-wide rows
 * are two partly masked vectors and the per-tap bookkeeping is not amortised). So AUTO uses it
 * for backward-weights only; explicit DEPTHWISE requests take every pass.
 */
PCNN_INTERNAL int pcnn_depthwise_auto_pick(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)d;
    return pass == PCNN_PASS_BWD_WEIGHTS;
}

/* The scalar level's DEPTHWISE entry (the scalar direct kernel, the reference) takes every
 * depthwise shape, so an explicit DEPTHWISE request never fails on one. */
PCNN_INTERNAL int pcnn_depthwise_reference_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)pass;
    return d->groups == d->c && d->oc == d->c;
}
