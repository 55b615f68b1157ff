/*
 * conv2d forward / backward-data: the AVX2, AVX-512 and NEON direct kernels against the scalar
 * kernels, on a corpus of awkward shapes plus seeded random shapes.
 *  - small-integer inputs: every sum is exact in float whatever the order -> bit-equal;
 *  - uniform float inputs: |fast - scalar| <= 8 * eps * sum(|terms|) bound per shape;
 *  - outputs pre-filled with NaN, guard floats on both sides of every output buffer;
 *  - inputs placed against an inaccessible page (after the end, then before the start),
 *    so any over-read crashes the test;
 *  - results bit-identical for 1, 2 and 3 threads.
 * Prints the shape and seed on failure; asserts how many comparisons ran.
 */
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
#else
#define FLAT_RUNS() ((int64_t)0)
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

/* ---- guarded buffers ---- */

typedef struct {
    void *map;
    size_t map_len;
    float *p;
} gbuf;

/* n floats placed right after (at_start) or right before (!at_start) a PROT_NONE page. */
static gbuf gbuf_alloc(size_t n, int at_start) {
    const size_t page = test_page_size();
    const size_t bytes = n * sizeof(float);
    const size_t body = (bytes + page - 1) / page * page;
    gbuf g;
    g.map_len = body + 2 * page;
    g.map = test_pages_alloc(g.map_len);
    char *base = g.map;
    test_pages_forbid(base, page);
    test_pages_forbid(base + page + body, page);
    g.p = at_start ? (float *)(base + page) : (float *)(base + page + body - bytes);
    return g;
}

static void gbuf_free(gbuf *g) { test_pages_free(g->map, g->map_len); }

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
        gbuf src = gbuf_alloc(ns, at_start), w = gbuf_alloc(nw, at_start);
        gbuf bias = gbuf_alloc(no, at_start), dd = gbuf_alloc(nd, at_start);
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
        gbuf_free(&src);
        gbuf_free(&w);
        gbuf_free(&bias);
        gbuf_free(&dd);
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

static pcnn_conv2d_desc mk(int64_t n, int64_t c, int64_t ih, int64_t iw, int64_t oc, int64_t kh,
                           int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pb, int64_t pl,
                           int64_t pr, int64_t dh, int64_t dw, int64_t g) {
    pcnn_conv2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = n;
    d.c = c;
    d.ih = ih;
    d.iw = iw;
    d.oc = oc;
    d.kh = kh;
    d.kw = kw;
    d.stride_h = sh;
    d.stride_w = sw;
    d.pad_top = pt;
    d.pad_bottom = pb;
    d.pad_left = pl;
    d.pad_right = pr;
    d.dilation_h = dh;
    d.dilation_w = dw;
    d.groups = g;
    return d;
}

