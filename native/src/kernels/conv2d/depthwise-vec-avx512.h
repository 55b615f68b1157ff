/*
 * Depthwise conv2d, AVX-512: the vector primitives (dw_*) the shared templates are written
 * in (depthwise-simd.h and the engines it lists). Included by every depthwise-*-avx512.c: the
 * plane engine and entry points (depthwise-avx512.c) and one file per engine, so that the
 * engines compile in parallel (the whole template in one file took clang-14's instrumented
 * fuzz build 4-5 minutes).
 */
#ifndef PCNN_DEPTHWISE_VEC_AVX512_H
#define PCNN_DEPTHWISE_VEC_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define PCNN_DW_AVX512
#define VL 16
typedef __m512 dw_vec;
typedef __mmask16 dw_mask;

/* accumulator rows per pass over the taps for 1..4 column blocks (R * NB independent chains) */
#define DW_ROWS_1 8
#define DW_ROWS_2 6
#define DW_ROWS_3 4
#define DW_ROWS_4 3
/* diff_dst rows per pass of the backward-weights sums (9 accumulators + rows x blocks) */
#define DW_WROWS_1 8
#define DW_WROWS_2 4
#define DW_WROWS_3 2
#define DW_WROWS_4 2
#define DW_WSPLIT 2 /* accumulators per tap in the backward-weights sums */

#define DW_FREE_MASKED_FMA 1 /* masked FMA costs what a plain one does */

/* lanes l with lo <= l < hi (clamped to [0, VL]) */
static inline dw_mask dw_lanes(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo > VL ? VL : lo;
    hi = hi < 0 ? 0 : hi > VL ? VL : hi;
    if (hi <= lo) {
        return 0;
    }
    return (dw_mask)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
}

static inline dw_vec dw_zero(void) { return _mm512_setzero_ps(); }
static inline dw_vec dw_set1(float x) { return _mm512_set1_ps(x); }
static inline dw_vec dw_loadu(const float *p) { return _mm512_loadu_ps(p); }
static inline dw_vec dw_load_m(const float *p, dw_mask m) { return _mm512_maskz_loadu_ps(m, p); }
static inline void dw_storeu(float *p, dw_vec v) { _mm512_storeu_ps(p, v); }
static inline void dw_store_m(float *p, dw_vec v, dw_mask m) { _mm512_mask_storeu_ps(p, m, v); }
static inline dw_vec dw_add(dw_vec a, dw_vec b) { return _mm512_add_ps(a, b); }
static inline dw_vec dw_fma(dw_vec a, dw_vec b, dw_vec c) { return _mm512_fmadd_ps(a, b, c); }
/* a*b + c in the lanes of m; the other lanes keep c */
static inline dw_vec dw_fma_m(dw_vec a, dw_vec b, dw_vec c, dw_mask m) { return _mm512_mask3_fmadd_ps(a, b, c, m); }
static inline float dw_hsum(dw_vec v) { return _mm512_reduce_add_ps(v); }

/* even / odd elements of the 32 floats a:b */
static inline dw_vec dw_even(dw_vec a, dw_vec b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
}
static inline dw_vec dw_odd(dw_vec a, dw_vec b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
}
/* e0 o0 e1 o1 ... (first 16 / last 16 of the 32) */
static inline dw_vec dw_interleave_lo(dw_vec e, dw_vec o) {
    return _mm512_permutex2var_ps(e, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), o);
}
static inline dw_vec dw_interleave_hi(dw_vec e, dw_vec o) {
    return _mm512_permutex2var_ps(e, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), o);
}
static inline int dw_all_finite(dw_vec v) { /* x - x is 0 exactly when x is finite */
    return _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_EQ_OQ) == 0xffff;
}

/* r[i] lane j -> r[j] lane i (16 x 16): unpacks, in-lane shuffles, then two 128-bit-block shuffles */
static inline void dw_transpose(dw_vec *r) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* r[4g + j], 128-bit block k: rows 4g..4g+3 of column 4k + j */
    for (int g = 0; g < 16; g += 4) {
        r[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
        r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xee);
        r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xee);
    }
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);      /* blocks 0, 2 */
        t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);  /* blocks 1, 3 */
        t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);
        r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
        r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xdd);
    }
}

/* The VL floats c (-2 <= c <= 2, a constant after inlining) after the start of cur, taken
 * from prev:cur:next (valignd): the 3x3 row reuse shifts the centre column's vectors for the
 * side columns instead of loading them (depthwise-simd.h, dw_reuse_rows). */
#define DW_SHIFT 1
/* the rows engine (depthwise-rows-simd.h), all its forms; 3x3 rows in chunks of 4 vectors
 * (3*4 accumulators + 3*4 shifts fit the 32 registers), 5x5 in chunks of 2 */
#define DW_ROWS_ENGINE 1
#define DW_ROWS_ENGINE_NB3 4
#define DW_ROWS_ENGINE_NB5 2
#define DW_ROWS_ENGINE_MAX_W INT64_MAX /* any row width */
/* planes the calling thread computed with shifted columns (the tests check the path ran) */
#define DW_SHIFT_PLANES pcnn_conv2d_depthwise_shift_planes__avx512
PCNN_INTERNAL extern __thread int64_t DW_SHIFT_PLANES;
#define DW_ALIGNR(hi, lo, n) _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(hi), _mm512_castps_si512(lo), n))
static inline dw_vec dw_shift(dw_vec prev, dw_vec cur, dw_vec next, int c) {
    switch (c) {
    case -2: return DW_ALIGNR(cur, prev, 14);
    case -1: return DW_ALIGNR(cur, prev, 15);
    case 1: return DW_ALIGNR(next, cur, 1);
    case 2: return DW_ALIGNR(next, cur, 2);
    default: return cur; /* c == 0 */
    }
}
#define DW_LANES_RUNS pcnn_conv2d_depthwise_lanes_runs__avx512

/* stride-2 row engine (depthwise-s2-simd.h): cur shifted by one lane, the lane shifted in from
 * the neighbouring block: lane j = cur[j + 1], last = next[0] / lane j = cur[j - 1], 0 = prev[VL - 1] */
static inline dw_vec dw2_next(dw_vec cur, dw_vec next) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(next), _mm512_castps_si512(cur), 1));
}
static inline dw_vec dw2_prev(dw_vec cur, dw_vec prev) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(cur), _mm512_castps_si512(prev), 15));
}
#define DW_S2_RUNS pcnn_conv2d_depthwise_s2_runs__avx512
#define DW_WSUM3_RUNS pcnn_conv2d_depthwise_wsum3_runs__avx512 /* depthwise-wsum3-simd.h */

/* the name of an engine's function for this ISA (engines are in their own translation units) */
#define DW_ENGINE(name) name##__avx512

#endif /* PCNN_DEPTHWISE_VEC_AVX512_H */
