/*
 * conv2d backward-weights, SIMD template shared by conv2d_bwd_weights-avx2.c and
 * conv2d_bwd_weights-avx512.c. The including file defines the vector layer first: CW_V lanes,
 * cw_vf, cw_load / cw_load_first (masked tail) / cw_fma / cw_zero / cw_hsum, the register
 * tile CW_RO x CW_RT, and CW_NAME (the kernel's name).
 *
 * Formulation: per group, diff_weights is a GEMM in dot-product form
 *     dW[o][t] = sum over n, p of dY[n][o][p] * col[n][t][p]
 * where p = y*ow + x runs over the output plane and t = (ci, ky, kx) over the taps of the
 * group; col[n][t][p] is the input value under tap t for output pixel p (zero where the tap
 * is in the padding). dY rows are already contiguous in p. col rows are packed per chunk of
 * CW_P output pixels, with vector loads (stride 1) or loads plus an even-lane permute
 * (stride 2); planes smaller than a chunk are batched several images per chunk. For a
 * 1x1 / stride-1 / unpadded convolution the col rows are the src planes themselves and
 * nothing is packed. Lanes run along p; a register tile of CW_RO output channels x CW_RT
 * taps keeps CW_RO*CW_RT vector partial sums, which live in a per-task buffer between
 * chunks and are reduced horizontally once at the end. Within a chunk the tiles run one
 * group of CW_RT col rows at a time (those stay in L1) over all the task's output channels
 * (dY rows streamed from L2); chunks of CW_P = 1024 pixels keep the per-tile cost of loading
 * and storing the accumulators small (measured better than 512 with 16 x 24 L1 blocks).
 *
 * Stride-1 convolutions on planes of at least half a chunk (not the in-place 1x1 case) take
 * cw_run_wide instead: the col row of every tap of a channel is the same zero-padded plane
 * stored with a row width of ow + (kw - 1) * dw, at an offset, so only one copy of the input
 * is packed (not kh * kw shifted copies), and the tile runs one long loop per chunk; dY is
 * repacked to that row width with zeros in the extra ("junk") columns. See cw_run_wide for
 * why that path requires src to be finite. Those tasks take up to CW_TB_WIDE taps (every
 * task reads all of dY). The packing path gives a task up to 2 * CW_OB output channels when
 * that halves how often col is packed.
 *
 * Determinism: one task per (group, block of output channels, block of taps): each task owns
 * a disjoint slice of dW and walks all n and all chunks itself in a fixed order, so the
 * result does not depend on the thread count. The float summation order differs from the
 * scalar kernel (lanes, then a tree), which the tests allow for with a tolerance (and
 * integer-valued data stays exact).
 *
 * Padding: the scalar kernel skips padded taps; here they multiply a zero. The two agree
 * unless dY holds an infinity or a NaN (0 * inf = NaN), so when the shape has padded taps
 * this kernel first checks dY with the bias-gradient pass (run anyway when diff_bias is
 * wanted; a sum is non-finite iff it met a non-finite value or overflowed) and returns
 * PCNN_STATUS_UNSUPPORTED, handing the call to the scalar kernel, when it finds one.
 *
 * Stride-1 unpadded convolutions on planes of at most one chunk that the stride-1 path does
 * not take (too many junk rows between batched images, e.g. lenet2) and with fewer than 96
 * output channels per group take cw_run_flat: the col rows are the src planes themselves,
 * read at tap offsets, and nothing is packed (see there).
 *
 * AVX-512 only (CW_TRANS): shapes that do not take the stride-1 path and have at least 96
 * output channels per group take cw_run_trans instead, with lanes along the taps and the
 * accumulators in registers over a whole image piece (see there). Measured on a busy
 * machine (one thread): pw1x1 ~85 % of the FMA peak (was ~55-60 %), resnet_s2 ~75 % (was
 * ~50 %); the tile itself runs at ~85-90 %, the rest is the transposes and phase planes.
 *
 * Measured before that (AVX-512, one thread, Zen 5 shared with other jobs, noisy): mid
 * ~60 %, resnet3x3 ~65-70 % of the FMA peak on the stride-1 path; resnet_s2 ~50 % and pw1x1
 * ~55-60 % (the packing path / in place). What remains: the tile itself runs at ~75-80 % with its operands
 * streamed from L2 (acc load/store per chunk, dY misses); the dY repack of the stride-1 path
 * costs ~5-10 %; the stride-2 packing ~20 %.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"

#ifndef CW_OB
#define CW_OB 128 /* output channels per task (a multiple of CW_RO) */
#endif
#ifndef CW_TB
#define CW_TB 48 /* taps per task (a multiple of CW_RT) */
#endif
#ifndef CW_TB_WIDE
#define CW_TB_WIDE 96 /* taps per task on the stride-1 path (a multiple of CW_RT) */
#endif
#ifndef CW_OB2
#define CW_OB2 256 /* output channels per L1 block (a multiple of CW_RO) */
#endif
#ifndef CW_TB2
#define CW_TB2 CW_RT /* taps per L1 block (a multiple of CW_RT) */
#endif
#ifndef CW_P
#define CW_P 1024 /* output pixels per packed chunk (a multiple of CW_V) */
#endif
#ifndef CW_WIDE
#define CW_WIDE 1 /* use the stride-1 padded-plane path (cw_run_wide) where it fits */
#endif
#ifndef CW_FLAT
#define CW_FLAT 1 /* use the in-place small-plane path (cw_run_flat) where it fits */
#endif
#ifndef CW_PF_ROWS
#define CW_PF_ROWS 2 /* dY rows prefetched ahead while repacking */
#endif
/* Row pitch of the packed col block: one cache line more than a chunk, so that the rows
 * of an L1 block do not all fall into the same cache sets (a 2 KiB pitch would). */
