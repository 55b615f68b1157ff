/*
 * Known-answer tests, worked by hand, through the public API at every ISA level the CPU
 * has (pcnn_set_max_isa), so each dispatch path is exercised.
 */
#include "test_util.h"

static void expect_floats(const char *what, const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        CHECK(bits_of(got[i]) == bits_of(want[i]) || (isnan(got[i]) && isnan(want[i])),
              "%s[%" PRId64 "]: got %g, want %g", what, i, got[i], want[i]);
    }
}
static void expect_ints(const char *what, const int32_t *got, const int32_t *want, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        CHECK(got[i] == want[i], "%s[%" PRId64 "]: got %d, want %d", what, i, got[i], want[i]);
    }
}

/* Runs conv fwd with guarded buffers and compares with `want`. */
static void conv_fwd_case(const char *name, pcnn_conv2d_desc d, const float *src,
                          const float *w, const float *bias, int64_t want_oh, int64_t want_ow,
                          const float *want) {
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == want_oh && d.ow == want_ow, "%s: oh,ow = %" PRId64 ",%" PRId64, name, d.oh,
          d.ow);
    if (d.oh != want_oh || d.ow != want_ow) return;
    const int64_t nd = conv_dst_count(&d);
    float *dst = gbuf_f(nd);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, src, w, bias, dst), PCNN_STATUS_OK);
    expect_floats(name, dst, want, nd);
    CHECK(guard_ok(dst, nd), "%s: guard overwritten", name);
    free(dst);
}

