/*
 * conv2d backward-weights, AVX2 variant: the vector layer for conv2d_bwd_weights-simd.h.
 * Register tile 4 output channels x 3 taps: 12 ymm accumulators + 3 tap vectors + 1 dY
 * vector = all 16 registers.
 */
#include <immintrin.h>
#include <stdint.h>

#include "core/pcnn_internal.h"

#define CW_V 8
#define CW_RO 4
#define CW_RT 3
#define CW_NAME pcnn_conv2d_bwd_weights__avx2
#define CW_FLAT_RUNS pcnn_conv2d_bwd_weights_flat_runs__avx2
#define CW_HALVES_RUNS pcnn_conv2d_bwd_weights_halves_runs__avx2
#define CW_WIDE_DY_MAX pcnn_conv2d_bwd_weights_wide_dy_max__avx2
/* Measured on Zen 5 with this 4 x 3 ymm tile: the stride-1 padded-plane path and the
 * AVX-512 variant's blocking (1024-pixel chunks, one col group at a time) were 10-20 %
 * slower on mid / resnet3x3 than the original packing path with 512-pixel chunks and
 * 16 x 24 L1 blocks, so this variant keeps those. */
#define CW_WIDE 0
#define CW_P 512
#define CW_OB2 16
#define CW_TB2 24

typedef __m256 cw_vf;

static inline cw_vf cw_load(const float *p) { return _mm256_loadu_ps(p); }
/* the first n (< 8) lanes from p, zero in the others; nothing else is read */
static inline cw_vf cw_load_first(const float *p, int n) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, m);
}
static inline void cw_store(float *p, cw_vf v) { _mm256_storeu_ps(p, v); }
static inline cw_vf cw_fma(cw_vf a, cw_vf b, cw_vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline cw_vf cw_add(cw_vf a, cw_vf b) { return _mm256_add_ps(a, b); }
static inline cw_vf cw_sub(cw_vf a, cw_vf b) { return _mm256_sub_ps(a, b); }
static inline cw_vf cw_zero(void) { return _mm256_setzero_ps(); }
/* fetch the cache line of p into L1 ahead of use (dY rows of the stride-1 path) */
static inline void cw_prefetch(const float *p) { _mm_prefetch((const char *)p, _MM_HINT_T0); }
/* row[ix + i] where 0 <= ix + i < iw, else 0: a plain load inside the row, a masked
 * load (nothing outside the row is read) at its edges */
static inline cw_vf cw_load_row(const float *row, int64_t ix, int64_t iw) {
    if (ix >= 0 && ix + 8 <= iw) {
        return _mm256_loadu_ps(row + ix);
    }
    if (ix >= iw || ix + 8 <= 0) {
        return _mm256_setzero_ps();
    }
    /* -8 < ix < iw <= 2^30 here (the kernel refuses wider rows): int32 lanes are exact */
    const int32_t lim = (int32_t)iw;
    const __m256i pos = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                         _mm256_set1_epi32((int32_t)ix));
    const __m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), pos),
                                          _mm256_cmpgt_epi32(_mm256_set1_epi32(lim), pos));
    return _mm256_maskload_ps((const float *)((uintptr_t)row + (uintptr_t)(ix * 4)), m);
}
/* the even lanes of a, then those of b: a[0], a[2], ..., b[6] */
static inline cw_vf cw_even_lanes(cw_vf a, cw_vf b) {
    const __m256 t = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
}
/* row[ix + 2i] (0 outside the row): two row loads and an even-lane shuffle */
static inline cw_vf cw_load_row_s2(const float *row, int64_t ix, int64_t iw) {
    return cw_even_lanes(cw_load_row(row, ix, iw), cw_load_row(row, ix + 8, iw));
}
/* fixed tree: 8 -> 4 -> 2 -> 1 */
static inline float cw_hsum(cw_vf v) {
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

/* the lanes of a cw_load_row at ix (those inside [0, iw)), computed once for rows alike */
typedef __m256i cw_rmask;
static inline cw_rmask cw_row_mask(int64_t ix, int64_t iw) {
    if (ix >= iw || ix + 8 <= 0) return _mm256_setzero_si256();
    /* -8 < ix < iw <= 2^30 here (the kernel refuses wider rows): int32 lanes are exact */
    const __m256i pos = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                         _mm256_set1_epi32((int32_t)ix));
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), pos),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)iw), pos));
}
/* cw_load_row(row, ix, iw) with its mask given (m = cw_row_mask(ix, iw), computed once for
 * rows alike: the src_pad copy of cw_run_first) */
static inline cw_vf cw_load_rowm(const float *row, int64_t ix, cw_rmask m) {
    return _mm256_maskload_ps((const float *)((uintptr_t)row + (uintptr_t)(ix * 4)), m);
}
/* cw_load_row_s2(row, ix, iw) with its two masks given: ma = cw_row_mask(ix, iw),
 * mb = cw_row_mask(ix + 8, iw) (the transposed path's stride-2 phase rows) */
static inline cw_vf cw_load_row_s2m(const float *row, int64_t ix, cw_rmask ma, cw_rmask mb) {
    return cw_even_lanes(cw_load_rowm(row, ix, ma), cw_load_rowm(row, ix + 8, mb));
}