#ifndef CW_PITCH
#define CW_PITCH (CW_P + 16)
#endif

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
    int trans;  /* lanes-along-taps path (cw_run_trans) */
    int tphase; /* trans: col from phase planes (else cw_pack or in place) */
    int64_t tp_pitch; /* tphase: floats per phase plane */
    int64_t tp_nci;   /* tphase: most channels a task touches */
    int64_t tp_line;  /* tphase: floats of the zero-padded input row copy */
    int oom;    /* set by a task that could not get scratch */
    int nonfinite; /* set by cw_finite_task */
    int flat;        /* in-place small-plane path (cw_run_flat) */
    int64_t flat_dp; /* flat: floats per repacked dY row (a multiple of CW_V) */
    int64_t flat_nb; /* flat: images per block */
} cw_ctx;

#ifdef CW_FLAT_RUNS
/* calls that took cw_run_flat (the tests check that their shapes reach it) */
PCNN_INTERNAL int64_t CW_FLAT_RUNS;
#endif

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

/*
 * Phase-plane path. With strides sh, sw the zero-padded input plane splits into sh * sw
 * phase planes (rows = py mod sh, columns = px mod sw); tap (ky, kx) reads phase
 * ((ky * dh) mod sh, (kx * dw) mod sw) with stride 1, shifted by ((ky * dh) / sh rows,
 * (kx * dw) / sw columns). With phase rows stored back to back with width wp = ow +
 * ((kw - 1) * dw) / sw and output pixel (y, ox) indexed y * wp + ox, the col row of every
 * tap of a channel is a phase plane at an offset: packing is one (de-interleaving) copy of
 * the input instead of kh * kw shifted copies, and the tile runs one long contiguous loop.
 * Small planes are batched nb images per chunk, image b at phase rows b * R (R = oh + eh):
 * the index then also has junk rows. Junk columns (ox >= ow) and junk rows hold real input
 * values; dY is repacked with the same layout and zeros there, so they add 0 * x. That is
 * exact unless x is infinite or NaN, so this path is only taken when src is all finite or
 * the layout has no junk (checked up front). Called for stride 1 only (see CW_NAME).
 */
