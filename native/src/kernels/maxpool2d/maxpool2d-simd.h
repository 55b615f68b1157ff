/*
 * maxpool2d, SIMD template shared by maxpool2d-avx2.c and maxpool2d-avx512.c, each of which
 * includes it once after its vector layer. This file holds the forward (PM_NAME(fwd),
 * PM_NAME(fwd_taps)); the backward is maxpool2d-bwd-simd.h, included at its end (split only
 * to keep each file short: one translation unit, the same code).
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
 *  - Stride 2, kw 2 or 3, no column dilation (pm_block_s2; pool_lenet, pool_mid and
 *    pool_resnet): every block of every row. A window row is loaded once as 2 * PM_V floats
 *    and split into even / odd columns by permutes; rows outside the input are skipped
 *    (the same for every lane). Inside blocks of 2 or 3 rows whose values hold no NaN
 *    (unordered compares check) take the window maximum by a max tree, then
 *    the first tap equal to it (pm_block_s2_nonan), which is the scalar winner without
 *    NaNs and keeps the compare chains short; otherwise the row-scan-and-merge rule above.
 * Values only move by blends, so the stored floats are bit-identical to the scalar kernel's,
 * NaN payloads included, and so are the indices (int32 lanes; plane offsets fit, checked at
 * desc init).
 * Tap mode (PM_NAME(fwd_taps), the compact mask: one byte per output, the winner's window tap
 * ky * kw + kx): the same code with `tapm` a compile-time constant (pm_fwd_plane_m, the small
 * planes' `out`). The index vectors that are blended along with the values become
 * lane-independent constants: tap ky * kw + kx where the int32 mode has the plane offset
 * iy * iw + ix (row and column terms drop the lane and block positions), so every path picks
 * the same tap by the same blends; the stores narrow the int32 lanes to bytes
 * (pm_storeu_taps / pm_store_taps). Where a row's winner is carried to the next output row
 * (pm_rows_s2_reuse) its tap is rebased from window row 2 to row 0. Loads are plain where the vector lies inside the src buffer (lanes outside the
 * row are loaded but never taken) and masked to the row near the buffer's two ends, so
 * nothing outside the src buffer is read. Measured on the benchmark shapes: plain loads and
 * plain stores for whole vectors each gave a large gain over masked ones on this machine.
 * (Tried and dropped: staging each plane and streaming it out with non-temporal stores was
 * slower on every benchmark shape here.)
 *
 * Backward: maxpool2d-bwd-simd.h.
 */
#include <string.h>

#include "core/pcnn_internal.h"
#include "kernels/maxpool2d/maxpool2d.h"

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
    uint8_t *taps; /* tap mode (then indices is NULL), or NULL */
} pm_fwd_ctx;

/* What one plane's blocks share. */
typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *src; /* this plane */
    float *dst;       /* this plane */
    int32_t *ind;     /* this plane, or NULL */
    uint8_t *taps;    /* this plane in tap mode, or NULL */
    pm_vi iota_sw;    /* lane * stride_w */
    int s2;           /* stride_w 2, dilation_w 1, kw 2 or 3: pm_block_s2 does every block */
    uintptr_t buf_lo, buf_hi; /* the whole src buffer, for the plain-load checks */
} pm_plane;

/* Stores lanes [0, nl) as output pixels [ox0, ox0 + nl) of row y (tapm: best_at holds taps,
 * stored as bytes). always_inline: with the tap copies gcc had made it a call (main inlined
 * it everywhere). */
static inline __attribute__((always_inline)) void pm_put(const pm_plane *pl, int64_t y,
                                                         int64_t ox0, int nl, pm_vf best,
                                                         pm_vi best_at, const int tapm) {
    const int64_t o = y * pl->d->ow + ox0;
    if (nl == PM_V) { /* plain stores: masked stores are slow on some cores */
        pm_storeu_f(pl->dst + o, best);
        if (tapm) {
            pm_storeu_taps(pl->taps + o, best_at);
        } else if (pl->ind != NULL) {
            pm_storeu_i(pl->ind + o, best_at);
        }
    } else {
        const pm_m lanes = pm_first(nl);
        pm_store_f(pl->dst + o, lanes, best);
        if (tapm) {
            pm_store_taps(pl->taps + o, nl, best_at);
        } else if (pl->ind != NULL) {
            pm_store_i(pl->ind + o, lanes, best_at);
        }
    }
}

