/*
 * conv2d direct, part of the conv2d-direct.h template: the forward task (fwd_task). One task
 * = (image, group, block of output rows, block of channel blocks): it copies the input rows
 * it needs into a zero-padded, stride-phase-split scratch (or reads them in place), builds
 * the per-row tap lists and runs the micro-kernels.
 */

/* ---------------------------------------------------------------------------------------
 * Forward task.
 * ------------------------------------------------------------------------------------- */
static inline int fwd_row_interior(const pcnn_conv2d_desc *d, int64_t y) {
    const int64_t top = y * d->stride_h - d->pad_top;
    return top >= 0 && top + (d->kh - 1) * d->dilation_h <= d->ih - 1;
}

/* vmask_range (lanes inside a row) and split_phases2 (stride-2 de-interleave of a
 * zero-padded row) come from the vector layer (conv2d_direct-<isa>.c). */

/* Reading the input in place, row y as a whole (unmasked) vector of a row-mode tile reads
 * VL floats from each tap's start: allowed only while that stays inside the channel's
 * plane (the lanes past the row are never stored). */
static inline int fwd_inplace_vector_fits(const pcnn_conv2d_desc *d, int64_t y) {
    const int64_t last_row = y * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h;
    return last_row * d->iw + (d->kw - 1) * d->dilation_w + VL <= d->ih * d->iw;
}

/* Row tiles, stride 1: the padded copy as whole-vector stores (copy_rows_spill,
 * direct/copy_rows.h) for rows of at most FWD_VCOPY_VECS_MAX vectors; each channel's rows
 * rw floats apart, then VL floats of slack that take its last row's spill. */
#define FWD_VCOPY_VECS_MAX 4

