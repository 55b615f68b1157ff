/*
 * Winograd F(4x4,3x3), scalar: the oracle of the transforms (plain matrix products, one
 * output tile at a time, float arithmetic without FMA), the geometry / AUTO rules and the
 * weight transform shared by every ISA. See winograd.h for the engine and docs/winograd.md
 * for the error bound.
 */
#include <math.h>
#include <stdlib.h>

#include "core/scratch.h"
#include "kernels/conv2d/winograd-bwd-weights.h"
#include "kernels/conv2d/winograd.h"

/* Lavin & Gray's F(4x4,3x3) matrices (interpolation points 0, 1, -1, 2, -2, inf). */
static const float BT[6][6] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
static const double G[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};
static const float AT[4][6] = {
    {1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0},
    {0, 1, 1, 4, 4, 0},
    {0, 1, -1, 8, -8, 1},
};

PCNN_INTERNAL int pcnn_winograd_supports(const pcnn_conv2d_desc *d, int32_t pass) {
    if (pass != PCNN_PASS_FWD && pass != PCNN_PASS_BWD_DATA && pass != PCNN_PASS_BWD_WEIGHTS) {
        return 0;
    }
    return d->kh == 3 && d->kw == 3 && d->stride_h == 1 && d->stride_w == 1 && d->dilation_h == 1 &&
           d->dilation_w == 1;
}

/*
 * AUTO rule (docs/winograd.md, measured 2026-12-04 on AVX-512 and AVX2, 1 thread): Winograd
 * beat direct by 1.3-2.1x whenever the engine had >= 16 input and >= 16 output channels per
 * group and the SIMD kernel's lanes were mostly busy, and lost (0.67-0.93x) with 3 or 8
 * channels on either side or with half its lanes idle on large channel counts (14x14, 256
 * channels). The kernels fill lanes with groups of `group_tiles` x-consecutive 4x4 tiles of
 * one tile row (8 on AVX-512, 4 on AVX2), so a row of tx tiles keeps
 * tx / (group_tiles * ceil(tx / group_tiles)) of them busy; that fraction must be >= 0.55.
 * Engine channels: forward (c, oc), backward-data (oc, c); engine output width: forward ow,
 * backward-data iw.
 */
static int auto_pick(const pcnn_conv2d_desc *d, int32_t pass, int64_t group_tiles) {
    if (pass == PCNN_PASS_BWD_WEIGHTS) { /* channels in lanes: its own rule */
        return pcnn_winograd_bwd_weights_auto_pick(d);
    }
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    const int64_t cin = pass == PCNN_PASS_FWD ? cg : ocg, cout = pass == PCNN_PASS_FWD ? ocg : cg;
    const int64_t width = pass == PCNN_PASS_FWD ? d->ow : d->iw;
    const int64_t tx = (width + WINO_M - 1) / WINO_M;
    const int64_t lanes = (tx + group_tiles - 1) / group_tiles * group_tiles;
    return cin >= 16 && cout >= 16 && 20 * tx >= 11 * lanes;
}

PCNN_INTERNAL int pcnn_winograd_auto_pick(const pcnn_conv2d_desc *d, int32_t pass) {
    return auto_pick(d, pass, 8);
}

PCNN_INTERNAL int pcnn_winograd_auto_pick_avx2(const pcnn_conv2d_desc *d, int32_t pass) {
    return auto_pick(d, pass, 4);
}

PCNN_INTERNAL void pcnn_wino_plan(const pcnn_conv2d_desc *d, int32_t pass, wino_plan *p) {
    p->n = d->n;
    p->groups = d->groups;
    p->backward = pass == PCNN_PASS_BWD_DATA;
    if (!p->backward) {
        p->cin_g = d->c / d->groups;
        p->cout_g = d->oc / d->groups;
        p->ih = d->ih, p->iw = d->iw, p->oh = d->oh, p->ow = d->ow;
        p->org_y = -d->pad_top, p->org_x = -d->pad_left;
    } else {
        p->cin_g = d->oc / d->groups;
        p->cout_g = d->c / d->groups;
        p->ih = d->oh, p->iw = d->ow, p->oh = d->ih, p->ow = d->iw;
        p->org_y = d->pad_top - 2, p->org_x = d->pad_left - 2;
    }
    p->ty = (p->oh + WINO_M - 1) / WINO_M;
    p->tx = (p->ow + WINO_M - 1) / WINO_M;
}

/* The engine weight g[ky][kx] for engine (group g, out channel o, in channel c). */
static inline float engine_weight(const pcnn_conv2d_desc *d, const wino_plan *p, const float *w,
                                  int64_t g, int64_t o, int64_t c, int ky, int kx) {
    if (!p->backward) {
        return w[(((g * p->cout_g + o) * p->cin_g + c) * 3 + ky) * 3 + kx];
    }
    /* engine out o = diff_src channel, engine in c = diff_dst channel */
    (void)d;
    return w[(((g * p->cin_g + c) * p->cout_g + o) * 3 + (2 - ky)) * 3 + (2 - kx)];
}

