/*
 * The depthwise backward-weights of one libpanamacnn build against a plain read of the same src
 * and diff_dst bytes, in one process, interleaved: the read bound of a memory-fed pass measured
 * under the same load. Three timed blocks per round, the order rotating: the bww call; a
 * streaming read of src then diff_dst (two sequential passes); a read in the kernel's order (per
 * (image, channel) plane its src plane then its diff_dst plane, each prefetched one plane ahead,
 * as the wsum2 engine does). Each read only sums 64-byte vectors into four sums (no other work);
 * both buffers are 64-byte aligned (a read whose every load crosses a line measured 1.3-1.6x slower). Calling
 * thread's CPU time at 1 thread, medians of ROUNDS blocks of CALLS calls, and the per-round
 * ratios bww / read.
 * Build: gcc -O2 -o dw_bww_stream bench/tools/dw_bww_stream.c -Inative/include -ldl
 * Run:   ./dw_bww_stream LIB.so [ROUNDS [CALLS]]   (a path with a slash; default 41 x 7)
 * Env:   SHAPE="N C H W K STRIDE PAD" (default the dw3x3_s2 bench row: 8 256 28 28 3 2 1)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panamacnn/panamacnn.h"
#include "conv2d_lib.h"
#include "timing.h"

static volatile float sink;

/* sum of n floats from a (whole vectors only) into s[0..3], prefetching pf bytes ahead; four
 * independent sums, so the add latency (3-4 cycles per 64 bytes on one chain) does not bound it */
__attribute__((target("avx512f"))) static inline void read_run(const float *a, size_t n, size_t pf, __m512 *s) {
    __m512 s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3]; /* in registers, not through s[] */
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const char *p = (const char *)(a + i) + pf;
        _mm_prefetch(p, _MM_HINT_T0), _mm_prefetch(p + 64, _MM_HINT_T0);
        _mm_prefetch(p + 128, _MM_HINT_T0), _mm_prefetch(p + 192, _MM_HINT_T0);
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i)), s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32)), s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
    }
    for (; i + 16 <= n; i += 16) {
        _mm_prefetch((const char *)(a + i) + pf, _MM_HINT_T0);
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
}

/* planes > 0: per plane ip floats of src, then op of diff_dst, each prefetched one plane ahead;
 * planes == 0: all of src, then all of diff_dst, prefetched 1 KiB ahead */
__attribute__((noinline, target("avx512f"))) static float read_all(const float *x, const float *dy, size_t planes,
                                                                   size_t ip, size_t op, size_t ni, size_t no) {
    __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    if (planes == 0) {
        read_run(x, ni, 1024, s);
        read_run(dy, no, 1024, s);
    } else {
        for (size_t p = 0; p < planes; p++) {
            read_run(x + p * ip, ip, ip * 4, s);
            read_run(dy + p * op, op, op * 4, s);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), _mm512_add_ps(s[2], s[3])));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIB.so [ROUNDS [CALLS]] (see the header comment)\n", argv[0]);
        return 2;
    }
    conv2d_lib L = conv2d_lib_load(argv[1]);
    const int rounds = argc > 2 ? atoi(argv[2]) : 41, calls = argc > 3 ? atoi(argv[3]) : 7;
    if (rounds < 1 || rounds > 1000 || calls < 1 || calls > 1000) {
        fprintf(stderr, "1 <= ROUNDS, CALLS <= 1000\n");
        return 2;
    }
    long a[7] = {8, 256, 28, 28, 3, 2, 1};
    if (getenv("SHAPE")) {
        sscanf(getenv("SHAPE"), "%ld %ld %ld %ld %ld %ld %ld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]);
    }
    pcnn_conv2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = a[0], d.c = d.oc = d.groups = a[1], d.ih = a[2], d.iw = a[3], d.kh = d.kw = a[4];
    d.stride_h = d.stride_w = a[5], d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = a[6];
    d.dilation_h = d.dilation_w = 1;
    if (L.init(&d)) {
        fprintf(stderr, "bad desc\n");
        return 1;
    }
    const size_t ip = d.ih * d.iw, op = d.oh * d.ow, planes = d.n * d.c, ni = planes * ip, no = planes * op;
    float *x = aligned_alloc(64, (ni * 4 + 63) & ~(size_t)63), *dy = aligned_alloc(64, (no * 4 + 63) & ~(size_t)63), *w = malloc(d.c * d.kh * d.kw * 4), *b = malloc(d.c * 4);
    double *t[3], *r1 = malloc(rounds * 8), *r2 = malloc(rounds * 8), tmp[1000];
    for (int j = 0; j < 3; j++) t[j] = malloc(rounds * 8);
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    L.thr(1);
    for (int k = 0; k <= rounds; k++) { /* round 0: warm-up */
        for (int v = 0; v < 3; v++) {
            const int j = (v + k) % 3;
            for (int c = 0; c < calls; c++) {
                const double t0 = timing_thread_cpu();
                if (j == 0) {
                    if (L.bww(&d, x, dy, w, b)) {
                        fprintf(stderr, "bww failed\n");
                        return 1;
                    }
                } else {
                    sink += read_all(x, dy, j == 1 ? 0 : planes, ip, op, ni, no);
                }
                tmp[c] = (timing_thread_cpu() - t0) * 1e6;
            }
            if (k > 0) t[j][k - 1] = timing_median(tmp, calls);
        }
        if (k > 0) r1[k - 1] = t[0][k - 1] / t[1][k - 1], r2[k - 1] = t[0][k - 1] / t[2][k - 1];
    }
    printf("%ld x %ld x %ldx%ld k%ld s%ld p%ld, %.1f MB read\n", a[0], a[1], a[2], a[3], a[4], a[5], a[6],
           (ni + no) * 4 / 1e6);
    printf("bww %.1f us; read, two passes %.1f us; read, kernel order %.1f us\n", timing_median(t[0], rounds),
           timing_median(t[1], rounds), timing_median(t[2], rounds));
    printf("bww / read: two passes %.3f, kernel order %.3f (per-round medians)\n", timing_median(r1, rounds),
           timing_median(r2, rounds));
    return 0;
}
