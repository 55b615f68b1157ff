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
 *  - The same for the compact mask (one tap byte per output; see "---- backward ----").
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

/* ---- backward ---- */

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
 * the scatter) are zeroed whole with memset first, then scattered: the scalar kernel's own
 * plane function (pcnn_maxpool2d_bwd_plane). Measured (AVX-512 and AVX2, 1 thread, 3x3 stride 2): 13x13 planes 1.9-2.5x faster
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
            if (!pcnn_maxpool2d_bwd_plane(d, dd, ind, ds)) {
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
    int32_t dy[256], dx[256], off[256];
    pm_bwd_ctx ctx = {.d = d, .diff_dst = diff_dst, .taps = taps, .tap_dy = dy, .tap_dx = dx,
                      .tap_off = off, .diff_src = diff_src};
    pm_taps_tables(d, dy, dx, off, &ctx.xa, &ctx.xb);
    return pm_bwd_run(&ctx, pm_bwd_taps_task);
}
