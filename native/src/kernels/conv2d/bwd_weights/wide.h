/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the stride-1
 * phase-plane path (cw_run_wide): one zero-padded copy of the input planes serves every tap
 * at an offset, dY repacked to that row width.
 */

/*
 * Phase-plane path. With strides sh, sw the zero-padded input plane splits into sh * sw
 * phase planes (rows = py mod sh, columns = px mod sw); tap (ky, kx) reads phase
 * ((ky * dh) mod sh, (kx * dw) mod sw) with stride 1, shifted by ((ky * dh) / sh rows,
 * (kx * dw) / sw columns). With phase rows stored back to back with width wp = ow +
 * ((kw - 1) * dw) / sw and output pixel (y, ox) indexed y * wp + ox, the col row of every
 * tap of a channel is a phase plane at an offset: packing is one (de-interleaving) copy of
 * the input instead of kh * kw shifted copies, and the tile runs one long contiguous loop.
 * Small planes are batched nb images per chunk, image b at phase rows b * R (R = oh + eh):
 * the index then also has junk rows. Junk columns (ox >= ow) and junk rows hold real input
 * values; dY is repacked with the same layout and zeros there, so they add 0 * x. That is
 * exact unless x is infinite or NaN, so when the layout has junk the packing below also
 * tests every value it copies into the planes (a superset of what junk pixels read) and
 * cw_run_wide reports a non-finite one: CW_NAME then runs the call again without this path
 * (a separate pass over src up front cost ~2 % of resnet3x3 / mid). Called for stride 1
 * only (see CW_NAME).
 */
/* dY rows o0 .. o0+no of the chunk (images n0 .. n0+nb, output rows y0 .. y0+nyc) in the
 * phase-plane layout (rows of x->wp, image b at row b * (nyc + eh)), zero in the junk
 * columns and rows, `pitch` floats apart. Whole-vector stores run at most CW_V - 1 floats
 * past a row's last pixel: into the next row (written next) or the row's own slack (pitch
 * leaves CW_V floats after the longest chunk), never into another chunk's rows.
 * With sums != NULL, sums[r] = the sum of the chunk's dY values of row r (lanes along the
 * row's vectors, then cw_hsum): the bias gradient's partials, read while the values pass
 * anyway (a separate pass over dY cost ~3-4 % of resnet3x3 / mid). */
static void cw_wide_dy(const cw_ctx *x, float *out, int64_t pitch, int64_t n0, int64_t nb,
                       int64_t y0, int64_t nyc, int64_t o0, int64_t no, float *sums) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t wp = x->wp, ow = d->ow, rimg = nyc + x->eh;
    for (int64_t r = 0; r < no; ++r) {
        float *o = out + r * pitch;
        cw_vf sum = cw_zero();
        for (int64_t b = 0; b < nb; ++b) {
            const float *row =
                x->diff_dst + (((n0 + b) * d->oc + o0 + r) * x->ohw + y0 * ow);
            if (r + CW_PF_ROWS < no) {
                /* dY comes from memory once per task: fetch ahead of the copy */
                const float *next = row + CW_PF_ROWS * x->ohw;
                for (int64_t q = 0; q < nyc * ow; q += 16) { /* 64-byte lines */
                    cw_prefetch(next + q);
                }
            }
            float *ob = o + b * rimg * wp;
            for (int64_t y = 0; y < rimg; ++y) {
                float *oy = ob + y * wp;
                const int last = b + 1 == nb && y + 1 == nyc;
                if (y >= nyc) {
                    if (b + 1 < nb) {
                        for (int64_t k = 0; k < wp; ++k) oy[k] = 0.0f;
                    }
                    continue;
                }
                const float *in = row + y * ow;
                int64_t k = 0;
                for (; k + CW_V <= ow; k += CW_V) {
                    const cw_vf v = cw_load(in + k);
                    sum = cw_add(sum, v);
                    cw_store(oy + k, v);
                }
                if (k < ow) {
                    const cw_vf v = cw_load_first(in + k, (int)(ow - k));
                    sum = cw_add(sum, v);
                    cw_store(oy + k, v);
                }
                /* junk columns (the stores above may have run into them: rewrite) */
                for (int64_t j = ow; j < wp && !last; ++j) oy[j] = 0.0f;
                if (last) break;
            }
        }
        if (sums != NULL) sums[r] = cw_hsum(sum);
    }
}

