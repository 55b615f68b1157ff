/*
 * maxpool2d, AArch64 NEON. Bit-identical to the scalar kernel (values, NaN payloads, -0/+0,
 * indices); one task per (n, c) plane as in scalar, so results do not depend on threads.
 *
 * Forward: 4 output pixels of a row in the lanes of a vector, with their running maximum
 * and its plane index (or, for the compact mask, its tap number ky * kw + kx) in registers.
 * Every tap of the window is one vector load (stride 1: contiguous; stride 2: de-interleaving
 * vld2q; other strides: 4 lane loads), one compare pair and two bit selects, in the scalar scan
 * order (ky, then kx):
 *     take = (v > max) | (v != v)        - the scalar rule v > max || isnan(v)
 *     max = take ? v : max;  idx = take ? tap index : idx
 * The selects move bits, so NaN payloads and signed zeros come through unchanged, ties keep
 * the first maximum and the last NaN wins, exactly as in scalar. Padded rows are skipped for
 * the whole vector (the same for every lane); vectors are only used for output columns
 * whose every tap column is inside the row (the first in-range tap then is kx = 0 of the
 * first in-range ky for every lane), and the other columns (the borders and a tail of < 4)
 * run the scalar loop. No load reaches outside the input plane.
 *
 * Backward: diff_src plane zeroed with vector stores; the caller's indices are validated 4
 * at a time (one unsigned compare catches negative and too large ones) before the scatter,
 * which then runs without per-element checks. The scatter itself is scalar in row-major
 * output order (indices may repeat), so the additions happen in the scalar kernel's order.
 */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "core/pcnn_internal.h"

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *src;
    float *dst;
    int32_t *indices; /* or NULL */
    uint8_t *taps;    /* or NULL: the compact mask, ky * kw + kx (ABI 3) */
} fwd_ctx;

