/*
 * conv2d forward and backward-data, AArch64 NEON (Advanced SIMD with FMA): one direct engine.
 *
 * Both operations are "for every output pixel, sum over input channels and taps of input *
 * weight", as in the x86 template (conv2d-direct.h), in a much plainer form:
 *   - forward:       engine input = src (ci_g = c/groups channels), engine output = dst;
 *   - backward-data: engine input = diff_dst (oc/groups channels), engine output = diff_src,
 *     the weight of (engine out c, engine in o) being weights[o][c][ky][kx].
 * Output pixels along a row sit in the 4 lanes of a vector; a register tile is 8 output
 * channels x NV vectors (NV = 3: 24 accumulators + 3 input vectors + 2 weight vectors of
 * the 32 registers). Per tap, NV input loads and 2 weight loads feed 8 * NV fused
 * multiply-adds by lane (vfmaq_laneq_f32: the weight vector holds the 8 channels' weights
 * for the tap, no broadcast needed). See ../README-neon.md for the FMAs-per-load figures.
 *
 * Columns. A row of outputs is split into phases: forward has one phase (output x, lane u
 * = x, input column u*sw - pl + kx*dw); backward-data with horizontal stride sw has sw
 * phases r (output ix = r + sw*u; the taps kx with (r + pl - kx*dw) % sw == 0 read
 * diff_dst column u + (r + pl - kx*dw) / sw), so every phase is "input column =
 * u*istep + ioff[tap]" with plain vector loads for istep 1, de-interleaving loads (vld2q)
 * for istep 2, lane loads otherwise. Rows: per output row the valid filter rows are
 * checked on the fly (padding, stride and dilation make some invalid: skipped for the
 * whole tile).
 *
 * Tails and padding. Vector tiles only cover lanes whose every column tap is inside the
 * input row (and, for vld2q, one element more), so nothing is read outside a buffer and
 * no padded tap is ever multiplied. The last 1..3 such lanes are covered by one more
 * 4-lane tile ending at the last of them (it recomputes a few lanes with the same
 * instructions, so the same values); the other pixels (the borders, interiors narrower than
 * 4 lanes) are computed one at a time with the 8 channels in lanes, padded taps skipped.
 * Channel tails: the packed weights of a block's missing channels are zero and their
 * results are not stored.
 *
 * Non-finite weights: this engine skips padded taps, but the decline rule is kept the
 * same as the x86 kernels' so every SIMD variant has one contract: forward with padding
 * and any backward-data return PCNN_STATUS_UNSUPPORTED when a weight is Inf or NaN, and
 * the scalar kernel defines the result.
 *
 * Summation order per pixel: forward ci, ky, kx (fused multiply-adds), then + bias;
 * backward-data o, ky descending, kx descending - the scalar kernels' orders, with FMA
 * rounding (hence the error bound of the tests, exact for integers).
 *
 * Threads: one task per (image, group, block of 8 output channels, output row); each task
 * writes its own part of the output and every pixel is computed by the same instruction
 * sequence whichever task runs it, so results are bit-identical for any thread count.
 */
#include <arm_neon.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "core/scratch.h"

#define OCB 8 /* output channels per tile (two weight vectors) */
#define NV 3  /* vectors per wide tile (12 pixels) */

typedef struct {
    int64_t ioff; /* input column = u * istep + ioff */
    int64_t kx;
} col_tap;

typedef struct {
    int bwd;
    const float *in;
    float *out;
    const float *wp; /* packed [groups][nob][ci_g][kh][kw][OCB] */
    const float *bias;
    int64_t n, groups, ci_g, co_g, nob;
    int64_t in_h, in_w, out_h, out_w;
    int64_t kh, kw, sh, dh, pt;
    int64_t istep, ostep, nphase;
    const col_tap *ct; /* [nphase][kw] */
    const int64_t *nct;   /* valid column taps per phase */
    const int64_t *ulanes; /* lanes (pixels) per phase */
    const int64_t *ulo, *uhi; /* per phase: lanes in [ulo, uhi) have every tap in range */
} engine;

