/* conv_describe: one line naming every field of a conv2d desc, for failure messages. Kept
 * apart from test_util.h so tests with their own RNG and guard helpers can use it too. */
#ifndef PCNN_TEST_CONV_DESCRIBE_H
#define PCNN_TEST_CONV_DESCRIBE_H

#include <stddef.h>
#include <stdio.h>

#include "panamacnn/panamacnn.h"

/* One line describing a conv2d desc, for failure messages. */
static inline void conv_describe(const pcnn_conv2d_desc *d, char *buf, size_t len) {
    snprintf(buf, len,
             "n=%ld c=%ld ih=%ld iw=%ld oc=%ld k=%ldx%ld s=%ldx%ld pad(t,b,l,r)=%ld,%ld,%ld,%ld "
             "dil=%ldx%ld g=%ld (oh=%ld ow=%ld)",
             (long)d->n, (long)d->c, (long)d->ih, (long)d->iw, (long)d->oc, (long)d->kh,
             (long)d->kw, (long)d->stride_h, (long)d->stride_w, (long)d->pad_top,
             (long)d->pad_bottom, (long)d->pad_left, (long)d->pad_right, (long)d->dilation_h,
             (long)d->dilation_w, (long)d->groups, (long)d->oh, (long)d->ow);
}

#endif /* PCNN_TEST_CONV_DESCRIBE_H */
