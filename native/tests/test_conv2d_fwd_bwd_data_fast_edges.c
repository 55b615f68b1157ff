/*
 * conv2d forward / backward-data, the pointwise paths and the edge cases
 * (test_conv2d_fwd_bwd_data_fast.h says how each shape is checked): flattened 1x1 panels,
 * pointwise tiles across images and their prefetch, groups, depthwise, dilation, asymmetric
 * and large padding, strides larger than the kernel, kernel == input, 1x1 inputs, seeded
 * random shapes, and non-finite weights (declined or matched, see check_nonfinite_weight).
 */
#include "test_conv2d_fwd_bwd_data_fast.h"

/* Equal as the scalar kernel defines it: both NaN, or the same value (integer data, so
 * exact whatever the summation order). */
static int same_or_both_nan(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

/* A non-finite weight (Inf, -Inf or NaN) with padding: the scalar kernel skips padded taps,
 * so border pixels stay finite where a kernel multiplying the zero padding would get NaN.
 * The variant must either decline (UNSUPPORTED: the dispatcher then runs the scalar kernel)
 * or match the scalar result; the public entry points must match it in any case. */
static long nonfinite_checks;
static void check_nonfinite_weight(pcnn_conv2d_desc d, const variant *vars, int nvars,
                                   float bad, uint64_t seed) {
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
        fprintf(stderr, "FAIL: non-finite shape rejected by desc_init\n");
        ++failures;
        return;
    }
    char desc[512];
    conv_describe(&d, desc, sizeof desc);
    const size_t ns = (size_t)(d.n * d.c * d.ih * d.iw);
    const size_t nd = (size_t)(d.n * d.oc * d.oh * d.ow);
    const size_t nw = (size_t)(d.oc * (d.c / d.groups) * d.kh * d.kw);
    float *src = malloc(ns * sizeof(float)), *dd = malloc(nd * sizeof(float));
    float *w = malloc(nw * sizeof(float)), *bias = malloc((size_t)d.oc * sizeof(float));
    float *want_f = malloc(nd * sizeof(float)), *want_b = malloc(ns * sizeof(float));
    float *got_f = malloc(nd * sizeof(float)), *got_b = malloc(ns * sizeof(float));
    rng_state = seed;
    fill(src, ns, 1);
    fill(dd, nd, 1);
    fill(w, nw, 1);
    fill(bias, (size_t)d.oc, 1);
    w[nw / 2] = bad; /* one tap of one filter */
    pcnn_conv2d_fwd__scalar(&d, src, w, bias, want_f);
    pcnn_conv2d_bwd_data__scalar(&d, dd, w, want_b);
    long finite_f = 0, finite_b = 0; /* the case only tests something if some stay finite */
    for (size_t i = 0; i < nd; ++i) {
        finite_f += !isnan(want_f[i]) && !isinf(want_f[i]);
    }
    for (size_t i = 0; i < ns; ++i) {
        finite_b += !isnan(want_b[i]) && !isinf(want_b[i]);
    }
    if (finite_f == 0 || finite_b == 0 || finite_f == (long)nd || finite_b == (long)ns) {
        fprintf(stderr, "FAIL: non-finite case %s does not mix finite and non-finite results\n",
                desc);
        ++failures;
    }
    for (int v = 0; v < nvars; ++v) {
        for (int api = 0; api < 2; ++api) {
            /* api 0: the variant itself; api 1: the public entry point limited to its ISA */
            const int32_t isa = strcmp(vars[v].name, "neon") == 0   ? PCNN_ISA_NEON
                                : strcmp(vars[v].name, "avx2") == 0 ? PCNN_ISA_AVX2
                                                                    : PCNN_ISA_AVX512;
            if (api == 1) {
                pcnn_set_max_isa(isa);
            }
            for (size_t i = 0; i < nd; ++i) {
                got_f[i] = -777.0f;
            }
            for (size_t i = 0; i < ns; ++i) {
                got_b[i] = -777.0f;
            }
            int32_t sf = api ? pcnn_conv2d_fwd(&d, src, w, bias, got_f)
                             : vars[v].fwd(&d, src, w, bias, got_f);
            int32_t sb = api ? pcnn_conv2d_bwd_data(&d, dd, w, got_b)
                             : vars[v].bwd(&d, dd, w, got_b);
            if (api == 1) {
                pcnn_set_max_isa(PCNN_ISA_NEON); /* the highest value: no cap */
            }
            const int pad = (d.pad_top | d.pad_bottom | d.pad_left | d.pad_right) != 0;
            if (sf == PCNN_STATUS_OK) {
                for (size_t i = 0; i < nd; ++i) {
                    if (!same_or_both_nan(want_f[i], got_f[i])) {
                        fprintf(stderr, "FAIL fwd %s api=%d bad=%g: [%zu] want %g got %g (%s)\n",
                                vars[v].name, api, (double)bad, i, (double)want_f[i],
                                (double)got_f[i], desc);
                        ++failures;
                        break;
                    }
                }
                ++nonfinite_checks;
            } else if (api == 1 || sf != PCNN_STATUS_UNSUPPORTED || !pad) {
                fprintf(stderr, "FAIL fwd %s api=%d: status %d (%s)\n", vars[v].name, api, sf,
                        desc);
                ++failures;
            }
            if (sb == PCNN_STATUS_OK) {
                for (size_t i = 0; i < ns; ++i) {
                    if (!same_or_both_nan(want_b[i], got_b[i])) {
                        fprintf(stderr, "FAIL bwd %s api=%d bad=%g: [%zu] want %g got %g (%s)\n",
                                vars[v].name, api, (double)bad, i, (double)want_b[i],
                                (double)got_b[i], desc);
                        ++failures;
                        break;
                    }
                }
                ++nonfinite_checks;
            } else if (api == 1 || sb != PCNN_STATUS_UNSUPPORTED) {
                fprintf(stderr, "FAIL bwd %s api=%d: status %d (%s)\n", vars[v].name, api, sb,
                        desc);
                ++failures;
            }
        }
    }
    free(src);
    free(dd);
    free(w);
    free(bias);
    free(want_f);
    free(want_b);
    free(got_f);
    free(got_b);
}

