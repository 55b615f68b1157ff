/* conv_desc (a conv2d desc from its sixteen fields) and conv_describe (one line naming every
 * field, for failure messages). Kept apart from test_util.h so tests with their own RNG,
 * guard and CHECK helpers can use them too; test_util.h includes this. */
#ifndef PCNN_TEST_CONV_DESCRIBE_H
#define PCNN_TEST_CONV_DESCRIBE_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "panamacnn/panamacnn.h"

/* The desc with these fields (oh / ow left 0: pcnn_conv2d_desc_init fills them). */
static inline pcnn_conv2d_desc conv_desc(int64_t n, int64_t c, int64_t ih, int64_t iw, int64_t oc,
                                  int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                                  int64_t pb, int64_t pl, int64_t pr, int64_t dh, int64_t dw,
                                  int64_t g) {
    pcnn_conv2d_desc d;
    memset(&d, 0, sizeof d);
    d.n = n; d.c = c; d.ih = ih; d.iw = iw; d.oc = oc; d.kh = kh; d.kw = kw;
    d.stride_h = sh; d.stride_w = sw; d.pad_top = pt; d.pad_bottom = pb; d.pad_left = pl;
    d.pad_right = pr; d.dilation_h = dh; d.dilation_w = dw; d.groups = g;
    return d;
}

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