static void test_conv_fwd(void) {
    /* 1x1x3x3 input 1..9, 2x2 kernel [[1,2],[3,4]]: out = x00 + 2 x01 + 3 x10 + 4 x11. */
    const float in9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float w4[4] = {1, 2, 3, 4};
    const float want1[4] = {37, 47, 67, 77};
    conv_fwd_case("conv basic", conv_desc(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1), in9,
                  w4, NULL, 2, 2, want1);
    const float b1[1] = {0.5f};
    const float want1b[4] = {37.5f, 47.5f, 67.5f, 77.5f};
    conv_fwd_case("conv bias", conv_desc(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1), in9, w4,
                  b1, 2, 2, want1b);

    /* 4x4 input 1..16, 3x3 ones, stride 2, pad 1: windows rows/cols {0,1} and {1,2,3}. */
    float in16[16], ones9[9];
    for (int i = 0; i < 16; ++i) in16[i] = (float)(i + 1);
    for (int i = 0; i < 9; ++i) ones9[i] = 1;
    const float want2[4] = {14, 30, 57, 99};
    conv_fwd_case("conv stride2 pad1", conv_desc(1, 1, 4, 4, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
                  in16, ones9, NULL, 2, 2, want2);

    /* 5x5 input v = 5r + c, 2x2 ones dilated by 2: out = 4 (5y + x) + 24. */
    float in25[25], want3[9];
    const float ones4[4] = {1, 1, 1, 1};
    for (int i = 0; i < 25; ++i) in25[i] = (float)i;
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x) want3[y * 3 + x] = (float)(4 * (5 * y + x) + 24);
    conv_fwd_case("conv dilation2", conv_desc(1, 1, 5, 5, 1, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 1),
                  in25, ones4, NULL, 3, 3, want3);

    /* Asymmetric padding: 2x2 input [1,2,3,4], 1x1 weight 2, pad top 1, right 2. */
    const float in4[4] = {1, 2, 3, 4};
    const float w2[1] = {2};
    const float want4[12] = {0, 0, 0, 0, 2, 4, 0, 0, 6, 8, 0, 0};
    conv_fwd_case("conv asym pad", conv_desc(1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 2, 1, 1, 1), in4,
                  w2, NULL, 3, 4, want4);

    /* groups = 2, c = 2, oc = 4, 1x1: channel 0 all 1, channel 1 all 10; w = 1,2,3,4. */
    const float ing[8] = {1, 1, 1, 1, 10, 10, 10, 10};
    const float wg[4] = {1, 2, 3, 4};
    const float wantg[16] = {1, 1, 1, 1, 2, 2, 2, 2, 30, 30, 30, 30, 40, 40, 40, 40};
    conv_fwd_case("conv groups c2 oc4", conv_desc(1, 2, 2, 2, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2),
                  ing, wg, NULL, 2, 2, wantg);

    /* groups = 2, c = 4, oc = 2: o0 = 1*c0 + 2*c1, o1 = 3*c2 + 4*c3, c_k = k+1; N = 2 with
     * the second image doubled; bias 100, 200. */
    float ing2[8];
    for (int n = 0; n < 2; ++n)
        for (int k = 0; k < 4; ++k) ing2[n * 4 + k] = (float)((k + 1) * (n + 1));
    const float wg2[4] = {1, 2, 3, 4};
    const float bg2[2] = {100, 200};
    const float wantg2[4] = {105, 225, 110, 250};
    conv_fwd_case("conv groups c4 oc2 n2",
                  conv_desc(2, 4, 1, 1, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2), ing2, wg2, bg2, 1,
                  1, wantg2);

    /* Depthwise: c = oc = groups = 2, 2x2 input, 1x2 kernel per channel. */
    const float ind[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float wd[4] = {1, 10, 2, 20};
    const float wantd[4] = {21, 43, 130, 174};
    conv_fwd_case("conv depthwise", conv_desc(1, 2, 2, 2, 2, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, 2), ind,
                  wd, NULL, 2, 1, wantd);
}

static void test_conv_bwd(void) {
    const float in9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float w4[4] = {1, 2, 3, 4};
    pcnn_conv2d_desc d = conv_desc(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    float *ds = gbuf_f(9);
    /* A single 1 at (0,0) places the kernel there. */
    const float dd1[4] = {1, 0, 0, 0};
    const float want1[9] = {1, 2, 0, 3, 4, 0, 0, 0, 0};
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, dd1, w4, ds), PCNN_STATUS_OK);
    expect_floats("bwd_data impulse", ds, want1, 9);
    /* All ones: the full convolution with the rotated filter. */
    const float dd2[4] = {1, 1, 1, 1};
    const float want2[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    prefill_nan(ds, 9);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, dd2, w4, ds), PCNN_STATUS_OK);
    expect_floats("bwd_data ones", ds, want2, 9);
    CHECK(guard_ok(ds, 9), "guard");
    free(ds);

    /* Stride 2, pad 1, 3x3 ones on 4x4: coverage counts [1,2,1,1] x [1,2,1,1]. */
    pcnn_conv2d_desc d2 = conv_desc(1, 1, 4, 4, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&d2), PCNN_STATUS_OK);
    float ones9[9];
    for (int i = 0; i < 9; ++i) ones9[i] = 1;
    const float cov[4] = {1, 2, 1, 1};
    float want3[16];
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) want3[y * 4 + x] = cov[y] * cov[x];
    float *ds2 = gbuf_f(16);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d2, dd2, ones9, ds2), PCNN_STATUS_OK);
    expect_floats("bwd_data stride2", ds2, want3, 16);
    CHECK(guard_ok(ds2, 16), "guard");
    free(ds2);

    /* Weights: src 1..9, diff_dst ones -> sums of the 2x2 sub-blocks; N = 2 with the second
     * image doubled triples everything; diff_bias = 4 + 4. */
    float src2[18], dd4[8];
    for (int i = 0; i < 9; ++i) {
        src2[i] = in9[i];
        src2[9 + i] = 2 * in9[i];
    }
    for (int i = 0; i < 8; ++i) dd4[i] = 1;
    pcnn_conv2d_desc d3 = conv_desc(2, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&d3), PCNN_STATUS_OK);
    float *dw = gbuf_f(4), *db = gbuf_f(1);
    const float wantw[4] = {36, 48, 72, 84};
    const float wantb[1] = {8};
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d3, src2, dd4, dw, db), PCNN_STATUS_OK);
    expect_floats("bwd_weights", dw, wantw, 4);
    expect_floats("bwd_bias", db, wantb, 1);
    prefill_nan(dw, 4);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d3, src2, dd4, dw, NULL), PCNN_STATUS_OK);
    expect_floats("bwd_weights no bias", dw, wantw, 4);
    CHECK(guard_ok(dw, 4) && guard_ok(db, 1), "guard");
    free(dw);
    free(db);
}

