/*
 * Shared by the conv2d forward / backward-data cross-checks
 * (test_conv2d_fwd_bwd_data_fast_tiles.c, test_conv2d_fwd_bwd_data_fast_edges.c): the AVX2,
 * AVX-512 and NEON direct kernels against the scalar kernels, shape by shape (check_shape).
 *  - small-integer inputs: every sum is exact in float whatever the order -> bit-equal;
 *  - uniform float inputs: |fast - scalar| <= 8 * eps * sum(|terms|) bound per shape;
 *  - outputs pre-filled with NaN, guard floats on both sides of every output buffer;
 *  - inputs placed against an inaccessible page (after the end, then before the start),
 *    so any over-read crashes the test;
 *  - results bit-identical for 1, 2 and 3 threads.
 * Each test prints the shape and seed on failure and asserts how many comparisons ran.
 */
#ifndef PCNN_TEST_CONV2D_FWD_BWD_DATA_FAST_H
#define PCNN_TEST_CONV2D_FWD_BWD_DATA_FAST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "test_conv_describe.h"
#include "test_platform.h"

#if defined(__x86_64__)
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx2(const pcnn_conv2d_desc *, const float *, const float *,
                                            const float *, float *);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__avx2(const pcnn_conv2d_desc *, const float *,
                                                 const float *, float *);
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__avx512(const pcnn_conv2d_desc *, const float *,
                                              const float *, const float *, float *);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__avx512(const pcnn_conv2d_desc *, const float *,
                                                   const float *, float *);
/* calls served by the small-plane backward-data path (flat_bwd_data), per variant */
extern int64_t pcnn_conv2d_bwd_data_flat_runs__avx2;
extern int64_t pcnn_conv2d_bwd_data_flat_runs__avx512;
#define FLAT_RUNS() (pcnn_conv2d_bwd_data_flat_runs__avx2 + pcnn_conv2d_bwd_data_flat_runs__avx512)
/* calls served by the flat tiles (direct/flat_tiles.h), forward and backward-data, per variant */
extern int64_t pcnn_conv2d_flat_tile_runs__avx512;
extern int64_t pcnn_conv2d_flat_tile_runs__avx2;
#define FLAT_TILE_RUNS() pcnn_conv2d_flat_tile_runs__avx512
#define FLAT_TILE_RUNS_AVX2() pcnn_conv2d_flat_tile_runs__avx2
#else
#define FLAT_RUNS() ((int64_t)0)
#define FLAT_TILE_RUNS() ((int64_t)0)
#define FLAT_TILE_RUNS_AVX2() ((int64_t)0)
#endif
#if defined(__aarch64__)
PCNN_INTERNAL int32_t pcnn_conv2d_fwd__neon(const pcnn_conv2d_desc *, const float *,
                                            const float *, const float *, float *);
PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__neon(const pcnn_conv2d_desc *, const float *,
                                                 const float *, float *);
#endif

typedef int32_t (*fwd_fn)(const pcnn_conv2d_desc *, const float *, const float *, const float *,
                          float *);
typedef int32_t (*bwd_fn)(const pcnn_conv2d_desc *, const float *, const float *, float *);

static long failures;
static long comparisons;

/* ---- guarded buffers (inputs: test_fenced_alloc, test_platform.h) ---- */

#define GUARD 19
static const float guard_value = 12345.678f;

typedef struct {
    float *raw;
    float *p;
    size_t n;
} obuf;

static obuf obuf_alloc(size_t n) {
    obuf o;
    o.n = n;
    o.raw = malloc((n + 2 * GUARD) * sizeof(float));
    if (o.raw == NULL) {
        fprintf(stderr, "malloc failed\n");
        exit(2);
    }
    o.p = o.raw + GUARD;
    return o;
}

static void obuf_reset(obuf *o) {
    for (size_t i = 0; i < GUARD; ++i) {
        o->raw[i] = guard_value;
        o->p[o->n + i] = guard_value;
    }
    for (size_t i = 0; i < o->n; ++i) {
        o->p[i] = NAN;
    }
}

static int obuf_guards_ok(const obuf *o) {
    for (size_t i = 0; i < GUARD; ++i) {
        if (o->raw[i] != guard_value || o->p[o->n + i] != guard_value) {
            return 0;
        }
    }
    return 1;
}

/* ---- data ---- */

