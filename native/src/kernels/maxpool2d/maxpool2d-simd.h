/*
 * maxpool2d, SIMD template shared by maxpool2d-avx2.c and maxpool2d-avx512.c.
 *
 * The including file defines the vector layer first (PM_V lanes, the types pm_vf / pm_vi /
 * pm_m and the small pm_* helpers) and PM_NAME(op), which gives the exported kernel names.
 * Everything here is written once against that layer.
 *
 * Forward: lanes are PM_V neighbouring output pixels of one output row; one task per (n, c)
 * plane. Each lane loads its own input value per window tap (stride 1: one load; stride 2:
 * two loads and an even-lane de-interleave; other strides: a masked gather).
 *  - General blocks (windows touching the padding, row ends) scan the taps in
 *    the scalar kernel's row-major order and take v when
 *        valid && (!has || v > best || isnan(v))
 *    which is the scalar rule lane by lane: `has` marks lanes that already met an in-range
 *    tap (the first in-range tap initialises), padded taps are never valid, a NaN always
 *    replaces (the last NaN wins) and a tie never does.
 *  - Inside blocks (every tap of every stored lane in range: PM_V lanes, or a whole short
 *    row) need no validity masks (lanes past a short row are computed from whatever was
 *    loaded and never stored): each window row is scanned on its own and the row winners
 *    are merged in row order with the same rule.
 *    That gives the same winner: a scan picks "the last NaN if there is one, else the first
 *    maximum", and merging an earlier part's winner A with a later part's winner B by
 *    (B > A || isnan(B)) picks B exactly when B's part holds the last NaN, or when there is
 *    no NaN and B's maximum is strictly greater (a tie keeps the earlier A).
 * Values only move by blends, so the stored floats are bit-identical to the scalar kernel's,
 * NaN payloads included, and so are the indices (int32 lanes; plane offsets fit, checked at
 * desc init). Loads are plain where the vector lies inside the src buffer (lanes outside the
 * row are loaded but never taken) and masked to the row near the buffer's two ends, so
 * nothing outside the src buffer is read. Measured on the benchmark shapes: plain loads and
 * plain stores for whole vectors each gave a large gain over masked ones on this machine.
 *
 * Backward: the scalar algorithm (zero the plane, then add in row-major output order, which
 * keeps overlapping windows and repeated indices bit-exact), with the zeroing and the index
 * range check vectorised. The scatter itself stays scalar: the indices are caller data, may
 * repeat, and without AVX-512CD there is no cheap in-register conflict check.
 */
#include <string.h>

#include "core/pcnn_internal.h"

/* Lane arithmetic is in int32: refuse (UNSUPPORTED -> lower ISA) shapes whose column
 * coordinates could leave a comfortable int32 range. Real shapes are far below it. */
#define PM_COORD_LIMIT ((int64_t)1 << 29)

static int pm_shape_ok(const pcnn_maxpool2d_desc *d) {
    const int64_t lim = PM_COORD_LIMIT;
    if (d->iw > lim || d->ow > lim || d->stride_w > lim || d->dilation_w > lim ||
        d->kw > lim || d->pad_left > lim) {
        return 0;
    }
    /* largest lane coordinate: (ow - 1 + PM_V) * sw + (kw - 1) * dw, plus the second
     * de-interleave load's reach (2 * PM_V) */
    int64_t a, b, c;
    if (pcnn_mul_i64(d->ow + PM_V, d->stride_w, &a) || pcnn_mul_i64(d->kw, d->dilation_w, &b) ||
        pcnn_add_i64(a, b, &c) || c + 2 * PM_V > lim) {
        return 0;
    }
    return 1;
}

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *src;
    float *dst;
    int32_t *indices;
} pm_fwd_ctx;

/* What one plane's blocks share. */
typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *src; /* this plane */
    float *dst;       /* this plane */
    int32_t *ind;     /* this plane, or NULL */
    pm_vi iota_sw;    /* lane * stride_w */
    uintptr_t buf_lo, buf_hi; /* the whole src buffer, for the plain-load checks */
} pm_plane;

