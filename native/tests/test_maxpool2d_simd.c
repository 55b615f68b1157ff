/*
 * maxpool2d AVX2 / AVX-512 variants against the scalar kernel: forward values and indices
 * bit-exact (ties, -0/+0, infinities, NaNs with distinct payloads), backward bit-exact
 * (overlapping windows, repeated indices, in-window indices that are not the maximum, one
 * stray index, -0 and NaN gradients), out-of-range indices rejected, guard elements after
 * every buffer untouched, inputs fenced by PROT_NONE pages never read outside. The compact
 * mask forward (fwd_taps, where a level has one) on every case too: dst bits as scalar, every
 * tap byte naming the scalar index. Asserts how many variant runs it compared.
 */
#include "core/pcnn_internal.h"
#include "test_util.h"

#include "test_platform.h"

static int g_compared;

/* Values with many ties, both zeros, infinities and NaNs of distinct payloads. */
static void fill_hostile(float *p, int64_t n, int nan_rate) {
    for (int64_t i = 0; i < n; ++i) {
        const int r = (int)rng_int(0, 99);
        if (r < nan_rate) {
            p[i] = f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff) |
                               (rng_int(0, 1) ? 0x80000000u : 0u));
        } else if (r < nan_rate + 3) {
            p[i] = rng_int(0, 1) ? INFINITY : -INFINITY;
        } else if (r < nan_rate + 8) {
            p[i] = rng_int(0, 1) ? 0.0f : -0.0f;
        } else {
            p[i] = (float)rng_int(-4, 4);
        }
    }
}

static int same_bits(const float *a, const float *b, int64_t n, int64_t *at) {
    for (int64_t i = 0; i < n; ++i) {
        if (bits_of(a[i]) != bits_of(b[i])) {
            *at = i;
            return 0;
        }
    }
    return 1;
}

/* A random in-range tap of output element i's window (i counts over n, c, y, x), as a
 * plane offset: computed here from the desc, independently of the kernels. */
static int32_t random_window_tap(const pcnn_maxpool2d_desc *d, int64_t i) {
    const int64_t x = i % d->ow, y = (i / d->ow) % d->oh;
    for (;;) {
        const int64_t ky = rng_int(0, d->kh - 1), kx = rng_int(0, d->kw - 1);
        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
        const int64_t ix = x * d->stride_w - d->pad_left + kx * d->dilation_w;
        if (iy >= 0 && iy < d->ih && ix >= 0 && ix < d->iw) {
            return (int32_t)(iy * d->iw + ix);
        }
    }
}

/* Variant runs of the compact-mask forward compared (check_fwd_taps). */
static int g_taps_compared;

/*
 * tab's fwd_taps (when not NULL) on d against the scalar int32 forward: the same dst bits and
 * every tap byte (ky * kw + kx, decoded here from the desc) naming the scalar index; no byte
 * past the end written, none left unwritten (prefill 0xA5 is no valid tap below 166 taps).
 */
static void check_fwd_taps(const pcnn_kernel_table *tab, int32_t level,
                           const pcnn_maxpool2d_desc *d, const float *src, const float *ref_dst,
                           const int32_t *ref_ind, const char *why) {
    if (tab->maxpool2d_fwd_taps == NULL || d->kh * d->kw > PCNN_MAXPOOL2D_TAPS_MAX) {
        return;
    }
    const int64_t nd = pool_dst_count(d), guard = 64;
    float *dst = gbuf_f(nd);
    uint8_t *taps = malloc((size_t)(nd + guard));
    CHECK(taps != NULL, "out of memory");
    memset(taps, 0xA5, (size_t)(nd + guard));
    const int32_t st = tab->maxpool2d_fwd_taps(d, src, dst, taps);
    CHECK(st == PCNN_STATUS_OK, "%s fwd_taps status %d (%s)", pcnn_isa_name(level), (int)st, why);
    int64_t at = -1;
    CHECK(same_bits(dst, ref_dst, nd, &at), "%s fwd_taps dst differs at %" PRId64 " (%s)",
          pcnn_isa_name(level), at, why);
    for (int64_t i = 0; i < nd; ++i) {
        const int64_t t = taps[i], x = i % d->ow, y = (i / d->ow) % d->oh;
        const int64_t iy = y * d->stride_h - d->pad_top + (t / d->kw) * d->dilation_h;
        const int64_t ix = x * d->stride_w - d->pad_left + (t % d->kw) * d->dilation_w;
        const int ok = t < d->kh * d->kw && iy >= 0 && iy < d->ih && ix >= 0 && ix < d->iw &&
                       iy * d->iw + ix == ref_ind[i];
        if (!ok) {
            CHECK(0, "%s fwd_taps: output %" PRId64 " tap %d, the scalar index is %d (%s)",
                  pcnn_isa_name(level), i, (int)t, (int)ref_ind[i], why);
            break;
        }
    }
    int guard_intact = guard_ok(dst, nd);
    for (int64_t i = nd; i < nd + guard; ++i) guard_intact &= taps[i] == 0xA5;
    CHECK(guard_intact, "%s fwd_taps wrote past the end (%s)", pcnn_isa_name(level), why);
    ++g_taps_compared;
    free(dst);
    free(taps);
}