/* the transposed path (bwd_weights/trans.h): a 6 x 2 tile (16 taps per task), 12
 * accumulators + 2 colT vectors + 1 broadcast */
#define CW_TRANS 1
#define CW_TK 2
/* from 32 output channels per group, the in-place 1x1 case too (AVX-512: 96 there): with
 * 32..95 at AVX2 it measured 0.60-0.92x the time of the packing path, 1x1 included
 * (bwd_weights/README-avx2.md, "Transposed path at AVX2") */
#define CW_TRANS_MIN_OC_DIRECT 32
#define CW_TBIAS_RUNS pcnn_conv2d_bwd_weights_tbias_runs__avx2
#define CW_TBIAS_OFF pcnn_conv2d_bwd_weights_tbias_off__avx2
#define CW_TRANS_RUNS pcnn_conv2d_bwd_weights_trans_runs__avx2
/* the masked path (bwd_weights/masked.h): base[i + lane] for the lanes of m, the others
 * zero and not accessed (the address is formed as an integer: lane 0 may lie outside). The
 * path loads dY's whole vectors plainly: in its loop that was 0.92x the time of vmaskmovps
 * with every lane set (Zen 4). */
#define CW_MASKED 1
#define CW_MASKED_RUNS pcnn_conv2d_bwd_weights_masked_runs__avx2
/* tile: 3 output channels x 4 taps, 12 accumulators + 3 dY vectors + the src vector, which
 * vmaskmovps loads over its mask register */
#define CW_MRO 3
#define CW_MRT 4
static inline cw_vf cw_loadm(const float *base, int64_t i, cw_rmask m) {
    return _mm256_maskload_ps((const float *)((uintptr_t)base + (uintptr_t)(i * 4)), m);
}
/* lane masks of the 256 bit patterns (the flat mask table holds bits): one 32-byte load
 * instead of a broadcast, an and and a compare per masked load (not measured against them) */
#define CW_LB(b) {-((b) & 1), -(((b) >> 1) & 1), -(((b) >> 2) & 1), -(((b) >> 3) & 1), \
                  -(((b) >> 4) & 1), -(((b) >> 5) & 1), -(((b) >> 6) & 1), -(((b) >> 7) & 1)}
#define CW_LB4(b) CW_LB(b), CW_LB((b) + 1), CW_LB((b) + 2), CW_LB((b) + 3)
#define CW_LB16(b) CW_LB4(b), CW_LB4((b) + 4), CW_LB4((b) + 8), CW_LB4((b) + 12)
#define CW_LB64(b) CW_LB16(b), CW_LB16((b) + 16), CW_LB16((b) + 32), CW_LB16((b) + 48)
static const int32_t cw_lane_bits[256][8] __attribute__((aligned(32))) = {
    CW_LB64(0), CW_LB64(64), CW_LB64(128), CW_LB64(192)};
static inline cw_vf cw_loadmb(const float *base, int64_t i, uint16_t bits) {
    return cw_loadm(base, i, _mm256_load_si256((const __m256i *)cw_lane_bits[bits & 255]));
}
/* fetch the cache line of p into L2 (cw_run_first's next copy band and sub-band) */
static inline void cw_prefetch_l2(const void *p) { _mm_prefetch((const char *)p, _MM_HINT_T1); }
static inline cw_vf cw_bcast(const float *p) { return _mm256_broadcast_ss(p); }
/* out[i * stride + j] = rows[j][pb + i] for i, j < 8: an 8 x 8 transpose in registers
 * (unpack pairs of rows, 64-bit shuffles, then the 128-bit halves) */
static inline void cw_transpose_v(float *out, int64_t stride, const float *const *rows,
                                  int64_t pb) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows[i] + pb);
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
        r[4 * i + 0] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x20);
        t[4 + i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x31);
    }
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + i * stride, t[i]);
}

/* cw_run_first for many input channels (cw_first_many: resnet3x3, mid), with a tile of
 * 2 output vectors (16 channels) x 6 taps: 12 ymm accumulators + 2 dY + 1 broadcast within
 * the 16 registers; 64 output channels are 4 such tiles over the same src_pad rows. Measured
 * 0.78-0.84x the CPU time of cw_run_wide on resnet3x3 / mid (bwd_weights/README.md, "Direct
 * stride-1 3x3", follow-up 5). The few-input-channel shapes too since 2026-12-07 (7 wide with
 * 1-vector tiles: a 2-vector one spills), but 3-wide ones only up to 48 output channels: from
 * 64 the packing path's 4 x 3 tile was as fast or faster (bwd_weights/README-avx2.md, "Few input
 * channels at AVX2"). */
#define CW_FIRST 1
#define CW_FIRST_RUNS pcnn_conv2d_bwd_weights_first_runs__avx2
#define CW_FIRST_COPY_RUNS pcnn_conv2d_bwd_weights_first_copy_runs__avx2
#define CW_FIRST_REGS 16
#define CW_FIRST_MANY_R 2
#define CW_FIRST_FEW_K3_MAX_OC 48
/* the src_pad copy, not bwd_weights/first_rows.h: with 16 registers GCC kept one of the 12
 * accumulators of that tile on the stack (edge loops around the pixel loop), 1.8x slower */
#define CW_FIRST_ROWS 0

#include "conv2d_bwd_weights-simd.h"
