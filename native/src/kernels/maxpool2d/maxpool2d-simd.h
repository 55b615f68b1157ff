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
 * desc init). Loads are plain where the vector lies inside the src buffer (lanes outside the
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
 *  - Otherwise the scalar algorithm (zero the plane, then add in row-major output order,
 *    which keeps overlapping windows and repeated indices bit-exact), with the zeroing
 *    vectorised and run one output row ahead of the scatter. The scatter itself stays
 *    scalar: the indices are caller data, may repeat, and without AVX-512CD there is no
 *    cheap in-register conflict check.
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
} pm_fwd_ctx;

/* What one plane's blocks share. */
typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *src; /* this plane */
    float *dst;       /* this plane */
    int32_t *ind;     /* this plane, or NULL */
    pm_vi iota_sw;    /* lane * stride_w */
    int s2;           /* stride_w 2, dilation_w 1, kw 2 or 3: pm_block_s2 does every block */
    uintptr_t buf_lo, buf_hi; /* the whole src buffer, for the plain-load checks */
} pm_plane;

/* Stores lanes [0, nl) as output pixels [ox0, ox0 + nl) of row y. */
static inline void pm_put(const pm_plane *pl, int64_t y, int64_t ox0, int nl, pm_vf best,
                          pm_vi best_at) {
    const int64_t o = y * pl->d->ow + ox0;
    if (nl == PM_V) { /* plain stores: masked stores are slow on some cores */
        pm_storeu_f(pl->dst + o, best);
        if (pl->ind != NULL) {
            pm_storeu_i(pl->ind + o, best_at);
        }
    } else {
        const pm_m lanes = pm_first(nl);
        pm_store_f(pl->dst + o, lanes, best);
        if (pl->ind != NULL) {
            pm_store_i(pl->ind + o, lanes, best_at);
        }
    }
}

/* Output pixels [ox0, ox0 + nl) of row y, nl <= PM_V, any position: the general path. */
static inline void pm_block_general(const pm_plane *pl, int64_t y, int64_t ox0, int nl) {
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
            best_at = pm_blend_i(take, best_at, pm_add_i(ix, row_at));
            has = pm_or(has, valid);
        }
    }
    pm_put(pl, y, ox0, nl, best, best_at);
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
    pm_put(pl, y, ox0, nl, best, best_at);
}

/*
 * Stride-2 fast path (pm_plane.s2: stride_w 2, dilation_w 1, kw 2 or 3 = 2 + three), any
 * columns: output pixels [ox0, ox0 + nl) of row y, whose in-range window rows are
 * ky_lo .. ky_hi - 1 (at least one; rows outside the input are the same for every lane and
 * padding never wins, so they are simply skipped). Each window row is loaded once as
 * 2 * PM_V floats and split into even and odd columns (tap 0 = even, tap 1 = odd, tap 2 = the
 * even columns two further on), so a row costs two or three loads and permutes instead of
 * a load pair per tap. Each window row is scanned on its own (first tap initialises, then
 * v > max || isnan(v)) and the row winners are merged in row order by the same rule (the
 * top-of-file argument). `edge`: some lane has a tap column outside the row; then each tap
 * is taken only on the lanes where its column is inside (every window has an in-range
 * column, so every stored lane's row winner is defined). Loads are plain when the rows'
 * 2 * PM_V + 2 floats lie inside the src buffer (lanes outside the row or past nl are never
 * taken nor stored), else masked to the row. `three` and `edge` are constants at every call
 * site (always_inline), so each combination compiles to straight-line code.
 */
/* pm_block_s2's loads near the src buffer's ends, masked to the row. Out of line and cold:
 * inlined, the compiler computes its six masks up front for every block. */
static __attribute__((noinline, cold)) void pm_s2_masked(const float *row, int64_t off0,
                                                         int64_t iw, int three, pm_vf *e,
                                                         pm_vf *o, pm_vf *e2) {
    *e = pm_load_even(row, off0, iw);
    *o = pm_load_even(row, off0 + 1, iw);
    if (three) {
        *e2 = pm_load_even(row, off0 + 2, iw);
    }
}