/* Adjoint identity <conv(x, w), dy> == <x, bwd_data(dy, w)> on integer data (exact). */
static void test_adjoint(void) {
    const pcnn_conv2d_desc shapes[] = {
        conv_desc(2, 4, 7, 6, 6, 3, 2, 2, 1, 1, 2, 0, 1, 1, 2, 2),
        conv_desc(1, 3, 5, 5, 2, 3, 3, 3, 2, 2, 0, 1, 1, 2, 1, 1),
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        pcnn_conv2d_desc d = shapes[s];
        CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
        const int64_t ns = conv_src_count(&d), nd = conv_dst_count(&d), nw = conv_w_count(&d);
        float *x = gbuf_f(ns), *w = gbuf_f(nw), *dy = gbuf_f(nd), *y = gbuf_f(nd),
              *dx = gbuf_f(ns);
        rng_seed(1234 + s);
        fill_ints(x, ns, -3, 3);
        fill_ints(w, nw, -3, 3);
        fill_ints(dy, nd, -3, 3);
        CHECK_STATUS(pcnn_conv2d_fwd(&d, x, w, NULL, y), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_conv2d_bwd_data(&d, dy, w, dx), PCNN_STATUS_OK);
        double lhs = 0, rhs = 0;
        for (int64_t i = 0; i < nd; ++i) lhs += (double)y[i] * dy[i];
        for (int64_t i = 0; i < ns; ++i) rhs += (double)x[i] * dx[i];
        CHECK(lhs == rhs, "adjoint shape %zu: %g vs %g", s, lhs, rhs);
        free(x); free(w); free(dy); free(y); free(dx);
    }
}

static void pool_case(const char *name, pcnn_maxpool2d_desc d, const float *src, int64_t want_oh,
                      int64_t want_ow, const float *want, const int32_t *want_idx) {
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == want_oh && d.ow == want_ow, "%s: oh,ow = %" PRId64 ",%" PRId64, name, d.oh,
          d.ow);
    if (d.oh != want_oh || d.ow != want_ow) return;
    const int64_t nd = pool_dst_count(&d);
    float *dst = gbuf_f(nd);
    int32_t *idx = gbuf_i(nd);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, src, dst, idx), PCNN_STATUS_OK);
    expect_floats(name, dst, want, nd);
    expect_ints(name, idx, want_idx, nd);
    /* indices are optional */
    prefill_nan(dst, nd);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, src, dst, NULL), PCNN_STATUS_OK);
    expect_floats(name, dst, want, nd);
    CHECK(guard_ok(dst, nd) && guard_ok(idx, nd), "%s: guard overwritten", name);
    free(dst);
    free(idx);
}

