/*
 * maxpool2d backward from the compact mask (one tap byte ky * kw + kx per output), the general
 * path's decode: output rows' taps to plane offsets, which maxpool2d-bwd-simd.h's offset
 * scatter then adds in output order. Included by maxpool2d-bwd-simd.h (needs pm_bwd_ctx and the
 * vector layer's pm_bwd_load_taps, pm_bwd_gather_i and pm_lut16).
 */
/* A tap table entry per lane: an in-register table (pm_lut16: kh * kw <= 16) or a gather from
 * the 256-entry table. */
static inline pm_vi pm_tap_lookup(const pm_lut16 *l, const int32_t *table, pm_vi t,
                                  const int small) {
    return small ? pm_lut16_get(l, t) : pm_bwd_gather_i(table, t);
}

/*
 * Output row y's taps (ow of them at tp) as plane offsets iy * iw + ix into out (room for ow
 * rounded up to PM_V), PM_V at a time; -1 for a tap >= kh * kw or one whose row or column is
 * outside the input. Returns 1 when every tap was valid: the offsets then lie in the rows the
 * caller zeroed for this row, and the scatter needs no check. Interior blocks (all window rows
 * of the row and all window columns of the lanes inside the input) take one lookup, the tap's
 * offset in the window, and check only tap < kh * kw; the other blocks look up the tap's row
 * and column and check both.
 */
static inline __attribute__((always_inline)) int
pm_taps_to_offsets(const pm_bwd_ctx *x, const uint8_t *tp, int64_t y, int32_t *out,
                   const int small) {
    const pcnn_maxpool2d_desc *d = x->d;
    const int32_t ntaps = (int32_t)(d->kh * d->kw), ih = (int32_t)d->ih, iw = (int32_t)d->iw;
    const int64_t wy0 = y * d->stride_h - d->pad_top;
    const int y_inside = wy0 >= 0 && wy0 + (d->kh - 1) * d->dilation_h < d->ih;
    const pm_vi wy = pm_set1_i((int32_t)wy0);
    const pm_vi iwv = pm_set1_i(iw), bad = pm_set1_i(-1);
    const pm_vi row_at = pm_set1_i(y_inside ? (int32_t)(wy0 * iw) : 0);
    const pm_vi step = pm_set1_i((int32_t)(PM_V * d->stride_w));
    const pm_m all = pm_first(PM_V);
    pm_lut16 loff, ldy, ldx;
    if (small) {
        loff = pm_lut16_load(x->tap_off);
        ldy = pm_lut16_load(x->tap_dy);
        ldx = pm_lut16_load(x->tap_dx);
    }
    /* each lane's window column x * sw - pad_left */
    pm_vi wx = pm_add_i(pm_mullo_i(pm_iota(), pm_set1_i((int32_t)d->stride_w)),
                        pm_set1_i(-(int32_t)d->pad_left));
    int valid = 1;
    for (int64_t x0 = 0; x0 < d->ow; x0 += PM_V) {
        const int nl = d->ow - x0 < PM_V ? (int)(d->ow - x0) : PM_V;
        const pm_vi t = pm_bwd_load_taps(tp + x0, nl); /* lanes >= nl: 0, never used */
        pm_m ok = pm_in_range(t, ntaps, all);
        pm_vi at;
        if (y_inside && x0 >= x->xa && x0 + nl <= x->xb) {
            at = pm_add_i(pm_add_i(row_at, wx), pm_tap_lookup(&loff, x->tap_off, t, small));
        } else {
            const pm_vi iy = pm_add_i(wy, pm_tap_lookup(&ldy, x->tap_dy, t, small));
            const pm_vi ix = pm_add_i(wx, pm_tap_lookup(&ldx, x->tap_dx, t, small));
            ok = pm_in_range(ix, iw, pm_in_range(iy, ih, ok));
            at = pm_add_i(pm_mullo_i(iy, iwv), ix);
        }
        valid &= pm_all(ok, pm_first(nl));
        pm_storeu_i(out + x0, pm_blend_i(ok, bad, at));
        wx = pm_add_i(wx, step);
    }
    return valid;
}

/*
 * Row y of a plane's taps (tp) decoded into out. The caller scatters a row one iteration after
 * decoding it: scattered right after its decode (the offsets' loads right behind the vector
 * stores), 28x28 planes took 2.2x (AVX-512) / 2.7x (AVX2) the int32 time, one row ahead
 * 1.85x / 2.1x (README; planes in L1 are now decoded whole first).
 */
