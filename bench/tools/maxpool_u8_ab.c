/*
 * Would a 1-byte window-position workspace (what oneDNN's max-pool training keeps) make our
 * max-pool backward faster than the int32 plane-offset indices of the C ABI? A measurement,
 * not library code: the public ABI is unchanged, and nothing here is called by the library.
 *
 * Same process, same data, AVX-512, 1 thread, blocks of calls alternating (the order rotating
 * per round; round 0 a warm-up), thread CPU time, medians:
 *   lib  pcnn_maxpool2d_bwd (the library's large-plane path, int32 indices)
 *   i32  a copy of that path (zero one output row ahead, scalar scatter, each index checked
 *        against the zeroed part), compiled here: the baseline the prototypes differ from by
 *        one thing each
 *   u8   the same loop reading a u8 tap number p = ky * kw + kx per output; the plane offset
 *        is rebuilt as the window's origin + tap_off[p] (a 9-entry table)
 *   u8v  the same, with the offsets of 16 outputs computed in one vector step (zero-extend 16
 *        bytes, permute the tap table, add the origins) into a stack row, then the scalar
 *        scatter (same order, same check)
 * Every variant's diff_src is compared bit for bit with the library's (MISMATCH otherwise).
 * Stride, padding and dilation as in the row; the tap table assumes kh * kw <= 16.
 *
 * Build: gcc -O3 -ffp-contract=off -march=x86-64-v4 -o maxpool_u8_ab bench/tools/maxpool_u8_ab.c \
 *          -Inative/include -Ibench/tools -L<dir of libpanamacnn.so> -lpanamacnn -Wl,-rpath,<dir>
 * Run:   ./maxpool_u8_ab N C H W K STRIDE PAD ROUNDS   (8 64 112 112 3 2 1 = pool_resnet;
 *        N = 2 keeps the 9.6 MB of a call in the last-level cache)
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panamacnn/panamacnn.h"
#include "timing.h"

static void zero_floats(float *p, int64_t n) {
    const __m512 z = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(p + i, z);
    if (i < n) _mm512_mask_storeu_ps(p + i, (__mmask16)((1u << (n - i)) - 1), z);
}

/* input rows the windows of output row y reach (exclusive end), clamped */
static int64_t rows_reached(const pcnn_maxpool2d_desc *d, int64_t y) {
    int64_t rows = y * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h + 1;
    return rows < 0 ? 0 : rows > d->ih ? d->ih : rows;
}

/* One plane, int32 plane offsets: the library's large-plane loop (maxpool2d-bwd-simd.h,
 * pm_bwd_task). */
static int plane_i32(const pcnn_maxpool2d_desc *d, const float *dd, const int32_t *ind, float *ds) {
    const int64_t iw = d->iw, ow = d->ow, plane = d->ih * d->iw;
    int64_t zeroed = 0;
    for (int64_t y = 0; y < d->oh; ++y) {
        const int64_t rows = rows_reached(d, y);
        if (rows * iw > zeroed) {
            zero_floats(ds + zeroed, rows * iw - zeroed);
            zeroed = rows * iw;
        }
        const int32_t *ri = ind + y * ow;
        const float *rd = dd + y * ow;
        for (int64_t i = 0; i < ow; ++i) {
            const int32_t at = ri[i];
            if ((uint32_t)at >= (uint64_t)zeroed) {
                if (at < 0 || at >= plane) return 0;
                zero_floats(ds + zeroed, plane - zeroed);
                zeroed = plane;
            }
            ds[at] += rd[i];
        }
    }
    if (zeroed < plane) zero_floats(ds + zeroed, plane - zeroed);
    return 1;
}

/* tap number -> offset from the window's origin (iy0 * iw + ix0) */
static void tap_offsets(const pcnn_maxpool2d_desc *d, int32_t off[16]) {
    memset(off, 0, 16 * sizeof off[0]);
    for (int64_t ky = 0; ky < d->kh; ++ky)
        for (int64_t kx = 0; kx < d->kw; ++kx)
            off[ky * d->kw + kx] = (int32_t)(ky * d->dilation_h * d->iw + kx * d->dilation_w);
}