static void test_pool_fwd(void) {
    const float nan_a = f_from_bits(0x7fc00001u), nan_b = f_from_bits(0xffc00002u);

    const float ties[4] = {5, 5, 5, 5};
    const float want_t[1] = {5};
    const int32_t idx_t[1] = {0};
    pool_case("pool ties all", pool_desc(1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 0), ties, 1, 1,
              want_t, idx_t);
    const float ties2[4] = {1, 3, 3, 2};
    const float want_t2[1] = {3};
    const int32_t idx_t2[1] = {1};
    pool_case("pool ties first max", pool_desc(1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 0), ties2,
              1, 1, want_t2, idx_t2);

    /* NaN: the last NaN wins (payload of nan_b, index 3); a leading NaN stays. */
    const float nans[4] = {1, nan_a, 3, nan_b};
    const int32_t idx_n[1] = {3};
    {
        pcnn_maxpool2d_desc d = pool_desc(1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 0);
        CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
        float *dst = gbuf_f(1);
        int32_t *idx = gbuf_i(1);
        CHECK_STATUS(pcnn_maxpool2d_fwd(&d, nans, dst, idx), PCNN_STATUS_OK);
        CHECK(bits_of(dst[0]) == bits_of(nan_b), "last NaN: got bits %08x", bits_of(dst[0]));
        expect_ints("last NaN idx", idx, idx_n, 1);
        const float lead[4] = {nan_a, 5, 1, 2};
        CHECK_STATUS(pcnn_maxpool2d_fwd(&d, lead, dst, idx), PCNN_STATUS_OK);
        CHECK(bits_of(dst[0]) == bits_of(nan_a) && idx[0] == 0, "leading NaN: idx %d", idx[0]);
        const float inf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        CHECK_STATUS(pcnn_maxpool2d_fwd(&d, inf, dst, idx), PCNN_STATUS_OK);
        CHECK(dst[0] == -INFINITY && idx[0] == 0, "all -inf: idx %d", idx[0]);
        free(dst);
        free(idx);
    }

    /* Padding never wins: all-negative 2x2, k2 s1 pad 1 -> 3x3. */
    const float neg[4] = {-5, -3, -4, -6};
    const float want_p[9] = {-5, -3, -3, -4, -3, -3, -4, -4, -6};
    const int32_t idx_p[9] = {0, 1, 1, 2, 1, 1, 2, 2, 3};
    pool_case("pool padding never wins", pool_desc(1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0),
              neg, 3, 3, want_p, idx_p);

    /* Ceil mode, 1x5 row [1,5,2,4,3], k 1x2 s2 pad 1: floor gives 3, ceil 4, but the 4th
     * window would start at 3*2 = 6 >= iw + pad_left = 6, so it is dropped:
     * windows {1}, {5,2}, {4,3}. */
    const float row[5] = {1, 5, 2, 4, 3};
    const float want_c[3] = {1, 5, 4};
    const int32_t idx_c[3] = {0, 1, 3};
    pool_case("pool ceil drops last", pool_desc(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1), row,
              1, 3, want_c, idx_c);
    pool_case("pool floor pad", pool_desc(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 1, 1, 1, 1, 0), row, 1, 3,
              want_c, idx_c);
    /* Ceil mode keeping a partial window: no pad, [1,5],[2,4],[3]. */
    const float want_c2[3] = {5, 4, 3};
    const int32_t idx_c2[3] = {1, 3, 4};
    pool_case("pool ceil partial", pool_desc(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 0, 0, 1, 1, 1), row, 1,
              3, want_c2, idx_c2);
    const float want_f2[2] = {5, 4};
    pool_case("pool floor no pad", pool_desc(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 0, 0, 1, 1, 0), row, 1,
              2, want_f2, idx_c2);

    /* Dilation 3, k 2 on [1,9,2,8,3]: windows {0,3} and {1,4}. */
    const float rowd[5] = {1, 9, 2, 8, 3};
    const float want_d[2] = {8, 9};
    const int32_t idx_d[2] = {3, 1};
    pool_case("pool dilation", pool_desc(1, 1, 1, 5, 1, 2, 1, 1, 0, 0, 0, 0, 1, 3, 0), rowd, 1, 2,
              want_d, idx_d);

    /* 2 channels, N 2, 4x4 -> 2x2 with k2 s2: indices are plane offsets. */
    float src[64];
    for (int i = 0; i < 64; ++i) src[i] = (float)((i * 37) % 64);
    float want_m[16];
    int32_t idx_m[16];
    for (int p = 0; p < 4; ++p)
        for (int y = 0; y < 2; ++y)
            for (int x = 0; x < 2; ++x) {
                float best = 0;
                int at = -1;
                for (int ky = 0; ky < 2; ++ky)
                    for (int kx = 0; kx < 2; ++kx) {
                        const int o = (2 * y + ky) * 4 + 2 * x + kx;
                        if (at < 0 || src[p * 16 + o] > best) {
                            best = src[p * 16 + o];
                            at = o;
                        }
                    }
                want_m[p * 4 + y * 2 + x] = best;
                idx_m[p * 4 + y * 2 + x] = at;
            }
    pool_case("pool planes", pool_desc(2, 2, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), src, 2, 2,
              want_m, idx_m);
}

