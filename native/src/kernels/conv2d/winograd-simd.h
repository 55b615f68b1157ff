/*
 * Winograd F(4x4,3x3), AVX-512 / AVX2 template (included once by winograd-avx512.c with
 * PCNN_WINO_AVX512, by winograd-avx2.c with PCNN_WINO_AVX2). Engine and notation: winograd.h.
 *
 * Layout: output tiles sit in vector lanes. A task is (image, chunk of CHUNK consecutive
 * tiles in row-major tile order); per group it
 *   1. gathers each input channel's 6x6 patches (masked gathers: padding and edges read as
 *      zeros, nothing outside the input is touched) and transforms them: V[36][cin][CHUNK];
 *   2. per block of OCB output channels and per position xi of the 6x6 transform domain,
 *      multiplies: M[xi][o][tile] = sum over c (ascending, FMA) of U[xi][c][o] * V[xi][c][tile]
 *      (a register tile of OCB channels x CV vectors, U broadcast);
 *   3. transforms back, adds the bias, interleaves each output row's 4 column vectors into
 *      4 contiguous floats per tile and stores the tile's in-range outputs.
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
#define TILE4(o, l) _mm512_extractf32x4_ps((o)[(l) / 4], (l) % 4)
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
#define TILE4(o, l) _mm256_extractf128_ps((o)[(l) / 2], (l) % 2)
#endif

/* Stores tile l's 4 floats `t` of one output row (fewer at the right edge). */
#define STORE_TILE(l)                                                                      \
    do {                                                                                   \
        if ((l) < VL && ln->orow[r][(l) % VL]) {                                           \
            float *dst_ = plane + ln->obase[(l) % VL] + r * p->ow;                         \
            const __m128 t_ = TILE4(o4, (l) % VL);                                         \
            if (ln->ocols[(l) % VL] == WINO_M) {                                           \
                _mm_storeu_ps(dst_, t_);                                                   \
            } else {                                                                       \
                float tmp_[4];                                                             \
                _mm_storeu_ps(tmp_, t_);                                                   \
                for (int s_ = 0; s_ < ln->ocols[(l) % VL]; s_++) {                         \
                    dst_[s_] = tmp_[s_];                                                   \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    } while (0)

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
} wjob;

/* Per-task lane geometry of one chunk vector. */
typedef struct {
    int32_t ibase[VL], obase[VL];
    int32_t rowm[WINO_T][VL], colm[WINO_T][VL]; /* input rows / columns in range */
    int32_t orow[WINO_M][VL], ocol[WINO_M][VL]; /* output rows / columns in range */
    int32_t ocols[VL];                          /* output columns in range (0..4) per tile */
} lanes_t;

static void lanes_init(const wino_plan *p, int64_t tile0, lanes_t *ln) {
    const int64_t ntiles = p->ty * p->tx;
    for (int l = 0; l < VL; l++) {
        const int64_t t = tile0 + l;
        const int valid = t < ntiles;
        const int64_t ty = valid ? t / p->tx : 0, tx = valid ? t % p->tx : 0;
        const int64_t iy0 = p->org_y + ty * WINO_M, ix0 = p->org_x + tx * WINO_M;
        const int64_t oy0 = ty * WINO_M, ox0 = tx * WINO_M;
        ln->ibase[l] = (int32_t)(iy0 * p->iw + ix0);
        ln->obase[l] = (int32_t)(oy0 * p->ow + ox0);
        for (int i = 0; i < WINO_T; i++) {
            ln->rowm[i][l] = (valid && iy0 + i >= 0 && iy0 + i < p->ih) ? -1 : 0;
            ln->colm[i][l] = (valid && ix0 + i >= 0 && ix0 + i < p->iw) ? -1 : 0;
        }
        for (int r = 0; r < WINO_M; r++) {
            ln->orow[r][l] = (valid && oy0 + r < p->oh) ? -1 : 0;
            ln->ocol[r][l] = (valid && ox0 + r < p->ow) ? -1 : 0;
        }
        ln->ocols[l] = (int32_t)(valid ? (p->ow - ox0 < WINO_M ? p->ow - ox0 : WINO_M) : 0);
    }
}

/* V[xi][c][v*VL ..] for one input channel plane and one chunk vector. */
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

/* M[xi][k][..] = sum over c of U[xi][c][o0 + k] * V[xi][c][..], k < OCB, for all 36 xi. */
static inline __attribute__((always_inline)) void gemm_block(const float *V, const float *U,
                                                             int64_t cin, int64_t cout, int64_t o0,
                                                             float *M, const int OCB) {
    for (int xi = 0; xi < WINO_TT; xi++) {
        const float *vx = V + (int64_t)xi * cin * CHUNK;
        const float *ux = U + (int64_t)xi * cin * cout + o0;
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
                VSTORE(M + ((int64_t)xi * OCB_MAX + k) * CHUNK + v * VL, acc[k][v]);
            }
        }
    }
}

