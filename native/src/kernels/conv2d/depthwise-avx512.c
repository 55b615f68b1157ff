/*
 * Depthwise conv2d (groups == c == oc), AVX-512: forward (+ bias), backward-data (stride 1)
 * and backward-weights (+ bias gradient). Geometry and AUTO rule: depthwise-scalar.c.
 *
 * Every pass is one loop nest over a channel's plane, vectorised along the output row
 * (16 output columns per vector; 4 rows x up to 4 vectors per pass over the taps), with the
 * channel's weights broadcast:
 *   - forward / backward-data ("gather engine"): out[y][x] = sum over taps t of
 *     w[t] * in[y*sy + dy[t]][x*sx + dx[t]]; forward: in = src, dy = ky*dil - pad_top;
 *     backward-data (stride 1): in = diff_dst, out = diff_src, dy = pad_top - ky*dil.
 *     One task per (n, channel) plane writes only that plane.
 *   - backward-weights: per channel, one vector accumulator per tap (and one for the bias)
 *     summed over n, rows and column blocks in a fixed order, reduced once at the end.
 *     One task per channel: nothing depends on the thread count.
 * Out-of-range taps are skipped, not multiplied as zeros: border vectors use masked loads
 * and a masked FMA that leaves the lanes of padded taps untouched, so Inf/NaN behave as in
 * the scalar kernel and no call has to be declined. Column blocks whose taps are all in
 * range use plain loads. Stride 2 loads 32 consecutive floats and keeps the even ones.
 */
#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define VL 16
#define CHUNK 4 /* column blocks per pass over the taps (independent FMA chains) */

typedef struct {
    const float *in;   /* gather engine input planes / bwd-weights src */
    const float *in2;  /* bwd-weights: diff_dst */
    const float *w;    /* weights [c][K] */
    const float *bias; /* may be NULL */
    float *out, *out2; /* gather engine output / diff_weights, diff_bias */
    int64_t n, c, ih, iw, oh, ow, sy, sx, k;
    int64_t dy[PCNN_DW_MAX_TAPS], dx[PCNN_DW_MAX_TAPS], dxmin, dxmax;
} dw_plan;

/* The masks of one column block for one tap. */
typedef struct {
    __mmask16 lo, hi, fma; /* load masks (hi: stride 2's second 16 floats), lanes computed */
} dw_masks;

