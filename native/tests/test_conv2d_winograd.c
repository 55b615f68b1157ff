/*
 * Winograd F(4x4,3x3) (scalar oracle, AVX2, AVX-512; forward and backward-data) against the
 * exact convolution (double), element by element within the Winograd error bound of
 * docs/winograd.md:
 *   |computed - exact| <= gamma(K) * S_w + K * 2^-149,  K = (in channels per group) + 32,
 *   gamma(K) = K u / (1 - K u) + 2u, u = 2^-24,
 *   S_w = |A^T| ( sum_c (|G| |g_c| |G^T|) .* (|B^T| |d_c| |B|) ) |A|  (+ |bias|)
 * computed here in double with this file's own copy of the matrices and tiling (4x4 output
 * tiles anchored at output (0,0)). Also: which algorithm / ISA served (pcnn_last_*), results
 * bit-identical for 1 and 3 threads, the AUTO rule, explicit requests on shapes Winograd
 * cannot take, non-finite data served by direct, and a negative control showing the bound
 * detects a 1e-3 relative error.
 */
#include <math.h>

#include "test_util.h"
#include "core/scratch.h" /* pcnn_scratch_fail_nth_alloc (test hook) */
#include "test_winograd.h"


/* The engine view (see native/src/kernels/conv2d/winograd.h), recomputed independently. */
typedef struct {
    int64_t n, groups, cin, cout, ih, iw, oh, ow, oy, ox;
    int bwd;
} eng;

static eng engine_of(const pcnn_conv2d_desc *d, int bwd) {
    eng e = {d->n, d->groups, 0, 0, 0, 0, 0, 0, 0, 0, bwd};
    if (!bwd) {
        e.cin = d->c / d->groups, e.cout = d->oc / d->groups;
        e.ih = d->ih, e.iw = d->iw, e.oh = d->oh, e.ow = d->ow, e.oy = -d->pad_top, e.ox = -d->pad_left;
    } else {
        e.cin = d->oc / d->groups, e.cout = d->c / d->groups;
        e.ih = d->oh, e.iw = d->ow, e.oh = d->ih, e.ow = d->iw, e.oy = d->pad_top - 2, e.ox = d->pad_left - 2;
    }
    return e;
}

static double wt(const eng *e, const float *w, int64_t g, int64_t o, int64_t c, int ky, int kx) {
    if (!e->bwd) return w[(((g * e->cout + o) * e->cin + c) * 3 + ky) * 3 + kx];
    return w[(((g * e->cin + c) * e->cout + o) * 3 + (2 - ky)) * 3 + (2 - kx)];
}

