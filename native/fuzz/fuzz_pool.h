/*
 * Max-pooling harness support: a small geometry and its data decoded from the fuzz input,
 * and an independent oracle written from the header's text (scan ky then kx over in-range
 * taps, take v when v > max || isnan(v); backward zeroes, then adds in row-major output
 * order). Max pooling is bit-exact: every variant must equal the oracle bit for bit.
 */
#ifndef PCNN_FUZZ_POOL_H
#define PCNN_FUZZ_POOL_H

#include "fuzz_common.h"
#include "../tests/test_describe_short.h"

typedef struct {
    pcnn_maxpool2d_desc d;
    unsigned misalign[6];
    uint8_t flags;
} fz_pool_case;

static inline int fz_pool_decode(fz_reader *r, fz_pool_case *k) {
    memset(k, 0, sizeof *k);
    pcnn_maxpool2d_desc *d = &k->d;
    d->n = fz_small(r, 1, 3);
    d->c = fz_small(r, 1, 20);
    d->ih = fz_small(r, 1, 24);
    d->iw = fz_small(r, 1, 80);
    d->kh = fz_small(r, 1, 7);
    d->kw = fz_small(r, 1, 7);
    d->stride_h = fz_small(r, 1, 5);
    d->stride_w = fz_small(r, 1, 5);
    d->pad_top = fz_small(r, 0, 6);
    d->pad_bottom = fz_small(r, 0, 6);
    d->pad_left = fz_small(r, 0, 6);
    d->pad_right = fz_small(r, 0, 6);
    d->dilation_h = fz_small(r, 1, 4);
    d->dilation_w = fz_small(r, 1, 4);
    k->flags = fz_u8(r);
    d->ceil_mode = k->flags & 1;
    for (int i = 0; i < 6; ++i) k->misalign[i] = fz_u8(r);
    if (pcnn_maxpool2d_desc_init(d) != PCNN_STATUS_OK) {
        if (fz_verbose) fprintf(stderr, "max-pool: no valid geometry\n");
        return 0;
    }
    if (fz_verbose) {
        char desc[256];
        pool_describe_short(d, desc, sizeof desc);
        fprintf(stderr, "max-pool: %s, %d thread(s)\n", desc, (k->flags >> 1) & 1 ? 2 : 1);
    }
    pcnn_set_num_threads((k->flags >> 1) & 1 ? 2 : 1);
    return 1;
}

static inline int64_t fz_pool_src_n(const pcnn_maxpool2d_desc *d) { return d->n * d->c * d->ih * d->iw; }
static inline int64_t fz_pool_dst_n(const pcnn_maxpool2d_desc *d) { return d->n * d->c * d->oh * d->ow; }

/* Values with many ties, signed zeros, infinities and NaN payloads (both signs). */
static inline float fz_pool_value(fz_reader *r) {
    const uint8_t b = fz_left(r) ? fz_u8(r) : (uint8_t)fz_rng(r);
    switch (b >> 4) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return INFINITY;
    case 3: return -INFINITY;
    case 4: return fz_f_from_bits(0x7fc00000u | (b & 15u) << 8 | 1u);
    case 5: return fz_f_from_bits(0xffc00000u | (b & 15u) << 8 | 2u);
    case 6: return fz_f_from_bits(0x00000001u + (b & 15u)); /* subnormal */
    case 7: return (float)(b & 15) * 0x1p-100f;
    default: return (float)((int)(b & 15) - 8 + (int)(b >> 4) - 10);
    }
}

static inline void fz_pool_ref_fwd(const pcnn_maxpool2d_desc *d, const float *src, float *dst,
                                   int32_t *idx) {
    for (int64_t p = 0; p < d->n * d->c; ++p)
        for (int64_t y = 0; y < d->oh; ++y)
            for (int64_t x = 0; x < d->ow; ++x) {
                int found = 0;
                float best = 0;
                int64_t at = -1;
                for (int64_t ky = 0; ky < d->kh; ++ky)
                    for (int64_t kx = 0; kx < d->kw; ++kx) {
                        const int64_t iy = y * d->stride_h - d->pad_top + ky * d->dilation_h;
                        const int64_t ix = x * d->stride_w - d->pad_left + kx * d->dilation_w;
                        if (iy < 0 || iy >= d->ih || ix < 0 || ix >= d->iw) continue;
                        const float v = src[(p * d->ih + iy) * d->iw + ix];
                        if (!found || v > best || isnan(v)) {
                            found = 1;
                            best = v;
                            at = iy * d->iw + ix;
                        }
                    }
                FZ_CHECK(found, "desc_init accepted a max-pool window with no input position "
                         "(plane %" PRId64 ", y %" PRId64 ", x %" PRId64 ")", p, y, x);
                dst[(p * d->oh + y) * d->ow + x] = best;
                idx[(p * d->oh + y) * d->ow + x] = (int32_t)at;
            }
}

/* Returns 0 and leaves diff_src partly written when an index is outside the plane. */
static inline int fz_pool_ref_bwd(const pcnn_maxpool2d_desc *d, const float *dd,
                                  const int32_t *idx, float *ds) {
    const int64_t plane = d->ih * d->iw, out_plane = d->oh * d->ow;
    for (int64_t i = 0; i < d->n * d->c * plane; ++i) ds[i] = 0.0f;
    for (int64_t p = 0; p < d->n * d->c; ++p)
        for (int64_t i = 0; i < out_plane; ++i) {
            const int32_t at = idx[p * out_plane + i];
            if (at < 0 || at >= plane) return 0;
            ds[p * plane + at] += dd[p * out_plane + i];
        }
    return 1;
}

/* Fails unless the two buffers are equal bit for bit; names the first difference. */
static inline void fz_pool_same(const char *what, const char *variant, const pcnn_maxpool2d_desc *d,
                                fz_buf got, fz_buf want, int is_index) {
    for (int64_t i = 0; i < got.n; ++i) {
        const uint32_t a = got.raw[got.front + (size_t)i], b = want.raw[want.front + (size_t)i];
        if (a != b) {
            char desc[256];
            pool_describe_short(d, desc, sizeof desc);
            if (is_index) {
                fz_fail("%s %s [%s]: index %" PRId64 " = %d, expected %d", what, variant, desc,
                        i, (int32_t)a, (int32_t)b);
            }
            fz_fail("%s %s [%s]: element %" PRId64 " = %g (0x%08x), expected %g (0x%08x)", what,
                    variant, desc, i, fz_f_from_bits(a), a, fz_f_from_bits(b), b);
        }
    }
}

#endif /* PCNN_FUZZ_POOL_H */
