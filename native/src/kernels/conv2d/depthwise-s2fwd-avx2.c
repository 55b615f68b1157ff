/* Depthwise conv2d, AVX2 + FMA: the s2fwd engine (depthwise-s2fwd-simd.h) in its own translation unit. */
#include "kernels/conv2d/depthwise-vec-avx2.h"

#include "kernels/conv2d/depthwise-simd.h"
#include "kernels/conv2d/depthwise-s2fwd-simd.h"
