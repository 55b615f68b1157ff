/*
 * conv2d forward and backward-data, AVX2 + FMA variants: the vector layer for the
 * conv2d-direct.h template (shared with conv2d_direct-avx512.c; the algorithm is there).
 * 8 lanes, 16 vector registers, masks are __m256i with all-ones / all-zeros lanes
 * (vmaskmov: masked-off lanes are never touched). Everything that differs between the ISAs
 * is in this file: vector operations, register budgets, which micro-kernel shapes exist,
 * the stride-2 row (de)interleaves and the weight scan. No pointwise narrow-tail kernel
 * (PW_TAIL_MAX is not defined): row tails run the pixel-tile kernels.
 */
#include <immintrin.h>
#include <stdint.h>

#include "direct/int_math.h"
#include "kernels/avx2-masked-store.h"

#define PCNN_DIRECT_FWD pcnn_conv2d_fwd__avx2
#define PCNN_DIRECT_BWD_DATA pcnn_conv2d_bwd_data__avx2
#define PCNN_DIRECT_FLAT_RUNS pcnn_conv2d_bwd_data_flat_runs__avx2

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
/* VLOADM of the VL floats from p + i, where i may put lane 0 before p's buffer (or the last
 * lane past it): only the mask's lanes are read, and the address is formed as an integer
 * (as conv2d_bwd_weights' cw_load_rowm) because p + i outside the buffer is undefined in C
 * even when never dereferenced there. */
#define VLOADM_AT(p, i, m) VLOADM((const float *)((uintptr_t)(p) + (uintptr_t)((i) * 4)), (m))
#define VSTOREU(p, v) _mm256_storeu_ps((p), (v))
/* masked stores without vmaskmovps where the mask allows (slow on AMD): kernels/avx2-masked-store.h */
#define VSTOREM(p, m, v) pcnn_avx2_store_masked((p), (m), (v))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))

/* ---- register budgets and the micro-kernel shapes compiled (direct/microkernels.h) ---- */

/* 16 ymm registers: OCB*NV accumulators + NV inputs + 1 broadcast <= 16. */
static const int ocb_max_for_nv[NV_MAX + 1] = {0, 8, 6, 3};
/* ukr_OCB_NV for NV = 1..3 and OCB = 1..ocb_max_for_nv[NV] (FOR_1_TO_n: the template's) */
#define DIRECT_UKR_SHAPES(NV1, NV2, NV3, NV4) FOR_1_TO_8(NV1) FOR_1_TO_6(NV2) FOR_1_TO_3(NV3)
/* 2-D tiles for small output-channel blocks: as on AVX-512 (see conv2d_direct-avx512.c),
 * within 16 registers */
#define NR_MAX 4
#define OCB2_MAX 3
#define ACC2_MAX 12
#define REG2_MAX 15
/* ukr2_OCB_NR_NV for OCB = 1..OCB2_MAX, NR = 1..NR_MAX, NV = 1..NV_MAX */
#define DIRECT_UKR2_OCBS(M) FOR_1_TO_3(M)
#define DIRECT_UKR2_NRS(M, O) M(O, 1) M(O, 2) M(O, 3) M(O, 4)
#define DIRECT_UKR2_NVS(M, O, R) M(O, R, 1) M(O, R, 2) M(O, R, 3)
/* channel tiles (direct/channel_tiles.h): 2 channel vectors x up to UKRC_NX_MAX pixels,
 * 12 accumulators + 2 weight vectors + a broadcast of the 16 registers (7 pixels spilled:
 * 1.4x the time of 6 on resnet_s2) */
#define UKRC_NX_MAX 6
#define UKRC_NXS(M) FOR_1_TO_6(M)
/* flat tiles (direct/flat_tiles.h), as on AVX-512: a mask table entry's 8 bits become lanes
 * of all ones (vmaskmov reads only those) */
#define DIRECT_FLAT_TILES 1
#define PCNN_DIRECT_FLAT_TILE_RUNS pcnn_conv2d_flat_tile_runs__avx2
static inline vmask_t vmask_bits(uint32_t b) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)b), bit), bit);
}
#define VMASK_BITS(b) vmask_bits(b)
/* flat backward-data tile (direct/flat_backward_data.h): FT taps x up to FV vectors,
 * 9 accumulators + 3 dY vectors + 1 broadcast of the 16 registers */
#define FT 3
#define FV 3

/* ---- row edges and stride-2 phases (direct/forward.h, direct/backward_data.h) ---- */

/* Lanes i of a vector loading row[x + i] that fall inside [0, iw). */
static inline vmask_t vmask_range(int64_t x, int64_t iw) {
    const __m256i i = _mm256_add_epi32(_mm256_set1_epi32((int)imax(-VL, imin(x, iw))),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(-1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)iw), i));
}

/* Stride-2 phase split of one input row with zero padding:
 * p0[m] = row[2m - pl], p1[m] = row[2m + 1 - pl] for m < rw (0 outside [0, iw)).
 * Runs for every input row of every task, so it is vectorised: masked loads of 2*VL
 * source floats (the masks drop the padding, so nothing outside the row is read) and a
 * de-interleave; the last chunk's stores are masked to rw. */
