/*
 * Winograd F(4x4,3x3) backward-weights (scalar oracle, AVX2, AVX-512) against the exact weight
 * gradient (double), element by element within the bound of docs/winograd.md
 * ("Backward-weights"):
 *   |computed - exact| <= gamma(K) * S_w + K * 2^-149,  K = n * ty * tx + 32 (tiles + 32),
 *   S_w[o][c] = |G^T| ( sum_{n, tiles} (|A| |dY_o| |A^T|) .* (|B^T| |d_c| |B|) ) |G|,
 * computed here in double with this file's own matrices and tiling (4x4 output tiles anchored at
 * output (0,0), input patch at (4ty - pad_top, 4tx - pad_left)). The bias gradient keeps the
 * direct bound gamma(n*oh*ow) * sum |dY|. Also: which algorithm / ISA served, results
 * bit-identical for 1, 2 and 3 threads, the AUTO rule, non-finite data served by direct (same
 * bits as DIRECT), out of memory, and a negative control (a 1e-2 relative error is detected).
 */
#include <math.h>

#include "test_util.h"
#include "core/scratch.h" /* pcnn_scratch_fail_nth_alloc (test hook) */
#include "test_winograd.h"



/* exact dW, its Winograd magnitude S_w, exact db and sum |dY|. */
static void reference(const pcnn_conv2d_desc *d, const float *x, const float *dy, double *ew, double *sw, double *eb,
                      double *sb) {
    const int64_t cg = d->c / d->groups, og = d->oc / d->groups;
    const int64_t ty = (d->oh + 3) / 4, tx = (d->ow + 3) / 4;
    for (int64_t oc = 0; oc < d->oc; oc++) {
        const int64_t g = oc / og;
        eb[oc] = sb[oc] = 0;
        for (int64_t n = 0; n < d->n; n++)
            for (int64_t i = 0; i < d->oh * d->ow; i++) {
                eb[oc] += dy[(n * d->oc + oc) * d->oh * d->ow + i];
                sb[oc] += fabs(dy[(n * d->oc + oc) * d->oh * d->ow + i]);
            }
        for (int64_t c = 0; c < cg; c++) {
            double m[6][6] = {{0}};
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) ew[(oc * cg + c) * 9 + ky * 3 + kx] = 0;
            for (int64_t n = 0; n < d->n; n++) {
                const float *xp = x + (n * d->c + g * cg + c) * d->ih * d->iw;
                const float *yp = dy + (n * d->oc + oc) * d->oh * d->ow;
                for (int64_t y = 0; y < d->oh; y++)
                    for (int64_t xx = 0; xx < d->ow; xx++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                const int64_t iy = y + ky - d->pad_top, ix = xx + kx - d->pad_left;
                                if (iy < 0 || iy >= d->ih || ix < 0 || ix >= d->iw) continue;
                                ew[(oc * cg + c) * 9 + ky * 3 + kx] += (double)xp[iy * d->iw + ix] * yp[y * d->ow + xx];
                            }
                for (int64_t a = 0; a < ty; a++)
                    for (int64_t b = 0; b < tx; b++) {
                        double p[6][6], q[4][4], v[6][6], tz[6][4], z[6][6];
                        for (int i = 0; i < 6; i++)
                            for (int j = 0; j < 6; j++) {
                                const int64_t iy = 4 * a - d->pad_top + i, ix = 4 * b - d->pad_left + j;
                                p[i][j] = (iy >= 0 && iy < d->ih && ix >= 0 && ix < d->iw) ? fabs(xp[iy * d->iw + ix]) : 0;
                            }
                        for (int r = 0; r < 4; r++)
                            for (int s = 0; s < 4; s++) {
                                const int64_t y = 4 * a + r, xx = 4 * b + s;
                                q[r][s] = (y < d->oh && xx < d->ow) ? fabs(yp[y * d->ow + xx]) : 0;
                            }
                        abs_input_transform(p, v);
                        for (int i = 0; i < 6; i++)
                            for (int s = 0; s < 4; s++) {
                                tz[i][s] = 0;
                                for (int r = 0; r < 4; r++) tz[i][s] += fabs(AT[r][i]) * q[r][s];
                            }
                        for (int i = 0; i < 6; i++)
                            for (int j = 0; j < 6; j++) {
                                z[i][j] = 0;
                                for (int s = 0; s < 4; s++) z[i][j] += tz[i][s] * fabs(AT[s][j]);
                            }
                        for (int i = 0; i < 6; i++)
                            for (int j = 0; j < 6; j++) m[i][j] += z[i][j] * v[i][j];
                    }
            }
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++) {
                    double s = 0;
                    for (int i = 0; i < 6; i++)
                        for (int j = 0; j < 6; j++) s += fabs(G[i][k]) * m[i][j] * fabs(G[j][l]);
                    sw[(oc * cg + c) * 9 + k * 3 + l] = s;
                }
        }
    }
}

