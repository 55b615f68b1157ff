/*
 * Fully connected layer, vector kernels: a template included by linear-avx2.c and
 * linear-avx512.c after they define the vector layer (LN_V lanes, ln_vf, ln_mask and the
 * ln_* primitives) and the register tile sizes LN_FWD_MR x LN_FWD_NR and LN_MR x LN_KV.
 *
 * Forward, y = x W^T + b: x rows and W rows are both contiguous along `in`, so each output is a
 * dot product with `in` in the lanes: a tile of LN_FWD_MR batch rows x LN_FWD_NR output features
 * keeps one accumulator per pair, loads each x and W vector once per tile, and reduces the lanes
 * once at the end (no packing, so one-image inference does no extra pass over W).
 *
 * Backward data (dx = dy W) and backward weights (dW = dy^T x) are both the product
 * C[m][k] = sum_p A[m][p] * B[p][k] with B and C contiguous along k (= `in`): a tile of LN_MR rows
 * x LN_KV vectors of k broadcasts A[m][p] and streams B rows, with no horizontal sums.
 *
 * Determinism: every output element is computed by one task, always in the same order (k in
 * lanes then a fixed lane reduction for the forward; p ascending for the backward), so results do
 * not depend on the thread count. They differ from the scalar kernel only by FMA and summation
 * order, within the gamma(K) bound of Tolerance.java.
 */
#include "core/pcnn_internal.h"

#define LN_FWD_OCHUNK 32 /* output features per forward task (a multiple of LN_FWD_NR) */
#define LN_KCHUNK 256    /* columns per backward task (a multiple of LN_KV * LN_V) */
#define LN_INLINE static inline __attribute__((always_inline))

/* switch cases over the row count of a tile (1 .. tile height), each a constant-size tile */
#if LN_FWD_MR == 4
#define LN_FWD_MR_CASES(NR_) LN_DOT_CASE(1, NR_) LN_DOT_CASE(2, NR_) LN_DOT_CASE(3, NR_) LN_DOT_CASE(4, NR_)
#elif LN_FWD_MR == 2
#define LN_FWD_MR_CASES(NR_) LN_DOT_CASE(1, NR_) LN_DOT_CASE(2, NR_)
#else
#error "LN_FWD_MR must be 2 or 4"
#endif
#if LN_MR == 4
#define LN_MR_CASES(KV_, M_) LN_GEMM_CASE(1, KV_, M_) LN_GEMM_CASE(2, KV_, M_) LN_GEMM_CASE(3, KV_, M_) LN_GEMM_CASE(4, KV_, M_)
#elif LN_MR == 6
#define LN_MR_CASES(KV_, M_) LN_GEMM_CASE(1, KV_, M_) LN_GEMM_CASE(2, KV_, M_) LN_GEMM_CASE(3, KV_, M_) \
    LN_GEMM_CASE(4, KV_, M_) LN_GEMM_CASE(5, KV_, M_) LN_GEMM_CASE(6, KV_, M_)
#else
#error "LN_MR must be 4 or 6"
#endif

/* ---- forward ---------------------------------------------------------------------------- */

