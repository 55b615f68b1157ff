// What pcnn-bench's parts share: a shapes-file row, a table row, and the timing helpers.
// pcnn_bench.cpp (driver, table, JSON), peak.cpp (FMA peak) and, when built against oneDNN,
// onednn_compare.cpp (oneDNN's runs) include it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <time.h>

namespace pcnn_bench {

// Tensors are 64-byte aligned, as the Java API gives them (Tensor.allocate: arena.allocate(.., 64))
// and as oneDNN allocates its own. A plain std::vector<float> of this size comes from mmap with
// malloc's 16-byte header in front, so every row of a tensor would start 16 bytes past a cache
// line, which is not what a Java user's tensors look like. (Measured with bench/tools/conv2d_peak_ab.c
// ALIGN_AB=1 on the direct shapes: 0.97-1.02x, within the noise; this is about measuring the
// same thing, not about speed.)
template <typename T>
struct Aligned64 {
    using value_type = T;
    Aligned64() = default;
    template <typename U>
    Aligned64(const Aligned64<U> &) {}
    T *allocate(std::size_t n) {
        const std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
        void *p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
        if (p == nullptr) throw std::bad_alloc();
        return static_cast<T *>(p);
    }
    void deallocate(T *p, std::size_t) { std::free(p); }
    template <typename U>
    bool operator==(const Aligned64<U> &) const { return true; }
    template <typename U>
    bool operator!=(const Aligned64<U> &) const { return false; }
};
using FloatBuf = std::vector<float, Aligned64<float>>;

// One line of bench/shapes.txt.
struct Shape {
    std::string name, op;
    int64_t n, c, h, w, oc, kh, kw, stride, pad;
    int64_t groups = 1;  // optional 12th column (conv only)
    int64_t dilation = 1;  // optional 13th column (conv only; PyTorch's convention: 1 = dense)
};

// One row of the table (and of the JSON): a shape, a pass, a thread count.
struct Result {
    Result(std::string shape_, std::string pass_, int threads_, double flops_)
        : shape(std::move(shape_)), pass(std::move(pass_)), threads(threads_), flops(flops_) {}
    std::string shape, pass;
    int threads = 1;
    double flops = 0, pcnn_s = 0, dnnl_plain_s = -1, dnnl_pref_s = -1, dnnl_auto_s = -1;
    // GFLOP/s: the mean of the short FMA peaks (local_peak) measured right before and right after
    // panama-cnn's timing of this row (conv rows); 0 = not measured.
    double local_peak = 0;
    std::string dnnl_plain_impl, dnnl_pref_impl, dnnl_auto_impl;
    // max |pcnn - oneDNN| / max |oneDNN| for the nchw, preferred-layout and auto runs; -1 = not compared.
    double err_plain = -1, err_pref = -1, err_auto = -1;
    // The faster of oneDNN's direct (preferred layouts) and auto runs; -1 = none measured.
    double dnnl_best_s() const {
        if (dnnl_auto_s > 0 && (dnnl_pref_s <= 0 || dnnl_auto_s < dnnl_pref_s)) return dnnl_auto_s;
        return dnnl_pref_s;
    }
    // panama-cnn's algorithm / ISA that served the timed calls (pcnn_last_algorithm / pcnn_last_isa).
    std::string pcnn_kernel = "-";
    // A conv "backward" row: bwd_weights then bwd_data timed as one call (what a layer's backward
    // runs), not a pass of its own; left out of the per-pass geomeans.
    bool sequence = false;
    // "same": every timed call on the same buffers (every row until 2026-12-05); "rotated" (max-pool
    // only, --pool-buffers): each timed call on the next of PoolSets::count copies, so that nothing
    // the call touches is still in a cache from its last use (a layer inside a network). Rotated rows
    // are left out of the per-pass geomeans (kept comparable with earlier files) and get their own.
    std::string buffers = "same";
    size_t buffer_sets = 1;  // rotated rows: PoolSets::count
    bool rotated() const { return buffers != "same"; }
};

// A conv shape's inputs (random, written once per shape: first touch is slow on these VMs) and
// panama-cnn's outputs, which oneDNN's are compared with.
struct ConvTensors {
    FloatBuf x, w, b, y;      // src, weights, bias, diff_dst
    FloatBuf out, dx, dw, db;  // dst, diff_src, diff_weights, diff_bias
};

// A max-pool shape's inputs and panama-cnn's outputs.
struct PoolTensors {
    FloatBuf x, y;              // src, diff_dst
    FloatBuf out, out_noidx, dx;  // dst (training), dst (no indices), diff_src
};

// Max-pool with rotated buffers (--pool-buffers rotated|both): `count` copies of every buffer a
// call touches, the inputs all holding the same values as PoolTensors' (so the arithmetic is the
// same-buffer rows', only the addresses differ). Why: this VM's two vCPUs share no cache and each
// keeps ~12-16 MB of its own, so repeating one call on unchanged buffers re-reads them from cache
// when a thread's half fits (oneDNN's 1-byte workspace does on pool_resnet, our int32 indices do
// not); native/src/kernels/maxpool2d/README-history.md (session 20) and bench/README.md. Allocated and
// written once per shape (std::vector zero-fills: the slow first touch is never timed).
using IndexBuf = std::vector<int32_t, Aligned64<int32_t>>;
struct PoolSets {
    size_t count = 0;
    std::vector<FloatBuf> x, y;     // src, diff_dst: copies of PoolTensors::x, ::y
    // Every library's outputs in turn, each checked right after its timing: dst (forward, and
    // forward without indices), diff_src. oneDNN's blocked layout may grow them (nChw16c pads C).
    std::vector<FloatBuf> dst, dx;
    std::vector<IndexBuf> idx;      // panama-cnn's indices (--pool-mask index)
    std::vector<std::vector<uint8_t>> taps;  // panama-cnn's compact mask (--pool-mask taps)
};
// Fills every set's output with NaN before a library's timing, so that a set its calls did not
// write fails the check after the timing instead of showing the previous library's output.
inline void poison(std::vector<FloatBuf> &bufs) {
    for (auto &b : bufs) std::fill(b.begin(), b.end(), std::numeric_limits<float>::quiet_NaN());
}

// Between two uses of a set the calls on the other sets must have touched at least this much:
// twice the two vCPUs' ~32 MB of cache together.
constexpr double kRotateEvictBytes = 64.0 * 1024 * 1024;

// How many sets: the smallest timed call (forward without indices: src + dst, both libraries)
// times (count - 1) covers kRotateEvictBytes; at least 3. pool_resnet, pool_mid: 4; pool_lenet:
// 62; pool_small: 4811 (its calls then read from memory, as a small layer's would in a network).
inline size_t rotation_sets(double smallest_call_bytes) {
    const double k = 1 + std::ceil(kRotateEvictBytes / std::max(smallest_call_bytes, 1.0));
    return std::max<size_t>(3, static_cast<size_t>(k));
}

inline double thread_cpu_s() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

inline double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median of single-call times after a warm-up; at least 7 samples and min_time seconds.
inline double median_time(const std::function<void()> &fn, double min_time) {
    for (int i = 0; i < 2; i++) fn();
    std::vector<double> samples;
    double start = now_s();
    while (samples.size() < 7 || (now_s() - start < min_time && samples.size() < 2000)) {
        double t0 = now_s();
        fn();
        samples.push_back(now_s() - t0);
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

// median_time with rotated buffers: fn(k) calls on set k. One untimed call per set first (so
// every output buffer has been written once, and nothing is timed on a first touch), then the
// timed calls cycle through the sets, each on the set least recently used.
inline double median_time_rotated(const std::function<void(size_t)> &fn, size_t sets, double min_time) {
    for (size_t k = 0; k < sets; k++) fn(k);
    std::vector<double> samples;
    size_t k = 0;
    double start = now_s();
    while (samples.size() < 7 || (now_s() - start < min_time && samples.size() < 2000)) {
        double t0 = now_s();
        fn(k);
        samples.push_back(now_s() - t0);
        k = k + 1 == sets ? 0 : k + 1;
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

}  // namespace pcnn_bench
