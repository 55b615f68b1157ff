/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the register
 * tile (cw_tile: CW_RO output channels x CW_RT taps of vector partial sums over a run of
 * pixels), which every path except the transposed one runs, and the per-thread scratch.
 */

/* ---- per-thread scratch (core/scratch.h): freed at thread exit, trimmed after each call ---- */

/* A 64-byte aligned buffer of at least `floats` floats for this thread, or NULL. */
static float *cw_scratch_get(size_t floats) {
    if (floats > SIZE_MAX / sizeof(float)) {
        return NULL;
    }
    return pcnn_scratch_get(PCNN_SCRATCH_CONV_BWD_WEIGHTS, floats * sizeof(float));
}

/* ---- the register tile ---- */

/* acc[r][t] (vectors, CW_V floats each, stored row-major) += sum over segments s < nseg
 * and p < len of dy[r][s * dy_step + p] * col[t][s * col_step + p]. Segments let one call
 * cover several small planes with the sums kept in registers. Pointers of a padded
 * (duplicate) row or tap are valid rows; their sums are computed and ignored. */
static inline void cw_tile(float *acc, const float *const *dy, const float *const *col,
                           int64_t len, int64_t nseg, int64_t dy_step, int64_t col_step) {
    cw_vf a[CW_RO][CW_RT];
#pragma GCC unroll 8
    for (int r = 0; r < CW_RO; ++r) {
#pragma GCC unroll 8
        for (int t = 0; t < CW_RT; ++t) {
            a[r][t] = cw_load(acc + (r * CW_RT + t) * CW_V);
        }
    }
    for (int64_t sg = 0; sg < nseg; ++sg) {
        const float *ds[CW_RO];
        const float *cs[CW_RT];
#pragma GCC unroll 8
        for (int r = 0; r < CW_RO; ++r) {
            ds[r] = dy[r] + sg * dy_step;
        }
#pragma GCC unroll 8
        for (int t = 0; t < CW_RT; ++t) {
            cs[t] = col[t] + sg * col_step;
        }
        int64_t p = 0;
        for (; p + CW_V <= len; p += CW_V) {
            cw_vf c[CW_RT];
#pragma GCC unroll 8
            for (int t = 0; t < CW_RT; ++t) {
                c[t] = cw_load(cs[t] + p);
            }
#pragma GCC unroll 8
            for (int r = 0; r < CW_RO; ++r) {
                const cw_vf g = cw_load(ds[r] + p);
#pragma GCC unroll 8
                for (int t = 0; t < CW_RT; ++t) {
                    a[r][t] = cw_fma(g, c[t], a[r][t]);
                }
            }
        }
        if (p < len) {
            /* masked tail: nothing past the row (or the buffer) is read */
            const int rest = (int)(len - p);
            cw_vf c[CW_RT];
#pragma GCC unroll 8
            for (int t = 0; t < CW_RT; ++t) {
                c[t] = cw_load_first(cs[t] + p, rest);
            }
#pragma GCC unroll 8
            for (int r = 0; r < CW_RO; ++r) {
                const cw_vf g = cw_load_first(ds[r] + p, rest);
#pragma GCC unroll 8
                for (int t = 0; t < CW_RT; ++t) {
                    a[r][t] = cw_fma(g, c[t], a[r][t]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < CW_RO; ++r) {
#pragma GCC unroll 8
        for (int t = 0; t < CW_RT; ++t) {
            cw_store(acc + (r * CW_RT + t) * CW_V, a[r][t]);
        }
    }
}
