/*
 * conv2d backward-weights AVX2 / AVX-512 variants against the scalar kernel and against a
 * double-precision sum: integer-valued data must match the scalar kernel exactly (every
 * partial sum is an exact float), random floats within the rigorous summation bound
 * (len + 2) * eps * sum|terms|; diff_bias likewise; NULL diff_bias; dY holding inf/NaN
 * (either the scalar's non-finite pattern or PCNN_STATUS_UNSUPPORTED when padded taps
 * exist); src holding inf/NaN, also at both ends of a row (the stride-1 padded-plane path
 * must then not multiply them into taps that never see them); guards after every output;
 * bit-identical results for 1 and 2 threads.
 * Asserts how many variant runs it compared.
 */
#include <float.h>

#include "core/pcnn_internal.h"
#include "test_util.h"

#if defined(__x86_64__) || defined(_M_X64)
/* calls that took the in-place small-plane path (cw_run_flat), per variant */
extern int64_t pcnn_conv2d_bwd_weights_flat_runs__avx2;
extern int64_t pcnn_conv2d_bwd_weights_flat_runs__avx512;
#define FLAT_RUNS() (pcnn_conv2d_bwd_weights_flat_runs__avx2 + pcnn_conv2d_bwd_weights_flat_runs__avx512)
/* calls that ran as two batch halves (bwd_weights/entry.h), per variant */
extern int64_t pcnn_conv2d_bwd_weights_halves_runs__avx2;
extern int64_t pcnn_conv2d_bwd_weights_halves_runs__avx512;
#define HALVES_RUNS() \
    (pcnn_conv2d_bwd_weights_halves_runs__avx2 + pcnn_conv2d_bwd_weights_halves_runs__avx512)
extern int64_t pcnn_conv2d_bwd_weights_wide_dy_max__avx2;
extern int64_t pcnn_conv2d_bwd_weights_wide_dy_max__avx512;
/* calls that took the few-input-channel path (cw_run_first; AVX2: many input channels only) */
extern int64_t pcnn_conv2d_bwd_weights_first_runs__avx512;
extern int64_t pcnn_conv2d_bwd_weights_first_runs__avx2;
/* of those, many-input-channel calls that took the src_pad copy (not the in-place rows) */
extern int64_t pcnn_conv2d_bwd_weights_first_copy_runs__avx512;
extern int64_t pcnn_conv2d_bwd_weights_first_copy_runs__avx2;
#define FIRST_COPY_RUNS() \
    (pcnn_conv2d_bwd_weights_first_copy_runs__avx512 + pcnn_conv2d_bwd_weights_first_copy_runs__avx2)
#define FIRST_RUNS() pcnn_conv2d_bwd_weights_first_runs__avx512
#define FIRST_RUNS_AVX2() pcnn_conv2d_bwd_weights_first_runs__avx2
/* calls whose bias the transposed path's tiles computed, and the switch that turns that off */
extern int64_t pcnn_conv2d_bwd_weights_tbias_runs__avx512;
extern int pcnn_conv2d_bwd_weights_tbias_off__avx512;
extern int64_t pcnn_conv2d_bwd_weights_tbias_runs__avx2;
extern int pcnn_conv2d_bwd_weights_tbias_off__avx2;
#define TBIAS_RUNS() \
    (pcnn_conv2d_bwd_weights_tbias_runs__avx512 + pcnn_conv2d_bwd_weights_tbias_runs__avx2)
#define TBIAS_RUNS_AVX2() pcnn_conv2d_bwd_weights_tbias_runs__avx2
/* calls that took the transposed path (bwd_weights/trans.h), per variant */
extern int64_t pcnn_conv2d_bwd_weights_trans_runs__avx512;
extern int64_t pcnn_conv2d_bwd_weights_trans_runs__avx2;
#define TRANS_RUNS(level) \
    ((level) == PCNN_ISA_AVX2 ? pcnn_conv2d_bwd_weights_trans_runs__avx2 \
                              : pcnn_conv2d_bwd_weights_trans_runs__avx512)
/* calls that took the masked path (bwd_weights/masked.h), per variant */
extern int64_t pcnn_conv2d_bwd_weights_masked_runs__avx512;
extern int64_t pcnn_conv2d_bwd_weights_masked_runs__avx2;
#define MASKED_RUNS() pcnn_conv2d_bwd_weights_masked_runs__avx512
#define MASKED_RUNS_AVX2() pcnn_conv2d_bwd_weights_masked_runs__avx2
#define TBIAS_OFF(v) \
    (pcnn_conv2d_bwd_weights_tbias_off__avx512 = pcnn_conv2d_bwd_weights_tbias_off__avx2 = (v))
#else
#define TBIAS_RUNS() ((int64_t)0)
#define TBIAS_RUNS_AVX2() ((int64_t)0)
#define TRANS_RUNS(level) ((void)(level), (int64_t)0)
#define TBIAS_OFF(v) ((void)(v))
#define FIRST_RUNS() ((int64_t)0)
#define FIRST_COPY_RUNS() ((int64_t)0)
#define FIRST_RUNS_AVX2() ((int64_t)0)
#define FLAT_RUNS() ((int64_t)0)
#define MASKED_RUNS() ((int64_t)0)
#define MASKED_RUNS_AVX2() ((int64_t)0)
#define HALVES_RUNS() ((int64_t)0)
#endif

