/*
 * Fuzz harness: max-pool forward, with and without indices. Every ISA variant the machine
 * runs (each table entry, called directly) and the public pcnn_maxpool2d_fwd at every ISA
 * cap must equal the oracle (fuzz_pool.h) bit for bit, values (NaN payloads included) and
 * indices; NULL indices stay unwritten; guard regions; the input stays unchanged.
 */
#include "fuzz_pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_announce("fuzz_maxpool2d_fwd");
    fz_reader r = fz_reader_of(data, size);
    fz_pool_case k;
    if (!fz_pool_decode(&r, &k)) return 0;
    const pcnn_maxpool2d_desc *d = &k.d;
    const int64_t ns = fz_pool_src_n(d), nd = fz_pool_dst_n(d);

    fz_buf src = fz_alloc(ns, k.misalign[0]);
    for (int64_t i = 0; i < ns; ++i) fz_f(src)[i] = fz_pool_value(&r);
    fz_buf src0 = fz_alloc(ns, 0);
    fz_copy(src0, src);
    fz_buf want = fz_alloc(nd, 0), want_idx = fz_alloc(nd, 0);
    fz_pool_ref_fwd(d, fz_f(src), fz_f(want), fz_i(want_idx));

    const int32_t cap0 = pcnn_isa_active();
    fz_buf out = fz_alloc(nd, k.misalign[1]), idx = fz_alloc(nd, k.misalign[2]);
    for (int level = 0; level < fz_levels(); ++level) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
        const char *name = pcnn_isa_name(level);
        for (int with_idx = 0; with_idx < 2; ++with_idx) {
            if (t != NULL && t->maxpool2d_fwd != NULL) {
                fz_prefill(out);
                fz_prefill(idx);
                const int32_t st = t->maxpool2d_fwd(d, fz_f(src), fz_f(out), with_idx ? fz_i(idx) : NULL);
                FZ_CHECK(st == PCNN_STATUS_OK || (st == PCNN_STATUS_UNSUPPORTED && level > 0),
                         "maxpool2d_fwd %s: status %d", name, st);
                fz_check_guards(out, "maxpool2d_fwd dst");
                fz_check_guards(idx, "maxpool2d_fwd indices");
                if (st == PCNN_STATUS_OK) {
                    fz_pool_same("maxpool2d_fwd", name, d, out, want, 0);
                    if (with_idx) {
                        fz_pool_same("maxpool2d_fwd", name, d, idx, want_idx, 1);
                    } else {
                        for (int64_t i = 0; i < nd; ++i) {
                            FZ_CHECK(fz_i(idx)[i] == FZ_PREFILL,
                                     "maxpool2d_fwd %s: indices written although NULL", name);
                        }
                    }
                }
            }
            FZ_CHECK(pcnn_set_max_isa(level) == PCNN_STATUS_OK, "pcnn_set_max_isa(%d)", level);
            fz_prefill(out);
            fz_prefill(idx);
            const int32_t st = pcnn_maxpool2d_fwd(d, fz_f(src), fz_f(out), with_idx ? fz_i(idx) : NULL);
            FZ_CHECK(st == PCNN_STATUS_OK, "pcnn_maxpool2d_fwd at cap %s: status %d", name, st);
            fz_check_guards(out, "pcnn_maxpool2d_fwd dst");
            fz_check_guards(idx, "pcnn_maxpool2d_fwd indices");
            fz_pool_same("pcnn_maxpool2d_fwd cap", name, d, out, want, 0);
            if (with_idx) fz_pool_same("pcnn_maxpool2d_fwd cap", name, d, idx, want_idx, 1);
        }
    }
    pcnn_set_max_isa(cap0);

    FZ_CHECK(fz_same_bits(src, src0), "maxpool2d_fwd modified its input");
    fz_check_guards(src, "maxpool2d_fwd src");
    fz_free(src); fz_free(src0); fz_free(want); fz_free(want_idx);
    fz_free(out); fz_free(idx);
    return 0;
}
