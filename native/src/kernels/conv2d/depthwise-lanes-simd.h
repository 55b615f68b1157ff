/*
 * Depthwise conv2d, channels in lanes (included by depthwise-simd.h, before its entry points;
 * geometry: depthwise-lanes.h / depthwise-scalar.c). The plane engine above works on one
 * channel plane at a time with vectors along a row: small planes pay its per-plane costs and
 * rows like 28 or 14 leave lanes idle. Here a task takes VL channels of one image (backward-
 * weights: VL channels of every image) and
 *   1. transposes their planes, VL pixels x VL channels at a time in registers, into a
 *      pixel-major frame [hp][wp][VL] with zero borders (dw_lanes_frame_in);
 *   2. computes one output pixel of VL channels per vector, every tap one full-width FMA
 *      with that tap's weight vector: no edge checks, any stride or dilation by addressing;
 *   3. stages the results pixel-major and transposes them back to the NCHW planes.
 * Forward: out(y, x) = sum_t w_t * frame[y*sh + ky*dh][x*sw + kx*dw].
 * Backward-data: diff_src (iy, ix) of parity class ((iy + pad_top) % sh, (ix + pad_left) % sw)
 *   gathers the taps whose offsets divide by the stride from the diff_dst frame: per class a
 *   run of the same code, with the class's taps, writing every sw-th staged pixel.
 * Backward-weights: per output pixel, diff_dst (one vector) times the KT shifted input vectors
 *   into KT accumulators; images, rows and pixels in a fixed order, so no horizontal sums.
 * Which calls it takes (backward-weights; forward / backward-data with a stride of 2; scratch
 * within a cap): pcnn_depthwise_lanes_frame, with the measurements behind the rule.
 *
 * Zeros: the borders multiply as zeros where the scalar kernel skips the tap. That gives the
 * scalar kernel's result when the weights are finite (forward / backward-data: w * 0 = +-0 and
 * a sum that starts at +0 is never -0), and for backward-weights when the sums come out finite
 * (a 0 * Inf would have left a NaN). A channel block with a non-finite weight is handed to the
 * plane engine (which skips padded taps) before anything is computed; a backward-weights
 * channel whose sums are not finite is summed again by the plane engine.
 * Determinism: a forward / backward-data task writes its own planes; a backward-weights task
 * owns its channels. Nothing depends on the thread count.
 */
#ifndef PCNN_DEPTHWISE_LANES_SIMD_H
#define PCNN_DEPTHWISE_LANES_SIMD_H

#include "kernels/conv2d/depthwise-lanes.h"

#define DW_LANES_R 8 /* output pixels per register block */
/* Software prefetch along each of the VL planes a transpose reads, DW_LANES_AHEAD floats ahead
 * (VL interleaved streams: the hardware prefetchers fall behind; a small gain, measured on a
 * busy machine: 290-340 us vs 335-340 us, dw3x3_s2 forward, 1 thread). */
#define DW_LANES_AHEAD 256

/* p + n, computed here: the empty asm hides the sum from the optimiser, which would otherwise
 * keep VL plane pointers live across the loop (more than the 16 general registers: spilled,
 * and reloaded from the stack before every load, as perf showed). */
static inline const float *dw_bump(const float *p, int64_t n) {
    p += n;
    __asm__("" : "+r"(p));
    return p;
}

/* Calls the lanes engine took (the tests check it served). */
PCNN_INTERNAL int64_t DW_LANES_RUNS;
PCNN_INTERNAL int64_t DW_LANES_RUNS = 0;

/* One tap of a task: offset in floats from the output pixel's frame position, weight vector. */
typedef struct {
    int64_t off[PCNN_DW_MAX_TAPS];
    int32_t wi[PCNN_DW_MAX_TAPS]; /* index into the weight vectors */
    int64_t nt;
} dw_lanes_taps;

typedef struct {
    dw_job *j;
    pcnn_dw_frame f;
    int64_t nblk; /* channel blocks of VL */
} dw_lanes_job;

/* ---- transposes ---- */

