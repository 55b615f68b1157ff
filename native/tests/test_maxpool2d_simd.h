/*
 * Shared by the max-pool SIMD cross-checks, test_maxpool2d_simd.c (int32 indices: fwd, bwd) and
 * test_maxpool2d_simd_taps.c (the compact tap mask: fwd_taps, bwd_taps): the case corpus and
 * its inputs, the scalar references, and the loop over the vector levels. Split from one test
 * file in session 26 for file length; both tests run the same corpus (the same shapes and
 * inputs for one seed: the corpus draws from its own random stream, the checks from another,
 * so one test's extra draws do not move the other's cases).
 *
 * A test defines, after including this file, the three hooks declared below: check_level
 * (one vector level on one case), check_level_fenced (the same on PROT_NONE-fenced inputs)
 * and check_tap_aliases (int32 only; the mask test's is empty). main calls pool_test_start,
 * then pool_corpus.
 */
#ifndef PCNN_TEST_MAXPOOL2D_SIMD_H
#define PCNN_TEST_MAXPOOL2D_SIMD_H

#include "core/pcnn_internal.h"
#include "test_util.h"

#include "test_platform.h"

/* One case as the hooks see it: an initialised desc, its inputs and the scalar results. */
typedef struct {
    pcnn_maxpool2d_desc d;
    const char *why;
    const float *src, *dd;  /* inputs (fenced: against a PROT_NONE page) */
    const float *ref_dst;   /* scalar forward */
    const int32_t *ref_ind; /* scalar forward's indices */
    const float *ref_ds;    /* scalar int32 backward of dd at ref_ind */
    const int32_t *ind;     /* fenced only: ref_ind in a fenced buffer (else NULL) */
    const uint8_t *taps;    /* fenced only: the scalar fwd_taps in a fenced buffer (else NULL) */
} pool_case;

static void check_level(const pcnn_kernel_table *tab, int32_t level, const pool_case *c);
static void check_level_fenced(const pcnn_kernel_table *tab, int32_t level, const pool_case *c);
static void check_tap_aliases(pcnn_maxpool2d_desc d, const char *why);

/* The checks' random stream, swapped with the corpus's (test_util.h's g_rng) around each hook
 * call (pool_checks_rng_swap twice), so that the corpus is the same in both tests. */
static uint64_t g_checks_rng;

static void pool_checks_rng_swap(void) {
    const uint64_t t = g_rng;
    g_rng = g_checks_rng;
    g_checks_rng = t;
}

/* Every vector level's hook on c (checks stream). */
static void pool_check_levels(const pool_case *c, int fenced) {
    pool_checks_rng_swap();
    for (int32_t level = PCNN_ISA_AVX2; level <= pcnn_isa_detected(); ++level) {
        const pcnn_kernel_table *tab = pcnn_kernel_table_for(level);
        if (tab == NULL) continue;
        if (fenced) {
            check_level_fenced(tab, level, c);
        } else {
            check_level(tab, level, c);
        }
    }
    pool_checks_rng_swap();
}

/* Values with many ties, both zeros, infinities and NaNs of distinct payloads. */
static void fill_hostile(float *p, int64_t n, int nan_rate) {
    for (int64_t i = 0; i < n; ++i) {
        const int r = (int)rng_int(0, 99);
        if (r < nan_rate) {
            p[i] = f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff) |
                               (rng_int(0, 1) ? 0x80000000u : 0u));
        } else if (r < nan_rate + 3) {
            p[i] = rng_int(0, 1) ? INFINITY : -INFINITY;
        } else if (r < nan_rate + 8) {
            p[i] = rng_int(0, 1) ? 0.0f : -0.0f;
        } else {
            p[i] = (float)rng_int(-4, 4);
        }
    }
}

static int same_bits(const float *a, const float *b, int64_t n, int64_t *at) {
    for (int64_t i = 0; i < n; ++i) {
        if (bits_of(a[i]) != bits_of(b[i])) {
            *at = i;
            return 0;
        }
    }
    return 1;
}

/* Cases whose window is larger than the padded input on some axis (ceil mode only). */
static int g_window_larger;

