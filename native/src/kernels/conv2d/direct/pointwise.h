/*
 * conv2d direct, part of the conv2d-direct.h template: 1x1, stride 1, no padding (a GEMM per
 * image), forward and backward-data: pixel tiles outer with an L1-resident input panel
 * (pw_task), tap-free micro-kernels (ukrpw_*), and on AVX-512 a channels-in-lanes kernel
 * for a row tail of <= 8 pixels (pwtail_*).
 */

/* ---------------------------------------------------------------------------------------
 * Pointwise task (1x1, stride 1, no padding, flattened to one row of P pixels per image):
 * a GEMM out[m][p] = sum_k W[m][k] * in[k][p], forward and backward-data alike.
 * The generic order (blocks outer, tiles inner) re-streams the whole image (K x P, e.g.
 * 256 x 196 floats = 200 KB, rows 784 bytes apart) from L2 once per output-channel block.
 * Here the pixel tile is outer: its K x nv*VL input panel is copied once into a
 * contiguous, aligned buffer (32 KB for K = 256, two vectors: stays in L1) and every
 * block of the task sweeps it, so only the small packed weight panels stream.
 * Each pixel's sum is the same micro-kernel instruction sequence as in run_row (input
 * channel ascending, FMA, then + bias): results are bit-identical to the generic path
 * and independent of the task split.
 * ------------------------------------------------------------------------------------- */
/* Pointwise micro-kernel: the UKR tile with a single tap at offset 0 and weights
 * w[ci * w_cstride + j] (the packed block, w_cstride = OCB, or for backward-data the OIHW
 * weights themselves, w_cstride = C), written with stepped pointers: per input channel
 * the generic loop spends two index loads, two multiplies and an inner-loop branch
 * (measured ~7% on the 196-pixel 1x1 layer). Same arithmetic per pixel as UKR (fma over
 * channels ascending from 0, then + bias). */
#define UKR_PW(OCB, NV)                                                         \
    static void ukrpw_##OCB##_##NV(const ukr_args *a) {                         \
        vec_t acc[OCB][NV];                                                     \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            UNROLL_V for (int v = 0; v < NV; ++v) {                             \
                acc[j][v] = VZERO();                                            \
            }                                                                   \
        }                                                                       \
        const vmask_t last = a->last;                                           \
        const int64_t cs = a->in_cstride;                                       \
        const float *p = a->in;                                                 \
        const float *q = a->w;                                                  \
        const int64_t ws = a->w_cstride;                                        \
        for (int64_t ci = a->ci_count; ci > 0; --ci, p += cs, q += ws) {        \
            vec_t x[NV];                                                        \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                x[v] = VLOADU(p + v * VL);                                      \
            }                                                                   \
            x[NV - 1] = VLOADM(p + (NV - 1) * VL, last);                        \
            UNROLL_J for (int j = 0; j < OCB; ++j) {                            \
                const vec_t b = VSET1(q[j]);                                    \
                UNROLL_V for (int v = 0; v < NV; ++v) {                         \
                    acc[j][v] = VFMA(b, x[v], acc[j][v]);                       \
                }                                                               \
            }                                                                   \
        }                                                                       \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            float *o = a->out + j * a->out_ostride;                             \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();      \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                VSTOREU(o + v * VL, VADD(acc[j][v], b));                        \
            }                                                                   \
            VSTOREM(o + (NV - 1) * VL, last, VADD(acc[j][NV - 1], b));          \
        }                                                                       \
    }
#define UKRPW_NV1(OCB) UKR_PW(OCB, 1)
#define UKRPW_NV2(OCB) UKR_PW(OCB, 2)
#define UKRPW_NV3(OCB) UKR_PW(OCB, 3)
#define UKRPW_NV4(OCB) UKR_PW(OCB, 4)
#define PWPTR(OCB, NV) [OCB][NV] = ukrpw_##OCB##_##NV,
#define Q1(O) PWPTR(O, 1)
#define Q2(O) PWPTR(O, 2)
#define Q3(O) PWPTR(O, 3)
#define Q4(O) PWPTR(O, 4)
/* the same shapes as ukr_table */
DIRECT_UKR_SHAPES(UKRPW_NV1, UKRPW_NV2, UKRPW_NV3, UKRPW_NV4)
static const ukr_fn ukrpw_table[OCB_LIMIT + 1][NV_MAX + 1] = {DIRECT_UKR_SHAPES(Q1, Q2, Q3, Q4)};

/* Weights of channel block [o0, o0 + ocb) of group g for the pointwise kernels: k-th
 * row of ocb floats at *w + k * *ws. Forward: the packed block (ws = ocb). Backward-data:
 * engine weight (out c, in o) is weights[o][c] (OIHW with 1x1), so the rows are the OIHW
 * weights themselves (ws = C per group) and nothing is packed (see run_job). */
