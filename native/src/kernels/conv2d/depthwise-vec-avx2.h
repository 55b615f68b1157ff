/*
 * Depthwise conv2d, AVX2 + FMA: the vector primitives (dw_*) the shared templates are written
 * in (depthwise-simd.h and the engines it lists). Included by every depthwise-*-avx2.c: the
 * plane engine and entry points (depthwise-avx2.c) and one file per engine, so that the
 * engines compile in parallel (the whole template in one file took clang-14's instrumented
 * fuzz build 4-5 minutes). Lane masks are vectors (all-ones lanes); a masked FMA is an FMA and
 * a blend, so padded lanes keep their accumulator exactly as with AVX-512's mask registers.
 */
#ifndef PCNN_DEPTHWISE_VEC_AVX2_H
#define PCNN_DEPTHWISE_VEC_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"
#include "kernels/avx2-masked-store.h"

#define PCNN_DW_AVX2
#define VL 8
typedef __m256 dw_vec;
typedef __m256i dw_mask;

/* accumulator rows per pass over the taps for 1..4 column blocks (16 ymm registers) */
#define DW_ROWS_1 6
#define DW_ROWS_2 4
#define DW_ROWS_3 3
#define DW_ROWS_4 2
/* diff_dst rows per pass of the backward-weights sums (9 accumulators + rows x blocks) */
#define DW_WROWS_1 6
#define DW_WROWS_2 3
#define DW_WROWS_3 2
#define DW_WROWS_4 1
#define DW_WSPLIT 1 /* accumulators per tap in the backward-weights sums */

#define DW_FREE_MASKED_FMA 0 /* a masked FMA is an FMA and a blend */

/* lanes l with lo <= l < hi (clamped to [0, VL]) */
static inline dw_mask dw_lanes(int64_t lo, int64_t hi) {
    lo = lo < 0 ? 0 : lo > VL ? VL : lo;
    hi = hi < 0 ? 0 : hi > VL ? VL : hi;
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(iota, _mm256_set1_epi32((int)lo - 1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), iota));
}

static inline dw_vec dw_zero(void) { return _mm256_setzero_ps(); }
static inline dw_vec dw_set1(float x) { return _mm256_set1_ps(x); }
static inline dw_vec dw_loadu(const float *p) { return _mm256_loadu_ps(p); }
static inline dw_vec dw_load_m(const float *p, dw_mask m) { return _mm256_maskload_ps(p, m); }
static inline void dw_storeu(float *p, dw_vec v) { _mm256_storeu_ps(p, v); }
/* vmaskmov stores are slow on AMD: kernels/avx2-masked-store.h */
static inline void dw_store_m(float *p, dw_vec v, dw_mask m) { pcnn_avx2_store_masked(p, m, v); }
static inline dw_vec dw_add(dw_vec a, dw_vec b) { return _mm256_add_ps(a, b); }
static inline dw_vec dw_fma(dw_vec a, dw_vec b, dw_vec c) { return _mm256_fmadd_ps(a, b, c); }
/* a*b + c in the lanes of m; the other lanes keep c */
static inline dw_vec dw_fma_m(dw_vec a, dw_vec b, dw_vec c, dw_mask m) {
    return _mm256_blendv_ps(c, _mm256_fmadd_ps(a, b, c), _mm256_castsi256_ps(m));
}
/* fixed order: halves, then pairs */
static inline float dw_hsum(dw_vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* even / odd elements of the 16 floats a:b (shuffle within 128-bit lanes, then fix the order) */
static inline dw_vec dw_even(dw_vec a, dw_vec b) {
    const __m256 t = _mm256_shuffle_ps(a, b, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xd8));
}
static inline dw_vec dw_odd(dw_vec a, dw_vec b) {
    const __m256 t = _mm256_shuffle_ps(a, b, 0xdd);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xd8));
}
/* e0 o0 e1 o1 ... (first 8 / last 8 of the 16) */
static inline dw_vec dw_interleave_lo(dw_vec e, dw_vec o) {
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(e, o), _mm256_unpackhi_ps(e, o), 0x20);
}
static inline dw_vec dw_interleave_hi(dw_vec e, dw_vec o) {
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(e, o), _mm256_unpackhi_ps(e, o), 0x31);
}
static inline int dw_all_finite(dw_vec v) { /* x - x is 0 exactly when x is finite */
    return _mm256_movemask_ps(_mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ)) == 0xff;
}

