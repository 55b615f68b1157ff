/*
 * Winograd F(4x4,3x3) backward-weights, AVX-512 / AVX2 template (included by
 * winograd-bwd-weights-avx512.c with PCNN_WBW_AVX512, by -avx2.c with PCNN_WBW_AVX2).
 * Formulation (winograd-bwd-weights-scalar.c, docs/winograd.md "Backward-weights"):
 *   dW[o][c] = G^T [ sum over images and 4x4 output tiles of Z_o .* V_c ] G,
 *   Z = A dY A^T (the tile's output gradient), V = B^T d B (its 6x6 input patch).
 *
 * Channels sit in the vector lanes on both sides. A task is (group, slice): a slice is a fixed
 * run of units (a unit: whole tile rows of one image, ~UNIT_TILES tiles; image-major) and owns
 * partial sums P[36][o][c] and bias sums. Per unit it
 *   1. transposes the row's 6 input rows (zero-padded) and 4 output-gradient rows to
 *      channels-last bands [row][column][channel] (16x16 / 8x8 register transposes; channels
 *      past c / oc and positions outside the planes are zeros);
 *   2. transforms every tile of the row: V[xi][tile][c], Z[xi][tile][o] (pure vertical ops),
 *      adding each tile's Z[1][1] (its sum of dY) into the bias sums;
 *   3. per transform position xi, P[xi][o][c] += sum over the row's tiles of Z[xi][t][o] *
 *      V[xi][t][c] (register tiles of OB output channels x CVB channel vectors, Z broadcast,
 *      tiles ascending, FMA).
 * Then P of the slices is summed in slice order and G^T M G computed in double per (o, c).
 * Slices depend on the shape only, so results do not depend on the thread count. A non-finite
 * result (Inf/NaN data) makes the call decline; the direct algorithm then serves it.
 */
#ifndef PCNN_WINOGRAD_BWD_WEIGHTS_SIMD_H
#define PCNN_WINOGRAD_BWD_WEIGHTS_SIMD_H

#include <immintrin.h>
#include <string.h>

#include "core/scratch.h"
#include "kernels/conv2d/winograd-bwd-weights.h"

#if defined(PCNN_WBW_AVX512)
#define VL 16
#define ACC_BUDGET 24 /* accumulator registers of the GEMM tile */
#define CVB_MAX 4
typedef __m512 vec_t;
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VLOAD(p) _mm512_load_ps(p)
#define VSTORE(p, v) _mm512_store_ps((p), (v))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define WBW_ENTRY pcnn_conv2d_bwd_weights_winograd__avx512
#elif defined(PCNN_WBW_AVX2)
#define VL 8
#define ACC_BUDGET 12
#define CVB_MAX 2
typedef __m256 vec_t;
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VLOAD(p) _mm256_load_ps(p)
#define VSTORE(p, v) _mm256_store_ps((p), (v))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define WBW_ENTRY pcnn_conv2d_bwd_weights_winograd__avx2
#else
#error "define PCNN_WBW_AVX512 or PCNN_WBW_AVX2 before including winograd-bwd-weights-simd.h"
#endif

#define WBW_SLICES_MAX 8                        /* partial sums per group (fixed by the shape) */
#define WBW_PART_BUDGET ((int64_t)32 << 20)     /* bytes of all partial sums (half the scratch budget) */
/* The bands read one short row run per channel plane, each in its own page: too many streams
 * for the hardware prefetchers, so band() prefetches the rows this many rows ahead itself
 * (measured 1 / 2 / 4: 2 best, mid 5.8 -> 4.1 ms; a prefetch of the whole next unit gave nothing). */
#ifndef BAND_PREFETCH_ROWS
#define BAND_PREFETCH_ROWS 2
#endif
#define UNIT_TILES 32 /* tiles per GEMM pass (each pass loads and stores the partial sums once) */