static int window_larger_than_padded(const pcnn_maxpool2d_desc *d) {
    return d->dilation_h * (d->kh - 1) + 1 > d->ih + d->pad_top + d->pad_bottom ||
           d->dilation_w * (d->kw - 1) + 1 > d->iw + d->pad_left + d->pad_right;
}

/* Source fill for run_case (main sets it): 0 hostile random (fill_hostile), 1 constant (ties
 * everywhere), 2 peaks, 3 NaN peaks. Peaks: -1 except every 4th column of every 4th row
 * (phases per plane): with 3x3 stride 2 windows a peak on a column two windows share is both
 * windows' maximum, so neighbouring outputs of a row scatter to the same element, and outputs
 * of neighbouring rows too (added for a dropped AVX-512 gather / scatter backward, see
 * maxpool2d/README-history.md; kept for the scatters that remain). */
static int g_fill;
/* percent of NaN gradients (distinct payloads): two NaNs meeting on one element keep the
 * first sum operand's payload, which the kernels must match */
static int g_dd_nan = 2;
/* percent of +-inf gradients (inf + -inf on one element is the default NaN) */
static int g_dd_inf = 0;

static void fill_src(const pcnn_maxpool2d_desc *d, float *src) {
    const int64_t plane = d->ih * d->iw;
    for (int64_t p = 0; p < d->n * d->c; ++p) {
        float *s = src + p * plane;
        const int64_t ph_c = p % 4, ph_r = (p / 4) % 4;
        for (int64_t i = 0; i < plane; ++i) {
            const int64_t iy = i / d->iw, ix = i % d->iw;
            if (g_fill == 1) {
                s[i] = 0.5f;
            } else if (iy % 4 == ph_r && ix % 4 == ph_c) {
                s[i] = g_fill == 3 ? f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff))
                                   : (float)(1 + p % 3);
            } else {
                s[i] = -1.0f;
            }
        }
    }
}

/* run_case's src: malloc's (-1, the default), or this many bytes past a 64-byte boundary (the
 * AVX-512 2x2 stride-2 loop's half-line loads depend on where rows start in cache lines) */
static int g_src_align = -1;
/* run_case's percent of NaNs among hostile values: -1 (the default) 0 or 6 at random */
static int g_src_nan = -1;

static void run_case(pcnn_maxpool2d_desc d, const char *why) {
    if (pcnn_maxpool2d_desc_init(&d) != PCNN_STATUS_OK) {
        return;
    }
    g_window_larger += window_larger_than_padded(&d);
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
    float *src_mem = gbuf_f(g_src_align < 0 ? ns : ns + 32);
    float *src = src_mem;
    if (g_src_align >= 0) {
        const uintptr_t a = ((uintptr_t)src_mem + 63) / 64 * 64 + (uintptr_t)g_src_align;
        src = src_mem + (a - (uintptr_t)src_mem) / sizeof(float);
    }
    float *dd = gbuf_f(nd);
    const int nan_rate = (int)rng_int(0, 1) ? 6 : 0;
    fill_hostile(src, ns, g_src_nan >= 0 ? g_src_nan : nan_rate);
    if (g_fill != 0) {
        fill_src(&d, src);
    } else if (rng_int(0, 3) == 0) { /* mostly -inf: whole windows of -inf (ties at the bottom) */
        for (int64_t i = 0; i < ns; ++i) {
            if (rng_int(0, 9) < 8) src[i] = -INFINITY;
        }
    }
    for (int64_t i = 0; i < nd; ++i) {
        /* some -0 (0 + -0 is +0 in the scalar sum) and NaNs with payloads among the grads */
        const int r = (int)rng_int(0, 99);
        dd[i] = r < 5 ? -0.0f : r < 5 + g_dd_nan ? f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff))
                : r < 5 + g_dd_nan + g_dd_inf ? (rng_int(0, 1) ? INFINITY : -INFINITY)
                                      : rng_unit();
    }
    float *ref_dst = gbuf_f(nd);
    int32_t *ref_ind = gbuf_i(nd);
    float *ref_ds = gbuf_f(ns);
    CHECK_STATUS(pcnn_maxpool2d_fwd__scalar(&d, src, ref_dst, ref_ind), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_bwd__scalar(&d, dd, ref_ind, ref_ds), PCNN_STATUS_OK);

    const pool_case c = {d, why, src, dd, ref_dst, ref_ind, ref_ds, NULL, NULL};
    pool_check_levels(&c, 0);
    free(src_mem);
    free(dd);
    free(ref_dst);
    free(ref_ind);
    free(ref_ds);
}

