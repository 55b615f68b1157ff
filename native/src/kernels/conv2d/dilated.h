/*
 * Dilated stride-1 convolution as one dense undilated convolution ("phase frame"); part of
 * the DIRECT algorithm (an entry before the plain direct one in table-avx2.c / table-avx512.c).
 * Not a public header.
 *
 * Why: with stride 1 and dilation d, output column x = r + d*a (residue r = x mod d) reads
 * only input columns r - p + d*(a + kx): one residue class. So the outputs of phase r form an
 * ordinary undilated convolution over the de-interleaved input columns r - p + d*j. Laying the
 * d phases side by side in one "frame" row, each phase's segment m_r + k - 1 columns wide
 * (m_r = its outputs), makes the whole layer ONE undilated, unpadded, stride-1 convolution:
 * frame output S_r + a reads frame inputs S_r + a .. S_r + a + k - 1, all inside segment r.
 * The k - 1 frame outputs after each segment (but the last) straddle two segments: junk,
 * never scattered. Rows likewise. Padding becomes explicit zeros in the frame.
 *
 * The frame is an undilated 3x3 when the kernel is: under AUTO, wide layers run it through
 * the level's Winograd kernels instead (pcnn_dilated_winograd_supports / _auto_pick, a
 * WINOGRAD entry; same driver, other inner kernels). Its error bound is Winograd's on the frame
 * (docs/winograd.md); java/.../nativeimpl/DilatedFrame.java ports this geometry (make_axis,
 * fill_maps, make_frame, in_row, dense_desc, the copy tasks) for it: change both together.
 *
 * The existing fast stride-1 direct kernels then run the frame at full vector width (the
 * frame is unpadded, so they read it in place, and its rows are wider: fewer vector tails).
 *   forward:          gather src -> frame; dense forward; scatter the real outputs to dst
 *   backward-data:    gather diff_dst -> frame outputs (junk = 0); dense backward-data;
 *                     scatter the frame gradient to diff_src (pixels no output reads: 0)
 * Backward-weights is not framed: there the plain direct kernel (its own phase-plane path)
 * measured 2-6% faster than the framed problem (CPU time, 4x256x33x33, dilation 2 and 3).
 * Every input pixel lies in at most one frame position (distinct residues per phase), so the
 * scatters are copies, not sums.
 *
 * Non-finite data: the frame multiplies explicit zeros (padding, junk dY) that the reference
 * skips, so a non-finite weight declines (UNSUPPORTED): the plain direct entry then serves
 * the call.
 */
#ifndef PCNN_CONV2D_DILATED_H
#define PCNN_CONV2D_DILATED_H

#include "core/pcnn_internal.h"

/* The dense kernels of one ISA level that run the frame. */
typedef struct pcnn_dilated_inner {
    pcnn_conv2d_fwd_fn fwd;
    pcnn_conv2d_bwd_data_fn bwd_data;
} pcnn_dilated_inner;

/* Geometry: stride 1, dilation > 1 on an axis with a kernel wider than 1, and the frame's
 * junk at most a quarter of the real outputs (else the plain direct kernel serves). The
 * Winograd variant: that, a 3x3 kernel, and an AUTO request (declared in pcnn_internal.h). */
PCNN_INTERNAL int pcnn_dilated_supports(const pcnn_conv2d_desc *d, int32_t pass);

PCNN_INTERNAL int32_t pcnn_dilated_fwd(const pcnn_dilated_inner *k, const pcnn_conv2d_desc *d,
                                       const float *src, const float *weights, const float *bias,
                                       float *dst);
PCNN_INTERNAL int32_t pcnn_dilated_bwd_data(const pcnn_dilated_inner *k, const pcnn_conv2d_desc *d,
                                            const float *diff_dst, const float *weights,
                                            float *diff_src);
/* Test hook (hidden; not thread-safe: set between calls): bytes of frame per chunk of images
 * in forward / backward-data (<= 0 restores the default). Returns the previous value. */
PCNN_INTERNAL int64_t pcnn_dilated_set_chunk_bytes(int64_t bytes);

#endif /* PCNN_CONV2D_DILATED_H */