/* Bits [lo, hi) of a word of nbits (<= 32) bits, clamped. */
static inline uint32_t range_bits(int64_t lo, int64_t hi, int64_t nbits) {
    lo = lo < 0 ? 0 : lo > nbits ? nbits : lo;
    hi = hi < 0 ? 0 : hi > nbits ? nbits : hi;
    if (hi <= lo) {
        return 0;
    }
    return (uint32_t)((((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1));
}

/* Block of nl output columns reading input columns base + s*i: which lanes have an in-range tap. */
static inline dw_masks masks_of(int64_t base, int64_t s, int64_t iw, int64_t nl) {
    dw_masks m;
    if (s == 1) {
        m.lo = (__mmask16)(range_bits(-base, iw - base, 16) & range_bits(0, nl, 16));
        m.hi = 0;
        m.fma = m.lo;
    } else {
        const uint32_t e = range_bits(-base, iw - base, 32) & range_bits(0, 2 * nl - 1, 32);
        m.lo = (__mmask16)(e & 0xffffu);
        m.hi = (__mmask16)(e >> 16);
        const int64_t ilo = base >= 0 ? 0 : (-base + 1) / 2;
        const int64_t ihi = iw - base > 0 ? (iw - base + 1) / 2 : 0;
        m.fma = (__mmask16)(range_bits(ilo, ihi, 16) & range_bits(0, nl, 16));
    }
    return m;
}

/* row + base without forming an out-of-object pointer in C (masked lanes are never touched). */
static inline const float *at(const float *row, int64_t base) {
    return (const float *)((uintptr_t)row + (uintptr_t)(base * (int64_t)sizeof(float)));
}

static inline __m512 even_of(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
}

/* Interior: all 16 lanes (and stride 2's 32 floats) in range. */
static inline __m512 load_full(const float *row, int64_t base, int64_t s) {
    if (s == 1) {
        return _mm512_loadu_ps(row + base);
    }
    return even_of(_mm512_loadu_ps(row + base), _mm512_loadu_ps(row + base + VL));
}

static inline __m512 load_masked(const float *row, int64_t base, int64_t s, dw_masks m) {
    const __m512 a = _mm512_maskz_loadu_ps(m.lo, at(row, base));
    if (s == 1) {
        return a;
    }
    return even_of(a, _mm512_maskz_loadu_ps(m.hi, at(row, base + VL)));
}

/*
 * A border block: the lanes outside m.fma are ignored by the masked FMA, so a plain load is
 * fine wherever the whole span lies inside the plane (masked loads were ~3x slower here);
 * only spans hanging off the plane's ends need the masked load.
 */
static inline __m512 load_border(const float *plane, int64_t plane_len, int64_t off, int64_t s,
                                 dw_masks m) {
    if (off >= 0 && off + VL * s <= plane_len) {
        return load_full(plane, off, s);
    }
    return load_masked(plane, off, s, m);
}

/* Is the block at output column xb (16 lanes, all < ow) in range for every tap? */
static inline int interior(const dw_plan *p, int64_t xb, int64_t ow) {
    return xb + VL <= ow && xb * p->sx + p->dxmin >= 0 &&
           xb * p->sx + p->dxmax + VL * p->sx - 1 < p->iw;
}

/* ---- forward / backward-data ---- */

#define DW_ROWS 4 /* output rows per pass over the taps: amortises the per-tap bookkeeping */

/* R output rows from y of one chunk of NB column blocks; NB, the column stride S and R are
 * compile-time constants in every call so that the R*NB accumulators stay in registers. */
static inline __attribute__((always_inline)) void gather_block(const dw_plan *p, const float *in,
                                                               float *out, const float *w,
                                                               __m512 bias, int64_t x0,
                                                               const int *full, const int64_t *nl,
                                                               dw_masks (*m)[PCNN_DW_MAX_TAPS],
                                                               const int NB, const int64_t S,
                                                               int64_t y, const int R) {
    const int64_t plane_len = p->ih * p->iw;
    __m512 acc[DW_ROWS][CHUNK];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            acc[r][b] = _mm512_setzero_ps();
        }
    }
    for (int64_t t = 0; t < p->k; t++) {
        const __m512 wv = _mm512_set1_ps(w[t]);
        const int64_t dxt = p->dx[t], dyt = p->dy[t];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const int64_t iy = (y + r) * p->sy + dyt;
            if (iy < 0 || iy >= p->ih) {
                continue;
            }
            const int64_t roff = iy * p->iw;
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) {
                const int64_t off = roff + (x0 + b * VL) * S + dxt;
                if (full[b]) {
                    acc[r][b] = _mm512_fmadd_ps(load_full(in, off, S), wv, acc[r][b]);
                } else {
                    acc[r][b] = _mm512_mask3_fmadd_ps(load_border(in, plane_len, off, S, m[b][t]), wv,
                                                      acc[r][b], m[b][t].fma);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        float *orow = out + (y + r) * p->ow + x0;
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            const __m512 v = p->bias != NULL ? _mm512_add_ps(acc[r][b], bias) : acc[r][b];
            if (nl[b] == VL) {
                _mm512_storeu_ps(orow + b * VL, v);
            } else {
                _mm512_mask_storeu_ps(orow + b * VL, (__mmask16)range_bits(0, nl[b], 16), v);
            }
        }
    }
}

static inline __attribute__((always_inline)) void gather_rows(const dw_plan *p, const float *in,
                                                              float *out, const float *w, __m512 bias,
                                                              int64_t x0, const int *full,
                                                              const int64_t *nl,
                                                              dw_masks (*m)[PCNN_DW_MAX_TAPS],
                                                              const int NB, const int64_t S) {
    int64_t y = 0;
    for (; y + DW_ROWS <= p->oh; y += DW_ROWS) {
        gather_block(p, in, out, w, bias, x0, full, nl, m, NB, S, y, DW_ROWS);
    }
    for (; y < p->oh; y++) {
        gather_block(p, in, out, w, bias, x0, full, nl, m, NB, S, y, 1);
    }
}

