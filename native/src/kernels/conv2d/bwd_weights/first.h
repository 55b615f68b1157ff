/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the few-input-
 * channel path (cw_run_first; only with CW_FIRST: the vector layer provides cw_bcast,
 * cw_transpose_v (CW_V x CW_V), cw_rmask / cw_row_mask / cw_load_rowm and cw_prefetch_l2, and
 * may set CW_FIRST_REGS, CW_FIRST_MANY_R, CW_FIRST_FEW and CW_FIRST_FEW_K3_MAX_OC below): first
 * layers such as cifar (3 -> 32, 3x3) and big7x7 (3 -> 64, 7x7 s2); at AVX2 (since 2026-12-07)
 * 3-wide few-channel layers only up to 48 output channels (bwd_weights/README.md).
 *
 * Why: with 3 input channels the other paths pack kh * kw shifted (or strided) copies of the
 * input per task (cw_pack: ~27 % of cifar's time, ~15 % of big7x7's), pad the 27 / 147 taps to
 * their tile width, and the bias gradient is a separate pass over dY (~15 % of cifar). A call
 * plans one or four tap tasks, so two threads were fed by batch halves or uneven tap blocks.
 *
 * How (the oneDNN "first convolution" idea, lanes along the output channels):
 *     acc[t][o-vector] += src_pad[ci][iy][ix] (broadcast) * dYT[p][o-vector]
 * A task is one (image, band of output rows). It copies the band's input rows of every channel
 * once, zero-padded ("src_pad": every tap of every pixel is then a plain broadcast at
 * row + x * stride_w + kx; the stride costs nothing), and per sub-band of rows (dYT <= ~32 KB:
 * L1) transposes dY to pixel-major dYT[p][ocp] (CW_V x CW_V register transposes, output
 * channels padded to a multiple of CW_V with zeros). The bias gradient of the sub-band is summed from dYT
 * right there (it is the weight gradient of a tap whose input is 1), so dY is read once.
 * The register tile is R output-channel vectors (1 or 2) x NR rows (ci, ky) of kw taps,
 * accumulated over every pixel of the sub-band: per pixel R dY loads and NR * kw broadcasts
 * for R * NR * kw FMAs (cifar 2 x 3 x 3 = 18, big7x7 2 x 2 x 7 = 28). No horizontal sums.
 *
 * Determinism: each task writes its own partial sums (dW and bias, [tap][ocp]), each lane a
 * sequential chain over the task's pixels; the partition into tasks depends on the shape only,
 * and the partials are added in task order afterwards. So the result is the same at every
 * thread count; the tasks are many and even (cifar 32 images, big7x7 4 images x 2 bands of
 * 56 rows), so two threads share them evenly with the dynamic hand-out.
 *
 * Padding: padded taps multiply a zero here (the scalar kernel skips them); these agree unless
 * dY holds an infinity or NaN. The bias sums tell (non-finite iff they met a non-finite value
 * or overflowed), but only after the work is done: then the call returns
 * PCNN_STATUS_UNSUPPORTED and the scalar kernel, which overwrites everything, serves it. The
 * bias pass therefore no longer runs ahead of the work on this path (rare data pays twice).
 *
 * Many input channels (cw_first_many, 2026-12-05): the same formulation for stride-1 3-wide
 * kernels with 64 or 128 output channels (resnet3x3, mid), where the stride-1 phase-plane path
 * (cw_run_wide) computed junk columns, repacked dY and packed planes per task. Differences:
 * a 4-vector tile (64 output channels x 2 rows of 3 taps: 24 accumulators, 4 dY loads and 6
 * broadcasts per 24 FMAs); about CW_FIRST_TASKS_MIN tasks of whole images (resnet3x3: 8 x 1,
 * mid: 8 x 4), each with a partial of every tap; src_pad copied per copy band of rows
 * (<= CW_FIRST_CB_BYTES, L2) with row masks computed once; the next copy band's src rows and
 * the next sub-band's dY rows prefetched into L2 a few lines per tile; the tiles of a task's
 * first sub-band start from zero. See bwd_weights/README.md, "Direct stride-1 3x3".
 * With pad_left / pad_right <= 2 (CW_FIRST_ROWS: AVX-512) the input is read in place instead
 * of copied (first_rows.h: no src_pad, padding taps and rows left out; dW bit-identical).
 */

#define CW_FIRST_MAX_CG 4          /* input channels per group this path takes on any plane */
/* and up to this many on small output planes with few output channels (LeNet's 6 -> 16): the
 * paths these shapes took otherwise ran at 45-60 % of the peak; larger planes or more output
 * channels measured level or slower on this path (bwd_weights/README.md, "Five to eight input
 * channels") */
