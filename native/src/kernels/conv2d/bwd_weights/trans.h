/*
 * conv2d backward-weights, part of the conv2d_bwd_weights-simd.h template: the transposed
 * path (cw_run_trans, AVX-512 and AVX2: included when the vector layer defines CW_TRANS and
 * provides cw_bcast / cw_prefetch_l2 / cw_rmask, cw_row_mask, cw_load_row_s2m /
 * cw_transpose_v, and optionally CW_TK / CW_TRO): lanes along the taps, accumulators in
 * registers over a whole image piece. cw_trans_plan (called by CW_NAME) decides where it
 * runs; cw_task's CW_TRANS branch gets the scratch and calls cw_run_trans.
 */

/*
 * Transposed path (CW_TRANS: the including file provides cw_bcast and cw_transpose_v).
 * Lanes run along the taps (dW's inner dimension) instead of the pixels:
 *     acc[o][t-vector] += dY[n][o][p] (broadcast) * colT[n][p][t-vector]
 * A task owns CW_TC = CW_TK * CW_V taps (CW_TK vectors) and a range of output channels; for each
 * piece of CW_KC pixels of one image it transposes its col rows (the src planes for the
 * in-place 1x1 case, else the phase planes of cw_phase_planes read at per-tap offsets, or
 * rows packed by cw_pack for stride_w > 2 or large planes) into colT[p][CW_TC] (AVX-512: 32 KB,
 * L1), then runs a CW_TRO x CW_TK register tile over all its output channels: AVX-512 6 x 4
 * (24 accumulators, 4 colT loads and 6 broadcast dY loads per 24 FMAs), AVX2 6 x 2 (12 of its
 * 16 registers, 2 colT loads and 6 broadcasts per 12 FMAs; colT 8 KB). No horizontal sums, no masked pixel tails:
 * every lane of dW[o][t] is one sequential chain over n, then p (fixed order: the result
 * does not depend on the thread count).
 */
#ifndef CW_TK
#define CW_TK 4 /* tap vectors per register tile row (and per task) */
#endif
#define CW_TC (CW_TK * CW_V)

/* calls whose bias gradient the tiles computed (x->tbias), and the tests' switch to the
 * separate pass instead (1: cw_bias_task), to compare the two bit for bit */
PCNN_INTERNAL int64_t CW_TBIAS_RUNS;
PCNN_INTERNAL int CW_TBIAS_OFF;
/* calls that took the transposed path (for the tests) */
PCNN_INTERNAL int64_t CW_TRANS_RUNS;
#ifndef CW_KC
#define CW_KC 128 /* pixels per transposed piece (a multiple of 2 * CW_V: cw_bias_piece) */
#endif
#ifndef CW_TRO
#define CW_TRO 6 /* output channels per register tile */
#endif
#ifndef CW_TRANS_MIN_OC
#define CW_TRANS_MIN_OC 32 /* fewest output channels per group the path takes */
#endif
#ifndef CW_TRANS_MIN_OC_DIRECT
#define CW_TRANS_MIN_OC_DIRECT 96 /* the same for the in-place 1x1 case (x->direct) */
#endif

/* colT[p][0, CW_TC) for p < len from rows[j][p], j < nt (zero for j >= nt) */
static void cw_transpose_rows(float *colT, const float *const *rows, int64_t nt, int64_t len) {
    for (int64_t jb = 0; jb < CW_TC; jb += CW_V) {
        int64_t pb = 0;
        if (jb + CW_V <= nt) {
            for (; pb + CW_V <= len; pb += CW_V) {
                cw_transpose_v(colT + pb * CW_TC + jb, CW_TC, rows + jb, pb);
            }
        }
        for (; pb < len; ++pb) { /* pixel tail, or taps past nt (zero) */
            float *o = colT + pb * CW_TC + jb;
            for (int64_t j = 0; j < CW_V; ++j) {
                o[j] = (jb + j < nt) ? rows[jb + j][pb] : 0.0f;
            }
        }
    }
}