static int g_compared;
static int g_tbias; /* fused-bias runs compared bit for bit with the separate pass */
static int g_tbias_avx2; /* of those, at the AVX2 level */
static int g_trans[2]; /* single-thread runs of the transposed path at AVX2, AVX-512 */
static int g_fallbacks; /* non-finite dY with padded taps: handed to scalar */

/* double-precision value and absolute sum of dW[o][t] and of the bias */
static void ref_double(const pcnn_conv2d_desc *d, const float *src, const float *dy, double *w,
                       double *wabs, double *b, double *babs) {
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    const int64_t taps = cg * d->kh * d->kw;
    for (int64_t o = 0; o < d->oc; ++o) {
        const int64_t g = o / ocg;
        b[o] = babs[o] = 0;
        for (int64_t t = 0; t < taps; ++t) w[o * taps + t] = wabs[o * taps + t] = 0;
        for (int64_t n = 0; n < d->n; ++n)
            for (int64_t y = 0; y < d->oh; ++y)
                for (int64_t x = 0; x < d->ow; ++x) {
                    const double gv = dy[((n * d->oc + o) * d->oh + y) * d->ow + x];
                    b[o] += gv;
                    babs[o] += fabs(gv);
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t ky = 0; ky < d->kh; ++ky) {
                            const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                            if (iy < 0 || iy >= d->ih) continue;
                            for (int64_t kx = 0; kx < d->kw; ++kx) {
                                const int64_t ix =
                                    x * d->stride_w - d->pad_left + kx * d->dilation_w;
                                if (ix < 0 || ix >= d->iw) continue;
                                const double s =
                                    src[((n * d->c + g * cg + ci) * d->ih + iy) * d->iw + ix];
                                const int64_t t = (ci * d->kh + ky) * d->kw + kx;
                                w[o * taps + t] += s * gv;
                                wabs[o * taps + t] += fabs(s * gv);
                            }
                        }
                }
    }
}

static int same_class(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return 1;
}

