// oneDNN's runs for pcnn-bench (onednn_compare.h): primitives built from a Shape, inputs
// reordered into the layout each primitive wants (not timed), the median time of the primitive
// alone, its output reordered back to plain layout and compared with panama-cnn's.
// oneDNN 2.x API (op desc -> primitive desc), as Debian's libdnnl-dev ships it.

#include "onednn_compare.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <vector>

#include "onednn_prims.h"
#include "panamacnn/panamacnn.h"

namespace pcnn_bench {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

// oneDNN's own buffers for the rotated max-pool rows of one shape, one per set, kept for the
// shape's thread counts: blocked copies of the sets' inputs, and the workspace (used by both
// layouts in turn). The outputs go to PoolSets' dst and dx, as panama-cnn's did before.
using ByteBuf = std::vector<uint8_t, Aligned64<uint8_t>>;
struct PoolRotatedBuffers {
    std::string shape;
    std::vector<FloatBuf> src_blocked, diff_dst_blocked;
    std::vector<ByteBuf> ws;
};

struct Onednn : OnednnContext {
    PoolRotatedBuffers rotated;
};

OnednnRunner::OnednnRunner() : d_(std::make_unique<Onednn>()) {}
OnednnRunner::~OnednnRunner() = default;

std::string onednn_version() {
    const dnnl_version_t *v = dnnl::version();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    return buf;
}

namespace {

// max |a - b| / max |b|: b is oneDNN's result.
double rel_err(const FloatBuf &a, const FloatBuf &b) {
    if (a.size() != b.size()) return INFINITY;
    double diff = 0, mag = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs((double)a[i] - (double)b[i]);
        if (!(d <= diff)) diff = d;  // NaN propagates
        mag = std::max(mag, (double)std::fabs(b[i]));
    }
    return mag > 0 ? diff / mag : diff;
}

// Executes `prim` with `args`, all already in the layout it wants; returns the median time.
double time_primitive(Onednn &d, primitive &prim, std::unordered_map<int, memory> &args, double min_time) {
    return median_time([&] {
        prim.execute(d.strm, args);
        d.strm.wait();
    }, min_time);
}

struct ConvTimes {
    double fwd = -1, bwd_data = -1, bwd_weights = -1;
    double bwd = -1;  // backward-weights then backward-data, timed together (the layer's sequence)
    std::string fwd_impl, bwd_data_impl, bwd_weights_impl;
    FloatBuf dst, diff_src, diff_weights, diff_bias;  // plain layouts
};

// `alg`: convolution_direct, or convolution_auto (oneDNN chooses, e.g. Winograd).
ConvTimes onednn_conv(Onednn &d, const Shape &s, int64_t oh, int64_t ow, bool preferred, algorithm alg,
                      FloatBuf &x, FloatBuf &w, FloatBuf &b,
                      FloatBuf &y, double min_time) {
    ConvPrims p = make_conv(d, s, oh, ow, preferred, alg, x, w, b, y);
    ConvTimes t;
    t.fwd = time_primitive(d, p.fwd, p.fargs, min_time);
    t.fwd_impl = p.fpd.impl_info_str();
    t.dst = read_plain(d, p.fargs.at(DNNL_ARG_DST), p.dst_plain);
    t.bwd_data = time_primitive(d, p.bwd_data, p.bargs, min_time);
    t.bwd_data_impl = p.bpd.impl_info_str();
    t.diff_src = read_plain(d, p.bargs.at(DNNL_ARG_DIFF_SRC), p.src_plain);
    t.bwd_weights = time_primitive(d, p.bwd_weights, p.wargs, min_time);
    t.bwd_weights_impl = p.wpd.impl_info_str();
    t.diff_weights = read_plain(d, p.wargs.at(DNNL_ARG_DIFF_WEIGHTS), p.w_plain);
    t.diff_bias = read_plain(d, p.wargs.at(DNNL_ARG_DIFF_BIAS), p.b_plain);
    // The layer's sequence, as panama-cnn's "backward" row times it.
    t.bwd = median_time([&] {
        p.backward(d.strm);
        d.strm.wait();
    }, min_time);
    return t;
}

struct PoolTimes {
    double fwd = -1, bwd = -1;
    std::string fwd_impl, bwd_impl;
    FloatBuf dst, diff_src;  // plain layouts
    double infer = -1;                 // forward_inference: no workspace (panama-cnn: NULL indices)
    std::string infer_impl;
    FloatBuf infer_dst;
};

PoolTimes onednn_pool(Onednn &d, const Shape &s, int64_t oh, int64_t ow, bool preferred, FloatBuf &x,
                      FloatBuf &y, double min_time) {
    PoolPrims p = make_pool(d, s, oh, ow, preferred, pcnn_isa_detected() >= PCNN_ISA_AVX512, x, y);
    PoolTimes t;
    // The training forward first: it writes the workspace backward reads.
    t.fwd = time_primitive(d, p.fwd, p.fargs, min_time);
    t.fwd_impl = p.fpd.impl_info_str();
    t.dst = read_plain(d, p.fargs.at(DNNL_ARG_DST), p.dst_plain);
    t.infer = time_primitive(d, p.infer, p.iargs, min_time);
    t.infer_impl = p.ipd.impl_info_str();
    t.infer_dst = read_plain(d, p.iargs.at(DNNL_ARG_DST), p.dst_plain);
    t.bwd = time_primitive(d, p.bwd, p.bargs, min_time);
    t.bwd_impl = p.bpd.impl_info_str();
    t.diff_src = read_plain(d, p.bargs.at(DNNL_ARG_DIFF_SRC), p.src_plain);
    return t;
}

struct PoolTimesRotated {
    double fwd = -1, infer = -1, bwd = -1;
    std::string fwd_impl, infer_impl, bwd_impl;
    double err_fwd = -1, err_infer = -1, err_bwd = -1;  // max over the checked sets
};

// `buf` holds at least `md`'s bytes (a new buffer is zero-filled: written here, never first touched
// in a timing).
void hold(FloatBuf &buf, const memory::desc &md) {
    if (buf.size() * sizeof(float) < md.get_size()) buf = FloatBuf(md.get_size() / sizeof(float));
}

// The rotated max-pool passes of one layout. Every set holds the same input values, so every set's
// output is checked against panama-cnn's (`ref`; up to 8 sets, evenly spread, first and last).
PoolTimesRotated onednn_pool_rotated(Onednn &d, const Shape &s, int64_t oh, int64_t ow, bool preferred, PoolSets &sets,
                                     const PoolTensors &ref, double min_time) {
    memory::dims src_dims = {s.n, s.c, s.h, s.w}, dst_dims = {s.n, s.c, oh, ow},
                 strides = {s.stride, s.stride}, kernel = {s.kh, s.kw}, pads = {s.pad, s.pad};
    memory::desc src_plain(src_dims, dt::f32, tag::nchw), dst_plain(dst_dims, dt::f32, tag::nchw);
    const tag blocked = pcnn_isa_detected() >= PCNN_ISA_AVX512 ? tag::nChw16c : tag::nChw8c;
    memory::desc src_md = preferred ? memory::desc(src_dims, dt::f32, blocked) : src_plain;
    memory::desc dst_md = preferred ? memory::desc(dst_dims, dt::f32, blocked) : dst_plain;
    pooling_forward::primitive_desc fpd(pooling_forward::desc(prop_kind::forward_training, algorithm::pooling_max,
                                                              src_md, dst_md, strides, kernel, pads, pads), d.eng);
    pooling_forward::primitive_desc ipd(pooling_forward::desc(prop_kind::forward_inference, algorithm::pooling_max,
                                                              src_md, dst_md, strides, kernel, pads, pads), d.eng);
    pooling_backward::primitive_desc bpd(
        pooling_backward::desc(algorithm::pooling_max, src_md, dst_md, strides, kernel, pads, pads), d.eng, fpd);
    const size_t count = sets.count, ws_bytes = fpd.workspace_desc().get_size();

    PoolRotatedBuffers &R = d.rotated;
    if (preferred && R.src_blocked.size() != count) {  // once per shape: blocked copies of every set's inputs
        R.src_blocked.clear(), R.diff_dst_blocked.clear();
        for (size_t k = 0; k < count; k++) {
            R.src_blocked.push_back(FloatBuf(src_md.get_size() / sizeof(float)));
            R.diff_dst_blocked.push_back(FloatBuf(dst_md.get_size() / sizeof(float)));
            memory xs(src_plain, d.eng, sets.x[k].data()), xb(src_md, d.eng, R.src_blocked[k].data());
            memory ys(dst_plain, d.eng, sets.y[k].data()), yb(dst_md, d.eng, R.diff_dst_blocked[k].data());
            reorder(xs, xb).execute(d.strm, xs, xb);
            reorder(ys, yb).execute(d.strm, ys, yb);
        }
        d.strm.wait();
    }
    if (R.ws.size() != count) R.ws.assign(count, ByteBuf());
    std::vector<std::unordered_map<int, memory>> fargs(count), iargs(count), bargs(count);
    for (size_t k = 0; k < count; k++) {
        hold(sets.dst[k], dst_md);
        hold(sets.dx[k], src_md);
        if (R.ws[k].size() < ws_bytes) R.ws[k] = ByteBuf(ws_bytes);
        memory src(src_md, d.eng, preferred ? R.src_blocked[k].data() : sets.x[k].data());
        memory diff_dst(dst_md, d.eng, preferred ? R.diff_dst_blocked[k].data() : sets.y[k].data());
        memory dst(dst_md, d.eng, sets.dst[k].data()), diff_src(src_md, d.eng, sets.dx[k].data());
        memory ws(fpd.workspace_desc(), d.eng, R.ws[k].data());
        fargs[k] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}};
        iargs[k] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
        bargs[k] = {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}, {DNNL_ARG_WORKSPACE, ws}};
    }
    // max over up to 8 sets of rel_err(panama-cnn's output, oneDNN's output `arg` of set k)
    auto check = [&](std::vector<std::unordered_map<int, memory>> &args, int arg, const FloatBuf &ours,
                     const memory::desc &plain) {
        double err = 0;
        const size_t checked = std::min<size_t>(count, 8);
        for (size_t i = 0; i < checked; i++) {
            const size_t k = checked == 1 ? 0 : i * (count - 1) / (checked - 1);
            double e = rel_err(ours, read_plain(d, args[k].at(arg), plain));
            if (!(e <= err)) err = e;  // NaN propagates
        }
        return err;
    };
    PoolTimesRotated t;
    // Training forward first: its untimed first round writes every set's workspace, which the
    // backward reads; the inference forward then reuses dst, after the training forward's check.
    pooling_forward fprim(fpd), iprim(ipd);
    pooling_backward bprim(bpd);
    poison(sets.dst);
    t.fwd = median_time_rotated([&](size_t k) { fprim.execute(d.strm, fargs[k]); d.strm.wait(); }, count, min_time);
    t.fwd_impl = fpd.impl_info_str();
    t.err_fwd = check(fargs, DNNL_ARG_DST, ref.out, dst_plain);
    poison(sets.dst);
    t.infer = median_time_rotated([&](size_t k) { iprim.execute(d.strm, iargs[k]); d.strm.wait(); }, count, min_time);
    t.infer_impl = ipd.impl_info_str();
    t.err_infer = check(iargs, DNNL_ARG_DST, ref.out_noidx, dst_plain);
    poison(sets.dx);
    t.bwd = median_time_rotated([&](size_t k) { bprim.execute(d.strm, bargs[k]); d.strm.wait(); }, count, min_time);
    t.bwd_impl = bpd.impl_info_str();
    t.err_bwd = check(bargs, DNNL_ARG_DIFF_SRC, ref.dx, src_plain);
    return t;
}

}  // namespace

