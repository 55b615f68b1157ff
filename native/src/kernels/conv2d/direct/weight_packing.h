/*
 * conv2d direct (forward / backward-data), part of the conv2d-direct.h template: packing
 * the OIHW weights of one output-channel block into the [ci][tap][ocb] order the
 * micro-kernels broadcast from, either once per call (pack_task) or lazily per thread
 * (task_block_weights: why is measured there).
 */

/* ---- weight packing of block b of group g into wpk (the whole packed array) ---- */
static void pack_block(const job_t *j, int64_t g, int64_t b, float *wpk) {
    const pcnn_conv2d_desc *d = j->d;
    int64_t o0, ocb;
    block_range(j, b, &o0, &ocb);
    const int64_t kt = j->kt;
    float *dst = wpk + (g * j->co_g + o0) * j->ci_g * kt;
    const int64_t cg = d->c / d->groups;
    /* Backward: loops ordered so that the OIHW weights are read sequentially (the packed
     * block is written with stride ocb, within a few cache lines per step). */
    if (!j->bwd) { /* weights[g*ocg + eo][ci][k]: one contiguous ci_g*kt run per eo */
        /* Packed order outer, so the stores are sequential (measured 1.6x faster than
         * one strided pass per channel: the ocb source rows stream in parallel). */
        const int64_t len = j->ci_g * kt; /* == cg * kt: rows are len apart */
        const float *restrict w0 = j->weights + (g * j->co_g + o0) * cg * kt;
        int64_t i0 = 0;
#ifdef HAVE_TILE_TRANSPOSE16
        /* 16 x 16 register transposes (the vector layer's tile_transpose16): the scalar
         * loop below took ~2-4 % of the 3x3 stride-2 forward (resnet_s2) in a profile.
         * Only whole 16-float runs of each row are read. */
        for (; i0 + 16 <= len; i0 += 16) {
            for (int64_t jj = 0; jj < ocb; jj += 16) {
                tile_transpose16(dst + i0 * ocb + jj, ocb, w0 + jj * len + i0, len,
                                 imin(16, ocb - jj), 16);
            }
        }
#endif
        float *restrict dp = dst + i0 * ocb;
        for (int64_t i = i0; i < len; ++i, dp += ocb) {
            for (int64_t jj = 0; jj < ocb; ++jj) {
                dp[jj] = w0[jj * len + i];
            }
        }
    } else { /* engine in = o (ci here), engine out = c: weights[g*ocg + ci][eo][k] */
        for (int64_t ci = 0; ci < j->ci_g; ++ci) {
            const float *w = j->weights + ((g * j->ci_g + ci) * cg + o0) * kt;
            float *dc = dst + ci * kt * ocb;
            if (kt == 1) { /* 1x1: the block's row is already in packed order */
                memcpy(dc, w, (size_t)ocb * sizeof(float));
                continue;
            }
            int64_t jj0 = 0;
#ifdef HAVE_TILE_TRANSPOSE16
            /* 16 channels x kt taps per register transpose (rows kt apart, 16 floats read
             * from each): only while those reads stay inside the weights (the last block
             * of the last channel takes the scalar loop) */
            const int64_t wtotal = d->oc * cg * kt;
            const float *const wend = j->weights + wtotal;
            for (; kt <= 16 && jj0 + 16 <= ocb && w + (jj0 + 15) * kt + 16 <= wend; jj0 += 16) {
                tile_transpose16(dc + jj0, ocb, w + jj0 * kt, kt, 16, kt);
            }
#endif
            for (int64_t jj = jj0; jj < ocb; ++jj) {
                for (int64_t k = 0; k < kt; ++k) {
                    dc[k * ocb + jj] = w[jj * kt + k];
                }
            }
        }
    }
}

static void pack_task(void *p, int64_t t) {
    job_t *j = p;
    pack_block(j, t / j->nblocks, t % j->nblocks, j->wpk);
}

/* Packed weights of block b of group g for a forward / backward-data task, in the running
 * thread's own buffer, packed by this thread on first use in this job. Packing once on the
 * calling thread (or split across the pool) before the tasks was the part of the 3x3
 * stride-2 layer that did not scale: every call's packing stores hit lines that the other
 * core's tasks had read, and the tasks then pulled all weights across cores again
 * (measured: packing 0.19 ms alone, 0.32-0.43 ms with two threads, ~10% of a 2-thread
 * call). Each thread packs only the blocks its tasks use; packing is a pure copy, so the
 * results are the same bits whoever packs. Used when the weights are small next to the
 * job's work (run_job): a thread may pack all of them, duplicating the other threads'
 * packing. NULL when out of memory. */
static const float *task_block_weights(const job_t *j, int64_t g, int64_t b) {
    if (j->wpk != NULL) { /* packed before the tasks (run_job) */
        int64_t o0, ocb;
        block_range(j, b, &o0, &ocb);
        return j->wpk + (g * j->co_g + o0) * j->ci_g * j->kt;
    }
    const int64_t nb = j->groups * j->nblocks;
    const int64_t wcount = j->groups * j->co_g * j->ci_g * j->kt;
    float *wpk = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK, (size_t)wcount * sizeof(float));
    unsigned char *done = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK_FLAGS, (size_t)nb);
    if (wpk == NULL || done == NULL) {
        tls_pack_job = 0;
        return NULL;
    }
    if (tls_pack_job != j->id) {
        memset(done, 0, (size_t)nb);
        tls_pack_job = j->id;
    }
    if (!done[g * j->nblocks + b]) {
        pack_block(j, g, b, wpk);
        done[g * j->nblocks + b] = 1;
    }
    int64_t o0, ocb;
    block_range(j, b, &o0, &ocb);
    return wpk + (g * j->co_g + o0) * j->ci_g * j->kt;
}