static inline int pm_taps_ahead(const pm_bwd_ctx *x, const uint8_t *tp, int64_t y, int32_t *out) {
    const int64_t ow = x->d->ow;
    return x->d->kh * x->d->kw <= 16 ? pm_taps_to_offsets(x, tp + y * ow, y, out, 1)
                                     : pm_taps_to_offsets(x, tp + y * ow, y, out, 0);
}

/*
 * Small planes (pool_small: 16 planes of 13x13 -> 7x7, 3x3 stride 2 pad 1) decoded through
 * per-position tables built once per call: output i of every plane names input offset
 * base[i] + off[tap], valid when bit tap of ok[i] is set (its row and column inside the input).
 * One lookup, one add and one bit test per PM_V outputs, across row ends, instead of the row
 * decode above (per row: set-up, lane ranges, a row's worth of lanes mostly idle on 7-wide
 * rows): 0.50-0.75x its time on 8x8 to 56x56 planes, pool_small 1.3-1.7 -> 0.85-0.95 us
 * (the int32 path: 0.63-0.72; README). The tables take ~50 ns per call on pool_small.
 */
#define PM_TAPS_PLANE_OUT 1024 /* outputs per plane at most (the tables: 8 KiB on the stack) */

typedef struct pm_taps_plane {
    int32_t off[16];                        /* tap ky * kw + kx -> ky * dh * iw + kx * dw */
    int32_t base[PM_TAPS_PLANE_OUT + PM_V]; /* output y * ow + x -> (y * sh - pt) * iw + x * sw - pl */
    int32_t ok[PM_TAPS_PLANE_OUT + PM_V];   /* output -> bit t set when tap t lies in the input */
} pm_taps_plane;

/* Builds the tables (PM_V positions at a time); 0 (use the row decode) for windows of more
 * than 16 taps, planes above PM_BWD_CACHED_PLANE floats or PM_TAPS_PLANE_OUT outputs, or
 * offsets beyond +-2^30. Column coordinates are int32 lanes as in the forward (pm_shape_ok). */
static int pm_taps_plane_build(const pcnn_maxpool2d_desc *d, pm_taps_plane *p) {
    const int64_t kh = d->kh, kw = d->kw, ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow;
    const int64_t sw = d->stride_w, lim = (int64_t)1 << 30;
    if (kh * kw > 16 || ih * iw > PM_BWD_CACHED_PLANE || oh * ow > PM_TAPS_PLANE_OUT) {
        return 0;
    }
    /* the desc limits of PM_NAME(bwd_taps) keep every product below in int64 */
    memset(p->off, 0, sizeof p->off);
    int32_t col0_bits = 0; /* the taps of window column 0 */
    for (int64_t ky = 0; ky < kh; ++ky) {
        col0_bits |= 1 << (ky * kw);
        for (int64_t kx = 0; kx < kw; ++kx) {
            const int64_t o = ky * d->dilation_h * iw + kx * d->dilation_w;
            if (o > lim) {
                return 0;
            }
            p->off[ky * kw + kx] = (int32_t)o;
        }
    }
    /* col_bits[x]: the taps whose column lies in the input, for window column x * sw - pl */
    int32_t col_bits[PM_TAPS_PLANE_OUT + PM_V];
    const pm_vi xstep = pm_mullo_i(pm_iota(), pm_set1_i((int32_t)sw)), zero = pm_zero_i();
    const pm_m all = pm_first(PM_V);
    for (int64_t x0 = 0; x0 < ow; x0 += PM_V) {
        pm_vi c = pm_add_i(xstep, pm_set1_i((int32_t)(x0 * sw - d->pad_left)));
        pm_vi bits = zero;
        for (int64_t kx = 0; kx < kw; ++kx) {
            /* disjoint bits per kx: the add is an or */
            bits = pm_add_i(bits, pm_blend_i(pm_in_range(c, (int32_t)iw, all), zero,
                                             pm_set1_i(col0_bits << kx)));
            c = pm_add_i(c, pm_set1_i((int32_t)d->dilation_w));
        }
        pm_storeu_i(col_bits + x0, bits);
    }
    const int32_t row0_bits = (int32_t)(((int64_t)1 << kw) - 1); /* the taps of window row 0 */
    for (int64_t y = 0; y < oh; ++y) {
        int32_t row_bits = 0;
        for (int64_t ky = 0, r = y * d->stride_h - d->pad_top; ky < kh; ++ky, r += d->dilation_h) {
            row_bits |= r >= 0 && r < ih ? row0_bits << (ky * kw) : 0;
        }
        const int64_t row_base = (y * d->stride_h - d->pad_top) * iw - d->pad_left;
        if (row_base < -lim || row_base + ow * sw > lim) {
            return 0;
        }
        const pm_vi rb = pm_set1_i(row_bits);
        /* whole vectors: a row's last one runs into the next row's positions, rewritten next */
        for (int64_t x0 = 0; x0 < ow; x0 += PM_V) {
            pm_storeu_i(p->base + y * ow + x0,
                        pm_add_i(xstep, pm_set1_i((int32_t)(row_base + x0 * sw))));
            pm_storeu_i(p->ok + y * ow + x0, pm_and_i(rb, pm_loadu_i(col_bits + x0)));
        }
    }
    memset(p->base + oh * ow, 0, PM_V * sizeof(int32_t)); /* read by the last vector, unused */
    memset(p->ok + oh * ow, 0, PM_V * sizeof(int32_t));
    return 1;
}

