/* A oneDNN layer behind a C ABI, so that a JVM can time oneDNN in its own process, next to the
 * Java layer (LayerBench with -Dpanamacnn.bench.onednn=<this library>; bench/README.md, "oneDNN
 * in the JMH forks"). One row of bench/shapes.txt, one oneDNN variant, random inputs; the same
 * primitives pcnn-bench checks against panama-cnn (onednn_prims.h). Built as
 * libpcnn-onednn-layer.so next to pcnn-bench when oneDNN is found. Not part of the library. */
#ifndef PCNN_ONEDNN_LAYER_H
#define PCNN_ONEDNN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* op */
#define PCNN_ONEDNN_CONV 0
#define PCNN_ONEDNN_MAXPOOL 1
/* variant: oneDNN on plain NCHW / OIHW tensors (direct convolution); on the layouts it prefers
 * (convolution: format_tag::any, direct; max-pool: nChw16c, or nChw8c without AVX-512); and
 * convolution_auto on the preferred layouts (convolution only). */
#define PCNN_ONEDNN_NCHW 0
#define PCNN_ONEDNN_BLOCKED 1
#define PCNN_ONEDNN_AUTO 2

typedef struct pcnn_onednn_layer pcnn_onednn_layer;

/* dims: n, c, h, w, oc, kh, kw, stride, pad, groups, dilation (a shapes.txt row's numbers; the
 * dilation as PyTorch counts it, 1 = dense). threads: OpenMP threads for every later call.
 * Builds the primitives, fills the inputs with random values in [-1, 1), runs every pass once
 * (the max-pool forward writes the workspace its backward reads) and returns the layer; NULL with
 * a message in err (err_len bytes, NUL-terminated) when oneDNN rejects the row or memory runs out. */
pcnn_onednn_layer *pcnn_onednn_layer_create(int32_t op, const int64_t *dims, int32_t variant, int32_t threads,
                                            char *err, size_t err_len);

/* forward: the convolution's forward_training, the max-pool's forward_training (with the workspace).
 * backward: the convolution's backward-weights then backward-data (a layer's backward), the max-pool's
 * backward. Each returns when the results are written; 0 on success, -1 on an error (message
 * in pcnn_onednn_layer_error). */
int32_t pcnn_onednn_layer_forward(pcnn_onednn_layer *layer);
int32_t pcnn_onednn_layer_backward(pcnn_onednn_layer *layer);
/* The max-pool's forward_inference (no workspace: a MaxPool2d in eval()); -1 for a convolution. */
int32_t pcnn_onednn_layer_forward_inference(pcnn_onednn_layer *layer);

/* pass: PCNN_ONEDNN_PASS_*. oneDNN's implementation name of that pass (a convolution's backward:
 * "bwd_data+bwd_weights"; "" for a pass the layer does not have), and the last error; valid until destroy. */
#define PCNN_ONEDNN_PASS_FORWARD 0
#define PCNN_ONEDNN_PASS_BACKWARD 1
#define PCNN_ONEDNN_PASS_FORWARD_INFERENCE 2
const char *pcnn_onednn_layer_impl(const pcnn_onednn_layer *layer, int32_t pass);
const char *pcnn_onednn_layer_error(const pcnn_onednn_layer *layer);

/* Frees the layer (NULL: nothing). */
void pcnn_onednn_layer_destroy(pcnn_onednn_layer *layer);

#ifdef __cplusplus
}
#endif

#endif
