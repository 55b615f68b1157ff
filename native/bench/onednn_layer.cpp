// The C ABI of onednn_layer.h: one oneDNN layer (onednn_prims.h's primitives) for a JVM to time.

#include "onednn_layer.h"

#include <omp.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <random>
#include <string>

#include "onednn_prims.h"

using namespace pcnn_bench;

struct pcnn_onednn_layer {
    int threads = 1;
    OnednnContext ctx;
    FloatBuf x, w, b, y;  // plain-layout inputs (the NCHW variants' memories wrap them)
    std::unique_ptr<ConvPrims> conv;
    std::unique_ptr<PoolPrims> pool;
    std::string fwd_impl, bwd_impl, infer_impl, error;
};

namespace {

FloatBuf random_buf(size_t count, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    FloatBuf v(count);
    for (float &f : v) f = u(gen);
    return v;
}

void copy_message(const std::string &msg, char *err, size_t err_len) {
    if (err != nullptr && err_len > 0) std::snprintf(err, err_len, "%s", msg.c_str());
}

// Runs `fn` on the layer's stream and waits; 0, or -1 with the message kept.
template <typename F>
int32_t run(pcnn_onednn_layer *l, F fn) {
    try {
        omp_set_num_threads(l->threads);  // OpenMP's thread count is per calling thread
        fn();
        l->ctx.strm.wait();
        return 0;
    } catch (const std::exception &e) {
        l->error = e.what();
        return -1;
    }
}

}  // namespace

