/*
 * maxpool2d backward, AVX-512: 3x3 stride-2 windows (pool_resnet) written row by row without a
 * scatter. Included by maxpool2d-avx512.c before maxpool2d-simd.h, whose backward
 * (pm_bwd_plane in maxpool2d-bwd-simd.h) calls pm_s2b_plane when pm_s2b_ok(d) and falls back
 * to its zero-and-scatter loop for the rows this cannot do.
 *
 * Shape: kh = kw = 3, stride 2, no dilation, pad_top and pad_left 0 or 1 (any bottom / right
 * padding, floor or ceil mode). Output ox's window covers input columns c0 + 2j + kx
 * (c0 = 2 * ox0 - pad_left for the block of 16 outputs starting at ox0, j the lane), so a block
 * writes the 32 columns [c0, c0 + 32): column c0 + 2j (call it S_j) receives kx = 2 of output
 * j - 1 and kx = 0 of output j, column c0 + 2j + 1 (C_j) kx = 1 of output j. Input rows: output
 * row oy's window rows are r0 = 2 * oy - pad_top (ky = 0), r0 + 1 (ky = 1) and r0 + 2 (ky = 2),
 * and r0 + 2 is the next output row's r0.
 *
 * An index is "canonical" when it is one of its own window's in-range taps. When every index of
 * an output row is, the scalar result (zero the plane, then ds[idx] += dd in row-major output
 * order) of each element is the sum of at most four contributions, in this order: outputs
 * (oy - 1, j - 1), (oy - 1, j), (oy, j - 1), (oy, j) for row r0's S_j; fewer elsewhere. Per output
 * row and block: t = index - window origin; 9 compares with ky * iw + kx give the tap masks (one
 * per lane at most: iw >= 3 keeps the 9 offsets distinct), and each input row's S and C vectors
 * are built by masked moves / adds in exactly that order: kx = 2 contributions move up one lane
 * (valignd, lane 0 from the previous block), then kx = 0 is added. The canonical check is
 * vector arithmetic too: kx = min_u(t, t - iw, t - 2 * iw) (ky rows outside the input made
 * large first) must lie in the lane's in-range kx span (per block, precomputed). Row r0 + 1 is final at once and stored; row r0 + 2's partial S / C go
 * to a stack row (parity form) and are finished (and stored) by the next output row. Each
 * diff_src element is stored once, whole rows in order: no zeroing pass, no read-modify-write.
 *
 * Bit-exactness: the scalar sum starts at +0 and adds in output order; here a lane starts at
 * +0 + dd (the first contribution) or +0 (none), and later contributions are added with the
 * running sum as the first operand (inline asm: x86 returns the first operand's NaN when both
 * are NaN, and the scalar kernel's `ds[at] += dd` compiles with ds first; gcc would otherwise
 * commute the intrinsic). Adding +0 for an absent contribution (the lane-shifted kx = 2 vector
 * of row r0) changes nothing: a sum that starts at +0 is never -0 in round-to-nearest, x + +0
 * == x for every other x, and a NaN sum is already quiet.
 *
 * A row with any non-canonical index (outside its window, in the padding, a tap whose column
 * or row is outside the input) is detected after its blocks ran: row r0 is restored from the
 * previous stack row, and the caller redoes the plane from that output row on with the scalar
 * scatter (which reports out-of-range indices), rows r0 + 1 onwards zeroed again by it.
 *
 * Mask mode (pcnn_maxpool2d_bwd_taps; `taps`, a compile-time argument): t is the tap byte
 * itself (zero-extended), the nine compares are against ky * 3 + kx, and canonical means the
 * tap's bit is set in the lane's in-range taps (columns per block, rows on edge rows): one
 * variable shift and one test instead of the origin arithmetic. The rest, and the fallback
 * (the caller decodes the remaining rows' taps to offsets), is shared.
 */
#define PM_S2B 1
/* stack rows: 2 (S / C) x 2 (previous / current) x PM_S2B_MAX_BLOCKS x 16 floats = 8 KiB */
#define PM_S2B_MAX_BLOCKS 32
/*
 * Each block prefetches the two lines per row it will store PM_S2B_PF input rows further
 * down (4 output rows ahead). Without it the plane's stores miss one after another past the
 * last-level cache: pool_resnet n = 8 took 1.45-1.54x the zero-and-scatter time (2026-12-06,
 * session 24; README), 0.91-0.98x with it; other distances and line counts measured worse.
 */