/* noinline: inlined into cw_task it made the compiler's code for the other paths slower */
__attribute__((noinline)) static void cw_run_wide(const cw_ctx *x, float *acc,
                                                  float *planes_buf, float *dyk, int64_t g,
                                                  int64_t t0, int64_t nt, int64_t nt_pad,
                                                  int64_t o0, int64_t no, int64_t no_pad) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t wp = x->wp, ow = d->ow, oh = d->oh, iw = d->iw, ih = d->ih;
    const int64_t pl = d->pad_left, pt = d->pad_top, khw = x->khw, kw = d->kw;
    const int64_t sh = d->stride_h, sw = d->stride_w, dh = d->dilation_h, dwl = d->dilation_w;
    const int64_t pitch = x->wide_pitch, eh = x->eh, nphase = sh * sw;
    const int64_t ci0 = t0 / khw, nci = (t0 + nt - 1) / khw - ci0 + 1;
    const float *colp[CW_TB_WIDE + CW_TB + CW_RT];
    for (int64_t j = 0; j < nt; ++j) {
        const int64_t t = t0 + j;
        const int64_t ci = t / khw;
        const int64_t ky = (t - ci * khw) / kw;
        const int64_t kx = t - ci * khw - ky * kw;
        const int64_t phase = (ky * dh) % sh * sw + (kx * dwl) % sw;
        colp[j] = planes_buf + ((ci - ci0) * nphase + phase) * pitch + (ky * dh) / sh * wp +
                  (kx * dwl) / sw;
    }
    for (int64_t j = nt; j < nt_pad; ++j) colp[j] = colp[nt - 1];
    const int64_t dpitch = (CW_P + CW_V - 1) / CW_V * CW_V; /* dY row of a chunk: <= CW_P */
    const int64_t per = x->nb > 1 ? x->nb : 1;
    for (int64_t n0 = 0; n0 < d->n; n0 += per) {
        const int64_t nb = (d->n - n0 < per) ? d->n - n0 : per;
        for (int64_t y0 = 0; y0 < oh; y0 += x->ny) {
            const int64_t nyc = (oh - y0 < x->ny) ? oh - y0 : x->ny;
            const int64_t rimg = nyc + eh; /* phase rows per image */
            /* the last valid pixel ends the loop: reads then stay inside the planes */
            const int64_t len = ((nb - 1) * rimg + nyc - 1) * wp + ow;
            /* phase planes of this task's channels */
            for (int64_t b = 0; b < nb; ++b) {
                const float *src_planes =
                    x->src + ((n0 + b) * d->c + g * x->cg + ci0) * x->ihw;
                for (int64_t c = 0; c < nci; ++c) {
                    const float *plane = src_planes + c * x->ihw;
                    for (int64_t py = 0; py < sh; ++py) {
                        for (int64_t px = 0; px < sw; ++px) {
                            float *out = planes_buf + ((c * nphase) + py * sw + px) * pitch +
                                         b * rimg * wp;
                            for (int64_t r = 0; r < rimg; ++r) {
                                const int64_t iy = (y0 + r) * sh + py - pt;
                                float *o = out + r * wp;
                                /* whole vectors: may run up to CW_V - 1 floats into what is
                                 * written next (or the slack after the buffer) */
                                if (iy < 0 || iy >= ih) {
                                    for (int64_t k = 0; k < wp; k += CW_V) {
                                        cw_store(o + k, cw_zero());
                                    }
                                    continue;
                                }
                                const float *row = plane + iy * iw;
                                const int64_t ix0 = px - pl;
                                for (int64_t k = 0; k < wp; k += CW_V)
                                    cw_store(o + k, cw_load_row(row, ix0 + k, iw));
                            }
                        }
                    }
                }
            }
            /* dY in the same layout, zero in the junk columns and rows */
            for (int64_t r = 0; r < no; ++r) {
                float *o = dyk + r * dpitch;
                for (int64_t b = 0; b < nb; ++b) {
                    const float *row =
                        x->diff_dst + (((n0 + b) * d->oc + o0 + r) * x->ohw + y0 * ow);
                    if (r + CW_PF_ROWS < no) {
                        /* dY comes from memory once per task: fetch ahead of the copy */
                        const float *next = row + CW_PF_ROWS * x->ohw;
                        for (int64_t q = 0; q < nyc * ow; q += 16) { /* 64-byte lines */
                            _mm_prefetch((const char *)(next + q), _MM_HINT_T0);
                        }
                    }
                    float *ob = o + b * rimg * wp;
                    for (int64_t y = 0; y < rimg; ++y) {
                        float *oy = ob + y * wp;
                        const int last = b + 1 == nb && y + 1 == nyc;
                        if (y >= nyc) {
                            if (b + 1 < nb) {
                                for (int64_t k = 0; k < wp; ++k) oy[k] = 0.0f;
                            }
                            continue;
                        }
                        const float *in = row + y * ow;
                        int64_t k = 0;
                        for (; k + CW_V <= ow; k += CW_V) cw_store(oy + k, cw_load(in + k));
                        if (k < ow) cw_store(oy + k, cw_load_first(in + k, (int)(ow - k)));
                        /* junk columns (the stores above may have run into them: rewrite) */
                        for (int64_t j = ow; j < wp && !last; ++j) oy[j] = 0.0f;
                        if (last) break;
                    }
                }
            }
            for (int64_t tt = 0; tt < nt_pad; tt += CW_RT) {
                for (int64_t r0 = 0; r0 < no_pad; r0 += CW_RO) {
                    const float *dyp[CW_RO];
                    for (int r = 0; r < CW_RO; ++r) {
                        const int64_t rr = (r0 + r < no) ? r0 + r : no - 1;
                        dyp[r] = dyk + rr * dpitch;
                    }
                    float *a = acc + (r0 * nt_pad + tt * CW_RO) * CW_V;
                    cw_tile(a, dyp, colp + tt, len, 1, 0, 0);
                }
            }
        }
    }
}

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

