// Is oneDNN's 2-thread max-pool speed a cache-residency effect of repeated identical calls?
// Times oneDNN 2.x max pooling (nChw16c, forward_training with its workspace, and backward) and
// panama-cnn's pcnn_maxpool2d_fwd (with indices) / _bwd at 1 and 2 threads, each
//   same  on the same buffers every call (what the native bench does), and
//   rot   with the inputs rotated among 3 copies, one per call (forward: src; backward: diff_dst
//         and the workspace / indices), so a call finds none of its inputs left in cache by the
//         previous call (3 x 26 MB is past any cache here). Outputs are the same buffers.
//   noidx panama-cnn's forward without indices (same / rot): 16.1 MB per thread, less than
//         oneDNN's 16.9 MB, to see whether the footprint alone decides the `same` speed
//   all   inputs and outputs rotated among 3 copies: nothing the call touches was touched by the
//         previous two calls (a layer whose buffers were evicted by the rest of a network).
// Per round every variant runs a block of CALLS calls (the order rotating from round to round);
// per block the median call time (1 thread: the caller's CPU time; more: the monotonic clock, as
// the workers' time is not the caller's), per variant the median over rounds. Round 0 is a warm-up. oneDNN's blocked copies
// are made once (reorders not timed, as in the native bench).
// Then a migration check (not timed): per variant, 2 threads, how often the calling thread starts
// a call on another CPU than the previous call (sched_getcpu), and how often the helper thread
// that ran in a call (its /proc/self/task/TID/schedstat run time grew; spinning counts) last ran on another CPU than
// after the previous call. Both pools split the planes statically (caller: first half).
// Build: g++ -O2 -fopenmp -o pool_reuse_onednn bench/tools/pool_reuse_onednn.cpp -Inative/include
//            -Lbuild/rel/native -lpanamacnn -ldnnl -Wl,-rpath,$PWD/build/rel/native   (one line)
// Run:   ./pool_reuse_onednn ROUNDS CALLS "N C H W K STRIDE PAD" [THREADS...]
//        (pool_resnet: "8 64 112 112 3 2 1", pool_mid: "32 64 56 56 2 2 0"; threads default 1 2)
#include <dnnl.hpp>
#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "panamacnn/panamacnn.h"
#include "timing.h"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