#define PM_S2B_PF 8
/* Each output row also prefetches the diff_dst and index rows PM_S2B_PF_IN output rows ahead:
 * at n = 8, 0.77-0.80x the time without (8 rows; 2 rows 0.85x, 4 rows 0.89x, 16 rows 0.82-0.87x
 * against main), in cache no loss (README, session 24). */
#define PM_S2B_PF_IN 8

/* blocks of 16 outputs whose 32 columns [2 * ox0 - pad_left, + 32) cover the input row */
static inline int64_t pm_s2b_blocks(const pcnn_maxpool2d_desc *d) {
    return (d->iw + d->pad_left - 1) / 32 + 1;
}

static int pm_s2b_ok(const pcnn_maxpool2d_desc *d) {
    return d->kh == 3 && d->kw == 3 && d->stride_h == 2 && d->stride_w == 2 &&
           d->dilation_h == 1 && d->dilation_w == 1 && d->pad_top <= 1 && d->pad_left <= 1 &&
           d->iw >= 3 && pm_s2b_blocks(d) <= PM_S2B_MAX_BLOCKS &&
           16 * pm_s2b_blocks(d) >= d->ow;
}

/* prefetcht0 (without -mprfchw gcc emits no prefetchw; an inline-asm prefetchw measured
 * 1.24x this version's time at pool_resnet n = 8 and 1.11x at n = 2) */
static inline void pm_s2b_prefetch(uintptr_t a) { __builtin_prefetch((const void *)a, 1, 3); }

/* acc + v in the lanes of k (acc elsewhere), acc the first operand (see above) */
static inline __m512 pm_s2b_addk(__m512 acc, __mmask16 k, __m512 v) {
    __asm__("vaddps %[v], %[a], %[a]%{%[k]%}" : [a] "+v"(acc) : [v] "v"(v), [k] "Yk"(k));
    return acc;
}
static inline __m512 pm_s2b_add(__m512 acc, __m512 v) {
    __asm__("vaddps %[v], %[a], %[a]" : [a] "+v"(acc) : [v] "v"(v));
    return acc;
}

/* row[c0 .. c0 + 32) = s0 c0 s1 c1 ..., only the columns in [0, iw) (masks lo / hi) */
static inline void pm_s2b_store(float *row, int64_t c0, __mmask16 lo, __mmask16 hi, __m512 s,
                                __m512 c) {
    const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7,
                                          23);
    const __m512i ihi = _mm512_add_epi32(ilo, _mm512_set1_epi32(8));
    _mm512_mask_storeu_ps((float *)pm_at(row, c0), lo, _mm512_permutex2var_ps(s, ilo, c));
    _mm512_mask_storeu_ps((float *)pm_at(row, c0 + 16), hi, _mm512_permutex2var_ps(s, ihi, c));
}

/* stored S / C rows of one input row, no further contributions */
static void pm_s2b_flush(float *row, int64_t iw, int64_t pl, int64_t nb, const float *s,
                         const float *c) {
    for (int64_t b = 0; b < nb; ++b) {
        const int64_t c0 = 32 * b - pl;
        pm_s2b_store(row, c0, pm_range(c0, iw), pm_range(c0 + 16, iw), _mm512_load_ps(s + 16 * b),
                     _mm512_load_ps(c + 16 * b));
    }
}

/* x shifted up one lane, lane 0 from the top lane of prev */
static inline __m512 pm_s2b_up(__m512 x, __m512 prev) {
    return _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(x), _mm512_castps_si512(prev), 15));
}

typedef struct {
    __m512i tap[3][3]; /* ky * iw + kx */
    __m512i iw1, iw2;  /* iw, 2 * iw */
    __m512i pen0, pen1, pen2; /* OR-ed into the ky = 0 / 1 / 2 offsets: 2^30 when that row
                                 is outside the input (no tap of it can match), else 0 */
    __m512i rows; /* mask mode, edge rows: the taps of the window rows inside the input */
} pm_s2b_k;

/*
 * One block of 16 outputs of output row y (see the top of this file). g / at: gradients and
 * indices (+0 / 0 past the row's end: such lanes add +0, which changes nothing); t: at minus
 * each lane's window origin. lo / span: per lane, the window's in-range kx are lo .. lo + span
 * (span -1 = none: lanes past the row). Mask mode: t is the tap, lo the lane's in-range taps
 * as bits (span unused), inl the lanes inside the output row. Returns the lanes whose index
 * is not canonical. `edge_rows`: a window row of this output row is outside the input;
 * `full`: all 32 columns in the input (plain stores).
 */