/* Output pixels [ox0, ox0 + nl) of row y, nl <= PM_V, any position: the general path. */
static inline void pm_block_general(const pm_plane *pl, int64_t y, int64_t ox0, int nl) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t ih = d->ih, iw = d->iw, ow = d->ow;
    const int64_t sw = d->stride_w, dw = d->dilation_w;
    const pm_m lanes = pm_first(nl);
    /* input column of tap kx = 0 for every lane */
    const int64_t off0 = ox0 * sw - d->pad_left;
    const pm_vi ix0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)off0));
    pm_vf best = pm_zero_f();
    pm_vi best_at = pm_zero_i();
    pm_m has = pm_none();
    for (int64_t ky = 0; ky < d->kh; ++ky) {
        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
        if (iy < 0 || iy >= ih) {
            continue;
        }
        const float *row = pl->src + iy * iw;
        const pm_vi row_at = pm_set1_i((int32_t)(iy * iw));
        for (int64_t kx = 0; kx < d->kw; ++kx) {
            const int64_t off = off0 + kx * dw;
            const pm_vi ix = pm_add_i(ix0, pm_set1_i((int32_t)(kx * dw)));
            const pm_m valid = pm_in_range(ix, (int32_t)iw, lanes);
            if (!pm_any(valid)) {
                continue;
            }
            /* A plain load is much faster than a masked one (measured: masked loads halve
             * the streaming rate), and lanes outside the row are never taken (`valid`), so
             * read plainly whenever the vector lies inside the src buffer. */
            const uintptr_t a = (uintptr_t)row + (uintptr_t)(off * 4);
            pm_vf v;
            if (sw == 1) {
                v = (a >= pl->buf_lo && a + PM_V * 4 <= pl->buf_hi)
                        ? pm_loadu((const float *)a)
                        : pm_load_window(row, off, iw);
            } else if (sw == 2) {
                v = (a >= pl->buf_lo && a + 2 * PM_V * 4 <= pl->buf_hi)
                        ? pm_even((const float *)a)
                        : pm_load_even(row, off, iw);
            } else {
                v = pm_gather(row, ix, valid);
            }
            const pm_m take = pm_take(valid, has, v, best);
            best = pm_blend_f(take, best, v);
            best_at = pm_blend_i(take, best_at, pm_add_i(ix, row_at));
            has = pm_or(has, valid);
        }
    }
    if (nl == PM_V) { /* plain stores: masked stores are slow on some cores */
        pm_storeu_f(pl->dst + y * ow + ox0, best);
        if (pl->ind != NULL) {
            pm_storeu_i(pl->ind + y * ow + ox0, best_at);
        }
    } else {
        pm_store_f(pl->dst + y * ow + ox0, lanes, best);
        if (pl->ind != NULL) {
            pm_store_i(pl->ind + y * ow + ox0, lanes, best_at);
        }
    }
}

/* One tap of an inside block of nl lanes: the input values (lanes >= nl: anything). */
static inline pm_vf pm_tap_inside(const pm_plane *pl, const float *row, int64_t off, pm_vi ix,
                                  int nl) {
    const int64_t sw = pl->d->stride_w;
    if (sw == 1) {
        if (nl == PM_V) {
            return pm_loadu(row + off); /* all PM_V columns are inside the row */
        }
        const uintptr_t a = (uintptr_t)(row + off);
        return (a + PM_V * 4 <= pl->buf_hi) ? pm_loadu(row + off)
                                            : pm_load_window(row, off, pl->d->iw);
    }
    if (sw == 2) {
        /* reads [off, off + 2 * PM_V): may pass the row's end, not the buffer's */
        const uintptr_t a = (uintptr_t)(row + off);
        return (a + 2 * PM_V * 4 <= pl->buf_hi) ? pm_even(row + off)
                                                : pm_load_even(row, off, pl->d->iw);
    }
    return pm_gather(row, ix, pm_first(nl));
}

/* nl <= PM_V output pixels from ox0 whose every tap is inside the input (rows and columns): per
 * window row the first tap initialises and the others take (v > max || isnan(v)); the row
 * winners are merged in row order by the same rule (see the top of the file for why this is
 * the scalar result; the split shortens the compare/blend dependency chain). */
static inline void pm_block_inside(const pm_plane *pl, int64_t y, int64_t ox0, int nl) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw, ow = d->ow;
    const int64_t sw = d->stride_w, dw = d->dilation_w;
    const int64_t off0 = ox0 * sw - d->pad_left;
    const pm_vi ix0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)off0));
    pm_vf best = pm_zero_f();
    pm_vi best_at = pm_zero_i();
    for (int64_t ky = 0; ky < d->kh; ++ky) {
        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
        const float *row = pl->src + iy * iw;
        const pm_vi row_at = pm_set1_i((int32_t)(iy * iw));
        pm_vi ix = ix0;
        pm_vf rbest = pm_tap_inside(pl, row, off0, ix, nl);
        pm_vi rbest_at = pm_add_i(ix, row_at);
        for (int64_t kx = 1; kx < d->kw; ++kx) {
            ix = pm_add_i(ix0, pm_set1_i((int32_t)(kx * dw)));
            const pm_vf v = pm_tap_inside(pl, row, off0 + kx * dw, ix, nl);
            const pm_m take = pm_gt_or_nan(v, rbest);
            rbest = pm_blend_f(take, rbest, v);
            rbest_at = pm_blend_i(take, rbest_at, pm_add_i(ix, row_at));
        }
        if (ky == 0) {
            best = rbest;
            best_at = rbest_at;
        } else {
            const pm_m take = pm_gt_or_nan(rbest, best);
            best = pm_blend_f(take, best, rbest);
            best_at = pm_blend_i(take, best_at, rbest_at);
        }
    }
    if (nl == PM_V) {
        pm_storeu_f(pl->dst + y * ow + ox0, best);
        if (pl->ind != NULL) {
            pm_storeu_i(pl->ind + y * ow + ox0, best_at);
        }
    } else {
        const pm_m lanes = pm_first(nl);
        pm_store_f(pl->dst + y * ow + ox0, lanes, best);
        if (pl->ind != NULL) {
            pm_store_i(pl->ind + y * ow + ox0, lanes, best_at);
        }
    }
}

