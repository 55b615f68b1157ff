/*
 * The shipped shared library itself (libpanamacnn.so / panamacnn.dll), linked like an
 * application links it: only the public header, only exported pcnn_* symbols. The other C
 * tests link the static library, so this is the one that proves the DLL/.so loads, exports
 * what the header declares, starts its pool threads (2 threads, a job large enough to use
 * them) and computes right: a convolution and a max-pool on small-integer data (exact in
 * float whatever the summation order) against direct loops written here, at every ISA level
 * the CPU has.
 */
#include "test_util.h"

static void conv_expected(const pcnn_conv2d_desc *d, const float *x, const float *w, const float *b,
                          float *y) {
    for (int64_t n = 0; n < d->n; ++n)
        for (int64_t o = 0; o < d->oc; ++o)
            for (int64_t i = 0; i < d->oh; ++i)
                for (int64_t j = 0; j < d->ow; ++j) {
                    double s = b[o];
                    for (int64_t c = 0; c < d->c; ++c)
                        for (int64_t u = 0; u < d->kh; ++u)
                            for (int64_t v = 0; v < d->kw; ++v) {
                                const int64_t yi = i * d->stride_h - d->pad_top + u;
                                const int64_t xj = j * d->stride_w - d->pad_left + v;
                                if (yi < 0 || yi >= d->ih || xj < 0 || xj >= d->iw) continue;
                                s += (double)x[((n * d->c + c) * d->ih + yi) * d->iw + xj] *
                                     w[((o * d->c + c) * d->kh + u) * d->kw + v];
                            }
                    y[((n * d->oc + o) * d->oh + i) * d->ow + j] = (float)s;
                }
}

int main(void) {
    CHECK(pcnn_abi_version() == PCNN_ABI_VERSION, "ABI %d, header %d", pcnn_abi_version(),
          PCNN_ABI_VERSION);
    CHECK_STATUS(pcnn_set_num_threads(2), PCNN_STATUS_OK);
    CHECK(pcnn_get_num_threads() == 2, "threads %d", pcnn_get_num_threads());
    printf("shared library: detected ISA %s\n", pcnn_isa_name(pcnn_isa_detected()));

    /* 3x3, pad 1, 16 -> 32 channels on 32x32: ~4.7M multiply-adds, enough for two threads */
    pcnn_conv2d_desc d = conv_desc(1, 16, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    const int64_t nx = conv_src_count(&d), nw = conv_w_count(&d), ny = conv_dst_count(&d);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(d.oc * sizeof *b);
    float *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
    CHECK(x && w && b && y && want, "malloc");
    rng_seed(12345);
    fill_ints(x, nx, -3, 3);
    fill_ints(w, nw, -2, 2);
    fill_ints(b, d.oc, -5, 5);
    conv_expected(&d, x, w, b, want);

    pcnn_maxpool2d_desc p = pool_desc(2, 3, 9, 8, 3, 2, 2, 2, 1, 1, 0, 1, 1, 1, 0);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&p), PCNN_STATUS_OK);
    float px[2 * 3 * 9 * 8], py[64 * 3], want_py[64 * 3];
    int32_t idx[64 * 3];
    for (int i = 0; i < 2 * 3 * 9 * 8; ++i) px[i] = (float)((i * 37) % 23) - 11.0f;
    for (int64_t nc = 0; nc < p.n * p.c; ++nc)
        for (int64_t i = 0; i < p.oh; ++i)
            for (int64_t j = 0; j < p.ow; ++j) {
                float m = -INFINITY;
                for (int64_t u = 0; u < p.kh; ++u)
                    for (int64_t v = 0; v < p.kw; ++v) {
                        const int64_t yi = i * p.stride_h - p.pad_top + u;
                        const int64_t xj = j * p.stride_w - p.pad_left + v;
                        if (yi >= 0 && yi < p.ih && xj >= 0 && xj < p.iw && px[(nc * p.ih + yi) * p.iw + xj] > m)
                            m = px[(nc * p.ih + yi) * p.iw + xj];
                    }
                want_py[(nc * p.oh + i) * p.ow + j] = m;
            }

    /* Exact integer results are a property of the direct algorithm (AUTO may pick Winograd for
     * this shape, whose transforms round; test_conv2d_winograd checks it against its bound). */
    CHECK_STATUS(pcnn_set_conv2d_algorithm(PCNN_ALGO_DIRECT), PCNN_STATUS_OK);
    for (int32_t level = PCNN_ISA_SCALAR; level <= pcnn_isa_detected(); ++level) {
        CHECK_STATUS(pcnn_set_max_isa(level), PCNN_STATUS_OK);
        for (int64_t i = 0; i < ny; ++i) y[i] = NAN;
        CHECK_STATUS(pcnn_conv2d_fwd(&d, x, w, b, y), PCNN_STATUS_OK);
        int64_t bad = 0;
        for (int64_t i = 0; i < ny; ++i) bad += y[i] != want[i];
        CHECK(bad == 0, "%s: conv forward differs at %" PRId64 " of %" PRId64 " outputs",
              pcnn_isa_name(level), bad, ny);
        CHECK_STATUS(pcnn_maxpool2d_fwd(&p, px, py, idx), PCNN_STATUS_OK);
        int pbad = 0;
        for (int64_t i = 0; i < pool_dst_count(&p); ++i) pbad += py[i] != want_py[i];
        CHECK(pbad == 0, "%s: max-pool differs at %d outputs", pcnn_isa_name(level), pbad);
    }
    /* bad input through the exported entry point: a status, not a crash */
    CHECK_STATUS(pcnn_conv2d_fwd(&d, NULL, w, b, y), PCNN_STATUS_INVALID_ARGUMENT);
    free(x), free(w), free(b), free(y), free(want);
    return test_finish("shared_library");
}
