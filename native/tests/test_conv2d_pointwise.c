/*
 * Strided 1x1 conv2d (PCNN_ALGO_POINTWISE; native/src/kernels/conv2d/pointwise*.c) against the
 * scalar direct kernel on the strided problem, all three passes, through the public API:
 *   - at every ISA level (explicit POINTWISE requests under pcnn_set_max_isa): integer-valued
 *     data (every partial sum exact) must equal the scalar kernel bit for bit; random floats
 *     must too at the scalar level (its pointwise entry runs the reference kernels on the
 *     gathered problem, whose per-element order is the reference's);
 *   - the call was served by POINTWISE at the expected level (a silent decline is seen);
 *   - 1 and 3 threads give bit-identical results; guards after every buffer stay intact;
 *     diff_src's non-strided pixels are written (prefilled with NaN, must come back 0);
 *   - awkward shapes: odd H/W with stride 2, stride 3, different strides per axis, batch 1,
 *     channels not a multiple of 16, groups, 1x1 planes, several image chunks (test hook);
 *   - AUTO takes it for forward (every shape) and backward-weights from 16 input channels per
 *     group, direct below; requests it cannot take
 *     (padding, 3x3, stride 1) return PCNN_STATUS_UNSUPPORTED;
 *   - Inf / NaN in the weights (the direct stride-1 kernel declines backward-data then) and
 *     src: the scalar kernel's result up to NaN payload;
 *   - a failed scratch allocation returns PCNN_STATUS_OUT_OF_MEMORY.
 */
#include <math.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"
#include "kernels/conv2d/pointwise.h"
#include "test_util.h"

static int same(float a, float b) { /* same bits, or both NaN */
    return bits_of(a) == bits_of(b) || (isnan(a) && isnan(b));
}

static int same_arr(const float *a, const float *b, int64_t n, int64_t *where) {
    for (int64_t i = 0; i < n; i++) {
        if (!same(a[i], b[i])) {
            *where = i;
            return 0;
        }
    }
    return 1;
}

/* The level whose POINTWISE entry serves a request capped at `isa`. */
static int32_t expected_isa(int32_t isa) {
#if defined(__x86_64__) || defined(_M_X64)
    return isa >= PCNN_ISA_AVX512 ? PCNN_ISA_AVX512 : isa;
#else
    (void)isa;
    return PCNN_ISA_SCALAR; /* no vector pointwise entry on this architecture */
#endif
}

/* The three passes with the current request and thread count into out; reports what served. */
static void run_passes(const pcnn_conv2d_desc *d, const conv_bufs *in, conv_bufs *out, int32_t want_algo,
                       int32_t want_isa, const char *label) {
    const int64_t ns = conv_src_count(d), nd = conv_dst_count(d), nw = conv_w_count(d);
    prefill_nan(out->dst, nd), prefill_nan(out->ds, ns), prefill_nan(out->dw, nw);
    prefill_nan(out->db, d->oc);
    const char *pass[3] = {"fwd", "bwd_data", "bwd_weights"};
    for (int p = 0; p < 3; p++) {
        int32_t st;
        if (p == 0) st = pcnn_conv2d_fwd(d, in->src, in->w, in->b, out->dst);
        else if (p == 1) st = pcnn_conv2d_bwd_data(d, in->dd, in->w, out->ds);
        else st = pcnn_conv2d_bwd_weights(d, in->src, in->dd, out->dw, out->db);
        CHECK(st == PCNN_STATUS_OK, "%s %s: status %s", label, pass[p], pcnn_status_str(st));
        if (want_algo >= 0) {
            CHECK(pcnn_last_algorithm() == want_algo && pcnn_last_isa() == want_isa,
                  "%s %s: served by %s/%s, expected %s/%s", label, pass[p],
                  pcnn_algorithm_name(pcnn_last_algorithm()), pcnn_isa_name(pcnn_last_isa()),
                  pcnn_algorithm_name(want_algo), pcnn_isa_name(want_isa));
        }
    }
    CHECK(guard_ok(out->dst, nd) && guard_ok(out->ds, ns) && guard_ok(out->dw, nw) &&
              guard_ok(out->db, d->oc),
          "%s: guard", label);
}

