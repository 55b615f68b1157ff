/*
 * conv2d direct (forward / backward-data), part of the conv2d-direct.h template: tiles with
 * the output channels in the vector lanes (only when the vector layer defines UKRC_NX_MAX:
 * AVX-512 and, since 2026-12-07, AVX2).
 *
 * Why: the pixel-lane tiles (ukr_*) waste lanes whenever a row is not a multiple of VL
 * pixels: the 3x3 stride-2 layer's 14-wide rows fill 14 of 16 lanes, and its backward phase
 * rows the same. Here a tile is NOV vectors of output channels (a block of up to NOV*VL
 * channels) x NX pixels of one row: per (input channel, tap) NOV weight vectors are loaded
 * from the packed block ([ci][tap][ocb]: the block's ocb channels are consecutive) and
 * each pixel's input is broadcast, NOV*NX fused multiply-adds, every lane useful. The
 * input is read at base + tap offset + x, exactly like ukr_* (same tap lists, same padded
 * copies), so stride and phases cost nothing extra here.
 * The tile is stored pixel-major into a small buffer (tile[x * tile_xs + channel]); the
 * caller transposes finished rows into the NCHW output (transpose_tile_row).
 * Per pixel and channel the sum is the ukr_* sequence (acc = 0, FMA over ci, then taps,
 * then + bias or + 0.0f), so results are bit-identical to the pixel-lane tiles.
 */

/* Largest engine input of one image and group (bytes) for whole-image channel-tile tasks
 * (direct/entry.h, forward and backward-data): half of a 1 MiB L2. */
#define CHTILE_IMAGE_MAX (512 * 1024)

/* Channels per block of a channel-tile job (0: this ISA has no channel tiles). */
#ifdef UKRC_NX_MAX
#define CHTILE_OCB_MAX (2 * VL)
#else
#define CHTILE_OCB_MAX 0
#endif

/* ---------------------------------------------------------------------------------------
 * Stride-1 channel tiles reading the input in place (forward and backward-data).
 *
 * Why: the zero-padded copy of every input row was ~7% of resnet3x3's pass (a probe
 * without it: 0.93x the time), and six cheaper forms of the copy all lost. But a tile
 * reads the padding only when its taps leave the input: of resnet3x3's four 14-pixel
 * tiles per row, tiles 1 and 2 read columns 13..42 only. Those read the input in place;
 * the edge tiles read a strip copy that holds only their padded columns (left strip:
 * padded columns [0, lw), right strip: [rcol, rcol + rwd), side by side in strip rows of
 * lw + rwd floats: resnet3x3 16 + 16 of 58), and rows whose taps leave the input
 * vertically drop those taps (as the in-place pixel tiles do) instead of reading zero
 * rows. Each pixel's sum is still the ukrc sequence over the same taps in the same order,
 * minus taps whose input is a padding zero: with finite weights (the entry points send
 * non-finite weights with padding to the scalar kernel) 0 * w is a zero, and adding a zero
 * to an accumulator that started at +0 never changes it (it is never -0), so the bits do
 * not change.
 * Pixel x of a row reads padded column x + off for tap column offsets off in
 * [off_min, off_max]; padded column m is input column m - padl.
 * ------------------------------------------------------------------------------------- */
typedef struct {
    int on;            /* 0: no tile can read in place (every tile reads the full copy) */
    int64_t left_end;  /* tiles starting before this pixel read the left strip */
    int64_t right_beg; /* tiles starting at or after this pixel read the right strip */
    int64_t lw;        /* left strip: padded columns [0, lw) */
    int64_t rcol, rwd; /* right strip: padded columns [rcol, rcol + rwd) */
    int64_t srow;      /* floats per strip row: lw + rwd */
    int64_t off_min;   /* smallest tap column offset (padded columns) */
    int64_t off_max;   /* largest */
} chtile_edges;

