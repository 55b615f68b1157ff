/*
 * conv2d direct (forward / backward-data), part of the conv2d-direct.h template: the
 * micro-kernels. ukr_* accumulate a register tile of OCB output channels x NV vectors over
 * (input channel, tap); ukr2_* the 2-D variant (NR rows x NV vectors x OCB channels) for
 * small channel blocks. Everything else in the template only arranges pointers, masks
 * and tap lists for these functions, so they are the place to look for speed. Which
 * (OCB, NV) and (OCB, NR, NV) shapes exist is the vector layer's choice (its register
 * count): DIRECT_UKR_SHAPES, DIRECT_UKR2_OCBS / _NRS / _NVS in conv2d_direct-<isa>.c.
 */

/* ---------------------------------------------------------------------------------------
 * Micro-kernel: for j < OCB, v < NV, lanes i:
 *   out[j*out_ostride + v*out_vstride + i] = bias[j] +
 *       sum over ci, taps t of in[ci*in_cstride + tap_in[t] + v*in_vstride + i] * w[ci][t][j]
 * Normally the NV vectors are consecutive pixels of one row (vstrides = VL); for rows
 * narrower than a vector they are the same pixels of NV consecutive output rows. Vectors
 * 0 .. NV-2 are loaded whole (the caller guarantees those reads stay inside the buffer;
 * extra lanes are never stored) and stored with `mid`; the last vector is loaded and
 * stored with `last`.
 * ------------------------------------------------------------------------------------- */
typedef struct {
    const float *in;        /* input for channel 0 at the tile's first pixel */
    int64_t in_cstride;     /* floats between input channels */
    int64_t ci_count;       /* input channels to sum over */
    const int64_t *tap_in;  /* per tap: offset added to `in` */
    const int64_t *tap_w;   /* per tap: offset (k * OCB) into a channel's packed weights */
    int64_t ntaps;          /* may be 0: the tile is then bias (or zero) */
    const float *w;         /* packed weights of this block: [ci][k][OCB] */
    int64_t w_cstride;      /* kh * kw * OCB */
    float *out;             /* output channel 0 at the tile's first pixel */
    int64_t out_ostride;    /* floats between output channels */
    const float *bias;      /* OCB values, or NULL */
    int64_t in_vstride;     /* floats between the tile's vectors in the input (VL, or a row) */
    int64_t out_vstride;    /* floats between the tile's vectors in the output */
    vmask_t mid;            /* lanes stored for vectors 0 .. NV-2 */
    vmask_t last;           /* lanes loaded and stored for the last vector */
    const char *pf;         /* pointwise kernels only: one prefetch per input channel at (NULL: none) */
    int64_t pf_cstride;     /* pf + ci * pf_cstride bytes (see pw_task) */
} ukr_args;

typedef void (*ukr_fn)(const ukr_args *a);

/* One function per (OCB, NV). The accumulators must end up in registers: GCC does that
 * only if the loops over j and v are fully unrolled before its scalar-replacement pass,
 * hence the unroll pragmas (without them acc[][] is stored to the stack every tap). */