#define CW_FIRST_MID_CG 8
#define CW_FIRST_MID_PIXELS 1024   /* most output pixels per plane */
#define CW_FIRST_MID_OC 64         /* most output channels */
#ifndef CW_FIRST_DYT_BYTES
#define CW_FIRST_DYT_BYTES (32 * 1024) /* dYT sub-band (L1) */
#endif
#define CW_FIRST_TASKS_MIN 8       /* below, bands split the images (fixed by the shape) */
#define CW_FIRST_IMAGES_MAX 64     /* partial buffers: at most this many image groups */
#ifndef CW_FIRST_CB_BYTES
#define CW_FIRST_CB_BYTES (192 * 1024) /* src_pad copy band, many input channels (L2) */
#endif
#define CW_FIRST_MANY_OW 24        /* many input channels: shortest rows taken */
#define CW_FIRST_MANY_PART_BYTES ((int64_t)16 << 20) /* and most partial bytes (all tasks) */
#define CW_FIRST_MASKS 16          /* src_pad rows of up to 16 vectors use precomputed masks */
#define CW_FIRST_PF 4              /* dY transpose: lines prefetched ahead per row */
#ifndef CW_FIRST_REGS
#define CW_FIRST_REGS 31 /* vector registers the tile may use (accumulators, dY, broadcast) */
#endif
#ifndef CW_FIRST_MANY_R
#define CW_FIRST_MANY_R 4 /* output vectors per tile, many input channels (4 or 2) */
#endif
#ifndef CW_FIRST_ROWS
#define CW_FIRST_ROWS 1 /* many input channels: the input read in place where it fits */
#endif
#ifndef CW_FIRST_FEW
#define CW_FIRST_FEW 1 /* take the few-input-channel shapes too */
#endif
#ifndef CW_FIRST_FEW_K3_MAX_OC
/* few input channels, 3 wide: most output channels taken (AVX2 sets 48) */
#define CW_FIRST_FEW_K3_MAX_OC ((int64_t)1 << 40)
#endif

/* calls that took cw_run_first (the tests check that their shapes reach it) */
PCNN_INTERNAL int64_t CW_FIRST_RUNS;
/* of those, many-input-channel calls that took the src_pad copy, not first_rows.h (tested) */
PCNN_INTERNAL int64_t CW_FIRST_COPY_RUNS;

typedef struct {
    const pcnn_conv2d_desc *d;
    const float *src, *diff_dst;
    float *partials; /* per task: taps * ocp (dW) + ocp (bias) floats */
    int64_t taps, ocp, part; /* part = floats per task's partial */
    int64_t bands, rows_per_band, imgs_per_task, tasks;
    int64_t wpad; /* src_pad row width */
    int64_t sub_rows; /* output rows per dYT sub-band */
    int64_t cb_rows; /* output rows per copy band (src_pad) */
    int rmax; /* output vectors per tile (2, or CW_FIRST_MANY_R for many input channels) */
    int many; /* cw_first_many: copy bands, row masks, L2 prefetch */
    int rows; /* cw_first_many with the input read in place (first_rows.h): no src_pad */
    int oom;
} cw_first_ctx;

/* The same path for many input channels (a 4-vector tile: 64 output channels), where it
 * measured faster than the stride-1 phase-plane path: 3-wide kernels, stride 1, no
 * dilation, 64 or 128 output channels, rows of at least CW_FIRST_MANY_OW pixels, all
 * tasks' partials within CW_FIRST_MANY_PART_BYTES (about CW_FIRST_TASKS_MIN tasks, each
 * with a partial of every tap: resnet3x3 8 x 148 KB; at most 2 * CW_FIRST_TASKS_MIN tasks). */
