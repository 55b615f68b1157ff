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

#if defined(PANAMACNN_BUILDING_LIBRARY)
#define PCNN_API __attribute__((visibility("default")))
#else
#define PCNN_API
#endif

/* Bumped whenever a struct layout or a signature changes; Java checks it at load time. */
#define PCNN_ABI_VERSION 1

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

/* A static name for an ISA level: "scalar", "avx2", "avx512"; "unknown" otherwise. */
PCNN_API const char *pcnn_isa_name(int32_t isa);

/* The best ISA level that both the CPU (CPUID) and the OS (XGETBV) support. */
PCNN_API int32_t pcnn_isa_detected(void);

/* The ISA level in use: min(detected, cap). The cap starts at PANAMACNN_MAX_ISA
 * (environment: "scalar", "avx2", "avx512" or 0/1/2) when set, else the highest level. */
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
 * Each thread keeps at most 256 KiB between calls (larger buffers are freed when the call
 * returns) and everything when it exits, so in an idle process this is at most 256 KiB per
 * live thread that has run a kernel. A failed scratch allocation makes a kernel return
 * PCNN_STATUS_OUT_OF_MEMORY; the next call starts afresh. */
PCNN_API int64_t pcnn_scratch_bytes(void);

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

/* ---- convolution algorithms ---- */

/* Algorithm ids. AUTO lets the library choose per shape (see native/src/kernels/conv2d/README.md). */
#define PCNN_ALGO_AUTO 0
#define PCNN_ALGO_DIRECT 1   /* direct convolution (every shape, every pass; max-pool reports it too) */
#define PCNN_ALGO_WINOGRAD 2 /* Winograd F(4x4,3x3): 3x3, stride 1, dilation 1; forward and backward-data */

/*
 * Requests an algorithm for the convolution calls made afterwards ON THE CALLING THREAD
 * (thread-local; starts at PCNN_ALGO_AUTO on every thread). A request for an algorithm that
 * cannot take a call's geometry makes that call return PCNN_STATUS_UNSUPPORTED (nothing is
 * written); a call it takes geometrically but declines at run time (non-finite src or weights,
 * whose Inf/NaN Winograd would spread across its tile; planes too large for 32-bit offsets) is
 * served by the direct algorithm.
 * Backward-weights has only the direct algorithm: a WINOGRAD request serves it directly.
 * Returns PCNN_STATUS_INVALID_ARGUMENT for an unknown id.
 */
PCNN_API int32_t pcnn_set_conv2d_algorithm(int32_t algorithm);
PCNN_API int32_t pcnn_get_conv2d_algorithm(void);

/* The algorithm (PCNN_ALGO_*, never AUTO) and ISA level (PCNN_ISA_*) that served the last
 * successful convolution or max-pool call on the calling thread; -1 before any. */
PCNN_API int32_t pcnn_last_algorithm(void);
PCNN_API int32_t pcnn_last_isa(void);

/* A static name for an algorithm id: "auto", "direct", "winograd"; "unknown" otherwise. */
PCNN_API const char *pcnn_algorithm_name(int32_t algorithm);

#ifdef __cplusplus
}
#endif

#endif /* PANAMACNN_H */