int main(void) {
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
    long shapes = 0;
    uint64_t seed = 1;
#define CHECK(...)                                   \
    do {                                             \
        check_shape(mk(__VA_ARGS__), vars, nvars, seed++); \
        ++shapes;                                    \
    } while (0)
    /* benchmark shapes, batch reduced */
    CHECK(2, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);      /* lenet1 */
    CHECK(2, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);     /* lenet2 */
    /* the small-plane backward-data path (stride 1, unpadded): LeNet's second convolution
     * as trained, tap and vector tails, ow >= a vector, dilation, groups, one-row kernels */
    const int64_t flat_before = FLAT_RUNS();
    CHECK(3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);     /* lenet2 as trained */
    CHECK(2, 5, 13, 21, 7, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(2, 4, 12, 11, 6, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 2);
    CHECK(1, 3, 9, 10, 5, 1, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(1, 3, 9, 10, 5, 4, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(2, 16, 6, 6, 64, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);
#if defined(__x86_64__)
    if (FLAT_RUNS() <= flat_before) { /* nvars > 0 here: AVX2 at least */
        fprintf(stderr, "FAIL: the small-plane backward-data path never ran\n");
        ++failures;
    }
#else
    (void)flat_before;
#endif
    CHECK(1, 1, 8, 8, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);        /* seed_tiny */
    CHECK(2, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);     /* cifar */
    CHECK(1, 32, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);    /* mid */
    CHECK(1, 16, 56, 56, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);    /* resnet3x3, fewer channels */
    CHECK(1, 32, 28, 28, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);    /* resnet_s2, fewer channels */
    /* stride-1 channel tiles (56- and 28-wide rows, >= 32 channels: forward and
     * backward-data), row-chunked and whole-image tasks */
    CHECK(2, 40, 12, 56, 36, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(12, 33, 7, 28, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* ... with more input channels than 2 x the block (the tiles' second channel loop,
     * after the next-row prefetches), forward and backward-data */
    CHECK(2, 80, 9, 56, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 36, 9, 28, 90, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* stride-1 channel tiles reading in place, edge tiles from a strip copy (see
     * test_variants.c, "ip ..."), the inputs against inaccessible pages */
    CHECK(3, 19, 6, 41, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip fwd 41 3 tiles */
    CHECK(2, 17, 5, 58, 40, 3, 3, 1, 1, 0, 2, 0, 2, 1, 1, 1); /* ip fwd 58 pad 0/2 */
    CHECK(1, 20, 7, 50, 35, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1); /* ip fwd 50 5x5 */
    CHECK(2, 18, 4, 47, 37, 1, 7, 1, 1, 0, 0, 3, 3, 1, 1, 1); /* ip fwd 47 1x7 */
    CHECK(1, 33, 9, 44, 34, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip both 44 3x1 */
    CHECK(2, 17, 8, 54, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1); /* ip fwd 54 d2 */
    CHECK(2, 66, 5, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2); /* ip fwd groups 2 */
    CHECK(1, 33, 5, 41, 33, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1); /* ip both 41 pad 2/0 */
    CHECK(2, 20, 9, 41, 33, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1); /* ip fwd s2h 41 */
    CHECK(1, 19, 30, 12, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip fwd 12 tall */
    CHECK(3, 36, 6, 41, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip bwd 41 */
    CHECK(2, 35, 5, 55, 17, 3, 3, 1, 1, 1, 0, 2, 0, 1, 1, 1); /* ip bwd 55 pad 1/0 */
    CHECK(1, 40, 6, 45, 18, 5, 5, 1, 1, 2, 1, 1, 3, 1, 1, 1); /* ip bwd 45 5x5 asym */
    CHECK(2, 33, 3, 50, 19, 1, 7, 1, 1, 0, 0, 3, 3, 1, 1, 1); /* ip bwd 50 1x7 */
    CHECK(2, 34, 9, 41, 18, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1); /* ip bwd s2h 41 */
    CHECK(2, 70, 7, 58, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2); /* ip bwd 58 d2 groups */
    CHECK(1, 37, 20, 57, 35, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip both 20 rows 57 */
    CHECK(12, 33, 4, 41, 34, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip both 12 images */
    /* resnet_s2-like with enough work per weight that every thread packs its own blocks
     * (task_block_weights), several tasks and block chunks per thread */
    CHECK(2, 64, 28, 28, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 40, 14, 14, 36, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);    /* pw1x1, fewer channels */
    CHECK(1, 3, 64, 70, 20, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1);     /* big7x7, smaller */
    /* widths 1..33, 48, 63, 64, 65 (3x3 pad 1 and 3x1 valid), channels tails */
    for (int64_t w = 1; w <= 65; ++w) {
        if (w > 33 && w != 48 && w != 63 && w != 64 && w != 65) {
            continue;
        }
        CHECK(1, 1 + w % 5, 3, w, 1 + w % 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        CHECK(2, 2, 4, w, 3, 3, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        CHECK(1, 3, 5, w, 5, 2, 3, 2, 2, 0, 1, 1, 1, 1, 1, 1);
    }
    /* forward 2-row tiles (AVX-512 ukrr_*: rows of 17..32 pixels, <= 4 input channels, a
     * padded copy): vertical stride and dilation, groups, asymmetric padding, 5x5, odd
     * row counts (a 1-row remainder) and channel counts that are no block multiple */
    CHECK(2, 3, 9, 27, 13, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 4, 11, 30, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2);
    CHECK(3, 2, 8, 20, 19, 2, 3, 1, 1, 0, 1, 1, 0, 1, 1, 1);
    CHECK(1, 1, 7, 32, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(2, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 3, 31, 17, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* row tiles with many channels (forward > 4 input channels, backward-data stride 1):
     * the mid layer with whole-image tasks, widths 31 / 33 / 64, channel tails, odd
     * heights, groups, dilation, asymmetric padding */
    CHECK(12, 32, 9, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 37, 7, 31, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 20, 5, 33, 23, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 18, 4, 64, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(13, 22, 6, 17, 26, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 2);
    CHECK(3, 9, 11, 30, 13, 5, 5, 1, 1, 4, 3, 4, 2, 2, 2, 1);
    /* backward-data row tiles: copy rows sharing zero columns, and the paddings that
     * keep separate ones */
    CHECK(2, 13, 7, 31, 19, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1);
    CHECK(12, 13, 5, 29, 19, 3, 3, 1, 1, 1, 1, 0, 2, 1, 1, 1);
    CHECK(1, 11, 9, 17, 15, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(12, 9, 7, 32, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    CHECK(3, 7, 6, 30, 9, 5, 5, 1, 1, 1, 3, 3, 1, 1, 1, 1);
    /* backward-data row tiles' whole-vector copy and next-channel prefetch (see
     * test_variants.c, "bwd spill") */
    CHECK(2, 11, 5, 29, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(12, 22, 5, 32, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    CHECK(1, 9, 7, 31, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 5, 3, 30, 9, 1, 3, 1, 1, 0, 0, 40, 40, 1, 40, 1);
    CHECK(2, 5, 3, 30, 9, 1, 3, 1, 1, 0, 0, 100, 100, 1, 100, 1);
    /* channels 1..17 */
    for (int64_t c = 1; c <= 17; ++c) {
        CHECK(1, c, 6, 9, 18 - c, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        CHECK(1, c, 5, 7, c, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    }
    CHECK(1, 7, 9, 10, 33, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1); /* oc not a block multiple */
    CHECK(1, 5, 6, 20, 100, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
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
    /* wide rows: several tiles per row, overlapping last tile */
    CHECK(1, 3, 4, 150, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 3, 4, 151, 7, 3, 5, 1, 2, 1, 1, 2, 2, 1, 1, 1);
    /* row mode (rows narrower than a vector), several tasks per image so that row groups
     * meet task boundaries; backward with stride 2/3, dilation, odd sizes; forward read in
     * place (no left padding, stride-1 columns) with top padding and vertical stride */
    CHECK(1, 16, 48, 24, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 12, 45, 29, 10, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1);
    CHECK(1, 10, 40, 31, 9, 5, 4, 3, 3, 2, 1, 1, 2, 1, 1, 1);
    CHECK(1, 9, 37, 13, 11, 4, 3, 3, 2, 1, 2, 0, 1, 1, 2, 1);
    CHECK(1, 8, 50, 16, 20, 3, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1);
    CHECK(1, 8, 51, 17, 20, 3, 3, 2, 1, 2, 0, 0, 0, 1, 1, 1);
    CHECK(2, 7, 33, 9, 6, 3, 2, 1, 1, 0, 0, 0, 0, 2, 1, 1);
    /* stride-2 phase split with various left pads and wide rows; whole tiles + tail tile */
    CHECK(1, 3, 9, 100, 7, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1);
    CHECK(1, 3, 9, 101, 7, 3, 5, 2, 2, 2, 2, 2, 3, 1, 1, 1);
    CHECK(1, 3, 9, 97, 7, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1);
    CHECK(1, 20, 14, 14, 30, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1); /* 196-pixel flat row */
    CHECK(1, 5, 3, 113, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    /* 2-D backward tiles (few diff_src channels, rows wider than a vector): tall images so
     * that several tasks split the rows and row groups meet task boundaries; stride 2/3
     * (phase buffer), dilation, 1..4 channels */
    CHECK(3, 1, 40, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);   /* lenet1, taller */
    CHECK(1, 3, 50, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);  /* cifar-like */
    CHECK(1, 2, 45, 70, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 1, 47, 33, 5, 4, 3, 3, 1, 2, 1, 0, 2, 2, 1, 1);
    CHECK(1, 4, 30, 49, 40, 3, 5, 1, 3, 1, 2, 2, 1, 1, 1, 1);
    CHECK(2, 3, 61, 100, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1); /* big7x7-like */
    CHECK(1, 2, 9, 17, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);   /* groups of 1 channel */
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
        pcnn_conv2d_desc d = mk(n, c, ih, iw, oc, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, g);
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
            check_nonfinite_weight(mk(2, 3, 20, 21, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), vars,
                                   nvars, bads[b], 11 + (uint64_t)b);
            check_nonfinite_weight(mk(1, 1, 28, 28, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1), vars,
                                   nvars, bads[b], 21 + (uint64_t)b);
            check_nonfinite_weight(mk(1, 4, 17, 30, 6, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1), vars,
                                   nvars, bads[b], 31 + (uint64_t)b);
            check_nonfinite_weight(mk(1, 2, 12, 40, 3, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1), vars,
                                   nvars, bads[b], 41 + (uint64_t)b);
            cases += 4;
        }
        /* each case: fwd and bwd, for the variant (if it accepts) and the public entry */
        if (nonfinite_checks < cases * nvars * 2) {
            fprintf(stderr, "FAIL: only %ld non-finite comparisons\n", nonfinite_checks);
            ++failures;
        }
    }
    /* every shape: 4 data modes x (threads 1..3 in mode 0, 2 otherwise) x 2 ops */
    const long expected = shapes * nvars * 2 * (3 + 3);
    printf("%ld shapes, %d variants, %ld comparisons, %ld failures\n", shapes, nvars, comparisons,
           failures);
    if (failures != 0) {
        return 1;
    }
    if (comparisons != expected) {
        fprintf(stderr, "FAIL: expected %ld comparisons, ran %ld\n", expected, comparisons);
        return 1;
    }
    return 0;
}
