/*
 * Depthwise conv2d (PCNN_ALGO_DEPTHWISE; AVX-512 and AVX2 kernels from
 * native/src/kernels/conv2d/depthwise-simd.h) against the scalar direct kernel, all three
 * passes, at every vector level the CPU has, through the public API with an explicit
 * DEPTHWISE request:
 *   - integer-valued data (every partial sum exact): results must equal the scalar kernel's
 *     bit for bit, on awkward shapes (widths 1..33, channels 1..17, stride 2, asymmetric
 *     padding, N > 1, 5x5, 7x1, dilation) and seeded random ones;
 *   - the call must have been served by DEPTHWISE at the level under test (so a kernel that
 *     silently declines is seen), or by DEPTHWISE's scalar reference entry where the geometry is
 *     not the vector kernels' (stride 3, more than 49 taps);
 *   - the AUTO rule (depthwise for every call the vector kernels take, as measured);
 *   - 1 and 3 threads give bit-identical results; guards after every buffer stay intact;
 *   - Inf / NaN in weights, src and diff_dst next to padding give the scalar kernel's result
 *     (padded taps are skipped, not multiplied as zeros): compared bit for bit up to NaN payload;
 *   - explicit DEPTHWISE requests at every ISA level (below AVX-512: the scalar reference);
 *   - the channels-in-lanes engine (depthwise-lanes-simd.h) serves exactly the calls its frame
 *     predicate takes (per-engine run counter), on channel counts around both vector lengths,
 *     strides 1..3, dilation 1..2, padding 0..3, kernels 1x1 / 3x3 / 5x5 / 3x5, and with Inf / NaN
 *     planted in later channel blocks (its fallbacks to the plane engine); 1, 2 and 3 threads
 *     bit-identical;
 *   - the stride-2 row engine (depthwise-s2-simd.h) serves exactly the calls its geometry takes
 *     (forward / backward-data: with finite weights), widths 1..5, 15..17, 27..33, 63..65,
 *     127..130, odd / even heights, pads 0..2, 3x3 / 5x5 / 1x5 / 5x1 / 2x2 / 1x1, Inf / NaN data;
 *   - the stride-1 rows engine (depthwise-rows-simd.h) serves exactly the forward / backward-data
 *     calls a rule written out here takes (rows_expected), widths 1..130 around 1..4 vectors and
 *     the chunk edges, 3x3 pads 0..2 each side and beyond the kernel, 5x5, two-plane vectors
 *     (odd plane counts), 7x7 flat planes, Inf / NaN data and weights.
 */
#include <math.h>

#include "core/pcnn_internal.h"
#include "kernels/conv2d/depthwise-lanes.h"
#include "kernels/conv2d/depthwise-s2.h"
#include "test_util.h"

static int32_t g_level; /* the vector level under test (PCNN_ISA_SCALAR: none) */

/* calls served by the channels-in-lanes engine (depthwise-lanes-simd.h), per vector level */
#if defined(__x86_64__) || defined(_M_X64)
extern int64_t pcnn_conv2d_depthwise_lanes_runs__avx512;
extern int64_t pcnn_conv2d_depthwise_lanes_runs__avx2;
static int64_t lanes_runs(void) {
    return pcnn_conv2d_depthwise_lanes_runs__avx512 + pcnn_conv2d_depthwise_lanes_runs__avx2;
}
#else
static int64_t lanes_runs(void) { return 0; }
#endif
static int64_t g_lanes_cases; /* cases the lanes engine served, all passes (the sweep must reach it) */

/* planes the calling thread computed with shifted columns (AVX-512 3x3 row reuse, depthwise-simd.h) */
#if defined(__x86_64__) || defined(_M_X64)
extern __thread int64_t pcnn_conv2d_depthwise_shift_planes__avx512;
static int64_t shift_planes(void) { return pcnn_conv2d_depthwise_shift_planes__avx512; }
#else
static int64_t shift_planes(void) { return 0; }
#endif
static int64_t g_shift_cases; /* calls that took the shifted columns (the sweep must reach them) */

/* calls served by the stride-1 rows engine (depthwise-rows-simd.h), per vector level */
#if defined(__x86_64__) || defined(_M_X64)
extern int64_t pcnn_conv2d_depthwise_rows_runs__avx512;
extern int64_t pcnn_conv2d_depthwise_rows_runs__avx2;
static int64_t rows_runs(void) { return pcnn_conv2d_depthwise_rows_runs__avx512 + pcnn_conv2d_depthwise_rows_runs__avx2; }
#else
static int64_t rows_runs(void) { return 0; }
#endif
static int64_t g_rows_cases; /* forward / backward-data calls the rows engine served */

/* The rows engine takes an AVX-512 or AVX2 forward / backward-data call with stride 1, dilation 1, a
 * 3x3 or 5x5 kernel, finite weights, a left pad p of the correlation it computes (forward:
 * pad_left; backward-data: k - 1 - pad_left) with k - 3 <= p <= 2; any width on AVX-512, rows of
 * at most 64 floats on AVX2 (rows of up to 4 vectors (3x3) or 2 (5x5) in one chunk on AVX-512, 2 or
 * 1 on AVX2, wider ones in chunks with their neighbour vectors). */
static int rows_expected(const pcnn_conv2d_desc *d, int32_t pass, const float *w) {
    if ((g_level != PCNN_ISA_AVX512 && g_level != PCNN_ISA_AVX2) || pass == PCNN_PASS_BWD_WEIGHTS ||
        d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 || d->dilation_w != 1 || d->kh != d->kw ||
        (d->kh != 3 && d->kh != 5)) {
        return 0;
    }
    const int64_t k = d->kh, p = pass == PCNN_PASS_FWD ? d->pad_left : k - 1 - d->pad_left;
    if (p < k - 3 || p > 2) {
        return 0;
    }
    if (g_level == PCNN_ISA_AVX2 && (d->iw > 64 || d->ow > 64)) {
        return 0; /* AVX2: rows of at most 64 floats, input and output */
    }
    for (int64_t i = 0; i < d->c * k * k; i++) {
        if (!isfinite(w[i])) return 0;
    }
    return 1;
}

/* the rows engine ran exactly when expected; returns whether it did */
static int check_rows(const pcnn_conv2d_desc *d, int32_t pass, const float *w, int64_t before, const char *what,
                      const char *label) {
    const int64_t got = rows_runs() - before, want = rows_expected(d, pass, w);
    CHECK(got == want, "%s %s: rows engine ran %lld times, expected %lld", label, what, (long long)got,
          (long long)want);
    g_rows_cases += got;
    return got > 0;
}

/* AVX-512, stride 1, 3x3, dilation 1: every plane of a forward / backward-data call the plane
 * engine serves (not the rows engine) takes the shifted columns; below AVX-512 none does. (Other shapes may:
 * e.g. the 3-wide column classes of a stride-2 backward-data in the plane engine.) */
