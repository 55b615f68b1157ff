/*
 * conv2d forward and backward-data, direct NCHW kernels: one template for AVX-512 and AVX2.
 *
 * Included (once) by conv2d_direct-avx512.c with PCNN_DIRECT_AVX512 defined and by
 * conv2d_direct-avx2.c with PCNN_DIRECT_AVX2 defined; each file is compiled with its own
 * ISA flags. Not a public header.
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

/* ---------------------------------------------------------------------------------------
 * Micro-kernel: for j < OCB, v < NV, lanes i:
 *   out[j*out_ostride + v*out_vstride + i] = bias[j] +
 *       sum over ci, taps t of in[ci*in_cstride + tap_in[t] + v*in_vstride + i] * w[ci][t][j]
 * Normally the NV vectors are consecutive pixels of one row (vstrides = VL); for rows
 * narrower than a vector they are the same pixels of NV consecutive output rows. Vectors
 * 0 .. NV-2 are loaded whole (the caller guarantees those reads stay inside the buffer;
 * extra lanes are never stored) and stored with `mid`; the last vector is loaded and
 * stored with `last`.
 * ------------------------------------------------------------------------------------- */
typedef struct {
    const float *in;        /* input for channel 0 at the tile's first pixel */
    int64_t in_cstride;     /* floats between input channels */
    int64_t ci_count;       /* input channels to sum over */
    const int64_t *tap_in;  /* per tap: offset added to `in` */
    const int64_t *tap_w;   /* per tap: offset (k * OCB) into a channel's packed weights */
    int64_t ntaps;          /* may be 0: the tile is then bias (or zero) */
    const float *w;         /* packed weights of this block: [ci][k][OCB] */
    int64_t w_cstride;      /* kh * kw * OCB */
    float *out;             /* output channel 0 at the tile's first pixel */
    int64_t out_ostride;    /* floats between output channels */
    const float *bias;      /* OCB values, or NULL */
    int64_t in_vstride;     /* floats between the tile's vectors in the input (VL, or a row) */
    int64_t out_vstride;    /* floats between the tile's vectors in the output */
    vmask_t mid;            /* lanes stored for vectors 0 .. NV-2 */
    vmask_t last;           /* lanes loaded and stored for the last vector */
} ukr_args;

typedef void (*ukr_fn)(const ukr_args *a);

/* One function per (OCB, NV). The accumulators must end up in registers: GCC does that
 * only if the loops over j and v are fully unrolled before its scalar-replacement pass,
 * hence the unroll pragmas (without them acc[][] is stored to the stack every tap). */
#define UNROLL_J _Pragma("GCC unroll 16")
#define UNROLL_V _Pragma("GCC unroll 4")
#define UKR(OCB, NV)                                                            \
    static void ukr_##OCB##_##NV(const ukr_args *a) {                           \
        vec_t acc[OCB][NV];                                                     \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            UNROLL_V for (int v = 0; v < NV; ++v) {                             \
                acc[j][v] = VZERO();                                            \
            }                                                                   \
        }                                                                       \
        const int64_t ntaps = a->ntaps;                                         \
        const int64_t *tap_in = a->tap_in;                                      \
        const int64_t *tap_w = a->tap_w;                                        \
        const vmask_t last = a->last;                                           \
        const int64_t in_vs = a->in_vstride;                                    \
        for (int64_t ci = 0; ci < a->ci_count; ++ci) {                          \
            const float *ip = a->in + ci * a->in_cstride;                       \
            const float *wp = a->w + ci * a->w_cstride;                         \
            for (int64_t t = 0; t < ntaps; ++t) {                               \
                const float *p = ip + tap_in[t];                                \
                const float *q = wp + tap_w[t];                                 \
                vec_t x[NV];                                                    \
                UNROLL_V for (int v = 0; v < NV - 1; ++v) {                     \
                    x[v] = VLOADU(p + v * in_vs);                               \
                }                                                               \
                x[NV - 1] = VLOADM(p + (NV - 1) * in_vs, last);                 \
                UNROLL_J for (int j = 0; j < OCB; ++j) {                        \
                    const vec_t b = VSET1(q[j]);                                \
                    UNROLL_V for (int v = 0; v < NV; ++v) {                     \
                        acc[j][v] = VFMA(b, x[v], acc[j][v]);                   \
                    }                                                           \
                }                                                               \
            }                                                                   \
        }                                                                       \
        /* + bias after the sum, like the scalar kernel. Adding +0.0f without   \
         * bias keeps the scalar's "0.0f + ..." result for all -0.0f sums. */   \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            float *o = a->out + j * a->out_ostride;                             \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();      \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                VSTOREM(o + v * a->out_vstride, a->mid, VADD(acc[j][v], b));    \
            }                                                                   \
            VSTOREM(o + (NV - 1) * a->out_vstride, last, VADD(acc[j][NV - 1], b)); \
        }                                                                       \
    }

#define UKR_NV1(OCB) UKR(OCB, 1)
#define UKR_NV2(OCB) UKR(OCB, 2)
#define UKR_NV3(OCB) UKR(OCB, 3)
#define UKR_NV4(OCB) UKR(OCB, 4)
#define PTR(OCB, NV) [OCB][NV] = ukr_##OCB##_##NV,

#define FOR_1_TO_3(M) M(1) M(2) M(3)
#define FOR_1_TO_4(M) M(1) M(2) M(3) M(4)
#define FOR_1_TO_6(M) FOR_1_TO_4(M) M(5) M(6)
#define FOR_1_TO_8(M) FOR_1_TO_6(M) M(7) M(8)
#define FOR_1_TO_12(M) FOR_1_TO_8(M) M(9) M(10) M(11) M(12)
#define FOR_1_TO_16(M) FOR_1_TO_12(M) M(13) M(14) M(15) M(16)

#if defined(PCNN_DIRECT_AVX512)
FOR_1_TO_16(UKR_NV1)
FOR_1_TO_12(UKR_NV2)
FOR_1_TO_8(UKR_NV3)
FOR_1_TO_6(UKR_NV4)
#define P1(O) PTR(O, 1)
#define P2(O) PTR(O, 2)
#define P3(O) PTR(O, 3)
#define P4(O) PTR(O, 4)
static const ukr_fn ukr_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    FOR_1_TO_16(P1) FOR_1_TO_12(P2) FOR_1_TO_8(P3) FOR_1_TO_6(P4)};
#else
FOR_1_TO_8(UKR_NV1)
FOR_1_TO_6(UKR_NV2)
FOR_1_TO_3(UKR_NV3)
#define P1(O) PTR(O, 1)
#define P2(O) PTR(O, 2)
#define P3(O) PTR(O, 3)
static const ukr_fn ukr_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    FOR_1_TO_8(P1) FOR_1_TO_6(P2) FOR_1_TO_3(P3)};
#endif

/* 2-D micro-kernel for small channel blocks (e.g. backward-data of a 1- or 3-channel
 * input, where OCB x NV alone is 2..6 accumulators and the FMA latency, not the
 * throughput, would bound the loop): NR output rows x NV vectors x OCB channels.
 * Vector (r, v) is at in + r*in_vstride + v*VL (output: out + r*out_vstride + v*VL);
 * vectors v < NV-1 are whole, each row's last vector is loaded and stored with `last`,
 * so nothing outside the rows' [0, width) is read or written. Summation order per pixel:
 * tap, then input channel (the channel loop is innermost: it only steps two pointers,
 * where the tap loop would reload two offsets and recompute NR row addresses per FMA
 * group), then + bias. A job that uses 2-D tiles uses them for every tile, single rows
 * included (NR = 1), so every pixel gets the same sequence whatever the task split. */
#define UNROLL_R _Pragma("GCC unroll 6")
#define ROWS_MAX (NR_MAX > NV_MAX ? NR_MAX : NV_MAX) /* rows of the backward phase buffer */
#define UKR2(OCB, NR, NV)                                                          \
    static void ukr2_##OCB##_##NR##_##NV(const ukr_args *a) {                      \
        vec_t acc[OCB][NR][NV];                                                    \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                UNROLL_V for (int v = 0; v < NV; ++v) {                            \
                    acc[j][r][v] = VZERO();                                        \
                }                                                                  \
            }                                                                      \
        }                                                                          \
        const int64_t ntaps = a->ntaps;                                            \
        const int64_t *tap_in = a->tap_in;                                         \
        const int64_t *tap_w = a->tap_w;                                           \
        const vmask_t last = a->last;                                              \
        const int64_t in_rs = a->in_vstride;                                       \
        const int64_t in_cs = a->in_cstride, w_cs = a->w_cstride;                  \
        const int64_t cic = a->ci_count;                                           \
        for (int64_t t = 0; t < ntaps; ++t) {                                      \
            const float *p = a->in + tap_in[t];                                    \
            const float *q = a->w + tap_w[t];                                      \
            for (int64_t ci = 0; ci < cic; ++ci, p += in_cs, q += w_cs) {          \
                vec_t x[NR][NV];                                                   \
                UNROLL_R for (int r = 0; r < NR; ++r) {                            \
                    UNROLL_V for (int v = 0; v < NV - 1; ++v) {                    \
                        x[r][v] = VLOADU(p + r * in_rs + v * VL);                  \
                    }                                                              \
                    x[r][NV - 1] = VLOADM(p + r * in_rs + (NV - 1) * VL, last);    \
                }                                                                  \
                UNROLL_J for (int j = 0; j < OCB; ++j) {                           \
                    const vec_t b = VSET1(q[j]);                                   \
                    UNROLL_R for (int r = 0; r < NR; ++r) {                        \
                        UNROLL_V for (int v = 0; v < NV; ++v) {                    \
                            acc[j][r][v] = VFMA(b, x[r][v], acc[j][r][v]);         \
                        }                                                          \
                    }                                                              \
                }                                                                  \
            }                                                                      \
        }                                                                          \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            float *o = a->out + j * a->out_ostride;                                \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();         \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                float *orow = o + r * a->out_vstride;                              \
                UNROLL_V for (int v = 0; v < NV - 1; ++v) {                        \
                    VSTOREU(orow + v * VL, VADD(acc[j][r][v], b));                 \
                }                                                                  \
                VSTOREM(orow + (NV - 1) * VL, last, VADD(acc[j][r][NV - 1], b));   \
            }                                                                      \
        }                                                                          \
    }

#define UKR2_NV(OCB, NR) UKR2(OCB, NR, 1) UKR2(OCB, NR, 2) UKR2(OCB, NR, 3)
#define PTR2(OCB, NR) [OCB][NR][1] = ukr2_##OCB##_##NR##_1, [OCB][NR][2] = ukr2_##OCB##_##NR##_2, \
                      [OCB][NR][3] = ukr2_##OCB##_##NR##_3,
