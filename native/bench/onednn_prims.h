// oneDNN 2.x primitives for one bench/shapes.txt row, built the one way both users need them:
// pcnn-bench's comparison (onednn_compare.cpp: times each pass and checks its output against
// panama-cnn's) and the in-process shim the JMH forks time next to the Java layer
// (onednn_layer.cpp). Inputs are reordered into the layout each primitive wants here, once
// (never timed); outputs stay in oneDNN's layout (read_plain gives them back in NCHW / OIHW).
#pragma once

#include <unordered_map>

#include "bench_common.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace pcnn_bench {

using Args = std::unordered_map<int, dnnl::memory>;

// One CPU engine and its stream.
struct OnednnContext {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
};

// A memory of layout `want` holding `data` (given in layout `plain`). With want == plain the memory
// wraps `data` itself, so `data` must outlive it.
inline dnnl::memory filled(OnednnContext &d, const dnnl::memory::desc &want, const dnnl::memory::desc &plain,
                           FloatBuf &data) {
    dnnl::memory src(plain, d.eng, data.data());
    if (want == plain) return src;
    dnnl::memory dst(want, d.eng);
    dnnl::reorder(src, dst).execute(d.strm, src, dst);
    d.strm.wait();
    return dst;
}

// The contents of `m` in layout `plain`.
inline FloatBuf read_plain(OnednnContext &d, dnnl::memory &m, const dnnl::memory::desc &plain) {
    FloatBuf v(plain.get_size() / sizeof(float));
    dnnl::memory dst(plain, d.eng, v.data());
    dnnl::reorder(m, dst).execute(d.strm, m, dst);
    d.strm.wait();
    return v;
}

// A convolution's three passes. `preferred`: every tensor but the bias in the layout oneDNN picks
// (format_tag::any), else plain NCHW / OIHW (goihw with groups); `alg`: convolution_direct or
// convolution_auto (oneDNN chooses, e.g. Winograd). x, w, b, y: src, weights, bias, diff_dst in plain layouts.
struct ConvPrims {
    dnnl::memory::desc src_plain, w_plain, b_plain, dst_plain;
    dnnl::convolution_forward::primitive_desc fpd;
    dnnl::convolution_backward_data::primitive_desc bpd;
    dnnl::convolution_backward_weights::primitive_desc wpd;
    dnnl::convolution_forward fwd;
    dnnl::convolution_backward_data bwd_data;
    dnnl::convolution_backward_weights bwd_weights;
    Args fargs, bargs, wargs;

    // What a layer's backward runs: backward-weights, then backward-data (no wait).
    void backward(dnnl::stream &strm) {
        bwd_weights.execute(strm, wargs);
        bwd_data.execute(strm, bargs);
    }
};

inline ConvPrims make_conv(OnednnContext &d, const Shape &s, int64_t oh, int64_t ow, bool preferred,
                           dnnl::algorithm alg, FloatBuf &x, FloatBuf &w, FloatBuf &b, FloatBuf &y) {
    using namespace dnnl;
    using tag = memory::format_tag;
    using dt = memory::data_type;
    // Grouped weights: oneDNN's goihw is the same memory as the library's [oc][c/groups][kh][kw].
    const int64_t g = s.groups;
    memory::dims src_dims = {s.n, s.c, s.h, s.w},
                 w_dims = g == 1 ? memory::dims{s.oc, s.c, s.kh, s.kw}
                                 : memory::dims{g, s.oc / g, s.c / g, s.kh, s.kw},
                 b_dims = {s.oc}, dst_dims = {s.n, s.oc, oh, ow}, strides = {s.stride, s.stride},
                 pads = {s.pad, s.pad},
                 // oneDNN counts the gaps between taps (0 = dense), PyTorch and panama-cnn the step (1 = dense).
                 dilates = {s.dilation - 1, s.dilation - 1};
    ConvPrims p;
    p.src_plain = memory::desc(src_dims, dt::f32, tag::nchw);
    p.w_plain = memory::desc(w_dims, dt::f32, g == 1 ? tag::oihw : tag::goihw);
    p.b_plain = memory::desc(b_dims, dt::f32, tag::x);
    p.dst_plain = memory::desc(dst_dims, dt::f32, tag::nchw);
    memory::desc src_md = preferred ? memory::desc(src_dims, dt::f32, tag::any) : p.src_plain;
    memory::desc w_md = preferred ? memory::desc(w_dims, dt::f32, tag::any) : p.w_plain;
    memory::desc dst_md = preferred ? memory::desc(dst_dims, dt::f32, tag::any) : p.dst_plain;

    // oneDNN 2.x: op desc -> primitive desc; the backward pds take the forward pd as a hint.
    // Padding l/r = top-left / bottom-right.
    p.fpd = convolution_forward::primitive_desc(
        convolution_forward::desc(prop_kind::forward_training, alg, src_md, w_md, p.b_plain, dst_md, strides,
                                  dilates, pads, pads),
        d.eng);
    p.bpd = convolution_backward_data::primitive_desc(
        convolution_backward_data::desc(alg, src_md, w_md, dst_md, strides, dilates, pads, pads), d.eng, p.fpd);
    p.wpd = convolution_backward_weights::primitive_desc(
        convolution_backward_weights::desc(alg, src_md, w_md, p.b_plain, dst_md, strides, dilates, pads, pads), d.eng,
        p.fpd);
    p.fargs = {{DNNL_ARG_SRC, filled(d, p.fpd.src_desc(), p.src_plain, x)},
               {DNNL_ARG_WEIGHTS, filled(d, p.fpd.weights_desc(), p.w_plain, w)},
               {DNNL_ARG_BIAS, filled(d, p.fpd.bias_desc(), p.b_plain, b)},
               {DNNL_ARG_DST, memory(p.fpd.dst_desc(), d.eng)}};
    p.bargs = {{DNNL_ARG_DIFF_DST, filled(d, p.bpd.diff_dst_desc(), p.dst_plain, y)},
               {DNNL_ARG_WEIGHTS, filled(d, p.bpd.weights_desc(), p.w_plain, w)},
               {DNNL_ARG_DIFF_SRC, memory(p.bpd.diff_src_desc(), d.eng)}};
    // diff_dst is one tensor in a layer's backward: shared by both primitives when they want the
    // same layout (otherwise each keeps its own copy, as a user would after one reorder).
    p.wargs = {{DNNL_ARG_SRC, filled(d, p.wpd.src_desc(), p.src_plain, x)},
               {DNNL_ARG_DIFF_DST, p.wpd.diff_dst_desc() == p.bpd.diff_dst_desc()
                                       ? p.bargs.at(DNNL_ARG_DIFF_DST)
                                       : filled(d, p.wpd.diff_dst_desc(), p.dst_plain, y)},
               {DNNL_ARG_DIFF_WEIGHTS, memory(p.wpd.diff_weights_desc(), d.eng)},
               {DNNL_ARG_DIFF_BIAS, memory(p.wpd.diff_bias_desc(), d.eng)}};
    p.fwd = convolution_forward(p.fpd);
    p.bwd_data = convolution_backward_data(p.bpd);
    p.bwd_weights = convolution_backward_weights(p.wpd);
    return p;
}

