// Native benchmark: panama-cnn kernels vs oneDNN on the same shapes, in one run.
//
// For every shape of bench/shapes.txt, every pass and every thread count it reports the
// median time, GFLOP/s, the fraction of the machine's FMA peak measured by this same
// process, and (when built against oneDNN) oneDNN's time with plain NCHW/OIHW tensors and
// with the layouts it prefers (reorders are not timed), as ratios t_onednn / t_pcnn
// (> 1 means panama-cnn is faster). Each oneDNN result is also compared with panama-cnn's
// output (max |diff| / max |oneDNN|, after reordering oneDNN's output back to plain
// layout), so that a mis-specified oneDNN primitive cannot produce a meaningless ratio.
// Convolutions are also timed with algorithm::convolution_auto (preferred layouts), with which
// oneDNN may pick Winograd; "oneDNN best" is the faster of auto and direct (preferred) per pass.
// A convolution's "backward" row times a layer's backward, bwd_weights (bias gradient) then
// bwd_data as one unit, for both libraries: each pass timed alone keeps its two big tensors warm
// in the caches between calls, which the sequence (three big tensors) cannot (bench/README.md).
//
// Usage: pcnn-bench [--shapes FILE] [--threads 1,2] [--min-time SECONDS] [--json FILE]
//                   [--only NAME[,NAME...]] [--no-onednn] [--algorithm auto|direct|winograd|depthwise|pointwise]
// Exit status: 0, 2 for bad arguments / shapes file, 1 when a panama-cnn call fails, 3 when a
// result differs from oneDNN's (the table says which: check = BAD). See bench/README.md.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "panamacnn/panamacnn.h"

#ifdef PCNN_BENCH_WITH_ONEDNN
#include <omp.h>

#include "oneapi/dnnl/dnnl.hpp"
#endif

#if defined(__aarch64__)
extern "C" double pcnn_bench_fma_peak_neon(int64_t iterations, float *sink);
#else
extern "C" double pcnn_bench_fma_peak_avx512(int64_t iterations, float *sink);
extern "C" double pcnn_bench_fma_peak_avx2(int64_t iterations, float *sink);
#endif

namespace {

struct Shape {
    std::string name, op;
    int64_t n, c, h, w, oc, kh, kw, stride, pad;
    int64_t groups = 1;  // optional 12th column (conv only)
    int64_t dilation = 1;  // optional 13th column (conv only; PyTorch's convention: 1 = dense)
};

struct Options {
    std::string shapes_file = "bench/shapes.txt";
    std::vector<int> threads = {1, 2};
    double min_time = 0.25;
    std::string json_file;
    std::vector<std::string> only;
    bool onednn = true;
    int algorithm = PCNN_ALGO_AUTO;  // panama-cnn's conv algorithm request (pcnn_set_conv2d_algorithm)
};

struct Result {
    Result(std::string shape_, std::string pass_, int threads_, double flops_)
        : shape(std::move(shape_)), pass(std::move(pass_)), threads(threads_), flops(flops_) {}
    std::string shape, pass;
    int threads = 1;
    double flops = 0, pcnn_s = 0, dnnl_plain_s = -1, dnnl_pref_s = -1, dnnl_auto_s = -1;
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
};

// Above this relative difference panama-cnn and oneDNN are not computing the same thing
// (float reassociation alone stays orders of magnitude below it on the bench shapes).
constexpr double kCheckTolerance = 1e-3;

const char *check_label(const Result &r) {
    if (r.err_plain < 0 && r.err_pref < 0 && r.err_auto < 0) return "-";
    auto fine = [](double e) { return e <= kCheckTolerance || e == -1; };  // NaN is not fine
    return (fine(r.err_plain) && fine(r.err_pref) && fine(r.err_auto)) ? "ok" : "BAD";
}

// max |a - b| / max |b|: b is oneDNN's result.
double rel_err(const std::vector<float> &a, const std::vector<float> &b) {
    if (a.size() != b.size()) return INFINITY;
    double diff = 0, mag = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs((double)a[i] - (double)b[i]);
        if (!(d <= diff)) diff = d;  // NaN propagates
        mag = std::max(mag, (double)std::fabs(b[i]));
    }
    return mag > 0 ? diff / mag : diff;
}

