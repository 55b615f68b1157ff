/*
 * Fully connected layer, AVX-512 (F): the vector layer for linear-simd.h (16 lanes, __mmask16
 * masks). Tiles: forward 4 rows x 4 features (16 accumulators), backward 6 rows x 2 vectors
 * (12 accumulators) out of 32 zmm registers.
 */
#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define LN_V 16
#define LN_FWD_MR 4
#define LN_FWD_NR 4
#define LN_MR 6
#define LN_KV 2
#define LN_NAME(op) pcnn_##op##__avx512

typedef __m512 ln_vf;
typedef __mmask16 ln_mask;

static inline ln_vf ln_zero(void) { return _mm512_setzero_ps(); }
static inline ln_vf ln_set1(float v) { return _mm512_set1_ps(v); }
static inline ln_vf ln_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void ln_store(float *p, ln_vf v) { _mm512_storeu_ps(p, v); }
static inline ln_vf ln_fmadd(ln_vf a, ln_vf b, ln_vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline ln_vf ln_add(ln_vf a, ln_vf b) { return _mm512_add_ps(a, b); }
static inline ln_mask ln_mask_first(int n) { return (ln_mask)(n >= 16 ? 0xffff : (1u << n) - 1u); }
static inline ln_vf ln_load_m(const float *p, ln_mask m) { return _mm512_maskz_loadu_ps(m, p); }
static inline void ln_store_m(float *p, ln_mask m, ln_vf v) { _mm512_mask_storeu_ps(p, m, v); }
/* Lane sum in a fixed order: halves added pairwise down to one lane. */
static inline float ln_hsum(ln_vf v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#include "linear-simd.h"
