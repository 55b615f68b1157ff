/*
 * maxpool2d, AVX2 variants: the vector layer for maxpool2d-simd.h (8 lanes; a mask is an
 * __m256i with all-ones / all-zeros lanes). See the template for the algorithm and the
 * bit-exactness argument.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "core/pcnn_internal.h"

#define PM_V 8
#define PM_NAME(op) pcnn_maxpool2d_##op##__avx2

typedef __m256 pm_vf;
typedef __m256i pm_vi;
typedef __m256i pm_m;

/* Pointer arithmetic through uintptr_t: `off` may be negative (a row's left padding); the
 * masked loads below never touch those lanes, but forming the pointer must not be UB. */
static inline const float *pm_at(const float *row, int64_t off) {
    return (const float *)((uintptr_t)row + (uintptr_t)(off * (int64_t)sizeof(float)));
}

static inline pm_vi pm_iota(void) { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
static inline pm_vi pm_set1_i(int32_t v) { return _mm256_set1_epi32(v); }
static inline pm_vi pm_zero_i(void) { return _mm256_setzero_si256(); }
static inline pm_vf pm_zero_f(void) { return _mm256_setzero_ps(); }
static inline pm_vi pm_add_i(pm_vi a, pm_vi b) { return _mm256_add_epi32(a, b); }
static inline pm_vi pm_mullo_i(pm_vi a, pm_vi b) { return _mm256_mullo_epi32(a, b); }

static inline pm_m pm_first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), pm_iota());
}
static inline pm_m pm_none(void) { return _mm256_setzero_si256(); }
static inline pm_m pm_or(pm_m a, pm_m b) { return _mm256_or_si256(a, b); }
static inline int pm_any(pm_m m) { return !_mm256_testz_si256(m, m); }

/* lanes of m whose ix is in [0, limit) */
static inline pm_m pm_in_range(pm_vi ix, int32_t limit, pm_m m) {
    const pm_m below = _mm256_cmpgt_epi32(_mm256_set1_epi32(limit), ix); /* ix < limit */
    const pm_m neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), ix);    /* ix < 0 */
    return _mm256_andnot_si256(neg, _mm256_and_si256(below, m));
}

/* lanes i in [0, 8) with 0 <= off + i < limit (off, limit in int32 range: pm_shape_ok) */
static inline pm_m pm_range(int64_t off, int64_t limit) {
    return pm_in_range(_mm256_add_epi32(pm_iota(), _mm256_set1_epi32((int32_t)off)),
                       (int32_t)limit, _mm256_set1_epi32(-1));
}

static inline pm_vf pm_load_window(const float *row, int64_t off, int64_t iw) {
    return _mm256_maskload_ps(pm_at(row, off), pm_range(off, iw));
}

/* row[off + 2i], i < 8: two masked loads of [off, off + 16) and an even-lane shuffle */
static inline pm_vf pm_load_even(const float *row, int64_t off, int64_t iw) {
    const __m256 lo = _mm256_maskload_ps(pm_at(row, off), pm_range(off, iw));
    const __m256 hi = _mm256_maskload_ps(pm_at(row, off + 8), pm_range(off + 8, iw));
    /* [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6] -> [lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6] */
    const __m256 t = _mm256_shuffle_ps(lo, hi, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
}

static inline pm_vf pm_loadu(const float *p) { return _mm256_loadu_ps(p); }
/* p[2i], i < 8, from the 16 floats at p (all inside the buffer) */
static inline pm_vf pm_even(const float *p) {
    const __m256 t = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
}

static inline pm_vf pm_gather(const float *row, pm_vi ix, pm_m valid) {
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row, ix, _mm256_castsi256_ps(valid),
                                    4);
}