#if defined(PCNN_DIRECT_AVX512)
#undef UKR2_NV
#define UKR2_NV(OCB, NR) UKR2(OCB, NR, 1) UKR2(OCB, NR, 2) UKR2(OCB, NR, 3) UKR2(OCB, NR, 4)
#undef PTR2
#define PTR2(OCB, NR) [OCB][NR][1] = ukr2_##OCB##_##NR##_1, [OCB][NR][2] = ukr2_##OCB##_##NR##_2, \
                      [OCB][NR][3] = ukr2_##OCB##_##NR##_3, [OCB][NR][4] = ukr2_##OCB##_##NR##_4,
#define FOR_NR(M, O) M(O, 1) M(O, 2) M(O, 3) M(O, 4) M(O, 5) M(O, 6)
#define UKR2_ALL(O) FOR_NR(UKR2_NV, O)
#define PTR2_ALL(O) FOR_NR(PTR2, O)
FOR_1_TO_4(UKR2_ALL)
#else
#define FOR_NR(M, O) M(O, 1) M(O, 2) M(O, 3) M(O, 4)
#define UKR2_ALL(O) FOR_NR(UKR2_NV, O)
#define PTR2_ALL(O) FOR_NR(PTR2, O)
FOR_1_TO_3(UKR2_ALL)
#endif
static const ukr_fn ukr2_table[OCB2_MAX + 1][NR_MAX + 1][NV_MAX + 1] = {
#if defined(PCNN_DIRECT_AVX512)
    FOR_1_TO_4(PTR2_ALL)
#else
    FOR_1_TO_3(PTR2_ALL)
#endif
};

/* Rows of a 2-D tile for a block of ocb channels and nv vectors per row (0: no 2-D
 * tiles, the 1-D tile has enough accumulators). */
static int choose_nr(int64_t ocb, int nv) {
    if (ocb > OCB2_MAX || ocb * nv * 2 > ACC2_MAX) {
        return 0;
    }
    int nr = 0;
    for (int r = 2; r <= NR_MAX; ++r) {
        if (ocb * r * nv <= ACC2_MAX && (ocb + 1) * r * nv <= REG2_MAX) {
            nr = r;
        }
    }
    return nr;
}

/* True when some weight is Inf or NaN. The padded paths multiply the zero padding by
 * every weight (0 * Inf = NaN) where the scalar kernel skips the tap: such calls go to
 * the scalar kernel (UNSUPPORTED), which defines the result. O(weights), once per call. */
static int has_nonfinite(const float *w, int64_t count) {
#if defined(PCNN_DIRECT_AVX512)
    const __m512 mx = _mm512_set1_ps(3.40282347e38f);
    __mmask16 bad = 0;
    int64_t i = 0;
    for (; i + VL <= count; i += VL) {
        bad |= _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(w + i)), mx, _CMP_NLE_UQ);
    }
    if (i < count) {
        bad |= _mm512_mask_cmp_ps_mask(vmask_first(count - i),
                                       _mm512_abs_ps(_mm512_maskz_loadu_ps(vmask_first(count - i), w + i)),
                                       mx, _CMP_NLE_UQ);
    }
    return bad != 0;
#else
    const __m256 mx = _mm256_set1_ps(3.40282347e38f);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 bad = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + VL <= count; i += VL) {
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(w + i), absmask), mx,
                                              _CMP_NLE_UQ));
    }
    int any = _mm256_movemask_ps(bad) != 0;
    for (; i < count; ++i) {
        any |= !(w[i] <= 3.40282347e38f && w[i] >= -3.40282347e38f);
    }
    return any;
#endif
}

/* ---------------------------------------------------------------------------------------
 * Scratch: per-thread buffers from core/scratch.h (freed at thread exit, trimmed at the end
 * of each call). tls_pack_job only tags which job's weights this thread's PACK buffer holds:
 * job ids are unique and buffers are only trimmed between jobs, so a stale tag never matches.
 * ------------------------------------------------------------------------------------- */
static __thread uint64_t tls_pack_job;        /* job whose weights the PACK slot holds */
static uint64_t pack_job_counter;             /* job ids, unique per process (0 = none) */

/* ---------------------------------------------------------------------------------------
 * Job description shared by forward and backward-data.
 * ------------------------------------------------------------------------------------- */
typedef struct {
    const pcnn_conv2d_desc *d; /* the (possibly 1x1-flattened) geometry */
    int bwd;                   /* 0 = forward, 1 = backward-data */
    const float *in;           /* src or diff_dst */
    float *out;                /* dst or diff_src */
    const float *bias;         /* forward only, may be NULL */
    const float *weights;      /* OIHW */
    float *wpk;                /* packed weights: [g][block][ci][k][ocb] */
    int64_t groups;
    int64_t ci_g, co_g;        /* engine input / output channels per group */
    int64_t in_h, in_w;        /* engine input plane */
    int64_t out_h, out_w;      /* engine output plane */
    int64_t kt;                /* kh * kw */
    int nv;                    /* vectors per tile */
    int64_t nblocks;           /* output-channel blocks per group */
    int64_t rows_per_task, row_chunks;
    int64_t blocks_per_task, block_chunks;
    int direct;                /* read the input in place (no padded copy) */
    int rowmode;               /* forward, rows narrower than a vector: tiles span rows */
    int nr;                    /* backward: rows per 2-D tile (ukr2), or 0 */
    int64_t row_w;             /* width of one scratch row (per phase) */
    int64_t padl;              /* backward: zero columns left of diff_dst column 0 */
    int64_t uw_max;            /* backward: widest phase row (ceil(iw / sw)) */
    int failed;                /* set (atomically) when a task could not get scratch */
    int64_t macs;              /* multiply-adds of the whole job (thread-count heuristic) */
    uint64_t id;               /* unique job id: keys the per-thread packed weights */
    pcnn_task_fn task;         /* fwd_task / bwd_task / pw_task, run through dyn_task */
    int64_t ntasks;
    _Alignas(64) int64_t next; /* next task to hand out (atomic; own cache line) */
} job_t;

/* Output-channel block b of a group: [*start, *start + *count). Blocks differ by at most
 * one channel (the first co_g % nblocks blocks are one larger). */
static inline void block_range(const job_t *j, int64_t b, int64_t *start, int64_t *count) {
    const int64_t base = j->co_g / j->nblocks;
    const int64_t extra = j->co_g % j->nblocks;
    *count = base + (b < extra ? 1 : 0);
    *start = b * base + (b < extra ? b : extra);
}

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

/* Tiles per row for a width and a tile of nv vectors (see "Tails" above). */
static inline int64_t tiles_for(int64_t width, int nv) {
    const int64_t span = (int64_t)nv * VL;
    return width <= span ? 1 : ceil_div(width, span);
}

/* Vectors per tile for rows of this width: the fewest computed vectors (masked lanes
 * included, one-vector tiles penalised). A row is covered by whole nv-vector tiles and one
 * narrower tail tile (see run_row). On ties the wider tile wins (fewer loads per FMA),
 * unless its tail is a lone vector: then the narrower one, whose larger channel block
 * re-reads the input fewer times (measured on the 196-pixel 1x1 layer: ~8% faster). */
static int choose_nv(int64_t width) {
    int best = 1;
    int64_t best_cost = INT64_MAX;
    const int64_t need = ceil_div(width, VL);
    for (int nv = 1; nv <= NV_MAX && nv <= need; ++nv) {
        const int64_t span = (int64_t)nv * VL;
        const int64_t full = width / span;
        const int64_t tail = ceil_div(width - full * span, VL);
        /* one-vector tiles cost one broadcast per FMA: measured ~20% slower per vector */
        const int64_t cost = full * nv * (nv == 1 ? 5 : 4) + tail * (tail == 1 ? 5 : 4);
        if (cost < best_cost || (cost == best_cost && tail != 1)) {
            best_cost = cost;
            best = nv;
        }
    }
    return best;
}

/* Runs the tiles of one output row segment [0, width) for one channel block: whole tiles
 * of nv vectors, then one tail tile of the remaining ceil(rem / VL) vectors whose last
 * vector is masked (loads and stores: nothing past the row is touched). Every pixel's sum
 * is the same instruction sequence in any tile, so the split never changes a bit. */
/* Like run_row, for `rows` output rows at once (2-D tiles): rows are in_rs / out_rs
 * apart in the input / output. */
static inline void run_rows2d(ukr_args *a, int64_t width, int64_t rows, int nv, int64_t ocb,
                              float *out_row, int64_t out_rs, const float *in_row,
                              int64_t in_rs) {
    const int64_t span = (int64_t)nv * VL;
    a->in_vstride = in_rs;
    a->out_vstride = out_rs;
    a->mid = vmask_first(VL);
    a->last = a->mid;
    const ukr_fn fn = ukr2_table[ocb][rows][nv];
    int64_t x0 = 0;
    for (; x0 + span <= width; x0 += span) {
        a->in = in_row + x0;
        a->out = out_row + x0;
        fn(a);
    }
    if (x0 < width) {
        const int64_t rem = width - x0;
        const int64_t nvu = ceil_div(rem, VL);
        a->last = vmask_first(rem - (nvu - 1) * VL);
        a->in = in_row + x0;
        a->out = out_row + x0;
        ukr2_table[ocb][rows][nvu](a);
    }
}

static inline void run_row(ukr_args *a, int64_t width, int nv, int64_t ocb, float *out_row,
                           const float *in_row) {
    const int64_t span = (int64_t)nv * VL;
    a->in_vstride = VL;
    a->out_vstride = VL;
    a->mid = vmask_first(VL);
    a->last = a->mid;
    const ukr_fn fn = ukr_table[ocb][nv];
    int64_t x0 = 0;
    for (; x0 + span <= width; x0 += span) {
        a->in = in_row + x0;
        a->out = out_row + x0;
        fn(a);
    }
    if (x0 < width) {
        const int64_t rem = width - x0;
        const int64_t nvu = ceil_div(rem, VL);
        a->last = vmask_first(rem - (nvu - 1) * VL);
        a->in = in_row + x0;
        a->out = out_row + x0;
        ukr_table[ocb][nvu](a);
    }
}