static void check_shift(const pcnn_conv2d_desc *d, int64_t before, const char *what, const char *label,
                        int rows_took) {
    const int64_t got = shift_planes() - before;
    const int want = g_level == PCNN_ISA_AVX512 && d->stride_h == 1 && d->stride_w == 1 && d->kh == 3 &&
                     d->kw == 3 && d->dilation_h == 1 && d->dilation_w == 1 && !rows_took;
    if (rows_took) {
        CHECK(got == 0, "%s %s: rows engine ran, yet %lld planes took the plane engine", label, what, (long long)got);
    } else if (want || g_level != PCNN_ISA_AVX512) {
        CHECK(got == (want ? d->n * d->c : 0), "%s %s: %lld planes with shifted columns, expected %lld", label,
              what, (long long)got, (long long)(want ? d->n * d->c : 0));
    }
    g_shift_cases += want && got > 0;
}

/* calls served by the stride-2 row engine (depthwise-s2-simd.h), per vector level */
#if defined(__x86_64__) || defined(_M_X64)
extern int64_t pcnn_conv2d_depthwise_s2_runs__avx512;
extern int64_t pcnn_conv2d_depthwise_s2_runs__avx2;
static int64_t s2_runs(void) { return pcnn_conv2d_depthwise_s2_runs__avx512 + pcnn_conv2d_depthwise_s2_runs__avx2; }
#else
static int64_t s2_runs(void) { return 0; }
#endif
static int64_t g_s2_cases; /* cases the stride-2 row engine served, all passes */

static int lanes_expected(const pcnn_conv2d_desc *d, int32_t pass);

/* calls served by the 3x3 stride-1 backward-weights sums (depthwise-wsum3-simd.h) */
#if defined(__x86_64__) || defined(_M_X64)
extern int64_t pcnn_conv2d_depthwise_wsum3_runs__avx512;
extern int64_t pcnn_conv2d_depthwise_wsum3_runs__avx2;
static int64_t wsum3_runs(void) {
    return pcnn_conv2d_depthwise_wsum3_runs__avx512 + pcnn_conv2d_depthwise_wsum3_runs__avx2;
}
#else
static int64_t wsum3_runs(void) { return 0; }
#endif
static int64_t g_wsum3_cases;

/* AVX-512 backward-weights calls with a 3x3 kernel, stride 1, dilation 1 and pads <= 2, whose
 * rows are 9..32 wide (dY rows too) or which the lanes engine does not take (written out here, not taken
 * from the kernel's own predicate). */
static int check_wsum3(const pcnn_conv2d_desc *d, int64_t before, const char *label) {
    const int64_t got = wsum3_runs() - before;
    const int geometry = g_level == PCNN_ISA_AVX512 && d->kh == 3 && d->kw == 3 && d->stride_h == 1 &&
                         d->stride_w == 1 && d->dilation_h == 1 && d->dilation_w == 1 && d->pad_top <= 2 &&
                         d->pad_bottom <= 2 && d->pad_left <= 2 && d->pad_right <= 2;
    const int want = geometry && ((d->iw > 8 && d->iw <= 32 && d->ow <= 32) || !lanes_expected(d, PCNN_PASS_BWD_WEIGHTS));
    CHECK(got == want, "%s bwd_weights: 3x3 stride-1 sums ran %lld times, expected %d", label, (long long)got, want);
    g_wsum3_cases += got;
    return got > 0;
}

/* calls served by the stride-2 5x5 backward-data planes with constant sizes (depthwise-s2k5-simd.h) */
#if defined(__x86_64__) || defined(_M_X64)
extern int64_t pcnn_conv2d_depthwise_s2k5_runs__avx512;
extern int64_t pcnn_conv2d_depthwise_s2k5_runs__avx2;
static int64_t s2k5_runs(void) {
    return pcnn_conv2d_depthwise_s2k5_runs__avx512 + pcnn_conv2d_depthwise_s2k5_runs__avx2;
}
#else
static int64_t s2k5_runs(void) { return 0; }
#endif
static int64_t g_s2k5_cases;

/* calls served by the stride-2 backward-weights split-row sums (depthwise-wsum2-simd.h) */
#if defined(__x86_64__) || defined(_M_X64)
extern int64_t pcnn_conv2d_depthwise_wsum2_runs__avx512;
extern int64_t pcnn_conv2d_depthwise_wsum2_runs__avx2;
static int64_t wsum2_runs(void) {
    return pcnn_conv2d_depthwise_wsum2_runs__avx512 + pcnn_conv2d_depthwise_wsum2_runs__avx2;
}
#else
static int64_t wsum2_runs(void) { return 0; }
#endif
static int64_t g_wsum2_cases;

/* Vector backward-weights calls with stride 2, dilation 1, a 3x3 kernel with pad_left 0 / 1 or a
 * 5x5 with pad_left 1 / 2, whose rows take at most two vectors: max(ow, ceil(iw / 2)) <= 2 * VL
 * (written out here, not taken from the kernel's own predicate); tried before every other engine. */
static int check_wsum2(const pcnn_conv2d_desc *d, int64_t before, const char *label) {
    const int64_t got = wsum2_runs() - before, vl = g_level == PCNN_ISA_AVX512 ? 16 : 8;
    const int64_t lanes = d->ow > (d->iw + 1) / 2 ? d->ow : (d->iw + 1) / 2;
    const int kernel = d->kh == d->kw && ((d->kh == 3 && d->pad_left <= 1) ||
                                          (d->kh == 5 && d->pad_left >= 1 && d->pad_left <= 2));
    const int want = g_level != PCNN_ISA_SCALAR && d->groups == d->c && d->oc == d->c && d->stride_h == 2 &&
                     d->stride_w == 2 && d->dilation_h == 1 && d->dilation_w == 1 && kernel && lanes <= 2 * vl;
    CHECK(got == want, "%s bwd_weights: stride-2 split-row sums ran %lld times, expected %d", label, (long long)got,
          want);
    g_wsum2_cases += got;
    return got > 0;
}

/* calls served by the 3x3 / 5x5 stride-2 forward with split rows in registers (depthwise-s2fwd-simd.h) */
#if defined(__x86_64__) || defined(_M_X64)
extern int64_t pcnn_conv2d_depthwise_s2fwd_runs__avx512;
extern int64_t pcnn_conv2d_depthwise_s2fwd_runs__avx2;
static int64_t s2fwd_runs(void) {
    return pcnn_conv2d_depthwise_s2fwd_runs__avx512 + pcnn_conv2d_depthwise_s2fwd_runs__avx2;
}
#else
static int64_t s2fwd_runs(void) { return 0; }
#endif
static int64_t g_s2fwd_cases;

/* Vector forward calls with stride 2, dilation 1, a 3x3 kernel with pad_left 0 / 1 or a 5x5 with
 * pad_left 1 / 2, every weight
 * finite, whose rows take at most two vectors: max(ow, ceil(iw / 2)) <= 2 * VL (written out
 * here); tried before every other engine. */
static int check_s2fwd(const pcnn_conv2d_desc *d, const float *w, int64_t before, const char *label) {
    const int64_t got = s2fwd_runs() - before, vl = g_level == PCNN_ISA_AVX512 ? 16 : 8;
    const int64_t lanes = d->ow > (d->iw + 1) / 2 ? d->ow : (d->iw + 1) / 2;
    int want = g_level != PCNN_ISA_SCALAR && d->groups == d->c && d->oc == d->c && d->stride_h == 2 &&
               d->stride_w == 2 && d->dilation_h == 1 && d->dilation_w == 1 && d->kh == d->kw &&
               ((d->kh == 3 && d->pad_left <= 1) || (d->kh == 5 && d->pad_left >= 1 && d->pad_left <= 2)) &&
               lanes <= 2 * vl;
    for (int64_t i = 0; want && i < d->c * d->kh * d->kw; i++) {
        want = isfinite(w[i]) != 0;
    }
    CHECK(got == want, "%s fwd: 3x3 stride-2 register rows ran %lld times, expected %d", label, (long long)got, want);
    g_s2fwd_cases += got;
    return got > 0;
}

