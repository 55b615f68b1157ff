/*
 * Dilated stride-1 convolution through a dense "phase frame" (why and how: dilated.h): the
 * geometry, the gather / scatter driver around one ISA level's dense direct kernels, which
 * the per-ISA entry points (dilated-avx2.c, dilated-avx512.c) pass in. The scalar level has
 * no entry: its direct kernel is the reference and serves dilation itself.
 *
 * Memory: forward and backward-data work on chunks of whole images whose frames (input and
 * output) take at most DIL_CHUNK_BYTES (at least one image). Above DIL_MAX_BYTES of frame per
 * image a call declines (UNSUPPORTED: the plain direct entry serves it).
 *
 * Threads: the gathers / scatters run one task per (image, channel) plane, each writing only
 * its own plane; the dense kernels are deterministic across thread counts, so the whole is.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/scratch.h"
#include "kernels/conv2d/dilated.h"

#define DIL_CHUNK_BYTES ((int64_t)16 << 20) /* large: each chunk repacks the weights */
#define DIL_MAX_BYTES ((int64_t)512 << 20)

static int64_t g_chunk_bytes = DIL_CHUNK_BYTES; /* only the test hook changes it */

PCNN_INTERNAL int64_t pcnn_dilated_set_chunk_bytes(int64_t bytes) {
    const int64_t old = g_chunk_bytes;
    g_chunk_bytes = bytes > 0 ? bytes : DIL_CHUNK_BYTES;
    return old;
}

/* ---- one axis of the frame ---- */

/* Input size, output size, kernel extent, dilation (1 when the kernel is 1 wide: one
 * phase), leading padding; frame input size f and frame output size g = f - k + 1. */
typedef struct {
    int64_t in, out, k, dil, pad, f, g;
} axis_t;

static axis_t make_axis(int64_t in, int64_t out, int64_t k, int64_t dil, int64_t pad) {
    axis_t a = {in, out, k, k > 1 ? dil : 1, pad, 0, 0};
    const int64_t phases = a.dil < out ? a.dil : out;
    for (int64_t r = 0; r < phases; ++r) {
        a.f += (out - r + a.dil - 1) / a.dil + k - 1; /* m_r outputs + the kernel's reach */
    }
    a.g = a.f - k + 1;
    return a;
}

/* The index maps of an axis: fin[f] = input index of frame input f (-1: padding);
 * fout[o] = frame output of output o; fsrc[i] = frame input holding input i (-1: none). */
static void fill_maps(const axis_t *a, int64_t *fin, int64_t *fout, int64_t *fsrc) {
    for (int64_t i = 0; i < a->in; ++i) {
        fsrc[i] = -1;
    }
    const int64_t phases = a->dil < a->out ? a->dil : a->out;
    int64_t s = 0; /* the phase's segment start */
    for (int64_t r = 0; r < phases; ++r) {
        const int64_t m = (a->out - r + a->dil - 1) / a->dil;
        for (int64_t j = 0; j < m + a->k - 1; ++j) {
            const int64_t i = r - a->pad + a->dil * j;
            fin[s + j] = i >= 0 && i < a->in ? i : -1;
            if (fin[s + j] >= 0) {
                fsrc[i] = s + j; /* distinct residues per phase: set at most once */
            }
        }
        for (int64_t t = 0; t < m; ++t) {
            fout[r + a->dil * t] = s + t;
        }
        s += m + a->k - 1;
    }
}

/*
 * The frame: one band of rows holding every phase side by side. Row phase rh (input rows
 * rh - pad_top + dh*j) takes columns [rh*w.f, (rh+1)*w.f), each such block holding the column
 * phases as above. All row phases get the height of the tallest, hf = mh + kh - 1 (mh its
 * outputs); a shorter phase's extra rows only feed junk outputs. One wide band instead of a
 * square of phases: the measured direct kernel runs 72-wide rows ~1.1-1.2x faster than 35-wide
 * ones (4x256x33x33, dilation 2; vector tails).
 */
typedef struct {
    axis_t w;
    int64_t ih, oh, kh, dh, pad_top; /* rows: dh = 1 when kh == 1 */
    int64_t ph, mh, hf;              /* row phases, outputs per row phase (max), frame height */
    int64_t fw, gw;                  /* frame input width ph * w.f, frame output width */
    int64_t *cin, *cout, *csrc;      /* column maps (fill_maps) */
} frame_t;