/* noinline: inlined into cw_task it made the compiler's code for the other paths slower.
 * Returns 1 when the planes it packed held an infinity or a NaN (see above), else 0. */
__attribute__((noinline)) static int cw_run_wide(const cw_ctx *x, float *acc,
                                                  float *planes_buf, float *dyk_own, int64_t g,
                                                  int64_t t0, int64_t nt, int64_t nt_pad,
                                                  int64_t o0, int64_t no, int64_t no_pad) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t wp = x->wp, ow = d->ow, oh = d->oh, iw = d->iw, ih = d->ih;
    const int64_t pl = d->pad_left, pt = d->pad_top, khw = x->khw, kw = d->kw;
    const int64_t sh = d->stride_h, sw = d->stride_w, dh = d->dilation_h, dwl = d->dilation_w;
    const int64_t pitch = x->wide_pitch, eh = x->eh, nphase = sh * sw;
    const int64_t ci0 = t0 / khw, nci = (t0 + nt - 1) / khw - ci0 + 1;
    const float *colp[CW_TB_WIDE + CW_TB + CW_RT];
    for (int64_t j = 0; j < nt; ++j) {
        const int64_t t = t0 + j;
        const int64_t ci = t / khw;
        const int64_t ky = (t - ci * khw) / kw;
        const int64_t kx = t - ci * khw - ky * kw;
        const int64_t phase = (ky * dh) % sh * sw + (kx * dwl) % sw;
        colp[j] = planes_buf + ((ci - ci0) * nphase + phase) * pitch + (ky * dh) / sh * wp +
                  (kx * dwl) / sw;
    }
    for (int64_t j = nt; j < nt_pad; ++j) colp[j] = colp[nt - 1];
    const int64_t per = x->nb > 1 ? x->nb : 1;
    cw_vf fin = cw_zero(); /* v - v of every packed value: 0 while all are finite */
    const int64_t nchunks = (d->n + per - 1) / per * ((oh + x->ny - 1) / x->ny);
    int64_t chunk = 0; /* index of (n0, y0) in loop order: the chunk's rows in x->wide_dy */
    for (int64_t n0 = 0; n0 < d->n; n0 += per) {
        const int64_t nb = (d->n - n0 < per) ? d->n - n0 : per;
        for (int64_t y0 = 0; y0 < oh; y0 += x->ny) {
            const int64_t nyc = (oh - y0 < x->ny) ? oh - y0 : x->ny;
            const int64_t rimg = nyc + eh; /* phase rows per image */
            /* the last valid pixel ends the loop: reads then stay inside the planes */
            const int64_t len = ((nb - 1) * rimg + nyc - 1) * wp + ow;
            /* phase planes of this task's channels */
            for (int64_t b = 0; b < nb; ++b) {
                const float *src_planes =
                    x->src + ((n0 + b) * d->c + g * x->cg + ci0) * x->ihw;
                for (int64_t c = 0; c < nci; ++c) {
                    const float *plane = src_planes + c * x->ihw;
                    for (int64_t py = 0; py < sh; ++py) {
                        for (int64_t px = 0; px < sw; ++px) {
                            float *out = planes_buf + ((c * nphase) + py * sw + px) * pitch +
                                         b * rimg * wp;
                            for (int64_t r = 0; r < rimg; ++r) {
                                const int64_t iy = (y0 + r) * sh + py - pt;
                                float *o = out + r * wp;
                                /* whole vectors: may run up to CW_V - 1 floats into what is
                                 * written next (or the slack after the buffer) */
                                if (iy < 0 || iy >= ih) {
                                    for (int64_t k = 0; k < wp; k += CW_V) {
                                        cw_store(o + k, cw_zero());
                                    }
                                    continue;
                                }
                                const float *row = plane + iy * iw;
                                const int64_t ix0 = px - pl;
                                for (int64_t k = 0; k < wp; k += CW_V) {
                                    const cw_vf v = cw_load_row(row, ix0 + k, iw);
                                    fin = cw_add(fin, cw_sub(v, v));
                                    cw_store(o + k, v);
                                }
                            }
                        }
                    }
                }
            }
            /* dY in the same layout, zero in the junk columns and rows: repacked once per
             * call (cw_wide_dy_task) when it fits the budget, else here for this task */
            const float *dyk;
            if (x->wide_dy != NULL) {
                dyk = x->wide_dy + (chunk * d->oc + o0) * x->wide_dyp;
            } else {
                cw_wide_dy(x, dyk_own, x->wide_dyp, n0, nb, y0, nyc, o0, no, NULL);
                dyk = dyk_own;
            }
            ++chunk;
            const int64_t ntile = nt_pad / CW_RT;
            for (int64_t r0 = 0; r0 < no_pad; r0 += CW_RO) {
                const float *dyp[CW_RO];
                for (int r = 0; r < CW_RO; ++r) {
                    const int64_t rr = (r0 + r < no) ? r0 + r : no - 1;
                    dyp[r] = dyk + rr * x->wide_dyp;
                }
                /* The next CW_RO dY rows (contiguous in the repacked dY), a slice before each
                 * tile of this row block: they come from memory (every task reads all of dY),
                 * and without this the first tile of each row block waited for them
                 * (measured 3-4 % of resnet3x3 / mid; into L2 instead of L1: ~1-2 %) */
                int64_t nrows = no - (r0 + CW_RO) < CW_RO ? no - (r0 + CW_RO) : CW_RO;
                /* past dY's rows when nrows <= 0 (then not read): as an integer */
                const float *next = pcnn_float_at(dyk, (r0 + CW_RO) * x->wide_dyp);
                if (nrows <= 0 && x->wide_dy != NULL && chunk < nchunks) {
                    /* the last block: the next chunk's first rows (chunk is its index now) */
                    next = x->wide_dy + (chunk * d->oc + o0) * x->wide_dyp;
                    nrows = no < CW_RO ? no : CW_RO;
                }
                const int64_t lines = nrows > 0 ? (nrows * x->wide_dyp + 15) / 16 : 0;
                const int64_t per_tile = (lines + ntile - 1) / ntile;
                for (int64_t tt = 0, k = 0; tt < nt_pad; tt += CW_RT, ++k) {
                    for (int64_t l = k * per_tile; l < (k + 1) * per_tile && l < lines; ++l) {
                        cw_prefetch(next + l * 16); /* 64-byte lines */
                    }
                    float *a = acc + (r0 * nt_pad + tt * CW_RO) * CW_V;
                    cw_tile(a, dyp, colp + tt, len, 1, 0, 0);
                }
            }
        }
    }
    return cw_hsum(fin) != 0.0f;
}

/* one chunk of the whole of dY for cw_run_wide (chunks in its loop order: image blocks, then
 * row blocks), every output channel: each task then reads its rows instead of repacking
 * them (measured: the per-task repack cost ~15-20 % of mid and resnet3x3, every task reads
 * all of dY). With x->wide_dy_sums, also the chunk's bias partials there ([chunk][oc]). */
static void cw_wide_dy_task(void *p, int64_t chunk) {
    const cw_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    const int64_t per = x->nb > 1 ? x->nb : 1;
    const int64_t ychunks = (d->oh + x->ny - 1) / x->ny;
    const int64_t n0 = chunk / ychunks * per, y0 = chunk % ychunks * x->ny;
    const int64_t nb = (d->n - n0 < per) ? d->n - n0 : per;
    const int64_t nyc = (d->oh - y0 < x->ny) ? d->oh - y0 : x->ny;
    cw_wide_dy(x, x->wide_dy + chunk * d->oc * x->wide_dyp, x->wide_dyp, n0, nb, y0, nyc, 0,
               d->oc, x->wide_dy_sums != NULL ? x->wide_dy_sums + chunk * d->oc : NULL);
}