/* Which tiles of a `width`-pixel row (cut as run_row_channels cuts it) read in place. */
static inline chtile_edges chtile_edges_plan(int64_t width, int64_t padl, int64_t in_w,
                                             int64_t off_min, int64_t off_max) {
    chtile_edges e;
    memset(&e, 0, sizeof e);
#ifdef UKRC_NX_MAX
    const int64_t nx = ceil_div(width, ceil_div(width, UKRC_NX_MAX));
    int inplace = 0;
    e.right_beg = width;
    e.rcol = width + off_max;
    for (int64_t x0 = 0; x0 < width; x0 += nx) {
        const int64_t cnt = imin(nx, width - x0);
        const int left = x0 + off_min - padl < 0;
        const int right = x0 + cnt - 1 + off_max - padl > in_w - 1;
        if (left && right) {
            return e; /* a tile reads padding on both sides: narrow rows keep the copy */
        }
        if (left) {
            e.left_end = x0 + cnt;
            e.lw = x0 + cnt + off_max;
        } else if (right) {
            if (e.right_beg == width) {
                e.right_beg = x0;
                e.rcol = x0 + off_min;
            }
        } else {
            inplace = 1;
        }
    }
    e.rwd = width + off_max - e.rcol;
    e.srow = e.lw + e.rwd;
    e.off_min = off_min;
    e.off_max = off_max;
    e.on = inplace;
#else
    (void)width, (void)padl, (void)in_w, (void)off_min, (void)off_max;
#endif
    return e;
}

/* dst[k] = row[m0 + k - padl] for k < cnt (0 outside [0, in_w)): masked vector loads (the
 * masked-off lanes are not accessed, so lane 0 may be before the row: VLOADM_AT, as in
 * split_phases2) and stores; resnet3x3's strips are one vector each. */
static inline void chtile_copy_cols(float *dst, const float *row, int64_t m0, int64_t cnt,
                                    int64_t padl, int64_t in_w) {
    for (int64_t k = 0; k < cnt; k += VL) {
        const int64_t x = m0 + k - padl;
        const vmask_t m = vmask_range(x, in_w);
        VSTOREM(dst + k, vmask_first(imin(VL, cnt - k)), VLOADM_AT(row, x, m));
    }
}

/* The edge tiles' strip copy of rows [r0, r1): sb[(ci * nrows + r) * srow + k] for input
 * row first_row + r (all inside the input), channels cstride apart, rows in_w apart. The
 * drivers copy rows as the output rows need them (a task's first output row's rows, then
 * each new row): the tiles' in-kernel prefetch (run_row_channels, pf_in) has by then
 * brought the new row's lines. The first call's rows (r0 == 0) are asked for here, whole
 * rows (the interior tiles read them in place), two channels ahead of their copy.
 * Measured on resnet3x3 (direct/README-resnet3x3.md): strips copied up front with memset + memcpy
 * and no prefetch were 1.05-1.09x the time of main; copied row by row with the in-kernel
 * prefetch and one masked load + store per strip (masks hoisted out of the row loop),
 * 0.96-0.97x. */
