/*
 * Variant cross-check harness: every kernel variant in every ISA table the CPU can run
 * (levels <= pcnn_isa_detected(), non-NULL entry) against the scalar table, on a named
 * corpus of awkward shapes, a width x channel tail sweep and seeded random shapes.
 *
 * - outputs are pre-filled with NaN, every buffer (inputs too) has guard elements after it
 *   that must stay untouched, inputs must stay unchanged;
 * - conv inputs are small integers so every variant's result is exact: compared with ==;
 * - max-pool values (including NaN payloads) and indices are compared bit for bit;
 * - a variant may answer PCNN_STATUS_UNSUPPORTED only for the reasons its kernel states
 *   (see expected_decline_*: non-finite weights or gradients meeting padding, coordinates
 *   beyond the int32 lane range); the test computes which shapes those are, prints every
 *   decline with its reason, and fails on any other decline, so a SIMD variant that declines
 *   the shapes it is meant to take (here: every corpus shape) is seen.
 * The variants to run are counted from what the OS reports (/proc/cpuinfo flags on Linux:
 * avx2 + fma -> avx2; also avx512f, avx512bw, avx512vl, avx512dq -> avx512), not from the
 * library's own detection, which must agree: a broken detection cannot silently reduce the
 * test to the scalar kernels.
 * Seed: PCNN_TEST_SEED (environment) or a fixed default; printed as "seed=..." at start.
 */
#include "core/pcnn_internal.h"
#include "test_util.h"

#define MAX_SHAPES 4096
#define NLEVELS 4 /* scalar, avx2, avx512, neon (PCNN_ISA_* values) */

static uint64_t g_seed = 20240601;
/* The ISA level the OS reports (/proc/cpuinfo), or pcnn_isa_detected() where it cannot be read. */
static int g_os_level = -1;

/* Does the space-separated flag list `flags` contain the word `w`? */
static int has_flag(const char *flags, const char *w) {
    const size_t n = strlen(w);
    for (const char *p = flags; (p = strstr(p, w)) != NULL; p += n) {
        if ((p == flags || p[-1] == ' ' || p[-1] == '\t') &&
            (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) {
            return 1;
        }
    }
    return 0;
}

/* The ISA level from the first "flags" line of /proc/cpuinfo; -1 when there is none. Linux
 * clears the flags of features the kernel does not enable (XSAVE state), so this is the OS's
 * view, independent of the library's CPUID / XGETBV code. */
static int os_reported_level(char *why, size_t why_len) {
#if !defined(__x86_64__) && !defined(__i386__)
    /* the x86 flags below say nothing about other architectures (and under qemu-user
     * /proc/cpuinfo is the host's) */
    snprintf(why, why_len, "not an x86 build");
    return -1;
#endif
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) {
        snprintf(why, why_len, "no /proc/cpuinfo");
        return -1;
    }
    static char line[1 << 16];
    int level = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) == 0) {
            const int avx2 = has_flag(line, "avx2") && has_flag(line, "fma");
            const int avx512 = avx2 && has_flag(line, "avx512f") && has_flag(line, "avx512bw") &&
                               has_flag(line, "avx512vl") && has_flag(line, "avx512dq");
            level = avx512 ? PCNN_ISA_AVX512 : avx2 ? PCNN_ISA_AVX2 : PCNN_ISA_SCALAR;
            snprintf(why, why_len, "/proc/cpuinfo flags: avx2+fma %s, avx512f/bw/vl/dq %s",
                     avx2 ? "yes" : "no", avx512 ? "yes" : "no");
            break;
        }
    }
    fclose(f);
    if (level < 0) {
        snprintf(why, why_len, "no flags line in /proc/cpuinfo");
    }
    return level;
}

typedef struct {
    char name[64];
    pcnn_conv2d_desc d;
} conv_shape;
typedef struct {
    char name[64];
    pcnn_maxpool2d_desc d;
} pool_shape;

