/*
 * conv2d forward and backward-data, direct NCHW kernels: one template for AVX-512 and AVX2.
 *
 * Included (once) by conv2d_direct-avx512.c with PCNN_DIRECT_AVX512 defined and by
 * conv2d_direct-avx2.c with PCNN_DIRECT_AVX2 defined; each file is compiled with its own
 * ISA flags. Not a public header. This file is the overview; the code is in direct/,
 * included below in this order (each part's top comment says what it holds):
 *   direct/microkernels.h       ukr_* / ukr2_*: the register tiles that do the arithmetic
 *   direct/job.h                job_t, integer helpers, tile width, one row of tiles
 *   direct/weight_packing.h     OIHW -> [ci][tap][ocb] blocks, once or per thread
 *   direct/forward.h            fwd_task: padded / phase-split input rows, tap lists
 *   direct/backward_data.h      bwd_task: per stride phase, interleaved back
 *   direct/pointwise.h          1x1 stride 1 unpadded: a GEMM per image (pw_task)
 *   direct/schedule.h           tasks per job (plan_tasks), running them (run_job)
 *   direct/flat_backward_data.h small-plane backward-data as a GEMM (flat_bwd_data)
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
 *     panel, tap-free micro-kernels, and (AVX-512) a channels-in-lanes kernel for a
 *     row tail of <= 8 pixels; backward-data reads the OIHW weights unpacked.
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

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"

#if defined(PCNN_DIRECT_AVX512)
/* ---- AVX-512: 16 lanes, 32 vector registers, free masked loads ---- */
#define VL 16
#define NV_MAX 4
#define OCB_LIMIT 16
typedef __m512 vec_t;
typedef __mmask16 vmask_t;
static inline vmask_t vmask_first(int64_t n) { /* n in [1, VL] */
    return (vmask_t)((1u << n) - 1u);
}
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VLOADU(p) _mm512_loadu_ps(p)
#define VLOADM(p, m) _mm512_maskz_loadu_ps((m), (p))
#define VSTOREU(p, v) _mm512_storeu_ps((p), (v))
#define VSTOREM(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
/* Largest output-channel block per tile width: keeps OCB*NV accumulators plus the NV
 * input vectors in the 32 registers. */
static const int ocb_max_for_nv[NV_MAX + 1] = {0, 16, 12, 8, 6};
/* 2-D tiles (rows x vectors) for small output-channel blocks (backward-data): at most
 * NR_MAX rows and OCB2_MAX channels; used when the 1-D tile has at most half of ACC2_MAX
 * accumulators, with the most rows that keep OCB*NR*NV accumulators <= ACC2_MAX and
 * (OCB+1)*NR*NV <= REG2_MAX registers (the weight broadcasts are folded into the FMAs as
 * memory operands). See choose_nr. */
#define NR_MAX 6
#define OCB2_MAX 4
#define ACC2_MAX 24
#define REG2_MAX 30
#define PCNN_DIRECT_FWD pcnn_conv2d_fwd__avx512
#define PCNN_DIRECT_BWD_DATA pcnn_conv2d_bwd_data__avx512
#define PCNN_DIRECT_FLAT_RUNS pcnn_conv2d_bwd_data_flat_runs__avx512

#elif defined(PCNN_DIRECT_AVX2)
/* ---- AVX2 + FMA: 8 lanes, 16 vector registers ---- */
#define VL 8
#define NV_MAX 3
#define OCB_LIMIT 8
typedef __m256 vec_t;
typedef __m256i vmask_t;
static inline vmask_t vmask_first(int64_t n) { /* n in [1, VL] */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VLOADU(p) _mm256_loadu_ps(p)
#define VLOADM(p, m) _mm256_maskload_ps((p), (m))
#define VSTOREU(p, v) _mm256_storeu_ps((p), (v))
#define VSTOREM(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
/* 16 ymm registers: OCB*NV accumulators + NV inputs + 1 broadcast <= 16. */
static const int ocb_max_for_nv[NV_MAX + 1] = {0, 8, 6, 3};
#define NR_MAX 4
#define OCB2_MAX 3
#define ACC2_MAX 12
#define REG2_MAX 15
#define PCNN_DIRECT_FWD pcnn_conv2d_fwd__avx2
#define PCNN_DIRECT_BWD_DATA pcnn_conv2d_bwd_data__avx2
#define PCNN_DIRECT_FLAT_RUNS pcnn_conv2d_bwd_data_flat_runs__avx2

#else
#error "define PCNN_DIRECT_AVX512 or PCNN_DIRECT_AVX2 before including conv2d-direct.h"
#endif

#include "direct/microkernels.h"
#include "direct/job.h"
#include "direct/weight_packing.h"
#include "direct/forward.h"
#include "direct/backward_data.h"
#include "direct/pointwise.h"
#include "direct/schedule.h"
#include "direct/flat_backward_data.h"
#include "direct/entry.h"

#endif /* PCNN_CONV2D_DIRECT_H */
