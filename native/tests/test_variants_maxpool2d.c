/*
 * Variant cross-check, max-pool: forward (with and without indices) and backward of every
 * variant against the scalar kernels (test_variants.h says how), bit for bit with NaN
 * payloads, infinities and -0 in the input, on a named corpus of awkward shapes, a width x
 * channel tail sweep and seeded random shapes; backward must report an out-of-range index.
 * The compact-mask passes (one tap byte per output) are checked against the int32 ones: the
 * same dst bits, every tap naming the scalar kernel's index, the same diff_src bits from the
 * taps, and an out-of-range tap (past kh * kw, or on the padding) reported.
 */
#include "test_describe_short.h"
#include "test_variants.h"

typedef struct {
    char name[64];
    pcnn_maxpool2d_desc d;
} pool_shape;

static pool_shape pool_shapes[MAX_SHAPES];
static int n_pool_shapes;

static void add_pool(const char *name, pcnn_maxpool2d_desc d, int must_be_valid) {
    const int32_t st = pcnn_maxpool2d_desc_init(&d);
    if (st != PCNN_STATUS_OK) {
        CHECK(!must_be_valid, "corpus shape %s rejected: %s", name, pcnn_status_str(st));
        return;
    }
    if (n_pool_shapes < MAX_SHAPES) {
        snprintf(pool_shapes[n_pool_shapes].name, sizeof pool_shapes[0].name, "%s", name);
        pool_shapes[n_pool_shapes++].d = d;
    }
}

