/*
 * Winograd F(4x4,3x3) backward-weights, scalar: the oracle (plain matrix products, one tile at a
 * time, float arithmetic without FMA) and the AUTO rule. Formulation and error bound:
 * docs/winograd.md, "Backward-weights".
 *
 * The forward of one 4x4 output tile is Y = A^T [ sum_c (G g_oc G^T) .* (B^T d_c B) ] A, exact in
 * real arithmetic; its adjoint with respect to g_oc, summed over every tile of every image, is
 *   dW[o][c] = G^T [ sum_{n, tiles} (A dY_o A^T) .* (B^T d_c B) ] G
 * with dY_o the tile's 4x4 output gradient (zeros past the output edge) and d_c the tile's 6x6
 * input patch at (4ty - pad_top, 4tx - pad_left) (zeros outside the input). The sum is a GEMM per
 * transform position (36 of them) over n * tiles; G^T M G is done in double and rounded once.
 */
#include <math.h>

#include "core/scratch.h"
#include "kernels/conv2d/winograd-bwd-weights.h"

static const float BT[6][6] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
static const float AT[4][6] = {
    {1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0},
    {0, 1, 1, 4, 4, 0},
    {0, 1, -1, 8, -8, 1},
};
static const double G[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

PCNN_INTERNAL int pcnn_wino_bww_finish(const float m[WINO_TT], float *dw9) {
    int bad = 0;
    double t[3][6];
    for (int k = 0; k < 3; k++) { /* G^T M, every product taken (0 * Inf = NaN on purpose) */
        for (int j = 0; j < 6; j++) {
            double s = 0;
            for (int i = 0; i < 6; i++) {
                s += G[i][k] * (double)m[i * 6 + j];
            }
            t[k][j] = s;
        }
    }
    for (int k = 0; k < 3; k++) {
        for (int l = 0; l < 3; l++) {
            double s = 0;
            for (int j = 0; j < 6; j++) {
                s += t[k][j] * G[j][l];
            }
            const float f = (float)s;
            bad |= !isfinite(f);
            dw9[k * 3 + l] = f;
        }
    }
    return bad;
}

/*
 * AUTO rule (docs/winograd.md, "Backward-weights", measured 2026-12-05, 1 thread, AVX-512 and
 * AVX2): the kernels keep one slice's partial sums P (36 x c x oc floats, channels rounded up
 * to 16) and add each unit of <= 32 tiles into them, so they pay while P stays in L2 and a
 * unit has enough tiles: >= 16 input and >= 16 output channels per group (channels in the
 * lanes), P <= 576 KiB (c * oc <= 4096: 1.5-2.5x faster than direct at 16..64 channels;
 * 128 x 128 was 0.93x on AVX-512, 256 x 256 far slower), and >= 16 tiles per image (16x16
 * outputs) unless P is tiny (c * oc <= 256): 64 channels on 8x8 / 7x7 planes were 0.7-0.9x.
 */
PCNN_INTERNAL int pcnn_winograd_bwd_weights_auto_pick(const pcnn_conv2d_desc *d) {
    const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
    const int64_t pc = (cg + 15) / 16 * 16, po = (ocg + 15) / 16 * 16;
    const int64_t tiles = ((d->oh + WINO_M - 1) / WINO_M) * ((d->ow + WINO_M - 1) / WINO_M);
    return cg >= 16 && ocg >= 16 && pc * po <= 4096 && (tiles >= 16 || pc * po <= 256);
}

/* Patch / gradient tile of one channel plane; zeros outside. */
static void load_patch(const float *plane, int64_t h, int64_t w, int64_t y0, int64_t x0, int size,
                       float out[6][6]) {
    for (int i = 0; i < size; i++) {
        for (int j = 0; j < size; j++) {
            const int64_t y = y0 + i, x = x0 + j;
            out[i][j] = (y >= 0 && y < h && x >= 0 && x < w) ? plane[y * w + x] : 0.0f;
        }
    }
}

PCNN_INTERNAL int32_t pcnn_conv2d_bwd_weights_winograd__scalar(const pcnn_conv2d_desc *d, const float *src,
                                                               const float *diff_dst, float *diff_weights,
                                                               float *diff_bias) {
    if (!pcnn_winograd_supports(d, PCNN_PASS_BWD_WEIGHTS)) {
        return PCNN_STATUS_UNSUPPORTED;
    }
    const int64_t groups = d->groups, cg = d->c / groups, og = d->oc / groups;
    const int64_t ty = (d->oh + WINO_M - 1) / WINO_M, tx = (d->ow + WINO_M - 1) / WINO_M;
    /* M[o][c][36] of one group, then the transformed tiles of one (n, tile): V[c][36], Z[o][36] */
    const size_t mcount = (size_t)(og * cg * WINO_TT), vcount = (size_t)((cg + og) * WINO_TT);
    float *m = pcnn_scratch_get(PCNN_SCRATCH_WINO_WEIGHTS, sizeof(float) * mcount);
    float *vz = pcnn_scratch_get(PCNN_SCRATCH_WINO_TILES, sizeof(float) * vcount);
    if (m == NULL || vz == NULL) {
        return PCNN_STATUS_OUT_OF_MEMORY;
    }
    float *vt = vz, *zt = vz + cg * WINO_TT;
    for (int64_t g = 0; g < groups; g++) {
        for (size_t i = 0; i < mcount; i++) {
            m[i] = 0.0f;
        }
        for (int64_t n = 0; n < d->n; n++) {
            for (int64_t a = 0; a < ty; a++) {
                for (int64_t b = 0; b < tx; b++) {
                    for (int64_t c = 0; c < cg; c++) { /* V = B^T d B */
                        float p[6][6], t[6][6];
                        load_patch(src + ((n * d->c) + g * cg + c) * d->ih * d->iw, d->ih, d->iw,
                                   4 * a - d->pad_top, 4 * b - d->pad_left, 6, p);
                        for (int i = 0; i < 6; i++) {
                            for (int j = 0; j < 6; j++) {
                                float s = 0.0f;
                                for (int k = 0; k < 6; k++) {
                                    s += BT[i][k] * p[k][j];
                                }
                                t[i][j] = s;
                            }
                        }
                        for (int i = 0; i < 6; i++) {
                            for (int j = 0; j < 6; j++) {
                                float s = 0.0f;
                                for (int k = 0; k < 6; k++) {
                                    s += t[i][k] * BT[j][k];
                                }
                                vt[c * WINO_TT + i * 6 + j] = s;
                            }
                        }
                    }
                    for (int64_t o = 0; o < og; o++) { /* Z = A dY A^T, A = (A^T)^T */
                        float q[6][6], t[6][4];
                        load_patch(diff_dst + ((n * d->oc) + g * og + o) * d->oh * d->ow, d->oh, d->ow,
                                   4 * a, 4 * b, 4, q);
                        for (int i = 0; i < 6; i++) {
                            for (int s2 = 0; s2 < 4; s2++) {
                                float s = 0.0f;
                                for (int r = 0; r < 4; r++) {
                                    s += AT[r][i] * q[r][s2];
                                }
                                t[i][s2] = s;
                            }
                        }
                        for (int i = 0; i < 6; i++) {
                            for (int j = 0; j < 6; j++) {
                                float s = 0.0f;
                                for (int s2 = 0; s2 < 4; s2++) {
                                    s += t[i][s2] * AT[s2][j];
                                }
                                zt[o * WINO_TT + i * 6 + j] = s;
                            }
                        }
                    }
                    for (int64_t o = 0; o < og; o++) {
                        for (int64_t c = 0; c < cg; c++) {
                            float *mm = m + (o * cg + c) * WINO_TT;
                            for (int e = 0; e < WINO_TT; e++) {
                                mm[e] += zt[o * WINO_TT + e] * vt[c * WINO_TT + e];
                            }
                        }
                    }
                }
            }
        }
        for (int64_t o = 0; o < og; o++) {
            for (int64_t c = 0; c < cg; c++) {
                float *dw9 = diff_weights + ((g * og + o) * cg + c) * 9;
                if (pcnn_wino_bww_finish(m + (o * cg + c) * WINO_TT, dw9)) {
                    return PCNN_STATUS_UNSUPPORTED; /* non-finite data: direct serves the call */
                }
            }
        }
    }
    if (diff_bias != NULL) { /* the direct kernel's order: n, y, x */
        for (int64_t oc = 0; oc < d->oc; oc++) {
            float s = 0.0f;
            for (int64_t n = 0; n < d->n; n++) {
                const float *pl = diff_dst + (n * d->oc + oc) * d->oh * d->ow;
                for (int64_t i = 0; i < d->oh * d->ow; i++) {
                    s += pl[i];
                }
            }
            diff_bias[oc] = s;
        }
    }
    return PCNN_STATUS_OK;
}
