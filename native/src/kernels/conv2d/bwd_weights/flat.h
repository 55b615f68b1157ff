/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the in-place
 * small-plane path (cw_run_flat, e.g. LeNet's 6 -> 16 layer): the src planes read at tap
 * offsets, nothing packed.
 */

/*
 * In-place small-plane path: stride 1, no padding, not 1x1, planes of at most one chunk
 * (lenet2: 64 x 6 x 14 x 14 -> 16 x 10 x 10). There the packing path copies kh * kw shifted
 * rows of ow (< CW_V) pixels per tap, about as many instructions as the tile's FMAs. Here
 * output pixel (y, ox) is indexed y * iw + ox, so the col row of tap (ci, ky, kx) is the src
 * plane itself at offset ky * dh * iw + kx * dw: nothing is packed. The kw - 1 junk columns
 * per row (ox >= ow) hold real input values; dY is repacked with that row width and zeros
 * there, so they add 0 * x, which is exact when src is finite (checked up front, like
 * cw_run_wide). The loop ends at the last valid pixel, so reads stay inside the plane. One
 * cw_tile call covers a block of flat_nb images as segments (sums kept in registers).
 */
__attribute__((noinline)) static void cw_run_flat(const cw_ctx *x, float *acc, float *dyk,
                                                  int64_t g, int64_t t0, int64_t nt,
                                                  int64_t nt_pad, int64_t o0, int64_t no,
                                                  int64_t no_pad) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t iw = d->iw, ow = d->ow, oh = d->oh, khw = x->khw, kw = d->kw;
    const int64_t len = (oh - 1) * iw + ow, dp = x->flat_dp;
    const int64_t col_step = d->c * x->ihw, dy_step = no * dp;
    const float *colp[CW_TB_WIDE + CW_TB + CW_RT];
    for (int64_t j = 0; j < nt; ++j) {
        const int64_t t = t0 + j;
        const int64_t ci = t / khw;
        const int64_t ky = (t - ci * khw) / kw;
        const int64_t kx = t - ci * khw - ky * kw;
        colp[j] = x->src + (g * x->cg + ci) * x->ihw + ky * d->dilation_h * iw +
                  kx * d->dilation_w;
    }
    for (int64_t j = nt; j < nt_pad; ++j) colp[j] = colp[nt - 1];
    for (int64_t n0 = 0; n0 < d->n; n0 += x->flat_nb) {
        const int64_t nb = (d->n - n0 < x->flat_nb) ? d->n - n0 : x->flat_nb;
        /* dY rows of the block: image b, channel r at dyk + (b * no + r) * dp */
        for (int64_t b = 0; b < nb; ++b) {
            for (int64_t r = 0; r < no; ++r) {
                const float *in = x->diff_dst + ((n0 + b) * d->oc + o0 + r) * x->ohw;
                float *o = dyk + (b * no + r) * dp;
                for (int64_t y = 0; y < oh; ++y) {
                    const float *iy = in + y * ow;
                    float *oy = o + y * iw;
                    /* whole vectors: may run into the junk columns (rewritten below), the
                     * next row / image (written afterwards) or the slack after the buffer */
                    int64_t k = 0;
                    for (; k + CW_V <= ow; k += CW_V) cw_store(oy + k, cw_load(iy + k));
                    if (k < ow) cw_store(oy + k, cw_load_first(iy + k, (int)(ow - k)));
                    if (y + 1 < oh) {
                        for (int64_t j = ow; j < iw; ++j) oy[j] = 0.0f;
                    }
                }
            }
        }
        const float *cp[CW_TB_WIDE + CW_TB + CW_RT];
        for (int64_t j = 0; j < nt_pad; ++j) cp[j] = colp[j] + n0 * col_step;
        for (int64_t tt = 0; tt < nt_pad; tt += CW_RT) {
            for (int64_t r0 = 0; r0 < no_pad; r0 += CW_RO) {
                const float *dyp[CW_RO];
                for (int r = 0; r < CW_RO; ++r) {
                    const int64_t rr = (r0 + r < no) ? r0 + r : no - 1;
                    dyp[r] = dyk + rr * dp;
                }
                float *a = acc + (r0 * nt_pad + tt * CW_RO) * CW_V;
                cw_tile(a, dyp, cp + tt, len, nb, dy_step, col_step);
            }
        }
    }
}