void OnednnRunner::compare_conv(const Shape &s, int64_t oh, int64_t ow, int threads, ConvTensors &t,
                                double min_time, Result &rf, Result &rd, Result &rw, Result &rb) {
    omp_set_num_threads(threads);
    ConvTimes plain = onednn_conv(*d_, s, oh, ow, false, algorithm::convolution_direct, t.x, t.w, t.b, t.y, min_time);
    ConvTimes pref = onednn_conv(*d_, s, oh, ow, true, algorithm::convolution_direct, t.x, t.w, t.b, t.y, min_time);
    ConvTimes autoc = onednn_conv(*d_, s, oh, ow, true, algorithm::convolution_auto, t.x, t.w, t.b, t.y, min_time);
    rf.dnnl_auto_s = autoc.fwd; rd.dnnl_auto_s = autoc.bwd_data; rw.dnnl_auto_s = autoc.bwd_weights;
    rf.dnnl_auto_impl = autoc.fwd_impl; rd.dnnl_auto_impl = autoc.bwd_data_impl;
    rw.dnnl_auto_impl = autoc.bwd_weights_impl;
    rf.err_auto = rel_err(t.out, autoc.dst); rd.err_auto = rel_err(t.dx, autoc.diff_src);
    rw.err_auto = std::max(rel_err(t.dw, autoc.diff_weights), rel_err(t.db, autoc.diff_bias));
    rf.dnnl_plain_s = plain.fwd; rf.dnnl_pref_s = pref.fwd;
    rd.dnnl_plain_s = plain.bwd_data; rd.dnnl_pref_s = pref.bwd_data;
    rw.dnnl_plain_s = plain.bwd_weights; rw.dnnl_pref_s = pref.bwd_weights;
    rf.dnnl_plain_impl = plain.fwd_impl; rf.dnnl_pref_impl = pref.fwd_impl;
    rd.dnnl_plain_impl = plain.bwd_data_impl; rd.dnnl_pref_impl = pref.bwd_data_impl;
    rw.dnnl_plain_impl = plain.bwd_weights_impl; rw.dnnl_pref_impl = pref.bwd_weights_impl;
    rf.err_plain = rel_err(t.out, plain.dst); rf.err_pref = rel_err(t.out, pref.dst);
    rd.err_plain = rel_err(t.dx, plain.diff_src); rd.err_pref = rel_err(t.dx, pref.diff_src);
    rw.err_plain = std::max(rel_err(t.dw, plain.diff_weights), rel_err(t.db, plain.diff_bias));
    rw.err_pref = std::max(rel_err(t.dw, pref.diff_weights), rel_err(t.db, pref.diff_bias));
    rb.dnnl_plain_s = plain.bwd; rb.dnnl_pref_s = pref.bwd; rb.dnnl_auto_s = autoc.bwd;
    rb.dnnl_plain_impl = plain.bwd_data_impl + "+" + plain.bwd_weights_impl;
    rb.dnnl_pref_impl = pref.bwd_data_impl + "+" + pref.bwd_weights_impl;
    rb.dnnl_auto_impl = autoc.bwd_data_impl + "+" + autoc.bwd_weights_impl;
    // the sequence's outputs are the two passes' (same buffers), checked on their rows
    rb.err_plain = std::max(rd.err_plain, rw.err_plain);
    rb.err_pref = std::max(rd.err_pref, rw.err_pref);
    rb.err_auto = std::max(rd.err_auto, rw.err_auto);
}

