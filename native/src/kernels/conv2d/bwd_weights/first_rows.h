/*
 * conv2d backward-weights, part of first.h (cw_first_many): the input broadcast in place,
 * with no src_pad copy (2026-12-06, issue 8 item 3).
 *
 * Why: the many-input-channel path copied every input row into a zero-padded band (src_pad,
 * ~3-5 % of resnet3x3 / mid) only so that every tap of every pixel was a plain broadcast, and
 * its tiles then multiplied the padding: with pad 1 the first / last pixel of each row has one
 * of its 3 taps on padding (2 / (3 ow) of the FMAs: mid 2 %, resnet3x3 1.2 %) and the first / last
 * output row one of its kh tap rows (2 / (kh * oh): mid 2 %). The tile broadcasts single
 * floats, so it needs no alignment and no masks: it can read the input where it is.
 *
 * How: tiles of NR tap rows (ci .. ci + NR - 1, one ky: input rows of the same iy, so a
 * whole output row is either inside the input or skipped for all of them) x 3 taps x R output
 * vectors. Per output row: skipped when iy = y + ky - pad_top is outside the input; else
 * pad_left edge pixels (taps that fall left of the input left out), the interior pixels (all
 * 3 taps: the same inner loop as cw_first_tile), pad_right edge pixels. Taps on padding are
 * left out instead of multiplied by zero: the scalar kernel skips them too, and each
 * accumulator is the same sequential chain over the task's pixels as with the copy (adding
 * a product 0 * g to it changes nothing but the sign of a zero sum), so dW is bit-identical to
 * the copy path for finite data. Non-finite dY: the bias check of cw_run_first still applies.
 * Taken when pad_left, pad_right <= 2 and iw >= 3 (cw_first_rows_fit); else the copy path.
 * AVX-512 only: at AVX2 (CW_FIRST_ROWS 0) GCC spilled an accumulator of this tile.
 * The next sub-band's dY rows are prefetched into L2 a few lines per tile as before; its
 * new input rows are left to the hardware (an L2 prefetch of them measured 0.99-1.01x).
 */

static int cw_first_rows_fit(const pcnn_conv2d_desc *d) {
    const int64_t pr = d->ow + 2 - d->iw - d->pad_left; /* kw 3, stride 1: pad_right used */
    return d->kw == 3 && d->stride_w == 1 && d->dilation_w == 1 && d->pad_left >= 0 &&
           d->pad_left <= 2 && pr >= 0 && pr <= 2 && d->iw >= 3;
}

/* One edge pixel of cw_first_tile_rows, whose tap 0 reads input column c (x - pl):
 * a[j][k][r] += dyt[r] * row[j][c + k] for the taps k that fall inside the input row; the
 * others are on padding and left out. Left edge (right = 0): taps c + k < 0; right edge:
 * taps c + k >= iw. One function for both
 * sides because they differ only in that test; `right` and P1 are compile-time constants at
 * both calls and it is always inlined, so each side keeps its own test and the accumulators
 * stay in registers (same instruction count as the two loop bodies it replaced; A/B level). */
static inline __attribute__((always_inline)) void
cw_first_edge_pixel(const int R, const int NR, const int P1, const int right, cw_vf a[4][3][4],
                    const float *dyt, const float *const *row, int64_t c, int64_t iw) {
    cw_vf g[4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) g[r] = cw_load(dyt + r * CW_V);
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 3
        for (int k = 0; k < 3; ++k) {
            if (right ? (P1 ? k == 2 : c + k >= iw) : (P1 ? k == 0 : c + k < 0)) continue;
            const cw_vf b = cw_bcast(row[j] + (c + k)); /* c + k >= 0: inside the row */
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r) a[j][k][r] = cw_fma(b, g[r], a[j][k][r]);
        }
}

/* acc rows j (taps (ci + j, ky, 0..2), at acc + j * jstep, output vectors r at + r * CW_V) +=
 * over ny output rows (input rows iy0 + y) x ow pixels: dyt[p][r] * plane[j][iy][x + kx - pl],
 * taps outside the input left out. */
