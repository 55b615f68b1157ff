/*
 * Depthwise backward-weights, 3x3, stride 1, dilation 1: "shifted diff_dst" sums. Part of the
 * depthwise-simd.h template (included from it; uses its dw_* vector layer and dw_job).
 *
 * Why: the sums dW[ky][kx] = sum over (y, x) of src(y + ky - pt, x + kx - pl) * dY(y, x) were
 * served by the lanes engine (register transposes of src and dY into channels-in-lanes frames:
 * 0.4x oneDNN's best on dw3x3, 8x256x28x28) or by the plane engine (masked, shifted src loads
 * per tap and block). Indexed by the input pixel instead,
 *     dW[ky][kx] = sum over (iy, ix) of src(iy, ix) * dY(iy - ky + pt, ix - kx + pl)
 * with dY taken as 0 outside its plane, the vector runs along the input columns: per dY row y,
 * the three column shifts of that row are loaded once (masked to the row, so the plane's
 * border is exact zeros) and multiplied with the (up to) three input rows iy = y + ky - pt
 * that meet it: 9 FMAs per vector for 3 dY loads and 3 src loads, no transposes, no per-tap
 * masks on the FMAs. Columns go in chunks of two vectors, each chunk independent (the
 * shifted dY loads reach across chunks by themselves).
 *
 * Arithmetic: a masked-off dY lane is +0, so 0 * src enters the sum where the reference skips
 * the tap; with finite src that adds exact zeros. When a channel's sums come out non-finite
 * (a non-finite src or dY, or overflow), the channel is summed again by the plane engine's
 * exact path (dw_bwd_weights_sums with exact = 1), so Inf/NaN results follow that engine.
 * Per channel: images in order, then dY rows, then column chunks; two accumulators per tap
 * (one per vector of the chunk), added at the end; the bias gradient sums the plain dY rows.
 * A task owns a block of channels (dw_wsum3_task): results do not depend on the thread count.
 */
#ifndef PCNN_DEPTHWISE_WSUM3_SIMD_H
#define PCNN_DEPTHWISE_WSUM3_SIMD_H

/* calls served (tests check that their shapes reach it) */
PCNN_INTERNAL int64_t DW_WSUM3_RUNS;
PCNN_INTERNAL int64_t DW_WSUM3_RUNS = 0;

#ifndef DW3W_PF
#define DW3W_PF 1
#endif

/* 3x3, stride 1, dilation 1; pads that leave every tap some output (the shifts stay small) */
static int dw_wsum3_geometry(const pcnn_conv2d_desc *d) {
    return d->kh == 3 && d->kw == 3 && d->stride_h == 1 && d->stride_w == 1 && d->dilation_h == 1 &&
           d->dilation_w == 1 && d->pad_top <= 2 && d->pad_bottom <= 2 && d->pad_left <= 2 &&
           d->pad_right <= 2;
}

/* dY row y of a chunk: its three column shifts times the input rows y + ky - pt (CHECKED:
 * skip rows outside the input; else all three are inside). */
DW_AI void
dw_wsum3_row(const pcnn_conv2d_desc *d, const float *src, const float *dy, int64_t x0, int64_t y,
             const int NB, const int PL, const int CHECKED, const dw_mask *min, const dw_mask (*mdy)[2],
             dw_vec (*acc)[2], dw_vec *accb) {
    const float *drow = dy + y * d->ow;
    dw_vec dv[3][2];
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
            dv[kx][b] = dw_load_m(dw_at(drow, x0 + b * VL - kx + PL), mdy[kx][b]);
        }
        /* bias: the unshifted load (kx = PL) holds dY columns c0 .. min(ow, iw) - 1 once;
         * the caller sums the columns from iw on (pads wider than the kernel) apart */
        *accb = dw_add(*accb, dv[PL][b]);
    }
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++) {
        const int64_t iy = y + ky - d->pad_top;
        if (CHECKED && (iy < 0 || iy >= d->ih)) {
            continue;
        }
        const float *irow = src + iy * d->iw + x0;
#pragma GCC unroll 2
        for (int b = 0; b < NB; b++) {
            const dw_vec v = dw_load_m(irow + b * VL, min[b]);
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) {
                acc[ky * 3 + kx][b] = dw_fma(v, dv[kx][b], acc[ky * 3 + kx][b]);
            }
        }
    }
}

/* input and dY rows both within two vectors: dw_wsum3_plane_shift. Rows of at most half a vector
 * stay with the lanes engine, which packs channels into the lanes instead: 7x7 planes measured
 * 154-164 (lanes) vs 188-213 us (here), 10x10 134-138 vs 114-116 us (8x1024x7x7, 8x512x10x10). */
