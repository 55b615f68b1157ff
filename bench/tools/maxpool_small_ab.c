/*
 * A/B of two builds of libpanamacnn on max-pool calls too short for maxpool_ab (which times
 * each call with the thread CPU clock: about 1 us granularity here). Both builds dlopen'ed
 * (RTLD_LOCAL) in one process; per round one block of `reps` calls of each build, the order
 * alternating per round; block time / reps is the per-call time (monotonic clock). Prints the
 * median per-call time of each build, the median per-round ratio new/old and the fastest
 * blocks, and MISMATCH when the two backward results differ in any bit. One thread, square
 * windows, symmetric padding, int32 indices (the mask the Java layer keeps below 65536
 * outputs). Input: a pseudo-random pattern, or with MONO=1 in the environment increasing
 * values (every window's winner its bottom-right tap: no two windows' winners collide).
 * Build: gcc -O2 -o maxpool_small_ab bench/tools/maxpool_small_ab.c -Inative/include -ldl
 * Run:   ./maxpool_small_ab OLD.so NEW.so N C H W K STRIDE PAD PASS ROUNDS
 *        PASS: fwd (int32 indices), noidx (indices NULL), bwd, tfwd / tbwd (the compact tap
 *        mask: pcnn_maxpool2d_fwd_taps / _bwd_taps), or OLDPASS:NEWPASS to time two passes
 *        (say bwd:tbwd, the two masks' backward, with one library given twice);
 *        pool_small = 1 16 13 13 3 2 1
 */
#define _GNU_SOURCE
#include <panamacnn/panamacnn.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int32_t (*init_fn)(pcnn_maxpool2d_desc *);
typedef int32_t (*fwd_fn)(const pcnn_maxpool2d_desc *, const float *, float *, int32_t *);
typedef int32_t (*bwd_fn)(const pcnn_maxpool2d_desc *, const float *, const int32_t *, float *);
typedef int32_t (*tfwd_fn)(const pcnn_maxpool2d_desc *, const float *, float *, uint8_t *);
typedef int32_t (*tbwd_fn)(const pcnn_maxpool2d_desc *, const float *, const uint8_t *, float *);
typedef int32_t (*thr_fn)(int32_t);

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *sym(void *h, const char *name) {
    void *p = dlsym(h, name);
    if (p == NULL) {
        fprintf(stderr, "missing %s\n", name);
        exit(2);
    }
    return p;
}

