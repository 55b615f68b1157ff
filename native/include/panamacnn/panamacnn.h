/*
 * panama-cnn: the C ABI. This is the only header the Java bindings are generated from.
 *
 * ABI rules (see shared design guide, section 2):
 *  - only fixed-width integer types, float / int32_t buffers and named structs;
 *  - every function returns an int32_t status (PCNN_STATUS_*), except the pure queries;
 *  - every function validates its arguments again, even though Java validated first;
 *  - nothing here aborts, exits, prints or touches the FPU control state.
 *
 * Tensor layout: NCHW float32, contiguous. Weights OIHW: [oc][c/groups][kh][kw].
 * Bias [oc], may be NULL. Backward functions overwrite their outputs (never accumulate).
 */
#ifndef PANAMACNN_H
#define PANAMACNN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Only pcnn_* is exported. Expands to nothing for users of the header (and jextract). */
#if defined(PANAMACNN_BUILDING_LIBRARY) && defined(_WIN32)
#define PCNN_API __declspec(dllexport)
#elif defined(PANAMACNN_BUILDING_LIBRARY)
#define PCNN_API __attribute__((visibility("default")))
#else
#define PCNN_API
#endif

/* Bumped whenever a struct layout or a signature changes, or functions or algorithm ids are
 * added (so that bindings never meet a library lacking a symbol they call); Java checks it at
 * load time. 2: linear / relu / softmax cross-entropy, conv algorithms (pcnn_set_conv2d_algorithm,
 * pcnn_last_algorithm, WINOGRAD / DEPTHWISE / POINTWISE), pcnn_scratch_bytes. */
#define PCNN_ABI_VERSION 3

/* Status codes. */
#define PCNN_STATUS_OK 0
#define PCNN_STATUS_INVALID_ARGUMENT 1 /* NULL pointer, non-positive size, inconsistent desc */
#define PCNN_STATUS_OUT_OF_RANGE 2     /* a size or an index overflows int64 / int32 */
#define PCNN_STATUS_UNSUPPORTED 3      /* valid request this build cannot serve */
#define PCNN_STATUS_OUT_OF_MEMORY 4    /* internal scratch allocation failed */
#define PCNN_STATUS_INTERNAL 5         /* a bug: please report */

/* Instruction-set levels, ordered: a cap at level L allows every level <= L. */
#define PCNN_ISA_SCALAR 0
#define PCNN_ISA_AVX2 1   /* AVX2 + FMA */
#define PCNN_ISA_AVX512 2 /* AVX-512 F, BW, VL, DQ */
/* AArch64 Advanced SIMD (ASIMD, with its FMA; baseline in ARMv8-A), detected through
 * getauxval(AT_HWCAP) & HWCAP_ASIMD. Appended after the x86 levels: each architecture has
 * its own chain (x86-64: scalar < avx2 < avx512; AArch64: scalar < neon) and the numbers
 * order levels within a chain. A cap below 3 therefore means scalar on AArch64, and a cap
 * of 3 (the default: highest) allows everything on x86-64. */
#define PCNN_ISA_NEON 3

/*
 * 2-D convolution descriptor. The caller fills every field above `oh`;
 * pcnn_conv2d_desc_init validates them and computes oh / ow:
 *   oh = floor((ih + pad_top + pad_bottom - dilation_h*(kh-1) - 1) / stride_h) + 1
 *   ow = floor((iw + pad_left + pad_right - dilation_w*(kw-1) - 1) / stride_w) + 1
 * Requirements: n, c, ih, iw, oc, kh, kw, stride_*, dilation_*, groups >= 1;
 * pads >= 0; groups divides c and oc; the dilated kernel fits in the padded input
 * (oh, ow >= 1); every tensor's element count fits in int64.
 * dilation 1 means dense (PyTorch's convention).
 * All fields are int64_t so that the struct has no padding on any platform.
 */
typedef struct pcnn_conv2d_desc {
    int64_t n;
    int64_t c;
    int64_t ih;
    int64_t iw;
    int64_t oc;
    int64_t kh;
    int64_t kw;
    int64_t stride_h;
    int64_t stride_w;
    int64_t pad_top;
    int64_t pad_bottom;
    int64_t pad_left;
    int64_t pad_right;
    int64_t dilation_h;
    int64_t dilation_w;
    int64_t groups;
    int64_t oh; /* computed by pcnn_conv2d_desc_init */
    int64_t ow; /* computed by pcnn_conv2d_desc_init */
} pcnn_conv2d_desc;

