/*
 * Softmax cross-entropy (PyTorch's CrossEntropyLoss, mean reduction), one scalar kernel for every
 * ISA level: it touches n*classes floats (640 for LeNet at batch 64), next to the millions of
 * multiply-adds of the layers, so vectorising exp() would buy nothing measurable. Computed in
 * double, rounded to float once per output, like the Java reference (ReferenceNetKernels).
 */
#include <math.h>

#include "core/pcnn_internal.h"

/* Row maximum with NaN propagation (a NaN anywhere makes the row's result NaN). */
static double row_max(const float *x, int64_t classes) {
    double m = x[0];
    for (int64_t j = 1; j < classes; ++j) {
        const double v = x[j];
        if (v > m || v != v) m = v;
    }
    return m;
}

PCNN_INTERNAL int32_t pcnn_softmax_xent__scalar(int64_t n, int64_t classes, const float *logits,
                                                const int32_t *labels, float *loss,
                                                float *diff_logits) {
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const float *x = logits + i * classes;
        const double m = row_max(x, classes);
        double s = 0.0;
        for (int64_t j = 0; j < classes; ++j) s += exp((double)x[j] - m);
        total += log(s) + m - (double)x[labels[i]];
        if (diff_logits != NULL) {
            float *g = diff_logits + i * classes;
            for (int64_t j = 0; j < classes; ++j) {
                const double p = exp((double)x[j] - m) / s;
                g[j] = (float)((p - (j == labels[i] ? 1.0 : 0.0)) / (double)n);
            }
        }
    }
    if (loss != NULL) *loss = (float)(total / (double)n);
    return PCNN_STATUS_OK;
}
