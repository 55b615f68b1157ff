/*
 * Convolution harness support: a small geometry and its data decoded from the fuzz input,
 * an independent double-precision reference of the three operations (from the header's
 * formulas, not from the kernels), and the comparison every variant must pass.
 *
 * Comparison (the bound of java/.../nativeimpl/Tolerance.java, docs in native/fuzz/README.md):
 *  - integer-valued data (small ints): every partial sum is exact, so each variant must
 *    equal the reference exactly;
 *  - float data: |got - exact| <= gamma(K) * S + K * 2^-149, gamma(K) = K*u/(1-K*u) + 2u,
 *    u = 2^-24, S the same sum over absolute values, K the reduction length;
 *  - a non-finite exact value: NaN must give NaN, +-Inf the same infinity (padded taps are
 *    skipped, as in the scalar kernel: they never turn Inf into NaN).
 * Finite magnitudes stay <= 2^9, so no float sum can overflow.
 */
#ifndef PCNN_FUZZ_CONV_H
#define PCNN_FUZZ_CONV_H

#include "fuzz_common.h"
#include "../tests/test_describe_short.h"

/* Work cap (multiply-adds of one variant run): keeps every execution well under a second
 * under ASan while still reaching the wide-channel and long-row kernel paths. */
#define FZ_CONV_MAX_MACS 3000000

typedef struct {
    pcnn_conv2d_desc d;
    int integer;   /* data are small integers: results must be exact */
    int with_bias; /* forward: bias pointer given; bwd_weights: diff_bias pointer given */
    unsigned misalign[6];
} fz_conv_case;

/* Decodes a geometry; returns 0 when the input does not give a valid, affordable one. */
static inline int fz_conv_decode(fz_reader *r, fz_conv_case *k) {
    memset(k, 0, sizeof *k);
    pcnn_conv2d_desc *d = &k->d;
    d->n = fz_small(r, 1, 3);
    d->groups = fz_small(r, 1, 4);
    const uint8_t depthwise = fz_u8(r);
    const int64_t cg = depthwise >= 224 ? 1 : fz_small(r, 1, 9);
    /* mostly small; sometimes >= 96 output channels per group (AVX-512 wide paths) */
    const uint8_t ocb = fz_u8(r);
    const int64_t ocg = ocb >= 240 ? 90 + (ocb - 240) * 3 : 1 + ocb % 20;
    d->c = d->groups * cg;
    d->oc = d->groups * (depthwise >= 224 ? 1 + depthwise % 2 : ocg);
    d->ih = fz_small(r, 1, 20);
    d->iw = fz_small(r, 1, 72);
    d->kh = fz_small(r, 1, 7);
    d->kw = fz_small(r, 1, 7);
    d->stride_h = fz_small(r, 1, 4);
    d->stride_w = fz_small(r, 1, 4);
    d->pad_top = fz_small(r, 0, 7);
    d->pad_bottom = fz_small(r, 0, 7);
    d->pad_left = fz_small(r, 0, 7);
    d->pad_right = fz_small(r, 0, 7);
    d->dilation_h = fz_small(r, 1, 4);
    d->dilation_w = fz_small(r, 1, 4);
    const uint8_t flags = fz_u8(r);
    k->integer = flags & 1;
    k->with_bias = (flags >> 1) & 1;
    const uint8_t threads = (flags >> 2) & 1;
    for (int i = 0; i < 6; ++i) k->misalign[i] = fz_u8(r);
    if (pcnn_conv2d_desc_init(d) != PCNN_STATUS_OK) {
        if (fz_verbose) fprintf(stderr, "conv: no valid geometry\n");
        return 0;
    }
    const int64_t macs = d->n * d->oc * d->oh * d->ow * cg * d->kh * d->kw;
    if (fz_verbose) {
        char desc[256];
        conv_describe_short(d, desc, sizeof desc);
        fprintf(stderr, "conv: %s, %s data, %s, %d thread(s), %" PRId64 " MACs%s\n", desc,
                k->integer ? "integer" : "float", k->with_bias ? "bias" : "no bias",
                threads ? 2 : 1, macs, macs > FZ_CONV_MAX_MACS ? " (too many: skipped)" : "");
    }
    if (macs > FZ_CONV_MAX_MACS) return 0;
    pcnn_set_num_threads(threads ? 2 : 1);
    return 1;
}

