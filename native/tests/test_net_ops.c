/*
 * The network operations (linear, ReLU, softmax cross-entropy): every table variant at every
 * detected ISA level against the scalar kernel, on awkward sizes (1, primes, vector tails, the
 * LeNet-5 shapes), with guarded buffers pre-filled with NaN.
 *  - linear with small-integer inputs: every partial sum is an exact float, so all variants must
 *    be bit-identical to scalar; with random floats: within gamma(K) * sum|terms| (K = reduction);
 *  - linear results bit-identical at 1, 2 and 3 threads;
 *  - ReLU: bit-exact, including NaN payloads, -0.0, infinities, subnormals, in place;
 *  - cross-entropy: known answers, the stable path for huge logits, bad labels -> OUT_OF_RANGE;
 *  - error statuses of the exported entry points.
 */
#include "core/pcnn_internal.h"
#include "test_util.h"

static int g_compared; /* variant comparisons made: asserted > 0 so a skipped path is seen */

typedef struct { int64_t n, in, out; } lin_shape;

static const lin_shape SHAPES[] = {
    {1, 1, 1}, {1, 400, 120}, {64, 400, 120}, {64, 120, 84}, {64, 84, 10}, {1, 84, 10},
    {3, 7, 5}, {5, 17, 33}, {7, 31, 9}, {2, 16, 16}, {13, 65, 3}, {1, 1000, 1}, {9, 1, 37},
    {6, 33, 29}, {65, 257, 11}, {4, 300, 300},
};
#define NSHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

static void fill(float *p, int64_t n, int integers) {
    for (int64_t i = 0; i < n; ++i) p[i] = integers ? (float)rng_int(-3, 3) : rng_unit();
}

static float *copy_of(const float *p, int64_t n) {
    float *q = gbuf_f(n);
    memcpy(q, p, (size_t)n * sizeof(float));
    return q;
}

/* |a - b| <= gamma(k) * bound + tiny, gamma(k) = (k+2) * 2^-24 to first order. */
static int close_enough(float a, float b, double bound, int64_t k) {
    const double ku = (double)k * 0x1p-24;
    const double g = ku / (1.0 - ku) + 2 * 0x1p-24;
    return fabs((double)a - (double)b) <= 2.0 * g * bound + 0x1p-140; /* both sides carry error */
}

typedef enum { FWD, BWD_DATA, BWD_W } lin_op;

/* Runs op with table entry `t` (NULL = scalar kernel) into out / out_bias. */
static int32_t run_op(const pcnn_kernel_table *t, lin_op op, lin_shape s, const float *x,
                      const float *w, const float *b, const float *dy, float *out,
                      float *out_bias) {
    switch (op) {
    case FWD:
        return (t ? t->linear_fwd : pcnn_linear_fwd__scalar)(s.n, s.in, s.out, x, w, b, out);
    case BWD_DATA:
        return (t ? t->linear_bwd_data : pcnn_linear_bwd_data__scalar)(s.n, s.in, s.out, dy, w, out);
    default:
        return (t ? t->linear_bwd_weights : pcnn_linear_bwd_weights__scalar)(s.n, s.in, s.out, x, dy,
                                                                               out, out_bias);
    }
}

