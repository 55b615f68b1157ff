/*
 * The algorithm dimension of the conv2d dispatch, and the per-thread "which kernel served"
 * record.
 *
 * Order: ISA levels from the active one down to scalar (as before); within a level its
 * algorithm list (table-<isa>.c), first to last. Under PCNN_ALGO_AUTO an algorithm is tried
 * when it supports the geometry and its auto_pick rule says it pays; under an explicit
 * request only that algorithm is tried. The direct algorithm is last in every list and takes
 * everything, so AUTO behaves exactly like the direct-only dispatch whenever no other
 * algorithm claims the shape.
 *
 * Both the request and the record are thread-local: a Java thread sets the request right
 * before its call and reads the record right after it, without racing other threads.
 */
#include "core/pcnn_internal.h"

static __thread int32_t tls_requested = PCNN_ALGO_AUTO;
static __thread int32_t tls_last_algorithm = -1;
static __thread int32_t tls_last_isa = -1;

PCNN_API int32_t pcnn_set_conv2d_algorithm(int32_t algorithm) {
    if (algorithm < PCNN_ALGO_AUTO || algorithm > PCNN_ALGO_POINTWISE) {
        return PCNN_STATUS_INVALID_ARGUMENT;
    }
    tls_requested = algorithm;
    return PCNN_STATUS_OK;
}

PCNN_API int32_t pcnn_get_conv2d_algorithm(void) {
    return tls_requested;
}

PCNN_API int32_t pcnn_last_algorithm(void) {
    return tls_last_algorithm;
}

PCNN_API int32_t pcnn_last_isa(void) {
    return tls_last_isa;
}

PCNN_API const char *pcnn_algorithm_name(int32_t algorithm) {
    switch (algorithm) {
    case PCNN_ALGO_AUTO:
        return "auto";
    case PCNN_ALGO_DIRECT:
        return "direct";
    case PCNN_ALGO_WINOGRAD:
        return "winograd";
    case PCNN_ALGO_DEPTHWISE:
        return "depthwise";
    case PCNN_ALGO_POINTWISE:
        return "pointwise";
    default:
        return "unknown";
    }
}

PCNN_INTERNAL void pcnn_record_served(int32_t algorithm, int32_t isa) {
    tls_last_algorithm = algorithm;
    tls_last_isa = isa;
}

PCNN_INTERNAL const pcnn_conv2d_algo *pcnn_conv2d_algos_for(int32_t isa) {
    switch (isa) {
    case PCNN_ISA_SCALAR:
        return pcnn_conv2d_algos_scalar;
#if defined(PANAMACNN_HAVE_X86_KERNELS)
    case PCNN_ISA_AVX2:
        return pcnn_conv2d_algos_avx2;
    case PCNN_ISA_AVX512:
        return pcnn_conv2d_algos_avx512;
#endif
    default:
        return NULL;
    }
}

/* The arguments of any of the three passes. */
typedef struct {
    int32_t pass;
    const float *a, *b, *c; /* fwd: src, weights, bias; bwd_data: diff_dst, weights; bwd_w: src, diff_dst */
    float *out, *out2;      /* fwd: dst; bwd_data: diff_src; bwd_w: diff_weights, diff_bias */
} conv_call;

/* Runs one algorithm entry's kernel for the pass; PCNN_STATUS_UNSUPPORTED when it has none. */
static int32_t run_entry(const pcnn_conv2d_algo *e, const pcnn_conv2d_desc *d, const conv_call *k) {
    switch (k->pass) {
    case PCNN_PASS_FWD:
        return e->fwd ? e->fwd(d, k->a, k->b, k->c, k->out) : PCNN_STATUS_UNSUPPORTED;
    case PCNN_PASS_BWD_DATA:
        return e->bwd_data ? e->bwd_data(d, k->a, k->b, k->out) : PCNN_STATUS_UNSUPPORTED;
    default:
        return e->bwd_weights ? e->bwd_weights(d, k->a, k->b, k->out, k->out2) : PCNN_STATUS_UNSUPPORTED;
    }
}

/* A level without an algorithm list: its plain table entry, as DIRECT. */
static int32_t run_table(const pcnn_kernel_table *t, const pcnn_conv2d_desc *d, const conv_call *k) {
    switch (k->pass) {
    case PCNN_PASS_FWD:
        return t->conv2d_fwd ? t->conv2d_fwd(d, k->a, k->b, k->c, k->out) : PCNN_STATUS_UNSUPPORTED;
    case PCNN_PASS_BWD_DATA:
        return t->conv2d_bwd_data ? t->conv2d_bwd_data(d, k->a, k->b, k->out) : PCNN_STATUS_UNSUPPORTED;
    default:
        return t->conv2d_bwd_weights ? t->conv2d_bwd_weights(d, k->a, k->b, k->out, k->out2)
                                     : PCNN_STATUS_UNSUPPORTED;
    }
}

