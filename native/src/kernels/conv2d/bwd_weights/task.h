/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: one task
 * (cw_task: a group x block of output channels x block of taps, picking its path), the
 * src finiteness check and the bias gradient.
 */

static void cw_task(void *p, int64_t task) {
    cw_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    const int64_t tb = task % x->tb_blocks;
    const int64_t ob = (task / x->tb_blocks) % x->ob_blocks;
    const int64_t g = task / (x->tb_blocks * x->ob_blocks);
    const int64_t t0 = tb * x->tb;
    const int64_t nt = (x->taps - t0 < x->tb) ? x->taps - t0 : x->tb;
    const int64_t o0 = g * x->ocg + ob * x->ob;
    const int64_t no = (g * x->ocg + x->ocg - o0 < x->ob) ? g * x->ocg + x->ocg - o0 : x->ob;
    const int64_t nt_pad = (nt + CW_RT - 1) / CW_RT * CW_RT;
    const int64_t no_pad = (no + CW_RO - 1) / CW_RO * CW_RO;

#ifdef CW_TRANS
    if (x->trans) {
        /* acc: CW_TRO - 1 spare rows for the duplicate rows of the last tile */
        const size_t accf = (size_t)((no + CW_TRO) * CW_TC);
        const size_t colf = (size_t)((CW_KC + CW_V) * CW_TC); /* + slack rows */
        size_t packf = x->direct ? 0 : (size_t)(CW_TC * CW_PITCH + CW_V);
        if (x->tphase) {
            packf = (size_t)(x->tp_line + x->tp_nci * d->stride_h * d->stride_w * x->tp_pitch +
                             CW_V);
        }
        /* the bias sums of the task's rows (x->tbias, tap block 0): 2 vectors each */
        const size_t sbf = x->tbias && t0 == 0 ? (size_t)(no * 2 * CW_V) : 0;
        float *buf = cw_scratch_get(accf + colf + packf + sbf);
        if (buf == NULL) {
            __atomic_store_n(&x->oom, 1, __ATOMIC_RELAXED);
            return;
        }
        /* acc starts at zero on the first piece (cw_trans_tile); without pieces, dW is 0 */
        if (d->n == 0 || x->ohw == 0) memset(buf, 0, accf * sizeof(float));
        cw_run_trans(x, buf, buf + accf, buf + accf + colf,
                     sbf ? buf + accf + colf + packf : NULL, g, t0, nt, o0, no);
        return;
    }
#endif
    const size_t acc_floats = (size_t)(no_pad * nt_pad * CW_V);
    size_t col_floats = x->direct ? 0 : (size_t)(CW_TB * CW_PITCH + CW_V); /* + slack */
    if (x->flat) {
        col_floats = (size_t)(x->flat_nb * no * x->flat_dp + CW_V); /* + slack */
    }
    if (x->wide) {
        /* padded planes, then (unless dY was repacked once for all tasks) no dY rows */
        col_floats = (size_t)(x->wide_nci * d->stride_h * d->stride_w * x->wide_pitch + CW_V +
                              (x->wide_dy != NULL ? 0 : no * x->wide_dyp) + CW_V);
    }
    float *scratch = cw_scratch_get(acc_floats + col_floats);
    if (scratch == NULL) {
        __atomic_store_n(&x->oom, 1, __ATOMIC_RELAXED);
        return;
    }
    float *acc = scratch;
    float *col = scratch + acc_floats;
    memset(acc, 0, acc_floats * sizeof(float));
    if (x->flat) {
        cw_run_flat(x, acc, col, g, t0, nt, nt_pad, o0, no, no_pad);
        goto reduce;
    }
    if (x->wide) {
        float *dyk = col + x->wide_nci * d->stride_h * d->stride_w * x->wide_pitch + CW_V;
        if (cw_run_wide(x, acc, col, dyk, g, t0, nt, nt_pad, o0, no, no_pad) && x->wide_junk) {
            __atomic_store_n(&x->nonfinite, 1, __ATOMIC_RELAXED); /* CW_NAME runs again */
        }
        goto reduce;
    }

    /* Chunks of CW_P output pixels; planes smaller than that are batched, several images
     * per chunk (one segment each, segments CW_V-aligned in col), so that the tiles run
     * long loops. */
    const int64_t seg_pitch = (x->ohw + CW_V - 1) / CW_V * CW_V;
    const int64_t per_chunk = x->ohw < CW_P ? CW_P / seg_pitch : 1;
    const int64_t dy_step = d->oc * x->ohw;
    for (int64_t n0 = 0; n0 < d->n; n0 += per_chunk) {
        const int64_t nseg = (d->n - n0 < per_chunk) ? d->n - n0 : per_chunk;
        for (int64_t p0 = 0; p0 < x->ohw; p0 += CW_P) {
            const int64_t len = (x->ohw - p0 < CW_P) ? x->ohw - p0 : CW_P;
            const float *colp[CW_TB];
            int64_t col_step;
            if (x->direct) {
                const float *base = x->src + (n0 * d->c + g * x->cg + t0) * x->ihw + p0;
                for (int64_t j = 0; j < nt; ++j) colp[j] = base + j * x->ihw;
                col_step = d->c * x->ihw;
            } else {
                for (int64_t sg = 0; sg < nseg; ++sg) {
                    cw_pack(x, col + sg * seg_pitch, n0 + sg, g, t0, nt, p0, len);
                }
                for (int64_t j = 0; j < nt; ++j) colp[j] = col + j * CW_PITCH;
                col_step = seg_pitch;
            }
            for (int64_t j = nt; j < nt_pad; ++j) colp[j] = colp[nt - 1];

            /* Cache blocking: CW_OB2 dY rows and CW_TB2 col rows of this chunk stay in L1
             * while every tile of that block runs (measured: streaming one operand from L2
             * costs about a third of the FMA rate). */
            const float *dyb = x->diff_dst + (n0 * d->oc + o0) * x->ohw + p0;
            for (int64_t ob2 = 0; ob2 < no_pad; ob2 += CW_OB2) {
                const int64_t ob2_end = (ob2 + CW_OB2 < no_pad) ? ob2 + CW_OB2 : no_pad;
                for (int64_t tb2 = 0; tb2 < nt_pad; tb2 += CW_TB2) {
                    const int64_t tb2_end = (tb2 + CW_TB2 < nt_pad) ? tb2 + CW_TB2 : nt_pad;
                    for (int64_t tt = tb2; tt < tb2_end; tt += CW_RT) {
                        for (int64_t r0 = ob2; r0 < ob2_end; r0 += CW_RO) {
                            const float *dyp[CW_RO];
                            for (int r = 0; r < CW_RO; ++r) {
                                const int64_t rr = (r0 + r < no) ? r0 + r : no - 1;
                                dyp[r] = dyb + rr * x->ohw;
                            }
                            /* tile (r0, tt) lives at acc[r0 / RO][tt / RT] */
                            float *a = acc + (r0 * nt_pad + tt * CW_RO) * CW_V;
                            cw_tile(a, dyp, colp + tt, len, nseg, dy_step, col_step);
                        }
                    }
                }
            }
        }
    }

reduce:
    /* reduce the lanes once */
    for (int64_t r = 0; r < no; ++r) {
        const int64_t r0 = r / CW_RO * CW_RO;
        float *dw = x->diff_weights + (o0 + r) * x->taps + t0;
        for (int64_t j = 0; j < nt; ++j) {
            const int64_t tt = j / CW_RT * CW_RT;
            const float *a = acc + (r0 * nt_pad + tt * CW_RO) * CW_V +
                             ((r - r0) * CW_RT + (j - tt)) * CW_V;
            dw[j] = cw_hsum(cw_load(a));
        }
    }
}

