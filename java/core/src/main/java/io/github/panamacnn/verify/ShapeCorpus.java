package io.github.panamacnn.verify;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.MaxPool2dGeometry;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A named corpus of awkward shapes on which the native kernels are cross-checked against the
 * reference: channel tails (counts that are not multiples of the vector width), 1x1 inputs,
 * kernel == input, stride > kernel, asymmetric padding, dilation, groups (including depthwise),
 * odd primes, N > 1, rows whose width leaves a vector tail. Used by the {@code check} command and
 * by the tests. Shapes are small so that the naive reference runs in milliseconds, and so that
 * integer-valued inputs in [-3, 3] keep every sum exactly representable in float32.
 *
 * <p>Also generates seeded random geometries ({@link #randomConv(long, int)},
 * {@link #randomPool(long, int)}): the same seed gives the same list.
 */
public final class ShapeCorpus {

    /** A named convolution geometry. */
    public record ConvCase(String name, Conv2dGeometry g) {
        public ConvCase {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(g, "g");
        }

        @Override
        public String toString() {
            return name + " " + g;
        }
    }

    /** A named max-pooling geometry. */
    public record PoolCase(String name, MaxPool2dGeometry g) {
        public PoolCase {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(g, "g");
        }

        @Override
        public String toString() {
            return name + " " + g;
        }
    }

    private ShapeCorpus() {
    }

    private static ConvCase conv(String name, long n, long c, long ih, long iw, long oc, long kh, long kw,
                                 long sh, long sw, long pt, long pb, long pl, long pr, long dh, long dw, long groups) {
        return new ConvCase(name, Conv2dGeometry.of(n, c, ih, iw, oc, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups));
    }

    private static PoolCase pool(String name, long n, long c, long ih, long iw, long kh, long kw, long sh, long sw,
                                 long pt, long pb, long pl, long pr, long dh, long dw, boolean ceil) {
        return new PoolCase(name, MaxPool2dGeometry.of(n, c, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, ceil));
    }

    /** The named convolution corpus (fixed order, unique names). */
    public static List<ConvCase> conv() {
        return List.of(
                //   name                          n   c  ih  iw  oc kh kw sh sw pt pb pl pr dh dw  g
                conv("basic-3x3",                  1,  3,  8,  8,  4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("same-padding-3x3",           2,  4,  9,  9,  8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                conv("1x1-input-1x1-kernel",       1,  5,  1,  1,  7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("1x1-input-padded-3x3",       2,  3,  1,  1,  4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                conv("pointwise-1x1",              2, 16,  7,  7, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("kernel-equals-input",        1,  3,  5,  5,  6, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("kernel-equals-input-rect",   2,  2,  3,  7,  3, 3, 7, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("stride-gt-kernel",           1,  3, 11, 11,  4, 2, 2, 3, 3, 0, 0, 0, 0, 1, 1, 1),
                conv("stride-gt-kernel-1x1-4x2",   1,  2, 13,  9,  5, 1, 1, 4, 2, 0, 0, 0, 0, 1, 1, 1),
                conv("asymmetric-padding",         1,  3,  6,  7,  4, 3, 3, 1, 1, 2, 0, 1, 3, 1, 1, 1),
                conv("asymmetric-padding-strided", 2,  3, 10, 11,  5, 3, 2, 2, 3, 0, 1, 2, 0, 1, 1, 1),
                conv("padding-larger-than-kernel", 1,  2,  3,  3,  3, 2, 2, 1, 1, 3, 3, 3, 3, 1, 1, 1),
                conv("dilation-2",                 1,  4, 12, 12,  4, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1),
                conv("dilation-3x2-padded",        1,  3, 10, 13,  5, 3, 2, 1, 1, 1, 1, 2, 2, 3, 2, 1),
                conv("dilation-stride-padding",    2,  3, 15, 14,  6, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1),
                conv("groups-2",                   1,  4,  8,  8,  6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 2),
                conv("groups-3-strided",           2,  6,  9, 10,  9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3),
                conv("depthwise-3x3",              1,  8, 10, 10,  8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8),
                conv("depthwise-multiplier-2",     1,  5,  7,  7, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5),
                conv("depthwise-17ch-stride-2",    2, 17, 11, 11, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 17),
                conv("depthwise-wide-tail",        2,  3,  6, 37,  3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),
                conv("depthwise-s2-asym-pad",      1,  4,  9, 35,  4, 3, 3, 2, 2, 0, 2, 2, 0, 1, 1, 4),
                conv("depthwise-5x5-dilated",      1,  3, 12, 21,  3, 5, 5, 1, 1, 4, 3, 4, 2, 2, 2, 3),
                conv("depthwise-1ch-width-1",      2,  1,  5,  1,  1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                // 5x5 stride 2 pad 2: the s2k5 backward-data engine (depthwise-s2k5-<isa>.c)
                conv("depthwise-5x5-stride-2-pad-2", 2, 20, 15, 17, 20, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 20),
                conv("channel-tail-17-to-33",      1, 17,  6,  6, 33, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("channel-tail-32-to-33-1x1",  1, 32,  5,  5, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("width-tail-31",              1,  3,  5, 31, 15, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("width-tail-70",              1,  2,  3, 70,  3, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1),
                conv("odd-primes",                 3,  7, 13, 11,  5, 5, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("odd-primes-strided",         1, 11, 17, 19, 13, 3, 5, 3, 2, 1, 2, 2, 1, 1, 1, 1),
                conv("batch-4",                    4,  3,  6,  6,  4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                conv("single-output-channel",      2,  9,  7,  7,  1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("single-input-channel-5x5",   1,  1,  9,  9, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
                conv("width-1",                    1,  4, 13,  1,  3, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1),
                conv("height-1",                   1,  4,  1, 13,  3, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, 1),
                conv("stem-7x7-stride-2",          1,  3, 20, 20,  8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1),
                conv("even-kernel-4x4-stride-2",   1,  4,  8,  8,  4, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1),
                conv("64-channels-3x3",            1, 64,  8,  8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                // strided 1x1: AUTO serves these with the pointwise algorithm (backward-weights: the 34-channel one)
                conv("strided-1x1-odd-plane",      2, 20, 15, 13, 24, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1),
                conv("strided-1x1-3x2-groups-2",   1, 34,  9, 11, 18, 1, 1, 3, 2, 0, 0, 0, 0, 1, 1, 2),
                // stride 2, >= 32 channels both ways: the direct kernel's channel tiles (AVX-512; AVX2 from 16)
                conv("stride-2-34-to-40-channels", 2, 34,  9, 13, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
                // the same kernel with whole-image tasks (images * groups >= 4 * threads, up to 3 threads)
                conv("stride-2-whole-image-tasks", 12, 19, 9, 13, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
                // stride 1, >= 32 channels both ways, rows not a multiple of 16 that split into tiles of
                // 12-14 pixels: the AVX-512 direct kernel's stride-1 channel tiles (chtile_stride1_width),
                // forward and backward-data. Not 3x3, so that AUTO never serves them with Winograd (not
                // exact on the integer data the cross-check uses); the 5x5 one has 2 tiles of 13 per
                // row. A stride-1 tile transpose broken on purpose failed the 2x3 one's backward-data
                // and the 5x5 one's forward at AVX-512 (NativeVsReferenceCrossCheckTest, 2026-12-05)
                conv("stride-1-channel-tiles-2x3-13", 2, 34, 5, 13, 40, 2, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1),
                conv("stride-1-channel-tiles-5x5-26", 1, 34, 6, 26, 40, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
                // the same tiles on rows of 3-4 tiles (41, 56, 50 wide): the inner tiles read the input
                // (forward) or diff_dst (backward-data) in place, the edge tiles a strip copy of their
                // padded columns (chtile_inplace in direct/channel_tiles.h); the second with padding on
                // the left only; the 1x7 one (19 -> 33 channels) takes the in-place tiles in its
                // backward-data (the first two only forward). Broken on purpose (the in-place tiles one
                // column off), the first two failed forward and the third backward-data at AVX-512, int
                // and float (NativeVsReferenceCrossCheckTest, 2026-12-06)
                conv("stride-1-channel-tiles-in-place-41", 2, 34, 6, 41, 40, 5, 3, 1, 1, 2, 2, 1, 1, 1, 1, 1),
                conv("stride-1-channel-tiles-in-place-56-left", 1, 33, 4, 56, 36, 2, 3, 1, 1, 1, 0, 2, 0, 1, 1, 1),
                conv("stride-1-channel-tiles-in-place-bwd-1x7", 2, 33, 3, 50, 19, 1, 7, 1, 1, 0, 0, 3, 3, 1, 1, 1),
                // rows that are one channel tile of at least half of its width (AVX-512: 7..11 pixels,
                // AVX2: 3; ResNet's 7x7 last stage), forward and backward-data; 130 input channels,
                // so that the forward is not the small-channel path's (up to 128 on narrow rows)
                conv("stride-1-channel-tiles-narrow-7", 1, 130, 7, 7, 34, 2, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1),
                conv("stride-1-channel-tiles-narrow-3", 1, 130, 4, 3, 17, 2, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1),
                // stride 1, rows of 17..32 pixels, more than 4 input channels: the direct kernel's
                // 2-row tiles (ukrr), forward and backward-data (whose padded copy rows share their
                // zero columns); 12 images, so whole-image tasks at up to 3 threads. Not 3x3 (AUTO
                // would serve 3x3 with Winograd); the second has left padding larger than right.
                // Broken on purpose (each channel given its neighbour's weight), both failed at
                // AVX-512 (NativeVsReferenceCrossCheckTest, 2026-12-05)
                conv("row-tiles-5x3-24-wide",     12, 10,  9, 24, 13, 5, 3, 1, 1, 2, 2, 1, 1, 1, 1, 1),
                conv("row-tiles-3x5-asym-20-wide", 2,  9,  7, 20, 11, 3, 5, 1, 1, 1, 0, 3, 1, 1, 1, 1),
                // 1x1 with >= 96 output channels and 64 input channels: AVX-512's transposed
                // backward-weights (bwd_weights/trans.h) with the bias summed in its tiles; 100 =
                // 16 x 6 + 4 output channels, so the last register tile has 4 rows (its last row's
                // store dropped on purpose: this case failed at AVX-512, 2026-12-05)
                conv("pointwise-100-channels-tail-4", 2, 64, 14, 14, 100, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                // >= 96 output channels, padded: the transposed backward-weights from phase planes
                // (bwd_weights/trans.h, at AVX2 since 2026-12-07 with 16 taps per task): stride 2
                // (180 taps: AVX-512 3 blocks of 64, AVX2 12 of 16), and stride 1 dilated (108 taps:
                // AVX2 only; AVX-512's stride-1 path takes it)
                conv("bww-transposed-stride-2-100", 2, 20, 9, 11, 100, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
                conv("bww-transposed-dilated-96", 1, 12, 11, 10, 96, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1),
                // 3 input channels, 7x7 stride 2, 24 output channels: the few-input-channel
                // backward-weights (bwd_weights/first.h) at both levels; at AVX2 (since 2026-12-07)
                // with 1-vector tiles, 3 of them
                conv("bww-first-7x7-stride-2-24",  2,  3, 21, 19, 24, 7, 7, 2, 2, 3, 3, 3, 2, 1, 1, 1),
                // stride 1, 3 wide, more than 4 input channels, 64 / 128 output channels, rows of >= 24
                // pixels: AVX-512's many-channel backward-weights (cw_first_many in bwd_weights/first.h:
                // padded copy bands, per-task partials summed in task order). Not 3x3, so AUTO does not
                // serve them with Winograd; asymmetric padding, 3 and 2 images. The copy's row masks one
                // column short on purpose: both failed at AVX-512 and no other case did (2026-12-05)
                conv("bww-many-channels-5x3-64",   3,  7,  9, 26, 64, 5, 3, 1, 1, 2, 1, 1, 1, 1, 1, 1),
                conv("bww-many-channels-1x3-128",  2,  9,  4, 30, 128, 1, 3, 1, 1, 0, 0, 1, 0, 1, 1, 1),
                // backward-data's row tiles (stride 1, diff_src rows of 17..32) with the next diff_dst
                // channel prefetched (ukrr_pf_* in direct/microkernels.h), taken when one tile's input
                // is over 24 KB (direct/backward_data.h, pf_next_ci): 64 channels per group x (2 + 4)
                // rows x 30 floats = 45 KB. The two cases above take it too (ungrouped, row-chunked
                // tasks); this one with 2 groups of 11 diff_src channels (a channel-block tail), 8
                // images (whole-image tasks at up to 4 threads) and 5 rows (a 1-row remainder). 5x3, so
                // AUTO does not pick Winograd. With ukrr_pf's last-vector mask one lane short, all
                // three failed at AVX-512 (integer and float data) and no other case did (2026-12-06)
                conv("bwd-data-row-tiles-prefetch-groups", 8, 22, 5, 29, 128, 5, 3, 1, 1, 2, 2, 1, 1, 1, 1, 2),
                // one backward-weights task and >= 2^20 multiply-adds: run as two batch halves (odd N:
                // 3 + 2 images), added afterwards, at both vector levels. 15 output channels and a
                // right padding of 0 keep them off the first-layer path (>= 16 output channels; 5..8
                // input channels on small planes since 2026-12-07) and the masked path (equally wide
                // rows), which took the earlier 16-channel, same-padded forms of these two
                conv("bwd-weights-batch-halves",   5,  3, 32, 32, 15, 3, 3, 1, 1, 1, 1, 1, 0, 1, 1, 1),
                conv("bwd-weights-halves-5ch",     5,  5, 20, 20, 15, 3, 3, 1, 1, 1, 1, 1, 0, 1, 1, 1),
                // few input channels, small planes: the AVX2 / AVX-512 forward's small-channel path
                // (LeNet's second convolution; a padded one with a channel tail of 20)
                conv("small-channels-lenet2",      2,  6, 12, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1),
                conv("small-channels-padded-20",   1,  3, 11,  9, 20, 3, 3, 1, 1, 1, 2, 1, 0, 1, 1, 1),
                // Since session 32 the 24-, 20- and 29-wide cases above have input and output rows
                // equally wide ("same" horizontal padding), so AVX-512 serves their forward and
                // backward-data with the flat tiles (direct/flat_tiles.h: the plane as whole
                // vectors, edge lanes masked) and the first two's backward-weights with the masked
                // path (bwd_weights/masked.h, <= 16 channels per group). These keep the row tiles
                // (rows not equally wide: no horizontal padding), the second with the backward-data
                // prefetch (64 channels per group) ...
                conv("row-tiles-valid-26-wide",    4, 10,  7, 26, 13, 5, 3, 1, 1, 2, 2, 0, 0, 1, 1, 1),
                conv("bwd-data-row-tiles-prefetch-valid", 8, 22, 5, 31, 128, 5, 3, 1, 1, 2, 2, 0, 0, 1, 1, 2),
                // ... and this is the class the flat tiles and the masked path were written for:
                // ResNeXt-like groups of 8 -> 8 channels on 28-wide rows (the benchmark's grouped3x3)
                conv("grouped-8-per-group-28-wide", 3, 32, 10, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),
                // rows of at most a vector (14, 10) with 5x5 / 7x7 "same" padding, whose backward-weights
                // the phase-plane and flat paths decline: the masked path since session 33 (before, the
                // packing path at 37-45% of peak)
                // (10 input channels: with 6, the first-layer path takes this plane since 2026-12-07)
                conv("masked-bwd-weights-5x5-14-wide", 2, 10, 14, 14, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
                conv("masked-bwd-weights-7x7-10-wide", 1, 16, 10, 10, 16, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 1),
                // 3x3 stride 1 with >= 16 channels each side: AUTO serves it by Winograd on AVX2 / AVX-512 (a
                // fresh random case of this shape found the cross-check's integer run assuming exact results,
                // 2026-12-07); asymmetric padding, odd sizes
                conv("auto-winograd-asym-pad-18-to-20", 2, 18, 11, 17, 20, 3, 3, 1, 1, 1, 2, 2, 1, 1, 1, 1));
    }

    /** The named max-pooling corpus (fixed order, unique names). */
    public static List<PoolCase> pool() {
        return List.of(
                //   name                       n   c  ih  iw kh kw sh sw pt pb pl pr dh dw  ceil
                pool("2x2-stride-2",            1,  3,  8,  8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false),
                pool("3x3-stride-2-padding-1",  2,  4, 11, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                pool("3x3-stride-1-overlap",    1,  2,  7,  7, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, false),
                pool("kernel-equals-input",     1,  3,  5,  6, 5, 6, 1, 1, 0, 0, 0, 0, 1, 1, false),
                pool("1x1-input",               2,  5,  1,  1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, false),
                pool("1x1-input-padded-3x3",    1,  3,  1,  1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false),
                pool("stride-gt-kernel",        1,  2, 11, 10, 2, 2, 3, 4, 0, 0, 0, 0, 1, 1, false),
                pool("ceil-mode",               1,  3,  7,  7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, true),
                pool("ceil-mode-padded",        1,  2,  6,  8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true),
                pool("ceil-mode-drops-last",    1,  2,  5,  5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, true),
                pool("ceil-mode-dilated",       1,  2, 10, 10, 2, 2, 3, 3, 0, 0, 0, 0, 2, 2, true),
                pool("asymmetric-padding",      1,  3,  6,  7, 3, 2, 1, 2, 2, 0, 0, 1, 1, 1, false),
                pool("dilation-2",              1,  2,  9,  9, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, false),
                pool("dilation-stride-padding", 2,  3, 12, 11, 3, 2, 2, 1, 2, 2, 1, 1, 2, 3, false),
                pool("channel-tail-17",         1, 17,  6,  6, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false),
                pool("width-tail-67",           1,  2,  4, 67, 1, 3, 1, 2, 0, 0, 1, 1, 1, 1, false),
                pool("odd-primes",              3,  5, 13, 11, 3, 5, 2, 3, 0, 0, 0, 0, 1, 1, false),
                pool("global-batch-4",          4,  3,  7,  7, 7, 7, 7, 7, 0, 0, 0, 0, 1, 1, false),
                pool("width-1",                 1,  3,  9,  1, 3, 1, 2, 1, 0, 0, 0, 0, 1, 1, false),
                pool("rect-window-1x4",         1,  2,  8,  9, 1, 4, 1, 2, 0, 0, 0, 0, 1, 1, false),
                pool("identity-1x1",            1,  3,  5,  5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, false),
                pool("wide-stride-1-row-tail",  2,  3,  5, 35, 2, 3, 1, 1, 1, 0, 1, 2, 1, 1, false),
                // ceil mode, PyTorch's output-size rule: windows larger than the (padded) input
                pool("ceil-window-gt-input",    1,  3,  3,  3, 4, 4, 3, 3, 0, 0, 0, 0, 1, 1, true),
                pool("ceil-dilated-gt-input",   2,  2,  2,  5, 3, 3, 4, 5, 1, 0, 1, 1, 2, 3, true),
                pool("ceil-s2-gt-input",        1, 17,  1,  1, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, true),
                pool("ceil-s2-hanging",         1,  4,  6, 10, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, true),
                pool("ceil-wide-gt-input-rows", 1,  3,  2, 37, 5, 3, 4, 2, 1, 0, 1, 1, 1, 1, true),
                // many small planes: the kernels' lanes-across-planes path (groups + leftover planes)
                pool("small-planes-3x3-s2-p1",  2, 21, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                pool("small-planes-ceil-odd",   3,  7,  9,  7, 3, 2, 2, 2, 0, 1, 1, 0, 1, 1, true),
                // pool_resnet's window on rows wider than two vectors (ow 38): the stride-2 row-reuse
                // loop, its left block (pad_left 1, only lane 0's first tap in the padding) and a right tail
                pool("3x3-s2-p1-wide-rows",     2,  3, 37, 75, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                // planes of more than 4096 floats with 3x3 stride-2 windows: the AVX-512 backward that
                // writes each input row once (maxpool2d-s2bwd-avx512.h), odd width, pad 1 and pad 0 + ceil
                pool("3x3-s2-p1-large-planes",  1,  3, 67, 71, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                pool("3x3-s2-p0-large-ceil",    1,  2, 66, 65, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, true),
                // the tap mask's limits: a 16x16 window numbers taps 0..255 (padding among them), a 17x17 one
                // (289 taps) has no tap mask, so the layer keeps int32 plane offsets
                pool("window-256-taps",         1,  3, 18, 17, 16, 16, 2, 1, 1, 0, 0, 1, 1, 1, false),
                pool("window-289-taps-int32",   1,  2, 17, 18, 17, 17, 1, 1, 0, 0, 0, 0, 1, 1, false));
    }

    /**
     * {@code count} random valid convolution geometries drawn from {@code new SplittableRandom(seed)}:
     * n 1..3, c and oc 1..20 (groups a common divisor), ih/iw 1..20, kernel 1..5, stride 1..3,
     * padding 0..2 per side, dilation 1..3. Shapes whose kernel does not fit are redrawn.
     */
    public static List<ConvCase> randomConv(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        List<ConvCase> out = new ArrayList<>(count);
        int attempts = 0;
        while (out.size() < count) {
            if (++attempts > 1000 * (count + 1)) {
                throw new IllegalStateException("could not draw " + count + " valid convolution geometries");
            }
            long n = r.nextInt(1, 4);
            long c = r.nextInt(1, 21);
            long oc = r.nextInt(1, 21);
            long g = randomCommonDivisor(r, c, oc);
            long ih = r.nextInt(1, 21);
            long iw = r.nextInt(1, 21);
            long kh = r.nextInt(1, 6);
            long kw = r.nextInt(1, 6);
            long sh = r.nextInt(1, 4);
            long sw = r.nextInt(1, 4);
            long pt = r.nextInt(0, 3), pb = r.nextInt(0, 3), pl = r.nextInt(0, 3), pr = r.nextInt(0, 3);
            long dh = r.nextInt(4) == 0 ? r.nextInt(2, 4) : 1;
            long dw = r.nextInt(4) == 0 ? r.nextInt(2, 4) : 1;
            if (dh * (kh - 1) + 1 > ih + pt + pb || dw * (kw - 1) + 1 > iw + pl + pr) {
                continue;
            }
            out.add(conv("random-conv-" + seed + "-" + out.size(), n, c, ih, iw, oc, kh, kw, sh, sw, pt, pb, pl, pr,
                    dh, dw, g));
        }
        return List.copyOf(out);
    }

    /**
     * {@code count} random valid max-pooling geometries drawn from {@code new SplittableRandom(seed)}:
     * n 1..3, c 1..20, ih/iw 1..20, kernel 1..4, stride 1..4, padding 0..2 per side, dilation 1..3,
     * floor or ceil mode. Shapes the geometry rejects (window too large or in the padding) are redrawn.
     */
    public static List<PoolCase> randomPool(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        List<PoolCase> out = new ArrayList<>(count);
        int attempts = 0;
        while (out.size() < count) {
            if (++attempts > 1000 * (count + 1)) {
                throw new IllegalStateException("could not draw " + count + " valid pooling geometries");
            }
            long n = r.nextInt(1, 4);
            long c = r.nextInt(1, 21);
            long ih = r.nextInt(1, 21);
            long iw = r.nextInt(1, 21);
            long kh = r.nextInt(1, 5);
            long kw = r.nextInt(1, 5);
            long sh = r.nextInt(1, 5);
            long sw = r.nextInt(1, 5);
            long pt = r.nextInt(0, 3), pb = r.nextInt(0, 3), pl = r.nextInt(0, 3), pr = r.nextInt(0, 3);
            long dh = r.nextInt(4) == 0 ? r.nextInt(2, 4) : 1;
            long dw = r.nextInt(4) == 0 ? r.nextInt(2, 4) : 1;
            boolean ceil = r.nextBoolean();
            PoolCase pc;
            try {
                pc = pool("random-pool-" + seed + "-" + out.size(), n, c, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh,
                        dw, ceil);
            } catch (IllegalArgumentException rejected) {
                continue; // e.g. a window entirely in the padding: draw again
            }
            out.add(pc);
        }
        return List.copyOf(out);
    }

    private static long randomCommonDivisor(SplittableRandom r, long a, long b) {
        List<Long> divisors = new ArrayList<>();
        for (long d = 1; d <= Math.min(a, b); d++) {
            if (a % d == 0 && b % d == 0) {
                divisors.add(d);
            }
        }
        // Favour groups == 1 half of the time; otherwise any common divisor (depthwise included).
        return r.nextBoolean() ? 1 : divisors.get(r.nextInt(divisors.size()));
    }
}
