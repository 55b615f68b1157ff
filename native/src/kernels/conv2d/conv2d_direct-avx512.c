/*
 * conv2d forward and backward-data, AVX-512 (F, BW, VL, DQ) variants: the vector layer for
 * the conv2d-direct.h template (shared with conv2d_direct-avx2.c; the algorithm is there).
 * 16 lanes, 32 vector registers, masks are __mmask16 (masked loads and stores are free and
 * never touch masked-off lanes). Everything that differs between the ISAs is in this file:
 * vector operations, register budgets, which micro-kernel shapes exist, the stride-2 row
 * (de)interleaves, the weight scan, and the pointwise narrow-tail kernel.
 */
#include <immintrin.h>
#include <stdint.h>

#include "direct/int_math.h"

#define PCNN_DIRECT_FWD pcnn_conv2d_fwd__avx512
#define PCNN_DIRECT_BWD_DATA pcnn_conv2d_bwd_data__avx512
#define PCNN_DIRECT_FLAT_RUNS pcnn_conv2d_bwd_data_flat_runs__avx512

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
/* VLOADM of the VL floats from p + i, where i may put lane 0 before p's buffer (or the last
 * lane past it): only the mask's lanes are read, and the address is formed as an integer
 * (as conv2d_bwd_weights' cw_load_rowm) because p + i outside the buffer is undefined in C
 * even when never dereferenced there. */
#define VLOADM_AT(p, i, m) VLOADM((const float *)((uintptr_t)(p) + (uintptr_t)((i) * 4)), (m))
#define VSTOREU(p, v) _mm512_storeu_ps((p), (v))
#define VSTOREM(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))

/* ---- register budgets and the micro-kernel shapes compiled (direct/microkernels.h) ---- */

/* Largest output-channel block per tile width: keeps OCB*NV accumulators plus the NV
 * input vectors in the 32 registers. */
static const int ocb_max_for_nv[NV_MAX + 1] = {0, 16, 12, 8, 6};
/* ukr_OCB_NV for NV = 1..4 and OCB = 1..ocb_max_for_nv[NV] (FOR_1_TO_n: the template's) */
#define DIRECT_UKR_SHAPES(NV1, NV2, NV3, NV4) \
    FOR_1_TO_16(NV1) FOR_1_TO_12(NV2) FOR_1_TO_8(NV3) FOR_1_TO_6(NV4)
/* 2-D tiles (rows x vectors) for small output-channel blocks (backward-data): at most
 * NR_MAX rows and OCB2_MAX channels; used when the 1-D tile has at most half of ACC2_MAX
 * accumulators, with the most rows that keep OCB*NR*NV accumulators <= ACC2_MAX and
 * (OCB+1)*NR*NV <= REG2_MAX registers (the weight broadcasts are folded into the FMAs as
 * memory operands). See choose_nr. */
#define NR_MAX 6
#define OCB2_MAX 4
#define ACC2_MAX 24
#define REG2_MAX 30
/* ukr2_OCB_NR_NV for OCB = 1..OCB2_MAX, NR = 1..NR_MAX, NV = 1..NV_MAX */
#define DIRECT_UKR2_OCBS(M) FOR_1_TO_4(M)
#define DIRECT_UKR2_NRS(M, O) M(O, 1) M(O, 2) M(O, 3) M(O, 4) M(O, 5) M(O, 6)
#define DIRECT_UKR2_NVS(M, O, R) M(O, R, 1) M(O, R, 2) M(O, R, 3) M(O, R, 4)
/* row tiles (direct/microkernels.h ukrr_*): UKRR_NR rows x 2 vectors x up to UKRR_OCB
 * channels, 24 accumulators + 4 input vectors + a broadcast of the 32 registers; used for
 * rows of 17..32 pixels, forward and stride-1 backward-data (measured: direct/README-mid.md;
 * 3 rows x 4 channels measured 1.17x slower there) */
