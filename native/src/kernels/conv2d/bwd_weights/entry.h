/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the entry
 * point (CW_NAME): chooses the path (wide, flat, transposed or packing) and the task
 * blocking for the shape, handles padding with non-finite dY, runs the tasks.
 */

PCNN_INTERNAL int32_t CW_NAME(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                              float *diff_weights, float *diff_bias);

/*
 * Batch halves. A shape that plans a single task (few taps and output channels: the first
 * layers of LeNet and CIFAR nets) keeps one thread busy whatever the thread count (measured
 * at 2 threads: cifar 666 us against 540 us at 1 thread; lenet1 168 / 167). Such a call runs
 * as two calls on the two halves of the batch, one task each, the second writing a scratch
 * copy of the weights that is added to the first's afterwards. Whether a call splits depends
 * on the shape (and on the data only as the task plan does), never on the thread count, so
 * results stay identical at every thread count. The halves never split again.
 */
#define CW_HALVES_MIN_MACS ((int64_t)1 << 20) /* ~5 us of vector work: below, a wake-up costs more */

static __thread int cw_in_half;
/* set while CW_NAME runs a call again without the phase-plane path: its tasks found an
 * infinity or a NaN in src where junk pixels would multiply it (see cw_run_wide) */
static __thread int cw_no_wide;

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src, *diff_dst;
    float *dw[2];
    int64_t n_first; /* images in the first half */
    int32_t status[2];
} cw_halves;

static void cw_half_task(void *p, int64_t t) {
    cw_halves *h = p;
    const pcnn_conv2d_desc *d = h->d;
    pcnn_conv2d_desc half = *d;
    const int64_t n0 = t == 0 ? 0 : h->n_first;
    half.n = t == 0 ? h->n_first : d->n - h->n_first;
    cw_in_half = 1;
    h->status[t] = CW_NAME(&half, h->src + n0 * d->c * d->ih * d->iw,
                           h->diff_dst + n0 * d->oc * d->oh * d->ow, h->dw[t], NULL);
    cw_in_half = 0;
}

