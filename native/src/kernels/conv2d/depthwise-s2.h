/*
 * Depthwise conv2d, stride-2 row engine (depthwise-s2-simd.h): which calls it takes. Shared by
 * the vector kernels and the tests (static inline: no new object file).
 *
 * The engine keeps whole rows in registers: a plane row of W floats is split once into its even
 * and odd columns (lane j = column 2j, 2j + 1), so every tap column 2x + kx - pad_left is one of
 * those two vectors shifted by at most one lane. That needs stride 2 on both axes, dilation 1,
 * kernels up to 5x5 with kx - pad_left in [-2, 3] for every kx, and rows of at most
 * DW2_LANES_MAX lanes (max(ow, ceil(iw / 2))); anything else goes to the other engines.
 */
#ifndef PCNN_DEPTHWISE_S2_H
#define PCNN_DEPTHWISE_S2_H

#include <stdint.h>

#include "core/pcnn_internal.h"

/* A prefetch stream over one array, shared by the stride-2 forward (its input) and backward-data
 * (diff_dst, and diff_src for writing) engines: `next` is the first 64-byte line not yet asked for,
 * `end` the array's end, past which nothing is asked for. Addresses as integers: the first line
 * may start before the array, the last step may pass its end, and `upto` + lines may lie past it
 * (pointer arithmetic there is undefined behaviour in C even though nothing is read). */
typedef struct {
    uintptr_t next, end;
} dw2_stream;

/* The stream over [first, end), its first line the one holding `first`. */
static inline dw2_stream dw2_stream_at(const float *first, const float *end) {
    dw2_stream s = {(uintptr_t)first & ~(uintptr_t)63, (uintptr_t)end};
    return s;
}

/* Asks for the lines from s->next up to `lines` lines past `upto` (prefetchw when `write`);
 * `upto` may lie past the array (form it with pcnn_float_at). */
static inline __attribute__((always_inline)) void dw2_stream_to(dw2_stream *s, const float *upto, const int lines,
                                                                const int write) {
    uintptr_t t = (uintptr_t)upto + (uintptr_t)(64 * lines);
    if (t > s->end) {
        t = s->end;
    }
    uintptr_t a = s->next;
    for (; a < t; a += 64) {
        if (write) {
            __builtin_prefetch((const void *)a, 1, 3); /* the rw argument must be a constant */
        } else {
            __builtin_prefetch((const void *)a, 0, 3);
        }
    }
    s->next = a;
}

#define DW2_LANES_MAX 64 /* lanes of a row (outputs, or diff_src column pairs) */
#define DW2_K_MAX 5      /* kernel rows / columns */

/* Column blocks of vl lanes a row takes (diff_src rows are handled as ceil(iw / 2) column pairs). */
static inline int64_t pcnn_dw_s2_blocks(const pcnn_conv2d_desc *d, int64_t vl) {
    const int64_t pairs = (d->iw + 1) / 2, lanes = d->ow > pairs ? d->ow : pairs;
    return (lanes + vl - 1) / vl;
}

/* 1 when the stride-2 row engine's geometry covers this call at vector length vl (the engine
 * still declines forward / backward-data calls with a non-finite weight at run time). */
static inline int pcnn_dw_s2_geometry(const pcnn_conv2d_desc *d, int32_t pass, int64_t vl) {
    (void)pass;
    if (d->groups != d->c || d->oc != d->c || d->stride_h != 2 || d->stride_w != 2) {
        return 0;
    }
    if (d->dilation_h != 1 || d->dilation_w != 1 || d->kh < 1 || d->kh > DW2_K_MAX || d->kw < 1 ||
        d->kw > DW2_K_MAX) {
        return 0;
    }
    /* every tap column kx - pad_left = 2s + parity with s in [-1, 1] */
    if (d->pad_left > 2 || d->kw - 1 - d->pad_left > 3) {
        return 0;
    }
    /* plane sizes: the lane count bounds the columns; rows and padding only index */
    const int64_t lim = (int64_t)1 << 24;
    if (d->ih > lim || d->oh > lim || d->pad_top > lim || d->pad_bottom > lim || d->iw > 2 * DW2_LANES_MAX ||
        d->ow > DW2_LANES_MAX) {
        return 0;
    }
    return vl >= 1 && pcnn_dw_s2_blocks(d, vl) * vl <= DW2_LANES_MAX;
}

#endif /* PCNN_DEPTHWISE_S2_H */