extern "C" {

pcnn_onednn_layer *pcnn_onednn_layer_create(int32_t op, const int64_t *dims, int32_t variant, int32_t threads,
                                            char *err, size_t err_len) {
    if (dims == nullptr || threads < 1 || (op != PCNN_ONEDNN_CONV && op != PCNN_ONEDNN_MAXPOOL) ||
        variant < PCNN_ONEDNN_NCHW || variant > PCNN_ONEDNN_AUTO ||
        (op == PCNN_ONEDNN_MAXPOOL && variant == PCNN_ONEDNN_AUTO)) {
        copy_message("op " + std::to_string(op) + ", variant " + std::to_string(variant) + ", threads " +
                         std::to_string(threads) + ": not a layer this shim builds",
                     err, err_len);
        return nullptr;
    }
    Shape s;
    s.op = op == PCNN_ONEDNN_CONV ? "conv" : "maxpool";
    s.n = dims[0], s.c = dims[1], s.h = dims[2], s.w = dims[3], s.oc = dims[4], s.kh = dims[5], s.kw = dims[6];
    s.stride = dims[7], s.pad = dims[8], s.groups = dims[9], s.dilation = dims[10];
    const bool conv = op == PCNN_ONEDNN_CONV;
    const int64_t dil = conv ? s.dilation : 1;
    const int64_t oh = s.stride > 0 ? (s.h + 2 * s.pad - dil * (s.kh - 1) - 1) / s.stride + 1 : 0;
    const int64_t ow = s.stride > 0 ? (s.w + 2 * s.pad - dil * (s.kw - 1) - 1) / s.stride + 1 : 0;
    if (s.n < 1 || s.c < 1 || s.oc < 1 || s.kh < 1 || s.kw < 1 || s.stride < 1 || s.pad < 0 || s.groups < 1 ||
        dil < 1 || oh < 1 || ow < 1 || (conv && (s.c % s.groups != 0 || s.oc % s.groups != 0)) ||
        (!conv && s.oc != s.c)) {
        copy_message("not a valid " + s.op + " row (n " + std::to_string(s.n) + ", c " + std::to_string(s.c) +
                         ", h x w " + std::to_string(s.h) + " x " + std::to_string(s.w) + ", oc " +
                         std::to_string(s.oc) + ", kernel " + std::to_string(s.kh) + " x " + std::to_string(s.kw) +
                         ", stride " + std::to_string(s.stride) + ", pad " + std::to_string(s.pad) + ", groups " +
                         std::to_string(s.groups) + ", dilation " + std::to_string(s.dilation) + ")",
                     err, err_len);
        return nullptr;
    }
    try {
        auto l = std::make_unique<pcnn_onednn_layer>();
        l->threads = threads;
        omp_set_num_threads(threads);
        l->x = random_buf(size_t(s.n * s.c * s.h * s.w), 11);
        l->y = random_buf(size_t(s.n * s.oc * oh * ow), 12);
        if (conv) {
            l->w = random_buf(size_t(s.oc * (s.c / s.groups) * s.kh * s.kw), 13);
            l->b = random_buf(size_t(s.oc), 14);
            l->conv = std::make_unique<ConvPrims>(make_conv(
                l->ctx, s, oh, ow, variant != PCNN_ONEDNN_NCHW,
                variant == PCNN_ONEDNN_AUTO ? dnnl::algorithm::convolution_auto : dnnl::algorithm::convolution_direct,
                l->x, l->w, l->b, l->y));
            l->fwd_impl = l->conv->fpd.impl_info_str();
            l->bwd_impl = std::string(l->conv->bpd.impl_info_str()) + "+" + l->conv->wpd.impl_info_str();
        } else {
            l->pool = std::make_unique<PoolPrims>(make_pool(l->ctx, s, oh, ow, variant == PCNN_ONEDNN_BLOCKED,
                                                            __builtin_cpu_supports("avx512f"), l->x, l->y));
            l->fwd_impl = l->pool->fpd.impl_info_str();
            l->bwd_impl = l->pool->bpd.impl_info_str();
            l->infer_impl = l->pool->ipd.impl_info_str();
        }
        // One call of each pass: the pool's workspace is written, and no timed call is a first touch.
        if (pcnn_onednn_layer_forward(l.get()) != 0 || pcnn_onednn_layer_backward(l.get()) != 0 ||
            (!conv && pcnn_onednn_layer_forward_inference(l.get()) != 0)) {
            copy_message(l->error, err, err_len);
            return nullptr;
        }
        return l.release();
    } catch (const std::exception &e) {
        copy_message(std::string("oneDNN: ") + e.what(), err, err_len);
        return nullptr;
    }
}

int32_t pcnn_onednn_layer_forward(pcnn_onednn_layer *l) {
    if (l == nullptr) return -1;
    return run(l, [&] {
        if (l->conv) l->conv->fwd.execute(l->ctx.strm, l->conv->fargs);
        else l->pool->fwd.execute(l->ctx.strm, l->pool->fargs);
    });
}

int32_t pcnn_onednn_layer_backward(pcnn_onednn_layer *l) {
    if (l == nullptr) return -1;
    return run(l, [&] {
        if (l->conv) l->conv->backward(l->ctx.strm);
        else l->pool->bwd.execute(l->ctx.strm, l->pool->bargs);
    });
}

int32_t pcnn_onednn_layer_forward_inference(pcnn_onednn_layer *l) {
    if (l == nullptr) return -1;
    if (!l->pool) {
        l->error = "forward_inference is built for max-pool rows only";
        return -1;
    }
    return run(l, [&] { l->pool->infer.execute(l->ctx.strm, l->pool->iargs); });
}

const char *pcnn_onednn_layer_impl(const pcnn_onednn_layer *l, int32_t pass) {
    if (l == nullptr) return "";
    switch (pass) {
        case PCNN_ONEDNN_PASS_FORWARD: return l->fwd_impl.c_str();
        case PCNN_ONEDNN_PASS_BACKWARD: return l->bwd_impl.c_str();
        case PCNN_ONEDNN_PASS_FORWARD_INFERENCE: return l->infer_impl.c_str();
        default: return "";
    }
}

const char *pcnn_onednn_layer_error(const pcnn_onednn_layer *l) {
    return l == nullptr ? "" : l->error.c_str();
}

void pcnn_onednn_layer_destroy(pcnn_onednn_layer *l) {
    delete l;
}

}  // extern "C"
