/*
 * maxpool2d, SIMD template (part of maxpool2d-simd.h, included from it at this point): the
 * stride-2 forward paths (pm_plane.s2: stride_w 2, dilation_w 1, kw 2 or 3): the s2 blocks
 * (pm_block_s2, pm_block_s2_nonan, pm_block_s2_any) and the row loops over a whole plane
 * (pm_rows_s2, with pm_rows_s2_inner, pm_rows_s2_reuse (maxpool2d-s2reuse-simd.h) and
 * pm_rows_s2_k2 (maxpool2d-s2k2-simd.h) for the rows whose windows lie inside the input). Uses the vector layer and pm_plane / pm_put / pm_block_general of
 * maxpool2d-simd.h; its own header only to keep the files short (same translation unit, so
 * the always_inline paths compile as before). `tapm` (compile-time, every function here): tap
 * mode, see maxpool2d-simd.h; the index vectors are then window row r's tap 0, r * kw, plus
 * the column tap t, the same for every lane and block.
 */
#ifndef PCNN_MAXPOOL2D_S2ROWS_SIMD_H
#define PCNN_MAXPOOL2D_S2ROWS_SIMD_H

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
                                                              const int three, const int edge,
                                                              const int tapm) {
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
        const pm_vi at = tapm ? pm_set1_i((int32_t)(ky * d->kw))
                              : pm_add_i(ix0, pm_set1_i((int32_t)(iy * iw)));
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
    pm_put(pl, y, ox0, nl, best, best_at, tapm);
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
                                                                   const int edge,
                                                                   const int tapm) {
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
        at[r] = tapm ? pm_set1_i((int32_t)((ky_lo + r) * d->kw))
                     : pm_add_i(ix0, pm_set1_i((int32_t)(iy * iw)));
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
    if (!tapm && pl->ind == NULL) {
        /* Inference: no index, so no equality pass. pm_max_f(a, b) is `a > b ? a : b`
         * (x86 MAXPS), so folding the taps in scan order as max(later, earlier) keeps the
         * earlier of equal values: m is the scalar winner's value bit for bit, -0/+0 ties
         * included (the scalar `>` keeps the first). Merging row maxima in row order by the
         * same rule gives the same tap. Padded taps read -inf and cannot change m's bits. */
        pm_put(pl, y, ox0, nl, m, pm_zero_i(), 0);
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
    pm_put(pl, y, ox0, nl, best, best_at, tapm);
    return 1;
}

/* An s2 block: the NaN-free path for 2 or 3 rows with plain loads, else (or on a NaN)
 * pm_block_s2. */
static inline __attribute__((always_inline)) void pm_block_s2_any(const pm_plane *pl,
                                                                  int64_t y, int64_t ox0,
                                                                  int nl, int64_t ky_lo,
                                                                  int64_t ky_hi,
                                                                  const int three,
                                                                  const int edge,
                                                                  const int tapm) {
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
            if (nr == 2 ? pm_block_s2_nonan(pl, y, ox0, nl, ky_lo, 2, three, edge, tapm)
                        : pm_block_s2_nonan(pl, y, ox0, nl, ky_lo, 3, three, edge, tapm)) {
                return;
            }
        }
    }
    pm_block_s2(pl, y, ox0, nl, ky_lo, ky_hi, three, edge, tapm);
}

/* The inner row loops' step to the next output row: the top-left address and the index
 * vector of its first window row move down stride_h input rows, the outputs one row. */
static inline __attribute__((always_inline)) void pm_s2_next_row(uintptr_t *p0, pm_vi *at0,
                                                                 float **dst, int32_t **ind,
                                                                 int64_t step, pm_vi at_step,
                                                                 int64_t ow) {
    *p0 += (uintptr_t)(step * 4);
    *at0 = pm_add_i(*at0, at_step);
    *dst += ow;
    if (*ind != NULL) {
        *ind += ow;
    }
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
 * of the last row's rightmost inside block (2 * PM_V floats from its first column, 2 more
 * with 3-wide windows) stay in the src buffer, so every inside block loads plainly; other
 * blocks go to pm_block_s2_any as before.
 */