/* The stride-2 row engine takes a call at the level under test when its geometry covers it and,
 * forward / backward-data (tried first), every weight is finite; backward-weights (tried after
 * the lanes engine) when the lanes engine's frame does not take it. */
static int s2k5_expected(const pcnn_conv2d_desc *d, const float *w);
static int s2_expected(const pcnn_conv2d_desc *d, int32_t pass, const float *w) {
    if (g_level == PCNN_ISA_SCALAR || !pcnn_dw_s2_geometry(d, pass, g_level == PCNN_ISA_AVX512 ? 16 : 8)) {
        return 0;
    }
    if (pass == PCNN_PASS_BWD_DATA && s2k5_expected(d, w)) {
        return 0; /* tried first: the same body with constant sizes */
    }
    if (pass == PCNN_PASS_BWD_WEIGHTS) {
        return !lanes_expected(d, pass);
    }
    for (int64_t i = 0; i < d->c * d->kh * d->kw; i++) {
        if (!isfinite(w[i])) return 0;
    }
    return 1;
}

/* The lanes engine takes a call at the level under test exactly when its frame predicate says so. */
static int lanes_expected(const pcnn_conv2d_desc *d, int32_t pass) {
    pcnn_dw_frame f;
    return g_level != PCNN_ISA_SCALAR &&
           pcnn_depthwise_lanes_frame(d, pass, g_level == PCNN_ISA_AVX512 ? 16 : 8, &f);
}

static void check_lanes(const pcnn_conv2d_desc *d, int32_t pass, int64_t before, const char *what, const char *label,
                        int s2_took) {
    const int64_t got = lanes_runs() - before, want = !s2_took && lanes_expected(d, pass);
    CHECK(got == want, "%s %s: lanes engine ran %lld times, expected %lld", label, what, (long long)got,
          (long long)want);
    g_lanes_cases += got;
}

/* the stride-2 row engine ran exactly when expected; returns whether it did */
/* stride-2 backward-data, 5x5 with pad_left 2, rows of at most two vectors (max(ow, ceil(iw / 2))),
 * finite weights, inside the row engine's geometry: depthwise-s2k5-simd.h */
static int s2k5_expected(const pcnn_conv2d_desc *d, const float *w) {
    const int64_t vl = g_level == PCNN_ISA_AVX512 ? 16 : 8;
    const int64_t lanes = d->ow > (d->iw + 1) / 2 ? d->ow : (d->iw + 1) / 2;
    if (g_level == PCNN_ISA_SCALAR || d->kh != 5 || d->kw != 5 || d->pad_left != 2 || lanes > 2 * vl ||
        !pcnn_dw_s2_geometry(d, PCNN_PASS_BWD_DATA, vl)) {
        return 0;
    }
    for (int64_t i = 0; i < d->c * d->kh * d->kw; i++) {
        if (!isfinite(w[i])) return 0;
    }
    return 1;
}

static int check_s2k5(const pcnn_conv2d_desc *d, const float *w, int64_t before, const char *label) {
    const int64_t got = s2k5_runs() - before, want = s2k5_expected(d, w);
    CHECK(got == want, "%s bwd_data: 5x5 stride-2 constant-size planes ran %lld times, expected %lld", label,
          (long long)got, (long long)want);
    g_s2k5_cases += got;
    return got > 0;
}

static int check_s2(const pcnn_conv2d_desc *d, int32_t pass, const float *w, int64_t before, const char *what,
                    const char *label) {
    const int64_t got = s2_runs() - before, want = s2_expected(d, pass, w);
    CHECK(got == want, "%s %s: stride-2 row engine ran %lld times, expected %lld", label, what, (long long)got,
          (long long)want);
    g_s2_cases += got;
    return got > 0;
}

/* same bits, or both NaN */
static int same(float a, float b) {
    return bits_of(a) == bits_of(b) || (isnan(a) && isnan(b));
}

static int same_arr(const float *a, const float *b, int64_t n, int64_t *where) {
    for (int64_t i = 0; i < n; i++) {
        if (!same(a[i], b[i])) {
            *where = i;
            return 0;
        }
    }
    return 1;
}

static int depthwise_expected(const pcnn_conv2d_desc *d, int32_t pass) {
    return g_level != PCNN_ISA_SCALAR && pcnn_depthwise_supports(d, pass);
}

static void check_served(const pcnn_conv2d_desc *d, int32_t pass, const char *what) {
    const int want_dw = depthwise_expected(d, pass);
    const int32_t a = pcnn_last_algorithm(), isa = pcnn_last_isa();
    CHECK(want_dw ? (a == PCNN_ALGO_DEPTHWISE && isa == g_level)
                  : (a == PCNN_ALGO_DEPTHWISE && isa == PCNN_ISA_SCALAR),
          "%s c=%lld %lldx%lld k%lldx%lld s%lld: served by %s/%s, expected %s", what, (long long)d->c,
          (long long)d->ih, (long long)d->iw, (long long)d->kh, (long long)d->kw,
          (long long)d->stride_w, pcnn_algorithm_name(a), pcnn_isa_name(isa),
          want_dw ? pcnn_isa_name(g_level) : "scalar");
}