static double worst_ratio(const float *got, const double *exact, const double *s, int64_t count, int64_t k) {
    double worst = 0;
    for (int64_t i = 0; i < count; i++) {
        const double allowed = gamma_k(k) * s[i] + (double)k * 0x1p-149;
        const double r = fabs((double)got[i] - exact[i]) / allowed;
        if (!(r <= worst)) worst = r; /* NaN propagates */
    }
    return worst;
}

static int32_t winograd_level(int32_t isa) {
    return (isa == PCNN_ISA_AVX2 || isa == PCNN_ISA_AVX512) ? isa : PCNN_ISA_SCALAR;
}

static int use_level(int32_t isa) {
    return pcnn_set_max_isa(isa) == PCNN_STATUS_OK && pcnn_isa_active() == isa;
}

static int64_t compared;

static void check_shape(pcnn_conv2d_desc d, int with_bias, uint64_t seed) {
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    const int64_t xs = conv_src_count(&d), ys = conv_dst_count(&d), ws = conv_w_count(&d);
    float *x = gbuf_f(xs), *dy = gbuf_f(ys), *dw = gbuf_f(ws), *db = gbuf_f(d.oc), *first = gbuf_f(ws),
          *firstb = gbuf_f(d.oc);
    rng_seed(seed);
    for (int64_t i = 0; i < xs; i++) x[i] = rng_unit();
    for (int64_t i = 0; i < ys; i++) dy[i] = rng_unit();
    double *ew = malloc(sizeof(double) * (size_t)ws), *sw = malloc(sizeof(double) * (size_t)ws),
           *eb = malloc(sizeof(double) * (size_t)d.oc), *sb = malloc(sizeof(double) * (size_t)d.oc);
    reference(&d, x, dy, ew, sw, eb, sb);
    const int64_t k = d.n * ((d.oh + 3) / 4) * ((d.ow + 3) / 4) + 32, kb = d.n * d.oh * d.ow;
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
    for (int32_t isa = pcnn_isa_detected(); isa >= PCNN_ISA_SCALAR; isa--) {
        if (!use_level(isa)) {
            continue;
        }
        for (int threads = 1; threads <= 3; threads++) {
            CHECK_STATUS(pcnn_set_num_threads(threads), PCNN_STATUS_OK);
            prefill_nan(dw, ws);
            prefill_nan(db, d.oc);
            const int32_t st = pcnn_conv2d_bwd_weights(&d, x, dy, dw, with_bias ? db : NULL);
            CHECK(st == PCNN_STATUS_OK, "status %d", (int)st);
            CHECK(pcnn_last_algorithm() == PCNN_ALGO_WINOGRAD && pcnn_last_isa() == winograd_level(isa),
                  "served by %s/%s, expected winograd/%s", pcnn_algorithm_name(pcnn_last_algorithm()),
                  pcnn_isa_name(pcnn_last_isa()), pcnn_isa_name(winograd_level(isa)));
            CHECK(guard_ok(dw, ws) && guard_ok(db, d.oc), "guard overwritten");
            const double r = worst_ratio(dw, ew, sw, ws, k);
            CHECK(r <= 1.0, "%s n%lld c%lld %lldx%lld oc%lld pad %lld,%lld,%lld,%lld g%lld t%d: error / bound = %g",
                  pcnn_isa_name(isa), (long long)d.n, (long long)d.c, (long long)d.ih, (long long)d.iw,
                  (long long)d.oc, (long long)d.pad_top, (long long)d.pad_bottom, (long long)d.pad_left,
                  (long long)d.pad_right, (long long)d.groups, threads, r);
            if (with_bias) {
                CHECK(worst_ratio(db, eb, sb, d.oc, kb) <= 1.0, "%s: bias out of the direct bound", pcnn_isa_name(isa));
            } else {
                CHECK(bits_of(db[0]) == PREFILL_NAN_BITS, "diff_bias written although NULL");
            }
            if (threads == 1) {
                memcpy(first, dw, sizeof(float) * (size_t)ws);
                memcpy(firstb, db, sizeof(float) * (size_t)d.oc);
            } else {
                CHECK(memcmp(first, dw, sizeof(float) * (size_t)ws) == 0 &&
                          (!with_bias || memcmp(firstb, db, sizeof(float) * (size_t)d.oc) == 0),
                      "%s: 1 and %d threads differ", pcnn_isa_name(isa), threads);
            }
            compared++;
        }
    }
    /* Negative control: an error of 1e-2 of the largest |exact| in one element is detected (the
     * bound there is ~0.3% of the largest |dW| on the 1300-pixel planes below, less elsewhere). */
    double mx = 0;
    for (int64_t i = 0; i < ws; i++) mx = fmax(mx, fabs(ew[i]));
    const int64_t victim = ws / 2;
    first[victim] = (float)(ew[victim] + 1e-2 * mx);
    CHECK(worst_ratio(first, ew, sw, ws, k) > 1.0, "n%lld c%lld %lldx%lld oc%lld: the bound misses a 1e-2 relative error (allowed %g of max %g)",
          (long long)d.n, (long long)d.c, (long long)d.ih, (long long)d.iw, (long long)d.oc,
          gamma_k(k) * sw[victim], mx);
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK);
    free(x), free(dy), free(dw), free(db), free(first), free(firstb), free(ew), free(sw), free(eb), free(sb);
}