#ifdef CW_TRANS
/*
 * Transposed path (CW_TRANS: the including file provides cw_bcast and cw_transpose16).
 * Lanes run along the taps (dW's inner dimension) instead of the pixels:
 *     acc[o][t-vector] += dY[n][o][p] (broadcast) * colT[n][p][t-vector]
 * A task owns CW_TC = 4 * CW_V taps (4 vectors) and a range of output channels; for each
 * piece of CW_KC pixels of one image it transposes its col rows (the src planes for the
 * in-place 1x1 case, else the phase planes of cw_phase_planes read at per-tap offsets, or
 * rows packed by cw_pack for stride_w > 2 or large planes) into colT[p][CW_TC] (32 KB: L1),
 * then runs a 6 x 4 register tile (24 accumulators, 4 colT loads and 6 broadcast dY loads
 * per 24 FMAs) over all its output channels. No horizontal sums, no masked pixel tails:
 * every lane of dW[o][t] is one sequential chain over n, then p (fixed order: the result
 * does not depend on the thread count).
 */
#define CW_TC (4 * CW_V)
#ifndef CW_KC
#define CW_KC 128 /* pixels per transposed piece (a multiple of CW_V) */
#endif
#define CW_TRO 6  /* output channels per register tile */

/* colT[p][0, CW_TC) for p < len from rows[j][p], j < nt (zero for j >= nt) */
static void cw_transpose_rows(float *colT, const float *const *rows, int64_t nt, int64_t len) {
    for (int64_t jb = 0; jb < CW_TC; jb += CW_V) {
        int64_t pb = 0;
        if (jb + CW_V <= nt) {
            for (; pb + CW_V <= len; pb += CW_V) {
                cw_transpose16(colT + pb * CW_TC + jb, CW_TC, rows + jb, pb);
            }
        }
        for (; pb < len; ++pb) { /* pixel tail, or taps past nt (zero) */
            float *o = colT + pb * CW_TC + jb;
            for (int64_t j = 0; j < CW_V; ++j) {
                o[j] = (jb + j < nt) ? rows[jb + j][pb] : 0.0f;
            }
        }
    }
}

/* Phase planes of channels ci0 .. ci0+nci of group g, image n (as in cw_run_wide, but
 * whole images: rows [0, oh + eh) of width wp, zero where the input is padding), each
 * x->tp_pitch floats apart; phase (py, px) of channel c at (c * sh * sw + py * sw + px).
 * Each input row is first copied into `line` between zeros (at offset CW_LPAD), so that
 * every phase row is then plain vector loads (and an even-lane permute for stride 2) with
 * no bounds checks: measured the bounds-checked loads at ~10 % of resnet_s2. */
#define CW_LPAD 16
static void cw_phase_planes(const cw_ctx *x, float *out, float *line, int64_t n, int64_t g,
                            int64_t ci0, int64_t nci) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t wp = x->wp, iw = d->iw, ih = d->ih, rows = d->oh + x->eh;
    const int64_t sh = d->stride_h, sw = d->stride_w, pt = d->pad_top, pl = d->pad_left;
    const float *planes = x->src + (n * d->c + g * x->cg + ci0) * x->ihw;
    memset(line, 0, (size_t)x->tp_line * sizeof(float));
    for (int64_t c = 0; c < nci; ++c) {
        for (int64_t py = 0; py < sh; ++py) {
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t iy = r * sh + py - pt;
                if (iy < 0 || iy >= ih) {
                    for (int64_t px = 0; px < sw; ++px) {
                        float *o = out + ((c * sh + py) * sw + px) * x->tp_pitch + r * wp;
                        /* whole vectors: may run up to CW_V - 1 floats into the next row
                         * (written next) or the slack after the plane */
                        for (int64_t k = 0; k < wp; k += CW_V) cw_store(o + k, cw_zero());
                    }
                    continue;
                }
                const float *row = planes + c * x->ihw + iy * iw;
                int64_t i = 0;
                for (; i + CW_V <= iw; i += CW_V) cw_store(line + CW_LPAD + i, cw_load(row + i));
                if (i < iw) { /* the zeros after the row must stay */
                    for (; i < iw; ++i) line[CW_LPAD + i] = row[i];
                }
                for (int64_t px = 0; px < sw; ++px) {
                    float *o = out + ((c * sh + py) * sw + px) * x->tp_pitch + r * wp;
                    const float *l = line + CW_LPAD + px - pl; /* l[k * sw] = column k */
                    if (sw == 1) {
                        for (int64_t k = 0; k < wp; k += CW_V) cw_store(o + k, cw_load(l + k));
                    } else { /* sw == 2 */
                        for (int64_t k = 0; k < wp; k += CW_V)
                            cw_store(o + k, cw_even(l + 2 * k));
                    }
                }
            }
        }
    }
}

