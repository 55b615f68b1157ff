/*
 * Runs one panama-cnn operation once, on one thread, at a given ISA cap: a fixed workload
 * for counting executed instructions (e.g. under qemu, where times mean nothing):
 *
 *   pcnn-op-once OP ISA N C H W OC K STRIDE PAD
 *     OP  = conv_none | conv_fwd | conv_bwd_data | conv_bwd_weights
 *         | pool_none | pool_fwd | pool_bwd
 *     ISA = scalar | avx2 | avx512 | neon (the cap; the library may run a lower level)
 *   (pooling uses C, H, W, K, STRIDE, PAD; OC is ignored). conv_none / pool_none set everything
 *   up and run nothing: subtract their count to get the operation's own instructions.
 *
 * The data are small integers (every path gives the same result); prints the ISA that ran.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panamacnn/panamacnn.h"

static float *filled(int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (int64_t i = 0; i < n; ++i) p[i] = (float)((i * 7) % 5 - 2);
    return p;
}

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr, "usage: pcnn-op-once OP ISA N C H W OC K STRIDE PAD\n");
        return 2;
    }
    const char *op = argv[1], *isa = argv[2];
    int64_t v[8];
    for (int i = 0; i < 8; ++i) v[i] = strtoll(argv[3 + i], NULL, 10);
    int32_t cap = -1;
    for (int32_t l = PCNN_ISA_SCALAR; l <= PCNN_ISA_NEON; ++l) {
        if (strcmp(isa, pcnn_isa_name(l)) == 0) cap = l;
    }
    if (cap < 0 || pcnn_set_max_isa(cap) != PCNN_STATUS_OK || pcnn_set_num_threads(1) != 0) {
        fprintf(stderr, "bad ISA '%s'\n", isa);
        return 2;
    }
    int32_t st = PCNN_STATUS_OK;
    if (strncmp(op, "pool_", 5) == 0) {
        pcnn_maxpool2d_desc d = {v[0], v[1], v[2], v[3], v[5], v[5], v[6], v[6], v[7], v[7],
                                 v[7], v[7], 1, 1, 0, 0, 0};
        if (pcnn_maxpool2d_desc_init(&d) != PCNN_STATUS_OK) {
            fprintf(stderr, "bad pooling shape\n");
            return 2;
        }
        const int64_t ns = d.n * d.c * d.ih * d.iw, nd = d.n * d.c * d.oh * d.ow;
        float *src = filled(ns), *dst = filled(nd), *ds = filled(ns);
        int32_t *idx = malloc((size_t)nd * sizeof(int32_t));
        for (int64_t i = 0; i < nd; ++i) idx[i] = 0;
        if (strcmp(op, "pool_fwd") == 0) st = pcnn_maxpool2d_fwd(&d, src, dst, idx);
        else if (strcmp(op, "pool_bwd") == 0) st = pcnn_maxpool2d_bwd(&d, dst, idx, ds);
        else if (strcmp(op, "pool_none") != 0) {
            fprintf(stderr, "unknown op '%s'\n", op);
            return 2;
        }
    } else {
        pcnn_conv2d_desc d = {v[0], v[1], v[2], v[3], v[4], v[5], v[5], v[6], v[6], v[7],
                              v[7], v[7], v[7], 1, 1, 1, 0, 0};
        if (pcnn_conv2d_desc_init(&d) != PCNN_STATUS_OK) {
            fprintf(stderr, "bad convolution shape\n");
            return 2;
        }
        const int64_t ns = d.n * d.c * d.ih * d.iw, nd = d.n * d.oc * d.oh * d.ow;
        const int64_t nw = d.oc * d.c * d.kh * d.kw;
        float *src = filled(ns), *w = filled(nw), *b = filled(d.oc), *dst = filled(nd);
        float *ds = filled(ns), *dw = filled(nw);
        if (strcmp(op, "conv_fwd") == 0) st = pcnn_conv2d_fwd(&d, src, w, b, dst);
        else if (strcmp(op, "conv_bwd_data") == 0) st = pcnn_conv2d_bwd_data(&d, dst, w, ds);
        else if (strcmp(op, "conv_bwd_weights") == 0) st = pcnn_conv2d_bwd_weights(&d, src, dst, dw, b);
        else if (strcmp(op, "conv_none") != 0) {
            fprintf(stderr, "unknown op '%s'\n", op);
            return 2;
        }
    }
    printf("%s at %s: status %d\n", op, pcnn_isa_name(pcnn_isa_active()), st);
    return st == PCNN_STATUS_OK ? 0 : 1;
}