static int32_t served(const pcnn_conv2d_desc *d) {
    const int64_t xs = conv_src_count(d), ys = conv_dst_count(d), ws = conv_w_count(d);
    float *x = gbuf_f(xs), *dy = gbuf_f(ys), *dw = gbuf_f(ws);
    for (int64_t i = 0; i < xs; i++) x[i] = rng_unit();
    for (int64_t i = 0; i < ys; i++) dy[i] = rng_unit();
    CHECK_STATUS(pcnn_conv2d_bwd_weights(d, x, dy, dw, NULL), PCNN_STATUS_OK);
    free(x), free(dy), free(dw);
    return pcnn_last_algorithm();
}

static void test_rules_and_fallbacks(void) {
    /* AUTO (docs/winograd.md): >= 16 channels per group on both sides, c * oc <= 4096 (rounded
     * up to 16), >= 16 tiles per image unless c * oc <= 256; at the AVX2 / AVX-512 levels only
     * (the scalar level always serves direct under AUTO). */
    static const struct {
        int64_t n, c, hw, oc, groups;
        int wino;
    } rule[] = {
        {2, 32, 16, 64, 1, 1}, {1, 16, 8, 16, 1, 1},  {2, 3, 32, 32, 1, 0},  {2, 32, 16, 8, 1, 0},
        {2, 16, 7, 16, 1, 1},  {1, 32, 9, 32, 2, 1},  {1, 32, 9, 32, 4, 0},  {2, 64, 14, 15, 1, 0},
        {1, 64, 16, 64, 1, 1}, {1, 64, 12, 64, 1, 0}, {1, 128, 16, 64, 1, 0}, {1, 17, 16, 33, 1, 1},
    };
    const int vec = winograd_level(pcnn_isa_active()) != PCNN_ISA_SCALAR;
    for (size_t r = 0; r < sizeof rule / sizeof rule[0]; r++) {
        pcnn_conv2d_desc q = conv_desc(rule[r].n, rule[r].c, rule[r].hw, rule[r].hw, rule[r].oc, 3, 3, 1, 1, 1, 1, 1, 1,
                                       1, 1, rule[r].groups);
        CHECK_STATUS(pcnn_conv2d_desc_init(&q), PCNN_STATUS_OK);
        const int32_t want = (rule[r].wino && vec) ? PCNN_ALGO_WINOGRAD : PCNN_ALGO_DIRECT;
        CHECK(served(&q) == want, "AUTO bwd_weights c%d %dx%d oc%d g%d served by %s", (int)q.c, (int)q.ih, (int)q.iw,
              (int)q.oc, (int)q.groups, pcnn_algorithm_name(pcnn_last_algorithm()));
    }
    /* explicit WINOGRAD on a 5x5: served directly (backward-weights keeps that meaning) */
    pcnn_conv2d_desc f5 = conv_desc(1, 16, 12, 12, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&f5), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
    CHECK(served(&f5) == PCNN_ALGO_DIRECT, "5x5 WINOGRAD bwd_weights served by %s",
          pcnn_algorithm_name(pcnn_last_algorithm()));
    /* explicit DIRECT on a Winograd geometry: direct */
    pcnn_conv2d_desc big = conv_desc(2, 32, 13, 11, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&big), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_DIRECT), PCNN_STATUS_OK);
    CHECK(served(&big) == PCNN_ALGO_DIRECT, "DIRECT request served by %s", pcnn_algorithm_name(pcnn_last_algorithm()));

    /* Non-finite data under WINOGRAD: direct serves it, with the DIRECT request's bits */
    const int64_t xs = conv_src_count(&big), ys = conv_dst_count(&big), ws = conv_w_count(&big);
    float *x = gbuf_f(xs), *dy = gbuf_f(ys), *dw = gbuf_f(ws), *dw2 = gbuf_f(ws), *db = gbuf_f(big.oc),
          *db2 = gbuf_f(big.oc);
    for (int64_t i = 0; i < xs; i++) x[i] = rng_unit();
    for (int64_t i = 0; i < ys; i++) dy[i] = rng_unit();
    for (int32_t isa = pcnn_isa_detected(); isa >= PCNN_ISA_SCALAR; isa--) {
        if (!use_level(isa)) {
            continue;
        }
        for (int which = 0; which < 3; which++) {
            float *at = which == 0 ? &x[xs - 1] : which == 1 ? &dy[37] : &x[5];
            const float saved = *at;
            *at = which == 0 ? INFINITY : which == 1 ? -INFINITY : NAN;
            CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
            CHECK_STATUS(pcnn_conv2d_bwd_weights(&big, x, dy, dw, db), PCNN_STATUS_OK);
            CHECK(pcnn_last_algorithm() == PCNN_ALGO_DIRECT, "%s: non-finite data served by %s", pcnn_isa_name(isa),
                  pcnn_algorithm_name(pcnn_last_algorithm()));
            CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_DIRECT), PCNN_STATUS_OK);
            CHECK_STATUS(pcnn_conv2d_bwd_weights(&big, x, dy, dw2, db2), PCNN_STATUS_OK);
            CHECK(memcmp(dw, dw2, sizeof(float) * (size_t)ws) == 0 && memcmp(db, db2, sizeof(float) * (size_t)big.oc) == 0,
                  "%s: fallback differs from direct", pcnn_isa_name(isa));
            *at = saved;
        }
    }
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);

    /* Scratch allocation failure (a shape larger than any before): OUT_OF_MEMORY, then recovery */
    pcnn_conv2d_desc huge = conv_desc(4, 48, 40, 40, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&huge), PCNN_STATUS_OK);
    const int64_t hxs = conv_src_count(&huge), hys = conv_dst_count(&huge);
    float *hx = gbuf_f(hxs), *hy = gbuf_f(hys), *hw = gbuf_f(conv_w_count(&huge));
    for (int64_t i = 0; i < hxs; i++) hx[i] = rng_unit();
    for (int64_t i = 0; i < hys; i++) hy[i] = rng_unit();
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
    const int64_t saved_budget = pcnn_scratch_set_budget(0);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&big, x, dy, dw, NULL), PCNN_STATUS_OK); /* trims at its end */
    pcnn_scratch_fail_nth_alloc(1);
    const int32_t oom = pcnn_conv2d_bwd_weights(&huge, hx, hy, hw, NULL);
    pcnn_scratch_fail_nth_alloc(0);
    CHECK(oom == PCNN_STATUS_OUT_OF_MEMORY, "failed allocation gave status %d", (int)oom);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&huge, hx, hy, hw, NULL), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() == PCNN_ALGO_WINOGRAD, "after recovery served by %s",
          pcnn_algorithm_name(pcnn_last_algorithm()));
    pcnn_scratch_set_budget(saved_budget);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    free(x), free(dy), free(dw), free(dw2), free(db), free(db2), free(hx), free(hy), free(hw);
}