/*
 * 2-D max-pooling descriptor. The caller fills every field above `oh`;
 * pcnn_maxpool2d_desc_init validates them and computes oh / ow.
 * Output size, PyTorch's formula (the formula decides, not the window's fit):
 *   oh = floor((ih + pad_top + pad_bottom - dilation_h*(kh-1) - 1 [+ stride_h - 1]) / stride_h) + 1
 * where "[+ stride_h - 1]" applies in ceil mode (ceil_mode != 0), which then drops a last
 * window that would start at or past ih + pad_top ((oh-1)*stride_h >= ih + pad_top); ow
 * likewise. An output size below 1 is PCNN_STATUS_INVALID_ARGUMENT. So in ceil mode a
 * window may hang past the padded input and even be larger than it; its out-of-range taps
 * never win. Every window must still cover at least one input position: a window whose taps
 * all lie outside the input (possible with dilation) is rejected (INVALID_ARGUMENT).
 * Padding: any value >= 0, asymmetric allowed (a superset of PyTorch, which takes symmetric
 * padding <= k/2). ih * iw must not exceed INT32_MAX (indices are int32_t plane offsets).
 */
typedef struct pcnn_maxpool2d_desc {
    int64_t n;
    int64_t c;
    int64_t ih;
    int64_t iw;
    int64_t kh;
    int64_t kw;
    int64_t stride_h;
    int64_t stride_w;
    int64_t pad_top;
    int64_t pad_bottom;
    int64_t pad_left;
    int64_t pad_right;
    int64_t dilation_h;
    int64_t dilation_w;
    int64_t ceil_mode; /* 0 = floor, 1 = ceil */
    int64_t oh;        /* computed by pcnn_maxpool2d_desc_init */
    int64_t ow;        /* computed by pcnn_maxpool2d_desc_init */
} pcnn_maxpool2d_desc;

/* ---- library queries and controls ---- */

/* Returns PCNN_ABI_VERSION as compiled into the library. */
PCNN_API int32_t pcnn_abi_version(void);

/* A static, NUL-terminated English description of a status; never NULL. */
PCNN_API const char *pcnn_status_str(int32_t status);

/* A static name for an ISA level: "scalar", "avx2", "avx512", "neon"; "unknown" otherwise. */
PCNN_API const char *pcnn_isa_name(int32_t isa);

/* The best ISA level that both the CPU (CPUID) and the OS (XGETBV) support
 * (on AArch64: neon when getauxval(AT_HWCAP) reports ASIMD, else scalar). */
PCNN_API int32_t pcnn_isa_detected(void);

/* The ISA level in use: the highest level of this architecture's chain that is
 * <= min(detected, cap) and that this build has kernels for. The cap starts at
 * PANAMACNN_MAX_ISA (environment: "scalar", "avx2", "avx512", "neon" or 0/1/2/3) when set,
 * else the highest level. */
PCNN_API int32_t pcnn_isa_active(void);

/* Caps the ISA level (PCNN_ISA_*). Not thread-safe against running kernels:
 * call it between operations. Returns PCNN_STATUS_INVALID_ARGUMENT for an unknown level. */
PCNN_API int32_t pcnn_set_max_isa(int32_t isa);

/* Threads used by the kernels. Starts at PANAMACNN_NUM_THREADS when set, else the number
 * of online CPUs. num_threads must be in [1, 256]. Results are bit-identical whatever the
 * count. Call between operations. */
PCNN_API int32_t pcnn_set_num_threads(int32_t num_threads);
PCNN_API int32_t pcnn_get_num_threads(void);

/* Bytes of scratch memory the kernels hold right now, summed over all threads (a pure query).
 * A thread frees all its scratch when it exits. Between calls a thread keeps its scratch while
 * all threads together hold at most 64 MiB; above that, each thread ending a call frees its
 * scratch down to 256 KiB. A failed scratch allocation makes a kernel return
 * PCNN_STATUS_OUT_OF_MEMORY; the next call starts afresh. */
