/*
 * A/B of two builds of libpanamacnn in one process (dlopen, RTLD_LOCAL): max-pool forward or
 * backward, blocks of calls of one build then the other (order alternating), median per block;
 * prints both medians, the median ratio new/old, and MISMATCH when the diff_src differs.
 * On a shared machine this compares two kernels under the same load; separate runs do not.
 * Build: gcc -O2 -o maxpool_ab bench/tools/maxpool_ab.c -Inative/include -ldl
 * Run:   ./maxpool_ab OLD.so NEW.so N C H W K STRIDE PAD forward|backward THREADS ROUNDS
 *        (e.g. 8 64 112 112 3 2 1 backward 1 7 = pool_resnet; 1 8 112 112 ... = in cache);
 *        pass fwd_noidx: forward without indices (NULL), as Java MaxPool2d in eval()
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include "panamacnn/panamacnn.h"

typedef int32_t (*init_fn)(pcnn_maxpool2d_desc *);
typedef int32_t (*fwd_fn)(const pcnn_maxpool2d_desc *, const float *, float *, int32_t *);
typedef int32_t (*bwd_fn)(const pcnn_maxpool2d_desc *, const float *, const int32_t *, float *);
typedef int32_t (*thr_fn)(int32_t);
typedef struct { init_fn init; fwd_fn fwd; bwd_fn bwd; thr_fn thr; } lib;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmpd); return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]); }

static lib load(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); exit(1); }
    lib l = {dlsym(h, "pcnn_maxpool2d_desc_init"), dlsym(h, "pcnn_maxpool2d_fwd"), dlsym(h, "pcnn_maxpool2d_bwd"), dlsym(h, "pcnn_set_num_threads")};
    return l;
}

int main(int argc, char **argv) {
    /* ab OLD.so NEW.so n c h w k s p pass threads rounds */
    lib L[2] = {load(argv[1]), load(argv[2])};
    pcnn_maxpool2d_desc d; memset(&d, 0, sizeof d);
    d.n = atoi(argv[3]); d.c = atoi(argv[4]); d.ih = atoi(argv[5]); d.iw = atoi(argv[6]);
    d.kh = d.kw = atoi(argv[7]); d.stride_h = d.stride_w = atoi(argv[8]);
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = atoi(argv[9]);
    d.dilation_h = d.dilation_w = 1;
    const char *pass = argv[10]; int threads = atoi(argv[11]); int rounds = atoi(argv[12]);
    if (L[0].init(&d)) { fprintf(stderr, "bad desc\n"); return 1; }
    size_t ni = d.n * d.c * d.ih * d.iw, no = d.n * d.c * d.oh * d.ow;
    float *x = malloc(ni * 4), *y = malloc(no * 4), *dy = malloc(no * 4), *dx[2] = {malloc(ni * 4), malloc(ni * 4)};
    int32_t *idx = malloc(no * 4);
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    memset(dx[0], 0, ni * 4); memset(dx[1], 0, ni * 4); memset(y, 0, no * 4); memset(idx, 0, no * 4);
    L[0].thr(threads); L[1].thr(threads);
    L[0].fwd(&d, x, y, idx);
    int bwd = !strcmp(pass, "backward");
    int noidx = !strcmp(pass, "fwd_noidx");
    double *t[2] = {malloc(rounds * sizeof(double)), malloc(rounds * sizeof(double))}, *r = malloc(rounds * sizeof(double));
    double samples[2000];
    for (int k = 0; k < rounds + 1; k++) {
        double m[2];
        for (int j = 0; j < 2; j++) {
            int w = (k % 2) ? 1 - j : j;
            int ns = 0; double end = now() + 0.1;
            while (ns < 5 || (now() < end && ns < 2000)) {
                double t0 = now();
                int st = bwd ? L[w].bwd(&d, dy, idx, dx[w]) : L[w].fwd(&d, x, y, noidx ? NULL : idx);
                samples[ns++] = now() - t0;
                if (st) { fprintf(stderr, "status %d\n", st); return 1; }
            }
            m[w] = median(samples, ns) * 1e6;
        }
        if (k == 0) continue; /* warm-up round */
        t[0][k - 1] = m[0]; t[1][k - 1] = m[1]; r[k - 1] = m[1] / m[0];
    }
    if (bwd && memcmp(dx[0], dx[1], ni * 4)) printf("MISMATCH diff_src\n");
    printf("%s n=%d thr=%d: old %.1f us  new %.1f us  new/old %.3f (min old %.1f new %.1f)\n", pass, (int)d.n, threads,
           median(t[0], rounds), median(t[1], rounds), median(r, rounds), (qsort(t[0], rounds, 8, cmpd), t[0][0]), (qsort(t[1], rounds, 8, cmpd), t[1][0]));
    return 0;
}