#define GATHER_CASE(NB)                                                                    \
    case NB:                                                                               \
        if (p->sx == 1) {                                                                  \
            gather_rows(p, in, out, w, bias, x0, full, nl, m, NB, 1);                      \
        } else {                                                                           \
            gather_rows(p, in, out, w, bias, x0, full, nl, m, NB, 2);                      \
        }                                                                                  \
        break;

static void gather_task(void *ctx, int64_t plane) {
    const dw_plan *p = ctx;
    const int64_t ch = plane % p->c, k = p->k;
    const float *in = p->in + plane * p->ih * p->iw;
    float *out = p->out + plane * p->oh * p->ow;
    const float *w = p->w + ch * k;
    const __m512 bias = _mm512_set1_ps(p->bias != NULL ? p->bias[ch] : 0.0f);
    dw_masks m[CHUNK][PCNN_DW_MAX_TAPS];
    for (int64_t x0 = 0; x0 < p->ow; x0 += CHUNK * VL) {
        int nb = 0, full[CHUNK];
        int64_t nl[CHUNK];
        for (; nb < CHUNK && x0 + nb * VL < p->ow; nb++) {
            const int64_t xb = x0 + nb * VL;
            nl[nb] = p->ow - xb < VL ? p->ow - xb : VL;
            full[nb] = interior(p, xb, p->ow);
            for (int64_t t = 0; !full[nb] && t < k; t++) {
                m[nb][t] = masks_of(xb * p->sx + p->dx[t], p->sx, p->iw, nl[nb]);
            }
        }
        switch (nb) {
            GATHER_CASE(1)
            GATHER_CASE(2)
            GATHER_CASE(3)
            GATHER_CASE(4)
        default:
            break;
        }
    }
}

static void fill_taps(const pcnn_conv2d_desc *d, int backward, dw_plan *p) {
    p->k = d->kh * d->kw;
    p->dxmin = INT64_MAX, p->dxmax = INT64_MIN;
    for (int64_t ky = 0; ky < d->kh; ky++) {
        for (int64_t kx = 0; kx < d->kw; kx++) {
            const int64_t t = ky * d->kw + kx;
            p->dy[t] = backward ? d->pad_top - ky * d->dilation_h : ky * d->dilation_h - d->pad_top;
            p->dx[t] = backward ? d->pad_left - kx * d->dilation_w : kx * d->dilation_w - d->pad_left;
            p->dxmin = p->dx[t] < p->dxmin ? p->dx[t] : p->dxmin;
            p->dxmax = p->dx[t] > p->dxmax ? p->dx[t] : p->dxmax;
        }
    }
}

