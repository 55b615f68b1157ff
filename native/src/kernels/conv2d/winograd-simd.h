/*
 * Winograd F(4x4,3x3), AVX-512 / AVX2 template (included once by winograd-avx512.c with
 * PCNN_WINO_AVX512, by winograd-avx2.c with PCNN_WINO_AVX2). Engine and notation: winograd.h.
 *
 * Layout: output tiles sit in vector lanes, in lane groups of GT x-consecutive tiles of one
 * tile row (see lanes_init). A task is (image, chunk of 4 lane groups = CHUNK lanes); per
 * convolution group it
 *   1. reads each input channel's 6x6 patches (AVX-512: masked row loads de-interleaved by
 *      permutes; AVX2: masked gathers; padding and edges read as zeros, nothing outside the
 *      input is touched) and transforms them: V[36][cin][CHUNK];
 *   2. per block of OCB output channels and per position xi of the 6x6 transform domain,
 *      multiplies: M[xi][o][tile] = sum over c (ascending, FMA) of U[xi][c][o] * V[xi][c][tile]
 *      (a register tile of OCB channels x CV vectors, U broadcast);
 *   3. transforms back, adds the bias, interleaves each output row's 4 column vectors into
 *      4 contiguous floats per tile, so a lane group's output row is 4*GT contiguous floats,
 *      and stores its in-range part with masked vector stores.
 * Every output element is computed by the same instruction sequence whichever task or thread
 * runs it (the chunking is fixed by the shape), so results do not depend on the thread count.
 * A non-finite output (Inf/NaN input spread across a tile, or an overflow in a transform)
 * makes the call decline (PCNN_STATUS_UNSUPPORTED): the direct algorithm then overwrites it.
 */
#ifndef PCNN_WINOGRAD_SIMD_H
#define PCNN_WINOGRAD_SIMD_H

#include <immintrin.h>
#include <stdlib.h>

#include "core/scratch.h"
#include "kernels/conv2d/winograd.h"

#if defined(PCNN_WINO_AVX512)
#define VL 16
#define OCB_MAX 12
typedef __m512 vec_t;
typedef __mmask16 mask_t;
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VLOAD(p) _mm512_load_ps(p)
#define VSTORE(p, v) _mm512_store_ps((p), (v))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define WINO_FWD pcnn_conv2d_fwd_winograd__avx512
#define WINO_BWD_DATA pcnn_conv2d_bwd_data_winograd__avx512
#elif defined(PCNN_WINO_AVX2)
#define VL 8
#define OCB_MAX 6
typedef __m256 vec_t;
typedef __m256i mask_t;
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VLOAD(p) _mm256_load_ps(p)
#define VSTORE(p, v) _mm256_store_ps((p), (v))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define WINO_FWD pcnn_conv2d_fwd_winograd__avx2
#define WINO_BWD_DATA pcnn_conv2d_bwd_data_winograd__avx2
#else
#error "define PCNN_WINO_AVX512 or PCNN_WINO_AVX2 before including winograd-simd.h"
#endif

#define CV 2 /* vectors per chunk */
#define CHUNK (CV * VL)

PCNN_INTERNAL int32_t WINO_FWD(const pcnn_conv2d_desc *d, const float *src, const float *weights,
                               const float *bias, float *dst);
PCNN_INTERNAL int32_t WINO_BWD_DATA(const pcnn_conv2d_desc *d, const float *diff_dst,
                                    const float *weights, float *diff_src);

/* ---- lane masks and gathers ---------------------------------------------------- */
#if defined(PCNN_WINO_AVX512)
static inline mask_t mask_from(const int32_t *flags) { /* flags[l] in {0, -1} */
    return _mm512_cmpneq_epi32_mask(_mm512_loadu_si512(flags), _mm512_setzero_si512());
}
static inline mask_t mask_and(mask_t a, mask_t b) { return a & b; }
static inline vec_t gather(const float *base, __m512i idx, mask_t m) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base, 4);
}
typedef __m512i ivec_t;
#define ILOAD(p) _mm512_loadu_si512(p)
#define IADD(a, b) _mm512_add_epi32((a), (b))
#define ISET1(x) _mm512_set1_epi32(x)
static inline int any_nan(vec_t v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) != 0; }
#else
static inline mask_t mask_from(const int32_t *flags) { return _mm256_loadu_si256((const __m256i *)flags); }
static inline mask_t mask_and(mask_t a, mask_t b) { return _mm256_and_si256(a, b); }
static inline vec_t gather(const float *base, __m256i idx, mask_t m) {
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, _mm256_castsi256_ps(m), 4);
}
typedef __m256i ivec_t;
#define ILOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define IADD(a, b) _mm256_add_epi32((a), (b))
#define ISET1(x) _mm256_set1_epi32(x)
static inline int any_nan(vec_t v) { return _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0; }
#endif

/* out[4*l + s] = y[s][l]: the four column vectors of one output row of VL tiles, tile by tile
 * (4 contiguous floats per tile), for plain 128-bit stores instead of scatters. */
