/*
 * Every bad-input class gives its exact status: desc init, the op entry points, controls.
 */
#include "test_util.h"

#define I64MAX INT64_MAX

static pcnn_conv2d_desc conv_ok(void) {
    return conv_desc(1, 4, 5, 5, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 2);
}

static int32_t conv_init(pcnn_conv2d_desc d) {
    const int64_t oh = -12345;
    d.oh = oh;
    d.ow = oh;
    const int32_t st = pcnn_conv2d_desc_init(&d);
    if (st != PCNN_STATUS_OK) {
        /* failure leaves oh / ow untouched */
        CHECK(d.oh == oh && d.ow == oh, "desc changed on failure");
    }
    return st;
}

static void test_conv_desc(void) {
    pcnn_conv2d_desc d = conv_ok();
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == 3 && d.ow == 3, "oh %" PRId64 " ow %" PRId64, d.oh, d.ow);
    CHECK_STATUS(pcnn_conv2d_desc_init(NULL), PCNN_STATUS_INVALID_ARGUMENT);

    /* non-positive sizes, one field at a time */
    int64_t *fields[] = {&d.n, &d.c, &d.ih, &d.iw, &d.oc, &d.kh, &d.kw, &d.stride_h,
                         &d.stride_w, &d.dilation_h, &d.dilation_w, &d.groups};
    const char *names[] = {"n", "c", "ih", "iw", "oc", "kh", "kw", "stride_h", "stride_w",
                           "dilation_h", "dilation_w", "groups"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; ++i) {
        const int64_t bad[] = {0, -1, INT64_MIN};
        for (size_t b = 0; b < 3; ++b) {
            d = conv_ok();
            *(int64_t *)((char *)&d + ((char *)fields[i] - (char *)&d)) = bad[b];
            const int32_t st = conv_init(d);
            CHECK(st == PCNN_STATUS_INVALID_ARGUMENT, "%s = %" PRId64 ": status %d", names[i],
                  bad[b], st);
        }
    }
    /* negative pads */
    int64_t *pads[] = {&d.pad_top, &d.pad_bottom, &d.pad_left, &d.pad_right};
    for (size_t i = 0; i < 4; ++i) {
        d = conv_ok();
        *(int64_t *)((char *)&d + ((char *)pads[i] - (char *)&d)) = -1;
        CHECK_STATUS(conv_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    }
    /* groups must divide c and oc */
    d = conv_ok();
    d.groups = 3; /* divides 6 but not 4 */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.groups = 4; /* divides 4 but not 6 */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.groups = 1;
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OK);
    /* kernel larger than the padded input */
    d = conv_ok();
    d.kh = 6;
    CHECK_STATUS(conv_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.pad_top = 1; /* now it fits exactly: oh = 1 */
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == 1, "oh %" PRId64, d.oh);
    d = conv_ok();
    d.dilation_w = 3; /* extent 7 > 5 */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.pad_left = 1;
    d.pad_right = 1; /* 7 <= 7 */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OK);
    /* overflow -> OUT_OF_RANGE */
    d = conv_ok();
    d.pad_top = I64MAX; /* padded size */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = conv_ok();
    d.pad_right = I64MAX - 5; /* iw + pad_left + pad_right overflows by one */
    d.pad_left = 1;
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = conv_ok();
    d.dilation_h = I64MAX / 2 + 1; /* dilation*(k-1) */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = conv_ok();
    d.n = I64MAX / 4; /* n*c*ih*iw */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = conv_ok();
    d.ih = I64MAX / 8; /* src count n*c*ih*iw: 4*(2^60)*5 */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = conv_ok();
    d.oc = (int64_t)1 << 62; /* weights count oc*(c/g)*kh*kw; dst count too */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = conv_ok();
    d.kh = d.kw = (int64_t)1 << 31; /* weights 6*2*2^62 */
    d.pad_top = d.pad_left = (int64_t)1 << 31;
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = conv_ok();
    d.pad_left = d.pad_right = (int64_t)1 << 59; /* dst count 6 * 3 * 2^60 */
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OUT_OF_RANGE);
    /* huge but representable: fine (desc init allocates nothing) */
    d = conv_desc((int64_t)1 << 20, 1 << 10, 1 << 10, 1 << 10, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK_STATUS(conv_init(d), PCNN_STATUS_OK);
    /* a big stride is fine */
    d = conv_ok();
    d.stride_h = d.stride_w = I64MAX;
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == 1 && d.ow == 1, "big stride");
}

