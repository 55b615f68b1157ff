/*
 * maxpool2d, AVX-512 variants: the vector layer for maxpool2d-simd.h (16 lanes, __mmask16
 * masks). See the template for the algorithm and the bit-exactness argument.
 */
#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define PM_V 16
#define PM_NAME(op) pcnn_maxpool2d_##op##__avx512

typedef __m512 pm_vf;
typedef __m512i pm_vi;
typedef __mmask16 pm_m;

/* Pointer arithmetic through uintptr_t: `off` may be negative (a row's left padding); the
 * masked loads below never touch those lanes, but forming the pointer must not be UB. */
static inline const float *pm_at(const float *row, int64_t off) {
    return (const float *)((uintptr_t)row + (uintptr_t)(off * (int64_t)sizeof(float)));
}

static inline pm_m pm_first(int n) { return (pm_m)(n >= 16 ? 0xFFFFu : ((1u << n) - 1u)); }
static inline pm_m pm_none(void) { return 0; }
static inline pm_m pm_or(pm_m a, pm_m b) { return (pm_m)(a | b); }
static inline int pm_any(pm_m m) { return m != 0; }

/* lanes i in [0, 16) with 0 <= off + i < limit */
static inline pm_m pm_range(int64_t off, int64_t limit) {
    int64_t lo = -off, hi = limit - off;
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (pm_m)(pm_first((int)hi) & ~pm_first((int)lo));
}

static inline pm_vi pm_iota(void) {
    return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
static inline pm_vi pm_set1_i(int32_t v) { return _mm512_set1_epi32(v); }
static inline pm_vi pm_zero_i(void) { return _mm512_setzero_si512(); }
static inline pm_vf pm_zero_f(void) { return _mm512_setzero_ps(); }
static inline pm_vi pm_add_i(pm_vi a, pm_vi b) { return _mm512_add_epi32(a, b); }
static inline pm_vi pm_mullo_i(pm_vi a, pm_vi b) { return _mm512_mullo_epi32(a, b); }

/* lanes of m whose ix is in [0, limit): one unsigned compare covers both ends */
static inline pm_m pm_in_range(pm_vi ix, int32_t limit, pm_m m) {
    return _mm512_mask_cmplt_epu32_mask(m, ix, _mm512_set1_epi32(limit));
}

static inline pm_vf pm_load_window(const float *row, int64_t off, int64_t iw) {
    return _mm512_maskz_loadu_ps(pm_range(off, iw), pm_at(row, off));
}

/* row[off + 2i], i < 16: two masked loads of [off, off + 32) and an even-lane permute */
static inline pm_vf pm_load_even(const float *row, int64_t off, int64_t iw) {
    const __m512 lo = _mm512_maskz_loadu_ps(pm_range(off, iw), pm_at(row, off));
    const __m512 hi = _mm512_maskz_loadu_ps(pm_range(off + 16, iw), pm_at(row, off + 16));
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    return _mm512_permutex2var_ps(lo, even, hi);
}

static inline pm_vf pm_loadu(const float *p) { return _mm512_loadu_ps(p); }
/* p[2i], i < 16, from the 32 floats at p (all inside the buffer) */
static inline pm_vf pm_even(const float *p) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
}

static inline pm_vf pm_gather(const float *row, pm_vi ix, pm_m valid) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, ix, row, 4);
}