#if defined(PCNN_WINO_AVX512)
static inline void interleave4(const vec_t y[4], vec_t o[4]) {
    const __m512 ab_lo = _mm512_unpacklo_ps(y[0], y[1]), ab_hi = _mm512_unpackhi_ps(y[0], y[1]);
    const __m512 cd_lo = _mm512_unpacklo_ps(y[2], y[3]), cd_hi = _mm512_unpackhi_ps(y[2], y[3]);
    /* p0 = tiles 0,4,8,12; p1 = 1,5,9,13; p2 = 2,6,10,14; p3 = 3,7,11,15 (4 floats each) */
    const __m512 p0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab_lo), _mm512_castps_pd(cd_lo)));
    const __m512 p1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab_lo), _mm512_castps_pd(cd_lo)));
    const __m512 p2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab_hi), _mm512_castps_pd(cd_hi)));
    const __m512 p3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab_hi), _mm512_castps_pd(cd_hi)));
    const __m512 q0 = _mm512_shuffle_f32x4(p0, p1, 0x44), q1 = _mm512_shuffle_f32x4(p2, p3, 0x44);
    const __m512 q2 = _mm512_shuffle_f32x4(p0, p1, 0xEE), q3 = _mm512_shuffle_f32x4(p2, p3, 0xEE);
    o[0] = _mm512_shuffle_f32x4(q0, q1, 0x88);
    o[1] = _mm512_shuffle_f32x4(q0, q1, 0xDD);
    o[2] = _mm512_shuffle_f32x4(q2, q3, 0x88);
    o[3] = _mm512_shuffle_f32x4(q2, q3, 0xDD);
}
#else
static inline void interleave4(const vec_t y[4], vec_t o[4]) {
    const __m256 ab_lo = _mm256_unpacklo_ps(y[0], y[1]), ab_hi = _mm256_unpackhi_ps(y[0], y[1]);
    const __m256 cd_lo = _mm256_unpacklo_ps(y[2], y[3]), cd_hi = _mm256_unpackhi_ps(y[2], y[3]);
    /* p0 = tiles 0,4; p1 = 1,5; p2 = 2,6; p3 = 3,7 */
    const __m256 p0 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(ab_lo), _mm256_castps_pd(cd_lo)));
    const __m256 p1 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(ab_lo), _mm256_castps_pd(cd_lo)));
    const __m256 p2 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(ab_hi), _mm256_castps_pd(cd_hi)));
    const __m256 p3 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(ab_hi), _mm256_castps_pd(cd_hi)));
    o[0] = _mm256_permute2f128_ps(p0, p1, 0x20);
    o[1] = _mm256_permute2f128_ps(p2, p3, 0x20);
    o[2] = _mm256_permute2f128_ps(p0, p1, 0x31);
    o[3] = _mm256_permute2f128_ps(p2, p3, 0x31);
}
#endif

/* Stores the lanes of v whose bit is set in `bits` (nothing else is touched). */
#if defined(PCNN_WINO_AVX512)
static inline void store_masked(float *dst, vec_t v, uint32_t bits) {
    _mm512_mask_storeu_ps(dst, (__mmask16)bits, v);
}
#else
static inline void store_masked(float *dst, vec_t v, uint32_t bits) {
    if (bits == 0xFFu) {
        _mm256_storeu_ps(dst, v);
        return;
    }
    const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i m = _mm256_cmpeq_epi32(_mm256_and_si256(lane, _mm256_set1_epi32((int)bits)), lane);
    _mm256_maskstore_ps(dst, m, v);
}
#endif

/* ---- the transforms (factored forms of B^T and A^T; see winograd-scalar.c for the matrices) -- */

/* out = B^T z for a 6-vector z. */
static inline void bt6(const vec_t z[6], vec_t out[6]) {
    const vec_t m4 = VSET1(-4.0f), m5 = VSET1(-5.0f), p4 = VSET1(4.0f);
    const vec_t a = VFMA(m4, z[2], z[4]); /* z4 - 4 z2 */
    const vec_t b = VFMA(m4, z[1], z[3]); /* z3 - 4 z1 */
    const vec_t c = VSUB(z[4], z[2]);
    const vec_t e = VSUB(z[3], z[1]);
    const vec_t e2 = VADD(e, e); /* 2 (z3 - z1), exact */
    out[0] = VFMA(p4, z[0], VFMA(m5, z[2], z[4]));
    out[1] = VADD(a, b);
    out[2] = VSUB(a, b);
    out[3] = VADD(c, e2);
    out[4] = VSUB(c, e2);
    out[5] = VFMA(p4, z[1], VFMA(m5, z[3], z[5]));
}

/* out = A^T m for a 6-vector m (4 outputs). */
static inline void at6(const vec_t m[6], vec_t out[4]) {
    const vec_t p2 = VSET1(2.0f), p4 = VSET1(4.0f), p8 = VSET1(8.0f);
    const vec_t p = VADD(m[1], m[2]), q = VSUB(m[1], m[2]);
    const vec_t r = VADD(m[3], m[4]), s = VSUB(m[3], m[4]);
    out[0] = VADD(VADD(m[0], p), r);
    out[1] = VFMA(p2, s, q);
    out[2] = VFMA(p4, r, p);
    out[3] = VADD(VFMA(p8, s, q), m[5]);
}

