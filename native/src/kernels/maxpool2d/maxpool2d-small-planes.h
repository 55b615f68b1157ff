/*
 * maxpool2d forward, small planes: lanes across planes. Part of maxpool2d-simd.h (included
 * there, after pm_fwd_task; uses the same vector layer plus pm_transpose and pm_as_f).
 *
 * Why: when an output row is short (ow <= PM_SMALL_MAX_OW: 13x13 -> 7x7 under 3x3 stride 2
 * pad 1), the row-wise kernel leaves most lanes idle and every
 * block is an edge block, so a small call costs several times what its arithmetic needs. With at least PM_V planes (n * c), a task instead takes PM_V
 * whole planes and gives each lane one plane:
 *  1. the group's input is transposed, PM_V x PM_V blocks in registers, into a stack buffer
 *     of ih * iw vectors: t[pos][lane] = src[plane p0 + lane][pos];
 *  2. each output pixel is one vector, computed by the scalar kernel's own loop: in-range
 *     taps in row-major order, the first initialises, then a tap replaces when
 *     v > best || isnan(v). Every lane has the same geometry, so padding is skipped per tap
 *     for all lanes at once and no lane needs a mask (when the group holds no NaN, a
 *     shorter equivalent: see pm_small_group);
 *  3. the output pixels are transposed back PM_V at a time and stored per plane.
 * Values move only by loads, blends, max and shuffles: bit-identical to the scalar kernel,
 * NaN payloads and -0 / +0 included. The planes left over (n * c % PM_V) take the row-wise
 * kernel, one task each. Each task's work is fixed by its index, so results do not depend
 * on the thread count.
 * Tap mode (`out` PM_OUT_TAPS): the index vectors hold taps ky * kw + kx instead of plane
 * positions (the same for every lane); the flush narrows them to bytes.
 */

/* What a group writes besides dst (compile-time in each pm_small_group copy). */
#define PM_OUT_NONE 0
#define PM_OUT_IND 1
#define PM_OUT_TAPS 2

/* Input positions (ih * iw) the stack buffer holds: 64 KiB with 16 lanes, 32 KiB with 8
 * (the 32 x 32 and 28 x 28 planes of small networks fit). Larger planes keep the row-wise
 * kernel. */
#define PM_SMALL_MAX_POS 1024

/* The first 64-byte boundary in a stack buffer with 16 spare floats: vectors stay within one
 * cache line. Done by hand: over-aligned locals are not reliably aligned by every target's
 * compiler (64-bit MinGW cannot realign the stack), and all accesses are unaligned loads /
 * stores anyway. */