/* v > best || isnan(v), lane-wise */
static inline pm_m pm_gt_or_nan(pm_vf v, pm_vf best) {
    return (pm_m)(_mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
}

/* valid && (!has || v > best || isnan(v)) */
static inline pm_m pm_take(pm_m valid, pm_m has, pm_vf v, pm_vf best) {
    const pm_m gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
    const pm_m nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return (pm_m)(valid & ((pm_m)~has | gt | nan));
}

static inline pm_vf pm_blend_f(pm_m take, pm_vf old, pm_vf v) {
    return _mm512_mask_mov_ps(old, take, v);
}
static inline pm_vi pm_blend_i(pm_m take, pm_vi old, pm_vi v) {
    return _mm512_mask_mov_epi32(old, take, v);
}
static inline void pm_store_f(float *p, pm_m m, pm_vf v) { _mm512_mask_storeu_ps(p, m, v); }
static inline void pm_store_i(int32_t *p, pm_m m, pm_vi v) {
    _mm512_mask_storeu_epi32(p, m, v);
}

static inline void pm_storeu_f(float *p, pm_vf v) { _mm512_storeu_ps(p, v); }
static inline void pm_storeu_i(int32_t *p, pm_vi v) { _mm512_storeu_si512(p, v); }
/* Tap mode: the low byte of each lane (taps < 256) as 16 bytes (vpmovdb), or the first n */
static inline void pm_storeu_taps(uint8_t *p, pm_vi v) {
    _mm_storeu_si128((__m128i *)(void *)p, _mm512_cvtepi32_epi8(v));
}
static inline void pm_store_taps(uint8_t *p, int n, pm_vi v) {
    _mm512_mask_cvtepi32_storeu_epi8(p, pm_first(n), v);
}

/* pm_any(pm_or(a, b)) in one instruction (kortestw; gcc otherwise moves both masks to
 * general registers and ors them there) */
static inline int pm_any2(pm_m a, pm_m b) { return !_kortestz_mask16_u8(a, b); }

static inline void pm_zero_floats(float *p, int64_t n) {
    const __m512 z = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm512_storeu_ps(p + i, z);
    }
    if (i < n) {
        _mm512_mask_storeu_ps(p + i, pm_first((int)(n - i)), z);
    }
}

/* p[2i] and p[2i + 1], i < 16, from the 32 floats at p (all inside the buffer): two loads
 * and two cross-lane permutes give both halves of every stride-2 window */
static inline void pm_even_odd(const float *p, pm_vf *e, pm_vf *o) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 lo = _mm512_loadu_ps(p), hi = _mm512_loadu_ps(p + 16);
    *e = _mm512_permutex2var_ps(lo, even, hi);
    *o = _mm512_permutex2var_ps(lo, odd, hi);
}

/* pm_even_odd with each 64-byte load done once: without the empty asm gcc folds the two loads
 * into both permutes (vpermt2ps overwrites its table), 4 loads instead of 2; the 2x2 loop
 * (maxpool2d-s2k2-simd.h) took 1.19-1.33x main's time that way */
static inline void pm_even_odd_once(const float *p, pm_vf *e, pm_vf *o) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    __m512 lo = _mm512_loadu_ps(p), hi = _mm512_loadu_ps(p + 16);
    __asm__("" : "+v"(lo), "+v"(hi));
    *e = _mm512_permutex2var_ps(lo, even, hi);
    *o = _mm512_permutex2var_ps(lo, odd, hi);
}

/* p[2i + 2], i < 16, given e = p[2i]: e shifted down one lane, p[32] into the top lane
 * (one broadcast load and one lane shift instead of two loads and a permute) */
static inline pm_vf pm_even_next(const float *p, pm_vf e) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(
        _mm512_castps_si512(_mm512_set1_ps(p[32])), _mm512_castps_si512(e), 1));
}

/* The three column taps p[2i], p[2i + 1], p[2i + 2], i < 16, loaded from p + 1: with pad_left 1
 * on rows that start on a cache line (pool_resnet's 112 floats), p + 1 is the row's start, so
 * the two wide loads do not straddle lines as loads from p do (1.2-1.4x in cache). p[2i] is
 * p[2i + 2] moved up one lane with p[0] in lane 0. */
static inline __attribute__((always_inline)) void pm_three_taps_odd(const float *p, pm_vf *t0, pm_vf *t1, pm_vf *t2) {
    pm_even_odd(p + 1, t1, t2);
    *t0 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(*t2),
                                                  _mm512_castps_si512(_mm512_set1_ps(p[0])), 15));
}
#define PM_HAS_THREE_TAPS_ODD 1