#define UNROLL_J _Pragma("GCC unroll 16")
#define UNROLL_V _Pragma("GCC unroll 4")
#define UKR(OCB, NV)                                                            \
    static void ukr_##OCB##_##NV(const ukr_args *a) {                           \
        vec_t acc[OCB][NV];                                                     \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            UNROLL_V for (int v = 0; v < NV; ++v) {                             \
                acc[j][v] = VZERO();                                            \
            }                                                                   \
        }                                                                       \
        const int64_t ntaps = a->ntaps;                                         \
        const int64_t *tap_in = a->tap_in;                                      \
        const int64_t *tap_w = a->tap_w;                                        \
        const vmask_t last = a->last;                                           \
        const int64_t in_vs = a->in_vstride;                                    \
        for (int64_t ci = 0; ci < a->ci_count; ++ci) {                          \
            const float *ip = a->in + ci * a->in_cstride;                       \
            const float *wp = a->w + ci * a->w_cstride;                         \
            for (int64_t t = 0; t < ntaps; ++t) {                               \
                const float *p = ip + tap_in[t];                                \
                const float *q = wp + tap_w[t];                                 \
                vec_t x[NV];                                                    \
                UNROLL_V for (int v = 0; v < NV - 1; ++v) {                     \
                    x[v] = VLOADU(p + v * in_vs);                               \
                }                                                               \
                x[NV - 1] = VLOADM(p + (NV - 1) * in_vs, last);                 \
                UNROLL_J for (int j = 0; j < OCB; ++j) {                        \
                    const vec_t b = VSET1(q[j]);                                \
                    UNROLL_V for (int v = 0; v < NV; ++v) {                     \
                        acc[j][v] = VFMA(b, x[v], acc[j][v]);                   \
                    }                                                           \
                }                                                               \
            }                                                                   \
        }                                                                       \
        /* + bias after the sum, like the scalar kernel. Adding +0.0f without   \
         * bias keeps the scalar's "0.0f + ..." result for all -0.0f sums. */   \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            float *o = a->out + j * a->out_ostride;                             \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();      \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                VSTOREM(o + v * a->out_vstride, a->mid, VADD(acc[j][v], b));    \
            }                                                                   \
            VSTOREM(o + (NV - 1) * a->out_vstride, last, VADD(acc[j][NV - 1], b)); \
        }                                                                       \
    }

#define UKR_NV1(OCB) UKR(OCB, 1)
#define UKR_NV2(OCB) UKR(OCB, 2)
#define UKR_NV3(OCB) UKR(OCB, 3)
#define UKR_NV4(OCB) UKR(OCB, 4)
#define PTR(OCB, NV) [OCB][NV] = ukr_##OCB##_##NV,

#define FOR_1_TO_3(M) M(1) M(2) M(3)
#define FOR_1_TO_4(M) M(1) M(2) M(3) M(4)
#define FOR_1_TO_6(M) FOR_1_TO_4(M) M(5) M(6)
#define FOR_1_TO_8(M) FOR_1_TO_6(M) M(7) M(8)
#define FOR_1_TO_12(M) FOR_1_TO_8(M) M(9) M(10) M(11) M(12)
#define FOR_1_TO_16(M) FOR_1_TO_12(M) M(13) M(14) M(15) M(16)

/* the shapes the vector layer asks for (DIRECT_UKR_SHAPES: OCB = 1 .. ocb_max_for_nv[NV]) */
DIRECT_UKR_SHAPES(UKR_NV1, UKR_NV2, UKR_NV3, UKR_NV4)
#define P1(O) PTR(O, 1)
#define P2(O) PTR(O, 2)
#define P3(O) PTR(O, 3)
#define P4(O) PTR(O, 4)
static const ukr_fn ukr_table[OCB_LIMIT + 1][NV_MAX + 1] = {DIRECT_UKR_SHAPES(P1, P2, P3, P4)};

/* 2-D micro-kernel for small channel blocks (e.g. backward-data of a 1- or 3-channel
 * input, where OCB x NV alone is 2..6 accumulators and the FMA latency, not the
 * throughput, would bound the loop): NR output rows x NV vectors x OCB channels.
 * Vector (r, v) is at in + r*in_vstride + v*VL (output: out + r*out_vstride + v*VL);
 * vectors v < NV-1 are whole, each row's last vector is loaded and stored with `last`,
 * so nothing outside the rows' [0, width) is read or written. Summation order per pixel:
 * tap, then input channel (the channel loop is innermost: it only steps two pointers,
 * where the tap loop would reload two offsets and recompute NR row addresses per FMA
 * group), then + bias. A job that uses 2-D tiles uses them for every tile, single rows
 * included (NR = 1), so every pixel gets the same sequence whatever the task split. */