static long corpus(const variant *vars, int nvars) {
    long shapes = 0;
    uint64_t seed = 1;
    /* pointwise (flattened 1x1) panel path: every pixel count 1..40 (tails of 1..16
     * lanes, the channels-in-lanes tail for <= 8), grouped, odd numbers of channel blocks */
    for (int64_t px = 1; px <= 40; ++px) {
        CHECK(2, 3 + px % 5, 1, px, 13 + px % 17, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        CHECK(1, 6, 2, px, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3);
    }
    CHECK(2, 70, 14, 14, 37, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    /* pointwise tiles across images (job_t.pwx: P >= span with a tail): a tile straddles an
     * image boundary at every offset (P = 33: one lane in the first image), several
     * boundaries, groups (the last tile of one group next to the first of the next),
     * channels that are no multiple of 16, N = 1 (per-image tiles), P a tile multiple */
    /* (AVX-512 spans: 48 for P = 65..80, 64 for 81..127, 32 for 196; AVX2: 16 or 24 from 33) */
    static const int64_t pxs[] = {33, 41, 47, 49, 50, 65, 66, 67, 68, 71, 73, 77, 79, 80,
                                  81, 82, 89, 97, 100, 113, 127, 150};
    for (size_t i = 0; i < sizeof pxs / sizeof pxs[0]; ++i) {
        const int64_t px = pxs[i];
        CHECK(5, 3 + px % 7, 1, px, 17 + px % 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    }
    CHECK(3, 6, 3, 11, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3);
    CHECK(4, 17, 7, 7, 29, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(3, 20, 10, 10, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(7, 19, 1, 65, 23, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(2, 12, 8, 8, 12, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2);
    CHECK(1, 33, 14, 14, 31, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(3, 9, 28, 28, 14, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1); /* 784 = 24.5 x 32 */
    /* inputs above PW_PREFETCH_MIN_BYTES (1 MiB: the next panel is prefetched), forward
     * (256 input channels) and backward-data (256 output channels) */
    CHECK(6, 256, 14, 14, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(6, 20, 14, 14, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    /* groups, depthwise */
    CHECK(2, 6, 9, 11, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    CHECK(2, 8, 10, 19, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8);  /* depthwise */
    CHECK(1, 6, 13, 17, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6); /* depthwise x2, stride 2 */
    CHECK(1, 9, 7, 8, 6, 2, 2, 1, 1, 0, 1, 1, 0, 1, 1, 3);
    /* dilation */
    CHECK(1, 3, 12, 13, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    CHECK(1, 2, 15, 21, 3, 3, 2, 2, 3, 1, 0, 4, 1, 3, 2, 1);
    CHECK(1, 4, 9, 9, 4, 3, 3, 1, 1, 0, 0, 0, 0, 4, 4, 2); /* dilated kernel == input */
    /* asymmetric padding, padding larger than the kernel */
    CHECK(1, 3, 7, 9, 4, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1, 1);
    CHECK(1, 2, 5, 6, 3, 2, 2, 1, 1, 3, 1, 0, 4, 1, 1, 1);
    CHECK(1, 2, 5, 6, 3, 3, 3, 2, 3, 4, 4, 5, 5, 1, 1, 1);
    /* stride > kernel, odd primes */
    CHECK(1, 3, 11, 13, 5, 1, 1, 3, 3, 0, 0, 0, 0, 1, 1, 1);
    CHECK(1, 3, 17, 19, 7, 2, 2, 3, 3, 1, 0, 0, 1, 1, 1, 1);
    CHECK(1, 5, 23, 29, 7, 3, 2, 4, 5, 1, 2, 2, 1, 1, 1, 1);
    /* kernel == input, 1x1 input */
    CHECK(2, 3, 5, 5, 4, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(3, 4, 1, 1, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(2, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 2, 1, 40, 3, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1);
    CHECK(1, 2, 40, 1, 3, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    /* seeded random shapes */
    const uint64_t base_seed = 0x5eed0000u;
    for (int i = 0; i < 150; ++i) {
        rng_state = base_seed + (uint64_t)i * 7919u + 1;
        const int64_t g = 1 + (int64_t)(rng_next() % 3);
        const int64_t c = g * (1 + (int64_t)(rng_next() % 5));
        const int64_t oc = g * (1 + (int64_t)(rng_next() % 7));
        const int64_t kh = 1 + (int64_t)(rng_next() % 4), kw = 1 + (int64_t)(rng_next() % 4);
        const int64_t sh = 1 + (int64_t)(rng_next() % 3), sw = 1 + (int64_t)(rng_next() % 3);
        const int64_t dh = 1 + (int64_t)(rng_next() % 2), dw = 1 + (int64_t)(rng_next() % 2);
        const int64_t pt = (int64_t)(rng_next() % 3), pb = (int64_t)(rng_next() % 3);
        const int64_t pl = (int64_t)(rng_next() % 3), pr = (int64_t)(rng_next() % 3);
        const int64_t ih = 1 + (int64_t)(rng_next() % 14), iw = 1 + (int64_t)(rng_next() % 40);
        const int64_t n = 1 + (int64_t)(rng_next() % 2);
        pcnn_conv2d_desc d = conv_desc(n, c, ih, iw, oc, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, g);
        if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
            continue; /* kernel does not fit: draw again */
        }
        check_shape(d, vars, nvars, base_seed + (uint64_t)i);
        ++shapes;
    }
    /* non-finite weights with padding (and without, for backward-data, whose transposed
     * convolution is padded anyway) */
    {
        const float bads[3] = {INFINITY, -INFINITY, NAN};
        long cases = 0;
        for (int b = 0; b < 3; ++b) {
            pcnn_set_num_threads(1 + b % 2);
            check_nonfinite_weight(conv_desc(2, 3, 20, 21, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                                   vars, nvars, bads[b], 11 + (uint64_t)b);
            check_nonfinite_weight(conv_desc(1, 1, 28, 28, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
                                   vars, nvars, bads[b], 21 + (uint64_t)b);
            check_nonfinite_weight(conv_desc(1, 4, 17, 30, 6, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1),
                                   vars, nvars, bads[b], 31 + (uint64_t)b);
            check_nonfinite_weight(conv_desc(1, 2, 12, 40, 3, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                                   vars, nvars, bads[b], 41 + (uint64_t)b);
            cases += 4;
        }
        /* each case: fwd and bwd, for the variant (if it accepts) and the public entry */
        if (nonfinite_checks < cases * nvars * 2) {
            fprintf(stderr, "FAIL: only %ld non-finite comparisons\n", nonfinite_checks);
            ++failures;
        }
    }
    return shapes;
}

int main(void) { return run_corpus_test("conv2d_fwd_bwd_data_fast_edges", corpus); }
