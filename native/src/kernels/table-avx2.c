#include "../core/pcnn_internal.h"

/* avx2 variants; a NULL entry falls back to the next lower ISA level. */
const pcnn_kernel_table pcnn_kernels_avx2 = {
    .conv2d_fwd = NULL,
    .conv2d_bwd_data = NULL,
    .conv2d_bwd_weights = NULL,
    .maxpool2d_fwd = NULL,
    .maxpool2d_bwd = NULL,
};