#define CHTILE_PF_AHEAD 2
static inline void chtile_copy_strips(float *sb, const float *src, int64_t channels,
                                      int64_t cstride, int64_t first_row, int64_t nrows,
                                      int64_t r0, int64_t r1, int64_t in_w, int64_t padl,
                                      const chtile_edges *e) {
    const int64_t bytes = (r1 - r0) * in_w * (int64_t)sizeof(float);
    const int fast = e->lw >= 1 && e->lw <= VL && e->rwd >= 1 && e->rwd <= VL;
    const vmask_t lst = vmask_first(imax(1, imin(VL, e->lw))), lld = vmask_range(-padl, in_w);
    const vmask_t rst = vmask_first(imax(1, imin(VL, e->rwd)));
    const vmask_t rld = vmask_range(e->rcol - padl, in_w);
    for (int64_t ci = 0; ci < channels + CHTILE_PF_AHEAD; ++ci) {
        if (r0 == 0 && ci < channels) {
            const char *q = (const char *)(src + ci * cstride + (first_row + r0) * in_w);
            for (int64_t k = 0; k < bytes; k += 64) {
                __builtin_prefetch(q + k, 0, 3);
            }
        }
        const int64_t c = ci - CHTILE_PF_AHEAD;
        if (fast) { /* each strip one vector: the masks are the same for every row */
            for (int64_t r = r0; c >= 0 && r < r1; ++r) {
                const float *row = src + c * cstride + (first_row + r) * in_w;
                float *b = sb + (c * nrows + r) * e->srow;
                VSTOREM(b, lst, VLOADM_AT(row, -padl, lld));
                VSTOREM(b + e->lw, rst, VLOADM_AT(row, e->rcol - padl, rld));
            }
            continue;
        }
        for (int64_t r = r0; c >= 0 && r < r1; ++r) {
            const float *row = src + c * cstride + (first_row + r) * in_w;
            float *b = sb + (c * nrows + r) * e->srow;
            chtile_copy_cols(b, row, 0, e->lw, padl, in_w);
            chtile_copy_cols(b + e->lw, row, e->rcol, e->rwd, padl, in_w);
        }
    }
}

#ifdef UKRC_NX_MAX

typedef struct {
    const float *in;       /* input for channel 0 at the tile's first pixel */
    int64_t in_cstride;    /* floats between input channels */
    int64_t ci_count;
    const int64_t *tap_in; /* per tap: offset added to `in` */
    const int64_t *tap_w;  /* per tap: offset (k * ocb) into a channel's packed weights */
    int64_t ntaps;
    const float *w;        /* packed weights of the block: [ci][k][ocb] */
    int64_t w_cstride;     /* kt * ocb */
    vmask_t m0, m1;        /* lanes of channel vectors 0 and 1 that exist (ocb) */
    const float *bias;     /* ocb values, or NULL */
    float *tile;           /* pixel x, channel c at tile[x * tile_xs + c] */
    int64_t tile_xs;
    /* Lines to ask for while the tile computes (the next output row's, and with the
     * in-place reads the next input row's): during input channel ci < pf_n,
     * pfl[UKRC_PF_PER_CH * ci + k] for k < UKRC_PF_PER_CH (pf_n = 0: none). A list, so
     * that the kernel's channel loop needs no more registers (computing the address
     * there made GCC spill, and the tile ran ~10% slower even with no prefetch at all). */
    const float *const *pfl;
    int64_t pf_n;
} ukrc_args;

typedef void (*ukrc_fn)(const ukrc_args *a);

/* prefetches per input channel in the tile's first channel loop, and the list's length */
#define UKRC_PF_PER_CH 3
#define UKRC_PF_MAX (UKRC_PF_PER_CH * 128)

/* One input channel ci of a tile: per tap NOV weight vectors, NX broadcasts, NOV*NX FMAs.
 * FULL: the block has all 2*VL channels, so the second weight vector is a plain load (a
 * masked one with every lane set cost AVX2 ~4.5% of resnet_s2's forward and backward-data
 * on Zen 4, same process, 15 rounds; AVX-512 ~1%). */
#define UKRC_CHANNEL(NOV, FULL, NX)                                                     \
    do {                                                                                \
        const float *ip = a->in + ci * a->in_cstride;                                   \
        const float *wp = a->w + ci * a->w_cstride;                                     \
        for (int64_t t = 0; t < ntaps; ++t) {                                           \
            const float *p = ip + tap_in[t];                                            \
            const float *q = wp + tap_w[t];                                             \
            vec_t wv[NOV];                                                              \
            if (NOV == 1) {                                                             \
                wv[0] = VLOADM(q, m0);                                                  \
            } else {                                                                    \
                wv[0] = VLOADU(q);                                                      \
                wv[NOV - 1] = FULL ? VLOADU(q + VL) : VLOADM(q + VL, m1);               \
            }                                                                           \
            UNROLL_J for (int x = 0; x < NX; ++x) {                                     \
                const vec_t b = VSET1(p[x]);                                            \
                UNROLL_J for (int v = 0; v < NOV; ++v) {                                \
                    acc[v][x] = VFMA(b, wv[v], acc[v][x]);                              \
                }                                                                       \
            }                                                                           \
        }                                                                               \
    } while (0)

