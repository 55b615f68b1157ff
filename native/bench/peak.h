// The machine's FMA peak as pcnn-bench measures it (in its own process, per thread count), the
// denominator of the table's %peak column. See peak.cpp.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace pcnn_bench {

struct Peak {
    std::string isa = "none";          // the ISA of the peak kernel used for %peak
    double avx2_1t = 0, avx512_1t = 0; // single-thread GFLOP/s per ISA (0 = not available)
    double clock_ghz = 0;
    std::map<int, double> by_threads;  // GFLOP/s with the best ISA, per thread count
};

// FMA peak in GFLOP/s for the best ISA the CPU has (not the active cap: %peak is relative
// to what the machine can do), per thread count.
Peak measure_peak(const std::vector<int> &thread_counts);

// A short FMA peak (GFLOP/s, `threads` threads, the ISA of `p`; ~15 ms), for a row's local peak:
// the clock of these VMs drifts by ~5% over a run, so a row's %peak against the one peak measured
// before the table is off by the drift since then. 0 when measure_peak found no peak kernel.
double local_peak(const Peak &p, int threads);

}  // namespace pcnn_bench
