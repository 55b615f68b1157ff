/* Depthwise conv2d, AVX-512: the s2k5 engine (depthwise-s2k5-simd.h) in its own translation unit. */
#include "kernels/conv2d/depthwise-vec-avx512.h"

#include "kernels/conv2d/depthwise-simd.h"
#include "kernels/conv2d/depthwise-s2k5-simd.h"