#define UNROLL_R _Pragma("GCC unroll 6")
#define ROWS_MAX (NR_MAX > NV_MAX ? NR_MAX : NV_MAX) /* rows of the backward phase buffer */
#define UKR2(OCB, NR, NV)                                                          \
    static void ukr2_##OCB##_##NR##_##NV(const ukr_args *a) {                      \
        vec_t acc[OCB][NR][NV];                                                    \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                UNROLL_V for (int v = 0; v < NV; ++v) {                            \
                    acc[j][r][v] = VZERO();                                        \
                }                                                                  \
            }                                                                      \
        }                                                                          \
        const int64_t ntaps = a->ntaps;                                            \
        const int64_t *tap_in = a->tap_in;                                         \
        const int64_t *tap_w = a->tap_w;                                           \
        const vmask_t last = a->last;                                              \
        const int64_t in_rs = a->in_vstride;                                       \
        const int64_t in_cs = a->in_cstride, w_cs = a->w_cstride;                  \
        const int64_t cic = a->ci_count;                                           \
        for (int64_t t = 0; t < ntaps; ++t) {                                      \
            const float *p = a->in + tap_in[t];                                    \
            const float *q = a->w + tap_w[t];                                      \
            for (int64_t ci = 0; ci < cic; ++ci, p += in_cs, q += w_cs) {          \
                vec_t x[NR][NV];                                                   \
                UNROLL_R for (int r = 0; r < NR; ++r) {                            \
                    UNROLL_V for (int v = 0; v < NV - 1; ++v) {                    \
                        x[r][v] = VLOADU(p + r * in_rs + v * VL);                  \
                    }                                                              \
                    x[r][NV - 1] = VLOADM(p + r * in_rs + (NV - 1) * VL, last);    \
                }                                                                  \
                UNROLL_J for (int j = 0; j < OCB; ++j) {                           \
                    const vec_t b = VSET1(q[j]);                                   \
                    UNROLL_R for (int r = 0; r < NR; ++r) {                        \
                        UNROLL_V for (int v = 0; v < NV; ++v) {                    \
                            acc[j][r][v] = VFMA(b, x[r][v], acc[j][r][v]);         \
                        }                                                          \
                    }                                                              \
                }                                                                  \
            }                                                                      \
        }                                                                          \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            float *o = a->out + j * a->out_ostride;                                \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();         \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                float *orow = o + r * a->out_vstride;                              \
                UNROLL_V for (int v = 0; v < NV - 1; ++v) {                        \
                    VSTOREU(orow + v * VL, VADD(acc[j][r][v], b));                 \
                }                                                                  \
                VSTOREM(orow + (NV - 1) * VL, last, VADD(acc[j][r][NV - 1], b));   \
            }                                                                      \
        }                                                                          \
    }

/* every (OCB, NR, NV) the vector layer lists (DIRECT_UKR2_OCBS / _NRS / _NVS) */
#define UKR2_NV(OCB, NR) DIRECT_UKR2_NVS(UKR2, OCB, NR)
#define PTR2_ONE(OCB, NR, NV) [OCB][NR][NV] = ukr2_##OCB##_##NR##_##NV,
#define PTR2(OCB, NR) DIRECT_UKR2_NVS(PTR2_ONE, OCB, NR)
#define UKR2_ALL(O) DIRECT_UKR2_NRS(UKR2_NV, O)
#define PTR2_ALL(O) DIRECT_UKR2_NRS(PTR2, O)
DIRECT_UKR2_OCBS(UKR2_ALL)
static const ukr_fn ukr2_table[OCB2_MAX + 1][NR_MAX + 1][NV_MAX + 1] = {
    DIRECT_UKR2_OCBS(PTR2_ALL)};

/* Rows of a 2-D tile for a block of ocb channels and nv vectors per row (0: no 2-D
 * tiles, the 1-D tile has enough accumulators). */