/* ---- weight transform, vectorised over output channels --------------------------------- */

/* u = G g (3 -> 6) in the factored form; the constants are the rounded 1/4, 1/6, 1/12, 1/24. */
static inline void g6(const vec_t g[3], vec_t u[6]) {
    const vec_t q = VSET1(0.25f), s6 = VSET1(-1.0f / 6), t12 = VSET1(1.0f / 12), t24 = VSET1(1.0f / 24),
                t6 = VSET1(1.0f / 6);
    const vec_t sum02 = VADD(g[0], g[2]);
    u[0] = VFMA(q, g[0], VZERO()); /* exact: a power of two */
    u[1] = VFMA(s6, VADD(sum02, g[1]), VZERO());
    u[2] = VFMA(s6, VSUB(sum02, g[1]), VZERO());
    const vec_t a = VFMA(t24, g[0], VFMA(t6, g[2], VZERO())); /* g0/24 + g2/6 */
    const vec_t b = VFMA(t12, g[1], VZERO());
    u[3] = VADD(a, b);
    u[4] = VSUB(a, b);
    u[5] = g[2];
}

typedef struct {
    const wino_plan *p;
    const float *w;
    float *u;
    int nonfinite; /* atomic */
} wtjob;

/* Task (g, c): U[g][xi][c][o] for every o, VL output channels at a time (masked tail). */
static void weight_task(void *ctx, int64_t t) {
    wtjob *j = ctx;
    const wino_plan *p = j->p;
    const int64_t g = t / p->cin_g, c = t % p->cin_g;
    /* element (o, ky, kx) of the engine filter at w[base + o*ostride + tap(ky, kx)] */
    const int64_t ostride = p->backward ? 9 : p->cin_g * 9;
    const int64_t base = p->backward ? (g * p->cin_g + c) * p->cout_g * 9 : (g * p->cout_g * p->cin_g + c) * 9;
    vec_t chk = VZERO();
    const vec_t zero = VZERO();
    for (int64_t o0 = 0; o0 < p->cout_g; o0 += VL) {
        int32_t idx[VL], live[VL];
        for (int l = 0; l < VL; l++) {
            live[l] = o0 + l < p->cout_g ? -1 : 0;
            idx[l] = (int32_t)(live[l] ? l * ostride : 0);
        }
        const ivec_t vidx = ILOAD(idx);
        const mask_t m = mask_from(live);
        const float *wb = j->w + base + o0 * ostride;
        vec_t gg[3][3], h[6][3];
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) {
                const int tap = p->backward ? (2 - ky) * 3 + (2 - kx) : ky * 3 + kx;
                gg[ky][kx] = gather(wb + tap, vidx, m);
            }
        }
        for (int kx = 0; kx < 3; kx++) { /* G g, column by column */
            vec_t col[3] = {gg[0][kx], gg[1][kx], gg[2][kx]}, out[6];
            g6(col, out);
            for (int i = 0; i < 6; i++) {
                h[i][kx] = out[i];
            }
        }
        for (int i = 0; i < 6; i++) { /* (G g) G^T, row by row */
            vec_t out[6];
            g6(h[i], out);
            for (int jx = 0; jx < 6; jx++) {
                chk = VFMA(out[jx], zero, chk);
                float *dst = j->u + ((g * WINO_TT + i * 6 + jx) * p->cin_g + c) * p->cout_g + o0;
#if defined(PCNN_WINO_AVX512)
                _mm512_mask_storeu_ps(dst, m, out[jx]);
#else
                _mm256_maskstore_ps(dst, m, out[jx]);
#endif
            }
        }
    }
    if (any_nan(chk)) {
        __atomic_store_n(&j->nonfinite, 1, __ATOMIC_RELAXED);
    }
}

/* ---- the job ---------------------------------------------------------------------------- */
typedef struct {
    wino_plan p;
    const float *in, *u, *bias;
    float *out;
    int64_t chunks, ntasks; /* chunks per image; tasks = n * chunks */
    int64_t next;           /* next task to hand out (atomic) */
    int failed;             /* 1: out of memory, 2: non-finite output (atomic) */
    int stream;             /* 1: outputs written with non-temporal stores (see wino_run) */
    int64_t bps;            /* output channel blocks per super-block (see blocks_per_super) */
} wjob;

/*
 * Lane mapping. A chunk vector holds two lane groups of GT = VL/2 lanes; a group is up to GT
 * x-consecutive tiles of one tile row (a row of tx tiles has ceil(tx/GT) groups, the last
 * one partly filled). Groups are numbered row by row; chunk k of an image holds groups
 * 4k .. 4k+3 (CV = 2 vectors of 2 groups). So each group's input patches are read from
 * contiguous row segments (no gathers, AVX-512) and its output rows are contiguous runs of
 * 4*GT floats (masked vector stores).
 */