/* ---- weight packing of block b of group g into wpk (the whole packed array) ---- */
static void pack_block(const job_t *j, int64_t g, int64_t b, float *wpk) {
    const pcnn_conv2d_desc *d = j->d;
    int64_t o0, ocb;
    block_range(j, b, &o0, &ocb);
    const int64_t kt = j->kt;
    float *dst = wpk + (g * j->co_g + o0) * j->ci_g * kt;
    const int64_t cg = d->c / d->groups;
    /* Backward: loops ordered so that the OIHW weights are read sequentially (the packed
     * block is written with stride ocb, within a few cache lines per step). */
    if (!j->bwd) { /* weights[g*ocg + eo][ci][k]: one contiguous ci_g*kt run per eo */
        /* Packed order outer, so the stores are sequential (measured 1.6x faster than
         * one strided pass per channel: the ocb source rows stream in parallel). */
        const int64_t len = j->ci_g * kt; /* == cg * kt: rows are len apart */
        const float *restrict w0 = j->weights + (g * j->co_g + o0) * cg * kt;
        float *restrict dp = dst;
        for (int64_t i = 0; i < len; ++i, dp += ocb) {
            for (int64_t jj = 0; jj < ocb; ++jj) {
                dp[jj] = w0[jj * len + i];
            }
        }
    } else { /* engine in = o (ci here), engine out = c: weights[g*ocg + ci][eo][k] */
        for (int64_t ci = 0; ci < j->ci_g; ++ci) {
            const float *w = j->weights + ((g * j->ci_g + ci) * cg + o0) * kt;
            float *dc = dst + ci * kt * ocb;
            if (kt == 1) { /* 1x1: the block's row is already in packed order */
                memcpy(dc, w, (size_t)ocb * sizeof(float));
                continue;
            }
            for (int64_t jj = 0; jj < ocb; ++jj) {
                for (int64_t k = 0; k < kt; ++k) {
                    dc[k * ocb + jj] = w[jj * kt + k];
                }
            }
        }
    }
}

static void pack_task(void *p, int64_t t) {
    job_t *j = p;
    pack_block(j, t / j->nblocks, t % j->nblocks, j->wpk);
}

/* Packed weights of block b of group g for a forward / backward-data task, in the running
 * thread's own buffer, packed by this thread on first use in this job. Packing once on the
 * calling thread (or split across the pool) before the tasks was the part of the 3x3
 * stride-2 layer that did not scale: every call's packing stores hit lines that the other
 * core's tasks had read, and the tasks then pulled all weights across cores again
 * (measured: packing 0.19 ms alone, 0.32-0.43 ms with two threads, ~10% of a 2-thread
 * call). Each thread packs only the blocks its tasks use; packing is a pure copy, so the
 * results are the same bits whoever packs. Used when the weights are small next to the
 * job's work (run_job): a thread may pack all of them, duplicating the other threads'
 * packing. NULL when out of memory. */
static const float *task_block_weights(const job_t *j, int64_t g, int64_t b) {
    if (j->wpk != NULL) { /* packed before the tasks (run_job) */
        int64_t o0, ocb;
        block_range(j, b, &o0, &ocb);
        return j->wpk + (g * j->co_g + o0) * j->ci_g * j->kt;
    }
    const int64_t nb = j->groups * j->nblocks;
    const int64_t wcount = j->groups * j->co_g * j->ci_g * j->kt;
    float *wpk = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK, (size_t)wcount * sizeof(float));
    unsigned char *done = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK_FLAGS, (size_t)nb);
    if (wpk == NULL || done == NULL) {
        tls_pack_job = 0;
        return NULL;
    }
    if (tls_pack_job != j->id) {
        memset(done, 0, (size_t)nb);
        tls_pack_job = j->id;
    }
    if (!done[g * j->nblocks + b]) {
        pack_block(j, g, b, wpk);
        done[g * j->nblocks + b] = 1;
    }
    int64_t o0, ocb;
    block_range(j, b, &o0, &ocb);
    return wpk + (g * j->co_g + o0) * j->ci_g * j->kt;
}

/* Task index -> (n, g, row chunk, block chunk). */
static inline void task_coords(const job_t *j, int64_t t, int64_t *n, int64_t *g, int64_t *rc,
                               int64_t *bc) {
    *bc = t % j->block_chunks;
    t /= j->block_chunks;
    *rc = t % j->row_chunks;
    t /= j->row_chunks;
    *g = t % j->groups;
    *n = t / j->groups;
}

static void mark_failed(job_t *j) { __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED); }

/* ---------------------------------------------------------------------------------------
 * Forward task.
 * ------------------------------------------------------------------------------------- */
static inline int fwd_row_interior(const pcnn_conv2d_desc *d, int64_t y) {
    const int64_t top = y * d->stride_h - d->pad_top;
    return top >= 0 && top + (d->kh - 1) * d->dilation_h <= d->ih - 1;
}

/* Lanes i of a vector loading row[x + i] that fall inside [0, iw). */
#if defined(PCNN_DIRECT_AVX512)
static inline vmask_t vmask_range(int64_t x, int64_t iw) {
    const int64_t lo = imin(VL, imax(0, -x)), hi = imax(0, imin(VL, iw - x));
    return hi <= lo ? (vmask_t)0 : (vmask_t)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}
#else
static inline vmask_t vmask_range(int64_t x, int64_t iw) {
    const __m256i i = _mm256_add_epi32(_mm256_set1_epi32((int)imax(-VL, imin(x, iw))),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(-1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)iw), i));
}
#endif

/* Stride-2 phase split of one input row with zero padding:
 * p0[m] = row[2m - pl], p1[m] = row[2m + 1 - pl] for m < rw (0 outside [0, iw)).
 * Runs for every input row of every task, so it is vectorised: masked loads of 2*VL
 * source floats (the masks drop the padding, so nothing outside the row is read) and a
 * de-interleave; the last chunk's stores are masked to rw. */
static inline void split_phases2(float *p0, float *p1, const float *row, int64_t rw, int64_t pl,
                                 int64_t iw) {
#if defined(PCNN_DIRECT_AVX512)
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t m = 0; m < rw; m += VL) {
        const int64_t x = 2 * m - pl;
        const vmask_t ma = vmask_range(x, iw), mb = vmask_range(x + VL, iw);
        /* masked-off lanes are not accessed, so the pointer may point outside the row */
        const __m512 a = ma ? _mm512_maskz_loadu_ps(ma, row + x) : _mm512_setzero_ps();
        const __m512 b = mb ? _mm512_maskz_loadu_ps(mb, row + x + VL) : _mm512_setzero_ps();
        const vmask_t st = vmask_first(imin(VL, rw - m));
        _mm512_mask_storeu_ps(p0 + m, st, _mm512_permutex2var_ps(a, ev, b));
        _mm512_mask_storeu_ps(p1 + m, st, _mm512_permutex2var_ps(a, od, b));
    }
#else
    for (int64_t m = 0; m < rw; m += VL) {
        const int64_t x = 2 * m - pl;
        const vmask_t ma = vmask_range(x, iw), mb = vmask_range(x + VL, iw);
        const __m256 a = _mm256_testz_si256(ma, ma) ? _mm256_setzero_ps()
                                                     : _mm256_maskload_ps(row + x, ma);
        const __m256 b = _mm256_testz_si256(mb, mb) ? _mm256_setzero_ps()
                                                     : _mm256_maskload_ps(row + x + VL, mb);
        /* per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then put the quads in order */
        const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        const __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        const vmask_t st = vmask_first(imin(VL, rw - m));
        _mm256_maskstore_ps(p0 + m, st, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                            _mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0))));
        _mm256_maskstore_ps(p1 + m, st, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                            _mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0))));
    }
#endif
}

/* Reading the input in place, row y as a whole (unmasked) vector of a row-mode tile reads
 * VL floats from each tap's start: allowed only while that stays inside the channel's
 * plane (the lanes past the row are never stored). */
static inline int fwd_inplace_vector_fits(const pcnn_conv2d_desc *d, int64_t y) {
    const int64_t last_row = y * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h;
    return last_row * d->iw + (d->kw - 1) * d->dilation_w + VL <= d->ih * d->iw;
}