// Max pooling: forward_training (with the workspace backward reads), forward_inference (none) and
// backward. `blocked`: src / dst in nChw16c (`avx512`) or nChw8c, the layouts oneDNN's pooling is
// fastest on (pooling takes no format_tag::any for src); else NCHW.
struct PoolPrims {
    dnnl::memory::desc src_plain, dst_plain;
    dnnl::pooling_forward::primitive_desc fpd, ipd;
    dnnl::pooling_backward::primitive_desc bpd;
    dnnl::pooling_forward fwd, infer;
    dnnl::pooling_backward bwd;
    Args fargs, iargs, bargs;
};

inline PoolPrims make_pool(OnednnContext &d, const Shape &s, int64_t oh, int64_t ow, bool blocked, bool avx512,
                           FloatBuf &x, FloatBuf &y) {
    using namespace dnnl;
    using tag = memory::format_tag;
    using dt = memory::data_type;
    memory::dims src_dims = {s.n, s.c, s.h, s.w}, dst_dims = {s.n, s.c, oh, ow},
                 strides = {s.stride, s.stride}, kernel = {s.kh, s.kw}, pads = {s.pad, s.pad};
    PoolPrims p;
    p.src_plain = memory::desc(src_dims, dt::f32, tag::nchw);
    p.dst_plain = memory::desc(dst_dims, dt::f32, tag::nchw);
    const tag block_tag = avx512 ? tag::nChw16c : tag::nChw8c;
    memory::desc src_md = blocked ? memory::desc(src_dims, dt::f32, block_tag) : p.src_plain;
    memory::desc dst_md = blocked ? memory::desc(dst_dims, dt::f32, block_tag) : p.dst_plain;
    p.fpd = pooling_forward::primitive_desc(
        pooling_forward::desc(prop_kind::forward_training, algorithm::pooling_max, src_md, dst_md, strides, kernel,
                              pads, pads),
        d.eng);
    p.ipd = pooling_forward::primitive_desc(
        pooling_forward::desc(prop_kind::forward_inference, algorithm::pooling_max, src_md, dst_md, strides, kernel,
                              pads, pads),
        d.eng);
    p.bpd = pooling_backward::primitive_desc(
        pooling_backward::desc(algorithm::pooling_max, src_md, dst_md, strides, kernel, pads, pads), d.eng, p.fpd);
    memory ws(p.fpd.workspace_desc(), d.eng);
    memory src = filled(d, src_md, p.src_plain, x);
    p.fargs = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, memory(dst_md, d.eng)}, {DNNL_ARG_WORKSPACE, ws}};
    p.iargs = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, memory(dst_md, d.eng)}};
    p.bargs = {{DNNL_ARG_DIFF_DST, filled(d, dst_md, p.dst_plain, y)},
               {DNNL_ARG_DIFF_SRC, memory(src_md, d.eng)},
               {DNNL_ARG_WORKSPACE, ws}};
    p.fwd = pooling_forward(p.fpd);
    p.infer = pooling_forward(p.ipd);
    p.bwd = pooling_backward(p.bpd);
    return p;
}

}  // namespace pcnn_bench