/* Output pixels [ox0, ox0 + nl) of row y, nl <= PM_V, any position: the general path. */
static inline void pm_block_general(const pm_plane *pl, int64_t y, int64_t ox0, int nl,
                                    const int tapm) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t ih = d->ih, iw = d->iw;
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
            best_at = pm_blend_i(take, best_at,
                                 tapm ? pm_set1_i((int32_t)(ky * d->kw + kx))
                                      : pm_add_i(ix, row_at));
            has = pm_or(has, valid);
        }
    }
    pm_put(pl, y, ox0, nl, best, best_at, tapm);
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
static inline void pm_block_inside(const pm_plane *pl, int64_t y, int64_t ox0, int nl,
                                   const int tapm) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw;
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
        pm_vi rbest_at = tapm ? pm_set1_i((int32_t)(ky * d->kw)) : pm_add_i(ix, row_at);
        for (int64_t kx = 1; kx < d->kw; ++kx) {
            ix = pm_add_i(ix0, pm_set1_i((int32_t)(kx * dw)));
            const pm_vf v = pm_tap_inside(pl, row, off0 + kx * dw, ix, nl);
            const pm_m take = pm_gt_or_nan(v, rbest);
            rbest = pm_blend_f(take, rbest, v);
            rbest_at = pm_blend_i(take, rbest_at,
                                  tapm ? pm_set1_i((int32_t)(ky * d->kw + kx))
                                       : pm_add_i(ix, row_at));
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
    pm_put(pl, y, ox0, nl, best, best_at, tapm);
}

/* Stride-2 blocks and rows (pm_block_s2*, pm_rows_s2*): their own header. */
#include "maxpool2d-s2rows-simd.h"

static inline void pm_span_general(const pm_plane *pl, int64_t y, int64_t from, int64_t to,
                                   const int tapm) {
    for (int64_t ox0 = from; ox0 < to; ox0 += PM_V) {
        pm_block_general(pl, y, ox0, to - ox0 < PM_V ? (int)(to - ox0) : PM_V, tapm);
    }
}

/* One output plane into pl->dst / pl->ind (tapm: pl->taps). */
static inline __attribute__((always_inline)) void pm_fwd_plane_m(const pm_plane *plp,
                                                                 const int tapm) {
    const pm_plane pl = *plp;
    const pcnn_maxpool2d_desc *d = pl.d;
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow;
    const int64_t sw = d->stride_w, padl = d->pad_left;

    /* Output columns [xa, xb) have every tap column inside the row. */
    const int64_t xa = (padl + sw - 1) / sw; /* first ox with ox*sw - padl >= 0 */
    /* inside needs ox*sw - padl <= last_col */
    const int64_t last_col = iw - 1 - (d->kw - 1) * d->dilation_w;
    int64_t xb = last_col + padl < 0 ? 0 : (last_col + padl) / sw + 1;
    if (xb > ow) {
        xb = ow;
    }
    if (pl.s2) {
        if (d->kw == 3) {
            pm_rows_s2(&pl, xa, xb, 1, tapm);
        } else {
            pm_rows_s2(&pl, xa, xb, 0, tapm);
        }
        return;
    }
    /* When [ga, xb) holds a whole vector, it is covered by inside blocks (the last one
     * overlapping its neighbour: the same pixels are simply written twice with the same
     * values) and only the edges take the general path. The left edge as whole general
     * vectors: one full block is cheaper than a short one followed by an extra inside block */
    const int64_t ga = (xa + PM_V - 1) / PM_V * PM_V;
    for (int64_t y = 0; y < oh; ++y) {
        const int64_t iy_first = y * d->stride_h - d->pad_top;
        const int y_inside = iy_first >= 0 && iy_first + (d->kh - 1) * d->dilation_h < ih;
        if (y_inside && ow < PM_V && xa == 0 && xb == ow) {
            pm_block_inside(&pl, y, 0, (int)ow, tapm); /* a short row, wholly inside */
            continue;
        }
        if (!y_inside || xb - ga < PM_V) {
            pm_span_general(&pl, y, 0, ow, tapm);
            continue;
        }
        pm_span_general(&pl, y, 0, ga, tapm);
        for (int64_t ox0 = ga;; ox0 += PM_V) {
            if (ox0 + PM_V > xb) {
                ox0 = xb - PM_V;
            }
            pm_block_inside(&pl, y, ox0, PM_V, tapm);
            if (ox0 + PM_V >= xb) {
                break;
            }
        }
        pm_span_general(&pl, y, xb, ow, tapm);
    }
}

