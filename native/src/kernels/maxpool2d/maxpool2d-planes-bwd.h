/*
 * maxpool2d backward, large planes: lanes across planes. Part of maxpool2d-simd.h (included
 * there after pm_bwd_task, which it falls back to; uses the same vector layer plus
 * pm_transpose).
 *
 * Why: the row-wise backward is a scalar scatter (one load-add-store per output through a
 * caller index) after a zeroing pass; lanes along a row cannot scatter exactly without
 * conflict handling (tried, README). With one plane per lane every lane has the same window
 * geometry, so the scatter becomes PM_V-wide and conflict-free: a task takes PM_V whole
 * planes and, per output row,
 *  1. transposes the PM_V planes' diff_dst and indices rows in (PM_V x PM_V blocks in
 *     registers) to one vector per output pixel;
 *  2. per output pixel, in row-major order, per in-range tap: lanes whose index equals the
 *     tap's position add diff_dst into a pixel-major scratch of the input rows the windows
 *     reach (a ring of span = (kh - 1) * dilation_h + 1 rows, zeroed as rows enter it);
 *  3. the input rows no later window reaches are transposed out to the PM_V diff_src
 *     planes: every diff_src element is written once, no separate zeroing pass.
 * Exactness: per lane, each element receives its additions in the scalar kernel's order
 * (row-major output order, starting from +0), each as scratch + diff_dst with the scratch as
 * the first operand (the scalar `ds[at] += dd`). Lanes that
 * do not match add +0 instead, which changes nothing: a sum that starts at +0 is never -0,
 * and a NaN plus +0 keeps its payload. An index that matches none of its window's in-range
 * taps (out of range, or simply elsewhere in the plane) leaves its lane unmatched; the group
 * is then redone plane by plane by pm_bwd_task (zero and scatter, which reports
 * out-of-range indices). So is a group with a NaN among its gradients: when two NaNs meet
 * in one element the scalar sum keeps the earlier one's payload (x86 addss returns its first
 * operand's NaN), and gcc is free to commute the vector add's operands, which it does. Nothing outside the group's planes is written.
 * The planes left over (n * c % PM_V) take pm_bwd_task, one task each; each task's work is
 * fixed by its index, so results do not depend on the thread count.
 */

/* Floats of the stack scratch: the ring of input rows plus one diff_dst and one index row,
 * all pixel-major (PM_V floats per pixel). 48 KiB; pool_resnet (3 rows of 112 pixels, 56
 * outputs) needs 29 KiB with 16 lanes. */
#define PM_PB_SCRATCH_FLOATS 12288
#define PM_PB_MAX_TAPS 16

static inline int64_t pm_pb_round(int64_t n) { return (n + PM_V - 1) / PM_V * PM_V; }

static int pm_planes_bwd_ok(const pcnn_maxpool2d_desc *d) {
    const int64_t span = (d->kh - 1) * d->dilation_h + 1;
    const int64_t need = (span * pm_pb_round(d->iw) + 2 * pm_pb_round(d->ow)) * PM_V;
    return d->n * d->c >= PM_V && d->ih * d->iw > PM_BWD_CACHED_PLANE &&
           d->kh * d->kw <= PM_PB_MAX_TAPS && need <= PM_PB_SCRATCH_FLOATS && !pm_direct_ok(d);
}

typedef struct {
    pm_bwd_ctx b;
    int64_t groups; /* tasks [0, groups) take PM_V planes each, the rest one plane */
} pm_pb_ctx;

/* Row r of PM_V planes (plane stride `plane`, row length n) -> n pixel vectors at t.
 * Returns the lanes of the loaded vectors that hold a NaN (as floats). */
static inline pm_m pm_pb_rows_in(const float *src, int64_t plane, int64_t n, float *t) {
    pm_m nan = pm_none();
    for (int64_t x0 = 0; x0 < n; x0 += PM_V) {
        const int k = n - x0 < PM_V ? (int)(n - x0) : PM_V;
        pm_vf r[PM_V];
        for (int l = 0; l < PM_V; ++l) {
            const float *p = src + l * plane + x0;
            r[l] = k == PM_V ? pm_loadu(p) : pm_load_first_f(p, k);
            nan = pm_or(nan, pm_unord(r[l], r[l]));
        }
        pm_transpose(r);
        for (int j = 0; j < PM_V; ++j) {
            pm_storeu_f(t + (x0 + j) * PM_V, r[j]);
        }
    }
    return nan;
}

