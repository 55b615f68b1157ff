/*
 * A masked store for the AVX2 kernels that avoids vmaskmovps where it can.
 *
 * Why: on AMD (measured on Zen 4, session 35: bench-free loop of 2 x 20M stores) a vmaskmovps
 * ymm store costs ~3.4 ns whatever the mask, a plain store ~0.3 ns; its masked loads cost what
 * plain loads do. The AVX2 kernels' masked stores are mostly a whole vector (a full tile's last
 * vector) or the first n lanes (a row's tail), so: all lanes -> one plain store; the first n
 * lanes -> a 4-, a 2- and a 1-float store as needed (exactly those n floats are written, as
 * with the mask); any other mask -> vmaskmovps. Lanes are tested with vmovmskps (the sign bits,
 * which is what vmaskmovps reads too).
 */
#ifndef PCNN_AVX2_MASKED_STORE_H
#define PCNN_AVX2_MASKED_STORE_H

#include <immintrin.h>

/* The first n lanes (0 <= n < 8) of v to p. */
static inline void pcnn_avx2_store_first(float *p, __m256 v, int n) {
    __m128 r = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(p, r);
        r = _mm256_extractf128_ps(v, 1);
        p += 4, n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)(void *)p, r);
        r = _mm_movehl_ps(r, r);
        p += 2, n -= 2;
    }
    if (n == 1) {
        _mm_store_ss(p, r);
    }
}

/* _mm256_maskstore_ps(p, m, v), the common masks without vmaskmovps (see above). */
static inline void pcnn_avx2_store_masked(float *p, __m256i m, __m256 v) {
    const unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(m));
    if (bits == 0xffu) {
        _mm256_storeu_ps(p, v);
    } else if ((bits & (bits + 1u)) == 0u) { /* lanes 0..n-1 (none when bits is 0) */
        pcnn_avx2_store_first(p, v, __builtin_popcount(bits));
    } else {
        _mm256_maskstore_ps(p, m, v);
    }
}

#endif /* PCNN_AVX2_MASKED_STORE_H */
