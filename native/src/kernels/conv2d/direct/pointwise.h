/*
 * conv2d direct, part of the conv2d-direct.h template: 1x1, stride 1, no padding (a GEMM per
 * image), forward and backward-data: pixel tiles outer with an L1-resident input panel
 * (pw_task), tap-free micro-kernels (ukrpw_*; ukrpwc_* for a tile's first block, which fills
 * the panel; ukrpws_* for tiles that straddle two images, ukrpwcs_* for their first block),
 * and on AVX-512 a channels-in-lanes kernel for a row tail of <= 8 pixels (pwtail_*).
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
/* one input channel of PW_ACCUMULATE_FROM: load (and with COPY store to the panel) the
 * NV input vectors at p, FMA them with the OCB weight broadcasts q[j] */
#define PW_CHANNEL(OCB, NV, COPY)                                               \
            vec_t x[NV];                                                        \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                x[v] = VLOADU(p + v * VL);                                      \
            }                                                                   \
            x[NV - 1] = VLOADM(p + (NV - 1) * VL, last);                        \
            if (COPY) {                                                         \
                UNROLL_V for (int v = 0; v < NV; ++v) {                         \
                    VSTOREU(pc + v * VL, x[v]);                                 \
                }                                                               \
                pc += pcs;                                                      \
            }                                                                   \
            UNROLL_J for (int j = 0; j < OCB; ++j) {                            \
                const vec_t b = VSET1(q[j]);                                    \
                UNROLL_V for (int v = 0; v < NV; ++v) {                         \
                    acc[j][v] = VFMA(b, x[v], acc[j][v]);                       \
                }                                                               \
            }
/* The pointwise kernels' shared body: acc[OCB][NV] = sum over the input channels (ascending
 * from 0) of the weight broadcasts times the NV input vectors (the last one masked by
 * a->last); leaves acc and last in scope for the caller's stores. The input rows are SRC,
 * SRC_CS floats apart; with COPY (a constant) each channel's input vectors are also stored
 * to the panel a->in (a->in_cstride apart, masked lanes as zeros): see ukrpwc_*. One
 * prefetch per channel at a->pf + ci * a->pf_cstride (see pw_task), none with a->pf NULL
 * (the loop twice: a per-channel branch or a dummy prefetch of one line K times would
 * cost an instruction per channel either way). */
#define PW_ACCUMULATE_FROM(OCB, NV, SRC, SRC_CS, COPY)                          \
        vec_t acc[OCB][NV];                                                     \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            UNROLL_V for (int v = 0; v < NV; ++v) {                             \
                acc[j][v] = VZERO();                                            \
            }                                                                   \
        }                                                                       \
        const vmask_t last = a->last;                                           \
        const int64_t cs = (SRC_CS);                                            \
        const float *p = (SRC);                                                 \
        float *pc = (float *)a->in;                                             \
        const int64_t pcs = a->in_cstride;                                      \
        const float *q = a->w;                                                  \
        const int64_t ws = a->w_cstride;                                        \
        const char *pf = a->pf;                                                 \
        const int64_t pfs = a->pf_cstride;                                      \
        if (pf != NULL) {                                                       \
            for (int64_t ci = a->ci_count; ci > 0; --ci, p += cs, q += ws, pf += pfs) { \
                __builtin_prefetch(pf, 0, 2);                                   \
                PW_CHANNEL(OCB, NV, COPY)                                       \
            }                                                                   \
        } else {                                                                \
            for (int64_t ci = a->ci_count; ci > 0; --ci, p += cs, q += ws) {    \
                PW_CHANNEL(OCB, NV, COPY)                                       \
            }                                                                   \
        }                                                                       \
        (void)pc;                                                               \
        (void)pcs;
#define PW_ACCUMULATE(OCB, NV) PW_ACCUMULATE_FROM(OCB, NV, a->in, a->in_cstride, 0)

/* The pointwise kernels' stores: acc (+ bias) to out, the last vector masked */
#define PW_STORE(OCB, NV)                                                       \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            float *o = a->out + j * a->out_ostride;                             \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();      \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                         \
                VSTOREU(o + v * VL, VADD(acc[j][v], b));                        \
            }                                                                   \
            VSTOREM(o + (NV - 1) * VL, last, VADD(acc[j][NV - 1], b));          \
        }