static void fwd_task(void *p, int64_t t) {
    job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    int64_t n, g, rc, bc;
    task_coords(j, t, &n, &g, &rc, &bc);
    const int64_t y0 = rc * j->rows_per_task;
    const int64_t y1 = imin(d->oh, y0 + j->rows_per_task);
    const int64_t b0 = bc * j->blocks_per_task;
    const int64_t b1 = imin(j->nblocks, b0 + j->blocks_per_task);
    const int64_t sh = d->stride_h, sw = d->stride_w, dh = d->dilation_h, dw = d->dilation_w;
    const int64_t kh = d->kh, kw = d->kw;
    const float *src = j->in + (n * d->c + g * j->ci_g) * d->ih * d->iw;

    /* Input rows this task touches. The padded copy also holds the zero rows of the
     * vertical padding the task's taps reach (vpad), so that every output row has all kh*kw
     * taps and any consecutive rows can share a row-mode tile; reading in place (direct),
     * out-of-range rows are dropped from the tap lists instead. */
    const int vpad = !j->direct;
    int64_t iy_lo = y0 * sh - d->pad_top;
    int64_t iy_hi = (y1 - 1) * sh - d->pad_top + (kh - 1) * dh;
    if (!vpad) {
        iy_lo = imax(0, iy_lo);
        iy_hi = imin(d->ih - 1, iy_hi);
    }
    const int64_t nrows = iy_hi >= iy_lo ? iy_hi - iy_lo + 1 : 0;

    const float *base;    /* channel 0, row iy_lo, column/phase origin */
    int64_t cstride;      /* floats between channels */
    int64_t rstride;      /* floats between rows */
    const size_t tap_bytes = (size_t)(2 * kh * kw) * sizeof(int64_t);
    size_t in_bytes = 0;
    if (!j->direct) {
        in_bytes = (size_t)(j->ci_g * nrows * sw * j->row_w) * sizeof(float);
    }
    /* + VL floats of slack after the copy: in row mode the whole-vector loads of a tile's
     * first rows may run up to VL floats past the last row's start (those lanes are never
     * stored); the slack is zeroed so that nothing uninitialised is ever read. */
    const size_t tap_aligned = (tap_bytes + 63) & ~(size_t)63;
    char *scr =
        pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK, tap_aligned + in_bytes + VL * sizeof(float));
    if (scr == NULL) {
        mark_failed(j);
        return;
    }
    int64_t *tap_in = (int64_t *)scr;
    int64_t *tap_w = tap_in + kh * kw;
    if (j->direct) {
        base = src + iy_lo * d->iw;
        rstride = d->iw;
        cstride = d->ih * d->iw;
    } else {
        /* Zero-padded, phase-split copy: buf[ci][row][phase][m] = src column
         * sw*m + phase - pad_left (0 outside the input). */
        float *buf = (float *)(scr + tap_aligned);
        const int64_t rw = j->row_w;
        memset(buf + j->ci_g * nrows * sw * rw, 0, VL * sizeof(float));
        for (int64_t ci = 0; ci < j->ci_g; ++ci) {
            for (int64_t r = 0; r < nrows; ++r) {
                float *brow = buf + (ci * nrows + r) * sw * rw;
                if (iy_lo + r < 0 || iy_lo + r >= d->ih) { /* vertical padding */
                    memset(brow, 0, (size_t)(sw * rw) * sizeof(float));
                    continue;
                }
                const float *srow = src + (ci * d->ih + iy_lo + r) * d->iw;
                if (sw == 1) {
                    /* columns m - pad_left: zeros, the row, zeros */
                    const int64_t lo = imin(d->pad_left, rw);
                    const int64_t cnt = imax(0, imin(d->iw, rw - d->pad_left));
                    memset(brow, 0, (size_t)lo * sizeof(float));
                    memcpy(brow + lo, srow, (size_t)cnt * sizeof(float));
                    memset(brow + lo + cnt, 0, (size_t)(rw - lo - cnt) * sizeof(float));
                } else if (sw == 2) {
                    split_phases2(brow, brow + rw, srow, rw, d->pad_left, d->iw);
                } else {
                    for (int64_t ph = 0; ph < sw; ++ph) {
                        float *prow = brow + ph * rw;
                        for (int64_t m = 0; m < rw; ++m) {
                            const int64_t ix = sw * m + ph - d->pad_left;
                            prow[m] = (ix >= 0 && ix < d->iw) ? srow[ix] : 0.0f;
                        }
                    }
                }
            }
        }
        base = buf;
        rstride = sw * rw;
        cstride = nrows * sw * rw;
    }

    ukr_args a;
    a.in_cstride = cstride;
    a.ci_count = j->ci_g;
    a.tap_in = tap_in;
    a.tap_w = tap_w;
    a.out_ostride = d->oh * d->ow;
    /* Blocks outer, rows inner: a block's packed weights stay in cache across the rows
     * of the task; the task's input rows are shared by all blocks. */
    for (int64_t b = b0; b < b1; ++b) {
        int64_t o0, ocb;
        block_range(j, b, &o0, &ocb);
        const int64_t oc = g * j->co_g + o0;
        a.w = task_block_weights(j, g, b);
        if (a.w == NULL) {
            mark_failed(j);
            return;
        }
        a.w_cstride = j->kt * ocb;
        a.bias = j->bias != NULL ? j->bias + oc : NULL;
        for (int64_t y = y0; y < y1;) {
            /* Rows whose every ky is inside the input have the same taps (shifted by
             * sh rows): in row mode up to nv of them form one tile. */
            int64_t rows = 1;
            if (j->rowmode) {
                while (rows < j->nv && y + rows < y1 &&
                       (vpad || (fwd_row_interior(d, y) && fwd_row_interior(d, y + rows) &&
                                 fwd_inplace_vector_fits(d, y + rows - 1)))) {
                    ++rows;
                }
            }
            /* Valid taps of row y: ky in range, every kx (columns are padded). With the
             * vertical padding every row has all taps: the list of row y0 serves every
             * row (the row's offset goes into the base pointer), built once per block. */
            const float *row_base = vpad ? base + (y - y0) * sh * rstride : base;
            if (!vpad || y == y0) {
                int64_t nt = 0;
                for (int64_t ky = 0; ky < kh; ++ky) {
                    const int64_t iy = y * sh - d->pad_top + ky * dh;
                    if (!vpad && (iy < 0 || iy >= d->ih)) {
                        continue;
                    }
                    for (int64_t kx = 0; kx < kw; ++kx) {
                        if (j->direct) {
                            tap_in[nt] = (iy - iy_lo) * rstride + kx * dw;
                        } else {
                            tap_in[nt] = (iy - iy_lo) * rstride +
                                         ((kx * dw) % sw) * j->row_w + (kx * dw) / sw;
                        }
                        tap_w[nt] = (ky * kw + kx) * ocb;
                        ++nt;
                    }
                }
                a.ntaps = nt;
            }
            float *out_row = j->out + ((n * d->oc + oc) * d->oh + y) * d->ow;
            if (rows > 1) {
                /* vectors = rows y .. y+rows-1 (scratch rows sh apart); the whole-vector
                 * loads of the first rows stay inside the scratch, below the last row */
                a.in = row_base;
                a.out = out_row;
                a.in_vstride = sh * rstride;
                a.out_vstride = d->ow;
                a.mid = vmask_first(d->ow);
                a.last = a.mid;
                ukr_table[ocb][rows](&a);
            } else {
                run_row(&a, d->ow, j->nv, ocb, out_row, row_base);
            }
            y += rows;
        }
    }
}

/* out[sw*u + ph] = s[ph*ustride + u] for the `width` columns of a diff_src row: the
 * backward stride phases, computed separately, are woven back together. This runs once per
 * row and channel, so it must cost far less than the row's multiply-adds (for a 3x3
 * stride-2 layer only ~2.25*ci per pixel): stride 2 uses a vector interleave, other
 * strides a division-free scalar loop. Pure copies: the values are bit-exact. */
static inline void interleave_phases(float *out, const float *s, int64_t sw, int64_t ustride,
                                     int64_t width) {
    if (sw == 2) {
        /* chunks of VL columns u of each phase -> 2*VL output columns; the last chunk's
         * loads and stores are masked to the row (phase 0 has ceil(width/2) columns,
         * phase 1 floor(width/2)) */
        const float *s0 = s, *s1 = s + ustride;
        const int64_t n0 = (width + 1) / 2, n1 = width / 2;
#if defined(PCNN_DIRECT_AVX512)
        const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                             15, 31);
        for (int64_t u0 = 0; u0 < n0; u0 += VL) {
            const int64_t nout = imin(2 * VL, width - 2 * u0);
            const __m512 a = _mm512_maskz_loadu_ps(vmask_first(imin(VL, n0 - u0)), s0 + u0);
            const __m512 b = n1 > u0 ? _mm512_maskz_loadu_ps(vmask_first(imin(VL, n1 - u0)), s1 + u0)
                                     : _mm512_setzero_ps();
            _mm512_mask_storeu_ps(out + 2 * u0, vmask_first(imin(VL, nout)),
                                  _mm512_permutex2var_ps(a, lo, b));
            if (nout > VL) {
                _mm512_mask_storeu_ps(out + 2 * u0 + VL, vmask_first(nout - VL),
                                      _mm512_permutex2var_ps(a, hi, b));
            }
        }
#else
        for (int64_t u0 = 0; u0 < n0; u0 += VL) {
            const int64_t nout = imin(2 * VL, width - 2 * u0);
            const __m256 a = _mm256_maskload_ps(s0 + u0, vmask_first(imin(VL, n0 - u0)));
            const __m256 b = n1 > u0 ? _mm256_maskload_ps(s1 + u0, vmask_first(imin(VL, n1 - u0)))
                                     : _mm256_setzero_ps();
            const __m256 l = _mm256_unpacklo_ps(a, b); /* a0 b0 a1 b1 | a4 b4 a5 b5 */
            const __m256 h = _mm256_unpackhi_ps(a, b); /* a2 b2 a3 b3 | a6 b6 a7 b7 */
            _mm256_maskstore_ps(out + 2 * u0, vmask_first(imin(VL, nout)),
                                _mm256_permute2f128_ps(l, h, 0x20));
            if (nout > VL) {
                _mm256_maskstore_ps(out + 2 * u0 + VL, vmask_first(nout - VL),
                                    _mm256_permute2f128_ps(l, h, 0x31));
            }
        }
#endif
        return;
    }
    for (int64_t ph = 0; ph < sw; ++ph) {
        const float *sp = s + ph * ustride;
        for (int64_t u = 0, ix = ph; ix < width; ++u, ix += sw) {
            out[ix] = sp[u];
        }
    }
}

/* diff_src row iy reads every ky it can (ky with (iy + pt - ky*dh) divisible by sh) from
 * inside diff_dst: then rows iy and iy + sh have the same ky list, one diff_dst row apart. */
