/*
 * Depthwise forward / backward-data, stride 1, dilation 1, 3x3 and 5x5, rows of at most a few
 * vectors: the "rows" engine. Part of the depthwise-simd.h template (after it; its own
 * translation unit, depthwise-rows-<isa>.c).
 *
 * Why: the plane engine's gather loads every tap's input vector masked and unaligned (K*K
 * loads per output vector); on 28x28 planes that measured ~900 cycles a plane for ~250 cycles
 * of FMAs (0.4-0.9x oneDNN's jit_dw). Here whole output rows stay in registers: each input row
 * is loaded once (NB vectors, masked to the row: zeros past its end), its K column shifts are
 * made in registers (dw_shift: valignd, zeros shifted in at both ends) and FMAed into the K
 * output rows that input row meets (out[y] gets in[y + ky - pt] * w[ky][.]: rolling K
 * accumulator rows; the finished one is stored, masked, as each input row is done). Per input
 * row: NB loads, (K-1)*NB shifts, K*K*NB FMAs, NB stores. Rows wider than 4 vectors (3x3) or 2
 * (5x5) go in chunks of that many vectors, each loading its neighbour vector on either side
 * too (masked: zeros outside the row), one chunk down the whole plane after the other.
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

#if DW_SHIFT

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
#define DW_ROWS_NBS(K_, PL_) DW_ROWS_CASE(K_, PL_, 1) DW_ROWS_CASE(K_, PL_, 2) DW_ROWS_CASE(K_, PL_, 3) \
    DW_ROWS_CASE(K_, PL_, 4) DW_ROWS_WIDE(K_, PL_, 4)
    DW_ROWS_NBS(3, 0)
    DW_ROWS_NBS(3, 1)
    DW_ROWS_NBS(3, 2)
    DW_ROWS_CASE(5, 2, 1)
    DW_ROWS_CASE(5, 2, 2)
    DW_ROWS_WIDE(5, 2, 2)
#undef DW_ROWS_NBS
#undef DW_ROWS_WIDE
#undef DW_ROWS_CASE
}

/* vectors a row needs (input and output rows both), DW_ROWS_CHUNKED for wider rows (chunks of
 * 4 vectors for 3x3: 3*4 accumulators + 3*4 shifts fit the 32 registers; 2 for 5x5), 0 when
 * outside what the engine takes */
static int dw_rows_nb(int64_t k, int64_t pl, int64_t iw, int64_t ow) {
    const int64_t w = iw > ow ? iw : ow;
    const int64_t nb = (w + VL - 1) / VL;
    const int64_t max_nb = k == 3 ? 4 : 2;
    if ((k != 3 && k != 5) || pl < k - 3 || pl > 2 || nb < 1) {
        return 0;
    }
    return nb > max_nb ? DW_ROWS_CHUNKED : (int)nb;
}

static int dw_rows_geometry(const pcnn_conv2d_desc *d, int bwd_data) {
    if (d->kh != d->kw || d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 || d->dilation_w != 1) {
        return 0;
    }
    const int64_t pl = bwd_data ? d->kw - 1 - d->pad_left : d->pad_left;
    return bwd_data ? dw_rows_nb(d->kw, pl, d->ow, d->iw) : dw_rows_nb(d->kw, pl, d->iw, d->ow);
}

static int dw_rows_weights_finite(const pcnn_conv2d_desc *d, const float *w) {
    int finite = 1;
    for (int64_t i = 0; i < d->c * d->kh * d->kw; i++) {
        finite &= isfinite(w[i]) != 0;
    }
    return finite;
}

static void dw_rows_fwd_task(void *ctx, int64_t plane) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ch = plane % d->c, ip = d->ih * d->iw, op = d->oh * d->ow;
    dw_prefetch_next(j->in, ip, j->out, op, plane, d->n * d->c);
    dw_rows_dispatch(j->in + plane * ip, d->ih, d->iw, j->out + plane * op, d->oh, d->ow,
                     j->w + ch * d->kh * d->kw, d->pad_top, d->pad_left, j->bias != NULL ? j->bias[ch] : 0.0f,
                     (int)d->kh, dw_rows_geometry(d, 0));
}

/* diff_dst plane (oh x ow) -> diff_src plane (ih x iw): the turned filter, pads K-1-p */
static void dw_rows_bwd_data_task(void *ctx, int64_t plane) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ch = plane % d->c, ip = d->ih * d->iw, op = d->oh * d->ow, k = d->kh, kk = k * k;
    dw_prefetch_next(j->in, op, j->out, ip, plane, d->n * d->c);
    const float *w = j->w + ch * kk;
    float wr[DW_ROWS_MAXK * DW_ROWS_MAXK];
    for (int64_t t = 0; t < kk; t++) {
        wr[t] = w[kk - 1 - t];
    }
    dw_rows_dispatch(j->in + plane * op, d->oh, d->ow, j->out + plane * ip, d->ih, d->iw, wr,
                     k - 1 - d->pad_top, k - 1 - d->pad_left, 0.0f, (int)k, dw_rows_geometry(d, 1));
}

/* Serves the call (1) or declines (0). */
PCNN_INTERNAL int dw_rows_fwd(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!dw_rows_geometry(d, 0) || !dw_rows_weights_finite(d, j->w)) {
        return 0;
    }
    __atomic_fetch_add(&DW_ROWS_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw_rows_fwd_task, j);
    return 1;
}

PCNN_INTERNAL int dw_rows_bwd_data(dw_job *j) {
    const pcnn_conv2d_desc *d = j->d;
    if (!dw_rows_geometry(d, 1) || !dw_rows_weights_finite(d, j->w)) {
        return 0;
    }
    __atomic_fetch_add(&DW_ROWS_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw_rows_bwd_data_task,
                           j);
    return 1;
}

#else /* no single-instruction shifts (AVX2): the plane engine serves these shapes */

PCNN_INTERNAL int dw_rows_fwd(dw_job *j) {
    (void)j;
    return 0;
}

PCNN_INTERNAL int dw_rows_bwd_data(dw_job *j) {
    (void)j;
    return 0;
}

#endif /* DW_SHIFT */

#endif /* PCNN_DEPTHWISE_ROWS_SIMD_H */
