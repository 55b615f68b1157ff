/*
 * conv2d forward, the small-input-channel path of the direct kernels
 * (src/kernels/conv2d/direct/small_channels.h), at AVX-512 and AVX2: forced onto awkward
 * shapes (the test hook), against the scalar kernel.
 *  - integer-valued data: every sum is exact whatever the order -> bit-equal to scalar;
 *  - outputs pre-filled with NaN with guard floats on both sides;
 *  - 1 and 2 threads bit-identical; with and without bias;
 *  - the run counter proves the path served (and that stride_w != 1 does not reach it);
 *  - non-finite inputs / weights give the scalar kernel's result (NaN where it has NaN);
 *  - random floats: bit-identical to the engine (same summation order per element);
 *  - a geometry whose band copy would be megabytes is declined even when forced;
 *  - the AUTO rule takes lenet2 / lenet2t and leaves cifar (32x32), lenet1 (6 output
 *    channels) and large planes with many channels to the engine (as measured).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "test_util.h"

#if defined(__x86_64__)
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx2(const pcnn_conv2d_desc *, const float *, const float *,
                                            const float *, float *);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx512(const pcnn_conv2d_desc *, const float *,
                                              const float *, const float *, float *);
extern int64_t pcnn_conv2d_fwd_smallc_runs__avx2;
extern int64_t pcnn_conv2d_fwd_smallc_runs__avx512;
extern int32_t pcnn_conv2d_fwd_smallc_force__avx2;
extern int32_t pcnn_conv2d_fwd_smallc_force__avx512;

typedef int32_t (*fwd_fn)(const pcnn_conv2d_desc *, const float *, const float *, const float *,
                          float *);
typedef struct {
    const char *name;
    fwd_fn fwd;
    int64_t *runs;
    int32_t *force;
} variant;

static long failures, comparisons, served;

static void fill(float *p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        p[i] = (float)((int)(rng_next() % 7) - 3); /* -3..3: sums exact in float */
    }
}

#define SC_GUARD 17
static const float guard_value = 4321.5f;