static void compare(const pcnn_conv2d_desc *d, const conv_bufs *a, const conv_bufs *b, const char *label,
                    const char *what) {
    const int64_t ns = conv_src_count(d), nd = conv_dst_count(d), nw = conv_w_count(d);
    int64_t at;
    CHECK(same_arr(a->dst, b->dst, nd, &at), "%s fwd %s: [%lld] %g vs %g", label, what, (long long)at, a->dst[at], b->dst[at]);
    CHECK(same_arr(a->ds, b->ds, ns, &at), "%s bwd_data %s: [%lld] %g vs %g", label, what, (long long)at, a->ds[at], b->ds[at]);
    CHECK(same_arr(a->dw, b->dw, nw, &at), "%s bwd_w %s: [%lld] %g vs %g", label, what, (long long)at, a->dw[at], b->dw[at]);
    CHECK(same_arr(a->db, b->db, d->oc, &at), "%s bwd_b %s: [%lld] %g vs %g", label, what, (long long)at, a->db[at], b->db[at]);
}

/* data: 1 = small integers, 0 = random floats, 2 = integers with Inf / NaN planted */
static void run_case(pcnn_conv2d_desc d, int data, const char *label) {
    if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
        CHECK(0, "%s: desc rejected", label);
        return;
    }
    CHECK(pcnn_pointwise_supports(&d, PCNN_PASS_FWD), "%s: not a pointwise shape", label);
    conv_bufs x = conv_bufs_alloc(&d), ref = conv_bufs_alloc(&d), got = conv_bufs_alloc(&d), t3 = conv_bufs_alloc(&d);
    const int64_t ns = conv_src_count(&d), nd = conv_dst_count(&d), nw = conv_w_count(&d);
    if (data) {
        fill_ints(x.src, ns, -4, 4), fill_ints(x.w, nw, -3, 3), fill_ints(x.b, d.oc, -8, 8);
        fill_ints(x.dd, nd, -4, 4);
    } else {
        for (int64_t i = 0; i < ns; i++) x.src[i] = rng_unit();
        for (int64_t i = 0; i < nw; i++) x.w[i] = rng_unit();
        for (int64_t i = 0; i < d.oc; i++) x.b[i] = rng_unit();
        for (int64_t i = 0; i < nd; i++) x.dd[i] = rng_unit();
    }
    if (data == 2) {
        x.w[nw / 2] = INFINITY, x.src[0] = NAN, x.dd[nd - 1] = -INFINITY;
    }
    /* the reference: scalar direct kernels on the strided problem, 1 thread */
    CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK);
    prefill_nan(ref.dst, nd), prefill_nan(ref.ds, ns), prefill_nan(ref.dw, nw), prefill_nan(ref.db, d.oc);
    CHECK_STATUS(pcnn_conv2d_fwd__scalar(&d, x.src, x.w, x.b, ref.dst), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_data__scalar(&d, x.dd, x.w, ref.ds), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_weights__scalar(&d, x.src, x.dd, ref.dw, ref.db), PCNN_STATUS_OK);

    char what[64];
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_POINTWISE), PCNN_STATUS_OK);
    for (int32_t isa = pcnn_isa_active(); isa >= PCNN_ISA_SCALAR; isa--) {
        CHECK_STATUS(pcnn_set_max_isa(isa), PCNN_STATUS_OK);
        const int32_t want_isa = expected_isa(pcnn_isa_active());
        /* non-finite weights: the stride-1 direct kernels decline backward-data, direct serves it */
        const int32_t want_algo = data == 2 ? -1 : PCNN_ALGO_POINTWISE;
        CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK);
        run_passes(&d, &x, &got, want_algo, want_isa, label);
        if (data || want_isa == PCNN_ISA_SCALAR) {
            snprintf(what, sizeof what, "vs scalar at %s", pcnn_isa_name(isa));
            compare(&d, &got, &ref, label, what);
        }
        CHECK_STATUS(pcnn_set_num_threads(3), PCNN_STATUS_OK);
        run_passes(&d, &x, &t3, want_algo, want_isa, label);
        snprintf(what, sizeof what, "1 vs 3 threads at %s", pcnn_isa_name(isa));
        compare(&d, &t3, &got, label, what);
    }
    CHECK_STATUS(pcnn_set_max_isa(pcnn_isa_detected()), PCNN_STATUS_OK);
    CHECK(guard_ok(x.src, ns) && guard_ok(x.dd, nd) && guard_ok(x.w, nw) && guard_ok(x.b, d.oc),
          "%s: input guard", label);

    /* AUTO: pointwise at the best vector level (backward-weights: >= 16 channels per group) */
    if (data != 2) {
        CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
        const int vector = expected_isa(pcnn_isa_active()) != PCNN_ISA_SCALAR;
        CHECK_STATUS(pcnn_conv2d_fwd(&d, x.src, x.w, x.b, got.dst), PCNN_STATUS_OK);
        CHECK(pcnn_last_algorithm() == (vector ? PCNN_ALGO_POINTWISE : PCNN_ALGO_DIRECT),
              "%s AUTO fwd served by %s", label, pcnn_algorithm_name(pcnn_last_algorithm()));
        CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, x.src, x.dd, got.dw, got.db), PCNN_STATUS_OK);
        const int pw_w = vector && d.c / d.groups >= 16;
        CHECK(pcnn_last_algorithm() == (pw_w ? PCNN_ALGO_POINTWISE : PCNN_ALGO_DIRECT),
              "%s AUTO bwd_weights served by %s", label, pcnn_algorithm_name(pcnn_last_algorithm()));
    }
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_set_num_threads(1), PCNN_STATUS_OK);
    conv_bufs_free(&x), conv_bufs_free(&ref), conv_bufs_free(&got), conv_bufs_free(&t3);
}