/* 1 when tap t (ky * kw + kx) of output element i's window is an input position */
static int tap_in_input(const pcnn_maxpool2d_desc *d, int64_t i, int64_t t) {
    const int64_t x = i % d->ow, y = (i / d->ow) % d->oh;
    const int64_t iy = y * d->stride_h - d->pad_top + t / d->kw * d->dilation_h;
    const int64_t ix = x * d->stride_w - d->pad_left + t % d->kw * d->dilation_w;
    return t < d->kh * d->kw && iy >= 0 && iy < d->ih && ix >= 0 && ix < d->iw;
}

/*
 * Mask mode (maxpool2d_bwd_taps) of one variant: the scalar forward's taps must give the int32
 * backward's sums (ref_ds); in-range taps that are not the maximum, cycling through every tap
 * position (phase random), must give the scalar mask kernel's sums; a tap past the window and
 * a padded tap of an output on each edge (first / last row, first / last column: the AVX-512
 * row path's edge rows and edge lanes) must be reported, each alone among valid taps.
 */
static void run_case_taps(const pcnn_kernel_table *tab, int32_t level, const pcnn_maxpool2d_desc *d,
                          const float *src, const float *dd, const float *ref_ds, const char *why) {
    const int64_t ns = pool_src_count(d), nd = pool_dst_count(d), ntaps = d->kh * d->kw;
    const char *isa = pcnn_isa_name(level);
    uint8_t *taps = malloc((size_t)nd), *ok_taps = malloc((size_t)nd);
    float *dst = gbuf_f(nd), *ds = gbuf_f(ns), *rs = gbuf_f(ns);
    int64_t at = -1;
    CHECK_STATUS(pcnn_maxpool2d_fwd_taps__scalar(d, src, dst, taps), PCNN_STATUS_OK);
    CHECK_STATUS(tab->maxpool2d_bwd_taps(d, dd, taps, ds), PCNN_STATUS_OK);
    CHECK(same_bits(ds, ref_ds, ns, &at), "%s bwd_taps differs at %" PRId64 " (%s)", isa, at, why);
    CHECK(guard_ok(ds, ns), "%s bwd_taps wrote past the end (%s)", isa, why);
    const int64_t phase = rng_int(0, ntaps - 1);
    for (int64_t i = 0; i < nd; ++i) {
        int64_t t = (i + phase) % ntaps;
        while (!tap_in_input(d, i, t)) t = (t + 1) % ntaps; /* every window has one */
        ok_taps[i] = (uint8_t)t;
    }
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps__scalar(d, dd, ok_taps, rs), PCNN_STATUS_OK);
    CHECK_STATUS(tab->maxpool2d_bwd_taps(d, dd, ok_taps, ds), PCNN_STATUS_OK);
    CHECK(same_bits(ds, rs, ns, &at), "%s bwd_taps (in-window taps) differs at %" PRId64 " (%s)",
          isa, at, why);
    for (int kind = 0; kind < 5; ++kind) {
        const int64_t p = rng_int(0, d->n * d->c - 1);
        int64_t y = rng_int(0, d->oh - 1), x = rng_int(0, d->ow - 1), t = -1;
        y = kind == 1 ? 0 : kind == 2 ? d->oh - 1 : y;
        x = kind == 3 ? 0 : kind == 4 ? d->ow - 1 : x;
        const int64_t i = (p * d->oh + y) * d->ow + x;
        if (kind == 0) { /* past the window */
            t = ntaps < 256 ? rng_int(ntaps, 255) : -1;
        } else { /* a padded tap of this output, if it has one */
            const int64_t from = rng_int(0, ntaps - 1);
            for (int64_t k = 0; k < ntaps && t < 0; ++k) {
                if (!tap_in_input(d, i, (from + k) % ntaps)) t = (from + k) % ntaps;
            }
        }
        if (t < 0) continue;
        memcpy(taps, ok_taps, (size_t)nd);
        taps[i] = (uint8_t)t;
        CHECK_STATUS(pcnn_maxpool2d_bwd_taps__scalar(d, dd, taps, rs), PCNN_STATUS_OUT_OF_RANGE);
        CHECK(tab->maxpool2d_bwd_taps(d, dd, taps, ds) == PCNN_STATUS_OUT_OF_RANGE,
              "%s bwd_taps: bad tap %d (kind %d) at y %" PRId64 " x %" PRId64 " not reported (%s)",
              isa, (int)t, kind, y, x, why);
        CHECK(guard_ok(ds, ns), "%s bwd_taps (bad tap) wrote past the end (%s)", isa, why);
    }
    ++g_compared;
    free(taps);
    free(ok_taps);
    free(dst);
    free(ds);
    free(rs);
}

/* Cases whose window is larger than the padded input on some axis (ceil mode only). */
static int g_window_larger;

static int window_larger_than_padded(const pcnn_maxpool2d_desc *d) {
    return d->dilation_h * (d->kh - 1) + 1 > d->ih + d->pad_top + d->pad_bottom ||
           d->dilation_w * (d->kw - 1) + 1 > d->iw + d->pad_left + d->pad_right;
}

/* Source fill for run_case (main sets it): 0 hostile random (fill_hostile), 1 constant (ties
 * everywhere), 2 peaks, 3 NaN peaks. Peaks: -1 except every 4th column of every 4th row
 * (phases per plane): with 3x3 stride 2 windows a peak on a column two windows share is both
 * windows' maximum, so neighbouring outputs of a row scatter to the same element, and outputs
 * of neighbouring rows too (added for a dropped AVX-512 gather / scatter backward, see
 * maxpool2d/README.md; kept for the scatters that remain). */