static inline __attribute__((always_inline)) void pm_block_s2(const pm_plane *pl, int64_t y,
                                                              int64_t ox0, int nl,
                                                              int64_t ky_lo, int64_t ky_hi,
                                                              const int three, const int edge) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw, sh = d->stride_h, dh = d->dilation_h;
    const int64_t off0 = ox0 * 2 - d->pad_left;
    const pm_vi ix0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)off0));
    const pm_vi one = pm_set1_i(1), two = pm_set1_i(2);
    pm_m v0 = pm_none(), v1 = pm_none(), v2 = pm_none();
    if (edge) {
        const pm_m lanes = pm_first(nl);
        v0 = pm_in_range(ix0, (int32_t)iw, lanes);
        v1 = pm_in_range(pm_add_i(ix0, one), (int32_t)iw, lanes);
        v2 = pm_in_range(pm_add_i(ix0, two), (int32_t)iw, lanes);
    }
    const int64_t iy_lo = y * sh - d->pad_top + ky_lo * dh;
    const uintptr_t a_first = (uintptr_t)(pl->src + iy_lo * iw) + (uintptr_t)(off0 * 4);
    const uintptr_t a_last = a_first + (uintptr_t)((ky_hi - 1 - ky_lo) * dh * iw * 4);
    const int plain = a_first >= pl->buf_lo && a_last + (2 * PM_V + 2) * 4 <= pl->buf_hi;
    pm_vf best = pm_zero_f();
    pm_vi best_at = pm_zero_i();
    for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
        const int64_t iy = iy_lo + (ky - ky_lo) * dh;
        const float *row = pl->src + iy * iw;
        const pm_vi at = pm_add_i(ix0, pm_set1_i((int32_t)(iy * iw)));
        pm_vf e, o, e2 = pm_zero_f();
        if (plain) {
            const float *p = (const float *)((uintptr_t)row + (uintptr_t)(off0 * 4));
            pm_even_odd(p, &e, &o);
            if (three) {
                e2 = pm_even_next(p, e);
            }
        } else {
            pm_s2_masked(row, off0, iw, three, &e, &o, &e2);
        }
        pm_vf rb = e;
        pm_vi ra = at;
        pm_m take = edge ? pm_take(v1, v0, o, rb) : pm_gt_or_nan(o, rb);
        rb = pm_blend_f(take, rb, o);
        ra = pm_blend_i(take, ra, pm_add_i(at, one));
        if (three) {
            take = edge ? pm_take(v2, pm_or(v0, v1), e2, rb) : pm_gt_or_nan(e2, rb);
            rb = pm_blend_f(take, rb, e2);
            ra = pm_blend_i(take, ra, pm_add_i(at, two));
        }
        if (ky == ky_lo) {
            best = rb;
            best_at = ra;
        } else {
            take = pm_gt_or_nan(rb, best);
            best = pm_blend_f(take, best, rb);
            best_at = pm_blend_i(take, best_at, ra);
        }
    }
    pm_put(pl, y, ox0, nl, best, best_at);
}

/*
 * pm_block_s2 for a block with nr (a constant: 2 or 3) in-range window rows whose loads are
 * plain, when none of the loaded values is a NaN; returns 0 without storing anything when
 * one is (then pm_block_s2 redoes the block with the full rule). Without NaNs the scalar
 * winner is the first in-range tap, in scan order, whose value equals the window maximum
 * (+0 and -0 compare equal, as in the scalar `>`). So: the maximum m by a max tree (only its
 * numeric value is used, so max's choice between +0 and -0 does not matter), then one pass
 * over the taps from last to first taking every tap equal to m: the last one taken is the
 * first in scan order, and values and indices are moved by blends only (bit-exact). All
 * compares depend on m alone, so the chains are short, where the scan rule chains a
 * compare, a mask-or and a blend per tap. `edge` (some tap column outside the row): those
 * taps read -inf, which cannot raise the maximum, and never count as equal to it.
 */
