/*
 * conv2d direct forward, part of the conv2d-direct.h template: the small-input-channel path
 * (`smallc`), compiled when the vector layer defines SMALLC_P_MAX. It still reports DIRECT.
 *
 * Why: with few input channels (LeNet's 6 -> 16 on 12x12 / 14x14, RGB's 3 -> 32 on 32x32)
 * the pixel-lane engine has short sums per tile, rows narrower than a vector (8 or 10
 * pixels in 16 lanes) and few output channels to block over: it ran lenet2 at 45% of the
 * FMA peak. Here the OUTPUT channels sit in the lanes (an implicit GEMM, M = pixels,
 * N = output channels, K = ci * kh * kw): a tile is NOV vectors of output channels (a block
 * of up to NOV*VL) x R output rows x X output columns; per (ci, ky, kx) the block's NOV
 * weight vectors are loaded from a panel packed once per call and every pixel's input is
 * broadcast (AVX-512 folds it into the FMA), R*X*NOV fused multiply-adds, every lane
 * useful whatever the row width. The tile (R, X) is chosen per call to fill the register
 * budget (e.g. 3 rows x 8 for lenet2, 2 x 10 for lenet2t).
 * Padding: the rows of a task's band are copied into a zero-bordered scratch image, so
 * the micro-kernel has no edge checks; without padding the input is read in place.
 * Horizontal stride 1 only (the broadcast reads consecutive columns); any vertical stride,
 * dilation and groups.
 * Output: tiles are stored pixel-major into a band buffer (pixel p, channel c at
 * buf[p * NOV*VL + c]); the band's rows are contiguous in every NCHW output plane, so the
 * buffer goes out in 16 x 16 register transposes (sc_transpose, the vector layer).
 * Arithmetic per output element: acc = 0, fused multiply-add over ci, then ky, then kx,
 * then + bias (or + 0): the order of the pixel-lane tiles, independent of the tile shape
 * and of the task, so results are bit-identical across thread counts (and to the
 * pixel-lane engine). Non-finite weights with padding never get here (the entry sends
 * them to the scalar kernel: the zero border would turn 0 * Inf into NaN).
 * Task: (image, group, band of output rows), every output-channel block of the group.
 * The AUTO rule (sc_rule) is measured; PCNN_DIRECT_SMALLC_FORCE (a test hook) forces the
 * path on every geometry it can take, or turns it off.
 */
#ifdef SMALLC_P_MAX

/* X lists for SMALLC_SHAPES: SC_Xn(M, NOV, R) is M(NOV, R, 1) .. M(NOV, R, n) */
#define SC_X1(M, N, R) M(N, R, 1)
#define SC_X2(M, N, R) SC_X1(M, N, R) M(N, R, 2)
#define SC_X3(M, N, R) SC_X2(M, N, R) M(N, R, 3)
#define SC_X4(M, N, R) SC_X3(M, N, R) M(N, R, 4)
#define SC_X5(M, N, R) SC_X4(M, N, R) M(N, R, 5)
#define SC_X6(M, N, R) SC_X5(M, N, R) M(N, R, 6)
#define SC_X7(M, N, R) SC_X6(M, N, R) M(N, R, 7)
#define SC_X8(M, N, R) SC_X7(M, N, R) M(N, R, 8)
#define SC_X9(M, N, R) SC_X8(M, N, R) M(N, R, 9)
#define SC_X10(M, N, R) SC_X9(M, N, R) M(N, R, 10)
#define SC_X11(M, N, R) SC_X10(M, N, R) M(N, R, 11)
#define SC_X12(M, N, R) SC_X11(M, N, R) M(N, R, 12)
#define SC_X13(M, N, R) SC_X12(M, N, R) M(N, R, 13)
#define SC_X14(M, N, R) SC_X13(M, N, R) M(N, R, 14)
#define SC_X15(M, N, R) SC_X14(M, N, R) M(N, R, 15)
#define SC_X16(M, N, R) SC_X15(M, N, R) M(N, R, 16)

/* calls served by this path (the tests check that their shapes reach it) */
PCNN_INTERNAL int64_t PCNN_DIRECT_SMALLC_RUNS;
/* test hook: 0 = the rule, 1 = every geometry the path can take, -1 = never */
PCNN_INTERNAL int32_t PCNN_DIRECT_SMALLC_FORCE;

