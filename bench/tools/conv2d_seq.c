/*
 * Why is a conv layer's backward (bwd_weights with the bias gradient, then bwd_data, as
 * Conv2d.runBackward calls them) slower than the native bench's two passes timed apart?
 * One process, one build, one shape: blocks of CALLS calls of each mode, the modes in rotating
 * order for ROUNDS rounds (one warm-up round first); per mode the median over rounds of the
 * block's median wall time per call and of its CPU time per call (all the process's threads,
 * CLOCK_PROCESS_CPUTIME_ID).
 *   W    bwd_weights alone (with diff_bias, as the native bench and the layer pass it)
 *   D    bwd_data alone
 *   WD   bwd_weights then bwd_data (the layer's sequence), per pair
 *   WDn  the same image by image (N=1 calls, weight gradients added): a cache-blocked sequence
 * each on two buffer sets A and B; W+D (the sum of the W and D medians) is what the join's
 * c_entry_us was before the native bench timed the sequence.
 * Env: OFFA / OFFB = byte offset of every buffer of set A / B within a page (default 16: where a
 *      large malloc / std::vector block starts, as in the native bench; 64: Arena.allocate(.., 64),
 *      the Java tensors); EVICT=MiB: set B's calls each start after a sweep over that much memory
 *      (not timed): cold caches; WSCALE: weights uniform in +-WSCALE/2 (default 0.1).
 * Timing helpers (clocks, median): timing.h beside this file.
 * Build: gcc -O2 -o conv2d_seq bench/tools/conv2d_seq.c -Inative/include -ldl
 * Run:   ./conv2d_seq LIB.so THREADS ROUNDS CALLS "N C H W OC K STRIDE PAD GROUPS"
 *        e.g. dw3x3: "8 256 28 28 256 3 1 1 256"; findings in bench/README.md ("Backward: ...").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include "panamacnn/panamacnn.h"
#include "timing.h"
typedef int32_t (*init_fn)(pcnn_conv2d_desc *);
typedef int32_t (*bwdd_fn)(const pcnn_conv2d_desc *, const float *, const float *, float *);
typedef int32_t (*bww_fn)(const pcnn_conv2d_desc *, const float *, const float *, float *, float *);
typedef int32_t (*thr_fn)(int32_t);
typedef int32_t (*last_fn)(void);
static float *page_buf(size_t floats, int off) { /* page-aligned block + off bytes, pages touched */
    void *p = NULL;
    if (posix_memalign(&p, 4096, floats * 4 + off + 4096)) { fprintf(stderr, "out of memory\n"); exit(1); }
    memset(p, 0, floats * 4 + off);
    return (float *)((char *)p + off);
}
int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: conv2d_seq LIB.so THREADS ROUNDS CALLS \"N C H W OC K STRIDE PAD GROUPS\"\n"); return 2; }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    init_fn init = (init_fn)dlsym(h, "pcnn_conv2d_desc_init");
    bwdd_fn bwdd = (bwdd_fn)dlsym(h, "pcnn_conv2d_bwd_data");
    bww_fn bww = (bww_fn)dlsym(h, "pcnn_conv2d_bwd_weights");
    thr_fn thr = (thr_fn)dlsym(h, "pcnn_set_num_threads");
    last_fn last_algo = (last_fn)dlsym(h, "pcnn_last_algorithm");
    int64_t (*scratch_bytes)(void) = (int64_t (*)(void))dlsym(h, "pcnn_scratch_bytes");
    int threads = atoi(argv[2]), rounds = atoi(argv[3]), calls = atoi(argv[4]);
    long a[9];
    if (sscanf(argv[5], "%ld %ld %ld %ld %ld %ld %ld %ld %ld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8]) != 9) { fprintf(stderr, "bad shape\n"); return 2; }
    pcnn_conv2d_desc d; memset(&d, 0, sizeof d);
    d.n = a[0]; d.c = a[1]; d.ih = a[2]; d.iw = a[3]; d.oc = a[4]; d.kh = d.kw = a[5]; d.stride_h = d.stride_w = a[6];
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = a[7]; d.dilation_h = d.dilation_w = 1; d.groups = a[8];
    if (init(&d)) { fprintf(stderr, "bad desc\n"); return 1; }
    pcnn_conv2d_desc d1 = d; d1.n = 1; /* one image: the WDn mode */
    if (init(&d1)) { fprintf(stderr, "bad desc\n"); return 1; }
    size_t ni = d.n * d.c * d.ih * d.iw, no = d.n * d.oc * d.oh * d.ow, nw = d.oc * (d.c / d.groups) * d.kh * d.kw;
    size_t ni1 = ni / d.n, no1 = no / d.n;
    float *dw1 = page_buf(nw, 0), *db1 = page_buf(d.oc, 0);
    /* Two buffer sets, each buffer at byte offset OFF within a page: 16 is where a large
     * std::vector / malloc block starts (glibc mmap chunk header; the native bench), 64 where
     * Arena.allocate(bytes, 64) puts it (the Java tensors). */
    int off[2] = {getenv("OFFA") ? atoi(getenv("OFFA")) : 16, getenv("OFFB") ? atoi(getenv("OFFB")) : 64};
    float *X[2], *W_[2], *DY[2], *DX[2], *DW[2], *DB[2];
    for (int b = 0; b < 2; b++) {
        X[b] = page_buf(ni, off[b]); W_[b] = page_buf(nw, off[b]); DY[b] = page_buf(no, off[b]);
        DX[b] = page_buf(ni, off[b]); DW[b] = page_buf(nw, off[b]); DB[b] = page_buf(d.oc, off[b]);
    }
    float *x = X[0], *w = W_[0], *dy = DY[0], *dx = DX[0], *dw = DW[0], *db = DB[0];
    size_t evict_n = getenv("EVICT") ? (size_t)atol(getenv("EVICT")) * 1024 * 256 : 0; /* MiB -> floats */
    float *evict = evict_n ? page_buf(evict_n, 0) : NULL;
    float wscale = getenv("WSCALE") ? (float)atof(getenv("WSCALE")) : 0.1f;
    srand(5);
    for (size_t i = 0; i < ni; i++) { x[i] = rand() / (float)RAND_MAX - 0.5f; dx[i] = 0; }
    for (size_t i = 0; i < no; i++) dy[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < nw; i++) { w[i] = (rand() / (float)RAND_MAX - 0.5f) * wscale; dw[i] = 0; }
    for (int64_t i = 0; i < d.oc; i++) db[i] = 0;
    memcpy(X[1], x, ni * 4); memcpy(DY[1], dy, no * 4); memcpy(W_[1], w, nw * 4);
    memset(DX[1], 0, ni * 4); memset(DW[1], 0, nw * 4); memset(DB[1], 0, d.oc * 4);
    thr(threads);
    enum { W, D, WD, WDN, NM0 };
    enum { NM = 2 * NM0 }; /* mode m: pass sequence m % 3 on buffer set m / 3 */
    const char *name[NM] = {"W@A", "D@A", "WD@A", "WDn@A", "W@B", "D@B", "WD@B", "WDn@B"};
    double *tw[NM], *tc[NM];
    for (int m = 0; m < NM; m++) { tw[m] = malloc(rounds * 8); tc[m] = malloc(rounds * 8); }
    double *s = malloc(calls * 8);
    int algo[NM] = {0};
    for (int k = -1; k < rounds; k++) { /* round -1: warm-up, not kept */
        for (int mm = 0; mm < NM; mm++) {
            int m = (mm + (k < 0 ? 0 : k)) % NM;
            int q = m % NM0, b = m / NM0;
            x = X[b]; w = W_[b]; dy = DY[b]; dx = DX[b]; dw = DW[b]; db = DB[b];
            double c0 = timing_process_cpu(), c_mark = 0;
            for (int c = 0; c < calls; c++) {
                if (b == 1 && evict_n) { /* EVICT: set B's calls start with cold caches (sweep not timed) */
                    for (size_t i = 0; i < evict_n; i += 16) evict[i] += 1.0f;
                    if (c == 0) c0 = timing_process_cpu();
                    else c0 += timing_process_cpu() - c_mark;
                }
                double t0 = timing_now();
                if (q == W || q == WD) { if (bww(&d, x, dy, dw, db)) return 3; }
                if (q == D || q == WD) { if (bwdd(&d, dy, w, dx)) return 3; }
                if (q == WDN) { /* image by image: W(n) then D(n), the weight gradients of the images added */
                    for (int64_t n = 0; n < d.n; n++) {
                        if (bww(&d1, x + n * ni1, dy + n * no1, n ? dw1 : dw, n ? db1 : db)) return 3;
                        if (bwdd(&d1, dy + n * no1, w, dx + n * ni1)) return 3;
                        if (n) { for (size_t i = 0; i < nw; i++) dw[i] += dw1[i]; for (int64_t i = 0; i < d.oc; i++) db[i] += db1[i]; }
                    }
                }
                s[c] = timing_now() - t0;
                if (b == 1 && evict_n) c_mark = timing_process_cpu();
            }
            double c1 = timing_process_cpu();
            algo[m] = last_algo();
            if (k >= 0) { tw[m][k] = timing_median(s, calls); tc[m][k] = (c1 - c0) / calls; }
        }
    }
    double mw[NM], mc[NM];
    for (int m = 0; m < NM; m++) { mw[m] = timing_median(tw[m], rounds); mc[m] = timing_median(tc[m], rounds); }
    printf("shape \"%s\" threads %d rounds %d calls %d (last algo W %d D %d)\n", argv[5], threads, rounds, calls, algo[W], algo[D]);
    printf("  scratch held by all threads at the end: %lld bytes\n", (long long)scratch_bytes());
    (void)x; (void)dx; (void)dw; (void)db;
    for (int m = 0; m < NM; m++) printf("  %-3s wall %9.1f us  cpu %9.1f us\n", name[m], mw[m] * 1e6, mc[m] * 1e6);
    for (int b = 0; b < 2; b++) {
        int o = b * NM0;
        printf("  set %c (offset %d): W+D wall %9.1f us cpu %9.1f us; WD/(W+D) wall %.3f cpu %.3f\n", 'A' + b, off[b],
               (mw[o + W] + mw[o + D]) * 1e6, (mc[o + W] + mc[o + D]) * 1e6, mw[o + WD] / (mw[o + W] + mw[o + D]),
               mc[o + WD] / (mc[o + W] + mc[o + D]));
    }
    printf("  B/A cpu: W %.3f D %.3f WD %.3f WDn %.3f\n", mc[NM0 + W] / mc[W], mc[NM0 + D] / mc[D], mc[NM0 + WD] / mc[WD], mc[NM0 + WDN] / mc[WDN]);
    return 0;
}
