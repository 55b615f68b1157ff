/*
 * Winograd F(4x4,3x3) conv2d backward-weights, avx512. The algorithm lives in
 * winograd-bwd-weights-simd.h (shared with the other x86 width); this file picks the vector width.
 */
#define PCNN_WBW_AVX512 1
#include "kernels/conv2d/winograd-bwd-weights-simd.h"