static void test_conv_ops(void) {
    pcnn_conv2d_desc d = conv_ok();
    CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
    float *src = gbuf_f(conv_src_count(&d)), *w = gbuf_f(conv_w_count(&d)),
          *b = gbuf_f(d.oc), *dst = gbuf_f(conv_dst_count(&d));
    fill_ints(src, conv_src_count(&d), -2, 2);
    fill_ints(w, conv_w_count(&d), -2, 2);
    fill_ints(b, d.oc, -2, 2);
    fill_ints(dst, conv_dst_count(&d), -2, 2);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, src, w, b, dst), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, src, w, NULL, dst), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_fwd(NULL, src, w, b, dst), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, NULL, w, b, dst), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, src, NULL, b, dst), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_fwd(&d, src, w, b, NULL), PCNN_STATUS_INVALID_ARGUMENT);

    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, dst, w, src), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_data(NULL, dst, w, src), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, NULL, w, src), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, dst, NULL, src), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&d, dst, w, NULL), PCNN_STATUS_INVALID_ARGUMENT);

    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, src, dst, w, b), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, src, dst, w, NULL), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(NULL, src, dst, w, b), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, NULL, dst, w, b), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, src, NULL, w, b), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&d, src, dst, NULL, b), PCNN_STATUS_INVALID_ARGUMENT);

    /* tampered descriptors: oh / ow not matching, a field changed after init, no init */
    pcnn_conv2d_desc t = d;
    t.oh += 1;
    CHECK_STATUS(pcnn_conv2d_fwd(&t, src, w, b, dst), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_data(&t, dst, w, src), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(&t, src, dst, w, b), PCNN_STATUS_INVALID_ARGUMENT);
    t = d;
    t.ow -= 1;
    CHECK_STATUS(pcnn_conv2d_fwd(&t, src, w, b, dst), PCNN_STATUS_INVALID_ARGUMENT);
    t = d;
    t.ih += 2; /* oh should now be 5 */
    CHECK_STATUS(pcnn_conv2d_fwd(&t, src, w, b, dst), PCNN_STATUS_INVALID_ARGUMENT);
    t = d;
    t.groups = 3; /* invalid desc: the init error comes back */
    CHECK_STATUS(pcnn_conv2d_fwd(&t, src, w, b, dst), PCNN_STATUS_INVALID_ARGUMENT);
    t = d;
    t.n = I64MAX / 4;
    CHECK_STATUS(pcnn_conv2d_fwd(&t, src, w, b, dst), PCNN_STATUS_OUT_OF_RANGE);
    t = conv_ok(); /* oh = ow = 0: never initialised */
    CHECK_STATUS(pcnn_conv2d_fwd(&t, src, w, b, dst), PCNN_STATUS_INVALID_ARGUMENT);

    CHECK(guard_ok(src, conv_src_count(&d)) && guard_ok(w, conv_w_count(&d)) &&
              guard_ok(b, d.oc) && guard_ok(dst, conv_dst_count(&d)),
          "guard");
    free(src);
    free(w);
    free(b);
    free(dst);
}

static pcnn_maxpool2d_desc pool_ok(void) {
    return pool_desc(1, 3, 6, 7, 3, 2, 2, 2, 1, 1, 0, 1, 1, 1, 0);
}

static int32_t pool_init(pcnn_maxpool2d_desc d) {
    d.oh = d.ow = -777;
    const int32_t st = pcnn_maxpool2d_desc_init(&d);
    if (st != PCNN_STATUS_OK) {
        CHECK(d.oh == -777 && d.ow == -777, "desc changed on failure");
    }
    return st;
}

/* Valid descs with extreme strides, dilations and padding (small tensors): every pass runs,
 * returns OK and equals the scalar kernel's result (integer data: exact). The vector kernels
 * size their scratch from the geometry; fuzz_desc found a stride near 2^60 overflowing that
 * arithmetic in the direct backward-data kernel (signed overflow under UBSan). */
static void run_conv_passes(const pcnn_conv2d_desc *d, float *out[3], const float *src,
                            const float *w, const float *dy) {
    CHECK_STATUS(pcnn_conv2d_fwd(d, src, w, NULL, out[0]), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_data(d, dy, w, out[1]), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_conv2d_bwd_weights(d, src, dy, out[2], NULL), PCNN_STATUS_OK);
}

