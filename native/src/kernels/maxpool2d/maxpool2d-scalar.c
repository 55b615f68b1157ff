/*
 * maxpool2d, scalar reference kernels. One task per (n, c) plane; see README.md.
 */
#include <math.h>
#include <string.h>

#include "core/pcnn_internal.h"
#include "kernels/maxpool2d/maxpool2d.h"

/* ---- forward ---- */

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *src;
    float *dst;
    int32_t *indices; /* or NULL */
    uint8_t *taps;    /* or NULL: the compact mask, ky * kw + kx */
} fwd_ctx;

static void fwd_task(void *p, int64_t t) {
    const fwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const float *src = x->src + t * d->ih * d->iw;
    float *dst = x->dst + t * d->oh * d->ow;
    int32_t *ind = x->indices != NULL ? x->indices + t * d->oh * d->ow : NULL;
    uint8_t *tap = x->taps != NULL ? x->taps + t * d->oh * d->ow : NULL;
    for (int64_t y = 0; y < d->oh; ++y) {
        for (int64_t xo = 0; xo < d->ow; ++xo) {
            float best = 0.0f;
            int64_t best_at = -1; /* desc_init guarantees at least one in-range tap */
            int64_t best_tap = 0;
            for (int64_t ky = 0; ky < d->kh; ++ky) {
                const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                if (iy < 0 || iy >= d->ih) {
                    continue;
                }
                for (int64_t kx = 0; kx < d->kw; ++kx) {
                    const int64_t ix = xo * d->stride_w - d->pad_left + kx * d->dilation_w;
                    if (ix < 0 || ix >= d->iw) {
                        continue;
                    }
                    const float v = src[iy * d->iw + ix];
                    if (best_at < 0 || v > best || isnan(v)) {
                        best = v;
                        best_at = iy * d->iw + ix;
                        best_tap = ky * d->kw + kx;
                    }
                }
            }
            dst[y * d->ow + xo] = best;
            if (ind != NULL) {
                ind[y * d->ow + xo] = (int32_t)best_at;
            }
            if (tap != NULL) {
                tap[y * d->ow + xo] = (uint8_t)best_tap; /* < kh * kw <= 256 (API check) */
            }
        }
    }
}

PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd__scalar(const pcnn_maxpool2d_desc *d, const float *src,
                                                 float *dst, int32_t *indices) {
    fwd_ctx ctx = {d, src, dst, indices, NULL};
    pcnn_parallel_for(d->n * d->c, fwd_task, &ctx);
    return PCNN_STATUS_OK;
}

PCNN_INTERNAL int32_t pcnn_maxpool2d_fwd_taps__scalar(const pcnn_maxpool2d_desc *d,
                                                      const float *src, float *dst,
                                                      uint8_t *taps) {
    fwd_ctx ctx = {d, src, dst, NULL, taps};
    pcnn_parallel_for(d->n * d->c, fwd_task, &ctx);
    return PCNN_STATUS_OK;
}

/* ---- backward ---- */

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *diff_dst;
    const int32_t *indices;
    float *diff_src;
    int bad_index; /* set with __atomic_store_n by any task that meets a bad index */
} bwd_ctx;

PCNN_INTERNAL void pcnn_maxpool2d_bwd_plane_scatter(const pcnn_maxpool2d_desc *d,
                                                    const float *dd, const int32_t *ind,
                                                    float *ds) {
    const int64_t out_plane = d->oh * d->ow;
    memset(ds, 0, (size_t)(d->ih * d->iw) * sizeof(float));
    /* four per step, in output order (same sums as one at a time): with no test left in the
     * loop, the unrolled body keeps more loads in flight (13x13 planes, AVX-512 build: about
     * 0.9x the time of the loop that tested each index, README) */
    int64_t i = 0;
    for (; i + 4 <= out_plane; i += 4) {
        ds[ind[i]] += dd[i];
        ds[ind[i + 1]] += dd[i + 1];
        ds[ind[i + 2]] += dd[i + 2];
        ds[ind[i + 3]] += dd[i + 3];
    }
    for (; i < out_plane; ++i) {
        ds[ind[i]] += dd[i];
    }
}