LN_INLINE void ln_dot_tile(const int mr, const int nr, int64_t in, const float *x, const float *w,
                           float *dst, int64_t ldd, const float *bias, ln_mask tail,
                           int64_t kfull) {
    ln_vf acc[LN_FWD_MR][LN_FWD_NR];
    for (int r = 0; r < mr; ++r)
        for (int c = 0; c < nr; ++c) acc[r][c] = ln_zero();
    int64_t k = 0;
    for (; k < kfull; k += LN_V) {
        ln_vf wv[LN_FWD_NR];
        for (int c = 0; c < nr; ++c) wv[c] = ln_load(w + c * in + k);
        for (int r = 0; r < mr; ++r) {
            const ln_vf xv = ln_load(x + r * in + k);
            for (int c = 0; c < nr; ++c) acc[r][c] = ln_fmadd(xv, wv[c], acc[r][c]);
        }
    }
    if (k < in) {
        ln_vf wv[LN_FWD_NR];
        for (int c = 0; c < nr; ++c) wv[c] = ln_load_m(w + c * in + k, tail);
        for (int r = 0; r < mr; ++r) {
            const ln_vf xv = ln_load_m(x + r * in + k, tail);
            for (int c = 0; c < nr; ++c) acc[r][c] = ln_fmadd(xv, wv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < mr; ++r) {
        for (int c = 0; c < nr; ++c) {
            const float s = ln_hsum(acc[r][c]);
            dst[r * ldd + c] = bias != NULL ? s + bias[c] : s;
        }
    }
}

typedef struct {
    int64_t n, in, out, ochunks;
    const float *src, *weights, *bias;
    float *dst;
} ln_fwd_ctx;

#define LN_DOT_CASE(MR_, NR_)                                                              \
    case MR_:                                                                             \
        ln_dot_tile(MR_, NR_, in, x, w, d, c->out, b, tail, kfull);                       \
        break;

static void ln_fwd_task(void *vctx, int64_t t) {
    const ln_fwd_ctx *c = vctx;
    const int64_t in = c->in;
    const int64_t i0 = (t / c->ochunks) * LN_FWD_MR;
    const int64_t o0 = (t % c->ochunks) * LN_FWD_OCHUNK;
    const int64_t o1 = o0 + LN_FWD_OCHUNK < c->out ? o0 + LN_FWD_OCHUNK : c->out;
    const int mr = (int)(c->n - i0 < LN_FWD_MR ? c->n - i0 : LN_FWD_MR);
    const int64_t kfull = in - in % LN_V;
    const ln_mask tail = ln_mask_first((int)(in % LN_V));
    const float *x = c->src + i0 * in;
    for (int64_t o = o0; o < o1;) {
        const float *w = c->weights + o * in;
        float *d = c->dst + i0 * c->out + o;
        const float *b = c->bias != NULL ? c->bias + o : NULL;
        if (o1 - o >= LN_FWD_NR) {
            switch (mr) { LN_FWD_MR_CASES(LN_FWD_NR) }
            o += LN_FWD_NR;
        } else {
            switch (mr) { LN_FWD_MR_CASES(1) }
            o += 1;
        }
    }
}

PCNN_INTERNAL int32_t LN_NAME(linear_fwd)(int64_t n, int64_t in, int64_t out, const float *src,
                            const float *weights, const float *bias, float *dst) {
    ln_fwd_ctx ctx = {n, in, out, (out + LN_FWD_OCHUNK - 1) / LN_FWD_OCHUNK, src, weights, bias,
                      dst};
    const int64_t itiles = (n + LN_FWD_MR - 1) / LN_FWD_MR;
    pcnn_parallel_for_work(itiles * ctx.ochunks, n * in * out, ln_fwd_task, &ctx);
    return PCNN_STATUS_OK;
}

/* ---- backward: C[m][k] = sum_p A[m*sam + p*sap] * B[p*ld + k] --------------------------- */

LN_INLINE void ln_gemm_tile(const int mr, const int kv, const int masked, int64_t p_count,
                            const float *a, int64_t sam, int64_t sap, const float *b, int64_t ld,
                            float *cdst, ln_mask tail) {
    ln_vf acc[LN_MR][LN_KV];
    for (int r = 0; r < mr; ++r)
        for (int v = 0; v < kv; ++v) acc[r][v] = ln_zero();
    for (int64_t p = 0; p < p_count; ++p) {
        const float *bp = b + p * ld;
        ln_vf bv[LN_KV];
        for (int v = 0; v < kv; ++v)
            bv[v] = (masked && v == kv - 1) ? ln_load_m(bp + v * LN_V, tail) : ln_load(bp + v * LN_V);
        const float *ap = a + p * sap;
        for (int r = 0; r < mr; ++r) {
            const ln_vf av = ln_set1(ap[r * sam]);
            for (int v = 0; v < kv; ++v) acc[r][v] = ln_fmadd(av, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < mr; ++r) {
        for (int v = 0; v < kv; ++v) {
            float *cp = cdst + r * ld + v * LN_V;
            if (masked && v == kv - 1) {
                ln_store_m(cp, tail, acc[r][v]);
            } else {
                ln_store(cp, acc[r][v]);
            }
        }
    }
}

typedef struct {
    int64_t m, cols, p, sam, sap, kchunks;
    const float *a, *b;
    float *c;
} ln_gemm_ctx;

#define LN_GEMM_CASE(MR_, KV_, MASKED_)                                                    \
    case MR_:                                                                             \
        ln_gemm_tile(MR_, KV_, MASKED_, c->p, a, c->sam, c->sap, c->b + k, cols,           \
                     c->c + m0 * cols + k, tail);                                         \
        break;

static void ln_gemm_task(void *vctx, int64_t t) {
    const ln_gemm_ctx *c = vctx;
    const int64_t cols = c->cols;
    const int64_t m0 = (t / c->kchunks) * LN_MR;
    const int64_t k0 = (t % c->kchunks) * LN_KCHUNK;
    const int64_t k1 = k0 + LN_KCHUNK < cols ? k0 + LN_KCHUNK : cols;
    const int mr = (int)(c->m - m0 < LN_MR ? c->m - m0 : LN_MR);
    const float *a = c->a + m0 * c->sam;
    const ln_mask full = ln_mask_first(LN_V);
    for (int64_t k = k0; k < k1;) {
        if (k1 - k >= LN_KV * LN_V) {
            const ln_mask tail = full;
            switch (mr) { LN_MR_CASES(LN_KV, 0) }
            k += LN_KV * LN_V;
        } else {
            const int64_t rem = k1 - k;
            const ln_mask tail = rem >= LN_V ? full : ln_mask_first((int)rem);
            switch (mr) { LN_MR_CASES(1, 1) }
            k += rem >= LN_V ? LN_V : rem;
        }
    }
}

static void ln_gemm(int64_t m, int64_t cols, int64_t p, const float *a, int64_t sam, int64_t sap,
                    const float *b, float *c) {
    ln_gemm_ctx ctx = {m, cols, p, sam, sap, (cols + LN_KCHUNK - 1) / LN_KCHUNK, a, b, c};
    const int64_t mtiles = (m + LN_MR - 1) / LN_MR;
    pcnn_parallel_for_work(mtiles * ctx.kchunks, m * cols * p, ln_gemm_task, &ctx);
}

PCNN_INTERNAL int32_t LN_NAME(linear_bwd_data)(int64_t n, int64_t in, int64_t out, const float *diff_dst,
                                 const float *weights, float *diff_src) {
    /* diff_src[i][k] = sum_o diff_dst[i][o] * weights[o][k]: A = diff_dst (m = i, p = o). */
    ln_gemm(n, in, out, diff_dst, out, 1, weights, diff_src);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t LN_NAME(linear_bwd_weights)(int64_t n, int64_t in, int64_t out, const float *src,
                                    const float *diff_dst, float *diff_weights,
                                    float *diff_bias) {
    /* diff_weights[o][k] = sum_i diff_dst[i][o] * src[i][k]: A = diff_dst^T (m = o, p = i). */
    ln_gemm(out, in, n, diff_dst, 1, out, src, diff_weights);
    if (diff_bias != NULL) {
        /* diff_bias[o] = sum over i ascending of diff_dst[i][o]: plain adds in the scalar
         * kernel's order, so this part is bit-identical to it. */
        int64_t o = 0;
        for (; o + LN_V <= out; o += LN_V) {
            ln_vf acc = ln_zero();
            for (int64_t i = 0; i < n; ++i) acc = ln_add(acc, ln_load(diff_dst + i * out + o));
            ln_store(diff_bias + o, acc);
        }
        if (o < out) {
            const ln_mask tail = ln_mask_first((int)(out - o));
            ln_vf acc = ln_zero();
            for (int64_t i = 0; i < n; ++i)
                acc = ln_add(acc, ln_load_m(diff_dst + i * out + o, tail));
            ln_store_m(diff_bias + o, tail, acc);
        }
    }
    return PCNN_STATUS_OK;
}
