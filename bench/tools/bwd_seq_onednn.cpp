// A conv layer's backward (bwd_weights with the bias gradient, then bwd_data) of panama-cnn
// against the same sequence in oneDNN 2.x (direct on its preferred layouts, and convolution_auto),
// at ONE thread, in one process: blocks of CALLS sequences of each, the order rotating from round
// to round, each block timed in the calling thread's CPU time (oneDNN's OpenMP runs a 1-thread
// region on the caller), so time lost to other processes does not count; per contender the median
// over rounds, and per round the ratio to panama-cnn, whose median is printed (x = t_onednn / t_pcnn:
// the native bench's x_best for the faster oneDNN line).
// The native bench times the same sequences in wall time, one after the other; on a loaded VM
// those windows see different loads, this does not.
// Timing helpers (thread CPU clock, median): timing.h beside this file.
// Build: g++ -O2 -fopenmp -o bwd_seq_onednn bench/tools/bwd_seq_onednn.cpp -Inative/include
//            -Lbuild/rel/native -lpanamacnn -ldnnl -Wl,-rpath,$PWD/build/rel/native   (one line)
// Run:   OMP_NUM_THREADS=1 ./bwd_seq_onednn ROUNDS CALLS "N C H W OC K STRIDE PAD GROUPS"
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <unordered_map>
#include <vector>

#include "panamacnn/panamacnn.h"
#include "timing.h"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static memory filled(engine &eng, stream &s, const memory::desc &want, const memory::desc &plain, std::vector<float> &v) {
    memory src(plain, eng, v.data());
    if (want == plain) return src;
    memory dst(want, eng);
    reorder(src, dst).execute(s, src, dst);
    s.wait();
    return dst;
}

// oneDNN's backward sequence for one algorithm on its preferred layouts, ready to run.
struct DnnlSeq {
    convolution_backward_weights wprim;
    convolution_backward_data bprim;
    std::unordered_map<int, memory> wargs, bargs;
    void run(stream &s) {
        wprim.execute(s, wargs);
        bprim.execute(s, bargs);
        s.wait();
    }
};

