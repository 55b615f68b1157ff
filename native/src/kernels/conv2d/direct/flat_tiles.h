/*
 * conv2d direct (forward / backward-data), part of the conv2d-direct.h template: flat tiles
 * (when the vector layer defines DIRECT_FLAT_TILES and VMASK_BITS: AVX-512 and AVX2).
 *
 * Why: the row tiles (ukrr_*) give each output row two vectors, so a 28-pixel row fills 28
 * of 32 lanes (the pixel tiles likewise: 56 of 64), and they read a zero-padded copy of the
 * input. grouped3x3 (8 -> 8 channels
 * per group, 28x28, 3x3 pad 1) spent 12.5% of its FMAs on empty lanes and ~10% of the pass
 * in the copy. When the engine's input and output rows have the same width (stride 1 and
 * "same" horizontal padding: pad_left + pad_right = (kw - 1) * dilation_w), output pixel
 * p = y * w + x reads input pixel p + oy * w + ox for tap (oy, ox) in the flat plane: the
 * plane is one long row of whole vectors (28x28 = 49 of 16 lanes). A tap's reads that
 * leave the image - a column past the row's ends, which in the flat plane is the
 * neighbouring row, or a row above or below the plane - are masked off per lane (masked-off
 * lanes are not accessed and load as 0, the padding's value), so the input is read in
 * place: no copy. The masks depend on the tap and the vector only (tap-major table, built
 * once per call by flat_build_masks, ../flat-masks.h).
 * Per pixel the sum is acc = 0, FMA over taps, then input channels (tap-outer: a tap's
 * masks are loaded once for all channels; 0.93-0.95x the time of channel-outer on
 * grouped3x3 forward, 0.89-0.94x backward-data), padding taps multiplying a zero, then
 * + bias or + 0.0f. The row tiles sum channels, then taps, so the two paths may differ in
 * the last bits (as any two vector paths may); the order is fixed per pixel, so the bits
 * do not depend on the tiling or the thread count.
 * Non-finite weights never get here (the entry points send them to the scalar kernel when
 * padding is multiplied).
 */

#ifdef DIRECT_FLAT_TILES

#include "kernels/conv2d/flat-masks.h"

/* Widths served: rows that are not a whole number of vectors (a vector may span several
 * rows), where the row tiles, the pixel tiles or row mode would run (the entry points keep
 * the channel tiles and backward-data's 2-D tiles; forward's small-channel path comes
 * first). The mask table must fit on the entry's stack. */
#define FLAT_MASKS_MAX 4096
/* Taps served (7x7): the per-task tap lists live on the stack. */
#define FLAT_KT_MAX 49

/* calls served by the flat tiles, forward and backward-data (for the tests) */
PCNN_INTERNAL int64_t PCNN_DIRECT_FLAT_TILE_RUNS;

/* Flat tiles' micro-kernel arguments: OCB channels x NV consecutive vectors of the plane. */
typedef struct {
    const float *in;       /* engine input, channel 0, at the tile's first output pixel */
    int64_t in_cstride;    /* floats between input channels (the plane) */
    int64_t ci_count;
    const int64_t *tap_in; /* per tap: flat offset oy * w + ox */
    const int64_t *tap_w;  /* per tap: k * OCB into a channel's packed weights */
    const int64_t *tap_m;  /* per tap: its row of the mask table (tap * vectors) */
    int64_t ntaps;
    const uint16_t *mk;    /* mask table at the tile's first vector */
    const float *w;        /* packed weights of the block: [ci][k][OCB] */
    int64_t w_cstride;
    float *out;            /* output channel 0 at the tile's first pixel */
    int64_t out_ostride;
    const float *bias;
    vmask_t last;          /* lanes stored of the last vector (the plane's tail) */
} ukrf_args;

typedef void (*ukrf_fn)(const ukrf_args *a);

/* The loads' addresses are formed as integers (VLOADM_AT): a masked lane may lie before or
 * after the plane. The accumulators stay in registers only with the loops unrolled
 * (UNROLL_J / UNROLL_V, as ukr_*). */
