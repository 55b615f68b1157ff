/*
 * conv2d direct, part of the conv2d-direct.h template (included by direct/backward_data.h):
 * backward-data row tiles whose diff_dst channels are summed in chunks (ukrr_ci_*).
 *
 * Why: on mid (64 diff_dst channels, rows of 33 floats in the padded copy) a 2-row tile's
 * input, every channel's 4 rows, is ~34 KB, which with the block's weights does not stay in
 * the 48 KB L1 across the channel loop. Summing channels [k0, k0 + kc) for every tile of the
 * image, then the next chunk, keeps a tile's input at ~17 KB (forward mid, 32 channels, runs
 * its tiles at ~91% of the FMA peak). The partial sums go through diff_src: the chunk's
 * first FMA continues from the stored value, so each pixel's FMA sequence (channel, then tap)
 * is the unsplit tile's and the bits do not change. See direct/README.md, "mid
 * backward-data: channel chunks".
 *
 * ukrr_ci_<MODE>_<OCB>: NR = UKRR_NR rows x 2 vectors x OCB channels as ukrr_* (microkernels.h);
 * MODE 0: first chunk (accumulators from zero, raw sums stored), 1: middle chunk (from the
 * stored sums, raw sums stored), 2: last chunk (from the stored sums, + bias or +0.0f as
 * ukrr_*). Raw and "+0.0f" stores differ only for -0.0f sums, which a sum starting at +0.0f
 * never is before its end either way.
 */
#ifdef UKRR_NR
#ifndef PFLOC
#define PFLOC 2
#endif
#define UKRR_CI(OCB, MODE, PF)                                                         \
    static void ukrr_ci_##MODE##_##OCB(const ukr_args *a) {                        \
        enum { NR = UKRR_NR };                                                     \
        vec_t acc[OCB][NR][2];                                                     \
        float *const out = a->out;                                                 \
        const int64_t os = a->out_ostride, ors = a->out_vstride;                   \
        const vmask_t last = a->last;                                              \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                const float *o = out + j * os + r * ors;                           \
                acc[j][r][0] = MODE == 0 || MODE == 3 ? VZERO() : VLOADU(o);                    \
                acc[j][r][1] = MODE == 0 || MODE == 3 ? VZERO() : VLOADM(o + VL, last);         \
            }                                                                      \
        }                                                                          \
        const int64_t ntaps = a->ntaps;                                            \
        const int64_t *tap_in = a->tap_in;                                         \
        const int64_t *tap_w = a->tap_w;                                           \
        const int64_t in_rs = a->in_vstride;                                       \
        /* the tile's input span in one channel, [pf_lo, pf_hi), as ukrr_pf_* */   \
        int64_t pf_lo = 0, pf_hi = 0;                                              \
        for (int64_t t = 0; t < ntaps; ++t) {                                      \
            pf_lo = t == 0 || tap_in[t] < pf_lo ? tap_in[t] : pf_lo;               \
            pf_hi = t == 0 || tap_in[t] > pf_hi ? tap_in[t] : pf_hi;               \
        }                                                                          \
        pf_hi += (NR - 1) * in_rs + 2 * VL;                                        \
        if (a->pf_cstride == 1) { /* probe: only the rows the previous tile lacked */ \
            const int64_t from = pf_hi - NR * in_rs - VL;                          \
            pf_lo = from > pf_lo ? from : pf_lo;                                   \
        }                                                                          \
        for (int64_t ci = 0; ci < a->ci_count; ++ci) {                             \
            const float *ip = a->in + ci * a->in_cstride;                          \
            const float *wp = a->w + ci * a->w_cstride;                            \
            if (a->pf != NULL) { /* one line of the next image per channel */       \
                __builtin_prefetch(a->pf + ci * 64, 0, PFLOC);                     \
            }                                                                      \
            if (PF && ci + 1 < a->ci_count) { /* the next channel's lines */        \
                const float *pp = ip + a->in_cstride;                              \
                for (int64_t o = pf_lo; o < pf_hi; o += 16) {                      \
                    __builtin_prefetch(pp + o);                                    \
                }                                                                  \
            }                                                                      \
            for (int64_t t = 0; t < ntaps; ++t) {                                  \
                const float *p = ip + tap_in[t];                                   \
                const float *q = wp + tap_w[t];                                    \
                vec_t x[NR][2];                                                    \
                UNROLL_R for (int r = 0; r < NR; ++r) {                            \
                    x[r][0] = VLOADU(p + r * in_rs);                               \
                    x[r][1] = VLOADM(p + r * in_rs + VL, last);                    \
                }                                                                  \
                UNROLL_J for (int j = 0; j < OCB; ++j) {                           \
                    const vec_t b = VSET1(q[j]);                                   \
                    UNROLL_R for (int r = 0; r < NR; ++r) {                        \
                        acc[j][r][0] = VFMA(b, x[r][0], acc[j][r][0]);             \
                        acc[j][r][1] = VFMA(b, x[r][1], acc[j][r][1]);             \
                    }                                                              \
                }                                                                  \
            }                                                                      \
        }                                                                          \
        const float *const bias = a->bias;                                         \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            const vec_t b = bias != NULL ? VSET1(bias[j]) : VZERO();               \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                float *o = out + j * os + r * ors;                                 \
                VSTOREU(o, MODE >= 2 ? VADD(acc[j][r][0], b) : acc[j][r][0]);      \
                VSTOREM(o + VL, last,                                              \
                        MODE >= 2 ? VADD(acc[j][r][1], b) : acc[j][r][1]);         \
            }                                                                      \
        }                                                                          \
    }
#define UKRR_CI_ALL(O) UKRR_CI(O, 0, 1) UKRR_CI(O, 1, 1) UKRR_CI(O, 2, 1) UKRR_CI(O, 3, 1)
#define PTRR_CI(O) [0][O] = ukrr_ci_0_##O, [1][O] = ukrr_ci_1_##O, [2][O] = ukrr_ci_2_##O, [3][O] = ukrr_ci_3_##O,
FOR_1_TO_6(UKRR_CI_ALL)
static const ukr_fn ukrr_ci_table[4][UKRR_OCB + 1] = {FOR_1_TO_6(PTRR_CI)};
#endif