/* v > best || isnan(v), lane-wise */
static inline pm_m pm_gt_or_nan(pm_vf v, pm_vf best) {
    return _mm256_castps_si256(
        _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
}

/* valid && (!has || v > best || isnan(v)) */
static inline pm_m pm_take(pm_m valid, pm_m has, pm_vf v, pm_vf best) {
    const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    const pm_m upd = _mm256_castps_si256(_mm256_or_ps(gt, nan));
    return _mm256_and_si256(valid, _mm256_or_si256(_mm256_xor_si256(has, _mm256_set1_epi32(-1)),
                                                   upd));
}

static inline pm_vf pm_blend_f(pm_m take, pm_vf old, pm_vf v) {
    return _mm256_blendv_ps(old, v, _mm256_castsi256_ps(take));
}
static inline pm_vi pm_blend_i(pm_m take, pm_vi old, pm_vi v) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(old),
                                                _mm256_castsi256_ps(v),
                                                _mm256_castsi256_ps(take)));
}
static inline void pm_store_f(float *p, pm_m m, pm_vf v) { _mm256_maskstore_ps(p, m, v); }
static inline void pm_store_i(int32_t *p, pm_m m, pm_vi v) {
    _mm256_maskstore_epi32((int *)p, m, v);
}

static inline void pm_storeu_f(float *p, pm_vf v) { _mm256_storeu_ps(p, v); }
static inline void pm_storeu_i(int32_t *p, pm_vi v) { _mm256_storeu_si256((__m256i *)p, v); }
/* Tap mode: the low byte of each lane (taps < 256) as 8 bytes: a byte shuffle gathers each
 * 128-bit half's four low bytes, an unpack joins the halves */
static inline __m128i pm_taps_bytes(pm_vi v) {
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, -1, -1);
    const __m256i b = _mm256_shuffle_epi8(v, pick);
    return _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}
static inline void pm_storeu_taps(uint8_t *p, pm_vi v) {
    _mm_storel_epi64((__m128i *)(void *)p, pm_taps_bytes(v));
}
static inline void pm_store_taps(uint8_t *p, int n, pm_vi v) { /* the first n (< 8) bytes */
    uint8_t t[8];
    _mm_storel_epi64((__m128i *)(void *)t, pm_taps_bytes(v));
    memcpy(p, t, (size_t)n);
}

static inline int pm_any2(pm_m a, pm_m b) { return pm_any(pm_or(a, b)); }

static inline void pm_zero_floats(float *p, int64_t n) {
    const __m256 z = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(p + i, z);
    }
    for (; i < n; ++i) {
        p[i] = 0.0f;
    }
}

/* p[2i] and p[2i + 1], i < 8, from the 16 floats at p (all inside the buffer) */
static inline void pm_even_odd(const float *p, pm_vf *e, pm_vf *o) {
    const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    /* [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6] -> [lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6] (odd: 1 3) */
    const __m256 te = _mm256_shuffle_ps(lo, hi, 0x88);
    const __m256 to = _mm256_shuffle_ps(lo, hi, 0xDD);
    *e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(te), 0xD8));
    *o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(to), 0xD8));
}

/* (AVX-512 keeps the loads out of its permutes; here the shuffles take registers anyway) */
static inline void pm_even_odd_once(const float *p, pm_vf *e, pm_vf *o) { pm_even_odd(p, e, o); }

/* p[2i + 2], i < 8 (e = p[2i] unused: AVX2 has no cheap cross-lane shift) */
static inline pm_vf pm_even_next(const float *p, pm_vf e) {
    (void)e;
    return pm_even(p + 2);
}

/* AVX-512's odd-origin loads (maxpool2d-avx512.c) need a cross-lane shift AVX2 lacks: the
 * template never asks for them here (PM_HAS_THREE_TAPS_ODD 0); the plain taps, to compile. */
static inline __attribute__((always_inline)) void pm_three_taps_odd(const float *p, pm_vf *t0, pm_vf *t1, pm_vf *t2) {
    pm_even_odd(p, t0, t1);
    *t2 = pm_even_next(p, *t0);
}
#define PM_HAS_THREE_TAPS_ODD 0

static inline pm_vf pm_set1_f(float v) { return _mm256_set1_ps(v); }
static inline pm_m pm_and(pm_m a, pm_m b) { return _mm256_and_si256(a, b); }

/* lanes where a or b is NaN */
static inline pm_m pm_unord(pm_vf a, pm_vf b) {
    return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}
/* a > b ? a : b (MAXPS: ties and NaNs give b; the template relies on this order) */
static inline pm_vf pm_max_f(pm_vf a, pm_vf b) { return _mm256_max_ps(a, b); }
/* a == b (ordered: +0 == -0) */
static inline pm_m pm_eq_f(pm_vf a, pm_vf b) {
    return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_EQ_OQ));
}