/* src image n all finite? (v - v is 0 for finite v, NaN otherwise; NaN sticks) */
static void cw_finite_task(void *p, int64_t n) {
    cw_ctx *x = p;
    const int64_t count = x->d->c * x->ihw;
    const float *s = x->src + n * count;
    cw_vf a0 = cw_zero(), a1 = cw_zero();
    int64_t i = 0;
    for (; i + 2 * CW_V <= count; i += 2 * CW_V) {
        const cw_vf v0 = cw_load(s + i), v1 = cw_load(s + i + CW_V);
        a0 = cw_add(a0, cw_sub(v0, v0));
        a1 = cw_add(a1, cw_sub(v1, v1));
    }
    for (; i < count; i += CW_V) {
        const int rest = (count - i < CW_V) ? (int)(count - i) : CW_V;
        const cw_vf v = rest == CW_V ? cw_load(s + i) : cw_load_first(s + i, rest);
        a0 = cw_add(a0, cw_sub(v, v));
    }
    if (cw_hsum(cw_add(a0, a1)) != 0.0f) {
        __atomic_store_n(&x->nonfinite, 1, __ATOMIC_RELAXED);
    }
}

/* bias gradient of channel o: sum over n, then the plane in lanes, then the lanes */
static void cw_bias_task(void *p, int64_t o) {
    cw_ctx *x = p;
    const pcnn_conv2d_desc *d = x->d;
    cw_vf s0 = cw_zero(), s1 = cw_zero();
    for (int64_t n = 0; n < d->n; ++n) {
        const float *dy = x->diff_dst + (n * d->oc + o) * x->ohw;
        int64_t i = 0;
        for (; i + 2 * CW_V <= x->ohw; i += 2 * CW_V) {
            s0 = cw_add(s0, cw_load(dy + i));
            s1 = cw_add(s1, cw_load(dy + i + CW_V));
        }
        for (; i + CW_V <= x->ohw; i += CW_V) {
            s0 = cw_add(s0, cw_load(dy + i));
        }
        if (i < x->ohw) {
            s1 = cw_add(s1, cw_load_first(dy + i, (int)(x->ohw - i)));
        }
    }
    x->bias_sums[o] = cw_hsum(cw_add(s0, s1));
}
