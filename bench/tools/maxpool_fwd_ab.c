/*
 * A/B of two builds of libpanamacnn in one process (dlopen, RTLD_LOCAL): max-pool forward,
 * with indices (forward) or without (fwd_noidx). Blocks of calls of one build then the other,
 * the order alternating per round; per block the median call time, by the calling thread's
 * CPU time at 1 thread (CLOCK_THREAD_CPUTIME_ID: what a shared machine's other load does not
 * inflate) and by the monotonic clock at more threads. Prints both medians over the rounds,
 * the median per-round ratio new/old, and MISMATCH when the two builds' outputs (values or
 * indices) differ in any bit. (maxpool_ab.c, which the backward work also uses, times by the
 * monotonic clock and compares no forward outputs.)
 * Build: gcc -O2 -o maxpool_fwd_ab bench/tools/maxpool_fwd_ab.c -Inative/include -ldl
 * Run:   ./maxpool_fwd_ab OLD.so NEW.so N C H W K STRIDE PAD forward|fwd_noidx THREADS ROUNDS
 *        (8 64 112 112 3 2 1 = pool_resnet, 32 64 56 56 2 2 0 = pool_mid)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panamacnn/panamacnn.h"

typedef int32_t (*init_fn)(pcnn_maxpool2d_desc *);
typedef int32_t (*fwd_fn)(const pcnn_maxpool2d_desc *, const float *, float *, int32_t *);
typedef int32_t (*thr_fn)(int32_t);
typedef struct {
    init_fn init;
    fwd_fn fwd;
    thr_fn thr;
} lib;

static clockid_t g_clock = CLOCK_MONOTONIC;
static double now(void) {
    struct timespec t;
    clock_gettime(g_clock, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static int cmpd(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static lib load(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        exit(1);
    }
    lib l = {(init_fn)dlsym(h, "pcnn_maxpool2d_desc_init"), (fwd_fn)dlsym(h, "pcnn_maxpool2d_fwd"),
             (thr_fn)dlsym(h, "pcnn_set_num_threads")};
    return l;
}

int main(int argc, char **argv) {
    if (argc != 13) {
        fprintf(stderr, "usage: %s OLD.so NEW.so N C H W K STRIDE PAD forward|fwd_noidx THREADS ROUNDS\n", argv[0]);
        return 2;
    }
    lib L[2] = {load(argv[1]), load(argv[2])};
    pcnn_maxpool2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = atoi(argv[3]);
    d.c = atoi(argv[4]);
    d.ih = atoi(argv[5]);
    d.iw = atoi(argv[6]);
    d.kh = d.kw = atoi(argv[7]);
    d.stride_h = d.stride_w = atoi(argv[8]);
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = atoi(argv[9]);
    d.dilation_h = d.dilation_w = 1;
    const int noidx = !strcmp(argv[10], "fwd_noidx");
    const int threads = atoi(argv[11]), rounds = atoi(argv[12]);
    if (L[0].init(&d)) {
        fprintf(stderr, "bad desc\n");
        return 1;
    }
    if (threads == 1) g_clock = CLOCK_THREAD_CPUTIME_ID;
    const size_t ni = d.n * d.c * d.ih * d.iw, no = d.n * d.c * d.oh * d.ow;
    float *x = malloc(ni * 4), *y[2] = {malloc(no * 4), malloc(no * 4)};
    int32_t *idx[2] = {malloc(no * 4), malloc(no * 4)};
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int j = 0; j < 2; j++) {
        memset(y[j], 0, no * 4);
        memset(idx[j], 0, no * 4);
        L[j].thr(threads);
    }
    double *t[2] = {malloc(rounds * sizeof(double)), malloc(rounds * sizeof(double))};
    double *r = malloc(rounds * sizeof(double));
    static double samples[2000];
    for (int k = 0; k < rounds + 1; k++) {
        double m[2];
        for (int j = 0; j < 2; j++) {
            const int w = (k % 2) ? 1 - j : j;
            int ns = 0;
            const double end = now() + 0.1;
            while (ns < 5 || (now() < end && ns < 2000)) {
                const double t0 = now();
                const int st = L[w].fwd(&d, x, y[w], noidx ? NULL : idx[w]);
                samples[ns++] = now() - t0;
                if (st) {
                    fprintf(stderr, "status %d\n", st);
                    return 1;
                }
            }
            m[w] = median(samples, ns) * 1e6;
        }
        if (k == 0) continue; /* warm-up round */
        t[0][k - 1] = m[0];
        t[1][k - 1] = m[1];
        r[k - 1] = m[1] / m[0];
    }
    if (memcmp(y[0], y[1], no * 4) || (!noidx && memcmp(idx[0], idx[1], no * 4))) {
        printf("MISMATCH forward outputs\n");
    }
    printf("%s n=%d c=%d %dx%d thr=%d: old %.1f us  new %.1f us  new/old %.3f\n", argv[10],
           (int)d.n, (int)d.c, (int)d.ih, (int)d.iw, threads, median(t[0], rounds),
           median(t[1], rounds), median(r, rounds));
    return 0;
}
