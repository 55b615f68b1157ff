/*
 * Fully connected layer, AVX2 + FMA: the vector layer for linear-simd.h (8 lanes; a mask is an
 * __m256i with all-ones lanes for the elements to touch). Tiles: forward 2 rows x 4 features
 * (8 accumulators), backward 4 rows x 2 vectors (8 accumulators): 16 ymm registers in all.
 */
#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define LN_V 8
#define LN_FWD_MR 2
#define LN_FWD_NR 4
#define LN_MR 4
#define LN_KV 2
#define LN_NAME(op) pcnn_##op##__avx2

typedef __m256 ln_vf;
typedef __m256i ln_mask;

static inline ln_vf ln_zero(void) { return _mm256_setzero_ps(); }
static inline ln_vf ln_set1(float v) { return _mm256_set1_ps(v); }
static inline ln_vf ln_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void ln_store(float *p, ln_vf v) { _mm256_storeu_ps(p, v); }
static inline ln_vf ln_fmadd(ln_vf a, ln_vf b, ln_vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline ln_vf ln_add(ln_vf a, ln_vf b) { return _mm256_add_ps(a, b); }
static inline ln_mask ln_mask_first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/* Masked lanes are neither read nor written (no fault past a buffer's end); loads give 0 there. */
static inline ln_vf ln_load_m(const float *p, ln_mask m) { return _mm256_maskload_ps(p, m); }
static inline void ln_store_m(float *p, ln_mask m, ln_vf v) { _mm256_maskstore_ps(p, m, v); }
/* Lane sum in a fixed order: (lo + hi) pairwise, then within 128 bits. */
static inline float ln_hsum(ln_vf v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#include "linear-simd.h"
