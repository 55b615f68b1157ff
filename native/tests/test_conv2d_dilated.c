/*
 * Dilated stride-1 conv2d through the phase frame (native/src/kernels/conv2d/dilated*.c)
 * against the scalar direct kernel (the reference), all three passes:
 *   - each vector level's dilated entries (forward, backward-data; backward-weights is not
 *     framed) called directly (so a silent decline is seen: they must return OK) and the
 *     public API under AUTO;
 *   - integer-valued data (every partial sum exact in float): equal to the reference bit
 *     for bit; random floats: within a tolerance scaled by the sum of |terms|;
 *   - 1 and 2 threads bit-identical; every output element written (prefilled with NaN);
 *     guards after every buffer intact;
 *   - awkward shapes: dilation 2, 3 and 4, different per axis, odd H/W, padding not a
 *     multiple of the dilation and asymmetric, C not a multiple of 16, groups, batch 1,
 *     outputs fewer than the dilation, several image chunks (test hook);
 *   - geometry: stride 2, dilation 1 and 1x1 kernels are not taken; Inf in the weights makes
 *     forward / backward-data decline, Inf in src does not (it meets no frame zero there),
 *     and the results match the reference (up to NaN payload).
 */
#include <math.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"
#include "kernels/conv2d/dilated.h"
#include "test_util.h"

