/*
 * maxpool2d, SIMD template (part of maxpool2d-s2rows-simd.h, included from it before
 * pm_rows_s2): the row-reuse loop of 3-row stride-2 windows whose last row is the next output
 * row's first (pool_resnet: pm_row_win, pm_reuse_block, pm_rows_s2_reuse). Its own header only
 * to keep the files short (same translation unit, so the always_inline paths compile as before).
 */
#ifndef PCNN_MAXPOOL2D_S2REUSE_SIMD_H
#define PCNN_MAXPOOL2D_S2REUSE_SIMD_H

/*
 * One window row of an inside stride-2 block: its maximum h (taps folded in scan order as
 * max(later, earlier), so h is the first maximal tap's value bit for bit), the lanes holding
 * a NaN, and (want_at) the plane offset of the row's first tap equal to h, from `at` (tap 0).
 * odd (compile-time, 3-wide rows only): the taps come from pm_three_taps_odd (loads from p + 1,
 * whole cache lines when pad_left is 1 and rows start on one); the same values either way.
 */
static inline __attribute__((always_inline)) pm_vf pm_row_win(const float *p, const int three,
                                                               pm_vi at, const int want_at,
                                                               pm_vi *win_at, pm_m *nan,
                                                               const int pad0, const int odd) {
    pm_vf e, o, e2 = pm_zero_f();
    if (three && odd) {
        pm_three_taps_odd(p, &e, &o, &e2);
    } else {
        pm_even_odd(p, &e, &o);
        if (three) {
            e2 = pm_even_next(p, e);
        }
    }
    if (pad0) {
        /* lane 0's tap 0 is the left padding (column -1; p[0] lies in the buffer but not in
         * the row): -inf cannot raise the maximum, and it is kept out of the equality pass */
        e = pm_blend_f(pm_first(1), e, pm_set1_f(-__builtin_inff()));
    }
    pm_m n = pm_unord(e, o);
    pm_vf h = pm_max_f(o, e);
    pm_vi a = pm_add_i(at, pm_set1_i(1));
    if (three) {
        n = pm_or(n, pm_unord(e2, e2));
        h = pm_max_f(e2, h);
        if (want_at) {
            a = pm_blend_i(pm_eq_f(o, h), pm_add_i(at, pm_set1_i(2)), a);
        }
    }
    if (want_at) {
        pm_m eq0 = pm_eq_f(e, h);
        if (pad0) {
            eq0 = pm_and(eq0, pm_range(-1, PM_V - 1)); /* lanes 1 .. PM_V - 1 */
        }
        *win_at = pm_blend_i(eq0, a, at);
    }
    *nan = n;
    return h;
}

#define PM_REUSE_BLOCKS 32

/* pm_block_s2 in the tap mode for a reuse block with a NaN, out of line (pm_reuse_block's
 * cold_redo: the unrolled copies of pm_rows_s2_reuse_fixed would otherwise each inline it) */
static __attribute__((noinline, cold)) void pm_reuse_redo_taps(const pm_plane *pl, int64_t y,
                                                               int64_t ox0, int three,
                                                               int pad0) {
    if (three && pad0) {
        pm_block_s2(pl, y, ox0, PM_V, 0, 3, 1, 1, 1);
    } else if (three) {
        pm_block_s2(pl, y, ox0, PM_V, 0, 3, 1, 0, 1);
    } else if (pad0) {
        pm_block_s2(pl, y, ox0, PM_V, 0, 3, 0, 1, 1);
    } else {
        pm_block_s2(pl, y, ox0, PM_V, 0, 3, 0, 0, 1);
    }
}

/*
 * One inside block of pm_rows_s2_reuse at output row y: p is its first window row's tap-0
 * address, at0c .. at2c the three rows' tap-0 index vectors, *kh / *ka / *kn the winner of
 * the row the previous output row ended with (read unless first_row; replaced by this
 * block's last row). pad0: the block is output columns [0, PM_V) with pad_left 1, so lane 0's
 * tap 0 is padding (pm_row_win); everything else about it is inside. cold_redo (tap mode
 * only): a block with a NaN is redone by a call to pm_reuse_redo_taps, not inline.
 */