static int cw_first_many(const pcnn_conv2d_desc *d) {
    if (d->groups != 1 || d->c <= CW_FIRST_MAX_CG || d->kw != 3 || d->kh > 16) return 0;
    if (d->stride_h != 1 || d->stride_w != 1 || d->dilation_h != 1 || d->dilation_w != 1) return 0;
    if ((d->oc != 64 && d->oc != 128) || d->ow < CW_FIRST_MANY_OW || d->ow > 4096) return 0;
    const int64_t tasks = 2 * CW_FIRST_TASKS_MIN; /* at most 15: see cw_run_first */
    const int64_t taps = d->c * d->kh * d->kw;
    return d->c <= ((int64_t)1 << 20) && d->iw <= 65536 &&
           (taps + 1) * d->oc * tasks * (int64_t)sizeof(float) <= CW_FIRST_MANY_PART_BYTES;
}
/* Whether the path takes the shape (the entry tries it first). */
static int cw_first_fits(const pcnn_conv2d_desc *d) {
    if (cw_first_many(d)) return 1;
    if (!CW_FIRST_FEW) return 0;
    if (d->groups != 1 || d->c > CW_FIRST_MID_CG || d->oc < 16 || d->dilation_w != 1) return 0;
    if (d->c > CW_FIRST_MAX_CG && (d->oh * d->ow > CW_FIRST_MID_PIXELS || d->oc > CW_FIRST_MID_OC)) {
        return 0;
    }
    if (d->kw != 3 && d->kw != 5 && d->kw != 7) return 0;
    if (d->kw == 3 && d->oc > CW_FIRST_FEW_K3_MAX_OC) return 0;
    /* src_pad holds a band's rows from its first window's top to its last window's bottom,
     * (ow - 1) * stride_w + kw wide: with strides past the window (gaps between windows) it
     * would copy rows and columns no tap reads, growing with the stride, not the work (the
     * fuzz harness's 64x64 input with stride 1000 x 100 wanted 52 MB of it). Such shapes go
     * to the other paths. */
    if (d->stride_w > d->kw || d->stride_h > (d->kh - 1) * d->dilation_h + 1) return 0;
    return d->kh <= 16 && d->ow <= 4096 && d->iw <= 65536;
}

/* The tile: acc (taps [t0, t0 + NR * KW) x output vectors [0, R) of the partial, row pitch
 * ocp) += over ny rows x ow pixels: dyt[p][r] * rows[j][y * rstep + x * s + kx]. */
static inline __attribute__((always_inline)) void
cw_first_tile(const int R, const int KW, const int NR, int first, float *acc, int64_t ocp,
              const float *dyt, const float *const *rows, int64_t ny, int64_t ow, int64_t s,
              int64_t rstep) {
    cw_vf a[4][7][4];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
        for (int k = 0; k < KW; ++k)
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r)
                a[j][k][r] = first ? cw_zero() : cw_load(acc + (j * KW + k) * ocp + r * CW_V);
    for (int64_t y = 0; y < ny; ++y) {
        const float *rp[4];
#pragma GCC unroll 8
        for (int j = 0; j < NR; ++j) rp[j] = rows[j] + y * rstep;
        for (int64_t x = 0; x < ow; ++x, dyt += ocp) {
            cw_vf g[4];
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r) g[r] = cw_load(dyt + r * CW_V);
#pragma GCC unroll 8
            for (int j = 0; j < NR; ++j) {
#pragma GCC unroll 8
                for (int k = 0; k < KW; ++k) {
                    const cw_vf b = cw_bcast(rp[j] + k);
#pragma GCC unroll 4
                    for (int r = 0; r < R; ++r) a[j][k][r] = cw_fma(b, g[r], a[j][k][r]);
                }
                rp[j] += s;
            }
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
        for (int k = 0; k < KW; ++k)
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r) cw_store(acc + (j * KW + k) * ocp + r * CW_V, a[j][k][r]);
}

/* most tap rows per tile (at most 4: the a[][][] bound): R * KW * NR accumulators + R dY +
 * 1 broadcast within CW_FIRST_REGS registers (31: R 4 -> 2 rows, R 2 -> 4 / 2 / 2 rows and
 * R 1 -> 4 rows for kw 3 / 5 / 7; 16: R 2 kw 3 -> 2 rows) */
static int cw_first_nr_max(int r, int64_t kw) {
    int nr = 4;
    while (nr > 1 && r * kw * nr + r + 1 > CW_FIRST_REGS) --nr;
    return nr;
}

#define CW_FIRST_ARGS first, acc, ocp, dyt, rows, ny, ow, s, rstep
#define CW_FIRST_NR(R, KW)                                                                  \
    switch (nr) {                                                                           \
    case 1: cw_first_tile(R, KW, 1, CW_FIRST_ARGS); break;                                  \
    case 2: cw_first_tile(R, KW, 2, CW_FIRST_ARGS); break;                                  \
    case 3: if (R * KW * 3 <= 28) cw_first_tile(R, KW, 3, CW_FIRST_ARGS); break;           \
    default: if (R * KW * 4 <= 28) cw_first_tile(R, KW, 4, CW_FIRST_ARGS); break;          \
    }