static inline void split_phases2(float *p0, float *p1, const float *row, int64_t rw, int64_t pl,
                                 int64_t iw) {
    for (int64_t m = 0; m < rw; m += VL) {
        const int64_t x = 2 * m - pl;
        const vmask_t ma = vmask_range(x, iw), mb = vmask_range(x + VL, iw);
        /* masked-off lanes are not accessed: lane 0 may be before the row (VLOADM_AT) */
        const __m256 a = _mm256_testz_si256(ma, ma) ? _mm256_setzero_ps() : VLOADM_AT(row, x, ma);
        const __m256 b =
            _mm256_testz_si256(mb, mb) ? _mm256_setzero_ps() : VLOADM_AT(row, x + VL, mb);
        /* per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then put the quads in order */
        const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        const __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        const vmask_t st = vmask_first(imin(VL, rw - m));
        _mm256_maskstore_ps(p0 + m, st, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                            _mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0))));
        _mm256_maskstore_ps(p1 + m, st, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                            _mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0))));
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
}

/* ---- the weight scan of the entry points (direct/entry.h) ---- */

/* True when some weight is Inf or NaN (why that matters: direct/entry.h). */
static int has_nonfinite(const float *w, int64_t count) {
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
}

/* ---- small-input-channel forward (direct/small_channels.h) ---- */

#define PCNN_DIRECT_SMALLC_RUNS pcnn_conv2d_fwd_smallc_runs__avx2
#define PCNN_DIRECT_SMALLC_FORCE pcnn_conv2d_fwd_smallc_force__avx2
/* tiles of NOV channel vectors x R rows x X columns: NOV*R*X <= SMALLC_P_MAX accumulators
 * + NOV weight vectors + 1 broadcast of the 16 registers */
#define SMALLC_P_MAX 12
#define SMALLC_R_MAX 4
#define SMALLC_X_MAX 12
#define SMALLC_SHAPES(M)                                                                    \
    SC_X12(M, 1, 1) SC_X6(M, 1, 2) SC_X4(M, 1, 3) SC_X3(M, 1, 4) SC_X6(M, 2, 1) SC_X3(M, 2, 2) \
        SC_X2(M, 2, 3) SC_X1(M, 2, 4)
#define SMALLC_LAT 8
/* the AUTO rule (sc_rule, measured): at least SMALLC_OC_MIN output channels, planes of at
 * most SMALLC_PLANE_MAX pixels, at most SMALLC_CI_MAX input channels or, up to 128, rows of
 * at most SMALLC_MANY_CI_OW_MAX pixels */
#define SMALLC_OC_MIN 16
#define SMALLC_PLANE_MAX 784
#define SMALLC_CI_MAX 16
#define SMALLC_MANY_CI_OW_MAX 28
#define SMALLC_BAND_PX 256
#define SMALLC_COPY_MAX ((int64_t)1 << 18)
#define SMALLC_TR 8

/* out[c * ostride + i] = tile[i * tstride + c] for i < npix, c < nch (both <= 8): an 8 x 8
 * transpose in registers; rows past npix are zeros, never read; stores masked to npix. */
static inline void sc_transpose(float *out, int64_t ostride, const float *tile, int64_t tstride,
                                int64_t npix, int64_t nch) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) {
        r[i] = i < npix ? _mm256_loadu_ps(tile + i * tstride) : _mm256_setzero_ps();
    }
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    const __m256 col[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                           _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                           _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                           _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
    /* the first npix lanes: plain 4-, 2- and 1-float stores (vmaskmovps stores are slow on
     * AMD: kernels/avx2-masked-store.h) */
    for (int c = 0; c < nch; ++c) {
        if (npix == 8) {
            _mm256_storeu_ps(out + c * ostride, col[c]);
        } else {
            pcnn_avx2_store_first(out + c * ostride, col[c], (int)npix);
        }
    }
}

/* ---- channel tiles' output (direct/channel_tiles.h), weight packing (weight_packing.h) ---- */
#define HAVE_TILE_TRANSPOSE16 1

/* out[c * ostride + i] = tile[i * tstride + c] for i < npix, c < nch (both <= 16): four
 * 8 x 8 register transposes (sc_transpose; each reads 8 floats of a row, so a row's
 * floats [8, 16) only when nch > 8). Pure copies. */
static inline void tile_transpose16(float *out, int64_t ostride, const float *tile,
                                    int64_t tstride, int64_t npix, int64_t nch) {
    for (int64_t p0 = 0; p0 < npix; p0 += 8) {
        for (int64_t c0 = 0; c0 < nch; c0 += 8) {
            sc_transpose(out + c0 * ostride + p0, ostride, tile + p0 * tstride + c0, tstride,
                         imin(8, npix - p0), imin(8, nch - c0));
        }
    }
}

#include "conv2d-direct.h"