static inline void pw_weights(const job_t *j, int64_t g, int64_t o0, int64_t ocb,
                              const float **w, int64_t *ws) {
    if (j->bwd) {
        *w = j->weights + g * j->ci_g * j->co_g + o0;
        *ws = j->co_g;
    } else {
        *w = j->wpk + (g * j->co_g + o0) * j->ci_g;
        *ws = ocb;
    }
}

static void pw_task(void *p, int64_t t) {
    job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    int64_t n, g, rc, bc;
    task_coords(j, t, &n, &g, &rc, &bc);
    const int64_t b0 = bc * j->blocks_per_task;
    const int64_t b1 = imin(j->nblocks, b0 + j->blocks_per_task);
    const int64_t P = j->out_w;                  /* pixels of the flattened image */
    const int64_t K = j->ci_g;
    const int64_t in_ch = j->bwd ? d->oc : d->c; /* engine input channels in total */
    const int64_t out_ch = j->bwd ? d->c : d->oc;
    const float *in = j->in + (n * in_ch + g * K) * P;
    const int64_t span = (int64_t)j->nv * VL;
    float *panel =
        pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK, (size_t)(K * span) * sizeof(float) + 64);
    if (panel == NULL) {
        mark_failed(j);
        return;
    }
    static const int64_t zero_tap = 0;
    ukr_args a;
    a.in = panel;
    a.in_cstride = span;
    a.ci_count = K;
    a.tap_in = &zero_tap;
    a.tap_w = &zero_tap;
    a.ntaps = 1;
    a.out_ostride = P;
    a.in_vstride = VL;
    a.out_vstride = VL;
    a.mid = vmask_first(VL);
    for (int64_t x0 = 0; x0 < P; x0 += span) {
        const int64_t w = imin(span, P - x0);
        const int nvu = (int)ceil_div(w, VL);
        const vmask_t last = vmask_first(w - (int64_t)(nvu - 1) * VL);
        /* copy the K x w input panel (masked lanes become zeros, never read past a row) */
        for (int64_t k = 0; k < K; ++k) {
            const float *src = in + k * P + x0;
            float *dst = panel + k * span;
            for (int v = 0; v < nvu - 1; ++v) {
                VSTOREU(dst + v * VL, VLOADU(src + v * VL));
            }
            VSTOREU(dst + (nvu - 1) * VL, VLOADM(src + (nvu - 1) * VL, last));
        }
        a.last = last;
#ifdef PW_TAIL_MAX /* the vector layer has pwtail_table (AVX-512) */
        if (nvu == 1 && w <= PW_TAIL_MAX) { /* narrow tail: channels in lanes, two blocks */
            for (int64_t b = b0; b < b1; b += 2) {
                int64_t o0, ocb0, o1 = 0, ocb1 = 0;
                block_range(j, b, &o0, &ocb0);
                if (b + 1 < b1) {
                    block_range(j, b + 1, &o1, &ocb1);
                } else {
                    o1 = o0; /* no second block: mask 0, nothing loaded or stored */
                }
                const int64_t oc0 = g * j->co_g + o0, oc1 = g * j->co_g + o1;
                const float *w0, *w1;
                int64_t ws0, ws1;
                pw_weights(j, g, o0, ocb0, &w0, &ws0);
                pw_weights(j, g, o1, ocb1, &w1, &ws1);
                pwtail_table[w](panel, span, K, ws0, ws1, w0, ocb0, w1, ocb1,
                                j->bias != NULL ? j->bias + oc0 : NULL,
                                j->bias != NULL && ocb1 > 0 ? j->bias + oc1 : NULL,
                                j->out + (n * out_ch + oc0) * P + x0,
                                j->out + (n * out_ch + oc1) * P + x0, P);
            }
            continue;
        }
#endif
        for (int64_t b = b0; b < b1; ++b) {
            int64_t o0, ocb;
            block_range(j, b, &o0, &ocb);
            const int64_t oc = g * j->co_g + o0;
            pw_weights(j, g, o0, ocb, &a.w, &a.w_cstride);
            a.bias = j->bias != NULL ? j->bias + oc : NULL;
            a.out = j->out + (n * out_ch + oc) * P + x0;
            ukrpw_table[ocb][nvu](&a);
        }
    }
}

/* The flattened 1x1 case pw_task handles. */
static int is_pointwise(const job_t *j) {
    const pcnn_conv2d_desc *d = j->d;
    /* pad_top == 0: the one output row reads input row 0 (with top padding, e.g. a 1-row
     * input, pad_top 1, stride_h 3, it lies entirely in the padding: found by native/fuzz) */
    return j->kt == 1 && j->direct && d->oh == 1 && d->ih == 1 && d->stride_w == 1 &&
           d->pad_top == 0 && d->pad_left == 0 && d->pad_right == 0 && !j->rowmode &&
           j->nr <= 1;
}