static inline __attribute__((always_inline)) int pm_block_s2_nonan(const pm_plane *pl,
                                                                   int64_t y, int64_t ox0,
                                                                   int nl, int64_t ky_lo,
                                                                   const int nr,
                                                                   const int three,
                                                                   const int edge) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw;
    const int64_t off0 = ox0 * 2 - d->pad_left;
    const pm_vi ix0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)off0));
    const int64_t iy_lo = y * d->stride_h - d->pad_top + ky_lo * d->dilation_h;
    const int nt = three ? 3 : 2;
    pm_m valid[3] = {pm_none(), pm_none(), pm_none()};
    if (edge) {
        const pm_m lanes = pm_first(nl);
        for (int t = 0; t < nt; ++t) {
            valid[t] = pm_in_range(pm_add_i(ix0, pm_set1_i(t)), (int32_t)iw, lanes);
        }
    }
    const pm_vf ninf = pm_set1_f(-__builtin_inff());
    pm_vf v[3][3];
    pm_vi at[3];
    pm_vf m = pm_zero_f();
    pm_m nan = pm_none();
    for (int r = 0; r < nr; ++r) {
        const int64_t iy = iy_lo + r * d->dilation_h;
        /* off0 < 0 only on edge blocks; the caller checked the reads stay in the buffer */
        const float *p = (const float *)((uintptr_t)(pl->src + iy * iw) + (uintptr_t)(off0 * 4));
        at[r] = pm_add_i(ix0, pm_set1_i((int32_t)(iy * iw)));
        pm_even_odd(p, &v[r][0], &v[r][1]);
        if (three) {
            v[r][2] = pm_even_next(p, v[r][0]);
        }
        if (edge) {
            for (int t = 0; t < nt; ++t) {
                v[r][t] = pm_blend_f(valid[t], ninf, v[r][t]);
            }
        }
        nan = pm_or(nan, pm_unord(v[r][0], v[r][1]));
        /* pm_max_f(later, earlier): see the no-indices case below */
        pm_vf rm = pm_max_f(v[r][1], v[r][0]);
        if (three) {
            nan = pm_or(nan, pm_unord(v[r][2], v[r][2]));
            rm = pm_max_f(v[r][2], rm);
        }
        m = r == 0 ? rm : pm_max_f(rm, m);
    }
    if (pm_any(nan)) {
        return 0;
    }
    if (pl->ind == NULL) {
        /* Inference: no index, so no equality pass. pm_max_f(a, b) is `a > b ? a : b`
         * (x86 MAXPS), so folding the taps in scan order as max(later, earlier) keeps the
         * earlier of equal values: m is the scalar winner's value bit for bit, -0/+0 ties
         * included (the scalar `>` keeps the first). Merging row maxima in row order by the
         * same rule gives the same tap. Padded taps read -inf and cannot change m's bits. */
        pm_put(pl, y, ox0, nl, m, pm_zero_i());
        return 1;
    }
    pm_vf best = v[nr - 1][nt - 1];
    pm_vi best_at = pm_add_i(at[nr - 1], pm_set1_i(nt - 1));
    for (int r = nr - 1; r >= 0; --r) {
        for (int t = (r == nr - 1 ? nt - 2 : nt - 1); t >= 0; --t) {
            pm_m eq = pm_eq_f(v[r][t], m);
            if (edge) {
                eq = pm_and(eq, valid[t]); /* all in-range taps -inf: a padded one is equal */
            }
            best = pm_blend_f(eq, best, v[r][t]);
            best_at = pm_blend_i(eq, best_at, pm_add_i(at[r], pm_set1_i(t)));
        }
    }
    pm_put(pl, y, ox0, nl, best, best_at);
    return 1;
}

/* An s2 block: the NaN-free path for 2 or 3 rows with plain loads, else (or on a NaN)
 * pm_block_s2. */
