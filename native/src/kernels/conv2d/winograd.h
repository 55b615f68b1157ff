/*
 * Winograd F(4x4,3x3) for conv2d: shared definitions of the scalar oracle and the AVX2 /
 * AVX-512 kernels (winograd-scalar.c, winograd-simd.h). Not a public header.
 *
 * Both passes run one engine, "out = sum over in channels of a 3x3 stride-1 correlation":
 *   - forward:       engine in = src (c channels), out = dst (oc), weights w[o][c][ky][kx],
 *                    input origin of output (0,0) = (-pad_top, -pad_left), + bias;
 *   - backward-data: engine in = diff_dst (oc channels), out = diff_src (c), weights
 *                    w'[c][o][ky][kx] = w[o][c][2-ky][2-kx] (transposed, rotated 180 degrees),
 *                    origin (pad_top - 2, pad_left - 2): the full correlation of diff_dst.
 * Output tiles are 4x4, anchored at output (0,0); tile (ty, tx) reads the 6x6 input patch at
 * origin + (4ty, 4tx); positions outside the input are zeros; outputs past the edge are dropped.
 *   V = B^T d B (input), U = G g G^T (weights, computed in double, rounded once),
 *   M = sum over in channels of U .* V, Y = A^T M A (+ bias).
 * The error bound is derived in docs/winograd.md.
 */
#ifndef PCNN_WINOGRAD_H
#define PCNN_WINOGRAD_H

#include "core/pcnn_internal.h"

#define WINO_M 4  /* output tile side */
#define WINO_T 6  /* input tile side = WINO_M + 3 - 1 */
#define WINO_TT 36

/* The engine's view of one call (filled by wino_plan). */
typedef struct {
    int64_t n, groups;
    int64_t cin_g, cout_g;  /* engine in / out channels per group */
    int64_t ih, iw, oh, ow; /* engine input / output plane sizes */
    int64_t org_y, org_x;   /* input position of output (0,0)'s first tap */
    int64_t ty, tx;         /* tiles per column / row */
    int backward;           /* 1: weights are read transposed and rotated */
} wino_plan;

/* Fills *p for pass PCNN_PASS_FWD or PCNN_PASS_BWD_DATA. */
PCNN_INTERNAL void pcnn_wino_plan(const pcnn_conv2d_desc *d, int32_t pass, wino_plan *p);

/*
 * Transformed weights u[g][36][cin_g][cout_g] (engine channels; o fastest) from OIHW weights.
 * Returns 0, or 1 when a weight is not finite (the caller declines: direct serves the call).
 */
PCNN_INTERNAL int pcnn_wino_transform_weights(const pcnn_conv2d_desc *d, const wino_plan *p,
                                              const float *weights, float *u);

#endif /* PCNN_WINOGRAD_H */