PCNN_INTERNAL int32_t WBW_ENTRY(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                                float *diff_weights, float *diff_bias);

/* ---- vector layer: row loads and register transposes -------------------------------------- */

/* Floats row[x0 + l] for l < VL with x0 + l in [0, w); zeros elsewhere (nothing else is read). */
#if defined(PCNN_WBW_AVX512)
static inline vec_t load_row(const float *row, int64_t x0, int64_t w) {
    int64_t lo = -x0, hi = w - x0;
    lo = lo < 0 ? 0 : lo;
    hi = hi > VL ? VL : hi;
    if (hi <= lo) {
        return VZERO();
    }
    const __mmask16 m = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
    const float *p = (const float *)((uintptr_t)row + (uintptr_t)(x0 * (int64_t)sizeof(float)));
    return _mm512_maskz_loadu_ps(m, p);
}

/* r[i][j] -> r[j][i] for a 16x16 block held in 16 vectors. */
static inline void transpose(vec_t r[VL]) {
    __m512 t[16], u[16], w[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* u[4i+k], 128-bit lane L: column 4L+k of rows 4i..4i+3 */
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        w[k] = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
        w[4 + k] = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
        w[8 + k] = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
        w[12 + k] = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm512_shuffle_f32x4(w[k], w[8 + k], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(w[k], w[8 + k], 0xDD);
        r[k + 4] = _mm512_shuffle_f32x4(w[4 + k], w[12 + k], 0x88);
        r[k + 12] = _mm512_shuffle_f32x4(w[4 + k], w[12 + k], 0xDD);
    }
}
#else
static inline vec_t load_row(const float *row, int64_t x0, int64_t w) {
    int64_t lo = -x0, hi = w - x0;
    lo = lo < 0 ? 0 : lo;
    hi = hi > VL ? VL : hi;
    if (hi <= lo) {
        return VZERO();
    }
    const float *p = (const float *)((uintptr_t)row + (uintptr_t)(x0 * (int64_t)sizeof(float)));
    if (lo == 0 && hi == VL) {
        return _mm256_loadu_ps(p);
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int)lo - 1)),
                                       _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane));
    return _mm256_maskload_ps(p, m);
}

static inline void transpose(vec_t r[VL]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) { /* u[4i+k], 128-bit lane L: column 4L+k of rows 4i..4i+3 */
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
        r[k + 4] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
    }
}
#endif

/* ---- the transforms (factored forms; matrices in winograd-bwd-weights-scalar.c) ------------- */

/* out = B^T z for a 6-vector z (the forward's input transform). */
static inline void bt6(const vec_t z[6], vec_t out[6]) {
    const vec_t m4 = VSET1(-4.0f), m5 = VSET1(-5.0f), p4 = VSET1(4.0f);
    const vec_t a = VFMA(m4, z[2], z[4]);
    const vec_t b = VFMA(m4, z[1], z[3]);
    const vec_t c = VSUB(z[4], z[2]);
    const vec_t e = VSUB(z[3], z[1]);
    const vec_t e2 = VADD(e, e);
    out[0] = VFMA(p4, z[0], VFMA(m5, z[2], z[4]));
    out[1] = VADD(a, b);
    out[2] = VSUB(a, b);
    out[3] = VADD(c, e2);
    out[4] = VSUB(c, e2);
    out[5] = VFMA(p4, z[1], VFMA(m5, z[3], z[5]));
}

/* out = A d for a 4-vector d (6 outputs; A = (A^T)^T: rows (1,0,0,0), (1,1,1,1), (1,-1,1,-1),
 * (1,2,4,8), (1,-2,4,-8), (0,0,0,1)). At most 3 roundings per output. */
