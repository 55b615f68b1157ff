/*
 * AArch64 counterpart of fma_peak.c: the single-thread float32 FMA peak with NEON
 * (128-bit vfmaq_f32), 12 independent accumulator chains (more than latency x throughput
 * on current cores: 4-cycle FMA latency x 2-4 pipes), so the FMA pipes never wait.
 * ASIMD is the ARMv8-A baseline: no extra flags.
 */
#include <arm_neon.h>
#include <stdint.h>

/* Runs `iterations` rounds of 12 FMAs per accumulator chain; returns the flop count and
 * writes a value derived from the accumulators so the compiler cannot drop the loop. */
double pcnn_bench_fma_peak_neon(int64_t iterations, float *sink) {
    float32x4_t a0 = vdupq_n_f32(1.0f), a1 = vdupq_n_f32(1.1f), a2 = vdupq_n_f32(1.2f);
    float32x4_t a3 = vdupq_n_f32(1.3f), a4 = vdupq_n_f32(1.4f), a5 = vdupq_n_f32(1.5f);
    float32x4_t a6 = vdupq_n_f32(1.6f), a7 = vdupq_n_f32(1.7f), a8 = vdupq_n_f32(1.8f);
    float32x4_t a9 = vdupq_n_f32(1.9f), a10 = vdupq_n_f32(2.0f), a11 = vdupq_n_f32(2.1f);
    const float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        a0 = vfmaq_f32(c, a0, m); a1 = vfmaq_f32(c, a1, m); a2 = vfmaq_f32(c, a2, m);
        a3 = vfmaq_f32(c, a3, m); a4 = vfmaq_f32(c, a4, m); a5 = vfmaq_f32(c, a5, m);
        a6 = vfmaq_f32(c, a6, m); a7 = vfmaq_f32(c, a7, m); a8 = vfmaq_f32(c, a8, m);
        a9 = vfmaq_f32(c, a9, m); a10 = vfmaq_f32(c, a10, m); a11 = vfmaq_f32(c, a11, m);
        __asm__ volatile("" : "+w"(a0), "+w"(a1), "+w"(a2), "+w"(a3), "+w"(a4), "+w"(a5));
    }
    float32x4_t s = vaddq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)),
                              vaddq_f32(vaddq_f32(a4, a5), vaddq_f32(a6, a7)));
    s = vaddq_f32(s, vaddq_f32(vaddq_f32(a8, a9), vaddq_f32(a10, a11)));
    *sink = vaddvq_f32(s);
    return (double)iterations * 12.0 * 4 * 2.0;
}