double thread_cpu_s() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                auto v = line.substr(colon + 1);
                v.erase(0, v.find_first_not_of(" \t"));
                return v;
            }
        }
    }
    return "unknown";
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median of single-call times after a warm-up; at least 7 samples and min_time seconds.
double median_time(const std::function<void()> &fn, double min_time) {
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

std::vector<Shape> read_shapes(const std::string &path) {
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "pcnn-bench: cannot read shapes file %s\n", path.c_str());
        std::exit(2);
    }
    std::vector<Shape> shapes;
    std::string line;
    while (std::getline(in, line)) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        std::istringstream ss(line);
        Shape s;
        if (!(ss >> s.name)) continue;
        if (!(ss >> s.op >> s.n >> s.c >> s.h >> s.w >> s.oc >> s.kh >> s.kw >> s.stride >> s.pad)) {
            std::fprintf(stderr, "pcnn-bench: malformed line in %s: %s\n", path.c_str(), line.c_str());
            std::exit(2);
        }
        int64_t g, dil;
        if (ss >> g) s.groups = g;  // optional groups column
        if (s.groups < 1 || s.c % s.groups != 0 || s.oc % s.groups != 0) {
            std::fprintf(stderr, "pcnn-bench: groups must divide C_in and C_out in %s: %s\n", path.c_str(), line.c_str());
            std::exit(2);
        }
        if (ss >> dil) s.dilation = dil;  // optional dilation column (needs the groups column before it)
        if (s.dilation < 1 || (s.dilation != 1 && s.op != "conv")) {
            std::fprintf(stderr, "pcnn-bench: dilation must be >= 1, and 1 for maxpool, in %s: %s\n", path.c_str(),
                         line.c_str());
            std::exit(2);
        }
        std::string extra;  // a non-integer groups/dilation, or a 14th column, is an error, not ignored
        ss.clear();
        if (ss >> extra) {
            std::fprintf(stderr, "pcnn-bench: unexpected '%s' in %s: %s\n", extra.c_str(), path.c_str(), line.c_str());
            std::exit(2);
        }
        shapes.push_back(s);
    }
    return shapes;
}

// Buffers are allocated and written once per shape (first touch is slow on these VMs).
std::vector<float> random_buffer(size_t count, uint32_t seed) {
    std::vector<float> v(count);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto &x : v) x = dist(rng);
    return v;
}

void check(int32_t status, const char *what) {
    if (status != PCNN_STATUS_OK) {
        std::fprintf(stderr, "pcnn-bench: %s failed: %s\n", what, pcnn_status_str(status));
        std::exit(1);
    }
}

// "algorithm/isa" of the kernel that served this thread's last panama-cnn call.
std::string served() {
    return std::string(pcnn_algorithm_name(pcnn_last_algorithm())) + "/" + pcnn_isa_name(pcnn_last_isa());
}

using PeakKernel = double (*)(int64_t, float *);