/* The channels with a prefetch (ci < pf_n) run in a loop of their own, so that the loop of
 * the others is the tile's plain loop: a per-channel test there cost 1x1 stride-2 tiles
 * (one tap per channel) ~9%. */
#define UKRC(NOV, FULL, NAME, NX)                                                       \
    static void ukrc_##NAME##_##NX(const ukrc_args *a) {                                \
        vec_t acc[NOV][NX];                                                             \
        UNROLL_J for (int v = 0; v < NOV; ++v) {                                        \
            UNROLL_J for (int x = 0; x < NX; ++x) {                                     \
                acc[v][x] = VZERO();                                                    \
            }                                                                           \
        }                                                                               \
        const int64_t ntaps = a->ntaps;                                                 \
        const int64_t *tap_in = a->tap_in;                                              \
        const int64_t *tap_w = a->tap_w;                                                \
        const vmask_t m0 = a->m0, m1 = a->m1;                                           \
        int64_t ci = 0;                                                                 \
        for (; ci < a->pf_n; ++ci) {                                                    \
            __builtin_prefetch(a->pfl[UKRC_PF_PER_CH * ci], 1, 3);                      \
            __builtin_prefetch(a->pfl[UKRC_PF_PER_CH * ci + 1], 1, 3);                  \
            __builtin_prefetch(a->pfl[UKRC_PF_PER_CH * ci + 2], 1, 3);                  \
            UKRC_CHANNEL(NOV, FULL, NX);                                                \
        }                                                                               \
        for (; ci < a->ci_count; ++ci) {                                                \
            UKRC_CHANNEL(NOV, FULL, NX);                                                \
        }                                                                               \
        vec_t bv[NOV];                                                                  \
        bv[0] = a->bias != NULL ? VLOADM(a->bias, m0) : VZERO();                        \
        if (NOV == 2) {                                                                 \
            bv[NOV - 1] = a->bias != NULL ? VLOADM(a->bias + VL, m1) : VZERO();         \
        }                                                                               \
        UNROLL_J for (int x = 0; x < NX; ++x) {                                         \
            UNROLL_J for (int v = 0; v < NOV; ++v) {                                    \
                VSTOREU(a->tile + x * a->tile_xs + v * VL, VADD(acc[v][x], bv[v]));     \
            }                                                                           \
        }                                                                               \
    }

#define UKRC1(NX) UKRC(1, 0, 1, NX)
#define UKRC2(NX) UKRC(2, 0, 2, NX)
#define UKRC2F(NX) UKRC(2, 1, 2f, NX)
UKRC_NXS(UKRC1)
UKRC_NXS(UKRC2)
UKRC_NXS(UKRC2F)
/* [0]: a full block of 2*VL channels, [1]: up to VL, [2]: more than VL, fewer than 2*VL */
#define PTRC1(NX) [1][NX] = ukrc_1_##NX,
#define PTRC2(NX) [2][NX] = ukrc_2_##NX,
#define PTRC2F(NX) [0][NX] = ukrc_2f_##NX,
static const ukrc_fn ukrc_table[3][UKRC_NX_MAX + 1] = {UKRC_NXS(PTRC1) UKRC_NXS(PTRC2)
                                                           UKRC_NXS(PTRC2F)};

/* Channel blocks of a channel-tile job: at most 2*VL channels each. */
#define UKRC_OCB_MAX CHTILE_OCB_MAX