static int dw_wsum3_fits(const pcnn_conv2d_desc *d) {
    return d->iw > VL / 2 && d->iw <= 2 * VL && d->ow <= 2 * VL;
}

/* One image's plane of channel ch, input columns [x0, x0 + NB*VL), into acc_io[tap][b]. The
 * accumulators are copied into locals so they stay in registers over the row loop. */
DW_AI void
dw_wsum3_chunk(const pcnn_conv2d_desc *d, const float *src, const float *dy, int64_t x0, const int NB,
               const int PL, dw_vec (*acc_io)[2], dw_vec *accb_io) {
    const int64_t iw = d->iw, oh = d->oh, ow = d->ow;
    dw_mask min[2], mdy[3][2];
#pragma GCC unroll 2
    for (int b = 0; b < NB; b++) {
        const int64_t c0 = x0 + b * VL; /* input column of lane 0 */
        min[b] = dw_lanes(0, iw - c0);
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
            /* lane l reads dY column c0 + l - kx + PL: inside [0, ow) and an input column */
            const int64_t s = c0 - kx + PL;
            mdy[kx][b] = dw_lanes(-s, ow - s) & min[b];
        }
    }
    dw_vec acc[9][2], accb = *accb_io;
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        acc[t][0] = acc_io[t][0], acc[t][1] = acc_io[t][1];
    }
    /* rows whose three input rows are all inside: pt <= y and y + 2 - pt < ih */
    const int64_t pt = d->pad_top;
    const int64_t ya = pt < oh ? pt : oh;
    int64_t yb = d->ih - 2 + pt;
    yb = yb < ya ? ya : yb > oh ? oh : yb;
    int64_t y = 0;
    for (; y < ya; y++) {
        dw_wsum3_row(d, src, dy, x0, y, NB, PL, 1, min, mdy, acc, &accb);
    }
    for (; y < yb; y++) {
        dw_wsum3_row(d, src, dy, x0, y, NB, PL, 0, min, mdy, acc, &accb);
    }
    for (; y < oh; y++) {
        dw_wsum3_row(d, src, dy, x0, y, NB, PL, 1, min, mdy, acc, &accb);
    }
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        acc_io[t][0] = acc[t][0], acc_io[t][1] = acc[t][1];
    }
    *accb_io = accb;
}

#if DW_SHIFT
/* A plane whose input and dY rows both fit in two vectors (iw, ow <= 2*VL), one chunk: each dY
 * row is loaded once (two vectors, zero past ow) and its column shifts come from register
 * shifts (dw_shift, the vector layer) with zeros on both sides; each input row is loaded once
 * and kept for the three dY rows that meet it (rows outside the input are zeros, which add
 * exact zeros with finite dY). Per dY row: 2 + 2 loads, 6 shifts, 9 * NB FMAs; the masked,
 * line-splitting loads of the general chunk (12 per row) measured the bottleneck there.
 * Bias: every dY column of the row, once. */