static inline __attribute__((always_inline)) __mmask16
pm_s2b_block(const pm_s2b_k *K, __m512 g, __m512i t, __m512i lo, __m512i span, __mmask16 inl,
             const float *ps, const float *pc, float *ns, float *nc, float *row0, float *row1,
             int64_t c0, __mmask16 mlo, __mmask16 mhi, int st0, int st1, __m512 *carry0,
             __m512 *carry1, __m512 *carry2, int edge_rows, int full, const int taps) {
    const __m512 v = _mm512_add_ps(_mm512_setzero_ps(), g); /* +0 + dd: a first contribution */
    __mmask16 bad;
    if (taps) { /* canonical: the tap's bit among the lane's in-range taps (1 << 255 is 0) */
        const __m512i ok = edge_rows ? _mm512_and_si512(lo, K->rows) : lo;
        bad = _mm512_mask_testn_epi32_mask(inl, _mm512_sllv_epi32(_mm512_set1_epi32(1), t), ok);
    } else { /* canonical: the tap offset t - ky * iw (in-range ky) is in lo .. lo + span */
        __m512i a = t, b = _mm512_sub_epi32(t, K->iw1), c = _mm512_sub_epi32(t, K->iw2);
        if (edge_rows) {
            a = _mm512_or_si512(a, K->pen0);
            b = _mm512_or_si512(b, K->pen1);
            c = _mm512_or_si512(c, K->pen2);
        }
        const __m512i kx = _mm512_min_epu32(_mm512_min_epu32(a, b), c);
        bad = _mm512_cmpgt_epu32_mask(_mm512_sub_epi32(kx, lo), span);
    }
    /* row r0: the previous output row's partial sums, then ky = 0 in output order */
    const __mmask16 m02 = _mm512_cmpeq_epi32_mask(t, K->tap[0][2]);
    const __m512 x02 = _mm512_maskz_mov_ps(m02, v);
    __m512 s0 = pm_s2b_add(_mm512_load_ps(ps), pm_s2b_up(x02, *carry0));
    *carry0 = x02;
    s0 = pm_s2b_addk(s0, _mm512_cmpeq_epi32_mask(t, K->tap[0][0]), g);
    const __m512 q0 = pm_s2b_addk(_mm512_load_ps(pc), _mm512_cmpeq_epi32_mask(t, K->tap[0][1]), g);
    /* row r0 + 1: ky = 1 only */
    const __m512 x12 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, K->tap[1][2]), v);
    const __m512 s1 = pm_s2b_addk(pm_s2b_up(x12, *carry1),
                                  _mm512_cmpeq_epi32_mask(t, K->tap[1][0]), g);
    *carry1 = x12;
    const __m512 q1 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, K->tap[1][1]), v);
    /* row r0 + 2: ky = 2, finished by the next output row */
    const __m512 x22 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, K->tap[2][2]), v);
    _mm512_store_ps(ns, pm_s2b_addk(pm_s2b_up(x22, *carry2),
                                    _mm512_cmpeq_epi32_mask(t, K->tap[2][0]), g));
    *carry2 = x22;
    _mm512_store_ps(nc, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, K->tap[2][1]), v));
    const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7,
                                          23);
    const __m512i ihi = _mm512_add_epi32(ilo, _mm512_set1_epi32(8));
    if (full) {
        if (st0) {
            _mm512_storeu_ps(row0 + c0, _mm512_permutex2var_ps(s0, ilo, q0));
            _mm512_storeu_ps(row0 + c0 + 16, _mm512_permutex2var_ps(s0, ihi, q0));
        }
        if (st1) {
            _mm512_storeu_ps(row1 + c0, _mm512_permutex2var_ps(s1, ilo, q1));
            _mm512_storeu_ps(row1 + c0 + 16, _mm512_permutex2var_ps(s1, ihi, q1));
        }
    } else {
        if (st0) {
            pm_s2b_store(row0, c0, mlo, mhi, s0, q0);
        }
        if (st1) {
            pm_s2b_store(row1, c0, mlo, mhi, s1, q1);
        }
    }
    return bad;
}

