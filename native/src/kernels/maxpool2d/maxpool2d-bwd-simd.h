/*
 * maxpool2d, SIMD template: the backward half (PM_NAME(bwd), int32 plane offsets, and
 * PM_NAME(bwd_taps), the compact tap mask). Included by maxpool2d-simd.h at its end, so it
 * is compiled into maxpool2d-avx2.c and maxpool2d-avx512.c against their vector layers (PM_V,
 * pm_vf / pm_vi / pm_m, the pm_* helpers) and uses pm_shape_ok, PM_COORD_LIMIT and pm_work
 * from maxpool2d-simd.h. Its own header only to keep the files short: one translation unit as
 * before, so the always_inline paths compile as they did. It includes, in turn,
 * maxpool2d-taps-bwd-simd.h (the mask mode's tap-to-offset decode); the AVX-512 row path
 * pm_s2b_plane (maxpool2d-s2bwd-avx512.h, PM_S2B) comes from maxpool2d-avx512.c.
 *
 * Backward, one task per plane:
 *  - Non-overlapping stride-2 windows (pm_direct_ok: kw = sw = 2, kh = sh, no dilation, no
 *    top/left padding; pool_lenet, pool_mid): when every index lies in its own window each
 *    diff_src element gets at most one addition, so each element is written exactly once,
 *    directly: per window row, index == even / odd position masks put 0 + diff_dst there and
 *    +0 elsewhere (pm_bwd_direct). No zeroing pass, no scatter. A block with an index
 *    outside its own window sends the plane to the general algorithm.
 *  - AVX-512, 3x3 stride-2 windows on planes above PM_BWD_CACHED_PLANE (pool_resnet): rows
 *    written once from registers while the indices are canonical (maxpool2d-s2bwd-avx512.h,
 *    PM_S2B), the loop below from the first row that is not.
 *  - Otherwise the scalar algorithm (zero the plane, then add in row-major output order,
 *    which keeps overlapping windows and repeated indices bit-exact), with the zeroing
 *    vectorised and run one output row ahead of the scatter. The scatter itself stays
 *    scalar: the indices are caller data, may repeat, and without AVX-512CD there is no
 *    cheap in-register conflict check.
 *  - The same for the compact mask (one tap byte per output; see "Two modes" below).
 */
#ifndef PCNN_MAXPOOL2D_BWD_SIMD_H
#define PCNN_MAXPOOL2D_BWD_SIMD_H

/*
 * Two modes, chosen at compile time (`taps`, a constant argument of the always-inline plane
 * functions, so each mode compiles to its own code): int32 plane offsets (pcnn_maxpool2d_bwd),
 * or the compact mask, one byte per output naming the winner's window tap ky * kw + kx
 * (pcnn_maxpool2d_bwd_taps). The mask paths compare the zero-extended tap bytes against
 * constants where the offset paths compare indices against window positions; the general
 * path decodes each output row's taps to offsets (pm_taps_to_offsets) and runs the offset
 * scatter. A tap >= kh * kw or naming a padded position is reported like an offset outside
 * the plane (PCNN_STATUS_OUT_OF_RANGE).
 */

/* pm_taps_to_offsets decodes rows of up to this many outputs (a stack buffer); longer rows
 * take the scalar mask loop (pcnn_maxpool2d_bwd_taps_rows) */
#define PM_TAPS_ROW_MAX 2048
#define PM_TAPS_ROW_BUF (PM_TAPS_ROW_MAX + PM_V) /* the decode stores whole vectors */

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *diff_dst;
    const int32_t *indices; /* int32 mode */
    const uint8_t *taps;    /* mask mode */
    const int32_t *tap_dy;  /* mask mode, 256 entries: tap -> ky * dilation_h, */
    const int32_t *tap_dx;  /* kx * dilation_w, */
    const int32_t *tap_off; /* ky * dilation_h * iw + kx * dilation_w; 0 for taps >= kh * kw */
    int64_t xa, xb;         /* output columns whose window columns are all inside the input */
    const struct pm_taps_plane *plane; /* mask mode: small planes' tables (or NULL) */
    float *diff_src;
    int direct;    /* pm_bwd_direct applies (pm_direct_ok) */
    int s2b;       /* pm_s2b_plane applies (pm_s2b_ok; AVX-512 only) */
    int bad_index; /* set with __atomic_store_n by any task that meets a bad index or tap */
} pm_bwd_ctx;

/* Non-overlapping stride-2 windows that pm_bwd_direct handles: kw = sw = 2, kh = sh, no
 * dilation, no top/left padding, every window wholly inside the input. */