/* One plane through the tables: decode all outputs, then (every tap valid) zero the plane and
 * add in output order, the scalar kernel's sum and loop; any bad tap is reported. */
static inline __attribute__((always_inline)) void
pm_taps_plane_scatter(pm_bwd_ctx *x, const uint8_t *tp, const float *dd, float *ds) {
    const pm_taps_plane *p = x->plane;
    const int64_t n = x->d->oh * x->d->ow;
    int32_t at[PM_TAPS_PLANE_OUT + PM_V];
    const pm_lut16 loff = pm_lut16_load(p->off);
    /* whole vectors, their checks and'ed lane-wise (no mask-to-integer move per vector) */
    pm_m okv = pm_first(PM_V);
    int64_t i = 0;
    for (; i + PM_V <= n; i += PM_V) {
        const pm_vi t = pm_bwd_load_taps(tp + i, PM_V);
        okv = pm_and(okv, pm_bit_set(pm_loadu_i(p->ok + i), t));
        pm_storeu_i(at + i, pm_add_i(pm_loadu_i(p->base + i), pm_lut16_get(&loff, t)));
    }
    int ok = pm_all(okv, pm_first(PM_V));
    if (i < n) {
        const int nl = (int)(n - i);
        const pm_vi t = pm_bwd_load_taps(tp + i, nl); /* lanes >= nl: 0, never used */
        ok &= pm_all(pm_bit_set(pm_loadu_i(p->ok + i), t), pm_first(nl));
        pm_storeu_i(at + i, pm_add_i(pm_loadu_i(p->base + i), pm_lut16_get(&loff, t)));
    }
    if (!ok) {
        __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
        return;
    }
    pcnn_maxpool2d_bwd_plane_scatter(x->d, dd, at, ds); /* the int32 path's zero and scatter */
}

/* The tap tables of pm_bwd_ctx (256 entries: any byte indexes them; 0 past kh * kw) and the
 * output columns [xa, xb) whose window columns are all inside the row (as in the forward). */
static void pm_taps_tables(const pcnn_maxpool2d_desc *d, int32_t *dy, int32_t *dx, int32_t *off,
                           int64_t *xa, int64_t *xb) {
    memset(dy, 0, 256 * sizeof(int32_t));
    memset(dx, 0, 256 * sizeof(int32_t));
    memset(off, 0, 256 * sizeof(int32_t));
    for (int64_t ky = 0, t = 0; ky < d->kh; ++ky) {
        for (int64_t kx = 0; kx < d->kw; ++kx, ++t) {
            dy[t] = (int32_t)(ky * d->dilation_h);
            dx[t] = (int32_t)(kx * d->dilation_w);
            /* used only where the whole window is inside the input (then it fits) */
            off[t] = (int32_t)(dy[t] * d->iw + dx[t]);
        }
    }
    const int64_t sw = d->stride_w, padl = d->pad_left;
    const int64_t last_col = d->iw - 1 - (d->kw - 1) * d->dilation_w;
    const int64_t b = last_col + padl < 0 ? 0 : (last_col + padl) / sw + 1;
    *xa = (padl + sw - 1) / sw;
    *xb = b < d->ow ? b : d->ow;
}