// Aggregate FMA rate of `t` threads each running `kernel`, in GFLOP/s. Each thread's rate is
// its flops over its own CPU time (CLOCK_THREAD_CPUTIME_ID), so time spent preempted by other
// processes does not count (the machines this runs on are often shared); two threads sharing
// one core's FMA units (SMT siblings) still show up, as they slow each other while running.
// The best of several short repetitions: noise only slows.
double fma_rate(PeakKernel kernel, int t) {
    const int64_t iters = 5'000'000;
    double best = 0;
    for (int rep = 0; rep < 7; rep++) {
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

struct Peak {
    std::string isa = "none";          // the ISA of the peak kernel used for %peak
    double avx2_1t = 0, avx512_1t = 0; // single-thread GFLOP/s per ISA (0 = not available)
    double clock_ghz = 0;
    std::map<int, double> by_threads;  // GFLOP/s with the best ISA, per thread count
};

// FMA peak in GFLOP/s for the best ISA the CPU has (not the active cap: %peak is relative
// to what the machine can do), per thread count.
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

#ifdef PCNN_BENCH_WITH_ONEDNN
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Onednn {
    engine eng{engine::kind::cpu, 0};
    stream strm{eng};
};

std::string onednn_version() {
    const dnnl_version_t *v = dnnl::version();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    return buf;
}

// Executes `prim` with `args`, all already in the layout it wants; returns the median time.
double time_primitive(Onednn &d, primitive &prim, std::unordered_map<int, memory> &args, double min_time) {
    return median_time([&] {
        prim.execute(d.strm, args);
        d.strm.wait();
    }, min_time);
}

// A memory of layout `want` holding `data` (given in layout `plain`); reorders are not timed.
memory filled(Onednn &d, const memory::desc &want, const memory::desc &plain, std::vector<float> &data) {
    memory src(plain, d.eng, data.data());
    if (want == plain) return src;
    memory dst(want, d.eng);
    reorder(src, dst).execute(d.strm, src, dst);
    d.strm.wait();
    return dst;
}

// The contents of `m` in layout `plain`, for the comparison with panama-cnn.
std::vector<float> read_plain(Onednn &d, memory &m, const memory::desc &plain) {
    std::vector<float> v(plain.get_size() / sizeof(float));
    memory dst(plain, d.eng, v.data());
    reorder(m, dst).execute(d.strm, m, dst);
    d.strm.wait();
    return v;
}

struct ConvTimes {
    double fwd = -1, bwd_data = -1, bwd_weights = -1;
    double bwd = -1;  // backward-weights then backward-data, timed together (the layer's sequence)
    std::string fwd_impl, bwd_data_impl, bwd_weights_impl;
    std::vector<float> dst, diff_src, diff_weights, diff_bias;  // plain layouts
};

// `alg`: convolution_direct, or convolution_auto (oneDNN chooses, e.g. Winograd).
ConvTimes onednn_conv(Onednn &d, const Shape &s, int64_t oh, int64_t ow, bool preferred, algorithm alg,
                      std::vector<float> &x, std::vector<float> &w, std::vector<float> &b,
                      std::vector<float> &y, double min_time) {
    // Grouped weights: oneDNN's goihw is the same memory as the library's [oc][c/groups][kh][kw].
    const int64_t g = s.groups;
    memory::dims src_dims = {s.n, s.c, s.h, s.w},
                 w_dims = g == 1 ? memory::dims{s.oc, s.c, s.kh, s.kw}
                                 : memory::dims{g, s.oc / g, s.c / g, s.kh, s.kw},
                 b_dims = {s.oc}, dst_dims = {s.n, s.oc, oh, ow}, strides = {s.stride, s.stride},
                 pads = {s.pad, s.pad},
                 // oneDNN counts the gaps between taps (0 = dense), PyTorch and panama-cnn the step (1 = dense).
                 dilates = {s.dilation - 1, s.dilation - 1};
    memory::desc src_plain(src_dims, dt::f32, tag::nchw),
        w_plain(w_dims, dt::f32, g == 1 ? tag::oihw : tag::goihw),
        b_plain(b_dims, dt::f32, tag::x), dst_plain(dst_dims, dt::f32, tag::nchw);
    memory::desc src_md = preferred ? memory::desc(src_dims, dt::f32, tag::any) : src_plain;
    memory::desc w_md = preferred ? memory::desc(w_dims, dt::f32, tag::any) : w_plain;
    memory::desc dst_md = preferred ? memory::desc(dst_dims, dt::f32, tag::any) : dst_plain;
    ConvTimes t;

    // oneDNN 2.x: op desc -> primitive desc; the backward pds take the forward pd as a hint.
    // Padding l/r = top-left / bottom-right.
    convolution_forward::desc fd(prop_kind::forward_training, alg, src_md, w_md,
                                 b_plain, dst_md, strides, dilates, pads, pads);
    convolution_forward::primitive_desc fpd(fd, d.eng);
    {
        std::unordered_map<int, memory> args = {
            {DNNL_ARG_SRC, filled(d, fpd.src_desc(), src_plain, x)},
            {DNNL_ARG_WEIGHTS, filled(d, fpd.weights_desc(), w_plain, w)},
            {DNNL_ARG_BIAS, filled(d, fpd.bias_desc(), b_plain, b)},
            {DNNL_ARG_DST, memory(fpd.dst_desc(), d.eng)}};
        convolution_forward prim(fpd);
        t.fwd = time_primitive(d, prim, args, min_time);
        t.fwd_impl = fpd.impl_info_str();
        t.dst = read_plain(d, args.at(DNNL_ARG_DST), dst_plain);
    }
    convolution_backward_data::desc bd(alg, src_md, w_md, dst_md, strides, dilates, pads, pads);
    convolution_backward_data::primitive_desc bpd(bd, d.eng, fpd);
    std::unordered_map<int, memory> bargs = {
        {DNNL_ARG_DIFF_DST, filled(d, bpd.diff_dst_desc(), dst_plain, y)},
        {DNNL_ARG_WEIGHTS, filled(d, bpd.weights_desc(), w_plain, w)},
        {DNNL_ARG_DIFF_SRC, memory(bpd.diff_src_desc(), d.eng)}};
    convolution_backward_data bprim(bpd);
    t.bwd_data = time_primitive(d, bprim, bargs, min_time);
    t.bwd_data_impl = bpd.impl_info_str();
    t.diff_src = read_plain(d, bargs.at(DNNL_ARG_DIFF_SRC), src_plain);

    convolution_backward_weights::desc wd(alg, src_md, w_md, b_plain, dst_md, strides, dilates, pads, pads);
    convolution_backward_weights::primitive_desc wpd(wd, d.eng, fpd);
    // diff_dst is one tensor in a layer's backward: shared by both primitives when they want the
    // same layout (otherwise each keeps its own copy, as a user would after one reorder).
    std::unordered_map<int, memory> wargs = {
        {DNNL_ARG_SRC, filled(d, wpd.src_desc(), src_plain, x)},
        {DNNL_ARG_DIFF_DST, wpd.diff_dst_desc() == bpd.diff_dst_desc() ? bargs.at(DNNL_ARG_DIFF_DST)
                                                                        : filled(d, wpd.diff_dst_desc(), dst_plain, y)},
        {DNNL_ARG_DIFF_WEIGHTS, memory(wpd.diff_weights_desc(), d.eng)},
        {DNNL_ARG_DIFF_BIAS, memory(wpd.diff_bias_desc(), d.eng)}};
    convolution_backward_weights wprim(wpd);
    t.bwd_weights = time_primitive(d, wprim, wargs, min_time);
    t.bwd_weights_impl = wpd.impl_info_str();
    t.diff_weights = read_plain(d, wargs.at(DNNL_ARG_DIFF_WEIGHTS), w_plain);
    t.diff_bias = read_plain(d, wargs.at(DNNL_ARG_DIFF_BIAS), b_plain);

    // The layer's sequence, as panama-cnn's "backward" row times it.
    t.bwd = median_time([&] {
        wprim.execute(d.strm, wargs);
        bprim.execute(d.strm, bargs);
        d.strm.wait();
    }, min_time);
    return t;
}

struct PoolTimes {
    double fwd = -1, bwd = -1;
    std::string fwd_impl, bwd_impl;
    std::vector<float> dst, diff_src;  // plain layouts
    double infer = -1;                 // forward_inference: no workspace (panama-cnn: NULL indices)
    std::string infer_impl;
    std::vector<float> infer_dst;
};

PoolTimes onednn_pool(Onednn &d, const Shape &s, int64_t oh, int64_t ow, bool preferred, std::vector<float> &x,
                      std::vector<float> &y, double min_time) {
    memory::dims src_dims = {s.n, s.c, s.h, s.w}, dst_dims = {s.n, s.c, oh, ow},
                 strides = {s.stride, s.stride}, kernel = {s.kh, s.kw}, pads = {s.pad, s.pad};
    memory::desc src_plain(src_dims, dt::f32, tag::nchw), dst_plain(dst_dims, dt::f32, tag::nchw);
    // Pooling takes no "any" for src: the preferred layout on AVX-512 is nChw16c (8c on AVX2).
    const bool avx512 = pcnn_isa_detected() >= PCNN_ISA_AVX512;
    const tag blocked = avx512 ? tag::nChw16c : tag::nChw8c;
    memory::desc src_md = preferred ? memory::desc(src_dims, dt::f32, blocked) : src_plain;
    memory::desc dst_md = preferred ? memory::desc(dst_dims, dt::f32, blocked) : dst_plain;
    PoolTimes t;
    // Max pooling with forward_training keeps the argmax in a workspace that backward reads.
    pooling_forward::desc fd(prop_kind::forward_training, algorithm::pooling_max, src_md, dst_md, strides, kernel,
                             pads, pads);
    pooling_forward::primitive_desc fpd(fd, d.eng);
    memory ws(fpd.workspace_desc(), d.eng);
    {
        std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, filled(d, src_md, src_plain, x)},
                                                {DNNL_ARG_DST, memory(dst_md, d.eng)},
                                                {DNNL_ARG_WORKSPACE, ws}};
        pooling_forward prim(fpd);
        t.fwd = time_primitive(d, prim, args, min_time);
        t.fwd_impl = fpd.impl_info_str();
        t.dst = read_plain(d, args.at(DNNL_ARG_DST), dst_plain);
    }
    {
        pooling_forward::desc id(prop_kind::forward_inference, algorithm::pooling_max, src_md, dst_md, strides,
                                 kernel, pads, pads);
        pooling_forward::primitive_desc ipd(id, d.eng);
        std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, filled(d, src_md, src_plain, x)},
                                                {DNNL_ARG_DST, memory(dst_md, d.eng)}};
        pooling_forward prim(ipd);
        t.infer = time_primitive(d, prim, args, min_time);
        t.infer_impl = ipd.impl_info_str();
        t.infer_dst = read_plain(d, args.at(DNNL_ARG_DST), dst_plain);
    }
    {
        pooling_backward::desc bd(algorithm::pooling_max, src_md, dst_md, strides, kernel, pads, pads);
        pooling_backward::primitive_desc bpd(bd, d.eng, fpd);
        std::unordered_map<int, memory> args = {{DNNL_ARG_DIFF_DST, filled(d, dst_md, dst_plain, y)},
                                                {DNNL_ARG_DIFF_SRC, memory(src_md, d.eng)},
                                                {DNNL_ARG_WORKSPACE, ws}};
        pooling_backward prim(bpd);
        t.bwd = time_primitive(d, prim, args, min_time);
        t.bwd_impl = bpd.impl_info_str();
        t.diff_src = read_plain(d, args.at(DNNL_ARG_DIFF_SRC), src_plain);
    }
    return t;
}
#endif

