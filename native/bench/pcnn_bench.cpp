// Native benchmark: panama-cnn kernels vs oneDNN on the same shapes, in one run.
//
// For every shape of bench/shapes.txt, every pass and every thread count it reports the
// median time, GFLOP/s, the fraction of the machine's FMA peak measured by this same
// process (once before the table, and for conv rows also right around the row's timing), and
// (when built against oneDNN) oneDNN's time with plain NCHW/OIHW tensors and with the layouts
// it prefers (reorders are not timed), as ratios t_onednn / t_pcnn
// (> 1 means panama-cnn is faster). Each oneDNN result is also compared with panama-cnn's
// output (max |diff| / max |oneDNN|, after reordering oneDNN's output back to plain
// layout), so that a mis-specified oneDNN primitive cannot produce a meaningless ratio.
// Convolutions are also timed with algorithm::convolution_auto (preferred layouts), with which
// oneDNN may pick Winograd; "oneDNN best" is the faster of auto and direct (preferred) per pass.
// A convolution's "backward" row times a layer's backward, bwd_weights (bias gradient) then
// bwd_data as one unit, for both libraries: each pass timed alone keeps its two big tensors warm
// in the caches between calls, which the sequence (three big tensors) cannot (bench/README.md).
// Max-pool rows are timed with the same buffers every call and/or (--pool-buffers) with each call
// on the next of several buffer copies ("rotated", the `buf` column), for both libraries: on this
// VM repeating a call on unchanged buffers keeps a thread's half in its vCPU's own cache when it
// fits, which favours the smaller working set (bench/README.md, "Max-pool: same or rotated buffers").
// The training rows (forward, backward) time the mask Java's MaxPool2d keeps (--pool-mask auto):
// the compact one, a tap byte per output (pcnn_maxpool2d_fwd_taps / _bwd_taps), for outputs of
// 65536 elements or more, else the int32 plane offsets (pcnn_maxpool2d_fwd / _bwd; the kernel
// column then ends in "+idx32"); --pool-mask taps or index asks for one kind on every shape.
//
// Usage: pcnn-bench [--shapes FILE] [--threads 1,2] [--min-time SECONDS] [--json FILE]
//                   [--only NAME[,NAME...]] [--no-onednn] [--algorithm auto|direct|winograd|depthwise|pointwise]
//                   [--pool-buffers same|rotated|both] [--pool-mask auto|taps|index]
// Exit status: 0, 2 for bad arguments / shapes file, 1 when a panama-cnn call fails, 3 when a
// result differs from oneDNN's (the table says which: check = BAD). See bench/README.md.
//
// Files: this one (options, shapes file, panama-cnn's runs, table, JSON), bench_common.h (Shape,
// Result, timing), peak.cpp (FMA peak for %peak, short local peaks for %lpeak), onednn_compare.cpp (oneDNN's runs; built only
// with oneDNN, see CMakeLists.txt).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "panamacnn/panamacnn.h"
#include "peak.h"
#ifdef PCNN_BENCH_WITH_ONEDNN
#include "onednn_compare.h"
#endif