PCNN_INTERNAL int pcnn_maxpool2d_bwd_plane(const pcnn_maxpool2d_desc *d, const float *dd,
                                           const int32_t *ind, float *ds) {
    const uint32_t plane = (uint32_t)(d->ih * d->iw); /* <= INT32_MAX (desc_init) */
    const int64_t out_plane = d->oh * d->ow;
    uint32_t bad = 0; /* no early exit: the compiler vectorises the check */
    for (int64_t i = 0; i < out_plane; ++i) {
        bad |= (uint32_t)ind[i] >= plane;
    }
    if (bad) {
        return 0;
    }
    pcnn_maxpool2d_bwd_plane_scatter(d, dd, ind, ds);
    return 1;
}

static void bwd_task(void *p, int64_t t) {
    bwd_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t out_plane = d->oh * d->ow;
    if (!pcnn_maxpool2d_bwd_plane(d, x->diff_dst + t * out_plane, x->indices + t * out_plane,
                                  x->diff_src + t * d->ih * d->iw)) {
        __atomic_store_n(&x->bad_index, 1, __ATOMIC_RELAXED);
    }
}

PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd__scalar(const pcnn_maxpool2d_desc *d,
                                                 const float *diff_dst, const int32_t *indices,
                                                 float *diff_src) {
    bwd_ctx ctx = {d, diff_dst, indices, diff_src, 0};
    pcnn_parallel_for(d->n * d->c, bwd_task, &ctx);
    return __atomic_load_n(&ctx.bad_index, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_RANGE
                                                            : PCNN_STATUS_OK;
}

/* ---- backward from the compact mask ---- */

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *diff_dst;
    const uint8_t *taps;
    float *diff_src;
    int bad_tap; /* set with __atomic_store_n by any task that meets a bad tap */
} bwd_taps_ctx;

PCNN_INTERNAL int pcnn_maxpool2d_bwd_taps_rows(const pcnn_maxpool2d_desc *d, const float *dd,
                                               const uint8_t *tap, float *ds, int64_t y0) {
    const int64_t ntaps = d->kh * d->kw; /* <= PCNN_MAXPOOL2D_TAPS_MAX (API check) */
    /* each tap's row and column offset in its window, once: no division per output */
    int64_t tap_dy[PCNN_MAXPOOL2D_TAPS_MAX], tap_dx[PCNN_MAXPOOL2D_TAPS_MAX];
    for (int64_t t = 0; t < ntaps; ++t) {
        tap_dy[t] = (t / d->kw) * d->dilation_h;
        tap_dx[t] = (t % d->kw) * d->dilation_w;
    }
    for (int64_t y = y0; y < d->oh; ++y) {
        const int64_t wy = y * d->stride_h - d->pad_top;
        for (int64_t x = 0; x < d->ow; ++x) {
            const int64_t i = y * d->ow + x;
            const int64_t t = tap[i];
            if (t >= ntaps) {
                return 0;
            }
            const int64_t iy = wy + tap_dy[t];
            const int64_t ix = x * d->stride_w - d->pad_left + tap_dx[t];
            if (iy < 0 || iy >= d->ih || ix < 0 || ix >= d->iw) {
                return 0;
            }
            ds[iy * d->iw + ix] += dd[i];
        }
    }
    return 1;
}

static void bwd_taps_task(void *p, int64_t t) {
    bwd_taps_ctx *x = p;
    const pcnn_maxpool2d_desc *d = x->d;
    const int64_t out_plane = d->oh * d->ow;
    float *ds = x->diff_src + t * d->ih * d->iw;
    memset(ds, 0, (size_t)(d->ih * d->iw) * sizeof(float));
    if (!pcnn_maxpool2d_bwd_taps_rows(d, x->diff_dst + t * out_plane, x->taps + t * out_plane, ds,
                                      0)) {
        __atomic_store_n(&x->bad_tap, 1, __ATOMIC_RELAXED);
    }
}

PCNN_INTERNAL int32_t pcnn_maxpool2d_bwd_taps__scalar(const pcnn_maxpool2d_desc *d,
                                                      const float *diff_dst,
                                                      const uint8_t *taps, float *diff_src) {
    bwd_taps_ctx ctx = {d, diff_dst, taps, diff_src, 0};
    pcnn_parallel_for(d->n * d->c, bwd_taps_task, &ctx);
    return __atomic_load_n(&ctx.bad_tap, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_RANGE
                                                          : PCNN_STATUS_OK;
}