static int g_fill;
/* percent of NaN gradients (distinct payloads): two NaNs meeting on one element keep the
 * first sum operand's payload, which the kernels must match */
static int g_dd_nan = 2;
/* percent of +-inf gradients (inf + -inf on one element is the default NaN) */
static int g_dd_inf = 0;

static void fill_src(const pcnn_maxpool2d_desc *d, float *src) {
    const int64_t plane = d->ih * d->iw;
    for (int64_t p = 0; p < d->n * d->c; ++p) {
        float *s = src + p * plane;
        const int64_t ph_c = p % 4, ph_r = (p / 4) % 4;
        for (int64_t i = 0; i < plane; ++i) {
            const int64_t iy = i / d->iw, ix = i % d->iw;
            if (g_fill == 1) {
                s[i] = 0.5f;
            } else if (iy % 4 == ph_r && ix % 4 == ph_c) {
                s[i] = g_fill == 3 ? f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff))
                                   : (float)(1 + p % 3);
            } else {
                s[i] = -1.0f;
            }
        }
    }
}

static void run_case(pcnn_maxpool2d_desc d, const char *why) {
    if (pcnn_maxpool2d_desc_init(&d) != PCNN_STATUS_OK) {
        return;
    }
    g_window_larger += window_larger_than_padded(&d);
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
    float *src = gbuf_f(ns);
    float *dd = gbuf_f(nd);
    fill_hostile(src, ns, (int)rng_int(0, 1) ? 6 : 0);
    if (g_fill != 0) {
        fill_src(&d, src);
    } else if (rng_int(0, 3) == 0) { /* mostly -inf: whole windows of -inf (ties at the bottom) */
        for (int64_t i = 0; i < ns; ++i) {
            if (rng_int(0, 9) < 8) src[i] = -INFINITY;
        }
    }
    for (int64_t i = 0; i < nd; ++i) {
        /* some -0 (0 + -0 is +0 in the scalar sum) and NaNs with payloads among the grads */
        const int r = (int)rng_int(0, 99);
        dd[i] = r < 5 ? -0.0f : r < 5 + g_dd_nan ? f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff))
                : r < 5 + g_dd_nan + g_dd_inf ? (rng_int(0, 1) ? INFINITY : -INFINITY)
                                      : rng_unit();
    }
    float *ref_dst = gbuf_f(nd);
    int32_t *ref_ind = gbuf_i(nd);
    float *ref_ds = gbuf_f(ns);
    CHECK_STATUS(pcnn_maxpool2d_fwd__scalar(&d, src, ref_dst, ref_ind), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_bwd__scalar(&d, dd, ref_ind, ref_ds), PCNN_STATUS_OK);

    for (int32_t level = PCNN_ISA_AVX2; level <= pcnn_isa_detected(); ++level) {
        const pcnn_kernel_table *tab = pcnn_kernel_table_for(level);
        if (tab == NULL) continue;
        if (tab->maxpool2d_fwd != NULL) {
            float *dst = gbuf_f(nd);
            int32_t *ind = gbuf_i(nd);
            float *dst2 = gbuf_f(nd);
            const int32_t st = tab->maxpool2d_fwd(&d, src, dst, ind);
            CHECK(st == PCNN_STATUS_OK, "%s fwd status %d (%s)", pcnn_isa_name(level), (int)st, why);
            int64_t at = -1;
            CHECK(same_bits(dst, ref_dst, nd, &at), "%s fwd dst differs at %" PRId64 " (%s)",
                  pcnn_isa_name(level), at, why);
            CHECK(memcmp(ind, ref_ind, (size_t)nd * sizeof(int32_t)) == 0,
                  "%s fwd indices differ (%s)", pcnn_isa_name(level), why);
            CHECK(tab->maxpool2d_fwd(&d, src, dst2, NULL) == PCNN_STATUS_OK, "NULL indices");
            CHECK(same_bits(dst2, ref_dst, nd, &at), "%s fwd (NULL indices) differs (%s)",
                  pcnn_isa_name(level), why);
            CHECK(guard_ok(dst, nd) && guard_ok(ind, nd) && guard_ok(dst2, nd),
                  "%s fwd wrote past the end (%s)", pcnn_isa_name(level), why);
            ++g_compared;
            check_fwd_taps(tab, level, &d, src, ref_dst, ref_ind, why);
            free(dst);
            free(ind);
            free(dst2);
        }
        if (tab->maxpool2d_bwd != NULL) {
            float *ds = gbuf_f(ns);
            const int32_t st = tab->maxpool2d_bwd(&d, dd, ref_ind, ds);
            CHECK(st == PCNN_STATUS_OK, "%s bwd status %d (%s)", pcnn_isa_name(level), (int)st, why);
            int64_t at = -1;
            CHECK(same_bits(ds, ref_ds, ns, &at), "%s bwd differs at %" PRId64 " (%s)",
                  pcnn_isa_name(level), at, why);
            CHECK(guard_ok(ds, ns), "%s bwd wrote past the end (%s)", pcnn_isa_name(level), why);
            /* arbitrary in-range indices, repeated ones included: still the scalar sums */
            int32_t *rnd = gbuf_i(nd);
            for (int64_t i = 0; i < nd; ++i) rnd[i] = (int32_t)rng_int(0, d.ih * d.iw - 1);
            float *rs = gbuf_f(ns);
            CHECK_STATUS(pcnn_maxpool2d_bwd__scalar(&d, dd, rnd, rs), PCNN_STATUS_OK);
            CHECK_STATUS(tab->maxpool2d_bwd(&d, dd, rnd, ds), PCNN_STATUS_OK);
            CHECK(same_bits(ds, rs, ns, &at), "%s bwd (random indices) differs (%s)",
                  pcnn_isa_name(level), why);
            /* random in-window indices (each output's index is some in-range tap of its own
             * window, not necessarily the maximum): the non-overlapping direct path must
             * still give the scalar sums */
            for (int64_t i = 0; i < nd; ++i) rnd[i] = random_window_tap(&d, i);
            CHECK_STATUS(pcnn_maxpool2d_bwd__scalar(&d, dd, rnd, rs), PCNN_STATUS_OK);
            CHECK_STATUS(tab->maxpool2d_bwd(&d, dd, rnd, ds), PCNN_STATUS_OK);
            CHECK(same_bits(ds, rs, ns, &at), "%s bwd (in-window indices) differs at %" PRId64
                  " (%s)", pcnn_isa_name(level), at, why);
            /* one in-range index outside its own window among in-window ones */
            rnd[rng_int(0, nd - 1)] = (int32_t)rng_int(0, d.ih * d.iw - 1);
            CHECK_STATUS(pcnn_maxpool2d_bwd__scalar(&d, dd, rnd, rs), PCNN_STATUS_OK);
            CHECK_STATUS(tab->maxpool2d_bwd(&d, dd, rnd, ds), PCNN_STATUS_OK);
            CHECK(same_bits(ds, rs, ns, &at), "%s bwd (one stray index) differs at %" PRId64
                  " (%s)", pcnn_isa_name(level), at, why);
            /* one bad index anywhere -> OUT_OF_RANGE */
            const int64_t bad_at = rng_int(0, nd - 1);
            rnd[bad_at] = rng_int(0, 1) ? -1 : (int32_t)(d.ih * d.iw);
            CHECK_STATUS(tab->maxpool2d_bwd(&d, dd, rnd, ds), PCNN_STATUS_OUT_OF_RANGE);
            CHECK(guard_ok(ds, ns), "%s bwd (bad index) wrote past the end", pcnn_isa_name(level));
            ++g_compared;
            free(ds);
            free(rnd);
            free(rs);
        }
        if (tab->maxpool2d_bwd_taps != NULL) {
            run_case_taps(tab, level, &d, src, dd, ref_ds, why);
        }
    }
    free(src);
    free(dd);
    free(ref_dst);
    free(ref_ind);
    free(ref_ds);
}