/* Runs all three passes through the API (AUTO) and the scalar kernel and compares. */
static void run_case(pcnn_conv2d_desc d, int ints, const char *label) {
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
        CHECK(0, "%s: desc rejected", label);
        return;
    }
    conv_bufs x = conv_bufs_alloc(&d), r = conv_bufs_alloc(&d);
    const int64_t ns = conv_src_count(&d), nd = conv_dst_count(&d), nw = conv_w_count(&d);
    if (ints) {
        fill_ints(x.src, ns, -4, 4), fill_ints(x.w, nw, -3, 3), fill_ints(x.b, d.oc, -8, 8);
        fill_ints(x.dd, nd, -4, 4);
    } else {
        for (int64_t i = 0; i < ns; i++) x.src[i] = rng_unit();
        for (int64_t i = 0; i < nw; i++) x.w[i] = rng_unit();
        for (int64_t i = 0; i < d.oc; i++) x.b[i] = rng_unit();
        for (int64_t i = 0; i < nd; i++) x.dd[i] = rng_unit();
    }
    /* non-finite probes next to the padding: first and last element of a plane */
    if (ints == 2) {
        x.w[0] = INFINITY, x.src[ns - 1] = NAN, x.dd[0] = -INFINITY;
    }
    /* ints == 3: the same probes inside later channel blocks (the lanes engine hands a block with
     * a non-finite weight, and a backward-weights channel with a non-finite sum, to the plane engine) */
    if (ints == 3) {
        const int64_t kk = d.kh * d.kw, ip = d.ih * d.iw, op = d.oh * d.ow;
        x.w[(d.c - 3) * kk + kk - 1] = -INFINITY;                /* a late channel's last tap */
        x.src[(d.c / 2) * ip] = INFINITY;                          /* a middle channel's first pixel */
        x.src[((d.n - 1) * d.c + d.c - 1) * ip + ip - 1] = NAN;    /* last channel, last pixel */
        x.dd[(d.c - 2) * op] = -INFINITY;                          /* next to the padding */
        x.dd[(d.c / 3) * op + op - 1] = INFINITY;
    }
    /* ints == 4: non-finite data with finite weights (the stride-2 row engine keeps forward and
     * backward-data; its backward-weights channels with non-finite sums go to the plane engine) */
    if (ints == 4) {
        const int64_t ip = d.ih * d.iw, op = d.oh * d.ow;
        x.src[0] = INFINITY, x.src[ip - 1] = NAN, x.src[(d.n * d.c - 1) * ip + d.iw - 1] = -INFINITY;
        x.dd[0] = -INFINITY, x.dd[(d.n * d.c - 1) * op + op - 1] = INFINITY;
    }
    int64_t at;
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_DEPTHWISE), PCNN_STATUS_OK);
    for (int threads = 1; threads <= 3; threads += 2) {
        CHECK_STATUS(pcnn_set_num_threads(threads), PCNN_STATUS_OK);
        prefill_nan(x.dst, nd), prefill_nan(r.dst, nd);
        int64_t before = lanes_runs(), shifted = shift_planes(), before2 = s2_runs(), before4 = rows_runs(),
                before5 = s2fwd_runs();
        CHECK_STATUS(pcnn_conv2d_fwd(&d, x.src, x.w, x.b, x.dst), PCNN_STATUS_OK);
        int rows_took = check_rows(&d, PCNN_PASS_FWD, x.w, before4, "fwd", label);
        if (threads == 1) check_shift(&d, shifted, "fwd", label, rows_took);
        check_served(&d, PCNN_PASS_FWD, "fwd");
        check_lanes(&d, PCNN_PASS_FWD, before, "fwd", label,
                    check_s2fwd(&d, x.w, before5, label) || check_s2(&d, PCNN_PASS_FWD, x.w, before2, "fwd", label) ||
                        rows_took);
        CHECK_STATUS(pcnn_conv2d_fwd__scalar(&d, x.src, x.w, x.b, r.dst), PCNN_STATUS_OK);
        if (ints) CHECK(same_arr(x.dst, r.dst, nd, &at), "%s fwd t%d: [%lld] %g vs scalar %g", label, threads, (long long)at, x.dst[at], r.dst[at]);

        prefill_nan(x.ds, ns), prefill_nan(r.ds, ns);
        before = lanes_runs(), shifted = shift_planes(), before2 = s2_runs(), before4 = rows_runs();
        const int64_t before7 = s2k5_runs();
        CHECK_STATUS(pcnn_conv2d_bwd_data(&d, x.dd, x.w, x.ds), PCNN_STATUS_OK);
        const int s2k5_took = check_s2k5(&d, x.w, before7, label);
        rows_took = check_rows(&d, PCNN_PASS_BWD_DATA, x.w, before4, "bwd_data", label);
        if (threads == 1) check_shift(&d, shifted, "bwd_data", label, rows_took);
        check_served(&d, PCNN_PASS_BWD_DATA, "bwd_data");
        check_lanes(&d, PCNN_PASS_BWD_DATA, before, "bwd_data", label,
                    check_s2(&d, PCNN_PASS_BWD_DATA, x.w, before2, "bwd_data", label) || rows_took || s2k5_took);
        CHECK_STATUS(pcnn_conv2d_bwd_data__scalar(&d, x.dd, x.w, r.ds), PCNN_STATUS_OK);
        if (ints) CHECK(same_arr(x.ds, r.ds, ns, &at), "%s bwd_data t%d: [%lld] %g vs scalar %g", label, threads, (long long)at, x.ds[at], r.ds[at]);

        prefill_nan(x.dw, nw), prefill_nan(r.dw, nw), prefill_nan(x.db, d.oc), prefill_nan(r.db, d.oc);
        before = lanes_runs(), before2 = s2_runs();
        const int64_t before3 = wsum3_runs(), before6 = wsum2_runs();
        CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, x.src, x.dd, x.dw, x.db), PCNN_STATUS_OK);
        check_served(&d, PCNN_PASS_BWD_WEIGHTS, "bwd_weights");
        const int wsum3_took = check_wsum3(&d, before3, label);
        const int wsum2_took = check_wsum2(&d, before6, label);
        check_lanes(&d, PCNN_PASS_BWD_WEIGHTS, before, "bwd_weights", label,
                    wsum3_took || wsum2_took || check_s2(&d, PCNN_PASS_BWD_WEIGHTS, x.w, before2, "bwd_weights", label));
        CHECK_STATUS(pcnn_conv2d_bwd_weights__scalar(&d, x.src, x.dd, r.dw, r.db), PCNN_STATUS_OK);
        if (ints) {
            CHECK(same_arr(x.dw, r.dw, nw, &at), "%s bwd_w t%d: [%lld] %g vs scalar %g", label, threads, (long long)at, x.dw[at], r.dw[at]);
            CHECK(same_arr(x.db, r.db, d.oc, &at), "%s bwd_b t%d: [%lld] %g vs scalar %g", label, threads, (long long)at, x.db[at], r.db[at]);
        }
        if (threads == 1) { /* keep the 1-thread results for the thread-count comparison */
            memcpy(r.dst, x.dst, (size_t)nd * sizeof(float));
            memcpy(r.ds, x.ds, (size_t)ns * sizeof(float));
            memcpy(r.dw, x.dw, (size_t)nw * sizeof(float));
            memcpy(r.db, x.db, (size_t)d.oc * sizeof(float));
            /* r.* now hold 1-thread results; the next iteration recomputes scalar into r first,
             * so compare here against a second 3-thread run instead */
            for (int tn = 2; tn <= 3; tn++) {
                float *t_dst = gbuf_f(nd), *t_ds = gbuf_f(ns), *t_dw = gbuf_f(nw), *t_db = gbuf_f(d.oc);
                CHECK_STATUS(pcnn_set_num_threads(tn), PCNN_STATUS_OK);
                CHECK_STATUS(pcnn_conv2d_fwd(&d, x.src, x.w, x.b, t_dst), PCNN_STATUS_OK);
                CHECK_STATUS(pcnn_conv2d_bwd_data(&d, x.dd, x.w, t_ds), PCNN_STATUS_OK);
                CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, x.src, x.dd, t_dw, t_db), PCNN_STATUS_OK);
                CHECK(memcmp(t_dst, r.dst, (size_t)nd * 4) == 0 && memcmp(t_ds, r.ds, (size_t)ns * 4) == 0 &&
                          memcmp(t_dw, r.dw, (size_t)nw * 4) == 0 && memcmp(t_db, r.db, (size_t)d.oc * 4) == 0,
                      "%s: 1 and %d threads differ", label, tn);
                CHECK(guard_ok(t_dst, nd) && guard_ok(t_ds, ns) && guard_ok(t_dw, nw) && guard_ok(t_db, d.oc),
                      "%s: guard (%d threads)", label, tn);
                free(t_dst), free(t_ds), free(t_dw), free(t_db);
            }
        }
    }
    CHECK(guard_ok(x.dst, nd) && guard_ok(x.ds, ns) && guard_ok(x.dw, nw) && guard_ok(x.db, d.oc) &&
              guard_ok(x.src, ns) && guard_ok(x.dd, nd) && guard_ok(x.w, nw),
          "%s: guard", label);
    /* AUTO: depthwise wherever the vector kernels take the shape, else direct */
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, x.src, x.w, x.b, x.dst), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() == (depthwise_expected(&d, PCNN_PASS_FWD) ? PCNN_ALGO_DEPTHWISE : PCNN_ALGO_DIRECT),
          "%s AUTO fwd served by %s", label, pcnn_algorithm_name(pcnn_last_algorithm()));
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, x.dd, x.w, x.ds), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() == (depthwise_expected(&d, PCNN_PASS_BWD_DATA) ? PCNN_ALGO_DEPTHWISE : PCNN_ALGO_DIRECT),
          "%s AUTO bwd_data served by %s", label, pcnn_algorithm_name(pcnn_last_algorithm()));
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, x.src, x.dd, x.dw, x.db), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() ==
              (depthwise_expected(&d, PCNN_PASS_BWD_WEIGHTS) ? PCNN_ALGO_DEPTHWISE : PCNN_ALGO_DIRECT),
          "%s AUTO bwd_weights served by %s", label, pcnn_algorithm_name(pcnn_last_algorithm()));
    CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK);
    conv_bufs_free(&x), conv_bufs_free(&r);
}

