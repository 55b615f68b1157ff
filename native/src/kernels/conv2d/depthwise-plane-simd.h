/*
 * Depthwise conv2d, AVX-512 / AVX2: the plane engine's forward / backward-data tasks and the
 * three entry points, which try the engines in their order. Included once, after
 * depthwise-simd.h, by depthwise-avx512.c / depthwise-avx2.c. The plane engine's
 * backward-weights and the other engines are in their own translation units (depthwise-simd.h,
 * "engines").
 */
#ifndef PCNN_DEPTHWISE_PLANE_SIMD_H
#define PCNN_DEPTHWISE_PLANE_SIMD_H

PCNN_INTERNAL void dw_fwd_task(void *ctx, int64_t plane) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ch = plane % d->c;
    dw_prefetch_next(j->in, d->ih * d->iw, j->out, d->oh * d->ow, plane, d->n * d->c);
    dw_grid g;
    if (!dw_forward_grid(d, j->in + plane * d->ih * d->iw, j->w + ch * d->kh * d->kw, &g)) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    g.out = j->out + plane * d->oh * d->ow;
    g.ors = d->ow, g.oh = d->oh, g.ow = d->ow;
    g.has_bias = j->bias != NULL;
    g.bias = g.has_bias ? j->bias[ch] : 0.0f;
    dw_gather_plane(&g);
}

/* diff_src row sy*j + py, column sx*i + px: the taps whose offsets divide by the stride */
PCNN_INTERNAL void dw_bwd_data_task(void *ctx, int64_t plane) {
    dw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t ch = plane % d->c, sy = d->stride_h, sx = d->stride_w;
    const float *dd = j->in + plane * d->oh * d->ow, *w = j->w + ch * d->kh * d->kw;
    dw_prefetch_next(j->in, d->oh * d->ow, j->out, d->ih * d->iw, plane, d->n * d->c);
    float *ds = j->out + plane * d->ih * d->iw, *half[2] = {NULL, NULL};
    int64_t hrs = 0;
    if (sx == 2) {
        hrs = dw_half_stride(d->iw);
        float *s = pcnn_scratch_get(PCNN_SCRATCH_DEPTHWISE, sizeof(float) * (size_t)(2 * d->ih * hrs));
        if (s == NULL) {
            __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
            return;
        }
        half[0] = s, half[1] = s + d->ih * hrs;
    }
    for (int64_t py = 0; py < sy && py < d->ih; py++) {
        for (int64_t px = 0; px < sx && px < d->iw; px++) {
            dw_grid g;
            int64_t kys[DW_MAX_K], kxs[DW_MAX_K];
            g.nky = 0, g.nkx = 0, g.ry = 1, g.rs = d->ow, g.rows = d->oh, g.sx = 1;
            for (int64_t ky = d->kh - 1; ky >= 0; ky--) { /* dy ascending, as the row reuse wants */
                const int64_t vy = py + d->pad_top - ky * d->dilation_h;
                if (vy % sy == 0) {
                    kys[g.nky] = ky, g.dy[g.nky++] = vy / sy;
                }
            }
            for (int64_t kx = 0; kx < d->kw; kx++) {
                const int64_t vx = px + d->pad_left - kx * d->dilation_w;
                if (vx % sx == 0) {
                    kxs[g.nkx] = kx, g.plane[g.nkx] = dd, g.cols[g.nkx] = d->ow, g.dx[g.nkx++] = vx / sx;
                }
            }
            for (int64_t a = 0; a < g.nky; a++) {
                for (int64_t b = 0; b < g.nkx; b++) {
                    g.w[a * g.nkx + b] = w[kys[a] * d->kw + kxs[b]];
                }
            }
            g.oh = (d->ih - py + sy - 1) / sy;
            g.ow = (d->iw - px + sx - 1) / sx;
            g.has_bias = 0, g.bias = 0.0f;
            if (sx == 1) {
                g.out = ds + py * d->iw, g.ors = sy * d->iw;
            } else {
                g.out = half[px] + py * hrs, g.ors = sy * hrs;
            }
            dw_gather_plane(&g);
        }
    }
    if (sx == 2) {
        dw_interleave(half[0], half[1], hrs, d->ih, d->iw, ds);
    }
}

/* ---- entry points ---- */

static int32_t dw_status(const dw_job *j) {
    return __atomic_load_n(&j->failed, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_MEMORY : PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t DW_FWD(const pcnn_conv2d_desc *d, const float *src, const float *weights,
                             const float *bias, float *dst) {
    if (!pcnn_depthwise_supports(d, PCNN_PASS_FWD)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    dw_job j = {d, src, NULL, weights, bias, dst, NULL, 0};
    if (dw_s2fwd_fwd(&j)) { /* 3x3 stride 2, rows within two vectors: split rows in registers */
        return dw_status(&j);
    }
    if (dw2_fwd(&j)) { /* stride 2: the row engine (depthwise-s2-simd.h) */
        return dw_status(&j);
    }
    if (dw_rows_fwd(&j)) { /* stride 1, 3x3 / 5x5, rows of a few vectors (depthwise-rows-simd.h) */
        return dw_status(&j);
    }
    if (dw_lanes_fwd(&j)) {
        return dw_status(&j);
    }
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw_fwd_task, &j);
    return dw_status(&j);
}

PCNN_INTERNAL int32_t DW_BWD_DATA(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights,
                                  float *diff_src) {
    if (!pcnn_depthwise_supports(d, PCNN_PASS_BWD_DATA)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    dw_job j = {d, diff_dst, NULL, weights, NULL, diff_src, NULL, 0};
    if (dw2k5_bwd_data(&j)) { /* stride 2, 5x5 pad 2: the row engine's body, constant sizes */
        return dw_status(&j);
    }
    if (dw2_bwd_data(&j)) { /* stride 2: the row engine (depthwise-s2-simd.h) */
        return dw_status(&j);
    }
    if (dw_rows_bwd_data(&j)) { /* stride 1, 3x3 / 5x5, rows of a few vectors (depthwise-rows-simd.h) */
        return dw_status(&j);
    }
    if (dw_lanes_bwd_data(&j)) {
        return dw_status(&j);
    }
    const int64_t planes = d->n * d->c;
    pcnn_parallel_for_work(planes, planes * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw_bwd_data_task, &j);
    return dw_status(&j);
}

PCNN_INTERNAL int32_t DW_BWD_WEIGHTS(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                                     float *diff_weights, float *diff_bias) {
    if (!pcnn_depthwise_supports(d, PCNN_PASS_BWD_WEIGHTS)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    dw_job j = {d, src, diff_dst, NULL, NULL, diff_weights, diff_bias, 0};
    if (dw_wsum3_bwd_weights(&j, 0)) { /* 3x3 stride 1, narrow rows: shifted diff_dst sums */
        return dw_status(&j);
    }
    if (dw_wsum2_bwd_weights(&j)) { /* stride 2, 3x3 / 5x5, rows within two vectors: split-row sums */
        return dw_status(&j);
    }
    if (dw_lanes_bwd_weights(&j)) {
        return dw_status(&j);
    }
    if (dw_wsum3_bwd_weights(&j, 1)) { /* 3x3 stride 1 beyond the lanes engine's frame */
        return dw_status(&j);
    }
    if (dw2_bwd_weights(&j)) { /* stride 2 beyond the lanes engine's frame: the row engine */
        return dw_status(&j);
    }
    pcnn_parallel_for_work(d->c, d->n * d->c * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw),
                           dw_bwd_weights_task, &j);
    return dw_status(&j);
}

#endif /* PCNN_DEPTHWISE_PLANE_SIMD_H */
