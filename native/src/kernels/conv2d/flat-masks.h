/*
 * Per-lane edge masks of a convolution whose input and output rows are equally wide (stride
 * 1, pad_left + pad_right = (kw - 1) * dilation_w), shared by the direct engine's flat tiles
 * (direct/flat_tiles.h, forward and backward-data) and backward-weights' masked path
 * (bwd_weights/masked.h). Output pixel p = y * w + x reads input pixel p + oy * w + ox for
 * tap (oy, ox): in the flat plane the whole image is one row of vectors, and a tap's lanes
 * that leave the image (a column past a row's end, which in the flat plane is another row,
 * or a row above or below) are masked off: masked-off lanes are not accessed
 * and load as zero, the padding's value.
 */
#ifndef PCNN_CONV2D_FLAT_MASKS_H
#define PCNN_CONV2D_FLAT_MASKS_H

#include <stdint.h>

#include "core/pcnn_internal.h"

/* Lanes [lo, hi) of a vector of vl <= 16 lanes (empty when hi <= lo). */
static inline uint32_t flat_lanes(int64_t lo, int64_t hi, int64_t vl) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > vl ? vl : hi;
    return hi <= lo ? 0u : (uint32_t)(((1ull << hi) - 1ull) & ~((1ull << lo) - 1ull));
}

/* The taps' offsets (oy, ox), ky-major: forward (and backward-weights) reads input (y + oy,
 * x + ox) for output (y, x), oy = ky * dilation_h - pad_top, ox = kx * dilation_w - pad_left;
 * backward-data (mirror != 0) reads diff_dst at the negated offsets. */
static inline void flat_tap_offsets(const pcnn_conv2d_desc *d, int mirror, int64_t *oy,
                                    int64_t *ox) {
    for (int64_t k = 0; k < d->kh * d->kw; ++k) {
        const int64_t y = (k / d->kw) * d->dilation_h - d->pad_top;
        const int64_t x = (k % d->kw) * d->dilation_w - d->pad_left;
        oy[k] = mirror ? -y : y;
        ox[k] = mirror ? -x : x;
    }
}

/* mk[t * vecs + v]: the lanes i of vector v (output pixel p = v * vl + i < out_h * w, row
 * y = p / w, column x = p % w) whose tap t reads inside the input: 0 <= y + oy[t] < in_h
 * and 0 <= x + ox[t] < w. A vector covers one or more row segments: lanes [a, b) of row y
 * hold columns x0 + i - a (x0 = 0 after the first segment). */
static void flat_build_masks(uint16_t *mk, int64_t vecs, const int64_t *oy, const int64_t *ox,
                             int64_t ntaps, int64_t w, int64_t in_h, int64_t out_h, int64_t vl) {
    const int64_t plane = out_h * w;
    for (int64_t v = 0; v < vecs; ++v) {
        const int64_t p0 = v * vl;
        const uint32_t inside = flat_lanes(0, plane - p0, vl);
        for (int64_t t = 0; t < ntaps; ++t) {
            uint32_t m = 0;
            int64_t y = p0 / w, x0 = p0 % w;
            for (int64_t a = 0; a < vl; y += 1, x0 = 0) { /* lanes [a, b): row y */
                const int64_t b = a + (w - x0) < vl ? a + (w - x0) : vl;
                if (y + oy[t] >= 0 && y + oy[t] < in_h) {
                    /* lane i: column x0 + i - a; inside when 0 <= that + ox[t] < w */
                    const int64_t lo = a - x0 - ox[t], hi = a - x0 + w - ox[t];
                    m |= flat_lanes(lo > a ? lo : a, hi < b ? hi : b, vl);
                }
                a = b;
            }
            mk[t * vecs + v] = (uint16_t)(m & inside);
        }
    }
}

#endif /* PCNN_CONV2D_FLAT_MASKS_H */
