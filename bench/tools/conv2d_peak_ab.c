/* A/B of conv2d between two libpanamacnn builds in one process (dlopen), after conv2d_ab.c,
 * reporting the fraction of the FMA peak: per call the CPU time of the calling thread
 * (CLOCK_THREAD_CPUTIME_ID; with THREADS > 1 the CPU time of all threads,
 * CLOCK_PROCESS_CPUTIME_ID, which counts the pool's spinning: set PANAMACNN_SPIN_US=0), medians over ROUNDS blocks of
 * CALLS calls, the order of the builds alternating; an AVX-512 FMA peak of this thread
 * (12 independent FMA chains) is measured between blocks with the same clock, so GFLOP/s and
 * % of peak come from one process at one moment. GFLOP/s are per CPU second (with THREADS > 1
 * the CPU time of all threads), so % of peak is against one thread's peak at any THREADS. Prints MISMATCH when the outputs differ.
 * Build: gcc -O2 -o conv2d_peak_ab bench/tools/conv2d_peak_ab.c -Inative/include -ldl
 * Run:   ./conv2d_peak_ab OLD.so NEW.so fwd|bwdd|bww THREADS ROUNDS [CALLS]
 *        (paths with a slash; run both orders: the first build measures slightly differently)
 * Env:   SHAPE="N C H W OC PAD K STRIDE [GROUPS]" (default pw1x1: 8 256 14 14 256 0 1 1)
 *        PANAMACNN_MAX_ISA=avx2 (read by both libraries): AVX2 kernels, % of the AVX2 (ymm) peak
 *        ALGO=id: both builds' pcnn_set_conv2d_algorithm(id) first (PCNN_ALGO_*, 1 = direct;
 *        thread-local: the calls run on this thread)
 *        ALIGN_AB=1: every buffer twice, the OLD side's 16 bytes past a 64-byte line (where glibc's
 *        malloc puts a large block), the NEW side's on a line (as Java's Tensor.allocate does);
 *        pass the same .so twice to measure what alignment alone is worth
 *        AB_OFF=bytes: both sides' buffers that many bytes past a 4 KiB page (without it: glibc's
 *        malloc, 16 bytes past a page for large blocks), the outputs AB_OFF_OUT bytes (default
 *        AB_OFF): shows 4 KiB aliasing between the input's loads and the output's stores */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "panamacnn/panamacnn.h"