static inline void a46(const vec_t d[4], vec_t out[6]) {
    const vec_t p4 = VSET1(4.0f);
    const vec_t e = VADD(d[0], d[2]), f = VADD(d[1], d[3]);
    const vec_t e4 = VFMA(p4, d[2], d[0]), f4 = VFMA(p4, d[3], d[1]);
    const vec_t f8 = VADD(f4, f4); /* 2 d1 + 8 d3, exact doubling */
    out[0] = d[0];
    out[1] = VADD(e, f);
    out[2] = VSUB(e, f);
    out[3] = VADD(e4, f8);
    out[4] = VSUB(e4, f8);
    out[5] = d[3];
}

/* ---- the GEMM tile --------------------------------------------------------------------------- */

/* P[o0 + k][cvb vectors] += sum over t < kt of Z[t][o0 + k] * V[t][..] (one transform position). */
static inline __attribute__((always_inline)) void gemm_tile(const float *V, const float *Z, float *P, int64_t kt,
                                                            int64_t vstride, int64_t zstride, int64_t pstride,
                                                            const int OB, const int CVB) {
    vec_t acc[ACC_BUDGET][CVB_MAX];
#pragma GCC unroll 24
    for (int k = 0; k < OB; k++) {
#pragma GCC unroll 4
        for (int v = 0; v < CVB; v++) {
            acc[k][v] = VLOAD(P + k * pstride + v * VL);
        }
    }
    for (int64_t t = 0; t < kt; t++) {
        vec_t x[CVB_MAX];
#pragma GCC unroll 4
        for (int v = 0; v < CVB; v++) {
            x[v] = VLOAD(V + t * vstride + v * VL);
        }
        const float *z = Z + t * zstride;
#pragma GCC unroll 24
        for (int k = 0; k < OB; k++) {
            const vec_t b = VSET1(z[k]);
#pragma GCC unroll 4
            for (int v = 0; v < CVB; v++) {
                acc[k][v] = VFMA(b, x[v], acc[k][v]);
            }
        }
    }
#pragma GCC unroll 24
    for (int k = 0; k < OB; k++) {
#pragma GCC unroll 4
        for (int v = 0; v < CVB; v++) {
            VSTORE(P + k * pstride + v * VL, acc[k][v]);
        }
    }
}

typedef void (*gemm_fn)(const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t);
#define GEMM_FN(CVB, OB)                                                                            \
    static void gemm_##CVB##_##OB(const float *V, const float *Z, float *P, int64_t kt, int64_t vs,   \
                                  int64_t zs, int64_t ps) {                                         \
        gemm_tile(V, Z, P, kt, vs, zs, ps, OB, CVB);                                                \
    }
#define GEMM_ROW6(CVB) GEMM_FN(CVB, 1) GEMM_FN(CVB, 2) GEMM_FN(CVB, 3) GEMM_FN(CVB, 4) GEMM_FN(CVB, 5) GEMM_FN(CVB, 6)
#define GEMM_TAB6(CVB) gemm_##CVB##_1, gemm_##CVB##_2, gemm_##CVB##_3, gemm_##CVB##_4, gemm_##CVB##_5, gemm_##CVB##_6
GEMM_ROW6(1) GEMM_ROW6(2)
GEMM_FN(1, 7) GEMM_FN(1, 8) GEMM_FN(1, 9) GEMM_FN(1, 10) GEMM_FN(1, 11) GEMM_FN(1, 12)
#if CVB_MAX == 4
GEMM_ROW6(3) GEMM_ROW6(4)
GEMM_FN(2, 7) GEMM_FN(2, 8) GEMM_FN(2, 9) GEMM_FN(2, 10) GEMM_FN(2, 11) GEMM_FN(2, 12)
GEMM_FN(3, 7) GEMM_FN(3, 8)
GEMM_FN(1, 13) GEMM_FN(1, 14) GEMM_FN(1, 15) GEMM_FN(1, 16) GEMM_FN(1, 17) GEMM_FN(1, 18)
GEMM_FN(1, 19) GEMM_FN(1, 20) GEMM_FN(1, 21) GEMM_FN(1, 22) GEMM_FN(1, 23) GEMM_FN(1, 24)
/* gemm_tab[CVB - 1][OB], OB <= ACC_BUDGET / CVB */
static const gemm_fn gemm_tab[CVB_MAX][ACC_BUDGET + 1] = {
    {NULL, GEMM_TAB6(1), gemm_1_7, gemm_1_8, gemm_1_9, gemm_1_10, gemm_1_11, gemm_1_12, gemm_1_13, gemm_1_14,
     gemm_1_15, gemm_1_16, gemm_1_17, gemm_1_18, gemm_1_19, gemm_1_20, gemm_1_21, gemm_1_22, gemm_1_23, gemm_1_24},
    {NULL, GEMM_TAB6(2), gemm_2_7, gemm_2_8, gemm_2_9, gemm_2_10, gemm_2_11, gemm_2_12},
    {NULL, GEMM_TAB6(3), gemm_3_7, gemm_3_8},
    {NULL, GEMM_TAB6(4)},
};
#else
static const gemm_fn gemm_tab[CVB_MAX][ACC_BUDGET + 1] = {
    {NULL, GEMM_TAB6(1), gemm_1_7, gemm_1_8, gemm_1_9, gemm_1_10, gemm_1_11, gemm_1_12},
    {NULL, GEMM_TAB6(2)},
};
#endif