/* cn planes (plane stride cs, h x w) of which pixels go to the frame from (top, left). */
static void dw_lanes_frame_in(const float *src, int64_t cs, int64_t cn, int64_t h, int64_t w, float *F,
                              const pcnn_dw_frame *f) {
    const dw_vec z = dw_zero();
    /* zero borders: whole rows above / below, columns left / right of the pixels */
    for (int64_t r = 0; r < f->hp; r++) {
        float *row = F + r * f->wp * VL;
        const int inside = r >= f->top && r < f->top + h;
        for (int64_t x = 0; x < f->wp; x++) {
            if (inside && x == f->left) {
                x += w - 1; /* the pixels' columns */
                continue;
            }
            dw_storeu(row + x * VL, z);
        }
    }
    float *dst = F + (f->top * f->wp + f->left) * VL;
    const int64_t skip = (f->wp - w) * VL, npix = h * w;
    int64_t x = 0;
    for (int64_t p0 = 0; p0 < npix; p0 += VL) {
        const int64_t n = npix - p0 < VL ? npix - p0 : VL;
        dw_vec r[VL];
        if (n == VL && cn == VL) {
            const float *q = src + p0;
#pragma GCC unroll 16
            for (int l = 0; l < VL; l++) {
                r[l] = dw_loadu(q);
                if (DW_LANES_AHEAD > 0) {
                    __builtin_prefetch(dw_at(q, DW_LANES_AHEAD), 0, 3);
                }
                q = dw_bump(q, cs);
            }
        } else {
            const dw_mask m = dw_lanes(0, n);
            for (int l = 0; l < VL; l++) {
                r[l] = l < cn ? dw_load_m(src + l * cs + p0, m) : z;
            }
        }
        dw_transpose(r);
#pragma GCC unroll 16
        for (int i = 0; i < VL; i++) {
            if (i < n) {
                dw_storeu(dst, r[i]);
                dst += VL;
                if (++x == w) {
                    x = 0, dst += skip;
                }
            }
        }
    }
}

/* Staged pixels S [npix][VL] -> cn planes (stride cs). */
static void dw_lanes_out(const float *S, int64_t npix, float *dst, int64_t cs, int64_t cn) {
    for (int64_t p0 = 0; p0 < npix; p0 += VL) {
        const int64_t n = npix - p0 < VL ? npix - p0 : VL;
        dw_vec r[VL];
#pragma GCC unroll 16
        for (int i = 0; i < VL; i++) {
            r[i] = i < n ? dw_loadu(S + (p0 + i) * VL) : dw_zero();
        }
        dw_transpose(r);
        if (n == VL && cn == VL) {
            float *q = dst + p0;
#pragma GCC unroll 16
            for (int l = 0; l < VL; l++) {
                dw_storeu(q, r[l]);
                q = (float *)(uintptr_t)dw_bump(q, cs);
            }
        } else {
            const dw_mask m = dw_lanes(0, n);
            for (int l = 0; l < cn; l++) {
                dw_store_m(dst + l * cs + p0, r[l], m);
            }
        }
    }
}

/* ---- forward / backward-data: runs of output pixels ---- */

/* R pixels: out[r*ostep] = bias + sum_t wv[wi[t]] * in[r*istep + off[t]] (KT taps: a constant for 3x3) */
DW_AI void dw_lanes_block(const float *in, int64_t istep, const dw_lanes_taps *tp, const dw_vec *wv, dw_vec bias,
                          float *out, int64_t ostep, const int R, const int64_t KT) {
    dw_vec acc[DW_LANES_R];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        acc[r] = dw_zero();
    }
#pragma GCC unroll 9
    for (int64_t t = 0; t < KT; t++) {
        const dw_vec w = wv[tp->wi[t]];
        const float *p = in + tp->off[t];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            acc[r] = dw_fma(dw_loadu(p + r * istep), w, acc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        dw_storeu(out + r * ostep, dw_add(acc[r], bias));
    }
}

DW_AI void dw_lanes_run_k(const float *in, int64_t istep, const dw_lanes_taps *tp, const dw_vec *wv, dw_vec bias,
                          float *out, int64_t ostep, int64_t n, const int64_t KT) {
    int64_t i = 0;
    for (; i + DW_LANES_R <= n; i += DW_LANES_R) {
        dw_lanes_block(in + i * istep, istep, tp, wv, bias, out + i * ostep, ostep, DW_LANES_R, KT);
    }
    in += i * istep, out += i * ostep;
    switch (n - i) {
    case 7: dw_lanes_block(in, istep, tp, wv, bias, out, ostep, 7, KT); break;
    case 6: dw_lanes_block(in, istep, tp, wv, bias, out, ostep, 6, KT); break;
    case 5: dw_lanes_block(in, istep, tp, wv, bias, out, ostep, 5, KT); break;
    case 4: dw_lanes_block(in, istep, tp, wv, bias, out, ostep, 4, KT); break;
    case 3: dw_lanes_block(in, istep, tp, wv, bias, out, ostep, 3, KT); break;
    case 2: dw_lanes_block(in, istep, tp, wv, bias, out, ostep, 2, KT); break;
    case 1: dw_lanes_block(in, istep, tp, wv, bias, out, ostep, 1, KT); break;
    default: break;
    }
}