/* Pointwise micro-kernel: the UKR tile with a single tap at offset 0 and weights
 * w[ci * w_cstride + j] (the packed block, w_cstride = OCB, or for backward-data the OIHW
 * weights themselves, w_cstride = C), written with stepped pointers: per input channel
 * the generic loop spends two index loads, two multiplies and an inner-loop branch
 * (measured ~7% on the 196-pixel 1x1 layer). Same arithmetic per pixel as UKR (fma over
 * channels ascending from 0, then + bias). */
#define UKR_PW(OCB, NV)                                                         \
    static void ukrpw_##OCB##_##NV(const ukr_args *a) {                         \
        PW_ACCUMULATE(OCB, NV)                                                  \
        PW_STORE(OCB, NV)                                                       \
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

/* The same kernels for a tile's first block, reading the input rows in place (src, src_cs
 * floats apart) and filling the panel a->in as they go: the separate panel copy before
 * the blocks waited on its loads (the rows come from L2 / L3; ~11 % of pw1x1 forward and
 * backward-data in a profile), while here the loads overlap the FMAs of the same loop.
 * Same values in the panel and the same sums as copy-then-ukrpw_*. */
typedef void (*ukrpwc_fn)(const ukr_args *a, const float *src, int64_t src_cs);
#define UKR_PWC(OCB, NV)                                                        \
    static void ukrpwc_##OCB##_##NV(const ukr_args *a, const float *src,        \
                                    int64_t src_cs) {                           \
        PW_ACCUMULATE_FROM(OCB, NV, src, src_cs, 1)                             \
        PW_STORE(OCB, NV)                                                       \
    }
#define UKRPWC_NV1(OCB) UKR_PWC(OCB, 1)
#define UKRPWC_NV2(OCB) UKR_PWC(OCB, 2)
#define UKRPWC_NV3(OCB) UKR_PWC(OCB, 3)
#define UKRPWC_NV4(OCB) UKR_PWC(OCB, 4)
#define PWCPTR(OCB, NV) [OCB][NV] = ukrpwc_##OCB##_##NV,
#define C1(O) PWCPTR(O, 1)
#define C2(O) PWCPTR(O, 2)
#define C3(O) PWCPTR(O, 3)
#define C4(O) PWCPTR(O, 4)
DIRECT_UKR_SHAPES(UKRPWC_NV1, UKRPWC_NV2, UKRPWC_NV3, UKRPWC_NV4)
static const ukrpwc_fn ukrpwc_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    DIRECT_UKR_SHAPES(C1, C2, C3, C4)};

/* The same kernels for a tile that straddles two images (see pw_tile): lane x of the tile
 * goes to out + x where mask ma has it, else to out_b + x (out_b = image n+1's pixel 0
 * minus the lanes in image n), both rows out_ostride apart; only the vector holding the
 * boundary takes two masked stores (two masked stores for every vector measured ~1 %
 * slower on the 196-pixel layer). Stored from the registers: going through a buffer and
 * copying out measured slower (the copy's loads straddled the kernel's pending stores). */
typedef struct {
    float *out_b;
    vmask_t ma[NV_MAX], mb[NV_MAX];
    int kind[NV_MAX]; /* vector v: 0 all lanes to out, 1 all to out_b, 2 split (masks) */
} pw_split;
typedef void (*ukrpws_fn)(const ukr_args *a, const pw_split *s);
/* acc[OCB][NV] + bias stored through the split s (both straddling kernels end with it) */
#define PW_SPLIT_STORE(OCB, NV)                                                 \
    UNROLL_J for (int j = 0; j < OCB; ++j) {                                    \
        float *o = a->out + j * a->out_ostride;                                 \
        float *ob = s->out_b + j * a->out_ostride;                              \
        const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();          \
        UNROLL_V for (int v = 0; v < NV; ++v) {                                 \
            const vec_t r = VADD(acc[j][v], b);                                 \
            if (s->kind[v] == 0) {                                              \
                VSTOREU(o + v * VL, r);                                         \
            } else if (s->kind[v] == 1) {                                       \
                VSTOREU(ob + v * VL, r);                                        \
            } else {                                                            \
                VSTOREM(o + v * VL, s->ma[v], r);                               \
                VSTOREM(ob + v * VL, s->mb[v], r);                              \
            }                                                                   \
        }                                                                       \
    }