/* r[i] lane j -> r[j] lane i (8 x 8): unpacks, in-lane shuffles, then 128-bit halves */
static inline void dw_transpose(dw_vec *r) {
    __m256 t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    /* t[4g + j], half k: rows 4g..4g+3 of column 4k + j */
    __m256 s[8];
    for (int g = 0; g < 8; g += 4) {
        s[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
        s[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xee);
        s[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        s[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xee);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
    }
}

/* no single-instruction shift across the 128-bit halves: the 3x3 row reuse loads each column */
#define DW_SHIFT 0

/* The rows engine (depthwise-rows-simd.h) at 8 lanes: its column shifts are two instructions
 * here (the 128-bit halves straddling the shift, then a byte shift within each half; as
 * dw2_next / dw2_prev below), and its register tiles are narrower: K accumulator rows x NB
 * vectors + NB + 2 input vectors + a shift + a weight within 16 registers, so 3x3 rows go in
 * chunks of 2 vectors (6 + 4 + 2) and 5x5 rows in chunks of 1 (5 + 3 + 2). Its two-plane and
 * flat 7x7 forms need 16 lanes and stay AVX-512 only. */
#define DW_ROWS_ENGINE 1
#define DW_ROWS_ENGINE_NB3 2
#define DW_ROWS_ENGINE_NB5 1
/* rows up to 64 floats (8 vectors, 4 chunks of 3x3) take it: 1 thread, same-process A/B against
 * the plane engine (2026-12-07, Zen 4): 3x3 on 7x7..28x28 planes 0.5-0.77x the time, 56x56
 * forward 0.77-0.89x and backward-data level, 112x112 backward-data 1.07x (7 chunks, each going
 * down the whole 50 KB plane); 5x5 on 7x7..56x56 0.3-0.63x */
#define DW_ROWS_ENGINE_MAX_W 64
#define DW_LANES_RUNS pcnn_conv2d_depthwise_lanes_runs__avx2

/* stride-2 row engine (depthwise-s2-simd.h): cur shifted by one lane, the lane shifted in from
 * the neighbouring block: lane j = cur[j + 1], last = next[0] / lane j = cur[j - 1], 0 = prev[VL - 1]
 * (the 128-bit halves straddling the shift, then a byte shift within each half) */
static inline dw_vec dw2_next(dw_vec cur, dw_vec next) {
    const __m256 t = _mm256_permute2f128_ps(cur, next, 0x21); /* cur_hi : next_lo */
    return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(t), _mm256_castps_si256(cur), 4));
}
static inline dw_vec dw2_prev(dw_vec cur, dw_vec prev) {
    const __m256 t = _mm256_permute2f128_ps(prev, cur, 0x21); /* prev_hi : cur_lo */
    return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(cur), _mm256_castps_si256(t), 12));
}
#define DW_S2_RUNS pcnn_conv2d_depthwise_s2_runs__avx2
#define DW_WSUM3_RUNS pcnn_conv2d_depthwise_wsum3_runs__avx2 /* depthwise-wsum3-simd.h */

/* The VL floats c (-2 <= c <= 2, a constant after inlining) after the start of cur, taken from
 * prev:cur:next, as AVX-512's dw_shift (the rows engine): c = +-1 are dw2_next / dw2_prev */
static inline dw_vec dw_shift(dw_vec prev, dw_vec cur, dw_vec next, int c) {
    switch (c) {
    case -2: {
        const __m256 t = _mm256_permute2f128_ps(prev, cur, 0x21); /* prev_hi : cur_lo */
        return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(cur), _mm256_castps_si256(t), 8));
    }
    case -1: return dw2_prev(cur, prev);
    case 1: return dw2_next(cur, next);
    case 2: {
        const __m256 t = _mm256_permute2f128_ps(cur, next, 0x21); /* cur_hi : next_lo */
        return _mm256_castsi256_ps(_mm256_alignr_epi8(_mm256_castps_si256(t), _mm256_castps_si256(cur), 8));
    }
    default: return cur; /* c == 0 */
    }
}

/* the name of an engine's function for this ISA (engines are in their own translation units) */
#define DW_ENGINE(name) name##__avx2

#endif /* PCNN_DEPTHWISE_VEC_AVX2_H */