static void build_pool_corpus(void) {
#define P(name, ...) add_pool(name, pool_desc(__VA_ARGS__), 1)
    /*  name                    n  c  ih  iw kh kw sh sw pt pb pl pr dh dw ceil */
    P("2x2 s2",                 2, 3, 8,  8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0);
    P("3x3 s2 p1",              1, 4, 9,  9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0);
    P("3x3 s2 p1 ceil",         1, 4, 10, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    P("1x1 input",              1, 5, 1,  1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    P("1x1 input k3 p1",        1, 5, 1,  1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
    P("kernel == input",        2, 3, 5,  7, 5, 7, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    P("stride > kernel",        1, 2, 11, 13, 2, 2, 3, 4, 0, 0, 0, 0, 1, 1, 0);
    P("stride > kernel ceil",   1, 2, 11, 13, 2, 2, 3, 4, 0, 0, 0, 0, 1, 1, 1);
    P("asymmetric pad",         1, 3, 7,  6, 3, 2, 1, 2, 2, 0, 0, 1, 1, 1, 0);
    P("dilation",               1, 2, 9, 11, 3, 2, 1, 2, 1, 1, 1, 1, 2, 3, 0);
    P("dilation ceil",          1, 2, 9, 11, 3, 2, 2, 2, 1, 1, 1, 1, 2, 3, 1);
    P("odd primes ceil",        3, 7, 13, 11, 5, 3, 2, 3, 2, 2, 1, 1, 1, 1, 1);
    P("overlap 3x3 s1 c17",     1, 17, 6, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
    P("global",                 2, 3, 7,  7, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    P("wide 1xW",               1, 3, 1, 67, 1, 3, 1, 2, 0, 0, 1, 1, 1, 1, 1);
    P("tall Hx1",               1, 3, 37, 1, 3, 1, 2, 1, 1, 1, 0, 0, 1, 1, 0);
    /* ceil mode, PyTorch's output-size rule: windows larger than the (padded) input */
    P("window > input ceil",    1, 3, 3,  3, 4, 4, 3, 3, 0, 0, 0, 0, 1, 1, 1);
    P("dilated window > input", 2, 2, 2,  5, 3, 3, 4, 5, 1, 0, 1, 1, 2, 3, 1);
    P("window > input s2 ceil", 1, 3, 1, 1, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1);
    P("hanging s2 ceil",        1, 4, 6, 10, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1);
    /* planes above 4096 floats: the AVX-512 3x3 stride-2 row backward and its edges */
    P("resnet plane 112",       1, 2, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0);
    P("3x3 s2 p0 ceil 70x67",   1, 2, 70, 67, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1);
    P("3x3 s2 pt1 pl0 65x97",   1, 2, 65, 97, 3, 3, 2, 2, 1, 0, 0, 1, 1, 1, 0);
    P("3x3 s2 pt0 pl1 130x33",  1, 3, 130, 33, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 1);
#undef P
    char name[64];
    for (int wi = 0; wi < N_WIDTHS; ++wi) {
        for (int ch = 1; ch <= 17; ++ch) {
            snprintf(name, sizeof name, "sweep w%d c%d k3 s1 p1", sweep_widths[wi], ch);
            add_pool(name, pool_desc(1, ch, 3, sweep_widths[wi], 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0), 1);
        }
        snprintf(name, sizeof name, "sweep w%d k3 s2 p1 ceil", sweep_widths[wi]);
        add_pool(name, pool_desc(2, 3, 4, sweep_widths[wi], 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), 1);
        snprintf(name, sizeof name, "sweep w%d k2 s2", sweep_widths[wi]);
        add_pool(name, pool_desc(1, 5, 2, sweep_widths[wi], 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0),
                 sweep_widths[wi] >= 2);
    }
    rng_seed(g_seed ^ 0x5555);
    int added = 0;
    for (int tries = 0; added < 200 && tries < 10000; ++tries) {
        const pcnn_maxpool2d_desc d = pool_desc(
            rng_int(1, 3), rng_int(1, 9), rng_int(1, 12), rng_int(1, 12), rng_int(1, 4),
            rng_int(1, 4), rng_int(1, 3), rng_int(1, 3), rng_int(0, 2), rng_int(0, 2),
            rng_int(0, 2), rng_int(0, 2), rng_int(1, 3), rng_int(1, 3), rng_int(0, 1));
        snprintf(name, sizeof name, "random #%d (seed %" PRIu64 ")", tries, g_seed);
        const int before = n_pool_shapes;
        add_pool(name, d, 0);
        added += n_pool_shapes > before;
    }
}

/* ---- helpers ---- */

/* maxpool2d-simd.h pm_shape_ok: column coordinates must stay far inside int32 */
static const char *expected_decline_pool_fwd(const pcnn_maxpool2d_desc *d) {
    const int64_t lim = (int64_t)1 << 29;
    return d->iw > lim || d->ow > lim || d->stride_w > lim || d->dilation_w > lim ||
                   d->kw > lim || d->pad_left > lim || (d->ow + 16) * d->stride_w + d->kw * d->dilation_w + 32 > lim
               ? "column coordinates beyond the int32 lane range" : NULL;
}

/* ---- maxpool2d ---- */

static void fill_pool_input(float *p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const int64_t r = rng_int(0, 99);
        if (r < 3) {
            p[i] = f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff)); /* NaN payload */
        } else if (r < 4) {
            p[i] = f_from_bits(0xffc00000u | (uint32_t)rng_int(1, 0x3fffff)); /* negative NaN */
        } else if (r < 6) {
            p[i] = r == 4 ? -INFINITY : INFINITY;
        } else if (r < 8) {
            p[i] = -0.0f;
        } else {
            p[i] = (float)rng_int(-4, 4);
        }
    }
}

static void run_pool(void) {
    op_stats *const fwd_p = &g_stats[3], *const bwd_p = &g_stats[4];
#define fwd (*fwd_p)
#define bwd (*bwd_p)
    const pcnn_kernel_table *ref = &pcnn_kernels_scalar;
    char desc_txt[256];
    for (int s = 0; s < n_pool_shapes; ++s) {
        const pcnn_maxpool2d_desc *d = &pool_shapes[s].d;
        pool_describe_short(d, desc_txt, sizeof desc_txt);
        const int64_t ns = pool_src_count(d), nd = pool_dst_count(d);
        rng_seed(g_seed + (uint64_t)s * 104729u);
        float *src = gbuf_f(ns), *dd = gbuf_f(nd);
        fill_pool_input(src, ns);
        fill_ints(dd, nd, -3, 3);
        float *src0 = copy_guarded(src, ns), *dd0 = copy_guarded(dd, nd);
        float *ref_dst = gbuf_f(nd), *ref_ds = gbuf_f(ns);
        int32_t *ref_idx = gbuf_i(nd);
        CHECK_STATUS(ref->maxpool2d_fwd(d, src, ref_dst, ref_idx), PCNN_STATUS_OK);
        CHECK_STATUS(ref->maxpool2d_bwd(d, dd, ref_idx, ref_ds), PCNN_STATUS_OK);
        const char *why_fwd = expected_decline_pool_fwd(d);
        fwd.expected_declines += why_fwd != NULL;
        int32_t *ref_idx0 = gbuf_i(nd);
        memcpy(ref_idx0, ref_idx, (size_t)nd * sizeof(int32_t));

        FOR_EACH_VARIANT(maxpool2d_fwd) {
            fwd.has[level] = 1;
            for (int pass = 0; pass < 2; ++pass) { /* with and without indices */
                float *out = gbuf_f(nd);
                int32_t *idx = gbuf_i(nd);
                const int32_t st = tab_->maxpool2d_fwd(d, src, out, pass == 0 ? idx : NULL);
                if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                    if (pass == 0) note_decline(&fwd, level, pool_shapes[s].name, why_fwd);
                } else {
                    if (pass == 0) fwd.ran[level]++;
                    CHECK(st == PCNN_STATUS_OK, "maxpool2d_fwd %s: status %d",
                          pcnn_isa_name(level), st);
                    CHECK(same_bits(out, ref_dst, nd), "maxpool2d_fwd %s on '%s' [%s] seed %"
                          PRIu64 " (indices %s): dst differs", pcnn_isa_name(level),
                          pool_shapes[s].name, desc_txt, g_seed, pass == 0 ? "on" : "NULL");
                    if (pass == 0) {
                        CHECK(same_bits(idx, ref_idx, nd), "maxpool2d_fwd %s on '%s' [%s] seed %"
                              PRIu64 ": indices differ", pcnn_isa_name(level),
                              pool_shapes[s].name, desc_txt, g_seed);
                    } else {
                        CHECK(idx[0] == -7, "indices written although NULL was passed?");
                    }
                }
                CHECK(guard_ok(out, nd) && guard_ok(idx, nd), "maxpool2d_fwd %s '%s': guard",
                      pcnn_isa_name(level), pool_shapes[s].name);
                free(out);
                free(idx);
            }
        }
        FOR_EACH_VARIANT(maxpool2d_bwd) {
            bwd.has[level] = 1;
            float *out = gbuf_f(ns);
            const int32_t st = tab_->maxpool2d_bwd(d, dd, ref_idx, out);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(&bwd, level, pool_shapes[s].name, NULL);
            } else {
                bwd.ran[level]++;
                CHECK(st == PCNN_STATUS_OK, "maxpool2d_bwd %s: status %d", pcnn_isa_name(level),
                      st);
                CHECK(same_bits(out, ref_ds, ns), "maxpool2d_bwd %s on '%s' [%s] seed %" PRIu64
                      ": diff_src differs", pcnn_isa_name(level), pool_shapes[s].name, desc_txt,
                      g_seed);
            }
            CHECK(guard_ok(out, ns), "maxpool2d_bwd %s '%s': guard", pcnn_isa_name(level),
                  pool_shapes[s].name);
            /* an out-of-range index must be reported by every variant */
            if (nd > 0) {
                int32_t *bad = gbuf_i(nd);
                memcpy(bad, ref_idx, (size_t)nd * sizeof(int32_t));
                bad[(nd - 1) / 2] = (int32_t)(d->ih * d->iw);
                const int32_t st2 = tab_->maxpool2d_bwd(d, dd, bad, out);
                CHECK(st2 == PCNN_STATUS_OUT_OF_RANGE ||
                          (st2 == PCNN_STATUS_UNSUPPORTED && level > 0),
                      "maxpool2d_bwd %s '%s': bad index gave %d", pcnn_isa_name(level),
                      pool_shapes[s].name, st2);
                CHECK(guard_ok(out, ns), "maxpool2d_bwd %s '%s': guard after bad index",
                      pcnn_isa_name(level), pool_shapes[s].name);
                free(bad);
            }
            free(out);
        }
        CHECK(same_bits(src, src0, ns + GUARD) && same_bits(dd, dd0, nd + GUARD) &&
                  same_bits(ref_idx, ref_idx0, nd),
              "pool '%s': an input was modified", pool_shapes[s].name);
        CHECK(guard_ok(ref_dst, nd) && guard_ok(ref_ds, ns) && guard_ok(ref_idx, nd),
              "pool '%s': scalar guard", pool_shapes[s].name);
        free(src); free(dd); free(src0); free(dd0);
        free(ref_dst); free(ref_ds); free(ref_idx); free(ref_idx0);
    }
    report("maxpool2d_fwd", &fwd, n_pool_shapes, COUNT_VARIANTS(maxpool2d_fwd));
    report("maxpool2d_bwd", &bwd, n_pool_shapes, COUNT_VARIANTS(maxpool2d_bwd));
#undef fwd
#undef bwd
}

/* ---- the compact mask ---- */

#define TAP_GUARD 64
static uint8_t *tap_buf(int64_t n) { /* n bytes + TAP_GUARD guard bytes, all 0xA5 */
    uint8_t *p = malloc((size_t)n + TAP_GUARD);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 0xA5, (size_t)n + TAP_GUARD);
    return p;
}
static int tap_guard_ok(const uint8_t *p, int64_t n) {
    for (int64_t i = n; i < n + TAP_GUARD; ++i) {
        if (p[i] != 0xA5) return 0;
    }
    return 1;
}

