/*
 * Timing helpers of the bench/tools harnesses (C and C++; header only, everything static inline).
 * On a shared machine wall time compares two kernels badly; CPU time (the calling thread's, or
 * all the process's threads') and the run-queue wait say how much of it was the kernel's.
 *   timing_now()          monotonic wall clock, seconds
 *   timing_thread_cpu()   CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID)
 *   timing_process_cpu()  CPU seconds of all the process's threads (CLOCK_PROCESS_CPUTIME_ID;
 *                         precise, unlike schedstat's ticks)
 *   timing_sched()        run and run-queue-wait seconds summed over the process's threads
 *                         (/proc/self/task/ * /schedstat; Linux only, both 0 elsewhere)
 *   timing_median()       median of n values (sorts them in place; the mean of the middle two
 *                         for even n)
 * POSIX clocks; the tools are built and run on Linux (their header comments say how).
 */
#ifndef PCNN_BENCH_TOOLS_TIMING_H
#define PCNN_BENCH_TOOLS_TIMING_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double timing_clock_s(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline double timing_now(void) { return timing_clock_s(CLOCK_MONOTONIC); }
static inline double timing_thread_cpu(void) { return timing_clock_s(CLOCK_THREAD_CPUTIME_ID); }
static inline double timing_process_cpu(void) { return timing_clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static inline int timing_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double timing_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, timing_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline void timing_sched(double *run, double *wait) {
    *run = *wait = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d) return;
    struct dirent *e;
    char p[320];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        unsigned long long a, b;
        if (fscanf(f, "%llu %llu", &a, &b) == 2) {
            *run += a * 1e-9;
            *wait += b * 1e-9;
        }
        fclose(f);
    }
    closedir(d);
}

#endif
