/*
 * conv2d backward-weights, AVX-512 variant: the vector layer for conv2d_bwd_weights-simd.h.
 * Register tile 4 output channels x 6 taps: 24 zmm accumulators + 6 tap vectors + 1 dY
 * vector = 31 of the 32 registers; 10 loads per 24 FMAs.
 */
#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define CW_V 16
#define CW_RO 4
#define CW_RT 6
#define CW_NAME pcnn_conv2d_bwd_weights__avx512
#define CW_FLAT_RUNS pcnn_conv2d_bwd_weights_flat_runs__avx512
#define CW_HALVES_RUNS pcnn_conv2d_bwd_weights_halves_runs__avx512
#define CW_WIDE_DY_MAX pcnn_conv2d_bwd_weights_wide_dy_max__avx512

typedef __m512 cw_vf;

static inline cw_vf cw_load(const float *p) { return _mm512_loadu_ps(p); }
/* the first n (< 16) lanes from p, zero in the others; nothing else is read */
static inline cw_vf cw_load_first(const float *p, int n) {
    return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
}
static inline void cw_store(float *p, cw_vf v) { _mm512_storeu_ps(p, v); }
static inline cw_vf cw_fma(cw_vf a, cw_vf b, cw_vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline cw_vf cw_add(cw_vf a, cw_vf b) { return _mm512_add_ps(a, b); }
static inline cw_vf cw_sub(cw_vf a, cw_vf b) { return _mm512_sub_ps(a, b); }
static inline cw_vf cw_zero(void) { return _mm512_setzero_ps(); }
/* fetch the cache line of p into L1 ahead of use (dY rows of the stride-1 path) */
static inline void cw_prefetch(const float *p) { _mm_prefetch((const char *)p, _MM_HINT_T0); }
/* row[ix + i] where 0 <= ix + i < iw, else 0: a plain load inside the row, a masked
 * load (nothing outside the row is read) at its edges */
static inline cw_vf cw_load_row(const float *row, int64_t ix, int64_t iw) {
    if (ix >= 0 && ix + 16 <= iw) {
        return _mm512_loadu_ps(row + ix);
    }
    int64_t lo = -ix, hi = iw - ix;
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return _mm512_setzero_ps();
    const __mmask16 m = (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
    return _mm512_maskz_loadu_ps(m, (const float *)((uintptr_t)row + (uintptr_t)(ix * 4)));
}
/* row[ix + 2i] (0 outside the row): two row loads and an even-lane permute */
static inline cw_vf cw_load_row_s2(const float *row, int64_t ix, int64_t iw) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    return _mm512_permutex2var_ps(cw_load_row(row, ix, iw), even,
                                  cw_load_row(row, ix + 16, iw));
}
/* fixed tree: 16 -> 8 -> 4 -> 2 -> 1 */
static inline float cw_hsum(cw_vf v) {
    const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

/* the transposed path (see cw_run_trans) */
#define CW_TRANS 1
#define CW_TBIAS_RUNS pcnn_conv2d_bwd_weights_tbias_runs__avx512
#define CW_TBIAS_OFF pcnn_conv2d_bwd_weights_tbias_off__avx512
#define CW_TRANS_RUNS pcnn_conv2d_bwd_weights_trans_runs__avx512
/* the lanes of a cw_load_row at ix (those inside [0, iw)), computed once for rows alike */
typedef __mmask16 cw_rmask;
static inline cw_rmask cw_row_mask(int64_t ix, int64_t iw) {
    int64_t lo = -ix, hi = iw - ix;
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (cw_rmask)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}
/* cw_load_row_s2(row, ix, iw) with its two masks given: ma = cw_row_mask(ix, iw),
 * mb = cw_row_mask(ix + 16, iw) (no per-row lane arithmetic, no branches) */
static inline cw_vf cw_load_row_s2m(const float *row, int64_t ix, cw_rmask ma, cw_rmask mb) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const float *a = (const float *)((uintptr_t)row + (uintptr_t)(ix * 4));
    const float *b = (const float *)((uintptr_t)row + (uintptr_t)((ix + 16) * 4));
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(ma, a), even, _mm512_maskz_loadu_ps(mb, b));
}
/* cw_load_row(row, ix, iw) with its mask given (m = cw_row_mask(ix, iw), computed once for
 * rows alike: the src_pad copy of cw_run_first) */
static inline cw_vf cw_load_rowm(const float *row, int64_t ix, cw_rmask m) {
    return _mm512_maskz_loadu_ps(m, (const float *)((uintptr_t)row + (uintptr_t)(ix * 4)));
}
/* the masked path (bwd_weights/masked.h): base[i + lane] for the lanes of m, the others
 * zero and not accessed (the address is formed as an integer: lane 0 may lie outside) */
#define CW_MASKED 1
#define CW_MASKED_RUNS pcnn_conv2d_bwd_weights_masked_runs__avx512
static inline cw_vf cw_loadm(const float *base, int64_t i, cw_rmask m) {
    return _mm512_maskz_loadu_ps(m, (const float *)((uintptr_t)base + (uintptr_t)(i * 4)));
}
/* the same with the mask as lane bits (the flat mask table's entries) */
static inline cw_vf cw_loadmb(const float *base, int64_t i, uint16_t bits) {
    return cw_loadm(base, i, (cw_rmask)bits);
}
/* fetch the cache line of p into L2 (the next image's planes in cw_run_trans) */
static inline void cw_prefetch_l2(const void *p) { _mm_prefetch((const char *)p, _MM_HINT_T1); }
static inline cw_vf cw_bcast(const float *p) { return _mm512_set1_ps(*p); }
/* out[i * stride + j] = rows[j][pb + i] for i, j < 16: a 16 x 16 transpose in registers
 * (unpack pairs of rows, then 64-bit shuffles, then two 128-bit lane shuffles) */
static inline void cw_transpose16(float *out, int64_t stride, const float *const *rows,
                                  int64_t pb) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(rows[i] + pb);
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int h = 0; h < 2; ++h) {
        for (int i = 0; i < 4; ++i) {
            t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
            t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xDD);
        }
    }
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
    }
    for (int i = 0; i < 16; ++i) _mm512_storeu_ps(out + i * stride, r[i]);
}

/* cw_run_first's CW_V x CW_V transpose */
static inline void cw_transpose_v(float *out, int64_t stride, const float *const *rows,
                                  int64_t pb) {
    cw_transpose16(out, stride, rows, pb);
}

/* the few-input-channel path (see cw_run_first; uses cw_bcast and cw_transpose_v) */
#define CW_FIRST 1
#define CW_FIRST_RUNS pcnn_conv2d_bwd_weights_first_runs__avx512
#define CW_FIRST_COPY_RUNS pcnn_conv2d_bwd_weights_first_copy_runs__avx512

#include "conv2d_bwd_weights-simd.h"