int main(int argc, char **argv) {
    if (argc != 12) {
        fprintf(stderr, "usage: %s OLD.so NEW.so N C H W K STRIDE PAD fwd|noidx|bwd ROUNDS\n", argv[0]);
        return 2;
    }
    void *h[2];
    for (int j = 0; j < 2; ++j) {
        h[j] = dlopen(argv[1 + j], RTLD_NOW | RTLD_LOCAL);
        if (h[j] == NULL) {
            fprintf(stderr, "%s\n", dlerror());
            return 2;
        }
    }
    const int64_t n = atoi(argv[3]), c = atoi(argv[4]), ih = atoi(argv[5]), iw = atoi(argv[6]);
    const int64_t k = atoi(argv[7]), s = atoi(argv[8]), p = atoi(argv[9]);
    /* pass[j]: build j's pass ("A:B" gives build 0 pass A, build 1 pass B) */
    char passes[64];
    snprintf(passes, sizeof passes, "%s", argv[10]);
    char *colon = strchr(passes, ':');
    const char *pass[2] = {passes, passes};
    if (colon != NULL) {
        *colon = '\0';
        pass[1] = colon + 1;
    }
    const int rounds = atoi(argv[11]);
    pcnn_maxpool2d_desc d = {n, c, ih, iw, k, k, s, s, p, p, p, p, 1, 1, 0, 0, 0};
    if (((init_fn)sym(h[0], "pcnn_maxpool2d_desc_init"))(&d) != 0 || rounds < 1) {
        fprintf(stderr, "bad shape or rounds\n");
        return 2;
    }
    const size_t ns = (size_t)(n * c * ih * iw), nd = (size_t)(n * c * d.oh * d.ow);
    float *src = aligned_alloc(64, ns * 4 + 64), *dst = aligned_alloc(64, nd * 4 + 64);
    float *dd = aligned_alloc(64, nd * 4 + 64);
    float *ds[2] = {aligned_alloc(64, ns * 4 + 64), aligned_alloc(64, ns * 4 + 64)};
    int32_t *ix = aligned_alloc(64, nd * 4 + 64);
    uint8_t *tx = aligned_alloc(64, nd + 64);
    const int mono = getenv("MONO") != NULL;
    for (size_t i = 0; i < ns; ++i) {
        src[i] = mono ? (float)i : (float)((i * 7919) % 1000);
    }
    for (size_t i = 0; i < nd; ++i) {
        dd[i] = (float)(i % 13) * 0.25f;
    }
    fwd_fn fwd[2];
    bwd_fn bwd[2];
    tfwd_fn tfwd[2];
    tbwd_fn tbwd[2];
    for (int j = 0; j < 2; ++j) {
        fwd[j] = (fwd_fn)sym(h[j], "pcnn_maxpool2d_fwd");
        bwd[j] = (bwd_fn)sym(h[j], "pcnn_maxpool2d_bwd");
        tfwd[j] = (tfwd_fn)sym(h[j], "pcnn_maxpool2d_fwd_taps");
        tbwd[j] = (tbwd_fn)sym(h[j], "pcnn_maxpool2d_bwd_taps");
        ((thr_fn)sym(h[j], "pcnn_set_num_threads"))(1);
    }
    fwd[0](&d, src, dst, ix); /* the indices and taps both builds' backward read */
    tfwd[0](&d, src, dst, tx);
    /* each build's pass as a code, resolved once (no string compare inside the timed loop) */
    enum { P_FWD, P_NOIDX, P_BWD, P_TFWD, P_TBWD } code[2];
    for (int j = 0; j < 2; ++j) {
        const char *pj = pass[j];
        code[j] = strcmp(pj, "tbwd") == 0   ? P_TBWD
                  : strcmp(pj, "tfwd") == 0 ? P_TFWD
                  : pj[0] == 'b'            ? P_BWD
                  : pj[0] == 'n'            ? P_NOIDX
                                            : P_FWD;
    }
    const int reps = 20000;
    double *t[2] = {malloc(rounds * sizeof(double)), malloc(rounds * sizeof(double))};
    double *ratio = malloc(rounds * sizeof(double));
    for (int r = 0; r < rounds; ++r) {
        for (int q = 0; q < 2; ++q) {
            const int j = (r & 1) ? 1 - q : q;
            const double t0 = now_ns();
            for (int i = 0; i < reps; ++i) {
                switch (code[j]) {
                case P_TBWD: tbwd[j](&d, dd, tx, ds[j]); break;
                case P_TFWD: tfwd[j](&d, src, dst, tx); break;
                case P_BWD: bwd[j](&d, dd, ix, ds[j]); break;
                case P_NOIDX: fwd[j](&d, src, dst, NULL); break;
                default: fwd[j](&d, src, dst, ix); break;
                }
            }
            t[j][r] = (now_ns() - t0) / reps;
        }
    }
    for (int r = 0; r < rounds; ++r) {
        ratio[r] = t[1][r] / t[0][r];
    }
    const int bwd_both = (code[0] == P_BWD || code[0] == P_TBWD) && (code[1] == P_BWD || code[1] == P_TBWD);
    const int mismatch = bwd_both && memcmp(ds[0], ds[1], ns * sizeof(float)) != 0;
    qsort(t[0], rounds, sizeof(double), cmp);
    qsort(t[1], rounds, sizeof(double), cmp);
    qsort(ratio, rounds, sizeof(double), cmp);
    printf("%s old %.1f ns new %.1f ns new/old %.3f (fastest %.1f / %.1f)%s\n", argv[10],
           t[0][rounds / 2], t[1][rounds / 2], ratio[rounds / 2], t[0][0], t[1][0],
           mismatch ? " MISMATCH" : "");
    return 0;
}