/* Phase planes of channels ci0 .. ci0+nci of group g, image n (as in cw_run_wide, but
 * whole images: rows [0, oh + eh) of width wp, zero where the input is padding), each
 * x->tp_pitch floats apart; phase (py, px) of channel c at (c * sh * sw + py * sw + px).
 * Stride 1: each input row is first copied into `line` between zeros (at offset CW_LPAD),
 * so that every phase row is then plain vector loads with no bounds checks (the
 * bounds-checked per-tap loads of cw_pack measured ~10 % of resnet_s2). Stride 2: each
 * phase row is cw_load_row_s2 straight from the src row (two row loads, masked only at the
 * row's ends, and an even-lane permute): reading it back out of `line` right after writing
 * it stalled on the pending stores. */
#define CW_LPAD 16
#define CW_S2_KB 16 /* stride-2 phase rows of up to CW_S2_KB vectors use precomputed masks */
static void cw_phase_planes(const cw_ctx *x, float *out, float *line, int64_t n, int64_t g,
                            int64_t ci0, int64_t nci) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t wp = x->wp, iw = d->iw, ih = d->ih, rows = d->oh + x->eh;
    const int64_t sh = d->stride_h, sw = d->stride_w, pt = d->pad_top, pl = d->pad_left;
    const float *planes = x->src + (n * d->c + g * x->cg + ci0) * x->ihw;
    memset(line, 0, (size_t)x->tp_line * sizeof(float));
    /* stride 2: the row masks of every phase vector, the same for all rows (the per-load
     * lane arithmetic of cw_load_row was ~5 % of resnet_s2's backward-weights) */
    const int64_t nkb = (wp + CW_V - 1) / CW_V;
    cw_rmask s2m[2][CW_S2_KB][2];
    if (sw == 2 && nkb <= CW_S2_KB) {
        for (int64_t px = 0; px < 2; ++px) {
            for (int64_t kb = 0; kb < nkb; ++kb) {
                const int64_t ix = 2 * kb * CW_V + px - pl;
                s2m[px][kb][0] = cw_row_mask(ix, iw);
                s2m[px][kb][1] = cw_row_mask(ix + CW_V, iw);
            }
        }
    }
    for (int64_t c = 0; c < nci; ++c) {
        /* the next channel's plane into L1 (it is in L2: cw_run_trans fetched it there
         * while the previous image ran); the row loads waited ~L2 latency each */
        if (c + 1 < nci) {
            const char *nx = (const char *)(planes + (c + 1) * x->ihw);
            for (int64_t b = 0; b < x->ihw * (int64_t)sizeof(float); b += 64)
                cw_prefetch((const float *)(nx + b));
        }
        for (int64_t py = 0; py < sh; ++py) {
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t iy = r * sh + py - pt;
                if (iy < 0 || iy >= ih) {
                    for (int64_t px = 0; px < sw; ++px) {
                        float *o = out + ((c * sh + py) * sw + px) * x->tp_pitch + r * wp;
                        /* whole vectors: may run up to CW_V - 1 floats into the next row
                         * (written next) or the slack after the plane */
                        for (int64_t k = 0; k < wp; k += CW_V) cw_store(o + k, cw_zero());
                    }
                    continue;
                }
                const float *row = planes + c * x->ihw + iy * iw;
                if (sw == 2) {
                    /* straight from the row, in registers: reading the phases back out of
                     * `line` right after writing it made every load straddle two pending
                     * stores (no store forwarding: ~4 % of resnet_s2 in a profile) */
                    for (int64_t px = 0; px < 2; ++px) {
                        float *o = out + ((c * sh + py) * 2 + px) * x->tp_pitch + r * wp;
                        if (nkb <= CW_S2_KB) {
                            for (int64_t kb = 0; kb < nkb; ++kb)
                                cw_store(o + kb * CW_V,
                                         cw_load_row_s2m(row, 2 * kb * CW_V + px - pl,
                                                         s2m[px][kb][0], s2m[px][kb][1]));
                        } else {
                            for (int64_t k = 0; k < wp; k += CW_V)
                                cw_store(o + k, cw_load_row_s2(row, 2 * k + px - pl, iw));
                        }
                    }
                    continue;
                }
                int64_t i = 0;
                for (; i + CW_V <= iw; i += CW_V) cw_store(line + CW_LPAD + i, cw_load(row + i));
                if (i < iw) { /* the zeros after the row must stay */
                    for (; i < iw; ++i) line[CW_LPAD + i] = row[i];
                }
                for (int64_t px = 0; px < sw; ++px) {
                    float *o = out + ((c * sh + py) * sw + px) * x->tp_pitch + r * wp;
                    const float *l = line + CW_LPAD + px - pl; /* l[k * sw] = column k */
                    for (int64_t k = 0; k < wp; k += CW_V) cw_store(o + k, cw_load(l + k));
                }
            }
        }
    }
}