/* n output pixels from in (step istep) to out (step ostep) */
static void dw_lanes_run(const float *in, int64_t istep, const dw_lanes_taps *tp, const dw_vec *wv, dw_vec bias,
                         float *out, int64_t ostep, int64_t n) {
    if (tp->nt == 9) {
        dw_lanes_run_k(in, istep, tp, wv, bias, out, ostep, n, 9);
    } else {
        dw_lanes_run_k(in, istep, tp, wv, bias, out, ostep, n, tp->nt);
    }
}

/* The weight vectors of channels [c0, c0 + cn) (lanes >= cn: 0); 0 when one is not finite. */
static int dw_lanes_weights(const float *w, int64_t c0, int64_t cn, int64_t k, dw_vec *wv) {
    float lane[VL];
    for (int64_t t = 0; t < k; t++) {
        for (int64_t l = 0; l < VL; l++) {
            lane[l] = l < cn ? w[(c0 + l) * k + t] : 0.0f;
            if (!isfinite(lane[l])) {
                return 0;
            }
        }
        wv[t] = dw_loadu(lane);
    }
    return 1;
}

/* Task scratch: the frame, then the staging area (64-byte aligned: VL floats per pixel). */
static float *dw_lanes_scratch(dw_lanes_job *lj) {
    float *s = pcnn_scratch_get(PCNN_SCRATCH_DEPTHWISE_LANES, sizeof(float) * (size_t)lj->f.floats);
    if (s == NULL) {
        __atomic_store_n(&lj->j->failed, 1, __ATOMIC_RELAXED);
    }
    return s;
}

static void dw_lanes_fwd_task(void *ctx, int64_t task) {
    dw_lanes_job *lj = ctx;
    dw_job *j = lj->j;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t n = task / lj->nblk, c0 = task % lj->nblk * VL, cn = d->c - c0 < VL ? d->c - c0 : VL;
    const int64_t k = d->kh * d->kw, plane0 = n * d->c + c0;
    dw_vec wv[PCNN_DW_MAX_TAPS];
    if (!dw_lanes_weights(j->w, c0, cn, k, wv)) {
        for (int64_t l = 0; l < cn; l++) {
            dw_fwd_task(j, plane0 + l); /* non-finite weights: the plane engine skips padded taps */
        }
        return;
    }
    float *F = dw_lanes_scratch(lj);
    if (F == NULL) {
        return;
    }
    const pcnn_dw_frame *f = &lj->f;
    float *S = F + f->hp * f->wp * VL;
    dw_lanes_frame_in(j->in + plane0 * d->ih * d->iw, d->ih * d->iw, cn, d->ih, d->iw, F, f);
    dw_lanes_taps tp;
    tp.nt = k;
    for (int64_t t = 0; t < k; t++) {
        tp.off[t] = ((t / d->kw) * d->dilation_h * f->wp + (t % d->kw) * d->dilation_w) * VL;
        tp.wi[t] = (int32_t)t;
    }
    float bl[VL];
    for (int64_t l = 0; l < VL; l++) {
        bl[l] = j->bias != NULL && l < cn ? j->bias[c0 + l] : 0.0f;
    }
    const dw_vec bias = dw_loadu(bl);
    for (int64_t y = 0; y < d->oh; y++) {
        dw_lanes_run(F + y * d->stride_h * f->wp * VL, d->stride_w * VL, &tp, wv, bias, S + y * d->ow * VL, VL,
                     d->ow);
    }
    dw_lanes_out(S, d->oh * d->ow, j->out + plane0 * d->oh * d->ow, d->oh * d->ow, cn);
}

/* ---- backward-data ---- */

