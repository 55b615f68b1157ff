#define PCNN_PEAK_AVX512 1
#include "fma_peak.c"