static void test_conv_extreme_geometry(void) {
    const int64_t big = 795741901220216831; /* the stride fuzz_desc found */
    const pcnn_conv2d_desc cases[] = {
        /* n  c  ih  iw  oc kh kw  sh     sw     pt     pb  pl     pr  dh     dw     g */
        conv_desc(1, 2, 3, 5, 4, 2, 2, 3, big, 0, 0, 0, 0, 1, 1, 1),
        conv_desc(2, 3, 4, 6, 3, 1, 3, big, big, 1, 1, 2, 2, 1, 2, 1),
        conv_desc(1, 4, 5, 3, 8, 3, 1, I64MAX, 1, 0, 0, 0, 0, 1, 1, 2),
        /* two output columns: the padding is as huge as the stride */
        conv_desc(1, 2, 3, 3, 2, 1, 1, 1, (int64_t)1 << 40, 0, 0, (int64_t)1 << 40, 0, 1, 1, 1),
        conv_desc(1, 2, 4, 4, 2, 2, 2, (int64_t)1 << 50, 1, ((int64_t)1 << 50) - 1, 0, 0, 0,
                  1, 1, 1),
        /* a dilation as huge as the padding */
        conv_desc(1, 2, 3, 3, 3, 1, 2, 1, 1, 0, 0, (int64_t)1 << 45, 0, 1, (int64_t)1 << 45, 1),
        conv_desc(1, 1, 4, 4, 1, 2, 2, 1, 1, 1 << 19, 1 << 19, 0, 0, 1 << 20, 1, 1),
        /* within the vector kernels' limits: strides of 1000, a dilation of 65536 */
        conv_desc(1, 2, 5, 5, 3, 2, 2, 1000, 1000, 0, 0, 0, 0, 1, 1, 1),
        conv_desc(1, 2, 4, 3, 2, 2, 1, 1, 1, 32768, 32768, 0, 0, 65536, 1, 1),
    };
    const int32_t active = pcnn_isa_active();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        pcnn_conv2d_desc d = cases[i];
        CHECK_STATUS(pcnn_conv2d_desc_init(&d), PCNN_STATUS_OK);
        CHECK(conv_dst_count(&d) <= 64, "case %zu: %" PRId64 " outputs", i, conv_dst_count(&d));
        float *src = gbuf_f(conv_src_count(&d)), *w = gbuf_f(conv_w_count(&d)),
              *dy = gbuf_f(conv_dst_count(&d));
        fill_ints(src, conv_src_count(&d), -3, 3);
        fill_ints(w, conv_w_count(&d), -3, 3);
        fill_ints(dy, conv_dst_count(&d), -3, 3);
        const int64_t counts[3] = {conv_dst_count(&d), conv_src_count(&d), conv_w_count(&d)};
        float *got[3], *want[3];
        for (int p = 0; p < 3; ++p) {
            got[p] = gbuf_f(counts[p]);
            want[p] = gbuf_f(counts[p]);
        }
        run_conv_passes(&d, got, src, w, dy);
        CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_SCALAR), PCNN_STATUS_OK);
        run_conv_passes(&d, want, src, w, dy);
        CHECK_STATUS(pcnn_set_max_isa(active), PCNN_STATUS_OK);
        for (int p = 0; p < 3; ++p) {
            for (int64_t e = 0; e < counts[p]; ++e) {
                if (got[p][e] != want[p][e]) {
                    CHECK(0, "case %zu pass %d element %" PRId64 ": %g, scalar %g", i, p, e,
                          (double)got[p][e], (double)want[p][e]);
                    break;
                }
            }
            free(got[p]);
            free(want[p]);
        }
        free(src);
        free(w);
        free(dy);
    }
}