static void dw_lanes_bwd_data_task(void *ctx, int64_t task) {
    dw_lanes_job *lj = ctx;
    dw_job *j = lj->j;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t n = task / lj->nblk, c0 = task % lj->nblk * VL, cn = d->c - c0 < VL ? d->c - c0 : VL;
    const int64_t k = d->kh * d->kw, plane0 = n * d->c + c0, sh = d->stride_h, sw = d->stride_w;
    dw_vec wv[PCNN_DW_MAX_TAPS];
    if (!dw_lanes_weights(j->w, c0, cn, k, wv)) {
        for (int64_t l = 0; l < cn; l++) {
            dw_bwd_data_task(j, plane0 + l); /* non-finite weights: the plane engine skips padded taps */
        }
        return;
    }
    float *G = dw_lanes_scratch(lj);
    if (G == NULL) {
        return;
    }
    const pcnn_dw_frame *f = &lj->f;
    float *S = G + f->hp * f->wp * VL;
    dw_lanes_frame_in(j->in + plane0 * d->oh * d->ow, d->oh * d->ow, cn, d->oh, d->ow, G, f);
    /* parity class (py, px): the taps whose offsets divide by the stride */
    dw_lanes_taps cls[4]; /* stride <= 2 (pcnn_depthwise_supports) */
    for (int64_t py = 0; py < sh; py++) {
        for (int64_t px = 0; px < sw; px++) {
            dw_lanes_taps *tp = &cls[py * sw + px];
            tp->nt = 0;
            for (int64_t ky = 0; ky < d->kh; ky++) {
                for (int64_t kx = 0; kx < d->kw; kx++) {
                    const int64_t vy = ky * d->dilation_h - py, vx = kx * d->dilation_w - px;
                    if (vy % sh == 0 && vx % sw == 0) {
                        tp->off[tp->nt] = (-(vy / sh) * f->wp - vx / sw) * VL;
                        tp->wi[tp->nt++] = (int32_t)(ky * d->kw + kx);
                    }
                }
            }
        }
    }
    const dw_vec zero = dw_zero();
    for (int64_t iy = 0; iy < d->ih; iy++) {
        const int64_t py = (iy + d->pad_top) % sh, qy = (iy + d->pad_top) / sh;
        for (int64_t px = 0; px < sw; px++) {
            const int64_t ix0 = ((px - d->pad_left) % sw + sw) % sw;
            if (ix0 >= d->iw) {
                continue;
            }
            const int64_t cnt = (d->iw - 1 - ix0) / sw + 1, qx0 = (ix0 + d->pad_left) / sw;
            dw_lanes_run(G + ((qy + f->top) * f->wp + qx0 + f->left) * VL, VL, &cls[py * sw + px], wv, zero,
                         S + (iy * d->iw + ix0) * VL, sw * VL, cnt);
        }
    }
    dw_lanes_out(S, d->ih * d->iw, j->out + plane0 * d->ih * d->iw, d->ih * d->iw, cn);
}

/* ---- backward-weights ---- */

/* n diff_dst pixels of a row (dd, step VL) against the input frame from in (step istep):
 * acc[t] += dd * in[off[t]], accb += dd. KT: a constant for 3x3 (accumulators in registers). */
DW_AI void dw_lanes_wrow_k(const float *in, int64_t istep, const float *dd, int64_t n, const dw_lanes_taps *tp,
                           dw_vec *acc, dw_vec *accb, const int64_t KT) {
    dw_vec a[PCNN_DW_MAX_TAPS], b = *accb;
    int64_t off[PCNN_DW_MAX_TAPS];
#pragma GCC unroll 9
    for (int64_t t = 0; t < KT; t++) {
        a[t] = acc[t], off[t] = tp->off[t];
    }
    for (int64_t i = 0; i < n; i++) {
        const dw_vec dv = dw_loadu(dd + i * VL);
        const float *p = in + i * istep;
        b = dw_add(b, dv);
#pragma GCC unroll 9
        for (int64_t t = 0; t < KT; t++) {
            a[t] = dw_fma(dv, dw_loadu(p + off[t]), a[t]);
        }
    }
#pragma GCC unroll 9
    for (int64_t t = 0; t < KT; t++) {
        acc[t] = a[t];
    }
    *accb = b;
}

static void dw_lanes_wrow(const float *in, int64_t istep, const float *dd, int64_t n, const dw_lanes_taps *tp,
                          dw_vec *acc, dw_vec *accb) {
    if (tp->nt == 9) {
        dw_lanes_wrow_k(in, istep, dd, n, tp, acc, accb, 9);
    } else {
        dw_lanes_wrow_k(in, istep, dd, n, tp, acc, accb, tp->nt);
    }
}