static inline int bwd_row_full(const pcnn_conv2d_desc *d, int64_t iy) {
    for (int64_t ky = 0; ky < d->kh; ++ky) {
        const int64_t ty = iy + d->pad_top - ky * d->dilation_h;
        if (floor_div(ty, d->stride_h) * d->stride_h == ty &&
            (ty < 0 || ty / d->stride_h >= d->oh)) {
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Backward-data task: rows [y0, y1) of diff_src (engine output rows), all stride phases.
 * ------------------------------------------------------------------------------------- */
static void bwd_task(void *p, int64_t t) {
    job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    int64_t n, g, rc, bc;
    task_coords(j, t, &n, &g, &rc, &bc);
    const int64_t y0 = rc * j->rows_per_task; /* diff_src rows */
    const int64_t y1 = imin(d->ih, y0 + j->rows_per_task);
    const int64_t b0 = bc * j->blocks_per_task;
    const int64_t b1 = imin(j->nblocks, b0 + j->blocks_per_task);
    const int64_t sh = d->stride_h, sw = d->stride_w, dh = d->dilation_h, dw = d->dilation_w;
    const int64_t kh = d->kh, kw = d->kw;
    const int64_t pt = d->pad_top, pl = d->pad_left;
    const float *dd = j->in + (n * d->oc + g * j->ci_g) * d->oh * d->ow;

    /* diff_dst rows this task reads: y*sh = iy + pt - ky*dh. The padded copy also holds
     * the zero rows above and below diff_dst that the task's taps reach (vertical padding),
     * so that every row of a residue class mod sh has the same taps and row-mode tiles
     * can take any rows. Outside row mode (and reading in place) out-of-range rows are
     * dropped from the tap lists instead: multiplying zeros there would only add work
     * (~17% for the 5x5 LeNet layer). */
    const int vpad = !j->direct && (j->rowmode || j->nr > 1);
    int64_t yy_lo = ceil_div(y0 + pt - (kh - 1) * dh, sh);
    int64_t yy_hi = floor_div(y1 - 1 + pt, sh);
    if (!vpad) {
        yy_lo = imax(0, yy_lo);
        yy_hi = imin(d->oh - 1, yy_hi);
    }
    const int64_t nrows = yy_hi >= yy_lo ? yy_hi - yy_lo + 1 : 0;

    const size_t tap_bytes = (size_t)(2 * kh * kw) * sizeof(int64_t);
    /* + VL zeroed floats of slack: in row mode the whole-vector loads of a tile's first
     * rows may run up to VL floats past the start of the copy's last row */
    size_t in_bytes = j->direct ? 0 : (size_t)(j->ci_g * nrows * j->row_w + VL) * sizeof(float);
    /* stride phases are computed into obuf[ocb][row][phase][uw_max], then interleaved */
    const size_t out_bytes =
        sw > 1 ? (size_t)(OCB_LIMIT * ROWS_MAX * sw * (j->uw_max + VL)) * sizeof(float) : 0;
    const size_t a1 = (tap_bytes + 63) & ~(size_t)63;
    const size_t a2 = (in_bytes + 63) & ~(size_t)63;
    char *scr = pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK, a1 + a2 + out_bytes + 64);
    if (scr == NULL) {
        mark_failed(j);
        return;
    }
    int64_t *tap_in = (int64_t *)scr;
    int64_t *tap_w = tap_in + kh * kw;
    float *obuf = (float *)(scr + a1 + a2);

    const float *base;
    int64_t cstride, rstride;
    if (j->direct) { /* sw == 1, every tap column in range: read diff_dst in place */
        base = dd + yy_lo * d->ow;
        rstride = d->ow;
        cstride = d->oh * d->ow;
    } else {
        /* buf[ci][row][m] = diff_dst column m - padl (0 outside) */
        float *buf = (float *)(scr + a1);
        const int64_t rw = j->row_w;
        memset(buf + j->ci_g * nrows * rw, 0, VL * sizeof(float));
        for (int64_t ci = 0; ci < j->ci_g; ++ci) {
            for (int64_t r = 0; r < nrows; ++r) {
                float *brow = buf + (ci * nrows + r) * rw;
                if (yy_lo + r < 0 || yy_lo + r >= d->oh) { /* vertical padding */
                    memset(brow, 0, (size_t)rw * sizeof(float));
                    continue;
                }
                const float *srow = dd + (ci * d->oh + yy_lo + r) * d->ow;
                const int64_t lo = imin(j->padl, rw);
                const int64_t cnt = imax(0, imin(d->ow, rw - j->padl));
                memset(brow, 0, (size_t)lo * sizeof(float));
                memcpy(brow + lo, srow, (size_t)cnt * sizeof(float));
                memset(brow + lo + cnt, 0, (size_t)(rw - lo - cnt) * sizeof(float));
            }
        }
        base = buf;
        rstride = rw;
        cstride = nrows * rw;
    }
    /* In the direct case padl is 0 and columns are diff_dst columns. */
    const int64_t col0 = j->direct ? 0 : j->padl;
    /* diff_src rows per tile */
    const int nvr = j->rowmode ? j->nv : (j->nr > 1 ? j->nr : 1);
    const int64_t obuf_rstride = sw * j->uw_max;     /* obuf: one row of all phases */
    const int64_t obuf_cstride = ROWS_MAX * obuf_rstride; /* obuf: one channel */

    ukr_args a;
    a.in_cstride = cstride;
    a.ci_count = j->ci_g;
    a.tap_in = tap_in;
    a.tap_w = tap_w;
    a.bias = NULL;
    const int64_t plane = d->ih * d->iw;
    const int64_t dh_q = dh / sh, dh_r = dh % sh; /* dilations as quotient and remainder */
    const int64_t dw_q = dw / sw, dw_r = dw % sw;
    /* Blocks outer, rows and phases inner (weights of a block stay in cache). */
    for (int64_t b = b0; b < b1; ++b) {
        int64_t o0, ocb;
        block_range(j, b, &o0, &ocb);
        const int64_t c0 = g * j->co_g + o0;
        a.w = task_block_weights(j, g, b);
        if (a.w == NULL) {
            mark_failed(j);
            return;
        }
        a.w_cstride = j->kt * ocb;
        /* Rows of one residue class mod sh, in order. In row mode up to nvr rows iy,
         * iy+sh, ... whose ky taps are all inside diff_dst share one tap list (shifted by
         * one diff_dst row each) and form one tile: one vector per row. Each pixel's sum
         * is the same instruction sequence in any tile, so the grouping (which depends on
         * the task split) never changes a bit. */
        for (int64_t res = 0; res < sh && y0 + res < y1; ++res) {
            for (int64_t iy = y0 + res; iy < y1;) {
                int64_t rows = 1;
                if (nvr > 1 && (vpad || bwd_row_full(d, iy))) {
                    while (rows < nvr && iy + rows * sh < y1 &&
                           (vpad || bwd_row_full(d, iy + rows * sh))) {
                        ++rows;
                    }
                }
                float *out_row = j->out + ((n * d->c + c0) * d->ih + iy) * d->iw;
                for (int64_t ph = 0; ph < sw && ph < d->iw; ++ph) {
                    /* diff_src columns ix = sw*u + ph, u < uw */
                    const int64_t uw = ceil_div(d->iw - ph, sw);
                    /* ty = iy + pt - ky*dh = yy*sh + ry and tx = ph + pl - kx*dw = qx*sw + rx
                     * (floor division) are stepped along ky / kx without dividing: this
                     * list is rebuilt for every tile row group, which matters for tiny
                     * layers. A tap exists where the remainder is 0. */
                    int64_t nt = 0;
                    int64_t yy = floor_div(iy + pt, sh), ry = iy + pt - yy * sh;
                    const int64_t qx0 = floor_div(ph + pl, sw), rx0 = ph + pl - qx0 * sw;
                    for (int64_t ky = 0; ky < kh; ++ky) {
                        if (ry == 0 && (vpad || (yy >= 0 && yy < d->oh))) {
                            int64_t qx = qx0, rx = rx0;
                            for (int64_t kx = 0; kx < kw; ++kx) {
                                if (rx == 0) {
                                    /* diff_dst column u + qx; out-of-range columns read the
                                     * zero pad */
                                    tap_in[nt] = (yy - yy_lo) * rstride + col0 + qx;
                                    tap_w[nt] = (ky * kw + kx) * ocb;
                                    ++nt;
                                }
                                qx -= dw_q;
                                rx -= dw_r;
                                if (rx < 0) {
                                    rx += sw;
                                    --qx;
                                }
                            }
                        }
                        yy -= dh_q;
                        ry -= dh_r;
                        if (ry < 0) {
                            ry += sh;
                            --yy;
                        }
                    }
                    a.ntaps = nt;
                    float *dst = sw == 1 ? out_row : obuf + ph * j->uw_max;
                    a.out_ostride = sw == 1 ? plane : obuf_cstride;
                    if (j->rowmode) {
                        /* row mode (uw <= VL): vector k = row iy + k*sh, masked to uw */
                        a.in = base;
                        a.out = dst;
                        a.in_vstride = rstride;
                        a.out_vstride = sw == 1 ? sh * d->iw : obuf_rstride;
                        a.mid = vmask_first(uw);
                        a.last = a.mid;
                        ukr_table[ocb][rows](&a);
                    } else if (j->nr > 1) {
                        /* 2-D tiles: rows iy, iy+sh, ... one diff_dst row apart */
                        run_rows2d(&a, uw, rows, j->nv, ocb, dst,
                                   sw == 1 ? sh * d->iw : obuf_rstride, base, rstride);
                    } else {
                        run_row(&a, uw, j->nv, ocb, dst, base);
                    }
                }
                if (sw > 1) { /* interleave the phases into diff_src */
                    for (int64_t k = 0; k < rows; ++k) {
                        for (int64_t jj = 0; jj < ocb; ++jj) {
                            interleave_phases(out_row + jj * plane + k * sh * d->iw,
                                              obuf + jj * obuf_cstride + k * obuf_rstride, sw,
                                              j->uw_max, d->iw);
                        }
                    }
                }
                iy += rows * sh;
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------
 * Pointwise task (1x1, stride 1, no padding, flattened to one row of P pixels per image):
 * a GEMM out[m][p] = sum_k W[m][k] * in[k][p], forward and backward-data alike.
 * The generic order (blocks outer, tiles inner) re-streams the whole image (K x P, e.g.
 * 256 x 196 floats = 200 KB, rows 784 bytes apart) from L2 once per output-channel block.
 * Here the pixel tile is outer: its K x nv*VL input panel is copied once into a
 * contiguous, aligned buffer (32 KB for K = 256, two vectors: stays in L1) and every
 * block of the task sweeps it, so only the small packed weight panels stream.
 * Each pixel's sum is the same micro-kernel instruction sequence as in run_row (input
 * channel ascending, FMA, then + bias): results are bit-identical to the generic path
 * and independent of the task split.
 * ------------------------------------------------------------------------------------- */
/* Pointwise micro-kernel: the UKR tile with a single tap at offset 0 and weights
 * w[ci * w_cstride + j] (the packed block, w_cstride = OCB, or for backward-data the OIHW
 * weights themselves, w_cstride = C), written with stepped pointers: per input channel
 * the generic loop spends two index loads, two multiplies and an inner-loop branch
 * (measured ~7% on the 196-pixel 1x1 layer). Same arithmetic per pixel as UKR (fma over
 * channels ascending from 0, then + bias). */
#define UKR_PW(OCB, NV)                                                         \
    static void ukrpw_##OCB##_##NV(const ukr_args *a) {                         \
        vec_t acc[OCB][NV];                                                     \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            UNROLL_V for (int v = 0; v < NV; ++v) {                             \
                acc[j][v] = VZERO();                                            \
            }                                                                   \
        }                                                                       \
        const vmask_t last = a->last;                                           \
        const int64_t cs = a->in_cstride;                                       \
        const float *p = a->in;                                                 \
        const float *q = a->w;                                                  \
        const int64_t ws = a->w_cstride;                                        \
        for (int64_t ci = a->ci_count; ci > 0; --ci, p += cs, q += ws) {        \
            vec_t x[NV];                                                        \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                x[v] = VLOADU(p + v * VL);                                      \
            }                                                                   \
            x[NV - 1] = VLOADM(p + (NV - 1) * VL, last);                        \
            UNROLL_J for (int j = 0; j < OCB; ++j) {                            \
                const vec_t b = VSET1(q[j]);                                    \
                UNROLL_V for (int v = 0; v < NV; ++v) {                         \
                    acc[j][v] = VFMA(b, x[v], acc[j][v]);                       \
                }                                                               \
            }                                                                   \
        }                                                                       \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            float *o = a->out + j * a->out_ostride;                             \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();      \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                VSTOREU(o + v * VL, VADD(acc[j][v], b));                        \
            }                                                                   \
            VSTOREM(o + (NV - 1) * VL, last, VADD(acc[j][NV - 1], b));          \
        }                                                                       \
    }
