/*
 * What bounds the large-plane max-pool backward's scalar scatter (maxpool2d-bwd-simd.h,
 * pm_bwd_task: zero one output row ahead, then ds[at] += dd in output order, each index
 * checked against the zeroed part)? A measurement, not library code (session 23; figures in
 * native/src/kernels/maxpool2d/README-history.md). pool_resnet planes (112x112 -> 56x56, 3x3 stride 2
 * pad 1), indices from a real forward of random data (or every window's centre tap, argument
 * CENTRE = 1: no two neighbouring outputs on one element, so no store-to-load forwarding).
 * Variants (each a copy of the library loop differing in one thing):
 *   lib       the library loop
 *   nochk     no range check (incorrect on bad indices: timing only)
 *   vchk16    one unsigned vector compare per 16 outputs, then an unchecked 16-loop
 *   vchkrow   one check of the whole output row, then an unchecked loop
 *   nozero    no zeroing (incorrect: timing only; output not compared)
 *   zeroonly  the zeroing alone (timing only)
 *   carry     the pending element kept in a register: the next element is loaded before the
 *             pending one is stored, the register taken when the index repeats
 * Every compared variant's diff_src must equal lib's bit for bit (MISMATCH otherwise).
 * Thread CPU time, best of 5 calls per block, blocks in both orders, median over rounds.
 * Build: gcc -O2 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma \
 *          -o maxpool_scatter_probe bench/tools/maxpool_scatter_probe.c -Ibench/tools
 * Run:   ./maxpool_scatter_probe PLANES ROUNDS CENTRE   (16 planes: L2; 128: n = 2 of pool_resnet)
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

enum { IH = 112, IW = 112, OH = 56, OW = 56, K = 3, S = 2, P = 1, PLANE = IH * IW };

static int g_bad;

static void zero_floats(float *p, int64_t n) {
    const __m512 z = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm512_storeu_ps(p + i, z);
    }
    if (i < n) {
        _mm512_mask_storeu_ps(p + i, (__mmask16)((1u << (n - i)) - 1), z);
    }
}

/* zero the rows output row y's windows reach (the library's row-ahead zeroing) */
static int64_t zero_ahead(float *ds, int64_t y, int64_t zeroed) {
    int64_t rows = y * S - P + K;
    rows = rows < 0 ? 0 : rows > IH ? IH : rows;
    if (rows * IW > zeroed) {
        zero_floats(ds + zeroed, rows * IW - zeroed);
        zeroed = rows * IW;
    }
    return zeroed;
}

enum { LIB, NOCHK, VCHK16, VCHKROW, NOZERO, ZEROONLY, CARRY, NVAR };
static const char *const NAMES[NVAR] = {"lib",    "nochk",    "vchk16", "vchkrow",
                                        "nozero", "zeroonly", "carry"};