static int32_t cw_run_halves(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                             float *diff_weights, int64_t macs) {
    const int64_t count = d->oc * (d->c / d->groups) * d->kh * d->kw;
    float *second = pcnn_scratch_get(PCNN_SCRATCH_CONV_BWD_HALF, (size_t)count * sizeof(float));
    if (second == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    cw_halves h = {d, src, diff_dst, {diff_weights, second}, (d->n + 1) / 2,
                   {PCNN_STATUS_OK, PCNN_STATUS_OK}};
    pcnn_parallel_for_work(2, macs, cw_half_task, &h);
    for (int t = 0; t < 2; ++t) {
        if (h.status[t] != PCNN_STATUS_OK) {
            return h.status[t];
        }
    }
    for (int64_t i = 0; i < count; ++i) {
        diff_weights[i] += second[i];
    }
    __atomic_fetch_add(&CW_HALVES_RUNS, 1, __ATOMIC_RELAXED);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t CW_NAME(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                              float *diff_weights, float *diff_bias) {
    cw_ctx x;
    memset(&x, 0, sizeof x);
    x.d = d;
    x.src = src;
    x.diff_dst = diff_dst;
    x.diff_weights = diff_weights;
    x.cg = d->c / d->groups;
    x.ocg = d->oc / d->groups;
    x.khw = d->kh * d->kw;
    x.taps = x.cg * x.khw;
    x.ohw = d->oh * d->ow;
    x.ihw = d->ih * d->iw;
    const int64_t last_iy = (d->oh - 1) * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h;
    const int64_t last_ix = (d->ow - 1) * d->stride_w - d->pad_left + (d->kw - 1) * d->dilation_w;
    const int padded = d->pad_top > 0 || d->pad_left > 0 || last_iy >= d->ih || last_ix >= d->iw;
    x.direct = d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 && !padded;

    if (d->iw > ((int64_t)1 << 30)) {
        return PCNN_STATUS_UNSUPPORTED; /* cw_load_row's lane arithmetic is int32 */
    }
#ifdef CW_FIRST
    if (cw_first_fits(d)) { /* few input channels (bwd_weights/first.h) */
        return cw_run_first(d, src, diff_dst, diff_weights, diff_bias, padded);
    }
#endif
#ifdef CW_MASKED
    /* equally wide rows, few channels per group: the masked path (bwd_weights/masked.h), after
     * the bias gradient and dY's check below; rows of at most a vector only when the paths
     * below decline (decided after them) */
    const int masked_fits = cw_masked_fits(d);
    int masked = masked_fits && d->ow > CW_V;
#else
    const int masked = 0;
#endif
    /* The phase-plane path (cw_run_wide), when a chunk holds at least half CW_PW pixels and
     * at least 3/4 of what the tile computes are real pixels (not junk). */
    x.wp = d->ow + (d->kw - 1) * d->dilation_w / d->stride_w;
    x.eh = (d->kh - 1) * d->dilation_h / d->stride_h;
    /* Stride 1 only, and not for the unpadded 1x1 case (read in place): the same layout
     * with stride-2 phase planes (and for 1x1 with images batched without tails) measured
     * slower (on a noisy machine) than the paths below on resnet_s2 and pw1x1: repacking dY
     * for every task costs about what the cheaper packing saves there. */
    if (CW_WIDE && !masked && !cw_no_wide && x.wp <= CW_PW && d->stride_h == 1 && d->stride_w == 1 &&
        !x.direct) {
        int64_t computed, useful;
        if ((d->oh + x.eh) * x.wp <= CW_PW) {
            x.nb = CW_PW / ((d->oh + x.eh) * x.wp);
            if (x.nb > d->n) x.nb = d->n;
            x.ny = d->oh;
            computed = ((x.nb - 1) * (d->oh + x.eh) + d->oh - 1) * x.wp + d->ow;
            useful = x.nb * x.ohw;
        } else {
            x.nb = 1;
            x.ny = CW_PW / x.wp;
            computed = (x.ny - 1) * x.wp + d->ow;
            useful = x.ny * d->ow;
        }
        const int junk = x.wp > d->ow || (x.nb > 1 && x.eh > 0);
        /* and when a task has at least as many taps as output channels: the repacked dY
         * (no rows) must cost less than the kh * kw shifted copies saved (nt rows) */
        const int64_t ob_first = x.ocg < CW_OB ? x.ocg : CW_OB;
        if (computed >= CW_P / 2 && 4 * useful >= 3 * computed && x.taps >= ob_first) {
            x.wide = 1;
            x.wide_junk = junk; /* src finiteness: tested by the tasks while they pack */
        }
    }

    /* The in-place small-plane path (cw_run_flat) where the phase-plane path is not taken:
     * stride 1, no padding, not 1x1, a plane of at most one chunk, at least 2/3 of what the
     * tile computes real pixels (lenet2: 100 of 136); fewer than 96 output channels per
     * group (more take the transposed path on AVX-512, which shares its packing among them). */
    if (CW_FLAT && !masked && !x.wide && !x.direct && !padded && d->stride_h == 1 && d->stride_w == 1 &&
        x.ocg < 96) {
        const int64_t computed = (d->oh - 1) * d->iw + d->ow;
        x.flat_dp = (computed + CW_V - 1) / CW_V * CW_V;
        if (x.flat_dp <= CW_P && 3 * x.ohw >= 2 * computed) {
            x.flat_nb = CW_P / x.flat_dp;
            if (x.flat_nb > d->n) x.flat_nb = d->n;
            x.flat = 1;
            if (d->iw > d->ow) {
                pcnn_parallel_for_work(d->n, d->n * d->c * x.ihw, cw_finite_task, &x);
                x.flat = __atomic_load_n(&x.nonfinite, __ATOMIC_RELAXED) == 0;
            }
        }
    }

#ifdef CW_MASKED
    /* narrow rows: the masked path where the phase-plane and flat paths decline (the packing
     * path would run; the transposed path needs >= 96 channels per group, which this path never
     * has): 64 x 6 x 14x14 -> 16, 5x5 pad 2 (LeNet's second layer with same padding): 0.59x the
     * time of the packing path */
    if (masked_fits && !masked && !x.wide && !x.flat && !x.direct) {
        masked = 1;
    }
#endif

    /* The packing path packs its col rows once per task: when that is the larger cost
     * (col is taps / oc times the size of dY) one task takes up to 2 * CW_OB output channels
     * with half the taps (the accumulators stay the same size). Measured on resnet_s2. */
    x.ob = CW_OB;
    int64_t tb_cap = CW_TB;
    if (!x.wide && !x.direct && x.ocg > CW_OB && x.ocg <= 2 * CW_OB && x.taps >= x.ocg) {
        x.ob = 2 * CW_OB;
        tb_cap = CW_TB / 2;
    }
    x.ob_blocks = (x.ocg + x.ob - 1) / x.ob;
    /* Every task reads all of dY once: the wide path (whose packed planes stay small) takes
     * more taps per task when the accumulators allow, but keeps at least 4 tasks. */
    const int64_t ob_first2 = x.ocg < CW_OB ? x.ocg : CW_OB;
    const int64_t tb_max = ((x.wide || x.flat) && ob_first2 <= 64) ? CW_TB_WIDE : tb_cap;
    x.tb_blocks = (x.taps + tb_max - 1) / tb_max;
    if ((x.wide || x.flat) && d->groups * x.ob_blocks * x.tb_blocks < 4) {
        /* at least 4 tasks (2 threads), as long as each keeps >= 24 taps: with fewer, the
         * dY repack per task costs more than the split gains (measured on cifar) */
        /* cw_run_flat: 2 (lenet2, one thread: 2 tasks of 78 taps ~12 % faster than 4 of 42,
         * each task repacks all of dY) */
        const int64_t min_tasks = x.flat ? 2 : 4;
        const int64_t want = (min_tasks + d->groups * x.ob_blocks - 1) / (d->groups * x.ob_blocks);
        const int64_t most = x.taps / 24;
        const int64_t blocks = want < most ? want : most;
        if (blocks > x.tb_blocks) x.tb_blocks = blocks;
    }
    /* even out the blocks (a last, nearly empty block would unbalance the threads) */
    x.tb = ((x.taps + x.tb_blocks - 1) / x.tb_blocks + CW_RT - 1) / CW_RT * CW_RT;
    x.tb_blocks = (x.taps + x.tb - 1) / x.tb;
    if (x.wide) {
        if (x.nb == 1) { /* rows per chunk evened out: no short last chunk (mid: 16 + 16, not 30 + 2) */
            const int64_t ychunks = (d->oh + x.ny - 1) / x.ny;
            x.ny = (d->oh + ychunks - 1) / ychunks;
        }
        const int64_t rows = (x.nb > 1 ? x.nb : 1) * (x.ny + x.eh);
        const int64_t longest = ((x.nb > 1 ? x.nb - 1 : 0) * (x.ny + x.eh) + x.ny - 1) * x.wp + d->ow;
        x.wide_dyp = (longest + CW_V - 1) / CW_V * CW_V + CW_V;
        x.wide_pitch = (rows * x.wp + CW_V - 1) / CW_V * CW_V + CW_V;
        x.wide_nci = (x.tb + x.khw - 1) / x.khw + 1;
    }
#ifdef CW_TRANS
    cw_trans_plan(&x, d); /* the transposed path where it pays (bwd_weights/trans.h) */
#endif
    int64_t ntasks;
    if (pcnn_mul_i64(d->groups, x.ob_blocks * x.tb_blocks, &ntasks)) {
        return PCNN_STATUS_UNSUPPORTED;
    }

    /* work in multiply-adds, saturated (only a thread-count hint) */
    int64_t macs;
    if (pcnn_mul_i64(d->n * d->oc, x.ohw, &macs) || pcnn_mul_i64(macs, x.taps, &macs)) {
        macs = INT64_MAX;
    }
    const int halves = !masked && ntasks == 1 && d->n >= 2 && !cw_in_half && macs >= CW_HALVES_MIN_MACS;
    /* the bias gradient, which is also the finiteness check of dY (a batch half skips the
     * check: its caller found all of dY finite) */
    const int want_sums = diff_bias != NULL || (padded && !cw_in_half);
    float *sums = diff_bias;
    if (want_sums && sums == NULL) {
        sums = pcnn_scratch_get(PCNN_SCRATCH_CONV_BIAS_SUMS, (size_t)d->oc * sizeof(float));
        if (sums == NULL) {
            return PCNN_STATUS_OUT_OF_MEMORY;
        }
    }
    int summed = 0;

    if (x.wide && !halves) {
        /* dY repacked once for all tasks (each reads all of it) when that fits the scratch
         * budget, with the bias partials per chunk after it; else every task repacks its
         * rows per chunk */
        const int64_t per = x.nb > 1 ? x.nb : 1;
        const int64_t chunks = (d->n + per - 1) / per * ((d->oh + x.ny - 1) / x.ny);
        int64_t floats;
        if (!pcnn_mul_i64(chunks * d->oc, x.wide_dyp, &floats) &&
            floats <= __atomic_load_n(&CW_WIDE_DY_MAX, __ATOMIC_RELAXED)) {
            const int64_t extra = want_sums ? chunks * d->oc : 0;
            x.wide_dy = pcnn_scratch_get(PCNN_SCRATCH_CONV_BWD_DY,
                                         (size_t)(floats + extra) * sizeof(float));
            if (x.wide_dy != NULL) {
                x.wide_dy_sums = want_sums ? x.wide_dy + floats : NULL;
                pcnn_parallel_for_work(chunks, d->n * d->oc * x.ohw, cw_wide_dy_task, &x);
                if (want_sums) { /* partials added in chunk order: the same at every thread count */
                    for (int64_t o = 0; o < d->oc; ++o) {
                        float s = 0.0f;
                        for (int64_t c = 0; c < chunks; ++c) s += x.wide_dy_sums[c * d->oc + o];
                        sums[o] = s;
                    }
                    summed = 1;
                }
            }
        }
    }
    if (want_sums) {
        x.bias_sums = sums;
#ifdef CW_TRANS
        if (!summed && x.trans && !x.tphase && !padded && !halves && d->n > 0 && x.ohw > 0 &&
            !__atomic_load_n(&CW_TBIAS_OFF, __ATOMIC_RELAXED)) {
            /* the tap-block-0 tasks add the dY rows their tiles just read (cw_bias_piece),
             * in this pass's order; no finiteness check is needed (not padded) */
            x.tbias = 1;
            summed = 1;
            __atomic_fetch_add(&CW_TBIAS_RUNS, 1, __ATOMIC_RELAXED);
        }
#endif
        if (!summed) {
            pcnn_parallel_for_work(d->oc, d->n * d->oc * x.ohw, cw_bias_task, &x);
        }
        if (padded) { /* (x.tbias: never padded, the sums come later) */
            int finite = 1;
            for (int64_t o = 0; o < d->oc; ++o) {
                finite &= isfinite(sums[o]) != 0;
            }
            if (!finite) return PCNN_STATUS_UNSUPPORTED; /* see "Padding" in conv2d_bwd_weights-simd.h */
        }
    }

#ifdef CW_MASKED
    if (masked) {
        return cw_run_masked(d, src, diff_dst, diff_weights); /* diff_bias is done */
    }
#endif
    if (halves) {
        return cw_run_halves(d, src, diff_dst, diff_weights, macs); /* diff_bias is done */
    }

    pcnn_parallel_for_work(ntasks, macs, cw_task, &x);
    if (x.wide && __atomic_load_n(&x.nonfinite, __ATOMIC_RELAXED)) {
        /* non-finite src under junk pixels: the whole call again on another path (its
         * diff_bias, already written, is computed again the same way) */
        cw_no_wide = 1;
        const int32_t st = CW_NAME(d, src, diff_dst, diff_weights, diff_bias);
        cw_no_wide = 0;
        return st;
    }
    if (x.flat) __atomic_fetch_add(&CW_FLAT_RUNS, 1, __ATOMIC_RELAXED);
#ifdef CW_TRANS
    if (x.trans) __atomic_fetch_add(&CW_TRANS_RUNS, 1, __ATOMIC_RELAXED);
#endif
    return __atomic_load_n(&x.oom, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_MEMORY
                                                     : PCNN_STATUS_OK;
}
