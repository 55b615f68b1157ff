/*
 * Depthwise conv2d, channels-in-lanes engine (depthwise-lanes-simd.h): its geometry, shared by
 * the vector kernels, the scalar file's predicate and the tests.
 *
 * A task transposes VL channel planes into a pixel-major "frame" [hp][wp][VL] with zero
 * borders: forward and backward-weights frame the input (input row iy at frame row iy + top),
 * backward-data frames diff_dst (diff_dst row oy at frame row oy + top). Results go through a
 * pixel-major staging area [pixels][VL] that is transposed back to NCHW planes.
 */
#ifndef PCNN_DEPTHWISE_LANES_H
#define PCNN_DEPTHWISE_LANES_H

#include <stdint.h>

#include "core/pcnn_internal.h"

/* Above this a task's frame + staging no longer sit in L2 and the plane engine is used. */
#define PCNN_DW_LANES_SCRATCH_MAX ((int64_t)1024 * 1024)

typedef struct {
    int64_t hp, wp;      /* frame rows, columns */
    int64_t top, left;   /* frame position of input (or diff_dst) pixel (0, 0) */
    int64_t staging;     /* pixels of the staging area */
    int64_t floats;      /* frame + staging, in floats (VL channels) */
} pcnn_dw_frame;

/* Fills f and returns 1 when the lanes engine takes this call at vector length vl, else 0
 * (geometry beyond the plane-size limits, or scratch above PCNN_DW_LANES_SCRATCH_MAX). */
PCNN_INTERNAL int pcnn_depthwise_lanes_frame(const pcnn_conv2d_desc *d, int32_t pass, int64_t vl,
                                             pcnn_dw_frame *f);

#endif /* PCNN_DEPTHWISE_LANES_H */
