// pcnn-bench's oneDNN side: the same convolution / max-pool shapes run by oneDNN 2.x with plain
// NCHW / OIHW tensors, with the layouts it prefers, and (convolutions) with convolution_auto;
// each result compared with panama-cnn's. Built only when CMake finds oneDNN and OpenMP
// (native/bench/CMakeLists.txt), which then defines PCNN_BENCH_WITH_ONEDNN for pcnn_bench.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bench_common.h"

namespace pcnn_bench {

struct Onednn;  // engine and stream (onednn_compare.cpp)

// "major.minor.patch" of the oneDNN library linked in.
std::string onednn_version();

// One CPU engine and stream, for the whole run.
class OnednnRunner {
  public:
    OnednnRunner();
    ~OnednnRunner();
    OnednnRunner(const OnednnRunner &) = delete;
    OnednnRunner &operator=(const OnednnRunner &) = delete;

    // Times oneDNN's forward, bwd_data, bwd_weights and the backward sequence of `s` at `threads`
    // OpenMP threads, three ways (NCHW direct, preferred-layout direct, preferred-layout auto), and
    // fills the oneDNN columns and the check errors of the rows rf, rd, rw, rb (the sequence).
    // `t` holds the inputs and panama-cnn's outputs; oh / ow as pcnn_conv2d_desc_init gave them.
    void compare_conv(const Shape &s, int64_t oh, int64_t ow, int threads, ConvTensors &t, double min_time,
                      Result &rf, Result &rd, Result &rw, Result &rb);

    // Max pooling: forward (training, with workspace), forward_inference and backward, NCHW and the
    // blocked layout; fills rows rf (forward), ri (fwd_noidx), rb (backward).
    void compare_pool(const Shape &s, int64_t oh, int64_t ow, int threads, PoolTensors &t, double min_time,
                      Result &rf, Result &ri, Result &rb);

    // The same three max-pool passes with rotated buffers (PoolSets, bench_common.h): each timed call
    // on the next of sets.count copies, for NCHW (on the sets' own buffers) and for the blocked layout
    // (blocked copies of the inputs, made once per shape, not timed); fills the oneDNN columns of the
    // rotated rows rf, ri, rb. Every set's outputs are checked against `ref`, panama-cnn's outputs.
    void compare_pool_rotated(const Shape &s, int64_t oh, int64_t ow, int threads, PoolSets &sets,
                              const PoolTensors &ref, double min_time, Result &rf, Result &ri, Result &rb);

  private:
    std::unique_ptr<Onednn> d_;
};

}  // namespace pcnn_bench
