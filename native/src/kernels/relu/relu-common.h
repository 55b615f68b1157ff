/* ReLU: the chunking shared by every variant (the chunk size changes nothing in the results). */
#ifndef PCNN_RELU_COMMON_H
#define PCNN_RELU_COMMON_H

#include <stdint.h>

#define PCNN_RELU_CHUNK 16384 /* floats per task: 64 KiB per stream */

typedef struct {
    int64_t count;
    const float *a, *b;
    float *out;
} pcnn_relu_ctx;

static inline int64_t pcnn_relu_chunks(int64_t count) {
    return (count + PCNN_RELU_CHUNK - 1) / PCNN_RELU_CHUNK;
}
static inline int64_t pcnn_relu_chunk_end(const pcnn_relu_ctx *c, int64_t t) {
    const int64_t end = (t + 1) * PCNN_RELU_CHUNK;
    return end < c->count ? end : c->count;
}

#endif