static inline __attribute__((always_inline)) void pm_block_s2_any(const pm_plane *pl,
                                                                  int64_t y, int64_t ox0,
                                                                  int nl, int64_t ky_lo,
                                                                  int64_t ky_hi,
                                                                  const int three,
                                                                  const int edge) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t nr = ky_hi - ky_lo;
    if (nr == 2 || nr == 3) {
        /* the same plain-load condition as pm_block_s2 */
        const int64_t iy_first = y * d->stride_h - d->pad_top + ky_lo * d->dilation_h;
        const int64_t iy_last = y * d->stride_h - d->pad_top + (ky_hi - 1) * d->dilation_h;
        const int64_t off0 = ox0 * 2 - d->pad_left;
        const uintptr_t a_first =
            (uintptr_t)(pl->src + iy_first * d->iw) + (uintptr_t)(off0 * 4);
        const uintptr_t a_last = (uintptr_t)(pl->src + iy_last * d->iw) + (uintptr_t)(off0 * 4);
        if (a_first >= pl->buf_lo && a_last + (2 * PM_V + 2) * 4 <= pl->buf_hi) {
            if (nr == 2 ? pm_block_s2_nonan(pl, y, ox0, nl, ky_lo, 2, three, edge)
                        : pm_block_s2_nonan(pl, y, ox0, nl, ky_lo, 3, three, edge)) {
                return;
            }
        }
    }
    pm_block_s2(pl, y, ox0, nl, ky_lo, ky_hi, three, edge);
}

/*
 * Output rows [ya, yb) of a pm_plane.s2 plane whose nr = kh (2 or 3) window rows all lie in
 * the input, with the set-up hoisted out of the block and row loops: the rows' addresses and
 * index vectors advance by stride_h rows per output row. Measured in cache (1 thread, 64
 * planes of 56x56, 2x2 stride 2: two blocks per output row), the per-row and per-block
 * address, row-range and bounds arithmetic of the general s2 loop cost as much as the vector
 * work itself. Inside blocks follow pm_block_s2_nonan's rule and order: the max tree folded
 * in scan order as max(later, earlier), whose value m is the scalar winner's bit for bit
 * (see the no-indices case there), so only the index needs the equality pass, last tap to
 * first; a block holding a NaN is redone by pm_block_s2. The caller checked that the reads
 * of the last row's rightmost inside block ((2 * PM_V + 2) floats from its first column)
 * stay in the src buffer, so every inside block loads plainly; other blocks go to
 * pm_block_s2_any as before.
 */
