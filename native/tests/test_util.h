/* Tiny helpers shared by the C tests: check macros, guarded buffers, a seeded RNG. */
#ifndef PCNN_TEST_UTIL_H
#define PCNN_TEST_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panamacnn/panamacnn.h"
#include "test_conv_describe.h"

static int g_failures;
static int g_checks;

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        ++g_checks;                                                                   \
        if (!(cond)) {                                                                \
            ++g_failures;                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                    \
        }                                                                             \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                  \
    do {                                                                              \
        const int32_t st_ = (expr);                                                   \
        CHECK(st_ == (expected), "got %d (%s), expected %d (%s)", (int)st_,          \
              pcnn_status_str(st_), (int)(expected), pcnn_status_str(expected));     \
    } while (0)

static inline int test_finish(const char *name) {
    printf("%s: %d checks, %d failures\n", name, g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}

/* ---- guarded buffers: GUARD elements after the payload, filled with a sentinel ---- */
#define GUARD 16
static const uint32_t SENTINEL_BITS = 0x7fbadbadu; /* a signalling-NaN pattern */
static const uint32_t PREFILL_NAN_BITS = 0x7fc00123u;

static inline float f_from_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}
static inline uint32_t bits_of(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* A float buffer of n elements with guards; payload prefilled with NaN. */
static inline float *gbuf_f(int64_t n) {
    uint32_t *p = malloc((size_t)(n + GUARD) * sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "test: out of memory\n");
        exit(2);
    }
    for (int64_t i = 0; i < n; ++i) p[i] = PREFILL_NAN_BITS;
    for (int64_t i = n; i < n + GUARD; ++i) p[i] = SENTINEL_BITS;
    return (float *)p;
}
static inline int32_t *gbuf_i(int64_t n) {
    int32_t *p = malloc((size_t)(n + GUARD) * sizeof(int32_t));
    if (p == NULL) {
        fprintf(stderr, "test: out of memory\n");
        exit(2);
    }
    for (int64_t i = 0; i < n; ++i) p[i] = -7;
    for (int64_t i = n; i < n + GUARD; ++i) p[i] = (int32_t)SENTINEL_BITS;
    return p;
}
static inline int guard_ok(const void *buf, int64_t n) {
    const uint32_t *p = buf;
    for (int64_t i = n; i < n + GUARD; ++i) {
        if (p[i] != SENTINEL_BITS) return 0;
    }
    return 1;
}
static inline void prefill_nan(float *p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) p[i] = f_from_bits(PREFILL_NAN_BITS);
}

/* ---- RNG (xorshift64*) ---- */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static inline void rng_seed(uint64_t s) { g_rng = s ? s : 0x9e3779b97f4a7c15ull; }
static inline uint64_t rng_next(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545f4914f6cdd1dull;
}
static inline int64_t rng_int(int64_t lo, int64_t hi) { /* inclusive */
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}
static inline float rng_unit(void) { /* [-1, 1) */
    return (float)((double)(rng_next() >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}
static inline void fill_ints(float *p, int64_t n, int lo, int hi) {
    for (int64_t i = 0; i < n; ++i) p[i] = (float)rng_int(lo, hi);
}

static inline int64_t conv_src_count(const pcnn_conv2d_desc *d) { return d->n * d->c * d->ih * d->iw; }
static inline int64_t conv_dst_count(const pcnn_conv2d_desc *d) { return d->n * d->oc * d->oh * d->ow; }
static inline int64_t conv_w_count(const pcnn_conv2d_desc *d) {
    return d->oc * (d->c / d->groups) * d->kh * d->kw;
}
static inline int64_t pool_src_count(const pcnn_maxpool2d_desc *d) { return d->n * d->c * d->ih * d->iw; }
static inline int64_t pool_dst_count(const pcnn_maxpool2d_desc *d) { return d->n * d->c * d->oh * d->ow; }

/* Guarded buffers for every array of the three conv2d passes of one desc (gbuf_f: guard
 * words after each, checked by guard_ok); free with conv_bufs_free. */
typedef struct {
    float *src, *w, *b, *dst, *dd, *ds, *dw, *db;
} conv_bufs;

static inline conv_bufs conv_bufs_alloc(const pcnn_conv2d_desc *d) {
    conv_bufs x;
    x.src = gbuf_f(conv_src_count(d));
    x.ds = gbuf_f(conv_src_count(d));
    x.w = gbuf_f(conv_w_count(d));
    x.dw = gbuf_f(conv_w_count(d));
    x.b = gbuf_f(d->oc);
    x.db = gbuf_f(d->oc);
    x.dst = gbuf_f(conv_dst_count(d));
    x.dd = gbuf_f(conv_dst_count(d));
    return x;
}

static inline void conv_bufs_free(conv_bufs *x) {
    float *all[] = {x->src, x->w, x->b, x->dst, x->dd, x->ds, x->dw, x->db};
    for (int i = 0; i < 8; i++) free(all[i]);
}

static inline pcnn_maxpool2d_desc pool_desc(int64_t n, int64_t c, int64_t ih, int64_t iw, int64_t kh,
                                     int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pb,
                                     int64_t pl, int64_t pr, int64_t dh, int64_t dw,
                                     int64_t ceil_mode) {
    pcnn_maxpool2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = n; d.c = c; d.ih = ih; d.iw = iw; d.kh = kh; d.kw = kw;
    d.stride_h = sh; d.stride_w = sw; d.pad_top = pt; d.pad_bottom = pb; d.pad_left = pl;
    d.pad_right = pr; d.dilation_h = dh; d.dilation_w = dw; d.ceil_mode = ceil_mode;
    return d;
}

#endif /* PCNN_TEST_UTIL_H */