/* n pixel vectors at t (n rounded up to PM_V readable) -> row of PM_V planes at dst. */
static inline void pm_pb_row_out(const float *t, int64_t n, float *dst, int64_t plane) {
    for (int64_t x0 = 0; x0 < n; x0 += PM_V) {
        const int k = n - x0 < PM_V ? (int)(n - x0) : PM_V;
        pm_vf r[PM_V];
        for (int j = 0; j < PM_V; ++j) {
            r[j] = pm_loadu(t + (x0 + j) * PM_V);
        }
        pm_transpose(r);
        for (int l = 0; l < PM_V; ++l) {
            if (k == PM_V) {
                pm_storeu_f(dst + l * plane + x0, r[l]);
            } else {
                pm_store_f(dst + l * plane + x0, pm_first(k), r[l]);
            }
        }
    }
}

static inline void pm_pb_zero_vectors(float *t, int64_t n) {
    const pm_vf z = pm_zero_f();
    for (int64_t i = 0; i < n; ++i) {
        pm_storeu_f(t + i * PM_V, z);
    }
}

/*
 * One output pixel: taps [ky0, ky1) x [kx0, kx1) (all in range). rel = index - the position
 * of tap (0, 0); tap (ky, kx) matches where rel == off[ky * kw + kx]. s[ky] points at the
 * scratch pixel of tap (ky, kx0). Returns the lanes that matched a tap.
 */
static inline __attribute__((always_inline)) pm_m
pm_pb_pixel(float *const *s, const pm_vi *off, pm_vi rel, pm_vf v, int64_t ky0, int64_t ky1,
            int64_t kx0, int64_t kx1, int64_t kw, int64_t xstep) {
    pm_m found = pm_none();
    for (int64_t ky = ky0; ky < ky1; ++ky) {
        for (int64_t kx = kx0; kx < kx1; ++kx) {
            const pm_m m = pm_eq_i(rel, off[ky * kw + kx]);
            found = pm_or(found, m);
            float *p = s[ky] + (kx - kx0) * xstep;
            pm_storeu_f(p, pm_add_f(pm_loadu(p), pm_maskz_f(m, v)));
        }
    }
    return found;
}

/* Inner pixels [oxa, oxb) of a row (every column tap in range); srow[ky] is the scratch row
 * of tap row ky; kw is a constant when inlined from the kw == 3 call. */
static inline __attribute__((always_inline)) pm_m
pm_pb_inner(float *const *srow, const pm_vi *off, const float *ddt, const float *ixt,
            int64_t oxa, int64_t oxb, int64_t base, int64_t ky0, int64_t ky1, int64_t kw,
            int64_t sw, int64_t dw, int64_t pl, pm_m all) {
    float *s[PM_PB_MAX_TAPS];
    for (int64_t ky = ky0; ky < ky1; ++ky) {
        s[ky] = srow[ky] + (oxa * sw - pl) * PM_V;
    }
    for (int64_t ox = oxa; ox < oxb; ++ox) {
        const pm_vi rel = pm_add_i(pm_as_i(pm_loadu(ixt + ox * PM_V)),
                                   pm_set1_i((int32_t)-(base + ox * sw)));
        const pm_m f = pm_pb_pixel(s, off, rel, pm_loadu(ddt + ox * PM_V), ky0, ky1, 0, kw, kw,
                                   dw * PM_V);
        all = pm_and(all, f);
        for (int64_t ky = ky0; ky < ky1; ++ky) {
            s[ky] += sw * PM_V;
        }
    }
    return all;
}

/*
 * Inner pixels [oxa, oxb) for kw 3, stride_w 2, no column dilation (pool_resnet), all kh
 * tap rows in range (kh a constant when inlined). Column c = 2 * ox - pl receives tap 2 of
 * ox - 1, then tap 0 of ox: that sum is carried in a register from one pixel to the next
 * instead of stored and reloaded (no store-to-load chains between neighbouring pixels), so
 * each scratch pixel is loaded and stored once per output row, in the same addition order.
 */
