/*
 * Depthwise forward / backward-data, stride 1, dilation 1, 3x3 and 5x5, rows of at most a few
 * vectors: the "rows" engine. Part of the depthwise-simd.h template (after it; its own
 * translation unit, depthwise-rows-<isa>.c).
 *
 * Why: the plane engine's gather loads every tap's input vector masked and unaligned (K*K
 * loads per output vector); on 28x28 planes that measured ~900 cycles a plane for ~250 cycles
 * of FMAs (0.4-0.9x oneDNN's jit_dw). Here whole output rows stay in registers: each input row
 * is loaded once (NB vectors, masked to the row: zeros past its end), its K column shifts are
 * made in registers (dw_shift: valignd on AVX-512, two shuffles on AVX2; zeros shifted in at
 * both ends) and FMAed into the K
 * output rows that input row meets (out[y] gets in[y + ky - pt] * w[ky][.]: rolling K
 * accumulator rows; the finished one is stored, masked, as each input row is done). Per input
 * row: NB loads, (K-1)*NB shifts, K*K*NB FMAs, NB stores. Rows wider than 4 vectors (3x3) or 2
 * (5x5) go in chunks of that many vectors, each loading its neighbour vector on either side
 * too (masked: zeros outside the row), one chunk down the whole plane after the other. Rows of
 * at most 8 - shift columns take two planes per vector (dw_rows_pair); 7x7 "same" planes are
 * computed as one flat array instead (dw_rows_flat). Those two forms need 16 lanes (AVX-512);
 * AVX2 (since session 35) runs the chunked rows only, in chunks of 2 vectors (3x3) or 1 (5x5):
 * its 16 registers (DW_ROWS_ENGINE_NB* in the vector headers).
 *
 * Measured (1 thread, AVX-512, same-run A/B against main 9a32faa, us, 2026-12-05; oneDNN best
 * in brackets): 8x256x28x28 3x3 forward / backward-data 430-490 -> 280-390 (390-710);
 * 8x128x28x28 5x5 740-880 -> 240-270 (320-390); 8x512x14x14 3x3 380-460 -> 165-180 (130-170);
 * 8x1024x7x7 3x3 570-750 -> 125-135 (75-135); 8x512x7x7 5x5 730-1040 -> 160-170 (60-130);
 * 8x128x56x56 3x3 equal within noise (0.86-1.04x); 2x32x112x112 3x3 0.87-1.08x; 8x64x56x56
 * 5x5 1450-1620 -> 520-610.
 *
 * Backward-data at stride 1 is the same correlation over diff_dst with the filter turned by 180
 * degrees and pads K-1-p (diff_src row iy gets diff_dst row iy + pt - ky times w[ky][.]).
 *
 * Arithmetic: input rows outside the plane are skipped (no products); columns outside it are
 * zero lanes, so w * 0 enters a sum where the scalar kernel skips the tap. With a finite w that
 * is +-0 and changes no sum; so a call with a non-finite weight is declined (the plane engine,
 * which skips padded taps, serves it), as the stride-2 row engine does. Inf/NaN inputs
 * propagate as in the scalar kernel (their products are the same ones).
 * One task per plane; nothing depends on the thread count.
 */
#ifndef PCNN_DEPTHWISE_ROWS_SIMD_H
#define PCNN_DEPTHWISE_ROWS_SIMD_H

/* calls served (the tests check that their shapes reach it) */
#define DW_ROWS_RUNS DW_ENGINE(pcnn_conv2d_depthwise_rows_runs)
PCNN_INTERNAL int64_t DW_ROWS_RUNS;
PCNN_INTERNAL int64_t DW_ROWS_RUNS = 0;

#if DW_ROWS_ENGINE

#define DW_ROWS_MAXK 5
#define DW_ROWS_MAXNB 4
#define DW_ROWS_CHUNKED 99 /* dw_rows_nb: rows wider than one chunk */

/* One plane's output columns [x0, x0 + NB*VL): in (ih x iw) -> out (oh x ow), out[y][x] = bias +
 * sum w[ky*K + kx] * in[y + ky - pt][x + kx - PL]; K, PL, NB, HALO constants (K - 3 <= PL <= 2,
 * so the column shifts kx - PL stay within dw_shift's -2..2). HALO 0: the chunk is the whole row
 * (iw, ow <= NB*VL), zeros on both sides; HALO 1: the neighbouring vectors each side are loaded
 * too (masked to the row), so rows of any width go in chunks. */