static int64_t floor_div(int64_t a, int64_t b) { /* b > 0 */
    const int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The scalar kernel's loop for one output pixel. */
static void pixel(const pcnn_maxpool2d_desc *d, const float *src, int64_t y, int64_t xo,
                  float *dst, int32_t *ind, uint8_t *tap) {
    float best = 0.0f;
    int64_t best_at = -1;
    int64_t best_tap = 0;
    for (int64_t ky = 0; ky < d->kh; ++ky) {
        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
        if (iy < 0 || iy >= d->ih) {
            continue;
        }
        for (int64_t kx = 0; kx < d->kw; ++kx) {
            const int64_t ix = xo * d->stride_w - d->pad_left + kx * d->dilation_w;
            if (ix < 0 || ix >= d->iw) {
                continue;
            }
            const float v = src[iy * d->iw + ix];
            if (best_at < 0 || v > best || isnan(v)) {
                best = v;
                best_at = iy * d->iw + ix;
                best_tap = ky * d->kw + kx;
            }
        }
    }
    dst[y * d->ow + xo] = best;
    if (ind != NULL) {
        ind[y * d->ow + xo] = (int32_t)best_at;
    }
    if (tap != NULL) {
        tap[y * d->ow + xo] = (uint8_t)best_tap; /* < kh * kw <= 256 (API check) */
    }
}

static inline float32x4_t load4(const float *p, int64_t sw) {
    if (sw == 1) {
        return vld1q_f32(p);
    }
    if (sw == 2) {
        return vld2q_f32(p).val[0]; /* reads p[0..7]: the caller checked p[7] */
    }
    float32x4_t v = vdupq_n_f32(0.0f);
    v = vld1q_lane_f32(p, v, 0);
    v = vld1q_lane_f32(p + sw, v, 1);
    v = vld1q_lane_f32(p + 2 * sw, v, 2);
    v = vld1q_lane_f32(p + 3 * sw, v, 3);
    return v;
}

/* Four output pixels xo .. xo + 3 of row y, every tap column in range. The tap number
 * ky * kw + kx is the same for the four lanes, so the compact mask takes one more bit select
 * per tap (only when asked for) and is narrowed to bytes at the store. */
static void vec4(const pcnn_maxpool2d_desc *d, const float *src, int64_t y, int64_t xo,
                 int32x4_t lane_cols, float *dst, int32_t *ind, uint8_t *tap) {
    const int64_t sw = d->stride_w;
    float32x4_t best = vdupq_n_f32(0.0f);
    int32x4_t best_at = vdupq_n_s32(-1);
    uint32x4_t best_tap = vdupq_n_u32(0);
    int first = 1;
    for (int64_t ky = 0; ky < d->kh; ++ky) {
        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
        if (iy < 0 || iy >= d->ih) {
            continue;
        }
        for (int64_t kx = 0; kx < d->kw; ++kx) {
            const int64_t ix0 = xo * sw - d->pad_left + kx * d->dilation_w;
            const float32x4_t v = load4(src + iy * d->iw + ix0, sw);
            /* plane index of lane j: iy*iw + ix0 + j*sw (< ih*iw <= INT32_MAX) */
            const int32x4_t at = vaddq_s32(vdupq_n_s32((int32_t)(iy * d->iw + ix0)), lane_cols);
            const uint32x4_t tap_no = vdupq_n_u32((uint32_t)(ky * d->kw + kx));
            if (first) {
                best = v;
                best_at = at;
                best_tap = tap_no;
                first = 0;
                continue;
            }
            const uint32x4_t take = vorrq_u32(vcgtq_f32(v, best), vmvnq_u32(vceqq_f32(v, v)));
            best = vbslq_f32(take, v, best);
            /* the winner kept only in the form the caller asked for */
            if (ind != NULL) {
                best_at = vbslq_s32(take, at, best_at);
            }
            if (tap != NULL) {
                best_tap = vbslq_u32(take, tap_no, best_tap);
            }
        }
    }
    vst1q_f32(dst + y * d->ow + xo, best);
    if (ind != NULL) {
        vst1q_s32(ind + y * d->ow + xo, best_at);
    }
    if (tap != NULL) { /* four bytes (tap numbers < 256) */
        const uint16x4_t h = vmovn_u32(best_tap);
        uint8_t b[8];
        vst1_u8(b, vmovn_u16(vcombine_u16(h, h)));
        memcpy(tap + y * d->ow + xo, b, 4);
    }
}

static void fwd_task(void *p, int64_t t) {
    const fwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const float *src = x->src + t * d->ih * d->iw;
    float *dst = x->dst + t * d->oh * d->ow;
    int32_t *ind = x->indices != NULL ? x->indices + t * d->oh * d->ow : NULL;
    uint8_t *tap = x->taps != NULL ? x->taps + t * d->oh * d->ow : NULL;
    const int64_t sw = d->stride_w;
    /* columns xo with every tap column in range: xo*sw - pl >= 0 and
     * xo*sw - pl + (kw-1)*dw (+1 for vld2q) <= iw - 1 */
    const int64_t reach = (d->kw - 1) * d->dilation_w + (sw == 2 ? 1 : 0);
    int64_t lo = -floor_div(-d->pad_left, sw);
    int64_t hi = floor_div(d->iw - 1 + d->pad_left - reach, sw) + 1;
    if (lo < 0) lo = 0;
    if (hi > d->ow) hi = d->ow;
    if (lo > d->ow) lo = d->ow;
    if (hi < lo) hi = lo;
    const int32x4_t lane_cols = {0, (int32_t)sw, (int32_t)(2 * sw), (int32_t)(3 * sw)};
    for (int64_t y = 0; y < d->oh; ++y) {
        int64_t xo = 0;
        for (; xo < lo; ++xo) pixel(d, src, y, xo, dst, ind, tap);
        for (; xo + 4 <= hi; xo += 4) vec4(d, src, y, xo, lane_cols, dst, ind, tap);
        for (; xo < d->ow; ++xo) pixel(d, src, y, xo, dst, ind, tap);
    }
}

/* Lane coordinates are int32: shapes whose strides could overflow them go to scalar
 * (far beyond real shapes; ih*iw <= INT32_MAX is guaranteed by desc_init). */
static int shape_ok(const pcnn_maxpool2d_desc *d) {
    return d->stride_w <= ((int64_t)1 << 28);
}

static int32_t fwd(const pcnn_maxpool2d_desc *d, const float *src, float *dst, int32_t *indices,
                   uint8_t *taps) {
    if (!shape_ok(d)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    fwd_ctx ctx = {d, src, dst, indices, taps};
    int64_t work;
    if (pcnn_mul_i64(d->n * d->c * d->oh * d->ow, d->kh * d->kw, &work)) {
        work = INT64_MAX; /* only a thread-count hint */
    }
    pcnn_parallel_for_work(d->n * d->c, work, fwd_task, &ctx);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd__neon(const pcnn_maxpool2d_desc *d, const float *src,
                                               float *dst, int32_t *indices) {
    return fwd(d, src, dst, indices, NULL);
}

/* The compact mask (one tap byte per output): the same loops, the winner's tap number stored
 * instead of its plane index. The backward from it is the scalar kernel's (its scatter is
 * scalar here too). */
PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd_taps__neon(const pcnn_maxpool2d_desc *d,
                                                    const float *src, float *dst,
                                                    uint8_t *taps) {
    return fwd(d, src, dst, NULL, taps);
}

/* ---- backward ---- */

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *diff_dst;
    const int32_t *indices;
    float *diff_src;
    int bad_index; /* set with __atomic_store_n by any task that meets a bad index */
} bwd_ctx;

static void bwd_task(void *p, int64_t t) {
    bwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t plane = d->ih * d->iw; /* <= INT32_MAX */
    const int64_t out_plane = d->oh * d->ow;
    const float *dd = x->diff_dst + t * out_plane;
    const int32_t *ind = x->indices + t * out_plane;
    float *ds = x->diff_src + t * plane;
    /* validate: (uint32)idx < plane rejects negatives too */
    const uint32x4_t lim = vdupq_n_u32((uint32_t)plane);
    uint32x4_t ok = vdupq_n_u32(0xffffffffu);
    int64_t i = 0;
    for (; i + 4 <= out_plane; i += 4) {
        ok = vandq_u32(ok, vcltq_u32(vreinterpretq_u32_s32(vld1q_s32(ind + i)), lim));
    }
    int bad = vminvq_u32(ok) == 0;
    for (; i < out_plane; ++i) {
        bad |= (uint32_t)ind[i] >= (uint32_t)plane;
    }
    if (bad) {
        __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
        return;
    }
    const float32x4_t z = vdupq_n_f32(0.0f);
    i = 0;
    for (; i + 4 <= plane; i += 4) vst1q_f32(ds + i, z);
    for (; i < plane; ++i) ds[i] = 0.0f;
    for (i = 0; i < out_plane; ++i) {
        ds[ind[i]] += dd[i];
    }
}

PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd__neon(const pcnn_maxpool2d_desc *d,
                                               const float *diff_dst, const int32_t *indices,
                                               float *diff_src) {
    bwd_ctx ctx = {d, diff_dst, indices, diff_src, 0};
    /* work ~ the diff_src element count (the zeroing; the scatter is smaller or similar) */
    pcnn_parallel_for_work(d->n * d->c, d->n * d->c * d->ih * d->iw, bwd_task, &ctx);
    return __atomic_load_n(&ctx.bad_index, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_RANGE
                                                            : PCNN_STATUS_OK;
}