static int64_t floor_div(int64_t a, int64_t b) { /* b > 0 */
    const int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Input row read by filter row ky for output row y, or -1 when that tap is invalid. */
static inline int64_t in_row(const engine *e, int64_t y, int64_t ky) {
    if (!e->bwd) {
        const int64_t iy = y * e->sh - e->pt + ky * e->dh;
        return iy >= 0 && iy < e->in_h ? iy : -1;
    }
    const int64_t ty = y + e->pt - ky * e->dh;
    if (ty < 0 || ty % e->sh != 0 || ty / e->sh >= e->in_h) {
        return -1;
    }
    return ty / e->sh;
}

/* 4 lanes at input columns p[0], p[istep], p[2*istep], p[3*istep]. `mode` is a constant at
 * every (inlined) call: 1 = contiguous, 2 = de-interleaving load, 0 = lane loads. */
static inline __attribute__((always_inline)) float32x4_t load4(const float *p, int64_t istep,
                                                               const int mode) {
    if (mode == 1) {
        return vld1q_f32(p);
    }
    if (mode == 2) {
        return vld2q_f32(p).val[0]; /* reads p[0..7]; interior() checked p[7] is in range */
    }
    float32x4_t v = vdupq_n_f32(0.0f);
    v = vld1q_lane_f32(p, v, 0);
    v = vld1q_lane_f32(p + istep, v, 1);
    v = vld1q_lane_f32(p + 2 * istep, v, 2);
    v = vld1q_lane_f32(p + 3 * istep, v, 3);
    return v;
}

/* Stores one vector (4 lanes from u) of each valid channel of a block, + bias (forward). */
static void store8(const engine *e, float *out_row0, int64_t o0, int64_t nvalid, int64_t ph,
                   int64_t u, float32x4_t r0, float32x4_t r1, float32x4_t r2, float32x4_t r3,
                   float32x4_t r4, float32x4_t r5, float32x4_t r6, float32x4_t r7) {
    const float32x4_t r[OCB] = {r0, r1, r2, r3, r4, r5, r6, r7};
    const int64_t plane = e->out_h * e->out_w;
    const int64_t x = ph + e->ostep * u;
    for (int64_t i = 0; i < nvalid; ++i) {
        float *o = out_row0 + i * plane + x;
        float32x4_t v = r[i];
        if (e->bias != NULL) {
            v = vaddq_f32(v, vdupq_n_f32(e->bias[o0 + i]));
        }
        if (e->ostep == 1) {
            vst1q_f32(o, v);
        } else {
            vst1q_lane_f32(o, v, 0);
            vst1q_lane_f32(o + e->ostep, v, 1);
            vst1q_lane_f32(o + 2 * e->ostep, v, 2);
            vst1q_lane_f32(o + 3 * e->ostep, v, 3);
        }
    }
}

/* The micro-kernels: OCB = 8 channels x 3 vectors (24 accumulators) or x 1 vector, for
 * lanes u0 .. u0 + 11 (u0 .. u0 + 3) of output row y, phase ph. Named accumulators (not an
 * array) so that they stay in registers; `mode` is a constant at every call (see load4). */
#define FMA8(v, s)                                  \
    c0##v = vfmaq_laneq_f32(c0##v, s, w0, 0);       \
    c1##v = vfmaq_laneq_f32(c1##v, s, w0, 1);       \
    c2##v = vfmaq_laneq_f32(c2##v, s, w0, 2);       \
    c3##v = vfmaq_laneq_f32(c3##v, s, w0, 3);       \
    c4##v = vfmaq_laneq_f32(c4##v, s, w1, 0);       \
    c5##v = vfmaq_laneq_f32(c5##v, s, w1, 1);       \
    c6##v = vfmaq_laneq_f32(c6##v, s, w1, 2);       \
    c7##v = vfmaq_laneq_f32(c7##v, s, w1, 3)
#define DECL8(v)                                                                          \
    float32x4_t c0##v = vdupq_n_f32(0.0f), c1##v = c0##v, c2##v = c0##v, c3##v = c0##v, \
                c4##v = c0##v, c5##v = c0##v, c6##v = c0##v, c7##v = c0##v
#define STORE8(v)                                                                          \
    store8(e, out_row0, o0, nvalid, ph, u0 + 4 * (v), c0##v, c1##v, c2##v, c3##v, c4##v, \
           c5##v, c6##v, c7##v)
/* Loops over input channels, valid filter rows and the phase's column taps; BODY runs per
 * tap with p (input at lane u0), w0 and w1 (the 8 channels' weights) set. */
#define TAP_LOOP(BODY)                                                                     \
    const col_tap *ct = e->ct + ph * e->kw;                                                \
    const int64_t nct = e->nct[ph];                                                        \
    const int64_t istep = e->istep;                                                        \
    for (int64_t ci = 0; ci < e->ci_g; ++ci) {                                             \
        const float *inc = in_g + ci * e->in_h * e->in_w;                                  \
        for (int64_t k = 0; k < e->kh; ++k) {                                              \
            const int64_t ky = e->bwd ? e->kh - 1 - k : k;                                 \
            const int64_t iy = in_row(e, y, ky);                                           \
            if (iy < 0) {                                                                  \
                continue;                                                                  \
            }                                                                              \
            const float *row = inc + iy * e->in_w;                                         \
            const float *wrow = wb + (ci * e->kh + ky) * e->kw * OCB;                      \
            for (int64_t j = 0; j < nct; ++j) {                                            \
                const float *p = row + (u0 * istep + ct[j].ioff); /* see interior() */     \
                const float32x4_t w0 = vld1q_f32(wrow + ct[j].kx * OCB);                   \
                const float32x4_t w1 = vld1q_f32(wrow + ct[j].kx * OCB + 4);               \
                BODY;                                                                      \
            }                                                                              \
        }                                                                                  \
    }

static inline __attribute__((always_inline)) void tile3(const engine *e, const float *in_g,
                                                        const float *wb, float *out_row0,
                                                        int64_t o0, int64_t nvalid, int64_t y,
                                                        int64_t ph, int64_t u0, const int mode) {
    DECL8(0);
    DECL8(1);
    DECL8(2);
    TAP_LOOP({
        const float32x4_t s0 = load4(p, istep, mode);
        const float32x4_t s1 = load4(p + 4 * istep, istep, mode);
        const float32x4_t s2 = load4(p + 8 * istep, istep, mode);
        FMA8(0, s0);
        FMA8(1, s1);
        FMA8(2, s2);
    })
    STORE8(0);
    STORE8(1);
    STORE8(2);
}

static inline __attribute__((always_inline)) void tile1(const engine *e, const float *in_g,
                                                        const float *wb, float *out_row0,
                                                        int64_t o0, int64_t nvalid, int64_t y,
                                                        int64_t ph, int64_t u0, const int mode) {
    DECL8(0);
    TAP_LOOP({
        const float32x4_t s0 = load4(p, istep, mode);
        FMA8(0, s0);
    })
    STORE8(0);
}

#define TILE_VARIANT(name, fn, mode)                                                        \
    static void name(const engine *e, const float *in_g, const float *wb, float *out_row0,  \
                     int64_t o0, int64_t nvalid, int64_t y, int64_t ph, int64_t u0) {       \
        fn(e, in_g, wb, out_row0, o0, nvalid, y, ph, u0, mode);                             \
    }
TILE_VARIANT(tile3_contig, tile3, 1)
TILE_VARIANT(tile1_contig, tile1, 1)
TILE_VARIANT(tile3_stride2, tile3, 2)
TILE_VARIANT(tile1_stride2, tile1, 2)
TILE_VARIANT(tile3_gather, tile3, 0)
TILE_VARIANT(tile1_gather, tile1, 0)

/* One pixel (lane u of phase ph), the block's 8 channels in the lanes of two vectors:
 * per valid tap one broadcast input load and two fused multiply-adds with the packed weights
 * (padded taps skipped), in the tiles' per-pixel order. For the borders and for interiors of
 * fewer than 4 lanes. */
static void pixel(const engine *e, const float *in_g, const float *wb, float *out_row0,
                  int64_t o0, int64_t nvalid, int64_t y, int64_t ph, int64_t u) {
    const col_tap *ct = e->ct + ph * e->kw;
    const int64_t nct = e->nct[ph];
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
    for (int64_t ci = 0; ci < e->ci_g; ++ci) {
        const float *inc = in_g + ci * e->in_h * e->in_w;
        for (int64_t k = 0; k < e->kh; ++k) {
            const int64_t ky = e->bwd ? e->kh - 1 - k : k;
            const int64_t iy = in_row(e, y, ky);
            if (iy < 0) {
                continue;
            }
            const float *row = inc + iy * e->in_w;
            const float *wrow = wb + (ci * e->kh + ky) * e->kw * OCB;
            for (int64_t j = 0; j < nct; ++j) {
                const int64_t ix = u * e->istep + ct[j].ioff;
                if (ix < 0 || ix >= e->in_w) {
                    continue;
                }
                const float32x4_t s = vld1q_dup_f32(row + ix);
                a0 = vfmaq_f32(a0, s, vld1q_f32(wrow + ct[j].kx * OCB));
                a1 = vfmaq_f32(a1, s, vld1q_f32(wrow + ct[j].kx * OCB + 4));
            }
        }
    }
    float r[OCB];
    vst1q_f32(r, a0);
    vst1q_f32(r + 4, a1);
    const int64_t plane = e->out_h * e->out_w;
    for (int64_t i = 0; i < nvalid; ++i) {
        out_row0[i * plane + ph + e->ostep * u] =
            e->bias != NULL ? r[i] + e->bias[o0 + i] : r[i];
    }
}

static void engine_task(void *p, int64_t t) {
    const engine *e = p;
    const int64_t y = t % e->out_h;
    int64_t r = t / e->out_h;
    const int64_t ob = r % e->nob;
    r /= e->nob;
    const int64_t g = r % e->groups;
    const int64_t n = r / e->groups;
    const float *in_g = e->in + (n * e->groups + g) * e->ci_g * e->in_h * e->in_w;
    const float *wb = e->wp + (g * e->nob + ob) * e->ci_g * e->kh * e->kw * OCB;
    const int64_t o0 = g * e->co_g + ob * OCB; /* first output channel of the block */
    const int64_t nvalid = e->co_g - ob * OCB < OCB ? e->co_g - ob * OCB : OCB;
    float *out_row0 = e->out + ((n * e->groups * e->co_g) + o0) * e->out_h * e->out_w +
                      y * e->out_w;
    typedef void (*tile_fn)(const engine *, const float *, const float *, float *, int64_t,
                            int64_t, int64_t, int64_t, int64_t);
    const tile_fn wide = e->istep == 1 ? tile3_contig : e->istep == 2 ? tile3_stride2 : tile3_gather;
    const tile_fn narrow = e->istep == 1 ? tile1_contig : e->istep == 2 ? tile1_stride2 : tile1_gather;
    for (int64_t ph = 0; ph < e->nphase; ++ph) {
        const int64_t lanes = e->ulanes[ph], lo = e->ulo[ph], hi = e->uhi[ph];
        int64_t u = 0;
        for (; u < lo; ++u) {
            pixel(e, in_g, wb, out_row0, o0, nvalid, y, ph, u);
        }
        for (; u + 4 * NV <= hi; u += 4 * NV) {
            wide(e, in_g, wb, out_row0, o0, nvalid, y, ph, u);
        }
        for (; u + 4 <= hi; u += 4) {
            narrow(e, in_g, wb, out_row0, o0, nvalid, y, ph, u);
        }
        if (u < hi && hi - lo >= 4) {
            /* the last 1..3 interior lanes: a vector tile ending at hi, overlapping lanes
             * already done (recomputed by the same instructions: the same values) */
            narrow(e, in_g, wb, out_row0, o0, nvalid, y, ph, hi - 4);
            u = hi;
        }
        for (; u < lanes; ++u) {
            pixel(e, in_g, wb, out_row0, o0, nvalid, y, ph, u);
        }
    }
}

/* Some weight is Inf or NaN (|w| > FLT_MAX is false for finite w, true for Inf; NaN fails
 * the <= test). Same rule and reason as has_nonfinite in conv2d_direct-<isa>.c. */
static int has_nonfinite(const float *w, int64_t count) {
    const float32x4_t mx = vdupq_n_f32(3.40282347e38f);
    uint32x4_t ok = vdupq_n_u32(0xffffffffu);
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        ok = vandq_u32(ok, vcleq_f32(vabsq_f32(vld1q_f32(w + i)), mx));
    }
    int bad = vminvq_u32(ok) == 0;
    for (; i < count; ++i) {
        bad |= !(fabsf(w[i]) <= 3.40282347e38f);
    }
    return bad;
}

/* 1x1, stride 1, no padding: the planes are one long row (longer vector runs). */
static pcnn_conv2d_desc flatten_if_pointwise(const pcnn_conv2d_desc *d) {
    pcnn_conv2d_desc f = *d;
    if (d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 &&
        (d->pad_top | d->pad_bottom | d->pad_left | d->pad_right) == 0) {
        f.iw = d->ih * d->iw;
        f.ih = 1;
        f.ow = d->oh * d->ow;
        f.oh = 1;
    }
    return f;
}

/* Lanes [lo, hi) of a phase whose column taps are all inside [0, in_w) (plus one element
 * for the de-interleaving load), clamped to [0, lanes]. */
static void interior(const col_tap *ct, int64_t nct, int64_t istep, int64_t in_w,
                     int64_t lanes, int64_t *lo, int64_t *hi) {
    const int64_t reach = istep == 2 ? 1 : 0;
    int64_t a = 0, b = lanes;
    for (int64_t j = 0; j < nct; ++j) {
        /* u*istep + ioff >= 0  and  u*istep + ioff + reach <= in_w - 1 */
        const int64_t first = -floor_div(ct[j].ioff, istep); /* ceil(-ioff / istep) */
        const int64_t last = floor_div(in_w - 1 - reach - ct[j].ioff, istep);
        if (first > a) a = first;
        if (last + 1 < b) b = last + 1;
    }
    if (b < a) b = a;
    if (a > lanes) a = b = lanes;
    *lo = a;
    *hi = b;
}

static int32_t run_engine(engine *e, const pcnn_conv2d_desc *d, const float *weights) {
    const int64_t kt = e->kh * e->kw;
    const int64_t wp_count = e->groups * e->nob * e->ci_g * kt * OCB;
    const int64_t nph = e->nphase;
    /* packed weights, column taps and per-phase lane ranges, in the calling thread's scratch
     * (core/scratch.h): it lives until this entry point returns; the workers only read it */
    const size_t wp_bytes = (size_t)wp_count * sizeof(float);
    const size_t ct_bytes = (size_t)(nph * e->kw) * sizeof(col_tap);
    char *scratch = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK,
                                     wp_bytes + ct_bytes + (size_t)(4 * nph) * sizeof(int64_t));
    if (scratch == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    float *wp = (float *)scratch;
    col_tap *ct = (col_tap *)(scratch + wp_bytes);            /* 8-byte multiples: aligned */
    int64_t *meta = (int64_t *)(scratch + wp_bytes + ct_bytes);
    /* pack: wp[g][ob][ci][ky][kx][l] = weight of (engine out ob*OCB + l, engine in ci) */
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    for (int64_t g = 0; g < e->groups; ++g)
        for (int64_t ob = 0; ob < e->nob; ++ob)
            for (int64_t ci = 0; ci < e->ci_g; ++ci)
                for (int64_t k = 0; k < kt; ++k) {
                    float *dst = wp + (((g * e->nob + ob) * e->ci_g + ci) * kt + k) * OCB;
                    for (int64_t l = 0; l < OCB; ++l) {
                        const int64_t co = ob * OCB + l;
                        float v = 0.0f;
                        if (co < e->co_g) {
                            v = e->bwd ? weights[((g * ocg + ci) * cg + co) * kt + k]
                                       : weights[((g * ocg + co) * cg + ci) * kt + k];
                        }
                        dst[l] = v;
                    }
                }
    int64_t *nct = meta, *ulanes = meta + nph, *ulo = meta + 2 * nph, *uhi = meta + 3 * nph;
    for (int64_t ph = 0; ph < nph; ++ph) {
        col_tap *c = ct + ph * e->kw;
        nct[ph] = 0;
        if (!e->bwd) {
            for (int64_t kx = 0; kx < d->kw; ++kx) {
                c[nct[ph]++] = (col_tap){kx * d->dilation_w - d->pad_left, kx};
            }
            ulanes[ph] = d->ow;
        } else {
            for (int64_t kx = d->kw - 1; kx >= 0; --kx) {
                const int64_t tx = ph + d->pad_left - kx * d->dilation_w;
                if (tx - floor_div(tx, d->stride_w) * d->stride_w == 0) {
                    c[nct[ph]++] = (col_tap){floor_div(tx, d->stride_w), kx};
                }
            }
            ulanes[ph] = ph < d->iw ? (d->iw - ph + d->stride_w - 1) / d->stride_w : 0;
        }
        interior(c, nct[ph], e->istep, e->in_w, ulanes[ph], &ulo[ph], &uhi[ph]);
    }
    e->wp = wp;
    e->ct = ct;
    e->nct = nct;
    e->ulanes = ulanes;
    e->ulo = ulo;
    e->uhi = uhi;
    int64_t macs;
    if (pcnn_mul_i64(d->n * d->oc * d->oh * d->ow, cg * kt, &macs)) {
        macs = INT64_MAX;
    }
    pcnn_parallel_for_work(e->n * e->groups * e->nob * e->out_h, macs, engine_task, e);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_conv2d_fwd__neon(const pcnn_conv2d_desc *desc, const float *src,
                                            const float *weights, const float *bias,
                                            float *dst) {
    if ((desc->pad_top | desc->pad_bottom | desc->pad_left | desc->pad_right) != 0 &&
        has_nonfinite(weights, desc->oc * (desc->c / desc->groups) * desc->kh * desc->kw)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const pcnn_conv2d_desc d = flatten_if_pointwise(desc);
    engine e;
    memset(&e, 0, sizeof e);
    e.bwd = 0;
    e.in = src;
    e.out = dst;
    e.bias = bias;
    e.n = d.n;
    e.groups = d.groups;
    e.ci_g = d.c / d.groups;
    e.co_g = d.oc / d.groups;
    e.nob = (e.co_g + OCB - 1) / OCB;
    e.in_h = d.ih;
    e.in_w = d.iw;
    e.out_h = d.oh;
    e.out_w = d.ow;
    e.kh = d.kh;
    e.kw = d.kw;
    e.sh = d.stride_h;
    e.dh = d.dilation_h;
    e.pt = d.pad_top;
    e.istep = d.stride_w;
    e.ostep = 1;
    e.nphase = 1;
    return run_engine(&e, &d, weights);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data__neon(const pcnn_conv2d_desc *desc,
                                                 const float *diff_dst, const float *weights,
                                                 float *diff_src) {
    if (has_nonfinite(weights, desc->oc * (desc->c / desc->groups) * desc->kh * desc->kw)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const pcnn_conv2d_desc d = flatten_if_pointwise(desc);
    engine e;
    memset(&e, 0, sizeof e);
    e.bwd = 1;
    e.in = diff_dst;
    e.out = diff_src;
    e.bias = NULL;
    e.n = d.n;
    e.groups = d.groups;
    e.ci_g = d.oc / d.groups;
    e.co_g = d.c / d.groups;
    e.nob = (e.co_g + OCB - 1) / OCB;
    e.in_h = d.oh;
    e.in_w = d.ow;
    e.out_h = d.ih;
    e.out_w = d.iw;
    e.kh = d.kh;
    e.kw = d.kw;
    e.sh = d.stride_h;
    e.dh = d.dilation_h;
    e.pt = d.pad_top;
    e.istep = 1;
    e.ostep = d.stride_w;
    e.nphase = d.stride_w < d.iw ? d.stride_w : d.iw;
    return run_engine(&e, &d, weights);
}
