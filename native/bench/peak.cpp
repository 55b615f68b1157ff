// FMA peak and clock estimate for pcnn-bench's %peak column (peak.h). The peak kernels are
// fma_peak*.c, compiled for their ISA and called only when CPUID says it is there.

#include "peak.h"

#include <algorithm>
#include <cstdint>
#include <thread>

#include "bench_common.h"
#include "panamacnn/panamacnn.h"

#if defined(__aarch64__)
extern "C" double pcnn_bench_fma_peak_neon(int64_t iterations, float *sink);
#else
extern "C" double pcnn_bench_fma_peak_avx512(int64_t iterations, float *sink);
extern "C" double pcnn_bench_fma_peak_avx2(int64_t iterations, float *sink);
#endif

namespace pcnn_bench {
namespace {

using PeakKernel = double (*)(int64_t, float *);

// Aggregate FMA rate of `t` threads each running `kernel`, in GFLOP/s. Each thread's rate is
// its flops over its own CPU time (CLOCK_THREAD_CPUTIME_ID), so time spent preempted by other
// processes does not count (the machines this runs on are often shared); two threads sharing
// one core's FMA units (SMT siblings) still show up, as they slow each other while running.
// The best of several short repetitions: noise only slows.
double fma_rate(PeakKernel kernel, int t, int64_t iters = 5'000'000, int reps = 7) {
    double best = 0;
    for (int rep = 0; rep < reps; rep++) {
        std::vector<std::thread> pool;
        std::vector<float> sinks(t);
        std::vector<double> rates(t);
        for (int i = 0; i < t; i++)
            pool.emplace_back([&, i] {
                double c0 = thread_cpu_s();
                double flops = kernel(iters, &sinks[i]);
                rates[i] = flops / (thread_cpu_s() - c0) / 1e9;
            });
        for (auto &th : pool) th.join();
        double sum = 0;
        for (double r : rates) sum += r;
        best = std::max(best, sum);
    }
    return best;
}

// Core clock estimate in GHz: a chain of dependent integer adds retires one per cycle.
double clock_ghz() {
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        const int64_t iters = 4'000'000;
        uint64_t x = 0, y = 1;
        double c0 = thread_cpu_s();
        for (int64_t i = 0; i < iters; i++) {
#if defined(__x86_64__)
            __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
                             "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0"
                             : "+r"(x)
                             : "r"(y));
#else
            (void)x, (void)y;
            return 0; /* no portable single-cycle dependent add chain here */
#endif
        }
        best = std::max(best, iters * 8.0 / (thread_cpu_s() - c0) / 1e9);
    }
    return best;
}

PeakKernel kernel_for(const std::string &isa) {
#if defined(__aarch64__)
    return isa == "neon" ? pcnn_bench_fma_peak_neon : nullptr;
#else
    return isa == "avx512" ? pcnn_bench_fma_peak_avx512 : isa == "avx2" ? pcnn_bench_fma_peak_avx2 : nullptr;
#endif
}

}  // namespace

double local_peak(const Peak &p, int threads) {
    PeakKernel kernel = kernel_for(p.isa);
    // a fifth of the iterations, best of 5: ~3 ms a repetition with AVX-512 at ~3.5 GHz
    return kernel ? fma_rate(kernel, threads, 1'000'000, 5) : 0;
}

Peak measure_peak(const std::vector<int> &thread_counts) {
    Peak p;
    int isa = pcnn_isa_detected();
    PeakKernel kernel = nullptr;
#if defined(__aarch64__)
    if (isa == PCNN_ISA_NEON) {
        kernel = pcnn_bench_fma_peak_neon; /* measured per thread count below */
        p.isa = "neon";
    }
#else
    if (isa >= PCNN_ISA_AVX2) {
        p.avx2_1t = fma_rate(pcnn_bench_fma_peak_avx2, 1);
        kernel = pcnn_bench_fma_peak_avx2;
        p.isa = "avx2";
    }
    if (isa >= PCNN_ISA_AVX512) {
        p.avx512_1t = fma_rate(pcnn_bench_fma_peak_avx512, 1);
        kernel = pcnn_bench_fma_peak_avx512;
        p.isa = "avx512";
    }
#endif
    p.clock_ghz = clock_ghz();
    for (int t : thread_counts) {
        if (!kernel) p.by_threads[t] = 0;
        else if (t == 1 && p.isa != "neon") p.by_threads[t] = p.isa == "avx512" ? p.avx512_1t : p.avx2_1t;
        else p.by_threads[t] = fma_rate(kernel, t);
    }
    return p;
}

}  // namespace pcnn_bench
