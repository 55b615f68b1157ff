/*
 * conv2d forward and backward-data, AVX-512 (F, BW, VL, DQ) variants. The algorithm lives
 * in conv2d-direct.h (shared with the AVX2 variant); this file picks the vector width.
 */
#define PCNN_DIRECT_AVX512 1
#include "conv2d-direct.h"