#define UKRR_NR 2
#define UKRR_OCB 6
/* channel tiles (direct/channel_tiles.h): up to 2 channel vectors x UKRC_NX_MAX pixels,
 * 28 accumulators + 2 weight vectors + a broadcast of the 32 registers */
#define UKRC_NX_MAX 14
#define UKRC_NXS(M) FOR_1_TO_12(M) M(13) M(14)
/* flat tiles (direct/flat_tiles.h): same-width rows that are not a whole number of vectors
 * as one plane of whole vectors, the image's edges masked off per lane (mask registers: a
 * mask table entry is the mask) */
#define DIRECT_FLAT_TILES 1
#define PCNN_DIRECT_FLAT_TILE_RUNS pcnn_conv2d_flat_tile_runs__avx512
#define VMASK_BITS(b) ((vmask_t)(b))
/* flat backward-data tile (direct/flat_backward_data.h): FT taps x up to FV vectors,
 * 24 accumulators + 4 dY vectors + 1 broadcast of the 32 registers */
#define FT 6
#define FV 4

/* ---- row edges and stride-2 phases (direct/forward.h, direct/backward_data.h) ---- */

/* Lanes i of a vector loading row[x + i] that fall inside [0, iw). */
static inline vmask_t vmask_range(int64_t x, int64_t iw) {
    const int64_t lo = imin(VL, imax(0, -x)), hi = imax(0, imin(VL, iw - x));
    return hi <= lo ? (vmask_t)0 : (vmask_t)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Stride-2 phase split of one input row with zero padding:
 * p0[m] = row[2m - pl], p1[m] = row[2m + 1 - pl] for m < rw (0 outside [0, iw)).
 * Runs for every input row of every task, so it is vectorised: masked loads of 2*VL
 * source floats (the masks drop the padding, so nothing outside the row is read) and a
 * de-interleave; the last chunk's stores are masked to rw. */
static inline void split_phases2(float *p0, float *p1, const float *row, int64_t rw, int64_t pl,
                                 int64_t iw) {
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t m = 0; m < rw; m += VL) {
        const int64_t x = 2 * m - pl;
        const vmask_t ma = vmask_range(x, iw), mb = vmask_range(x + VL, iw);
        /* masked-off lanes are not accessed: lane 0 may be before the row (VLOADM_AT) */
        const __m512 a = ma ? VLOADM_AT(row, x, ma) : _mm512_setzero_ps();
        const __m512 b = mb ? VLOADM_AT(row, x + VL, mb) : _mm512_setzero_ps();
        const vmask_t st = vmask_first(imin(VL, rw - m));
        _mm512_mask_storeu_ps(p0 + m, st, _mm512_permutex2var_ps(a, ev, b));
        _mm512_mask_storeu_ps(p1 + m, st, _mm512_permutex2var_ps(a, od, b));
    }
}

/* out[2u] = s0[u], out[2u + 1] = s1[u] with s0 = s, s1 = s + ustride, for the `width`
 * columns of a diff_src row (phase 0 has n0 = ceil(width/2) columns, phase 1 n1 =
 * floor(width/2)): chunks of VL columns u of each phase -> 2*VL output columns; the last
 * chunk's loads and stores are masked to the row. always_inline: with a plain inline GCC
 * allocated bwd_task's registers differently from when this loop was written there. */
static inline __attribute__((always_inline)) void interleave_phases2(float *out, const float *s,
                                                                     int64_t ustride,
                                                                     int64_t width) {
    const float *s0 = s, *s1 = s + ustride;
    const int64_t n0 = (width + 1) / 2, n1 = width / 2;
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
}

/* ---- channel tiles' output (direct/channel_tiles.h), weight packing (weight_packing.h) ---- */
#define HAVE_TILE_TRANSPOSE16 1

/* out[c * ostride + i] = tile[i * tstride + c] for i < npix, c < nch (both <= 16): a 16 x 16
 * transpose in registers (unpack, in-lane shuffle, then 128-bit lane shuffles); rows past
 * npix are zeros, never read; stores are masked to npix. Pure copies. */
