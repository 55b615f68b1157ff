/*
 * Which caches do this VM's two vCPUs share? Times re-reading a buffer of S MB (streaming
 * 64-byte loads, median of many passes, monotonic clock):
 *   same   pinned to CPU A: write the buffer, read it; the read is then timed again and again
 *          (what stays of it in A's L2 + the L3 A sees is hit)
 *   other  the buffer written (and last read) on CPU A, then one timed read on CPU B; repeated
 *          (if A and B share the L3, this runs at the "same" speed; with separate L3s it
 *          runs from memory or the other L3)
 *   halves both CPUs at once, each re-reading its own half of S, pinned (the per-call pattern of
 *          a 2-thread pool kernel whose threads stay put): the aggregate cache the two see
 *   swapped both at once, each reading the half the other read the previous pass (threads
 *          that trade places between calls)
 * Prints GB/s per size. Written for the question why oneDNN's 2-thread max-pool runs 3-4x
 * faster than its 1-thread one on 26-38 MB working sets (native/src/kernels/maxpool2d/README-history.md).
 * Build: gcc -O2 -march=native -pthread -o cache_share_probe bench/tools/cache_share_probe.c
 * Run:   ./cache_share_probe [PASSES]   (needs 2 CPUs; sizes 4..64 MB)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

static void pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    if (pthread_setaffinity_np(pthread_self(), sizeof s, &s)) {
        fprintf(stderr, "cannot pin to CPU %d\n", cpu);
        exit(1);
    }
}

static volatile uint64_t sink;

/* Reads every 64-byte line (one 8-byte load per line is enough to bring it in). */
static void read_buf(const uint64_t *p, size_t bytes) {
    uint64_t s = 0;
    for (size_t i = 0; i < bytes / 8; i += 8) s += p[i];
    sink += s;
}

typedef struct {
    int cpu;
    const uint64_t *mine, *theirs;
    size_t bytes;
    int swap, passes;
    pthread_barrier_t *bar;
    double *t; /* per pass, written by thread 0 */
} half_arg;

static void *half_main(void *a_) {
    half_arg *a = a_;
    pin(a->cpu);
    for (int k = 0; k < a->passes; k++) {
        const uint64_t *p = a->swap && (k & 1) ? a->theirs : a->mine;
        pthread_barrier_wait(a->bar);
        const double t0 = timing_now();
        read_buf(p, a->bytes);
        pthread_barrier_wait(a->bar);
        if (a->t) a->t[k] = timing_now() - t0;
    }
    return NULL;
}

static double both(uint64_t *buf, size_t bytes, int swap, int passes, double *t) {
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    const size_t h = bytes / 2;
    half_arg a0 = {0, buf, buf + h / 8, h, swap, passes, &bar, t};
    half_arg a1 = {1, buf + h / 8, buf, h, swap, passes, &bar, NULL};
    pthread_t th;
    pthread_create(&th, NULL, half_main, &a1);
    half_main(&a0);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&bar);
    return timing_median(t + 2, passes - 2); /* two passes to settle */
}

int main(int argc, char **argv) {
    const int passes = argc > 1 ? atoi(argv[1]) : 41;
    const int sizes[] = {4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 64};
    double *t = malloc(sizeof(double) * (size_t)passes);
    printf("GB/s re-reading S MB (median of %d passes)\n%6s %8s %8s %8s %8s\n", passes, "S MB", "same",
           "other", "halves", "swapped");
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        const size_t bytes = (size_t)sizes[si] << 20;
        uint64_t *buf = aligned_alloc(64, bytes);
        memset(buf, 1, bytes);
        double r[4];
        pin(0);
        for (int k = 0; k < passes; k++) {
            const double t0 = timing_now();
            read_buf(buf, bytes);
            t[k] = timing_now() - t0;
        }
        r[0] = timing_median(t + 2, passes - 2);
        for (int k = 0; k < passes; k++) {
            pin(0);
            memset(buf, k, bytes); /* owned (dirty) in CPU 0's caches */
            read_buf(buf, bytes);
            pin(1);
            const double t0 = timing_now();
            read_buf(buf, bytes);
            t[k] = timing_now() - t0;
        }
        r[1] = timing_median(t + 2, passes - 2);
        r[2] = both(buf, bytes, 0, passes, t);
        r[3] = both(buf, bytes, 1, passes, t);
        printf("%6d", sizes[si]);
        for (int j = 0; j < 4; j++) printf(" %8.1f", bytes / r[j] * 1e-9);
        printf("\n");
        fflush(stdout);
        free(buf);
    }
    return 0;
}