/* one output row; returns the lanes (of any block) whose index is not canonical */
static inline __attribute__((always_inline)) __mmask16
pm_s2b_row(const pm_s2b_k *K, const float *rd, const int32_t *ri, const uint8_t *tp, int64_t ow,
           int64_t ih, int64_t iw, int64_t pl, int64_t nb, int64_t r0, const float *ps,
           const float *pc, float *ns, float *nc, float *ds, int st0, int st1, const __m512i *lo,
           const __m512i *span, const __mmask16 *mlo, const __mmask16 *mhi, int edge_rows,
           const int taps) {
    const __m512i iota2 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                            28, 30);
    __m512 carry0 = _mm512_setzero_ps(), carry1 = carry0, carry2 = carry0;
    __m512i org = _mm512_add_epi32(iota2, _mm512_set1_epi32((int32_t)(r0 * iw - pl)));
    const __m512i step = _mm512_set1_epi32(32);
    float *row0 = (float *)pm_at(ds, r0 * iw), *row1 = (float *)pm_at(ds, (r0 + 1) * iw);
    __mmask16 bad = 0;
    int64_t b = 0;
    const int pf_rows = r0 >= 0 && r0 + PM_S2B_PF + 2 <= ih;
    { /* see PM_S2B_PF_IN; past the plane these are the next plane's rows (a thread's planes
         are contiguous); integer addresses, and a prefetch never faults */
        const uintptr_t a = (uintptr_t)rd + (uintptr_t)(PM_S2B_PF_IN * ow * 4),
                        e = taps ? (uintptr_t)tp + (uintptr_t)(PM_S2B_PF_IN * ow)
                                 : (uintptr_t)ri + (uintptr_t)(PM_S2B_PF_IN * ow * 4);
        for (int64_t k = 0; k < ow * 4; k += 64) {
            __builtin_prefetch((const void *)(a + k), 0, 3);
            if (!taps) {
                __builtin_prefetch((const void *)(e + k), 0, 3);
            }
        }
        for (int64_t k = 0; taps && k < ow; k += 64) {
            __builtin_prefetch((const void *)(e + k), 0, 3);
        }
    }
    for (; b < nb; ++b) {
        const int64_t ox0 = 16 * b, c0 = 2 * ox0 - pl;
        const int full = c0 >= 0 && c0 + 32 <= iw && ox0 + 16 <= ow;
        __m512 g;
        __m512i at;
        __mmask16 ln = 0xFFFF;
        if (full) {
            g = _mm512_loadu_ps(rd + ox0);
            at = taps ? _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(tp + ox0)))
                      : _mm512_loadu_si512(ri + ox0);
        } else {
            ln = pm_range(ox0, ow);
            g = _mm512_maskz_loadu_ps(ln, pm_at(rd, ox0));
            at = taps ? _mm512_cvtepu8_epi32(
                            _mm_maskz_loadu_epi8(ln, (const void *)((uintptr_t)tp + (uintptr_t)ox0)))
                      : _mm512_maskz_loadu_epi32(ln, pm_at((const float *)ri, ox0));
        }
        const __m512i t = taps ? at : _mm512_sub_epi32(at, org);
        org = _mm512_add_epi32(org, step);
        if (pf_rows) { /* see PM_S2B_PF */
            const uintptr_t a = (uintptr_t)ds + (uintptr_t)(((r0 + PM_S2B_PF) * iw + c0) * 4);
            pm_s2b_prefetch(a);
            pm_s2b_prefetch(a + 64);
            pm_s2b_prefetch(a + iw * 4);
            pm_s2b_prefetch(a + iw * 4 + 64);
        }
        if (full) {
            bad |= pm_s2b_block(K, g, t, lo[b], span[b], ln, ps + 16 * b, pc + 16 * b,
                                ns + 16 * b, nc + 16 * b, row0, row1, c0, 0xFFFF, 0xFFFF, st0,
                                st1, &carry0, &carry1, &carry2, edge_rows, 1, taps);
        } else {
            bad |= pm_s2b_block(K, g, t, lo[b], span[b], ln, ps + 16 * b, pc + 16 * b,
                                ns + 16 * b, nc + 16 * b, row0, row1, c0, mlo[b], mhi[b], st0,
                                st1, &carry0, &carry1, &carry2, edge_rows, 0, taps);
        }
    }
    return bad;
}

/*
 * The plane by output rows while they are canonical. Returns oh when the whole plane is
 * written, else the output row y the caller must redo with the scalar scatter; then
 * diff_src[0, *zeroed) holds the scalar kernel's partial sums of output rows [0, y) and
 * nothing beyond it is needed.
 */
