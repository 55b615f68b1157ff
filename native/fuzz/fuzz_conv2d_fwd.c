/*
 * Fuzz harness: conv2d forward. Every ISA variant the machine runs (each table entry, called
 * directly) and the public pcnn_conv2d_fwd at every ISA cap, against an exact reference
 * (see fuzz_conv.h); SIMD variants equal to scalar on integer data; guard regions around
 * every buffer; inputs must stay unchanged. A SIMD variant may decline (UNSUPPORTED); the
 * public entry point never may.
 */
#include "fuzz_conv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_announce("fuzz_conv2d_fwd");
    fz_reader r = fz_reader_of(data, size);
    fz_conv_case k;
    if (!fz_conv_decode(&r, &k)) return 0;
    const pcnn_conv2d_desc *d = &k.d;
    const int64_t ns = fz_conv_src_n(d), nd = fz_conv_dst_n(d), nw = fz_conv_w_n(d);

    fz_buf src = fz_alloc(ns, k.misalign[0]), w = fz_alloc(nw, k.misalign[1]);
    fz_buf bias = fz_alloc(d->oc, k.misalign[2]);
    fz_conv_fill(&r, fz_f(w), nw, k.integer);
    fz_conv_fill(&r, fz_f(bias), d->oc, k.integer);
    fz_conv_fill(&r, fz_f(src), ns, k.integer);
    fz_buf src0 = fz_alloc(ns, 0), w0 = fz_alloc(nw, 0), bias0 = fz_alloc(d->oc, 0);
    fz_copy(src0, src);
    fz_copy(w0, w);
    fz_copy(bias0, bias);
    const float *b = k.with_bias ? fz_f(bias) : NULL;

    double *val = malloc((size_t)nd * sizeof(double)), *abs_sum = malloc((size_t)nd * sizeof(double));
    FZ_CHECK(val != NULL && abs_sum != NULL, "out of memory");
    fz_conv_ref_fwd(d, fz_f(src), fz_f(w), b, val, abs_sum);
    const int64_t reduction = (d->c / d->groups) * d->kh * d->kw + (b != NULL);

    const int32_t cap0 = pcnn_isa_active();
    fz_buf scalar_out = fz_alloc(nd, k.misalign[3]);
    fz_buf out = fz_alloc(nd, k.misalign[4]);
    for (int level = 0; level < fz_levels(); ++level) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
        const char *name = pcnn_isa_name(level);
        if (t != NULL && t->conv2d_fwd != NULL) {
            fz_buf o = level == 0 ? scalar_out : out;
            fz_prefill(o);
            const int32_t st = t->conv2d_fwd(d, fz_f(src), fz_f(w), b, fz_f(o));
            FZ_CHECK(st == PCNN_STATUS_OK || (st == PCNN_STATUS_UNSUPPORTED && level > 0),
                     "conv2d_fwd %s: status %d", name, st);
            fz_check_guards(o, "conv2d_fwd dst");
            if (st == PCNN_STATUS_OK) {
                fz_conv_compare("conv2d_fwd", name, &k, fz_f(o), val, abs_sum, nd, reduction);
                if (k.integer && level > 0) {
                    fz_conv_equal_scalar("conv2d_fwd", name, &k, fz_f(o), fz_f(scalar_out), nd);
                }
            }
        }
        /* the public entry point with the ISA capped at this level */
        FZ_CHECK(pcnn_set_max_isa(level) == PCNN_STATUS_OK, "pcnn_set_max_isa(%d)", level);
        fz_prefill(out);
        const int32_t st = pcnn_conv2d_fwd(d, fz_f(src), fz_f(w), b, fz_f(out));
        FZ_CHECK(st == PCNN_STATUS_OK, "pcnn_conv2d_fwd at cap %s: status %d", name, st);
        fz_check_guards(out, "pcnn_conv2d_fwd dst");
        fz_conv_compare("pcnn_conv2d_fwd cap", name, &k, fz_f(out), val, abs_sum, nd, reduction);
    }
    pcnn_set_max_isa(cap0);

    FZ_CHECK(fz_same_bits(src, src0) && fz_same_bits(w, w0) && fz_same_bits(bias, bias0),
             "conv2d_fwd modified an input");
    fz_check_guards(src, "conv2d_fwd src");
    fz_check_guards(w, "conv2d_fwd weights");
    fz_check_guards(bias, "conv2d_fwd bias");
    free(val);
    free(abs_sum);
    fz_free(src); fz_free(w); fz_free(bias);
    fz_free(src0); fz_free(w0); fz_free(bias0);
    fz_free(scalar_out); fz_free(out);
    return 0;
}