PCNN_API int64_t pcnn_scratch_bytes(void);

/* The threads holding scratch memory right now (a pure query, for tests and diagnostics):
 * returns their number, or -1 when capacity < 0, and for the first `capacity` of them writes
 * the operating system's thread id (Linux: gettid, as listed in /proc/self/task; macOS:
 * pthread_threadid_np; Windows: GetCurrentThreadId) to thread_ids[i] and the bytes that
 * thread holds to bytes[i] (either array may be NULL). A thread's exit removes it. While no
 * kernel runs, the bytes of all threads sum to pcnn_scratch_bytes(). */
PCNN_API int64_t pcnn_scratch_threads(int64_t *thread_ids, int64_t *bytes, int64_t capacity);

/* ---- convolution ---- */

/* Validates the input fields of *desc and writes desc->oh, desc->ow. */
PCNN_API int32_t pcnn_conv2d_desc_init(pcnn_conv2d_desc *desc);

/*
 * Forward: dst[n][o][y][x] = bias[o] + sum over ci in o's group, ky, kx of
 *   src[n][g*cg + ci][y*sh - pt + ky*dh][x*sw - pl + kx*dw] * weights[o][ci][ky][kx]
 * where cg = c/groups, g = o / (oc/groups); out-of-range src positions are zero.
 * src [n][c][ih][iw], weights [oc][c/groups][kh][kw], bias [oc] or NULL, dst [n][oc][oh][ow].
 */
PCNN_API int32_t pcnn_conv2d_fwd(const pcnn_conv2d_desc *desc, const float *src,
                                 const float *weights, const float *bias, float *dst);

/*
 * Backward to the input: diff_src = the adjoint of forward (without bias) applied to
 * diff_dst, i.e. the full convolution of diff_dst with the 180-degree-rotated filter,
 * honouring stride, padding, dilation and groups. Overwrites diff_src [n][c][ih][iw].
 */
PCNN_API int32_t pcnn_conv2d_bwd_data(const pcnn_conv2d_desc *desc, const float *diff_dst,
                                      const float *weights, float *diff_src);

/*
 * Backward to the weights: diff_weights[o][ci][ky][kx] = sum over n, y, x of
 *   src[n][g*cg + ci][y*sh - pt + ky*dh][x*sw - pl + kx*dw] * diff_dst[n][o][y][x]
 * (the convolution of the input with the output gradient), and, when diff_bias is not
 * NULL, diff_bias[o] = sum over n, y, x of diff_dst[n][o][y][x]. Overwrites both.
 */
PCNN_API int32_t pcnn_conv2d_bwd_weights(const pcnn_conv2d_desc *desc, const float *src,
                                         const float *diff_dst, float *diff_weights,
                                         float *diff_bias);

/* ---- max pooling ---- */

/* Validates the input fields of *desc and writes desc->oh, desc->ow. */
PCNN_API int32_t pcnn_maxpool2d_desc_init(pcnn_maxpool2d_desc *desc);

/*
 * Forward: for each window scan ky then kx (row-major) over in-range positions and take
 * v when (v > max || isnan(v)), starting from the first in-range element: ties keep the
 * first maximum, the last NaN wins, padding never wins. dst [n][c][oh][ow].
 * indices [n][c][oh][ow] receives iy*iw + ix of the winner (int32_t plane offset);
 * indices may be NULL when no backward pass will follow.
 */
PCNN_API int32_t pcnn_maxpool2d_fwd(const pcnn_maxpool2d_desc *desc, const float *src,
                                    float *dst, int32_t *indices);

/*
 * Backward: diff_src is zeroed, then each diff_dst[n][c][y][x] is added into
 * diff_src[n][c] plane at indices[n][c][y][x] (overlapping windows accumulate, in
 * row-major output order). Indices outside [0, ih*iw) give PCNN_STATUS_OUT_OF_RANGE
 * (diff_src contents are then unspecified).
 */
PCNN_API int32_t pcnn_maxpool2d_bwd(const pcnn_maxpool2d_desc *desc, const float *diff_dst,
                                    const int32_t *indices, float *diff_src);

