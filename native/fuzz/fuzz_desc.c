/*
 * Fuzz harness: descriptor validation, pcnn_conv2d_desc_init and pcnn_maxpool2d_desc_init on
 * arbitrary int64 fields (overflow-sized ones included), checked against an oracle written
 * from the header's rules in 128-bit arithmetic:
 *  - it never crashes or hangs, returns OK, INVALID_ARGUMENT or OUT_OF_RANGE, and writes
 *    nothing but oh / ow (and those only on success);
 *  - conv: accepted exactly when the header's requirements hold; oh / ow are the header's
 *    formulas; a rejection is OUT_OF_RANGE only for an overflow (a count, or an intermediate
 *    of the formulas, beyond int64) and INVALID_ARGUMENT only for a broken rule;
 *  - max-pool: an accepted desc has the header's / PyTorch's output size (floor or ceil,
 *    ceil dropping a last window that starts past the input and left padding), every window
 *    has at least one input position, ih*iw <= INT32_MAX and every count fits in int64; a
 *    desc whose dilated window fits in the padded input and that satisfies all of those must
 *    be accepted;
 *  - the public entry points re-validate: given the raw desc (with the input's own oh / ow,
 *    possibly stale or forged) they return the same error as desc_init, INVALID_ARGUMENT
 *    for an oh / ow that does not match, and only otherwise run (on buffers of exactly the
 *    implied sizes, when those are small).
 * Input: a selector byte per field (small value, boundary value, or 8 raw bytes).
 */
#include "fuzz_common.h"

typedef __int128 i128;

static int64_t field(fz_reader *r) {
    static const int64_t edges[] = {
        0, 1, -1, 2, 3, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1, INT64_MAX / 2,
        INT64_MAX / 2 + 1, INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN, 65535, 65536, 46340,
        46341, (int64_t)1 << 31, (int64_t)1 << 32, (int64_t)1 << 62, 3037000499, 3037000500,
        2097151, 2097152};
    const uint8_t sel = fz_u8(r);
    if (sel < 160) return (int64_t)(sel % 40) - 4;               /* -4..35 */
    if (sel < 224) return edges[(sel - 160) % (sizeof edges / sizeof edges[0])];
    if (sel < 240) return (int64_t)fz_u16(r);
    return (int64_t)fz_u64(r);
}