/* pw(n, c, h, w, oc, stride_h, stride_w, groups) */
static pcnn_conv2d_desc pw(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oc, int64_t sh,
                           int64_t sw, int64_t g) {
    return conv_desc(n, c, h, w, oc, 1, 1, sh, sw, 0, 0, 0, 0, 1, 1, g);
}

/* Requests it cannot take, and a failed scratch allocation. */
static void rejections(void) {
    pcnn_conv2d_desc bad[3] = {
        conv_desc(1, 8, 9, 9, 8, 1, 1, 2, 2, 1, 0, 0, 0, 1, 1, 1), /* padding */
        conv_desc(1, 8, 9, 9, 8, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1), /* 3x3 */
        conv_desc(1, 8, 9, 9, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), /* stride 1: direct's own GEMM */
    };
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_POINTWISE), PCNN_STATUS_OK);
    CHECK(strcmp(pcnn_algorithm_name(PCNN_ALGO_POINTWISE), "pointwise") == 0, "name");
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(pcnn_conv2d_desc_init(&bad[i]), PCNN_STATUS_OK);
        conv_bufs x = conv_bufs_alloc(&bad[i]);
        fill_ints(x.src, conv_src_count(&bad[i]), -2, 2), fill_ints(x.w, conv_w_count(&bad[i]), -2, 2);
        fill_ints(x.dd, conv_dst_count(&bad[i]), -2, 2);
        CHECK_STATUS(pcnn_conv2d_fwd(&bad[i], x.src, x.w, NULL, x.dst), PCNN_STATUS_UNSUPPORTED);
        CHECK_STATUS(pcnn_conv2d_bwd_data(&bad[i], x.dd, x.w, x.ds), PCNN_STATUS_UNSUPPORTED);
        CHECK_STATUS(pcnn_conv2d_bwd_weights(&bad[i], x.src, x.dd, x.dw, x.db), PCNN_STATUS_UNSUPPORTED);
        conv_bufs_free(&x);
    }
    /* out of memory: the gather buffer cannot be had (budget 0 trims it after every call) */
    pcnn_conv2d_desc d = pw(2, 64, 100, 100, 16, 2, 2, 1); /* gathers 1.3 MB: never kept */
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    conv_bufs x = conv_bufs_alloc(&d);
    fill_ints(x.src, conv_src_count(&d), -2, 2), fill_ints(x.w, conv_w_count(&d), -2, 2);
    fill_ints(x.dd, conv_dst_count(&d), -2, 2);
    const int64_t old_budget = pcnn_scratch_set_budget(0);
    pcnn_scratch_fail_nth_alloc(1);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, x.src, x.w, NULL, x.dst), PCNN_STATUS_OUT_OF_MEMORY);
    pcnn_scratch_fail_nth_alloc(1);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, x.dd, x.w, x.ds), PCNN_STATUS_OUT_OF_MEMORY);
    pcnn_scratch_fail_nth_alloc(1);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, x.src, x.dd, x.dw, x.db), PCNN_STATUS_OUT_OF_MEMORY);
    pcnn_scratch_fail_nth_alloc(0);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, x.src, x.w, NULL, x.dst), PCNN_STATUS_OK);
    pcnn_scratch_set_budget(old_budget);
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_AUTO), PCNN_STATUS_OK);
    conv_bufs_free(&x);
}