/* Plane offset named by tap t of output i (NCHW order), or -1 when t is not a tap of its
 * window that lies inside the input. Written from the header's definition, not the kernel. */
static int64_t tap_offset(const pcnn_maxpool2d_desc *d, int64_t i, int t) {
    if (t >= d->kh * d->kw) return -1;
    const int64_t x = i % d->ow, y = (i / d->ow) % d->oh;
    const int64_t iy = y * d->stride_h - d->pad_top + (t / d->kw) * d->dilation_h;
    const int64_t ix = x * d->stride_w - d->pad_left + (t % d->kw) * d->dilation_w;
    if (iy < 0 || iy >= d->ih || ix < 0 || ix >= d->iw) return -1;
    return iy * d->iw + ix;
}

/* First (output, tap) whose tap lies on the padding, or 0 when no window touches it. */
static int find_padded_tap(const pcnn_maxpool2d_desc *d, int64_t *out_i, int *out_t) {
    const int64_t nd = pool_dst_count(d), ntaps = d->kh * d->kw;
    for (int64_t i = 0; i < nd && i < d->oh * d->ow; ++i) {
        for (int t = 0; t < ntaps; ++t) {
            if (tap_offset(d, i, t) < 0) {
                *out_i = i;
                *out_t = t;
                return 1;
            }
        }
    }
    return 0;
}

