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
    .maxpool2d_fwd_taps = pcnn_maxpool2d_fwd_taps__scalar,
    .maxpool2d_bwd_taps = pcnn_maxpool2d_bwd_taps__scalar,
};

/* ---- conv2d algorithms at this level, in the order the dispatcher tries them ---- */
/* Direct first: AUTO never picks the scalar Winograd kernel (it is the transforms' oracle and
 * serves explicit WINOGRAD requests under PANAMACNN_MAX_ISA=scalar). */
const pcnn_conv2d_algo pcnn_conv2d_algos_scalar[] = {
    {PCNN_ALGO_DIRECT, NULL, NULL, pcnn_conv2d_fwd__scalar, pcnn_conv2d_bwd_data__scalar,
     pcnn_conv2d_bwd_weights__scalar},
    {PCNN_ALGO_WINOGRAD, pcnn_winograd_supports, NULL, pcnn_conv2d_fwd_winograd__scalar,
     pcnn_conv2d_bwd_data_winograd__scalar, pcnn_conv2d_bwd_weights_winograd__scalar},
    /* explicit DEPTHWISE requests below AVX-512: the reference kernel (AUTO never gets here) */
    {PCNN_ALGO_DEPTHWISE, pcnn_depthwise_reference_supports, NULL, pcnn_conv2d_fwd__scalar,
     pcnn_conv2d_bwd_data__scalar, pcnn_conv2d_bwd_weights__scalar},
    /* explicit POINTWISE requests: the reference kernels on the gathered dense problem
     * (bit-identical to the reference; AUTO never gets here) */
    {PCNN_ALGO_POINTWISE, pcnn_pointwise_supports, NULL, pcnn_conv2d_fwd_pointwise__scalar,
     pcnn_conv2d_bwd_data_pointwise__scalar, pcnn_conv2d_bwd_weights_pointwise__scalar},
    {0, NULL, NULL, NULL, NULL, NULL},
};