/* check_tap_aliases with the checks' random stream */
static void run_tap_aliases(pcnn_maxpool2d_desc d, const char *why) {
    pool_checks_rng_swap();
    check_tap_aliases(d, why);
    pool_checks_rng_swap();
}

/* Every variant on inputs that end (or start) exactly at a PROT_NONE page: the plain loads
 * near the buffer's ends must not read a byte outside it. Results checked against scalar. */
static void run_fenced(pcnn_maxpool2d_desc d, const char *why) {
    if (pcnn_maxpool2d_desc_init(&d) != PCNN_STATUS_OK) {
        return;
    }
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
    for (int at_start = 0; at_start <= 1; ++at_start) {
        /* 4-byte elements right after (at_start) or right before a page that faults */
        test_fenced src = test_fenced_alloc((size_t)ns * 4, at_start),
                    dd = test_fenced_alloc((size_t)nd * 4, at_start),
                    ind = test_fenced_alloc((size_t)nd * 4, at_start),
                    taps = test_fenced_alloc((size_t)nd, at_start);
        float *s = src.p, *g = dd.p;
        for (int64_t i = 0; i < ns; ++i) s[i] = (float)rng_int(-3, 3);
        for (int64_t i = 0; i < nd; ++i) g[i] = rng_unit();
        float *ref_dst = gbuf_f(nd), *dst = gbuf_f(nd), *ref_ds = gbuf_f(ns);
        int32_t *ref_ind = gbuf_i(nd);
        CHECK_STATUS(pcnn_maxpool2d_fwd__scalar(&d, s, ref_dst, ref_ind), PCNN_STATUS_OK);
        memcpy(ind.p, ref_ind, (size_t)nd * 4);
        CHECK_STATUS(pcnn_maxpool2d_bwd__scalar(&d, g, ind.p, ref_ds), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_maxpool2d_fwd_taps__scalar(&d, s, dst, taps.p), PCNN_STATUS_OK);
        const pool_case c = {d, why, s, g, ref_dst, ref_ind, ref_ds, ind.p, taps.p};
        pool_check_levels(&c, 1);
        free(ref_dst);
        free(dst);
        free(ref_ds);
        free(ref_ind);
        test_fenced_free(&src);
        test_fenced_free(&dd);
        test_fenced_free(&ind);
        test_fenced_free(&taps);
    }
}

/* Seeds both random streams (PCNN_TEST_SEED, default 12345) and says so. */
static void pool_test_start(const char *name) {
    uint64_t seed = 12345;
    const char *env = getenv("PCNN_TEST_SEED");
    if (env != NULL) seed = strtoull(env, NULL, 10);
    printf("%s: seed=%" PRIu64 " (set PCNN_TEST_SEED to repeat)\n", name, seed);
    rng_seed(seed);
    g_checks_rng = (seed ^ 0xd1b54a32d192ed03ull) | 1u; /* nonzero: xorshift */
}

/*
 * The case corpus: every config at widths 1-65, random and large-window ceil cases, fenced
 * inputs, many small planes and ring planes at 1 and 2 threads, the benchmark shapes, planes
 * above the cached-backward size with hostile fills, the 3x3 stride-2 rows with all pad pairs
 * (and their tap aliases). Asserts that the small-plane, ring and larger-than-the-window cases
 * were reached.
 */
