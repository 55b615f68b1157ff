/*
 * Winograd F(4x4,3x3) conv2d forward and backward-data, avx512. The algorithm lives in
 * winograd-simd.h (shared with the other x86 width); this file picks the vector width.
 */
#define PCNN_WINO_AVX512 1
#include "kernels/conv2d/winograd-simd.h"