#define GT (VL / 2)

typedef struct {
    int valid;        /* the group exists */
    int64_t gy, gx0;  /* tile row, first tile column */
    int cnt;          /* tiles of the group inside the row (1..GT) */
} group_t;

/* Per-task lane geometry of one chunk vector. */
typedef struct {
    group_t grp[2];
    int32_t ibase[VL], obase[VL];
    int32_t rowm[WINO_T][VL], colm[WINO_T][VL]; /* input rows / columns in range */
} lanes_t;

static int64_t groups_per_row(const wino_plan *p) { return (p->tx + GT - 1) / GT; }

static void lanes_init(const wino_plan *p, int64_t group0, lanes_t *ln) {
    const int64_t gpr = groups_per_row(p), ngroups = p->ty * gpr;
    for (int h = 0; h < 2; h++) {
        group_t *gr = &ln->grp[h];
        const int64_t gi = group0 + h;
        gr->valid = gi < ngroups;
        gr->gy = gr->valid ? gi / gpr : 0;
        gr->gx0 = gr->valid ? (gi % gpr) * GT : 0;
        gr->cnt = gr->valid ? (int)(p->tx - gr->gx0 < GT ? p->tx - gr->gx0 : GT) : 0;
    }
    for (int l = 0; l < VL; l++) {
        const group_t *gr = &ln->grp[l / GT];
        const int valid = gr->valid && l % GT < gr->cnt;
        const int64_t ty = gr->gy, tx = gr->gx0 + l % GT;
        const int64_t iy0 = p->org_y + ty * WINO_M, ix0 = p->org_x + tx * WINO_M;
        ln->ibase[l] = valid ? (int32_t)(iy0 * p->iw + ix0) : 0;
        ln->obase[l] = valid ? (int32_t)(ty * WINO_M * p->ow + tx * WINO_M) : 0;
        for (int i = 0; i < WINO_T; i++) {
            ln->rowm[i][l] = (valid && iy0 + i >= 0 && iy0 + i < p->ih) ? -1 : 0;
            ln->colm[i][l] = (valid && ix0 + i >= 0 && ix0 + i < p->iw) ? -1 : 0;
        }
    }
}

/* Bits [lo, hi) of a lane mask for positions x0 + l that lie in [from, to), l < VL. */
static inline uint32_t range_bits(int64_t x0, int64_t from, int64_t to) {
    int64_t lo = from - x0, hi = to - x0;
    lo = lo < 0 ? 0 : lo;
    hi = hi > VL ? VL : hi;
    return hi <= lo ? 0u : (uint32_t)(((1ull << hi) - 1) & ~((1ull << lo) - 1));
}

#if defined(PCNN_WINO_AVX512)
/* `base + off` as an address without C pointer arithmetic (off may point before the plane:
 * the masked loads that use it never touch those lanes). */
static inline const float *addr_at(const float *base, int64_t off) {
    return (const float *)((uintptr_t)base + (uintptr_t)(off * (int64_t)sizeof(float)));
}

/* z[j][l] = patch element (i, j) of group h's tile l (lanes GT*h .. GT*h+GT-1 hold group h),
 * for patch row i of both groups: row segments loaded with column masks (zeros outside the
 * plane and past the group's last tile), de-interleaved by stride 4 with two-source permutes. */
static inline void patch_row(const wino_plan *p, const float *plane, const lanes_t *ln,
                             const __mmask16 cm[2][4], int i, vec_t z[WINO_T]) {
    const __m512i i0 = _mm512_set_epi32(28, 24, 20, 16, 12, 8, 4, 0, 28, 24, 20, 16, 12, 8, 4, 0);
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i i1 = _mm512_add_epi32(i0, one), i2 = _mm512_add_epi32(i1, one), i3 = _mm512_add_epi32(i2, one);
    vec_t part[2][WINO_T];
    for (int h = 0; h < 2; h++) {
        const group_t *gr = &ln->grp[h];
        const int64_t iy = p->org_y + gr->gy * WINO_M + i;
        if (!gr->valid || iy < 0 || iy >= p->ih) {
            for (int j = 0; j < WINO_T; j++) {
                part[h][j] = VZERO();
            }
            continue;
        }
        const int64_t xs = p->org_x + gr->gx0 * WINO_M;
        const float *row = plane + iy * p->iw;
        const vec_t a0 = _mm512_maskz_loadu_ps(cm[h][0], addr_at(row, xs));
        const vec_t a1 = _mm512_maskz_loadu_ps(cm[h][1], addr_at(row, xs + 16));
        const vec_t b0 = _mm512_maskz_loadu_ps(cm[h][2], addr_at(row, xs + 2));
        const vec_t b1 = _mm512_maskz_loadu_ps(cm[h][3], addr_at(row, xs + 18));
        part[h][0] = _mm512_permutex2var_ps(a0, i0, a1); /* row[xs + 4l + j] */
        part[h][1] = _mm512_permutex2var_ps(a0, i1, a1);
        part[h][2] = _mm512_permutex2var_ps(a0, i2, a1);
        part[h][3] = _mm512_permutex2var_ps(a0, i3, a1);
        part[h][4] = _mm512_permutex2var_ps(b0, i2, b1); /* row[xs + 2 + 4l + 2] */
        part[h][5] = _mm512_permutex2var_ps(b0, i3, b1);
    }
    for (int j = 0; j < WINO_T; j++) {
        z[j] = _mm512_mask_blend_ps((__mmask16)0xFF00, part[0][j], part[1][j]);
    }
}