/* ---- the job ----------------------------------------------------------------------------------- */
typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src, *dy;
    int64_t cg, og, cp, op;  /* channels per group; padded to VL */
    int64_t ty, tx, bw, bw4; /* tiles per column / row; band widths (input, gradient), VL multiples */
    int64_t rows;            /* tile rows per unit (a band), so that a unit has ~UNIT_TILES tiles */
    int64_t upi, units;      /* units per image (ceil(ty / rows)); units per group (n * upi) */
    int64_t slices;          /* slices per group */
    int64_t part_floats;     /* one slice's partial sums: 36 * op * cp + op (bias: sums of dY) */
    float *part;             /* [groups][slices][part_floats] */
    int failed;              /* 1: out of memory, 2: non-finite result (atomic) */
} wbw_job;

/* The task's bands and transformed tiles (worker scratch). */
typedef struct {
    float *bx, *bdy, *v, *z;
    int64_t vxs, zxs; /* floats between transform positions in v, z (see xi_stride) */
} wbw_bufs;

/* Row stride of the 36 transform positions in V / Z: kt tiles of `ch` floats, plus 16 floats
 * when that is a multiple of 1 KiB, so the 36 rows a tile's transform stores to do not all
 * fall into the same L1 sets (4 KiB aliasing). */
static inline int64_t xi_stride(int64_t kt, int64_t ch) {
    const int64_t s = kt * ch;
    return s % 256 == 0 ? s + 16 : s;
}

/* Channels-last band: out[r][x][ch] = plane(ch)[y0 + r][x0 + x] for r < rows, x < width
 * (a VL multiple), ch < cpad; zeros outside the plane or for ch >= nch. */
static void band(const float *planes, int64_t nch, int64_t cpad, int64_t h, int64_t w, int64_t y0, int64_t x0,
                 int64_t rows, int64_t width, float *restrict out) {
    const int64_t plane = h * w;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = y0 + r, yp = y + BAND_PREFETCH_ROWS;
        if (r + BAND_PREFETCH_ROWS < rows && yp >= 0 && yp < h) { /* a row of every plane, ahead */
            for (int64_t ch = 0; ch < nch; ch++) {
                /* the row's lines; the loop's last step may pass the buffer's end: offsets */
                const char *p = (const char *)(planes + ch * plane + yp * w);
                for (int64_t o = 0; o < w * 4; o += 64) {
                    _mm_prefetch(p + o, _MM_HINT_T0);
                }
                _mm_prefetch(p + w * 4 - 1, _MM_HINT_T0);
            }
        }
        for (int64_t cb = 0; cb < cpad; cb += VL) {
            for (int64_t xb = 0; xb < width; xb += VL) {
                vec_t blk[VL];
                for (int l = 0; l < VL; l++) {
                    const int64_t ch = cb + l;
                    if (ch < nch && y >= 0 && y < h) {
                        blk[l] = load_row(planes + ch * plane + y * w, x0 + xb, w);
                    } else {
                        blk[l] = VZERO();
                    }
                }
                transpose(blk);
                for (int l = 0; l < VL; l++) {
                    VSTORE(out + (r * width + xb + l) * cpad + cb, blk[l]);
                }
            }
        }
    }
}