int main(void) {
    rng_seed(20261204);
    printf("ISA levels tested: %s down to scalar\n", pcnn_isa_name(pcnn_isa_active()));
    char label[96];
    run_case(pw(2, 256, 28, 28, 512, 2, 2, 1), 1, "resnet shortcut (2 images)");
    run_case(pw(1, 17, 29, 31, 33, 2, 2, 1), 1, "odd 29x31, c17 oc33, batch 1");
    run_case(pw(3, 20, 15, 15, 9, 2, 2, 1), 1, "15x15 s2");
    run_case(pw(2, 12, 16, 35, 24, 1, 2, 1), 1, "stride 1x2");
    run_case(pw(2, 12, 35, 16, 24, 2, 1, 1), 1, "stride 2x1");
    run_case(pw(2, 10, 22, 23, 7, 3, 3, 1), 1, "stride 3");
    run_case(pw(2, 9, 11, 13, 5, 4, 3, 1), 1, "stride 4x3");
    run_case(pw(2, 32, 13, 13, 48, 2, 2, 4), 1, "groups 4");
    run_case(pw(1, 3, 9, 9, 5, 2, 2, 1), 1, "c3");
    run_case(pw(2, 8, 1, 1, 3, 2, 2, 1), 1, "1x1 plane");
    run_case(pw(1, 16, 2, 40, 16, 2, 2, 1), 1, "2 rows");
    for (int64_t w = 1; w <= 20; w++) {
        snprintf(label, sizeof label, "width %lld", (long long)w);
        run_case(pw(1, 8 + w % 5, 5, w, 4 + w % 7, 2, 2, 1), 1, label);
    }
    /* several image chunks (the hook makes a chunk one image and a bit) */
    const int64_t old_chunk = pcnn_pointwise_set_chunk_bytes(20 * 8 * 8 * 4 + 4);
    run_case(pw(5, 20, 15, 16, 12, 2, 2, 1), 1, "chunks of 1 image");
    run_case(pw(5, 20, 15, 16, 12, 2, 2, 1), 0, "chunks, floats");
    pcnn_pointwise_set_chunk_bytes(old_chunk);
    for (int i = 0; i < 25; i++) {
        const int64_t g = rng_int(1, 3);
        pcnn_conv2d_desc d = pw(rng_int(1, 3), g * rng_int(1, 20), rng_int(1, 24), rng_int(1, 40),
                                g * rng_int(1, 24), rng_int(1, 3), rng_int(2, 3), g);
        snprintf(label, sizeof label, "random %d", i);
        run_case(d, 1, label);
    }
    run_case(pw(2, 19, 17, 21, 23, 2, 2, 1), 0, "floats");
    run_case(pw(2, 19, 17, 21, 23, 2, 2, 1), 2, "non-finite");
    rejections();
    return test_finish("conv2d_pointwise");
}