static inline __attribute__((always_inline)) void pm_reuse_block(
    const pm_plane *pl, int64_t y, int64_t ox0, const int first_row, const float *p,
    int64_t rstep, pm_vi at0c, pm_vi at1c, pm_vi at2c, float *dst, int32_t *ind, uint8_t *tp,
    pm_vf *kh, pm_vi *ka, pm_m *kn, const int three, const int pad0, const int want_at,
    const int tapm, const int odd, const int cold_redo) {
    pm_vi a0 = pm_zero_i(), a1 = pm_zero_i(), a2 = pm_zero_i();
    pm_m n0, n1, n2;
    pm_vf h0;
    if (first_row) {
        h0 = pm_row_win(p, three, at0c, want_at, &a0, &n0, pad0, odd);
    } else {
        h0 = *kh;
        /* tapm: the kept tap is of window row 2, now row 0 (at2c - at0c = 2 * kw) */
        a0 = tapm ? pm_add_i(*ka, pm_set1_i(three ? -6 : -4)) : *ka;
        n0 = *kn;
    }
    const pm_vf h1 = pm_row_win(p + rstep, three, at1c, want_at, &a1, &n1, pad0, odd);
    const pm_vf h2 = pm_row_win(p + 2 * rstep, three, at2c, want_at, &a2, &n2, pad0, odd);
    *kh = h2;
    *ka = a2;
    *kn = n2;
    if (pm_any(pm_or(n0, pm_or(n1, n2)))) {
        if (tapm && cold_redo) {
            pm_reuse_redo_taps(pl, y, ox0, three, pad0);
        } else {
            pm_block_s2(pl, y, ox0, PM_V, 0, 3, three, pad0, tapm);
        }
    } else {
        const pm_vf m = pm_max_f(h2, pm_max_f(h1, h0));
        pm_storeu_f(dst + ox0, m);
        if (want_at) {
            pm_vi a = pm_blend_i(pm_eq_f(h1, m), a2, a1);
            a = pm_blend_i(pm_eq_f(h0, m), a, a0);
            if (tapm) {
                pm_storeu_taps(tp + ox0, a);
            } else {
                pm_storeu_i(ind + ox0, a);
            }
        }
    }
}

/*
 * One output row of pm_rows_s2_reuse_fixed (tap mode): its nb blocks, the last one
 * overlapping its neighbour when ow is not a multiple of PM_V. first: the first output row
 * (no kept winners yet). nb and first are constants, so the block loop unrolls and the kept
 * winners kh / ka / kn are indexed by constants: gcc then keeps them in registers across
 * rows, where pm_rows_s2_reuse_w's arrays go to the stack and back for every block.
 */
static inline __attribute__((always_inline)) void pm_reuse_row_fixed(
    const pm_plane *pl, int64_t y, const int first, uintptr_t p0, int64_t rstep, pm_vi at1,
    pm_vi at2, float *dst, uint8_t *tp, pm_vf *kh, pm_vi *ka, pm_m *kn, const int nb,
    const int three, const int pad0, const int odd) {
    const int64_t ow = pl->d->ow;
#pragma GCC unroll 4
    for (int k = 0; k < nb; ++k) {
        const int64_t ox0 = k < nb - 1 ? (int64_t)k * PM_V : ow - PM_V;
        const float *p = (const float *)(p0 + (uintptr_t)(2 * ox0 * 4));
        pm_reuse_block(pl, y, ox0, first, p, rstep, pm_zero_i(), at1, at2, dst, NULL, tp,
                       &kh[k], &ka[k], &kn[k], three, k == 0 && pad0, 1, 1, odd, 1);
    }
}

/*
 * pm_rows_s2_reuse_w in the tap mode when every block of the rows is a reuse block and there
 * are nb of them (a constant, at most 4, with PM_V 16: 4 blocks' kept values and taps are 8
 * of AVX-512's 32 vector registers; AVX2's 16 would spill). pad0 as in pm_rows_s2_reuse_w.
 * The same blocks in the same order as there, so the same results bit for bit; only where the
 * kept winners live differs. pool_resnet (ow 56, 4 blocks) against the generic loop, on a
 * Zen 4 host (maxpool2d README-history.md, session 31): 0.85-0.88x the time in cache,
 * 0.91-0.92x at full size. Without the mask (noidx, int32) the same unrolling measured
 * 1.03-1.3x slower, so those keep the generic loop.
 */