namespace {

using namespace pcnn_bench;

struct Options {
    std::string shapes_file = "bench/shapes.txt";
    std::vector<int> threads = {1, 2};
    double min_time = 0.25;
    std::string json_file;
    std::vector<std::string> only;
    bool onednn = true;
    int algorithm = PCNN_ALGO_AUTO;  // panama-cnn's conv algorithm request (pcnn_set_conv2d_algorithm)
    std::string pool_buffers = "both";  // max-pool rows: same, rotated or both (Result::buffers)
    std::string pool_mask = "auto";     // max-pool training rows: auto (as the layer), taps or index
};

// Above this relative difference panama-cnn and oneDNN are not computing the same thing
// (float reassociation alone stays orders of magnitude below it on the bench shapes).
constexpr double kCheckTolerance = 1e-3;

const char *check_label(const Result &r) {
    if (r.err_plain < 0 && r.err_pref < 0 && r.err_auto < 0) return "-";
    auto fine = [](double e) { return e <= kCheckTolerance || e == -1; };  // NaN is not fine
    return (fine(r.err_plain) && fine(r.err_pref) && fine(r.err_auto)) ? "ok" : "BAD";
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
FloatBuf random_buffer(size_t count, uint32_t seed) {
    FloatBuf v(count);
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
        else if (a == "--pool-buffers") {
            o.pool_buffers = next();
            if (o.pool_buffers != "same" && o.pool_buffers != "rotated" && o.pool_buffers != "both") {
                std::fprintf(stderr, "pcnn-bench: --pool-buffers must be same, rotated or both, got '%s'\n",
                             o.pool_buffers.c_str());
                std::exit(2);
            }
        } else if (a == "--pool-mask") {
            o.pool_mask = next();
            if (o.pool_mask != "auto" && o.pool_mask != "taps" && o.pool_mask != "index") {
                std::fprintf(stderr, "pcnn-bench: --pool-mask must be auto, taps or index, got '%s'\n",
                             o.pool_mask.c_str());
                std::exit(2);
            }
        } else if (a == "--algorithm") {
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
                         "[--only NAME,...] [--no-onednn] [--algorithm auto|direct|winograd|depthwise|pointwise] "
                         "[--pool-buffers same|rotated|both] [--pool-mask auto|taps|index]\n");
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
    std::printf("%-12s %-11s %3d %-4s %12s %8s %6s %6s %12s %12s %12s %7s %7s %7s %5s %-16s %s\n", r.shape.c_str(),
                r.pass.c_str(), r.threads, r.rotated() ? "rot" : "same", fmt_or_dash(r.pcnn_s * 1e6, "%.2f").c_str(), fmt_or_dash(gf, "%.1f").c_str(),
                fmt_or_dash(conv && pk > 0 ? 100 * gf / pk : -1, "%.1f%%").c_str(),
                fmt_or_dash(conv && r.local_peak > 0 ? 100 * gf / r.local_peak : -1, "%.1f%%").c_str(),
                fmt_or_dash(r.dnnl_plain_s * 1e6, "%.2f").c_str(), fmt_or_dash(r.dnnl_pref_s * 1e6, "%.2f").c_str(),
                fmt_or_dash(r.dnnl_auto_s * 1e6, "%.2f").c_str(),
                fmt_or_dash(r.dnnl_plain_s > 0 ? r.dnnl_plain_s / r.pcnn_s : -1, "%.2f").c_str(),
                fmt_or_dash(r.dnnl_pref_s > 0 ? r.dnnl_pref_s / r.pcnn_s : -1, "%.2f").c_str(),
                fmt_or_dash(best > 0 ? best / r.pcnn_s : -1, "%.2f").c_str(), check_label(r), r.pcnn_kernel.c_str(),
                r.dnnl_auto_impl.empty() ? "-" : r.dnnl_auto_impl.c_str());
}

// A max-pool training pass with the mask the bench times (Options::pool_mask): the compact tap
// bytes when `taps`, else the int32 indices.
void pool_fwd_masked(const pcnn_maxpool2d_desc &d, bool taps, const float *x, float *out, int32_t *idx,
                     uint8_t *tp, const char *what) {
    check(taps ? pcnn_maxpool2d_fwd_taps(&d, x, out, tp) : pcnn_maxpool2d_fwd(&d, x, out, idx), what);
}
void pool_bwd_masked(const pcnn_maxpool2d_desc &d, bool taps, const float *y, const int32_t *idx,
                     const uint8_t *tp, float *dx, const char *what) {
    check(taps ? pcnn_maxpool2d_bwd_taps(&d, y, tp, dx) : pcnn_maxpool2d_bwd(&d, y, idx, dx), what);
}
std::string served_masked(bool taps) { return served() + (taps ? "" : "+idx32"); }

// PoolSets::count copies of the shape's inputs, and room for the outputs in each set.
PoolSets make_pool_sets(const PoolTensors &pt) {
    PoolSets ps;
    ps.count = rotation_sets(static_cast<double>(pt.x.size() + pt.out.size()) * sizeof(float));
    for (size_t k = 0; k < ps.count; k++) {
        ps.x.push_back(pt.x);
        ps.y.push_back(pt.y);
        ps.dst.emplace_back(pt.out.size());
        ps.dx.emplace_back(pt.dx.size());
        ps.idx.emplace_back(pt.out.size());
        ps.taps.emplace_back(pt.out.size());
    }
    return ps;
}

// Every set's `what` (the first ref.size() elements) must equal panama-cnn's same-buffer output
// `ref` bit for bit: the same inputs, the same kernel, only the addresses differ.
void check_sets(const std::vector<FloatBuf> &bufs, const FloatBuf &ref, const char *what) {
    for (size_t k = 0; k < bufs.size(); k++) {
        if (bufs[k].size() < ref.size() || std::memcmp(bufs[k].data(), ref.data(), ref.size() * sizeof(float)) != 0) {
            std::fprintf(stderr, "pcnn-bench: %s with rotated buffers: set %zu differs from the same-buffer output\n",
                         what, k);
            std::exit(1);
        }
    }
}

// panama-cnn's max-pool rows with rotated buffers, in the order of the same-buffer rows; `ref`
// holds panama-cnn's same-buffer outputs at this thread count. The backward's indices of set k are
// those the forward wrote into set k (its untimed first round writes every set).
void time_pool_rotated(const pcnn_maxpool2d_desc &d, bool taps, PoolSets &ps, const PoolTensors &ref,
                       double min_time, Result &rf, Result &ri, Result &rb) {
    poison(ps.dst);
    ri.pcnn_s = median_time_rotated([&](size_t k) {
        check(pcnn_maxpool2d_fwd(&d, ps.x[k].data(), ps.dst[k].data(), nullptr), "pool fwd_noidx (rotated)");
    }, ps.count, min_time);
    ri.pcnn_kernel = served();
    check_sets(ps.dst, ref.out_noidx, "pool fwd_noidx");
    poison(ps.dst);
    rf.pcnn_s = median_time_rotated([&](size_t k) {
        pool_fwd_masked(d, taps, ps.x[k].data(), ps.dst[k].data(), ps.idx[k].data(), ps.taps[k].data(),
                        "pool fwd (rotated)");
    }, ps.count, min_time);
    rf.pcnn_kernel = served_masked(taps);
    check_sets(ps.dst, ref.out, "pool fwd");
    poison(ps.dx);
    rb.pcnn_s = median_time_rotated([&](size_t k) {
        pool_bwd_masked(d, taps, ps.y[k].data(), ps.idx[k].data(), ps.taps[k].data(), ps.dx[k].data(),
                        "pool bwd (rotated)");
    }, ps.count, min_time);
    rb.pcnn_kernel = served_masked(taps);
    check_sets(ps.dx, ref.dx, "pool bwd");
}

// Per thread count, the max-pool passes' x_best with same and with rotated buffers (geomean and
// minimum): the two readings of the 2-thread max-pool rows side by side.
void print_pool_modes(const std::vector<Result> &results, int threads) {
    for (bool rot : {false, true}) {
        double lb = 0, min = 0;
        int nb = 0;
        const Result *worst = nullptr;
        for (auto &r : results) {
            if (r.threads != threads || r.flops > 0 || r.rotated() != rot || !(r.dnnl_best_s() > 0)) continue;
            const double x = r.dnnl_best_s() / r.pcnn_s;
            lb += std::log(x);
            nb++;
            if (worst == nullptr || x < min) min = x, worst = &r;
        }
        if (nb > 0)
            std::printf("max-pool, %s buffers, %d thread(s), %d passes: geomean t_onednn_best/t_pcnn %.2fx, "
                        "min %.2fx (%s %s)\n",
                        rot ? "rotated" : "same", threads, nb, std::exp(lb / nb), min, worst->shape.c_str(),
                        worst->pass.c_str());
    }
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
    std::printf("%-12s %-11s %3s %-4s %12s %8s %6s %6s %12s %12s %12s %7s %7s %7s %5s %-16s %s\n", "shape", "pass", "thr",
                "buf", "pcnn_us", "GFLOP/s", "%peak", "%lpeak", "dnnl_nchw_us", "dnnl_pref_us", "dnnl_auto_us", "x_nchw", "x_pref", "x_best",
                "check", "pcnn_kernel", "dnnl_auto_impl");

    check(pcnn_set_conv2d_algorithm(opt.algorithm), "pcnn_set_conv2d_algorithm");
    std::printf("panama-cnn conv algorithm request: %s\n", pcnn_algorithm_name(opt.algorithm));
    std::vector<Result> results;
#ifdef PCNN_BENCH_WITH_ONEDNN
    std::unique_ptr<OnednnRunner> dnnl;
    if (opt.onednn) dnnl = std::make_unique<OnednnRunner>();
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
            ConvTensors ct;
            ct.x = random_buffer(s.n * s.c * s.h * s.w, 1);
            ct.w = random_buffer(s.oc * (s.c / s.groups) * s.kh * s.kw, 2);
            ct.b = random_buffer(s.oc, 3);
            ct.y = random_buffer(s.n * s.oc * d.oh * d.ow, 4);
            ct.dx.resize(ct.x.size()), ct.dw.resize(ct.w.size()), ct.db.resize(ct.b.size()), ct.out.resize(ct.y.size());
            auto &x = ct.x, &w = ct.w, &b = ct.b, &y = ct.y, &dx = ct.dx, &dw = ct.dw, &db = ct.db, &out = ct.out;
            // Dilation spreads the kH*kW taps but does not add any: it enters only through oh, ow.
            double flops = 2.0 * s.n * s.oc * d.oh * d.ow * (s.c / s.groups) * s.kh * s.kw;
            for (int t : opt.threads) {
                check(pcnn_set_num_threads(t), "pcnn_set_num_threads");
                Result rf{s.name, "forward", t, flops}, rd{s.name, "bwd_data", t, flops},
                    rw{s.name, "bwd_weights", t, flops}, rb{s.name, "backward", t, 2 * flops};
                rb.sequence = true;
                // Local peak (%lpeak): a short FMA peak between the rows' timings; a row takes the
                // mean of the one before and the one after it (the clock drifts during a run).
                double lp_before = local_peak(peak, t);
                auto local = [&](Result &r) {
                    const double lp_after = local_peak(peak, t);
                    r.local_peak = (lp_before + lp_after) / 2;
                    lp_before = lp_after;
                };
                rf.pcnn_s = median_time([&] { check(pcnn_conv2d_fwd(&d, x.data(), w.data(), b.data(), out.data()), "fwd"); }, opt.min_time);
                rf.pcnn_kernel = served();
                local(rf);
                rd.pcnn_s = median_time([&] { check(pcnn_conv2d_bwd_data(&d, y.data(), w.data(), dx.data()), "bwd_data"); }, opt.min_time);
                rd.pcnn_kernel = served();
                local(rd);
                rw.pcnn_s = median_time([&] { check(pcnn_conv2d_bwd_weights(&d, x.data(), y.data(), dw.data(), db.data()), "bwd_weights"); }, opt.min_time);
                rw.pcnn_kernel = served();
                local(rw);
                // A layer's backward: bwd_weights (with the bias gradient) then bwd_data, one timed unit.
                // Each pass timed alone keeps its own 2 of the 3 big tensors warm in the caches from
                // one call to the next; the sequence streams all three (measured: see bench/README.md).
                rb.pcnn_s = median_time([&] {
                    check(pcnn_conv2d_bwd_weights(&d, x.data(), y.data(), dw.data(), db.data()), "backward weights");
                    check(pcnn_conv2d_bwd_data(&d, y.data(), w.data(), dx.data()), "backward data");
                }, opt.min_time);
                rb.pcnn_kernel = served();
                local(rb);
#ifdef PCNN_BENCH_WITH_ONEDNN
                if (dnnl) dnnl->compare_conv(s, d.oh, d.ow, t, ct, opt.min_time, rf, rd, rw, rb);
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
            PoolTensors pt;
            pt.x = random_buffer(s.n * s.c * s.h * s.w, 5);
            pt.y = random_buffer(s.n * s.c * d.oh * d.ow, 6);
            pt.out.resize(pt.y.size()), pt.out_noidx.resize(pt.y.size()), pt.dx.resize(pt.x.size());
            auto &x = pt.x, &y = pt.y, &out = pt.out, &out_ni = pt.out_noidx, &dx = pt.dx;
            std::vector<int32_t> idx(y.size());
            std::vector<uint8_t> tp(y.size());
            // auto: what Java's MaxPool2d keeps (MaxPool2dGeometry.TAP_MASK_MIN_OUTPUTS = 65536)
            const bool fits = d.kh * d.kw <= PCNN_MAXPOOL2D_TAPS_MAX;
            const bool taps = fits && (opt.pool_mask == "taps" ||
                                       (opt.pool_mask == "auto" && d.n * d.c * d.oh * d.ow >= 65536));
            const bool same = opt.pool_buffers != "rotated", rotated = opt.pool_buffers != "same";
            PoolSets sets;  // rotated buffers: allocated and written once per shape, for every thread count
            if (rotated) sets = make_pool_sets(pt);
            for (int t : opt.threads) {
                check(pcnn_set_num_threads(t), "pcnn_set_num_threads");
                std::vector<Result> rows;
                if (same) {
                    Result rf{s.name, "forward", t, 0}, rb{s.name, "backward", t, 0}, ri{s.name, "fwd_noidx", t, 0};
                    // fwd_noidx: inference, no indices (Java MaxPool2d in eval()); oneDNN forward_inference
                    ri.pcnn_s = median_time([&] { check(pcnn_maxpool2d_fwd(&d, x.data(), out_ni.data(), nullptr), "pool fwd_noidx"); }, opt.min_time);
                    ri.pcnn_kernel = served();
                    rf.pcnn_s = median_time([&] { pool_fwd_masked(d, taps, x.data(), out.data(), idx.data(), tp.data(), "pool fwd"); }, opt.min_time);
                    rf.pcnn_kernel = served_masked(taps);
                    rb.pcnn_s = median_time([&] { pool_bwd_masked(d, taps, y.data(), idx.data(), tp.data(), dx.data(), "pool bwd"); }, opt.min_time);
                    rb.pcnn_kernel = served_masked(taps);
#ifdef PCNN_BENCH_WITH_ONEDNN
                    if (dnnl) dnnl->compare_pool(s, d.oh, d.ow, t, pt, opt.min_time, rf, ri, rb);
#endif
                    rows.insert(rows.end(), {rf, ri, rb});
                }
                if (rotated) {
                    if (!same) {  // the reference outputs at this thread count (untimed)
                        check(pcnn_maxpool2d_fwd(&d, x.data(), out_ni.data(), nullptr), "pool fwd_noidx");
                        pool_fwd_masked(d, taps, x.data(), out.data(), idx.data(), tp.data(), "pool fwd");
                        pool_bwd_masked(d, taps, y.data(), idx.data(), tp.data(), dx.data(), "pool bwd");
                    }
                    Result rf{s.name, "forward", t, 0}, rb{s.name, "backward", t, 0}, ri{s.name, "fwd_noidx", t, 0};
                    for (Result *r : {&rf, &ri, &rb}) r->buffers = "rotated", r->buffer_sets = sets.count;
                    time_pool_rotated(d, taps, sets, pt, opt.min_time, rf, ri, rb);
#ifdef PCNN_BENCH_WITH_ONEDNN
                    if (dnnl) dnnl->compare_pool_rotated(s, d.oh, d.ow, t, sets, pt, opt.min_time, rf, ri, rb);
#endif
                    rows.insert(rows.end(), {rf, ri, rb});
                }
                for (const Result &r : rows) {
                    results.push_back(r);
                    print_row(r, peak.by_threads);
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
            if (r.threads != t || r.sequence || r.rotated()) continue;
            if (r.dnnl_plain_s > 0) { lp += std::log(r.dnnl_plain_s / r.pcnn_s); np++; }
            if (r.dnnl_pref_s > 0) { lq += std::log(r.dnnl_pref_s / r.pcnn_s); nq++; }
            if (r.dnnl_best_s() > 0) { lb += std::log(r.dnnl_best_s() / r.pcnn_s); nb++; }
        }
        if (np > 0 && nq > 0)
            std::printf("geomean t_onednn/t_pcnn, %d thread(s), %d passes: nchw %.2fx, preferred layout %.2fx, "
                        "best (auto or direct) %.2fx\n",
                        t, np, std::exp(lp / np), std::exp(lq / nq), std::exp(lb / nb));
        print_pool_modes(results, t);
    }
    int bad = 0;
    for (auto &r : results)
        if (std::string(check_label(r)) == "BAD") {
            bad++;
            std::printf("CHECK FAILED: %s %s %d thread(s), %s buffers: panama-cnn vs oneDNN relative difference nchw %g, "
                        "preferred %g, auto %g (tolerance %g)\n",
                        r.shape.c_str(), r.pass.c_str(), r.threads, r.buffers.c_str(), r.err_plain, r.err_pref, r.err_auto,
                        kCheckTolerance);
        }

    if (!opt.json_file.empty()) {
        std::ofstream js(opt.json_file);
        js.precision(10);
        js << "{\n  \"date_utc\": \"" << date << "\",\n  \"cpu\": \"" << json_escape(cpu) << "\",\n  \"machine\": \""
           << json_escape(un.machine) << "\",\n  \"online_cpus\": " << ncpu << ",\n  \"load_average_before\": "
           << load[0] << ",\n  \"isa\": \"" << pcnn_isa_name(pcnn_isa_active()) << "\",\n  \"onednn\": \""
           << json_escape(onednn) << "\",\n  \"min_time_s\": " << opt.min_time
           << ",\n  \"pool_buffers\": \"" << opt.pool_buffers << "\",\n  \"pool_rotate_evict_bytes\": "
           << kRotateEvictBytes
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
               << ", \"buffers\": \"" << r.buffers << "\", \"buffer_sets\": " << r.buffer_sets << ", \"flops\": " << r.flops << ", \"pcnn_ms\": " << r.pcnn_s * 1e3 << ", \"gflops\": " << gf
               << ", \"peak_fraction\": " << (pk > 0 ? gf / pk : 0) << ", \"local_peak_gflops\": " << r.local_peak
               << ", \"local_peak_fraction\": " << (r.local_peak > 0 ? gf / r.local_peak : 0) << ", \"onednn_nchw_ms\": "
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