DW_AI void
dw_wsum3_plane_shift(const pcnn_conv2d_desc *d, const float *src, const float *dy, const float *nsrc,
                     const float *ndy, const int NB, const int PL, dw_vec (*acc_io)[2], dw_vec *accb_io) {
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow, pt = d->pad_top;
    const dw_mask min0 = dw_lanes(0, iw), min1 = dw_lanes(0, iw - VL);
    const dw_mask md0 = dw_lanes(0, ow), md1 = dw_lanes(0, ow - VL);
    const dw_vec z = dw_zero();
    dw_vec acc[9][2], accb = *accb_io;
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        acc[t][0] = acc_io[t][0], acc[t][1] = acc_io[t][1];
    }
    dw_vec in[3][2]; /* input rows y - pt + 0, 1, 2 */
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++) {
        const int64_t iy = k - pt;
        const int inside = iy >= 0 && iy < ih;
        in[k][0] = inside ? dw_load_m(src + iy * iw, min0) : z;
        in[k][1] = inside && NB == 2 ? dw_load_m(src + iy * iw + VL, min1) : z;
    }
    for (int64_t y = 0; y < oh; y++) {
        if (DW3W_PF) {
            /* row y of the next plane's src and dY (at most NB + 1 lines each, from anywhere in
             * a line): a fixed count, no loop or branch (prefetches never fault) */
#pragma GCC unroll 3
            for (int l = 0; l <= NB; l++) { /* may pass the plane: addresses as integers */
                PCNN_PREFETCH_AT(nsrc, y * iw + 16 * l);
                PCNN_PREFETCH_AT(ndy, y * ow + 16 * l);
            }
        }
        const float *drow = dy + y * ow;
        const dw_vec v0 = dw_load_m(drow, md0), v1 = dw_load_m(drow + VL, md1);
        accb = dw_add(accb, dw_add(v0, v1));
        dw_vec dv[3][2];
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) { /* lane l of block b: dY column b*VL + l + PL - kx */
            dv[kx][0] = dw_shift(z, v0, v1, PL - kx);
            dv[kx][1] = NB == 2 ? dw_shift(v0, v1, z, PL - kx) : z;
        }
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
#pragma GCC unroll 2
            for (int b = 0; b < NB; b++) {
#pragma GCC unroll 3
                for (int kx = 0; kx < 3; kx++) {
                    acc[ky * 3 + kx][b] = dw_fma(in[ky][b], dv[kx][b], acc[ky * 3 + kx][b]);
                }
            }
        }
        const int64_t iy = y + 3 - pt; /* the row entering the window */
        const int inside = iy >= 0 && iy < ih;
        in[0][0] = in[1][0], in[0][1] = in[1][1];
        in[1][0] = in[2][0], in[1][1] = in[2][1];
        in[2][0] = inside ? dw_load_m(src + iy * iw, min0) : z;
        in[2][1] = inside && NB == 2 ? dw_load_m(src + iy * iw + VL, min1) : z;
    }
#pragma GCC unroll 9
    for (int t = 0; t < 9; t++) {
        acc_io[t][0] = acc[t][0], acc_io[t][1] = acc[t][1];
    }
    *accb_io = accb;
}
#endif

/* One image's plane: column chunks of two vectors, the last one of one or two. */
DW_AI void dw_wsum3_plane(const pcnn_conv2d_desc *d, const float *src, const float *dy, const int PL,
                          dw_vec (*acc)[2], dw_vec *accb) {
    int64_t x0 = 0;
    for (; x0 + 2 * VL <= d->iw; x0 += 2 * VL) {
        dw_wsum3_chunk(d, src, dy, x0, 2, PL, acc, accb);
    }
    if (x0 < d->iw) {
        if (x0 + VL >= d->iw) {
            dw_wsum3_chunk(d, src, dy, x0, 1, PL, acc, accb);
        } else {
            dw_wsum3_chunk(d, src, dy, x0, 2, PL, acc, accb);
        }
    }
}

/* One image's plane of a channel into acc / accb; nsrc / ndy: the plane read next (prefetched). */
static void dw_wsum3_one(const pcnn_conv2d_desc *d, const float *src, const float *dy, const float *nsrc,
                         const float *ndy, dw_vec (*acc)[2], dw_vec *accb) {
#if DW_SHIFT
    if (dw_wsum3_fits(d)) {
        /* one chunk, shifts in registers; its bias covers every dY column */
        if (d->iw <= VL) {
            d->pad_left == 0   ? dw_wsum3_plane_shift(d, src, dy, nsrc, ndy, 1, 0, acc, accb)
            : d->pad_left == 1 ? dw_wsum3_plane_shift(d, src, dy, nsrc, ndy, 1, 1, acc, accb)
                               : dw_wsum3_plane_shift(d, src, dy, nsrc, ndy, 1, 2, acc, accb);
        } else {
            d->pad_left == 0   ? dw_wsum3_plane_shift(d, src, dy, nsrc, ndy, 2, 0, acc, accb)
            : d->pad_left == 1 ? dw_wsum3_plane_shift(d, src, dy, nsrc, ndy, 2, 1, acc, accb)
                               : dw_wsum3_plane_shift(d, src, dy, nsrc, ndy, 2, 2, acc, accb);
        }
        return;
    }
#endif
    /* wider rows: the whole next plane asked for at once */
    dw_prefetch(nsrc, d->ih * d->iw, 0);
    dw_prefetch(ndy, d->oh * d->ow, 0);
    switch (d->pad_left) {
    case 0:
        dw_wsum3_plane(d, src, dy, 0, acc, accb);
        break;
    case 1:
        dw_wsum3_plane(d, src, dy, 1, acc, accb);
        break;
    default:
        dw_wsum3_plane(d, src, dy, 2, acc, accb);
        break;
    }
    /* bias: dY columns from iw on (ow = iw + pl + pr - 2 > iw) are in no chunk's lanes */
    for (int64_t xe = d->iw; xe < d->ow; xe += VL) {
        const dw_mask m = dw_lanes(0, d->ow - xe);
        for (int64_t y = 0; y < d->oh; y++) {
            *accb = dw_add(*accb, dw_load_m(dy + y * d->ow + xe, m));
        }
    }
}