static void pool_corpus(void) {
    const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                          21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 48, 63, 64, 65};
    const int nw = (int)(sizeof widths / sizeof widths[0]);
    /* kh kw sh sw pt pb pl pr dh dw ceil */
    const int cfg[][11] = {
        {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0}, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
        {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1},
        {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 3, 3, 0, 0, 0, 0, 1, 1, 0},
        {2, 3, 3, 4, 1, 0, 0, 1, 1, 1, 1}, {3, 2, 1, 2, 0, 1, 1, 0, 2, 2, 0},
        {1, 4, 1, 1, 0, 0, 2, 1, 1, 1, 0}, {3, 3, 2, 3, 1, 0, 1, 1, 2, 1, 1},
        {2, 5, 1, 5, 1, 1, 2, 2, 1, 1, 0}, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0},
        /* stride-2 fast paths: kw 2 / 3 with other rows, paddings, dilations; kw = sw = 2
         * non-overlapping windows of 1 and 3 rows (the direct backward) */
        {1, 2, 1, 2, 0, 0, 0, 0, 1, 1, 0}, {3, 2, 3, 2, 0, 0, 0, 0, 1, 1, 0},
        {3, 2, 3, 2, 0, 1, 0, 1, 1, 1, 1}, {2, 2, 2, 2, 1, 0, 1, 0, 1, 1, 0},
        {4, 3, 2, 2, 0, 2, 2, 0, 2, 1, 0}, {3, 3, 3, 2, 2, 0, 0, 2, 1, 1, 1},
        {2, 2, 3, 2, 0, 0, 0, 0, 2, 1, 0},
        /* ceil mode with windows hanging past the padded input and, on narrow inputs, larger
         * than it (PyTorch's output-size rule): general, inside and stride-2 paths */
        {3, 3, 2, 2, 0, 0, 1, 0, 1, 1, 1}, {2, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1},
        {5, 9, 3, 4, 0, 1, 1, 0, 1, 1, 1}, {4, 7, 4, 6, 1, 0, 0, 2, 1, 1, 1},
        {3, 3, 4, 5, 1, 0, 1, 1, 3, 4, 1}, {6, 2, 5, 2, 0, 0, 0, 0, 2, 1, 1},
        {3, 12, 2, 9, 0, 0, 3, 0, 1, 1, 1}, {2, 4, 3, 3, 0, 0, 0, 0, 1, 2, 1},
        /* the row-reuse loop's left block with pad_left 1 (lane 0's tap 0 padded): kw 2,
         * ceil mode without right padding, rows dilated (stride_h 4 = 2 * dilation_h) */
        {3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0}, {3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1},
        {3, 3, 4, 2, 2, 2, 1, 1, 2, 1, 0},
    };
    const int ncfg = (int)(sizeof cfg / sizeof cfg[0]);
    for (int ci = 0; ci < ncfg; ++ci) {
        const int *k = cfg[ci];
        for (int wi = 0; wi < nw; ++wi) {
            const int iw = widths[wi];
            const int ih = (int)rng_int(1, 9);
            char why[96];
            snprintf(why, sizeof why, "cfg %d iw %d ih %d", ci, iw, ih);
            run_case(pool_desc(rng_int(1, 2), rng_int(1, 3), ih, iw, k[0], k[1], k[2], k[3], k[4],
                               k[5], k[6], k[7], k[8], k[9], k[10]),
                     why);
        }
    }
    for (int r = 0; r < 300; ++r) {
        char why[64];
        snprintf(why, sizeof why, "random case %d", r);
        run_case(pool_desc(rng_int(1, 3), rng_int(1, 4), rng_int(1, 40), rng_int(1, 70),
                           rng_int(1, 4), rng_int(1, 5), rng_int(1, 4), rng_int(1, 5),
                           rng_int(0, 2), rng_int(0, 2), rng_int(0, 2), rng_int(0, 2),
                           rng_int(1, 3), rng_int(1, 3), rng_int(0, 1)),
                 why);
    }
    /* small inputs, large (dilated) windows, ceil mode: windows larger than the input */
    for (int r = 0; r < 600; ++r) {
        char why[64];
        snprintf(why, sizeof why, "random large-window ceil case %d", r);
        run_case(pool_desc(rng_int(1, 2), rng_int(1, 3), rng_int(1, 6), rng_int(1, 20),
                           rng_int(1, 8), rng_int(1, 12), rng_int(1, 6), rng_int(1, 8),
                           rng_int(0, 3), rng_int(0, 3), rng_int(0, 3), rng_int(0, 3),
                           rng_int(1, 3), rng_int(1, 3), 1),
                 why);
    }
    /* buffers fenced by PROT_NONE pages, every width of the corpus, all configs */
    for (int ci = 0; ci < ncfg; ++ci) {
        const int *k = cfg[ci];
        for (int wi = 0; wi < nw; ++wi) {
            char why[96];
            snprintf(why, sizeof why, "fenced cfg %d iw %d", ci, widths[wi]);
            run_fenced(pool_desc(1, rng_int(1, 2), rng_int(1, 9), widths[wi], k[0], k[1], k[2],
                                 k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10]),
                       why);
        }
    }
    /* many small planes (n * c from 6 to 60, so none, one or several whole vectors of planes
     * plus leftovers): the lanes-across-planes path for short output rows, every config,
     * thread counts 1 and 2, plain and fenced buffers */
    int small_cases = 0;
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        for (int ci = 0; ci < ncfg; ++ci) {
            const int *k = cfg[ci];
            for (int r = 0; r < 3; ++r) {
                char why[96];
                snprintf(why, sizeof why, "many planes cfg %d #%d threads %d", ci, r, th);
                pcnn_maxpool2d_desc d = pool_desc(rng_int(1, 3), rng_int(6, 20), rng_int(1, 34),
                                                  rng_int(1, 34), k[0], k[1], k[2], k[3], k[4],
                                                  k[5], k[6], k[7], k[8], k[9], k[10]);
                run_case(d, why);
                if (pcnn_maxpool2d_desc_init(&d) == PCNN_STATUS_OK && 2 * d.ow <= 16 &&
                    d.n * d.c >= 16 && d.ih * d.iw <= 1024) {
                    ++small_cases;
                }
                snprintf(why, sizeof why, "fenced many planes cfg %d #%d", ci, r);
                d.n = 1;
                d.c = rng_int(16, 40);
                run_fenced(d, why);
            }
        }
    }
    CHECK(small_cases >= 50, "only %d cases for the small-plane path", small_cases);
    /* larger planes, at least PM_V of them (16 to 40: whole groups plus leftovers): the
     * lanes-across-planes ring path (maxpool2d-planes-fwd.h) for output rows longer than the
     * small-plane path takes; every config (paddings, dilations, ceil mode), odd sizes,
     * thread counts 1 and 2, hostile values (NaNs, -0, ties), plain and fenced buffers */
    int ring_cases = 0;
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        for (int ci = 0; ci < ncfg; ++ci) {
            const int *k = cfg[ci];
            for (int r = 0; r < 2; ++r) {
                char why[96];
                snprintf(why, sizeof why, "ring planes cfg %d #%d threads %d", ci, r, th);
                pcnn_maxpool2d_desc d = pool_desc(rng_int(1, 2), rng_int(8, 20), rng_int(1, 47),
                                                  rng_int(17, 71), k[0], k[1], k[2], k[3], k[4],
                                                  k[5], k[6], k[7], k[8], k[9], k[10]);
                run_case(d, why);
                if (pcnn_maxpool2d_desc_init(&d) == PCNN_STATUS_OK && 2 * d.ow > 16 &&
                    d.n * d.c >= 16) {
                    ++ring_cases;
                }
                snprintf(why, sizeof why, "fenced ring planes cfg %d #%d", ci, r);
                d.n = 1;
                d.c = rng_int(16, 35);
                run_fenced(d, why);
            }
        }
    }
    CHECK(ring_cases >= 40, "only %d cases for the ring path", ring_cases);
    /* the benchmark shapes, thread count 1 and 2 */
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        run_case(pool_desc(4, 6, 24, 24, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_lenet");
        run_case(pool_desc(2, 8, 56, 56, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_mid");
        run_case(pool_desc(1, 4, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_resnet");
        run_case(pool_desc(1, 19, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_resnet, 19 planes");
        run_case(pool_desc(2, 9, 56, 56, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_mid, 18 planes");
        run_case(pool_desc(1, 16, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_small");
        /* enough work for two participants (pm_work): groups split across threads */
        run_case(pool_desc(8, 67, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "pool_small, 536 planes");
        run_case(pool_desc(2, 6, 24, 24, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0), "pool_lenet, 12 planes");
        /* both sides of the backward's cached-plane rule (PM_BWD_CACHED_PLANE = 4096 floats:
         * zero the plane whole, then scatter) and the row-interleaved zeroing above it */
        run_case(pool_desc(1, 3, 64, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "64x64 planes (cached backward)");
        run_case(pool_desc(1, 3, 64, 65, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "64x65 planes (interleaved zeroing)");
        /* rows longer than the mask-mode decode buffer (2048 outputs): the scalar mask loop */
        run_case(pool_desc(1, 3, 5, 4203, 2, 2, 1, 2, 1, 0, 1, 0, 1, 1, 1), "4203-wide rows");
    }
    /* planes above the cached-backward size (4096 floats) over many planes: the large-plane
     * backward (zeroing one output row ahead) and the row-wise forward on plane counts not a
     * multiple of PM_V, odd sizes, ceil mode, dilation, strides 1-3 (shapes from the dropped
     * lanes-across-planes backward of 2026-12-05, kept for the paths that remain) */
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        run_case(pool_desc(1, 17, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "resnet 17 planes");
        run_case(pool_desc(2, 19, 67, 71, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), "67x71 ceil");
        run_case(pool_desc(1, 16, 65, 66, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1), "65x66 no pad ceil");
        run_case(pool_desc(1, 33, 70, 61, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0), "3x3 s1");
        run_case(pool_desc(1, 16, 69, 77, 2, 3, 3, 2, 1, 0, 1, 1, 2, 1, 1), "2x3 s3x2 dil");
        run_case(pool_desc(1, 20, 80, 80, 4, 4, 2, 2, 2, 1, 1, 2, 1, 2, 0), "4x4 dil 2");
        run_case(pool_desc(1, 16, 73, 90, 2, 3, 2, 2, 0, 1, 1, 1, 1, 1, 1), "kh 2 kw 3");
    }
    /* The large-plane backward (ih * iw > 4096) on repeated indices: inputs whose maxima sit
     * on the columns neighbouring windows share (peaks, NaN peaks), ties everywhere (constant),
     * many NaN gradients (two NaNs meeting keep the first operand's payload); rows ending off a
     * multiple of 16, planes just above 4096 floats, odd plane counts, rows shorter than a
     * vector, windows hanging over both ends of a row, window spans up to twice the stride. */
    for (int th = 1; th <= 2; ++th) {
        pcnn_set_num_threads(th);
        for (g_fill = 0; g_fill <= 3; ++g_fill) {
            for (int nan_pct = 2; nan_pct <= 40; nan_pct += 38) {
                g_dd_nan = nan_pct;
                run_case(pool_desc(1, 5, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "resnet fills");
                run_case(pool_desc(1, 7, 41, 100, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "41x100 (4100)");
                run_case(pool_desc(1, 3, 17, 241, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), "17x241 (4097) ceil");
                run_case(pool_desc(3, 3, 401, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0), "401x11 short rows");
                run_case(pool_desc(1, 9, 70, 67, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1), "70x67 no pad ceil");
                run_case(pool_desc(1, 5, 66, 95, 5, 5, 3, 3, 2, 2, 2, 2, 1, 1, 0), "5x5 s3 (pairs)");
                run_case(pool_desc(1, 5, 66, 95, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1), "3x3 s3 (no pairs)");
                run_case(pool_desc(1, 5, 65, 97, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0), "2x2 s2 pad 1");
                run_case(pool_desc(1, 3, 65, 97, 9, 3, 2, 2, 4, 4, 1, 1, 1, 1, 0), "9x3 s2 (kh > 8)");
                run_case(pool_desc(1, 3, 66, 99, 3, 2, 2, 2, 1, 1, 1, 1, 2, 3, 0), "3x2 s2 dil 2x3");
            }
        }
        g_fill = 0;
        g_dd_nan = 2;
    }
    /* The AVX-512 3x3 stride-2 row backward (maxpool2d-s2bwd-avx512.h; planes above 4096
     * floats): odd / even widths and row ends (ow a multiple of 16 or not), pad_top / pad_left
     * 0 and 1 in all four pairs, bottom / right padding, ceil mode, 1-3 threads, -0 / NaN /
     * inf gradients and peak / NaN-peak / constant inputs (shared columns, repeated
     * indices), plus indices that alias a padded tap (run_tap_aliases). */
    {
        const int s2_widths[] = {112, 111, 33, 17, 18, 15, 64, 65, 63, 31, 32, 3, 4, 5};
        g_dd_inf = 3;
        for (int wi = 0; wi < (int)(sizeof s2_widths / sizeof s2_widths[0]); ++wi) {
            const int iw = s2_widths[wi];
            for (int pads = 0; pads < 4; ++pads) {
                const int pt = pads & 1, pl = pads >> 1;
                const int ih = 4097 / iw + 1 + (int)rng_int(0, 5);
                const int ceil_mode = (int)rng_int(0, 1);
                const int pb = (int)rng_int(0, 1), pr = (int)rng_int(0, 1);
                char why[96];
                snprintf(why, sizeof why, "s2 rows %dx%d pt %d pl %d pb %d pr %d ceil %d", ih, iw,
                         pt, pl, pb, pr, ceil_mode);
                g_fill = (int)rng_int(0, 3);
                g_dd_nan = rng_int(0, 1) ? 2 : 30;
                pcnn_set_num_threads((int)rng_int(1, 3));
                run_case(pool_desc(1, rng_int(1, 5), ih, iw, 3, 3, 2, 2, pt, pb, pl, pr, 1, 1,
                                   ceil_mode),
                         why);
                run_tap_aliases(pool_desc(1, rng_int(1, 3), ih, iw, 3, 3, 2, 2, pt, pb, pl, pr, 1,
                                          1, ceil_mode),
                                why);
            }
        }
        g_fill = 0;
        g_dd_nan = 2;
        g_dd_inf = 0;
        pcnn_set_num_threads(1);
        /* the last output row's r0 = ih - 1 (rows r0 + 1, r0 + 2 below the input): ky 1 of that
         * row is one past the plane, which main's row path took for canonical (kind 4) */
        for (int r = 0; r < 4; ++r) {
            run_tap_aliases(pool_desc(1, 2, 65, 112, 3, 3, 2, 2, 0, 1, 1, 1, 1, 1, 1), "65x112 pb 1 ceil");
            run_tap_aliases(pool_desc(1, 2, 66, 75, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1), "66x75 pt 1 pb 1 ceil");
        }
    }
    /* 2x2 stride-2 planes (maxpool2d-s2k2-simd.h's loop) with rows of 8 mod 16 floats
     * (pool_mid's 56: rows alternate between starting on a cache line and half way into one;
     * a dropped variant of the loop loaded those by whole lines, README session 27) and other
     * widths, inputs on a 64-byte boundary and 16, 32, 48 bytes past it, odd plane heights
     * (planes alternating too), pad_top (the first inner row moves), ceil mode; hostile values
     * without NaNs (every block on the NaN-free path: -0 / +0 and other ties, infinities),
     * with 1% NaNs (about half the blocks redone by the scan rule), peak / constant fills */
    {
        const int k2_widths[] = {56, 40, 48, 72, 80, 88, 24, 57, 112, 120};
        for (int wi = 0; wi < (int)(sizeof k2_widths / sizeof k2_widths[0]); ++wi) {
            for (int k = 0; k < 12; ++k) {
                const int off = k / 3 * 16, fill = k % 3;
                const int iw = k2_widths[wi], ih = (int)rng_int(2, 13) * 2 + (int)rng_int(0, 1);
                const int pt = (int)rng_int(0, 3) == 0, ceil_mode = (int)rng_int(0, 1);
                g_fill = fill == 2 ? (int)rng_int(1, 3) : 0;
                g_src_nan = fill;
                char why[96];
                snprintf(why, sizeof why, "2x2 s2 %dx%d src +%d pt %d ceil %d fill %d nan %d", ih,
                         iw, off, pt, ceil_mode, g_fill, g_src_nan);
                g_src_align = off;
                pcnn_set_num_threads((int)rng_int(1, 2));
                run_case(pool_desc(rng_int(1, 2), rng_int(1, 5), ih, iw, 2, 2, 2, 2, pt, pt, 0, 0,
                                   1, 1, ceil_mode),
                         why);
            }
        }
        g_src_align = -1;
        g_src_nan = -1;
        g_fill = 0;
        pcnn_set_num_threads(1);
    }
    CHECK(g_window_larger >= 100, "only %d cases with a window larger than the padded input",
          g_window_larger);
}

#endif /* PCNN_TEST_MAXPOOL2D_SIMD_H */