static inline __attribute__((always_inline)) void pm_rows_s2_inner(const pm_plane *pl,
                                                                   int64_t ya, int64_t yb,
                                                                   int64_t xa, int64_t xb,
                                                                   const int nr,
                                                                   const int three) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw, ow = d->ow, padl = d->pad_left;
    const int64_t step = d->stride_h * iw; /* src floats from one output row to the next */
    const int64_t rstep = d->dilation_h * iw;
    const int nt = three ? 3 : 2;
    const int64_t iy0 = ya * d->stride_h - d->pad_top;
    /* column -padl of row iy0: may lie before the row, so kept as an integer */
    uintptr_t p0 = (uintptr_t)(pl->src + iy0 * iw) - (uintptr_t)(padl * 4);
    /* lane i of at0: the plane offset of column 2 * i - padl of row iy0 */
    pm_vi at0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)(iy0 * iw - padl)));
    const pm_vi at_step = pm_set1_i((int32_t)step), at_rstep = pm_set1_i((int32_t)rstep);
    float *dst = pl->dst + ya * ow;
    int32_t *ind = pl->ind != NULL ? pl->ind + ya * ow : NULL;
    for (int64_t y = ya; y < yb; ++y) {
        pm_vi atr[3];
        for (int r = 0; r < nr; ++r) {
            atr[r] = r == 0 ? at0 : pm_add_i(atr[r - 1], at_rstep);
        }
        for (int64_t ox0 = 0;; ox0 += PM_V) {
            if (ox0 + PM_V > ow) {
                ox0 = ow - PM_V;
            }
            if (ox0 < xa || ox0 + PM_V > xb) {
                pm_block_s2_any(pl, y, ox0, PM_V, 0, nr, three, 1);
            } else {
                pm_vf v[3][3];
                pm_vf m = pm_zero_f();
                pm_m nan = pm_none();
                for (int r = 0; r < nr; ++r) {
                    const float *p = (const float *)(p0 + (uintptr_t)((r * rstep + 2 * ox0) * 4));
                    pm_even_odd(p, &v[r][0], &v[r][1]);
                    nan = pm_or(nan, pm_unord(v[r][0], v[r][1]));
                    pm_vf rm = pm_max_f(v[r][1], v[r][0]);
                    if (three) {
                        v[r][2] = pm_even_next(p, v[r][0]);
                        nan = pm_or(nan, pm_unord(v[r][2], v[r][2]));
                        rm = pm_max_f(v[r][2], rm);
                    }
                    m = r == 0 ? rm : pm_max_f(rm, m);
                }
                if (pm_any(nan)) {
                    pm_block_s2(pl, y, ox0, PM_V, 0, nr, three, 0);
                } else {
                    pm_storeu_f(dst + ox0, m);
                    if (ind != NULL) {
                        const pm_vi cv = pm_set1_i((int32_t)(2 * ox0));
                        pm_vi best_at = pm_zero_i();
                        for (int r = nr - 1; r >= 0; --r) {
                            const pm_vi at = pm_add_i(atr[r], cv);
                            for (int t = nt - 1; t >= 0; --t) {
                                const pm_vi tap = t == 0 ? at : pm_add_i(at, pm_set1_i(t));
                                best_at = r == nr - 1 && t == nt - 1
                                              ? tap /* taken when no earlier tap equals m */
                                              : pm_blend_i(pm_eq_f(v[r][t], m), best_at, tap);
                            }
                        }
                        pm_storeu_i(ind + ox0, best_at);
                    }
                }
            }
            if (ox0 + PM_V >= ow) {
                break;
            }
        }
        p0 += (uintptr_t)(step * 4);
        at0 = pm_add_i(at0, at_step);
        dst += ow;
        if (ind != NULL) {
            ind += ow;
        }
    }
}

/*
 * One window row of an inside stride-2 block: its maximum h (taps folded in scan order as
 * max(later, earlier), so h is the first maximal tap's value bit for bit), the lanes holding
 * a NaN, and (want_at) the plane offset of the row's first tap equal to h, from `at` (tap 0).
 */
static inline __attribute__((always_inline)) pm_vf pm_row_win(const float *p, const int three,
                                                               pm_vi at, const int want_at,
                                                               pm_vi *win_at, pm_m *nan) {
    pm_vf e, o;
    pm_even_odd(p, &e, &o);
    pm_m n = pm_unord(e, o);
    pm_vf h = pm_max_f(o, e);
    pm_vi a = pm_add_i(at, pm_set1_i(1));
    if (three) {
        const pm_vf e2 = pm_even_next(p, e);
        n = pm_or(n, pm_unord(e2, e2));
        h = pm_max_f(e2, h);
        if (want_at) {
            a = pm_blend_i(pm_eq_f(o, h), pm_add_i(at, pm_set1_i(2)), a);
        }
    }
    if (want_at) {
        *win_at = pm_blend_i(pm_eq_f(e, h), a, at);
    }
    *nan = n;
    return h;
}

#define PM_REUSE_BLOCKS 32

/*
 * pm_rows_s2_inner for 3 window rows whose last is the next output row's first (stride_h =
 * 2 * dilation_h: pool_resnet), ceil(ow / PM_V) <= PM_REUSE_BLOCKS: each inside block keeps
 * its last row's winner (value, index, NaN lanes) for the next output row, so an output row
 * loads and reduces two window rows instead of three. The window winner is the first row
 * whose maximum equals the window maximum m (rows folded in order as max(later, earlier)),
 * and in it the first tap equal to it: the first tap equal to m in scan order, as in
 * pm_block_s2_nonan; a block with a NaN in any of its rows is redone by pm_block_s2.
 */