static inline pm_vf pm_set1_f(float v) { return _mm512_set1_ps(v); }
static inline pm_m pm_and(pm_m a, pm_m b) { return (pm_m)(a & b); }

/* lanes where a or b is NaN */
static inline pm_m pm_unord(pm_vf a, pm_vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
/* a > b ? a : b (MAXPS: ties and NaNs give b; the template relies on this order) */
static inline pm_vf pm_max_f(pm_vf a, pm_vf b) { return _mm512_max_ps(a, b); }
/* a == b (ordered: +0 == -0) */
static inline pm_m pm_eq_f(pm_vf a, pm_vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }

/* the first n lanes of p (n <= 16), others +0 */
static inline pm_vf pm_load_first_f(const float *p, int n) {
    return _mm512_maskz_loadu_ps(pm_first(n), p);
}
static inline pm_vi pm_load_first_i(const int32_t *p, int n) {
    return _mm512_maskz_loadu_epi32(pm_first(n), p);
}
static inline pm_vi pm_loadu_i(const int32_t *p) { return _mm512_loadu_si512(p); }
static inline pm_vf pm_add_f(pm_vf a, pm_vf b) { return _mm512_add_ps(a, b); }
static inline pm_m pm_eq_i(pm_vi a, pm_vi b) { return _mm512_cmpeq_epi32_mask(a, b); }
/* v where m, +0 elsewhere */
static inline pm_vf pm_maskz_f(pm_m m, pm_vf v) { return _mm512_maskz_mov_ps(m, v); }
/* every lane of `lanes` is set in m */
static inline int pm_all(pm_m m, pm_m lanes) { return (pm_m)(m & lanes) == lanes; }

/* p[0 .. n2) = e0 o0 e1 o1 ... (n2 <= 32) */
static inline void pm_store_interleaved(float *p, pm_vf e, pm_vf o, int n2) {
    const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7,
                                          23);
    const __m512i ihi = _mm512_add_epi32(ilo, _mm512_set1_epi32(8));
    const __m512 lo = _mm512_permutex2var_ps(e, ilo, o);
    const __m512 hi = _mm512_permutex2var_ps(e, ihi, o);
    if (n2 == 32) {
        _mm512_storeu_ps(p, lo);
        _mm512_storeu_ps(p + 16, hi);
    } else {
        _mm512_mask_storeu_ps(p, pm_first(n2 < 16 ? n2 : 16), lo);
        if (n2 > 16) {
            _mm512_mask_storeu_ps(p + 16, pm_first(n2 - 16), hi);
        }
    }
}

/* In-register 16 x 16 transpose: r[i] lane j -> r[j] lane i (unpack, in-lane shuffle, two
 * 128-bit lane shuffles; 64 shuffles). For the small-plane path (lanes across planes). */
static inline void pm_transpose(pm_vf r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4i + c], 128-bit lane L: rows 4i .. 4i + 3 of column 4L + c */
    for (int i = 0; i < 4; ++i) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        const __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        const __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
        r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
}
/*
 * Small-plane flush in tap mode: at[j] lane i = pixel j's tap of plane i (j < k <= 16, taps
 * < 256); plane i's k taps to p + i * stride. Narrowed before transposing, as on AVX2: two pack
 * levels leave, in 128-bit lane L of q[g], a 4 x 4 byte block [pixel 4g + j][plane 4L + m]; a
 * byte shuffle turns each block to [plane][pixel]; 32- and 64-bit unpacks then gather plane
 * 4L + m's four pixel dwords into lane L of r[m]. 24 shuffles against the int32 transpose's 64
 * plus 16 narrowing stores.
 */