static inline __attribute__((always_inline)) void pm_rows_s2_reuse_fixed(
    const pm_plane *pl, int64_t ya, int64_t yb, const int nb, const int three, const int pad0,
    const int odd) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw, ow = d->ow;
    const int64_t step = d->stride_h * iw, rstep = d->dilation_h * iw;
    uintptr_t p0 = (uintptr_t)(pl->src + (ya * d->stride_h - d->pad_top) * iw) -
                   (uintptr_t)(d->pad_left * 4);
    float *dst = pl->dst + ya * ow;
    uint8_t *tp = pl->taps + ya * ow;
    /* window row r's tap 0 is r * kw for every lane and block */
    const int nt = three ? 3 : 2;
    const pm_vi at1 = pm_set1_i(nt), at2 = pm_set1_i(2 * nt);
    pm_vf kh[4] = {pm_zero_f(), pm_zero_f(), pm_zero_f(), pm_zero_f()};
    pm_vi ka[4] = {pm_zero_i(), pm_zero_i(), pm_zero_i(), pm_zero_i()};
    pm_m kn[4] = {pm_none(), pm_none(), pm_none(), pm_none()};
    pm_reuse_row_fixed(pl, ya, 1, p0, rstep, at1, at2, dst, tp, kh, ka, kn, nb, three, pad0, odd);
    for (int64_t y = ya + 1; y < yb; ++y) {
        p0 += (uintptr_t)(step * 4);
        dst += ow;
        tp += ow;
        pm_reuse_row_fixed(pl, y, 0, p0, rstep, at1, at2, dst, tp, kh, ka, kn, nb, three, pad0,
                           odd);
    }
}

/* pm_rows_s2_reuse_fixed in the tap mode for 3-wide windows and nb = 2, 3 or 4 (a constant
 * in each copy) */
static inline __attribute__((always_inline)) void pm_rows_s2_reuse_nb(const pm_plane *pl,
                                                                      int64_t ya, int64_t yb,
                                                                      int64_t nb, const int pad0,
                                                                      const int odd) {
    if (nb == 2) {
        pm_rows_s2_reuse_fixed(pl, ya, yb, 2, 1, pad0, odd);
    } else if (nb == 3) {
        pm_rows_s2_reuse_fixed(pl, ya, yb, 3, 1, pad0, odd);
    } else {
        pm_rows_s2_reuse_fixed(pl, ya, yb, 4, 1, pad0, odd);
    }
}

/*
 * pm_rows_s2_inner for 3 window rows whose last is the next output row's first (stride_h =
 * 2 * dilation_h: pool_resnet), ceil(ow / PM_V) <= PM_REUSE_BLOCKS: each inside block keeps
 * its last row's winner (value, index, NaN lanes) for the next output row, so an output row
 * loads and reduces two window rows instead of three. The window winner is the first row
 * whose maximum equals the window maximum m (rows folded in order as max(later, earlier)),
 * and in it the first tap equal to it: the first tap equal to m in scan order, as in
 * pm_block_s2_nonan; a block with a NaN in any of its rows is redone by pm_block_s2.
 * With pad_left 1 (pool_resnet) the left block, whose lane 0 alone reaches the padding, is
 * one of these blocks too (pm_row_win's pad0) instead of a general edge block, when the
 * float before its first row lies in the src buffer (it is loaded, never used).
 */