int main(void) {
    test_rules_and_fallbacks();
    /* n, c, ih, iw, oc, pads t/b/l/r, groups: output tails of 1..3 rows / columns, channel
     * counts around the 8 / 16 lanes and the register tiles (24, 12, 8, 6 output channels per
     * tile), asymmetric padding, pad 0, groups, N = 1..3, several slices, wide rows. */
    static const int64_t shapes[][10] = {
        {1, 1, 5, 5, 1, 1, 1, 1, 1, 1},     {2, 3, 9, 6, 5, 1, 1, 1, 1, 1},    {1, 16, 13, 14, 13, 1, 1, 1, 1, 1},
        {3, 7, 10, 11, 25, 0, 2, 1, 0, 1},  {1, 17, 8, 8, 12, 2, 0, 0, 2, 1},  {2, 8, 7, 23, 6, 0, 0, 0, 0, 2},
        {1, 20, 21, 19, 18, 1, 1, 1, 1, 2}, {2, 12, 3, 3, 12, 1, 1, 1, 1, 3},  {1, 5, 40, 33, 7, 0, 0, 0, 0, 1},
        {3, 40, 6, 9, 33, 2, 2, 2, 2, 1},   {2, 33, 12, 12, 50, 1, 1, 1, 1, 1}, {3, 70, 5, 7, 9, 1, 0, 0, 1, 1},
        {2, 3, 11, 75, 5, 1, 0, 2, 1, 1},   {1, 24, 4, 4, 31, 0, 0, 0, 0, 1},
    };
    const int count = (int)(sizeof shapes / sizeof shapes[0]);
    for (int s = 0; s < count; s++) {
        const int64_t *v = shapes[s];
        const pcnn_conv2d_desc d =
            conv_desc(v[0], v[1], v[2], v[3], v[4], 3, 3, 1, 1, v[5], v[6], v[7], v[8], 1, 1, v[9]);
        check_shape(d, s % 2 == 0, 300 + (uint64_t)s);
    }
    int64_t levels = 0;
    for (int32_t isa = pcnn_isa_detected(); isa >= PCNN_ISA_SCALAR; isa--) {
        levels += use_level(isa);
    }
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);
    CHECK(compared == (int64_t)count * levels * 3, "compared %lld variants, expected %lld", (long long)compared,
          (long long)count * levels * 3);
    return test_finish("conv2d_winograd_bwd_weights");
}