/* colT[(y * ow + x)][0, CW_TC) for output rows y < ny (of the piece), x < ow, from the
 * phase-plane rows rows[j] + y * wp + x (zero for taps j >= nt). Whole CW_V x CW_V blocks are
 * transposed even past the end of an output row: the extra colT rows are rewritten by the
 * next block (pixels run in increasing order) or fall into the slack after the piece, and
 * the extra reads stay inside the planes' slack; those values are never used. */
static void cw_transpose_phase(float *colT, const float *const *rows, int64_t nt, int64_t ny,
                               int64_t ow, int64_t wp) {
    for (int64_t jb = 0; jb < CW_TC; jb += CW_V) {
        if (jb + CW_V <= nt) {
            for (int64_t y = 0; y < ny; ++y) {
                for (int64_t xb = 0; xb < ow; xb += CW_V) {
                    cw_transpose_v(colT + (y * ow + xb) * CW_TC + jb, CW_TC, rows + jb,
                                   y * wp + xb);
                }
            }
        } else {
            for (int64_t y = 0; y < ny; ++y) {
                for (int64_t xx = 0; xx < ow; ++xx) {
                    float *o = colT + (y * ow + xx) * CW_TC + jb;
                    for (int64_t j = 0; j < CW_V; ++j) {
                        o[j] = (jb + j < nt) ? rows[jb + j][y * wp + xx] : 0.0f;
                    }
                }
            }
        }
    }
}

/* The bias gradient fused into the tiles (x->tbias): sb[0, 2 CW_V) += the dY row dy[0, len)
 * in cw_bias_task's order (vector pairs into two sums, a single vector into the first, the
 * masked tail into the second), which is the same order over pieces that start at
 * multiples of 2 CW_V and end at one or at the plane's end; the rows are in L1 after their
 * tile, where the separate pass read all of dY from L3 (~2 % of pw1x1). */
static inline void cw_bias_piece(float *sb, const float *dy, int64_t len, int first) {
    cw_vf s0 = first ? cw_zero() : cw_load(sb), s1 = first ? cw_zero() : cw_load(sb + CW_V);
    int64_t i = 0;
    for (; i + 2 * CW_V <= len; i += 2 * CW_V) {
        s0 = cw_add(s0, cw_load(dy + i));
        s1 = cw_add(s1, cw_load(dy + i + CW_V));
    }
    for (; i + CW_V <= len; i += CW_V) s0 = cw_add(s0, cw_load(dy + i));
    if (i < len) s1 = cw_add(s1, cw_load_first(dy + i, (int)(len - i)));
    cw_store(sb, s0);
    cw_store(sb + CW_V, s1);
}

/* One R x CW_TK register tile (R output channels x CW_TC taps) over a piece of len pixels:
 * accumulators from a (pitch CW_TC), or zero on the task's first piece (no memset, no
 * loads); stored back to a, or on the last piece straight into dW rows out (pitch opitch,
 * only the nout real rows: no acc -> dW copy-out, whose lines missed the caches ~2 %). */
static inline __attribute__((always_inline)) void
cw_trans_tile(const int R, float *a, int first, float *out, int64_t opitch, int64_t nout,
              const float *colT, const float *const *dy, int64_t len) {
    cw_vf v[CW_TRO][CW_TK];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
        for (int k = 0; k < CW_TK; ++k) v[r][k] = first ? cw_zero() : cw_load(a + (r * CW_TK + k) * CW_V);
    }
    for (int64_t p = 0; p < len; ++p) {
        const float *c = colT + p * CW_TC;
        cw_vf cv[CW_TK];
#pragma GCC unroll 4
        for (int k = 0; k < CW_TK; ++k) cv[k] = cw_load(c + k * CW_V);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const cw_vf b = cw_bcast(dy[r] + p);
#pragma GCC unroll 4
            for (int k = 0; k < CW_TK; ++k) v[r][k] = cw_fma(b, cv[k], v[r][k]);
        }
    }
    if (out != NULL) {
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            if (r < nout) {
#pragma GCC unroll 4
                for (int k = 0; k < CW_TK; ++k) cw_store(out + r * opitch + k * CW_V, v[r][k]);
            }
        }
    } else {
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
            for (int k = 0; k < CW_TK; ++k) cw_store(a + (r * CW_TK + k) * CW_V, v[r][k]);
        }
    }
}