static inline int64_t fz_conv_src_n(const pcnn_conv2d_desc *d) { return d->n * d->c * d->ih * d->iw; }
static inline int64_t fz_conv_dst_n(const pcnn_conv2d_desc *d) { return d->n * d->oc * d->oh * d->ow; }
static inline int64_t fz_conv_w_n(const pcnn_conv2d_desc *d) {
    return d->oc * (d->c / d->groups) * d->kh * d->kw;
}

/* One value. Integer mode: -3..3. Float mode: mostly x/64 for a 15-bit x (|v| < 2^9), with
 * rare specials (+-Inf, NaN, subnormals, -0). Past the input's end: seeded random floats in
 * [-1, 1) with full mantissas, and small integers in integer mode. */
static inline float fz_conv_value(fz_reader *r, int integer) {
    if (!fz_left(r)) {
        const uint64_t x = fz_rng(r);
        if (integer) return (float)((int)(x % 7) - 3);
        return (float)((double)(x >> 40) / (double)(1u << 23) - 1.0);
    }
    if (integer) return (float)((int)(fz_u8(r) % 7) - 3);
    const uint16_t x = fz_u16(r);
    if ((x & 0xf800) == 0xf800) { /* 1 in 32 */
        switch (x & 7) {
        case 0: return INFINITY;
        case 1: return -INFINITY;
        case 2: return fz_f_from_bits(0x7fc00000u | (x & 0x7f0u));
        case 3: return fz_f_from_bits(0x00000001u + ((x >> 3) & 0xffu) * 4099u); /* subnormal */
        case 4: return -0.0f;
        default: return 0.0f;
        }
    }
    return (float)(int16_t)(x << 1) / 128.0f;
}

static inline void fz_conv_fill(fz_reader *r, float *p, int64_t n, int integer) {
    for (int64_t i = 0; i < n; ++i) p[i] = fz_conv_value(r, integer);
}

/* ---- double reference: value and absolute sum per element ---- */

static inline double fz_src_at(const pcnn_conv2d_desc *d, const float *src, int64_t n, int64_t c,
                               int64_t iy, int64_t ix) {
    return src[((n * d->c + c) * d->ih + iy) * d->iw + ix];
}

static inline void fz_conv_ref_fwd(const pcnn_conv2d_desc *d, const float *src, const float *w,
                                   const float *bias, double *val, double *abs_sum) {
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    for (int64_t n = 0; n < d->n; ++n)
        for (int64_t o = 0; o < d->oc; ++o)
            for (int64_t y = 0; y < d->oh; ++y)
                for (int64_t x = 0; x < d->ow; ++x) {
                    double v = 0, a = 0;
                    const int64_t g = o / ocg;
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t ky = 0; ky < d->kh; ++ky) {
                            const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                            if (iy < 0 || iy >= d->ih) continue;
                            for (int64_t kx = 0; kx < d->kw; ++kx) {
                                const int64_t ix =
                                    x * d->stride_w - d->pad_left + kx * d->dilation_w;
                                if (ix < 0 || ix >= d->iw) continue;
                                const double t = fz_src_at(d, src, n, g * cg + ci, iy, ix) *
                                                 (double)w[((o * cg + ci) * d->kh + ky) * d->kw + kx];
                                v += t;
                                a += fabs(t);
                            }
                        }
                    if (bias != NULL) {
                        v += bias[o];
                        a += fabs((double)bias[o]);
                    }
                    const int64_t at = ((n * d->oc + o) * d->oh + y) * d->ow + x;
                    val[at] = v;
                    abs_sum[at] = a;
                }
}

/* diff_src by scattering every (output position, tap) pair: the adjoint of forward. */
static inline void fz_conv_ref_bwd_data(const pcnn_conv2d_desc *d, const float *dd, const float *w,
                                        double *val, double *abs_sum) {
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    const int64_t ns = fz_conv_src_n(d);
    for (int64_t i = 0; i < ns; ++i) val[i] = abs_sum[i] = 0;
    for (int64_t n = 0; n < d->n; ++n)
        for (int64_t o = 0; o < d->oc; ++o)
            for (int64_t y = 0; y < d->oh; ++y)
                for (int64_t x = 0; x < d->ow; ++x) {
                    const double g_out = dd[((n * d->oc + o) * d->oh + y) * d->ow + x];
                    const int64_t g = o / ocg;
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t ky = 0; ky < d->kh; ++ky) {
                            const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                            if (iy < 0 || iy >= d->ih) continue;
                            for (int64_t kx = 0; kx < d->kw; ++kx) {
                                const int64_t ix =
                                    x * d->stride_w - d->pad_left + kx * d->dilation_w;
                                if (ix < 0 || ix >= d->iw) continue;
                                const double t =
                                    g_out * (double)w[((o * cg + ci) * d->kh + ky) * d->kw + kx];
                                const int64_t at = ((n * d->c + g * cg + ci) * d->ih + iy) * d->iw + ix;
                                val[at] += t;
                                abs_sum[at] += fabs(t);
                            }
                        }
                }
}