static void test_pool_desc(void) {
    pcnn_maxpool2d_desc d = pool_ok();
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == 3 && d.ow == 4, "oh %" PRId64 " ow %" PRId64, d.oh, d.ow);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(NULL), PCNN_STATUS_INVALID_ARGUMENT);

    int64_t *fields[] = {&d.n, &d.c, &d.ih, &d.iw, &d.kh, &d.kw, &d.stride_h, &d.stride_w,
                         &d.dilation_h, &d.dilation_w};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; ++i) {
        const int64_t bad[] = {0, -1, INT64_MIN};
        for (size_t b = 0; b < 3; ++b) {
            d = pool_ok();
            *(int64_t *)((char *)&d + ((char *)fields[i] - (char *)&d)) = bad[b];
            const int32_t st = pool_init(d);
            CHECK(st == PCNN_STATUS_INVALID_ARGUMENT, "field %zu = %" PRId64 ": status %d", i,
                  bad[b], st);
        }
    }
    int64_t *pads[] = {&d.pad_top, &d.pad_bottom, &d.pad_left, &d.pad_right};
    for (size_t i = 0; i < 4; ++i) {
        d = pool_ok();
        *(int64_t *)((char *)&d + ((char *)pads[i] - (char *)&d)) = -1;
        CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    }
    /* kernel larger than the padded input: floor mode has no window (output size 0) */
    d = pool_ok();
    d.kw = 9; /* 7 + 0 + 1 = 8 < 9 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.kw = 8; /* fits; the window covers input columns 0..6 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OK);
    /* ceil mode (PyTorch's formula): a window may be larger than the padded input by up to
     * stride - 1: ow = floor((8 - 9 + 2 - 1) / 2) + 1 = 1 */
    d = pool_ok();
    d.ceil_mode = 1;
    d.kw = 9;
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 1, "ceil, window 9 > padded 8, stride 2: ow %" PRId64, d.ow);
    d.kw = 10; /* numer = 8 - 10 = -2, -2 + 1 < 0: output size 0 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.stride_w = 3; /* -2 + 2 = 0: ow 1 again */
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 1, "ceil, window 10 > padded 8, stride 3: ow %" PRId64, d.ow);
    /* the example: MaxPool2d(kernel 4, stride 3, ceil_mode=True) on width 3 -> 1 */
    d = pool_desc(1, 1, 3, 3, 4, 4, 3, 3, 0, 0, 0, 0, 1, 1, 1);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == 1 && d.ow == 1, "k4 s3 ceil on 3x3: %" PRId64 "x%" PRId64, d.oh, d.ow);
    d.ceil_mode = 0;
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    /* a window hanging past the padded input: iw 5, k 2, s 2, ceil -> 3 windows, the last
     * one at columns 4, 5 (5 is past the input) */
    d = pool_desc(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 0, 0, 1, 1, 1);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 3, "hanging window: ow %" PRId64, d.ow);
    /* dilated window larger than the input, ceil: iw 2, k 3, d 2 (extent 5), s 4, pad 1+0:
     * numer = 3 - 5 = -2, + 3 = 1 -> ow 1; taps -1, 1, 3: one in range */
    d = pool_desc(1, 1, 1, 2, 1, 3, 1, 4, 0, 0, 1, 0, 1, 2, 1);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 1, "dilated window larger than the input: ow %" PRId64, d.ow);
    /* still invalid in ceil mode: a window with no input position. iw 1, k 2, d 3, pad 1+1,
     * s 2: numer = 3 - 4 = -1 -> ow 1 (PyTorch accepts this), but the taps -1 and 2 both miss
     * the input */
    d = pool_desc(1, 1, 1, 1, 1, 2, 1, 2, 0, 0, 1, 1, 1, 3, 1);
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.pad_left = 0; /* taps 0, 3; numer = 2 - 4 = -2 needs stride 3 */
    d.stride_w = 3;
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    /* huge strides / dilations in ceil mode: no overflow, a clean status */
    d = pool_desc(1, 1, 3, 3, 2, 2, I64MAX, I64MAX, 0, 0, 0, 0, 1, 1, 1);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == 1 && d.ow == 1, "stride INT64_MAX: %" PRId64 "x%" PRId64, d.oh, d.ow);
    d = pool_desc(1, 1, 3, 3, 2, 2, I64MAX, I64MAX, 0, 0, 0, 0, I64MAX / 2, 1, 1);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK); /* rows 0 and I64MAX/2 */
    CHECK(d.oh == 1, "dilation INT64_MAX/2: oh %" PRId64, d.oh);
    d.pad_top = 1; /* rows -1 and I64MAX/2 - 1: none in [0, 3) */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);

    /* windows entirely in padding */
    d = pool_desc(1, 1, 2, 2, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0); /* k1, pad_left 1 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d = pool_desc(1, 1, 2, 2, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0); /* k1, pad_bottom 1 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d = pool_desc(1, 1, 3, 3, 1, 1, 1, 2, 0, 0, 0, 2, 1, 1, 0); /* stride 2 lands on pad */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d = pool_desc(1, 1, 4, 4, 2, 2, 1, 1, 2, 0, 0, 0, 1, 1, 0); /* first window rows -2,-1 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.pad_top = 1; /* rows -1, 0: fine */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OK);
    /* dilation jumping over the input: iw 1, k 2, dilation 3, pad 3 + 3: windows start at
     * -3 (taps -3, 0), -2 (-2, 1), -1 (-1, 2), 0 (0, 3). First and last are fine, the middle
     * two have no in-range tap. */
    d = pool_desc(1, 1, 1, 1, 1, 2, 1, 1, 0, 0, 3, 3, 1, 3, 0);
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    d.stride_w = 3; /* windows -3 and 0 only: fine */
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 2, "ow %" PRId64, d.ow);
    d = pool_desc(1, 1, 1, 1, 1, 2, 1, 1, 0, 0, 2, 1, 1, 3, 0); /* taps -2, 1: none in [0,1) */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_INVALID_ARGUMENT);
    /* ceil mode: the extra window is dropped when it would start in the trailing padding */
    d = pool_desc(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1);
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 3, "ceil drop: ow %" PRId64, d.ow);
    d = pool_desc(1, 1, 1, 6, 1, 3, 1, 2, 0, 0, 1, 1, 1, 1, 1); /* floor 3, ceil 4: keeps 4 */
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 4, "ceil keep: ow %" PRId64, d.ow);
    d.ceil_mode = 0;
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.ow == 3, "floor: ow %" PRId64, d.ow);

    /* ih * iw > INT32_MAX */
    d = pool_desc(1, 1, 46341, 46341, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d.ih = d.iw = 46340; /* 2147395600 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OK);
    d = pool_desc(1, 1, (int64_t)1 << 31, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d.ih = INT32_MAX;
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OK);
    d = pool_desc(1, 1, I64MAX, I64MAX, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OUT_OF_RANGE);
    /* int64 overflow */
    d = pool_ok();
    d.pad_top = I64MAX;
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = pool_ok();
    d.dilation_w = I64MAX;
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = pool_ok();
    d.n = I64MAX / 8; /* n*c*ih*iw */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OUT_OF_RANGE);
    d = pool_ok();
    d.c = (int64_t)1 << 58; /* n*c*ih*iw = 2^58 * 42 */
    CHECK_STATUS(pool_init(d), PCNN_STATUS_OUT_OF_RANGE);
    /* huge stride with ceil mode: no overflow in the drop rule */
    d = pool_ok();
    d.stride_h = d.stride_w = I64MAX;
    d.ceil_mode = 1;
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    CHECK(d.oh == 1 && d.ow == 1, "big stride ceil: %" PRId64 " %" PRId64, d.oh, d.ow);
}