#if defined(__x86_64__) || defined(_M_X64)
#define DIL_X86 1
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated_winograd__avx2(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated_winograd__avx2(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated__avx512(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated__avx512(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd_dilated_winograd__avx512(const pcnn_conv2d_desc *d, const float *src, const float *weights, const float *bias, float *dst);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_dilated_winograd__avx512(const pcnn_conv2d_desc *d, const float *diff_dst, const float *weights, float *diff_src);

typedef struct {
    int32_t isa;
    pcnn_conv2d_fwd_fn fwd;
    pcnn_conv2d_bwd_data_fn bwd_data;
    pcnn_conv2d_fwd_fn wfwd; /* the Winograd variant (AUTO only) */
    pcnn_conv2d_bwd_data_fn wbwd_data;
} level_t;

static const level_t LEVELS[] = {
    {PCNN_ISA_AVX2, pcnn_conv2d_fwd_dilated__avx2, pcnn_conv2d_bwd_data_dilated__avx2,
     pcnn_conv2d_fwd_dilated_winograd__avx2, pcnn_conv2d_bwd_data_dilated_winograd__avx2},
    {PCNN_ISA_AVX512, pcnn_conv2d_fwd_dilated__avx512, pcnn_conv2d_bwd_data_dilated__avx512,
     pcnn_conv2d_fwd_dilated_winograd__avx512, pcnn_conv2d_bwd_data_dilated_winograd__avx512},
};
#endif

static int guards_ok(const pcnn_conv2d_desc *d, const conv_bufs *x) {
    return guard_ok(x->dst, conv_dst_count(d)) && guard_ok(x->ds, conv_src_count(d)) &&
           guard_ok(x->dw, conv_w_count(d)) && guard_ok(x->db, d->oc);
}

static int same(float a, float b) { return bits_of(a) == bits_of(b) || (isnan(a) && isnan(b)); }

/* Compares n values; tol 0: bit for bit (NaN = NaN); else |a - b| <= tol * (1 + |b|). */
static int compare(const float *a, const float *b, int64_t n, double tol, const char *what,
                   const char *label) {
    for (int64_t i = 0; i < n; i++) {
        const int ok = same(a[i], b[i]) ||
                       (tol > 0.0 && fabs((double)a[i] - (double)b[i]) <= tol * (1.0 + fabs((double)b[i])));
        if (!ok) {
            CHECK(0, "%s: %s differs at %lld: %.9g vs reference %.9g", label, what, (long long)i,
                  (double)a[i], (double)b[i]);
            return 0;
        }
    }
    g_checks++;
    return 1;
}

typedef int32_t (*pass_fwd)(const pcnn_conv2d_desc *, const float *, const float *, const float *, float *);
typedef int32_t (*pass_bwd)(const pcnn_conv2d_desc *, const float *, const float *, float *);
typedef int32_t (*pass_bww)(const pcnn_conv2d_desc *, const float *, const float *, float *, float *);

/* The three passes through the given kernels into out (prefilled with NaN); their statuses. */
static void run3(pass_fwd f, pass_bwd bd, pass_bww bw, const pcnn_conv2d_desc *d, const conv_bufs *in,
                 conv_bufs *out, int32_t st[3]) {
    prefill_nan(out->dst, conv_dst_count(d));
    prefill_nan(out->ds, conv_src_count(d));
    prefill_nan(out->dw, conv_w_count(d));
    prefill_nan(out->db, d->oc);
    st[0] = f(d, in->src, in->w, in->b, out->dst);
    st[1] = bd(d, in->dd, in->w, out->ds);
    st[2] = bw(d, in->src, in->dd, out->dw, out->db);
}

static void compare3(const pcnn_conv2d_desc *d, const conv_bufs *got, const conv_bufs *ref, double tol,
                     const char *label) {
    compare(got->dst, ref->dst, conv_dst_count(d), tol, "dst", label);
    compare(got->ds, ref->ds, conv_src_count(d), tol, "diff_src", label);
    compare(got->dw, ref->dw, conv_w_count(d), tol, "diff_weights", label);
    compare(got->db, ref->db, d->oc, tol, "diff_bias", label);
    CHECK(guards_ok(d, got), "%s: a guard after an output buffer was overwritten", label);
}

static void fill(const pcnn_conv2d_desc *d, conv_bufs *in, int ints) {
    float *all[] = {in->src, in->w, in->b, in->dd};
    const int64_t cnt[] = {conv_src_count(d), conv_w_count(d), d->oc, conv_dst_count(d)};
    for (int i = 0; i < 4; i++) {
        if (ints) {
            fill_ints(all[i], cnt[i], -3, 3);
        } else {
            for (int64_t j = 0; j < cnt[i]; j++) all[i][j] = rng_unit();
        }
    }
}

/* Public API passes with the current max ISA, threads and AUTO. */
static int32_t api_fwd(const pcnn_conv2d_desc *d, const float *s, const float *w, const float *b, float *o) {
    return pcnn_conv2d_fwd(d, s, w, b, o);
}
static int32_t api_bwd(const pcnn_conv2d_desc *d, const float *dd, const float *w, float *ds) {
    return pcnn_conv2d_bwd_data(d, dd, w, ds);
}
static int32_t api_bww(const pcnn_conv2d_desc *d, const float *s, const float *dd, float *dw, float *db) {
    return pcnn_conv2d_bwd_weights(d, s, dd, dw, db);
}

#if DIL_X86
/* The Winograd variant at each level: within 1e-4 of the largest sum of |terms| (S, the scalar
 * kernel on absolute values) of the pass (Winograd's rounding mixes a tile's elements, so a
 * per-element S is too strict); an indexing error is off by whole terms. */
static void check_winograd(const pcnn_conv2d_desc *d, const conv_bufs *in, const conv_bufs *ref, const char *label) {
    conv_bufs ab = conv_bufs_alloc(d), sabs = conv_bufs_alloc(d), got = conv_bufs_alloc(d);
    float *all_in[] = {in->src, in->w, in->b, in->dd}, *all_ab[] = {ab.src, ab.w, ab.b, ab.dd};
    const int64_t cnt[] = {conv_src_count(d), conv_w_count(d), d->oc, conv_dst_count(d)};
    for (int i = 0; i < 4; i++) {
        for (int64_t j = 0; j < cnt[i]; j++) all_ab[i][j] = fabsf(all_in[i][j]);
    }
    CHECK_STATUS(pcnn_conv2d_fwd__scalar(d, ab.src, ab.w, ab.b, sabs.dst), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_data__scalar(d, ab.dd, ab.w, sabs.ds), PCNN_STATUS_OK);
    for (size_t l = 0; l < sizeof LEVELS / sizeof LEVELS[0]; l++) {
        const level_t *lv = &LEVELS[l];
        if (pcnn_isa_detected() < lv->isa) continue;
        for (int threads = 1; threads <= 2; threads++) {
            pcnn_set_num_threads(threads);
            prefill_nan(got.dst, conv_dst_count(d));
            prefill_nan(got.ds, conv_src_count(d));
            CHECK_STATUS(lv->wfwd(d, in->src, in->w, in->b, got.dst), PCNN_STATUS_OK);
            CHECK_STATUS(lv->wbwd_data(d, in->dd, in->w, got.ds), PCNN_STATUS_OK);
            const float *g[2] = {got.dst, got.ds}, *r[2] = {ref->dst, ref->ds}, *sb[2] = {sabs.dst, sabs.ds};
            const int64_t n[2] = {conv_dst_count(d), conv_src_count(d)};
            for (int p = 0; p < 2; p++) {
                double smax = 0.0;
                for (int64_t i = 0; i < n[p]; i++) smax = sb[p][i] > smax ? sb[p][i] : smax;
                int64_t bad = -1;
                for (int64_t i = 0; i < n[p] && bad < 0; i++) {
                    if (!(fabs((double)g[p][i] - (double)r[p][i]) <= 1e-4 * smax)) bad = i;
                }
                CHECK(bad < 0, "%s [%s winograd %d threads] %s at %lld: %.9g vs %.9g (S %.3g)", label,
                      pcnn_isa_name(lv->isa), threads, p ? "diff_src" : "dst", (long long)bad,
                      bad >= 0 ? (double)g[p][bad] : 0.0, bad >= 0 ? (double)r[p][bad] : 0.0,
                      bad >= 0 ? (double)sb[p][bad] : 0.0);
            }
            CHECK(guards_ok(d, &got), "%s: winograd overwrote a guard", label);
        }
        pcnn_set_num_threads(1);
    }
    conv_bufs_free(&ab), conv_bufs_free(&sabs), conv_bufs_free(&got);
}
#endif

/* frame_ok: the entries can take the geometry (stride 1, dilated): they are run and must
 * return OK; expect_supported: the AUTO / DIRECT rule (junk <= 1/4) takes it. */
static void check_shape(pcnn_conv2d_desc d, int frame_ok, int expect_supported) {
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    (void)frame_ok; /* read by the x86 levels' loop only (DIL_X86) */
    char label[200];
    snprintf(label, sizeof label, "n%lld c%lld %lldx%lld oc%lld k%lldx%lld pad %lld,%lld,%lld,%lld dil %lldx%lld g%lld",
             (long long)d.n, (long long)d.c, (long long)d.ih, (long long)d.iw, (long long)d.oc,
             (long long)d.kh, (long long)d.kw, (long long)d.pad_top, (long long)d.pad_bottom,
             (long long)d.pad_left, (long long)d.pad_right, (long long)d.dilation_h,
             (long long)d.dilation_w, (long long)d.groups);
    CHECK(pcnn_dilated_supports(&d, PCNN_PASS_FWD) == expect_supported, "%s: supports != %d", label,
          expect_supported);
    conv_bufs in = conv_bufs_alloc(&d), ref = conv_bufs_alloc(&d), got = conv_bufs_alloc(&d), got2 = conv_bufs_alloc(&d);
    int32_t st[3];
    for (int ints = 1; ints >= 0; ints--) {
        fill(&d, &in, ints);
        run3(pcnn_conv2d_fwd__scalar, pcnn_conv2d_bwd_data__scalar, pcnn_conv2d_bwd_weights__scalar,
             &d, &in, &ref, st);
        const double tol = ints ? 0.0 : 2e-5 * sqrt((double)(d.c / d.groups * d.kh * d.kw + d.n * d.oh * d.ow));
#if DIL_X86
        for (size_t l = 0; l < sizeof LEVELS / sizeof LEVELS[0] && frame_ok; l++) {
            const level_t *lv = &LEVELS[l];
            if (pcnn_isa_detected() < lv->isa) continue;
            char lab[260];
            snprintf(lab, sizeof lab, "%s [%s %s]", label, pcnn_isa_name(lv->isa), ints ? "ints" : "floats");
            pcnn_set_num_threads(1);
            run3(lv->fwd, lv->bwd_data, api_bww, &d, &in, &got, st);
            for (int p = 0; p < 3; p++) CHECK(st[p] == PCNN_STATUS_OK, "%s: pass %d status %d", lab, p, st[p]);
            compare3(&d, &got, &ref, tol, lab);
            pcnn_set_num_threads(2);
            run3(lv->fwd, lv->bwd_data, api_bww, &d, &in, &got2, st);
            strcat(lab, " 2 threads vs 1");
            compare3(&d, &got2, &got, 0.0, lab);
            pcnn_set_num_threads(1);
        }
        if (frame_ok && d.kh == 3 && d.kw == 3) {
            check_winograd(&d, &in, &ref, label);
        }
#endif
        /* the public API under AUTO at the best level */
        char lab[260];
        snprintf(lab, sizeof lab, "%s [api %s]", label, ints ? "ints" : "floats");
        run3(api_fwd, api_bwd, api_bww, &d, &in, &got, st);
        for (int p = 0; p < 3; p++) CHECK(st[p] == PCNN_STATUS_OK, "%s: pass %d status %d", lab, p, st[p]);
        compare3(&d, &got, &ref, tol, lab);
    }
    conv_bufs_free(&in), conv_bufs_free(&ref), conv_bufs_free(&got), conv_bufs_free(&got2);
}

static pcnn_conv2d_desc dil(int64_t n, int64_t c, int64_t ih, int64_t iw, int64_t oc, int64_t k,
                            int64_t pt, int64_t pb, int64_t pl, int64_t pr, int64_t dh, int64_t dw,
                            int64_t g) {
    return conv_desc(n, c, ih, iw, oc, k, k, 1, 1, pt, pb, pl, pr, dh, dw, g);
}

/* AUTO on a dilated 3x3: >= 128 channels per group on both sides take the Winograd frame
 * (recorded as WINOGRAD, forward and backward-data) within the bound, fewer the direct frame
 * (DIRECT); an explicit WINOGRAD request is never taken (the public meaning: undilated 3x3). */
static void check_auto_winograd(pcnn_conv2d_desc d, int expect_winograd, const char *label) {
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(pcnn_dilated_supports(&d, PCNN_PASS_FWD), "%s: the frame should take it", label);
    CHECK(pcnn_dilated_winograd_supports(&d, PCNN_PASS_FWD), "%s: the Winograd frame should support it", label);
    CHECK(pcnn_dilated_winograd_auto_pick(&d, PCNN_PASS_FWD) == expect_winograd, "%s: auto_pick", label);
    conv_bufs in = conv_bufs_alloc(&d), ref = conv_bufs_alloc(&d), got = conv_bufs_alloc(&d);
    fill(&d, &in, 0);
    CHECK_STATUS(pcnn_conv2d_fwd__scalar(&d, in.src, in.w, in.b, ref.dst), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_data__scalar(&d, in.dd, in.w, ref.ds), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, in.src, in.w, in.b, got.dst), PCNN_STATUS_OK);
    const int32_t algo = pcnn_last_algorithm();
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, in.dd, in.w, got.ds), PCNN_STATUS_OK);
    const int32_t algo_bwd = pcnn_last_algorithm();
#if DIL_X86
    const int32_t want = pcnn_isa_active() >= PCNN_ISA_AVX2 && expect_winograd ? PCNN_ALGO_WINOGRAD : PCNN_ALGO_DIRECT;
    CHECK(algo == want && algo_bwd == want, "%s: AUTO served %d / %d, not %d", label, algo, algo_bwd, want);
    check_winograd(&d, &in, &ref, label);
#else
    (void)algo, (void)algo_bwd;
#endif
    compare(got.dst, ref.dst, conv_dst_count(&d), 1e-3, "dst", label);
    compare(got.ds, ref.ds, conv_src_count(&d), 1e-3, "diff_src", label);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_WINOGRAD), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, in.src, in.w, in.b, got.dst), PCNN_STATUS_UNSUPPORTED);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, in.dd, in.w, got.ds), PCNN_STATUS_UNSUPPORTED);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    conv_bufs_free(&in), conv_bufs_free(&ref), conv_bufs_free(&got);
}

