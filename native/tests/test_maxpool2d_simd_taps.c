/*
 * maxpool2d AVX2 / AVX-512 variants against the scalar kernels, the compact mask (one tap byte
 * ky * kw + kx per output, ABI 3), on the corpus of test_maxpool2d_simd.c (shared:
 * test_maxpool2d_simd.h; the same shapes and inputs for one seed). fwd_taps, where a level has
 * one: dst bits as scalar, every tap byte naming the scalar index, nothing written past the
 * end. bwd_taps: the scalar forward's taps give the int32 backward's sums, in-window taps that
 * are not the maximum the scalar mask kernel's, bad taps (past the window, padded) are
 * reported; fenced inputs too. Asserts how many variant runs it compared.
 */
#include "test_maxpool2d_simd.h"

/* Variant runs of the compact-mask backward compared (run_case_taps, fenced bwd_taps). */
static int g_compared;

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

/* One vector level on one case: fwd_taps (check_fwd_taps) and bwd_taps (run_case_taps). */
static void check_level(const pcnn_kernel_table *tab, int32_t level, const pool_case *c) {
    if (tab->maxpool2d_fwd != NULL) {
        check_fwd_taps(tab, level, &c->d, c->src, c->ref_dst, c->ref_ind, c->why);
    }
    if (tab->maxpool2d_bwd_taps != NULL) {
        run_case_taps(tab, level, &c->d, c->src, c->dd, c->ref_ds, c->why);
    }
}

/* One vector level on fenced inputs (run_fenced): fwd_taps, and bwd_taps from the scalar
 * forward's taps in a fenced buffer. */
static void check_level_fenced(const pcnn_kernel_table *tab, int32_t level,
                               const pool_case *c) {
    const pcnn_maxpool2d_desc d = c->d;
    const char *why = c->why;
    const float *g = c->dd, *ref_ds = c->ref_ds;
    const int64_t ns = pool_src_count(&d);
    int64_t at = -1;
    if (tab->maxpool2d_fwd != NULL) {
        check_fwd_taps(tab, level, &d, c->src, c->ref_dst, c->ref_ind, why);
    }
    if (tab->maxpool2d_bwd_taps != NULL) {
        float *ds = gbuf_f(ns);
        CHECK_STATUS(tab->maxpool2d_bwd_taps(&d, g, c->taps, ds), PCNN_STATUS_OK);
        CHECK(same_bits(ds, ref_ds, ns, &at), "%s fenced bwd_taps differs at %" PRId64
              " (%s)", pcnn_isa_name(level), at, why);
        ++g_compared;
        free(ds);
    }
}

/* The tap aliases are int32 indices (test_maxpool2d_simd.c); no mask check of their own. */
static void check_tap_aliases(pcnn_maxpool2d_desc d, const char *why) {
    (void)d;
    (void)why;
}

int main(void) {
    pool_test_start("test_maxpool2d_simd_taps");
    pool_corpus();
    const int expected_levels = pcnn_isa_detected(); /* avx2 = 1 level, avx512 = 2 */
    printf("compared %d fwd_taps and %d bwd_taps variant runs over %d ISA level(s); %d cases "
           "with a window larger than the padded input\n", g_taps_compared, g_compared,
           expected_levels, g_window_larger);
    /* vector levels with a fwd_taps / bwd_taps kernel (NEON: fwd_taps only; its bwd_taps is scalar) */
    int taps_levels = 0, bwd_taps_levels = 0;
    for (int32_t l = 1; l <= expected_levels; ++l) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(l);
        taps_levels += t != NULL && t->maxpool2d_fwd_taps != NULL;
        bwd_taps_levels += t != NULL && t->maxpool2d_bwd_taps != NULL;
    }
    CHECK(taps_levels == 0 || g_taps_compared > 1000, "only %d fwd_taps runs compared",
          g_taps_compared);
    CHECK(bwd_taps_levels == 0 || g_compared > 0, "no bwd_taps variant was compared");
    return test_finish("test_maxpool2d_simd_taps");
}
