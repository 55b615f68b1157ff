/*
 * Strided 1x1 convolution ("pointwise" algorithm), avx512 entry points: the gather / scatter
 * driver of pointwise-scalar.c around this level's direct kernels, which run the gathered
 * stride-1 1x1 problem as a GEMM (conv2d-direct.h's pointwise tiles). See pointwise.h.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/conv2d/pointwise.h"

PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx512(const pcnn_conv2d_desc *d, const float *src,
                                              const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__avx512(const pcnn_conv2d_desc *d, const float *diff_dst,
                                                   const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights__avx512(const pcnn_conv2d_desc *d, const float *src,
                                                      const float *diff_dst, float *diff_weights,
                                                      float *diff_bias);

/* p + i without forming an out-of-object pointer in C: a masked load's address may lie past
 * the buffer's end when all its lanes are masked off (those lanes are never touched). */
static inline const float *at(const float *p, int64_t i) {
    return (const float *)((uintptr_t)p + (uintptr_t)(i * (int64_t)sizeof(float)));
}

/* Lanes [0, k) of a 16-lane mask, k clamped to [0, 16]. */
static inline __mmask16 first_lanes(int64_t k) {
    return k >= 16 ? (__mmask16)0xffff : k <= 0 ? (__mmask16)0 : (__mmask16)((1u << k) - 1u);
}

/*
 * The plane copies. Rows are short (ResNet's shortcut: 28 -> 14 floats), so the compiler's
 * vectorised loops spend most of their time in prologues and remainders; with horizontal
 * stride 2 these handle 16 strided floats per step with masked loads / stores and one permute.
 * Other strides use the portable copies.
 */
static void gather_plane(const pcnn_conv2d_desc *d, const float *in, float *out) {
    if (d->stride_w != 2) {
        pcnn_pointwise_gather_plane(d, in, out);
        return;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const int64_t ow = d->ow, iw = d->iw;
    for (int64_t y = 0; y < d->oh; ++y) {
        const float *row = in + y * d->stride_h * iw;
        float *o = out + y * ow;
        for (int64_t x = 0; x < ow; x += 16) {
            const int64_t need = iw - 2 * x < 32 ? iw - 2 * x : 32; /* input floats from 2x on */
            const __m512 a = _mm512_maskz_loadu_ps(first_lanes(need), row + 2 * x);
            const __m512 b = _mm512_maskz_loadu_ps(first_lanes(need - 16), at(row, 2 * x + 16));
            _mm512_mask_storeu_ps(o + x, first_lanes(ow - x), _mm512_permutex2var_ps(a, even, b));
        }
    }
}

static void scatter_plane(const pcnn_conv2d_desc *d, float *out, const float *in) {
    if (d->stride_w != 2) {
        pcnn_pointwise_scatter_plane(d, out, in);
        return;
    }
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const int64_t ow = d->ow, iw = d->iw;
    for (int64_t iy = 0; iy < d->ih; ++iy) {
        float *row = out + iy * iw;
        if (iy % d->stride_h != 0 || iy / d->stride_h >= d->oh) {
            for (int64_t x = 0; x < iw; x += 16) {
                _mm512_mask_storeu_ps(row + x, first_lanes(iw - x), _mm512_setzero_ps());
            }
            continue;
        }
        const float *g = in + (iy / d->stride_h) * ow;
        for (int64_t x = 0; x < iw; x += 16) { /* dense g[x/2 ..] to the even lanes, zeros between */
            const __m512 v = _mm512_maskz_loadu_ps(first_lanes(ow - x / 2 < 8 ? ow - x / 2 : 8), g + x / 2);
            _mm512_mask_storeu_ps(row + x, first_lanes(iw - x),
                                  _mm512_maskz_permutexvar_ps((__mmask16)0x5555, dup, v));
        }
    }
}

static const pcnn_pointwise_inner inner = {pcnn_conv2d_fwd__avx512, pcnn_conv2d_bwd_data__avx512,
                                           pcnn_conv2d_bwd_weights__avx512, gather_plane,
                                           scatter_plane};

PCNN_INTERNAL int32_t pcnn_conv2d_fwd_pointwise__avx512(const pcnn_conv2d_desc *d, const float *src,
                                                        const float *weights, const float *bias,
                                                        float *dst) {
    return pcnn_pointwise_fwd(&inner, d, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_pointwise__avx512(const pcnn_conv2d_desc *d,
                                                             const float *diff_dst,
                                                             const float *weights,
                                                             float *diff_src) {
    return pcnn_pointwise_bwd_data(&inner, d, diff_dst, weights, diff_src);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_pointwise__avx512(const pcnn_conv2d_desc *d,
                                                                const float *src,
                                                                const float *diff_dst,
                                                                float *diff_weights,
                                                                float *diff_bias) {
    return pcnn_pointwise_bwd_weights(&inner, d, src, diff_dst, diff_weights, diff_bias);
}