#define UKRPW_NV1(OCB) UKR_PW(OCB, 1)
#define UKRPW_NV2(OCB) UKR_PW(OCB, 2)
#define UKRPW_NV3(OCB) UKR_PW(OCB, 3)
#define UKRPW_NV4(OCB) UKR_PW(OCB, 4)
#define PWPTR(OCB, NV) [OCB][NV] = ukrpw_##OCB##_##NV,
#define Q1(O) PWPTR(O, 1)
#define Q2(O) PWPTR(O, 2)
#define Q3(O) PWPTR(O, 3)
#define Q4(O) PWPTR(O, 4)
#if defined(PCNN_DIRECT_AVX512)
FOR_1_TO_16(UKRPW_NV1)
FOR_1_TO_12(UKRPW_NV2)
FOR_1_TO_8(UKRPW_NV3)
FOR_1_TO_6(UKRPW_NV4)
static const ukr_fn ukrpw_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    FOR_1_TO_16(Q1) FOR_1_TO_12(Q2) FOR_1_TO_8(Q3) FOR_1_TO_6(Q4)};
#else
FOR_1_TO_8(UKRPW_NV1)
FOR_1_TO_6(UKRPW_NV2)
FOR_1_TO_3(UKRPW_NV3)
static const ukr_fn ukrpw_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    FOR_1_TO_8(Q1) FOR_1_TO_6(Q2) FOR_1_TO_3(Q3)};
#endif

#if defined(PCNN_DIRECT_AVX512)
/* Pointwise row tail of W <= 8 pixels (196 = 12 vectors + 4): a pixel tile would compute
 * 16 lanes for W useful ones. Here output channels sit in the lanes instead: two channel
 * blocks (a block's weights for one k are ocb consecutive floats, ws apart per k: one
 * masked load) times W broadcast pixels, 2*W accumulators. Per pixel and channel this is
 * the same sum as the pixel-tile kernel (acc = 0, fma over k ascending, then + bias), so
 * the result is bit-identical. Stores are scalar (transposed), W*ocb per block. */
#define PWTAIL(W)                                                                        \
    static void pwtail_##W(const float *panel, int64_t span, int64_t K, int64_t ws0,      \
                           int64_t ws1, const float *w0,                                 \
                           int64_t ocb0, const float *w1, int64_t ocb1, const float *bias0, \
                           const float *bias1, float *out0, float *out1, int64_t P) {     \
        __m512 acc0[W], acc1[W];                                                          \
        _Pragma("GCC unroll 8") for (int q = 0; q < W; ++q) {                              \
            acc0[q] = _mm512_setzero_ps();                                                \
            acc1[q] = _mm512_setzero_ps();                                                \
        }                                                                                 \
        const __mmask16 m0 = vmask_first(ocb0), m1 = ocb1 > 0 ? vmask_first(ocb1) : 0;    \
        for (int64_t k = 0; k < K; ++k) {                                                 \
            const float *x = panel + k * span;                                            \
            const __m512 wa = _mm512_maskz_loadu_ps(m0, w0 + k * ws0);                     \
            const __m512 wb = _mm512_maskz_loadu_ps(m1, w1 + k * ws1);                     \
            _Pragma("GCC unroll 8") for (int q = 0; q < W; ++q) {                          \
                const __m512 b = _mm512_set1_ps(x[q]);                                    \
                acc0[q] = _mm512_fmadd_ps(b, wa, acc0[q]);                                \
                acc1[q] = _mm512_fmadd_ps(b, wb, acc1[q]);                                \
            }                                                                             \
        }                                                                                 \
        const __m512 ba = bias0 != NULL ? _mm512_maskz_loadu_ps(m0, bias0) : _mm512_setzero_ps(); \
        const __m512 bb = bias1 != NULL ? _mm512_maskz_loadu_ps(m1, bias1) : _mm512_setzero_ps(); \
        float tmp[2][W][16];                                                              \
        _Pragma("GCC unroll 8") for (int q = 0; q < W; ++q) {                              \
            _mm512_storeu_ps(tmp[0][q], _mm512_add_ps(acc0[q], ba));                      \
            _mm512_storeu_ps(tmp[1][q], _mm512_add_ps(acc1[q], bb));                      \
        }                                                                                 \
        for (int64_t jj = 0; jj < ocb0; ++jj) {                                           \
            for (int q = 0; q < W; ++q) {                                                 \
                out0[jj * P + q] = tmp[0][q][jj];                                         \
            }                                                                             \
        }                                                                                 \
        for (int64_t jj = 0; jj < ocb1; ++jj) {                                           \
            for (int q = 0; q < W; ++q) {                                                 \
                out1[jj * P + q] = tmp[1][q][jj];                                         \
            }                                                                             \
        }                                                                                 \
    }
PWTAIL(1) PWTAIL(2) PWTAIL(3) PWTAIL(4) PWTAIL(5) PWTAIL(6) PWTAIL(7) PWTAIL(8)
typedef void (*pwtail_fn)(const float *, int64_t, int64_t, int64_t, int64_t, const float *,
                          int64_t, const float *, int64_t, const float *, const float *,
                          float *, float *, int64_t);
static const pwtail_fn pwtail_table[9] = {NULL,      pwtail_1, pwtail_2, pwtail_3, pwtail_4,
                                          pwtail_5, pwtail_6, pwtail_7, pwtail_8};
#define PW_TAIL_MAX 8
#endif

/* Weights of channel block [o0, o0 + ocb) of group g for the pointwise kernels: k-th
 * row of ocb floats at *w + k * *ws. Forward: the packed block (ws = ocb). Backward-data:
 * engine weight (out c, in o) is weights[o][c] (OIHW with 1x1), so the rows are the OIHW
 * weights themselves (ws = C per group) and nothing is packed (see run_job). */
static inline void pw_weights(const job_t *j, int64_t g, int64_t o0, int64_t ocb,
                              const float **w, int64_t *ws) {
    if (j->bwd) {
        *w = j->weights + g * j->ci_g * j->co_g + o0;
        *ws = j->co_g;
    } else {
        *w = j->wpk + (g * j->co_g + o0) * j->ci_g;
        *ws = ocb;
    }
}

static void pw_task(void *p, int64_t t) {
    job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    int64_t n, g, rc, bc;
    task_coords(j, t, &n, &g, &rc, &bc);
    const int64_t b0 = bc * j->blocks_per_task;
    const int64_t b1 = imin(j->nblocks, b0 + j->blocks_per_task);
    const int64_t P = j->out_w;                  /* pixels of the flattened image */
    const int64_t K = j->ci_g;
    const int64_t in_ch = j->bwd ? d->oc : d->c; /* engine input channels in total */
    const int64_t out_ch = j->bwd ? d->c : d->oc;
    const float *in = j->in + (n * in_ch + g * K) * P;
    const int64_t span = (int64_t)j->nv * VL;
    float *panel =
        pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK, (size_t)(K * span) * sizeof(float) + 64);
    if (panel == NULL) {
        mark_failed(j);
        return;
    }
    static const int64_t zero_tap = 0;
    ukr_args a;
    a.in = panel;
    a.in_cstride = span;
    a.ci_count = K;
    a.tap_in = &zero_tap;
    a.tap_w = &zero_tap;
    a.ntaps = 1;
    a.out_ostride = P;
    a.in_vstride = VL;
    a.out_vstride = VL;
    a.mid = vmask_first(VL);
    for (int64_t x0 = 0; x0 < P; x0 += span) {
        const int64_t w = imin(span, P - x0);
        const int nvu = (int)ceil_div(w, VL);
        const vmask_t last = vmask_first(w - (int64_t)(nvu - 1) * VL);
        /* copy the K x w input panel (masked lanes become zeros, never read past a row) */
        for (int64_t k = 0; k < K; ++k) {
            const float *src = in + k * P + x0;
            float *dst = panel + k * span;
            for (int v = 0; v < nvu - 1; ++v) {
                VSTOREU(dst + v * VL, VLOADU(src + v * VL));
            }
            VSTOREU(dst + (nvu - 1) * VL, VLOADM(src + (nvu - 1) * VL, last));
        }
        a.last = last;
#if defined(PCNN_DIRECT_AVX512)
        if (nvu == 1 && w <= PW_TAIL_MAX) { /* narrow tail: channels in lanes, two blocks */
            for (int64_t b = b0; b < b1; b += 2) {
                int64_t o0, ocb0, o1 = 0, ocb1 = 0;
                block_range(j, b, &o0, &ocb0);
                if (b + 1 < b1) {
                    block_range(j, b + 1, &o1, &ocb1);
                } else {
                    o1 = o0; /* no second block: mask 0, nothing loaded or stored */
                }
                const int64_t oc0 = g * j->co_g + o0, oc1 = g * j->co_g + o1;
                const float *w0, *w1;
                int64_t ws0, ws1;
                pw_weights(j, g, o0, ocb0, &w0, &ws0);
                pw_weights(j, g, o1, ocb1, &w1, &ws1);
                pwtail_table[w](panel, span, K, ws0, ws1, w0, ocb0, w1, ocb1,
                                j->bias != NULL ? j->bias + oc0 : NULL,
                                j->bias != NULL && ocb1 > 0 ? j->bias + oc1 : NULL,
                                j->out + (n * out_ch + oc0) * P + x0,
                                j->out + (n * out_ch + oc1) * P + x0, P);
            }
            continue;
        }
#endif
        for (int64_t b = b0; b < b1; ++b) {
            int64_t o0, ocb;
            block_range(j, b, &o0, &ocb);
            const int64_t oc = g * j->co_g + o0;
            pw_weights(j, g, o0, ocb, &a.w, &a.w_cstride);
            a.bias = j->bias != NULL ? j->bias + oc : NULL;
            a.out = j->out + (n * out_ch + oc) * P + x0;
            ukrpw_table[ocb][nvu](&a);
        }
    }
}

/* The flattened 1x1 case pw_task handles. */
static int is_pointwise(const job_t *j) {
    const pcnn_conv2d_desc *d = j->d;
    /* pad_top == 0: the one output row reads input row 0 (with top padding, e.g. a 1-row
     * input, pad_top 1, stride_h 3, it lies entirely in the padding: found by native/fuzz) */
    return j->kt == 1 && j->direct && d->oh == 1 && d->ih == 1 && d->stride_w == 1 &&
           d->pad_top == 0 && d->pad_left == 0 && d->pad_right == 0 && !j->rowmode &&
           j->nr <= 1;
}

/* Splits the work into tasks: enough of them for the threads, each big enough to pay for
 * its scratch copy and the tap setup. */
