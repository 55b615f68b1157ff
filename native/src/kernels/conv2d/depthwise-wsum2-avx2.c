/* Depthwise conv2d, AVX2 + FMA: the wsum2 engine (depthwise-wsum2-simd.h) in its own translation unit. */
#include "kernels/conv2d/depthwise-vec-avx2.h"

#include "kernels/conv2d/depthwise-simd.h"
#include "kernels/conv2d/depthwise-wsum2-simd.h"
