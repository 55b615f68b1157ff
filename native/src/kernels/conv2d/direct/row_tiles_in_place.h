/*
 * conv2d direct, part of the conv2d-direct.h template: backward-data row tiles that read
 * diff_dst in place (ukrr_ip_*), instead of from the zero-padded copy the other row tiles
 * (ukrr_*, direct/microkernels.h) read. Only where the vector layer has row tiles
 * (UKRR_NR) and says its masked loads never touch masked-off lanes (UKRR_IN_PLACE).
 *
 * Why: on mid (64 -> 32 channels, 32x32) the padded copy is ~6-7% of the backward-data
 * pass (direct/README.md, "mid backward-data"). Lanes run along a diff_src row; tap (ky, kx)
 * reads diff_dst row iy + pt - ky*dh, columns u + pl - kx*dw: at the row's ends some lanes
 * fall outside [0, ow), and at the top / bottom some rows fall outside [0, oh). The copy
 * put zeros there; here every tap carries per-row lane masks (tap_mask), built with the
 * tap list, and a masked-off lane loads 0 without reading memory (a wholly masked row of
 * the vertical padding reads nothing at all). So each pixel gets the same FMA sequence
 * with the same values as from the copy (input channel, then tap, the padding taps adding
 * exact zeros): bit-identical to the copy's tiles and to ukr_OCB_2 for 1-row remainders.
 */
#if defined(UKRR_NR) && defined(UKRR_IN_PLACE)
/* masks per tap: [tap][row < UKRR_NR][vector 0 / 1] */
#define IP_MASKS_PER_TAP (2 * UKRR_NR)
/* tiles of lookahead for the first block's prefetch of diff_dst rows (ip_prefetch_rows) */
#ifndef IP_AHEAD
#define IP_AHEAD 2
#endif

/* NR rows x 2 vectors x OCB channels; vector (r, v) of tap t is loaded at
 * in + ci*in_cstride + tap_in[t] + r*in_vstride + v*VL with lanes tap_mask[t][r][v]. PF:
 * the next input channel's span of the tile asked for once per channel, as ukrr_pf_*. */
#define UKRR_IP(OCB, NR, PF, NAME)                                                 \
    static void NAME##_##OCB##_##NR(const ukr_args *a) {                           \
        vec_t acc[OCB][NR][2];                                                     \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                acc[j][r][0] = VZERO();                                            \
                acc[j][r][1] = VZERO();                                            \
            }                                                                      \
        }                                                                          \
        const int64_t ntaps = a->ntaps;                                            \
        const int64_t *tap_in = a->tap_in;                                         \
        const int64_t *tap_w = a->tap_w;                                           \
        const vmask_t *tap_mask = a->tap_mask;                                     \
        const int64_t in_rs = a->in_vstride;                                       \
        int64_t pf_lo = 0, pf_hi = 0, pf_ci = PF ? a->ci_count - 1 : 0;             \
        for (int64_t t = 0; t < ntaps && pf_ci > 0; ++t) {                         \
            pf_lo = t == 0 || tap_in[t] < pf_lo ? tap_in[t] : pf_lo;               \
            pf_hi = t == 0 || tap_in[t] > pf_hi ? tap_in[t] : pf_hi;               \
        }                                                                          \
        pf_hi += (NR - 1) * in_rs + 2 * VL;                                        \
        for (int64_t ci = 0; ci < a->ci_count; ++ci) {                             \
            const float *ip = a->in + ci * a->in_cstride;                          \
            const float *wp = a->w + ci * a->w_cstride;                            \
            if (ci < pf_ci) { /* one prefetch per 64 bytes of the next channel */   \
                const float *pp = ip + a->in_cstride;                              \
                for (int64_t o = pf_lo; o < pf_hi; o += 16) {                      \
                    __builtin_prefetch(pp + o);                                    \
                }                                                                  \
            }                                                                      \
            for (int64_t t = 0; t < ntaps; ++t) {                                  \
                const float *p = ip + tap_in[t];                                   \
                const float *q = wp + tap_w[t];                                    \
                const vmask_t *m = tap_mask + t * IP_MASKS_PER_TAP;                \
                vec_t x[NR][2];                                                    \
                UNROLL_R for (int r = 0; r < NR; ++r) {                            \
                    x[r][0] = VLOADM(p + r * in_rs, m[2 * r]);                     \
                    x[r][1] = VLOADM(p + r * in_rs + VL, m[2 * r + 1]);            \
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
        float *const out = a->out;                                                 \
        const int64_t os = a->out_ostride, ors = a->out_vstride;                   \
        const vmask_t last = a->last;                                              \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                float *o = out + j * os + r * ors;                                 \
                VSTOREU(o, VADD(acc[j][r][0], VZERO()));                           \
                VSTOREM(o + VL, last, VADD(acc[j][r][1], VZERO()));                \
            }                                                                      \
        }                                                                          \
    }
