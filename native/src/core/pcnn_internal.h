/*
 * Internal contracts shared by the API layer, the dispatcher and the kernels.
 * Not installed, not bound from Java.
 */
#ifndef PCNN_INTERNAL_H
#define PCNN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "panamacnn/panamacnn.h"

#if defined(_WIN32)
#define PCNN_INTERNAL /* PE/COFF: only the __declspec(dllexport) pcnn_* API is exported */
#else
#define PCNN_INTERNAL __attribute__((visibility("hidden")))
#endif

/*
 * Kernel signatures. A kernel receives a desc that pcnn_*_desc_init has accepted and
 * non-NULL buffers of exactly the sizes the desc implies (bias / diff_bias may be NULL).
 * A kernel may return PCNN_STATUS_UNSUPPORTED to say "not for this shape": the dispatcher
 * then tries the next lower ISA level; the scalar kernels accept everything.
 */
typedef int32_t (*pcnn_conv2d_fwd_fn)(const pcnn_conv2d_desc *d, const float *src,
                                      const float *weights, const float *bias, float *dst);
typedef int32_t (*pcnn_conv2d_bwd_data_fn)(const pcnn_conv2d_desc *d, const float *diff_dst,
                                           const float *weights, float *diff_src);
typedef int32_t (*pcnn_conv2d_bwd_weights_fn)(const pcnn_conv2d_desc *d, const float *src,
                                              const float *diff_dst, float *diff_weights,
                                              float *diff_bias);
typedef int32_t (*pcnn_maxpool2d_fwd_fn)(const pcnn_maxpool2d_desc *d, const float *src,
                                         float *dst, int32_t *indices);
typedef int32_t (*pcnn_maxpool2d_bwd_fn)(const pcnn_maxpool2d_desc *d, const float *diff_dst,
                                         const int32_t *indices, float *diff_src);
/* the compact mask (one byte per output: the winner's tap ky * kw + kx; kh * kw <= 256) */
typedef int32_t (*pcnn_maxpool2d_fwd_taps_fn)(const pcnn_maxpool2d_desc *d, const float *src,
                                              float *dst, uint8_t *taps);
typedef int32_t (*pcnn_maxpool2d_bwd_taps_fn)(const pcnn_maxpool2d_desc *d,
                                              const float *diff_dst, const uint8_t *taps,
                                              float *diff_src);

/* Network operations (linear, ReLU): sizes already validated by the API layer (every size >= 1,
 * every element count fits in int64). */
typedef int32_t (*pcnn_linear_fwd_fn)(int64_t n, int64_t in, int64_t out, const float *src,
                                      const float *weights, const float *bias, float *dst);
typedef int32_t (*pcnn_linear_bwd_data_fn)(int64_t n, int64_t in, int64_t out,
                                           const float *diff_dst, const float *weights,
                                           float *diff_src);
typedef int32_t (*pcnn_linear_bwd_weights_fn)(int64_t n, int64_t in, int64_t out,
                                              const float *src, const float *diff_dst,
                                              float *diff_weights, float *diff_bias);
typedef int32_t (*pcnn_relu_fwd_fn)(int64_t count, const float *src, float *dst);
typedef int32_t (*pcnn_relu_bwd_fn)(int64_t count, const float *dst, const float *diff_dst,
                                    float *diff_src);

/* One table per ISA level. A NULL entry means "no variant at this level". */
typedef struct pcnn_kernel_table {
    pcnn_conv2d_fwd_fn conv2d_fwd;
    pcnn_conv2d_bwd_data_fn conv2d_bwd_data;
    pcnn_conv2d_bwd_weights_fn conv2d_bwd_weights;
    pcnn_maxpool2d_fwd_fn maxpool2d_fwd;
    pcnn_maxpool2d_bwd_fn maxpool2d_bwd;
    pcnn_linear_fwd_fn linear_fwd;
    pcnn_linear_bwd_data_fn linear_bwd_data;
    pcnn_linear_bwd_weights_fn linear_bwd_weights;
    pcnn_relu_fwd_fn relu_fwd;
    pcnn_relu_bwd_fn relu_bwd;
    pcnn_maxpool2d_fwd_taps_fn maxpool2d_fwd_taps;
    pcnn_maxpool2d_bwd_taps_fn maxpool2d_bwd_taps;
} pcnn_kernel_table;

/* Defined in native/src/kernels/table-<isa>.c, each compiled with its ISA's flags. */
extern const pcnn_kernel_table pcnn_kernels_scalar PCNN_INTERNAL;
extern const pcnn_kernel_table pcnn_kernels_avx2 PCNN_INTERNAL;
extern const pcnn_kernel_table pcnn_kernels_avx512 PCNN_INTERNAL;
extern const pcnn_kernel_table pcnn_kernels_neon PCNN_INTERNAL; /* AArch64 builds only */