#include "conv2d_lib.h"
#include "timing.h"
__attribute__((noinline, target("avx512f"))) static double peak(void) { /* GFLOP/s, this thread */
    const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    __m512 a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x, a11 = y;
    const long iters = 2000000; double t0 = timing_thread_cpu();
    for (long k = 0; k < iters; k++) {
#define F(r) r = _mm512_fmadd_ps(r, x, y);
        F(a0) F(a1) F(a2) F(a3) F(a4) F(a5) F(a6) F(a7) F(a8) F(a9) F(a10) F(a11)
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
        __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
    double t = timing_thread_cpu() - t0;
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    if (_mm512_reduce_add_ps(s) == 12345.f) printf("!");
    return iters * 12.0 * 32 / t * 1e-9;
}
/* the same with ymm registers: the AVX2 peak, used when PANAMACNN_MAX_ISA=avx2 caps both
 * builds (the environment the libraries read at load) */
__attribute__((noinline, target("avx2,fma"))) static double peak_avx2(void) {
    const __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    __m256 a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x, a11 = y;
    const long iters = 2000000; double t0 = timing_thread_cpu();
    for (long k = 0; k < iters; k++) {
#define G(r) r = _mm256_fmadd_ps(r, x, y);
        G(a0) G(a1) G(a2) G(a3) G(a4) G(a5) G(a6) G(a7) G(a8) G(a9) G(a10) G(a11)
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
        __asm__ volatile("" : "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    double t = timing_thread_cpu() - t0;
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)), _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float f[8]; _mm256_storeu_ps(f, s);
    if (f[0] == 12345.f) printf("!");
    return iters * 12.0 * 16 / t * 1e-9;
}
int main(int argc, char **argv) {
    const char *cap = getenv("PANAMACNN_MAX_ISA");
    const int avx2_peak = cap && (!strcmp(cap, "avx2") || !strcmp(cap, "1"));
    conv2d_lib L[2] = {conv2d_lib_load(argv[1]), conv2d_lib_load(argv[2])};
    const char *pass = argv[3]; int threads = atoi(argv[4]), rounds = atoi(argv[5]), calls = argc > 6 ? atoi(argv[6]) : 3;
    long a[9] = {8, 256, 14, 14, 256, 0, 1, 1, 1};
    if (getenv("SHAPE")) sscanf(getenv("SHAPE"), "%ld %ld %ld %ld %ld %ld %ld %ld %ld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8]);
    pcnn_conv2d_desc d; memset(&d, 0, sizeof d);
    d.n = a[0]; d.c = a[1]; d.ih = a[2]; d.iw = a[3]; d.oc = a[4];
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = a[5]; d.kh = d.kw = a[6]; d.stride_h = d.stride_w = a[7];
    d.dilation_h = d.dilation_w = 1; d.groups = a[8];
    if (L[0].init(&d)) { fprintf(stderr, "bad desc\n"); return 1; }
    size_t ni = d.n * d.c * d.ih * d.iw, no = d.n * d.oc * d.oh * d.ow, nw = d.oc * (d.c / d.groups) * d.kh * d.kw;
    double flops = 2.0 * d.n * d.oc * d.oh * d.ow * (d.c / d.groups) * d.kh * d.kw;
    const int align_ab = getenv("ALIGN_AB") != NULL;
    size_t nout = !strcmp(pass, "fwd") ? no : !strcmp(pass, "bwdd") ? ni : nw;
    float *xs[2], *ws[2], *bs[2], *dys[2], *out[2], *db[2];
    for (int j = 0; j < 2; j++) {
        if (!align_ab && getenv("AB_OFF") != NULL) { /* both sides' buffers at one offset */
            size_t off = (size_t)atoi(getenv("AB_OFF")); /* bytes past a 4 KiB page */
            const size_t off_out = getenv("AB_OFF_OUT") ? (size_t)atoi(getenv("AB_OFF_OUT")) : off;
#define ALLOC_AT(n) (float *)((char *)aligned_alloc(4096, ((n) * 4 + 8192 + 4095) / 4096 * 4096) + off)
            xs[j] = j ? xs[0] : ALLOC_AT(ni); ws[j] = j ? ws[0] : ALLOC_AT(nw);
            bs[j] = j ? bs[0] : ALLOC_AT(d.oc); dys[j] = j ? dys[0] : ALLOC_AT(no);
            db[j] = ALLOC_AT(d.oc);
            off = off_out;
            out[j] = ALLOC_AT(nout);
#undef ALLOC_AT
        } else if (!align_ab) {
            xs[j] = j ? xs[0] : malloc(ni * 4); ws[j] = j ? ws[0] : malloc(nw * 4);
            bs[j] = j ? bs[0] : malloc(d.oc * 4); dys[j] = j ? dys[0] : malloc(no * 4);
            out[j] = malloc(nout * 4); db[j] = malloc(d.oc * 4);
        } else {
            const size_t off = j ? 0 : 16; /* bytes past a 64-byte line */
#define ALLOC_AT(n) (float *)((char *)aligned_alloc(64, ((n) * 4 + 64 + 63) / 64 * 64) + off)
            xs[j] = ALLOC_AT(ni); ws[j] = ALLOC_AT(nw); bs[j] = ALLOC_AT(d.oc); dys[j] = ALLOC_AT(no);
            out[j] = ALLOC_AT(nout); db[j] = ALLOC_AT(d.oc);
#undef ALLOC_AT
        }
    }
    float *x = xs[0], *w = ws[0], *b = bs[0], *dy = dys[0];
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.1f;
    for (int i = 0; i < d.oc; i++) b[i] = 0.01f * i;
    if (align_ab) {
        memcpy(xs[1], x, ni * 4); memcpy(ws[1], w, nw * 4); memcpy(bs[1], b, d.oc * 4); memcpy(dys[1], dy, no * 4);
    }
    L[0].thr(threads); L[1].thr(threads);
    if (getenv("ALGO")) {
        for (int j = 0; j < 2; j++) {
            if (!L[j].algo || L[j].algo(atoi(getenv("ALGO")))) { fprintf(stderr, "%s: ALGO=%s not accepted\n", argv[1 + j], getenv("ALGO")); return 1; }
        }
    }
    double *cpu[2] = {malloc(rounds * calls * 8), malloc(rounds * calls * 8)}, *pk = malloc(rounds * 8), *rr = malloc(rounds * 8);
    for (int k = 0; k < rounds + 1; k++) {
        double blk[2] = {0, 0};
        for (int jj = 0; jj < 2; jj++) {
            int j = (k % 2) ? 1 - jj : jj;
            for (int c = 0; c < calls; c++) {
                double t0 = threads == 1 ? timing_thread_cpu() : timing_process_cpu(); int st;
                if (!strcmp(pass, "fwd")) st = L[j].fwd(&d, xs[j], ws[j], bs[j], out[j]);
                else if (!strcmp(pass, "bwdd")) st = L[j].bwdd(&d, dys[j], ws[j], out[j]);
                else st = L[j].bww(&d, xs[j], dys[j], out[j], db[j]);
                double t = (threads == 1 ? timing_thread_cpu() : timing_process_cpu()) - t0;
                if (st) { fprintf(stderr, "status %d\n", st); return 1; }
                if (k > 0) { cpu[j][(k - 1) * calls + c] = t * 1e6; blk[j] += t; }
            }
        }
        if (k > 0) { pk[k - 1] = avx2_peak ? peak_avx2() : peak(); rr[k - 1] = blk[1] / blk[0]; }
    }
    if (memcmp(out[0], out[1], nout * 4)) printf("MISMATCH\n");
    if (!strcmp(pass, "bww") && memcmp(db[0], db[1], d.oc * 4)) printf("BIAS MISMATCH\n");
    double P = timing_median(pk, rounds), t0 = timing_median(cpu[0], rounds * calls), t1 = timing_median(cpu[1], rounds * calls);
    printf("%s thr=%d %speak %.1f GFLOP/s | old %.0f us %.1f GF/s %.1f%% | new %.0f us %.1f GF/s %.1f%% | new/old %.3f (block ratio median %.3f)\n",
           pass, threads, avx2_peak ? "AVX2 " : "", P, t0, flops / t0 * 1e-3, 100 * flops / t0 * 1e-3 / P, t1, flops / t1 * 1e-3,
           100 * flops / t1 * 1e-3 / P, t1 / t0, timing_median(rr, rounds));
    return 0;
}