static frame_t make_frame(const pcnn_conv2d_desc *d) {
    frame_t fr;
    memset(&fr, 0, sizeof fr);
    fr.w = make_axis(d->iw, d->ow, d->kw, d->dilation_w, d->pad_left);
    fr.ih = d->ih, fr.oh = d->oh, fr.kh = d->kh, fr.pad_top = d->pad_top;
    fr.dh = d->kh > 1 ? d->dilation_h : 1;
    fr.ph = fr.dh < d->oh ? fr.dh : d->oh;
    fr.mh = (d->oh + fr.dh - 1) / fr.dh;
    fr.hf = fr.mh + d->kh - 1;
    fr.fw = fr.ph * fr.w.f;
    fr.gw = fr.fw - d->kw + 1;
    return fr;
}

/* Input row of frame row j in row phase rh (-1: padding). */
static int64_t in_row(const frame_t *fr, int64_t rh, int64_t j) {
    const int64_t iy = rh - fr->pad_top + fr->dh * j;
    return iy >= 0 && iy < fr->ih ? iy : -1;
}

static int64_t map_count(const frame_t *fr) {
    return fr->w.f + fr->w.out + fr->w.in;
}

/* Places the column maps at the start of buf and fills them; returns the float area after
 * them (64-byte aligned). */
static float *place_maps(frame_t *fr, void *buf) {
    int64_t *m = buf;
    fr->cin = m, m += fr->w.f;
    fr->cout = m, m += fr->w.out;
    fr->csrc = m;
    fill_maps(&fr->w, fr->cin, fr->cout, fr->csrc);
    return (float *)buf + ((map_count(fr) * 2 + 15) / 16) * 16;
}

static size_t frame_bytes(const frame_t *fr, int64_t floats) {
    return (size_t)(((map_count(fr) * 2 + 15) / 16) * 16 + floats) * sizeof(float);
}

/* ---- geometry and the dense problem ---- */

/* The undilated, unpadded stride-1 convolution of nb framed images. */
static pcnn_conv2d_desc dense_desc(const pcnn_conv2d_desc *d, const frame_t *fr, int64_t nb) {
    pcnn_conv2d_desc g = *d;
    g.n = nb;
    g.ih = fr->hf;
    g.iw = fr->fw;
    g.pad_top = g.pad_bottom = g.pad_left = g.pad_right = 0;
    g.dilation_h = g.dilation_w = 1;
    g.oh = fr->mh;
    g.ow = fr->gw;
    return g;
}

PCNN_INTERNAL int pcnn_dilated_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)pass;
    if (d->stride_h != 1 || d->stride_w != 1 ||
        !((d->dilation_h > 1 && d->kh > 1) || (d->dilation_w > 1 && d->kw > 1))) {
        return 0;
    }
    const frame_t fr = make_frame(d);
    /* junk outputs at most a quarter of the real ones: the frame saves the plain direct
     * kernel ~5-15% (measured, 4x256x33x33 dilation 2 and 3), so more junk would not pay */
    return 4 * fr.mh * fr.gw <= 5 * d->oh * d->ow;
}

/*
 * The Winograd variant (a WINOGRAD entry before the DIRECT ones): the same frame through the
 * level's Winograd F(4x4,3x3) kernels, which need 3x3, stride 1, dilation 1 - what the frame
 * is. Only under AUTO: an explicit WINOGRAD request keeps meaning "an undilated 3x3" (the
 * public header), so the geometry is "not supported" then.
 */
PCNN_INTERNAL int pcnn_dilated_winograd_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    if (pcnn_get_conv2d_algorithm() != PCNN_ALGO_AUTO || !pcnn_dilated_supports(d, pass)) {
        return 0;
    }
    const frame_t fr = make_frame(d);
    const pcnn_conv2d_desc g = dense_desc(d, &fr, d->n);
    return pcnn_winograd_supports(&g, pass);
}

/*
 * AUTO rule, measured (CPU time, 1 thread, AVX-512, busy machine, 2026-12-04) on one shape
 * only, the DeepLab-like 4x256x33x33 -> 256, dilation 2 (frame 4x256x19x74): Winograd on the
 * frame 1.3x (forward) and 1.5x (backward-data) faster than direct on the frame. Wide
 * channel counts only (both sides >= 128 per group), where the transforms are amortised;
 * narrower layers keep the direct frame until measured. Re-measured 2026-12-04 18:52 UTC after
 * the direct kernels' later changes (same process, the two interleaved, thread CPU time, medians
 * of 61, 1 thread, AVX-512): direct frame / Winograd frame 1.08-1.10x forward and 1.13-1.16x
 * backward-data at dilation 2 (the frame's 18 tiles per row fill 3/4 of the lane groups),
 * 1.48x / 1.20x at dilation 3.
 */