// tid -> (last CPU, ns run) of every thread of this process
static std::map<int, std::pair<int, long long>> task_cpus() {
    std::map<int, std::pair<int, long long>> m;
    DIR *d = opendir("/proc/self/task");
    if (!d) return m;
    while (dirent *e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        char p[300], buf[1024];
        std::snprintf(p, sizeof p, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = std::fopen(p, "r");
        if (!f) continue;
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        const char *s = std::strrchr(buf, ')');  // comm may hold spaces
        if (!s) continue;
        // fields after ')': 3 state ... 14 utime 15 stime ... 39 processor
        long long v[40] = {0};
        int field = 3;
        for (const char *q = s + 2; *q && field < 40; field++) {
            v[field] = std::atoll(q);
            while (*q && *q != ' ') q++;
            while (*q == ' ') q++;
        }
        long long run_ns = 0;  // schedstat: ns on CPU (stat's utime ticks are 10 ms)
        std::snprintf(p, sizeof p, "/proc/self/task/%s/schedstat", e->d_name);
        if (FILE *g = std::fopen(p, "r")) {
            if (std::fscanf(g, "%lld", &run_ns) != 1) run_ns = 0;
            std::fclose(g);
        }
        m[std::atoi(e->d_name)] = {(int)v[39], run_ns};
    }
    closedir(d);
    return m;
}

struct Variant {
    std::string name;
    std::function<void(int)> call;  // argument: the call's number (selects the rotated copy)
};

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: pool_reuse_onednn ROUNDS CALLS \"N C H W K STRIDE PAD\" [THREADS...]\n");
        return 2;
    }
    const int rounds = std::atoi(argv[1]), calls = std::atoi(argv[2]);
    long a[7];
    if (std::sscanf(argv[3], "%ld %ld %ld %ld %ld %ld %ld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]) != 7 ||
        rounds < 1 || calls < 1) {
        std::fprintf(stderr, "bad arguments\n");
        return 2;
    }
    std::vector<int> threads;
    for (int i = 4; i < argc; i++) threads.push_back(std::atoi(argv[i]));
    if (threads.empty()) threads = {1, 2};
    pcnn_maxpool2d_desc d{};
    d.n = a[0]; d.c = a[1]; d.ih = a[2]; d.iw = a[3]; d.kh = d.kw = a[4];
    d.stride_h = d.stride_w = a[5];
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = a[6];
    d.dilation_h = d.dilation_w = 1;
    if (pcnn_maxpool2d_desc_init(&d) != PCNN_STATUS_OK) {
        std::fprintf(stderr, "bad desc\n");
        return 2;
    }
    const size_t ni = d.n * d.c * d.ih * d.iw, no = d.n * d.c * d.oh * d.ow;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const int R = 3;
    std::vector<std::vector<float>> x(R, std::vector<float>(ni)), dy(R, std::vector<float>(no));
    std::vector<std::vector<int32_t>> idx(R, std::vector<int32_t>(no));
    for (auto &v : x) for (auto &e : v) e = u(rng);
    for (auto &v : dy) for (auto &e : v) e = u(rng);
    std::vector<std::vector<float>> ys(R, std::vector<float>(no)), dxs(R, std::vector<float>(ni));
    std::vector<std::vector<int32_t>> idxs(R, std::vector<int32_t>(no));
    std::vector<float> &y = ys[0], &dx = dxs[0];
    std::vector<int32_t> &idx_out = idxs[0];
    for (int j = 0; j < R; j++)
        if (pcnn_maxpool2d_fwd(&d, x[j].data(), y.data(), idx[j].data()) != PCNN_STATUS_OK) return 1;

    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    memory::dims sd = {(long)d.n, (long)d.c, (long)d.ih, (long)d.iw}, od = {(long)d.n, (long)d.c, (long)d.oh, (long)d.ow};
    memory::dims strides = {a[5], a[5]}, kernel = {a[4], a[4]}, pads = {a[6], a[6]};
    const tag blk = pcnn_isa_detected() >= PCNN_ISA_AVX512 ? tag::nChw16c : tag::nChw8c;
    memory::desc splain(sd, dt::f32, tag::nchw), oplain(od, dt::f32, tag::nchw), smd(sd, dt::f32, blk),
        omd(od, dt::f32, blk);
    // oneDNN fixes a primitive's thread count when it is created (measured: made at 2 threads, it
    // ran on 2 after omp_set_num_threads(1)), so the primitives are made again per thread count.
    pooling_forward::primitive_desc fpd;
    pooling_backward::primitive_desc bpd;
    pooling_forward fprim;
    pooling_backward bprim;
    auto make = [&] {
        fpd = pooling_forward::primitive_desc(pooling_forward::desc(prop_kind::forward_training, algorithm::pooling_max,
                                                                    smd, omd, strides, kernel, pads, pads),
                                              eng);
        bpd = pooling_backward::primitive_desc(
            pooling_backward::desc(algorithm::pooling_max, smd, omd, strides, kernel, pads, pads), eng, fpd);
        fprim = pooling_forward(fpd);
        bprim = pooling_backward(bpd);
    };
    make();
    std::vector<memory> bx, bdy, ws, bys, bdxs, wss;
    for (int j = 0; j < R; j++) {
        bys.emplace_back(omd, eng);
        bdxs.emplace_back(smd, eng);
        wss.emplace_back(fpd.workspace_desc(), eng);
        std::memset(bys[j].get_data_handle(), 0, omd.get_size());
        std::memset(bdxs[j].get_data_handle(), 0, smd.get_size());
        std::memset(wss[j].get_data_handle(), 0, fpd.workspace_desc().get_size());
        std::memset(ys[j].data(), 0, no * 4);
        std::memset(dxs[j].data(), 0, ni * 4);
        std::memset(idxs[j].data(), 0, no * 4);
    }
    memory by = bys[0], bdx = bdxs[0];
    for (int j = 0; j < R; j++) {
        memory px(splain, eng, x[j].data()), pdy(oplain, eng, dy[j].data());
        bx.emplace_back(smd, eng);
        bdy.emplace_back(omd, eng);
        ws.emplace_back(fpd.workspace_desc(), eng);
        reorder(px, bx[j]).execute(s, px, bx[j]);
        reorder(pdy, bdy[j]).execute(s, pdy, bdy[j]);
        fprim.execute(s, {{DNNL_ARG_SRC, bx[j]}, {DNNL_ARG_DST, by}, {DNNL_ARG_WORKSPACE, ws[j]}});
    }
    s.wait();
    std::printf("shape \"%s\": src %.1f MB, dst %.1f MB, indices %.1f MB, oneDNN workspace %.1f MB; %s / %s\n",
                argv[3], ni * 4e-6, no * 4e-6, no * 4e-6, fpd.workspace_desc().get_size() * 1e-6, fpd.impl_info_str(),
                bpd.impl_info_str());

    auto check = [](int32_t st) {
        if (st != PCNN_STATUS_OK) {
            std::fprintf(stderr, "panama-cnn status %d\n", st);
            std::exit(1);
        }
    };
    std::vector<Variant> vs = {
        {"oneDNN fwd same", [&](int) { fprim.execute(s, {{DNNL_ARG_SRC, bx[0]}, {DNNL_ARG_DST, by}, {DNNL_ARG_WORKSPACE, ws[0]}}); s.wait(); }},
        {"oneDNN fwd rot", [&](int c) { fprim.execute(s, {{DNNL_ARG_SRC, bx[c % R]}, {DNNL_ARG_DST, by}, {DNNL_ARG_WORKSPACE, ws[0]}}); s.wait(); }},
        {"pcnn fwd same", [&](int) { check(pcnn_maxpool2d_fwd(&d, x[0].data(), y.data(), idx_out.data())); }},
        {"pcnn fwd rot", [&](int c) { check(pcnn_maxpool2d_fwd(&d, x[c % R].data(), y.data(), idx_out.data())); }},
        {"oneDNN bwd same", [&](int) { bprim.execute(s, {{DNNL_ARG_DIFF_DST, bdy[0]}, {DNNL_ARG_DIFF_SRC, bdx}, {DNNL_ARG_WORKSPACE, ws[0]}}); s.wait(); }},
        {"oneDNN bwd rot", [&](int c) { bprim.execute(s, {{DNNL_ARG_DIFF_DST, bdy[c % R]}, {DNNL_ARG_DIFF_SRC, bdx}, {DNNL_ARG_WORKSPACE, ws[c % R]}}); s.wait(); }},
        {"pcnn bwd same", [&](int) { check(pcnn_maxpool2d_bwd(&d, dy[0].data(), idx[0].data(), dx.data())); }},
        {"pcnn bwd rot", [&](int c) { check(pcnn_maxpool2d_bwd(&d, dy[c % R].data(), idx[c % R].data(), dx.data())); }},
        {"pcnn noidx same", [&](int) { check(pcnn_maxpool2d_fwd(&d, x[0].data(), y.data(), nullptr)); }},
        {"pcnn noidx rot", [&](int c) { check(pcnn_maxpool2d_fwd(&d, x[c % R].data(), y.data(), nullptr)); }},
        {"oneDNN fwd all", [&](int c) { fprim.execute(s, {{DNNL_ARG_SRC, bx[c % R]}, {DNNL_ARG_DST, bys[c % R]}, {DNNL_ARG_WORKSPACE, wss[c % R]}}); s.wait(); }},
        {"pcnn fwd all", [&](int c) { check(pcnn_maxpool2d_fwd(&d, x[c % R].data(), ys[c % R].data(), idxs[c % R].data())); }},
        {"oneDNN bwd all", [&](int c) { bprim.execute(s, {{DNNL_ARG_DIFF_DST, bdy[c % R]}, {DNNL_ARG_DIFF_SRC, bdxs[c % R]}, {DNNL_ARG_WORKSPACE, ws[c % R]}}); s.wait(); }},
        {"pcnn bwd all", [&](int c) { check(pcnn_maxpool2d_bwd(&d, dy[c % R].data(), idx[c % R].data(), dxs[c % R].data())); }},
    };
    const int nv = (int)vs.size();
    std::vector<double> samples(calls);
    for (int t : threads) {
        omp_set_num_threads(t);
        pcnn_set_num_threads(t);
        make();
        std::vector<std::vector<double>> med(nv), share(nv);
        // 1 thread: the caller's CPU time (both run a 1-thread call on the caller; what other
        // processes take does not count); more: the monotonic clock
        double (*clk)() = t == 1 ? timing_thread_cpu : timing_now;
        for (int k = 0; k <= rounds; k++) {
            for (int i = 0; i < nv; i++) {
                const int v = (i + k) % nv;
                usleep(20000);  // let the other library's helper threads stop spinning
                const double p0 = timing_process_cpu(), c0 = timing_thread_cpu();
                for (int c = 0; c < calls; c++) {
                    const double t0 = clk();
                    vs[v].call(c);
                    samples[c] = clk() - t0;
                }
                // all threads' CPU time over the caller's: 1 when only the caller ran
                if (k > 0) share[v].push_back((timing_process_cpu() - p0) / (timing_thread_cpu() - c0));
                if (k > 0) med[v].push_back(timing_median(samples.data(), calls) * 1e6);
            }
        }
        std::printf("%d thread(s), %d rounds x %d calls, us per call (%s; median of block medians, fastest block)\n",
                    t, rounds, calls, t == 1 ? "thread CPU time" : "wall time");
        for (int v = 0; v < nv; v++) {
            const double m = timing_median(med[v].data(), rounds);  // sorts: [0] is the fastest
            std::printf("  %-16s %8.1f  (min %8.1f)  process/caller CPU %.2f\n", vs[v].name.c_str(), m, med[v][0],
                        timing_median(share[v].data(), rounds));
        }
        if (t < 2) continue;
        std::printf("  migration check, %d calls each: caller on another CPU than last call / helper likewise\n", calls);
        const int me = (int)gettid();
        for (int v = 0; v < nv; v++) {
            usleep(20000);
            int caller_moves = 0, helper_moves = 0, helper_calls = 0, prev_cpu = -1;
            auto before = task_cpus();
            std::map<int, int> helper_last;
            for (int c = 0; c < calls; c++) {
                const int cpu = sched_getcpu();
                if (prev_cpu >= 0 && cpu != prev_cpu) caller_moves++;
                prev_cpu = cpu;
                vs[v].call(c);
                auto after = task_cpus();
                for (auto &[tid, st] : after) {
                    if (tid == me || !before.count(tid) || before[tid].second == st.second) continue;
                    auto it = helper_last.find(tid);
                    if (it != helper_last.end()) {
                        helper_calls++;
                        if (it->second != st.first) helper_moves++;
                    }
                    helper_last[tid] = st.first;
                }
                before = after;
            }
            std::printf("  %-16s caller moved %d of %d, helpers moved %d of %d\n", vs[v].name.c_str(), caller_moves,
                        calls - 1, helper_moves, helper_calls);
        }
    }
    return 0;
}