/* mode 0: integers, 1: floats, 2: floats with a few inf/NaN in dY, 3: the same in src */
static void run_case(pcnn_conv2d_desc d, int mode, const char *why) {
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) return;
    const int64_t ns = conv_src_count(&d), nd = conv_dst_count(&d), nw = conv_w_count(&d);
    float *src = gbuf_f(ns), *dy = gbuf_f(nd);
    if (mode == 0) {
        fill_ints(src, ns, -3, 3);
        fill_ints(dy, nd, -3, 3);
    } else {
        for (int64_t i = 0; i < ns; ++i) src[i] = rng_unit();
        for (int64_t i = 0; i < nd; ++i) dy[i] = rng_unit();
        if (mode == 2) {
            const float bad[] = {INFINITY, -INFINITY, NAN};
            dy[rng_int(0, nd - 1)] = bad[rng_int(0, 2)];
        }
        if (mode == 3) {
            const float bad[] = {INFINITY, -INFINITY, NAN};
            /* one anywhere, one at each end of a row (where padded-width tricks would read
             * it for taps that never see it) */
            src[rng_int(0, ns - 1)] = bad[rng_int(0, 2)];
            const int64_t row = rng_int(0, ns / d.iw - 1);
            src[row * d.iw] = bad[rng_int(0, 2)];
            src[row * d.iw + d.iw - 1] = bad[rng_int(0, 2)];
        }
    }
    float *rw = gbuf_f(nw), *rb = gbuf_f(d.oc);
    CHECK_STATUS(pcnn_conv2d_bwd_weights__scalar(&d, src, dy, rw, rb), PCNN_STATUS_OK);
    double *w = malloc(sizeof(double) * (size_t)nw), *wa = malloc(sizeof(double) * (size_t)nw);
    double *b = malloc(sizeof(double) * (size_t)d.oc), *ba = malloc(sizeof(double) * (size_t)d.oc);
    if (mode == 1) ref_double(&d, src, dy, w, wa, b, ba);
    const double len = (double)(d.n * d.oh * d.ow);

    for (int32_t level = PCNN_ISA_AVX2; level <= pcnn_isa_detected(); ++level) {
        const pcnn_kernel_table *tab = pcnn_kernel_table_for(level);
        if (tab == NULL || tab->conv2d_bwd_weights == NULL) continue;
        const char *isa = pcnn_isa_name(level);
        float *gw = gbuf_f(nw), *gb = gbuf_f(d.oc), *gw2 = gbuf_f(nw);
        float *gw3 = gbuf_f(nw), *gb3 = gbuf_f(d.oc);
        pcnn_set_num_threads(1);
        const int64_t tbias_before = TBIAS_RUNS(), trans_before = TRANS_RUNS(level);
        const int32_t st = tab->conv2d_bwd_weights(&d, src, dy, gw, gb);
        if (level <= PCNN_ISA_AVX512 && TRANS_RUNS(level) > trans_before) {
            ++g_trans[level == PCNN_ISA_AVX2 ? 0 : 1];
        }
        if (TBIAS_RUNS() > tbias_before) {
            /* the bias from the tiles must be the separate pass's, bit for bit (random
             * floats: the same order), and dW the same */
            float *gw4 = gbuf_f(nw), *gb4 = gbuf_f(d.oc);
            TBIAS_OFF(1);
            const int32_t st4 = tab->conv2d_bwd_weights(&d, src, dy, gw4, gb4);
            TBIAS_OFF(0);
            CHECK(st4 == st && guard_ok(gw4, nw) && guard_ok(gb4, d.oc) &&
                      memcmp(gw, gw4, (size_t)nw * sizeof(float)) == 0 &&
                      memcmp(gb, gb4, (size_t)d.oc * sizeof(float)) == 0,
                  "%s: bias from the tiles differs from the separate pass (%s)", isa, why);
            ++g_tbias;
            g_tbias_avx2 += level == PCNN_ISA_AVX2;
            free(gw4);
            free(gb4);
        }
        pcnn_set_num_threads(2);
        const int32_t st2 = tab->conv2d_bwd_weights(&d, src, dy, gw2, NULL);
        /* 3 threads with diff_bias: the transposed path's tap-block-0 tasks then compute
         * the bias (cw_bias_piece), which 2 threads without diff_bias skip */
        pcnn_set_num_threads(3);
        const int32_t st3 = tab->conv2d_bwd_weights(&d, src, dy, gw3, gb3);
        pcnn_set_num_threads(2);
        CHECK(guard_ok(gw, nw) && guard_ok(gb, d.oc) && guard_ok(gw2, nw) &&
                  guard_ok(gw3, nw) && guard_ok(gb3, d.oc),
              "%s wrote past the end (%s)", isa, why);
        CHECK(st3 == st, "%s status %d with 3 threads, %d with 1 (%s)", isa, (int)st3, (int)st, why);
        if (st == PCNN_STATUS_OK) {
            CHECK(memcmp(gw, gw3, (size_t)nw * sizeof(float)) == 0 &&
                      memcmp(gb, gb3, (size_t)d.oc * sizeof(float)) == 0,
                  "%s: 1 and 3 threads differ (%s)", isa, why);
        }
        ++g_compared;
        if (mode == 2 && st == PCNN_STATUS_UNSUPPORTED) {
            CHECK(st2 == PCNN_STATUS_UNSUPPORTED, "%s: UNSUPPORTED only with diff_bias (%s)", isa, why);
            /* the public entry point then falls through to the scalar kernel */
            pcnn_set_max_isa(level);
            CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, src, dy, gw, gb), PCNN_STATUS_OK);
            pcnn_set_max_isa(PCNN_ISA_NEON); /* the highest value: no cap */
            CHECK(memcmp(gw, rw, (size_t)nw * sizeof(float)) == 0 &&
                      memcmp(gb, rb, (size_t)d.oc * sizeof(float)) == 0,
                  "%s: the fallback is not the scalar result (%s)", isa, why);
            ++g_fallbacks;
            goto next;
        }
        CHECK(st == PCNN_STATUS_OK && st2 == PCNN_STATUS_OK, "%s status %d/%d (%s)", isa, (int)st,
              (int)st2, why);
        CHECK(memcmp(gw, gw2, (size_t)nw * sizeof(float)) == 0,
              "%s: 1 and 2 threads (and diff_bias NULL) differ (%s)", isa, why);
        for (int64_t i = 0; i < nw; ++i) {
            if (mode == 0) {
                if (gw[i] != rw[i]) {
                    CHECK(0, "%s dW[%" PRId64 "] %g != %g (%s)", isa, i, gw[i], rw[i], why);
                    break;
                }
            } else if (mode == 1) {
                const double tol = (len + 2) * FLT_EPSILON * wa[i] + 1e-30;
                if (!(fabs(gw[i] - w[i]) <= tol)) {
                    CHECK(0, "%s dW[%" PRId64 "] %.9g vs %.9g tol %g (%s)", isa, i, gw[i], w[i], tol, why);
                    break;
                }
            } else if (!same_class(gw[i], rw[i])) {
                CHECK(0, "%s dW[%" PRId64 "] %g vs scalar %g (%s)", isa, i, gw[i], rw[i], why);
                break;
            }
        }
        for (int64_t o = 0; o < d.oc; ++o) {
            int ok;
            if (mode == 0) ok = gb[o] == rb[o];
            else if (mode == 1) ok = fabs(gb[o] - b[o]) <= (len + 2) * FLT_EPSILON * ba[o] + 1e-30;
            else ok = same_class(gb[o], rb[o]);
            if (!ok) {
                CHECK(0, "%s dB[%" PRId64 "] %g vs %g (%s)", isa, o, gb[o], rb[o], why);
                break;
            }
        }
    next:
        free(gw);
        free(gb);
        free(gw2);
        free(gw3);
        free(gb3);
    }
    free(src); free(dy); free(rw); free(rb); free(w); free(wa); free(b); free(ba);
}

