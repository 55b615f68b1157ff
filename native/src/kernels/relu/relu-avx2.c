/*
 * ReLU, AVX2: one compare (not-less-or-equal, unordered: true for x > 0 and for NaN) and an AND
 * per vector, so the select is exactly the scalar kernel's; masked tail loads / stores.
 */
#include <immintrin.h>

#include "core/pcnn_internal.h"
#include "relu-common.h"

#define RV 8
typedef __m256 rvf;
typedef __m256i rmask;
static inline rvf r_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void r_store(float *p, rvf v) { _mm256_storeu_ps(p, v); }
static inline rmask r_first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline rvf r_load_m(const float *p, rmask m) { return _mm256_maskload_ps(p, m); }
static inline void r_store_m(float *p, rmask m, rvf v) { _mm256_maskstore_ps(p, m, v); }
/* keep v where y > 0 or y is NaN, else +0.0f */
static inline rvf r_select(rvf y, rvf v) {
    return _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_NLE_UQ), v);
}
#define R_NAME(op) pcnn_relu_##op##__avx2

#include "relu-simd.h"
