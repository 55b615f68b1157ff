/*
 * conv2d direct, part of the conv2d-direct.h template: the backward-data task (bwd_task), the
 * same engine run over diff_dst with the transposed filter: per stride phase of diff_src a
 * stride-1 correlation, phases computed into a small buffer and interleaved back
 * (interleave_phases).
 */

/* out[sw*u + ph] = s[ph*ustride + u] for the `width` columns of a diff_src row: the
 * backward stride phases, computed separately, are woven back together. This runs once per
 * row and channel, so it must cost far less than the row's multiply-adds (for a 3x3
 * stride-2 layer only ~2.25*ci per pixel): stride 2 uses a vector interleave, other
 * strides a division-free scalar loop. Pure copies: the values are bit-exact. */
static inline void interleave_phases(float *out, const float *s, int64_t sw, int64_t ustride,
                                     int64_t width) {
    if (sw == 2) {
        interleave_phases2(out, s, ustride, width); /* the vector layer */
        return;
    }
    for (int64_t ph = 0; ph < sw; ++ph) {
        const float *sp = s + ph * ustride;
        for (int64_t u = 0, ix = ph; ix < width; ++u, ix += sw) {
            out[ix] = sp[u];
        }
    }
}

/* Row tiles: the padded copy as whole-vector stores (copy_rows_spill, direct/copy_rows.h)
 * for rows of at most SPILL_VECS_MAX vectors (more: the memcpy copy in bwd_task). */
#define SPILL_VECS_MAX 8

/* Every channel's padded copy (copy_rows_spill), channel ci at buf + ci*cs, rows rs
 * floats apart, in one of two layouts:
 * - planes (cs = nrows*rw + VL, rs = rw): each channel's rows, then VL floats of slack that
 *   take its last row's spill and are zeroed after it;
 * - rows interleaved, (y, c, x) (ilv: cs = rw, rs = channels*rw + VL): row r of every
 *   channel, then VL floats of slack. A tile's input for one channel is then its rows'
 *   segments rs floats apart, and the channel loop walks each of those rows sequentially
 *   (rw floats per channel: 132 B on mid, where planes are 4.5 KB apart), which the hardware
 *   prefetcher follows: the row tiles need no next-channel prefetch (ukrr_pf_*). Measured on
 *   mid (64 channels, a tile's input 34 KB): 0.98-0.99x the time of the planes with the
 *   prefetch, 0.92-0.96x when another process shares the core; grouped3x3 (8 channels, 4 KB)
 *   1.02-1.06x, hence only where a tile's input exceeds 24 KB, as the prefetch was (see
 *   direct/README-mid-bwd-data.md, "mid backward-data: rows interleaved"). A row's spill
 *   lands on the next channel's row, written later (the channel loop is outer), the last
 *   channel's in the slack, zeroed after the copy. Channel-outer reads the source
 *   sequentially; rows outer (64 source streams, sequential stores) measured 1.00-1.05x.
 * The tiles' reads past a row's end land on the next row's padl left zeros or the slack. */
static void bwd_copy_rows_spill(float *buf, const float *dd, int64_t channels, int64_t cs,
                                int64_t rs, int ilv, int64_t nrows, int64_t yy_lo, int64_t oh,
                                int64_t ow, int64_t rw, int64_t padl, const vmask_t *mk,
                                int64_t nvec) {
    for (int64_t ci = 0; ci < channels; ++ci) {
        float *b = buf + ci * cs;
        copy_rows_spill(b, rs, dd + ci * oh * ow, yy_lo, nrows, oh, ow, padl, mk, nvec);
        if (!ilv) {
            VSTOREU(b + nrows * rw, VZERO());
        }
    }
    for (int64_t r = 0; ilv && r < nrows; ++r) {
        VSTOREU(buf + r * rs + channels * rw, VZERO());
    }
}

