/*
 * Fuzz harness: max-pool backward. The indices are either the forward pass's (valid) or
 * edited by the input (any int32, so out-of-range ones too). Every ISA variant the machine
 * runs (each table entry, called directly) and the public pcnn_maxpool2d_bwd at every ISA
 * cap must return OK and equal the oracle (fuzz_pool.h) bit for bit, or, when an index is
 * outside [0, ih*iw), return PCNN_STATUS_OUT_OF_RANGE without writing outside diff_src.
 */
#include "fuzz_pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_announce("fuzz_maxpool2d_bwd");
    fz_reader r = fz_reader_of(data, size);
    fz_pool_case k;
    if (!fz_pool_decode(&r, &k)) return 0;
    const pcnn_maxpool2d_desc *d = &k.d;
    const int64_t ns = fz_pool_src_n(d), nd = fz_pool_dst_n(d);

    /* indices of a forward pass over input-driven data, then optional edits */
    fz_buf src = fz_alloc(ns, 0), fwd_out = fz_alloc(nd, 0);
    fz_buf idx = fz_alloc(nd, k.misalign[0]), dd = fz_alloc(nd, k.misalign[1]);
    for (int64_t i = 0; i < ns; ++i) fz_f(src)[i] = fz_pool_value(&r);
    fz_pool_ref_fwd(d, fz_f(src), fz_f(fwd_out), fz_i(idx));
    const int edits = fz_u8(&r) % 4;
    for (int e = 0; e < edits; ++e) {
        const int64_t at = (int64_t)(fz_u16(&r) % (uint64_t)nd);
        const uint8_t how = fz_u8(&r);
        int32_t v;
        switch (how % 5) {
        case 0: v = (int32_t)(d->ih * d->iw); break;     /* one past the plane */
        case 1: v = -1; break;
        case 2: v = INT32_MIN + (int32_t)(how >> 3); break;
        case 3: v = INT32_MAX - (int32_t)(how >> 3); break;
        default: v = (int32_t)((int64_t)(how >> 3) % (d->ih * d->iw)); break; /* valid */
        }
        fz_i(idx)[at] = v;
    }
    for (int64_t i = 0; i < nd; ++i) fz_f(dd)[i] = fz_pool_value(&r);
    fz_buf idx0 = fz_alloc(nd, 0), dd0 = fz_alloc(nd, 0);
    fz_copy(idx0, idx);
    fz_copy(dd0, dd);
    fz_buf want = fz_alloc(ns, 0);
    const int valid = fz_pool_ref_bwd(d, fz_f(dd), fz_i(idx), fz_f(want));
    const int32_t want_st = valid ? PCNN_STATUS_OK : PCNN_STATUS_OUT_OF_RANGE;

    const int32_t cap0 = pcnn_isa_active();
    fz_buf out = fz_alloc(ns, k.misalign[2]);
    for (int level = 0; level < fz_levels(); ++level) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
        const char *name = pcnn_isa_name(level);
        if (t != NULL && t->maxpool2d_bwd != NULL) {
            fz_prefill(out);
            const int32_t st = t->maxpool2d_bwd(d, fz_f(dd), fz_i(idx), fz_f(out));
            FZ_CHECK(st == want_st || (st == PCNN_STATUS_UNSUPPORTED && level > 0),
                     "maxpool2d_bwd %s: status %d, expected %d", name, st, want_st);
            fz_check_guards(out, "maxpool2d_bwd diff_src");
            if (st == PCNN_STATUS_OK) fz_pool_same("maxpool2d_bwd", name, d, out, want, 0);
        }
        FZ_CHECK(pcnn_set_max_isa(level) == PCNN_STATUS_OK, "pcnn_set_max_isa(%d)", level);
        fz_prefill(out);
        const int32_t st = pcnn_maxpool2d_bwd(d, fz_f(dd), fz_i(idx), fz_f(out));
        FZ_CHECK(st == want_st, "pcnn_maxpool2d_bwd at cap %s: status %d, expected %d", name,
                 st, want_st);
        fz_check_guards(out, "pcnn_maxpool2d_bwd diff_src");
        if (st == PCNN_STATUS_OK) fz_pool_same("pcnn_maxpool2d_bwd cap", name, d, out, want, 0);
    }
    pcnn_set_max_isa(cap0);

    FZ_CHECK(fz_same_bits(idx, idx0) && fz_same_bits(dd, dd0), "maxpool2d_bwd modified an input");
    fz_check_guards(idx, "maxpool2d_bwd indices");
    fz_check_guards(dd, "maxpool2d_bwd diff_dst");
    fz_free(src); fz_free(fwd_out); fz_free(idx); fz_free(dd);
    fz_free(idx0); fz_free(dd0); fz_free(want); fz_free(out);
    return 0;
}