static inline __attribute__((always_inline)) pm_m
pm_pb_inner_k3s2(float *const *srow, const pm_vi *off, const float *ddt, const float *ixt,
                 int64_t oxa, int64_t oxb, int64_t base, int64_t kh, int64_t pl, pm_m all) {
    float *s[PM_PB_MAX_TAPS];
    pm_vf carry[PM_PB_MAX_TAPS];
    for (int64_t ky = 0; ky < kh; ++ky) {
        s[ky] = srow[ky] + (2 * oxa - pl) * PM_V;
        carry[ky] = pm_loadu(s[ky]);
    }
    for (int64_t ox = oxa; ox < oxb; ++ox) {
        const pm_vi rel = pm_add_i(pm_as_i(pm_loadu(ixt + ox * PM_V)),
                                   pm_set1_i((int32_t)-(base + 2 * ox)));
        const pm_vf v = pm_loadu(ddt + ox * PM_V);
        pm_m found = pm_none();
        for (int64_t ky = 0; ky < kh; ++ky) {
            const pm_m m0 = pm_eq_i(rel, off[ky * 3]);
            const pm_m m1 = pm_eq_i(rel, off[ky * 3 + 1]);
            const pm_m m2 = pm_eq_i(rel, off[ky * 3 + 2]);
            found = pm_or(found, pm_or(m0, pm_or(m1, m2)));
            float *p = s[ky];
            pm_storeu_f(p, pm_add_f(carry[ky], pm_maskz_f(m0, v)));
            pm_storeu_f(p + PM_V, pm_add_f(pm_loadu(p + PM_V), pm_maskz_f(m1, v)));
            carry[ky] = pm_add_f(pm_loadu(p + 2 * PM_V), pm_maskz_f(m2, v));
            s[ky] = p + 2 * PM_V;
        }
        all = pm_and(all, found);
    }
    for (int64_t ky = 0; ky < kh; ++ky) {
        pm_storeu_f(s[ky], carry[ky]);
    }
    return all;
}

/* Input rows [lo, upto) are final: rows < hi from the ring, the others (no window reaches
 * them) as zeros. */
static void pm_pb_flush(const float *ring, int64_t span, int64_t rstride, int64_t lo,
                        int64_t upto, int64_t hi, int64_t iw, float *ds, int64_t plane) {
    for (int64_t r = lo; r < upto; ++r) {
        if (r < hi) {
            pm_pb_row_out(ring + (r % span) * rstride, iw, ds + r * iw, plane);
        } else {
            for (int l = 0; l < PM_V; ++l) {
                pm_zero_floats(ds + l * plane + r * iw, iw);
            }
        }
    }
}