static int same(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

/* Runs v on d (forced onto the path), checks it against the scalar kernel at 1 and 2 threads
 * (bit-identical) and that the path served exactly when it can take the shape. `bad`: 0, or
 * a non-finite value placed into the input (where = 1) or a weight (where = 2). */
static void check(pcnn_conv2d_desc d, const variant *v, uint64_t seed, int with_bias, float bad,
                  int where) {
    char desc[512];
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
        conv_describe(&d, desc, sizeof desc);
        fprintf(stderr, "FAIL: shape rejected by desc_init: %s\n", desc);
        ++failures;
        return;
    }
    conv_describe(&d, desc, sizeof desc);
    const size_t ns = (size_t)(d.n * d.c * d.ih * d.iw), nd = (size_t)(d.n * d.oc * d.oh * d.ow);
    const size_t nw = (size_t)(d.oc * (d.c / d.groups) * d.kh * d.kw);
    float *src = malloc(ns * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *bias = malloc((size_t)d.oc * sizeof(float)), *want = malloc(nd * sizeof(float));
    float *got = malloc((nd + 2 * SC_GUARD) * sizeof(float)), *first = malloc(nd * sizeof(float));
    rng_seed(seed * 2654435761u + 7);
    fill(src, ns);
    fill(w, nw);
    fill(bias, (size_t)d.oc);
    if (where == 1) {
        src[ns / 3] = bad;
    } else if (where == 2) {
        w[nw / 2] = bad;
    }
    const float *b = with_bias ? bias : NULL;
    pcnn_conv2d_fwd__scalar(&d, src, w, b, want);
    const int pad = (d.pad_top | d.pad_bottom | d.pad_left | d.pad_right) != 0;
    /* the path's own limits (the entry sends non-finite weights with padding to scalar) */
    const int takes = d.stride_w == 1 && !(where == 2 && pad);
    for (int threads = 1; threads <= 2; ++threads) {
        pcnn_set_num_threads(threads);
        for (size_t i = 0; i < SC_GUARD; ++i) {
            got[i] = guard_value;
            got[SC_GUARD + nd + i] = guard_value;
        }
        for (size_t i = 0; i < nd; ++i) {
            got[SC_GUARD + i] = NAN;
        }
        __atomic_store_n(v->force, 1, __ATOMIC_RELAXED);
        const int64_t runs0 = __atomic_load_n(v->runs, __ATOMIC_RELAXED);
        const int32_t st = v->fwd(&d, src, w, b, got + SC_GUARD);
        const int64_t ran = __atomic_load_n(v->runs, __ATOMIC_RELAXED) - runs0;
        __atomic_store_n(v->force, 0, __ATOMIC_RELAXED);
        ++comparisons;
        if (st == PCNN_STATUS_UNSUPPORTED && where == 2 && pad) {
            continue; /* declined as documented: the dispatcher runs scalar */
        }
        if (st != PCNN_STATUS_OK) {
            fprintf(stderr, "FAIL %s t%d: status %d (%s)\n", v->name, threads, st, desc);
            ++failures;
            break;
        }
        if (ran != (takes ? 1 : 0)) {
            fprintf(stderr, "FAIL %s t%d: path ran %ld times, expected %d (%s)\n", v->name,
                    threads, (long)ran, takes, desc);
            ++failures;
        }
        served += ran;
        for (size_t i = 0; i < SC_GUARD; ++i) {
            if (got[i] != guard_value || got[SC_GUARD + nd + i] != guard_value) {
                fprintf(stderr, "FAIL %s t%d: guard overwritten (%s)\n", v->name, threads, desc);
                ++failures;
                break;
            }
        }
        for (size_t i = 0; i < nd; ++i) {
            if (!same(got[SC_GUARD + i], want[i]) || (isnan(got[SC_GUARD + i]) && bad == 0.0f)) {
                fprintf(stderr, "FAIL %s t%d bias=%d bad=%g: [%zu] got %.9g want %.9g (%s seed %llu)\n",
                        v->name, threads, with_bias, (double)bad, i, (double)got[SC_GUARD + i],
                        (double)want[i], desc, (unsigned long long)seed);
                ++failures;
                break;
            }
        }
        if (threads == 1) {
            memcpy(first, got + SC_GUARD, nd * sizeof(float));
        } else if (memcmp(first, got + SC_GUARD, nd * sizeof(float)) != 0) {
            fprintf(stderr, "FAIL %s: 2 threads differ from 1 (%s)\n", v->name, desc);
            ++failures;
        }
    }
    free(src);
    free(w);
    free(bias);
    free(want);
    free(got);
    free(first);
}

/* The AUTO rule (force 0) takes the bench rows it was measured on. */
static void check_rule(pcnn_conv2d_desc d, const variant *v, int expect) {
    pcnn_conv2d_desc_init(&d);
    const size_t ns = (size_t)(d.n * d.c * d.ih * d.iw), nd = (size_t)(d.n * d.oc * d.oh * d.ow);
    const size_t nw = (size_t)(d.oc * (d.c / d.groups) * d.kh * d.kw);
    float *src = calloc(ns, sizeof(float)), *w = calloc(nw, sizeof(float));
    float *dst = malloc(nd * sizeof(float));
    const int64_t runs0 = *v->runs;
    const int32_t st = v->fwd(&d, src, w, NULL, dst);
    if (st != PCNN_STATUS_OK || (*v->runs - runs0 == 1) != expect) {
        char desc[512];
        conv_describe(&d, desc, sizeof desc);
        fprintf(stderr, "FAIL %s rule: status %d, served %ld, expected %d (%s)\n", v->name, st,
                (long)(*v->runs - runs0), expect, desc);
        ++failures;
    }
    free(src);
    free(w);
    free(dst);
}

/* Random float data: the path and the engine (the hook turned off) sum each element in the
 * same order (ci, ky, kx with FMA, then + bias), so their results are bit-identical. */
static void check_same_as_engine(pcnn_conv2d_desc d, const variant *v, uint64_t seed) {
    pcnn_conv2d_desc_init(&d);
    const size_t ns = (size_t)(d.n * d.c * d.ih * d.iw), nd = (size_t)(d.n * d.oc * d.oh * d.ow);
    const size_t nw = (size_t)(d.oc * (d.c / d.groups) * d.kh * d.kw);
    float *src = malloc(ns * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *bias = malloc((size_t)d.oc * sizeof(float));
    float *a = malloc(nd * sizeof(float)), *b = malloc(nd * sizeof(float));
    rng_seed(seed);
    for (size_t i = 0; i < ns; ++i) src[i] = (float)(rng_next() >> 40) * 0x1p-24f - 0.5f;
    for (size_t i = 0; i < nw; ++i) w[i] = (float)(rng_next() >> 40) * 0x1p-24f - 0.5f;
    for (int64_t i = 0; i < d.oc; ++i) bias[i] = (float)(rng_next() >> 40) * 0x1p-24f - 0.5f;
    __atomic_store_n(v->force, 1, __ATOMIC_RELAXED);
    const int64_t runs0 = *v->runs;
    const int32_t s1 = v->fwd(&d, src, w, bias, a);
    const int64_t ran = *v->runs - runs0;
    __atomic_store_n(v->force, -1, __ATOMIC_RELAXED);
    const int32_t s2 = v->fwd(&d, src, w, bias, b);
    __atomic_store_n(v->force, 0, __ATOMIC_RELAXED);
    ++comparisons;
    if (s1 != PCNN_STATUS_OK || s2 != PCNN_STATUS_OK || ran != 1 ||
        memcmp(a, b, nd * sizeof(float)) != 0) {
        char desc[512];
        conv_describe(&d, desc, sizeof desc);
        fprintf(stderr, "FAIL %s: path (status %d, ran %ld) differs from the engine (status %d) (%s)\n",
                v->name, s1, (long)ran, s2, desc);
        ++failures;
    }
    free(src);
    free(w);
    free(bias);
    free(a);
    free(b);
}

/* An absurd but valid geometry (dilation 65536 over a 65537-row input, padded columns): the
 * band copy would be megabytes for 16 x 8 outputs, so even when forced the path declines; the
 * public entry point still gives the scalar kernel's result. */
static void check_declines_huge_copy(const variant *v, int32_t isa) {
    pcnn_conv2d_desc d = conv_desc(1, 8, 65537, 1, 16, 2, 1, 1, 1, 0, 0, 1, 1, 65536, 1, 1);
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
        fprintf(stderr, "FAIL: huge-dilation shape rejected by desc_init\n");
        ++failures;
        return;
    }
    const size_t ns = (size_t)(d.n * d.c * d.ih * d.iw), nd = (size_t)(d.n * d.oc * d.oh * d.ow);
    const size_t nw = (size_t)(d.oc * d.c * d.kh * d.kw);
    float *src = malloc(ns * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *want = malloc(nd * sizeof(float)), *got = malloc(nd * sizeof(float));
    rng_seed(99);
    fill(src, ns);
    fill(w, nw);
    pcnn_conv2d_fwd__scalar(&d, src, w, NULL, want);
    __atomic_store_n(v->force, 1, __ATOMIC_RELAXED);
    const int64_t runs0 = *v->runs;
    const int32_t st_variant = v->fwd(&d, src, w, NULL, got);
    const int64_t ran = *v->runs - runs0;
    pcnn_set_max_isa(isa);
    const int32_t st = pcnn_conv2d_fwd(&d, src, w, NULL, got);
    pcnn_set_max_isa(PCNN_ISA_NEON); /* the highest value: no cap */
    __atomic_store_n(v->force, 0, __ATOMIC_RELAXED);
    ++comparisons;
    if (ran != 0 || (st_variant != PCNN_STATUS_OK && st_variant != PCNN_STATUS_UNSUPPORTED) ||
        st != PCNN_STATUS_OK || memcmp(want, got, nd * sizeof(float)) != 0) {
        fprintf(stderr, "FAIL %s huge copy: ran %ld, status %d / %d\n", v->name, (long)ran,
                st_variant, st);
        ++failures;
    }
    free(src);
    free(w);
    free(want);
    free(got);
}

int main(void) {
    variant vars[2];
    int nvars = 0;
    const int32_t isa = pcnn_isa_detected();
    if (isa >= PCNN_ISA_AVX2) {
        vars[nvars++] = (variant){"avx2", pcnn_conv2d_fwd__avx2, &pcnn_conv2d_fwd_smallc_runs__avx2,
                                  &pcnn_conv2d_fwd_smallc_force__avx2};
    }
    if (isa >= PCNN_ISA_AVX512) {
        vars[nvars++] = (variant){"avx512", pcnn_conv2d_fwd__avx512,
                                  &pcnn_conv2d_fwd_smallc_runs__avx512,
                                  &pcnn_conv2d_fwd_smallc_force__avx512};
    }
    if (nvars == 0) {
        printf("SKIP: no AVX2 on this machine\n");
        return 0;
    }
    uint64_t seed = 1;
    long shapes = 0;
    for (int vi = 0; vi < nvars; ++vi) {
        const variant *v = &vars[vi];
#define CHECK_SHAPE(...)                                                              \
    do {                                                                          \
        for (int wb = 0; wb < 2; ++wb) check(conv_desc(__VA_ARGS__), v, seed, wb, 0.0f, 0); \
        ++seed;                                                                   \
        ++shapes;                                                                 \
    } while (0)
        /* the bench rows, batch reduced */
        CHECK_SHAPE(3, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1); /* lenet2 */
        CHECK_SHAPE(3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1); /* lenet2t */
        CHECK_SHAPE(2, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* cifar */
        CHECK_SHAPE(2, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);  /* lenet1p2 */
        /* input channels 1..8 x output channels with tails (1, 5, 15, 16, 17, 33), kernels
         * 1x1 / 3x3 / 5x5 / 7x7, planes 1x1 .. 30x30 with odd widths, padding 0..3 */
        const int64_t ocs[] = {1, 5, 15, 16, 17, 33};
        const int64_t ks[] = {1, 3, 5, 7};
        for (int64_t c = 1; c <= 8; ++c) {
            for (int oi = 0; oi < 6; ++oi) {
                const int64_t k = ks[(c + oi) % 4], p = (c + oi) % 4;
                const int64_t out = 1 + (c * 7 + oi * 5) % 30; /* 1..30 */
                const int64_t ow = oi % 2 ? out : 1 + (out * 3) % 29;
                CHECK_SHAPE(2, c, out + k - 1 - 2 * p > 0 ? out + k - 1 - 2 * p : 1,
                      ow + k - 1 - 2 * p > 0 ? ow + k - 1 - 2 * p : 1, ocs[oi], k, k, 1, 1, p, p,
                      p, p, 1, 1, 1);
            }
        }
        /* asymmetric padding, rectangular kernels, 1-pixel planes, tails of every tile size */
        CHECK_SHAPE(1, 2, 5, 9, 17, 3, 1, 1, 1, 0, 3, 2, 1, 1, 1, 1);
        CHECK_SHAPE(1, 3, 1, 1, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);   /* 1x1 output of a 1x1 image */
        CHECK_SHAPE(1, 4, 3, 40, 20, 3, 5, 1, 1, 1, 1, 2, 2, 1, 1, 1);  /* wide row: segments */
        CHECK_SHAPE(2, 2, 37, 31, 33, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 1); /* 2 blocks, odd sizes */
        CHECK_SHAPE(1, 5, 29, 29, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* 64 channels: 2 x 32 */
        CHECK_SHAPE(1, 3, 70, 70, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* several bands */
        /* vertical stride, dilation, groups */
        CHECK_SHAPE(2, 3, 23, 17, 16, 5, 3, 2, 1, 2, 1, 1, 1, 1, 1, 1);
        CHECK_SHAPE(2, 3, 15, 15, 24, 3, 3, 3, 1, 0, 0, 0, 0, 1, 1, 1);
        CHECK_SHAPE(1, 4, 16, 18, 18, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
        CHECK_SHAPE(1, 2, 14, 20, 17, 3, 2, 1, 1, 1, 1, 3, 0, 3, 4, 1);
        CHECK_SHAPE(2, 6, 12, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
        CHECK_SHAPE(1, 8, 10, 11, 12, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 4); /* 3 output channels per group */
        /* horizontal stride 2: not taken, still correct */
        CHECK_SHAPE(1, 3, 20, 20, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
        CHECK_SHAPE(1, 3, 20, 20, 16, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1);
        /* seeded random shapes */
        for (int r = 0; r < 40; ++r) {
            rng_seed(0x9E3779B97F4A7C15ull + (uint64_t)r * 977);
            const int64_t k = 1 + (int64_t)(rng_next() % 7), kw = 1 + (int64_t)(rng_next() % 7);
            const int64_t g = 1 + (int64_t)(rng_next() % 2);
            const int64_t c = g * (1 + (int64_t)(rng_next() % 8));
            const int64_t oc = g * (1 + (int64_t)(rng_next() % 40));
            const int64_t pt = (int64_t)(rng_next() % 4), pl = (int64_t)(rng_next() % 4);
            const int64_t ih = k + (int64_t)(rng_next() % 30), iw = kw + (int64_t)(rng_next() % 30);
            const int64_t sh = 1 + (int64_t)(rng_next() % 2), dl = 1 + (int64_t)(rng_next() % 2);
            const int64_t ihh = ih + (k - 1) * (dl - 1), iww = iw + (kw - 1) * (dl - 1);
            CHECK_SHAPE(1 + (int64_t)(rng_next() % 3), c, ihh, iww, oc, k, kw, sh, 1, pt,
                  (int64_t)(rng_next() % 4), pl, (int64_t)(rng_next() % 4), dl, dl, g);
        }
        /* non-finite data: inputs (padded and not), weights (unpadded: served; padded:
         * declined, the dispatcher runs scalar) */
        const float bads[] = {INFINITY, -INFINITY, NAN};
        for (int bi = 0; bi < 3; ++bi) {
            for (int where = 1; where <= 2; ++where) {
                check(conv_desc(2, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), v, seed, 1, bads[bi], where);
                check(conv_desc(1, 3, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), v, seed, 1, bads[bi], where);
                ++seed;
            }
        }
        /* random floats: bit-identical to the engine */
        check_same_as_engine(conv_desc(2, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), v, seed++);
        check_same_as_engine(conv_desc(1, 3, 17, 13, 37, 3, 3, 1, 1, 1, 2, 0, 1, 1, 1, 1), v, seed++);
        check_same_as_engine(conv_desc(1, 4, 15, 15, 24, 3, 3, 2, 1, 2, 2, 2, 2, 2, 2, 2), v, seed++);
        check_declines_huge_copy(v, strcmp(v->name, "avx2") == 0 ? PCNN_ISA_AVX2 : PCNN_ISA_AVX512);
        /* the AUTO rule on the bench rows (batch reduced) */
        check_rule(conv_desc(2, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), v, 1);
        check_rule(conv_desc(2, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), v, 1);
        check_rule(conv_desc(2, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), v, 0); /* cifar */
        check_rule(conv_desc(2, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), v, 0);   /* lenet1 */
        check_rule(conv_desc(1, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), v, 0); /* large plane */
        check_rule(conv_desc(1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), v, 1);   /* 8x8, many channels */
        /* the hook turned off: never served */
        __atomic_store_n(v->force, -1, __ATOMIC_RELAXED);
        check_rule(conv_desc(2, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), v, 0);
        __atomic_store_n(v->force, 0, __ATOMIC_RELAXED);
    }
    printf("%ld shapes, %ld comparisons, %ld calls served by the path, %ld failures\n", shapes,
           comparisons, served, failures);
    if (served < shapes) {
        fprintf(stderr, "FAIL: the path served too few calls\n");
        return 1;
    }
    return failures == 0 ? 0 : 1;
}

#else
int main(void) {
    printf("SKIP: x86-64 only\n");
    return 0;
}
#endif