/* diff_src row iy reads every ky it can (ky with (iy + pt - ky*dh) divisible by sh) from
 * inside diff_dst: then rows iy and iy + sh have the same ky list, one diff_dst row apart. */
static inline int bwd_row_full(const pcnn_conv2d_desc *d, int64_t iy) {
    for (int64_t ky = 0; ky < d->kh; ++ky) {
        const int64_t ty = iy + d->pad_top - ky * d->dilation_h;
        if (floor_div(ty, d->stride_h) * d->stride_h == ty &&
            (ty < 0 || ty / d->stride_h >= d->oh)) {
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Backward-data task: rows [y0, y1) of diff_src (engine output rows), all stride phases.
 * ------------------------------------------------------------------------------------- */
static void bwd_task(void *p, int64_t t) {
    job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    int64_t n, g, rc, bc;
    task_coords(j, t, &n, &g, &rc, &bc);
    const int64_t y0 = rc * j->rows_per_task; /* diff_src rows */
    const int64_t y1 = imin(d->ih, y0 + j->rows_per_task);
    const int64_t b0 = bc * j->blocks_per_task;
    const int64_t b1 = imin(j->nblocks, b0 + j->blocks_per_task);
    const int64_t sh = d->stride_h, sw = d->stride_w, dh = d->dilation_h, dw = d->dilation_w;
    const int64_t kh = d->kh, kw = d->kw;
    const int64_t pt = d->pad_top, pl = d->pad_left;
    const float *dd = j->in + (n * d->oc + g * j->ci_g) * d->oh * d->ow;

    /* diff_dst rows this task reads: y*sh = iy + pt - ky*dh. The padded copy also holds
     * the zero rows above and below diff_dst that the task's taps reach (vertical padding),
     * so that every row of a residue class mod sh has the same taps and row-mode tiles
     * can take any rows. Outside row mode (and reading in place) out-of-range rows are
     * dropped from the tap lists instead: multiplying zeros there would only add work
     * (~17% for the 5x5 LeNet layer). */
    const int vpad = !j->direct && (j->rowmode || j->nr > 1 || j->rowtile);
    int64_t yy_lo = ceil_div(y0 + pt - (kh - 1) * dh, sh);
    int64_t yy_hi = floor_div(y1 - 1 + pt, sh);
    if (!vpad) {
        yy_lo = imax(0, yy_lo);
        yy_hi = imin(d->oh - 1, yy_hi);
    }
    const int64_t nrows = yy_hi >= yy_lo ? yy_hi - yy_lo + 1 : 0;

    /* stride-1 channel tiles: the interior tiles read diff_dst in place, the edge tiles a
     * strip copy of their padded columns (chtile_edges, direct/channel_tiles.h; vpad is 0
     * here). Pixel u reads padded column u + padl + pl - kx*dw. */
    const chtile_edges e =
        j->chtile && sw == 1 && !j->direct
            ? chtile_edges_plan(d->iw, j->padl, d->ow, j->padl + pl - (kw - 1) * dw, j->padl + pl)
            : (chtile_edges){0};
    const size_t tap_bytes = (size_t)(3 * kh * kw) * sizeof(int64_t);
    /* + VL zeroed floats of slack: in row mode the whole-vector loads of a tile's first
     * rows may run up to VL floats past the start of the copy's last row */
    /* row tiles: the copy as whole-vector stores (bwd_copy_rows_spill), in planes with VL
     * floats of slack each, or with rows interleaved (ilv) where a tile's input (every
     * channel's rows of one tile) is more than half of a 48 KB L1 (mid: 64 channels x 4
     * rows x 33 floats, 34 KB) */
    const int64_t rw = j->row_w;
    const int64_t nvec = ceil_div(rw, VL);
    const int spill = !j->direct && j->rowtile && nvec <= SPILL_VECS_MAX;
#ifdef UKRR_NR
    const int64_t tile_in_rows = UKRR_NR + (kh - 1) * dh;
#else
    const int64_t tile_in_rows = 0; /* no row tiles */
#endif
    const int big_tile = j->ci_g * tile_in_rows * rw * (int64_t)sizeof(float) > 24 * 1024;
    const int ilv = spill && big_tile;
    const int64_t cst = nrows * rw + (spill && !ilv ? VL : 0); /* floats per channel (planes) */
    const int64_t rs = j->ci_g * rw + VL; /* floats per row of channels (ilv) */
    const int64_t copy_floats = ilv ? nrows * rs : j->ci_g * cst;
    size_t in_bytes = j->direct ? 0 : (size_t)(copy_floats + VL) * sizeof(float);
    if (e.on) {
        in_bytes = (size_t)(j->ci_g * nrows * e.srow) * sizeof(float);
    }
    /* stride phases are computed into obuf[ocb][row][phase][uw_max], then interleaved */
    const size_t out_bytes =
        sw > 1 ? (size_t)(OCB_LIMIT * ROWS_MAX * sw * (j->uw_max + VL)) * sizeof(float) : 0;
    const size_t a1 = (tap_bytes + 63) & ~(size_t)63;
    const size_t a2 = (in_bytes + 63) & ~(size_t)63;
    /* channel tiles: one diff_src row of the block, pixel-major, after obuf */
    const size_t a3 = (out_bytes + 63) & ~(size_t)63;
    const size_t tile_bytes = j->chtile ? (size_t)(d->iw * CHTILE_OCB_MAX) * sizeof(float) : 0;
    char *scr = pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK, a1 + a2 + a3 + tile_bytes + 64);
    if (scr == NULL) {
        mark_failed(j);
        return;
    }
    int64_t *tap_in = (int64_t *)scr;
    int64_t *tap_w = tap_in + kh * kw;
    int64_t *tap_pl = tap_w + kh * kw; /* in-place taps of the interior tiles (e.on) */
    float *obuf = (float *)(scr + a1 + a2);

    const float *base;
    int64_t cstride, rstride;
    if (j->direct) { /* sw == 1, every tap column in range: read diff_dst in place */
        base = dd + yy_lo * d->ow;
        rstride = d->ow;
        cstride = d->oh * d->ow;
    } else if (e.on) { /* the strips are copied row by row, below */
        base = (float *)(scr + a1);
        rstride = e.srow;
        cstride = nrows * e.srow;
    } else {
        /* buf[ci][row][m] = diff_dst column m - padl (0 outside); ilv: buf[row][ci][m] */
        float *buf = (float *)(scr + a1);
        vmask_t mk[SPILL_VECS_MAX];
        for (int64_t k = 0; spill && k < nvec; ++k) {
            mk[k] = vmask_range(k * VL - j->padl, d->ow);
        }
        if (spill) {
            bwd_copy_rows_spill(buf, dd, j->ci_g, ilv ? rw : cst, ilv ? rs : rw, ilv, nrows,
                                yy_lo, d->oh, d->ow, rw, j->padl, mk, nvec);
        }
        for (int64_t ci = 0; ci < j->ci_g && !spill; ++ci) {
            for (int64_t r = 0; r < nrows; ++r) {
                float *brow = buf + (ci * nrows + r) * rw;
                if (yy_lo + r < 0 || yy_lo + r >= d->oh) { /* vertical padding */
                    memset(brow, 0, (size_t)rw * sizeof(float));
                    continue;
                }
                const float *srow = dd + (ci * d->oh + yy_lo + r) * d->ow;
                /* channel and row tiles: fetch ahead, as in fwd_task's stride-2 copy
                 * (diff_dst comes from L3 or memory; row tiles on mid: 0.97-0.98x the
                 * time of the pass; not measured to help elsewhere); may be past diff_dst */
                for (int64_t k = 0; (j->chtile || j->rowtile) && k < d->ow; k += 16) {
                    PCNN_PREFETCH_AT(srow, 2048 + k);
                }
                if (j->chtile && sw == 2) {
                    /* masked vector loads of the row (zero outside it) and one store per
                     * VL columns instead of memset + memcpy + memset: resnet_s2's rows are
                     * 16 floats (1 + 14 + 1), 256 channels x 15 rows per task; measured
                     * 0.96-0.98x the time of the pass (1 thread, thread CPU time, same
                     * process, both orders, 15 rounds). Only measured on channel tiles
                     * (on cifar's forward copy the same measured 1.02x slower). Not for
                     * stride 1: on resnet3x3's 58-float rows this loop was ~16% of the
                     * backward pass in a profile, memcpy ~3-4% (0.90x the time). x < 0
                     * puts lane 0 before the row (VLOADM_AT: address as an integer). */
                    for (int64_t m = 0; m < rw; m += VL) {
                        const int64_t x = m - j->padl;
                        VSTOREM(brow + m, vmask_first(imin(VL, rw - m)),
                                VLOADM_AT(srow, x, vmask_range(x, d->ow)));
                    }
                    continue;
                }
                const int64_t lo = imin(j->padl, rw);
                const int64_t cnt = imax(0, imin(d->ow, rw - j->padl));
                memset(brow, 0, (size_t)lo * sizeof(float));
                memcpy(brow + lo, srow, (size_t)cnt * sizeof(float));
                if (rw > lo + cnt) { /* none in row tiles' shared-zero rows */
                    memset(brow + lo + cnt, 0, (size_t)(rw - lo - cnt) * sizeof(float));
                }
            }
        }
        /* VL zeroed floats of slack after the last row (the row tiles' copy has its
         * own per channel or per row) */
        memset(buf + copy_floats, 0, VL * sizeof(float));
        base = buf;
        rstride = ilv ? rs : rw;
        cstride = ilv ? rw : cst;
    }
    /* In the direct case padl is 0 and columns are diff_dst columns. */
    const int64_t col0 = j->direct ? 0 : j->padl;
    /* diff_src rows per tile */
    int nvr = j->rowmode ? j->nv : (j->nr > 1 ? j->nr : 1);
#ifdef UKRR_NR
    if (j->rowtile) {
        nvr = UKRR_NR;
    }
#endif
    const int64_t obuf_rstride = sw * j->uw_max;     /* obuf: one row of all phases */
    const int64_t obuf_cstride = ROWS_MAX * obuf_rstride; /* obuf: one channel */

#ifdef UKRC_NX_MAX
    int64_t strips_done = 0; /* e.on: strip rows [0, strips_done) are copied */
#endif
    ukr_args a;
#ifdef UKRR_NR
    /* Row tiles on planes whose input (every channel's rows of one tile) is more than half
     * of a 48 KB L1 (rows of more than SPILL_VECS_MAX vectors: memcpy copy): prefetch the
     * next channel's lines once per channel (ukrr_pf_*; on mid's planes ~9 per 216 FMAs,
     * 0.97x the time, before its rows were interleaved: see direct/README-mid-bwd-data.md,
     * "mid backward-data: the copy as vector stores, next-channel prefetch"); grouped3x3's
     * 8-channel tiles (4 KB) measured slower with it. The interleaved copy needs none. */
    const int pf_next_ci = j->rowtile && !ilv && big_tile;
#endif
    a.in_cstride = cstride;
    a.ci_count = j->ci_g;
    a.tap_in = tap_in;
    a.tap_w = tap_w;
    a.bias = NULL;
    const int64_t plane = d->ih * d->iw;
    const int64_t dh_q = dh / sh, dh_r = dh % sh; /* dilations as quotient and remainder */
    const int64_t dw_q = dw / sw, dw_r = dw % sw;
    /* With the vertical padding at stride 1 every row has the same taps, one diff_dst row
     * further down per row: the list of row y0 serves every row of a block (its offset goes
     * into the base pointer), as in fwd_task. Rebuilding it per tile cost grouped3x3's row
     * tiles ~8% of the pass (8 channels: 1152 multiply-adds per tile; 0.92x the time without). */
    const int same_taps = vpad && sh == 1 && sw == 1 && !j->chtile;
    /* Blocks outer, rows and phases inner (weights of a block stay in cache). */
    for (int64_t b = b0; b < b1; ++b) {
        int64_t o0, ocb;
        block_range(j, b, &o0, &ocb);
        const int64_t c0 = g * j->co_g + o0;
        a.w = task_block_weights(j, g, b);
        if (a.w == NULL) {
            mark_failed(j);
            return;
        }
        a.w_cstride = j->kt * ocb;
        /* Rows of one residue class mod sh, in order. In row mode up to nvr rows iy,
         * iy+sh, ... whose ky taps are all inside diff_dst share one tap list (shifted by
         * one diff_dst row each) and form one tile: one vector per row. Each pixel's sum
         * is the same instruction sequence in any tile, so the grouping (which depends on
         * the task split) never changes a bit. */
        for (int64_t res = 0; res < sh && y0 + res < y1; ++res) {
            for (int64_t iy = y0 + res; iy < y1;) {
                int64_t rows = 1;
                if (nvr > 1 && (vpad || bwd_row_full(d, iy))) {
                    while (rows < nvr && iy + rows * sh < y1 &&
                           (vpad || bwd_row_full(d, iy + rows * sh))) {
                        ++rows;
                    }
                }
                float *out_row = j->out + ((n * d->c + c0) * d->ih + iy) * d->iw;
                for (int64_t ph = 0; ph < sw && ph < d->iw; ++ph) {
                    /* diff_src columns ix = sw*u + ph, u < uw */
                    const int64_t uw = ceil_div(d->iw - ph, sw);
                    /* ty = iy + pt - ky*dh = yy*sh + ry and tx = ph + pl - kx*dw = qx*sw + rx
                     * (floor division) are stepped along ky / kx without dividing: this
                     * list is rebuilt for every tile row group, which matters for tiny
                     * layers. A tap exists where the remainder is 0. */
                    const float *tbase = same_taps ? base + (iy - y0) * rstride : base;
                    const int reuse = same_taps && iy != y0; /* row y0's list, shifted */
                    int64_t nt = reuse ? a.ntaps : 0;
                    int64_t yy = floor_div(iy + pt, sh), ry = iy + pt - yy * sh;
                    const int64_t qx0 = floor_div(ph + pl, sw), rx0 = ph + pl - qx0 * sw;
                    for (int64_t ky = 0; ky < kh && !reuse; ++ky) {
                        if (ry == 0 && (vpad || (yy >= 0 && yy < d->oh))) {
                            int64_t qx = qx0, rx = rx0;
                            for (int64_t kx = 0; kx < kw; ++kx) {
                                if (rx == 0) {
                                    /* diff_dst column u + qx; out-of-range columns read the
                                     * zero pad */
                                    tap_in[nt] = (yy - yy_lo) * rstride + col0 + qx;
                                    tap_w[nt] = (ky * kw + kx) * ocb;
                                    tap_pl[nt] =
                                        (yy - yy_lo) * d->ow + col0 + qx - e.off_min;
                                    ++nt;
                                }
                                qx -= dw_q;
                                rx -= dw_r;
                                if (rx < 0) {
                                    rx += sw;
                                    --qx;
                                }
                            }
                        }
                        yy -= dh_q;
                        ry -= dh_r;
                        if (ry < 0) {
                            ry += sh;
                            --yy;
                        }
                    }
                    a.ntaps = nt;
#ifdef UKRC_NX_MAX
                    if (j->chtile) { /* phase ph: tile pixels ph, ph + sw, ... */
                        ukrc_args c;
                        c.in = base;
                        c.in_cstride = cstride;
                        c.ci_count = j->ci_g;
                        c.tap_in = tap_in;
                        c.tap_w = tap_w;
                        c.ntaps = nt;
                        c.w = a.w;
                        c.w_cstride = a.w_cstride;
                        c.bias = NULL;
                        c.tile = (float *)(scr + a1 + a2 + a3) + ph * UKRC_OCB_MAX;
                        c.tile_xs = sw * UKRC_OCB_MAX;
                        /* stride 1: the next diff_src row's lines, as in forward */
                        /* in-place reads: as in forward (the last tap row is ky = 0's) */
                        const int64_t last = floor_div(iy + pt, sh);
                        if (e.on && imin(last, yy_hi) - yy_lo + 1 > strips_done) {
                            const int64_t upto = imin(last, yy_hi) - yy_lo + 1;
                            chtile_copy_strips((float *)base, dd, j->ci_g, d->oh * d->ow, yy_lo,
                                               nrows, strips_done, upto, d->ow, j->padl, &e);
                            strips_done = upto;
                        }
                        const int pf_next_in = sh == 1 && b == b0 && iy + 1 < d->ih &&
                                               last + 1 >= 0 && last + 1 <= d->oh - 1;
                        const chtile_inplace ip = {&e, dd + yy_lo * d->ow, d->oh * d->ow, tap_pl,
                                                   j->padl, d->ow,
                                                   pf_next_in ? dd + (last + 1) * d->ow : NULL};
                        run_row_channels(&c, uw, ocb,
                                         sw == 1 && iy + sh < y1 ? out_row + sh * d->iw : NULL,
                                         plane, e.on ? &ip : NULL);
                        continue;
                    }
#endif
                    float *dst = sw == 1 ? out_row : obuf + ph * j->uw_max;
                    a.out_ostride = sw == 1 ? plane : obuf_cstride;
                    if (j->rowmode) {
                        /* row mode (uw <= VL): vector k = row iy + k*sh, masked to uw */
                        a.in = tbase;
                        a.out = dst;
                        a.in_vstride = rstride;
                        a.out_vstride = sw == 1 ? sh * d->iw : obuf_rstride;
                        a.mid = vmask_first(uw);
                        a.last = a.mid;
                        ukr_table[ocb][rows](&a);
#ifdef UKRR_NR
                    } else if (j->rowtile && rows > 1) {
                        /* row tiles (stride 1): rows iy .. iy+rows-1, one diff_dst row
                         * apart, two vectors each (the row's last one masked) */
                        a.in = tbase;
                        a.out = dst;
                        a.in_vstride = rstride;
                        a.out_vstride = d->iw;
                        a.last = vmask_first(uw - VL);
                        (pf_next_ci ? ukrr_pf_table : ukrr_table)[ocb][rows](&a);
#endif
                    } else if (j->nr > 1) {
                        /* 2-D tiles: rows iy, iy+sh, ... one diff_dst row apart */
                        run_rows2d(&a, uw, rows, j->nv, ocb, dst,
                                   sw == 1 ? sh * d->iw : obuf_rstride, tbase, rstride);
                    } else {
                        run_row(&a, uw, j->nv, ocb, dst, tbase);
                    }
                }
#ifdef UKRC_NX_MAX
                if (j->chtile) { /* the row's phases are in the tile, interleaved */
                    transpose_tile_row(out_row, plane, (float *)(scr + a1 + a2 + a3), ocb,
                                       d->iw);
                } else
#endif
                if (sw > 1) { /* interleave the phases into diff_src */
                    for (int64_t k = 0; k < rows; ++k) {
                        for (int64_t jj = 0; jj < ocb; ++jj) {
                            interleave_phases(out_row + jj * plane + k * sh * d->iw,
                                              obuf + jj * obuf_cstride + k * obuf_rstride, sw,
                                              j->uw_max, d->iw);
                        }
                    }
                }
                iy += rows * sh;
            }
        }
    }
}