/*
 * The same two passes with a compact mask: one byte per output, the winner's window tap
 * ky * kw + kx (row-major over the window, padded taps included in the numbering), as
 * oneDNN's max-pool workspace. A quarter of the int32 indices' bytes: what a training layer
 * keeps between its forward and backward (the Java MaxPool2d does). Needs
 * kh * kw <= PCNN_MAXPOOL2D_TAPS_MAX, else PCNN_STATUS_INVALID_ARGUMENT.
 * Forward: dst and the winner exactly as pcnn_maxpool2d_fwd; taps [n][c][oh][ow], not NULL.
 * Backward: as pcnn_maxpool2d_bwd with each tap's plane offset; a tap >= kh * kw, or one
 * naming a position outside the input (padding), gives PCNN_STATUS_OUT_OF_RANGE (diff_src
 * contents are then unspecified).
 */
#define PCNN_MAXPOOL2D_TAPS_MAX 256
PCNN_API int32_t pcnn_maxpool2d_fwd_taps(const pcnn_maxpool2d_desc *desc, const float *src,
                                         float *dst, uint8_t *taps);
PCNN_API int32_t pcnn_maxpool2d_bwd_taps(const pcnn_maxpool2d_desc *desc,
                                         const float *diff_dst, const uint8_t *taps,
                                         float *diff_src);

/* ---- fully connected (linear) ---- */

/*
 * Shapes: src [n][in], weights [out][in] (PyTorch's nn.Linear layout), bias [out] or NULL,
 * dst [n][out], all contiguous float32. Requirements: n, in, out >= 1 and every element count
 * fits in int64 (else PCNN_STATUS_INVALID_ARGUMENT / PCNN_STATUS_OUT_OF_RANGE); no NULL buffer
 * except bias / diff_bias. Outputs must not overlap inputs. Each output element is one dot
 * product summed in an order fixed by the shape and the ISA level, never by the thread count,
 * so results are bit-identical whatever pcnn_set_num_threads says.
 *
 * Forward: dst[i][o] = bias[o] + sum over k of src[i][k] * weights[o][k]   (y = x W^T + b).
 */
PCNN_API int32_t pcnn_linear_fwd(int64_t n, int64_t in, int64_t out, const float *src,
                                 const float *weights, const float *bias, float *dst);

/* Backward to the input: diff_src[i][k] = sum over o of diff_dst[i][o] * weights[o][k]
 * (dx = dy W). Overwrites diff_src [n][in]. */
PCNN_API int32_t pcnn_linear_bwd_data(int64_t n, int64_t in, int64_t out, const float *diff_dst,
                                      const float *weights, float *diff_src);

/* Backward to the parameters: diff_weights[o][k] = sum over i of diff_dst[i][o] * src[i][k]
 * (dW = dy^T x) and, when diff_bias is not NULL, diff_bias[o] = sum over i of diff_dst[i][o].
 * Overwrites both. */
PCNN_API int32_t pcnn_linear_bwd_weights(int64_t n, int64_t in, int64_t out, const float *src,
                                         const float *diff_dst, float *diff_weights,
                                         float *diff_bias);

/* ---- ReLU ---- */

/*
 * Forward, element-wise over count >= 1 floats: dst = (src > 0 || isnan(src)) ? src : +0.0f
 * (PyTorch's relu: a NaN propagates unchanged, -0.0 becomes +0.0). dst may equal src (in place);
 * any other overlap is undefined.
 */
PCNN_API int32_t pcnn_relu_fwd(int64_t count, const float *src, float *dst);

/*
 * Backward from the forward's OUTPUT dst: diff_src = (dst > 0 || isnan(dst)) ? diff_dst : +0.0f,
 * which equals PyTorch's threshold_backward on the input (the gradient passes through a NaN).
 * diff_src may equal diff_dst (in place).
 */
PCNN_API int32_t pcnn_relu_bwd(int64_t count, const float *dst, const float *diff_dst,
                               float *diff_src);

/* ---- softmax cross-entropy ---- */