DW_AI void dw_rows_chunk(const float *in, int64_t ih, int64_t iw, float *out, int64_t oh, int64_t ow,
                         const float *w, int64_t pt, float bias, int64_t x0, const int K, const int PL,
                         const int NB, const int HALO) {
    dw_mask mi[DW_ROWS_MAXNB + 2], mo[DW_ROWS_MAXNB];
#pragma GCC unroll 6
    for (int b = 0; b < NB + 2; b++) { /* vector b: input columns from x0 + (b - 1)*VL */
        const int64_t c0 = x0 + (b - 1) * VL;
        mi[b] = dw_lanes(-c0, iw - c0);
    }
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++) {
        mo[b] = dw_lanes(0, ow - x0 - b * VL);
    }
    const dw_vec z = dw_zero(), vb = dw_set1(bias);
    dw_vec acc[DW_ROWS_MAXK][DW_ROWS_MAXNB]; /* acc[k]: output row r + pt - k */
#pragma GCC unroll 5
    for (int k = 0; k < K; k++) {
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            acc[k][b] = vb;
        }
    }
    /* input rows r from -pt: output row y = r + pt - (K - 1) is done after row r */
    const int64_t r_end = oh + K - 1 - pt;
    for (int64_t r = -pt; r < r_end; r++) {
        if (r >= 0 && r < ih) {
            const float *row = in + r * iw;
            dw_vec v[DW_ROWS_MAXNB + 2];
            v[0] = HALO && PL > 0 ? dw_load_m(dw_at(row, x0 - VL), mi[0]) : z;
            v[NB + 1] = HALO && K - 1 - PL > 0 ? dw_load_m(dw_at(row, x0 + NB * VL), mi[NB + 1]) : z;
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) {
                v[b + 1] = dw_load_m(dw_at(row, x0 + b * VL), mi[b + 1]);
            }
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++) {
#pragma GCC unroll 4
                for (int b = 0; b < NB; b++) { /* lane l: input column x0 + b*VL + l + kx - PL */
                    const dw_vec s = dw_shift(v[b], v[b + 1], v[b + 2], kx - PL);
#pragma GCC unroll 5
                    for (int ky = 0; ky < K; ky++) {
                        acc[ky][b] = dw_fma(s, dw_set1(w[ky * K + kx]), acc[ky][b]);
                    }
                }
            }
        }
        const int64_t y = r + pt - (K - 1);
        if (y >= 0) {
            float *orow = out + y * ow;
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) {
                dw_store_m((float *)dw_at(orow, x0 + b * VL), acc[K - 1][b], mo[b]);
            }
        }
#pragma GCC unroll 5
        for (int k = K - 1; k > 0; k--) {
#pragma GCC unroll 4
            for (int b = 0; b < NB; b++) {
                acc[k][b] = acc[k - 1][b];
            }
        }
#pragma GCC unroll 4
        for (int b = 0; b < NB; b++) {
            acc[0][b] = vb;
        }
    }
}

/* rows wider than the engine's single chunk: chunks of NB vectors with their neighbours */
DW_AI void dw_rows_chunks(const float *in, int64_t ih, int64_t iw, float *out, int64_t oh, int64_t ow,
                          const float *w, int64_t pt, float bias, const int K, const int PL, const int NB) {
    for (int64_t x0 = 0; x0 < ow; x0 += NB * VL) {
        dw_rows_chunk(in, ih, iw, out, oh, ow, w, pt, bias, x0, K, PL, NB, 1);
    }
}

#if DW_SHIFT /* the two-plane and flat forms: 16 lanes (AVX-512) */

/* Rows of at most 8 - g columns (g: the widest shift each side, PL and K-1-PL): two planes per
 * vector, plane 0 in lanes 0..7 and plane 1 in lanes 8..15, each with at least g zero lanes
 * after its row, so a shifted lane reads its own plane or a zero (the lanes past the vector
 * are zeros as in dw_rows_chunk). Weights and bias are two-valued vectors. Same products per
 * lane as dw_rows_chunk; 7x7 planes otherwise use 7 of 16 lanes. (AVX-512 only: DW_SHIFT.) */