/* PM_V planes from p0. Returns 0 when some lane's index matched none of its window's taps. */
static int pm_pb_group(const pm_bwd_ctx *x, int64_t p0) {
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow;
    const int64_t kh = d->kh, kw = d->kw, sh = d->stride_h, sw = d->stride_w;
    const int64_t dh = d->dilation_h, dw = d->dilation_w, pt = d->pad_top, pl = d->pad_left;
    const int64_t plane = ih * iw, oplane = oh * ow;
    const int64_t span = (kh - 1) * dh + 1, rstride = pm_pb_round(iw) * PM_V;
    float buf[PM_PB_SCRATCH_FLOATS + 16];
    float *ring = pm_align64(buf);
    float *ddt = ring + span * rstride, *ixt = ddt + pm_pb_round(ow) * PM_V;
    const float *dd = x->diff_dst + p0 * oplane;
    const float *ind = (const float *)(x->indices + p0 * oplane); /* moved as bits only */
    float *ds = x->diff_src + p0 * plane;

    pm_vi off[PM_PB_MAX_TAPS];
    for (int64_t ky = 0; ky < kh; ++ky) {
        for (int64_t kx = 0; kx < kw; ++kx) {
            off[ky * kw + kx] = pm_set1_i((int32_t)(ky * dh * iw + kx * dw));
        }
    }
    /* output columns whose every tap column is in range: [oxa, oxb) */
    int64_t oxa = (pl + sw - 1) / sw, oxb = (iw - 1 - (kw - 1) * dw + pl) / sw + 1;
    if (iw - 1 - (kw - 1) * dw + pl < 0) {
        oxb = 0;
    }
    oxb = oxb > ow ? ow : oxb;
    oxa = oxa > oxb ? oxb : oxa;

    const pm_m lanes = pm_first(PM_V);
    pm_m all = lanes;
    int64_t lo = 0, hi = 0; /* rows [0, lo) flushed, [lo, hi) in the ring */
    for (int64_t oy = 0; oy < oh; ++oy) {
        const int64_t top = oy * sh - pt;
        int64_t ky0 = 0, ky1 = kh;
        while (ky0 < kh && top + ky0 * dh < 0) {
            ++ky0;
        }
        while (ky1 > ky0 && top + (ky1 - 1) * dh >= ih) {
            --ky1;
        }
        int64_t new_hi = top + span;
        new_hi = new_hi > ih ? ih : new_hi;
        for (; hi < new_hi; ++hi) {
            pm_pb_zero_vectors(ring + (hi % span) * rstride, pm_pb_round(iw));
        }
        if (pm_any(pm_pb_rows_in(dd + oy * ow, oplane, ow, ddt))) {
            return 0; /* NaN gradients: see the file comment */
        }
        pm_pb_rows_in(ind + oy * ow, oplane, ow, ixt);

        float *srow[PM_PB_MAX_TAPS]; /* scratch row of tap row ky */
        for (int64_t ky = ky0; ky < ky1; ++ky) {
            srow[ky] = ring + ((top + ky * dh) % span) * rstride;
        }
        const int64_t base = top * iw - pl;
        for (int64_t ox = 0; ox < ow; ++ox) {
            if (ox == oxa) {
                if (kw == 3 && sw == 2 && dw == 1 && kh == 3 && ky0 == 0 && ky1 == 3) {
                    all = pm_pb_inner_k3s2(srow, off, ddt, ixt, oxa, oxb, base, 3, pl, all);
                } else if (kw == 3 && sw == 2 && dw == 1 && kh == 2 && ky0 == 0 && ky1 == 2) {
                    all = pm_pb_inner_k3s2(srow, off, ddt, ixt, oxa, oxb, base, 2, pl, all);
                } else
                all = kw == 3 ? pm_pb_inner(srow, off, ddt, ixt, oxa, oxb, base, ky0, ky1, 3, sw,
                                            dw, pl, all)
                              : pm_pb_inner(srow, off, ddt, ixt, oxa, oxb, base, ky0, ky1, kw,
                                            sw, dw, pl, all);
                ox = oxb;
                if (ox >= ow) {
                    break;
                }
            }
            const int64_t left = ox * sw - pl;
            int64_t kx0 = 0, kx1 = kw;
            while (kx0 < kw && left + kx0 * dw < 0) {
                ++kx0;
            }
            while (kx1 > kx0 && left + (kx1 - 1) * dw >= iw) {
                --kx1;
            }
            float *s[PM_PB_MAX_TAPS];
            for (int64_t ky = ky0; ky < ky1; ++ky) {
                s[ky] = srow[ky] + (left + kx0 * dw) * PM_V;
            }
            const pm_vi rel = pm_add_i(pm_as_i(pm_loadu(ixt + ox * PM_V)),
                                       pm_set1_i((int32_t)-(base + ox * sw)));
            all = pm_and(all, pm_pb_pixel(s, off, rel, pm_loadu(ddt + ox * PM_V), ky0, ky1,
                                          kx0, kx1, kw, dw * PM_V));
        }
        if (!pm_all(all, lanes)) {
            return 0;
        }
        /* rows below the next output row's first window row are final */
        int64_t upto = (oy + 1 < oh) ? top + sh : ih;
        upto = upto > ih ? ih : upto;
        if (upto > lo) {
            pm_pb_flush(ring, span, rstride, lo, upto, hi, iw, ds, plane);
            lo = upto;
        }
    }
    pm_pb_flush(ring, span, rstride, lo, ih, hi, iw, ds, plane);
    return 1;
}

static void pm_pb_task(void *p, int64_t t) {
    pm_pb_ctx *x = p;
    if (t >= x->groups) {
        pm_bwd_task(&x->b, x->groups * PM_V + (t - x->groups));
        return;
    }
    if (!pm_pb_group(&x->b, t * PM_V)) {
        for (int l = 0; l < PM_V; ++l) {
            pm_bwd_task(&x->b, t * PM_V + l);
        }
    }
}
