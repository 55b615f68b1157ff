/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template (only with
 * CW_ROWS: AVX-512): the in-place stride-1 3x3 path (cw_run_rows), which reads dY and src
 * where they are, with no packing, no dY repack and no junk pixels.
 *
 * Why: on resnet3x3 / mid the phase-plane path (cw_run_wide) runs its tile at ~92 % of the
 * FMA peak (a copy of its tile loop on task-sized operands: 208-222 GFLOP/s of ~223, and
 * the same with every col load aligned, so the cache-line-splitting col loads cost
 * nothing), but the call reached ~70 %: plane packing ~8 %, the dY repack ~7.5 %, junk
 * pixels (row width ow + 2, masked last vector) ~4 %.
 *
 * Formulation: stride 1, dilation 1, kw 3 with one column of padding on each side, so
 * iw == ow and output pixel p = y * ow + ox of a chunk of output rows (one image, rows y0 ..
 * y0 + nyc) lines up with input pixel p of row y + ky - pad_top. Tap (ci, ky, kx) then reads
 * src at (row y0 + ky - pad_top of plane ci) + p + kx - 1 for every p of the chunk: one
 * pointer per tap, dY rows read in place (contiguous over the chunk's rows). The lanes
 * whose column ox + kx - 1 falls outside the row (ox == 0 for kx 0, ox == ow - 1 for kx 2)
 * are masked off in the load (zero, and not read): the masks depend only on p mod ow, so
 * one table per task serves every chunk (each tile call starts at a row start). Output
 * rows whose input row is outside the image for some ky of a tile (the top / bottom
 * padding) are run one row per call, with those taps reading a zero row.
 *
 * No junk pixels: every product is one the scalar kernel forms, or a padded tap (zero)
 * times dY, which the entry's dY finiteness check covers (see "Padding"), so src need not
 * be finite here (unlike cw_run_wide). Determinism as for every path: each task owns its
 * slice of dW and walks all chunks in a fixed order.
 */

#define CW_ROWS_PF_SRC 1 /* src rows of the chunk prefetched into L2 at its start (measured 0.97) */
/* calls that took cw_run_rows (the tests check that their shapes reach it) */
PCNN_INTERNAL int64_t CW_ROWS_RUNS;
/* 0: shapes that fit run cw_run_wide instead (the tests use it to keep that path covered) */
PCNN_INTERNAL int64_t CW_ROWS_ON = 1;

/* acc[r][t] += sum over p in [p0, p0 + len) of dy[r][p] * col[t][p] where tap t has
 * kx = t % 3 (tiles start at multiples of CW_RT, taps come 3 per kernel row); kx 0 and 2
 * loads take m0[j] / m2[j] for step j = (p - p0) / CW_V (p0 a row start). */
static inline void cw_rows_tile(float *acc, const float *const *dy, const float *const *col,
                                int64_t p0, int64_t len, const cw_mask *m0,
                                const cw_mask *m2) {
    cw_vf a[CW_RO][CW_RT];
#pragma GCC unroll 8
    for (int r = 0; r < CW_RO; ++r) {
#pragma GCC unroll 8
        for (int t = 0; t < CW_RT; ++t) {
            a[r][t] = cw_load(acc + (r * CW_RT + t) * CW_V);
        }
    }
    const float *ds[CW_RO];
    const float *cs[CW_RT];
#pragma GCC unroll 8
    for (int r = 0; r < CW_RO; ++r) ds[r] = dy[r] + p0;
#pragma GCC unroll 8
    for (int t = 0; t < CW_RT; ++t) cs[t] = col[t] + p0;
    int64_t p = 0, j = 0;
    for (; p + CW_V <= len; p += CW_V, ++j) {
        const cw_mask k0 = m0[j], k2 = m2[j];
        cw_vf c[CW_RT];
#pragma GCC unroll 8
        for (int t = 0; t < CW_RT; ++t) {
            c[t] = t % 3 == 1 ? cw_load(cs[t] + p)
                              : cw_load_mz(t % 3 == 0 ? k0 : k2, cs[t] + p);
        }
#pragma GCC unroll 8
        for (int r = 0; r < CW_RO; ++r) {
            const cw_vf g = cw_load(ds[r] + p);
#pragma GCC unroll 8
            for (int t = 0; t < CW_RT; ++t) {
                a[r][t] = cw_fma(g, c[t], a[r][t]);
            }
        }
    }
    if (p < len) { /* masked tail: nothing past the chunk is read */
        const cw_mask tail = cw_mask_first((int)(len - p));
        const cw_mask k0 = cw_mask_and(m0[j], tail), k2 = cw_mask_and(m2[j], tail);
        cw_vf c[CW_RT];
#pragma GCC unroll 8
        for (int t = 0; t < CW_RT; ++t) {
            c[t] = cw_load_mz(t % 3 == 0 ? k0 : t % 3 == 1 ? tail : k2, cs[t] + p);
        }
#pragma GCC unroll 8
        for (int r = 0; r < CW_RO; ++r) {
            const cw_vf g = cw_load_mz(tail, ds[r] + p);
#pragma GCC unroll 8
            for (int t = 0; t < CW_RT; ++t) {
                a[r][t] = cw_fma(g, c[t], a[r][t]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < CW_RO; ++r) {
#pragma GCC unroll 8
        for (int t = 0; t < CW_RT; ++t) {
            cw_store(acc + (r * CW_RT + t) * CW_V, a[r][t]);
        }
    }
}

/* Does the shape take cw_run_rows? (stride 1, dilation 1, kw 3 padded by one column each
 * side, rows of at least one vector; called where cw_run_wide would run one image per
 * chunk, so the chunks are long) */
static int cw_rows_fits(const pcnn_conv2d_desc *d) {
    return d->stride_h == 1 && d->stride_w == 1 && d->dilation_h == 1 && d->dilation_w == 1 &&
           d->kw == 3 && d->pad_left == 1 && d->pad_right == 1 && d->iw == d->ow &&
           d->ow >= CW_V && CW_RT % 3 == 0;
}

/* floats of task scratch cw_run_rows needs after the accumulators (zero row, mask tables) */
static size_t cw_rows_scratch(const cw_ctx *x) {
    const int64_t steps = (x->ny * x->d->ow + CW_V - 1) / CW_V;
    return (size_t)(x->d->ow + 2 * CW_V) +
           (size_t)((2 * steps * (int64_t)sizeof(cw_mask) + sizeof(float) - 1) / sizeof(float)) +
           CW_V;
}

__attribute__((noinline)) static void cw_run_rows(const cw_ctx *x, float *acc, float *buf,
                                                  int64_t g, int64_t t0, int64_t nt,
                                                  int64_t nt_pad, int64_t o0, int64_t no,
                                                  int64_t no_pad) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t ow = d->ow, oh = d->oh, ih = d->ih, kh = d->kh, pt = d->pad_top;
    const int64_t khw = x->khw, ohw = x->ohw, ihw = x->ihw;
    /* zero row: taps whose input row is in the top / bottom padding read it */
    float *zrow = buf;
    for (int64_t i = 0; i < ow + 2 * CW_V; ++i) zrow[i] = 0.0f;
    /* masks of the kx 0 / kx 2 loads per step from a row start */
    const int64_t steps = (x->ny * ow + CW_V - 1) / CW_V;
    cw_mask *m0 = (cw_mask *)(buf + ow + 2 * CW_V);
    cw_mask *m2 = m0 + steps;
    for (int64_t j = 0; j < steps; ++j) {
        uint32_t b0 = 0, b2 = 0;
        for (int i = 0; i < CW_V; ++i) {
            const int64_t ox = (j * CW_V + i) % ow;
            b0 |= (uint32_t)(ox != 0) << i;
            b2 |= (uint32_t)(ox != ow - 1) << i;
        }
        m0[j] = cw_mask_bits(b0);
        m2[j] = cw_mask_bits(b2);
    }
    /* tap j: input plane (relative to the image's group) and ky, kx */
    int64_t tci[CW_TB_WIDE + CW_TB + CW_RT], tky[CW_TB_WIDE + CW_TB + CW_RT];
    for (int64_t j = 0; j < nt_pad; ++j) {
        /* padded taps repeat a real tap of the same kx (the tile masks by t % 3) */
        const int64_t jj = j < nt ? j : nt - 3 + (j - nt) % 3;
        const int64_t t = t0 + jj;
        tci[j] = t / khw;
        tky[j] = (t - tci[j] * khw) / 3;
    }
    const int64_t ntile = nt_pad / CW_RT;
    for (int64_t n = 0; n < d->n; ++n) {
        const float *planes = x->src + (n * d->c + g * x->cg) * ihw;
        for (int64_t y0 = 0; y0 < oh; y0 += x->ny) {
            const int64_t nyc = (oh - y0 < x->ny) ? oh - y0 : x->ny;
            /* rows whose input rows are inside the image for every ky: [ya, yb) */
            int64_t ya = pt > y0 ? pt : y0;
            int64_t yb = ih - kh + 1 + pt;
            if (yb > y0 + nyc) yb = y0 + nyc;
            if (ya > yb) ya = yb;
            /* tap pointers at output row y0 (pixel 0 of the chunk) */
            const float *colp[CW_TB_WIDE + CW_TB + CW_RT];
            for (int64_t j = 0; j < nt_pad; ++j) {
                const int64_t kx = (j < nt ? j : nt - 3 + (j - nt) % 3) % 3;
                colp[j] = planes + tci[j] * ihw + (y0 + tky[j] - pt) * ow + kx - 1;
            }
            const float *dyb = x->diff_dst + (n * d->oc + o0) * ohw + y0 * ow;
#ifdef CW_ROWS_PF_SRC
            {
                const int64_t c_first = tci[0], c_last = tci[nt - 1];
                int64_t r_lo = y0 - pt, r_hi = y0 + nyc - pt + kh - 1;
                if (r_lo < 0) r_lo = 0;
                if (r_hi > ih) r_hi = ih;
                for (int64_t c = c_first; c <= c_last; ++c) {
                    const float *b = planes + c * ihw + r_lo * ow;
                    for (int64_t q = 0; q < (r_hi - r_lo) * ow; q += 16) cw_prefetch_l2(b + q);
                }
            }
#endif
            /* the chunk after this one (for the dY prefetch of the last row block) */
            const int64_t nn = y0 + x->ny < oh ? n : n + 1, ny0 = y0 + x->ny < oh ? y0 + x->ny : 0;
            const int64_t nnyc = (oh - ny0 < x->ny) ? oh - ny0 : x->ny;
            for (int64_t r0 = 0; r0 < no_pad; r0 += CW_RO) {
                const float *dyp[CW_RO];
                for (int r = 0; r < CW_RO; ++r) {
                    const int64_t rr = (r0 + r < no) ? r0 + r : no - 1;
                    dyp[r] = dyb + rr * ohw;
                }
                /* the next row block's dY rows (or the next chunk's first), a slice before
                 * each tile: they come from memory (every task reads all of dY) */
                const float *next = dyb + (r0 + CW_RO) * ohw;
                int64_t nrows = no - (r0 + CW_RO) < CW_RO ? no - (r0 + CW_RO) : CW_RO;
                int64_t rowlen = nyc * ow;
                if (nrows <= 0 && nn < d->n) {
                    next = x->diff_dst + (nn * d->oc + o0) * ohw + ny0 * ow;
                    nrows = no < CW_RO ? no : CW_RO;
                    rowlen = nnyc * ow;
                }
                const int64_t lines_row = nrows > 0 ? (rowlen + 15) / 16 : 0;
                const int64_t lines = nrows > 0 ? nrows * lines_row : 0;
                const int64_t per_tile = (lines + ntile - 1) / ntile;
                for (int64_t tt = 0, k = 0; tt < nt_pad; tt += CW_RT, ++k) {
                    {
                        int64_t l = k * per_tile, end = (k + 1) * per_tile;
                        if (end > lines) end = lines;
                        int64_t r = lines_row > 0 ? l / lines_row : 0, q = l - r * lines_row;
                        for (; l < end; ++l) {
                            cw_prefetch(next + r * ohw + q * 16);
                            if (++q == lines_row) q = 0, ++r;
                        }
                    }
                    float *a = acc + (r0 * nt_pad + tt * CW_RO) * CW_V;
                    const float *const *cp = colp + tt;
                    if (yb > ya) {
                        cw_rows_tile(a, dyp, cp, (ya - y0) * ow, (yb - ya) * ow, m0, m2);
                    }
                    /* edge rows one at a time, taps in the padding reading the zero row */
                    for (int64_t y = y0; y < y0 + nyc; ++y) {
                        if (y >= ya && y < yb) continue;
                        const float *ep[CW_RT];
                        const int64_t p0 = (y - y0) * ow;
                        for (int t = 0; t < CW_RT; ++t) {
                            const int64_t iy = y + tky[tt + t] - pt;
                            ep[t] = (iy >= 0 && iy < ih)
                                        ? cp[t]
                                        : zrow + CW_V + (t % 3) - 1 - p0;
                        }
                        cw_rows_tile(a, dyp, ep, p0, ow, m0, m2);
                    }
                }
            }
        }
    }
}