DW_AI void dw_rows_pair(const float *in0, const float *in1, int64_t ih, int64_t iw, float *out0, float *out1,
                        int64_t oh, int64_t ow, const float *w0, const float *w1, int64_t pt, float b0, float b1,
                        const int K, const int PL) {
    const __mmask16 hi = 0xff00;
    const dw_mask mi0 = dw_lanes(0, iw), mi1 = dw_lanes(8, 8 + iw);
    const dw_mask mo0 = dw_lanes(0, ow), mo1 = dw_lanes(8, 8 + ow);
    dw_vec wv[DW_ROWS_MAXK * DW_ROWS_MAXK];
#pragma GCC unroll 25
    for (int t = 0; t < K * K; t++) {
        wv[t] = _mm512_mask_blend_ps(hi, dw_set1(w0[t]), dw_set1(w1[t]));
    }
    const dw_vec z = dw_zero(), vb = _mm512_mask_blend_ps(hi, dw_set1(b0), dw_set1(b1));
    dw_vec acc[DW_ROWS_MAXK];
#pragma GCC unroll 5
    for (int k = 0; k < K; k++) {
        acc[k] = vb;
    }
    const int64_t r_end = oh + K - 1 - pt;
    for (int64_t r = -pt; r < r_end; r++) {
        if (r >= 0 && r < ih) {
            const dw_vec v = _mm512_mask_loadu_ps(dw_load_m(in0 + r * iw, mi0), mi1, dw_at(in1 + r * iw, -8));
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++) {
                const dw_vec sh = dw_shift(z, v, z, kx - PL);
#pragma GCC unroll 5
                for (int ky = 0; ky < K; ky++) {
                    acc[ky] = dw_fma(sh, wv[ky * K + kx], acc[ky]);
                }
            }
        }
        const int64_t y = r + pt - (K - 1);
        if (y >= 0) {
            dw_store_m(out0 + y * ow, acc[K - 1], mo0);
            dw_store_m((float *)dw_at(out1 + y * ow, -8), acc[K - 1], mo1);
        }
#pragma GCC unroll 5
        for (int k = K - 1; k > 0; k--) {
            acc[k] = acc[k - 1];
        }
        acc[0] = vb;
    }
}

static void dw_rows_pair_dispatch(const float *in0, const float *in1, int64_t ih, int64_t iw, float *out0,
                                  float *out1, int64_t oh, int64_t ow, const float *w0, const float *w1, int64_t pt,
                                  int64_t pl, float b0, float b1, int k) {
    if (k == 3 && pl == 0) {
        dw_rows_pair(in0, in1, ih, iw, out0, out1, oh, ow, w0, w1, pt, b0, b1, 3, 0);
    } else if (k == 3 && pl == 1) {
        dw_rows_pair(in0, in1, ih, iw, out0, out1, oh, ow, w0, w1, pt, b0, b1, 3, 1);
    } else if (k == 3) {
        dw_rows_pair(in0, in1, ih, iw, out0, out1, oh, ow, w0, w1, pt, b0, b1, 3, 2);
    } else {
        dw_rows_pair(in0, in1, ih, iw, out0, out1, oh, ow, w0, w1, pt, b0, b1, 5, 2);
    }
}

/* Small "same" planes (7x7: 49 floats, 4 vectors): the plane as one flat array, output vector b
 * over flat indices 16b..16b+15; tap (ky, kx) reads flat index i + (ky - P)*W + (kx - P), a
 * constant shift of the loaded vectors (valignd across the neighbours). Rows above / below the
 * plane are flat indices outside it: zero lanes (finite weights: w * 0 changes no sum); the
 * taps whose column leaves the row (they would read the next / previous row) are masked off
 * the FMA. Per plane: 4 loads, 4 stores, K*K FMAs and shifts per vector. AVX-512 only. */
