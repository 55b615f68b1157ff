/* Same-process A/B of two or more builds of libpanamacnn on one convolution shape: dlopen each
 * (RTLD_LOCAL: separate copies, separate pools), then time their calls interleaved (the order
 * rotates every iteration), so that load on a shared machine hits all builds alike. Prints the
 * median time per build and the median of the per-iteration ratios to the first build.
 *   pcnn-ab ITERS THREADS N C H W OC K STRIDE PAD LIB1.so LIB2.so [...]
 * e.g. resnet_s2 at N=1: pcnn-ab 151 1 1 128 28 28 256 3 2 1 old/libpanamacnn.so new/libpanamacnn.so
 * Not a benchmark of record (that is pcnn-bench); a tool to decide whether a change costs speed. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "panamacnn/panamacnn.h"

typedef struct {
    const char *name;
    int32_t (*desc_init)(pcnn_conv2d_desc *);
    int32_t (*fwd)(const pcnn_conv2d_desc *, const float *, const float *, const float *, float *);
    int32_t (*bwd_data)(const pcnn_conv2d_desc *, const float *, const float *, float *);
    int32_t (*bwd_weights)(const pcnn_conv2d_desc *, const float *, const float *, float *, float *);
    int32_t (*set_threads)(int32_t);
} lib_t;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmpd); return n % 2 ? v[n/2] : 0.5 * (v[n/2-1] + v[n/2]); }

int main(int argc, char **argv) {
    /* usage: abbench iters threads n c h w oc k s p  lib1 lib2 ... */
    if (argc < 12) { fprintf(stderr, "usage: pcnn-ab ITERS THREADS N C H W OC K STRIDE PAD LIB.so LIB.so...\n"); return 2; }
    int iters = atoi(argv[1]), threads = atoi(argv[2]);
    if (iters < 1 || iters > 4096) { fprintf(stderr, "ITERS must be in [1, 4096]\n"); return 2; }
    pcnn_conv2d_desc d; memset(&d, 0, sizeof d);
    d.n = atoi(argv[3]); d.c = atoi(argv[4]); d.ih = atoi(argv[5]); d.iw = atoi(argv[6]); d.oc = atoi(argv[7]);
    d.kh = d.kw = atoi(argv[8]); d.stride_h = d.stride_w = atoi(argv[9]);
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = atoi(argv[10]);
    d.dilation_h = d.dilation_w = 1; d.groups = 1;
    int nl = argc - 11; lib_t L[8];
    if (nl > 8) { fprintf(stderr, "at most 8 libraries\n"); return 2; }
    for (int i = 0; i < nl; ++i) {
        void *h = dlopen(argv[11 + i], RTLD_NOW | RTLD_LOCAL);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 2; }
        L[i].name = argv[11 + i];
        L[i].desc_init = dlsym(h, "pcnn_conv2d_desc_init"); L[i].fwd = dlsym(h, "pcnn_conv2d_fwd");
        L[i].bwd_data = dlsym(h, "pcnn_conv2d_bwd_data"); L[i].bwd_weights = dlsym(h, "pcnn_conv2d_bwd_weights");
        L[i].set_threads = dlsym(h, "pcnn_set_num_threads");
        L[i].set_threads(threads);
    }
    if (L[0].desc_init(&d) != 0) { fprintf(stderr, "bad desc\n"); return 2; }
    size_t ns = d.n * d.c * d.ih * d.iw, nd = d.n * d.oc * d.oh * d.ow, nw = d.oc * d.c * d.kh * d.kw;
    float *src = malloc(ns * 4), *w = malloc(nw * 4), *b = malloc(d.oc * 4), *dst = malloc(nd * 4), *dd = malloc(nd * 4), *ds = malloc(ns * 4), *dw = malloc(nw * 4), *db = malloc(d.oc * 4);
    srand(1);
    for (size_t i = 0; i < ns; ++i) src[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; ++i) w[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nd; ++i) dd[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < d.oc; ++i) b[i] = 0.1f;
    const char *pass[3] = {"forward", "bwd_data", "bwd_weights"};
    for (int p = 0; p < 3; ++p) {
        double *t = malloc(sizeof(double) * nl * iters), *r = malloc(sizeof(double) * nl * iters);
        for (int it = -2; it < iters; ++it) {
            for (int k = 0; k < nl; ++k) {
                int i = (it + k) % nl; if (i < 0) i += nl; /* rotate the order */
                double t0 = now(); int st;
                if (p == 0) st = L[i].fwd(&d, src, w, b, dst);
                else if (p == 1) st = L[i].bwd_data(&d, dd, w, ds);
                else st = L[i].bwd_weights(&d, src, dd, dw, db);
                double el = now() - t0;
                if (st != 0) { fprintf(stderr, "status %d\n", st); return 1; }
                if (it >= 0) t[i * iters + it] = el;
            }
        }
        for (int i = 1; i < nl; ++i) for (int it = 0; it < iters; ++it) r[i * iters + it] = t[i * iters + it] / t[it];
        printf("%-12s thr %d:", pass[p], threads);
        for (int i = 0; i < nl; ++i) {
            double tt[4096]; memcpy(tt, t + i * iters, sizeof(double) * iters);
            printf("  lib%d %8.0f us", i, median(tt, iters) * 1e6);
            if (i > 0) printf(" (ratio %.3f)", median(r + i * iters, iters));
        }
        printf("\n");
        free(t); free(r);
    }
    return 0;
}
