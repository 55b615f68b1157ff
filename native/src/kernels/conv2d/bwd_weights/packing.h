/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the shape
 * facts shared by the tasks (cw_ctx) and the packing path's col packer (cw_pack: the input
 * under each tap for a chunk of output pixels, zero in the padding).
 */

/* ---- shape facts shared by the tasks ---- */

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src;
    const float *diff_dst;
    float *diff_weights;
    float *bias_sums; /* [oc] */
    int64_t cg, ocg, khw, taps; /* taps = cg * kh * kw per group */
    int64_t ohw, ihw;
    int64_t ob; /* output channels per task (the last block may be smaller) */
    int64_t ob_blocks, tb_blocks;
    int64_t tb; /* taps per task: <= CW_TB, a multiple of CW_RT, blocks of even size */
    int direct; /* col rows are the src planes: 1x1, stride 1, no padding */
    int wide;   /* phase-plane path (cw_run_wide) */
    int64_t wp; /* wide: phase row width ow + (kw - 1) * dilation_w / stride_w */
    int64_t eh; /* wide: extra phase rows (kh - 1) * dilation_h / stride_h */
    int64_t ny; /* wide: output rows per chunk (nb == 1) */
    int64_t nb; /* wide: images per chunk (then ny = oh) */
    int64_t wide_pitch; /* wide: floats per packed phase plane */
    int64_t wide_nci;   /* wide: most channels a task touches */
    int64_t wide_dyp;   /* wide: floats per repacked dY row (longest chunk + CW_V slack) */
    float *wide_dy;     /* wide: all of dY repacked once per call, rows (chunk, o), or NULL */
    float *wide_dy_sums; /* wide: with wide_dy, the bias partials [chunk][oc] it sums, or NULL */
    int wide_junk;      /* wide: the layout has junk pixels (src must then be finite) */
    int trans;  /* lanes-along-taps path (cw_run_trans) */
    int tphase; /* trans: col from phase planes (else cw_pack or in place) */
    int tbias;  /* trans, not tphase: bias_sums computed by the tap-block-0 tasks */
    int64_t tp_pitch; /* tphase: floats per phase plane */
    int64_t tp_nci;   /* tphase: most channels a task touches */
    int64_t tp_line;  /* tphase: floats of the zero-padded input row copy */
    int oom;    /* set by a task that could not get scratch */
    int nonfinite; /* set by cw_finite_task, and by cw_run_wide tasks (wide_junk) */
    int flat;        /* in-place small-plane path (cw_run_flat) */
    int64_t flat_dp; /* flat: floats per repacked dY row (a multiple of CW_V) */
    int64_t flat_nb; /* flat: images per block */
} cw_ctx;

/* calls that took cw_run_flat (the tests check that their shapes reach it) */
PCNN_INTERNAL int64_t CW_FLAT_RUNS;
/* calls that ran as two batch halves (entry.h; the tests check their shapes reach it) */
PCNN_INTERNAL int64_t CW_HALVES_RUNS;
/* most floats of dY repacked once per call for cw_run_wide (the scratch budget; above it
 * every task repacks its own rows): the tests set it to 0 to run that fallback */
PCNN_INTERNAL int64_t CW_WIDE_DY_MAX = PCNN_SCRATCH_BUDGET_BYTES / (int64_t)sizeof(float);

/* col[t][0, len) for taps t0 .. t0+nt of group g, image n, output pixels p0 .. p0+len */
static void cw_pack(const cw_ctx *x, float *col, int64_t n, int64_t g, int64_t t0, int64_t nt,
                    int64_t p0, int64_t len) {
    const pcnn_conv2d_desc *d = x->d;
    /* locals: the stores below may alias *d as far as the compiler knows */
    const int64_t ow = d->ow, iw = d->iw, ih = d->ih, kw = d->kw, khw = x->khw;
    const int64_t sh = d->stride_h, sw = d->stride_w, pt = d->pad_top, pl = d->pad_left;
    const int64_t dh = d->dilation_h, dwl = d->dilation_w;
    const int64_t y_start = p0 / ow;
    const int64_t ox_start = p0 - y_start * ow;
    const float *planes = x->src + (n * d->c + g * x->cg) * x->ihw;
    for (int64_t j = 0; j < nt; ++j) {
        const int64_t t = t0 + j;
        const int64_t ci = t / khw;
        const int64_t ky = (t - ci * khw) / kw;
        const int64_t kx = t - ci * khw - ky * kw;
        const float *plane = planes + ci * x->ihw;
        float *out = col + j * CW_PITCH;
        int64_t y = y_start, ox = ox_start;
        for (int64_t i = 0; i < len; ++y, ox = 0) {
            const int64_t seg = (len - i < ow - ox) ? len - i : ow - ox;
            const int64_t iy = y * sh - pt + ky * dh;
            float *o = out + i;
            i += seg;
            /* Whole vectors are stored, up to CW_V - 1 floats past the segment: into the
             * next segment (written afterwards), the next tap's row (likewise) or the slack
             * after the buffer. */
            if (iy < 0 || iy >= ih) {
                for (int64_t k = 0; k < seg; k += CW_V) {
                    cw_store(o + k, cw_zero());
                }
                continue;
            }
            const float *row = plane + iy * iw;
            const int64_t ix0 = ox * sw - pl + kx * dwl;
            if (sw == 1) {
                for (int64_t k = 0; k < seg; k += CW_V) {
                    cw_store(o + k, cw_load_row(row, ix0 + k, iw));
                }
            } else if (sw == 2) {
                for (int64_t k = 0; k < seg; k += CW_V) {
                    cw_store(o + k, cw_load_row_s2(row, ix0 + 2 * k, iw));
                }
            } else {
                for (int64_t k = 0; k < seg; ++k) {
                    const int64_t ix = ix0 + k * sw;
                    o[k] = (ix >= 0 && ix < iw) ? row[ix] : 0.0f;
                }
            }
        }
    }
}