#define UKRF(OCB, NV)                                                                  \
    static void ukrf_##OCB##_##NV(const ukrf_args *a) {                                \
        vec_t acc[OCB][NV];                                                            \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                       \
            UNROLL_V for (int v = 0; v < NV; ++v) {                                    \
                acc[j][v] = VZERO();                                                   \
            }                                                                          \
        }                                                                              \
        const int64_t ntaps = a->ntaps;                                                \
        const int64_t *tap_in = a->tap_in, *tap_w = a->tap_w, *tap_m = a->tap_m;       \
        for (int64_t t = 0; t < ntaps; ++t) {                                          \
            vmask_t m[NV];                                                             \
            UNROLL_V for (int v = 0; v < NV; ++v) {                                    \
                m[v] = VMASK_BITS(a->mk[tap_m[t] + v]);                                   \
            }                                                                          \
            for (int64_t ci = 0; ci < a->ci_count; ++ci) {                             \
                const float *ip = a->in + ci * a->in_cstride;                          \
                const float *q = a->w + ci * a->w_cstride + tap_w[t];                  \
                vec_t x[NV];                                                           \
                UNROLL_V for (int v = 0; v < NV; ++v) {                                \
                    x[v] = VLOADM_AT(ip, tap_in[t] + v * VL, m[v]);                    \
                }                                                                      \
                UNROLL_J for (int j = 0; j < OCB; ++j) {                               \
                    const vec_t b = VSET1(q[j]);                                       \
                    UNROLL_V for (int v = 0; v < NV; ++v) {                            \
                        acc[j][v] = VFMA(b, x[v], acc[j][v]);                          \
                    }                                                                  \
                }                                                                      \
            }                                                                          \
        }                                                                              \
        UNROLL_J for (int j = 0; j < OCB; ++j) {                                       \
            float *o = a->out + j * a->out_ostride;                                    \
            const vec_t b = a->bias != NULL ? VSET1(a->bias[j]) : VZERO();             \
            UNROLL_V for (int v = 0; v < NV - 1; ++v) {                                \
                VSTOREU(o + v * VL, VADD(acc[j][v], b));                               \
            }                                                                          \
            VSTOREM(o + (NV - 1) * VL, a->last, VADD(acc[j][NV - 1], b));              \
        }                                                                              \
    }

#define UKRF_NV1(OCB) UKRF(OCB, 1)
#define UKRF_NV2(OCB) UKRF(OCB, 2)
#define UKRF_NV3(OCB) UKRF(OCB, 3)
#define UKRF_NV4(OCB) UKRF(OCB, 4)
#define PTRF(OCB, NV) [OCB][NV] = ukrf_##OCB##_##NV,
#define PF1(O) PTRF(O, 1)
#define PF2(O) PTRF(O, 2)
#define PF3(O) PTRF(O, 3)
#define PF4(O) PTRF(O, 4)
/* the same shapes as ukr_* (the vector layer's register budget) */
DIRECT_UKR_SHAPES(UKRF_NV1, UKRF_NV2, UKRF_NV3, UKRF_NV4)
static const ukrf_fn ukrf_table[OCB_LIMIT + 1][NV_MAX + 1] = {
    DIRECT_UKR_SHAPES(PF1, PF2, PF3, PF4)};

/* Whether a job with this engine geometry takes the flat tiles: stride 1 (the caller
 * checks), engine rows of the same width w (not a multiple of VL), and a mask table of at
 * most FLAT_MASKS_MAX entries. */
static inline int flat_tiles_fit(int64_t in_w, int64_t out_w, int64_t out_h, int64_t kt) {
    if (in_w != out_w || out_w % VL == 0 || kt > FLAT_KT_MAX) {
        return 0;
    }
    const int64_t vecs = ceil_div(out_h * out_w, VL);
    return vecs <= FLAT_MASKS_MAX / kt;
}