/* V[xi][c][v*VL ..] for one input channel plane and one chunk vector. */
static inline void input_tile(const wino_plan *p, const float *plane, const lanes_t *ln,
                              float *vdst, int64_t vstride) {
    __mmask16 cm[2][4];
    for (int h = 0; h < 2; h++) {
        const group_t *gr = &ln->grp[h];
        const int64_t xs = p->org_x + gr->gx0 * WINO_M;
        /* columns the group's tiles read: [xs, xs + 4 cnt + 2), inside the plane */
        const int64_t lo = xs > 0 ? xs : 0, hi = xs + 4 * gr->cnt + 2 < p->iw ? xs + 4 * gr->cnt + 2 : p->iw;
        cm[h][0] = (__mmask16)range_bits(xs, lo, hi);
        cm[h][1] = (__mmask16)range_bits(xs + 16, lo, hi);
        cm[h][2] = (__mmask16)range_bits(xs + 2, lo, hi);
        cm[h][3] = (__mmask16)range_bits(xs + 18, lo, hi);
    }
    vec_t h6[WINO_T][WINO_T];
    for (int i = 0; i < WINO_T; i++) { /* row i of the patch, transformed along x */
        vec_t z[WINO_T];
        patch_row(p, plane, ln, cm, i, z);
        bt6(z, h6[i]);
    }
    for (int j = 0; j < WINO_T; j++) { /* then along y */
        vec_t col[WINO_T], v[WINO_T];
        for (int i = 0; i < WINO_T; i++) {
            col[i] = h6[i][j];
        }
        bt6(col, v);
        for (int i = 0; i < WINO_T; i++) {
            VSTORE(vdst + (i * WINO_T + j) * vstride, v[i]);
        }
    }
}
#else
/* V[xi][c][v*VL ..] for one input channel plane and one chunk vector (masked gathers). */
static inline void input_tile(const wino_plan *p, const float *plane, const lanes_t *ln,
                              float *vdst, int64_t vstride) {
    vec_t h[WINO_T][WINO_T];
    const ivec_t base = ILOAD(ln->ibase);
    mask_t cm[WINO_T];
    for (int j = 0; j < WINO_T; j++) {
        cm[j] = mask_from(ln->colm[j]);
    }
    for (int i = 0; i < WINO_T; i++) { /* row i of the patch, transformed along x */
        const mask_t rm = mask_from(ln->rowm[i]);
        const ivec_t rowbase = IADD(base, ISET1((int32_t)(i * p->iw)));
        vec_t z[WINO_T];
        for (int j = 0; j < WINO_T; j++) {
            z[j] = gather(plane, IADD(rowbase, ISET1(j)), mask_and(rm, cm[j]));
        }
        bt6(z, h[i]);
    }
    for (int j = 0; j < WINO_T; j++) { /* then along y */
        vec_t col[WINO_T], v[WINO_T];
        for (int i = 0; i < WINO_T; i++) {
            col[i] = h[i][j];
        }
        bt6(col, v);
        for (int i = 0; i < WINO_T; i++) {
            VSTORE(vdst + (i * WINO_T + j) * vstride, v[i]);
        }
    }
}
#endif

/* M[xi][k][..] (row k of position xi at M + xi * mstride + k * CHUNK) = sum over c of
 * U[xi][c][o0 + k] * V[xi][c][..], for positions xi < nxi (V = V[0], U = U[0] + o0). One call
 * for all 36 positions when a block runs alone (calls per position cost ~5% with 32-64 input
 * channels), one per position in a super-block. */
static inline __attribute__((always_inline)) void gemm_block(const float *V, const float *U,
                                                             int64_t cin, int64_t cout, float *Mx,
                                                             int64_t mstride, int nxi, const int OCB) {
    for (int xi = 0; xi < nxi; xi++) {
        const float *vx = V + (int64_t)xi * cin * CHUNK;
        const float *ux = U + (int64_t)xi * cin * cout;
        float *M = Mx + xi * mstride;
        vec_t acc[OCB_MAX][CV];
#pragma GCC unroll 12
        for (int k = 0; k < OCB; k++) {
#pragma GCC unroll 2
            for (int v = 0; v < CV; v++) {
                acc[k][v] = VZERO();
            }
        }
        for (int64_t c = 0; c < cin; c++) {
            vec_t x[CV];
#pragma GCC unroll 2
            for (int v = 0; v < CV; v++) {
                x[v] = VLOAD(vx + c * CHUNK + v * VL);
            }
            const float *uc = ux + c * cout;
#pragma GCC unroll 12
            for (int k = 0; k < OCB; k++) {
                const vec_t w = VSET1(uc[k]);
#pragma GCC unroll 2
                for (int v = 0; v < CV; v++) {
                    acc[k][v] = VFMA(w, x[v], acc[k][v]);
                }
            }
        }
#pragma GCC unroll 12
        for (int k = 0; k < OCB; k++) {
#pragma GCC unroll 2
            for (int v = 0; v < CV; v++) {
                VSTORE(M + (int64_t)k * CHUNK + v * VL, acc[k][v]);
            }
        }
    }
}

