/*
 * Fuzz harness: conv2d backward-data. Every ISA variant the machine runs (each table entry,
 * called directly) and the public pcnn_conv2d_bwd_data at every ISA cap, against an exact
 * reference of the adjoint (see fuzz_conv.h); SIMD variants equal to scalar on integer
 * data; guard regions around every buffer; inputs must stay unchanged. A SIMD variant may
 * decline (UNSUPPORTED); the public entry point never may.
 */
#include "fuzz_conv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_announce("fuzz_conv2d_bwd_data");
    fz_reader r = fz_reader_of(data, size);
    fz_conv_case k;
    if (!fz_conv_decode(&r, &k)) return 0;
    const pcnn_conv2d_desc *d = &k.d;
    const int64_t ns = fz_conv_src_n(d), nd = fz_conv_dst_n(d), nw = fz_conv_w_n(d);

    fz_buf dd = fz_alloc(nd, k.misalign[0]), w = fz_alloc(nw, k.misalign[1]);
    fz_conv_fill(&r, fz_f(w), nw, k.integer);
    fz_conv_fill(&r, fz_f(dd), nd, k.integer);
    fz_buf dd0 = fz_alloc(nd, 0), w0 = fz_alloc(nw, 0);
    fz_copy(dd0, dd);
    fz_copy(w0, w);

    double *val = malloc((size_t)ns * sizeof(double)), *abs_sum = malloc((size_t)ns * sizeof(double));
    FZ_CHECK(val != NULL && abs_sum != NULL, "out of memory");
    fz_conv_ref_bwd_data(d, fz_f(dd), fz_f(w), val, abs_sum);
    const int64_t reduction = (d->oc / d->groups) * d->kh * d->kw;

    const int32_t cap0 = pcnn_isa_active();
    fz_buf scalar_out = fz_alloc(ns, k.misalign[3]);
    fz_buf out = fz_alloc(ns, k.misalign[4]);
    for (int level = 0; level < fz_levels(); ++level) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
        const char *name = pcnn_isa_name(level);
        if (t != NULL && t->conv2d_bwd_data != NULL) {
            fz_buf o = level == 0 ? scalar_out : out;
            fz_prefill(o);
            const int32_t st = t->conv2d_bwd_data(d, fz_f(dd), fz_f(w), fz_f(o));
            FZ_CHECK(st == PCNN_STATUS_OK || (st == PCNN_STATUS_UNSUPPORTED && level > 0),
                     "conv2d_bwd_data %s: status %d", name, st);
            fz_check_guards(o, "conv2d_bwd_data diff_src");
            if (st == PCNN_STATUS_OK) {
                fz_conv_compare("conv2d_bwd_data", name, &k, fz_f(o), val, abs_sum, ns, reduction);
                if (k.integer && level > 0) {
                    fz_conv_equal_scalar("conv2d_bwd_data", name, &k, fz_f(o), fz_f(scalar_out), ns);
                }
            }
        }
        FZ_CHECK(pcnn_set_max_isa(level) == PCNN_STATUS_OK, "pcnn_set_max_isa(%d)", level);
        fz_prefill(out);
        const int32_t st = pcnn_conv2d_bwd_data(d, fz_f(dd), fz_f(w), fz_f(out));
        FZ_CHECK(st == PCNN_STATUS_OK, "pcnn_conv2d_bwd_data at cap %s: status %d", name, st);
        fz_check_guards(out, "pcnn_conv2d_bwd_data diff_src");
        fz_conv_compare("pcnn_conv2d_bwd_data cap", name, &k, fz_f(out), val, abs_sum, ns,
                        reduction);
    }
    pcnn_set_max_isa(cap0);

    FZ_CHECK(fz_same_bits(dd, dd0) && fz_same_bits(w, w0), "conv2d_bwd_data modified an input");
    fz_check_guards(dd, "conv2d_bwd_data diff_dst");
    fz_check_guards(w, "conv2d_bwd_data weights");
    free(val);
    free(abs_sum);
    fz_free(dd); fz_free(w); fz_free(dd0); fz_free(w0);
    fz_free(scalar_out); fz_free(out);
    return 0;
}