/* exact[] (double correlation) and bound[] (S_w) for every engine output element. */
static void exact_and_bound(const eng *e, const float *in, const float *w, const float *bias,
                            double *exact, double *sw) {
    const int64_t ty = (e->oh + 3) / 4, tx = (e->ow + 3) / 4;
    for (int64_t n = 0; n < e->n; n++)
        for (int64_t g = 0; g < e->groups; g++)
            for (int64_t o = 0; o < e->cout; o++) {
                const int64_t oc = g * e->cout + o;
                double *ex = exact + (n * e->groups * e->cout + oc) * e->oh * e->ow;
                double *bd = sw + (n * e->groups * e->cout + oc) * e->oh * e->ow;
                for (int64_t y = 0; y < e->oh; y++)
                    for (int64_t x = 0; x < e->ow; x++) {
                        double acc = bias ? bias[oc] : 0.0;
                        for (int64_t c = 0; c < e->cin; c++) {
                            const float *pl = in + ((n * e->groups + g) * e->cin + c) * e->ih * e->iw;
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    const int64_t iy = e->oy + y + ky, ix = e->ox + x + kx;
                                    if (iy < 0 || iy >= e->ih || ix < 0 || ix >= e->iw) continue;
                                    acc += (double)pl[iy * e->iw + ix] * wt(e, w, g, o, c, ky, kx);
                                }
                        }
                        ex[y * e->ow + x] = acc;
                    }
                for (int64_t a = 0; a < ty; a++)
                    for (int64_t b = 0; b < tx; b++) {
                        double s[6][6] = {{0}};
                        for (int64_t c = 0; c < e->cin; c++) {
                            const float *pl = in + ((n * e->groups + g) * e->cin + c) * e->ih * e->iw;
                            double dd[6][6], v[6][6], gg[3][3], tu[6][3], u[6][6];
                            for (int i = 0; i < 6; i++)
                                for (int j = 0; j < 6; j++) {
                                    const int64_t iy = e->oy + 4 * a + i, ix = e->ox + 4 * b + j;
                                    dd[i][j] = (iy >= 0 && iy < e->ih && ix >= 0 && ix < e->iw)
                                                   ? fabs(pl[iy * e->iw + ix]) : 0.0;
                                }
                            abs_input_transform(dd, v);
                            for (int i = 0; i < 3; i++)
                                for (int j = 0; j < 3; j++) gg[i][j] = fabs(wt(e, w, g, o, c, i, j));
                            for (int i = 0; i < 6; i++)
                                for (int j = 0; j < 3; j++)
                                    tu[i][j] = fabs(G[i][0]) * gg[0][j] + fabs(G[i][1]) * gg[1][j] + fabs(G[i][2]) * gg[2][j];
                            for (int i = 0; i < 6; i++)
                                for (int j = 0; j < 6; j++)
                                    u[i][j] = tu[i][0] * fabs(G[j][0]) + tu[i][1] * fabs(G[j][1]) + tu[i][2] * fabs(G[j][2]);
                            for (int i = 0; i < 6; i++)
                                for (int j = 0; j < 6; j++) s[i][j] += u[i][j] * v[i][j];
                        }
                        for (int r = 0; r < 4; r++)
                            for (int q = 0; q < 4; q++) {
                                const int64_t y = 4 * a + r, x = 4 * b + q;
                                if (y >= e->oh || x >= e->ow) continue;
                                double acc = bias ? fabs(bias[oc]) : 0.0;
                                for (int i = 0; i < 6; i++)
                                    for (int j = 0; j < 6; j++) acc += fabs(AT[r][i]) * s[i][j] * fabs(AT[q][j]);
                                bd[y * e->ow + x] = acc;
                            }
                    }
            }
}


/* max over elements of |got - exact| / allowed; > 1 means out of bound. */
static double worst_ratio(const float *got, const double *exact, const double *sw, int64_t count, int64_t k) {
    double worst = 0;
    for (int64_t i = 0; i < count; i++) {
        const double allowed = gamma_k(k) * sw[i] + (double)k * 0x1p-149;
        const double r = fabs((double)got[i] - exact[i]) / allowed;
        if (!(r <= worst)) worst = r; /* NaN propagates */
    }
    return worst;
}

static int64_t compared;

/* The level that serves a WINOGRAD request when `isa` is active: x86 levels have SIMD Winograd
 * kernels, others (scalar, NEON) the scalar one. */
static int32_t winograd_level(int32_t isa) {
    return (isa == PCNN_ISA_AVX2 || isa == PCNN_ISA_AVX512) ? isa : PCNN_ISA_SCALAR;
}

/* Caps the ISA at `isa`; 0 when that level does not exist here (e.g. AVX2 on AArch64). */
static int use_level(int32_t isa) {
    return pcnn_set_max_isa(isa) == PCNN_STATUS_OK && pcnn_isa_active() == isa;
}

/* gbuf_f's guarded buffer starting on a 64-byte boundary (so the AVX-512 kernel's aligned
 * non-temporal output stores can be taken); free *raw. */
static float *gbuf_f_at64(int64_t n, void **raw) {
    uint32_t *p = malloc((size_t)(n + GUARD + 16) * sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "test: out of memory\n");
        exit(2);
    }
    *raw = p;
    uint32_t *a = p + ((64 - ((uintptr_t)p & 63)) & 63) / sizeof(float);
    for (int64_t i = 0; i < n; ++i) a[i] = PREFILL_NAN_BITS;
    for (int64_t i = n; i < n + GUARD; ++i) a[i] = SENTINEL_BITS;
    return (float *)a;
}