/* One plane, u8 tap numbers, scalar offset rebuild. The check is the same unsigned compare. */
static int plane_u8(const pcnn_maxpool2d_desc *d, const float *dd, const uint8_t *pos, float *ds,
                    const int32_t off[16]) {
    const int64_t iw = d->iw, ow = d->ow, plane = d->ih * d->iw, sw = d->stride_w;
    int64_t zeroed = 0;
    for (int64_t y = 0; y < d->oh; ++y) {
        const int64_t rows = rows_reached(d, y);
        if (rows * iw > zeroed) {
            zero_floats(ds + zeroed, rows * iw - zeroed);
            zeroed = rows * iw;
        }
        const int64_t origin = (y * d->stride_h - d->pad_top) * iw - d->pad_left;
        const uint8_t *rp = pos + y * ow;
        const float *rd = dd + y * ow;
        for (int64_t i = 0; i < ow; ++i) {
            const int64_t at = origin + i * sw + off[rp[i] & 15];
            if ((uint64_t)at >= (uint64_t)zeroed) {
                if (at < 0 || at >= plane) return 0;
                zero_floats(ds + zeroed, plane - zeroed);
                zeroed = plane;
            }
            ds[at] += rd[i];
        }
    }
    if (zeroed < plane) zero_floats(ds + zeroed, plane - zeroed);
    return 1;
}

/* One plane, u8 tap numbers, offsets of 16 outputs per vector step. */
static int plane_u8v(const pcnn_maxpool2d_desc *d, const float *dd, const uint8_t *pos, float *ds,
                     const int32_t off[16]) {
    const int64_t iw = d->iw, ow = d->ow, plane = d->ih * d->iw, sw = d->stride_w;
    const __m512i table = _mm512_loadu_si512(off);
    const __m512i step = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32((int32_t)sw));
    int32_t at_row[4096 + 16];
    if (ow > 4096) return -1;
    int64_t zeroed = 0;
    for (int64_t y = 0; y < d->oh; ++y) {
        const int64_t rows = rows_reached(d, y);
        if (rows * iw > zeroed) {
            zero_floats(ds + zeroed, rows * iw - zeroed);
            zeroed = rows * iw;
        }
        const int64_t origin = (y * d->stride_h - d->pad_top) * iw - d->pad_left;
        const uint8_t *rp = pos + y * ow;
        const float *rd = dd + y * ow;
        for (int64_t i = 0; i < ow; i += 16) {
            const int nl = ow - i < 16 ? (int)(ow - i) : 16;
            const __m128i b = _mm_maskz_loadu_epi8((__mmask16)((1u << nl) - 1), rp + i);
            const __m512i p = _mm512_and_si512(_mm512_cvtepu8_epi32(b), _mm512_set1_epi32(15));
            const __m512i a = _mm512_add_epi32(_mm512_permutexvar_epi32(p, table),
                                               _mm512_add_epi32(step, _mm512_set1_epi32((int32_t)(origin + i * sw))));
            _mm512_storeu_si512(at_row + i, a);
        }
        for (int64_t i = 0; i < ow; ++i) {
            const int32_t at = at_row[i];
            if ((uint32_t)at >= (uint64_t)zeroed) {
                if (at < 0 || at >= plane) return 0;
                zero_floats(ds + zeroed, plane - zeroed);
                zeroed = plane;
            }
            ds[at] += rd[i];
        }
    }
    if (zeroed < plane) zero_floats(ds + zeroed, plane - zeroed);
    return 1;
}

typedef struct {
    const pcnn_maxpool2d_desc *d;
    const float *dd;
    const int32_t *ind;
    const uint8_t *pos;
    const int32_t *off;
} args;

static int run(int variant, const args *a, float *ds) {
    const pcnn_maxpool2d_desc *d = a->d;
    const int64_t planes = d->n * d->c, op = d->oh * d->ow, ip = d->ih * d->iw;
    if (variant == 0) return pcnn_maxpool2d_bwd(d, a->dd, a->ind, ds) == PCNN_STATUS_OK;
    for (int64_t t = 0; t < planes; ++t) {
        const float *dd = a->dd + t * op;
        float *p = ds + t * ip;
        const int ok = variant == 1   ? plane_i32(d, dd, a->ind + t * op, p)
                       : variant == 2 ? plane_u8(d, dd, a->pos + t * op, p, a->off)
                                      : plane_u8v(d, dd, a->pos + t * op, p, a->off);
        if (ok != 1) return 0;
    }
    return 1;
}

