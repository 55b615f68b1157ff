/*
 * Descriptor validation: pcnn_conv2d_desc_init and pcnn_maxpool2d_desc_init.
 * Every size and element count is computed with overflow-checked int64 arithmetic.
 * INVALID_ARGUMENT: NULL, non-positive sizes, negative pads, groups not dividing,
 * a conv kernel larger than the padded input, a max-pool output size below 1 (PyTorch's
 * formula), a max-pool window entirely in padding.
 * OUT_OF_RANGE: an int64 overflow anywhere, or ih*iw > INT32_MAX for max-pool.
 * On failure oh / ow are left untouched.
 */
#include "core/pcnn_internal.h"

/* 3- and 4-factor checked products. */
static int mul3(int64_t a, int64_t b, int64_t c, int64_t *out) {
    int64_t t;
    return pcnn_mul_i64(a, b, &t) || pcnn_mul_i64(t, c, out);
}
static int mul4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out) {
    int64_t t;
    return mul3(a, b, c, &t) || pcnn_mul_i64(t, d, out);
}

/*
 * One spatial axis: padded = in + pad_lo + pad_hi, extent = dil*(k-1) + 1 and the floor-mode
 * window count. Returns a status; *numer = padded - extent (>= 0) on success.
 */
static int32_t axis_extent(int64_t in, int64_t k, int64_t pad_lo, int64_t pad_hi, int64_t dil,
                           int64_t *numer) {
    int64_t padded, span, extent;
    if (pcnn_add_i64(in, pad_lo, &padded) || pcnn_add_i64(padded, pad_hi, &padded)) {
        return PCNN_STATUS_OUT_OF_RANGE;
    }
    if (pcnn_mul_i64(dil, k - 1, &span) || pcnn_add_i64(span, 1, &extent)) {
        return PCNN_STATUS_OUT_OF_RANGE;
    }
    if (extent > padded) {
        return PCNN_STATUS_INVALID_ARGUMENT; /* the (dilated) kernel does not fit */
    }
    *numer = padded - extent;
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_conv2d_desc_init(pcnn_conv2d_desc *desc) {
    if (desc == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const pcnn_conv2d_desc d = *desc;
    if (d.n < 1 || d.c < 1 || d.ih < 1 || d.iw < 1 || d.oc < 1 || d.kh < 1 || d.kw < 1 ||
        d.stride_h < 1 || d.stride_w < 1 || d.dilation_h < 1 || d.dilation_w < 1 ||
        d.groups < 1) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    if (d.pad_top < 0 || d.pad_bottom < 0 || d.pad_left < 0 || d.pad_right < 0) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    if (d.c % d.groups != 0 || d.oc % d.groups != 0) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    int64_t nh, nw;
    int32_t st = axis_extent(d.ih, d.kh, d.pad_top, d.pad_bottom, d.dilation_h, &nh);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    st = axis_extent(d.iw, d.kw, d.pad_left, d.pad_right, d.dilation_w, &nw);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    const int64_t oh = nh / d.stride_h + 1;
    const int64_t ow = nw / d.stride_w + 1;
    int64_t count;
    if (mul4(d.n, d.c, d.ih, d.iw, &count) || mul4(d.n, d.oc, oh, ow, &count) ||
        mul4(d.oc, d.c / d.groups, d.kh, d.kw, &count)) {
        return PCNN_STATUS_OUT_OF_RANGE;
    }
    desc->oh = oh;
    desc->ow = ow;
    return PCNN_STATUS_OK;
}

/* Does the window whose first tap is at `s` have a tap (s + j*dil, 0 <= j < k) in [0, in)?
 * span = dil*(k-1), already computed without overflow. */
static int window_has_tap(int64_t s, int64_t in, int64_t span, int64_t dil) {
    if (s >= in) {
        return 0;
    }
    if (s >= 0) {
        return 1;
    }
    if (s + span < 0) { /* s < 0 <= span: no overflow */
        return 0;
    }
    const int64_t neg = -s;
    const int64_t j0 = neg / dil + (neg % dil != 0); /* first tap index with position >= 0 */
    return s + j0 * dil < in;                        /* j0 < k holds: the last tap is >= 0 */
}

static int64_t gcd_i64(int64_t a, int64_t b) {
    while (b != 0) {
        const int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/*
 * Windows start at s(o) = o*stride - pad_lo, o in [0, out). "s < in" and "last tap >= 0"
 * are monotone in o, so the first and last windows decide them. With dil > in, a window
 * starting in the padding can still jump over the whole input, so windows that start in the
 * padding are checked too: given that its last tap is >= 0, whether such a window has a tap
 * depends only on s mod dil, which repeats every dil / gcd(stride, dil) windows, so at most
 * that many (and at most `out`) are looked at.
 */
static int axis_windows_ok(int64_t in, int64_t k, int64_t stride, int64_t pad_lo, int64_t dil,
                           int64_t out) {
    const int64_t span = dil * (k - 1); /* checked by pool_out */
    int64_t last_start;
    if (pcnn_mul_i64(out - 1, stride, &last_start) || !window_has_tap(-pad_lo, in, span, dil) ||
        !window_has_tap(last_start - pad_lo, in, span, dil)) {
        return 0;
    }
    if (dil > in && k > 1) {
        const int64_t period = dil / gcd_i64(stride, dil);
        for (int64_t o = 0; o < out && o < period; ++o) {
            const int64_t s = o * stride - pad_lo; /* o * stride <= last_start: no overflow */
            if (s >= 0) {
                break;
            }
            if (!window_has_tap(s, in, span, dil)) {
                return 0;
            }
        }
    }
    return 1;
}

/*
 * Output size on one axis, PyTorch's formula (pooling_output_shape_pad_lr):
 *   numer = in + pad_lo + pad_hi - dil*(k-1) - 1        (may be negative)
 *   floor: out = floor(numer / stride) + 1
 *   ceil:  out = floor((numer + stride - 1) / stride) + 1, minus one when that last window
 *          would start at or past in + pad_lo, i.e. (out-1)*stride >= in + pad_lo.
 * So in ceil mode a window may be larger than the padded input (by up to stride - 1).
 * An output size below 1 is INVALID_ARGUMENT (PyTorch: "Output size is too small").
 */
static int32_t pool_out(int64_t in, int64_t k, int64_t stride, int64_t pad_lo, int64_t pad_hi,
                        int64_t dil, int ceil_mode, int64_t *out_size) {
    int64_t padded, span, extent;
    if (pcnn_add_i64(in, pad_lo, &padded) || pcnn_add_i64(padded, pad_hi, &padded) ||
        pcnn_mul_i64(dil, k - 1, &span) || pcnn_add_i64(span, 1, &extent)) {
        return PCNN_STATUS_OUT_OF_RANGE;
    }
    const int64_t numer = padded - extent; /* both >= 1: no overflow */
    int64_t out;
    if (numer >= 0) {
        out = numer / stride + 1 + (ceil_mode && numer % stride != 0);
    } else if (ceil_mode && -numer < stride) {
        out = 1; /* 0 <= numer + stride - 1 < stride */
    } else {
        return PCNN_STATUS_INVALID_ARGUMENT; /* the output size would be below 1 */
    }
    int64_t start;
    /* in + pad_lo <= padded cannot overflow */
    if (ceil_mode && out > 1 && (pcnn_mul_i64(out - 1, stride, &start) || start >= in + pad_lo)) {
        --out;
    }
    *out_size = out;
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_maxpool2d_desc_init(pcnn_maxpool2d_desc *desc) {
    if (desc == NULL) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    const pcnn_maxpool2d_desc d = *desc;
    if (d.n < 1 || d.c < 1 || d.ih < 1 || d.iw < 1 || d.kh < 1 || d.kw < 1 || d.stride_h < 1 ||
        d.stride_w < 1 || d.dilation_h < 1 || d.dilation_w < 1) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    if (d.pad_top < 0 || d.pad_bottom < 0 || d.pad_left < 0 || d.pad_right < 0) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    int64_t plane;
    if (pcnn_mul_i64(d.ih, d.iw, &plane) || plane > INT32_MAX) {
        return PCNN_STATUS_OUT_OF_RANGE;
    }
    const int ceil_mode = d.ceil_mode != 0;
    int64_t oh, ow;
    int32_t st = pool_out(d.ih, d.kh, d.stride_h, d.pad_top, d.pad_bottom, d.dilation_h,
                          ceil_mode, &oh);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    st = pool_out(d.iw, d.kw, d.stride_w, d.pad_left, d.pad_right, d.dilation_w, ceil_mode, &ow);
    if (st != PCNN_STATUS_OK) {
        return st;
    }
    int64_t count;
    if (mul4(d.n, d.c, d.ih, d.iw, &count) || mul4(d.n, d.c, oh, ow, &count)) {
        return PCNN_STATUS_OUT_OF_RANGE;
    }
    if (!axis_windows_ok(d.ih, d.kh, d.stride_h, d.pad_top, d.dilation_h, oh) ||
        !axis_windows_ok(d.iw, d.kw, d.stride_w, d.pad_left, d.dilation_w, ow)) {
        return PCNN_STATUS_INVALID_ARGUMENT; /* a window lies entirely in the padding */
    }
    desc->oh = oh;
    desc->ow = ow;
    return PCNN_STATUS_OK;
}
