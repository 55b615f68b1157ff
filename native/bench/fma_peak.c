/*
 * Measures the machine's single-thread float32 FMA peak: independent accumulator chains
 * (more than latency x throughput, so the FMA pipes never wait) in a tight loop.
 * Compiled once per ISA with that ISA's flags; called only when the CPU has it.
 */
#include <immintrin.h>
#include <stdint.h>

#if defined(PCNN_PEAK_AVX512)
#define VEC __m512
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define REDUCE(v) _mm512_reduce_add_ps(v)
#define LANES 16
#define FN pcnn_bench_fma_peak_avx512
#else
#define VEC __m256
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define LANES 8
#define FN pcnn_bench_fma_peak_avx2
static float REDUCE(__m256 v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

/* Runs `iterations` rounds of 12 FMAs per accumulator chain; returns the flop count and
 * writes a value derived from the accumulators so the compiler cannot drop the loop. */
double FN(int64_t iterations, float *sink) {
    VEC a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f);
    VEC a4 = SET1(1.4f), a5 = SET1(1.5f), a6 = SET1(1.6f), a7 = SET1(1.7f);
    VEC a8 = SET1(1.8f), a9 = SET1(1.9f), a10 = SET1(2.0f), a11 = SET1(2.1f);
    const VEC m = SET1(0.999999f), c = SET1(1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);
        a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);
        a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
    }
    VEC s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));
    *sink = REDUCE(s);
    return (double)iterations * 12.0 * LANES * 2.0;
}