void OnednnRunner::compare_pool(const Shape &s, int64_t oh, int64_t ow, int threads, PoolTensors &t,
                                double min_time, Result &rf, Result &ri, Result &rb) {
    omp_set_num_threads(threads);
    PoolTimes plain = onednn_pool(*d_, s, oh, ow, false, t.x, t.y, min_time);
    PoolTimes pref = onednn_pool(*d_, s, oh, ow, true, t.x, t.y, min_time);
    rf.dnnl_plain_s = plain.fwd; rf.dnnl_pref_s = pref.fwd;
    rb.dnnl_plain_s = plain.bwd; rb.dnnl_pref_s = pref.bwd;
    rf.dnnl_plain_impl = plain.fwd_impl; rf.dnnl_pref_impl = pref.fwd_impl;
    rb.dnnl_plain_impl = plain.bwd_impl; rb.dnnl_pref_impl = pref.bwd_impl;
    rf.err_plain = rel_err(t.out, plain.dst); rf.err_pref = rel_err(t.out, pref.dst);
    rb.err_plain = rel_err(t.dx, plain.diff_src); rb.err_pref = rel_err(t.dx, pref.diff_src);
    ri.dnnl_plain_s = plain.infer; ri.dnnl_pref_s = pref.infer;
    ri.dnnl_plain_impl = plain.infer_impl; ri.dnnl_pref_impl = pref.infer_impl;
    ri.err_plain = rel_err(t.out_noidx, plain.infer_dst); ri.err_pref = rel_err(t.out_noidx, pref.infer_dst);
}