/* V[xi][t][cp] and Z[xi][t][op] of the kt = nr * tx tiles of a unit of nr tile rows, from
 * the bands (tile t: band row 4 (t / tx), column 4 (t % tx)). */
static void transform_unit(const wbw_job *j, const wbw_bufs *b, int64_t nr, float *restrict bias) {
    const int64_t cp = j->cp, op = j->op, tx = nr * j->tx, jtx = j->tx, bw = j->bw, bw4 = j->bw4;
    const float *restrict bx = b->bx, *restrict bdy = b->bdy;
    float *restrict vo = b->v, *restrict zo = b->z;
    for (int64_t t = 0; t < tx; t++) {
        const int64_t x0 = 4 * (t % jtx), y0 = 4 * (t / jtx);
        for (int64_t cb = 0; cb < cp; cb += VL) {
            vec_t h[6][6];
            for (int i = 0; i < 6; i++) {
                vec_t p[6];
                for (int k = 0; k < 6; k++) {
                    p[k] = VLOAD(bx + ((y0 + i) * bw + x0 + k) * cp + cb);
                }
                bt6(p, h[i]);
            }
            for (int jx = 0; jx < 6; jx++) {
                vec_t col[6], v[6];
                for (int i = 0; i < 6; i++) {
                    col[i] = h[i][jx];
                }
                bt6(col, v);
                for (int i = 0; i < 6; i++) {
                    VSTORE(vo + (i * 6 + jx) * b->vxs + t * cp + cb, v[i]);
                }
            }
        }
        for (int64_t ob = 0; ob < op; ob += VL) {
            vec_t h[4][6];
            for (int r = 0; r < 4; r++) { /* along x: row r of dY times A^T */
                vec_t q[4];
                for (int s = 0; s < 4; s++) {
                    q[s] = VLOAD(bdy + ((y0 + r) * bw4 + x0 + s) * op + ob);
                }
                a46(q, h[r]);
            }
            for (int jx = 0; jx < 6; jx++) { /* along y */
                vec_t col[4], z[6];
                for (int r = 0; r < 4; r++) {
                    col[r] = h[r][jx];
                }
                a46(col, z);
                for (int i = 0; i < 6; i++) {
                    VSTORE(zo + (i * 6 + jx) * b->zxs + t * op + ob, z[i]);
                }
                if (jx == 1) { /* Z[1][1] = the tile's sum of dY (rows and columns (1,1,1,1) of A) */
                    VSTORE(bias + ob, VADD(VLOAD(bias + ob), z[1]));
                }
            }
        }
    }
}

/* P[xi][o][c] += sum over the unit's tx tiles (ascending) of Z[xi][t][o] V[xi][t][c]. */
static void gemm_unit(const wbw_job *j, const wbw_bufs *b, float *P, int64_t tx) {
    const int64_t cp = j->cp, op = j->op, cv = cp / VL;
    const int64_t ncb = (cv + CVB_MAX - 1) / CVB_MAX;
    for (int64_t cbk = 0; cbk < ncb; cbk++) {
        const int64_t v0 = cbk * cv / ncb, v1 = (cbk + 1) * cv / ncb, cvb = v1 - v0;
        const int64_t obmax = ACC_BUDGET / cvb, nob = (j->og + obmax - 1) / obmax;
        for (int64_t obk = 0; obk < nob; obk++) {
            const int64_t o0 = obk * j->og / nob, o1 = (obk + 1) * j->og / nob;
            const gemm_fn f = gemm_tab[cvb - 1][o1 - o0];
            for (int xi = 0; xi < WINO_TT; xi++) {
                f(b->v + xi * b->vxs + v0 * VL, b->z + xi * b->zxs + o0, P + (xi * op + o0) * cp + v0 * VL, tx, cp,
                  op, cp);
            }
        }
    }
}