static inline __attribute__((always_inline)) void pm_rows_s2_reuse_w(const pm_plane *pl,
                                                                     int64_t ya, int64_t yb,
                                                                     int64_t xa, int64_t xb,
                                                                     const int three,
                                                                     const int want_at,
                                                                     const int tapm,
                                                                     const int odd) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw, ow = d->ow, padl = d->pad_left;
    const int64_t step = d->stride_h * iw, rstep = d->dilation_h * iw;
    const int64_t iy0 = ya * d->stride_h - d->pad_top;
    uintptr_t p0 = (uintptr_t)(pl->src + iy0 * iw) - (uintptr_t)(padl * 4);
    pm_vi at0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)(iy0 * iw - padl)));
    const pm_vi at_step = pm_set1_i((int32_t)step), at_rstep = pm_set1_i((int32_t)rstep);
    float *dst = pl->dst + ya * ow;
    int32_t *ind = pl->ind != NULL ? pl->ind + ya * ow : NULL;
    uint8_t *tp = tapm ? pl->taps + ya * ow : NULL;
    /* tapm: window row r's tap 0 is r * kw for every lane and block */
    const int nt = three ? 3 : 2;
    const pm_vi tap1 = pm_set1_i(nt), tap2 = pm_set1_i(2 * nt);
    const int pad0 = padl == 1 && xa == 1 && xb >= PM_V && p0 >= pl->buf_lo;
    pm_vf kept_h[PM_REUSE_BLOCKS];
    pm_vi kept_at[PM_REUSE_BLOCKS];
    pm_m kept_nan[PM_REUSE_BLOCKS];
    for (int64_t y = ya; y < yb; ++y) {
        const pm_vi at1 = tapm ? tap1 : pm_add_i(at0, at_rstep);
        const pm_vi at2 = tapm ? tap2 : pm_add_i(at1, at_rstep);
        const pm_vi at0t = tapm ? pm_zero_i() : at0;
        int k = 0;
        for (int64_t ox0 = 0;; ox0 += PM_V, ++k) {
            if (ox0 + PM_V > ow) {
                ox0 = ow - PM_V;
            }
            const float *p = (const float *)(p0 + (uintptr_t)(2 * ox0 * 4));
            const pm_vi cv = pm_set1_i((int32_t)(2 * ox0));
            if (ox0 == 0 && pad0) {
                pm_reuse_block(pl, y, ox0, y == ya, p, rstep, at0t, at1, at2, dst, ind, tp,
                               &kept_h[k], &kept_at[k], &kept_nan[k], three, 1, want_at, tapm, odd, 0);
            } else if (ox0 < xa || ox0 + PM_V > xb) {
                pm_block_s2_any(pl, y, ox0, PM_V, 0, 3, three, 1, tapm);
            } else if (tapm) {
                pm_reuse_block(pl, y, ox0, y == ya, p, rstep, at0t, at1, at2, dst, ind, tp,
                               &kept_h[k], &kept_at[k], &kept_nan[k], three, 0, 1, 1, odd, 0);
            } else {
                pm_reuse_block(pl, y, ox0, y == ya, p, rstep, pm_add_i(at0, cv),
                               pm_add_i(at1, cv), pm_add_i(at2, cv), dst, ind, tp, &kept_h[k],
                               &kept_at[k], &kept_nan[k], three, 0, want_at, 0, odd, 0);
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

/* pm_rows_s2_reuse_w with want_at (indices written or not) a compile-time constant in each
 * copy: the inlined loop then carries no test of the index pointer (which otherwise costs a
 * register in a loop that already spills) */
static inline __attribute__((always_inline)) void pm_rows_s2_reuse(const pm_plane *pl,
                                                                   int64_t ya, int64_t yb,
                                                                   int64_t xa, int64_t xb,
                                                                   const int three,
                                                                   const int tapm) {
    /* odd: 3-wide windows with an odd pad_left read their rows from tap 1 (pm_three_taps_odd:
     * whole cache lines where rows start on one) */
    const int odd = PM_HAS_THREE_TAPS_ODD && three && (pl->d->pad_left & 1);
    /* the tap mask on AVX-512 with 2-4 blocks per row, all of them reuse blocks (pool_resnet:
     * ow 56): the row loop unrolled, kept winners in registers (pm_rows_s2_reuse_fixed).
     * Decided here, not in pm_rows_s2_reuse_w: a test there changed gcc's register choices in
     * the copies without the mask, 5-9% slower (session 31). */
    if (tapm && PM_V == 16) {
        const pcnn_maxpool2d_desc *d = pl->d;
        const int64_t ow = d->ow, nb = (ow + PM_V - 1) / PM_V;
        const uintptr_t p0 = (uintptr_t)(pl->src + (ya * d->stride_h - d->pad_top) * d->iw) -
                             (uintptr_t)(d->pad_left * 4);
        /* pad0 as in pm_rows_s2_reuse_w; else every block must be inside (no left padding) */
        const int pad0 = d->pad_left == 1 && xa == 1 && xb >= PM_V && p0 >= pl->buf_lo;
        /* 3x3 windows only: with pad0, pad_left is 1 and the rows are read from tap 1 (odd) */
        if (three && odd == pad0 && xb == ow && nb >= 2 && nb <= 4 && (pad0 || xa == 0)) {
            if (pad0) {
                pm_rows_s2_reuse_nb(pl, ya, yb, nb, 1, 1);
            } else {
                pm_rows_s2_reuse_nb(pl, ya, yb, nb, 0, 0);
            }
            return;
        }
    }
    if (odd) {
        if (tapm) {
            pm_rows_s2_reuse_w(pl, ya, yb, xa, xb, three, 1, 1, 1);
        } else if (pl->ind != NULL) {
            pm_rows_s2_reuse_w(pl, ya, yb, xa, xb, three, 1, 0, 1);
        } else {
            pm_rows_s2_reuse_w(pl, ya, yb, xa, xb, three, 0, 0, 1);
        }
    } else if (tapm) {
        pm_rows_s2_reuse_w(pl, ya, yb, xa, xb, three, 1, 1, 0);
    } else if (pl->ind != NULL) {
        pm_rows_s2_reuse_w(pl, ya, yb, xa, xb, three, 1, 0, 0);
    } else {
        pm_rows_s2_reuse_w(pl, ya, yb, xa, xb, three, 0, 0, 0);
    }
}

#endif /* PCNN_MAXPOOL2D_S2REUSE_SIMD_H */
