/*
 * conv2d direct, part of the conv2d-direct.h template: the "flat" backward-data path for
 * small planes, stride 1, no padding (LeNet's 16 x 10 x 10 -> 6 x 14 x 14): a per-image GEMM
 * over the output channels added into the diff_src planes at tap offsets, instead of the
 * engine's full correlation over a zero-padded diff_dst.
 */

/* ---------------------------------------------------------------------------------------
 * Backward-data, small planes, stride 1, no padding ("flat" path; lenet2: 16 x 10 x 10 ->
 * 6 x 14 x 14). The engine (forward.h, backward_data.h) computes the full correlation
 * over a zero-padded diff_dst: for 5x5 on 10x10 about twice the real multiply-adds. Here,
 * per (image, group), a GEMM over the output channels gives every tap's contribution at
 * every diff_dst pixel,
 *     G[t][p] = sum over o of w[o][t] * dY[o][p],   t = (ci, ky, kx),
 * with p = y * iw + x indexing the diff_dst pixel in the input's row width (the columns
 * x >= ow are junk, dY is repacked with zeros there), and G[t] is added to diff_src plane
 * ci at offset ky * dh * iw + kx * dw: that is where tap t of pixel p lands, junk lanes
 * add 0. Weights are finite (checked by the caller), so 0 * w = 0 and junk adds nothing.
 * Register tile FT taps x up to FV vectors (FT, FV: the vector layer); lanes along p; weights broadcast from OIHW.
 * Summation order per diff_src element: taps ascending, each tap's sum over o (fused
 * multiply-adds from 0); one task per (image, group): independent of the thread count.
 */
typedef struct {
    const pcnn_conv2d_desc *d;
    const float *dy;
    const float *w;
    float *dx;
    int64_t len, dp, plane_pitch; /* flat pixels, dY row pitch, scratch plane pitch */
    int oom;
} flat_job_t;

/* calls that took the flat path (the tests check that their shapes reach it) */
PCNN_INTERNAL int64_t PCNN_DIRECT_FLAT_RUNS;