static void slice_task(void *ctx, int64_t task) {
    wbw_job *j = ctx;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t g = task / j->slices, s = task % j->slices;
    float *P = j->part + task * j->part_floats, *bias = P + WINO_TT * j->op * j->cp;
    memset(P, 0, sizeof(float) * (size_t)j->part_floats);
    wbw_bufs b;
    const int64_t rin = 4 * j->rows + 2, rout = 4 * j->rows, kt = j->rows * j->tx;
    b.bx = pcnn_scratch_get(PCNN_SCRATCH_WINO_TILES,
                            sizeof(float) * (size_t)(rin * j->bw * j->cp + rout * j->bw4 * j->op));
    b.vxs = xi_stride(kt, j->cp), b.zxs = xi_stride(kt, j->op);
    b.v = pcnn_scratch_get(PCNN_SCRATCH_WINO_PRODUCTS, sizeof(float) * (size_t)(WINO_TT * (b.vxs + b.zxs)));
    if (b.bx == NULL || b.v == NULL) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    b.bdy = b.bx + rin * j->bw * j->cp;
    b.z = b.v + WINO_TT * b.vxs;
    const int64_t u0 = s * j->units / j->slices, u1 = (s + 1) * j->units / j->slices;
    for (int64_t u = u0; u < u1; u++) {
        if (__atomic_load_n(&j->failed, __ATOMIC_RELAXED)) {
            return;
        }
        const int64_t n = u / j->upi, r = (u % j->upi) * j->rows;
        const int64_t nr = j->ty - r < j->rows ? j->ty - r : j->rows;
        band(j->src + (n * d->c + g * j->cg) * d->ih * d->iw, j->cg, j->cp, d->ih, d->iw, 4 * r - d->pad_top,
             -d->pad_left, 4 * nr + 2, j->bw, b.bx);
        band(j->dy + (n * d->oc + g * j->og) * d->oh * d->ow, j->og, j->op, d->oh, d->ow, 4 * r, 0, 4 * nr, j->bw4,
             b.bdy);
        transform_unit(j, &b, nr, bias);
        gemm_unit(j, &b, P, nr * j->tx);
    }
}

typedef struct {
    wbw_job *j;
    float *dw, *db;
} fin_job;
#define FIN_C 64

/* Task (g, o): M = sum of the slices' P (slice order), dW = G^T M G; the bias of (g, o). */
static void finish_task(void *ctx, int64_t task) {
    fin_job *f = ctx;
    wbw_job *j = f->j;
    const int64_t g = task / j->og, o = task % j->og;
    const float *base = j->part + g * j->slices * j->part_floats;
    int bad = 0;
    for (int64_t c0 = 0; c0 < j->cg; c0 += FIN_C) { /* FIN_C channels at a time, rows read contiguously */
        const int64_t nc = j->cg - c0 < FIN_C ? j->cg - c0 : FIN_C;
        float m[FIN_C][WINO_TT];
        for (int xi = 0; xi < WINO_TT; xi++) {
            const float *row = base + (xi * j->op + o) * j->cp + c0;
            for (int64_t c = 0; c < nc; c++) {
                m[c][xi] = row[c];
            }
            for (int64_t sl = 1; sl < j->slices; sl++) {
                const float *rs = row + sl * j->part_floats;
                for (int64_t c = 0; c < nc; c++) {
                    m[c][xi] += rs[c];
                }
            }
        }
        for (int64_t c = 0; c < nc; c++) {
            bad |= pcnn_wino_bww_finish(m[c], f->dw + ((g * j->og + o) * j->cg + c0 + c) * 9);
        }
    }
    if (f->db != NULL) { /* the slices' sums of dY, in slice order */
        const int64_t at = WINO_TT * j->op * j->cp + o;
        float s = base[at];
        for (int64_t sl = 1; sl < j->slices; sl++) {
            s += base[sl * j->part_floats + at];
        }
        f->db[g * j->og + o] = s;
    }
    if (bad) {
        __atomic_store_n(&j->failed, 2, __ATOMIC_RELAXED);
    }
}