/*
 * PyTorch's CrossEntropyLoss (mean reduction) over logits [n][classes] and labels [n]:
 *   loss = (1/n) * sum over i of ( log(sum over c of exp(x[i][c] - m_i)) + m_i - x[i][labels[i]] )
 * with m_i the row maximum (log-sum-exp stabilised), computed in double and rounded once to
 * float into *loss. A label outside [0, classes) gives PCNN_STATUS_OUT_OF_RANGE (nothing written).
 * A NaN logit gives a NaN loss; +inf logits give NaN (as in PyTorch).
 */
PCNN_API int32_t pcnn_softmax_xent_fwd(int64_t n, int64_t classes, const float *logits,
                                       const int32_t *labels, float *loss);

/*
 * Gradient of that loss with respect to the logits:
 *   diff_logits[i][c] = (exp(x[i][c] - m_i) / sum over c' of exp(x[i][c'] - m_i) - (c == labels[i])) / n
 * computed in double, rounded once. Labels as for the forward. Overwrites diff_logits [n][classes].
 */
PCNN_API int32_t pcnn_softmax_xent_bwd(int64_t n, int64_t classes, const float *logits,
                                       const int32_t *labels, float *diff_logits);

/* ---- convolution algorithms ---- */

/* Algorithm ids. AUTO lets the library choose per shape (see native/src/kernels/conv2d/README.md). */
#define PCNN_ALGO_AUTO 0
#define PCNN_ALGO_DIRECT 1   /* direct convolution (every shape, every pass; max-pool reports it too) */
#define PCNN_ALGO_WINOGRAD 2 /* Winograd F(4x4,3x3): 3x3, stride 1, dilation 1; every pass */
#define PCNN_ALGO_DEPTHWISE 3 /* depthwise (groups == c == oc), every pass; see below */
#define PCNN_ALGO_POINTWISE 4 /* strided 1x1 (1x1, no padding, a stride > 1), every pass; see below */

/*
 * Requests an algorithm for the convolution calls made afterwards ON THE CALLING THREAD
 * (thread-local; starts at PCNN_ALGO_AUTO on every thread). A request for an algorithm that
 * cannot take a call's geometry makes that call return PCNN_STATUS_UNSUPPORTED (nothing is
 * written); a call it takes geometrically but declines at run time (non-finite src or weights,
 * whose Inf/NaN Winograd would spread across its tile; planes too large for 32-bit offsets) is
 * served by the direct algorithm.
 * Backward-weights: a WINOGRAD request on a geometry Winograd does not take is served directly.
 * DEPTHWISE takes every shape with groups == c == oc: the AVX-512 and AVX2 kernels serve stride
 * 1 or 2 (each axis) with at most 49 taps, every pass; every other depthwise call (and every one
 * on a CPU without AVX2) is served by the scalar reference kernel, reported as DEPTHWISE at
 * PCNN_ISA_SCALAR. AUTO uses the vector kernels for every depthwise call they support (measured
 * faster than direct on every pass; native/src/kernels/conv2d/depthwise-scalar.c).
 * POINTWISE takes 1x1 convolutions without padding and with a stride > 1 on some axis (any
 * groups): the strided input pixels are gathered into a dense tensor and the stride-1 1x1
 * kernel (a GEMM) runs on it; backward-data scatters the dense gradient back (zeros elsewhere).
 * AUTO uses it for every such shape (backward-weights: from 16 input channels per group;
 * native/src/kernels/conv2d/README-pointwise.md).
 * Returns PCNN_STATUS_INVALID_ARGUMENT for an unknown id.
 */
PCNN_API int32_t pcnn_set_conv2d_algorithm(int32_t algorithm);
PCNN_API int32_t pcnn_get_conv2d_algorithm(void);

/* The algorithm (PCNN_ALGO_*, never AUTO) and ISA level (PCNN_ISA_*) that served the last
 * successful convolution or max-pool call on the calling thread; -1 before any. */
PCNN_API int32_t pcnn_last_algorithm(void);
PCNN_API int32_t pcnn_last_isa(void);

/* A static name for an algorithm id: "auto", "direct", "winograd", "depthwise", "pointwise";
 * "unknown" otherwise. */
PCNN_API const char *pcnn_algorithm_name(int32_t algorithm);

#ifdef __cplusplus
}
#endif

#endif /* PANAMACNN_H */