typedef struct {
    const float *in; /* input channel 0, the tile's first output pixel, tap (0, 0) */
    int64_t cs;      /* floats between input channels */
    int64_t rs;      /* floats between the inputs of consecutive output rows */
    int64_t kys;     /* floats between kernel rows */
    int64_t dw;      /* floats between kernel columns */
    int64_t ci, kh, kw;
    const float *w;    /* the block's panel: [ci][ky][kx][NOV*VL] (channel tail zero) */
    const float *bias; /* NOV*VL values (tail zero), or NULL */
    float *out;        /* pixel (r, x) at out[r * ors + x * NOV*VL] */
    int64_t ors;
} sc_args;

typedef void (*sc_fn)(const sc_args *a);

#define SC_UNROLL _Pragma("GCC unroll 32")
#define SMALLC_UKR(NOV, R, X)                                                              \
    static void sc_##NOV##_##R##_##X(const sc_args *a) {                                   \
        vec_t acc[NOV][R][X];                                                              \
        SC_UNROLL for (int v = 0; v < NOV; ++v) SC_UNROLL for (int r = 0; r < R; ++r)      \
            SC_UNROLL for (int x = 0; x < X; ++x) acc[v][r][x] = VZERO();                  \
        const int64_t rs = a->rs, dw = a->dw;                                              \
        const float *wp = a->w;                                                            \
        for (int64_t ci = 0; ci < a->ci; ++ci) {                                           \
            const float *ic = a->in + ci * a->cs;                                          \
            for (int64_t ky = 0; ky < a->kh; ++ky) {                                       \
                /* one pointer per row: the broadcasts address it + constant x */          \
                const float *rp[R];                                                        \
                SC_UNROLL for (int r = 0; r < R; ++r) rp[r] = ic + ky * a->kys + r * rs;   \
                for (int64_t kx = 0; kx < a->kw; ++kx, wp += NOV * VL) {                   \
                    vec_t wv[NOV];                                                         \
                    SC_UNROLL for (int v = 0; v < NOV; ++v) wv[v] = VLOADU(wp + v * VL);   \
                    SC_UNROLL for (int r = 0; r < R; ++r) {                                \
                        SC_UNROLL for (int x = 0; x < X; ++x) {                            \
                            const vec_t b = VSET1(rp[r][x]);                               \
                            SC_UNROLL for (int v = 0; v < NOV; ++v)                        \
                                acc[v][r][x] = VFMA(b, wv[v], acc[v][r][x]);               \
                        }                                                                  \
                        rp[r] += dw;                                                       \
                    }                                                                      \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        vec_t bv[NOV];                                                                     \
        SC_UNROLL for (int v = 0; v < NOV; ++v) bv[v] =                                    \
            a->bias != NULL ? VLOADU(a->bias + v * VL) : VZERO();                          \
        SC_UNROLL for (int r = 0; r < R; ++r) SC_UNROLL for (int x = 0; x < X; ++x)        \
            SC_UNROLL for (int v = 0; v < NOV; ++v)                                        \
                VSTOREU(a->out + r * a->ors + x * (NOV * VL) + v * VL,                     \
                        VADD(acc[v][r][x], bv[v]));                                        \
    }

/* the shapes the vector layer lists: NOV, R rows, X <= min(SMALLC_X_MAX, P_MAX(NOV) / R) */
SMALLC_SHAPES(SMALLC_UKR)
#define SMALLC_PTR(NOV, R, X) [NOV][R][X] = sc_##NOV##_##R##_##X,
static const sc_fn sc_table[3][SMALLC_R_MAX + 1][SMALLC_X_MAX + 1] = {SMALLC_SHAPES(SMALLC_PTR)};

/* accumulators per tile for NOV channel vectors */
static inline int64_t sc_pmax(int nov) { return nov == 2 ? SMALLC_P_MAX / 2 : SMALLC_P_MAX; }

/* tile plan for one channel-vector count: X columns per segment (balanced), R rows */
typedef struct {
    int64_t x, r;
} sc_plan;

/* Modelled time of one tap over the plane: per tile max(accumulators, SMALLC_LAT) FMA
 * slots (fewer chains than SMALLC_LAT leave the FMA pipes waiting on latency) plus a
 * weight load and loop overhead. Picks the segment width minimising it. */
static sc_plan sc_choose(int nov, int64_t oh, int64_t ow) {
    sc_plan best = {1, 1};
    int64_t best_cost = INT64_MAX;
    const int64_t xmax = imin(SMALLC_X_MAX, sc_pmax(nov));
    for (int64_t xc = 1; xc <= xmax; ++xc) {
        const int64_t nseg = ceil_div(ow, xc), x = ceil_div(ow, nseg);
        const int64_t r = imin(imin(SMALLC_R_MAX, sc_pmax(nov) / x), oh);
        int64_t cost = 0;
        for (int64_t y = 0; y < oh; y += r) {
            const int64_t rr = imin(r, oh - y);
            for (int64_t x0 = 0; x0 < ow; x0 += x) {
                cost += nov * imax(rr * imin(x, ow - x0), SMALLC_LAT) + 2;
            }
        }
        if (cost < best_cost) {
            best_cost = cost;
            best.x = x;
            best.r = r;
        }
    }
    return best;
}

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src;
    float *dst;
    const float *panel; /* [g][block][ci][ky][kx][2*VL] + bias [2*VL] per block */
    int64_t panel_block; /* floats per block of the panel */
    int has_bias;
    int64_t ci_g, co_g, nblk, blk; /* blk: channels per block (VL or 2*VL) */
    int inplace;
    int64_t band_rows, nbands;
    int64_t in_w; /* row pitch of the band copy (or iw in place) */
    sc_plan plan[3];
    int oom;
    int64_t ntasks, chunk;      /* tasks, and tasks per hand-out (sc_dyn) */
    _Alignas(64) int64_t next;  /* next task to hand out (atomic; own cache line) */
} sc_job;

/* Channels and vectors of block b. */
static inline int64_t sc_block_count(const sc_job *j, int64_t b) {
    return imin(j->blk, j->co_g - b * j->blk);
}

static void sc_pack(sc_job *j, const float *w, const float *bias, float *panel) {
    const pcnn_conv2d_desc *d = j->d;
    const int64_t kt = d->kh * d->kw, taps = j->ci_g * kt;
    for (int64_t g = 0; g < d->groups; ++g) {
        for (int64_t b = 0; b < j->nblk; ++b) {
            const int64_t cnt = sc_block_count(j, b), lanes = cnt > VL ? 2 * VL : VL;
            const int64_t o0 = g * j->co_g + b * j->blk;
            float *pb = panel + (g * j->nblk + b) * j->panel_block;
            for (int64_t t = 0; t < taps; ++t) {
                for (int64_t c = 0; c < lanes; ++c) {
                    pb[t * lanes + c] = c < cnt ? w[(o0 + c) * taps + t] : 0.0f;
                }
            }
            if (bias != NULL) {
                for (int64_t c = 0; c < lanes; ++c) {
                    pb[taps * lanes + c] = c < cnt ? bias[o0 + c] : 0.0f;
                }
            }
        }
    }
}

/* Zero-bordered copy of the input rows band [y0, y1) reads: rows y0*sh - pt .. , columns
 * -pl .. -pl + in_w - 1, for every input channel of group g of image n. */
static void sc_copy_band(const sc_job *j, float *buf, int64_t n, int64_t g, int64_t y0,
                         int64_t rows) {
    const pcnn_conv2d_desc *d = j->d;
    const int64_t w = j->in_w, pl = d->pad_left;
    const int64_t c0 = imax(0, pl), c1 = imin(w, pl + d->iw); /* columns holding input */
    for (int64_t ci = 0; ci < j->ci_g; ++ci) {
        const float *plane = j->src + (n * d->c + g * j->ci_g + ci) * d->ih * d->iw;
        for (int64_t r = 0; r < rows; ++r) {
            float *row = buf + (ci * rows + r) * w;
            const int64_t iy = y0 * d->stride_h - d->pad_top + r;
            if (iy < 0 || iy >= d->ih || c1 <= c0) {
                memset(row, 0, (size_t)w * sizeof(float));
                continue;
            }
            memset(row, 0, (size_t)c0 * sizeof(float));
            memcpy(row + c0, plane + iy * d->iw + (c0 - pl), (size_t)(c1 - c0) * sizeof(float));
            memset(row + c1, 0, (size_t)(w - c1) * sizeof(float));
        }
    }
}

static inline int64_t sc_band_in_rows(const pcnn_conv2d_desc *d, int64_t rows) {
    return (rows - 1) * d->stride_h + (d->kh - 1) * d->dilation_h + 1;
}

static void sc_task(void *p, int64_t t) {
    sc_job *j = p;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t band = t % j->nbands, ng = t / j->nbands;
    const int64_t g = ng % d->groups, n = ng / d->groups;
    const int64_t y0 = band * j->band_rows, y1 = imin(d->oh, y0 + j->band_rows);
    const int64_t ow = d->ow, ohw = d->oh * d->ow, kt = d->kh * d->kw;
    const int64_t in_rows = sc_band_in_rows(d, y1 - y0);
    const int64_t copy = j->inplace ? 0 : ceil_div(j->ci_g * in_rows * j->in_w, VL) * VL;
    float *buf = pcnn_scratch_get(PCNN_SCRATCH_CONV_TASK,
                                  (size_t)(copy + j->band_rows * ow * 2 * VL) * sizeof(float));
    if (buf == NULL) {
        __atomic_store_n(&j->oom, 1, __ATOMIC_RELAXED);
        return;
    }
    float *tb = buf + copy;
    sc_args a;
    if (j->inplace) {
        a.in = j->src + (n * d->c + g * j->ci_g) * d->ih * d->iw + y0 * d->stride_h * d->iw;
        a.cs = d->ih * d->iw;
    } else {
        sc_copy_band(j, buf, n, g, y0, in_rows);
        a.in = buf;
        a.cs = in_rows * j->in_w;
    }
    const float *in0 = a.in;
    a.rs = d->stride_h * j->in_w;
    a.kys = d->dilation_h * j->in_w;
    a.dw = d->dilation_w;
    a.ci = j->ci_g;
    a.kh = d->kh;
    a.kw = d->kw;
    for (int64_t b = 0; b < j->nblk; ++b) {
        const int64_t cnt = sc_block_count(j, b);
        const int nov = cnt > VL ? 2 : 1;
        const int64_t lanes = nov * VL;
        const sc_plan pl = j->plan[nov];
        a.w = j->panel + (g * j->nblk + b) * j->panel_block;
        a.bias = j->has_bias ? a.w + j->ci_g * kt * lanes : NULL;
        a.ors = ow * lanes;
        for (int64_t y = y0; y < y1; y += pl.r) {
            const int64_t rr = imin(pl.r, y1 - y);
            for (int64_t x0 = 0; x0 < ow; x0 += pl.x) {
                a.in = in0 + (y - y0) * a.rs + x0;
                a.out = tb + ((y - y0) * ow + x0) * lanes;
                sc_table[nov][rr][imin(pl.x, ow - x0)](&a);
            }
        }
        /* the band's pixels are contiguous in each output plane */
        const int64_t npix = (y1 - y0) * ow;
        float *out = j->dst + (n * d->oc + g * j->co_g + b * j->blk) * ohw + y0 * ow;
        for (int64_t c0 = 0; c0 < cnt; c0 += SMALLC_TR) {
            for (int64_t p0 = 0; p0 < npix; p0 += SMALLC_TR) {
                sc_transpose(out + c0 * ohw + p0, ohw, tb + p0 * lanes + c0, lanes,
                             imin(SMALLC_TR, npix - p0), imin(SMALLC_TR, cnt - c0));
            }
        }
    }
}

/* Tasks are handed out in chunks of j->chunk to whichever thread asks next, not in fixed
 * ranges: on a shared machine a thread whose core is busy then does less of the work (as in
 * the engine's dyn_task). Which thread runs a task never changes its result. */
static void sc_dyn(void *p, int64_t t) {
    (void)t;
    sc_job *j = p;
    for (;;) {
        const int64_t i = __atomic_fetch_add(&j->next, j->chunk, __ATOMIC_RELAXED);
        if (i >= j->ntasks) {
            return;
        }
        for (int64_t k = i; k < imin(j->ntasks, i + j->chunk); ++k) {
            sc_task(j, k);
        }
    }
}

/* The AUTO rule, measured (thread CPU time, same process, forced on / off, 1 thread, on a
 * sweep of C 1..16 x OC 6..64 x planes 8x8..28x28 x 3x3 / 5x5 and a few with 32..128 input
 * channels; numbers in direct/README-small-channels.md): the path wins where the
 * pixel-lane engine wastes lanes (rows narrower than or not a multiple of a vector) and
 * loses with fewer output channels than fill the lanes (6 of 16: 0.45-0.7x) and on larger
 * planes, where the transposed stores of the band buffer cost more than the engine's
 * (32x32: 0.4-0.7x). 1x1 has its own GEMM path. */
static int sc_rule(const pcnn_conv2d_desc *d, int64_t ci_g, int64_t co_g) {
    return co_g >= SMALLC_OC_MIN && d->kh * d->kw > 1 && d->oh * d->ow <= SMALLC_PLANE_MAX &&
           ci_g <= 128 && (ci_g <= SMALLC_CI_MAX || d->ow <= SMALLC_MANY_CI_OW_MAX);
}

/* PCNN_STATUS_UNSUPPORTED unless this path takes the call (then it has run it). */
static int32_t smallc_fwd(const pcnn_conv2d_desc *d, const float *src, const float *w,
                          const float *bias, float *dst) {
    const int32_t force = __atomic_load_n(&PCNN_DIRECT_SMALLC_FORCE, __ATOMIC_RELAXED);
    const int64_t ci_g = d->c / d->groups, co_g = d->oc / d->groups;
    if (force < 0 || d->stride_w != 1 ||
        !pcnn_vector_geometry_ok(d->stride_h, d->stride_w, d->dilation_h, d->dilation_w) ||
        (force == 0 && !sc_rule(d, ci_g, co_g))) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    sc_job j;
    memset(&j, 0, sizeof j);
    j.d = d;
    j.src = src;
    j.dst = dst;
    j.has_bias = bias != NULL;
    j.ci_g = ci_g;
    j.co_g = co_g;
    j.blk = co_g > VL ? 2 * VL : VL;
    j.nblk = ceil_div(co_g, j.blk);
    j.plan[1] = sc_choose(1, d->oh, d->ow);
    j.plan[2] = sc_choose(2, d->oh, d->ow);
    const int64_t r_main = j.plan[co_g > VL ? 2 : 1].r;
    /* bands of whole tiles, at most ~SMALLC_BAND_PX pixels (the band buffer stays in L2) */
    j.band_rows = imax(r_main, SMALLC_BAND_PX / d->ow / r_main * r_main);
    j.band_rows = imin(j.band_rows, d->oh);
    /* enough tasks for the threads when the batch is small */
    const int64_t threads = imax(1, pcnn_get_num_threads());
    while (d->n * d->groups * ceil_div(d->oh, j.band_rows) < 2 * threads && j.band_rows > r_main) {
        j.band_rows = imax(r_main, j.band_rows / 2 / r_main * r_main);
    }
    j.nbands = ceil_div(d->oh, j.band_rows);
    /* in place when no read leaves the input: no left / top padding and the last tap inside */
    const int64_t span_w = (d->ow - 1) + (d->kw - 1) * d->dilation_w + 1;
    j.inplace = d->pad_left == 0 && d->pad_top == 0 && span_w <= d->iw &&
                sc_band_in_rows(d, d->oh) <= d->ih;
    j.in_w = j.inplace ? d->iw : span_w;
    /* the band copy and buffer: a few hundred KiB at most, or the engine serves the call
     * (absurd padding / dilation, where a copy would dwarf the input) */
    const int64_t copy = j.inplace ? 0 : sat_mul(sat_mul(ci_g, sc_band_in_rows(d, j.band_rows)), j.in_w);
    if (copy > SMALLC_COPY_MAX || j.band_rows * d->ow > 4 * SMALLC_BAND_PX) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const int64_t kt = d->kh * d->kw;
    j.panel_block = (ci_g * kt + 1) * 2 * VL;
    float *panel = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK,
                                    (size_t)(d->groups * j.nblk * j.panel_block) * sizeof(float));
    if (panel == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    sc_pack(&j, w, bias, panel);
    j.panel = panel;
    /* a hand-out per ~2^18 multiply-adds (a task of lenet2 is ~2^17; an atomic hand-out costs
     * ~0.1-0.3 us), at least 4 per thread when there are that many tasks */
    const int64_t macs = sat_mul(d->n * d->oc * d->oh * d->ow, ci_g * kt);
    j.ntasks = d->n * d->groups * j.nbands;
    j.chunk = imax(1, imin(((int64_t)1 << 18) / imax(1, macs / j.ntasks), j.ntasks / (4 * threads)));
    j.next = 0;
    pcnn_parallel_for_work(threads > 1 ? threads : 1, macs, sc_dyn, &j);
    if (__atomic_load_n(&j.oom, __ATOMIC_RELAXED)) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    __atomic_fetch_add(&PCNN_DIRECT_SMALLC_RUNS, 1, __ATOMIC_RELAXED);
    return PCNN_STATUS_OK;
}

#else
static int32_t smallc_fwd(const pcnn_conv2d_desc *d, const float *src, const float *w,
                          const float *bias, float *dst) {
    (void)d, (void)src, (void)w, (void)bias, (void)dst;
    return PCNN_STATUS_UNSUPPORTED;
}
#endif /* SMALLC_P_MAX */
