/*
 * What the Winograd F(4x4,3x3) tests share: the transform matrices (written out here, not taken
 * from the kernels), the gamma(k) of the error bounds and |B^T| |p| |B| of one 6x6 input patch.
 */
#ifndef PCNN_TEST_WINOGRAD_H
#define PCNN_TEST_WINOGRAD_H

#include <math.h>
#include <stdint.h>

static const double BT[6][6] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
static const double G[6][3] = {
    {0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1},
};
static const double AT[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1},
};

/* gamma(k) = k u / (1 - k u), u = 2^-24, plus 2u for the final rounding */
static inline double gamma_k(int64_t k) {
    const double ku = (double)k * 0x1p-24;
    return ku / (1.0 - ku) + 2 * 0x1p-24;
}

/* v = |B^T| p |B| for a patch p of absolute values */
static inline void abs_input_transform(const double p[6][6], double v[6][6]) {
    double t[6][6];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            t[i][j] = 0;
            for (int k = 0; k < 6; k++) t[i][j] += fabs(BT[i][k]) * p[k][j];
        }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            v[i][j] = 0;
            for (int k = 0; k < 6; k++) v[i][j] += t[i][k] * fabs(BT[j][k]);
        }
}

#endif /* PCNN_TEST_WINOGRAD_H */