/* One shape, one pass, every ISA level the machine has: Winograd served and within bound. */
static void check_shape(pcnn_conv2d_desc d, int bwd, int with_bias, uint64_t seed) {
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    const eng e = engine_of(&d, bwd);
    const int64_t in_count = e.n * e.groups * e.cin * e.ih * e.iw;
    const int64_t out_count = e.n * e.groups * e.cout * e.oh * e.ow;
    const int64_t wcount = conv_w_count(&d);
    void *out_raw;
    float *in = gbuf_f(in_count), *w = gbuf_f(wcount), *b = gbuf_f(d.oc), *out = gbuf_f_at64(out_count, &out_raw),
          *first = gbuf_f(out_count);
    rng_seed(seed);
    for (int64_t i = 0; i < in_count; i++) in[i] = rng_unit();
    for (int64_t i = 0; i < wcount; i++) w[i] = rng_unit();
    for (int64_t i = 0; i < d.oc; i++) b[i] = rng_unit();
    const float *bias = (!bwd && with_bias) ? b : NULL;
    double *exact = malloc(sizeof(double) * (size_t)out_count), *sw = malloc(sizeof(double) * (size_t)out_count);
    exact_and_bound(&e, in, w, bias, exact, sw);
    const int64_t k = e.cin + 32;
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
    for (int32_t isa = pcnn_isa_detected(); isa >= PCNN_ISA_SCALAR; isa--) {
        if (!use_level(isa)) {
            continue;
        }
        for (int threads = 1; threads <= 3; threads += 2) {
            CHECK_STATUS(pcnn_set_num_threads(threads), PCNN_STATUS_OK);
            prefill_nan(out, out_count);
            const int32_t st = bwd ? pcnn_conv2d_bwd_data(&d, in, w, out) : pcnn_conv2d_fwd(&d, in, w, bias, out);
            CHECK(st == PCNN_STATUS_OK, "status %d", (int)st);
            CHECK(pcnn_last_algorithm() == PCNN_ALGO_WINOGRAD && pcnn_last_isa() == winograd_level(isa),
                  "served by %s/%s, expected winograd/%s", pcnn_algorithm_name(pcnn_last_algorithm()),
                  pcnn_isa_name(pcnn_last_isa()), pcnn_isa_name(winograd_level(isa)));
            CHECK(guard_ok(out, out_count), "guard overwritten");
            const double r = worst_ratio(out, exact, sw, out_count, k);
            CHECK(r <= 1.0,
                  "%s %s n%lld c%lld %lldx%lld oc%lld pad %lld,%lld,%lld,%lld g%lld: error / bound = %g",
                  pcnn_isa_name(isa), bwd ? "bwd_data" : "fwd", (long long)d.n, (long long)d.c, (long long)d.ih,
                  (long long)d.iw, (long long)d.oc, (long long)d.pad_top, (long long)d.pad_bottom,
                  (long long)d.pad_left, (long long)d.pad_right, (long long)d.groups, r);
            if (threads == 1) {
                memcpy(first, out, sizeof(float) * (size_t)out_count);
            } else {
                CHECK(memcmp(first, out, sizeof(float) * (size_t)out_count) == 0,
                      "%s: 1 and 3 threads differ", pcnn_isa_name(isa));
            }
            compared++;
        }
    }
    /* Negative control: an error of 1e-3 of the largest |exact| in one element is detected
     * (1e-2 above 64 in channels: the bound grows with them, gamma(K) ~ K u). */
    double mx = 0;
    for (int64_t i = 0; i < out_count; i++) mx = fmax(mx, fabs(exact[i]));
    const int64_t victim = out_count / 2;
    const double rel = e.cin <= 64 ? 1e-3 : 1e-2;
    first[victim] = (float)(exact[victim] + rel * mx);
    CHECK(worst_ratio(first, exact, sw, out_count, k) > 1.0, "the bound misses a %g relative error", rel);
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    free(in), free(w), free(b), free(out_raw), free(first), free(exact), free(sw);
}

