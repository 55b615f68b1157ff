/*
 * A/B of conv2d between two libpanamacnn builds in one process (dlopen, RTLD_LOCAL), after
 * maxpool_ab.c: blocks of CALLS calls of one build then the other (order alternating; round 0
 * is a warm-up). Per block it records the median wall time per call, the calling thread's CPU
 * time per call (median; exact at 1 thread, where the caller runs every task), the process's
 * CPU time per call (all threads: pool workers and any spinning included) and the run-queue
 * wait (/proc/self/task/ * /schedstat). On a shared machine CPU time compares two kernels when
 * wall time cannot. Prints MISMATCH when the outputs differ, and which algorithm / ISA served
 * each build's last call.
 * Build: gcc -O2 -o conv2d_ab bench/tools/conv2d_ab.c -Inative/include -ldl
 *        (-O3 with CONSUME=1: a vectorised read, as a next layer would do it)
 * Run:   ./conv2d_ab OLD.so NEW.so fwd|bwdd|bww THREADS ROUNDS [CALLS]
 *        (paths with a slash; the same path twice runs one build; default shape: the dilated3x3
 *        bench row, 4x256x33x33 -> 256, 3x3, pad 2, dilation 2)
 * Env:   SHAPE="N C H W(unused: square) OC PAD DIL [K STRIDE]" (default 3x3, stride 1);
 *        GRP=G sets groups (not GROUPS: bash reserves that name), e.g. the dw3x3_s2 row:
 *        GRP=256 SHAPE="8 256 28 28 256 1 1 3 2"; NOBIAS=1 passes diff_bias NULL to
 *        backward-weights; ISA=0|1|2 caps both builds (pcnn_set_max_isa); THR1=T runs the second
 *        build at T threads (give a copy of the same .so under another name to compare 1 and 2
 *        threads of one build); CPUCLK=thread|process makes the "wall" samples (and so their
 *        ratio) CPU time instead; ALIGN64=1 allocates the two outputs 64-byte aligned (malloc
 *        gives 16 for large blocks); CONSUME=1 (fwd) adds a read of the whole output to every
 *        timed call, so where the output was left (L2 / L3 / memory) is charged to the call.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panamacnn/panamacnn.h"
#include "conv2d_lib.h"
#include "timing.h"

static double (*g_clock)(void) = timing_now; /* CPUCLK switches it */

static volatile float sink;
static float consume_sum(const float *p, size_t n) {
    float a[16] = {0};
    for (size_t i = 0; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) a[k] += p[i + k];
    float s = 0;
    for (int k = 0; k < 16; k++) s += a[k];
    return s;
}