static void check_linear_shape(lin_shape s, int integers) {
    const int64_t xc = s.n * s.in, wc = s.out * s.in, yc = s.n * s.out;
    float *x = gbuf_f(xc), *w = gbuf_f(wc), *b = gbuf_f(s.out), *dy = gbuf_f(yc);
    fill(x, xc, integers);
    fill(w, wc, integers);
    fill(b, s.out, integers);
    fill(dy, yc, integers);
    for (int op = FWD; op <= BWD_W; ++op) {
        const int64_t oc = op == FWD ? yc : op == BWD_DATA ? xc : wc;
        const int64_t k = op == FWD ? s.in + 1 : op == BWD_DATA ? s.out : s.n;
        float *ref = gbuf_f(oc), *ref_b = gbuf_f(s.out);
        CHECK_STATUS(run_op(NULL, (lin_op)op, s, x, w, b, dy, ref, ref_b), PCNN_STATUS_OK);
        /* magnitude bound of every output: the same sums over |terms| (in double) */
        double *bound = calloc((size_t)oc, sizeof(double));
        for (int64_t i = 0; i < s.n; ++i)
            for (int64_t o = 0; o < s.out; ++o)
                for (int64_t kk = 0; kk < s.in; ++kk) {
                    if (op == FWD) bound[i * s.out + o] += fabs(x[i * s.in + kk] * w[o * s.in + kk]);
                    if (op == BWD_DATA) bound[i * s.in + kk] += fabs(dy[i * s.out + o] * w[o * s.in + kk]);
                    if (op == BWD_W) bound[o * s.in + kk] += fabs(dy[i * s.out + o] * x[i * s.in + kk]);
                }
        if (op == FWD)
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t o = 0; o < s.out; ++o) bound[i * s.out + o] += fabs(b[o]);
        for (int level = 1; level <= pcnn_isa_detected(); ++level) {
            const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
            if (t == NULL || t->linear_fwd == NULL) continue;
            float *got = gbuf_f(oc), *got_b = gbuf_f(s.out);
            CHECK_STATUS(run_op(t, (lin_op)op, s, x, w, b, dy, got, got_b), PCNN_STATUS_OK);
            ++g_compared;
            int bad = 0;
            for (int64_t i = 0; i < oc && bad < 3; ++i) {
                const int ok = integers ? bits_of(got[i]) == bits_of(ref[i])
                                        : close_enough(got[i], ref[i], bound[i], k);
                if (!ok) {
                    ++bad;
                    CHECK(ok, "%s op %d n=%" PRId64 " in=%" PRId64 " out=%" PRId64 " [%" PRId64
                              "]: %.9g vs scalar %.9g", pcnn_isa_name(level), op, s.n, s.in, s.out,
                          i, got[i], ref[i]);
                }
            }
            CHECK(guard_ok(got, oc), "%s op %d guard overwritten", pcnn_isa_name(level), op);
            if (op == BWD_W) {
                for (int64_t o = 0; o < s.out; ++o)
                    CHECK(bits_of(got_b[o]) == bits_of(ref_b[o]), "%s diff_bias[%" PRId64 "]",
                          pcnn_isa_name(level), o);
                CHECK(guard_ok(got_b, s.out), "diff_bias guard");
            }
            /* thread-count independence: bit-identical at 1, 2 and 3 threads */
            const int32_t threads = pcnn_get_num_threads();
            const int32_t saved_cap = pcnn_isa_active();
            pcnn_set_max_isa(level);
            for (int32_t th = 1; th <= 3; ++th) {
                pcnn_set_num_threads(th);
                float *again = gbuf_f(oc), *again_b = gbuf_f(s.out);
                if (op == FWD) pcnn_linear_fwd(s.n, s.in, s.out, x, w, b, again);
                if (op == BWD_DATA) pcnn_linear_bwd_data(s.n, s.in, s.out, dy, w, again);
                if (op == BWD_W) pcnn_linear_bwd_weights(s.n, s.in, s.out, x, dy, again, again_b);
                CHECK(memcmp(again, got, (size_t)oc * sizeof(float)) == 0,
                      "%s op %d differs at %d threads", pcnn_isa_name(level), op, (int)th);
                free(again);
                free(again_b);
            }
            pcnn_set_num_threads(threads);
            pcnn_set_max_isa(saved_cap);
            free(got);
            free(got_b);
        }
        CHECK(guard_ok(ref, oc), "scalar guard");
        free(bound);
        free(ref);
        free(ref_b);
    }
    CHECK(guard_ok(x, xc) && guard_ok(w, wc) && guard_ok(dy, yc), "input guards");
    free(x);
    free(w);
    free(b);
    free(dy);
}