static inline void pm_store_taps_planes(const pm_vf at[16], uint8_t *p, int64_t stride, int k) {
    const __m512i tr = _mm512_broadcast_i32x4(
        _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    __m512i q[4];
    for (int g = 0; g < 4; ++g) {
        /* lanes past k: earlier taps or 0, never stored */
        const __m512i a0 = _mm512_castps_si512(at[4 * g]), a1 = _mm512_castps_si512(at[4 * g + 1]);
        const __m512i a2 = _mm512_castps_si512(at[4 * g + 2]), a3 = _mm512_castps_si512(at[4 * g + 3]);
        q[g] = _mm512_shuffle_epi8(
            _mm512_packus_epi16(_mm512_packus_epi32(a0, a1), _mm512_packus_epi32(a2, a3)), tr);
    }
    const __m512i lo01 = _mm512_unpacklo_epi32(q[0], q[1]), hi01 = _mm512_unpackhi_epi32(q[0], q[1]);
    const __m512i lo23 = _mm512_unpacklo_epi32(q[2], q[3]), hi23 = _mm512_unpackhi_epi32(q[2], q[3]);
    const __m512i r[4] = {_mm512_unpacklo_epi64(lo01, lo23), _mm512_unpackhi_epi64(lo01, lo23),
                          _mm512_unpacklo_epi64(hi01, hi23), _mm512_unpackhi_epi64(hi01, hi23)};
    const __mmask16 first = (__mmask16)pm_first(k);
    for (int m = 0; m < 4; ++m) {
        const __m128i row[4] = {_mm512_castsi512_si128(r[m]), _mm512_extracti32x4_epi32(r[m], 1),
                                _mm512_extracti32x4_epi32(r[m], 2), _mm512_extracti32x4_epi32(r[m], 3)};
        for (int l = 0; l < 4; ++l) {
            uint8_t *dst = p + (4 * l + m) * stride;
            if (k == 16) {
                _mm_storeu_si128((__m128i *)(void *)dst, row[l]);
            } else {
                _mm_mask_storeu_epi8(dst, first, row[l]);
            }
        }
    }
}
/* v > best (ordered: false on NaN), lane-wise */
static inline pm_m pm_gt_f(pm_vf v, pm_vf best) { return _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ); }
/* lanes of m where v is not NaN */
static inline pm_m pm_and_not_nan(pm_m m, pm_vf v) {
    return _mm512_mask_cmp_ps_mask(m, v, v, _CMP_ORD_Q);
}
static inline pm_vf pm_as_f(pm_vi v) { return _mm512_castsi512_ps(v); }
static inline pm_vi pm_as_i(pm_vf v) { return _mm512_castps_si512(v); }

/* Small-plane path (maxpool2d-small-planes.h) for output rows up to half a vector. */
#define PM_SMALL_MAX_OW (PM_V / 2)

/* Mask-mode backward (maxpool2d-bwd-simd.h): the first n (<= 16) tap bytes at p zero-extended to
 * int32 lanes (others 0; a masked byte load reads nothing past p + n), and a table lookup. */
static inline pm_vi pm_bwd_load_taps(const uint8_t *p, int n) {
    return _mm512_cvtepu8_epi32(n >= 16 ? _mm_loadu_si128((const __m128i *)p)
                                        : _mm_maskz_loadu_epi8(pm_first(n), p));
}
static inline pm_vi pm_bwd_gather_i(const int32_t *table, pm_vi i) {
    return _mm512_i32gather_epi32(i, table, 4);
}

/* 16-entry int32 table in a register: entry t & 15 per lane (one permute) */
typedef struct {
    __m512i v;
} pm_lut16;
static inline pm_lut16 pm_lut16_load(const int32_t *table) {
    pm_lut16 l = {_mm512_loadu_si512(table)};
    return l;
}
static inline pm_vi pm_lut16_get(const pm_lut16 *l, pm_vi t) {
    return _mm512_permutexvar_epi32(t, l->v);
}
static inline pm_vi pm_and_i(pm_vi a, pm_vi b) { return _mm512_and_si512(a, b); }
/* lanes whose bit t of bits is set (t >= 32: none) */
static inline pm_m pm_bit_set(pm_vi bits, pm_vi t) {
    return _mm512_test_epi32_mask(_mm512_srlv_epi32(bits, t), _mm512_set1_epi32(1));
}

#include "maxpool2d-s2bwd-avx512.h"
#include "maxpool2d-simd.h"