std::string json_escape(const std::string &s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::vector<int> parse_int_list(const char *s) {
    std::vector<int> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) v.push_back(std::atoi(item.c_str()));
    return v;
}

Options parse_args(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "pcnn-bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--shapes") o.shapes_file = next();
        else if (a == "--threads") o.threads = parse_int_list(next());
        else if (a == "--min-time") o.min_time = std::atof(next());
        else if (a == "--json") o.json_file = next();
        else if (a == "--only") {
            std::stringstream ss(next());
            std::string item;
            while (std::getline(ss, item, ',')) o.only.push_back(item);
        } else if (a == "--no-onednn") o.onednn = false;
        else if (a == "--algorithm") {
            std::string v = next();
            o.algorithm = v == "auto" ? PCNN_ALGO_AUTO : v == "direct" ? PCNN_ALGO_DIRECT
                        : v == "winograd" ? PCNN_ALGO_WINOGRAD : v == "depthwise" ? PCNN_ALGO_DEPTHWISE
                        : v == "pointwise" ? PCNN_ALGO_POINTWISE : -1;
            if (o.algorithm < 0) {
                std::fprintf(stderr, "pcnn-bench: --algorithm must be auto, direct, winograd, depthwise or pointwise, got '%s'\n", v.c_str());
                std::exit(2);
            }
        }
        else {
            std::fprintf(stderr,
                         "usage: pcnn-bench [--shapes FILE] [--threads 1,2] [--min-time S] [--json FILE] "
                         "[--only NAME,...] [--no-onednn] [--algorithm auto|direct|winograd|depthwise|pointwise]\n");
            std::exit(a == "--help" || a == "-h" ? 0 : 2);
        }
    }
    for (int t : o.threads) {
        if (t < 1 || t > 256) {
            std::fprintf(stderr, "pcnn-bench: --threads values must be in [1, 256], got %d\n", t);
            std::exit(2);
        }
    }
    return o;
}