/* As test_conv_extreme_geometry for max-pool: forward (with and without indices) and backward
 * equal the scalar kernel bit for bit (fuzz_desc found a dilation near 2^62 overflowing the
 * small-planes path's tap arithmetic). */
static void run_pool_passes(const pcnn_maxpool2d_desc *d, const float *src, const float *dy,
                            float *dst, int32_t *ind, float *dst_noidx, float *dx) {
    CHECK_STATUS(pcnn_maxpool2d_fwd(d, src, dst, ind), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_fwd(d, src, dst_noidx, NULL), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_bwd(d, dy, ind, dx), PCNN_STATUS_OK);
}

static void test_pool_extreme_geometry(void) {
    const pcnn_maxpool2d_desc cases[] = {
        /*        n  c   ih iw kh kw sh      sw      pt pb pl pr dh          dw ceil */
        pool_desc(1, 20, 3, 3, 2, 2, I64MAX, I64MAX, 0, 0, 0, 0, I64MAX / 2, 1, 1),
        pool_desc(2, 17, 3, 4, 2, 2, 1, I64MAX, 0, 0, 0, 0, 1, I64MAX / 2, 1),
        pool_desc(1, 33, 4, 5, 3, 2, 3, 795741901220216831, 1, 1, 0, 0, 1, 1, 0),
        /* within the vector kernels' limits */
        pool_desc(1, 33, 5, 5, 2, 2, 1000, 1000, 0, 0, 0, 0, 1, 1, 1),
        pool_desc(1, 16, 3, 3, 2, 1, 1, 1, 0, 65536, 0, 0, 65536, 1, 0),
    };
    const int32_t active = pcnn_isa_active();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        pcnn_maxpool2d_desc d = cases[i];
        CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
        const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
        CHECK(nd <= 256, "case %zu: %" PRId64 " outputs", i, nd);
        float *src = gbuf_f(ns), *dy = gbuf_f(nd);
        fill_ints(src, ns, -3, 3);
        fill_ints(dy, nd, -3, 3);
        float *dst[2], *dst_noidx[2], *dx[2];
        int32_t *ind[2];
        for (int r = 0; r < 2; ++r) {
            dst[r] = gbuf_f(nd), dst_noidx[r] = gbuf_f(nd), dx[r] = gbuf_f(ns), ind[r] = gbuf_i(nd);
        }
        run_pool_passes(&d, src, dy, dst[0], ind[0], dst_noidx[0], dx[0]);
        CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_SCALAR), PCNN_STATUS_OK);
        run_pool_passes(&d, src, dy, dst[1], ind[1], dst_noidx[1], dx[1]);
        CHECK_STATUS(pcnn_set_max_isa(active), PCNN_STATUS_OK);
        CHECK(memcmp(dst[0], dst[1], (size_t)nd * sizeof(float)) == 0, "case %zu: dst", i);
        CHECK(memcmp(ind[0], ind[1], (size_t)nd * sizeof(int32_t)) == 0, "case %zu: indices", i);
        CHECK(memcmp(dst_noidx[0], dst_noidx[1], (size_t)nd * sizeof(float)) == 0,
              "case %zu: dst without indices", i);
        CHECK(memcmp(dx[0], dx[1], (size_t)ns * sizeof(float)) == 0, "case %zu: diff_src", i);
        for (int r = 0; r < 2; ++r) {
            free(dst[r]), free(dst_noidx[r]), free(dx[r]), free(ind[r]);
        }
        free(src);
        free(dy);
    }
}