static inline __attribute__((always_inline)) void pm_rows_s2_reuse(const pm_plane *pl,
                                                                   int64_t ya, int64_t yb,
                                                                   int64_t xa, int64_t xb,
                                                                   const int three) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw, ow = d->ow, padl = d->pad_left;
    const int64_t step = d->stride_h * iw, rstep = d->dilation_h * iw;
    const int64_t iy0 = ya * d->stride_h - d->pad_top;
    uintptr_t p0 = (uintptr_t)(pl->src + iy0 * iw) - (uintptr_t)(padl * 4);
    pm_vi at0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)(iy0 * iw - padl)));
    const pm_vi at_step = pm_set1_i((int32_t)step), at_rstep = pm_set1_i((int32_t)rstep);
    float *dst = pl->dst + ya * ow;
    int32_t *ind = pl->ind != NULL ? pl->ind + ya * ow : NULL;
    const int want_at = ind != NULL;
    pm_vf kept_h[PM_REUSE_BLOCKS];
    pm_vi kept_at[PM_REUSE_BLOCKS];
    pm_m kept_nan[PM_REUSE_BLOCKS];
    for (int64_t y = ya; y < yb; ++y) {
        const pm_vi at1 = pm_add_i(at0, at_rstep), at2 = pm_add_i(at1, at_rstep);
        int k = 0;
        for (int64_t ox0 = 0;; ox0 += PM_V, ++k) {
            if (ox0 + PM_V > ow) {
                ox0 = ow - PM_V;
            }
            if (ox0 < xa || ox0 + PM_V > xb) {
                pm_block_s2_any(pl, y, ox0, PM_V, 0, 3, three, 1);
            } else {
                const float *p = (const float *)(p0 + (uintptr_t)(2 * ox0 * 4));
                const pm_vi cv = pm_set1_i((int32_t)(2 * ox0));
                pm_vi a0 = pm_zero_i(), a1 = pm_zero_i(), a2 = pm_zero_i();
                pm_m n0, n1, n2;
                pm_vf h0;
                if (y == ya) {
                    h0 = pm_row_win(p, three, pm_add_i(at0, cv), want_at, &a0, &n0);
                } else {
                    h0 = kept_h[k];
                    a0 = kept_at[k];
                    n0 = kept_nan[k];
                }
                const pm_vf h1 = pm_row_win(p + rstep, three, pm_add_i(at1, cv), want_at, &a1, &n1);
                const pm_vf h2 =
                    pm_row_win(p + 2 * rstep, three, pm_add_i(at2, cv), want_at, &a2, &n2);
                kept_h[k] = h2;
                kept_at[k] = a2;
                kept_nan[k] = n2;
                if (pm_any(pm_or(n0, pm_or(n1, n2)))) {
                    pm_block_s2(pl, y, ox0, PM_V, 0, 3, three, 0);
                } else {
                    const pm_vf m = pm_max_f(h2, pm_max_f(h1, h0));
                    pm_storeu_f(dst + ox0, m);
                    if (want_at) {
                        pm_vi a = pm_blend_i(pm_eq_f(h1, m), a2, a1);
                        a = pm_blend_i(pm_eq_f(h0, m), a, a0);
                        pm_storeu_i(ind + ox0, a);
                    }
                }
            }
            if (ox0 + PM_V >= ow) {
                break;
            }
        }
        p0 += (uintptr_t)(step * 4);
        at0 = pm_add_i(at0, at_step);
        dst += ow;
        if (ind != NULL) {
            ind += ow;
        }
    }
}

/* All rows of a pm_plane.s2 plane: whole vectors from the left, the last one overlapping its
 * neighbour when ow is not a multiple of PM_V (those pixels are written twice, same values).
 * Output columns [xa, xb) have every tap column inside the row. */