static inline void pm_span_general(const pm_plane *pl, int64_t y, int64_t from, int64_t to) {
    for (int64_t ox0 = from; ox0 < to; ox0 += PM_V) {
        pm_block_general(pl, y, ox0, to - ox0 < PM_V ? (int)(to - ox0) : PM_V);
    }
}

static void pm_fwd_task(void *p, int64_t t) {
    const pm_fwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow;
    const int64_t sw = d->stride_w, padl = d->pad_left;
    pm_plane pl;
    pl.d = d;
    pl.src = x->src + t * ih * iw;
    pl.dst = x->dst + t * oh * ow;
    pl.ind = x->indices != NULL ? x->indices + t * oh * ow : NULL;
    pl.iota_sw = pm_mullo_i(pm_iota(), pm_set1_i((int32_t)sw));
    pl.buf_lo = (uintptr_t)x->src;
    pl.buf_hi = (uintptr_t)(x->src + d->n * d->c * ih * iw);

    /* Output columns [xa, xb) have every tap column inside the row. When [ga, xb) holds a
     * whole vector, it is covered by inside blocks (the last one overlapping its neighbour:
     * the same pixels are simply written twice with the same values) and only the edges take
     * the general path. */
    const int64_t xa = (padl + sw - 1) / sw; /* first ox with ox*sw - padl >= 0 */
    /* inside needs ox*sw - padl <= last_col */
    const int64_t last_col = iw - 1 - (d->kw - 1) * d->dilation_w;
    int64_t xb = last_col + padl < 0 ? 0 : (last_col + padl) / sw + 1;
    if (xb > ow) {
        xb = ow;
    }
    /* the left edge as whole general vectors: one full block is cheaper than a short one
     * followed by an extra inside block */
    const int64_t ga = (xa + PM_V - 1) / PM_V * PM_V;
    for (int64_t y = 0; y < oh; ++y) {
        const int64_t iy_first = y * d->stride_h - d->pad_top;
        const int y_inside = iy_first >= 0 && iy_first + (d->kh - 1) * d->dilation_h < ih;
        if (y_inside && ow < PM_V && xa == 0 && xb == ow) {
            pm_block_inside(&pl, y, 0, (int)ow); /* a short row, wholly inside */
            continue;
        }
        if (!y_inside || xb - ga < PM_V) {
            pm_span_general(&pl, y, 0, ow);
            continue;
        }
        pm_span_general(&pl, y, 0, ga);
        for (int64_t ox0 = ga;; ox0 += PM_V) {
            if (ox0 + PM_V > xb) {
                ox0 = xb - PM_V;
            }
            pm_block_inside(&pl, y, ox0, PM_V);
            if (ox0 + PM_V >= xb) {
                break;
            }
        }
        pm_span_general(&pl, y, xb, ow);
    }
}

PCNN_INTERNAL int32_t PM_NAME(fwd)(const pcnn_maxpool2d_desc *d, const float *src, float *dst,
                                   int32_t *indices) {
    if (!pm_shape_ok(d)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    pm_fwd_ctx ctx = {d, src, dst, indices};
    /* work in compared elements, saturated (only a thread-count hint) */
    int64_t work;
    if (pcnn_mul_i64(d->n * d->c * d->oh * d->ow, d->kh * d->kw, &work)) {
        work = INT64_MAX;
    }
    pcnn_parallel_for_work(d->n * d->c, work, pm_fwd_task, &ctx);
    return PCNN_STATUS_OK;
}

/* ---- backward ---- */

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *diff_dst;
    const int32_t *indices;
    float *diff_src;
    int bad_index; /* set with __atomic_store_n by any task that meets a bad index */
} pm_bwd_ctx;

static void pm_bwd_task(void *p, int64_t t) {
    pm_bwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t plane = d->ih * d->iw;
    const int64_t out_plane = d->oh * d->ow;
    const float *dd = x->diff_dst + t * out_plane;
    const int32_t *ind = x->indices + t * out_plane;
    float *ds = x->diff_src + t * plane;

    /* all indices of the plane in [0, plane)? (plane <= INT32_MAX, checked at desc init) */
    if (!pm_indices_ok(ind, out_plane, (int32_t)plane)) {
        __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
        return;
    }
    pm_zero_floats(ds, plane);
    /* ds starts at +0.0f, so ds[at] += dd[i] is bit-for-bit the scalar kernel's sum */
    for (int64_t i = 0; i < out_plane; ++i) {
        ds[ind[i]] += dd[i];
    }
}

PCNN_INTERNAL int32_t PM_NAME(bwd)(const pcnn_maxpool2d_desc *d, const float *diff_dst,
                                   const int32_t *indices, float *diff_src) {
    pm_bwd_ctx ctx = {d, diff_dst, indices, diff_src, 0};
    pcnn_parallel_for_work(d->n * d->c, d->n * d->c * (d->ih * d->iw + d->oh * d->ow),
                           pm_bwd_task, &ctx);
    return __atomic_load_n(&ctx.bad_index, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_RANGE
                                                            : PCNN_STATUS_OK;
}