static __attribute__((noinline)) void scatter(int v, const float *dd, const int32_t *ind,
                                              float *ds) {
    if (v == ZEROONLY) {
        zero_floats(ds, PLANE);
        return;
    }
    int64_t zeroed = 0;
    for (int64_t y = 0; y < OH; ++y) {
        if (v != NOZERO) {
            zeroed = zero_ahead(ds, y, zeroed);
        }
        const int32_t *ri = ind + y * OW;
        const float *rd = dd + y * OW;
        const __m512i zv = _mm512_set1_epi32((int32_t)zeroed);
        int64_t i = 0;
        if (v == VCHK16) {
            for (; i + 16 <= OW; i += 16) {
                if (_mm512_cmpge_epu32_mask(_mm512_loadu_si512(ri + i), zv)) {
                    g_bad = 1;
                    return;
                }
                for (int j = 0; j < 16; ++j) {
                    ds[ri[i + j]] += rd[i + j];
                }
            }
        } else if (v == VCHKROW) {
            __mmask16 m = 0;
            for (; i + 16 <= OW; i += 16) {
                m |= _mm512_cmpge_epu32_mask(_mm512_loadu_si512(ri + i), zv);
            }
            const __mmask16 tail = (__mmask16)((1u << (OW - i)) - 1);
            m |= _mm512_mask_cmpge_epu32_mask(tail, _mm512_maskz_loadu_epi32(tail, ri + i), zv);
            if (m) {
                g_bad = 1;
                return;
            }
            for (i = 0; i < OW; ++i) {
                ds[ri[i]] += rd[i];
            }
        } else if (v == NOCHK || v == NOZERO) {
            for (; i < OW; ++i) {
                ds[ri[i]] += rd[i];
            }
        } else if (v == CARRY) {
            int32_t pa = ri[0];
            if ((uint32_t)pa >= (uint64_t)zeroed) {
                g_bad = 1;
                return;
            }
            float pv = ds[pa] + rd[0];
            for (i = 1; i < OW; ++i) {
                const int32_t at = ri[i];
                if ((uint32_t)at >= (uint64_t)zeroed) {
                    g_bad = 1;
                    return;
                }
                float x = ds[at]; /* before the store: no forwarding from it */
                ds[pa] = pv;
                x = at == pa ? pv : x;
                pv = x + rd[i];
                pa = at;
            }
            ds[pa] = pv;
        }
        for (; i < OW; ++i) { /* LIB, and the tails of VCHK16 */
            const int32_t at = ri[i];
            if ((uint32_t)at >= (uint64_t)zeroed) {
                g_bad = 1; /* the probe's indices are all in their windows */
                return;
            }
            ds[at] += rd[i];
        }
    }
    if (v != NOZERO && zeroed < PLANE) {
        zero_floats(ds + zeroed, PLANE - zeroed);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PLANES ROUNDS CENTRE\n", argv[0]);
        return 2;
    }
    const int np = atoi(argv[1]), rounds = atoi(argv[2]), centre = atoi(argv[3]);
    if (np < 1 || rounds < 1 || rounds > 64) {
        fprintf(stderr, "PLANES >= 1, ROUNDS in [1, 64]\n");
        return 2;
    }
    const size_t op = OH * OW, ip = PLANE;
    float *src = malloc(np * ip * 4), *dd = malloc(np * op * 4), *ref = malloc(np * ip * 4);
    float *ds = aligned_alloc(64, np * ip * 4);
    int32_t *ind = malloc(np * op * 4);
    srand(1);
    for (size_t i = 0; i < np * ip; ++i) {
        src[i] = (float)(rand() % 1000);
    }
    for (size_t i = 0; i < np * op; ++i) {
        dd[i] = (float)(rand() % 2000 - 1000) / 64.f;
    }
    for (int p = 0; p < np; ++p) {
        for (int y = 0; y < OH; ++y) {
            for (int x = 0; x < OW; ++x) {
                float m = 0;
                int best = -1;
                for (int ky = 0; ky < K; ++ky) {
                    for (int kx = 0; kx < K; ++kx) {
                        const int iy = y * S - P + ky, ix = x * S - P + kx;
                        if (iy < 0 || iy >= IH || ix < 0 || ix >= IW) {
                            continue;
                        }
                        const float v = src[p * ip + iy * IW + ix];
                        if (best < 0 || v > m) {
                            m = v;
                            best = iy * IW + ix;
                        }
                    }
                }
                if (centre) {
                    const int iy = y * S - P + 1, ix = x * S - P + 1;
                    best = (iy < 0 ? 0 : iy) * IW + (ix < 0 ? 0 : ix);
                }
                ind[p * op + y * OW + x] = best;
            }
        }
    }
    for (int p = 0; p < np; ++p) {
        scatter(LIB, dd + p * op, ind + p * op, ref + p * ip);
    }
    double t[NVAR][64];
    for (int r = 0; r < rounds; ++r) {
        for (int k0 = 0; k0 < NVAR; ++k0) {
            const int v = r % 2 ? NVAR - 1 - k0 : k0;
            memset(ds, 0x7f, np * ip * 4);
            double best = 1e9;
            for (int rep = 0; rep < 5; ++rep) {
                const double a = timing_thread_cpu();
                for (int p = 0; p < np; ++p) {
                    scatter(v, dd + p * op, ind + p * op, ds + p * ip);
                }
                const double b = timing_thread_cpu() - a;
                best = b < best ? b : best;
            }
            t[v][r] = best;
            if (v != NOZERO && v != ZEROONLY && memcmp(ds, ref, np * ip * 4) != 0) {
                printf("MISMATCH %s\n", NAMES[v]);
            }
        }
    }
    for (int v = 0; v < NVAR; ++v) {
        const double med = timing_median(t[v], rounds);
        printf("%-9s %8.1f us  %.3f ns/output\n", NAMES[v], med * 1e6, med * 1e9 / (np * op));
    }
    return g_bad;
}