static inline __attribute__((always_inline)) void pm_rows_s2(const pm_plane *pl, int64_t xa,
                                                             int64_t xb, const int three) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t ih = d->ih, oh = d->oh, ow = d->ow;
    /* Output rows [ya, yb) have every window row inside the input: pm_rows_s2_inner /
     * pm_rows_s2_reuse when their blocks are whole vectors with an inside one and the last
     * row's reads stay in the buffer (see there). Rows are still visited top to bottom: with
     * the inner rows first and the top one after them, the plane's first input row was a
     * cold miss the prefetcher had not fetched, and pool_resnet-sized inputs (past the L2)
     * took 1.25-1.45x the time. */
    const int64_t sh = d->stride_h, pt = d->pad_top, span = (d->kh - 1) * d->dilation_h;
    const int64_t ya = (pt + sh - 1) / sh;
    int64_t yb = ih - 1 - span + pt < 0 ? 0 : (ih - 1 - span + pt) / sh + 1;
    yb = yb > oh ? oh : yb;
    int inner = 0; /* 2: pm_rows_s2_inner of 2 rows; 3: pm_rows_s2_reuse */
    if ((d->kh == 2 || d->kh == 3) && ow > PM_V && xb - xa >= PM_V && ya < yb) {
        const int64_t iy_last = (yb - 1) * sh - pt + span;
        const uintptr_t a_last = (uintptr_t)(pl->src + iy_last * d->iw) +
                                 (uintptr_t)((2 * (xb - PM_V) - d->pad_left) * 4);
        if (a_last + (2 * PM_V + 2) * 4 > pl->buf_hi) {
            inner = 0;
        } else if (d->kh == 2) {
            inner = 2;
        } else if (sh == 2 * d->dilation_h && (ow + PM_V - 1) / PM_V <= PM_REUSE_BLOCKS) {
            inner = 3;
        } /* other 3-row windows: the per-row loop below (compile time) */
    }
    /* part 0: rows [0, ya) (all rows without an inner loop), then the inner rows; part 1:
     * rows [yb, oh). (The inner call inside the row loop itself made the inner loops ~1.9x
     * slower in cache: code generation.) */
    const int64_t stop0 = inner != 0 ? ya : oh;
    for (int part = 0; part < 2; ++part) {
        if (part == 1) {
            if (inner == 0) {
                break;
            }
            if (inner == 2) {
                pm_rows_s2_inner(pl, ya, yb, xa, xb, 2, three);
            } else {
                pm_rows_s2_reuse(pl, ya, yb, xa, xb, three);
            }
        }
        for (int64_t y = part == 0 ? 0 : yb; y < (part == 0 ? stop0 : oh); ++y) {
            /* in-range window rows: iy = y*sh - pt + ky*dh in [0, ih) */
            const int64_t iy0 = y * d->stride_h - d->pad_top;
            int64_t ky_lo = 0, ky_hi = d->kh;
            while (ky_lo < ky_hi && iy0 + ky_lo * d->dilation_h < 0) {
                ++ky_lo;
            }
            while (ky_hi > ky_lo && iy0 + (ky_hi - 1) * d->dilation_h >= ih) {
                --ky_hi;
            }
            if (ow <= PM_V) {
                if (xa > 0 || xb < ow) {
                    pm_block_s2_any(pl, y, 0, (int)ow, ky_lo, ky_hi, three, 1);
                } else {
                    pm_block_s2_any(pl, y, 0, (int)ow, ky_lo, ky_hi, three, 0);
                }
                continue;
            }
            for (int64_t ox0 = 0;; ox0 += PM_V) {
                if (ox0 + PM_V > ow) {
                    ox0 = ow - PM_V;
                }
                if (ox0 < xa || ox0 + PM_V > xb) {
                    pm_block_s2_any(pl, y, ox0, PM_V, ky_lo, ky_hi, three, 1);
                } else {
                    pm_block_s2_any(pl, y, ox0, PM_V, ky_lo, ky_hi, three, 0);
                }
                if (ox0 + PM_V >= ow) {
                    break;
                }
            }
        }
    }
}