/* Non-finite data: the entries decline, the API matches the reference up to NaN payload. */
static void check_nonfinite(void) {
    pcnn_conv2d_desc d = dil(2, 5, 11, 9, 7, 3, 2, 2, 2, 2, 2, 2, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    conv_bufs in = conv_bufs_alloc(&d), ref = conv_bufs_alloc(&d), got = conv_bufs_alloc(&d);
    for (int which = 0; which < 2; which++) {
        fill(&d, &in, 0);
        if (which == 0) in.w[4] = INFINITY; else in.src[13] = -INFINITY;
        int32_t st[3];
        run3(pcnn_conv2d_fwd__scalar, pcnn_conv2d_bwd_data__scalar, pcnn_conv2d_bwd_weights__scalar,
             &d, &in, &ref, st);
#if DIL_X86
        for (size_t l = 0; l < sizeof LEVELS / sizeof LEVELS[0]; l++) {
            const level_t *lv = &LEVELS[l];
            if (pcnn_isa_detected() < lv->isa) continue;
            run3(lv->fwd, lv->bwd_data, api_bww, &d, &in, &got, st);
            if (which == 0) {
                CHECK(st[0] == PCNN_STATUS_UNSUPPORTED && st[1] == PCNN_STATUS_UNSUPPORTED,
                      "Inf weight: fwd / bwd_data must decline (%d, %d)", st[0], st[1]);
            } else {
                CHECK(st[0] == PCNN_STATUS_OK && st[1] == PCNN_STATUS_OK,
                      "Inf src: fwd / bwd_data must not decline (%d, %d)", st[0], st[1]);
                compare3(&d, &got, &ref, 2e-4, "Inf src via the entries");
            }
        }
#endif
        run3(api_fwd, api_bwd, api_bww, &d, &in, &got, st);
        for (int p = 0; p < 3; p++) CHECK(st[p] == PCNN_STATUS_OK, "non-finite api pass %d status %d", p, st[p]);
        compare3(&d, &got, &ref, 2e-4, which == 0 ? "Inf weight via api" : "Inf src via api");
    }
    conv_bufs_free(&in), conv_bufs_free(&ref), conv_bufs_free(&got);
}

int main(void) {
    rng_seed(20261204);
    /* taken under AUTO / DIRECT: the bench row's geometry (dilation 2, pad 2) with fewer
     * channels, and dilation 3 with an odd width */
    check_shape(dil(1, 17, 33, 33, 20, 3, 2, 2, 2, 2, 2, 2, 1), 1, 1);
    check_shape(dil(2, 7, 33, 31, 9, 3, 3, 3, 3, 3, 3, 3, 1), 1, 1);
    check_auto_winograd(dil(1, 128, 17, 17, 128, 3, 2, 2, 2, 2, 2, 2, 1), 1, "AUTO 128 channels, dilation 2");
    check_auto_winograd(dil(1, 128, 19, 27, 128, 3, 3, 2, 1, 3, 3, 3, 1), 1,
                        "AUTO 128 channels, dilation 3, asymmetric padding");
    check_auto_winograd(dil(1, 64, 17, 17, 128, 3, 2, 2, 2, 2, 2, 2, 1), 0, "AUTO 64 -> 128 channels, dilation 2");
    /* small awkward shapes: the entries called directly (last argument: whether AUTO takes them) */
    check_shape(dil(2, 16, 17, 17, 16, 3, 2, 2, 2, 2, 2, 2, 1), 1, 1);
    /* odd sizes, C not a multiple of 16, batch 1, pad not a multiple of the dilation */
    check_shape(dil(1, 5, 13, 11, 7, 3, 1, 1, 1, 1, 2, 2, 1), 1, 0);
    check_shape(dil(3, 19, 24, 20, 21, 3, 3, 3, 3, 3, 3, 3, 1), 1, 0);
    check_shape(dil(1, 3, 20, 13, 4, 3, 0, 0, 0, 0, 2, 2, 1), 1, 0);        /* no padding */
    check_shape(dil(2, 6, 14, 25, 10, 3, 1, 3, 2, 0, 2, 3, 2), 1, 1);      /* asymmetric, per axis, groups */
    check_shape(dil(1, 4, 10, 23, 5, 3, 0, 0, 4, 4, 1, 4, 1), 1, 0);      /* dilated columns only */
    check_shape(dil(2, 8, 19, 18, 17, 5, 4, 4, 4, 4, 2, 2, 1), 1, 0);      /* 5x5 */
    check_shape(conv_desc(1, 6, 9, 31, 9, 1, 3, 1, 1, 0, 0, 2, 2, 3, 2, 1), 1, 1); /* 1x3 */
    /* few outputs per axis: junk outweighs them, AUTO leaves them to the plain direct kernel */
    check_shape(dil(1, 4, 3, 3, 4, 3, 3, 3, 3, 3, 3, 3, 1), 1, 0);
    /* not taken: stride 2, dilation 1, a 1x1 kernel */
    check_shape(conv_desc(1, 4, 13, 13, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1), 0, 0);
    check_shape(dil(1, 4, 9, 9, 4, 3, 1, 1, 1, 1, 1, 1, 1), 0, 0);
    check_shape(conv_desc(1, 4, 9, 9, 4, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 1), 0, 0);
    /* several image chunks */
    const int64_t old = pcnn_dilated_set_chunk_bytes(4096);
    check_shape(dil(5, 3, 9, 10, 4, 3, 2, 2, 2, 2, 2, 2, 1), 1, 0);
    pcnn_dilated_set_chunk_bytes(old);
    check_nonfinite();
    return test_finish("conv2d_dilated");
}