static void test_pool_ops(void) {
    pcnn_maxpool2d_desc d = pool_ok();
    CHECK_STATUS(pcnn_maxpool2d_desc_init(&d), PCNN_STATUS_OK);
    const int64_t ns = pool_src_count(&d), nd = pool_dst_count(&d);
    float *src = gbuf_f(ns), *dst = gbuf_f(nd), *ds = gbuf_f(ns);
    int32_t *idx = gbuf_i(nd);
    fill_ints(src, ns, -5, 5);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, src, dst, idx), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, src, dst, NULL), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_fwd(NULL, src, dst, idx), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, NULL, dst, idx), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_fwd(&d, src, NULL, idx), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dst, idx, ds), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_bwd(NULL, dst, idx, ds), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, NULL, idx, ds), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dst, NULL, ds), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dst, idx, NULL), PCNN_STATUS_INVALID_ARGUMENT);
    /* out-of-range indices, at the first and at the last element of the last plane */
    int32_t saved = idx[0];
    idx[0] = (int32_t)(d.ih * d.iw);
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dst, idx, ds), PCNN_STATUS_OUT_OF_RANGE);
    idx[0] = saved;
    saved = idx[nd - 1];
    idx[nd - 1] = -1;
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dst, idx, ds), PCNN_STATUS_OUT_OF_RANGE);
    idx[nd - 1] = INT32_MIN;
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dst, idx, ds), PCNN_STATUS_OUT_OF_RANGE);
    idx[nd - 1] = saved;
    CHECK_STATUS(pcnn_maxpool2d_bwd(&d, dst, idx, ds), PCNN_STATUS_OK);
    /* tampered descriptors */
    pcnn_maxpool2d_desc t = d;
    t.ow += 1;
    CHECK_STATUS(pcnn_maxpool2d_fwd(&t, src, dst, idx), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd(&t, dst, idx, ds), PCNN_STATUS_INVALID_ARGUMENT);
    t = d;
    t.ceil_mode = 1; /* rows: (6+2-3)/2 rounds up to 3, so oh becomes 4 */
    CHECK_STATUS(pcnn_maxpool2d_fwd(&t, src, dst, idx), PCNN_STATUS_INVALID_ARGUMENT);
    t = d;
    t.pad_left = 5; /* now invalid (kernel-in-padding) */
    CHECK_STATUS(pcnn_maxpool2d_fwd(&t, src, dst, idx), PCNN_STATUS_INVALID_ARGUMENT);
    t = pool_ok();
    CHECK_STATUS(pcnn_maxpool2d_fwd(&t, src, dst, idx), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK(guard_ok(src, ns) && guard_ok(dst, nd) && guard_ok(ds, ns) && guard_ok(idx, nd),
          "guard");
    /* the compact mask: same checks, taps never NULL, a window of at most 256 taps */
    uint8_t *taps = malloc((size_t)nd);
    CHECK(taps != NULL, "malloc");
    CHECK_STATUS(pcnn_maxpool2d_fwd_taps(&d, src, dst, taps), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, dst, taps, ds), PCNN_STATUS_OK);
    CHECK_STATUS(pcnn_maxpool2d_fwd_taps(NULL, src, dst, taps), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_fwd_taps(&d, NULL, dst, taps), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_fwd_taps(&d, src, NULL, taps), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_fwd_taps(&d, src, dst, NULL), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(NULL, dst, taps, ds), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, NULL, taps, ds), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, dst, NULL, ds), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, dst, taps, NULL), PCNN_STATUS_INVALID_ARGUMENT);
    t = d;
    t.ow += 1;
    CHECK_STATUS(pcnn_maxpool2d_fwd_taps(&t, src, dst, taps), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&t, dst, taps, ds), PCNN_STATUS_INVALID_ARGUMENT);
    /* a tap past the window (kh * kw = 6 here), 255, and one on the top padding row of output 0 */
    const uint8_t saved_tap = taps[nd - 1];
    taps[nd - 1] = (uint8_t)(d.kh * d.kw);
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, dst, taps, ds), PCNN_STATUS_OUT_OF_RANGE);
    taps[nd - 1] = 255;
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, dst, taps, ds), PCNN_STATUS_OUT_OF_RANGE);
    taps[nd - 1] = saved_tap;
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, dst, taps, ds), PCNN_STATUS_OK);
    CHECK(d.pad_top >= 1, "pool_ok has a top pad");
    const uint8_t saved0 = taps[0];
    taps[0] = 0; /* ky = 0 of output row 0 is padding row -1 */
    CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&d, dst, taps, ds), PCNN_STATUS_OUT_OF_RANGE);
    taps[0] = saved0;
    free(taps);
    {   /* 17 x 16 = 272 taps do not fit a byte; 16 x 16 = 256 do */
        pcnn_maxpool2d_desc big = {.n = 1, .c = 1, .ih = 20, .iw = 20, .kh = 17, .kw = 16,
                                   .stride_h = 1, .stride_w = 1, .dilation_h = 1,
                                   .dilation_w = 1};
        CHECK_STATUS(pcnn_maxpool2d_desc_init(&big), PCNN_STATUS_OK);
        const int64_t bn = 5 * 5; /* outputs of the 16 x 16 window below, the larger count */
        CHECK(pool_dst_count(&big) < bn, "17 x 16 has fewer outputs");
        float *bs = gbuf_f(pool_src_count(&big)), *bd = gbuf_f(bn), *bx = gbuf_f(pool_src_count(&big));
        uint8_t *bt = malloc((size_t)bn);
        CHECK(bt != NULL, "malloc");
        fill_ints(bs, pool_src_count(&big), -5, 5);
        CHECK_STATUS(pcnn_maxpool2d_fwd_taps(&big, bs, bd, bt), PCNN_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&big, bd, bt, bx), PCNN_STATUS_INVALID_ARGUMENT);
        big.kh = 16;
        CHECK_STATUS(pcnn_maxpool2d_desc_init(&big), PCNN_STATUS_OK);
        CHECK(pool_dst_count(&big) == bn, "16 x 16 outputs");
        CHECK_STATUS(pcnn_maxpool2d_fwd_taps(&big, bs, bd, bt), PCNN_STATUS_OK);
        CHECK_STATUS(pcnn_maxpool2d_bwd_taps(&big, bd, bt, bx), PCNN_STATUS_OK);
        free(bs), free(bd), free(bx), free(bt);
    }
    free(src);
    free(dst);
    free(ds);
    free(idx);
}