/* colT[(y * ow + x)][0, CW_TC) for output rows y < ny (of the piece), x < ow, from the
 * phase-plane rows rows[j] + y * wp + x (zero for taps j >= nt). Whole 16 x 16 blocks are
 * transposed even past the end of an output row: the extra colT rows are rewritten by the
 * next block (pixels run in increasing order) or fall into the slack after the piece, and
 * the extra reads stay inside the planes' slack; those values are never used. */
static void cw_transpose_phase(float *colT, const float *const *rows, int64_t nt, int64_t ny,
                               int64_t ow, int64_t wp) {
    for (int64_t jb = 0; jb < CW_TC; jb += CW_V) {
        if (jb + CW_V <= nt) {
            for (int64_t y = 0; y < ny; ++y) {
                for (int64_t xb = 0; xb < ow; xb += CW_V) {
                    cw_transpose16(colT + (y * ow + xb) * CW_TC + jb, CW_TC, rows + jb,
                                   y * wp + xb);
                }
            }
        } else {
            for (int64_t y = 0; y < ny; ++y) {
                for (int64_t xx = 0; xx < ow; ++xx) {
                    float *o = colT + (y * ow + xx) * CW_TC + jb;
                    for (int64_t j = 0; j < CW_V; ++j) {
                        o[j] = (jb + j < nt) ? rows[jb + j][y * wp + xx] : 0.0f;
                    }
                }
            }
        }
    }
}

/* the 6 x 4 tiles over all of a task's output channels for one piece of len pixels */
static inline void cw_trans_tiles(float *acc, const float *colT, const float *dyb,
                                  int64_t ohw, int64_t len, int64_t no) {
    for (int64_t r0 = 0; r0 < no; r0 += CW_TRO) {
        const float *dy[CW_TRO];
        for (int r = 0; r < CW_TRO; ++r) {
            /* rows past the task's last are duplicates: computed, not stored */
            dy[r] = dyb + ((r0 + r < no) ? r0 + r : no - 1) * ohw;
        }
        float *a = acc + r0 * CW_TC;
        cw_vf v[CW_TRO][4];
#pragma GCC unroll 8
        for (int r = 0; r < CW_TRO; ++r) {
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) v[r][k] = cw_load(a + (r * 4 + k) * CW_V);
        }
        for (int64_t p = 0; p < len; ++p) {
            const float *c = colT + p * CW_TC;
            const cw_vf c0 = cw_load(c), c1 = cw_load(c + CW_V);
            const cw_vf c2 = cw_load(c + 2 * CW_V), c3 = cw_load(c + 3 * CW_V);
#pragma GCC unroll 8
            for (int r = 0; r < CW_TRO; ++r) {
                const cw_vf b = cw_bcast(dy[r] + p);
                v[r][0] = cw_fma(b, c0, v[r][0]);
                v[r][1] = cw_fma(b, c1, v[r][1]);
                v[r][2] = cw_fma(b, c2, v[r][2]);
                v[r][3] = cw_fma(b, c3, v[r][3]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < CW_TRO; ++r) {
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) cw_store(a + (r * 4 + k) * CW_V, v[r][k]);
        }
    }
}