static void cw_first_run_tile(int r, int64_t kw, int nr, int first, float *acc, int64_t ocp,
                              const float *dyt, const float *const *rows, int64_t ny,
                              int64_t ow, int64_t s, int64_t rstep) {
    if (kw == 3) {
        if (r == 4) { /* CW_FIRST_REGS >= 29 */
            if (nr == 1) cw_first_tile(4, 3, 1, CW_FIRST_ARGS);
            else cw_first_tile(4, 3, 2, CW_FIRST_ARGS);
        } else if (r == 2) { CW_FIRST_NR(2, 3) } else { CW_FIRST_NR(1, 3) }
    } else if (kw == 5) {
        if (r == 2) { CW_FIRST_NR(2, 5) } else { CW_FIRST_NR(1, 5) }
    } else {
        if (r == 2) { CW_FIRST_NR(2, 7) } else { CW_FIRST_NR(1, 7) }
    }
}
#undef CW_FIRST_NR
#undef CW_FIRST_ARGS

/* dyt[p][0, ocp) = dY[o][p0 + p] for p < np (0 for o >= oc); bias[0, ocp) += sum over p */
static void cw_first_transpose(const cw_first_ctx *c, float *dyt, const float *dy_img,
                               const float *zero, int64_t p0, int64_t np, float *bias) {
    const pcnn_conv2d_desc *d = c->d;
    const int64_t ohw = d->oh * d->ow, ocp = c->ocp;
    for (int64_t ob = 0; ob < ocp; ob += CW_V) {
        const float *rows[CW_V];
        for (int j = 0; j < CW_V; ++j) {
            rows[j] = ob + j < d->oc ? dy_img + (ob + j) * ohw + p0 : zero;
        }
        int64_t p = 0;
        for (; p + CW_V <= np; p += CW_V) {
            /* dY comes from memory in CW_V row streams: fetch each row's line CW_FIRST_PF
             * blocks ahead (within the sub-band) */
            if (p + (CW_FIRST_PF + 1) * CW_V <= np) {
                for (int j = 0; j < CW_V; ++j) cw_prefetch(rows[j] + p + CW_FIRST_PF * CW_V);
            }
            cw_transpose_v(dyt + p * ocp + ob, ocp, rows, p);
        }
        for (; p < np; ++p) {
            for (int j = 0; j < CW_V; ++j) dyt[p * ocp + ob + j] = rows[j][p];
        }
        /* four chains (pixel p mod 4), added in a fixed tree: one chain waited on the add
         * latency (~20 % of cifar) */
        cw_vf s0 = cw_zero(), s1 = cw_zero(), s2 = cw_zero(), s3 = cw_zero();
        for (p = 0; p + 4 <= np; p += 4) {
            s0 = cw_add(s0, cw_load(dyt + p * ocp + ob));
            s1 = cw_add(s1, cw_load(dyt + (p + 1) * ocp + ob));
            s2 = cw_add(s2, cw_load(dyt + (p + 2) * ocp + ob));
            s3 = cw_add(s3, cw_load(dyt + (p + 3) * ocp + ob));
        }
        for (; p < np; ++p) s0 = cw_add(s0, cw_load(dyt + p * ocp + ob));
        cw_store(bias + ob, cw_add(cw_load(bias + ob), cw_add(cw_add(s0, s1), cw_add(s2, s3))));
    }
}

/* Lines to fetch into L2 a few at a time while the tiles run (many input channels): nseg
 * segments of bytes each, stride apart, from base; the next copy band's src rows (read from
 * memory by the copy: ~5 % of resnet3x3 in a profile) and the next sub-band's dY rows. */
typedef struct {
    const char *seg; /* the current segment (past the last one when done: pcnn_byte_at) */
    int64_t stride, seg_lines, segs_left, line, per_call;
} cw_first_pf;

static void cw_first_pf_set(cw_first_pf *f, const float *base, int64_t stride_floats,
                            int64_t nseg, int64_t floats, int64_t calls) {
    f->seg = (const char *)base;
    f->stride = stride_floats * (int64_t)sizeof(float);
    /* + 1: base need not start a line */
    f->seg_lines = (floats * (int64_t)sizeof(float) + 63) / 64 + 1;
    f->segs_left = floats > 0 ? nseg : 0;
    f->line = 0;
    const int64_t total = f->segs_left * f->seg_lines;
    f->per_call = calls > 0 ? (total + calls - 1) / calls : total;
}