static void test_requests_and_fallbacks(void) {
    /* unknown ids */
    CHECK_STATUS(pcnn_set_conv2d_algorithm(-1), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(99), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK(pcnn_get_conv2d_algorithm() == PCNN_ALGO_AUTO, "request changed by a rejected id");
    CHECK(strcmp(pcnn_algorithm_name(PCNN_ALGO_WINOGRAD), "winograd") == 0, "name");
    CHECK(strcmp(pcnn_algorithm_name(7), "unknown") == 0, "name of unknown");

    /* 5x5: WINOGRAD request is refused, nothing written; AUTO serves it directly */
    pcnn_conv2d_desc d = conv_desc(1, 16, 12, 12, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    float *x = gbuf_f(conv_src_count(&d)), *w = gbuf_f(conv_w_count(&d)), *y = gbuf_f(conv_dst_count(&d));
    for (int64_t i = 0; i < conv_src_count(&d); i++) x[i] = rng_unit();
    for (int64_t i = 0; i < conv_w_count(&d); i++) w[i] = rng_unit();
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, x, w, NULL, y), PCNN_STATUS_UNSUPPORTED);
    CHECK(bits_of(y[0]) == PREFILL_NAN_BITS, "refused call wrote its output");
    /* backward-weights has only direct: a WINOGRAD request is served directly */
    float *dw = gbuf_f(conv_w_count(&d));
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, x, y, dw, NULL), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() == PCNN_ALGO_DIRECT, "bwd_weights served by %s",
          pcnn_algorithm_name(pcnn_last_algorithm()));
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, x, w, NULL, y), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() == PCNN_ALGO_DIRECT, "5x5 AUTO served by %s", pcnn_algorithm_name(pcnn_last_algorithm()));
    free(x), free(w), free(y), free(dw);

    /* AUTO: Winograd for 32 -> 64 channels on 28x28 (on AVX2 / AVX-512), direct for 3 channels */
    pcnn_conv2d_desc big = conv_desc(1, 32, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    pcnn_conv2d_desc rgb = conv_desc(1, 3, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&big), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_desc_init(&rgb), PCNN_STATUS_OK);
    float *bx = gbuf_f(conv_src_count(&big)), *bw = gbuf_f(conv_w_count(&big)), *by = gbuf_f(conv_dst_count(&big)),
          *by2 = gbuf_f(conv_dst_count(&big));
    for (int64_t i = 0; i < conv_src_count(&big); i++) bx[i] = rng_unit();
    for (int64_t i = 0; i < conv_w_count(&big); i++) bw[i] = rng_unit();
    CHECK_STATUS(pcnn_conv2d_fwd(&big, bx, bw, NULL, by), PCNN_STATUS_OK);
    const int32_t expect = winograd_level(pcnn_isa_active()) != PCNN_ISA_SCALAR ? PCNN_ALGO_WINOGRAD : PCNN_ALGO_DIRECT;
    CHECK(pcnn_last_algorithm() == expect, "AUTO 32->64ch served by %s", pcnn_algorithm_name(pcnn_last_algorithm()));
    CHECK_STATUS(pcnn_conv2d_fwd(&rgb, bx, bw, NULL, by), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() == PCNN_ALGO_DIRECT, "AUTO 3ch served by %s", pcnn_algorithm_name(pcnn_last_algorithm()));

    /* The AUTO rule of docs/winograd.md per pass and ISA level: engine channels >= 16 on both
     * sides, and >= 55% of the lanes busy with groups of 8 (AVX-512) / 4 (AVX2) tiles. */
    static const struct {
        int64_t c, hw, oc;
        int fwd512, bwd512, fwd2, bwd2; /* 1: Winograd expected */
    } rule[] = {
        {32, 32, 64, 1, 1, 1, 1},  /* mid: both passes */
        {3, 32, 32, 0, 0, 0, 0},   /* cifar: 3 channels on one side in each pass */
        {32, 32, 8, 0, 0, 0, 0},   /* 8 output channels: forward cout 8, backward-data cin 8 */
        {64, 14, 64, 0, 0, 1, 1},  /* 4 tiles per row: half of the AVX-512 lanes idle */
        {16, 20, 16, 1, 1, 1, 1},  /* 5 tiles per row: 5/8 busy */
        {16, 36, 16, 1, 1, 1, 1},  /* 9 tiles per row: 9/16 (AVX-512), 9/12 (AVX2) */
        {64, 8, 64, 0, 0, 0, 0},   /* 2 tiles per row: 2/8, 2/4 busy */
    };
    for (size_t r = 0; r < sizeof rule / sizeof rule[0]; r++) {
        pcnn_conv2d_desc q = conv_desc(2, rule[r].c, rule[r].hw, rule[r].hw, rule[r].oc, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        CHECK_STATUS(pcnn_conv2d_desc_init(&q), PCNN_STATUS_OK);
        float *qx = gbuf_f(conv_src_count(&q)), *qw = gbuf_f(conv_w_count(&q)), *qy = gbuf_f(conv_dst_count(&q));
        for (int64_t i = 0; i < conv_src_count(&q); i++) qx[i] = rng_unit();
        for (int64_t i = 0; i < conv_w_count(&q); i++) qw[i] = rng_unit();
        for (int64_t i = 0; i < conv_dst_count(&q); i++) qy[i] = rng_unit();
        const int32_t isa = winograd_level(pcnn_isa_active());
        const int fwd = isa == PCNN_ISA_AVX512 ? rule[r].fwd512 : isa == PCNN_ISA_AVX2 ? rule[r].fwd2 : 0;
        const int bwd = isa == PCNN_ISA_AVX512 ? rule[r].bwd512 : isa == PCNN_ISA_AVX2 ? rule[r].bwd2 : 0;
        CHECK_STATUS(pcnn_conv2d_fwd(&q, qx, qw, NULL, qy), PCNN_STATUS_OK);
        CHECK(pcnn_last_algorithm() == (fwd ? PCNN_ALGO_WINOGRAD : PCNN_ALGO_DIRECT), "AUTO fwd c%d %dx%d oc%d served by %s",
              (int)q.c, (int)q.ih, (int)q.iw, (int)q.oc, pcnn_algorithm_name(pcnn_last_algorithm()));
        CHECK_STATUS(pcnn_conv2d_bwd_data(&q, qy, qw, qx), PCNN_STATUS_OK);
        CHECK(pcnn_last_algorithm() == (bwd ? PCNN_ALGO_WINOGRAD : PCNN_ALGO_DIRECT), "AUTO bwd_data c%d %dx%d oc%d served by %s",
              (int)q.c, (int)q.ih, (int)q.iw, (int)q.oc, pcnn_algorithm_name(pcnn_last_algorithm()));
        free(qx), free(qw), free(qy);
    }

    /* Scratch allocation failure on a shape larger than any before (so its transformed weights
     * and tiles must be allocated): PCNN_STATUS_OUT_OF_MEMORY, never garbage, then recovery. */
    pcnn_conv2d_desc huge = conv_desc(1, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&huge), PCNN_STATUS_OK);
    float *hx = gbuf_f(conv_src_count(&huge)), *hw = gbuf_f(conv_w_count(&huge)), *hy = gbuf_f(conv_dst_count(&huge));
    for (int64_t i = 0; i < conv_src_count(&huge); i++) hx[i] = rng_unit();
    for (int64_t i = 0; i < conv_w_count(&huge); i++) hw[i] = rng_unit();
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
    const int64_t saved_budget = pcnn_scratch_set_budget(0);
    CHECK_STATUS(pcnn_conv2d_fwd(&big, bx, bw, NULL, by), PCNN_STATUS_OK); /* trims at its end */
    pcnn_scratch_fail_nth_alloc(1);
    const int32_t oom = pcnn_conv2d_fwd(&huge, hx, hw, NULL, hy);
    pcnn_scratch_fail_nth_alloc(0);
    CHECK(oom == PCNN_STATUS_OUT_OF_MEMORY, "failed allocation gave status %d", (int)oom);
    CHECK_STATUS(pcnn_conv2d_fwd(&huge, hx, hw, NULL, hy), PCNN_STATUS_OK);
    free(hx), free(hw), free(hy);
    CHECK(pcnn_last_algorithm() == PCNN_ALGO_WINOGRAD, "after recovery served by %s",
          pcnn_algorithm_name(pcnn_last_algorithm()));
    pcnn_scratch_set_budget(saved_budget);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);

    /* Non-finite input under an explicit WINOGRAD request: direct serves it, same bits as DIRECT */
    bx[37] = INFINITY;
    bx[300] = NAN;
    for (int32_t isa = pcnn_isa_detected(); isa >= PCNN_ISA_SCALAR; isa--) {
        if (!use_level(isa)) {
            continue;
        }
        CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_conv2d_fwd(&big, bx, bw, NULL, by), PCNN_STATUS_OK);
        CHECK(pcnn_last_algorithm() == PCNN_ALGO_DIRECT, "non-finite input served by %s",
              pcnn_algorithm_name(pcnn_last_algorithm()));
        CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_DIRECT), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_conv2d_fwd(&big, bx, bw, NULL, by2), PCNN_STATUS_OK);
        CHECK(memcmp(by, by2, sizeof(float) * (size_t)conv_dst_count(&big)) == 0, "fallback differs from direct");
        /* non-finite weight, backward-data */
        bx[37] = 1.0f, bx[300] = 1.0f;
        bw[5] = -INFINITY;
        CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_conv2d_bwd_data(&big, by2, bw, by), PCNN_STATUS_OK);
        CHECK(pcnn_last_algorithm() == PCNN_ALGO_DIRECT, "non-finite weight served by %s",
              pcnn_algorithm_name(pcnn_last_algorithm()));
        bw[5] = 0.5f, bx[37] = INFINITY, bx[300] = NAN;
    }
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    free(bx), free(bw), free(by), free(by2);
}

