/*
 * conv2d direct (forward / backward-data): integer helpers of the conv2d-direct.h template.
 * Included first by the per-ISA files (conv2d_direct-<isa>.c), whose vector layer uses them
 * too; ISA-neutral.
 */
#ifndef PCNN_CONV2D_DIRECT_INT_MATH_H
#define PCNN_CONV2D_DIRECT_INT_MATH_H

#include <stdint.h>

#include "core/pcnn_internal.h"

static inline int64_t floor_div(int64_t a, int64_t b) { /* b > 0 */
    const int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static inline int64_t ceil_div(int64_t a, int64_t b) { return floor_div(a + b - 1, b); }

/* a * b, or INT64_MAX on overflow (only used for work estimates). */
static inline int64_t sat_mul(int64_t a, int64_t b) {
    int64_t r;
    return pcnn_mul_i64(a, b, &r) ? INT64_MAX : r;
}

static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

#endif /* PCNN_CONV2D_DIRECT_INT_MATH_H */