static inline void cw_first_pf_step(cw_first_pf *f) {
    for (int64_t k = 0; k < f->per_call && f->segs_left > 0; ++k) {
        /* the extra line (base need not start one) may lie past the buffer */
        cw_prefetch_l2(pcnn_byte_at(f->seg, f->line * 64));
        if (++f->line == f->seg_lines) {
            f->line = 0;
            f->seg = pcnn_byte_at(f->seg, f->stride);
            --f->segs_left;
        }
    }
}

#include "first_rows.h"

/* A task of the in-place variant (first_rows.h): sub-bands of whole images' rows, the next
 * sub-band's dY rows prefetched into L2 over the current one's tiles (its new input rows
 * too measured 0.99-1.01x: left to the hardware prefetchers). */
static void cw_first_rows_task(cw_first_ctx *c, float *part, int64_t n0, int64_t n1,
                               int64_t ya, int64_t yb) {
    const pcnn_conv2d_desc *d = c->d;
    const int64_t ocp = c->ocp, ow = d->ow;
    const int64_t dyt_floats = c->sub_rows * ow * ocp;
    const int64_t zero_floats = c->sub_rows * ow + CW_V;
    float *dyt = cw_scratch_get((size_t)(dyt_floats + zero_floats + CW_V));
    if (dyt == NULL) {
        __atomic_store_n(&c->oom, 1, __ATOMIC_RELAXED);
        return;
    }
    float *zero = dyt + dyt_floats;
    memset(zero, 0, (size_t)zero_floats * sizeof(float));
    const int64_t nrm = cw_first_nr_max(c->rmax, 3);
    const int64_t tiles = d->kh * ((d->c + nrm - 1) / nrm) *
                          ((ocp + c->rmax * CW_V - 1) / (c->rmax * CW_V));
    cw_first_pf pf_dy = {0};
    for (int64_t n = n0; n < n1; ++n) {
        for (int64_t y0 = ya; y0 < yb; y0 += c->sub_rows) {
            const int64_t ny = yb - y0 < c->sub_rows ? yb - y0 : c->sub_rows;
            cw_first_transpose(c, dyt, c->diff_dst + n * d->oc * d->oh * ow, zero, y0 * ow,
                               ny * ow, part + c->taps * ocp);
            /* the next sub-band: this image's next, or the next image's first */
            const int inside = y0 + ny < yb;
            const int64_t tn = inside ? n : n + 1, ty = inside ? y0 + ny : ya;
            const int64_t tny = yb - ty < c->sub_rows ? yb - ty : c->sub_rows;
            pf_dy.segs_left = 0;
            if (tn < n1 && tny > 0) {
                cw_first_pf_set(&pf_dy, c->diff_dst + (tn * d->oc * d->oh + ty) * ow, d->oh * ow,
                                d->oc, tny * ow, tiles);
            }
            cw_first_rows_subband(c, part, dyt, n, y0, ny, n == n0 && y0 == ya, &pf_dy);
        }
    }
}