static void run_pool_taps(void) {
    op_stats *const fwd = &g_stats[6], *const bwd = &g_stats[7];
    char desc_txt[256];
    int ran_shapes = 0;
    for (int s = 0; s < n_pool_shapes; ++s) {
        const pcnn_maxpool2d_desc *d = &pool_shapes[s].d;
        if (d->kh * d->kw > PCNN_MAXPOOL2D_TAPS_MAX) {
            continue; /* the API refuses these (test_desc_errors) */
        }
        ran_shapes++;
        fwd->expected_declines += expected_decline_pool_fwd(d) != NULL;
        bwd->expected_declines += expected_decline_pool_fwd(d) != NULL;
        pool_describe_short(d, desc_txt, sizeof desc_txt);
        const int64_t ns = pool_src_count(d), nd = pool_dst_count(d);
        rng_seed(g_seed + (uint64_t)s * 7919u);
        float *src = gbuf_f(ns), *dd = gbuf_f(nd);
        fill_pool_input(src, ns);
        fill_ints(dd, nd, -3, 3);
        float *ref_dst = gbuf_f(nd), *ref_ds = gbuf_f(ns);
        int32_t *ref_idx = gbuf_i(nd);
        CHECK_STATUS(pcnn_kernels_scalar.maxpool2d_fwd(d, src, ref_dst, ref_idx), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_kernels_scalar.maxpool2d_bwd(d, dd, ref_idx, ref_ds), PCNN_STATUS_OK);
        uint8_t *ref_taps = NULL;
        FOR_EACH_VARIANT(maxpool2d_fwd_taps) {
            fwd->has[level] = 1;
            float *out = gbuf_f(nd);
            uint8_t *taps = tap_buf(nd);
            const int32_t st = tab_->maxpool2d_fwd_taps(d, src, out, taps);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(fwd, level, pool_shapes[s].name, expected_decline_pool_fwd(d));
            } else {
                fwd->ran[level]++;
                CHECK(st == PCNN_STATUS_OK, "maxpool2d_fwd_taps %s: status %d",
                      pcnn_isa_name(level), st);
                CHECK(same_bits(out, ref_dst, nd), "maxpool2d_fwd_taps %s on '%s' [%s] seed %"
                      PRIu64 ": dst differs", pcnn_isa_name(level), pool_shapes[s].name,
                      desc_txt, g_seed);
                int64_t bad = -1;
                for (int64_t i = 0; i < nd && bad < 0; ++i) {
                    if (tap_offset(d, i, taps[i]) != ref_idx[i]) bad = i;
                }
                CHECK(bad < 0, "maxpool2d_fwd_taps %s on '%s' [%s] seed %" PRIu64
                      ": output %" PRId64 " tap %d names %" PRId64 ", the index is %d",
                      pcnn_isa_name(level), pool_shapes[s].name, desc_txt, g_seed, bad,
                      bad < 0 ? 0 : taps[bad], bad < 0 ? 0 : tap_offset(d, bad, taps[bad]),
                      bad < 0 ? 0 : ref_idx[bad]);
            }
            CHECK(guard_ok(out, nd) && tap_guard_ok(taps, nd), "maxpool2d_fwd_taps %s '%s': guard",
                  pcnn_isa_name(level), pool_shapes[s].name);
            free(out);
            if (level == 0) {
                ref_taps = taps;
            } else {
                free(taps);
            }
        }
        FOR_EACH_VARIANT(maxpool2d_bwd_taps) {
            bwd->has[level] = 1;
            float *out = gbuf_f(ns);
            const int32_t st = tab_->maxpool2d_bwd_taps(d, dd, ref_taps, out);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(bwd, level, pool_shapes[s].name, expected_decline_pool_fwd(d));
            } else {
                bwd->ran[level]++;
                CHECK(st == PCNN_STATUS_OK, "maxpool2d_bwd_taps %s: status %d",
                      pcnn_isa_name(level), st);
                CHECK(same_bits(out, ref_ds, ns), "maxpool2d_bwd_taps %s on '%s' [%s] seed %"
                      PRIu64 ": diff_src differs", pcnn_isa_name(level), pool_shapes[s].name,
                      desc_txt, g_seed);
            }
            CHECK(guard_ok(out, ns), "maxpool2d_bwd_taps %s '%s': guard", pcnn_isa_name(level),
                  pool_shapes[s].name);
            /* bad taps: past the window, and (where a window touches it) on the padding */
            uint8_t *bad = tap_buf(nd);
            memcpy(bad, ref_taps, (size_t)nd);
            const int64_t ntaps = d->kh * d->kw;
            if (ntaps < 256) {
                bad[(nd - 1) / 2] = (uint8_t)ntaps;
                const int32_t st2 = tab_->maxpool2d_bwd_taps(d, dd, bad, out);
                CHECK(st2 == PCNN_STATUS_OUT_OF_RANGE || (st2 == PCNN_STATUS_UNSUPPORTED && level > 0),
                      "maxpool2d_bwd_taps %s '%s': tap %d (past the window) gave %d",
                      pcnn_isa_name(level), pool_shapes[s].name, (int)ntaps, st2);
                memcpy(bad, ref_taps, (size_t)nd);
            }
            int64_t pi;
            int pt;
            if (find_padded_tap(d, &pi, &pt)) {
                bad[pi] = (uint8_t)pt;
                const int32_t st3 = tab_->maxpool2d_bwd_taps(d, dd, bad, out);
                CHECK(st3 == PCNN_STATUS_OUT_OF_RANGE || (st3 == PCNN_STATUS_UNSUPPORTED && level > 0),
                      "maxpool2d_bwd_taps %s '%s': padded tap %d at output %" PRId64 " gave %d",
                      pcnn_isa_name(level), pool_shapes[s].name, pt, pi, st3);
            }
            CHECK(guard_ok(out, ns), "maxpool2d_bwd_taps %s '%s': guard after bad taps",
                  pcnn_isa_name(level), pool_shapes[s].name);
            free(bad);
            free(out);
        }
        free(ref_taps);
        free(src); free(dd); free(ref_dst); free(ref_ds); free(ref_idx);
    }
    report("maxpool2d_fwd_taps", fwd, ran_shapes, COUNT_VARIANTS(maxpool2d_fwd_taps));
    report("maxpool2d_bwd_taps", bwd, ran_shapes, COUNT_VARIANTS(maxpool2d_bwd_taps));
}

int main(void) {
    variants_start("variants_maxpool2d", 0);
    build_pool_corpus();
    run_pool();
    run_pool_taps();
    return test_finish("variants_maxpool2d");
}
