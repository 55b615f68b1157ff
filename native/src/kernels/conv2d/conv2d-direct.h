/*
 * conv2d forward and backward-data, direct NCHW kernels: one template for AVX-512 and AVX2.
 *
 * Included (once) at the end of conv2d_direct-avx512.c and conv2d_direct-avx2.c, each
 * compiled with its own ISA flags. Not a public header. Nothing here names an ISA: the
 * including file first includes direct/int_math.h and defines the vector layer:
 *   VL (lanes), NV_MAX (vectors per tile), OCB_LIMIT (channels per tile), vec_t, vmask_t,
 *   vmask_first(n), VZERO VSET1 VADD VLOADU VLOADM VSTOREU VSTOREM VFMA;
 *   VLOADM_AT(p, i, m): a masked load at p + i where that may lie outside p's buffer (the
 *   address formed as an integer: no UB; prefetches: core's PCNN_PREFETCH_AT);
 *   register budgets: ocb_max_for_nv[], NR_MAX OCB2_MAX ACC2_MAX REG2_MAX (2-D tiles),
 *   FT FV (flat backward-data tile), and the micro-kernel shapes to compile:
 *   DIRECT_UKR_SHAPES, DIRECT_UKR2_OCBS / _NRS / _NVS (see direct/microkernels.h);
 *   vmask_range, split_phases2, interleave_phases2 (row edges, stride-2 phases),
 *   has_nonfinite (weight scan); optionally pwtail_table + PW_TAIL_MAX (pointwise row
 *   tails with channels in lanes, AVX-512);
 *   optionally DIRECT_FLAT_TILES + PCNN_DIRECT_FLAT_TILE_RUNS + VMASK_BITS (flat tiles);
 *   names: PCNN_DIRECT_FWD, PCNN_DIRECT_BWD_DATA, PCNN_DIRECT_FLAT_RUNS.
 * This file is the overview; the code is in direct/, included below in this order (each
 * part's top comment says what it holds):
 *   direct/int_math.h           imin, imax, floor_div, ceil_div, sat_mul (included first,
 *                               by the per-ISA file)
 *   direct/microkernels.h       ukr_* / ukr2_*: the register tiles that do the arithmetic
 *   direct/channel_tiles.h      ukrc_*: tiles with output channels in the lanes (AVX-512, AVX2)
 *   direct/job.h                job_t, channel blocks, tile width, one row of tiles
 *   direct/weight_packing.h     OIHW -> [ci][tap][ocb] blocks, once or per thread
 *   direct/copy_rows.h          copy_rows_spill: the row tiles' padded copy (both tasks)
 *   direct/forward.h            fwd_task: padded / phase-split input rows, tap lists
 *   direct/backward_data.h      bwd_task: per stride phase, interleaved back
 *   direct/pointwise.h          1x1 stride 1 unpadded: a GEMM (pw_task), tiles across images
 *   direct/schedule.h           tasks per job (plan_tasks), running them (run_job)
 *   direct/flat_tiles.h         ukrf_*: the flat output plane in whole vectors, edges masked
 *                               per lane, input read in place (AVX-512, DIRECT_FLAT_TILES)
 *   direct/flat_backward_data.h small-plane backward-data as a GEMM (flat_bwd_data)
 *   direct/small_channels.h     forward with few input channels: channels-in-lanes tiles
 *                               over several rows (smallc_fwd)
 *   direct/entry.h              the two entry points and their choice of path
 *
 * The engine. Both operations are "for every output pixel, sum over input channels and a
 * list of filter taps of input * weight", so one engine serves both:
 *   - forward:       engine input = src,      engine outputs = dst (oc channels);
 *   - backward-data: engine input = diff_dst, engine outputs = diff_src (c channels),
 *     with the weight of (engine out = c, engine in = o) being weights[o][c][ky][kx]
 *     (the transposed filter; the "rotation" is implicit in the tap offsets below).
 * Output pixels along a row sit in vector lanes, weights are broadcast, and a register
 * tile of OCB output channels x NV vectors is accumulated by the micro-kernel over
 * (input channel, tap). A tap is (offset into the input rows, filter position k):
 * the per-row tap list makes padding (taps falling outside the input are dropped from
 * the list for rows, and read as zeros from a zero-padded row copy for columns), stride,
 * dilation and the stride phases of backward-data all the same thing for the
 * micro-kernel.
 *   - Forward, horizontal stride sw: the (zero-padded) input row is split into sw phases
 *     (phase p holds padded columns p, p+sw, ...), so output x / tap kx reads phase
 *     (kx*dw) % sw at position x + (kx*dw) / sw: consecutive lanes, plain loads.
 *   - Backward-data, stride sw: diff_src columns ix = sw*u + r form phase r; for that
 *     phase the taps kx with (r + pl - kx*dw) % sw == 0 read diff_dst column
 *     u + (r + pl - kx*dw) / sw: a stride-1 convolution per phase (no zero insertion).
 *     Phase rows are computed into a small buffer and interleaved into diff_src.
 *   - Vertical stride / dilation / padding: per output row the valid ky (and, for
 *     backward, the matching diff_dst row) are listed; nothing is read outside the input.
 *   - 1x1, stride 1, no padding: the image is one long row (a GEMM: out = W * in),
 *     run by pw_task: pixel tiles outer with an L1-resident copy of the tile's input
 *     panel, tap-free micro-kernels; when the images have a tail the tiles run across
 *     images (a tile may straddle two); (AVX-512) a channels-in-lanes kernel for a last
 *     tile of <= 8 pixels; backward-data reads the OIHW weights unpacked.
 *   - Forward rows narrower than a vector (e.g. 14 wide, 16 lanes): a tile's vectors are
 *     the same pixels of up to NV consecutive output rows whose taps are all in range
 *     ("row mode"), instead of one-vector tiles with a broadcast per FMA.
 * The zero-padded row copy is made per task for the input rows that task needs, in a
 * per-thread scratch buffer (core/scratch.h; not an im2col: each input element is copied
 * about once, (kh-1)*dh/sh extra rows per task). When no padding and stride 1 make it unnecessary,
 * the input is read in place.
 *
 *   - Backward-data with few diff_src channels (1 for LeNet's first layer, 3 for RGB):
 *     an OCB x NV tile has only 2..6 accumulators and the FMA latency bounds it, so tiles
 *     are NR rows x NV vectors x OCB channels (ukr2_*, channels summed innermost) when
 *     the tile's input fits in L1.
 * Non-finite weights: the padded paths multiply zeros by every weight, so 0 * Inf = NaN
 * would appear where the scalar kernel skips the tap; such calls (forward with padding,
 * any backward-data) return PCNN_STATUS_UNSUPPORTED after an O(weights) scan and the
 * dispatcher runs the scalar kernel.
 *
 * Tails: a tile covers NV vectors of one output row. Tiles start at 0, NV*VL, ...; the
 * rest of the row (less than NV*VL pixels) is one narrower tail tile whose last vector is
 * masked, for loads and stores: nothing is read or written outside the buffers, and no
 * pixel is computed twice (each pixel's summation order does not depend on the tile).
 *
 * Threads: tasks are (image, group, block of output rows, block of output-channel
 * blocks), each writing its own part of the output; every pixel's value is computed by
 * the same instruction sequence whichever task / thread computes it, so results are
 * bit-identical for any thread count. Summation order per pixel: input channel, then
 * ky, then kx (fused multiply-adds), then + bias; with 2-D tiles (a per-job choice) ky,
 * kx, then input channel.
 */
#ifndef PCNN_CONV2D_DIRECT_H
#define PCNN_CONV2D_DIRECT_H

#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"

#if !defined(VL) || !defined(DIRECT_UKR_SHAPES) || !defined(PCNN_DIRECT_FWD)
#error "include conv2d-direct.h from a conv2d_direct-<isa>.c that defines the vector layer"
#endif

#include "direct/microkernels.h"
#include "direct/channel_tiles.h"
#include "direct/job.h"
#include "direct/weight_packing.h"
#include "direct/copy_rows.h"
#include "direct/forward.h"
#include "direct/backward_data.h"
#include "direct/pointwise.h"
#include "direct/schedule.h"
#include "direct/flat_tiles.h"
#include "direct/flat_backward_data.h"
#include "direct/small_channels.h"
#include "direct/entry.h"

#endif /* PCNN_CONV2D_DIRECT_H */