/* One output row segment of `width` pixels for a block of ocb channels: tiles of about
 * equal width (at most UKRC_NX_MAX pixels), pixel x read at in + x and written to
 * tile[x * tile_xs]. Which tile a pixel is in never changes its sum.
 * pf: the block's channel 0 in the next output row (channels pf_cstride apart), or NULL:
 * while each tile computes, the lines of its first and last pixel in that row are asked
 * for, one per input channel (of the first ci_count / 2 output channels when there are
 * fewer input channels than 2 * ocb). The stores of the next row's transposes then find
 * their lines in cache: resnet3x3 (56-wide rows, 32 channels x 224 bytes per row and
 * block, planes 12.5 KB apart) 0.96-0.98x the time, forward and backward-data
 * (README-resnet3x3.md in this directory). A hint only: results do not change. */
/* ip: NULL, or the in-place reads (chtile_inplace): then `a` describes the strip copy, which
 * only the edge tiles read. */
typedef struct {
    const chtile_edges *e;
    const float *src;      /* input at the first tap row, column 0 */
    int64_t cstride;       /* floats between input channels */
    const int64_t *tap_in; /* per tap: offset from src + x0 + e->off_min - padl */
    int64_t padl;          /* padded column m = input column m - padl */
    int64_t in_w;          /* input row width */
    const float *pf_in;    /* NULL, or the input row the next output row adds (channel 0,
                            * column 0): each tile asks for its columns of it */
} chtile_inplace;

static inline void run_row_channels(ukrc_args *a, int64_t width, int64_t ocb, const float *pf,
                                    int64_t pf_cstride, const chtile_inplace *ip) {
    const float *pfl[UKRC_PF_MAX];
    const int nov = ocb > VL ? 2 : 1;
    a->m0 = vmask_first(imin(VL, ocb));
    a->m1 = nov == 2 ? vmask_first(ocb - VL) : a->m0;
    const int64_t ntiles = ceil_div(width, UKRC_NX_MAX);
    const int64_t nx = ceil_div(width, ntiles);
    const float *in = a->in;
    const int64_t *strip_taps = a->tap_in;
    const int64_t strip_cstride = a->in_cstride;
    float *tile = a->tile;
    a->pfl = pfl;
    for (int64_t x0 = 0; x0 < width; x0 += nx) {
        const int64_t cnt = imin(nx, width - x0);
        a->in = in + x0;
        if (ip != NULL) {
            const chtile_edges *e = ip->e;
            const int edge = x0 < e->left_end || x0 >= e->right_beg;
            if (x0 >= e->right_beg) {
                a->in = in + e->lw + x0 - e->rcol; /* the right strip */
            } else if (!edge) {
                a->in = ip->src + x0 + e->off_min - ip->padl;
            }
            a->tap_in = edge ? strip_taps : ip->tap_in;
            a->in_cstride = edge ? strip_cstride : ip->cstride;
        }
        a->tile = tile + x0 * a->tile_xs;
        int64_t n = 0;
        for (int64_t k = 0; pf != NULL && k < 2 * ocb; ++k) {
            pfl[n++] = pf + (k >> 1) * pf_cstride + x0 + (k & 1) * (cnt - 1);
        }
        if (ip != NULL && ip->pf_in != NULL) {
            /* the tile's columns of the next input row, first and last of each channel */
            const chtile_edges *e = ip->e;
            const int64_t lo = imax(0, x0 + e->off_min - ip->padl);
            const int64_t hi = imin(ip->in_w - 1, x0 + cnt - 1 + e->off_max - ip->padl);
            for (int64_t ci = 0; ci < a->ci_count && n + 2 <= UKRC_PF_MAX; ++ci) {
                pfl[n++] = ip->pf_in + ci * ip->cstride + lo;
                pfl[n++] = ip->pf_in + ci * ip->cstride + hi;
            }
        }
        a->pf_n = imin(a->ci_count, ceil_div(n, UKRC_PF_PER_CH));
        for (; n > 0 && n < UKRC_PF_PER_CH * a->pf_n; ++n) {
            pfl[n] = pfl[n - 1];
        }
        ukrc_table[ocb == 2 * VL ? 0 : nov][cnt](a);
    }
    a->in = in;
    a->tap_in = strip_taps;
    a->in_cstride = strip_cstride;
    a->tile = tile;
}