// A JSON number, or null for NaN / infinity (a diverged comparison).
std::string json_num(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream os;
    os.precision(10);
    os << v;
    return os.str();
}

// "12.345" or "-" when the value is absent (negative).
std::string fmt_or_dash(double v, const char *format) {
    if (!(v >= 0)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

void print_row(const Result &r, const std::map<int, double> &peak) {
    const bool conv = r.flops > 0;
    double gf = conv ? r.flops / r.pcnn_s / 1e9 : -1;
    double pk = peak.count(r.threads) ? peak.at(r.threads) : 0;
    const double best = r.dnnl_best_s();
    std::printf("%-12s %-11s %3d %12s %8s %6s %12s %12s %12s %7s %7s %7s %5s %-16s %s\n", r.shape.c_str(), r.pass.c_str(),
                r.threads, fmt_or_dash(r.pcnn_s * 1e6, "%.2f").c_str(), fmt_or_dash(gf, "%.1f").c_str(),
                fmt_or_dash(conv && pk > 0 ? 100 * gf / pk : -1, "%.1f%%").c_str(),
                fmt_or_dash(r.dnnl_plain_s * 1e6, "%.2f").c_str(), fmt_or_dash(r.dnnl_pref_s * 1e6, "%.2f").c_str(),
                fmt_or_dash(r.dnnl_auto_s * 1e6, "%.2f").c_str(),
                fmt_or_dash(r.dnnl_plain_s > 0 ? r.dnnl_plain_s / r.pcnn_s : -1, "%.2f").c_str(),
                fmt_or_dash(r.dnnl_pref_s > 0 ? r.dnnl_pref_s / r.pcnn_s : -1, "%.2f").c_str(),
                fmt_or_dash(best > 0 ? best / r.pcnn_s : -1, "%.2f").c_str(), check_label(r), r.pcnn_kernel.c_str(),
                r.dnnl_auto_impl.empty() ? "-" : r.dnnl_auto_impl.c_str());
}

}  // namespace

int main(int argc, char **argv) {
    Options opt = parse_args(argc, argv);
#ifndef PCNN_BENCH_WITH_ONEDNN
    opt.onednn = false;
#endif
    std::vector<Shape> shapes = read_shapes(opt.shapes_file);
    for (const auto &name : opt.only) {
        if (std::none_of(shapes.begin(), shapes.end(), [&](const Shape &s) { return s.name == name; })) {
            std::fprintf(stderr, "pcnn-bench: --only: no shape named '%s' in %s\n", name.c_str(),
                         opt.shapes_file.c_str());
            return 2;
        }
    }
    const std::string date = utc_now(), cpu = cpu_model();
    std::string onednn = "not built in";
#ifdef PCNN_BENCH_WITH_ONEDNN
    if (opt.onednn) onednn = onednn_version();
    else onednn = "disabled (--no-onednn)";
#endif
    double load[3] = {-1, -1, -1};
    getloadavg(load, 3);
    const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    struct utsname un;
    uname(&un);
    std::printf("panama-cnn native bench, %s\n", date.c_str());
    std::printf("cpu %s (%s, %ld online), panama-cnn isa %s, oneDNN %s\n", cpu.c_str(), un.machine, ncpu,
                pcnn_isa_name(pcnn_isa_active()), onednn.c_str());
    if (load[0] > 0.5)
        std::printf("WARNING: load average %.2f on %ld CPUs before the run: the machine is busy, times are noisy\n",
                    load[0], ncpu);
    Peak peak = measure_peak(opt.threads);
    std::printf("clock (estimate) %.2f GHz; single-thread FMA peak: avx2 %.1f GFLOP/s, avx512 %.1f GFLOP/s "
                "(%.0f flop/cycle with %s)\n",
                peak.clock_ghz, peak.avx2_1t, peak.avx512_1t,
                peak.clock_ghz > 0 ? peak.by_threads.begin()->second / peak.clock_ghz / peak.by_threads.begin()->first
                                   : 0,
                peak.isa.c_str());
    for (auto &p : peak.by_threads)
        std::printf("measured %s FMA peak, %d thread(s): %.1f GFLOP/s\n", peak.isa.c_str(), p.first, p.second);
    std::printf("times are medians in microseconds; x_* = t_onednn / t_pcnn (> 1: panama-cnn faster)\n");
    std::printf("%-12s %-11s %3s %12s %8s %6s %12s %12s %12s %7s %7s %7s %5s %-16s %s\n", "shape", "pass", "thr", "pcnn_us",
                "GFLOP/s", "%peak", "dnnl_nchw_us", "dnnl_pref_us", "dnnl_auto_us", "x_nchw", "x_pref", "x_best",
                "check", "pcnn_kernel", "dnnl_auto_impl");

    check(pcnn_set_conv2d_algorithm(opt.algorithm), "pcnn_set_conv2d_algorithm");
    std::printf("panama-cnn conv algorithm request: %s\n", pcnn_algorithm_name(opt.algorithm));
    std::vector<Result> results;
#ifdef PCNN_BENCH_WITH_ONEDNN
    std::unique_ptr<Onednn> dnnl;
    if (opt.onednn) dnnl = std::make_unique<Onednn>();
#endif
    for (const Shape &s : shapes) {
        if (!opt.only.empty() && std::find(opt.only.begin(), opt.only.end(), s.name) == opt.only.end()) continue;
        if (s.op == "conv") {
            pcnn_conv2d_desc d{};
            d.n = s.n; d.c = s.c; d.ih = s.h; d.iw = s.w; d.oc = s.oc; d.kh = s.kh; d.kw = s.kw;
            d.stride_h = d.stride_w = s.stride;
            d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = s.pad;
            d.dilation_h = d.dilation_w = s.dilation;
            d.groups = s.groups;
            check(pcnn_conv2d_desc_init(&d), "pcnn_conv2d_desc_init");
            auto x = random_buffer(s.n * s.c * s.h * s.w, 1);
            auto w = random_buffer(s.oc * (s.c / s.groups) * s.kh * s.kw, 2);
            auto b = random_buffer(s.oc, 3);
            auto y = random_buffer(s.n * s.oc * d.oh * d.ow, 4);
            std::vector<float> dx(x.size()), dw(w.size()), db(b.size()), out(y.size());
            // Dilation spreads the kH*kW taps but does not add any: it enters only through oh, ow.
            double flops = 2.0 * s.n * s.oc * d.oh * d.ow * (s.c / s.groups) * s.kh * s.kw;
            for (int t : opt.threads) {
                check(pcnn_set_num_threads(t), "pcnn_set_num_threads");
                Result rf{s.name, "forward", t, flops}, rd{s.name, "bwd_data", t, flops},
                    rw{s.name, "bwd_weights", t, flops}, rb{s.name, "backward", t, 2 * flops};
                rb.sequence = true;
                rf.pcnn_s = median_time([&] { check(pcnn_conv2d_fwd(&d, x.data(), w.data(), b.data(), out.data()), "fwd"); }, opt.min_time);
                rf.pcnn_kernel = served();
                rd.pcnn_s = median_time([&] { check(pcnn_conv2d_bwd_data(&d, y.data(), w.data(), dx.data()), "bwd_data"); }, opt.min_time);
                rd.pcnn_kernel = served();
                rw.pcnn_s = median_time([&] { check(pcnn_conv2d_bwd_weights(&d, x.data(), y.data(), dw.data(), db.data()), "bwd_weights"); }, opt.min_time);
                rw.pcnn_kernel = served();
                // A layer's backward: bwd_weights (with the bias gradient) then bwd_data, one timed unit.
                // Each pass timed alone keeps its own 2 of the 3 big tensors warm in the caches from
                // one call to the next; the sequence streams all three (measured: see bench/README.md).
                rb.pcnn_s = median_time([&] {
                    check(pcnn_conv2d_bwd_weights(&d, x.data(), y.data(), dw.data(), db.data()), "backward weights");
                    check(pcnn_conv2d_bwd_data(&d, y.data(), w.data(), dx.data()), "backward data");
                }, opt.min_time);
                rb.pcnn_kernel = served();
#ifdef PCNN_BENCH_WITH_ONEDNN
                if (dnnl) {
                    omp_set_num_threads(t);
                    ConvTimes plain = onednn_conv(*dnnl, s, d.oh, d.ow, false, algorithm::convolution_direct, x, w,
                                                  b, y, opt.min_time);
                    ConvTimes pref = onednn_conv(*dnnl, s, d.oh, d.ow, true, algorithm::convolution_direct, x, w, b,
                                                 y, opt.min_time);
                    ConvTimes autoc = onednn_conv(*dnnl, s, d.oh, d.ow, true, algorithm::convolution_auto, x, w, b,
                                                  y, opt.min_time);
                    rf.dnnl_auto_s = autoc.fwd; rd.dnnl_auto_s = autoc.bwd_data; rw.dnnl_auto_s = autoc.bwd_weights;
                    rf.dnnl_auto_impl = autoc.fwd_impl; rd.dnnl_auto_impl = autoc.bwd_data_impl;
                    rw.dnnl_auto_impl = autoc.bwd_weights_impl;
                    rf.err_auto = rel_err(out, autoc.dst); rd.err_auto = rel_err(dx, autoc.diff_src);
                    rw.err_auto = std::max(rel_err(dw, autoc.diff_weights), rel_err(db, autoc.diff_bias));
                    rf.dnnl_plain_s = plain.fwd; rf.dnnl_pref_s = pref.fwd;
                    rd.dnnl_plain_s = plain.bwd_data; rd.dnnl_pref_s = pref.bwd_data;
                    rw.dnnl_plain_s = plain.bwd_weights; rw.dnnl_pref_s = pref.bwd_weights;
                    rf.dnnl_plain_impl = plain.fwd_impl; rf.dnnl_pref_impl = pref.fwd_impl;
                    rd.dnnl_plain_impl = plain.bwd_data_impl; rd.dnnl_pref_impl = pref.bwd_data_impl;
                    rw.dnnl_plain_impl = plain.bwd_weights_impl; rw.dnnl_pref_impl = pref.bwd_weights_impl;
                    rf.err_plain = rel_err(out, plain.dst); rf.err_pref = rel_err(out, pref.dst);
                    rd.err_plain = rel_err(dx, plain.diff_src); rd.err_pref = rel_err(dx, pref.diff_src);
                    rw.err_plain = std::max(rel_err(dw, plain.diff_weights), rel_err(db, plain.diff_bias));
                    rw.err_pref = std::max(rel_err(dw, pref.diff_weights), rel_err(db, pref.diff_bias));
                    rb.dnnl_plain_s = plain.bwd; rb.dnnl_pref_s = pref.bwd; rb.dnnl_auto_s = autoc.bwd;
                    rb.dnnl_plain_impl = plain.bwd_data_impl + "+" + plain.bwd_weights_impl;
                    rb.dnnl_pref_impl = pref.bwd_data_impl + "+" + pref.bwd_weights_impl;
                    rb.dnnl_auto_impl = autoc.bwd_data_impl + "+" + autoc.bwd_weights_impl;
                    // the sequence's outputs are the two passes' (same buffers), checked on their rows
                    rb.err_plain = std::max(rd.err_plain, rw.err_plain);
                    rb.err_pref = std::max(rd.err_pref, rw.err_pref);
                    rb.err_auto = std::max(rd.err_auto, rw.err_auto);
                }
#endif
                for (Result *r : {&rf, &rd, &rw, &rb}) {
                    results.push_back(*r);
                    print_row(*r, peak.by_threads);
                }
                std::fflush(stdout);
            }
        } else if (s.op == "maxpool") {
            pcnn_maxpool2d_desc d{};
            d.n = s.n; d.c = s.c; d.ih = s.h; d.iw = s.w; d.kh = s.kh; d.kw = s.kw;
            d.stride_h = d.stride_w = s.stride;
            d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = s.pad;
            d.dilation_h = d.dilation_w = 1;
            check(pcnn_maxpool2d_desc_init(&d), "pcnn_maxpool2d_desc_init");
            auto x = random_buffer(s.n * s.c * s.h * s.w, 5);
            auto y = random_buffer(s.n * s.c * d.oh * d.ow, 6);
            std::vector<float> out(y.size()), dx(x.size());
            std::vector<int32_t> idx(y.size());
            for (int t : opt.threads) {
                check(pcnn_set_num_threads(t), "pcnn_set_num_threads");
                Result rf{s.name, "forward", t, 0}, rb{s.name, "backward", t, 0}, ri{s.name, "fwd_noidx", t, 0};
                // fwd_noidx: inference, no indices (Java MaxPool2d in eval()); oneDNN forward_inference
                std::vector<float> out_ni(y.size());
                ri.pcnn_s = median_time([&] { check(pcnn_maxpool2d_fwd(&d, x.data(), out_ni.data(), nullptr), "pool fwd_noidx"); }, opt.min_time);
                rf.pcnn_s = median_time([&] { check(pcnn_maxpool2d_fwd(&d, x.data(), out.data(), idx.data()), "pool fwd"); }, opt.min_time);
                rb.pcnn_s = median_time([&] { check(pcnn_maxpool2d_bwd(&d, y.data(), idx.data(), dx.data()), "pool bwd"); }, opt.min_time);
                rb.pcnn_kernel = served();
#ifdef PCNN_BENCH_WITH_ONEDNN
                if (dnnl) {
                    omp_set_num_threads(t);
                    PoolTimes plain = onednn_pool(*dnnl, s, d.oh, d.ow, false, x, y, opt.min_time);
                    PoolTimes pref = onednn_pool(*dnnl, s, d.oh, d.ow, true, x, y, opt.min_time);
                    rf.dnnl_plain_s = plain.fwd; rf.dnnl_pref_s = pref.fwd;
                    rb.dnnl_plain_s = plain.bwd; rb.dnnl_pref_s = pref.bwd;
                    rf.dnnl_plain_impl = plain.fwd_impl; rf.dnnl_pref_impl = pref.fwd_impl;
                    rb.dnnl_plain_impl = plain.bwd_impl; rb.dnnl_pref_impl = pref.bwd_impl;
                    rf.err_plain = rel_err(out, plain.dst); rf.err_pref = rel_err(out, pref.dst);
                    rb.err_plain = rel_err(dx, plain.diff_src); rb.err_pref = rel_err(dx, pref.diff_src);
                    ri.dnnl_plain_s = plain.infer; ri.dnnl_pref_s = pref.infer;
                    ri.dnnl_plain_impl = plain.infer_impl; ri.dnnl_pref_impl = pref.infer_impl;
                    ri.err_plain = rel_err(out_ni, plain.infer_dst); ri.err_pref = rel_err(out_ni, pref.infer_dst);
                }
#endif
                for (Result *r : {&rf, &ri, &rb}) {
                    results.push_back(*r);
                    print_row(*r, peak.by_threads);
                }
                std::fflush(stdout);
            }
        } else {
            std::fprintf(stderr, "pcnn-bench: unknown op '%s' for shape %s\n", s.op.c_str(), s.name.c_str());
            return 2;
        }
    }

    // Geometric means of the ratios, per thread count.
    for (int t : opt.threads) {
        double lp = 0, lq = 0, lb = 0;
        int np = 0, nq = 0, nb = 0;
        for (auto &r : results) {
            if (r.threads != t || r.sequence) continue;
            if (r.dnnl_plain_s > 0) { lp += std::log(r.dnnl_plain_s / r.pcnn_s); np++; }
            if (r.dnnl_pref_s > 0) { lq += std::log(r.dnnl_pref_s / r.pcnn_s); nq++; }
            if (r.dnnl_best_s() > 0) { lb += std::log(r.dnnl_best_s() / r.pcnn_s); nb++; }
        }
        if (np > 0 && nq > 0)
            std::printf("geomean t_onednn/t_pcnn, %d thread(s), %d passes: nchw %.2fx, preferred layout %.2fx, "
                        "best (auto or direct) %.2fx\n",
                        t, np, std::exp(lp / np), std::exp(lq / nq), std::exp(lb / nb));
    }
    int bad = 0;
    for (auto &r : results)
        if (std::string(check_label(r)) == "BAD") {
            bad++;
            std::printf("CHECK FAILED: %s %s %d thread(s): panama-cnn vs oneDNN relative difference nchw %g, "
                        "preferred %g, auto %g (tolerance %g)\n",
                        r.shape.c_str(), r.pass.c_str(), r.threads, r.err_plain, r.err_pref, r.err_auto,
                        kCheckTolerance);
        }

    if (!opt.json_file.empty()) {
        std::ofstream js(opt.json_file);
        js.precision(10);
        js << "{\n  \"date_utc\": \"" << date << "\",\n  \"cpu\": \"" << json_escape(cpu) << "\",\n  \"machine\": \""
           << json_escape(un.machine) << "\",\n  \"online_cpus\": " << ncpu << ",\n  \"load_average_before\": "
           << load[0] << ",\n  \"isa\": \"" << pcnn_isa_name(pcnn_isa_active()) << "\",\n  \"onednn\": \""
           << json_escape(onednn) << "\",\n  \"min_time_s\": " << opt.min_time
           << ",\n  \"time_statistic\": \"median\",\n  \"clock_ghz_estimate\": " << peak.clock_ghz
           << ",\n  \"peak_isa\": \"" << peak.isa << "\",\n  \"peak_gflops_1thread\": {\"avx2\": " << peak.avx2_1t
           << ", \"avx512\": " << peak.avx512_1t << "},\n  \"peak_gflops\": {";
        bool first = true;
        for (auto &p : peak.by_threads) {
            js << (first ? "" : ", ") << "\"" << p.first << "\": " << p.second;
            first = false;
        }
        js << "},\n  \"check_tolerance\": " << kCheckTolerance << ",\n  \"check_failures\": " << bad
           << ",\n  \"results\": [\n";
        for (size_t i = 0; i < results.size(); i++) {
            auto &r = results[i];
            double gf = r.flops > 0 ? r.flops / r.pcnn_s / 1e9 : 0;
            double pk = peak.by_threads[r.threads];
            js << "    {\"shape\": \"" << r.shape << "\", \"pass\": \"" << r.pass << "\", \"threads\": " << r.threads
               << ", \"flops\": " << r.flops << ", \"pcnn_ms\": " << r.pcnn_s * 1e3 << ", \"gflops\": " << gf
               << ", \"peak_fraction\": " << (pk > 0 ? gf / pk : 0) << ", \"onednn_nchw_ms\": "
               << (r.dnnl_plain_s > 0 ? r.dnnl_plain_s * 1e3 : -1) << ", \"onednn_preferred_ms\": "
               << (r.dnnl_pref_s > 0 ? r.dnnl_pref_s * 1e3 : -1) << ", \"onednn_nchw_impl\": \""
               << json_escape(r.dnnl_plain_impl) << "\", \"onednn_preferred_impl\": \""
               << json_escape(r.dnnl_pref_impl) << "\", \"onednn_auto_ms\": "
               << (r.dnnl_auto_s > 0 ? r.dnnl_auto_s * 1e3 : -1) << ", \"onednn_auto_impl\": \""
               << json_escape(r.dnnl_auto_impl) << "\", \"onednn_best_ms\": "
               << (r.dnnl_best_s() > 0 ? r.dnnl_best_s() * 1e3 : -1) << ", \"pcnn_kernel\": \""
               << json_escape(r.pcnn_kernel) << "\", \"check_rel_err_nchw\": " << json_num(r.err_plain)
               << ", \"check_rel_err_preferred\": " << json_num(r.err_pref)
               << ", \"check_rel_err_auto\": " << json_num(r.err_auto) << ", \"check\": \"" << check_label(r) << "\"}"
               << (i + 1 < results.size() ? "," : "") << "\n";
        }
        js << "  ]\n}\n";
        std::printf("wrote %s\n", opt.json_file.c_str());
    }
    return bad > 0 ? 3 : 0;
}