static inline __attribute__((always_inline)) int64_t
pm_s2b_plane(const pcnn_maxpool2d_desc *d, const float *dd, const int32_t *ind, const uint8_t *tp,
             float *ds, int64_t *zeroed, const int taps) {
    const int64_t ih = d->ih, iw = d->iw, oh = d->oh, ow = d->ow, pt = d->pad_top,
                  pl = d->pad_left, nb = pm_s2b_blocks(d);
    _Alignas(64) float rows[4][PM_S2B_MAX_BLOCKS * 16];
    float *ps = rows[0], *pc = rows[1], *ns = rows[2], *nc = rows[3]; /* previous, next */
    __m512i lo[PM_S2B_MAX_BLOCKS], span[PM_S2B_MAX_BLOCKS];
    __mmask16 mlo[PM_S2B_MAX_BLOCKS], mhi[PM_S2B_MAX_BLOCKS];
    for (int64_t b = 0; b < nb; ++b) {
        const int64_t ox0 = 16 * b, c0 = 2 * ox0 - pl;
        _Alignas(64) int32_t l[16], s[16];
        for (int j = 0; j < 16; ++j) { /* in-range kx of output ox0 + j: columns c0 + 2j + kx */
            int kmin = 0, kmax = 2;
            while (kmin <= 2 && c0 + 2 * j + kmin < 0) ++kmin;
            while (kmax >= 0 && c0 + 2 * j + kmax >= iw) --kmax;
            const int out = ox0 + j < ow && kmin <= kmax;
            l[j] = out ? kmin : 0;
            s[j] = out ? kmax - kmin : -1; /* -1: any kx - lo passes (+0 lanes past the row) */
            if (taps) { /* mask mode: lo = the taps of the in-range columns, all rows, as bits */
                l[j] = 0;
                for (int kx = kmin; kx <= kmax; ++kx) l[j] |= 0111 << kx;
            }
        }
        lo[b] = _mm512_load_si512(l);
        span[b] = _mm512_load_si512(s);
        mlo[b] = pm_range(c0, iw);
        mhi[b] = pm_range(c0 + 16, iw);
        _mm512_store_ps(ps + 16 * b, _mm512_setzero_ps());
        _mm512_store_ps(pc + 16 * b, _mm512_setzero_ps());
    }
    pm_s2b_k K;
    for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx) {
            K.tap[ky][kx] = _mm512_set1_epi32((int32_t)(taps ? ky * 3 + kx : ky * iw + kx));
        }
    }
    K.iw1 = _mm512_set1_epi32((int32_t)iw);
    K.iw2 = _mm512_set1_epi32(2 * (int32_t)iw);
    for (int64_t y = 0; y < oh; ++y) {
        const int64_t r0 = 2 * y - pt;
        const int in0 = r0 >= 0, in2 = r0 + 2 < ih;
        const int st1 = r0 + 1 < ih; /* r0 + 1 >= 0 always (pad_top <= 1) */
        __mmask16 bad;
        const int32_t *ri = taps ? NULL : ind + y * ow;
        const uint8_t *rt = taps ? tp + y * ow : NULL;
        if (in0 && in2) {
            bad = pm_s2b_row(&K, dd + y * ow, ri, rt, ow, ih, iw, pl, nb, r0, ps, pc, ns, nc, ds, 1,
                             1, lo, span, mlo, mhi, 0, taps);
        } else {
            K.pen0 = _mm512_set1_epi32(in0 ? 0 : 1 << 30);
            K.pen1 = _mm512_set1_epi32(st1 ? 0 : 1 << 30);
            K.pen2 = _mm512_set1_epi32(in2 ? 0 : 1 << 30);
            K.rows = _mm512_set1_epi32((in0 ? 07 : 0) | (st1 ? 070 : 0) | (in2 ? 0700 : 0));
            bad = pm_s2b_row(&K, dd + y * ow, ri, rt, ow, ih, iw, pl, nb, r0, ps, pc, ns, nc, ds,
                             in0, st1, lo, span, mlo, mhi, 1, taps);
        }
        if (bad) { /* put row r0 back to the previous rows' sums; the caller redoes row y */
            if (in0) {
                pm_s2b_flush(ds + r0 * iw, iw, pl, nb, ps, pc);
            }
            *zeroed = (r0 + 1) * iw;
            return y;
        }
        float *t;
        t = ps, ps = ns, ns = t;
        t = pc, pc = nc, nc = t;
    }
    const int64_t r = 2 * oh - pt; /* the last output row's r0 + 2 */
    if (r < ih) {
        pm_s2b_flush(ds + r * iw, iw, pl, nb, ps, pc);
        pm_zero_floats(ds + (r + 1) * iw, (ih - r - 1) * iw);
    }
    return oh;
}
