/*
 * maxpool2d AVX2 / AVX-512 variants against the scalar kernel, int32 indices: forward values
 * and indices bit-exact (ties, -0/+0, infinities, NaNs with distinct payloads), backward
 * bit-exact (overlapping windows, repeated indices, in-window indices that are not the
 * maximum, one stray index, indices aliasing a padded tap, -0 and NaN gradients),
 * out-of-range indices rejected, guard elements after every buffer untouched, inputs fenced by
 * PROT_NONE pages never read outside. Asserts how many variant runs it compared. The compact
 * mask (fwd_taps, bwd_taps) on the same corpus: test_maxpool2d_simd_taps.c; the corpus and its
 * inputs: test_maxpool2d_simd.h.
 */
#include "test_maxpool2d_simd.h"

static int g_compared;


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

/* One vector level on one case: fwd (with and without indices) and bwd against scalar. */
static void check_level(const pcnn_kernel_table *tab, int32_t level, const pool_case *c) {
    const pcnn_maxpool2d_desc d = c->d;
    const char *why = c->why;
    const float *src = c->src, *dd = c->dd, *ref_dst = c->ref_dst, *ref_ds = c->ref_ds;
    const int32_t *ref_ind = c->ref_ind;
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
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
}

/*
 * The AVX-512 3x3 stride-2 row backward (maxpool2d-s2bwd-avx512.h) takes an output row only
 * when every index is one of its own window's in-range taps. Indices that equal a window
 * tap's offset computed through the padding (column -1 is the previous row's last column,
 * column iw the next row's first, row -1 a negative offset) must send the row to the scalar
 * scatter: set such an index in one row (or several), compare with scalar at 1-3 threads.
 */
static void check_tap_aliases(pcnn_maxpool2d_desc d, const char *why) {
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

/* One vector level on fenced inputs (run_fenced): fwd without indices, bwd. */
static void check_level_fenced(const pcnn_kernel_table *tab, int32_t level,
                               const pool_case *c) {
    const pcnn_maxpool2d_desc d = c->d;
    const char *why = c->why;
    const float *s = c->src, *g = c->dd, *ref_dst = c->ref_dst, *ref_ds = c->ref_ds;
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
    float *dst = gbuf_f(nd), *ds = gbuf_f(ns);
    int64_t at = -1;
    if (tab->maxpool2d_fwd != NULL) {
        CHECK_STATUS(tab->maxpool2d_fwd(&d, s, dst, NULL), PCNN_STATUS_OK);
        CHECK(same_bits(dst, ref_dst, nd, &at), "%s fenced fwd differs at %" PRId64
              " (%s)", pcnn_isa_name(level), at, why);
        ++g_compared;
    }
    if (tab->maxpool2d_bwd != NULL) {
        CHECK_STATUS(tab->maxpool2d_bwd(&d, g, c->ind, ds), PCNN_STATUS_OK);
        CHECK(same_bits(ds, ref_ds, ns, &at), "%s fenced bwd differs at %" PRId64
              " (%s)", pcnn_isa_name(level), at, why);
        ++g_compared;
    }
    free(dst);
    free(ds);
}

int main(void) {
    pool_test_start("test_maxpool2d_simd");
    pool_corpus();
    const int expected_levels = pcnn_isa_detected(); /* avx2 = 1 level, avx512 = 2 */
    printf("compared %d variant runs over %d ISA level(s); %d cases with a window larger than "
           "the padded input\n", g_compared, expected_levels, g_window_larger);
    CHECK(expected_levels == 0 || g_compared > 0, "no variant was compared");
    return test_finish("test_maxpool2d_simd");
}