/* Channels per task (at most; fewer when that leaves under 8 tasks): a task sums its block image
 * by image, so for each image it reads the block's planes as one run of memory (src and dY);
 * per-channel tasks read a plane per image, C planes apart, which the hardware prefetchers do
 * not follow. The block's accumulators stay on the stack between planes. */
#define DW_WSUM3_CB 16
static int64_t dw_wsum3_cb(const pcnn_conv2d_desc *d) {
    const int64_t q = (d->c + 7) / 8;
    return q < DW_WSUM3_CB ? q : DW_WSUM3_CB;
}

static void dw_wsum3_task(void *ctx, int64_t task) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ip = d->ih * d->iw, op = d->oh * d->ow, cb = dw_wsum3_cb(d);
    const int64_t c0 = task * cb, nc = d->c - c0 < cb ? d->c - c0 : cb;
    dw_vec acc[DW_WSUM3_CB][9][2], accb[DW_WSUM3_CB];
    for (int64_t i = 0; i < nc; i++) {
        accb[i] = dw_zero();
        for (int t = 0; t < 9; t++) {
            acc[i][t][0] = dw_zero(), acc[i][t][1] = dw_zero();
        }
    }
    for (int64_t n = 0; n < d->n; n++) {
        for (int64_t i = 0; i < nc; i++) {
            const int64_t plane = n * d->c + c0 + i;
            const float *src = j->in + plane * ip, *dy = j->in2 + plane * op;
            const float *nsrc = src, *ndy = dy; /* the plane read next; the last one: itself */
            if (i + 1 < nc) {
                nsrc = src + ip, ndy = dy + op;
            } else if (n + 1 < d->n) {
                nsrc = j->in + ((n + 1) * d->c + c0) * ip, ndy = j->in2 + ((n + 1) * d->c + c0) * op;
            }
            dw_wsum3_one(d, src, dy, nsrc, ndy, acc[i], &accb[i]);
        }
    }
    const int64_t k = 9;
    for (int64_t i = 0; i < nc; i++) {
        const int64_t ch = c0 + i;
        int finite = dw_all_finite(accb[i]);
        for (int t = 0; t < 9; t++) {
            acc[i][t][0] = dw_add(acc[i][t][0], acc[i][t][1]);
            finite &= dw_all_finite(acc[i][t][0]);
        }
        if (!finite) { /* non-finite data or overflow: the plane engine's exact sums decide */
            DW_BWD_WEIGHTS_EXACT_OR_RETURN(j, ch, k);
            continue;
        }
        for (int64_t t = 0; t < k; t++) {
            j->out[ch * k + t] = dw_hsum(acc[i][t][0]);
        }
        if (j->out2 != NULL) {
            j->out2[ch] = dw_hsum(accb[i]);
        }
    }
}

/* Serves the call (1) or declines (0). Only where shifts are single instructions (DW_SHIFT,
 * AVX-512): on AVX2 the general chunk's masked loads measured 1.3-1.7x the lanes engine's time
 * (dw3x3). Rows that fit two vectors (dw_wsum3_fits) go first (before the lanes engine): dw3x3
 * 620-630 -> 360-380 us, 14x14 planes 240-320 -> 160 us (1 thread, same-run A/B, 2026-12-05). Wider rows only after the lanes engine declined (any_width): its frame beat
 * the general chunk on 56x56 (1230-1480 vs 2460-2630 us), the plane engine lost to it on 112x112
 * (800-1220 vs 550-590 us). */
PCNN_INTERNAL int dw_wsum3_bwd_weights(dw_job *j, int any_width) {
    const pcnn_conv2d_desc *d = j->d;
    if (!DW_SHIFT || !dw_wsum3_geometry(d) || (!any_width && !dw_wsum3_fits(d))) {
        return 0;
    }
    __atomic_fetch_add(&DW_WSUM3_RUNS, 1, __ATOMIC_RELAXED);
    const int64_t cb = dw_wsum3_cb(d);
    pcnn_parallel_for_work((d->c + cb - 1) / cb, d->n * d->c * (d->ih * d->iw + d->oh * d->ow * 9), dw_wsum3_task,
                           j);
    return 1;
}

#endif /* PCNN_DEPTHWISE_WSUM3_SIMD_H */