static void cw_first_task(void *p, int64_t task) {
    cw_first_ctx *c = p;
    const pcnn_conv2d_desc *d = c->d;
    const int64_t band = task % c->bands, n0 = task / c->bands * c->imgs_per_task;
    const int64_t n1 = n0 + c->imgs_per_task < d->n ? n0 + c->imgs_per_task : d->n;
    const int64_t ya = band * c->rows_per_band;
    const int64_t yb = ya + c->rows_per_band < d->oh ? ya + c->rows_per_band : d->oh;
    float *part = c->partials + task * c->part;
    if (ya >= yb || d->n == 0 || d->ow == 0) { /* no pixels: a zero partial */
        memset(part, 0, (size_t)c->part * sizeof(float));
        return;
    }
    /* the taps' partials start from zero in the task's first sub-band's tiles (first) */
    memset(part + c->taps * c->ocp, 0, (size_t)c->ocp * sizeof(float));
    if (c->rows) {
        cw_first_rows_task(c, part, n0, n1, ya, yb);
        return;
    }
    const int64_t s = d->stride_w, sh = d->stride_h, kw = d->kw, kh = d->kh, dh = d->dilation_h;
    const int64_t ocp = c->ocp, wpad = c->wpad, ow = d->ow;
    /* input rows of a copy band (cb_rows output rows) */
    const int64_t inr = (c->cb_rows - 1) * sh + (kh - 1) * dh + 1;
    const int64_t plane = inr * wpad;
    const int64_t dyt_floats = c->sub_rows * ow * ocp;
    const int64_t zero_floats = c->sub_rows * ow + CW_V;
    float *buf = cw_scratch_get((size_t)(d->c * plane + dyt_floats + zero_floats + 2 * CW_V));
    if (buf == NULL) {
        __atomic_store_n(&c->oom, 1, __ATOMIC_RELAXED);
        return;
    }
    float *srcp = buf, *dyt = buf + d->c * plane + CW_V, *zero = dyt + dyt_floats; /* + slack */
    memset(zero, 0, (size_t)zero_floats * sizeof(float));
    const int64_t trows = d->c * kh;
    /* the row masks of the src_pad copy, the same for every row (many input channels: the
     * per-vector lane arithmetic of cw_load_row sat in the copy's profile) */
    cw_rmask mask[CW_FIRST_MASKS];
    const int64_t nvec = (wpad + CW_V - 1) / CW_V;
    const int64_t nmask = c->many && nvec <= CW_FIRST_MASKS ? nvec : 0;
    for (int64_t k = 0; k < nmask; ++k) mask[k] = cw_row_mask(k * CW_V - d->pad_left, d->iw);
    /* tile calls per sub-band (prefetch pacing, many input channels) */
    const int64_t nrm = cw_first_nr_max(c->rmax, kw);
    const int64_t tiles = (trows + nrm - 1) / nrm * ((ocp + c->rmax * CW_V - 1) / (c->rmax * CW_V));
    const int pf_on = c->many;
    cw_first_pf pf_src = {0}, pf_dy = {0};
    for (int64_t n = n0; n < n1; ++n) {
        for (int64_t ca = ya; ca < yb; ca += c->cb_rows) {
            const int64_t cb = yb - ca < c->cb_rows ? yb - ca : c->cb_rows;
            const int64_t cinr = (cb - 1) * sh + (kh - 1) * dh + 1;
            /* the next copy band (this image's or the next image's first) */
            const int64_t nn = ca + cb < yb ? n : n + 1, na = ca + cb < yb ? ca + cb : ya;
            if (pf_on && nn < n1) {
                const int64_t ncb = yb - na < c->cb_rows ? yb - na : c->cb_rows;
                int64_t lo = na * sh - d->pad_top, hi = lo + (ncb - 1) * sh + (kh - 1) * dh + 1;
                if (lo < 0) lo = 0;
                if (hi > d->ih) hi = d->ih;
                const int64_t subs = (cb + c->sub_rows - 1) / c->sub_rows;
                cw_first_pf_set(&pf_src, c->src + (nn * d->c * d->ih + lo) * d->iw, d->ih * d->iw,
                                d->c, hi > lo ? (hi - lo) * d->iw : 0, subs * tiles);
            } else {
                pf_src.segs_left = 0;
            }
            /* the copy band's input rows, zero-padded:
             * src_pad[ci][r][q] = src[ci][iy0 + r][q - pl] */
            const int64_t iy0 = ca * sh - d->pad_top;
            for (int64_t ci = 0; ci < d->c; ++ci) {
                const float *pl_src = c->src + (n * d->c + ci) * d->ih * d->iw;
                for (int64_t r = 0; r < cinr; ++r) {
                    float *o = srcp + ci * plane + r * wpad;
                    const int64_t iy = iy0 + r;
                    /* whole vectors (masked at the row's ends; up to CW_V - 1 floats into the
                     * next row, rewritten next, or the slack after the planes) */
                    if (iy < 0 || iy >= d->ih) {
                        for (int64_t q = 0; q < wpad; q += CW_V) cw_store(o + q, cw_zero());
                        continue;
                    }
                    const float *row = pl_src + iy * d->iw;
                    if (nmask > 0) {
                        for (int64_t k = 0; k < nmask; ++k)
                            cw_store(o + k * CW_V,
                                     cw_load_rowm(row, k * CW_V - d->pad_left, mask[k]));
                        continue;
                    }
                    for (int64_t q = 0; q < wpad; q += CW_V) {
                        cw_store(o + q, cw_load_row(row, q - d->pad_left, d->iw));
                    }
                }
            }
            const float *dy_img = c->diff_dst + n * d->oc * d->oh * ow;
            for (int64_t y0 = ca; y0 < ca + cb; y0 += c->sub_rows) {
                const int64_t ny = ca + cb - y0 < c->sub_rows ? ca + cb - y0 : c->sub_rows;
                cw_first_transpose(c, dyt, dy_img, zero, y0 * ow, ny * ow, part + c->taps * ocp);
                if (pf_on) { /* the next sub-band's dY rows */
                    const int inside = y0 + ny < ca + cb;
                    const int64_t ty = inside ? y0 + ny : na, tn = inside ? n : nn;
                    const int64_t tend =
                        inside ? ca + cb : (yb - na < c->cb_rows ? yb : na + c->cb_rows);
                    const int64_t tny = tend - ty < c->sub_rows ? tend - ty : c->sub_rows;
                    if (tn < n1 && tny > 0) {
                        cw_first_pf_set(&pf_dy, c->diff_dst + (tn * d->oc * d->oh + ty) * ow,
                                        d->oh * ow, d->oc, tny * ow, tiles);
                    } else {
                        pf_dy.segs_left = 0;
                    }
                }
                for (int64_t ov = 0; ov < ocp;) {
                    int r = ocp - ov >= c->rmax * CW_V ? c->rmax : ocp - ov >= 2 * CW_V ? 2 : 1;
                    /* one row of a 2-vector tile must fit the registers (AVX2, 7 wide: 2 x 7
                     * accumulators + 2 dY + 1 broadcast = 17 of 16 spilled) */
                    if (r == 2 && 2 * kw + 3 > CW_FIRST_REGS) r = 1;
                    const int nrmax = cw_first_nr_max(r, kw);
                    const int64_t blocks = (trows + nrmax - 1) / nrmax;
                    const int64_t nr_even = (trows + blocks - 1) / blocks;
                    for (int64_t tr = 0; tr < trows; tr += nr_even) {
                        const int nr = (int)(trows - tr < nr_even ? trows - tr : nr_even);
                        const float *rows[4];
                        for (int j = 0; j < nr; ++j) {
                            const int64_t ci = (tr + j) / kh, ky = (tr + j) - ci * kh;
                            rows[j] = srcp + ci * plane + ((y0 - ca) * sh + ky * dh) * wpad;
                        }
                        if (pf_on) {
                            cw_first_pf_step(&pf_src);
                            cw_first_pf_step(&pf_dy);
                        }
                        cw_first_run_tile(r, kw, nr, n == n0 && y0 == ya,
                                          part + tr * kw * ocp + ov, ocp, dyt + ov, rows, ny,
                                          ow, s, sh * wpad);
                    }
                    ov += r * CW_V;
                }
            }
        }
    }
}