static DnnlSeq make_seq(engine &eng, stream &s, const long *a, long oh, long ow, algorithm alg, std::vector<float> &x,
                        std::vector<float> &w, std::vector<float> &y) {
    const long n = a[0], c = a[1], h = a[2], wd = a[3], oc = a[4], k = a[5], st = a[6], pad = a[7], g = a[8];
    memory::dims src_dims = {n, c, h, wd}, dst_dims = {n, oc, oh, ow}, b_dims = {oc}, strides = {st, st},
                 pads = {pad, pad}, dil = {0, 0};
    memory::dims w_dims = g == 1 ? memory::dims{oc, c, k, k} : memory::dims{g, oc / g, c / g, k, k};
    memory::desc src_plain(src_dims, dt::f32, tag::nchw), dst_plain(dst_dims, dt::f32, tag::nchw),
        w_plain(w_dims, dt::f32, g == 1 ? tag::oihw : tag::goihw), b_plain(b_dims, dt::f32, tag::x);
    memory::desc src_md(src_dims, dt::f32, tag::any), w_md(w_dims, dt::f32, tag::any), dst_md(dst_dims, dt::f32, tag::any);
    convolution_forward::primitive_desc fpd(
        convolution_forward::desc(prop_kind::forward_training, alg, src_md, w_md, b_plain, dst_md, strides, dil, pads, pads),
        eng);
    convolution_backward_data::primitive_desc bpd(
        convolution_backward_data::desc(alg, src_md, w_md, dst_md, strides, dil, pads, pads), eng, fpd);
    convolution_backward_weights::primitive_desc wpd(
        convolution_backward_weights::desc(alg, src_md, w_md, b_plain, dst_md, strides, dil, pads, pads), eng, fpd);
    DnnlSeq q{convolution_backward_weights(wpd), convolution_backward_data(bpd), {}, {}};
    q.bargs = {{DNNL_ARG_DIFF_DST, filled(eng, s, bpd.diff_dst_desc(), dst_plain, y)},
               {DNNL_ARG_WEIGHTS, filled(eng, s, bpd.weights_desc(), w_plain, w)},
               {DNNL_ARG_DIFF_SRC, memory(bpd.diff_src_desc(), eng)}};
    q.wargs = {{DNNL_ARG_SRC, filled(eng, s, wpd.src_desc(), src_plain, x)},
               {DNNL_ARG_DIFF_DST, wpd.diff_dst_desc() == bpd.diff_dst_desc() ? q.bargs.at(DNNL_ARG_DIFF_DST)
                                                                             : filled(eng, s, wpd.diff_dst_desc(), dst_plain, y)},
               {DNNL_ARG_DIFF_WEIGHTS, memory(wpd.diff_weights_desc(), eng)},
               {DNNL_ARG_DIFF_BIAS, memory(wpd.diff_bias_desc(), eng)}};
    std::printf("  oneDNN %s: %s + %s\n", alg == algorithm::convolution_auto ? "auto" : "direct",
                wpd.impl_info_str(), bpd.impl_info_str());
    return q;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: bwd_seq_onednn ROUNDS CALLS \"N C H W OC K STRIDE PAD GROUPS\"\n");
        return 2;
    }
    int rounds = std::atoi(argv[1]), calls = std::atoi(argv[2]);
    long a[9];
    if (std::sscanf(argv[3], "%ld %ld %ld %ld %ld %ld %ld %ld %ld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6],
                    &a[7], &a[8]) != 9) {
        std::fprintf(stderr, "bad shape\n");
        return 2;
    }
    omp_set_num_threads(1);
    pcnn_set_num_threads(1);
    pcnn_conv2d_desc d{};
    d.n = a[0]; d.c = a[1]; d.ih = a[2]; d.iw = a[3]; d.oc = a[4]; d.kh = d.kw = a[5];
    d.stride_h = d.stride_w = a[6];
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = a[7];
    d.dilation_h = d.dilation_w = 1; d.groups = a[8];
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
        std::fprintf(stderr, "bad desc\n");
        return 2;
    }
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    auto rnd = [&](size_t count) { std::vector<float> v(count); for (auto &e : v) e = u(rng); return v; };
    auto x = rnd(d.n * d.c * d.ih * d.iw), w = rnd(d.oc * (d.c / d.groups) * d.kh * d.kw), b = rnd(d.oc),
         y = rnd(d.n * d.oc * d.oh * d.ow);
    std::vector<float> dx(x.size()), dw(w.size()), db(b.size());
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    std::printf("shape \"%s\", 1 thread, %d rounds x %d calls, thread CPU time\n", argv[3], rounds, calls);
    DnnlSeq direct = make_seq(eng, s, a, d.oh, d.ow, algorithm::convolution_direct, x, w, y);
    DnnlSeq autoc = make_seq(eng, s, a, d.oh, d.ow, algorithm::convolution_auto, x, w, y);
    std::vector<std::function<void()>> fns = {
        [&] {
            if (pcnn_conv2d_bwd_weights(&d, x.data(), y.data(), dw.data(), db.data()) != PCNN_STATUS_OK ||
                pcnn_conv2d_bwd_data(&d, y.data(), w.data(), dx.data()) != PCNN_STATUS_OK) {
                std::fprintf(stderr, "panama-cnn call failed\n");
                std::exit(1);
            }
        },
        [&] { direct.run(s); }, [&] { autoc.run(s); }};
    const char *names[] = {"panama-cnn", "oneDNN direct (preferred layouts)", "oneDNN auto"};
    std::vector<std::vector<double>> t(3), ratio(3);
    for (int k = -1; k < rounds; k++) {  // round -1: warm-up
        double blk[3];
        for (int j = 0; j < 3; j++) {
            int m = (j + (k < 0 ? 0 : k)) % 3;
            double c0 = timing_thread_cpu();
            for (int c = 0; c < calls; c++) fns[m]();
            blk[m] = (timing_thread_cpu() - c0) / calls;
        }
        if (k < 0) continue;
        for (int m = 0; m < 3; m++) {
            t[m].push_back(blk[m]);
            ratio[m].push_back(blk[m] / blk[0]);
        }
    }
    for (int m = 0; m < 3; m++)
        std::printf("  %-34s %9.1f us   x = t/t_pcnn %.3f\n", names[m], timing_median(t[m].data(), (int)t[m].size()) * 1e6,
                    timing_median(ratio[m].data(), (int)ratio[m].size()));
    return 0;
}