static void test_controls(void) {
    CHECK(pcnn_abi_version() == PCNN_ABI_VERSION, "abi %d", pcnn_abi_version());
    for (int32_t s = -3; s < 10; ++s) {
        const char *m = pcnn_status_str(s);
        CHECK(m != NULL && m[0] != '\0', "status_str(%d)", s);
    }
    CHECK(strcmp(pcnn_isa_name(PCNN_ISA_SCALAR), "scalar") == 0, "scalar name");
    CHECK(strcmp(pcnn_isa_name(PCNN_ISA_AVX2), "avx2") == 0, "avx2 name");
    CHECK(strcmp(pcnn_isa_name(PCNN_ISA_AVX512), "avx512") == 0, "avx512 name");
    CHECK(strcmp(pcnn_isa_name(PCNN_ISA_NEON), "neon") == 0, "neon name");
    CHECK(strcmp(pcnn_isa_name(4), "unknown") == 0 && strcmp(pcnn_isa_name(-1), "unknown") == 0,
          "unknown name");
    const int32_t detected = pcnn_isa_detected();
#if defined(__aarch64__)
    CHECK(detected == PCNN_ISA_SCALAR || detected == PCNN_ISA_NEON, "detected %d", detected);
#else
    CHECK(detected >= PCNN_ISA_SCALAR && detected <= PCNN_ISA_AVX512, "detected %d", detected);
#endif
    CHECK_STATUS(pcnn_set_max_isa(-1), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_set_max_isa(4), PCNN_STATUS_INVALID_ARGUMENT);
    /* neon (3) is the highest value: as a cap it allows everything, on any architecture */
    CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_NEON), PCNN_STATUS_OK);
    CHECK(pcnn_isa_active() == detected, "cap neon: active %d", pcnn_isa_active());
    CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_AVX2), PCNN_STATUS_OK);
#if defined(__aarch64__)
    CHECK(pcnn_isa_active() == PCNN_ISA_SCALAR, "cap avx2 on aarch64: %d", pcnn_isa_active());
#else
    CHECK(pcnn_isa_active() == (detected < PCNN_ISA_AVX2 ? detected : PCNN_ISA_AVX2),
          "cap avx2: %d", pcnn_isa_active());
#endif
    CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_SCALAR), PCNN_STATUS_OK);
    CHECK(pcnn_isa_active() == PCNN_ISA_SCALAR, "cap scalar");
    CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_AVX512), PCNN_STATUS_OK);