static void plan_tasks(job_t *j, int64_t n_images, int64_t rows, int64_t tiles_per_row,
                       int64_t work_per_row, int64_t min_rows, int64_t halo) {
    const int64_t min_work = 1 << 17; /* multiply-adds per task, roughly */
    if (j->macs <= min_work) { /* tiny: one task per image and group, no arithmetic */
        j->rows_per_task = rows;
        j->row_chunks = 1;
        j->blocks_per_task = j->nblocks;
        j->block_chunks = 1;
        return;
    }
    const int64_t threads = imax(1, pcnn_get_num_threads());
    int64_t rpt = imax(1, imin(rows, ceil_div(min_work, imax(1, work_per_row))));
    /* and at least ~4 tiles per block, so that each block's weights are reused; a
     * forward row-mode tile spans min_rows rows (without this, the 3x3 stride-2 layer got
     * one tile per block per task and re-streamed all its weights from L3 every 4 rows;
     * for backward-data, whose tiles are per residue and phase, larger tasks measured no
     * better) */
    rpt = imin(rows, imax(rpt, ceil_div(4, tiles_per_row) * (j->bwd ? 1 : min_rows)));
    /* and, with a padded copy, rows enough that the halo (rows copied by two tasks, in
     * task rows) adds at most ~25% to the copy */
    if (!j->direct) {
        rpt = imin(rows, imax(rpt, 4 * halo));
    }
    /* and whole multi-row tiles in row mode: a multiple of min_rows */
    rpt = imin(rows, ceil_div(rpt, min_rows) * min_rows);
    int64_t row_chunks = ceil_div(rows, rpt);
    const int64_t want = 4 * threads;
    const int64_t base = n_images * j->groups;
    if (base * row_chunks < want && rpt > 1) {
        row_chunks = imin(rows, ceil_div(want, base));
        rpt = ceil_div(rows, row_chunks);
        /* keep whole row-mode tiles while every thread still gets a task */
        const int64_t whole = imin(rows, ceil_div(rpt, min_rows) * min_rows);
        if (base * ceil_div(rows, whole) >= threads) {
            rpt = whole;
        }
        row_chunks = ceil_div(rows, rpt);
    }
    j->rows_per_task = rpt;
    j->row_chunks = row_chunks;
    int64_t bchunks = 1;
    if (base * row_chunks < want) {
        bchunks = imin(j->nblocks, ceil_div(want, base * row_chunks));
    }
    j->blocks_per_task = ceil_div(j->nblocks, bchunks);
    j->block_chunks = ceil_div(j->nblocks, j->blocks_per_task);
}

/* 1x1, stride 1, no padding: one row of ih*iw pixels per image (a GEMM). */
static pcnn_conv2d_desc flatten_if_pointwise(const pcnn_conv2d_desc *d) {
    pcnn_conv2d_desc f = *d;
    if (d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
        d->pad_bottom == 0 && d->pad_left == 0 && d->pad_right == 0) {
        f.iw = d->ih * d->iw;
        f.ih = 1;
        f.ow = d->oh * d->ow;
        f.oh = 1;
    }
    return f;
}

/* The pool hands each thread a fixed range of task indices; a thread sharing its core with
 * another process (the machine is shared) then finishes its range last while the other
 * idles: the 3x3 stride-2 layer has only 8 tasks of ~0.8 ms. Instead every invocation takes
 * the next undone task until none is left, so a faster thread runs more of them. A task's
 * result does not depend on which thread runs it (per-thread scratch and packed weights
 * are pure copies), so the output bits do not depend on the schedule. */
static void dyn_task(void *p, int64_t t) {
    (void)t;
    job_t *j = p;
    for (;;) {
        const int64_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->ntasks) {
            return;
        }
        j->task(j, i);
    }
}

static int32_t run_job(job_t *j, pcnn_task_fn task, int64_t ntasks) {
    const int64_t wcount = j->groups * j->co_g * j->ci_g * j->kt;
    j->id = __atomic_add_fetch(&pack_job_counter, 1, __ATOMIC_RELAXED);
    /* Pointwise backward-data reads the OIHW weights in place (pw_weights). Forward and
     * backward-data tasks pack their blocks themselves, per thread (task_block_weights),
     * when that duplicated copy (a packed float costs some ~16 multiply-adds' time) stays
     * a few percent of the job; otherwise (large weights, little work per weight, e.g. one
     * image) they are packed once here, split across the pool. */
    j->wpk = NULL;
    const int lazy = task != pw_task && wcount <= j->macs / 256;
    if (!lazy && !(task == pw_task && j->bwd)) {
        j->wpk = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK, (size_t)wcount * sizeof(float));
        if (j->wpk == NULL) {
            return PCNN_STATUS_OUT_OF_MEMORY;
        }
        /* Tiny jobs stay on the calling thread: waking the pool costs more than they do.
         * Work estimate: a packed float (strided store) costs several multiply-adds. */
        pcnn_parallel_for_work(j->groups * j->nblocks, sat_mul(wcount, 8), pack_task, j);
    }
    j->failed = 0;
    j->task = task;
    j->ntasks = ntasks;
    j->next = 0;
    /* Handing out a task costs a cache line moving between cores (~0.1-0.3 us): only for
     * tasks of a few microseconds or more (measured 2x slower on the 32-channel 32x32
     * layer's ~1 us tasks when every task was handed out). The pointwise tasks keep the
     * fixed ranges: a thread's consecutive tasks share an image (and its L2 lines). */
    const int dynamic = task != pw_task && ntasks > 0 && j->macs / ntasks >= ((int64_t)1 << 21);
    pcnn_parallel_for_work(ntasks, j->macs, dynamic ? dyn_task : task, j);
    return __atomic_load_n(&j->failed, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_MEMORY
                                                         : PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t PCNN_DIRECT_FWD(const pcnn_conv2d_desc *desc, const float *src,
                                      const float *weights, const float *bias, float *dst) {
    /* padding is multiplied as zeros here: a non-finite weight would give NaN where the
     * scalar kernel skips the tap */
    if ((desc->pad_top | desc->pad_bottom | desc->pad_left | desc->pad_right) != 0 &&
        has_nonfinite(weights, desc->oc * (desc->c / desc->groups) * desc->kh * desc->kw)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const pcnn_conv2d_desc d = flatten_if_pointwise(desc);
    job_t j;
    memset(&j, 0, sizeof j);
    j.d = &d;
    j.bwd = 0;
    j.in = src;
    j.out = dst;
    j.bias = bias;
    j.weights = weights;
    j.groups = d.groups;
    j.ci_g = d.c / d.groups;
    j.co_g = d.oc / d.groups;
    j.in_h = d.ih;
    j.in_w = d.iw;
    j.out_h = d.oh;
    j.out_w = d.ow;
    j.kt = d.kh * d.kw;
    j.nv = choose_nv(d.ow);
    j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    /* In place when every read column is inside the row: stride 1, no left padding and
     * the right padding never reached. */
    j.direct = d.stride_w == 1 && d.pad_left == 0 && (d.ow - 1) + (d.kw - 1) * d.dilation_w < d.iw;
    j.row_w = d.ow + ((d.kw - 1) * d.dilation_w) / d.stride_w;
    /* The padded copy spans every row and column between the first and the last tap,
     * padding and rows the stride skips included: with padding or stride far larger than
     * the image (a valid desc, e.g. a 1x2 input with padding and stride 46340) that is
     * gigabytes and seconds for a few outputs, where the scalar kernel costs only its
     * outputs' taps. Such shapes go to the scalar kernel. (Found by native/fuzz.) The
     * row span is at most the padded height, so it fits in int64. */
    if (!j.direct) {
        const int64_t rows = (d.oh - 1) * d.stride_h + (d.kh - 1) * d.dilation_h + 1;
        const int64_t copy = sat_mul(rows, sat_mul(d.stride_w, j.row_w));
        if (copy / 4 > d.ih * d.iw + d.oh * d.ow + 1024) {
            return PCNN_STATUS_UNSUPPORTED;
        }
    }
    /* Rows narrower than a vector (e.g. 14 wide at 16 lanes): tiles of nv rows instead
     * of one-vector tiles. The whole-vector reads of a tile's first rows stay inside the
     * padded copy (it has slack); in place, a tile only takes rows whose reads stay inside
     * the plane (fwd_inplace_vector_fits). */
    j.rowmode = d.ow <= VL && d.oh >= 2;
    if (j.rowmode) {
        j.nv = NV_MAX;
        j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    }
    j.macs = sat_mul(d.n * d.oc * d.oh * d.ow, j.ci_g * j.kt); /* dst and w counts fit */
    plan_tasks(&j, d.n, d.oh, tiles_for(d.ow, j.nv), j.co_g * j.ci_g * j.kt * d.ow,
               j.rowmode ? j.nv : 1, ceil_div((d.kh - 1) * d.dilation_h, d.stride_h));
    return run_job(&j, is_pointwise(&j) ? pw_task : fwd_task,
                   d.n * d.groups * j.row_chunks * j.block_chunks);
}

/* ---------------------------------------------------------------------------------------
 * Backward-data, small planes, stride 1, no padding ("flat" path; lenet2: 16 x 10 x 10 ->
 * 6 x 14 x 14). The engine above computes the full correlation over a zero-padded
 * diff_dst: for 5x5 on 10x10 about twice the real multiply-adds. Here, per (image, group),
 * a GEMM over the output channels gives every tap's contribution at every diff_dst pixel,
 *     G[t][p] = sum over o of w[o][t] * dY[o][p],   t = (ci, ky, kx),
 * with p = y * iw + x indexing the diff_dst pixel in the input's row width (the columns
 * x >= ow are junk, dY is repacked with zeros there), and G[t] is added to diff_src plane
 * ci at offset ky * dh * iw + kx * dw: that is where tap t of pixel p lands, junk lanes
 * add 0. Weights are finite (checked by the caller), so 0 * w = 0 and junk adds nothing.
 * Register tile FT taps x up to FV vectors; lanes along p; weights broadcast from OIHW.
 * Summation order per diff_src element: taps ascending, each tap's sum over o (fused
 * multiply-adds from 0); one task per (image, group): independent of the thread count.
 */
#if VL == 16
#define FT 6 /* 24 accumulators + 4 dY vectors + 1 broadcast of the 32 registers */
#define FV 4
#else
#define FT 3 /* 9 accumulators + 3 dY vectors + 1 broadcast of the 16 registers */
#define FV 3
#endif

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *dy;
    const float *w;
    float *dx;
    int64_t len, dp, plane_pitch; /* flat pixels, dY row pitch, scratch plane pitch */
    int oom;
} flat_job_t;

#ifdef PCNN_DIRECT_FLAT_RUNS
PCNN_INTERNAL int64_t PCNN_DIRECT_FLAT_RUNS;
#endif

static inline __attribute__((always_inline)) void flat_tile(const float *dyk, int64_t dp,
                                                            int64_t ocg, const float *w,
                                                            int64_t wstride, const int64_t *tap,
                                                            int nt, float *const *outp,
                                                            int64_t p0, const int nv) {
    vec_t acc[FT][FV];
#pragma GCC unroll 8
    for (int i = 0; i < FT; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) acc[i][v] = VZERO();
    for (int64_t o = 0; o < ocg; ++o) {
        const float *wo = w + o * wstride;
        const float *dyo = dyk + o * dp + p0;
        vec_t dv[FV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) dv[v] = VLOADU(dyo + v * VL);
#pragma GCC unroll 8
        for (int i = 0; i < FT; ++i) {
            const vec_t wv = VSET1(wo[tap[i]]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; ++v) acc[i][v] = VFMA(wv, dv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < FT; ++i) {
        if (i >= nt) break;
        float *out = outp[i] + p0;
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) VSTOREU(out + v * VL, VADD(VLOADU(out + v * VL), acc[i][v]));
    }
}

static void flat_bwd_task(void *p, int64_t task) {
    flat_job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups, khw = d->kh * d->kw;
    const int64_t n = task / d->groups, g = task % d->groups;
    const int64_t ihw = d->ih * d->iw, ohw = d->oh * d->ow, iw = d->iw, ow = d->ow;
    const int64_t dp = j->dp, pitch = j->plane_pitch, taps = cg * khw;
    float *buf = pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK,
                                  (size_t)(ocg * dp + cg * pitch + VL) * sizeof(float));
    if (buf == NULL) {
        __atomic_store_n(&j->oom, 1, __ATOMIC_RELAXED);
        return;
    }
    float *dyk = buf, *planes = buf + ocg * dp;
    /* dY in the flat layout, zero in the junk columns and after the last pixel */
    for (int64_t o = 0; o < ocg; ++o) {
        const float *in = j->dy + (n * d->oc + g * ocg + o) * ohw;
        float *out = dyk + o * dp;
        memset(out, 0, (size_t)dp * sizeof(float));
        for (int64_t y = 0; y < d->oh; ++y) memcpy(out + y * iw, in + y * ow, (size_t)ow * sizeof(float));
    }
    memset(planes, 0, (size_t)(cg * pitch) * sizeof(float));
    const float *w = j->w + g * ocg * taps;
    for (int64_t t0 = 0; t0 < taps; t0 += FT) {
        const int nt = (int)(taps - t0 < FT ? taps - t0 : FT);
        int64_t tap[FT];
        float *outp[FT];
        for (int i = 0; i < FT; ++i) {
            const int64_t t = t0 + (i < nt ? i : nt - 1); /* duplicates: computed, not stored */
            const int64_t ci = t / khw, ky = (t - ci * khw) / d->kw, kx = t - ci * khw - ky * d->kw;
            tap[i] = t;
            outp[i] = planes + ci * pitch + ky * d->dilation_h * iw + kx * d->dilation_w;
        }
        /* the row's vectors in tiles of equal width (9 -> 3 x 3, not 4 + 4 + 1: a one-vector
         * tile has too few accumulators to hide the FMA latency) */
        const int64_t nvec = dp / VL, ntiles = ceil_div(nvec, FV);
        for (int64_t k = 0, p0 = 0; k < ntiles; ++k) {
            const int64_t nv = (nvec - p0 / VL) / (ntiles - k) +
                               ((nvec - p0 / VL) % (ntiles - k) != 0);
            switch (nv) {
#if FV >= 4
            case 4: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 4); break;
#endif
            case 3: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 3); break;
            case 2: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 2); break;
            default: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 1); break;
            }
            p0 += nv * VL;
        }
    }
    float *dx = j->dx + (n * d->c + g * cg) * ihw;
    for (int64_t ci = 0; ci < cg; ++ci) memcpy(dx + ci * ihw, planes + ci * pitch, (size_t)ihw * sizeof(float));
}

