/*
 * Variant cross-check, conv2d: forward, backward-data and backward-weights of every variant
 * against the scalar kernels (test_variants.h says how), on a named corpus of awkward
 * shapes (one group of them per kernel path), a width x channel tail sweep and seeded
 * random shapes; then padded shapes with an Inf weight (the declines' stated reasons).
 */
#include "test_describe_short.h"
#include "test_variants.h"

typedef struct {
    char name[64];
    pcnn_conv2d_desc d;
} conv_shape;

static conv_shape conv_shapes[MAX_SHAPES];
static int64_t g_depthwise_fwd_runs; /* depthwise engine forward calls checked */
static int n_conv_shapes;

static void add_conv(const char *name, pcnn_conv2d_desc d, int must_be_valid) {
    const int32_t st = pcnn_conv2d_desc_init(&d);
    if (st != PCNN_STATUS_OK) {
        CHECK(!must_be_valid, "corpus shape %s rejected: %s", name, pcnn_status_str(st));
        return;
    }
    if (n_conv_shapes < MAX_SHAPES) {
        snprintf(conv_shapes[n_conv_shapes].name, sizeof conv_shapes[0].name, "%s", name);
        conv_shapes[n_conv_shapes++].d = d;
    }
}

static void build_conv_corpus(void) {
#define C(name, ...) add_conv(name, conv_desc(__VA_ARGS__), 1)
    /*  name                    n  c  ih  iw oc kh kw sh sw pt pb pl pr dh dw g */
    C("1x1 input k1",           1, 3, 1,  1, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    C("1x1 input k3 pad1",      1, 3, 1,  1, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("kernel == input",        2, 3, 5,  5, 4, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    C("kernel == input rect",   1, 2, 3,  7, 3, 3, 7, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    C("stride > kernel",        1, 2, 9, 10, 3, 2, 2, 3, 3, 0, 0, 0, 0, 1, 1, 1);
    C("stride 4 k1",            1, 5, 9, 17, 3, 1, 1, 4, 4, 0, 0, 0, 0, 1, 1, 1);
    C("asymmetric pad",         1, 3, 6,  7, 4, 3, 3, 1, 1, 2, 0, 1, 3, 1, 1, 1);
    C("pad > kernel",           1, 2, 3,  3, 2, 3, 3, 1, 1, 4, 4, 4, 4, 1, 1, 1);
    C("dilation 2",             1, 2, 9,  8, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    C("dilation stride asym",   1, 3, 11, 13, 5, 3, 2, 2, 3, 1, 0, 0, 2, 3, 2, 1);
    C("groups 2",               2, 4, 6,  6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    C("groups 3 tails",         2, 9, 7, 10, 15, 2, 3, 1, 2, 0, 1, 1, 0, 1, 2, 3);
    C("depthwise",              1, 8, 7,  7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8);
    C("depthwise x2 stride2",   1, 5, 6,  5, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5);
    C("depthwise 17",           2, 17, 9, 11, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 17);
    /* depthwise stride 2 with rows in registers (depthwise-s2fwd-simd.h): steps whose input
     * rows all lie in the plane (unchecked) and the first / last ones, 1 and 2 column blocks */
    C("depthwise s2 28 wide",   2, 5, 11, 28, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5);
    C("depthwise s2 pad0 33",   1, 3, 9, 33, 3, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 3);
    C("depthwise s2 56 wide",   1, 4, 8, 56, 4, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 4);
    C("odd primes",             3, 7, 13, 11, 5, 5, 3, 2, 1, 2, 1, 0, 1, 1, 1, 1);
    C("channel tails 17x19",    1, 17, 5, 6, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("wide 1xW",               1, 3, 1, 67, 9, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1);
    C("tall Hx1",               1, 3, 37, 1, 4, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    C("N>1 pointwise",          4, 16, 8, 8, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    C("stem k7 s2 p3",          1, 3, 15, 15, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1);
    C("16 channels 16 wide",    1, 16, 8, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("8 channels 8 wide",      2, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("oc 33 1x1 input 5x5 k",  1, 4, 1, 1, 33, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    C("k5 d3 s2",               2, 3, 17, 19, 6, 5, 5, 2, 2, 6, 6, 6, 6, 3, 3, 1);
    /* stride 2 with >= 32 output channels per group (AVX2: >= 16): channel tiles (channels
     * in lanes, direct/channel_tiles.h): channel-block tails, row tails, taps, groups */
    C("s2 channels 37 tails",   2, 5, 9, 31, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    C("s2 channels 64 asym",    1, 3, 6, 61, 64, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 1);
    C("s2 channels 33 1x7",     1, 4, 3, 29, 33, 1, 7, 1, 2, 0, 0, 3, 3, 1, 1, 1);
    C("s2 channels 40 d2 5x5",  2, 3, 13, 12, 40, 5, 5, 2, 2, 2, 3, 4, 1, 2, 2, 1);
    C("s2 channels groups 2",   1, 6, 7, 9, 98, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2);
    C("s2 channels 16x s3h",    1, 7, 10, 28, 80, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1);
    /* the same with whole-image tasks (n * groups >= 4 * threads, up to 3 threads) and the
     * packing transposes (forward: ci * taps >= 16 with a tail; backward-data: diff_src
     * blocks >= 16 channels, the weights' last block read near the end of the array) */
    C("s2 channels 12 images", 12, 19, 9, 13, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    C("s2 bwd channels 37",    12, 37, 11, 9, 21, 3, 3, 2, 2, 1, 0, 1, 1, 1, 1, 1);
    C("s2 channels groups 4",   3, 8, 11, 11, 128, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, 4);
    C("s2 channels 5x5 images", 12, 33, 12, 14, 40, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 1);
    /* stride 1 with >= 32 channels per group on rows the channel tiles take
     * (chtile_stride1_width: width not a multiple of 16, tiles of 12..14 pixels): forward
     * (output channels) and backward-data (input channels); padded and in place, row
     * tails, groups, dilation, asymmetric padding, 1x7, whole-image tasks; forward with
     * > 16 input channels or planes > 576 (fewer go to direct/small_channels.h) */
    C("s1 channels 56 wide",    1, 20, 3, 56, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("s1 channels 58 in place", 1, 18, 4, 58, 33, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    C("s1 channels groups 2",   2, 34, 5, 28, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    C("s1 bwd channels 40 w27", 2, 40, 4, 27, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("s1 channels 13 d2 5x5",  1, 3, 50, 13, 40, 5, 5, 1, 1, 4, 2, 3, 5, 2, 2, 1);
    C("s1 channels 41 asym 1x7", 1, 17, 4, 41, 48, 1, 7, 1, 1, 0, 0, 2, 4, 1, 1, 1);
    C("s1 channels 12 images", 12, 17, 6, 24, 34, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("s1 bwd channels 12 img", 12, 36, 5, 14, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("s1 both 44 x 44",        2, 44, 5, 26, 44, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1);
    /* rows that are one channel tile of at least half of UKRC_NX_MAX pixels (AVX-512: 7..11,
     * AVX2: 3..6), padded and in place; forward with > 128 input channels (up to 128 such
     * narrow rows go to direct/small_channels.h), backward-data */
    C("s1 channels 7 narrow",   2, 130, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("s1 channels 11 in place", 1, 130, 4, 13, 33, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    C("s1 bwd channels 9 narrow", 1, 36, 6, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("s1 channels 3 narrow",   2, 130, 5, 3, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* more input channels than 2 x the channel block: the tile's channels past the
     * next-row prefetches (pf_n = 2 * ocb) run in its second channel loop; forward
     * (80 -> 33: blocks of 17 / 16) and backward-data (90 diff_dst channels, blocks of 18);
     * 20 rows: tasks of >= 2 rows at up to 3 threads, so that some rows prefetch */
    C("s1 pf split fwd 80",     1, 80, 20, 56, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("s1 pf split bwd 90",     1, 36, 20, 28, 90, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* stride-1 channel tiles reading the input in place where a tile's taps stay inside
     * it and a strip copy at the edges (chtile_edges): rows of 41..58 (3-4 tiles, 12-tile
     * tall rows for contrast), padding 0/1/2 on either side, 3x3 / 5x5 / 1x7 / 3x1,
     * dilation, groups, vertical stride 2, channel counts off 16, 1-3 and 12 images */
    C("ip fwd 41 3 tiles", 3, 19, 6, 41, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("ip fwd 58 pad 0/2", 2, 17, 5, 58, 40, 3, 3, 1, 1, 0, 2, 0, 2, 1, 1, 1);
    C("ip fwd 50 5x5", 1, 20, 7, 50, 35, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    C("ip fwd 47 1x7", 2, 18, 4, 47, 37, 1, 7, 1, 1, 0, 0, 3, 3, 1, 1, 1);
    C("ip both 44 3x1", 1, 33, 9, 44, 34, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("ip fwd 54 d2", 2, 17, 8, 54, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    C("ip fwd groups 2", 2, 66, 5, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    C("ip both 41 pad 2/0", 1, 33, 5, 41, 33, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1);
    C("ip fwd s2h 41", 2, 20, 9, 41, 33, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    C("ip fwd 12 tall", 1, 19, 30, 12, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("ip bwd 41", 3, 36, 6, 41, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("ip bwd 55 pad 1/0", 2, 35, 5, 55, 17, 3, 3, 1, 1, 1, 0, 2, 0, 1, 1, 1);
    C("ip bwd 45 5x5 asym", 1, 40, 6, 45, 18, 5, 5, 1, 1, 2, 1, 1, 3, 1, 1, 1);
    C("ip bwd 50 1x7", 2, 33, 3, 50, 19, 1, 7, 1, 1, 0, 0, 3, 3, 1, 1, 1);
    C("ip bwd s2h 41", 2, 34, 9, 41, 18, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    C("ip bwd 58 d2 groups", 2, 70, 7, 58, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2);
    C("ip both 20 rows 57", 1, 37, 20, 57, 35, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("ip both 12 images", 12, 33, 4, 41, 34, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* AVX-512 row tiles (rows of 17..32, <= 4 input channels per group) with enough images
     * for whole-image tasks (n * groups >= 4 * threads, up to 3 threads), outside the
     * small-channel path's rule (< 16 output channels or planes > 576): odd heights,
     * channel-block tails, asymmetric padding, groups, dilation, vertical stride */
    C("row tiles 13 images",   13, 3, 9, 19, 13, 3, 3, 1, 1, 1, 2, 0, 1, 1, 1, 1);
    C("row tiles groups 2",     7, 4, 6, 32, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    C("row tiles 1 ch d2 5x5", 12, 1, 7, 30, 7, 5, 5, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    C("row tiles s2h 32x33",   12, 2, 41, 33, 32, 3, 3, 2, 1, 0, 1, 0, 1, 1, 1, 1);
    /* row tiles with many channels (forward: > 4 input channels; backward-data: stride 1,
     * diff_src rows of 17..32 with too many channels for the 2-D tiles): the mid layer's
     * 32 / 31 wide rows and the 33 / 64 wide neighbours that do not take them, channel
     * counts off every block and vector multiple, odd heights (1-row remainders), row-
     * chunked and whole-image tasks, groups, dilation, asymmetric padding, 5x5 */
    C("mid rows 32 c37 oc21",   2, 37, 7, 32, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("mid rows 31 12 images", 12, 19, 5, 31, 27, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("mid rows 33 c20",        2, 20, 5, 33, 23, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("mid rows 64 c18",        1, 18, 4, 64, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("mid rows 17 groups 2",  13, 22, 6, 17, 26, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 2);
    C("mid rows 30 d2 5x5",     3, 9, 11, 30, 13, 5, 5, 1, 1, 4, 3, 4, 2, 2, 2, 1);
    C("mid rows 20 1x3 asym",  12, 7, 3, 20, 7, 1, 3, 1, 1, 0, 0, 2, 0, 1, 1, 1);
    /* backward-data row tiles' copy rows sharing their zero columns (row_w = padl + ow
     * where the right-edge reads fit in the next row's left zeros) and the asymmetric
     * paddings that keep separate ones: left > right, right > left, 5x5 pad 2, dilation
     * 2, widths 17 / 31, odd heights, row-chunked and whole-image tasks */
    C("bwd shared zeros pl2 pr0", 2, 13, 7, 31, 19, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 1);
    C("bwd shared zeros pl0 pr2", 12, 13, 5, 29, 19, 3, 3, 1, 1, 1, 1, 0, 2, 1, 1, 1);
    C("bwd shared zeros 5x5 p2",  1, 11, 9, 17, 15, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    C("bwd shared zeros d2",     12, 9, 7, 32, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);
    C("bwd shared zeros 5x5 p31", 3, 7, 6, 30, 9, 5, 5, 1, 1, 1, 3, 3, 1, 1, 1, 1);
    /* backward-data row tiles' whole-vector copy (bwd_copy_plane_spill: each row's last
     * vector spills into the next row / the channel's slack) and the next-channel prefetch
     * (> 24 KB of tile input: many diff_dst channels): rows of 30 / 33 / 32 / 70 floats
     * (nvec 2 / 3 / 2 / 5) and 130 (9 vectors: the memcpy copy), groups, odd heights,
     * whole-image and row-chunked tasks */
    C("bwd spill pf c60 w29",    2, 11, 5, 29, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("bwd spill pf groups 2",  12, 22, 5, 32, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    C("bwd spill pf c70 w31",    1, 9, 7, 31, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("bwd spill 1x3 d40",       2, 5, 3, 30, 9, 1, 3, 1, 1, 0, 0, 40, 40, 1, 40, 1);
    C("bwd spill 1x3 d100 memcpy", 2, 5, 3, 30, 9, 1, 3, 1, 1, 0, 0, 100, 100, 1, 100, 1);
    /* backward-data row tiles with the next-channel prefetch (ukrr_pf_*) at even heights
     * (the shapes above are odd): 64 / 70 / 110 diff_dst channels, 5x5 over 40, groups, 13
     * rows (an 8-row task and a 5-row one); the shapes a channel-chunk split of these tiles
     * would take (direct/README-mid-bwd-data.md, "mid backward-data: channel chunks ...") */
    C("bwd chunks 2 c64 w32",    1, 13, 6, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("bwd chunks 2 c70 w31",    1, 8, 4, 31, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("bwd chunks 3 c110 w29",   2, 7, 8, 29, 110, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    C("bwd chunks 5x5 c40 w24",  1, 9, 10, 24, 40, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1);
    C("bwd chunks groups 2",     4, 22, 6, 32, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2);
    C("bwd chunks h13 mixed",    1, 8, 13, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
#undef C
    /* tail sweep: widths x channels, 3x3 pad 1 (c = oc = ch) */
    char name[64];
    for (int wi = 0; wi < N_WIDTHS; ++wi) {
        for (int ch = 1; ch <= 17; ++ch) {
            snprintf(name, sizeof name, "sweep w%d c%d", sweep_widths[wi], ch);
            add_conv(name, conv_desc(1, ch, 2, sweep_widths[wi], ch, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1);
        }
        /* strided / pointwise tails at each width */
        snprintf(name, sizeof name, "sweep w%d s2", sweep_widths[wi]);
        add_conv(name, conv_desc(1, 3, 3, sweep_widths[wi], 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), 1);
        snprintf(name, sizeof name, "sweep w%d 1x1", sweep_widths[wi]);
        add_conv(name, conv_desc(2, 5, 2, sweep_widths[wi], 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), 1);
    }
    /* seeded random shapes */
    rng_seed(g_seed);
    int added = 0;
    for (int tries = 0; added < 200 && tries < 10000; ++tries) {
        const int64_t g = rng_int(1, 3);
        const pcnn_conv2d_desc d = conv_desc(
            rng_int(1, 3), g * rng_int(1, 5), rng_int(1, 12), rng_int(1, 12), g * rng_int(1, 5),
            rng_int(1, 4), rng_int(1, 4), rng_int(1, 3), rng_int(1, 3), rng_int(0, 3),
            rng_int(0, 3), rng_int(0, 3), rng_int(0, 3), rng_int(1, 3), rng_int(1, 3), g);
        snprintf(name, sizeof name, "random #%d (seed %" PRIu64 ")", tries, g_seed);
        const int before = n_conv_shapes;
        add_conv(name, d, 0);
        added += n_conv_shapes > before;
    }
}

/* ---- helpers ---- */

/* conv outputs: exact value equality (+0 == -0; NaN never equal) */
static int64_t first_value_mismatch(const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (!(got[i] == want[i])) return i;
    }
    return -1;
}

/* ---- the variants' stated reasons to decline (their kernel sources say the same) ---- */

static int any_nonfinite(const float *p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (!isfinite(p[i])) return 1;
    }
    return 0;
}
static int conv_padded(const pcnn_conv2d_desc *d) {
    return (d->pad_top | d->pad_bottom | d->pad_left | d->pad_right) != 0;
}
/* conv2d-direct.h: padding multiplied as zeros would turn 0 * Inf into NaN */
static const char *expected_decline_conv_fwd(const pcnn_conv2d_desc *d, const float *w) {
    return conv_padded(d) && any_nonfinite(w, conv_w_count(d))
               ? "non-finite weight with padding (0 * Inf)" : NULL;
}
static const char *expected_decline_conv_bwd_data(const pcnn_conv2d_desc *d, const float *w) {
    return any_nonfinite(w, conv_w_count(d)) ? "non-finite weight (0 * Inf)" : NULL;
}
/* conv2d_bwd_weights-simd.h: int32 lane arithmetic; padded taps times a non-finite dY */
static const char *expected_decline_conv_bwd_weights(const pcnn_conv2d_desc *d, const float *dd) {
    if (d->iw > ((int64_t)1 << 30)) return "iw beyond the int32 lane range";
    const int64_t last_iy = (d->oh - 1) * d->stride_h - d->pad_top + (d->kh - 1) * d->dilation_h;
    const int64_t last_ix = (d->ow - 1) * d->stride_w - d->pad_left + (d->kw - 1) * d->dilation_w;
    const int padded = d->pad_top > 0 || d->pad_left > 0 || last_iy >= d->ih || last_ix >= d->iw;
    return padded && any_nonfinite(dd, conv_dst_count(d))
               ? "non-finite diff_dst with padded taps (0 * Inf)" : NULL;
}

/* The table's conv2d_fwd is the direct kernel; the depthwise engines sit behind the level's
 * algorithm list: their forward on every shape the geometry takes, against the scalar result
 * (exact: integer data), e.g. the stride-2 rows of depthwise-s2fwd-simd.h. */
static void check_depthwise_fwd(const pcnn_conv2d_desc *d, const float *src, const float *w, const float *b,
                                const float *ref_dst, const char *name, const char *desc_txt) {
    const int64_t nd = conv_dst_count(d);
    for (int level = 1; level <= g_os_level && level < NLEVELS; ++level) {
        for (const pcnn_conv2d_algo *al = pcnn_conv2d_algos_for(level); al != NULL && al->algorithm != 0; ++al) {
            if (al->algorithm != PCNN_ALGO_DEPTHWISE || al->fwd == NULL ||
                (al->supports != NULL && !al->supports(d, PCNN_PASS_FWD))) {
                continue;
            }
            float *out = gbuf_f(nd);
            const int32_t st = al->fwd(d, src, w, b, out);
            CHECK(st == PCNN_STATUS_OK, "depthwise fwd %s on '%s': status %d", pcnn_isa_name(level), name, st);
            const int64_t at = first_value_mismatch(out, ref_dst, nd);
            CHECK(at < 0, "depthwise fwd %s on '%s' [%s] seed %" PRIu64 ": dst[%" PRId64 "] = %g, scalar %g",
                  pcnn_isa_name(level), name, desc_txt, g_seed, at, at < 0 ? 0.0 : out[at],
                  at < 0 ? 0.0 : ref_dst[at]);
            CHECK(guard_ok(out, nd), "depthwise fwd %s '%s': dst guard", pcnn_isa_name(level), name);
            g_depthwise_fwd_runs++;
            free(out);
        }
    }
}

/* Whether a vector level this CPU runs has a depthwise engine forward to check. */
static int any_level_has_depthwise_fwd(void) {
    for (int level = 1; level <= g_os_level && level < NLEVELS; ++level) {
        for (const pcnn_conv2d_algo *al = pcnn_conv2d_algos_for(level); al != NULL && al->algorithm != 0; ++al) {
            if (al->algorithm == PCNN_ALGO_DEPTHWISE && al->fwd != NULL) return 1;
        }
    }
    return 0;
}

/* ---- conv2d ---- */

static void run_conv(void) {
    op_stats *const fwd_p = &g_stats[0], *const bwd_d_p = &g_stats[1], *const bwd_w_p = &g_stats[2];
#define fwd (*fwd_p)
#define bwd_d (*bwd_d_p)
#define bwd_w (*bwd_w_p)
    const pcnn_kernel_table *ref = &pcnn_kernels_scalar;
    char desc_txt[256];
    for (int s = 0; s < n_conv_shapes; ++s) {
        const pcnn_conv2d_desc *d = &conv_shapes[s].d;
        conv_describe_short(d, desc_txt, sizeof desc_txt);
        const int64_t ns = conv_src_count(d), nd = conv_dst_count(d), nw = conv_w_count(d);
        rng_seed(g_seed + (uint64_t)s * 7919u);
        float *src = gbuf_f(ns), *w = gbuf_f(nw), *b = gbuf_f(d->oc), *dd = gbuf_f(nd);
        fill_ints(src, ns, -3, 3);
        fill_ints(w, nw, -3, 3);
        fill_ints(b, d->oc, -3, 3);
        fill_ints(dd, nd, -3, 3);
        float *src0 = copy_guarded(src, ns), *w0 = copy_guarded(w, nw),
              *b0 = copy_guarded(b, d->oc), *dd0 = copy_guarded(dd, nd);
        const int with_bias = s % 2 == 0;
        const char *why_fwd = expected_decline_conv_fwd(d, w);
        const char *why_bwd_d = expected_decline_conv_bwd_data(d, w);
        const char *why_bwd_w = expected_decline_conv_bwd_weights(d, dd);
        fwd.expected_declines += why_fwd != NULL;
        bwd_d.expected_declines += why_bwd_d != NULL;
        bwd_w.expected_declines += why_bwd_w != NULL;
        /* scalar reference outputs */
        float *ref_dst = gbuf_f(nd), *ref_ds = gbuf_f(ns), *ref_dw = gbuf_f(nw),
              *ref_db = gbuf_f(d->oc);
        CHECK_STATUS(ref->conv2d_fwd(d, src, w, with_bias ? b : NULL, ref_dst), PCNN_STATUS_OK);
        CHECK_STATUS(ref->conv2d_bwd_data(d, dd, w, ref_ds), PCNN_STATUS_OK);
        CHECK_STATUS(ref->conv2d_bwd_weights(d, src, dd, ref_dw, ref_db), PCNN_STATUS_OK);

        FOR_EACH_VARIANT(conv2d_fwd) {
            fwd.has[level] = 1;
            float *out = gbuf_f(nd);
            const int32_t st = tab_->conv2d_fwd(d, src, w, with_bias ? b : NULL, out);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(&fwd, level, conv_shapes[s].name, why_fwd);
            } else {
                fwd.ran[level]++;
                CHECK(st == PCNN_STATUS_OK, "conv2d_fwd %s %s: status %d", pcnn_isa_name(level),
                      conv_shapes[s].name, st);
                const int64_t at = first_value_mismatch(out, ref_dst, nd);
                CHECK(at < 0, "conv2d_fwd %s on '%s' [%s] seed %" PRIu64 ": dst[%" PRId64
                      "] = %g, scalar %g", pcnn_isa_name(level), conv_shapes[s].name, desc_txt,
                      g_seed, at, at < 0 ? 0.0 : out[at], at < 0 ? 0.0 : ref_dst[at]);
            }
            CHECK(guard_ok(out, nd), "conv2d_fwd %s '%s': dst guard", pcnn_isa_name(level),
                  conv_shapes[s].name);
            free(out);
        }
        check_depthwise_fwd(d, src, w, with_bias ? b : NULL, ref_dst, conv_shapes[s].name, desc_txt);
        FOR_EACH_VARIANT(conv2d_bwd_data) {
            bwd_d.has[level] = 1;
            float *out = gbuf_f(ns);
            const int32_t st = tab_->conv2d_bwd_data(d, dd, w, out);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(&bwd_d, level, conv_shapes[s].name, why_bwd_d);
            } else {
                bwd_d.ran[level]++;
                CHECK(st == PCNN_STATUS_OK, "conv2d_bwd_data %s: status %d",
                      pcnn_isa_name(level), st);
                const int64_t at = first_value_mismatch(out, ref_ds, ns);
                CHECK(at < 0, "conv2d_bwd_data %s on '%s' [%s] seed %" PRIu64
                      ": diff_src[%" PRId64 "] = %g, scalar %g", pcnn_isa_name(level),
                      conv_shapes[s].name, desc_txt, g_seed, at, at < 0 ? 0.0 : out[at],
                      at < 0 ? 0.0 : ref_ds[at]);
            }
            CHECK(guard_ok(out, ns), "conv2d_bwd_data %s '%s': guard", pcnn_isa_name(level),
                  conv_shapes[s].name);
            free(out);
        }
        FOR_EACH_VARIANT(conv2d_bwd_weights) {
            bwd_w.has[level] = 1;
            for (int pass = 0; pass < 2; ++pass) { /* with and without diff_bias */
                float *out = gbuf_f(nw), *outb = gbuf_f(d->oc);
                const int32_t st =
                    tab_->conv2d_bwd_weights(d, src, dd, out, pass == 0 ? outb : NULL);
                if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                    if (pass == 0) note_decline(&bwd_w, level, conv_shapes[s].name, why_bwd_w);
                } else {
                    if (pass == 0) bwd_w.ran[level]++;
                    CHECK(st == PCNN_STATUS_OK, "conv2d_bwd_weights %s: status %d",
                          pcnn_isa_name(level), st);
                    const int64_t at = first_value_mismatch(out, ref_dw, nw);
                    CHECK(at < 0, "conv2d_bwd_weights %s on '%s' [%s] seed %" PRIu64
                          ": diff_weights[%" PRId64 "] = %g, scalar %g", pcnn_isa_name(level),
                          conv_shapes[s].name, desc_txt, g_seed, at, at < 0 ? 0.0 : out[at],
                          at < 0 ? 0.0 : ref_dw[at]);
                    if (pass == 0) {
                        const int64_t atb = first_value_mismatch(outb, ref_db, d->oc);
                        CHECK(atb < 0, "conv2d_bwd_weights %s on '%s' [%s]: diff_bias[%" PRId64
                              "]", pcnn_isa_name(level), conv_shapes[s].name, desc_txt, atb);
                    } else {
                        CHECK(bits_of(outb[0]) == PREFILL_NAN_BITS,
                              "diff_bias written although NULL was passed?");
                    }
                }
                CHECK(guard_ok(out, nw) && guard_ok(outb, d->oc), "conv2d_bwd_weights %s '%s': guard",
                      pcnn_isa_name(level), conv_shapes[s].name);
                free(out);
                free(outb);
            }
        }
        CHECK(same_bits(src, src0, ns + GUARD) && same_bits(w, w0, nw + GUARD) &&
                  same_bits(b, b0, d->oc + GUARD) && same_bits(dd, dd0, nd + GUARD),
              "conv '%s': an input was modified", conv_shapes[s].name);
        CHECK(guard_ok(ref_dst, nd) && guard_ok(ref_ds, ns) && guard_ok(ref_dw, nw) &&
                  guard_ok(ref_db, d->oc),
              "conv '%s': scalar guard", conv_shapes[s].name);
        free(src); free(w); free(b); free(dd);
        free(src0); free(w0); free(b0); free(dd0);
        free(ref_dst); free(ref_ds); free(ref_dw); free(ref_db);
    }
    report("conv2d_fwd", &fwd, n_conv_shapes, COUNT_VARIANTS(conv2d_fwd));
    printf("depthwise engine forward: %" PRId64 " calls checked\n", g_depthwise_fwd_runs);
    /* only where a vector level has a depthwise engine (NEON has none: AArch64 CI) */
    CHECK(!any_level_has_depthwise_fwd() || g_depthwise_fwd_runs > 0,
          "no depthwise engine forward call was checked");
    report("conv2d_bwd_data", &bwd_d, n_conv_shapes, COUNT_VARIANTS(conv2d_bwd_data));
    report("conv2d_bwd_weights", &bwd_w, n_conv_shapes, COUNT_VARIANTS(conv2d_bwd_weights));
#undef fwd
#undef bwd_d
#undef bwd_w
}

/* ---- conv2d with a non-finite weight: the declines' stated reasons at work ---- */

/* The first few padded corpus shapes with one weight set to +Inf: a SIMD forward / backward-data
 * variant either declines for the stated reason (printed with it) or matches the scalar kernel
 * bit for bit (NaN and Inf included). */
static void run_conv_nonfinite(void) {
    op_stats *const fwd = &g_stats[5];
    op_stats bwd_d_local;
    memset(&bwd_d_local, 0, sizeof bwd_d_local);
    op_stats *const bwd_d = &bwd_d_local;
    const pcnn_kernel_table *ref = &pcnn_kernels_scalar;
    int nshapes = 0;
    for (int s = 0; s < n_conv_shapes && nshapes < 8; ++s) {
        const pcnn_conv2d_desc *d = &conv_shapes[s].d;
        if (!conv_padded(d)) continue;
        ++nshapes;
        const int64_t ns = conv_src_count(d), nd = conv_dst_count(d), nw = conv_w_count(d);
        rng_seed(g_seed + (uint64_t)s * 31u);
        float *src = gbuf_f(ns), *w = gbuf_f(nw), *dd = gbuf_f(nd);
        fill_ints(src, ns, -3, 3);
        fill_ints(w, nw, -3, 3);
        fill_ints(dd, nd, -3, 3);
        w[rng_int(0, nw - 1)] = INFINITY;
        const char *why_fwd = expected_decline_conv_fwd(d, w);
        const char *why_bwd = expected_decline_conv_bwd_data(d, w);
        fwd->expected_declines += why_fwd != NULL;
        bwd_d->expected_declines += why_bwd != NULL;
        float *ref_dst = gbuf_f(nd), *ref_ds = gbuf_f(ns);
        CHECK_STATUS(ref->conv2d_fwd(d, src, w, NULL, ref_dst), PCNN_STATUS_OK);
        CHECK_STATUS(ref->conv2d_bwd_data(d, dd, w, ref_ds), PCNN_STATUS_OK);
        FOR_EACH_VARIANT(conv2d_fwd) {
            fwd->has[level] = 1;
            float *out = gbuf_f(nd);
            const int32_t st = tab_->conv2d_fwd(d, src, w, NULL, out);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(fwd, level, conv_shapes[s].name, why_fwd);
            } else {
                fwd->ran[level]++;
                CHECK(st == PCNN_STATUS_OK && same_bits(out, ref_dst, nd),
                      "conv2d_fwd %s on '%s' with an Inf weight: status %d or result differs",
                      pcnn_isa_name(level), conv_shapes[s].name, st);
            }
            free(out);
        }
        FOR_EACH_VARIANT(conv2d_bwd_data) {
            bwd_d->has[level] = 1;
            float *out = gbuf_f(ns);
            const int32_t st = tab_->conv2d_bwd_data(d, dd, w, out);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(bwd_d, level, conv_shapes[s].name, why_bwd);
            } else {
                bwd_d->ran[level]++;
                CHECK(st == PCNN_STATUS_OK && same_bits(out, ref_ds, ns),
                      "conv2d_bwd_data %s on '%s' with an Inf weight: status %d or result differs",
                      pcnn_isa_name(level), conv_shapes[s].name, st);
            }
            free(out);
        }
        free(src); free(w); free(dd); free(ref_dst); free(ref_ds);
    }
    report("conv2d_fwd (Inf weight)", fwd, nshapes, COUNT_VARIANTS(conv2d_fwd));
    report("conv2d_bwd_data (Inf weight)", bwd_d, nshapes, COUNT_VARIANTS(conv2d_bwd_data));
}

/* The scalar backward-data kernel sums each diff_src element over (o, y, x) in that order
 * (conv2d-scalar.c; the README's summation order). Integer data cannot tell orders apart, so
 * this compares it bit for bit, on random fractions, with a scatter written here from the
 * definition: "for n, o, y, x, ky, kx inside the input: ds += dd * w". The last shape has a
 * kernel far taller than its single output and a stride past the input (the fuzz harness's
 * case that a gather over every element and tap took 0.3 s on). */
static void run_scalar_bwd_data_order(void) {
    pcnn_conv2d_desc shapes[] = {
        conv_desc(2, 4, 9, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),
        conv_desc(1, 3, 13, 10, 5, 5, 3, 2, 3, 2, 1, 0, 2, 2, 1, 1),
        conv_desc(1, 2, 7, 7, 3, 3, 2, 1, 2, 3, 4, 1, 1, 3, 2, 1),
        conv_desc(1, 1, 4000, 1, 1, 3810, 4, 40000, 40000, 11, 3, 34, 2, 1, 2, 1),
    };
    int64_t checks = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        const pcnn_conv2d_desc *d = &shapes[s];
        CHECK_STATUS(pcnn_conv2d_desc_init(&shapes[s]), PCNN_STATUS_OK);
        const int64_t ns = conv_src_count(d), nd = conv_dst_count(d), nw = conv_w_count(d);
        const int64_t cg = d->c / d->groups, ocg = d->oc / d->groups;
        rng_seed(g_seed + 104729u * (uint64_t)s);
        float *dd = gbuf_f(nd), *w = gbuf_f(nw), *got = gbuf_f(ns), *want = gbuf_f(ns);
        for (int64_t i = 0; i < nd; ++i) dd[i] = rng_unit();
        for (int64_t i = 0; i < nw; ++i) w[i] = rng_unit();
        for (int64_t i = 0; i < ns; ++i) want[i] = 0.0f;
        for (int64_t n = 0; n < d->n; ++n)
            for (int64_t o = 0; o < d->oc; ++o)
                for (int64_t y = 0; y < d->oh; ++y)
                    for (int64_t x = 0; x < d->ow; ++x)
                        for (int64_t ci = 0; ci < cg; ++ci)
                            for (int64_t ky = 0; ky < d->kh; ++ky)
                                for (int64_t kx = 0; kx < d->kw; ++kx) {
                                    const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                                    const int64_t ix = x * d->stride_w - d->pad_left + kx * d->dilation_w;
                                    if (iy < 0 || iy >= d->ih || ix < 0 || ix >= d->iw) continue;
                                    const int64_t c = o / ocg * cg + ci;
                                    want[((n * d->c + c) * d->ih + iy) * d->iw + ix] +=
                                        dd[((n * d->oc + o) * d->oh + y) * d->ow + x] *
                                        w[((o * cg + ci) * d->kh + ky) * d->kw + kx];
                                }
        CHECK_STATUS(pcnn_kernels_scalar.conv2d_bwd_data(d, dd, w, got), PCNN_STATUS_OK);
        CHECK(guard_ok(got, ns), "scalar bwd_data order shape %zu: guard", s);
        for (int64_t i = 0; i < ns; ++i, ++checks) {
            CHECK(bits_of(got[i]) == bits_of(want[i]), "scalar bwd_data order shape %zu element %"
                  PRId64 ": %a, the (o, y, x) scatter gives %a", s, i, got[i], want[i]);
        }
        free(dd); free(w); free(got); free(want);
    }
    printf("variants_conv2d: scalar bwd_data summation order, %" PRId64 " elements bit-exact\n",
           checks);
}

int main(void) {
    variants_start("variants_conv2d", 1);
    build_conv_corpus();
    run_conv();
    run_conv_nonfinite();
    run_scalar_bwd_data_order();
    return test_finish("variants_conv2d");
}