static int choose_nr(int64_t ocb, int nv) {
    if (ocb > OCB2_MAX || ocb * nv * 2 > ACC2_MAX) {
        return 0;
    }
    int nr = 0;
    for (int r = 2; r <= NR_MAX; ++r) {
        if (ocb * r * nv <= ACC2_MAX && (ocb + 1) * r * nv <= REG2_MAX) {
            nr = r;
        }
    }
    return nr;
}

/* Row tiles (when the vector layer defines UKRR_NR): NR output rows x 2 vectors x OCB
 * channels, for rows of 17..32 pixels (forward, and backward-data at stride 1; first
 * written for the RGB first layers on 32x32, then taken for any channel count: mid, see
 * direct/README.md). Per tap 2*NR input vectors and OCB weight broadcasts feed 2*NR*OCB FMAs: 4 + 6 for
 * 24 at NR = 2, where the one-row ukr_11_2 needs 2 + 11 for 22. Measured (AVX-512, 1 thread,
 * same-process A/B, n = 32, 3x3 pad 1 on 32x32, median of 61 alternations, repeated):
 * 3 -> 16 1.05-1.07x, 3 -> 32 1.00-1.04x, 3 -> 64 1.05-1.10x. Tried and dropped: 3 rows x
 * 4 channels (6 + 4 for 24) 0.93-0.95x on 3 -> 32; folding every broadcast into its FMA as a
 * {1to16} memory operand made ukr_11_2 0.75x. Vector (r, v) is at in + r*in_vstride + v*VL
 * (out: out + r*out_vstride + v*VL); each row's last vector is loaded and stored with
 * `last`. Summation order per pixel as in ukr_*: input channel, then tap, then + bias, so a
 * 1-row remainder runs ukr_OCB_2 and every pixel gets the same bits as before (and as the
 * small-channel path). */
#ifdef UKRR_NR
#define UKRR(OCB, NR, PF, NAME)                                                    \
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
        const vmask_t last = a->last;                                              \
        const int64_t in_rs = a->in_vstride;                                       \
        /* PF: the tile's input span in one channel, [pf_lo, pf_hi) */             \
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
                    PCNN_PREFETCH_AT(pp, o); /* may pass the buffer end */         \
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
        float *const out = a->out;                                                 \
        const float *const bias = a->bias;                                         \
        const int64_t os = a->out_ostride, ors = a->out_vstride;                   \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                   \
            const vec_t b = bias != NULL ? VSET1(bias[j]) : VZERO();               \
            UNROLL_R for (int r = 0; r < NR; ++r) {                                \
                float *o = out + j * os + r * ors;                                 \
                VSTOREU(o, VADD(acc[j][r][0], b));                                 \
                VSTOREM(o + VL, last, VADD(acc[j][r][1], b));                      \
            }                                                                      \
        }                                                                          \
    }
#define UKRR_ALL(O) UKRR(O, 2, 0, ukrr) UKRR(O, 2, 1, ukrr_pf)
#define PTRR(O) [O][2] = ukrr_##O##_2,
#define PTRR_PF(O) [O][2] = ukrr_pf_##O##_2,
FOR_1_TO_6(UKRR_ALL)
static const ukr_fn ukrr_table[UKRR_OCB + 1][UKRR_NR + 1] = {FOR_1_TO_6(PTRR)};
/* the same tiles prefetching the next input channel's lines of the tile once per channel
 * (backward-data on planes whose tiles' input exceeds 24 KB; measured on mid before its copy
 * was interleaved, which needs none: see direct/README-mid-bwd-data.md, "mid backward-data:
 * the copy as vector stores, next-channel prefetch" and "... rows interleaved"); a separate
 * set, so that the tiles without it keep their code (with a run-time flag forward mid
 * measured 1.02x slower) */
static const ukr_fn ukrr_pf_table[UKRR_OCB + 1][UKRR_NR + 1] = {FOR_1_TO_6(PTRR_PF)};
#endif
