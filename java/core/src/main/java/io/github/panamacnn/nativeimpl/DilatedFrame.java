package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Conv2dGeometry;

/**
 * The native "phase frame" of a dilated stride-1 convolution, in Java: a port of
 * {@code native/src/kernels/conv2d/dilated-scalar.c} ({@code make_axis}, {@code fill_maps},
 * {@code make_frame}, {@code in_row}, {@code dense_desc} and the four gather / scatter tasks),
 * which must stay index-for-index equal to it. {@link Tolerance#winogradAbsBound} uses it to
 * bound the Winograd run of the frame: that run is an undilated Winograd convolution of the
 * frame, so the undilated bound of the frame, mapped back to the real outputs, bounds it.
 *
 * <p>Why the frame works (and its layout): {@code dilated.h}. In short, the outputs of one residue
 * class mod the dilation read one residue class of the input; the phases, de-interleaved and laid
 * side by side (one band of rows, each row phase a block of columns, each block the column phases),
 * make one dense, unpadded, stride-1 convolution {@link #dense()}; the frame outputs straddling two
 * segments are junk and never mapped back. All arrays are NCHW planes.
 */
final class DilatedFrame {
    /** One axis: input size, output size, kernel extent, dilation, leading padding, frame input / output sizes. */
    private static final class Axis {
        final long in, out, k, dil, pad;
        final long f, g;
        final long[] fin, fout, fsrc; // frame input -> input (-1 padding); output -> frame output; input -> frame input

        Axis(long in, long out, long k, long dil, long pad) {
            this.in = in;
            this.out = out;
            this.k = k;
            this.dil = k > 1 ? dil : 1;
            this.pad = pad;
            long phases = Math.min(this.dil, out);
            long f = 0;
            for (long r = 0; r < phases; r++) {
                f += (out - r + this.dil - 1) / this.dil + k - 1; // m_r outputs + the kernel's reach
            }
            this.f = f;
            this.g = f - k + 1;
            fin = new long[Math.toIntExact(f)];
            fout = new long[Math.toIntExact(out)];
            fsrc = new long[Math.toIntExact(in)];
            java.util.Arrays.fill(fsrc, -1);
            long s = 0; // the phase's segment start
            for (long r = 0; r < phases; r++) {
                long m = (out - r + this.dil - 1) / this.dil;
                for (long j = 0; j < m + k - 1; j++) {
                    long i = r - pad + this.dil * j;
                    fin[(int) (s + j)] = i >= 0 && i < in ? i : -1;
                    if (i >= 0 && i < in) {
                        fsrc[(int) i] = s + j;
                    }
                }
                for (long t = 0; t < m; t++) {
                    fout[(int) (r + this.dil * t)] = s + t;
                }
                s += m + k - 1;
            }
        }
    }

    private final Conv2dGeometry real;
    private final Axis w;
    private final long dh, ph, mh, hf, fw, gw;
    private final Conv2dGeometry dense;

    private DilatedFrame(Conv2dGeometry g) {
        if (g.strideH() != 1 || g.strideW() != 1) {
            throw new IllegalArgumentException("phase frame: stride 1 only, not " + g);
        }
        real = g;
        w = new Axis(g.iw(), g.ow(), g.kw(), g.dilationW(), g.padLeft());
        dh = g.kh() > 1 ? g.dilationH() : 1;
        ph = Math.min(dh, g.oh());
        mh = (g.oh() + dh - 1) / dh;
        hf = mh + g.kh() - 1;
        fw = ph * w.f;
        gw = fw - g.kw() + 1;
        dense = Conv2dGeometry.of(g.n(), g.c(), hf, fw, g.oc(), g.kh(), g.kw(), 1, 1, 0, 0, 0, 0, 1, 1, g.groups());
    }

    /** The frame of a stride-1 geometry (any dilation; dilation 1 gives the identity frame). */
    static DilatedFrame of(Conv2dGeometry g) {
        return new DilatedFrame(g);
    }