static uint64_t rng_state;
static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static void fill(float *p, size_t n, int integer) {
    for (size_t i = 0; i < n; ++i) {
        if (integer) {
            p[i] = (float)((int)(rng_next() % 7) - 3); /* -3..3 */
        } else {
            p[i] = (float)((double)(rng_next() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        }
    }
}

/* Compares got against want: exact (integer data) or within tol[i]. */
static int compare(const char *what, const char *variant, const pcnn_conv2d_desc *d,
                   const float *want, const obuf *got, const float *tol, uint64_t seed) {
    ++comparisons;
    char desc[512];
    if (!obuf_guards_ok(got)) {
        conv_describe(d, desc, sizeof desc);
        fprintf(stderr, "FAIL %s %s: guard overwritten; %s seed=%llu\n", what, variant, desc,
                (unsigned long long)seed);
        ++failures;
        return 0;
    }
    for (size_t i = 0; i < got->n; ++i) {
        const float a = got->p[i], b = want[i];
        const int ok = tol == NULL ? (a == b && !isnan(a)) : (fabsf(a - b) <= tol[i] && !isnan(a));
        if (!ok) {
            conv_describe(d, desc, sizeof desc);
            fprintf(stderr, "FAIL %s %s: element %zu got %.9g want %.9g (tol %g); %s seed=%llu\n",
                    what, variant, i, (double)a, (double)b, tol ? (double)tol[i] : 0.0, desc,
                    (unsigned long long)seed);
            ++failures;
            return 0;
        }
    }
    return 1;
}

/* Error bound for float data: 8 * eps * (sum of |terms| + |bias|), computed with the scalar
 * kernel on absolute values (which sums exactly the same terms). */
static void abs_copy(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        dst[i] = fabsf(src[i]);
    }
}

typedef struct {
    const char *name;
    fwd_fn fwd;
    bwd_fn bwd;
} variant;

static void check_shape(pcnn_conv2d_desc d, const variant *vars, int nvars, uint64_t seed) {
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
        char desc[512];
        conv_describe(&d, desc, sizeof desc);
        fprintf(stderr, "FAIL: corpus shape rejected by desc_init: %s\n", desc);
        ++failures;
        return;
    }
    const size_t ns = (size_t)(d.n * d.c * d.ih * d.iw);
    const size_t nd = (size_t)(d.n * d.oc * d.oh * d.ow);
    const size_t nw = (size_t)(d.oc * (d.c / d.groups) * d.kh * d.kw);
    const size_t no = (size_t)d.oc;
    float *want_f = malloc(nd * sizeof(float));
    float *want_b = malloc(ns * sizeof(float));
    float *tol_f = malloc(nd * sizeof(float));
    float *tol_b = malloc(ns * sizeof(float));
    float *first_f = malloc(nd * sizeof(float)); /* 1-thread results */
    float *first_b = malloc(ns * sizeof(float));
    obuf out_f = obuf_alloc(nd), out_b = obuf_alloc(ns);
    for (int mode = 0; mode < 4; ++mode) {
        const int integer = mode < 2;
        const int at_start = mode & 1;
        rng_state = seed * 2654435761u + (uint64_t)mode + 1;
        /* n floats right after (at_start) or right before a page that faults */
        test_fenced src = test_fenced_alloc(ns * sizeof(float), at_start);
        test_fenced w = test_fenced_alloc(nw * sizeof(float), at_start);
        test_fenced bias = test_fenced_alloc(no * sizeof(float), at_start);
        test_fenced dd = test_fenced_alloc(nd * sizeof(float), at_start);
        fill(src.p, ns, integer);
        fill(w.p, nw, integer);
        fill(bias.p, no, integer);
        fill(dd.p, nd, integer);
        const float *bias_p = (mode == 1) ? NULL : bias.p; /* also test without bias */
        pcnn_conv2d_fwd__scalar(&d, src.p, w.p, bias_p, want_f);
        pcnn_conv2d_bwd_data__scalar(&d, dd.p, w.p, want_b);
        float *tf = NULL, *tb = NULL;
        if (!integer) {
            float *as = malloc(ns * sizeof(float)), *aw = malloc(nw * sizeof(float));
            float *ab = malloc(no * sizeof(float)), *ad = malloc(nd * sizeof(float));
            abs_copy(as, src.p, ns);
            abs_copy(aw, w.p, nw);
            abs_copy(ab, bias.p, no);
            abs_copy(ad, dd.p, nd);
            pcnn_conv2d_fwd__scalar(&d, as, aw, bias_p ? ab : NULL, tol_f);
            pcnn_conv2d_bwd_data__scalar(&d, ad, aw, tol_b);
            for (size_t i = 0; i < nd; ++i) {
                tol_f[i] = tol_f[i] * 8.0f * 1.1920929e-7f + 1e-30f;
            }
            for (size_t i = 0; i < ns; ++i) {
                tol_b[i] = tol_b[i] * 8.0f * 1.1920929e-7f + 1e-30f;
            }
            free(as);
            free(aw);
            free(ab);
            free(ad);
            tf = tol_f;
            tb = tol_b;
        }
        for (int v = 0; v < nvars; ++v) {
            for (int threads = 1; threads <= 3; ++threads) {
                if (mode != 0 && threads != 2) {
                    continue; /* thread determinism once per shape */
                }
                pcnn_set_num_threads(threads);
                char name[64];
                snprintf(name, sizeof name, "%s/t%d/mode%d", vars[v].name, threads, mode);
                obuf_reset(&out_f);
                int32_t st = vars[v].fwd(&d, src.p, w.p, bias_p, out_f.p);
                if (st != PCNN_STATUS_OK) {
                    fprintf(stderr, "FAIL fwd %s: status %d\n", name, st);
                    ++failures;
                } else if (compare("fwd", name, &d, want_f, &out_f, tf, seed) && mode == 0) {
                    if (threads == 1) {
                        memcpy(first_f, out_f.p, nd * sizeof(float));
                    } else if (memcmp(first_f, out_f.p, nd * sizeof(float)) != 0) {
                        fprintf(stderr, "FAIL fwd %s: differs from 1 thread\n", name);
                        ++failures;
                    }
                }
                obuf_reset(&out_b);
                st = vars[v].bwd(&d, dd.p, w.p, out_b.p);
                if (st != PCNN_STATUS_OK) {
                    fprintf(stderr, "FAIL bwd_data %s: status %d\n", name, st);
                    ++failures;
                } else if (compare("bwd_data", name, &d, want_b, &out_b, tb, seed) && mode == 0) {
                    if (threads == 1) {
                        memcpy(first_b, out_b.p, ns * sizeof(float));
                    } else if (memcmp(first_b, out_b.p, ns * sizeof(float)) != 0) {
                        fprintf(stderr, "FAIL bwd_data %s: differs from 1 thread\n", name);
                        ++failures;
                    }
                }
            }
        }
        test_fenced_free(&src);
        test_fenced_free(&w);
        test_fenced_free(&bias);
        test_fenced_free(&dd);
    }
    free(want_f);
    free(want_b);
    free(tol_f);
    free(tol_b);
    free(first_f);
    free(first_b);
    free(out_f.raw);
    free(out_b.raw);
}