/*
 * The AVX-512 3x3 stride-2 row backward (maxpool2d-s2bwd-avx512.h) takes an output row only
 * when every index is one of its own window's in-range taps. Indices that equal a window
 * tap's offset computed through the padding (column -1 is the previous row's last column,
 * column iw the next row's first, row -1 a negative offset) must send the row to the scalar
 * scatter: set such an index in one row (or several), compare with scalar at 1-3 threads.
 */
static void run_tap_aliases(pcnn_maxpool2d_desc d, const char *why) {
    if (pcnn_maxpool2d_desc_init(&d) != PCNN_STATUS_OK) {
        return;
    }
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d), plane = d.ih * d.iw;
    float *src = gbuf_f(ns), *dd = gbuf_f(nd), *dst = gbuf_f(nd), *rs = gbuf_f(ns),
          *ds = gbuf_f(ns);
    int32_t *ind = gbuf_i(nd);
    fill_hostile(src, ns, 2);
    for (int64_t i = 0; i < nd; ++i) dd[i] = rng_int(0, 9) ? rng_unit() : -0.0f;
    CHECK_STATUS(pcnn_maxpool2d_fwd__scalar(&d, src, dst, ind), PCNN_STATUS_OK);
    for (int kind = 0; kind < 5; ++kind) {
        int32_t *alias = gbuf_i(nd);
        memcpy(alias, ind, (size_t)nd * sizeof(int32_t));
        const int64_t p = rng_int(0, d.n * d.c - 1);
        int64_t y = rng_int(0, d.oh - 1), x = rng_int(0, d.ow - 1);
        int64_t ky = rng_int(0, d.kh - 1), kx = rng_int(0, d.kw - 1);
        if (kind == 0) { /* column -1 with pad_left 1: output column 0, kx 0 */
            x = 0, kx = 0;
        } else if (kind == 1) { /* the last output's kx 2: column iw in some shapes */
            x = d.ow - 1, kx = 2;
        } else if (kind == 2) { /* row -1 with pad_top 1: output row 0, ky 0 (negative) */
            y = 0, ky = 0;
        } else if (kind == 3) { /* three rows down: a tap of the next output row's window */
            ky += 3;
        } else { /* the last output row's ky 1: below the input when that row's r0 = ih - 1 */
            y = d.oh - 1, ky = 1;
        }
        const int64_t at = (y * d.stride_h - d.pad_top + ky) * d.iw + x * d.stride_w -
                           d.pad_left + kx;
        const int expect_bad = at < 0 || at >= plane;
        alias[p * d.oh * d.ow + y * d.ow + x] = (int32_t)at; /* the alias itself, even if bad */
        const int32_t st_ref = pcnn_maxpool2d_bwd__scalar(&d, dd, alias, rs);
        CHECK(st_ref == (expect_bad ? PCNN_STATUS_OUT_OF_RANGE : PCNN_STATUS_OK),
              "scalar status %d (%s kind %d)", (int)st_ref, why, kind);
        for (int32_t level = PCNN_ISA_AVX2; level <= pcnn_isa_detected(); ++level) {
            const pcnn_kernel_table *tab = pcnn_kernel_table_for(level);
            if (tab == NULL || tab->maxpool2d_bwd == NULL) continue;
            for (int th = 1; th <= 3; ++th) {
                pcnn_set_num_threads(th);
                int64_t where = -1;
                CHECK_STATUS(tab->maxpool2d_bwd(&d, dd, alias, ds), st_ref);
                if (!expect_bad) {
                    CHECK(same_bits(ds, rs, ns, &where), "%s bwd (tap alias %d) differs at %" PRId64
                          " (%s, %d threads)", pcnn_isa_name(level), kind, where, why, th);
                }
                CHECK(guard_ok(ds, ns), "%s bwd (tap alias) wrote past the end", pcnn_isa_name(level));
                ++g_compared;
            }
        }
        free(alias);
    }
    pcnn_set_num_threads(1);
    free(src);
    free(dd);
    free(dst);
    free(rs);
    free(ds);
    free(ind);
}