static conv_shape conv_shapes[MAX_SHAPES];
static int n_conv_shapes;
static pool_shape pool_shapes[MAX_SHAPES];
static int n_pool_shapes;

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
static void add_pool(const char *name, pcnn_maxpool2d_desc d, int must_be_valid) {
    const int32_t st = pcnn_maxpool2d_desc_init(&d);
    if (st != PCNN_STATUS_OK) {
        CHECK(!must_be_valid, "corpus shape %s rejected: %s", name, pcnn_status_str(st));
        return;
    }
    if (n_pool_shapes < MAX_SHAPES) {
        snprintf(pool_shapes[n_pool_shapes].name, sizeof pool_shapes[0].name, "%s", name);
        pool_shapes[n_pool_shapes++].d = d;
    }
}

static const int sweep_widths[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                                   14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
                                   27, 28, 29, 30, 31, 32, 33, 48, 63, 64, 65};
#define N_WIDTHS ((int)(sizeof sweep_widths / sizeof sweep_widths[0]))

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
    /* stride 2 with >= 32 output channels per group: AVX-512 channel tiles (channels in
     * lanes, direct/channel_tiles.h): channel-block tails, row tails, taps, groups */
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

static void build_pool_corpus(void) {
#define P(name, ...) add_pool(name, pool_desc(__VA_ARGS__), 1)
    /*  name                    n  c  ih  iw kh kw sh sw pt pb pl pr dh dw ceil */
    P("2x2 s2",                 2, 3, 8,  8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0);
    P("3x3 s2 p1",              1, 4, 9,  9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0);
    P("3x3 s2 p1 ceil",         1, 4, 10, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    P("1x1 input",              1, 5, 1,  1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    P("1x1 input k3 p1",        1, 5, 1,  1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
    P("kernel == input",        2, 3, 5,  7, 5, 7, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    P("stride > kernel",        1, 2, 11, 13, 2, 2, 3, 4, 0, 0, 0, 0, 1, 1, 0);
    P("stride > kernel ceil",   1, 2, 11, 13, 2, 2, 3, 4, 0, 0, 0, 0, 1, 1, 1);
    P("asymmetric pad",         1, 3, 7,  6, 3, 2, 1, 2, 2, 0, 0, 1, 1, 1, 0);
    P("dilation",               1, 2, 9, 11, 3, 2, 1, 2, 1, 1, 1, 1, 2, 3, 0);
    P("dilation ceil",          1, 2, 9, 11, 3, 2, 2, 2, 1, 1, 1, 1, 2, 3, 1);
    P("odd primes ceil",        3, 7, 13, 11, 5, 3, 2, 3, 2, 2, 1, 1, 1, 1, 1);
    P("overlap 3x3 s1 c17",     1, 17, 6, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0);
    P("global",                 2, 3, 7,  7, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1, 0);
    P("wide 1xW",               1, 3, 1, 67, 1, 3, 1, 2, 0, 0, 1, 1, 1, 1, 1);
    P("tall Hx1",               1, 3, 37, 1, 3, 1, 2, 1, 1, 1, 0, 0, 1, 1, 0);
    /* ceil mode, PyTorch's output-size rule: windows larger than the (padded) input */
    P("window > input ceil",    1, 3, 3,  3, 4, 4, 3, 3, 0, 0, 0, 0, 1, 1, 1);
    P("dilated window > input", 2, 2, 2,  5, 3, 3, 4, 5, 1, 0, 1, 1, 2, 3, 1);
    P("window > input s2 ceil", 1, 3, 1, 1, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1);
    P("hanging s2 ceil",        1, 4, 6, 10, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1);
#undef P
    char name[64];
    for (int wi = 0; wi < N_WIDTHS; ++wi) {
        for (int ch = 1; ch <= 17; ++ch) {
            snprintf(name, sizeof name, "sweep w%d c%d k3 s1 p1", sweep_widths[wi], ch);
            add_pool(name, pool_desc(1, ch, 3, sweep_widths[wi], 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0), 1);
        }
        snprintf(name, sizeof name, "sweep w%d k3 s2 p1 ceil", sweep_widths[wi]);
        add_pool(name, pool_desc(2, 3, 4, sweep_widths[wi], 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), 1);
        snprintf(name, sizeof name, "sweep w%d k2 s2", sweep_widths[wi]);
        add_pool(name, pool_desc(1, 5, 2, sweep_widths[wi], 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0),
                 sweep_widths[wi] >= 2);
    }
    rng_seed(g_seed ^ 0x5555);
    int added = 0;
    for (int tries = 0; added < 200 && tries < 10000; ++tries) {
        const pcnn_maxpool2d_desc d = pool_desc(
            rng_int(1, 3), rng_int(1, 9), rng_int(1, 12), rng_int(1, 12), rng_int(1, 4),
            rng_int(1, 4), rng_int(1, 3), rng_int(1, 3), rng_int(0, 2), rng_int(0, 2),
            rng_int(0, 2), rng_int(0, 2), rng_int(1, 3), rng_int(1, 3), rng_int(0, 1));
        snprintf(name, sizeof name, "random #%d (seed %" PRIu64 ")", tries, g_seed);
        const int before = n_pool_shapes;
        add_pool(name, d, 0);
        added += n_pool_shapes > before;
    }
}

/* ---- helpers ---- */

static float *copy_guarded(const float *src, int64_t n) {
    float *p = gbuf_f(n);
    memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}
static int same_bits(const void *a, const void *b, int64_t n) {
    return memcmp(a, b, (size_t)n * 4) == 0;
}
/* conv outputs: exact value equality (+0 == -0; NaN never equal) */
static int64_t first_value_mismatch(const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (!(got[i] == want[i])) return i;
    }
    return -1;
}
static void print_conv(const pcnn_conv2d_desc *d, char *buf, size_t len) {
    snprintf(buf, len,
             "n%" PRId64 " c%" PRId64 " %" PRId64 "x%" PRId64 " oc%" PRId64 " k%" PRId64
             "x%" PRId64 " s%" PRId64 ",%" PRId64 " p%" PRId64 ",%" PRId64 ",%" PRId64
             ",%" PRId64 " d%" PRId64 ",%" PRId64 " g%" PRId64 " -> %" PRId64 "x%" PRId64,
             d->n, d->c, d->ih, d->iw, d->oc, d->kh, d->kw, d->stride_h, d->stride_w,
             d->pad_top, d->pad_bottom, d->pad_left, d->pad_right, d->dilation_h,
             d->dilation_w, d->groups, d->oh, d->ow);
}
static void print_pool(const pcnn_maxpool2d_desc *d, char *buf, size_t len) {
    snprintf(buf, len,
             "n%" PRId64 " c%" PRId64 " %" PRId64 "x%" PRId64 " k%" PRId64 "x%" PRId64
             " s%" PRId64 ",%" PRId64 " p%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
             " d%" PRId64 ",%" PRId64 " ceil%" PRId64 " -> %" PRId64 "x%" PRId64,
             d->n, d->c, d->ih, d->iw, d->kh, d->kw, d->stride_h, d->stride_w, d->pad_top,
             d->pad_bottom, d->pad_left, d->pad_right, d->dilation_h, d->dilation_w,
             d->ceil_mode, d->oh, d->ow);
}

#define MAX_DECLINES 64
typedef struct {
    int has[NLEVELS];      /* table entry present at this level */
    int64_t ran[NLEVELS];  /* shapes compared */
    int64_t unsup[NLEVELS];/* shapes the variant declined */
    int64_t unexpected[NLEVELS]; /* declines no stated reason explains */
    int64_t expected_declines; /* shapes with a stated reason to decline (per level) */
    int n_declined[NLEVELS];
    char declined[NLEVELS][MAX_DECLINES][160]; /* "shape: reason" of the first declines */
} op_stats;

static op_stats g_stats[6]; /* conv fwd, bwd_data, bwd_weights, pool fwd, bwd, conv fwd Inf */

/* Records a decline of shape `name` by the variant at `level`; `reason` is the kernel's
 * stated reason that applies to this shape and data, or NULL when none does. */
static void note_decline(op_stats *s, int level, const char *name, const char *reason) {
    s->unsup[level]++;
    if (reason == NULL) {
        s->unexpected[level]++;
    }
    if (s->n_declined[level] < MAX_DECLINES) {
        snprintf(s->declined[level][s->n_declined[level]++], sizeof s->declined[0][0], "%s: %s",
                 name, reason != NULL ? reason : "UNEXPECTED (no stated reason applies)");
    }
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
/* maxpool2d-simd.h pm_shape_ok: column coordinates must stay far inside int32 */
static const char *expected_decline_pool_fwd(const pcnn_maxpool2d_desc *d) {
    const int64_t lim = (int64_t)1 << 29;
    return d->iw > lim || d->ow > lim || d->stride_w > lim || d->dilation_w > lim ||
                   d->kw > lim || d->pad_left > lim || (d->ow + 16) * d->stride_w + d->kw * d->dilation_w + 32 > lim
               ? "column coordinates beyond the int32 lane range" : NULL;
}

static void report(const char *op, const op_stats *s, int nshapes, int expected) {
    int variants = 0;
    for (int l = 0; l < NLEVELS; ++l) variants += s->has[l];
    printf("%s: compared %d variant(s) on %d shapes (%" PRId64 " with a stated reason to decline) [",
           op, variants, nshapes, s->expected_declines);
    for (int l = 0; l < NLEVELS; ++l) {
        if (s->has[l]) {
            printf(" %s: %" PRId64 " run, %" PRId64 " declined;", pcnn_isa_name(l), s->ran[l],
                   s->unsup[l]);
        }
    }
    printf(" ]\n");
    for (int l = 1; l < NLEVELS; ++l) {
        for (int i = 0; i < s->n_declined[l]; ++i) {
            printf("  %s %s declined %s\n", op, pcnn_isa_name(l), s->declined[l][i]);
        }
        /* every SIMD variant runs every shape it has no stated reason to decline */
        CHECK(!s->has[l] || s->unexpected[l] == 0, "%s %s declined %" PRId64
              " shape(s) without a stated reason (listed above)", op, pcnn_isa_name(l),
              s->unexpected[l]);
        CHECK(!s->has[l] || s->ran[l] >= nshapes - s->expected_declines,
              "%s %s ran only %" PRId64 " of %d shapes", op, pcnn_isa_name(l), s->ran[l], nshapes);
    }
    /* scalar always, plus every non-NULL entry of every level the CPU can run, each on
     * every shape (run or explicitly declined) */
    CHECK(s->has[PCNN_ISA_SCALAR], "%s: no scalar variant", op);
    CHECK(variants == expected && variants >= 1, "%s: compared %d variants, tables have %d", op,
          variants, expected);
    CHECK(s->ran[PCNN_ISA_SCALAR] == nshapes, "%s: scalar ran %" PRId64 " of %d", op,
          s->ran[PCNN_ISA_SCALAR], nshapes);
    for (int l = 0; l < NLEVELS; ++l) {
        CHECK(!s->has[l] || s->ran[l] + s->unsup[l] == nshapes, "%s %s: saw %" PRId64
              " of %d shapes", op, pcnn_isa_name(l), s->ran[l] + s->unsup[l], nshapes);
    }
    /* The NEON variants decline only non-finite data with padding (conv) and absurd column
     * strides (max-pool): on the main corpora (finite conv data; not the "(Inf weight)"
     * section, where declining is the expected answer) each must run every shape. */
    CHECK(!s->has[PCNN_ISA_NEON] || strstr(op, "(Inf") != NULL || s->ran[PCNN_ISA_NEON] == nshapes,
          "%s neon: ran %" PRId64 " of %d shapes (%" PRId64 " declined)", op,
          s->ran[PCNN_ISA_NEON], nshapes, s->unsup[PCNN_ISA_NEON]);
}

/* Number of variants the tables offer for an op on this CPU, counted from the OS's view. */
#define COUNT_VARIANTS(entry)                                                          \
    ({                                                                                 \
        int n_ = 0;                                                                    \
        for (int l_ = 0; l_ <= g_os_level; ++l_) {                                     \
            const pcnn_kernel_table *t_ = pcnn_kernel_table_for(l_);                   \
            n_ += t_ != NULL && t_->entry != NULL;                                     \
        }                                                                              \
        n_;                                                                            \
    })

#define FOR_EACH_VARIANT(entry)                                                       \
    for (int level = 0; level <= g_os_level && level < NLEVELS; ++level)              \
        for (const pcnn_kernel_table *tab_ = pcnn_kernel_table_for(level);            \
             tab_ != NULL && tab_->entry != NULL; tab_ = NULL)

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
        print_conv(d, desc_txt, sizeof desc_txt);
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

/* ---- maxpool2d ---- */

static void fill_pool_input(float *p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const int64_t r = rng_int(0, 99);
        if (r < 3) {
            p[i] = f_from_bits(0x7fc00000u | (uint32_t)rng_int(1, 0x3fffff)); /* NaN payload */
        } else if (r < 4) {
            p[i] = f_from_bits(0xffc00000u | (uint32_t)rng_int(1, 0x3fffff)); /* negative NaN */
        } else if (r < 6) {
            p[i] = r == 4 ? -INFINITY : INFINITY;
        } else if (r < 8) {
            p[i] = -0.0f;
        } else {
            p[i] = (float)rng_int(-4, 4);
        }
    }
}

static void run_pool(void) {
    op_stats *const fwd_p = &g_stats[3], *const bwd_p = &g_stats[4];
#define fwd (*fwd_p)
#define bwd (*bwd_p)
    const pcnn_kernel_table *ref = &pcnn_kernels_scalar;
    char desc_txt[256];
    for (int s = 0; s < n_pool_shapes; ++s) {
        const pcnn_maxpool2d_desc *d = &pool_shapes[s].d;
        print_pool(d, desc_txt, sizeof desc_txt);
        const int64_t ns = pool_src_count(d), nd = pool_dst_count(d);
        rng_seed(g_seed + (uint64_t)s * 104729u);
        float *src = gbuf_f(ns), *dd = gbuf_f(nd);
        fill_pool_input(src, ns);
        fill_ints(dd, nd, -3, 3);
        float *src0 = copy_guarded(src, ns), *dd0 = copy_guarded(dd, nd);
        float *ref_dst = gbuf_f(nd), *ref_ds = gbuf_f(ns);
        int32_t *ref_idx = gbuf_i(nd);
        CHECK_STATUS(ref->maxpool2d_fwd(d, src, ref_dst, ref_idx), PCNN_STATUS_OK);
        CHECK_STATUS(ref->maxpool2d_bwd(d, dd, ref_idx, ref_ds), PCNN_STATUS_OK);
        const char *why_fwd = expected_decline_pool_fwd(d);
        fwd.expected_declines += why_fwd != NULL;
        int32_t *ref_idx0 = gbuf_i(nd);
        memcpy(ref_idx0, ref_idx, (size_t)nd * sizeof(int32_t));

        FOR_EACH_VARIANT(maxpool2d_fwd) {
            fwd.has[level] = 1;
            for (int pass = 0; pass < 2; ++pass) { /* with and without indices */
                float *out = gbuf_f(nd);
                int32_t *idx = gbuf_i(nd);
                const int32_t st = tab_->maxpool2d_fwd(d, src, out, pass == 0 ? idx : NULL);
                if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                    if (pass == 0) note_decline(&fwd, level, pool_shapes[s].name, why_fwd);
                } else {
                    if (pass == 0) fwd.ran[level]++;
                    CHECK(st == PCNN_STATUS_OK, "maxpool2d_fwd %s: status %d",
                          pcnn_isa_name(level), st);
                    CHECK(same_bits(out, ref_dst, nd), "maxpool2d_fwd %s on '%s' [%s] seed %"
                          PRIu64 " (indices %s): dst differs", pcnn_isa_name(level),
                          pool_shapes[s].name, desc_txt, g_seed, pass == 0 ? "on" : "NULL");
                    if (pass == 0) {
                        CHECK(same_bits(idx, ref_idx, nd), "maxpool2d_fwd %s on '%s' [%s] seed %"
                              PRIu64 ": indices differ", pcnn_isa_name(level),
                              pool_shapes[s].name, desc_txt, g_seed);
                    } else {
                        CHECK(idx[0] == -7, "indices written although NULL was passed?");
                    }
                }
                CHECK(guard_ok(out, nd) && guard_ok(idx, nd), "maxpool2d_fwd %s '%s': guard",
                      pcnn_isa_name(level), pool_shapes[s].name);
                free(out);
                free(idx);
            }
        }
        FOR_EACH_VARIANT(maxpool2d_bwd) {
            bwd.has[level] = 1;
            float *out = gbuf_f(ns);
            const int32_t st = tab_->maxpool2d_bwd(d, dd, ref_idx, out);
            if (st == PCNN_STATUS_UNSUPPORTED && level > 0) {
                note_decline(&bwd, level, pool_shapes[s].name, NULL);
            } else {
                bwd.ran[level]++;
                CHECK(st == PCNN_STATUS_OK, "maxpool2d_bwd %s: status %d", pcnn_isa_name(level),
                      st);
                CHECK(same_bits(out, ref_ds, ns), "maxpool2d_bwd %s on '%s' [%s] seed %" PRIu64
                      ": diff_src differs", pcnn_isa_name(level), pool_shapes[s].name, desc_txt,
                      g_seed);
            }
            CHECK(guard_ok(out, ns), "maxpool2d_bwd %s '%s': guard", pcnn_isa_name(level),
                  pool_shapes[s].name);
            /* an out-of-range index must be reported by every variant */
            if (nd > 0) {
                int32_t *bad = gbuf_i(nd);
                memcpy(bad, ref_idx, (size_t)nd * sizeof(int32_t));
                bad[(nd - 1) / 2] = (int32_t)(d->ih * d->iw);
                const int32_t st2 = tab_->maxpool2d_bwd(d, dd, bad, out);
                CHECK(st2 == PCNN_STATUS_OUT_OF_RANGE ||
                          (st2 == PCNN_STATUS_UNSUPPORTED && level > 0),
                      "maxpool2d_bwd %s '%s': bad index gave %d", pcnn_isa_name(level),
                      pool_shapes[s].name, st2);
                CHECK(guard_ok(out, ns), "maxpool2d_bwd %s '%s': guard after bad index",
                      pcnn_isa_name(level), pool_shapes[s].name);
                free(bad);
            }
            free(out);
        }
        CHECK(same_bits(src, src0, ns + GUARD) && same_bits(dd, dd0, nd + GUARD) &&
                  same_bits(ref_idx, ref_idx0, nd),
              "pool '%s': an input was modified", pool_shapes[s].name);
        CHECK(guard_ok(ref_dst, nd) && guard_ok(ref_ds, ns) && guard_ok(ref_idx, nd),
              "pool '%s': scalar guard", pool_shapes[s].name);
        free(src); free(dd); free(src0); free(dd0);
        free(ref_dst); free(ref_ds); free(ref_idx); free(ref_idx0);
    }
    report("maxpool2d_fwd", &fwd, n_pool_shapes, COUNT_VARIANTS(maxpool2d_fwd));
    report("maxpool2d_bwd", &bwd, n_pool_shapes, COUNT_VARIANTS(maxpool2d_bwd));
#undef fwd
#undef bwd
}

int main(void) {
    const char *seed = getenv("PCNN_TEST_SEED");
    if (seed != NULL && *seed != '\0') {
        g_seed = strtoull(seed, NULL, 10);
    }
    printf("variants: seed=%" PRIu64 " (PCNN_TEST_SEED=%" PRIu64 " repeats it), threads %d\n", g_seed,
           g_seed, pcnn_get_num_threads());
    char why[160];
    g_os_level = os_reported_level(why, sizeof why);
    const int32_t detected = pcnn_isa_detected();
    if (g_os_level < 0) {
        printf("variants: %s: the OS's view is unknown, trusting the library's detection (%s)\n", why,
               pcnn_isa_name(detected));
        g_os_level = detected;
    } else {
        printf("variants: OS reports %s (%s); library detects %s\n", pcnn_isa_name(g_os_level), why,
               pcnn_isa_name(detected));
        CHECK(detected == g_os_level, "the library detects %s but the OS reports %s (%s)",
              pcnn_isa_name(detected), pcnn_isa_name(g_os_level), why);
    }
    build_conv_corpus();
    build_pool_corpus();
    run_conv();
    run_conv_nonfinite();
    run_pool();
    return test_finish("variants");
}