static float *alloc_out(size_t n) {
    if (getenv("ALIGN64")) return aligned_alloc(64, (n * 4 + 63) & ~(size_t)63);
    return malloc(n * 4);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s OLD.so NEW.so fwd|bwdd|bww THREADS ROUNDS [CALLS] (see the header comment)\n", argv[0]);
        return 2;
    }
    const int nl = strcmp(argv[1], argv[2]) ? 2 : 1;
    const int consume = getenv("CONSUME") != NULL;
    if (getenv("CPUCLK")) g_clock = !strcmp(getenv("CPUCLK"), "thread") ? timing_thread_cpu : timing_process_cpu;
    conv2d_lib L[2] = {conv2d_lib_load(argv[1]), nl == 2 ? conv2d_lib_load(argv[2]) : conv2d_lib_load(argv[1])};
    const char *pass = argv[3];
    const int threads = atoi(argv[4]), rounds = atoi(argv[5]), calls = argc > 6 ? atoi(argv[6]) : 5;
    if (rounds < 1 || calls < 1 || calls > 1000) { fprintf(stderr, "ROUNDS >= 1, 1 <= CALLS <= 1000\n"); return 2; }
    const int dil = getenv("DIL") ? atoi(getenv("DIL")) : 2;
    pcnn_conv2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = 4; d.c = 256; d.ih = d.iw = 33; d.oc = 256; d.kh = d.kw = 3; d.stride_h = d.stride_w = 1;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = dil; d.dilation_h = d.dilation_w = dil; d.groups = 1;
    if (getenv("SHAPE")) {
        long a[9] = {0, 0, 0, 0, 0, 0, 0, 3, 1};
        sscanf(getenv("SHAPE"), "%ld %ld %ld %ld %ld %ld %ld %ld %ld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5],
               &a[6], &a[7], &a[8]);
        d.n = a[0]; d.c = a[1]; d.ih = d.iw = a[2]; d.oc = a[4];
        d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = a[5]; d.dilation_h = d.dilation_w = a[6];
        d.kh = d.kw = a[7]; d.stride_h = d.stride_w = a[8];
    }
    if (getenv("GRP")) d.groups = atoi(getenv("GRP"));
    if (L[0].init(&d)) { fprintf(stderr, "bad desc\n"); return 1; }
    const size_t ni = d.n * d.c * d.ih * d.iw, no = d.n * d.oc * d.oh * d.ow, nw = d.oc * (d.c / d.groups) * d.kh * d.kw;
    float *x = malloc(ni * 4), *w = malloc(nw * 4), *b = malloc(d.oc * 4), *dy = malloc(no * 4);
    const size_t nout = !strcmp(pass, "fwd") ? no : !strcmp(pass, "bwdd") ? ni : nw;
    float *out[2] = {alloc_out(nout), alloc_out(nout)};
    float *db[2] = {malloc(d.oc * 4), malloc(d.oc * 4)};
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.1f;
    for (int i = 0; i < d.oc; i++) b[i] = 0.01f * i;
    L[0].thr(threads);
    L[1].thr(getenv("THR1") ? atoi(getenv("THR1")) : threads);
    if (getenv("ISA")) { L[0].isa(atoi(getenv("ISA"))); L[1].isa(atoi(getenv("ISA"))); }
    /* per build and round: wall (or CPUCLK) median, calling-thread CPU median, process CPU and
     * run-queue wait per call; per round the new/old ratios of the first three */
    double *t[2], *tc[2], *cpu[2], *wt[2];
    for (int j = 0; j < 2; j++) {
        t[j] = malloc(rounds * 8); tc[j] = malloc(rounds * 8); cpu[j] = malloc(rounds * 8); wt[j] = malloc(rounds * 8);
    }
    double *r = malloc(rounds * 8), *rt = malloc(rounds * 8), *rc = malloc(rounds * 8);
    static double samples[1000], tsamples[1000];
    for (int k = 0; k < rounds + 1; k++) {
        for (int jj = 0; jj < nl; jj++) {
            const int j = (k % 2) ? nl - 1 - jj : jj;
            double unused, w0, w1;
            timing_sched(&unused, &w0);
            const double p0 = timing_process_cpu();
            for (int c = 0; c < calls; c++) {
                const double t0 = g_clock(), c0 = timing_thread_cpu();
                int st;
                if (!strcmp(pass, "fwd")) {
                    st = L[j].fwd(&d, x, w, b, out[j]);
                    if (consume) sink += consume_sum(out[j], no);
                } else if (!strcmp(pass, "bwdd")) {
                    st = L[j].bwdd(&d, dy, w, out[j]);
                } else {
                    st = L[j].bww(&d, x, dy, out[j], getenv("NOBIAS") ? NULL : db[j]);
                }
                samples[c] = g_clock() - t0;
                tsamples[c] = timing_thread_cpu() - c0;
                if (st) { fprintf(stderr, "status %d\n", st); return 1; }
            }
            const double p1 = timing_process_cpu();
            timing_sched(&unused, &w1);
            if (k == 0) continue;
            t[j][k - 1] = timing_median(samples, calls) * 1e6;
            tc[j][k - 1] = timing_median(tsamples, calls) * 1e6;
            cpu[j][k - 1] = (p1 - p0) / calls * 1e6;
            wt[j][k - 1] = (w1 - w0) / calls * 1e6;
        }
        if (k > 0 && nl == 2) {
            r[k - 1] = t[1][k - 1] / t[0][k - 1];
            rt[k - 1] = tc[1][k - 1] / tc[0][k - 1];
            rc[k - 1] = cpu[1][k - 1] / cpu[0][k - 1];
        }
    }
    for (int j = 0; j < nl; j++) {
        void *h = dlopen(argv[1 + j], RTLD_NOW | RTLD_LOCAL);
        int32_t (*li)(void) = (int32_t (*)(void))dlsym(h, "pcnn_last_isa");
        int32_t (*la)(void) = (int32_t (*)(void))dlsym(h, "pcnn_last_algorithm");
        printf("lib%d served isa %d algo %d\n", j, li(), la());
    }
    if (nl == 2 && memcmp(out[0], out[1], nout * 4)) printf("MISMATCH\n");
    if (nl == 2 && !strcmp(pass, "bww") && !getenv("NOBIAS") && memcmp(db[0], db[1], d.oc * 4)) printf("BIAS MISMATCH\n");
    const char *wall = getenv("CPUCLK") ? "cpuclk" : "wall";
    for (int j = 0; j < nl; j++)
        printf("%s thr=%d lib%d: calling thread's CPU time per call, median %.1f us\n", pass, threads, j,
               timing_median(tc[j], rounds));
    if (nl == 2) printf("new/old calling-thread CPU median ratio %.3f\n", timing_median(rt, rounds));
    for (int j = 0; j < nl; j++) {
        const double med = timing_median(t[j], rounds); /* sorts t[j]: [0] is the fastest block */
        printf("%s thr=%d lib%d: %s %.0f us (min %.0f)  cpu/call %.0f us  rq-wait/call %.0f us\n", pass, threads, j,
               wall, med, t[j][0], timing_median(cpu[j], rounds), timing_median(wt[j], rounds));
    }
    if (nl == 2)
        printf("new/old %s median ratio %.3f  process cpu median ratio %.3f\n", wall, timing_median(r, rounds),
               timing_median(rc, rounds));
    return 0;
}