static inline float *pm_align64(float *p) {
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

static int pm_small_ok(const pcnn_maxpool2d_desc *d) {
    /* Output rows up to PM_SMALL_MAX_OW (per ISA file). Measured (AVX-512): 13x13 -> 7x7
     * (3x3 s2 p1) about 1.6x faster with indices, 2.6x without; 24x24 -> 12x12 and
     * 28x28 -> 14x14 (2x2 s2) 1.3-1.5x slower than the row-wise stride-2 path, which already
     * fills 12 or 14 of 16 lanes: there, rows at most half a vector. AVX2: see its file. */
    return d->ow <= PM_SMALL_MAX_OW && d->n * d->c >= PM_V && d->ih * d->iw <= PM_SMALL_MAX_POS;
}

/* Output pixels [o0, o0 + k) of the PM_V planes from dst / ind (plane stride oplane), given
 * as one vector per pixel (lane = plane). */
/* Up to this many pixels a flush copies lanes one by one instead of transposing: 13x13 -> 7x7
 * ends with one pixel (49 = 3 * 16 + 1), for which two whole transposes (128 shuffles on
 * AVX-512) and 2 * PM_V masked stores cost more than 2 * PM_V scalar copies. */
#define PM_SMALL_FLUSH_COPY 2

static inline void pm_small_flush(pm_vf v[PM_V], pm_vf at[PM_V], const int out, float *dst,
                                  int32_t *ind, uint8_t *taps, int64_t oplane, int64_t o0,
                                  int k) {
    const int has_ind = out == PM_OUT_IND;
    if (k <= PM_SMALL_FLUSH_COPY) {
        float tv[PM_SMALL_FLUSH_COPY * PM_V];
        int32_t ti[PM_SMALL_FLUSH_COPY * PM_V];
        for (int j = 0; j < k; ++j) {
            pm_storeu_f(tv + j * PM_V, v[j]);
            if (out != PM_OUT_NONE) {
                pm_storeu_i(ti + j * PM_V, pm_as_i(at[j]));
            }
        }
        for (int i = 0; i < PM_V; ++i) {
            for (int j = 0; j < k; ++j) {
                dst[i * oplane + o0 + j] = tv[j * PM_V + i];
                if (has_ind) {
                    ind[i * oplane + o0 + j] = ti[j * PM_V + i];
                } else if (out == PM_OUT_TAPS) {
                    taps[i * oplane + o0 + j] = (uint8_t)ti[j * PM_V + i];
                }
            }
        }
        return;
    }
    pm_transpose(v);
    const pm_m lanes = pm_first(k);
    for (int i = 0; i < PM_V; ++i) {
        if (k == PM_V) {
            pm_storeu_f(dst + i * oplane + o0, v[i]);
        } else {
            pm_store_f(dst + i * oplane + o0, lanes, v[i]);
        }
    }
    if (has_ind) {
        pm_transpose(at);
        for (int i = 0; i < PM_V; ++i) {
            float *p = (float *)(void *)(ind + i * oplane + o0);
            if (k == PM_V) {
                pm_storeu_f(p, at[i]);
            } else {
                pm_store_f(p, lanes, at[i]);
            }
        }
    } else if (out == PM_OUT_TAPS) {
        pm_store_taps_planes(at, taps + o0, oplane, k); /* per ISA file */
    }
}

/* In-range tap ranges of one output row or column: taps [lo, hi) of a window starting at
 * input coordinate i0 with dilation dl land inside [0, n) (desc_init: at least one). */
static inline void pm_small_taps(int64_t i0, int64_t k, int64_t dl, int64_t n, int64_t *lo,
                                 int64_t *hi) {
    int64_t a = 0, b = k;
    while (a < b && i0 + a * dl < 0) {
        ++a;
    }
    while (b > a && i0 + (b - 1) * dl >= n) {
        --b;
    }
    *lo = a;
    *hi = b;
}

/* One output pixel of a NaN-free group: taps (ky, kx) < (nky, nkx) at position
 * pos0 + ky * rstep + kx * cstep, values at first[(ky * rstep + kx * cstep) * PM_V]; *best /
 * *best_at hold tap (0, 0) on entry; the index of tap (ky, kx) is at0 + ky * at_rstep +
 * kx * at_cstep (plane positions: pos0, rstep, cstep; tap mode: the first tap's number, kw,
 * 1). Without NaNs the scalar rule is take = v > best, and then best = max(v, best)
 * (a > b ? a : b) is the same value, so the chain through best is a single max per tap and
 * the compare feeds only the index blend. Constant nky / nkx at the
 * common call sites (always_inline) unroll the loops. */
static inline __attribute__((always_inline)) void pm_small_nonan(
    const float *first, const int64_t nky, const int64_t nkx, int64_t rstep, int64_t cstep,
    int64_t at0, int64_t at_rstep, int64_t at_cstep, const int has_ind, pm_vf *best,
    pm_vi *best_at) {
    pm_vf b = *best;
    pm_vi at = pm_zero_i(); /* index offsets from at0; at0 is added once at the end, so the
                             * blended constants are the same for every pixel (hoisted) */
    for (int64_t ky = 0; ky < nky; ++ky) {
        for (int64_t kx = (ky == 0 ? 1 : 0); kx < nkx; ++kx) {
            const int64_t o = ky * rstep + kx * cstep;
            const pm_vf v = pm_loadu(first + o * PM_V);
            if (has_ind) {
                at = pm_blend_i(pm_gt_f(v, b), at,
                                pm_set1_i((int32_t)(ky * at_rstep + kx * at_cstep)));
            }
            b = pm_max_f(v, b);
        }
    }
    *best = b;
    if (has_ind) {
        *best_at = pm_add_i(at, pm_set1_i((int32_t)at0));
    }
}

/* Planes [p0, p0 + PM_V). out (PM_OUT_*) is a constant at every call site (always_inline), so
 * the inference variant carries no index code. */
static inline __attribute__((always_inline)) void pm_small_group(const pm_fwd_ctx *x,
                                                                 int64_t p0, const int out) {
    const int has_ind = out != PM_OUT_NONE, tapm = out == PM_OUT_TAPS;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow;
    const int64_t dh = d->dilation_h, dw = d->dilation_w;
    const int64_t kw = d->kw; /* tap numbers (a local: byte stores may alias *d) */
    const int64_t plane = ih * iw, oplane = oh * ow;
    /* + PM_V rows: a partial block's transpose is stored whole (its rows past the plane are
     * never read), which keeps the stores a fixed count of vectors */
    float tbuf[(PM_SMALL_MAX_POS + PM_V) * PM_V + 16];
    float *t = pm_align64(tbuf);

    const float *src = x->src + p0 * plane;
    pm_m nan = pm_none();
    for (int64_t q0 = 0; q0 < plane; q0 += PM_V) {
        const int nq = plane - q0 < PM_V ? (int)(plane - q0) : PM_V;
        pm_vf r[PM_V];
        for (int i = 0; i < PM_V; ++i) {
            const float *p = src + i * plane + q0;
            r[i] = nq == PM_V ? pm_loadu(p) : pm_load_first_f(p, nq); /* masked-off lanes: +0 */
        }
        /* unord(a, b) holds when either is NaN: one compare per two rows */
        for (int i = 0; i < PM_V; i += 2) {
            nan = pm_or(nan, pm_unord(r[i], r[i + 1]));
        }
        pm_transpose(r);
        for (int j = 0; j < PM_V; ++j) {
            pm_storeu_f(t + (q0 + j) * PM_V, r[j]);
        }
    }
    /* Without a NaN in the group the scalar rule needs no NaN test: pm_small_nonan. */
    const int nonan = !pm_any(nan);

    int64_t kx_lo[PM_V], kx_hi[PM_V];
    for (int64_t xo = 0; xo < ow; ++xo) {
        pm_small_taps(xo * d->stride_w - d->pad_left, d->kw, dw, iw, &kx_lo[xo], &kx_hi[xo]);
    }
    float *dst = x->dst + p0 * oplane;
    int32_t *ind = out == PM_OUT_IND ? x->indices + p0 * oplane : NULL;
    uint8_t *taps = tapm ? x->taps + p0 * oplane : NULL;
    /* filled PM_V at a time before each flush; the last, partial one zeroes the rest first
     * (zeroing all 2 * PM_V vectors per group was two `rep stos` of 1 KiB each, 4% of a
     * 16 x 13x13 call) */
    pm_vf ov[PM_V], oi[PM_V];
    int k = 0;
    int64_t o0 = 0;
    for (int64_t y = 0; y < oh; ++y) {
        const int64_t iy0 = y * d->stride_h - d->pad_top;
        int64_t ky_lo, ky_hi;
        pm_small_taps(iy0, d->kh, dh, ih, &ky_lo, &ky_hi);
        for (int64_t xo = 0; xo < ow; ++xo) {
            const int64_t ix0 = xo * d->stride_w - d->pad_left;
            const int64_t xl = kx_lo[xo], xh = kx_hi[xo];
            /* position of tap (ky, kx): (iy0 + ky*dh)*iw + ix0 + kx*dw */
            const int64_t pos0 = (iy0 + ky_lo * dh) * iw + ix0 + xl * dw;
            pm_vf best = pm_loadu(t + pos0 * PM_V); /* the first in-range tap */
            /* tapm: the first in-range tap's number, and steps kw / 1 */
            const int64_t at0 = tapm ? ky_lo * kw + xl : pos0;
            const int64_t at_rstep = tapm ? kw : dh * iw, at_cstep = tapm ? 1 : dw;
            pm_vi best_at = pm_set1_i((int32_t)at0);
            if (nonan) {
                const float *first = t + pos0 * PM_V;
                const int64_t nky = ky_hi - ky_lo, nkx = xh - xl;
                const int64_t rstep = dh * iw, cstep = dw;
                if (nky == 3 && nkx == 3) {
                    pm_small_nonan(first, 3, 3, rstep, cstep, at0, at_rstep, at_cstep, has_ind,
                                   &best, &best_at);
                } else if (nky == 2 && nkx == 2) {
                    pm_small_nonan(first, 2, 2, rstep, cstep, at0, at_rstep, at_cstep, has_ind,
                                   &best, &best_at);
                } else if (nky == 2 && nkx == 3) {
                    pm_small_nonan(first, 2, 3, rstep, cstep, at0, at_rstep, at_cstep, has_ind,
                                   &best, &best_at);
                } else if (nky == 3 && nkx == 2) {
                    pm_small_nonan(first, 3, 2, rstep, cstep, at0, at_rstep, at_cstep, has_ind,
                                   &best, &best_at);
                } else {
                    pm_small_nonan(first, nky, nkx, rstep, cstep, at0, at_rstep, at_cstep,
                                   has_ind, &best, &best_at);
                }
            } else {
                /* the scalar rule lane by lane: v > best || isnan(v) replaces */
                for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
                    const int64_t rpos = (iy0 + ky * dh) * iw + ix0;
                    for (int64_t kx = (ky == ky_lo ? xl + 1 : xl); kx < xh; ++kx) {
                        const int64_t pos = rpos + kx * dw;
                        const pm_vf v = pm_loadu(t + pos * PM_V);
                        const pm_m take = pm_gt_or_nan(v, best);
                        best = pm_blend_f(take, best, v);
                        if (has_ind) {
                            best_at = pm_blend_i(take, best_at,
                                                 pm_set1_i((int32_t)(tapm ? ky * kw + kx : pos)));
                        }
                    }
                }
            }
            ov[k] = best;
            oi[k] = pm_as_f(best_at);
            if (++k == PM_V) {
                pm_small_flush(ov, oi, out, dst, ind, taps, oplane, o0, k);
                o0 += k;
                k = 0;
            }
        }
    }
    if (k > 0) {
        if (k > PM_SMALL_FLUSH_COPY) { /* transposed whole: no lane of it undefined */
            for (int i = k; i < PM_V; ++i) {
                ov[i] = pm_zero_f();
                oi[i] = pm_zero_f();
            }
        }
        pm_small_flush(ov, oi, out, dst, ind, taps, oplane, o0, k);
    }
}

/* the tap copy out of line (the others as before) */
static __attribute__((noinline)) void pm_small_group_taps(const pm_fwd_ctx *x, int64_t p0) {
    pm_small_group(x, p0, PM_OUT_TAPS);
}

typedef struct {
    pm_fwd_ctx base;
    int64_t groups; /* tasks [0, groups) are plane groups, the rest single planes */
} pm_small_ctx;

static void pm_small_task(void *p, int64_t t) {
    const pm_small_ctx *x = p;
    if (t < x->groups) {
        if (x->base.indices != NULL) {
            pm_small_group(&x->base, t * PM_V, PM_OUT_IND);
        } else if (x->base.taps != NULL) {
            pm_small_group_taps(&x->base, t * PM_V);
        } else {
            pm_small_group(&x->base, t * PM_V, PM_OUT_NONE);
        }
    } else {
        pm_fwd_task((void *)&x->base, x->groups * PM_V + (t - x->groups));
    }
}