void OnednnRunner::compare_pool_rotated(const Shape &s, int64_t oh, int64_t ow, int threads, PoolSets &sets,
                                        const PoolTensors &ref, double min_time, Result &rf, Result &ri, Result &rb) {
    omp_set_num_threads(threads);
    if (d_->rotated.shape != s.name) {  // the previous shape's buffers are freed
        d_->rotated = PoolRotatedBuffers{};
        d_->rotated.shape = s.name;
    }
    PoolTimesRotated plain = onednn_pool_rotated(*d_, s, oh, ow, false, sets, ref, min_time);
    PoolTimesRotated pref = onednn_pool_rotated(*d_, s, oh, ow, true, sets, ref, min_time);
    rf.dnnl_plain_s = plain.fwd; rf.dnnl_pref_s = pref.fwd;
    ri.dnnl_plain_s = plain.infer; ri.dnnl_pref_s = pref.infer;
    rb.dnnl_plain_s = plain.bwd; rb.dnnl_pref_s = pref.bwd;
    rf.dnnl_plain_impl = plain.fwd_impl; rf.dnnl_pref_impl = pref.fwd_impl;
    ri.dnnl_plain_impl = plain.infer_impl; ri.dnnl_pref_impl = pref.infer_impl;
    rb.dnnl_plain_impl = plain.bwd_impl; rb.dnnl_pref_impl = pref.bwd_impl;
    rf.err_plain = plain.err_fwd; rf.err_pref = pref.err_fwd;
    ri.err_plain = plain.err_infer; ri.err_pref = pref.err_infer;
    rb.err_plain = plain.err_bwd; rb.err_pref = pref.err_bwd;
}

}  // namespace pcnn_bench