/* the first n lanes of p (n <= 8), others +0 */
static inline pm_vf pm_load_first_f(const float *p, int n) {
    return _mm256_maskload_ps(p, pm_first(n));
}
static inline pm_vi pm_load_first_i(const int32_t *p, int n) {
    return _mm256_maskload_epi32((const int *)p, pm_first(n));
}
static inline pm_vi pm_loadu_i(const int32_t *p) {
    return _mm256_loadu_si256((const __m256i *)p);
}
static inline pm_vf pm_add_f(pm_vf a, pm_vf b) { return _mm256_add_ps(a, b); }
static inline pm_m pm_eq_i(pm_vi a, pm_vi b) { return _mm256_cmpeq_epi32(a, b); }
/* v where m, +0 elsewhere */
static inline pm_vf pm_maskz_f(pm_m m, pm_vf v) {
    return _mm256_and_ps(v, _mm256_castsi256_ps(m));
}
/* every lane of `lanes` is set in m */
static inline int pm_all(pm_m m, pm_m lanes) { return _mm256_testc_si256(m, lanes); }

/* p[0 .. n2) = e0 o0 e1 o1 ... (n2 <= 16) */
static inline void pm_store_interleaved(float *p, pm_vf e, pm_vf o, int n2) {
    const __m256 lo = _mm256_unpacklo_ps(e, o); /* e0 o0 e1 o1 | e4 o4 e5 o5 */
    const __m256 hi = _mm256_unpackhi_ps(e, o); /* e2 o2 e3 o3 | e6 o6 e7 o7 */
    const __m256 a = _mm256_permute2f128_ps(lo, hi, 0x20);
    const __m256 b = _mm256_permute2f128_ps(lo, hi, 0x31);
    if (n2 == 16) {
        _mm256_storeu_ps(p, a);
        _mm256_storeu_ps(p + 8, b);
    } else {
        _mm256_maskstore_ps(p, pm_first(n2 < 8 ? n2 : 8), a);
        if (n2 > 8) {
            _mm256_maskstore_ps(p + 8, pm_first(n2 - 8), b);
        }
    }
}

/* In-register 8 x 8 transpose: r[i] lane j -> r[j] lane i. For the small-plane path (lanes
 * across planes). */
static inline void pm_transpose(pm_vf r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4i + c], 128-bit lane L: rows 4i .. 4i + 3 of column 4L + c */
    for (int i = 0; i < 2; ++i) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}
/*
 * Small-plane flush in tap mode: at[j] lane i = pixel j's tap of plane i (j < k <= 8, taps
 * < 256); plane i's k taps to p + i * stride. Narrowed before transposing, which is cheaper
 * than the int32 transpose plus a narrowing per plane (measured, see README): two pack levels
 * leave, in 128-bit half L, a 4 x 4 byte block [pixel j][plane 4L + m] per 4 pixels; a byte
 * shuffle transposes each block to [plane][pixel], and 32-bit unpacks join pixels 0-3 and 4-7
 * into one 8-byte row per plane.
 */