static inline __attribute__((always_inline)) void pm_rows_s2_inner(const pm_plane *pl,
                                                                   int64_t ya, int64_t yb,
                                                                   int64_t xa, int64_t xb,
                                                                   const int nr,
                                                                   const int three,
                                                                   const int tapm) {
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
    uint8_t *tp = tapm ? pl->taps + ya * ow : NULL;
    for (int64_t y = ya; y < yb; ++y) {
        pm_vi atr[3];
        for (int r = 0; r < nr; ++r) {
            atr[r] = tapm ? pm_set1_i(r * nt) : r == 0 ? at0 : pm_add_i(atr[r - 1], at_rstep);
        }
        for (int64_t ox0 = 0;; ox0 += PM_V) {
            if (ox0 + PM_V > ow) {
                ox0 = ow - PM_V;
            }
            if (ox0 < xa || ox0 + PM_V > xb) {
                pm_block_s2_any(pl, y, ox0, PM_V, 0, nr, three, 1, tapm);
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
                    pm_block_s2(pl, y, ox0, PM_V, 0, nr, three, 0, tapm);
                } else {
                    pm_storeu_f(dst + ox0, m);
                    if (tapm || ind != NULL) {
                        const pm_vi cv = pm_set1_i((int32_t)(2 * ox0));
                        pm_vi best_at = pm_zero_i();
                        for (int r = nr - 1; r >= 0; --r) {
                            const pm_vi at = tapm ? atr[r] : pm_add_i(atr[r], cv);
                            for (int t = nt - 1; t >= 0; --t) {
                                const pm_vi tap = t == 0 ? at : pm_add_i(at, pm_set1_i(t));
                                best_at = r == nr - 1 && t == nt - 1
                                              ? tap /* taken when no earlier tap equals m */
                                              : pm_blend_i(pm_eq_f(v[r][t], m), best_at, tap);
                            }
                        }
                        if (tapm) {
                            pm_storeu_taps(tp + ox0, best_at);
                        } else {
                            pm_storeu_i(ind + ox0, best_at);
                        }
                    }
                }
            }
            if (ox0 + PM_V >= ow) {
                break;
            }
        }
        pm_s2_next_row(&p0, &at0, &dst, &ind, step, at_step, ow);
        if (tapm) {
            tp += ow;
        }
    }
}

/* pm_rows_s2_reuse: 3-row windows sharing a row with the next output row (pool_resnet) */
#include "maxpool2d-s2reuse-simd.h"

/* pm_rows_s2_k2: 2x2 windows without left padding (pool_mid), a loop of its own */
#include "maxpool2d-s2k2-simd.h"

/* All rows of a pm_plane.s2 plane: whole vectors from the left, the last one overlapping its
 * neighbour when ow is not a multiple of PM_V (those pixels are written twice, same values).
 * Output columns [xa, xb) have every tap column inside the row. */
static inline __attribute__((always_inline)) void pm_rows_s2(const pm_plane *pl, int64_t xa,
                                                             int64_t xb, const int three,
                                                             const int tapm) {
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
        /* 2-wide windows read 2 * PM_V floats from a block's first column, 3-wide 2 more */
        if (a_last + (2 * PM_V + (three ? 2 : 0)) * 4 > pl->buf_hi) {
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
            if (inner == 2 && !three && d->pad_left == 0 && xb == ow) {
                pm_rows_s2_k2(pl, ya, yb, tapm); /* every block of these rows is inside */
            } else if (inner == 2) {
                pm_rows_s2_inner(pl, ya, yb, xa, xb, 2, three, tapm);
            } else {
                pm_rows_s2_reuse(pl, ya, yb, xa, xb, three, tapm);
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
                    pm_block_s2_any(pl, y, 0, (int)ow, ky_lo, ky_hi, three, 1, tapm);
                } else {
                    pm_block_s2_any(pl, y, 0, (int)ow, ky_lo, ky_hi, three, 0, tapm);
                }
                continue;
            }
            for (int64_t ox0 = 0;; ox0 += PM_V) {
                if (ox0 + PM_V > ow) {
                    ox0 = ow - PM_V;
                }
                if (ox0 < xa || ox0 + PM_V > xb) {
                    pm_block_s2_any(pl, y, ox0, PM_V, ky_lo, ky_hi, three, 1, tapm);
                } else {
                    pm_block_s2_any(pl, y, ox0, PM_V, ky_lo, ky_hi, three, 0, tapm);
                }
                if (ox0 + PM_V >= ow) {
                    break;
                }
            }
        }
    }
}

#endif /* PCNN_MAXPOOL2D_S2ROWS_SIMD_H */