/* One corpus shape (conv_desc's arguments, test_conv_describe.h), checked with the next
 * seed: the corpus function declares shapes and seed, and has vars and nvars as parameters. */
#define CHECK(...)                                   \
    do {                                             \
        check_shape(conv_desc(__VA_ARGS__), vars, nvars, seed++); \
        ++shapes;                                    \
    } while (0)

/* A test's main: corpus (checking its shapes with CHECK or check_shape, returning how many)
 * for the SIMD variants this machine runs; the exit status fails on any failure, or when
 * the comparisons that ran are not all that the shapes make. */
static int run_corpus_test(const char *test, long (*corpus)(const variant *vars, int nvars)) {
    variant vars[2];
    int nvars = 0;
    const int32_t isa = pcnn_isa_detected();
#if defined(__aarch64__)
    if (isa == PCNN_ISA_NEON) {
        vars[nvars++] = (variant){"neon", pcnn_conv2d_fwd__neon, pcnn_conv2d_bwd_data__neon};
    }
#endif
#if defined(__x86_64__)
    if (isa >= PCNN_ISA_AVX2) {
        vars[nvars++] = (variant){"avx2", pcnn_conv2d_fwd__avx2, pcnn_conv2d_bwd_data__avx2};
    }
    if (isa >= PCNN_ISA_AVX512) {
        vars[nvars++] =
            (variant){"avx512", pcnn_conv2d_fwd__avx512, pcnn_conv2d_bwd_data__avx512};
    }
#endif
    if (nvars == 0) {
        printf("SKIP: no SIMD level (AVX2 / NEON) on this machine\n");
        return 0;
    }
    const long shapes = corpus(vars, nvars);
    /* every shape: 4 data modes x (threads 1..3 in mode 0, 2 otherwise) x 2 ops */
    const long expected = shapes * nvars * 2 * (3 + 3);
    printf("%s: %ld shapes, %d variants, %ld comparisons, %ld failures\n", test, shapes, nvars,
           comparisons, failures);
    if (failures != 0) {
        return 1;
    }
    if (comparisons != expected) {
        fprintf(stderr, "FAIL: expected %ld comparisons, ran %ld\n", expected, comparisons);
        return 1;
    }
    return 0;
}

#endif /* PCNN_TEST_CONV2D_FWD_BWD_DATA_FAST_H */
