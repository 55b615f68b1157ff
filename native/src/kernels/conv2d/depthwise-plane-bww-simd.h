/*
 * Depthwise conv2d, AVX-512 / AVX2: the plane engine's backward-weights (per channel, the sums
 * of the forward grid's taps over every image; see depthwise-simd.h). Its own translation unit
 * (depthwise-plane-bww-<isa>.c), so that it compiles beside the forward / backward-data tasks.
 */
#ifndef PCNN_DEPTHWISE_PLANE_BWW_SIMD_H
#define PCNN_DEPTHWISE_PLANE_BWW_SIMD_H

/* Sums channel ch over every image (EXACT: padded lanes skipped by masked FMAs); 0 when out of memory. */
PCNN_INTERNAL int dw_bwd_weights_sums(dw_job *j, int64_t ch, int exact, dw_vec *acc, dw_vec *accb) {
    const pcnn_conv2d_desc *d = j->d;
    for (int64_t t = 0; t < d->kh * d->kw; t++) {
        acc[t] = dw_zero();
    }
    *accb = dw_zero();
    for (int64_t n = 0; n < d->n; n++) {
        const int64_t plane = n * d->c + ch;
        if (n + 1 < d->n) {
            dw_prefetch(j->in + (plane + d->c) * d->ih * d->iw, d->ih * d->iw, 0);
            dw_prefetch(j->in2 + (plane + d->c) * d->oh * d->ow, d->oh * d->ow, 0);
        }
        dw_grid g;
        if (!dw_forward_grid(d, j->in + plane * d->ih * d->iw, NULL, &g)) {
            return 0;
        }
        g.out = (float *)(uintptr_t)(j->in2 + plane * d->oh * d->ow);
        g.ors = d->ow, g.oh = d->oh, g.ow = d->ow;
        dw_wsum_plane(&g, acc, accb, exact);
    }
    return 1;
}

PCNN_INTERNAL void dw_bwd_weights_task(void *ctx, int64_t ch) {
    dw_job *j = ctx;
    const int64_t k = j->d->kh * j->d->kw;
    dw_vec acc[PCNN_DW_MAX_TAPS], accb;
    if (!dw_bwd_weights_sums(j, ch, DW_FREE_MASKED_FMA, acc, &accb)) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    if (!DW_FREE_MASKED_FMA) {
        /* a non-finite diff_dst may have met a padded lane (0 * Inf): sum again, skipping them */
        int finite = 1;
        for (int64_t t = 0; t < k; t++) {
            finite &= dw_all_finite(acc[t]);
        }
        if (!finite && !dw_bwd_weights_sums(j, ch, 1, acc, &accb)) {
            __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    for (int64_t t = 0; t < k; t++) {
        j->out[ch * k + t] = dw_hsum(acc[t]);
    }
    if (j->out2 != NULL) {
        j->out2[ch] = dw_hsum(accb);
    }
}

#endif /* PCNN_DEPTHWISE_PLANE_BWW_SIMD_H */