static int fits(i128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

static i128 floor_div(i128 a, i128 b) { /* b > 0 */
    i128 q = a / b;
    if ((a % b != 0) && (a < 0)) --q;
    return q;
}

/* ---- conv ---- */

typedef struct {
    int invalid;  /* a rule of the header is broken */
    int overflow; /* a count or an intermediate of the formulas exceeds int64 */
    i128 oh, ow;
} verdict;

static void conv_axis(i128 in, i128 k, i128 plo, i128 phi, i128 dil, i128 stride, verdict *v,
                      i128 *out) {
    const i128 padded = in + plo + phi, extent = dil * (k - 1) + 1;
    if (!fits(padded) || !fits(dil * (k - 1)) || !fits(extent)) v->overflow = 1;
    if (extent > padded) v->invalid = 1;
    *out = floor_div(padded - extent, stride) + 1;
}

static verdict conv_oracle(const pcnn_conv2d_desc *d) {
    verdict v = {0, 0, 0, 0};
    if (d->n < 1 || d->c < 1 || d->ih < 1 || d->iw < 1 || d->oc < 1 || d->kh < 1 || d->kw < 1 ||
        d->stride_h < 1 || d->stride_w < 1 || d->dilation_h < 1 || d->dilation_w < 1 ||
        d->groups < 1 || d->pad_top < 0 || d->pad_bottom < 0 || d->pad_left < 0 ||
        d->pad_right < 0) {
        v.invalid = 1;
        return v; /* the formulas below need positive sizes */
    }
    if (d->c % d->groups != 0 || d->oc % d->groups != 0) v.invalid = 1;
    conv_axis(d->ih, d->kh, d->pad_top, d->pad_bottom, d->dilation_h, d->stride_h, &v, &v.oh);
    conv_axis(d->iw, d->kw, d->pad_left, d->pad_right, d->dilation_w, d->stride_w, &v, &v.ow);
    if (v.invalid) return v;
    /* element counts; products of values < 2^63 in 128 bits, checked step by step */
    const i128 src[4] = {d->n, d->c, d->ih, d->iw}, dst[4] = {d->n, d->oc, v.oh, v.ow},
               w[4] = {d->oc, d->c / d->groups, d->kh, d->kw};
    const i128 *all[3] = {src, dst, w};
    for (int t = 0; t < 3; ++t) {
        i128 p = 1;
        for (int i = 0; i < 4 && !v.overflow; ++i) {
            p *= all[t][i];
            if (!fits(p)) v.overflow = 1;
        }
    }
    return v;
}

/* ---- max-pool ---- */

typedef struct {
    int kernel_fits;     /* the dilated window fits in the padded input on both axes */
    int ok;              /* sizes >= 1, ih*iw <= INT32_MAX, counts fit in int64 */
    int windows_ok;      /* every window has an input position (as far as checked) */
    int windows_checked; /* few enough windows in the padding to enumerate them all */
    int overflow;
    i128 oh, ow;
} pool_verdict;

/* Has the window starting at s a tap s + j*dil (0 <= j < k) in [0, in)? */
static int window_has_tap(i128 s, i128 in, i128 k, i128 dil) {
    if (s >= in) return 0;
    if (s >= 0) return 1;
    const i128 j0 = (-s + dil - 1) / dil; /* first tap at or after 0 */
    return j0 < k && s + j0 * dil < in;
}

/* PyTorch's output size (pooling_output_shape) and the window rule on one axis. */
static void pool_axis(i128 in, i128 k, i128 plo, i128 phi, i128 dil, i128 stride, int ceil_mode,
                      pool_verdict *v, i128 *out) {
    const i128 padded = in + plo + phi, extent = dil * (k - 1) + 1;
    if (!fits(padded) || !fits(dil * (k - 1)) || !fits(extent)) v->overflow = 1;
    if (extent > padded) v->kernel_fits = 0;
    i128 o = floor_div(padded - extent + (ceil_mode ? stride - 1 : 0), stride) + 1;
    if (ceil_mode && (o - 1) * stride >= in + plo) --o;
    *out = o;
    if (o < 1) {
        v->ok = 0;
        return;
    }
    /* windows that may lack a tap start in the left padding or at/after the input's end */
    const i128 first_past = floor_div(in + plo + stride - 1, stride); /* first o with s >= in */
    if (o > first_past) v->windows_ok = 0; /* such a window has no tap */
    const i128 left = (plo + stride - 1) / stride; /* windows with s < 0 */
    if (left > 100000) {
        v->windows_checked = 0;
        return;
    }
    for (i128 i = 0; i < o && i < left; ++i) {
        if (!window_has_tap(i * stride - plo, in, k, dil)) v->windows_ok = 0;
    }
}

static pool_verdict pool_oracle(const pcnn_maxpool2d_desc *d) {
    pool_verdict v = {1, 1, 1, 1, 0, 0, 0};
    if (d->n < 1 || d->c < 1 || d->ih < 1 || d->iw < 1 || d->kh < 1 || d->kw < 1 ||
        d->stride_h < 1 || d->stride_w < 1 || d->dilation_h < 1 || d->dilation_w < 1 ||
        d->pad_top < 0 || d->pad_bottom < 0 || d->pad_left < 0 || d->pad_right < 0) {
        v.ok = 0;
        return v;
    }
    const int ceil_mode = d->ceil_mode != 0;
    pool_axis(d->ih, d->kh, d->pad_top, d->pad_bottom, d->dilation_h, d->stride_h, ceil_mode, &v,
              &v.oh);
    pool_axis(d->iw, d->kw, d->pad_left, d->pad_right, d->dilation_w, d->stride_w, ceil_mode, &v,
              &v.ow);
    if ((i128)d->ih * d->iw > INT32_MAX) v.ok = 0;
    if (v.ok) {
        const i128 src[4] = {d->n, d->c, d->ih, d->iw}, dst[4] = {d->n, d->c, v.oh, v.ow};
        const i128 *all[2] = {src, dst};
        for (int t = 0; t < 2; ++t) {
            i128 p = 1;
            for (int i = 0; i < 4; ++i) {
                p *= all[t][i];
                if (!fits(p)) {
                    v.overflow = 1;
                    v.ok = 0;
                    break;
                }
            }
        }
    }
    return v;
}

/* ---- checks ---- */

static void conv_fields(const pcnn_conv2d_desc *d, char *buf, size_t len) {
    snprintf(buf, len,
             "n %" PRId64 " c %" PRId64 " ih %" PRId64 " iw %" PRId64 " oc %" PRId64 " kh %" PRId64
             " kw %" PRId64 " s %" PRId64 ",%" PRId64 " pad %" PRId64 ",%" PRId64 ",%" PRId64
             ",%" PRId64 " dil %" PRId64 ",%" PRId64 " groups %" PRId64,
             d->n, d->c, d->ih, d->iw, d->oc, d->kh, d->kw, d->stride_h, d->stride_w, d->pad_top,
             d->pad_bottom, d->pad_left, d->pad_right, d->dilation_h, d->dilation_w, d->groups);
}
static void pool_fields(const pcnn_maxpool2d_desc *d, char *buf, size_t len) {
    snprintf(buf, len,
             "n %" PRId64 " c %" PRId64 " ih %" PRId64 " iw %" PRId64 " kh %" PRId64 " kw %" PRId64
             " s %" PRId64 ",%" PRId64 " pad %" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
             " dil %" PRId64 ",%" PRId64 " ceil %" PRId64,
             d->n, d->c, d->ih, d->iw, d->kh, d->kw, d->stride_h, d->stride_w, d->pad_top,
             d->pad_bottom, d->pad_left, d->pad_right, d->dilation_h, d->dilation_w, d->ceil_mode);
}

#define SMALL_BUFFER ((int64_t)1 << 16) /* elements: entry points run only below this */

static float *exact_f(int64_t n) { return malloc((size_t)n * sizeof(float)); }

static void check_conv(const pcnn_conv2d_desc *raw) {
    pcnn_conv2d_desc d = *raw;
    const int32_t st = pcnn_conv2d_desc_init(&d);
    char txt[400];
    conv_fields(raw, txt, sizeof txt);
    FZ_CHECK(st == PCNN_STATUS_OK || st == PCNN_STATUS_INVALID_ARGUMENT ||
                 st == PCNN_STATUS_OUT_OF_RANGE,
             "conv desc_init [%s]: status %d", txt, st);
    pcnn_conv2d_desc cmp = d;
    cmp.oh = raw->oh;
    cmp.ow = raw->ow;
    FZ_CHECK(memcmp(&cmp, raw, sizeof cmp) == 0, "conv desc_init [%s] changed an input field", txt);
    const verdict v = conv_oracle(raw);
    if (st == PCNN_STATUS_OK) {
        FZ_CHECK(!v.invalid && !v.overflow, "conv desc_init [%s] accepted a desc the header "
                 "rejects (%s)", txt, v.invalid ? "a rule is broken" : "a size overflows int64");
        FZ_CHECK(d.oh == v.oh && d.ow == v.ow, "conv desc_init [%s]: oh %" PRId64 " ow %" PRId64
                 ", the header's formula gives %" PRId64 " x %" PRId64, txt, d.oh, d.ow,
                 (int64_t)v.oh, (int64_t)v.ow);
    } else {
        FZ_CHECK(d.oh == raw->oh && d.ow == raw->ow, "conv desc_init [%s] wrote oh/ow on failure", txt);
        FZ_CHECK(v.invalid || v.overflow, "conv desc_init [%s] rejected a valid desc (status %d, "
                 "oh %" PRId64 " ow %" PRId64 ")", txt, st, (int64_t)v.oh, (int64_t)v.ow);
        FZ_CHECK(st != PCNN_STATUS_OUT_OF_RANGE || v.overflow,
                 "conv desc_init [%s]: OUT_OF_RANGE but nothing overflows", txt);
        FZ_CHECK(st != PCNN_STATUS_INVALID_ARGUMENT || v.invalid,
                 "conv desc_init [%s]: INVALID_ARGUMENT but only an overflow is wrong", txt);
    }
    /* entry points on the raw desc: same error, forged oh/ow rejected, else they run */
    const int matches = st == PCNN_STATUS_OK && d.oh == raw->oh && d.ow == raw->ow;
    const int32_t want = st != PCNN_STATUS_OK ? st : PCNN_STATUS_INVALID_ARGUMENT;
    if (!matches) {
        float one[1] = {0};
        FZ_CHECK(pcnn_conv2d_fwd(raw, one, one, NULL, one) == want, "pcnn_conv2d_fwd [%s]", txt);
        FZ_CHECK(pcnn_conv2d_bwd_data(raw, one, one, one) == want, "pcnn_conv2d_bwd_data [%s]", txt);
        FZ_CHECK(pcnn_conv2d_bwd_weights(raw, one, one, one, one) == want,
                 "pcnn_conv2d_bwd_weights [%s]", txt);
        return;
    }
    const int64_t ns = d.n * d.c * d.ih * d.iw, nd = d.n * d.oc * d.oh * d.ow;
    const int64_t nw = d.oc * (d.c / d.groups) * d.kh * d.kw;
    if (ns > SMALL_BUFFER || nd > SMALL_BUFFER || nw > SMALL_BUFFER ||
        nd * (d.c / d.groups) * d.kh * d.kw > 4 * SMALL_BUFFER) {
        return;
    }
    float *src = exact_f(ns), *dst = exact_f(nd), *w = exact_f(nw), *b = exact_f(d.oc);
    FZ_CHECK(src && dst && w && b, "out of memory");
    for (int64_t i = 0; i < ns; ++i) src[i] = 1.0f;
    for (int64_t i = 0; i < nw; ++i) w[i] = 1.0f;
    for (int64_t i = 0; i < d.oc; ++i) b[i] = 0.5f;
    FZ_CHECK(pcnn_conv2d_fwd(raw, src, w, b, dst) == PCNN_STATUS_OK, "pcnn_conv2d_fwd [%s]", txt);
    FZ_CHECK(pcnn_conv2d_bwd_data(raw, dst, w, src) == PCNN_STATUS_OK, "pcnn_conv2d_bwd_data [%s]", txt);
    FZ_CHECK(pcnn_conv2d_bwd_weights(raw, src, dst, w, b) == PCNN_STATUS_OK,
             "pcnn_conv2d_bwd_weights [%s]", txt);
    free(src); free(dst); free(w); free(b);
}

static void check_pool(const pcnn_maxpool2d_desc *raw) {
    pcnn_maxpool2d_desc d = *raw;
    const int32_t st = pcnn_maxpool2d_desc_init(&d);
    char txt[400];
    pool_fields(raw, txt, sizeof txt);
    FZ_CHECK(st == PCNN_STATUS_OK || st == PCNN_STATUS_INVALID_ARGUMENT ||
                 st == PCNN_STATUS_OUT_OF_RANGE,
             "max-pool desc_init [%s]: status %d", txt, st);
    pcnn_maxpool2d_desc cmp = d;
    cmp.oh = raw->oh;
    cmp.ow = raw->ow;
    FZ_CHECK(memcmp(&cmp, raw, sizeof cmp) == 0, "max-pool desc_init [%s] changed an input field", txt);
    const pool_verdict v = pool_oracle(raw);
    if (st == PCNN_STATUS_OK) {
        FZ_CHECK(d.oh == v.oh && d.ow == v.ow, "max-pool desc_init [%s]: oh %" PRId64 " ow %" PRId64
                 ", the header's formula gives %" PRId64 " x %" PRId64, txt, d.oh, d.ow,
                 (int64_t)v.oh, (int64_t)v.ow);
        FZ_CHECK(v.ok, "max-pool desc_init [%s] accepted a desc breaking a rule (size < 1, "
                 "ih*iw > INT32_MAX or a count overflow)", txt);
        FZ_CHECK(v.windows_ok || !v.windows_checked, "max-pool desc_init [%s] accepted a window "
                 "with no input position", txt);
    } else {
        FZ_CHECK(d.oh == raw->oh && d.ow == raw->ow, "max-pool desc_init [%s] wrote oh/ow on failure",
                 txt);
        FZ_CHECK(!(v.ok && v.kernel_fits && v.windows_ok && v.windows_checked && !v.overflow),
                 "max-pool desc_init [%s] rejected a valid desc (status %d, oh %" PRId64
                 " ow %" PRId64 ")", txt, st, (int64_t)v.oh, (int64_t)v.ow);
    }
    const int matches = st == PCNN_STATUS_OK && d.oh == raw->oh && d.ow == raw->ow;
    const int32_t want = st != PCNN_STATUS_OK ? st : PCNN_STATUS_INVALID_ARGUMENT;
    if (!matches) {
        float one[1] = {0};
        int32_t idx[1] = {0};
        FZ_CHECK(pcnn_maxpool2d_fwd(raw, one, one, idx) == want, "pcnn_maxpool2d_fwd [%s]", txt);
        FZ_CHECK(pcnn_maxpool2d_bwd(raw, one, idx, one) == want, "pcnn_maxpool2d_bwd [%s]", txt);
        return;
    }
    const int64_t ns = d.n * d.c * d.ih * d.iw, nd = d.n * d.c * d.oh * d.ow;
    if (ns > SMALL_BUFFER || nd > SMALL_BUFFER || d.kh > SMALL_BUFFER || d.kw > SMALL_BUFFER ||
        nd * d.kh * d.kw > 4 * SMALL_BUFFER) {
        return;
    }
    float *src = exact_f(ns), *dst = exact_f(nd);
    int32_t *idx = malloc((size_t)nd * sizeof(int32_t));
    FZ_CHECK(src && dst && idx, "out of memory");
    for (int64_t i = 0; i < ns; ++i) src[i] = (float)(i % 7);
    FZ_CHECK(pcnn_maxpool2d_fwd(raw, src, dst, idx) == PCNN_STATUS_OK, "pcnn_maxpool2d_fwd [%s]", txt);
    FZ_CHECK(pcnn_maxpool2d_bwd(raw, dst, idx, src) == PCNN_STATUS_OK, "pcnn_maxpool2d_bwd [%s]", txt);
    free(src); free(dst); free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_reader r = fz_reader_of(data, size);
    const uint8_t which = fz_u8(&r);
    if (which & 1) {
        pcnn_maxpool2d_desc d;
        int64_t *f = &d.n;
        for (size_t i = 0; i < sizeof d / sizeof(int64_t); ++i) f[i] = field(&r);
        d.ceil_mode = (which >> 1) & 1 ? field(&r) : ((which >> 2) & 1);
        check_pool(&d);
    } else {
        pcnn_conv2d_desc d;
        int64_t *f = &d.n;
        for (size_t i = 0; i < sizeof d / sizeof(int64_t); ++i) f[i] = field(&r);
        check_conv(&d);
    }
    return 0;
}
