/* Microbenchmark of the AVX-512 backward-weights register tile of the stride-1 path
 * (cw_run_wide: 4 output channels x 6 taps, 24 zmm accumulators) on one task's operands
 * as the path lays them out (12 packed planes of row width wp, 64 repacked dY rows, 96 taps,
 * loop order row block -> tile), without packing, dY repack or memory misses: how fast the
 * tile itself runs, and what its loads cost. Thread CPU time, median of 9 rounds (variant
 * order rotated per round), against
 * an FMA peak (12 independent chains) measured in the same process.
 * Build: gcc -O2 -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma -o conv2d_bww_tile_mb bench/tools/conv2d_bww_tile_mb.c
 * Run:   ./conv2d_bww_tile_mb [wp len]   (default resnet3x3's 58 1622; mid: 34 1086)
 * Variants (one line each):
 *   unaligned   the path's tile: col row of tap (ci, ky, kx) at plane + ky * wp + kx (most
 *               of its 6 col loads per step split a cache line)
 *   aligned     the same loads made 64-byte aligned (wrong sums; the bound for any scheme
 *               that avoids split col loads)
 *   masked      kx 0 / 2 loads zero-masked by a per-step mask table (what reading src in
 *               place with masked row edges costs)
 *   dy+4        dY rows 4 floats off alignment (dY read in place from a 16-byte-aligned
 *               buffer)
 *   valignd s   2 channel rows x kx 0..2 from two aligned loads per row and valignd by s,
 *               s+1, s+2 (the per-ISA "shifted vectors from aligned loads" idea)
 * Measured 2026-12-05 (Zen 5 VM, peak ~215-223 GFLOP/s): unaligned 201-209, aligned 208-217,
 * masked 201-202 (~3 % below unaligned), dy+4 184 (~8 % below), valignd 10: 140-174,
 * valignd 0: 171-181: the shuffles cost more than the split loads they replace. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

typedef __m512 vf;
enum { UNALIGNED, ALIGNED, MASKED, DY_OFF, VALIGN10, VALIGN0, NVAR };
static const char *const NAMES[NVAR] = {"unaligned", "aligned", "masked", "dy+4", "valignd 10",
                                        "valignd 0"};
static __mmask16 g_masks[256]; /* per-step masks (all lanes on: the cost, not the values) */

/* acc[r][t] += sum_p dy[r][p] * col[t][p]; masked: kx 0 and 2 loads take g_masks[step] */
#define TILE_BODY(LOADC)                                                                    \
    vf a[4][6];                                                                             \
    _Pragma("GCC unroll 8") for (int r = 0; r < 4; ++r) _Pragma("GCC unroll 8") for (int t = 0; \
                                                                                 t < 6; ++t) \
        a[r][t] = _mm512_loadu_ps(acc + (r * 6 + t) * 16);                                  \
    for (int64_t p = 0; p + 16 <= len; p += 16) {                                           \
        vf c[6];                                                                            \
        LOADC;                                                                              \
        _Pragma("GCC unroll 8") for (int r = 0; r < 4; ++r) {                               \
            const vf g = _mm512_loadu_ps(dy[r] + p);                                        \
            _Pragma("GCC unroll 8") for (int t = 0; t < 6; ++t) a[r][t] =                   \
                _mm512_fmadd_ps(g, c[t], a[r][t]);                                          \
        }                                                                                   \
    }                                                                                       \
    _Pragma("GCC unroll 8") for (int r = 0; r < 4; ++r) _Pragma("GCC unroll 8") for (int t = 0; \
                                                                                 t < 6; ++t) \
        _mm512_storeu_ps(acc + (r * 6 + t) * 16, a[r][t]);

__attribute__((noinline)) static void tile_plain(float *acc, const float *const *dy,
                                                 const float *const *col, int64_t len) {
    TILE_BODY(_Pragma("GCC unroll 8") for (int t = 0; t < 6; ++t) c[t] =
                  _mm512_loadu_ps(col[t] + p))
}
__attribute__((noinline)) static void tile_masked(float *acc, const float *const *dy,
                                                  const float *const *col, int64_t len) {
    TILE_BODY(const __mmask16 k0 = g_masks[p / 16]; const __mmask16 k2 = g_masks[p / 16 + 1];
              _Pragma("GCC unroll 8") for (int t = 0; t < 6; ++t) c[t] =
                  t % 3 == 1 ? _mm512_loadu_ps(col[t] + p)
                             : _mm512_maskz_loadu_ps(t % 3 ? k2 : k0, col[t] + p))
}
#define SHIFT(hi, lo, k)                                                                    \
    _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(hi), _mm512_castps_si512(lo), \
                                            (k)))