static inline void tile_transpose16(float *out, int64_t ostride, const float *tile,
                                    int64_t tstride, int64_t npix, int64_t nch) {
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; ++i) {
        r[i] = i < npix ? _mm512_loadu_ps(tile + i * tstride) : _mm512_setzero_ps();
    }
    for (int k = 0; k < 8; ++k) {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 4; ++k) { /* u[4k + j], 128-bit lane L: column 4L + j, rows 4k.. */
        u[4 * k] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
        u[4 * k + 1] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
        u[4 * k + 2] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
        u[4 * k + 3] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
    }
    const __mmask16 m = vmask_first(npix);
    for (int jj = 0; jj < 4; ++jj) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[jj], u[4 + jj], 0x88);
        const __m512 w0 = _mm512_shuffle_f32x4(u[8 + jj], u[12 + jj], 0x88);
        const __m512 v1 = _mm512_shuffle_f32x4(u[jj], u[4 + jj], 0xDD);
        const __m512 w1 = _mm512_shuffle_f32x4(u[8 + jj], u[12 + jj], 0xDD);
        const __m512 col[4] = {_mm512_shuffle_f32x4(v0, w0, 0x88), _mm512_shuffle_f32x4(v1, w1, 0x88),
                               _mm512_shuffle_f32x4(v0, w0, 0xDD), _mm512_shuffle_f32x4(v1, w1, 0xDD)};
        for (int l = 0; l < 4; ++l) { /* column 4l + jj */
            if (4 * l + jj < nch) {
                _mm512_mask_storeu_ps(out + (4 * l + jj) * ostride, m, col[l]);
            }
        }
    }
}

/* ---- the weight scan of the entry points (direct/entry.h) ---- */

/* True when some weight is Inf or NaN (why that matters: direct/entry.h). */
static int has_nonfinite(const float *w, int64_t count) {
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
}

/* ---- pointwise row tail (direct/pointwise.h; this ISA only) ---- */

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
/* widest row tail pwtail_table serves (defining it enables the path in pw_task) */
#define PW_TAIL_MAX 8

/* ---- small-input-channel forward (direct/small_channels.h) ---- */

#define PCNN_DIRECT_SMALLC_RUNS pcnn_conv2d_fwd_smallc_runs__avx512
#define PCNN_DIRECT_SMALLC_FORCE pcnn_conv2d_fwd_smallc_force__avx512
/* tiles of NOV channel vectors x R rows x X columns: NOV*R*X <= SMALLC_P_MAX accumulators
 * (+ NOV weight vectors; the broadcasts are FMA memory operands) of the 32 registers */
#define SMALLC_P_MAX 28
#define SMALLC_R_MAX 4
#define SMALLC_X_MAX 16
#define SMALLC_SHAPES(M)                                                                    \
    SC_X16(M, 1, 1) SC_X14(M, 1, 2) SC_X9(M, 1, 3) SC_X7(M, 1, 4) SC_X14(M, 2, 1) SC_X7(M, 2, 2) \
        SC_X4(M, 2, 3) SC_X3(M, 2, 4)
/* independent FMA chains that keep both pipes busy (4-cycle latency, 2 per cycle) */
#define SMALLC_LAT 8
/* the AUTO rule (sc_rule, measured): at least SMALLC_OC_MIN output channels, planes of at
 * most SMALLC_PLANE_MAX pixels, at most SMALLC_CI_MAX input channels or, up to 128, rows of
 * at most SMALLC_MANY_CI_OW_MAX pixels */
#define SMALLC_OC_MIN 16
#define SMALLC_PLANE_MAX 576
#define SMALLC_CI_MAX 16
#define SMALLC_MANY_CI_OW_MAX 14
/* output pixels per band (band buffer 1024 x 32 floats = 128 KiB) and the largest band copy */
#define SMALLC_BAND_PX 128
#define SMALLC_COPY_MAX ((int64_t)1 << 18)
/* the band buffer goes out in 16 x 16 transposes */
#define SMALLC_TR 16
#define sc_transpose tile_transpose16

#include "conv2d-direct.h"