#define UKR_PWS(OCB, NV)                                                        \
    static void ukrpws_##OCB##_##NV(const ukr_args *a, const pw_split *s) {     \
        PW_ACCUMULATE(OCB, NV)                                                  \
        PW_SPLIT_STORE(OCB, NV)                                                 \
    }
#define UKRPWS_NV1(OCB) UKR_PWS(OCB, 1)
#define UKRPWS_NV2(OCB) UKR_PWS(OCB, 2)
#define UKRPWS_NV3(OCB) UKR_PWS(OCB, 3)
#define UKRPWS_NV4(OCB) UKR_PWS(OCB, 4)
#define PWSPTR(OCB, NV) [OCB][NV] = ukrpws_##OCB##_##NV,
#define S1(O) PWSPTR(O, 1)
#define S2(O) PWSPTR(O, 2)
#define S3(O) PWSPTR(O, 3)
#define S4(O) PWSPTR(O, 4)
DIRECT_UKR_SHAPES(UKRPWS_NV1, UKRPWS_NV2, UKRPWS_NV3, UKRPWS_NV4)
static const ukrpws_fn ukrpws_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    DIRECT_UKR_SHAPES(S1, S2, S3, S4)};

/* A straddling tile's first block with the panel copy fused, as ukrpwc_* for whole-image
 * tiles: lane x of channel ci comes from src_a + ci * src_cs + x where s->ma has it, else
 * from src_b + ci * src_cs + x (image n+1's pixel 0 minus the lanes in image n), two
 * zero-masked loads added (disjoint lanes: the sum is the one value, or +0 for a -0, which
 * no output can tell: the accumulators start at +0 and never become -0), stored to the
 * panel, FMAs as ukrpw_*; stores as ukrpws_*. The separate copy (pw_copy) was ~3 % of
 * pw1x1 forward (7 of its 49 tiles straddle). */
typedef void (*ukrpwcs_fn)(const ukr_args *a, const float *src_a, const float *src_b,
                           int64_t src_cs, const pw_split *s);
#define UKR_PWCS(OCB, NV)                                                       \
    static void ukrpwcs_##OCB##_##NV(const ukr_args *a, const float *src_a,     \
                                     const float *src_b, int64_t src_cs,        \
                                     const pw_split *s) {                       \
        vec_t acc[OCB][NV];                                                     \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                \
            UNROLL_V for (int v = 0; v < NV; ++v) {                             \
                acc[j][v] = VZERO();                                            \
            }                                                                   \
        }                                                                       \
        const float *p = src_a, *pb = src_b;                                    \
        float *pc = (float *)a->in;                                             \
        const int64_t pcs = a->in_cstride;                                      \
        const float *q = a->w;                                                  \
        const int64_t ws = a->w_cstride;                                        \
        const char *pf = a->pf;                                                 \
        const int64_t pfs = a->pf_cstride;                                      \
        vmask_t ma[NV], mb[NV];                                                 \
        UNROLL_V for (int v = 0; v < NV; ++v) {                                 \
            ma[v] = s->ma[v];                                                   \
            mb[v] = s->mb[v];                                                   \
        }                                                                       \
        for (int64_t ci = a->ci_count; ci > 0; --ci, p += src_cs, pb += src_cs, \
                     q += ws, pc += pcs) {                                      \
            if (pf != NULL) {                                                   \
                __builtin_prefetch(pf, 0, 2);                                   \
                pf += pfs;                                                      \
            }                                                                   \
            vec_t x[NV];                                                        \
            UNROLL_V for (int v = 0; v < NV; ++v) {                             \
                x[v] = VADD(VLOADM(p + v * VL, ma[v]), VLOADM(pb + v * VL, mb[v])); \
                VSTOREU(pc + v * VL, x[v]);                                     \
            }                                                                   \
            UNROLL_J for (int j = 0; j < OCB; ++j) {                            \
                const vec_t b = VSET1(q[j]);                                    \
                UNROLL_V for (int v = 0; v < NV; ++v) {                         \
                    acc[j][v] = VFMA(b, x[v], acc[j][v]);                       \
                }                                                               \
            }                                                                   \
        }                                                                       \
        PW_SPLIT_STORE(OCB, NV)                                                 \
    }