static inline void pm_span_general(const pm_plane *pl, int64_t y, int64_t from, int64_t to) {
    for (int64_t ox0 = from; ox0 < to; ox0 += PM_V) {
        pm_block_general(pl, y, ox0, to - ox0 < PM_V ? (int)(to - ox0) : PM_V);
    }
}

/* One output plane into pl->dst / pl->ind. */
static void pm_fwd_plane(const pm_plane *plp) {
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
            pm_rows_s2(&pl, xa, xb, 1);
        } else {
            pm_rows_s2(&pl, xa, xb, 0);
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

static void pm_fwd_task(void *p, int64_t t) {
    const pm_fwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t ih = d->ih, iw = d->iw, oplane = d->oh * d->ow;
    pm_plane pl;
    pl.d = d;
    pl.src = x->src + t * ih * iw;
    pl.dst = x->dst + t * oplane;
    pl.ind = x->indices != NULL ? x->indices + t * oplane : NULL;
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

PCNN_INTERNAL int32_t PM_NAME(fwd)(const pcnn_maxpool2d_desc *d, const float *src, float *dst,
                                   int32_t *indices) {
    if (!pm_shape_ok(d)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    pm_fwd_ctx ctx = {d, src, dst, indices};
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

/* ---- backward ---- */

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *diff_dst;
    const int32_t *indices;
    float *diff_src;
    int direct;    /* pm_bwd_direct applies (pm_direct_ok) */
    int bad_index; /* set with __atomic_store_n by any task that meets a bad index */
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
 * interleaved back into 2 * PM_V columns). Elements outside every window are zeroed.
 * Returns 0 (diff_src partly written) as soon as a block holds an index outside its own
 * window: the caller then redoes the plane with the general zero-and-scatter algorithm,
 * which also reports out-of-range indices.
 */
static int pm_bwd_direct(const pcnn_maxpool2d_desc *d, const float *dd, const int32_t *ind,
                         float *ds) {
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
            const pm_vi at = nl == PM_V ? pm_loadu_i(ind + o) : pm_load_first_i(ind + o, nl);
            pm_m found = pm_none();
            for (int64_t ky = 0; ky < kh; ++ky) {
                const int64_t r = y * kh + ky;
                const pm_vi pos = pm_add_i(iota2, pm_set1_i((int32_t)(r * iw + 2 * ox0)));
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

static void pm_bwd_task(void *p, int64_t t) {
    pm_bwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t plane = d->ih * d->iw;
    const int64_t out_plane = d->oh * d->ow;
    const float *dd = x->diff_dst + t * out_plane;
    const int32_t *ind = x->indices + t * out_plane;
    float *ds = x->diff_src + t * plane;

    if (x->direct && pm_bwd_direct(d, dd, ind, ds)) {
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
    if (plane <= PM_BWD_CACHED_PLANE) {
        if (!pcnn_maxpool2d_bwd_plane(d, dd, ind, ds)) {
            __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
        }
        return;
    }
    int64_t zeroed = 0; /* ds[0, zeroed) is zeroed */
    for (int64_t y = 0; y < d->oh; ++y) {
        int64_t rows = y * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h + 1;
        rows = rows < 0 ? 0 : rows > d->ih ? d->ih : rows;
        if (rows * iw > zeroed) {
            pm_zero_floats(ds + zeroed, rows * iw - zeroed);
            zeroed = rows * iw;
        }
        const int32_t *ri = ind + y * ow;
        const float *rd = dd + y * ow;
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

PCNN_INTERNAL int32_t PM_NAME(bwd)(const pcnn_maxpool2d_desc *d, const float *diff_dst,
                                   const int32_t *indices, float *diff_src) {
    pm_bwd_ctx ctx = {d, diff_dst, indices, diff_src, pm_direct_ok(d), 0};
    const int64_t planes = d->n * d->c;
    const int64_t work = pm_work(d);
    pcnn_parallel_for_work(planes, work, pm_bwd_task, &ctx);
    return __atomic_load_n(&ctx.bad_index, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_RANGE
                                                            : PCNN_STATUS_OK;
}