/* Table for a level (PCNN_ISA_*), or NULL for an unknown level. */
PCNN_INTERNAL const pcnn_kernel_table *pcnn_kernel_table_for(int32_t isa);

/*
 * Thread pool (native/src/core/threads.c): runs fn(ctx, i) for every i in [0, ntasks)
 * on up to pcnn_get_num_threads() threads (the caller's thread takes part) and returns
 * when all are done. Task i always computes the same thing whichever thread runs it, so
 * a kernel is deterministic across thread counts as long as each task writes its own
 * disjoint part of the output (reduce partial results in a fixed order afterwards).
 * Nested calls from inside a task run serially on the calling thread.
 */
typedef void (*pcnn_task_fn)(void *ctx, int64_t task_index);
PCNN_INTERNAL void pcnn_parallel_for(int64_t ntasks, pcnn_task_fn fn, void *ctx);

/* Test hook: how many regions a pool worker found while spinning (PANAMACNN_SPIN_US > 0)
 * instead of sleeping on the condition variable (core/threads.c). */
PCNN_INTERNAL uint64_t pcnn_threads_spin_hits(void);

/*
 * Like pcnn_parallel_for, for a job of about `work` units in total (count multiply-adds,
 * or element operations for memory-bound work; any estimate within 2x is fine): uses at
 * most one thread per ~2^18 units, so tiny jobs run entirely on the calling thread with no
 * pool wake-up. Same determinism rules as pcnn_parallel_for.
 */
PCNN_INTERNAL void pcnn_parallel_for_work(int64_t ntasks, int64_t work, pcnn_task_fn fn,
                                          void *ctx);

/* Overflow-checked int64 arithmetic: return 0 on success, 1 on overflow. */
static inline int pcnn_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
static inline int pcnn_add_i64(int64_t a, int64_t b, int64_t *out) {
    return __builtin_add_overflow(a, b, out);
}

/* Addresses that may lie outside their buffer, formed as integers. A prefetch never faults
 * and a masked load never touches its masked-off lanes, but pointer arithmetic that lands
 * before an array or more than one past its end is undefined behaviour in C, whether or
 * not anything is read there. pcnn_float_at(base, i): the address of float i of base (i may
 * be negative); pcnn_byte_at(base, off): of byte off. Same instructions as base + i. */
static inline const float *pcnn_float_at(const void *base, int64_t i) {
    return (const float *)((uintptr_t)base + (uintptr_t)i * sizeof(float));
}
static inline const char *pcnn_byte_at(const void *base, int64_t off) {
    return (const char *)((uintptr_t)base + (uintptr_t)off);
}
/* Prefetch float i of base for reading into every cache level (__builtin_prefetch's
 * defaults), e.g. a source row some KB ahead of a copy, which may lie past the buffer. */
#define PCNN_PREFETCH_AT(base, i) __builtin_prefetch(pcnn_float_at((base), (i)))

/* ---- added by the core/api layer (declarations only; nothing above is changed) ---- */