#define UKRPWCS_NV1(OCB) UKR_PWCS(OCB, 1)
#define UKRPWCS_NV2(OCB) UKR_PWCS(OCB, 2)
#define UKRPWCS_NV3(OCB) UKR_PWCS(OCB, 3)
#define UKRPWCS_NV4(OCB) UKR_PWCS(OCB, 4)
#define PWCSPTR(OCB, NV) [OCB][NV] = ukrpwcs_##OCB##_##NV,
#define T1(O) PWCSPTR(O, 1)
#define T2(O) PWCSPTR(O, 2)
#define T3(O) PWCSPTR(O, 3)
#define T4(O) PWCSPTR(O, 4)
DIRECT_UKR_SHAPES(UKRPWCS_NV1, UKRPWCS_NV2, UKRPWCS_NV3, UKRPWCS_NV4)
static const ukrpwcs_fn ukrpwcs_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    DIRECT_UKR_SHAPES(T1, T2, T3, T4)};

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

/* ---------------------------------------------------------------------------------------
 * Tiles across images (job_t.pwx). With P pixels per image not a multiple of the tile span
 * (196 = 6 x 32 + 4), per-image tiles leave a narrow tail per image: 2 % of the 196-pixel
 * layer's work that took ~3 % of forward and ~7 % of backward-data in rdtsc counts (the
 * tail kernel reads backward-data's weights in place, rows 1 KB apart). Instead the tiles
 * run over the images' pixels laid end to end (N * P = 1568 = 49 full tiles): when
 * P >= span a tile straddles at most one image boundary; its panel is copied from both
 * images and the ukrpws_* kernels store its outputs to both. Each pixel's sum is the same
 * instruction sequence as before, so results are bit-identical to per-image tiles. (On
 * the 8-image 196-pixel layer this measured level with per-image tiles, within 1 %.)
 * Tasks are even ranges of units (tile, block) in tile-major order: consecutive units
 * reuse one panel, and the threads' shares differ by at most one unit. The per-image
 * tasks before this, split by channel blocks when there were few images, copied each
 * panel once per block chunk: one image measured 5.6-7.6 % faster with units.
 * ------------------------------------------------------------------------------------- */
typedef struct {
    int64_t n, x0; /* first image and pixel */
    int64_t w;     /* pixels in the tile */
    int64_t wa;    /* of which in image n (w when the tile does not straddle) */
} pw_tile;

static inline pw_tile pw_tile_at(const job_t *j, int64_t tile) {
    const int64_t P = j->out_w, span = (int64_t)j->nv * VL;
    pw_tile t;
    if (j->pwx) {
        const int64_t q0 = tile * span;
        t.w = imin(span, j->d->n * P - q0);
        t.n = q0 / P;
        t.x0 = q0 - t.n * P;
        t.wa = imin(t.w, P - t.x0);
    } else {
        const int64_t tpi = ceil_div(P, span);
        t.n = tile / tpi;
        t.x0 = (tile - t.n * tpi) * span;
        t.w = imin(span, P - t.x0);
        t.wa = t.w;
    }
    return t;
}

/* dst[0, len) = src[0, len) in vectors, the last one masked (nothing past len touched) */
static inline void pw_copy(float *dst, const float *src, int64_t len) {
    int64_t i = 0;
    for (; i + VL <= len; i += VL) {
        VSTOREU(dst + i, VLOADU(src + i));
    }
    if (i < len) {
        const vmask_t m = vmask_first(len - i);
        VSTOREM(dst + i, m, VLOADM(src + i, m));
    }
}

#define PW_PREFETCH_MIN_BYTES (1 << 20)
#define PW_FUSE_MAX_BYTES (32 << 10)

/* Asks for rows [k0, k1) of a tile's panel source (w floats from src + k * P) into the
 * cache (prefetch hint 2: L2 and up), during the tile before it. */
static inline void pw_prefetch_rows(const float *src, int64_t P, int64_t w, int64_t k0,
                                    int64_t k1) {
    const int64_t bytes = w * (int64_t)sizeof(float);
    for (int64_t k = k0; k < k1; ++k) {
        const char *r = (const char *)(src + k * P);
        for (int64_t b = 0; b < bytes; b += 64) {
            __builtin_prefetch(r + b, 0, 2);
        }
        __builtin_prefetch(r + bytes - 1, 0, 2);
    }
}

/* Units of a group (tiles x blocks) and of the job */
static inline int64_t pw_tiles(const job_t *j) {
    const int64_t P = j->out_w, span = (int64_t)j->nv * VL;
    return j->pwx ? ceil_div(j->d->n * P, span) : j->d->n * ceil_div(P, span);
}