typedef void (*gemm_fn)(const float *, const float *, int64_t, int64_t, float *, int64_t, int);
#define GEMM_N(N)                                                                                  \
    static void gemm_##N(const float *V, const float *U, int64_t cin, int64_t cout, float *M,      \
                         int64_t mstride, int nxi) {                                               \
        gemm_block(V, U, cin, cout, M, mstride, nxi, N);                                           \
    }
GEMM_N(1) GEMM_N(2) GEMM_N(3) GEMM_N(4) GEMM_N(5) GEMM_N(6)
#if OCB_MAX == 12
GEMM_N(7) GEMM_N(8) GEMM_N(9) GEMM_N(10) GEMM_N(11) GEMM_N(12)
static const gemm_fn gemm_table[OCB_MAX + 1] = {NULL,    gemm_1, gemm_2,  gemm_3,  gemm_4,
                                                gemm_5,  gemm_6, gemm_7,  gemm_8,  gemm_9,
                                                gemm_10, gemm_11, gemm_12};
#else
static const gemm_fn gemm_table[OCB_MAX + 1] = {NULL, gemm_1, gemm_2, gemm_3, gemm_4, gemm_5, gemm_6};
#endif

/* Y = A^T M A (+ bias) for one output channel and one chunk vector; stores in-range outputs.
 * Returns a vector that is NaN in a lane whose tile produced a non-finite value. */
static inline vec_t output_tile(const wino_plan *p, const float *m, int64_t xstride, const lanes_t *ln,
                                float bias, float *plane, vec_t chk, int stream) {
    vec_t q[WINO_T][WINO_M];
    for (int i = 0; i < WINO_T; i++) { /* along x */
        vec_t row[WINO_T];
        for (int j = 0; j < WINO_T; j++) {
            row[j] = VLOAD(m + (int64_t)(i * WINO_T + j) * xstride);
        }
        at6(row, q[i]);
    }
    const vec_t b = VSET1(bias), zero = VZERO();
    vec_t y[WINO_M][WINO_M]; /* y[r][s] */
    for (int s = 0; s < WINO_M; s++) { /* along y */
        vec_t col[WINO_T], ys[WINO_M];
        for (int i = 0; i < WINO_T; i++) {
            col[i] = q[i][s];
        }
        at6(col, ys);
        for (int r = 0; r < WINO_M; r++) {
            y[r][s] = VADD(ys[r], b);
            chk = VFMA(y[r][s], zero, chk); /* Inf * 0 = NaN */
        }
    }
    for (int h = 0; h < 2; h++) { /* group h: output row r = 4*GT contiguous floats */
        const group_t *gr = &ln->grp[h];
        if (!gr->valid) {
            continue;
        }
        const int64_t ox = gr->gx0 * WINO_M, ocnt = (p->ow - ox < 4 * gr->cnt) ? p->ow - ox : 4 * gr->cnt;
        const uint32_t m0 = range_bits(0, 0, ocnt), m1 = range_bits(VL, 0, ocnt);
        for (int r = 0; r < WINO_M; r++) {
            const int64_t oy = gr->gy * WINO_M + r;
            if (oy >= p->oh) {
                break;
            }
            vec_t o4[4];
            interleave4(y[r], o4);
            float *dst = plane + oy * p->ow + ox;
#if defined(PCNN_WINO_AVX512)
            if (stream) { /* whole aligned cache lines (wino_run checked ow % 16 == 0) */
                _mm512_stream_ps(dst, o4[2 * h]);
                if (m1 != 0) {
                    _mm512_stream_ps(dst + VL, o4[2 * h + 1]);
                }
                continue;
            }
#else
            (void)stream;
#endif
            store_masked(dst, o4[2 * h], m0);
            store_masked(dst + VL, o4[2 * h + 1], m1);
        }
    }
    return chk;
}

/* The input rows a task reads in every channel plane, as a float range [lo, hi) of the plane.
 * Each channel's part is a short run (~2 KB) in its own page, too short for the hardware
 * prefetchers to pick up, so the task prefetches the next channels' runs itself. */
typedef struct {
    int64_t lo, hi;
} row_span;
#define PREFETCH_AHEAD 2