__attribute__((noinline)) static void cw_run_trans(const cw_ctx *x, float *acc, float *colT,
                                                   float *packed, int64_t g, int64_t t0,
                                                   int64_t nt, int64_t o0, int64_t no) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t ohw = x->ohw, ow = d->ow;
    const float *rows[CW_TC];
    if (x->tphase) {
        /* taps as offsets into the phase planes of the task's channels */
        const int64_t khw = x->khw, kw = d->kw, sh = d->stride_h, sw = d->stride_w;
        const int64_t dh = d->dilation_h, dwl = d->dilation_w, wp = x->wp;
        const int64_t ci0 = t0 / khw, nci = (t0 + nt - 1) / khw - ci0 + 1;
        int64_t off[CW_TC];
        for (int64_t j = 0; j < nt; ++j) {
            const int64_t t = t0 + j;
            const int64_t ci = t / khw;
            const int64_t ky = (t - ci * khw) / kw;
            const int64_t kx = t - ci * khw - ky * kw;
            const int64_t phase = (ky * dh) % sh * sw + (kx * dwl) % sw;
            off[j] = ((ci - ci0) * sh * sw + phase) * x->tp_pitch + (ky * dh) / sh * wp +
                     (kx * dwl) / sw;
        }
        const int64_t ny = CW_KC / ow; /* output rows per piece (ow <= CW_KC) */
        for (int64_t n = 0; n < d->n; ++n) {
            /* the input row copy first, then the planes */
            cw_phase_planes(x, packed + x->tp_line, packed, n, g, ci0, nci);
            for (int64_t y0 = 0; y0 < d->oh; y0 += ny) {
                const int64_t nyc = (d->oh - y0 < ny) ? d->oh - y0 : ny;
                for (int64_t j = 0; j < nt; ++j) rows[j] = packed + x->tp_line + off[j] + y0 * wp;
                cw_transpose_phase(colT, rows, nt, nyc, ow, wp);
                const float *dyb = x->diff_dst + (n * d->oc + o0) * ohw + y0 * ow;
                cw_trans_tiles(acc, colT, dyb, ohw, nyc * ow, no);
            }
        }
    } else {
        for (int64_t n = 0; n < d->n; ++n) {
            for (int64_t p0 = 0; p0 < ohw; p0 += CW_KC) {
                const int64_t len = (ohw - p0 < CW_KC) ? ohw - p0 : CW_KC;
                if (x->direct) {
                    const float *base = x->src + (n * d->c + g * x->cg + t0) * x->ihw + p0;
                    for (int64_t j = 0; j < nt; ++j) rows[j] = base + j * x->ihw;
                } else {
                    cw_pack(x, packed, n, g, t0, nt, p0, len);
                    for (int64_t j = 0; j < nt; ++j) rows[j] = packed + j * CW_PITCH;
                }
                cw_transpose_rows(colT, rows, nt, len);
                const float *dyb = x->diff_dst + (n * d->oc + o0) * ohw + p0;
                cw_trans_tiles(acc, colT, dyb, ohw, len, no);
            }
        }
    }
    for (int64_t r = 0; r < no; ++r) {
        float *dw = x->diff_weights + (o0 + r) * x->taps + t0;
        memcpy(dw, acc + r * CW_TC, (size_t)nt * sizeof(float));
    }
}
#endif

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
        float *buf = cw_scratch_get(accf + colf + packf);
        if (buf == NULL) {
            __atomic_store_n(&x->oom, 1, __ATOMIC_RELAXED);
            return;
        }
        memset(buf, 0, accf * sizeof(float));
        cw_run_trans(x, buf, buf + accf, buf + accf + colf, g, t0, nt, o0, no);
        return;
    }