/* Every variant on inputs that end (or start) exactly at a PROT_NONE page: the plain loads
 * near the buffer's ends must not read a byte outside it. Results checked against scalar. */
static void run_fenced(pcnn_maxpool2d_desc d, const char *why) {
    if (pcnn_maxpool2d_desc_init(&d) != PCNN_STATUS_OK) {
        return;
    }
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
    for (int at_start = 0; at_start <= 1; ++at_start) {
        /* 4-byte elements right after (at_start) or right before a page that faults */
        test_fenced src = test_fenced_alloc((size_t)ns * 4, at_start),
                    dd = test_fenced_alloc((size_t)nd * 4, at_start),
                    ind = test_fenced_alloc((size_t)nd * 4, at_start),
                    taps = test_fenced_alloc((size_t)nd, at_start);
        float *s = src.p, *g = dd.p;
        for (int64_t i = 0; i < ns; ++i) s[i] = (float)rng_int(-3, 3);
        for (int64_t i = 0; i < nd; ++i) g[i] = rng_unit();
        float *ref_dst = gbuf_f(nd), *dst = gbuf_f(nd), *ref_ds = gbuf_f(ns), *ds = gbuf_f(ns);
        int32_t *ref_ind = gbuf_i(nd);
        CHECK_STATUS(pcnn_maxpool2d_fwd__scalar(&d, s, ref_dst, ref_ind), PCNN_STATUS_OK);
        memcpy(ind.p, ref_ind, (size_t)nd * 4);
        CHECK_STATUS(pcnn_maxpool2d_bwd__scalar(&d, g, ind.p, ref_ds), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_maxpool2d_fwd_taps__scalar(&d, s, dst, taps.p), PCNN_STATUS_OK);
        for (int32_t level = PCNN_ISA_AVX2; level <= pcnn_isa_detected(); ++level) {
            const pcnn_kernel_table *tab = pcnn_kernel_table_for(level);
            if (tab == NULL) continue;
            int64_t at = -1;
            if (tab->maxpool2d_fwd != NULL) {
                CHECK_STATUS(tab->maxpool2d_fwd(&d, s, dst, NULL), PCNN_STATUS_OK);
                CHECK(same_bits(dst, ref_dst, nd, &at), "%s fenced fwd differs at %" PRId64
                      " (%s)", pcnn_isa_name(level), at, why);
                ++g_compared;
                check_fwd_taps(tab, level, &d, s, ref_dst, ref_ind, why);
            }
            if (tab->maxpool2d_bwd != NULL) {
                CHECK_STATUS(tab->maxpool2d_bwd(&d, g, ind.p, ds), PCNN_STATUS_OK);
                CHECK(same_bits(ds, ref_ds, ns, &at), "%s fenced bwd differs at %" PRId64
                      " (%s)", pcnn_isa_name(level), at, why);
                ++g_compared;
            }
            if (tab->maxpool2d_bwd_taps != NULL) {
                CHECK_STATUS(tab->maxpool2d_bwd_taps(&d, g, taps.p, ds), PCNN_STATUS_OK);
                CHECK(same_bits(ds, ref_ds, ns, &at), "%s fenced bwd_taps differs at %" PRId64
                      " (%s)", pcnn_isa_name(level), at, why);
                ++g_compared;
            }
        }
        free(ref_dst);
        free(dst);
        free(ref_ds);
        free(ds);
        free(ref_ind);
        test_fenced_free(&src);
        test_fenced_free(&dd);
        test_fenced_free(&ind);
        test_fenced_free(&taps);
    }
}

