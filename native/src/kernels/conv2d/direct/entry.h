/*
 * conv2d direct, part of the conv2d-direct.h template: the two entry points. Each checks what
 * the vector paths cannot take (non-finite weights with padding, huge padded copies),
 * chooses the job's shape (tile width, channel blocks, in place or copied, row mode, 2-D
 * tiles) and runs it. These heuristics decide which of the paths in direct/ serves a call.
 */

/* Non-finite weights: the padded paths multiply the zero padding by every weight
 * (0 * Inf = NaN) where the scalar kernel skips the tap: such calls go to the scalar kernel
 * (UNSUPPORTED), which defines the result. has_nonfinite (the vector layer) is O(weights),
 * once per call. */

PCNN_INTERNAL int32_t PCNN_DIRECT_FWD(const pcnn_conv2d_desc *desc, const float *src,
                                      const float *weights, const float *bias, float *dst) {
    /* padding is multiplied as zeros here: a non-finite weight would give NaN where the
     * scalar kernel skips the tap */
    if ((desc->pad_top | desc->pad_bottom | desc->pad_left | desc->pad_right) != 0 &&
        has_nonfinite(weights, desc->oc * (desc->c / desc->groups) * desc->kh * desc->kw)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    /* few input channels: output channels in the lanes (direct/small_channels.h) */
    const int32_t smallc = smallc_fwd(desc, src, weights, bias, dst);
    if (smallc != PCNN_STATUS_UNSUPPORTED) {
        return smallc;
    }
    const pcnn_conv2d_desc d = flatten_if_pointwise(desc);
    job_t j;
    memset(&j, 0, sizeof j);
    j.d = &d;
    j.bwd = 0;
    j.in = src;
    j.out = dst;
    j.bias = bias;
    j.weights = weights;
    j.groups = d.groups;
    j.ci_g = d.c / d.groups;
    j.co_g = d.oc / d.groups;
    j.in_h = d.ih;
    j.in_w = d.iw;
    j.out_h = d.oh;
    j.out_w = d.ow;
    j.kt = d.kh * d.kw;
    j.nv = choose_nv(d.ow);
    j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    /* In place when every read column is inside the row: stride 1, no left padding and
     * the right padding never reached. */
    j.direct = d.stride_w == 1 && d.pad_left == 0 && (d.ow - 1) + (d.kw - 1) * d.dilation_w < d.iw;
    j.row_w = d.ow + ((d.kw - 1) * d.dilation_w) / d.stride_w;
    /* The padded copy spans every row and column between the first and the last tap,
     * padding and rows the stride skips included: with padding or stride far larger than
     * the image (a valid desc, e.g. a 1x2 input with padding and stride 46340) that is
     * gigabytes and seconds for a few outputs, where the scalar kernel costs only its
     * outputs' taps. Such shapes go to the scalar kernel. (Found by native/fuzz.) The
     * row span is at most the padded height, so it fits in int64. */
    if (!j.direct) {
        const int64_t rows = (d.oh - 1) * d.stride_h + (d.kh - 1) * d.dilation_h + 1;
        const int64_t copy = sat_mul(rows, sat_mul(d.stride_w, j.row_w));
        if (copy / 4 > d.ih * d.iw + d.oh * d.ow + 1024) {
            return PCNN_STATUS_UNSUPPORTED;
        }
    }
    /* Rows narrower than a vector (e.g. 14 wide at 16 lanes): tiles of nv rows instead
     * of one-vector tiles. The whole-vector reads of a tile's first rows stay inside the
     * padded copy (it has slack); in place, a tile only takes rows whose reads stay inside
     * the plane (fwd_inplace_vector_fits). */
    j.rowmode = d.ow <= VL && d.oh >= 2;
    if (j.rowmode) {
        j.nv = NV_MAX;
        j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    }
#ifdef UKRR_NR
    /* Rows of 17..32 pixels (two vectors), e.g. the 3 -> 32 RGB layer and the 32 -> 64
     * mid layer on 32x32: tiles of UKRR_NR rows x UKRR_OCB channels (ukrr_*,
     * microkernels.h), 4 input loads + 6 broadcasts per 24 FMAs instead of 2 + 11 per 22.
     * Needs the padded copy (every row has all taps). Measured against the 1-row tiles:
     * see ukrr_* in direct/microkernels.h (3 -> 16 / 32 / 64 on 32x32: 1.05x / 1.00-1.04x
     * / 1.05-1.10x) and direct/README-mid.md (32 -> 64: 0.95-0.96x the time; 128 ->
     * 128: level). */
    j.rowtile = !j.direct && !j.rowmode && j.kt > 1 && d.ow > VL && d.ow <= 2 * VL &&
                d.oh >= 2;
    if (j.rowtile) {
        j.nblocks = ceil_div(j.co_g, UKRR_OCB);
    }
#endif
    /* Stride 2 with many output channels: channel tiles (direct/channel_tiles.h). The
     * pixel tiles fill only 14 of 16 lanes on the 14-wide rows of the 3x3 stride-2 layer
     * and need the row-mode tiles' extra loads; channel tiles fill every lane. */
    /* Stride 1 with rows the pixel tiles fill badly (chtile_stride1_width: 56 wide) and
     * many output channels, 3x3 and larger (1x1 stays pointwise): channel tiles too. */
    if (CHTILE_OCB_MAX > 0 && j.co_g >= CHTILE_OCB_MAX &&
        (d.stride_w == 2 || (d.stride_w == 1 && j.kt > 1 && chtile_stride1_width(d.ow)))) {
        j.chtile = 1;
        j.rowmode = 0;
        j.rowtile = 0;
        j.nv = 1;
        j.nblocks = ceil_div(j.co_g, CHTILE_OCB_MAX);
    }
#ifdef UKRR_NR
    /* Row tiles at stride 1: copy rows share their zero columns, as in backward-data (a
     * row's reads past its right end, pad_right columns, land on the next row's pad_left
     * zeros or the copy's VL zeroed floats of slack): mid's rows are 33 floats, not 34. */
    if (j.rowtile && d.stride_w == 1 && d.pad_right <= d.pad_left && d.pad_right <= VL &&
        d.pad_left + d.iw <= j.row_w) {
        j.row_w = d.pad_left + d.iw;
    }
#endif
    j.macs = sat_mul(d.n * d.oc * d.oh * d.ow, j.ci_g * j.kt); /* dst and w counts fit */
#ifdef DIRECT_FLAT_TILES
    /* Where the row tiles, the pixel tiles or row mode would run: rows that are not a whole
     * number of vectors, stride 1, "same" horizontal padding. The flat tiles
     * (direct/flat_tiles.h) fill every lane and read the input in place. */
    if (!j.chtile && j.kt > 1 && d.stride_h == 1 && d.stride_w == 1 &&
        flat_tiles_fit(d.iw, d.ow, d.oh, j.kt)) {
        int64_t oy[FLAT_KT_MAX], ox[FLAT_KT_MAX];
        flat_tap_offsets(&d, 0, oy, ox);
        j.rowtile = 0;
        return flat_run(&j, oy, ox);
    }
#endif
#ifdef UKRR_NR
    const int64_t tile_rows = j.rowmode ? j.nv : (j.rowtile ? UKRR_NR : 1);
#else
    const int64_t tile_rows = j.rowmode ? j.nv : 1;
#endif
    plan_tasks(&j, d.n, d.oh, tiles_for(d.ow, j.nv), j.co_g * j.ci_g * j.kt * d.ow,
               tile_rows, ceil_div((d.kh - 1) * d.dilation_h, d.stride_h));
#ifdef UKRR_NR
    /* Row tiles: whole images per task when the images alone give every thread ~4 tasks.
     * plan_tasks cuts by multiply-adds, and with 3 input channels that made 8-row tasks
     * whose fixed costs (padded copy with its halo rows, a tap list and the packed
     * weights per block, scratch) were ~10% of the pass. Measured on cifar (32 x 3 x
     * 32x32 -> 32, 1 thread, one process, the two plans interleaved, thread CPU time,
     * 3 runs of 61): 0.89-0.93x the time; 3 -> 64 0.93-0.94x; 8 x 4 x 24x24 -> 16 (too
     * few images: unchanged) 1.00x. Results do not change: a row tile's bits do not
     * depend on which task runs it (ukrr_* above). */
    if (j.rowtile && images_fill_threads(&d)) {
        whole_image_tasks(&j, d.oh);
    }
#endif
    /* Channel tiles: whole images per task when the images alone give every thread ~4
     * tasks and an image's input fits in L2. plan_tasks cut the 3x3 stride-2 layer
     * (resnet_s2) into 4-row tasks: each re-read all the packed weights (1.2 MB) from L3
     * and copied its input rows (plus a halo row) in 1 KB pieces, one per channel, which
     * the copy waited on (~10% of the pass in a profile). A whole image is one sequential
     * 400 KB read. Measured (1 thread, thread CPU time, same process, interleaved,
     * medians of 21): resnet_s2 forward 0.91x the time. Results do not change: a tile's
     * bits do not depend on which task runs it. */
    if (j.chtile && images_fill_threads(&d) &&
        j.ci_g * d.ih * d.iw * (int64_t)sizeof(float) <= CHTILE_IMAGE_MAX) {
        whole_image_tasks(&j, d.oh);
    }
    if (is_pointwise(&j)) {
        pw_choose_tiles(&j);
    }
    return run_job(&j, is_pointwise(&j) ? pw_task : fwd_task,
                   d.n * d.groups * j.row_chunks * j.block_chunks);
}

PCNN_INTERNAL int32_t PCNN_DIRECT_BWD_DATA(const pcnn_conv2d_desc *desc, const float *diff_dst,
                                           const float *weights, float *diff_src) {
    /* the transposed convolution reads zeros around diff_dst (and, for vertical padding
     * and 2-D tiles, whole zero rows) even without forward padding: a non-finite weight
     * would give NaN where the scalar kernel skips the tap */
    if (has_nonfinite(weights, desc->oc * (desc->c / desc->groups) * desc->kh * desc->kw)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const int32_t flat = flat_bwd_data(desc, diff_dst, weights, diff_src);
    if (flat != PCNN_STATUS_UNSUPPORTED) {
        return flat;
    }
    const pcnn_conv2d_desc d = flatten_if_pointwise(desc);
    job_t j;
    memset(&j, 0, sizeof j);
    j.d = &d;
    j.bwd = 1;
    j.in = diff_dst;
    j.out = diff_src;
    j.bias = NULL;
    j.weights = weights;
    j.groups = d.groups;
    j.ci_g = d.oc / d.groups;
    j.co_g = d.c / d.groups;
    j.in_h = d.oh;
    j.in_w = d.ow;
    j.out_h = d.ih;
    j.out_w = d.iw;
    j.kt = d.kh * d.kw;
    const int64_t sw = d.stride_w;
    j.uw_max = ceil_div(d.iw, sw);
    j.nv = choose_nv(j.uw_max);
    j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    /* diff_dst columns read: u + (ph + pl - kx*dw)/sw for u < uw_max: from
     * floor((pl - (kw-1)*dw) / sw) to uw_max - 1 + floor((sw - 1 + pl) / sw). */
    const int64_t dmin = floor_div(d.pad_left - (d.kw - 1) * d.dilation_w, sw);
    const int64_t dmax = floor_div(sw - 1 + d.pad_left, sw);
    const int64_t hi = j.uw_max - 1 + dmax;
    j.direct = sw == 1 && dmin >= 0 && hi <= d.ow - 1;
    j.padl = imax(0, -dmin);
    j.row_w = j.padl + imax(d.ow, hi + 1);
    /* As in forward: a padded copy far larger than the planes (padding and dilation far
     * beyond the image) costs more than the scalar kernel's taps. Rows: diff_dst rows the
     * copy spans, vertical padding included (each term fits: ih + pad_top does). */
    if (!j.direct) {
        const int64_t rows = (d.ih - 1 + d.pad_top) / d.stride_h +
                             ceil_div((d.kh - 1) * d.dilation_h, d.stride_h) + 1;
        if (sat_mul(rows, j.row_w) / 4 > d.ih * d.iw + d.oh * d.ow + 1024) {
            return PCNN_STATUS_UNSUPPORTED;
        }
    }
    /* Phase rows narrower than a vector (e.g. 14 of 16 lanes for a 28-wide stride-2
     * layer): tiles of nv rows, one vector each, instead of one-vector tiles with a
     * broadcast per FMA. Needs the padded copy (its slack absorbs whole-vector reads). */
    j.rowmode = !j.direct && j.uw_max <= VL && d.ih > d.stride_h;
    if (j.rowmode) {
        j.nv = NV_MAX;
        j.nblocks = ceil_div(j.co_g, ocb_max_for_nv[j.nv]);
    } else if (d.ih > d.stride_h) {
        /* few diff_src channels (1 for LeNet's first layer, 3 for RGB): 2-D tiles of
         * several rows; needs every row to have all taps (vpad), so only with the copy */
        const int64_t ocb = ceil_div(j.co_g, j.nblocks);
        j.nr = j.direct ? 0 : choose_nr(ocb, j.nv);
        /* ukr2 sums channels innermost: a tile's input (all channels, its rows plus the
         * kernel's, its columns plus the kernel's) must stay in L1 across the taps, or
         * every tap re-streams it from L2 (measured 0.6x on the 7x7 stride-2 layer with
         * 64 channels; neutral at 32 channels x 3x3, 1.5x on LeNet's 6 x 5x5). */
        const int64_t tile_bytes = j.ci_g * (j.nr + ceil_div((d.kh - 1) * d.dilation_h, d.stride_h)) *
                                   ((int64_t)j.nv * VL + (d.kw - 1) * d.dilation_w) *
                                   (int64_t)sizeof(float);
        if (tile_bytes > 24 * 1024) {
            j.nr = 0;
        }
    }
#ifdef UKRR_NR
    /* Stride 1, diff_src rows of 17..32 pixels (mid: 64 -> 32 channels on 32x32): the
     * forward's row tiles (UKRR_NR rows x 2 vectors x UKRR_OCB channels) instead of
     * one-row tiles, with the vertical padding in the copy (vpad) so that any two rows
     * share a tap list. Only where the 2-D tiles (few diff_src channels) were not
     * chosen. Measured: see direct/README-mid.md. */
    j.rowtile = !j.direct && !j.rowmode && j.nr == 0 && j.kt > 1 && sw == 1 && d.stride_h == 1 &&
                d.iw > VL && d.iw <= 2 * VL && d.ih >= 2;
    if (j.rowtile) {
        j.nr = 0;
        j.nblocks = ceil_div(j.co_g, UKRR_OCB);
    }
#endif
    /* Stride 2 with many diff_src channels: channel tiles, as in forward; the phases are
     * written interleaved into the tile buffer, no obuf */
    if (CHTILE_OCB_MAX > 0 && j.co_g >= CHTILE_OCB_MAX &&
        (sw == 2 || (sw == 1 && j.kt > 1 && chtile_stride1_width(d.iw)))) {
        j.chtile = 1;
        j.rowmode = 0;
        j.rowtile = 0;
        j.nr = 0;
        j.nv = 1;
        j.nblocks = ceil_div(j.co_g, CHTILE_OCB_MAX);
    }
#ifdef UKRR_NR
    /* Row tiles: copy rows share their zero columns (a row's reads past its right end
     * land on the next row's padl left zeros, the last row's on the copy's VL zeroed
     * floats of slack), so one memset per row goes (mid: rows of 33, not 34). */
    if (j.rowtile && hi + 1 - (j.padl + d.ow) <= j.padl) {
        j.row_w = imax(j.padl + d.ow, hi + 1);
    }
#endif
    j.macs = sat_mul(d.n * d.oc * d.oh * d.ow, j.co_g * j.kt);
#ifdef DIRECT_FLAT_TILES
    /* as in forward: diff_src pixel (y, x) reads diff_dst (y + pt - ky*dh, x + pl - kx*dw) */
    if (!j.chtile && j.nr == 0 && j.kt > 1 && d.stride_h == 1 && d.stride_w == 1 &&
        flat_tiles_fit(d.ow, d.iw, d.ih, j.kt)) {
        int64_t oy[FLAT_KT_MAX], ox[FLAT_KT_MAX];
        flat_tap_offsets(&d, 1, oy, ox);
        j.rowtile = 0;
        return flat_run(&j, oy, ox);
    }
#endif
    /* per diff_src row: about co*ci*kt/(sh*sw) multiply-adds per pixel */
    int64_t tile_rows = j.rowmode ? d.stride_h * j.nv : (j.nr > 1 ? d.stride_h * j.nr : 1);
#ifdef UKRR_NR
    if (j.rowtile) {
        tile_rows = UKRR_NR;
    }
#endif
    plan_tasks(&j, d.n, d.ih, tiles_for(j.uw_max, j.nv) * sw,
               imax(1, j.co_g * j.ci_g * j.kt * d.iw / (d.stride_h * d.stride_w)), tile_rows,
               (d.kh - 1) * d.dilation_h);
    /* Row tiles: whole images per task, as in forward (same rule) */
    if (j.rowtile && images_fill_threads(&d)) {
        whole_image_tasks(&j, d.ih);
    }
    /* Channel tiles: whole images per task, as in forward (same rule). plan_tasks gave
     * resnet_s2 8-row tasks; whole images measured 0.95x the time (1 thread, thread CPU
     * time, same process, interleaved, medians of 15). */
    if (j.chtile && images_fill_threads(&d) &&
        j.ci_g * d.oh * d.ow * (int64_t)sizeof(float) <= CHTILE_IMAGE_MAX) {
        whole_image_tasks(&j, d.ih);
    }
    if (is_pointwise(&j)) {
        pw_choose_tiles(&j);
    }
    return run_job(&j, is_pointwise(&j) ? pw_task : bwd_task,
                   d.n * d.groups * j.row_chunks * j.block_chunks);
}
