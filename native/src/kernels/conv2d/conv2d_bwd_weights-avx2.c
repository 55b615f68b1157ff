/*
 * conv2d backward-weights, AVX2 variant: the vector layer for conv2d_bwd_weights-simd.h.
 * Register tile 4 output channels x 3 taps: 12 ymm accumulators + 3 tap vectors + 1 dY
 * vector = all 16 registers.
 */
#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define CW_V 8
#define CW_RO 4
#define CW_RT 3
#define CW_NAME pcnn_conv2d_bwd_weights__avx2
#define CW_FLAT_RUNS pcnn_conv2d_bwd_weights_flat_runs__avx2
#define CW_HALVES_RUNS pcnn_conv2d_bwd_weights_halves_runs__avx2
#define CW_WIDE_DY_MAX pcnn_conv2d_bwd_weights_wide_dy_max__avx2
/* Measured on Zen 5 with this 4 x 3 ymm tile: the stride-1 padded-plane path and the
 * AVX-512 variant's blocking (1024-pixel chunks, one col group at a time) were 10-20 %
 * slower on mid / resnet3x3 than the original packing path with 512-pixel chunks and
 * 16 x 24 L1 blocks, so this variant keeps those. */
#define CW_WIDE 0
#define CW_P 512
#define CW_OB2 16
#define CW_TB2 24

typedef __m256 cw_vf;

static inline cw_vf cw_load(const float *p) { return _mm256_loadu_ps(p); }
/* the first n (< 8) lanes from p, zero in the others; nothing else is read */
static inline cw_vf cw_load_first(const float *p, int n) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, m);
}
static inline void cw_store(float *p, cw_vf v) { _mm256_storeu_ps(p, v); }
static inline cw_vf cw_fma(cw_vf a, cw_vf b, cw_vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline cw_vf cw_add(cw_vf a, cw_vf b) { return _mm256_add_ps(a, b); }
static inline cw_vf cw_sub(cw_vf a, cw_vf b) { return _mm256_sub_ps(a, b); }
static inline cw_vf cw_zero(void) { return _mm256_setzero_ps(); }
/* fetch the cache line of p into L1 ahead of use (dY rows of the stride-1 path) */
static inline void cw_prefetch(const float *p) { _mm_prefetch((const char *)p, _MM_HINT_T0); }
/* row[ix + i] where 0 <= ix + i < iw, else 0: a plain load inside the row, a masked
 * load (nothing outside the row is read) at its edges */
static inline cw_vf cw_load_row(const float *row, int64_t ix, int64_t iw) {
    if (ix >= 0 && ix + 8 <= iw) {
        return _mm256_loadu_ps(row + ix);
    }
    if (ix >= iw || ix + 8 <= 0) {
        return _mm256_setzero_ps();
    }
    /* -8 < ix < iw <= 2^30 here (the kernel refuses wider rows): int32 lanes are exact */
    const int32_t lim = (int32_t)iw;
    const __m256i pos = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                         _mm256_set1_epi32((int32_t)ix));
    const __m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), pos),
                                          _mm256_cmpgt_epi32(_mm256_set1_epi32(lim), pos));
    return _mm256_maskload_ps((const float *)((uintptr_t)row + (uintptr_t)(ix * 4)), m);
}
/* row[ix + 2i] (0 outside the row): two row loads and an even-lane shuffle */
static inline cw_vf cw_load_row_s2(const float *row, int64_t ix, int64_t iw) {
    const __m256 t = _mm256_shuffle_ps(cw_load_row(row, ix, iw), cw_load_row(row, ix + 8, iw),
                                       0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
}
/* fixed tree: 8 -> 4 -> 2 -> 1 */
static inline float cw_hsum(cw_vf v) {
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

#include "conv2d_bwd_weights-simd.h"
