/*
 * conv2d backward-weights, SIMD template shared by conv2d_bwd_weights-avx2.c and
 * conv2d_bwd_weights-avx512.c. Nothing here names an ISA: the including file defines the
 * vector layer first: CW_V lanes, cw_vf, cw_load / cw_load_first (masked tail) / cw_store /
 * cw_fma / cw_add / cw_sub / cw_zero / cw_hsum, cw_load_row / cw_load_row_s2 (row reads
 * that are zero outside the row), cw_prefetch, the register tile CW_RO x CW_RT, CW_NAME
 * (the kernel's name), CW_FLAT_RUNS and CW_HALVES_RUNS (names of counters for the tests), CW_WIDE_DY_MAX
 * (name of a limit the tests lower), tunables that
 * differ from the defaults below, and for the transposed path CW_TRANS with cw_bcast /
 * cw_prefetch_l2 / cw_transpose_v / cw_load_row_s2m (CW_TK: its tile width in vectors), for
 * cw_run_first CW_FIRST with the same.
 * This file is the overview and the tunables; the code is in
 * bwd_weights/, included at the end in this order:
 *   bwd_weights/tile.h     cw_tile: the CW_RO x CW_RT register tile; per-thread scratch
 *   bwd_weights/packing.h  cw_ctx (shape facts), cw_pack (col rows of the packing path)
 *   bwd_weights/wide.h     cw_run_wide: stride-1 phase-plane path
 *   bwd_weights/flat.h     cw_run_flat: in-place small-plane path
 *   bwd_weights/trans.h    cw_run_trans: lanes along taps (only with CW_TRANS: AVX-512, AVX2)
 *   bwd_weights/first.h    cw_run_first: few input channels, lanes along output channels
 *                          (only with CW_FIRST: AVX-512; AVX2 many input channels only)
 *     bwd_weights/first_rows.h  (included by first.h) the many-channel shapes' input read
 *                          in place, padding taps left out (AVX-512: CW_FIRST_ROWS)
 *   bwd_weights/masked.h   cw_run_masked: equally wide rows of 17..32 pixels, both planes
 *                          read in place, edges masked per lane (only with CW_MASKED: AVX-512)
 *   bwd_weights/task.h     cw_task (one task, picks its path), finiteness, bias gradient
 *   bwd_weights/entry.h    CW_NAME: path choice and task blocking for the shape
 *
 * Formulation: per group, diff_weights is a GEMM in dot-product form
 *     dW[o][t] = sum over n, p of dY[n][o][p] * col[n][t][p]
 * where p = y*ow + x runs over the output plane and t = (ci, ky, kx) over the taps of the
 * group; col[n][t][p] is the input value under tap t for output pixel p (zero where the tap
 * is in the padding). dY rows are already contiguous in p. col rows are packed per chunk of
 * CW_P output pixels, with vector loads (stride 1) or loads plus an even-lane permute
 * (stride 2); planes smaller than a chunk are batched several images per chunk. For a
 * 1x1 / stride-1 / unpadded convolution the col rows are the src planes themselves and
 * nothing is packed. Lanes run along p; a register tile of CW_RO output channels x CW_RT
 * taps keeps CW_RO*CW_RT vector partial sums, which live in a per-task buffer between
 * chunks and are reduced horizontally once at the end. Within a chunk the tiles run one
 * group of CW_RT col rows at a time (those stay in L1) over all the task's output channels
 * (dY rows streamed from L2); chunks of CW_P = 1024 pixels keep the per-tile cost of loading
 * and storing the accumulators small (measured better than 512 with 16 x 24 L1 blocks).
 *
 * Stride-1 convolutions on planes of at least half a chunk (not the in-place 1x1 case) take
 * cw_run_wide instead: the col row of every tap of a channel is the same zero-padded plane
 * stored with a row width of ow + (kw - 1) * dw, at an offset, so only one copy of the input
 * is packed (not kh * kw shifted copies), and the tile runs one long loop per chunk; dY is
 * repacked to that row width with zeros in the extra ("junk") columns, once per call for
 * all tasks (each task used to repack all of it: ~15-20 % of mid / resnet3x3), or per task
 * above the scratch budget; the row chunks are evened out. That once-per-call repack also
 * sums the bias partials per chunk (no separate bias pass over dY). See cw_run_wide for
 * why that path requires src to be finite: its tasks test the values they pack, and a call
 * that met a non-finite one runs again without the path. Those tasks take up to CW_TB_WIDE taps (every
 * task reads all of dY). The packing path gives a task up to 2 * CW_OB output channels when
 * that halves how often col is packed.
 *
 * Determinism: one task per (group, block of output channels, block of taps): each task owns
 * a disjoint slice of dW and walks all n and all chunks itself in a fixed order, so the
 * result does not depend on the thread count. The float summation order differs from the
 * scalar kernel (lanes, then a tree), which the tests allow for with a tolerance (and
 * integer-valued data stays exact).
 *
 * Padding: the scalar kernel skips padded taps; here they multiply a zero. The two agree
 * unless dY holds an infinity or a NaN (0 * inf = NaN), so when the shape has padded taps
 * this kernel first checks dY with the bias-gradient pass (run anyway when diff_bias is
 * wanted; a sum is non-finite iff it met a non-finite value or overflowed; on the stride-1
 * path the sums of its dY repack, added per channel in chunk order) and returns
 * PCNN_STATUS_UNSUPPORTED, handing the call to the scalar kernel, when it finds one.
 *
 * Stride-1 unpadded convolutions on planes of at most one chunk that the stride-1 path does
 * not take (too many junk rows between batched images, e.g. lenet2) and with fewer than 96
 * output channels per group take cw_run_flat: the col rows are the src planes themselves,
 * read at tap offsets, and nothing is packed (see there).
 *
 * With CW_FIRST, tried before everything else: shapes with at most 4 input channels and at
 * least 16 output channels (first layers: cifar, big7x7; AVX-512 only, CW_FIRST_FEW), and
 * stride-1 3-wide kernels with 64 or 128 output channels (resnet3x3, mid: cw_first_many; AVX-512
 * with a 4 x 6 zmm tile, AVX2 with a 2 x 6 ymm tile) take cw_run_first, output
 * channels in the lanes and the input broadcast, no packing; its bias gradient is summed from
 * the transposed dY (no separate pass) and the finiteness check of "Padding" below runs on
 * those sums after the work (then PCNN_STATUS_UNSUPPORTED as here). See there.
 *
 * With CW_TRANS (AVX-512; AVX2 since 2026-12-07): shapes that do not take the stride-1 path
 * (AVX2 has none: CW_WIDE 0) nor cw_run_first and have at least 32 output channels per group
 * (AVX-512's in-place 1x1 case: 96; cw_trans_plan) take cw_run_trans instead, with lanes along
 * the taps and the accumulators in registers over a whole image piece (see there; AVX2 figures
 * in bwd_weights/README-avx2.md). Measured on a busy machine (one thread): pw1x1 ~85 % of the
 * FMA peak (was ~55-60 %), resnet_s2 ~75 % (was ~50 %); the tile itself runs at ~85-90 %, the
 * rest is the transposes and phase planes.
 * Since (2026-12-05, README-pointwise.md): its in-place / packing branch sums the bias
 * gradient from the dY rows the tiles just read (x->tbias: no separate pass, same order),
 * and every branch stores dW from the last piece's registers (no memset, no copy-out).
 *
 * Measured before that (AVX-512, one thread, Zen 5 shared with other jobs, noisy): mid
 * ~60 %, resnet3x3 ~65-70 % of the FMA peak on the stride-1 path; resnet_s2 ~50 % and pw1x1
 * ~55-60 % (the packing path / in place). Since then (dY repacked once per call, chunks
 * of CW_PW, same-process thread-CPU-time medians vs oneDNN 2.6 jit:avx512_core, busy
 * machine): resnet3x3 0.65-0.74x -> 0.79-0.81x oneDNN, mid 0.61-0.73x -> 0.68-0.77x; the
 * tile alone (dY kept hot) ~10 % faster than in the run, i.e. dY streamed from memory by
 * every task is the next cost; prefetching it, prefetching the accumulators, aligned col
 * rows and fewer, larger tasks measured no gain. What remained before: the tile itself runs at ~75-80 % with its operands
 * streamed from L2 (acc load/store per chunk, dY misses); the dY repack of the stride-1 path
 * costs ~5-10 %; the stride-2 packing ~20 %.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"

#if !defined(CW_V) || !defined(CW_NAME) || !defined(CW_FLAT_RUNS) || !defined(CW_HALVES_RUNS) || \
    !defined(CW_WIDE_DY_MAX)
#error "include conv2d_bwd_weights-simd.h from a conv2d_bwd_weights-<isa>.c that defines the vector layer"
#endif

#ifndef CW_OB
#define CW_OB 128 /* output channels per task (a multiple of CW_RO) */
#endif
#ifndef CW_TB
#define CW_TB 48 /* taps per task (a multiple of CW_RT) */
#endif
#ifndef CW_TB_WIDE
#define CW_TB_WIDE 96 /* taps per task on the stride-1 path (a multiple of CW_RT) */
#endif
#ifndef CW_OB2
#define CW_OB2 256 /* output channels per L1 block (a multiple of CW_RO) */
#endif
#ifndef CW_TB2
#define CW_TB2 CW_RT /* taps per L1 block (a multiple of CW_RT) */
#endif
#ifndef CW_P
#define CW_P 1024 /* output pixels per packed chunk (a multiple of CW_V) */
#endif
#ifndef CW_PW
#define CW_PW 2048 /* most pixels per chunk of the stride-1 path (cw_run_wide; measured ~3-6 %
                      * faster than 1024 on mid / resnet3x3, 4096 slower on mid) */
#endif
#ifndef CW_WIDE
#define CW_WIDE 1 /* use the stride-1 padded-plane path (cw_run_wide) where it fits */
#endif
#ifndef CW_FLAT
#define CW_FLAT 1 /* use the in-place small-plane path (cw_run_flat) where it fits */
#endif
#ifndef CW_PF_ROWS
#define CW_PF_ROWS 2 /* dY rows prefetched ahead while repacking */
#endif
/* Row pitch of the packed col block: one cache line more than a chunk, so that the rows
 * of an L1 block do not all fall into the same cache sets (a 2 KiB pitch would). */
#ifndef CW_PITCH
#define CW_PITCH (CW_P + 16)
#endif

#include "bwd_weights/tile.h"
#include "bwd_weights/packing.h"
#include "bwd_weights/wide.h"
#include "bwd_weights/flat.h"
#ifdef CW_TRANS
#include "bwd_weights/trans.h"
#endif
#ifdef CW_FIRST
#include "bwd_weights/first.h"
#endif
#ifdef CW_MASKED
#include "bwd_weights/masked.h"
#endif
#include "bwd_weights/task.h"
#include "bwd_weights/entry.h"