static int pm_direct_ok(const pcnn_maxpool2d_desc *d) {
    return d->kw == 2 && d->stride_w == 2 && d->dilation_w == 1 && d->pad_left == 0 &&
           d->kh == d->stride_h && d->dilation_h == 1 && d->pad_top == 0 &&
           2 * d->ow <= d->iw && d->oh * d->kh <= d->ih;
}

/*
 * Backward without a scatter for pm_direct_ok shapes. Windows do not overlap, so when every
 * index lies inside its own window each diff_src element receives at most one addition, and
 * the scalar result is: 0 + diff_dst at the index, +0 elsewhere. So each window row is written
 * once, directly: per lane, the even column gets the value where index == its position,
 * the odd column where index == position + 1, +0 otherwise (the even/odd vectors are
 * interleaved back into 2 * PM_V columns). Mask mode: tap == 2 * ky and 2 * ky + 1 (every tap
 * of these windows is in range). Elements outside every window are zeroed.
 * Returns 0 (diff_src partly written) as soon as a block holds an index outside its own
 * window (a tap >= kh * kw): the caller then redoes the plane with the general
 * zero-and-scatter algorithm, which also reports out-of-range indices.
 */
static inline __attribute__((always_inline)) int
pm_bwd_direct(const pcnn_maxpool2d_desc *d, const float *dd, const int32_t *ind,
              const uint8_t *tap, float *ds, const int taps) {
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow, kh = d->kh;
    const pm_vi iota2 = pm_add_i(pm_iota(), pm_iota());
    const pm_vi one = pm_set1_i(1);
    const pm_vf zero = pm_zero_f();
    for (int64_t y = 0; y < oh; ++y) {
        for (int64_t ox0 = 0; ox0 < ow; ox0 += PM_V) {
            const int nl = ow - ox0 < PM_V ? (int)(ow - ox0) : PM_V;
            const int64_t o = y * ow + ox0;
            /* 0 + v: the scalar kernel's sum on a zeroed element (-0 becomes +0) */
            const pm_vf v = pm_add_f(zero, nl == PM_V ? pm_loadu(dd + o) : pm_load_first_f(dd + o, nl));
            const pm_vi at = taps ? pm_bwd_load_taps(tap + o, nl)
                             : nl == PM_V ? pm_loadu_i(ind + o) : pm_load_first_i(ind + o, nl);
            pm_m found = pm_none();
            for (int64_t ky = 0; ky < kh; ++ky) {
                const int64_t r = y * kh + ky;
                const pm_vi pos = taps ? pm_set1_i((int32_t)(2 * ky))
                                       : pm_add_i(iota2, pm_set1_i((int32_t)(r * iw + 2 * ox0)));
                const pm_m m0 = pm_eq_i(at, pos);
                const pm_m m1 = pm_eq_i(at, pm_add_i(pos, one));
                found = pm_or(found, pm_or(m0, m1));
                pm_store_interleaved(ds + r * iw + 2 * ox0, pm_maskz_f(m0, v), pm_maskz_f(m1, v),
                                     2 * nl);
            }
            if (!pm_all(found, pm_first(nl))) {
                return 0;
            }
        }
        if (2 * ow < iw) { /* columns right of the last window */
            for (int64_t ky = 0; ky < kh; ++ky) {
                pm_zero_floats(ds + (y * kh + ky) * iw + 2 * ow, iw - 2 * ow);
            }
        }
    }
    pm_zero_floats(ds + oh * kh * iw, (ih - oh * kh) * iw); /* rows below the last window */
    return 1;
}

/*
 * Planes of up to PM_BWD_CACHED_PLANE floats (16 KiB: they stay in L1 between the zeroing and
 * the scatter) are zeroed whole with memset first, then scattered: int32 indices are checked
 * PM_V at a time, then the scalar kernel's own zeroing and scatter run unchanged
 * (pcnn_maxpool2d_bwd_plane_scatter). Measured (AVX-512 and AVX2, 1 thread, 3x3 stride 2):
 * 13x13 planes 1.9-2.5x faster
 * than the row-interleaved zeroing below (and than the lanes-across-planes group this
 * replaced), 28x28 1.3-1.4x, 56x56 1.1x; 80x80 and 112x112 1.1-1.3x slower, so larger planes
 * keep the interleaved zeroing, which overlaps their stream to memory with the scatter.
 */
#define PM_BWD_CACHED_PLANE 4096
/* Mask mode takes the AVX-512 row path from the same plane size as the int32 mode. From 400
 * floats on it measured 28x28 1.00x, 56x56 0.81x the int32 backward (the decode path 1.34x /
 * 1.20x; README), but there the fuzzer (clang build) found a NaN payload unlike the scalar
 * kernel's: the row path adds with the running sum as the first operand (inline asm), while
 * clang may compile the scalar `ds[at] += dd[i]` with dd first, so of two NaNs the other one
 * wins. The same holds for the int32 row path above 4096 floats with clang (only gcc builds
 * are bit-exact there; the fuzz corpus's planes stay below it). Not fixed: README. */
