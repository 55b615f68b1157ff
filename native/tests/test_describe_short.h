/* conv_describe_short / pool_describe_short: a conv2d / max-pool desc on one short line
 * ("n2 c40 4x27 oc6 k3x3 s1,1 p1,1,1,1 d1,1 g1 -> 4x27"), for failure messages. Shared by the
 * variant tests (test_variants_*.c) and the fuzz harnesses (native/fuzz/fuzz_conv.h and
 * fuzz_pool.h include it by its path relative to theirs), so both name a shape the same way.
 * Only standard headers and panamacnn.h: usable with any test's own helpers. test_util.h's
 * conv_describe (test_conv_describe.h) is the long form, one field name per value. */
#ifndef PCNN_TEST_DESCRIBE_SHORT_H
#define PCNN_TEST_DESCRIBE_SHORT_H

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "panamacnn/panamacnn.h"

static inline void conv_describe_short(const pcnn_conv2d_desc *d, char *buf, size_t len) {
    snprintf(buf, len,
             "n%" PRId64 " c%" PRId64 " %" PRId64 "x%" PRId64 " oc%" PRId64 " k%" PRId64
             "x%" PRId64 " s%" PRId64 ",%" PRId64 " p%" PRId64 ",%" PRId64 ",%" PRId64
             ",%" PRId64 " d%" PRId64 ",%" PRId64 " g%" PRId64 " -> %" PRId64 "x%" PRId64,
             d->n, d->c, d->ih, d->iw, d->oc, d->kh, d->kw, d->stride_h, d->stride_w,
             d->pad_top, d->pad_bottom, d->pad_left, d->pad_right, d->dilation_h,
             d->dilation_w, d->groups, d->oh, d->ow);
}

static inline void pool_describe_short(const pcnn_maxpool2d_desc *d, char *buf, size_t len) {
    snprintf(buf, len,
             "n%" PRId64 " c%" PRId64 " %" PRId64 "x%" PRId64 " k%" PRId64 "x%" PRId64
             " s%" PRId64 ",%" PRId64 " p%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
             " d%" PRId64 ",%" PRId64 " ceil%" PRId64 " -> %" PRId64 "x%" PRId64,
             d->n, d->c, d->ih, d->iw, d->kh, d->kw, d->stride_h, d->stride_w, d->pad_top,
             d->pad_bottom, d->pad_left, d->pad_right, d->dilation_h, d->dilation_w,
             d->ceil_mode, d->oh, d->ow);
}

#endif /* PCNN_TEST_DESCRIBE_SHORT_H */
