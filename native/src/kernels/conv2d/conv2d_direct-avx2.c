/*
 * conv2d forward and backward-data, AVX2 + FMA variants. The algorithm lives in
 * conv2d-direct.h (shared with the AVX-512 variant); this file picks the vector width.
 */
#define PCNN_DIRECT_AVX2 1
#include "conv2d-direct.h"