#define UKRR_IP_ALL(O)                                                             \
    UKRR_IP(O, 1, 0, ukrr_ip) UKRR_IP(O, 2, 0, ukrr_ip) UKRR_IP(O, 1, 1, ukrr_ip_pf)   \
        UKRR_IP(O, 2, 1, ukrr_ip_pf)
#define PTRR_IP(O) [O][1] = ukrr_ip_##O##_1, [O][2] = ukrr_ip_##O##_2,
#define PTRR_IP_PF(O) [O][1] = ukrr_ip_pf_##O##_1, [O][2] = ukrr_ip_pf_##O##_2,
FOR_1_TO_6(UKRR_IP_ALL)
static const ukr_fn ukrr_ip_table[UKRR_OCB + 1][UKRR_NR + 1] = {FOR_1_TO_6(PTRR_IP)};
static const ukr_fn ukrr_ip_pf_table[UKRR_OCB + 1][UKRR_NR + 1] = {FOR_1_TO_6(PTRR_IP_PF)};

/* The masks of one tap for rows 0 .. UKRR_NR-1 of a tile whose row 0 reads diff_dst row yy
 * at columns qx + u, u < uw (uw in (VL, 2*VL]): lanes inside [0, ow) x [0, oh), and for
 * vector 1 only the uw - VL pixels of the row (the stores' `last`). */
static inline void ip_tap_masks(vmask_t *m, int64_t yy, int64_t qx, int64_t oh, int64_t ow,
                                int64_t uw) {
    const vmask_t m0 = vmask_range(qx, ow);
    const vmask_t m1 = vmask_range(VL + qx, ow) & vmask_first(uw - VL);
    for (int r = 0; r < UKRR_NR; ++r) {
        const int in = yy + r >= 0 && yy + r < oh;
        m[2 * r] = in ? m0 : (vmask_t)0;
        m[2 * r + 1] = in ? m1 : (vmask_t)0;
    }
}

/* diff_dst rows [lo, hi) of every channel (clipped to the plane) asked into L2: the first
 * block of a task runs ahead of them, since without the copy nothing else streams diff_dst
 * in (the tiles' next-channel prefetch is too close for lines from L3 / memory). */
static inline void ip_prefetch_rows(const float *dd, int64_t channels, int64_t oh, int64_t ow,
                                    int64_t lo, int64_t hi) {
    lo = imax(0, lo);
    hi = imin(oh, hi);
    if (hi <= lo) {
        return;
    }
    const int64_t n = (hi - lo) * ow;
    for (int64_t ci = 0; ci < channels; ++ci) {
        const float *p = dd + ci * oh * ow + lo * ow;
        for (int64_t k = 0; k < n; k += 16) {
            __builtin_prefetch(p + k, 0, 2);
        }
        __builtin_prefetch(p + n - 1, 0, 2);
    }
}
#endif