static row_span task_rows(const wino_plan *p, const lanes_t ln[CV]) {
    int64_t y0 = p->ih, y1 = 0;
    for (int v = 0; v < CV; v++) {
        for (int h = 0; h < 2; h++) {
            const group_t *gr = &ln[v].grp[h];
            if (gr->valid) {
                const int64_t a = p->org_y + gr->gy * WINO_M, b = a + WINO_T;
                y0 = a < y0 ? a : y0;
                y1 = b > y1 ? b : y1;
            }
        }
    }
    y0 = y0 < 0 ? 0 : y0;
    y1 = y1 > p->ih ? p->ih : y1;
    const row_span r = {y0 * p->iw, y1 > y0 ? y1 * p->iw : y0 * p->iw};
    return r;
}

static inline void prefetch_rows(const float *plane, row_span r) {
    for (int64_t i = r.lo; i < r.hi; i += 16) {
        _mm_prefetch((const char *)(plane + i), _MM_HINT_T0);
    }
    if (r.hi > r.lo) {
        _mm_prefetch((const char *)(plane + r.hi - 1), _MM_HINT_T0);
    }
}

static void run_task(wjob *j, int64_t t, float *V, float *M) {
    const wino_plan *p = &j->p;
    const int64_t n = t / j->chunks, group0 = (t % j->chunks) * 2 * CV;
    lanes_t ln[CV];
    for (int v = 0; v < CV; v++) {
        lanes_init(p, group0 + 2 * v, &ln[v]);
    }
    const int64_t in_plane = p->ih * p->iw, out_plane = p->oh * p->ow;
    const row_span rows = task_rows(p, ln);
    const int64_t nblk = (p->cout_g + OCB_MAX - 1) / OCB_MAX;
    vec_t chk = VZERO();
    for (int64_t g = 0; g < p->groups; g++) {
        const float *in_g = j->in + (n * p->groups + g) * p->cin_g * in_plane;
        const float *u_g = j->u + g * WINO_TT * p->cin_g * p->cout_g;
        for (int64_t c = 0; c < p->cin_g; c++) {
            if (c + PREFETCH_AHEAD < p->cin_g) {
                prefetch_rows(in_g + (c + PREFETCH_AHEAD) * in_plane, rows);
            }
            for (int v = 0; v < CV; v++) {
                input_tile(p, in_g + c * in_plane, &ln[v], V + c * CHUNK + v * VL, p->cin_g * CHUNK);
            }
        }
        /* output channels in nblk blocks of nearly equal size (each <= OCB_MAX), taken
         * j->bps blocks at a time ("super-block"): all 36 positions of the super-block's
         * products, position by position (V[xi] stays in cache across its blocks), then the
         * output transforms. The blocking never changes what a product sums, or in which order. */
        const int64_t xstride = j->bps * OCB_MAX * CHUNK;
        for (int64_t sb0 = 0; sb0 < nblk; sb0 += j->bps) {
            const int64_t sb1 = sb0 + j->bps < nblk ? sb0 + j->bps : nblk;
            const int64_t s0 = sb0 * p->cout_g / nblk, s1 = sb1 * p->cout_g / nblk;
            const int per_xi = sb1 - sb0 > 1; /* else all 36 positions in one call */
            for (int xi = 0; xi < (per_xi ? WINO_TT : 1); xi++) {
                const float *vx = V + (int64_t)xi * p->cin_g * CHUNK;
                const float *ux = u_g + (int64_t)xi * p->cin_g * p->cout_g;
                for (int64_t blk = sb0; blk < sb1; blk++) {
                    const int64_t o0 = blk * p->cout_g / nblk, o1 = (blk + 1) * p->cout_g / nblk;
                    gemm_table[o1 - o0](vx, ux + o0, p->cin_g, p->cout_g, M + xi * xstride + (o0 - s0) * CHUNK,
                                        xstride, per_xi ? 1 : WINO_TT);
                }
            }
            for (int64_t k = 0; k < s1 - s0; k++) {
                const int64_t oc = g * p->cout_g + s0 + k;
                float *plane = j->out + (n * p->groups * p->cout_g + oc) * out_plane;
                const float b = j->bias != NULL ? j->bias[oc] : 0.0f;
                for (int v = 0; v < CV; v++) {
                    chk = output_tile(p, M + k * CHUNK + v * VL, xstride, &ln[v], b, plane, chk, j->stream);
                }
            }
        }
    }
    if (any_nan(chk)) {
        __atomic_store_n(&j->failed, 2, __ATOMIC_RELAXED);
    }
}

/* Hands out tasks one by one (a thread slowed by another process then simply runs fewer);
 * the worker's scratch (core/scratch.h) is fetched by the first task it takes. */