static inline __attribute__((always_inline)) void
cw_first_tile_rows(const int R, const int NR, const int P1, int first, float *acc, int64_t jstep,
                   const float *dyt, int64_t ocp, const float *const *plane, int64_t iy0,
                   int64_t ny, int64_t ow, int64_t ih, int64_t iw, int64_t pl) {
    cw_vf a[4][3][4];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 3
        for (int k = 0; k < 3; ++k)
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r)
                a[j][k][r] = first ? cw_zero() : cw_load(acc + j * jstep + k * ocp + r * CW_V);
    if (P1) pl = 1; /* P1: pad_left = pad_right = 1 (iw = ow), the edges known at compile time */
    const int64_t xe = iw - 2 + pl; /* pixels [pl, xe) have all 3 taps inside the row */
    for (int64_t y = 0; y < ny; ++y) {
        const int64_t iy = iy0 + y;
        if (iy < 0 || iy >= ih) { /* every tap of the row on padding */
            dyt += ow * ocp;
            continue;
        }
        /* row[j][x + kx - pl]: the tap kx of pixel x. The column is kept as an index, not
         * folded into the pointer: plane[j] + iy * iw - pl would point before the plane
         * for iy = 0 (undefined in C even if never read there). */
        const float *row[4];
#pragma GCC unroll 8
        for (int j = 0; j < NR; ++j) row[j] = plane[j] + iy * iw;
        int64_t x = 0;
        for (; x < (P1 ? 1 : pl); ++x, dyt += ocp) /* left edge: taps x + kx < pl left out */
            cw_first_edge_pixel(R, NR, P1, 0, a, dyt, row, x - pl, iw);
        const float *q[4];
#pragma GCC unroll 8
        for (int j = 0; j < NR; ++j) q[j] = row[j] + (x - pl); /* x = pl here: column 0 */
        for (; x < xe; ++x, dyt += ocp) {
            cw_vf g[4];
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r) g[r] = cw_load(dyt + r * CW_V);
#pragma GCC unroll 8
            for (int j = 0; j < NR; ++j) {
#pragma GCC unroll 3
                for (int k = 0; k < 3; ++k) {
                    const cw_vf b = cw_bcast(q[j] + k);
#pragma GCC unroll 4
                    for (int r = 0; r < R; ++r) a[j][k][r] = cw_fma(b, g[r], a[j][k][r]);
                }
                q[j] += 1;
            }
        }
        for (; x < ow; ++x, dyt += ocp) /* right edge: taps x + kx - pl >= iw left out */
            cw_first_edge_pixel(R, NR, P1, 1, a, dyt, row, x - pl, iw);
    }
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 3
        for (int k = 0; k < 3; ++k)
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r) cw_store(acc + j * jstep + k * ocp + r * CW_V, a[j][k][r]);
}

#define CW_FIRST_ROWS_ARGS first, acc, jstep, dyt, ocp, plane, iy0, ny, ow, ih, iw, pl
static void cw_first_run_tile_rows(int r, int nr, int first, float *acc, int64_t jstep,
                                   const float *dyt, int64_t ocp, const float *const *plane,
                                   int64_t iy0, int64_t ny, int64_t ow, int64_t ih, int64_t iw,
                                   int64_t pl) {
    const int p1 = pl == 1 && iw == ow;
    if (r == 4) { /* CW_FIRST_REGS >= 29: 2 rows */
        if (nr == 1) cw_first_tile_rows(4, 1, 0, CW_FIRST_ROWS_ARGS);
        else if (p1) cw_first_tile_rows(4, 2, 1, CW_FIRST_ROWS_ARGS);
        else cw_first_tile_rows(4, 2, 0, CW_FIRST_ROWS_ARGS);
    } else if (r == 2) { /* 2 rows at 16 registers, up to 4 at 31 */
        switch (nr) {
        case 1: cw_first_tile_rows(2, 1, 0, CW_FIRST_ROWS_ARGS); break;
        case 2: cw_first_tile_rows(2, 2, 0, CW_FIRST_ROWS_ARGS); break;
        case 3: cw_first_tile_rows(2, 3, 0, CW_FIRST_ROWS_ARGS); break;
        default: cw_first_tile_rows(2, 4, 0, CW_FIRST_ROWS_ARGS); break;
        }
    } else {
        switch (nr) {
        case 1: cw_first_tile_rows(1, 1, 0, CW_FIRST_ROWS_ARGS); break;
        case 2: cw_first_tile_rows(1, 2, 0, CW_FIRST_ROWS_ARGS); break;
        case 3: cw_first_tile_rows(1, 3, 0, CW_FIRST_ROWS_ARGS); break;
        default: cw_first_tile_rows(1, 4, 0, CW_FIRST_ROWS_ARGS); break;
        }
    }
}
#undef CW_FIRST_ROWS_ARGS

/* One sub-band (output rows [y0, y0 + ny) of image n, dY transposed in dyt) of a task: every
 * tap row, output vector by output vector; channel groups outer and ky inner, so a group's
 * input rows are read kh times in a row (L1). first: the tiles start from zero. */
static void cw_first_rows_subband(const cw_first_ctx *c, float *part, const float *dyt,
                                  int64_t n, int64_t y0, int64_t ny, int first,
                                  cw_first_pf *pf_dy) {
    const pcnn_conv2d_desc *d = c->d;
    const int64_t ocp = c->ocp, kh = d->kh, ch = d->c, ihw = d->ih * d->iw;
    const int64_t jstep = kh * 3 * ocp; /* channel to channel in the partial */
    for (int64_t ov = 0; ov < ocp;) {
        const int r = ocp - ov >= c->rmax * CW_V ? c->rmax : ocp - ov >= 2 * CW_V ? 2 : 1;
        const int nrmax = cw_first_nr_max(r, 3);
        const int64_t blocks = (ch + nrmax - 1) / nrmax;
        const int64_t nr_even = (ch + blocks - 1) / blocks;
        for (int64_t ci = 0; ci < ch; ci += nr_even) {
            const int nr = (int)(ch - ci < nr_even ? ch - ci : nr_even);
            const float *plane[4];
            for (int j = 0; j < nr; ++j) plane[j] = c->src + (n * ch + ci + j) * ihw;
            for (int64_t ky = 0; ky < kh; ++ky) {
                cw_first_pf_step(pf_dy);
                cw_first_run_tile_rows(r, nr, first, part + (ci * kh + ky) * 3 * ocp + ov, jstep,
                                       dyt + ov, ocp, plane, y0 + ky - d->pad_top, ny, d->ow,
                                       d->ih, d->iw, d->pad_left);
            }
        }
        ov += r * CW_V;
    }
}