#endif
    const size_t acc_floats = (size_t)(no_pad * nt_pad * CW_V);
    size_t col_floats = x->direct ? 0 : (size_t)(CW_TB * CW_PITCH + CW_V); /* + slack */
    if (x->flat) {
        col_floats = (size_t)(x->flat_nb * no * x->flat_dp + CW_V); /* + slack */
    }
    if (x->wide) {
        /* padded planes, then no dY rows of CW_P floats */
        col_floats = (size_t)(x->wide_nci * d->stride_h * d->stride_w * x->wide_pitch + CW_V +
                              no * ((CW_P + CW_V - 1) / CW_V * CW_V) + CW_V);
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
        cw_run_wide(x, acc, col, dyk, g, t0, nt, nt_pad, o0, no, no_pad);
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

PCNN_INTERNAL int32_t CW_NAME(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                              float *diff_weights, float *diff_bias) {
    cw_ctx x;
    memset(&x, 0, sizeof x);
    x.d = d;
    x.src = src;
    x.diff_dst = diff_dst;
    x.diff_weights = diff_weights;
    x.cg = d->c / d->groups;
    x.ocg = d->oc / d->groups;
    x.khw = d->kh * d->kw;
    x.taps = x.cg * x.khw;
    x.ohw = d->oh * d->ow;
    x.ihw = d->ih * d->iw;
    const int64_t last_iy = (d->oh - 1) * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h;
    const int64_t last_ix = (d->ow - 1) * d->stride_w - d->pad_left + (d->kw - 1) * d->dilation_w;
    const int padded = d->pad_top > 0 || d->pad_left > 0 || last_iy >= d->ih || last_ix >= d->iw;
    x.direct = d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 && !padded;

    if (d->iw > ((int64_t)1 << 30)) {
        return PCNN_STATUS_UNSUPPORTED; /* cw_load_row's lane arithmetic is int32 */
    }
    /* The phase-plane path (cw_run_wide), when a chunk holds at least half CW_P pixels and
     * at least 3/4 of what the tile computes are real pixels (not junk). */
    x.wp = d->ow + (d->kw - 1) * d->dilation_w / d->stride_w;
    x.eh = (d->kh - 1) * d->dilation_h / d->stride_h;
    /* Stride 1 only, and not for the unpadded 1x1 case (read in place): the same layout
     * with stride-2 phase planes (and for 1x1 with images batched without tails) measured
     * slower (on a noisy machine) than the paths below on resnet_s2 and pw1x1: repacking dY
     * for every task costs about what the cheaper packing saves there. */
    if (CW_WIDE && x.wp <= CW_P && d->stride_h == 1 && d->stride_w == 1 && !x.direct) {
        int64_t computed, useful;
        if ((d->oh + x.eh) * x.wp <= CW_P) {
            x.nb = CW_P / ((d->oh + x.eh) * x.wp);
            if (x.nb > d->n) x.nb = d->n;
            x.ny = d->oh;
            computed = ((x.nb - 1) * (d->oh + x.eh) + d->oh - 1) * x.wp + d->ow;
            useful = x.nb * x.ohw;
        } else {
            x.nb = 1;
            x.ny = CW_P / x.wp;
            computed = (x.ny - 1) * x.wp + d->ow;
            useful = x.ny * d->ow;
        }
        const int junk = x.wp > d->ow || (x.nb > 1 && x.eh > 0);
        /* and when a task has at least as many taps as output channels: the repacked dY
         * (no rows) must cost less than the kh * kw shifted copies saved (nt rows) */
        const int64_t ob_first = x.ocg < CW_OB ? x.ocg : CW_OB;
        if (computed >= CW_P / 2 && 4 * useful >= 3 * computed && x.taps >= ob_first) {
            x.wide = 1;
            if (junk) {
                pcnn_parallel_for_work(d->n, d->n * d->c * x.ihw, cw_finite_task, &x);
                x.wide = __atomic_load_n(&x.nonfinite, __ATOMIC_RELAXED) == 0;
            }
        }
    }

    /* The in-place small-plane path (cw_run_flat) where the phase-plane path is not taken:
     * stride 1, no padding, not 1x1, a plane of at most one chunk, at least 2/3 of what the
     * tile computes real pixels (lenet2: 100 of 136); fewer than 96 output channels per
     * group (more take the transposed path on AVX-512, which shares its packing among them). */
    if (CW_FLAT && !x.wide && !x.direct && !padded && d->stride_h == 1 && d->stride_w == 1 &&
        x.ocg < 96) {
        const int64_t computed = (d->oh - 1) * d->iw + d->ow;
        x.flat_dp = (computed + CW_V - 1) / CW_V * CW_V;
        if (x.flat_dp <= CW_P && 3 * x.ohw >= 2 * computed) {
            x.flat_nb = CW_P / x.flat_dp;
            if (x.flat_nb > d->n) x.flat_nb = d->n;
            x.flat = 1;
            if (d->iw > d->ow) {
                pcnn_parallel_for_work(d->n, d->n * d->c * x.ihw, cw_finite_task, &x);
                x.flat = __atomic_load_n(&x.nonfinite, __ATOMIC_RELAXED) == 0;
            }
        }
    }

    /* The packing path packs its col rows once per task: when that is the larger cost
     * (col is taps / oc times the size of dY) one task takes up to 2 * CW_OB output channels
     * with half the taps (the accumulators stay the same size). Measured on resnet_s2. */
    x.ob = CW_OB;
    int64_t tb_cap = CW_TB;
    if (!x.wide && !x.direct && x.ocg > CW_OB && x.ocg <= 2 * CW_OB && x.taps >= x.ocg) {
        x.ob = 2 * CW_OB;
        tb_cap = CW_TB / 2;
    }
    x.ob_blocks = (x.ocg + x.ob - 1) / x.ob;
    /* Every task reads all of dY once: the wide path (whose packed planes stay small) takes
     * more taps per task when the accumulators allow, but keeps at least 4 tasks. */
    const int64_t ob_first2 = x.ocg < CW_OB ? x.ocg : CW_OB;
    const int64_t tb_max = ((x.wide || x.flat) && ob_first2 <= 64) ? CW_TB_WIDE : tb_cap;
    x.tb_blocks = (x.taps + tb_max - 1) / tb_max;
    if ((x.wide || x.flat) && d->groups * x.ob_blocks * x.tb_blocks < 4) {
        /* at least 4 tasks (2 threads), as long as each keeps >= 24 taps: with fewer, the
         * dY repack per task costs more than the split gains (measured on cifar) */
        /* cw_run_flat: 2 (lenet2, one thread: 2 tasks of 78 taps ~12 % faster than 4 of 42,
         * each task repacks all of dY) */
        const int64_t min_tasks = x.flat ? 2 : 4;
        const int64_t want = (min_tasks + d->groups * x.ob_blocks - 1) / (d->groups * x.ob_blocks);
        const int64_t most = x.taps / 24;
        const int64_t blocks = want < most ? want : most;
        if (blocks > x.tb_blocks) x.tb_blocks = blocks;
    }
    /* even out the blocks (a last, nearly empty block would unbalance the threads) */
    x.tb = ((x.taps + x.tb_blocks - 1) / x.tb_blocks + CW_RT - 1) / CW_RT * CW_RT;
    x.tb_blocks = (x.taps + x.tb - 1) / x.tb;
    if (x.wide) {
        const int64_t rows = (x.nb > 1 ? x.nb : 1) * (x.ny + x.eh);
        x.wide_pitch = (rows * x.wp + CW_V - 1) / CW_V * CW_V + CW_V;
        x.wide_nci = (x.tb + x.khw - 1) / x.khw + 1;
    }
#ifdef CW_TRANS
    /* The transposed path where it measured faster: not the stride-1 shapes of the
     * phase-plane path, at least 96 output channels per group (the packing and transposes
     * are shared by all of a task's output channels, and the last 6-row tile wastes less)
     * and at least 85 % of the tap lanes real (resnet_s2, pw1x1: all). Measured slower on
     * lenet2 (16 output channels) and big7x7 (64 output channels, 147 taps). */
    const int64_t tc_blocks = (x.taps + CW_TC - 1) / CW_TC;
    if (!x.wide && !x.flat && x.ocg >= 96 && 100 * x.taps >= 85 * tc_blocks * CW_TC) {
        x.trans = 1;
        x.tb = CW_TC;
        x.tb_blocks = (x.taps + CW_TC - 1) / CW_TC;
        /* every task owns all output channels of its group unless that leaves fewer than
         * 4 tasks: then split them (each split repeats the transposes) */
        x.ob_blocks = 1;
        if (d->groups * x.tb_blocks < 4) {
            x.ob_blocks = (4 + d->groups * x.tb_blocks - 1) / (d->groups * x.tb_blocks);
        }
        x.ob = ((x.ocg + x.ob_blocks - 1) / x.ob_blocks + CW_TRO - 1) / CW_TRO * CW_TRO;
        x.ob_blocks = (x.ocg + x.ob - 1) / x.ob;
        /* col from phase planes (one de-interleaving copy of the task's channels per image,
         * then the transposes read the taps at offsets) rather than cw_pack's kh * kw
         * shifted copies: measured the packing at ~20 % of resnet_s2 */
        if (!x.direct && d->ow <= CW_KC && d->stride_w <= 2 && d->pad_left <= CW_LPAD) {
            x.tphase = 1;
            /* rows of the planes plus slack for the whole-block reads past the last row */
            x.tp_pitch = ((d->oh + x.eh) * x.wp + 2 * CW_V + CW_V - 1) / CW_V * CW_V;
            x.tp_nci = (CW_TC - 1) / x.khw + 2;
            /* the row at CW_LPAD, zeros around it up to the last column a phase row reads
             * (whole vectors: sw * (wp rounded up to CW_V) + CW_V past px - pad_left) */
            const int64_t reach = CW_LPAD + 1 + d->stride_w * ((x.wp + CW_V - 1) / CW_V * CW_V) +
                                  CW_V;
            x.tp_line = ((reach > CW_LPAD + d->iw ? reach : CW_LPAD + d->iw) + CW_V - 1) /
                        CW_V * CW_V;
            /* large planes: cw_pack instead (the planes would not stay in cache, and for
             * 1x1 stride 2 most of them are never read) */
            if (x.tp_nci * d->stride_h * d->stride_w * x.tp_pitch > ((int64_t)1 << 18)) {
                x.tphase = 0;
            }
        }
    }
#endif
    int64_t ntasks;
    if (pcnn_mul_i64(d->groups, x.ob_blocks * x.tb_blocks, &ntasks)) {
        return PCNN_STATUS_UNSUPPORTED;
    }

    if (diff_bias != NULL || padded) {
        float *sums = diff_bias;
        if (sums == NULL) {
            sums = pcnn_scratch_get(PCNN_SCRATCH_CONV_BIAS_SUMS, (size_t)d->oc * sizeof(float));
            if (sums == NULL) {
                return PCNN_STATUS_OUT_OF_MEMORY;
            }
        }
        x.bias_sums = sums;
        pcnn_parallel_for_work(d->oc, d->n * d->oc * x.ohw, cw_bias_task, &x);
        int finite = 1;
        for (int64_t o = 0; o < d->oc; ++o) {
            finite &= isfinite(sums[o]) != 0;
        }
        if (padded && !finite) {
            return PCNN_STATUS_UNSUPPORTED; /* see the header comment: the scalar kernel */
        }
    }

    /* work in multiply-adds, saturated (only a thread-count hint) */
    int64_t macs;
    if (pcnn_mul_i64(d->n * d->oc, x.ohw, &macs) || pcnn_mul_i64(macs, x.taps, &macs)) {
        macs = INT64_MAX;
    }
    pcnn_parallel_for_work(ntasks, macs, cw_task, &x);
#ifdef CW_FLAT_RUNS
    if (x.flat) __atomic_fetch_add(&CW_FLAT_RUNS, 1, __ATOMIC_RELAXED);
#endif
    return __atomic_load_n(&x.oom, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_MEMORY
                                                     : PCNN_STATUS_OK;
}
