/*
 * conv2d direct, part of the conv2d-direct.h template: the row tiles' padded copy as
 * whole-vector stores, shared by forward (fwd_task, stride 1: input rows) and backward-data
 * (bwd_copy_rows_spill: diff_dst rows).
 */

/* b[r*rs + m] = plane[(y_lo + r)*w + m - padl] for r < nrows and m < nvec*VL, 0 outside the
 * plane (the vertical padding rows above and below it, the padl left columns and those past
 * the row). Per row nvec masked loads of the source (mk[k]: the lanes of vector k inside
 * [0, w), the same for every row, computed once per task by the caller; lanes outside load
 * as 0) and nvec plain unaligned stores, the last of which runs up to VL - 1 floats past the
 * row's padded width: the caller puts that on memory written after it (the next row, the
 * next channel's row) or on slack it zeroes afterwards. No libc calls: this replaced
 * memset + memcpy, two libc calls per 33-float row on mid. Vertical padding rows are zero
 * vectors. Pure copies: the values are bit-exact.
 * The source is asked for ~8 KB ahead, as the memcpy copies do (it comes from L3 or memory,
 * once per call; mid backward-data: 0.97-0.98x the time of the pass). That line, and the
 * first masked load's lane 0 (padl floats before the row), may be outside the source: their
 * addresses are formed as integers (PCNN_PREFETCH_AT, VLOADM_AT). */
static inline void copy_rows_spill(float *b, int64_t rs, const float *plane, int64_t y_lo,
                                   int64_t nrows, int64_t h, int64_t w, int64_t padl,
                                   const vmask_t *mk, int64_t nvec) {
    for (int64_t r = 0; r < nrows; ++r) {
        float *brow = b + r * rs;
        const int64_t y = y_lo + r;
        if (y < 0 || y >= h) { /* vertical padding */
            for (int64_t k = 0; k < nvec; ++k) {
                VSTOREU(brow + k * VL, VZERO());
            }
            continue;
        }
        const float *srow = plane + y * w;
        for (int64_t k = 0; k < w; k += 16) {
            PCNN_PREFETCH_AT(srow, 2048 + k);
        }
        for (int64_t k = 0; k < nvec; ++k) {
            VSTOREU(brow + k * VL, VLOADM_AT(srow, k * VL - padl, mk[k]));
        }
    }
}