PCNN_INTERNAL int pcnn_wino_transform_weights(const pcnn_conv2d_desc *d, const wino_plan *p,
                                              const float *weights, float *u) {
    for (int64_t g = 0; g < p->groups; g++) {
        for (int64_t c = 0; c < p->cin_g; c++) {
            for (int64_t o = 0; o < p->cout_g; o++) {
                double gg[3][3], tmp[6][3];
                for (int a = 0; a < 3; a++) {
                    for (int b = 0; b < 3; b++) {
                        const float v = engine_weight(d, p, weights, g, o, c, a, b);
                        if (!isfinite(v)) {
                            return 1;
                        }
                        gg[a][b] = v;
                    }
                }
                for (int i = 0; i < 6; i++) {
                    for (int b = 0; b < 3; b++) {
                        tmp[i][b] = G[i][0] * gg[0][b] + G[i][1] * gg[1][b] + G[i][2] * gg[2][b];
                    }
                }
                for (int i = 0; i < 6; i++) {
                    for (int j = 0; j < 6; j++) {
                        const double v = tmp[i][0] * G[j][0] + tmp[i][1] * G[j][1] + tmp[i][2] * G[j][2];
                        u[((g * WINO_TT + i * 6 + j) * p->cin_g + c) * p->cout_g + o] = (float)v;
                    }
                }
            }
        }
    }
    return 0;
}

/* One output tile of one engine output channel, over all of the group's input channels. */
static void scalar_tile(const wino_plan *p, const float *in_g, const float *u_g, int64_t o,
                        int64_t ty, int64_t tx, float bias, float *out_plane) {
    float m[6][6] = {{0}};
    const int64_t y0 = p->org_y + ty * WINO_M, x0 = p->org_x + tx * WINO_M;
    for (int64_t c = 0; c < p->cin_g; c++) {
        const float *plane = in_g + c * p->ih * p->iw;
        float dd[6][6], t[6][6], v[6][6];
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                const int64_t y = y0 + i, x = x0 + j;
                dd[i][j] = (y >= 0 && y < p->ih && x >= 0 && x < p->iw) ? plane[y * p->iw + x] : 0.0f;
            }
        }
        for (int i = 0; i < 6; i++) { /* t = B^T d */
            for (int j = 0; j < 6; j++) {
                float s = 0.0f;
                for (int k = 0; k < 6; k++) {
                    s += BT[i][k] * dd[k][j];
                }
                t[i][j] = s;
            }
        }
        for (int i = 0; i < 6; i++) { /* v = t B */
            for (int j = 0; j < 6; j++) {
                float s = 0.0f;
                for (int k = 0; k < 6; k++) {
                    s += t[i][k] * BT[j][k];
                }
                v[i][j] = s;
            }
        }
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                m[i][j] += u_g[((int64_t)(i * 6 + j) * p->cin_g + c) * p->cout_g + o] * v[i][j];
            }
        }
    }
    float t2[4][6];
    for (int r = 0; r < 4; r++) { /* A^T m */
        for (int j = 0; j < 6; j++) {
            float s = 0.0f;
            for (int k = 0; k < 6; k++) {
                s += AT[r][k] * m[k][j];
            }
            t2[r][j] = s;
        }
    }
    for (int r = 0; r < 4; r++) { /* (A^T m) A */
        for (int s = 0; s < 4; s++) {
            float acc = 0.0f;
            for (int k = 0; k < 6; k++) {
                acc += t2[r][k] * AT[s][k];
            }
            const int64_t y = ty * WINO_M + r, x = tx * WINO_M + s;
            if (y < p->oh && x < p->ow) {
                out_plane[y * p->ow + x] = acc + bias;
            }
        }
    }
}

static int32_t scalar_engine(const pcnn_conv2d_desc *d, int32_t pass, const float *in,
                             const float *weights, const float *bias, float *out) {
    wino_plan p;
    pcnn_wino_plan(d, pass, &p);
    float *u = pcnn_scratch_get(PCNN_SCRATCH_WINO_WEIGHTS, sizeof(float) * (size_t)(p.groups * WINO_TT * p.cin_g * p.cout_g));
    if (u == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    if (pcnn_wino_transform_weights(d, &p, weights, u) != 0) {
        return PCNN_STATUS_UNSUPPORTED; /* non-finite weights: the direct algorithm serves it */
    }
    const int64_t in_plane = p.ih * p.iw, out_plane = p.oh * p.ow;
    for (int64_t n = 0; n < p.n; n++) {
        for (int64_t g = 0; g < p.groups; g++) {
            const float *in_g = in + (n * p.groups + g) * p.cin_g * in_plane;
            const float *u_g = u + g * WINO_TT * p.cin_g * p.cout_g;
            for (int64_t o = 0; o < p.cout_g; o++) {
                const int64_t oc = g * p.cout_g + o;
                float *op = out + (n * p.groups * p.cout_g + oc) * out_plane;
                const float b = bias != NULL ? bias[oc] : 0.0f;
                for (int64_t ty = 0; ty < p.ty; ty++) {
                    for (int64_t tx = 0; tx < p.tx; tx++) {
                        scalar_tile(&p, in_g, u_g, o, ty, tx, b, op);
                    }
                }
            }
        }
    }
    /* Inf/NaN inputs would spread over whole tiles (Inf - Inf); such calls go to direct. */
    for (int64_t i = 0; i < p.n * p.groups * p.cout_g * out_plane; i++) {
        if (!isfinite(out[i])) {
            return PCNN_STATUS_UNSUPPORTED;
        }
    }
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_conv2d_fwd_winograd__scalar(const pcnn_conv2d_desc *d, const float *src,
                                                       const float *weights, const float *bias,
                                                       float *dst) {
    if (!pcnn_winograd_supports(d, PCNN_PASS_FWD)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    return scalar_engine(d, PCNN_PASS_FWD, src, weights, bias, dst);
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_data_winograd__scalar(const pcnn_conv2d_desc *d,
                                                            const float *diff_dst,
                                                            const float *weights,
                                                            float *diff_src) {
    if (!pcnn_winograd_supports(d, PCNN_PASS_BWD_DATA)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    return scalar_engine(d, PCNN_PASS_BWD_DATA, diff_dst, weights, NULL, diff_src);
}
