/*
 * conv2d forward / backward-data, the direct kernels' tile paths (test_conv2d_fwd_bwd_data_fast.h
 * says how each shape is checked): the benchmark shapes, the small-plane backward-data path,
 * channel tiles, widths 1..65, row tiles, backward-data row tiles' copies and prefetch,
 * channels 1..17, wide rows, row mode, the stride-2 phase split and 2-D backward tiles.
 */
#include "test_conv2d_fwd_bwd_data_fast.h"

static long corpus(const variant *vars, int nvars) {
    long shapes = 0;
    uint64_t seed = 1;
    /* benchmark shapes, batch reduced */
    CHECK(2, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);      /* lenet1 */
    CHECK(2, 6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);     /* lenet2 */
    /* the small-plane backward-data path (stride 1, unpadded): LeNet's second convolution
     * as trained, tap and vector tails, ow >= a vector, dilation, groups, one-row kernels */
    const int64_t flat_before = FLAT_RUNS();
    CHECK(3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);     /* lenet2 as trained */
    CHECK(2, 5, 13, 21, 7, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(2, 4, 12, 11, 6, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 2);
    CHECK(1, 3, 9, 10, 5, 1, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(1, 3, 9, 10, 5, 4, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    CHECK(2, 16, 6, 6, 64, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);
#if defined(__x86_64__)
    if (FLAT_RUNS() <= flat_before) { /* nvars > 0 here: AVX2 at least */
        fprintf(stderr, "FAIL: the small-plane backward-data path never ran\n");
        ++failures;
    }
#else
    (void)flat_before;
#endif
    CHECK(1, 1, 8, 8, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);        /* seed_tiny */
    CHECK(2, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);     /* cifar */
    CHECK(1, 32, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);    /* mid */
    CHECK(1, 16, 56, 56, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);    /* resnet3x3, fewer channels */
    CHECK(1, 32, 28, 28, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);    /* resnet_s2, fewer channels */
    /* stride-1 channel tiles (56- and 28-wide rows, >= 32 channels: forward and
     * backward-data), row-chunked and whole-image tasks */
    CHECK(2, 40, 12, 56, 36, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(12, 33, 7, 28, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* ... with more input channels than 2 x the block (the tiles' second channel loop,
     * after the next-row prefetches), forward and backward-data */
    CHECK(2, 80, 9, 56, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 36, 9, 28, 90, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* stride-1 channel tiles reading in place, edge tiles from a strip copy (see
     * test_variants_conv2d.c, "ip ..."), the inputs against inaccessible pages */
    CHECK(3, 19, 6, 41, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip fwd 41 3 tiles */
    CHECK(2, 17, 5, 58, 40, 3, 3, 1, 1, 0, 2, 0, 2, 1, 1, 1); /* ip fwd 58 pad 0/2 */
    CHECK(1, 20, 7, 50, 35, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1); /* ip fwd 50 5x5 */
    CHECK(2, 18, 4, 47, 37, 1, 7, 1, 1, 0, 0, 3, 3, 1, 1, 1); /* ip fwd 47 1x7 */
    CHECK(1, 33, 9, 44, 34, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip both 44 3x1 */
    CHECK(2, 17, 8, 54, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1); /* ip fwd 54 d2 */
    CHECK(2, 66, 5, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2); /* ip fwd groups 2 */
    CHECK(1, 33, 5, 41, 33, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1); /* ip both 41 pad 2/0 */
    CHECK(2, 20, 9, 41, 33, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1); /* ip fwd s2h 41 */
    CHECK(1, 19, 30, 12, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip fwd 12 tall */
    CHECK(3, 36, 6, 41, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip bwd 41 */
    CHECK(2, 35, 5, 55, 17, 3, 3, 1, 1, 1, 0, 2, 0, 1, 1, 1); /* ip bwd 55 pad 1/0 */
    CHECK(1, 40, 6, 45, 18, 5, 5, 1, 1, 2, 1, 1, 3, 1, 1, 1); /* ip bwd 45 5x5 asym */
    CHECK(2, 33, 3, 50, 19, 1, 7, 1, 1, 0, 0, 3, 3, 1, 1, 1); /* ip bwd 50 1x7 */
    CHECK(2, 34, 9, 41, 18, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1); /* ip bwd s2h 41 */
    CHECK(2, 70, 7, 58, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2); /* ip bwd 58 d2 groups */
    CHECK(1, 37, 20, 57, 35, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip both 20 rows 57 */
    CHECK(12, 33, 4, 41, 34, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* ip both 12 images */
    /* resnet_s2-like with enough work per weight that every thread packs its own blocks
     * (task_block_weights), several tasks and block chunks per thread */
    CHECK(2, 64, 28, 28, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 40, 14, 14, 36, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);    /* pw1x1, fewer channels */
    CHECK(1, 3, 64, 70, 20, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1);     /* big7x7, smaller */
    /* widths 1..33, 48, 63, 64, 65 (3x3 pad 1 and 3x1 valid), channels tails */
    for (int64_t w = 1; w <= 65; ++w) {
        if (w > 33 && w != 48 && w != 63 && w != 64 && w != 65) {
            continue;
        }
        CHECK(1, 1 + w % 5, 3, w, 1 + w % 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        CHECK(2, 2, 4, w, 3, 3, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        CHECK(1, 3, 5, w, 5, 2, 3, 2, 2, 0, 1, 1, 1, 1, 1, 1);
    }
    /* forward 2-row tiles (AVX-512 ukrr_*: rows of 17..32 pixels, <= 4 input channels, a
     * padded copy): vertical stride and dilation, groups, asymmetric padding, 5x5, odd
     * row counts (a 1-row remainder) and channel counts that are no block multiple */
    CHECK(2, 3, 9, 27, 13, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 4, 11, 30, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2);
    CHECK(3, 2, 8, 20, 19, 2, 3, 1, 1, 0, 1, 1, 0, 1, 1, 1);
    CHECK(1, 1, 7, 32, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(2, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 3, 31, 17, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* row tiles with many channels (forward > 4 input channels, backward-data stride 1):
     * the mid layer with whole-image tasks, widths 31 / 33 / 64, channel tails, odd
     * heights, groups, dilation, asymmetric padding */
    CHECK(12, 32, 9, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 37, 7, 31, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 20, 5, 33, 23, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 18, 4, 64, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(13, 22, 6, 17, 26, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 2);
    CHECK(3, 9, 11, 30, 13, 5, 5, 1, 1, 4, 3, 4, 2, 2, 2, 1);
    /* flat tiles, AVX-512 and AVX2 (direct/flat_tiles.h: stride 1, rows that are not a whole number
     * of vectors, "same" horizontal padding, the input read in place with per-lane masks): grouped3x3 (8 -> 8
     * channels per group, 28x28) with whole-image tasks and one image split in vector
     * chunks; tile widths 3 (> 6 channels, blocks of 8 and their tails) and 4; asymmetric
     * horizontal and any vertical padding (also none: rows above / below never read);
     * 5x5, dilation 2, 1x3 and 3x1 (no horizontal pad); planes with a whole last vector
     * (24x24 = 36) and a partial one; bias or none comes from check_shape */
    const int64_t flat_tiles_before = FLAT_TILE_RUNS();
    const int64_t flat_tiles_avx2_before = FLAT_TILE_RUNS_AVX2();
    CHECK(4, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8);
    CHECK(1, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    CHECK(2, 9, 7, 17, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 5, 9, 31, 20, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1, 1);
    CHECK(3, 6, 8, 19, 5, 3, 3, 1, 1, 2, 0, 0, 2, 1, 1, 1);
    CHECK(1, 7, 10, 23, 9, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1);
    CHECK(2, 8, 24, 24, 17, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(1, 6, 11, 29, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    CHECK(2, 4, 6, 25, 3, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1);
    CHECK(1, 12, 9, 21, 12, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 3);
    CHECK(1, 3, 3, 26, 2, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 1);
    /* ... and rows wider than two vectors where the pixel tiles ran (< 32 channels per group,
     * or widths without channel tiles): 56 with 4 channels per group, 45 with 5x5 and 8
     * images, 33 with pads 0 / 2, 40 with 20 channels, 50 with dilation 2 */
    CHECK(2, 16, 9, 56, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4);
    CHECK(8, 6, 7, 45, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(3, 8, 6, 33, 12, 3, 3, 1, 1, 1, 1, 0, 2, 1, 1, 1);
    CHECK(1, 20, 5, 40, 20, 3, 3, 1, 1, 0, 2, 1, 1, 1, 1, 1);
    CHECK(1, 7, 8, 50, 9, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    /* ... and rows narrower than a vector (a vector spans several rows; where row mode ran):
     * 14x14 groups of 16, 7x7, 13 with pads 2 / 0, 5 wide 5x5, 3 wide 3x3, 1x3 on 9 wide,
     * 2 wide, dilation 2 on 11 wide */
    CHECK(2, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    CHECK(3, 20, 7, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 9, 6, 13, 10, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1, 1);
    CHECK(1, 6, 9, 5, 7, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(4, 5, 5, 3, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 8, 4, 9, 8, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 2);
    CHECK(1, 4, 6, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 6, 9, 11, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
#if defined(__x86_64__)
    if (nvars > 1 && FLAT_TILE_RUNS() <= flat_tiles_before) { /* the AVX-512 variant ran */
        fprintf(stderr, "FAIL: the AVX-512 flat tiles never ran\n");
        ++failures;
    }
    if (nvars > 0 && FLAT_TILE_RUNS_AVX2() <= flat_tiles_avx2_before) { /* the AVX2 variant ran */
        fprintf(stderr, "FAIL: the AVX2 flat tiles never ran\n");
        ++failures;
    }
#else
    (void)flat_tiles_before;
    (void)flat_tiles_avx2_before;
#endif
    /* backward-data row tiles: copy rows sharing zero columns, and the paddings that
     * keep separate ones */
    CHECK(2, 13, 7, 31, 19, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1);
    CHECK(12, 13, 5, 29, 19, 3, 3, 1, 1, 1, 1, 0, 2, 1, 1, 1);
    CHECK(1, 11, 9, 17, 15, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(12, 9, 7, 32, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    CHECK(3, 7, 6, 30, 9, 5, 5, 1, 1, 1, 3, 3, 1, 1, 1, 1);
    /* backward-data row tiles' whole-vector copy and next-channel prefetch (see
     * test_variants_conv2d.c, "bwd spill") */
    CHECK(2, 11, 5, 29, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(12, 22, 5, 32, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    CHECK(1, 9, 7, 31, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 5, 3, 30, 9, 1, 3, 1, 1, 0, 0, 40, 40, 1, 40, 1);
    CHECK(2, 5, 3, 30, 9, 1, 3, 1, 1, 0, 0, 100, 100, 1, 100, 1);
    /* backward-data row tiles with the next-channel prefetch at even heights
     * (test_variants_conv2d.c, "bwd chunks") */
    CHECK(1, 13, 6, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 8, 4, 31, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 7, 8, 29, 110, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 9, 10, 24, 40, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    CHECK(4, 22, 6, 32, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    CHECK(1, 8, 13, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* channels 1..17 */
    for (int64_t c = 1; c <= 17; ++c) {
        CHECK(1, c, 6, 9, 18 - c, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        CHECK(1, c, 5, 7, c, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    }
    CHECK(1, 7, 9, 10, 33, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1); /* oc not a block multiple */
    CHECK(1, 5, 6, 20, 100, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    /* wide rows: several tiles per row, overlapping last tile */
    CHECK(1, 3, 4, 150, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 3, 4, 151, 7, 3, 5, 1, 2, 1, 1, 2, 2, 1, 1, 1);
    /* row mode (rows narrower than a vector), several tasks per image so that row groups
     * meet task boundaries; backward with stride 2/3, dilation, odd sizes; forward read in
     * place (no left padding, stride-1 columns) with top padding and vertical stride */
    CHECK(1, 16, 48, 24, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK(2, 12, 45, 29, 10, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1);
    CHECK(1, 10, 40, 31, 9, 5, 4, 3, 3, 2, 1, 1, 2, 1, 1, 1);
    CHECK(1, 9, 37, 13, 11, 4, 3, 3, 2, 1, 2, 0, 1, 1, 2, 1);
    CHECK(1, 8, 50, 16, 20, 3, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1);
    CHECK(1, 8, 51, 17, 20, 3, 3, 2, 1, 2, 0, 0, 0, 1, 1, 1);
    CHECK(2, 7, 33, 9, 6, 3, 2, 1, 1, 0, 0, 0, 0, 2, 1, 1);
    /* stride-2 phase split with various left pads and wide rows; whole tiles + tail tile */
    CHECK(1, 3, 9, 100, 7, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1);
    CHECK(1, 3, 9, 101, 7, 3, 5, 2, 2, 2, 2, 2, 3, 1, 1, 1);
    CHECK(1, 3, 9, 97, 7, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1);
    CHECK(1, 20, 14, 14, 30, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1); /* 196-pixel flat row */
    CHECK(1, 5, 3, 113, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    /* 2-D backward tiles (few diff_src channels, rows wider than a vector): tall images so
     * that several tasks split the rows and row groups meet task boundaries; stride 2/3
     * (phase buffer), dilation, 1..4 channels */
    CHECK(3, 1, 40, 28, 6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);   /* lenet1, taller */
    CHECK(1, 3, 50, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);  /* cifar-like */
    CHECK(1, 2, 45, 70, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    CHECK(1, 1, 47, 33, 5, 4, 3, 3, 1, 2, 1, 0, 2, 2, 1, 1);
    CHECK(1, 4, 30, 49, 40, 3, 5, 1, 3, 1, 2, 2, 1, 1, 1, 1);
    CHECK(2, 3, 61, 100, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1); /* big7x7-like */
    CHECK(1, 2, 9, 17, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);   /* groups of 1 channel */
    return shapes;
}

int main(void) { return run_corpus_test("conv2d_fwd_bwd_data_fast_tiles", corpus); }