typedef void (*gemm_fn)(const float *, const float *, int64_t, int64_t, int64_t, float *);
#define GEMM_N(N)                                                                                  \
    static void gemm_##N(const float *V, const float *U, int64_t cin, int64_t cout, int64_t o0,    \
                         float *M) {                                                               \
        gemm_block(V, U, cin, cout, o0, M, N);                                                     \
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
static inline vec_t output_tile(const wino_plan *p, const float *m, const lanes_t *ln, float bias,
                                float *plane, vec_t chk) {
    vec_t q[WINO_T][WINO_M];
    for (int i = 0; i < WINO_T; i++) { /* along x */
        vec_t row[WINO_T];
        for (int j = 0; j < WINO_T; j++) {
            row[j] = VLOAD(m + (int64_t)(i * WINO_T + j) * OCB_MAX * CHUNK);
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
    for (int r = 0; r < WINO_M; r++) {
        vec_t o4[4];
        interleave4(y[r], o4);
        STORE_TILE(0); STORE_TILE(1); STORE_TILE(2); STORE_TILE(3);
        STORE_TILE(4); STORE_TILE(5); STORE_TILE(6); STORE_TILE(7);
#if VL == 16
        STORE_TILE(8); STORE_TILE(9); STORE_TILE(10); STORE_TILE(11);
        STORE_TILE(12); STORE_TILE(13); STORE_TILE(14); STORE_TILE(15);
#endif
    }
    return chk;
}

static void run_task(wjob *j, int64_t t, float *V, float *M) {
    const wino_plan *p = &j->p;
    const int64_t n = t / j->chunks, tile0 = (t % j->chunks) * CHUNK;
    lanes_t ln[CV];
    for (int v = 0; v < CV; v++) {
        lanes_init(p, tile0 + v * VL, &ln[v]);
    }
    const int64_t in_plane = p->ih * p->iw, out_plane = p->oh * p->ow;
    const int64_t nblk = (p->cout_g + OCB_MAX - 1) / OCB_MAX;
    vec_t chk = VZERO();
    for (int64_t g = 0; g < p->groups; g++) {
        const float *in_g = j->in + (n * p->groups + g) * p->cin_g * in_plane;
        const float *u_g = j->u + g * WINO_TT * p->cin_g * p->cout_g;
        for (int64_t c = 0; c < p->cin_g; c++) {
            for (int v = 0; v < CV; v++) {
                input_tile(p, in_g + c * in_plane, &ln[v], V + c * CHUNK + v * VL, p->cin_g * CHUNK);
            }
        }
        /* output channels in nblk blocks of nearly equal size (each <= OCB_MAX) */
        for (int64_t blk = 0; blk < nblk; blk++) {
            const int64_t o0 = blk * p->cout_g / nblk, o1 = (blk + 1) * p->cout_g / nblk;
            gemm_table[o1 - o0](V, u_g, p->cin_g, p->cout_g, o0, M);
            for (int64_t k = 0; k < o1 - o0; k++) {
                const int64_t oc = g * p->cout_g + o0 + k;
                float *plane = j->out + (n * p->groups * p->cout_g + oc) * out_plane;
                const float b = j->bias != NULL ? j->bias[oc] : 0.0f;
                for (int v = 0; v < CV; v++) {
                    chk = output_tile(p, M + k * CHUNK + v * VL, &ln[v], b, plane, chk);
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
            M = pcnn_scratch_get(PCNN_SCRATCH_WINO_PRODUCTS, sizeof(float) * (size_t)(WINO_TT * OCB_MAX * CHUNK));
            if (V == NULL || M == NULL) {
                __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
                break;
            }
        }
        run_task(j, t, V, M);
    }
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
    j.chunks = (p->ty * p->tx + CHUNK - 1) / CHUNK;
    j.ntasks = p->n * j.chunks;
    j.next = 0;
    j.failed = 0;
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