/* PCNN_STATUS_UNSUPPORTED unless the flat path takes the shape (see above): stride 1, no
 * padding, not 1x1, the plane and the repacked dY in a few KiB, at least 2/3 of the flat
 * pixels real, few channels (measured on lenet2 only; larger channel counts keep the
 * engine, whose weight packing and L1 blocking this path does not have). */
static int32_t flat_bwd_data(const pcnn_conv2d_desc *d, const float *diff_dst, const float *w,
                             float *diff_src) {
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    if (d->stride_h != 1 || d->stride_w != 1 || d->pad_top || d->pad_bottom || d->pad_left ||
        d->pad_right || (d->kh == 1 && d->kw == 1) || cg > 16 || ocg > 64 ||
        d->ih * d->iw > 1024) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    flat_job_t j;
    memset(&j, 0, sizeof j);
    j.d = d;
    j.dy = diff_dst;
    j.w = w;
    j.dx = diff_src;
    j.len = (d->oh - 1) * d->iw + d->ow;
    if (3 * d->oh * d->ow < 2 * j.len) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    j.dp = ceil_div(j.len, VL) * VL;
    /* every tap's whole-vector adds stay inside: largest offset + dp */
    j.plane_pitch = ceil_div((d->kh - 1) * d->dilation_h * d->iw + (d->kw - 1) * d->dilation_w +
                             j.dp, VL) * VL;
    if (j.plane_pitch < d->ih * d->iw) j.plane_pitch = ceil_div(d->ih * d->iw, VL) * VL;
    pcnn_parallel_for_work(d->n * d->groups, sat_mul(d->n * d->oc * j.dp, cg * d->kh * d->kw),
                           flat_bwd_task, &j);
    if (__atomic_load_n(&j.oom, __ATOMIC_RELAXED)) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
#ifdef PCNN_DIRECT_FLAT_RUNS
    __atomic_fetch_add(&PCNN_DIRECT_FLAT_RUNS, 1, __ATOMIC_RELAXED);
#endif
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t PCNN_DIRECT_BWD_DATA(const pcnn_conv2d_desc *desc, const float *diff_dst,
                                           const float *weights, float *diff_src) {
    /* the transposed convolution reads zeros around diff_dst (and, for vertical padding
     * and 2-D tiles, whole zero rows) even without forward padding: a non-finite weight
     * would give NaN where the scalar kernel skips the tap */
    if (has_nonfinite(weights, desc->oc * (desc->c / desc->groups) * desc->kh * desc->kw)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const int32_t flat = flat_bwd_data(desc, diff_dst, weights, diff_src);
    if (flat != PCNN_STATUS_UNSUPPORTED) {
        return flat;
    }
    const pcnn_conv2d_desc d = flatten_if_pointwise(desc);
    job_t j;
    memset(&j, 0, sizeof j);
    j.d = &d;
    j.bwd = 1;
    j.in = diff_dst;
    j.out = diff_src;
    j.bias = NULL;
    j.weights = weights;
    j.groups = d.groups;
    j.ci_g = d.oc / d.groups;
    j.co_g = d.c / d.groups;
    j.in_h = d.oh;
    j.in_w = d.ow;
    j.out_h = d.ih;
    j.out_w = d.iw;
    j.kt = d.kh * d.kw;
    const int64_t sw = d.stride_w;
    j.uw_max = ceil_div(d.iw, sw);
    j.nv = choose_nv(j.uw_max);
    j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    /* diff_dst columns read: u + (ph + pl - kx*dw)/sw for u < uw_max: from
     * floor((pl - (kw-1)*dw) / sw) to uw_max - 1 + floor((sw - 1 + pl) / sw). */
    const int64_t dmin = floor_div(d.pad_left - (d.kw - 1) * d.dilation_w, sw);
    const int64_t dmax = floor_div(sw - 1 + d.pad_left, sw);
    const int64_t hi = j.uw_max - 1 + dmax;
    j.direct = sw == 1 && dmin >= 0 && hi <= d.ow - 1;
    j.padl = imax(0, -dmin);
    j.row_w = j.padl + imax(d.ow, hi + 1);
    /* Phase rows narrower than a vector (e.g. 14 of 16 lanes for a 28-wide stride-2
     * layer): tiles of nv rows, one vector each, instead of one-vector tiles with a
     * broadcast per FMA. Needs the padded copy (its slack absorbs whole-vector reads). */
    j.rowmode = !j.direct && j.uw_max <= VL && d.ih > d.stride_h;
    if (j.rowmode) {
        j.nv = NV_MAX;
        j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    } else if (d.ih > d.stride_h) {
        /* few diff_src channels (1 for LeNet's first layer, 3 for RGB): 2-D tiles of
         * several rows; needs every row to have all taps (vpad), so only with the copy */
        const int64_t ocb = ceil_div(j.co_g, j.nblocks);
        j.nr = j.direct ? 0 : choose_nr(ocb, j.nv);
        /* ukr2 sums channels innermost: a tile's input (all channels, its rows plus the
         * kernel's, its columns plus the kernel's) must stay in L1 across the taps, or
         * every tap re-streams it from L2 (measured 0.6x on the 7x7 stride-2 layer with
         * 64 channels; neutral at 32 channels x 3x3, 1.5x on LeNet's 6 x 5x5). */
        const int64_t tile_bytes = j.ci_g * (j.nr + ceil_div((d.kh - 1) * d.dilation_h, d.stride_h)) *
                                   ((int64_t)j.nv * VL + (d.kw - 1) * d.dilation_w) *
                                   (int64_t)sizeof(float);
        if (tile_bytes > 24 * 1024) {
            j.nr = 0;
        }
    }
    j.macs = sat_mul(d.n * d.oc * d.oh * d.ow, j.co_g * j.kt);
    /* per diff_src row: about co*ci*kt/(sh*sw) multiply-adds per pixel */
    plan_tasks(&j, d.n, d.ih, tiles_for(j.uw_max, j.nv) * sw,
               imax(1, j.co_g * j.ci_g * j.kt * d.iw / (d.stride_h * d.stride_w)),
               j.rowmode ? d.stride_h * j.nv : (j.nr > 1 ? d.stride_h * j.nr : 1),
               (d.kh - 1) * d.dilation_h);
    return run_job(&j, is_pointwise(&j) ? pw_task : bwd_task,
                   d.n * d.groups * j.row_chunks * j.block_chunks);
}

#endif /* PCNN_CONV2D_DIRECT_H */