static void check_linear_known_answer(void) {
    /* x [2,3], W [2,3], b [2]: y = x W^T + b */
    const float x[] = {1, 2, 3, -1, 0, 2}, w[] = {1, 0, -1, 2, 1, 0}, b[] = {0.5f, -1};
    const float dy[] = {1, -1, 2, 0.5f};
    float y[4], dx[6], dw[6], db[2];
    CHECK_STATUS(pcnn_linear_fwd(2, 3, 2, x, w, b, y), PCNN_STATUS_OK);
    CHECK(y[0] == -1.5f && y[1] == 3 && y[2] == -2.5f && y[3] == -3, "fwd %g %g %g %g", y[0],
          y[1], y[2], y[3]);
    CHECK_STATUS(pcnn_linear_bwd_data(2, 3, 2, dy, w, dx), PCNN_STATUS_OK);
    CHECK(dx[0] == -1 && dx[1] == -1 && dx[2] == -1 && dx[3] == 3 && dx[4] == 0.5f && dx[5] == -2,
          "bwd_data");
    CHECK_STATUS(pcnn_linear_bwd_weights(2, 3, 2, x, dy, dw, db), PCNN_STATUS_OK);
    CHECK(dw[0] == -1 && dw[1] == 2 && dw[2] == 7 && dw[3] == -1.5f && dw[4] == -2 && dw[5] == -2,
          "bwd_weights");
    CHECK(db[0] == 3 && db[1] == -0.5f, "diff_bias");
}

static void check_relu(void) {
    const float specials[] = {-2.0f, -0.0f, 0.0f, 1.5f, f_from_bits(0x7fc00123u),
                              f_from_bits(0xffc00077u), -INFINITY, INFINITY, 1e-40f, -1e-40f};
    const int64_t counts[] = {1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 16383, 16384, 16385, 50000};
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ++ci) {
        const int64_t n = counts[ci];
        float *x = gbuf_f(n), *dy = gbuf_f(n);
        for (int64_t i = 0; i < n; ++i) {
            x[i] = (i % 3 == 0) ? specials[rng_int(0, 9)] : rng_unit();
            dy[i] = (i % 5 == 0) ? specials[rng_int(0, 9)] : rng_unit();
        }
        float *ref = gbuf_f(n), *refb = gbuf_f(n);
        pcnn_relu_fwd__scalar(n, x, ref);
        pcnn_relu_bwd__scalar(n, ref, dy, refb);
        for (int64_t i = 0; i < n; ++i) { /* the definition, independently */
            const float e = (x[i] > 0 || x[i] != x[i]) ? x[i] : 0.0f;
            CHECK(bits_of(ref[i]) == bits_of(e), "scalar fwd [%" PRId64 "]", i);
            const float eb = (ref[i] > 0 || ref[i] != ref[i]) ? dy[i] : 0.0f;
            CHECK(bits_of(refb[i]) == bits_of(eb), "scalar bwd [%" PRId64 "]", i);
        }
        for (int level = 1; level <= pcnn_isa_detected(); ++level) {
            const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
            if (t == NULL || t->relu_fwd == NULL) continue;
            float *got = gbuf_f(n), *gotb = gbuf_f(n);
            CHECK_STATUS(t->relu_fwd(n, x, got), PCNN_STATUS_OK);
            CHECK_STATUS(t->relu_bwd(n, got, dy, gotb), PCNN_STATUS_OK);
            ++g_compared;
            CHECK(memcmp(got, ref, (size_t)n * sizeof(float)) == 0, "%s relu fwd n=%" PRId64,
                  pcnn_isa_name(level), n);
            CHECK(memcmp(gotb, refb, (size_t)n * sizeof(float)) == 0, "%s relu bwd n=%" PRId64,
                  pcnn_isa_name(level), n);
            CHECK(guard_ok(got, n) && guard_ok(gotb, n), "%s relu guards", pcnn_isa_name(level));
            /* in place */
            float *inplace = copy_of(x, n);
            CHECK_STATUS(t->relu_fwd(n, inplace, inplace), PCNN_STATUS_OK);
            CHECK(memcmp(inplace, ref, (size_t)n * sizeof(float)) == 0, "%s in place",
                  pcnn_isa_name(level));
            free(inplace);
            free(got);
            free(gotb);
        }
        free(x);
        free(dy);
        free(ref);
        free(refb);
    }
}