PCNN_INTERNAL int pcnn_dilated_winograd_auto_pick(const pcnn_conv2d_desc *d, int32_t pass) {
    (void)pass;
    return d->c / d->groups >= 128 && d->oc / d->groups >= 128;
}

static int has_nonfinite(const float *p, int64_t count) {
    int bad = 0;
    for (int64_t i = 0; i < count; ++i) {
        bad |= !(fabsf(p[i]) <= FLT_MAX);
    }
    return bad;
}

/* ---- plane copies, one (image, channel) plane per task ---- */

typedef struct {
    const frame_t *fr;
    const float *from;
    float *to;
} copy_ctx;

/* src plane (ih x iw) -> frame input plane (hf x fw), padding as zeros */
static void gather_in_task(void *p, int64_t t) {
    const copy_ctx *x = p;
    const frame_t *fr = x->fr;
    const float *in = x->from + t * fr->ih * fr->w.in;
    float *out = x->to + t * fr->hf * fr->fw;
    for (int64_t j = 0; j < fr->hf; ++j) {
        for (int64_t rh = 0; rh < fr->ph; ++rh) {
            float *o = out + j * fr->fw + rh * fr->w.f;
            const int64_t iy = in_row(fr, rh, j);
            if (iy < 0) {
                memset(o, 0, (size_t)fr->w.f * sizeof(float));
                continue;
            }
            const float *row = in + iy * fr->w.in;
            for (int64_t fx = 0; fx < fr->w.f; ++fx) {
                const int64_t ix = fr->cin[fx];
                o[fx] = ix >= 0 ? row[ix] : 0.0f;
            }
        }
    }
}

/* frame output plane (mh x gw) -> dst plane (oh x ow): the real outputs only */
static void scatter_out_task(void *p, int64_t t) {
    const copy_ctx *x = p;
    const frame_t *fr = x->fr;
    const float *in = x->from + t * fr->mh * fr->gw;
    float *out = x->to + t * fr->oh * fr->w.out;
    for (int64_t oy = 0; oy < fr->oh; ++oy) {
        const float *row = in + (oy / fr->dh) * fr->gw + (oy % fr->dh) * fr->w.f;
        float *o = out + oy * fr->w.out;
        for (int64_t ox = 0; ox < fr->w.out; ++ox) {
            o[ox] = row[fr->cout[ox]];
        }
    }
}

/* diff_dst plane (oh x ow) -> frame output plane (mh x gw), junk outputs zero */
static void gather_out_task(void *p, int64_t t) {
    const copy_ctx *x = p;
    const frame_t *fr = x->fr;
    const float *in = x->from + t * fr->oh * fr->w.out;
    float *out = x->to + t * fr->mh * fr->gw;
    memset(out, 0, (size_t)(fr->mh * fr->gw) * sizeof(float));
    for (int64_t oy = 0; oy < fr->oh; ++oy) {
        float *row = out + (oy / fr->dh) * fr->gw + (oy % fr->dh) * fr->w.f;
        const float *g = in + oy * fr->w.out;
        for (int64_t ox = 0; ox < fr->w.out; ++ox) {
            row[fr->cout[ox]] = g[ox];
        }
    }
}

/* frame input gradient plane (hf x fw) -> diff_src plane (ih x iw); pixels outside the
 * frame feed no output: zero */
static void scatter_in_task(void *p, int64_t t) {
    const copy_ctx *x = p;
    const frame_t *fr = x->fr;
    const float *in = x->from + t * fr->hf * fr->fw;
    float *out = x->to + t * fr->ih * fr->w.in;
    for (int64_t iy = 0; iy < fr->ih; ++iy) {
        float *o = out + iy * fr->w.in;
        const int64_t rh = (iy + fr->pad_top) % fr->dh, j = (iy + fr->pad_top) / fr->dh;
        /* rows past its phase's reach (a shorter phase's extra rows) feed only junk outputs:
         * zero, not what the dense kernel left there (Winograd's rounding leaks into them) */
        if (rh >= fr->ph || j >= (fr->oh - rh + fr->dh - 1) / fr->dh + fr->kh - 1) {
            memset(o, 0, (size_t)fr->w.in * sizeof(float));
            continue;
        }
        const float *row = in + j * fr->fw + rh * fr->w.f;
        for (int64_t ix = 0; ix < fr->w.in; ++ix) {
            const int64_t fx = fr->csrc[ix];
            o[ix] = fx >= 0 ? row[fx] : 0.0f;
        }
    }
}