PCNN_INTERNAL int32_t pcnn_conv2d_fwd_depthwise__avx512(const pcnn_conv2d_desc *d, const float *src,
                                                        const float *weights, const float *bias,
                                                        float *dst) {
    if (!pcnn_depthwise_supports(d, PCNN_PASS_FWD)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    dw_plan p = {src, NULL, weights, bias, dst, NULL, d->n, d->c, d->ih, d->iw, d->oh, d->ow,
                 d->stride_h, d->stride_w, 0, {0}, {0}, 0, 0};
    fill_taps(d, 0, &p);
    pcnn_parallel_for_work(d->n * d->c, d->n * d->c * d->oh * d->ow * p.k, gather_task, &p);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_depthwise__avx512(const pcnn_conv2d_desc *d,
                                                             const float *diff_dst,
                                                             const float *weights, float *diff_src) {
    if (!pcnn_depthwise_supports(d, PCNN_PASS_BWD_DATA)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    /* stride 1: diff_src is the full correlation of diff_dst with the flipped taps */
    dw_plan p = {diff_dst, NULL, weights, NULL, diff_src, NULL, d->n, d->c, d->oh, d->ow, d->ih,
                 d->iw, 1, 1, 0, {0}, {0}, 0, 0};
    fill_taps(d, 1, &p);
    pcnn_parallel_for_work(d->n * d->c, d->n * d->c * d->ih * d->iw * p.k, gather_task, &p);
    return PCNN_STATUS_OK;
}

/* ---- backward-weights ---- */

/* Accumulates one column block of channel ch over every image and row into acc[0..k). */
static inline __attribute__((always_inline)) void bwdw_block(const dw_plan *p, int64_t ch,
                                                             int64_t xb, const int64_t k,
                                                             const int64_t S, __m512 *acc,
                                                             __m512 *accb) {
    const int64_t nl = p->ow - xb < VL ? p->ow - xb : VL;
    const int full = interior(p, xb, p->ow);
    const __mmask16 lanes = (__mmask16)range_bits(0, nl, 16);
    dw_masks m[PCNN_DW_MAX_TAPS];
    for (int64_t t = 0; !full && t < k; t++) {
        m[t] = masks_of(xb * p->sx + p->dx[t], p->sx, p->iw, nl);
    }
    const int64_t plane_len = p->ih * p->iw;
    for (int64_t n = 0; n < p->n; n++) {
        const float *src = p->in + (n * p->c + ch) * p->ih * p->iw;
        const float *dd = p->in2 + (n * p->c + ch) * p->oh * p->ow + xb;
        for (int64_t y = 0; y < p->oh; y++) {
            const __m512 g = _mm512_maskz_loadu_ps(lanes, dd + y * p->ow);
            *accb = _mm512_add_ps(*accb, g);
#pragma GCC unroll 9
            for (int64_t t = 0; t < k; t++) {
                const int64_t iy = y * p->sy + p->dy[t];
                if (iy < 0 || iy >= p->ih) {
                    continue;
                }
                const float *row = src + iy * p->iw;
                const int64_t base = xb * S + p->dx[t];
                if (full) {
                    acc[t] = _mm512_fmadd_ps(load_full(row, base, S), g, acc[t]);
                } else {
                    acc[t] = _mm512_mask3_fmadd_ps(load_border(src, plane_len, iy * p->iw + base, S, m[t]), g, acc[t],
                                                   m[t].fma);
                }
            }
        }
    }
}

static inline __attribute__((always_inline)) void bwdw_channel(const dw_plan *p, int64_t ch,
                                                               const int64_t k, const int64_t S) {
    __m512 acc[PCNN_DW_MAX_TAPS], accb = _mm512_setzero_ps();
    for (int64_t t = 0; t < k; t++) {
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t xb = 0; xb < p->ow; xb += VL) {
        bwdw_block(p, ch, xb, k, S, acc, &accb);
    }
    for (int64_t t = 0; t < k; t++) {
        p->out[ch * k + t] = _mm512_reduce_add_ps(acc[t]);
    }
    if (p->out2 != NULL) {
        p->out2[ch] = _mm512_reduce_add_ps(accb);
    }
}

static void bwdw_task(void *ctx, int64_t ch) {
    const dw_plan *p = ctx;
    /* 3x3 with a constant stride: the compiler keeps the 9 accumulators in registers */
    if (p->k == 9 && p->sx == 1) {
        bwdw_channel(p, ch, 9, 1);
    } else if (p->k == 9) {
        bwdw_channel(p, ch, 9, 2);
    } else if (p->sx == 1) {
        bwdw_channel(p, ch, p->k, 1);
    } else {
        bwdw_channel(p, ch, p->k, 2);
    }
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_depthwise__avx512(const pcnn_conv2d_desc *d,
                                                                const float *src,
                                                                const float *diff_dst,
                                                                float *diff_weights,
                                                                float *diff_bias) {
    if (!pcnn_depthwise_supports(d, PCNN_PASS_BWD_WEIGHTS)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    dw_plan p = {src, diff_dst, NULL, NULL, diff_weights, diff_bias, d->n, d->c, d->ih, d->iw,
                 d->oh, d->ow, d->stride_h, d->stride_w, 0, {0}, {0}, 0, 0};
    fill_taps(d, 0, &p);
    pcnn_parallel_for_work(d->c, d->n * d->c * d->oh * d->ow * p.k, bwdw_task, &p);
    return PCNN_STATUS_OK;
}