/* the tiles over all of a task's output channels for one piece of len pixels: CW_TRO x
 * CW_TK, and a 4 x CW_TK tile for a last 1-4 rows (256 = 42 x 6 + 4: the 6-row tile computed 2 duplicate
 * rows, 0.8 % of the FMAs); first / dw as in cw_trans_tile (dw: row 0 of the task's dW
 * block, pitch dw_pitch, or NULL); sb: the rows' bias sums (cw_bias_piece) or NULL */
static inline void cw_trans_tiles(float *acc, const float *colT, const float *dyb,
                                  int64_t ohw, int64_t len, int64_t no, const char *pf,
                                  int64_t pf_lines, int first, float *dw, int64_t dw_pitch,
                                  float *sb) {
    /* pf: pf_lines cache lines (the next image's src planes) fetched into L2 a few per
     * tile, spread over the piece */
    const int64_t pf_per = (pf_lines + (no + CW_TRO - 1) / CW_TRO - 1) / ((no + CW_TRO - 1) / CW_TRO);
    for (int64_t r0 = 0; r0 < no;) {
        /* pf steps past its last line (the buffer's end) when done: as an integer */
        for (int64_t k = 0; k < pf_per && pf_lines > 0; ++k, --pf_lines) {
            cw_prefetch_l2(pf);
            pf = pcnn_byte_at(pf, 64);
        }
        const float *dy[CW_TRO];
        for (int r = 0; r < CW_TRO; ++r) {
            /* rows past the task's last are duplicates: computed, not stored in dW */
            dy[r] = dyb + ((r0 + r < no) ? r0 + r : no - 1) * ohw;
        }
        float *a = acc + r0 * CW_TC, *o = dw == NULL ? NULL : dw + r0 * dw_pitch;
        const int rows = no - r0 > 4 ? CW_TRO : 4;
        if (rows == CW_TRO) {
            cw_trans_tile(CW_TRO, a, first, o, dw_pitch, no - r0, colT, dy, len);
        } else {
            cw_trans_tile(4, a, first, o, dw_pitch, no - r0, colT, dy, len);
        }
        for (int r = 0; sb != NULL && r < rows && r0 + r < no; ++r) {
            cw_bias_piece(sb + (r0 + r) * 2 * CW_V, dy[r], len, first);
        }
        r0 += rows;
    }
}