static int has_pass(const pcnn_conv2d_algo *e, int32_t pass) {
    return pass == PCNN_PASS_FWD ? e->fwd != NULL : pass == PCNN_PASS_BWD_DATA ? e->bwd_data != NULL
                                                                            : e->bwd_weights != NULL;
}

/*
 * Tries every level and algorithm for `want` (AUTO or one id). *geometry_ok is set when some
 * entry of algorithm `want` supported the geometry (then a failure was a run-time decline).
 */
static int32_t try_levels(int32_t want, const pcnn_conv2d_desc *d, const conv_call *k, int *geometry_ok) {
    /* extreme strides / dilations: scalar only (pcnn_internal.h) */
    const int vector_ok =
        pcnn_vector_geometry_ok(d->stride_h, d->stride_w, d->dilation_h, d->dilation_w);
    for (int32_t level = pcnn_isa_active(); level >= PCNN_ISA_SCALAR; --level) {
        if (level > PCNN_ISA_SCALAR && !vector_ok) {
            continue;
        }
        const pcnn_conv2d_algo *list = pcnn_conv2d_algos_for(level);
        if (list == NULL) {
            const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
            if (t == NULL || (want != PCNN_ALGO_AUTO && want != PCNN_ALGO_DIRECT)) {
                continue;
            }
            *geometry_ok = 1;
            const int32_t st = run_table(t, d, k);
            if (st != PCNN_STATUS_UNSUPPORTED) {
                if (st == PCNN_STATUS_OK) {
                    pcnn_record_served(PCNN_ALGO_DIRECT, level);
                }
                return st;
            }
            continue;
        }
        for (const pcnn_conv2d_algo *e = list; e->algorithm != 0; ++e) {
            if (want != PCNN_ALGO_AUTO && e->algorithm != want) {
                continue;
            }
            if (!has_pass(e, k->pass) || (e->supports != NULL && !e->supports(d, k->pass))) {
                continue;
            }
            *geometry_ok = 1;
            if (want == PCNN_ALGO_AUTO && e->auto_pick != NULL && !e->auto_pick(d, k->pass)) {
                continue;
            }
            const int32_t st = run_entry(e, d, k);
            if (st != PCNN_STATUS_UNSUPPORTED) {
                if (st == PCNN_STATUS_OK) {
                    pcnn_record_served(e->algorithm, level);
                }
                return st;
            }
        }
    }
    return PCNN_STATUS_UNSUPPORTED;
}

static int32_t dispatch(const pcnn_conv2d_desc *d, const conv_call *k) {
    int32_t want = tls_requested;
    /* Backward-weights: Winograd for the geometries it takes (3x3, stride 1, dilation 1);
     * a WINOGRAD request on any other geometry is served directly (documented in the header). */
    if (k->pass == PCNN_PASS_BWD_WEIGHTS && want == PCNN_ALGO_WINOGRAD && !pcnn_winograd_supports(d, k->pass)) {
        want = PCNN_ALGO_DIRECT;
    }
    int geometry_ok = 0;
    int32_t st = try_levels(want, d, k, &geometry_ok);
    if (st == PCNN_STATUS_UNSUPPORTED && want != PCNN_ALGO_AUTO && geometry_ok) {
        /* A run-time decline (non-finite data): direct serves it, as AUTO would. */
        st = try_levels(PCNN_ALGO_DIRECT, d, k, &geometry_ok);
    }
    if (st == PCNN_STATUS_UNSUPPORTED && (want == PCNN_ALGO_AUTO || want == PCNN_ALGO_DIRECT)) {
        return PCNN_STATUS_INTERNAL; /* scalar direct takes everything */
    }
    return st;
}

PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_algo_fwd(const pcnn_conv2d_desc *d, const float *src,
                                                    const float *weights, const float *bias,
                                                    float *dst) {
    const conv_call k = {PCNN_PASS_FWD, src, weights, bias, dst, NULL};
    return dispatch(d, &k);
}

PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_algo_bwd_data(const pcnn_conv2d_desc *d,
                                                         const float *diff_dst,
                                                         const float *weights, float *diff_src) {
    const conv_call k = {PCNN_PASS_BWD_DATA, diff_dst, weights, NULL, diff_src, NULL};
    return dispatch(d, &k);
}

PCNN_INTERNAL int32_t pcnn_dispatch_conv2d_algo_bwd_weights(const pcnn_conv2d_desc *d,
                                                            const float *src,
                                                            const float *diff_dst,
                                                            float *diff_weights,
                                                            float *diff_bias) {
    const conv_call k = {PCNN_PASS_BWD_WEIGHTS, src, diff_dst, NULL, diff_weights, diff_bias};
    return dispatch(d, &k);
}