/* diff_weights (first fz_conv_w_n elements) and diff_bias (the next oc elements). */
static inline void fz_conv_ref_bwd_weights(const pcnn_conv2d_desc *d, const float *src,
                                           const float *dd, double *val, double *abs_sum) {
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    const int64_t nw = fz_conv_w_n(d);
    for (int64_t i = 0; i < nw + d->oc; ++i) val[i] = abs_sum[i] = 0;
    for (int64_t n = 0; n < d->n; ++n)
        for (int64_t o = 0; o < d->oc; ++o)
            for (int64_t y = 0; y < d->oh; ++y)
                for (int64_t x = 0; x < d->ow; ++x) {
                    const double g_out = dd[((n * d->oc + o) * d->oh + y) * d->ow + x];
                    val[nw + o] += g_out;
                    abs_sum[nw + o] += fabs(g_out);
                    const int64_t g = o / ocg;
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t ky = 0; ky < d->kh; ++ky) {
                            const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                            if (iy < 0 || iy >= d->ih) continue;
                            for (int64_t kx = 0; kx < d->kw; ++kx) {
                                const int64_t ix =
                                    x * d->stride_w - d->pad_left + kx * d->dilation_w;
                                if (ix < 0 || ix >= d->iw) continue;
                                const double t = fz_src_at(d, src, n, g * cg + ci, iy, ix) * g_out;
                                const int64_t at = ((o * cg + ci) * d->kh + ky) * d->kw + kx;
                                val[at] += t;
                                abs_sum[at] += fabs(t);
                            }
                        }
                }
}

/* ---- comparison ---- */

static inline double fz_gamma(int64_t k) {
    const double u = 0x1p-24, ku = (double)k * u;
    return ku >= 1.0 ? INFINITY : ku / (1.0 - ku) + 2.0 * u;
}

/* Fails unless got[0..n) agrees with the exact values as described at the top. */
static inline void fz_conv_compare(const char *what, const char *variant, const fz_conv_case *k,
                                   const float *got, const double *val, const double *abs_sum,
                                   int64_t n, int64_t reduction) {
    const double gamma = fz_gamma(reduction);
    for (int64_t i = 0; i < n; ++i) {
        const double e = val[i], a = got[i];
        const float ef = (float)e;
        int ok;
        double bound = 0;
        if (isnan(e) || isnan(a)) {
            ok = isnan(e) && isnan(a);
        } else if (isinf(e) || isinf(ef) || isinf(a)) {
            ok = a == (double)ef;
        } else if (k->integer) {
            ok = a == e;
        } else {
            bound = gamma * abs_sum[i] + (double)reduction * 0x1p-149;
            ok = fabs(a - e) <= bound;
        }
        if (!ok) {
            char desc[256];
            conv_describe_short(&k->d, desc, sizeof desc);
            fz_fail("%s %s [%s, %s data, %s]: element %" PRId64 " of %" PRId64
                    " = %.9g, exact %.17g, |error| %.3g > bound %.3g (K = %" PRId64
                    ", S = %.6g)",
                    what, variant, desc, k->integer ? "integer" : "float",
                    k->with_bias ? "bias" : "no bias", i, n, a, e, fabs(a - e), bound,
                    reduction, abs_sum[i]);
        }
    }
}

/* Integer data: a SIMD variant must equal the scalar kernel exactly (value equality). */
static inline void fz_conv_equal_scalar(const char *what, const char *variant,
                                        const fz_conv_case *k, const float *got,
                                        const float *scalar, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (!(got[i] == scalar[i]) && !(isnan(got[i]) && isnan(scalar[i]))) {
            char desc[256];
            conv_describe_short(&k->d, desc, sizeof desc);
            fz_fail("%s %s [%s, integer data]: element %" PRId64 " = %.9g, scalar %.9g", what,
                    variant, desc, i, got[i], scalar[i]);
        }
    }
}

#endif /* PCNN_FUZZ_CONV_H */
