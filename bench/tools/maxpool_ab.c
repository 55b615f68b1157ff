/*
 * A/B of two builds of libpanamacnn in one process (dlopen, RTLD_LOCAL): max-pool forward
 * (with indices), fwd_noidx (indices NULL, as Java MaxPool2d in eval()) or backward. Blocks of
 * calls of one build then the other, the order alternating per round (round 0 is a warm-up);
 * per block the median call time. At 1 thread the clock is the calling thread's CPU time (what
 * a shared machine's other load does not inflate), at more threads the monotonic clock (the
 * workers' time is not the caller's). Prints both medians over the rounds, the median per-round
 * ratio new/old, the fastest block of each, and MISMATCH when the two builds' outputs differ in
 * any bit (forward: values and indices; backward: diff_src).
 * On a shared machine this compares two kernels under the same load; separate runs do not.
 * Build: gcc -O2 -o maxpool_ab bench/tools/maxpool_ab.c -Inative/include -ldl
 * fwd_taps: pcnn_maxpool2d_fwd_taps (one tap byte per output) in both builds; forward:fwd_taps:
 * OLD.so's int32 forward against NEW.so's fwd_taps (MISMATCH unless dst bits agree and every
 * tap names OLD's index).
 * bwd_taps: the backward from the compact mask (pcnn_maxpool2d_bwd_taps) in both builds, the
 * taps from OLD's pcnn_maxpool2d_fwd_taps; backward:bwd_taps: OLD's int32 backward against
 * NEW's mask backward on the same winners (what a caller switching to the mask sees).
 * Run:   ./maxpool_ab OLD.so NEW.so N C H W K STRIDE PAD PASS THREADS ROUNDS, PASS one of
 *        forward|fwd_noidx|backward|fwd_taps|forward:fwd_taps|bwd_taps|backward:bwd_taps
 *        (8 64 112 112 3 2 1 = pool_resnet, 32 64 56 56 2 2 0 = pool_mid; a smaller N or C puts
 *        the call in cache, e.g. 1 8 112 112 3 2 1 in L2)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panamacnn/panamacnn.h"
#include "timing.h"

typedef int32_t (*init_fn)(pcnn_maxpool2d_desc *);
typedef int32_t (*fwd_fn)(const pcnn_maxpool2d_desc *, const float *, float *, int32_t *);
typedef int32_t (*bwd_fn)(const pcnn_maxpool2d_desc *, const float *, const int32_t *, float *);
typedef int32_t (*thr_fn)(int32_t);
typedef int32_t (*fwd_taps_fn)(const pcnn_maxpool2d_desc *, const float *, float *, uint8_t *);
typedef int32_t (*bwd_taps_fn)(const pcnn_maxpool2d_desc *, const float *, const uint8_t *, float *);
typedef struct {
    init_fn init;
    fwd_fn fwd;
    bwd_fn bwd;
    thr_fn thr;
    fwd_taps_fn fwd_taps; /* NULL in builds before the compact mask */
    bwd_taps_fn bwd_taps;
} lib;

static double (*g_clock)(void) = timing_now;

static void *amalloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

static lib load(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        exit(1);
    }
    lib l = {(init_fn)dlsym(h, "pcnn_maxpool2d_desc_init"), (fwd_fn)dlsym(h, "pcnn_maxpool2d_fwd"),
             (bwd_fn)dlsym(h, "pcnn_maxpool2d_bwd"), (thr_fn)dlsym(h, "pcnn_set_num_threads"),
             (fwd_taps_fn)dlsym(h, "pcnn_maxpool2d_fwd_taps"),
             (bwd_taps_fn)dlsym(h, "pcnn_maxpool2d_bwd_taps")};
    if (!l.init || !l.fwd || !l.bwd || !l.thr) {
        fprintf(stderr, "%s: a pcnn_maxpool2d / pcnn_set_num_threads symbol is missing\n", path);
        exit(1);
    }
    return l;
}

