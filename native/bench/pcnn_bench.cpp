// Native benchmark: panama-cnn kernels vs oneDNN on the same shapes, in one run.
//
// For every shape of bench/shapes.txt, every pass and every thread count it reports the
// median time, GFLOP/s, the fraction of the machine's FMA peak measured by this same
// process, and (when built against oneDNN) oneDNN's time with plain NCHW/OIHW tensors and
// with the layouts it prefers (reorders are not timed), as ratios t_onednn / t_pcnn
// (> 1 means panama-cnn is faster).
//
// Usage: pcnn-bench [--shapes FILE] [--threads 1,2] [--min-time SECONDS] [--json FILE]
//                   [--only NAME[,NAME...]] [--no-onednn]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/utsname.h>

#include "panamacnn/panamacnn.h"

#ifdef PCNN_BENCH_WITH_ONEDNN
#include <omp.h>

#include "oneapi/dnnl/dnnl.hpp"
#endif

extern "C" double pcnn_bench_fma_peak_avx512(int64_t iterations, float *sink);
extern "C" double pcnn_bench_fma_peak_avx2(int64_t iterations, float *sink);

namespace {

struct Shape {
    std::string name, op;
    int64_t n, c, h, w, oc, kh, kw, stride, pad;
};

struct Options {
    std::string shapes_file = "bench/shapes.txt";
    std::vector<int> threads = {1, 2};
    double min_time = 0.25;
    std::string json_file;
    std::vector<std::string> only;
    bool onednn = true;
};

struct Result {
    std::string shape, pass;
    int threads = 1;
    double flops = 0, pcnn_s = 0, dnnl_plain_s = -1, dnnl_pref_s = -1;
    std::string dnnl_plain_impl, dnnl_pref_impl;
};

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

// Single-thread and all-thread FMA peak in GFLOP/s for the best ISA the CPU has.
std::map<int, double> measure_peak(const std::vector<int> &thread_counts) {
    int isa = pcnn_isa_detected();
    auto kernel = isa >= PCNN_ISA_AVX512 ? pcnn_bench_fma_peak_avx512
                : isa >= PCNN_ISA_AVX2   ? pcnn_bench_fma_peak_avx2
                                         : nullptr;
    std::map<int, double> peak;
    for (int t : thread_counts) {
        if (!kernel) {
            peak[t] = 0;
            continue;
        }
        std::vector<double> rates;
        for (int rep = 0; rep < 7; rep++) {
            const int64_t iters = 20'000'000;
            std::vector<std::thread> pool;
            std::vector<float> sinks(t);
            double t0 = now_s();
            for (int i = 0; i < t; i++) pool.emplace_back([&, i] { kernel(iters, &sinks[i]); });
            for (auto &th : pool) th.join();
            double dt = now_s() - t0;
            double flops_per_thread = iters * 12.0 * (isa >= PCNN_ISA_AVX512 ? 16 : 8) * 2.0;
            rates.push_back(flops_per_thread * t / dt / 1e9);
        }
        std::sort(rates.begin(), rates.end());
        peak[t] = rates[rates.size() - 1 - rates.size() / 4];  // upper quartile: noise only slows
    }
    return peak;
}

#ifdef PCNN_BENCH_WITH_ONEDNN
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Onednn {
    engine eng{engine::kind::cpu, 0};
    stream strm{eng};
};

// Executes `prim` with `args`, all already in the layout it wants; returns the median time.
double time_primitive(Onednn &d, primitive &prim, std::unordered_map<int, memory> &args, double min_time) {
    return median_time([&] {
        prim.execute(d.strm, args);
        d.strm.wait();
    }, min_time);
}

memory filled(Onednn &d, const memory::desc &want, const memory::desc &plain, std::vector<float> &data) {
    memory src(plain, d.eng, data.data());
    if (want == plain) return src;
    memory dst(want, d.eng);
    reorder(src, dst).execute(d.strm, src, dst);
    d.strm.wait();
    return dst;
}

struct ConvTimes {
    double fwd = -1, bwd_data = -1, bwd_weights = -1;
    std::string fwd_impl, bwd_data_impl, bwd_weights_impl;
};

ConvTimes onednn_conv(Onednn &d, const Shape &s, int64_t oh, int64_t ow, bool preferred,
                      std::vector<float> &x, std::vector<float> &w, std::vector<float> &b,
                      std::vector<float> &y, double min_time) {
    memory::dims src_dims = {s.n, s.c, s.h, s.w}, w_dims = {s.oc, s.c, s.kh, s.kw}, b_dims = {s.oc},
                 dst_dims = {s.n, s.oc, oh, ow}, strides = {s.stride, s.stride}, pads = {s.pad, s.pad};
    memory::desc src_plain(src_dims, dt::f32, tag::nchw), w_plain(w_dims, dt::f32, tag::oihw),
        b_plain(b_dims, dt::f32, tag::x), dst_plain(dst_dims, dt::f32, tag::nchw);
    memory::desc src_md = preferred ? memory::desc(src_dims, dt::f32, tag::any) : src_plain;
    memory::desc w_md = preferred ? memory::desc(w_dims, dt::f32, tag::any) : w_plain;
    memory::desc dst_md = preferred ? memory::desc(dst_dims, dt::f32, tag::any) : dst_plain;
    ConvTimes t;

    convolution_forward::desc fd(prop_kind::forward_training, algorithm::convolution_direct, src_md, w_md,
                                 b_plain, dst_md, strides, pads, pads);
    convolution_forward::primitive_desc fpd(fd, d.eng);
    {
        std::unordered_map<int, memory> args = {
            {DNNL_ARG_SRC, filled(d, fpd.src_desc(), src_plain, x)},
            {DNNL_ARG_WEIGHTS, filled(d, fpd.weights_desc(), w_plain, w)},
            {DNNL_ARG_BIAS, memory(b_plain, d.eng, b.data())},
            {DNNL_ARG_DST, memory(fpd.dst_desc(), d.eng)}};
        convolution_forward prim(fpd);
        t.fwd = time_primitive(d, prim, args, min_time);
        t.fwd_impl = fpd.impl_info_str();
    }
    {
        convolution_backward_data::desc bd(algorithm::convolution_direct, src_md, w_md, dst_md, strides, pads,
                                           pads);
        convolution_backward_data::primitive_desc bpd(bd, d.eng, fpd);
        std::unordered_map<int, memory> args = {
            {DNNL_ARG_DIFF_DST, filled(d, bpd.diff_dst_desc(), dst_plain, y)},
            {DNNL_ARG_WEIGHTS, filled(d, bpd.weights_desc(), w_plain, w)},
            {DNNL_ARG_DIFF_SRC, memory(bpd.diff_src_desc(), d.eng)}};
        convolution_backward_data prim(bpd);
        t.bwd_data = time_primitive(d, prim, args, min_time);
        t.bwd_data_impl = bpd.impl_info_str();
    }
    {
        convolution_backward_weights::desc wd(algorithm::convolution_direct, src_md, w_md, b_plain, dst_md,
                                              strides, pads, pads);
        convolution_backward_weights::primitive_desc wpd(wd, d.eng, fpd);
        std::unordered_map<int, memory> args = {
            {DNNL_ARG_SRC, filled(d, wpd.src_desc(), src_plain, x)},
            {DNNL_ARG_DIFF_DST, filled(d, wpd.diff_dst_desc(), dst_plain, y)},
            {DNNL_ARG_DIFF_WEIGHTS, memory(wpd.diff_weights_desc(), d.eng)},
            {DNNL_ARG_DIFF_BIAS, memory(wpd.diff_bias_desc(), d.eng)}};
        convolution_backward_weights prim(wpd);
        t.bwd_weights = time_primitive(d, prim, args, min_time);
        t.bwd_weights_impl = wpd.impl_info_str();
    }
    return t;
}

struct PoolTimes {
    double fwd = -1, bwd = -1;
    std::string fwd_impl, bwd_impl;
};

PoolTimes onednn_pool(Onednn &d, const Shape &s, int64_t oh, int64_t ow, bool preferred, std::vector<float> &x,
                      std::vector<float> &y, double min_time) {
    memory::dims src_dims = {s.n, s.c, s.h, s.w}, dst_dims = {s.n, s.c, oh, ow},
                 strides = {s.stride, s.stride}, kernel = {s.kh, s.kw}, pads = {s.pad, s.pad};
    memory::desc src_plain(src_dims, dt::f32, tag::nchw), dst_plain(dst_dims, dt::f32, tag::nchw);
    // Pooling takes no "any": the preferred layout on AVX-512 is nChw16c.
    memory::desc src_md = preferred ? memory::desc(src_dims, dt::f32, tag::nChw16c) : src_plain;
    memory::desc dst_md = preferred ? memory::desc(dst_dims, dt::f32, tag::nChw16c) : dst_plain;
    PoolTimes t;
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
        else {
            std::fprintf(stderr,
                         "usage: pcnn-bench [--shapes FILE] [--threads 1,2] [--min-time S] [--json FILE] "
                         "[--only NAME,...] [--no-onednn]\n");
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

}  // namespace

int main(int argc, char **argv) {
    Options opt = parse_args(argc, argv);
#ifndef PCNN_BENCH_WITH_ONEDNN
    opt.onednn = false;
#endif
    std::vector<Shape> shapes = read_shapes(opt.shapes_file);
    std::map<int, double> peak = measure_peak(opt.threads);
    struct utsname un;
    uname(&un);
    std::printf("panama-cnn native bench: isa %s, machine %s, oneDNN %s\n", pcnn_isa_name(pcnn_isa_active()),
                un.machine, opt.onednn ? "2.x (same run)" : "not built in");
    for (auto &p : peak) std::printf("measured FMA peak, %d thread(s): %.1f GFLOP/s\n", p.first, p.second);
    std::printf("%-12s %-11s %3s %10s %8s %6s %11s %11s %7s %7s\n", "shape", "pass", "thr", "pcnn_ms", "GFLOP/s",
                "%peak", "dnnl_nchw", "dnnl_pref", "x_nchw", "x_pref");

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
            d.dilation_h = d.dilation_w = 1;
            d.groups = 1;
            check(pcnn_conv2d_desc_init(&d), "pcnn_conv2d_desc_init");
            auto x = random_buffer(s.n * s.c * s.h * s.w, 1);
            auto w = random_buffer(s.oc * s.c * s.kh * s.kw, 2);
            auto b = random_buffer(s.oc, 3);
            auto y = random_buffer(s.n * s.oc * d.oh * d.ow, 4);
            std::vector<float> dx(x.size()), dw(w.size()), db(b.size()), out(y.size());
            double flops = 2.0 * s.n * s.oc * d.oh * d.ow * s.c * s.kh * s.kw;
            for (int t : opt.threads) {
                check(pcnn_set_num_threads(t), "pcnn_set_num_threads");
                Result rf{s.name, "forward", t, flops}, rd{s.name, "bwd_data", t, flops},
                    rw{s.name, "bwd_weights", t, flops};
                rf.pcnn_s = median_time([&] { check(pcnn_conv2d_fwd(&d, x.data(), w.data(), b.data(), out.data()), "fwd"); }, opt.min_time);
                rd.pcnn_s = median_time([&] { check(pcnn_conv2d_bwd_data(&d, y.data(), w.data(), dx.data()), "bwd_data"); }, opt.min_time);
                rw.pcnn_s = median_time([&] { check(pcnn_conv2d_bwd_weights(&d, x.data(), y.data(), dw.data(), db.data()), "bwd_weights"); }, opt.min_time);
#ifdef PCNN_BENCH_WITH_ONEDNN
                if (dnnl) {
                    omp_set_num_threads(t);
                    ConvTimes plain = onednn_conv(*dnnl, s, d.oh, d.ow, false, x, w, b, y, opt.min_time);
                    ConvTimes pref = onednn_conv(*dnnl, s, d.oh, d.ow, true, x, w, b, y, opt.min_time);
                    rf.dnnl_plain_s = plain.fwd; rf.dnnl_pref_s = pref.fwd;
                    rd.dnnl_plain_s = plain.bwd_data; rd.dnnl_pref_s = pref.bwd_data;
                    rw.dnnl_plain_s = plain.bwd_weights; rw.dnnl_pref_s = pref.bwd_weights;
                    rf.dnnl_plain_impl = plain.fwd_impl; rf.dnnl_pref_impl = pref.fwd_impl;
                    rd.dnnl_plain_impl = plain.bwd_data_impl; rd.dnnl_pref_impl = pref.bwd_data_impl;
                    rw.dnnl_plain_impl = plain.bwd_weights_impl; rw.dnnl_pref_impl = pref.bwd_weights_impl;
                }
#endif
                for (Result *r : {&rf, &rd, &rw}) results.push_back(*r);
                for (Result *r : {&rf, &rd, &rw}) {
                    double gf = r->flops / r->pcnn_s / 1e9;
                    std::printf("%-12s %-11s %3d %10.3f %8.1f %5.0f%% %11.3f %11.3f %7.2f %7.2f\n", r->shape.c_str(),
                                r->pass.c_str(), t, r->pcnn_s * 1e3, gf, peak[t] > 0 ? 100 * gf / peak[t] : 0,
                                r->dnnl_plain_s * 1e3, r->dnnl_pref_s * 1e3,
                                r->dnnl_plain_s > 0 ? r->dnnl_plain_s / r->pcnn_s : 0,
                                r->dnnl_pref_s > 0 ? r->dnnl_pref_s / r->pcnn_s : 0);
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
                Result rf{s.name, "forward", t, 0}, rb{s.name, "backward", t, 0};
                rf.pcnn_s = median_time([&] { check(pcnn_maxpool2d_fwd(&d, x.data(), out.data(), idx.data()), "pool fwd"); }, opt.min_time);
                rb.pcnn_s = median_time([&] { check(pcnn_maxpool2d_bwd(&d, y.data(), idx.data(), dx.data()), "pool bwd"); }, opt.min_time);
#ifdef PCNN_BENCH_WITH_ONEDNN
                if (dnnl) {
                    omp_set_num_threads(t);
                    PoolTimes plain = onednn_pool(*dnnl, s, d.oh, d.ow, false, x, y, opt.min_time);
                    PoolTimes pref = onednn_pool(*dnnl, s, d.oh, d.ow, true, x, y, opt.min_time);
                    rf.dnnl_plain_s = plain.fwd; rf.dnnl_pref_s = pref.fwd;
                    rb.dnnl_plain_s = plain.bwd; rb.dnnl_pref_s = pref.bwd;
                    rf.dnnl_plain_impl = plain.fwd_impl; rf.dnnl_pref_impl = pref.fwd_impl;
                    rb.dnnl_plain_impl = plain.bwd_impl; rb.dnnl_pref_impl = pref.bwd_impl;
                }
#endif
                for (Result *r : {&rf, &rb}) {
                    results.push_back(*r);
                    std::printf("%-12s %-11s %3d %10.3f %8s %6s %11.3f %11.3f %7.2f %7.2f\n", r->shape.c_str(),
                                r->pass.c_str(), t, r->pcnn_s * 1e3, "-", "-", r->dnnl_plain_s * 1e3,
                                r->dnnl_pref_s * 1e3, r->dnnl_plain_s > 0 ? r->dnnl_plain_s / r->pcnn_s : 0,
                                r->dnnl_pref_s > 0 ? r->dnnl_pref_s / r->pcnn_s : 0);
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
        double lp = 0, lq = 0;
        int np = 0, nq = 0;
        for (auto &r : results) {
            if (r.threads != t) continue;
            if (r.dnnl_plain_s > 0) { lp += std::log(r.dnnl_plain_s / r.pcnn_s); np++; }
            if (r.dnnl_pref_s > 0) { lq += std::log(r.dnnl_pref_s / r.pcnn_s); nq++; }
        }
        if (np > 0)
            std::printf("geomean speed-up vs oneDNN, %d thread(s): nchw %.2fx, preferred layout %.2fx\n", t,
                        std::exp(lp / np), std::exp(lq / nq));
    }

    if (!opt.json_file.empty()) {
        std::ofstream js(opt.json_file);
        js << "{\n  \"isa\": \"" << pcnn_isa_name(pcnn_isa_active()) << "\",\n  \"peak_gflops\": {";
        bool first = true;
        for (auto &p : peak) {
            js << (first ? "" : ", ") << "\"" << p.first << "\": " << p.second;
            first = false;
        }
        js << "},\n  \"results\": [\n";
        for (size_t i = 0; i < results.size(); i++) {
            auto &r = results[i];
            double gf = r.flops > 0 ? r.flops / r.pcnn_s / 1e9 : 0;
            js << "    {\"shape\": \"" << r.shape << "\", \"pass\": \"" << r.pass << "\", \"threads\": " << r.threads
               << ", \"pcnn_ms\": " << r.pcnn_s * 1e3 << ", \"gflops\": " << gf << ", \"peak_fraction\": "
               << (peak[r.threads] > 0 ? gf / peak[r.threads] : 0) << ", \"onednn_nchw_ms\": "
               << (r.dnnl_plain_s > 0 ? r.dnnl_plain_s * 1e3 : -1) << ", \"onednn_preferred_ms\": "
               << (r.dnnl_pref_s > 0 ? r.dnnl_pref_s * 1e3 : -1) << ", \"onednn_nchw_impl\": \""
               << json_escape(r.dnnl_plain_impl) << "\", \"onednn_preferred_impl\": \""
               << json_escape(r.dnnl_pref_impl) << "\"}" << (i + 1 < results.size() ? "," : "") << "\n";
        }
        js << "  ]\n}\n";
        std::printf("wrote %s\n", opt.json_file.c_str());
    }
    return 0;
}