static void pw_task(void *p, int64_t t) {
    job_t *j = p;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t P = j->out_w;                  /* pixels of the flattened image */
    const int64_t K = j->ci_g;
    const int64_t in_ch = j->bwd ? d->oc : d->c; /* engine input channels in total */
    const int64_t out_ch = j->bwd ? d->c : d->oc;
    const int64_t span = (int64_t)j->nv * VL;
    const int64_t nb = j->nblocks, tiles = pw_tiles(j);
    /* this task's units [u0, u1) of groups * tiles * nb, split evenly */
    const int64_t units = j->groups * tiles * nb;
    const int64_t u0 = units / j->ntasks * t + imin(t, units % j->ntasks);
    const int64_t u1 = u0 + units / j->ntasks + (t < units % j->ntasks ? 1 : 0);
    /* prefetch the next panel's source only when the input does not stay in L2 between
     * tiles (measured on the 196-pixel layer, 256 channels: N = 8, 1.6 MB, forward ~1.3 %
     * faster with it; N = 1, 200 KB, ~2.5 % slower: the prefetch loop is pure cost) */
    const int pf_next = (int64_t)sizeof(float) * d->n * in_ch * P > PW_PREFETCH_MIN_BYTES;
    /* the panel copy in the first block's kernel (ukrpwc_*) only while the panel fits in
     * L1 next to the weights: with K = 512 (pw1x1_s2 backward-data, a 64 KB panel) it
     * measured ~3 % slower than the separate copy, with K <= 256 0-15 % faster */
    const int pw_fuse = (int64_t)sizeof(float) * K * span <= PW_FUSE_MAX_BYTES;
    float *panel = pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK,
                                    (size_t)(K * span) * sizeof(float) + 64);
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
    a.in_vstride = VL;
    a.out_vstride = VL;
    a.mid = vmask_first(VL);
    for (int64_t u = u0; u < u1;) {
        const int64_t g = u / (tiles * nb);
        const int64_t tile = u / nb - g * tiles;
        const int64_t b0 = u % nb, b1 = imin(nb, b0 + (u1 - u));
        u += b1 - b0;
        const pw_tile tl = pw_tile_at(j, tile);
        const int64_t w = tl.w;
        const int nvu = (int)ceil_div(w, VL);
        const vmask_t last = vmask_first(w - (int64_t)(nvu - 1) * VL);
        const float *in_a = j->in + (tl.n * in_ch + g * K) * P + tl.x0;
        /* copy the K x w input panel (masked lanes become zeros, never read past a row);
         * a whole-image tile of the vector kernels has it copied by its first block's
         * kernel instead (ukrpwc_*) */
#ifdef PW_TAIL_MAX
        const int narrow = nvu == 1 && w <= PW_TAIL_MAX;
#else
        const int narrow = 0;
#endif
        const int fused = !narrow && pw_fuse; /* ukrpwc_* / ukrpwcs_* */
        if (fused) {
            /* filled by ukrpwc_* or ukrpwcs_* in the first block below */
        } else if (tl.wa == w) {
            for (int64_t k = 0; k < K; ++k) {
                const float *src = in_a + k * P;
                float *dst = panel + k * span;
                for (int v = 0; v < nvu - 1; ++v) {
                    VSTOREU(dst + v * VL, VLOADU(src + v * VL));
                }
                VSTOREU(dst + (nvu - 1) * VL, VLOADM(src + (nvu - 1) * VL, last));
            }
        } else {
            const float *in_b = j->in + ((tl.n + 1) * in_ch + g * K) * P;
            for (int64_t k = 0; k < K; ++k) {
                pw_copy(panel + k * span, in_a + k * P, tl.wa);
                pw_copy(panel + k * span + tl.wa, in_b + k * P, w - tl.wa);
            }
        }
        /* the next tile's source (usually this thread's next task when not this one's),
         * a share of its rows before each block */
        const float *pa = NULL, *pb = NULL;
        int64_t pwa = 0, pwb = 0;
        if (pf_next && (tile + 1 < tiles || g + 1 < j->groups)) {
            const int64_t ng = tile + 1 < tiles ? g : g + 1;
            const pw_tile nt = pw_tile_at(j, tile + 1 < tiles ? tile + 1 : 0);
            pa = j->in + (nt.n * in_ch + ng * K) * P + nt.x0;
            pwa = nt.wa;
            pwb = nt.w - nt.wa;
            pb = pwb > 0 ? j->in + ((nt.n + 1) * in_ch + ng * K) * P : NULL;
        }
        const int64_t pf_rows = pa == NULL ? 0 : ceil_div(K, b1 - b0);
        pw_split sp; /* a straddling tile's store masks: lanes [0, wa) and [wa, w) */
        if (tl.wa < w) {
            for (int v = 0; v < nvu; ++v) {
                const int64_t x = (int64_t)v * VL;
                sp.ma[v] = vmask_range(x, tl.wa);
                sp.mb[v] = vmask_range(x - tl.wa, w - tl.wa);
                sp.kind[v] = x + VL <= tl.wa ? 0 : (x >= tl.wa && x + VL <= w ? 1 : 2);
            }
        }
        a.last = last;
#ifdef PW_TAIL_MAX /* the vector layer has pwtail_table (AVX-512) */
        if (narrow) { /* narrow tail: channels in lanes, two blocks */
            /* (never straddles: a tile that does has more than P >= span pixels' room) */
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
                                j->out + (tl.n * out_ch + oc0) * P + tl.x0,
                                j->out + (tl.n * out_ch + oc1) * P + tl.x0, P);
            }
            continue;
        }