int main(int argc, char **argv) {
    if (argc != 13) {
        fprintf(stderr, "usage: %s OLD.so NEW.so N C H W K STRIDE PAD "
                "forward|fwd_noidx|backward|fwd_taps|forward:fwd_taps|bwd_taps|backward:bwd_taps "
                "THREADS ROUNDS\n", argv[0]);
        return 2;
    }
    const char *pass = argv[10];
    /* mask backward per side (OLD, NEW) */
    const int mask[2] = {!strcmp(pass, "bwd_taps"),
                         !strcmp(pass, "bwd_taps") || !strcmp(pass, "backward:bwd_taps")};
    const int bwd = !strcmp(pass, "backward") || mask[1], noidx = !strcmp(pass, "fwd_noidx");
    /* use_taps[j]: build j runs fwd_taps instead of the int32 forward */
    const int taps_ab = !strcmp(pass, "fwd_taps"), idx_taps = !strcmp(pass, "forward:fwd_taps");
    const int use_taps[2] = {taps_ab, taps_ab || idx_taps};
    if (!bwd && !noidx && !taps_ab && !idx_taps && strcmp(pass, "forward")) {
        fprintf(stderr, "pass must be forward, fwd_noidx, backward, fwd_taps, forward:fwd_taps, "
                "bwd_taps or backward:bwd_taps, not %s\n", pass);
        return 2;
    }
    lib L[2] = {load(argv[1]), load(argv[2])};
    for (int j = 0; j < 2; j++) {
        if (use_taps[j] && L[j].fwd_taps == NULL) {
            fprintf(stderr, "%s has no pcnn_maxpool2d_fwd_taps\n", argv[1 + j]);
            return 1;
        }
    }
    if ((mask[1] && (!L[0].fwd_taps || !L[1].bwd_taps)) || (mask[0] && !L[0].bwd_taps)) {
        fprintf(stderr, "%s needs pcnn_maxpool2d_fwd_taps / _bwd_taps\n", pass);
        return 1;
    }
    pcnn_maxpool2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = atoi(argv[3]);
    d.c = atoi(argv[4]);
    d.ih = atoi(argv[5]);
    d.iw = atoi(argv[6]);
    d.kh = d.kw = atoi(argv[7]);
    d.stride_h = d.stride_w = atoi(argv[8]);
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = atoi(argv[9]);
    d.dilation_h = d.dilation_w = 1;
    const int threads = atoi(argv[11]), rounds = atoi(argv[12]);
    if (rounds < 1 || L[0].init(&d)) {
        fprintf(stderr, "bad desc or rounds\n");
        return 1;
    }
    if (threads == 1) g_clock = timing_thread_cpu;
    const size_t ni = (size_t)d.n * d.c * d.ih * d.iw, no = (size_t)d.n * d.c * d.oh * d.ow;
    /* one output set per build, so the two builds' results can be compared at the end */
    /* 64-byte aligned, as Java's Tensor.allocate makes them (large mallocs are 16 bytes past a
     * page: every row of a 112-float plane would then straddle cache lines) */
    float *x = amalloc(ni * 4), *dy = amalloc(no * 4);
    float *y[2] = {amalloc(no * 4), amalloc(no * 4)}, *dx[2] = {amalloc(ni * 4), amalloc(ni * 4)};
    int32_t *idx[2] = {amalloc(no * 4), amalloc(no * 4)};
    uint8_t *tap[2] = {amalloc(no), amalloc(no)};
    srand(5);
    for (size_t i = 0; i < ni; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int j = 0; j < 2; j++) { /* touch everything before timing (first touch is slow here) */
        memset(y[j], 0, no * 4);
        memset(idx[j], 0, no * 4);
        memset(tap[j], 0, no);
        memset(dx[j], 0, ni * 4);
        L[j].thr(threads);
        if (L[j].fwd(&d, x, y[j], idx[j])) { /* the backward's indices */
            fprintf(stderr, "forward failed\n");
            return 1;
        }
    }
    if (mask[1] && L[0].fwd_taps(&d, x, y[0], tap[0])) { /* the same winners as idx[0] */
        fprintf(stderr, "fwd_taps failed\n");
        return 1;
    }
    double *t[2] = {malloc(rounds * sizeof(double)), malloc(rounds * sizeof(double))};
    double *r = malloc(rounds * sizeof(double));
    static double samples[2000];
    for (int k = 0; k < rounds + 1; k++) {
        double m[2];
        for (int j = 0; j < 2; j++) {
            const int w = (k % 2) ? 1 - j : j;
            int ns = 0;
            const double end = timing_now() + 0.1;
            while (ns < 5 || (timing_now() < end && ns < 2000)) {
                const double t0 = g_clock();
                const int st = mask[w]       ? L[w].bwd_taps(&d, dy, tap[0], dx[w])
                               : bwd         ? L[w].bwd(&d, dy, idx[0], dx[w])
                               : use_taps[w] ? L[w].fwd_taps(&d, x, y[w], tap[w])
                                             : L[w].fwd(&d, x, y[w], noidx ? NULL : idx[w]);
                samples[ns++] = g_clock() - t0;
                if (st) {
                    fprintf(stderr, "status %d\n", st);
                    return 1;
                }
            }
            m[w] = timing_median(samples, ns) * 1e6;
        }
        if (k == 0) continue; /* warm-up round */
        t[0][k - 1] = m[0];
        t[1][k - 1] = m[1];
        r[k - 1] = m[1] / m[0];
    }
    int tap_bad = 0; /* forward:fwd_taps: does every NEW tap name OLD's index? */
    for (size_t i = 0; idx_taps && i < no && !tap_bad; i++) {
        const int64_t t = tap[1][i], xo = (int64_t)(i % d.ow), yo = (int64_t)(i / d.ow % d.oh);
        const int64_t iy = yo * d.stride_h - d.pad_top + t / d.kw, ix = xo * d.stride_w - d.pad_left + t % d.kw;
        tap_bad = t >= d.kh * d.kw || iy < 0 || iy >= d.ih || ix < 0 || ix >= d.iw ||
                  iy * d.iw + ix != idx[0][i];
    }
    if (bwd ? memcmp(dx[0], dx[1], ni * 4) != 0
            : (memcmp(y[0], y[1], no * 4) != 0 || tap_bad ||
               (taps_ab && memcmp(tap[0], tap[1], no) != 0) ||
               (!noidx && !taps_ab && !idx_taps && memcmp(idx[0], idx[1], no * 4) != 0))) {
        printf("MISMATCH %s\n", bwd ? "diff_src" : "forward outputs");
    }
    const double mo = timing_median(t[0], rounds), mn = timing_median(t[1], rounds);
    /* timing_median sorted t[] in place: [0] is now the fastest block */
    printf("%s n=%d c=%d %dx%d thr=%d (%s): old %.1f us  new %.1f us  new/old %.3f (min old %.1f new %.1f)\n",
           pass, (int)d.n, (int)d.c, (int)d.ih, (int)d.iw, threads,
           threads == 1 ? "thread CPU time" : "wall time", mo, mn, timing_median(r, rounds), t[0][0],
           t[1][0]);
    return 0;
}