__attribute__((noinline)) static void cw_run_trans(const cw_ctx *x, float *acc, float *colT,
                                                   float *packed, float *sb, int64_t g,
                                                   int64_t t0, int64_t nt, int64_t o0,
                                                   int64_t no) {
    const pcnn_conv2d_desc *d = x->d;
    const int64_t ohw = x->ohw, ow = d->ow;
    const float *rows[CW_TC];
    /* a full tap block's last piece stores straight into dW; else acc, copied out below */
    float *dw = nt == CW_TC && d->n > 0 && ohw > 0 ? x->diff_weights + o0 * x->taps + t0 : NULL;
    if (x->tphase) {
        /* taps as offsets into the phase planes of the task's channels */
        const int64_t khw = x->khw, kw = d->kw, sh = d->stride_h, sw = d->stride_w;
        const int64_t dh = d->dilation_h, dwl = d->dilation_w, wp = x->wp;
        const int64_t ci0 = t0 / khw, nci = (t0 + nt - 1) / khw - ci0 + 1;
        int64_t off[CW_TC];
        for (int64_t j = 0; j < nt; ++j) {
            const int64_t t = t0 + j;
            const int64_t ci = t / khw;
            const int64_t ky = (t - ci * khw) / kw;
            const int64_t kx = t - ci * khw - ky * kw;
            const int64_t phase = (ky * dh) % sh * sw + (kx * dwl) % sw;
            off[j] = ((ci - ci0) * sh * sw + phase) * x->tp_pitch + (ky * dh) / sh * wp +
                     (kx * dwl) / sw;
        }
        const int64_t ny = CW_KC / ow; /* output rows per piece (ow <= CW_KC) */
        const int64_t npieces = (d->oh + ny - 1) / ny;
        /* the task's src planes of one image: one run of nci planes */
        const int64_t pf_all = (nci * x->ihw * (int64_t)sizeof(float) + 63) / 64;
        for (int64_t n = 0; n < d->n; ++n) {
            /* the next image's planes come into L2 while this image's tiles run: each
             * task reads a few planes per image, so the copy waited on L3 / memory (~4 %
             * of resnet_s2 in a profile) */
            const int64_t pf_piece = n + 1 < d->n ? (pf_all + npieces - 1) / npieces : 0;
            const char *pf = pf_piece == 0 ? NULL
                                           : (const char *)(x->src + ((n + 1) * d->c + g * x->cg +
                                                                      ci0) * x->ihw);
            /* the input row copy first, then the planes */
            cw_phase_planes(x, packed + x->tp_line, packed, n, g, ci0, nci);
            for (int64_t y0 = 0; y0 < d->oh; y0 += ny) {
                const int64_t nyc = (d->oh - y0 < ny) ? d->oh - y0 : ny;
                for (int64_t j = 0; j < nt; ++j) rows[j] = packed + x->tp_line + off[j] + y0 * wp;
                cw_transpose_phase(colT, rows, nt, nyc, ow, wp);
                const float *dyb = x->diff_dst + (n * d->oc + o0) * ohw + y0 * ow;
                /* this piece's share of the lines: [q * pf_piece, (q + 1) * pf_piece) */
                const int64_t q0 = (y0 / ny) * pf_piece;
                const int64_t pfl = pf_all - q0 < pf_piece ? pf_all - q0 : pf_piece;
                const int last = n + 1 == d->n && y0 + ny >= d->oh;
                /* q0 may be past the lines (pfl < 0): the address as an integer */
                cw_trans_tiles(acc, colT, dyb, ohw, nyc * ow, no,
                               pf == NULL ? NULL : pcnn_byte_at(pf, q0 * 64),
                               pf == NULL || pfl < 0 ? 0 : pfl, n == 0 && y0 == 0,
                               last ? dw : NULL, x->taps, NULL);
            }
        }
    } else {
        /* in place (x->direct): the task's nt src planes of one image are one run; the next
         * image's come into L2 during this image's pieces, as in the phase-plane branch
         * (the transposes' row loads otherwise waited on L3: ~150 cycles per 16 x 16 block
         * in pw1x1's profile) */
        const int64_t npieces = (ohw + CW_KC - 1) / CW_KC;
        const int64_t pf_all = x->direct ? (nt * x->ihw * (int64_t)sizeof(float) + 63) / 64 : 0;
        for (int64_t n = 0; n < d->n; ++n) {
            const int64_t pf_piece = n + 1 < d->n ? (pf_all + npieces - 1) / npieces : 0;
            const char *pf = pf_piece == 0 ? NULL
                                           : (const char *)(x->src + ((n + 1) * d->c + g * x->cg +
                                                                      t0) * x->ihw);
            for (int64_t p0 = 0; p0 < ohw; p0 += CW_KC) {
                const int64_t len = (ohw - p0 < CW_KC) ? ohw - p0 : CW_KC;
                const int64_t q0 = (p0 / CW_KC) * pf_piece;
                const int64_t pfl = pf_all - q0 < pf_piece ? pf_all - q0 : pf_piece;
                if (x->direct) {
                    const float *base = x->src + (n * d->c + g * x->cg + t0) * x->ihw + p0;
                    for (int64_t j = 0; j < nt; ++j) rows[j] = base + j * x->ihw;
                } else {
                    cw_pack(x, packed, n, g, t0, nt, p0, len);
                    for (int64_t j = 0; j < nt; ++j) rows[j] = packed + j * CW_PITCH;
                }
                cw_transpose_rows(colT, rows, nt, len);
                const float *dyb = x->diff_dst + (n * d->oc + o0) * ohw + p0;
                const int last = n + 1 == d->n && p0 + len == ohw;
                /* q0 may be past the lines (pfl < 0): the address as an integer */
                cw_trans_tiles(acc, colT, dyb, ohw, len, no,
                               pf == NULL ? NULL : pcnn_byte_at(pf, q0 * 64),
                               pf == NULL || pfl < 0 ? 0 : pfl, n == 0 && p0 == 0,
                               last ? dw : NULL, x->taps, sb);
            }
        }
    }
    for (int64_t r = 0; sb != NULL && r < no; ++r) {
        x->bias_sums[o0 + r] = cw_hsum(cw_add(cw_load(sb + r * 2 * CW_V), cw_load(sb + r * 2 * CW_V + CW_V)));
    }
    for (int64_t r = 0; dw == NULL && r < no; ++r) {
        memcpy(x->diff_weights + (o0 + r) * x->taps + t0, acc + r * CW_TC,
               (size_t)nt * sizeof(float));
    }
}