/* Whole-image tasks: part k of `count` of the next image's input (`lines` cache lines from
 * `next`) asked into L2 while this image runs, so that its copy does not wait on L3 or
 * memory. NULL: no next image. */
static inline void chtile_prefetch_next(const float *next, int64_t lines, int64_t k,
                                        int64_t count) {
    if (next == NULL) {
        return;
    }
    const int64_t per = ceil_div(lines, count);
    const int64_t end = imin(lines, (k + 1) * per);
    for (int64_t l = k * per; l < end; ++l) {
        __builtin_prefetch((const char *)next + l * 64, 0, 2);
    }
}

/* out[c * ostride + x] = tile[x * UKRC_OCB_MAX + c] for c < ocb, x < width: a finished
 * row of the tile buffer into the NCHW output, in 16 x 16 register transposes
 * (tile_transpose16, the vector layer; pure copies). */
static inline void transpose_tile_row(float *out, int64_t ostride, const float *tile,
                                      int64_t ocb, int64_t width) {
    for (int64_t x0 = 0; x0 < width; x0 += 16) {
        for (int64_t c0 = 0; c0 < ocb; c0 += 16) {
            tile_transpose16(out + c0 * ostride + x0, ostride, tile + x0 * UKRC_OCB_MAX + c0,
                             UKRC_OCB_MAX, imin(16, width - x0), imin(16, ocb - c0));
        }
    }
}

#endif /* UKRC_NX_MAX */

/* Stride-1 rows (forward output rows, backward-data diff_src rows) that the pixel-lane
 * tiles fill badly and the channel tiles fill well: width not a multiple of VL (the last
 * vector of every row is part-empty: 56 = 3.5 vectors, so ukr_6_4 computes 64 lanes for
 * 56 pixels) and either
 * - the row cut into channel tiles of UKRC_NX_MAX - 2 .. UKRC_NX_MAX pixels (>= 24 of
 *   AVX-512's 28 accumulators: 56 = 4 x 14, 28 = 2 x 14). Rows of 32 (3 tiles of 11)
 *   measured 1.10x slower in channel tiles (mid: 32 x 32 x 32x32 -> 64); resnet3x3 (56x56,
 *   64 -> 64) forward 0.87x the time (README-resnet3x3.md in this directory); or
 * - the row one tile of at least half of UKRC_NX_MAX pixels (AVX-512: 7..11; AVX2: 3).
 *   Measured on Zen 4 (1 thread, same process, against the rule without it): 8 x 512 x 7x7
 *   -> 512 0.70-0.83x the time forward, 0.69-0.77x backward-data; 32 x 64 x 7x7 -> 64
 *   level / 0.77-0.78x; 8 x 64 x 11x11 -> 96 level / 0.92; 16 x 32 x 9x9 -> 32 level.
 * At AVX2 (UKRC_NX_MAX 6; channel tiles there since 2026-12-07) the first form takes every
 * width of 4 or more that is not a multiple of 8: 8 x 256 x 14x14 -> 256 0.66-0.68x the time forward,
 * 0.73-0.74x backward-data; 8 x 512 x 7x7 0.49-0.58x / 0.68x; 8 x 128 x 28x28 -> 128
 * forward level (flat tiles served it), backward-data 0.73-0.77x. */
static inline int chtile_stride1_width(int64_t width) {
#ifdef UKRC_NX_MAX
    const int64_t nx = ceil_div(width, ceil_div(width, UKRC_NX_MAX));
    return width % VL != 0 && ((width >= UKRC_NX_MAX - 2 && nx >= UKRC_NX_MAX - 2) ||
                               (width <= UKRC_NX_MAX && 2 * width >= UKRC_NX_MAX));
#else
    (void)width;
    return 0;
#endif
}