static inline dw_vec dw_rows_flat_shift(dw_vec prev, dw_vec cur, dw_vec next, int s) {
    switch (s) {
    case -15: return DW_ALIGNR(cur, prev, 1);
    case -14: return DW_ALIGNR(cur, prev, 2);
    case -13: return DW_ALIGNR(cur, prev, 3);
    case -12: return DW_ALIGNR(cur, prev, 4);
    case -11: return DW_ALIGNR(cur, prev, 5);
    case -10: return DW_ALIGNR(cur, prev, 6);
    case -9: return DW_ALIGNR(cur, prev, 7);
    case -8: return DW_ALIGNR(cur, prev, 8);
    case -7: return DW_ALIGNR(cur, prev, 9);
    case -6: return DW_ALIGNR(cur, prev, 10);
    case -5: return DW_ALIGNR(cur, prev, 11);
    case -4: return DW_ALIGNR(cur, prev, 12);
    case -3: return DW_ALIGNR(cur, prev, 13);
    case -2: return DW_ALIGNR(cur, prev, 14);
    case -1: return DW_ALIGNR(cur, prev, 15);
    case 1: return DW_ALIGNR(next, cur, 1);
    case 2: return DW_ALIGNR(next, cur, 2);
    case 3: return DW_ALIGNR(next, cur, 3);
    case 4: return DW_ALIGNR(next, cur, 4);
    case 5: return DW_ALIGNR(next, cur, 5);
    case 6: return DW_ALIGNR(next, cur, 6);
    case 7: return DW_ALIGNR(next, cur, 7);
    case 8: return DW_ALIGNR(next, cur, 8);
    case 9: return DW_ALIGNR(next, cur, 9);
    case 10: return DW_ALIGNR(next, cur, 10);
    case 11: return DW_ALIGNR(next, cur, 11);
    case 12: return DW_ALIGNR(next, cur, 12);
    case 13: return DW_ALIGNR(next, cur, 13);
    case 14: return DW_ALIGNR(next, cur, 14);
    case 15: return DW_ALIGNR(next, cur, 15);
    case 16: return next;
    case -16: return prev;
    default: return cur;
    }
}

/* lanes of flat vector b whose column x = (16b + l) mod W reads column x + dx inside the row */
static inline dw_mask dw_rows_flat_mask(int b, int W, int dx) {
    uint32_t m = 0;
    for (int l = 0; l < 16; l++) {
        const int x = (16 * b + l) % W;
        m |= (uint32_t)(x + dx >= 0 && x + dx < W) << l;
    }
    return (dw_mask)m;
}

#define DW_ROWS_FLAT_W 7 /* the plane width (and height) this path is compiled for */

DW_AI void dw_rows_flat(const float *in, float *out, const float *w, float bias, const int K) {
    const int W = DW_ROWS_FLAT_W, N = W * W, NV = (N + 15) / 16, P = (K - 1) / 2;
    const dw_vec z = dw_zero(), vb = dw_set1(bias);
    dw_vec v[(DW_ROWS_FLAT_W * DW_ROWS_FLAT_W + 15) / 16 + 2];
    v[0] = z, v[NV + 1] = z;
#pragma GCC unroll 4
    for (int b = 0; b < NV; b++) {
        v[b + 1] = dw_load_m(in + 16 * b, dw_lanes(0, N - 16 * b));
    }
#pragma GCC unroll 4
    for (int b = 0; b < NV; b++) {
        dw_vec acc = vb;
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) {
            const dw_mask m = dw_rows_flat_mask(b, W, kx - P);
#pragma GCC unroll 5
            for (int ky = 0; ky < K; ky++) {
                const dw_vec sh = dw_rows_flat_shift(v[b], v[b + 1], v[b + 2], (ky - P) * W + kx - P);
                acc = dw_fma_m(sh, dw_set1(w[ky * K + kx]), acc, m);
            }
        }
        dw_store_m(out + 16 * b, acc, dw_lanes(0, N - 16 * b));
    }
}

#endif /* DW_SHIFT: the two-plane and flat forms */

