#include "core/pcnn_internal.h"

/* Scalar reference variants: every entry is set and accepts every valid desc. */
const pcnn_kernel_table pcnn_kernels_scalar = {
    .conv2d_fwd = pcnn_conv2d_fwd__scalar,
    .conv2d_bwd_data = pcnn_conv2d_bwd_data__scalar,
    .conv2d_bwd_weights = pcnn_conv2d_bwd_weights__scalar,
    .maxpool2d_fwd = pcnn_maxpool2d_fwd__scalar,
    .maxpool2d_bwd = pcnn_maxpool2d_bwd__scalar,
    .linear_fwd = pcnn_linear_fwd__scalar,
    .linear_bwd_data = pcnn_linear_bwd_data__scalar,
    .linear_bwd_weights = pcnn_linear_bwd_weights__scalar,
    .relu_fwd = pcnn_relu_fwd__scalar,
    .relu_bwd = pcnn_relu_bwd__scalar,
};