#define PM_TAPS_S2B_PLANE PM_BWD_CACHED_PLANE

/* 1 when the n indices at p all lie in [0, limit) (limit >= 0): PM_V per compare */
static inline int pm_all_below(const int32_t *p, int64_t n, int32_t limit) {
    int64_t i = 0;
    for (; i + PM_V <= n; i += PM_V) {
        const pm_m all = pm_first(PM_V);
        if (!pm_all(pm_in_range(pm_loadu_i(p + i), limit, all), all)) {
            return 0;
        }
    }
    if (i < n) {
        const pm_m lanes = pm_first((int)(n - i));
        return pm_all(pm_in_range(pm_load_first_i(p + i, (int)(n - i)), limit, lanes), lanes);
    }
    return 1;
}

/* The mask mode's decode (pm_taps_to_offsets, pm_taps_ahead): its own header. */
#include "maxpool2d-taps-bwd-simd.h"

/* One plane t of the backward, either mode (see above). */
static inline __attribute__((always_inline)) void pm_bwd_plane(pm_bwd_ctx *x, int64_t t,
                                                               const int taps) {
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t plane = d->ih * d->iw;
    const int64_t out_plane = d->oh * d->ow;
    const float *dd = x->diff_dst + t * out_plane;
    const int32_t *ind = taps ? NULL : x->indices + t * out_plane;
    const uint8_t *tp = taps ? x->taps + t * out_plane : NULL;
    float *ds = x->diff_src + t * plane;

    if (x->direct && pm_bwd_direct(d, dd, ind, tp, ds, taps)) {
        return;
    }
    if (taps && x->plane) {
        pm_taps_plane_scatter(x, tp, dd, ds);
        return;
    }
    /*
     * The scalar algorithm: zero the plane, then ds[at] += dd[i] in row-major output order
     * (ds starts at +0.0f, so this is bit-for-bit the scalar kernel's sum). The zeroing runs
     * ahead of the scatter one output row at a time (the rows that output row's windows can
     * reach), so the stores that stream the plane to memory overlap the scatter instead of
     * preceding it. Indices are caller data: one at or past the zeroed part (or negative)
     * first zeroes the whole rest of the plane, or is out of range.
     */
    const int64_t iw = d->iw, ow = d->ow;
    int64_t zeroed = 0; /* ds[0, zeroed) is zeroed */
    /* mask mode: two rows' offsets (row y at decoded + (y & 1) * PM_TAPS_ROW_BUF), or a plane's */
    int32_t decoded[2 * PM_TAPS_ROW_BUF];
    int valid[2] = {0, 0};
    /* mask mode: the AVX-512 row path from PM_TAPS_S2B_PLANE floats on (README) */
    const int s2b = x->s2b && plane > (taps ? PM_TAPS_S2B_PLANE : PM_BWD_CACHED_PLANE);
    if (plane <= PM_BWD_CACHED_PLANE && !s2b) {
        if (!taps) {
            if (pm_all_below(ind, out_plane, (int32_t)plane)) {
                pcnn_maxpool2d_bwd_plane_scatter(d, dd, ind, ds);
            } else {
                __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
            }
            return;
        }
        memset(ds, 0, (size_t)plane * sizeof(float)); /* then the mask rows below */
        zeroed = plane;
        if (out_plane <= 2 * PM_TAPS_ROW_MAX) {
            /* the whole plane's offsets first, then one scatter loop: per row, the short
             * loops' exits cost more than the work (13x13: 1.9x the int32 time, README) */
            int32_t *all = decoded; /* rows overlap by their rounding to PM_V: in order */
            int ok = 1;
            for (int64_t y = 0; y < d->oh; ++y) {
                ok &= pm_taps_ahead(x, tp, y, all + y * ow);
            }
            if (!ok) { /* every bad tap is reported, wherever it is */
                __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
                return;
            }
            for (int64_t i = 0; i < out_plane; ++i) {
                ds[all[i]] += dd[i];
            }
            return;
        }
    }
    int64_t y0 = 0;
#ifdef PM_S2B
    if (s2b) {
        y0 = pm_s2b_plane(d, dd, ind, tp, ds, &zeroed, taps);
        if (y0 == d->oh) {
            return;
        }
    }
#endif
    if (taps && ow > PM_TAPS_ROW_MAX) { /* rows too long for the decode buffer */
        pm_zero_floats(ds + zeroed, plane - zeroed);
        if (!pcnn_maxpool2d_bwd_taps_rows(d, dd, tp, ds, y0)) {
            __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
        }
        return;
    }
    if (taps && y0 < d->oh) {
        valid[y0 & 1] = pm_taps_ahead(x, tp, y0, decoded + (y0 & 1) * PM_TAPS_ROW_BUF);
    }
    for (int64_t y = y0; y < d->oh; ++y) {
        int64_t rows = y * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h + 1;
        rows = rows < 0 ? 0 : rows > d->ih ? d->ih : rows;
        if (rows * iw > zeroed) {
            pm_zero_floats(ds + zeroed, rows * iw - zeroed);
            zeroed = rows * iw;
        }
        const float *rd = dd + y * ow;
        if (taps && y + 1 < d->oh) { /* mask mode: the next row's offsets (see pm_taps_ahead) */
            valid[(y + 1) & 1] =
                pm_taps_ahead(x, tp, y + 1, decoded + ((y + 1) & 1) * PM_TAPS_ROW_BUF);
        }
        const int32_t *ri = taps ? decoded + (y & 1) * PM_TAPS_ROW_BUF : ind + y * ow;
        /* mask mode: valid taps lie in this row's windows, inside the zeroed rows */
        if (taps ? valid[y & 1] : pm_all_below(ri, ow, (int32_t)zeroed)) {
            /* every index of the row in [0, zeroed): the scatter without a check per output */
            for (int64_t i = 0; i < ow; ++i) {
                ds[ri[i]] += rd[i];
            }
            continue;
        }
        for (int64_t i = 0; i < ow; ++i) {
            const int32_t at = ri[i];
            if ((uint32_t)at >= (uint64_t)zeroed) { /* rare: not in its own window */
                if (at < 0 || at >= plane) {
                    __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
                    return;
                }
                pm_zero_floats(ds + zeroed, plane - zeroed);
                zeroed = plane;
            }
            ds[at] += rd[i];
        }
    }
    if (zeroed < plane) { /* rows below every window */
        pm_zero_floats(ds + zeroed, plane - zeroed);
    }
}