static void run_planes(const frame_t *fr, int64_t planes, pcnn_task_fn task, const float *from,
                       float *to) {
    copy_ctx ctx = {fr, from, to};
    const int64_t per = fr->hf * fr->fw + fr->ih * fr->w.in;
    pcnn_parallel_for_work(planes, planes * per, task, &ctx);
}

/* Images per chunk: as many as fit the chunk bytes of frames, at least one. */
static int64_t chunk_images(const pcnn_conv2d_desc *d, int64_t per_image) {
    int64_t nb = g_chunk_bytes / (per_image * (int64_t)sizeof(float));
    nb = nb < 1 ? 1 : nb;
    return nb < d->n ? nb : d->n;
}

/* ---- forward and backward-data ---- */

PCNN_INTERNAL int32_t pcnn_dilated_fwd(const pcnn_dilated_inner *k, const pcnn_conv2d_desc *d,
                                       const float *src, const float *weights, const float *bias,
                                       float *dst) {
    if (has_nonfinite(weights, d->oc * (d->c / d->groups) * d->kh * d->kw)) {
        return PCNN_STATUS_UNSUPPORTED; /* 0 * Inf on the frame's explicit padding */
    }
    frame_t fr = make_frame(d);
    const int64_t fin = d->c * fr.hf * fr.fw, fout = d->oc * fr.mh * fr.gw;
    if (fin + fout > DIL_MAX_BYTES / (int64_t)sizeof(float)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const int64_t nb_max = chunk_images(d, fin + fout);
    void *buf = pcnn_scratch_get(PCNN_SCRATCH_DILATED, frame_bytes(&fr, nb_max * (fin + fout)));
    if (buf == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    float *xin = place_maps(&fr, buf);
    float *xout = xin + nb_max * fin;
    for (int64_t n0 = 0; n0 < d->n; n0 += nb_max) {
        const int64_t nb = d->n - n0 < nb_max ? d->n - n0 : nb_max;
        run_planes(&fr, nb * d->c, gather_in_task, src + n0 * d->c * d->ih * d->iw, xin);
        const pcnn_conv2d_desc g = dense_desc(d, &fr, nb);
        const int32_t st = k->fwd(&g, xin, weights, bias, xout);
        if (st != PCNN_STATUS_OK) {
            return st;
        }
        run_planes(&fr, nb * d->oc, scatter_out_task, xout, dst + n0 * d->oc * d->oh * d->ow);
    }
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_dilated_bwd_data(const pcnn_dilated_inner *k, const pcnn_conv2d_desc *d,
                                            const float *diff_dst, const float *weights,
                                            float *diff_src) {
    if (has_nonfinite(weights, d->oc * (d->c / d->groups) * d->kh * d->kw)) {
        return PCNN_STATUS_UNSUPPORTED; /* 0 * Inf on the junk outputs' zero gradient */
    }
    frame_t fr = make_frame(d);
    const int64_t fin = d->c * fr.hf * fr.fw, fout = d->oc * fr.mh * fr.gw;
    if (fin + fout > DIL_MAX_BYTES / (int64_t)sizeof(float)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const int64_t nb_max = chunk_images(d, fin + fout);
    void *buf = pcnn_scratch_get(PCNN_SCRATCH_DILATED, frame_bytes(&fr, nb_max * (fin + fout)));
    if (buf == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    float *xin = place_maps(&fr, buf);
    float *xout = xin + nb_max * fin;
    for (int64_t n0 = 0; n0 < d->n; n0 += nb_max) {
        const int64_t nb = d->n - n0 < nb_max ? d->n - n0 : nb_max;
        run_planes(&fr, nb * d->oc, gather_out_task, diff_dst + n0 * d->oc * d->oh * d->ow, xout);
        const pcnn_conv2d_desc g = dense_desc(d, &fr, nb);
        const int32_t st = k->bwd_data(&g, xout, weights, xin);
        if (st != PCNN_STATUS_OK) {
            return st; /* a decline before the first scatter leaves diff_src untouched */
        }
        run_planes(&fr, nb * d->c, scatter_in_task, xin, diff_src + n0 * d->c * d->ih * d->iw);
    }
    return PCNN_STATUS_OK;
}