static void fwd_task(void *p, int64_t t) {
    job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    int64_t n, g, rc, bc;
    task_coords(j, t, &n, &g, &rc, &bc);
    const int64_t y0 = rc * j->rows_per_task;
    const int64_t y1 = imin(d->oh, y0 + j->rows_per_task);
    const int64_t b0 = bc * j->blocks_per_task;
    const int64_t b1 = imin(j->nblocks, b0 + j->blocks_per_task);
    const int64_t sh = d->stride_h, sw = d->stride_w, dh = d->dilation_h, dw = d->dilation_w;
    const int64_t kh = d->kh, kw = d->kw;
    const float *src = j->in + (n * d->c + g * j->ci_g) * d->ih * d->iw;

    /* Input rows this task touches. The padded copy also holds the zero rows of the
     * vertical padding the task's taps reach (vpad), so that every output row has all kh*kw
     * taps and any consecutive rows can share a row-mode tile; reading in place (direct),
     * out-of-range rows are dropped from the tap lists instead. */
    /* stride-1 channel tiles: the interior tiles read the input in place, the edge tiles a
     * strip copy of their padded columns (chtile_edges, direct/channel_tiles.h) */
    const chtile_edges e = j->chtile && sw == 1 && !j->direct
                               ? chtile_edges_plan(d->ow, d->pad_left, d->iw, 0, (kw - 1) * dw)
                               : (chtile_edges){0};
    const int vpad = !j->direct && !e.on;
    int64_t iy_lo = y0 * sh - d->pad_top;
    int64_t iy_hi = (y1 - 1) * sh - d->pad_top + (kh - 1) * dh;
    if (!vpad) {
        iy_lo = imax(0, iy_lo);
        iy_hi = imin(d->ih - 1, iy_hi);
    }
    const int64_t nrows = iy_hi >= iy_lo ? iy_hi - iy_lo + 1 : 0;

    const float *base;    /* channel 0, row iy_lo, column/phase origin */
    int64_t cstride;      /* floats between channels */
    int64_t rstride;      /* floats between rows */
    const size_t tap_bytes = (size_t)(3 * kh * kw) * sizeof(int64_t);
    size_t in_bytes = 0;
    if (e.on) {
        in_bytes = (size_t)(j->ci_g * nrows * e.srow) * sizeof(float);
    } else if (!j->direct) {
        in_bytes = (size_t)(j->ci_g * nrows * sw * j->row_w) * sizeof(float);
    }
    /* row tiles at stride 1: the vector copy, channel planes VL floats apart more */
    const int64_t vc_nvec = ceil_div(j->row_w, VL);
    const int vcopy = !j->direct && j->rowtile && sw == 1 && vc_nvec <= FWD_VCOPY_VECS_MAX;
    const int64_t vc_cst = nrows * j->row_w + VL;
    if (vcopy) {
        in_bytes = (size_t)(j->ci_g * vc_cst) * sizeof(float);
    }
    /* + VL floats of slack after the copy: in row mode the whole-vector loads of a tile's
     * first rows may run up to VL floats past the last row's start (those lanes are never
     * stored); the slack is zeroed so that nothing uninitialised is ever read. */
    const size_t tap_aligned = (tap_bytes + 63) & ~(size_t)63;
    /* channel tiles: one output row of the block, pixel-major, after the copy */
    const size_t in_aligned = (in_bytes + VL * sizeof(float) + 63) & ~(size_t)63;
    const size_t tile_bytes = j->chtile ? (size_t)(d->ow * CHTILE_OCB_MAX) * sizeof(float) : 0;
    char *scr = pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK, tap_aligned + in_aligned + tile_bytes);
    if (scr == NULL) {
        mark_failed(j);
        return;
    }
    int64_t *tap_in = (int64_t *)scr;
    int64_t *tap_w = tap_in + kh * kw;
    int64_t *tap_pl = tap_w + kh * kw; /* in-place taps of the interior tiles (e.on) */
    if (j->direct) {
        base = src + iy_lo * d->iw;
        rstride = d->iw;
        cstride = d->ih * d->iw;
    } else if (e.on) { /* the strips are copied row by row, below */
        base = (float *)(scr + tap_aligned);
        rstride = e.srow;
        cstride = nrows * e.srow;
    } else {
        /* Zero-padded, phase-split copy: buf[ci][row][phase][m] = src column
         * sw*m + phase - pad_left (0 outside the input). */
        float *buf = (float *)(scr + tap_aligned);
        const int64_t rw = j->row_w;
        if (!vcopy) { /* the vector copy zeroes each channel's slack itself */
            memset(buf + j->ci_g * nrows * sw * rw, 0, VL * sizeof(float));
        } else {
            vmask_t mk[FWD_VCOPY_VECS_MAX];
            for (int64_t k = 0; k < vc_nvec; ++k) {
                mk[k] = vmask_range(k * VL - d->pad_left, d->iw);
            }
            for (int64_t ci = 0; ci < j->ci_g; ++ci) {
                float *b = buf + ci * vc_cst;
                copy_rows_spill(b, rw, src + ci * d->ih * d->iw, iy_lo, nrows, d->ih, d->iw,
                                d->pad_left, mk, vc_nvec);
                VSTOREU(b + nrows * rw, VZERO()); /* the slack: the last row's spill */
            }
        }
        for (int64_t ci = 0; !vcopy && ci < j->ci_g; ++ci) { /* memset + memcpy + memset */
            for (int64_t r = 0; r < nrows; ++r) {
                float *brow = buf + (ci * nrows + r) * sw * rw;
                if (iy_lo + r < 0 || iy_lo + r >= d->ih) { /* vertical padding */
                    memset(brow, 0, (size_t)(sw * rw) * sizeof(float));
                    continue;
                }
                const float *srow = src + (ci * d->ih + iy_lo + r) * d->iw;
                if (sw == 1) {
                    /* row tiles: fetch ~8 KB ahead, as the stride-2 copy below (mid:
                     * 0.97x the time of the pass; 16 KB ahead measured the same) */
                    for (int64_t k = 0; j->rowtile && k < d->iw; k += 16) {
                        PCNN_PREFETCH_AT(srow, 2048 + k); /* may be past src */
                    }
                    /* columns m - pad_left: zeros, the row, zeros */
                    const int64_t lo = imin(d->pad_left, rw);
                    const int64_t cnt = imax(0, imin(d->iw, rw - d->pad_left));
                    memset(brow, 0, (size_t)lo * sizeof(float));
                    memcpy(brow + lo, srow, (size_t)cnt * sizeof(float));
                    memset(brow + lo + cnt, 0, (size_t)(rw - lo - cnt) * sizeof(float));
                } else if (sw == 2) {
                    /* the copy waits on its loads (src comes from L3 or memory, once per
                     * call): fetch ~8 KB ahead, measured ~1.1x on the whole 3x3 stride-2
                     * forward; the rows that follow are the next ones, then the next
                     * channel's (a prefetch never faults, even past the buffer; its
                     * address is formed as an integer) */
                    for (int64_t k = 0; k < d->iw; k += 16) {
                        PCNN_PREFETCH_AT(srow, 2048 + k);
                    }
                    split_phases2(brow, brow + rw, srow, rw, d->pad_left, d->iw);
                } else {
                    for (int64_t ph = 0; ph < sw; ++ph) {
                        float *prow = brow + ph * rw;
                        for (int64_t m = 0; m < rw; ++m) {
                            const int64_t ix = sw * m + ph - d->pad_left;
                            prow[m] = (ix >= 0 && ix < d->iw) ? srow[ix] : 0.0f;
                        }
                    }
                }
            }
        }
        base = buf;
        rstride = sw * rw;
        cstride = vcopy ? vc_cst : nrows * sw * rw;
    }