/* dw(n, c, h, w, k, stride, pad t/b/l/r, dilation) */
static pcnn_conv2d_desc dw(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                           int64_t s, int64_t pt, int64_t pb, int64_t pl, int64_t pr, int64_t dil) {
    return conv_desc(n, c, h, w, c, kh, kw, s, s, pt, pb, pl, pr, dil, dil, c);
}

/* Explicit DEPTHWISE requests at every level: that level's kernels or the scalar reference. */
static void explicit_requests(void) {
    pcnn_conv2d_desc d = dw(2, 5, 9, 19, 3, 3, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    conv_bufs x = conv_bufs_alloc(&d);
    fill_ints(x.src, conv_src_count(&d), -4, 4), fill_ints(x.w, conv_w_count(&d), -3, 3);
    fill_ints(x.b, d.oc, -3, 3);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_DEPTHWISE), PCNN_STATUS_OK);
    CHECK(strcmp(pcnn_algorithm_name(PCNN_ALGO_DEPTHWISE), "depthwise") == 0, "name");
    for (int32_t isa = pcnn_isa_detected(); isa >= PCNN_ISA_SCALAR; isa--) {
        CHECK_STATUS(pcnn_set_max_isa(isa), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_conv2d_fwd(&d, x.src, x.w, x.b, x.dst), PCNN_STATUS_OK);
#if defined(__x86_64__) || defined(_M_X64)
        const int32_t want_isa = isa; /* AVX-512, AVX2 and scalar each have a depthwise entry */
#else
        const int32_t want_isa = PCNN_ISA_SCALAR; /* no vector depthwise kernel on this architecture */
#endif
        CHECK(pcnn_last_algorithm() == PCNN_ALGO_DEPTHWISE && pcnn_last_isa() == want_isa,
              "request at %s served by %s/%s", pcnn_isa_name(isa), pcnn_algorithm_name(pcnn_last_algorithm()),
              pcnn_isa_name(pcnn_last_isa()));
    }
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);
    /* not depthwise: the request cannot take it */
    pcnn_conv2d_desc g = conv_desc(1, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&g), PCNN_STATUS_OK);
    conv_bufs y = conv_bufs_alloc(&g);
    fill_ints(y.src, conv_src_count(&g), -4, 4), fill_ints(y.w, conv_w_count(&g), -3, 3);
    CHECK_STATUS(pcnn_conv2d_fwd(&g, y.src, y.w, NULL, y.dst), PCNN_STATUS_UNSUPPORTED);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(&g, y.src, y.w, NULL, y.dst), PCNN_STATUS_OK);
    CHECK(pcnn_last_algorithm() == PCNN_ALGO_DIRECT, "dense AUTO served by %s", pcnn_algorithm_name(pcnn_last_algorithm()));
    conv_bufs_free(&x), conv_bufs_free(&y);
}