/* dW[o][t] (and bias[o]) = the partials added in task order; tasks of output vectors */
typedef struct {
    const cw_first_ctx *c;
    float *diff_weights, *bias;
} cw_first_sum_ctx;

static void cw_first_sum_task(void *p, int64_t ob) {
    const cw_first_sum_ctx *sc = p;
    const cw_first_ctx *c = sc->c;
    const int64_t oc = c->d->oc, o0 = ob * CW_V;
    float v[CW_V];
    int64_t t = 0;
    if (o0 + CW_V <= oc) {
        /* whole CW_V x CW_V blocks: the sums of CW_V taps, then one transpose into CW_V dW rows
         * (the scalar stores, CW_V rows apart, were ~1.5 % of resnet3x3) */
        float blk[CW_V][CW_V];
        const float *rows[CW_V];
        for (int j = 0; j < CW_V; ++j) rows[j] = blk[j];
        for (; t + CW_V <= c->taps; t += CW_V) {
            for (int j = 0; j < CW_V; ++j) {
                const float *q = c->partials + (t + j) * c->ocp + o0;
                cw_vf acc = cw_load(q);
                for (int64_t k = 1; k < c->tasks; ++k) acc = cw_add(acc, cw_load(q + k * c->part));
                cw_store(blk[j], acc);
            }
            /* out[i * taps + j] = blk[j][i]: dW[o0 + i][t + j] */
            cw_transpose_v(sc->diff_weights + o0 * c->taps + t, c->taps, rows, 0);
        }
    }
    for (; t <= c->taps; ++t) {
        const float *q = c->partials + t * c->ocp + o0;
        cw_vf acc = cw_load(q);
        for (int64_t k = 1; k < c->tasks; ++k) acc = cw_add(acc, cw_load(q + k * c->part));
        cw_store(v, acc);
        for (int64_t j = 0; j < CW_V && o0 + j < oc; ++j) {
            if (t < c->taps) sc->diff_weights[(o0 + j) * c->taps + t] = v[j];
            else sc->bias[o0 + j] = v[j];
        }
    }
}

