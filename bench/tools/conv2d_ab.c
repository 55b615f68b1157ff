/*
 * A/B of conv2d between two libpanamacnn builds in one process (dlopen, RTLD_LOCAL), after
 * maxpool_ab.c: blocks of CALLS calls of one build then the other (order alternating), per
 * block the median wall time, the CPU time per call summed over all the process's threads and
 * their run-queue wait (/proc/self/task/ * /schedstat): on a shared machine CPU time compares
 * two kernels when wall time cannot. Prints MISMATCH when the outputs differ, and which
 * algorithm / ISA served each build's last call.
 * Build: gcc -O2 -o conv2d_ab bench/tools/conv2d_ab.c -Inative/include -ldl
 * Run:   ./conv2d_ab OLD.so NEW.so fwd|bwdd|bww THREADS ROUNDS [CALLS]
 *        (paths with a slash; default shape: the dilated3x3 bench row, 4x256x33x33 -> 256,
 *        3x3, pad 2, dilation 2)
 * Env:   SHAPE="N C H W(unused: square) OC PAD DIL [K STRIDE]" (default 3x3, stride 1); NOBIAS=1
 *        passes diff_bias NULL to backward-weights; ISA=0|1|2 caps both builds
 *        (pcnn_set_max_isa); THR1=T runs the second build at T threads (give a copy of the
 *        same .so under another name to compare 1 and 2 threads of one build);
 *        CPUCLK=thread (1 thread: the caller runs every task) or CPUCLK=process (all threads)
 *        makes the per-call samples, and so the "wall" columns and the ratio, CPU time;
 *        ALIGN64=1 allocates the two outputs 64-byte aligned (malloc gives 16 for large blocks);
 *        CONSUME=1 (fwd) adds a read of the whole output to every timed call (build with -O3:
 *        a vectorised read, as a next layer would do it).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include "panamacnn/panamacnn.h"
typedef int32_t (*init_fn)(pcnn_conv2d_desc *);
typedef int32_t (*fwd_fn)(const pcnn_conv2d_desc *, const float *, const float *, const float *, float *);
typedef int32_t (*bwdd_fn)(const pcnn_conv2d_desc *, const float *, const float *, float *);
typedef int32_t (*bww_fn)(const pcnn_conv2d_desc *, const float *, const float *, float *, float *);
typedef int32_t (*thr_fn)(int32_t);
typedef struct { init_fn init; fwd_fn fwd; bwdd_fn bwdd; bww_fn bww; thr_fn thr; thr_fn isa; } lib;
static clockid_t clk = CLOCK_MONOTONIC; /* CPUCLK=thread|process: time calls in CPU time instead */
static double now(void) { struct timespec t; clock_gettime(clk, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
/* CONSUME=1 (fwd): each timed call also reads its whole output once, as the next layer
 * would, so that where the output was left (L2 / L3 / memory) is charged to the call */
static volatile float sink;
static float consume_sum(const float *p, size_t n) {
    float a[16] = {0};
    for (size_t i = 0; i + 16 <= n; i += 16) for (int k = 0; k < 16; k++) a[k] += p[i + k];
    float s = 0; for (int k = 0; k < 16; k++) s += a[k];
    return s;
}
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmpd); return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]); }
static void sched(double *run, double *wait) { /* seconds, summed over the process's threads */
    *run = *wait = 0; DIR *d = opendir("/proc/self/task"); struct dirent *e; char p[320];
    while ((e = readdir(d))) { if (e->d_name[0] == '.') continue; snprintf(p, sizeof p, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *f = fopen(p, "r"); if (!f) continue; unsigned long long a, b; if (fscanf(f, "%llu %llu", &a, &b) == 2) { *run += a * 1e-9; *wait += b * 1e-9; } fclose(f); }
    closedir(d);
}
static lib load(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); exit(1); }
    lib l = {dlsym(h, "pcnn_conv2d_desc_init"), dlsym(h, "pcnn_conv2d_fwd"), dlsym(h, "pcnn_conv2d_bwd_data"), dlsym(h, "pcnn_conv2d_bwd_weights"), dlsym(h, "pcnn_set_num_threads"), dlsym(h, "pcnn_set_max_isa")};
    return l;
}
int main(int argc, char **argv) {
    int nl = strcmp(argv[1], argv[2]) ? 2 : 1;
    int consume = getenv("CONSUME") != NULL;
    if (getenv("CPUCLK")) clk = !strcmp(getenv("CPUCLK"), "thread") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID;
    lib L[2] = {load(argv[1]), nl == 2 ? load(argv[2]) : load(argv[1])};
    const char *pass = argv[3]; int threads = atoi(argv[4]), rounds = atoi(argv[5]), calls = argc > 6 ? atoi(argv[6]) : 5;
    int dil = getenv("DIL") ? atoi(getenv("DIL")) : 2;
    pcnn_conv2d_desc d; memset(&d, 0, sizeof d);
    d.n = 4; d.c = 256; d.ih = d.iw = 33; d.oc = 256; d.kh = d.kw = 3; d.stride_h = d.stride_w = 1;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = dil; d.dilation_h = d.dilation_w = dil; d.groups = 1;
    if (getenv("SHAPE")) { long a[9] = {0, 0, 0, 0, 0, 0, 0, 3, 1}; sscanf(getenv("SHAPE"), "%ld %ld %ld %ld %ld %ld %ld %ld %ld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8]);
        d.n = a[0]; d.c = a[1]; d.ih = d.iw = a[2]; d.oc = a[4]; d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = a[5]; d.dilation_h = d.dilation_w = a[6]; (void)a[3];
        d.kh = d.kw = a[7]; d.stride_h = d.stride_w = a[8]; }
    if (L[0].init(&d)) { fprintf(stderr, "bad desc\n"); return 1; }
    size_t ni = d.n * d.c * d.ih * d.iw, no = d.n * d.oc * d.oh * d.ow, nw = d.oc * d.c * d.kh * d.kw;
    float *x = malloc(ni * 4), *w = malloc(nw * 4), *b = malloc(d.oc * 4), *dy = malloc(no * 4), *out[2];
    size_t nout = !strcmp(pass, "fwd") ? no : !strcmp(pass, "bwdd") ? ni : nw;
    if (getenv("ALIGN64")) { out[0] = aligned_alloc(64, (nout * 4 + 63) & ~(size_t)63); out[1] = aligned_alloc(64, (nout * 4 + 63) & ~(size_t)63); }
    else { out[0] = malloc(nout * 4); out[1] = malloc(nout * 4); }
    float *db[2] = {malloc(d.oc * 4), malloc(d.oc * 4)};
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.1f;
    for (int i = 0; i < d.oc; i++) b[i] = 0.01f * i;
    L[0].thr(threads); L[1].thr(getenv("THR1") ? atoi(getenv("THR1")) : threads); if (getenv("ISA")) { L[0].isa(atoi(getenv("ISA"))); L[1].isa(atoi(getenv("ISA"))); }
    double *t[2], *cpu[2], *wt[2], *r = malloc(rounds * 8);
    for (int j = 0; j < 2; j++) { t[j] = malloc(rounds * 8); cpu[j] = malloc(rounds * 8); wt[j] = malloc(rounds * 8); }
    double samples[1000];
    for (int k = 0; k < rounds + 1; k++) {
        for (int jj = 0; jj < nl; jj++) {
            int j = (k % 2) ? nl - 1 - jj : jj;
            double r0, w0, r1, w1; sched(&r0, &w0);
            for (int c = 0; c < calls; c++) {
                double t0 = now(); int st;
                if (!strcmp(pass, "fwd")) { st = L[j].fwd(&d, x, w, b, out[j]); if (consume) sink += consume_sum(out[j], no); }
                else if (!strcmp(pass, "bwdd")) st = L[j].bwdd(&d, dy, w, out[j]);
                else st = L[j].bww(&d, x, dy, out[j], getenv("NOBIAS") ? NULL : db[j]);
                samples[c] = now() - t0;
                if (st) { fprintf(stderr, "status %d\n", st); return 1; }
            }
            sched(&r1, &w1);
            if (k == 0) continue;
            t[j][k - 1] = median(samples, calls) * 1e6; cpu[j][k - 1] = (r1 - r0) / calls * 1e6; wt[j][k - 1] = (w1 - w0) / calls * 1e6;
        }
        if (k > 0) r[k - 1] = nl == 2 ? t[1][k - 1] / t[0][k - 1] : 1;
    }
    for (int j = 0; j < nl; j++) { void *h = dlopen(argv[1 + j], RTLD_NOW | RTLD_LOCAL); int32_t (*li)(void) = dlsym(h, "pcnn_last_isa"), (*la)(void) = dlsym(h, "pcnn_last_algorithm"); printf("lib%d served isa %d algo %d\n", j, li(), la()); }
    if (nl == 2 && memcmp(out[0], out[1], nout * 4)) printf("MISMATCH\n");
    if (nl == 2 && !strcmp(pass, "bww") && !getenv("NOBIAS") && memcmp(db[0], db[1], d.oc * 4)) printf("BIAS MISMATCH\n");
    for (int j = 0; j < nl; j++)
        printf("%s thr=%d lib%d: wall %.0f us (min %.0f)  cpu/call %.0f us  rq-wait/call %.0f us\n", pass, threads, j,
               median(t[j], rounds), (qsort(t[j], rounds, 8, cmpd), t[j][0]), median(cpu[j], rounds), median(wt[j], rounds));
    if (nl == 2) printf("new/old wall median ratio %.3f\n", median(r, rounds));
    return 0;
}