/* the constant-size body for (K, PL, NB); nb 0: chunks (dw_rows_nb) */
static void dw_rows_dispatch(const float *in, int64_t ih, int64_t iw, float *out, int64_t oh, int64_t ow,
                             const float *w, int64_t pt, int64_t pl, float bias, int k, int nb) {
#define DW_ROWS_CASE(K_, PL_, NB_)                                                                  \
    if (k == K_ && pl == PL_ && nb == NB_) {                                                        \
        dw_rows_chunk(in, ih, iw, out, oh, ow, w, pt, bias, 0, K_, PL_, NB_, 0);                    \
        return;                                                                                     \
    }
#define DW_ROWS_WIDE(K_, PL_, NB_)                                                                  \
    if (k == K_ && pl == PL_ && nb == DW_ROWS_CHUNKED) {                                            \
        dw_rows_chunks(in, ih, iw, out, oh, ow, w, pt, bias, K_, PL_, NB_);                         \
        return;                                                                                     \
    }
#if DW_ROWS_ENGINE_NB3 == 4
#define DW_ROWS_NBS(K_, PL_) DW_ROWS_CASE(K_, PL_, 1) DW_ROWS_CASE(K_, PL_, 2) DW_ROWS_CASE(K_, PL_, 3) \
    DW_ROWS_CASE(K_, PL_, 4) DW_ROWS_WIDE(K_, PL_, 4)
#elif DW_ROWS_ENGINE_NB3 == 2
#define DW_ROWS_NBS(K_, PL_) DW_ROWS_CASE(K_, PL_, 1) DW_ROWS_CASE(K_, PL_, 2) DW_ROWS_WIDE(K_, PL_, 2)
#else
#error "DW_ROWS_ENGINE_NB3: 2 or 4"
#endif
    DW_ROWS_NBS(3, 0)
    DW_ROWS_NBS(3, 1)
    DW_ROWS_NBS(3, 2)
    DW_ROWS_CASE(5, 2, 1)
#if DW_ROWS_ENGINE_NB5 == 2
    DW_ROWS_CASE(5, 2, 2)
#endif
    DW_ROWS_WIDE(5, 2, DW_ROWS_ENGINE_NB5)
#undef DW_ROWS_NBS
#undef DW_ROWS_WIDE
#undef DW_ROWS_CASE
}

/* vectors a row needs (input and output rows both), DW_ROWS_CHUNKED for wider rows (chunks of
 * DW_ROWS_ENGINE_NB3 vectors for 3x3, DW_ROWS_ENGINE_NB5 for 5x5: the ISA's register budget, in its
 * vector header), 0 when outside what the engine takes */
static int dw_rows_nb(int64_t k, int64_t pl, int64_t iw, int64_t ow) {
    const int64_t w = iw > ow ? iw : ow;
    const int64_t nb = (w + VL - 1) / VL;
    const int64_t max_nb = k == 3 ? DW_ROWS_ENGINE_NB3 : DW_ROWS_ENGINE_NB5;
    if ((k != 3 && k != 5) || pl < k - 3 || pl > 2 || nb < 1 || w > DW_ROWS_ENGINE_MAX_W) {
        return 0;
    }
    return nb > max_nb ? DW_ROWS_CHUNKED : (int)nb;
}

/* One call's correlation: in (ih x iw) -> out (oh x ow) with pads pt, pl and the plane's
 * weights (backward-data: diff_dst -> diff_src, the turned filter, pads K-1-p). */
typedef struct {
    int64_t ih, iw, oh, ow, pt, pl, k, planes;
    int nb, pairs; /* dw_rows_nb; two planes per vector (dw_rows_pair) */
    int flat;      /* 7x7 "same" planes, 3x3 / 5x5: dw_rows_flat */
    int bwd_data;
} dw_rows_geo;

static int dw_rows_setup(const pcnn_conv2d_desc *d, int bwd_data, dw_rows_geo *g) {
    if (d->kh != d->kw || d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 || d->dilation_w != 1) {
        return 0;
    }
    g->k = d->kh, g->planes = d->n * d->c, g->bwd_data = bwd_data;
    if (bwd_data) {
        g->ih = d->oh, g->iw = d->ow, g->oh = d->ih, g->ow = d->iw;
        g->pt = d->kh - 1 - d->pad_top, g->pl = d->kw - 1 - d->pad_left;
    } else {
        g->ih = d->ih, g->iw = d->iw, g->oh = d->oh, g->ow = d->ow, g->pt = d->pad_top, g->pl = d->pad_left;
    }
    g->nb = dw_rows_nb(g->k, g->pl, g->iw, g->ow);
#if DW_SHIFT
    g->pairs = g->nb == 1 && g->planes >= 2 && g->iw + g->pl <= 8 && g->ow + g->k - 1 - g->pl <= 8;
    g->flat = g->ih == DW_ROWS_FLAT_W && g->iw == DW_ROWS_FLAT_W && g->oh == g->ih && g->ow == g->iw &&
              g->pt == (g->k - 1) / 2 && g->pl == (g->k - 1) / 2;
    g->pairs &= !g->flat;
#else
    g->pairs = 0, g->flat = 0;
#endif
    return g->nb != 0;
}