    /** The undilated, unpadded, stride-1 convolution over the frame ({@code dense_desc}), all images. */
    Conv2dGeometry dense() {
        return dense;
    }

    /** Input row of frame row j in row phase rh, -1 for padding ({@code in_row}). */
    private long inRow(long rh, long j) {
        long iy = rh - real.padTop() + dh * j;
        return iy >= 0 && iy < real.ih() ? iy : -1;
    }

    /** src planes (n*c of ih x iw) -> frame input planes (hf x fw), padding as zeros ({@code gather_in_task}). */
    double[] gatherInput(double[] src) {
        long planes = real.n() * real.c();
        double[] out = new double[Math.toIntExact(planes * hf * fw)];
        for (long t = 0; t < planes; t++) {
            long in0 = t * real.ih() * real.iw(), out0 = t * hf * fw;
            for (long j = 0; j < hf; j++) {
                for (long rh = 0; rh < ph; rh++) {
                    long iy = inRow(rh, j);
                    if (iy < 0) {
                        continue;
                    }
                    for (long fx = 0; fx < w.f; fx++) {
                        long ix = w.fin[(int) fx];
                        if (ix >= 0) {
                            out[(int) (out0 + j * fw + rh * w.f + fx)] = src[(int) (in0 + iy * real.iw() + ix)];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Frame position (within a frame output plane, mh x gw) of real output (oy, ox). */
    private long frameOutput(long oy, long ox) {
        return (oy / dh) * gw + (oy % dh) * w.f + w.fout[(int) ox];
    }

    /** frame output planes (n*oc of mh x gw) -> dst planes (oh x ow): real outputs only ({@code scatter_out_task}). */
    double[] scatterOutput(double[] frameOut) {
        long planes = real.n() * real.oc();
        double[] dst = new double[Math.toIntExact(planes * real.oh() * real.ow())];
        for (long t = 0; t < planes; t++) {
            for (long oy = 0; oy < real.oh(); oy++) {
                for (long ox = 0; ox < real.ow(); ox++) {
                    dst[(int) ((t * real.oh() + oy) * real.ow() + ox)] = frameOut[(int) (t * mh * gw + frameOutput(oy, ox))];
                }
            }
        }
        return dst;
    }

    /** diffDst planes (n*oc of oh x ow) -> frame output planes (mh x gw), junk zero ({@code gather_out_task}). */
    double[] gatherOutput(double[] diffDst) {
        long planes = real.n() * real.oc();
        double[] out = new double[Math.toIntExact(planes * mh * gw)];
        for (long t = 0; t < planes; t++) {
            for (long oy = 0; oy < real.oh(); oy++) {
                for (long ox = 0; ox < real.ow(); ox++) {
                    out[(int) (t * mh * gw + frameOutput(oy, ox))] = diffDst[(int) ((t * real.oh() + oy) * real.ow() + ox)];
                }
            }
        }
        return out;
    }

    /**
     * frame input gradient planes (n*c of hf x fw) -> diffSrc planes (ih x iw) ({@code scatter_in_task}):
     * pixels no real output reads (outside the frame, or rows past their phase's reach) are zero.
     */
    double[] scatterInput(double[] frameGrad) {
        long planes = real.n() * real.c();
        double[] out = new double[Math.toIntExact(planes * real.ih() * real.iw())];
        for (long t = 0; t < planes; t++) {
            for (long iy = 0; iy < real.ih(); iy++) {
                long rh = (iy + real.padTop()) % dh, j = (iy + real.padTop()) / dh;
                if (rh >= ph || j >= (real.oh() - rh + dh - 1) / dh + real.kh() - 1) {
                    continue;
                }
                for (long ix = 0; ix < real.iw(); ix++) {
                    long fx = w.fsrc[(int) ix];
                    if (fx >= 0) {
                        out[(int) ((t * real.ih() + iy) * real.iw() + ix)] =
                                frameGrad[(int) (t * hf * fw + j * fw + rh * w.f + fx)];
                    }
                }
            }
        }
        return out;
    }
}
