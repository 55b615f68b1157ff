/*
 * Strided 1x1 convolution ("pointwise" algorithm; ResNet's downsampling shortcut): shared
 * declarations of pointwise-scalar.c (geometry, AUTO rule, the gather/scatter driver) and the
 * per-ISA entry points (pointwise-<isa>.c). Not a public header.
 *
 * A 1x1 convolution with stride (sh, sw) and no padding reads only the input pixels
 * (sh*y, sw*x). Gathering those into a dense [n][c][oh][ow] tensor X_s makes every pass a
 * stride-1 1x1 convolution, i.e. a GEMM per image, which the direct engine runs near peak:
 *   forward:          dst   = W [oc x c/g] * X_s [c/g x oh*ow]   (+ bias)
 *   backward-data:    dX_s  = W^T * dY, scattered into the strided positions of diff_src,
 *                     every other diff_src element set to zero
 *   backward-weights: dW    = dY * X_s^T (+ diff_bias = sum of dY)
 * The stride-1 kernel is passed in (the direct kernel of the same ISA level), so this file
 * adds no arithmetic of its own: each output element is the same sum, in the same order, as
 * that kernel computes for the dense problem. At the scalar level that is exactly the scalar
 * reference's order for the strided problem (a 1x1 stride-s tap list has one entry), so the
 * scalar pointwise path is bit-identical to the reference.
 */
#ifndef PCNN_CONV2D_POINTWISE_H
#define PCNN_CONV2D_POINTWISE_H

#include <string.h>

#include "core/pcnn_internal.h"

/* Copies one (image, channel) plane between the strided and the dense layout; instantiated
 * in each level's file (below, static inline) so the copies get that level's vector width. */
typedef void (*pcnn_pointwise_gather_fn)(const pcnn_conv2d_desc *d, const float *strided,
                                         float *dense);
typedef void (*pcnn_pointwise_scatter_fn)(const pcnn_conv2d_desc *d, float *strided,
                                          const float *dense);

/* The stride-1 kernels one level's pointwise entry runs on the gathered tensor. */
typedef struct pcnn_pointwise_inner {
    pcnn_conv2d_fwd_fn fwd;
    pcnn_conv2d_bwd_data_fn bwd_data;
    pcnn_conv2d_bwd_weights_fn bwd_weights;
    pcnn_pointwise_gather_fn gather_plane;
    pcnn_pointwise_scatter_fn scatter_plane;
} pcnn_pointwise_inner;

PCNN_INTERNAL int32_t pcnn_pointwise_fwd(const pcnn_pointwise_inner *k, const pcnn_conv2d_desc *d,
                                         const float *src, const float *weights,
                                         const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_pointwise_bwd_data(const pcnn_pointwise_inner *k,
                                              const pcnn_conv2d_desc *d, const float *diff_dst,
                                              const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_pointwise_bwd_weights(const pcnn_pointwise_inner *k,
                                                 const pcnn_conv2d_desc *d, const float *src,
                                                 const float *diff_dst, float *diff_weights,
                                                 float *diff_bias);

/* One (image, channel) plane: dense[y][x] = strided[y*sh][x*sw]. */
static inline void pcnn_pointwise_gather_plane(const pcnn_conv2d_desc *d, const float *in,
                                               float *out) {
    const int64_t ow = d->ow, sw = d->stride_w;
    for (int64_t y = 0; y < d->oh; ++y) {
        const float *row = in + y * d->stride_h * d->iw;
        float *o = out + y * ow;
        if (sw == 1) {
            memcpy(o, row, (size_t)ow * sizeof(float));
        } else if (sw == 2) { /* the common case: a constant stride the compiler vectorises */
            for (int64_t i = 0; i < ow; ++i) {
                o[i] = row[2 * i];
            }
        } else {
            for (int64_t i = 0; i < ow; ++i) {
                o[i] = row[i * sw];
            }
        }
    }
}

/* One (image, channel) plane of diff_src: the dense gradient at the strided pixels, zero
 * elsewhere (those pixels feed no output). Every element is written exactly once. */
static inline void pcnn_pointwise_scatter_plane(const pcnn_conv2d_desc *d, float *out,
                                                const float *in) {
    const int64_t ow = d->ow, sw = d->stride_w, iw = d->iw;
    for (int64_t iy = 0; iy < d->ih; ++iy) {
        float *row = out + iy * iw;
        if (iy % d->stride_h != 0 || iy / d->stride_h >= d->oh) {
            memset(row, 0, (size_t)iw * sizeof(float));
            continue;
        }
        const float *g = in + (iy / d->stride_h) * ow;
        if (sw == 1) {
            memcpy(row, g, (size_t)ow * sizeof(float));
            memset(row + ow, 0, (size_t)(iw - ow) * sizeof(float));
        } else if (sw == 2) {
            for (int64_t i = 0; i + 1 < ow; ++i) { /* pairs; the last pixel may end the row */
                row[2 * i] = g[i];
                row[2 * i + 1] = 0.0f;
            }
            row[2 * (ow - 1)] = g[ow - 1];
            for (int64_t i = 2 * ow - 1; i < iw; ++i) {
                row[i] = 0.0f;
            }
        } else {
            memset(row, 0, (size_t)iw * sizeof(float));
            for (int64_t i = 0; i < ow; ++i) {
                row[i * sw] = g[i];
            }
        }
    }
}

/* Test hook (hidden; not thread-safe: set it between calls): the gathered bytes per chunk of
 * images for forward / backward-data (<= 0 restores the default). Returns the previous one. */
PCNN_INTERNAL int64_t pcnn_pointwise_set_chunk_bytes(int64_t bytes);

#endif /* PCNN_CONV2D_POINTWISE_H */