static inline void pm_store_taps_planes(const pm_vf at[8], uint8_t *p, int64_t stride, int k) {
    __m256i a[8];
    for (int j = 0; j < 8; ++j) {
        a[j] = _mm256_castps_si256(at[j]); /* lanes past k: earlier taps or 0, never stored */
    }
    const __m256i q0 = _mm256_packus_epi16(_mm256_packus_epi32(a[0], a[1]),
                                           _mm256_packus_epi32(a[2], a[3]));
    const __m256i q1 = _mm256_packus_epi16(_mm256_packus_epi32(a[4], a[5]),
                                           _mm256_packus_epi32(a[6], a[7]));
    const __m256i tr = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                        0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m256i t0 = _mm256_shuffle_epi8(q0, tr), t1 = _mm256_shuffle_epi8(q1, tr);
    const __m256i lo = _mm256_unpacklo_epi32(t0, t1); /* planes 4L, 4L + 1 */
    const __m256i hi = _mm256_unpackhi_epi32(t0, t1); /* planes 4L + 2, 4L + 3 */
    const __m128i r[4] = {_mm256_castsi256_si128(lo), _mm256_castsi256_si128(hi),
                          _mm256_extracti128_si256(lo, 1), _mm256_extracti128_si256(hi, 1)};
    if (k == 8) {
        for (int q = 0; q < 4; ++q) {
            _mm_storel_epi64((__m128i *)(void *)(p + (2 * q) * stride), r[q]);
            _mm_storel_epi64((__m128i *)(void *)(p + (2 * q + 1) * stride),
                             _mm_unpackhi_epi64(r[q], r[q]));
        }
    } else {
        uint8_t b[64];
        for (int q = 0; q < 4; ++q) {
            _mm_storeu_si128((__m128i *)(void *)(b + 16 * q), r[q]);
        }
        for (int i = 0; i < 8; ++i) {
            memcpy(p + i * stride, b + 8 * i, (size_t)k);
        }
    }
}
/* v > best (ordered: false on NaN), lane-wise */
static inline pm_m pm_gt_f(pm_vf v, pm_vf best) {
    return _mm256_castps_si256(_mm256_cmp_ps(v, best, _CMP_GT_OQ));
}
/* lanes of m where v is not NaN */
static inline pm_m pm_and_not_nan(pm_m m, pm_vf v) {
    return _mm256_and_si256(m, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_ORD_Q)));
}
static inline pm_vf pm_as_f(pm_vi v) { return _mm256_castsi256_ps(v); }
static inline pm_vi pm_as_i(pm_vf v) { return _mm256_castps_si256(v); }

/* Small-plane path (maxpool2d-small-planes.h) for output rows up to a whole vector: measured
 * (2026-12-05, kernel-only A/B, 1 thread, 16-32 planes) against the row-wise path, whose
 * 8-lane rows are nearly all edge blocks at these sizes: 13x13 -> 7x7 (3x3 s2 p1, pool_small)
 * 0.42x the time with indices / 0.44x without, 16x16 -> 8x8 (2x2 s2) 0.85x / 0.76x,
 * 14x14 -> 7x7 (2x2 s2) 0.76x / 0.65x, 15x15 -> 7x7 (3x3 s2) 0.59x / 0.60x, 8x8 (3x3 s1 p1)
 * 0.24x / 0.18x. */
#define PM_SMALL_MAX_OW PM_V

/* Mask-mode backward (maxpool2d-bwd-simd.h): the first n (<= 8) tap bytes at p zero-extended to
 * int32 lanes (others 0; a short tail is copied byte by byte, nothing past p + n is read),
 * and a table lookup. */
static inline pm_vi pm_bwd_load_taps(const uint8_t *p, int n) {
    uint64_t b = 0;
    if (n >= 8) {
        memcpy(&b, p, 8);
    } else {
        for (int i = 0; i < n; ++i) b |= (uint64_t)p[i] << (8 * i);
    }
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)b));
}
static inline pm_vi pm_bwd_gather_i(const int32_t *table, pm_vi i) {
    return _mm256_i32gather_epi32((const int *)table, i, 4);
}

/* 16-entry int32 table in two registers: entry t & 15 per lane (two permutes, a blend on bit 3) */
typedef struct {
    __m256i lo, hi;
} pm_lut16;
static inline pm_lut16 pm_lut16_load(const int32_t *table) {
    pm_lut16 l = {_mm256_loadu_si256((const __m256i *)table),
                  _mm256_loadu_si256((const __m256i *)(table + 8))};
    return l;
}
static inline pm_vi pm_lut16_get(const pm_lut16 *l, pm_vi t) {
    const __m256 a = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(l->lo, t));
    const __m256 b = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(l->hi, t));
    return _mm256_castps_si256(_mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(t, 28))));
}
static inline pm_vi pm_and_i(pm_vi a, pm_vi b) { return _mm256_and_si256(a, b); }
/* lanes whose bit t of bits is set (t >= 32: none) */
static inline pm_m pm_bit_set(pm_vi bits, pm_vi t) {
    const __m256i one = _mm256_set1_epi32(1);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_srlv_epi32(bits, t), one), one);
}

#include "maxpool2d-simd.h"
