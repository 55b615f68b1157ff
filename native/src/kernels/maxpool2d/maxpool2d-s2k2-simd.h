/*
 * maxpool2d, SIMD template (part of maxpool2d-s2rows-simd.h, included from it before
 * pm_rows_s2): the inner rows of 2x2 stride-2 windows without left padding (pool_mid), a loop
 * of its own. Same rule, order and results as pm_rows_s2_inner with two rows, which it
 * replaces on these planes; what differs is the loop around the blocks and the loads (README,
 * session 27: measured in cache, the general loop's per-block bounds and index-pointer tests,
 * its stack traffic and the loads gcc repeated for each permute took about as long as the
 * vector work).
 */
#ifndef PCNN_MAXPOOL2D_S2K2_SIMD_H
#define PCNN_MAXPOOL2D_S2K2_SIMD_H

/* pm_block_s2 for a block of pm_k2_block that holds a NaN, out of line: inlined into every copy
 * of the loop, its registers made gcc spill the hot path's loaded rows to the stack */
static __attribute__((noinline, cold)) void pm_k2_nan_block(const pm_plane *pl, int64_t y,
                                                            int64_t ox0, int tapm) {
    if (tapm) {
        pm_block_s2(pl, y, ox0, PM_V, 0, 2, 0, 0, 1);
    } else {
        pm_block_s2(pl, y, ox0, PM_V, 0, 2, 0, 0, 0);
    }
}

/*
 * One inside block of a 2x2 stride-2 window row pair: output pixels [ox0, ox0 + PM_V) of row
 * y, p = the top window row's tap 0 of lane 0, p + rstep the bottom row's. NaN-free: the max
 * tree folded in scan order as max(later, earlier) (pm_block_s2_nonan: its value is the
 * scalar winner's bit for bit), the index from the equality pass last tap to first. A NaN
 * anywhere in the block: pm_block_s2 redoes it with the scan rule. at0 (int32 mode): the
 * plane offsets of the top row's tap 0 per lane; at1 = at0 + rstep.
 */
static inline __attribute__((always_inline)) void pm_k2_block(
    const pm_plane *pl, int64_t y, int64_t ox0, const float *p, int64_t rstep, float *dst,
    int32_t *ind, uint8_t *tp, pm_vi at0, pm_vi at1, const int want_at, const int tapm) {
    pm_vf e0, o0, e1, o1;
    pm_even_odd_once(p, &e0, &o0);
    pm_even_odd_once(p + rstep, &e1, &o1);
    if (pm_any2(pm_unord(e0, o0), pm_unord(e1, o1))) {
        pm_k2_nan_block(pl, y, ox0, tapm);
        return;
    }
    const pm_vf m = pm_max_f(pm_max_f(o1, e1), pm_max_f(o0, e0));
    pm_storeu_f(dst + ox0, m);
    if (!want_at) {
        return;
    }
    /* taps: window taps 0 .. 3; int32: at0 + tap column + tap row * rstep */
    const pm_vi one = pm_set1_i(1);
    const pm_vi a1 = tapm ? pm_set1_i(2) : at1, a0 = tapm ? pm_zero_i() : at0;
    pm_vi a = pm_blend_i(pm_eq_f(e1, m), pm_add_i(a1, one), a1);
    a = pm_blend_i(pm_eq_f(o0, m), a, pm_add_i(a0, one));
    a = pm_blend_i(pm_eq_f(e0, m), a, a0);
    if (tapm) {
        pm_storeu_taps(tp + ox0, a);
    } else {
        pm_storeu_i(ind + ox0, a);
    }
}

/*
 * Output rows [ya, yb) of a plane with kh = kw = 2, stride_w 2, pad_left 0 and ow > PM_V,
 * whose window rows all lie in the input (every block of these rows is inside), the reads of
 * the last row's last block inside the src buffer (pm_rows_s2 checks both). Blocks from the
 * left, the last one at ow - PM_V (overlapping its neighbour: those pixels are written twice,
 * the same values). want_at: indices or taps are written (compile-time in each copy).
 */
static inline __attribute__((always_inline)) void pm_rows_s2_k2_w(const pm_plane *pl,
                                                                  int64_t ya, int64_t yb,
                                                                  const int want_at,
                                                                  const int tapm) {
    const pcnn_maxpool2d_desc *d = pl->d;
    const int64_t iw = d->iw, ow = d->ow;
    const int64_t step = d->stride_h * iw, rstep = d->dilation_h * iw;
    const int64_t iy0 = ya * d->stride_h - d->pad_top;
    const int64_t last = ow - PM_V;
    const float *p0 = pl->src + iy0 * iw;
    pm_vi at0 = pm_add_i(pl->iota_sw, pm_set1_i((int32_t)(iy0 * iw)));
    const pm_vi at_step = pm_set1_i((int32_t)step), at_rstep = pm_set1_i((int32_t)rstep);
    float *dst = pl->dst + ya * ow;
    int32_t *ind = !tapm && want_at ? pl->ind + ya * ow : NULL;
    uint8_t *tp = tapm ? pl->taps + ya * ow : NULL;
    for (int64_t y = ya; y < yb; ++y) {
        const pm_vi at1 = pm_add_i(at0, at_rstep);
        for (int64_t ox0 = 0; ox0 < last; ox0 += PM_V) {
            const pm_vi cv = pm_set1_i((int32_t)(2 * ox0));
            pm_k2_block(pl, y, ox0, p0 + 2 * ox0, rstep, dst, ind, tp, pm_add_i(at0, cv),
                        pm_add_i(at1, cv), want_at, tapm);
        }
        const pm_vi cl = pm_set1_i((int32_t)(2 * last));
        pm_k2_block(pl, y, last, p0 + 2 * last, rstep, dst, ind, tp, pm_add_i(at0, cl),
                    pm_add_i(at1, cl), want_at, tapm);
        p0 += step;
        at0 = pm_add_i(at0, at_step);
        dst += ow;
        if (ind != NULL) {
            ind += ow;
        }
        if (tapm) {
            tp += ow;
        }
    }
}

/* pm_rows_s2_k2_w for each output mode, each a function of its own: inlined into the plane
 * function (all paths), gcc spilled the loop's loaded rows to the stack and rebuilt
 * constants per block */
static __attribute__((noinline)) void pm_rows_s2_k2_taps(const pm_plane *pl, int64_t ya,
                                                         int64_t yb) {
    pm_rows_s2_k2_w(pl, ya, yb, 1, 1);
}
static __attribute__((noinline)) void pm_rows_s2_k2_ind(const pm_plane *pl, int64_t ya,
                                                        int64_t yb) {
    pm_rows_s2_k2_w(pl, ya, yb, 1, 0);
}
static __attribute__((noinline)) void pm_rows_s2_k2_noidx(const pm_plane *pl, int64_t ya,
                                                          int64_t yb) {
    pm_rows_s2_k2_w(pl, ya, yb, 0, 0);
}
static inline __attribute__((always_inline)) void pm_rows_s2_k2(const pm_plane *pl,
                                                                int64_t ya, int64_t yb,
                                                                const int tapm) {
    if (tapm) {
        pm_rows_s2_k2_taps(pl, ya, yb);
    } else if (pl->ind != NULL) {
        pm_rows_s2_k2_ind(pl, ya, yb);
    } else {
        pm_rows_s2_k2_noidx(pl, ya, yb);
    }
}

#endif /* PCNN_MAXPOOL2D_S2K2_SIMD_H */