#define ROW3(base, o, S)                                                                    \
    {                                                                                       \
        const vf v0 = _mm512_load_ps((base) + p), v1 = _mm512_load_ps((base) + p + 16);     \
        c[o] = (S) == 0 ? v0 : SHIFT(v1, v0, (S) & 15);                                     \
        c[o + 1] = SHIFT(v1, v0, ((S) + 1) & 15);                                           \
        c[o + 2] = SHIFT(v1, v0, ((S) + 2) & 15);                                           \
    }
#define VTILE(S)                                                                            \
    __attribute__((noinline)) static void tile_valign##S(float *acc, const float *const *dy, \
                                                         const float *const *col,           \
                                                         int64_t len) {                     \
        TILE_BODY(ROW3(col[0], 0, S) ROW3(col[1], 3, S))                                    \
    }
VTILE(10)
VTILE(0)

__attribute__((noinline)) static double peak(void) { /* GFLOP/s of this thread */
    const vf x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    vf a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x, a11 = y;
    const long iters = 2000000;
    const double t0 = timing_thread_cpu();
    for (long k = 0; k < iters; ++k) {
#define F(r) r = _mm512_fmadd_ps(r, x, y);
        F(a0) F(a1) F(a2) F(a3) F(a4) F(a5) F(a6) F(a7) F(a8) F(a9) F(a10) F(a11)
#undef F
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
        __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
    const double t = timing_thread_cpu() - t0;
    vf s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                         _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    if (_mm512_reduce_add_ps(s) == 12345.f) printf("!");
    return iters * 12.0 * 32 / t * 1e-9;
}

int main(int argc, char **argv) {
    const int64_t wp = argc > 2 ? atol(argv[1]) : 58, len = (argc > 2 ? atol(argv[2]) : 1622) / 16 * 16;
    const int64_t nci = 12, no = 64, nt = 96, rounds = 9;
    const int64_t pitch = (30 * wp + 15) / 16 * 16 + 16, dpitch = len + 32;
    float *planes = aligned_alloc(64, (size_t)(nci * pitch + 1024) * 4);
    float *dyk = aligned_alloc(64, (size_t)(no * dpitch + 64) * 4);
    float *acc = aligned_alloc(64, (size_t)(no * nt * 16) * 4);
    for (int64_t i = 0; i < nci * pitch + 1024; ++i) planes[i] = 1e-3f * (float)(i % 7);
    for (int64_t i = 0; i < no * dpitch + 64; ++i) dyk[i] = 1e-3f * (float)(i % 5);
    for (int i = 0; i < 256; ++i) g_masks[i] = 0xffff;
    memset(acc, 0, (size_t)(no * nt * 16) * 4);
    double *samples = malloc(sizeof(double) * (size_t)(rounds * NVAR)), pk[9];
    for (int k = 0; k < rounds; ++k) {
        for (int vv = 0; vv < NVAR; ++vv) {
            const int v = (vv + k) % NVAR; /* rotated: no variant always runs first */
            const float *colp[96];
            for (int j = 0; j < nt; ++j) {
                const int64_t ci = j / 9, ky = (j % 9) / 3, kx = j % 3;
                const int64_t off = v == ALIGNED ? ky * wp / 16 * 16 : ky * wp + kx;
                colp[j] = planes + ci * pitch + off;
            }
            const double t0 = timing_thread_cpu();
            for (int64_t r0 = 0; r0 < no; r0 += 4) {
                const float *dyp[4];
                for (int r = 0; r < 4; ++r) dyp[r] = dyk + (r0 + r) * dpitch + (v == DY_OFF ? 4 : 0);
                for (int64_t tt = 0; tt < nt; tt += 6) {
                    float *a = acc + (r0 * nt + tt * 4) * 16;
                    /* valignd: channel rows at aligned plane starts (the shift is the variant's) */
                    const float *rows[2] = {planes + (tt / 6) % nci * pitch,
                                            planes + (tt / 6 + 1) % nci * pitch};
                    if (v == MASKED) tile_masked(a, dyp, colp + tt, len);
                    else if (v == VALIGN10) tile_valign10(a, dyp, rows, len);
                    else if (v == VALIGN0) tile_valign0(a, dyp, rows, len);
                    else tile_plain(a, dyp, colp + tt, len);
                }
            }
            samples[v * rounds + k] = timing_thread_cpu() - t0;
        }
        pk[k] = peak();
    }
    const double flops = 2.0 * no * nt * len, P = timing_median(pk, rounds);
    printf("wp %ld len %ld, peak %.1f GFLOP/s (acc %g)\n", (long)wp, (long)len, P, acc[5]);
    for (int v = 0; v < NVAR; ++v) {
        const double t = timing_median(samples + v * rounds, rounds);
        printf("  %-11s %7.1f us %6.1f GFLOP/s %5.1f %% of peak\n", NAMES[v], t * 1e6,
               flops / t * 1e-9, 100 * flops / t * 1e-9 / P);
    }
    return 0;
}