int main(void) {
    uint64_t seed = 12345;
    const char *env = getenv("PCNN_TEST_SEED");
    if (env != NULL) seed = strtoull(env, NULL, 10);
    printf("test_maxpool2d_simd: seed=%" PRIu64 " (set PCNN_TEST_SEED to repeat)\n", seed);
    rng_seed(seed);
    const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                          21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 48, 63, 64, 65};
    const int nw = (int)(sizeof widths / sizeof widths[0]);
    /* kh kw sh sw pt pb pl pr dh dw ceil */
    const int cfg[][11] = {
        {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0}, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
        {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
        {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 3, 3, 0, 0, 0, 0, 1, 1, 0},
        {2, 3, 3, 4, 1, 0, 0, 1, 1, 1, 1}, {3, 2, 1, 2, 0, 1, 1, 0, 2, 2, 0},
        {1, 4, 1, 1, 0, 0, 2, 1, 1, 1, 0}, {3, 3, 2, 3, 1, 0, 1, 1, 2, 1, 1},
        {2, 5, 1, 5, 1, 1, 2, 2, 1, 1, 0}, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0},
        /* stride-2 fast paths: kw 2 / 3 with other rows, paddings, dilations; kw = sw = 2
         * non-overlapping windows of 1 and 3 rows (the direct backward) */
        {1, 2, 1, 2, 0, 0, 0, 0, 1, 1, 0}, {3, 2, 3, 2, 0, 0, 0, 0, 1, 1, 0},
        {3, 2, 3, 2, 0, 1, 0, 1, 1, 1, 1}, {2, 2, 2, 2, 1, 0, 1, 0, 1, 1, 0},
        {4, 3, 2, 2, 0, 2, 2, 0, 2, 1, 0}, {3, 3, 3, 2, 2, 0, 0, 2, 1, 1, 1},
        {2, 2, 3, 2, 0, 0, 0, 0, 2, 1, 0},
        /* ceil mode with windows hanging past the padded input and, on narrow inputs, larger
         * than it (PyTorch's output-size rule): general, inside and stride-2 paths */
        {3, 3, 2, 2, 0, 0, 1, 0, 1, 1, 1}, {2, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1},
        {5, 9, 3, 4, 0, 1, 1, 0, 1, 1, 1}, {4, 7, 4, 6, 1, 0, 0, 2, 1, 1, 1},
        {3, 3, 4, 5, 1, 0, 1, 1, 3, 4, 1}, {6, 2, 5, 2, 0, 0, 0, 0, 2, 1, 1},
        {3, 12, 2, 9, 0, 0, 3, 0, 1, 1, 1}, {2, 4, 3, 3, 0, 0, 0, 0, 1, 2, 1},
        /* the row-reuse loop's left block with pad_left 1 (lane 0's tap 0 padded): kw 2,
         * ceil mode without right padding, rows dilated (stride_h 4 = 2 * dilation_h) */
        {3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0}, {3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1},
        {3, 3, 4, 2, 2, 2, 1, 1, 2, 1, 0},
    };
    const int ncfg = (int)(sizeof cfg / sizeof cfg[0]);
    for (int ci = 0; ci < ncfg; ++ci) {
        const int *k = cfg[ci];
        for (int wi = 0; wi < nw; ++wi) {
            const int iw = widths[wi];
            const int ih = (int)rng_int(1, 9);
            char why[96];
            snprintf(why, sizeof why, "cfg %d iw %d ih %d", ci, iw, ih);
            run_case(pool_desc(rng_int(1, 2), rng_int(1, 3), ih, iw, k[0], k[1], k[2], k[3], k[4],
                               k[5], k[6], k[7], k[8], k[9], k[10]),
                     why);
        }
    }
    for (int r = 0; r < 300; ++r) {
        char why[64];
        snprintf(why, sizeof why, "random case %d", r);
        run_case(pool_desc(rng_int(1, 3), rng_int(1, 4), rng_int(1, 40), rng_int(1, 70),
                           rng_int(1, 4), rng_int(1, 5), rng_int(1, 4), rng_int(1, 5),
                           rng_int(0, 2), rng_int(0, 2), rng_int(0, 2), rng_int(0, 2),
                           rng_int(1, 3), rng_int(1, 3), rng_int(0, 1)),
                 why);
    }
    /* small inputs, large (dilated) windows, ceil mode: windows larger than the input */
    for (int r = 0; r < 600; ++r) {
        char why[64];
        snprintf(why, sizeof why, "random large-window ceil case %d", r);
        run_case(pool_desc(rng_int(1, 2), rng_int(1, 3), rng_int(1, 6), rng_int(1, 20),
                           rng_int(1, 8), rng_int(1, 12), rng_int(1, 6), rng_int(1, 8),
                           rng_int(0, 3), rng_int(0, 3), rng_int(0, 3), rng_int(0, 3),
                           rng_int(1, 3), rng_int(1, 3), 1),
                 why);
    }
    /* buffers fenced by PROT_NONE pages, every width of the corpus, all configs */
    for (int ci = 0; ci < ncfg; ++ci) {
        const int *k = cfg[ci];
        for (int wi = 0; wi < nw; ++wi) {
            char why[96];
            snprintf(why, sizeof why, "fenced cfg %d iw %d", ci, widths[wi]);
            run_fenced(pool_desc(1, rng_int(1, 2), rng_int(1, 9), widths[wi], k[0], k[1], k[2],
                                 k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10]),
                       why);
        }
    }
    /* many small planes (n * c from 6 to 60, so none, one or several whole vectors of planes
     * plus leftovers): the lanes-across-planes path for short output rows, every config,
     * thread counts 1 and 2, plain and fenced buffers */
    int small_cases = 0;
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        for (int ci = 0; ci < ncfg; ++ci) {
            const int *k = cfg[ci];
            for (int r = 0; r < 3; ++r) {
                char why[96];
                snprintf(why, sizeof why, "many planes cfg %d #%d threads %d", ci, r, th);
                pcnn_maxpool2d_desc d = pool_desc(rng_int(1, 3), rng_int(6, 20), rng_int(1, 34),
                                                  rng_int(1, 34), k[0], k[1], k[2], k[3], k[4],
                                                  k[5], k[6], k[7], k[8], k[9], k[10]);
                run_case(d, why);
                if (pcnn_maxpool2d_desc_init(&d) == PCNN_STATUS_OK && 2 * d.ow <= 16 &&
                    d.n * d.c >= 16 && d.ih * d.iw <= 1024) {
                    ++small_cases;
                }
                snprintf(why, sizeof why, "fenced many planes cfg %d #%d", ci, r);
                d.n = 1;
                d.c = rng_int(16, 40);
                run_fenced(d, why);
            }
        }
    }
    CHECK(small_cases >= 50, "only %d cases for the small-plane path", small_cases);
    /* larger planes, at least PM_V of them (16 to 40: whole groups plus leftovers): the
     * lanes-across-planes ring path (maxpool2d-planes-fwd.h) for output rows longer than the
     * small-plane path takes; every config (paddings, dilations, ceil mode), odd sizes,
     * thread counts 1 and 2, hostile values (NaNs, -0, ties), plain and fenced buffers */
    int ring_cases = 0;
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        for (int ci = 0; ci < ncfg; ++ci) {
            const int *k = cfg[ci];
            for (int r = 0; r < 2; ++r) {
                char why[96];
                snprintf(why, sizeof why, "ring planes cfg %d #%d threads %d", ci, r, th);
                pcnn_maxpool2d_desc d = pool_desc(rng_int(1, 2), rng_int(8, 20), rng_int(1, 47),
                                                  rng_int(17, 71), k[0], k[1], k[2], k[3], k[4],
                                                  k[5], k[6], k[7], k[8], k[9], k[10]);
                run_case(d, why);
                if (pcnn_maxpool2d_desc_init(&d) == PCNN_STATUS_OK && 2 * d.ow > 16 &&
                    d.n * d.c >= 16) {
                    ++ring_cases;
                }
                snprintf(why, sizeof why, "fenced ring planes cfg %d #%d", ci, r);
                d.n = 1;
                d.c = rng_int(16, 35);
                run_fenced(d, why);
            }
        }
    }
    CHECK(ring_cases >= 40, "only %d cases for the ring path", ring_cases);
    /* the benchmark shapes, thread count 1 and 2 */
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        run_case(pool_desc(4, 6, 24, 24, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_lenet");
        run_case(pool_desc(2, 8, 56, 56, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_mid");
        run_case(pool_desc(1, 4, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_resnet");
        run_case(pool_desc(1, 19, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_resnet, 19 planes");
        run_case(pool_desc(2, 9, 56, 56, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_mid, 18 planes");
        run_case(pool_desc(1, 16, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_small");
        /* enough work for two participants (pm_work): groups split across threads */
        run_case(pool_desc(8, 67, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_small, 536 planes");
        run_case(pool_desc(2, 6, 24, 24, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_lenet, 12 planes");
        /* both sides of the backward's cached-plane rule (PM_BWD_CACHED_PLANE = 4096 floats:
         * zero the plane whole, then scatter) and the row-interleaved zeroing above it */
        run_case(pool_desc(1, 3, 64, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "64x64 planes (cached backward)");
        run_case(pool_desc(1, 3, 64, 65, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "64x65 planes (interleaved zeroing)");
        /* rows longer than the mask-mode decode buffer (2048 outputs): the scalar mask loop */
        run_case(pool_desc(1, 3, 5, 4203, 2, 2, 1, 2, 1, 0, 1, 0, 1, 1, 1), "4203-wide rows");
    }
    /* planes above the cached-backward size (4096 floats) over many planes: the large-plane
     * backward (zeroing one output row ahead) and the row-wise forward on plane counts not a
     * multiple of PM_V, odd sizes, ceil mode, dilation, strides 1-3 (shapes from the dropped
     * lanes-across-planes backward of 2026-12-05, kept for the paths that remain) */
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        run_case(pool_desc(1, 17, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "resnet 17 planes");
        run_case(pool_desc(2, 19, 67, 71, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), "67x71 ceil");
        run_case(pool_desc(1, 16, 65, 66, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1), "65x66 no pad ceil");
        run_case(pool_desc(1, 33, 70, 61, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0), "3x3 s1");
        run_case(pool_desc(1, 16, 69, 77, 2, 3, 3, 2, 1, 0, 1, 1, 2, 1, 1), "2x3 s3x2 dil");
        run_case(pool_desc(1, 20, 80, 80, 4, 4, 2, 2, 2, 1, 1, 2, 1, 2, 0), "4x4 dil 2");
        run_case(pool_desc(1, 16, 73, 90, 2, 3, 2, 2, 0, 1, 1, 1, 1, 1, 1), "kh 2 kw 3");
    }
    /* The large-plane backward (ih * iw > 4096) on repeated indices: inputs whose maxima sit
     * on the columns neighbouring windows share (peaks, NaN peaks), ties everywhere (constant),
     * many NaN gradients (two NaNs meeting keep the first operand's payload); rows ending off a
     * multiple of 16, planes just above 4096 floats, odd plane counts, rows shorter than a
     * vector, windows hanging over both ends of a row, window spans up to twice the stride. */
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        for (g_fill = 0; g_fill <= 3; ++g_fill) {
            for (int nan_pct = 2; nan_pct <= 40; nan_pct += 38) {
                g_dd_nan = nan_pct;
                run_case(pool_desc(1, 5, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "resnet fills");
                run_case(pool_desc(1, 7, 41, 100, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "41x100 (4100)");
                run_case(pool_desc(1, 3, 17, 241, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), "17x241 (4097) ceil");
                run_case(pool_desc(3, 3, 401, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "401x11 short rows");
                run_case(pool_desc(1, 9, 70, 67, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1), "70x67 no pad ceil");
                run_case(pool_desc(1, 5, 66, 95, 5, 5, 3, 3, 2, 2, 2, 2, 1, 1, 0), "5x5 s3 (pairs)");
                run_case(pool_desc(1, 5, 66, 95, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1), "3x3 s3 (no pairs)");
                run_case(pool_desc(1, 5, 65, 97, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0), "2x2 s2 pad 1");
                run_case(pool_desc(1, 3, 65, 97, 9, 3, 2, 2, 4, 4, 1, 1, 1, 1, 0), "9x3 s2 (kh > 8)");
                run_case(pool_desc(1, 3, 66, 99, 3, 2, 2, 2, 1, 1, 1, 1, 2, 3, 0), "3x2 s2 dil 2x3");
            }
        }
        g_fill = 0;
        g_dd_nan = 2;
    }
    /* The AVX-512 3x3 stride-2 row backward (maxpool2d-s2bwd-avx512.h; planes above 4096
     * floats): odd / even widths and row ends (ow a multiple of 16 or not), pad_top / pad_left
     * 0 and 1 in all four pairs, bottom / right padding, ceil mode, 1-3 threads, -0 / NaN /
     * inf gradients and peak / NaN-peak / constant inputs (shared columns, repeated
     * indices), plus indices that alias a padded tap (run_tap_aliases). */
    {
        const int s2_widths[] = {112, 111, 33, 17, 18, 15, 64, 65, 63, 31, 32, 3, 4, 5};
        g_dd_inf = 3;
        for (int wi = 0; wi < (int)(sizeof s2_widths / sizeof s2_widths[0]); ++wi) {
            const int iw = s2_widths[wi];
            for (int pads = 0; pads < 4; ++pads) {
                const int pt = pads & 1, pl = pads >> 1;
                const int ih = 4097 / iw + 1 + (int)rng_int(0, 5);
                const int ceil_mode = (int)rng_int(0, 1);
                const int pb = (int)rng_int(0, 1), pr = (int)rng_int(0, 1);
                char why[96];
                snprintf(why, sizeof why, "s2 rows %dx%d pt %d pl %d pb %d pr %d ceil %d", ih, iw,
                         pt, pl, pb, pr, ceil_mode);
                g_fill = (int)rng_int(0, 3);
                g_dd_nan = rng_int(0, 1) ? 2 : 30;
                pcnn_set_num_threads((int)rng_int(1, 3));
                run_case(pool_desc(1, rng_int(1, 5), ih, iw, 3, 3, 2, 2, pt, pb, pl, pr, 1, 1,
                                   ceil_mode),
                         why);
                run_tap_aliases(pool_desc(1, rng_int(1, 3), ih, iw, 3, 3, 2, 2, pt, pb, pl, pr, 1,
                                          1, ceil_mode),
                                why);
            }
        }
        g_fill = 0;
        g_dd_nan = 2;
        g_dd_inf = 0;
        pcnn_set_num_threads(1);
        /* the last output row's r0 = ih - 1 (rows r0 + 1, r0 + 2 below the input): ky 1 of that
         * row is one past the plane, which main's row path took for canonical (kind 4) */
        for (int r = 0; r < 4; ++r) {
            run_tap_aliases(pool_desc(1, 2, 65, 112, 3, 3, 2, 2, 0, 1, 1, 1, 1, 1, 1), "65x112 pb 1 ceil");
            run_tap_aliases(pool_desc(1, 2, 66, 75, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1), "66x75 pt 1 pb 1 ceil");
        }
    }
    const int expected_levels = pcnn_isa_detected(); /* avx2 = 1 level, avx512 = 2 */
    printf("compared %d variant runs over %d ISA level(s) (%d of them fwd_taps); %d cases with "
           "a window larger than the padded input\n", g_compared + g_taps_compared,
           expected_levels, g_taps_compared, g_window_larger);
    CHECK(g_window_larger >= 100, "only %d cases with a window larger than the padded input",
          g_window_larger);
    CHECK(expected_levels == 0 || g_compared > 0, "no variant was compared");
    int taps_levels = 0; /* vector levels with a fwd_taps kernel (NEON has none: scalar serves) */
    for (int32_t l = 1; l <= expected_levels; ++l) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(l);
        taps_levels += t != NULL && t->maxpool2d_fwd_taps != NULL;
    }
    CHECK(taps_levels == 0 || g_taps_compared > 1000, "only %d fwd_taps runs compared",
          g_taps_compared);
    return test_finish("test_maxpool2d_simd");
}