#endif
        /* the next tile's rows one cache line per input channel inside the kernels' loops
         * (pass r of block b0 + r: one line offset of every row), where the blocks give
         * enough passes; a burst of prefetches before each block stalled (~3 % of pw1x1
         * forward in a profile) */
        const int64_t nla = pwa > 0 ? ceil_div(pwa * (int64_t)sizeof(float), 64) + 1 : 0;
        const int64_t nlb = pwb > 0 ? ceil_div(pwb * (int64_t)sizeof(float), 64) + 1 : 0;
        const int in_kernel = pa != NULL && nla + nlb <= b1 - b0;
        for (int64_t b = b0; b < b1; ++b) {
            a.pf = NULL; /* no prefetch in the kernel's loop */
            a.pf_cstride = 0;
            if (in_kernel) {
                const int64_t r = b - b0;
                if (r < nla) {
                    a.pf = (const char *)pa + imin(r * 64, pwa * (int64_t)sizeof(float) - 1);
                    a.pf_cstride = P * (int64_t)sizeof(float);
                } else if (r < nla + nlb) {
                    a.pf = (const char *)pb + imin((r - nla) * 64, pwb * (int64_t)sizeof(float) - 1);
                    a.pf_cstride = P * (int64_t)sizeof(float);
                }
            } else {
                const int64_t k0 = imin(K, (b - b0) * pf_rows), k1 = imin(K, k0 + pf_rows);
                pw_prefetch_rows(pa, P, pwa, k0, k1);
                if (pwb > 0) {
                    pw_prefetch_rows(pb, P, pwb, k0, k1);
                }
            }
            int64_t o0, ocb;
            block_range(j, b, &o0, &ocb);
            const int64_t oc = g * j->co_g + o0;
            pw_weights(j, g, o0, ocb, &a.w, &a.w_cstride);
            a.bias = j->bias != NULL ? j->bias + oc : NULL;
            float *out = j->out + (tl.n * out_ch + oc) * P + tl.x0;
            a.out = out;
            a.out_ostride = P;
            if (fused && b == b0 && tl.wa == w) {
                ukrpwc_table[ocb][nvu](&a, in_a, P);
                continue;
            }
            if (tl.wa == w) {
                ukrpw_table[ocb][nvu](&a);
                continue;
            }
            sp.out_b = j->out + ((tl.n + 1) * out_ch + oc) * P - tl.wa;
            if (fused && b == b0) {
                ukrpwcs_table[ocb][nvu](&a, in_a,
                                        j->in + ((tl.n + 1) * in_ch + g * K) * P - tl.wa, P, &sp);
                continue;
            }
            ukrpws_table[ocb][nvu](&a, &sp);
        }
    }
}

/* Tiles across images (see pw_tile) when the images have a tail tile and a tile can
 * straddle at most one image boundary (P >= span). */
static inline void pw_choose_tiles(job_t *j) {
    const int64_t P = j->out_w, span = (int64_t)j->nv * VL;
    j->pwx = j->d->n > 1 && P >= span && P % span != 0;
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