/* Every case at one level (all-vector cases run at each vector level the CPU has). */
static void run_all_cases(void) {
    char label[96];
    /* width tails 1..33 x stride 1/2, channels sweep */
    for (int64_t w = 1; w <= 33; w++) {
        for (int64_t s = 1; s <= 2; s++) {
            snprintf(label, sizeof label, "w%lld s%lld", (long long)w, (long long)s);
            run_case(dw(2, 3, 5, w, 3, 3, s, 1, 1, 1, 1, 1), 1, label);
        }
    }
    for (int64_t c = 1; c <= 17; c++) {
        snprintf(label, sizeof label, "c%lld", (long long)c);
        run_case(dw(1, c, 7, 17, 3, 3, 1 + (c & 1), 1, 1, 1, 1, 1), 1, label);
    }
    run_case(dw(3, 8, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1), 1, "mobilenet 28");
    run_case(dw(2, 6, 29, 31, 3, 3, 2, 1, 1, 1, 1, 1), 1, "s2 odd");
    run_case(dw(2, 5, 13, 40, 3, 3, 1, 0, 2, 2, 0, 1), 1, "asym pad");
    run_case(dw(2, 4, 11, 37, 3, 3, 2, 2, 0, 0, 1, 1), 1, "asym pad s2");
    run_case(dw(2, 4, 14, 35, 5, 5, 1, 2, 2, 2, 2, 1), 1, "5x5");
    run_case(dw(1, 3, 20, 70, 5, 5, 2, 2, 1, 2, 3, 1), 1, "5x5 s2");
    run_case(dw(2, 3, 15, 45, 3, 3, 1, 2, 2, 2, 2, 2), 1, "dilation 2");
    run_case(dw(1, 3, 19, 50, 3, 3, 2, 3, 3, 3, 3, 3), 1, "dilation 3 s2");
    run_case(dw(1, 3, 9, 26, 7, 1, 1, 3, 3, 0, 0, 1), 1, "7x1");
    run_case(dw(1, 3, 9, 26, 1, 7, 1, 0, 0, 3, 3, 1), 1, "1x7");
    run_case(dw(1, 2, 9, 20, 7, 7, 1, 3, 3, 3, 3, 1), 1, "7x7");
    run_case(dw(2, 3, 8, 9, 3, 3, 3, 1, 1, 1, 1, 1), 1, "stride 3 (scalar reference)");
    run_case(dw(1, 2, 12, 12, 9, 9, 1, 4, 4, 4, 4, 1), 1, "9x9 (scalar reference)");
    run_case(dw(1, 3, 4, 3, 3, 3, 1, 5, 5, 6, 6, 1), 1, "pad > input");
    /* chunk boundaries (64 / 32 columns per chunk) and mixed strides (each axis on its own) */
    for (int64_t w = 63; w <= 66; w++) {
        snprintf(label, sizeof label, "wide w%lld", (long long)w);
        run_case(dw(1, 2, 6, w, 3, 3, 1 + (w & 1), 1, 1, 1, 1, 1), 1, label);
    }
    run_case(dw(1, 2, 5, 131, 3, 3, 2, 1, 1, 1, 1, 1), 1, "wide 131 s2");
    run_case(conv_desc(2, 3, 9, 23, 3, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 3), 1, "stride h1 w2");
    run_case(conv_desc(2, 3, 12, 21, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 3), 1, "stride h2 w1");
    run_case(conv_desc(1, 17, 10, 15, 17, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 17), 1, "c17 pad 0 s2");
    run_case(conv_desc(1, 5, 9, 14, 5, 4, 4, 2, 2, 1, 2, 2, 1, 1, 1, 5), 1, "even kernel 4x4 s2");
    for (int i = 0; i < 60; i++) {
        const int64_t k = rng_int(1, 5), s = rng_int(1, 2), dil = rng_int(1, 2);
        const int64_t ext = dil * (k - 1) + 1;
        const int64_t h = rng_int(ext > 1 ? ext - 1 : 1, 20), w = rng_int(1, 70);
        const int64_t pt = rng_int(0, k - 1), pb = rng_int(0, k - 1), pl = rng_int(0, k), pr = rng_int(0, k);
        pcnn_conv2d_desc d = dw(rng_int(1, 3), rng_int(1, 9), h, w, k, rng_int(1, 5), s, pt, pb, pl, pr, dil);
        pcnn_conv2d_desc probe = d;
        if (pcnn_conv2d_desc_init(&probe) != PCNN_STATUS_OK) continue;
        snprintf(label, sizeof label, "random %d", i);
        run_case(d, 1, label);
    }
    /* non-finite values next to padding: the scalar kernel's result (ints == 2 plants them) */
    run_case(dw(2, 3, 6, 21, 3, 3, 1, 1, 1, 1, 1, 1), 2, "nonfinite s1");
    run_case(dw(2, 3, 7, 21, 3, 3, 2, 1, 1, 1, 1, 1), 2, "nonfinite s2");
    run_case(dw(1, 2, 8, 40, 5, 5, 1, 2, 2, 2, 2, 1), 2, "nonfinite 5x5");
    /* channel counts around both vector lengths (channel-block tails), odd planes 1..30, strides
     * 1..3, dilation 1..2, padding 0..3 (also >= the kernel), kernels 1x1, 3x3, 5x5, 3x5 */
    static const int64_t cs[] = {1, 7, 15, 16, 17, 33, 40};
    static const int64_t ks[][2] = {{1, 1}, {3, 3}, {5, 5}, {3, 5}};
    for (int ci = 0; ci < 7; ci++) {
        for (int ki = 0; ki < 4; ki++) {
            for (int64_t s = 1; s <= 3; s++) {
                const int64_t dil = 1 + ((ci + ki + s) & 1), kh = ks[ki][0], kw = ks[ki][1];
                const int64_t pt = rng_int(0, 3), pb = rng_int(0, 3), pl = rng_int(0, 3), pr = rng_int(0, 3);
                const int64_t h = rng_int(1, 30), w = rng_int(1, 30);
                pcnn_conv2d_desc d = conv_desc(rng_int(1, 2), cs[ci], h, w, cs[ci], kh, kw, s, s, pt, pb, pl, pr,
                                               dil, dil, cs[ci]);
                pcnn_conv2d_desc probe = d;
                if (pcnn_conv2d_desc_init(&probe) != PCNN_STATUS_OK) continue; /* kernel beyond the padded input */
                snprintf(label, sizeof label, "lanes c%lld k%lldx%lld s%lld d%lld %lldx%lld p%lld%lld%lld%lld",
                         (long long)cs[ci], (long long)kh, (long long)kw, (long long)s, (long long)dil, (long long)h,
                         (long long)w, (long long)pt, (long long)pb, (long long)pl, (long long)pr);
                run_case(d, 1, label);
            }
        }
    }
    run_case(dw(2, 40, 12, 13, 3, 3, 1, 1, 1, 1, 1, 1), 3, "nonfinite blocks s1");
    run_case(dw(2, 33, 11, 14, 3, 3, 2, 1, 1, 1, 1, 1), 3, "nonfinite blocks s2");
    run_case(dw(1, 17, 9, 10, 5, 5, 2, 3, 2, 1, 3, 1), 3, "nonfinite blocks 5x5 s2");
    run_case(dw(8, 32, 28, 28, 3, 3, 2, 1, 1, 1, 1, 1), 1, "dw3x3_s2 class");
    /* stride-2 5x5 pad 2 backward-data with constant sizes (depthwise-s2k5-simd.h): one / two blocks,
     * non-finite weights (declined) and data (served) */
    run_case(dw(2, 21, 28, 28, 5, 5, 2, 2, 2, 2, 2, 1), 1, "s2k5 28x28");
    run_case(dw(1, 3, 56, 56, 5, 5, 2, 2, 2, 2, 2, 1), 1, "s2k5 56x56");
    run_case(dw(2, 7, 13, 31, 5, 5, 2, 2, 1, 2, 1, 1), 3, "s2k5 nonfinite weights");
    run_case(dw(3, 5, 27, 61, 5, 5, 2, 2, 2, 2, 2, 1), 4, "s2k5 nonfinite data two vectors");
    /* the backward-weights sums in channel blocks (wsum2: 16 channels per task for 3x3, 8 for
     * 5x5; wsum3: 16): full blocks and a short last one, N > 1, non-finite data inside blocks */
    /* the stride-2 forward's tasks of 16 consecutive planes (depthwise-s2fwd-simd.h): 15, 16, 17,
     * 33 and 35 planes, channels wrapping inside a task, a short last task, every shape class */
    run_case(dw(5, 7, 28, 28, 3, 3, 2, 1, 1, 1, 1, 1), 1, "s2fwd tasks 5x7 planes 28x28");
    run_case(dw(5, 7, 28, 28, 3, 3, 2, 1, 1, 1, 1, 1), 4, "s2fwd tasks 5x7 planes nonfinite data");
    run_case(dw(1, 17, 9, 20, 3, 3, 2, 0, 1, 0, 1, 1), 1, "s2fwd tasks 17 planes pad 0");
    run_case(dw(3, 11, 7, 45, 3, 3, 2, 1, 0, 1, 0, 1), 1, "s2fwd tasks 33 planes two vectors");
    run_case(dw(1, 16, 6, 40, 3, 3, 2, 0, 0, 0, 0, 1), 1, "s2fwd tasks 16 planes two vectors pad 0");
    run_case(dw(1, 15, 11, 14, 3, 3, 2, 1, 1, 1, 1, 1), 1, "s2fwd tasks 15 planes");
    run_case(dw(3, 11, 13, 27, 5, 5, 2, 2, 2, 2, 2, 1), 1, "s2fwd tasks 33 planes 5x5");
    run_case(dw(3, 137, 9, 28, 3, 3, 2, 1, 1, 1, 1, 1), 1, "blocks s2 3x3 c137");
    run_case(dw(3, 137, 9, 28, 3, 3, 2, 1, 1, 1, 1, 1), 3, "blocks s2 3x3 c137 nonfinite");
    run_case(dw(2, 129, 6, 13, 3, 3, 2, 0, 1, 0, 1, 1), 1, "blocks s2 3x3 c129 pad 0");
    run_case(dw(2, 70, 10, 29, 5, 5, 2, 2, 1, 1, 2, 1), 3, "blocks s2 5x5 c70 nonfinite");
    run_case(dw(2, 45, 9, 61, 5, 5, 2, 2, 2, 2, 2, 1), 1, "blocks s2 5x5 c45 two vectors");
    run_case(dw(3, 131, 11, 30, 3, 3, 1, 1, 1, 1, 1, 1), 1, "blocks s1 3x3 c131");
    run_case(dw(3, 131, 11, 30, 3, 3, 1, 1, 1, 1, 1, 1), 3, "blocks s1 3x3 c131 nonfinite");
    run_case(dw(2, 150, 7, 17, 3, 3, 1, 2, 0, 2, 0, 1), 1, "blocks s1 3x3 c150 pad 2/0");
    run_case(dw(2, 19, 9, 9, 3, 3, 1, 0, 0, 0, 0, 1), 3, "blocks s1 3x3 c19 pad 0 nonfinite");
    /* the stride-2 row engine: width tails around both vector lengths and its lane limit (64
     * lanes: iw 127..130), odd and even heights, pads 0 / 1 (and 2 for 5x5) on each side, 3x3 and
     * 5x5 (5x5 with pad_left 0 is beyond its shifts: the other engines), N 1..3, C not a multiple
     * of 16 */
    static const int64_t s2w[] = {1, 2, 3, 4, 5, 15, 16, 17, 27, 28, 29, 31, 32, 33, 63, 64, 65, 127, 128, 129, 130};
    for (int wi = 0; wi < (int)(sizeof s2w / sizeof s2w[0]); wi++) {
        for (int64_t k = 3; k <= 5; k += 2) {
            for (int64_t p = 0; p < (k == 3 ? 4 : 6); p++) {
                const int64_t pl = k == 3 ? (p & 1) : p % 3, pt = k == 3 ? (p >> 1) : p / 3 + 1;
                const int64_t pr = (wi + p) % (k == 3 ? 2 : 3), pb = (wi + p + 1) % 2 + (k == 5);
                const int64_t h = 2 * k - 1 + (wi % 4) + (p & 1) * 4; /* odd and even heights */
                pcnn_conv2d_desc d = dw(1 + (wi + p) % 3, 1 + (wi * 7 + p * 3) % 19, h, s2w[wi], k, k, 2, pt, pb, pl, pr, 1);
                pcnn_conv2d_desc probe = d;
                if (pcnn_conv2d_desc_init(&probe) != PCNN_STATUS_OK) continue;
                snprintf(label, sizeof label, "s2 rows k%lld %lldx%lld p%lld%lld%lld%lld n%lld c%lld", (long long)k,
                         (long long)h, (long long)s2w[wi], (long long)pt, (long long)pb, (long long)pl, (long long)pr,
                         (long long)d.n, (long long)d.c);
                run_case(d, 1, label);
            }
        }
    }
    run_case(dw(2, 5, 1, 1, 1, 1, 2, 0, 0, 0, 0, 1), 1, "s2 rows 1x1 plane, 1x1 kernel");
    run_case(dw(1, 3, 2, 9, 2, 2, 2, 0, 1, 1, 0, 1), 1, "s2 rows 2x2 kernel");
    run_case(conv_desc(2, 3, 9, 17, 3, 1, 5, 2, 2, 0, 2, 2, 1, 1, 1, 3), 1, "s2 rows 1x5");
    run_case(conv_desc(2, 3, 12, 11, 3, 5, 1, 2, 2, 2, 1, 0, 0, 1, 1, 3), 1, "s2 rows 5x1");
    /* tall planes beyond the lanes engine's frame (1 MiB at 8 and 16 lanes): backward-weights too */
    run_case(dw(2, 3, 233, 127, 3, 3, 2, 1, 1, 1, 1, 1), 1, "s2 rows tall 3x3");
    run_case(dw(1, 2, 240, 120, 5, 5, 2, 2, 1, 1, 2, 1), 1, "s2 rows tall 5x5");
    run_case(dw(1, 3, 231, 128, 3, 3, 2, 0, 1, 0, 1, 1), 4, "s2 rows tall nonfinite data");
    run_case(dw(2, 3, 9, 28, 3, 3, 2, 1, 1, 1, 1, 1), 4, "s2 rows nonfinite data");
    run_case(dw(2, 3, 10, 29, 5, 5, 2, 2, 1, 1, 2, 1), 4, "s2 rows nonfinite data 5x5");
    run_case(dw(1, 18, 9, 31, 3, 3, 2, 0, 1, 0, 1, 1), 3, "s2 rows nonfinite blocks pad 0");
    /* random floats: served as expected, 1 vs 3 threads identical (accuracy: the Java cross-check) */
    run_case(dw(2, 7, 15, 23, 3, 3, 1, 1, 1, 1, 1, 1), 0, "floats");
    /* shifted columns (AVX-512, stride 1, 3x3): widths around the vector and the 4-vector chunk,
     * padding 0 / 1 / 2 and asymmetric (the neighbour vectors each side of a chunk, output
     * tails narrower or wider than the input), N 1..3, channels not a multiple of 16, Inf / NaN */
    static const int64_t sw[] = {1, 2, 15, 16, 17, 28, 31, 33, 47, 63, 64, 65, 66, 79, 80, 97, 113};
    for (int wi = 0; wi < (int)(sizeof sw / sizeof sw[0]); wi++) {
        for (int64_t p = 0; p <= 2; p++) {
            pcnn_conv2d_desc d = dw(1 + (wi + p) % 3, 3 + wi % 5, 3 + p + wi % 4, sw[wi], 3, 3, 1, p, p, p, p, 1);
            pcnn_conv2d_desc probe = d;
            if (pcnn_conv2d_desc_init(&probe) != PCNN_STATUS_OK) continue; /* 3x3 wider than 1..2 columns */
            /* ints 1: the rows engine; 2 (an Inf weight): the plane engine's shifted columns */
            for (int ints = 1; ints <= 2; ints++) {
                snprintf(label, sizeof label, "shift w%lld p%lld i%d", (long long)sw[wi], (long long)p, ints);
                run_case(d, ints, label);
            }
        }
        for (int ints = 1; ints <= 2; ints++) {
            snprintf(label, sizeof label, "shift w%lld asym i%d", (long long)sw[wi], ints);
            run_case(dw(2, 5, 6, sw[wi], 3, 3, 1, 2, 0, 0, 2, 1), ints, label);
            snprintf(label, sizeof label, "shift w%lld asym2 i%d", (long long)sw[wi], ints);
            run_case(dw(1, 3, 5, sw[wi], 3, 3, 1, 0, 1, 2, 1, 1), ints, label);
        }
    }
    /* the stride-1 rows engine: widths around 1, 2, 3 and 4 vectors (and past its limit), 3x3 pads
     * 0..2 each side (asymmetric, and pads beyond the kernel: negative backward-data pads), 5x5 pads
     * 2 and the ones it declines, heights below / around the kernel, N 1..3, Inf / NaN data */
    static const int64_t rw[] = {1, 2, 3, 7, 14, 15, 16, 17, 28, 31, 32, 33, 47, 48, 49, 56, 63, 64, 65, 66, 79, 80, 81, 95, 96, 97, 112, 130};
    for (int wi = 0; wi < (int)(sizeof rw / sizeof rw[0]); wi++) {
        for (int64_t k = 3; k <= 5; k += 2) {
            for (int64_t p = 0; p < 6; p++) {
                const int64_t pl = k == 3 ? p % 3 : 2 - (p == 5) - (p == 4), pr = (wi + p) % 3;
                const int64_t pt = (p + wi) % 3 + (p == 3 && k == 3), pb = (p * 2 + wi) % 3;
                const int64_t h = 1 + (wi + p) % 7 + (k == 5) * 2;
                pcnn_conv2d_desc d = dw(1 + (wi + p) % 3, 1 + (wi * 5 + p) % 7, h, rw[wi], k, k, 1, pt, pb, pl, pr, 1);
                pcnn_conv2d_desc probe = d;
                if (pcnn_conv2d_desc_init(&probe) != PCNN_STATUS_OK) continue;
                snprintf(label, sizeof label, "rows k%lld %lldx%lld p%lld%lld%lld%lld", (long long)k, (long long)h,
                         (long long)rw[wi], (long long)pt, (long long)pb, (long long)pl, (long long)pr);
                run_case(d, 1 + (p == 1) * 3 + (p == 4) * 3 + (p == 2 && wi % 2) * 1, label);
            }
        }
    }
    run_case(dw(2, 5, 28, 28, 5, 5, 1, 2, 2, 2, 2, 1), 1, "rows dw5x5 class");
    /* two planes per vector (rows up to 8 - shift wide), odd and even plane counts */
    run_case(dw(3, 5, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1), 1, "rows pairs 9x7 odd planes");
    run_case(dw(2, 8, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1), 4, "rows pairs 5x7 nonfinite data");
    /* 7x7 "same" planes: the flat path */
    run_case(dw(3, 5, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1), 1, "rows flat 7x7 3x3");
    run_case(dw(2, 8, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1), 4, "rows flat 7x7 3x3 nonfinite data");
    run_case(dw(2, 3, 7, 7, 5, 5, 1, 2, 2, 2, 2, 1), 1, "rows flat 7x7 5x5");
    run_case(dw(1, 4, 7, 7, 5, 5, 1, 2, 2, 2, 2, 1), 4, "rows flat 7x7 5x5 nonfinite data");
    run_case(dw(1, 4, 7, 7, 5, 5, 1, 2, 2, 2, 2, 1), 2, "rows flat 7x7 5x5 inf weight");
    run_case(dw(2, 3, 6, 6, 5, 5, 1, 2, 2, 2, 2, 1), 1, "rows pairs 5x5 6x6");
    run_case(dw(1, 7, 5, 6, 3, 3, 1, 0, 2, 2, 0, 1), 1, "rows pairs pad 2/0");
    run_case(dw(1, 6, 4, 8, 3, 3, 1, 1, 1, 0, 2, 1), 1, "rows pairs 8 wide pad 0");
    run_case(dw(1, 3, 13, 112, 3, 3, 1, 1, 1, 1, 1, 1), 4, "rows 3x3 chunks nonfinite data");
    run_case(dw(1, 3, 9, 83, 5, 5, 1, 2, 2, 2, 2, 1), 4, "rows 5x5 chunks nonfinite data");
    run_case(dw(2, 5, 14, 14, 5, 5, 1, 2, 2, 2, 2, 1), 2, "rows 5x5 nonfinite");
    run_case(dw(2, 19, 9, 33, 5, 5, 1, 2, 2, 2, 2, 1), 3, "rows 5x5 nonfinite blocks");
    run_case(dw(2, 4, 7, 40, 3, 3, 1, 3, 4, 1, 0, 1), 1, "rows 3x3 pads beyond the kernel");
    run_case(dw(2, 7, 15, 23, 5, 5, 1, 2, 2, 2, 2, 1), 0, "rows floats 5x5");
    run_case(dw(3, 19, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1), 2, "shift nonfinite 28");
    run_case(dw(2, 17, 9, 65, 3, 3, 1, 1, 1, 1, 1, 1), 3, "shift nonfinite blocks 65");
}