/* Scalar reference kernels (native/src/kernels/<op>/<op>-scalar.c); they accept every
 * desc that desc_init accepts and never return PCNN_STATUS_UNSUPPORTED. */
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__scalar(const pcnn_conv2d_desc *d, const float *src,
                                              const float *weights, const float *bias,
                                              float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__scalar(const pcnn_conv2d_desc *d,
                                                   const float *diff_dst, const float *weights,
                                                   float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights__scalar(const pcnn_conv2d_desc *d,
                                                      const float *src, const float *diff_dst,
                                                      float *diff_weights, float *diff_bias);
PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd__scalar(const pcnn_maxpool2d_desc *d, const float *src,
                                                 float *dst, int32_t *indices);
PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd__scalar(const pcnn_maxpool2d_desc *d,
                                                 const float *diff_dst, const int32_t *indices,
                                                 float *diff_src);
PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd_taps__scalar(const pcnn_maxpool2d_desc *d,
                                                      const float *src, float *dst,
                                                      uint8_t *taps);
PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd_taps__scalar(const pcnn_maxpool2d_desc *d,
                                                      const float *diff_dst,
                                                      const uint8_t *taps, float *diff_src);

/*
 * The vector kernels (conv2d and max-pool) size tiles, phase buffers and padded copies from the
 * strides and dilations; a valid desc may have either near 2^63 (a small input with huge
 * padding, or a single output), where that arithmetic overflows or asks for gigabytes of
 * scratch for a handful of outputs (native/fuzz found both: conv2d backward-data, stride_w
 * ~2^59; max-pool small planes, dilation ~2^62). No network uses such values and the scalar
 * kernels cost only their taps there, so geometry beyond these limits skips the vector levels.
 * The limits keep every real layer vectorised (patchify strides are 4-32; 1-D audio models
 * dilate up to 512-1024).
 */
#define PCNN_VECTOR_STRIDE_MAX 1024
#define PCNN_VECTOR_DILATION_MAX 65536

static inline int pcnn_vector_geometry_ok(int64_t stride_h, int64_t stride_w, int64_t dilation_h,
                                          int64_t dilation_w) {
    return stride_h <= PCNN_VECTOR_STRIDE_MAX && stride_w <= PCNN_VECTOR_STRIDE_MAX &&
           dilation_h <= PCNN_VECTOR_DILATION_MAX && dilation_w <= PCNN_VECTOR_DILATION_MAX;
}

/* Dispatch (native/src/core/dispatch.c): try the active ISA level's table entry; on a NULL
 * entry or PCNN_STATUS_UNSUPPORTED try the next lower level, ending at scalar. Arguments
 * must already be validated. */
PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_fwd(const pcnn_conv2d_desc *d, const float *src,
                                               const float *weights, const float *bias,
                                               float *dst);
PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_bwd_data(const pcnn_conv2d_desc *d,
                                                    const float *diff_dst, const float *weights,
                                                    float *diff_src);
PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_bwd_weights(const pcnn_conv2d_desc *d,
                                                       const float *src, const float *diff_dst,
                                                       float *diff_weights, float *diff_bias);
PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_fwd(const pcnn_maxpool2d_desc *d,
                                                  const float *src, float *dst,
                                                  int32_t *indices);
PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_bwd(const pcnn_maxpool2d_desc *d,
                                                  const float *diff_dst, const int32_t *indices,
                                                  float *diff_src);
PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_fwd_taps(const pcnn_maxpool2d_desc *d,
                                                       const float *src, float *dst,
                                                       uint8_t *taps);
PCNN_INTERNAL int32_t pcnn_dispatch_maxpool2d_bwd_taps(const pcnn_maxpool2d_desc *d,
                                                       const float *diff_dst,
                                                       const uint8_t *taps, float *diff_src);

/* ---- network operations: linear, ReLU, softmax cross-entropy (appended) ---- */

/* Softmax cross-entropy (native/src/kernels/softmax_xent/): one scalar kernel for every ISA level
 * (n*classes is tiny next to the layers; see its README). Labels already checked in range.
 * Writes the mean loss to *loss when loss != NULL and the gradient when diff_logits != NULL. */
PCNN_INTERNAL int32_t pcnn_softmax_xent__scalar(int64_t n, int64_t classes, const float *logits,
                                                const int32_t *labels, float *loss,
                                                float *diff_logits);

PCNN_INTERNAL int32_t pcnn_linear_fwd__scalar(int64_t n, int64_t in, int64_t out, const float *src,
                                              const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_linear_bwd_data__scalar(int64_t n, int64_t in, int64_t out,
                                                   const float *diff_dst, const float *weights,
                                                   float *diff_src);
PCNN_INTERNAL int32_t pcnn_linear_bwd_weights__scalar(int64_t n, int64_t in, int64_t out,
                                                      const float *src, const float *diff_dst,
                                                      float *diff_weights, float *diff_bias);
PCNN_INTERNAL int32_t pcnn_relu_fwd__scalar(int64_t count, const float *src, float *dst);
PCNN_INTERNAL int32_t pcnn_relu_bwd__scalar(int64_t count, const float *dst,
                                            const float *diff_dst, float *diff_src);

PCNN_INTERNAL int32_t pcnn_dispatch_linear_fwd(int64_t n, int64_t in, int64_t out,
                                               const float *src, const float *weights,
                                               const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_dispatch_linear_bwd_data(int64_t n, int64_t in, int64_t out,
                                                    const float *diff_dst, const float *weights,
                                                    float *diff_src);
PCNN_INTERNAL int32_t pcnn_dispatch_linear_bwd_weights(int64_t n, int64_t in, int64_t out,
                                                       const float *src, const float *diff_dst,
                                                       float *diff_weights, float *diff_bias);
PCNN_INTERNAL int32_t pcnn_dispatch_relu_fwd(int64_t count, const float *src, float *dst);
PCNN_INTERNAL int32_t pcnn_dispatch_relu_bwd(int64_t count, const float *dst,
                                             const float *diff_dst, float *diff_src);

/* ---- the algorithm dimension of the conv2d dispatch (appended; nothing above changed) ---- */

/* Pass ids for the per-algorithm predicates. */
#define PCNN_PASS_FWD 0
#define PCNN_PASS_BWD_DATA 1
#define PCNN_PASS_BWD_WEIGHTS 2

typedef int (*pcnn_conv2d_pred_fn)(const pcnn_conv2d_desc *d, int32_t pass);

/*
 * One conv2d algorithm at one ISA level. `supports`: the geometry it can take (NULL = every
 * desc); a kernel may still return PCNN_STATUS_UNSUPPORTED at run time (e.g. non-finite data).
 * `auto_pick`: whether PCNN_ALGO_AUTO should use it for this shape (NULL = yes). A NULL pass
 * entry means "not for this pass".
 */
typedef struct pcnn_conv2d_algo {
    int32_t algorithm; /* PCNN_ALGO_* (not AUTO) */
    pcnn_conv2d_pred_fn supports;
    pcnn_conv2d_pred_fn auto_pick;
    pcnn_conv2d_fwd_fn fwd;
    pcnn_conv2d_bwd_data_fn bwd_data;
    pcnn_conv2d_bwd_weights_fn bwd_weights;
} pcnn_conv2d_algo;

/*
 * The ordered algorithm list of an ISA level (tried first to last), terminated by an entry
 * with algorithm 0. NULL for a level means: only that table's conv2d_* entries, as DIRECT.
 */
PCNN_INTERNAL const pcnn_conv2d_algo *pcnn_conv2d_algos_for(int32_t isa);
extern const pcnn_conv2d_algo pcnn_conv2d_algos_scalar[] PCNN_INTERNAL;
extern const pcnn_conv2d_algo pcnn_conv2d_algos_avx2[] PCNN_INTERNAL;
extern const pcnn_conv2d_algo pcnn_conv2d_algos_avx512[] PCNN_INTERNAL;

/* Records which algorithm / ISA served the calling thread's last call (core/conv2d_algo.c). */
PCNN_INTERNAL void pcnn_record_served(int32_t algorithm, int32_t isa);

/* Algorithm-aware conv2d dispatch (core/conv2d_algo.c); the pcnn_dispatch_conv2d_* functions
 * forward to these. */
PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_algo_fwd(const pcnn_conv2d_desc *d, const float *src,
                                                    const float *weights, const float *bias,
                                                    float *dst);
PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_algo_bwd_data(const pcnn_conv2d_desc *d,
                                                         const float *diff_dst,
                                                         const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_algo_bwd_weights(const pcnn_conv2d_desc *d,
                                                            const float *src,
                                                            const float *diff_dst,
                                                            float *diff_weights,
                                                            float *diff_bias);

/* Winograd F(4x4,3x3) (native/src/kernels/conv2d/winograd-*.c): geometry, AUTO rule, kernels. */
PCNN_INTERNAL int pcnn_winograd_supports(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int pcnn_winograd_auto_pick(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int pcnn_winograd_auto_pick_avx2(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_winograd__scalar(const pcnn_conv2d_desc *d, const float *src,
                                                       const float *weights, const float *bias,
                                                       float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_winograd__scalar(const pcnn_conv2d_desc *d,
                                                            const float *diff_dst,
                                                            const float *weights,
                                                            float *diff_src);

/* Depthwise conv2d (groups == c == oc; native/src/kernels/conv2d/depthwise-*.c). */
#define PCNN_DW_MAX_TAPS 49
PCNN_INTERNAL int pcnn_depthwise_supports(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int pcnn_depthwise_auto_pick(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int pcnn_depthwise_reference_supports(const pcnn_conv2d_desc *d, int32_t pass);

/* Strided 1x1 conv2d (native/src/kernels/conv2d/pointwise*.c): geometry, AUTO rule, the
 * scalar level's entry points (the reference kernels on the gathered dense problem). */
PCNN_INTERNAL int pcnn_pointwise_supports(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int pcnn_pointwise_auto_pick(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_pointwise__scalar(const pcnn_conv2d_desc *d, const float *src,
                                                        const float *weights, const float *bias,
                                                        float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_pointwise__scalar(const pcnn_conv2d_desc *d,
                                                             const float *diff_dst,
                                                             const float *weights,
                                                             float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_pointwise__scalar(const pcnn_conv2d_desc *d,
                                                                const float *src,
                                                                const float *diff_dst,
                                                                float *diff_weights,
                                                                float *diff_bias);

/* Dilated stride-1 conv2d through a dense phase frame (native/src/kernels/conv2d/dilated*.c):
 * geometry (a DIRECT entry before the plain one at the vector levels). */
PCNN_INTERNAL int pcnn_dilated_supports(const pcnn_conv2d_desc *d, int32_t pass);
/* Winograd backward-weights (native/src/kernels/conv2d/winograd-bwd-weights-*.c). */
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_winograd__scalar(const pcnn_conv2d_desc *d, const float *src,
                                                               const float *diff_dst, float *diff_weights,
                                                               float *diff_bias);
PCNN_INTERNAL int pcnn_dilated_winograd_supports(const pcnn_conv2d_desc *d, int32_t pass);
PCNN_INTERNAL int pcnn_dilated_winograd_auto_pick(const pcnn_conv2d_desc *d, int32_t pass);

#endif /* PCNN_INTERNAL_H */