static inline __attribute__((always_inline)) void flat_tile(const float *dyk, int64_t dp,
                                                            int64_t ocg, const float *w,
                                                            int64_t wstride, const int64_t *tap,
                                                            int nt, float *const *outp,
                                                            int64_t p0, const int nv) {
    vec_t acc[FT][FV];
#pragma GCC unroll 8
    for (int i = 0; i < FT; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) acc[i][v] = VZERO();
    for (int64_t o = 0; o < ocg; ++o) {
        const float *wo = w + o * wstride;
        const float *dyo = dyk + o * dp + p0;
        vec_t dv[FV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) dv[v] = VLOADU(dyo + v * VL);
#pragma GCC unroll 8
        for (int i = 0; i < FT; ++i) {
            const vec_t wv = VSET1(wo[tap[i]]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; ++v) acc[i][v] = VFMA(wv, dv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < FT; ++i) {
        if (i >= nt) break;
        float *out = outp[i] + p0;
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) VSTOREU(out + v * VL, VADD(VLOADU(out + v * VL), acc[i][v]));
    }
}

static void flat_bwd_task(void *p, int64_t task) {
    flat_job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups, khw = d->kh * d->kw;
    const int64_t n = task / d->groups, g = task % d->groups;
    const int64_t ihw = d->ih * d->iw, ohw = d->oh * d->ow, iw = d->iw, ow = d->ow;
    const int64_t dp = j->dp, pitch = j->plane_pitch, taps = cg * khw;
    float *buf = pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK,
                                  (size_t)(ocg * dp + cg * pitch + VL) * sizeof(float));
    if (buf == NULL) {
        __atomic_store_n(&j->oom, 1, __ATOMIC_RELAXED);
        return;
    }
    float *dyk = buf, *planes = buf + ocg * dp;
    /* dY in the flat layout, zero in the junk columns and after the last pixel */
    for (int64_t o = 0; o < ocg; ++o) {
        const float *in = j->dy + (n * d->oc + g * ocg + o) * ohw;
        float *out = dyk + o * dp;
        memset(out, 0, (size_t)dp * sizeof(float));
        for (int64_t y = 0; y < d->oh; ++y) memcpy(out + y * iw, in + y * ow, (size_t)ow * sizeof(float));
    }
    memset(planes, 0, (size_t)(cg * pitch) * sizeof(float));
    const float *w = j->w + g * ocg * taps;
    for (int64_t t0 = 0; t0 < taps; t0 += FT) {
        const int nt = (int)(taps - t0 < FT ? taps - t0 : FT);
        int64_t tap[FT];
        float *outp[FT];
        for (int i = 0; i < FT; ++i) {
            const int64_t t = t0 + (i < nt ? i : nt - 1); /* duplicates: computed, not stored */
            const int64_t ci = t / khw, ky = (t - ci * khw) / d->kw, kx = t - ci * khw - ky * d->kw;
            tap[i] = t;
            outp[i] = planes + ci * pitch + ky * d->dilation_h * iw + kx * d->dilation_w;
        }
        /* the row's vectors in tiles of equal width (9 -> 3 x 3, not 4 + 4 + 1: a one-vector
         * tile has too few accumulators to hide the FMA latency) */
        const int64_t nvec = dp / VL, ntiles = ceil_div(nvec, FV);
        for (int64_t k = 0, p0 = 0; k < ntiles; ++k) {
            const int64_t nv = (nvec - p0 / VL) / (ntiles - k) +
                               ((nvec - p0 / VL) % (ntiles - k) != 0);
            switch (nv) {
#if FV >= 4
            case 4: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 4); break;
#endif
            case 3: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 3); break;
            case 2: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 2); break;
            default: flat_tile(dyk, dp, ocg, w, taps, tap, nt, outp, p0, 1); break;
            }
            p0 += nv * VL;
        }
    }
    float *dx = j->dx + (n * d->c + g * cg) * ihw;
    for (int64_t ci = 0; ci < cg; ++ci) memcpy(dx + ci * ihw, planes + ci * pitch, (size_t)ihw * sizeof(float));
}

/* PCNN_STATUS_UNSUPPORTED unless the flat path takes the shape (see above): stride 1, no
 * padding, not 1x1, the plane and the repacked dY in a few KiB, at least 2/3 of the flat
 * pixels real, few channels (measured on lenet2 only; larger channel counts keep the
 * engine, whose weight packing and L1 blocking this path does not have). */
static int32_t flat_bwd_data(const pcnn_conv2d_desc *d, const float *diff_dst, const float *w,
                             float *diff_src) {
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    if (d->stride_h != 1 || d->stride_w != 1 || d->pad_top || d->pad_bottom || d->pad_left ||
        d->pad_right || (d->kh == 1 && d->kw == 1) || cg > 16 || ocg > 64 ||
        d->ih * d->iw > 1024) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    flat_job_t j;
    memset(&j, 0, sizeof j);
    j.d = d;
    j.dy = diff_dst;
    j.w = w;
    j.dx = diff_src;
    j.len = (d->oh - 1) * d->iw + d->ow;
    if (3 * d->oh * d->ow < 2 * j.len) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    j.dp = ceil_div(j.len, VL) * VL;
    /* every tap's whole-vector adds stay inside: largest offset + dp */
    j.plane_pitch = ceil_div((d->kh - 1) * d->dilation_h * d->iw + (d->kw - 1) * d->dilation_w +
                             j.dp, VL) * VL;
    if (j.plane_pitch < d->ih * d->iw) j.plane_pitch = ceil_div(d->ih * d->iw, VL) * VL;
    pcnn_parallel_for_work(d->n * d->groups, sat_mul(d->n * d->oc * j.dp, cg * d->kh * d->kw),
                           flat_bwd_task, &j);
    if (__atomic_load_n(&j.oom, __ATOMIC_RELAXED)) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    __atomic_fetch_add(&PCNN_DIRECT_FLAT_RUNS, 1, __ATOMIC_RELAXED);
    return PCNN_STATUS_OK;
}