/* One task: image n, group g, vectors [v0, v1) of the plane, every channel block. */
static void flat_task(void *p, int64_t t) {
    job_t *j = p;
    const int64_t vchunks = j->row_chunks; /* vector chunks, in row_chunks' place */
    const int64_t vc = t % vchunks, ng = t / vchunks;
    const int64_t n = ng / j->groups, g = ng % j->groups;
    const int64_t plane_in = j->in_h * j->in_w, plane_out = j->out_h * j->out_w;
    const int64_t vecs = ceil_div(plane_out, VL);
    const int64_t v0 = vc * j->rows_per_task, v1 = imin(vecs, v0 + j->rows_per_task);
    const int64_t in_c = j->bwd ? j->d->oc : j->d->c, out_c = j->bwd ? j->d->c : j->d->oc;
    int64_t tap_w[FLAT_KT_MAX], tap_m[FLAT_KT_MAX];
    for (int64_t k = 0; k < j->kt; ++k) {
        tap_m[k] = k * vecs;
    }
    ukrf_args a;
    a.in_cstride = plane_in;
    a.ci_count = j->ci_g;
    a.tap_in = j->ftap_in;
    a.tap_w = tap_w;
    a.tap_m = tap_m;
    a.ntaps = j->kt;
    a.out_ostride = plane_out;
    const int nv = j->nv;
    for (int64_t b = 0; b < j->nblocks; ++b) {
        int64_t o0, ocb;
        block_range(j, b, &o0, &ocb);
        a.w = task_block_weights(j, g, b);
        if (a.w == NULL) {
            mark_failed(j);
            return;
        }
        a.w_cstride = j->kt * ocb;
        for (int64_t k = 0; k < j->kt; ++k) {
            tap_w[k] = k * ocb;
        }
        const int64_t oc = g * j->co_g + o0;
        a.bias = j->bias != NULL ? j->bias + oc : NULL;
        const float *in = j->in + (n * in_c + g * j->ci_g) * plane_in;
        float *out = j->out + (n * out_c + oc) * plane_out;
        /* the next task's input (the next ci_g planes: the next group's channels, or the
         * next image's first; a thread's next task is t + 1 in the pool's fixed ranges)
         * asked into cache across this task's tiles. Into L1 (prefetcht0): the channel tiles'
         * chtile_prefetch_next (direct/channel_tiles.h), which asks into L2, measured 1.11-1.14x
         * the time forward and 1.17-1.20x backward-data on grouped3x3 (session 32) */
        const float *next = b == 0 && t + 1 < j->ntasks && v0 == 0 && v1 == vecs
                                ? in + j->ci_g * plane_in : NULL;
        const int64_t next_lines = ceil_div(j->ci_g * plane_in * (int64_t)sizeof(float), 64);
        const int64_t steps = ceil_div(v1 - v0, nv);
        for (int64_t v = v0; v < v1; v += nv) {
            const int64_t cnt = imin(nv, v1 - v);
            if (next != NULL) {
                const int64_t per = ceil_div(next_lines, steps), k = (v - v0) / nv;
                for (int64_t l = k * per; l < imin(next_lines, (k + 1) * per); ++l) {
                    PCNN_PREFETCH_AT(next, l * 16);
                }
            }
            const int64_t px_last = imin(VL, plane_out - (v + cnt - 1) * VL);
            a.in = in + v * VL;
            a.out = out + v * VL;
            a.mk = j->fmask + v;
            a.last = vmask_first(px_last);
            ukrf_table[ocb][cnt](&a);
        }
    }
}

/* Runs a job that flat_tiles_fit took: oy / ox are the engine's tap offsets (ky-major, as
 * the row tiles' tap lists). Vector chunks split an image when the images and groups alone
 * give the threads fewer than ~4 tasks each. */
static int32_t flat_run(job_t *j, const int64_t *oy, const int64_t *ox) {
    const int64_t vecs = ceil_div(j->out_h * j->out_w, VL);
    uint16_t mk[FLAT_MASKS_MAX];
    int64_t tap_in[FLAT_KT_MAX];
    for (int64_t k = 0; k < j->kt; ++k) {
        tap_in[k] = oy[k] * j->in_w + ox[k];
    }
    flat_build_masks(mk, vecs, oy, ox, j->kt, j->out_w, j->in_h, j->out_h, VL);
    j->fmask = mk;
    j->ftap_in = tap_in;
#if NV_MAX >= 4
    /* tiles of 3 vectors x 8 channels (24 accumulators) or, for at most 6 channels per
     * group, 4 vectors (the plane of 28x28 is 49 vectors: 16 tiles of 3 and one of 1) */
    const int nv = j->co_g <= ocb_max_for_nv[4] ? 4 : 3;
    const int64_t ocb_most = ocb_max_for_nv[nv];
#else
    /* AVX2 (16 registers): 3 vectors x 3 channels, or 2 vectors x 6, whose two masks with 12
     * accumulators, 2 inputs and a broadcast spill one mask, reloaded per channel step (on
     * 64-bit MinGW too as an unaligned move): still 0.91-0.95x the time of 3-channel tiles for
     * 6 and 12 channels per group. 8 channels: 4 + 4 (1 vector x 8: 1.19x). */
    const int nv = j->co_g <= ocb_max_for_nv[3] ? 3 : 2;
    const int64_t ocb_most = ocb_max_for_nv[nv];
#endif
    j->nv = nv;
    j->nblocks = ceil_div(j->co_g, ocb_most);
    const int64_t base = j->d->n * j->groups;
    const int64_t want = 4 * imax(1, pcnn_get_num_threads());
    const int64_t chunks = base >= want ? 1 : imin(ceil_div(vecs, nv), ceil_div(want, base));
    j->rows_per_task = ceil_div(ceil_div(vecs, chunks), nv) * nv; /* vectors per task */
    j->row_chunks = ceil_div(vecs, j->rows_per_task);
    j->blocks_per_task = j->nblocks;
    j->block_chunks = 1;
    __atomic_fetch_add(&PCNN_DIRECT_FLAT_TILE_RUNS, 1, __ATOMIC_RELAXED);
    return run_job(j, flat_task, base * j->row_chunks);
}

#endif /* DIRECT_FLAT_TILES */