PCNN_INTERNAL int32_t WBW_ENTRY(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                                float *diff_weights, float *diff_bias) {
    if (!pcnn_winograd_supports(d, PCNN_PASS_BWD_WEIGHTS)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    wbw_job j;
    j.d = d, j.src = src, j.dy = diff_dst;
    j.cg = d->c / d->groups, j.og = d->oc / d->groups;
    j.cp = (j.cg + VL - 1) / VL * VL, j.op = (j.og + VL - 1) / VL * VL;
    j.ty = (d->oh + WINO_M - 1) / WINO_M, j.tx = (d->ow + WINO_M - 1) / WINO_M;
    j.bw = (4 * j.tx + 2 + VL - 1) / VL * VL, j.bw4 = (4 * j.tx + VL - 1) / VL * VL;
    j.rows = UNIT_TILES / j.tx;
    j.rows = j.rows < 1 ? 1 : j.rows > j.ty ? j.ty : j.rows;
    j.upi = (j.ty + j.rows - 1) / j.rows;
    j.units = d->n * j.upi;
    j.part_floats = WINO_TT * j.op * j.cp + j.op;
    j.part_floats = (j.part_floats + VL - 1) / VL * VL; /* aligned slices */
    const int64_t slice_bytes = j.part_floats * (int64_t)sizeof(float) * d->groups;
    /* the slice count depends on the shape only (never on the thread count) */
    int64_t slices = WBW_PART_BUDGET / slice_bytes;
    slices = slices > WBW_SLICES_MAX ? WBW_SLICES_MAX : slices;
    slices = slices > j.units ? j.units : slices;
    /* a worker's bands and transformed tiles (very wide rows: one unit is a whole tile row) */
    const int64_t kt = j.rows * j.tx;
    const int64_t task_bytes = (int64_t)sizeof(float) * ((4 * j.rows + 2) * j.bw * j.cp + 4 * j.rows * j.bw4 * j.op +
                                                         WINO_TT * (xi_stride(kt, j.cp) + xi_stride(kt, j.op)));
    if (slices < 1 || task_bytes > WBW_PART_BUDGET) {
        return PCNN_STATUS_UNSUPPORTED; /* partial sums or task buffers above the budget: direct */
    }
    j.slices = slices;
    j.part = pcnn_scratch_get(PCNN_SCRATCH_WINO_WEIGHTS, (size_t)(slice_bytes * slices));
    if (j.part == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    j.failed = 0;
    const int64_t work = d->n * j.ty * j.tx * WINO_TT * j.op * j.cp;
    pcnn_parallel_for_work(d->groups * slices, work, slice_task, &j);
    if (__atomic_load_n(&j.failed, __ATOMIC_RELAXED) == 1) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    fin_job f = {&j, diff_weights, diff_bias};
    pcnn_parallel_for_work(d->groups * j.og, d->groups * j.og * j.cg * WINO_TT * (slices + 16), finish_task, &f);
    return __atomic_load_n(&j.failed, __ATOMIC_RELAXED) ? PCNN_STATUS_UNSUPPORTED : PCNN_STATUS_OK;
}

#endif /* PCNN_WINOGRAD_BWD_WEIGHTS_SIMD_H */