/* tapm a compile-time constant in each copy, and each copy its own function: in one function
 * gcc's growth limits stopped inlining small helpers (pm_first became a call) */
static __attribute__((noinline)) void pm_fwd_plane_taps(const pm_plane *pl) {
    pm_fwd_plane_m(pl, 1);
}
static void pm_fwd_plane(const pm_plane *pl) {
    if (pl->taps != NULL) {
        pm_fwd_plane_taps(pl);
    } else {
        pm_fwd_plane_m(pl, 0);
    }
}

static void pm_fwd_task(void *p, int64_t t) {
    const pm_fwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t ih = d->ih, iw = d->iw, oplane = d->oh * d->ow;
    pm_plane pl;
    pl.d = d;
    pl.src = x->src + t * ih * iw;
    pl.dst = x->dst + t * oplane;
    pl.ind = x->indices != NULL ? x->indices + t * oplane : NULL;
    pl.taps = x->taps != NULL ? x->taps + t * oplane : NULL;
    pl.iota_sw = pm_mullo_i(pm_iota(), pm_set1_i((int32_t)d->stride_w));
    pl.s2 = d->stride_w == 2 && d->dilation_w == 1 && (d->kw == 2 || d->kw == 3);
    pl.buf_lo = (uintptr_t)x->src;
    pl.buf_hi = (uintptr_t)(x->src + d->n * d->c * ih * iw);

    pm_fwd_plane(&pl);
}

#include "maxpool2d-small-planes.h"

/*
 * The thread-count hint of both passes, in pcnn_parallel_for_work's units (one participant
 * per ~2^18, calibrated as multiply-adds: 2-5 us of vector work). Pooling is memory-bound,
 * so count the elements a call moves (input plane, output plane, indices) at
 * PM_WORK_PER_ELEMENT units each: measured, pool_lenet's forward (221k input, 55k output and
 * 55k index elements) takes ~37 us on one AVX-512 thread, ~110 ps per element, about 8
 * multiply-adds' time. (Counting compares instead, as before, put 37 us jobs below the
 * two-thread threshold.) Saturated: only a hint.
 */
#define PM_WORK_PER_ELEMENT 8

static int64_t pm_work(const pcnn_maxpool2d_desc *d) {
    int64_t per_plane, work;
    if (pcnn_add_i64(d->ih * d->iw, 2 * d->oh * d->ow, &per_plane) ||
        pcnn_mul_i64(d->n * d->c, per_plane, &work) ||
        pcnn_mul_i64(work, PM_WORK_PER_ELEMENT, &work)) {
        return INT64_MAX;
    }
    return work;
}

/* The forward with indices (int32 plane offsets), taps (bytes) or neither (both NULL). */
static int32_t pm_fwd_run(const pcnn_maxpool2d_desc *d, const float *src, float *dst,
                          int32_t *indices, uint8_t *taps) {
    if (!pm_shape_ok(d)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    pm_fwd_ctx ctx = {d, src, dst, indices, taps};
    const int64_t work = pm_work(d);
    if (pm_small_ok(d)) {
        const int64_t planes = d->n * d->c;
        pm_small_ctx sctx = {ctx, planes / PM_V};
        pcnn_parallel_for_work(sctx.groups + planes % PM_V, work, pm_small_task, &sctx);
        return PCNN_STATUS_OK;
    }
    pcnn_parallel_for_work(d->n * d->c, work, pm_fwd_task, &ctx);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t PM_NAME(fwd)(const pcnn_maxpool2d_desc *d, const float *src, float *dst,
                                   int32_t *indices) {
    return pm_fwd_run(d, src, dst, indices, NULL);
}

/* The compact mask: taps[i] = the winner's ky * kw + kx (kh * kw <= 256: the API checks). */
PCNN_INTERNAL int32_t PM_NAME(fwd_taps)(const pcnn_maxpool2d_desc *d, const float *src,
                                        float *dst, uint8_t *taps) {
    return pm_fwd_run(d, src, dst, NULL, taps);
}

/* The backward (pm_bwd_*, PM_NAME(bwd) and PM_NAME(bwd_taps)): its own header. */
#include "maxpool2d-bwd-simd.h"
