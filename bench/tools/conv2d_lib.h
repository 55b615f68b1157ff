/*
 * The conv2d entry points of one libpanamacnn build, loaded with dlopen(RTLD_LOCAL) so that two
 * builds can live in one process (the A/B harnesses conv2d_ab.c and conv2d_peak_ab.c). Exits
 * with a message when the library or one of its symbols is missing.
 */
#ifndef PCNN_BENCH_TOOLS_CONV2D_LIB_H
#define PCNN_BENCH_TOOLS_CONV2D_LIB_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "panamacnn/panamacnn.h"

typedef int32_t (*conv2d_init_fn)(pcnn_conv2d_desc *);
typedef int32_t (*conv2d_fwd_fn)(const pcnn_conv2d_desc *, const float *, const float *, const float *, float *);
typedef int32_t (*conv2d_bwdd_fn)(const pcnn_conv2d_desc *, const float *, const float *, float *);
typedef int32_t (*conv2d_bww_fn)(const pcnn_conv2d_desc *, const float *, const float *, float *, float *);
typedef int32_t (*conv2d_int_fn)(int32_t);

typedef struct {
    conv2d_init_fn init;
    conv2d_fwd_fn fwd;
    conv2d_bwdd_fn bwdd;
    conv2d_bww_fn bww;
    conv2d_int_fn thr; /* pcnn_set_num_threads */
    conv2d_int_fn isa; /* pcnn_set_max_isa */
    conv2d_int_fn algo; /* pcnn_set_conv2d_algorithm, or NULL in a build without it (optional) */
} conv2d_lib;

static inline void *conv2d_lib_sym(void *h, const char *path, const char *name) {
    void *s = dlsym(h, name);
    if (!s) {
        fprintf(stderr, "%s: symbol %s missing\n", path, name);
        exit(1);
    }
    return s;
}

static inline conv2d_lib conv2d_lib_load(const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        exit(1);
    }
    conv2d_lib l = {(conv2d_init_fn)conv2d_lib_sym(h, path, "pcnn_conv2d_desc_init"),
                    (conv2d_fwd_fn)conv2d_lib_sym(h, path, "pcnn_conv2d_fwd"),
                    (conv2d_bwdd_fn)conv2d_lib_sym(h, path, "pcnn_conv2d_bwd_data"),
                    (conv2d_bww_fn)conv2d_lib_sym(h, path, "pcnn_conv2d_bwd_weights"),
                    (conv2d_int_fn)conv2d_lib_sym(h, path, "pcnn_set_num_threads"),
                    (conv2d_int_fn)conv2d_lib_sym(h, path, "pcnn_set_max_isa"),
                    (conv2d_int_fn)dlsym(h, "pcnn_set_conv2d_algorithm")};
    return l;
}

#endif