/* Runs the path (cw_first_fits(d) holds); bias may be NULL. */
static int32_t cw_run_first(const pcnn_conv2d_desc *d, const float *src, const float *diff_dst,
                            float *diff_weights, float *diff_bias, int padded) {
    cw_first_ctx c;
    memset(&c, 0, sizeof c);
    c.d = d;
    c.src = src;
    c.diff_dst = diff_dst;
    c.taps = d->c * d->kh * d->kw;
    c.ocp = (d->oc + CW_V - 1) / CW_V * CW_V;
    c.part = (c.taps + 1) * c.ocp;
    c.wpad = (d->ow - 1) * d->stride_w + d->kw;
    c.imgs_per_task = (d->n + CW_FIRST_IMAGES_MAX - 1) / CW_FIRST_IMAGES_MAX;
    if (cw_first_many(d)) { /* about CW_FIRST_TASKS_MIN tasks: each has a partial of all taps */
        c.imgs_per_task = d->n / CW_FIRST_TASKS_MIN > 1 ? d->n / CW_FIRST_TASKS_MIN : 1;
    }
    const int64_t groups = (d->n + c.imgs_per_task - 1) / c.imgs_per_task;
    c.bands = groups >= CW_FIRST_TASKS_MIN ? 1 : (CW_FIRST_TASKS_MIN + groups - 1) / groups;
    if (c.bands > d->oh) c.bands = d->oh;
    c.rows_per_band = (d->oh + c.bands - 1) / c.bands;
    c.bands = (d->oh + c.rows_per_band - 1) / c.rows_per_band;
    c.tasks = groups * c.bands;
    c.sub_rows = CW_FIRST_DYT_BYTES / (int64_t)sizeof(float) / (d->ow * c.ocp);
    if (c.sub_rows < 1) c.sub_rows = 1;
    if (c.sub_rows > c.rows_per_band) c.sub_rows = c.rows_per_band;
    /* sub-bands evened out within a band (no short last one) */
    const int64_t subs = (c.rows_per_band + c.sub_rows - 1) / c.sub_rows;
    c.sub_rows = (c.rows_per_band + subs - 1) / subs;
    c.cb_rows = c.rows_per_band;
    c.rmax = 2;
    if (cw_first_many(d)) {
        c.many = 1;
        c.rmax = CW_FIRST_MANY_R;
        c.rows = CW_FIRST_ROWS && cw_first_rows_fit(d);
        /* copy bands of src_pad of at most CW_FIRST_CB_BYTES, whole sub-bands */
        const int64_t row_bytes = d->c * c.wpad * (int64_t)sizeof(float);
        int64_t cbr =
            (CW_FIRST_CB_BYTES / row_bytes - (d->kh - 1) * d->dilation_h - 1) / d->stride_h + 1;
        cbr = cbr / c.sub_rows * c.sub_rows;
        if (cbr < c.sub_rows) cbr = c.sub_rows;
        if (cbr < c.cb_rows) c.cb_rows = cbr;
    }

    int64_t floats;
    if (pcnn_mul_i64(c.tasks, c.part, &floats)) return PCNN_STATUS_UNSUPPORTED;
    c.partials = pcnn_scratch_get(PCNN_SCRATCH_CONV_BWD_DY, (size_t)floats * sizeof(float));
    float *bias = diff_bias;
    if (bias == NULL) {
        bias = pcnn_scratch_get(PCNN_SCRATCH_CONV_BIAS_SUMS, (size_t)d->oc * sizeof(float));
    }
    if (c.partials == NULL || bias == NULL) return PCNN_STATUS_OUT_OF_MEMORY;

    int64_t macs;
    if (pcnn_mul_i64(d->n * d->oc, d->oh * d->ow, &macs) || pcnn_mul_i64(macs, c.taps, &macs)) {
        macs = INT64_MAX;
    }
    pcnn_parallel_for_work(c.tasks, macs, cw_first_task, &c);
    if (__atomic_load_n(&c.oom, __ATOMIC_RELAXED)) return PCNN_STATUS_OUT_OF_MEMORY;
    cw_first_sum_ctx sc = {&c, diff_weights, bias};
    pcnn_parallel_for_work(c.ocp / CW_V, c.tasks * c.part, cw_first_sum_task, &sc);
    __atomic_fetch_add(&CW_FIRST_RUNS, 1, __ATOMIC_RELAXED);
    if (c.many && !c.rows) __atomic_fetch_add(&CW_FIRST_COPY_RUNS, 1, __ATOMIC_RELAXED);
    if (padded) {
        for (int64_t o = 0; o < d->oc; ++o) {
            if (!isfinite(bias[o])) return PCNN_STATUS_UNSUPPORTED; /* see "Padding" above */
        }
    }
    return PCNN_STATUS_OK;
}
