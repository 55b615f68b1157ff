/*
 * Fuzz harness: conv2d backward-weights (with and without diff_bias, chosen by the input).
 * Every ISA variant the machine runs (each table entry, called directly) and the public
 * pcnn_conv2d_bwd_weights at every ISA cap, against an exact reference (see fuzz_conv.h);
 * SIMD variants equal to scalar on integer data; a NULL diff_bias stays unwritten; guard
 * regions around every buffer; inputs must stay unchanged. A SIMD variant may decline
 * (UNSUPPORTED); the public entry point never may.
 */
#include "fuzz_conv.h"

static void check(const fz_conv_case *k, const char *what, const char *name, fz_buf ow,
                  fz_buf ob, const double *val, const double *abs_sum, int64_t nw,
                  int64_t reduction) {
    fz_check_guards(ow, "diff_weights");
    fz_check_guards(ob, "diff_bias");
    fz_conv_compare(what, name, k, fz_f(ow), val, abs_sum, nw, reduction);
    if (k->with_bias) {
        fz_conv_compare(what, name, k, fz_f(ob), val + nw, abs_sum + nw, k->d.oc, reduction);
    } else {
        for (int64_t i = 0; i < k->d.oc; ++i) {
            FZ_CHECK(fz_i(ob)[i] == FZ_PREFILL, "%s %s: diff_bias written although NULL", what,
                     name);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_announce("fuzz_conv2d_bwd_weights");
    fz_reader r = fz_reader_of(data, size);
    fz_conv_case k;
    if (!fz_conv_decode(&r, &k)) return 0;
    const pcnn_conv2d_desc *d = &k.d;
    const int64_t ns = fz_conv_src_n(d), nd = fz_conv_dst_n(d), nw = fz_conv_w_n(d);

    fz_buf src = fz_alloc(ns, k.misalign[0]), dd = fz_alloc(nd, k.misalign[1]);
    fz_conv_fill(&r, fz_f(dd), nd, k.integer);
    fz_conv_fill(&r, fz_f(src), ns, k.integer);
    fz_buf src0 = fz_alloc(ns, 0), dd0 = fz_alloc(nd, 0);
    fz_copy(src0, src);
    fz_copy(dd0, dd);

    double *val = malloc((size_t)(nw + d->oc) * sizeof(double));
    double *abs_sum = malloc((size_t)(nw + d->oc) * sizeof(double));
    FZ_CHECK(val != NULL && abs_sum != NULL, "out of memory");
    fz_conv_ref_bwd_weights(d, fz_f(src), fz_f(dd), val, abs_sum);
    const int64_t reduction = d->n * d->oh * d->ow;

    const int32_t cap0 = pcnn_isa_active();
    fz_buf scalar_w = fz_alloc(nw, k.misalign[2]), scalar_b = fz_alloc(d->oc, k.misalign[3]);
    fz_buf ow = fz_alloc(nw, k.misalign[4]), ob = fz_alloc(d->oc, k.misalign[5]);
    for (int level = 0; level < fz_levels(); ++level) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
        const char *name = pcnn_isa_name(level);
        if (t != NULL && t->conv2d_bwd_weights != NULL) {
            fz_buf w_out = level == 0 ? scalar_w : ow, b_out = level == 0 ? scalar_b : ob;
            fz_prefill(w_out);
            fz_prefill(b_out);
            const int32_t st = t->conv2d_bwd_weights(d, fz_f(src), fz_f(dd), fz_f(w_out),
                                                     k.with_bias ? fz_f(b_out) : NULL);
            FZ_CHECK(st == PCNN_STATUS_OK || (st == PCNN_STATUS_UNSUPPORTED && level > 0),
                     "conv2d_bwd_weights %s: status %d", name, st);
            if (st == PCNN_STATUS_OK) {
                check(&k, "conv2d_bwd_weights", name, w_out, b_out, val, abs_sum, nw, reduction);
                if (k.integer && level > 0) {
                    fz_conv_equal_scalar("conv2d_bwd_weights", name, &k, fz_f(w_out),
                                         fz_f(scalar_w), nw);
                    if (k.with_bias) {
                        fz_conv_equal_scalar("conv2d_bwd_weights (bias)", name, &k, fz_f(b_out),
                                             fz_f(scalar_b), d->oc);
                    }
                }
            } else {
                fz_check_guards(w_out, "diff_weights");
                fz_check_guards(b_out, "diff_bias");
            }
        }
        FZ_CHECK(pcnn_set_max_isa(level) == PCNN_STATUS_OK, "pcnn_set_max_isa(%d)", level);
        fz_prefill(ow);
        fz_prefill(ob);
        const int32_t st = pcnn_conv2d_bwd_weights(d, fz_f(src), fz_f(dd), fz_f(ow),
                                                   k.with_bias ? fz_f(ob) : NULL);
        FZ_CHECK(st == PCNN_STATUS_OK, "pcnn_conv2d_bwd_weights at cap %s: status %d", name, st);
        check(&k, "pcnn_conv2d_bwd_weights cap", name, ow, ob, val, abs_sum, nw, reduction);
    }
    pcnn_set_max_isa(cap0);

    FZ_CHECK(fz_same_bits(src, src0) && fz_same_bits(dd, dd0),
             "conv2d_bwd_weights modified an input");
    fz_check_guards(src, "conv2d_bwd_weights src");
    fz_check_guards(dd, "conv2d_bwd_weights diff_dst");
    free(val);
    free(abs_sum);
    fz_free(src); fz_free(dd); fz_free(src0); fz_free(dd0);
    fz_free(scalar_w); fz_free(scalar_b); fz_free(ow); fz_free(ob);
    return 0;
}