static void test_pool_bwd(void) {
    /* [1,3,2] k2 s1: both windows pick index 1; gradients accumulate there. */
    pcnn_maxpool2d_desc d = pool_desc(1, 1, 1, 3, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    const float src[3] = {1, 3, 2};
    float *dst = gbuf_f(2), *ds = gbuf_f(3);
    int32_t *idx = gbuf_i(2);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, src, dst, idx), PCNN_STATUS_OK);
    const int32_t want_idx[2] = {1, 1};
    expect_ints("bwd idx", idx, want_idx, 2);
    const float dd[2] = {10, 20};
    const float want[3] = {0, 30, 0};
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dd, idx, ds), PCNN_STATUS_OK);
    expect_floats("pool bwd overlap", ds, want, 3);
    /* A bad index is reported. */
    const int32_t bad[2] = {1, 3};
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dd, bad, ds), PCNN_STATUS_OUT_OF_RANGE);
    const int32_t neg[2] = {-1, 0};
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dd, neg, ds), PCNN_STATUS_OUT_OF_RANGE);
    CHECK(guard_ok(dst, 2) && guard_ok(ds, 3) && guard_ok(idx, 2), "guard");
    free(dst);
    free(ds);
    free(idx);

    /* 2 planes, padding 1, 2x2 -> 3x3 windows: every input gets the sum of its windows. */
    pcnn_maxpool2d_desc d2 = pool_desc(1, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d2), PCNN_STATUS_OK);
    const float src2[8] = {-5, -3, -4, -6, 1, 1, 1, 1};
    float *dst2 = gbuf_f(18), *ds2 = gbuf_f(8);
    int32_t *idx2 = gbuf_i(18);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d2, src2, dst2, idx2), PCNN_STATUS_OK);
    float dd2[18];
    for (int i = 0; i < 18; ++i) dd2[i] = (float)(i + 1);
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d2, dd2, idx2, ds2), PCNN_STATUS_OK);
    /* plane 0 indices {0,1,1,2,1,1,2,2,3}: x0 = 1, x1 = 2+3+5+6 = 16, x2 = 4+7+8 = 19, x3 = 9
     * plane 1 all ones, ties -> first in-range: windows (r,c) pick (max(r-1,0), max(c-1,0)):
     * idx {0,0,1,0,0,1,2,2,3} -> x0 = 10+11+13+14 = 48, x1 = 12+15 = 27, x2 = 16+17 = 33,
     * x3 = 18. */
    const float want2[8] = {1, 16, 19, 9, 48, 27, 33, 18};
    expect_floats("pool bwd planes", ds2, want2, 8);
    CHECK(guard_ok(dst2, 18) && guard_ok(ds2, 8) && guard_ok(idx2, 18), "guard");
    free(dst2);
    free(ds2);
    free(idx2);
}

int main(void) {
    const int32_t detected = pcnn_isa_detected();
    printf("detected ISA: %s, active: %s, threads: %d\n", pcnn_isa_name(detected),
           pcnn_isa_name(pcnn_isa_active()), pcnn_get_num_threads());
    for (int32_t level = PCNN_ISA_SCALAR; level <= detected; ++level) {
        CHECK_STATUS(pcnn_set_max_isa(level), PCNN_STATUS_OK);
#if defined(__aarch64__)
        /* the x86 levels between scalar and neon are no levels here: a cap there is scalar */
        if (level == PCNN_ISA_AVX2 || level == PCNN_ISA_AVX512) {
            CHECK(pcnn_isa_active() == PCNN_ISA_SCALAR, "active %d after cap %d",
                  pcnn_isa_active(), level);
            continue;
        }
#endif
        CHECK(pcnn_isa_active() == level, "active %d after cap %d", pcnn_isa_active(), level);
        const int before = g_failures;
        test_conv_fwd();
        test_conv_bwd();
        test_adjoint();
        test_pool_fwd();
        test_pool_bwd();
        printf("  ISA cap %-6s: %s\n", pcnn_isa_name(level),
               g_failures == before ? "ok" : "FAILED");
    }
    return test_finish("known_answers");
}