static void dw_lanes_bwd_weights_task(void *ctx, int64_t blk) {
    dw_lanes_job *lj = ctx;
    dw_job *j = lj->j;
    const pcnn_conv2d_desc *d = j->d;
    const int64_t c0 = blk * VL, cn = d->c - c0 < VL ? d->c - c0 : VL, k = d->kh * d->kw;
    const int64_t in_len = d->ih * d->iw, out_len = d->oh * d->ow;
    float *F = dw_lanes_scratch(lj);
    if (F == NULL) {
        return;
    }
    const pcnn_dw_frame *f = &lj->f;
    float *S = F + f->hp * f->wp * VL;
    const pcnn_dw_frame flat = {d->oh, d->ow, 0, 0, 0, 0}; /* diff_dst as it is: no borders */
    dw_lanes_taps tp;
    tp.nt = k;
    for (int64_t t = 0; t < k; t++) {
        tp.off[t] = ((t / d->kw) * d->dilation_h * f->wp + (t % d->kw) * d->dilation_w) * VL;
    }
    dw_vec acc[PCNN_DW_MAX_TAPS], accb = dw_zero();
    for (int64_t t = 0; t < k; t++) {
        acc[t] = dw_zero();
    }
    for (int64_t n = 0; n < d->n; n++) {
        const int64_t plane0 = n * d->c + c0;
        dw_lanes_frame_in(j->in + plane0 * in_len, in_len, cn, d->ih, d->iw, F, f);
        dw_lanes_frame_in(j->in2 + plane0 * out_len, out_len, cn, d->oh, d->ow, S, &flat);
        for (int64_t y = 0; y < d->oh; y++) {
            dw_lanes_wrow(F + y * d->stride_h * f->wp * VL, d->stride_w * VL, S + y * d->ow * VL, d->ow, &tp, acc,
                          &accb);
        }
    }
    float sums[PCNN_DW_MAX_TAPS][VL], bsum[VL];
    for (int64_t t = 0; t < k; t++) {
        dw_storeu(sums[t], acc[t]);
    }
    dw_storeu(bsum, accb);
    for (int64_t l = 0; l < cn; l++) {
        int finite = 1;
        for (int64_t t = 0; t < k; t++) {
            finite &= isfinite(sums[t][l]) != 0;
        }
        if (!finite) {
            dw_bwd_weights_task(j, c0 + l); /* a 0 * Inf may have met a border: the plane engine skips them */
            continue;
        }
        for (int64_t t = 0; t < k; t++) {
            j->out[(c0 + l) * k + t] = sums[t][l];
        }
        if (j->out2 != NULL) {
            j->out2[c0 + l] = bsum[l];
        }
    }
}

/* ---- entry: 1 when the lanes engine served the call (status in *st) ---- */

static int dw_lanes_setup(dw_lanes_job *lj, dw_job *j, int32_t pass) {
    lj->j = j;
#ifdef DW_LANES_DISABLE /* -DDW_LANES_DISABLE: the plane engine only (A/B benchmarks) */
    return 0;
#endif
    lj->nblk = (j->d->c + VL - 1) / VL;
    return pcnn_depthwise_lanes_frame(j->d, pass, VL, &lj->f);
}

PCNN_INTERNAL int dw_lanes_fwd(dw_job *j) {
    dw_lanes_job lj;
    if (!dw_lanes_setup(&lj, j, PCNN_PASS_FWD)) {
        return 0;
    }
    const pcnn_conv2d_desc *d = j->d;
    const int64_t tasks = d->n * lj.nblk;
    pcnn_parallel_for_work(tasks, d->n * d->c * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw), dw_lanes_fwd_task,
                           &lj);
    __atomic_fetch_add(&DW_LANES_RUNS, 1, __ATOMIC_RELAXED);
    return 1;
}

PCNN_INTERNAL int dw_lanes_bwd_weights(dw_job *j) {
    dw_lanes_job lj;
    if (!dw_lanes_setup(&lj, j, PCNN_PASS_BWD_WEIGHTS)) {
        return 0;
    }
    const pcnn_conv2d_desc *d = j->d;
    pcnn_parallel_for_work(lj.nblk, d->n * d->c * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw),
                           dw_lanes_bwd_weights_task, &lj);
    __atomic_fetch_add(&DW_LANES_RUNS, 1, __ATOMIC_RELAXED);
    return 1;
}

PCNN_INTERNAL int dw_lanes_bwd_data(dw_job *j) {
    dw_lanes_job lj;
    if (!dw_lanes_setup(&lj, j, PCNN_PASS_BWD_DATA)) {
        return 0;
    }
    const pcnn_conv2d_desc *d = j->d;
    pcnn_parallel_for_work(d->n * lj.nblk, d->n * d->c * (d->ih * d->iw + d->oh * d->ow * d->kh * d->kw),
                           dw_lanes_bwd_data_task, &lj);
    __atomic_fetch_add(&DW_LANES_RUNS, 1, __ATOMIC_RELAXED);
    return 1;
}

#endif /* PCNN_DEPTHWISE_LANES_SIMD_H */
