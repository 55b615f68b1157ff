/*
 * Fuzz harness: max-pool backward. The indices are either the forward pass's (valid) or
 * edited by the input (any int32, so out-of-range ones too). Every ISA variant the machine
 * runs (each table entry, called directly) and the public pcnn_maxpool2d_bwd at every ISA
 * cap must return OK and equal the oracle (fuzz_pool.h) bit for bit, or, when an index is
 * outside [0, ih*iw), return PCNN_STATUS_OUT_OF_RANGE without writing outside diff_src.
 * The same for the backward from the compact mask (maxpool2d_bwd_taps): the forward's
 * winners as taps (ky * kw + kx), optionally edited to any byte (past the window, on the
 * padding, another in-range tap), against a mask oracle (fz_ref_bwd_taps).
 */
#include "fuzz_pool.h"

/* tap of output i whose input position is offset `at` (the forward's winner: one exists) */
static uint8_t fz_tap_of(const pcnn_maxpool2d_desc *d, int64_t i, int32_t at) {
    const int64_t x = i % d->ow, y = (i / d->ow) % d->oh;
    for (int64_t t = 0; t < d->kh * d->kw; ++t) {
        const int64_t iy = y * d->stride_h - d->pad_top + t / d->kw * d->dilation_h;
        const int64_t ix = x * d->stride_w - d->pad_left + t % d->kw * d->dilation_w;
        if (iy >= 0 && iy < d->ih && ix >= 0 && ix < d->iw && iy * d->iw + ix == at) {
            return (uint8_t)t;
        }
    }
    FZ_CHECK(0, "forward winner %d of output %" PRId64 " is no tap of its window", at, i);
    return 0;
}

/* The mask oracle: zero, then per output (row-major) the tap's position += dd; 0 when a tap
 * is >= kh * kw or outside the input. */
static int fz_ref_bwd_taps(const pcnn_maxpool2d_desc *d, const float *dd, const uint8_t *taps,
                           float *ds) {
    const int64_t plane = d->ih * d->iw, out_plane = d->oh * d->ow;
    for (int64_t i = 0; i < d->n * d->c * plane; ++i) ds[i] = 0.0f;
    for (int64_t i = 0; i < d->n * d->c * out_plane; ++i) {
        const int64_t t = taps[i], x = i % d->ow, y = (i / d->ow) % d->oh;
        const int64_t iy = y * d->stride_h - d->pad_top + t / d->kw * d->dilation_h;
        const int64_t ix = x * d->stride_w - d->pad_left + t % d->kw * d->dilation_w;
        if (t >= d->kh * d->kw || iy < 0 || iy >= d->ih || ix < 0 || ix >= d->iw) return 0;
        ds[i / out_plane * plane + iy * d->iw + ix] += dd[i];
    }
    return 1;
}

/* every variant and the public entry at every cap against the oracle (as for the indices) */
static void fz_check_bwd_taps(const pcnn_maxpool2d_desc *d, const fz_buf dd, const uint8_t *taps,
                              unsigned misalign) {
    const int64_t ns = fz_pool_src_n(d);
    fz_buf want = fz_alloc(ns, 0), out = fz_alloc(ns, misalign);
    const int32_t want_st =
        fz_ref_bwd_taps(d, fz_f(dd), taps, fz_f(want)) ? PCNN_STATUS_OK : PCNN_STATUS_OUT_OF_RANGE;
    const int32_t cap0 = pcnn_isa_active();
    for (int level = 0; level < fz_levels(); ++level) {
        const pcnn_kernel_table *t = pcnn_kernel_table_for(level);
        const char *name = pcnn_isa_name(level);
        if (t != NULL && t->maxpool2d_bwd_taps != NULL) {
            fz_prefill(out);
            const int32_t st = t->maxpool2d_bwd_taps(d, fz_f(dd), taps, fz_f(out));
            FZ_CHECK(st == want_st || (st == PCNN_STATUS_UNSUPPORTED && level > 0),
                     "maxpool2d_bwd_taps %s: status %d, expected %d", name, st, want_st);
            fz_check_guards(out, "maxpool2d_bwd_taps diff_src");
            if (st == PCNN_STATUS_OK) fz_pool_same("maxpool2d_bwd_taps", name, d, out, want, 0);
        }
        FZ_CHECK(pcnn_set_max_isa(level) == PCNN_STATUS_OK, "pcnn_set_max_isa(%d)", level);
        fz_prefill(out);
        const int32_t st = pcnn_maxpool2d_bwd_taps(d, fz_f(dd), taps, fz_f(out));
        FZ_CHECK(st == want_st, "pcnn_maxpool2d_bwd_taps at cap %s: status %d, expected %d",
                 name, st, want_st);
        fz_check_guards(out, "pcnn_maxpool2d_bwd_taps diff_src");
        if (st == PCNN_STATUS_OK) fz_pool_same("pcnn_maxpool2d_bwd_taps cap", name, d, out, want, 0);
    }
    pcnn_set_max_isa(cap0);
    fz_free(want);
    fz_free(out);
}

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
    /* the winners as taps (bytes in 4-byte elements: the guards and misalignment of fz_buf) */
    fz_buf tb = fz_alloc((nd + 3) / 4, k.misalign[3]);
    uint8_t *taps = (uint8_t *)fz_i(tb);
    for (int64_t i = 0; i < nd; ++i) taps[i] = fz_tap_of(d, i, fz_i(idx)[i]);
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

    const int tap_edits = fz_u8(&r) % 4; /* read after everything above: old seeds still decode */
    for (int e = 0; e < tap_edits; ++e) {
        const int64_t at = (int64_t)(fz_u16(&r) % (uint64_t)nd);
        taps[at] = fz_u8(&r);
    }
    fz_check_bwd_taps(d, dd, taps, k.misalign[4]);

    FZ_CHECK(fz_same_bits(idx, idx0) && fz_same_bits(dd, dd0), "maxpool2d_bwd modified an input");
    fz_check_guards(idx, "maxpool2d_bwd indices");
    fz_check_guards(dd, "maxpool2d_bwd diff_dst");
    fz_free(src); fz_free(fwd_out); fz_free(idx); fz_free(dd);
    fz_free(idx0); fz_free(dd0); fz_free(want); fz_free(out); fz_free(tb);
    return 0;
}