/* CW_NAME's choice of the transposed path (after the other paths' choices) and its blocking */
static inline __attribute__((always_inline)) void cw_trans_plan(cw_ctx *x,
                                                                const pcnn_conv2d_desc *d) {
    /* The transposed path where it measured faster: not the stride-1 shapes of the
     * phase-plane path, at least CW_TRANS_MIN_OC output channels per group (32: the packing
     * and transposes are shared by all of a task's output channels; with fewer, other paths
     * take most shapes and the rest measured level) and for the in-place 1x1 case
     * CW_TRANS_MIN_OC_DIRECT (AVX-512 96: with 32 / 64 output channels its packing-free
     * in-place path was faster, 1.0-1.4x; AVX2 32), and at least 85 % of the tap lanes real
     * (resnet_s2, pw1x1: all). bwd_weights/README-avx2.md, "Transposed path at AVX2". */
    const int64_t tc_blocks = (x->taps + CW_TC - 1) / CW_TC;
    const int64_t min_oc = x->direct ? CW_TRANS_MIN_OC_DIRECT : CW_TRANS_MIN_OC;
    if (!x->wide && !x->flat && x->ocg >= min_oc && 100 * x->taps >= 85 * tc_blocks * CW_TC) {
        x->trans = 1;
        x->tb = CW_TC;
        x->tb_blocks = (x->taps + CW_TC - 1) / CW_TC;
        /* every task owns all output channels of its group unless that leaves fewer than
         * 4 tasks: then split them (each split repeats the transposes) */
        x->ob_blocks = 1;
        if (d->groups * x->tb_blocks < 4) {
            x->ob_blocks = (4 + d->groups * x->tb_blocks - 1) / (d->groups * x->tb_blocks);
        }
        x->ob = ((x->ocg + x->ob_blocks - 1) / x->ob_blocks + CW_TRO - 1) / CW_TRO * CW_TRO;
        x->ob_blocks = (x->ocg + x->ob - 1) / x->ob;
        /* col from phase planes (one de-interleaving copy of the task's channels per image,
         * then the transposes read the taps at offsets) rather than cw_pack's kh * kw
         * shifted copies: measured the packing at ~20 % of resnet_s2 */
        if (!x->direct && d->ow <= CW_KC && d->stride_w <= 2 && d->pad_left <= CW_LPAD) {
            x->tphase = 1;
            /* rows of the planes plus slack for the whole-block reads past the last row */
            x->tp_pitch = ((d->oh + x->eh) * x->wp + 2 * CW_V + CW_V - 1) / CW_V * CW_V;
            x->tp_nci = (CW_TC - 1) / x->khw + 2;
            /* the row at CW_LPAD, zeros around it up to the last column a phase row reads
             * (whole vectors: sw * (wp rounded up to CW_V) + CW_V past px - pad_left) */
            const int64_t reach = CW_LPAD + 1 + d->stride_w * ((x->wp + CW_V - 1) / CW_V * CW_V) +
                                  CW_V;
            x->tp_line = ((reach > CW_LPAD + d->iw ? reach : CW_LPAD + d->iw) + CW_V - 1) /
                         CW_V * CW_V;
            /* large planes: cw_pack instead (the planes would not stay in cache, and for
             * 1x1 stride 2 most of them are never read) */
            if (x->tp_nci * d->stride_h * d->stride_w * x->tp_pitch > ((int64_t)1 << 18)) {
                x->tphase = 0;
            }
        }
    }
}
