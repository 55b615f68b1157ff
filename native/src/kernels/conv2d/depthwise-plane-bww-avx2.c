/* Depthwise conv2d, AVX2 + FMA: the plane engine's backward-weights (depthwise-plane-bww-simd.h) in its own translation unit. */
#include "kernels/conv2d/depthwise-vec-avx2.h"

#include "kernels/conv2d/depthwise-simd.h"
#include "kernels/conv2d/depthwise-plane-bww-simd.h"
