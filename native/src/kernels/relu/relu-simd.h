/* ReLU vector kernels: a template included by relu-avx2.c / relu-avx512.c (see relu-scalar.c for
 * the semantics; r_select is the exact vector form of the scalar select). */

static void r_fwd_chunk(void *vctx, int64_t t) {
    const pcnn_relu_ctx *c = vctx;
    const int64_t end = pcnn_relu_chunk_end(c, t);
    int64_t i = t * PCNN_RELU_CHUNK;
    for (; i + 4 * RV <= end; i += 4 * RV) {
        const rvf x0 = r_load(c->a + i), x1 = r_load(c->a + i + RV);
        const rvf x2 = r_load(c->a + i + 2 * RV), x3 = r_load(c->a + i + 3 * RV);
        r_store(c->out + i, r_select(x0, x0));
        r_store(c->out + i + RV, r_select(x1, x1));
        r_store(c->out + i + 2 * RV, r_select(x2, x2));
        r_store(c->out + i + 3 * RV, r_select(x3, x3));
    }
    for (; i + RV <= end; i += RV) {
        const rvf x = r_load(c->a + i);
        r_store(c->out + i, r_select(x, x));
    }
    if (i < end) {
        const rmask m = r_first((int)(end - i));
        const rvf x = r_load_m(c->a + i, m);
        r_store_m(c->out + i, m, r_select(x, x));
    }
}

static void r_bwd_chunk(void *vctx, int64_t t) {
    const pcnn_relu_ctx *c = vctx;
    const int64_t end = pcnn_relu_chunk_end(c, t);
    int64_t i = t * PCNN_RELU_CHUNK;
    for (; i + 2 * RV <= end; i += 2 * RV) {
        r_store(c->out + i, r_select(r_load(c->a + i), r_load(c->b + i)));
        r_store(c->out + i + RV, r_select(r_load(c->a + i + RV), r_load(c->b + i + RV)));
    }
    for (; i + RV <= end; i += RV) {
        r_store(c->out + i, r_select(r_load(c->a + i), r_load(c->b + i)));
    }
    if (i < end) {
        const rmask m = r_first((int)(end - i));
        r_store_m(c->out + i, m, r_select(r_load_m(c->a + i, m), r_load_m(c->b + i, m)));
    }
}

PCNN_INTERNAL int32_t R_NAME(fwd)(int64_t count, const float *src, float *dst) {
    pcnn_relu_ctx ctx = {count, src, NULL, dst};
    pcnn_parallel_for_work(pcnn_relu_chunks(count), count, r_fwd_chunk, &ctx);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t R_NAME(bwd)(int64_t count, const float *dst, const float *diff_dst,
                                  float *diff_src) {
    pcnn_relu_ctx ctx = {count, dst, diff_dst, diff_src};
    pcnn_parallel_for_work(pcnn_relu_chunks(count), count, r_bwd_chunk, &ctx);
    return PCNN_STATUS_OK;
}