int main(void) {
    rng_seed(20261204);
    int32_t levels[2], nlevels = 0;
#if defined(__x86_64__) || defined(_M_X64)
    /* PANAMACNN_MAX_ISA may cap the active level */
    if (pcnn_isa_active() >= PCNN_ISA_AVX512) levels[nlevels++] = PCNN_ISA_AVX512;
    if (pcnn_isa_active() >= PCNN_ISA_AVX2) levels[nlevels++] = PCNN_ISA_AVX2;
#endif
    /* other architectures (NEON = 3 > AVX512 = 2) have no vector depthwise kernel */
    if (nlevels == 0) levels[nlevels++] = PCNN_ISA_SCALAR;
    const int32_t active = pcnn_isa_active();
    for (int i = 0; i < nlevels; i++) {
        g_level = levels[i];
        printf("depthwise kernels at level %s\n", g_level == PCNN_ISA_SCALAR ? "none (scalar reference only)" : pcnn_isa_name(g_level));
        if (g_level != PCNN_ISA_SCALAR) CHECK_STATUS(pcnn_set_max_isa(g_level), PCNN_STATUS_OK);
        g_lanes_cases = 0, g_shift_cases = 0, g_s2_cases = 0, g_wsum3_cases = 0, g_rows_cases = 0, g_wsum2_cases = 0;
        g_s2k5_cases = 0;
        g_s2fwd_cases = 0;
        run_all_cases();
        if (g_level == PCNN_ISA_AVX512) CHECK(g_rows_cases > 300, "stride-1 rows engine served only %lld calls", (long long)g_rows_cases);
        if (g_level != PCNN_ISA_SCALAR) CHECK(g_s2fwd_cases > 50, "3x3 stride-2 register rows served only %lld calls", (long long)g_s2fwd_cases);
        if (g_level != PCNN_ISA_SCALAR) CHECK(g_wsum2_cases > 50, "stride-2 split-row sums served only %lld calls", (long long)g_wsum2_cases);
        if (g_level != PCNN_ISA_SCALAR) CHECK(g_s2k5_cases > 20, "5x5 stride-2 constant-size planes served only %lld calls", (long long)g_s2k5_cases);
        if (g_level == PCNN_ISA_AVX512) CHECK(g_wsum3_cases > 50, "3x3 stride-1 sums served only %lld calls", (long long)g_wsum3_cases);
        if (g_level == PCNN_ISA_AVX512) CHECK(g_shift_cases > 100, "shifted columns served only %lld calls", (long long)g_shift_cases);
        if (g_level != PCNN_ISA_SCALAR) CHECK(g_s2_cases > 300, "stride-2 row engine served only %lld calls", (long long)g_s2_cases);
        /* the sweep must have reached the lanes engine (the per-call checks say where) */
        if (g_level != PCNN_ISA_SCALAR) CHECK(g_lanes_cases > 100, "lanes engine served only %lld calls", (long long)g_lanes_cases);
    }
    CHECK_STATUS(pcnn_set_max_isa(active), PCNN_STATUS_OK);
    explicit_requests();
    return test_finish("conv2d_depthwise");
}