enum { NV = 4 };
static const char *const NAMES[NV] = {"lib", "i32", "u8", "u8v"};

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: %s N C H W K STRIDE PAD ROUNDS\n", argv[0]);
        return 2;
    }
    pcnn_maxpool2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = atoi(argv[1]);
    d.c = atoi(argv[2]);
    d.ih = atoi(argv[3]);
    d.iw = atoi(argv[4]);
    d.kh = d.kw = atoi(argv[5]);
    d.stride_h = d.stride_w = atoi(argv[6]);
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = atoi(argv[7]);
    d.dilation_h = d.dilation_w = 1;
    const int rounds = atoi(argv[8]);
    if (rounds < 1 || rounds > 200 || pcnn_maxpool2d_desc_init(&d) || d.kh * d.kw > 16 ||
        pcnn_set_num_threads(1)) {
        fprintf(stderr, "bad desc or rounds (or kh * kw > 16)\n");
        return 1;
    }
    const size_t ni = (size_t)d.n * d.c * d.ih * d.iw, no = (size_t)d.n * d.c * d.oh * d.ow;
    float *x = malloc(ni * 4), *y = malloc(no * 4), *dy = malloc(no * 4);
    int32_t *idx = malloc(no * 4);
    uint8_t *pos = malloc(no);
    float *dx[NV];
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    if (pcnn_maxpool2d_fwd(&d, x, y, idx)) return 1;
    /* tap numbers of the same maxima: what a forward writing u8 positions would have written */
    for (size_t i = 0; i < no; i++) {
        const int64_t o = (int64_t)(i % ((size_t)d.oh * d.ow)), oy = o / d.ow, ox = o % d.ow;
        const int64_t iy = idx[i] / d.iw, ix = idx[i] % d.iw;
        const int64_t ky = iy - (oy * d.stride_h - d.pad_top), kx = ix - (ox * d.stride_w - d.pad_left);
        if (ky < 0 || ky >= d.kh || kx < 0 || kx >= d.kw) return 1;
        pos[i] = (uint8_t)(ky * d.kw + kx);
    }
    int32_t off[16];
    tap_offsets(&d, off);
    args a = {&d, dy, idx, pos, off};
    for (int v = 0; v < NV; v++) { /* touch everything before timing (first touch is slow here) */
        dx[v] = malloc(ni * 4);
        memset(dx[v], 0, ni * 4);
        if (!run(v, &a, dx[v])) {
            fprintf(stderr, "%s failed\n", NAMES[v]);
            return 1;
        }
    }
    double *t[NV], *r[NV];
    for (int v = 0; v < NV; v++) t[v] = malloc(rounds * sizeof(double)), r[v] = malloc(rounds * sizeof(double));
    static double samples[2000];
    for (int k = 0; k < rounds + 1; k++) {
        double m[NV];
        for (int j = 0; j < NV; j++) {
            const int v = (k % 2) ? (NV - 1 - (j + k / 2) % NV) : (j + k / 2) % NV; /* rotate, both orders */
            int ns = 0;
            const double end = timing_now() + 0.1;
            while (ns < 5 || (timing_now() < end && ns < 2000)) {
                const double t0 = timing_thread_cpu();
                run(v, &a, dx[v]);
                samples[ns++] = timing_thread_cpu() - t0;
            }
            m[v] = timing_median(samples, ns) * 1e6;
        }
        if (k == 0) continue;
        for (int v = 0; v < NV; v++) t[v][k - 1] = m[v], r[v][k - 1] = m[v] / m[1];
    }
    for (int v = 1; v < NV; v++) {
        if (memcmp(dx[0], dx[v], ni * 4) != 0) printf("MISMATCH %s vs lib\n", NAMES[v]);
    }
    printf("n=%d c=%d %dx%d k%d s%d p%d, 1 thread, thread CPU time, %d rounds:", (int)d.n, (int)d.c, (int)d.ih,
           (int)d.iw, (int)d.kh, (int)d.stride_h, (int)d.pad_top, rounds);
    for (int v = 0; v < NV; v++) printf("  %s %.1f us", NAMES[v], timing_median(t[v], rounds));
    printf("\n  per-round ratio to i32:");
    for (int v = 0; v < NV; v++) printf("  %s %.3f", NAMES[v], timing_median(r[v], rounds));
    printf("\n");
    return 0;
}