int main(void) {
    test_requests_and_fallbacks();
    /* n, c, ih, iw, oc, pads t/b/l/r, groups: output tails of 1..5 rows / columns (ih, iw mod 4
     * with pad 1 gives oh = ih), channel tails around the 12 / 6 channel blocks and 16 / 8 lanes,
     * asymmetric and large padding, groups, N > 1, more tiles than one chunk, rows of several
     * lane groups. */
    static const int64_t shapes[][10] = {
        {1, 1, 5, 5, 1, 1, 1, 1, 1, 1},    {2, 3, 9, 6, 5, 1, 1, 1, 1, 1},   {1, 16, 13, 14, 13, 1, 1, 1, 1, 1},
        {3, 7, 10, 11, 25, 0, 2, 1, 0, 1}, {1, 17, 8, 8, 12, 2, 0, 0, 2, 1}, {2, 8, 7, 23, 6, 3, 1, 2, 3, 2},
        {1, 20, 21, 19, 18, 1, 1, 1, 1, 2}, {2, 12, 3, 3, 12, 1, 1, 1, 1, 3}, {1, 5, 40, 33, 7, 0, 0, 0, 0, 1},
        {1, 24, 6, 9, 32, 2, 2, 2, 2, 1},
        /* wide rows: 19 (forward) / 20 (backward-data) tiles, so 3 lane groups per tile row, the
         * last partly filled, and chunks whose groups come from different tile rows */
        {2, 3, 11, 75, 5, 1, 0, 2, 1, 1},
        /* forward output of 2^20 floats with 64-wide rows: AVX-512's non-temporal stores */
        {16, 2, 64, 64, 16, 1, 1, 1, 1, 1},
        /* 230 in / 270 out channels per group: transformed tiles above 512 KB, so output
         * channel blocks run in super-blocks (two forward, the second a 12-channel tail) */
        {1, 460, 5, 6, 540, 1, 1, 1, 1, 2},
    };
    const int count = (int)(sizeof shapes / sizeof shapes[0]);
    for (int s = 0; s < count; s++) {
        const int64_t *v = shapes[s];
        const pcnn_conv2d_desc d =
            conv_desc(v[0], v[1], v[2], v[3], v[4], 3, 3, 1, 1, v[5], v[6], v[7], v[8], 1, 1, v[9]);
        check_shape(d, 0, s % 2 == 0, 100 + (uint64_t)s);
        check_shape(d, 1, 0, 200 + (uint64_t)s);
    }
    /* every (shape, pass) x ISA levels x 2 thread counts must have been compared */
    int64_t levels = 0;
    for (int32_t isa = pcnn_isa_detected(); isa >= PCNN_ISA_SCALAR; isa--) {
        levels += use_level(isa);
    }
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);
    CHECK(compared == (int64_t)count * 2 * levels * 2, "compared %lld variants, expected %lld", (long long)compared,
          (long long)count * 2 * levels * 2);
    return test_finish("conv2d_winograd");
}
