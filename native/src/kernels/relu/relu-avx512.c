/*
 * ReLU, AVX-512: a compare into a mask register (not-less-or-equal, unordered: true for x > 0 and
 * for NaN) and a zero-masked move, so the select is exactly the scalar kernel's.
 */
#include <immintrin.h>

#include "core/pcnn_internal.h"
#include "relu-common.h"

#define RV 16
typedef __m512 rvf;
typedef __mmask16 rmask;
static inline rvf r_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void r_store(float *p, rvf v) { _mm512_storeu_ps(p, v); }
static inline rmask r_first(int n) { return (rmask)(n >= 16 ? 0xffff : (1u << n) - 1u); }
static inline rvf r_load_m(const float *p, rmask m) { return _mm512_maskz_loadu_ps(m, p); }
static inline void r_store_m(float *p, rmask m, rvf v) { _mm512_mask_storeu_ps(p, m, v); }
static inline rvf r_select(rvf y, rvf v) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_NLE_UQ), v);
}
#define R_NAME(op) pcnn_relu_##op##__avx512

#include "relu-simd.h"