#ifdef UKRC_NX_MAX
    int64_t strips_done = 0; /* e.on: strip rows [0, strips_done) are copied */
    /* whole-image channel-tile tasks: the next image's input comes into L2 meanwhile */
    const float *next_src = NULL;
    int64_t next_lines = 0;
    if (j->chtile && y0 == 0 && y1 == d->oh && n + 1 < d->n) {
        next_src = src + d->c * d->ih * d->iw;
        next_lines = ceil_div(j->ci_g * d->ih * d->iw * (int64_t)sizeof(float), 64);
    }
#endif
    ukr_args a;
    a.in_cstride = cstride;
    a.ci_count = j->ci_g;
    a.tap_in = tap_in;
    a.tap_w = tap_w;
    a.out_ostride = d->oh * d->ow;
    /* Blocks outer, rows inner: a block's packed weights stay in cache across the rows
     * of the task; the task's input rows are shared by all blocks. */
    for (int64_t b = b0; b < b1; ++b) {
        int64_t o0, ocb;
        block_range(j, b, &o0, &ocb);
        const int64_t oc = g * j->co_g + o0;
        a.w = task_block_weights(j, g, b);
        if (a.w == NULL) {
            mark_failed(j);
            return;
        }
        a.w_cstride = j->kt * ocb;
        a.bias = j->bias != NULL ? j->bias + oc : NULL;
        for (int64_t y = y0; y < y1;) {
            /* Rows whose every ky is inside the input have the same taps (shifted by
             * sh rows): in row mode up to nv of them form one tile. */
            int64_t rows = 1;
            if (j->rowmode) {
                while (rows < j->nv && y + rows < y1 &&
                       (vpad || (fwd_row_interior(d, y) && fwd_row_interior(d, y + rows) &&
                                 fwd_inplace_vector_fits(d, y + rows - 1)))) {
                    ++rows;
                }
            }
#ifdef UKRR_NR
            if (j->rowtile) {
                rows = imin(UKRR_NR, y1 - y);
            }
#endif
            /* Valid taps of row y: ky in range, every kx (columns are padded). With the
             * vertical padding every row has all taps: the list of row y0 serves every
             * row (the row's offset goes into the base pointer), built once per block. */
            const float *row_base = vpad ? base + (y - y0) * sh * rstride : base;
            if (!vpad || y == y0) {
                int64_t nt = 0;
                for (int64_t ky = 0; ky < kh; ++ky) {
                    const int64_t iy = y * sh - d->pad_top + ky * dh;
                    if (!vpad && (iy < 0 || iy >= d->ih)) {
                        continue;
                    }
                    for (int64_t kx = 0; kx < kw; ++kx) {
                        if (j->direct) {
                            tap_in[nt] = (iy - iy_lo) * rstride + kx * dw;
                        } else {
                            tap_in[nt] = (iy - iy_lo) * rstride +
                                         ((kx * dw) % sw) * j->row_w + (kx * dw) / sw;
                        }
                        tap_w[nt] = (ky * kw + kx) * ocb;
                        tap_pl[nt] = (iy - iy_lo) * d->iw + kx * dw;
                        ++nt;
                    }
                }
                a.ntaps = nt;
            }
            float *out_row = j->out + ((n * d->oc + oc) * d->oh + y) * d->ow;
#ifdef UKRC_NX_MAX
            if (j->chtile) {
                ukrc_args c;
                c.in = row_base;
                c.in_cstride = cstride;
                c.ci_count = j->ci_g;
                c.tap_in = tap_in;
                c.tap_w = tap_w;
                c.ntaps = a.ntaps;
                c.w = a.w;
                c.w_cstride = a.w_cstride;
                c.bias = a.bias;
                c.tile = (float *)(scr + tap_aligned + in_aligned);
                c.tile_xs = UKRC_OCB_MAX;
                chtile_prefetch_next(next_src, next_lines, (b - b0) * (y1 - y0) + (y - y0),
                                     (b1 - b0) * (y1 - y0));
                /* stride 1: the next output row of the task asked into cache (write
                 * intent) during this one: its stores then do not wait for the lines
                 * (resnet3x3 forward 0.96-0.98x the time; README-resnet3x3.md here) */
                /* in-place reads: this row's strip rows copied first; while the first
                 * block's row computes, its tiles ask for the input row the next output
                 * row adds (also in a task's last row: the next row-chunk task's new row;
                 * measured 0.95-0.98x against stopping at the task's end, 1 thread) */
                const int64_t last = y * sh - d->pad_top + (kh - 1) * dh; /* last tap row */
                if (e.on && imin(last, iy_hi) - iy_lo + 1 > strips_done) {
                    const int64_t upto = imin(last, iy_hi) - iy_lo + 1;
                    chtile_copy_strips((float *)base, src, j->ci_g, d->ih * d->iw, iy_lo, nrows,
                                       strips_done, upto, d->iw, d->pad_left, &e);
                    strips_done = upto;
                }
                const int pf_next_in =
                    b == b0 && y + 1 < d->oh && last + sh >= 0 && last + sh <= d->ih - 1;
                const chtile_inplace ip = {&e,     src + iy_lo * d->iw, d->ih * d->iw, tap_pl,
                                           d->pad_left, d->iw,
                                           pf_next_in ? src + (last + sh) * d->iw : NULL};
                run_row_channels(&c, d->ow, ocb, sw == 1 && y + 1 < y1 ? out_row + d->ow : NULL,
                                 a.out_ostride, e.on ? &ip : NULL);
                transpose_tile_row(out_row, a.out_ostride, c.tile, ocb, d->ow);
                y += 1;
                continue;
            }
#endif
#ifdef UKRR_NR
            if (j->rowtile && rows > 1) {
                /* rows y .. y+rows-1, two vectors each (the row's last one masked) */
                a.in = row_base;
                a.out = out_row;
                a.in_vstride = sh * rstride;
                a.out_vstride = d->ow;
                a.last = vmask_first(d->ow - VL);
                ukrr_table[ocb][rows](&a);
                y += rows;
                continue;
            }
#endif
            if (rows > 1) {
                /* vectors = rows y .. y+rows-1 (scratch rows sh apart); the whole-vector
                 * loads of the first rows stay inside the scratch, below the last row */
                a.in = row_base;
                a.out = out_row;
                a.in_vstride = sh * rstride;
                a.out_vstride = d->ow;
                a.mid = vmask_first(d->ow);
                a.last = a.mid;
                ukr_table[ocb][rows](&a);
            } else {
                run_row(&a, d->ow, j->nv, ocb, out_row, row_base);
            }
            y += rows;
        }
    }
}