static void dyn_task(void *ctx, int64_t unused) {
    (void)unused;
    wjob *j = ctx;
    float *V = NULL, *M = NULL;
    for (;;) {
        const int64_t t = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (t >= j->ntasks || __atomic_load_n(&j->failed, __ATOMIC_RELAXED)) {
            break;
        }
        if (V == NULL) {
            V = pcnn_scratch_get(PCNN_SCRATCH_WINO_TILES, sizeof(float) * (size_t)(WINO_TT * j->p.cin_g * CHUNK));
            M = pcnn_scratch_get(PCNN_SCRATCH_WINO_PRODUCTS, sizeof(float) * (size_t)(WINO_TT * j->bps * OCB_MAX * CHUNK));
            if (V == NULL || M == NULL) {
                __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
                break;
            }
        }
        run_task(j, t, V, M);
    }
    if (j->stream) {
        _mm_sfence(); /* non-temporal stores visible before the pool's join publishes them */
    }
}

/*
 * Output channel blocks per super-block (run_task). With few input channels the transformed
 * tiles V (36 * cin_g * CHUNK floats) stay in L2 and each block runs alone (its 36 products
 * stay small, in L1). Above V_L2_BYTES, each of the 22 blocks of a 256-channel layer read V
 * once more from L3 (26 MB per task on 4x256x33x33 dilated, AVX-512): then a super-block of up
 * to SUPER_CHANNELS channels reads each V[xi] (32 KB) once for all its blocks, for one write
 * and one read of its products (1.2 MB). Measured (dilated3x3, AVX-512, same process, thread
 * CPU time, busy machine): forward 0.77-0.80x, backward-data 0.8x the CPU time of one block at
 * a time, 1 and 2 threads.
 */
#define V_L2_BYTES ((int64_t)512 << 10)
#define SUPER_CHANNELS 256
static int64_t blocks_per_super(const wino_plan *p) {
    const int64_t nblk = (p->cout_g + OCB_MAX - 1) / OCB_MAX;
    if (WINO_TT * p->cin_g * CHUNK * (int64_t)sizeof(float) < V_L2_BYTES) {
        return 1;
    }
    const int64_t b = (SUPER_CHANNELS + OCB_MAX - 1) / OCB_MAX;
    return b < nblk ? b : nblk;
}

static int32_t wino_run(const pcnn_conv2d_desc *d, int32_t pass, const float *in, const float *weights,
                        const float *bias, float *out) {
    if (!pcnn_winograd_supports(d, pass)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    wjob j;
    pcnn_wino_plan(d, pass, &j.p);
    const wino_plan *p = &j.p;
    /* gather / scatter offsets are int32: planes (with the tile overhang) must fit */
    if ((p->ih + 16) * (p->iw + 16) > INT32_MAX || (p->oh + 8) * (p->ow + 8) > INT32_MAX) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    float *u = pcnn_scratch_get(PCNN_SCRATCH_WINO_WEIGHTS,
                                sizeof(float) * (size_t)(p->groups * WINO_TT * p->cin_g * p->cout_g));
    if (u == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    wtjob wt = {p, weights, u, 0};
    pcnn_parallel_for_work(p->groups * p->cin_g, p->groups * p->cin_g * p->cout_g * 64, weight_task, &wt);
    if (__atomic_load_n(&wt.nonfinite, __ATOMIC_RELAXED)) {
        return PCNN_STATUS_UNSUPPORTED; /* non-finite weights: direct */
    }
    j.in = in;
    j.u = u;
    j.bias = bias;
    j.out = out;
    j.chunks = (p->ty * groups_per_row(p) + 2 * CV - 1) / (2 * CV);
    j.ntasks = p->n * j.chunks;
    j.next = 0;
    j.failed = 0;
    /* Non-temporal output stores (AVX-512) when the output is far larger than the caches
     * would keep anyway (>= 4 MiB) and every row is whole aligned 64-byte lines (ow % 16 == 0,
     * aligned base): they skip reading each line before overwriting it (1.1-1.2x on `mid`).
     * Mixed with ordinary stores to the same lines they would be slower, hence all or none. */
    j.stream = 0;
#if defined(PCNN_WINO_AVX512)
    j.stream = p->ow % 16 == 0 && ((uintptr_t)out & 63) == 0 &&
               p->n * p->groups * p->cout_g * p->oh * p->ow >= ((int64_t)1 << 20);
#endif
    j.bps = blocks_per_super(p);
    const int64_t work = p->n * j.chunks * CHUNK * WINO_TT * p->groups * p->cin_g * p->cout_g;
    pcnn_parallel_for_work(j.ntasks, work, dyn_task, &j);
    const int failed = __atomic_load_n(&j.failed, __ATOMIC_RELAXED);
    return failed == 1 ? PCNN_STATUS_OUT_OF_MEMORY : failed == 2 ? PCNN_STATUS_UNSUPPORTED : PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t WINO_FWD(const pcnn_conv2d_desc *d, const float *src, const float *weights,
                               const float *bias, float *dst) {
    return wino_run(d, PCNN_PASS_FWD, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t WINO_BWD_DATA(const pcnn_conv2d_desc *d, const float *diff_dst,
                                    const float *weights, float *diff_src) {
    return wino_run(d, PCNN_PASS_BWD_DATA, diff_dst, weights, NULL, diff_src);
}

#endif /* PCNN_WINOGRAD_SIMD_H */