int main(void) {
    uint64_t seed = 777;
    const char *env = getenv("PCNN_TEST_SEED");
    if (env != NULL) seed = strtoull(env, NULL, 10);
    printf("test_conv2d_bwd_weights_simd: seed=%" PRIu64 " (set PCNN_TEST_SEED to repeat)\n", seed);
    rng_seed(seed);
    const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                          21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 48, 63, 64, 65};
    char why[160];
    /* widths x a few kernels */
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; ++wi) {
        const int iw = widths[wi];
        for (int k = 0; k < 4; ++k) {
            const int kk = k == 0 ? 1 : k == 1 ? 3 : k == 2 ? 5 : 2;
            const int s = k == 3 ? 3 : 1 + (int)rng_int(0, 1);
            const int p = k == 0 ? 0 : (int)rng_int(0, 2);
            pcnn_conv2d_desc d = conv_desc(rng_int(1, 2), rng_int(1, 5), rng_int(1, 9), iw,
                                           rng_int(1, 9), kk, kk, s, s, p, p, p, p, 1, 1, 1);
            snprintf(why, sizeof why, "iw %d k %d s %d p %d", iw, kk, s, p);
            run_case(d, (int)(wi + k) % 2, why);
        }
    }
    /* channels 1..17, groups, depthwise */
    for (int c = 1; c <= 17; ++c) {
        for (int oc = 1; oc <= 17; oc += 4) {
            snprintf(why, sizeof why, "c %d oc %d", c, oc);
            run_case(conv_desc(2, c, 7, 9, oc, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), c % 2, why);
        }
        snprintf(why, sizeof why, "depthwise c %d", c);
        run_case(conv_desc(2, c, 11, 13, c, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, c), 0, why);
        snprintf(why, sizeof why, "depthwise x2 c %d", c);
        run_case(conv_desc(1, c, 6, 20, 2 * c, 3, 3, 2, 2, 1, 0, 0, 1, 1, 1, c), 1, why);
    }
    /* seeded random shapes: asymmetric pads, dilation, strides, groups */
    for (int r = 0; r < 400; ++r) {
        const int64_t g = rng_int(1, 3);
        pcnn_conv2d_desc d = conv_desc(rng_int(1, 3), g * rng_int(1, 6), rng_int(1, 20),
                                       rng_int(1, 40), g * rng_int(1, 70), rng_int(1, 5),
                                       rng_int(1, 5), rng_int(1, 4), rng_int(1, 4), rng_int(0, 3),
                                       rng_int(0, 3), rng_int(0, 3), rng_int(0, 3), rng_int(1, 3),
                                       rng_int(1, 3), g);
        snprintf(why, sizeof why, "random %d", r);
        run_case(d, r % 3, why);
    }
    /* large reductions / many taps (several task blocks), 1x1 direct path */
    run_case(conv_desc(2, 70, 9, 9, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, "many taps int");
    run_case(conv_desc(2, 70, 9, 9, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "many taps float");
    run_case(conv_desc(3, 100, 17, 19, 70, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 0, "1x1 int");
    run_case(conv_desc(3, 100, 17, 19, 70, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2), 1, "1x1 g2 float");
    /* small planes batched several images per chunk, with a remainder batch */
    run_case(conv_desc(7, 5, 12, 12, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, "batched planes int");
    run_case(conv_desc(7, 5, 12, 12, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "batched planes float");
    run_case(conv_desc(7, 20, 10, 10, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 0, "batched 1x1 int");
    run_case(conv_desc(9, 20, 9, 11, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 1, "batched 1x1 float");
    run_case(conv_desc(1, 3, 40, 40, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 2, "1x1 nonfinite");
    run_case(conv_desc(2, 3, 30, 31, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 2, "padded nonfinite");
    run_case(conv_desc(2, 3, 30, 31, 5, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), 2, "valid nonfinite");
    /* stride-1 padded-plane path (large planes): junk columns, several row chunks per
     * image, dilation, asymmetric pads, non-finite src (must not leak through the junk
     * columns: the kernel takes the other path then) */
    for (int m = 0; m < 4; ++m) {
        run_case(conv_desc(2, 3, 30, 31, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "wide 3x3");
        run_case(conv_desc(2, 4, 40, 65, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "wide chunks");
        run_case(conv_desc(1, 5, 37, 48, 6, 3, 5, 1, 1, 2, 0, 1, 3, 2, 2, 1), m, "wide dil asym");
        run_case(conv_desc(2, 6, 33, 64, 5, 1, 1, 1, 1, 1, 0, 2, 0, 1, 1, 1), m, "wide 1x1 pad");
        run_case(conv_desc(1, 6, 20, 63, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2), m, "wide groups");
        run_case(conv_desc(1, 20, 24, 33, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "wide valid");
    }
#if defined(__x86_64__) || defined(_M_X64) /* the limits are the x86 levels' (AArch64: NEON kernel) */
    /* the same with dY repacked by every task (above the scratch budget) instead of once */
    const int64_t dy_max[2] = {pcnn_conv2d_bwd_weights_wide_dy_max__avx2,
                               pcnn_conv2d_bwd_weights_wide_dy_max__avx512};
    pcnn_conv2d_bwd_weights_wide_dy_max__avx2 = pcnn_conv2d_bwd_weights_wide_dy_max__avx512 = 0;
    for (int m = 0; m < 2; ++m) {
        run_case(conv_desc(2, 3, 30, 31, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "wide 3x3 own dY");
        run_case(conv_desc(2, 4, 40, 65, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "wide chunks own dY");
        run_case(conv_desc(1, 6, 20, 63, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2), m, "wide groups own dY");
        run_case(conv_desc(5, 4, 6, 40, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "wide batched own dY");
    }
    pcnn_conv2d_bwd_weights_wide_dy_max__avx2 = dy_max[0];
    pcnn_conv2d_bwd_weights_wide_dy_max__avx512 = dy_max[1];
#endif
    run_case(conv_desc(2, 40, 26, 26, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, "wide taps int");
    /* images batched several per chunk (with a remainder block), several row chunks */
    for (int m = 0; m < 2; ++m) {
        run_case(conv_desc(7, 4, 6, 40, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "wide batched");
        run_case(conv_desc(3, 8, 61, 40, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "wide row chunks");
    }
    run_case(conv_desc(2, 40, 26, 26, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "wide many taps");
    run_case(conv_desc(1, 16, 32, 32, 150, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "wide oc blocks");
    run_case(conv_desc(1, 16, 32, 32, 150, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 3, "wide oc inf");
    /* packing path with one task over up to 2 * CW_OB output channels */
    run_case(conv_desc(1, 20, 15, 17, 150, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), 0, "pack oc int");
    run_case(conv_desc(2, 40, 15, 17, 400, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 2), 1, "pack oc g2");
    /* the transposed path (AVX-512, lanes along taps, 64 taps per task): tap tails, pixel
     * pieces of 128 with tails, output-channel tiles of 6 with tails and split blocks,
     * strides 2 and 3, dilation, groups, non-finite values */
    for (int m = 0; m < 4; ++m) {
        run_case(conv_desc(2, 64, 13, 11, 100, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "trans 1x1 tails");
        run_case(conv_desc(3, 64, 9, 17, 97, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "trans 1x1 split");
        run_case(conv_desc(1, 118, 20, 20, 202, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2), m, "trans 1x1 g2");
        run_case(conv_desc(2, 7, 23, 29, 110, 3, 3, 2, 2, 1, 0, 1, 2, 1, 1, 1), m, "trans s2 asym");
        run_case(conv_desc(1, 7, 40, 41, 99, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1), m, "trans s3");
        run_case(conv_desc(2, 14, 25, 27, 101, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1), m, "trans s2 dil");
        /* phase rows of more than one vector (wp > 16), several images (the next image's
         * planes are prefetched), an odd width, channels spanning tap blocks */
        run_case(conv_desc(5, 14, 17, 45, 100, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), m, "trans s2 wide");
        run_case(conv_desc(1, 127, 5, 6, 96, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1), m, "trans 1x1 s2");
        /* the in-place branch's first-piece zero start, last-piece dW stores, 4-row last
         * tiles and fused bias sums: one piece per task (63 pixels, first == last), 2 tap
         * blocks, 98 = 16 x 6 + 2 rows; 49-pixel planes (a vector pair, a single vector and
         * a 1-pixel tail of the bias order), a 56-tap last block (acc copy-out); 204 pixels
         * (128 + 76) with a 48-tap block and 101 = 16 x 6 + 5 rows */
        run_case(conv_desc(1, 128, 7, 9, 98, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "trans 1x1 one piece");
        run_case(conv_desc(2, 120, 7, 7, 100, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "trans 1x1 bias tail");
        run_case(conv_desc(3, 112, 12, 17, 101, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "trans 1x1 76-px piece");
    }
    /* the in-place small-plane path (stride 1, unpadded, planes of at most one chunk):
     * a LeNet-like 5x5 (14x14 -> 10x10, 10 input channels), image blocks with a tail,
     * ow >= 16 (vector plus masked tail per row), dilation, groups, 1-row kernels (no
     * junk columns), non-finite src (handed to the packing path) */
    const int64_t flat_before = FLAT_RUNS();
    for (int m = 0; m < 4; ++m) {
        /* LeNet's own 6 channels take the first path since 2026-12-07 (5..8 channels, small
         * planes): 10 here keeps this 5x5 on the flat path */
        run_case(conv_desc(9, 10, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "flat 10ch 5x5");
        run_case(conv_desc(3, 5, 13, 21, 7, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "flat wide rows");
        run_case(conv_desc(2, 4, 12, 11, 6, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 2), m, "flat dil g2");
        run_case(conv_desc(2, 3, 9, 10, 5, 1, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "flat 1x4");
        run_case(conv_desc(2, 3, 9, 10, 5, 4, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "flat 4x1");
    }
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(pcnn_isa_detected() == PCNN_ISA_SCALAR || FLAT_RUNS() > flat_before,
          "the in-place small-plane path never ran");
#else
    (void)flat_before; /* the in-place path is an AVX2 / AVX-512 kernel */
#endif
    /* single-task shapes with >= 2^20 multiply-adds run as two batch halves (odd N: halves
     * of 3 and 2, 7 and 6 images; padded and unpadded; the flat and packing paths; non-finite data;
     * N = 1 never splits); 1 and 2 threads must still agree bit for bit (run_case). Fewer than 16
     * output channels and unequal row widths: the first-layer and masked paths decline them
     * (since 2026-12-07 the first-layer path took the cifar-like and stride-2 cases at AVX2) */
    const int64_t halves_before = HALVES_RUNS();
    for (int m = 0; m < 4; ++m) {
        run_case(conv_desc(5, 3, 32, 32, 15, 3, 3, 1, 1, 1, 1, 1, 0, 1, 1, 1), m, "halves cifar-like");
        run_case(conv_desc(13, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "halves lenet1");
        run_case(conv_desc(4, 4, 60, 59, 12, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1), m, "halves stride 2");
        run_case(conv_desc(1, 3, 120, 120, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "no halves n 1");
    }
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(pcnn_isa_detected() == PCNN_ISA_SCALAR || HALVES_RUNS() > halves_before,
          "no call ran as batch halves");
#else
    (void)halves_before; /* an AVX2 / AVX-512 rule */
#endif
    /* the few-input-channel path (AVX-512; lanes along output channels, partial sums per
     * (image group, band of rows) added in task order): C 1..4, output channels not a multiple
     * of 16 (a single-vector tile, zero lanes) and of 32, kw 3 / 5 / 7 with other kh, strides
     * 1..3 per axis, asymmetric pads, vertical dilation, N 1..2 (bands split the rows, with a
     * short last band), N 9 (one image per task), N 67 (two per task, a short last group),
     * wide rows (dYT sub-bands of one row, pixel tails of the transposes), non-finite data */
    const int64_t first_before = FIRST_RUNS(), few_before_avx2 = FIRST_RUNS_AVX2();
    for (int m = 0; m < 4; ++m) {
        run_case(conv_desc(3, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "first cifar");
        run_case(conv_desc(1, 3, 41, 45, 64, 7, 7, 2, 2, 3, 2, 3, 1, 1, 1, 1), m, "first 7x7 s2 asym");
        run_case(conv_desc(2, 1, 23, 19, 17, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1), m, "first c1 oc17 5x5");
        run_case(conv_desc(9, 4, 13, 15, 40, 2, 3, 1, 2, 0, 1, 1, 0, 2, 1, 1), m, "first 2x3 s1x2 dil");
        run_case(conv_desc(1, 2, 9, 300, 50, 3, 7, 3, 1, 1, 1, 0, 4, 1, 1, 1), m, "first wide rows");
        run_case(conv_desc(2, 3, 17, 16, 16, 6, 5, 2, 3, 0, 0, 0, 0, 1, 1, 1), m, "first valid");
    }
    run_case(conv_desc(67, 3, 6, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, "first n 67 int");
    run_case(conv_desc(67, 3, 6, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "first n 67 float");
    /* 5..8 input channels on output planes of at most 1024 pixels with 16..64 output channels
     * (CW_FIRST_MID_*): LeNet's 6 -> 16 (unpadded and same-padded), 8 channels 3x3 with 40
     * output channels, 5 channels 7x7 stride 2 with 64 (AVX2: 1-vector tiles), a 32x32 plane
     * (exactly 1024 pixels) */
    const int64_t mid_before = FIRST_RUNS(), mid_before_avx2 = FIRST_RUNS_AVX2();
    for (int m = 0; m < 2; ++m) {
        run_case(conv_desc(4, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), m, "first mid lenet2");
        run_case(conv_desc(3, 6, 14, 14, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1), m, "first mid same pad");
        run_case(conv_desc(2, 8, 9, 13, 40, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1), m, "first mid 8ch 3x3");
        run_case(conv_desc(2, 5, 23, 21, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1), m, "first mid 7x7 s2");
        run_case(conv_desc(1, 7, 32, 32, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "first mid 1024 px");
    }
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX512 || FIRST_RUNS() - mid_before >= 5 * 2,
          "the 5..8-channel shapes took the first path %ld times", (long)(FIRST_RUNS() - mid_before));
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX2 || FIRST_RUNS_AVX2() - mid_before_avx2 >= 5 * 2,
          "AVX2: the 5..8-channel shapes took the first path %ld times",
          (long)(FIRST_RUNS_AVX2() - mid_before_avx2));
#else
    (void)mid_before, (void)mid_before_avx2;
#endif
    /* the same path for many input channels (4-vector tile, copy bands of src_pad): 64 and
     * 128 output channels, kh 1 / 2 / 3 / 5 with kw 3, asymmetric and no pads, rows not a
     * multiple of 16 (pixel tails of the dY transposes), N 1 / 3 (bands), N 9 and 17 (one
     * image per task, 17 > 2 * 8 tasks: two per task, short last group), copy bands with a
     * short last one (many channels x wide rows), sub-bands of one row (ow 300) */
    const int64_t many_before = FIRST_RUNS(), many_before_avx2 = FIRST_RUNS_AVX2();
    for (int m = 0; m < 4; ++m) {
        run_case(conv_desc(2, 16, 30, 30, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), m, "first many 16->64");
        run_case(conv_desc(3, 5, 11, 27, 128, 2, 3, 1, 1, 0, 1, 2, 0, 1, 1, 1), m, "first many 2x3 asym");
        run_case(conv_desc(1, 40, 7, 300, 64, 5, 3, 1, 1, 2, 2, 1, 1, 1, 1, 1), m, "first many wide rows");
    }
    run_case(conv_desc(9, 7, 25, 26, 64, 1, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), 0, "first many 1x3 valid");
    run_case(conv_desc(17, 6, 9, 24, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "first many n 17");
    run_case(conv_desc(2, 96, 40, 40, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, "first many copy bands");
    run_case(conv_desc(1, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "first many resnet-ish");
    /* the input read in place (first_rows.h, pad_left / pad_right <= 2): whole rows of taps
     * on padding (pad_top 3 > kh - 1), pad_left 0 with pad_right 2 and the reverse, an odd
     * channel count (a 1-row tile per ky), 128 output channels, 1 / 5 rows per tap column;
     * and pad_left 3, which keeps the src_pad copy (asserted below) */
    const int64_t copy_before = FIRST_COPY_RUNS();
    for (int m = 0; m < 2; ++m) {
        run_case(conv_desc(2, 9, 6, 26, 128, 3, 3, 1, 1, 3, 2, 0, 2, 1, 1, 1), m, "first many rows pads");
        run_case(conv_desc(3, 11, 9, 25, 64, 5, 3, 1, 1, 1, 4, 2, 0, 1, 1, 1), m, "first many rows 5x3");
        run_case(conv_desc(2, 3 + 2, 4, 30, 64, 1, 3, 1, 1, 2, 0, 1, 1, 1, 1, 1), m, "first many rows 1x3");
        run_case(conv_desc(2, 8, 10, 22, 64, 3, 3, 1, 1, 1, 1, 3, 1, 1, 1, 1), m, "first many copy pl 3");
    }
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX2 || FIRST_COPY_RUNS() >= copy_before + 2,
          "pad_left 3 did not take the src_pad copy");
#else
    (void)copy_before;
#endif
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX512 || FIRST_RUNS() >= many_before + 4 * 3 + 4,
          "the many-channel shapes did not take the first path (%ld runs)",
          (long)(FIRST_RUNS() - many_before));
    /* AVX2 (2-vector tile) too: run_case runs every level up to the detected one */
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX2 || FIRST_RUNS_AVX2() >= many_before_avx2 + 4 * 3 + 4,
          "AVX2: the many-channel shapes did not take the first path (%ld runs)",
          (long)(FIRST_RUNS_AVX2() - many_before_avx2));
#else
    (void)many_before;
    (void)many_before_avx2;
#endif
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX512 || FIRST_RUNS() > first_before,
          "the few-input-channel path never ran");
    /* AVX2 too (3-wide shapes up to 48 output channels: all of the block's); at least the
     * integer and finite-float runs of its 6 shapes and the two N 67 calls */
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX2 || mid_before_avx2 - few_before_avx2 >= 6 * 2 + 2,
          "AVX2: the few-input-channel shapes took the first path %ld times",
          (long)(mid_before_avx2 - few_before_avx2));
#else
    (void)first_before;
    (void)few_before_avx2;
#endif
    /* the masked path (AVX-512 and AVX2; equally wide rows wider than a vector, <= 16 output channels
     * per group, both planes read in place, edges masked per lane): grouped3x3 with 8 -> 8
     * channels per group, widths 17 / 31 / 32, asymmetric horizontal pads, no or uneven
     * vertical padding (src taller or shorter than dY), 5x5, 7x7, dilation 2, 1x3 / 3x1,
     * tap counts that are no multiple of the 6-tap tile, 1..3 and 5 channels per group
     * (channel tails), planes with a whole (24x24) or partial last vector, N 1 / 3 */
    const int64_t masked_before = MASKED_RUNS(), masked_before2 = MASKED_RUNS_AVX2();
    for (int m = 0; m < 4; ++m) {
        run_case(conv_desc(2, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4), m, "masked grouped3x3");
        run_case(conv_desc(3, 5, 9, 17, 3, 3, 3, 1, 1, 1, 1, 0, 2, 1, 1, 1), m, "masked w17 pad 0/2");
        run_case(conv_desc(1, 6, 11, 31, 10, 3, 3, 1, 1, 0, 0, 2, 0, 1, 1, 2), m, "masked w31 pad 2/0");
        run_case(conv_desc(2, 4, 8, 24, 7, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1), m, "masked 24x24 5x5");
    }
    run_case(conv_desc(1, 3, 12, 32, 2, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1), 1, "masked w32 dil 2");
    run_case(conv_desc(2, 2, 7, 26, 1, 7, 7, 1, 1, 1, 5, 3, 3, 1, 1, 1), 0, "masked 7x7 pads 1/5");
    run_case(conv_desc(3, 12, 10, 21, 12, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 3), 1, "masked 1x3 g3");
    run_case(conv_desc(1, 10, 6, 19, 15, 3, 1, 1, 1, 3, 0, 0, 0, 1, 1, 5), 0, "masked 3x1 pt 3");
    run_case(conv_desc(2, 16, 14, 29, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "masked 16 channels");
    /* rows wider than two vectors: 56 with 4 channels per group, 41 with pads 2 / 0 */
    run_case(conv_desc(2, 16, 9, 56, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4), 1, "masked w56 g4");
    run_case(conv_desc(3, 5, 6, 41, 7, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1), 0, "masked w41 pad 2/0");
#if defined(__x86_64__) || defined(_M_X64)
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX512 || MASKED_RUNS() >= masked_before + 4 * 4 + 7,
          "the masked shapes did not take the masked path (%ld runs)",
          (long)(MASKED_RUNS() - masked_before));
    CHECK(pcnn_isa_detected() < PCNN_ISA_AVX2 || MASKED_RUNS_AVX2() >= masked_before2 + 4 * 4 + 7,
          "the masked shapes did not take the AVX2 masked path (%ld runs)",
          (long)(MASKED_RUNS_AVX2() - masked_before2));
#else
    (void)masked_before, (void)masked_before2;
#endif
    /* rows of at most a vector (the masked path where the phase-plane and flat paths decline:
     * 5x5 / 7x7 same padding, tiny planes): widths 1, 6, 10, 11, 12, 14, 16, vertical pads 0 / 4,
     * horizontal 2 / 0, dilation 2 with 2 groups; each case must take the path, except with
     * a non-finite dY (mode 2), which the entry hands to the scalar kernel (padded shapes) */
    /* (9 and 10 input channels: with 5..8 and >= 16 output channels the first path takes these
     * planes since 2026-12-07) */
    const pcnn_conv2d_desc narrow[] = {
        conv_desc(4, 10, 14, 14, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
        conv_desc(3, 16, 10, 10, 16, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 1),
        conv_desc(5, 9, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
        conv_desc(2, 3, 9, 1, 4, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1),
        conv_desc(2, 4, 11, 11, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2),
        conv_desc(3, 5, 8, 12, 7, 5, 3, 1, 1, 0, 4, 2, 0, 1, 1, 1),
        conv_desc(2, 4, 7, 16, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
    };
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; ++i) {
        for (int m = 0; m < 4; ++m) {
            const int64_t before = MASKED_RUNS(), before2 = MASKED_RUNS_AVX2();
            run_case(narrow[i], m, "masked narrow rows");
#if defined(__x86_64__) || defined(_M_X64)
            CHECK(pcnn_isa_detected() < PCNN_ISA_AVX512 || m == 2 || MASKED_RUNS() > before,
                  "narrow case %zu (iw %ld, %ldx%ld) did not take the masked path", i,
                  (long)narrow[i].iw, (long)narrow[i].kh, (long)narrow[i].kw);
            CHECK(pcnn_isa_detected() < PCNN_ISA_AVX2 || m == 2 || MASKED_RUNS_AVX2() > before2,
                  "narrow case %zu (iw %ld, %ldx%ld) did not take the AVX2 masked path", i,
                  (long)narrow[i].iw, (long)narrow[i].kh, (long)narrow[i].kw);
#else
            (void)before, (void)before2;
#endif
        }
    }
    /* benchmark shapes with a smaller N */
    run_case(conv_desc(4, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), 0, "lenet1");
    run_case(conv_desc(4, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), 0, "lenet2");
    run_case(conv_desc(1, 1, 8, 8, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), 0, "seed_tiny");
    run_case(conv_desc(2, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, "cifar");
    run_case(conv_desc(1, 32, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1, "mid");
    run_case(conv_desc(1, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 0, "resnet3x3-ish");
    run_case(conv_desc(1, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), 0, "resnet_s2");
    run_case(conv_desc(1, 256, 14, 14, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 1, "pw1x1");
    run_case(conv_desc(1, 3, 64, 64, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1), 0, "big7x7-ish");
    printf("compared %d variant runs (%d handed to the scalar kernel, %d fused-bias runs against "
           "the separate pass)\n", g_compared, g_fallbacks, g_tbias);
    printf("transposed path: %d runs at AVX2, %d at AVX-512 (%d fused-bias at AVX2)\n", g_trans[0],
           g_trans[1], g_tbias_avx2);
    CHECK(pcnn_isa_detected() != PCNN_ISA_AVX512 || g_tbias - g_tbias_avx2 >= 20, /* x86 only (NEON ranks above it) */
          "the fused-bias cases did not reach the tiles' bias (%d)", g_tbias - g_tbias_avx2);
    CHECK(pcnn_isa_detected() != PCNN_ISA_AVX512 || g_trans[1] >= 20,
          "the transposed path ran %d times at AVX-512", g_trans[1]);
    CHECK((pcnn_isa_detected() != PCNN_ISA_AVX2 && pcnn_isa_detected() != PCNN_ISA_AVX512) ||
              (g_tbias_avx2 >= 20 && g_trans[0] >= 20),
          "the transposed path ran %d times at AVX2, %d with the fused bias", g_trans[0], g_tbias_avx2);
    CHECK(pcnn_isa_detected() == PCNN_ISA_SCALAR || g_fallbacks > 0, "the fallback was not exercised");
    CHECK(pcnn_isa_detected() == PCNN_ISA_SCALAR || g_compared > 0, "no variant was compared");
    return test_finish("test_conv2d_bwd_weights_simd");
}