static void pm_bwd_task(void *p, int64_t t) { pm_bwd_plane(p, t, 0); }
static void pm_bwd_taps_task(void *p, int64_t t) { pm_bwd_plane(p, t, 1); }

static int32_t pm_bwd_run(pm_bwd_ctx *ctx, void (*task)(void *, int64_t)) {
    const pcnn_maxpool2d_desc *d = ctx->d;
    ctx->direct = pm_direct_ok(d);
#ifdef PM_S2B
    ctx->s2b = pm_s2b_ok(d);
#else
    ctx->s2b = 0;
#endif
    ctx->bad_index = 0;
    pcnn_parallel_for_work(d->n * d->c, pm_work(d), task, ctx);
    return __atomic_load_n(&ctx->bad_index, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_RANGE
                                                             : PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t PM_NAME(bwd)(const pcnn_maxpool2d_desc *d, const float *diff_dst,
                                   const int32_t *indices, float *diff_src) {
    pm_bwd_ctx ctx = {.d = d, .diff_dst = diff_dst, .indices = indices, .diff_src = diff_src};
    return pm_bwd_run(&ctx, pm_bwd_task);
}

PCNN_INTERNAL int32_t PM_NAME(bwd_taps)(const pcnn_maxpool2d_desc *d, const float *diff_dst,
                                        const uint8_t *taps, float *diff_src) {
    /* the decode's lane arithmetic is int32: columns as in the forward, rows likewise */
    const int64_t lim = PM_COORD_LIMIT;
    if (!pm_shape_ok(d) || d->ih > lim || d->oh > lim || d->stride_h > lim || d->pad_top > lim ||
        d->kh > lim || d->dilation_h > lim || d->oh * d->stride_h + d->kh * d->dilation_h > lim) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    pm_taps_plane plane;
    if (pm_taps_plane_build(d, &plane)) {
        pm_bwd_ctx ctx = {.d = d, .diff_dst = diff_dst, .taps = taps, .plane = &plane,
                          .diff_src = diff_src};
        return pm_bwd_run(&ctx, pm_bwd_taps_task);
    }
    int32_t dy[256], dx[256], off[256];
    pm_bwd_ctx ctx = {.d = d, .diff_dst = diff_dst, .taps = taps, .tap_dy = dy, .tap_dx = dx,
                      .tap_off = off, .diff_src = diff_src};
    pm_taps_tables(d, dy, dx, off, &ctx.xa, &ctx.xb);
    return pm_bwd_run(&ctx, pm_bwd_taps_task);
}

#endif /* PCNN_MAXPOOL2D_BWD_SIMD_H */