static void check_xent(void) {
    /* row 0: [0,0,1] label 2: log(2+e) - 1; row 1: [2,3,1000] label 2: ~0 (no overflow) */
    const float logits[] = {0, 0, 1, 2, 3, 1000};
    const int32_t labels[] = {2, 2};
    float loss = -1, g[6];
    CHECK_STATUS(pcnn_softmax_xent_fwd(2, 3, logits, labels, &loss), PCNN_STATUS_OK);
    const double row0 = log(2 + exp(1.0)) - 1;
    CHECK(loss == (float)(row0 / 2), "loss %.9g expected %.9g", loss, row0 / 2);
    CHECK_STATUS(pcnn_softmax_xent_bwd(2, 3, logits, labels, g), PCNN_STATUS_OK);
    const double s = 2 + exp(1.0);
    CHECK(g[0] == (float)(1 / s / 2) && g[2] == (float)((exp(1.0) / s - 1) / 2), "grad row 0");
    CHECK(g[5] == 0.0f || fabsf(g[5]) < 1e-30f, "grad row 1 label %g", g[5]);
    const int32_t bad[] = {0, 3};
    CHECK_STATUS(pcnn_softmax_xent_fwd(2, 3, logits, bad, &loss), PCNN_STATUS_OUT_OF_RANGE);
    const int32_t neg[] = {-1, 0};
    CHECK_STATUS(pcnn_softmax_xent_bwd(2, 3, logits, neg, g), PCNN_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pcnn_softmax_xent_fwd(0, 3, logits, labels, &loss), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_softmax_xent_fwd(2, 3, logits, labels, NULL), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_softmax_xent_bwd(2, 3, logits, labels, (float *)logits),
                 PCNN_STATUS_INVALID_ARGUMENT);
}

static void check_errors(void) {
    float a[64] = {0}, b[64] = {0}, c[64] = {0};
    CHECK_STATUS(pcnn_linear_fwd(0, 2, 2, a, b, NULL, c), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_linear_fwd(1, -2, 2, a, b, NULL, c), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_linear_fwd(1, 2, 2, NULL, b, NULL, c), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_linear_fwd(1, 2, 2, a, b, NULL, a + 1), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_linear_fwd(INT64_MAX / 2, 4, 2, a, b, NULL, c), PCNN_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pcnn_linear_bwd_data(1, 2, 2, a, b, NULL), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_linear_bwd_data(2, 2, 2, a, b, a), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_linear_bwd_weights(1, 2, 2, a, b, NULL, c), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_linear_bwd_weights(1, 2, 2, a, b, c, c + 2), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_relu_fwd(0, a, c), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_relu_fwd(INT64_MAX / 2, a, c), PCNN_STATUS_OUT_OF_RANGE);
    CHECK_STATUS(pcnn_relu_fwd(4, a, a + 1), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_relu_bwd(4, a, b, a), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_relu_bwd(4, a, NULL, c), PCNN_STATUS_INVALID_ARGUMENT);
}

int main(void) {
    printf("test_net_ops: detected %s, %d threads\n", pcnn_isa_name(pcnn_isa_detected()),
           (int)pcnn_get_num_threads());
    rng_seed(20261204);
    check_linear_known_answer();
    for (int i = 0; i < NSHAPES; ++i) {
        check_linear_shape(SHAPES[i], 1);
        check_linear_shape(SHAPES[i], 0);
    }
    for (int r = 0; r < 20; ++r) { /* seeded random shapes */
        const lin_shape s = {rng_int(1, 70), rng_int(1, 300), rng_int(1, 140)};
        check_linear_shape(s, r % 2);
    }
    check_relu();
    check_xent();
    check_errors();
    printf("test_net_ops: %d variant comparisons\n", g_compared);
#if defined(__x86_64__) || defined(_M_X64)
    /* linear and ReLU have AVX2 / AVX-512 kernels: on an AVX2+ machine they must have been compared */
    if (pcnn_isa_detected() >= PCNN_ISA_AVX2) CHECK(g_compared > 0, "no vector variant compared");
#else
    /* no NEON kernels for linear / ReLU yet (the NEON table leaves them NULL, dispatch serves scalar) */
    CHECK(g_compared == 0, "%d vector comparisons on an architecture without net-op kernels", g_compared);
#endif
    return test_finish("test_net_ops");
}