#if defined(__aarch64__)
    CHECK(pcnn_isa_active() == PCNN_ISA_SCALAR, "cap avx512 on aarch64: %d", pcnn_isa_active());
    CHECK_STATUS(pcnn_set_max_isa(PCNN_ISA_NEON), PCNN_STATUS_OK);
#endif
    CHECK(pcnn_isa_active() == detected, "uncapped active %d", pcnn_isa_active());

    const int32_t threads = pcnn_get_num_threads();
    CHECK(threads >= 1 && threads <= 256, "threads %d", threads);
    CHECK_STATUS(pcnn_set_num_threads(0), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_set_num_threads(-5), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pcnn_set_num_threads(257), PCNN_STATUS_INVALID_ARGUMENT);
    CHECK(pcnn_get_num_threads() == threads, "unchanged after errors");
    CHECK_STATUS(pcnn_set_num_threads(256), PCNN_STATUS_OK);
    CHECK(pcnn_get_num_threads() == 256, "256");
    CHECK_STATUS(pcnn_set_num_threads(threads), PCNN_STATUS_OK);
}

/*
 * Every small max-pool geometry on one axis (in 1..7, k 1..7, stride 1..4, pads 0..4 each side,
 * dilation 1..4, floor and ceil) against a model written here from the header's text:
 * PyTorch's output-size formula with floor division, the ceil-mode drop, "output size >= 1",
 * and a brute-force search for a window without an input position.
 */
static int64_t floor_div(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void test_pool_rule_exhaustive(void) {
    int64_t cases = 0, accepted = 0, larger = 0, all_padding = 0;
    for (int64_t in = 1; in <= 7; ++in)
    for (int64_t k = 1; k <= 7; ++k)
    for (int64_t st = 1; st <= 4; ++st)
    for (int64_t pl = 0; pl <= 4; ++pl)
    for (int64_t pr = 0; pr <= 4; ++pr)
    for (int64_t dil = 1; dil <= 4; ++dil)
    for (int ceil_mode = 0; ceil_mode <= 1; ++ceil_mode) {
        const int64_t numer = in + pl + pr - dil * (k - 1) - 1;
        int64_t out = floor_div(numer + (ceil_mode ? st - 1 : 0), st) + 1;
        if (ceil_mode && (out - 1) * st >= in + pl) {
            --out;
        }
        int ok = out >= 1, empty = 0;
        for (int64_t o = 0; ok && o < out; ++o) {
            int any = 0;
            for (int64_t j = 0; j < k; ++j) {
                const int64_t pos = o * st - pl + j * dil;
                any |= pos >= 0 && pos < in;
            }
            if (!any) {
                ok = 0;
                empty = 1;
            }
        }
        /* the axis under test is the width; the height is a trivial 1-row, 1-tap axis */
        pcnn_maxpool2d_desc d = pool_desc(1, 1, 1, in, 1, k, 1, st, 0, 0, pl, pr, 1, dil, ceil_mode);
        const int32_t status = pool_init(d);
        ++cases;
        all_padding += empty;
        if (ok) {
            ++accepted;
            larger += dil * (k - 1) + 1 > in + pl + pr;
            pcnn_maxpool2d_desc e = d;
            CHECK(status == PCNN_STATUS_OK && pcnn_maxpool2d_desc_init(&e) == PCNN_STATUS_OK && e.ow == out,
                  "in %" PRId64 " k %" PRId64 " s %" PRId64 " pad %" PRId64 "+%" PRId64 " d %" PRId64
                  " ceil %d: model ow %" PRId64 ", status %d ow %" PRId64, in, k, st, pl, pr, dil, ceil_mode,
                  out, status, e.ow);
        } else {
            CHECK(status == PCNN_STATUS_INVALID_ARGUMENT,
                  "in %" PRId64 " k %" PRId64 " s %" PRId64 " pad %" PRId64 "+%" PRId64 " d %" PRId64
                  " ceil %d: model rejects (%s), status %d", in, k, st, pl, pr, dil, ceil_mode,
                  empty ? "a window without input" : "output size < 1", status);
        }
    }
    printf("desc_errors: max-pool rule on %" PRId64 " one-axis geometries: %" PRId64 " accepted (%" PRId64
           " with a window larger than the padded input), %" PRId64 " with a window on no input\n",
           cases, accepted, larger, all_padding);
    CHECK(larger > 100 && all_padding > 100, "the grid should hold both kinds");
}

int main(void) {
    test_controls();
    test_conv_desc();
    test_conv_ops();
    test_conv_extreme_geometry();
    test_pool_desc();
    test_pool_rule_exhaustive();
    test_pool_ops();
    test_pool_extreme_geometry();
    return test_finish("desc_errors");
}