/* plane p's input, output, weights (oriented) and bias */
static void dw_rows_args(const dw_job *j, const dw_rows_geo *g, int64_t p, const float **in, float **out, float *w,
                         float *bias) {
    const int64_t ch = p % j->d->c, kk = g->k * g->k;
    const float *wc = j->w + ch * kk;
    for (int64_t t = 0; t < kk; t++) {
        w[t] = g->bwd_data ? wc[kk - 1 - t] : wc[t];
    }
    *bias = j->bias != NULL ? j->bias[ch] : 0.0f;
    *in = j->in + p * g->ih * g->iw;
    *out = j->out + p * g->oh * g->ow;
}

typedef struct {
    dw_job *j;
    dw_rows_geo g;
} dw_rows_job;

/* task t: plane t, or planes 2t and 2t + 1 (pairs; the last one alone when their count is odd) */
static void dw_rows_task(void *ctx, int64_t t) {
    const dw_rows_job *rj = ctx;
    const dw_rows_geo *g = &rj->g;
    const int64_t p = g->pairs ? 2 * t : t, ilen = g->ih * g->iw;
    dw_prefetch_next(rj->j->in, ilen, NULL, 0, p + g->pairs, g->planes);
    if (g->pairs) {
        dw_prefetch_next(rj->j->in, ilen, NULL, 0, p + 2, g->planes);
    }
    const float *in0;
    float *out0, w0[DW_ROWS_MAXK * DW_ROWS_MAXK], b0;
    dw_rows_args(rj->j, g, p, &in0, &out0, w0, &b0);
#if DW_SHIFT
    if (g->flat) {
        g->k == 3 ? dw_rows_flat(in0, out0, w0, b0, 3) : dw_rows_flat(in0, out0, w0, b0, 5);
        return;
    }
    if (g->pairs && p + 1 < g->planes) {
        const float *in1;
        float *out1, w1[DW_ROWS_MAXK * DW_ROWS_MAXK], b1;
        dw_rows_args(rj->j, g, p + 1, &in1, &out1, w1, &b1);
        dw_rows_pair_dispatch(in0, in1, g->ih, g->iw, out0, out1, g->oh, g->ow, w0, w1, g->pt, g->pl, b0, b1,
                              (int)g->k);
        return;
    }
#endif
    dw_rows_dispatch(in0, g->ih, g->iw, out0, g->oh, g->ow, w0, g->pt, g->pl, b0, (int)g->k, g->nb);
}

static int dw_rows_weights_finite(const pcnn_conv2d_desc *d, const float *w) {
    int finite = 1;
    for (int64_t i = 0; i < d->c * d->kh * d->kw; i++) {
        finite &= isfinite(w[i]) != 0;
    }
    return finite;
}

static int dw_rows_run(dw_job *j, int bwd_data) {
    const pcnn_conv2d_desc *d = j->d;
    dw_rows_job rj = {j, {0}};
    if (!dw_rows_setup(d, bwd_data, &rj.g) || !dw_rows_weights_finite(d, j->w)) {
        return 0;
    }
    __atomic_fetch_add(&DW_ROWS_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t planes = rj.g.planes, tasks = rj.g.pairs ? (planes + 1) / 2 : planes;
    pcnn_parallel_for_work(tasks, planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw_rows_task, &rj);
    return 1;
}

/* Serves the call (1) or declines (0). */
PCNN_INTERNAL int dw_rows_fwd(dw_job *j) { return dw_rows_run(j, 0); }

PCNN_INTERNAL int dw_rows_bwd_data(dw_job *j) { return dw_rows_run(j, 1); }

#else /* no rows engine at this level: the plane engine serves these shapes */

PCNN_INTERNAL int dw_rows_fwd(dw_job *j) {
    (void)j;
    return 0;
}

PCNN_INTERNAL int dw_rows_bwd_data(dw_job *j) {
    (void)j;
    return 0;
}

#endif /* DW_ROWS_ENGINE */

#endif /* PCNN_DEPTHWISE_ROWS_SIMD_H */
